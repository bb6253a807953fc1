r"""(E7) ``P(p_1 > eps)`` and ``E N_eps`` for IID Gaussian logits by Laplace inversion.

For ``s_j = sigma X_j`` (``X_j ~ N(0, 1)`` iid, ``j = 1..n``) and ``c_eps = (1 - eps)/eps``,
``p_1 > eps`` iff ``R < c_eps e^{sigma X_1}`` with ``R = sum_{j >= 2} e^{sigma X_j}``, so

.. math:: \mathbb{P}(p_1 > \epsilon) = \int\phi(x)\,F_R(c_\epsilon e^{\sigma x})\,dx, \qquad
          \int_0^\infty e^{-\theta r} F_R(r)\,dr = \frac{L(\theta)^{n-1}}{\theta},

``L(theta) = E exp(-theta e^{sigma X})`` (docs/theory.md, section 4, E7).

Design (float64 / complex128 throughout, vectorised over many ``theta`` at once):

* ``L`` at complex ``theta``. ``L`` is analytic in the plane cut along ``(-inf, 0]``: moving the
  x-integral to the line ``x + i a`` gives ``L(theta) = int phi(x + i a) exp(-theta e^{sigma(x+ia)}) dx``
  for every ``a`` with ``|arg theta + sigma a| < pi/2``. ``a`` is taken from the saddle point of the
  x-integrand (a Lambert W), clipped to ``|a| <= ROTATE_MAX`` so that ``|phi(x + ia)| / phi(x)
  = e^{a^2/2}`` stays small, and widened only as far as convergence needs. The x-integral is
  Gauss-Legendre (48 or 60 points) on pieces split at 0, +-8, at the switch point
  ``x_s = -ln|theta|/sigma`` of the exponential (and ``x_s +- 3/sigma``) and where it has decayed
  to ``e^{-45}``; the range is ``[-16, 16 + sigma]``.
  ``ln L = log1p(-M)`` with ``M = 1 - L`` integrated directly (``expm1``) while ``|M| < 1/2``,
  so ``(n - 1) ln L`` keeps its digits when ``theta`` is small.
* ``F_R(r)`` by the Bromwich integral on a hyperbola ``theta(u) = mu (1 + sin(iu - alpha))`` whose
  vertex is the saddle point ``c`` of ``g(theta) = theta r + (n-1) ln L(theta) - ln theta``
  (convex on ``(0, inf)``: a unique minimum). On the vertical direction through the saddle the
  integrand has no cancellation, so ``F_R(r) = e^{g(c)} S`` with ``S = O(1)`` holds to relative
  accuracy even where ``F_R`` is astronomically small. The arms bend into the left half-plane by
  the angle ``alpha`` so that ``e^{theta r}`` damps them at large ``r`` (a vertical line would need
  a trapezoid period longer than ``r``). The trapezoid rule in ``u`` converges geometrically; its
  step is halved until two steps agree, and the sum is cut where the terms are negligible.
* The outer x-integral is adaptive Gauss-Kronrod (7/15 points) on ``[x_lo, x_hi]``, kept in the
  log scale (``F_R`` and ``phi`` may both underflow). The cut tails are bounded by
  ``F_R(r(x_lo)) Phi(x_lo)`` and ``Phibar(x_hi)``.

Confirmation: two evaluations that differ in every discretisation (the contour vertex moved off
the saddle, the hyperbola angle, the trapezoid step and offset, the Gauss-Legendre order of
the x-integrals, and the outer rule) must agree to ``dps`` significant digits, else
:class:`~attnsparse.numeric.quadrature.PrecisionError`.

The rules (Gauss-Legendre, Gauss-Kronrod 7/15, composite pieces) come from
:mod:`attnsparse.numeric.quadrature`; the public functions are re-exported by
:mod:`attnsparse.numeric.exact`.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
from scipy.special import lambertw, log_ndtr

from ..quadrature import PrecisionError, gauss_kronrod15, gauss_legendre, pieces

__all__ = ["eval_prob_weight_above", "eval_count_above", "E7_DPS"]

#: confirmed digits served (float64 arithmetic: 12 is the ceiling)
E7_DPS = (5, 12)
#: largest imaginary shift of the x-contour of L without need (|phi(x+ia)|/phi(x) = e^{a^2/2})
ROTATE_MAX = 1.5
_LN_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_GAUSS_SPLITS = (-8.0, 0.0, 8.0)
_SWITCH_SPLITS = (-3.0, 0.0, 3.0)


def _piece_nodes(rule, pts):
    """Nodes and weights on the pieces between consecutive rows of ``pts`` (shape (P+1, N))."""
    return pieces(*rule, list(pts))


# ----------------------------------------------------------------------------- L(theta)
def _x_shift(theta, sigma):
    """Imaginary shift ``a`` of the x-contour for each ``theta`` (see the module docstring)."""
    beta = np.angle(theta)
    a = -np.imag(lambertw(sigma * sigma * theta)) / sigma
    a = np.clip(a, -ROTATE_MAX, ROTATE_MAX)
    # convergence at x -> +inf: |beta + sigma a| <= pi/2 - 0.3
    lim = np.pi / 2 - 0.3
    a = np.clip(a, (-lim - beta) / sigma, (lim - beta) / sigma)
    return a


def _log_laplace(theta, sigma, points, chunk=2048):
    """``ln L(theta)`` for a complex array ``theta`` (``|arg theta| < pi``), complex128, by
    ``points``-point Gauss-Legendre on every piece of the x-integral."""
    theta = np.asarray(theta, dtype=complex).ravel()
    out = np.empty(theta.shape, complex)
    rule = gauss_legendre(points)
    for i in range(0, theta.size, chunk):
        out[i:i + chunk] = _log_laplace_chunk(theta[i:i + chunk], sigma, rule)
    return out


def _log_laplace_chunk(theta, sigma, rule):
    with np.errstate(all="ignore"):  # e^{huge} -> inf -> e^{-inf} = 0; unused np.where branches
        return _log_laplace_chunk_(theta, sigma, rule)


def _log_laplace_chunk_(theta, sigma, rule):
    a = _x_shift(theta, sigma)
    rho = np.abs(theta)
    beta = np.angle(theta) + sigma * a  # arg of theta e^{i sigma a}, |.| < pi/2
    xs = -np.log(rho) / sigma  # switch point of exp(-rho e^{sigma x})
    xe = xs + np.log(45 / np.cos(beta)) / sigma  # |exp(...)| < e^{-45} beyond
    lo = np.full_like(rho, -16.0)
    hi = np.full_like(rho, 16.0 + sigma)
    inner = [np.full_like(rho, v) for v in _GAUSS_SPLITS]
    inner += [xs + v / sigma for v in _SWITCH_SPLITS] + [xe]
    inner = np.sort(np.clip(np.stack(inner), lo, hi), axis=0)
    pts = np.concatenate([lo[None], inner, hi[None]])
    X, W = _piece_nodes(rule, pts)
    # phi(x + ia) = e^{a^2/2} phi(x) e^{-iax}; zeta = theta e^{i sigma a} e^{sigma x}
    lphi = (a * a / 2)[:, None] - X * X / 2 - _LN_SQRT_2PI
    p = -a[:, None] * X
    cp, sp_ = np.cos(p), np.sin(p)
    zeta = (theta * np.exp(1j * sigma * a))[:, None] * np.exp(sigma * X)
    ar, b = np.minimum(-zeta.real, 0.0), -zeta.imag  # exp(-zeta) = e^{ar} (cos b + i sin b)
    cb, sb = np.cos(b), np.sin(b)
    one_m_cb = np.where(cb > 0, sb * sb / (1 + cb), 1 - cb)
    em1 = np.expm1(ar)
    # M = int phi(x + ia) (1 - exp(-zeta)) dx, 1 - exp(-zeta) = -(em1 cb - (1 - cb)) - i e^{ar} sb
    f_re, f_im = one_m_cb - em1 * cb, -(em1 + 1) * sb
    wphi = W * np.exp(lphi)
    M = np.sum(wphi * ((cp * f_re - sp_ * f_im) + 1j * (cp * f_im + sp_ * f_re)), -1)
    # L in the log scale (it underflows when theta is large)
    e = lphi + ar
    m = np.max(e, -1)
    q = W * np.exp(e - m[:, None])
    cpb, spb = cp * cb - sp_ * sb, sp_ * cb + cp * sb
    L = np.sum(q * cpb, -1) + 1j * np.sum(q * spb, -1)
    return np.where(np.abs(M) < 0.5, _clog1p(-M), m + np.log(L))


def _clog1p(z):
    """``ln(1 + z)`` for complex ``z`` without cancellation near 0."""
    # ln|1+z| = 0.5 log1p(2 Re z + |z|^2); arg(1+z) = atan2(Im z, 1 + Re z)
    re = 0.5 * np.log1p(2 * z.real + (z.real ** 2 + z.imag ** 2))
    return re + 1j * np.arctan2(z.imag, 1 + z.real)


def _laplace_real(theta, sigma, m):
    """``ln L``, the tilted mean ``kappa1 = L_1/L`` and variance ``kappa2`` of ``w = e^{sigma X}``
    at real ``theta > 0`` (arrays), ``L_k(theta) = E[w^k e^{-theta w}]``; ``m``-point Gauss-Legendre."""
    theta = np.asarray(theta, float)
    rule = gauss_legendre(m)
    xs = -np.log(theta) / sigma
    xe = xs + math.log(45) / sigma
    lo = np.full_like(theta, -16.0)
    hi = np.full_like(theta, 16.0 + 2 * sigma)
    inner = [np.full_like(theta, v) for v in _GAUSS_SPLITS] + [np.full_like(theta, 2 * sigma)]
    inner += [xs + v / sigma for v in _SWITCH_SPLITS] + [xe]
    inner = np.sort(np.clip(np.stack(inner), lo, hi), axis=0)
    X, W = _piece_nodes(rule, np.concatenate([lo[None], inner, hi[None]]))
    with np.errstate(all="ignore"):
        w = np.exp(sigma * X)
        zeta = theta[:, None] * w
        lphi = -X * X / 2 - _LN_SQRT_2PI
        M = -np.sum(W * np.exp(lphi) * np.expm1(-np.minimum(zeta, 800.0)), -1)
        e = lphi - zeta
        top = np.max(e, -1)
        p = W * np.exp(e - top[:, None])
        L0 = np.sum(p, -1)
        k1 = np.sum(p * w, -1) / L0
        k2 = np.sum(p * (w - k1[:, None]) ** 2, -1) / L0
        lnL = np.where(M < 0.5, np.log1p(-M), top + np.log(L0))
    return lnL, k1, k2


def _saddle(r, n, sigma, m, iters=60, tf=None):
    """The minimiser ``c`` of ``g(theta) = theta r + (n-1) ln L(theta) - ln theta`` for each ``r``
    (safeguarded Newton in ``ln theta``), with ``g(c)`` and ``g''(c)``.

    ``tf``: another transform in place of ``L`` (an object whose ``real(theta)`` returns ``ln L``
    and the tilted mean and variance of the key's variable, one ``theta`` per ``r``; its ``log(z, ri)``
    is the complex ``ln L`` at ``z`` for the entries ``ri``); None: E7's ``L``."""
    with np.errstate(all="ignore"):
        return _saddle_(np.asarray(r, float), n, sigma, m, iters, _real_of(tf, sigma, m))


