r"""Exact finite-n functionals of IID Gaussian logits (THEORY.md section 4).

For ``s_j = sigma X_j`` with ``X_j ~ N(0, 1)`` iid, ``j = 1..n``, let
``L(u) = E exp(-u e^{sigma X})`` be the lognormal Laplace transform. The identities
``Z^{-k} = Gamma(k)^{-1} int_0^inf u^{k-1} e^{-uZ} du`` and ``E e^{-uZ} = L(u)^n`` turn
every softmax functional below into a two- or three-fold integral:

* (E1) ``E sum_j p_j^k = n/Gamma(k) int u^{k-1} L_k(u) L(u)^{n-1} du``, and from the same identity
  for a pair of keys the IPR's second moment ``E (sum_j p_j^2)^2``;
* (E2) ``E ln Z = int (e^{-u} - L(u)^n) du/u``;
* (E3) ``E H = E ln Z - n int E[sigma X e^{sigma X} e^{-u e^{sigma X}}] L(u)^{n-1} du``;
* (E4) the top-k mass ``E T(k)`` (``E p_(1)`` at ``k = 1``);
* (E5) the mass above a logit threshold;
* (E7) ``P(p_1 > eps)`` and ``E N_eps = n P(p_1 > eps)`` by Laplace inversion of
  ``L(theta)^{n-1}/theta``: computed in :mod:`attnsparse.numeric.inversion` (a different
  method, complex contours) and re-exported here;
* (E8) the bilinear model, as the chi-square mixture over ``tau`` of the IID functional.

Numerics (PITFALLS 5, 6, 9; the route THEORY.md reports as working):

* ``u = e^{-t}``: every integrand is written in ``w = sigma x - t``, so ``u e^{sigma x} = e^w``
  never overflows; the t-range is split at the high-temperature centre ``ln n + sigma^2/2``,
  at the condensed centre ``sigma sqrt(2 ln n)`` and inside the double-exponential switch of
  ``L^{n-1}`` (where ``-(n-1) ln L = e^3, 1, e^-3``, located by a coarse scan); below the
  point where ``L^{n-1} < e^{-F_zero}`` (``F_zero = 2 dps ln 10 + 2 ln n + 50``) only
  ``E ln Z`` is integrated (its ``e^{-u}`` term), every ``L^{n-1}`` integrand is dropped;
* one grid, one Laplace transform and one set of x-nodes per evaluation, shared by all
  terms (``L``, ``1 - L`` and the integrand; E3's two terms);
* ``L^{n-1}`` is ``exp((n-1) log1p(-M))`` with ``M = 1 - L = E[-expm1(-u e^{sigma X})]``
  integrated directly, so no digits are lost to ``1 - L`` when ``n`` is large;
* every x-integral is split at the switch point ``x = t/sigma`` of ``e^{-u e^{sigma x}}``,
  at the Gaussian mode 0, and at ``x_s +- 3/sigma``;
* quadrature is tanh-sinh on each piece, vectorised over the whole grid. Its error estimate
  is the change from step ``h`` to ``h/2``.
* above ``FAST_DPS``, E1-E3 take the mpmath route (section "mpmath route" below): composite
  Gauss-Legendre in ``t`` and ``w``, closed-form series and tails outside the switch, chunks
  of t-nodes (memory ~10^5 objects); E5 too (the same series, plus a per-t piece above the
  threshold). E4 and E8 have no mpmath route: above ``FAST_DPS`` they raise ``ValueError`` at
  once (the tanh-sinh object grid E4 used grew to many GB and did not finish at 30 digits; E8
  needs ~100 inner values of seconds each).

Confirmation (:func:`_confirmed`): a value is returned only when two successive quadrature
levels agree (quadratic convergence: error about the square of their difference) *and* an
independent evaluation on a grid shifted by a third of a step agrees to the requested
digits (float64 twice for ``dps <= 13``; mpmath at ``dps + 5`` then ``dps + 15`` digits above
that). Otherwise :class:`~attnsparse.numeric.precision.PrecisionError` is raised. Every ``eval_*`` function takes the number of confirmed significant digits
``dps`` first and returns an ``mpmath.mpf``.
"""

from __future__ import annotations

import functools
import math

import mpmath as mp
import numpy as np

from .inversion import eval_count_above, eval_prob_weight_above
from .precision import PrecisionError

__all__ = ["eval_moment", "eval_ipr", "eval_ipr_second_moment", "eval_log_partition", "eval_entropy", "eval_topk_mass",
           "eval_max_weight", "eval_mass_above", "eval_bilinear", "eval_count_above",
           "eval_prob_weight_above", "FAST_DPS"]

#: the largest ``dps`` served by the float64 / long double route
FAST_DPS = 13
#: Gaussian cut-off of the x-integrals: phi(40) ~ 1e-348 is below every precision served
#: by the float routes; the mpmath route widens it with the precision
_X_CUT = 40.0


