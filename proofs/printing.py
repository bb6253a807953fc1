r"""LaTeX in house notation, and the text of statements for LaTeX and for the terminal.

:class:`HousePrinter` is SymPy's LaTeX printer with the notation of docs/theory.md:

* ``Phi(x)``, ``Phibar(x)`` print as :math:`\Phi(x)`, :math:`\bar\Phi(x)`, and so do the
  erf and erfc forms SymPy produces for them (``erfc(x/sqrt(2))/2`` and
  ``1/2 - erf(x/sqrt 2)/2`` are :math:`\bar\Phi(x)`); ``sqrt(2) erfinv(2 y - 1)`` is
  :math:`\Phi^{-1}(y)` (:func:`house_form`, a rewriting used for printing only);
* ``sqrt(2 ln n)`` prints as :math:`\beta_c` and the Gumbel centring as :math:`b_n`, each
  defined in a "where" clause (:func:`claim_display`);
* ``Expect``, ``Prob``, ``Norm``, ``ChiSquare`` (:mod:`.functions`) print as
  :math:`\mathbb{E}[\cdot]`, :math:`\mathbb{P}(\cdot)`, :math:`\lVert\cdot\rVert`, :math:`\chi^2_d`;
  the exact evaluators as :math:`E_k(\ldots)`; logarithms as :math:`\ln`;
* a float prints with at most 6 significant digits;
* functionals and models of the numeric layer print themselves through ``_latex``.

Statements, titles and justifications are *text with math* (:mod:`.mathtext`: ``$...$`` passes
through, the rest is escaped; :func:`~.mathtext.plain_text` is the terminal form); its names are
re-exported here.

Long relations are broken (:func:`claim_display`): a wide sub-expression of the left-hand
side (such as the bound ``B`` of a probability ``P(X <= B)``) gets a name and a "where"
clause, and a wide right-hand side is split at its top-level terms in ``multline*``.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter

from ..numeric.statistics import Functional
from . import symbols as S
from .functions import Phi, Phibar
from .relations import RELATIONS, STEP_RELATIONS
from .mathtext import TEXT_WIDTH, plain_text, tex_escape, tex_width, text_latex  # noqa: F401 -- re-exported

__all__ = ["HousePrinter", "latex", "claim_latex", "claim_display", "derivation_align", "tex_escape",
           "text_latex", "plain_text", "house_form", "tex_width", "PhiInv", "TEXT_WIDTH"]


# ---------------------------------------------------------------------- house form (printing only)
class PhiInv(sp.Function):
    r"""The standard normal quantile :math:`\Phi^{-1}(y) = \sqrt2\,\operatorname{erfinv}(2y - 1)`."""

    nargs = 1

    def _eval_rewrite_as_erfinv(self, y, **kwargs):
        return sp.sqrt(2) * sp.erfinv(2 * y - 1)

    def _latex(self, printer, exp=None):
        out = r"\Phi^{-1}\left(%s\right)" % printer._print(self.args[0])
        return out if exp is None else r"\left(%s\right)^{%s}" % (out, exp)


BETA_C = sp.Symbol("beta_c", positive=True)
B_N = sp.Symbol("b_n", real=True)
_SQRT2 = sp.sqrt(2)
#: house constants named in print, with their definitions (LaTeX)
HOUSE_CONSTANTS = {BETA_C: r"\beta_c = \sqrt{2 \ln n}",
                   B_N: r"b_n = \beta_c - (\ln \ln n + \ln 4\pi)/(2 \beta_c)"}


def _gaussian_argument(u):
    """``sqrt(2) u`` when that removes the sqrt(2) of ``u`` (``erf(u)`` is then a Gaussian cdf), else None."""
    y = _SQRT2 * u
    return None if y.has(_SQRT2) or not u.has(_SQRT2) else y


def _beta_c_mul(expr):
    """``c log(n)^e ...`` (e a half-integer) as ``(c / 2^e) beta_c^{2e} ...``; others unchanged."""
    logn = sp.log(S.n)
    factors = sp.Mul.make_args(expr)
    for f in factors:
        base, e = f.as_base_exp()
        if base == logn and e.is_Rational and e.q == 2:
            rest = sp.Mul(*[g for g in factors if g is not f])
            return rest / sp.Integer(2) ** e * BETA_C ** (2 * e)
    return expr


def _add_subset(expr, target, symbol):
    """``expr`` (an Add) with the terms of ``target`` (an Add) replaced by ``symbol`` when all are present."""
    terms, want = list(expr.args), list(target.args)
    if len(want) < 2 or any(t not in terms for t in want):
        return expr
    for t in want:
        terms.remove(t)
    return sp.Add(symbol, *terms)


def _one_minus(expr):
    """``c - c Phi(y)`` as ``c Phibar(y)`` and ``c - c Phibar(y)`` as ``c Phi(y)`` inside an Add."""
    terms = list(expr.args)
    consts = [t for t in terms if t.is_Number]
    if len(consts) != 1:
        return expr
    c0 = consts[0]
    for t in terms:
        c, f = t.as_coeff_Mul()
        if c == -c0 and isinstance(f, (Phi, Phibar)):
            other = Phibar if isinstance(f, Phi) else Phi
            terms.remove(c0)
            terms.remove(t)
            return sp.Add(c0 * other(f.args[0]), *terms)
    return expr


def house_form(expr):
    """``expr`` rewritten to house notation, for printing only (never evaluated).

    erf/erfc/erfinv forms become Phi, Phibar, PhiInv; ``sqrt(ln n)`` becomes ``beta_c``; the
    Gumbel centring ``b_n``. Returns ``(expr, constants)``, the house constants it names.
    """
    if not isinstance(expr, sp.Basic):
        return expr, set()
    b_n = _rewrite(S.b_n)
    out = _rewrite(expr)
    if b_n != S.b_n:
        out = out.replace(lambda e: e.is_Add, lambda e: _add_subset(e, b_n, B_N))
        out = out.xreplace({b_n: B_N})
    used = {c for c in HOUSE_CONSTANTS if out.has(c)} - expr.free_symbols
    if B_N in used:
        used.add(BETA_C)
    return out, used


def _rewrite(expr):
    if not isinstance(expr, sp.Basic) or expr.is_Atom:
        return expr
    args = [_rewrite(a) for a in expr.args]
    if isinstance(expr, sp.erfinv):
        y = sp.expand((args[0] + 1) / 2)
        if not y.has(_SQRT2):
            return PhiInv(y) / _SQRT2
    if isinstance(expr, (sp.erf, sp.erfc)):
        y = _gaussian_argument(args[0])
        if y is not None:
            return 2 * Phi(y) - 1 if isinstance(expr, sp.erf) else 2 * Phibar(y)
    try:
        out = expr.func(*args) if args != list(expr.args) else expr
    except (TypeError, ValueError):
        return expr
    if out.is_Mul or (out.is_Pow and out.base == sp.log(S.n)):
        out = _beta_c_mul(out)
    if out.is_Add:
        out = _one_minus(out)
    return out


class HousePrinter(LatexPrinter):
    """SymPy's LaTeX printer with attnsparse notation (see the module docstring).

    ``names`` maps sub-expressions to the LaTeX of their name (abbreviations of a "where"
    clause); ``seen`` records every compound sub-expression printed, with its LaTeX.
    """

    def __init__(self, settings=None, names=None):
        super().__init__(dict({"ln_notation": True}, **(settings or {})))
        self.names = dict(names or {})
        self.seen = []
        self.used = set()
        self._forms = {}

    def house(self, expr):
        """``expr`` in house form (:func:`house_form`), noting the house constants it names."""
        form = self._forms.get(expr)
        if form is None:
            form, used = house_form(expr)
            self.used |= used
            self._forms[expr] = self._forms[form] = form
        return form

    def _print(self, expr, **kwargs):
        if expr is sp.EulerGamma:  # its own _latex says \gamma, the name of a parameter here
            return r"\gamma_{\mathrm{E}}"
        if isinstance(expr, sp.Basic) and not expr.is_Atom:
            expr = self.house(expr)
            if expr in self.names:
                return self.names[expr]
        out = super()._print(expr, **kwargs)
        if isinstance(expr, sp.Basic) and not expr.is_Atom:
            self.seen.append((expr, out))
        return out

    def _print_Float(self, expr):
        x = float(expr)
        text = "%.6g" % x
        if "e" in text:
            mant, ex = text.split("e")
            ex = int(ex)
            return r"10^{%d}" % ex if mant == "1" else r"%s \cdot 10^{%d}" % (mant, ex)
        return text

    def _print_Symbol(self, expr, style="plain"):
        if expr.name == "epsilon":
            return r"\varepsilon"
        return super()._print_Symbol(expr, style=style)

    def _print_Rational(self, expr):
        p, q = int(expr.p), int(expr.q)
        k = len(str(q)) - 1
        if abs(p) == 1 and q == 10**k and k >= 4:  # 1/10^9 as 10^{-9}
            return ("- " if p < 0 else "") + r"10^{-%d}" % k
        return super()._print_Rational(expr)

    def _as_ordered_terms(self, expr, order=None):
        """SymPy's order, except that a sum does not open with a minus sign when a term is
        positive: ``1 - b_n/sigma``, not ``- b_n/sigma + 1``."""
        terms = list(super()._as_ordered_terms(expr, order=order))
        if terms and terms[0].could_extract_minus_sign():
            for i, t in enumerate(terms):
                if not t.could_extract_minus_sign():
                    terms.insert(0, terms.pop(i))
                    break
        return terms

    def _print_log(self, expr, exp=None):
        arg = expr.args[0]
        if arg.is_Symbol or (arg.is_Integer and arg > 0) or isinstance(arg, sp.log):
            out = r"\ln %s" % self._print(arg)
        else:
            out = r"\ln\left(%s\right)" % self._print(arg)
        return out if exp is None else r"\left(%s\right)^{%s}" % (out, exp)

    def _print_MinMax(self, expr, head):
        args = sorted(expr.args, key=sp.default_sort_key)
        return r"\%s\left\{%s\right\}" % (head, ", ".join(self._print(a) for a in args))

    def _print_Max(self, expr, exp=None):
        out = self._print_MinMax(expr, "max")
        return out if exp is None else r"%s^{%s}" % (out, exp)

    def _print_Min(self, expr, exp=None):
        out = self._print_MinMax(expr, "min")
        return out if exp is None else r"%s^{%s}" % (out, exp)

    def _print_erfc(self, expr, exp=None):
        out = r"\operatorname{erfc}\left(%s\right)" % self._print(expr.args[0])
        return out if exp is None else r"%s^{%s}" % (out, exp)

    def _print_Function(self, expr, exp=None):
        name = type(expr).__name__
        m = re.fullmatch(r"E_(\d+)", name)
        if m:  # an exact evaluator of numeric.exact, E_k(...)
            out = r"E_{%s}(%s)" % (m.group(1), ", ".join(self._print(a) for a in expr.args))
            return out if exp is None else r"%s^{%s}" % (out, exp)
        return super()._print_Function(expr, exp)

    def _print_Mul(self, expr):
        tail = _gaussian_tail(expr)
        if tail is not None:
            name, y = tail
            head = r"\Phi" if name == "Phi" else r"\bar{\Phi}"
            return r"%s\left(%s\right)" % (head, self._print(y))
        return super()._print_Mul(expr)

    def _print_Functional(self, expr):
        return expr.latex(self)


def _gaussian_tail(expr):
    """``("Phibar", y)`` if ``expr`` is ``erfc(y/sqrt 2)/2``, ``("Phi", y)`` for ``erfc(-y/sqrt 2)/2``."""
    coeff, rest = expr.as_coeff_Mul()
    if coeff != sp.S.Half or not isinstance(rest, sp.erfc):
        return None
    y = sp.expand(rest.args[0] * sp.sqrt(2))
    if y.could_extract_minus_sign():
        return "Phi", -y
    return "Phibar", y


def latex(expr):
    """LaTeX of a SymPy expression or a functional, in house notation."""
    p = HousePrinter()
    return expr.latex(p) if isinstance(expr, Functional) else p.doprint(expr)


# ---------------------------------------------------------------------- claims
def _relation_sides(claim, printer):
    """``(lhs, rel, rhs)`` LaTeX of a claim, as the claim kind prints it (``latex_sides``)."""
    if hasattr(claim, "latex_sides"):
        return claim.latex_sides(printer)
    lhs = claim.lhs.latex(printer)
    rhs = claim.rhs
    right = rhs.latex(printer) if isinstance(rhs, Functional) else printer.doprint(rhs)
    if isinstance(rhs, Functional) and rhs.model is not None:
        right += r"\ \big|_{%s}" % rhs.model.latex()
    return lhs, RELATIONS[claim.rel], right


def claim_latex(claim):
    """The claim's relation on one line: ``lhs rel rhs``."""
    lhs, rel, rhs = _relation_sides(claim, HousePrinter())
    return f"{lhs} {rel} {rhs}"


