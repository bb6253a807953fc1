"""The named row statistics, events on them, and the functionals E, P, Var and quantile.

A statistic maps one row of logits to a number. Built-in statistics carry a kernel code
and one parameter (``k``, ``eps`` or ``j``; a number or a SymPy expression bound at check
time). ``logits(f)`` wraps a user function of the logit row, compiled by numba.

A functional (``E``, ``P``, ``Var``, ``quantile``) knows how to estimate itself from
simulated values, with a confidence interval and a p-value. The intervals come from
scipy.stats: Student t for means, Wilson (score) for probabilities, the asymptotic
normal law of the sample variance, and binomial order statistics for quantiles.
This module imports no numba.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp
from scipy import stats as st

from . import codes
from .models import as_expr, as_float

__all__ = ["Stat", "Event", "E", "P", "Var", "quantile", "stat", "Estimate"]

# the built-in statistics: name -> (kernel code, parameter name or None, LaTeX); the codes
# are those of :mod:`.codes`
_PARAMS_AND_LATEX = {
    "log_partition": (None, r"\log Z"),
    "max_logit": (None, r"\max_j s_j"),
    "max_weight": (None, r"p_{(1)}"),
    "ipr": (None, r"\sum_j p_j^2"),
    "entropy": (None, r"H(p)"),
    "count_above": ("eps", r"\#\{j : p_j > %s\}"),
    "topk_mass": ("k", r"T(%s)"),
    "tail_mass": ("k", r"\tau(%s)"),
    "k_eps": ("eps", r"k_{%s}"),
    "weight": ("j", r"p_{%s}"),
    "argmax": (None, r"\operatorname{argmax}_j s_j"),
    "top_gap": (None, r"s_{(1)} - s_{(2)}"),
    "partition": (None, r"Z"),
    "logit": ("j", r"s_{%s}"),
}
BUILTIN = {name: (codes.STAT_CODES[name], *rest) for name, rest in _PARAMS_AND_LATEX.items()}
USER_CODE = codes.USER_CODE

#: Lipschitz constants, in units of sigma, of the statistics of an IID row
#: ``s = mu + sigma X + offsets`` as functions of the standard Gaussian vector ``X`` (Euclidean
#: norm): ``grad log Z = sigma p`` with ``|p|_2 <= 1``; ``max_j s_j`` and ``s_j`` move by at
#: most ``sigma |dX|_inf``; ``top_gap`` is a difference of two order statistics, gradient
#: ``sigma (e_i - e_k)`` almost everywhere (docs/statistics.md, "The Lipschitz route")
LIPSCHITZ_IID = {"log_partition": 1.0, "max_logit": 1.0, "logit": 1.0, "top_gap": math.sqrt(2.0)}


class Stat:
    """A per-row statistic. Compare it with a value to get an :class:`Event`."""

    def __init__(self, name, param=None, func=None, label=None, args=(), range=None):
        self.name = name
        self.func = func
        self.label = label
        self.declared_range = None if range is None else _check_range(range, label or getattr(func, "__name__", "f"))
        self.args = tuple(as_expr(a, "logits argument") for a in args)
        if name in BUILTIN:
            code, pname, _ = BUILTIN[name]
            if (pname is None) != (param is None):
                raise TypeError(f"stat.{name} takes {'no parameter' if pname is None else pname}")
            self.code = code
            self.param = None if param is None else as_expr(param, pname)
        else:
            self.code, self.param = USER_CODE, None

    @property
    def free_symbols(self):
        out = set() if self.param is None else set(self.param.free_symbols)
        for a in self.args:
            out |= a.free_symbols
        return out

    def bind_args(self, values):
        """The user function's extra arguments as a float64 array."""
        return np.array([as_float(a, f"argument {i} of {self!r}", values) for i, a in enumerate(self.args)],
                        dtype=np.float64)

    def bind_param(self, values, n):
        """The parameter as a float, validated against the row length ``n``.

        ``k`` of ``topk_mass`` and ``tail_mass`` is clamped to ``n``: for ``k >= n`` the top-k
        mass is exactly 1 and the tail mass exactly 0 (so any integer ``k``, even past int64,
        has its exact meaning).
        """
        if self.param is None:
            return 0.0
        pname = BUILTIN[self.name][1]
        x = as_float(self.param, f"{self.name}({pname})", values)
        if pname == "eps":
            if not (0.0 < x < 1.0):
                raise ValueError(f"{self.name}: eps must be in (0, 1), got {x:g}")
        elif pname == "k":
            if x != int(x) or x < 0:
                raise ValueError(f"{self.name}: k must be an integer >= 0, got {x:g}")
            x = min(x, n)
        elif pname == "j":
            if x != int(x) or not (0 <= x < n):
                raise ValueError(f"{self.name}: j must be a key index in [0, n-1] = [0, {n - 1}], got {x:g}")
        return float(x)

    def value_range(self, values, n):
        """``(lo, hi)``: every value of the statistic on a row of ``n`` keys lies in it; ``None``
        for an unbounded statistic. Bounded statistics are checked with the betting
        confidence sequence (:mod:`.confseq`); the others by the Lipschitz route where
        :meth:`lipschitz` gives a constant, else by the asymptotic route."""
        if self.code == USER_CODE:
            return self.declared_range
        name = self.name
        if name in ("weight", "topk_mass", "tail_mass"):
            return (0.0, 1.0)
        if name in ("max_weight", "ipr"):  # both are at least 1/n (sum p_j = 1)
            return (1.0 / n, 1.0)
        if name == "entropy":
            return (0.0, math.log(n)) if n > 1 else None
        if name == "count_above":  # k weights above eps need k eps < 1
            eps = self.bind_param(values, n)
            return (0.0, float(min(n, math.floor(1.0 / eps))))
        if name == "k_eps":
            return (1.0, float(n)) if n > 1 else None
        if name == "argmax":
            return (0.0, float(n - 1)) if n > 1 else None
        return None  # log_partition, max_logit, logit, top_gap, partition

    def lipschitz(self, bound):
        """``L``: the statistic is an ``L``-Lipschitz function (Euclidean norm) of the standard
        Gaussian vector a row of the bound model ``bound`` is drawn from; ``None`` if no such
        constant is known. Such a statistic is sub-Gaussian around its mean with variance
        proxy ``L^2`` (Tsirelson-Ibragimov-Sudakov), which the ``lipschitz`` route of
        :mod:`.check` uses.

        Only IID rows without a random scale have one (:data:`LIPSCHITZ_IID`). Bilinear
        (``s_j = scale <q, k_j>``), self-attention (``x_0^T W x_j``) and IID rows with
        ``scale_dof > 0`` (``sigma sqrt(chi2/nu) X_j``) are products of Gaussians: their
        gradient grows without bound, so none of these statistics is globally Lipschitz
        there, and their logits have exponential, not Gaussian, tails.
        """
        factor = LIPSCHITZ_IID.get(self.name) if self.code != USER_CODE else None
        if factor is None or bound.kind != codes.KIND_IID or float(bound.fpar[2]) > 0:
            return None
        if self.name == "top_gap" and bound.n < 2:
            return None
        return factor * float(bound.fpar[1])

    def latex(self, printer=None):
        if self.code == USER_CODE:
            return self.label or r"f(s)"
        tmpl = BUILTIN[self.name][2]
        if self.param is None:
            return tmpl
        return tmpl % (sp.latex(self.param) if printer is None else printer._print(self.param))

    def __repr__(self):
        if self.code == USER_CODE:
            return f"stat.logits({self.label or getattr(self.func, '__name__', 'f')})"
        return f"stat.{self.name}" + ("" if self.param is None else f"({self.param})")

    def _cmp(self, op, value):
        return Event(self, op, value)

    def between(self, lo, hi):
        """The event ``lo < stat <= hi``."""
        return Event(self, "between", lo, hi)

    def __gt__(self, v):
        return self._cmp(">", v)

    def __ge__(self, v):
        return self._cmp(">=", v)

    def __lt__(self, v):
        return self._cmp("<", v)

    def __le__(self, v):
        return self._cmp("<=", v)

    def __eq__(self, v):
        if isinstance(v, Stat):
            return self is v
        return self._cmp("==", v)

    def __ne__(self, v):
        if isinstance(v, Stat):
            return self is not v
        return self._cmp("!=", v)

    __hash__ = object.__hash__


