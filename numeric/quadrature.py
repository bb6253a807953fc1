r"""Quadrature: the one home for rules, node caches and confirmation at two precisions.

Rules on ``[-1, 1]`` (each cached by its parameters; cached float arrays are read-only):

* :func:`tanh_sinh` (float64, step ``h = 2^-level``, optionally shifted by ``shift h``),
  :func:`gauss_legendre` (float64), :func:`gauss_legendre_mp` (mpmath, any precision) and
  :func:`gauss_kronrod15` (the 7/15-point pair with its Gauss weights);
* :class:`Rule` carries one of them to pieces whose endpoints may be arrays (vectorised over
  many integrals at once): :class:`TanhSinh` and :class:`GaussLegendre`;
  :func:`gauss_legendre_pieces_mp` does the same for mpmath objects;
* :func:`normal_trapezoid`: the trapezoidal rule in a standard normal variable ``z`` (weights
  ``h phi(z)``).

Adaptive mpmath quadrature with split points (PITFALLS 5, 6), which acts on mpmath's error
estimate: :func:`quad_confirmed` (rescaled, relative accuracy) and :func:`quad_split`
(one finite or infinite range, split at 0).

Confirmation: :func:`confirm_levels` (two successive levels agree, then an independent rule at a
second precision agrees) and :func:`confirm_pair` (one value at two precisions). A value that is
not confirmed raises :class:`PrecisionError`; nothing unconfirmed is returned.
"""

from __future__ import annotations

import functools
import math

import mpmath as mp
import numpy as np

__all__ = ["PrecisionError", "tanh_sinh", "gauss_legendre", "gauss_legendre_mp", "gauss_kronrod15",
           "Rule", "TanhSinh", "GaussLegendre", "pieces", "gauss_legendre_pieces_mp", "normal_trapezoid",
           "quad_confirmed", "quad_split", "confirm_levels", "confirm_pair"]

#: pi in float64 (parsed from more digits than a double holds: the nearest double)
_PI = np.float64("3.14159265358979323846264338327950288")


class PrecisionError(ArithmeticError):
    """A value could not be confirmed to the requested precision."""


def _frozen(*arrays):
    for a in arrays:
        a.flags.writeable = False
    return arrays


# ----------------------------------------------------------------------------- rules on [-1, 1]
@functools.lru_cache(maxsize=64)
def tanh_sinh(level, shift=0.0):
    """Tanh-sinh nodes and weights on [-1, 1] (float64) at step ``h = 2^-level``.

    The nodes sit at ``tanh(pi/2 sinh((i + shift) h))``: ``shift != 0`` gives an independent
    trapezoidal grid of the same step (used to confirm a value). The range of ``i`` is cut
    where the weights fall below ``10^-20``.
    """
    h = 2.0 ** (-level)
    kmax = math.log(4 / math.pi * 20 * math.log(10))  # weights ~ exp(-pi/2 e^{kh}) < 10^-20
    m = int(math.ceil(kmax / h))
    kk = (np.arange(-m, m + 1).astype(np.float64) + np.float64(shift)) * np.float64(h)
    s = _PI / 2 * np.sinh(kk)
    x, w = np.tanh(s), np.float64(h) * _PI / 2 * np.cosh(kk) / np.cosh(s) ** 2
    keep = np.abs(x) < 1.0
    return _frozen(x[keep], w[keep])


@functools.lru_cache(maxsize=64)
def gauss_legendre(m):
    """``m``-point Gauss-Legendre nodes and weights on [-1, 1] (float64, ``numpy.polynomial``)."""
    return _frozen(*np.polynomial.legendre.leggauss(m))


@functools.lru_cache(maxsize=64)
def gauss_legendre_mp(m, dps):
    """``m``-point Gauss-Legendre nodes and weights on [-1, 1] to ``dps + 10`` digits (Newton
    iteration on the three-term recurrence), as two tuples of ``mpf``."""
    c = mp.mp.clone()
    c.dps = dps + 10
    tiny = c.mpf(10) ** (-(dps + 8))
    xs, ws = [], []
    for i in range(m):
        z = c.cos(c.pi * (i + c.mpf(0.75)) / (m + c.mpf(0.5)))
        for it in range(200):
            p0, p1 = c.one, z
            for j in range(2, m + 1):
                p0, p1 = p1, ((2 * j - 1) * z * p1 - (j - 1) * p0) / j
            dp = m * (z * p1 - p0) / (z * z - 1)
            dz = p1 / dp
            z -= dz
            if abs(dz) < tiny and it:
                break
        xs.append(z)
        ws.append(2 / ((1 - z * z) * dp * dp))
    return tuple(xs), tuple(ws)


