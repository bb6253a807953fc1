r"""Exact finite-n functionals of IID Gaussian logits (docs/theory.md, section 4).

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
  ``L(theta)^{n-1}/theta`` (a different method, complex contours: :mod:`._laplace`);
* (E8) the bilinear model, as the chi-square mixture over ``tau`` of the IID functional
  (:mod:`._mixture`).
* ``E k_eps`` (:func:`eval_k_eps`, :mod:`._keps`): ``n P(entry 1 kept)`` by Laplace inversion of
  a two-sided transform with E7's machinery: for ``n eps < 1`` on E7's hyperbola; for ``n eps >= 1``
  (``eps <= 0.15``) split by the number of keys above the entry, part on the hyperbola and part on a
  vertical line (seconds a value, minutes at high temperature; :mod:`._keps`).

This module holds the public ``eval_*`` functions, their argument checks and the choice of
route by ``dps`` (the modules below are private):

* ``dps <= FAST_DPS``: the float64 route (:mod:`._float`): tanh-sinh grids in ``t`` (``u = e^{-t}``)
  and ``x``, split at the high-temperature centre, the condensed centre and inside the
  double-exponential switch of ``L^{n-1}``; below the point where ``L^{n-1} < e^{-F_zero}``
  (``F_zero = 2 dps ln 10 + 2 ln n + 50``) only ``E ln Z`` is integrated (PITFALLS 5, 6, 9);
* above ``FAST_DPS``: E1-E3 and the IPR's second moment take the lattice route (:mod:`._lattice`):
  trapezoid sums on lattices of one step in ``t`` and ``w``, every inner integral for all t-nodes
  at once as one exact integer polynomial product (python-flint's ``fmpz_poly`` when installed,
  Kronecker substitution otherwise); 30 digits at ``n = 2^10`` in about a second, 60 in a few.
  E5 takes the mpmath route (:mod:`._mp`): composite Gauss-Legendre in ``t`` and ``w``,
  closed-form series and tails outside the switch, chunks of t-nodes (minutes at 30 digits).
  E4 (top-k mass, max weight) has a lattice route of its own up to ``E4_DPS`` digits: the
  Laplace integral over the keys below ``x`` at every pair of lattice nodes, by cumulative
  Gauss-Legendre sums over the lattice gaps. E8 (IPR, ``ln Z``, entropy) has the mp mixture route
  (:mod:`._mixture_mp`) up to ``E8_DPS`` (30) digits, and E8's max weight up to
  ``E8_MAX_WEIGHT_DPS`` (20) over the E4 lattice at every node (minutes a value); E7 has no route
  above the float one. Above a route's largest dps (E7: 12) the call raises
  :class:`~attnsparse.numeric.quadrature.PrecisionError` at once, naming it.

Arithmetic at one working precision is :class:`._backend._Backend`; the rules, node caches and
confirmation live in :mod:`attnsparse.numeric.quadrature`.

Certified values (:mod:`._certified`): at ``n = 2`` the moments of integer order and the largest
weight are one-dimensional Gaussian integrals; with python-flint installed they are computed in
arb ball arithmetic (quadrature and tail enclosed) and returned with ``how == "certified"``.

Confirmation (:func:`_confirmed`): a value is returned only when two successive quadrature
levels agree (quadratic convergence: error about the square of their difference) *and* an
independent evaluation on a grid shifted by a third of a step agrees to the requested
digits (float64 twice for ``dps <= 13``; ``dps + 5`` then ``dps + 15`` digits above that).
Otherwise :class:`~attnsparse.numeric.quadrature.PrecisionError` is raised. Every
``eval_*`` function takes the number of confirmed significant digits ``dps`` first and returns
a :class:`~attnsparse.numeric.precision.Confirmed` (an ``mpmath.mpf`` that carries ``digits = dps``).
A ``dps`` above what the route can deliver raises ``PrecisionError`` ("the largest dps this
route delivers is N"), never a value with fewer digits.
"""

from __future__ import annotations

import functools  # noqa: F401 -- kept: part of this module's namespace before the split
import math

import mpmath as mp
import numpy as np

