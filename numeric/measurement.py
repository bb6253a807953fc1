"""The result of :func:`.measure.measure`: :class:`Measurement`, its plain-text report and row summaries.

Kept apart from the tile loop of :mod:`.measure`: this module only packages and prints
numbers already measured (the per-head, sparsity and cost sections print through
:mod:`.heads`, :mod:`.blocks` and :mod:`.cost`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Measurement", "OUTPUT_ERROR_UNIT", "summarise"]

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
            from .heads import head_tables
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


_QUANTILES = {"q10": 0.1, "q50": 0.5, "q90": 0.9}


def summarise(x):
    x = np.asarray(x, dtype=np.float64).ravel()
    out = {"mean": float(np.mean(x))}
    out.update({name: float(np.quantile(x, q)) for name, q in _QUANTILES.items()})
    return out
