r"""The lattice route of E1-E3 above ``FAST_DPS``: trapezoid sums on one lattice, inner
integrals as exact integer convolutions.

Every inner integral of E1-E3 is a Gaussian convolution. With ``s = sigma x`` and
``w = s - t`` (``u = e^{-t}``),

.. math:: M(t) = \int g(t + w)\,(1 - e^{-e^w})\,dw,\quad L(t) = \int g(t + w)\,e^{-e^w}\,dw,\quad
          u^k L_k(u) = \int g(t + w)\,e^{kw - e^w}\,dw,

``g(s) = phi(s/sigma)/sigma``, and the entropy's ``int sigma x phi(x) e^{w - e^w} dx`` is the same
with ``s g(s)`` in place of ``g``. Put ``t`` and ``w`` on lattices of one step ``h``:
``t_i = t_0 + i h``, ``w_j = w_0 + j h``. Then ``t_i + w_j = s_{i+j}`` lies on a third lattice and
the trapezoid sum ``h sum_j g(s_{i+j}) K(w_j)`` is, for all ``i`` at once, one coefficient band of
the product of two polynomials. The products are taken exactly on integers (each factor rounded
to ``P`` fractional bits: python-flint's ``fmpz_poly`` when installed, else Kronecker
substitution with Python integers), so the whole inner work costs ``O(N_s + N_w)`` high-precision
``exp`` calls and two or three big-integer products, instead of ``N_t N_w`` ``exp`` calls.

Accuracy. The integrands are analytic in the strips ``|Im w| < pi/2`` and ``|Im t| < pi/2`` (where
``|L(e^{-t-i theta})| <= L(e^{-t} cos theta)``), and decay at both ends of the lattices, so the
trapezoid sums converge geometrically, about ``e^{-pi^2/h}``: halving ``h`` (one level) doubles the
digits (the premise of :func:`~attnsparse.numeric.quadrature.confirm_levels`). For small ``sigma``
the Gaussian ``g`` is narrow and the step is ``h = min(1, sigma) 2^{1 - level}``.
The fixed-point rounding is absolute, ``2^-P`` per term: ``P`` covers ``dps + log10 n`` digits plus
the bits of ``L`` itself where ``L^{n-1}`` is still above ``e^{-F_zero}`` (small ``n``), so
``ln L`` keeps its absolute accuracy. The ranges are cut where every term is below
``10^-(dps + log10 n + 15)`` (Gaussian ``g``: ``|s| <= S_cut``; ``t``: from below ``t_zero`` and
``-ln(D ln 10)``, where ``L^{n-1}`` and ``e^{-u}`` are negligible, to :func:`._mp._t_end`).
A shifted level ``(level, 1/3)`` moves the t-lattice by ``h/3`` and widens every range by a few
steps: an independent rule of the same accuracy.
"""

from __future__ import annotations

import math

import numpy as np

from ._float import _switch_points
from ._mp import _t_end

try:  # exact integer polynomial products in C (optional: Kronecker substitution otherwise)
    import flint as _flint
except ImportError:  # pragma: no cover - exercised by test_products_agree_without_flint
    _flint = None


def _product_kronecker(a, b):
    """Coefficients of the product of two integer polynomials (``a``: any signs, ``b`` >= 0) by
    Kronecker substitution: pack each into one Python integer, multiply, unpack."""
    pos = [x if x > 0 else 0 for x in a]
    neg = [-x if x < 0 else 0 for x in a]
    out = _pack_mul(pos, b)
    if any(neg):
        out = [p - q for p, q in zip(out, _pack_mul(neg, b))]
    return out


def _pack_mul(a, b):
    n_out = len(a) + len(b) - 1
    top = max(max(a).bit_length(), 1) + max(max(b).bit_length(), 1) + min(len(a), len(b)).bit_length() + 1
    nbytes = (top + 7) // 8
    A = int.from_bytes(b"".join(x.to_bytes(nbytes, "little") for x in a), "little")
    B = int.from_bytes(b"".join(x.to_bytes(nbytes, "little") for x in b), "little")
    raw = (A * B).to_bytes(nbytes * n_out, "little")
    return [int.from_bytes(raw[i * nbytes:(i + 1) * nbytes], "little") for i in range(n_out)]


