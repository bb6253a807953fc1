"""The Claim type and the registry of claims.

A claim states ``lhs  rel  rhs`` about a Gaussian attention model, where ``lhs`` is a
functional of a row statistic (``E``, ``P``, ``Var``, ``quantile``) and ``rhs`` is a SymPy
expression in the model's symbols, or a functional of another model (an equality between
two models). The same object prints LaTeX, evaluates its right-hand side with mpmath,
simulates its left-hand side and checks one against the other.

This module imports no numba: simulation and checks are imported when first used. It
holds the registry (:func:`register`); :mod:`.catalogue` loads the catalogue into it and
looks claims up (``claims()``, ``get(id)``), so that the catalogue modules, which import
this one, are imported by no module they import.
"""

from __future__ import annotations

import math
from functools import cached_property

import sympy as sp

from ..numeric.models import Model
from ..numeric.statistics import Functional
from .derivation import Derivation
from .printing import claim_latex
from .relations import CLAIM_RELATION, RELATIONS
from .values import as_sympy, as_tolerance

__all__ = ["Claim", "register", "registered", "as_number", "PROVENANCE", "RELATIONS", "prefetch_derivation_reports"]

PROVENANCE = {
    "paper": "[P] the seed paper's claim (arXiv 2404.02690), as its abstract states it",
    "reconstructed": "[R] our reconstruction of a statement of arXiv 2404.02690; not the paper's words",
    "standard": "[S] standard result",
    "derived": "[D] derived by attnsparse from standard tools",
    "heuristic": "[H] heuristic approximation, not a theorem",
    "user": "user claim",
}


def as_number(name, v):
    """A user value as an exact SymPy number: floats become the exact binary rational."""
    if isinstance(v, bool):
        raise TypeError(f"parameter {name} must be a number, got {v!r}")
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"parameter {name} must be finite, got {v!r}")
        return sp.Rational(v)
    x = as_sympy(v, f"parameter {name}", hint="give a number, e.g. n=64, sigma=1.5",
                 expected="a number")
    if not x.is_number or x.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        raise ValueError(f"parameter {name} must be a finite number, got {v!r}")
    return x


def _check_symbol_assumptions(sym, val):
    a = sym.assumptions0
    x = complex(sp.N(val, 30))
    if x.imag:
        raise ValueError(f"parameter {sym} must be real, got {val}")
    x = x.real
    rules = [("integer", lambda: float(val) == int(float(val)), "an integer"),
             ("positive", lambda: x > 0, "> 0"),
             ("nonnegative", lambda: x >= 0, ">= 0"),
             ("negative", lambda: x < 0, "< 0")]
    for key, ok, text in rules:
        if a.get(key) and not ok():
            raise ValueError(f"parameter {sym} must be {text}, got {val}")


