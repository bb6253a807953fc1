r"""``E k_eps`` for IID Gaussian logits by Laplace inversion of a two-sided transform.

``k_eps`` of a row is what :mod:`..kernels._reduce` computes: ``n`` minus the largest ``m`` such
that the ``m`` smallest weights sum to at most ``eps``. Entry 1 (weight ``w = e^{sigma x}``) is
among the dropped ones iff the weights not above it, ``w + A``, sum to at most ``eps Z``, so with
``B`` the sum over the keys above it it is kept iff ``(1 - eps)(w + A) > eps B``, and by symmetry
``E k_eps = n P(kept)``. In the units of ``w`` (``u_j = e^{sigma (X_j - x)}``) each other key
contributes ``V_j = -(1 - eps) u_j`` (``X_j < x``) or ``eps u_j`` (``X_j > x``), and

.. math:: \mathbb{P}(\text{kept} \mid x) = \mathbb{P}\Big(\sum_{j \ge 2} V_j < 1 - \epsilon\Big)
          = \frac{1}{2\pi i}\int_{c - i\infty}^{c + i\infty} e^{\vartheta (1 - \epsilon)}
          M(\vartheta; x)^{n-1} \frac{d\vartheta}{\vartheta},
          \qquad M(\vartheta; x) = \mathbb{E}\, e^{-\vartheta V},

``M = Lam_< + Lam_>`` with ``Lam_<`` the part ``X < x`` (entire in ``theta``) and ``Lam_>`` the
part ``X > x`` (``Re theta > 0``, continued beyond). ``Lam_>`` is E7's ``L(theta eps e^{-sigma x})``
(:func:`._laplace._log_laplace`, whose x-contour shift continues it into ``Re theta < 0``) minus
the entire part ``int_{t < x} phi(t) e^{-theta eps u(t)} dt``. The inversion is E7's machinery
(:func:`._laplace._cdf`: saddle point, hyperbola, trapezoid halving) with this ``x``-dependent
transform (:class:`_KeptTransform`); ``E k_eps = n int phi(x) P(kept | x) dx``.

Numerics (float64 / complex128):

* the parts below ``x`` are Gauss-Legendre on pieces of ``t in [-16, x]`` split at ``-8, 0``, at
  the switch points ``x - ln(|theta| c)/sigma`` (``c = 1 - eps, eps``) and ``+- 3/sigma`` about them,
  and graded towards ``t = x`` (``1 - u = 4^k / (|theta| c)``), where ``e^{theta (1-eps) u}`` peaks;
* ``ln M = log1p(M - 1)`` from ``expm1`` terms while ``|M - 1| < 1/2`` (so ``(n - 1) ln M`` keeps
  its digits at small ``theta``), else in the log scale;
* the outer integral is E7's (adaptive Gauss-Kronrod 7/15, then fixed Gauss-Legendre on its final
  pieces) on the range where the saddle-point estimate of ``phi(x) P(kept | x)`` is within
  ``e^{-_RANGE_LOG}`` of its peak (``P(kept | x)`` rises steeply in ``x`` at large ``n``). It is
  nondecreasing in ``x``, so the cut tails are bounded by ``Phi(x_lo) e^{g(c) + ln c}`` (the
  Chernoff bound at the saddle ``c``) and ``Phibar(x_hi)``.

Why the hyperbola alone needs ``n eps < 1``: expanding ``M^{n-1}`` by the number ``m`` of other
keys above ``x``, each such key contributes ``e^{-theta eps}`` times a transform that decays on the
arms, so the term ``m`` behaves as ``e^{theta (1 - eps - m eps)}`` as ``Re theta -> -inf``: the arms are
a valid Bromwich contour only when ``(n - 1) eps < 1 - eps``.

Split route (``n eps >= 1`` and ``m0 = ceil((1 - eps)/eps - 1/4) <= n - 1``, only ``eps <= SPLIT_EPS_MAX``):
``M^N = G + H`` (``N = n - 1``), ``G`` the terms ``m < m0`` (each decays on the arms at least as
``e^{-|Re theta| eps / 4}``), ``H`` the rest. ``G`` goes on the hyperbola through its own saddle
(:class:`_SplitTransform` gives ``_cdf`` ``ln G / N``); ``H``, a positive measure's transform with at
least ``m0`` factors ``Lam_> ~ phi(x) / (sigma eps tau)``, on the vertical line through its own saddle
(:func:`_line_cdf`: trapezoid in ``tau``, decay ``tau^-(m0+1)``, no term above the vertex's).
``H = Lam_<^N T(rho)``, ``rho = Lam_> / Lam_<``: ``T`` by its direct series or by ``(1 + rho)^N`` minus
the terms ``m < m0``, with a rounding-error bound (:func:`_upper_complex`). ``Lam_<`` and ``Lam_>`` at
complex ``theta`` follow deformed t-paths (:func:`_parts_line`), which do not oscillate at large
``|Im theta|``. Beyond ``SPLIT_EPS_MAX``, ``H`` decays too slowly on its line: ``PrecisionError``.

Confirmation: two evaluations that differ in every discretisation (Gauss-Legendre order of the
transforms, hyperbola angle, contour vertex offset, trapezoid grid, outer rule) must agree to
``dps`` digits, else :class:`~attnsparse.numeric.quadrature.PrecisionError`.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np

from scipy.special import gammaln, log_ndtr

from ..quadrature import PrecisionError, gauss_legendre, pieces
from ._laplace import (_BLOCK, _HALVE_TOL, _MAX_HALVINGS, _cdf, _check_tails, _clog1p, _confirmed_pair,
                       _integrate_adaptive, _integrate_fixed,
                       _log_laplace, _saddle)

__all__ = ["eval_k_eps"]

_LN_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_T_LO = -16.0
#: the graded split points below ``t = x``: ``1 - u = q / (|theta| c)``
_GRADES = (1.0, 4.0, 16.0, 64.0)


def _below_pts(x, rho, sigma, cs):
    """Piece edges of ``t in [_T_LO, x]`` for each ``x`` (shape ``(P + 1, N)``), ``rho = |theta|``."""
    lo = np.full_like(x, _T_LO)
    inner = [np.full_like(x, -8.0), np.full_like(x, 0.0)]
    for c in cs:
        a = rho * c
        ts = x - np.log(a) / sigma
        inner += [ts - 3 / sigma, ts, ts + 3 / sigma]
        for q in _GRADES:
            inner.append(np.where(q < a, x + np.log1p(-np.minimum(q / a, 0.999)) / sigma, lo))
    inner = np.sort(np.clip(np.stack(inner), lo, x), axis=0)
    return np.concatenate([lo[None], inner, x[None]])


def _above_pts(x, th, sigma, eps):
    """Piece edges of ``t in [x, 16 + 2 sigma]`` for real ``th > 0`` (the saddle's transform)."""
    hi = np.full_like(x, 16.0 + 2 * sigma)
    ts = x - np.log(th * eps) / sigma
    inner = [np.full_like(x, v) for v in (0.0, 8.0, 2 * sigma)]
    inner += [ts - 3 / sigma, ts, ts + 3 / sigma, ts + math.log(45) / sigma]
    inner = np.sort(np.clip(np.stack(inner), x, hi), axis=0)
    return np.concatenate([x[None], inner, hi[None]])


class _KeptTransform:
    """``M(theta; x) = E exp(-theta V)`` of one other key, for an array ``x`` of outer nodes.

    The interface :func:`._laplace._cdf` takes: :meth:`real` (``ln M`` and the tilted mean and
    variance of ``V`` at real ``theta > 0``, one per node) and :meth:`log` (complex ``ln M`` at
    ``z`` for the nodes ``ri``). ``m``: Gauss-Legendre points per piece.
    """

    def __init__(self, x, sigma, eps, m):
        self.x, self.sigma, self.eps, self.m = np.asarray(x, float), sigma, eps, m
        self.rule = gauss_legendre(m)

    def real(self, th):
        with np.errstate(all="ignore"):
            return self._real(np.asarray(th, float))

    def _real(self, th):
        x, s, e = self.x, self.sigma, self.eps
        Xb, Wb = pieces(*self.rule, list(_below_pts(x, th, s, (1 - e, e))))
        Xa, Wa = pieces(*self.rule, list(_above_pts(x, th, s, e)))
        X, W = np.concatenate([Xb, Xa], -1), np.concatenate([Wb, Wa], -1)
        u = np.exp(s * (X - x[:, None]))
        v = np.concatenate([-(1 - e) * u[:, :Xb.shape[1]], e * u[:, Xb.shape[1]:]], -1)
        lphi = -X * X / 2 - _LN_SQRT_2PI
        a = -th[:, None] * v
        d = np.sum(W * np.exp(lphi) * np.expm1(np.minimum(a, 700.0)), -1)  # M - 1
        ex = lphi + a
        top = np.max(ex, -1)
        p = W * np.exp(ex - top[:, None])
        M0 = np.sum(p, -1)
        k1 = np.sum(p * v, -1) / M0
        k2 = np.sum(p * (v - k1[:, None]) ** 2, -1) / M0
        lnM = np.where(np.abs(d) < 0.5, np.log1p(d), top + np.log(M0))
        return lnM, k1, k2

    def log(self, z, ri):
        with np.errstate(all="ignore"):
            return self._log(np.asarray(z, complex), np.asarray(ri))

    def _log(self, z, ri, chunk=4096):
        out = np.empty(z.shape, complex)
        for i in range(0, z.size, chunk):
            out[i:i + chunk] = self._log_chunk(z[i:i + chunk], self.x[ri[i:i + chunk]])
        return out

    def _log_chunk(self, z, x):
        s, e = self.sigma, self.eps
        lnL = _log_laplace(z * (e * np.exp(-s * x)), s, self.m)  # E e^{-theta eps u}, all t
        X, W = pieces(*self.rule, list(_below_pts(x, np.abs(z), s, (1 - e, e))))
        u = np.exp(s * (X - x[:, None]))
        lphi = -X * X / 2 - _LN_SQRT_2PI
        wphi = W * np.exp(lphi)
        zc = z[:, None]
        # M - 1 = int_{t<x} phi (e^{z(1-e)u} - 1) - int_{t<x} phi (e^{-z e u} - 1) + (L - 1)
        d = np.sum(wphi * (np.expm1(zc * ((1 - e) * u)) - np.expm1(-zc * (e * u))), -1) + np.expm1(lnL)
        # log scale: M = Lam_< + L - D_<
        e1 = lphi + zc * ((1 - e) * u)
        e2 = lphi - zc * (e * u)
        m1, m2 = np.max(e1.real, -1), np.max(e2.real, -1)
        ref = np.maximum(np.maximum(m1, m2), lnL.real)
        S = (np.sum(W * np.exp(e1 - m1[:, None]), -1) * np.exp(m1 - ref)
             - np.sum(W * np.exp(e2 - m2[:, None]), -1) * np.exp(m2 - ref) + np.exp(lnL - ref))
        return np.where(np.abs(d) < 0.5, _clog1p(d), ref + np.log(S))


# ----------------------------------------------------------------------------- outer integral
#: keep the x where the saddle-point estimate of phi P(kept | x) is within e^-_RANGE_LOG of its peak
_RANGE_LOG = 38.0
_SCAN = np.arange(-12.0, 12.0 + 1e-9, 0.25)
#: the two evaluations: (Gauss-Legendre points per piece of the transforms, hyperbola angle,
#: vertex offset); lighter ones for dps <= 8
_EVAL_A = (32, 0.5, 0.0)
_EVAL_B = (40, 0.4, 0.5)
_LIGHT_A = (24, 0.5, 0.0)
_LIGHT_B = (28, 0.4, 0.5)
_LIGHT_DPS = 8


#: largest term of the Bromwich sum, relative to the vertex's, accepted (log10: the digits it may cost)
_PEAK_MAX = 1e3


def _log_kept(x, n, sigma, eps, m, alpha, offset):
    """``(ln phi(x) + g, S, converged)``: ``phi(x) P(kept | x) = e^{ln phi + g} S``. A node whose
    trapezoid sum met a term above :data:`_PEAK_MAX` (cancellation) counts as not converged."""
    x = np.asarray(x, float)
    tf = _KeptTransform(x, sigma, eps, m)
    r = np.full(x.shape, 1 - eps)
    with np.errstate(all="ignore"):
        g, S, info = _cdf(r, n, sigma, m, alpha, offset, tf=tf)
    return -x * x / 2 - _LN_SQRT_2PI + g, S, info["converged"] & (info["peak"] <= _PEAK_MAX)


def _outer_range(n, sigma, eps, m):
    """``(K, x_lo, x_hi, ln P-bound at x_lo)`` from the saddle-point estimate on :data:`_SCAN`."""
    x = _SCAN
    tf = _KeptTransform(x, sigma, eps, m)
    c, g, g2 = _saddle(np.full(x.shape, 1 - eps), n, sigma, m, tf=tf)
    with np.errstate(all="ignore"):
        est = np.minimum(g - 0.5 * np.log(2 * np.pi * g2), 0.0)
        li = -x * x / 2 - _LN_SQRT_2PI + est
    li = np.where(np.isfinite(li), li, -np.inf)
    K = float(np.max(li))
    if not math.isfinite(K):
        raise PrecisionError("E k_eps: the outer integrand could not be located")
    keep = np.nonzero(li >= K - _RANGE_LOG)[0]
    i_lo, i_hi = max(keep[0] - 1, 0), min(keep[-1] + 1, x.size - 1)
    chernoff = min(float(g[i_lo] + np.log(c[i_lo])), 0.0)
    return K, float(x[i_lo]), float(x[i_hi]), chernoff


class _KeptOuter:
    """The outer integrand in the form :mod:`._laplace`'s outer rules take (``log_f``)."""

    def __init__(self, n, sigma, eps, m, alpha, offset):
        self.args = (n, sigma, eps, m, alpha, offset)

    def log_f(self, x):
        return _log_kept(x, *self.args)


def _evaluate_adaptive(n, sigma, eps, dps):
    """``(K, v_a, v_b)``: E7's outer rules: adaptive Gauss-Kronrod (variant A; pieces bisected to
    ``10^-(dps + 3)``) and fixed Gauss-Legendre on its final pieces, cut at 0.4 (variant B)."""
    va, vb = (_LIGHT_A, _LIGHT_B) if dps <= _LIGHT_DPS else (_EVAL_A, _EVAL_B)
    K, lo, hi, ln_p_lo = _outer_range(n, sigma, eps, va[0])
    edges = np.linspace(lo, hi, int(math.ceil((hi - lo) / 0.5)) + 1)
    try:
        v_a, a, b = _integrate_adaptive(_KeptOuter(n, sigma, eps, *va), edges, K, tol=10.0 ** (-dps - 3))
        v_b = _integrate_fixed(_KeptOuter(n, sigma, eps, *vb), a, b, K)
    except PrecisionError as err:  # E7's rules name E7
        raise PrecisionError(f"E k_eps (n={n}, sigma={sigma:g}, eps={eps:g}): "
                             f"{str(err).replace('E7: ', '')}") from None
    _check_tails(lo, hi, ln_p_lo, K, v_a, 10.0 ** (-dps - 2), "E k_eps")
    return K, v_a, v_b


def eval_k_eps(dps, n, sigma, eps, _m0=None):
    r"""``E k_eps`` for IID ``N(0, sigma^2)`` logits, by Laplace inversion (float64, ``dps <= 12``).

    .. math:: \mathbb{E} k_\epsilon = n \int \phi(x)\, \frac{1}{2\pi i}\int e^{\vartheta(1-\epsilon)}
              M(\vartheta; x)^{n-1} \frac{d\vartheta}{\vartheta}\, dx.

    ``n eps < 1`` (or ``m0 > n - 1``, ``m0`` of :func:`_m0_of`): the whole ``M^{n-1}`` on the hyperbola
    (the route of ``n eps < 1``, unchanged). Otherwise, for ``eps <= SPLIT_EPS_MAX`` only, ``M^{n-1} = G + H``
    split at ``m0`` keys above ``x``: ``G`` on the hyperbola, ``H`` on the vertical line. ``_m0``
    (private, for tests): split at this ``m0`` even where the hyperbola alone would do (``0``: the
    whole transform on the vertical line).

    Arguments are checked by the caller (:func:`attnsparse.numeric.exact.eval_k_eps`). Returns an
    mpf at ``dps`` digits confirmed by two evaluations that differ in every discretisation;
    otherwise raises :class:`~attnsparse.numeric.quadrature.PrecisionError`.
    """
    what = f"E k_eps (n={n}, sigma={sigma:g}, eps={eps:g})"
    m0 = _m0_of(eps) if _m0 is None else int(_m0)
    if _m0 is None and (n * eps < 1 or m0 > n - 1):
        parts = _evaluate_adaptive(n, sigma, eps, dps)
    else:
        if _m0 is None and eps > SPLIT_EPS_MAX:
            raise PrecisionError(f"{what}: for n eps >= 1 this route needs eps <= {SPLIT_EPS_MAX:g}, got eps = "
                                 f"{eps:g}: the terms with m >= m0 = {m0} keys above x are integrated on a vertical "
                                 f"line, where they decay only as |Im theta|^-(m0+1), too slowly to cut for m0 < "
                                 f"{_m0_of(SPLIT_EPS_MAX)}")
        parts = _evaluate_split(n, sigma, eps, dps, m0)
    with mp.workdps(20):
        v = _confirmed_pair(*parts, dps, what) * n
    with mp.workdps(dps):
        return +v


# ============================================================================= n eps >= 1: split by m
#: largest eps of the split route (``m0 >= 6``: ``H`` decays on its line at least as ``tau^-7``)
SPLIT_EPS_MAX = 0.15
#: largest imaginary shift of the deformed t-paths (|phi(t + iy)| / phi(t) = e^{y^2/2})
_Y_MAX = 1.5
#: graded split points of the vertical segments of the t-paths: ``sigma s = q / (|theta| c)``
_SEG_GRADES = (1.0, 4.0, 16.0, 64.0, 256.0, 1024.0)
_T_HI = 16.0


def _seg_pts(a, y, sigma):
    """Piece edges of ``s in [0, y]`` graded towards 0 on the scale ``1/(sigma a)``."""
    inner = [np.minimum(q / (sigma * a), y) for q in _SEG_GRADES] + [np.minimum(0.5, y), np.minimum(1.0, y)]
    inner = np.sort(np.stack(inner), axis=0)
    return np.concatenate([np.zeros_like(y)[None], inner, y[None]])


def _above_line_pts(x, a, sigma):
    """Piece edges of ``r in [x, _T_HI + 2 sigma]`` for ``exp(-a e^{sigma (r - x)})``, ``a > 0``."""
    hi = np.full_like(x, _T_HI + 2 * sigma)
    ts = x - np.log(a) / sigma
    inner = [np.full_like(x, v) for v in (0.0, 8.0, 2 * sigma)]
    inner += [ts - 3 / sigma, ts, ts + 3 / sigma, ts + math.log(45) / sigma]
    inner += [x + np.log1p(q / a) / sigma for q in _GRADES]
    inner = np.sort(np.clip(np.stack(inner), x[None], hi[None]), axis=0)
    return np.concatenate([x[None], inner, hi[None]])


def _logsum(e, W):
    """``ln sum W e^e`` along the last axis (complex ``e``), with the largest real part taken out."""
    top = np.max(e.real, -1)
    return top + np.log(np.sum(W * np.exp(e - top[..., None]), -1))


def _lphi(t):
    return -t * t / 2 - _LN_SQRT_2PI


def _parts_line(z, x, sigma, eps, rule):
    """``(ln Lam_<, ln Lam_>)`` at complex ``z`` (``Re z > 0``, ``Im z >= 0``) for the nodes ``x``.

    Both t-integrands are entire: ``Lam_<`` runs ``x -> x + i y -> -inf + i y`` with ``sigma y = pi - arg z``
    (``z u`` real negative on the horizontal part), ``Lam_>`` runs ``x -> x - i y -> +inf - i y`` with
    ``sigma y = arg z`` (``z u`` real positive); ``y <= _Y_MAX`` (``phi`` grows as ``e^{y^2/2}`` at
    complex ``t``), where the horizontal parts still decay or oscillate no faster than on the real line.
    """
    c = 1 - eps
    beta = np.angle(z)
    rho = np.abs(z)
    out = []
    for sign, y, k, pts_h in (
            (1, np.minimum((np.pi - beta) / sigma, _Y_MAX), c, lambda a: _below_pts(x, a / c, sigma, (c,))),
            (-1, np.minimum(beta / sigma, _Y_MAX), -eps, lambda a: _above_line_pts(x, a, sigma))):
        a = rho * abs(k)
        # vertical segment t = x + sign i s, s in [0, y]: dt = sign i ds; it is traversed towards x
        # for Lam_< (x + iy -> x) and away from x for Lam_> (x -> x - iy)
        S, Ws = pieces(*rule, list(_seg_pts(a, y, sigma)))
        t = x[:, None] + sign * 1j * S
        ev = _lphi(t) + (k * z)[:, None] * np.exp(sign * 1j * sigma * S)
        wv = -1j * Ws  # Lam_<: x + iy -> x is dt = -i ds; Lam_>: x -> x - iy is dt = -i ds
        R, Wh = pieces(*rule, list(pts_h(a)))
        t = R + sign * 1j * y[:, None]
        eh = _lphi(t) + (k * z * np.exp(sign * 1j * sigma * y))[:, None] * np.exp(sigma * (R - x[:, None]))
        out.append(_logsum(np.concatenate([ev, eh], -1), np.concatenate([wv, Wh], -1)))
    return out[0], out[1]


def _parts_real(x, th, sigma, eps, rule):
    """``(ln Lam_<, k1_<, k2_<, ln Lam_>, k1_>, k2_>)`` at real ``th > 0``: each part's log and the
    mean and variance of ``V`` under its tilted measure (``(ln Lam)' = -k1``, ``(ln Lam)'' = k2``)."""
    out = []
    for X, W, v in ((*pieces(*rule, list(_below_pts(x, th, sigma, (1 - eps, eps)))), -(1 - eps)),
                    (*pieces(*rule, list(_above_pts(x, th, sigma, eps))), eps)):
        V = v * np.exp(sigma * (X - x[:, None]))
        ex = _lphi(X) - th[:, None] * V
        top = np.max(ex, -1)
        p = W * np.exp(ex - top[:, None])
        P0 = np.sum(p, -1)
        k1 = np.sum(p * V, -1) / P0
        out += [top + np.log(P0), k1, np.sum(p * (V - k1[:, None]) ** 2, -1) / P0]
    return out


def _lnbinom(N, m):
    return gammaln(N + 1.0) - gammaln(m + 1.0) - gammaln(N - m + 1.0)


def _weights_real(N, m0, lr, upper):
    """``(ln T, E m, Var m)`` of the weights ``C(N, m) rho^m`` (``ln rho = lr`` real) over ``m >= m0``
    (``upper``) or ``m < m0``: a direct sum over a window about the largest term (all terms positive)."""
    p = 1 / (1 + np.exp(-lr))
    if upper:
        sd = np.sqrt(N * p * (1 - p))
        peak = np.clip(np.floor((N + 1) * p), m0, N)
        width = int(np.max(np.ceil(12 * sd))) + 40
        lo = np.clip(peak - width, m0, N)
        m = lo[:, None] + np.arange(2 * width + 1)[None, :]
        ok = m <= N
        m = np.minimum(m, N)
    else:
        m = np.broadcast_to(np.arange(m0, dtype=float), (lr.size, m0))
        ok = np.ones(m.shape, bool)
    lt = np.where(ok, _lnbinom(N, m) + m * lr[:, None], -np.inf)
    top = np.max(lt, -1)
    w = np.exp(lt - top[:, None])
    s0 = np.sum(w, -1)
    em = np.sum(w * m, -1) / s0
    vm = np.sum(w * (m - em[:, None]) ** 2, -1) / s0
    return top + np.log(s0), em, vm


#: direct series for T(rho) = sum_{m >= m0} C(N, m) rho^m while |C(N, m0+1)/C(N, m0) rho| <= this
_DIRECT_RATIO = 0.9
_DIRECT_TERMS = 400


def _upper_complex(N, m0, lr):
    """``(ln T, ln err)``: ``T = sum_{m >= m0} C(N, m) rho^m`` at complex ``ln rho = lr`` and a bound on
    its rounding error: the direct series where its ratio is small, else ``(1 + rho)^N`` minus the
    terms ``m < m0`` (the error is then ``1e-16`` times the larger of the two)."""
    if m0 == 0:
        l1 = _log1pexp(lr)
        return N * l1, np.full(lr.shape, -np.inf)
    r0 = (N - m0) / (m0 + 1) * np.exp(lr.real)
    direct = r0 <= _DIRECT_RATIO
    lnT = np.empty(lr.shape, complex)
    lerr = np.empty(lr.shape)
    if direct.any():
        ld = lr[direct]
        nt = int(min(_DIRECT_TERMS, max(2, np.max(np.ceil(45 / -np.log(np.maximum(r0[direct], 1e-300))))) + 1))
        j = np.arange(nt)
        ratio = np.clip(N - m0 - j, 0, None) / (m0 + 1 + j)  # term j+1 / term j, times rho
        prods = np.cumprod(ratio[None, :-1] * np.exp(ld)[:, None], -1)
        s = 1 + np.sum(prods, -1)
        lnT[direct] = _lnbinom(N, m0) + m0 * ld + np.log(s)
        lerr[direct] = lnT[direct].real - 16 * math.log(10) + math.log(nt)
    if (~direct).any():
        lc = lr[~direct]
        full = N * _log1pexp(lc)
        m = np.arange(m0, dtype=float)
        lt = _lnbinom(N, m)[None, :] + m[None, :] * lc[:, None]
        low = _logsum(lt, np.ones(m0))
        ref = np.maximum(full.real, low.real)
        lnT[~direct] = ref + np.log(np.exp(full - ref) - np.exp(low - ref))
        lerr[~direct] = ref - 16 * math.log(10) + math.log(m0 + 1.0)
    return lnT, lerr


def _log1pexp(lr):
    """``ln(1 + e^lr)`` for complex ``lr``."""
    big = lr.real > 0
    return np.where(big, lr + _clog1p(np.exp(-np.where(big, lr, 0))), _clog1p(np.exp(np.where(big, 0, lr))))


def _lower_complex(N, m0, lr):
    """``ln sum_{m < m0} C(N, m) rho^m`` at complex ``ln rho = lr``."""
    m = np.arange(m0, dtype=float)
    return _logsum(_lnbinom(N, m)[None, :] + m[None, :] * lr[:, None], np.ones(m0))


class _SplitTransform:
    """The part ``G`` (``m < m0`` other keys above ``x``; ``upper=False``) or ``H`` (``m >= m0``) of
    ``M^N``, per key (``ln G / N`` and so on), in the interface of :func:`._laplace._saddle` and
    :func:`._laplace._cdf` (``(n - 1) ln L`` is then ``ln G``)."""

    def __init__(self, x, sigma, eps, m, N, m0, upper):
        self.x, self.sigma, self.eps, self.m = np.asarray(x, float), sigma, eps, m
        self.N, self.m0, self.upper = N, m0, upper
        self.rule = gauss_legendre(m)

    def real(self, th):
        with np.errstate(all="ignore"):
            lb, k1b, k2b, la, k1a, k2a = _parts_real(self.x, np.asarray(th, float), self.sigma, self.eps, self.rule)
            if self.upper and self.m0 == 0:
                lt, em, vm = self._full_real(la - lb)
            else:
                lt, em, vm = _weights_real(self.N, self.m0, la - lb, self.upper)
            N = self.N
            k1 = k1b + em * (k1a - k1b) / N
            k2 = (N * k2b + em * (k2a - k2b) + vm * (k1a - k1b) ** 2) / N
            return lb + lt / N, k1, k2

    def _full_real(self, lr):
        p = 1 / (1 + np.exp(-lr))
        return self.N * np.logaddexp(0, lr), self.N * p, self.N * p * (1 - p)

    def log(self, z, ri):
        """``ln G / N`` on the hyperbola (``Im z >= 0``); ``ln H / N`` when ``upper`` (a negative
        control only: the hyperbola is not a valid contour for ``H``)."""
        with np.errstate(all="ignore"):
            z, ri = np.asarray(z, complex), np.asarray(ri)
            out = np.empty(z.shape, complex)
            for i in range(0, z.size, 4096):
                lb, la = self._parts_any(z[i:i + 4096], self.x[ri[i:i + 4096]])
                lr = la - lb
                lt = _upper_complex(self.N, self.m0, lr)[0] if self.upper else _lower_complex(self.N, self.m0, lr)
                out[i:i + 4096] = lb + lt / self.N
            return out

    def _parts_any(self, z, x):
        """``(ln Lam_<, ln Lam_>)`` at any ``z`` with ``Im z >= 0``: the deformed paths where the one of
        ``Lam_>`` converges (``arg z - sigma y <= pi/2 - 0.3``), else ``Lam_>`` as E7's ``L`` minus its
        entire part below ``x`` (the continuation of the present route)."""
        s, e = self.sigma, self.eps
        lb, la = _parts_line(z, x, s, e, self.rule)
        beta = np.angle(z)
        bad = beta - np.minimum(beta / s, _Y_MAX) * s > np.pi / 2 - 0.3
        if bad.any():
            zb, xb = z[bad], x[bad]
            lnL = _log_laplace(zb * (e * np.exp(-s * xb)), s, self.m)
            X, W = pieces(*self.rule, list(_below_pts(xb, np.abs(zb), s, (1 - e, e))))
            ld = _logsum(_lphi(X) - zb[:, None] * (e * np.exp(s * (X - xb[:, None]))), W)
            ref = np.maximum(lnL.real, ld.real)
            la[bad] = ref + np.log(np.exp(lnL - ref) - np.exp(ld - ref))
        return lb, la


#: the vertical-line trapezoid: block size, cut (relative to the vertex term), halvings, blocks
_LINE_TRUNC = 1e-18
_LINE_MAX_BLOCKS = 1500
#: rounding error accepted in the line's sum, relative to it (``T`` by subtraction)
_LINE_ERR = 1e-11


def _line_cdf(x, n, sigma, eps, m, m0, offset, frac, floor=None):
    """:func:`_line_cdf_once` with the pole taken out where it applies; nodes where that does not
    converge are done again without (stated rule: convergence decides)."""
    h, S, conv, pole = _line_cdf_once(x, n, sigma, eps, m, m0, offset, frac, floor, True)
    redo = pole & ~conv
    if redo.any():
        fl = None if floor is None else floor[redo]
        h[redo], S[redo], conv[redo], _ = _line_cdf_once(x[redo], n, sigma, eps, m, m0, offset, frac, fl, False)
    return h, S, conv


def _line_cdf_once(x, n, sigma, eps, m, m0, offset, frac, floor, use_pole):
    """``F_H(1 - eps) = e^h S`` for the nodes ``x``: ``(h, S, converged)``, ``H = sum_{m >= m0}`` on the
    vertical line through the saddle ``gamma`` of ``h(theta) = theta (1-eps) + ln H - ln theta`` (moved
    right by ``offset / sqrt(h'')``). Trapezoid in ``tau`` (``theta = gamma + i tau``), first step
    ``frac / sqrt(h'')`` (at most ``2 pi gamma / 40``: the aliased copies are then ``e^-40`` down), halved
    until two steps agree to ``_HALVE_TOL``. Nodes whose bound ``F_H <= e^h`` is below ``e^floor`` are
    not marched (``S = 0``, counted as converged). ``use_pole``: see :func:`_pole_subtraction`.
    Returns ``(h, S, converged, pole)``."""
    N = n - 1
    tf = _SplitTransform(x, sigma, eps, m, N, m0, True)
    r = np.full(x.shape, 1 - eps)
    gam, h0, h2 = _saddle(r, n, sigma, m, tf=tf)
    if offset:
        gam = gam + offset / np.sqrt(h2)
        lt, _, _ = tf.real(gam)
        h0 = gam * r + N * lt - np.log(gam)
    todo = np.isfinite(h0) & np.isfinite(h2)
    conv = ~todo
    if floor is not None:
        small = h0 < floor
        conv |= small
        todo &= ~small
    sub, base, dt_pole = _pole_subtraction(tf, x, gam, h0, r, offset, todo & use_pole)
    dt = np.minimum(frac / np.sqrt(h2), 2 * np.pi * gam / 40)
    dt = np.where(np.isfinite(sub[0]), dt_pole * (4 * frac), dt)
    todo &= np.isfinite(dt) & (dt > 0)
    conv |= ~todo & ~np.isfinite(h0)
    S = np.zeros(x.shape)
    idx = np.nonzero(todo)[0]
    pole = np.isfinite(sub[0])
    if not idx.size:
        return h0, S, conv, pole
    s_prev, err, ok_m = _line_march(idx, dt, 0.0, gam, h0, tf, sub)
    S[idx] = dt[idx] / np.pi * s_prev
    for _ in range(_MAX_HALVINGS):
        mid, e2, ok2 = _line_march(idx, dt, 0.5, gam, h0, tf, sub)
        S_new = dt[idx] / (2 * np.pi) * (s_prev + mid)
        err = err + e2
        ok_m &= ok2
        good = np.abs(S_new - S[idx]) <= _HALVE_TOL * np.abs(S_new + base[idx])
        s_prev = s_prev + mid
        dt[idx] /= 2
        S[idx] = S_new
        conv[idx] = good & ok_m & (err * dt[idx] / np.pi <= _LINE_ERR * np.abs(S_new + base[idx]))
        keep = ~good
        idx, s_prev, err, ok_m = idx[keep], s_prev[keep], err[keep], ok_m[keep]
        if not idx.size:
            break
    return h0, S + base, conv, pole


#: the pole is taken out where ``gamma s`` is below this
_POLE_GS = 1.0


def _pole_subtraction(tf, x, gam, h0, r, offset, todo):
    """Where the saddle is inside the pole's reach (``gamma s < 1``, ``s^2`` the tilted variance of ``S``:
    ``F_H`` is near its total mass ``H(0)``, and a line at ``gamma`` would need steps ``~ gamma / 6``), take
    out ``H(0) e^{-theta mu + theta^2 s^2 / 2} / theta`` (the transform of ``H(0) N(mu, s^2)``, inverted in
    closed form: ``H(0) Phi((r - mu)/s)``) and put the line of the remainder, which has no pole, at
    ``gamma = min(1, 8/z) / s`` (``z = (r - mu)/s``; the two parts of the remainder then cancel by at most
    ``e^8``; times ``1 + offset/4``). Its trapezoid step is ``2 pi / L``, ``L = (z + 12) s``: the aliased
    copies sit at ``r +- L``, where the remainder is ``F_H - H(0) Phi`` in the upper tails (both small)
    or below ``mu - 12 s`` (both negligible even times ``e^{gamma L}``). Changes ``gam`` and ``h0`` in
    place there; returns ``((ln H(0), mu, s), base, step)``, ``base = H(0) Phi(z) e^-h0`` (0 and
    ``ln H(0) = -inf`` elsewhere)."""
    N = tf.N
    lt, k1, k2 = tf.real(gam)
    sd, mu = np.sqrt(N * k2), N * k1
    pole = todo & (gam * sd < _POLE_GS) & (sd > 0)
    lnH0 = np.full(x.shape, -np.inf)
    base = np.zeros(x.shape)
    step = np.full(x.shape, np.nan)
    if pole.any():
        xp = x[pole]
        lb0, la0 = log_ndtr(xp), log_ndtr(-xp)
        if tf.m0 == 0:
            lnH0[pole] = 0.0
        else:
            lnH0[pole] = N * lb0 + _weights_real(N, tf.m0, la0 - lb0, True)[0]
        zz = (r[pole] - mu[pole]) / sd[pole]
        g1 = np.minimum(1.0, 8.0 / np.maximum(zz, 1.0)) / sd[pole] * (1 + offset / 4)
        gam[pole] = g1
        lt1, _, _ = tf.real(gam)
        h_line = g1 * r[pole] + N * lt1[pole] - np.log(g1)
        h_sub = lnH0[pole] + g1 * (r[pole] - mu[pole]) + (g1 * sd[pole]) ** 2 / 2 - np.log(g1)
        h0[pole] = np.maximum(h_line, h_sub)
        base[pole] = np.exp(lnH0[pole] + log_ndtr(zz) - h0[pole])
        step[pole] = 2 * np.pi / ((np.maximum(zz, 0.0) + 12) * sd[pole])
    return (lnH0, mu, sd), base, step


def _line_march(idx, dt, shift, gam, h0, tf, sub):
    """Trapezoid sums ``sum_k w_k Re f((k + shift) dt)`` on the line for the nodes ``idx``, the sum of
    their rounding-error bounds and whether the cut was reached."""
    total = np.zeros(idx.size)
    err = np.zeros(idx.size)
    live = np.ones(idx.size, bool)
    nblk = np.zeros(idx.size, int)
    k0 = 0
    c = 1 - tf.eps
    while live.any():
        j = np.nonzero(live)[0]
        k = k0 + np.arange(_BLOCK)
        tau = (k[None, :] + shift) * dt[idx[j], None]
        ri = np.repeat(idx[j], _BLOCK)
        z = gam[ri] + 1j * tau.ravel()
        lb, la = _parts_line(z, tf.x[ri], tf.sigma, tf.eps, tf.rule)
        lt, lerr = _upper_complex(tf.N, tf.m0, la - lb)
        base = z * c + tf.N * lb - np.log(z) - h0[ri]
        lnH0, mu, sd = (v[ri] for v in sub)
        f = np.exp(base + lt) - np.exp(z * c - np.log(z) - h0[ri] + lnH0 - z * mu + (z * sd) ** 2 / 2)
        f = f.reshape(j.size, _BLOCK)
        fe = np.exp(base.real + lerr).reshape(j.size, _BLOCK)
        f = np.where(np.isfinite(f), f, 0.0)
        re = f.real
        if k0 == 0 and shift == 0:
            re[:, 0] *= 0.5
        total[j] += re.sum(-1)
        err[j] += np.where(np.isfinite(fe), fe, np.inf).sum(-1)
        nblk[j] += 1
        live[j] = (np.abs(f).max(-1) > _LINE_TRUNC) & (nblk[j] < _LINE_MAX_BLOCKS)
        k0 += _BLOCK
    return total, err, nblk < _LINE_MAX_BLOCKS


def _m0_of(eps):
    """The smallest ``m`` that goes to ``H``: ``m eps >= 1 - eps - eps/4`` (so every term of ``G`` decays on
    the hyperbola's arms at least as ``e^{-|Re theta| eps/4}``, the borderline ``m eps = 1 - eps`` in ``H``)."""
    return int(math.ceil((1 - eps) / eps - 0.25))


#: log of the relative size below which a part (G or H) is left out, by its Chernoff bound
_NEGLIGIBLE = 40.0


def _log_kept_split(x, n, sigma, eps, m, alpha, offset, frac, m0):
    """As :func:`_log_kept` for ``m0 <= n - 1``: ``G`` on the hyperbola plus ``H`` on the vertical line
    (``m0 = 0``: the whole transform on the line)."""
    x = np.asarray(x, float)
    r = np.full(x.shape, 1 - eps)
    with np.errstate(all="ignore"):
        if m0 > 0:
            tf = _SplitTransform(x, sigma, eps, m, n - 1, m0, False)
            g, SG, info = _cdf(r, n, sigma, m, alpha, offset, tf=tf)
            cG = info["converged"] & (info["peak"] <= _PEAK_MAX)
            ln_fg = np.where(cG & (SG > 0), g + np.log(np.abs(SG)), -np.inf)
        else:
            g, SG, cG = np.full(x.shape, -np.inf), np.zeros(x.shape), np.ones(x.shape, bool)
            ln_fg = g
        # a part whose Chernoff bound is e^-_NEGLIGIBLE below the other's value is left out
        h, SH, cH = _line_cdf(x, n, sigma, eps, m, m0, offset, frac, floor=ln_fg - _NEGLIGIBLE)
        ln_fh = np.where(cH & (SH > 0), h + np.log(np.abs(SH)), -np.inf)
        g_small = np.isfinite(ln_fh) & (g < ln_fh - _NEGLIGIBLE)
        cG |= g_small
        g = np.where(g_small, -np.inf, g)
        ref = np.maximum(np.where(np.isfinite(g), g, -np.inf), np.where(np.isfinite(h), h, -np.inf))
        ref = np.where(np.isfinite(ref), ref, -np.inf)
        S = np.where(np.isfinite(g), SG * np.exp(g - ref), 0.0) + np.where(np.isfinite(h), SH * np.exp(h - ref), 0.0)
        S = np.where(np.isfinite(S), S, 0.0)
    return -x * x / 2 - _LN_SQRT_2PI + ref, S, cG & cH


class _SplitOuter:
    def __init__(self, n, sigma, eps, m, alpha, offset, frac, m0):
        self.args = (n, sigma, eps, m, alpha, offset, frac, m0)

    def log_f(self, x):
        return _log_kept_split(x, *self.args)


#: the split route's two evaluations: (points per piece, hyperbola angle, vertex offset, first step
#: on the line in units of 1/sqrt(h''))
_SPLIT_A = (24, 0.5, 0.0, 0.25)
_SPLIT_B = (28, 0.4, 0.5, 0.2)


def _evaluate_split(n, sigma, eps, dps, m0):
    """``(K, v_a, v_b)`` of the split route (outer rules as :func:`_evaluate_adaptive`)."""
    va, vb = _SPLIT_A, _SPLIT_B
    K, lo, hi, ln_p_lo = _outer_range(n, sigma, eps, va[0])
    edges = np.linspace(lo, hi, int(math.ceil((hi - lo) / 0.5)) + 1)
    try:
        v_a, a, b = _integrate_adaptive(_SplitOuter(n, sigma, eps, *va, m0), edges, K, tol=10.0 ** (-dps - 3))
        v_b = _integrate_fixed(_SplitOuter(n, sigma, eps, *vb, m0), a, b, K)
    except PrecisionError as err:
        raise PrecisionError(f"E k_eps (n={n}, sigma={sigma:g}, eps={eps:g}, split at m0={m0}): "
                             f"{str(err).replace('E7: ', '')}") from None
    _check_tails(lo, hi, ln_p_lo, K, v_a, 10.0 ** (-dps - 2), "E k_eps")
    return K, v_a, v_b