from ..precision import Confirmed
from ..quadrature import PrecisionError, TanhSinh, confirm_levels, gauss_legendre_mp
from ._backend import _Backend, _log_one_minus  # noqa: F401 -- names kept for old callers and tests
from ._mixture import _IID_BOUNDS, _IID_FUNCTIONALS, _INNER_LEVELS, _MIX_STEP, _bilinear, _chi2_quantile  # noqa: F401
from ._float import (_GAP_POINTS, _IID, _X_CUT, _coarse_iid, _entropy_f64, _f_zero, _ipr_second_moment,  # noqa: F401
                     _log_binom, _log_partition_f64, _mass_above_f64, _moment_f64, _sorted_pts, _switch_points,
                     _topk)
from . import _certified, _keps, _laplace
from ._lattice import (_entropy_lattice, _ipr_second_moment_lattice, _log_partition_lattice, _moment_lattice,
                       _topk_lattice)
from ._laplace import E7_DPS
from ._mp import _MP_E5_FLOOR, _IIDmp, _mass_above_mp  # noqa: F401 -- _IIDmp: tests build the E5 grid
from ._mixture_mp import E8_DPS, E8_MAX_WEIGHT_DPS, MP_FUNCTIONALS as _E8_MP, bilinear_mp as _bilinear_mp

__all__ = ["eval_moment", "eval_ipr", "eval_ipr_second_moment", "eval_log_partition", "eval_entropy", "eval_topk_mass",
           "eval_max_weight", "eval_mass_above", "eval_bilinear", "eval_count_above",
           "eval_prob_weight_above", "FAST_DPS", "eval_k_eps"]

#: the largest ``dps`` served by the float64 route
FAST_DPS = 13
#: the largest ``dps`` served by the routes above the float one (E1-E3 lattice, E5 mpmath)
MP_DPS = 60
#: the largest ``dps`` of the E4 lattice route (its cost grows as the square of the lattice)
E4_DPS = 40

#: quadrature levels of the routes above ``FAST_DPS`` (lattice step ``min(1, sigma) 2^{1-level}``:
#: level 5 errs by ~1e-34, so 60 digits confirm by level 6; level 7 is the margin)
_MP_LEVELS = range(2, 8)

# names of the single-module layout, kept for old callers (tests use some of them)
_gl_mp = gauss_legendre_mp


def _Quad(be, level):
    """The composite tanh-sinh rule at ``level`` (float64; ``be`` is no longer needed)."""
    return TanhSinh(level)


def _ts_rule(be, level):
    """Tanh-sinh nodes and weights on [-1, 1] at ``level`` (float64; ``be`` is no longer needed)."""
    q = TanhSinh(level)
    return q.x, q.w


# ----------------------------------------------------------------------------- choice of route
def _moment(be, level, n, sigma, k):
    """E1 at quadrature ``level`` on the route of ``be`` (mpmath objects or float64)."""
    return (_moment_lattice if be.kind == "mp" else _moment_f64)(be, level, n, sigma, k)


def _log_partition(be, level, n, sigma):
    """E2 at quadrature ``level`` on the route of ``be``."""
    return (_log_partition_lattice if be.kind == "mp" else _log_partition_f64)(be, level, n, sigma)


def _entropy(be, level, n, sigma):
    """E3 at quadrature ``level`` on the route of ``be``."""
    return (_entropy_lattice if be.kind == "mp" else _entropy_f64)(be, level, n, sigma)


def _mass_above(be, level, n, sigma, x0):
    """E5 at quadrature ``level`` on the route of ``be``."""
    return (_mass_above_mp if be.kind == "mp" else _mass_above_f64)(be, level, n, sigma, x0)


# ----------------------------------------------------------------------------- confirmation
def _real_arg(x, name):
    """``x`` as a float, refusing symbols, strings, booleans and complex numbers by ``name``.

    The ``eval_*`` functions evaluate at numbers; bind a symbolic parameter before calling them.
    """
    if isinstance(x, (bool, np.bool_, str, bytes)):
        raise TypeError(f"{name} must be a real number, got {x!r}")
    free = getattr(x, "free_symbols", None)
    if free:
        names = ", ".join(sorted(str(s) for s in free))
        raise TypeError(f"{name} must be a number, got the symbolic {x} (depends on {names}): "
                        f"substitute numbers before calling eval_*")
    if isinstance(x, (complex, np.complexfloating)) and x.imag != 0:
        raise TypeError(f"{name} must be real, got {x!r}")
    try:
        return float(x)
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"{name} must be a real number, got {x!r}") from None


def _route_limit(dps, top, name, why):
    """``PrecisionError`` at once when the integer ``dps`` exceeds ``top``, the route's largest."""
    if not isinstance(dps, bool) and isinstance(dps, (int, np.integer)) and dps > top:
        raise PrecisionError(f"dps must be <= {top} for {name}, got {dps}: the largest dps this route "
                             f"delivers is {top} ({why})")


