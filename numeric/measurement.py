"""The result of :func:`.measure.measure`: :class:`Measurement`, its plain-text report and row summaries.

Kept apart from the tile loop of :mod:`.measure`: this module only packages and prints
numbers already measured (the per-head tables here, with :mod:`.heads`' constants; the
sparsity and cost sections print through :mod:`.blocks` and :mod:`.cost`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import math

from .summaries import summarise, summarise_heads  # noqa: F401 -- re-exported

__all__ = ["Measurement", "OUTPUT_ERROR_UNIT", "summarise", "summarise_heads"]

#: what ``output_error(keep=K)`` is: a ratio of Frobenius norms, not a probability (it can exceed 1)
OUTPUT_ERROR_UNIT = "relative Frobenius error ||A_S V - A V||_F / ||A V||_F (a ratio; it can exceed 1)"


@dataclass
class Measurement:
    """Result of :func:`measure`.

    ``rows`` maps a statistic name to its per-row values, shape ``(heads, n_queries)``;
    ``summary`` maps it to mean and quantiles over all rows; ``theory`` compares the rows
    with iid Gaussian logits of the same per-row scale; ``scalars`` holds matrix-level
    figures (output error, column coverage, transfer).

    ``heads`` holds one report per head (:func:`.heads.head_reports`: fitted sigma, regime, sink
    head, theory at the head's sigma, model choice; each with a ``summary`` under the pooled
    names); ``units`` says what a scalar measures where its name does not
    (``output_error(keep=K)`` is a relative Frobenius error, :data:`OUTPUT_ERROR_UNIT`).

    Every value is a finite float except where it is undefined, and then it is ``math.nan``
    (never ``None``): ``theory["gamma = sigma^2 / (2 ln n) (median)"]`` when the median row
    has one key (``ln 1 = 0``), and ``scalars["output_error(keep=...)"]`` when ``A V = 0``.
    Inputs whose logits would overflow are refused by :func:`measure` instead.
    """

    settings: dict
    rows: dict
    summary: dict = field(default_factory=dict)
    scalars: dict = field(default_factory=dict)
    theory: dict = field(default_factory=dict)
    heads: list = field(default_factory=list)
    units: dict = field(default_factory=dict)
    sparsity: dict = field(default_factory=dict)
    cost: dict = field(default_factory=dict)

    def to_dict(self):
        """JSON-ready dict (per-row arrays left out); ``heads`` has one entry per head."""
        return {"settings": self.settings, "summary": self.summary, "scalars": self.scalars,
                "units": self.units, "theory": self.theory, "heads": self.heads, "sparsity": self.sparsity,
                "cost": self.cost}

    def table(self):
        """Plain-text report."""
        lines = [f"{'statistic':28s} {'mean':>11s} {'q10':>11s} {'median':>11s} {'q90':>11s}"]
        for name, s in self.summary.items():
            lines.append(f"{name:28s} " + " ".join(f"{s[c]:11.5g}" for c in ("mean", "q10", "q50", "q90")))
        if self.scalars:
            lines.append("")
            lines += [f"{name:28s} {v:11.5g}" + (f"  [{self.units[name]}]" if name in self.units else "")
                      for name, v in self.scalars.items()]
        if self.theory:
            lines.append("")
            lines.append("distance from the Gaussian theory, pooled over heads (iid logits with each row's "
                         "fitted sigma, simulated):")
            for name, v in self.theory.items():
                lines.append(f"  {name:40s} {v:11.5g}")
        if self.heads:
            lines.append("")
            lines += head_tables(self.heads, self.settings)
        if self.sparsity:
            from .blocks import sparsity_table
            lines.append("")
            lines += sparsity_table(self.sparsity, self.heads)
        if self.cost:
            from .cost import cost_table
            lines.append("")
            lines += cost_table(self.cost)
        return "\n".join(lines)


def _fmt(x, w=9, spec=".4g"):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return f"{'-':>{w}s}"
    return f"{x:{w}{spec}}"


def head_tables(reports, settings):
    """The plain-text per-head tables of a :class:`.measure.Measurement` (list of lines)."""
    from .heads import CRITICAL_WINDOW, MODEL_MARGIN, MODELS, SINK_HEAD_MASS

    sink = settings.get("sink")
    eps = settings.get("eps") or []
    sink_name = f"sink_mass({sink})"
    lo, hi = CRITICAL_WINDOW
    lines = [f"per head (regime by sigma/beta_c, beta_c = sqrt(2 ln n): high temperature < {lo:g} <= critical "
             f"window <= {hi:g} < condensed; sink head: mean {sink_name} > {SINK_HEAD_MASS:g}):"]
    stats = ["ipr", "entropy"] + [f"k_eps({e:g})" for e in eps[:1]]
    hdr = (f"{'head':>4s} {'n':>5s} {'sigma':>9s} {'gamma':>9s} {'s/beta_c':>9s} {'regime':16s} "
           f"{'sink':>9s} {'sink?':5s}")
    for s in stats:
        hdr += f" {s + ' meas':>17s} {'pred':>9s}"
    lines.append(hdr)
    sources = set()
    for r in reports:
        line = (f"{r['head']:4d} {r['n']:5d} {_fmt(r['sigma'])} {_fmt(r['gamma'])} {_fmt(r['sigma/beta_c'])} "
                f"{r['regime']:16s} {_fmt(r[sink_name])} {'yes' if r['sink_head'] else 'no':5s}")
        th = r.get("theory", {})
        for s in stats:
            t = th.get(s)
            line += f" {_fmt(t['measured'] if t else None, 17)} {_fmt(t['predicted'] if t else None)}"
            if t:
                sources.add(f"{s}: {t['source']}")
        lines.append(line)
    if sources:
        lines.append("  predictions at each head's sigma -- " + "; ".join(sorted(sources)))
    if any("models" in r for r in reports):
        lines += ["", "best model per head (error: mean |log10(measured / predicted)| over IPR, entropy, top-k "
                      "masses and k_eps; simulated on the same normals; best: the simplest model within "
                      f"{MODEL_MARGIN:g} of the smallest error):",
                  f"{'head':>4s} {'iid':>9s} {'sink off.':>9s} {'mixture':>9s} {'nu':>9s} {'best':14s} "
                  f"{'error':>9s}"]
        for r in reports:
            m = r.get("models")
            if not m:
                continue
            err = {k: m[k]["error"] if k in m else None for k in MODELS}
            best = m["best"]
            lines.append(f"{r['head']:4d} {_fmt(err['iid'])} {_fmt(err['sink offset'])} {_fmt(err['scale mixture'])} "
                         f"{_fmt(m['scale mixture'].get('nu'))} {best or '-':14s} "
                         f"{_fmt(m[best]['error'] if best else None)}")
    return lines