# ----------------------------------------------------------------------------- backends
class _Backend:
    """Array arithmetic at one working precision: float64, long double, or mpmath objects."""

    def __init__(self, kind, dps=None):
        self.kind, self.dps = kind, dps
        if kind == "mp":
            self.ctx = mp.mp.clone()
            self.ctx.dps = dps
            c = self.ctx
            self.dtype = object
            self._u = {name: np.frompyfunc(getattr(c, name), 1, 1) for name in ("exp", "log", "expm1", "log1p")}
            self.pi = c.pi
            self.eps = c.mpf(10) ** (-dps)
        else:
            self.dtype = np.float64 if kind == "f64" else np.longdouble
            self.pi = self.dtype("3.14159265358979323846264338327950288")
            self.eps = np.finfo(self.dtype).eps

    def num(self, x):
        """A scalar at this precision."""
        if self.kind == "mp":
            return self.ctx.mpf(x) if not isinstance(x, str) else self.ctx.mpf(x)
        return self.dtype(x)

    def arr(self, x):
        if self.kind == "mp":
            a = np.asarray(x, dtype=object)
            return np.frompyfunc(self.ctx.mpf, 1, 1)(a) if a.size else a
        return np.asarray(x, dtype=self.dtype)

    def __getattr__(self, name):
        if name in ("exp", "log", "expm1", "log1p"):
            if self.kind == "mp":
                f = self._u[name]
                return lambda a: f(a)
            return getattr(np, name)
        raise AttributeError(name)

    def to_mpf(self, x):
        if self.kind == "mp":  # keep every working digit (the global context may hold only 15)
            with mp.workprec(self.ctx.prec):
                return mp.mpf(x)
        return mp.mpf(float(x)) if self.kind == "f64" else mp.mpf(np.format_float_scientific(x, precision=21))


def _ts_rule(be, level):
    """Tanh-sinh nodes and weights on [-1, 1] at step ``h = 2^-level``.

    ``level`` may be a pair ``(level, shift)``: the nodes then sit at ``(i + shift) h``, an
    independent trapezoidal grid of the same step (used to confirm a value, see
    :func:`_confirmed`). The range of the index is cut where the weights fall below the
    float precisions (the mpmath route has its own Gauss-Legendre rule, :func:`_gl_mp`).
    """
    level, shift = level if isinstance(level, tuple) else (level, 0.0)
    h = 2.0 ** (-level)
    kmax = math.log(4 / math.pi * 20 * math.log(10))  # weights ~ exp(-pi/2 e^{kh}) < 10^-20
    m = int(math.ceil(kmax / h))
    kk = (be.arr(np.arange(-m, m + 1)) + be.num(shift)) * be.num(h)
    s = be.pi / 2 * np.sinh(kk)
    x, w = np.tanh(s), be.num(h) * be.pi / 2 * np.cosh(kk) / np.cosh(s) ** 2
    keep = np.abs(np.asarray(x, dtype=float)) < 1.0
    return x[keep], w[keep]


class _Quad:
    """Vectorised tanh-sinh quadrature over pieces whose endpoints may be arrays."""

    def __init__(self, be, level):
        self.be = be
        self.x, self.w = _ts_rule(be, level)

    def nodes(self, pts):
        """Nodes and weights for the pieces between consecutive entries of ``pts``.

        ``pts`` is a list of arrays broadcastable to a common shape ``S``, sorted along the
        list. Returns ``(X, W)`` of shape ``S + (pieces * m,)``.
        """
        pts = [np.asarray(p) for p in pts]
        shape = np.broadcast_shapes(*[p.shape for p in pts])
        X, W = [], []
        for a, b in zip(pts[:-1], pts[1:]):
            a = np.broadcast_to(a, shape)[..., None]
            b = np.broadcast_to(b, shape)[..., None]
            half = (b - a) / 2
            X.append((a + b) / 2 + half * self.x)
            W.append(half * self.w)
        return np.concatenate(X, -1), np.concatenate(W, -1)

    @staticmethod
    def apply(f, W):
        """``sum W f`` along the last axis."""
        return np.sum(W * f, -1)


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
        self.be, self.q = be, _Quad(be, level)
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
            be, (X, W, w, ew) = self.be, self.live_x()
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
    I = _IID.__new__(_IID)
    I.be, I.q, I.n, I.sigma = be, _Quad(be, level), n, be.num(sigma)
    I.xcut, I.rt2pi = be.num(_X_CUT), math.sqrt(2 * math.pi)
    return I


