"""Laws of one bilinear logit ``s = <q, k>/sqrt(d)`` (docs/theory.md, section 2).

Every right-hand side is derived here by SymPy from two lemmas, the Gaussian MGF and the
chi-square MGF, by conditioning on the query: given ``q``, ``s ~ N(0, c^2 C)`` with
``c = sigma_q sigma_k / sqrt(d)`` and ``C = |q|^2 / sigma_q^2 ~ chi2_d``.
"""

from __future__ import annotations

from functools import lru_cache

import mpmath as mp
import numpy as np
import sympy as sp

from ...numeric.models import BilinearQK, IIDLogits
from ...numeric.statistics import E, P, Var, stat
from .. import symbols as S
from ..claim import Claim, register
from ..derivation import Derivation
from ..guards import bounded, closed_form
from ..lemmas import derive_chi2_mgf, derive_gaussian_mgf
from ..tables import error_table

tau = sp.Symbol("tau", positive=True)
c = sp.Symbol("c", positive=True)
nu = sp.Symbol("nu", positive=True)
y = sp.Symbol("y", positive=True)
C_SCALE = S.sigma_q * S.sigma_k / sp.sqrt(S.d)  # c in docs/theory.md, section 2


def exp_t_s0(s, a):
    """``exp(t s_0)`` with ``t = a[0]``: the MGF integrand (numba-compilable)."""
    return np.exp(a[0] * s[0])


def s0_pow4(s):
    """``s_0^4``."""
    return s[0] ** 4


def _chi2_pdf(r):
    """Density of chi2_d at ``r``: the law of ``C = |q|^2 / sigma_q^2``."""
    return r ** (S.d / 2 - 1) * sp.exp(-r / 2) / (2 ** (S.d / 2) * sp.gamma(S.d / 2))


@lru_cache(maxsize=None)
def derivation_bilinear_mgf():
    D = Derivation(r"MGF of one bilinear logit, by conditioning on the query",
                   assumptions=[sp.Abs(S.t) < sp.sqrt(S.d) / (S.sigma_q * S.sigma_k)])
    D.step(sp.Symbol(r"\mathbb{E}[e^{t s}]"), "definition")
    cond = derive_gaussian_mgf().subs({S.mu: 0, S.sigma: tau})
    D.step(sp.Integral(cond.subs(tau, C_SCALE * sp.sqrt(S.r)) * _chi2_pdf(S.r), (S.r, 0, sp.oo)),
           r"given $q$, $s \sim \mathcal{N}(0, \tau^2)$ with $\tau^2 = c^2 C$ and "
           r"$C = \|q\|^2/\sigma_q^2 \sim \chi^2_d$: Gaussian MGF lemma")
    lam = sp.simplify(sp.log(cond.subs(tau, C_SCALE * sp.sqrt(S.r))).expand(force=True) / S.r)
    D.step(sp.Integral(sp.exp(lam * S.r) * _chi2_pdf(S.r), (S.r, 0, sp.oo)),
           r"algebra: the exponent is $\lambda C$ with $\lambda = t^2 \sigma_q^2 \sigma_k^2 / (2 d)$")
    out = derive_chi2_mgf().subs(S.lam, lam)
    D.step(out, r"chi-square MGF lemma, valid for $2 \lambda < 1$, that is $|t| < \sqrt{d}/(\sigma_q \sigma_k)$")
    return D


