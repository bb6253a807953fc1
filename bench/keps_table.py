"""The exact curves of ``E k_eps / n`` in panel (b) of ``attnsparse reproduce``.

Usage::

    python -m bench.keps_table [--dps D] [--n N[,N..]] [--jobs J] [--min-ratio R] [--out FILE]

Evaluates :func:`attnsparse.numeric.exact.eval_k_eps` (eps = 0.1, ``dps`` confirmed digits, default
6) at every ``sigma / beta_c`` of :data:`attnsparse.reproduce.KEPS_RATIOS` for each ``n`` of the
panel, ``J`` values at a time in worker processes, and writes the table ``reproduce`` draws
(default ``api/data/keps_exact.json``, written atomically; the curves of other ``n`` already in it
are kept, so the table can be made one ``n`` at a time). A value the route does not confirm is
stored as null with the route's message (or with "not computed" below ``--min-ratio``); nothing is
filled in. Each value takes seconds to a
minute, so the table is made once and shipped; ``tests/api/test_reproduce.py`` recomputes some of
its entries (slow) and checks all of them against simulation.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

EPS = 0.1


def _one(job):
    from attnsparse.numeric.exact import eval_k_eps
    from attnsparse.numeric.quadrature import PrecisionError

    n, ratio, dps = job
    sigma = ratio * math.sqrt(2 * math.log(n))
    t = time.perf_counter()
    try:
        v, why = float(f"{float(eval_k_eps(dps, n, sigma, EPS)) / n:.{dps}g}"), None  # its confirmed digits
    except PrecisionError as err:
        v, why = None, str(err).splitlines()[0]
    return n, ratio, v, why, time.perf_counter() - t


def _earlier(path):
    """The table already at ``path`` (its other curves are kept), or None."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def main(argv=None):
    from attnsparse.files import write_atomic
    from attnsparse.reproduce import KEPS_RATIOS, KEPS_TABLE, SETTINGS

    ap = argparse.ArgumentParser(prog="python -m bench.keps_table", description=__doc__.splitlines()[0])
    ap.add_argument("--dps", type=int, default=6)
    ap.add_argument("--n", default=",".join(str(n) for n in SETTINGS["quick"]["phase_n"]))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--min-ratio", type=float, default=0.0,
                    help="leave out sigma/beta_c below this (high temperature costs minutes a value at large n)")
    ap.add_argument("--out", default=KEPS_TABLE)
    a = ap.parse_args(argv)
    ns = [int(x) for x in a.n.split(",")]
    jobs = [(n, r, a.dps) for n in ns for r in KEPS_RATIOS if r >= a.min_ratio]
    curves = {str(n): {"ratio": list(KEPS_RATIOS), "keps_over_n": [None] * len(KEPS_RATIOS),
                       "seconds": [None] * len(KEPS_RATIOS),
                       "refused": {f"{r:g}": f"not computed (below --min-ratio {a.min_ratio:g})"
                                   for r in KEPS_RATIOS if r < a.min_ratio}} for n in ns}
    t0 = time.perf_counter()
    with ProcessPoolExecutor(a.jobs) as pool:
        for n, r, v, why, sec in pool.map(_one, jobs):
            c = curves[str(n)]
            i = c["ratio"].index(r)
            c["keps_over_n"][i], c["seconds"][i] = v, round(sec, 2)
            if why is not None:
                c["refused"][f"{r:g}"] = why
            print(f"n = {n:7d}  sigma/beta_c = {r:7.4f}  " + (f"E k_eps/n = {v:.{a.dps}g}" if v is not None
                  else f"refused: {why}") + f"  ({sec:.1f} s)", flush=True)
    made = ("python -m bench.keps_table " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    table = {"eps": EPS, "dps": a.dps, "made_by": made, "made_on": datetime.date.today().isoformat(),
             "seconds_total": round(time.perf_counter() - t0, 1), "route": "attnsparse.numeric.exact.eval_k_eps",
             "curves": curves}
    old = _earlier(a.out)
    if old is not None and old["eps"] == EPS and old["dps"] == a.dps:  # keep the curves of the other n
        for n, c in old["curves"].items():
            if n not in curves and c["ratio"] == list(KEPS_RATIOS):
                table["curves"][n] = c
        if set(table["curves"]) != {str(n) for n in ns}:
            table["made_by"] = old["made_by"] + "; " + made
            table["seconds_total"] = round(old["seconds_total"] + table["seconds_total"], 1)
    table["curves"] = dict(sorted(table["curves"].items(), key=lambda kv: int(kv[0])))
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    write_atomic(a.out, json.dumps(table, indent=1) + "\n")
    print(f"wrote {a.out} in {table['seconds_total']} s")


if __name__ == "__main__":
    main()
