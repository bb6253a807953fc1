"""Sparsity of softmax rows under Gaussian logits: the seed paper's v2 claims (THEORY.md section 1).

The asymptotic statements are :class:`TrendClaim` objects, checked over a grid of ``n``
with ``sigma^2 = 2 gamma ln n``; the top-k identities hold row by row and are checked as
two-sample equalities between two statistics computed from the same kind of row.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ...numeric.models import IIDLogits
from ...numeric.statistics import E, stat
from .. import symbols as S
from ..claim import Claim, register
from .trends import TrendClaim

gamma = sp.Symbol("gamma", positive=True)
C = sp.Symbol("C", positive=True)
REGIME = IIDLogits(n=S.n, sigma=sp.sqrt(2 * gamma * sp.log(S.n)))
K_POWER = sp.ceiling(S.n ** C)
K_LOG = sp.ceiling(sp.log(S.n))


def tv_topk(s, a):
    """``TV(P, P^)`` between a row's softmax and its renormalised top-k (k = a[0])."""
    k = int(a[0])
    m = s.max()
    p = np.exp(s - m)
    p /= p.sum()
    order = np.argsort(-p)
    head = 0.0
    for i in range(k):
        head += p[order[i]]
    tv = 0.0
    for i in range(len(p)):
        q = p[order[i]] / head if i < k else 0.0
        tv += abs(p[order[i]] - q)
    return 0.5 * tv


def one_minus_exp_kl(s, a):
    """``1 - exp(-KL(P^ || P))`` for the renormalised top-k (k = a[0])."""
    k = int(a[0])
    m = s.max()
    p = np.exp(s - m)
    p /= p.sum()
    order = np.argsort(-p)
    kl = 0.0
    head = 0.0
    for i in range(k):
        head += p[order[i]]
    for i in range(k):
        q = p[order[i]] / head
        kl += q * np.log(q / p[order[i]])
    return 1.0 - np.exp(-kl)


def output_error(s, a):
    """``Attn - Attn_k`` for values ``V_j = cos(j)``: attention output minus its top-k version."""
    k = int(a[0])
    m = s.max()
    p = np.exp(s - m)
    p /= p.sum()
    order = np.argsort(-p)
    head = 0.0
    for i in range(k):
        head += p[order[i]]
    full, top = 0.0, 0.0
    for i in range(len(p)):
        v = np.cos(float(order[i]))
        full += p[order[i]] * v
        if i < k:
            top += p[order[i]] / head * v
    return full - top


def tail_times_gap(s, a):
    """``tau(k) (mu_tail - mu_head)`` for values ``V_j = cos(j)``: the identity's right side."""
    k = int(a[0])
    m = s.max()
    p = np.exp(s - m)
    p /= p.sum()
    order = np.argsort(-p)
    head, tail, mh, mt = 0.0, 0.0, 0.0, 0.0
    for i in range(len(p)):
        v = np.cos(float(order[i]))
        if i < k:
            head += p[order[i]]
            mh += p[order[i]] * v
        else:
            tail += p[order[i]]
            mt += p[order[i]] * v
    gap = (mt / tail if tail > 0 else 0.0) - mh / head
    return tail * gap


_IID = IIDLogits(n=S.n, sigma=S.sigma)
_ID_POINTS = [dict(n=256, sigma=2.0, k=8), dict(n=64, sigma=0.7, k=3)]

register(Claim(
    "sparsity.tv_is_tail_mass", model=_IID, lhs=E(stat.logits(tv_topk, S.k, label=r"\mathrm{TV}(P, \hat P_k)")),
    rel="==", rhs=E(stat.tail_mass(S.k)),
    statement="TV(P, P^_k) = tau(k) for the renormalised top-k distribution P^_k, row by row "
              "(checked in expectation; the l1 error is 2 tau(k)).",
    provenance="standard", source="THEORY.md section 1, identities", points=_ID_POINTS,
    assumptions=[S.k >= 1, S.k < S.n]))

register(Claim(
    "sparsity.tv_from_kl", model=_IID, lhs=E(stat.logits(one_minus_exp_kl, S.k, label=r"1 - e^{-\mathrm{KL}}")),
    rel="==", rhs=E(stat.tail_mass(S.k)),
    statement="TV(P, P^_k) = 1 - exp(-KL(P^_k || P)), since KL(P^_k || P) = -ln T(k).",
    provenance="standard", source="THEORY.md section 1, identities", points=_ID_POINTS[:1],
    assumptions=[S.k >= 1, S.k < S.n]))

