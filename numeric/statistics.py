"""The functionals E, P, Var and quantile of the row statistics, with their estimates.

A functional knows how to estimate itself from simulated values, with a confidence interval
and a p-value. The intervals come from scipy.stats: Student t for means, Wilson (score) for
probabilities, the asymptotic normal law of the sample variance, and binomial order
statistics for quantiles. The statistics themselves (``stat``, :class:`Stat`, :class:`Event`)
are defined in :mod:`.rowstats` and re-exported here, the one import place for users.
This module imports no numba.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as st

from .rowstats import BUILTIN, LIPSCHITZ_IID, USER_CODE, Event, Stat, stat  # noqa: F401 -- re-exported

__all__ = ["Stat", "Event", "E", "P", "Var", "quantile", "stat", "Estimate"]


@dataclass(frozen=True)
class Estimate:
    value: float
    stderr: float
    ci: tuple
    samples: int


def _z(level):
    return st.norm.ppf(0.5 + level / 2)


class Functional:
    """Base of E, P, Var, quantile: an unevaluated functional of a row statistic."""

    symbol = ""

    def __init__(self, target, model=None):
        self.model = model
        self.target = target

    @property
    def stat(self):
        return self.target.stat if isinstance(self.target, Event) else self.target

    @property
    def free_symbols(self):
        out = set(self.target.free_symbols)
        if self.model is not None:
            out |= self.model.free_symbols
        return out

    def values(self, x, bindings):
        """Per-row values whose functional is estimated (indicators for events)."""
        return x

    def value_range(self, bindings, n):
        """Range of the per-row values of a mean-type functional (``E``, ``P``), or ``None``."""
        return None

    def lipschitz(self, bound):
        """Lipschitz constant of the per-row values of ``E`` in the Gaussian input, or ``None``."""
        return None

    def latex(self, printer=None):
        return r"%s\left[%s\right]" % (self.symbol, self.target.latex(printer))

    def _latex(self, printer):
        return self.latex(printer)

    def __repr__(self):
        return f"{type(self).__name__}({self.target!r})"

    # interval(x, level, side) -> (lo, hi); side in {"two", "upper", "lower"}
    # pvalue(x, theta0, alternative) -> p; alternative in {"two-sided", "greater", "less"}


class E(Functional):
    """Expectation ``E[stat]``: Student t interval."""

    symbol = r"\mathbb{E}"

    def __init__(self, target, model=None):
        if isinstance(target, Event):
            raise TypeError("E(...) takes a statistic; use P(...) for an event")
        if not isinstance(target, Stat):
            raise TypeError(f"E(...) takes a statistic from attnsparse.stat, got {type(target).__name__}")
        super().__init__(target, model)

    def value_range(self, bindings, n):
        return self.target.value_range(bindings, n)

    def lipschitz(self, bound):
        return self.target.lipschitz(bound)

    def estimate(self, x, level):
        n = len(x)
        m = float(np.mean(x))
        se = float(np.std(x, ddof=1) / math.sqrt(n)) if n > 1 else math.inf
        return Estimate(m, se, self.interval(x, level), n)

    def interval(self, x, level, side="two"):
        n = len(x)
        m = float(np.mean(x))
        se = float(np.std(x, ddof=1) / math.sqrt(n))
        q = st.t.ppf(0.5 + level / 2 if side == "two" else level, n - 1)
        lo, hi = m - q * se, m + q * se
        return (lo, hi) if side == "two" else ((-math.inf, hi) if side == "upper" else (lo, math.inf))

    def pvalue(self, x, theta0, alternative):
        n = len(x)
        se = float(np.std(x, ddof=1) / math.sqrt(n))
        if se == 0:
            return _degenerate_p(float(np.mean(x)) - theta0, alternative)
        t = (float(np.mean(x)) - theta0) / se
        return _tail_p(st.t(n - 1), t, alternative)


def _degenerate_p(dev, alternative):
    """p-value when the sample has no spread: 0 only for a deviation in the alternative's direction."""
    if alternative == "greater":
        return 0.0 if dev > 0 else 1.0
    if alternative == "less":
        return 0.0 if dev < 0 else 1.0
    return 0.0 if dev != 0 else 1.0


def _tail_p(dist, z, alternative):
    if alternative == "greater":  # H1: theta > theta0
        return float(dist.sf(z))
    if alternative == "less":
        return float(dist.cdf(z))
    return float(min(1.0, 2 * dist.sf(abs(z))))


