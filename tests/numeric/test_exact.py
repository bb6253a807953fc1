"""Exact finite-n evaluators (numeric/exact.py) against simulation and against closed forms.

Statistical tests: each compares an evaluator with the mean of 20 000 simulated rows
(fixed seed) and fails when |z| > 4.5 (false-alarm level 7e-6 per comparison under a
normal approximation; 26 comparisons, family-wise < 2e-4).
"""

import math

import mpmath as mp
import numpy as np
import pytest

import attnsparse as asp
from attnsparse.numeric import exact as X
from attnsparse.numeric.precision import PrecisionError
from attnsparse.numeric.simulate import simulate_stats

ROWS = 20_000
Z_MAX = 4.5
# (n, sigma): high temperature, critical window sigma = sqrt(2 ln n), condensed
POINTS = [(256, 1.0), (1024, round(math.sqrt(2 * math.log(1024)), 4)), (128, 4.5)]


@pytest.fixture(scope="module")
def simulated():
    stats = [asp.stat.ipr, asp.stat.log_partition, asp.stat.entropy, asp.stat.max_weight]
    return {p: simulate_stats(asp.IIDLogits(n=p[0], sigma=p[1]), stats, ROWS, 11) for p in POINTS}


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("col,evaluator", [(0, X.eval_ipr), (1, X.eval_log_partition), (2, X.eval_entropy),
                                           (3, X.eval_max_weight)])
def test_evaluator_matches_simulation(simulated, point, col, evaluator):
    x = simulated[point][:, col]
    theory = float(evaluator(6, *point))
    z = (x.mean() - theory) / (x.std(ddof=1) / math.sqrt(len(x)))
    assert abs(z) < Z_MAX, (point, evaluator.__name__, theory, x.mean(), z)


def test_top1_mass_is_max_weight_and_topn_is_one():
    assert X.eval_topk_mass(6, 64, 2.0, 1) == X.eval_max_weight(6, 64, 2.0)
    assert X.eval_topk_mass(6, 4, 2.0, 4) == 1


def test_topk_increases_in_k():
    n, s = 64, 1.5
    vals = [float(X.eval_topk_mass(6, n, s, k)) for k in (1, 2, 4)]
    assert vals[0] < vals[1] < vals[2] < 1


def _z_ok(x, theory):
    z = (x.mean() - theory) / (x.std(ddof=1) / math.sqrt(len(x)))
    return abs(z) < Z_MAX, z


@pytest.mark.parametrize("point", POINTS)
def test_topk_matches_simulation(point):
    theory = float(X.eval_topk_mass(6, *point, 4))
    x = simulate_stats(asp.IIDLogits(n=point[0], sigma=point[1]), [asp.stat.topk_mass(4)], ROWS, 3)[:, 0]
    ok, z = _z_ok(x, theory)
    assert ok, (point, theory, x.mean(), z)


@pytest.mark.parametrize("point", POINTS)
def test_mass_above_matches_simulation(point):
    from attnsparse.proofs.claims.phases import mass_above

    n, s = point
    thr = 0.8 * math.sqrt(2 * math.log(n))  # standardised logit threshold below the typical max
    v = float(X.eval_mass_above(6, n, s, thr))
    x = simulate_stats(asp.IIDLogits(n=n, sigma=s), [asp.stat.logits(mass_above, s * thr)], ROWS, 5)[:, 0]
    ok, z = _z_ok(x, v)
    assert ok, (point, v, x.mean(), z)


def test_mass_above_limit():
    assert abs(float(X.eval_mass_above(6, 512, 2.0, -30.0)) - 1) < 1e-6  # every key is above -30


# (n, d, sigma): high temperature, sigma = sqrt(2 ln n) (the critical window of the IID model at tau = sigma),
# condensed
BILINEAR_POINTS = [(128, 8, 1.5), (256, 16, round(math.sqrt(2 * math.log(256)), 4)), (64, 4, 4.0)]