def _real_of(tf, sigma, m):
    """``theta -> (ln L, kappa1, kappa2)`` of the transform ``tf`` (None: E7's ``L``)."""
    return (lambda th: _laplace_real(th, sigma, m)) if tf is None else tf.real


def _saddle_(r, n, sigma, m, iters, real):
    v = -np.log(r)  # theta = 1/r: theta g'(theta) < 0 there
    lo = np.full_like(r, -np.inf)
    hi = np.full_like(r, np.inf)
    for _ in range(iters):
        th = np.exp(v)
        lnL, k1, k2 = real(th)
        hv = th * r - (n - 1) * th * k1 - 1  # theta g'(theta)
        lo = np.where(hv < 0, np.maximum(lo, v), lo)
        hi = np.where(hv > 0, np.minimum(hi, v), hi)
        dh = hv + (n - 1) * th * th * k2 + 1  # d(theta g')/d ln theta = theta g' + theta^2 g''
        step = -hv / dh
        new = v + np.clip(step, -2.0, 2.0)
        bad = ~((new > lo) & (new < hi))
        mid = np.where(np.isfinite(lo) & np.isfinite(hi), (lo + hi) / 2,
                       np.where(np.isfinite(lo), lo + 2.0, hi - 2.0))
        new = np.where(bad, mid, new)
        done = np.abs(new - v) < 1e-15 * np.maximum(1.0, np.abs(v))
        v = new
        if np.all(done):
            break
    c = np.exp(v)
    lnL, k1, k2 = real(c)
    g = c * r + (n - 1) * lnL - v
    g2 = (n - 1) * k2 + 1 / (c * c)
    return c, g, g2


