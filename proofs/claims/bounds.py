"""Tail bounds on softmax rows derived with :mod:`attnsparse.proofs.bounds` (IID Gaussian logits)."""

from __future__ import annotations

from functools import lru_cache

import mpmath as mp
import sympy as sp

from ...numeric.models import IIDLogits
from ...numeric.statistics import P, stat
from .. import bounds as B
from .. import symbols as S
from ..claim import Claim, register
from ..functions import Phi, Phibar
from ..lemmas import (MeanEntropy, MeanLogPartition, derive_truncated_exp_moment, lipschitz_entropy,
                      lipschitz_log_partition)

t, x = S.t, sp.Symbol("x", positive=True)
delta = _DELTA = sp.Symbol("delta", positive=True)
m = sp.Symbol("m", positive=True, integer=True)
MODEL = IIDLogits(n=S.n, sigma=S.sigma)
GAUSS_MGF = sp.exp(S.sigma**2 * t**2 / 2)
#: the weight-tail bound of bounds.weight_tail, as statements write it
_WEIGHT_EXP = r"\exp(-(\ln n\varepsilon)^2/(2\sigma^2 (1 - 1/n)))"


def _ratio_table(claim_rhs, exact, points, label="exact"):
    lines = [f"bound over {label} value:", f"  {'point':28s} {'bound':>12s} {label:>12s} {'ratio':>9s}"]
    for p in points:
        vals = {sp.Symbol(k, **_assume(k)): v for k, v in p.items()}
        b = float(sp.N(claim_rhs.subs(vals), 20))
        e = float(exact(**p))
        where = ", ".join(f"{k}={v}" for k, v in p.items())
        lines.append(f"  {where:28s} {b:12.4g} {e:12.4g} {b / e:9.3g}")
    return "\n".join(lines)


def _assume(name):
    return {"n": dict(positive=True, integer=True), "sigma": dict(positive=True)}.get(name, dict(positive=True))


def _exact_max_tail(n, sigma, x):
    with mp.workdps(30):
        return 1 - mp.ncdf(mp.mpf(x) / sigma) ** n


@lru_cache(maxsize=None)
def derivation_max_logit_chernoff():
    one = B.chernoff(GAUSS_MGF, t, x, exact=Phibar(x / S.sigma), Y=sp.Symbol("s_1", real=True))
    return B.union(one, S.n, event=P(stat.max_logit >= x), exact=1 - Phi(x / S.sigma)**S.n)


@lru_cache(maxsize=None)
def derivation_max_logit_mills():
    one = B.mills_upper(x / S.sigma, exact=Phibar(x / S.sigma), scale=S.sigma)
    return B.union(one, S.n, event=P(stat.max_logit >= x), exact=1 - Phi(x / S.sigma)**S.n)


_MAX_CH = derivation_max_logit_chernoff()
MAX_CHERNOFF = register(Claim.from_derivation(
    _MAX_CH, "bounds.max_logit_chernoff", model=MODEL,
    statement=r"$\mathbb{P}(\max_j s_j \ge x) \le n e^{-x^2/(2\sigma^2)}$: Chernoff on one logit (SymPy optimises "
              r"$t$) and a union bound; the exact value is $1 - \Phi(x/\sigma)^n$.",
    provenance="standard", source="Chernoff 1952 + Boole",
    details=lambda: _ratio_table(_MAX_CH.result, _exact_max_tail,
                                 [dict(n=8, sigma=1, x=3), dict(n=64, sigma=1, x=4), dict(n=1024, sigma=2, x=10)]),
    points=[dict(n=8, sigma=1.0, x=2.5)]))

_MAX_MI = derivation_max_logit_mills()
register(Claim.from_derivation(
    _MAX_MI, "bounds.max_logit_mills", model=MODEL,
    statement=r"$\mathbb{P}(\max_j s_j \ge x) \le n \sigma \varphi(x/\sigma)/x$: the upper Mills ratio and a union "
              "bound.",
    provenance="standard", source="Gordon 1941 + Boole",
    details=lambda: _ratio_table(_MAX_MI.result, _exact_max_tail,
                                 [dict(n=8, sigma=1, x=3), dict(n=64, sigma=1, x=4), dict(n=1024, sigma=2, x=10)]),
    points=[dict(n=8, sigma=1.0, x=2.5)]))