def _check_range(rng, name):
    """A declared value range as ``(lo, hi)`` floats, or a ValueError naming the statistic."""
    try:
        lo, hi = rng
        lo, hi = float(lo), float(hi)
    except (TypeError, ValueError):
        raise ValueError(f"stat.logits({name}): range must be a pair (lo, hi) of numbers, got {rng!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"stat.logits({name}): range must be finite with lo < hi, got {rng!r}")
    return lo, hi


_OPS = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal,
        "==": np.equal, "!=": np.not_equal}
_OPS_TEX = {">": ">", ">=": r"\ge", "<": "<", "<=": r"\le", "==": "=", "!=": r"\ne"}


class Event:
    """``stat <op> value``, an event on one row."""

    def __init__(self, stat_, op, value, upper=None):
        self.stat, self.op, self.value = stat_, op, as_expr(value, "event threshold")
        self.upper = None if upper is None else as_expr(upper, "event upper threshold")

    @property
    def free_symbols(self):
        out = self.stat.free_symbols | set(self.value.free_symbols)
        return out if self.upper is None else out | set(self.upper.free_symbols)

    def indicator(self, x, values):
        v = as_float(self.value, "event threshold", values)
        if self.op == "between":
            hi = as_float(self.upper, "event upper threshold", values)
            if not v < hi:
                raise ValueError(f"event {self!r}: need lower < upper, got {v:g} >= {hi:g}")
            return ((x > v) & (x <= hi)).astype(np.float64)
        return _OPS[self.op](x, v).astype(np.float64)

    def latex(self, printer=None):
        pr = sp.latex if printer is None else printer._print
        if self.op == "between":
            return f"{pr(self.value)} < {self.stat.latex(printer)} \\le {pr(self.upper)}"
        return f"{self.stat.latex(printer)} {_OPS_TEX[self.op]} {pr(self.value)}"

    def __repr__(self):
        if self.op == "between":
            return f"({self.value} < {self.stat!r} <= {self.upper})"
        return f"({self.stat!r} {self.op} {self.value})"

    def __bool__(self):
        raise TypeError("an Event has no truth value; use it inside P(...)")