class Claim:
    r"""A claim ``lhs rel rhs`` about softmax attention under a Gaussian model.

    Parameters
    ----------
    id : str
        Stable dotted identifier, ``area.name``.
    model : Model
        The model under which ``lhs`` is taken.
    lhs : Functional
        ``E(stat)``, ``P(event)``, ``Var(stat)`` or ``quantile(stat, q)``.
    rel : {"==", "approx", "<=", ">="}
        Relation of ``lhs`` to ``rhs``. ``approx`` needs ``rtol``.
    rhs : sympy expression, Functional, or callable returning a Derivation
        The theory side. A callable is a ``derivation_*`` function, run at first use
        (:meth:`from_derivation` builds a claim from a derivation at hand).
    statement : str
        One line in words.
    provenance : str
        One of :data:`PROVENANCE`.
    rtol, atol : float
        Tolerance: the band ``rhs +- max(rtol |rhs|, atol)``. For ``==`` it is the
        resolution a ``consistent`` verdict certifies (default 2%); for bounds, slack.
    assumptions : sequence of SymPy relationals
        Conditions on the parameters (for example ``t < sqrt(d)``), checked at binding.
    points : sequence of dict
        Parameter points at which the CLI checks the claim.
    exact : callable, optional
        ``exact(dps, **params)``: a high-precision evaluator of ``lhs``.
    details : callable, optional
        ``details() -> str``: extra text that ``attnsparse show`` prints, such as a table of
        the measured error of an asymptotic formula against the exact value.
    expect : {"consistent", "refuted"}
        The verdict the catalogue expects. ``"refuted"`` records a documented disagreement
        (a claim, usually the paper's as we reconstruct it, that our checks refute): the
        suite then fails if the claim stops being refuted, like a strict xfail.
    """

    def __init__(self, id, *, model, lhs, rel, rhs, statement="", provenance="user", rtol=None,
                 atol=0.0, assumptions=(), points=(), source="", exact=None, details=None,
                 expect="consistent"):
        if not isinstance(id, str) or not id or " " in id:
            raise ValueError(f"id must be a non-empty dotted name without spaces, got {id!r}")
        if not isinstance(model, Model):
            raise TypeError(f"model must be an IIDLogits, BilinearQK or SelfAttention, got {type(model).__name__}")
        if not isinstance(lhs, Functional):
            raise TypeError("lhs must be a functional: E(stat), P(event), Var(stat) or quantile(stat, q)")
        if rel == "trend" and type(self)._check is Claim._check:
            raise ValueError("rel='trend' needs a TrendClaim (a trend check over a grid of n)")
        if rel not in RELATIONS:
            raise ValueError(f"rel must be one of {sorted(RELATIONS)}, got {rel!r}")
        if provenance not in PROVENANCE:
            raise ValueError(f"provenance must be one of {sorted(PROVENANCE)}, got {provenance!r}")
        if expect not in ("consistent", "refuted"):
            raise ValueError(f"expect must be 'consistent' or 'refuted', got {expect!r}")
        if rel == "approx" and rtol is None:
            raise ValueError("rel='approx' needs rtol, the relative tolerance of the approximation")
        rtol = None if rtol is None else as_tolerance(rtol, "rtol")
        atol = as_tolerance(atol, "atol")
        if isinstance(rhs, Functional) and rel not in ("==", "approx"):
            raise ValueError("a functional on the right-hand side needs rel '==' or 'approx'")
        if rhs is None:
            raise TypeError("rhs must be given: a SymPy expression or a number, a functional of another "
                            "model, or a derivation function; got None")
        if not (callable(rhs) and not isinstance(rhs, (sp.Basic, Functional, str))):
            rhs = rhs if isinstance(rhs, Functional) else as_sympy(rhs, "rhs")
        d = dict(id=id, model=model, lhs=lhs, rel=rel, _rhs_src=rhs, statement=statement,
                 provenance=provenance, rtol=rtol, atol=atol,
                 assumptions=_assumptions(assumptions), points=_points(points), source=source,
                 exact=exact, details=details, expect=expect)
        self.__dict__.update(d)

    def __setattr__(self, name, value):
        raise AttributeError("a Claim is frozen; build a new one")

    @classmethod
    def from_derivation(cls, derivation, id, *, model, lhs=None, rel=None, **kwargs):
        r"""The conclusion of ``derivation`` as a claim: ``lhs rel expr_m``.

        ``derivation`` is the chain ``expr_0 rel_1 ... expr_m``, and ``expr_m`` becomes the
        right-hand side. ``id`` is the claim's id and ``model`` the model under which ``lhs`` is
        taken. ``lhs`` is the functional that ``expr_0`` stands for; it defaults to ``expr_0``
        when that is a functional (``E(...)``, ``P(...)``, ...). ``rel`` defaults to the composed
        relation of the chain: strict inequalities become ``<=`` or ``>=``, and ``~`` becomes
        ``approx``, which then needs ``rtol``. Other keywords are those of :class:`Claim`; the
        derivation's assumptions on the claim's parameters are prepended to ``assumptions``.

        The claim carries the derivation's step report (:attr:`derivation_report`, checked
        once on first use): :meth:`check` returns ``refuted`` when a step failed, and every
        check result records the derivation status (``extra["derivation"]``).
        """
        if not isinstance(derivation, Derivation):
            raise TypeError(f"from_derivation needs a Derivation, got {type(derivation).__name__}")
        if lhs is None:
            if not isinstance(derivation.first, Functional):
                raise TypeError(f"derivation {derivation.title!r}: expr_0 is not a functional; pass lhs=E(...) "
                                "(the functional that expr_0 stands for)")
            lhs = derivation.first
        rel = rel if rel is not None else CLAIM_RELATION[derivation.relation]
        names = set(model.free_symbols) | set(lhs.free_symbols) | set(derivation.result.free_symbols)
        own = [a for a in derivation.assumptions if a.free_symbols <= names]
        kwargs["assumptions"] = tuple(own) + tuple(kwargs.get("assumptions", ()))
        return cls(id, model=model, lhs=lhs, rel=rel, rhs=_DerivationSource(derivation), **kwargs)

    # ------------------------------------------------------------------ theory side
    @cached_property
    def derivation(self) -> Derivation | None:
        """The recorded derivation of ``rhs`` (None when ``rhs`` was given directly)."""
        src = self._rhs_src
        if isinstance(src, (sp.Basic, Functional)):
            return None
        d = src()
        if not isinstance(d, Derivation):
            raise TypeError(f"claim {self.id}: its derivation function must return a Derivation")
        return d

    @cached_property
    def derivation_report(self):
        """The step report of :attr:`derivation` (a ``DerivationCheck``; None without one).

        Checked once per claim (seed 0, the default points and digits) and cached: the check
        engine reads it for every check of the claim (``CheckResult.extra["derivation"]``).
        """
        d = self.derivation
        if d is None:
            return None
        report = _pending_report(self)  # from a worker started by prefetch_derivation_reports
        return report if report is not None and report.title == d.title else d.check()

    @property
    def derivation_status(self):
        """The derivation status as a plain dict (see :func:`.checking.derivation_status`)."""
        from .checking import derivation_status

        return derivation_status(self.derivation_report)

    @property
    def rhs(self):
        """The theory side: a SymPy expression (derived on first use) or a functional."""
        src = self._rhs_src
        return src if isinstance(src, (sp.Basic, Functional)) else self.derivation.result

    @property
    def area(self):
        return self.id.split(".")[0]

    @property
    def tolerance_rtol(self):
        from ..numeric.config import RTOL_EQUAL

        if self.rtol is not None:
            return self.rtol
        return RTOL_EQUAL if self.rel == "==" else 0.0

    @property
    def free_symbols(self):
        out = set(self.model.free_symbols) | set(self.lhs.free_symbols)
        out |= set(self.rhs.free_symbols)
        for a in self.assumptions:
            out |= a.free_symbols
        return out

    @property
    def parameters(self):
        """Names of the claim's free parameters, sorted."""
        return sorted(s.name for s in self.free_symbols)

    def bind(self, params):
        """Validate ``params`` ({name: number}) and return {Symbol: exact SymPy number}."""
        values = self.parameter_values(params)
        self.model.bind(values)  # model validation: clear errors for bad parameter values
        if isinstance(self.rhs, Functional) and self.rhs.model is not None:
            self.rhs.model.bind(values)
        return values

    def parameter_values(self, params):
        """``params`` as {Symbol: exact number}: every free parameter given, assumptions hold."""
        free = {s.name: s for s in self.free_symbols}
        unknown = sorted(set(params) - set(free))
        if unknown:
            raise ValueError(f"claim {self.id}: unknown parameter(s) {', '.join(unknown)}; "
                             f"its parameters are: {', '.join(sorted(free)) or 'none'}")
        missing = sorted(set(free) - set(params))
        if missing:
            raise ValueError(f"claim {self.id}: missing value for parameter(s) {', '.join(missing)}")
        values = {}
        for name, v in params.items():
            val = as_number(name, v)
            _check_symbol_assumptions(free[name], val)
            values[free[name]] = val
        for a in self.assumptions:
            ok = a.subs(values)
            if ok is not sp.true:
                shown = ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
                raise ValueError(f"claim {self.id}: assumption {a} does not hold at {shown}")
        return values

    def evaluate(self, dps=50, **params):
        """The right-hand side at ``params``, confirmed to ``dps`` significant digits.

        Returns a :class:`~attnsparse.numeric.precision.Confirmed` (an mpmath number whose
        ``digits`` is ``dps``), or raises :class:`~attnsparse.numeric.precision.PrecisionError`.
        """
        from ..numeric.precision import eval_confirmed

        if isinstance(self.rhs, Functional):
            raise TypeError(f"claim {self.id}: its right-hand side is a functional; it is simulated, not evaluated")
        return eval_confirmed(self.rhs, self.bind(params), dps)

    # ------------------------------------------------------------------ simulation side
    def simulate(self, samples=100_000, seed=0, level=0.95, **params):
        """Estimate ``lhs`` at ``params`` from ``samples`` simulated rows."""
        from ..numeric.simulate import simulate

        return simulate(self.lhs, self.model, samples, seed, self.bind(params), level)

    def check(self, seed=0, effort="quick", alpha=None, strict=False, rows=None, **params):
        """Check the claim against simulation at ``params``: a :class:`CheckResult`.

        ``rows=N`` replays a run of ``effort`` that ended after ``N`` rows (a row count on
        the look schedule, ``initial 2^l``): the same rows without a binding time budget.
        ``strict=True`` makes an asymptotic verdict inconclusive
        (:func:`~attnsparse.proofs.checking.strict`).
        """
        from .checking import strict as make_strict

        if not isinstance(strict, bool):
            raise ValueError(f"strict must be True or False, got {strict!r}")
        if rows is not None:
            effort = self._replay_effort(effort, rows)
        r = self._check(params, seed=seed, effort=effort, alpha=alpha)
        return make_strict([r])[0] if strict else r

    def _check(self, params, seed, effort, alpha):
        from .checking import check_claim

        return check_claim(self, params, seed=seed, effort=effort, alpha=alpha)

    def _replay_effort(self, effort, rows):
        from .checking import replay_effort

        return replay_effort(effort, rows)

    def design(self, alpha=None, rtol=None, deviation=None, pilot=4000, seed=0, **params):
        """Rows needed to decide the claim at ``params``: see :func:`attnsparse.numeric.design.design`.

        A :class:`~attnsparse.numeric.design.Design` with ``confirm`` (rows until the
        interval lies inside the band ``theory +- rtol |theory|``) and ``refute`` (rows until
        a deviation of ``deviation`` (relative, default ``rtol``) is refuted), estimated from a
        seeded pilot of ``pilot`` rows.
        """
        from .checking import design_claim

        return design_claim(self, params, alpha=alpha, rtol=rtol, deviation=deviation, pilot=pilot, seed=seed)

    def resolution(self, rows, alpha=None, pilot=4000, seed=0, **params):
        """The smallest relative deviation from the theory refuted with ``rows`` rows (an int >= 1)."""
        from .checking import resolution_claim

        return resolution_claim(self, params, rows, alpha=alpha, pilot=pilot, seed=seed)

    # ------------------------------------------------------------------ printing
    def latex(self):
        """The relation in LaTeX, house notation."""
        return claim_latex(self)

    def _repr_latex_(self):
        return "$\\displaystyle " + self.latex() + "$"

    def __repr__(self):
        return f"<Claim {self.id}: {self.lhs!r} {self.rel} {self._rhs_repr()}>"

    def _rhs_repr(self):
        src = self._rhs_src
        return repr(src) if isinstance(src, Functional) else (
            sp.sstr(src) if isinstance(src, sp.Basic) else f"<derived by {src.__name__}>")


