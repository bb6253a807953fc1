"""High-precision evaluation of theory expressions, confirmed at two precisions.

A theory value is computed twice, at ``dps`` and at ``dps + CONFIRM_EXTRA_DPS`` digits;
it is returned only if the two agree to ``dps - 3`` digits (PITFALLS 5, 7). Definite
integrals left in an expression are computed by :func:`quad_confirmed`, which splits the
range at the integrand's kink points and acts on mpmath's error estimate.
"""

from __future__ import annotations

import mpmath as mp
import sympy as sp

from .config import CONFIRM_EXTRA_DPS

__all__ = ["eval_confirmed", "quad_confirmed", "PrecisionError"]


class PrecisionError(ArithmeticError):
    """A value could not be confirmed to the requested precision."""


def quad_confirmed(f, points, dps):
    """``int f`` over the piecewise range ``points`` at ``dps`` digits, or raise.

    ``points`` must include every point where ``f`` has a kink or singularity and the
    location of its mass (PITFALLS 5): tanh-sinh handles endpoint singularities well but
    misses mass far from the nodes.
    """
    with mp.workdps(dps + 5):
        # mpmath stops on an absolute error estimate: rescale so the integrand is O(1)
        scale = _magnitude(f, points)
        val, err = mp.quad(lambda z: f(z) / scale, points, error=True, maxdegree=10)
        val, err = val * scale, err * scale
        # relative accuracy (tail probabilities may be tiny); an exact zero needs err < 10^-dps
        if not mp.isfinite(val) or err > mp.mpf(10) ** (-(dps - 2)) * (abs(val) or mp.mpf(10) ** (-2)):
            raise PrecisionError(f"quadrature error estimate {mp.nstr(err, 3)} too large for {dps} digits "
                                 f"(value {mp.nstr(val, 8)})")
        return val


def _magnitude(f, points):
    """The largest |f| seen at the finite split points and the midpoints between them (or 1)."""
    finite = [p for p in points if mp.isfinite(p)]
    probes = finite + [(a + b) / 2 for a, b in zip(finite[:-1], finite[1:])]
    probes += [finite[0] - 1] if points[0] == -mp.inf else []
    probes += [finite[-1] + 1] if points[-1] == mp.inf else []
    best = mp.mpf(0)
    for z in probes:
        try:
            v = abs(f(z))
        except (ZeroDivisionError, ValueError):
            continue
        if mp.isfinite(v) and v > best:
            best = v
    return best or mp.mpf(1)


def _integral(I, dps):
    (x, a, b), = I.limits
    f = sp.lambdify(x, I.function, modules="mpmath")
    with mp.workdps(dps + 5):
        lo, hi = (mp.mpmathify(sp.N(v, dps + 5)) if v.is_finite else (mp.inf if v > 0 else -mp.inf)
                  for v in (a, b))
        pts = [lo] + ([mp.mpf(0)] if lo < 0 < hi else []) + [hi]
        return sp.sympify(quad_confirmed(f, pts, dps))


def _eval(expr, values, dps):
    e = expr.subs(values)
    e = e.replace(lambda t: isinstance(t, sp.Integral), lambda t: _integral(t, dps))
    v = sp.N(e, dps)
    if v.free_symbols:
        raise ValueError(f"theory value still depends on {sorted(map(str, v.free_symbols))}")
    z = complex(v)
    if z.imag != 0 or v.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise ValueError(f"theory value is not a finite real number: {v}")
    with mp.workdps(dps):
        return mp.mpf(sp.re(v)._to_mpmath(mp.mp.prec))


def eval_confirmed(expr, values, dps=50):
    """Evaluate ``expr`` at ``values`` ({Symbol: number}) to ``dps`` confirmed digits."""
    if not isinstance(dps, int) or not 5 <= dps <= 10_000:
        raise ValueError(f"dps must be an integer in [5, 10000], got {dps!r}")
    v1 = _eval(expr, values, dps)
    v2 = _eval(expr, values, dps + CONFIRM_EXTRA_DPS)
    with mp.workdps(dps + CONFIRM_EXTRA_DPS):
        scale = max(abs(v2), mp.mpf(10) ** (-dps))
        if abs(v1 - v2) > mp.mpf(10) ** (-(dps - 3)) * scale:
            raise PrecisionError(f"value not confirmed: {mp.nstr(v1, 12)} at {dps} digits vs "
                                 f"{mp.nstr(v2, 12)} at {dps + CONFIRM_EXTRA_DPS}")
    with mp.workdps(dps):
        return +v2