def _derivation_moment(order):
    """E[s^order] from the MGF: the order-th derivative at t = 0."""
    mgf = derivation_bilinear_mgf().result
    D = Derivation(f"moment of order {order} of one bilinear logit")
    moment = D.step(sp.Symbol(r"\mathbb{E}[s^{%d}]" % order), "definition")
    gaussian_moment = sp.factorial2(order - 1) if order % 2 == 0 else 0
    # its meaning by conditioning on q (not through the MGF): E s^k = E_C[(c^2 C)^{k/2}] E X^k
    D.define(moment, sp.Integral((C_SCALE**2 * S.r) ** sp.Rational(order, 2) * gaussian_moment * _chi2_pdf(S.r),
                                 (S.r, 0, sp.oo)))
    D.step(sp.Derivative(mgf, (S.t, order)).subs(S.t, 0), "moments are derivatives of the MGF at 0")
    with bounded(what=f"moment {order}"):
        out = sp.factor(sp.simplify(sp.diff(mgf, S.t, order).subs(S.t, 0)))
    D.step(closed_form(out, f"moment {order}"), r"differentiate and set $t = 0$")
    return D


@lru_cache(maxsize=None)
def derivation_bilinear_variance():
    return _derivation_moment(2)


@lru_cache(maxsize=None)
def derivation_bilinear_fourth_moment():
    return _derivation_moment(4)


@lru_cache(maxsize=None)
def derivation_bilinear_density_positive():
    """Density of ``s`` at ``x > 0``: the chi-square mixture of centred Gaussians."""
    xp = sp.Symbol("x", positive=True)
    D = Derivation(r"density of one bilinear logit at $x > 0$")
    chi_pdf = S.r ** (S.d / 2 - 1) * sp.exp(-S.r / 2) / (2 ** (S.d / 2) * sp.gamma(S.d / 2))
    normal = sp.exp(-xp**2 / (2 * c**2 * S.r)) / sp.sqrt(2 * sp.pi * c**2 * S.r)
    mix = sp.Integral(normal * chi_pdf, (S.r, 0, sp.oo))
    D.step(mix, r"given $C = r$, $s \sim \mathcal{N}(0, c^2 r)$; $C \sim \chi^2_d$")
    integrand = (normal * chi_pdf).subs(S.d, 2 * nu + 1)
    with bounded(what="chi-square mixture integral"):
        raw = sp.integrate(integrand, (S.r, 0, sp.oo), conds="none")
    D.step(closed_form(raw, "mixture integral"), r"integrate over $r$, with $\nu = (d-1)/2$")

    def to_k(order, arg):  # I_{-nu} = I_nu + (2/pi) sin(nu pi) K_nu  (DLMF 10.27.4)
        if order.could_extract_minus_sign():
            return sp.besseli(-order, arg) + 2 * sp.sin(-sp.pi * order) * sp.besselk(-order, arg) / sp.pi
        return sp.besseli(order, arg)

    with bounded(what="Bessel K recognition"):
        k_form = sp.simplify(sp.gammasimp(raw.replace(sp.besseli, to_k)))
    D.step(k_form, r"$K_\nu = \pi (I_{-\nu} - I_\nu) / (2 \sin \nu\pi)$ (DLMF 10.27.4)")
    out = sp.simplify(k_form.subs(nu, (S.d - 1) / 2))
    D.step(out, r"$\nu = (d-1)/2$")
    return D


def density_at(z):
    """The derived density of one bilinear logit at real ``z`` (even in z)."""
    xp = sp.Symbol("x", positive=True)
    return derivation_bilinear_density_positive().result.subs(xp, sp.Abs(z)).subs(c, C_SCALE)


@lru_cache(maxsize=None)
def derivation_bilinear_interval_probability():
    D = Derivation(r"probability that one bilinear logit falls in $(a, b]$")
    D.step(sp.Integral(sp.Function("f")(S.x), (S.x, S.a, S.b)), r"definition of the density $f$")
    D.step(sp.Integral(density_at(S.x), (S.x, S.a, S.b)),
           r"$f(x) = f(|x|)$: $s$ and $-s$ have the same law ($q \to -q$); derived density")
    return D