#: u-nodes per block of the trapezoid march; a block whose terms are all below
#: _TRUNC (relative to the vertex term, which is 1) ends the march
_BLOCK = 16
_TRUNC = 1e-18
#: relative agreement of the trapezoid sums at steps h and h/2 that ends the halving (the
#: trapezoid rule converges geometrically: the finer sum is then accurate to about its square)
_HALVE_TOL = 1e-9
_MAX_BLOCKS = 400
_MAX_HALVINGS = 8


def _terms(u, ri, r, mu, alpha, g0, n, sigma, m, tf=None):
    """Re of the normalised Bromwich integrand ``e^{z r} L(z)^{n-1} z'(u) / (i mu z e^{g0})`` at ``u``
    (1 at the vertex when it is the saddle), and its modulus (``tf``: see :func:`_saddle`)."""
    z = mu[ri] * (1 + np.sin(1j * u - alpha[ri]))
    dz = np.cos(1j * u - alpha[ri])  # z'(u)/(i mu)
    lnL = _log_laplace(z, sigma, m) if tf is None else tf.log(z, ri)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        e = z * r[ri] + (n - 1) * lnL - np.log(z) - g0[ri]
        t = np.exp(e) * dz
    return np.where(np.isfinite(t), t.real, 0.0), np.abs(np.where(np.isfinite(t), t, 0.0))


