"""Private numba kernels: reduce one row of logits to the built-in statistics.

The row is reduced in place, in a fixed order of passes:

1. one compare pass: the max ``m1``, second max ``m2``, argmax, and the logits that
   index statistics (``logit(j)``, ``weight(j)``) need;
2. one exp pass (a vectorised exp, :func:`_exp_shifted`): ``s_j <- e_j = exp(s_j - m1)`` with
   ``z = sum e_j`` (``log Z = m1 + log1p(z - 1)``, the max term kept apart), ``sum e_j^2`` (IPR)
   and ``sum (s_j - m1) e_j`` (entropy), all relative to the max, so nothing overflows at any logit scale (PITFALLS 10);
3. selection for ``topk_mass``, ``tail_mass`` and ``k_eps`` without sorting: the exp pass
   also files every key in one of ``nb`` buckets of equal width in ``s_j - m1`` (a
   histogram of counts and weight sums, monotone in the weight) and the weights are copied
   grouped by bucket (one counting-sort pass, buckets unsorted inside); the bucket holding
   the boundary is found from the histogram, and only its keys are resolved exactly by
   quickselect (:mod:`._select`). One linear pass gives ``count_above``.

Entries equal to ``-inf`` are masked keys: their weight is exactly 0 and they never make
NaN. A row whose entries are all ``-inf`` gives NaN statistics. No fastmath (PITFALLS 11).
"""

import math

import numpy as np
from numba import njit

from ..codes import ARGMAX, COUNT_ABOVE, ENTROPY, IPR, K_EPS, LOG_PARTITION, LOGIT, MAX_LOGIT, MAX_WEIGHT, \
    PARTITION, TAIL_MASS, TOP_GAP, TOPK_MASS, WEIGHT
from ._select import _count_within, _kth_smallest

#: most histogram buckets per row (a row of n keys uses min(max(n // 4, 16), NB_MAX))
NB_MAX = 4096


@njit(cache=True)
def _row_range(s):
    """``(m1, m2, argmax, lo)``: largest, second largest, first argmax, smallest finite entry."""
    m1 = -np.inf
    m2 = -np.inf
    lo = np.inf
    amax = 0
    for j in range(s.shape[0]):
        x = s[j]
        if x > m1:
            m2 = m1
            m1 = x
            amax = j
        elif x > m2:
            m2 = x
        if x < lo and x > -np.inf:
            lo = x
    return m1, m2, amax, lo


