"""Interval branch-and-bound for the inequality steps of :mod:`.stepcheck`.

:func:`interval_sign` bisects a box until an enclosure (a private mpmath interval context)
of the gap ``right - left`` has one sign on every sub-box, within a piece and time budget;
:func:`compact_sign` does so for a gap written over a compactified domain, by its numerator
over a denominator of proved sign. Every number of the gap enters as an enclosure.
"""

from __future__ import annotations

import time

import mpmath as mp
import numpy as np
import sympy as sp

from ..numeric.config import BOX_PIECES
from ..numeric.intervals import endpoints, interval_context, monotone
from .guards import NotDerived, bounded

__all__ = ["interval_sign", "compact_sign"]


# ---------------------------------------------------------------------- interval arithmetic
_IV_FUNCTIONS = {"exp", "log", "sin", "cos", "gamma", "loggamma", "erf", "erfc", "Phi", "Phibar", "Abs"}


def _iv_namespace(iv):
    """Names for ``lambdify`` in the interval context ``iv``."""
    return {"mpf": iv.mpf, "exp": iv.exp, "log": iv.log, "sqrt": iv.sqrt, "sin": iv.sin, "cos": iv.cos,
            "pi": iv.pi, "e": iv.e, "E": iv.e, "gamma": iv.gamma, "loggamma": iv.loggamma, "fabs": abs,
            "erf": monotone(iv, mp.erf, True), "erfc": monotone(iv, mp.erfc, False),
            "Phi": monotone(iv, mp.ncdf, True), "Phibar": monotone(iv, lambda x: mp.ncdf(-x), False)}


def _iv_function(expr, syms, iv):
    """``expr`` as a function of interval arguments: every number in it enters as an enclosure.

    ``lambdify`` prints a Rational ``1/3`` as a float division; here each non-integer number
    becomes an extra argument: ``iv.mpf(p) / iv.mpf(q)``, or a Float's exact binary value.
    """
    consts = {c: sp.Dummy() for c in expr.atoms(sp.Rational, sp.Float) if not c.is_Integer}
    f = sp.lambdify(list(syms) + list(consts.values()), expr.xreplace(consts), modules=[_iv_namespace(iv)])
    vals = [iv.mpf(c.p) / iv.mpf(c.q) if c.is_Rational else iv.mpf(mp.make_mpf(c._mpf_)) for c in consts]
    return lambda *args: f(*args, *vals)


def _outward(lo, hi, prec):
    """Binary endpoints enclosing the (sympy or float) range ``[lo, hi]``; an irrational end
    (``sqrt(2)``) is taken at 40 digits and widened outward by ``1e-35`` relative."""
    def exact(v, side):
        v = sp.sympify(v)
        if v.is_Rational or v.is_Float:
            return sp.Rational(v)
        q = sp.Rational(sp.N(v, 40))
        return q + side * (abs(q) + 1) * sp.Rational(1, 10**35)

    lo, hi = exact(lo, -1), exact(hi, 1)
    with mp.workprec(prec):
        return mp.fdiv(lo.p, lo.q, rounding="f"), mp.fdiv(hi.p, hi.q, rounding="c")


def compact_sign(g, box, strict, dps, deadline, seconds):
    """The sign of ``g`` on a compactified ``box`` by its numerator over a denominator of
    proved constant sign (``together``, ``factor``; each odd power of a denominator factor is
    signed by interval arithmetic: it is nonzero wherever ``g`` is defined)."""
    try:
        with bounded(seconds, what="compactifying an inequality step"):
            num, den = sp.fraction(sp.together(g))
            num, (coeff, factors) = sp.factor(num), sp.factor_list(den)
    except (NotDerived, sp.PolynomialError):
        return "open", "not available (the compactified gap could not be put over one denominator)"
    sign = 1 if coeff > 0 else -1
    for fac, k in factors:
        if time.monotonic() > deadline:
            return "open", "not proved (time budget spent on the denominator)"
        if k % 2 and fac.free_symbols:
            side = [sg for sg in (1, -1) if interval_sign(sg * fac, box, False, dps, 16, deadline)[0] == "proved"]
            if not side:
                return "open", f"not proved (the sign of the denominator factor {fac} is undecided)"
            sign *= side[0]
    return interval_sign(sign * num, box, strict, dps, deadline=deadline)


def interval_sign(gap, box, strict, dps, pieces=BOX_PIECES, deadline=None):
    """Decide the sign of ``gap`` on ``box`` by enclosures with bisection.

    Returns ``("proved", text)``, ``("false", point)`` (a sub-box where the relation fails
    everywhere, given by its midpoint), or ``("open", text)``. At most ``pieces`` sub-boxes
    are examined, and none after the ``time.monotonic()`` ``deadline``.
    """
    names = {type(f).__name__ for f in gap.atoms(sp.Function)}
    unsupported = sorted(names - _IV_FUNCTIONS)
    if unsupported or gap.has(sp.Integral):
        what = ", ".join(unsupported) or "Integral"
        return "open", f"not available ({what} has no interval version here)"
    syms = sorted(box, key=lambda s: s.name)
    prec = int(dps * 3.33) + 10
    iv = interval_context(prec)  # a private context: no global precision is touched
    f = _iv_function(gap, syms, iv)
    queue, proved, examined, open_pieces = [[_outward(*box[s], prec) for s in syms]], 0, 0, 0
    while queue:
        piece = queue.pop()
        examined += 1
        try:
            enc = f(*[iv.mpf([lo, hi]) for lo, hi in piece])
            enc = iv.mpf(enc)
            lo_e, hi_e = endpoints(enc)
        except (TypeError, ValueError, ZeroDivisionError, ArithmeticError, AttributeError):  # complex: ivmpc
            return "open", "not available (the enclosure could not be computed)"
        if lo_e > 0 or (lo_e >= 0 and not strict):
            proved += 1
            continue
        if hi_e < 0 or (hi_e <= 0 and strict):
            return "false", {s: (mp.mpf(lo) + mp.mpf(hi)) / 2 for s, (lo, hi) in zip(syms, piece)}
        late = deadline is not None and time.monotonic() > deadline
        if late or examined + len(queue) >= pieces:
            open_pieces += 1
            continue
        widths = [float(hi) - float(lo) for lo, hi in piece]
        i = int(np.argmax(widths))
        if widths[i] == 0:
            open_pieces += 1
            continue
        lo, hi = piece[i]
        mid = (mp.mpf(lo) + mp.mpf(hi)) / 2
        queue.append(piece[:i] + [(lo, mid)] + piece[i + 1:])
        queue.append(piece[:i] + [(mid, hi)] + piece[i + 1:])
    if open_pieces:
        return "open", f"not proved ({open_pieces} of {proved + open_pieces} sub-boxes undecided)"
    return "proved", f"proved on {proved} sub-box(es)"