def _march(active, h, shift, r, mu, alpha, g0, n, sigma, m, tf=None, peak=None):
    """Trapezoid sums ``sum_{k>=0} w_k Re f((k + shift) h)`` (``w_0 = 1/2`` when ``shift = 0``)
    for the indices ``active``, marching block by block until the terms are negligible; ``peak``
    (if given) is raised to the largest modulus of a term seen, per index of ``r``."""
    total = np.zeros(active.size)
    nblk = np.zeros(active.size, int)
    live = np.ones(active.size, bool)
    k0 = 0
    while live.any():
        idx = np.nonzero(live)[0]
        k = k0 + np.arange(_BLOCK)
        u = ((k[None, :] + shift) * h[idx, None]).ravel()
        ri = np.repeat(active[idx], _BLOCK)
        re, ab = _terms(u, ri, r, mu, alpha, g0, n, sigma, m, tf)
        re, ab = re.reshape(idx.size, _BLOCK), ab.reshape(idx.size, _BLOCK)
        if k0 == 0 and shift == 0:
            re[:, 0] *= 0.5
        total[idx] += re.sum(-1)
        nblk[idx] += 1
        if peak is not None:
            peak[active[idx]] = np.maximum(peak[active[idx]], ab.max(-1))
        live[idx] = (ab.max(-1) > _TRUNC) & (nblk[idx] < _MAX_BLOCKS)
        k0 += _BLOCK
    return total, nblk


