"""``attnsparse plot-bound ID``: a bound claim's bound, its exact value (where one exists) and
simulation over one parameter, on a log scale (PNG and PDF, written atomically).

The other parameters stay at the claim's first check point (``-p NAME=VALUE`` changes one).
The exact value is the meaning the derivation gives its first expression (``define`` of the
functional ``P(...)``, e.g. ``1 - Phi(x/sigma)^n`` for the max-logit tail), or the claim's own
``exact`` evaluator; claims without one show bound and simulation only. Simulated points are
estimates with their 95% Wilson intervals; an estimate of 0 cannot be drawn on a log axis and
is shown by the upper end of its interval (a downward triangle).

Exit codes: 0 on success, 2 on usage errors.
"""

from __future__ import annotations

import math

from .commands import EXIT_OK, UsageError

__all__ = ["add_parser", "run", "plot_bound", "default_axis"]

#: the parameter on the x axis when --x is not given: the first of these the claim has
AXIS_ORDER = ("x", "epsilon", "delta", "n")
#: parameters that live in (0, 1)
UNIT_PARAMS = ("epsilon", "delta", "C")


def add_parser(subparsers):
    """Add the ``plot-bound`` sub-command."""
    s = subparsers.add_parser(
        "plot-bound", help="bound, exact value and simulation of a bound claim over one parameter (PNG and PDF)",
        description="Plots a <= / >= claim's right-hand side, the exact value of its left-hand side where the "
                    "derivation states one, and simulation estimates with 95% intervals, on a log scale.")
    s.add_argument("id", metavar="ID", help="a bound claim (rel <= or >=), e.g. bounds.max_logit_chernoff")
    s.add_argument("--x", metavar="PARAM",
                   help=f"parameter on the x axis (default the first of {', '.join(AXIS_ORDER)})")
    s.add_argument("--range", nargs=2, type=float, metavar=("LO", "HI"), help="range of the x parameter "
                   "(default around the check point)")
    s.add_argument("--points", type=int, default=7, help="simulated points (2..40, default 7)")
    s.add_argument("--samples", type=int, default=20000, help="rows per simulated point (100..10^7, default 20000)")
    s.add_argument("--seed", type=int, default=0, help="seed of the simulations (integer >= 0, default 0)")
    s.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="set one of the other parameters (repeatable)")
    s.add_argument("--out", metavar="PREFIX", help="output files PREFIX.png and PREFIX.pdf (default plot-bound-ID)")
    s.set_defaults(command="plot_bound")  # the CLI runs attnsparse.cmd_<command>


def default_axis(claim, x=None, lo_hi=None):
    """``(name, lo, hi, is_integer)`` of the x axis for ``claim`` (see :data:`AXIS_ORDER`)."""
    base = claim.points[0] if claim.points else {}
    params = claim.parameters
    if x is None:
        x = next((p for p in AXIS_ORDER if p in params), None)
        if x is None:
            raise UsageError(f"claim {claim.id}: none of {', '.join(AXIS_ORDER)} is a parameter; give --x "
                             f"(its parameters are {', '.join(params)})")
    if x not in params:
        raise UsageError(f"--x {x}: not a parameter of {claim.id} (its parameters are {', '.join(params)})")
    sym = next(s for s in claim.free_symbols if s.name == x)
    integer = bool(sym.is_integer)
    if lo_hi is not None:
        lo, hi = lo_hi
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise UsageError(f"--range: need finite LO < HI, got {lo} {hi}")
    else:
        v = float(base.get(x, 1.0))
        if integer:
            lo, hi = max(2.0, v / 4), v * 16
        elif x in UNIT_PARAMS:
            lo, hi = v / 4, min(0.95, v + (1 - v) * 0.8)
        else:
            lo, hi = v / 3, v * 2.5
    if (sym.is_positive and lo <= 0) or (x in UNIT_PARAMS and not (0 < lo < hi < 1)):
        raise UsageError(f"--range: {x} must lie in {'(0, 1)' if x in UNIT_PARAMS else '(0, inf)'}, got [{lo}, {hi}]")
    return x, float(lo), float(hi), integer


def _grid(lo, hi, k, integer):
    import numpy as np

    if integer:
        g = np.unique(np.round(np.geomspace(lo, hi, k)).astype(int))
        return [int(v) for v in g]
    return [float(v) for v in np.linspace(lo, hi, k)]


def _exact_expr(claim):
    """The exact value of the claim's left-hand side as a SymPy expression, or None."""
    d = claim.derivation
    if d is None:
        return None
    mean = d.functional_meanings.get(id(d.first))
    return None if mean is None else mean[1]


def _value(expr, values):
    import sympy as sp

    try:
        v = complex(sp.N(expr.subs(values), 20))
    except (TypeError, ValueError, ArithmeticError):
        return math.nan
    return v.real if v.imag == 0 and math.isfinite(v.real) else math.nan


def _mathtext(tex):
    """``$tex$`` when matplotlib's mathtext parses it, else ``tex`` as plain text."""
    import re

    from matplotlib.mathtext import MathTextParser

    tex = re.sub(r"\\(ge|le)(?![a-zA-Z])", r"\\\1q", tex).replace(r"\operatorname", r"\mathrm")
    s = f"${tex}$"
    try:
        MathTextParser("path").parse(s)
        return s
    except ValueError:
        return tex