def _product_flint(a, b):
    c = (_flint.fmpz_poly(a) * _flint.fmpz_poly(b)).coeffs()
    out = [int(x) for x in c]
    return out + [0] * (len(a) + len(b) - 1 - len(out))


def product(a, b, use_flint=None):
    """Coefficients ``c_m = sum_{i+j=m} a_i b_j`` of two lists of integers (``b`` >= 0), exactly."""
    use = (_flint is not None) if use_flint is None else use_flint
    return _product_flint(a, b) if use else _product_kronecker(a, b)


def _gaussian_lattice(c, S, h, inv, two_s2, cut):
    """``inv exp(-s^2 / two_s2)`` on the uniform lattice ``S`` (step ``h``), 0 where ``|s| > cut``.

    Two multiplications per node: ``g_{m+1} = g_m r_m`` and ``r_{m+1} = r_m q`` with
    ``q = exp(-2 h^2 / two_s2)``; the recurrence restarts from ``exp`` every 256 nodes, so rounding
    grows by at most ~9 bits (the context carries 40 guard bits).
    """
    out = [c.zero] * len(S)
    q = c.exp(-2 * h * h / two_s2)
    idx = [m for m, v in enumerate(S) if abs(v) <= cut]
    g = r = None
    for count, m in enumerate(idx):
        if count % 256 == 0 or m != idx[count - 1] + 1:
            v = S[m]
            g = inv * c.exp(-(v * v) / two_s2)
            r = c.exp(-(2 * v * h + h * h) / two_s2)
        else:
            g, r = g * r, r * q
        out[m] = g
    return out


def _lattice_rule(level):
    lev, shift = level if isinstance(level, tuple) else (level, 0.0)
    return lev, float(shift)


