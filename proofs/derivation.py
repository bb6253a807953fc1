"""Recorded derivations: the steps by which the package derives a claim's closed form.

A derive function builds a :class:`Derivation`, adding one :class:`Step` per SymPy
operation it performs. The final expression is the claim's right-hand side; nothing is
typed in as the answer. Every SymPy call that can hang runs under :func:`bounded`
(PITFALLS 3), and any result that still holds an unevaluated ``Integral`` where a closed
form was expected is refused (PITFALLS 1).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

import sympy as sp

from ..numeric.config import DERIVATION_SECONDS

__all__ = ["Derivation", "Step", "NotDerived", "bounded", "closed_form"]

class NotDerived(RuntimeError):
    """A derivation step did not produce a closed form (timed out, or left an Integral)."""


@contextmanager
def bounded(seconds=DERIVATION_SECONDS, what="derivation step"):
    """Raise :class:`NotDerived` if the body runs longer than ``seconds``.

    Uses SIGALRM, so the bound applies in the main thread; in other threads the body runs
    unbounded (derived results are cached, so this costs at most one slow call).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _alarm(signum, frame):
        raise NotDerived(f"{what} took longer than {seconds:g} s")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def closed_form(expr, what):
    """Return ``expr`` if it holds no unevaluated Integral/Expectation, else raise."""
    if expr.has(sp.Integral) or expr.has(sp.Sum) or expr.has(sp.Limit):
        raise NotDerived(f"{what}: SymPy returned an unevaluated form, not a closed form: {expr}")
    return expr


@dataclass(frozen=True)
class Step:
    """One step: ``expr`` holds by ``why`` (relation to the previous step: ``rel``)."""

    expr: sp.Basic
    why: str
    rel: str = "="


@dataclass
class Derivation:
    """An ordered list of steps; ``result`` is the last expression."""

    title: str
    steps: list = field(default_factory=list)

    def step(self, expr, why, rel="="):
        self.steps.append(Step(expr, why, rel))
        return expr

    @property
    def result(self):
        return self.steps[-1].expr

    def text(self):
        lines = [self.title]
        for i, s in enumerate(self.steps, 1):
            lines.append(f"  ({i}) {s.rel} {sp.sstr(s.expr)}    [{s.why}]")
        return "\n".join(lines)

    def latex(self):
        rows = []
        for i, s in enumerate(self.steps):
            rel = "" if i == 0 else {"=": "=", "<=": r"\le", ">=": r"\ge"}.get(s.rel, s.rel)
            rows.append(r"&%s %s && \text{(%s)}" % (rel, sp.latex(s.expr), s.why))
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"
