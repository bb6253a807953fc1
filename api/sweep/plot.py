"""Plots of stored sweeps, with the tilting prediction of the top-k mass as theory overlay.

Overlay (docs/theory.md, section 5, high-temperature phase): for IID logits with standard
deviation sigma, ``E T(k) ~ Phibar(Phibar^{-1}(k/n) - sigma)``, hence
``E tau(k) ~ Phi(Phibar^{-1}(k/n) - sigma)``. It is evaluated in log space
(``scipy.special.log_ndtr``), so it stays accurate where ``tau`` is tiny. It is an
asymptotic prediction, not the exact finite-n value; it fails once ``k`` is O(1) or
``sigma`` exceeds ``sqrt(2 ln n)``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import special

from ..files import save_figure

__all__ = ["tilting_tail_mass", "tilting_topk_mass", "plot_sweep", "theory_overlay"]


def _log_tilted(n, sigma, k, upper):
    n, sigma, k = (np.asarray(a, dtype=float) for a in np.broadcast_arrays(n, sigma, k))
    if np.any(n < 1) or np.any(sigma < 0) or np.any(k < 0) or np.any(k > n):
        raise ValueError("tilting prediction needs n >= 1, sigma >= 0 and 0 <= k <= n")
    z = -special.ndtri(np.clip(k / n, 0.0, 1.0))  # Phibar^{-1}(k/n); +inf at k = 0, -inf at k = n
    with np.errstate(invalid="ignore"):
        arg = (sigma - z) if upper else (z - sigma)
    return special.log_ndtr(arg)


def tilting_topk_mass(n, sigma, k):
    """Tilting prediction of ``E T(k)``: ``Phibar(Phibar^{-1}(k/n) - sigma)`` (IID logits).

    >>> round(float(tilting_topk_mass(1024, 0.0, 256)), 12)  # sigma = 0: uniform weights
    0.25
    """
    return np.exp(_log_tilted(n, sigma, k, upper=True))


def tilting_tail_mass(n, sigma, k):
    """Tilting prediction of ``E tau(k)``: ``Phi(Phibar^{-1}(k/n) - sigma)`` (IID logits).

    Parameters
    ----------
    n, sigma, k : array_like
        Row length, logit standard deviation and kept entries (broadcast together).

    Returns
    -------
    ndarray
        Computed as ``exp(log_ndtr(.))``; exact 0 at ``k = n`` and 1 at ``k = 0``.

    >>> round(float(tilting_tail_mass(1024, 0.0, 256)), 12)
    0.75
    """
    return np.exp(_log_tilted(n, sigma, k, upper=False))


def theory_overlay(result, label):
    """The tilting prediction at each record for statistic ``label``, or None when it does not apply.

    It applies to ``E[tail_mass(k)]`` and ``E[topk_mass(k)]`` under ``IIDLogits`` without
    offsets or a random scale.
    """
    from ..numeric.models import IIDLogits
    from ..numeric.statistics import E

    spec = result.spec
    target = next(t for t in spec.targets if t.label == label)
    f = target.functional
    if not (isinstance(f, E) and f.stat.name in ("tail_mass", "topk_mass")):
        return None
    if not isinstance(spec.model, IIDLogits) or spec.model.offsets or spec.model.scale_dof != 0:
        return None
    cols = result.columns()
    fn = tilting_tail_mass if f.stat.name == "tail_mass" else tilting_topk_mass
    return fn(cols["model.n"], cols["model.sigma"], cols[f"{label}.param"])


def _x_param(spec, x):
    if x is not None:
        if x not in spec.grid:
            raise ValueError(f"--x: {x!r} is not a grid parameter ({', '.join(spec.grid)})")
        return x
    return "n" if "n" in spec.grid else next(iter(spec.grid))


#: markers and line styles combined with the colour cycle, so that no two series share a style
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")
LINESTYLES = ("-", "--", "-.", ":")


def series_style(i, colours):
    """(colour, marker, linestyle) of series ``i``: distinct for the first
    ``len(colours) * len(MARKERS) * len(LINESTYLES)`` series."""
    c = colours[i % len(colours)]
    j = i // len(colours)
    return c, MARKERS[(i + j) % len(MARKERS)], LINESTYLES[j % len(LINESTYLES)]


_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "kappa", "lambda",
          "mu", "nu", "xi", "rho", "sigma", "tau", "phi", "chi", "psi", "omega"}


def param_tex(name):
    """A grid parameter's name in mathtext: ``gamma`` -> ``\\gamma``, ``sigma_q`` -> ``\\sigma_{q}``,
    one letter in italics, a longer name upright (``\\mathrm{rows}``)."""
    head, _, sub = str(name).partition("_")

    def one(word):
        if word in _GREEK:
            return "\\" + word
        return word if len(word) == 1 else r"\mathrm{" + word + "}"
    return one(head) + (r"_{" + one(sub.replace("_", ",")) + "}" if sub else "")


def _value_tex(v):
    return f"{v:g}" if isinstance(v, float) else str(v)


def quantity_title(spec, label, text):
    """The title of a quantity's panel in mathtext: the functional's LaTeX (a target) or the claim's
    left-hand side (a claim id); the raw text only when neither is available or mathtext rejects it."""
    tex = None
    target = next((t for t in spec.targets if t.label == label), None)
    try:
        if target is not None:
            tex = target.functional.latex()
        else:
            import attnsparse

            tex = attnsparse.get(label).lhs.latex()
    except Exception:  # noqa: BLE001 -- a title falls back to the spec text
        tex = None
    if tex is not None and mathtext_ok(f"${tex}$"):
        return f"${tex}$"
    return text


def mathtext_ok(text):
    """Whether matplotlib's mathtext parses ``text``."""
    from matplotlib.mathtext import MathTextParser

    try:
        MathTextParser("path").parse(text)
    except ValueError:
        return False
    return True


