"""Figures of a real model's attention: the layer x head regime map and k_eps over a prefix sweep.

* :func:`regime_heatmap` -- ``sigma / beta_c`` of every head of every layer, the critical
  window marked on the colour bar, sink heads outlined, and in each cell the per-head theory
  error ``log10(measured / predicted)`` of the mean ``k_eps``;
* :func:`prefix_sweep` -- for a few heads, the mean ``k_eps`` measured on the first ``n`` tokens
  of one sequence (``n = 32 ... 512``) against the IID prediction at the head's fitted sigma at
  each ``n``: the real-model counterpart of the seed paper's ``n^C`` law.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["regime_heatmap", "prefix_sweep", "sweep_data"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def regime_heatmap(layer_dicts, path, eps_name=None, title="attention heads"):
    """Write the layer x head map of ``sigma / beta_c`` (PNG at ``path``); return the grid."""
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.patches import Rectangle

    from .numeric.heads import CRITICAL_WINDOW, SINK_HEAD_MASS

    plt = _plt()
    L, H = len(layer_dicts), max(len(la["heads"]) for la in layer_dicts)
    grid = np.full((L, H), np.nan)
    err = np.full((L, H), np.nan)
    sink = np.zeros((L, H), dtype=bool)
    for i, la in enumerate(layer_dicts):
        for h, rep in enumerate(la["heads"]):
            grid[i, h] = rep["sigma/beta_c"]
            sink[i, h] = rep["sink_head"]
            th = rep.get("theory", {})
            name = eps_name or next((k for k in th if k.startswith("k_eps")), None)
            if name in th and th[name]["log10_ratio"] is not None:
                err[i, h] = th[name]["log10_ratio"]
    fig, ax = plt.subplots(figsize=(1.0 + 0.62 * H, 1.3 + 0.55 * L))
    lo, hi = CRITICAL_WINDOW
    vmax = max(float(np.nanmax(grid)), hi + 0.1)
    norm = TwoSlopeNorm(vmin=min(float(np.nanmin(grid)), lo - 0.1), vcenter=1.0, vmax=vmax)
    im = ax.imshow(grid, cmap="coolwarm", norm=norm, aspect="auto")
    cb = fig.colorbar(im, ax=ax)
    vmin = norm.vmin  # the critical window and round values; 1 sits between the window lines
    ticks = sorted({lo, hi} | {t for t in (0.25, 0.5, 2, 3, 4, 6, 8, 12, 16) if vmin < t < vmax})
    cb.set_ticks(ticks)
    cb.set_ticklabels([f"{t:g}" for t in ticks])
    cb.set_label("sigma / beta_c")
    for y in CRITICAL_WINDOW:
        cb.ax.axhline(y, color="k", lw=1)
    for i in range(L):
        for h in range(H):
            if sink[i, h]:
                ax.add_patch(Rectangle((h - 0.5, i - 0.5), 1, 1, fill=False, ec="k", lw=2.2))
            if math.isfinite(err[i, h]):
                ax.text(h, i, f"{err[i, h]:+.2f}", ha="center", va="center", fontsize=6.5)
    ax.set_xticks(range(H))
    ax.set_yticks(range(L))
    ax.set_xlabel("head")
    ax.set_ylabel("layer")
    name = eps_name or "k_eps"
    ax.set_title(f"{title}: sigma/beta_c (critical window [{lo:g}, {hi:g}] lines on the bar); "
                 f"black box: sink head (mass > {SINK_HEAD_MASS:g});\ncell text: log10(measured / predicted) "
                 f"of mean {name}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return grid, sink, err


def sweep_data(graph, tokens, picks, ns, eps=0.1, seed=0):
    """Measured and predicted mean ``k_eps`` of heads ``picks`` ((layer, head) pairs) on prefixes.

    Returns ``{(layer, head): {"n": [...], "measured": [...], "predicted": [...], "sigma": [...]}}``;
    the prediction is the simulated IID mean at the head's fitted sigma on that prefix
    (:func:`attnsparse.numeric.measure.measure` with ``head_theory="simulated"``).
    """
    from .numeric.measure import measure
    from .onnx_model import encoder_attention

    layers = sorted({la for la, _ in picks})
    out = {p: {"n": [], "measured": [], "predicted": [], "sigma": []} for p in picks}
    name = f"k_eps({eps:g})"
    for n in ns:
        got = {la.layer: la for la in encoder_attention(graph, np.asarray(tokens)[:n], layers)}
        for la_i, h in picks:
            la = got[la_i]
            rep = measure(la.Q[h], la.K[h], la.V[h], scale=la.scale, eps=(eps,), topk=(1,), seed=seed,
                          head_models=False).heads[0]
            t = rep["theory"][name]
            d = out[(la_i, h)]
            d["n"].append(int(n))
            d["measured"].append(t["measured"])
            d["predicted"].append(t["predicted"])
            d["sigma"].append(rep["sigma"])
    return out


def prefix_sweep(data, path, eps=0.1, title="k_eps over a prefix sweep"):
    """Write the ``k_eps(n)`` figure of :func:`sweep_data` (log-log) to ``path``."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for i, ((la, h), d) in enumerate(sorted(data.items())):
        c = f"C{i}"
        ax.plot(d["n"], d["measured"], "o-", color=c,
                label=f"layer {la} head {h} (sigma {d['sigma'][0]:.2f}..{d['sigma'][-1]:.2f})")
        ax.plot(d["n"], d["predicted"], "--", color=c, alpha=0.8)
    ns = sorted({n for d in data.values() for n in d["n"]})
    ax.plot(ns, ns, ":", color="grey", lw=1, label="k = n")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("n (prefix length, tokens)")
    ax.set_ylabel(f"mean k_eps, eps = {eps:g}")
    ax.set_title(f"{title}\nsolid: measured; dashed: iid Gaussian theory at the head's fitted sigma "
                 f"(simulated)", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
