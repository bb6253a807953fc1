"""Time a value and digits confirmed of ``E k_eps`` for ``n eps >= 1`` (the split route, issue 12).

Usage: ``python bench/keps.py N EPS F1,F2,...`` (``sigma = F beta_c``, ``beta_c = sqrt(2 ln n)``).
Each line: the value at dps 6 (confirmed as ``eval_k_eps`` confirms it: the route's two evaluations
must agree to 6 digits), the time of the call, and the relative difference of the two evaluations.
"""

import math
import sys
import time

import mpmath as mp

from attnsparse.numeric.exact import _keps
from attnsparse.numeric.exact._laplace import _confirmed_pair
from attnsparse.numeric.precision import PrecisionError


def main(argv):
    n, eps = int(argv[1]), float(argv[2])
    beta_c = math.sqrt(2 * math.log(n))
    print(f"n = {n}, eps = {eps:g}, beta_c = {beta_c:.4f}, m0 = {_keps._m0_of(eps)}")
    print("sigma/beta_c | sigma | E k_eps (dps 6) | s a value | rel. diff of the two evaluations")
    for f in (float(v) for v in argv[3].split(",")):
        s = f * beta_c
        t = time.time()
        try:
            K, a, b = _keps._evaluate_split(n, s, eps, 6, _keps._m0_of(eps))
            v = _confirmed_pair(K, a, b, 6, "E k_eps") * n
        except PrecisionError as err:
            print(f"{f:.2f} | {s:.4f} | PrecisionError: {err} | {time.time() - t:.1f} |", flush=True)
            continue
        dt = time.time() - t
        print(f"{f:.2f} | {s:.4f} | {mp.nstr(v, 6)} | {dt:.1f} | {abs(a - b) / abs(b):.1e}", flush=True)


if __name__ == "__main__":
    main(sys.argv)
