r"""The float64 route of the IID functionals E1-E5 (``dps <= FAST_DPS``): tanh-sinh grids.

For ``s_j = sigma X_j`` (``X_j ~ N(0, 1)`` iid) and ``u = e^{-t}`` every integrand is written in
``w = sigma x - t`` (so ``u e^{sigma x} = e^w`` never overflows). :class:`_IID` holds the t-grid
(split at the high-temperature centre ``ln n + sigma^2/2``, the condensed centre
``sigma sqrt(2 ln n)`` and inside the switch of ``L^{n-1}``, located by the coarse scan
:func:`_switch_points`), one Laplace transform and one set of x-nodes per evaluation, shared by
all terms. ``L^{n-1}`` is ``exp((n-1) log1p(-M))`` with ``M = 1 - L`` integrated directly.
Every x-integral is split at the switch point ``x = t/sigma`` of ``e^{-u e^{sigma x}}``, at the
Gaussian mode 0 and at ``x_s +- 3/sigma``; quadrature is composite tanh-sinh
(:class:`~attnsparse.numeric.quadrature.TanhSinh`), vectorised over the whole grid.

The functions here take a float64 backend ``be`` (:class:`._backend._Backend`) and a quadrature
``level`` (or ``(level, shift)``, an independent rule of the same step) first.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..quadrature import TanhSinh, gauss_legendre
from ._backend import _Backend, _log_one_minus

#: Gaussian cut-off of the x-integrals: phi(40) ~ 1e-348 is below every precision served
#: by the float routes; the mpmath route widens it with the precision
_X_CUT = 40.0


def _sorted_pts(lo, hi, inner):
    """``[lo, sorted(clip(inner, lo, hi)), hi]`` as a list of arrays (one per split point)."""
    inner = [np.minimum(np.maximum(p, lo), hi) for p in np.broadcast_arrays(*inner)]
    return [lo] + list(np.sort(np.stack(inner), axis=0)) + [hi]


# ----------------------------------------------------------------------------- the integrals
class _IID:
    """The t-grid and the lognormal Laplace transform for one ``(n, sigma)`` at one precision.

    The t-grid (``u = e^{-t}``) is split at the condensed centre ``sigma sqrt(2 ln n)``, the
    high-temperature centre ``ln n + sigma^2/2`` and inside the switch of ``L^{n-1}``: with
    ``F(t) = -(n-1) ln L(e^{-t})`` (decreasing in t), at ``ln F = 3, 0, -3`` (see
    :func:`_switch_points`). It reaches far enough on both sides for the integrands to fall
    below the working precision. Below ``t_zero``, where ``F > F_zero`` (:func:`_f_zero`),
    ``L^{n-1} < e^{-F_zero}`` is dropped: the nodes ``T[:nz]`` there carry ``ln L = -inf``
    and only ``E ln Z`` (through ``e^{-u}``) integrates over them; every ``L^{n-1}``
    integral runs over the live nodes ``TA = T[nz:]`` (weights ``WtA``).
    """

    def __init__(self, be, n, sigma, level):
        self.be, self.q = be, TanhSinh(level)
        self.n, self.sigma = n, be.num(sigma)
        digits = 20  # float routes only (the mpmath route is _IIDmp)
        self.xcut = be.num(max(_X_CUT, math.sqrt(4.7 * digits) + 5))
        self.rt2pi = (2 * be.pi) ** be.num("0.5")
        ln_n, s = math.log(n), float(sigma)
        t_hot, t_cold = ln_n + s * s / 2, s * math.sqrt(2 * ln_n)
        lo, hi = min(t_hot, t_cold), max(t_hot, t_cold)
        far = (3 * s + 1) * math.sqrt(2 * digits * math.log(10)) + 5
        t_lo, t_hi = lo - far, hi + 1.5 * digits * math.log(10) + 5
        t_zero, *switch = _switch_points(n, s, digits)
        t_zero = max(t_zero, t_lo)
        # e^{-u} = exp(-e^{-t}) switches at t = 0 (it enters E ln Z, alone below t_zero)
        dead = [t_lo] + sorted(v for v in (-3.0, 0.0, 3.0) if t_lo < v < t_zero) + [t_zero]
        live = [t_zero] + sorted({v for v in [lo, hi, hi + 3, hi + 12] + switch if t_zero < v < t_hi}) + [t_hi]
        TA, WtA = self.q.nodes([be.arr(p) for p in live])
        if t_zero > t_lo:
            TZ, WtZ = self.q.nodes([be.arr(p) for p in dead])
            self.T, self.Wt = np.concatenate([TZ, TA]), np.concatenate([WtZ, WtA])
        else:
            self.T, self.Wt = TA, WtA
        self.nz = self.T.size - TA.size
        self.TA, self.WtA = TA, WtA
        self._lap = self._x = None

    def x_nodes(self, t):
        """x-nodes for integrals of ``phi(x) g(sigma x - t)``, split at the switch ``x = t/sigma``."""
        xs, w, zero = t / self.sigma, 3 / self.sigma, 0 * t
        fixed = [zero + v for v in (-8, -3, 0, 3, 8)]
        return self.q.nodes(_sorted_pts(zero - self.xcut, zero + self.xcut, fixed + [xs - w, xs, xs + w]))

    def phi_exp(self, x, extra):
        """``phi(x) exp(extra)``, combined in one exponent."""
        return self.be.exp(-x * x / 2 + extra) / self.rt2pi

    def laplace(self, t):
        """``M = 1 - L(e^{-t})`` and ``ln L(e^{-t})`` at the t-nodes ``t``.

        ``ln L`` is ``log1p(-M)`` while ``M < 1/2`` and ``log L`` (L integrated directly)
        beyond, so neither small ``M`` nor small ``L`` loses digits.
        """
        be = self.be
        X, W = self.x_nodes(t)
        ew = be.exp(self.sigma * X - t[..., None])
        ph = self.phi_exp(X, 0 * X)
        M, L = self.q.apply(-be.expm1(-ew) * ph, W), self.q.apply(be.exp(-ew) * ph, W)
        return M, _log_one_minus(be, M, L)

    def live_x(self):
        """``(X, W, w, e^w)``: the x-nodes at the live t-nodes, ``w = sigma X - t``; built once per grid."""
        if self._x is None:
            X, W = self.x_nodes(self.TA)
            w = self.sigma * X - self.TA[..., None]
            self._x = X, W, w, self.be.exp(w)
        return self._x

    def live_laplace(self):
        """``(M, ln L)`` at the live t-nodes ``TA``, computed once per grid."""
        if self._lap is None:
            be, (X, W, _, ew) = self.be, self.live_x()
            ph = self.phi_exp(X, 0 * X)
            M, L = self.q.apply(-be.expm1(-ew) * ph, W), self.q.apply(be.exp(-ew) * ph, W)
            self._lap = M, _log_one_minus(be, M, L)
        return self._lap

    def log_l_all(self):
        """``ln L`` at every t-node ``T``: ``-inf`` below ``t_zero`` (``L^{n-1}`` dropped there)."""
        lnL = self.live_laplace()[1]
        if not self.nz:
            return lnL
        return np.concatenate([self.be.arr(np.full(self.nz, -np.inf)), lnL])

    def t_integral(self, g):
        """``int g(t) dt`` over the live t-grid ``TA``; ``g`` holds the values at ``TA``."""
        return self.q.apply(g, self.WtA)


def _coarse_iid(n, sigma, level):
    """An :class:`_IID` without a t-grid (float64, tanh-sinh ``level``): its x-rules and
    Laplace transform at any t, for the scans that place the t-grid."""
    be = _Backend("f64")
    grid = _IID.__new__(_IID)
    grid.be, grid.q, grid.n, grid.sigma = be, TanhSinh(level), n, be.num(sigma)
    grid.xcut, grid.rt2pi = be.num(_X_CUT), math.sqrt(2 * math.pi)
    return grid


@functools.lru_cache(maxsize=256)
def _switch_points(n, sigma, digits):
    """``(t_zero, t_3, t_0, t_-3)``: where ``F(t) = -(n-1) ln L(e^{-t})`` equals ``F_zero`` and
    ``e^3, 1, e^-3``.

    Found on a coarse float64 rule (split points need no precision) by one scan of ``ln F``
    (decreasing in t) over a grid of step 1/2, then linear interpolation; ``t_zero`` is
    the last scanned point with ``F > F_zero``, moved one more unit left. The coarse rule
    errs by far less than the ``e^{-50}`` of slack in ``F_zero``.
    """
    grid = _coarse_iid(n, sigma, 2)
    ln_n = math.log(n)
    far = (3 * sigma + 1) * math.sqrt(2 * digits * math.log(10)) + 5
    a = min(ln_n + sigma * sigma / 2, sigma * math.sqrt(2 * ln_n)) - far
    b = max(ln_n + sigma * sigma / 2, sigma * math.sqrt(2 * ln_n)) + 1.5 * digits * math.log(10) + 5
    t = np.arange(a, b + 0.5, 0.5)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        lnF = np.log((n - 1) * -grid.laplace(t)[1])
    lnF = np.where(np.isnan(lnF), np.inf, lnF)[::-1]  # increasing
    above = np.nonzero(lnF > math.log(_f_zero(n, digits)))[0]
    t_zero = (t[::-1][above[0]] if above.size else a) - 1.0
    finite = np.isfinite(lnF)
    switch = np.interp([3.0, 0.0, -3.0], lnF[finite], t[::-1][finite])
    return (float(t_zero),) + tuple(float(v) for v in switch)


def _f_zero(n, digits):
    """``F_zero``: ``L^{n-1} < e^{-F_zero} = 10^{-2 digits} e^{-50} / n^2`` is dropped.

    Every integrand is ``L^{n-1}`` (or ``L^{n-1-j} L_>^j``) times a factor at most ``n``
    (``n int e^{kw - e^w} dw = n Gamma(k)``), and every functional is at least ``1/n``.
    """
    return 2 * digits * math.log(10) + 2 * math.log(n) + 50


def _moment_f64(be, level, n, sigma, k):
    """E1: ``n/Gamma(k) int L_k L^{n-1} dt`` on the float grid."""
    grid = _IID(be, n, sigma, level)
    lnL = (n - 1) * grid.live_laplace()[1]
    X, W, w, ew = grid.live_x()
    Lk = grid.q.apply(grid.phi_exp(X, k * w - ew), W)
    return be.num(n) / be.exp(be.num(math.lgamma(k))) * grid.t_integral(Lk * be.exp(lnL))


def _ipr_second_moment(be, level, n, sigma):
    """``E (sum_j p_j^2)^2 = E sum_j p_j^4 + n(n-1) E[p_1^2 p_2^2]`` (float route).

    Both terms come from ``Z^{-4} = Gamma(4)^{-1} int u^3 e^{-uZ} du``:
    ``E[e^{2 s_1} e^{2 s_2} Z^{-4}] = int u^3 L_2(u)^2 L(u)^{n-2} du / 6``.
    """
    grid = _IID(be, n, sigma, level)
    lnL = grid.live_laplace()[1]
    X, W, w, ew = grid.live_x()
    L2 = grid.q.apply(grid.phi_exp(X, 2 * w - ew), W)
    L4 = grid.q.apply(grid.phi_exp(X, 4 * w - ew), W)
    n_ = be.num(n)
    return (n_ * grid.t_integral(L4 * be.exp((n - 1) * lnL))
            + n_ * (n_ - 1) * grid.t_integral(L2 * L2 * be.exp((n - 2) * lnL))) / 6


def _log_partition_f64(be, level, n, sigma, grid=None):
    """E2: ``int (e^{-u} - L^n) dt`` on the float grid (``grid``: a grid already built)."""
    grid = grid or _IID(be, n, sigma, level)
    lnLn = n * grid.log_l_all()
    # e^{-u} - L^n = (1 - L^n) - (1 - e^{-u}), each small term computed without cancellation
    return grid.q.apply(-be.expm1(lnLn) + be.expm1(-be.exp(-grid.T)), grid.Wt)


def _entropy_f64(be, level, n, sigma):
    """E3: ``E ln Z - n int G L^{n-1} dt`` on the float grid."""
    grid = _IID(be, n, sigma, level)  # one grid and one Laplace transform for both terms
    lnL = (n - 1) * grid.live_laplace()[1]
    X, W, w, ew = grid.live_x()
    G = grid.q.apply(grid.sigma * X * grid.phi_exp(X, w - ew), W)
    return _log_partition_f64(be, level, n, sigma, grid) - n * grid.t_integral(G * be.exp(lnL))


def _log_binom(be, n1, j):
    """``ln C(n1, j)`` at the backend's precision (a sum of j logs; j is small)."""
    out = be.num(0)
    for i in range(j):
        out = out + be.log(be.num(n1 - i) / be.num(i + 1))
    return out


