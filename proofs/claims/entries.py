"""Single softmax entries p_j = e^{s_j}/Z."""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from ...numeric.models import BilinearQK, IIDLogits
from ...numeric.statistics import E, stat
from .. import symbols as S
from ..claim import Claim, register
from ..derivation import Derivation


@lru_cache(maxsize=None)
def derivation_mean_weight():
    D = Derivation("mean softmax weight of exchangeable keys")
    D.step(sp.Symbol(r"\mathbb{E} p_j"), "definition")
    D.step(sp.Symbol(r"\sum_{i=1}^{n} \mathbb{E} p_i") / S.n, r"exchangeable keys have equal $\mathbb{E}\, p_i$")
    mass = sp.Symbol(r"\mathbb{E}\left[\sum_{i=1}^{n} p_i\right]")
    D.define(mass, 1)  # the weights sum to one in every row
    term = D.step(mass / S.n, "linearity of expectation")
    D.step(term.xreplace({mass: 1}), "the weights sum to one")
    return D


register(Claim(
    "entries.mean_weight", model=IIDLogits(n=S.n, sigma=S.sigma), lhs=E(stat.weight(S.j)), rel="==",
    rhs=derivation_mean_weight,
    statement=r"$\mathbb{E}\, p_j = 1/n$ for IID logits, at every $\sigma$.",
    provenance="standard", source="exchangeability",
    assumptions=[S.j < S.n],
    points=[dict(n=16, sigma=1.0, j=3), dict(n=64, sigma=1.5, j=0)],
))

register(Claim(
    "entries.mean_weight_bilinear", model=BilinearQK(n=S.n, d=S.d, sigma_q=1, sigma_k=1),
    lhs=E(stat.weight(S.j)), rel="==", rhs=derivation_mean_weight,
    statement=r"$\mathbb{E}\, p_j = 1/n$ in the bilinear model: its keys are exchangeable given $q$.",
    provenance="standard", source="exchangeability",
    assumptions=[S.j < S.n],
    points=[dict(n=32, d=8, j=5), dict(n=8, d=2, j=0)],
))
