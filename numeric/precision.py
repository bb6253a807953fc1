"""High-precision evaluation of theory expressions, confirmed at two precisions.

A theory value is computed twice, at ``dps`` and at ``dps + CONFIRM_EXTRA_DPS`` digits;
it is returned only if the two agree to ``dps - 3`` digits (PITFALLS 5, 7; the comparison is
:func:`~attnsparse.numeric.quadrature.confirm_pair`). Definite integrals left in an expression
are computed by :func:`~attnsparse.numeric.quadrature.quad_confirmed` (re-exported here), which
splits the range at the integrand's kink points and acts on mpmath's error estimate.
"""

from __future__ import annotations

import mpmath as mp
import sympy as sp

from .config import CONFIRM_EXTRA_DPS
from .quadrature import PrecisionError, confirm_pair, quad_confirmed

__all__ = ["eval_confirmed", "quad_confirmed", "PrecisionError"]


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
    return confirm_pair(v1, v2, dps, dps + CONFIRM_EXTRA_DPS)
