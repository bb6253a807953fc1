"""Private numba kernels: selection on a row of nonnegative weights, never a full sort.

``_kth_smallest`` is a quickselect with a three-way partition (ties are grouped, so equal
weights cost one pass). ``_count_within`` is its weighted form: the largest ``m`` such
that the ``m`` smallest weights sum to at most a budget (the ``k_eps`` search). Both run
in expected O(n); after ``_SELECT_ROUNDS`` partitions that failed to shrink the range
enough (adversarial pivots) they finish by sorting the remaining sub-range only.
Both permute their argument in place.
"""

from numba import njit

# below this many entries a sub-range is finished by a sort (cheaper than partitioning)
_SMALL = 16
# partition rounds allowed before the remaining sub-range is sorted (about 3 log2 n)
_SELECT_ROUNDS = 64


@njit(cache=True)
def _median3(a, lo, hi):
    """Median of the first, middle and last entries of ``a[lo:hi]``."""
    x, y, z = a[lo], a[(lo + hi) // 2], a[hi - 1]
    if x > y:
        x, y = y, x
    if y > z:
        y = z
    return x if x > y else y


@njit(cache=True)
def _partition3(a, lo, hi, v):
    """Partition ``a[lo:hi]`` around ``v`` into ``< v``, ``== v``, ``> v``.

    Returns ``(lt, gt, below)``: ``a[lo:lt] < v``, ``a[lt:gt] == v``, ``a[gt:hi] > v``,
    and ``below`` the sum of ``a[lo:lt]``.
    """
    lt, i, gt = lo, lo, hi
    below = 0.0
    while i < gt:
        x = a[i]
        if x < v:
            a[i] = a[lt]
            a[lt] = x
            lt += 1
            i += 1
            below += x
        elif x > v:
            gt -= 1
            a[i] = a[gt]
            a[gt] = x
        else:
            i += 1
    return lt, gt, below


@njit(cache=True)
def _kth_smallest(a, r):
    """The entry of rank ``r`` (0-based, ascending) of ``a``; permutes ``a``."""
    lo, hi = 0, a.shape[0]
    for _ in range(_SELECT_ROUNDS):
        if hi - lo <= _SMALL:
            break
        v = _median3(a, lo, hi)
        lt, gt, _below = _partition3(a, lo, hi, v)
        if r < lt:
            hi = lt
        elif r >= gt:
            lo = gt
        else:
            return v
    a[lo:hi].sort()
    return a[r]


@njit(cache=True)
def _count_within(a, budget):
    """Largest ``m`` such that the ``m`` smallest entries of ``a`` sum to ``<= budget``.

    ``a`` holds nonnegative weights; it is permuted.
    """
    lo, hi = 0, a.shape[0]
    acc = 0.0
    for _ in range(_SELECT_ROUNDS):
        if hi - lo <= _SMALL:
            break
        v = _median3(a, lo, hi)
        lt, gt, below = _partition3(a, lo, hi, v)
        if acc + below > budget:
            hi = lt
            continue
        acc += below
        for i in range(lt, gt):
            if acc + v > budget:
                return i
            acc += v
        lo = gt
    a[lo:hi].sort()
    for i in range(lo, hi):
        if acc + a[i] > budget:
            return i
        acc += a[i]
    return hi
