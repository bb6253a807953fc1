"""Benchmark of the check engine: false-alarm rates, rows to refute, wall time of a quick suite.

    python -m bench.check            # 1000 repetitions per case (about an hour on 2 loaded cores)
    python -m bench.check --reps 50  # a quick run
    python -m bench.check --no-suite # skip the `attnsparse check --quick` timing
    python -m bench.check --only "tight bound" --reps 4000  # one false-alarm case only

Prints, in one run:

* the false-alarm rate at alpha = 0.05 of true claims (refuted / repetitions) for a
  bounded heavy-tailed mean, a tiny mean, a tight bound, a Lipschitz statistic, a two-model
  claim and a quantile, with the method the engine used and the exact (Clopper-Pearson)
  95% upper confidence bound on the rate. Each repetition runs the engine with a fixed row
  cap, ``FALSE_ALARM_EFFORT`` (4 000 rows doubling to at most 64 000, 5 looks, a time budget
  that never binds): smaller than the quick effort's cap, so that 1000 repetitions fit in
  the time; the guarantee tested (the level holds at every look) is the same. One more case,
  a mean of 2^-20, runs the betting sequence itself on numpy data of known mean (a row of
  the engine for that mean would need 2^20 logits);
* the rows needed to refute a mutant 10% above and one 10% below the truth at alpha = 1e-3,
  by the engine (betting or lipschitz) and by the old t route (Student t at alpha / L over
  the same look schedule), same seeds, as a ratio of medians;
* for the tiny-mean x1.1 mutant, the rows predicted by the information limit of a [0, 1] mean
  (any valid test), by the engine's capped bets and by the t route, against the measured first
  row at which the engine's p-value falls to alpha (:func:`tiny_limit`);
* the wall time of ``attnsparse check --quick``.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import sympy as sp
from scipy import integrate
from scipy import stats as st

import attnsparse as asp
from attnsparse.numeric import check as engine
from attnsparse.numeric.looks import decide_one_sample

n, sigma, d = sp.symbols("n sigma d", positive=True)
IID = asp.IIDLogits(n=n, sigma=sigma)

#: false-alarm repetitions: a fixed row cap (looks at 4 000 .. 64 000 rows); the time budget never binds
FALSE_ALARM_EFFORT = {"initial": 4000, "max_samples": 64_000, "max_seconds": 1e6}
#: rows to refute: room for the betting route to refute a tiny mean from below
REFUTE_EFFORT = {"initial": 4000, "max_samples": 2_048_000, "max_seconds": 1e6}
#: the mean of the tiny-mean case run on numpy data
TINY = 2.0**-20
TINY_NAME = "tiny mean 2^-20: 2^-20 (3.05/0.05) Beta(0.05, 3) in [0, 1], 64 000 rows"


def _mean_max(n_keys):
    """E max of n iid N(0, 1), by quadrature (independent of the engine)."""
    f = lambda x: x * n_keys * st.norm.pdf(x) * st.norm.cdf(x) ** (n_keys - 1)  # noqa: E731
    return integrate.quad(f, -12, 12, points=[0, 2, 3], limit=200)[0]


def _cases():
    bil = asp.BilinearQK(n=n, d=d)
    median = sigma * sp.sqrt(2) * sp.erfinv(2 * sp.Rational(1, 2) ** (1 / n) - 1)
    return [
        ("bounded heavy-tailed mean: E p_0 = 1/n (n=256, sigma=1.5)",
         asp.Claim("b.heavy", model=IID, lhs=asp.E(asp.stat.weight(0)), rel="==", rhs=1 / n), dict(n=256, sigma=1.5)),
        ("tiny mean: E p_0 = 1/n (n=2^10, sigma=0.5, rtol 5%)",
         asp.Claim("b.tiny", model=IID, lhs=asp.E(asp.stat.weight(0)), rel="==", rhs=1 / n, rtol=0.05),
         dict(n=2**10, sigma=0.5)),
        ("tight bound: P(argmax = 0) <= 1/n (n=8, an equality)",
         asp.Claim("b.tight", model=IID, lhs=asp.P(asp.stat.argmax == 0), rel="<=", rhs=1 / n), dict(n=8, sigma=1.0)),
        ("Lipschitz statistic: E max_logit = exact (n=64, sigma=1)",
         asp.Claim("b.lip", model=IID, lhs=asp.E(asp.stat.max_logit), rel="==", rhs=_mean_max(64)),
         dict(n=64, sigma=1.0)),
        ("two-model claim: E ipr, bilinear vs itself under another stream (n=64, d=8)",
         asp.Claim("b.two", model=bil, lhs=asp.E(asp.stat.ipr), rel="==", rhs=asp.E(asp.stat.ipr, model=bil)),
         dict(n=64, d=8)),
        ("quantile: median of max_logit (n=100)",
         asp.Claim("b.q", model=IID, lhs=asp.quantile(asp.stat.max_logit, 0.5), rel="==", rhs=median),
         dict(n=100, sigma=1.0)),
    ]


def binomial_upper(k, reps, level=0.95):
    """The exact (Clopper-Pearson) one-sided upper confidence bound on a rate seen k times in reps."""
    return 1.0 if k >= reps else float(st.beta.ppf(level, k + 1, reps - k))


def false_alarms(reps, only=None):
    """The false-alarm table; ``only`` (a substring of the case names) runs a subset."""
    print(f"False-alarm rate at alpha = 0.05, {reps} repetitions (target <= 0.05 for non-asymptotic methods);"
          f" upper: exact binomial 95% upper confidence bound on the rate", flush=True)
    for name, claim, point in _cases():
        if only is not None and only not in name:
            continue
        t0 = time.perf_counter()
        k, certified, methods = 0, 0, set()
        for i in range(reps):
            r = claim.check(seed=1000 + i, alpha=0.05, effort=FALSE_ALARM_EFFORT, **point)
            k += r.verdict == "refuted"
            certified += r.verdict == "consistent"
            methods.add(r.method)
        _row(name, "/".join(sorted(methods)), k, reps, t0)
        if claim.rel in ("<=", ">="):  # an equality: certifying the bound (with tol 0) is held to alpha too
            _row("  the same: certified consistent instead (a bound on the wrong side of the truth)",
                 "/".join(sorted(methods)), certified, reps, t0)
    if only is not None and only not in TINY_NAME:
        return
    t0 = time.perf_counter()
    k = sum(_tiny_false_alarm(np.random.default_rng(3000 + i), 0.05) for i in range(reps))
    _row(TINY_NAME, "betting (numpy)", k, reps, t0)


def _row(name, method, k, reps, t0):
    print(f"  {name:75s} {method:17s} {k:4d}/{reps} = {k / reps:.3f}  upper {binomial_upper(k, reps):.3f}"
          f"   ({time.perf_counter() - t0:.0f} s)", flush=True)


def _tiny_false_alarm(rng, alpha):
    """Whether the betting sequence ever rejects the true mean 2^-20 within 64 000 heavy-tailed rows
    (the p-value is the running minimum over all rows, so one call covers every stopping time)."""
    from attnsparse.numeric.confseq import betting_cs

    x = TINY * (3.05 / 0.05) * rng.beta(0.05, 3.0, FALSE_ALARM_EFFORT["max_samples"])
    return betting_cs(x, 0.0, 1.0, alpha).pvalue(TINY) <= alpha


def _t_route_rows(claim, point, seed, alpha):
    """Rows the old t route (Student t at alpha/L per look) needs to refute, same streams."""
    from attnsparse.proofs.checking import check_spec
    spec = check_spec(claim, point, seed=seed, effort=REFUTE_EFFORT, alpha=alpha)
    e = engine._effort(REFUTE_EFFORT)
    side = engine._Side(spec.lhs, spec.model, spec.values, seed, 0)
    L = engine._looks(e["initial"], e["max_samples"])
    theory = float(spec.theory)
    size, look = e["initial"], 0
    while True:
        side.extend(look, size)
        v, *_ = decide_one_sample(spec.lhs, side.x, theory, spec.rel, max(spec.rtol * abs(theory), spec.atol),
                                  alpha / L)
        look += 1
        if v == "refuted" or 2 * len(side.x) > e["max_samples"]:
            return len(side.x) if v == "refuted" else math.inf
        size = len(side.x)


def rows_to_refute(reps):
    print(f"Rows to refute a 10%-off mutant at alpha = 1e-3 (median over {reps} seeds, cap "
          f"{REFUTE_EFFORT['max_samples']} rows; target <= 4x the t route)", flush=True)
    cases = _cases()
    for name, claim, point in cases[:2] + cases[3:4]:
        for factor in (1.1, 0.9):
            mutant = asp.Claim(claim.id + ".m", model=claim.model, lhs=claim.lhs, rel=claim.rel,
                               rhs=factor * claim.rhs, rtol=claim.rtol)
            ours, old = [], []
            for i in range(reps):
                r = mutant.check(seed=2000 + i, alpha=1e-3, effort=REFUTE_EFFORT, **point)
                ours.append(r.samples if r.verdict == "refuted" else math.inf)
                old.append(_t_route_rows(mutant, point, 2000 + i, 1e-3))
            a, b = np.median(ours), np.median(old)
            print(f"  {name:60s} x{factor:<4g} {r.method:9s} {a:>9.0f}   t route {b:>9.0f}   ratio {a / b:.1f}",
                  flush=True)


def _on_schedule(rows, initial):
    """The first row count of the doubling look schedule at or above ``rows``."""
    return initial * 2 ** max(0, math.ceil(math.log2(rows / initial)))


def tiny_limit(reps, alpha=1e-3, factor=1.1):
    """Why the x1.1 tiny-mean mutant needs many rows: predicted rows against the measured ones.

    For values declared in [0, 1], the null "mean >= m" holds for every law on [0, 1] with mean m.
    Any test valid for all of them needs on average at least ``kl(1 - beta, alpha) / KL_inf`` rows
    at power ``1 - beta`` (data processing on the stopped sample), where ``KL_inf`` =
    ``max_{0 <= l <= 1/(1-m)} E log(1 + l (m - X))`` (the dual of Honda and Takemura): about
    ``m - mu`` when the values are tiny. The engine's bets are capped at ``c / (1 - m)``, so its
    capital grows by at most ``g_c = E log(1 + c (m - X) / (1 - m))`` a row and needs about
    ``log(2 / alpha) / g_c`` rows; the t route needs about ``z^2 Var X / (m - mu)^2``.
    Measured: the first row at which the engine's p-value falls to alpha, on the engine's own rows."""
    from scipy.optimize import minimize_scalar
    from attnsparse.numeric.confseq import C_TRUNC, betting_cs
    from attnsparse.proofs.checking import check_spec

    name, claim, point = _cases()[1]
    mutant = asp.Claim(claim.id + ".m", model=claim.model, lhs=claim.lhs, rel=claim.rel, rhs=factor * claim.rhs,
                       rtol=claim.rtol)
    e = engine._effort(REFUTE_EFFORT)
    crossings, rows = [], []
    for i in range(reps):
        spec = check_spec(mutant, point, seed=2000 + i, effort=REFUTE_EFFORT, alpha=alpha)
        side = engine._Side(spec.lhs, spec.model, spec.values, 2000 + i, 0)
        size = e["initial"]
        for look in range(7):  # the engine's rows up to 256 000, look by look
            side.extend(look, size)
            size = len(side.x)
        m = float(spec.theory)
        b = betting_cs(side.x, 0.0, 1.0, alpha).b
        path = np.maximum(b.log_capital_path(m, "+"), b.log_capital_path(m, "-")) - math.log(2)
        hit = np.nonzero(path >= math.log(1 / alpha))[0]
        crossings.append(hit[0] + 1 if len(hit) else math.inf)
        rows.append(side.x)
    x = np.concatenate(rows)
    mu = 1.0 / point["n"]
    delta, v = m - mu, float(np.var(x))
    g_c = float(np.mean(np.log1p(C_TRUNC * (m - x) / (1 - m))))
    g_star = -minimize_scalar(lambda lam: -float(np.mean(np.log1p(lam * (m - x)))), bounds=(0, 1 / (1 - m)),
                              method="bounded").fun
    power = 0.9
    kl = power * math.log(power / alpha) + (1 - power) * math.log((1 - power) / (1 - alpha))
    n_star, n_c = kl / g_star, math.log(2 / alpha) / g_c
    looks = engine._looks(e["initial"], e["max_samples"])
    n_t = st.norm.ppf(1 - alpha / (2 * looks)) ** 2 * v / delta**2
    init = e["initial"]
    print(f"Tiny-mean x{factor:g} mutant ({name}): mean {mu:.4g}, claimed {m:.4g}, delta {delta:.3g}, "
          f"Var {v:.3g}", flush=True)
    print(f"  any test valid for all [0, 1] laws, power {power:g}: >= {n_star:,.0f} rows on average (KL_inf "
          f"{g_star:.3g}), on the schedule {_on_schedule(n_star, init):,}", flush=True)
    print(f"  engine (bets capped at c/(1-m), c = {C_TRUNC:g}): about {n_c:,.0f} rows (growth {g_c:.3g} a row), "
          f"on the schedule {_on_schedule(n_c, init):,}; measured first crossing, median of {reps}: "
          f"{np.median(crossings):,.0f} rows", flush=True)
    print(f"  t route (z at alpha/(2 L), L = {looks}): about {n_t:,.0f} rows, on the schedule "
          f"{_on_schedule(n_t, init):,}; predicted ratio on the schedule "
          f"{_on_schedule(n_c, init) / _on_schedule(n_t, init):.0f}, floor for any valid test "
          f"{_on_schedule(n_star, init) / _on_schedule(n_t, init):.0f}", flush=True)


def suite_time():
    t0 = time.perf_counter()
    exe = shutil.which("attnsparse") or str(Path(sys.executable).with_name("attnsparse"))
    out = subprocess.run([exe, "check", "--quick", "--seed", "0"], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    tail = (out.stdout.strip().splitlines() or [""])[-1]
    print(f"Wall time of `attnsparse check --quick --seed 0`: {wall:.0f} s (target <= 120 s); {tail}")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.check", description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=1000, help="repetitions per false-alarm case (default 1000)")
    ap.add_argument("--refute-reps", type=int, default=20, help="seeds for the rows-to-refute comparison")
    ap.add_argument("--no-suite", action="store_true", help="skip timing `attnsparse check --quick`")
    ap.add_argument("--only", metavar="TEXT", help="run only the false-alarm cases whose name contains TEXT "
                                                   "(skips the rows to refute and the suite timing)")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    false_alarms(a.reps, a.only)
    if a.only is not None:
        print(f"total {time.perf_counter() - t0:.0f} s", flush=True)
        return
    rows_to_refute(a.refute_reps)
    tiny_limit(min(a.refute_reps, 5))
    if not a.no_suite:
        suite_time()
    print(f"total {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
