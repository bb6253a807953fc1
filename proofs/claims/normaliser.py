"""The partition function Z = sum_j e^{s_j} of IID Gaussian logits (docs/theory.md, section 3)."""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from ...numeric.models import IIDLogits
from ...numeric.statistics import E, Var, stat
from .. import symbols as S
from ..claim import Claim, register
from ..derivation import Derivation
from ..lemmas import derive_gaussian_mgf, gaussian_pdf


def _lognormal_moment(order):
    """E e^{order * s} for s ~ N(mu, sigma^2): the Gaussian MGF lemma at t = order."""
    return derive_gaussian_mgf().subs(S.t, order)


def _lognormal_moment_integral(order):
    """E e^{order * s} for s ~ N(mu, sigma^2) as an integral against the Gaussian density."""
    return sp.Integral(sp.exp(order * (S.mu + S.sigma * S.X)) * gaussian_pdf(S.X), (S.X, -sp.oo, sp.oo))


@lru_cache(maxsize=None)
def derivation_mean_partition():
    D = Derivation("mean of the partition function")
    D.step(sp.Symbol(r"\mathbb{E} Z"), r"definition, $Z = \sum_j e^{s_j}$")
    mean_exp = sp.Symbol(r"\mathbb{E} e^{s_1}")
    D.define(mean_exp, _lognormal_moment_integral(1))
    D.step(S.n * mean_exp, r"linearity; the $s_j$ are identically distributed")
    D.step(S.n * _lognormal_moment(1), r"Gaussian MGF lemma at $t = 1$")
    return D


@lru_cache(maxsize=None)
def derivation_var_partition():
    D = Derivation("variance of the partition function")
    D.step(sp.Symbol(r"\operatorname{Var} Z"), "definition")
    var_exp = sp.Symbol(r"\operatorname{Var} e^{s_1}")
    D.define(var_exp, _lognormal_moment_integral(2) - _lognormal_moment_integral(1) ** 2)
    D.step(S.n * var_exp, r"the $s_j$ are independent")
    m1, m2 = _lognormal_moment(1), _lognormal_moment(2)
    D.step(S.n * (m2 - m1**2),
           r"$\operatorname{Var} e^{s} = \mathbb{E} e^{2s} - (\mathbb{E} e^{s})^2$, "
           r"Gaussian MGF lemma at $t = 2$ and $t = 1$")
    D.step(sp.factor(sp.simplify(S.n * (m2 - m1**2))), "simplify")
    return D


IID = IIDLogits(n=S.n, sigma=S.sigma, mu=S.mu)

register(Claim(
    "normaliser.mean_partition", model=IID, lhs=E(stat.partition), rel="==", rhs=derivation_mean_partition,
    statement=r"$\mathbb{E} Z = n e^{\mu + \sigma^2/2}$ for iid $\mathcal{N}(\mu, \sigma^2)$ logits.",
    provenance="standard", source="linearity plus the lognormal mean",
    points=[dict(n=64, sigma=0.5, mu=0), dict(n=16, sigma=1.0, mu=-0.5)],
))

register(Claim(
    "normaliser.var_partition", model=IID, lhs=Var(stat.partition), rel="==", rhs=derivation_var_partition,
    statement=r"$\operatorname{Var} Z / (\mathbb{E} Z)^2 = (e^{\sigma^2} - 1)/n$ exactly, for iid Gaussian logits.",
    provenance="standard", source="independence plus lognormal moments",
    points=[dict(n=64, sigma=0.5, mu=0), dict(n=32, sigma=0.8, mu=0.3)],
))
