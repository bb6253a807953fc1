r"""The bilinear model (E8) above ``FAST_DPS``: the chi-square mixture over ``tau`` at high precision.

Given ``q`` the bilinear logits are iid ``N(0, tau^2)``, ``tau^2 = sigma^2 chi2_d/d`` (docs/theory.md,
section 2), so ``E_bilinear g = int phi(z) g(tau(z)) dz`` with ``tau(z) = sigma sqrt(r(z)/d)`` and
``r(z)`` the chi2_d quantile of ``Phi(z)``. This module takes the same outer rule as the float route
(:mod:`._mixture`: the trapezoidal rule in ``z``, step ``1.5 * 2^(2 - level)``, nodes nested across
levels), with

* ``r(z)`` from an mpmath chi-square quantile (:func:`chi2_quantile_mp`: the float64 quantile,
  polished by Newton steps on the log of the smaller tail in the working precision);
* the IID value ``g(tau)`` at every node to the digits *that node* needs: a node whose
  ``weight * bound(g)`` is ``10^-m`` of the value needs ``m`` fewer digits. Nodes needing at most
  ``_FLOAT_NODE_DIGITS`` take the float route (13 digits measured, :mod:`._float`); the others take
  the lattice route (:mod:`._lattice`, ``tau >= TAU_LATTICE``) or, for small ``tau`` (where the
  lattice step shrinks with ``tau`` and its cost grows as ``1/tau``), the direct route
  :func:`_direct`: trapezoid sums in ``t`` and in the standard normal ``x`` of the key,
  whose cost does not depend on ``tau``.

``max_weight`` (E4 at ``k = 1``, up to ``E8_MAX_WEIGHT_DPS``) takes the E4 lattice at every node (the
level from :func:`_inner_level_e4`, measured for E4), the one-dimensional integral at ``n = 2``
(:func:`_max_weight_n2`), and has no node route below ``TAU_E4_MIN``; both of its passes evaluate
nodes at the first pass's digits (``node_dps`` of :func:`bilinear_mp`).

The inner quadrature levels are chosen from the node's digits (not from the outer level), so the
level test of :func:`~attnsparse.numeric.quadrature.confirm_levels` sees only the outer rule;
the shifted outer rule ``(level, 1/3)`` at the second precision moves every inner grid by a third
of a step too, so it sees the inner errors (as in the float route).
"""

from __future__ import annotations

import math

import mpmath as mp

from ._backend import _Backend
from ._float import _switch_points
from ..quadrature import PrecisionError
from ._lattice import _entropy_lattice, _log_partition_lattice, _moment_lattice, _topk_lattice
from ._mixture import _IID_BOUNDS, _IID_FUNCTIONALS, _MIX_STEP, _chi2_quantile
from ._mp import _t_end

#: the largest ``dps`` of the mp mixture route
E8_DPS = 30
#: functionals with an mp mixture route
MP_FUNCTIONALS = ("ipr", "log_partition", "entropy", "max_weight")
#: the largest ``dps`` of the mp mixture route for ``max_weight`` (E4 at k = 1 at every node: the E4
#: lattice costs seconds per node, see docs/exact.md)
E8_MAX_WEIGHT_DPS = 20
#: below this ``tau`` a ``max_weight`` node that needs more digits than the float route has no
#: evaluator (the E4 lattice step scales with ``tau``, so its cost grows as ``1/tau``)
TAU_E4_MIN = 0.1
#: below this ``tau`` the node value comes from :func:`_direct`, above from the lattice
TAU_LATTICE = 0.3
#: a node that needs at most this many digits takes the float route (13 digits measured)
_FLOAT_NODE_DIGITS = 11
#: outer z-range: |z| <= this (phi(13) ~ 1.6e-37, below 10^-(E8_DPS + 5) of any value's floor)
_Z_MAX = 13.5

