"""False alarms of a tight bound: ``P(argmax = 0) <= 1/n`` holds with equality under IID logits.

The bench's "tight bound" case (bench/check.py). The engine checks it with the betting method
on the indicator rows, one-sided: it is refuted when ``K+(1/n)``, the capital betting on a mean
above ``1/n``, ever reaches ``1/alpha``, and certified when the upper bound (``K-`` alone at
``1/alpha``) falls below ``1/n``. At the boundary ``K+`` is a martingale, so by Ville's
inequality each happens with probability at most ``alpha`` (docs/statistics.md, "A tight
bound"). A one-sided test gets the full ``alpha`` (no ``alpha/2`` split): the null is one-sided.

Negative control: a one-sided binomial z test at the nominal level at every look, which the same
binomial test must catch. Counts are compared with a one-sided binomial test at level 1e-3, as in
tests/numeric/test_confseq.py; every repetition is seeded, so a pass is reproducible.
"""

import math

import numpy as np
import pytest
import sympy as sp
from scipy import stats as st

import attnsparse as asp
from attnsparse.numeric.confseq import betting_cs

n, sigma = sp.symbols("n sigma", positive=True)
TIGHT = asp.Claim("t.tight", model=asp.IIDLogits(n=n, sigma=sigma), lhs=asp.P(asp.stat.argmax == 0), rel="<=",
                  rhs=1 / n)
M = 1 / 8
LOOKS = [100 * 2**i for i in range(7)]  # 100 .. 6400 rows


def _within_level(k, reps, alpha):
    """k events are compatible with a rate <= alpha (one-sided binomial test at 1e-3)."""
    return bool(st.binom(reps, alpha).sf(k - 1) > 1e-3)


def _betting(x, alpha):
    """(refuted, certified) of the one-sided betting check at any of the looks (the p-value is the
    running minimum over every row, so the last look covers the refutation)."""
    cs = betting_cs(x, 0.0, 1.0, alpha)
    certified = any(betting_cs(x[:k], 0.0, 1.0, alpha).upper() < M for k in LOOKS)
    return cs.pvalue(M, "greater") <= alpha, certified


def _naive_z(x, alpha):
    """The invalid method: a one-sided z test of ``mean <= M`` at the nominal level at every look."""
    for k in LOOKS:
        z = (x[:k].mean() - M) / math.sqrt(M * (1 - M) / k)
        if st.norm.sf(z) <= alpha:
            return True, False
    return False, False


def _counts(method, reps, alpha, seed):
    refuted = certified = 0
    for i in range(reps):
        x = (np.random.default_rng(seed + i).random(LOOKS[-1]) < M).astype(np.float64)
        r, c = method(x, alpha)
        refuted, certified = refuted + r, certified + c
    return refuted, certified


@pytest.mark.parametrize("method, valid", [(_betting, True), (_naive_z, False)],
                         ids=["one-sided betting", "negative control: z test at every look"])
def test_tight_bound_false_alarms_on_bernoulli_rows(method, valid):
    """300 repetitions at alpha = 0.2 over 7 looks of Bernoulli(1/8) rows (the engine's values)."""
    reps, alpha = 300, 0.2
    refuted, certified = _counts(method, reps, alpha, seed=0)
    assert _within_level(refuted, reps, alpha) is valid, refuted
    assert _within_level(certified, reps, alpha), certified


def _engine_counts(reps, alpha, effort, seed):
    refuted = certified = 0
    for i in range(reps):
        r = TIGHT.check(seed=seed + i, alpha=alpha, effort=effort, n=8, sigma=1.0)
        assert r.method == "betting" and r.tolerance == 0.0
        refuted += r.verdict == "refuted"
        certified += r.verdict == "consistent"
    return refuted, certified


def test_engine_tight_bound_false_alarms_short():
    """The engine itself, 25 repetitions at alpha = 0.2, looks at 200 .. 3 200 rows (a smoke test of
    the route; the Bernoulli test above has the power)."""
    reps, alpha = 25, 0.2
    refuted, certified = _engine_counts(reps, alpha, {"initial": 200, "max_samples": 3200, "max_seconds": 1e6}, 0)
    assert _within_level(refuted, reps, alpha), refuted
    assert _within_level(certified, reps, alpha), certified


@pytest.mark.slow
def test_engine_tight_bound_false_alarms_2000_reps():
    """The bench's setting: alpha = 0.05, looks at 4 000 .. 64 000 rows, 2 000 repetitions (about
    a minute on 2 cores). Measured: see docs/statistics.md."""
    reps, alpha = 2000, 0.05
    refuted, certified = _engine_counts(reps, alpha, {"initial": 4000, "max_samples": 64_000, "max_seconds": 1e6},
                                        50_000)
    assert _within_level(refuted, reps, alpha), refuted
    assert _within_level(certified, reps, alpha), certified


@pytest.mark.slow
@pytest.mark.parametrize("method, valid", [(_betting, True), (_naive_z, False)], ids=["betting", "negative control"])
def test_tight_bound_false_alarms_on_bernoulli_rows_2000_reps(method, valid):
    reps, alpha = 2000, 0.05
    refuted, certified = _counts(method, reps, alpha, seed=10_000)
    assert _within_level(refuted, reps, alpha) is valid, refuted
    assert _within_level(certified, reps, alpha), certified
