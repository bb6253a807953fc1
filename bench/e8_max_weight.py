"""Cost of the E8 max-weight route above 13 digits: ``python -m bench.e8_max_weight levels|nodes ...``.

``levels N DPS TAU[,TAU..] LEV[,LEV..]``: the E4 lattice (k = 1) at each level, its time and the relative
difference to the previous level (the error of the coarser one): the data behind
``_mixture_mp._inner_level_e4``.

``nodes N D SIGMA``: for dps 15, 20 and 30, the lattice nodes the mixture evaluates (first pass, levels
2 .. 4 or 5 as the level test needs, then the shifted pass), counted by inner level with a dry run
(node values replaced by a constant, no lattice run), then one real node of median ``tau`` per inner
level, timed: the estimate of a whole evaluation is the sum over nodes of the time of its level.
"""

from __future__ import annotations

import sys
import time

import mpmath as mp

from attnsparse.numeric.exact import _mixture_mp as MM
from attnsparse.numeric.exact._backend import _Backend
from attnsparse.numeric.exact._lattice import _topk_lattice

#: outer levels the level test reached (measured at (128, 16, 2.0): 14 digits confirmed at level 4)
OUTER = {15: 4, 20: 5, 30: 5}


def levels(n, dps, taus, levs):
    for tau in taus:
        prev = None
        for lev in levs:
            t = time.time()
            v = _topk_lattice(_Backend("mp", dps + 3), lev, n, mp.mpf(tau), 1)
            diff = mp.nstr(abs(v - prev) / v, 3) if prev is not None else ""
            print(n, dps, tau, lev, mp.nstr(v, dps + 3), f"{time.time() - t:.2f}s", diff, flush=True)
            prev = v


def dry_nodes(n, d, sigma, dps):
    """``[(tau, digits, inner level, shifted)]`` of the lattice nodes of one evaluation (no lattice run)."""
    nodes, orig, fl = [], MM.node_value, dict(MM._IID_FUNCTIONALS)

    def fake(ctx, what, n_, tau, digits, shifted):
        nodes.append((float(tau), digits, MM._inner_level_e4(digits, n_, float(tau)), shifted))
        return ctx.mpf(0.2)

    MM.node_value, MM._IID_FUNCTIONALS["max_weight"] = fake, (lambda be, lev, n_, t: 0.2)
    try:
        cache, top = {}, OUTER[dps]
        for lev in range(2, top + 1):
            MM.bilinear_mp(_Backend("mp", dps + 5), lev, "max_weight", n, d, sigma, cache, dps + 5)
        MM.bilinear_mp(_Backend("mp", dps + 15), (top, 1 / 3), "max_weight", n, d, sigma, cache, dps + 5)
    finally:
        MM.node_value = orig
        MM._IID_FUNCTIONALS.update(fl)
    return nodes


def nodes_report(n, d, sigma):
    every = {dps: dry_nodes(n, d, sigma, dps) for dps in OUTER}
    c = mp.mp.clone()
    c.dps = 50
    cost = {}
    for lev in sorted({x[2] for v in every.values() for x in v}):
        cand = sorted((x for v in every.values() for x in v if x[2] == lev), key=lambda x: x[0])
        tau, digits, _, shifted = cand[len(cand) // 2]
        t = time.time()
        MM.node_value(c, "max_weight", n, c.mpf(tau), digits, shifted)
        cost[lev] = time.time() - t
        print(f"node: inner level {lev}, tau {tau:.3f}, {digits} digits: {cost[lev]:.2f} s", flush=True)
    for dps, nodes in every.items():
        by = {}
        for x in nodes:
            by[x[2]] = by.get(x[2], 0) + 1
        est = sum(k * cost[lev] for lev, k in by.items())
        print(f"({n}, {d}, {sigma}) dps {dps}: {len(nodes)} lattice nodes {sorted(by.items())}, "
              f"estimated {est:.0f} s")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "levels":
        levels(int(args[0]), int(args[1]), [float(a) for a in args[2].split(",")], [int(a) for a in args[3].split(",")])
    else:
        nodes_report(int(args[0]), int(args[1]), float(args[2]))