_LATTICE = {"ipr": lambda be, lev, n, tau: _moment_lattice(be, lev, n, tau, 2),
            "log_partition": _log_partition_lattice, "entropy": _entropy_lattice,
            "max_weight": lambda be, lev, n, tau: _topk_lattice(be, lev, n, tau, 1)}


def chi2_quantile_mp(ctx, d, z):
    """``r`` with ``P(chi2_d <= r) = Phi(z)`` in ``ctx`` (mpmath): Newton steps on the log of the
    smaller tail from the float64 quantile, until a step is below ``2^-(prec - 8)`` relative."""
    a = ctx.mpf(d) / 2
    z = ctx.mpf(z)
    lower = z < 0
    p = ctx.erfc(abs(z) / ctx.sqrt(2)) / 2  # the smaller tail, no cancellation
    lnp = ctx.log(p)
    y = ctx.mpf(float(_chi2_quantile(d, float(z)))) / 2
    lga = ctx.loggamma(a)
    tiny = ctx.ldexp(ctx.one, -(ctx.prec - 8))
    for _ in range(12):
        tail = ctx.gammainc(a, 0, y, regularized=True) if lower else ctx.gammainc(a, y, ctx.inf, regularized=True)
        dens = ctx.exp((a - 1) * ctx.log(y) - y - lga)
        # d/dy ln(tail) = +-dens/tail; Newton on ln(tail) - ln p
        step = (ctx.log(tail) - lnp) * tail / dens
        y = y - step if lower else y + step
        if abs(step) <= tiny * y:
            return 2 * y
    raise ArithmeticError(f"chi-square quantile (d={d}, z={mp.nstr(z, 8)}) did not converge")


def _inner_level(digits, tau):
    """The lattice level whose trapezoid error ``e^{-pi^2/h}``, ``h = min(1, tau) 2^{1-level}``, is
    below ``10^-(digits + 3)`` (the strips ``|Im t|, |Im w| < pi/2`` of docs/exact.md)."""
    need = (digits + 3) * math.log(10) / math.pi ** 2 * min(1.0, tau)
    return max(2, 1 + math.ceil(math.log2(max(need, 1.0))))


def _inner_level_e4(digits, n, tau):
    """The E4 lattice level for ``digits + 4`` digits: measured (n = 2 .. 1024, tau = 0.3 .. 2, levels 2-5,
    docs/exact.md), the lattice gains ``2^{level-1} r`` digits, ``r = min(4 / min(1, tau), 10 max(1, tau) / ln n)``:
    the t-step (strip ``pi/2``, ``4.3 / h`` digits) or the step in the key's ``x`` (``h / tau``; the
    integrand ``Phi(x)^{n-1}`` narrows as ``n`` grows), whichever is coarser."""
    rate = min(4.0 / min(1.0, tau), 10.0 * max(1.0, tau) / math.log(n))
    return max(2, 1 + math.ceil(math.log2(max((digits + 4) / rate, 1.0))))


def _max_weight_n2(ctx_base, tau, digits):
    r"""``E p_(1)`` at ``n = 2``: ``p_(1) = 1/(1 + e^{-tau |X_1 - X_2|})`` and ``|X_1 - X_2| = sqrt 2 |Z|``, so
    ``g(tau) = 2 int_0^inf phi(z) / (1 + e^{-sqrt 2 tau z}) dz`` (tanh-sinh, split at the scales
    ``1/tau`` of the logistic and ``1`` of the Gaussian; raises if the error estimate exceeds the digits)."""
    c = ctx_base.clone()
    c.dps = int(digits) + 10
    tau = c.mpf(tau)
    r2t = c.sqrt(2) * tau

    def f(z):
        return c.exp(-z * z / 2) / (1 + c.exp(-r2t * z))

    pts = sorted({c.mpf(0), *(c.mpf(v) for v in (1, 2, 4, 8, 16)), *(v / tau for v in (1, 4, 16))})
    val, err = c.quad(f, pts + [c.inf], error=True)
    val = 2 * val / c.sqrt(2 * c.pi)
    if err > c.mpf(10) ** -(int(digits) + 3) * val:
        raise PrecisionError(f"max_weight n = 2 node at tau = {float(tau):.4g}: quadrature error {float(err):.2e}")
    return val


