"""``attnsparse plot DIR|SPEC.toml``: plot a finished sweep (PNG and PDF, written atomically).

Exit codes: 0 on success, 2 on usage errors (no sweep there, sweep not finished).
"""

from __future__ import annotations

import os

from .commands import EXIT_OK, UsageError


def add_parser(subparsers):
    """Add the ``plot`` sub-command."""
    s = subparsers.add_parser(
        "plot", help="plot a finished sweep with its theory overlay (PNG and PDF)",
        description="Plots each statistic of the sweep against a grid parameter (default n), with "
                    "confidence intervals and, for top-k / tail mass of IID logits, the tilting prediction.")
    s.add_argument("source", metavar="DIR|SPEC.toml", help="a sweep store, or a spec (its store: --store or "
                                                           "the default <stem>-sweep)")
    s.add_argument("--store", metavar="DIR", help="the store of SPEC.toml (default <spec stem>-sweep)")
    s.add_argument("--x", metavar="PARAM", help="grid parameter on the x axis (default n)")
    s.add_argument("--out", metavar="PREFIX", help="output files PREFIX.png and PREFIX.pdf (default DIR/plot)")
    s.add_argument("--partial", action="store_true", help="plot an unfinished sweep (its stored points)")


def run(args):
    """Run ``plot``; return the exit code."""
    from .sweep.plot import plot_sweep
    from .sweep.spec import SpecError, load_spec
    from .sweep.store import StoreError, default_store, load_sweep

    folder = args.source
    if os.path.isfile(args.source):
        try:
            spec = load_spec(args.source)
        except SpecError as e:
            raise UsageError(str(e)) from None
        folder = args.store or default_store(args.source)
    elif not os.path.isdir(args.source):
        raise UsageError(f"{args.source!r} is neither a sweep store folder nor a spec file")
    else:
        spec = None
    try:
        result = load_sweep(folder, complete=not args.partial)
    except StoreError as e:
        raise UsageError(str(e)) from None
    if spec is not None and spec.hash != result.spec.hash:
        raise UsageError(f"the store {folder!r} was written by another version of {args.source!r} "
                         f"(hash {result.spec.hash[:12]}, the spec now hashes to {spec.hash[:12]})")
    if not result.records:
        raise UsageError(f"the sweep in {folder!r} has no stored points yet")
    from .files import prepare_file

    prefix = args.out or os.path.join(folder, "plot")
    for ext in ("png", "pdf"):
        prepare_file(f"{prefix}.{ext}")
    try:
        paths = plot_sweep(result, prefix, x=args.x)
    except ValueError as e:
        raise UsageError(str(e)) from None
    print("plot written to " + " and ".join(paths))
    return EXIT_OK