@pytest.mark.parametrize("point", BILINEAR_POINTS)
def test_bilinear_matches_simulation(point):
    n, d, s = point
    v = float(X.eval_bilinear(6, "ipr", n, d, s))
    x = simulate_stats(asp.BilinearQK(n=n, d=d, sigma_q=s, sigma_k=1), [asp.stat.ipr], ROWS, 9)[:, 0]
    ok, z = _z_ok(x, v)
    assert ok, (point, v, x.mean(), z)


def test_n_two_closed_form():
    # n = 2: sum p^2 = 1 - 2 p(1-p), p = logistic(sigma (X1 - X2)); E by direct 1-d quadrature
    s = 1.3
    with mp.workdps(30):
        def f(z):
            return (1 - 2 / (2 + mp.exp(s * math.sqrt(2) * z) + mp.exp(-s * math.sqrt(2) * z))) * mp.npdf(z)

        ref = mp.quad(f, [-mp.inf, -3, 0, 3, mp.inf])
    assert abs(X.eval_ipr(10, 2, s) - ref) < 1e-10 * ref


@pytest.mark.slow  # the mpmath route: about 10 s
def test_high_precision_route_agrees_with_fast_route():
    fast, slow = X.eval_log_partition(12, 16, 0.7), X.eval_log_partition(16, 16, 0.7)
    assert abs(fast - slow) < 1e-11 * abs(slow)


def test_gauss_legendre_mp_rule_is_exact_for_polynomials():
    xs, ws = X._gl_mp(12, 40)
    with mp.workdps(40):
        for p in (0, 1, 6, 22, 23):  # degree <= 2m - 1 = 23: exact
            exact = mp.mpf(2) / (p + 1) if p % 2 == 0 else 0
            assert abs(mp.fsum(w * x**p for x, w in zip(xs, ws)) - exact) < mp.mpf(10) ** -38


@pytest.mark.slow  # ~15 s: one mpmath grid at 30 digits
def test_mp_grid_laplace_pieces_sum_to_one():
    # M = 1 - L and L come from different closed-form pieces and kernels: M + L = 1 checks them
    be = X._Backend("mp", 30)
    grid = X._IIDmp(be, 64, 2.0, 3)
    M, lnL = grid.inner()
    with mp.workdps(30):
        err = max(abs(m + mp.exp(ll) - 1) for m, ll in zip(M, lnL))
        assert err < mp.mpf(10) ** -25


@pytest.mark.slow  # 30 digits through mpmath: about 1-2 minutes
def test_thirty_digits_agree_with_float_route_and_between_levels():
    import resource

    n, s = 64, 2.5
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    v30 = X.eval_ipr(30, n, s)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 2 * 1024**2, f"maxrss grew by {grown_kb / 1024:.0f} MB"
    assert abs(v30 - X.eval_ipr(12, n, s)) < 1e-12 * v30
    # two rules of different levels (5 nodes-doublings apart in cost), at two precisions
    a = X._moment(X._Backend("mp", 40), 4, n, s, 2)
    b = X._moment(X._Backend("mp", 45), (5, 1 / 3), n, s, 2)
    with mp.workdps(45):
        assert abs(a - b) < mp.mpf(10) ** -31 * b
        assert abs(v30 - b) < mp.mpf(10) ** -29 * b


def test_unconfirmable_value_raises(monkeypatch):
    # a computation whose value changes with the quadrature level is never returned
    calls = []

    def drifting(be, lev):
        calls.append(lev)
        return be.num(1.0 + 2.0 ** (-lev))

    with pytest.raises(PrecisionError, match="quadrature levels"):
        X._confirmed(drifting, 12, "drifting")


