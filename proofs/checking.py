"""Checks of claims: build the engines' plain descriptions from a claim and run them.

The engines of :mod:`attnsparse.numeric.check` and :mod:`attnsparse.numeric.trend` know
nothing of claims: they take a :class:`~attnsparse.numeric.check.CheckSpec` or a
:class:`~attnsparse.numeric.trend.TrendSpec`. This module reads a claim's public members
(``bind``, ``lhs``, ``rhs``, ``evaluate``, the tolerances, ``expect``) into one.
"""

from __future__ import annotations

import time
from dataclasses import replace

from ..numeric import config
from ..numeric.check import CheckResult, CheckSpec, check_settings, run_check
from ..numeric.statistics import Functional
from ..numeric.trend import TrendSpec, run_trend, trend_settings

__all__ = ["check_claim", "check_spec", "trend_check", "trend_spec"]


def check_spec(claim, params, seed=0, effort="quick", alpha=None) -> CheckSpec:
    """The plain description of checking ``claim`` at ``params`` (names to numbers).

    The settings are validated first, then the parameters are bound, then the theory
    value is evaluated (at :data:`config.THEORY_DPS` digits) unless the right-hand side
    is a second functional.
    """
    check_settings(seed, effort, alpha)
    values = claim.bind(params)
    rhs = claim.rhs
    two_sample = isinstance(rhs, Functional)
    theory = None if two_sample else claim.evaluate(dps=config.THEORY_DPS, **params)
    return CheckSpec(claim.id, claim.lhs, claim.model, values, claim.rel, theory=theory,
                     rhs=rhs if two_sample else None, rtol=claim.tolerance_rtol, atol=claim.atol,
                     params=dict(params), expect=claim.expect, seed=seed, effort=effort, alpha=alpha)


def check_claim(claim, params, seed=0, effort="quick", alpha=None) -> CheckResult:
    """Check ``claim`` at ``params`` (a dict of names to numbers) against simulation.

    See :mod:`attnsparse.numeric.check`. ``elapsed`` counts the theory evaluation too.
    """
    t0 = time.perf_counter()
    spec = check_spec(claim, params, seed, effort, alpha)
    return _with_time(run_check(spec), t0)


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
    return _with_time(run_trend(spec), t0)


def _with_time(result, t0):
    """``result`` with ``elapsed`` measured from ``t0`` (the engine measured its own part)."""
    return replace(result, elapsed=time.perf_counter() - t0)