@lru_cache(maxsize=None)
def derivation_max_logit_quantile():
    one = B.chernoff(GAUSS_MGF, t, x, exact=Phibar(x / S.sigma), Y=sp.Symbol("s_1", real=True))
    U = B.union(one, S.n, exact=1 - Phi(x / S.sigma)**S.n)
    xd = sp.sqrt(2) * S.sigma * sp.sqrt(sp.log(S.n / delta))
    return B.invert(U, delta, x, event=P(stat.max_logit >= xd), exact=1 - Phi(xd / S.sigma)**S.n)


_QUANT = derivation_max_logit_quantile()
register(Claim.from_derivation(
    _QUANT, "bounds.max_logit_quantile", model=MODEL,
    details=lambda: _ratio_table(_QUANT.result, lambda n, sigma, delta: _exact_max_tail(
        n, sigma, float(_QUANT.threshold.subs({S.n: n, S.sigma: sigma, _DELTA: delta}))),
        [dict(n=8, sigma=1, delta=0.2), dict(n=1024, sigma=1, delta=0.05), dict(n=1024, sigma=2, delta=0.001)]),
    statement=r"With probability at least $1 - \delta$, $\max_j s_j < \sigma \sqrt{2 \ln(n/\delta)}$ (the "
              r"Chernoff-union bound solved for $x$).", provenance="standard", source="Chernoff 1952 + Boole, inverted",
    points=[dict(n=8, sigma=1.0, delta=0.2)]))


@lru_cache(maxsize=None)
def derivation_logit_mills_lower():
    return B.mills_lower(x / S.sigma, event=P(stat.logit(0) >= x), exact=Phibar(x / S.sigma), scale=S.sigma)


def _exact_logit_tail(n, sigma, x):
    with mp.workdps(30):
        return mp.ncdf(-mp.mpf(x) / sigma)


_MILLS_LO = derivation_logit_mills_lower()
register(Claim.from_derivation(
    _MILLS_LO, "bounds.logit_mills_lower", model=MODEL,
    details=lambda: _ratio_table(_MILLS_LO.result, _exact_logit_tail,
                                 [dict(n=4, sigma=1, x=1), dict(n=4, sigma=1, x=3), dict(n=4, sigma=2, x=10)]),
    statement=r"$\mathbb{P}(s_1 \ge x) \ge (x/\sigma)\, \varphi(x/\sigma)/(1 + x^2/\sigma^2)$: the lower Mills "
              "ratio.",
    provenance="standard", source="Gordon 1941", points=[dict(n=4, sigma=1.0, x=1.0)]))


@lru_cache(maxsize=None)
def derivation_weight_tail():
    from ..derivation import Derivation

    scale = S.sigma * sp.sqrt(1 - 1 / S.n)  # the sd of s_1 - mean(s)
    D = Derivation(r"AM-GM and Chernoff on $\mathbb{P}(p_1 > \varepsilon)$", assumptions=[S.n * S.eps > 1, S.n >= 2])
    D.step(P(stat.weight(0) > S.eps), "definition")
    c = sp.Symbol(r"\mathbb{P}(s_1 - \bar s \geq \ln(n\epsilon))")
    D.step(c, r"AM-GM: $Z \ge n e^{\bar s}$ with $\bar s = \sum_j s_j/n$, so $p_1 \le e^{s_1 - \bar s}/n$", rel="<=")
    D.define(c, Phibar(sp.log(S.n * S.eps) / scale))
    D.step(Phibar(sp.log(S.n * S.eps) / scale), r"$s_1 - \bar s \sim \mathcal{N}(0, \sigma^2 (1 - 1/n))$")
    v = sp.Symbol("v", positive=True)  # the chernoff of N(0, v^2), then v = scale
    one = B.chernoff(GAUSS_MGF.subs(S.sigma, v), t, x, exact=Phibar(x / v))
    D.step(one.result.subs({x: sp.log(S.n * S.eps), v: scale}),
           r"Chernoff at $x = \ln(n\varepsilon) > 0$, as derived by bounds.chernoff",
           rel="<=")
    return D


register(Claim.from_derivation(
    derivation_weight_tail(), "bounds.weight_tail", model=MODEL,
    statement=r"$\mathbb{P}(p_1 > \varepsilon) \le " + _WEIGHT_EXP + r"$ for $n\varepsilon > 1$ (AM-GM on $Z$, "
              "then Chernoff).",
    provenance="reconstructed", source="AM-GM + Chernoff", points=[dict(n=8, sigma=1.0, epsilon=0.3)]))


