"""``E k_eps`` by Laplace inversion (numeric/exact/_keps.py, issue 12).

References independent of the route:

* n = 2 and 3, exact combinatorial forms: ``k_eps >= k`` iff ``tau(k - 1) > eps``, so
  ``E k_eps = 1 + P(p_(1) < 1 - eps) + P(p_(3) > eps)`` at n = 3 (``1 + P(p_(2) > eps)`` at n = 2),
  each probability a one- or two-fold Gaussian integral with closed-form inner ``Phi``
  (mpmath ``quad`` at 16 digits, split where the inner range ends);
* simulation: the mean ``k_eps`` of 20 000 simulated IID rows (the kernels' ``stat.k_eps``, fixed
  seed) at high temperature, in the critical window and condensed; each comparison fails when
  ``|z| > 4.5`` (false-alarm level 7e-6 per comparison under a normal approximation; 6
  comparisons: family-wise < 5e-5; the critical point runs by default, the others with
  ``-m slow``, as do the costlier n = 2, 3 cases: an evaluation at 10 digits takes 15-35 s).
  The negative control applies the same check to the exact value at a perturbed ``eps`` and
  must fail.
"""

import math

import mpmath as mp
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import ndtr

from attnsparse.numeric import exact
from attnsparse.numeric.exact import _keps
from attnsparse.numeric.models import IIDLogits
from attnsparse.numeric.precision import PrecisionError
from attnsparse.numeric.simulate import simulate_stats
from attnsparse.numeric.statistics import stat

ROWS = 20_000
Z_MAX = 4.5


# ------------------------------------------------------------------ brute force at n = 2, 3
def _keps_n2(sigma, eps):
    """n = 2: ``E k_eps = 1 + P(p_(2) > eps) = 1 + P(|sigma (X_2 - X_1)| < ln((1-eps)/eps))``."""
    with mp.workdps(25):
        ell = mp.log((1 - mp.mpf(eps)) / eps) / (sigma * mp.sqrt(2))
        return 1 + max(mp.mpf(0), 2 * mp.ncdf(ell) - 1)


def _keps_n3(sigma, eps):
    """n = 3 (``eps < 1/3``): ``1 + P(p_(1) < 1 - eps) + P(p_(3) > eps)``; by symmetry each is 3 times
    the probability for entry 1 being the largest (smallest), integrated over ``X_1 = x``,
    ``X_2 = y`` with the inner ``X_3`` probability in closed form (nested adaptive QUADPACK,
    split where the inner range ends; absolute tolerance 1e-13)."""
    s, e = float(sigma), float(eps)
    lo_c, hi_c = e / (1 - e), (1 - e) / e
    opts = {"epsabs": 1e-13, "epsrel": 1e-12, "limit": 200}

    def Phi_diff(a, b):  # Phi(a) - Phi(b), a >= b, without cancellation in the upper tail
        return ndtr(-b) - ndtr(-a) if b > 0 else ndtr(a) - ndtr(b)

    def sum_below(c0):  # Q = P(e^{s X_2} + e^{s X_3} <= e^{s c0}), split at X_2 = X_3 = ystar (symmetry)
        ystar = c0 - math.log(2) / s

        def inner(y):  # X_3 between ystar and t(y) = c0 + ln(1 - e^{s(y - c0)})/s > ystar
            return _PHI(y) * Phi_diff(c0 + math.log1p(-math.exp(s * (y - c0))) / s, ystar)
        lo = min(-13.0, ystar - 3)  # phi(-13) < 1e-37
        return ndtr(ystar) ** 2 + 2 * (quad(inner, lo, ystar - 2, **opts)[0] + quad(inner, ystar - 2, ystar, **opts)[0])

    def top(x):  # P(X_2, X_3 < x, e^{s X_2} + e^{s X_3} > lo_c e^{s x}): lo_c < 1, so the complement is Q
        return _PHI(x) * (ndtr(x) ** 2 - sum_below(x + math.log(lo_c) / s))

    def bottom(x):  # P(X_2, X_3 > x, e^{s X_2} + e^{s X_3} < hi_c e^{s x})
        y1 = x + math.log(hi_c - 1) / s

        def inner(y):
            return _PHI(y) * Phi_diff(x + math.log(hi_c - math.exp(s * (y - x))) / s, x)
        return _PHI(x) * quad(inner, x, y1, **opts)[0]

    pts = [-12, -4, -2, 0, 2, 4, 12]
    total = 1.0
    for f in (top, bottom):
        total += 3 * sum(quad(f, a, b, **opts)[0] for a, b in zip(pts[:-1], pts[1:]))
    return total


