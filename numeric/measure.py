"""Sparsity statistics of real attention: numpy ``Q``, ``K`` (and ``V``) arrays.

Scores are formed one tile of queries at a time (``scale * Q[t0:t1] @ K.T``) and reduced
in place by the numba kernels of :mod:`.kernels._tiles`, so memory stays
``O(tile_rows * n_keys + n * d)``; no ``n_queries x n_keys`` matrix is ever held.
:func:`attention_stats` runs in one parallel numba launch with its own score micro-kernel;
:func:`measure` forms tiles with BLAS, because it also multiplies them by ``V``.

* :func:`attention_stats` -- any built-in row statistics (``attnsparse.stat``) of every
  query row.
* :func:`measure` -- the statistics people report for real models (top-k mass, ``k_eps``,
  H2O threshold sparsity, sink and local-window mass, MInference-style column coverage,
  transfer of a column set to another input, sparse-attention output error) and how far
  the rows are from the Gaussian theory, pooled over heads and head by head
  (:mod:`.heads`: fitted sigma, regime, sink head, exact theory at the head's sigma, and the
  best of three models).

Arrays have shape ``(n, d)`` or ``(heads, n, d)``. With ``causal=True`` query ``i`` sees keys
``j <= i + n_keys - n_queries`` (the last query sees every key).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from threadpoolctl import threadpool_limits

from . import config
from .codes import M_ENTROPY, M_FIXED, M_H2O, M_IPR, M_KEYS, M_MAX_WEIGHT, M_SIGMA, M_SINK, M_WINDOW, USER_CODE
from .measurement import OUTPUT_ERROR_UNIT, Measurement
from .summaries import summarise as _summarise
from .statistics import stat
from .streams import MEASURE_SURROGATE

__all__ = ["attention_stats", "head_summaries", "measure", "Measurement", "validate_array", "OUTPUT_ERROR_UNIT"]


# ----------------------------------------------------------------------------- inputs

def validate_array(x, name, ndim=(2, 3)):
    """``x`` as a C-contiguous float64 array of shape ``(heads, n, d)``, or a ValueError naming ``name``."""
    try:
        a = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} must be a numeric array: {exc}") from None
    if a.dtype.kind not in "fiu":
        raise ValueError(f"{name} must hold real numbers (float or integer dtype), got dtype {a.dtype}")
    if a.ndim not in ndim:
        raise ValueError(f"{name} must have shape (n, d) or (heads, n, d), got shape {a.shape}")
    if 0 in a.shape:
        raise ValueError(f"{name} must be non-empty in every axis, got shape {a.shape}")
    a = np.ascontiguousarray(a, dtype=np.float64)
    bad = ~np.isfinite(a)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} contains {int(bad.sum())} NaN or infinite entries (first at index {first})")
    return a if a.ndim == 3 else a[None]


def _validate_qkv(Q, K, V=None):
    q, k = validate_array(Q, "Q"), validate_array(K, "K")
    if q.shape[0] != k.shape[0] or q.shape[2] != k.shape[2]:
        raise ValueError(f"Q and K must have the same number of heads and the same d; "
                         f"got Q {q.shape} and K {k.shape} (as (heads, n, d))")
    v = None
    if V is not None:
        v = validate_array(V, "V")
        if v.shape[:2] != k.shape[:2]:
            raise ValueError(f"V must have one row per key of K: got V {v.shape} and K {k.shape} "
                             f"(as (heads, n, d))")
    return q, k, v


def _positive_int(x, name, lo=1):
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {x!r}")
    return int(x)


def _fraction(x, name):
    if not (isinstance(x, (int, float, np.floating)) and 0.0 < float(x) < 1.0):
        raise ValueError(f"{name} must be a number in (0, 1), got {x!r}")
    return float(x)


def _scale(scale, d):
    if scale is None:
        return 1.0 / math.sqrt(d)
    if not (isinstance(scale, (int, float, np.floating)) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
    return float(scale)


#: the largest logit bound :func:`attention_stats` accepts (differences of logits stay finite)
SCORE_MAX = 1e300


def _check_score_range(q, k, sc, limit=SCORE_MAX, why="beyond float64 range", names="Q, K and scale"):
    """Every logit ``sc <q_i, k_j>`` is below ``limit``: refuse inputs whose scores overflow float64."""
    with np.errstate(over="ignore"):
        bound = sc * float(np.max(np.abs(q))) * float(np.max(np.abs(k))) * q.shape[2]
    if not bound < limit:
        raise ValueError(f"{names} give logits up to about {bound:.3g}, {why}; "
                         f"rescale the inputs (|scale * <q, k>| must stay below {limit:.3g})")


def _measure_score_max(n_k):
    """The logit bound of :func:`measure`: the row variance (``n_k`` squared logits) stays finite."""
    return 1e150 / math.sqrt(n_k)


def _tile_rows(n_keys, tile_rows, rows, max_bytes):
    if tile_rows is None:
        return max(4, min(rows, max_bytes // (8 * n_keys)))
    return _positive_int(tile_rows, "tile_rows")


def _check_causal(causal, n_q, n_k):
    if causal and n_q > n_k:
        raise ValueError(f"causal=True needs n_queries <= n_keys (the first query must see a key); "
                         f"got {n_q} queries and {n_k} keys")


def _score_tiles(qs, k, tile):
    """Yield ``(t0, S)``: the score tile ``qs[t0:t0+rows] @ k.T`` in a reused buffer."""
    n_q, n_k = qs.shape[0], k.shape[0]
    buf = np.empty((min(tile, n_q), n_k))
    kt = k.T
    for t0 in range(0, n_q, tile):
        rows = min(tile, n_q - t0)
        S = buf[:rows]
        np.dot(qs[t0:t0 + rows], kt, out=S)
        yield t0, S


# ----------------------------------------------------------------------------- statistics

def attention_stats(Q, K, stats, causal=False, scale=None, values=None, tile_rows=None):
    """Built-in row statistics of the softmax attention of ``Q`` against ``K``.

    Parameters
    ----------
    Q, K : array_like, shape (n_q, d) and (n_k, d), or (heads, n_q, d) and (heads, n_k, d)
    stats : sequence of Stat
        Built-in statistics from :data:`attnsparse.stat` (not ``stat.logits``).
    causal : bool
        Mask keys after each query's aligned position.
    scale : float, optional
        Logits are ``scale * <q_i, k_j>``; default ``1/sqrt(d)``.
    values : dict, optional
        Bindings of symbolic statistic parameters.
    tile_rows : int, optional
        Query rows per score tile (default: :data:`TILE_ROWS`, fewer for very long rows).
        Results do not depend on it beyond floating-point reassociation in BLAS.

    Returns
    -------
    ndarray, shape (n_q, len(stats)) or (heads, n_q, len(stats))
        Per head and row; :func:`head_summaries` turns it into one summary per head plus the
        pooled one.
    """
    import numba

    from .kernels._tiles import _fused_stats

    squeeze = np.ndim(Q) == 2
    q, k, _ = _validate_qkv(Q, K)
    stats = list(stats)
    for s in stats:
        if s.code == USER_CODE:
            raise ValueError(f"attention_stats takes built-in statistics; {s!r} is a user statistic")
    n_q, n_k = q.shape[1], k.shape[1]
    _check_causal(causal, n_q, n_k)
    codes = np.array([s.code for s in stats], dtype=np.int64)
    params = np.array([s.bind_param(_named(values, s), n_k) for s in stats], dtype=np.float64)
    sc, tile = _scale(scale, q.shape[2]), _tile_rows(n_k, tile_rows, config.FUSED_TILE_ROWS, config.FUSED_TILE_BYTES)
    _check_score_range(q, k, sc)
    tile = min(tile, n_q)
    n_chunks = min(-(-n_q // tile), 4 * numba.get_num_threads())
    out = np.empty((q.shape[0], n_q, len(stats)))
    for h in range(q.shape[0]):
        _fused_stats(q[h] * sc, k[h], tile, n_chunks, n_k - n_q, bool(causal), codes, params, out[h])
    return out[0] if squeeze else out


def head_summaries(out, stats):
    """Per-head and pooled summaries of an :func:`attention_stats` result.

    Returns ``{"pooled": {name: summary}, "heads": [{name: summary}, ...]}``, where a summary is
    the mean and the 10/50/90% quantiles over rows, and ``name`` is each statistic's ``name``
    (with its parameter, as in ``topk_mass(8)``) -- the same names in the pooled table and in
    every head's entry.
    """
    stats = list(stats)
    a = np.asarray(out, dtype=np.float64)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[2] != len(stats):
        raise ValueError(f"out must have shape (n_q, {len(stats)}) or (heads, n_q, {len(stats)}), got {a.shape}")
    names = [_stat_label(s) for s in stats]
    return {"pooled": {nm: _summarise(a[:, :, i]) for i, nm in enumerate(names)},
            "heads": [{nm: _summarise(a[h, :, i]) for i, nm in enumerate(names)} for h in range(a.shape[0])]}


def _stat_label(s):
    p = getattr(s, "param", None)
    if p is None:
        return s.name
    try:
        return f"{s.name}({float(p):g})"
    except TypeError:  # a symbolic parameter
        return f"{s.name}({p})"


def _named(values, s):
    """``values`` keyed by the statistic's own Symbols (names accepted)."""
    by_name = {x.name: x for x in s.free_symbols}
    return {by_name.get(k if isinstance(k, str) else k.name, k): v for k, v in (values or {}).items()}