def _assumptions(assumptions):
    if isinstance(assumptions, (str, bytes, sp.Basic)):
        assumptions = (assumptions,)
    out = []
    for i, a in enumerate(assumptions):
        a = as_sympy(a, f"assumptions[{i}]", hint="build it with sympy symbols, e.g. sympy.Abs(t) < sympy.sqrt(d)")
        if not isinstance(a, (sp.core.relational.Relational, sp.logic.boolalg.Boolean)):
            raise TypeError(f"assumptions[{i}] must be a condition such as t < sqrt(d), got {a}")
        if a is sp.false:
            raise ValueError(f"assumptions[{i}] is False for every value of its symbols: the claim could never apply")
        if a is not sp.true:  # true already by the symbols' own assumptions (x > 0 of a positive x)
            out.append(a)
    return tuple(out)


def _points(points):
    if isinstance(points, dict):
        points = (points,)
    out = []
    for i, p in enumerate(points):
        if not isinstance(p, dict):
            raise TypeError(f"points[{i}] must be a dict of parameter names to numbers, got {type(p).__name__}")
        for name, v in p.items():
            if not isinstance(name, str):
                raise TypeError(f"points[{i}]: parameter names must be strings, got {name!r}")
            as_number(f"{name} of points[{i}]", v)
        out.append(dict(p))
    return tuple(out)