class _Lattice:
    """The lattices and the inner integrals for one ``(n, sigma)`` at working precision ``dps``.

    After construction: ``T`` (t-nodes), ``h``, ``lnL`` (``ln L`` at ``T``, ``-inf`` where ``L``
    rounds to 0), and :meth:`inner` for the other kernels; arithmetic in ``ctx`` (``prec`` bits).
    """

    def __init__(self, ctx_base, dps, n, sigma, level, k=1.0):
        lev, shift = _lattice_rule(level)
        s = float(sigma)
        ln10 = math.log(10)
        D = dps + math.log10(n) + 15  # absolute digits kept in every inner integral
        # L^{n-1} matters down to e^{-F_zero}: F_zero / (n - 1) nats of L itself below 1
        f_zero = 2 * dps * ln10 + 2 * math.log(n) + 50
        ext_bits = min(f_zero / (n - 1), 2000.0) / math.log(2)
        h = min(1.0, s) * 2.0 ** (1 - lev)
        widen = 7 * h if shift else 0.0
        t_zero = _switch_points(n, s, dps)[0]
        t_lo = min(t_zero, -math.log(D * ln10 + 10)) - 1.0 - widen
        t_hi = max(_t_end(n, s, dps, float(k)), (D + 2) * ln10 + 2) + widen
        S_cut = s * math.sqrt(2 * ln10 * D + 2 * math.log(4 + (t_hi - t_lo) / h)) + 2 * h + widen
        Nt = int(math.ceil((t_hi - t_lo) / h)) + 1
        w_lo = -S_cut - t_hi - h
        w_top = S_cut - t_lo + h
        Nw = int(math.ceil((w_top - w_lo) / h)) + 1
        self.P = P = int(math.ceil(D * math.log2(10) + ext_bits + math.log2(Nw) + 16))
        c = self.ctx = ctx_base.clone()
        c.prec = P + 40
        self.n, self.sigma, self.h, self.Nt, self.Nw = n, c.mpf(sigma), c.mpf(h), Nt, Nw
        t0 = c.mpf(t_lo) + shift * c.mpf(h)
        self.T = [t0 + i * self.h for i in range(Nt)]
        self.W = [c.mpf(w_lo) + j * self.h for j in range(Nw)]
        s0 = self.T[0] + self.W[0]
        inv = 1 / (self.sigma * c.sqrt(2 * c.pi))
        two_s2 = 2 * self.sigma ** 2
        self.S = [s0 + m * self.h for m in range(Nt + Nw - 1)]
        self.g = _gaussian_lattice(c, self.S, self.h, inv, two_s2, S_cut)
        self.ew = [c.exp(w) for w in self.W]
        tenth = c.mpf(0.1)
        em = [c.expm1(-e) if e < tenth else c.exp(-e) - 1 for e in self.ew]  # e^{-e^w} - 1, no cancellation
        M = self.inner([-v for v in em])
        L = self.inner([1 + v for v in em])
        half = c.mpf(0.5)
        self.lnL = [c.log1p(-m) if m < half else (c.log(l) if l > 0 else c.ninf) for m, l in zip(M, L)]

    def _fixed(self, values, scale):
        c, P = self.ctx, self.P
        return [int(c.nint(c.ldexp(v / scale, P))) for v in values]

    def inner(self, kernel, weight=None):
        """``h sum_j weight(s_{i+j}) kernel_j`` at every t-node ``i`` (``weight`` defaults to ``g``):
        one exact integer product (see the module docstring)."""
        c = self.ctx
        weight = self.g if weight is None else weight
        kmax = max(abs(v) for v in kernel) or c.one
        gmax = max(abs(v) for v in weight) or c.one
        a = self._fixed(weight, gmax)
        b = self._fixed(kernel[::-1], kmax)  # reversed: the band i + Nw - 1 is the correlation
        prod = product(a, b)
        scale = self.h * gmax * kmax / c.ldexp(c.one, 2 * self.P)
        off = self.Nw - 1
        return [prod[i + off] * scale for i in range(self.Nt)]

    def power(self, m):
        """``L^m`` at the t-nodes."""
        c = self.ctx
        return [c.exp(m * v) if v != c.ninf else c.zero for v in self.lnL]

    def t_sum(self, values):
        return self.h * self.ctx.fsum(values)


def _moment_lattice(be, level, n, sigma, k):
    """E1 on the lattice: ``n/Gamma(k) h sum_i u_i^k L_k(u_i) L(u_i)^{n-1}``."""
    lat = _Lattice(be.ctx, be.dps, n, sigma, level, k)
    c = lat.ctx
    Kk = [c.exp(k * w - e) for w, e in zip(lat.W, lat.ew)]
    Lk = lat.inner(Kk)
    Ln1 = lat.power(n - 1)
    return be.ctx.mpf(n * lat.t_sum([a * b for a, b in zip(Lk, Ln1)]) / c.gamma(k))


def _log_partition_value(lat):
    c, n = lat.ctx, lat.n
    vals = [(-c.expm1(n * v) if v != c.ninf else c.one) + c.expm1(-c.exp(-t)) for v, t in zip(lat.lnL, lat.T)]
    return lat.t_sum(vals)


def _log_partition_lattice(be, level, n, sigma):
    """E2 on the lattice: ``h sum_i (e^{-u_i} - L(u_i)^n)``."""
    lat = _Lattice(be.ctx, be.dps, n, sigma, level, 1.0)
    return be.ctx.mpf(_log_partition_value(lat))


