r"""Claims as LaTeX theorem environments and as a standalone catalogue document.

A claim prints as a ``claim`` environment (amsthm) holding its statement in words, its
provenance, model and assumptions, and the relation in display math; its derivation, if
it has one, follows as a ``proof`` with the steps in ``align*``; a *validation stamp*
closes it: the parameters checked, the theory value (with no more significant digits than
were confirmed: ``extra["theory_digits"]``), the simulated estimate with its confidence
interval, the verdict, the derivation status (``extra["derivation"]``: verified, failed,
partly cited; a failed step is named with its counterexample) and the attnsparse version.
Each step of a printed derivation is marked with its status when the step report is at hand
(the result's or the claim's own, once checked); otherwise the stamp says the steps were not
checked in this build.

Check results enter as dictionaries in the format of ``CheckResult.to_dict()`` (the
``results`` of a ``report.json`` written by ``attnsparse check --out``).
"""

from __future__ import annotations

import math

import sympy as sp

from .claim import PROVENANCE
from .mathtext import tex_escape, text_latex
from .printing import claim_display, derivation_align, latex

__all__ = ["claim_environment", "validation_stamp", "catalogue_document", "catalogue_markdown",
           "assumptions_latex", "PREAMBLE"]

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[utf8]{inputenc}
\usepackage{amsmath,amssymb,amsthm}
\usepackage[margin=2cm]{geometry}
\newtheorem{claim}{Claim}
\allowdisplaybreaks
\setlength{\emergencystretch}{3em}
"""


def _version():
    """The installed attnsparse version (package metadata: proofs/ does not import the face)."""
    from importlib.metadata import version

    return version("attnsparse")


def assumptions_latex(claim):
    """The parameters' domains and the claim's assumptions, as a list of LaTeX math strings."""
    out = []
    for s in sorted(claim.free_symbols, key=lambda s: s.name):
        kind = r"\mathbb{Z}" if s.is_integer else r"\mathbb{R}"
        cond = "_{>0}" if s.is_positive else ("_{\\ge 0}" if s.is_nonnegative else "")
        out.append(r"%s \in %s%s" % (latex(s), kind, cond))
    out += [latex(a) for a in claim.assumptions]
    return out


def _fmt(x, digits=6, tex=True):
    if x is None:
        return r"\infty"
    if isinstance(x, float) and math.isinf(x):
        return r"-\infty" if x < 0 else r"\infty"
    if isinstance(x, float) and math.isnan(x):
        return r"\text{n/a}"
    text = "%.*g" % (max(1, min(6, int(digits))), x)
    if "e" in text and tex:  # 1e-09 as 10^{-9}, 1.5e-16 as 1.5 \cdot 10^{-16} (inside $...$)
        mant, ex = text.split("e")
        return (r"10^{%d}" % int(ex)) if mant == "1" else r"%s \cdot 10^{%d}" % (mant, int(ex))
    return text


def _derivation_record(claim, result=None):
    """The derivation status dict: the result's, else the claim's if its steps were checked
    in this process, else None (a claim with a derivation whose steps were not checked)."""
    from .checking import derivation_status

    if result is not None and (result.get("extra") or {}).get("derivation"):
        return result["extra"]["derivation"]
    if claim.derivation is None:
        return derivation_status(None)
    if "derivation_report" in claim.__dict__:  # checked already (cached_property): no new work
        return derivation_status(claim.derivation_report)
    return None


def _derivation_sentence(record):
    if record is None:
        return "derivation steps not checked in this build"
    if record["status"] == "none":
        return "no derivation"
    counts = ", ".join(f"{record[k]} {k}" for k in ("verified", "cited", "asymptotic", "inconclusive", "failed")
                       if record.get(k))
    head = {"verified": "derivation verified", "partly cited": "derivation partly cited",
            "failed": "derivation \\textbf{failed}"}[record["status"]]
    out = f"{head} ({counts} of {record['steps']} steps)"
    if record["status"] == "failed":
        out += ": " + tex_escape(record["reason"])
    return out


def validation_stamp(claim, result=None):
    """The stamp paragraph: from a check result dict, or a note that no check was run; it
    states the derivation status too."""
    version = tex_escape(_version())
    deriv = _derivation_sentence(_derivation_record(claim, result))
    if result is None:
        return (r"\paragraph{Validation.} Not checked against simulation in this build; %s "
                r"(attnsparse %s)." % (deriv, version))
    params = ", ".join(r"%s = %s" % (latex(sp.Symbol(k)), _fmt(v) if isinstance(v, float) else v)
                       for k, v in result["params"].items())
    lo, hi = result["ci"]
    lo = -math.inf if lo is None else lo
    extra = result.get("extra") or {}
    digits = extra.get("theory_digits") or 6
    sim = extra.get("simulation")
    sim = ("; simulation alone: %s" % tex_escape(sim["verdict"])) if sim else ""
    # a trend check compares exponents of n (or, law "less", a difference of grid means with 0)
    law, theory, estimate = extra.get("law"), _fmt(result["theory"], digits), _fmt(result["estimate"])
    values = {None: f"theory ${theory}$, simulated ${estimate}$",
              "exponent": f"predicted exponent of $n$ ${theory}$, fitted exponent ${estimate}$",
              "less": f"difference of the grid means ${estimate}$"}.get(law, f"fitted exponent of $n$ ${estimate}$")
    return (r"\paragraph{Validation.} Checked at $%s$ (seed %s, %s rows): %s "
            r"with %s\%% confidence interval $[%s, %s]$; verdict \textbf{%s}%s%s; %s. attnsparse %s."
            % (params, result["seed"], result["samples"], values,
               "%g" % (100 * result["level"]), _fmt(lo), _fmt(hi), tex_escape(result["verdict"]),
               (" (" + tex_escape(result["reason"]) + ")") if result.get("reason") else "", sim, deriv, version))


def _step_marks(claim):
    """Each derivation step's status, as a LaTeX sentence (empty when the steps were not checked)."""
    if "derivation_report" not in claim.__dict__ or claim.derivation_report is None:
        return ""
    marks = []
    for s in claim.derivation_report.steps:
        mark = tex_escape(s.status)
        if s.status == "failed":
            mark = r"\textbf{failed}"
            if s.counterexample:
                where = ", ".join(f"{k} = {v}" for k, v in s.counterexample.items())
                mark += " at " + tex_escape(where)
        elif s.status == "cited":
            mark = r"\emph{cited} (rests on its justification)"
        elif s.status == "asymptotic":
            mark = r"\emph{asymptotic} (not checked pointwise)"
        marks.append(f"({s.number}) {mark}")
    return r"\emph{Step status:} " + "; ".join(marks) + "."