@functools.lru_cache(maxsize=256)
def _switch_points(n, sigma, digits):
    """``(t_zero, t_3, t_0, t_-3)``: where ``F(t) = -(n-1) ln L(e^{-t})`` equals ``F_zero`` and
    ``e^3, 1, e^-3``.

    Found on a coarse float64 rule (split points need no precision) by one scan of ``ln F``
    (decreasing in t) over a grid of step 1/2, then linear interpolation; ``t_zero`` is
    the last scanned point with ``F > F_zero``, moved one more unit left. The coarse rule
    errs by far less than the ``e^{-50}`` of slack in ``F_zero``.
    """
    I = _coarse_iid(n, sigma, 2)
    ln_n = math.log(n)
    far = (3 * sigma + 1) * math.sqrt(2 * digits * math.log(10)) + 5
    a = min(ln_n + sigma * sigma / 2, sigma * math.sqrt(2 * ln_n)) - far
    b = max(ln_n + sigma * sigma / 2, sigma * math.sqrt(2 * ln_n)) + 1.5 * digits * math.log(10) + 5
    t = np.arange(a, b + 0.5, 0.5)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        lnF = np.log((n - 1) * -I.laplace(t)[1])
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


def _moment(be, level, n, sigma, k):
    if be.kind == "mp":
        return _moment_mp(be, level, n, sigma, k)
    I = _IID(be, n, sigma, level)
    lnL = (n - 1) * I.live_laplace()[1]
    X, W, w, ew = I.live_x()
    Lk = I.q.apply(I.phi_exp(X, k * w - ew), W)
    return be.num(n) / be.exp(be.num(math.lgamma(k))) * I.t_integral(Lk * be.exp(lnL))


def _ipr_second_moment(be, level, n, sigma):
    """``E (sum_j p_j^2)^2 = E sum_j p_j^4 + n(n-1) E[p_1^2 p_2^2]`` (float route).

    Both terms come from ``Z^{-4} = Gamma(4)^{-1} int u^3 e^{-uZ} du``:
    ``E[e^{2 s_1} e^{2 s_2} Z^{-4}] = int u^3 L_2(u)^2 L(u)^{n-2} du / 6``.
    """
    I = _IID(be, n, sigma, level)
    lnL = I.live_laplace()[1]
    X, W, w, ew = I.live_x()
    L2 = I.q.apply(I.phi_exp(X, 2 * w - ew), W)
    L4 = I.q.apply(I.phi_exp(X, 4 * w - ew), W)
    n_ = be.num(n)
    return (n_ * I.t_integral(L4 * be.exp((n - 1) * lnL))
            + n_ * (n_ - 1) * I.t_integral(L2 * L2 * be.exp((n - 2) * lnL))) / 6


def _log_partition(be, level, n, sigma, I=None):
    if be.kind == "mp":
        return _log_partition_mp(be, level, n, sigma)
    I = I or _IID(be, n, sigma, level)
    lnLn = n * I.log_l_all()
    # e^{-u} - L^n = (1 - L^n) - (1 - e^{-u}), each small term computed without cancellation
    return I.q.apply(-be.expm1(lnLn) + be.expm1(-be.exp(-I.T)), I.Wt)


def _entropy(be, level, n, sigma):
    if be.kind == "mp":
        return _entropy_mp(be, level, n, sigma)
    I = _IID(be, n, sigma, level)  # one grid and one Laplace transform for both terms
    lnL = (n - 1) * I.live_laplace()[1]
    X, W, w, ew = I.live_x()
    G = I.q.apply(I.sigma * X * I.phi_exp(X, w - ew), W)
    return _log_partition(be, level, n, sigma, I) - n * I.t_integral(G * be.exp(lnL))


