"""The Lipschitz route (numeric/confseq.py: ClippedCS; numeric/check.py: method "lipschitz").

* the clipping-bias lemma against exact clipped means of Gaussians (scipy's truncated-normal
  formulas, not the code under test);
* the declared Lipschitz constants against finite differences of plain numpy statistics;
* the false-alarm rate at any stopping time, with a negative control (the same route with
  the Lipschitz constant understated tenfold) that the same test must catch;
* the engine: the method chosen per model, true claims consistent, a claim 10% off refuted,
  a claim whose mean lies outside the clip window refuted, and an inconclusive reason that
  says how many rows would decide it.

Statistical assertions compare counts with one-sided binomial bounds at level 1e-3, so a
correct implementation fails one with probability below 1e-3; all data are seeded.
"""

import math

import numpy as np
import pytest
import sympy as sp
from scipy import integrate
from scipy import stats as st

import attnsparse as asp
from attnsparse.numeric.confseq import ClippedCS, clip_bias

n, sigma, d = sp.symbols("n sigma d", positive=True)
IID = asp.IIDLogits(n=n, sigma=sigma)
HALF_NORMAL_MEAN = math.sqrt(2 / math.pi)  # E|X|, X ~ N(0, 1): |.| is 1-Lipschitz
ROWS = 6400  # the looks 100, 200, ..., 6400 of tests/numeric/test_confseq.py


def _exact_mean_max(n_keys, s):
    """E max of n iid N(0, s^2) by quadrature of x n phi(x) Phi(x)^(n-1)."""
    f = lambda x: x * n_keys * st.norm.pdf(x) * st.norm.cdf(x) ** (n_keys - 1)  # noqa: E731
    return s * integrate.quad(f, -12, 12, points=[0, 2, 3], limit=200)[0]


def _clipped_normal_mean(mu, L, a, b):
    """E clip(Y, a, b) for Y ~ N(mu, L^2), in closed form."""
    al, be = (a - mu) / L, (b - mu) / L
    mid = mu * (st.norm.cdf(be) - st.norm.cdf(al)) + L * (st.norm.pdf(al) - st.norm.pdf(be))
    return a * st.norm.cdf(al) + mid + b * st.norm.sf(be)


@pytest.mark.parametrize("mu", [-4.0, -1.0, -0.3, 0.0, 0.2, 0.9, 2.5, 4.6, 9.0])
def test_the_clipping_bias_lemma_on_gaussians(mu):
    """(i) E f >= m  =>  m_c >= m - B(b - m);  (ii) E f <= m  =>  m_c <= m + B(m - a), for all m
    in the valid part of a window [-5 L, 5 L] (f = mu + L X is L-Lipschitz)."""
    L, z = 1.3, 5.0
    cs = ClippedCS(np.zeros(4), 0.0, L, z, 0.05)
    m_c = _clipped_normal_mean(mu, L, cs.a, cs.b)
    grid = np.linspace(-cs.r, cs.r, 41)
    for m in np.concatenate([grid, [mu]]) if abs(mu) <= cs.r else grid:  # m = mu: where the bound binds
        if mu >= m:
            assert m_c >= m - cs.below(m) - 1e-12
        if mu <= m:
            assert m_c <= m + cs.above(m) + 1e-12
    if mu == 4.6:  # near the window's edge the clipped mean is visibly off: the widening is needed
        assert mu - m_c > 0.03 and cs.below(mu) >= mu - m_c
    # the bound is the one stated in docs/statistics.md, and tiny inside the window
    assert math.isclose(clip_bias(L, z * L), L * math.sqrt(2 * math.pi) * st.norm.sf(z), rel_tol=1e-12)
    assert clip_bias(L, z * L) < 1e-6 * L