def test_value_that_depends_on_the_grid_offset_raises():
    # levels agree, but the shifted grid of the same step gives another value: not confirmed
    def offset_sensitive(be, lev):
        return be.num(1.0 + (1e-3 if isinstance(lev, tuple) else 0.0))

    with pytest.raises(PrecisionError, match="not confirmed"):
        X._confirmed(offset_sensitive, 8, "offset")


def test_confirmed_value_is_returned_with_requested_digits():
    assert X._confirmed(lambda be, lev: be.num(0.25), 8, "constant") == mp.mpf("0.25")


@pytest.mark.parametrize("kw,match", [(dict(dps=3), "dps"), (dict(n=1), "n must"), (dict(sigma=-1.0), "sigma"),
                                      (dict(sigma=float("nan")), "sigma")])
def test_bad_input_names_the_parameter(kw, match):
    args = dict(dps=6, n=64, sigma=1.0) | kw
    with pytest.raises(ValueError, match=match):
        X.eval_ipr(args["dps"], args["n"], args["sigma"])


def test_bad_k_and_what():
    with pytest.raises(ValueError, match="k must"):
        X.eval_topk_mass(6, 64, 1.0, 0)
    with pytest.raises(ValueError, match="what must"):
        X.eval_bilinear(6, "nope", 64, 4, 1.0)
    with pytest.raises(ValueError, match="d must"):
        X.eval_bilinear(6, "ipr", 64, 1, 1.0)


def test_no_global_precision_change_and_mp_route_confirms():
    before = mp.mp.dps
    third = X._confirmed(lambda be, lev: be.num(1) / 3, 25, "one third")  # the mpmath route (dps > 13)
    assert mp.mp.dps == before
    with mp.workdps(40):  # compared beyond the global 15 digits: the value carries all 25
        assert abs(third - mp.mpf(1) / 3) < mp.mpf(10) ** -25


@pytest.mark.parametrize("n,sigma", [(2, 3.0), (1024, 3.7233), (2**20, 7.8983)])
def test_dropped_t_range_has_negligible_l_power(n, sigma):
    # below t_zero the grid drops L^{n-1}: check it is below e^{-F_zero} there (fine rule, float64)
    t_zero, *switch = X._switch_points(n, sigma, 20)
    assert t_zero < switch[0] <= switch[1] <= switch[2]  # ln F = 3, 0, -3 along increasing t
    grid = X._IID(X._Backend("f64"), n, sigma, 5)
    with np.errstate(all="ignore"):
        lnL = grid.laplace(np.array([t_zero]))[1][0]
    assert (n - 1) * -lnL > X._f_zero(n, 20)


# ---------------------------------------------------------------- E8 quadrature, float-only evaluators
def _naive_mixture(what, n, d, sigma, epsrel=1e-11):
    """``E g(sigma sqrt(r/d))``, r ~ chi2_d, by adaptive scipy quadrature in r (a different rule and
    variable from the trapezoidal rule in z of ``_bilinear``), g at tanh-sinh level 4."""
    from scipy import integrate, stats

    be, f = X._Backend("f64"), X._IID_FUNCTIONALS[what]

    def integrand(r):
        with np.errstate(all="ignore"):
            return stats.chi2.pdf(r, d) * float(f(be, 4, n, sigma * math.sqrt(r / d)))

    pts = [0, d / 4, d / 2, d, 2 * d, 4 * d, 8 * d]
    parts = [integrate.quad(integrand, a, b, epsabs=0, epsrel=epsrel, limit=200)[0] for a, b in zip(pts[:-1], pts[1:])]
    return sum(parts) + integrate.quad(integrand, pts[-1], np.inf, epsabs=1e-15, epsrel=epsrel)[0]


def test_bilinear_ipr_matches_naive_mixture():  # ~10 s
    v = X.eval_bilinear(10, "ipr", 32, 4, 2.0)
    assert abs(float(v) - _naive_mixture("ipr", 32, 4, 2.0)) < 1e-10 * float(v)


