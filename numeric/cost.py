r"""What sparsity saves: FLOPs and memory traffic of dense against top-k attention at target error eps.

One head, ``n`` queries against ``n`` keys, head dimension ``d`` (values of dimension ``d``),
forward pass. A kernel keeps, for every query, the ``k`` keys of largest weight; at target
error ``eps`` the kept set is each row's ``k_eps`` (the fewest keys holding ``1 - eps`` of its
mass), so ``k`` is the mean ``k_eps``.

**FLOPs** (a multiply-add is 2; ``C_SOFTMAX`` per kept score for max, subtract, exp, sum and
divide; ``C_SELECT`` per score for finding the ``k`` largest of a row in linear time, a
histogram pass and a partial pass as in :mod:`.kernels._reduce`):

* dense: ``F_dense = 4 n^2 d + C_SOFTMAX n^2`` (``Q K^T`` and ``P V``, ``2 n^2 d`` each);
* top-k, selection counted (every score is formed once to choose the keys, then the kept
  keys are re-weighted): ``F_sel = 2 n^2 d + C_SELECT n^2 + C_SOFTMAX n k + 2 n k d``;
* top-k, oracle selection (the kept sets given for free; the saving the sparsity itself
  permits, a lower bound on any selection): ``F_oracle = 4 n k d + C_SOFTMAX n k``, so
  ``F_oracle / F_dense = k / n`` exactly.

**Memory traffic** in words between a slow memory and a cache of ``M`` words (the two-level
model of the I/O analyses of attention). Li, Liang, Shi, Song and Zhou (2024, "Fine-grained
attention I/O complexity", arXiv 2410.09397) prove tight bounds over all cache sizes for the
backward pass, ``Theta(min{(n^2 d^2 + n d^3)/M, (n^2 d + n d^2)/sqrt(M)})`` with the crossover at
``M = Theta(d^2)``, confirm that FlashAttention's tiling is optimal for ``M >= d^2`` in the
forward and backward pass (the forward bound ``Theta(n^2 d^2 / M)`` for ``M >= d^2`` is Saha and
Ye 2024, arXiv 2402.07443; below ``d^2`` both give ``n^2 d / sqrt(M)``), and extend the lower
bounds to sparse attention. Those are order bounds; the formulas below are ours, with every
constant of a Theta term set to 1 and the unavoidable reads and writes added:

* dense: ``IO_dense = 4 n d + X(n, d, M)``, ``X = n^2 d^2 / M`` for ``M >= d^2`` and
  ``n^2 d / sqrt(M)`` below (read ``Q``, ``K``, ``V``, write the output; stream ``K``, ``V``
  past the cached query tiles);
* top-k, selection counted: a scoring pass shaped like the dense one without ``V``
  (``2 n d + X + n k``: read ``Q``, ``K``, write ``k`` indices per query), then the sparse pass
  ``2 n d + n k + min(2 n k d, X)`` (read ``Q`` and the indices, write the output, and fetch the
  kept keys and values the cheaper of two ways: gather ``k`` of each per query, counted once per
  query -- the worst case, when queries share no kept keys, and the usual one for token-level
  top-k -- or, when that moves more, stream every key and value past the cached query tiles as
  the dense kernel does and skip the unkept ones, ``X`` words; the choice is ours);
* top-k, oracle selection: the sparse pass alone, ``2 n d + n k + min(2 n k d, X)``.

Because a tiled dense kernel reuses every key across a whole query tile while a gathered
top-k kernel does not, the oracle I/O ratio is ``~ 2 k M / (n d)`` for large ``n`` (``M >= d^2``)
while gathering is the cheaper way: top-k moves *more* words than dense attention unless
``k < n d / (2 M)``, and beyond that the ``n k`` index words keep it above dense. The FLOP ratio with
selection counted tends to ``(2 d + C_SELECT) / (4 d + C_SOFTMAX)`` (about 1/2): forming every
score to choose the keys caps the speed-up at ``(4 d + C_SOFTMAX) / (2 d + C_SELECT)`` (261/130 at
``d = 64``, about 2x), whatever the sparsity.

**k_eps**: :func:`k_eps_rule` (the tilting rule of ``phases.k_eps_rule``,
``n Phibar(sigma + Phi^{-1}(eps))``, for high temperature) and :func:`k_eps_simulated` (the
mean over seeded iid ``N(0, sigma^2)`` rows, any regime); or a head's measured mean ``k_eps``
(:func:`measure_cost_section`).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["dense_cost", "topk_cost", "savings", "k_eps_rule", "k_eps_simulated", "predict", "cost_table",
           "measure_cost_section", "C_SOFTMAX", "C_SELECT", "CACHE_WORDS", "WORD_BYTES", "COST_ROWS"]

#: FLOPs per score of the softmax (max, subtract, exp, sum, divide)
C_SOFTMAX = 5
#: FLOPs per score of a linear-time top-k selection (histogram pass and partial pass)
C_SELECT = 2
#: default cache size in words (64 Ki words: 256 KiB of float32, a GPU's shared memory per SM or a CPU's L2)
CACHE_WORDS = 65536
#: default bytes per word (float32)
WORD_BYTES = 4
#: default rows of :func:`k_eps_simulated`
COST_ROWS = 2000
#: seed stream of :func:`k_eps_simulated` (its own batch of :func:`.simulate.simulate_stats`)
COST_STREAM = 3_000_000


def _int(x, name, lo, hi):
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or not lo <= x <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {x!r}")
    return int(x)


def _num(x, name, lo, hi, lo_open=True, hi_open=False):
    ok = isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) and math.isfinite(x)
    ok = ok and (lo < x if lo_open else lo <= x) and (x < hi if hi_open else x <= hi)
    if not ok:
        lb, rb = "(" if lo_open else "[", ")" if hi_open else "]"
        raise ValueError(f"{name} must be a number in {lb}{lo:g}, {hi:g}{rb}, got {x!r}")
    return float(x)


def _check(n, d, M):
    return _int(n, "n", 2, 2**40), _int(d, "d", 1, 2**16), _int(M, "M (cache words)", 16, 2**48)


def _stream(n, d, M):
    """``X(n, d, M)``: the words of streaming keys past cached query tiles (dense and scoring pass)."""
    return n * n * d * d / M if M >= d * d else n * n * d / math.sqrt(M)


def dense_cost(n, d, M=CACHE_WORDS):
    """``{"flops", "io_words"}`` of dense attention (module docstring)."""
    n, d, M = _check(n, d, M)
    return {"flops": 4.0 * n * n * d + C_SOFTMAX * n * n, "io_words": 4.0 * n * d + _stream(n, d, M)}


def topk_cost(n, d, k, M=CACHE_WORDS, selection="counted"):
    """``{"flops", "io_words"}`` of top-``k`` attention; ``selection`` is ``"counted"`` or ``"oracle"``."""
    n, d, M = _check(n, d, M)
    k = _num(k, "k", 1, n, lo_open=False)
    if selection not in ("counted", "oracle"):
        raise ValueError(f"selection must be 'counted' or 'oracle', got {selection!r}")
    flops = 4.0 * n * k * d + C_SOFTMAX * n * k
    io = 2.0 * n * d + n * k + min(2.0 * n * k * d, _stream(n, d, M))
    if selection == "counted":
        flops += 2.0 * n * n * d + C_SELECT * n * n - 2.0 * n * k * d
        io += 2.0 * n * d + _stream(n, d, M) + n * k
    return {"flops": flops, "io_words": io}


def savings(n, d, k, M=CACHE_WORDS, word_bytes=WORD_BYTES):
    """Dense against top-``k``: costs, ratios (top-k / dense) and speed-ups (dense / top-k) of both variants."""
    wb = _int(word_bytes, "word_bytes", 1, 64)
    dense = dense_cost(n, d, M)
    out = {"dense": {**dense, "io_bytes": dense["io_words"] * wb}}
    for sel in ("counted", "oracle"):
        c = topk_cost(n, d, k, M, sel)
        out[f"topk ({sel} selection)"] = {
            **c, "io_bytes": c["io_words"] * wb,
            "flop_ratio": c["flops"] / dense["flops"], "io_ratio": c["io_words"] / dense["io_words"],
            "flop_speedup": dense["flops"] / c["flops"], "io_speedup": dense["io_words"] / c["io_words"]}
    return out


def k_eps_rule(n, sigma, eps):
    """The tilting rule ``n Phibar(sigma + Phi^{-1}(eps))``, clamped to ``[1, n]`` (high temperature only)."""
    from scipy.special import ndtr, ndtri

    n = _int(n, "n", 2, 2**40)
    sigma = _num(sigma, "sigma", 0, 30)
    eps = _num(eps, "eps", 0, 1, hi_open=True)
    return float(min(n, max(1.0, n * ndtr(-(sigma + ndtri(eps))))))


def k_eps_simulated(n, sigma, eps, rows=COST_ROWS, seed=0):
    """Mean ``k_eps`` of ``rows`` seeded iid ``N(0, sigma^2)`` rows of length ``n``.

    Simulated with :func:`.simulate.simulate_stats` (batch :data:`COST_STREAM`): the finite-n
    iid value without an asymptotic formula (:mod:`.exact` has no ``k_eps`` evaluator).
    """
    from .models import IIDLogits
    from .simulate import simulate_stats
    from .statistics import stat

    n = _int(n, "n", 2, 2**26)
    sigma = _num(sigma, "sigma", 0, 30)
    eps = _num(eps, "eps", 0, 1, hi_open=True)
    rows = _int(rows, "rows", 2, 10**7)
    seed = _int(seed, "seed", 0, 2**63 - 1)
    res = simulate_stats(IIDLogits(n, sigma), [stat.k_eps(eps)], rows, seed, batch=COST_STREAM)
    return float(np.mean(res[:, 0]))


def predict(n, d, eps, sigma, M=CACHE_WORDS, word_bytes=WORD_BYTES, rows=COST_ROWS, seed=0):
    """Predicted savings at the theory's ``k_eps(n, sigma)``: simulated mean and tilting rule."""
    _check(n, d, M)
    beta_c = math.sqrt(2 * math.log(n))
    ks = {"simulated": k_eps_simulated(n, sigma, eps, rows, seed), "tilting rule": k_eps_rule(n, sigma, eps)}
    return {"inputs": {"n": n, "d": d, "eps": eps, "sigma": sigma, "M": M, "word_bytes": word_bytes, "rows": rows,
                       "seed": seed, "sigma/beta_c": sigma / beta_c},
            "k_eps": {src: {"k": k, "savings": savings(n, d, k, M, word_bytes)} for src, k in ks.items()},
            "constants": {"C_SOFTMAX": C_SOFTMAX, "C_SELECT": C_SELECT},
            "model": "forward pass of one head; formulas in attnsparse.numeric.cost"}


