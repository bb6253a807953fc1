"""Betting confidence sequences for the mean of bounded values (written in-house).

The method is the hedged capital of Waudby-Smith & Ramdas, "Estimating means of bounded
random variables by betting", JRSS-B 86 (2024), section 4 (theorem 3), with the
predictable plug-in bets of their equation (26). For values ``x_i`` in ``[lo, hi]`` we
work in ``y = (x - lo) / (hi - lo)`` in ``[0, 1]``. For a candidate mean ``m``:

* ``K+_t(m) = prod_{i <= t} (1 + l+_i(m) (y_i - m))``, ``l+_i(m) = min(l_i, c / m)``,
* ``K-_t(m) = prod_{i <= t} (1 - l-_i(m) (y_i - m))``, ``l-_i(m) = min(l_i, c / (1 - m))``,

with ``c = 1/2`` and the predictable plug-in bet

    l_i = sqrt(2 log(2 / alpha) / (s2_{i-1} i log(i + 1))),

``s2_{i-1}`` a running variance of the rows before ``i`` (:func:`_plugin_bets`). If the mean
is ``m`` the two capitals are nonnegative martingales with initial value 1, so by Ville's inequality
``P(exists t: K_t(m) >= 1/a) <= a``. The truncation at ``c/m`` (``c/(1-m)``) keeps every
factor at least ``1 - c``; it lets the bets grow to ``c/m`` for a tiny mean, which is what
resolves a mean of ``2^-20`` to a fraction of a per cent (tests/numeric/test_confseq.py).

* Two-sided: the hedged capital ``max(K+/2, K-/2)`` (``theta = 1/2``); the confidence set
  ``{m : max(K+_t, K-_t)(m) < 2/alpha}`` at time ``t`` holds the mean for all ``t`` at once
  with probability ``>= 1 - alpha``.
* One-sided: ``K+`` alone (a lower confidence bound: ``{m : K+_t(m) < 1/alpha}`` is
  ``[L_t, 1]``) or ``K-`` alone (an upper bound ``[0, U_t]``).
* The anytime-valid p-value of ``mean = m0`` (or ``<= m0``, ``>= m0``) is
  ``min(1, 1 / max_{s <= t} K_s(m0))``, with the hedged capital ``max(K+, K-)/2`` for the
  two-sided test.

``K+_t(m)`` decreases in ``m`` and ``K-_t(m)`` increases (each factor does, the truncation
included), so the hedged capital is quasi-convex and the confidence set is an interval.
Its endpoints are roots of ``log K(m) - log(1/a)``, found by ``scipy.optimize.brentq``
to a relative precision of about ``1e-12`` (no grid). The log-capital of a candidate ``m``
is one vectorised sum of ``log1p`` over the rows.

**Clipped values of a Lipschitz statistic** (:class:`ClippedCS`). If ``f`` is an
``L``-Lipschitz function of a standard Gaussian vector, then
``P(f - E f > t)`` and ``P(f - E f < -t)`` are at most ``exp(-t^2 / (2 L^2))``
(Tsirelson-Ibragimov-Sudakov). Clip ``f`` to the window ``[a, b] = [c - z L, c + z L]``
around a centre ``c`` fixed before the data, and write ``m_c = E clip(f)``,
``B(g) = L sqrt(2 pi) Phibar(g / L)``. For every candidate mean ``m``:

* (i) if ``E f >= m`` and ``m <= b - sqrt(pi/2) L``, then ``m_c >= m - B(b - m)``;
* (ii) if ``E f <= m`` and ``m >= a + sqrt(pi/2) L``, then ``m_c <= m + B(m - a)``.

Proof of (i): for ``mu = E f <= b``, ``clip(f) >= min(f, b)`` and
``E (f - b)_+ = int_0^inf P(f - mu > b - mu + u) du <= L sqrt(2 pi) Phibar((b - mu) / L)``,
so ``m_c >= mu - B(b - mu)``, which increases with ``mu`` (its derivative is
``1 - sqrt(2 pi) phi >= 0``); for ``mu > b``, ``E (b - f)_+ <= B(0) = sqrt(pi/2) L`` gives
``m_c >= b - sqrt(pi/2) L >= m``. (ii) is (i) for ``-f``. So a test of ``E f <= m`` is the
betting test of ``m_c <= m + B(m - a)`` on the clipped rows, and the confidence bounds of
``m_c`` widen into bounds of ``E f`` by solving ``m - B(b - m) = U`` and
``m + B(m - a) = L_c``: no assumption on where ``E f`` lies.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

__all__ = ["Bets", "BettingCS", "betting_cs", "ClippedCS", "clip_bias", "C_TRUNC"]

#: truncation of the bets: every factor of the capital is at least 1 - C_TRUNC
C_TRUNC = 0.5
_RTOL = 1e-12


def _plugin_bets(y, alpha):
    """Predictable plug-in bets ``l_i`` (before truncation) for the rows ``y`` in [0, 1].

    ``l_i = sqrt(2 log(2/alpha) / (s2_{i-1} i log(i + 1)))`` as in Waudby-Smith & Ramdas
    (26), with one change: their variance estimate carries a prior ``1/4`` of weight one
    (and their mean a prior ``1/2``), which for a mean of ``2^-20`` dominates the data for
    millions of rows and keeps the bets near 1 where they must reach ``~1/m``. Here the
    prior enters the first bet only: ``s2_0 = 1/4`` and, for ``i >= 1``,
    ``s2_i = sum_{j <= i} (y_j - ybar_j)^2 / i`` with ``ybar_j`` the running mean (no prior).
    Any predictable choice keeps the validity (the capital is a martingale whatever the
    bets); a spread that is underestimated early only costs power, because the
    truncation at ``c/m`` keeps every factor at least ``1 - c``.
    """
    t = np.arange(1, len(y) + 1, dtype=np.float64)
    ybar = np.cumsum(y) / t
    s2 = np.cumsum((y - ybar) ** 2) / t
    s2_prev = np.concatenate(([0.25], s2[:-1]))
    s2_prev = np.maximum(s2_prev, 1e-300)
    return np.sqrt(2 * math.log(2 / alpha) / (s2_prev * t * np.log1p(t)))


class Bets:
    """Rows rescaled to [0, 1] with their predictable bets: the capital of any candidate mean.

    Parameters
    ----------
    x : array
        The rows, each in ``[lo, hi]`` (checked).
    lo, hi : float
        The range of the values.
    alpha : float
        The level the bets are tuned for (it enters ``l_i`` only through ``log(2/alpha)``;
        validity does not depend on it).
    """

    def __init__(self, x, lo, hi, alpha):
        x = np.asarray(x, dtype=np.float64)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"betting confidence sequence: need a finite range lo < hi, got [{lo}, {hi}]")
        if len(x) == 0:
            raise ValueError("betting confidence sequence: no rows")
        if not np.all(np.isfinite(x)):
            raise ValueError("betting confidence sequence: the rows contain NaN or inf")
        span = hi - lo
        slack = 1e-9 * span
        if float(np.min(x)) < lo - slack or float(np.max(x)) > hi + slack:
            raise ValueError(f"a value lies outside the declared range [{lo:g}, {hi:g}] "
                             f"(min {float(np.min(x)):.6g}, max {float(np.max(x)):.6g})")
        self.lo, self.hi, self.span, self.alpha = float(lo), float(hi), float(span), float(alpha)
        self.y = np.clip((x - lo) / span, 0.0, 1.0)
        self.lam = _plugin_bets(self.y, alpha)
        self.n = len(x)

    def to_unit(self, m):
        return (m - self.lo) / self.span

    def from_unit(self, u):
        return self.lo + u * self.span

    def log_capital_path(self, u, side):
        """Cumulative log-capital ``log K_t(u)`` for ``t = 1..n``; ``side`` "+" or "-"."""
        y, lam = self.y, self.lam
        if side == "+":
            cap = C_TRUNC / u if u > 0 else math.inf
            return np.cumsum(np.log1p(np.minimum(lam, cap) * (y - u)))
        cap = C_TRUNC / (1 - u) if u < 1 else math.inf
        return np.cumsum(np.log1p(-np.minimum(lam, cap) * (y - u)))

    def log_capital(self, u, side):
        """``log K_n(u)`` at the last row."""
        y, lam = self.y, self.lam
        if side == "+":
            cap = C_TRUNC / u if u > 0 else math.inf
            return float(np.sum(np.log1p(np.minimum(lam, cap) * (y - u))))
        cap = C_TRUNC / (1 - u) if u < 1 else math.inf
        return float(np.sum(np.log1p(-np.minimum(lam, cap) * (y - u))))

    def max_log_capital(self, u, side):
        """``max_{t <= n} log K_t(u)`` (0 at t = 0)."""
        return max(0.0, float(np.max(self.log_capital_path(u, side))))


def _root(f, a, b):
    """Root of a monotone ``f`` on ``[a, b]`` with ``f(a)``, ``f(b)`` of opposite signs.

    The absolute tolerance 1e-40 (in the unit scale) is far below any mean a check resolves
    (2^-20 to a relative 1e-12 needs 1e-18) but bounded away from 0: when the first rows are
    all 0 their bets are unbounded (a running variance of 0), ``log K+`` grows like
    ``log(1 / u)`` only below ``u ~ 1e-150``, and a root there is 0 for every purpose; an
    absolute tolerance of 1e-300 made brentq exhaust its iterations on it
    (tests/numeric/test_confseq_roots.py)."""
    return brentq(f, a, b, xtol=1e-40, rtol=_RTOL, maxiter=400)


class BettingCS:
    """The betting confidence sequence of the rows seen so far (see the module docstring)."""

    method = "betting"

    def __init__(self, x, lo, hi, alpha):
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
        self.alpha = float(alpha)
        self.b = Bets(x, lo, hi, alpha)

    @property
    def mean(self):
        return float(self.b.from_unit(np.mean(self.b.y)))

    # --- one-sided bounds
    def lower(self, alpha=None):
        """Lower confidence bound at level ``1 - alpha`` (from ``K+`` alone), in the rows' units."""
        return self.b.from_unit(self._lower_u(math.log(1 / (alpha or self.alpha))))

    def upper(self, alpha=None):
        """Upper confidence bound at level ``1 - alpha`` (from ``K-`` alone)."""
        return self.b.from_unit(self._upper_u(math.log(1 / (alpha or self.alpha))))

    def interval(self, alpha=None):
        """Two-sided ``(lo, hi)`` at level ``1 - alpha``, from the hedged capital: ``K+`` (which
        decreases in ``m``) is below ``2/alpha`` exactly above ``lo`` and ``K-`` (increasing)
        exactly below ``hi``, so each end is the root of one capital on all of ``[0, 1]``."""
        a = alpha or self.alpha
        thr = math.log(2 / a)
        lo, hi = self._lower_u(thr), self._upper_u(thr)
        if lo > hi:  # an empty set (probability <= alpha): report the balance point
            m = self.b.from_unit(self._balance_u())
            return m, m
        return self.b.from_unit(lo), self.b.from_unit(hi)

    def _balance_u(self):
        """The ``u`` where ``K+ = K-`` (the minimiser of the hedged capital)."""
        def g(u):
            return self.b.log_capital(u, "+") - self.b.log_capital(u, "-")
        if g(0.0) <= 0:
            return 0.0
        if g(1.0) >= 0:
            return 1.0
        return _root(g, 0.0, 1.0)

    def _lower_u(self, thr):
        """``inf {u : log K+(u) < thr}`` (0 when ``K+(0)`` is already below)."""
        b = self.b

        def f(u):
            return b.log_capital(u, "+") - thr
        if f(0.0) < 0:  # K+(0) below the threshold: the bound is 0
            return 0.0
        if f(1.0) >= 0:
            return 1.0
        return _root(f, 0.0, 1.0)

    def _upper_u(self, thr):
        """``sup {u : log K-(u) < thr}`` (1 when ``K-(1)`` is already below)."""
        b = self.b

        def f(u):
            return b.log_capital(u, "-") - thr
        if f(1.0) < 0:
            return 1.0
        if f(0.0) >= 0:
            return 0.0
        return _root(f, 0.0, 1.0)

    # --- anytime-valid p-values
    def pvalue(self, m0, alternative="two-sided"):
        """``min(1, 1/max_t K_t(m0))``: the anytime-valid p-value of the null ``mean = m0``
        (``alternative="two-sided"``, hedged capital), ``mean <= m0`` (``"greater"``, ``K+``)
        or ``mean >= m0`` (``"less"``, ``K-``). A null outside the range has p = 0 if the
        range excludes it, p = 1 if the range makes it certain."""
        u = self.b.to_unit(float(m0))
        if alternative == "greater":
            if u >= 1:
                return 1.0
            if u < 0:
                return 0.0
            return math.exp(-self.b.max_log_capital(u, "+"))
        if alternative == "less":
            if u <= 0:
                return 1.0
            if u > 1:
                return 0.0
            return math.exp(-self.b.max_log_capital(u, "-"))
        if u < 0 or u > 1:
            return 0.0
        both = np.maximum(self.b.log_capital_path(u, "+"), self.b.log_capital_path(u, "-")) - math.log(2)
        return float(min(1.0, math.exp(-max(0.0, float(np.max(both))))))