def _cdf(r, n, sigma, m, alpha=0.5, offset=0.0, tf=None):
    """``F_R(r) = e^{g} S`` for an array ``r``: returns ``(g, S, info)``.

    The contour vertex is the saddle ``c`` moved right by ``offset / sqrt(g''(c))``; the
    hyperbola ``mu (1 + sin(iu - alpha))`` has asymptotic angle ``pi/2 + alpha``. The trapezoid
    step in ``u`` starts at a quarter of the Gaussian width of the integrand at the vertex and is
    halved (the new nodes are the midpoints) until two steps agree to ``_HALVE_TOL``;
    ``info["converged"]`` is False where they never did; ``info["peak"]``: the largest term
    modulus met (relative to the vertex's, 1 at the saddle; its log10 is about the digits lost to
    cancellation). ``m``: Gauss-Legendre points per piece
    of the x-integrals of ``L``; ``tf``: another transform in place of ``L`` (see :func:`_saddle`).
    """
    r = np.asarray(r, float)
    c, g, g2 = _saddle(r, n, sigma, m, tf=tf)
    if offset:
        c = c + offset / np.sqrt(g2)
        lnL, _, _ = _real_of(tf, sigma, m)(c)
        g = c * r + (n - 1) * lnL - np.log(c)
    alpha = np.broadcast_to(np.asarray(alpha, float), r.shape)
    mu = c / (1 - np.sin(alpha))
    h = np.minimum(0.25 / (mu * np.cos(alpha) * np.sqrt(g2)), 0.25)
    peak = np.zeros(r.size)
    s_prev, blocks = _march(np.arange(r.size), h, 0.0, r, mu, alpha, g, n, sigma, m, tf, peak)
    S = h / np.pi * s_prev
    todo = np.isfinite(g)
    conv = ~todo  # F_R = 0 to double precision where g = -inf
    S = np.where(todo, S, 0.0)
    for _ in range(_MAX_HALVINGS):
        idx = np.nonzero(todo)[0]
        if not idx.size:
            break
        mid, nb = _march(idx, h, 0.5, r, mu, alpha, g, n, sigma, m, tf, peak)
        S_new = h[idx] / (2 * np.pi) * (s_prev[idx] + mid)
        ok = np.abs(S_new - S[idx]) <= _HALVE_TOL * np.abs(S_new)
        blocks[idx] += nb
        s_prev[idx] += mid
        h[idx] /= 2
        S[idx] = S_new
        conv[idx] = ok
        todo[idx] = ~ok
    return g, S * mu, {"c": c, "h": h, "blocks": blocks, "converged": conv, "peak": peak}


# ----------------------------------------------------------------------------- outer integral
def _log_integrand_sp(x, n, sigma, ln_ce, m):
    """Saddle-point estimate of ``ln(phi(x) F_R(c_eps e^{sigma x}))`` (to place the range)."""
    r = np.exp(ln_ce + sigma * x)
    _, g, g2 = _saddle(r, n, sigma, m)
    return -x * x / 2 - _LN_SQRT_2PI + g - 0.5 * np.log(2 * np.pi * g2)


class _Outer:
    """One evaluation of ``P(p_1 > eps)``: its discretisation choices and the F_R calls."""

    def __init__(self, n, sigma, eps, m, alpha, offset):
        self.n, self.sigma, self.m, self.alpha, self.offset = n, sigma, m, alpha, offset
        self.ln_ce = math.log1p(-eps) - math.log(eps)
        self.calls = 0

    def log_f(self, x):
        """``(lnphi + g, S, converged)`` at the outer nodes ``x``: ``phi F_R = e^{lnphi + g} S``."""
        x = np.asarray(x, float)
        r = np.exp(self.ln_ce + self.sigma * x)
        with np.errstate(all="ignore"):
            g, S, info = _cdf(r, self.n, self.sigma, self.m, self.alpha, self.offset)
        self.calls += x.size
        return -x * x / 2 - _LN_SQRT_2PI + g, S, info["converged"]


#: outer range: keep x where the saddle-point estimate of phi F_R is within e^-_RANGE_LOG of its peak
_RANGE_LOG = 60.0
_SCAN_STEP = 0.25
#: an outer piece is bisected while its Gauss-Kronrod error estimate exceeds this times |P|
_PIECE_TOL = 1e-15
_MAX_ROUNDS = 24
_MAX_PIECES = 4000


def _outer_range(n, sigma, eps, m):
    """``(K, x_lo, x_hi, piece edges)``: the log scale ``K`` of the outer integrand, its range and
    starting pieces, from the saddle-point estimate on a grid (shared by both evaluations)."""
    ln_ce = math.log1p(-eps) - math.log(eps)
    x = np.arange(-40.0, 40.0 + _SCAN_STEP / 2, _SCAN_STEP)
    with np.errstate(all="ignore"):
        li = _log_integrand_sp(x, n, sigma, ln_ce, m)
    li = np.where(np.isfinite(li), li, -np.inf)
    K = float(np.max(li))
    if not math.isfinite(K):
        raise PrecisionError("E7: the outer integrand could not be located")
    keep = np.nonzero(li >= K - _RANGE_LOG)[0]
    x_lo = x[max(keep[0] - 1, 0)]
    x_hi = x[min(keep[-1] + 1, x.size - 1)]
    edges = np.linspace(x_lo, x_hi, int(math.ceil((x_hi - x_lo) / 0.5)) + 1)
    ln_f_lo = li[max(keep[0] - 1, 0)] + 0.5 * x_lo * x_lo + _LN_SQRT_2PI  # ~ ln F_R at x_lo
    return K, x_lo, x_hi, edges, ln_f_lo