def _name_for(claim, taken):
    names = {s.name for s in claim.free_symbols} | taken
    for cand in ("B", "A", "D", "G", "H", "K", "M"):
        if cand not in names:
            return cand
    return "B_%d" % len(taken)


def _abbreviations(claim, budget):
    """Names for wide sub-expressions of the left-hand side, so that the relation fits ``budget``."""
    names = {}
    for _ in range(3):
        p = HousePrinter(names=names)
        lhs, rel, rhs = _relation_sides(claim, p)
        total = tex_width(f"{lhs} {rel} {rhs}")
        if total <= budget:
            break
        lhs_parts = [(e, t) for e, t in p.seen if t in lhs and e not in names and e.free_symbols
                     and not isinstance(e, Functional) and tex_width(t) >= 12]
        if not lhs_parts:
            break
        fits = [(e, t) for e, t in lhs_parts if total - tex_width(t) + 1 <= budget]
        minmax = [(e, t) for e, t in fits if isinstance(e, (sp.Max, sp.Min))]
        pool = minmax or fits or lhs_parts
        e, _t = (min if (minmax or fits) else max)(pool, key=lambda et: tex_width(et[1]))
        names[e] = _name_for(claim, set(names.values()))
    return names


def _chunks(expr, printer):
    """Pieces of ``expr`` that a line break may separate (terms of a sum, arguments of a max)."""
    shown = printer.house(expr)
    if isinstance(shown, sp.Add):
        terms = printer._as_ordered_terms(shown)
        out = []
        for i, t in enumerate(terms):
            tex = printer._print(t)
            if i and not tex.startswith("-"):
                tex = "+ " + tex
            out.append(tex)
        return out
    if isinstance(shown, (sp.Max, sp.Min)):
        head = "max" if isinstance(shown, sp.Max) else "min"
        args = [printer._print(a) for a in sorted(shown.args, key=sp.default_sort_key)]
        return ([r"\%s\biggl\{%s," % (head, args[0])] + [a + "," for a in args[1:-1]]
                + [args[-1] + r"\biggr\}"])
    return [printer._print(shown)]


