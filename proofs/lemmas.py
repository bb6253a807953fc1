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

__all__ = ["derive_gaussian_mgf", "derive_chi2_mgf", "gaussian_pdf", "lipschitz_log_partition", "lipschitz_log_weight",
           "lipschitz_max_logit", "lipschitz_top_gap", "lipschitz_entropy", "LIPSCHITZ_DIM", "MeanLogPartition",
           "MeanEntropy", "derive_truncated_exp_moment"]


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


@lru_cache(maxsize=None)
def derive_truncated_exp_moment(z):
    """``E[e^{sigma X} 1{X <= z}]`` for ``X ~ N(0,1)``: SymPy integrates against the density (an erf form)."""
    u = sp.Symbol("u", real=True)
    with bounded(what="truncated Gaussian exponential moment"):
        out = sp.integrate(sp.exp(S.sigma * u) * gaussian_pdf(u), (u, -sp.oo, z))
    return closed_form(out, "truncated Gaussian exponential moment")


# ---------------------------------------------------------------------- Lipschitz constants
#: the dimension in which the Lipschitz chains are written out and checked (every step is
#: a statement about a softmax row of this many keys; none uses the value of ``n`` except the
#: entropy's ``ln n``)
LIPSCHITZ_DIM = 4


def _row(dim=LIPSCHITZ_DIM):
    """``X_1..X_dim``, the logits ``s = sigma X``, placeholders ``p_i`` with their softmax meanings."""
    X = sp.symbols(f"X_1:{dim + 1}", real=True)
    s = [S.sigma * v for v in X]
    Z = sum(sp.exp(v) for v in s)
    p = sp.symbols(f"p_1:{dim + 1}", positive=True)
    return X, s, Z, p, [(pi, sp.exp(si) / Z) for pi, si in zip(p, s)]


@lru_cache(maxsize=None)
def lipschitz_log_partition():
    r"""``ln Z`` is ``sigma``-Lipschitz in ``X``: ``grad = sigma p``, ``|p|_2^2 <= |p|_1^2 = 1``."""
    from .bounds import lipschitz

    X, s, Z, p, means = _row()
    return lipschitz(sp.log(Z), X, [
        (S.sigma**2 * sum(v**2 for v in p), r"$\partial_i \ln Z = \sigma p_i$", "="),
        (S.sigma**2 * sum(p)**2, r"$\sum_i p_i^2 \le (\sum_i p_i)^2$ ($p_i \ge 0$)", "<="),
        (S.sigma**2, r"$\sum_i p_i = 1$", "=")],
        title=r"$\ln Z$ is $\sigma$-Lipschitz in $X$", meanings=means)


@lru_cache(maxsize=None)
def lipschitz_log_weight():
    r"""``ln p_1 = s_1 - ln Z`` is ``sqrt(2) sigma``-Lipschitz: ``grad = sigma (e_1 - p)``."""
    from .bounds import lipschitz

    X, s, Z, p, means = _row()
    rest = p[1:]
    return lipschitz(s[0] - sp.log(Z), X, [
        (S.sigma**2 * ((1 - p[0])**2 + sum(v**2 for v in rest)), r"$\partial_i \ln p_1 = \sigma(\delta_{i1} - p_i)$",
         "="),
        (S.sigma**2 * ((1 - p[0])**2 + sum(rest)**2), r"$\sum_{i>1} p_i^2 \le (\sum_{i>1} p_i)^2$", "<="),
        (2 * S.sigma**2 * (1 - p[0])**2, r"$\sum_{i>1} p_i = 1 - p_1$", "="),
        (2 * S.sigma**2, r"$0 < p_1 < 1$", "<=")],
        title=r"$\ln p_1$ is $\sqrt{2}\sigma$-Lipschitz in $X$", meanings=means)


@lru_cache(maxsize=None)
def lipschitz_max_logit():
    r"""``max_j s_j`` is ``sigma``-Lipschitz: its gradient is ``sigma e_{argmax}`` almost everywhere."""
    from .bounds import lipschitz

    X, s, Z, p, means = _row()
    return lipschitz(sp.Max(*s), X, [(S.sigma**2, r"one Heaviside factor is 1, the others 0 (a.e.)", "=")],
                     title=r"$\max_j s_j$ is $\sigma$-Lipschitz in $X$")


@lru_cache(maxsize=None)
def lipschitz_top_gap():
    r"""``s_(1) - s_(2)`` is ``sqrt(2) sigma``-Lipschitz: gradient ``sigma (e_a - e_b)`` almost everywhere."""
    from .bounds import lipschitz

    X, s, Z, p, means = _row()
    second = sp.Max(*[sp.Min(s[i], s[j]) for i in range(len(s)) for j in range(i + 1, len(s))])
    return lipschitz(sp.Max(*s) - second, X, [
        (2 * S.sigma**2, r"$s_{(2)} = \max_{i<j} \min(s_i, s_j)$: the gradient is $\sigma(e_a - e_b)$ (a.e.)", "=")],
        title=r"$s_{(1)} - s_{(2)}$ is $\sqrt{2}\sigma$-Lipschitz in $X$")


