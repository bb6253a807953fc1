r"""Trend checks: asymptotic claims tested over a grid of row lengths ``n``.

An asymptotic statement ("``tau(alpha n^C) -> 0``", "``k_eps`` stays bounded") says nothing
at one ``n``. A trend check simulates the statistic at every ``n`` of a grid, fits the
power law ``E[stat] ~ A n^b`` by least squares in ``(ln n, ln E[stat])``, and bootstraps the
rows within each ``n`` (``BOOTSTRAP`` resamples) for a confidence interval of the exponent
``b`` at level ``1 - alpha``. The interval is compared with the prediction:

* ``law="exponent"``: ``b`` should equal ``rhs`` within ``tol`` (polylog factors move the
  local exponent by about ``1/ln n``): consistent if the CI lies inside ``rhs +- tol``,
  refuted if it lies outside, inconclusive otherwise;
* ``law="decreasing"``: ``b < 0`` (the statistic tends to 0): consistent if the CI lies
  below ``-tol``, refuted if it lies above 0;
* ``law="bounded"``: ``b ~ 0`` (the statistic stays bounded): consistent if the CI lies in
  ``(-oo, tol]``, refuted if it lies above ``tol``;
* ``law="not_decreasing"``: ``b >= 0`` up to ``tol``: consistent if the CI lies above ``-tol``,
  refuted if it lies below ``-tol``;
* ``law="less"``: the statistic averaged over the grid is smaller than the comparison
  statistic's (``compare``) at equal average budget: the difference of grid means, the two
  statistics simulated on independent rows (``tol`` is not used).

The false-alarm level of one trend check is ``alpha`` (one interval, one look). The
p-value reported for Holm's correction is :func:`refutation_p`: twice the bootstrap mass on
the claim's side of the refuting boundary.

The engine :func:`run_trend` takes a plain description, a :class:`TrendSpec`; building one
from a trend claim is the claims' business (``attnsparse.proofs.checking``). Random
streams (:mod:`.streams`): grid point ``i`` of stream ``s`` draws batch ``1000 s + i``,
the bootstrap its own batch.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from .check import EXPECT, CheckResult
from .models import Model
from .simulate import simulate_stats
from .rowstats import Stat
from .streams import check_seed, trend_batch, trend_bootstrap_rng

__all__ = ["TrendSpec", "run_trend", "trend_settings", "fit_exponent", "simulate_grid",
           "equal_budget_fixed_k", "GRIDS", "BOOTSTRAP", "LAWS"]

#: row lengths per effort (powers of two) and rows simulated at each n
GRIDS = {
    "quick": {"log2n": (8, 10, 12, 14, 16, 18), "rows": 600},
    "full": {"log2n": (8, 10, 12, 14, 16, 18, 20), "rows": 4000},
}
#: bootstrap resamples of the exponent
BOOTSTRAP = 2000
LAWS = ("exponent", "decreasing", "bounded", "not_decreasing", "less")


def equal_budget_fixed_k(log2n, C, alpha=1):
    """The fixed window whose mean cost equals the adaptive window's over the contexts ``2^log2n``.

    The adaptive window keeps ``ceil(alpha n^C)`` keys; a fixed window ``k`` keeps
    ``min(k, n)``. Returns the smallest ``k`` with ``mean_n min(k, n) >= mean_n ceil(alpha n^C)``
    (contexts equally weighted).
    """
    ns = [2**int(e) for e in log2n]
    target = sum(math.ceil(alpha * n**C - 1e-12) for n in ns) / len(ns)
    k = 1
    while sum(min(k, n) for n in ns) / len(ns) < target:
        k += 1
    return k


def fit_exponent(ns, samples):
    r"""Least-squares exponent ``b`` of ``mean(samples[i]) ~ A ns[i]^b``.

    Parameters
    ----------
    ns : sequence of int
        Row lengths (at least two distinct values).
    samples : sequence of 1-d arrays
        Positive-mean samples of the statistic at each ``n``.

    Returns
    -------
    float
        .. math:: b = \frac{\sum_i (\ell_i - \bar\ell)(y_i - \bar y)}{\sum_i (\ell_i - \bar\ell)^2},
           \quad \ell_i = \ln n_i,\ y_i = \ln \bar x_i.
    """
    ell = np.log(np.asarray(ns, dtype=float))
    if len(set(ns)) < 2:
        raise ValueError("fit_exponent needs at least two distinct row lengths")
    means = np.array([np.mean(s) for s in samples])
    if np.any(means <= 0):
        raise ValueError("fit_exponent needs a positive mean at every n (the law is a power of n)")
    return _slope(ell, np.log(means))


def _slope(ell, y):
    """Slope(s) of ``y`` on ``ell`` along the last axis."""
    dl = ell - ell.mean()
    return np.sum(dl * (y - y.mean(-1, keepdims=True)), -1) / np.sum(dl * dl)


def _bootstrap_means(rng, samples, reps):
    """``(reps, len(samples))`` means of rows resampled within each n."""
    out = np.empty((reps, len(samples)))
    for i, s in enumerate(samples):
        idx = rng.integers(0, len(s), size=(reps, len(s)))
        out[:, i] = s[idx].mean(1)
    return out


def simulate_grid(model, n_symbol, stat_, values, ns, rows, seed, stream):
    """Per-n samples of ``stat_`` (a Stat) under ``model``, with ``n_symbol`` set to each of ``ns``.

    ``values`` binds the other parameters; grid point ``i`` of ``stream`` draws batch
    :func:`.streams.trend_batch` ``(stream, i)``.
    """
    out = []
    for i, n in enumerate(ns):
        vals = {**values, n_symbol: sp.Integer(n)}
        x = simulate_stats(model, [stat_], rows, seed, vals, batch=trend_batch(stream, i))[:, 0]
        out.append(x)
    return out


def _decide(law, lo, hi, theory, tol):
    if law == "exponent":
        if lo >= theory - tol and hi <= theory + tol:
            return "consistent", "exponent CI within prediction +- tol"
        if hi < theory - tol or lo > theory + tol:
            return "refuted", "exponent CI outside prediction +- tol"
        return "inconclusive", "exponent CI overlaps the edge of the tolerance band"
    if law == "decreasing":
        if hi < -tol:
            return "consistent", f"exponent CI below -{tol:g}: the statistic decreases like a power of n"
        if lo > 0:
            return "refuted", "exponent CI above 0: the statistic grows with n"
        return "inconclusive", f"exponent CI reaches above -{tol:g}: decrease not resolved on this grid"
    if law == "bounded":
        if hi <= tol:
            return "consistent", f"exponent CI below {tol:g}: no growth in n resolved"
        if lo > tol:
            return "refuted", f"exponent CI above {tol:g}: the statistic grows like a power of n"
        return "inconclusive", f"exponent CI straddles {tol:g}"
    if law == "not_decreasing":
        if lo >= -tol:
            return "consistent", f"exponent CI above -{tol:g}: no decrease to 0 resolved"
        if hi < -tol:
            return "refuted", f"exponent CI below -{tol:g}: the statistic decreases like a power of n"
        return "inconclusive", f"exponent CI straddles -{tol:g}"
    # less: CI of mean(lhs) - mean(compare) over the grid
    if hi < 0:
        return "consistent", "CI of the difference of grid means below 0"
    if lo > 0:
        return "refuted", "CI of the difference of grid means above 0"
    return "inconclusive", "CI of the difference of grid means contains 0"


def refutation_p(law, boot, est, theory, tol):
    """Percentile-bootstrap p-value of "the claim holds" (for Holm's correction).

    Twice the bootstrap mass on the claim's side of the refuting boundary: ``p <= alpha``
    exactly when the ``1 - alpha`` interval lies beyond that boundary (a refutation).
    """
    if law == "exponent":
        if est > theory + tol:
            side = np.mean(boot <= theory + tol)
        elif est < theory - tol:
            side = np.mean(boot >= theory - tol)
        else:
            return 1.0
    elif law in ("decreasing", "less"):
        side = np.mean(boot <= 0.0)
    elif law == "bounded":
        side = np.mean(boot <= tol)
    else:  # not_decreasing
        side = np.mean(boot >= -tol)
    return float(min(1.0, 2 * side))


@dataclass(frozen=True)
class TrendSpec:
    """A plain description of one trend check.

    Parameters
    ----------
    claim_id : str
        Name reported in the result.
    stat : Stat
        The statistic whose mean follows the law.
    model : Model
        The model, with ``n_symbol`` its row length.
    n_symbol : Symbol
        The trend variable, set to each ``n`` of the grid.
    values : dict {Symbol: number}
        The bound parameters other than ``n``.
    law : str
        One of :data:`LAWS`.
    tol : float
        Tolerance on the exponent (law ``less``: not used).
    theory : float or mpf
        The predicted exponent (law ``exponent``); 0 otherwise.
    compare : Stat, optional
        The comparison statistic of law ``less``.
    grid : sequence of int, optional
        ``log2 n`` values overriding the effort's grid.
    params : dict {name: number}
        The parameter point as given, reported in the result.
    expect : {"consistent", "refuted"}
        The verdict the catalogue expects.
    seed, effort, alpha
        Master seed, effort (:data:`GRIDS` key or a dict with ``log2n``/``rows``), level.
    """

    claim_id: str
    stat: Stat
    model: Model
    n_symbol: sp.Symbol
    values: dict
    law: str
    tol: float
    theory: object = 0.0
    compare: Stat | None = None
    grid: tuple | None = None
    params: dict = field(default_factory=dict)
    expect: str = "consistent"
    seed: int = 0
    effort: object = "quick"
    alpha: float = 1e-3

    def __post_init__(self):
        if self.law not in LAWS:
            raise ValueError(f"law must be one of {LAWS}, got {self.law!r}")
        if self.law == "less" and self.compare is None:
            raise ValueError("law='less' needs compare, the statistic of the alternative")
        if self.expect not in EXPECT:
            raise ValueError(f"expect must be one of {EXPECT}, got {self.expect!r}")


def trend_settings(seed=0, effort="quick", alpha=1e-3):
    """Validate the settings of a trend check: ``(seed, grid dict, alpha)``."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    seed = check_seed(seed)
    if isinstance(effort, str) and effort in GRIDS:
        grid = GRIDS[effort]
    elif isinstance(effort, dict):
        grid = dict(GRIDS["quick"], **{k: v for k, v in effort.items() if k in ("log2n", "rows")})
    else:
        raise ValueError(f"effort must be one of {sorted(GRIDS)} or a dict with log2n/rows, got {effort!r}")
    return seed, grid, alpha


def run_trend(spec: TrendSpec) -> CheckResult:
    """Run the trend check described by ``spec``. See the module docstring."""
    seed, grid, alpha = trend_settings(spec.seed, spec.effort, spec.alpha)
    t0 = time.perf_counter()
    law, tol, values = spec.law, spec.tol, spec.values
    ns = [2**int(e) for e in (spec.grid or grid["log2n"])]
    rows = int(grid["rows"])
    lhs = simulate_grid(spec.model, spec.n_symbol, spec.stat, values, ns, rows, seed, 0)
    rng = trend_bootstrap_rng(seed)
    if law == "less":
        rhs = simulate_grid(spec.model, spec.n_symbol, spec.compare, values, ns, rows, seed, 1)
        diffs = [a - b for a, b in zip(lhs, rhs)]
        est = float(np.mean([d.mean() for d in diffs]))
        boot = _bootstrap_means(rng, diffs, BOOTSTRAP).mean(1)
        theory = 0.0
    else:
        theory = float(spec.theory) if law == "exponent" else 0.0
        est = fit_exponent(ns, lhs)
        boot = _slope(np.log(np.asarray(ns, dtype=float)), np.log(np.maximum(
            _bootstrap_means(rng, lhs, BOOTSTRAP), 1e-300)))
    lo, hi = (float(v) for v in np.quantile(boot, [alpha / 2, 1 - alpha / 2]))
    verdict, reason = _decide(law, lo, hi, theory, tol)
    p = refutation_p(law, boot, est, theory, tol)
    se = float(np.std(boot, ddof=1))
    z = (est - theory) / se if se > 0 else 0.0
    means = {int(n): float(np.mean(x)) for n, x in zip(ns, lhs)}
    extra = {"law": law, "n": ns, "means": means}
    if law == "less":
        extra["compare_means"] = {int(n): float(np.mean(a - d)) for n, a, d in zip(ns, lhs, diffs)}
    return CheckResult(spec.claim_id, dict(spec.params), verdict, theory, est, se, (lo, hi), 1 - alpha, float(z),
                       float(p), rows * len(ns) * (2 if law == "less" else 1), 1, seed,
                       time.perf_counter() - t0, "trend", float(tol), f"{law}: {reason}", None, extra,
                       expect=spec.expect)
