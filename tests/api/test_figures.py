"""Figure grids and styles: the critical window is sampled, every sweep series has its own style."""

from attnsparse.reproduce import CRITICAL_WINDOW, curve_ratios, phase_ratios
from attnsparse.sweep.plot import series_style


def test_phase_grid_samples_the_critical_window():
    lo, hi = CRITICAL_WINDOW
    for points in (7, 13):
        inside = [r for r in phase_ratios(points) if lo <= r <= hi]
        assert len(inside) >= 6, inside  # the old 7-point grid had none inside
    dense = curve_ratios(24)
    assert len([r for r in dense if lo <= r <= hi]) >= 13
    assert max(b - a for a, b in zip(dense, dense[1:])) < 0.1


def test_sweep_series_styles_are_distinct():
    colours = [f"C{i}" for i in range(10)]
    styles = [series_style(i, colours) for i in range(40)]
    assert len(set(styles)) == 40
    # the case of the issue: 11 series on a 10-colour cycle
    assert styles[0] != styles[10] and styles[0][0] == styles[10][0]
