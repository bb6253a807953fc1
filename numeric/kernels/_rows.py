"""Private numba kernels: draw logit rows of a model and reduce each row to statistics.

RNG discipline (PITFALLS 12, 13): rows are grouped in chunks of ``chunk_rows``; chunk
``c`` reseeds numba's generator with ``chunk_seeds[c]`` at its top and writes only its own
rows of ``out``. Results are therefore identical run to run and for any thread count.
No fastmath: the statistics rely on exact -inf/NaN semantics (PITFALLS 11).
"""

import numpy as np
from numba import njit, prange

# statistic codes, kept in sync with attnsparse.numeric.statistics.BUILTIN
LOG_PARTITION, MAX_LOGIT, MAX_WEIGHT, IPR, ENTROPY, COUNT_ABOVE = 0, 1, 2, 3, 4, 5
TOPK_MASS, TAIL_MASS, K_EPS, WEIGHT, ARGMAX, TOP_GAP, PARTITION, LOGIT = 6, 7, 8, 9, 10, 11, 12, 13
KIND_IID, KIND_BILINEAR, KIND_SELF = 0, 1, 2


@njit(cache=True)
def _draw_row(kind, n, d, fpar, ivec, fvec, mat, s, work):
    """Fill ``s[:n]`` with one row of logits of the model (``work`` is scratch, length >= 2d)."""
    if kind == KIND_IID:
        mu, sigma, dof = fpar[0], fpar[1], fpar[2]
        if dof > 0:  # per-row scale sigma * sqrt(chi2_dof / dof)
            acc = 0.0
            for _ in range(int(dof)):
                z = np.random.standard_normal()
                acc += z * z
            sigma = sigma * np.sqrt(acc / dof)
        for j in range(n):
            s[j] = mu + sigma * np.random.standard_normal()
        for t in range(ivec.shape[0]):
            s[ivec[t]] += fvec[t]
    elif kind == KIND_BILINEAR:
        sq, sk, scale = fpar[0], fpar[1], fpar[2]
        q = work[:d]
        for a in range(d):
            q[a] = sq * np.random.standard_normal()
        for j in range(n):
            acc = 0.0
            for a in range(d):
                acc += q[a] * (fvec[a] + sk * np.random.standard_normal())
            s[j] = scale * acc
    else:  # self-attention, query row 0 (diagonal key j = 0)
        sx, scale = fpar[0], fpar[1]
        x0 = work[:d]
        w = work[d:2 * d]
        for a in range(d):
            x0[a] = sx * np.random.standard_normal()
        for b in range(d):  # w = W^T x0
            acc = 0.0
            for a in range(d):
                acc += mat[a, b] * x0[a]
            w[b] = acc
        acc = 0.0
        for b in range(d):
            acc += x0[b] * w[b]
        s[0] = scale * acc
        for j in range(1, n):
            acc = 0.0
            for b in range(d):
                acc += sx * np.random.standard_normal() * w[b]
            s[j] = scale * acc


@njit(cache=True)
def _row_stats(s, codes, sparams, out):
    """Reduce the logit row ``s`` to the statistics ``codes`` (parameters ``sparams``)."""
    n = s.shape[0]
    m1 = -np.inf
    m2 = -np.inf
    amax = 0
    for j in range(n):
        if s[j] > m1:
            m2 = m1
            m1 = s[j]
            amax = j
        elif s[j] > m2:
            m2 = s[j]
    z = 0.0
    for j in range(n):
        z += np.exp(s[j] - m1)
    logz = m1 + np.log(z)
    need_p = False
    need_sorted = False
    for c in codes:
        if c == IPR or c == ENTROPY or c == COUNT_ABOVE:
            need_p = True
        if c == TOPK_MASS or c == TAIL_MASS or c == K_EPS:
            need_sorted = True
    ipr = 0.0
    ent = 0.0
    p = np.empty(0)
    if need_p or need_sorted:
        p = np.empty(n)
        for j in range(n):
            p[j] = np.exp(s[j] - logz)
            ipr += p[j] * p[j]
            if p[j] > 0.0:
                ent += p[j] * (logz - s[j])
    cs = np.empty(0)
    if need_sorted:
        ps = np.sort(p)  # ascending; cs[i] = sum of the i smallest weights
        cs = np.empty(n + 1)
        cs[0] = 0.0
        for i in range(n):
            cs[i + 1] = cs[i] + ps[i]
    for t in range(codes.shape[0]):
        c = codes[t]
        a = sparams[t]
        if c == LOG_PARTITION:
            out[t] = logz
        elif c == MAX_LOGIT:
            out[t] = m1
        elif c == MAX_WEIGHT:
            out[t] = np.exp(m1 - logz)
        elif c == IPR:
            out[t] = ipr
        elif c == ENTROPY:
            out[t] = ent
        elif c == COUNT_ABOVE:
            cnt = 0
            for j in range(n):
                if p[j] > a:
                    cnt += 1
            out[t] = cnt
        elif c == TOPK_MASS or c == TAIL_MASS:
            k = min(int(a), n)
            if c == TAIL_MASS:
                out[t] = cs[n - k]
            else:
                acc = 0.0
                for i in range(n - k, n):
                    acc += cs[i + 1] - cs[i]
                out[t] = acc
        elif c == K_EPS:
            m = 0  # largest m with cs[m] <= eps; then k_eps = n - m
            while m < n and cs[m + 1] <= a:
                m += 1
            out[t] = n - m
        elif c == WEIGHT:
            out[t] = np.exp(s[int(a)] - logz)
        elif c == ARGMAX:
            out[t] = amax
        elif c == TOP_GAP:
            out[t] = m1 - m2
        elif c == PARTITION:
            out[t] = np.exp(logz)
        elif c == LOGIT:
            out[t] = s[int(a)]


@njit(parallel=True, cache=True)
def _simulate_rows(kind, n, d, fpar, ivec, fvec, mat, chunk_seeds, chunk_rows, codes, sparams, out):
    """Rows ``out[r]`` of built-in statistics, one independent logit row each."""
    n_rows = out.shape[0]
    for c in prange(chunk_seeds.shape[0]):
        np.random.seed(chunk_seeds[c])
        s = np.empty(n)
        work = np.empty(2 * d)
        for r in range(c * chunk_rows, min((c + 1) * chunk_rows, n_rows)):
            _draw_row(kind, n, d, fpar, ivec, fvec, mat, s, work)
            _row_stats(s, codes, sparams, out[r])


@njit(parallel=True)
def _simulate_user(kind, n, d, fpar, ivec, fvec, mat, chunk_seeds, chunk_rows, f, fargs, out):
    """``out[r] = f(s, fargs)`` for a user function of the logit row (not cached: ``f`` varies)."""
    n_rows = out.shape[0]
    for c in prange(chunk_seeds.shape[0]):
        np.random.seed(chunk_seeds[c])
        s = np.empty(n)
        work = np.empty(2 * d)
        for r in range(c * chunk_rows, min((c + 1) * chunk_rows, n_rows)):
            _draw_row(kind, n, d, fpar, ivec, fvec, mat, s, work)
            out[r] = f(s, fargs)
