"""Accuracy and speed of the exact finite-n evaluators: ``python -m bench.exact [--digits D]``.

For each evaluator and point it prints the confirmed value, the digits requested (the
value is confirmed at two precisions to that many digits, or the evaluator raises), and
the wall time. Targets (issue 3): E1-E5, E8 >= 12 digits in <= 2 s per point for n up to
2^20; >= 30 digits on request.
"""

from __future__ import annotations

import argparse
import math
import time

from attnsparse.numeric import exact as X


def _points():
    for n in (2**10, 2**20):
        bc = math.sqrt(2 * math.log(n))
        for f in (0.5, 1.0, 1.5):
            yield n, round(f * bc, 4)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.exact")
    ap.add_argument("--digits", type=int, default=12)
    ap.add_argument("--quick", action="store_true", help="one point per evaluator")
    a = ap.parse_args(argv)
    evals = [("E1 ipr", lambda n, s: X.eval_ipr(a.digits, n, s)),
             ("E2 ln Z", lambda n, s: X.eval_log_partition(a.digits, n, s)),
             ("E3 entropy", lambda n, s: X.eval_entropy(a.digits, n, s)),
             ("E4 max weight", lambda n, s: X.eval_max_weight(a.digits, n, s)),
             ("E5 mass above beta_c", lambda n, s: X.eval_mass_above(a.digits, n, s, math.sqrt(2 * math.log(n)))),
             ("E8 bilinear ipr d=16", lambda n, s: X.eval_bilinear(a.digits, "ipr", n, 16, s))]
    pts = list(_points())[:1] if a.quick else list(_points())
    print(f"{'evaluator':22s} {'n':>8s} {'sigma':>7s} {'value':>22s} {'digits':>6s} {'seconds':>8s}")
    for name, f in evals:
        for n, s in pts:
            t0 = time.perf_counter()
            try:
                v, d = str(f(n, s)), str(a.digits)
            except Exception as e:  # noqa: BLE001 -- printed, the benchmark goes on
                v, d = f"FAILED {type(e).__name__}", "-"
            print(f"{name:22s} {n:8d} {s:7.3f} {v[:22]:>22s} {d:>6s} {time.perf_counter() - t0:8.2f}", flush=True)


if __name__ == "__main__":
    main()
