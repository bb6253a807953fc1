"""Checks of claims: build the engines' plain descriptions from a claim and run them.

The engines of :mod:`attnsparse.numeric.check` and :mod:`attnsparse.numeric.trend` know
nothing of claims: they take a :class:`~attnsparse.numeric.check.CheckSpec` or a
:class:`~attnsparse.numeric.trend.TrendSpec`. This module reads a claim's public members
(``bind``, ``lhs``, ``rhs``, ``evaluate``, the tolerances, ``expect``) into one.

Two records go into ``CheckResult.extra`` (and so into ``report.json``):

``extra["theory_digits"]``
    the confirmed significant digits of the theory value the check used (the check asks
    for :data:`config.THEORY_DPS` digits, or a claim's ``THEORY_DIGITS`` when it has one: an
    exact evaluator is costly); tables print the theory with at most that many digits.
``extra["derivation"]``
    the status of the claim's derivation (:func:`derivation_status`): ``{"status":
    "verified" | "failed" | "partly cited" | "none", "steps", "verified", "cited",
    "asymptotic", "inconclusive", "failed", "reason"}``. A derivation is checked once per
    claim (:attr:`Claim.derivation_report <attnsparse.proofs.claim.Claim.derivation_report>`).
    A failed step makes the verdict ``refuted`` with the reason "derivation step k failed at
    <point>", whatever the simulation says (a counterexample is not statistical: ``p_value``
    becomes 0, so Holm's correction keeps it); the simulation's own verdict, reason and
    p-value are kept in ``extra["simulation"]``.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import replace

from ..numeric import config
from ..numeric.check import CheckResult, CheckSpec, check_settings, run_check
from ..numeric.statistics import Functional
from ..numeric.trend import TrendSpec, run_trend, trend_settings

__all__ = ["check_claim", "check_spec", "trend_check", "trend_spec", "derivation_status", "DERIVATION_STATUSES",
           "strict", "replay_effort", "schedule", "design_claim",
           "resolution_claim"]

#: the values of ``CheckResult.extra["derivation"]["status"]``
DERIVATION_STATUSES = ("verified", "failed", "partly cited", "none")
#: the time budget of a replay (``--rows``): large enough never to bind
REPLAY_SECONDS = 1e7
#: the relative deviation a design refutes when the claim's rtol is 0 (bounds)
DEFAULT_DEVIATION = 0.1
_COUNTED = ("verified", "cited", "asymptotic", "inconclusive", "failed")


def derivation_status(report):
    """The plain record of a derivation's step report (a ``DerivationCheck``, or None).

    ``status`` is ``failed`` when a step failed, ``verified`` when every step was verified,
    ``partly cited`` when no step failed but some rest on their justification (cited,
    asymptotic or inconclusive steps), ``none`` without a derivation.
    """
    if report is None:
        return {"status": "none", "steps": 0, **{k: 0 for k in _COUNTED}, "reason": "no derivation"}
    counts = report.counts()
    out = {"steps": len(report.steps), **{k: counts.get(k, 0) for k in _COUNTED}}
    if report.failed:
        s = report.failed[0]
        where = ", ".join(f"{k} = {v}" for k, v in (s.counterexample or {}).items())
        out.update(status="failed", reason=f"derivation step {s.number} failed at {where or 'a box'}"
                                           f" ({s.why}; {s.method})")
    elif out["verified"] == out["steps"]:
        out.update(status="verified", reason=f"all {out['steps']} steps verified")
    else:
        rest = ", ".join(f"{out[k]} {k}" for k in ("cited", "asymptotic", "inconclusive") if out[k])
        out.update(status="partly cited", reason=f"{out['verified']} of {out['steps']} steps verified; {rest}")
    return out


def _theory_dps(claim):
    """The digits the check asks of the theory: a claim's ``THEORY_DIGITS`` (exact evaluators)
    or :data:`config.THEORY_DPS`."""
    return int(getattr(claim, "THEORY_DIGITS", config.THEORY_DPS))


def _finish(claim, result, theory, t0):
    """``result`` with the theory's digits, the derivation status and the time recorded."""
    from ..numeric.precision import confirmed_digits

    extra = dict(result.extra)
    digits = confirmed_digits(theory)
    if digits is not None:
        extra["theory_digits"] = digits
    status = derivation_status(claim.derivation_report)
    extra["derivation"] = status
    changes = {}
    if status["status"] == "failed":
        extra["simulation"] = {"verdict": result.verdict, "reason": result.reason, "p_value": result.p_value}
        changes = dict(verdict="refuted", p_value=0.0,
                       reason=f"{status['reason']}; simulation: {result.verdict} ({result.reason})")
    return replace(result, extra=extra, elapsed=time.perf_counter() - t0, **changes)


