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
               "--keep", "8", "--head-theory", "simulated", "--out", str(out)])
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


def test_json_has_one_entry_per_head_with_the_pooled_names(arrays, capsys):
    Q, K = np.load(arrays["Q"]), np.load(arrays["K"])
    assert main(["measure", arrays["Q"], arrays["K"], arrays["V"], "--json", "--head-theory", "simulated",
                 "--sink", "2", "--eps", "0.1"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert len(rep["heads"]) == 2
    assert "relative Frobenius" in rep["units"]["output_error(keep=64)"]
    for h, head in enumerate(rep["heads"]):
        assert list(head["summary"]) == list(rep["summary"])
        S = Q[h] @ K[h].T / np.sqrt(8)  # independent numpy: root mean row variance, mean sink mass
        P = np.exp(S - S.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        assert head["sigma"] == pytest.approx(np.sqrt(np.var(S, axis=1).mean()), rel=1e-10)
        assert head["sink_mass(2)"] == pytest.approx(P[:, :2].sum(axis=1).mean(), rel=1e-10)
        assert head["summary"]["ipr"]["mean"] == pytest.approx((P ** 2).sum(axis=1).mean(), rel=1e-10)
        assert head["regime"] in ("high temperature", "critical window", "condensed")
        assert head["models"]["best"] in ("iid", "sink offset", "scale mixture")
        assert head["theory"]["k_eps(0.1)"]["source"].startswith("simulated")


def test_table_prints_heads_and_the_unit(arrays, capsys):
    assert main(["measure", arrays["Q"], arrays["K"], arrays["V"], "--head-theory", "none"]) == 0
    text = capsys.readouterr().out
    assert "per head" in text and "best model per head" in text and "relative Frobenius error" in text


def test_bad_head_theory_exits_2(arrays, capsys):
    with pytest.raises(SystemExit) as e:
        main(["measure", arrays["Q"], arrays["K"], "--head-theory", "asymptotic"])
    assert e.value.code == 2 and "--head-theory" in capsys.readouterr().err
