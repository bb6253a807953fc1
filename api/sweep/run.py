"""Running sweeps: compute the missing points of a spec on local processes or a Dask cluster.

One grid point is one task, :func:`compute_point`: it simulates ``samples`` rows at the
point with the point's own seed (:func:`~.spec.point_seed`) and returns a JSON-able
record. The driver writes each record, as it arrives, to its own file in the store
(:class:`~.store.SweepStore`). A rerun reads the store and computes only the missing
points; a store written by another spec (another hash) is refused.

Executors: ``serial`` (this process), ``processes`` (concurrent.futures, spawned
processes), ``dask`` (a LocalCluster of worker processes with one thread each, or an
existing cluster at ``scheduler``). Every executor gives the same numbers: a record
depends on the spec and the point only.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from .spec import SweepSpec, canonical_json, parse_spec, point_key, point_seed
from .store import RECORD_FORMAT, SweepStore, version

__all__ = ["SweepInterrupted", "run_sweep", "sweep_status", "compute_point", "using_numba_threads", "SweepStatus",
           "EXECUTORS"]

EXECUTORS = ("auto", "serial", "processes", "dask")

# ----------------------------------------------------------------------------- the task

_SPEC_CACHE: dict = {}
#: parallel numba kernels must not run from two threads of one process at once (PITFALLS 17):
#: a Dask worker with several threads serialises its simulations on this lock
_SIMULATION_LOCK = threading.Lock()


def _spec_of(raw, name) -> SweepSpec:
    key = (canonical_json(raw), name)
    if key not in _SPEC_CACHE:
        _SPEC_CACHE[key] = parse_spec(raw, default_name=name, check_points=False)
    return _SPEC_CACHE[key]


def compute_point(raw: dict, name: str, point: dict, numba_threads: int | None = None) -> dict:
    """Simulate one grid point of the spec ``raw`` and return its record.

    Parameters
    ----------
    raw : dict
        The spec as read from TOML (plain data, cheap to send to a worker).
    name : str
        The spec's name (used when ``raw`` has none).
    point : dict {name: number}
        The grid point.
    numba_threads : int, optional
        Numba threads for this task (the share of the cores of one local worker);
        the results do not depend on it.

    Returns
    -------
    dict
        The record; see docs/sweeps.md.
    """
    t0 = time.perf_counter()
    spec = _spec_of(raw, name)
    seed = point_seed(spec.seed, point)
    values = spec.values(point)
    record = {"format": RECORD_FORMAT, "spec_hash": spec.hash, "key": point_key(point), "point": point,
              "seed": seed, "samples": spec.samples, "level": spec.level, "model": None, "stats": {},
              "claims": {}}
    with _SIMULATION_LOCK:
        with using_numba_threads(numba_threads):
            _simulate_point(spec, point, seed, values, record)
    record["run"] = {"seconds": round(time.perf_counter() - t0, 3), "host": socket.gethostname(),
                     "pid": os.getpid(), "attnsparse": version()}
    return record


@contextmanager
def using_numba_threads(threads):
    """Run the block with ``threads`` numba threads (capped at the pool size), then restore the old count.

    ``None`` or 0 leaves the count alone. The count only changes speed, never a number.
    """
    if not threads:
        yield
        return
    import numba

    old = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(old)


def _simulate_point(spec, point, seed, values, record):
    """Fill ``record["model"]``, ``["stats"]`` and ``["claims"]`` for one grid point."""
    from ..numeric.simulate import simulate_stats

    if spec.targets:
        bm = spec.model.bind(values)
        record["model"] = {"kind": type(spec.model).__name__,
                           **{p: spec.model.scalar(p, values) for p in spec.model.params}}
        stats = [t.functional.stat for t in spec.targets]
        x = simulate_stats(spec.model, stats, spec.samples, seed, values)
        for i, t in enumerate(spec.targets):
            est = t.functional.estimate(t.functional.values(x[:, i], values), spec.level)
            param = None if t.functional.stat.param is None else t.functional.stat.bind_param(values, bm.n)
            record["stats"][t.label] = {"expr": t.text, "functional": repr(t.functional), "param": param,
                                        **_estimate_fields(est)}
    for cid in spec.claims:
        record["claims"][cid] = _claim_fields(cid, spec, point, seed)


def _estimate_fields(est):
    return {"estimate": _finite(est.value), "stderr": _finite(est.stderr),
            "ci": [_finite(est.ci[0]), _finite(est.ci[1])]}


def _finite(x):
    """A float for JSON; infinite or NaN values become None."""
    x = float(x)
    return x if math.isfinite(x) else None


def _claim_fields(cid, spec, point, seed):
    import attnsparse

    c = attnsparse.get(cid)
    params = spec.claim_params(cid, point)
    sim = c.simulate(samples=spec.samples, seed=seed, level=spec.level, **params)
    try:
        theory = _finite(c.evaluate(**params))
    except TypeError:  # the right-hand side is a functional of another model: simulated, not evaluated
        theory = None
    return {"rel": c.rel, "theory": theory, **_estimate_fields(sim.estimate)}


# ----------------------------------------------------------------------------- running

@dataclass
class SweepStatus:
    """Where a sweep stands: points done and missing, and the failures of the last run."""

    name: str
    store: str
    spec_hash: str
    total: int
    done: int
    missing: list
    computed: int = 0
    failed: list = field(default_factory=list)
    seconds: float = 0.0
    executor: str = ""

    @property
    def complete(self):
        return not self.missing

    def text(self, max_lines=20):
        """A human summary: counts, then the missing (and failed) points."""
        lines = [f"sweep {self.name} (spec hash {self.spec_hash[:12]}) in {self.store}: "
                 f"{self.done}/{self.total} points done, {len(self.missing)} missing"]
        if self.computed or self.seconds:
            lines.append(f"this run: {self.computed} points computed in {self.seconds:.1f} s ({self.executor})")
        for p, err in self.failed[:max_lines]:
            lines.append(f"  failed {_fmt(p)}: {err}")
        shown = [p for p in self.missing if all(p is not q for q, _ in self.failed)]
        for p in shown[:max_lines]:
            lines.append(f"  missing {_fmt(p)}")
        if len(shown) > max_lines:
            lines.append(f"  ... and {len(shown) - max_lines} more missing")
        return "\n".join(lines)


def _fmt(point):
    return ", ".join(f"{k}={v}" for k, v in point.items())


def sweep_status(spec: SweepSpec, out) -> SweepStatus:
    """The done/missing points of ``spec`` in the store ``out`` (without running anything)."""
    store = SweepStore(out)
    points = spec.points()
    if store.manifest() is None:
        return SweepStatus(spec.name, store.folder, spec.hash, len(points), 0, points)
    store.check(spec)
    have = store.records(spec.hash)
    missing = [p for p in points if point_key(p) not in have]
    return SweepStatus(spec.name, store.folder, spec.hash, len(points), len(points) - len(missing), missing)


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; the message says how many points are saved (a rerun resumes)."""


