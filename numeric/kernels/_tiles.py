"""Private numba kernels: statistics of a tile of real attention score rows.

The caller forms a score tile ``S = scale * Q[t0:t1] @ K.T`` (BLAS) and passes it here;
these kernels reduce each row in place, in parallel over rows. Row ``i`` of the tile is
query position ``q0 + i`` aligned to the keys (``q0 = t0 + n_keys - n_queries``); under a
causal mask it sees keys ``j <= q0 + i``, the prefix ``S[i, :q0 + i + 1]``, so masked keys
cost nothing. Each ``prange`` iteration writes only its own rows (PITFALLS 13).
"""

import numpy as np
from numba import njit, prange

from ._reduce import _row_exp, _row_max2, _row_reduce, _topk_sums
from ._select import _count_within, _kth_smallest


@njit(cache=True)
def _n_visible(n_keys, pos, causal):
    """Number of keys row ``pos`` attends to."""
    return min(n_keys, pos + 1) if causal else n_keys


@njit(parallel=True, cache=True)
def _tile_stats(S, q0, causal, codes, sparams, out):
    """``out[i]``: the built-in statistics ``codes`` of score row ``S[i]``; ``S`` is overwritten."""
    for i in prange(S.shape[0]):
        _row_reduce(S[i, :_n_visible(S.shape[1], q0 + i, causal)], codes, sparams, out[i])


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


# columns of the per-row output of _measure_tile, before the top-k, k_eps and column-set ones
M_IPR, M_ENTROPY, M_MAX_WEIGHT, M_SIGMA, M_SINK, M_WINDOW, M_H2O, M_KEYS = 0, 1, 2, 3, 4, 5, 6, 7
M_FIXED = 8


@njit(cache=True)
def _keep_topk(p, k, w, ps):
    """``ps``: the weights ``p`` restricted to their ``k`` largest, renormalised (scratch ``w``).

    Ties at the threshold are kept in index order, so exactly ``min(k, n)`` entries stay.
    """
    n = p.shape[0]
    k = min(k, n)
    w[:n] = p
    t = _kth_smallest(w[:n], n - k)
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

    ``out[i]`` gets the ``M_*`` columns, then ``T(k)`` for ``ks``, ``k_eps`` for ``epss``
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
        m1, _m2, amax = _row_max2(s)
        _mean, o[M_SIGMA] = _row_moments(s)
        zr, sq, se = _row_exp(s, m1, amax)
        z = 1.0 + zr
        o[M_IPR] = sq / (z * z)
        o[M_ENTROPY] = np.log1p(zr) - se / z
        o[M_MAX_WEIGHT] = 1.0 / z
        o[M_KEYS] = nv
        cnt = 0
        for j in range(nv):  # H2O: weights below h2o * max weight (the max has e = 1)
            if s[j] < h2o:
                cnt += 1
        o[M_H2O] = cnt / nv
        s /= z
        S[i, nv:] = 0.0
        o[M_SINK] = np.sum(s[:min(sink, nv)])
        last = max(0, min(pos, nv - 1))  # the window ends at the query's own position
        o[M_WINDOW] = np.sum(s[max(0, last - window + 1):last + 1])
        for c in range(colsets.shape[0]):
            acc = 0.0
            for j in range(nv):
                acc += s[j] * colsets[c, j]
            o[M_FIXED + nk + ne + c] = acc
        w = np.empty(nv)
        for t in range(nk):
            w[:] = s
            o[M_FIXED + t] = _topk_sums(w, ks[t])[0]
        for t in range(ne):
            w[:] = s
            o[M_FIXED + nk + t] = nv - _count_within(w, epss[t])
        if keep_k > 0:
            _keep_topk(s, keep_k, w, PS[i])
