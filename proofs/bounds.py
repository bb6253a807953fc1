r"""A bound calculus: tail bounds derived by SymPy as checked :class:`~.derivation.Derivation` chains.

Every deriver returns a :class:`Derivation` whose first expression is the probability being
bounded (a functional ``P(...)`` of :mod:`attnsparse.numeric.statistics`, or a ``Prob``
placeholder) and whose last expression is the bound. A step that applies a named standard
inequality (Chernoff, Markov, the union bound) is *cited* with its source unless the
probability has an exact meaning given with ``exact=`` (then :meth:`Derivation.define`
substitutes it and the step is checked like any other); algebra and the Mills-ratio
inequalities between closed forms are always checked.

>>> import sympy as sp
>>> sigma = sp.Symbol("sigma", positive=True); t = sp.Symbol("t", real=True); x = sp.Symbol("x", positive=True)
>>> chernoff(sp.exp(sigma**2 * t**2 / 2), t, x).result
exp(-x**2/(2*sigma**2))
"""

from __future__ import annotations

import sympy as sp

from ..numeric.statistics import Functional
from .derivation import Derivation
from .functions import Phibar, Prob
from .guards import NotDerived, bounded
from .printing import HousePrinter
from .values import as_sympy

__all__ = ["chernoff", "union", "invert", "functional_symbol", "mills_upper", "mills_lower", "markov",
           "chebyshev", "cantelli", "bernstein", "laurent_massart", "gaussian_concentration", "lipschitz", "SOURCES"]

#: where each named inequality is stated
SOURCES = {
    "Chernoff": "Chernoff 1952; Boucheron, Lugosi, Massart, Concentration Inequalities (2013), sec. 2.2",
    "union": "Boole's inequality",
    "Markov": "Markov's inequality; Boucheron, Lugosi, Massart (2013), sec. 2.1",
    "Chebyshev": "Chebyshev's inequality; Boucheron, Lugosi, Massart (2013), sec. 2.1",
    "Cantelli": "Cantelli's inequality (one-sided Chebyshev); Boucheron, Lugosi, Massart (2013), ex. 2.1",
    "TIS": "Tsirelson-Ibragimov-Sudakov 1976; Boucheron, Lugosi, Massart (2013), Thm 5.6",
    "Lipschitz": "a function with gradient norm at most L almost everywhere (continuous, piecewise smooth) is "
                 "L-Lipschitz: the mean value theorem along the segment",
    "Bernstein": "Bernstein's inequality; Boucheron, Lugosi, Massart (2013), Cor. 2.11",
    "Laurent-Massart": "Laurent and Massart 2000, Lemma 1 (Hanson-Wright for Gaussian quadratic forms, "
                       "explicit constants)",
    "Mills": r"Gordon 1941, the Mills-ratio bounds $z \varphi(z)/(1 + z^2) \le \bar\Phi(z) \le \varphi(z)/z$ "
             r"for $z > 0$",
}

SIMPLIFY_SECONDS = 20


def _tex(expr):
    """House LaTeX of ``expr`` for inline math in a title or justification (short fractions as ``a / b``)."""
    p = HousePrinter({"fold_short_frac": True})
    return expr.latex(p) if isinstance(expr, Functional) else p.doprint(expr)


def _phi(z):
    return sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)


def _lhs(event, default):
    if event is None:
        return default
    if isinstance(event, Functional):
        return event
    return as_sympy(event, "event", hint="pass a functional P(stat.max_logit >= x) or a sympy expression")


def _symbol(v, name):
    if not isinstance(v, sp.Symbol):
        raise TypeError(f"{name} must be a SymPy Symbol, got {v!r}")
    return v


def _simplify(expr, assumptions=()):
    try:
        with bounded(SIMPLIFY_SECONDS, what="simplification of a bound"):
            out = sp.simplify(expr)
            if assumptions:
                out = sp.simplify(sp.refine(out, sp.And(*assumptions)))
            return out
    except NotDerived:
        return expr


def _algebra(D, expr, why="algebra"):
    """Append ``= expr`` unless it repeats the last expression (a chain never ends on a repeated step)."""
    if D.steps and not isinstance(D.result, Functional) and expr == D.result:
        return D
    D.step(expr, why)
    return D