def test_declared_lipschitz_constants_hold_for_finite_differences():
    """|f(X + h) - f(X)| <= L |h| for the plain numpy statistics of an IID row, and the
    constant is nearly attained; models without a constant declare None."""
    rng = np.random.default_rng(0)
    s_, n_keys = 1.7, 32
    bound = IID.bind({n: n_keys, sigma: s_})
    plain = {
        "log_partition": lambda x: np.log(np.sum(np.exp(s_ * x))),
        "max_logit": lambda x: s_ * np.max(x),
        "top_gap": lambda x: s_ * (np.sort(x)[-1] - np.sort(x)[-2]),
    }
    for name, f in plain.items():
        L = getattr(asp.stat, name).lipschitz(bound)
        ratios = []
        for _ in range(300):
            x, h = rng.standard_normal(n_keys), rng.standard_normal(n_keys) * 10.0 ** rng.uniform(-6, 0)
            ratios.append(abs(f(x + h) - f(x)) / np.linalg.norm(h))
        assert max(ratios) <= L * (1 + 1e-9), name
        # attained along the gradient direction: e_argmax (max), e_1 - e_2 (gap), p (log Z)
        x = rng.standard_normal(n_keys)
        i, k = np.argsort(x)[-1], np.argsort(x)[-2]
        e = np.zeros(n_keys)
        e[i], e[k] = (1.0, -1.0) if name == "top_gap" else (1.0, 0.0)
        if name == "log_partition":  # along p, with one weight near 1: sigma |p| close to sigma
            x = np.zeros(n_keys)
            x[0] = 8.0
            e = np.exp(s_ * x) / np.sum(np.exp(s_ * x))
        step = 1e-6 * e / np.linalg.norm(e)
        assert abs(f(x + step) - f(x)) / 1e-6 > 0.99 * L, name
    assert asp.stat.logit(3).lipschitz(bound) == s_
    assert asp.stat.partition.lipschitz(bound) is None and asp.stat.ipr.lipschitz(bound) is None
    assert asp.E(asp.stat.max_logit).lipschitz(bound) == s_ and asp.P(asp.stat.max_logit > 0).lipschitz(bound) is None
    # products of Gaussians: no global constant
    for model, vals in [(asp.BilinearQK(n=8, d=4), {}), (asp.IIDLogits(n=8, sigma=1.0, scale_dof=4), {}),
                        (asp.SelfAttention(n=8, d=2, sigma_x=1.0, W_Q=np.eye(2), W_K=np.eye(2)), {})]:
        assert asp.stat.max_logit.lipschitz(model.bind(vals)) is None
    assert asp.stat.top_gap.lipschitz(IID.bind({n: 1, sigma: 1.0})) is None


# ----------------------------------------------------------------------------- the harness

def _valid(x, truth, alpha):
    """The route as the engine runs it: centre = the claim's value, the true L (= 1 for |X|)."""
    return ClippedCS(x, truth, 1.0, 5.0, alpha).pvalue(truth) <= alpha


def _understated_l(x, truth, alpha):
    """Negative control: the same route with L/10, so the window [truth -+ 0.5] clips the skewed
    half-normal and the widening (7e-8) is far too small for the bias it causes."""
    return ClippedCS(x, truth, 0.1, 5.0, alpha).pvalue(truth) <= alpha


def _false_alarms(method, reps, alpha, seed=0):
    """Rejections of a true mean over ``reps`` seeds; the running maximum of the capital in the
    p-value covers every look at once (rejection at *any* stopping time up to ROWS rows)."""
    return sum(method(np.abs(np.random.default_rng(seed + i).standard_normal(ROWS)), HALF_NORMAL_MEAN, alpha)
               for i in range(reps))


def _within_level(k, reps, alpha):
    """k false alarms are compatible with a rate <= alpha (one-sided binomial test at 1e-3)."""
    return bool(st.binom(reps, alpha).sf(k - 1) > 1e-3)


@pytest.mark.parametrize("method, valid", [(_valid, True), (_understated_l, False)],
                         ids=["lipschitz route", "negative control: L understated tenfold"])
