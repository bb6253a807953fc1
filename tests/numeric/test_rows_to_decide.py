"""The 'what would decide it' tail of an inconclusive reason (numeric/reasons.py), by hand-worked cases."""

import math

import pytest

from attnsparse.numeric import config
from attnsparse.numeric import reasons as C
from attnsparse.numeric.design import WidthLaw

#: the 1/sqrt(rows) law of an asymptotic check; calibration to the interval removes its scale
SQRT_LAW = WidthLaw("asymptotic", 1.0, 0.05)


@pytest.mark.parametrize("est, ci, theory, rel, tol, want", [
    # half-width 0.1, nearer edge 0.05 away (the band's edge): (0.1 / 0.05)^2 = 4 times the rows
    (1.0, (0.9, 1.1), 1.0, "==", 0.05, 4000),
    (1.0, (0.9, 1.1), 1.0, "approx", 0.05, 4000),
    # refuting side: the estimate 0.2 off a band of 0.05, interval half-width 0.3 -> (0.3/0.15)^2
    (1.2, (0.9, 1.5), 1.0, "approx", 0.05, 4000),
    (1.0, (-math.inf, 1.1), 1.05, "<=", 0.0, 4000),
    (1.0, (0.9, math.inf), 0.95, ">=", 0.0, 4000),
    # already narrow enough: at least the next look
    (1.0, (0.99, 1.01), 1.0, "==", 0.05, 2000),
])
def test_rows_to_decide(est, ci, theory, rel, tol, want):
    assert math.isclose(C.rows_to_decide(est, ci, theory, rel, tol, 1000, SQRT_LAW), want, rel_tol=1e-9)


def test_no_estimate_without_a_finite_interval_or_a_distance():
    assert C.rows_to_decide(1.0, (-math.inf, math.inf), 1.0, "==", 0.1, 1000, SQRT_LAW) is None
    assert C.rows_to_decide(1.5, (1.0, 2.0), 1.0, "approx", 0.5, 1000, SQRT_LAW) is None  # on the band's edge


def test_about_prints_two_or_three_significant_digits():
    assert [C.about(x) for x in (0.0123, 12.3, 999, 1234, 350e3, 1.1e6, 2.04e9)] == [
        "0.012", "12", "999", "1.2 k", "350 k", "1.1 M", "2.0 G"]


def test_the_advice_names_the_effort_that_fits():
    quick = dict(config.EFFORT["quick"])
    out = C.what_would_decide(1.0, (0.9, 1.1), 1.0, "==", 0.05, 1000, 1e-6, quick, SQRT_LAW)
    assert out == "; needs about 4.0 k rows (about 0.004 s at the measured speed): run with effort='full'"
    out = C.what_would_decide(1.0, (0.9, 1.1), 1.0, "==", 1e-5, 1000, 1e-6, quick, SQRT_LAW)
    assert "beyond that" in out