def _direct(ctx_base, what, n, tau, digits, shifted):
    r"""``g(tau)`` for small ``tau`` by trapezoid sums in ``t`` (``u = e^{-t}``) and ``x``:
    ``L(t) = sum_j h_x phi(x_j) e^{-e^{tau x_j - t}}`` and the kernels of E1-E3 likewise.

    Steps: in ``x`` the integrand ``phi(x) K(tau x - t)`` is entire; the Gaussian alone errs by
    ``e^{-2 pi^2/h_x^2}`` and ``K`` (analytic for ``|Im(tau x)| < pi/2``) by ``e^{-pi^2/(tau h_x)}``;
    in ``t`` the strip is ``|Im t| < pi/2``, error ``e^{-pi^2/h_t}``. Each step makes its error
    ``10^-(D + 3)`` with ``D = digits + log10 n + 5`` (``L^{n-1}`` multiplies absolute errors of ``L``
    by ``n``). ``shifted`` moves both grids by a third of a step and refines both steps by 10%.
    """
    c = ctx_base.clone()
    D = digits + math.log10(n) + 5
    c.dps = int(D) + 10
    ln10 = math.log(10)
    goal = (D + 3) * ln10
    h_t = math.pi ** 2 / goal
    h_x = min(math.sqrt(2 * math.pi ** 2 / goal), math.pi ** 2 / (goal * tau))
    if shifted:
        h_t, h_x = 0.9 * h_t, 0.9 * h_x
    off = c.mpf(1) / 3 if shifted else c.zero
    x_max = math.sqrt(2 * goal) + 1
    jm = int(x_max / h_x) + 1
    hx, ht, tau_c = c.mpf(h_x), c.mpf(h_t), c.mpf(tau)
    xs = [(j + off) * hx for j in range(-jm, jm + 1)]
    wx = [hx * c.exp(-x * x / 2) / c.sqrt(2 * c.pi) for x in xs]
    ax = [c.exp(tau_c * x) for x in xs]  # e^{tau x}
    s_f = float(tau)
    t_lo = min(_switch_points(n, s_f, D)[0], -math.log(D * ln10 + 10)) - 1.0
    t_hi = _t_end(n, s_f, D, 2.0 if what == "ipr" else 1.0)
    if what != "ipr":
        t_hi = max(t_hi, (D + 2) * ln10 + 2)
    # where u e^{tau x_max} <= 1/2 the x-sums are power series in u with the discrete moments
    # mu_m = sum_j w_j a_j^m (and nu_m = sum_j w_j x_j a_j^m): the same trapezoid sums, summed in
    # another order; terms fall like 2^-m/m!, stopped below 10^-(D + 8) of the sum
    a_max = max(ax)
    tol = c.mpf(10) ** (-(int(D) + 8))
    mu, nu = [], []

    def moment(seq, m, weights):
        while len(seq) <= m:
            k = len(seq)
            seq.append(c.fsum(w * a ** k for w, a in zip(weights, ax)))
        return seq[m]

    wxx = [w * x for w, x in zip(wx, xs)]

    def series(u, first, seq, weights, fact=0):
        """sum_m (-u)^m moment(first + m) / (m + fact)!"""
        out, term_u, m = c.zero, c.one / c.factorial(fact), 0
        while True:
            term = term_u * moment(seq, first + m, weights)
            out += term
            if m > 2 and abs(term) <= tol * abs(out):
                return out
            m += 1
            term_u = -term_u * u / (m + fact)

    i_lo, i_hi = int(math.floor(t_lo / h_t)), int(math.ceil(t_hi / h_t))
    acc_main, acc_e2 = c.zero, c.zero
    half = c.mpf(0.5)
    for i in range(i_lo, i_hi + 1):
        t = (i + off) * ht
        u = c.exp(-t)
        if u * a_max <= half:
            M = u * series(u, 1, mu, wx, 1)  # 1 - L = -sum_{m>=1} (-u)^m mu_m / m!
            if what == "ipr":
                K = u * u * series(u, 2, mu, wx)
            elif what == "entropy":
                K = tau_c * u * series(u, 1, nu, wxx)
        else:
            M = c.zero  # 1 - L = sum w (1 - e^{-u a}), no cancellation
            K = c.zero
            for w, a, x in zip(wx, ax, xs):
                ua = u * a
                M -= w * c.expm1(-ua)
                if what == "ipr":
                    K += w * ua * ua * c.exp(-ua)
                elif what == "entropy":
                    K += w * tau_c * x * ua * c.exp(-ua)
        lnL = c.log1p(-M) if M < 1 else c.ninf
        if what != "ipr":
            acc_e2 += c.expm1(-u) - (c.expm1(n * lnL) if lnL != c.ninf else -c.one)
        if what != "log_partition" and lnL != c.ninf:
            acc_main += K * c.exp((n - 1) * lnL)
    if what == "ipr":
        return n * ht * acc_main
    if what == "log_partition":
        return ht * acc_e2
    return ht * (acc_e2 - n * acc_main)