@lru_cache(maxsize=None)
def derivation_max_weight_tail():
    return B.union(derivation_weight_tail(), S.n, event=P(stat.max_weight > S.eps))


register(Claim.from_derivation(
    derivation_max_weight_tail(), "bounds.max_weight_tail", model=MODEL,
    statement=r"$\mathbb{P}(\max_j p_j > \varepsilon) \le n " + _WEIGHT_EXP + "$ (a union bound over "
              "bounds.weight_tail).",
    provenance="reconstructed", source="AM-GM + Chernoff + Boole", points=[dict(n=8, sigma=0.5, epsilon=0.5)]))


@lru_cache(maxsize=None)
def derivation_count_tail():
    from ..derivation import Derivation

    one = derivation_weight_tail()
    D = Derivation(r"Markov on $N_\varepsilon$: $\mathbb{P}(N_\varepsilon \ge m)$", assumptions=list(one.assumptions))
    D.step(P(stat.count_above(S.eps) >= m), "definition")
    D.step(sp.Symbol(r"\mathbb{E} N_\epsilon") / m, r"Markov ($N_\varepsilon \ge 0$)", rel="<=")
    D.step(S.n * B.functional_symbol(one.first) / m,
           r"$\mathbb{E} N_\varepsilon = n\, \mathbb{P}(p_1 > \varepsilon)$ (exchangeable keys)")
    return D.extend(one, S.n / m)


register(Claim.from_derivation(
    derivation_count_tail(), "bounds.count_tail", model=MODEL,
    statement=r"$\mathbb{P}(N_\varepsilon \ge m) \le (n/m) " + _WEIGHT_EXP + r"$ (Markov on $N_\varepsilon$).",
    provenance="reconstructed", source="Markov + bounds.weight_tail", points=[dict(n=8, sigma=0.5, epsilon=0.3, m=2)]))


@lru_cache(maxsize=None)
def derivation_tail_mass_floor():
    from ..derivation import Derivation

    U = derivation_max_weight_tail()
    D = Derivation(r"$\mathbb{P}(\tau(k) \le 1 - k\varepsilon)$", assumptions=list(U.assumptions))
    D.step(P(stat.tail_mass(S.k) <= 1 - S.k * S.eps), "definition")
    D.step(B.functional_symbol(U.first), r"$\tau(k) = 1 - T(k) \ge 1 - k \max_j p_j$ (each of the top $k$ weights "
           r"is at most $\max_j p_j$)", rel="<=")
    return D.extend(U)


register(Claim.from_derivation(
    derivation_tail_mass_floor(), "bounds.tail_mass_floor", model=MODEL,
    statement=r"$\mathbb{P}(\tau(k) \le 1 - k\varepsilon) \le n " + _WEIGHT_EXP + r"$: keeping $k$ entries "
              r"leaves an error $\tau(k) > 1 - k\varepsilon$ unless $\max_j p_j > \varepsilon$ (the step behind "
              r"$o(\ln n)$ entries leaving an $\Omega(1)$ error).",
    provenance="reconstructed", source=r"$T(k) \le k \max_j p_j$ + bounds.max_weight_tail",
    points=[dict(n=8, sigma=0.5, epsilon=0.5, k=1)]))


@lru_cache(maxsize=None)
def derivation_log_partition_upper():
    from ..derivation import Derivation

    D = Derivation(r"$\mathbb{P}(\ln Z \ge \ln n + \sigma^2/2 + x)$", assumptions=[x > 0])
    D.step(P(stat.log_partition >= sp.log(S.n) + S.sigma**2 / 2 + x), "definition")
    D.step(sp.Symbol(r"\mathbb{P}(\log Z - \mathbb{E}\log Z \geq x)"),
           r"Jensen: $\mathbb{E} \ln Z \le \ln \mathbb{E} Z = \ln n + \sigma^2/2$, as "
           r"$\mathbb{E} e^{s_j} = e^{\sigma^2/2}$", rel="<=")
    # log Z as a function of X = s/sigma has gradient sigma p, of norm sigma |p|_2 <= sigma |p|_1 = sigma: the lemma
    return D.extend(B.gaussian_concentration(lipschitz_log_partition(), x, f=r"\ln Z"))