def _PHI(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def test_n3_reference_matches_mpmath():
    """The n = 3 reference against mpmath ``quad`` at 25 digits of the unsplit two-fold integrals
    (``Phi(x) - Phi(t)`` inner form, run once: about 2 minutes a value)."""
    for (sigma, eps), want in [((1.0, 0.1), 2.58367714006483), ((4.0, 0.25), 1.25129100941057)]:
        assert abs(_keps_n3(sigma, eps) / want - 1) < 1e-13


def test_n3_reference_is_right_by_simulation():
    """The n = 3 reference itself against 20 000 simulated rows (|z| <= 4.5)."""
    sigma, eps = 1.5, 0.2
    ref = float(_keps_n3(sigma, eps))
    x = simulate_stats(IIDLogits(n=3, sigma=sigma), [stat.k_eps(eps)], ROWS, 11, {})[:, 0]
    assert abs(x.mean() - ref) / (x.std() / math.sqrt(ROWS)) <= Z_MAX


@pytest.mark.slow  # ~22 s a point: the default run keeps the simulation check and its negative control
@pytest.mark.parametrize("sigma, eps", [(2.0, 0.01), (0.5, 0.3), (6.0, 0.3)])
def test_n2_closed_form(sigma, eps):
    got = exact.eval_k_eps(10, 2, sigma, eps)
    want = _keps_n2(sigma, eps)
    assert abs(got / want - 1) < 1e-10


@pytest.mark.slow  # ~23 s a point
@pytest.mark.parametrize("sigma, eps", [(1.0, 0.1), (4.0, 0.25)])
def test_n3_brute_force(sigma, eps):
    got = exact.eval_k_eps(10, 3, sigma, eps)
    want = _keps_n3(sigma, eps)
    assert abs(got / want - 1) < 1e-10


# ------------------------------------------------------------------ simulation
#: (n, sigma, eps), all with n eps < 1: n = 64 has beta_c = 2.88: high temperature (0.35 beta_c),
#: critical (beta_c), condensed (1.7 beta_c); n = 8 (beta_c = 2.04) condensed at 2 beta_c; n = 512 at
#: 0.99 beta_c; n = 4096 condensed at 1.47 beta_c
POINTS = [pytest.param((64, 1.0, 0.01), marks=pytest.mark.slow), (64, 2.884, 0.01),
          pytest.param((64, 5.0, 0.01), marks=pytest.mark.slow), pytest.param((8, 4.0, 0.1), marks=pytest.mark.slow),
          pytest.param((512, 3.5, 0.001), marks=pytest.mark.slow),
          pytest.param((4096, 6.0, 0.0002), marks=pytest.mark.slow)]


def _simulated(n, sigma, eps, seed):
    x = simulate_stats(IIDLogits(n=n, sigma=sigma), [stat.k_eps(eps)], ROWS, seed, {})[:, 0]
    return x.mean(), x.std(ddof=1) / math.sqrt(ROWS)


@pytest.mark.parametrize("point", POINTS)
def test_against_simulation(point):
    n, sigma, eps = point
    mean, se = _simulated(n, sigma, eps, 2026)
    v = exact.eval_k_eps(5, n, sigma, eps)
    assert v.digits == 5 and isinstance(v, mp.mpf)  # the stamp: the digits asked for
    z = (mean - float(v)) / se
    assert abs(z) <= Z_MAX, f"z = {z:.2f}"


def test_negative_control_perturbed_eps_fails():
    """The same check with the exact value at eps = 0.013 instead of 0.01 must fail."""
    n, sigma = 64, 2.884
    mean, se = _simulated(n, sigma, 0.01, 2026)
    z = (mean - float(exact.eval_k_eps(5, n, sigma, 0.013))) / se
    assert abs(z) > Z_MAX


@pytest.mark.slow
def test_monotone_in_eps_and_bounds():
    """E k_eps decreases in eps and lies in [1, n] (the largest weight is always kept)."""
    vals = [float(exact.eval_k_eps(5, 16, 2.0, e)) for e in (0.01, 0.03, 0.06)]
    assert vals[0] > vals[1] > vals[2] >= 1
    assert vals[0] <= 16


# ------------------------------------------------------------------ input checks
@pytest.mark.parametrize("args, err, text", [
    ((13, 16, 1.0, 0.01), PrecisionError, "largest dps this route delivers is 12"),
    ((4, 16, 1.0, 0.01), ValueError, "dps must be"),
    ((5.0, 16, 1.0, 0.01), ValueError, "dps must be"),
    ((5, 1, 1.0, 0.01), ValueError, "n must be"),
    ((5, 16.0, 1.0, 0.01), ValueError, "n must be"),
    ((5, True, 1.0, 0.01), ValueError, "n must be"),
    ((5, 16, 0.0, 0.01), ValueError, "sigma must be"),
    ((5, 16, 0.01, 0.01), ValueError, "sigma must be a real number in [0.05, 30]"),
    ((5, 16, float("nan"), 0.01), ValueError, "sigma must be"),
    ((5, 16, "1", 0.01), TypeError, "sigma must be a real number"),
    ((5, 16, 1.0, 0.0), ValueError, "eps must be a real number in (0, 1)"),
    ((5, 16, 1.0, 1.0), ValueError, "eps must be a real number in (0, 1)"),
    ((5, 16, 1.0, float("nan")), ValueError, "eps must be"),
    ((5, 16, 1.0, 0.01 + 1j), TypeError, "eps must be real"),
    ((5, 16, 1.0, None), TypeError, "eps must be a real number"),
    ((5, 16, 1.0, 0.3), PrecisionError, "for n eps >= 1 this route needs eps <= 0.15"),
])
def test_bad_input(args, err, text):
    with pytest.raises(err) as info:
        exact.eval_k_eps(*args)
    assert text in str(info.value)


@pytest.mark.slow  # ~16 s; test_against_simulation checks the stamp at dps 5 in the default run
def test_returns_confirmed_digits():
    v = exact.eval_k_eps(6, 4, 1.0, 0.1)
    assert v.digits == 6 and isinstance(v, mp.mpf) and np.isfinite(float(v))


# ------------------------------------------------------------------ n eps >= 1: the split by m
#: outer nodes of the split checks: low (H dominates) to high (G dominates) for n = 16
SPLIT_X = np.linspace(-1.5, 3.5, 6)


def _kept_present(n, sigma, eps):
    """``phi(x) P(kept | x)`` on :data:`SPLIT_X` by the validated unsplit route (n eps < 1)."""
    lf, S, conv = _keps._log_kept(SPLIT_X, n, sigma, eps, 32, 0.5, 0.0)
    assert conv.all()
    return np.exp(lf) * S


def _kept_parts(n, sigma, eps, m0, h_on="line"):
    """``(phi G-part, phi H-part, converged)``: ``G`` on the hyperbola, ``H`` on the vertical line (the
    route) or on the hyperbola (``h_on="hyperbola"``; not a valid contour where some ``m eps >= 1 - eps``)."""
    r = np.full(SPLIT_X.shape, 1 - eps)
    phi = np.exp(-SPLIT_X ** 2 / 2) / math.sqrt(2 * math.pi)
    conv = np.ones(SPLIT_X.shape, bool)
    with np.errstate(all="ignore"):
        g, SG, info = _keps._cdf(r, n, sigma, 24, 0.5, 0.0,
                                 tf=_keps._SplitTransform(SPLIT_X, sigma, eps, 24, n - 1, m0, False))
        conv &= info["converged"]
        if h_on == "line":
            h, SH, cH = _keps._line_cdf(SPLIT_X, n, sigma, eps, 24, m0, 0.0, 0.25)
        else:
            h, SH, info = _keps._cdf(r, n, sigma, 24, 0.5, 0.0,
                                     tf=_keps._SplitTransform(SPLIT_X, sigma, eps, 24, n - 1, m0, True))
            cH = info["converged"] & (info["peak"] <= _keps._PEAK_MAX)
    return phi * np.exp(g) * SG, phi * np.exp(h) * SH, conv & cH


@pytest.mark.parametrize("sigma, m0", [(1.0, 5), (2.35, 5), (1.0, 8), (2.35, 8), (5.0, 8)])
def test_split_equals_unsplit(sigma, m0):
    """n = 16, eps = 0.05 (natural m0 = 19 > 15: the unsplit route is valid): G + H, split at a forced
    m0, equals the unsplit route to 1e-10 at every node, high temperature to condensed (sigma = 5,
    beta_c = 2.35). (Seen: 9e-14 to 1e-11. At sigma = 5, m0 = 5 the node x = 3.5, where H is e^-36 of
    G, is flagged as not converged: H decays only as tau^-6 there.)"""
    want = _kept_present(16, sigma, 0.05)
    g, h, conv = _kept_parts(16, sigma, 0.05, m0)
    assert conv.all()
    assert np.max(np.abs((g + h) / want - 1)) < 1e-10
    # negative control: without H the comparison fails
    assert np.max(np.abs(g / want - 1)) > 1e-6


@pytest.mark.slow  # ~70 s
def test_split_full_evaluation_equals_unsplit():
    """The whole E k_eps at (16, 2.35, 0.05) split at m0 = 8 equals the unsplit route to 1e-10."""
    a = _keps.eval_k_eps(10, 16, 2.35, 0.05)
    b = _keps.eval_k_eps(10, 16, 2.35, 0.05, _m0=8)
    assert abs(b / a - 1) < 1e-10


def test_hyperbola_for_h_fails_beyond_n_eps_1():
    """Negative control for the contour of H: at n = 1024, eps = 0.1, x = 3 (sigma = beta_c), H holds the
    terms with m eps >= 1 - eps, which grow on the hyperbola's arms: H on the hyperbola does not match H
    on the vertical line (or is flagged), while G + H on the line is confirmed against simulation below."""
    x = np.array([3.0])
    n, sigma, eps = 1024, 3.7233, 0.1
    m0 = _keps._m0_of(eps)
    r = np.full(x.shape, 1 - eps)
    with np.errstate(all="ignore"):
        h, SH, cH = _keps._line_cdf(x, n, sigma, eps, 24, m0, 0.0, 0.25)
        g, S, info = _keps._cdf(r, n, sigma, 24, 0.5, 0.0, tf=_keps._SplitTransform(x, sigma, eps, 24, n - 1, m0, True))
    assert cH.all() and SH[0] > 0
    bad = ~(info["converged"] & (info["peak"] <= _keps._PEAK_MAX))
    assert bad[0] or abs(np.exp(g[0]) * S[0] / (np.exp(h[0]) * SH[0]) - 1) > 1e-3


#: n = 1024 (beta_c = 3.723): sigma / beta_c in {0.3, 1.0, 1.8}, eps = 0.1 (m0 = 9) and 0.01 (m0 = 99)
BETA_1024 = math.sqrt(2 * math.log(1024))
SPLIT_POINTS = [pytest.param((1024, 0.3 * BETA_1024, 0.1), marks=pytest.mark.slow), (1024, BETA_1024, 0.1),
                pytest.param((1024, 1.8 * BETA_1024, 0.1), marks=pytest.mark.slow)] + [
                pytest.param((1024, f * BETA_1024, 0.01), marks=pytest.mark.slow) for f in (0.3, 1.0, 1.8)]


@pytest.mark.parametrize("point", SPLIT_POINTS)
def test_split_against_simulation(point):
    """E k_eps for n eps >= 1 against 20 000 simulated rows, |z| <= 4.5 (7e-6 per comparison; 6
    comparisons: family-wise < 5e-5)."""
    n, sigma, eps = point
    mean, se = _simulated(n, sigma, eps, 2027)
    v = exact.eval_k_eps(6, n, sigma, eps)
    assert v.digits == 6
    z = (mean - float(v)) / se
    assert abs(z) <= Z_MAX, f"z = {z:.2f}"


def test_split_negative_control_perturbed_eps_fails():
    """The same check with the exact value at eps = 0.105 instead of 0.1 (n = 1024, sigma = beta_c) fails."""
    mean, se = _simulated(1024, BETA_1024, 0.1, 2027)
    z = (mean - float(exact.eval_k_eps(6, 1024, BETA_1024, 0.105))) / se
    assert abs(z) > Z_MAX