def _log_one_minus(be, m, one_minus_m):
    """``ln(1 - m)`` from whichever of ``m`` and ``1 - m`` (both given) is accurate."""
    small = np.asarray(m < 0.5, dtype=bool)
    safe_m = np.where(small, m, 0 * m)
    safe_l = np.where(small, 1 + 0 * m, np.maximum(one_minus_m, be.num(1e-300) + 0 * m))
    return np.where(small, be.log1p(-safe_m), be.log(safe_l))


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
    I = _IID(be, n, sigma, level)
    top = math.sqrt(2 * math.log(n))
    lo_x, hi_x = (-float(I.xcut) if above is None else float(above)), float(I.xcut)
    splits = [-6, -3, -1, 0, 1, 3, top - 2, top - 1, top, top + 1, top + 3, top + 6]
    pts = sorted({min(max(p, lo_x), hi_x) for p in splits} | {lo_x, hi_x})
    Xo, Wo = I.q.nodes([be.arr(p) for p in pts])
    M, lnL = I.live_laplace()
    w = I.sigma * Xo[:, None] - I.TA[None, :]  # (mx, mt)
    if above is not None:
        inner = be.exp(w - be.exp(w) + ((n - 1) * lnL)[None, :])
        return n * I.q.apply(I.phi_exp(Xo, 0 * Xo) * I.q.apply(inner, I.WtA[None, :]), Wo)
    gx, gw = (be.arr(v) for v in np.polynomial.legendre.leggauss(_GAP_POINTS))
    edges = np.concatenate([Xo, be.arr([hi_x])])
    half = (edges[1:] - edges[:-1]) / 2
    Y = (edges[1:] + edges[:-1])[:, None] / 2 + half[:, None] * gx  # (mx, g)
    WY = half[:, None] * gw
    gaps = np.sum((WY * I.phi_exp(Y, 0 * Y))[:, None, :]
                  * be.exp(-be.exp(I.sigma * Y[:, None, :] - I.TA[None, :, None])), -1)  # (mx, mt)
    Lg = np.cumsum(gaps[::-1], axis=0)[::-1]  # L_>(x_i, t)
    ln_less = _log_one_minus(be, M[None, :] + Lg, be.exp(lnL)[None, :] - Lg)
    ln_more = be.log(np.maximum(Lg, be.num(1e-300) + 0 * Lg))
    inner = 0 * w
    for j in range(k):
        inner = inner + be.exp(_log_binom(be, n - 1, j) + j * ln_more + (n - 1 - j) * ln_less + w - be.exp(w))
    return n * I.q.apply(I.phi_exp(Xo, 0 * Xo) * I.q.apply(inner, I.WtA[None, :]), Wo)


# ----------------------------------------------------------------------------- mpmath route
# The float grids above, carried to 30+ digits, hold 1e7-1e8 mpf objects (tanh-sinh needs
# hundreds of nodes per piece in each of t and x). The mpmath route instead uses
#   * composite Gauss-Legendre in t and in w = sigma x - t (the integrands are analytic in
#     strips of half-width pi/2 in both variables, so pieces of width 1.5 converge
#     geometrically: about rho^{-2m}, rho ~ 4.4, with m nodes per piece);
#   * x-integrals in w on fixed pieces over the switch of e^{-e^w}, w in [c, w_hi]: the
#     functions of w alone (e^w, expm1(-e^w)) are computed once per node, only
#     phi((t + w)/sigma) per (t, w) node; left of c = -3 the integrals are closed-form series
#     (expand e^{-e^w}, each term a tilted Gaussian tail ncdf), right of w_hi only the
#     Gaussian tail of M is left (closed form);
#   * E ln Z's part outside [t_zero, t_end] in closed form (t_zero - Euler gamma);
#   * the t-range cut at t_end, where the float64 scan puts n M L^{n-1} (and n L_k L^{n-1})
#     below 10^-(digits + 10) (:func:`_t_end`);
#   * t-nodes in chunks, so memory stays at ~10^5 objects.
# Level ``l`` uses m = 2^(l+1) nodes per piece (error ~ rho^{-2m}: the digits double per level,
# as for tanh-sinh, so :func:`_confirmed`'s quadratic rule applies unchanged); the shifted level
# ``(l, 1/3)`` uses m + m//8 + 1 nodes (a different rule of the same accuracy), one more t-piece per segment and w-pieces shifted by a
# third of a piece: an independent rule.

#: width of the Gauss-Legendre pieces in t and in w (in units where the strip half-width is pi/2)
_MP_PIECE = 1.5
#: t-nodes per chunk of the (t, w) products
_MP_CHUNK = 48