register(Claim.from_derivation(
    derivation_log_partition_upper(), "bounds.log_partition_upper", model=MODEL,
    statement=r"$\mathbb{P}(\ln Z \ge \ln n + \sigma^2/2 + x) \le e^{-x^2/(2\sigma^2)}$: $\ln Z$ is "
              r"$\sigma$-Lipschitz in the standardised logits (TIS) and $\mathbb{E} \ln Z \le \ln \mathbb{E} Z$ "
              "(Jensen).",
    provenance="standard", source="Tsirelson-Ibragimov-Sudakov 1976 + Jensen", points=[dict(n=8, sigma=1.0, x=1.0)]))


@lru_cache(maxsize=None)
def derivation_log_partition_lower():
    from ..derivation import Derivation

    D = Derivation(r"$\mathbb{P}(\ln Z \le \ln n - x)$", assumptions=[x > 0])
    D.step(P(stat.log_partition <= sp.log(S.n) - x), "definition")
    c = sp.Symbol(r"\mathbb{P}(\bar s \leq -x)")
    D.step(c, r"AM-GM: $\ln Z \ge \ln n + \bar s$, with $\bar s = \sum_j s_j/n$", rel="<=")
    D.define(c, Phibar(x * sp.sqrt(S.n) / S.sigma))
    one = B.chernoff(GAUSS_MGF.subs(S.sigma, S.sigma / sp.sqrt(S.n)), t, x,
                     exact=Phibar(x * sp.sqrt(S.n) / S.sigma))
    for s in one.steps[1:]:
        D.step(s.expr, s.why, rel=s.rel)
    return D


register(Claim.from_derivation(
    derivation_log_partition_lower(), "bounds.log_partition_lower", model=MODEL,
    statement=r"$\mathbb{P}(\ln Z \le \ln n - x) \le e^{-n x^2/(2\sigma^2)}$ (AM-GM, then Chernoff on the mean "
              r"logit $\bar s \sim \mathcal{N}(0, \sigma^2/n)$).",
    provenance="reconstructed", source="AM-GM + Chernoff", points=[dict(n=4, sigma=1.0, x=0.5)]))


@lru_cache(maxsize=None)
def derivation_partition_markov():
    EZ = S.n * sp.exp(S.sigma**2 / 2)
    return B.markov(EZ, x, event=P(stat.partition >= x))


register(Claim.from_derivation(
    derivation_partition_markov(), "bounds.partition_markov", model=MODEL,
    statement=r"$\mathbb{P}(Z \ge x) \le n e^{\sigma^2/2}/x$ (Markov, $\mathbb{E} Z = n e^{\sigma^2/2}$).",
    provenance="standard", source="Markov", points=[dict(n=8, sigma=1.0, x=20.0)]))


@lru_cache(maxsize=None)
def derivation_partition_cantelli():
    EZ = S.n * sp.exp(S.sigma**2 / 2)
    V = S.n * (sp.exp(2 * S.sigma**2) - sp.exp(S.sigma**2))
    return B.cantelli(V, x, event=P(stat.partition >= EZ + x))


register(Claim.from_derivation(
    derivation_partition_cantelli(), "bounds.partition_cantelli", model=MODEL,
    statement=r"$\mathbb{P}(Z \ge n e^{\sigma^2/2} + x) \le V/(V + x^2)$ with "
              r"$V = \operatorname{Var} Z = n(e^{2\sigma^2} - e^{\sigma^2})$ (Cantelli).",
    provenance="standard", source="Cantelli", points=[dict(n=8, sigma=1.0, x=5.0)]))


@lru_cache(maxsize=None)
def derivation_tail_mass_rate():
    from ..derivation import Derivation

    floor = derivation_tail_mass_floor()
    e = 1 / sp.sqrt(S.n)
    D = Derivation(r"$\mathbb{P}(\tau(k) \le 1 - k/\sqrt{n})$", assumptions=[S.n >= 2])
    D.step(P(stat.tail_mass(S.k) <= 1 - S.k / sp.sqrt(S.n)), "definition")
    D.meanings.update({c: v.subs(S.eps, e) for c, v in floor.meanings.items()})
    for s in floor.steps[1:]:
        D.step(s.expr.subs(S.eps, e), s.why + r", at $\varepsilon = 1/\sqrt{n}$", rel=s.rel)
    D.step(S.n * sp.exp(-sp.log(S.n)**2 / (8 * S.sigma**2 * (1 - 1 / S.n))),
           r"algebra: $\ln(n\varepsilon) = (\ln n)/2$")
    return D


