"""The seed paper's self-attention model: logit scale and the max-logit / weight bounds (docs/theory.md, section 1)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

from ...numeric.models import SelfAttention
from ...numeric.statistics import P, Var, stat
from .. import symbols as S
from ..claim import Claim, register
from ..derivation import Derivation

delta = sp.Symbol("delta", positive=True)
D_MODEL, H = 8, 4
_rng = np.random.default_rng(2404)
W_Q = _rng.integers(-2, 3, (D_MODEL, H)) / 2  # half-integers: |W|_F^2 is an exact rational
W_K = _rng.integers(-2, 3, (D_MODEL, H)) / 2
W = W_Q @ W_K.T
_WWT = W @ W.T
_WS = (W + W.T) / 2
WF2 = sp.Rational(int(round(4**2 * np.sum(W * W))), 4**2)  # entries of W are multiples of 1/4


def max_abs_logit(s):
    """``max_j |s_j|`` over the row (the diagonal key included)."""
    return np.max(np.abs(s))


@lru_cache(maxsize=None)
def derivation_logit_scale():
    D = Derivation("variance of an off-diagonal logit of self-attention")
    v = sp.Symbol("v", positive=True)  # |W^T x_i|^2
    D.step(sp.Symbol(r"\operatorname{Var}(x_i^\top W x_j)"), r"definition, $j \ne i$")
    D.step(sp.Symbol(r"\mathbb{E}") * S.sigma_x**2 * v,
           r"given $x_i$, $x_i^\top W x_j = \langle W^\top x_i, x_j \rangle \sim \mathcal{N}(0, \sigma_x^2 v)$ with "
           r"$v = \|W^\top x_i\|^2$ (Gaussian $x_j$)")
    D.step(S.sigma_x**2 * (S.sigma_x**2 * sp.Symbol(r"\|W\|_F^2")),
           r"$\mathbb{E} \|W^\top x_i\|^2 = \sigma_x^2 \operatorname{tr}(W W^\top) = \sigma_x^2 \|W\|_F^2$")
    D.step(S.sigma_x**4 * WF2, r"$\|W\|_F^2$ of the catalogue's $W = W_Q W_K^\top$")
    return D


def _bound_terms():
    """Hanson-Wright (Laurent-Massart) constants of the catalogue's W."""
    return (float(np.trace(_WWT)), float(np.linalg.norm(_WWT)), float(np.linalg.norm(_WWT, 2)),
            float(np.trace(W)), float(np.linalg.norm(_WS)), float(np.linalg.norm(_WS, 2)))


def max_logit_bound():
    r"""``B(n, sigma_x, delta)``: ``max_j |s_j| <= B`` with probability ``>= 1 - delta``.

    Split ``delta`` in three. (i) ``|W^T x_0|^2 = x_0^T W W^T x_0 <= sigma_x^2 (tr A + 2|A|_F sqrt(l) + 2|A| l)``
    with ``l = ln(3/delta)`` (Laurent-Massart, the Gaussian case of Hanson-Wright). (ii) Given
    ``x_0``, the ``n - 1`` off-diagonal logits are ``N(0, sigma_x^2 |W^T x_0|^2)``; a union bound
    with ``P(|g| > u) <= e^{-u^2/2}`` bounds them by ``sigma_x |W^T x_0| sqrt(2 ln(3(n-1)/delta))``.
    (iii) The diagonal ``x_0^T W_s x_0`` is within ``sigma_x^2 (|tr W| + 2|W_s|_F sqrt(l') + 2|W_s| l')``,
    ``l' = ln(6/delta)``, of zero (two-sided Laurent-Massart).
    """
    trA, fA, oA, trW, fS, oS = _bound_terms()
    l1, l2 = sp.log(3 / delta), sp.log(6 / delta)
    off = S.sigma_x**2 * sp.sqrt(trA + 2 * fA * sp.sqrt(l1) + 2 * oA * l1) * sp.sqrt(2 * sp.log(3 * (S.n - 1) / delta))
    diag = S.sigma_x**2 * (abs(trW) + 2 * fS * sp.sqrt(l2) + 2 * oS * l2)
    return sp.Max(off, diag)


MODEL = SelfAttention(n=S.n, d=D_MODEL, sigma_x=S.sigma_x, W_Q=W_Q, W_K=W_K)
B = max_logit_bound()

register(Claim(
    "selfattention.logit_scale", model=MODEL, lhs=Var(stat.logit(1)), rel="==", rhs=derivation_logit_scale,
    statement=r"[R] Given $x_i$ the off-diagonal logits $x_i^\top W x_j$ are iid "
              r"$\mathcal{N}(0, \sigma_x^2 \|W^\top x_i\|^2)$ and "
              r"$\mathbb{E}\|W^\top x_i\|^2 = \sigma_x^2 \|W\|_F^2$, so "
              r"$\operatorname{Var} s_j = \sigma_x^4 \|W\|_F^2$: $R = \sigma_x^2 \|W\|_F$ is the logit scale.",
    provenance="reconstructed", source="v2 Lemma 4.2 / Thm 4.3 as we reconstruct them",
    points=[dict(n=16, sigma_x=1.0), dict(n=8, sigma_x=0.6)]))


def _tightness():
    """Details: the simulated (1 - delta)-quantile of max |s_j| against the bound B."""
    from ...numeric.simulate import simulate_stats

    lines = ["tightness of the max-logit bound (2000 simulated rows per point):",
             f"  {'n':>6s} {'sigma_x':>8s} {'delta':>6s} {'bound B':>9s} {'quantile':>9s} {'B/quantile':>10s}"]
    for p in ({"n": 256, "sigma_x": 0.5, "delta": 0.05}, {"n": 4096, "sigma_x": 0.5, "delta": 0.01}):
        vals = {S.n: p["n"], S.sigma_x: p["sigma_x"], delta: p["delta"]}
        x = simulate_stats(MODEL, [stat.logits(max_abs_logit)], 2000, 0, vals)[:, 0]
        q, b = float(np.quantile(x, 1 - p["delta"])), float(B.subs(vals))
        lines.append(f"  {p['n']:6d} {p['sigma_x']:8g} {p['delta']:6g} {b:9.3f} {q:9.3f} {b / q:10.2f}")
    return "\n".join(lines)


register(Claim(
    "selfattention.max_logit_bound", model=MODEL,
    lhs=P(stat.logits(max_abs_logit, label=r"\max_j |s_j|") <= B), rel=">=", rhs=1 - delta,
    statement=r"[R] Hanson-Wright plus a union bound: $\max_j |x_0^\top W x_j| \le B(n, \sigma_x, \delta)$ with "
              r"probability at least $1 - \delta$ (diagonal included).",
    provenance="reconstructed", source="v2 Lemma 4.2 (Hanson-Wright, union bound) as we reconstruct it",
    assumptions=[delta < 1, S.n >= 2], details=_tightness,
    points=[dict(n=256, sigma_x=0.5, delta=0.05)]))

register(Claim(
    "selfattention.weight_bound", model=MODEL, lhs=P(stat.max_weight <= sp.exp(2 * B) / S.n), rel=">=",
    rhs=1 - delta,
    statement=r"[R] Logits in $[-B, B]$ give $e^{-2B}/n \le p_j \le e^{2B}/n$, so $\max_j p_j \le e^{2B}/n$ with "
              r"probability at least $1 - \delta$.",
    provenance="reconstructed", source="v2 Thm 4.3 as we reconstruct it",
    assumptions=[delta < 1, S.n >= 2], points=[dict(n=256, sigma_x=0.5, delta=0.05)]))