def _integrate_adaptive(ev, edges, K, tol=_PIECE_TOL):
    """Adaptive Gauss-Kronrod (7/15) of ``e^{-K} phi F_R``; returns (value, final edges). A piece is
    bisected while its error estimate exceeds ``tol`` times the running total."""
    gx, wk, wg = gauss_kronrod15()
    a, b = edges[:-1].copy(), edges[1:].copy()
    done_val = 0.0
    done_a, done_b = [], []
    for _ in range(_MAX_ROUNDS):
        half = (b - a) / 2
        X = ((a + b) / 2)[:, None] + half[:, None] * gx
        lf, S, conv = ev.log_f(X.ravel())
        with np.errstate(under="ignore", over="ignore"):
            f = (np.exp(lf - K) * S).reshape(X.shape)
        bad = ~conv.reshape(X.shape) & (np.abs(f) > 1e-17)
        if bad.any():
            raise PrecisionError("E7: the trapezoid sum of the Bromwich integral did not converge")
        vk = half * (f @ wk)
        err = np.abs(vk - half * (f @ wg))
        total = done_val + vk.sum()
        ok = err <= tol * abs(total)
        done_val += vk[ok].sum()
        done_a += list(a[ok])
        done_b += list(b[ok])
        a, b = a[~ok], b[~ok]
        if not a.size:
            break
        if len(done_a) + 2 * a.size > _MAX_PIECES:
            raise PrecisionError("E7: too many pieces in the outer integral")
        mid = (a + b) / 2
        a, b = np.concatenate([a, mid]), np.concatenate([mid, b])
    else:
        raise PrecisionError("E7: the outer integral did not converge")
    order = np.argsort(done_a)
    return done_val, np.asarray(done_a)[order], np.asarray(done_b)[order]


def _integrate_fixed(ev, a, b, K, split=0.4, points=8):
    """``e^{-K} int phi F_R`` with ``points``-point Gauss-Legendre on both parts of every piece
    ``[a, b]`` cut at ``a + split (b - a)`` (nodes unrelated to the Gauss-Kronrod ones)."""
    x, w = gauss_legendre(points)
    c = a + split * (b - a)
    A = np.concatenate([a, c])
    B = np.concatenate([c, b])
    half = (B - A) / 2
    X = ((A + B) / 2)[:, None] + half[:, None] * x
    lf, S, conv = ev.log_f(X.ravel())
    with np.errstate(under="ignore", over="ignore"):
        f = (np.exp(lf - K) * S).reshape(X.shape)
    if (~conv.reshape(X.shape) & (np.abs(f) > 1e-17)).any():
        raise PrecisionError("E7: the trapezoid sum of the Bromwich integral did not converge")
    return float(np.sum(half * (f @ w)))


# ----------------------------------------------------------------------------- public API
#: the two evaluations compared by the confirmation: (Gauss-Legendre points per piece of the
#: x-integrals of L, hyperbola angle alpha, vertex offset in units of 1/sqrt(g''))
_EVAL_A = (48, 0.5, 0.0)
_EVAL_B = (60, 0.4, 0.5)
#: the cut tails of the outer integral must be below this times |P|
_TAIL_TOL = 1e-16


