"""Benchmark of the check engine: false-alarm rates, rows to refute, wall time of a quick suite.

    python -m bench.check            # 1000 repetitions per case (slow: tens of minutes)
    python -m bench.check --reps 50  # a quick run
    python -m bench.check --no-suite # skip the `attnsparse check --quick` timing

Prints, in one run:

* the false-alarm rate at alpha = 0.05 of true claims (refuted / repetitions) for a
  bounded heavy-tailed mean, a tiny mean, a tight bound, a Lipschitz statistic, a two-model
  claim and a quantile, with the method the engine used;
* the rows needed to refute a 10%-off mutant at alpha = 1e-3 by the engine (betting or
  lipschitz) and by the old t route (Student t at alpha / L over the same look schedule),
  same seeds;
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

n, sigma, d = sp.symbols("n sigma d", positive=True)
IID = asp.IIDLogits(n=n, sigma=sigma)

EFFORT = {"initial": 4000, "max_samples": 256_000, "max_seconds": 60.0}


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
        ("tiny mean: E p_0 = 1/n (n=2^12, sigma=0.5, rtol 5%)",
         asp.Claim("b.tiny", model=IID, lhs=asp.E(asp.stat.weight(0)), rel="==", rhs=1 / n, rtol=0.05),
         dict(n=2**12, sigma=0.5)),
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


def false_alarms(reps):
    print(f"False-alarm rate at alpha = 0.05, {reps} repetitions (target <= 0.05 for non-asymptotic methods)")
    for name, claim, point in _cases():
        t0 = time.perf_counter()
        k, method = 0, "?"
        for i in range(reps):
            r = claim.check(seed=1000 + i, alpha=0.05, effort=EFFORT, **point)
            k += r.verdict == "refuted"
            method = r.method
        print(f"  {name:75s} {method:17s} {k:4d}/{reps} = {k / reps:.3f}   ({time.perf_counter() - t0:.0f} s)")


def _t_route_rows(claim, point, seed, alpha):
    """Rows the old t route (Student t at alpha/L per look) needs to refute, same streams."""
    from attnsparse.proofs.checking import check_spec
    spec = check_spec(claim, point, seed=seed, effort=EFFORT, alpha=alpha)
    e = engine._effort(EFFORT)
    side = engine._Side(spec.lhs, spec.model, spec.values, seed, 0)
    L = engine._looks(e["initial"], e["max_samples"])
    theory = float(spec.theory)
    size, look = e["initial"], 0
    while True:
        side.extend(look, size)
        v, *_ = engine._decide_one_sample(spec.lhs, side.x, theory, spec.rel, max(spec.rtol * abs(theory), spec.atol),
                                          alpha / L)
        look += 1
        if v == "refuted" or 2 * len(side.x) > e["max_samples"]:
            return len(side.x) if v == "refuted" else math.inf
        size = len(side.x)


def rows_to_refute(reps):
    print("Rows to refute a 10%-off mutant at alpha = 1e-3 (median over seeds; target <= 4x the t route)")
    cases = _cases()
    for name, claim, point in cases[:2] + cases[3:4]:
        mutant = asp.Claim(claim.id + ".m", model=claim.model, lhs=claim.lhs, rel=claim.rel, rhs=1.1 * claim.rhs,
                           rtol=claim.rtol)
        ours, old = [], []
        for i in range(reps):
            r = mutant.check(seed=2000 + i, alpha=1e-3, effort=EFFORT, **point)
            ours.append(r.samples if r.verdict == "refuted" else math.inf)
            old.append(_t_route_rows(mutant, point, 2000 + i, 1e-3))
        print(f"  {name:60s} {r.method} {np.median(ours):>9.0f}   t route {np.median(old):>9.0f}   "
              f"ratio {np.median(ours) / np.median(old):.1f}")


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
    a = ap.parse_args(argv)
    false_alarms(a.reps)
    rows_to_refute(a.refute_reps)
    if not a.no_suite:
        suite_time()


if __name__ == "__main__":
    main()
