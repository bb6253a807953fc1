r"""The bilinear model (E8): the chi-square mixture over ``tau`` of the IID functional (float64).

Given ``q`` the bilinear logits are iid ``N(0, tau^2)`` with ``tau^2 = sigma^2 chi2_d/d``
(docs/theory.md, section 2), so a bilinear row functional is ``E g(tau)`` with ``g`` the IID functional
of :mod:`._float`. See :func:`_bilinear` for the rule (the trapezoidal rule in the normal score of
the chi-square variable, :func:`~attnsparse.numeric.quadrature.normal_trapezoid`).
"""

from __future__ import annotations

import math

import numpy as np

from ..quadrature import normal_trapezoid
from ._float import _entropy_f64, _log_partition_f64, _moment_f64, _topk

_IID_FUNCTIONALS = {
    "ipr": lambda be, lev, n, s: _moment_f64(be, lev, n, s, 2),
    "log_partition": _log_partition_f64,
    "entropy": _entropy_f64,
    "max_weight": lambda be, lev, n, s: _topk(be, lev, n, s, 1),
}


#: outer trapezoidal step in ``z`` of the chi-square mixture (E8) at quadrature level 2, halved
#: per level: at d = 16 level 3 (``h = 3/4``) errs by ~1e-9, so level 4 (``h = 3/8``, ~50 nodes)
#: passes the level test for 12 digits with margin (``h = 1`` errs by up to 2e-7: it would not)
_MIX_STEP = 1.5
#: inner tanh-sinh levels of :func:`_bilinear` up to level 4 (each + (level - 4) beyond):
#: (heavy nodes, light nodes, the relative error of a light-node value the node classes assume).
#: Measured at n = 2^10 .. 2^20, tau in [0.3, 2.2] beta_c: E1 at level 3.5 <= 3e-15, at 3 <= 2e-11;
#: E4 at 4 <= 4e-13, at 3.5 <= 1e-8. E2/E3 converge more slowly at small n and large tau (5e-9 ..
#: 4e-6 at level 3.5, n = 32): there the shifted rule disagrees and the level is raised.
_INNER_LEVELS = {"ipr": (3.5, 3, 1e-10), "log_partition": (3.5, 3, 1e-10), "entropy": (3.5, 3, 1e-10),
                 "max_weight": (4, 3.5, 1e-8)}

# (bound, floor) of each mixed functional g(tau): |g| <= bound(n, tau) and E g >= floor(n)
_IID_BOUNDS = {
    "ipr": (lambda n, tau: 1.0 + 0 * tau, lambda n: 1.0 / n),  # 1/n <= sum p^2 <= 1
    "max_weight": (lambda n, tau: 1.0 + 0 * tau, lambda n: 1.0 / n),
    # Jensen: ln n <= E ln Z <= ln E Z = ln n + tau^2/2
    "log_partition": (lambda n, tau: math.log(n) + tau * tau / 2, lambda n: math.log(n)),
    "entropy": (lambda n, tau: math.log(n) + 0 * tau, lambda n: 1e-12),  # H <= ln n; no useful floor
}


def _chi2_quantile(d, z):
    """``r`` with ``P(chi2_d <= r) = Phi(z)``, from the smaller tail, polished by one Newton step."""
    from scipy import special as sp

    a, z = d / 2, np.asarray(z, dtype=float)
    lower = z < 0
    p = sp.ndtr(-np.abs(z))  # the smaller tail probability, no cancellation
    y = np.where(lower, sp.gammaincinv(a, p), sp.gammainccinv(a, p))
    resid = np.where(lower, sp.gammainc(a, y) - p, p - sp.gammaincc(a, y))  # increasing in y
    with np.errstate(divide="ignore", under="ignore"):
        dens = np.exp((a - 1) * np.log(y) - y - sp.gammaln(a))
    y = np.where(dens > 0, y - resid / np.where(dens > 0, dens, 1.0), y)
    return 2 * y


