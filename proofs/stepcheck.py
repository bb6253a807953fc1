"""Checking the steps of a :class:`~attnsparse.proofs.derivation.Derivation`.

The checker reads a derivation (its steps, assumptions, domains, boxes and meanings) and
imports nothing that imports it back.

Each step ``expr_{k-1} rel_k expr_k`` gets one :class:`StepCheck` with a status:

``verified``
    an equality simplified to zero by SymPy (under a time bound), or a relation that held
    at every random point at high precision; for an inequality the interval result on each
    given box is reported alongside, and without a box an interval branch-and-bound runs on
    the stated domain (symbol assumptions, ``s > c`` assumptions, :meth:`Derivation.domain`),
    compactified (``s = lo + t/(1-t)``, ``t/(1-t**2)``), else cut at ``+-TRUNCATE``: the
    detail says "proved on the whole domain ..." or "proved on {box} only" or "random
    points only";
``failed``
    a random point, or (confirmed at a point) an interval sub-box, where the relation is
    false; the point and both values are recorded;
``cited``
    the step uses a placeholder with no stated meaning: it rests on its justification;
``asymptotic``
    a ``~`` step, recorded but not checked pointwise;
``inconclusive``
    too few random points could be evaluated (or satisfied the assumptions).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import mpmath as mp
import numpy as np
import sympy as sp

from ..numeric.config import (CHECK_DPS, CHECK_POINTS, DRAWS_PER_POINT, INTEGER_RANGE,
                              POSITIVE_RANGE, REAL_RANGE, SIMPLIFY_SECONDS)
from ..numeric.quadrature import quad_split
from ..numeric.statistics import Functional
from .branchbound import compact_sign, interval_sign
from .functions import is_placeholder
from .guards import NotDerived, bounded
from .mathtext import plain_text, tex_escape, text_latex

__all__ = ["StepCheck", "DerivationCheck", "StepFailed", "check_derivation",
           "CHECK_POINTS", "CHECK_DPS", "SIMPLIFY_SECONDS"]

WHOLE_SECONDS = 0.4  # time budget of each whole-domain branch-and-bound phase of one inequality step
WHOLE_OPS = 120  # a larger gap gets random points only (its enclosures are too slow and too wide)
TRUNCATE = 100  # where an unbounded direction is cut when the compactified domain stays undecided


class StepFailed(AssertionError):
    """A derivation step is false at a point: raised by :meth:`DerivationCheck.raise_if_failed`."""


@dataclass
class StepCheck:
    """The outcome of checking step ``number`` (``expr_{number-1} rel expr_number``)."""

    number: int
    rel: str
    why: str
    status: str
    method: str
    detail: str = ""
    counterexample: dict | None = None
    values: tuple | None = None

    def text(self):
        out = (f"step {self.number} ({self.number - 1}) {self.rel} ({self.number}) [{plain_text(self.why)}]: "
               f"{self.status}")
        out += f" by {self.method}" if self.method else ""
        if self.counterexample is not None:
            point = ", ".join(f"{k} = {v}" for k, v in self.counterexample.items())
            out += f"\n    counterexample: {point}"
            if self.values is not None:
                out += f"\n    left = {self.values[0]}\n    right = {self.values[1]}"
        if self.detail:
            out += f"\n    {self.detail}"
        return out


@dataclass
class DerivationCheck:
    """All step checks of one derivation."""

    title: str
    steps: list = field(default_factory=list)
    seed: int = 0
    points: int = CHECK_POINTS
    dps: int = CHECK_DPS

    @property
    def failed(self):
        """The failing steps."""
        return [s for s in self.steps if s.status == "failed"]

    @property
    def ok(self):
        """True when no step failed (cited, asymptotic and inconclusive steps do not fail)."""
        return not self.failed

    def counts(self):
        out = {}
        for s in self.steps:
            out[s.status] = out.get(s.status, 0) + 1
        return out

    def summary(self):
        c = self.counts()
        return ", ".join(f"{n} {k}" for k, n in sorted(c.items())) or "no steps"

    def text(self):
        head = f"{plain_text(self.title)}: {self.summary()} (seed {self.seed}, {self.points} points, {self.dps} digits)"
        return "\n".join([head] + ["  " + s.text().replace("\n", "\n  ") for s in self.steps])

    __str__ = text

    def raise_if_failed(self):
        """Raise :class:`StepFailed` naming the first failing step; returns ``self`` otherwise."""
        if self.failed:
            raise StepFailed(f"derivation {self.title!r}: " + self.failed[0].text())
        return self

    def _repr_latex_(self):
        rows = [r"\text{%s} & \text{%s} & \text{%s}" % (s.number, text_latex(s.why), tex_escape(s.status))
                for s in self.steps]
        return (r"\begin{array}{rll}\text{step} & \text{justification} & \text{status}\\ \hline "
                + r"\\ ".join(rows) + r"\end{array}")

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": self.text(), "text/latex": "$" + self._repr_latex_() + "$"}


# ---------------------------------------------------------------------- entry point
def check_derivation(derivation, seed=0, points=None, dps=None, seconds=None):
    """Check each step of ``derivation``; see the module docstring for the statuses."""
    points = CHECK_POINTS if points is None else points
    dps = CHECK_DPS if dps is None else dps
    seconds = SIMPLIFY_SECONDS if seconds is None else seconds
    if not isinstance(points, int) or isinstance(points, bool) or points < CHECK_POINTS:
        raise ValueError(f"points must be an integer >= {CHECK_POINTS}, got {points!r}")
    if not isinstance(dps, int) or isinstance(dps, bool) or dps < CHECK_DPS:
        raise ValueError(f"dps must be an integer >= {CHECK_DPS}, got {dps!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if not (isinstance(seconds, (int, float)) and 0 < seconds < math.inf):
        raise ValueError(f"seconds must be a positive number, got {seconds!r}")
    if len(derivation.steps) < 2:
        raise ValueError(f"derivation {derivation.title!r} has {len(derivation.steps)} step(s); "
                         "a chain needs at least two expressions")
    ctx = _Context(derivation, seed, points, dps, seconds)
    out = DerivationCheck(derivation.title, seed=seed, points=points, dps=dps)
    for k in range(1, len(derivation.steps)):
        out.steps.append(ctx.check_step(k))
    for lem in derivation.lemmas:  # each lemma's steps, under its title
        for s in lem.check(seed=seed, points=points, dps=dps, seconds=seconds).steps:
            s.why = f"lemma {lem.title}: {s.why}"
            out.steps.append(s)
    return out


class _Context:
    """What every step check of one derivation shares: meanings, domains, assumptions."""

    def __init__(self, derivation, seed, points, dps, seconds):
        self.d, self.seed, self.points, self.dps, self.seconds = derivation, seed, points, dps, seconds
        symbols = set()
        for s in derivation.steps:
            if not isinstance(s.expr, Functional):
                symbols |= self._expand(s.expr).free_symbols
        for a in derivation.assumptions:
            symbols |= a.free_symbols
        self.by_name = {s.name: s for s in symbols}
        self.domains = {self._resolve(k, "domain"): v for k, v in derivation.domains.items()}
        self.boxes = [{self._resolve(k, "box"): v for k, v in b.items()} for b in derivation.boxes]

    def _resolve(self, key, what):
        if isinstance(key, sp.Symbol):
            key = key.name
        if key not in self.by_name:
            raise ValueError(f"{what}: no symbol named {key!r} in derivation {self.d.title!r}; "
                             f"its symbols are: {', '.join(sorted(self.by_name)) or 'none'}")
        return self.by_name[key]

    def _expand(self, expr):
        """Replace defined placeholders by their meanings (repeatedly, for nested ones)."""
        for _ in range(10):
            new = expr.xreplace(self.d.meanings) if self.d.meanings else expr
            if new == expr:
                return new
            expr = new
        raise ValueError(f"derivation {self.d.title!r}: the meanings given with define() are circular")

    # ------------------------------------------------------------------ one step
    def check_step(self, k):
        prev, step = self.d.steps[k - 1], self.d.steps[k]
        base = dict(number=k, rel=step.rel, why=step.why)
        if step.rel == "~":
            return StepCheck(**base, status="asymptotic", method="",
                             detail="asymptotic steps are recorded, not checked pointwise")
        a, b = (e if isinstance(e, Functional) else self._expand(e) for e in (prev.expr, step.expr))
        opaque = _opaque_parts(a) + _opaque_parts(b)
        if opaque:
            names = sorted(set(opaque))
            verb = "has" if len(names) == 1 else "have"
            return StepCheck(**base, status="cited", method="",
                             detail=f"uses {', '.join(names)}, which {verb} no stated meaning: "
                                    "the step rests on its justification")
        if step.rel == "=" and not (a.has(sp.Integral) or b.has(sp.Integral)):
            symbolic = self._simplifies_to_zero(a - b)
            if symbolic is True:
                return StepCheck(**base, status="verified", method="SymPy simplification")
        return self._numeric(base, a, b, step.rel)

    def _simplifies_to_zero(self, diff):
        try:
            with bounded(self.seconds, what="simplification of a derivation step"):
                diff = _doit_calculus(diff)
                out = sp.simplify(diff)
                if out != 0 and self.d.assumptions:
                    out = sp.simplify(sp.refine(out, sp.And(*self.d.assumptions)))
        except NotDerived:
            return None
        return out == 0

    # ------------------------------------------------------------------ random points
    def _numeric(self, base, a, b, rel):
        syms = sorted(a.free_symbols | b.free_symbols | _assumption_symbols(self.d.assumptions),
                      key=lambda s: s.name)
        rng = np.random.default_rng([self.seed, base["number"]])
        a, b = _doit_calculus(a), _doit_calculus(b)
        good = draws = 0
        tol = mp.mpf(10) ** (-(self.dps - 10))
        while good < self.points and draws < DRAWS_PER_POINT * self.points:
            draws += 1
            point = {s: self._draw(s, rng) for s in syms}
            if not self._satisfies(point):
                continue
            va, vb = _value(a, point, self.dps), _value(b, point, self.dps)
            if va is None or vb is None:
                continue
            good += 1
            if not _holds(va, vb, rel, tol, self.dps):
                return StepCheck(**base, status="failed", method=f"random point {good} at {self.dps} digits",
                                 counterexample={s.name: _show_number(v) for s, v in point.items()},
                                 values=(mp.nstr(va, 20), mp.nstr(vb, 20)),
                                 detail=f"the relation {rel} is false at this point")
        method = f"{good} random points at {self.dps} digits"
        if good < self.points:
            return StepCheck(**base, status="inconclusive", method=method,
                             detail=f"only {good} of {self.points} points could be evaluated in {draws} draws "
                                    "(check the domains and assumptions)")
        if rel == "=":
            return StepCheck(**base, status="verified", method=method)
        return self._intervals(base, a, b, rel, method)

    def _draw(self, s, rng):
        lo, hi = self.domains.get(s, _default_range(s))
        if s.is_integer:
            lo, hi = math.ceil(float(lo)), math.floor(float(hi))
            if s.is_positive:
                lo = max(lo, 1)
            elif s.is_nonnegative:
                lo = max(lo, 0)
            if lo > hi:
                raise ValueError(f"domain of {s}: no admissible integer in [{lo}, {hi}]")
            return sp.Integer(int(rng.integers(lo, hi + 1)))
        return sp.Rational(float(rng.uniform(float(lo), float(hi))))

    def _satisfies(self, point):
        for cond in self.d.assumptions:
            ok = cond.subs(point)
            if ok not in (sp.true, sp.false):
                raise ValueError(f"assumption {cond} is not decided at {point}: it uses symbols that no step has")
            if ok is sp.false:
                return False
        return True

    def _admissible(self, point):
        """The point satisfies every assumption (False when one needs symbols it lacks)."""
        try:
            return self._satisfies(point)
        except ValueError:
            return False

    # ------------------------------------------------------------------ interval boxes
    def _intervals(self, base, a, b, rel, method):
        gap = (b - a) if rel in ("<=", "<") else (a - b)  # the step holds where gap >= 0 (> 0)
        strict = rel in ("<", ">")
        notes = []
        for box in self.boxes:
            missing = sorted(s.name for s in gap.free_symbols if s not in box)
            if missing:
                notes.append(f"box {_box_text(box)} does not bound {', '.join(missing)}: skipped")
                continue
            found, out = self._bisection(a, b, rel, {s: s for s in gap.free_symbols}, *interval_sign(
                gap, {s: box[s] for s in gap.free_symbols}, strict, self.dps))
            if found == "counterexample":
                return StepCheck(**base, status="failed", method=f"interval arithmetic on box {_box_text(box)}",
                                 detail="the enclosure of right - left excludes the relation on a sub-box, "
                                        "and the relation is false at its midpoint", **out)
            notes.append(f"interval arithmetic on box {_box_text(box)}: {out}")
        if not self.boxes and gap.free_symbols:
            if sp.count_ops(gap) <= WHOLE_OPS:
                return self._whole_domain(base, a, b, rel, method, gap, strict)
            notes.append(f"random points only: the gap has over {WHOLE_OPS} operations (no branch-and-bound)")
        return StepCheck(**base, status="verified", method=method, detail="; ".join(notes))

    def _stated(self, s):
        """``(lo, hi, narrowed)``: :meth:`Derivation.domain`, else the symbol's assumptions and
        relational assumptions ``s > c``, ``s < c`` with a real number ``c``."""
        if s in self.domains:
            return (*map(sp.sympify, self.domains[s]), True)
        lo = sp.Integer(1 if s.is_integer and s.is_positive else 0) if s.is_nonnegative else -sp.oo
        hi = sp.Integer(0) if s.is_nonpositive else sp.oo
        for c in self.d.assumptions:
            if isinstance(c, (sp.StrictLessThan, sp.LessThan, sp.StrictGreaterThan, sp.GreaterThan)):
                small, big = (c.lhs, c.rhs) if isinstance(c, (sp.StrictLessThan, sp.LessThan)) else (c.rhs, c.lhs)
                hi = sp.Min(hi, big) if small == s and big.is_number and big.is_real else hi
                lo = sp.Max(lo, small) if big == s and small.is_number and small.is_real else lo
        return lo, hi, False

    def _whole_domain(self, base, a, b, rel, method, gap, strict):
        """Branch-and-bound on the stated domain compactified, else on it cut at +-TRUNCATE."""
        ranges = sorted(((s, *self._stated(s)) for s in gap.free_symbols), key=lambda r: r[0].name)
        compact, box = {}, {}  # s -> its expression in t, and t -> its range
        for s, lo, hi, _ in ranges:
            t = sp.Dummy(s.name, real=True)
            compact[s], box[t] = ((t, (lo, hi)) if lo.is_finite and hi.is_finite else (t / (1 - t ** 2), (-1, 1))
                                  if not (lo.is_finite or hi.is_finite) else
                                  ((lo + t / (1 - t)) if lo.is_finite else (hi - t / (1 - t)), (0, 1)))
        where = "{" + ", ".join(f"{s} in {'(' if lo.is_infinite else '['}{lo}, {hi}{')' if hi.is_infinite else ']'}"
                                + " (by domain())" * n for s, lo, hi, n in ranges) + "}"
        cut = {s: (lo if lo.is_finite else min(hi, 0) - TRUNCATE, hi if hi.is_finite else max(lo, 0) + TRUNCATE)
               for s, lo, hi, _ in ranges}
        proved = dict(status="verified", method=f"interval branch-and-bound and {method}")
        failed = dict(status="failed", method=f"interval branch-and-bound on {where}",
                      detail="the enclosure of the gap excludes the relation around this point")

        # the whole domain, compactified
        found, out = self._bisection(a, b, rel, compact, *compact_sign(
            gap.xreplace(compact), box, strict, self.dps, time.monotonic() + WHOLE_SECONDS, WHOLE_SECONDS))
        if found == "proved":
            return StepCheck(**base, **proved, detail=f"proved on the whole domain {where} (compactified) ({out})")
        if found == "counterexample":
            return StepCheck(**base, **failed, **out)

        # the domain cut at +-TRUNCATE, unless the compactified box was that already (all ranges finite)
        if cut != {s: r for s, r in zip(compact, box.values())}:
            found, out = self._bisection(a, b, rel, {s: s for s in cut}, *interval_sign(
                gap, cut, strict, self.dps, deadline=time.monotonic() + WHOLE_SECONDS))
            if found == "proved":
                return StepCheck(**base, **proved, detail=f"proved on {_box_text(cut)} only; beyond it in {where} "
                                                          f"only random points ({out})")
            if found == "counterexample":
                return StepCheck(**base, **failed, **out)
        return StepCheck(**base, status="verified", method=method,
                         detail=f"random points only: interval branch-and-bound on {where} (compactified, then cut at "
                                f"+-{TRUNCATE}): {out}")

    def _bisection(self, a, b, rel, subs, verdict, out):
        """What one branch-and-bound run (``verdict, out`` of :func:`interval_sign`, on a box
        in the variables of ``subs``, which maps each symbol to its expression in them) decided:
        ``("proved", text)``, ``("counterexample", fields)`` with the :class:`StepCheck` fields
        of a point confirmed at ``dps`` digits, or ``("undecided", text)``."""
        if verdict == "proved":
            return "proved", out
        if verdict != "false":
            return "undecided", out
        point = {s: sp.Rational(str(e.xreplace({t: sp.Rational(str(v)) for t, v in out.items()})))
                 for s, e in subs.items()}
        point = {s: sp.Integer(round(v)) if s.is_integer else v for s, v in point.items()}
        va, vb = _value(a, point, self.dps), _value(b, point, self.dps)
        if None not in (va, vb) and _own_assumptions_hold(point) and self._admissible(point) and not _holds(
                va, vb, rel, mp.mpf(10) ** (10 - self.dps), self.dps):
            return "counterexample", dict(counterexample={s.name: _show_number(v) for s, v in point.items()},
                                          values=(mp.nstr(va, 20), mp.nstr(vb, 20)))
        return "undecided", "found an excluded sub-box whose midpoint is no counterexample"


# ---------------------------------------------------------------------- helpers
def _own_assumptions_hold(point):
    """Every value of ``point`` (rational or integer) has its symbol's sign assumptions."""
    signs = (("is_positive", lambda v: v > 0), ("is_nonnegative", lambda v: v >= 0),
             ("is_negative", lambda v: v < 0), ("is_nonpositive", lambda v: v <= 0))
    return all(ok(v) for s, v in point.items() for name, ok in signs if getattr(s, name))


