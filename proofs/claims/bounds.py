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

t, x = S.t, sp.Symbol("x", positive=True)
delta = _DELTA = sp.Symbol("delta", positive=True)
m = sp.Symbol("m", positive=True, integer=True)
MODEL = IIDLogits(n=S.n, sigma=S.sigma)
GAUSS_MGF = sp.exp(S.sigma**2 * t**2 / 2)


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
    statement="P(max_j s_j >= x) <= n exp(-x^2/(2 sigma^2)): Chernoff on one logit (SymPy optimises t) "
              "and a union bound; exactly 1 - Phi(x/sigma)^n.",
    provenance="standard", source="Chernoff 1952 + Boole",
    details=lambda: _ratio_table(_MAX_CH.result, _exact_max_tail,
                                 [dict(n=8, sigma=1, x=3), dict(n=64, sigma=1, x=4), dict(n=1024, sigma=2, x=10)]),
    points=[dict(n=8, sigma=1.0, x=2.5)]))

_MAX_MI = derivation_max_logit_mills()
register(Claim.from_derivation(
    _MAX_MI, "bounds.max_logit_mills", model=MODEL,
    statement="P(max_j s_j >= x) <= n sigma phi(x/sigma)/x: upper Mills ratio and a union bound.",
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
    statement="With probability >= 1 - delta, max_j s_j < sigma sqrt(2 ln(n/delta)) (the Chernoff-union bound "
              "solved for x).", provenance="standard", source="Chernoff 1952 + Boole, inverted",
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
    statement="P(s_1 >= x) >= (x/sigma)/(1 + x^2/sigma^2) phi(x/sigma): the lower Mills ratio.",
    provenance="standard", source="Gordon 1941", points=[dict(n=4, sigma=1.0, x=1.0)]))


@lru_cache(maxsize=None)
def derivation_weight_tail():
    from ..derivation import Derivation

    scale = S.sigma * sp.sqrt(1 - 1 / S.n)  # the sd of s_1 - mean(s)
    D = Derivation("P(p_1 > eps)", assumptions=[S.n * S.eps > 1, S.n >= 2])
    D.step(P(stat.weight(0) > S.eps), "definition")
    c = sp.Symbol(r"\mathbb{P}(s_1 - \bar s \geq \ln(n\epsilon))")
    D.step(c, "Z >= n e^{mean(s)} (AM-GM), so p_1 <= e^{s_1 - mean(s)}/n", rel="<=")
    D.define(c, Phibar(sp.log(S.n * S.eps) / scale))
    D.step(Phibar(sp.log(S.n * S.eps) / scale), "s_1 - mean(s) ~ N(0, sigma^2 (1 - 1/n))")
    v = sp.Symbol("v", positive=True)  # the chernoff of N(0, v^2), then v = scale
    one = B.chernoff(GAUSS_MGF.subs(S.sigma, v), t, x, exact=Phibar(x / v))
    D.step(one.result.subs({x: sp.log(S.n * S.eps), v: scale}),
           "Chernoff at x = ln(n eps) > 0, as derived by bounds.chernoff",
           rel="<=")
    return D


register(Claim.from_derivation(
    derivation_weight_tail(), "bounds.weight_tail", model=MODEL,
    statement="P(p_1 > eps) <= exp(-ln(n eps)^2/(2 sigma^2 (1 - 1/n))) for n eps > 1 (AM-GM on Z, then Chernoff).",
    provenance="reconstructed", source="AM-GM + Chernoff", points=[dict(n=8, sigma=1.0, epsilon=0.3)]))


@lru_cache(maxsize=None)
def derivation_max_weight_tail():
    return B.union(derivation_weight_tail(), S.n, event=P(stat.max_weight > S.eps))