def _check_e7_args(dps, n, sigma, eps):
    if isinstance(dps, bool) or not isinstance(dps, (int, np.integer)) or not E7_DPS[0] <= dps <= E7_DPS[1]:
        raise ValueError(f"dps must be an integer in [{E7_DPS[0]}, {E7_DPS[1]}] for E7 "
                         f"(float64 Laplace inversion), got {dps!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 2 <= n <= 2**40:
        raise ValueError(f"n must be an integer in [2, 2^40], got {n!r}")
    try:
        s, e = float(sigma), float(eps)
    except (TypeError, ValueError):
        raise ValueError(f"sigma and eps must be real numbers, got sigma={sigma!r}, eps={eps!r}") from None
    if not (math.isfinite(s) and 0.05 <= s <= 30):
        raise ValueError(f"sigma must be a real number in [0.05, 30] for E7, got {sigma!r}")
    if not (math.isfinite(e) and 0 < e < 1):
        raise ValueError(f"eps must be a real number in (0, 1), got {eps!r}")
    return int(dps), int(n), s, e


def _evaluate(n, sigma, eps, variant_a=_EVAL_A, variant_b=_EVAL_B):
    """``(K, v_a, v_b)``: two independent evaluations of ``e^{-K} P(p_1 > eps)``."""
    K, x_lo, x_hi, edges, ln_f_lo = _outer_range(n, sigma, eps, variant_a[0])
    v_a, a, b = _integrate_adaptive(_Outer(n, sigma, eps, *variant_a), edges, K)
    v_b = _integrate_fixed(_Outer(n, sigma, eps, *variant_b), a, b, K)
    _check_tails(x_lo, x_hi, ln_f_lo, K, v_a, _TAIL_TOL, "E7")
    return K, v_a, v_b


def _check_tails(x_lo, x_hi, ln_f_lo, K, v_a, tol, what):
    """Raise unless the cut tails of an outer integral, ``int_{-inf}^{x_lo} <= e^{ln_f_lo} Phi(x_lo)``
    (the integrand's factor is nondecreasing in x) and ``int_{x_hi}^inf <= Phibar(x_hi)``, are below
    ``tol`` times the value ``e^K v_a``."""
    tails = math.exp(min(ln_f_lo + log_ndtr(x_lo) - K, 700)) + math.exp(min(log_ndtr(-x_hi) - K, 700))
    if not (v_a > 0 and tails <= tol * v_a):
        raise PrecisionError(f"{what}: the cut tails of the outer integral ({tails:.2e}) are not negligible "
                             f"against the value ({v_a:.2e})")


def _confirmed_pair(K, v_a, v_b, dps, what):
    """``e^K v_b`` as an mpf carrying 20 digits when the two evaluations ``v_a``, ``v_b`` (scaled by
    ``e^-K``) agree to ``dps`` significant digits; otherwise ``PrecisionError``."""
    if not (math.isfinite(v_b) and abs(v_a - v_b) <= 10.0 ** (-dps) * abs(v_b)):
        raise PrecisionError(f"{what}: not confirmed to {dps} digits: "
                             f"relative difference {abs(v_a - v_b) / abs(v_b):.2e} between two evaluations")
    with mp.workdps(20):
        return mp.exp(mp.mpf(K)) * mp.mpf(v_b)


def eval_prob_weight_above(dps, n, sigma, eps):
    r"""``P(p_1 > eps)`` for IID ``N(0, sigma^2)`` logits (E7), by Laplace inversion.

    .. math:: \mathbb{P}(p_1 > \epsilon) = \int\phi(x)\, F_R\!\left(e^{\sigma x}\tfrac{1-\epsilon}{\epsilon}\right)dx,
              \qquad \int_0^\infty e^{-\theta r} F_R(r)\,dr = \frac{L(\theta)^{n-1}}{\theta}.

    Parameters
    ----------
    dps : int
        Confirmed significant digits, 5..12 (the arithmetic is float64).
    n : int
        Keys per row, 2..2^40.
    sigma : float
        Logit standard deviation, in [0.05, 30].
    eps : float
        Weight threshold, in (0, 1).

    Returns
    -------
    mpmath.mpf
        The probability, confirmed to ``dps`` significant digits: two evaluations that differ in
        every discretisation (see the module docstring) agree to ``dps`` digits; otherwise
        :class:`~attnsparse.numeric.quadrature.PrecisionError` is raised. Relative accuracy holds
        for tiny probabilities too (the value is kept in the log scale).
    """
    dps, n, s, e = _check_e7_args(dps, n, sigma, eps)
    p = _confirmed_prob(dps, n, s, e)
    with mp.workdps(dps):
        return +p


def _confirmed_prob(dps, n, s, e):
    """``P(p_1 > eps)`` confirmed to ``dps`` digits, as an mpf carrying 20 digits (rounded by the caller)."""
    return _confirmed_pair(*_evaluate(n, s, e), dps, f"P(p_1 > {e:g}) (n={n}, sigma={s:g})")


def eval_count_above(dps, n, sigma, eps):
    r"""``E N_eps = n P(p_1 > eps)``, the expected number of weights above ``eps`` (E7).

    Same parameters, confirmation and errors as :func:`eval_prob_weight_above`.
    """
    dps, n, s, e = _check_e7_args(dps, n, sigma, eps)
    p = _confirmed_prob(dps, n, s, e)
    with mp.workdps(dps):
        return +(p * n)