def check_spec(claim, params, seed=0, effort="quick", alpha=None) -> CheckSpec:
    """The plain description of checking ``claim`` at ``params`` (names to numbers).

    The settings are validated first, then the parameters are bound, then the theory
    value is evaluated (at :data:`config.THEORY_DPS` digits, or the claim's
    ``THEORY_DIGITS``) unless the right-hand side is a second functional.
    """
    check_settings(seed, effort, alpha)
    values = claim.bind(params)
    rhs = claim.rhs
    two_sample = isinstance(rhs, Functional)
    theory = None if two_sample else claim.evaluate(dps=_theory_dps(claim), **params)
    return CheckSpec(claim.id, claim.lhs, claim.model, values, claim.rel, theory=theory,
                     rhs=rhs if two_sample else None, rtol=claim.tolerance_rtol, atol=claim.atol,
                     params=dict(params), expect=claim.expect, seed=seed, effort=effort, alpha=alpha)


def check_claim(claim, params, seed=0, effort="quick", alpha=None) -> CheckResult:
    """Check ``claim`` at ``params`` (a dict of names to numbers) against simulation.

    See :mod:`attnsparse.numeric.check`. ``elapsed`` counts the theory evaluation too, and
    the derivation check the first time.

    The result's ``extra`` (written to ``report.json``) holds ``theory_digits``, the
    confirmed significant digits of the theory value, and ``derivation``, the derivation
    status: ``{"status": "verified" | "failed" | "partly cited" | "none", "steps": k,
    "verified", "cited", "asymptotic", "inconclusive", "failed": counts of steps,
    "reason": text}``. A failed step makes the verdict ``refuted`` (reason "derivation step
    k failed at <point>", ``p_value`` 0) and keeps the simulation's own verdict, reason and
    p-value in ``extra["simulation"]``.
    """
    t0 = time.perf_counter()
    spec = check_spec(claim, params, seed, effort, alpha)
    return _finish(claim, run_check(spec), spec.theory, t0)


def trend_spec(claim, params, seed=0, effort="quick", alpha=1e-3) -> TrendSpec:
    """The plain description of the trend check of ``claim`` (a ``TrendClaim``) at ``params``."""
    trend_settings(seed, effort, alpha)
    values = claim.bind(params)
    theory = float(claim.evaluate(**params)) if claim.law == "exponent" else 0.0
    return TrendSpec(claim.id, claim.lhs.stat, claim.model, claim.n_symbol, values, claim.law, claim.tol,
                     theory=theory, compare=claim.compare, grid=claim.grid, params=dict(params),
                     expect=claim.expect, seed=seed, effort=effort, alpha=alpha)


def trend_check(claim, params, seed=0, effort="quick", alpha=1e-3) -> CheckResult:
    """Run the trend check of ``claim`` (a ``TrendClaim``) at ``params``.

    See :mod:`attnsparse.numeric.trend`. ``elapsed`` counts binding and the theory too.
    """
    t0 = time.perf_counter()
    spec = trend_spec(claim, params, seed, effort, alpha)
    return _finish(claim, run_trend(spec), None, t0)


def strict(results):
    """The verdicts of ``results`` with only the guaranteed methods deciding.

    Returns a new list (``results`` is not changed, as with ``holm``) in which every
    ``consistent`` or ``refuted`` result whose ``method`` is ``"asymptotic"`` is a copy with
    verdict ``inconclusive`` and a reason; its own verdict and reason are kept in
    ``extra["asymptotic"]``.
    """
    out = []
    for r in results:
        if r.method == "asymptotic" and r.verdict in ("consistent", "refuted"):
            extra = dict(r.extra, asymptotic={"verdict": r.verdict, "reason": r.reason})
            r = replace(r, verdict="inconclusive", extra=extra,
                        reason=f"strict: the method is asymptotic (its level holds only as far as the "
                               f"central limit theorem does); it said {r.verdict} ({r.reason})")
        out.append(r)
    return out


