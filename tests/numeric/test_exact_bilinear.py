"""E8 above 13 digits: the mp chi-square mixture route against an independent reference.

The reference (written here) takes a different outer variable and rule: with ``y = chi2_d / 2``
(a Gamma(d/2) variable) and ``v = ln y`` the mixture is ``int e^{a v - e^v} / Gamma(a) g(tau(v)) dv``,
``a = d/2``, ``tau = sigma sqrt(2 e^v / d)``, integrated by composite Gauss-Legendre on unit pieces in
``v`` (the integrand is analytic for ``|Im v| < pi/2``: ``g`` is analytic in ``tau^2`` for
``Re tau^2 > 0``; 24 points per piece give 30 digits on the closed-form mixture of the first test).
The IID values come from the public, separately tested E1 evaluator ``eval_ipr`` at the digits each
node's weight needs. The
route under test uses the normal score ``z`` of the chi-square variable, a trapezoidal rule, an mp
chi-square quantile and its own node evaluators (lattice or direct trapezoid sums).
"""

from __future__ import annotations

import math
import time

import mpmath as mp
import pytest

from attnsparse.numeric import exact as X
from attnsparse.numeric.exact import _mixture_mp as MM
from attnsparse.numeric.quadrature import PrecisionError, gauss_legendre_mp


def _ipr_node(n):
    """``g(tau)`` to ``need`` digits by the public E1 evaluators (the lattice at the exact mpf tau above 13)."""
    def g(c, tau, need):
        if need <= 13:
            return c.mpf(float(X.eval_ipr(max(need, 6), n, float(tau))))
        return X._confirmed(lambda be, lev: X._moment(be, lev, n, tau if be.kind == "mp" else float(tau), 2),
                            min(need, 60), "reference node")
    return g


def _reference_ipr(dps, n, d, sigma, g=None, V=None):
    """The bilinear IPR (or the mixture of ``g(ctx, tau, digits)``, ``0 <= g <= 1``, of size about ``V``) by
    Gauss-Legendre in ``v = ln(chi2_d / 2)`` (see the module docstring)."""
    c = mp.mp.clone()
    c.dps = dps + 10
    a = c.mpf(d) / 2
    lga = c.loggamma(a)
    g = _ipr_node(n) if g is None else g
    V = float(X.eval_bilinear(8, "ipr", n, d, sigma)) if V is None else V  # the scale for the node digits only
    total = c.zero
    v_lo = -((dps + 4) * math.log(10) + 2 * math.log(n)) / float(a) - 1  # e^{a v} below 10^-(dps+4) / n^2
    v_hi = math.log((dps + 4) * math.log(10) + 60)  # e^{-e^v} below 10^-(dps+4) e^{-60}
    pieces = [(v_lo + i, v_lo + i + 1) for i in range(int(math.ceil(v_hi - v_lo)))]
    for lo, hi in pieces:
        # the largest weight on the piece decides its order and every node's digits (g <= 1)
        vmax = min(max(math.log(float(a)), lo), hi)
        wmax = math.exp(float(a) * vmax - math.exp(vmax) - float(lga))
        rel = wmax / V
        if rel < 10.0 ** -(dps + 3):
            continue
        m = 24 if rel > 1e-8 else 16  # measured on the closed-form mixture: (16, 9) erred by 4e-23
        gx, gw = gauss_legendre_mp(m, dps + 10)
        for x, w in zip(gx, gw):
            v = c.mpf(lo) + (c.mpf(x) + 1) / 2
            wt = c.exp(a * v - c.exp(v) - lga) / 2 * w
            tau = c.mpf(sigma) * c.sqrt(2 * c.exp(v) / d)
            need = int(math.ceil(dps + 3 + math.log10(max(float(wt) / V, 1e-300))))
            total += wt * g(c, tau, need)
    return total


