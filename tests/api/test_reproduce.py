"""`attnsparse reproduce --quick`: the report folder is complete and its numbers hang together."""

import json
import math

from attnsparse.cli import main
from attnsparse.reproduce import LABEL, reproduce


def test_quick_report_is_complete_and_consistent(tmp_path):
    data = reproduce(str(tmp_path), "quick", seed=0, progress_bar=False)
    names = {p.name for p in tmp_path.iterdir()}
    for fig in ("a_tail_mass", "b_phase_diagram", "c_adaptive_window"):
        assert {fig + ".png", fig + ".pdf"} <= names
        assert (tmp_path / (fig + ".png")).stat().st_size > 10_000
    assert not [n for n in names if n.startswith(".tmp-")]
    assert json.loads((tmp_path / "report.json").read_text()) == json.loads(json.dumps(data))
    assert "not the paper's" in LABEL and "**our reproduction**" in (tmp_path / "report.md").read_text()
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