@njit(cache=True)
def _row_scratch(n):
    """Scratch for rows of up to ``n`` keys: bucket ids, logits minus max, bucket counts and
    sums, exponent bits (then the weights grouped by bucket), bucket ends. Allocate it once per
    chunk of rows; pass it to :func:`_row_reduce`.
    """
    nb = min(max(n // 4, 16), NB_MAX)
    return np.empty(n, np.int32), np.empty(n), np.empty(nb, np.int64), np.empty(nb), np.empty(n), \
        np.empty(nb, np.int64)


@njit(cache=True)
def _n_buckets(n, span):
    """``(nb, 1 / width)`` of the histogram of a row of ``n`` keys whose logits span ``span``."""
    nb = min(max(n // 4, 16), NB_MAX)
    inv_w = nb / span if span > 0.0 else 0.0
    return nb, (inv_w if inv_w < np.inf else 0.0)  # a subnormal span: one bucket


# exp(x) for x <= 0 as Cody-Waite reduction x = k ln 2 + r, |r| <= ln(2)/2, a degree-13
# Taylor polynomial for e^r (truncation < 1e-17) and 2^k built from exponent bits. Below
# X_MIN the result is 0 (true value < 3.1e-308, a weight no statistic can resolve next to
# the max's 1). Branch-free loops, so LLVM vectorises them (about 3x libm's scalar exp).
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # fdlibm's split of ln 2: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_ROUND = 6755399441055744.0  # 1.5 * 2^52: adding it rounds to an integer kept in the low bits
_ROUND_BITS = 0x4338000000000000
X_MIN = -708.0
_C = [1.0 / math.factorial(i) for i in range(14)]
_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12, _C13 = _C


@njit(cache=True)
def _exp_shifted(s, m1, xs, tf):
    """``s <- exp(s - m1)`` (``s - m1 <= 0``; ``-inf`` gives 0), keeping ``xs = s - m1``.

    ``tf`` is scratch of ``len(s)``. At most 1 ulp from the correctly rounded value.
    """
    n = s.shape[0]
    ti = tf[:n].view(np.int64)
    for j in range(n):
        x = s[j] - m1
        xs[j] = x
        xc = max(x, X_MIN)
        t = xc * _LOG2E + _ROUND
        tf[j] = t
        k = t - _ROUND
        r = (xc - k * _LN2_HI) - k * _LN2_LO
        s[j] = _C0 + r * (_C1 + r * (_C2 + r * (_C3 + r * (_C4 + r * (_C5 + r * (_C6 + r * (
            _C7 + r * (_C8 + r * (_C9 + r * (_C10 + r * (_C11 + r * (_C12 + r * _C13))))))))))))
    for j in range(n):  # 2^k: the rounded integer k sits in the low bits of t
        ti[j] = (ti[j] - _ROUND_BITS + 1023) << 52
    for j in range(n):
        s[j] = s[j] * tf[j] if xs[j] >= X_MIN else 0.0


@njit(cache=True)
def _row_exp(s, m1, amax, nb, inv_w, scratch):
    """Overwrite ``s`` with ``exp(s - m1)``; return ``(z - 1, sum e^2, sum (s - m1) e)``.

    The max term ``e = 1`` at ``amax`` is left out of the first sum, so ``log z =
    log1p(z - 1)`` keeps its digits when one key holds nearly all the mass. With
    ``nb > 0`` every key is also filed in bucket ``bk[j] = floor((m1 - s_j) * inv_w)``
    (zero weights in the last one), counted in ``cnt`` and summed in ``sm``.
    """
    bk, xs, cnt, sm, tf, _ends = scratch
    _exp_shifted(s, m1, xs, tf)
    zr = 0.0
    sq = 0.0
    se = 0.0
    if nb > 0:
        cnt[:nb] = 0
        sm[:nb] = 0.0
    for j in range(s.shape[0]):
        e = s[j]
        sq += e * e
        if e > 0.0 and j != amax:  # x = -inf (masked) would give -inf * 0 = NaN
            zr += e
            se += xs[j] * e
        if nb > 0:
            b = nb - 1
            v = -xs[j] * inv_w
            if e > 0.0 and v < nb - 1:
                b = int(v)
            bk[j] = b
            cnt[b] += 1
            sm[b] += e
    return zr, sq, se


@njit(cache=True)
def _group(e, bk, cnt, nb, ends, grouped):
    """Copy the weights ``e`` into ``grouped`` bucket by bucket (a counting sort by bucket;
    within a bucket the order is arbitrary). ``ends[b]``: end of bucket ``b`` in ``grouped``.
    Returns the histogram ``(grouped, ends, cnt, nb)`` the selections below take."""
    acc = 0
    for b in range(nb):
        ends[b] = acc
        acc += cnt[b]
    if nb > 0:  # with nb = 0 no histogram was made (no selection statistic asked)
        for j in range(e.shape[0]):
            b = bk[j]
            grouped[ends[b]] = e[j]
            ends[b] += 1
    return grouped, ends, cnt, nb


@njit(cache=True)
def _bucket(hist, b):
    """The weights of bucket ``b`` (a view into the grouped copy; selections permute it)."""
    grouped, ends, cnt, _nb = hist
    return grouped[ends[b] - cnt[b]:ends[b]]


@njit(cache=True)
def _top_bucket(cnt, nb, k):
    """``(b, above)``: the bucket holding the ``k``-th largest weight, and the count in buckets before it."""
    above = 0
    b = 0
    while b < nb - 1 and above + cnt[b] < k:
        above += cnt[b]
        b += 1
    return b, above


@njit(cache=True)
def _topk_sums(hist, sm, k):
    """``(sum of the k largest, sum of the others)`` of the weights (0 < k < n)."""
    cnt, nb = hist[2], hist[3]
    b, above = _top_bucket(cnt, nb, k)
    w = _bucket(hist, b)
    c = w.shape[0]
    r = k - above  # of the bucket's keys, the r largest are in the top k
    t = _kth_smallest(w, c - r)
    top = 0.0
    rest = 0.0
    n_above = 0
    n_tied = 0
    for i in range(c):
        if w[i] > t:
            top += w[i]
            n_above += 1
        elif w[i] < t:
            rest += w[i]
        else:
            n_tied += 1
    take = r - n_above  # ties at t are split between the top k and the rest
    top += take * t
    rest += (n_tied - take) * t
    for i in range(b):
        top += sm[i]
    for i in range(b + 1, nb):
        rest += sm[i]
    return top, rest


@njit(cache=True)
def _kth_largest(hist, k):
    """The ``k``-th largest weight (1 <= k <= n)."""
    b, above = _top_bucket(hist[2], hist[3], k)
    w = _bucket(hist, b)
    return _kth_smallest(w, w.shape[0] - (k - above))


@njit(cache=True)
def _count_small(hist, sm, budget):
    """Largest ``m`` such that the ``m`` smallest weights sum to ``<= budget``."""
    cnt = hist[2]
    acc = 0.0
    m = 0
    b = hist[3] - 1
    while b >= 0 and acc + sm[b] <= budget:
        acc += sm[b]
        m += cnt[b]
        b -= 1
    if b < 0:
        return m
    return m + _count_within(_bucket(hist, b), budget - acc)


@njit(cache=True)
def _needs_hist(codes):
    for c in codes:
        if c == TOPK_MASS or c == TAIL_MASS or c == K_EPS:
            return True
    return False


@njit(cache=True)
def _row_reduce(s, codes, sparams, out, scratch):
    """Write the statistics ``codes`` (parameters ``sparams``) of the logit row ``s`` to ``out``.

    ``s`` is overwritten with the unnormalised weights ``exp(s - max s)``; ``scratch`` is
    :func:`_row_scratch` of at least ``len(s)`` keys.
    """
    n = s.shape[0]
    m1, m2, amax, lo = _row_range(s)
    for t in range(codes.shape[0]):  # logits that index statistics need, before s changes
        c = codes[t]
        if c == LOGIT or c == WEIGHT:
            j = int(sparams[t])
            out[t] = s[j] if j < n else -np.inf
    if m1 == -np.inf:  # every key masked
        out[:] = np.nan
        return
    bk, _xs, cnt, sm, grouped, ends = scratch
    nb, inv_w = 0, 0.0
    if _needs_hist(codes):
        nb, inv_w = _n_buckets(n, m1 - lo)
    zr, sq, se = _row_exp(s, m1, amax, nb, inv_w, scratch)
    hist = _group(s, bk, cnt, nb, ends, grouped)
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
            cnt_above = 0
            for j in range(n):
                if s[j] > thr:
                    cnt_above += 1
            out[t] = cnt_above
        elif c == TOPK_MASS or c == TAIL_MASS:
            k = int(a)
            if k <= 0:
                top, rest = 0.0, z
            elif k >= n:
                top, rest = z, 0.0
            else:
                top, rest = _topk_sums(hist, sm, k)
            out[t] = (top if c == TOPK_MASS else rest) / z
        elif c == K_EPS:
            out[t] = n - _count_small(hist, sm, a * z)
        elif c == WEIGHT:
            out[t] = np.exp(out[t] - logz)
        elif c == ARGMAX:
            out[t] = amax
        elif c == TOP_GAP:
            out[t] = m1 - m2
        elif c == PARTITION:
            out[t] = np.exp(logz)