def _opaque_parts(expr):
    """Names of the placeholders in ``expr`` (functionals count as placeholders)."""
    if isinstance(expr, Functional):
        return [repr(expr)]
    out = [str(n) for n in sp.preorder_traversal(expr) if isinstance(n, sp.Basic) and is_placeholder(n)]
    return out


def _assumption_symbols(assumptions):
    out = set()
    for a in assumptions:
        out |= a.free_symbols
    return out


def _doit_calculus(expr):
    """Carry out derivatives and substitutions (not integrals: those are evaluated numerically)."""
    return expr.replace(lambda e: isinstance(e, (sp.Subs, sp.Derivative)), lambda e: e.doit())


def _default_range(s):
    if s.is_integer:
        return INTEGER_RANGE
    if s.is_positive or s.is_nonnegative:
        return POSITIVE_RANGE
    return REAL_RANGE


def _value(expr, point, dps):
    """``expr`` at ``point`` to about ``dps`` digits, or None where it is not a finite real.

    Integrals are computed by :func:`~attnsparse.numeric.quadrature.quad_split`, which
    refuses a result whose error estimate is too large for ``dps`` digits. Without one,
    ``evalf(subs=point)`` evaluates the tree at the (exact rational) point directly, hundreds
    of times faster than ``subs`` then ``N`` on a large expression (a softmax row's entropy
    gradient: 3 ms against 0.9 s); it falls back to ``subs`` when a symbol is left over.
    """
    try:
        v = None
        if not expr.has(sp.Integral):
            # Max/Min first, on numbers: evalf would rebuild them from exact arguments (slow)
            e = expr.replace(lambda n: isinstance(n, (sp.Max, sp.Min)),
                             lambda n: type(n)(*[a.evalf(dps + 5, subs=point) for a in n.args]))
            v = e.evalf(dps + 5, subs=point)
            v = None if v.free_symbols else v
        if v is None:
            e = expr.subs(point)
            e = e.replace(lambda n: isinstance(n, sp.Integral), lambda n: _quad(n, dps))
            v = sp.N(e, dps + 5)
        if v.free_symbols or v.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
            return None
        z = complex(v)
        if z.imag != 0 or not math.isfinite(z.real):
            return None
        with mp.workdps(dps + 5):
            return mp.mpf(sp.re(v)._to_mpmath(mp.mp.prec))
    except (ValueError, TypeError, ArithmeticError):
        return None


