"""Private numba kernels: draw logit rows of a model and reduce each row to statistics.

Every simulated row is an independent sample of the model: a fresh query and fresh keys
(bilinear, self-attention), so checks may treat rows as iid. Rows are reduced by
:func:`._reduce._row_reduce` (one compare pass, one exp pass, selection; no sort).

RNG discipline (PITFALLS 12, 13): rows are grouped in chunks of ``chunk_rows``; chunk
``c`` seeds its own generator state (:mod:`._normal`, xoshiro256** and a ziggurat) from
``chunk_seeds[c]`` and writes only its own rows of ``out``. Results are therefore
identical run to run and for any thread count. ``_simulate_model_rows`` draws one normal row per
row index and head and reduces several models of it (common random numbers): rows are iid within
a model, paired across models.
No fastmath: the statistics rely on exact -inf/NaN semantics (PITFALLS 11).
"""

import numpy as np
from numba import njit, prange

from ..codes import KIND_BILINEAR, KIND_IID
from ._normal import _chi2, _normal, _seed
from ._reduce import _row_reduce, _row_scratch


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


@njit(parallel=True, cache=True)
def _simulate_model_rows(n, scales, dofs, offsets, seeds, tau_seeds, chunk_rows, codes, sparams, out):
    """``out[h, m, r]``: statistics of row ``r`` of model ``m`` of head ``h``; every model of a head
    transforms the same standard normals (common random numbers).

    Row ``r`` of head ``h`` draws ``z_j``, ``j < n``, from the chunk stream ``seeds[h, c]`` (the draws
    of :func:`_simulate_rows` for ``IIDLogits(n, 1)``). Model ``m`` has the logits ``tau z_j +
    offsets[h, m, j]`` (``j < offsets.shape[2]``; no offset beyond), reduced by
    :func:`._reduce._row_reduce`: ``tau = scales[h, m]``, or with ``dofs[h, m] > 0`` the row scale
    ``scales[h, m] sqrt(chi2_dof / dof)`` drawn from a second stream, ``tau_seeds[h, c]``, so that the
    normals do not depend on which models are simulated. A model with ``scales[h, m] <= 0`` is not
    simulated (its ``out`` is left as it is).
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
        s = np.empty(n)
        scratch = _row_scratch(n)
        r0 = (c % per_head) * chunk_rows
        for r in range(r0, min(r0 + chunk_rows, samples)):
            for j in range(n):
                z[j] = _normal(rng)
            for m in range(n_models):
                tau = scales[h, m]
                if not tau > 0:
                    continue
                if dofs[h, m] > 0:
                    tau *= np.sqrt(_chi2(rng_tau, dofs[h, m]) / dofs[h, m])
                for j in range(n):
                    s[j] = tau * z[j]
                for t in range(w):
                    s[t] += offsets[h, m, t]
                _row_reduce(s, codes, sparams, out[h, m, r], scratch)
