"""One look of a check: the method a check takes, and the decision on the rows seen so far.

Split from :mod:`.check` (which runs the look loop and builds the result); the design and
the account of each method are in that module's docstring and in docs/statistics.md.

* :func:`method_of`: ``"order statistics"`` (quantiles), ``"betting"`` (every side has a
  declared range), ``"lipschitz"`` (every side has a Lipschitz constant), else ``"asymptotic"``.
* :func:`look_at`: the decision of one look, ``(verdict or None, p, ci, level, estimate,
  stderr, theory, tol, z, cs)``; ``cs`` is the confidence sequence of an anytime check
  (:func:`anytime_cs`), from which :func:`width_law` takes the rows-to-decide law.
* The deciders: :func:`decide_betting` (a betting or clipped sequence, the full ``alpha``),
  :func:`decide_one_sample` (asymptotic or order statistics, ``alpha / L`` per look),
  :func:`decide_two_sample` (normal difference of two means) and
  :func:`decide_two_sample_betting` (paired differences).
"""

from __future__ import annotations

import math

import numpy as np

from . import config
from .confseq import ClippedCS, betting_cs
from .design import WidthLaw
from .statistics import quantile

__all__ = ["method_of", "look_at", "anytime_cs", "width_law", "decide_betting", "decide_one_sample",
           "decide_two_sample", "decide_two_sample_betting", "band"]


def band(theory, tol):
    return theory - tol, theory + tol


def decide_betting(cs, theory, rel, tol, alpha):
    """(decision, p, ci, level) for one look of a betting check: ``cs`` is the confidence
    sequence of the rows (:class:`.confseq.BettingCS` or :class:`.confseq.ClippedCS`)."""
    if rel == "==":
        p = cs.pvalue(theory, "two-sided")
        ci = cs.interval()
        lo_b, hi_b = band(theory, tol)
        ok = ci[0] >= lo_b and ci[1] <= hi_b
    elif rel == "approx":
        lo_b, hi_b = band(theory, tol)
        # the band holds the mean: K+ at its top and K- at its bottom are both supermartingales
        p = min(1.0, 2 * min(cs.pvalue(hi_b, "greater"), cs.pvalue(lo_b, "less")))
        ci = cs.interval()
        ok = ci[0] >= lo_b and ci[1] <= hi_b
    elif rel == "<=":
        p = cs.pvalue(theory, "greater")
        ci = (-math.inf, cs.upper())
        ok = ci[1] <= theory + tol
    else:
        p = cs.pvalue(theory, "less")
        ci = (cs.lower(), math.inf)
        ok = ci[0] >= theory - tol
    return ("refuted" if p <= alpha else "consistent" if ok else None), p, ci, 1 - alpha


def decide_one_sample(f, x, theory, rel, tol, a_look):
    """(decision, p, ci, level) for one look of a one-sample check (asymptotic or quantile)."""
    level = 1 - a_look
    if rel == "==":
        p = f.pvalue(x, theory, "two-sided")
        ci = f.interval(x, level)
        ok = ci[0] >= theory - tol and ci[1] <= theory + tol
    elif rel == "approx":
        lo_b, hi_b = theory - tol, theory + tol
        est = f.estimate(x, 0.5).value
        if est > hi_b:
            p = min(1.0, 2 * f.pvalue(x, hi_b, "greater"))
        elif est < lo_b:
            p = min(1.0, 2 * f.pvalue(x, lo_b, "less"))
        else:
            p = 1.0
        ci = f.interval(x, level)
        ok = ci[0] >= lo_b and ci[1] <= hi_b
    elif rel == "<=":
        p = f.pvalue(x, theory, "greater")
        ci = f.interval(x, level, side="upper")
        ok = ci[1] <= theory + tol
    else:  # ">="
        p = f.pvalue(x, theory, "less")
        ci = f.interval(x, level, side="lower")
        ok = ci[0] >= theory - tol
    return ("refuted" if p <= a_look else "consistent" if ok else None), p, ci, level


def decide_two_sample(left, right, rel, rtol, atol, a_look):
    """Difference of two means (E or P functionals), normal approximation."""
    from scipy.stats import norm

    el, er = left.f.estimate(left.x, 0.5), right.f.estimate(right.x, 0.5)
    diff, se = el.value - er.value, math.hypot(el.stderr, er.stderr)
    tol = max(rtol * abs(er.value), atol)
    q = norm.ppf(1 - a_look / 2)
    ci = (diff - q * se, diff + q * se)  # for lhs - rhs; reported shifted by the rhs estimate
    if rel == "==":
        p = float(2 * norm.sf(abs(diff) / se)) if se > 0 else float(diff == 0)
    else:
        p = float(min(1.0, 2 * norm.sf((abs(diff) - tol) / se))) if abs(diff) > tol else 1.0
    ok = ci[0] >= -tol and ci[1] <= tol
    return ("refuted" if p <= a_look else "consistent" if ok else None), p, ci, 1 - a_look, el, er, tol


