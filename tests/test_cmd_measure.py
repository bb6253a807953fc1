"""The `attnsparse measure` command."""

import json

import numpy as np
import pytest

from attnsparse.cli import main


@pytest.fixture
def arrays(tmp_path):
    rng = np.random.default_rng(0)
    paths = {}
    for name, shape in {"Q": (2, 30, 8), "K": (2, 30, 8), "V": (2, 30, 4)}.items():
        paths[name] = str(tmp_path / f"{name}.npy")
        np.save(paths[name], rng.standard_normal(shape))
    return paths


def test_measure_writes_json_report(arrays, tmp_path, capsys):
    out = tmp_path / "sub" / "m.json"
    rc = main(["measure", arrays["Q"], arrays["K"], arrays["V"], "--causal", "--topk", "1,4", "--eps", "0.1",
               "--keep", "8", "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "topk_mass(4)" in text and "output_error(keep=8)" in text and "Gaussian theory" in text
    rep = json.loads(out.read_text())
    assert rep["settings"]["heads"] == 2 and rep["settings"]["causal"] is True
    assert 0 < rep["summary"]["topk_mass(4)"]["mean"] <= 1
    assert not list(out.parent.glob(".tmp-*"))  # the atomic write left no temporary file


def test_measure_json_to_stdout(arrays, capsys):
    assert main(["measure", arrays["Q"], arrays["K"], "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["inputs"]["V"] is None and "k_eps(0.01)" in rep["summary"]


@pytest.mark.parametrize("make, match", [
    (lambda p, t: [p["Q"], str(t / "missing.npy")], "K: no such file"),
    (lambda p, t: [p["Q"], p["K"], "--eps", "2"], "eps entries must be a number in"),
    (lambda p, t: [p["Q"], str(t / "bad.npy")], "K: cannot read"),
    (lambda p, t: [p["Q"], str(t / "nan.npy")], "K contains 1 NaN"),
    (lambda p, t: [p["Q"], p["K"], "--out", str(t)], "is a directory"),
])
def test_usage_errors_exit_2(arrays, tmp_path, capsys, make, match):
    (tmp_path / "bad.npy").write_text("not an array")
    nan = np.ones((2, 30, 8))
    nan[1, 2, 3] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    assert main(["measure"] + make(arrays, tmp_path)) == 2
    assert match in capsys.readouterr().err