def node_value(ctx, what, n, tau, digits, shifted):
    """``g(tau)`` to about ``digits`` significant digits (an ``mpf``): the lattice for
    ``tau >= TAU_LATTICE``, :func:`_direct` below; ``max_weight``: :func:`_max_weight_n2` at ``n = 2``,
    else the E4 lattice for ``tau >= TAU_E4_MIN`` and ``PrecisionError`` below."""
    if what == "max_weight":
        if n == 2:
            return _max_weight_n2(ctx, tau, digits)
        if float(tau) < TAU_E4_MIN:
            raise PrecisionError(f"max_weight: a node at tau = {float(tau):.3g} needs {digits} digits, more than "
                                 f"the float route's {_FLOAT_NODE_DIGITS}, and below tau = {TAU_E4_MIN} no E4 route "
                                 f"is built (the lattice cost grows as 1/tau): the largest dps this route delivers "
                                 f"at this (n, d, sigma) is 13")
        lev = _inner_level_e4(digits, n, float(tau))
        be = _Backend("mp", int(digits) + 3)
        return _LATTICE[what](be, (lev, 1 / 3) if shifted else lev, n, tau)
    if float(tau) < TAU_LATTICE:
        return _direct(ctx, what, n, tau, digits, shifted)
    lev = _inner_level(digits, float(tau))
    be = _Backend("mp", int(digits) + 3)
    return _LATTICE[what](be, (lev, 1 / 3) if shifted else lev, n, tau)


def _refuse_small_tau(order, wbf, rest, tau_f, n, nd, dps, floor):
    """``PrecisionError`` before any node is evaluated when a ``max_weight`` node below ``TAU_E4_MIN`` may
    need more than ``_FLOAT_NODE_DIGITS``: its digits are bounded above with the running sum bounded below
    by ``floor * (weights before it)`` (``g >= 1/n``), so no node that the loop would evaluate is missed."""
    lower, worst = 0.0, -math.inf
    for r, j in enumerate(order):
        ref = max(lower, floor)
        if rest[r] <= 10.0 ** -(dps + 2) * ref:
            break
        if tau_f[j] < TAU_E4_MIN:
            worst = max(worst, math.log10(wbf[j] / ref))
        lower += wbf[j] * floor
    if nd + 1 + worst > _FLOAT_NODE_DIGITS:
        raise PrecisionError(f"max_weight: nodes below tau = {TAU_E4_MIN} need up to {nd + 1 + worst:.0f} digits, "
                             f"more than the float route's {_FLOAT_NODE_DIGITS}, and no E4 route is built there "
                             f"(the lattice cost grows as 1/tau): the largest dps this route delivers at this "
                             f"(n, d, sigma) is 13 (the float mixture)")