register(Claim(
    "sparsity.output_error", model=_IID, lhs=E(stat.logits(output_error, S.k, label=r"A - A_k")),
    rel="==", rhs=E(stat.logits(tail_times_gap, S.k, label=r"\tau(k)(\mu_{tail} - \mu_{head})")),
    statement="Attn - Attn_k = tau(k) (mu_tail - mu_head): the top-k output error is the tail mass times "
              "the gap between the tail and head means of V (values V_j = cos j).",
    provenance="standard", source="THEORY.md section 1, identities", rtol=0.0, atol=2e-3,
    points=_ID_POINTS[:1], assumptions=[S.k >= 1, S.k < S.n]))

register(TrendClaim(
    "sparsity.nC_sparse", model=REGIME, lhs=E(stat.tail_mass(K_POWER)), law="decreasing", tol=0.02,
    statement="The top n^C entries of a row suffice: the discarded mass decreases in n "
              "(checked at sigma^2 = 2 gamma ln n with C > 1 - gamma).",
    provenance="paper", source="arXiv 2404.02690 v2, abstract (n^C-sparse)",
    assumptions=[C < 1, gamma < 1, C > 1 - gamma], points=[dict(gamma=0.8, C=0.7)]))

register(TrendClaim(
    "sparsity.nC_rate", model=REGIME, lhs=E(stat.tail_mass(K_POWER)), law="exponent", tol=0.1,
    rhs=-(sp.sqrt(gamma) - sp.sqrt(1 - C)) ** 2,
    statement="[R] With sigma^2 = 2 gamma ln n, 0 < gamma < 1 and k = n^C, C > 1 - gamma, "
              "tau(k) ~ n^{-(sqrt(gamma) - sqrt(1-C))^2} up to polylog factors (exponent within 0.1).",
    provenance="reconstructed", source="v2 Thm 6.1 as we reconstruct it",
    assumptions=[C < 1, gamma < 1, C > 1 - gamma], points=[dict(gamma=0.8, C=0.7)]))

register(TrendClaim(
    "sparsity.nC_threshold", model=REGIME, lhs=E(stat.tail_mass(K_POWER)), law="not_decreasing", tol=0.02,
    statement="[R] With C < 1 - gamma the top n^C entries do not suffice: tau(n^C) does not tend to 0.",
    provenance="reconstructed", source="v2 Thm 6.1 (the 'only if' half) as we reconstruct it",
    assumptions=[C < 1 - gamma, gamma < 1], points=[dict(gamma=0.5, C=0.3)]))

register(TrendClaim(
    "sparsity.log_insufficient", model=REGIME, lhs=E(stat.topk_mass(K_LOG)), law="decreasing", tol=0.02,
    statement="[R] With gamma < 1, k = ceil(ln n) = o(n^C) entries leave an Omega(1) error: the kept mass "
              "T(k) tends to 0, so tau(k) -> 1.",
    provenance="reconstructed", source="v2 Thm 6.2 as we reconstruct it",
    assumptions=[gamma < 1], points=[dict(gamma=0.5)]))

register(TrendClaim(
    "sparsity.adaptive_window", model=REGIME, lhs=E(stat.tail_mass(K_POWER)), law="less", tol=0.0,
    compare=stat.tail_mass(sp.Integer(181)),
    grid=(8, 10, 12, 14),
    statement="[R] An adaptive window n^C discards less mass on average than a fixed window of the same "
              "average budget (181 keys = mean of ceil(n^0.7) over n = 2^8..2^14), over context lengths "
              "2^8..2^14 equally weighted.",
    provenance="reconstructed", source="v2 section 7 as we reconstruct it",
    assumptions=[C < 1, gamma < 1], points=[dict(gamma=0.5, C=0.7)]))

register(Claim(
    "sparsity.count_mean_field", model=IIDLogits(n=S.n, sigma=S.sigma), lhs=E(stat.count_above(S.eps)),
    rel="approx", rtol=0.1,
    rhs=S.n * sp.erfc(((sp.log(S.n - 1) + S.sigma**2 / 2 + sp.log(S.eps / (1 - S.eps))) / S.sigma) / sp.sqrt(2)) / 2,
    statement="[R] v1 count form: E N_eps = n P(p_1 > eps) ~ n Phibar((ln(n-1) + sigma^2/2 + logit eps)/sigma) "
              "in the high-temperature phase (within 10%; biased low near beta_c).",
    provenance="reconstructed", source="arXiv 2404.02690 v1, count form; mean-field reduction",
    points=[dict(n=1024, sigma=1.0, epsilon=0.002)]))