#: Gauss-Legendre points per gap between consecutive outer x-nodes (top-k integral)
_GAP_POINTS = 10


def _topk(be, level, n, sigma, k, above=None):
    """``E T(k)`` (``above`` None) or the mass of keys with ``X > above`` (``k`` None).

    Conditioning on key 1 at ``X_1 = x``: its weight is ``e^{sigma x}/(e^{sigma x} + Z')``, and
    it is among the top k iff at most ``k - 1`` other keys exceed ``x``, so
    ``E T(k) = n int phi(x) int exp(w - e^w) sum_{j<k} C(n-1, j) L_>^j L_<^{n-1-j} dt dx``
    with ``w = sigma x - t``, ``L_>(x) = int_x^inf phi(y) exp(-e^{sigma y - t}) dy`` and
    ``L_< = L - L_>``. ``L_>`` at all outer x-nodes comes from one reversed cumulative sum
    of Gauss-Legendre integrals over the gaps between consecutive nodes.
    """
    grid = _IID(be, n, sigma, level)
    top = math.sqrt(2 * math.log(n))
    lo_x, hi_x = (-float(grid.xcut) if above is None else float(above)), float(grid.xcut)
    splits = [-6, -3, -1, 0, 1, 3, top - 2, top - 1, top, top + 1, top + 3, top + 6]
    pts = sorted({min(max(p, lo_x), hi_x) for p in splits} | {lo_x, hi_x})
    Xo, Wo = grid.q.nodes([be.arr(p) for p in pts])
    M, lnL = grid.live_laplace()
    w = grid.sigma * Xo[:, None] - grid.TA[None, :]  # (mx, mt)
    if above is not None:
        inner = be.exp(w - be.exp(w) + ((n - 1) * lnL)[None, :])
        return n * grid.q.apply(grid.phi_exp(Xo, 0 * Xo) * grid.q.apply(inner, grid.WtA[None, :]), Wo)
    gx, gw = (be.arr(v) for v in gauss_legendre(_GAP_POINTS))
    edges = np.concatenate([Xo, be.arr([hi_x])])
    half = (edges[1:] - edges[:-1]) / 2
    Y = (edges[1:] + edges[:-1])[:, None] / 2 + half[:, None] * gx  # (mx, g)
    WY = half[:, None] * gw
    gaps = np.sum((WY * grid.phi_exp(Y, 0 * Y))[:, None, :]
                  * be.exp(-be.exp(grid.sigma * Y[:, None, :] - grid.TA[None, :, None])), -1)  # (mx, mt)
    Lg = np.cumsum(gaps[::-1], axis=0)[::-1]  # L_>(x_i, t)
    ln_less = _log_one_minus(be, M[None, :] + Lg, be.exp(lnL)[None, :] - Lg)
    ln_more = be.log(np.maximum(Lg, be.num(1e-300) + 0 * Lg))
    inner = 0 * w
    for j in range(k):
        inner = inner + be.exp(_log_binom(be, n - 1, j) + j * ln_more + (n - 1 - j) * ln_less + w - be.exp(w))
    return n * grid.q.apply(grid.phi_exp(Xo, 0 * Xo) * grid.q.apply(inner, grid.WtA[None, :]), Wo)


def _mass_above_f64(be, level, n, sigma, x0):
    """E5: the mass of keys with ``X > x0`` on the float grid (:func:`_topk` with ``above``)."""
    return _topk(be, level, n, sigma, None, above=x0)
