"""Private numba kernels: draw logit rows of a model and reduce each row to statistics.

Every simulated row is an independent sample of the model: a fresh query and fresh keys
(bilinear, self-attention), so checks may treat rows as iid. Rows are reduced by
:func:`._reduce._row_reduce` (one compare pass, one exp pass, selection; no sort).

RNG discipline (PITFALLS 12, 13): rows are grouped in chunks of ``chunk_rows``; chunk
``c`` seeds its own generator state (:mod:`._normal`, xoshiro256** and a ziggurat) from
``chunk_seeds[c]`` and writes only its own rows of ``out``. Results are therefore
identical run to run and for any thread count.
No fastmath: the statistics rely on exact -inf/NaN semantics (PITFALLS 11).
"""

import numpy as np
from numba import njit, prange

from ..codes import ENTROPY, IPR, K_EPS, KIND_BILINEAR, KIND_IID, MAX_WEIGHT, TAIL_MASS, TOPK_MASS
from ._normal import _chi2, _normal, _seed
from ._reduce import _count_small, _exp_shifted, _row_reduce, _row_scratch, _topk_sums


@njit(cache=True)
def _draw_row(kind, n, d, fpar, ivec, fvec, mat, s, work, rng):
    """Fill ``s[:n]`` with one row of logits of the model (``work``: scratch of length >= 2d;
    ``rng``: generator state)."""
    if kind == KIND_IID:
        mu, sigma, dof = fpar[0], fpar[1], fpar[2]
        if dof > 0:  # per-row scale sigma * sqrt(chi2_dof / dof)
            acc = 0.0
            for _ in range(int(dof)):
                z = _normal(rng)
                acc += z * z
            sigma = sigma * np.sqrt(acc / dof)
        for j in range(n):
            s[j] = mu + sigma * _normal(rng)
        for t in range(ivec.shape[0]):
            s[ivec[t]] += fvec[t]
    elif kind == KIND_BILINEAR:
        sq, sk, scale = fpar[0], fpar[1], fpar[2]
        q = work[:d]
        for a in range(d):
            q[a] = sq * _normal(rng)
        for j in range(n):
            acc = 0.0
            for a in range(d):
                acc += q[a] * (fvec[a] + sk * _normal(rng))
            s[j] = scale * acc
    else:  # self-attention, query row 0 (diagonal key j = 0)
        sx, scale = fpar[0], fpar[1]
        x0 = work[:d]
        w = work[d:2 * d]
        for a in range(d):
            x0[a] = sx * _normal(rng)
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
                acc += sx * _normal(rng) * w[b]
            s[j] = scale * acc


@njit(parallel=True, cache=True)
def _simulate_rows(kind, n, d, fpar, ivec, fvec, mat, chunk_seeds, chunk_rows, codes, sparams, out):
    """Rows ``out[r]`` of built-in statistics, one independent logit row each."""
    n_rows = out.shape[0]
    for c in prange(chunk_seeds.shape[0]):
        rng = np.empty(4, np.uint64)
        _seed(rng, chunk_seeds[c])
        s = np.empty(n)
        work = np.empty(2 * d)
        scratch = _row_scratch(n)
        for r in range(c * chunk_rows, min((c + 1) * chunk_rows, n_rows)):
            _draw_row(kind, n, d, fpar, ivec, fvec, mat, s, work, rng)
            _row_reduce(s, codes, sparams, out[r], scratch)


@njit(parallel=True)
def _simulate_user(kind, n, d, fpar, ivec, fvec, mat, chunk_seeds, chunk_rows, f, fargs, out):
    """``out[r] = f(s, fargs)`` for a user function of the logit row (not cached: ``f`` varies)."""
    n_rows = out.shape[0]
    for c in prange(chunk_seeds.shape[0]):
        rng = np.empty(4, np.uint64)
        _seed(rng, chunk_seeds[c])
        s = np.empty(n)
        work = np.empty(2 * d)
        for r in range(c * chunk_rows, min((c + 1) * chunk_rows, n_rows)):
            _draw_row(kind, n, d, fpar, ivec, fvec, mat, s, work, rng)
            out[r] = f(s, fargs)


@njit(parallel=True, cache=True)
def _surrogate_rows(sigmas, n_keys, chunk_seeds, chunk_rows, codes, sparams, out):
    """``out[r]``: statistics of ``n_keys[r]`` iid ``N(0, sigmas[r]^2)`` logits (the Gaussian theory's row)."""
    n_rows = out.shape[0]
    for c in prange(chunk_seeds.shape[0]):
        rng = np.empty(4, np.uint64)
        _seed(rng, chunk_seeds[c])
        s = np.empty(np.max(n_keys))
        scratch = _row_scratch(s.shape[0])
        for r in range(c * chunk_rows, min((c + 1) * chunk_rows, n_rows)):
            row = s[:n_keys[r]]
            for j in range(row.shape[0]):
                row[j] = sigmas[r] * _normal(rng)
            _row_reduce(row, codes, sparams, out[r], scratch)


