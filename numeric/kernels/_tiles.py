"""Private numba kernels: statistics of real attention score rows, tile by tile.

``_fused_stats`` does everything in one parallel launch: each chunk of work owns one score
buffer of ``tile`` rows, forms ``S = Qs[t0:t1] @ K.T`` with the register-blocked
micro-kernel ``_scores`` (faster here than calling BLAS from numba threads, and free of
BLAS thread pools fighting numba's) and reduces each row in place while it is in cache.
``_measure_tile`` reduces a tile the caller formed (with BLAS, outside numba). Row ``i`` of the tile is
query position ``q0 + i`` aligned to the keys (``q0 = t0 + n_keys - n_queries``); under a
causal mask it sees keys ``j <= q0 + i``, the prefix ``S[i, :q0 + i + 1]``, so masked keys
cost nothing. Each ``prange`` iteration writes only its own rows (PITFALLS 13).
"""

import numpy as np
from numba import njit, prange

from ..codes import M_ENTROPY, M_FIXED, M_H2O, M_IPR, M_KEYS, M_MAX_WEIGHT, M_SIGMA, M_SINK, M_WINDOW
from ._reduce import _count_small, _group, _kth_largest, _n_buckets, _row_exp, _row_range, _row_reduce, \
    _row_scratch, _topk_sums


@njit(cache=True)
def _n_visible(n_keys, pos, causal):
    """Number of keys row ``pos`` attends to."""
    return min(n_keys, pos + 1) if causal else n_keys


@njit(parallel=True, cache=True)
def _sink_moments(S, q0, causal, sink, mean_rest, var_rest, offset):
    """Per row ``i`` of the score tile ``S`` (query position ``q0 + i``): mean and population
    variance of the visible keys from ``sink`` on (two passes: the mean, then the centred
    squares) and each sink key's score minus that mean; NaN in all three where no such key
    is visible. ``S`` is left as it is.
    """
    n_keys = S.shape[1]
    for i in prange(S.shape[0]):
        nv = _n_visible(n_keys, q0 + i, causal)
        c = nv - sink
        if c <= 0:
            mean_rest[i] = np.nan
            var_rest[i] = np.nan
            offset[i, :] = np.nan
            continue
        acc = 0.0
        for j in range(sink, nv):
            acc += S[i, j]
        mr = acc / c
        acc2 = 0.0
        for j in range(sink, nv):
            d = S[i, j] - mr
            acc2 += d * d
        mean_rest[i] = mr
        var_rest[i] = acc2 / c
        for j in range(sink):
            offset[i, j] = S[i, j] - mr


# flags for the score micro-kernel only: reassociation lets LLVM vectorise the d-sums;
# no nnan/ninf, so inf and NaN keep their meaning (PITFALLS 11); inputs are finite
_SCORE_FASTMATH = {"nsz", "arcp", "contract", "reassoc"}
# keys per block of the micro-kernel (a block of K stays in L2 across the tile's rows)
_KEY_BLOCK = 256


@njit(fastmath=_SCORE_FASTMATH, cache=True)
def _scores(Q, K, n_keys, S):
    """``S[i, j] = <Q[i], K[j]>`` for ``j < n_keys``, four query rows at a time."""
    n_q, d = Q.shape
    for j0 in range(0, n_keys, _KEY_BLOCK):
        j1 = min(n_keys, j0 + _KEY_BLOCK)
        i = 0
        while i + 4 <= n_q:
            for j in range(j0, j1):
                a0 = 0.0
                a1 = 0.0
                a2 = 0.0
                a3 = 0.0
                for a in range(d):
                    k = K[j, a]
                    a0 += Q[i, a] * k
                    a1 += Q[i + 1, a] * k
                    a2 += Q[i + 2, a] * k
                    a3 += Q[i + 3, a] * k
                S[i, j] = a0
                S[i + 1, j] = a1
                S[i + 2, j] = a2
                S[i + 3, j] = a3
            i += 4
        for r in range(i, n_q):
            for j in range(j0, j1):
                acc = 0.0
                for a in range(d):
                    acc += Q[r, a] * K[j, a]
                S[r, j] = acc


