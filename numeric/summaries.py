"""Row summaries: the mean and 10/50/90% quantiles of a statistic's per-row values, pooled
(:func:`summarise`) or per head (:func:`summarise_heads`). The pooled table of
:class:`.measurement.Measurement` and the per-head reports of :mod:`.heads` both use them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["summarise", "summarise_heads"]

_QUANTILES = {"q10": 0.1, "q50": 0.5, "q90": 0.9}


def summarise(x):
    """Mean and the 10/50/90% quantiles of ``x`` (all of it, flattened)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    out = {"mean": float(np.mean(x))}
    out.update(zip(_QUANTILES, (float(v) for v in np.quantile(x, list(_QUANTILES.values())))))
    return out


def summarise_heads(x):
    """``[summarise(x[h]) for h in range(len(x))]`` for ``x`` of shape ``(heads, rows)``, in one pass.

    The same numbers (numpy reduces each contiguous row as it reduces a flattened one), with one
    quantile call for all heads instead of one per head and quantile.
    """
    a = np.ascontiguousarray(np.asarray(x, dtype=np.float64).reshape(len(x), -1))
    mean = a.mean(axis=1)
    qs = np.quantile(a, list(_QUANTILES.values()), axis=1)
    return [{"mean": float(mean[h]), **{name: float(qs[i, h]) for i, name in enumerate(_QUANTILES)}}
            for h in range(a.shape[0])]