def betting_cs(x, lo, hi, alpha):
    """The :class:`BettingCS` of rows ``x`` in ``[lo, hi]`` with bets tuned for ``alpha``."""
    return BettingCS(x, lo, hi, alpha)


def clip_bias(L, gap):
    """``L sqrt(2 pi) Phibar(gap / L)``: the most by which clipping at distance ``gap`` beyond
    a candidate mean can move the mean of an ``L``-Lipschitz function of a Gaussian vector
    (module docstring, (i) and (ii))."""
    return L * math.sqrt(2 * math.pi) * 0.5 * math.erfc(gap / (L * math.sqrt(2.0)))


class ClippedCS:
    """A confidence sequence for the mean of an ``L``-Lipschitz statistic of a Gaussian vector:
    the betting sequence of the values clipped to ``centre +- z L``, widened by the clipping
    bias (module docstring). Same interface as :class:`BettingCS`, in the units of the
    unclipped values.

    Parameters
    ----------
    x : array
        The rows (any finite reals).
    centre : float
        Centre of the clip window; it must not depend on the rows (a theory value).
    L : float
        Lipschitz constant, > 0.
    z : float
        Half-width of the window in units of ``L``, at least 2.
    alpha : float
        Level the bets are tuned for.
    """

    method = "lipschitz"

    def __init__(self, x, centre, L, z, alpha):
        if not (math.isfinite(L) and L > 0):
            raise ValueError(f"ClippedCS: L must be a finite number > 0, got {L!r}")
        if not (math.isfinite(z) and z >= 2):
            raise ValueError(f"ClippedCS: z must be a finite number >= 2, got {z!r}")
        if not math.isfinite(centre):
            raise ValueError(f"ClippedCS: centre must be finite, got {centre!r}")
        x = np.asarray(x, dtype=np.float64)
        if not np.all(np.isfinite(x)):
            raise ValueError("ClippedCS: the rows contain NaN or inf")
        self.centre, self.L, self.z = float(centre), float(L), float(z)
        self.a, self.b = self.centre - z * L, self.centre + z * L
        self.r = (z - math.sqrt(math.pi / 2)) * L  # (i) and (ii) hold for |m - centre| <= r
        self._xtol = 1e-13 * z * L
        self.inner = BettingCS(np.clip(x, self.a, self.b), self.a, self.b, alpha)
        self.alpha = self.inner.alpha

    def above(self, m):
        """``B(m - a)``: how far ``m_c`` may lie above ``m`` when ``E f <= m``."""
        return clip_bias(self.L, m - self.a)

    def below(self, m):
        """``B(b - m)``: how far ``m_c`` may lie below ``m`` when ``E f >= m``."""
        return clip_bias(self.L, self.b - m)

    @property
    def mean(self):
        return self.inner.mean

    def _lo_mu(self, lc):
        # E f > m for every m with m + above(m) < lc (by (ii)); the bound is the root
        m0 = self.centre - self.r
        if m0 + self.above(m0) >= lc:
            return -math.inf
        if self.above(lc) == 0:
            return lc
        return brentq(lambda m: m + self.above(m) - lc, m0, lc, xtol=self._xtol, rtol=_RTOL)

    def _hi_mu(self, uc):
        m1 = self.centre + self.r
        if m1 - self.below(m1) <= uc:
            return math.inf
        if self.below(uc) == 0:
            return uc
        return brentq(lambda m: m - self.below(m) - uc, uc, m1, xtol=self._xtol, rtol=_RTOL)

    def lower(self, alpha=None):
        return self._lo_mu(self.inner.lower(alpha))

    def upper(self, alpha=None):
        return self._hi_mu(self.inner.upper(alpha))

    def interval(self, alpha=None):
        lc, uc = self.inner.interval(alpha)
        return self._lo_mu(lc), self._hi_mu(uc)

    def pvalue(self, m0, alternative="two-sided"):
        """Anytime-valid p-value of ``E f = m0`` (``"two-sided"``), ``E f <= m0``
        (``"greater"``) or ``E f >= m0`` (``"less"``). A null beyond the window's valid part is
        tested at its edge (a weaker null, so still valid)."""
        hi = max(float(m0), self.centre - self.r)  # null E f <= hi  =>  m_c <= hi + above(hi)
        lo = min(float(m0), self.centre + self.r)  # null E f >= lo  =>  m_c >= lo - below(lo)
        p_g = self.inner.pvalue(hi + self.above(hi), "greater")
        if alternative == "greater":
            return p_g
        p_l = self.inner.pvalue(lo - self.below(lo), "less")
        if alternative == "less":
            return p_l
        return min(1.0, 2 * min(p_g, p_l))
