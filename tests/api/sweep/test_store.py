"""The store: resume computes only missing points, other specs are refused, status, loading."""

import json
import os
import shutil

import numpy as np
import pytest

from attnsparse.cli import main
from attnsparse.sweep import StoreError, load_sweep, run_sweep, sweep_status
from attnsparse.sweep.spec import load_spec


def test_rerun_computes_only_missing_points(small_reference, records_of, tmp_path):
    spec_path, ref_store, ref = small_reference
    store = str(tmp_path / "store")
    shutil.copytree(ref_store, store)
    names = sorted(os.listdir(os.path.join(store, "points")))
    for name in names[:3]:
        os.unlink(os.path.join(store, "points", name))
    # a write interrupted by a kill leaves a temporary file: it is cleaned up, never read
    open(os.path.join(store, "points", ".tmp-xyz.json"), "w").write('{"trunc')
    spec = load_spec(spec_path)
    assert len(sweep_status(spec, store).missing) == 3
    status = run_sweep(spec, store, executor="serial", progress=False)
    assert status.computed == 3 and status.complete and not status.failed
    assert records_of(store) == ref
    assert run_sweep(spec, store, executor="serial", progress=False).computed == 0


def test_store_of_another_spec_is_refused(small_reference, write_spec, tmp_path, capsys):
    spec_path, ref_store, _ = small_reference
    store = str(tmp_path / "store")
    shutil.copytree(ref_store, store)
    changed = write_spec(open(spec_path).read().replace("samples = 300", "samples = 301"))
    with pytest.raises(StoreError, match="changed: samples"):
        run_sweep(load_spec(changed), store, executor="serial", progress=False)
    assert main(["sweep", changed, "--out", store, "--executor", "serial"]) == 2
    assert "holds the sweep of another spec" in capsys.readouterr().err
    assert len(os.listdir(os.path.join(store, "points"))) == 12  # nothing touched


def test_non_empty_folder_without_a_sweep_is_refused(small_reference, tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(StoreError, match="not empty"):
        run_sweep(load_spec(small_reference[0]), str(tmp_path), executor="serial", progress=False)


def test_status_and_partial_load(small_reference, tmp_path, capsys):
    spec_path, ref_store, _ = small_reference
    store = str(tmp_path / "store")
    shutil.copytree(ref_store, store)
    victim = sorted(os.listdir(os.path.join(store, "points")))[0]
    with open(os.path.join(store, "points", victim)) as f:
        lost_point = json.load(f)["point"]
    os.unlink(os.path.join(store, "points", victim))
    assert main(["sweep", spec_path, "--out", store, "--status"]) == 0
    out = capsys.readouterr().out
    assert "11/12 points done, 1 missing" in out
    assert "missing " + ", ".join(f"{k}={lost_point[k]}" for k in ("n", "gamma", "C", "alpha")) in out
    with pytest.raises(StoreError, match="not finished: 1 of 12"):
        load_sweep(store)
    assert len(load_sweep(store, complete=False).records) == 11


def test_load_sweep_columns(small_reference):
    _, ref_store, ref = small_reference
    res = load_sweep(ref_store)
    cols = res.columns()
    assert list(cols["n"][::3]) == [64, 128, 256, 512] and list(cols["C"][:3]) == [0.4, 0.6, 0.8]
    assert np.array_equal(cols["tau.param"], np.ceil(cols["n"] ** cols["C"]))
    assert np.allclose(cols["model.sigma"], np.sqrt(np.log(cols["n"])))
    assert np.all((cols["tau.ci_low"] < cols["tau"]) & (cols["tau"] < cols["tau.ci_high"]))
    by_key = {r["key"]: r for r in res.records}
    assert len(by_key) == 12 and {k + ".json" for k in by_key} == set(ref)
    with pytest.raises(KeyError, match="columns: n, gamma"):
        res.column("nope")
