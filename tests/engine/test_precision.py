"""Theory values: confirmed at two precisions; quadrature that survives PITFALLS 5-8."""

import mpmath as mp
import pytest
import sympy as sp

from attnsparse.numeric.precision import PrecisionError, eval_confirmed, quad_confirmed


def test_rational_and_float_constants_survive_at_50_digits():
    x = sp.Symbol("x", positive=True)
    v = eval_confirmed(x / 3 + sp.Float("0.1", 60), {x: sp.Integer(1)}, dps=50)
    with mp.workdps(50):
        assert abs(v - (mp.mpf(1) / 3 + mp.mpf("0.1"))) < mp.mpf(10) ** -48


def test_global_precision_is_untouched():
    before = mp.mp.dps
    eval_confirmed(sp.pi, {}, dps=80)
    assert mp.mp.dps == before


def test_quadrature_finds_mass_far_from_zero_when_told_where_it_is():
    # PITFALLS 5: the N(200, 1) density, integrated over the real line
    def pdf(z):
        return mp.npdf(z, 200, 1)

    with mp.workdps(30):
        v = quad_confirmed(pdf, [-mp.inf, 195, 200, 205, mp.inf], 25)
        assert abs(v - 1) < mp.mpf(10) ** -23


def test_quadrature_keeps_relative_accuracy_for_tiny_integrals():
    # mpmath's quad stops on an absolute error estimate; a 1e-40-scaled density must
    # still come out to 25 relative digits
    with mp.workdps(40):
        v = quad_confirmed(lambda z: mp.mpf(10) ** -40 * mp.npdf(z), [-mp.inf, 0, mp.inf], 25)
        assert abs(v / mp.mpf(10) ** -40 - 1) < mp.mpf(10) ** -23


def test_unconfirmable_quadrature_raises():
    # an integrand with a jump the split points do not know about
    with pytest.raises(PrecisionError):
        quad_confirmed(lambda z: mp.sign(z - mp.mpf(1) / 3) + mp.sin(50 * z), [0, 1], 40)


def test_non_finite_theory_raises():
    x = sp.Symbol("x", real=True)
    with pytest.raises(ValueError, match="finite real"):
        eval_confirmed(1 / x, {x: 0}, dps=20)
    with pytest.raises(ValueError, match="finite real"):
        eval_confirmed(sp.sqrt(x), {x: -1}, dps=20)


@pytest.mark.parametrize("dps", [0, 4, 2.5, "30"])
def test_bad_dps(dps):
    with pytest.raises(ValueError, match="dps"):
        eval_confirmed(sp.Integer(1), {}, dps=dps)