def _entropy_lattice(be, level, n, sigma):
    """E3 on the lattice: ``E ln Z - n h sum_i G_i L_i^{n-1}``, ``G = int s g(s) e^{w - e^w} dw``."""
    lat = _Lattice(be.ctx, be.dps, n, sigma, level, 1.0)
    c = lat.ctx
    K1 = [e * c.exp(-e) for e in lat.ew]
    G = lat.inner(K1, [v * gv for v, gv in zip(lat.S, lat.g)])
    Ln1 = lat.power(n - 1)
    return be.ctx.mpf(_log_partition_value(lat) - n * lat.t_sum([a * b for a, b in zip(G, Ln1)]))


def _ipr_second_moment_lattice(be, level, n, sigma):
    """``E (sum p^2)^2 = n/6 h sum u^4 L_4 L^{n-1} + n(n-1)/6 h sum (u^2 L_2)^2 L^{n-2}`` on the lattice."""
    lat = _Lattice(be.ctx, be.dps, n, sigma, level, 2.0)
    c = lat.ctx
    L4 = lat.inner([c.exp(4 * w - e) for w, e in zip(lat.W, lat.ew)])
    L2 = lat.inner([c.exp(2 * w - e) for w, e in zip(lat.W, lat.ew)])
    a = lat.t_sum([x * y for x, y in zip(L4, lat.power(n - 1))])
    b = lat.t_sum([x * x * y for x, y in zip(L2, lat.power(n - 2))])
    return be.ctx.mpf((n * a + n * (n - 1) * b) / 6)


def lattice_sizes(n, sigma, dps, level):
    """``(N_t, N_w, P)`` of the lattice at a level (for benchmarks and tests)."""
    import mpmath as mp

    lat = _Lattice(mp.mp, dps, n, sigma, level)
    return lat.Nt, lat.Nw, lat.P


__all__ = ["product", "lattice_sizes"]


# ----------------------------------------------------------------------------- E4 on a lattice
def _gl_order(D, lev, sigma):
    """Gauss-Legendre points per lattice gap for ``D`` digits: the gap integrand is analytic within
    ``|Im s| < min(pi/2, sigma)`` (the Gaussian and ``e^{-e^w}``), so on a gap of width ``h`` the
    error is about ``rho^{-2m}`` with ``rho ~ 4 min(1.5, sigma) / h``."""
    h = min(1.0, sigma) * 2.0 ** (1 - lev)
    rho = 4 * min(1.5, sigma) / h
    return int(min(64, math.ceil(D / (2 * math.log10(rho))) + 3))


