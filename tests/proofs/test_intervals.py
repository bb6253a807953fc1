"""Interval checks of derivation steps use a private interval context (no global precision)."""

import mpmath as mp
import sympy as sp

from attnsparse.numeric.intervals import endpoints, interval_context, monotone
from attnsparse.proofs.derivation import Derivation


def test_a_private_context_leaves_the_global_one_alone():
    before = mp.iv.prec
    ctx = interval_context(300)
    assert ctx.prec == 300 and mp.iv.prec == before
    ctx.prec = 120
    assert mp.iv.prec == before


def test_monotone_encloses_the_function_on_the_interval():
    ctx = interval_context(100)
    lo, hi = endpoints(monotone(ctx, mp.erf, True)(ctx.mpf([0.5, 1.5])))
    with mp.workprec(200):  # compare with values more precise than the enclosure
        assert lo <= mp.erf(mp.mpf(0.5)) and hi >= mp.erf(mp.mpf(1.5)) and hi - lo < 1


def test_a_box_check_does_not_touch_mp_iv_prec():
    t = sp.Symbol("t", positive=True)
    D = Derivation("log(1 + t) <= t")
    D.step(sp.log(1 + t), "definition")
    D.step(t, "concavity", rel="<=")
    D.box(t=(0.1, 2))
    before = mp.iv.prec
    out = D.check()
    assert mp.iv.prec == before
    assert out.ok and "proved" in out.steps[0].detail, out.text()


def _one_step(title, left, right, rel, **box):
    D = Derivation(title)
    D.step(left, "definition")
    D.step(right, "claimed", rel=rel)
    D.box(**box)
    return D.check().steps[0]


def test_a_box_failure_is_reported_only_at_a_confirmed_counterexample():
    # (n-1)(n-2) >= 0 holds at every integer; its real relaxation dips below 0 on (1, 2), where the
    # interval bisection finds an excluded sub-box; rounded to the integer n = 2 its midpoint is no
    # counterexample, so the step stays verified (by random points) and the box note says why
    n = sp.Symbol("n", integer=True, positive=True)
    s = _one_step("(n-1)(n-2) >= 0", sp.Integer(0), (n - 1) * (n - 2), "<=", n=(1, 3))
    assert s.status == "verified" and "no counterexample" in s.detail


def test_a_box_point_outside_the_symbols_own_assumptions_is_no_counterexample():
    # 1 <= n fails on the real box [0, 2] near 0, but n is a positive integer: no admissible point fails
    n = sp.Symbol("n", integer=True, positive=True)
    s = _one_step("1 <= n", sp.Integer(1), n, "<=", n=(0, 2))
    assert s.status == "verified" and "no counterexample" in s.detail


def test_a_real_box_failure_that_random_points_miss_is_still_found():
    # negative control for the two tests above: the gap is negative only for |x - 1/3| < 1e-3, which
    # the random points miss; the box bisection finds it and its midpoint confirms it
    x = sp.Symbol("x", real=True)
    s = _one_step("narrow dip", sp.Integer(0), (x - sp.Rational(1, 3)) ** 2 - sp.Rational(1, 10**6), "<=", x=(0, 1))
    assert s.status == "failed" and "interval arithmetic on box" in s.method
    assert abs(float(s.counterexample["x"]) - 1 / 3) < 1e-3 and float(s.values[1]) < 0