@lru_cache(maxsize=None)
def derivation_bilinear_tail():
    """Leading term of ``P(s > x)`` as ``x -> oo`` at fixed d."""
    xp = sp.Symbol("x", positive=True)
    D = Derivation(r"tail of one bilinear logit at fixed $d$")
    f = derivation_bilinear_density_positive().result
    D.step(sp.Integral(f.subs(xp, y), (y, xp, sp.oo)), "tail = integral of the density")
    lead = f.replace(sp.besselk, lambda o, arg: sp.sqrt(sp.pi / (2 * arg)) * sp.exp(-arg))
    lead = sp.simplify(lead.subs(xp, y))
    D.step(sp.Integral(lead, (y, xp, sp.oo)), r"$K_\nu(z) \sim \sqrt{\pi/(2z)}\, e^{-z}$ (DLMF 10.40.2)", rel="~")
    with bounded(what="tail integral"):
        tail = sp.simplify(sp.integrate(lead, (y, xp, sp.oo), conds="none").rewrite(sp.uppergamma))
    D.step(closed_form(tail, "tail integral"), "integrate: an upper incomplete gamma function", rel="~")
    asym = sp.simplify(tail.replace(sp.uppergamma, lambda s_, z_: z_ ** (s_ - 1) * sp.exp(-z_)))
    D.step(asym, r"$\Gamma(s, z) \sim z^{s-1} e^{-z}$ (DLMF 8.11.2)", rel="~")
    out = asym.subs(xp, S.x).subs(c, C_SCALE)
    D.step(out, r"$c = \sigma_q \sigma_k / \sqrt{d}$", rel="~")
    return D


def exact_tail(dps, **p):
    """``P(s_0 > x)`` from the chi-square mixture: ``E_C[Phibar(x / (c sqrt(C)))]``.

    Independent of the Bessel-K derivation, so it cross-checks it. The integrand in ``r``
    peaks near ``r = x/c``; the range is split around that point, and the Gaussian tail
    is computed with erfc (PITFALLS 5, 6).
    """
    from ...numeric.precision import quad_confirmed

    d_, x0 = int(p["d"]), mp.mpf(p["x"])
    with mp.workdps(dps + 10):
        cc = mp.mpf(p["sigma_q"]) * p["sigma_k"] / mp.sqrt(d_)
        norm = 2 ** (mp.mpf(d_) / 2) * mp.gamma(mp.mpf(d_) / 2)

        def f(r):
            return r ** (mp.mpf(d_) / 2 - 1) * mp.exp(-r / 2) / norm * mp.erfc(x0 / (cc * mp.sqrt(2 * r))) / 2

        peak = max(abs(x0) / cc, mp.mpf(1))
        # geometric splits: the integrand falls by many orders of magnitude across the peak
        return quad_confirmed(f, [0] + [peak * 2 ** (i / 4) for i in range(-16, 17)] + [mp.inf], dps)


BILINEAR = BilinearQK(n=2, d=S.d, sigma_q=S.sigma_q, sigma_k=S.sigma_k)
_UNIT = {"sigma_q": 1, "sigma_k": 1}

register(Claim(
    "logits.bilinear_mgf", model=BILINEAR,
    lhs=E(stat.logits(exp_t_s0, S.t, label=r"e^{t s_0}")), rel="==", rhs=derivation_bilinear_mgf,
    statement=r"The MGF of one bilinear logit is $(1 - \sigma_q^2 \sigma_k^2 t^2/d)^{-d/2}$ for "
              r"$|t| < \sqrt{d}/(\sigma_q \sigma_k)$.",
    provenance="standard", source="conditioning on q plus the chi-square MGF",
    assumptions=[sp.Abs(S.t) < sp.sqrt(S.d) / (S.sigma_q * S.sigma_k)],
    # the estimator has finite variance only for |t| < sqrt(d)/(2 sigma_q sigma_k)
    points=[dict(d=4, t=0.5, **_UNIT), dict(d=16, t=0.8, sigma_q=1.2, sigma_k=0.9)],
))

