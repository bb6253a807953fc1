r"""Block density at a fixed coverage, the sparsity ratio, and confidence intervals over rows and heads.

What sparse-attention users report (MInference, FlexPrefill: block-sparse kernels; H2O: kept
keys), measured on the weight tiles of :func:`.measure.measure`.

**Block density at coverage c** (default ``c = 0.95``, blocks of ``b = 64`` queries x 64 keys).
Cut the ``n_q x n_k`` weight matrix ``P`` into row blocks of ``b`` consecutive queries and key
blocks of ``b`` consecutive keys (the last of each may be shorter). For row block ``r`` let
``m_{r,1} >= m_{r,2} >= ...`` be the masses ``sum P_ij`` of its *visible* key blocks (under a
causal mask a key block is visible to ``r`` when some query of ``r`` sees some key of it;
without one every key block is), ``R_r`` the number of queries in ``r`` (each row sums to 1, so
``R_r`` is the row block's mass) and ``V_r`` the number of its visible key blocks. The blocks
needed by ``r`` are

.. math:: N_r = \min\{m : \textstyle\sum_{t \le m} m_{r,t} \ge c R_r\},

the fewest whole blocks keeping a fraction ``c`` of the row block's mass (the oracle block
selection of a block-sparse kernel). The head's block density is
``D = sum_r N_r / sum_r V_r``: the fraction of the visible blocks a block-sparse kernel computes,
so ``1 - D`` is the fraction of block work saved. ``per_row_block`` keeps ``N_r / V_r``.

**Sparsity ratio at cumulative mass c** of one query row: ``1 - k_{1-c} / n_i``, with
``k_{1-c}`` the fewest keys whose weights sum to at least ``c`` (``k_eps`` at
``eps = 1 - c``) and ``n_i`` the row's visible keys: the fraction of keys the row can drop.

**Confidence intervals** (level 0.95 by default), both Student-t intervals of a mean:

* *over rows* (within one head): the rows of a head share its keys and neighbouring queries
  are alike, so rows are not independent. The rows are cut into :data:`BATCHES` contiguous
  batches (query order); the interval is the t-interval of the batch means (``BATCHES - 1``
  degrees of freedom): the method of batch means, which absorbs correlation shorter than a
  batch. Fewer than 2 rows per batch: fewer batches (at least 2 rows each); under 4 rows: none.
* *over heads*: the heads' values taken as independent draws of one population of heads (a
  model's heads are not a random sample, so this describes the spread among these heads,
  not a sampling guarantee): the t-interval of their mean with ``heads - 1`` degrees of freedom.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["BLOCK", "COVERAGE", "BATCHES", "BlockMass", "needed_blocks", "mean_ci", "batch_ci", "sparsity_section",
           "sparsity_table", "CI_METHODS"]

#: block side (queries and keys) of the block density
BLOCK = 64
#: mass a block selection (and the sparsity ratio) keeps
COVERAGE = 0.95
#: contiguous row batches of the over-rows interval
BATCHES = 16


class BlockMass:
    """Block masses of one head's weights, accumulated tile by tile.

    Parameters
    ----------
    n_q, n_k : int
        Queries and keys.
    block : int
        Block side ``b``.
    q_shift : int
        ``n_k - n_q``: query ``i`` sees keys ``j <= i + q_shift`` under a causal mask.
    causal : bool
    """

    def __init__(self, n_q, n_k, block=BLOCK, q_shift=0, causal=False):
        self.n_q, self.n_k, self.block, self.q_shift, self.causal = n_q, n_k, block, q_shift, causal
        self.mass = np.zeros((-(-n_q // block), -(-n_k // block)))
        self._key_starts = np.arange(0, n_k, block)

    def add(self, P, t0):
        """Add the weight tile ``P`` of query rows ``t0 .. t0 + len(P)`` (masked weights are 0)."""
        by_key = np.add.reduceat(P, self._key_starts, axis=1)
        rb = (t0 + np.arange(P.shape[0])) // self.block
        starts = np.flatnonzero(np.r_[True, rb[1:] != rb[:-1]])  # the tile's rows, grouped by row block
        self.mass[rb[starts]] += np.add.reduceat(by_key, starts, axis=0)

    def visible(self):
        """``V_r`` and ``R_r`` of every row block (visible key blocks, queries)."""
        b = self.block
        r0 = np.arange(self.mass.shape[0]) * b
        rows = np.minimum(r0 + b, self.n_q) - r0
        if not self.causal:
            return np.full(r0.size, self.mass.shape[1]), rows
        last = np.minimum(r0 + rows - 1 + self.q_shift, self.n_k - 1)  # the last key the block's last query sees
        return last // b + 1, rows

    def density(self, coverage=COVERAGE):
        """``(D, N_r / V_r per row block)`` at ``coverage`` (see the module docstring)."""
        vis, rows = self.visible()
        need = np.array([needed_blocks(self.mass[r, :vis[r]], coverage * rows[r]) for r in range(vis.size)])
        return float(need.sum() / vis.sum()), need / vis


def needed_blocks(masses, target):
    """The fewest of ``masses`` (largest first) whose sum reaches ``target`` (all of them if none does).

    The comparison allows a relative rounding slack of ``1e-12 * target``: a row block whose
    blocks sum to its mass up to rounding needs no more than all its blocks.
    """
    m = np.sort(np.asarray(masses, dtype=np.float64))[::-1]
    c = np.cumsum(m)
    hit = np.flatnonzero(c >= target * (1 - 1e-12))
    return int(hit[0]) + 1 if hit.size else int(m.size)


def _t_quantile(level, dof):
    from scipy.stats import t

    return float(t.ppf(0.5 + level / 2, dof))


def mean_ci(values, level=0.95):
    """``(mean, lo, hi)``: the Student-t interval of the mean of independent ``values`` (NaN bounds under 2)."""
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    m = float(x.mean())
    if x.size < 2:
        return m, math.nan, math.nan
    half = _t_quantile(level, x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return m, m - half, m + half


def batch_ci(values, level=0.95, batches=BATCHES):
    """``(mean, lo, hi)`` over one head's rows by the method of batch means (module docstring)."""
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size < 4:
        return (float(x.mean()) if x.size else math.nan), math.nan, math.nan
    nb = int(min(batches, x.size // 2))
    m, lo, _ = mean_ci([c.mean() for c in np.array_split(x, nb)], level)
    half = m - lo  # the interval's half-width, about the mean of all rows
    return float(x.mean()), float(x.mean()) - half, float(x.mean()) + half


#: how the intervals of :func:`sparsity_section` are formed (printed with them)
CI_METHODS = {
    "rows": f"Student t over {BATCHES} contiguous batches of a head's rows (method of batch means)",
    "row_blocks": "Student t over a head's row blocks (each a contiguous batch of queries)",
    "heads": "Student t over the heads' values (the heads taken as independent draws)",
}


def sparsity_section(reports, blocks, ratio, rows, epss, err, err_name, level=0.95):
    """Per-head block density, sparsity ratio, ``k_eps`` and output error, with intervals.

    Adds ``report["sparsity"]`` to every head report and returns the pooled section:
    ``{"level", "block", "coverage", "methods", "over_heads": {name: {"mean", "lo", "hi"}}}``.
    ``err`` (``(heads, 2)``: squared Frobenius norms of ``A_S V - A V`` and ``A V``) gives each
    head its relative Frobenius output error; ``None`` when there are no values.
    """
    bd_name, sr_name = f"block_density({BLOCK}, {COVERAGE:g})", f"sparsity_ratio({COVERAGE:g})"
    per_head = {bd_name: [], sr_name: []}
    per_head.update({f"k_eps({e:g})": [] for e in epss})
    if err is not None:
        per_head[err_name] = []
    for h, rep in enumerate(reports):
        dens, per_rb = blocks[h].density()
        m, lo, hi = mean_ci(per_rb, level)
        sec = {bd_name: {"value": dens, "mean_over_row_blocks": m, "ci_row_blocks": [lo, hi]}}
        for name in [sr_name] + [f"k_eps({e:g})" for e in epss]:
            x = ratio[h] if name == sr_name else rows[name][h]
            m, lo, hi = batch_ci(x, level)
            sec[name] = {"mean": m, "ci_rows": [lo, hi]}
            per_head[name].append(m)
        per_head[bd_name].append(dens)
        if err is not None:
            e = math.sqrt(err[h, 0] / err[h, 1]) if err[h, 1] > 0 else math.nan
            sec[err_name] = e
            per_head[err_name].append(e)
        rep["sparsity"] = sec
    over = {}
    for name, vals in per_head.items():
        m, lo, hi = mean_ci(vals, level)
        over[name] = {"mean": m, "lo": lo, "hi": hi}
    return {"level": level, "block": BLOCK, "coverage": COVERAGE, "methods": CI_METHODS, "over_heads": over}


def _f(x, w=9):
    return f"{'-':>{w}s}" if x is None or not math.isfinite(x) else f"{x:{w}.4g}"


def sparsity_table(section, reports):
    """Plain-text lines of :func:`sparsity_section` (per head, then the mean over heads)."""
    lv = section["level"]
    bd, sr = f"block_density({BLOCK}, {COVERAGE:g})", f"sparsity_ratio({COVERAGE:g})"
    err_name = next((k for k in section["over_heads"] if k.startswith("output_error")), None)
    lines = [f"sparse-attention figures per head ({lv:g} intervals; block density: fraction of visible "
             f"{BLOCK}x{BLOCK} blocks needed to keep {COVERAGE:g} of each row block's mass; sparsity ratio: "
             f"fraction of a row's keys outside its smallest set of mass {COVERAGE:g}"
             + ("; output error: relative Frobenius error" if err_name else "") + "):",
             f"{'head':>4s} {'blk dens':>9s} {'ci lo':>9s} {'ci hi':>9s} {'sp.ratio':>9s} {'ci lo':>9s} "
             f"{'ci hi':>9s}" + (f" {'rel.Frob.err':>12s}" if err_name else "")]
    for r in reports:
        s = r.get("sparsity")
        if not s:
            continue
        b, q = s[bd], s[sr]
        lines.append(f"{r['head']:4d} {_f(b['value'])} {_f(b['ci_row_blocks'][0])} {_f(b['ci_row_blocks'][1])} "
                     f"{_f(q['mean'])} {_f(q['ci_rows'][0])} {_f(q['ci_rows'][1])}"
                     + (f" {_f(s[err_name], 12)}" if err_name else ""))
    lines.append(f"over heads (mean [{lv:g} interval]; {section['methods']['heads']}):")
    for name, v in section["over_heads"].items():
        unit = "  [relative Frobenius error]" if name.startswith("output_error") else ""
        lines.append(f"  {name:28s} {_f(v['mean'])} [{_f(v['lo']).strip()}, {_f(v['hi']).strip()}]{unit}")
    lines.append(f"  intervals within a head: rows -- {section['methods']['rows']}; block density -- "
                 f"{section['methods']['row_blocks']}")
    return lines