#: the bucket grid of the simulated head rows, in units of the standard normal z: equal widths over
#: [-Z_GRID, Z_GRID], everything above in the first bucket, everything below in the last (any
#: buckets ordered by z serve the selections; a fixed grid lets a key be filed as it is drawn)
Z_GRID = 4.5


@njit(cache=True)
def _draw_layout(rng, z, w, bk, cnt, ends, zg):
    """Draw the standard normal row ``z`` and file its keys ``j >= w`` in buckets by ``z`` (grid
    :data:`Z_GRID`, ``nb`` buckets as :func:`._reduce._row_scratch` sizes them, the largest ``z``
    first): ``cnt[b]`` keys in bucket ``b``, their ``z`` in ``zg`` grouped by bucket, ``ends[b]`` the
    end of bucket ``b`` in ``zg``. For any ``tau > 0`` the weights of ``tau z`` are then grouped
    in buckets ordered by weight. Returns ``(nb, 1 / width, position in zg of the largest z_j, j >= w)``.
    """
    n = z.shape[0]
    nb = cnt.shape[0]
    inv_w = nb / (2.0 * Z_GRID)
    cnt[:] = 0
    for j in range(n):
        z[j] = _normal(rng)
    zmax = -np.inf
    jmax = w
    for j in range(w, n):
        x = z[j]
        if x > zmax:
            zmax = x
            jmax = j
        v = (Z_GRID - x) * inv_w
        b = 0 if v < 0.0 else (int(v) if v < nb - 1 else nb - 1)
        bk[j] = b
        cnt[b] += 1
    acc = 0
    for b in range(nb):
        ends[b] = acc
        acc += cnt[b]
    pmax = 0
    for j in range(w, n):
        b = bk[j]
        if j == jmax:
            pmax = ends[b]
        zg[ends[b]] = z[j]
        ends[b] += 1
    return nb, inv_w, pmax


@njit(cache=True)
def _special_bucket(zeff, off, nb, inv_w):
    """Bucket of a key at ``z + off / tau = zeff`` in the grid of :func:`_draw_layout`."""
    v = (Z_GRID - zeff) * inv_w
    if v != v:  # zeff infinite (off / tau overflowed)
        return 0 if off > 0 else nb - 1
    return 0 if v < 0.0 else (int(v) if v < nb - 1 else nb - 1)