register(Claim.from_derivation(
    derivation_tail_mass_rate(), "bounds.tail_mass_rate", model=MODEL,
    statement=r"Keeping $k$ entries leaves $\tau(k) > 1 - k/\sqrt{n}$ except with probability at most "
              r"$n \exp(-(\ln n)^2/(8\sigma^2 (1 - 1/n))) = n^{1 - \ln n/(8\sigma^2 (1 - 1/n))} \to 0$ for fixed "
              r"$\sigma$: $o(\sqrt{n})$ entries leave an $\Omega(1)$ error.",
    provenance="reconstructed", source=r"bounds.tail_mass_floor at $\varepsilon = n^{-1/2}$",
    points=[dict(n=16, sigma=0.5, k=1)]))


@lru_cache(maxsize=None)
def derivation_log_partition_concentration():
    mean = MeanLogPartition(S.n, S.sigma)
    return B.gaussian_concentration(lipschitz_log_partition(), x, event=P(stat.log_partition >= mean + x),
                                    f=r"\ln Z")


register(Claim.from_derivation(
    derivation_log_partition_concentration(), "bounds.log_partition_concentration", model=MODEL,
    statement=r"$\mathbb{P}(\ln Z - \mathbb{E} \ln Z \ge x) \le e^{-x^2/(2\sigma^2)}$: $\ln Z$ is "
              r"$\sigma$-Lipschitz in the standardised logits (derived: $\nabla \ln Z = \sigma p$, "
              r"$|p|_2 \le |p|_1 = 1$) and TIS; $\mathbb{E} \ln Z$ from the exact evaluator (E2).",
    provenance="standard", source="Tsirelson-Ibragimov-Sudakov 1976 + the derived Lipschitz constant",
    points=[dict(n=8, sigma=1.0, x=0.5)]))


@lru_cache(maxsize=None)
def derivation_entropy_concentration():
    mean = MeanEntropy(S.n, S.sigma)
    return B.gaussian_concentration(lipschitz_entropy(), x, event=P(stat.entropy >= mean + x), f=r"H(p)",
                                    assumptions=[S.n >= 2])


register(Claim.from_derivation(
    derivation_entropy_concentration(), "bounds.entropy_concentration", model=MODEL,
    statement=r"$\mathbb{P}(H - \mathbb{E} H \ge x) \le \exp(-x^2/(2\sigma^2 \max(\ln n, 2/e)^2))$: $H(p)$ is "
              r"$\sigma \max(\ln n, 2/e)$-Lipschitz (derived from $\partial H/\partial s_i = -p_i u_i$; the chain is "
              r"written out and checked for a row of 4 keys) and TIS; $\mathbb{E} H$ from the exact evaluator (E3).",
    provenance="reconstructed", source="Tsirelson-Ibragimov-Sudakov 1976 + the derived Lipschitz constant",
    points=[dict(n=8, sigma=1.0, x=0.3)]))


@lru_cache(maxsize=None)
def derivation_entropy_lower_concentration():
    mean = MeanEntropy(S.n, S.sigma)
    return B.gaussian_concentration(lipschitz_entropy(), x, event=P(stat.entropy <= mean - x), f=r"-H(p)",
                                    assumptions=[S.n >= 2])


register(Claim.from_derivation(
    derivation_entropy_lower_concentration(), "bounds.entropy_lower_concentration", model=MODEL,
    statement=r"$\mathbb{P}(H \le \mathbb{E} H - x) \le \exp(-x^2/(2\sigma^2 \max(\ln n, 2/e)^2))$: TIS for "
              r"$-H$, which has the Lipschitz constant of $H$ (bounds.entropy_concentration).",
    provenance="reconstructed", source="Tsirelson-Ibragimov-Sudakov 1976 + the derived Lipschitz constant",
    points=[dict(n=8, sigma=2.0, x=1.0)]))


# ---------------------------------------------------------------------- n^C-sparsity with high probability
C = sp.Symbol("C", positive=True)
zc, wc = sp.Symbol("z", real=True), sp.Symbol("w", real=True)  # standardised thresholds: counts, Z's floor
_j = sp.Symbol("j", integer=True, nonnegative=True)


def _binomial_sum(q, lo, hi):
    return sp.Sum(sp.binomial(S.n, _j) * q**_j * (1 - q)**(S.n - _j), (_j, lo, hi))


