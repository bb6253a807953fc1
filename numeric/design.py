"""Design and resolution of a check: how many rows decide it (plain data in, numbers out).

The half-width of a check's confidence set after ``t`` rows is modelled by its width law:

* betting (a mean of values in ``[lo, hi]``, :mod:`.confseq`): ``h(t) = k (sqrt(2 v L / t)
  + R L / t)`` with ``L = log(2 / alpha)``, ``v`` the variance, ``R = hi - lo``; the second
  term is the floor of a mean near an end of its range (the upper end of a ``[0, 1]`` mean
  near 0 comes no closer than about ``L / t``);
* asymptotic (t / normal intervals at ``alpha / looks``): ``h(t) = z sqrt(v / t)``.

``k`` is calibrated on the pilot itself: the betting sequence is run on the pilot rows and
``k`` is the ratio of its half-width to the law's (the law omits the slowly growing
``sqrt(log t)`` growth of the plug-in bets' variance term relative to the pilot size
is modelled by the factor ``sqrt(log(t + 1) / log(pilot + 1))``; tests/engine/test_design.py
states the factor within which the design meets a real check).

A claim is *confirmed* once ``h(t) <= tol + margin`` (``margin`` = 0 for an equality, the
bound minus the mean for a bound) and a deviation ``delta`` is *refuted* once ``h(t) <= |delta|``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from .confseq import betting_cs

__all__ = ["Design", "width_law", "rows_for_width", "design_rows", "resolution_width"]


@dataclass(frozen=True)
class Design:
    """Rows needed to decide a check (``math.inf``: never, by the law)."""

    confirm: float
    refute: float
    deviation: float
    alpha: float
    method: str
    variance: float
    value_range: tuple | None
    pilot: int
    calibration: float

    def text(self):
        def rows(n):
            return "never" if not math.isfinite(n) else f"{int(n):,}"

        return (f"design ({self.method}, alpha={self.alpha:g}, pilot {self.pilot} rows): confirm in about "
                f"{rows(self.confirm)} rows; refute a deviation of {self.deviation:.3g} (absolute) in about "
                f"{rows(self.refute)} rows")


def _alpha(alpha):
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < float(alpha) < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    return float(alpha)


def _coefs(variance, value_range, alpha, method, looks=1):
    """(a, b) of the width law ``h(t) = a g(t) / sqrt(t) + b / t`` before calibration."""
    from scipy.stats import norm

    if method == "betting":
        L = math.log(2 / alpha)
        return math.sqrt(2 * variance * L), (value_range[1] - value_range[0]) * L
    return float(norm.ppf(1 - alpha / (2 * looks))) * math.sqrt(variance), 0.0


def _law(t, a, b, method, pilot):
    # the plug-in bets shrink as 1/sqrt(i log(i + 1)): the variance term grows as sqrt(log t)
    # relative to its value at the pilot size, where the law is calibrated
    g = math.sqrt(math.log(t + 1) / math.log(pilot + 1)) if method == "betting" and pilot else 1.0
    return a * g / math.sqrt(t) + b / t


def width_law(rows, variance, value_range, alpha, method="betting", calibration=1.0, looks=1, pilot=0):
    """The modelled half-width after ``rows`` rows (see the module docstring)."""
    if isinstance(rows, bool) or not isinstance(rows, numbers.Integral) or rows < 1:
        raise ValueError(f"rows must be an integer >= 1, got {rows!r}")
    a, b = _coefs(variance, value_range, _alpha(alpha), method, looks)
    return calibration * _law(int(rows), a, b, method, pilot)


def rows_for_width(width, variance, value_range, alpha, method="betting", calibration=1.0, looks=1, pilot=0):
    """The fewest rows whose modelled half-width is at most ``width`` (inf when width <= 0 or
    beyond 2^62 rows)."""
    if not width > 0:
        return math.inf
    a, b = _coefs(variance, value_range, _alpha(alpha), method, looks)

    def ok(t):
        return calibration * _law(t, a, b, method, pilot) <= width

    lo, hi = 1, 2
    while not ok(hi):
        lo, hi = hi, 2 * hi
        if hi > 2**62:
            return math.inf
    while hi - lo > 1:  # the law decreases in t: bisect for the first t that meets the width
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return lo if ok(lo) else hi


def calibrate(x, value_range, alpha):
    """Ratio of the betting sequence's half-width on ``x`` to the uncalibrated width law."""
    lo, hi = betting_cs(x, value_range[0], value_range[1], alpha).interval()
    law = width_law(len(x), float(np.var(x)), value_range, alpha)
    return ((hi - lo) / 2) / law if law > 0 else 1.0


def design_rows(x, value_range, theory, rel, tol, deviation, alpha, method="betting", looks=1):
    """A :class:`Design` from the pilot values ``x`` (a 1-d array).

    ``value_range`` is the statistic's declared range (None for the asymptotic route),
    ``theory`` the theory value, ``rel`` the relation, ``tol`` the half-width of the
    tolerance band, ``deviation`` the absolute deviation to refute.
    """
    alpha = _alpha(alpha)
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or len(x) < 2:
        raise ValueError(f"the pilot needs at least 2 values, got {x.size}")
    v = float(np.var(x, ddof=1))
    k = calibrate(x, value_range, alpha) if method == "betting" else 1.0
    mean = float(np.mean(x))
    if rel in ("<=", ">="):
        margin = (theory - mean) if rel == "<=" else (mean - theory)
        need = tol + margin
    else:
        need = tol
    law = dict(variance=v, value_range=value_range, alpha=alpha, method=method, calibration=k, looks=looks,
               pilot=len(x))
    return Design(rows_for_width(need, **law), rows_for_width(abs(deviation), **law), abs(deviation), alpha,
                  method, v, value_range, len(x), k)


def resolution_width(rows, x, value_range, alpha, method="betting", looks=1):
    """The smallest absolute deviation refuted with ``rows`` rows, by the width law on the pilot ``x``."""
    alpha = _alpha(alpha)
    x = np.asarray(x, dtype=float)
    k = calibrate(x, value_range, alpha) if method == "betting" else 1.0
    return width_law(rows, float(np.var(x, ddof=1)), value_range, alpha, method, k, looks, len(x))


#: the random-stream batch of design pilots (apart from the check looks, which use 2 l + s)
PILOT_BATCH = 2**20


def pilot(spec, rows=4000, seed=0):
    """``(values, value_range, method)`` of ``rows`` seeded pilot rows of ``spec.lhs`` (a CheckSpec).

    ``value_range`` is None (and ``method`` "asymptotic") for a statistic without a declared range.
    """
    from .simulate import _symbol_keys, simulate_stats
    from .statistics import quantile

    if isinstance(rows, bool) or not isinstance(rows, numbers.Integral) or rows < 100:
        raise ValueError(f"pilot must be an integer >= 100 rows, got {rows!r}")
    if spec.rhs is not None or isinstance(spec.lhs, quantile):
        raise ValueError("design covers one-sample means (E, P, Var of a statistic); this claim is a "
                         "two-model equality or a quantile")
    f = spec.lhs
    model = f.model or spec.model
    keys = _symbol_keys(spec.values, f)
    bound = model.bind(_symbol_keys(spec.values, model))
    raw = simulate_stats(model, [f.stat], int(rows), seed, spec.values, batch=PILOT_BATCH)[:, 0]
    x = np.asarray(f.values(raw, keys), dtype=float)
    rng = f.value_range(keys, bound.n)
    return x, (tuple(map(float, rng)) if rng is not None else None), ("betting" if rng is not None else "asymptotic")
