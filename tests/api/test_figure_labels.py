"""No figure label holds code names, and every label parses as mathtext.

The producers run for real, on small settings: ``attnsparse reproduce`` (a tiny mode added to its
settings for this test: n = 2^6, 2^8 and 20 rows), a sweep plot, and the ``attnsparse plot`` command
on a finished sweep. Every title, axis label, legend entry and legend title, suptitle and free text
of every figure is collected (the figures are caught where they are saved) and checked by
:func:`label_problems`, which is itself tested on the labels the issue found.
"""

from __future__ import annotations

import math
import re
import textwrap

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.mathtext import MathTextParser  # noqa: E402

_PARSER = MathTextParser("path")
#: code names anywhere in a label
_CODE_ANYWHERE = [r"\*\*", r"(?<!\\)\b(tail_mass|topk_mass|k_eps|max_weight|count_above|log_partition)\b",
                  r"(?<!\\)\b(ceil|floor|sqrt|exp|log|ln|min|max|abs)\(", r"(?<!\\)\bsigma\^", r"(?<!\\)\bsigma\*\*"]
#: outside math: an underscore between letters, a caret, a bare backslash command
_CODE_IN_TEXT = [r"[A-Za-z]_[A-Za-z]", r"\^", r"\\[A-Za-z]+"]
#: inside math: a Greek name without its backslash, a multi-letter identifier joined by _
_CODE_IN_MATH = [r"(?<![\\A-Za-z])(alpha|beta|gamma|sigma|epsilon|tau|lambda)(?![A-Za-z])",
                 r"(?<![\\{A-Za-z])[A-Za-z]{2,}_[A-Za-z]{2,}"]


def _split_math(text):
    """``(plain, [math segments])``: math is between unescaped ``$``; an odd count is an error."""
    parts = re.split(r"(?<!\\)\$", text)
    if len(parts) % 2 == 0:
        raise ValueError("unbalanced $")
    return "".join(parts[0::2]), parts[1::2]


def label_problems(text):
    """The reasons a figure label is not fit for a paper (an empty list when it is)."""
    out = []
    for pat in _CODE_ANYWHERE:
        if re.search(pat, text):
            out.append(f"code name /{pat}/")
    try:
        plain, maths = _split_math(text)
    except ValueError as e:
        return out + [str(e)]
    out += [f"code in text /{p}/" for p in _CODE_IN_TEXT if re.search(p, plain)]
    for m in maths:
        out += [f"code in math /{p}/ in ${m}$" for p in _CODE_IN_MATH if re.search(p, m)]
        try:
            _PARSER.parse(f"${m}$")
        except ValueError as e:
            out.append(f"mathtext does not parse ${m}$: {str(e).splitlines()[0]}")
    return out


def figure_labels(fig):
    """Every label of ``fig``: suptitle, titles, axis labels, legend texts and titles, free texts."""
    texts = [fig._suptitle.get_text()] if fig._suptitle is not None else []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        texts += [ax.get_title(loc) for loc in ("left", "center", "right")]
        texts += [ax.get_xlabel(), ax.get_ylabel()]
        texts += [t.get_text() for t in ax.texts]
        leg = ax.get_legend()
        if leg is not None:
            texts += [t.get_text() for t in leg.get_texts()] + [leg.get_title().get_text()]
    return [t for t in texts if t]


@pytest.mark.parametrize("bad", ["tail_mass(ceil(alpha*n^C))", "e^{sigma^2}/n", "$e^{sigma^2}/n$",
                                 r"$\frac{1}{$", "C=0.4 $x", "E[tau] with n**C", "sweep nC_sparsity",
                                 r"\sigma / beta_c"])
def test_label_checker_flags_code_and_broken_mathtext(bad):  # negative controls: the checker can fail
    assert label_problems(bad), bad


@pytest.mark.parametrize("good", [r"$\mathbb{E}\left[\tau(\left\lceil{\alpha n^{C}}\right\rceil)\right]$",
                                  r"dotted: $e^{\sigma^2}/n$ (where $< 1$); dashed: PD $1 - m_{\mathrm{eff}}$",
                                  r"$\sigma / \beta_c$", "context length n", r"$\gamma = 0.5$, $C = 0.4$"])