@lru_cache(maxsize=None)
def derivation_sparsity_tail():
    from ..derivation import Derivation

    k = sp.ceiling(S.n**C)
    qz, qw = Phibar(zc), Phibar(wc)
    mz, mw = S.n * qz, S.n * qw
    D = Derivation(r"$\mathbb{P}(\tau(\lceil n^C \rceil) > \varepsilon)$ by counts above thresholds",
                   assumptions=[C < 1, S.eps < 1])
    D.domain(C, 0.05, 0.95).domain(S.eps, 0.05, 0.95)
    D.step(P(stat.tail_mass(k) > S.eps), "definition")
    p1, p2 = sp.Symbol(r"\mathbb{P}(N_z \geq k + 1)"), sp.Symbol(r"\mathbb{P}(N_w < \mu_w / 2)")
    p3 = sp.Symbol(r"\mathbb{P}(A_z \geq \varepsilon \mu_w e^{\sigma w} / 2)")
    EA = sp.Symbol(r"\mathbb{E} A_z")
    D.define(p1, _binomial_sum(qz, k + 1, S.n))  # N_z = #{j : s_j > sigma z} ~ Bin(n, Phibar(z))
    D.define(p2, _binomial_sum(qw, 0, sp.ceiling(mw / 2) - 1))
    D.define(EA, S.n * derive_truncated_exp_moment(zc))  # SymPy's integral of e^{sigma u} phi(u) over u <= z
    D.step(p1 + p2 + p3, r"with $k = \lceil n^C \rceil$: if $N_z \le k$ the top $k$ hold every $s_j > \sigma z$, so "
           r"$\tau(k) \le A_z/Z$, $A_z = \sum_j e^{s_j} 1\{s_j \le \sigma z\}$; if $N_w \ge \mu_w/2$ then "
           rf"$Z \ge \mu_w e^{{\sigma w}}/2$ ($\mu_w = n \bar\Phi(w)$); then the union bound ({B.SOURCES['union']})",
           rel="<=")
    D.step(p1 + p2 + 2 * EA / (S.eps * mw * sp.exp(S.sigma * wc)), f"Markov on $A_z \\ge 0$ ({B.SOURCES['Markov']})",
           rel="<=")
    third = 2 * S.n * sp.exp(S.sigma**2 / 2) * Phi(zc - S.sigma) / (S.eps * mw * sp.exp(S.sigma * wc))
    D.step(p1 + p2 + third, r"$\mathbb{E} A_z = n \int_{-\infty}^{z} e^{\sigma u} \varphi(u)\, du = n e^{\sigma^2/2} "
           r"\Phi(z - \sigma)$ (the integral by SymPy)")
    a, mu = sp.Symbol("a", positive=True), sp.Symbol("mu", positive=True)
    upper = B.chernoff(sp.exp(mu * (sp.exp(t) - 1)), t, a, Y=sp.Symbol("N", nonnegative=True))
    first = upper.result.subs({a: k + 1, mu: mz})
    D.step(first + p2 + third, r"Chernoff on $N_z \sim \mathrm{Bin}(n, \bar\Phi(z))$, whose MGF is at most "
           r"$e^{\mu (e^t - 1)}$ ($1 + x \le e^x$), optimised by bounds.chernoff", rel="<=")
    D.step(first + sp.exp(-mw / 8) + third, r"the lower Chernoff bound $\mathbb{P}(N \le \mu/2) \le e^{-\mu/8}$ for "
           r"$N_w \sim \mathrm{Bin}(n, \bar\Phi(w))$", rel="<=")
    return D


register(Claim.from_derivation(
    derivation_sparsity_tail(), "bounds.sparsity_tail", model=MODEL,
    statement=r"$\mathbb{P}(\tau(\lceil n^C \rceil) > \varepsilon) \le (e\mu_z/(k+1))^{k+1} e^{-\mu_z} + "
              r"e^{-\mu_w/8} + 2 e^{\sigma^2/2 - \sigma w} \Phi(z - \sigma)/(\varepsilon \bar\Phi(w))$ for every "
              r"$z, w$ ($k = \lceil n^C \rceil$, $\mu_z = n\bar\Phi(z)$, $\mu_w = n\bar\Phi(w)$; the first term is 1 "
              r"when $k + 1 \le \mu_z$). At $\sigma^2 = 2\gamma \ln n$, $z = \sqrt{2(1 - C)\ln n}$ the last term is "
              r"$n^{-(\sqrt\gamma - \sqrt{1 - C})^2}$ up to powers of $\ln n$ (Thm 6.1's rate, not checked here).",
    provenance="reconstructed", source="counts above thresholds + Markov + binomial Chernoff + Boole",
    points=[dict(n=1024, sigma=3.33, epsilon=0.5, C=0.8, z=0.8, w=1.95)]))
