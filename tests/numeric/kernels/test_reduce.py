"""The fused row reducer and the selection kernels against tests/naive.py and mpmath."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from attnsparse.numeric.codes import STAT_CODES
from attnsparse.numeric.kernels._reduce import _row_reduce, _row_scratch
from attnsparse.numeric.kernels._select import _count_within, _kth_smallest

SMOOTH = ["log_partition", "max_logit", "max_weight", "ipr", "entropy", "topk_mass", "tail_mass", "weight",
          "partition", "logit", "top_gap", "argmax"]
INTEGER = ["count_above", "k_eps"]


def kernel_stats(s, names, params):
    out = np.empty(len(names))
    _row_reduce(np.array(s, dtype=np.float64), np.array([STAT_CODES[x] for x in names], dtype=np.int64),
                np.array(params, dtype=np.float64), out, _row_scratch(len(s)))
    return out


def assert_integer_stat_ok(name, got, want, s, eps):
    """Exact, unless the reference's own boundary sits within rounding of eps."""
    if got == want:
        return
    m = np.max(s)
    p = np.exp(s - (m + np.log(np.sum(np.exp(s - m)))))
    if name == "count_above":
        assert np.min(np.abs(p - eps)) <= 1e-12 * eps, (name, got, want)
    else:
        cs = np.concatenate([[0.0], np.cumsum(np.sort(p))])
        assert np.min(np.abs(cs - eps)) <= 1e-12, (name, got, want)


def check_row(naive, s, k, eps, j):
    names = SMOOTH + INTEGER
    params = {"topk_mass": k, "tail_mass": k, "weight": j, "logit": j, "count_above": eps, "k_eps": eps}
    par = [params.get(x, 0.0) for x in names]
    got, want = kernel_stats(s, names, par), naive.naive_row_stats(s, names, par)
    for i, name in enumerate(names):
        if name in INTEGER:
            assert_integer_stat_ok(name, got[i], want[i], s, eps)
        elif name == "top_gap" and len(s) > 1 and np.sort(s)[-2] == -np.inf:
            assert got[i] == np.inf
        else:
            np.testing.assert_allclose(got[i], want[i], rtol=1e-9, atol=1e-12, err_msg=name)


rows = st.integers(1, 400).flatmap(lambda n: hnp.arrays(
    np.float64, n, elements=st.floats(-60, 60, allow_nan=False, allow_infinity=False)))


@settings(max_examples=150, deadline=None)
@given(s=rows, k=st.integers(0, 500), eps=st.sampled_from([0.5, 0.1, 1e-3, 1e-8]), j=st.integers(0, 10**6),
       mask=st.integers(0, 2**31))
def test_row_matches_naive(naive, s, k, eps, j, mask):
    """Arbitrary rows (ties, n = 1, odd n), some keys masked with -inf."""
    rng = np.random.default_rng(mask)
    s = s.copy()
    masked = rng.random(s.size) < 0.3
    masked[rng.integers(s.size)] = False  # keep one key
    s[masked] = -np.inf
    check_row(naive, s, k, eps, j % s.size)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3000), sigma=st.sampled_from([0.0, 0.01, 1.0, 3.0, 10.0]), seed=st.integers(0, 2**31),
       k=st.integers(1, 100))
def test_gaussian_rows_match_naive(naive, n, sigma, seed, k):
    s = sigma * np.random.default_rng(seed).standard_normal(n)
    check_row(naive, s, k, 0.05, n // 2)


@pytest.mark.parametrize("sigma", [20.0, 50.0])
@pytest.mark.parametrize("n", [2, 17, 300])
def test_extreme_logits_against_mpmath(naive, sigma, n):
    """At sigma = 50 plain float64 softmax overflows (e^{150}); log-sum-exp must not."""
    names = ["log_partition", "max_weight", "ipr", "entropy", "topk_mass", "tail_mass", "k_eps"]
    for seed in range(3):
        s = sigma * np.random.default_rng(seed).standard_normal(n)
        par = [0, 0, 0, 0, 2, 2, 1e-6]
        got, want = kernel_stats(s, names, par), naive.mp_row_stats(s, names, par)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-300)
        assert np.isfinite(got).all()