def test_false_alarm_rate_at_any_stopping_time(method, valid):
    """200 repetitions at alpha = 0.1, at any stopping time up to 6400 rows: the route keeps
    the level (measured 9/200), the understated L does not (200/200); 35 or more fails
    (Binomial(200, 0.1) reaches 35 with probability < 1e-3)."""
    reps, alpha = 200, 0.1
    k = _false_alarms(method, reps, alpha)
    assert _within_level(k, reps, alpha) is valid, k


@pytest.mark.slow
@pytest.mark.parametrize("method, valid", [(_valid, True), (_understated_l, False)], ids=["route", "control"])
def test_false_alarm_rate_1000_reps(method, valid):
    """1000 repetitions at alpha = 0.05 (measured: route 17/1000, control 1000/1000); 74 or more
    fails (Binomial(1000, 0.05) reaches 74 with probability < 1e-3)."""
    reps, alpha = 1000, 0.05
    assert _within_level(_false_alarms(method, reps, alpha, seed=10_000), reps, alpha) is valid


@pytest.mark.slow
def test_false_alarm_rate_of_the_engine_on_a_true_max_logit_claim():
    """200 engine checks of the true E max_logit = exact value (n = 16, sigma = 1) at
    alpha = 0.1 up to 16 000 rows: refutations within Binomial(200, 0.1) at level 1e-3
    (measured: 5 refuted, 195 consistent; about 13 s)."""
    claim = asp.Claim("t.max", model=IID, lhs=asp.E(asp.stat.max_logit), rel="==", rhs=_exact_mean_max(16, 1.0))
    eff = {"initial": 500, "max_samples": 16_000}
    rs = [claim.check(n=16, sigma=1.0, seed=i, alpha=0.1, effort=eff) for i in range(200)]
    assert all(r.method == "lipschitz" for r in rs)
    k = sum(r.verdict == "refuted" for r in rs)
    assert _within_level(k, 200, 0.1), k


# ----------------------------------------------------------------------------- the engine

def test_the_engine_confirms_a_true_claim_and_refutes_one_10_percent_off():
    truth = _exact_mean_max(64, 1.5)
    ok = asp.Claim("t.max", model=IID, lhs=asp.E(asp.stat.max_logit), rel="==", rhs=truth)
    r = ok.check(n=64, sigma=1.5, seed=1)
    assert (r.method, r.verdict) == ("lipschitz", "consistent") and r.ci[0] <= truth <= r.ci[1]
    off = asp.Claim("t.max_off", model=IID, lhs=asp.E(asp.stat.max_logit), rel="==", rhs=1.1 * truth)
    r = off.check(n=64, sigma=1.5, seed=1)
    assert (r.method, r.verdict) == ("lipschitz", "refuted")
    # bounds: a true upper bound holds, a false one is refuted
    hi = asp.Claim("t.le", model=IID, lhs=asp.E(asp.stat.max_logit), rel="<=", rhs=1.05 * truth)
    assert hi.check(n=64, sigma=1.5, seed=1).verdict == "consistent"
    lo = asp.Claim("t.ge", model=IID, lhs=asp.E(asp.stat.max_logit), rel=">=", rhs=1.1 * truth)
    assert lo.check(n=64, sigma=1.5, seed=1).verdict == "refuted"


def test_a_mean_outside_the_clip_window_is_still_refuted():
    """The window is centred on the claimed value; a claim 20 L off puts the true mean far below
    it, where every row is clipped to the window's floor. The bias bound then no longer covers
    the lower side (the reported lower end is -inf), but (ii) still bounds the clipped mean of
    a true claim from above, so the test refutes."""
    truth = _exact_mean_max(64, 1.0)
    far = asp.Claim("t.far", model=IID, lhs=asp.E(asp.stat.max_logit), rel="==", rhs=truth + 20)
    r = far.check(n=64, sigma=1.0, seed=2)
    assert (r.method, r.verdict) == ("lipschitz", "refuted") and r.ci[0] == -math.inf
    assert far.check(n=64, sigma=1.0, seed=2, alpha=0.05).verdict == "refuted"


