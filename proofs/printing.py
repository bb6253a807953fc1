"""LaTeX in house notation."""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter

from ..numeric.statistics import Functional

__all__ = ["HousePrinter", "latex", "claim_latex"]


class HousePrinter(LatexPrinter):
    """SymPy's LaTeX printer with attnsparse notation (functionals print themselves)."""

    def _print_erfc(self, expr, exp=None):
        # erfc(x/sqrt 2)/2 is the Gaussian tail; print erfc plainly
        return r"\operatorname{erfc}\left(%s\right)" % self._print(expr.args[0])


def latex(expr):
    """LaTeX of a SymPy expression or a functional, in house notation."""
    p = HousePrinter()
    return expr.latex(p) if isinstance(expr, Functional) else p.doprint(expr)


def claim_latex(claim):
    from .claim import RELATIONS

    rhs = claim.rhs
    right = latex(rhs)
    if isinstance(rhs, Functional) and rhs.model is not None:
        right += r"\ \big|_{%s}" % rhs.model.latex()
    return f"{latex(claim.lhs)} {RELATIONS[claim.rel]} {right}"
