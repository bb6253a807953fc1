"""Gaussian extreme values (docs/theory.md, section 5)."""

from __future__ import annotations

import mpmath as mp
import sympy as sp

from ...numeric.models import IIDLogits
from ...numeric.statistics import E, P, stat
from .. import symbols as S
from ..claim import Claim, register
from ..functions import Phi
from ..tables import error_table

UNIT = IIDLogits(n=S.n, sigma=1)


def exact_mean_max(n):
    """``E M_n = int x n phi(x) Phi(x)^{n-1} dx``, split at the mode (PITFALLS 5)."""
    with mp.workdps(30):
        f = lambda x: x * n * mp.npdf(x) * mp.exp((n - 1) * mp.log(mp.ncdf(x)))  # noqa: E731
        c = S.critical_sigma(n)
        return mp.quad(f, [-mp.inf, -3, 0, c - 2, c, c + 2, mp.inf])


register(Claim(
    "extremes.max_cdf", model=UNIT, lhs=P(stat.max_logit <= S.x), rel="==",
    rhs=Phi(S.x).rewrite(sp.erf) ** S.n,
    statement=r"The maximum $M_n$ of $n$ iid $\mathcal{N}(0, 1)$ logits has cdf $\Phi(x)^n$ "
              r"(density $n \varphi(x) \Phi(x)^{n-1}$).",
    provenance="standard", source="independence", points=[dict(n=1024, x=3.2)]))

GUMBEL_MEAN = register(Claim(
    "extremes.gumbel_mean", model=UNIT, lhs=E(stat.max_logit), rel="approx", rtol=0.02,
    rhs=S.b_n + sp.EulerGamma / S.beta_c,
    statement=r"$\mathbb{E} M_n \approx b_n + \gamma_{\mathrm{E}}/a_n$ with $a_n = \beta_c$ and "
              r"$\gamma_{\mathrm{E}} = 0.5772\ldots$ (Gumbel limit: $a_n (M_n - b_n) \to$ Gumbel); "
              r"within 2% at $n = 4096$.",
    provenance="standard", source="Leadbetter, Lindgren, Rootzen 1983",
    details=lambda: error_table(GUMBEL_MEAN, exact_mean_max, [dict(n=2**k) for k in (8, 12, 16, 20)]),
    points=[dict(n=4096)]))
