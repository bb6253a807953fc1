"""Kills at every write boundary of ``sweep`` and ``check --out``, and two concurrent sweeps.

The run is a subprocess that SIGKILLs itself at write step k (``ATTNSPARSE_KILL_AT``, read
by :func:`attnsparse.files._boundary`: after a temporary file is written, before its
rename, and between the renames of a report). The next run must resume (sweep) or rewrite
(check) the folder, consistent and without stray temporary files.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from attnsparse.files import LOCK, MARKER
from attnsparse.sweep import load_sweep, run_sweep
from attnsparse.sweep.spec import load_spec

PY = [sys.executable, "-m", "attnsparse"]
SPEC = """
name = "tiny"
samples = 50
seed = 3
[model]
kind = "iid"
n = "n"
sigma = 1.0
[grid]
n = [8, 16, 32]
[stats]
w = "max_weight"
"""


def _run(args, kill_at=None, **kw):
    env = dict(os.environ)
    if kill_at:
        env["ATTNSPARSE_KILL_AT"] = kill_at
    return subprocess.run(PY + args, env=env, capture_output=True, text=True, timeout=300, **kw)


def _temps(folder):
    return [os.path.join(d, n) for d, dirs, fs in os.walk(folder) for n in dirs + fs if n.startswith(".tmp-")]


SWEEP_STEPS = ["written */.attnsparse", "written */sweep.json", "written */spec.toml", "written points/*",
               "written points/*#2", "written points/*#3"]


@pytest.mark.parametrize("step", SWEEP_STEPS)
def test_sweep_killed_at_each_write_boundary_resumes(step, tmp_path, records_of):
    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC)
    store = str(tmp_path / "store")
    r = _run(["sweep", str(spec), "--out", store, "--executor", "serial"], kill_at=step)
    assert r.returncode == -signal.SIGKILL, (step, r.returncode, r.stderr[-500:])
    status = run_sweep(load_spec(str(spec)), store, executor="serial", progress=False)
    assert status.complete and status.total == 3
    assert not _temps(store)
    ref = str(tmp_path / "ref")
    run_sweep(load_spec(str(spec)), ref, executor="serial", progress=False)
    assert records_of(store) == records_of(ref)


CHECK = ["check", "entries.mean_weight", "-p", "n=16"]
# each boundary costs a full `check` run (~8 s): the first and last run by default, all with -m slow
CHECK_STEPS = ["written */report.json", pytest.param("written */report.md", marks=pytest.mark.slow),
               pytest.param("removed old report.md", marks=pytest.mark.slow),
               pytest.param("renamed report.json", marks=pytest.mark.slow), "renamed report.md"]


def _consistent(folder):
    """Every report file present belongs to one run; returns the run id (or None)."""
    runs = set()
    if os.path.exists(os.path.join(folder, "report.json")):
        runs.add(json.load(open(os.path.join(folder, "report.json")))["meta"]["run"])
    if os.path.exists(os.path.join(folder, "report.md")):
        md = open(os.path.join(folder, "report.md")).read()
        runs.add(md.split("run: `")[1].split("`")[0])
    assert len(runs) <= 1, f"report.json and report.md of different runs: {runs}"
    return runs.pop() if runs else None


@pytest.fixture(scope="module")
def first_report(tmp_path_factory):
    """One finished ``check --out`` folder; each test kills a second run on its own copy."""
    out = str(tmp_path_factory.mktemp("first") / "rep")
    r = _run(CHECK + ["--out", out])
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.parametrize("step", CHECK_STEPS)
def test_check_out_killed_at_each_write_boundary_stays_consistent(step, tmp_path, first_report):
    out = str(tmp_path / "rep")
    shutil.copytree(first_report, out)
    old = _consistent(out)
    assert old is not None
    r = _run(CHECK + ["--out", out], kill_at=step)
    assert r.returncode == -signal.SIGKILL, (step, r.returncode, r.stderr[-500:])
    _consistent(out)
    r = _run(CHECK + ["--out", out])  # the next run: its own folder, reused; strays removed
    assert r.returncode == 0, r.stderr
    new = _consistent(out)
    assert new not in (None, old) and not _temps(out)


def _holder_pid(store):
    try:
        return open(os.path.join(store, LOCK)).read().split()[0]
    except (OSError, IndexError):
        return None


def test_two_concurrent_sweeps_of_different_specs_on_one_new_store(tmp_path, capsys):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text(SPEC.replace("samples = 50", "samples = 20000").replace("[8, 16, 32]", "[4096, 8192, 16384, 32768]"))
    b.write_text(SPEC.replace("seed = 3", "seed = 4"))
    store = str(tmp_path / "store")
    first = subprocess.Popen(PY + ["sweep", str(a), "--out", store, "--executor", "serial"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while _holder_pid(store) != str(first.pid):
        assert first.poll() is None and time.monotonic() - t0 < 120, "the first sweep never took the lock"
        time.sleep(0.01)
    from attnsparse.cli import main

    code = main(["sweep", str(b), "--out", store, "--executor", "serial"])  # in process: no start-up delay
    assert first.poll() is None, "the first sweep finished before the second started: no overlap tested"
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert code == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "is in use by attnsparse" in lines[0] and f"process {first.pid} on host" in lines[0]
    result = load_sweep(store)  # consistent: one spec's manifest and only its records
    assert result.spec.hash == load_spec(str(a)).hash and len(result.records) == 4
    assert not _temps(store) and os.path.exists(os.path.join(store, MARKER))


def test_two_sweeps_started_at_once_one_wins_and_the_store_is_consistent(tmp_path):
    specs = []
    for seed in (7, 8):
        p = tmp_path / f"s{seed}.toml"
        p.write_text(SPEC.replace("seed = 3", f"seed = {seed}").replace("samples = 50", "samples = 5000"))
        specs.append(str(p))
    store = str(tmp_path / "store")
    procs = [subprocess.Popen(PY + ["sweep", s, "--out", store, "--executor", "serial"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for s in specs]
    outs = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], [o[1][-300:] for o in outs]
    loser_err = outs[[p.returncode for p in procs].index(2)][1]
    assert "Traceback" not in loser_err and ("in use by attnsparse" in loser_err or "another spec" in loser_err)
    winner = specs[[p.returncode for p in procs].index(0)]
    result = load_sweep(store)
    assert result.spec.hash == load_spec(winner).hash and len(result.records) == 3