def schedule(effort="quick"):
    """The row counts at which the looks of ``effort`` end: ``initial 2^l`` up to ``max_samples``."""
    _, e, _ = check_settings(0, effort, None)
    rows, n = [], e["initial"]
    while n <= e["max_samples"]:
        rows.append(n)
        n *= 2
    return rows


def replay_effort(effort, rows):
    """The effort that replays a run of ``effort`` that ended after ``rows`` rows.

    The look schedule is deterministic, so ``max_samples=rows`` with a time budget that does
    not bind gives the same rows, hence the same estimates, on any machine and thread count.
    ``rows`` must be an integer on the schedule of ``effort`` (:func:`schedule`).
    """
    valid = schedule(effort)
    if isinstance(rows, bool) or not isinstance(rows, numbers.Integral) or int(rows) not in valid:
        shown = ", ".join(str(v) for v in valid[:8]) + (", ..." if len(valid) > 8 else "")
        raise ValueError(f"rows must be a row count on the look schedule of this effort ({shown}; "
                         f"initial * 2^l up to {valid[-1]}), got {rows!r}")
    _, e, _ = check_settings(0, effort, None)
    return {"initial": e["initial"], "max_samples": int(rows), "max_seconds": REPLAY_SECONDS}


def _pilot(claim, params, alpha, rtol, pilot_rows, seed):
    """The design pilot of ``claim`` at ``params`` (its first check point when empty), with the
    band ``rtol`` (default the claim's): the check engine's own sides, method and interval."""
    from dataclasses import replace as _replace

    from ..numeric import design
    from ..numeric.check import pilot_look

    if isinstance(pilot_rows, bool) or not isinstance(pilot_rows, numbers.Integral) or pilot_rows < 100:
        raise ValueError(f"pilot must be an integer >= 100 rows, got {pilot_rows!r}")
    if not params and claim.points:
        params = dict(claim.points[0])
    spec = check_spec(claim, params, seed, "quick", alpha)
    if rtol is not None:
        spec = _replace(spec, rtol=rtol)
    method, law, est, theory, tol = pilot_look(spec, int(pilot_rows), seed)
    return design.Pilot(method, law, est, theory, tol, spec.rel, int(pilot_rows))


def design_claim(claim, params, alpha=None, rtol=None, deviation=None, pilot=4000, seed=0):
    """A :class:`~attnsparse.numeric.design.Design` for ``claim`` at ``params`` (its first check
    point when empty). ``rtol`` (default the claim's) sets the band, ``deviation`` (relative to
    the theory, default ``rtol``, ``2 rtol`` for ``approx``, 0.1 when ``rtol`` is 0) the deviation
    to refute. Two-model claims are designed on
    their paired differences (the theory is the right-hand side's pilot estimate), quantiles
    with the order-statistic intervals the check uses."""
    from ..numeric import design

    rtol = claim.tolerance_rtol if rtol is None else rtol
    if isinstance(rtol, bool) or not isinstance(rtol, numbers.Real) or not 0 <= rtol < math.inf:
        raise ValueError(f"rtol must be a finite number >= 0, got {rtol!r}")
    if deviation is None:  # an ``approx`` band must be excluded: by default, a deviation of twice its width
        deviation = (rtol if rtol > 0 else DEFAULT_DEVIATION) * (2 if claim.rel == "approx" else 1)
    if isinstance(deviation, bool) or not isinstance(deviation, numbers.Real) or not 0 < deviation < math.inf:
        raise ValueError(f"deviation must be a finite number > 0 (relative to the theory), got {deviation!r}")
    p = _pilot(claim, params, alpha, rtol, pilot, seed)
    scale = abs(p.theory) if p.theory else 1.0
    return design.design_rows(p, deviation * scale)


def resolution_claim(claim, params, rows, alpha=None, pilot=4000, seed=0):
    """The smallest deviation, relative to the theory, refuted with ``rows`` rows (an int >= 1)."""
    from ..numeric import design

    if isinstance(rows, bool) or not isinstance(rows, numbers.Integral) or rows < 1:
        raise ValueError(f"rows must be an integer >= 1, got {rows!r}")
    p = _pilot(claim, params, alpha, None, pilot, seed)
    w = design.resolution_width(p, int(rows))
    return w / abs(p.theory) if p.theory else w
