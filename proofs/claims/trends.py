"""Claim kinds of the sparsity catalogue: trend claims and claims whose theory is exact.

:class:`TrendClaim` states an asymptotic law in ``n`` and is checked over a grid of row
lengths (:mod:`attnsparse.numeric.trend`). :class:`ExactClaim` has a finite-n theory value
computed by an evaluator of :mod:`attnsparse.numeric.exact`. :func:`error_table` gives the
``details`` text of an asymptotic claim: its measured error against the exact value.
"""

from __future__ import annotations

import math

import sympy as sp

from .. import symbols as S
from ..claim import Claim

__all__ = ["TrendClaim", "ExactClaim", "error_table"]


class TrendClaim(Claim):
    """An asymptotic claim about ``E[stat]`` as ``n`` grows, checked by a trend check.

    Parameters (beyond :class:`Claim`'s)
    ------------------------------------
    law : str
        One of :data:`attnsparse.numeric.trend.LAWS`.
    rhs : sympy expression
        The predicted exponent of ``n`` (``law="exponent"``), else 0.
    tol : float
        Tolerance on the exponent (or the grid-mean difference for ``law="less"``).
    compare : Stat, optional
        The comparison statistic of ``law="less"``.
    grid : sequence of int, optional
        ``log2 n`` values overriding the effort's grid.
    """

    def __init__(self, id, *, law, tol, rhs=0, compare=None, grid=None, **kw):
        from ...numeric.trend import LAWS

        if law not in LAWS:
            raise ValueError(f"law must be one of {LAWS}, got {law!r}")
        if law == "less" and compare is None:
            raise ValueError("law='less' needs compare, the statistic of the alternative")
        super().__init__(id, rel="trend", rhs=rhs, **kw)
        self.__dict__.update(law=law, tol=float(tol), compare=compare, grid=grid, n_symbol=S.n)

    @property
    def free_symbols(self):
        return super().free_symbols - {self.n_symbol}

    def bind(self, params):
        """Validate ``params`` (every parameter except ``n``, the trend variable)."""
        if "n" in params:
            raise ValueError(f"claim {self.id}: n is the trend variable; it runs over the grid, do not set it")
        values = self._parameter_values(params)
        self.model.bind({**values, self.n_symbol: sp.Integer(256)})
        return values

    def evaluate(self, dps=30, **params):
        """The predicted exponent at ``params``."""
        from ...numeric.precision import eval_confirmed

        return eval_confirmed(sp.sympify(self.rhs), self.bind(params), dps)

    def check(self, seed=0, effort="quick", alpha=None, **params):
        from ...numeric import config
        from ...numeric.trend import trend_check

        return trend_check(self, params, seed=seed, effort=effort, alpha=config.ALPHA if alpha is None else alpha)


class ExactClaim(Claim):
    """``E[stat] == exact value``, the theory side computed by an ``eval_*`` of numeric/exact.py.

    ``exact(dps, **params)`` is the evaluator. ``evaluate`` confirms the value to
    :attr:`THEORY_DIGITS` digits (enough for a check at 2% resolution; call the evaluator
    directly for more digits).
    """

    THEORY_DIGITS = 8

    def __init__(self, id, *, exact, label, **kw):
        rhs = sp.Function(label)(*sorted(kw["model"].free_symbols, key=lambda s: s.name))
        super().__init__(id, rel="==", rhs=rhs, exact=exact, **kw)
        self.__dict__["_values"] = {}

    def evaluate(self, dps=30, **params):
        """The exact value at ``params``, confirmed to ``min(dps, THEORY_DIGITS)`` digits (cached).

        A check at 2% resolution needs a few digits; the default ``dps`` of the check engine
        is capped to :attr:`THEORY_DIGITS` here. Call the evaluator for more digits.
        """
        self.bind(params)
        digits = max(6, min(int(dps), self.THEORY_DIGITS))
        key = (digits, tuple(sorted(params.items())))
        if key not in self._values:
            self._values[key] = self.exact(digits, **params)
        return self._values[key]


def error_table(approx, exact, points, label="n"):
    """Text table of ``approx(**p)`` against ``exact(**p)`` (relative error) at ``points``.

    Evaluators that fail are reported with their error, not hidden.
    """
    lines = ["measured error of the asymptotic formula against the exact finite-n value:",
             f"  {'point':34s} {'asymptotic':>14s} {'exact':>14s} {'rel. error':>11s}"]
    for p in points:
        where = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in p.items())
        try:
            a, e = float(approx(**p)), float(exact(**p))
            lines.append(f"  {where:34s} {a:14.6g} {e:14.6g} {abs(a - e) / abs(e):11.2e}")
        except Exception as err:  # noqa: BLE001 -- reported in the table, not hidden
            lines.append(f"  {where:34s} not evaluated: {type(err).__name__}: {err}")
    return "\n".join(lines)


def log2(n):
    return int(round(math.log2(n)))
