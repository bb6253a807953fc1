"""The ``attnsparse`` command line: list, show and check claims.

Exit codes: 0 when nothing is refuted, 1 when a claim is refuted, 2 on usage errors (also
unusable files and folders), 130 on Ctrl-C.

:func:`main` is the one error boundary of every command: a :class:`~.commands.UsageError`,
an output-folder error, an unreadable input file or any other ``OSError`` prints one line
``attnsparse COMMAND: error: ...`` and exits 2; Ctrl-C prints one line and exits 130; a
closed stdout (``attnsparse list | head``) ends the command quietly.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import time

from .commands import (EXIT_INTERRUPTED, EXIT_OK, EXIT_REFUTED, EXIT_USAGE, Interrupted, UsageError,
                       check_seed_option)

#: further commands, each a module ``attnsparse.cmd_<name>`` with ``add_parser(subparsers)``
#: (which adds its sub-parser) and ``run(args) -> exit code``; it raises
#: :class:`~.commands.UsageError` for usage errors. They are imported here only, by name.
COMMAND_MODULES = ("measure", "latex", "sweep", "plot", "reproduce", "plot_bound", "cost")


def _parser():
    p = argparse.ArgumentParser(prog="attnsparse", description=(
        "State, derive, evaluate and check claims about softmax attention under Gaussian inputs."))
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("list", help="list the registered claims, grouped by area")
    s.add_argument("--json", action="store_true", help="print JSON instead of text")

    s = sub.add_parser("show", help="statement, provenance, assumptions, derivation and LaTeX of a claim")
    s.add_argument("id", help="claim id, as printed by `attnsparse list`")

    s = sub.add_parser("check", help="check claims against simulation (default: the quick suite of all)")
    s.add_argument("ids", nargs="*", metavar="ID", help="claim ids (default: every registered claim)")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--quick", dest="effort", action="store_const", const="quick",
                   help="small sample budget (default)")
    g.add_argument("--full", dest="effort", action="store_const", const="full", help="large sample budget")
    s.add_argument("--seed", type=int, default=0, help="master seed (integer >= 0, default 0)")
    s.add_argument("--alpha", type=float, default=None,
                   help="family-wise false-alarm level of the suite (default 1e-3, Holm-corrected)")
    s.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="set one parameter of the claim's own check points, keeping the others "
                        "(repeatable; `check ID -p sigma=1.5` keeps the claim's n)")
    s.add_argument("--out", metavar="DIR", help="write report.json and report.md to DIR (as one unit); DIR must "
                                                "be new, empty or an earlier attnsparse output folder")
    s.add_argument("--force", action="store_true", help="write into a non-empty --out folder not made by attnsparse")
    s.add_argument("--json", action="store_true", help="print the JSON report to stdout instead of the table")
    s.add_argument("--strict", action="store_true", help="asymptotic verdicts become inconclusive")
    s.add_argument("--rows", type=int, default=None, metavar="N",
                   help="replay a run that ended after N rows (a row count on the effort's look schedule)")
    s.set_defaults(effort="quick")
    for name in COMMAND_MODULES:
        importlib.import_module(f"attnsparse.cmd_{name}").add_parser(sub)
    return p


def _cmd_list(args):
    import attnsparse as asp
    from .proofs.mathtext import plain_text

    cs = asp.claims()
    if args.json:
        from .files import strict_json

        print(strict_json([{"id": c.id, "area": c.area, "provenance": c.provenance, "relation": c.rel,
                            "statement": c.statement, "parameters": c.parameters} for c in cs], indent=2))
        return EXIT_OK
    area = None
    for c in cs:
        if c.area != area:
            area = c.area
            print(f"\n{area}")
        tag = asp.PROVENANCE[c.provenance].split(" ")[0]
        print(f"  {c.id:36s} {tag:4s} {plain_text(c.statement, sys.stdout.encoding)}")
    print(f"\n{len(cs)} claims. Provenance: " + "; ".join(asp.PROVENANCE[k] for k in
                                                          ("paper", "reconstructed", "standard", "derived")))
    return EXIT_OK


def _get(cid):
    import attnsparse as asp

    try:
        return asp.get(cid)
    except KeyError as e:
        raise UsageError(e.args[0]) from None


def _cmd_show(args):
    import sympy as sp

    import attnsparse as asp
    from .proofs.mathtext import plain_text

    c = _get(args.id)
    print(f"{c.id}\n  {plain_text(c.statement, sys.stdout.encoding)}")
    source = f"; {plain_text(c.source, sys.stdout.encoding)}" if c.source else ""
    print(f"  provenance: {asp.PROVENANCE[c.provenance]}{source}")
    print(f"  model: {c.model!r}")
    syms = sorted(c.free_symbols, key=lambda s: s.name)
    print("  parameters: " + ", ".join(f"{s.name} ({_domain(s)})" for s in syms))
    if c.assumptions:
        print("  assumptions: " + "; ".join(sp.sstr(a) for a in c.assumptions))
    tol = f"rtol={c.tolerance_rtol:g}" + (f", atol={c.atol:g}" if c.atol else "")
    print(f"  relation: {c.rel} ({tol})")
    print(f"  claim: {c.lhs!r} {c.rel} {c.rhs!r}" if not isinstance(c.rhs, sp.Basic)
          else f"  claim: {c.lhs!r} {c.rel} {sp.sstr(c.rhs)}")
    if c.derivation is not None:
        print("  derivation: " + c.derivation.text().replace("\n", "\n  "))
    status = c.derivation_status  # checks the steps once (cached on the claim)
    print(f"  derivation status: {status['status']} ({status['reason']})")
    if c.derivation_report is not None:
        print("  step report: " + c.derivation_report.text().replace("\n", "\n  "))
    print(f"  LaTeX: {c.latex()}")
    for p in c.points:
        print("  check point: " + ", ".join(f"{k}={v}" for k, v in p.items()))
    if c.details is not None:
        print("  " + c.details().replace("\n", "\n  "))
    _show_design(c)
    return EXIT_OK


def _show_design(c):
    """The design and resolution at the claim's first check point (a pilot simulation)."""
    if not c.points or not hasattr(c, "design"):
        return
    p = c.points[0]
    where = ", ".join(f"{k}={v}" for k, v in p.items())
    if c.rel not in ("==", "approx", "<=", ">="):
        print(f"  design: not available for a {c.rel} claim (design covers one-sample means)")
        return
    try:
        d = c.design(**p)
        res = c.resolution(1_000_000, **p)
    except (ValueError, TypeError) as e:
        print(f"  design at {where}: not available ({e})")
        return
    print(f"  {d.text()} (at {where})")
    print(f"  resolution: a relative deviation of {res:.3g} is refuted with 1,000,000 rows")


