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

Domain: ``n eps < 1``. Expanding ``M^{n-1}`` by the number ``m`` of other keys above ``x``, each such
key contributes ``e^{-theta eps}`` times a transform that decays on the hyperbola's arms, so the
term ``m`` behaves as ``e^{theta (1 - eps - m eps)}`` as ``Re theta -> -inf``: the arms bending into
``Re theta < 0`` are a valid Bromwich contour only when ``(n - 1) eps < 1 - eps``. For ``n eps >= 1``
the bad terms grow (the march does not converge, or worse, seems to), and a vertical contour
decays far too slowly (``|M(c + i tau)|^{n-1}`` is ~e^-30 only at ``tau ~ 10^5 c`` in the condensed
phase): :func:`eval_k_eps` raises ``PrecisionError`` there.

Confirmation: two evaluations that differ in every discretisation (Gauss-Legendre order of the
transforms, hyperbola angle, contour vertex offset, trapezoid grid, outer rule) must agree to
``dps`` digits, else :class:`~attnsparse.numeric.quadrature.PrecisionError`.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np

from ..quadrature import PrecisionError, gauss_legendre, pieces
from ._laplace import (_cdf, _check_tails, _clog1p, _confirmed_pair, _integrate_adaptive, _integrate_fixed,
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


def eval_k_eps(dps, n, sigma, eps):
    r"""``E k_eps`` for IID ``N(0, sigma^2)`` logits, by Laplace inversion (float64, ``dps <= 12``).

    .. math:: \mathbb{E} k_\epsilon = n \int \phi(x)\, \frac{1}{2\pi i}\int e^{\vartheta(1-\epsilon)}
              M(\vartheta; x)^{n-1} \frac{d\vartheta}{\vartheta}\, dx.

    Arguments are checked by the caller (:func:`attnsparse.numeric.exact.eval_k_eps`). Returns an
    mpf at ``dps`` digits confirmed by two evaluations that differ in every discretisation;
    otherwise raises :class:`~attnsparse.numeric.quadrature.PrecisionError`.
    """
    if not n * eps < 1:
        raise PrecisionError(f"E k_eps (n={n}, eps={eps:g}): this route needs n eps < 1, got n eps = {n * eps:g}: "
                             f"beyond, the terms with m keys above x and m eps > 1 - eps grow on the hyperbola's "
                             f"arms as e^{{|Re theta| (m eps - 1 + eps)}}, so the contour is not valid")
    with mp.workdps(20):
        v = _confirmed_pair(*_evaluate_adaptive(n, sigma, eps, dps), dps,
                            f"E k_eps (n={n}, sigma={sigma:g}, eps={eps:g})") * n
    with mp.workdps(dps):
        return +v