def _start(title, lhs, assumptions, exact):
    D = Derivation(title, assumptions=list(assumptions))
    D.step(lhs, "definition")
    if exact is not None:
        D.define(lhs, exact) if isinstance(lhs, Functional) else D.define(lhs, as_sympy(exact, "exact"))
    return D


def chernoff(mgf, t, x, assumptions=(), *, domain=(0, sp.oo), event=None, exact=None, Y=None):
    r"""``P(Y >= x) <= inf_t e^{-t x} M(t)``, the infimum found by SymPy.

    Parameters
    ----------
    mgf : sympy expression
        The moment generating function ``M(t) = E e^{tY}``, finite for ``t`` in ``domain``.
    t, x : Symbol
        The MGF's argument and the threshold.
    assumptions : sequence of relationals
        Conditions on the parameters (``x > 0``, ``x > d``, ...).
    domain : (lo, hi)
        Where ``M`` is finite, ``lo >= 0`` (default ``(0, oo)``).
    event : Functional, optional
        The functional ``P(...)`` that ``P(Y >= x)`` stands for (the derivation's ``expr_0``).
    exact : sympy expression, optional
        The exact value of the probability; with it the Chernoff step is checked, not cited.

    Returns
    -------
    Derivation
        ``P(Y >= x) <= e^{-t^* x} M(t^*) = bound``, where ``t^*`` is the stationary point of
        ``-t x + log M(t)`` when it lies in ``domain``; otherwise the optimum sits on the domain
        edge ``lo`` and the bound is ``e^{-lo x} M(lo)`` (the ``Piecewise`` records both regimes).
    """
    t, x = _symbol(t, "t"), _symbol(x, "x")
    mgf = as_sympy(mgf, "mgf", hint="build it with sympy symbols, e.g. sympy.exp(sigma**2 * t**2 / 2)")
    if t not in mgf.free_symbols:
        raise ValueError(f"mgf must depend on t = {t}, got {mgf}")
    lo, hi = (as_sympy(v, "domain") for v in domain)
    if not (lo.is_nonnegative and (hi.is_positive or hi is sp.oo)):
        raise ValueError(f"domain must be (lo, hi) with 0 <= lo < hi, got {domain!r}")
    assumptions = [as_sympy(a, "assumption") for a in assumptions]
    Y = Y if Y is not None else sp.Symbol("Y", real=True)
    D = _start(f"Chernoff bound on ${_tex(Prob(Y >= x))}$", _lhs(event, Prob(Y >= x)), assumptions, exact)
    log_f = -t * x + sp.log(mgf)
    try:
        with bounded(SIMPLIFY_SECONDS, what="the stationary point of the Chernoff exponent"):
            roots = sp.solve(sp.Eq(sp.diff(log_f, t), 0), t)
    except NotDerived:
        raise NotDerived(f"chernoff: SymPy found no stationary point of -t x + log M(t) for M = {mgf}") from None
    given = sp.And(*assumptions) if assumptions else sp.true
    inside = []
    for r in roots:
        cond = sp.refine(sp.And(r > lo, r < hi) if hi is not sp.oo else r > lo, given)
        if cond is not sp.false and r.is_real is not False:
            inside.append((r, cond))
    if not inside:
        raise NotDerived(f"chernoff: no stationary point of -t x + log M(t) in the domain {domain}")
    star, cond = inside[0]
    at_star = sp.exp(-star * x) * mgf.subs(t, star)
    edge = sp.exp(-lo * x) * mgf.subs(t, lo)
    raw = at_star if cond is sp.true else sp.Piecewise((at_star, cond), (edge, True))
    D.step(raw, f"Chernoff: Markov on $e^{{t {_tex(Y)}}}$, optimal $t = {_tex(star)}$ ({SOURCES['Chernoff']})",
           rel="<=")
    _algebra(D, _simplify(raw, assumptions))
    D.optimum = star
    return D