class P(Functional):
    """Probability ``P(event)``: Wilson (score) interval, score test p-values."""

    symbol = r"\mathbb{P}"

    def __init__(self, event, model=None):
        if not isinstance(event, Event):
            raise TypeError("P(...) takes an event such as stat.max_weight > 0.5")
        super().__init__(event, model)

    def values(self, x, bindings):
        return self.target.indicator(x, bindings)

    def value_range(self, bindings, n):
        return (0.0, 1.0)  # indicators: Bernoulli

    def estimate(self, x, level):
        n, k = len(x), int(np.sum(x))
        return Estimate(k / n, math.sqrt(max(k * (n - k), 1) / n**3), self.interval(x, level), n)

    def interval(self, x, level, side="two"):
        n, k = len(x), int(np.sum(x))
        conf = level if side == "two" else 2 * level - 1
        ci = st.binomtest(k, n).proportion_ci(confidence_level=conf, method="wilson")
        lo, hi = float(ci.low), float(ci.high)
        return (lo, hi) if side == "two" else ((0.0, hi) if side == "upper" else (lo, 1.0))

    def pvalue(self, x, theta0, alternative):
        n, k = len(x), float(np.sum(x))
        if theta0 <= 0 or theta0 >= 1:  # a probability cannot exceed 1 or fall below 0
            if (alternative == "greater" and theta0 >= 1) or (alternative == "less" and theta0 <= 0):
                return 1.0
            return _degenerate_p(k / n - min(max(theta0, 0.0), 1.0), alternative)
        z = (k - n * theta0) / math.sqrt(n * theta0 * (1 - theta0))
        return _tail_p(st.norm, z, alternative)


class Var(Functional):
    """Variance ``Var[stat]``: asymptotic normal interval from the fourth central moment."""

    symbol = r"\operatorname{Var}"

    def __init__(self, target, model=None):
        if not isinstance(target, Stat):
            raise TypeError("Var(...) takes a statistic from attnsparse.stat")
        super().__init__(target, model)

    @staticmethod
    def _moments(x):
        n = len(x)
        c = x - np.mean(x)
        s2 = float(np.sum(c * c) / (n - 1))
        m4 = float(np.mean(c**4))
        se = math.sqrt(max(m4 - s2 * s2 * (n - 3) / (n - 1), 0.0) / n)
        return s2, se

    def estimate(self, x, level):
        s2, se = self._moments(x)
        return Estimate(s2, se, self.interval(x, level), len(x))

    def interval(self, x, level, side="two"):
        s2, se = self._moments(x)
        q = _z(level) if side == "two" else st.norm.ppf(level)
        lo, hi = max(s2 - q * se, 0.0), s2 + q * se
        return (lo, hi) if side == "two" else ((0.0, hi) if side == "upper" else (lo, math.inf))

    def pvalue(self, x, theta0, alternative):
        s2, se = self._moments(x)
        if se == 0:
            return _degenerate_p(s2 - theta0, alternative)
        return _tail_p(st.norm, (s2 - theta0) / se, alternative)


class quantile(Functional):
    """The ``q``-quantile of a statistic: distribution-free order-statistic interval."""

    symbol = r"Q"

    def __init__(self, target, q, model=None):
        if not isinstance(target, Stat):
            raise TypeError("quantile(...) takes a statistic from attnsparse.stat")
        if isinstance(q, (bool, str, bytes)) or not isinstance(q, (int, float, np.integer, np.floating)):
            raise TypeError(f"quantile: q must be a number in (0, 1), got {q!r}")
        q = float(q)
        if not 0 < q < 1:
            raise ValueError(f"quantile: q must be in (0, 1), got {q:g}")
        self.q = q
        super().__init__(target, model)

    def latex(self, printer=None):
        return r"Q_{%g}\left[%s\right]" % (self.q, self.target.latex(printer))

    def __repr__(self):
        return f"quantile({self.target!r}, {self.q})"

    def estimate(self, x, level):
        xs = np.sort(x)
        n = len(xs)
        val = float(np.quantile(xs, self.q, method="inverted_cdf"))
        lo, hi = self.interval(xs, level)
        # stderr from the interval width (normal equivalent), for reporting only
        return Estimate(val, (hi - lo) / (2 * _z(level)), (lo, hi), n)

    def interval(self, x, level, side="two"):
        xs = np.sort(x)
        n = len(xs)
        b = st.binom(n, self.q)
        a = (1 - level) / 2 if side == "two" else 1 - level
        lo = xs[max(int(b.ppf(a)) - 1, 0)] if side != "upper" else -math.inf
        hi = xs[min(int(b.ppf(1 - a)), n - 1)] if side != "lower" else math.inf
        return float(lo), float(hi)

    def pvalue(self, x, theta0, alternative):
        # #{x <= theta0} ~ Bin(n, q) when theta0 is the q-quantile
        n = len(x)
        x = np.asarray(x)
        # quantile above theta0 <=> few values at or below theta0; quantile below theta0 <=>
        # many values strictly below it (strict, so ties at theta0 of an integer-valued
        # statistic do not count against a true claim)
        k_le, k_lt = int(np.sum(x <= theta0)), int(np.sum(x < theta0))
        b = st.binom(n, self.q)
        if alternative == "greater":
            return float(b.cdf(k_le))
        if alternative == "less":
            return float(b.sf(k_lt - 1))
        return float(min(1.0, 2 * min(b.cdf(k_le), b.sf(k_lt - 1))))
