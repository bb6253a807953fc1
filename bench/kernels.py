"""Benchmark of the fused attention-statistics kernels against baselines run in the same process.

Usage::

    python -m bench.kernels [--repeat R] [--out FILE.json] [--large]

Cases (float64, d = 64, every built-in statistic of ``STATS``):

* ``qk 4096x4096``: :func:`attnsparse.numeric.measure.attention_stats` against (i) the dense
  numpy pipeline (BLAS ``QK^T``, stable softmax, sort, cumsum) and (ii) the floor (BLAS
  ``QK^T`` and one numpy ``exp`` pass); (iii) torch CPU when importable.
* ``iid mc 4096 rows x 4096 keys``: :func:`attnsparse.numeric.simulate.simulate_stats` on
  ``IIDLogits`` against numpy (``default_rng().standard_normal`` and the same pipeline).
* ``2^20 keys x 256 queries`` and, with ``--large``, ``65536 x 65536``: run in a fresh
  subprocess each, so the peak RSS printed is that case's own.

Times are the median of ``--repeat`` runs after a warm-up call (compilation excluded).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

import numpy as np

D = 64


def _stats():
    from attnsparse import stat

    return [stat.log_partition, stat.max_logit, stat.max_weight, stat.ipr, stat.entropy,
            stat.count_above(1e-3), stat.topk_mass(8), stat.tail_mass(64), stat.k_eps(0.1),
            stat.k_eps(0.01), stat.weight(0), stat.argmax, stat.top_gap, stat.partition, stat.logit(0)]


def numpy_row_stats(S):
    """The same statistics as ``_stats()`` from a dense logit matrix ``S`` (rows), numpy only."""
    n = S.shape[1]
    m = S.max(axis=1, keepdims=True)
    E = np.exp(S - m)
    z = E.sum(axis=1, keepdims=True)
    P = E / z
    logz = (m + np.log(z))[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.sum(np.where(P > 0, P * np.log(P), 0.0), axis=1)
    asc = np.sort(P, axis=1)
    cs = np.cumsum(asc, axis=1)
    srt2 = np.partition(S, n - 2, axis=1)[:, n - 2:] if n > 1 else S
    cols = [logz, m[:, 0], asc[:, -1], np.sum(P * P, axis=1), ent, np.sum(P > 1e-3, axis=1),
            cs[:, -1] - cs[:, n - 9], cs[:, n - 65], n - np.sum(cs <= 0.1, axis=1), n - np.sum(cs <= 0.01, axis=1),
            P[:, 0], np.argmax(S, axis=1), srt2[:, 1] - srt2[:, 0], np.exp(logz), S[:, 0]]
    return np.stack(cols, axis=1)


def numpy_pipeline(Q, K, scale):
    """Dense numpy: BLAS scores, stable softmax, sort, cumsum."""
    return numpy_row_stats(scale * (Q @ K.T))


def floor(Q, K, scale):
    """BLAS scores and one numpy exp pass: the least any exact method must do."""
    S = (Q * scale) @ K.T
    np.exp(S, out=S)
    return S


def torch_pipeline(Q, K, scale):
    import torch

    q, k = torch.from_numpy(Q), torch.from_numpy(K)
    S = scale * (q @ k.T)
    P = torch.softmax(S, dim=1)
    asc, _ = torch.sort(P, dim=1)
    cs = torch.cumsum(asc, dim=1)
    return torch.logsumexp(S, dim=1), (P * P).sum(1), cs, (cs <= 0.1).sum(1)


def _timed(f, repeat):
    """``{"wall": s, "cpu": s}``: medians over ``repeat`` runs after one warm-up run.

    CPU time (all threads of this process) is reported beside wall time because the
    machine is shared: when other processes hold the cores, wall time of the parallel
    kernels suffers more than that of single-threaded numpy.
    """
    f()  # warm-up: compilation, BLAS threads, page faults
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        f()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {"wall": float(np.median(wall)), "cpu": float(np.median(cpu))}


def bench_qk(n, repeat, rng):
    from attnsparse.numeric.measure import attention_stats

    Q, K = rng.standard_normal((n, D)), rng.standard_normal((n, D))
    scale = 1 / math.sqrt(D)
    stats = _stats()
    ours = attention_stats(Q, K, stats)
    ref = numpy_pipeline(Q, K, scale)
    agree = float(np.max(np.abs(ours[:, 3] - ref[:, 3]) / ref[:, 3]))  # IPR, relative
    rows = {"fused (attnsparse)": _timed(lambda: attention_stats(Q, K, stats), repeat),
            "numpy pipeline": _timed(lambda: numpy_pipeline(Q, K, scale), repeat),
            "floor (BLAS + exp)": _timed(lambda: floor(Q, K, scale), repeat)}
    try:
        import torch  # noqa: F401  (optional; never installed by us)

        rows["torch CPU"] = _timed(lambda: torch_pipeline(Q, K, scale), repeat)
    except ImportError:
        pass
    return rows, agree


def bench_iid(n, rows_, repeat, sigma=2.0):
    from attnsparse import IIDLogits
    from attnsparse.numeric.simulate import simulate_stats

    stats = _stats()
    model = IIDLogits(n=n, sigma=sigma)

    def numpy_mc():
        rng = np.random.default_rng(1)
        out = []
        for r0 in range(0, rows_, 512):  # blocks keep numpy's memory near ours
            out.append(numpy_row_stats(sigma * rng.standard_normal((min(512, rows_ - r0), n))))
        return np.concatenate(out)

    return {"fused simulate_stats": _timed(lambda: simulate_stats(model, stats, rows_, seed=1), repeat),
            "numpy (default_rng + pipeline)": _timed(numpy_mc, repeat)}


def run_big(n_q, n_k):
    """One big case in this process; print a JSON line with its time and peak RSS."""
    from attnsparse.numeric.measure import attention_stats

    rng = np.random.default_rng(2)
    K = rng.standard_normal((n_k, D))
    Q = rng.standard_normal((n_q, D))
    stats = _stats()
    attention_stats(Q[:2], K[:1000], stats)  # compile or load the cache
    t0 = time.perf_counter()
    out = attention_stats(Q, K, stats)
    dt = time.perf_counter() - t0
    rss = _peak_rss_gib()
    print(json.dumps({"n_q": n_q, "n_k": n_k, "seconds": dt, "peak_rss_gib": rss,
                      "finite": bool(np.all(np.isfinite(out[:, :10])))}))


def _peak_rss_gib():
    """This process's peak resident memory: VmHWM (ru_maxrss would include the parent's
    peak, which Linux carries over fork and exec)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**20  # KiB -> GiB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _big_subprocess(n_q, n_k):
    cmd = [sys.executable, "-m", "bench.kernels", "--big", str(n_q), str(n_k)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.kernels", description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per case (median reported)")
    ap.add_argument("--out", default="bench/kernels.json", help="JSON results file (written atomically)")
    ap.add_argument("--large", action="store_true", help="also run 65536 x 65536 (minutes)")
    ap.add_argument("--big", nargs=2, type=int, metavar=("NQ", "NK"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.big:
        run_big(*args.big)
        return 0
    import numba

    from attnsparse.files import write_atomic

    rng = np.random.default_rng(0)
    results = {"meta": {"numba_threads": numba.get_num_threads(), "cpus": os.cpu_count(),
                        "numpy": np.__version__, "numba": numba.__version__, "repeat": args.repeat,
                        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                        "load_average": [round(x, 2) for x in os.getloadavg()]}}
    qk, agree = bench_qk(4096, args.repeat, rng)
    mc = bench_iid(4096, 4096, args.repeat)
    ratios = {}
    for clock in ("wall", "cpu"):
        fused = qk["fused (attnsparse)"][clock]
        ratios[f"numpy pipeline / fused, {clock} (target >= 5)"] = qk["numpy pipeline"][clock] / fused
        ratios[f"fused / floor, {clock} (target <= 3)"] = fused / qk["floor (BLAS + exp)"][clock]
        ratios[f"iid MC numpy / fused, {clock} (target >= 3)"] = (
            mc["numpy (default_rng + pipeline)"][clock] / mc["fused simulate_stats"][clock])
        if "torch CPU" in qk:
            ratios[f"torch / fused, {clock}"] = qk["torch CPU"][clock] / fused
    big = {"256 x 2^20": _big_subprocess(256, 2**20)}
    if args.large:
        big["65536 x 65536"] = _big_subprocess(65536, 65536)
    results.update({"qk_4096": qk, "ipr_max_rel_diff_vs_numpy": agree, "iid_mc_4096": mc,
                    "ratios": ratios, "big": big})
    print(f"load average before the run: {results['meta']['load_average']}")
    print(f"{'4096 queries x 4096 keys, d=64, float64, all statistics':58s} {'wall s':>8s} {'cpu s':>8s}")
    for name, t in qk.items():
        print(f"  {name:56s} {t['wall']:8.4f} {t['cpu']:8.4f}")
    print("IID-logit Monte Carlo, 4096 rows x 4096 keys incl. normal draws")
    for name, t in mc.items():
        print(f"  {name:56s} {t['wall']:8.4f} {t['cpu']:8.4f}")
    print("ratios (same run)")
    for name, r in ratios.items():
        print(f"  {name:56s} {r:8.2f}")
    for name, b in big.items():
        print(f"{name}: {b['seconds']:.1f} s, peak RSS {b['peak_rss_gib']:.2f} GiB, finite={b['finite']}")
    write_atomic(args.out, json.dumps(results, indent=2) + "\n")
    print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