def run_sweep(spec: SweepSpec, out, *, executor="auto", workers=None, scheduler=None, progress=True,
              spec_text=None, force=False) -> SweepStatus:
    """Compute the missing points of ``spec`` into the store ``out``.

    Parameters
    ----------
    spec : SweepSpec
        From :func:`~.spec.load_spec`.
    out : str
        The store's folder. A store of another spec is refused (:class:`StoreError`).
    executor : {"auto", "serial", "processes", "dask"}
        ``auto``: Dask when ``scheduler`` is given or dask.distributed imports, else processes.
    workers : int, optional
        Local worker processes (default: the number of cores). Ignored with ``scheduler``.
    scheduler : str, optional
        Address of a running Dask scheduler, e.g. ``tcp://host:8786``.
    progress : bool
        Show a tqdm bar on stderr (it disables itself when stderr is not a terminal).
    spec_text : str, optional
        The spec file's text, kept in the store as ``spec.toml``.
    force : bool
        Use a non-empty folder that attnsparse did not create as the store.

    Returns
    -------
    SweepStatus
        Failed points are listed, not raised: the others are stored and a rerun retries them.

    Raises
    ------
    StoreError
        The store holds another spec's sweep, is not usable, or another process holds its lock.
    SweepInterrupted
        On Ctrl-C: ``"interrupted: 12 of 33 points saved; ..."`` (the saved points are kept).
    """
    executor = _choose_executor(executor, scheduler)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    workers = workers or os.cpu_count() or 1
    store = SweepStore(out)
    store.attach(spec, spec_text, force=force)
    try:
        points = spec.points()
        have = store.records(spec.hash)
        todo = _largest_first([p for p in points if point_key(p) not in have], spec)
        t0 = time.perf_counter()
        failed, written = [], 0
        from tqdm import tqdm

        bar = tqdm(total=len(points), initial=len(points) - len(todo), desc=spec.name, unit="point",
                   file=sys.stderr, disable=None if progress else True, dynamic_ncols=True)
        try:
            if todo:
                run = {"serial": _run_serial, "processes": _run_processes, "dask": _run_dask}[executor]
                results = run(spec, todo, workers, scheduler)
                try:
                    for point, result in results:
                        if isinstance(result, BaseException):
                            failed.append((point, f"{type(result).__name__}: {result}"))
                        else:
                            store.write(result)
                            written += 1
                        bar.update(1)
                finally:
                    results.close()  # shuts the pool or cluster down now, also after Ctrl-C
        except KeyboardInterrupt:
            bar.close()
            saved = len(store.records(spec.hash))
            raise SweepInterrupted(f"interrupted: {saved} of {len(points)} points saved; rerun to resume") from None
        finally:
            bar.close()
    finally:
        store.release()
    status = sweep_status(spec, out)
    status.computed = written
    status.failed, status.seconds, status.executor = failed, time.perf_counter() - t0, executor
    return status


