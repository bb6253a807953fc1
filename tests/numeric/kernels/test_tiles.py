"""attention_stats (fused score micro-kernel + row reducer) against dense numpy."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attnsparse import stat
from attnsparse.numeric.measure import attention_stats

NAMES = ["log_partition", "max_logit", "max_weight", "ipr", "entropy", "topk_mass", "tail_mass", "k_eps",
         "count_above", "weight", "argmax", "partition", "logit"]


def stats_and_params(n_k):
    par = {"topk_mass": 3, "tail_mass": 2, "k_eps": 0.05, "count_above": 0.01, "weight": n_k - 1,
           "logit": n_k // 2}
    stats = [getattr(stat, x)(par[x]) if x in par else getattr(stat, x) for x in NAMES]
    return stats, [par.get(x, 0.0) for x in NAMES]


@settings(max_examples=60, deadline=None)
@given(n_q=st.integers(1, 13), n_k=st.integers(1, 41), d=st.integers(1, 9), causal=st.booleans(),
       tile=st.sampled_from([1, 3, 4, 5, None]), heads=st.sampled_from([None, 2]), seed=st.integers(0, 2**31),
       scale=st.sampled_from([None, 0.3, 5.0]))
def test_matches_dense_numpy(naive, n_q, n_k, d, causal, tile, heads, seed, scale):
    if causal and n_q > n_k:
        n_q = n_k
    rng = np.random.default_rng(seed)
    shape = (heads,) if heads else ()
    Q, K = rng.standard_normal(shape + (n_q, d)), rng.standard_normal(shape + (n_k, d))
    stats, par = stats_and_params(n_k)
    got = attention_stats(Q, K, stats, causal=causal, scale=scale, tile_rows=tile)
    for h in range(heads or 1):
        q, k = (Q[h], K[h]) if heads else (Q, K)
        want = naive.naive_attention_stats(q, k, NAMES, par, causal=causal, scale=scale)
        g = got[h] if heads else got
        np.testing.assert_allclose(g, want, rtol=1e-9, atol=1e-12)


def test_extreme_scale_stays_finite(naive):
    """Logits with standard deviation about 50 (plain exp overflows)."""
    rng = np.random.default_rng(1)
    Q, K = rng.standard_normal((20, 8)), rng.standard_normal((300, 8))
    stats, par = stats_and_params(300)
    scale = 50 / math.sqrt(8)
    got = attention_stats(Q, K, stats, scale=scale)
    names = ["log_partition", "ipr", "topk_mass", "tail_mass", "k_eps", "max_weight"]
    idx = [NAMES.index(x) for x in names]
    S = naive.naive_scores(Q, K, False, scale)
    assert np.abs(S).max() > 100  # the regime where exp(S) overflows
    for i in range(0, 20, 7):
        want = naive.mp_row_stats(S[i], names, [par[j] for j in idx])
        np.testing.assert_allclose(got[i, idx], want, rtol=1e-9, atol=1e-300)


def test_tile_size_independent_up_to_reassociation():
    rng = np.random.default_rng(2)
    Q, K = rng.standard_normal((70, 64)), rng.standard_normal((333, 64))
    stats, _ = stats_and_params(333)
    ref = attention_stats(Q, K, stats, causal=True, tile_rows=1)
    for tile in (4, 5, 32, 70):
        np.testing.assert_allclose(attention_stats(Q, K, stats, causal=True, tile_rows=tile), ref,
                                   rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("bad, match", [
    (dict(Q=np.full((3, 2), np.nan)), "Q contains 6 NaN"),
    (dict(K=np.ones((3, 5))), "same d"),
    (dict(Q=np.ones((3,))), r"Q must have shape \(n, d\)"),
    (dict(Q=np.array([["a", "b"]])), "Q must hold real numbers"),
    (dict(K=np.ones((0, 2))), "K must be non-empty"),
    (dict(Q=np.ones((4, 2)), causal=True), "n_queries <= n_keys"),
    (dict(scale=-1.0), "scale must be"),
    (dict(tile_rows=0), "tile_rows must be"),
])
def test_bad_input_names_the_parameter(bad, match):
    kw = dict(Q=np.ones((3, 2)), K=np.ones((3, 2)))
    kw.update(bad)
    with pytest.raises(ValueError, match=match):
        attention_stats(kw.pop("Q"), kw.pop("K"), [stat.ipr], **kw)


def test_user_statistic_rejected():
    with pytest.raises(ValueError, match="built-in"):
        attention_stats(np.ones((2, 2)), np.ones((2, 2)), [stat.logits(lambda s: s[0])])
