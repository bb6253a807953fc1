"""measure(): real-array sparsity statistics against dense numpy references."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attnsparse.numeric.measure import measure


def column_set(naive, Q, K, causal, scale, last_q, n_cols):
    P = naive.naive_softmax(naive.naive_scores(Q, K, causal, scale))
    score = P[-last_q:].sum(axis=0)
    cols = np.zeros(K.shape[0])
    cols[np.argsort(-score, kind="stable")[:n_cols]] = 1.0
    return cols


@settings(max_examples=40, deadline=None)
@given(n_q=st.integers(1, 12), n_k=st.integers(1, 40), d=st.integers(1, 6), causal=st.booleans(),
       tile=st.sampled_from([1, 3, None]), seed=st.integers(0, 2**31), sink=st.integers(1, 5),
       window=st.integers(1, 6), keep=st.integers(1, 10))
def test_rows_match_dense(naive, n_q, n_k, d, causal, tile, seed, sink, window, keep):
    if causal and n_q > n_k:
        n_q = n_k
    rng = np.random.default_rng(seed)
    Q, K, V = rng.standard_normal((n_q, d)), rng.standard_normal((n_k, d)), rng.standard_normal((n_k, 3))
    scale, last_q, n_cols = 1 / math.sqrt(d), min(4, n_q), max(1, n_k // 3)
    m = measure(Q, K, V, causal=causal, topk=(1, 3), eps=(0.2,), sink=sink, window=window, h2o=0.05,
                last_q=last_q, n_cols=n_cols, keep=keep, tile_rows=tile)
    cols = column_set(naive, Q, K, causal, scale, last_q, n_cols)
    rows, P = naive.naive_measure_rows(Q, K, causal, scale, sink, window, 0.05, cols)
    for i, name in enumerate([f"sink_mass({sink})", f"window_mass({window})", "h2o_sparsity(0.05)",
                              f"column_coverage({n_cols})"]):
        np.testing.assert_allclose(m.rows[name][0], rows[:, i], rtol=1e-9, atol=1e-12, err_msg=name)
    want = naive.naive_attention_stats(Q, K, ["topk_mass", "topk_mass", "k_eps", "ipr"], [1, 3, 0.2, 0],
                                       causal=causal)
    got = np.stack([m.rows[x][0] for x in ("topk_mass(1)", "topk_mass(3)", "k_eps(0.2)", "ipr")], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    AV = P @ V
    err = np.linalg.norm(naive.naive_topk_attention(P, keep) @ V - AV) / np.linalg.norm(AV)
    np.testing.assert_allclose(m.scalars[f"output_error(keep={keep})"], err, rtol=1e-9, atol=1e-12)


def test_heads_are_measured_separately():
    rng = np.random.default_rng(5)
    Q, K = rng.standard_normal((3, 30, 4)), rng.standard_normal((3, 40, 4))
    both = measure(Q, K, causal=True)
    for h in range(3):
        one = measure(Q[h], K[h], causal=True)
        for name, x in one.rows.items():
            np.testing.assert_array_equal(both.rows[name][h], x[0], err_msg=name)


def test_transfer_to_the_same_input_is_perfect_and_to_noise_is_not():
    rng = np.random.default_rng(6)
    Q, K = rng.standard_normal((64, 8)), rng.standard_normal((256, 8))
    same = measure(Q, K, causal=True, transfer=(Q, K), n_cols=16)
    assert same.scalars["transfer_column_recall"] == 1.0
    np.testing.assert_array_equal(same.rows["transfer_coverage"], same.rows["own_coverage"])
    np.testing.assert_allclose(same.rows["own_coverage"], same.rows["column_coverage(16)"], rtol=1e-12)
    other = measure(Q, K, causal=True, transfer=(rng.standard_normal((64, 8)), rng.standard_normal((256, 8))),
                    n_cols=16)
    # an unrelated input: the chosen columns are a near-random 16 of 256 keys
    assert other.scalars["transfer_column_recall"] < 0.5
    assert other.summary["transfer_coverage"]["mean"] < other.summary["own_coverage"]["mean"]


def test_gaussian_input_is_close_to_gaussian_theory():
    """Gaussian Q, K: given q, the logits of a row are iid Gaussian, so the surrogate rows
    (iid N(0, sigma_row^2)) must reproduce IPR and k_eps; a broken surrogate (say, sigma
    ignored) is off by far more than the bound here."""
    rng = np.random.default_rng(7)
    Q, K = 3 * rng.standard_normal((200, 16)), rng.standard_normal((2000, 16))
    th = measure(Q, K, eps=(0.1,)).theory
    assert th["fitted logit sigma (median)"] > 2
    assert abs(th["IPR log10 ratio (median)"]) < 0.1
    assert abs(th["k_eps(0.1) log10 ratio (median)"]) < 0.1


@pytest.mark.parametrize("kw, match", [
    (dict(V=np.ones((5, 2))), "V must have one row per key"),
    (dict(V=np.full((4, 2), np.inf)), "V contains 8 NaN or infinite"),
    (dict(topk=()), "topk must not be empty"),
    (dict(topk=(0,)), "topk entries must be an integer >= 1"),
    (dict(eps=(1.5,)), r"eps entries must be a number in \(0, 1\)"),
    (dict(h2o=0), "h2o must be"),
    (dict(sink=0), "sink must be"),
    (dict(window=2.5), "window must be"),
    (dict(transfer=(np.ones((3, 2)),)), "transfer must be a pair"),
    (dict(transfer=(np.ones((2, 2)), np.ones((4, 2)))), "shapes of Q and K"),
    (dict(seed=-1), "seed must be"),
    (dict(scale=1e300), "beyond float64 range"),  # finite inputs whose logits overflow
])
def test_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        measure(np.ones((3, 2)), np.ones((4, 2)), **kw)


def test_blas_is_held_to_one_thread_while_measure_runs(monkeypatch):
    # OpenBLAS's idle threads spin after each product and take the cores from numba's kernels;
    # measure holds BLAS to one thread for its whole run and gives the setting back afterwards
    from threadpoolctl import threadpool_info, threadpool_limits

    import attnsparse.numeric.measure as mod

    seen = []
    tiles = mod._score_tiles

    def spy(*args):
        seen.append([p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"])
        yield from tiles(*args)

    monkeypatch.setattr(mod, "_score_tiles", spy)
    rng = np.random.default_rng(0)
    with threadpool_limits(2, user_api="blas"):
        before = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
        measure(rng.standard_normal((16, 4)), rng.standard_normal((16, 4)), head_theory="none", head_models=False)
        after = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    assert seen and all(t == [1] * len(t) for t in seen), seen
    assert after == before