def _largest_first(points, spec):
    """Points by decreasing row length ``n``: parallel workers then finish together (LPT order).

    Only the order of computation changes, never a record.
    """
    def size(p):
        if spec.model is not None:
            return spec.model.scalar("n", spec.values(p))
        return float(p.get("n", 0))

    return sorted(points, key=size, reverse=True)


def _choose_executor(executor, scheduler):
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    if scheduler is not None:
        if executor not in ("auto", "dask"):
            raise ValueError(f"a scheduler address needs the dask executor, not {executor!r}")
        _require_distributed()
        return "dask"
    if executor == "auto":
        try:
            import distributed  # noqa: F401
        except ImportError:
            return "processes"
        return "dask"
    if executor == "dask":
        _require_distributed()
    return executor


def _require_distributed():
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ImportError("the dask executor needs dask.distributed: pip install 'attnsparse[distributed]'") from None


def _threads_per_worker(workers):
    return max(1, (os.cpu_count() or 1) // workers)


def _run_serial(spec, todo, workers, scheduler):
    for p in todo:
        try:
            yield p, compute_point(spec.raw, spec.name, p)
        except Exception as e:  # noqa: BLE001 - reported per point, the sweep goes on
            yield p, e


def _run_processes(spec, todo, workers, scheduler):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    threads = _threads_per_worker(workers)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                             initargs=(os.getpid(),)) as pool:
        futures = {pool.submit(compute_point, spec.raw, spec.name, p, threads): p for p in todo}
        try:
            for fut in as_completed(futures):
                exc = fut.exception()
                yield futures[fut], exc if exc is not None else fut.result()
        finally:
            for fut in futures:
                fut.cancel()


def _worker_init(parent_pid):
    """In a worker process: Ctrl-C is the driver's (it stops the pool); exit with the driver."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent(parent_pid)


@contextmanager
def _sigint_ignored():
    """Start child processes with SIGINT ignored (they inherit it through exec).

    A Ctrl-C at the terminal goes to every process of the group; the driver alone handles
    it and shuts the workers down, so no worker prints a traceback.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _exit_with_parent(parent_pid, poll_seconds=1.0):
    """In a worker process: exit when the driver process is gone (killed with SIGKILL)."""
    def watch():
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(poll_seconds)

    threading.Thread(target=watch, daemon=True).start()


def _run_dask(spec, todo, workers, scheduler):
    import logging

    from distributed import Client, LocalCluster, as_completed

    if scheduler is None:
        with _sigint_ignored():
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
        threads = _threads_per_worker(workers)
    else:
        cluster, threads = None, None
    try:
        client = Client(cluster) if cluster is not None else _connect(Client, scheduler)
        with client:
            futures = {}
            for p in todo:
                fut = client.submit(compute_point, spec.raw, spec.name, p, threads, pure=False,
                                    key=f"attnsparse-{spec.hash[:12]}-{point_key(p)}-{os.getpid()}")
                futures[fut.key] = (fut, p)
            try:
                for fut in as_completed([f for f, _ in futures.values()]):
                    p = futures[fut.key][1]
                    if fut.status == "error":
                        yield p, fut.exception()
                    else:
                        yield p, fut.result()
            finally:
                client.cancel([f for f, _ in futures.values()])
    finally:
        if cluster is not None:
            cluster.close()


def _connect(client_cls, address, timeout="15s"):
    try:
        return client_cls(address, timeout=timeout)
    except (OSError, TimeoutError) as e:
        raise ConnectionError(f"cannot reach the Dask scheduler at {address!r} within {timeout} ({e})") from None