def _multline(head, chunks, budget):
    """``head chunk chunk ...`` packed into lines of at most ``budget``: ``\\[...\\]`` or ``multline*``."""
    lines, cur = [], head
    for c in chunks:
        if cur.strip() and tex_width(cur + " " + c) > budget and cur != head:
            lines.append(cur)
            cur = c
        else:
            cur = (cur + " " + c).strip()
    lines.append(cur)
    if len(lines) == 1:
        return r"\[ %s \]" % lines[0]
    return "\\begin{multline*}\n" + " \\\\\n".join(lines) + "\n\\end{multline*}"


def _align_lines(chunks, budget):
    """Chunks packed into lines of ``budget``, continued on new ``align*`` rows indented by a quad."""
    lines, cur = [], ""
    for c in chunks:
        if cur and tex_width(cur + " " + c) > budget:
            lines.append(cur)
            cur = c
        else:
            cur = (cur + " " + c).strip()
    lines.append(cur)
    return " \\\\\n&\\quad ".join(lines)


def claim_display(claim, budget=TEXT_WIDTH):
    """The claim's relation as display math, broken to fit, with its "where" clause."""
    names = _abbreviations(claim, budget)
    p = HousePrinter(names=names)
    lhs, rel, rhs = _relation_sides(claim, p)
    if tex_width(f"{lhs} {rel} {rhs}") <= budget or hasattr(claim, "latex_sides") or isinstance(
            claim.rhs, Functional):
        out = [r"\[ %s %s %s \]" % (lhs, rel, rhs)]
    else:
        out = [_multline(f"{lhs} {rel}", _chunks(claim.rhs, p), budget)]
    used, wheres = set(p.used), []
    for expr, name in names.items():
        q = HousePrinter(names={k: v for k, v in names.items() if k is not expr})
        wheres.append(_multline(f"{name} =", _chunks(expr, q), budget))
        used |= q.used
    if wheres or used:
        consts = [HOUSE_CONSTANTS[c] for c in (BETA_C, B_N) if c in used]
        short = [w[3:-3] for w in wheres if w.startswith(r"\[")]
        long_ = [w for w in wheres if not w.startswith(r"\[")]
        inline = ", ".join(f"${t}$" for t in short + consts)
        if long_:
            out.append("where " + (inline + " and" if inline else "") + "")
        else:
            out.append("where " + inline + ".")
        out += long_
    return "\n".join(out)