def test_label_checker_passes_paper_labels(good):
    assert label_problems(good) == []


def _caught(monkeypatch, module, name):
    """Replace ``module.name`` (a save function taking the figure first) by one that records the figure."""
    figs = []
    orig = getattr(module, name)

    def keep(fig, *args, **kwargs):
        if fig not in figs:
            figs.append(fig)
        return orig(fig, *args, **kwargs)

    monkeypatch.setattr(module, name, keep)
    return figs


def _assert_clean(figs):
    assert figs, "no figure was produced"
    bad = {t: label_problems(t) for fig in figs for t in figure_labels(fig)}
    bad = {t: p for t, p in bad.items() if p}
    assert not bad, bad


def test_reproduce_figure_labels(tmp_path, monkeypatch):  # ~3 s: the real producer on tiny settings
    # the exact E4 tail mass (28 s even at n <= 256) is replaced by None, a gap the producer handles;
    # the labels do not depend on it. The figures are caught at _save and not written (saving is not
    # what this test checks; tests/api/test_reproduce.py covers the files).
    from attnsparse import reproduce as R

    tiny = {"log2n": (6, 8), "rows": 20, "phase_n": (2**6, 2**8), "phase_points": 3, "phase_rows": 20,
            "curve_points": 4}
    monkeypatch.setitem(R.SETTINGS, "tiny", tiny)
    from attnsparse import real_section

    # the real-model heatmap (when the 'real' extra is installed) on a short sequence
    monkeypatch.setitem(real_section.REAL_SETTINGS, "tiny", {**real_section.REAL_SETTINGS["quick"], "n_tokens": 32})
    monkeypatch.setattr(R, "exact_tail", lambda n, sigma, k: None)
    from attnsparse.numeric import exact as X

    # the exact IPR curves (2 s here) get a cheap stand-in of the right shape (labels do not depend on it)
    monkeypatch.setattr(X, "eval_ipr", lambda dps, n, sigma: min(1.0, math.exp(sigma * sigma) / n))
    figs = []
    monkeypatch.setattr(R, "_save", lambda fig, folder, name: figs.append(fig))
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "close", lambda *a, **k: None)  # keep the figures to read their labels
    R.reproduce(str(tmp_path / "rep"), mode="tiny", progress_bar=False)
    assert len(figs) == 3
    labels = [t for fig in figs for t in figure_labels(fig)]
    assert len(labels) >= 25 and any(r"\beta_c" in t for t in labels), labels  # legends and axes were read
    _assert_clean(figs)
    plt.close("all")


SPEC = textwrap.dedent("""
    name = "labels_check"
    samples = 40
    seed = 1

    [model]
    kind = "iid"
    n = "n"
    sigma = "sqrt(2*gamma*log(n))"

    [grid]
    n = [64, 128, 256]
    gamma = [0.5]
    C = [0.4, 0.6]

    [stats]
    tau = "tail_mass(ceil(n^C))"
    top = "topk_mass(ceil(n^C))"
""")


def test_sweep_plot_and_plot_command_labels(tmp_path, monkeypatch):  # ~2 s
    from attnsparse.cli import main
    from attnsparse.sweep import plot as SP
    from attnsparse.sweep import load_spec, run_sweep

    spec_path = tmp_path / "labels_check.toml"
    spec_path.write_text(SPEC)
    store = tmp_path / "store"
    run_sweep(load_spec(str(spec_path)), str(store), executor="serial")
    figs = _caught(monkeypatch, SP, "save_figure")
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "close", lambda *a, **k: None)
    assert main(["plot", str(store), "--out", str(tmp_path / "p")]) == 0
    assert (tmp_path / "p.png").exists() and (tmp_path / "p.pdf").exists()
    _assert_clean(figs)
    titles = [ax.get_title() for fig in figs for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert any(r"\tau" in t for t in titles) and any("T(" in t for t in titles), titles
    plt.close("all")
