"""SymPy functions of the house notation: Gaussian cdf and tail, and unevaluated operators.

``Phi`` and ``Phibar`` have a numeric meaning (they evaluate through ``erfc``), so steps
that use them are checked like any other expression. ``Expect``, ``Prob``, ``Norm`` and
``ChiSquare`` are *placeholders*: they print in house notation but stand for quantities
that SymPy cannot evaluate, so a derivation step that uses one (and has no stated meaning,
see :meth:`Derivation.define <attnsparse.proofs.derivation.Derivation.define>`) is reported
as resting on its justification rather than checked.

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> sp.N(Phi(0) + Phibar(0))
1.00000000000000
"""

from __future__ import annotations

import sympy as sp

__all__ = ["Phi", "Phibar", "Expect", "Prob", "Norm", "ChiSquare", "is_placeholder"]


def _gaussian_density(x):
    return sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)


class _GaussianProbability(sp.Function):
    """Shared body of Phi and Phibar: ``erfc(sign x / sqrt 2) / 2``."""

    nargs = 1
    sign = 1
    head = ""

    @classmethod
    def eval(cls, x):
        if x is sp.S.Zero:
            return sp.S.Half
        if x in (sp.oo, -sp.oo):
            # Phibar(oo) = 0 and Phi(oo) = 1; at -oo the other way round
            return sp.S.Zero if (x is sp.oo) == (cls.sign > 0) else sp.S.One
        return None

    def fdiff(self, argindex=1):
        return -self.sign * _gaussian_density(self.args[0])

    def _eval_rewrite_as_erfc(self, x, **kwargs):
        return sp.erfc(self.sign * x / sp.sqrt(2)) / 2

    def _eval_rewrite_as_erf(self, x, **kwargs):
        return (1 - self.sign * sp.erf(x / sp.sqrt(2))) / 2

    def _eval_evalf(self, prec):
        return self.rewrite(sp.erfc)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer, exp=None):
        out = r"%s\left(%s\right)" % (self.head, printer._print(self.args[0]))
        return out if exp is None else r"%s^{%s}" % (out, exp)


class Phi(_GaussianProbability):
    r"""The standard normal cdf :math:`\Phi(x) = \tfrac12 \operatorname{erfc}(-x/\sqrt2)`."""

    sign = -1
    head = r"\Phi"


class Phibar(_GaussianProbability):
    r"""The standard normal tail :math:`\bar\Phi(x) = 1 - \Phi(x) = \tfrac12 \operatorname{erfc}(x/\sqrt2)`."""

    sign = 1
    head = r"\bar{\Phi}"


class _Placeholder(sp.Function):
    """An operator SymPy does not evaluate; derivation checks treat it as opaque."""

    placeholder = True
    template = "%s"

    def _latex(self, printer, exp=None):
        out = self.template % tuple(printer._print(a) for a in self.args)
        return out if exp is None else r"\left(%s\right)^{%s}" % (out, exp)


class Expect(_Placeholder):
    r"""Unevaluated expectation :math:`\mathbb{E}[X]`."""

    nargs = 1
    template = r"\mathbb{E}\left[%s\right]"


class Prob(_Placeholder):
    r"""Unevaluated probability :math:`\mathbb{P}(A)` of an event (a SymPy relational)."""

    nargs = 1
    template = r"\mathbb{P}\left(%s\right)"


class Norm(_Placeholder):
    r"""Unevaluated Euclidean norm :math:`\lVert x\rVert`."""

    nargs = 1
    template = r"\left\lVert %s \right\rVert"


class ChiSquare(_Placeholder):
    r"""A chi-square variable with ``d`` degrees of freedom, printed :math:`\chi^2_d`."""

    nargs = 1
    template = r"\chi^2_{%s}"


def is_placeholder(node):
    """True for nodes with no numeric meaning: house placeholders, undefined functions,
    and symbols whose name is LaTeX markup (such as ``\\mathbb{E} Z``)."""
    if isinstance(node, sp.Symbol):
        return "\\" in node.name
    if getattr(node, "placeholder", False):
        return True
    return isinstance(node, sp.core.function.AppliedUndef)