def _topk_lattice(be, level, n, sigma, k):
    r"""E4 on lattices: ``E T(k) = n h^2 sum_{a,i} g(s_a) e^{w - e^w} sum_{j<k} C(n-1, j) L_>^j L_<^{n-1-j}``.

    ``s_a = t_0 + a h`` (the key's ``sigma x``) and ``t_i = t_0 + i h`` share one lattice, so
    ``w = s_a - t_i = (a - i) h``. ``L_<(s_a, t_i) = int_{s < s_a} g(s) e^{-e^{s - t_i}} ds`` is the
    cumulative sum of gap integrals ``int_{s_b}^{s_{b+1}}``, each by ``m``-point Gauss-Legendre:
    ``sum_q g_q(b) K_q(b - i)`` with ``g_q`` and ``K_q`` tabulated once (fixed-point integers,
    exact sums). ``L_> = L - L_<`` with ``L`` the sum of all gaps. The outer double sum is the
    trapezoid rule in ``(s, t)`` (analytic integrand, geometric convergence); it keeps the pairs
    with ``w`` in ``[w_min, w_hi]`` (``e^{w - e^w}`` above ``10^-D``), ``t`` above ``t_zero`` and
    ``(n-1) ln Phi(s/sigma) > -F_zero`` (``L_< <= Phi``). A shifted level moves the lattice by ``h/3``.
    """
    from scipy.special import log_ndtr

    from ..quadrature import gauss_legendre_mp

    lev, shift = _lattice_rule(level)
    s = float(sigma)
    ln10 = math.log(10)
    dps = be.dps
    D = dps + (k + 1) * math.log10(n) + 15
    f_zero = 2 * dps * ln10 + 2 * math.log(n) + 50
    ext_bits = min(f_zero / (n - 1), 2000.0) / math.log(2)
    h = min(1.0, s) * 2.0 ** (1 - lev)
    widen = 7 * h if shift else 0.0
    t_lo = _switch_points(n, s, dps)[0] - 1.0 - widen
    t_hi = _t_end(n, s, dps, 1.0) + widen
    S_cut = s * math.sqrt(2 * ln10 * D + 2 * math.log(4 + (t_hi - t_lo) / h)) + 2 * h + widen
    y = D * ln10 + 10
    for _ in range(4):  # e^{w_hi} - w_hi >= D ln 10 + 10: e^{w - e^w} and e^{-e^w} below 10^-D beyond
        y = D * ln10 + 10 + math.log(y)
    w_hi, w_min = math.log(y), -(D * ln10 + 10)
    Nt = int(math.ceil((t_hi - t_lo) / h)) + 1
    a_lo, a_hi = int(math.floor((-S_cut - t_lo) / h)), int(math.ceil((S_cut - t_lo) / h))
    # outer keys: (n - 1) ln Phi(s/sigma) > -(F_zero + 20) (float64 scan: only a cut, with margin)
    sa = t_lo + np.arange(a_lo, a_hi + 1) * h
    keep = (n - 1) * log_ndtr(sa / s) > -(f_zero + 20)
    a_rel = a_lo + int(np.argmax(keep))
    m = _gl_order(D, lev, s)
    P = int(math.ceil(D * math.log2(10) + ext_bits + math.log2(m * (a_hi - a_lo + 2)) + 16))
    c = be.ctx.clone()
    c.prec = P + 40
    hh, sg = c.mpf(h), c.mpf(sigma)
    t0 = c.mpf(t_lo) + shift * hh
    gx, gw = gauss_legendre_mp(m, int(P / 3.3) + 10)
    yq = [(1 + c.mpf(x)) / 2 for x in gx]
    wq = [c.mpf(w) / 2 for w in gw]
    inv = 1 / (sg * c.sqrt(2 * c.pi))
    two_s2 = 2 * sg * sg
    one = c.ldexp(c.one, P)

    def gauss(v):
        return inv * c.exp(-(v * v) / two_s2)

    # g_q(b) h w_q (gap b = [s_b, s_b + h]) and K_q(d) = exp(-e^{(d + y_q) h}), d = b - i
    nb = a_hi - a_lo
    Gq = np.empty((nb, m), dtype=object)
    for b in range(nb):
        sb = t0 + (a_lo + b) * hh
        for q in range(m):
            Gq[b, q] = int(c.nint(gauss(sb + hh * yq[q]) * hh * wq[q] * one))
    d_lo, d_top = a_lo - (Nt - 1), int(math.ceil(w_hi / h)) + 1
    Kq = np.empty((d_top - d_lo, m), dtype=object)
    for d in range(d_lo, d_top):
        for q in range(m):
            Kq[d - d_lo, q] = int(c.nint(c.exp(-c.exp((d + yq[q]) * hh)) * one))
    a_w_lo, a_w_hi = int(math.ceil(w_min / h)), int(math.floor(w_hi / h))
    g_a = {a: gauss(t0 + a * hh) for a in range(a_rel, a_hi + 1)}  # g(s_a)
    e_d = {d: d * hh - c.exp(d * hh) for d in range(a_w_lo, a_w_hi + 1)}  # w - e^w at w = d h
    pairs = _PairSum(c, P, n, k, g_a, e_d)
    try:
        for i in range(Nt):
            b_top = min(a_hi, i + d_top)  # gaps above w = d_top h carry e^{-e^w} = 0
            if b_top <= a_lo:
                continue
            bs = np.arange(0, b_top - a_lo)
            gam = (Gq[bs] * Kq[bs + a_lo - i - d_lo]).sum(axis=1)
            cum = np.cumsum(gam)  # cum[r] = L_< at a = a_lo + r + 1
            lo = max(a_rel, i + a_w_lo, a_lo + 1)
            hi = min(b_top, i + a_w_hi, a_hi)
            if lo <= hi:
                pairs.add(i, lo, cum[lo - a_lo - 1:hi - a_lo], cum[-1])
        total = pairs.total(dps)
    finally:
        pairs.close()
    return be.ctx.mpf(n * hh * hh * total)