register(Claim.from_derivation(
    derivation_max_weight_tail(), "bounds.max_weight_tail", model=MODEL,
    statement="P(max_j p_j > eps) <= n exp(-ln(n eps)^2/(2 sigma^2 (1 - 1/n))) (union over bounds.weight_tail).",
    provenance="reconstructed", source="AM-GM + Chernoff + Boole", points=[dict(n=8, sigma=0.5, epsilon=0.5)]))


@lru_cache(maxsize=None)
def derivation_count_tail():
    from ..derivation import Derivation

    one = derivation_weight_tail()
    D = Derivation("P(N_eps >= m)", assumptions=list(one.assumptions))
    D.step(P(stat.count_above(S.eps) >= m), "definition")
    D.step(sp.Symbol(r"\mathbb{E} N_\epsilon") / m, "Markov (N_eps >= 0)", rel="<=")
    D.step(S.n * B.functional_symbol(one.first) / m, "E N_eps = n P(p_1 > eps) (exchangeable keys)")
    return B.extend(D, one, S.n / m)


register(Claim.from_derivation(
    derivation_count_tail(), "bounds.count_tail", model=MODEL,
    statement="P(N_eps >= m) <= (n/m) exp(-ln(n eps)^2/(2 sigma^2 (1 - 1/n))) (Markov on N_eps).",
    provenance="reconstructed", source="Markov + bounds.weight_tail", points=[dict(n=8, sigma=0.5, epsilon=0.3, m=2)]))


@lru_cache(maxsize=None)
def derivation_tail_mass_floor():
    from ..derivation import Derivation

    U = derivation_max_weight_tail()
    D = Derivation("P(tau(k) <= 1 - k eps)", assumptions=list(U.assumptions))
    D.step(P(stat.tail_mass(S.k) <= 1 - S.k * S.eps), "definition")
    D.step(B.functional_symbol(U.first), "tau(k) = 1 - T(k) >= 1 - k max_j p_j (monotonicity)", rel="<=")
    return B.extend(D, U)


register(Claim.from_derivation(
    derivation_tail_mass_floor(), "bounds.tail_mass_floor", model=MODEL,
    statement="k entries leave error tau(k) > 1 - k eps unless max_j p_j > eps: P(tau(k) <= 1 - k eps) <= "
              "n exp(-ln(n eps)^2/(2 sigma^2 (1 - 1/n))) (behind 'o(log n) entries leave Omega(1) error').",
    provenance="reconstructed", source="T(k) <= k max p + bounds.max_weight_tail",
    points=[dict(n=8, sigma=0.5, epsilon=0.5, k=1)]))


@lru_cache(maxsize=None)
def derivation_log_partition_upper():
    from ..derivation import Derivation

    D = Derivation("P(log Z >= ln n + sigma^2/2 + x)", assumptions=[x > 0])
    D.step(P(stat.log_partition >= sp.log(S.n) + S.sigma**2 / 2 + x), "definition")
    D.step(sp.Symbol(r"\mathbb{P}(\log Z - \mathbb{E}\log Z \geq x)"),
           "E log Z <= ln E Z = ln n + sigma^2/2 (Jensen; E e^{s_j} = e^{sigma^2/2})", rel="<=")
    # log Z as a function of g = s/sigma has gradient sigma p, of norm sigma |p|_2 <= sigma |p|_1 = sigma
    return B.extend(D, B.gaussian_concentration(S.sigma, x))


register(Claim.from_derivation(
    derivation_log_partition_upper(), "bounds.log_partition_upper", model=MODEL,
    statement="P(log Z >= ln n + sigma^2/2 + x) <= exp(-x^2/(2 sigma^2)): log Z is sigma-Lipschitz (TIS) and "
              "E log Z <= ln E Z (Jensen).",
    provenance="standard", source="Tsirelson-Ibragimov-Sudakov 1976 + Jensen", points=[dict(n=8, sigma=1.0, x=1.0)]))