_GK_X = np.array([0.991455371120813, 0.949107912342759, 0.864864423359769, 0.741531185599394,
                  0.586087235467691, 0.405845151377397, 0.207784955007898, 0.0])
_GK_WK = np.array([0.022935322010529, 0.063092092629979, 0.104790010322250, 0.140653259715525,
                   0.169004726639267, 0.190350578064785, 0.204432940075298, 0.209482141084728])
_GK_WG = np.array([0.129484966168870, 0.279705391489277, 0.381830050505119, 0.417959183673469])


@functools.lru_cache(maxsize=1)
def gauss_kronrod15():
    """``(x, wk, wg)``: the 15 Kronrod nodes on [-1, 1], their weights, and the weights of the
    embedded 7-point Gauss rule on the same nodes (0 at the Kronrod-only nodes)."""
    x = np.concatenate([-_GK_X[:-1], _GK_X[::-1]])
    wk = np.concatenate([_GK_WK[:-1], _GK_WK[::-1]])
    wg = np.zeros(15)
    wg[1::2] = np.concatenate([_GK_WG[:-1], _GK_WG[::-1]])
    return _frozen(x, wk, wg)


# ----------------------------------------------------------------------------- composite rules
def pieces(x, w, pts):
    """Nodes and weights of the rule ``(x, w)`` on the pieces between consecutive entries of ``pts``.

    ``pts`` is a sequence of arrays broadcastable to a common shape ``S``, sorted along the
    sequence. Returns ``(X, W)`` of shape ``S + (pieces * m,)``, piece by piece.
    """
    pts = [np.asarray(p) for p in pts]
    shape = np.broadcast_shapes(*[p.shape for p in pts])
    X, W = [], []
    for a, b in zip(pts[:-1], pts[1:]):
        a = np.broadcast_to(a, shape)[..., None]
        b = np.broadcast_to(b, shape)[..., None]
        half = (b - a) / 2
        X.append((a + b) / 2 + half * x)
        W.append(half * w)
    return np.concatenate(X, -1), np.concatenate(W, -1)


class Rule:
    """A rule on [-1, 1] carried to pieces with array endpoints (vectorised over many integrals)."""

    def __init__(self, x, w):
        self.x, self.w = x, w

    def nodes(self, pts):
        """``(X, W)`` on the pieces between consecutive entries of ``pts`` (see :func:`pieces`)."""
        return pieces(self.x, self.w, pts)

    @staticmethod
    def apply(f, W):
        """``sum W f`` along the last axis."""
        return np.sum(W * f, -1)


class TanhSinh(Rule):
    """Composite tanh-sinh at ``level`` (step ``2^-level``); ``level`` may be ``(level, shift)``."""

    def __init__(self, level):
        level, shift = level if isinstance(level, tuple) else (level, 0.0)
        super().__init__(*tanh_sinh(level, shift))


class GaussLegendre(Rule):
    """Composite ``m``-point Gauss-Legendre (float64)."""

    def __init__(self, m):
        super().__init__(*gauss_legendre(m))


def gauss_legendre_pieces_mp(ctx, pts, m, dps):
    """Composite ``m``-point Gauss-Legendre nodes and weights (1-d object arrays of ``ctx.mpf``)
    over consecutive ``pts``; the nodes on [-1, 1] come from :func:`gauss_legendre_mp` at ``dps``."""
    gx, gw = gauss_legendre_mp(m, dps)
    X, W = [], []
    for a, b in zip(pts[:-1], pts[1:]):
        a, b = ctx.mpf(a), ctx.mpf(b)
        half, mid = (b - a) / 2, (a + b) / 2
        X += [mid + half * x for x in gx]
        W += [half * w for w in gw]
    return np.array(X, dtype=object), np.array(W, dtype=object)


def normal_trapezoid(h, shift=0.0, zmax=37.0):
    """The trapezoidal rule in a standard normal variable: ``int phi(z) g(z) dz ~ sum w_i g(z_i)``.

    Nodes ``z = (i + shift) h`` with ``|z| <= zmax``, weights ``h phi(z)``. For ``g`` analytic in
    a strip ``|Im z| < a`` the error is ``~ e^{-2 pi a/h}``: halving ``h`` squares it, and the
    nodes of step ``h`` are a subset of those of ``h/2``. The default ``zmax = 37``
    (``Phi(-37) ~ 6e-300``) is the widest range whose tail probabilities float64 holds.
    """
    kmax = int(zmax / h)
    z = (np.arange(-kmax, kmax + 1) + shift) * h
    z = z[np.abs(z) <= zmax]
    return z, h * (np.exp(-z * z / 2) / math.sqrt(2 * math.pi))


