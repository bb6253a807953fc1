"""Claim kinds of the sparsity catalogue: trend claims and claims whose theory is exact.

:class:`TrendClaim` states an asymptotic law in ``n`` and is checked over a grid of row
lengths (:mod:`attnsparse.numeric.trend`). :class:`ExactClaim` has a finite-n theory value
computed by an evaluator of :mod:`attnsparse.numeric.exact`. The ``details`` text that
``attnsparse show`` prints for an asymptotic claim records where it stops being accurate:
:func:`error_table` (against the exact finite-n value), :func:`simulated_table` (against
simulation, for statistics with no exact evaluator) and :func:`trend_table` (the measured
statistic and its local exponent along the grid of a trend claim).
"""

from __future__ import annotations

import math

import sympy as sp

from .. import symbols as S
from ..claim import Claim

__all__ = ["TrendClaim", "ExactClaim", "error_table", "simulated_table", "trend_table"]


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
        own = kw.pop("details", None)  # shown above the measured trend table
        kw["details"] = lambda: "\n".join(([own()] if own else []) + [trend_table(self)])
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
        args = set(kw["model"].free_symbols) | set(kw["lhs"].free_symbols)
        rhs = sp.Function(label)(*sorted(args, key=lambda s: s.name))
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


def _where(p):
    """A check point as ``k=v, ...``."""
    return ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in p.items())


def error_table(approx, exact, points):
    """Text table of ``approx(**p)`` against ``exact(**p)`` (relative error) at ``points``.

    Evaluators that fail are reported with their error, not hidden.
    """
    w = max([len(_where(p)) for p in points] + [10])
    lines = ["measured error of the asymptotic formula against the exact finite-n value:",
             f"  {'point':{w}s} {'asymptotic':>14s} {'exact':>14s} {'rel. error':>11s}"]
    for p in points:
        try:
            a, e = float(approx(**p)), float(exact(**p))
            lines.append(f"  {_where(p):{w}s} {a:14.6g} {e:14.6g} {abs(a - e) / abs(e):11.2e}")
        except Exception as err:  # noqa: BLE001 -- reported in the table, not hidden
            lines.append(f"  {_where(p):{w}s} not evaluated: {type(err).__name__}: {err}")
    return "\n".join(lines)


def simulated_table(claim, points, samples=4000, seed=0):
    """Text table of the claim's formula against the simulated ``E[stat]`` (95% CI) at ``points``.

    For asymptotic claims whose statistic has no exact evaluator. The relative error is
    that of the formula against the simulated mean; the CI shows the simulation's own
    resolution.
    """
    w = max([len(_where(p)) for p in points] + [10])
    lines = [f"measured error of the asymptotic formula against simulation ({samples} rows per point, seed {seed}):",
             f"  {'point':{w}s} {'asymptotic':>12s} {'simulated':>12s} {'95% CI':>25s} {'rel. error':>10s}"]
    for p in points:
        try:
            a = float(claim.evaluate(15, **p))
            sim = claim.simulate(samples=samples, seed=seed, **p)
        except Exception as err:  # noqa: BLE001 -- reported in the table, not hidden
            lines.append(f"  {_where(p):{w}s} not evaluated: {type(err).__name__}: {err}")
            continue
        ci = f"[{sim.ci[0]:.5g}, {sim.ci[1]:.5g}]"
        lines.append(f"  {_where(p):{w}s} {a:12.6g} {sim.mean:12.6g} {ci:>25s} {abs(a - sim.mean) / abs(sim.mean):10.2e}")
    return "\n".join(lines)


def trend_table(claim, seed=0):
    """Text table of a trend claim's statistic along the quick grid, at each of its check points.

    Columns: ``n``, the simulated mean with its standard error, and the local exponent
    ``ln(m_{i+1}/m_i) / ln(n_{i+1}/n_i)`` between neighbouring grid points (for the law
    ``less``, the comparison statistic's mean instead), so one sees where along ``n`` the
    asymptotic law takes hold.
    """
    from ...numeric.trend import GRIDS, simulate_grid

    grid = GRIDS["quick"]
    ns = [2**int(e) for e in (claim.grid or grid["log2n"])]
    lines = [f"measured along the quick grid ({grid['rows']} rows per n, seed {seed}); law: {claim.law}"]
    for p in claim.points:
        values = claim.bind(p)
        where = _where(p)
        samples = simulate_grid(claim, claim.lhs.stat, values, ns, grid["rows"], seed, 0)
        mean = [x.mean() for x in samples]
        se = [x.std(ddof=1) / math.sqrt(len(x)) for x in samples]
        if claim.law == "less":
            other = [x.mean() for x in simulate_grid(claim, claim.compare, values, ns, grid["rows"], seed, 1)]
            lines += [f"  at {where}:", f"  {'n':>10s} {'mean':>12s} {'stderr':>10s} {'alternative':>12s}"]
            lines += [f"  {n:10d} {m:12.6g} {e:10.2g} {o:12.6g}" for n, m, e, o in zip(ns, mean, se, other)]
            continue
        predicted = f"; predicted exponent {float(claim.evaluate(15, **p)):.4f}" if claim.law == "exponent" else ""
        lines += [f"  at {where}{predicted}:", f"  {'n':>10s} {'mean':>12s} {'stderr':>10s} {'exponent to next n':>19s}"]
        for i, (n, m, e) in enumerate(zip(ns, mean, se)):
            ok = i + 1 < len(ns) and m > 0 and mean[i + 1] > 0
            b = f"{math.log(mean[i + 1] / m) / math.log(ns[i + 1] / n):19.4f}" if ok else ""
            lines.append(f"  {n:10d} {m:12.6g} {e:10.2g} {b}".rstrip())
    return "\n".join(lines)


def log2(n):
    return int(round(math.log2(n)))
