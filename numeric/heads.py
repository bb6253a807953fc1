r"""Per-head reports of :func:`.measure.measure`: fitted logit scale, regime, sink, theory, best model.

For one head with ``n`` keys per row (the median visible count under a causal mask) and
row logits ``s_ij = scale <q_i, k_j>``:

* **fitted sigma** ``sigma = sqrt(mean_i Var_j s_ij)``, the root mean row variance (the row
  mean drops out of softmax); ``gamma = sigma^2 / (2 ln n)`` and ``sigma / beta_c`` with
  ``beta_c = sqrt(2 ln n)`` (docs/theory.md, section 0);
* **regime** from ``r = sigma / beta_c``: high temperature below :data:`CRITICAL_WINDOW` [0],
  critical window inside it, condensed above it. docs/theory.md puts the transition at
  ``r = 1`` and says that near it only the exact integrals can be trusted; it names no window,
  so the window is ours (:data:`CRITICAL_WINDOW`);
* **sink head**: the head's mean sink mass (the first ``sink`` keys) exceeds
  :data:`SINK_HEAD_MASS`;
* **theory**: the head's mean IPR and entropy against the exact finite-n IID values at the
  head's sigma (:mod:`.exact`, E1, E3, float route at :data:`HEAD_DPS` digits, cached per
  sigma); the mean top-k masses and ``k_eps`` against :data:`HEAD_SAMPLES` simulated IID rows
  at that sigma (seeded; the exact ``k_eps`` route, ``exact.eval_k_eps``, takes seconds to
  minutes a value, more than the whole measurement); each
  prediction's ``source`` says which.

Three models per head (``models``), each predicting the same statistics by simulation: all
three transform one set of :data:`HEAD_SAMPLES` rows of standard normals per head (common random
numbers, so the comparison is paired; :func:`_simulate_heads`), and the iid and sink-offset rows
are those :func:`.simulate.simulate_stats` draws for :class:`.models.IIDLogits` at the head's stream:

* ``iid``: one sigma for every row and key;
* ``sink offset``: iid logits of scale ``sigma_rest`` (the non-sink keys) plus a fixed offset
  ``delta_j`` on each sink key ``j < sink`` (the mean shift of its logit above the row's
  non-sink mean);
* ``scale mixture``: each row has its own scale, ``tau^2 = sigma^2 chi2_nu / nu`` (the
  reduction of the bilinear model, docs/theory.md, section 2, E8), with ``nu`` fitted by
  moments from the spread of the row variances after removing the spread a row variance has
  under pure iid logits (``2 / (n - 1)`` in relative variance). No excess spread: ``nu`` is
  infinite and the model is the iid one (reported as not fitted).

A model's ``error`` is the mean over the statistics of ``|log10(measured mean / predicted
mean)|``. ``best`` is the simplest model (iid, then scale mixture with one more parameter, then
sink offset with ``sink`` more) whose error is within :data:`MODEL_MARGIN` of the smallest: a
model with more parameters has to explain the head better by more than that to be named.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .kernels._rows import _simulate_model_rows
from .kernels._tiles import _sink_moments
from .summaries import summarise_heads

__all__ = ["head_reports", "fit_head_logits", "regime", "CRITICAL_WINDOW", "SINK_HEAD_MASS", "HEAD_DPS",
           "HEAD_SAMPLES", "HEAD_STREAM", "MODEL_MARGIN"]

#: ``sigma / beta_c`` bounds of the critical window (ours: docs/theory.md names only ``r = 1``)
CRITICAL_WINDOW = (0.8, 1.3)
#: a head whose mean sink mass exceeds this is a sink head (the level of issue 14's census)
SINK_HEAD_MASS = 0.3
#: digits of the exact per-head theory: the comparison resolves about 1% (the sampling error of a
#: head's mean over its rows), so 5 confirmed digits (the float route, ~0.02 s a value at n = 512)
#: are ample; values are cached per ``(n, sigma to 6 significant digits)``
HEAD_DPS = 5
#: simulated rows per head and model: one query set's worth (the measured means average 512
#: rows of a 512-token head; the prediction's sampling error is then of the same size)
HEAD_SAMPLES = 512
#: streams of the per-head simulations: ``HEAD_STREAM + 3 head`` the standard normals that all of the
#: head's models transform, ``+ 2`` the scale mixture's row scales (``+ 1`` is unused)
HEAD_STREAM = 2_000_000
_TAU_STREAM = 2
#: the models' places in the kernel's arrays
_SLOTS = {"iid": 0, "sink": 1, "mixture": 2}
#: log10 error a richer model must gain over a simpler one to be named best (about 1.2%)
MODEL_MARGIN = 0.005
#: the largest fitted ``nu`` kept as a scale mixture (larger: indistinguishable from iid)
NU_MAX = 4096
#: sigma range of the exact evaluators
_SIGMA_RANGE = (1e-6, 30.0)
#: the largest sigma and |offset| the simulated models take (:class:`.models.IIDLogits`)
_SIM_SIGMA_MAX, _SIM_OFFSET_MAX = 1e6, 1e8

MODELS = ("iid", "sink offset", "scale mixture")
#: the models from the simplest to the richest
_SIMPLEST_FIRST = ("iid", "scale mixture", "sink offset")


def regime(ratio):
    """``"high temperature"``, ``"critical window"`` or ``"condensed"`` for ``ratio = sigma / beta_c``."""
    if not math.isfinite(ratio):
        return "undefined"
    lo, hi = CRITICAL_WINDOW
    return "high temperature" if ratio < lo else ("condensed" if ratio > hi else "critical window")


def empty_fit(n_q, sink):
    """The per-row arrays of a head fit (see :func:`fit_head_logits`), to be filled tile by tile."""
    return {"n": np.empty(n_q), "var": np.empty(n_q), "var_rest": np.full(n_q, np.nan),
            "mean_rest": np.full(n_q, np.nan), "offset": np.full((n_q, sink), np.nan)}


def tile_moments(S, t0, q0, causal, sink, fit):
    """Fill rows ``t0 ..`` of ``fit`` with the non-sink moments of the raw score tile ``S``.

    ``S`` holds the logits of query rows ``t0 .. t0 + len(S)``; row ``i`` sees keys
    ``j <= q0 + i`` under ``causal`` (all keys otherwise). Fills ``mean_rest``, ``var_rest``
    (population variance of the visible non-sink keys) and ``offset`` (sink logit minus
    ``mean_rest``); ``n`` and ``var`` come from :func:`.measure.measure`'s tile kernel (or from
    :func:`fit_head_logits`). This is the one place the sink-model moments are formed: measure
    calls it on the tiles it already holds, so no logit is computed twice.
    """
    rows, n_k = S.shape
    sink = fit["offset"].shape[1]
    if n_k <= sink:
        return
    sl = slice(t0, t0 + rows)
    _sink_moments(np.ascontiguousarray(S), int(q0), bool(causal), int(sink), fit["mean_rest"][sl],
                  fit["var_rest"][sl], fit["offset"][sl])


def fit_head_logits(qs, k, causal, sink, tile=256):
    """Row moments of one head's logits ``qs @ k.T`` (``qs`` already scaled), formed in tiles.

    Returns a dict of per-row arrays: ``n`` (visible keys), ``var`` (variance of the visible
    logits), ``var_rest`` and ``mean_rest`` (of the visible non-sink keys, NaN when none), and
    ``offset`` of shape ``(rows, sink)``: the logit of sink key ``j`` minus ``mean_rest`` (NaN
    where key ``j`` is not visible or no non-sink key is). :func:`.measure.measure` builds the
    same dict from its own tiles (:func:`tile_moments`); this standalone form is for callers
    without a measurement.
    """
    n_q, n_k = qs.shape[0], k.shape[0]
    out = empty_fit(n_q, min(sink, n_k))
    kt = np.ascontiguousarray(k.T)
    for t0 in range(0, n_q, tile):
        S = qs[t0:t0 + tile] @ kt
        rows = S.shape[0]
        q0 = t0 + n_k - n_q
        nv = np.minimum(q0 + np.arange(rows) + 1, n_k) if causal else np.full(rows, n_k)
        vis = np.arange(n_k)[None, :] < nv[:, None]
        mean = np.where(vis, S, 0.0).sum(axis=1) / nv
        out["n"][t0:t0 + rows] = nv
        out["var"][t0:t0 + rows] = np.where(vis, (S - mean[:, None]) ** 2, 0.0).sum(axis=1) / nv
        tile_moments(S, t0, q0, causal, sink, out)
    return out


def _mixture_nu(var, n):
    """Moment fit of ``nu`` in ``tau^2 = sigma^2 chi2_nu / nu`` from the row variances (inf: none)."""
    m = float(np.mean(var))
    if var.size < 2 or m <= 0 or n < 3:
        return math.inf
    with np.errstate(over="ignore", invalid="ignore"):
        rel = float(np.var(var / m))  # relative variance, formed without squaring large variances
    excess = rel - 2.0 / (n - 1)
    return 2.0 / excess if (math.isfinite(excess) and excess > 0) else math.inf


def _iid_sim(cache, n, sigma, epss, seed, batch, topk):
    """The simulated iid model of one head, drawn once (theory and model comparison share it;
    :func:`head_reports` usually has it already, from its one batched simulation)."""
    if "iid" not in cache:
        cache["iid"] = _simulate(n, sigma, {}, 0, epss, seed, batch, topk=topk)
    return cache["iid"]


@functools.lru_cache(maxsize=4096)
def _exact_value(name, n, sigma):
    """One exact IID value at :data:`HEAD_DPS` digits (``sigma`` already rounded: the cache key)."""
    from . import exact

    f = {"ipr": exact.eval_ipr, "entropy": exact.eval_entropy}[name]
    return float(f(HEAD_DPS, n, sigma))


def _exact_iid(n, sigma, topk, epss, seed, batch, cache):
    """Exact IPR and entropy (float route, :data:`HEAD_DPS` digits, cached per sigma) and the
    simulated top-k masses and ``k_eps`` at ``sigma``.

    The top-k masses and ``k_eps`` have exact routes too (E4; ``eval_k_eps``),
    but at 0.1-0.4 s (E4) and 8 s to minutes (``k_eps``) a value they would cost more than the whole
    measurement; the shared simulated iid rows give them to the comparison's resolution, and
    ``source`` says so.
    """
    from .quadrature import PrecisionError

    pred, source = {}, {}
    ok = n >= 2 and _SIGMA_RANGE[0] <= sigma <= _SIGMA_RANGE[1]
    key = float(f"{sigma:.6g}")
    for name in ("ipr", "entropy"):
        if not ok:
            pred[name], source[name] = math.nan, "none (sigma or n outside the exact evaluators' range)"
            continue
        try:
            pred[name] = _exact_value(name, int(n), key)
            source[name] = f"exact ({HEAD_DPS} digits, sigma to 6 significant digits)"
        except (PrecisionError, ValueError) as e:
            pred[name], source[name] = math.nan, f"none ({str(e).splitlines()[0]})"
    sim_topk = [x for x in topk if x < n]
    for x in topk:
        if x >= n:
            pred[f"topk_mass({x})"], source[f"topk_mass({x})"] = 1.0, "exact (k >= n)"
    if (epss or sim_topk) and ok:
        sim = _iid_sim(cache, n, sigma, epss, seed, batch, topk)
        for name in [f"k_eps({e:g})" for e in epss] + [f"topk_mass({x})" for x in sim_topk]:
            pred[name], source[name] = sim[name], f"simulated ({HEAD_SAMPLES} iid rows, seed {seed})"
    return pred, source


def _stat_set(n, topk, epss):
    """Names, codes and parameters of the statistics every simulated head model predicts."""
    from .statistics import stat

    stats = [stat.ipr, stat.entropy] + [stat.topk_mass(int(min(x, n))) for x in topk] + \
        [stat.k_eps(float(e)) for e in epss]
    names = ["ipr", "entropy"] + [f"topk_mass({x})" for x in topk] + [f"k_eps({e:g})" for e in epss]
    return (names, np.array([s.code for s in stats], dtype=np.int64),
            np.array([s.bind_param({}, n) for s in stats], dtype=np.float64))


def _simulate_heads(items, n, topk, epss, seed):
    """Mean statistics of ``HEAD_SAMPLES`` simulated rows of every model of every head in ``items``,
    in one kernel call.

    ``items``: per head ``(batch, models)``, ``models`` mapping ``"iid"``, ``"sink"`` and ``"mixture"``
    (any of them) to ``(sigma, offsets, nu)``: ``offsets`` ``{key: offset}``, ``nu`` 0 or inf for one
    scale; all heads have ``n`` keys. Returns per head ``{model: {statistic: mean}}``.

    The models of a head transform the same standard normals (common random numbers, stream
    ``batch``): one draw per row instead of three, and the models' predictions are paired. The iid
    and sink-offset rows are exactly the rows :func:`.simulate.simulate_stats` draws for
    ``IIDLogits(n, sigma, offsets=offsets)`` with ``(seed, batch)``; the scale mixture multiplies the
    same normals by a row scale ``sigma sqrt(chi2_nu / nu)`` (``nu`` rounded to an integer) drawn from
    stream ``batch + 2``. A model's numbers do not depend on which other models are simulated (up to
    the order of floating-point sums). A model beyond the simulated range gets NaN predictions.
    """
    from . import config
    from .simulate import chunk_seeds

    names, codes, params = _stat_set(n, topk, epss)
    out = [{} for _ in items]
    heads = len(items)
    width = max([1 + max(offs) for _, models in items for _s, offs, _nu in models.values() if offs] + [0])
    per_head = math.ceil(HEAD_SAMPLES / config.CHUNK_ROWS)
    scales, dofs = np.zeros((heads, len(_SLOTS))), np.zeros((heads, len(_SLOTS)), dtype=np.int64)
    offsets = np.zeros((heads, len(_SLOTS), width))
    seeds, tau_seeds = np.zeros((heads, per_head), dtype=np.int64), np.zeros((heads, per_head), dtype=np.int64)
    for h, (batch, models) in enumerate(items):
        for kind, (sigma, offs, nu) in models.items():
            if not (0 < sigma <= _SIM_SIGMA_MAX) or any(abs(v) > _SIM_OFFSET_MAX for v in offs.values()):
                out[h][kind] = {name: math.nan for name in names}  # beyond the simulated models' range
                continue
            m = _SLOTS[kind]
            scales[h, m] = sigma
            dofs[h, m] = max(1, int(round(nu))) if (math.isfinite(nu) and nu > 0) else 0  # 0: one scale
            for j, v in offs.items():
                offsets[h, m, j] = v
        if scales[h].any():
            seeds[h] = chunk_seeds(seed, batch, HEAD_SAMPLES)
        if dofs[h].any():
            tau_seeds[h] = chunk_seeds(seed, batch + _TAU_STREAM, HEAD_SAMPLES)
    if not scales.any():
        return out
    if width >= n:
        raise ValueError(f"sink offsets on keys up to {width - 1} need rows of more than {width} keys, got n = {n}")
    res = np.full((heads, len(_SLOTS), HEAD_SAMPLES, len(names)), np.nan)
    _simulate_model_rows(int(n), scales, dofs, offsets, seeds, tau_seeds, config.CHUNK_ROWS, codes, params, res)
    for h, (_, models) in enumerate(items):
        for kind in models:
            if kind not in out[h]:
                rows = res[h, _SLOTS[kind]]
                if not np.isfinite(rows).all():
                    raise ValueError("a simulated head model gave a non-finite statistic")
                out[h][kind] = dict(zip(names, (float(x) for x in rows.mean(axis=0))))
    return out


def _simulate(n, sigma, offsets, nu, epss, seed, batch, topk=()):
    """Mean statistics of ``HEAD_SAMPLES`` simulated rows of one model of the head whose streams
    start at ``batch`` (:func:`_simulate_heads`: the same numbers as in the head's batch)."""
    kind = "mixture" if (math.isfinite(nu) and nu > 0) else ("sink" if offsets else "iid")
    return _simulate_heads([(batch, {kind: (sigma, offsets or {}, nu)})], n, topk, epss, seed)[0][kind]


def _sink_params(fit, n, sink):
    """``(sigma_rest, {key: offset})`` of the sink-offset model, or None when it cannot be fitted."""
    vr = fit["var_rest"]
    if not (np.isfinite(vr).any() and n > sink):
        return None
    deltas = {j: float(np.nanmean(fit["offset"][:, j])) for j in range(fit["offset"].shape[1])
              if np.isfinite(fit["offset"][:, j]).any()}
    return math.sqrt(float(np.nanmean(vr))), deltas


def _presimulate(heads, plans, theory, models, topk, epss, seed):
    """Per head, the simulated models its report will ask for, drawn in one batch per ``n``.

    Returns one cache dict per head (``"iid"``, ``"sink"``, ``"mixture"``: mean statistics), the
    numbers the per-model calls would give (:func:`_simulate_heads`); a model asked for but not
    here is simulated on demand.
    """
    caches = [{} for _ in range(heads)]
    groups = {}
    for h, (n, sigma, sink_par, nu) in enumerate(plans):
        if n < 2:
            continue
        want = {}
        exact_needs_sim = _SIGMA_RANGE[0] <= sigma <= _SIGMA_RANGE[1] and (len(epss) or any(x < n for x in topk))
        if sigma > 0 and (models or theory == "simulated" or (theory == "exact" and exact_needs_sim)):
            want["iid"] = (sigma, {}, 0)
        if models and sink_par is not None:
            want["sink"] = (sink_par[0], sink_par[1], 0)
        if models and math.isfinite(nu) and nu <= NU_MAX and sigma > 0:
            want["mixture"] = (sigma, {}, nu)
        if want:
            groups.setdefault(n, []).append((h, (HEAD_STREAM + 3 * h, want)))
    for n, items in groups.items():
        for (h, _), preds in zip(items, _simulate_heads([item for _, item in items], n, topk, epss, seed)):
            caches[h].update(preds)
    return caches


def _error(measured, predicted):
    """Mean ``|log10(measured / predicted)|`` over the statistics both define (NaN if none)."""
    terms = [abs(math.log10(measured[s] / p)) for s, p in predicted.items()
             if s in measured and math.isfinite(p) and p > 0 and measured[s] > 0]
    return float(np.mean(terms)) if terms else math.nan


def head_reports(q, k, rows, *, scale, causal, sink, topk, epss, seed, theory="exact",
                 models=True, tile=256, fits=None):
    """One report per head (a list of dicts, JSON-ready).

    Parameters
    ----------
    q, k : ndarray, shape (heads, n_q, d) and (heads, n_k, d)
        Validated arrays (unscaled).
    rows : dict
        :attr:`.measure.Measurement.rows`: statistic name -> per-row values ``(heads, n_q)``.
    theory : {"exact", "simulated", "none"}
        Source of the IID predictions at the head's sigma.
    models : bool
        Fit and compare the three models.
    fits : list of dict, optional
        One :func:`fit_head_logits` dict per head, already formed (by :func:`.measure.measure`
        from its tiles); computed here when not given.

    The simulated models of all heads are drawn in one batched kernel call (:func:`_presimulate`),
    each with its own seeds, so every head's numbers are those of a call per head and model.
    """
    if theory not in ("exact", "simulated", "none"):
        raise ValueError(f"theory must be one of 'exact', 'simulated', 'none', got {theory!r}")
    heads = q.shape[0]
    sink_name = f"sink_mass({sink})"
    if fits is None:
        fits = [fit_head_logits(q[h] * scale, k[h], causal, sink, tile) for h in range(heads)]
    plans = []
    for fit in fits:
        n = int(np.median(fit["n"]))
        plans.append((n, math.sqrt(float(np.mean(fit["var"]))), _sink_params(fit, n, sink) if n >= 2 else None,
                      _mixture_nu(fit["var"], n)))
    caches = _presimulate(heads, plans, theory, models, topk, epss, seed)
    per_name = {name: summarise_heads(x) for name, x in rows.items()}  # the pooled table's summary, per head
    summaries = [{name: per_name[name][h] for name in rows} for h in range(heads)]
    reports = []
    for h in range(heads):
        fit, cache = fits[h], caches[h]
        n, sigma = plans[h][:2]
        beta_c = math.sqrt(2 * math.log(n)) if n > 1 else math.nan
        ratio = sigma / beta_c if n > 1 else math.nan
        sink_mass = float(np.mean(rows[sink_name][h]))
        rep = {"head": h, "n": n, "sigma": sigma, "gamma": sigma ** 2 / (2 * math.log(n)) if n > 1 else math.nan,
               "sigma/beta_c": ratio, "regime": regime(ratio), sink_name: sink_mass,
               "sink_head": bool(sink_mass > SINK_HEAD_MASS),
               "summary": summaries[h]}
        measured = {name: float(np.mean(x[h])) for name, x in rows.items()}
        wanted = ["ipr", "entropy"] + [f"topk_mass({x})" for x in topk] + [f"k_eps({e:g})" for e in epss]
        if theory != "none":
            batch = HEAD_STREAM + 3 * h
            if theory == "exact":
                pred, source = _exact_iid(n, sigma, topk, epss, seed, batch, cache)
            else:
                pred = _iid_sim(cache, n, sigma, epss, seed, batch, topk) if n >= 2 and sigma > 0 else {}
                source = {s: f"simulated ({HEAD_SAMPLES} iid rows, seed {seed})" for s in pred}
            th = {}
            for s in wanted:
                if s not in pred:
                    continue
                p, m = pred[s], measured[s]
                th[s] = {"measured": m, "predicted": p, "source": source[s],
                         "log10_ratio": math.log10(m / p) if (math.isfinite(p) and p > 0 and m > 0) else math.nan}
            rep["theory"] = th
        if models and n >= 2:
            rep["models"] = _compare_models(h, n, sigma, plans[h], topk, epss, seed, measured, cache)
        reports.append(rep)
    return reports


def _compare_models(h, n, sigma, plan, topk, epss, seed, measured, cache):
    """Fit the three models to one head; their parameters, predictions, errors and the best.

    ``plan``: ``(n, sigma, sink parameters, nu)`` of :func:`head_reports`; ``cache`` holds the
    simulations :func:`_presimulate` drew (a missing one is drawn here, on the same normals).
    """
    out = {}
    base = HEAD_STREAM + 3 * h
    if sigma > 0:
        pred = _iid_sim(cache, n, sigma, epss, seed, base, topk)
        out["iid"] = {"sigma": sigma, "predicted": pred, "error": _error(measured, pred)}
    sink_par, nu = plan[2], plan[3]
    if sink_par is not None:
        sigma_rest, deltas = sink_par
        pred = cache["sink"] if "sink" in cache else \
            _simulate(n, sigma_rest, deltas, 0, epss, seed, base, topk=topk)
        out["sink offset"] = {"sigma": sigma_rest, "offsets": [deltas[j] for j in sorted(deltas)],
                              "predicted": pred, "error": _error(measured, pred)}
    if math.isfinite(nu) and nu <= NU_MAX and sigma > 0:
        pred = cache["mixture"] if "mixture" in cache else \
            _simulate(n, sigma, {}, nu, epss, seed, base, topk=topk)
        out["scale mixture"] = {"sigma": sigma, "nu": nu, "predicted": pred, "error": _error(measured, pred)}
    else:
        out["scale mixture"] = {"sigma": sigma, "nu": nu if math.isfinite(nu) else None, "predicted": None,
                                "error": math.nan,
                                "note": "not fitted: the row variances spread no more than under iid logits"
                                if not math.isfinite(nu) else f"not fitted: nu = {nu:.4g} > {NU_MAX}"}
    errs = {m: v["error"] for m, v in out.items() if math.isfinite(v["error"])}
    out["best"] = None
    if errs:
        lowest = min(errs.values())
        out["best"] = next(m for m in _SIMPLEST_FIRST if m in errs and errs[m] <= lowest + MODEL_MARGIN)
    return out
