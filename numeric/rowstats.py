"""The named row statistics and events on them.

A statistic maps one row of logits to a number. Built-in statistics carry a kernel code
and one parameter (``k``, ``eps`` or ``j``; a number or a SymPy expression bound at check
time). ``logits(f)`` wraps a user function of the logit row, compiled by numba. An event
(``stat.max_weight > 0.5``) is a statistic compared with a threshold.
The functionals of these (``E``, ``P``, ``Var``, ``quantile``) are in :mod:`.statistics`.
This module imports no numba.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from . import codes
from .models import as_expr, as_float

__all__ = ["Stat", "Event", "stat", "BUILTIN", "USER_CODE", "LIPSCHITZ_IID"]

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
