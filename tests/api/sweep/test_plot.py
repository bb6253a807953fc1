"""Plots of a finished sweep, and the tilting prediction used as theory overlay."""

import os

import mpmath
import pytest

from attnsparse.cli import main
from attnsparse.sweep import load_sweep
from attnsparse.sweep.plot import theory_overlay, tilting_tail_mass, tilting_topk_mass


def naive_tilting_tail(n, sigma, k, dps=50):
    """Phi(Phibar^{-1}(k/n) - sigma) at high precision (reference)."""
    with mpmath.workdps(dps):
        z = -mpmath.sqrt(2) * mpmath.erfinv(2 * mpmath.mpf(k) / n - 1)  # Phibar^{-1}(k/n)
        return mpmath.ncdf(z - sigma)


@pytest.mark.parametrize("n,sigma,k", [(1024, 2.6, 64), (2**20, 5.3, 4096), (2**20, 0.5, 1),
                                       (2**26, 12.0, 2**20), (50, 0.0, 10)])
def test_tilting_tail_mass_matches_high_precision(n, sigma, k):
    got = float(tilting_tail_mass(n, sigma, k))
    want = float(naive_tilting_tail(n, sigma, k))
    assert got == pytest.approx(want, rel=1e-9)
    assert float(tilting_topk_mass(n, sigma, k)) == pytest.approx(1 - want, rel=1e-9, abs=1e-15)


def test_tilting_tail_mass_edges_and_bad_input():
    assert float(tilting_tail_mass(100, 3.0, 100)) == 0.0 and float(tilting_tail_mass(100, 3.0, 0)) == 1.0
    with pytest.raises(ValueError, match="0 <= k <= n"):
        tilting_tail_mass(100, 1.0, 101)


def test_plot_of_a_finished_sweep(small_reference, tmp_path, capsys):
    spec_path, store, _ = small_reference
    res = load_sweep(store)
    assert theory_overlay(res, "tau") is not None and theory_overlay(res, "p1") is None
    prefix = str(tmp_path / "fig")
    assert main(["plot", store, "--out", prefix]) == 0
    with open(prefix + ".png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with open(prefix + ".pdf", "rb") as f:
        assert f.read(5) == b"%PDF-"
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")]
    assert main(["plot", str(tmp_path / "nowhere")]) == 2
    assert "neither a sweep store folder nor a spec file" in capsys.readouterr().err


def test_plot_refuses_an_unfinished_sweep(small_reference, tmp_path, capsys):
    import shutil

    store = str(tmp_path / "store")
    shutil.copytree(small_reference[1], store)
    os.unlink(os.path.join(store, "points", sorted(os.listdir(os.path.join(store, "points")))[0]))
    assert main(["plot", store]) == 2
    assert "not finished: 1 of 12 points missing" in capsys.readouterr().err
    assert main(["plot", store, "--partial", "--out", str(tmp_path / "p")]) == 0