# ----------------------------------------------------------------------------- adaptive (mpmath)
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


def quad_confirmed(f, points, dps):
    """``int f`` over the piecewise range ``points`` at ``dps`` digits, or raise.

    ``points`` must include every point where ``f`` has a kink or singularity and the
    location of its mass (PITFALLS 5): tanh-sinh handles endpoint singularities well but
    misses mass far from the nodes. The integrand is rescaled to O(1) (mpmath stops on an
    absolute error estimate), and the error estimate must be below ``10^-(dps-2)`` relative.
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


def quad_split(f, lo, hi, dps, guard=10):
    """``int_lo^hi f`` (mpmath tanh-sinh at ``dps + guard`` digits), split at 0 when the range
    straddles it; raise :class:`PrecisionError` (an ``ArithmeticError``) when the error estimate
    exceeds ``10^-dps max(|value|, 10^-dps)``. ``lo``, ``hi`` are ``mpf`` or ``+-mp.inf``."""
    with mp.workdps(dps + guard):
        pts = [lo] + ([mp.mpf(0)] if lo < 0 < hi else []) + [hi]
        val, err = mp.quad(f, pts, error=True, maxdegree=10)
        if not mp.isfinite(val) or err > mp.mpf(10) ** (-dps) * max(abs(val), mp.mpf(10) ** (-dps)):
            raise PrecisionError(f"quadrature error estimate {mp.nstr(err, 3)} too large for {dps} digits")
        return val


# ----------------------------------------------------------------------------- confirmation
def confirm_levels(compute, first, second, levels, dps, what):
    """``compute(ctx, level)`` confirmed to ``dps`` significant digits, or raise.

    ``first`` and ``second`` are arithmetic contexts with ``kind`` (a name) and ``to_mpf``.

    1. Convergence: the level (``levels``, increasing) is raised until two successive levels
       differ by ``delta`` with ``100 delta^2 <= tol`` (relative): for rules that converge
       quadratically (the digits double per level) ``delta``, the error of the coarser level,
       bounds the error of the finer one by about ``delta^2``.
    2. Confirmation: the finer level is recomputed with ``level = (level, 1/3)`` in ``second``:
       an independent rule of the same step (shifted by a third of a step: different nodes, so
       different discretisation and rounding errors) at a second precision. The two values must
       agree to ``dps`` digits; if they do not, the level is raised and both steps repeated.

    Failure at the last level raises :class:`PrecisionError`. Returns an ``mpf`` rounded to ``dps``.
    """
    tol = mp.mpf(10) ** (-dps)

    def run(be, lev):
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # e^{huge} -> inf -> e^{-inf} = 0
            v = be.to_mpf(compute(be, lev))
        if not mp.isfinite(v) or v == 0:
            raise PrecisionError(f"{what}: value {v} at quadrature level {lev} ({be.kind}) cannot be confirmed")
        return v

    prev, v2, miss = None, None, None
    for lev in levels:
        v = run(first, lev)
        if prev is not None and 100 * (abs(v - prev) / abs(v)) ** 2 <= tol:
            v2 = run(second, (lev, 1 / 3))
            with mp.workdps(dps + 20):
                if abs(v - v2) <= tol * abs(v2):
                    break
            miss = (lev, v, v2)  # the shifted grid disagrees: refine further
        prev = v
    else:
        if miss is not None:
            lev, v, v2 = miss
            raise PrecisionError(f"{what}: not confirmed to {dps} digits: {mp.nstr(v, dps + 3)} ({first.kind}) vs "
                                 f"{mp.nstr(v2, dps + 3)} ({second.kind}, shifted grid) at level {lev}")
        raise PrecisionError(f"{what}: quadrature levels {lev - 1} and {lev} differ by "
                             f"{mp.nstr(abs(v - prev) / abs(v), 3)} (relative), above the "
                             f"{mp.nstr(mp.sqrt(tol) / 10, 3)} needed for {dps} digits")
    with mp.workdps(dps):
        return +v2


def confirm_pair(v1, v2, dps, dps2, lost=3):
    """``v2`` rounded to ``dps`` digits when ``v1`` (computed at ``dps`` digits) and ``v2`` (at
    ``dps2 > dps``) agree to ``dps - lost`` digits, else :class:`PrecisionError`."""
    with mp.workdps(dps2):
        scale = max(abs(v2), mp.mpf(10) ** (-dps))
        if abs(v1 - v2) > mp.mpf(10) ** (-(dps - lost)) * scale:
            raise PrecisionError(f"value not confirmed: {mp.nstr(v1, 12)} at {dps} digits vs "
                                 f"{mp.nstr(v2, 12)} at {dps2}")
    with mp.workdps(dps):
        return +v2
