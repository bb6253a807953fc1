"""Certified values (numeric/exact/_certified.py): arb enclosures at n = 2.

The references are mpmath tanh-sinh quadratures of the defining two-key expectations over the whole
real line (a different rule, no balls), at 20 more digits than the enclosure is checked to.
"""

import mpmath as mp
import pytest

from attnsparse.numeric import exact as X
from attnsparse.numeric.exact import _certified as C

pytestmark = pytest.mark.skipif(not C.available(), reason="python-flint is not installed (extra 'fast'): "
                                                          "no certified route to test")


def _reference(what, sigma, k, dps):
    """``E f(p_1, p_2)`` for two iid N(0, sigma^2) logits: ``z = (X1 - X2)/sqrt 2`` standard normal."""
    with mp.workdps(dps):
        a = mp.mpf(sigma) * mp.sqrt(2)

        def f(z):
            p = 1 / (1 + mp.exp(-a * z))
            g = max(p, 1 - p) if what == "max_weight" else p ** k + (1 - p) ** k
            return mp.npdf(z) * g

        return mp.quad(f, [-mp.inf, -4, -1, 0, 1, 4, mp.inf])


@pytest.mark.parametrize("what, sigma, k", [("moment", 1.7, 2), ("moment", 0.3, 3), ("moment", 6.0, 5),
                                            ("max_weight", 1.7, 1), ("max_weight", 12.0, 1)])
def test_enclosure_contains_independent_value_and_is_narrower_than_the_last_digit(what, sigma, k):
    dps = 40
    mid, rad = C.ball_n2(dps, what, sigma, k)
    ref = _reference(what, sigma, k, dps + 20)
    with mp.workdps(dps + 20):
        assert abs(ref - mid) <= rad, (mid, rad, ref)
        assert rad <= mp.mpf(10) ** -dps * ref / 2


def test_public_evaluators_return_certified_values_at_n_two():
    v = X.eval_ipr(50, 2, 2.5)
    w = X.eval_max_weight(30, 2, 2.5)
    assert v.how == "certified" and v.digits == 50 and v.stamp == "50 digits, certified (rigorous enclosure)"
    assert w.how == "certified" and w.digits == 30
    with mp.workdps(70):
        assert abs(v - _reference("moment", 2.5, 2, 70)) <= mp.mpf(10) ** -50 * v
        assert abs(w - _reference("max_weight", 2.5, 1, 70)) <= mp.mpf(10) ** -30 * w


def test_a_wrong_integrand_is_not_enclosing():
    # the enclosure is tight: the order-3 ball does not contain the order-2 reference
    mid, rad = C.ball_n2(30, "moment", 1.7, 3)
    with mp.workdps(50):
        assert abs(_reference("moment", 1.7, 2, 50) - mid) > 1000 * rad


def test_without_flint_the_confirmed_route_serves_n_two(monkeypatch):
    monkeypatch.setattr(C, "_flint", None)
    v = X.eval_ipr(12, 2, 1.7)
    assert v.how == "confirmed" and abs(v - _reference("moment", 1.7, 2, 30)) <= 1e-12 * v


def test_other_n_and_non_integer_orders_stay_confirmed():
    assert X.eval_ipr(12, 3, 1.7).how == "confirmed"
    assert X.eval_moment(12, 2, 1.7, 2.5).how == "confirmed"