def test_reference_and_route_integrate_a_closed_form_mixture():  # ~1 s
    # g(tau) = e^{-tau^2}: E e^{-sigma^2 chi2_d / d} = (1 + 2 sigma^2/d)^{-d/2}; both outer rules (the
    # reference's Gauss-Legendre in ln(chi2/2), the route's trapezoid in z) must give 30 digits
    d, s = 8, 1.5
    with mp.workdps(50):
        exact = (1 + 2 * mp.mpf(s) ** 2 / d) ** (-mp.mpf(d) / 2)
    ref = _reference_ipr(30, 128, d, s, g=lambda c, tau, need: c.exp(-tau * tau), V=float(exact))
    assert abs(ref - exact) <= 1e-31 * exact
    from attnsparse.numeric.exact._backend import _Backend

    orig = MM.node_value
    try:
        MM.node_value = lambda ctx, what, n, tau, digits, shifted: ctx.exp(-tau * tau)
        fl = dict(MM._IID_FUNCTIONALS)
        MM._IID_FUNCTIONALS["ipr"] = lambda be, lev, n, t: math.exp(-t * t)
        v = MM.bilinear_mp(_Backend("mp", 35), 5, "ipr", 128, d, s, {})
    finally:
        MM.node_value = orig
        MM._IID_FUNCTIONALS.update(fl)
    assert abs(v - exact) <= 1e-31 * exact


def test_direct_node_route_matches_the_lattice():  # ~2 s
    # the small-tau node route (trapezoid sums in t and x, the moment series for small u) against the
    # confirmed E1 lattice route at tau = 0.2, 18 digits
    c = mp.mp.clone()
    c.dps = 30
    for what, ref in (("ipr", X.eval_ipr(18, 128, 0.2)), ("entropy", X.eval_entropy(18, 128, 0.2))):
        v = MM._direct(c, what, 128, c.mpf(0.2), 18, False)
        assert abs(v - ref) <= 1e-17 * abs(ref), (what, v, ref)


def test_direct_node_route_negative_control():
    # a t-step 4x too coarse must miss 18 digits (the test above can fail)
    c = mp.mp.clone()
    c.dps = 30
    ref = X.eval_ipr(18, 128, 0.2)
    v = MM._direct(c, "ipr", 128, c.mpf(0.2), 3, False)  # steps chosen for 3 digits
    assert abs(v - ref) > 1e-17 * abs(ref)


def test_chi2_quantile_mp_inverts_the_distribution():
    c = mp.mp.clone()
    c.dps = 45
    for d, z in ((8, -9.0), (8, -1.3), (8, 0.0), (16, 2.7), (2, 7.5)):
        r = MM.chi2_quantile_mp(c, d, z)
        tail = c.gammainc(c.mpf(d) / 2, 0, r / 2, regularized=True) if z < 0 else \
            c.gammainc(c.mpf(d) / 2, r / 2, c.inf, regularized=True)
        target = c.ncdf(-abs(c.mpf(z)))
        assert abs(tail - target) <= c.mpf(10) ** -40 * target


def test_bilinear_route_limits_name_the_largest_dps():
    with pytest.raises(PrecisionError, match="the largest dps this route delivers is 30"):
        X.eval_bilinear(31, "ipr", 128, 8, 1.5)
    with pytest.raises(PrecisionError, match="the largest dps this route delivers is 20"):
        X.eval_bilinear(21, "max_weight", 128, 8, 1.5)
    with pytest.raises(PrecisionError, match="the largest dps this route delivers is 20"):
        X.eval_bilinear(30, "max_weight", 1024, 32, 3.0)


# ----------------------------------------------------------------------------- max weight above 13 digits
def _max_weight_n2_2d(dps, d, sigma):
    """The bilinear ``E p_(1)`` at ``n = 2`` as one two-dimensional mpmath integral (tanh-sinh in ``r`` and
    ``z``): ``r ~ chi2_d`` by its density, ``tau = sigma sqrt(r/d)``, and given ``tau`` the IID value
    ``E[1/(1 + e^{-tau sqrt 2 |Z|})] = 2 int_0^inf phi(z)/(1 + e^{-sqrt 2 tau z}) dz``. Returns (value,
    error estimate)."""
    with mp.workdps(dps + 6):
        a = mp.mpf(d) / 2
        lnorm = a * mp.log(2) + mp.loggamma(a)
        s, r2 = mp.mpf(sigma), mp.sqrt(2)

        def f(r, z):
            tau = s * mp.sqrt(r / d)
            return mp.exp((a - 1) * mp.log(r) - r / 2 - lnorm - z * z / 2) / (1 + mp.exp(-r2 * tau * z))

        r_pts = [0] + [d * mp.mpf(x) for x in (0.125, 0.5, 1, 2, 4)] + [mp.inf]
        v, err = mp.quad(f, r_pts, [0, mp.mpf(0.25), 1, 3, mp.inf], error=True)
        return +(2 * v / mp.sqrt(2 * mp.pi)), err


