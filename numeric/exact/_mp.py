r"""The mpmath route of E5 (``dps > FAST_DPS``): composite Gauss-Legendre in t and w.

E1-E3 take the lattice route (:mod:`._lattice`) above ``FAST_DPS``; this grid serves the mass
above a threshold (E5) and :func:`_t_end` (the t-range of both routes).

The float grids of :mod:`._float`, carried to 30+ digits, hold 1e7-1e8 mpf objects (tanh-sinh
needs hundreds of nodes per piece in each of t and x). This route instead uses

* composite Gauss-Legendre in t and in w = sigma x - t (the integrands are analytic in
  strips of half-width pi/2 in both variables, so pieces of width 1.5 converge
  geometrically: about rho^{-2m}, rho ~ 4.4, with m nodes per piece);
* x-integrals in w on fixed pieces over the switch of e^{-e^w}, w in [c, w_hi]: the
  functions of w alone (e^w, expm1(-e^w)) are computed once per node, only
  phi((t + w)/sigma) per (t, w) node; left of c = -3 the integrals are closed-form series
  (expand e^{-e^w}, each term a tilted Gaussian tail ncdf), right of w_hi only the
  Gaussian tail of M is left (closed form);
* the t-range cut at t_end, where the float64 scan puts n M L^{n-1} (and n L_k L^{n-1})
  below 10^-(digits + 10) (:func:`_t_end`);
* t-nodes in chunks, so memory stays at ~10^5 objects.

Level ``l`` uses m = 2^(l+1) nodes per piece (error ~ rho^{-2m}: the digits double per level,
as for tanh-sinh, so the quadratic rule of
:func:`~attnsparse.numeric.quadrature.confirm_levels` applies unchanged); the shifted level
``(l, 1/3)`` uses m + m//8 + 1 nodes (a different rule of the same accuracy), one more t-piece
per segment and w-pieces shifted by a third of a piece: an independent rule.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..quadrature import gauss_legendre_mp, gauss_legendre_pieces_mp
from ._backend import _log_one_minus
from ._float import _coarse_iid, _switch_points

#: width of the Gauss-Legendre pieces in t and in w (in units where the strip half-width is pi/2)
_MP_PIECE = 1.5
#: t-nodes per chunk of the (t, w) products
_MP_CHUNK = 48


def _mp_rule(level):
    """``(m, shifted)``: Gauss-Legendre nodes per piece at a (possibly shifted) level."""
    lev, shift = level if isinstance(level, tuple) else (level, 0.0)
    m = 2 ** (lev + 1)
    return (m + m // 8 + 1, True) if shift else (m, False)


def _gl_pieces(be, pts, m):
    """Composite Gauss-Legendre nodes and weights (1-d object arrays) over consecutive ``pts``."""
    return gauss_legendre_pieces_mp(be.ctx, pts, m, be.dps)


def _subdivide(pts, width, extra):
    """``pts`` with every gap cut into ``ceil(gap / width) + extra`` equal pieces."""
    out = [pts[0]]
    for a, b in zip(pts[:-1], pts[1:]):
        k = max(1, math.ceil((b - a) / width)) + extra
        out += [a + (b - a) * i / k for i in range(1, k)] + [b]
    return out


@functools.lru_cache(maxsize=256)
def _t_end(n, sigma, digits, k):
    """Where ``n max(M, L_k) L^{n-1}`` (float64 scan, coarse rule) last exceeds
    ``10^-(digits + 10) / n^2``, plus 2: above it every L^{n-1} integrand is negligible.

    ``M >= L_1`` and ``M >= L_2`` (``1 - e^{-y} >= y^k e^{-y}`` for k = 1, 2); ``L_k`` is scanned
    too for other orders (``k < 1`` decays slower than M). The factor ``|sigma x| <= t + w_hi``
    of the entropy integrand is covered by the 10 extra digits.
    """
    grid = _coarse_iid(n, sigma, 3)
    ln_n = math.log(n)
    lo = min(ln_n + sigma * sigma / 2, sigma * math.sqrt(2 * ln_n))
    b = max(ln_n + sigma * sigma / 2, sigma * math.sqrt(2 * ln_n)) + 2.5 * digits * math.log(10) + 10
    t = np.arange(lo, b + 0.5, 0.5)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        M, lnL = grid.laplace(t)
        X, W = grid.x_nodes(t)
        w = grid.sigma * X - t[..., None]
        Lk = grid.q.apply(grid.phi_exp(X, k * w - np.exp(w)), W)
        big = np.log(np.maximum(M, Lk)) + (n - 1) * lnL + 3 * ln_n
    big = np.where(np.isnan(big), -np.inf, big)
    alive = np.nonzero(big > -(digits + 10) * math.log(10))[0]
    return float(t[alive[-1]] + 2.0) if alive.size else float(lo)


class _IIDmp:
    """The mpmath route's grid for one ``(n, sigma)``: composite Gauss-Legendre in ``t`` over
    ``[t_zero, t_end]`` and in ``w`` over ``[c, w_hi]``, closed forms outside (see above).

    :meth:`inner` returns ``M = 1 - L`` and ``ln L`` at the t-nodes ``T``; :meth:`above` the
    E5 integral ``A(t)``.
    """

    def __init__(self, be, n, sigma, level):
        c = self.ctx = be.ctx
        self.be, self.n = be, n
        s = float(sigma)
        self.sigma = c.mpf(sigma)
        m, shifted = _mp_rule(level)
        frac = 1 / 3 if shifted else 0.0
        # truncation digits: absolute 10^-D / n on every x-integral is enough (L^{n-1} has
        # relative error about n times that of M or L)
        D = be.dps + math.log10(n) + 5
        Dn = D * math.log(10)
        y = Dn + 10
        for _ in range(4):  # e^{w_hi} - w_hi >= Dn + 10: e^{w - e^w} < e^{-Dn} beyond w_hi
            y = Dn + 10 + math.log(y)
        w_hi = math.log(y)
        width = _MP_PIECE * min(1.0, s)  # phi((t + w)/sigma) varies on the scale sigma in w
        self.c_w = c_w = -3.0 - frac * width
        wpts = [c_w]
        while wpts[-1] + width < w_hi:
            wpts.append(wpts[-1] + width)
        wpts.append(w_hi)
        self.w_hi = w_hi
        Wn, Ww = _gl_pieces(be, wpts, m)
        self.m, self.wpts = m, [c.mpf(v) for v in wpts]
        self.piece = np.repeat(np.arange(len(wpts) - 1), m)  # the w-piece of each w-node
        inv = 1 / (self.sigma * c.sqrt(2 * c.pi))
        ew = be.exp(Wn)
        em = be.expm1(-ew)  # e^{-e^w} - 1
        self.Wn = Wn
        self.K_M = -em * Ww * inv
        self.K_L = (1 + em) * Ww * inv
        self.K_1 = ew * (1 + em) * Ww * inv  # e^{w - e^w}
        self.inv2s2 = 1 / (2 * self.sigma ** 2)
        # series: terms e^{c j}/j! below 10^-(D+3) beyond J
        J = 1
        while c_w * J - math.lgamma(J + 1) > -(D + 3) * math.log(10):
            J += 1
        self.J = J
        # t-grid
        t_zero, *switch = _switch_points(n, s, be.dps)
        t_end = max(_t_end(n, s, be.dps, 1.0), t_zero + 1)
        ln_n = math.log(n)
        inner = {ln_n + s * s / 2, s * math.sqrt(2 * ln_n)} | set(switch)
        tpts = [t_zero] + sorted(v for v in inner if t_zero < v < t_end) + [t_end]
        self.t_zero = t_zero
        self.T, self.WT = _gl_pieces(be, _subdivide(tpts, _MP_PIECE, 1 if shifted else 0), m)

    def _series(self, T, j, coef, x_c):
        """``sum_i coef_i e^{j_i^2 sigma^2/2 - j_i t} ncdf(x_c - j_i sigma)`` for arrays ``T``, ``x_c``."""
        c, s = self.ctx, self.sigma
        S = np.array([c.zero] * T.size, dtype=object)
        exp, ncdf = np.frompyfunc(c.exp, 1, 1), np.frompyfunc(c.ncdf, 1, 1)
        for jj, cf in zip(j, coef):
            jj = c.mpf(jj)
            S = S + cf * exp(jj * jj * s * s / 2 - jj * T) * ncdf(x_c - jj * s)
        return S

    def inner(self):
        """``(M, ln L)`` at the t-nodes ``T`` (chunked over t)."""
        be, c = self.be, self.ctx
        out = {"M": [], "L": []}
        Kmat = np.stack([self.K_M, self.K_L], axis=1)
        exp = np.frompyfunc(c.exp, 1, 1)
        for i0 in range(0, self.T.size, _MP_CHUNK):
            Tc = self.T[i0:i0 + _MP_CHUNK]
            a = Tc[:, None] + self.Wn[None, :]  # sigma x
            r = exp(-(a * a) * self.inv2s2).dot(Kmat)
            out["M"].append(r[:, 0])
            out["L"].append(r[:, 1])
        M, L = np.concatenate(out["M"]), np.concatenate(out["L"])
        with c.extradps(10):  # the series and the tails, with guard digits (tilted Gaussian tails)
            T = self.T
            x_c = (T + self.c_w) / self.sigma
            x_r = (T + self.w_hi) / self.sigma
            ncdf = np.frompyfunc(c.ncdf, 1, 1)
            jm = list(range(1, self.J + 1))
            SM = self._series(T, jm, [(-1) ** (j + 1) / c.factorial(j) for j in jm], x_c)
            M = M + SM + ncdf(-x_r)
            L = L + ncdf(x_c) - SM
        return M, _log_one_minus(be, M, L)

    def above(self, x0):
        """``A(t) = int_{x > x0} phi(x) e^{w - e^w} dx`` (``w = sigma x - t``) at the t-nodes (E5).

        With ``w0 = sigma x0 - t``: the w-pieces that start at or above ``w0`` come from the shared
        kernel; the piece holding ``w0`` gets its own Gauss-Legendre rule on ``[w0, end]``; for
        ``w0 < c`` the series of :meth:`inner` runs over ``[x0, x_c]`` instead of ``(-oo, x_c]``
        (difference of two tilted Gaussian tails, each bounded by ``e^{jc}``).
        """
        be, c, s = self.be, self.ctx, self.sigma
        x0 = c.mpf(x0)
        exp = np.frompyfunc(c.exp, 1, 1)
        starts = self.wpts[:-1]
        W0 = [s * x0 - t for t in self.T]
        # first piece lying wholly in w >= w0 (len(starts) if none)
        first = np.array([next((p for p, a in enumerate(starts) if a >= w0), len(starts)) for w0 in W0])
        out = []
        for i0 in range(0, self.T.size, _MP_CHUNK):
            Tc = self.T[i0:i0 + _MP_CHUNK]
            a = Tc[:, None] + self.Wn[None, :]
            ph = exp(-(a * a) * self.inv2s2) * (self.piece[None, :] >= first[i0:i0 + _MP_CHUNK, None])
            out.append(ph.dot(self.K_1))
        A = np.concatenate(out)
        gx, gw = gauss_legendre_mp(self.m, be.dps)
        inv = 1 / (s * c.sqrt(2 * c.pi))
        low = []
        for i, (t, w0, p) in enumerate(zip(self.T, W0, first)):
            if p == 0:
                if w0 < self.c_w:
                    low.append(i)
                continue
            a, b = w0, self.wpts[p]  # the partial piece [w0, start of the first full piece]
            if a >= b:
                continue
            half = (b - a) / 2
            for xg, wg in zip(gx, gw):
                w = a + half * (1 + xg)
                A[i] += half * wg * inv * c.exp(w - c.exp(w) - (t + w) ** 2 * self.inv2s2)
        if low:
            with c.extradps(10):
                T = self.T[low]
                j = [1 + i for i in range(self.J + 1)]
                coef = [(-1) ** i / c.factorial(i) for i in range(self.J + 1)]
                S_c = self._series(T, j, coef, (T + self.c_w) / s)
                S_0 = self._series(T, j, coef, np.array([x0] * T.size, dtype=object))
                A[low] = A[low] + S_c - S_0
        return A

    def t_integral(self, g):
        return np.sum(self.WT * g)


#: the smallest E5 value the mpmath route returns: its cuts (t-range, w-range, series) are
#: absolute, ~1e-(dps + 8 + log10 n) in all, so a value below 1e-6 could lose the last digits
_MP_E5_FLOOR = 1e-6


def _mass_above_mp(be, level, n, sigma, x0):
    """E5 on the mpmath grid: ``n int A(t) L^{n-1} dt`` (``A <= L_1 <= M``: :func:`_t_end` covers it)."""
    grid = _IIDmp(be, n, sigma, level)
    lnL = grid.inner()[1]
    return be.num(n) * grid.t_integral(grid.above(x0) * be.exp((n - 1) * lnL))
