"""``attnsparse latex``: claims as LaTeX theorem environments, or the whole catalogue as a document.

By default every claim printed is first checked against simulation at its first check
point (quick effort, Holm-corrected over the claims printed) so that its validation stamp
is current; ``--report FILE`` takes the results of an earlier ``attnsparse check --out``
instead, and ``--no-check`` prints the stamp "not checked".
"""

from __future__ import annotations

import json
import os

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


def _results_from_report(path, claims):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        rows = data["results"]
    except FileNotFoundError:
        raise UsageError(f"--report {path!r}: no such file") from None
    except (json.JSONDecodeError, KeyError, TypeError):
        raise UsageError(f"--report {path!r}: not a report.json written by `attnsparse check --out`") from None
    wanted = {c.id for c in claims}
    out = {}
    for r in rows:
        if r.get("claim_id") in wanted and r["claim_id"] not in out:
            out[r["claim_id"]] = r
    return out


def _results_by_checking(claims, seed):
    from .numeric.check import holm

    jobs = [c for c in claims if c.points]
    results = holm([c.check(seed=seed, effort="quick", **c.points[0]) for c in jobs])
    return {r.claim_id: r.to_dict() for r in results}


def run(args):
    from .proofs.document import catalogue_document, claim_environment
    from .files import write_atomic

    check_seed_option(args.seed)
    if args.out:
        parent = os.path.dirname(os.path.abspath(args.out))
        if os.path.isdir(args.out) or not os.path.isdir(parent):
            raise UsageError(f"--out {args.out!r}: need a file path in an existing folder")
    claims = _claims(args)
    if args.no_check:
        results = {}
    elif args.report:
        results = _results_from_report(args.report, claims)
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