def _mp_rule(level):
    """``(m, shifted)``: Gauss-Legendre nodes per piece at a (possibly shifted) level."""
    lev, shift = level if isinstance(level, tuple) else (level, 0.0)
    m = 2 ** (lev + 1)
    return (m + m // 8 + 1, True) if shift else (m, False)


@functools.lru_cache(maxsize=64)
def _gl_mp(m, dps):
    """``m``-point Gauss-Legendre nodes and weights on [-1, 1] to ``dps + 10`` digits (Newton
    iteration on the three-term recurrence; cached per ``(m, dps)``)."""
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


def _gl_pieces(be, pts, m):
    """Composite Gauss-Legendre nodes and weights (1-d object arrays) over consecutive ``pts``."""
    gx, gw = _gl_mp(m, be.dps)
    c = be.ctx
    X, W = [], []
    for a, b in zip(pts[:-1], pts[1:]):
        a, b = c.mpf(a), c.mpf(b)
        half, mid = (b - a) / 2, (a + b) / 2
        X += [mid + half * x for x in gx]
        W += [half * w for w in gw]
    return np.array(X, dtype=object), np.array(W, dtype=object)


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
    I = _coarse_iid(n, sigma, 3)
    ln_n = math.log(n)
    lo = min(ln_n + sigma * sigma / 2, sigma * math.sqrt(2 * ln_n))
    b = max(ln_n + sigma * sigma / 2, sigma * math.sqrt(2 * ln_n)) + 2.5 * digits * math.log(10) + 10
    t = np.arange(lo, b + 0.5, 0.5)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        M, lnL = I.laplace(t)
        X, W = I.x_nodes(t)
        w = I.sigma * X - t[..., None]
        Lk = I.q.apply(I.phi_exp(X, k * w - np.exp(w)), W)
        big = np.log(np.maximum(M, Lk)) + (n - 1) * lnL + 3 * ln_n
    big = np.where(np.isnan(big), -np.inf, big)
    alive = np.nonzero(big > -(digits + 10) * math.log(10))[0]
    return float(t[alive[-1]] + 2.0) if alive.size else float(lo)


class _IIDmp:
    """The mpmath route's grid for one ``(n, sigma)``: composite Gauss-Legendre in ``t`` over
    ``[t_zero, t_end]`` and in ``w`` over ``[c, w_hi]``, closed forms outside (see above).

    :meth:`inner` returns, at the t-nodes ``T``, ``M = 1 - L``, ``ln L`` and the requested
    x-integrals ``L_k = int phi e^{kw - e^w} dx`` and ``G = int sigma x phi e^{w - e^w} dx``.
    """

    def __init__(self, be, n, sigma, level, k=2.0):
        c = self.ctx = be.ctx
        self.be, self.n, self.k = be, n, float(k)
        s = float(sigma)
        self.sigma = c.mpf(sigma)
        m, shifted = _mp_rule(level)
        frac = 1 / 3 if shifted else 0.0
        # truncation digits: absolute 10^-D / n on every x-integral is enough (L^{n-1} has
        # relative error about n times that of M or L)
        D = be.dps + math.log10(n) + 5
        Dn = D * math.log(10)
        y = Dn + 10
        for _ in range(4):  # e^{w_hi} - max(k, 1) w_hi >= Dn + 10: e^{kw - e^w} < e^{-Dn} beyond w_hi
            y = Dn + 10 + max(self.k, 1.0) * math.log(y)
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
        self.K_k = be.exp(self.k * Wn) * (1 + em) * Ww * inv
        self.inv2s2 = 1 / (2 * self.sigma ** 2)
        # series: terms e^{c j}/j! below 10^-(D+3) beyond J
        J = 1
        while c_w * J - math.lgamma(J + 1) > -(D + 3) * math.log(10):
            J += 1
        self.J = J
        # t-grid
        t_zero, *switch = _switch_points(n, s, be.dps)
        t_end = max(_t_end(n, s, be.dps, self.k), t_zero + 1)
        ln_n = math.log(n)
        inner = {ln_n + s * s / 2, s * math.sqrt(2 * ln_n)} | set(switch)
        tpts = [t_zero] + sorted(v for v in inner if t_zero < v < t_end) + [t_end]
        self.t_zero = t_zero
        self.T, self.WT = _gl_pieces(be, _subdivide(tpts, _MP_PIECE, 1 if shifted else 0), m)

    def _series(self, T, j, coef, x_c):
        """``sum_i coef_i e^{j_i^2 sigma^2/2 - j_i t} ncdf(x_c - j_i sigma)`` and the same with the
        factor ``sigma x`` (``sigma e^{...}(j sigma ncdf - npdf)``), for arrays ``T``, ``x_c``."""
        c, s = self.ctx, self.sigma
        S = np.array([c.zero] * T.size, dtype=object)
        SG = np.array([c.zero] * T.size, dtype=object)
        exp, ncdf = np.frompyfunc(c.exp, 1, 1), np.frompyfunc(c.ncdf, 1, 1)
        rt = c.sqrt(2 * c.pi)
        for jj, cf in zip(j, coef):
            jj = c.mpf(jj)
            z = x_c - jj * s
            a = jj * jj * s * s / 2 - jj * T
            P = exp(a) * ncdf(z)
            S = S + cf * P
            SG = SG + cf * s * (jj * s * P - exp(a - z * z / 2) / rt)
        return S, SG

    def inner(self, want_k=False, want_g=False):
        """``(M, ln L, L_k or None, G or None)`` at the t-nodes ``T`` (chunked over t)."""
        be, c = self.be, self.ctx
        out = {"M": [], "L": [], "k": [], "g": []}
        Kmat = [self.K_M, self.K_L] + ([self.K_k] if want_k else [])
        Kmat = np.stack(Kmat, axis=1)
        exp = np.frompyfunc(c.exp, 1, 1)
        for i0 in range(0, self.T.size, _MP_CHUNK):
            Tc = self.T[i0:i0 + _MP_CHUNK]
            a = Tc[:, None] + self.Wn[None, :]  # sigma x
            ph = exp(-(a * a) * self.inv2s2)
            r = ph.dot(Kmat)
            out["M"].append(r[:, 0])
            out["L"].append(r[:, 1])
            if want_k:
                out["k"].append(r[:, 2])
            if want_g:
                out["g"].append((ph * a).dot(self.K_1))
        M, L = np.concatenate(out["M"]), np.concatenate(out["L"])
        with c.extradps(10):  # the series and the tails, with guard digits (tilted Gaussian tails)
            T = self.T
            x_c = (T + self.c_w) / self.sigma
            x_r = (T + self.w_hi) / self.sigma
            ncdf = np.frompyfunc(c.ncdf, 1, 1)
            J = self.J
            jm = list(range(1, J + 1))
            SM, _ = self._series(T, jm, [(-1) ** (j + 1) / c.factorial(j) for j in jm], x_c)
            M = M + SM + ncdf(-x_r)
            L = L + ncdf(x_c) - SM
            Lk = G = None
            if want_k:
                Sk, _ = self._series(T, [self.k + i for i in range(J + 1)],
                                     [(-1) ** i / c.factorial(i) for i in range(J + 1)], x_c)
                Lk = np.concatenate(out["k"]) + Sk
            if want_g:
                _, SG = self._series(T, [1 + i for i in range(J + 1)],
                                     [(-1) ** i / c.factorial(i) for i in range(J + 1)], x_c)
                G = np.concatenate(out["g"]) + SG
        return M, _log_one_minus(be, M, L), Lk, G

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
        gx, gw = _gl_mp(self.m, be.dps)
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
                S_c, _ = self._series(T, j, coef, (T + self.c_w) / s)
                S_0, _ = self._series(T, j, coef, np.array([x0] * T.size, dtype=object))
                A[low] = A[low] + S_c - S_0
        return A

    def t_integral(self, g):
        return np.sum(self.WT * g)


def _moment_mp(be, level, n, sigma, k):
    I = _IIDmp(be, n, sigma, level, k)
    M, lnL, Lk, _ = I.inner(want_k=True)
    return be.num(n) / be.ctx.gamma(k) * I.t_integral(Lk * be.exp((n - 1) * lnL))


def _log_partition_mp(be, level, n, sigma, I=None, lnL=None):
    """``E ln Z = t_zero - gamma + int_{t_zero}^{t_end} (1 - L^n) dt``: below ``t_zero``
    ``L^n`` is dropped and ``int_{-oo}^{t0} e^{-u} dt - int_{t0}^{oo} (1 - e^{-u}) dt = t0 - gamma``
    (``u = e^{-t}``: ``E_1(u_0) - Ein(u_0) = -ln u_0 - gamma``)."""
    if I is None:
        I = _IIDmp(be, n, sigma, level, 1.0)
        lnL = I.inner()[1]
    return be.num(I.t_zero) - be.ctx.euler + I.t_integral(-be.expm1(n * lnL))


#: the smallest E5 value the mpmath route returns: its cuts (t-range, w-range, series) are
#: absolute, ~1e-(dps + 8 + log10 n) in all, so a value below 1e-6 could lose the last digits
_MP_E5_FLOOR = 1e-6


def _mass_above(be, level, n, sigma, x0):
    if be.kind == "mp":
        return _mass_above_mp(be, level, n, sigma, x0)
    return _topk(be, level, n, sigma, None, above=x0)


def _mass_above_mp(be, level, n, sigma, x0):
    """E5 on the mpmath grid: ``n int A(t) L^{n-1} dt`` (``A <= L_1 <= M``: :func:`_t_end` covers it)."""
    I = _IIDmp(be, n, sigma, level, 1.0)
    lnL = I.inner()[1]
    return be.num(n) * I.t_integral(I.above(x0) * be.exp((n - 1) * lnL))


def _entropy_mp(be, level, n, sigma):
    I = _IIDmp(be, n, sigma, level, 1.0)
    M, lnL, _, G = I.inner(want_g=True)
    return _log_partition_mp(be, level, n, sigma, I, lnL) - n * I.t_integral(G * be.exp((n - 1) * lnL))


# ----------------------------------------------------------------------------- confirmation
def _check_args(n, sigma, dps):
    if isinstance(dps, bool) or not isinstance(dps, (int, np.integer)) or not 5 <= dps <= 60:
        raise ValueError(f"dps must be an integer in [5, 60], got {dps!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 2 <= n <= 2**40:
        raise ValueError(f"n must be an integer in [2, 2^40], got {n!r}")
    s = float(sigma)
    if not (math.isfinite(s) and 0 < s <= 30):
        raise ValueError(f"sigma must be a real number in (0, 30], got {sigma!r}")
    return int(n), s


def _confirmed(compute, dps, what):
    """``compute(backend, level)`` confirmed to ``dps`` significant digits, or raise.

    1. Convergence: the quadrature level (step ``h = 2^-level``) is raised until two
       successive levels differ by ``delta`` with ``100 delta^2 <= tol`` (relative). Tanh-sinh
       converges quadratically (the digits double per level), so ``delta``, the error of the
       coarser level, bounds the error of the finer one by about ``delta^2``.
    2. Confirmation: the finer level is recomputed on an independent grid of the same step,
       shifted by a third of a step (different nodes, so different discretisation and
       rounding errors), at a second precision: float64 for ``dps <= FAST_DPS`` (a float64
       value carries at most ~15 digits, so 13 confirmed digits is the ceiling of this
       route), mpmath at ``dps + 15`` digits above that (the first pass runs at ``dps + 5``).
       The two values must agree to ``dps`` digits; if they do not, the level is raised
       and both steps are repeated.

    Failure at the last level raises :class:`PrecisionError`; nothing unconfirmed is returned.
    """
    if dps <= FAST_DPS:
        first, second, levels = _Backend("f64"), _Backend("f64"), range(2, 8)
    else:
        first, second, levels = _Backend("mp", dps + 5), _Backend("mp", dps + 15), range(2, 9)
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


def _float_route_only(dps, name):
    """Raise ``ValueError`` at once when ``dps`` needs a route ``name`` does not have."""
    if dps > FAST_DPS:
        raise ValueError(f"dps must be <= {FAST_DPS} for {name}, got {dps} (the float64 route serves "
                         f"up to {FAST_DPS} digits; the mpmath route covers E1-E3 and E5)")


# ----------------------------------------------------------------------------- public API
def eval_moment(dps, n, sigma, k):
    r"""``E sum_j p_j^k`` for IID ``N(0, sigma^2)`` logits (E1), confirmed to ``dps`` digits.

    .. math:: \mathbb{E}\sum_j p_j^k = \frac{n}{\Gamma(k)}\int_0^\infty u^{k-1} L_k(u) L(u)^{n-1}\,du,
              \quad L_k(u) = \mathbb{E}[e^{k\sigma X} e^{-u e^{\sigma X}}].

    Parameters
    ----------
    dps : int
        Confirmed significant digits, 5..60 (<= 13: the float64 route; above: mpmath).
    n : int
        Keys per row, 2..2^40.
    sigma : float
        Logit standard deviation, in (0, 30].
    k : float
        Moment order, > 0 (k = 2: the IPR).
    """
    n, s = _check_args(n, sigma, dps)
    k = float(k)
    if not (math.isfinite(k) and 0 < k <= 50):
        raise ValueError(f"k must be a real number in (0, 50], got {k!r}")
    return _confirmed(lambda be, lev: _moment(be, lev, n, s, k), dps, f"E sum p^{k:g} (n={n}, sigma={s:g})")


def eval_ipr(dps, n, sigma):
    """``E sum_j p_j^2``, the expected inverse participation ratio (E1 at k = 2)."""
    return eval_moment(dps, n, sigma, 2)


def eval_ipr_second_moment(dps, n, sigma):
    r"""``E (sum_j p_j^2)^2``, the second moment of the IPR (E1 extended to a pair of keys).

    .. math:: \mathbb{E}\Big(\sum_j p_j^2\Big)^2 = \frac{n}{6}\int_0^\infty u^3 L_4 L^{n-1}\,du
              + \frac{n(n-1)}{6}\int_0^\infty u^3 L_2^2 L^{n-2}\,du.

    Float64 route only: ``dps`` in 5..13.
    """
    n, s = _check_args(n, sigma, dps)
    _float_route_only(dps, "eval_ipr_second_moment")
    if n < 3:
        raise ValueError(f"n must be an integer in [3, 2^40] for eval_ipr_second_moment, got {n!r}")
    return _confirmed(lambda be, lev: _ipr_second_moment(be, lev, n, s), dps,
                      f"E (sum p^2)^2 (n={n}, sigma={s:g})")


def eval_log_partition(dps, n, sigma):
    r"""``E ln Z`` for IID ``N(0, sigma^2)`` logits (E2): ``int_0^inf (e^{-u} - L(u)^n) du/u``."""
    n, s = _check_args(n, sigma, dps)
    return _confirmed(lambda be, lev: _log_partition(be, lev, n, s), dps, f"E ln Z (n={n}, sigma={s:g})")


def eval_entropy(dps, n, sigma):
    r"""``E H(p)`` (E3): ``E ln Z - n int E[sigma X e^{sigma X} e^{-u e^{sigma X}}] L(u)^{n-1} du``."""
    n, s = _check_args(n, sigma, dps)

    return _confirmed(lambda be, lev: _entropy(be, lev, n, s), dps, f"E H (n={n}, sigma={s:g})")


def eval_topk_mass(dps, n, sigma, k):
    r"""``E T(k)``, the expected mass of the k largest weights (E4), for ``1 <= k <= 64``;
    ``dps <= 13`` (no mpmath route).

    .. math:: \mathbb{E} T(k) = n\int\phi(x)\int_0^\infty e^{\sigma x} e^{-u e^{\sigma x}}
              \sum_{j<k}\binom{n-1}{j} L_{>x}(u)^j L_{<x}(u)^{n-1-j}\,du\,dx.
    """
    n, s = _check_args(n, sigma, dps)
    _float_route_only(dps, "eval_max_weight" if k == 1 else "eval_topk_mass")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= min(64, n):
        raise ValueError(f"k must be an integer in [1, min(64, n)], got {k!r}")
    if k == n:
        return mp.mpf(1)
    return _confirmed(lambda be, lev: _topk(be, lev, n, s, int(k)), dps, f"E T({k}) (n={n}, sigma={s:g})")


def eval_max_weight(dps, n, sigma):
    """``E p_(1)``, the expected largest weight (E4 at k = 1)."""
    return eval_topk_mass(dps, n, sigma, 1)


def eval_mass_above(dps, n, sigma, x):
    r"""``E sum_j p_j 1{X_j > x}`` (E5): the mass of keys whose standardised logit exceeds ``x``.

    The logit threshold is ``sigma x`` (logits ``sigma X_j``). Above ``dps = 13`` the mpmath route
    (:meth:`_IIDmp.above`) serves values >= ``_MP_E5_FLOOR`` (smaller ones raise ``PrecisionError``).
    """
    n, s = _check_args(n, sigma, dps)
    x = float(x)
    if not (math.isfinite(x) and abs(x) < _X_CUT - 1):
        raise ValueError(f"x must be a real number in ({1 - _X_CUT:g}, {_X_CUT - 1:g}), got {x!r}")
    what = f"mass above x={x:g} (n={n}, sigma={s:g})"
    v = _confirmed(lambda be, lev: _mass_above(be, lev, n, s, x), dps, what)
    if dps > FAST_DPS and v < _MP_E5_FLOOR:
        raise PrecisionError(f"{what}: {mp.nstr(v, 5)} is below {_MP_E5_FLOOR:g}, where the absolute "
                             f"truncations of the mpmath route could reach the {dps}th digit")
    return v


_IID_FUNCTIONALS = {
    "ipr": lambda be, lev, n, s: _moment(be, lev, n, s, 2),
    "log_partition": _log_partition,
    "entropy": _entropy,
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
    """Chi-square mixture (THEORY.md section 2), ``tau^2 = sigma^2 chi2_d/d`` (float routes).

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
    kmax = int(37 / h)  # Phi(-37) ~ 6e-300: the widest z-range float64 maps to r
    z = (np.arange(-kmax, kmax + 1) + shift) * h
    z = z[np.abs(z) <= 37]
    tau = float(sigma) * np.sqrt(_chi2_quantile(d, z) / d)
    dens = np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    wb = h * dens * bound(n, tau)
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
        total = total + be.num(h * dens[j]) * cache[key]
        S += float(h * dens[j] * cache[key])
    return total


def eval_bilinear(dps, what, n, d, sigma):
    r"""A row functional of the bilinear model (E8), by the chi-square mixture over ``tau``.

    Given ``q`` the bilinear logits are iid ``N(0, tau^2)`` with ``tau^2 = sigma^2 chi2_d/d``
    and ``sigma = sigma_q sigma_k`` (THEORY.md section 2), so

    .. math:: \mathbb{E}_{\text{bilinear}}\, g = \int_0^\infty \mathbb{E}_{\text{iid}, \tau(r)}\, g
              \; f_{\chi^2_d}(r)\,dr, \qquad \tau(r) = \sigma\sqrt{r/d}.

    Quadrature: the trapezoidal rule in the normal score ``z`` of the chi-square variable, the
    IID functional at each node by the float route (see :func:`_bilinear`).

    Parameters
    ----------
    dps : int
        Confirmed significant digits, 5..13 (no mpmath route: larger values raise ``ValueError``).
    what : {"ipr", "log_partition", "entropy", "max_weight"}
    d : int
        Head dimension, 2..4096.
    """
    n, s = _check_args(n, sigma, dps)
    if what not in _IID_FUNCTIONALS:
        raise ValueError(f"what must be one of {sorted(_IID_FUNCTIONALS)}, got {what!r}")
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 2 <= d <= 4096:
        raise ValueError(f"d must be an integer in [2, 4096], got {d!r}")
    _float_route_only(dps, "eval_bilinear")
    cache = {}
    return _confirmed(lambda be, lev: _bilinear(be, lev, what, n, int(d), s, dps, cache), dps,
                      f"bilinear E {what} (n={n}, d={d}, sigma={s:g})")