def _column_set(qs, k, causal, last_q, n_cols):
    """0/1 vector over keys: the ``n_cols`` keys with most attention from the last ``last_q`` queries."""
    n_q, n_k = qs.shape[0], k.shape[0]
    last_q = min(last_q, n_q)
    S = qs[n_q - last_q:] @ k.T
    if causal:
        pos = np.arange(n_q - last_q, n_q)[:, None] + (n_k - n_q)
        S[np.arange(n_k)[None, :] > pos] = -np.inf
    S -= S.max(axis=1, keepdims=True)
    P = np.exp(S)
    P /= P.sum(axis=1, keepdims=True)
    score = P.sum(axis=0)
    chosen = np.argsort(-score, kind="stable")[:n_cols]  # a length-n_keys vector, once per head
    mask = np.zeros(n_k)
    mask[chosen] = 1.0
    return mask


def _one_blas_thread(fn):
    """Run ``fn`` with BLAS limited to one thread. ``measure`` alternates small BLAS products
    (score tiles, ``A V``) with numba's parallel kernels; OpenBLAS's idle threads spin for a while
    after each product and take the cores from numba's threads (measured: ``bench.measure``'s
    pooled run took 0.155 s with OpenBLAS free and 0.085 s with it held to one thread)."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        with threadpool_limits(1, user_api="blas"):
            return fn(*args, **kwargs)
    return run


@_one_blas_thread
def measure(Q, K, V=None, *, causal=False, scale=None, topk=(1, 8, 64), eps=(0.1, 0.01), sink=4,
            window=64, h2o=0.01, last_q=64, n_cols=None, keep=64, transfer=None, seed=0,
            tile_rows=None, head_theory="simulated", head_models=True):
    r"""Empirical sparsity statistics of the attention of ``Q`` against ``K``.

    Parameters
    ----------
    Q, K : array_like, shape (n_q, d), (n_k, d) or with a leading head axis
    V : array_like, shape (n_k, d_v) or (heads, n_k, d_v), optional
        Values; with them the sparse-attention output error is reported.
    causal : bool
        Causal mask (query ``i`` sees keys ``j <= i + n_k - n_q``).
    scale : float, optional
        Logit scale, default ``1/sqrt(d)``.
    topk : sequence of int
        ``k`` for the row top-k mass ``T(k)``.
    eps : sequence of float in (0, 1)
        ``eps`` for ``k_eps = min{k : 1 - T(k) <= eps}``.
    sink : int
        Number of first keys whose mass is the attention-sink mass.
    window : int
        Local window: the ``window`` keys ending at the query's own position.
    h2o : float in (0, 1)
        H2O threshold sparsity: fraction of a row's weights below ``h2o`` times its max.
    last_q, n_cols : int
        Column coverage (MInference-style): the ``n_cols`` keys (default ``n_k // 10``, at
        least 1) with most attention summed over the last ``last_q`` queries; each row's
        mass on them.
    keep : int
        ``k`` of the renormalised top-k attention ``A_S`` in ``||A_S V - A V||_F / ||A V||_F``.
    transfer : (Q2, K2), optional
        A second input of the same shapes: the column set chosen on ``(Q, K)`` is applied to
        it (transfer coverage), against its own column set (own coverage); recall is the
        fraction of its own chosen columns that the transferred set contains.
    seed : int
        Seed of the Gaussian-theory surrogate rows.
    tile_rows : int, optional
        Query rows per score tile.
    head_theory : {"simulated", "exact", "none"}
        The per-head IID predictions at each head's fitted sigma (:mod:`.heads`): simulated
        rows (the default), the exact finite-n IPR and entropy at :data:`.heads.HEAD_DPS` digits
        (about 0.02 s a value at n = 512, cached per sigma; top-k masses and ``k_eps`` stay
        simulated: their exact routes cost more than the measurement), or none.
    head_models : bool
        Fit the iid, sink-offset and scale-mixture models to every head and name the best.

    Returns
    -------
    Measurement
        ``heads`` holds one report per head (:func:`.heads.head_reports`); ``summary`` and
        ``theory`` stay pooled over heads.
    """
    from .kernels._tiles import _measure_tile

    q, k, v = _validate_qkv(Q, K, V)
    if head_theory not in ("simulated", "exact", "none"):
        raise ValueError(f"head_theory must be one of 'simulated', 'exact', 'none', got {head_theory!r}")
    if not isinstance(head_models, (bool, np.bool_)):
        raise ValueError(f"head_models must be True or False, got {head_models!r}")
    heads, n_q, d = q.shape
    n_k = k.shape[1]
    _check_causal(causal, n_q, n_k)
    topk = [_positive_int(x, "topk entries") for x in _seq(topk, "topk")]
    ks = np.array([min(x, n_k) for x in topk], dtype=np.int64)  # T(k) = 1 exactly for k >= n_k
    epss = np.array([_fraction(x, "eps entries") for x in _seq(eps, "eps")], dtype=np.float64)
    sink, window = _positive_int(sink, "sink"), _positive_int(window, "window")
    last_q, keep = _positive_int(last_q, "last_q"), _positive_int(keep, "keep")
    n_cols = max(1, n_k // 10) if n_cols is None else _positive_int(n_cols, "n_cols")
    # counts of keys beyond n_k mean "every key": clamp them before they reach int64 kernels
    sink_k, window_k, keep_k, n_cols_k = (min(x, n_k) for x in (sink, window, keep, n_cols))
    h2o = _fraction(h2o, "h2o")
    sc, tile = _scale(scale, d), _tile_rows(n_k, tile_rows, config.MEASURE_TILE_ROWS, config.MEASURE_TILE_BYTES)
    why = "beyond float64 range for the row variance (squared logits) of the Gaussian-theory comparison"
    _check_score_range(q, k, sc, _measure_score_max(n_k), why)
    q2 = k2 = None
    if transfer is not None:
        if not (isinstance(transfer, (tuple, list)) and len(transfer) == 2):
            raise ValueError("transfer must be a pair (Q2, K2) of arrays shaped like Q and K")
        q2, k2, _ = _validate_qkv(*transfer)
        if q2.shape != q.shape or k2.shape != k.shape:
            raise ValueError(f"transfer arrays must have the shapes of Q and K: got {q2.shape} and {k2.shape}, "
                             f"expected {q.shape} and {k.shape} (as (heads, n, d))")
        _check_score_range(q2, k2, sc, _measure_score_max(n_k), why, names="transfer (Q2, K2) and scale")
    settings = {"heads": heads, "n_queries": n_q, "n_keys": n_k, "d": d, "causal": bool(causal), "scale": sc,
                "topk": topk, "eps": epss.tolist(), "sink": sink, "window": window, "h2o": h2o,
                "last_q": last_q, "n_cols": n_cols, "keep": keep if v is not None else None, "seed": seed}
    from .blocks import COVERAGE, BlockMass
    from .heads import empty_fit, tile_moments

    # k_eps at 1 - COVERAGE is the sparsity ratio's column (added when not asked for)
    epss_k = epss if np.any(np.isclose(epss, 1 - COVERAGE, rtol=0, atol=1e-15)) else np.r_[epss, 1 - COVERAGE]
    n_cols_out = M_FIXED + len(ks) + len(epss_k) + 1
    per_row = np.empty((heads, n_q, n_cols_out))
    err = np.zeros((heads, 2))  # per head: ||A_S V - A V||_F^2 and ||A V||_F^2
    transfer_rows = np.empty((heads, n_q, 2))
    recall, fits, blocks = [], [], []
    for h in range(heads):
        qs = q[h] * sc
        cols = _column_set(qs, k[h], causal, last_q, n_cols_k)[None]
        ps = np.empty((min(tile, n_q), n_k)) if v is not None else np.empty((0, 0))
        fits.append(empty_fit(n_q, sink_k))
        blocks.append(BlockMass(n_q, n_k, q_shift=n_k - n_q, causal=bool(causal)))
        for t0, S in _score_tiles(qs, k[h], tile):
            rows = S.shape[0]
            tile_moments(S, t0, t0 + n_k - n_q, bool(causal), sink_k, fits[h])  # before S becomes P
            _measure_tile(S, t0 + n_k - n_q, bool(causal), sink_k, window_k, h2o, ks, epss_k, cols,
                          keep_k if v is not None else 0, per_row[h, t0:t0 + rows], ps)
            blocks[h].add(S, t0)  # S now holds the weights P of the tile
            if v is not None:
                av = S @ v[h]
                err[h] += (float(np.sum((ps[:rows] @ v[h] - av) ** 2)), float(np.sum(av * av)))
        nv = per_row[h, :, M_KEYS]
        fits[h]["n"][:] = nv
        fits[h]["var"][:] = per_row[h, :, M_SIGMA] ** 2 * (nv - 1) / nv  # population variance of the row
        if q2 is not None:
            qs2 = q2[h] * sc
            own = _column_set(qs2, k2[h], causal, last_q, n_cols_k)
            recall.append(float(np.sum(own * cols[0]) / n_cols_k))
            both = np.stack([cols[0], own])
            scratch = np.empty((n_q, M_FIXED + 3))
            for t0, S in _score_tiles(qs2, k2[h], tile):
                out = scratch[t0:t0 + S.shape[0]]
                _measure_tile(S, t0 + n_k - n_q, bool(causal), sink_k, window_k, h2o, ks[:0], epss[:0], both, 0,
                              out, np.empty((0, 0)))
                transfer_rows[h, t0:t0 + S.shape[0]] = out[:, M_FIXED:M_FIXED + 2]
    names = {"ipr": M_IPR, "entropy": M_ENTROPY, "max_weight": M_MAX_WEIGHT, "logit_sigma": M_SIGMA,
             f"sink_mass({sink})": M_SINK, f"window_mass({window})": M_WINDOW, f"h2o_sparsity({h2o:g})": M_H2O}
    names.update({f"topk_mass({x})": M_FIXED + i for i, x in enumerate(topk)})
    names.update({f"k_eps({x:g})": M_FIXED + len(ks) + i for i, x in enumerate(epss)})
    names[f"column_coverage({n_cols})"] = n_cols_out - 1
    rows = {name: per_row[:, :, c] for name, c in names.items()}
    i_cov = M_FIXED + len(ks) + int(np.flatnonzero(np.isclose(epss_k, 1 - COVERAGE, rtol=0, atol=1e-15))[0])
    ratio = rows[f"sparsity_ratio({COVERAGE:g})"] = 1.0 - per_row[:, :, i_cov] / per_row[:, :, M_KEYS]
    res = Measurement(settings, rows, {name: _summarise(x) for name, x in rows.items()})
    err_name = f"output_error(keep={keep})"
    if v is not None:
        tot = err.sum(axis=0)
        res.scalars[err_name] = math.sqrt(tot[0] / tot[1]) if tot[1] > 0 else math.nan
        res.units[err_name] = OUTPUT_ERROR_UNIT
    if q2 is not None:
        rows["transfer_coverage"], rows["own_coverage"] = transfer_rows[:, :, 0], transfer_rows[:, :, 1]
        res.summary["transfer_coverage"] = _summarise(transfer_rows[:, :, 0])
        res.summary["own_coverage"] = _summarise(transfer_rows[:, :, 1])
        res.scalars["transfer_column_recall"] = float(np.mean(recall))
    res.theory = _gaussian_distance(per_row[:, :, M_SIGMA].ravel(), per_row[:, :, M_KEYS].ravel(),
                                    rows, epss, seed)
    from .blocks import sparsity_section
    from .heads import head_reports
    head_rows = {name: x for name, x in rows.items() if name not in ("transfer_coverage", "own_coverage")}
    res.heads = head_reports(q, k, head_rows, scale=sc, causal=bool(causal), sink=sink, topk=topk,
                             epss=epss.tolist(), seed=seed, theory=head_theory, models=bool(head_models),
                             fits=fits)
    res.sparsity = sparsity_section(res.heads, blocks, ratio, rows, epss.tolist(),
                                    err if v is not None else None, err_name)
    from .cost import measure_cost_section
    res.cost = measure_cost_section(res.heads, n_k, d, epss.tolist())
    settings["head_theory"] = head_theory
    return res


def _seq(x, name):
    try:
        items = list(x)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of numbers, got {x!r}") from None
    if not items:
        raise ValueError(f"{name} must not be empty")
    return items


def _gaussian_distance(sigmas, n_keys, rows, epss, seed):
    """Measured IPR and ``k_eps`` against iid Gaussian rows with the same ``sigma`` and length.

    Each measured row gets one surrogate row of ``n_keys`` iid ``N(0, sigma^2)`` logits,
    simulated with :func:`.simulate.chunk_seeds` seeds (stream
    :data:`.streams.MEASURE_SURROGATE`). Ratios are measured / predicted.
    """
    from .kernels._rows import _surrogate_rows
    from .simulate import chunk_seeds

    stats = [stat.ipr] + [stat.k_eps(e) for e in epss]
    codes = np.array([s.code for s in stats], dtype=np.int64)
    params = np.array([0.0] + list(epss))
    pred = np.empty((sigmas.size, len(stats)))
    seeds = chunk_seeds(seed, MEASURE_SURROGATE, sigmas.size)
    _surrogate_rows(sigmas, n_keys.astype(np.int64), seeds, config.CHUNK_ROWS, codes, params, pred)
    n_med = float(np.median(n_keys))
    out = {"fitted logit sigma (median)": float(np.median(sigmas)),
           "gamma = sigma^2 / (2 ln n) (median)": float(np.median(sigmas) ** 2 / (2 * math.log(n_med)))
           if n_med > 1 else math.nan,
           "IPR measured (median)": float(np.median(rows["ipr"])),
           "IPR predicted (median)": float(np.median(pred[:, 0])),
           "IPR log10 ratio (median)": float(np.median(np.log10(rows["ipr"].ravel() / pred[:, 0])))}
    for i, e in enumerate(epss):
        meas = rows[f"k_eps({e:g})"].ravel()
        out[f"k_eps({e:g}) measured (median)"] = float(np.median(meas))
        out[f"k_eps({e:g}) predicted (median)"] = float(np.median(pred[:, 1 + i]))
        out[f"k_eps({e:g}) log10 ratio (median)"] = float(np.median(np.log10(meas / pred[:, 1 + i])))
    return out
