"""Inequality steps without a box: interval branch-and-bound on the stated domain (issue 13.3).

The random points of a positive symbol land in (0.05, 3]; the false steps below fail only
beyond that, so only the whole-domain pass can catch them.
"""

import time

import sympy as sp

from attnsparse.proofs import stepcheck
from attnsparse.proofs.derivation import Derivation

x = sp.Symbol("x", positive=True)
y = sp.Symbol("y", real=True)


def _check(lhs, rhs, rel="<=", assumptions=()):
    D = Derivation(f"{lhs} {rel} {rhs}", assumptions=list(assumptions))
    D.step(lhs, "start")
    D.step(rhs, "claim", rel=rel)
    return D.check().steps[0]


def test_a_true_inequality_is_proved_on_the_compactified_half_line():
    s = _check(x / (1 + x), sp.Integer(1))
    assert s.status == "verified" and "branch-and-bound" in s.method, s.text()
    assert "proved on the whole domain {x in [0, oo)} (compactified)" in s.detail, s.text()


def test_a_true_inequality_is_proved_on_the_compactified_real_line():
    # 2y/(1+y^2) <= 1 is (y-1)^2 >= 0: a double root at y = 1, decided by the factored numerator
    s = _check(2 * y / (1 + y**2), sp.Integer(1))
    assert s.status == "verified" and "proved on the whole domain {y in (-oo, oo)}" in s.detail, s.text()


def test_a_wrong_constant_failing_only_at_large_x_is_caught_with_a_counterexample():
    s = _check(x**2, 50 * x + 1)  # false for x > 50.02, far beyond the random points
    assert s.status == "failed" and "branch-and-bound" in s.method, s.text()
    cx = float(s.counterexample["x"])
    assert cx > 3 and cx**2 > 50 * cx + 1, s.text()  # checked here in plain floats


def test_negative_control_random_points_alone_miss_the_wrong_constant(monkeypatch):
    monkeypatch.setattr(stepcheck, "WHOLE_OPS", -1)  # no gap qualifies: the random pass only
    s = _check(x**2, 50 * x + 1)
    assert s.status == "verified" and "random points only" in s.detail, s.text()
    assert "branch-and-bound" not in s.method, s.text()


def test_a_user_box_replaces_the_whole_domain_pass():
    D = Derivation("x^2 <= 50 x + 1")
    D.step(x**2, "start")
    D.step(50 * x + 1, "claim", rel="<=")
    D.box(x=(0, 3))  # the step is true on this box: the check states only that
    s = D.check().steps[0]
    assert s.status == "verified" and "box {x in [0, 3]}" in s.detail and "whole domain" not in s.detail, s.text()


def test_a_relational_assumption_bounds_the_domain():
    s = _check(x**2, 50 * x + 1, assumptions=[x < 50])  # true for 0 < x < 50
    assert s.status == "verified" and "proved on the whole domain {x in [0, 50]}" in s.detail, s.text()
    s = _check(x**2, 50 * x + 1, assumptions=[x < 51])  # false on (50.02, 51)
    assert s.status == "failed" and 50.02 < float(s.counterexample["x"]) < 51, s.text()


def test_when_only_a_cut_box_is_proved_the_tail_is_reported_unchecked():
    # log x <= x/3 + 1 holds for all x > 0, but log(t/(1-t)) has no enclosure at t = 1
    s = _check(sp.log(x), x / 3 + 1)
    assert s.status == "verified", s.text()
    assert "proved on {x in [0, 100]} only" in s.detail and "only random points" in s.detail, s.text()
    assert "whole domain" not in s.detail, s.text()


def test_an_undecidable_step_stays_random_points_only_within_the_budget():
    # log(1 + x) <= x touches at x = 0: plain enclosures never decide the sub-box there
    t0 = time.monotonic()
    s = _check(sp.log(1 + x), x)
    assert time.monotonic() - t0 < 2 + 4 * stepcheck.WHOLE_SECONDS, s.text()
    assert s.status == "verified" and s.detail.startswith("random points only"), s.text()
    assert "proved" not in s.detail.replace("not proved", ""), s.text()


def test_a_rational_constant_enters_the_enclosure_exactly():
    # 1/3 - y > 0 at y = float(1/3) (0.33333333333333331483...): lambdify alone prints 1/3 as that float
    from attnsparse.proofs.branchbound import interval_sign
    y0 = 1 / 3
    assert sp.Rational(1, 3) - sp.Rational(y0) > 0  # the fact, in exact rationals
    verdict, _ = interval_sign(sp.Rational(1, 3) - y, {y: (y0, y0)}, True, 50)
    assert verdict == "proved"
    f = sp.lambdify([y], sp.Rational(1, 3) - y)  # the control: float printing makes the gap 0
    assert f(y0) == 0


def test_an_irrational_bound_from_an_assumption_is_enclosed():
    s = _check(x**2, sp.Integer(3), assumptions=[x < sp.sqrt(2)])  # x^2 < 2 <= 3 there
    assert s.status == "verified" and "proved on the whole domain {x in [0, sqrt(2)]}" in s.detail, s.text()
    s = _check(x**2, sp.Integer(1), assumptions=[x < sp.sqrt(2)])  # false on (1, sqrt 2)
    assert s.status == "failed" and 1 < float(s.counterexample["x"]) ** 2 < 2, s.text()


def test_a_sub_box_is_no_counterexample_when_an_assumption_couples_another_symbol():
    # the gap is in x only; x < z ties x to z, which the gap lacks: no point is confirmed
    z = sp.Symbol("z", positive=True)
    D = Derivation("x^2 <= 50 x + 1 for x < z < 3", assumptions=[x < z, z < 3])
    D.step(x**2 + 0 * z, "start")
    D.step(50 * x + 1, "claim", rel="<=")
    s = D.check().steps[0]
    assert s.status == "verified" and s.detail.startswith("random points only"), s.text()