register(Claim(
    "logits.bilinear_variance", model=BILINEAR, lhs=Var(stat.logit(0)), rel="==",
    rhs=derivation_bilinear_variance,
    statement=r"One bilinear logit has variance $\sigma_q^2 \sigma_k^2$ for every $d$.",
    provenance="standard", source="second derivative of the MGF",
    points=[dict(d=2, **_UNIT), dict(d=8, sigma_q=1.5, sigma_k=0.7)],
))

register(Claim(
    "logits.bilinear_fourth_moment", model=BILINEAR,
    lhs=E(stat.logits(s0_pow4, label=r"s_0^4")), rel="==", rtol=0.05, rhs=derivation_bilinear_fourth_moment,
    statement=r"$\mathbb{E} s^4 = 3 (\sigma_q \sigma_k)^4 (1 + 2/d)$: the excess kurtosis of a bilinear logit is $6/d$ "
              r"(checked at 5% resolution: $s^4$ is heavy-tailed).",
    provenance="standard", source="fourth derivative of the MGF",
    points=[dict(d=4, **_UNIT), dict(d=32, sigma_q=1, sigma_k=1.3)],
))

register(Claim(
    "logits.bilinear_density", model=BILINEAR,
    lhs=P(stat.logit(0).between(S.a, S.b)), rel="==", rhs=derivation_bilinear_interval_probability,
    statement=r"One bilinear logit has density $|x|^\nu K_\nu(|x|/c) / (\sqrt{\pi}\, \Gamma(d/2)\, 2^\nu c^{\nu+1})$ "
              r"with $\nu = (d-1)/2$ and $c = \sigma_q \sigma_k / \sqrt{d}$.",
    provenance="standard", source="chi-square mixture of Gaussians; DLMF 10.27.4",
    assumptions=[S.a < S.b],
    points=[dict(d=1, a=-0.4, b=0.3, **_UNIT), dict(d=4, a=0.5, b=2.0, **_UNIT),
            dict(d=7, a=-3.0, b=-0.2, sigma_q=1.3, sigma_k=0.8)],
))

BILINEAR_TAIL = register(Claim(
    "logits.bilinear_tail", model=BILINEAR,
    lhs=P(stat.logit(0) > S.x), rel="approx", rtol=0.25, rhs=derivation_bilinear_tail,
    statement=r"At fixed $d$ the tail of a bilinear logit is exponential: "
              r"$\mathbb{P}(s > x) \sim (x/c)^{d/2-1} e^{-x/c} / (\Gamma(d/2)\, 2^{d/2})$; exact for $d = 2$, "
              r"within 25% for $d \le 3$ once $x/c \ge 3$.",
    provenance="standard", source="DLMF 10.40.2 and 8.11.2",
    assumptions=[S.x > 0], exact=exact_tail, details=lambda: _tail_details(),
    points=[dict(d=2, x=1.5, **_UNIT), dict(d=1, x=3.0, **_UNIT)],
))


def _tail_details():
    pts = [dict(d=d, x=x, **_UNIT) for d in (1, 4, 16) for x in (2.0, 4.0, 8.0)]
    return error_table(BILINEAR_TAIL, lambda **p: exact_tail(15, **p), pts)


register(Claim(
    "logits.conditional_reduction", model=BilinearQK(n=S.n, d=S.d, sigma_q=S.sigma, sigma_k=1),
    lhs=E(stat.ipr), rel="==", rhs=E(stat.ipr, model=IIDLogits(n=S.n, sigma=S.sigma, scale_dof=S.d)),
    statement=r"Given $q$ the bilinear logits of a row are iid $\mathcal{N}(0, \tau^2)$ with "
              r"$\tau^2 = \sigma^2 \chi^2_d / d$: every row functional equals the IID-logit one averaged over $\tau$.",
    provenance="standard", source="conditioning on q; exact for every finite n and d",
    points=[dict(n=64, d=4, sigma=1.0), dict(n=128, d=8, sigma=1.5)],
))