@pytest.mark.slow  # the naive reference takes 30-60 s per functional
@pytest.mark.parametrize("what", ["log_partition", "entropy", "max_weight"])
def test_bilinear_other_functionals_match_naive_mixture(what):
    v = X.eval_bilinear(10, what, 32, 4, 2.0)
    assert abs(float(v) - _naive_mixture(what, 32, 4, 2.0)) < 1e-10 * float(v)


@pytest.mark.parametrize("what", ["ipr", "log_partition", "entropy",
                                  pytest.param("max_weight", marks=pytest.mark.slow)])  # max weight: ~9 s
def test_bilinear_at_large_d_is_the_iid_value(what):
    # tau^2/sigma^2 = chi2_d/d has variance 2/d: the mixture is the IID value up to O(1/d)
    n, s = 64, 2.0
    iid = {"ipr": X.eval_ipr, "log_partition": X.eval_log_partition, "entropy": X.eval_entropy,
           "max_weight": X.eval_max_weight}[what](8, n, s)
    mix = X.eval_bilinear(8, what, n, 4096, s)
    assert mix != iid and abs(mix - iid) < 5e-3 * abs(iid)


@pytest.mark.parametrize("d", [2, 16, 4096])
def test_chi2_quantile_matches_normal_tail(d):
    # r(z) = F^-1(Phi(z)): the smaller tail of chi2_d at r(z) is Phi(-|z|) to ~1e-13 (relative)
    # where the weight phi(z) matters, to ~1e-11 in the far tails at d = 4096 (the tail function
    # of a large-shape gamma law is itself that ill-conditioned in float64)
    from scipy import special as sp

    z = np.linspace(-30, 30, 61)
    r = X._chi2_quantile(d, z)
    tail = np.where(z < 0, sp.gammainc(d / 2, r / 2), sp.gammaincc(d / 2, r / 2))
    assert np.all(np.diff(r) > 0)
    err = np.abs(tail / sp.ndtr(-np.abs(z)) - 1)
    assert np.max(err[np.abs(z) <= 8]) < 1e-13 and np.max(err) < 1e-11


def test_bilinear_rule_converges_between_levels():
    # the trapezoidal rule in z: level 3 (h = 3/4) within 1e-7, level 4 and its shifted rule within 1e-12
    be, cache = X._Backend("f64"), {}
    a, b = (X._bilinear(be, lev, "ipr", 1024, 16, 3.7233, 12, cache) for lev in (3, 4))
    c = X._bilinear(be, (4, 1 / 3), "ipr", 1024, 16, 3.7233, 12, cache)
    assert abs(a - b) < 1e-7 * b and abs(c - b) < 1e-12 * b


@pytest.mark.parametrize("call, top", [(lambda: X.eval_max_weight(41, 64, 1.0), 40),
                                       (lambda: X.eval_topk_mass(45, 64, 1.0, 2), 40),
                                       (lambda: X.eval_bilinear(31, "ipr", 64, 4, 1.0), 30),
                                       (lambda: X.eval_bilinear(21, "max_weight", 64, 4, 1.0), 20)])
def test_evaluators_beyond_their_route_refuse_high_dps_at_once(call, top, monkeypatch):
    # "at once": refused before any quadrature starts (no timing in tests)
    def no_quadrature(*args, **kwargs):
        raise AssertionError("quadrature started before dps was refused")

    monkeypatch.setattr(X, "_confirmed", no_quadrature)
    with pytest.raises(PrecisionError, match=f"dps must be <= {top} .*the largest dps this route delivers is {top}"):
        call()


@pytest.mark.parametrize("x0", [-5.0, pytest.param(0.0, marks=pytest.mark.slow),
                                pytest.param(2.88, marks=pytest.mark.slow), pytest.param(4.0, marks=pytest.mark.slow)])