def _bilinear(be, level, what, n, d, sigma, dps=12, cache=None):
    """Chi-square mixture (docs/theory.md, section 2), ``tau^2 = sigma^2 chi2_d/d`` (float routes).

    The chi-square variable is written ``r = F^{-1}(Phi(z))`` (``F`` the chi2_d law), so the
    mixture is ``int phi(z) g(sigma sqrt(r(z)/d)) dz`` with ``z`` standard normal: a Gaussian
    weight times a smooth function of ``z``. Quadrature is the trapezoidal rule in ``z`` with
    step ``h = 1.5 * 2^(2 - level)``: for an integrand analytic in a strip ``|Im z| < a`` and Gaussian
    in ``z`` its error is ``~ e^{-2 pi a/h}``, so halving ``h`` squares the error (the premise of
    :func:`_confirmed`'s ``100 delta^2 <= tol`` test) and the nodes of a level are a subset of
    the next level's. A shifted level ``(level, 1/3)`` moves the z-nodes by ``h/3`` and uses
    shifted inner grids: an independent rule.

    * Nodes are taken by decreasing ``weight * bound(g)`` (``_IID_BOUNDS``); every ``g`` here is
      ``>= 0``, so the running sum ``S`` bounds the value from below, and the remaining nodes are
      dropped once the sum of their ``weight * bound`` is below ``10^-(dps+3) max(S, floor)``.
    * Inner levels (``_INNER_LEVELS``): ``g`` is evaluated by the IID route at the heavy level
      (E1: 3.5, step ``2^-3.5``, relative error <= 3e-15 measured, 2.5x cheaper than level 4), or
      at the light level where ``phi(z) bound(g)`` is below ``10^-dps max(S, floor) / (err * 100)``
      (their error is negligible there); both grow by ``level - 4`` beyond level 4.
      The inner error is not seen by the level test (the inner levels stay fixed up to level 4);
      it is seen by the shifted rule, whose inner grids are shifted too.
      The inner levels do not change from level 2 to 4, so the values are cached across the
      levels of one confirmation (``cache``, keyed by node and inner level): a confirmed value
      costs one evaluation per node of the finest level plus one per shifted node.
    """
    f = _IID_FUNCTIONALS[what]
    bound, floor = _IID_BOUNDS[what]
    lev, shift = level if isinstance(level, tuple) else (level, 0.0)
    heavy, light_lev, light_err = _INNER_LEVELS[what]
    heavy, light_lev = heavy + max(0, lev - 4), light_lev + max(0, lev - 4)
    h = _MIX_STEP * 2.0 ** (2 - lev)
    z, wz = normal_trapezoid(h, shift, 37.0)  # Phi(-37) ~ 6e-300: the widest z-range float64 maps to r
    tau = float(sigma) * np.sqrt(_chi2_quantile(d, z) / d)
    wb = wz * bound(n, tau)
    # nodes by decreasing weight * bound; g >= 0, so the running sum S is a lower bound of the
    # value (up to the quadrature error) and the rest is dropped once its bound is below
    # 10^-(dps+3) max(S, floor)
    order = np.argsort(wb)[::-1]
    rest = np.cumsum(wb[order][::-1])[::-1]  # rest[i] = sum of wb over order[i:]
    cache = {} if cache is None else cache
    total, S = be.num(0), 0.0
    for i, j in enumerate(order):
        if rest[i] <= 10.0 ** -(dps + 3) * max(S, floor(n)):
            break
        light = wb[j] / h * light_err * 100 < 10.0 ** -dps * max(S, floor(n))  # phi(z) bound(g)
        ilev = light_lev if light else heavy
        ilev = (ilev, shift) if shift else ilev
        key = (be.kind, float(z[j]), ilev)
        if key not in cache:
            cache[key] = f(be, ilev, n, float(tau[j]))
        total = total + be.num(wz[j]) * cache[key]
        S += float(wz[j] * cache[key])
    return total
