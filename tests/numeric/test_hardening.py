"""Hardening of the numeric floor (issue 15): no silent wrong or NaN value, no deep traceback.

The table ``BAD`` holds inputs that must be refused: each case names the exception type and
a fragment of the message naming the parameter, and the last traceback frame must be
attnsparse's own (not numba, SymPy or numpy). The value tests below pin the cases where the
right answer is a number (a large ``mu``, ``k`` past int64, symbolic offsets).
"""

import math
import os

import numba
import numpy as np
import pytest
import sympy as sp

import attnsparse as asp
from attnsparse.numeric import exact
from attnsparse.numeric.measure import attention_stats, measure
from attnsparse.numeric.simulate import simulate_stats

st = asp.stat
Delta = sp.Symbol("Delta", positive=True)
n_sym = sp.Symbol("n", positive=True, integer=True)
RNG = np.random.default_rng(0)
Q, K = RNG.standard_normal((16, 8)), RNG.standard_normal((16, 8))
I2 = np.eye(2)


def _sim(model, stats, values=None, samples=8):
    return simulate_stats(model, stats, samples, 0, values)


def _nan_stat(s):
    return np.nan


def _far_index(s):
    return s[100000]


BAD = [
    # large or overflowing model parameters
    ("mu past 1e300", lambda: asp.IIDLogits(n=8, sigma=1, mu=1e301), ValueError, "mu"),
    ("offset past 1e8", lambda: asp.IIDLogits(n=8, sigma=1, offsets={0: 1e9}), ValueError, "offsets[0]"),
    ("symbolic offset bound past 1e8",
     lambda: _sim(asp.IIDLogits(n=8, sigma=1, offsets={0: Delta}), [st.ipr], {"Delta": 1e9}), ValueError, "offsets[0]"),
    ("symbolic offset unbound", lambda: _sim(asp.IIDLogits(n=8, sigma=1, offsets={0: Delta}), [st.ipr]),
     ValueError, "offsets[0]"),
    ("bilinear mu_k overflows", lambda: asp.BilinearQK(n=8, d=2, sigma_q=1e6, mu_k=1e305), ValueError, "mu_k"),
    ("bilinear mu_k overflows at bind",
     lambda: _sim(asp.BilinearQK(n=8, d=2, sigma_q=sp.Symbol("s"), mu_k=1e299), [st.ipr], {"s": 1e6}),
     ValueError, "mu_k"),
    ("self W overflows", lambda: asp.SelfAttention(n=8, d=2, sigma_x=1, W_Q=1e200 * I2, W_K=1e200 * I2),
     ValueError, "W_Q"),
    ("self logits overflow", lambda: asp.SelfAttention(n=8, d=2, sigma_x=1, W_Q=1e150 * I2, W_K=1e150 * I2),
     ValueError, "W_Q"),
    ("self complex W_Q", lambda: asp.SelfAttention(n=8, d=2, sigma_x=1, W_Q=1j * I2, W_K=I2), ValueError, "W_Q"),
    # bare numpy / float() messages before
    ("offset string", lambda: asp.IIDLogits(n=8, sigma=1, offsets={0: "abc"}), TypeError, "offsets[0]"),
    ("offset complex", lambda: asp.IIDLogits(n=8, sigma=1, offsets={0: 1 + 1j}), ValueError, "offsets[0]"),
    ("mu_k complex", lambda: asp.BilinearQK(n=8, d=2, mu_k=[1 + 1j, 0]), ValueError, "mu_k"),
    ("mu_k string", lambda: asp.BilinearQK(n=8, d=2, mu_k="abc"), TypeError, "mu_k"),
    ("mu_k ragged", lambda: asp.BilinearQK(n=8, d=2, mu_k=[[1.0], [1.0, 2.0]]), ValueError, "mu_k"),
    ("W_Q string", lambda: asp.SelfAttention(n=8, d=2, sigma_x=1, W_Q="abc", W_K=I2), TypeError, "W_Q"),
    ("W_K string entries", lambda: asp.SelfAttention(n=8, d=2, sigma_x=1, W_Q=I2, W_K=[["a", "b"], ["c", "d"]]),
     TypeError, "W_K"),
    ("W_Q ragged", lambda: asp.SelfAttention(n=8, d=2, sigma_x=1, W_Q=[[1.0], [1.0, 2.0]], W_K=I2),
     ValueError, "W_Q"),
    ("binding is a string", lambda: _sim(asp.IIDLogits(n=n_sym, sigma=1), [st.ipr], {"n": "8"}), TypeError, "n"),
    # symbolic where a number is needed
    ("self symbolic d", lambda: asp.SelfAttention(n=8, d=sp.Symbol("d"), sigma_x=1, W_Q=I2, W_K=I2),
     ValueError, "d must be a number"),
    ("eval sigma symbol", lambda: exact.eval_ipr(10, 64, sp.Symbol("sigma")), TypeError, "sigma"),
    ("eval sigma string", lambda: exact.eval_log_partition(10, 64, "1.0"), TypeError, "sigma"),
    ("eval k symbol", lambda: exact.eval_moment(10, 64, 1.0, sp.Symbol("k")), TypeError, "k"),
    ("eval x symbol", lambda: exact.eval_mass_above(10, 64, 1.0, sp.Symbol("x")), TypeError, "x"),
    ("eval sigma complex", lambda: exact.eval_entropy(10, 64, 1 + 2j), TypeError, "sigma"),
    # integer parameters
    ("k past float64", lambda: _sim(asp.IIDLogits(n=8, sigma=1), [st.topk_mass(10**400)]), ValueError, "topk_mass(k)"),
    # measure on huge logits
    ("measure huge Q", lambda: measure(Q * 1e154, K), ValueError, "Q, K and scale"),
    ("measure huge transfer", lambda: measure(Q, K, transfer=(Q * 1e154, K)), ValueError, "transfer"),
    ("attention_stats overflow", lambda: attention_stats(Q * 1e300, K, [st.ipr]), ValueError, "Q, K and scale"),
    # user statistics and statistics past float64
    ("user out of bounds", lambda: _sim(asp.IIDLogits(n=8, sigma=1), [st.logits(_far_index)]), IndexError,
     "stat.logits(_far_index)"),
    ("jitted user out of bounds", lambda: _sim(asp.IIDLogits(n=8, sigma=1), [st.logits(numba.njit(_far_index))]),
     IndexError, "out of bounds"),
    ("user NaN", lambda: _sim(asp.IIDLogits(n=8, sigma=1), [st.ipr, st.logits(_nan_stat)]), ValueError,
     "stat.logits(_nan_stat)"),
    ("partition overflows", lambda: _sim(asp.IIDLogits(n=8, sigma=1, mu=1000), [st.partition]), ValueError,
     "stat.partition"),
]

