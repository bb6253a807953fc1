"""Attention collapse in the condensed phase sigma > beta_c (docs/theory.md, sections 1 and 5)."""

from __future__ import annotations

import numpy as np
import sympy as sp

from ...numeric.models import IIDLogits
from ...numeric.statistics import E, stat
from .. import symbols as S
from ..claim import Claim, register
from ..kinds import TrendClaim
from ..tables import error_table
from .sparsity import REGIME, gamma

register(TrendClaim(
    "collapse.k_eps_bounded", model=REGIME, lhs=E(stat.k_eps(S.eps)), law="bounded", tol=0.05,
    statement=r"Attention collapse: with $\sigma^2 = 2\gamma \ln n$ and $\gamma > 1$, $O(1)$ entries per row carry "
              r"all but $\varepsilon$ of the mass: $\mathbb{E} k_\varepsilon$ does not grow like a power of $n$ "
              r"(exponent at most 0.05).",
    provenance="paper", source="arXiv 2404.02690 v2 (attention collapse); Thm 5.1 as we reconstruct it",
    assumptions=[gamma > 1, S.eps < 1], points=[dict(gamma=4.0, epsilon=0.1)]))

# ------------------------------------------------------------------ Poisson-Dirichlet limits
M_EFF = S.b_n / S.sigma  # the finite-n heuristic m_eff = b_n / sigma
COLD = IIDLogits(n=S.n, sigma=S.sigma)


#: condensed-phase points where the PD(m_eff) heuristics are measured
_COLD_POINTS = [dict(n=n, sigma=r * S.critical_sigma(n)) for n in (2**10, 2**14, 2**18) for r in (1.6, 2.5)]


def _ipr_details():
    from ...numeric.exact import eval_ipr

    pts = [dict(n=2**10, sigma=1.5 * S.critical_sigma(2**10)), dict(n=2**14, sigma=1.5 * S.critical_sigma(2**14)),
           dict(n=2**14, sigma=1.1 * S.critical_sigma(2**14))]  # the last outside the assumption: where it fails
    return error_table(PD_IPR, lambda n, sigma: eval_ipr(6, n, sigma), pts)


def _max_details():
    from ...numeric.exact import eval_max_weight

    pts = [dict(n=2**10, sigma=1.5 * S.critical_sigma(2**10)), dict(n=2**12, sigma=2 * S.critical_sigma(2**12))]
    return error_table(PD_MAX_WEIGHT, lambda n, sigma: eval_max_weight(6, n, sigma), pts)


PD_IPR = register(Claim(
    "collapse.pd_ipr", model=COLD, lhs=E(stat.ipr), rel="approx", rtol=0.03, atol=0.01, rhs=1 - M_EFF,
    statement=r"$\mathbb{E} \sum_j p_j^2 \to 1 - m$ under $\mathrm{PD}(m, 0)$; with $m_{\mathrm{eff}} = b_n/\sigma$ "
              r"this is within about 0.01 for $\sigma \ge 1.5 \beta_c$ (heuristic; convergence is at rate $1/\ln n$).",
    provenance="heuristic", source=r"$\mathrm{PD}(m, 0)$ limit (Derrida; Talagrand); $m_{\mathrm{eff}}$ is a heuristic",
    assumptions=[S.sigma > 1.5 * S.beta_c], details=_ipr_details,
    points=[dict(n=1024, sigma=6.0)]))


def ipr_squared(s):
    """``(sum_j p_j^2)^2`` of one row."""
    m = s.max()
    p = np.exp(s - m)
    p /= p.sum()
    q = np.sum(p * p)
    return q * q


def _ipr_second_moment_details():
    from ...numeric.exact import eval_ipr_second_moment

    return error_table(PD_IPR_SECOND_MOMENT, lambda n, sigma: eval_ipr_second_moment(8, n, sigma),
                       _COLD_POINTS)


PD_IPR_SECOND_MOMENT = register(Claim(
    "collapse.pd_ipr_second_moment", model=COLD, lhs=E(stat.logits(ipr_squared, label=r"(\sum_j p_j^2)^2")),
    rel="approx", rtol=0.05, atol=0.01, rhs=(1 - M_EFF) * (3 - 2 * M_EFF) / 3,
    statement=r"$\mathbb{E} (\sum_j p_j^2)^2 \to (1-m)(3-2m)/3$ under $\mathrm{PD}(m, 0)$, evaluated at "
              r"$m_{\mathrm{eff}} = b_n/\sigma$ (heuristic).",
    provenance="heuristic", source=r"$\mathrm{PD}(m, 0)$ moments; $m_{\mathrm{eff}}$ is a heuristic",
    assumptions=[S.sigma > 1.5 * S.beta_c], points=[dict(n=1024, sigma=6.0)],
    details=lambda: _ipr_second_moment_details()))

PD_MAX_WEIGHT = register(Claim(
    "collapse.pd_max_weight", model=COLD, lhs=E(stat.max_weight), rel="approx", rtol=0.03, atol=0.01,
    rhs=sp.Integral(sp.exp(-S.r) / (sp.exp(-S.r) + S.r**M_EFF * sp.lowergamma(1 - M_EFF, S.r)), (S.r, 0, sp.oo)),
    statement=r"$\mathbb{E}\, p_{(1)} \to \int_0^\infty e^{-r}/(e^{-r} + r^m \gamma(1-m, r))\, dr$ under "
              r"$\mathrm{PD}(m, 0)$, at $m_{\mathrm{eff}} = b_n/\sigma$ (heuristic).",
    provenance="heuristic", source=r"$\mathrm{PD}(m, 0)$ largest atom; $m_{\mathrm{eff}}$ is a heuristic",
    details=_max_details,
    assumptions=[S.sigma > 1.5 * S.beta_c], points=[dict(n=1024, sigma=6.0)]))
