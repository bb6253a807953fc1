"""Private interval-arithmetic contexts: enclosures without touching global precision.

``mpmath.iv`` is one global context, and its precision has no ``workprec``: code that sets
``mp.iv.prec`` changes it for every other caller. :func:`interval_context` gives each
caller its own :class:`mpmath.ctx_iv.MPIntervalContext` at the precision it asks for, so
no global state is read or written. :func:`monotone` turns a monotone mpmath function
without an interval version into one, for such a context.

>>> ctx = interval_context(100)
>>> x = ctx.exp(ctx.mpf([0, 1]))
>>> bool(x.a <= 1 and x.b >= 2.718281828)
True
"""

from __future__ import annotations

import mpmath as mp
from mpmath.ctx_iv import MPIntervalContext

__all__ = ["interval_context", "monotone", "endpoints"]


def interval_context(prec):
    """A new interval context at ``prec`` bits, private to the caller.

    Parameters
    ----------
    prec : int
        Working precision in bits (at least 2).

    Returns
    -------
    mpmath.ctx_iv.MPIntervalContext
        A context of its own: setting its ``prec`` affects nothing else.
    """
    if not isinstance(prec, int) or isinstance(prec, bool) or prec < 2:
        raise ValueError(f"prec must be an integer >= 2 (bits), got {prec!r}")
    ctx = MPIntervalContext()
    ctx.prec = prec
    return ctx


def endpoints(x):
    """The endpoints of the interval ``x`` as two mpmath reals ``(lo, hi)``."""
    return mp.make_mpf(x._mpi_[0]), mp.make_mpf(x._mpi_[1])


def monotone(ctx, f, increasing):
    """An interval version, in ``ctx``, of the monotone mpmath function ``f``.

    ``f`` is evaluated at the endpoints at ``ctx.prec + 30`` bits (``mp.workprec``, restored
    on exit), and the result is widened by a relative and an absolute ``2**-ctx.prec``, so
    the returned interval encloses ``f`` of every point of the argument.
    """
    def g(x):
        x = ctx.mpf(x)
        with mp.workprec(ctx.prec + 30):
            lo, hi = endpoints(x)
            fl, fh = (f(lo), f(hi)) if increasing else (f(hi), f(lo))
            widen = mp.mpf(2) ** (-ctx.prec)
            fl, fh = fl - abs(fl) * widen - widen**2, fh + abs(fh) * widen + widen**2
        return ctx.mpf([fl, fh])

    return g
