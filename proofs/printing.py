r"""LaTeX in house notation.

:class:`HousePrinter` is SymPy's LaTeX printer with the notation of docs/theory.md:

* ``Phi(x)``, ``Phibar(x)`` print as :math:`\Phi(x)`, :math:`\bar\Phi(x)`, and so do the
  erfc forms SymPy produces for them (``erfc(x/sqrt(2))/2`` is :math:`\bar\Phi(x)`);
* ``Expect``, ``Prob``, ``Norm``, ``ChiSquare`` (:mod:`.functions`) print as
  :math:`\mathbb{E}[\cdot]`, :math:`\mathbb{P}(\cdot)`, :math:`\lVert\cdot\rVert`, :math:`\chi^2_d`;
* functionals and models of the numeric layer print themselves through ``_latex``.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter

from ..numeric.statistics import Functional
from .relations import RELATIONS, STEP_RELATIONS

__all__ = ["HousePrinter", "latex", "claim_latex", "derivation_align", "tex_escape"]

_TEX_SPECIAL = {"\\": r"$\backslash$", "{": r"\{", "}": r"\}", "_": r"\_", "^": r"\^{}", "~": r"\~{}",
                "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$", "<": "$<$", ">": "$>$", "|": "$|$"}


def tex_escape(text):
    """``text`` safe inside a LaTeX text argument (``\\text{...}`` or a paragraph)."""
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in str(text))


def _gaussian_tail(expr):
    """``("Phibar", y)`` if ``expr`` is ``erfc(y/sqrt 2)/2``, ``("Phi", y)`` for ``erfc(-y/sqrt 2)/2``."""
    coeff, rest = expr.as_coeff_Mul()
    if coeff != sp.S.Half or not isinstance(rest, sp.erfc):
        return None
    y = sp.expand(rest.args[0] * sp.sqrt(2))
    if y.could_extract_minus_sign():
        return "Phi", -y
    return "Phibar", y


class HousePrinter(LatexPrinter):
    """SymPy's LaTeX printer with attnsparse notation (see the module docstring)."""

    def _print_erfc(self, expr, exp=None):
        out = r"\operatorname{erfc}\left(%s\right)" % self._print(expr.args[0])
        return out if exp is None else r"%s^{%s}" % (out, exp)

    def _print_Mul(self, expr):
        tail = _gaussian_tail(expr)
        if tail is not None:
            name, y = tail
            head = r"\Phi" if name == "Phi" else r"\bar{\Phi}"
            return r"%s\left(%s\right)" % (head, self._print(y))
        return super()._print_Mul(expr)

    def _print_Functional(self, expr):
        return expr.latex(self)


def latex(expr):
    """LaTeX of a SymPy expression or a functional, in house notation."""
    p = HousePrinter()
    return expr.latex(p) if isinstance(expr, Functional) else p.doprint(expr)


def claim_latex(claim):
    """The claim's relation on one line: ``lhs rel rhs``."""
    rhs = claim.rhs
    right = latex(rhs)
    if isinstance(rhs, Functional) and rhs.model is not None:
        right += r"\ \big|_{%s}" % rhs.model.latex()
    return f"{latex(claim.lhs)} {RELATIONS[claim.rel]} {right}"


def derivation_align(derivation, notes=False):
    """A derivation as an ``align*`` block, one row per expression.

    With ``notes=False`` each justification sits at the right of its row (for notebooks
    and web pages); with ``notes=True`` rows are tagged (0)..(m) and the justifications
    follow as a list, which keeps wide steps on a printed page.
    """
    rows, items = [], []
    for i, s in enumerate(derivation.steps):
        rel = "" if i == 0 else STEP_RELATIONS[s.rel]
        if notes:
            rows.append(r"&%s %s \tag*{(%d)}" % (rel, latex(s.expr), i))
            items.append(r"\item[(%d)] %s" % (i, tex_escape(s.why)))
        else:
            rows.append(r"&%s %s && \text{(%s)}" % (rel, latex(s.expr), tex_escape(s.why)))
    out = "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"
    if notes:
        out += "\n\\begin{itemize}\\small\n" + "\n".join(items) + "\n\\end{itemize}"
    return out
