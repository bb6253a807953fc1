"""Kill a running sweep (SIGKILL, SIGTERM), rerun it: nothing lost or duplicated, same store.

The sweep runs in a subprocess; it is killed once at least two records are stored and
before it finishes (the test fails rather than passes if the kill comes too late).
"""

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from attnsparse.sweep import run_sweep
from attnsparse.sweep.spec import load_spec

KILL_SPEC = """
name = "kill"
samples = 1500
seed = 5
[model]
kind = "iid"
n = "n"
sigma = "sqrt(2*gamma*log(n))"
[grid]
n = "2^12..2^15"
gamma = [0.5]
C = [0.5, 0.6, 0.7, 0.8]
[stats]
tau = "tail_mass(ceil(n^C))"
ent = "entropy"
"""
TOTAL = 16


@pytest.fixture(scope="module")
def kill_reference(tmp_path_factory, records_of):
    """The uninterrupted serial run of KILL_SPEC: (spec path, records)."""
    folder = tmp_path_factory.mktemp("kill_ref")
    path = folder / "kill.toml"
    path.write_text(KILL_SPEC)
    status = run_sweep(load_spec(str(path)), str(folder / "store"), executor="serial", progress=False)
    assert status.complete
    return str(path), records_of(str(folder / "store"))


def _stored(store):
    points = os.path.join(store, "points")
    if not os.path.isdir(points):
        return []
    return sorted(f for f in os.listdir(points) if f.endswith(".json") and not f.startswith(".tmp-"))


def _start_and_kill(spec_path, store, sig, executor, timeout=120):
    """Start ``attnsparse sweep`` in a subprocess, send ``sig`` once 2 records are stored.

    Returns (records stored at the kill, exit code, pids of the worker processes).
    """
    cmd = [sys.executable, "-m", "attnsparse", "sweep", spec_path, "--out", store, "--executor", executor,
           "--workers", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t0 = time.monotonic()
    try:
        while len(_stored(store)) < 2:
            assert proc.poll() is None, "the sweep ended before it could be killed: " + proc.stderr.read().decode()
            assert time.monotonic() - t0 < timeout, "no records after %d s" % timeout
            time.sleep(0.02)
        workers = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
        proc.send_signal(sig)
        at_kill = {name: open(os.path.join(store, "points", name)).read() for name in _stored(store)}
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return at_kill, rc, workers


def _workers_gone(pids, timeout=30):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("sig,executor", [(signal.SIGKILL, "serial"), (signal.SIGKILL, "processes"),
                                          (signal.SIGTERM, "dask")],
                         ids=["SIGKILL-serial", "SIGKILL-processes", "SIGTERM-dask"])
def test_killed_sweep_resumes_to_the_uninterrupted_store(sig, executor, kill_reference, records_of, tmp_path):
    spec_path, ref = kill_reference
    store = str(tmp_path / "store")
    at_kill, rc, workers = _start_and_kill(spec_path, store, sig, executor)
    assert rc == -sig if sig == signal.SIGKILL else rc == 128 + sig
    assert 2 <= len(at_kill) < TOTAL, f"killed after {len(at_kill)} of {TOTAL} points: not midway"
    assert _workers_gone(workers), "worker processes outlived the killed sweep"

    before = _stored(store)
    assert set(at_kill) <= set(before)
    status = run_sweep(load_spec(spec_path), store, executor="serial", progress=False)
    assert status.complete and status.computed == TOTAL - len(before)  # only the missing points
    final = records_of(store)
    assert final == ref  # no record lost, changed or duplicated (one file per point key)
    assert len(_stored(store)) == TOTAL
    assert sorted(os.listdir(os.path.join(store, "points"))) == _stored(store)  # no temporary files left
    for name, text in at_kill.items():  # records stored before the kill were kept as they were
        assert open(os.path.join(store, "points", name)).read() == text