def test_all_masked_row_is_nan():
    out = kernel_stats(np.full(5, -np.inf), ["log_partition", "ipr", "k_eps"], [0, 0, 0.1])
    assert np.isnan(out).all()


def test_masked_keys_change_nothing_but_n():
    """Masking keys is the same as removing them (for statistics that do not index keys)."""
    s = np.random.default_rng(3).standard_normal(200) * 2
    masked = s.copy()
    masked[::3] = -np.inf
    names = ["log_partition", "ipr", "entropy", "topk_mass", "tail_mass", "k_eps", "count_above"]
    par = [0, 0, 0, 5, 5, 0.01, 0.001]
    np.testing.assert_allclose(kernel_stats(masked, names, par), kernel_stats(s[np.isfinite(masked)], names, par),
                               rtol=1e-12)


adversarial = st.sampled_from(["sorted", "reversed", "organ", "equal", "two-valued", "random"])


def make_weights(kind, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.random(n)
    if kind == "sorted":
        return np.sort(x)
    if kind == "reversed":
        return np.sort(x)[::-1].copy()
    if kind == "organ":
        h = np.sort(x)
        return np.concatenate([h[::2], h[1::2][::-1]])
    if kind == "equal":
        return np.full(n, 0.25)
    if kind == "two-valued":
        return rng.integers(0, 2, n) * 0.5
    return x


@settings(max_examples=80, deadline=None)
@given(kind=adversarial, n=st.integers(1, 3000), seed=st.integers(0, 2**31), q=st.floats(0, 1))
def test_selection_matches_sort(kind, n, seed, q):
    w = make_weights(kind, n, seed)
    srt = np.sort(w)
    r = min(int(q * n), n - 1)
    assert _kth_smallest(w.copy(), r) == srt[r]
    budget = q * np.sum(w)
    cs = np.cumsum(srt)
    want = int(np.sum(cs <= budget))
    got = _count_within(w.copy(), budget)
    assert got == want or np.min(np.abs(cs - budget)) <= 1e-12 * max(budget, 1e-300)


def test_vectorised_exp_within_one_ulp():
    from attnsparse.numeric.kernels._reduce import X_MIN, _exp_shifted

    rng = np.random.default_rng(4)
    x = np.concatenate([-rng.random(200_000) * 708, -rng.random(1000) * 1e-6,
                        [0.0, -1e-300, -0.5 * np.log(2), X_MIN, np.nextafter(X_MIN, 0)],
                        -np.log(2) * np.arange(1, 1000)])
    x = x[x >= X_MIN]
    s, xs, tf = x.copy(), np.empty_like(x), np.empty_like(x)
    _exp_shifted(s, 0.0, xs, tf)
    want = np.exp(x)
    assert np.max(np.abs(s - want) / np.spacing(want)) <= 1.0
    assert np.array_equal(xs, x)
    below = np.array([np.nextafter(X_MIN, -np.inf), -709.0, -1e4, -np.inf])
    s = below.copy()
    _exp_shifted(s, 0.0, np.empty(4), np.empty(4))
    assert np.array_equal(s, np.zeros(4))


@pytest.mark.parametrize("s", [[2.2250738585072014e-309, 0, 0, 0, 0], [1e-300, 0, 0], [5.0] * 40,
                               [1e-320] + [0.0] * 80])
def test_rows_with_a_tiny_spread(naive, s):
    """Logit spreads so small that the bucket width would overflow (found by hypothesis)."""
    check_row(naive, np.array(s, dtype=np.float64), 1, 0.5, 0)
    check_row(naive, np.array(s, dtype=np.float64), 0, 0.5, 0)
