"""Block density at a fixed coverage, sparsity ratio and intervals (numeric/blocks.py) against brute force."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from attnsparse.numeric.blocks import BlockMass, batch_ci, mean_ci, needed_blocks
from attnsparse.numeric.measure import measure


def brute_block_density(Q, K, causal, b=64, coverage=0.95):
    """Dense P; for every b-row block the visible b-key blocks by their masses, the fewest reaching coverage."""
    n_q, n_k = Q.shape[0], K.shape[0]
    S = Q @ K.T / math.sqrt(Q.shape[1])
    mask = np.ones((n_q, n_k), bool)
    if causal:
        mask = np.arange(n_k)[None, :] <= (np.arange(n_q) + n_k - n_q)[:, None]
    S = np.where(mask, S, -np.inf)
    P = np.exp(S - S.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    need, vis = [], []
    for r0 in range(0, n_q, b):
        masses = []
        for c0 in range(0, n_k, b):
            if mask[r0:r0 + b, c0:c0 + b].any():  # visible: some query of the row block sees some key of it
                masses.append(P[r0:r0 + b, c0:c0 + b].sum())
        target = coverage * P[r0:r0 + b].sum()
        masses.sort(reverse=True)
        total, cnt = 0.0, 0
        while cnt < len(masses) and total < target * (1 - 1e-12):
            total += masses[cnt]
            cnt += 1
        need.append(cnt)
        vis.append(len(masses))
    return sum(need) / sum(vis), np.array(need) / np.array(vis)


@pytest.mark.parametrize("causal", [False, True])
def test_block_density_matches_brute_force(causal):
    rng = np.random.default_rng(21)
    # 3 heads: diffuse, peaked (sigma about 3), and a head whose keys 0..3 are a strong sink
    n_q, n_k, d = 200, 230, 16
    Q = rng.standard_normal((3, n_q, d)) * np.array([0.3, 3.0, 1.0])[:, None, None]
    K = rng.standard_normal((3, n_k, d))
    c = np.full(d, 1.5)  # head 2: every query shares c and key 0 is 3 c, a logit offset of about 27
    Q[2] += c
    K[2, 0] = 3 * c
    m = measure(Q, K, causal=causal, eps=(0.1,), topk=(1,), head_theory="none", head_models=False, tile_rows=37)
    dens = []
    for h, rep in enumerate(m.heads):
        want, per_rb = brute_block_density(Q[h], K[h], causal)
        got = rep["sparsity"]["block_density(64, 0.95)"]
        assert got["value"] == pytest.approx(want, rel=1e-12), h
        assert got["mean_over_row_blocks"] == pytest.approx(per_rb.mean(), rel=1e-12)
        dens.append(want)
    # the sink head keeps 95% in key block 0 alone; the diffuse head needs most blocks
    assert dens[2] < 0.5 < dens[0], dens


def test_block_density_of_a_block_diagonal_pattern():
    """Queries of block r attend only to key block r: one block of 4 per row block, D = 1/4 exactly."""
    n, b = 256, 64
    P = np.zeros((n, n))
    for r in range(4):
        P[r * b:(r + 1) * b, r * b:(r + 1) * b] = 1.0 / b
    bm = BlockMass(n, n, block=b)
    for t0 in range(0, n, 50):  # tiles that straddle row blocks
        bm.add(P[t0:t0 + 50], t0)
    dens, per_rb = bm.density()
    assert dens == 0.25 and np.all(per_rb == 0.25)
    # uniform weights: 95% of a row block's mass needs ceil(0.95 * 4) = 4 of its 4 blocks
    bm = BlockMass(n, n, block=b)
    bm.add(np.full((n, n), 1.0 / n), 0)
    assert bm.density()[0] == 1.0


def test_needed_blocks_by_hand():
    assert needed_blocks([0.1, 0.6, 0.3], 0.65) == 2  # 0.6 + 0.3
    assert needed_blocks([0.1, 0.6, 0.3], 0.6) == 1
    assert needed_blocks([0.1, 0.6, 0.3], 2.0) == 3  # never reached: all blocks


def test_sparsity_ratio_matches_numpy(naive):
    rng = np.random.default_rng(22)
    Q, K = rng.standard_normal((2, 40, 8)) * 2.0, rng.standard_normal((2, 40, 8))
    m = measure(Q, K, eps=(0.1,), topk=(1,), head_theory="none", head_models=False)
    for h in range(2):
        k = naive.naive_attention_stats(Q[h], K[h], ["k_eps"], [0.05])[:, 0]
        np.testing.assert_allclose(m.rows["sparsity_ratio(0.95)"][h], 1 - k / 40, rtol=1e-12)
        assert m.heads[h]["sparsity"]["sparsity_ratio(0.95)"]["mean"] == pytest.approx(np.mean(1 - k / 40))


def test_mean_ci_is_the_student_t_interval():
    x = np.array([1.0, 2.0, 4.0, 7.0])
    m, lo, hi = mean_ci(x, 0.9)
    half = sps.t.ppf(0.95, 3) * np.std(x, ddof=1) / 2
    assert (m, lo, hi) == pytest.approx((3.5, 3.5 - half, 3.5 + half), rel=1e-12)
    assert all(math.isnan(v) for v in mean_ci([1.0])[1:])


def test_batch_ci_covers_under_correlation():
    """Method of batch means on AR(1) rows (rho 0.9): coverage of the true mean 0 near 0.95, while the
    naive iid interval of the same rows (the negative control) under-covers badly. 400 series of 512 rows;
    with 0.95 nominal the batch-means count has sd about 0.011, so >= 0.88 fails with probability < 1e-6
    unless the method is wrong; the iid interval covers about 0.45."""
    rng = np.random.default_rng(23)
    reps, n, rho = 400, 512, 0.9
    e = rng.standard_normal((reps, n))
    x = np.empty_like(e)
    x[:, 0] = e[:, 0] / math.sqrt(1 - rho ** 2)
    for i in range(1, n):
        x[:, i] = rho * x[:, i - 1] + e[:, i]
    cover_b = np.mean([lo <= 0 <= hi for _, lo, hi in (batch_ci(r) for r in x)])
    cover_iid = np.mean([lo <= 0 <= hi for _, lo, hi in (mean_ci(r) for r in x)])
    assert cover_b >= 0.88, cover_b
    assert cover_iid < 0.7, cover_iid