def _geometric(values):
    v = np.asarray(sorted(values), dtype=float)
    return len(v) > 2 and np.all(v > 0) and v[-1] / v[0] >= 16


def plot_sweep(result, out_prefix, x=None):
    """Plot every statistic and claim of a sweep against one grid parameter.

    One panel per quantity (estimates with their confidence intervals, one line per
    combination of the other grid parameters, theory dashed); below each panel with a
    theory curve, the ratio estimate/theory. Writes ``out_prefix.png`` and ``.pdf``
    atomically and returns their paths.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = result.spec
    xname = _x_param(spec, x)
    cols = result.columns()
    quantities = [(t.label, t.text, theory_overlay(result, t.label)) for t in spec.targets]
    quantities += [(c, c, cols[f"{c}.theory"] if not np.all(np.isnan(cols[f"{c}.theory"])) else None)
                   for c in spec.claims]
    others = [k for k in spec.grid if k != xname and len(spec.grid[k]) > 1]
    series = list(itertools.product(*(spec.grid[k] for k in others))) or [()]
    ncols = min(len(quantities), 3)
    with_ratio = any(th is not None for _, _, th in quantities)
    nrows = 2 * math.ceil(len(quantities) / ncols) if with_ratio else math.ceil(len(quantities) / ncols)
    heights = [3, 1.3] * (nrows // 2) if with_ratio else [3] * nrows
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, sum(heights) * 1.05 + 0.8), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, text, theory) in enumerate(quantities):
        r, c = divmod(i, ncols)
        ax = axes[2 * r if with_ratio else r, c]
        rax = axes[2 * r + 1, c] if with_ratio else None
        _panel(ax, rax, cols, xname, label, theory, others, series, colours)
        ax.set_title(quantity_title(spec, label, text), fontsize=10)
    for j in range(len(quantities), nrows // (2 if with_ratio else 1) * ncols):
        r, c = divmod(j, ncols)
        for ax in ([axes[2 * r, c], axes[2 * r + 1, c]] if with_ratio else [axes[r, c]]):
            ax.set_visible(False)
    fixed = ", ".join(f"${param_tex(k)} = {_value_tex(v[0])}$" for k, v in spec.grid.items()
                      if k != xname and len(v) == 1)
    fig.suptitle(f"sweep {spec.name.replace('_', ' ')}: {spec.samples} rows per point, {100 * spec.level:g}% CI"
                 + (f"\n{fixed}" if fixed else "")
                 + ("\ndashed: tilting prediction (docs/theory.md, section 5)" if with_ratio else ""), fontsize=9)
    fig.tight_layout()
    paths = [save_figure(fig, f"{out_prefix}.{ext}") for ext in ("png", "pdf")]
    plt.close(fig)
    return paths


def _panel(ax, rax, cols, xname, label, theory, others, series, colours):
    xs_all = cols[xname]
    for s, combo in enumerate(series):
        mask = np.ones(len(xs_all), dtype=bool)
        for k, v in zip(others, combo):
            mask &= cols[k] == v
        order = np.argsort(xs_all[mask])
        xs = xs_all[mask][order]
        est = cols[label][mask][order]
        lo, hi = cols[f"{label}.ci_low"][mask][order], cols[f"{label}.ci_high"][mask][order]
        colour, marker, ls = series_style(s, colours)
        name = ", ".join(f"${param_tex(k)} = {_value_tex(v)}$" for k, v in zip(others, combo)) or "estimate"
        ax.errorbar(xs, est, yerr=[est - lo, hi - est], marker=marker, ls=ls, ms=3.5, lw=1.2, capsize=2.5,
                    color=colour, label=name)
        if theory is not None:
            th = theory[mask][order]
            ax.plot(xs, th, "--", lw=1.4, color=colour, alpha=0.8)  # theory: dashed, no marker
            rax.errorbar(xs, est / th, yerr=[(est - lo) / th, (hi - est) / th], marker=marker, ls=ls, ms=3,
                         lw=1, capsize=2, color=colour)
    if _geometric(xs_all):
        ax.set_xscale("log", base=2)
    est = cols[label]
    if np.all(est > 0) and np.nanmax(est) / np.nanmin(est) > 20:
        ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    if rax is not None:
        if theory is not None:
            rax.axhline(1.0, color="k", lw=0.8)
            if _geometric(xs_all):
                rax.set_xscale("log", base=2)
            rax.set_ylabel("estimate / theory", fontsize=8)
            rax.grid(True, alpha=0.3)
            rax.set_xlabel(f"${param_tex(xname)}$")
        else:
            rax.set_visible(False)
            ax.set_xlabel(f"${param_tex(xname)}$")
    else:
        ax.set_xlabel(f"${param_tex(xname)}$")
