"""Claim kinds beyond :class:`~attnsparse.proofs.claim.Claim`: trend claims and exact claims.

:class:`TrendClaim` states an asymptotic law in ``n`` and is checked over a grid of row
lengths (:mod:`attnsparse.numeric.trend`). :class:`ExactClaim` has a finite-n theory value
computed by an evaluator of :mod:`attnsparse.numeric.exact`.
"""

from __future__ import annotations

import sympy as sp

from .claim import Claim
from .tables import trend_table

__all__ = ["TrendClaim", "ExactClaim"]


class TrendClaim(Claim):
    """An asymptotic claim about ``E[stat]`` as ``n`` grows, checked by a trend check.

    The trend variable is the model's own row length ``n``: any SymPy Symbol, whatever its
    assumptions (``Symbol("n", positive=True)`` as well as the house ``n``). It runs over the
    grid, so it is not a parameter of the claim.

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
        from ..numeric.trend import LAWS

        if law not in LAWS:
            raise ValueError(f"law must be one of {LAWS}, got {law!r}")
        if law == "less" and compare is None:
            raise ValueError("law='less' needs compare, the statistic of the alternative")
        own = kw.pop("details", None)  # shown above the measured trend table
        kw["details"] = lambda: "\n".join(([own()] if own else []) + [trend_table(self)])
        super().__init__(id, rel="trend", rhs=rhs, **kw)
        n_symbol = self.model.n
        if not isinstance(n_symbol, sp.Symbol):
            raise ValueError(f"claim {id}: the model's n must be a Symbol, the trend variable; got n = {n_symbol}")
        self.__dict__.update(law=law, tol=float(tol), compare=compare, grid=grid, n_symbol=n_symbol)

    @property
    def free_symbols(self):
        return super().free_symbols - {self.n_symbol}

    def bind(self, params):
        """Validate ``params`` (every parameter except ``n``, the trend variable)."""
        name = self.n_symbol.name
        if name in params:
            raise ValueError(f"claim {self.id}: {name} is the trend variable; it runs over the grid, do not set it")
        values = self.parameter_values(params)
        self.model.bind({**values, self.n_symbol: sp.Integer(256)})
        return values

    def evaluate(self, dps=30, **params):
        """The predicted exponent at ``params``."""
        from ..numeric.precision import eval_confirmed

        return eval_confirmed(sp.sympify(self.rhs), self.bind(params), dps)

    def latex_sides(self, printer):
        r"""``(lhs, rel, rhs)`` LaTeX of what the law means, for example
        :math:`\mathbb{E}\,\tau = n^{b + o(1)}` with :math:`b = \mathrm{rhs} \pm \mathrm{tol}`, or
        :math:`\mathbb{E}\, k_\varepsilon = O(n^{0.05})`."""
        lhs = self.lhs.latex(printer)
        tol = printer._print(sp.Float(self.tol))
        if self.law == "exponent":
            return lhs, "=", r"n^{b + o(1)}, \qquad b = %s \pm %s" % (printer.doprint(sp.sympify(self.rhs)), tol)
        if self.law == "decreasing":
            return lhs, "=", r"O\left(n^{-%s}\right)" % tol
        if self.law == "bounded":
            return lhs, "=", r"O\left(n^{%s}\right)" % tol
        if self.law == "not_decreasing":
            return lhs, "=", r"\Omega\left(n^{-%s}\right)" % tol
        from ..numeric.statistics import E

        grid = self.grid
        where = (r"G = \{%s\}" % ", ".join("2^{%d}" % e for e in grid)) if grid else r"G \text{ the grid of the check}"
        mean = r"\frac{1}{|G|} \sum_{n \in G} "
        return mean + lhs, "<", r"%s%s, \qquad %s" % (mean, E(self.compare).latex(printer), where)

    def _check(self, params, seed, effort, alpha):
        from ..numeric import config
        from .checking import trend_check

        return trend_check(self, params, seed=seed, effort=effort, alpha=config.ALPHA if alpha is None else alpha)

    def _replay_effort(self, effort, rows):
        raise ValueError(f"rows: a trend claim has no look schedule to replay (its grid and rows are set by "
                         f"effort), got rows={rows!r}")


class ExactClaim(Claim):
    """``E[stat] == exact value``, the theory side computed by an ``eval_*`` of :mod:`attnsparse.numeric.exact`.

    ``exact(dps, **params)`` is the evaluator: it returns a value confirmed to ``dps``
    significant digits or raises ``PrecisionError``. ``evaluate(dps)`` returns exactly that
    (a :class:`~attnsparse.numeric.precision.Confirmed` of ``dps`` digits), cached by ``dps``
    and the parameters. The check engine asks for :attr:`THEORY_DIGITS` digits (enough for a
    check at 2% resolution; more would cost seconds to minutes of quadrature).
    """

    #: the digits the check engine asks of the exact evaluator
    THEORY_DIGITS = 8

    def __init__(self, id, *, exact, label, **kw):
        args = set(kw["model"].free_symbols) | set(kw["lhs"].free_symbols)
        rhs = sp.Function(label)(*sorted(args, key=lambda s: s.name))
        super().__init__(id, rel="==", rhs=rhs, exact=exact, **kw)
        self.__dict__["_values"] = {}

    def evaluate(self, dps=30, **params):
        """The exact value at ``params``, confirmed to ``dps`` digits (cached by ``dps``).

        Raises ``PrecisionError`` when the evaluator's route cannot deliver ``dps`` digits
        (its message names the largest dps it can), or when the evaluator returns a value
        confirmed to fewer digits than asked.
        """
        from ..numeric.precision import Confirmed, PrecisionError, confirmed_digits

        if isinstance(dps, bool) or not isinstance(dps, int) or dps < 1:
            raise ValueError(f"dps must be a positive integer, got {dps!r}")
        self.bind(params)
        key = (dps, tuple(sorted(params.items())))
        if key not in self._values:
            v = self.exact(dps, **params)
            got = confirmed_digits(v, dps)
            if got < dps:
                raise PrecisionError(f"claim {self.id}: its evaluator returned {got} confirmed digits, {dps} "
                                     f"were asked: the largest dps this route delivers is {got}")
            self._values[key] = v if isinstance(v, Confirmed) else Confirmed(v, dps)
        return self._values[key]
