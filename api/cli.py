"""The ``attnsparse`` command line: list, show and check claims.

Exit codes: 0 when nothing is refuted, 1 when a claim is refuted, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time

from .commands import EXIT_OK, EXIT_REFUTED, EXIT_USAGE, UsageError, check_seed_option

#: further commands, each a module ``attnsparse.cmd_<name>`` with ``add_parser(subparsers)``
#: (which adds its sub-parser) and ``run(args) -> exit code``; it raises
#: :class:`~.commands.UsageError` for usage errors. They are imported here only, by name.
COMMAND_MODULES = ("measure", "latex", "sweep", "plot", "reproduce")


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
                   help="check at this parameter point instead of the claim's own points (repeatable)")
    s.add_argument("--out", metavar="DIR", help="write report.json and report.md to DIR (atomically)")
    s.add_argument("--json", action="store_true", help="print the JSON report to stdout instead of the table")
    s.set_defaults(effort="quick")
    for name in COMMAND_MODULES:
        importlib.import_module(f"attnsparse.cmd_{name}").add_parser(sub)
    return p


def _cmd_list(args):
    import attnsparse as asp

    cs = asp.claims()
    if args.json:
        print(json.dumps([{"id": c.id, "area": c.area, "provenance": c.provenance, "relation": c.rel,
                           "statement": c.statement, "parameters": c.parameters} for c in cs], indent=2))
        return EXIT_OK
    area = None
    for c in cs:
        if c.area != area:
            area = c.area
            print(f"\n{area}")
        tag = asp.PROVENANCE[c.provenance].split(" ")[0]
        print(f"  {c.id:36s} {tag:4s} {c.statement}")
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

    c = _get(args.id)
    print(f"{c.id}\n  {c.statement}")
    print(f"  provenance: {asp.PROVENANCE[c.provenance]}" + (f"; {c.source}" if c.source else ""))
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
    return EXIT_OK


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
    from attnsparse.numeric.check import holm

    from . import report

    check_seed_option(args.seed)
    if args.alpha is not None and not 0 < args.alpha < 1:
        raise UsageError(f"--alpha must be in (0, 1), got {args.alpha}")
    cs = [_get(i) for i in args.ids] if args.ids else asp.claims()
    point = _parse_point(args.param)
    if point and len(cs) != 1:
        raise UsageError("--param needs exactly one claim ID")
    jobs = [(c, p) for c in cs for p in ([point] if point else c.points)]
    if not jobs:
        raise UsageError("nothing to check: the claim has no check points; give --param NAME=VALUE")
    if args.out:
        _check_writable(args.out)
    from tqdm import tqdm

    t0 = time.perf_counter()
    results = []
    bar = tqdm(jobs, desc="checking", unit="check", file=sys.stderr, disable=None, leave=False)
    errors = []  # checks that could not run: reported, the rest of the suite goes on
    for c, p in bar:
        bar.set_postfix_str(c.id)
        try:
            r = c.check(seed=args.seed, effort=args.effort, alpha=args.alpha, **p)
        except Exception as e:  # noqa: BLE001 -- named in the report and the exit code
            if point and isinstance(e, (ValueError, TypeError)):
                raise UsageError(str(e)) from None
            errors.append(f"{c.id} at {', '.join(f'{k}={v}' for k, v in p.items())}: {type(e).__name__}: {e}")
            continue
        results.append(r)
    results = holm(results, args.alpha)
    settings = {"effort": args.effort, "seed": args.seed, "alpha": args.alpha or _default_alpha(),
                "checks": len(results), "wall_seconds": round(time.perf_counter() - t0, 1), "errors": errors}
    if args.json:
        print(report.as_json(results, settings), end="")
    else:
        print(report.table(results))
        print(f"\n{report.summary(results)} ({settings['wall_seconds']} s; alpha = {settings['alpha']:g} "
              f"family-wise, Holm; seed {args.seed}; {args.effort})")
    if args.out:
        report.write_atomic(os.path.join(args.out, "report.json"), report.as_json(results, settings))
        report.write_atomic(os.path.join(args.out, "report.md"), report.markdown(results, settings))
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


def _check_writable(folder):
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UsageError(f"--out {folder!r} exists and is not a directory")
    parent = os.path.dirname(os.path.abspath(folder))
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
        raise UsageError(f"--out {folder!r}: cannot create it (parent folder missing or not writable)")


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        from ._version import __version__

        print(__version__)
        return EXIT_OK
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        builtin = {"list": _cmd_list, "show": _cmd_show, "check": _cmd_check}
        if args.command in builtin:
            return builtin[args.command](args)
        return importlib.import_module(f"attnsparse.cmd_{args.command}").run(args)
    except UsageError as e:
        print(f"attnsparse {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