class _StatNamespace:
    """``attnsparse.stat``: the vocabulary of row statistics."""

    log_partition = Stat("log_partition")
    max_logit = Stat("max_logit")
    max_weight = Stat("max_weight")
    ipr = Stat("ipr")
    entropy = Stat("entropy")
    argmax = Stat("argmax")
    top_gap = Stat("top_gap")
    partition = Stat("partition")

    @staticmethod
    def count_above(eps):
        """Number of weights ``p_j > eps``."""
        return Stat("count_above", eps)

    @staticmethod
    def topk_mass(k):
        """Top-k mass ``T(k)``, the sum of the k largest weights."""
        return Stat("topk_mass", k)

    @staticmethod
    def tail_mass(k):
        """Discarded mass ``tau(k) = 1 - T(k)``, summed from the small weights up."""
        return Stat("tail_mass", k)

    @staticmethod
    def k_eps(eps):
        """``min{k : tau(k) <= eps}``."""
        return Stat("k_eps", eps)

    @staticmethod
    def weight(j):
        """Weight ``p_j`` of key ``j`` (0-based)."""
        return Stat("weight", j)

    @staticmethod
    def logit(j):
        """Logit ``s_j`` of key ``j`` (0-based)."""
        return Stat("logit", j)

    @staticmethod
    def logits(f, *args, label=None, range=None):
        """A user statistic ``f(s)`` of the logit row ``s`` (a float64 array).

        ``f`` is plain Python with numpy scalar math; it is compiled with numba. With extra
        ``args`` (numbers or SymPy expressions, bound at check time) it is called as
        ``f(s, a)`` with ``a`` the float64 array of their values. ``label`` is its LaTeX.
        ``range=(lo, hi)`` declares that every value lies in ``[lo, hi]``: checks of its mean
        then use the betting confidence sequence (valid at any sample size) instead of the
        asymptotic t route; a value outside the range is an error.
        """
        if not callable(f):
            raise TypeError("stat.logits(f) needs a callable f(s) of the logit row")
        return Stat("logits", func=f, label=label, args=args, range=range)


stat = _StatNamespace()


# ----------------------------------------------------------------------------- estimates

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