def derivation_align(derivation, notes=False):
    """A derivation as an ``align*`` block, one row per expression.

    With ``notes=False`` each justification sits at the right of its row (for notebooks
    and web pages); with ``notes=True`` rows are tagged (0)..(m) and the justifications
    follow as a list, which keeps wide steps on a printed page. A step whose expression is
    a relation (an equation solved on the way) is a side remark, printed after "where",
    never joined to the chain by ``=``.
    """
    rows, items = [], []
    for i, s in enumerate(derivation.steps):
        rel = "" if i == 0 else STEP_RELATIONS[s.rel]
        body = latex(s.expr)
        if isinstance(s.expr, sp.core.relational.Relational) and i:
            rel, body = r"\text{where }", body
        elif isinstance(s.expr, sp.Basic) and tex_width(body) > TEXT_WIDTH - 8:
            body = _align_lines(_chunks(s.expr, HousePrinter()), TEXT_WIDTH - 8)
        if notes:
            rows.append(r"&%s %s \tag*{(%d)}" % (rel, body, i))
            items.append(r"\item[(%d)] %s" % (i, text_latex(s.why)))
        else:
            rows.append(r"&%s %s && \text{(%s)}" % (rel, body, text_latex(s.why)))
    out = "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"
    if notes:
        out += "\n\\begin{itemize}\\small\n" + "\n".join(items) + "\n\\end{itemize}"
    return out
