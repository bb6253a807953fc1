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
        self.g = [inv * c.exp(-(v * v) / two_s2) if abs(v) <= S_cut else c.zero for v in self.S]
        self.ew = [c.exp(w) for w in self.W]
        em = [c.expm1(-e) for e in self.ew]  # e^{-e^w} - 1
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
