"""Shared lemmas, each derived by SymPy under a time bound and cached.

``derive_*`` functions return SymPy expressions; they are the building blocks of the
catalogue's ``derivation_*`` functions, which return a :class:`~.derivation.Derivation`.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp
from sympy.stats import ChiSquared, moment_generating_function

from . import symbols as S
from .guards import bounded, closed_form

__all__ = ["derive_gaussian_mgf", "derive_chi2_mgf", "gaussian_pdf"]


def gaussian_pdf(z, mean=0, sd=1):
    return sp.exp(-(z - mean) ** 2 / (2 * sd**2)) / (sp.sqrt(2 * sp.pi) * sd)


@lru_cache(maxsize=None)
def derive_gaussian_mgf():
    """``E exp(t (mu + sigma X))`` for ``X ~ N(0,1)``, by integrating against the density.

    SymPy returns an erf/erfc form; ``rewrite(erf)`` and ``simplify`` reduce it (PITFALLS 2).
    """
    with bounded(what="Gaussian MGF"):
        raw = sp.integrate(sp.exp(S.t * (S.mu + S.sigma * S.X)) * gaussian_pdf(S.X), (S.X, -sp.oo, sp.oo),
                           conds="none")
        out = sp.simplify(raw.rewrite(sp.erf))
    return closed_form(sp.powsimp(sp.expand(out)), "Gaussian MGF")


@lru_cache(maxsize=None)
def derive_chi2_mgf():
    """``E exp(lambda chi2_d)`` from sympy.stats' closed-form hook, valid for lambda < 1/2."""
    with bounded(what="chi-square MGF"):
        out = moment_generating_function(ChiSquared("C", S.d))(S.lam)
    return closed_form(out, "chi-square MGF")
