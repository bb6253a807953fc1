"""Array arithmetic at one working precision: float64 arrays or arrays of mpmath objects."""

from __future__ import annotations

import mpmath as mp
import numpy as np

_UFUNCS = ("exp", "log", "expm1", "log1p")


class _Backend:
    """Array arithmetic at one working precision: ``kind`` ``"f64"`` (float64) or ``"mp"``
    (object arrays of ``mpf`` in a private context at ``dps`` digits)."""

    def __init__(self, kind, dps=None):
        if kind not in ("f64", "mp"):
            raise ValueError(f"kind must be 'f64' or 'mp', got {kind!r}")
        self.kind, self.dps = kind, dps
        if kind == "mp":
            self.ctx = mp.mp.clone()
            self.ctx.dps = dps
            c = self.ctx
            self._u = {name: np.frompyfunc(getattr(c, name), 1, 1) for name in _UFUNCS}
            self.pi = c.pi
        else:
            self.pi = np.float64("3.14159265358979323846264338327950288")

    def num(self, x):
        """A scalar at this precision."""
        return self.ctx.mpf(x) if self.kind == "mp" else np.float64(x)

    def arr(self, x):
        """An array at this precision."""
        if self.kind == "mp":
            a = np.asarray(x, dtype=object)
            return np.frompyfunc(self.ctx.mpf, 1, 1)(a) if a.size else a
        return np.asarray(x, dtype=np.float64)

    def __getattr__(self, name):
        if name in _UFUNCS:
            return self._u[name] if self.kind == "mp" else getattr(np, name)
        raise AttributeError(name)

    def to_mpf(self, x):
        """``x`` as an ``mpf`` carrying every working digit."""
        if self.kind == "mp":  # keep every working digit (the global context may hold only 15)
            with mp.workprec(self.ctx.prec):
                return mp.mpf(x)
        return mp.mpf(float(x))


def _log_one_minus(be, m, one_minus_m):
    """``ln(1 - m)`` from whichever of ``m`` and ``1 - m`` (both given) is accurate."""
    small = np.asarray(m < 0.5, dtype=bool)
    safe_m = np.where(small, m, 0 * m)
    safe_l = np.where(small, 1 + 0 * m, np.maximum(one_minus_m, be.num(1e-300) + 0 * m))
    return np.where(small, be.log1p(-safe_m), be.log(safe_l))