class _DerivationSource:
    """The callable a Claim calls for its right-hand side: returns one fixed derivation."""

    def __init__(self, derivation):
        self.derivation = derivation
        self.__name__ = f"derivation {derivation.title!r}"

    def __call__(self):
        return self.derivation


# ---------------------------------------------------------------------- registry
_REGISTRY: dict = {}


def register(claim: Claim) -> Claim:
    """Add ``claim`` to the registry (ids are unique)."""
    if claim.id in _REGISTRY and _REGISTRY[claim.id] is not claim:
        raise ValueError(f"a claim with id {claim.id!r} is already registered")
    _REGISTRY[claim.id] = claim
    return claim


def registered():
    """The claims registered so far, by id (a copy; :func:`.catalogue.claims` loads the catalogue first)."""
    return dict(_REGISTRY)


# ---------------------------------------------------------------------- derivation reports in a worker
_PENDING: dict = {}  # claim id -> Future of its DerivationCheck (see prefetch_derivation_reports)


def _check_registered(cid):
    return _REGISTRY[cid].derivation.check()


def prefetch_derivation_reports(claims):
    """Start checking the derivations of ``claims`` in one worker process; returns how many.

    A suite (``attnsparse check``) calls this before its first check: the step checks
    (tens of seconds of 50-digit quadrature for the catalogue) then run beside the
    simulations, and :attr:`Claim.derivation_report` takes each report from the worker when
    it is first needed. Only registered claims are sent (the worker finds them by id in its
    copy of the registry); where no worker can be started the reports are computed in
    process, as without this call.
    """
    import concurrent.futures
    import multiprocessing

    reg = _REGISTRY
    todo = [c.id for c in claims if reg.get(c.id) is c and "derivation_report" not in c.__dict__
            and c.id not in _PENDING and c.derivation is not None]
    if not todo or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    try:
        pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
        for cid in todo:
            _PENDING[cid] = pool.submit(_check_registered, cid)
        pool.shutdown(wait=False)
    except (OSError, RuntimeError):  # no worker: checked in process on first use
        return 0
    return len(todo)


def _pending_report(claim):
    """The worker's report for ``claim`` (waits for it), or None when none was started or it failed."""
    future = _PENDING.pop(claim.id, None)
    if future is None:
        return None
    try:
        return future.result()
    except Exception:  # noqa: BLE001 -- a broken worker: the caller checks in process
        return None