def _g(x, w=11):
    return f"{'-':>{w}s}" if x is None or not math.isfinite(x) else f"{x:{w}.4g}"


def cost_table(doc):
    """Plain-text lines of :func:`predict` or :func:`measure_cost_section`."""
    inp = doc["inputs"]
    lines = [f"cost of one head's forward pass, dense against top-k at eps = {inp['eps']:g} (n = {inp['n']}, "
             f"d = {inp['d']}, cache M = {inp['M']} words of {inp['word_bytes']} bytes):",
             f"{'k from':30s} {'k':>9s} {'variant':26s} {'FLOPs':>11s} {'bytes':>11s} {'FLOP x':>9s} {'I/O x':>9s}"]
    for src, v in doc["k_eps"].items():
        sv = v["savings"]
        lines.append(f"{src:30s} {_g(v['k'], 9)} {'dense':26s} {_g(sv['dense']['flops'])} "
                     f"{_g(sv['dense']['io_bytes'])} {'1':>9s} {'1':>9s}")  # dense: the baseline
        for var in ("topk (counted selection)", "topk (oracle selection)"):
            c = sv[var]
            lines.append(f"{'':30s} {'':9s} {'top-k, ' + var[6:-1]:26s} {_g(c['flops'])} {_g(c['io_bytes'])} "
                         f"{_g(c['flop_speedup'], 9)} {_g(c['io_speedup'], 9)}")
    lines.append("  FLOP x, I/O x: speed-up of top-k over dense (dense / top-k; below 1 top-k costs more). "
                 "counted: every score formed to choose the keys; oracle: the kept sets given for free.")
    return lines


def measure_cost_section(reports, n, d, epss, M=CACHE_WORDS, word_bytes=WORD_BYTES):
    """The ``cost`` section of :func:`.measure.measure`: savings at every head's measured mean ``k_eps``
    (the first ``eps``) and at the theory's prediction for that head's sigma, when there is one."""
    if not reports or n < 2:
        return {}
    eps = float(epss[0])
    name = f"k_eps({eps:g})"
    ks = {}
    for r in reports:
        m = r.get("summary", {}).get(name, {}).get("mean")
        if m is not None and math.isfinite(m):
            ks[f"head {r['head']} measured"] = float(m)
        p = r.get("theory", {}).get(name, {}).get("predicted")
        if p is not None and math.isfinite(p):
            ks[f"head {r['head']} theory"] = float(p)
    M = max(16, int(M))
    return {"inputs": {"n": int(n), "d": int(d), "eps": eps, "M": M, "word_bytes": word_bytes},
            "k_eps": {src: {"k": k, "savings": savings(int(n), int(d), max(1.0, min(k, n)), M, word_bytes)}
                      for src, k in ks.items()}}
