"""The betting confidence sequence (numeric/confseq.py): coverage at any stopping time,
precision of the root-found endpoints, tiny means, anytime p-values, and a negative
control (a t test re-applied at every look at the nominal level) that the same
false-alarm test must catch.

Statistical assertions compare counts with binomial bounds at level 1e-3 (one-sided); all
data are seeded, so a pass is reproducible.
"""

import math

import numpy as np
import pytest
from scipy import stats as st

from attnsparse.numeric.confseq import C_TRUNC, betting_cs

LOOKS = [100 * 2**i for i in range(7)]  # 100 .. 6400 rows, 7 looks


def _betting_rejects(x, truth, alpha):
    # anytime valid: a rejection at any look (the p-value's running max of the capital
    # already covers every row, so checking at the last look decides for all looks)
    return any(betting_cs(x[:k], 0.0, 1.0, alpha).pvalue(truth) <= alpha for k in LOOKS)


def _naive_t_rejects(x, truth, alpha):
    # the invalid method: a two-sided t test at the nominal level, re-applied at every look
    for k in LOOKS:
        y = x[:k]
        t = (y.mean() - truth) / (y.std(ddof=1) / math.sqrt(k))
        if 2 * st.t(k - 1).sf(abs(t)) <= alpha:
            return True
    return False


def _heavy(rng, n):
    # a bounded, strongly skewed variable in [0, 1]: mean 0.05 / 3.05
    return rng.beta(0.05, 3.0, n)


HEAVY_MEAN = 0.05 / 3.05


def _false_alarms(method, reps, alpha, seed=0):
    k = 0
    for i in range(reps):
        x = _heavy(np.random.default_rng(seed + i), LOOKS[-1])
        k += method(x, HEAVY_MEAN, alpha)
    return k


def _within_level(k, reps, alpha):
    """k false alarms are compatible with a rate <= alpha (one-sided binomial test at 1e-3)."""
    return bool(st.binom(reps, alpha).sf(k - 1) > 1e-3)


@pytest.mark.parametrize("method, valid", [(_betting_rejects, True), (_naive_t_rejects, False)],
                         ids=["betting CS", "negative control: t test at every look"])
def test_false_alarm_rate_at_any_stopping_time(method, valid):
    """200 repetitions at alpha = 0.2 over 7 looks: the betting CS keeps the rate, the naive
    repeated t test does not (the same test catches it)."""
    reps, alpha = 200, 0.2
    k = _false_alarms(method, reps, alpha)
    assert _within_level(k, reps, alpha) is valid, k


@pytest.mark.slow
@pytest.mark.parametrize("method, valid", [(_betting_rejects, True), (_naive_t_rejects, False)],
                         ids=["betting CS", "negative control"])
def test_false_alarm_rate_at_any_stopping_time_1000_reps(method, valid):
    reps, alpha = 1000, 0.05
    k = _false_alarms(method, reps, alpha, seed=10_000)
    assert _within_level(k, reps, alpha) is valid, k


def test_coverage_of_the_two_sided_interval():
    """300 seeds, 2000 rows, alpha = 0.2: misses must stay within Binomial(300, 0.2)."""
    reps, alpha, miss = 300, 0.2, 0
    for s in range(reps):
        x = _heavy(np.random.default_rng(100 + s), 2000)
        lo, hi = betting_cs(x, 0.0, 1.0, alpha).interval()
        miss += not lo <= HEAVY_MEAN <= hi
    assert _within_level(miss, reps, alpha), miss


def test_one_sided_bounds_and_p_values():
    rng = np.random.default_rng(3)
    x = rng.beta(2, 5, 20_000)  # mean 2/7
    cs = betting_cs(x, 0.0, 1.0, 1e-3)
    lo2, hi2 = cs.interval()
    assert lo2 < cs.lower() < 2 / 7 < cs.upper() < hi2  # one-sided bounds are tighter
    assert cs.pvalue(2 / 7) > 1e-3
    assert cs.pvalue(0.30) < 1e-6 and cs.pvalue(0.30, "less") < 1e-6 and cs.pvalue(0.30, "greater") > 0.01
    assert cs.pvalue(1.5, "less") == 0.0 and cs.pvalue(1.5, "greater") == 1.0  # outside the range


def test_endpoints_are_roots_of_the_capital_not_grid_points():
    rng = np.random.default_rng(4)
    cs = betting_cs(rng.beta(2, 5, 5000), 0.0, 1.0, 0.01)
    lo, hi = cs.interval()
    thr = math.log(2 / 0.01)
    b = cs.b
    # the capital crosses the threshold within a relative 1e-9 of each endpoint
    assert b.log_capital(lo * (1 - 1e-9), "+") >= thr > b.log_capital(lo * (1 + 1e-9), "+")
    assert b.log_capital(hi * (1 + 1e-9), "-") >= thr > b.log_capital(hi * (1 - 1e-9), "-")


def test_a_tiny_mean_is_resolved_from_below_and_the_upper_side_is_at_its_limit():
    """Mean 2^-20 of values in [0, 1] concentrated near it (2^-19 Beta(2500, 2500)).

    The lower bound reaches 0.1% relative with 2e5 rows: the bets grow to ~1/sigma, far
    beyond 1, which the truncation c/m allows. The upper bound cannot: a valid sequence on
    [0, 1] cannot exclude a rare value near 1, so its capital grows by at most c (m' - m) per
    row and the upper bound is m + ~log(2/alpha) / (c N): the information limit, which it
    meets within 10%.
    """
    m, N, alpha = 2.0**-20, 200_000, 1e-3
    x = m * 2 * np.random.default_rng(5).beta(2500, 2500, N)
    cs = betting_cs(x, 0.0, 1.0, alpha)
    lo, hi = cs.interval()
    assert 0 < (m - lo) / m < 1e-3
    limit = math.log(2 / alpha) / (C_TRUNC * N)
    assert hi > m and (hi - m) < 1.1 * limit
    # scaled ranges: the same rows in units of 1/n on [0, 2^20] give the same relative answer
    cs2 = betting_cs(x * 2**20, 0.0, 2.0**20, alpha)
    assert math.isclose(cs2.interval()[0], lo * 2**20, rel_tol=1e-9)


def test_tiny_bernoulli_mean():
    """A Bernoulli(2^-20) rate with 2^22 rows: the interval covers it and its upper end is
    of order log(2/alpha)/(c N) (the bets on the upper side may not exceed c/(1 - m))."""
    m, N, alpha = 2.0**-20, 2**22, 0.05
    x = (np.random.default_rng(6).random(N) < m).astype(float)
    lo, hi = betting_cs(x, 0.0, 1.0, alpha).interval()
    assert lo <= m <= hi and hi < 10 * m


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="outside the declared range"):
        betting_cs(np.array([0.5, 2.0]), 0.0, 1.0, 0.05)
    with pytest.raises(ValueError, match="NaN"):
        betting_cs(np.array([0.5, np.nan]), 0.0, 1.0, 0.05)
    with pytest.raises(ValueError, match="lo < hi"):
        betting_cs(np.array([0.5]), 1.0, 1.0, 0.05)
