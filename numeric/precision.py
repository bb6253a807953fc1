"""High-precision evaluation of theory expressions, confirmed at two precisions.

A theory value is computed twice, at ``dps + 3`` and at ``dps + 3 + CONFIRM_EXTRA_DPS`` digits;
it is returned only if the two agree to ``dps`` digits (PITFALLS 5, 7; the comparison is
:func:`~attnsparse.numeric.quadrature.confirm_pair`), as a :class:`Confirmed` number that
knows its ``dps`` confirmed significant digits. Every ``eval_*`` of
:mod:`attnsparse.numeric.exact` returns a :class:`Confirmed` too. Definite integrals left in an expression
are computed by :func:`~attnsparse.numeric.quadrature.quad_confirmed` (re-exported here), which
splits the range at the integrand's kink points and acts on mpmath's error estimate.
"""

from __future__ import annotations

import mpmath as mp
import sympy as sp

from .config import CONFIRM_EXTRA_DPS
from .quadrature import PrecisionError, confirm_pair, quad_confirmed

__all__ = ["eval_confirmed", "quad_confirmed", "PrecisionError", "Confirmed", "confirmed_digits"]

#: digits of working precision beyond the requested ones (``confirm_pair`` may lose this many)
_GUARD_DPS = 3


class Confirmed(mp.mpf):
    """An mpmath number confirmed to ``digits`` significant digits.

    It is an ``mpf``: arithmetic, comparisons, ``float()`` and mpmath functions work as on any
    mpf, and their results are plain ``mpf`` (a derived value is not confirmed to anything).
    ``str()`` prints the confirmed digits only; ``.value`` is the plain ``mpf``.

    ``how`` says how the digits were obtained: ``"confirmed"`` (two evaluations that differ in
    rule and precision agree to ``digits``; see :func:`~attnsparse.numeric.quadrature.confirm_levels`)
    or ``"certified"`` (a rigorous enclosure, ball or interval arithmetic, is narrower than
    the last digit). :attr:`stamp` is the phrase reports print.
    """

    HOW = {"confirmed": "confirmed at two precisions", "certified": "certified (rigorous enclosure)"}

    def __new__(cls, value, digits, how="confirmed"):
        if isinstance(digits, bool) or not isinstance(digits, int) or digits < 1:
            raise ValueError(f"digits must be an integer >= 1, got {digits!r}")
        if how not in cls.HOW:
            raise ValueError(f"how must be one of {sorted(cls.HOW)}, got {how!r}")
        with mp.workdps(max(mp.mp.dps, digits + 5)):
            out = mp.mpf.__new__(cls, value)
        out.digits = digits
        out.how = how
        return out

    @property
    def stamp(self):
        """``"<digits> digits, confirmed at two precisions"`` or ``"... certified (...)"``."""
        return f"{self.digits} digits, {self.HOW[self.how]}"

    @property
    def value(self):
        """The number as a plain ``mpf`` (all its bits, whatever the working precision)."""
        out = mp.mpf.__new__(mp.mpf)
        out._mpf_ = self._mpf_
        return out

    def __str__(self):
        return mp.nstr(self.value, self.digits, strip_zeros=False)

    def __repr__(self):
        extra = "" if self.how == "confirmed" else f", how={self.how!r}"
        return f"Confirmed('{self}', digits={self.digits}{extra})"

    def __reduce__(self):
        return (Confirmed, (mp.nstr(self.value, self.digits + 5), self.digits, self.how))


def confirmed_digits(value, default=None):
    """The confirmed significant digits of ``value`` (a :class:`Confirmed`), else ``default``."""
    return value.digits if isinstance(value, Confirmed) else default


def _integral(integral, dps):
    (x, a, b), = integral.limits
    f = sp.lambdify(x, integral.function, modules="mpmath")
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
    """``expr`` at ``values`` ({Symbol: number}) as a :class:`Confirmed` of ``dps`` digits.

    The two evaluations run at ``dps + 3`` and ``dps + 3 + CONFIRM_EXTRA_DPS`` digits and
    must agree to ``dps`` significant digits, else :class:`PrecisionError`.
    """
    if isinstance(dps, bool) or not isinstance(dps, int) or not 5 <= dps <= 10_000:
        raise ValueError(f"dps must be an integer in [5, 10000], got {dps!r}")
    work = dps + _GUARD_DPS
    v1 = _eval(expr, values, work)
    v2 = _eval(expr, values, work + CONFIRM_EXTRA_DPS)
    v = confirm_pair(v1, v2, work, work + CONFIRM_EXTRA_DPS, lost=_GUARD_DPS)
    with mp.workdps(dps):
        return Confirmed(+v, dps)