@pytest.mark.slow
def test_bilinear_max_weight_n2_matches_a_2d_integral():  # ~2 min: route 12 s, each reference ~50 s
    # (2) the route (normal-score trapezoid, mp chi-square quantile, confirmation) at 20 digits against
    # a two-dimensional tanh-sinh integral in (r, z); (3) the same check with d off by one must fail
    v = X.eval_bilinear(20, "max_weight", 2, 8, 1.5)
    assert v.digits == 20
    ref, err = _max_weight_n2_2d(22, 8, 1.5)
    assert err < 1e-24
    assert abs(v - ref) <= mp.mpf(10) ** -20 * ref, (v, mp.nstr(ref, 24))
    off, _ = _max_weight_n2_2d(22, 9, 1.5)
    assert abs(v - off) > mp.mpf(10) ** -12 * off


def test_max_weight_n2_node_matches_the_e4_lattice():  # ~3 s
    # the n = 2 node (a one-dimensional tanh-sinh integral) against the E4 lattice at 24 digits
    from attnsparse.numeric.exact._backend import _Backend

    c = mp.mp.clone()
    c.dps = 40
    for tau in (1.0, 2.0):
        lat = X._topk_lattice(_Backend("mp", 27), MM._inner_level_e4(24, 2, tau), 2, c.mpf(tau), 1)
        assert abs(MM._max_weight_n2(c, c.mpf(tau), 24) - lat) <= 1e-24 * lat, tau


@pytest.mark.parametrize("n, tau, digits", [(128, 2.0, 12),
                                            pytest.param(1024, 1.0, 12, marks=pytest.mark.slow),
                                            pytest.param(16, 2.0, 20, marks=pytest.mark.slow)])
def test_inner_level_e4_gives_the_digits(n, tau, digits):  # ~35 s in all
    # the level the measured E4 rate picks agrees with the next level to the digits asked (so its
    # error is below them); two levels coarser it must not (the rate is not loose by a factor 4)
    from attnsparse.numeric.exact._backend import _Backend

    be = _Backend("mp", digits + 3)
    lev = MM._inner_level_e4(digits, n, tau)
    v, finer, coarse = (X._topk_lattice(be, lv, n, mp.mpf(tau), 1) for lv in (lev, lev + 1, lev - 2))
    assert abs(v - finer) <= mp.mpf(10) ** -digits * finer
    assert abs(coarse - finer) > mp.mpf(10) ** -digits * finer


def test_max_weight_small_tau_node_is_refused():
    # below TAU_E4_MIN a node that needs more than the float route's digits has no evaluator
    c = mp.mp.clone()
    c.dps = 30
    with pytest.raises(PrecisionError, match="the largest dps this route delivers at this"):
        MM.node_value(c, "max_weight", 128, c.mpf(0.05), 14, False)
    # and the mixture refuses before any lattice node: at d = 8, sigma = 1.5 the nodes near z = -5.5
    # (tau ~ 0.08) need 13-14 digits at dps 14
    t0 = time.time()
    with pytest.raises(PrecisionError, match="the largest dps this route delivers at this .* is 13"):
        X.eval_bilinear(14, "max_weight", 128, 8, 1.5)
    assert time.time() - t0 < 5


@pytest.mark.slow
@pytest.mark.parametrize("n, d, sigma", [(2, 8, 1.5), (16, 256, 1.0)])
def test_bilinear_max_weight_matches_float_route(n, d, sigma):  # n = 2: 12 s, n = 16: ~1-2 min
    # (1) the mp route at 14 digits (E4 lattice nodes, n = 2: the 1-d node) against the float route
    # (tanh-sinh and Gauss-Legendre gap sums at every node) to 12 digits; (3) the float route with d off
    # by one must miss 12 digits
    v = X.eval_bilinear(14, "max_weight", n, d, sigma)
    f = X.eval_bilinear(13, "max_weight", n, d, sigma)
    assert abs(v - f) <= 1e-12 * f, (v, f)
    off = X.eval_bilinear(12, "max_weight", n, d + 1, sigma)
    assert abs(v - off) > 1e-12 * off


@pytest.mark.slow
@pytest.mark.parametrize("dps, n, d, sigma", [(20, 128, 8, 1.5)])
def test_bilinear_mp_route_matches_reference(dps, n, d, sigma):  # the catalogue point: a few minutes
    v = X.eval_bilinear(dps, "ipr", n, d, sigma)
    assert v.digits == dps
    ref = _reference_ipr(dps, n, d, sigma)
    assert abs(v - ref) <= mp.mpf(10) ** -(dps - 1) * ref, (v, mp.nstr(ref, dps + 3))
