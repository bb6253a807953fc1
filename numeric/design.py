"""Design and resolution of a check: how many rows decide it (plain data in, numbers out).

One width law, :class:`WidthLaw`, models the half-width of a check's confidence set after
``t`` rows. It is the one place where rows-to-decide are estimated: :func:`design_rows` and
:func:`resolution_width` use it on pilot rows, and the check engine uses it for the "needs
about N rows" of an inconclusive reason (:func:`attnsparse.numeric.reasons.rows_to_decide`).

* ``betting`` (the betting sequence of :mod:`.confseq`, and the ``lipschitz`` route, which
  runs it on clipped values in the clip window): in the unit scale ``y = (x - lo) / R`` of the
  range, with ``v`` the variance and ``mu`` the mean of ``y``, the capital of a candidate
  ``mu -+ w`` grows on average by ``lambda_i w - lambda_i^2 v / 2`` per row (the second-order
  expansion of ``log(1 + lambda (y - m))``), so it crosses the threshold ``T`` where

      ``w_side(t) = (T + v S2(t) / 2) / S1(t)``,  ``S1 = sum_{i <= t} l_i``,  ``S2 = sum l_i^2``,

  with the bets of the sequence at the true variance, ``l_i = min(sqrt(2 log(2/alpha) /
  (v i log(1 + i))), cap)``, ``cap = c / mu`` for the lower bound (``K+``) and ``c / (1 - mu)``
  for the upper (``K-``). ``T = log(2 / alpha)`` for the two-sided set (whose half-width is the
  mean of the two sides) and ``log(1 / alpha)`` for one bound. This law has the ``sqrt(log t /
  t)`` shape of the plug-in bets, the ``log log t`` growth of their variance term, and the floor
  ``T / (c t)`` of a mean near an end of its range (capped bets), all from the construction.
  ``S1`` and ``S2`` are summed exactly up to 1024 rows and by their integrals beyond.
* ``asymptotic`` (and ``order statistics``): t / normal intervals at ``alpha / looks``,
  ``h(t) = z sqrt(v / t)``.

A law is *calibrated* to pass through an observed half-width (the engine's own interval on
the pilot rows, or on the rows of an inconclusive check): the factor ``k`` absorbs what the
law omits (the plug-in variance, the third-order terms, the clipping bias of the Lipschitz
route, the order-statistic interval's constant). tests/engine/test_design.py compares its
prediction with the sequence run on independent data of known distribution.

A claim is *confirmed* once ``h(t) <= tol + margin`` (``margin`` = 0 for an equality, the
bound minus the mean for a bound) and a deviation ``delta`` is *refuted* once
``h(t) <= |delta|`` (``|delta| - tol`` for ``approx``, whose band must be excluded).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, replace

import numpy as np

from .confseq import C_TRUNC

__all__ = ["Design", "WidthLaw", "design_rows", "resolution_width", "Pilot"]

#: rows summed exactly in the betting law; beyond, the sums are integrals
_EXACT = 1024
#: the law is not followed beyond this many rows (``rows_for`` answers inf)
_MAX_ROWS = 2.0**62


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


def _bet_sums(t, a, cap):
    """``(S1, S2)``: sums over ``i <= t`` of ``l_i = min(a / sqrt(i log(1 + i)), cap)`` and of ``l_i^2``
    (exact up to :data:`_EXACT` rows, then the integral from ``_EXACT + 1/2`` to ``t + 1/2``)."""
    from scipy.integrate import quad

    m = int(min(t, _EXACT))
    i = np.arange(1, m + 1, dtype=float)
    li = np.minimum(a / np.sqrt(i * np.log1p(i)), cap) if math.isfinite(a) else np.full(m, cap)
    s1, s2 = float(li.sum()), float((li * li).sum())
    if t <= _EXACT:
        return s1, s2
    u0, u1 = math.log(_EXACT + 0.5), math.log(t + 0.5)
    if not math.isfinite(a):
        return s1 + cap * (t - _EXACT), s2 + cap * cap * (t - _EXACT)

    def lam(u):
        return min(a / math.sqrt(math.exp(u) * math.log1p(math.exp(u))), cap)

    # the cap binds below x*: x* log(1 + x*) = (a / cap)^2
    pts = []
    if math.isfinite(cap):
        lo, hi = u0, u1
        if lam(lo) >= cap > lam(hi):
            for _ in range(60):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if lam(mid) >= cap else (lo, mid)
            pts = [hi]
    s1 += quad(lambda u: lam(u) * math.exp(u), u0, u1, points=pts or None, limit=200)[0]
    s2 += quad(lambda u: lam(u) ** 2 * math.exp(u), u0, u1, points=pts or None, limit=200)[0]
    return s1, s2


@dataclass(frozen=True)
class WidthLaw:
    """The modelled half-width of a check's confidence set after ``t`` rows (module docstring).

    Parameters
    ----------
    method : {"betting", "asymptotic"}
        The shape: the betting law (``betting`` and ``lipschitz`` checks) or ``z sqrt(v / t)``
        (``asymptotic`` and ``order statistics``).
    variance : float
        Variance of the values (in their units).
    alpha : float
        The level of the check.
    value_range : (lo, hi), optional
        The range the betting sequence runs on (betting only).
    mean : float, optional
        The mean of the values (betting only: it sets the caps of the bets).
    side : {"two", "upper", "lower"}
        The two-sided set (half-width), or one confidence bound (distance to the estimate).
    looks : int
        Looks of the schedule (asymptotic only: each look is at ``alpha / looks``).
    calibration : float
        The factor ``k`` (:meth:`calibrated`).
    """

    method: str
    variance: float
    alpha: float
    value_range: tuple | None = None
    mean: float | None = None
    side: str = "two"
    looks: int = 1
    calibration: float = 1.0

    def __post_init__(self):
        _alpha(self.alpha)
        if self.method not in ("betting", "asymptotic"):
            raise ValueError(f"method must be 'betting' or 'asymptotic', got {self.method!r}")
        if self.side not in ("two", "upper", "lower"):
            raise ValueError(f"side must be 'two', 'upper' or 'lower', got {self.side!r}")
        if not (self.variance >= 0 and math.isfinite(self.variance)):
            raise ValueError(f"variance must be a finite number >= 0, got {self.variance!r}")
        if self.method == "betting" and (self.value_range is None or self.mean is None):
            raise ValueError("a betting law needs value_range and mean")

    def _raw(self, t):
        t = float(t)
        if self.method == "asymptotic":
            from scipy.stats import norm

            a = self.alpha / self.looks
            z = float(norm.isf(a / 2 if self.side == "two" else a))
            return z * math.sqrt(self.variance / t)
        lo, hi = self.value_range
        R = hi - lo
        v = self.variance / R**2
        mu = min(max((self.mean - lo) / R, 0.0), 1.0)
        a = math.sqrt(2 * math.log(2 / self.alpha) / v) if v > 0 else math.inf
        thr = math.log((2 if self.side == "two" else 1) / self.alpha)

        def w(cap):
            s1, s2 = _bet_sums(t, a, cap)
            return (thr + v * s2 / 2) / s1

        caps = {"lower": C_TRUNC / mu if mu > 0 else math.inf, "upper": C_TRUNC / (1 - mu) if mu < 1 else math.inf}
        # a bound stops at the end of the range: the lower at 0, the upper at 1
        lower = min(w(caps["lower"]), mu) if self.side != "upper" else 0.0
        upper = min(w(caps["upper"]), 1 - mu) if self.side != "lower" else 0.0
        return R * ((lower + upper) / 2 if self.side == "two" else lower + upper)

    def width(self, rows):
        """The modelled half-width after ``rows`` rows (a number >= 1)."""
        if isinstance(rows, bool) or not isinstance(rows, numbers.Real) or not rows >= 1:
            raise ValueError(f"rows must be a number >= 1, got {rows!r}")
        return self.calibration * self._raw(rows)

    def calibrated(self, halfwidth, rows):
        """This law scaled to pass through ``halfwidth`` at ``rows`` rows (unchanged if the
        half-width is not a finite positive number)."""
        raw = self._raw(rows)
        if not (math.isfinite(halfwidth) and halfwidth > 0 and raw > 0):
            return self
        return replace(self, calibration=halfwidth / raw)

    def rows_for(self, width):
        """The rows (a real number >= 1) at which the modelled half-width falls to ``width``;
        ``math.inf`` when ``width <= 0`` or beyond 2^62 rows."""
        if not width > 0:
            return math.inf
        if self.method == "asymptotic":
            t = (self.calibration * self._raw(1.0) / width) ** 2
            return max(1.0, t) if t <= _MAX_ROWS else math.inf
        if self.width(1) <= width:
            return 1.0
        if self.width(_MAX_ROWS) > width:
            return math.inf
        lo, hi = 0.0, math.log(_MAX_ROWS)  # the law decreases in t: bisect on log t
        while hi - lo > 1e-7:
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if self.width(math.exp(mid)) <= width else (mid, hi)
        return math.exp(hi)


def _need(rel, tol, margin=0.0):
    """Half-width that confirms a true claim (``tol`` plus the bound's ``margin``)."""
    return tol + margin if rel in ("<=", ">=") else tol


def _refute_need(rel, tol, deviation):
    """Half-width that refutes a deviation (beyond the band for ``approx``)."""
    return abs(deviation) - tol if rel == "approx" else abs(deviation)


@dataclass(frozen=True)
class Pilot:
    """Pilot rows of a check, read by the engine's own construction
    (:func:`attnsparse.numeric.check.pilot_look`: its sides, method, confidence set and law)."""

    method: str
    law: WidthLaw  # calibrated on the pilot
    estimate: float
    theory: float  # the theory value, or the estimate of the right-hand side (two models)
    tol: float
    rel: str
    rows: int


def design_rows(p, deviation):
    """A :class:`Design` from a :class:`Pilot`: ``deviation`` is the absolute deviation to refute."""
    if not (isinstance(deviation, numbers.Real) and deviation > 0 and math.isfinite(deviation)):
        raise ValueError(f"deviation must be a finite number > 0, got {deviation!r}")
    margin = 0.0
    if p.rel == "<=":
        margin = p.theory - p.estimate
    elif p.rel == ">=":
        margin = p.estimate - p.theory
    law = p.law

    def rows(width):
        n = law.rows_for(width)
        return math.ceil(n) if math.isfinite(n) else n

    return Design(rows(_need(p.rel, p.tol, margin)), rows(_refute_need(p.rel, p.tol, deviation)), float(deviation),
                  law.alpha, p.method, law.variance, law.value_range, p.rows, law.calibration)


def resolution_width(p, rows):
    """The smallest absolute deviation refuted with ``rows`` rows, by the law calibrated on the pilot ``p``."""
    if isinstance(rows, bool) or not isinstance(rows, numbers.Integral) or rows < 1:
        raise ValueError(f"rows must be an integer >= 1, got {rows!r}")
    return p.law.width(int(rows)) + (p.tol if p.rel == "approx" else 0.0)