def claim_environment(claim, result=None):
    """The claim as a ``claim`` environment, its proof, and the validation stamp."""
    ident = tex_escape(claim.id)
    lines = [r"\begin{claim}[\texttt{%s}]\label{claim:%s}" % (ident, claim.id.replace("_", "-")),
             text_latex(claim.statement) if claim.statement else "", "",
             r"\emph{Provenance:} %s%s." % (tex_escape(PROVENANCE[claim.provenance]),
                                            ("; " + text_latex(claim.source)) if claim.source else ""), "",
             r"\emph{Model:} $%s$." % claim.model.latex(), "",
             r"\emph{Assumptions:} %s." % ", ".join("$%s$" % a for a in assumptions_latex(claim)),
             claim_display(claim),
             r"\end{claim}"]
    d = claim.derivation
    if d is not None:
        marks = _step_marks(claim)
        # the title in two brace levels: the header is an optional argument, passed on to a second one, and
        # a "]" in it (an interval $(a, b]$, a \right]) must not end either
        lines += [r"\begin{proof}[Derivation: {{%s}}]" % text_latex(d.title), derivation_align(d, notes=True)]
        lines += ([marks] if marks else []) + [r"\end{proof}"]
    lines.append(validation_stamp(claim, result))
    return "\n".join(lines) + "\n"


def catalogue_document(claims, results=None, title="The attnsparse catalogue of claims"):
    """A complete standalone ``.tex`` document: every claim of ``claims``, grouped by area.

    ``results`` maps a claim id to its check result dict (missing ids: not checked).
    """
    results = results or {}
    body, area = [], None
    for c in claims:
        if c.area != area:
            area = c.area
            body.append(r"\section{%s}" % tex_escape(area))
        body.append(claim_environment(c, results.get(c.id)))
    return (PREAMBLE + r"\title{%s}" % tex_escape(title) + "\n"
            + r"\author{generated by attnsparse %s}" % tex_escape(_version()) + "\n"
            + "\\begin{document}\n\\maketitle\n" + "\n".join(body) + "\\end{document}\n")


def catalogue_markdown(claims, results=None):
    """The catalogue as MyST Markdown (statement, LaTeX, provenance, derivation, last verdict)."""
    results = results or {}
    out, area = ["# Theory catalogue", "",
                 "Generated from the registered claims when the documentation is built.", ""], None
    for c in claims:
        if c.area != area:
            area = c.area
            out += [f"## {area}", ""]
        out += [f"### `{c.id}`", "", c.statement, "", "$$", c.latex(), "$$", "",
                f"- provenance: {PROVENANCE[c.provenance]}" + (f"; {c.source}" if c.source else ""),
                "- assumptions: " + ", ".join(f"${a}$" for a in assumptions_latex(c)),
                f"- last verdict: {_verdict_text(results.get(c.id))}", ""]
        d = c.derivation
        if d is not None:
            out += [f"Derivation: {d.title}", "", derivation_align(d), ""]
    return "\n".join(out)


def _verdict_text(r):
    if r is None:
        return "not checked in this build"
    params = ", ".join(f"{k}={v}" for k, v in r["params"].items())
    extra = r.get("extra") or {}
    deriv = extra.get("derivation")
    deriv = f"; derivation {deriv['status']}" if deriv else ""
    return (f"**{r['verdict']}** at {params} (theory {_fmt(r['theory'], extra.get('theory_digits') or 6, False)}, "
            f"estimate {_fmt(r['estimate'], tex=False)}, seed {r['seed']}{deriv})")
