r"""Derivations as checked chains: ``expr_0 rel_1 expr_1 rel_2 ... expr_m``.

A derivation function (named ``derivation_*``) builds a :class:`Derivation`, adding one
:class:`Step` per SymPy operation it performs. The final expression is the claim's
right-hand side; nothing is typed in as the answer. Every SymPy call that can hang runs
under :func:`~attnsparse.proofs.guards.bounded` (PITFALLS 3), and any result that still
holds an unevaluated ``Integral`` where a closed form was expected is refused by
:func:`~attnsparse.proofs.guards.closed_form` (PITFALLS 1).

The API in five calls::

    D = Derivation("Var Z", assumptions=[sigma > 0])
    D.step(Var_Z, "definition")                      # expr_0: its rel is ignored
    D.step(n * (m2 - m1**2), "independence")          # rel "=" by default
    D.step(bound, "Jensen", rel="<=")                 # =, <=, >=, <, > or ~ (asymptotic)
    D.check().raise_if_failed()                       # each step checked; see below

Step ``k`` relates ``expr_{k-1}`` to ``expr_k`` (``text()`` numbers the expressions
(0)..(m)). :meth:`Derivation.check` checks every step:

* ``=``: SymPy simplification of the difference under a time bound, and when that is not
  conclusive, evaluation of both sides at >= 20 random points of the domain at >= 50
  digits (integrals by confirmed quadrature);
* ``<=``, ``>=``, ``<``, ``>``: the same random points, plus an interval-arithmetic
  enclosure (a private mpmath interval context, with bisection) on every box given with :meth:`Derivation.box`;
* ``~``: recorded, not checked pointwise;
* steps that use a *placeholder* (a symbol named in LaTeX such as ``\mathbb{E} Z``, an
  undefined function, or ``Expect``/``Prob``/``Norm`` of :mod:`.functions`) rest on their
  justification ("cited"), unless :meth:`Derivation.define` gives the placeholder a
  meaning, which is substituted before checking. ``define`` also ties auxiliary symbols
  to the parameters (``nu = (d-1)/2``).

The random domain of each symbol comes from its SymPy assumptions (positive reals in
(0, 3], reals in [-3, 3], positive integers 1..12), narrowed by :meth:`Derivation.domain`
and filtered by the relational assumptions. The draws are reproducible from ``seed``.
:meth:`Claim.from_derivation <attnsparse.proofs.claim.Claim.from_derivation>` turns the
conclusion ``expr_0 (composed rel) expr_m`` into a claim that can be checked against
simulation. This module imports neither :mod:`.claim` nor anything that imports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from ..numeric.statistics import Functional
from .mathtext import plain_text
from .printing import derivation_align
from .relations import STEP_ALIASES, STEP_RELATIONS, composed_relation
from .values import as_real, as_sympy

__all__ = ["Derivation", "Step"]


@dataclass(frozen=True)
class Step:
    """One step: ``expr`` holds by ``why``, related to the previous expression by ``rel``."""

    expr: object
    why: str
    rel: str = "="


@dataclass
class Derivation:
    """A chain ``expr_0 rel_1 expr_1 ... expr_m`` with a justification for every step.

    Parameters
    ----------
    title : str
        What is derived, in words.
    assumptions : sequence of SymPy relationals, optional
        Conditions on the symbols (for example ``Abs(t) < sqrt(d)``). Random points of
        :meth:`check` satisfy them; SymPy's symbol assumptions (``positive=True``) hold too.

    Notes
    -----
    ``result`` is the last expression, the claim's right-hand side; ``relation`` is the
    composed relation of the chain.
    """

    title: str
    steps: list = field(default_factory=list)
    assumptions: list = field(default_factory=list)
    domains: dict = field(default_factory=dict)
    boxes: list = field(default_factory=list)
    meanings: dict = field(default_factory=dict)
    functional_meanings: dict = field(default_factory=dict)
    lemmas: list = field(default_factory=list)

    def __post_init__(self):
        if not isinstance(self.title, str) or not self.title:
            raise ValueError(f"title must be a non-empty string, got {self.title!r}")
        given, self.assumptions = self.assumptions, []
        if isinstance(given, (str, bytes, sp.Basic)):
            given = [given]
        self.assume(*given)

    # ------------------------------------------------------------------ building
    def step(self, expr, why, rel="="):
        """Append ``rel expr`` justified by ``why``; returns ``expr``.

        The first step's ``rel`` is ignored: its expression is ``expr_0``, the quantity
        being derived (a placeholder, a functional such as ``E(stat.ipr)``, or any
        expression). ``why`` names a catalogue lemma, an inequality (Jensen, Markov,
        Chernoff, Hanson-Wright, ...) or "algebra".
        """
        rel = STEP_ALIASES.get(rel, rel)
        if rel not in STEP_RELATIONS:
            raise ValueError(f"rel must be one of {sorted(STEP_RELATIONS)}, got {rel!r}")
        if not isinstance(why, str) or not why.strip():
            raise ValueError("why must name the justification of the step (a lemma, an inequality or 'algebra')")
        if not isinstance(expr, Functional):
            expr = as_sympy(expr, "expr",
                            hint="build it with sympy symbols, e.g. D.step(sympy.log(n) + sigma**2 / 2, 'algebra')")
        self.steps.append(Step(expr, why, rel))
        return expr

    def extend(self, other, factor=1, subs=None, note=""):
        """Append the steps of ``other`` after its ``expr_0``, each times ``factor`` (positive),
        with ``subs`` ({symbol: expression}) substituted and ``note`` appended to each
        justification; returns ``self``.

        The one way a chain copies another's steps: ``other``'s meanings (substituted),
        functional meanings, lemmas and assumptions come along. ``self``'s last expression
        should be ``factor`` times ``other``'s ``expr_0`` (under ``subs``); the step check
        then covers the joint.
        """
        if not isinstance(other, Derivation):
            raise TypeError(f"extend: other must be a Derivation, got {type(other).__name__}")
        factor = as_sympy(factor, "factor")
        if factor.is_positive is False:
            raise ValueError(f"extend: factor must be positive, got {factor}")
        subs = dict(subs or {})
        sub = (lambda e: e.subs(subs)) if subs else (lambda e: e)
        self.meanings.update({sub(k): sub(v) for k, v in other.meanings.items()})
        self.functional_meanings.update(other.functional_meanings)
        for lem in other.lemmas:
            self.lemma(lem)
        self.assume(*[a for a in (sub(a) for a in other.assumptions) if a not in self.assumptions])
        for s in other.steps[1:]:
            self.step(factor * sub(s.expr), s.why + note, rel=s.rel)
        return self

    def lemma(self, other):
        """Attach ``other``, a derivation a step relies on (a Lipschitz constant, say): its steps
        are checked with this chain's and reported after them. Returns ``self``."""
        if not isinstance(other, Derivation):
            raise TypeError(f"lemma: other must be a Derivation, got {type(other).__name__}")
        if not any(other is lem for lem in self.lemmas):
            self.lemmas.append(other)
        return self

    def assume(self, *conditions):
        """Add relational assumptions on the symbols; returns ``self``."""
        for c in conditions:
            c = as_sympy(c, "assumption",
                         hint="build it with sympy symbols, e.g. D.assume(sympy.Abs(t) < sympy.sqrt(d))")
            if not isinstance(c, (sp.core.relational.Relational, sp.logic.boolalg.Boolean)):
                raise TypeError(f"assume: {c} is not a condition (use a relation such as t < 1)")
            self.assumptions.append(c)
        return self

    def domain(self, symbol, lo, hi):
        """Draw ``symbol`` (a Symbol or its name) from ``[lo, hi]`` in random-point checks."""
        lo, hi = _finite_number(lo, f"domain of {symbol}: lo"), _finite_number(hi, f"domain of {symbol}: hi")
        if not lo < hi:
            raise ValueError(f"domain of {symbol}: need lo < hi, got [{lo}, {hi}]")
        self.domains[symbol] = (lo, hi)
        return self

    def box(self, ranges=None, **named):
        """Add a box ``{symbol or name: (lo, hi)}`` on which inequality steps are also
        checked by interval arithmetic; returns ``self``."""
        box = dict(ranges or {}, **named)
        if not box:
            raise ValueError("box: give at least one range, e.g. box(t=(0, 1))")
        for k, r in box.items():
            try:
                lo, hi = r
            except (TypeError, ValueError):
                raise ValueError(f"box: the range of {k} must be a pair (lo, hi), got {r!r}") from None
            lo, hi = _finite_number(lo, f"box range of {k}: lo"), _finite_number(hi, f"box range of {k}: hi")
            if not lo <= hi:
                raise ValueError(f"box: the range of {k} must have lo <= hi, got ({lo}, {hi})")
            box[k] = (lo, hi)
        self.boxes.append(box)
        return self

    def define(self, placeholder, meaning):
        """State what ``placeholder`` means: it is replaced by ``meaning`` before checking.

        ``placeholder`` is a Symbol (such as ``Symbol(r"\\mathbb{E} e^{s_1}")`` or an
        auxiliary ``nu``) or an applied function, or a functional ``P(...)``/``E(...)`` that a
        step uses (that very object: it is replaced by ``meaning``, its exact value, so steps
        from it are checked rather than cited); ``meaning`` is a SymPy expression in the
        parameters, possibly an ``Integral`` against a density. Returns ``self``.
        """
        hint = "build it with sympy symbols, e.g. D.define(nu, (d - 1) / 2) with d = sympy.Symbol('d')"
        if isinstance(placeholder, Functional):
            # a probability or expectation P(...), E(...) of the steps: its meaning (an exact value)
            # replaces the functional wherever a step uses that very object
            self.functional_meanings[id(placeholder)] = (placeholder, as_sympy(meaning, "meaning", hint=hint))
            return self
        if not isinstance(placeholder, (sp.Symbol, sp.Function, sp.core.function.AppliedUndef)) and not (
                isinstance(placeholder, sp.Basic) and placeholder.is_Function):
            raise TypeError("define: placeholder must be a Symbol, an applied function or a functional "
                            f"P(...)/E(...) used by a step, got {placeholder!r}")
        self.meanings[placeholder] = as_sympy(meaning, "meaning", hint=hint)
        return self

    # ------------------------------------------------------------------ reading
    @property
    def result(self):
        """The last expression ``expr_m``."""
        if not self.steps:
            raise ValueError(f"derivation {self.title!r} has no steps")
        return self.steps[-1].expr

    @property
    def first(self):
        """The first expression ``expr_0``."""
        if not self.steps:
            raise ValueError(f"derivation {self.title!r} has no steps")
        return self.steps[0].expr

    @property
    def relation(self):
        """The composed relation of ``expr_0`` to ``expr_m`` (see :func:`composed_relation`)."""
        return composed_relation([s.rel for s in self.steps[1:]])

    # ------------------------------------------------------------------ checking
    def check(self, seed=0, points=None, dps=None, seconds=None):
        """Check every step; returns a :class:`~attnsparse.proofs.stepcheck.DerivationCheck`.

        Parameters
        ----------
        seed : int
            Seed of the random points (reproducible: same seed, same points).
        points : int, optional
            Random points per step, at least 20 (default 20).
        dps : int, optional
            Decimal digits of the numerical evaluation, at least 50 (default 50).
        seconds : float, optional
            Time bound of each SymPy simplification (default 10 s).
        """
        from .stepcheck import check_derivation  # on first use: importing the face loads no checker

        return check_derivation(self._with_functionals_defined(), seed=seed, points=points, dps=dps,
                                seconds=seconds)

    def _with_functionals_defined(self):
        """This chain with every defined functional step replaced by its meaning (for checking)."""
        if not self.functional_meanings:
            return self
        steps = [Step(self.functional_meanings[id(s.expr)][1], s.why, s.rel)
                 if isinstance(s.expr, Functional) and id(s.expr) in self.functional_meanings else s
                 for s in self.steps]
        return Derivation(self.title, steps=steps, assumptions=list(self.assumptions), domains=dict(self.domains),
                          boxes=list(self.boxes), meanings=dict(self.meanings), lemmas=list(self.lemmas))

    # ------------------------------------------------------------------ printing
    def text(self):
        """The chain in plain text, one expression per line, numbered (0)..(m); the ``$...$``
        math of the title and justifications in its terminal form (:func:`.printing.plain_text`)."""
        lines = [plain_text(self.title)]
        for i, s in enumerate(self.steps):
            rel = "" if i == 0 else s.rel
            shown = repr(s.expr) if isinstance(s.expr, Functional) else sp.sstr(s.expr)
            lines.append(f"  ({i}) {rel:2s} {shown}    [{plain_text(s.why)}]")
        for lem in self.lemmas:
            lines.append("  lemma: " + lem.text().replace("\n", "\n  "))
        return "\n".join(lines)

    def latex(self):
        """The chain as an ``align*`` block, justifications on the right."""
        return derivation_align(self)

    def _repr_latex_(self):
        return self.latex()

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": self.text(), "text/latex": self.latex()}


def _finite_number(v, what):
    return as_real(v, what)