@lru_cache(maxsize=None)
def derivation_log_partition_lower():
    from ..derivation import Derivation

    D = Derivation("P(log Z <= ln n - x)", assumptions=[x > 0])
    D.step(P(stat.log_partition <= sp.log(S.n) - x), "definition")
    c = sp.Symbol(r"\mathbb{P}(\bar s \leq -x)")
    D.step(c, "log Z >= ln n + mean(s) (AM-GM)", rel="<=")
    D.define(c, Phibar(x * sp.sqrt(S.n) / S.sigma))
    one = B.chernoff(GAUSS_MGF.subs(S.sigma, S.sigma / sp.sqrt(S.n)), t, x,
                     exact=Phibar(x * sp.sqrt(S.n) / S.sigma))
    for s in one.steps[1:]:
        D.step(s.expr, s.why, rel=s.rel)
    return D


register(Claim.from_derivation(
    derivation_log_partition_lower(), "bounds.log_partition_lower", model=MODEL,
    statement="P(log Z <= ln n - x) <= exp(-n x^2/(2 sigma^2)) (AM-GM, then Chernoff on mean(s) ~ N(0, sigma^2/n)).",
    provenance="reconstructed", source="AM-GM + Chernoff", points=[dict(n=4, sigma=1.0, x=0.5)]))


@lru_cache(maxsize=None)
def derivation_partition_markov():
    EZ = S.n * sp.exp(S.sigma**2 / 2)
    return B.markov(EZ, x, event=P(stat.partition >= x))


register(Claim.from_derivation(
    derivation_partition_markov(), "bounds.partition_markov", model=MODEL,
    statement="P(Z >= x) <= n e^{sigma^2/2}/x (Markov, E Z = n e^{sigma^2/2}).",
    provenance="standard", source="Markov", points=[dict(n=8, sigma=1.0, x=20.0)]))


@lru_cache(maxsize=None)
def derivation_partition_cantelli():
    EZ = S.n * sp.exp(S.sigma**2 / 2)
    V = S.n * (sp.exp(2 * S.sigma**2) - sp.exp(S.sigma**2))
    return B.cantelli(V, x, event=P(stat.partition >= EZ + x))


register(Claim.from_derivation(
    derivation_partition_cantelli(), "bounds.partition_cantelli", model=MODEL,
    statement="P(Z >= n e^{sigma^2/2} + x) <= V/(V + x^2), V = n(e^{2 sigma^2} - e^{sigma^2}) (Cantelli).",
    provenance="standard", source="Cantelli", points=[dict(n=8, sigma=1.0, x=5.0)]))


@lru_cache(maxsize=None)
def derivation_tail_mass_rate():
    from ..derivation import Derivation

    floor = derivation_tail_mass_floor()
    e = 1 / sp.sqrt(S.n)
    D = Derivation("P(tau(k) <= 1 - k/sqrt(n))", assumptions=[S.n >= 2])
    D.step(P(stat.tail_mass(S.k) <= 1 - S.k / sp.sqrt(S.n)), "definition")
    D.meanings.update({c: v.subs(S.eps, e) for c, v in floor.meanings.items()})
    for s in floor.steps[1:]:
        D.step(s.expr.subs(S.eps, e), s.why + " at eps = 1/sqrt(n)", rel=s.rel)
    D.step(S.n * sp.exp(-sp.log(S.n)**2 / (8 * S.sigma**2 * (1 - 1 / S.n))), "algebra: ln(n eps) = ln(n)/2")
    return D


register(Claim.from_derivation(
    derivation_tail_mass_rate(), "bounds.tail_mass_rate", model=MODEL,
    statement="Keeping k entries leaves tau(k) > 1 - k/sqrt(n) except with probability <= "
              "n exp(-ln(n)^2/(8 sigma^2 (1 - 1/n))) = n^{1 - ln n/(8 sigma^2 (1 - 1/n))} -> 0 for fixed sigma: "
              "o(sqrt n) entries leave Omega(1) error.",
    provenance="reconstructed", source="bounds.tail_mass_floor at eps = n^{-1/2}",
    points=[dict(n=16, sigma=0.5, k=1)]))