@lru_cache(maxsize=None)
def lipschitz_entropy():
    r"""``H(p)`` is ``sigma max(ln n, 2/e)``-Lipschitz for a row of ``n`` keys.

    ``dH/ds_i = -p_i u_i`` with ``u_i = s_i - mu``, ``mu = sum_j p_j s_j``, so
    ``|grad_X H|^2 = sigma^2 sum_i p_i (p_i u_i^2) <= sigma^2 max_i p_i u_i^2``; and
    ``p_i = e^{u_i - H}`` with ``u_i <= H``, so ``p_i u_i^2 <= max(H^2, 4 e^{-2}) <= max((ln n)^2, 4 e^{-2})``.
    The constant grows like ``ln n``: the entropy is Lipschitz for each ``n``, not uniformly in ``n``.
    """
    from .bounds import lipschitz

    X, s, Z, p, means = _row()
    dim = len(X)
    u = sp.symbols(f"u_1:{dim + 1}", real=True)
    H = sp.Symbol("H", nonnegative=True)
    mu = sum(pi * si for pi, si in zip(p, s))
    means = means + [(ui, si - mu) for ui, si in zip(u, s)] + [(H, sp.log(Z) - mu)]
    L2 = S.sigma**2 * sp.Max(sp.log(S.n)**2, 4 * sp.exp(-2))  # n := dim in the check (a stated meaning)
    return lipschitz(sp.log(Z) - sum(sp.exp(si) / Z * si for si in s), X, [
        (S.sigma**2 * sum(pi**2 * ui**2 for pi, ui in zip(p, u)), r"$\partial H/\partial s_i = -p_i u_i$, "
         r"$u_i = s_i - \sum_j p_j s_j$", "="),
        (S.sigma**2 * sp.Max(*[pi * ui**2 for pi, ui in zip(p, u)]), r"$\sum_i p_i (p_i u_i^2) \le \max_i p_i u_i^2$ "
         r"($\sum_i p_i = 1$)", "<="),
        (S.sigma**2 * sp.Max(*[ui**2 * sp.exp(ui - H) for ui in u]), r"$p_i = e^{u_i - H}$ ($\ln p_i = s_i - \ln Z$, "
         r"$\ln Z = H + \mu$)", "="),
        (S.sigma**2 * sp.Max(H**2, 4 * sp.exp(-2)), r"$u^2 e^{u - H} \le H^2$ for $0 \le u \le H$ and "
         r"$\le 4 e^{-2}$ for $u < 0$ ($u_i \le H$ as $p_i \le 1$)", "<="),
        (L2, r"$H \le \ln n$", "<="),
        (S.sigma**2 * sp.Max(sp.log(S.n), 2 * sp.exp(-1))**2, r"$\ln n \ge 0$", "=")],
        title=rf"$H(p)$ is $\sigma \max(\ln n, 2/e)$-Lipschitz in $X$ (written for $n = {dim}$)",
        meanings=means + [(S.n, sp.Integer(dim))])


# ---------------------------------------------------------------------- exact means as numbers
class _ExactMean(sp.Function):
    """``E f`` of an IID ``N(0, sigma^2)`` row of ``n`` logits as a SymPy number: ``evalf``
    calls the confirmed exact evaluator of :mod:`attnsparse.numeric.exact` (13 digits, the
    float route), so an event threshold such as ``E ln Z + x`` binds to a number at check time.
    Unevaluated (and a placeholder for step checks: no closed form) while ``n`` or ``sigma`` is a symbol.
    """

    nargs = 2
    placeholder = True
    head = ""

    def _eval_evalf(self, prec):
        n, sigma = self.args
        if not (n.is_number and sigma.is_number):
            return None
        if n != int(n) or int(n) < 2:
            raise ValueError(f"{type(self).__name__}: n must be an integer >= 2, got {n}")
        return sp.Float(str(_exact_mean(self.evaluator, int(n), float(sigma))), 13)

    def _latex(self, printer, exp=None):
        out = self.head
        return out if exp is None else r"\left(%s\right)^{%s}" % (out, exp)


@lru_cache(maxsize=256)
def _exact_mean(name, n, sigma):
    from ..numeric import exact

    return getattr(exact, name)(13, n, sigma)


class MeanLogPartition(_ExactMean):
    r"""``E ln Z(n, sigma)`` (exact evaluator ``eval_log_partition``)."""

    evaluator = "eval_log_partition"
    head = r"\mathbb{E} \ln Z"


class MeanEntropy(_ExactMean):
    r"""``E H(p)(n, sigma)`` (exact evaluator ``eval_entropy``)."""

    evaluator = "eval_entropy"
    head = r"\mathbb{E} H(p)"