def _to_arb(x):
    """An ``mpf`` as a python-flint ``arb`` (exact: mantissa and exponent)."""
    sign, man, exp, _ = x._mpf_
    return _flint.arb(((-1) ** sign * int(man), int(exp)))


class _PairSum:
    """``sum g(s_a) e^{w - e^w} sum_{j<k} C(n-1, j) L_>^j L_<^{n-1-j}`` over the pairs of E4, from the
    fixed-point ``L_<`` (scale ``2^{2P}``): python-flint ``arb`` balls when installed (about 20x
    faster than mpmath here; the ball radius covers the rounding of these sums), else mpmath."""

    def __init__(self, ctx, P, n, k, g_a, e_d):
        self.c, self.P, self.n, self.k = ctx, P, n, k
        self.fl = _flint is not None
        if self.fl:
            self._old = _flint.ctx.prec
            _flint.ctx.prec = ctx.prec
            self.g_a = {a: _to_arb(v) for a, v in g_a.items()}
            self.e_d = {d: _to_arb(v) for d, v in e_d.items()}
            self.binom = [_flint.arb(math.comb(n - 1, j)) for j in range(k)]
            self.shift = _flint.arb(2).log() * (2 * P)
            self.acc = _flint.arb(0)
        else:
            self.g_a, self.e_d = g_a, e_d
            self.binom = [ctx.mpf(math.comb(n - 1, j)) for j in range(k)]
            self.shift = ctx.log(2) * (2 * P)
            self.acc = ctx.zero

    def close(self):
        if self.fl:
            _flint.ctx.prec = self._old

    def _log(self, x):
        return (_flint.arb(int(x)).log() if self.fl else self.c.log(self.c.mpf(int(x)))) - self.shift

    def _exp(self, x):
        return x.exp() if self.fl else self.c.exp(x)

    def add(self, i, a0, less, total):
        """Add the pairs ``(a0 + r, i)`` with ``L_<`` = ``less[r]`` (``L`` = ``total``)."""
        nm1, k = self.n - 1, self.k
        acc = self.acc * 0
        for r, Lless in enumerate(less):
            if Lless <= 0:
                continue
            a = a0 + r
            ln_less, e_w = self._log(Lless), self.e_d[a - i]
            if k == 1:
                acc += self.g_a[a] * self._exp(e_w + nm1 * ln_less)
                continue
            more = total - Lless
            base = self._exp(e_w + nm1 * ln_less)
            if more > 0:  # sum_j C(n-1, j) L_>^j L_<^{n-1-j} = L_<^{n-1} sum_j C(n-1, j) r^j, r = L_>/L_<
                ratio = self._exp(self._log(more) - ln_less)
                poly = self.binom[k - 1]
                for j in range(k - 2, -1, -1):
                    poly = poly * ratio + self.binom[j]
                base = base * poly
            term = base
            acc += self.g_a[a] * term
        self.acc += acc

    def total(self, dps):
        """The sum as an ``mpf`` of the working context; with arb, its ball must be narrow."""
        if not self.fl:
            return self.acc
        mid, rad = self.acc.mid(), self.acc.rad()
        if not self.acc.is_finite() or rad > abs(mid) * _flint.arb(10) ** (-(dps + 3)):
            from ..quadrature import PrecisionError

            raise PrecisionError(f"E4 lattice: the arb sum {self.acc} is wider than {dps} digits")
        m, e = mid.man_exp()
        return self.c.mpf((int(m), int(e)))