def union(bound, count, *, event=None, exact=None, single=None):
    r"""``P(max_{j<=n} Y_j >= x) <= n P(Y_1 >= x) <= n \cdot bound`` (Boole's inequality).

    Parameters
    ----------
    bound : Derivation or sympy expression
        A bound on one ``P(Y_j >= x)`` (a :class:`Derivation` from :func:`chernoff` or
        :func:`mills_upper`, whose steps are carried over times ``count``, or an expression).
    count : sympy expression
        The number ``n`` of events (positive).
    event : Functional, optional
        ``P(max_j Y_j >= x)`` as a functional; ``exact`` its exact value (with it the
        union step is checked, given also ``single``, the exact ``P(Y_1 >= x)``).
    """
    count = as_sympy(count, "count")
    if count.is_positive is False:
        raise ValueError(f"count must be positive, got {count}")
    if isinstance(bound, Derivation):
        first, steps, assumptions = bound.first, bound.steps[1:], bound.assumptions
        fmeanings = bound.functional_meanings
    else:
        first, steps, assumptions, fmeanings = None, [], [], {}
        bound = as_sympy(bound, "bound")
    D = _start("union bound", _lhs(event, Prob(sp.Symbol("max_j Y_j", real=True) >= sp.Symbol("x"))),
               assumptions, exact)
    one = single if single is not None else (first if isinstance(first, sp.Basic) else None)
    if one is None and isinstance(first, Functional) and id(first) in fmeanings:
        one = fmeanings[id(first)][1]
    if one is None and isinstance(first, Functional) and steps:
        one = functional_symbol(first)  # no exact value: the union step is cited, the later ones still checked
    if one is None:
        D.step(count * (bound if not steps else steps[-1].expr),
               f"union bound over ${_tex(count)}$ events, each bounded as stated ({SOURCES['union']})", rel="<=")
        if steps:
            D.meanings.update(bound.meanings)
            for lem in bound.lemmas:
                D.lemma(lem)
        return D
    D.step(count * as_sympy(one, "single"), f"union bound over ${_tex(count)}$ events ({SOURCES['union']})",
           rel="<=")
    if not steps:
        D.step(count * bound, "the single-event bound", rel="<=")
        return D
    return D.extend(bound, count)


def functional_symbol(f):
    """A placeholder Symbol printed as the functional ``f`` (``\\mathbb{P}[...]``), for use inside expressions."""
    if not isinstance(f, Functional):
        raise TypeError(f"functional_symbol needs a functional P(...) or E(...), got {f!r}")
    return sp.Symbol(sp.latex(f))


def invert(bound, delta, x, *, event=None, exact=None):
    r"""Solve ``bound(x) = delta`` for ``x``: ``P(Y >= x_delta) <= delta``.

    ``bound`` is a :class:`Derivation` (its last expression, decreasing in ``x``) or an
    expression. Returns a Derivation ending in ``delta``: ``Y < x_delta`` with probability at
    least ``1 - delta``. ``x_delta`` is stored as ``.threshold``.
    """
    x = _symbol(x, "x")
    delta = _symbol(delta, "delta")
    B = bound.result if isinstance(bound, Derivation) else as_sympy(bound, "bound")
    assumptions = list(bound.assumptions) if isinstance(bound, Derivation) else []
    try:
        with bounded(SIMPLIFY_SECONDS, what="solving bound = delta"):
            roots = [r for r in sp.solve(sp.Eq(B, delta), x) if r.is_real is not False and r.is_negative is not True]
    except NotDerived:
        raise NotDerived(f"invert: SymPy could not solve {B} = {delta} for {x}") from None
    if not roots:
        raise NotDerived(f"invert: {B} = {delta} has no admissible solution for {x}")
    xd = _simplify(roots[-1])
    x_delta = f"{_tex(x)}_{{{_tex(delta)}}}"
    first = bound.first if isinstance(bound, Derivation) else Prob(sp.Symbol("Y", real=True) >= x)
    lhs = event if event is not None else (first.subs(x, xd) if isinstance(first, sp.Basic) else first)
    assumptions = [a.subs(x, xd) for a in assumptions if x in a.free_symbols] + \
        [a for a in assumptions if x not in a.free_symbols] + [delta < 1]
    # plain brackets in the title: a "\right]" cannot stand in the optional argument of a LaTeX proof header
    event_tex = _tex(lhs).replace(r"\left[", "[").replace(r"\right]", "]")
    D = _start(f"${event_tex}$ at the $(1 - {_tex(delta)})$ threshold", lhs, assumptions, exact)
    if isinstance(bound, Derivation):
        D.extend(bound, subs={x: xd})
    else:
        D.step(B.subs(x, xd), f"the bound at ${_tex(x)} = {x_delta}$", rel="<=")
    D.step(delta, f"${x_delta} = {_tex(xd)}$ solves ${_tex(B)} = {_tex(delta)}$")
    D.threshold = xd
    return D