def test_other_statistics_and_models_pick_their_routes():
    lz = asp.Claim("t.lz", model=IID, lhs=asp.E(asp.stat.log_partition), rel="<=", rhs=sp.log(n) + sigma**2 / 2)
    r = lz.check(n=64, sigma=1.0, seed=0)  # Jensen: E log Z <= log E Z
    assert (r.method, r.verdict) == ("lipschitz", "consistent")
    gap = asp.Claim("t.gap", model=IID, lhs=asp.E(asp.stat.top_gap), rel=">=", rhs=0)
    assert gap.check(n=16, sigma=1.0, seed=0).method == "lipschitz"
    bil = asp.Claim("t.b", model=asp.BilinearQK(n=n, d=d), lhs=asp.E(asp.stat.max_logit), rel=">=", rhs=0)
    assert bil.check(n=16, d=4, seed=0, effort={"initial": 500, "max_samples": 1000}).method == "asymptotic"


def test_two_model_claims_use_paired_differences_around_zero():
    other = asp.IIDLogits(n=n, sigma=sigma, mu=sp.Rational(3, 10))
    same = asp.Claim("t.same", model=IID, lhs=asp.E(asp.stat.max_logit), rel="==",
                     rhs=asp.E(asp.stat.max_logit, model=IID), atol=0.05)
    r = same.check(n=16, sigma=1.0, seed=0)
    assert (r.method, r.verdict) == ("lipschitz", "consistent")
    shifted = asp.Claim("t.shift", model=IID, lhs=asp.E(asp.stat.max_logit), rel="==",
                        rhs=asp.E(asp.stat.max_logit, model=other))
    assert shifted.check(n=16, sigma=1.0, seed=0).verdict == "refuted"


def test_an_inconclusive_check_says_how_many_rows_would_decide_it():
    truth = _exact_mean_max(16, 1.0)
    claim = asp.Claim("t.tight", model=IID, lhs=asp.E(asp.stat.max_logit), rel="approx", rhs=truth, rtol=0.01)
    r = claim.check(n=16, sigma=1.0, seed=0, effort={"initial": 200, "max_samples": 400})
    assert r.verdict == "inconclusive" and "needs about" in r.reason and "effort='full'" in r.reason, r.reason
    words = r.reason.split("needs about ")[1].split(" rows")[0].split()
    rows = float(words[0]) * {"k": 1e3, "M": 1e6}.get(words[1] if len(words) > 1 else "", 1)
    # the estimate errs high: that many rows decide it
    r2 = claim.check(n=16, sigma=1.0, seed=0, effort={"initial": 200, "max_samples": int(2 * rows)})
    assert r2.verdict == "consistent", (rows, r2)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="L must be"):
        ClippedCS(np.zeros(3), 0.0, 0.0, 5.0, 0.05)
    with pytest.raises(ValueError, match="z must be"):
        ClippedCS(np.zeros(3), 0.0, 1.0, 1.0, 0.05)
    with pytest.raises(ValueError, match="centre"):
        ClippedCS(np.zeros(3), math.nan, 1.0, 5.0, 0.05)
    with pytest.raises(ValueError, match="NaN or inf"):
        ClippedCS(np.array([0.0, math.inf]), 0.0, 1.0, 5.0, 0.05)


@pytest.mark.parametrize("cid", ["phases.exact_log_partition", "extremes.gumbel_mean"])
def test_catalogue_lipschitz_claims_hold_and_their_10_percent_mutants_are_refuted(cid):
    claim = asp.get(cid)
    point = claim.points[0]
    r = claim.check(seed=11, **point)
    assert (r.method, r.verdict) == ("lipschitz", "consistent")
    mutant = asp.Claim(cid + ".mutant", model=claim.model, lhs=claim.lhs, rel="==", rhs=1.1 * r.theory)
    assert mutant.check(seed=11, **point).verdict == "refuted"
