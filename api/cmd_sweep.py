"""``attnsparse sweep SPEC.toml``: run a parameter sweep into a resumable store.

Exit codes: 0 when every grid point is stored, 1 when some points failed (the others are
stored; rerun to retry), 2 on usage errors (malformed spec, store of another spec).
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager

from .commands import EXIT_OK, EXIT_REFUTED, UsageError


def add_parser(subparsers):
    """Add the ``sweep`` sub-command."""
    s = subparsers.add_parser(
        "sweep", help="run a parameter sweep (TOML spec) on local processes or a Dask cluster, resumably",
        description="Runs the spec's grid; each point's record is stored atomically in --out, so a rerun "
                    "after a crash computes only the missing points. docs/sweeps.md gives the spec format.")
    s.add_argument("spec", metavar="SPEC.toml", help="the sweep spec")
    s.add_argument("--out", metavar="DIR", help="the store folder (default: <spec stem>-sweep): new, empty or "
                                                "a store of this spec; locked while the sweep runs")
    s.add_argument("--scheduler", metavar="ADDRESS", help="run on the Dask cluster at ADDRESS (tcp://host:8786)")
    s.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local worker processes (default: number of cores)")
    s.add_argument("--executor", choices=("auto", "serial", "processes", "dask"), default="auto",
                   help="auto (default): Dask LocalCluster if dask.distributed is installed, else processes; "
                        "serial: in this process")
    s.add_argument("--status", action="store_true", help="show done/missing points and exit")
    s.add_argument("--force", action="store_true", help="use a non-empty --out folder not made by attnsparse")


def run(args):
    """Run ``sweep``; return the exit code."""
    from .sweep.run import run_sweep, sweep_status
    from .sweep.spec import SpecError, load_spec
    from .sweep.store import StoreError, default_store

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be an integer >= 1, got {args.workers}")
    if args.scheduler is not None and args.executor not in ("auto", "dask"):
        raise UsageError(f"--scheduler needs --executor dask (or auto), not {args.executor}")
    out = args.out or default_store(args.spec)
    try:
        spec = load_spec(args.spec)
        if args.status:
            print(sweep_status(spec, out).text())
            return EXIT_OK
        with open(args.spec, encoding="utf-8") as f:
            text = f.read()
        with _sigterm_exits():
            status = run_sweep(spec, out, executor=args.executor, workers=args.workers,
                               scheduler=args.scheduler, spec_text=text, force=args.force)
    except (SpecError, StoreError, ImportError, ConnectionError) as e:
        raise UsageError(str(e)) from None
    print(status.text())
    return EXIT_OK if status.complete else EXIT_REFUTED


@contextmanager
def _sigterm_exits():
    """Turn SIGTERM into SystemExit so that worker pools and clusters are shut down cleanly.

    Stored records are safe either way (each is written atomically); this only avoids
    leaving worker processes behind.
    """
    def handler(signum, frame):
        print("attnsparse sweep: terminated; stored points are kept, rerun to resume", file=sys.stderr)
        raise SystemExit(128 + signum)

    if os.name != "posix":
        yield
        return
    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