def _mills(z, event, exact, scale, side):
    """The Gaussian tail ``Phibar(z)`` of ``P(X >= scale z)`` against one Mills-ratio bound."""
    z, scale = as_sympy(z, "z"), as_sympy(scale, "scale")
    D = _start(f"{side} Mills-ratio bound", _lhs(event, Prob(sp.Symbol("X", real=True) >= scale * z)), [z > 0],
               exact)
    D.step(Phibar(z), "Gaussian tail", rel="=")
    bound, rel = (_phi(z) / z, "<=") if side == "upper" else (z / (1 + z**2) * _phi(z), ">=")
    D.step(bound, f"Mills ratio ({SOURCES['Mills']})", rel=rel)
    return D


def mills_upper(z, *, event=None, exact=None, scale=1):
    r"""``P(X >= scale z) = Phibar(z) <= phi(z)/z`` for ``z > 0`` (upper Mills-ratio bound), checked."""
    return _mills(z, event, exact, scale, "upper")


def mills_lower(z, *, event=None, exact=None, scale=1):
    r"""``Phibar(z) >= z/(1+z^2) phi(z)`` for ``z > 0`` (lower Mills-ratio bound), checked."""
    return _mills(z, event, exact, scale, "lower")


def _moment_bound(name, Y, bound, x, event, exact, assumptions):
    """``P(Y >= x) <= bound`` for ``x > 0``, cited as the named inequality of :data:`SOURCES`."""
    D = _start(f"{name} bound", _lhs(event, Prob(Y >= x)), [x > 0] + list(assumptions), exact)
    D.step(bound, f"{name} ({SOURCES[name]})", rel="<=")
    return D


def markov(mean, x, *, event=None, exact=None, assumptions=()):
    r"""``P(Y >= x) <= E Y / x`` for ``Y >= 0``, ``x > 0`` (Markov)."""
    mean, x = as_sympy(mean, "mean"), as_sympy(x, "x")
    D = _moment_bound("Markov", sp.Symbol("Y", nonnegative=True), mean / x, x, event, exact, assumptions)
    _algebra(D, _simplify(mean / x))
    return D


def chebyshev(variance, x, *, event=None, exact=None, assumptions=()):
    r"""``P(|Y - E Y| >= x) <= Var Y / x^2`` (Chebyshev)."""
    variance, x = as_sympy(variance, "variance"), as_sympy(x, "x")
    return _moment_bound("Chebyshev", sp.Symbol("|Y - E Y|", nonnegative=True), variance / x**2, x, event, exact,
                         assumptions)


def cantelli(variance, x, *, event=None, exact=None, assumptions=()):
    r"""``P(Y - E Y >= x) <= Var Y / (Var Y + x^2)`` for ``x > 0`` (Cantelli)."""
    variance, x = as_sympy(variance, "variance"), as_sympy(x, "x")
    return _moment_bound("Cantelli", sp.Symbol("Y - E Y", real=True), variance / (variance + x**2), x, event, exact,
                         assumptions)


def gaussian_concentration(L, x, *, event=None, exact=None, assumptions=(), f=None):
    r"""``P(f(X) - E f(X) >= x) <= e^{-x^2/(2 L^2)}`` for ``L``-Lipschitz ``f`` of a standard
    Gaussian vector (Tsirelson-Ibragimov-Sudakov).

    ``L`` is an expression, or a :func:`lipschitz` derivation: its constant is used and its
    steps are attached as a lemma (checked with this chain). ``f`` (a string of LaTeX) names
    the function in the title.
    """
    lemma = L if isinstance(L, Derivation) else None
    if lemma is not None:
        if getattr(lemma, "constant", None) is None:
            raise ValueError("gaussian_concentration: L is a Derivation without a Lipschitz constant; build it "
                             "with lipschitz(...)")
        L = lemma.constant
    L, x = as_sympy(L, "L"), as_sympy(x, "x")
    name = f if f is not None else "f(X)"
    D = _start(f"Gaussian concentration of ${name}$",
               _lhs(event, Prob(sp.Symbol(f"{name} - E {name}", real=True) >= x)), [x > 0] + list(assumptions), exact)
    how = f"lemma: {lemma.title}" if lemma is not None else "as stated"
    D.step(sp.exp(-x**2 / (2 * L**2)), f"a ${_tex(L)}$-Lipschitz function of a standard Gaussian vector ({how}; "
           f"{SOURCES['TIS']})", rel="<=")
    if lemma is not None:
        D.lemma(lemma)
    return D