def bilinear_mp(be, level, what, n, d, sigma, cache, node_dps=None):
    """The mixture ``sum_i h phi(z_i) g(tau(z_i))`` at outer ``level`` in the precision of ``be``.

    Nodes are taken by decreasing ``weight * bound(g)``; every ``g`` here is ``>= 0`` except the
    entropy's lower floor, so the running sum ``S`` bounds the value from below up to the
    quadrature error, and a node needs ``be.dps + 1 + log10(weight * bound / max(S, floor))``
    digits (its error is then below ``10^-(be.dps + 1)`` of the value; with ~150 nodes the sum errs
    by ``< 10^-(be.dps - 2)``). The rest is dropped once its ``weight * bound`` sum is below
    ``10^-(be.dps + 2) max(S, floor)``. ``cache`` keeps node values across levels (key: ``z`` and
    the shift), each with the digits it was computed to. ``node_dps`` (if given) replaces ``be.dps`` in
    the node digits (not in the sums): ``max_weight`` passes ``dps + 5`` at both precisions, so the
    shifted pass evaluates its nodes at the first pass's digits on shifted inner lattices (the E4
    lattice costs seconds per node; the outer sums still run at ``be.dps``).
    """
    from ._float import _moment_f64  # noqa: F401 -- the float functionals come through _IID_FUNCTIONALS
    from ._backend import _Backend as _B

    c = be.ctx
    lev, shift = level if isinstance(level, tuple) else (level, 0.0)
    shifted = bool(shift)
    bound, floor = _IID_BOUNDS[what]
    h = _MIX_STEP * 2.0 ** (2 - lev)
    hc = c.mpf(_MIX_STEP) * c.mpf(2) ** (2 - lev)
    off = c.mpf(1) / 3 if shifted else c.zero
    km = int(_Z_MAX / h)
    idx = [i for i in range(-km, km + 1) if abs((i + shift) * h) <= _Z_MAX]
    zf = [(i + shift) * h for i in idx]
    tau_f = [float(sigma) * math.sqrt(float(_chi2_quantile(d, z)) / d) for z in zf]
    wbf = [h * math.exp(-z * z / 2) / math.sqrt(2 * math.pi) * float(bound(n, t)) for z, t in zip(zf, tau_f)]
    order = sorted(range(len(idx)), key=lambda j: -wbf[j])
    rest = [0.0] * (len(order) + 1)
    for r in range(len(order) - 1, -1, -1):
        rest[r] = rest[r + 1] + wbf[order[r]]
    if what == "max_weight" and n > 2:  # n = 2: every node by the 1-d integral
        _refuse_small_tau(order, wbf, rest, tau_f, n, be.dps if node_dps is None else min(be.dps, node_dps),
                          be.dps, floor(n))
    f64, fl = _B("f64"), _IID_FUNCTIONALS[what]
    total, S = c.zero, 0.0
    for r, j in enumerate(order):
        ref = max(S, floor(n))
        if rest[r] <= 10.0 ** -(be.dps + 2) * ref:
            break
        need = (be.dps if node_dps is None else min(be.dps, node_dps)) + 1 + math.log10(wbf[j] / ref)
        key = (zf[j], shifted)
        hit = cache.get(key)
        if hit is None or hit[0] < need:
            if need <= _FLOAT_NODE_DIGITS:
                val = c.mpf(float(fl(f64, (4, 1 / 3) if shifted else 4, n, tau_f[j])))
                hit = (_FLOAT_NODE_DIGITS, val)
            else:
                digits = int(math.ceil(need))
                with c.workprec(c.prec + 20):
                    z = (idx[j] + off) * hc
                    tau = c.mpf(sigma) * c.sqrt(chi2_quantile_mp(c, d, z) / d)
                hit = (digits, node_value(c, what, n, tau, digits, shifted))
            cache[key] = hit
        z = (idx[j] + off) * hc
        w = hc * c.exp(-z * z / 2) / c.sqrt(2 * c.pi)
        total += w * c.mpf(hit[1])
        S += float(w * hit[1])
    return total
