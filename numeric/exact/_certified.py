r"""Certified values at ``n = 2``: one-dimensional Gaussian integrals in arb ball arithmetic.

For two keys only the gap matters: ``d = sigma (X_1 - X_2) = a z`` with ``a = sigma sqrt 2`` and
``z ~ N(0, 1)``; with ``q = e^{-|d|}`` the weights are ``1/(1 + q)`` and ``q/(1 + q)``, so

* ``E sum_j p_j^k = 2 int_0^oo phi(z) (1 + q^k)/(1 + q)^k dz`` (integer ``k >= 1``; ``k = 2``: the IPR),
* ``E p_(1) = 2 int_0^oo phi(z) / (1 + q) dz``.

Both integrands are meromorphic in ``z`` (poles where ``q = -1``, off the real axis) and lie in
``[0, phi(z)]``, so the value is ``2 int_0^Z`` by python-flint's ``acb.integral`` (a rigorous
ball: the quadrature error is enclosed; arithmetic at poles gives non-finite balls, which the
integrator subdivides away) plus the tail ``[0, erfc(Z / sqrt 2)]``, also a ball. Nothing is
left outside the enclosure, so a value whose ball is narrower than half a unit of the
``dps``-th significant digit is returned as ``Confirmed(..., how="certified")``.
"""

from __future__ import annotations

import mpmath as mp

from ..precision import Confirmed

try:  # optional (extra "fast"): without it the confirmed routes serve n = 2 as any other n
    import flint as _flint
except ImportError:  # pragma: no cover - exercised only without python-flint
    _flint = None

#: the largest dps certified here (the routes above FAST_DPS stop at 60 too)
CERT_DPS = 60


def available():
    """True when python-flint (Arb) is installed."""
    return _flint is not None


def ball_n2(dps, what, sigma, k=2):
    """``(mid, rad)`` as mpmath numbers: a rigorous enclosure ``[mid - rad, mid + rad]`` of the
    ``n = 2`` value of ``what`` (``"moment"`` of integer order ``k`` or ``"max_weight"``)."""
    acb, arb = _flint.acb, _flint.arb
    old = _flint.ctx.prec
    _flint.ctx.prec = int(3.33 * dps) + 40
    try:
        a = arb(mp.nstr(mp.mpf(sigma), dps + 10, strip_zeros=False)) * arb(2).sqrt()
        Z = 4 + int((2 * 2.31 * (dps + 4)) ** 0.5) + 1  # Phibar(Z) < 10^-(dps+4)
        kk = int(k)

        def f(z, analytic):
            q = (-a * z).exp()
            w = 1 / (1 + q)
            g = w if what == "max_weight" else (1 + q ** kk) * w ** kk
            return (-(z * z) / 2).exp() * g

        body = acb.integral(f, 0, Z).real * 2 / (2 * arb.pi()).sqrt()
        tail = (arb(Z) / arb(2).sqrt()).erfc()  # 2 int_Z^oo phi, an upper bound of the dropped part
        total = body + arb(tail / 2, tail / 2)  # the dropped part lies in [0, tail]
        return _exact_mpf(total.mid()), _exact_mpf(total.rad().mid())
    finally:
        _flint.ctx.prec = old


def _exact_mpf(x):
    """The arb midpoint ``x`` as an mpf, exactly (``mpf()`` rounds to the working precision)."""
    man, exp = x.man_exp()
    man = int(man)
    with mp.workprec(max(man.bit_length(), 1) + 10):
        return mp.mpf((man, int(exp)))


def certified_n2(dps, what, sigma, k=2):
    """The ``n = 2`` value as a certified :class:`Confirmed` of ``dps`` digits, or ``None`` when
    python-flint is missing or the ball is not narrow enough (then a confirmed route serves it)."""
    if _flint is None or dps > CERT_DPS:
        return None
    mid, rad = ball_n2(dps, what, sigma, k)
    with mp.workdps(dps + 20):
        if not (mid > 0 and rad <= mp.mpf(10) ** -dps * mid / 2):
            return None
        return Confirmed(mid, int(dps), how="certified")