@njit(cache=True)
def _model_reduce(z, tau, off, layout, codes, sparams, out, work):
    """Statistics ``codes`` of the logit row ``s_j = tau z_j + off_j`` (``off_j = 0`` for ``j >= w``).

    ``layout``: :func:`_draw_layout` of ``z`` (the keys ``j >= w`` grouped by bucket), shared by
    every model of the row. The ``w`` keys with offsets are filed into it here, each after the base
    keys of its bucket, so the weights come out grouped by bucket with no sort and no scatter, in the
    form :func:`._reduce._topk_sums` and :func:`._reduce._count_small` select on; the exp is
    :func:`._reduce._exp_shifted`, and the max term is kept apart as :func:`._reduce._row_reduce`
    keeps it. ``work``: ``(sg, xs, tf, cnt, ends, sm, sb, st)`` scratch (``sb``, ``st``: ``w`` ints).
    """
    zg, base_cnt, base_end, nb, inv_w, pbase = layout
    sg, xs, tf, cnt, ends, sm, sb, st = work
    n = z.shape[0]
    w = off.shape[0]
    for t in range(w):  # the keys with offsets, sorted by bucket (w is a handful: insertion sort)
        b = _special_bucket(z[t] + off[t] / tau, off[t], nb, inv_w)
        i = t
        while i > 0 and sb[i - 1] > b:
            sb[i] = sb[i - 1]
            st[i] = st[i - 1]
            i -= 1
        sb[i] = b
        st[i] = t
    # the model's array: the base keys up to the end of bucket sb[0], then offset key st[0], ...
    src = 0
    pmax = 0
    for i in range(w + 1):
        stop = base_end[sb[i]] if i < w else n - w
        if src <= pbase < stop:
            pmax = pbase + i
        for q in range(src, stop):
            sg[q + i] = tau * zg[q]
        src = stop
    m1 = sg[pmax]
    for i in range(w):  # offset key i sits after base_end[sb[i]] base keys and i offset keys
        x = tau * z[st[i]] + off[st[i]]
        sg[base_end[sb[i]] + i] = x
        if x > m1:
            m1 = x
            pmax = base_end[sb[i]] + i
    i = 0
    for b in range(nb):
        c = base_cnt[b]
        while i < w and sb[i] == b:
            c += 1
            i += 1
        cnt[b] = c
        ends[b] = base_end[b] + i
    _exp_shifted(sg, m1, xs, tf)
    sg[pmax] = 0.0  # the max term (e = 1) is kept apart, as in _row_reduce
    zr = 0.0
    for b in range(nb):
        a = 0.0
        for q in range(ends[b] - cnt[b], ends[b]):
            a += sg[q]
        sm[b] = a
        zr += a
    sq0 = 0.0
    sq1 = 0.0
    se0 = 0.0
    se1 = 0.0
    for q in range(0, n - 1, 2):  # two accumulators each: the adds are latency-bound (no fastmath)
        e0 = sg[q]
        e1 = sg[q + 1]
        sq0 += e0 * e0
        sq1 += e1 * e1
        se0 += xs[q] * e0
        se1 += xs[q + 1] * e1
    if n % 2:
        sq0 += sg[n - 1] * sg[n - 1]
        se0 += xs[n - 1] * sg[n - 1]
    sq = 1.0 + (sq0 + sq1)
    se = se0 + se1
    sg[pmax] = 1.0
    for b in range(nb):
        if ends[b] > pmax:
            sm[b] += 1.0
            break
    z_ = 1.0 + zr
    hist = (sg, ends, cnt, nb)
    for t in range(codes.shape[0]):
        c = codes[t]
        if c == IPR:
            out[t] = sq / (z_ * z_)
        elif c == ENTROPY:
            out[t] = np.log1p(zr) - se / z_
        elif c == MAX_WEIGHT:
            out[t] = 1.0 / z_
        elif c == TOPK_MASS or c == TAIL_MASS:
            k = int(sparams[t])
            if k <= 0:
                top, rest = 0.0, z_
            elif k >= n:
                top, rest = z_, 0.0
            else:
                top, rest = _topk_sums(hist, sm, k)
            out[t] = (top if c == TOPK_MASS else rest) / z_
        elif c == K_EPS:
            out[t] = n - _count_small(hist, sm, sparams[t] * z_)
        else:  # not a statistic of the head models
            out[t] = np.nan


@njit(parallel=True, cache=True)
def _simulate_model_rows(n, scales, dofs, offsets, seeds, tau_seeds, chunk_rows, codes, sparams, out):
    """``out[h, m, r]``: statistics of row ``r`` of model ``m`` of head ``h``; every model of a head
    transforms the same standard normals (common random numbers).

    Row ``r`` of head ``h`` draws ``z_j``, ``j < n``, from the chunk stream ``seeds[h, c]`` (the draws
    of :func:`_simulate_rows` for ``IIDLogits(n, 1)``). Model ``m`` has the logits ``tau z_j +
    offsets[h, m, j]`` (``j < w = offsets.shape[2] < n``; no offset beyond): ``tau = scales[h, m]``, or
    with ``dofs[h, m] > 0`` the row scale ``scales[h, m] sqrt(chi2 / dof)`` drawn from a second stream,
    ``tau_seeds[h, c]``, so the normals do not depend on which models are simulated. A model with
    ``scales[h, m] <= 0`` is not simulated (its ``out`` is left as it is).
    """
    n_heads, n_models, samples = out.shape[0], out.shape[1], out.shape[2]
    per_head = seeds.shape[1]
    w = offsets.shape[2]
    for c in prange(n_heads * per_head):
        h = c // per_head
        rng = np.empty(4, np.uint64)
        _seed(rng, seeds[h, c % per_head])
        rng_tau = np.empty(4, np.uint64)
        _seed(rng_tau, tau_seeds[h, c % per_head])
        z = np.empty(n)
        bk, xs, cnt, sm, tf, ends = _row_scratch(n)
        base_cnt, base_end, zg, sg = np.empty_like(cnt), np.empty_like(ends), np.empty(n), np.empty(n)
        work = (sg, xs, tf, cnt, ends, sm, np.empty(w, np.int64), np.empty(w, np.int64))
        r0 = (c % per_head) * chunk_rows
        for r in range(r0, min(r0 + chunk_rows, samples)):
            nb, inv_w, pbase = _draw_layout(rng, z, w, bk, base_cnt, base_end, zg)
            layout = (zg, base_cnt, base_end, nb, inv_w, pbase)
            for m in range(n_models):
                tau = scales[h, m]
                if not tau > 0:
                    continue
                if dofs[h, m] > 0:
                    tau *= np.sqrt(_chi2(rng_tau, dofs[h, m]) / dofs[h, m])
                _model_reduce(z, tau, offsets[h, m], layout, codes, sparams, out[h, m, r], work)
