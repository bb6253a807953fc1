"""Private numba kernels: reduce one row of logits to the built-in statistics.

The row is reduced in place, in a fixed order of passes:

1. one compare pass: the max ``m1``, second max ``m2``, argmax, and the logits that
   index statistics (``logit(j)``, ``weight(j)``) need;
2. one exp pass: ``s_j <- e_j = exp(s_j - m1)`` with ``z = sum e_j`` (``log Z = m1 +
   log1p(z - 1)``, the max term kept apart), ``sum e_j^2`` (IPR) and ``sum (s_j - m1) e_j``
   (entropy), all relative to the max, so nothing overflows at any logit scale (PITFALLS 10);
3. selection on the weights ``e`` for ``topk_mass``, ``tail_mass`` and ``k_eps``
   (quickselect, :mod:`._select`), one linear pass for ``count_above``.

Entries equal to ``-inf`` are masked keys: their weight is exactly 0 and they never make
NaN. A row whose entries are all ``-inf`` gives NaN statistics. No fastmath (PITFALLS 11).
"""

import numpy as np
from numba import njit

from ._select import _count_within, _kth_smallest

# statistic codes, kept in sync with attnsparse.numeric.statistics.BUILTIN
LOG_PARTITION, MAX_LOGIT, MAX_WEIGHT, IPR, ENTROPY, COUNT_ABOVE = 0, 1, 2, 3, 4, 5
TOPK_MASS, TAIL_MASS, K_EPS, WEIGHT, ARGMAX, TOP_GAP, PARTITION, LOGIT = 6, 7, 8, 9, 10, 11, 12, 13


@njit(cache=True)
def _row_max2(s):
    """``(m1, m2, argmax)``: the largest and second largest entries and the first argmax."""
    m1 = -np.inf
    m2 = -np.inf
    amax = 0
    for j in range(s.shape[0]):
        x = s[j]
        if x > m1:
            m2 = m1
            m1 = x
            amax = j
        elif x > m2:
            m2 = x
    return m1, m2, amax


@njit(cache=True)
def _row_exp(s, m1, amax):
    """Overwrite ``s`` with ``exp(s - m1)``; return ``(z - 1, sum e^2, sum (s - m1) e)``.

    The max term ``e = 1`` at ``amax`` is left out of the first sum, so ``log z =
    log1p(z - 1)`` keeps its digits when one key holds nearly all the mass.
    """
    zr = 0.0
    sq = 0.0
    se = 0.0
    for j in range(s.shape[0]):
        x = s[j] - m1
        e = np.exp(x)
        s[j] = e
        sq += e * e
        if e > 0.0 and j != amax:  # x = -inf (masked) would give -inf * 0 = NaN
            zr += e
            se += x * e
    return zr, sq, se


@njit(cache=True)
def _topk_sums(e, k):
    """``(sum of the k largest, sum of the others)`` of the weights ``e``; permutes ``e``."""
    n = e.shape[0]
    if k <= 0:
        return 0.0, np.sum(e)
    if k >= n:
        return np.sum(e), 0.0
    t = _kth_smallest(e, n - k)  # the k-th largest weight
    top = 0.0
    rest = 0.0
    n_above = 0
    n_tied = 0
    for j in range(n):
        if e[j] > t:
            top += e[j]
            n_above += 1
        elif e[j] < t:
            rest += e[j]
        else:
            n_tied += 1
    # ties at t are split: k - n_above of them belong to the top k
    take = k - n_above
    return top + take * t, rest + (n_tied - take) * t


@njit(cache=True)
def _row_reduce(s, codes, sparams, out):
    """Write the statistics ``codes`` (parameters ``sparams``) of the logit row ``s`` to ``out``.

    ``s`` is overwritten (with unnormalised weights, then permuted).
    """
    n = s.shape[0]
    m1, m2, amax = _row_max2(s)
    for t in range(codes.shape[0]):  # logits that index statistics need, before s changes
        c = codes[t]
        if c == LOGIT or c == WEIGHT:
            j = int(sparams[t])
            out[t] = s[j] if j < n else -np.inf
    if m1 == -np.inf:  # every key masked
        out[:] = np.nan
        return
    zr, sq, se = _row_exp(s, m1, amax)
    z = 1.0 + zr
    logz = m1 + np.log1p(zr)
    for t in range(codes.shape[0]):
        c = codes[t]
        a = sparams[t]
        if c == LOG_PARTITION:
            out[t] = logz
        elif c == MAX_LOGIT:
            out[t] = m1
        elif c == MAX_WEIGHT:
            out[t] = 1.0 / z
        elif c == IPR:
            out[t] = sq / (z * z)
        elif c == ENTROPY:
            out[t] = np.log1p(zr) - se / z
        elif c == COUNT_ABOVE:
            thr = a * z
            cnt = 0
            for j in range(n):
                if s[j] > thr:
                    cnt += 1
            out[t] = cnt
        elif c == TOPK_MASS or c == TAIL_MASS:
            top, rest = _topk_sums(s, int(a))
            out[t] = (top if c == TOPK_MASS else rest) / z
        elif c == K_EPS:
            out[t] = n - _count_within(s, a * z)
        elif c == WEIGHT:
            out[t] = np.exp(out[t] - logz)
        elif c == ARGMAX:
            out[t] = amax
        elif c == TOP_GAP:
            out[t] = m1 - m2
        elif c == PARTITION:
            out[t] = np.exp(logz)