def _domain(sym):
    """A symbol's domain in words, from its SymPy assumptions."""
    kind = "integer" if sym.is_integer else "real"
    for test, word in (("is_positive", "positive"), ("is_nonnegative", "nonnegative")):
        if getattr(sym, test):
            return f"{word} {kind}"
    return kind


def _parse_point(items):
    point = {}
    for it in items:
        name, sep, val = it.partition("=")
        if not sep or not name:
            raise UsageError(f"--param needs NAME=VALUE, got {it!r}")
        try:
            point[name.strip()] = int(val) if val.strip().lstrip("-").isdigit() else float(val)
        except ValueError:
            raise UsageError(f"--param {name}: {val!r} is not a number") from None
    return point


def _cmd_check(args):
    import attnsparse as asp

    check_seed_option(args.seed)
    if args.alpha is not None and not 0 < args.alpha < 1:
        raise UsageError(f"--alpha must be in (0, 1), got {args.alpha}")
    if args.rows is not None:
        from attnsparse.proofs.checking import replay_effort

        try:
            replay_effort(args.effort, args.rows)
        except ValueError as e:
            raise UsageError(f"--rows: {e}") from None
    cs = [_get(i) for i in args.ids] if args.ids else asp.claims()
    point = _parse_point(args.param)
    if point and len(cs) != 1:
        raise UsageError("--param needs exactly one claim ID")
    jobs = [(c, p) for c in cs for p in (merged_points(c, point) if point else c.points)]
    if not jobs:
        raise UsageError("nothing to check: the claim has no check points; give --param NAME=VALUE")
    lock = _prepare_out(args.out, args.force) if args.out else None
    try:
        return _run_checks(args, jobs, point)
    finally:
        if lock is not None:
            lock.release()


def merged_points(claim, given):
    """``-p NAME=VALUE`` set into each of the claim's own check points (the other values kept).

    A claim without check points is checked at ``given`` alone; a name the claim does not
    take is a usage error naming its parameters.
    """
    names = list(getattr(claim, "parameters", None) or sorted(s.name for s in claim.free_symbols))
    unknown = [k for k in given if names and k not in names]
    if unknown:
        raise UsageError(f"--param {unknown[0]}: claim {claim.id} has no parameter {unknown[0]!r}; "
                         f"its parameters: {', '.join(names)}")
    out = []
    for p in claim.points or [{}]:
        q = {**p, **given}
        if q not in out:
            out.append(q)
    return out


