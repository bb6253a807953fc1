"""Cost model of dense against top-k attention (numeric/cost.py): small cases counted by hand."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from attnsparse.numeric import cost
from attnsparse.numeric.cost import C_SELECT, C_SOFTMAX, dense_cost, k_eps_rule, savings, topk_cost


def test_constants_are_the_counted_ones():
    # the hand counts below spell out max, subtract, exp, sum, divide (5) and histogram + partial pass (2)
    assert (C_SOFTMAX, C_SELECT) == (5, 2)


def test_dense_by_hand_large_cache():
    """n = 4 queries and keys, d = 2, cache M = 16 >= d^2 = 4."""
    n, d, M = 4, 2, 16
    qk = 4 * 4 * 2 * 2         # 16 scores, each a length-2 dot product: 2 multiplies + 2 adds = 64
    softmax = 16 * 5           # max, subtract, exp, sum, divide per score = 80
    pv = 4 * 4 * 2 * 2         # 4 outputs of length 2, each a sum of 4 products = 64
    reads_writes = 3 * 8 + 8   # read Q, K, V (4 x 2 each), write the output (4 x 2) = 32
    stream = 16 * 4 / 16       # n^2 d^2 / M = 4 words of K, V streamed past the cached query tiles
    assert dense_cost(n, d, M) == {"flops": qk + softmax + pv, "io_words": reads_writes + stream}
    assert dense_cost(n, d, M)["flops"] == 208 and dense_cost(n, d, M)["io_words"] == 36


def test_dense_by_hand_small_cache():
    """M = 16 < d^2 = 64: the stream term is n^2 d / sqrt(M) = 16 * 8 / 4 = 32."""
    c = dense_cost(4, 8, 16)
    assert c["io_words"] == 4 * 4 * 8 + 32
    assert c["flops"] == 4 * 16 * 8 + 5 * 16


def test_topk_by_hand():
    """n = 4, d = 2, M = 16, k = 1 kept key per query."""
    n, d, M, k = 4, 2, 16, 1
    # oracle: the sparse pass only -- 4 scores of length 2 (16), softmax of 4 scores (20), 4 outputs of
    # one weighted value each (4 x 2 multiply-adds = 16)
    oracle_flops = 16 + 20 + 16
    # words: read Q (8) and the indices (4 x 1), write the output (8), and fetch the kept keys and values:
    # gathering 1 key and 1 value per query moves 4 x 2 x 2 = 16 words, streaming all of them past the
    # cached query tiles n^2 d^2 / M = 4, so the kernel streams
    oracle_io = 8 + 4 + 8 + min(16, 4)
    # with a larger n the gather is cheaper: n = 64, d = 2, M = 16, k = 1 gathers 64 x 2 x 2 = 256 words,
    # streaming would be 64^2 x 4 / 16 = 1024
    assert topk_cost(64, 2, 1, 16, "oracle")["io_words"] == 2 * 64 * 2 + 64 + 256
    assert topk_cost(n, d, k, M, "oracle") == {"flops": oracle_flops, "io_words": oracle_io}
    # counted: first every score (16 dot products of length 2 = 64) and the selection (16 x 2 = 32);
    # the kept scores are then re-weighted from the stored ones (softmax 20, P V 16)
    counted_flops = 64 + 32 + 20 + 16
    # scoring pass: read Q, K (16), stream K past the query tiles (n^2 d^2 / M = 4), write 4 indices
    counted_io = oracle_io + 16 + 4 + 4
    assert topk_cost(n, d, k, M) == {"flops": counted_flops, "io_words": counted_io}


def test_savings_ratios_and_limits():
    s = savings(4, 2, 1, 16, word_bytes=4)
    assert s["dense"]["io_bytes"] == 4 * 36
    o = s["topk (oracle selection)"]
    assert o["flop_ratio"] == pytest.approx(52 / 208) and o["flop_speedup"] == pytest.approx(208 / 52)
    assert o["io_ratio"] == pytest.approx(24 / 36)
    # oracle FLOPs are exactly k/n of dense, at any n, d
    for n, d, k in ((4096, 64, 100), (512, 32, 7)):
        assert savings(n, d, k)["topk (oracle selection)"]["flop_ratio"] == pytest.approx(k / n, rel=1e-14)
    # counted selection caps the FLOP speed-up at (4d + 5) / (2d + 2) = 261/130 (about 2) at d = 64,
    # however small k is
    n, d = 2**20, 64
    c = savings(n, d, 1)["topk (counted selection)"]
    assert c["flop_speedup"] == pytest.approx((4 * d + 5) / (2 * d + 2), rel=1e-4) and c["flop_speedup"] < 2.01
    # gathered top-k moves more words than a tiled dense kernel unless k < n d / (2 M)
    M = 4096
    n, d = 2**16, 64
    kstar = n * d / (2 * M)
    assert savings(n, d, kstar / 4, M)["topk (oracle selection)"]["io_ratio"] < 1
    assert savings(n, d, 4 * kstar, M)["topk (oracle selection)"]["io_ratio"] > 1


def test_k_eps_rule_is_the_tilting_formula():
    n, sigma, eps = 4096, 1.0, 0.1
    assert k_eps_rule(n, sigma, eps) == pytest.approx(n * norm.sf(sigma + norm.ppf(eps)), rel=1e-12)
    assert k_eps_rule(16, 20.0, 0.1) == 1.0  # clamped to [1, n]


def test_k_eps_simulated_against_numpy_rows():
    """2000 seeded rows of n = 256 at sigma = 1.5: the mean k_0.1 agrees with an independent numpy
    simulation of 4000 rows within 4 combined standard errors (false alarm about 6e-5)."""
    n, sigma, eps = 256, 1.5, 0.1
    got = cost.k_eps_simulated(n, sigma, eps, rows=2000, seed=3)
    rng = np.random.default_rng(5)
    s = sigma * rng.standard_normal((4000, n))
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    cs = np.cumsum(-np.sort(-p, axis=1), axis=1)
    k = 1 + np.sum(cs < 1 - eps, axis=1)
    se = k.std() * math.sqrt(1 / 2000 + 1 / 4000)
    assert abs(got - k.mean()) < 4 * se, (got, k.mean(), se)


@pytest.mark.parametrize("call, match", [
    (lambda: dense_cost(1, 64), r"n must be an integer in \[2, "),
    (lambda: dense_cost(64, 0), r"d must be an integer in \[1, "),
    (lambda: dense_cost(64, 8, 8), r"M \(cache words\) must be an integer in \[16, "),
    (lambda: dense_cost(64.0, 8), r"n must be an integer"),
    (lambda: topk_cost(64, 8, 0.5), r"k must be a number in \[1, 64\]"),
    (lambda: topk_cost(64, 8, 65), r"k must be a number in \[1, 64\]"),
    (lambda: topk_cost(64, 8, 4, selection="magic"), r"selection must be 'counted' or 'oracle'"),
    (lambda: k_eps_rule(64, -1.0, 0.1), r"sigma must be a number in \(0, 30\]"),
    (lambda: k_eps_rule(64, 1.0, 1.0), r"eps must be a number in \(0, 1\)"),
    (lambda: k_eps_rule(64, 1.0, math.nan), r"eps must be a number"),
    (lambda: savings(64, 8, 4, word_bytes=0), r"word_bytes must be an integer in \[1, 64\]"),
    (lambda: dense_cost(True, 8), r"n must be an integer"),
])
def test_bad_input_names_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()