def decide_two_sample_betting(left, right, rel, rtol, atol, alpha, method):
    """Paired differences (rows of the two sides are independent draws, so the pairs are
    i.i.d.): the betting sequence on ``x_L - x_R``. Bounded means use the range of the
    difference; Lipschitz statistics (``method == "lipschitz"``) clip the difference, which
    is ``hypot(L_L, L_R)``-Lipschitz in the joint Gaussian input, around 0: the mean of
    the difference under ``==``, a centre fixed before the data."""
    er = float(np.mean(right.x))
    tol = max(rtol * abs(er), atol)
    cs = anytime_cs((left, right), method, 0.0, atol, alpha)
    decision, p, ci, level = decide_betting(cs, 0.0, "==" if rel == "==" else "approx", tol, alpha)
    return decision, p, ci, level, tol, cs


def method_of(spec, sides):
    if isinstance(spec.lhs, quantile):
        return "order statistics"
    if all(s.range is not None for s in sides):
        return "betting"
    if all((s.lipschitz or 0) > 0 for s in sides):
        return "lipschitz"
    return "asymptotic"


def anytime_cs(sides, method, theory, tol, alpha):
    """The confidence sequence of a betting or Lipschitz check: on the rows of one side, or on
    the paired differences ``x_L - x_R`` of two (centre 0; ``tol`` is then ``atol``, fixed before
    the data). A Lipschitz clip window is ``centre +- z L`` with ``z = LIPSCHITZ_Z + tol / L``:
    wide enough that the clipping bias at the band's edges is at most ``B(LIPSCHITZ_Z L)``; the
    difference of two sides is ``hypot(L_L, L_R)``-Lipschitz in the joint Gaussian input."""
    if len(sides) == 1:
        x, lip, rng = sides[0].x, sides[0].lipschitz, sides[0].range
    else:
        left, right = sides
        x = left.x - right.x
        lip = math.hypot(left.lipschitz or 0, right.lipschitz or 0)
        rng = (left.range[0] - right.range[1], left.range[1] - right.range[0]) if method == "betting" else None
    if method == "lipschitz":
        return ClippedCS(x, theory, lip, config.LIPSCHITZ_Z + tol / lip, alpha)
    return betting_cs(x, rng[0], rng[1], alpha)


def width_law(sides, method, cs, rel, alpha, looks):
    """The :class:`.design.WidthLaw` of a check (uncalibrated): the betting law on the values and
    range the confidence sequence ``cs`` runs on (the clip window for Lipschitz), else ``1/sqrt``."""
    side = {"<=": "upper", ">=": "lower"}.get(rel, "two")
    if cs is not None:
        b = (cs.inner if isinstance(cs, ClippedCS) else cs).b
        return WidthLaw("betting", float(np.var(b.y)) * b.span ** 2, alpha, (b.lo, b.hi),
                        float(b.from_unit(np.mean(b.y))), side)
    x = sides[0].x - sides[1].x if len(sides) == 2 else sides[0].x
    return WidthLaw("asymptotic", float(np.var(x, ddof=1)), alpha, side=side, looks=looks)


def look_at(spec, method, sides, theory, tol, alpha, a_look):
    """One look at the rows of ``sides``: ``(verdict or None, p, ci, level, est, se, theory, tol, z, cs)``
    (``theory`` is the right-hand side's estimate for two models; ``cs`` None unless anytime)."""
    anytime, cs = method in ("betting", "lipschitz"), None
    if len(sides) == 2:
        left, right = sides
        if anytime:
            verdict, p, ci, level, tol, cs = decide_two_sample_betting(left, right, spec.rel, spec.rtol, spec.atol,
                                                                       alpha, method)
            el, er = spec.lhs.estimate(left.x, 0.5), spec.rhs.estimate(right.x, 0.5)
        else:
            verdict, p, ci, level, el, er, tol = decide_two_sample(left, right, spec.rel, spec.rtol, spec.atol,
                                                                   a_look)
        est, se, theory = el.value, el.stderr, er.value
        ci = (er.value + ci[0], er.value + ci[1])
        z = (el.value - er.value) / math.hypot(el.stderr, er.stderr) if el.stderr or er.stderr else 0.0
    else:
        if anytime:
            cs = anytime_cs(sides, method, theory, tol, alpha)
            verdict, p, ci, level = decide_betting(cs, theory, spec.rel, tol, alpha)
        else:
            verdict, p, ci, level = decide_one_sample(spec.lhs, sides[0].x, theory, spec.rel, tol, a_look)
        est_o = spec.lhs.estimate(sides[0].x, 0.5)
        est, se = est_o.value, est_o.stderr
        z = (est - theory) / se if se > 0 else (0.0 if est == theory else math.copysign(math.inf, est - theory))
    return verdict, p, ci, level, est, se, theory, tol, z, cs