def _check_args(n, sigma, dps):
    _route_limit(dps, MP_DPS, "the exact evaluators", "the mpmath route")
    if isinstance(dps, bool) or not isinstance(dps, (int, np.integer)) or not 5 <= dps <= MP_DPS:
        raise ValueError(f"dps must be an integer in [5, {MP_DPS}], got {dps!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 2 <= n <= 2**40:
        raise ValueError(f"n must be an integer in [2, 2^40], got {n!r}")
    s = _real_arg(sigma, "sigma")
    if not (math.isfinite(s) and 0 < s <= 30):
        raise ValueError(f"sigma must be a real number in (0, 30], got {sigma!r}")
    return int(n), s


def _confirmed(compute, dps, what, mp_levels=None):
    """``compute(backend, level)`` confirmed to ``dps`` significant digits, or raise.

    The route is chosen here: float64 twice for ``dps <= FAST_DPS`` (a float64 value carries at
    most ~15 digits, so 13 confirmed digits is the ceiling of this route; levels 2..7), mpmath
    at ``dps + 5`` digits for the levels and at ``dps + 15`` for the shifted grid above that
    (levels 2..7 on the lattice, 2..8 for E5). The levels and the shifted grid are compared by
    :func:`~attnsparse.numeric.quadrature.confirm_levels`; nothing unconfirmed is returned.
    """
    if dps <= FAST_DPS:
        first, second, levels = _Backend("f64"), _Backend("f64"), range(2, 8)
    else:
        levels = _MP_LEVELS if mp_levels is None else mp_levels
        first, second = _Backend("mp", dps + 5), _Backend("mp", dps + 15)
    return Confirmed(confirm_levels(compute, first, second, levels, dps, what), int(dps))


def _float_route_only(dps, name):
    """Raise ``PrecisionError`` at once when ``dps`` needs a route ``name`` does not have."""
    _route_limit(dps, FAST_DPS, name, "float64; the routes above it cover E1-E5 and the IPR second moment")


# ----------------------------------------------------------------------------- public API
def eval_moment(dps, n, sigma, k):
    r"""``E sum_j p_j^k`` for IID ``N(0, sigma^2)`` logits (E1), confirmed to ``dps`` digits.

    .. math:: \mathbb{E}\sum_j p_j^k = \frac{n}{\Gamma(k)}\int_0^\infty u^{k-1} L_k(u) L(u)^{n-1}\,du,
              \quad L_k(u) = \mathbb{E}[e^{k\sigma X} e^{-u e^{\sigma X}}].

    Parameters
    ----------
    dps : int
        Confirmed significant digits, 5..60 (<= 13: the float64 route; above: the lattice route).
    n : int
        Keys per row, 2..2^40.
    sigma : float
        Logit standard deviation, in (0, 30].
    k : float
        Moment order, > 0 (k = 2: the IPR).
    """
    n, s = _check_args(n, sigma, dps)
    k = _real_arg(k, "k")
    if not (math.isfinite(k) and 0 < k <= 50):
        raise ValueError(f"k must be a real number in (0, 50], got {k!r}")
    if n == 2 and k == int(k):
        v = _certified.certified_n2(dps, "moment", s, int(k))
        if v is not None:
            return v
    return _confirmed(lambda be, lev: _moment(be, lev, n, s, k), dps, f"E sum p^{k:g} (n={n}, sigma={s:g})")


def eval_ipr(dps, n, sigma):
    """``E sum_j p_j^2``, the expected inverse participation ratio (E1 at k = 2)."""
    return eval_moment(dps, n, sigma, 2)


def eval_ipr_second_moment(dps, n, sigma):
    r"""``E (sum_j p_j^2)^2``, the second moment of the IPR (E1 extended to a pair of keys).

    .. math:: \mathbb{E}\Big(\sum_j p_j^2\Big)^2 = \frac{n}{6}\int_0^\infty u^3 L_4 L^{n-1}\,du
              + \frac{n(n-1)}{6}\int_0^\infty u^3 L_2^2 L^{n-2}\,du.

    ``dps`` in 5..60 (above 13: the lattice route).
    """
    n, s = _check_args(n, sigma, dps)
    if n < 3:
        raise ValueError(f"n must be an integer in [3, 2^40] for eval_ipr_second_moment, got {n!r}")

    def compute(be, lev):
        return (_ipr_second_moment_lattice if be.kind == "mp" else _ipr_second_moment)(be, lev, n, s)

    return _confirmed(compute, dps,
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
    ``dps <= E4_DPS`` (40; above 13 digits the E4 lattice route).

    .. math:: \mathbb{E} T(k) = n\int\phi(x)\int_0^\infty e^{\sigma x} e^{-u e^{\sigma x}}
              \sum_{j<k}\binom{n-1}{j} L_{>x}(u)^j L_{<x}(u)^{n-1-j}\,du\,dx.
    """
    _route_limit(dps, E4_DPS, "eval_max_weight" if k == 1 else "eval_topk_mass", "the E4 lattice route")
    n, s = _check_args(n, sigma, dps)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= min(64, n):
        raise ValueError(f"k must be an integer in [1, min(64, n)], got {k!r}")
    if k == n:
        return Confirmed(1, int(dps))
    if n == 2:  # k = 1
        v = _certified.certified_n2(dps, "max_weight", s)
        if v is not None:
            return v

    def compute(be, lev):
        return (_topk_lattice if be.kind == "mp" else _topk)(be, lev, n, s, int(k))

    return _confirmed(compute, dps, f"E T({k}) (n={n}, sigma={s:g})")


def eval_max_weight(dps, n, sigma):
    """``E p_(1)``, the expected largest weight (E4 at k = 1)."""
    return eval_topk_mass(dps, n, sigma, 1)


def eval_mass_above(dps, n, sigma, x):
    r"""``E sum_j p_j 1{X_j > x}`` (E5): the mass of keys whose standardised logit exceeds ``x``.

    The logit threshold is ``sigma x`` (logits ``sigma X_j``). Above ``dps = 13`` the mpmath route
    (:meth:`_IIDmp.above`) serves values >= ``_MP_E5_FLOOR`` (smaller ones raise ``PrecisionError``).
    """
    n, s = _check_args(n, sigma, dps)
    x = _real_arg(x, "x")
    if not (math.isfinite(x) and abs(x) < _X_CUT - 1):
        raise ValueError(f"x must be a real number in ({1 - _X_CUT:g}, {_X_CUT - 1:g}), got {x!r}")
    what = f"mass above x={x:g} (n={n}, sigma={s:g})"
    v = _confirmed(lambda be, lev: _mass_above(be, lev, n, s, x), dps, what, mp_levels=range(2, 9))
    if dps > FAST_DPS and v < _MP_E5_FLOOR:
        raise PrecisionError(f"{what}: {mp.nstr(v, 5)} is below {_MP_E5_FLOOR:g}, where the absolute "
                             f"truncations of the mpmath route could reach the {dps}th digit")
    return v


def eval_bilinear(dps, what, n, d, sigma):
    r"""A row functional of the bilinear model (E8), by the chi-square mixture over ``tau``.

    Given ``q`` the bilinear logits are iid ``N(0, tau^2)`` with ``tau^2 = sigma^2 chi2_d/d``
    and ``sigma = sigma_q sigma_k`` (docs/theory.md, section 2), so

    .. math:: \mathbb{E}_{\text{bilinear}}\, g = \int_0^\infty \mathbb{E}_{\text{iid}, \tau(r)}\, g
              \; f_{\chi^2_d}(r)\,dr, \qquad \tau(r) = \sigma\sqrt{r/d}.

    Quadrature: the trapezoidal rule in the normal score ``z`` of the chi-square variable. Up to
    ``dps = 13`` the IID functional at each node comes from the float route (see :func:`_bilinear`);
    above, from the mp mixture route (:mod:`._mixture_mp`): an mpmath chi-square quantile and, at each
    node, the IID value to the digits that node's weight needs, confirmed at two precisions like the
    other routes. ``ipr``, ``log_partition``, ``entropy``: up to ``E8_DPS`` (30) digits, nodes by the
    lattice, or trapezoid sums in ``t`` and ``x`` for ``tau < 0.3``. ``max_weight``: up to
    ``E8_MAX_WEIGHT_DPS`` (20) digits, nodes by the E4 lattice (seconds per node; the shifted pass
    takes its nodes at ``dps + 5`` digits too); a node below ``tau = 0.1`` (small ``d``) that needs
    more than the float route's digits raises ``PrecisionError`` (no small-``tau`` E4 route yet).

    Parameters
    ----------
    dps : int
        Confirmed significant digits, 5..30 (``max_weight``: 5..20); larger values raise
        ``PrecisionError`` naming the largest.
    what : {"ipr", "log_partition", "entropy", "max_weight"}
    d : int
        Head dimension, 2..4096.
    """
    if what == "max_weight":
        _route_limit(dps, E8_MAX_WEIGHT_DPS, "eval_bilinear('max_weight')",
                     "the mp chi-square mixture of the E4 lattice, seconds per node")
    elif what in _E8_MP:
        _route_limit(dps, E8_DPS, "eval_bilinear", "the mp chi-square mixture route")
    n, s = _check_args(n, sigma, dps)
    if what not in _IID_FUNCTIONALS:
        raise ValueError(f"what must be one of {sorted(_IID_FUNCTIONALS)}, got {what!r}")
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 2 <= d <= 4096:
        raise ValueError(f"d must be an integer in [2, 4096], got {d!r}")
    label = f"bilinear E {what} (n={n}, d={d}, sigma={s:g})"
    cache = {}
    if dps <= FAST_DPS:
        return _confirmed(lambda be, lev: _bilinear(be, lev, what, n, int(d), s, dps, cache), dps, label)
    node_dps = dps + 5 if what == "max_weight" else None
    return _confirmed(lambda be, lev: _bilinear_mp(be, lev, what, n, int(d), s, cache, node_dps), dps, label,
                      mp_levels=range(2, 8))


def eval_prob_weight_above(dps, n, sigma, eps):
    _route_limit(dps, E7_DPS[1], "eval_prob_weight_above", "float64 Laplace inversion")
    return Confirmed(_laplace.eval_prob_weight_above(dps, n, sigma, eps), int(dps))


def eval_count_above(dps, n, sigma, eps):
    _route_limit(dps, E7_DPS[1], "eval_count_above", "float64 Laplace inversion")
    return Confirmed(_laplace.eval_count_above(dps, n, sigma, eps), int(dps))


eval_prob_weight_above.__doc__ = _laplace.eval_prob_weight_above.__doc__
eval_count_above.__doc__ = _laplace.eval_count_above.__doc__


def eval_k_eps(dps, n, sigma, eps):
    r"""``E k_eps`` for IID ``N(0, sigma^2)`` logits, by Laplace inversion (``n eps >= 1``: ``eps <= 0.15``).

    ``k_eps`` is the kernels' statistic (``stat.k_eps``): ``n`` minus the largest number of smallest
    weights whose sum is at most ``eps``. ``E k_eps = n P(entry 1 kept)``, and entry 1 (logit
    ``sigma x``) is kept iff ``(1 - eps)(w + A) > eps B`` (``A``, ``B``: the weights below and above it):

    .. math:: \mathbb{E} k_\epsilon = n\int\phi(x)\,\frac{1}{2\pi i}\int e^{\vartheta(1-\epsilon)}
              M(\vartheta; x)^{n-1}\frac{d\vartheta}{\vartheta}\,dx,\qquad
              M = \mathbb{E}[e^{\vartheta(1-\epsilon)u}; X < x] + \mathbb{E}[e^{-\vartheta\epsilon u}; X > x],

    ``u = e^{sigma (X - x)}`` (:mod:`._keps`).

    Parameters
    ----------
    dps : int
        Confirmed significant digits, 5..12 (float64; larger raise ``PrecisionError``).
    n : int
        Keys per row, 2..2^40.
    sigma : float
        Logit standard deviation, in [0.05, 30].
    eps : float
        Dropped mass, in (0, 1). For ``n eps < 1`` (or ``m0 = ceil((1 - eps)/eps - 1/4) > n - 1``)
        the whole transform is inverted on a hyperbola; otherwise ``M^{n-1}`` is split by the number
        of keys above ``x`` (hyperbola and vertical line, see :mod:`._keps`), which needs
        ``eps <= 0.15``; larger ``eps`` raise ``PrecisionError``.
    """
    _route_limit(dps, E7_DPS[1], "eval_k_eps", "float64 Laplace inversion")
    n, s = _check_args(n, sigma, dps)
    if s < 0.05:
        raise ValueError(f"sigma must be a real number in [0.05, 30] for eval_k_eps, got {sigma!r}")
    e = _real_arg(eps, "eps")
    if not (math.isfinite(e) and 0 < e < 1):
        raise ValueError(f"eps must be a real number in (0, 1), got {eps!r}")
    return Confirmed(_keps.eval_k_eps(int(dps), n, s, e), int(dps))