def _prepare_out(folder, force):
    from .files import prepare_folder

    return prepare_folder(folder, force=force, option="--out")


def _run_checks(args, jobs, point):
    from attnsparse.numeric.check import holm
    from tqdm import tqdm

    from . import report

    t0 = time.perf_counter()
    results = []
    bar = tqdm(jobs, desc="checking", unit="check", file=sys.stderr, disable=None, leave=False)
    errors = []  # checks that could not run: reported, the rest of the suite goes on
    try:
        for c, p in bar:
            bar.set_postfix_str(c.id)
            try:
                r = c.check(seed=args.seed, effort=args.effort, alpha=args.alpha, rows=args.rows, **p)
            except Exception as e:  # noqa: BLE001 -- named in the report and the exit code
                if point and isinstance(e, (ValueError, TypeError)):
                    raise UsageError(str(e)) from None
                errors.append(f"{c.id} at {', '.join(f'{k}={v}' for k, v in p.items())}: {type(e).__name__}: {e}")
                continue
            results.append(r)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted: {len(results)} of {len(jobs)} checks done"
                          + ("; no report written" if args.out else "")) from None
    finally:
        bar.close()
    results = holm(results, args.alpha)
    if args.strict:
        from attnsparse.proofs.checking import strict

        results = strict(results)
    settings = {"effort": args.effort, "seed": args.seed, "strict": args.strict, "rows": args.rows,
                "alpha": args.alpha or _default_alpha(),
                "checks": len(results), "wall_seconds": round(time.perf_counter() - t0, 1), "errors": errors}
    if args.json:
        print(report.as_json(results, settings), end="")
    else:
        print(report.table(results))
        print(f"\n{report.summary(results)} ({settings['wall_seconds']} s; alpha = {settings['alpha']:g} "
              f"family-wise, Holm; seed {args.seed}; {args.effort})")
    if args.out:
        report.write_report(args.out, results, settings)
        if not args.json:
            print(f"report written to {args.out}/report.json and report.md")
    surprises = report.unexpected(results)
    for r in surprises:
        print(f"unexpected: {r.claim_id} is {r.verdict}, the catalogue expects {r.expect}",
              file=sys.stderr)
    for e in errors:
        print(f"could not check {e}", file=sys.stderr)
    return EXIT_REFUTED if surprises or errors else EXIT_OK


def _default_alpha():
    from attnsparse.numeric.config import ALPHA

    return ALPHA


def _os_message(e):
    """One line for an OSError: what failed, and on which path."""
    what = e.strerror or str(e) or type(e).__name__
    paths = [p for p in (e.filename, e.filename2) if p is not None]
    return what + (": " + " -> ".join(repr(os.fspath(p)) for p in paths) if paths else "")


def _quiet_stdout():
    """After a closed pipe: point stdout at devnull so that the exit flush cannot fail again.

    (The Python documentation's note on SIGPIPE, in the signal module.)
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _run(args):
    builtin = {"list": _cmd_list, "show": _cmd_show, "check": _cmd_check}
    if args.command in builtin:
        code = builtin[args.command](args)
    else:
        code = importlib.import_module(f"attnsparse.cmd_{args.command}").run(args)
    sys.stdout.flush()  # a closed pipe shows here, inside the boundary
    return code


def main(argv=None):
    """Run one command; the one error boundary of the CLI (see the module docstring)."""
    from .files import FolderError

    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        from ._version import __version__

        print(__version__)
        return EXIT_OK
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE

    def fail(message):
        print(f"attnsparse {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USAGE

    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        try:  # the start-up handler of attnsparse/__init__.py: from here on, interrupts end below
            signal.signal(signal.SIGINT, signal.default_int_handler)
        except ValueError:  # not the main thread: no handler of ours is set there
            pass
    try:
        return _run(args)
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_PIPE
    except KeyboardInterrupt as e:
        detail = str(e) if type(e) is not KeyboardInterrupt and str(e) else "interrupted"
        try:
            print(f"\nattnsparse {args.command}: {detail}", file=sys.stderr)
        except OSError:
            pass
        return EXIT_INTERRUPTED
    except (UsageError, FolderError) as e:
        return fail(e)
    except OSError as e:
        return fail(_os_message(e))


#: exit code after a closed stdout pipe (as a process killed by SIGPIPE: 128 + 13)
EXIT_PIPE = 141


if __name__ == "__main__":
    sys.exit(main())
