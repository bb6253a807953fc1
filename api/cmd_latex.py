"""``attnsparse latex``: claims as LaTeX theorem environments, or the whole catalogue as a document.

By default every claim printed is first checked against simulation at its first check
point (quick effort, Holm-corrected over the claims printed) so that its validation stamp
is current: the command says so on stderr and shows a progress bar there (a tqdm bar on a
terminal; when stderr is not a terminal, one line per claim checked). ``--report FILE``
takes the results of an earlier ``attnsparse check --out`` instead (nothing is simulated;
claims missing from the report are named on stderr and stamped "not checked"), and
``--no-check`` prints the stamp "not checked".
"""

from __future__ import annotations

import json
import math
import sys

from .commands import UsageError, check_seed_option

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    s = subparsers.add_parser("latex", help="LaTeX of claims (theorem environments with proofs and a validation stamp)")
    s.add_argument("ids", nargs="*", metavar="ID", help="claim ids (with --document: default every claim)")
    s.add_argument("--document", action="store_true", help="write a complete standalone .tex document")
    s.add_argument("--out", metavar="FILE", help="write to FILE (atomically) instead of stdout")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--report", metavar="FILE", help="take verdicts from a report.json of `attnsparse check --out`")
    g.add_argument("--no-check", action="store_true", help="do not simulate; the stamp says 'not checked'")
    s.add_argument("--seed", type=int, default=0, help="seed of the checks (integer >= 0, default 0)")
    return s


def _claims(args):
    import attnsparse as asp

    if not args.ids:
        if not args.document:
            raise UsageError("give at least one claim ID, or --document for the whole catalogue")
        return asp.claims()
    out = []
    for cid in args.ids:
        try:
            out.append(asp.get(cid))
        except KeyError as e:
            raise UsageError(e.args[0]) from None
    return out


#: the fields of a report.json result that the validation stamp reads, with their types
_RESULT_FIELDS = {"claim_id": str, "params": dict, "verdict": str, "ci": list, "level": (int, float),
                  "samples": int, "seed": int}


def _results_from_report(path, claims):
    not_report = f"--report {path!r}: not a report.json written by `attnsparse check --out`"
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise UsageError(f"--report {path!r}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"--report {path!r} is a folder; give its report.json") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UsageError(not_report + " (not JSON)") from None
    rows = data.get("results") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise UsageError(not_report + " (no list \"results\")")
    wanted = {c.id for c in claims}
    out = {}
    for i, r in enumerate(rows):
        bad = ([k for k, t in _RESULT_FIELDS.items() if not isinstance(r.get(k), t)]
               if isinstance(r, dict) else ["(not an object)"])
        if not bad:
            bad = [k for k in ("theory", "estimate") if not isinstance(r.get(k), (int, float, type(None)))]
            if len(r["ci"]) != 2 or not all(isinstance(x, (int, float, type(None))) for x in r["ci"]):
                bad.append("ci")
        if bad:
            raise UsageError(f"{not_report} (results[{i}]: bad or missing field {bad[0]})")
        if r["claim_id"] in wanted and r["claim_id"] not in out:
            lo, hi = r["ci"]  # strict JSON writes an unbounded side as null
            undefined = {k: math.nan for k in ("theory", "estimate") if r.get(k) is None}
            out[r["claim_id"]] = {**r, **undefined,
                                  "ci": [-math.inf if lo is None else lo, math.inf if hi is None else hi]}
    return out


def _progress(jobs, stream):
    """``jobs`` wrapped in a progress report on ``stream``: a tqdm bar on a terminal, else a line per job."""
    if stream.isatty():
        from tqdm import tqdm

        yield from tqdm(jobs, desc="checking", unit="claim", file=stream)
        return
    for i, c in enumerate(jobs, 1):
        print(f"  [{i}/{len(jobs)}] {c.id}", file=stream, flush=True)
        yield c


def _results_by_checking(claims, seed, stream=None):
    from .numeric.check import holm

    stream = sys.stderr if stream is None else stream
    jobs = [c for c in claims if c.points]
    print(f"attnsparse latex: no --report given, so checking {len(jobs)} claim(s) against simulation now "
          f"(quick effort, seed {seed}; the whole catalogue takes a minute or two). To reuse a report: "
          f"attnsparse check --out DIR, then latex --report DIR/report.json.", file=stream, flush=True)
    results = holm([c.check(seed=seed, effort="quick", **c.points[0]) for c in _progress(jobs, stream)])
    return {r.claim_id: r.to_dict() for r in results}


def _note_missing(claims, results, path, stream=None):
    missing = [c.id for c in claims if c.points and c.id not in results]  # no points: never checked
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        print(f"attnsparse latex: {len(missing)} claim(s) not in {path} (stamped 'not checked'): {shown}",
              file=sys.stderr if stream is None else stream)


def run(args):
    from .proofs.document import catalogue_document, claim_environment
    from .files import prepare_file, write_atomic

    check_seed_option(args.seed)
    if args.out:
        prepare_file(args.out)
    claims = _claims(args)
    if args.no_check:
        results = {}
    elif args.report:
        results = _results_from_report(args.report, claims)
        _note_missing(claims, results, args.report)
    else:
        results = _results_by_checking(claims, args.seed)
    if args.document:
        text = catalogue_document(claims, results)
    else:
        text = "\n".join(claim_environment(c, results.get(c.id)) for c in claims)
    if args.out:
        write_atomic(args.out, text)
    else:
        print(text, end="")
    return 0