@njit(parallel=True, cache=True)
def _fused_stats(Qs, K, tile, n_chunks, q0, causal, codes, sparams, out):
    """``out[i]``: statistics ``codes`` of the score row ``Qs[i] @ K.T`` (query position ``q0 + i``).

    Tiles of ``tile`` query rows are dealt to ``n_chunks`` chunks round-robin; the result
    does not depend on ``n_chunks`` or on the number of threads.
    """
    n_q, n_k = Qs.shape[0], K.shape[0]
    n_tiles = (n_q + tile - 1) // tile
    for c in prange(n_chunks):
        S = np.empty((tile, n_k))
        scratch = _row_scratch(n_k)
        for t in range(c, n_tiles, n_chunks):
            t0 = t * tile
            t1 = min(n_q, t0 + tile)
            nv = _n_visible(n_k, q0 + t1 - 1, causal)  # keys seen by the tile's last row
            _scores(Qs[t0:t1], K, nv, S)
            for i in range(t1 - t0):
                _row_reduce(S[i, :_n_visible(n_k, q0 + t0 + i, causal)], codes, sparams, out[t0 + i], scratch)


@njit(cache=True)
def _row_moments(s):
    """Mean and standard deviation (``ddof=1``; 0 for one entry) of the finite row ``s``."""
    n = s.shape[0]
    shift = s[0]
    acc = 0.0
    acc2 = 0.0
    for j in range(n):
        x = s[j] - shift
        acc += x
        acc2 += x * x
    mean = acc / n
    if n < 2:
        return shift + mean, 0.0
    return shift + mean, np.sqrt(max(acc2 - n * mean * mean, 0.0) / (n - 1))


@njit(cache=True)
def _keep_topk(p, t, k, ps):
    """``ps``: the weights ``p`` kept where they are among their ``k`` largest (``t`` the
    ``k``-th largest; ties at ``t`` kept in index order), renormalised; zero elsewhere."""
    n = p.shape[0]
    n_above = 0
    for j in range(n):
        if p[j] > t:
            n_above += 1
    tied_left = k - n_above
    kept = 0.0
    for j in range(n):
        keep = p[j] > t
        if not keep and p[j] == t and tied_left > 0:
            keep = True
            tied_left -= 1
        ps[j] = p[j] if keep else 0.0
        kept += ps[j]
    for j in range(n):
        ps[j] /= kept
    ps[n:] = 0.0


@njit(parallel=True, cache=True)
def _measure_tile(S, q0, causal, sink, window, h2o, ks, epss, colsets, keep_k, out, PS):
    """Sparsity statistics of the score rows ``S[i]``; ``S`` becomes the weight tile ``P``.

    ``out[i]`` gets the ``M_*`` columns of :mod:`..codes`, then ``T(k)`` for ``ks``, ``k_eps`` for ``epss``
    and the mass on each 0/1 column set ``colsets[c]``. Masked keys get weight 0 in ``P``.
    With ``keep_k > 0``, ``PS[i]`` is row ``i`` of the top-``keep_k`` renormalised weights.
    """
    n_keys = S.shape[1]
    nk, ne = ks.shape[0], epss.shape[0]
    for i in prange(S.shape[0]):
        pos = q0 + i
        nv = _n_visible(n_keys, pos, causal)
        s = S[i, :nv]
        o = out[i]
        m1, _m2, amax, lo = _row_range(s)
        _mean, o[M_SIGMA] = _row_moments(s)
        scratch = _row_scratch(nv)
        bk, _xs, cnt, sm, grouped, ends = scratch
        nb, inv_w = _n_buckets(nv, m1 - lo)
        zr, sq, se = _row_exp(s, m1, amax, nb, inv_w, scratch)
        hist = _group(s, bk, cnt, nb, ends, grouped)
        z = 1.0 + zr
        o[M_IPR] = sq / (z * z)
        o[M_ENTROPY] = np.log1p(zr) - se / z
        o[M_MAX_WEIGHT] = 1.0 / z
        o[M_KEYS] = nv
        n_low = 0
        for j in range(nv):  # H2O: weights below h2o * max weight (the max has e = 1)
            if s[j] < h2o:
                n_low += 1
        o[M_H2O] = n_low / nv
        for t in range(nk):
            k = ks[t]
            o[M_FIXED + t] = 1.0 if k >= nv else _topk_sums(hist, sm, k)[0] / z
        for t in range(ne):
            o[M_FIXED + nk + t] = nv - _count_small(hist, sm, epss[t] * z)
        keep = min(keep_k, nv)
        t_keep = _kth_largest(hist, keep) / z if keep > 0 else 0.0  # the same division as s /= z
        s /= z
        S[i, nv:] = 0.0
        o[M_SINK] = np.sum(s[:min(sink, nv)])
        last = min(pos, nv - 1)  # the window ends at the query's own position (none if < 0)
        o[M_WINDOW] = np.sum(s[max(0, last - window + 1):last + 1]) if last >= 0 else 0.0
        for c in range(colsets.shape[0]):
            acc = 0.0
            for j in range(nv):
                acc += s[j] * colsets[c, j]
            o[M_FIXED + nk + ne + c] = acc
        if keep > 0:
            _keep_topk(s, t_keep, keep, PS[i])
