"""Phases of the softmax row and the exact finite-n theory (docs/theory.md, sections 3-5).

``phases.exact_*`` claims compare simulation with the exact integrals of
:mod:`attnsparse.numeric.exact` at finite n, in particular in the critical window
sigma ~ beta_c = sqrt(2 ln n). The asymptotic claims print, via ``attnsparse show``, their
measured error against those exact values.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import sympy as sp

from ...numeric import exact as X
from ...numeric.models import BilinearQK, IIDLogits
from ...numeric.statistics import E, stat
from .. import symbols as S
from ..claim import Claim, register
from ..derivation import Derivation
from ..functions import Phi
from ..guards import bounded, closed_form
from ..kinds import ExactClaim
from ..lemmas import gaussian_pdf
from ..tables import error_table, simulated_table

IID = IIDLogits(n=S.n, sigma=S.sigma)


def _Phi_erf(z):
    """``Phi(z)`` in its erf form ``(1 + erf(z/sqrt 2))/2``, the form these claims print."""
    return Phi(z).rewrite(sp.erf)


# ------------------------------------------------------------------ exact finite-n claims
def mass_above(s, a):
    """``sum_j p_j 1{s_j > a[0]}``: the mass of keys whose logit exceeds a threshold."""
    m = s.max()
    p = np.exp(s - m)
    tot = p.sum()
    out = 0.0
    for i in range(len(s)):
        if s[i] > a[0]:
            out += p[i]
    return out / tot


register(ExactClaim(
    "phases.exact_ipr", model=IID, lhs=E(stat.ipr), label="E_1", exact=lambda dps, n, sigma: X.eval_ipr(dps, n, sigma),
    statement=r"$\mathbb{E} \sum_j p_j^2$ equals the exact integral $E_1$ at every finite $n$ and $\sigma$, "
              "the critical window included.",
    provenance="derived", source="docs/theory.md, section 4 (E1)",
    points=[dict(n=1024, sigma=round(S.critical_sigma(1024), 3))]))

register(ExactClaim(
    "phases.exact_log_partition", model=IID, lhs=E(stat.log_partition), label="E_2",
    exact=lambda dps, n, sigma: X.eval_log_partition(dps, n, sigma),
    statement=r"$\mathbb{E} \ln Z$ equals the exact integral $E_2 = \int_0^\infty (e^{-u} - L(u)^n)\, du/u$.",
    provenance="derived", source="docs/theory.md, section 4 (E2)", points=[dict(n=4096, sigma=3.0)]))

register(ExactClaim(
    "phases.exact_entropy", model=IID, lhs=E(stat.entropy), label="E_3",
    exact=lambda dps, n, sigma: X.eval_entropy(dps, n, sigma),
    statement=r"$\mathbb{E} H$ equals the exact integral $E_3$.", provenance="derived",
    source="docs/theory.md, section 4 (E3)",
    points=[dict(n=256, sigma=2.5)]))

register(ExactClaim(
    "phases.exact_max_weight", model=IID, lhs=E(stat.max_weight), label="E_4",
    exact=lambda dps, n, sigma: X.eval_max_weight(dps, n, sigma),
    statement=r"$\mathbb{E}\, p_{(1)}$ equals the exact integral $E_4$ at $k = 1$.", provenance="derived",
    source="docs/theory.md, section 4 (E4)", points=[dict(n=256, sigma=3.3)]))

register(ExactClaim(
    "phases.exact_count_above", model=IID, lhs=E(stat.count_above(S.eps)), label="E_7",
    exact=lambda dps, n, sigma, epsilon: X.eval_count_above(min(dps, 12), n, sigma, epsilon),
    statement=r"$\mathbb{E} N_\varepsilon = n\, \mathbb{P}(p_1 > \varepsilon)$ equals the exact Laplace-inversion "
              r"integral $E_7$ (at most 12 digits).",
    provenance="derived", source="docs/theory.md, section 4 (E7)", points=[dict(n=1024, sigma=3.7, epsilon=0.01)]))

register(ExactClaim(
    "phases.exact_mass_above", model=IID,
    lhs=E(stat.logits(mass_above, S.sigma * S.x, label=r"\sum_j p_j 1\{s_j > \sigma x\}")), label="E_5",
    exact=lambda dps, n, sigma, x: X.eval_mass_above(dps, n, sigma, x),
    statement=r"The mass of the keys with logit above $\sigma x$ equals the exact integral $E_5$.",
    provenance="derived",
    source="docs/theory.md, section 4 (E5)", points=[dict(n=512, sigma=2.0, x=2.0)]))

register(ExactClaim(
    "phases.exact_bilinear_ipr", model=BilinearQK(n=S.n, d=S.d, sigma_q=S.sigma, sigma_k=1), lhs=E(stat.ipr),
    label="E_8", exact=lambda dps, n, d, sigma: X.eval_bilinear(dps, "ipr", n, d, sigma),
    statement=r"$\mathbb{E} \sum_j p_j^2$ of the bilinear model equals $E_8$, the chi-square mixture of the exact "
              "IID integral.",
    provenance="derived", source="docs/theory.md, sections 2 and 4 (E8)", points=[dict(n=128, d=8, sigma=1.5)]))

# ------------------------------------------------------------------ high temperature
IPR_HIGH_TEMPERATURE = register(Claim(
    "phases.ipr_high_temperature", model=IID, lhs=E(stat.ipr), rel="approx", rtol=0.05,
    rhs=sp.exp(S.sigma**2) / S.n,
    statement=r"For $\sigma < \beta_c/2$ ($Z/\mathbb{E} Z \to 1$): $\mathbb{E} \sum_j p_j^2 \approx e^{\sigma^2}/n$ "
              "(within 5% at the check point).",
    provenance="standard", source="REM high-temperature phase (docs/theory.md, section 5)",
    details=lambda: error_table(IPR_HIGH_TEMPERATURE, lambda n, sigma: X.eval_ipr(6, n, sigma),
                                [dict(n=2**k, sigma=f * S.critical_sigma(2**k))
                                 for k in (10, 14, 18) for f in (0.25, 0.5)]),
    points=[dict(n=1024, sigma=0.5)]))

ENTROPY_HIGH_TEMPERATURE = register(Claim(
    "phases.entropy_high_temperature", model=IID, lhs=E(stat.entropy), rel="approx", rtol=0.02,
    rhs=sp.log(S.n) - S.sigma**2 / 2,
    statement=r"In the high-temperature phase $\mathbb{E} H \approx \ln n - \sigma^2/2$ "
              "(within 2% at the check point).",
    provenance="standard", source="REM high-temperature phase (docs/theory.md, section 5)",
    details=lambda: error_table(ENTROPY_HIGH_TEMPERATURE, lambda n, sigma: X.eval_entropy(6, n, sigma),
                                [dict(n=2**k, sigma=f * S.critical_sigma(2**k))
                                 for k in (10, 14) for f in (0.25, 0.5)]),
    points=[dict(n=4096, sigma=0.8)]))

REM_FREE_ENERGY = register(Claim(
    "phases.rem_free_energy",
    model=IIDLogits(n=S.n, sigma=sp.sqrt(2 * sp.Symbol("gamma", positive=True) * sp.log(S.n))),
    lhs=E(stat.log_partition), rel="approx", rtol=0.1,
    rhs=sp.log(S.n) * sp.Piecewise((1 + sp.Symbol("gamma", positive=True), sp.Symbol("gamma", positive=True) <= 1),
                                   (2 * sp.sqrt(sp.Symbol("gamma", positive=True)), True)),
    statement=r"$\mathbb{E} \ln Z / \ln n \to 1 + \gamma$ for $\gamma \le 1$ and $2\sqrt{\gamma}$ for $\gamma \ge 1$, "
              r"with $\sigma^2 = 2\gamma \ln n$ (within 10% at $n = 2^{14}$).",
    provenance="standard", source="Derrida 1981; Bovier-Kurkova-Loewe 2002",
    details=lambda: error_table(
        REM_FREE_ENERGY, lambda n, gamma: X.eval_log_partition(6, n, math.sqrt(2 * gamma * math.log(n))),
        [dict(n=2**k, gamma=g) for k in (10, 14, 18) for g in (0.5, 1.0, 2.0)]),
    points=[dict(n=2**14, gamma=0.5), dict(n=2**14, gamma=2.0)]))


# ------------------------------------------------------------------ tilting and the k_eps rule
@lru_cache(maxsize=None)
def derivation_tilting():
    D = Derivation(r"Gaussian tilting identity: $\mathbb{E}[e^s 1\{s < t\}]$ for $s \sim \mathcal{N}(0, \sigma^2)$")
    z = sp.Symbol("z", real=True)
    D.step(sp.Integral(sp.exp(S.sigma * z) * gaussian_pdf(z), (z, -sp.oo, S.t / S.sigma)),
           r"definition, $s = \sigma z$ with $z \sim \mathcal{N}(0, 1)$")
    D.step(sp.exp(S.sigma**2 / 2) * sp.Integral(gaussian_pdf(z, S.sigma), (z, -sp.oo, S.t / S.sigma)),
           r"complete the square: $e^{\sigma z} \varphi(z) = e^{\sigma^2/2} \varphi(z - \sigma)$")
    with bounded(what="tilted Gaussian integral"):
        out = sp.simplify(sp.integrate(sp.exp(S.sigma * z) * gaussian_pdf(z), (z, -sp.oo, S.t / S.sigma),
                                       conds="none"))
    D.step(closed_form(out, "tilting"), r"integrate: a Gaussian cdf at $t/\sigma - \sigma$")
    return D


def tilted_below(s, a):
    """``e^{s_0} 1{s_0 < t}`` with ``t = a[0]``."""
    return np.exp(s[0]) if s[0] < a[0] else 0.0


register(Claim(
    "phases.tilting", model=IID, lhs=E(stat.logits(tilted_below, S.t, label=r"e^{s_0} 1\{s_0 < t\}")), rel="==",
    rhs=derivation_tilting,
    statement=r"$\mathbb{E}[e^s 1\{s < t\}] = e^{\sigma^2/2}\, \Phi(t/\sigma - \sigma)$ for "
              r"$s \sim \mathcal{N}(0, \sigma^2)$: exact tilting.",
    provenance="standard", source="completing the square", points=[dict(n=2, sigma=0.8, t=0.5)]))


@lru_cache(maxsize=None)
def derivation_keps_rule():
    r"""``E k_eps ~ n Phibar(sigma + Phi^{-1}(eps))``: one quantity, ``E k_eps``, from the first row to the last."""
    D = Derivation(r"$k_\varepsilon$ from the tilting identity (high temperature)")
    D.step(sp.Symbol(r"\mathbb{E}\, k_\varepsilon"),
           r"definition: $k_\varepsilon$ is the least $k$ with tail mass $\tau(k) \le \varepsilon$")
    q_eps = sp.Symbol(r"q_\varepsilon", positive=True)
    D.step(S.n * q_eps,
           r"$Z/\mathbb{E} Z \to 1$: the top $k = nq$ keys are those above the $(1 - q)$-quantile "
           r"$s_q = \sigma \bar\Phi^{-1}(q)$, and the tilting identity (phases.tilting) gives "
           r"$\tau(nq) \approx \Phi(\bar\Phi^{-1}(q) - \sigma)$; $q_\varepsilon$ solves "
           r"$\Phi(\bar\Phi^{-1}(q_\varepsilon) - \sigma) = \varepsilon$", rel="~")
    out = S.n * (1 - _Phi_erf(S.sigma + sp.sqrt(2) * sp.erfinv(2 * S.eps - 1)))
    D.define(q_eps, out / S.n)  # the solution of the equation above, in closed form
    D.step(out, r"solve: $\bar\Phi^{-1}(q_\varepsilon) - \sigma = \Phi^{-1}(\varepsilon)$, so "
                r"$q_\varepsilon = \bar\Phi(\sigma + \Phi^{-1}(\varepsilon))$")
    return D


K_EPS_RULE = register(Claim(
    "phases.k_eps_rule", model=IID, lhs=E(stat.k_eps(S.eps)), rel="approx", rtol=0.1,
    rhs=S.n * (1 - _Phi_erf(S.sigma + sp.sqrt(2) * sp.erfinv(2 * S.eps - 1))),
    statement=r"High temperature: $k_\varepsilon/n \approx \bar\Phi(\sigma + \Phi^{-1}(\varepsilon))$ (the tilting "
              r"rule; it fails once $k_\varepsilon = O(1)$).",
    provenance="standard", source="Tzachristas et al. 2025; derivation in phases.k_eps_rule_derivation",
    details=lambda: simulated_table(K_EPS_RULE, _KEPS_POINTS),
    points=[dict(n=4096, sigma=1.0, epsilon=0.1)]))

#: where the k_eps rule is measured: high temperature, and towards beta_c where k_eps = O(1)
_KEPS_POINTS = [dict(n=n, sigma=r * S.critical_sigma(n), epsilon=0.1) for n in (2**10, 2**14)
                for r in (0.25, 0.5, 0.75, 1.0)]

K_EPS_RULE_DERIVATION = register(Claim(
    "phases.k_eps_rule_derivation", model=IID, lhs=E(stat.k_eps(S.eps)), rel="approx", rtol=0.1,
    rhs=derivation_keps_rule,
    details=lambda: simulated_table(K_EPS_RULE_DERIVATION, _KEPS_POINTS),
    statement=r"The $k_\varepsilon$ rule derived from the tilting identity (same check as phases.k_eps_rule).",
    provenance="derived", source=r"the tilting identity and $Z/\mathbb{E} Z \to 1$", points=[]))