def test_mass_above_mp_grid_matches_float_route(x0):
    # below the series switch (x0 = -5), inside the w-pieces and above the typical maximum: the
    # mpmath grid at one level (~6 s) against the confirmed float value
    n, s = 64, 2.0
    v = X._mass_above_mp(X._Backend("mp", 20), 3, n, s, x0)
    ref = X.eval_mass_above(12, n, s, x0)
    assert abs(v - ref) < 1e-12 * ref


@pytest.mark.slow  # 20 digits through mpmath (~30 s) and a level-5 rule at 30 digits: ~2-3 minutes
def test_mass_above_twenty_digits_is_confirmed():
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    v = X.eval_mass_above(20, 64, 2.0, 1.0)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 1024**2  # < 1 GB growth
    assert abs(v - X.eval_mass_above(12, 64, 2.0, 1.0)) < 1e-12 * v
    # an independent rule two levels finer at a higher precision agrees to 20 digits
    b = X._mass_above_mp(X._Backend("mp", 30), (5, 1 / 3), 64, 2.0, 1.0)
    with mp.workdps(30):
        assert abs(v - b) < mp.mpf(10) ** -20 * b


def test_mass_above_mp_route_refuses_tiny_values(monkeypatch):
    monkeypatch.setattr(X, "_confirmed", lambda compute, dps, what, **kw: mp.mpf("1e-9"))
    with pytest.raises(PrecisionError, match="below"):
        X.eval_mass_above(20, 64, 2.0, 6.0)
    assert X.eval_mass_above(12, 64, 2.0, 6.0) == mp.mpf("1e-9")  # the float route has no floor


@pytest.mark.parametrize("point", POINTS)
def test_ipr_second_moment_matches_simulation(simulated, point):
    # the same 20 000 rows as above: E (sum p^2)^2 against the mean of the squared row IPR
    q = simulated[point][:, 0] ** 2
    exact = float(X.eval_ipr_second_moment(10, *point))
    z = (q.mean() - exact) / (q.std(ddof=1) / math.sqrt(len(q)))
    assert abs(z) < Z_MAX, (point, q.mean(), exact)