def lipschitz(f, X, steps, *, title, meanings=(), assumptions=()):
    r"""The Lipschitz constant of ``f`` in the Gaussian vector ``X`` (Euclidean norm), derived from its gradient.

    The chain starts at ``|grad f|^2 = sum_i (df/dX_i)^2`` as SymPy differentiates ``f``
    (``Max``/``Min`` give ``Heaviside`` factors: the gradient almost everywhere), continues with
    ``steps``, a sequence of ``(expr, why, rel)`` each checked at random points of ``X``, and
    ends at a bound ``L^2`` free of ``X``. ``.constant`` is ``L = sqrt(L^2)``; a function whose
    gradient norm is at most ``L`` almost everywhere is ``L``-Lipschitz (:data:`SOURCES`
    ``"Lipschitz"``). ``meanings`` are ``(placeholder, expression)`` pairs such as ``p_1`` and
    its softmax expression in ``X``.
    """
    X = [_symbol(v, "X") for v in X]
    f = as_sympy(f, "f")
    if not set(X) & f.free_symbols:
        raise ValueError(f"lipschitz: f = {f} does not depend on X = {X}")
    D = Derivation(title, assumptions=list(assumptions))
    for k, v in meanings:
        D.define(k, v)
    D.step(sum(sp.diff(f, v)**2 for v in X), r"$|\nabla f|^2$, SymPy's derivatives in $X$")
    for expr, why, rel in steps:
        D.step(expr, why, rel=rel)
    if set(X) & D.result.free_symbols:
        raise ValueError(f"lipschitz: the last step {D.result} still depends on X: it is not a constant")
    if D.relation not in ("=", "<=", "<"):
        raise ValueError(f"lipschitz: the chain must bound |grad f|^2 from above, its relation is {D.relation!r}")
    D.constant = sp.sqrt(D.result)
    return D


def bernstein(v, b, x, *, event=None, exact=None, assumptions=()):
    r"""``P(S - E S >= x) <= exp(-x^2 / (2 (v + b x / 3)))`` for a sum ``S`` of independent
    terms with ``X_i - E X_i <= b`` and total variance ``v`` (Bernstein)."""
    v, b, x = as_sympy(v, "v"), as_sympy(b, "b"), as_sympy(x, "x")
    D = _start("Bernstein bound", _lhs(event, Prob(sp.Symbol("S - E S", real=True) >= x)),
               [x > 0] + list(assumptions), exact)
    D.step(sp.exp(-x**2 / (2 * (v + b * x / 3))), f"Bernstein, variance ${_tex(v)}$, terms $\\le {_tex(b)}$ "
           f"({SOURCES['Bernstein']})", rel="<=")
    return D


def laurent_massart(trace, frobenius, operator, u, *, event=None, exact=None, assumptions=()):
    r"""Hanson-Wright with explicit constants for a Gaussian quadratic form ``g^T A g``, ``A`` PSD:
    ``P(g^T A g >= tr A + 2 |A|_F sqrt(u) + 2 |A| u) <= e^{-u}`` (Laurent-Massart).

    ``trace``, ``frobenius``, ``operator`` are ``tr A``, ``|A|_F`` and ``|A|_op``; the
    threshold is stored as ``.threshold``.
    """
    trace, frobenius, operator, u = (as_sympy(v, name) for v, name in
                                     ((trace, "trace"), (frobenius, "frobenius"), (operator, "operator"), (u, "u")))
    level = trace + 2 * frobenius * sp.sqrt(u) + 2 * operator * u
    D = _start("Laurent-Massart bound", _lhs(event, Prob(sp.Symbol("g^T A g", nonnegative=True) >= level)),
               [u > 0] + list(assumptions), exact)
    D.step(sp.exp(-u), f"Laurent-Massart ({SOURCES['Laurent-Massart']})", rel="<=")
    D.threshold = level
    return D