def _quad(integral, dps):
    """A one-dimensional definite integral with numeric limits, to ``dps`` digits or raise.

    :func:`attnsparse.numeric.quadrature.quad_split`: tanh-sinh, split at 0 when the range
    straddles it; a result whose error estimate exceeds ``10**-dps`` relative is refused
    (PITFALLS 5) with a ``PrecisionError``, an ``ArithmeticError``.
    """
    if len(integral.limits) != 1 or len(integral.limits[0]) != 3:
        raise ValueError(f"only one-dimensional definite integrals are evaluated, got {integral}")
    (var, lo, hi), = integral.limits
    f = sp.lambdify(var, integral.function, modules="mpmath")
    with mp.workdps(dps + 10):
        ends = [mp.mpmathify(sp.N(v, dps + 10)) if v.is_finite else (mp.inf if v.is_extended_positive else -mp.inf)
                for v in (lo, hi)]
        return sp.Float(quad_split(f, ends[0], ends[1], dps), dps + 10)


def _holds(va, vb, rel, tol, dps):
    with mp.workdps(dps + 20):
        scale = max(abs(va), abs(vb), mp.mpf(10) ** -30)
        slack = tol * scale
        diff = va - vb
        if rel == "=":
            return abs(diff) <= slack
        if rel == "<=":
            return diff <= slack
        if rel == ">=":
            return diff >= -slack
        if rel == "<":
            return diff < -slack
        return diff > slack  # ">"


def _show_number(v):
    if isinstance(v, sp.Integer):
        return int(v)
    return float(v)


def _box_text(box):
    items = sorted(box.items(), key=lambda i: i[0].name)
    return "{" + ", ".join(f"{s.name} in [{lo}, {hi}]" for s, (lo, hi) in items) + "}"