def plot_bound(claim, prefix, *, x=None, lo_hi=None, points=7, samples=20000, seed=0, overrides=None):
    """Draw the figure of ``claim``; returns ``(paths, rows)``, ``rows`` the plotted numbers
    ``{x, bound, exact, estimate, lo, hi}`` at the simulated points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import sympy as sp

    from .files import save_figure

    if claim.rel not in ("<=", ">="):
        raise UsageError(f"claim {claim.id} is not a bound (its relation is {claim.rel!r}); plot-bound needs <= or >=")
    xname, lo, hi, integer = default_axis(claim, x, lo_hi)
    base = dict(claim.points[0]) if claim.points else {}
    base.update(overrides or {})
    missing = sorted(set(claim.parameters) - set(base) - {xname})
    if missing:
        raise UsageError(f"claim {claim.id}: no value for {', '.join(missing)}; give -p NAME=VALUE")
    exact = _exact_expr(claim)
    fine = _grid(lo, hi, 120 if not integer else 40, integer)
    curve = {"bound": [], "exact": []}
    for v in fine:
        vals = claim.bind({**base, xname: v})
        curve["bound"].append(_value(claim.rhs, vals))
        curve["exact"].append(_value(exact, vals) if exact is not None else math.nan)
    rows = []
    for v in _grid(lo, hi, points, integer):
        params = {**base, xname: v}
        vals = claim.bind(params)
        est = claim.simulate(samples=samples, seed=seed, **params).estimate
        rows.append(dict(x=v, bound=_value(claim.rhs, vals), exact=_value(exact, vals) if exact is not None
                         else math.nan, estimate=est.value, lo=max(est.ci[0], 0.0), hi=est.ci[1]))
    fig, ax = plt.subplots(figsize=(6.2, 4.2))
    ax.plot(fine, curve["bound"], "-", color="C0", label=f"bound ({claim.rel})")
    if exact is not None:
        ax.plot(fine, curve["exact"], "--", color="k", lw=1.2, label="exact")
    pos = [r for r in rows if r["estimate"] > 0]
    zero = [r for r in rows if r["estimate"] <= 0]
    if pos:
        ax.errorbar([r["x"] for r in pos], [r["estimate"] for r in pos],
                    yerr=[[r["estimate"] - max(r["lo"], r["estimate"] * 1e-3) for r in pos],
                          [r["hi"] - r["estimate"] for r in pos]],
                    fmt="o", color="C3", ms=4, capsize=2, label=f"simulation ({samples} rows, 95% CI)")
    if zero:
        ax.plot([r["x"] for r in zero], [r["hi"] for r in zero], "v", color="C3", ms=6, mfc="none",
                label="simulation: estimate 0, upper end of CI")
    ax.axhline(1.0, color="0.6", lw=0.8, ls=":")
    ax.set_yscale("log")
    finite = [v for v in curve["bound"] + curve["exact"] + [r["hi"] for r in rows] if v > 0 and math.isfinite(v)]
    if finite:  # a probability bound above 1 is trivially true: the axis stops just above 1
        ax.set_ylim(max(min(finite) / 3, 1e-300), min(max(finite) * 1.5, 2.0))
    if integer:
        ax.set_xscale("log", base=2)
    others = ", ".join(f"{k}={base[k]:g}" for k in sorted(base) if k != xname)
    sym = next(s for s in claim.free_symbols if s.name == xname)
    ax.set_xlabel(_mathtext(sp.latex(sym)))
    ax.set_ylabel(_mathtext(sp.latex(claim.lhs) if not hasattr(claim.lhs, "latex") else claim.lhs.latex()))
    ax.set_title(f"{claim.id}\n{others}", fontsize=9)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths = [save_figure(fig, f"{prefix}.{ext}") for ext in ("png", "pdf")]
    plt.close(fig)
    return paths, rows


def _overrides(items):
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"-p {item!r}: expected NAME=VALUE")
        try:
            out[name.strip()] = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            raise UsageError(f"-p {item!r}: VALUE must be a number") from None
    return out


def run(args):
    """Run ``plot-bound``; return the exit code."""
    import attnsparse as asp

    from .files import prepare_file

    try:
        claim = asp.get(args.id)
    except KeyError as e:
        raise UsageError(e.args[0]) from None
    if not 2 <= args.points <= 40:
        raise UsageError(f"--points must be in 2..40, got {args.points}")
    if not 100 <= args.samples <= 10**7:
        raise UsageError(f"--samples must be in 100..10^7, got {args.samples}")
    if args.seed < 0:
        raise UsageError(f"--seed must be an integer >= 0, got {args.seed}")
    prefix = args.out or f"plot-bound-{args.id}"
    for ext in ("png", "pdf"):
        prepare_file(f"{prefix}.{ext}")
    try:
        paths, rows = plot_bound(claim, prefix, x=args.x, lo_hi=args.range, points=args.points,
                                 samples=args.samples, seed=args.seed, overrides=_overrides(args.param))
    except ValueError as e:
        raise UsageError(str(e)) from None
    print(f"{'x':>10s} {'bound':>11s} {'exact':>11s} {'estimate':>11s} {'bound/est':>10s}")
    for r in rows:
        ratio = r["bound"] / r["estimate"] if r["estimate"] > 0 else math.inf
        print(f"{r['x']:10.4g} {r['bound']:11.4g} {r['exact']:11.4g} {r['estimate']:11.4g} {ratio:10.3g}")
    print("plot written to " + " and ".join(paths))
    return EXIT_OK
