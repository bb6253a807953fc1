"""The accuracy tables of asymptotic claims: error, simulation and trend tables.

The ``details`` text that ``attnsparse show`` prints for an asymptotic claim records where
it stops being accurate: :func:`error_table` (against an exact finite-n value),
:func:`simulated_table` (against simulation, for statistics with no exact evaluator) and
:func:`trend_table` (the measured statistic and its local exponent along the grid of a
trend claim). Each table evaluates the claim itself (its right-hand side, its simulation):
a formula is never typed a second time as a lambda.
"""

from __future__ import annotations

import math

from .claim import as_number

__all__ = ["error_table", "simulated_table", "trend_table", "formula_value"]


def _where(p):
    """A check point as ``k=v, ...``."""
    return ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in p.items())


def formula_value(claim, point, dps=15):
    """The claim's right-hand side at ``point`` ({name: number}) as a float.

    Unlike :meth:`Claim.evaluate <attnsparse.proofs.claim.Claim.evaluate>` this does not
    require the claim's relational assumptions to hold at ``point``: an error table shows
    the formula also where the claim no longer promises it, to record where it fails.
    """
    from ..numeric.precision import eval_confirmed

    free = {s.name: s for s in claim.free_symbols}
    unknown = sorted(set(point) - set(free))
    if unknown:
        raise ValueError(f"claim {claim.id}: unknown parameter(s) {', '.join(unknown)}")
    values = {free[k]: as_number(k, v) for k, v in point.items()}
    return float(eval_confirmed(claim.rhs, values, dps))


def error_table(claim, exact, points):
    """Text table of the claim's formula against ``exact(**p)`` (relative error) at ``points``.

    ``exact`` is an exact finite-n evaluator (an ``eval_*`` of :mod:`attnsparse.numeric.exact`
    or a quadrature); the formula is the claim's right-hand side (:func:`formula_value`).
    Evaluators that fail are reported with their error, not hidden.
    """
    w = max([len(_where(p)) for p in points] + [10])
    lines = ["measured error of the asymptotic formula against the exact finite-n value:",
             f"  {'point':{w}s} {'asymptotic':>14s} {'exact':>14s} {'rel. error':>11s}"]
    for p in points:
        try:
            a, e = formula_value(claim, p), float(exact(**p))
            lines.append(f"  {_where(p):{w}s} {a:14.6g} {e:14.6g} {abs(a - e) / abs(e):11.2e}")
        except Exception as err:  # noqa: BLE001 -- reported in the table, not hidden
            lines.append(f"  {_where(p):{w}s} not evaluated: {type(err).__name__}: {err}")
    return "\n".join(lines)


def simulated_table(claim, points, samples=4000, seed=0):
    """Text table of the claim's formula against the simulated ``E[stat]`` (95% CI) at ``points``.

    For asymptotic claims whose statistic has no exact evaluator. The relative error is
    that of the formula against the simulated mean; the CI shows the simulation's own
    resolution.
    """
    w = max([len(_where(p)) for p in points] + [10])
    lines = [f"measured error of the asymptotic formula against simulation ({samples} rows per point, seed {seed}):",
             f"  {'point':{w}s} {'asymptotic':>12s} {'simulated':>12s} {'95% CI':>25s} {'rel. error':>10s}"]
    for p in points:
        try:
            a = float(claim.evaluate(15, **p))
            sim = claim.simulate(samples=samples, seed=seed, **p)
        except Exception as err:  # noqa: BLE001 -- reported in the table, not hidden
            lines.append(f"  {_where(p):{w}s} not evaluated: {type(err).__name__}: {err}")
            continue
        ci = f"[{sim.ci[0]:.5g}, {sim.ci[1]:.5g}]"
        rel = abs(a - sim.mean) / abs(sim.mean)
        lines.append(f"  {_where(p):{w}s} {a:12.6g} {sim.mean:12.6g} {ci:>25s} {rel:10.2e}")
    return "\n".join(lines)


def trend_table(claim, seed=0):
    """Text table of a trend claim's statistic along the quick grid, at each of its check points.

    Columns: ``n``, the simulated mean with its standard error, and the local exponent
    ``ln(m_{i+1}/m_i) / ln(n_{i+1}/n_i)`` between neighbouring grid points (for the law
    ``less``, the comparison statistic's mean instead), so one sees where along ``n`` the
    asymptotic law takes hold.
    """
    from ..numeric.trend import GRIDS, simulate_grid

    grid = GRIDS["quick"]
    ns = [2**int(e) for e in (claim.grid or grid["log2n"])]
    lines = [f"measured along the quick grid ({grid['rows']} rows per n, seed {seed}); law: {claim.law}"]
    for p in claim.points:
        values = claim.bind(p)
        where = _where(p)
        samples = simulate_grid(claim.model, claim.n_symbol, claim.lhs.stat, values, ns, grid["rows"], seed, 0)
        mean = [x.mean() for x in samples]
        se = [x.std(ddof=1) / math.sqrt(len(x)) for x in samples]
        if claim.law == "less":
            other = [x.mean() for x in
                     simulate_grid(claim.model, claim.n_symbol, claim.compare, values, ns, grid["rows"], seed, 1)]
            lines += [f"  at {where}:", f"  {'n':>10s} {'mean':>12s} {'stderr':>10s} {'alternative':>12s}"]
            lines += [f"  {n:10d} {m:12.6g} {e:10.2g} {o:12.6g}" for n, m, e, o in zip(ns, mean, se, other)]
            continue
        predicted = f"; predicted exponent {float(claim.evaluate(15, **p)):.4f}" if claim.law == "exponent" else ""
        header = f"  {'n':>10s} {'mean':>12s} {'stderr':>10s} {'exponent to next n':>19s}"
        lines += [f"  at {where}{predicted}:", header]
        for i, (n, m, e) in enumerate(zip(ns, mean, se)):
            ok = i + 1 < len(ns) and m > 0 and mean[i + 1] > 0
            b = f"{math.log(mean[i + 1] / m) / math.log(ns[i + 1] / n):19.4f}" if ok else ""
            lines.append(f"  {n:10d} {m:12.6g} {e:10.2g} {b}".rstrip())
    return "\n".join(lines)
