"""``attnsparse plot-bound``: files written, the exact curve is 1 - Phi(x/sigma)^n, bad input is refused."""

import pytest
from scipy.stats import norm

from attnsparse.cmd_plot_bound import default_axis, plot_bound
from attnsparse.commands import UsageError
from attnsparse.proofs.catalogue import claims, get


def test_plot_bound_writes_png_and_pdf_with_bound_above_exact(tmp_path):
    c = get("bounds.max_logit_chernoff")  # check point n = 8, sigma = 1
    paths, rows = plot_bound(c, str(tmp_path / "fig"), points=3, samples=2000, seed=1)
    assert [p.rsplit(".", 1)[1] for p in paths] == ["png", "pdf"]
    assert all((tmp_path / f"fig.{e}").stat().st_size > 1000 for e in ("png", "pdf"))
    for r in rows:  # exact value by scipy, independent of the claim's evaluation
        assert r["exact"] == pytest.approx(1 - norm.cdf(r["x"]) ** 8, rel=1e-9)
        assert r["bound"] >= r["exact"] and 0 <= r["lo"] <= r["estimate"] <= r["hi"]


def test_plot_bound_refuses_a_non_bound_claim_and_a_bad_axis(tmp_path):
    equal = next(c for c in claims() if c.rel == "==")
    with pytest.raises(UsageError, match="not a bound"):
        plot_bound(equal, str(tmp_path / "f"))
    with pytest.raises(UsageError, match="--x zz: not a parameter"):
        default_axis(get("bounds.max_logit_chernoff"), "zz")