_FOREIGN = tuple(f"{os.sep}{pkg}{os.sep}" for pkg in ("numba", "sympy", "numpy"))


@pytest.mark.parametrize("build, exc, name", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_is_refused_clearly(build, exc, name):
    with pytest.raises(exc) as info:
        build()
    assert name in str(info.value), str(info.value)
    last = str(info.traceback[-1].path)
    assert not any(f in last for f in _FOREIGN), f"the error is raised inside {last}"


# ----------------------------------------------------------------------------- right values

SOFTMAX = [st.max_weight, st.ipr, st.entropy, st.topk_mass(4), st.tail_mass(8), st.k_eps(0.1),
           st.count_above(0.05), st.weight(3), st.top_gap, st.argmax]
MOVING = [st.max_logit, st.log_partition, st.logit(3)]


@pytest.mark.parametrize("mu", [1e15, 1e17, -3e200])
def test_mu_cancels_in_softmax(mu):
    """Before: at mu = 1e17 every row was exactly uniform (max_weight 1/64)."""
    base = _sim(asp.IIDLogits(n=64, sigma=1), SOFTMAX + MOVING, samples=50)
    big = _sim(asp.IIDLogits(n=64, sigma=1, mu=mu), SOFTMAX + MOVING, samples=50)
    k = len(SOFTMAX)
    np.testing.assert_array_equal(big[:, :k], base[:, :k])
    np.testing.assert_array_equal(big[:, k:], base[:, k:] + mu)


def test_mu_is_added_back_where_reported():
    """Small mu: the moving statistics are the shifted ones, the partition is e^mu Z."""
    mu = 2.5
    base = _sim(asp.IIDLogits(n=32, sigma=1, offsets={0: 2.0}), MOVING + [st.partition], samples=50)
    got = _sim(asp.IIDLogits(n=32, sigma=1, mu=mu, offsets={0: 2.0}), MOVING + [st.partition], samples=50)
    np.testing.assert_allclose(got[:, :3], base[:, :3] + mu, rtol=1e-15, atol=0)
    np.testing.assert_allclose(got[:, 3], base[:, 3] * math.exp(mu), rtol=1e-14)


def test_user_statistics_see_the_full_row():
    m = asp.IIDLogits(n=16, sigma=1, mu=5.0)
    x = _sim(m, [st.logit(0), st.logits(lambda s: s[0])])
    np.testing.assert_array_equal(x[:, 0], x[:, 1])


@pytest.mark.parametrize("k", [8, 9, 2**63, 2**70])
def test_k_at_or_past_n_is_exact(k):
    """Before: k = 2^63 overflowed int64, giving tail_mass 1 and topk_mass 0."""
    x = _sim(asp.IIDLogits(n=8, sigma=1), [st.topk_mass(k), st.tail_mass(k)])
    assert np.all(x[:, 0] == 1.0) and np.all(x[:, 1] == 0.0)


def test_symbolic_offset_binds_like_a_number():
    sym = _sim(asp.IIDLogits(n=16, sigma=1, offsets={0: Delta}), [st.weight(0), st.ipr], {Delta: 3.0})
    num = _sim(asp.IIDLogits(n=16, sigma=1, offsets={0: 3.0}), [st.weight(0), st.ipr])
    np.testing.assert_array_equal(sym, num)
    assert asp.IIDLogits(n=16, sigma=1, offsets={0: Delta}).free_symbols == {Delta}


def test_measure_large_counts_and_large_logits():
    """k, sink, window and keep past int64 mean every key; large accepted logits give finite theory."""
    V = RNG.standard_normal((16, 4))
    r = measure(Q, K, V, topk=(1, 2**63), sink=2**63, window=2**64, keep=2**63, n_cols=2**63)
    assert np.all(r.rows[f"topk_mass({2**63})"] == 1.0)
    np.testing.assert_allclose(r.rows[f"sink_mass({2**63})"], 1.0, rtol=1e-12)
    assert r.scalars[f"output_error(keep={2**63})"] < 1e-12
    big = measure(Q * 1e100, K)
    assert all(math.isfinite(v) for v in big.theory.values()), big.theory


def test_measure_undefined_values_are_nan():
    """One key: gamma = sigma^2 / (2 ln 1) is undefined, reported as math.nan (documented)."""
    r = measure(Q[:1], K[:1])
    undefined = [name for name, v in r.theory.items() if not math.isfinite(v)]
    assert undefined == ["gamma = sigma^2 / (2 ln n) (median)"]