@pytest.mark.parametrize("n, sigma", [(3, 1.0), (5, 2.0)])
def test_ipr_second_moment_small_n_against_plain_numpy(n, sigma):
    # an independent simulation (numpy, not the package's kernels): 1e6 rows, |z| < 4.5
    rng = np.random.default_rng(7)
    x = rng.standard_normal((1_000_000, n)) * sigma
    p = np.exp(x - x.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    q = (p * p).sum(1) ** 2
    exact = float(X.eval_ipr_second_moment(10, n, sigma))
    assert abs(q.mean() - exact) < Z_MAX * q.std(ddof=1) / math.sqrt(len(q))
    ipr = float(X.eval_ipr(10, n, sigma))
    assert ipr**2 < exact < ipr  # Jensen, and IPR <= 1


def test_ipr_second_moment_inputs():
    with pytest.raises(ValueError, match="n must be"):
        X.eval_ipr_second_moment(8, 2, 1.0)
    with pytest.raises(PrecisionError, match="dps must be <= 60"):  # the lattice route's largest
        X.eval_ipr_second_moment(61, 64, 1.0)


# ----------------------------------------------------------------------------- digits asked are digits given
@pytest.mark.parametrize("call, top", [
    (lambda: X.eval_count_above(13, 64, 1.0, 0.1), 12), (lambda: X.eval_prob_weight_above(20, 64, 1.0, 0.1), 12),
    (lambda: X.eval_max_weight(41, 64, 1.0), 40), (lambda: X.eval_topk_mass(50, 64, 1.0, 3), 40),
    (lambda: X.eval_bilinear(21, "max_weight", 64, 4, 1.0), 20), (lambda: X.eval_ipr(61, 64, 1.0), 60),
    (lambda: X.eval_bilinear(31, "entropy", 64, 4, 1.0), 30)])
def test_a_route_asked_beyond_its_reach_names_the_largest_dps(call, top):
    with pytest.raises(PrecisionError, match=f"the largest dps this route delivers is {top}"):
        call()


def test_bad_dps_is_still_a_value_error():
    for bad in (4, 2.5, True):
        with pytest.raises(ValueError, match="dps must be"):
            X.eval_ipr(bad, 64, 1.0)
    with pytest.raises(ValueError, match="dps must be"):
        X.eval_count_above(4, 64, 1.0, 0.1)


def test_evaluators_return_values_that_carry_their_digits(monkeypatch):
    from attnsparse.numeric.precision import Confirmed

    v = X.eval_ipr(9, 64, 1.0)
    assert isinstance(v, Confirmed) and v.digits == 9 and isinstance(v, mp.mpf)
    assert len(str(v).replace("0.", "", 1).lstrip("0")) == 9  # str prints the confirmed digits only
    assert isinstance(v + 1, mp.mpf) and not isinstance(v + 1, Confirmed)  # derived values are plain
    assert float(v) == float(v.value)
    monkeypatch.setattr(X._laplace, "eval_count_above", lambda dps, n, sigma, eps: mp.mpf("1.25"))
    w = X.eval_count_above(8, 64, 1.0, 0.1)  # E7 (seconds): its wrapper alone
    assert isinstance(w, Confirmed) and w.digits == 8 and w == mp.mpf("1.25")


def _keyed_by_dps(lo, hi, n):
    # dps lo and hi are two values: they agree to lo digits and the finer one has digits beyond
    c = asp.get("phases.exact_ipr")
    v_lo, v_hi = c.evaluate(dps=lo, n=n, sigma=3.7233), c.evaluate(dps=hi, n=n, sigma=3.7233)
    assert (v_lo.digits, v_hi.digits) == (lo, hi)
    assert c.evaluate(dps=lo, n=n, sigma=3.7233) is v_lo  # cached, by dps
    assert v_lo != v_hi and abs(v_lo - v_hi) <= 5 * mp.mpf(10) ** -lo * abs(v_hi)
    assert abs(v_hi - mp.mpf(mp.nstr(v_hi, lo + 1))) > mp.mpf(10) ** -(hi - 1) * abs(v_hi)  # beyond digit lo + 1
    return v_hi


def test_exact_claim_evaluate_is_keyed_by_dps_and_honours_it():
    # the float route (milliseconds); dps 8 against 15 (the mpmath route, ~40 s) is in the slow test
    v13 = _keyed_by_dps(8, 13, 64)
    assert abs(v13 - X.eval_ipr(12, 64, 3.7233)) <= 1e-12 * abs(v13)
    with pytest.raises(PrecisionError, match="the largest dps this route delivers is 40"):
        asp.get("phases.exact_max_weight").evaluate(dps=41, n=64, sigma=1.0)


@pytest.mark.slow
def test_exact_ipr_to_19_digits_at_the_issue_point():
    # issue 12: evaluate(dps=20) at (1024, 3.7233) was an 8-digit value, off by 4.4e-10
    _keyed_by_dps(8, 15, 64)
    v = asp.get("phases.exact_ipr").evaluate(dps=20, n=1024, sigma=3.7233)
    ref = X.eval_ipr(25, 1024, 3.7233)
    assert v.digits == 20 and abs(v - ref) <= mp.mpf(10) ** -19 * abs(ref)


def test_eval_confirmed_returns_the_digits_asked():
    import sympy as sp

    from attnsparse.numeric.precision import Confirmed, eval_confirmed

    x = sp.Symbol("x", positive=True)
    v = eval_confirmed(sp.sqrt(x), {x: 2}, 20)
    assert isinstance(v, Confirmed) and v.digits == 20 and str(v) == "1.4142135623730950488"
    with mp.workdps(40):
        assert abs(v - mp.sqrt(2)) <= mp.mpf(10) ** -20
