"""Theory against simulation: verdicts with a stated false-alarm level.

Design (docs/statistics.md gives the full account):

* A check simulates the claim's left-hand side in looks: ``initial`` rows, then batches
  that double the total (a deterministic schedule: look ``l`` ends at ``initial 2^l``
  rows), until the claim is decided, ``max_samples`` rows are reached or the next look
  would overrun ``max_seconds``. The time budget is measured from the first simulated row
  (warm-up and probe included) and cuts only at a look boundary, so the same seed and the
  same number of rows give the same result on any machine and thread count. A model whose
  probe rows or first look cannot fit the budget is refused up front (ValueError).
* Methods (``CheckResult.method``):

  - ``"betting"``: the mean of a statistic with a declared range (``Stat.value_range``),
    ``P(event)``, and two-model equalities of such means (paired differences). The betting
    confidence sequence of :mod:`.confseq` holds at every sample size at once, so every look
    tests at the full ``alpha`` and the p-value is the anytime-valid ``min(1, 1/max capital)``.
    Guaranteed: a true claim is refuted with probability at most ``alpha``.
  - ``"lipschitz"``: the mean of a statistic that is ``L``-Lipschitz in the Gaussian input
    (``Stat.lipschitz``: ``log_partition``, ``max_logit``, ``logit(j)`` with ``L = sigma`` and
    ``top_gap`` with ``L = sqrt(2) sigma``, under ``IIDLogits`` without ``scale_dof``). The
    values are clipped to ``theory +- (LIPSCHITZ_Z L + tol)``, a window fixed before the data,
    and the betting sequence of the clipped values is widened by the clipping bias, which
    the Gaussian concentration of Lipschitz functions bounds by ``L sqrt(2 pi) Phibar(g / L)``
    at a distance ``g`` from the window's edge (:class:`.confseq.ClippedCS`). Guaranteed at
    any stopping time, like ``betting``, whether or not the claim is true. Two Lipschitz sides
    run on paired differences clipped around 0.
  - ``"order statistics"``: quantiles; exact binomial tests, each look at ``alpha / L``
    (Bonferroni over the ``L`` looks of the fixed schedule). Guaranteed as well.
  - ``"asymptotic"``: everything else (moments, ``partition``, ``Var``, user statistics without
    a range, and the statistics above under the bilinear and self-attention models, which
    have no Lipschitz constant): Student t / normal intervals at ``alpha / L`` per look. The
    level holds only as far as the central limit theorem does at the sample size.

* ``refuted``: the p-value of "the claim holds" is at most the look's level. ``consistent``:
  the confidence set lies inside the tolerance band ``theory +- max(rtol |theory|, atol)``
  (``==``, ``approx``) or on the right side of the bound (``<=``, ``>=``). ``inconclusive``:
  neither within the budget; its reason also says about how many rows would decide it
  (from the current interval's width, assuming the ``1/sqrt(rows)`` law, so it errs high)
  and with which effort. Bound checks report ``margin`` (bound - estimate, positive
  when the bound holds) and ``margin_bound`` (the margin at the confidence bound) in
  ``extra``, and ``tightness`` (estimate / bound).
* The engine takes a plain description, a :class:`CheckSpec`, and returns a
  :class:`CheckResult`. Building the description from a claim is the claims' business
  (``attnsparse.proofs.checking``).
* Random streams: look ``l`` of side ``s`` draws batch ``2 l + s`` of the seed; warm-up
  rows draw their own batch (:mod:`.streams`).
* A suite of checks is corrected with Holm's step-down method over the reported
  p-values; a refutation that does not survive the correction is reported as
  inconclusive, with that reason.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from . import config
from .confseq import ClippedCS, betting_cs
from .design import WidthLaw
from .simulate import _symbol_keys, simulate_stats
from .statistics import P, Functional, quantile
from .streams import CHECK_WARM_UP, check_batch, check_seed

__all__ = ["CheckSpec", "CheckResult", "run_check", "check_settings", "holm", "RELS", "EXPECT"]

#: relations a check decides (a second functional needs "==" or "approx")
RELS = ("==", "approx", "<=", ">=")
#: verdicts a catalogue may expect
EXPECT = ("consistent", "refuted")


@dataclass(frozen=True)
class CheckSpec:
    """A plain description of one check at one parameter point.

    Parameters
    ----------
    claim_id : str
        Name reported in the result.
    lhs : Functional
        The simulated side (``E``, ``P``, ``Var`` or ``quantile`` of a statistic).
    model : Model
        The model simulated, unless a functional names its own (``functional.model``).
    values : dict {Symbol: number}
        The bound parameters of the model and the functionals.
    rel : {"==", "approx", "<=", ">="}
        The relation of ``lhs`` to the theory value (or to ``rhs``).
    theory : float or mpf, optional
        The theory value; exactly one of ``theory`` and ``rhs`` is given.
    rhs : Functional, optional
        A second simulated functional (two-model equalities; ``rel`` "==" or "approx").
    rtol, atol : float
        Tolerance band ``theory +- max(rtol |theory|, atol)``.
    params : dict {name: number}
        The parameter point as given, reported in the result.
    expect : {"consistent", "refuted"}
        The verdict the catalogue expects (:attr:`CheckResult.unexpected`).
    seed, effort, alpha
        Master seed (>= 0), effort preset or dict (``initial``, ``max_samples``,
        ``max_seconds``), false-alarm level (default :data:`config.ALPHA`).
    """

    claim_id: str
    lhs: Functional
    model: object
    values: dict
    rel: str
    theory: object = None
    rhs: Functional | None = None
    rtol: float = 0.0
    atol: float = 0.0
    params: dict = field(default_factory=dict)
    expect: str = "consistent"
    seed: int = 0
    effort: object = "quick"
    alpha: float | None = None

    def __post_init__(self):
        if self.rel not in RELS:
            raise ValueError(f"rel must be one of {RELS}, got {self.rel!r}")
        if (self.theory is None) == (self.rhs is None):
            raise ValueError("give exactly one of theory (a number) and rhs (a second functional)")
        if self.rhs is not None and self.rel not in ("==", "approx"):
            raise ValueError("a functional on the right-hand side needs rel '==' or 'approx'")
        if self.expect not in EXPECT:
            raise ValueError(f"expect must be one of {EXPECT}, got {self.expect!r}")


@dataclass
class CheckResult:
    """The outcome of checking one claim at one parameter point."""

    claim_id: str
    params: dict
    verdict: str
    theory: float
    estimate: float
    stderr: float
    ci: tuple
    level: float
    z: float
    p_value: float
    samples: int
    looks: int
    seed: int
    elapsed: float
    rel: str
    tolerance: float
    reason: str = ""
    tightness: float | None = None
    extra: dict = field(default_factory=dict)
    expect: str = "consistent"
    method: str = "asymptotic"

    @property
    def expected_refutation(self):
        """Refuted, and the catalogue expects it (a documented disagreement)."""
        return self.verdict == "refuted" and self.expect == "refuted"

    @property
    def unexpected(self):
        """The verdict contradicts the catalogue: a refutation not marked as expected, or an
        expected refutation that came out consistent (like a strict xfail)."""
        return ((self.verdict == "refuted" and not self.expected_refutation)
                or (self.verdict == "consistent" and self.expect == "refuted"))

    def to_dict(self):
        """A JSON-ready dict. ``expect`` is written into ``extra`` (where report.json has always
        kept it), not as a key of its own."""
        d = asdict(self)
        d["ci"] = [x if math.isfinite(x) else None for x in self.ci]  # None: an unbounded side
        d["params"] = {k: (float(v) if not isinstance(v, (int, str)) else v) for k, v in self.params.items()}
        d["extra"]["expect"] = d.pop("expect")
        return d

    def __repr__(self):
        lo, hi = self.ci
        return (f"CheckResult({self.claim_id} @ {_fmt_params(self.params)}: {self.verdict}; theory "
                f"{self.theory:.6g}, estimate {self.estimate:.6g} [{lo:.6g}, {hi:.6g}], z={self.z:.2f}, "
                f"p={self.p_value:.2g}, n={self.samples}, seed={self.seed})")

    def _repr_latex_(self):
        lo, hi = self.ci
        return (r"$\text{%s}: \text{theory } %.6g,\ \text{estimate } %.6g\ [%.6g, %.6g]\ "
                r"(%g\%%\ \text{CI}),\ \textbf{%s}$" % (self.claim_id.replace("_", r"\_"), self.theory,
                                                        self.estimate, lo, hi, 100 * self.level, self.verdict))


def _fmt_params(params):
    return ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}" for k, v in params.items())


def _looks(initial, max_samples):
    return max(1, int(math.floor(math.log2(max_samples / initial))) + 1)


def _int_setting(e, key, lo):
    v = e[key]
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ValueError(f"effort: {key} must be an integer >= {lo}, got {v!r}")
    return int(v)


def _effort(effort):
    if isinstance(effort, dict):
        bad = set(effort) - {"initial", "max_samples", "max_seconds"}
        if bad:
            raise ValueError(f"effort: unknown key(s) {sorted(bad)}; use initial, max_samples, max_seconds")
        e = dict(config.EFFORT["quick"], **effort)
    elif isinstance(effort, str) and effort in config.EFFORT:
        e = dict(config.EFFORT[effort])
    else:
        raise ValueError(f"effort must be one of {sorted(config.EFFORT)} or a dict, got {effort!r}")
    if isinstance(e["initial"], (int, np.integer)) and not isinstance(e["initial"], bool) and e["initial"] < 2:
        raise ValueError(f"effort: need 2 <= initial <= max_samples, got initial={e['initial']!r}")
    e["initial"] = _int_setting(e, "initial", 2)
    e["max_samples"] = _int_setting(e, "max_samples", 2)
    if e["initial"] > e["max_samples"]:
        raise ValueError(f"effort: need initial <= max_samples, got initial={e['initial']} and "
                         f"max_samples={e['max_samples']}")
    ms = e["max_seconds"]
    if isinstance(ms, bool) or not isinstance(ms, numbers.Real) or not (float(ms) > 0 and math.isfinite(ms)):
        raise ValueError(f"effort: max_seconds must be a finite number > 0, got {ms!r}")
    e["max_seconds"] = float(ms)
    return e


def _draws_per_row(bm):
    """Gaussian draws of one row of a bound model (the cost model of the up-front refusal)."""
    if bm.d <= 1 and bm.mat.size == 0:
        return bm.n + 1
    return bm.n * bm.d + bm.d + bm.mat.size


class _Side:
    """Simulated values of one functional, accumulated over looks."""

    def __init__(self, functional, model, values, seed, stream):
        self.f, self.model, self.values = functional, functional.model or model, values
        self.seed, self.stream, self.x = seed, stream, np.empty(0)
        self.keys = _symbol_keys(values, functional)
        self.bound = self.model.bind(_symbol_keys(values, self.model))

    @property
    def range(self):
        return self.f.value_range(self.keys, self.bound.n) if not isinstance(self.f, quantile) else None

    @property
    def lipschitz(self):
        """Lipschitz constant of the rows in the Gaussian input (``E`` of some IID statistics), or None."""
        return self.f.lipschitz(self.bound)

    def warm_up(self, rows=config.PROBE_ROWS):
        """Run the kernels on a few rows (compiles them; the numbers are discarded)."""
        simulate_stats(self.model, [self.f.stat], rows, self.seed, self.values, batch=CHECK_WARM_UP)

    def extend(self, look, size):
        self.x = np.concatenate([self.x, self.draw(size, check_batch(look, self.stream), look)])

    def draw(self, size, batch, look=0):
        """``size`` validated values of the functional from random-stream batch ``batch``."""
        raw = simulate_stats(self.model, [self.f.stat], size, self.seed, self.values, batch=batch)[:, 0]
        bad = ~np.isfinite(raw)
        if bad.any():
            what = "NaN" if np.isnan(raw).any() else "inf"
            raise ValueError(f"the statistic {self.f.stat!r} returned {what} on {int(bad.sum())} of {size} rows "
                             f"(look {look}); a check needs finite values")
        v = self.f.values(raw, self.keys)
        rng = self.range
        if rng is not None and not isinstance(self.f, P):
            lo, hi = rng
            slack = 1e-9 * (hi - lo)
            if v.min() < lo - slack or v.max() > hi + slack:
                raise ValueError(f"the statistic {self.f.stat!r} returned {float(v.min()):.6g} .. "
                                 f"{float(v.max()):.6g}, outside its declared range [{lo:g}, {hi:g}]")
        return v


def _band(theory, tol):
    return theory - tol, theory + tol


def _decide_betting(cs, theory, rel, tol, alpha):
    """(decision, p, ci, level) for one look of a betting check: ``cs`` is the confidence
    sequence of the rows (:class:`.confseq.BettingCS` or :class:`.confseq.ClippedCS`)."""
    if rel == "==":
        p = cs.pvalue(theory, "two-sided")
        ci = cs.interval()
        lo_b, hi_b = _band(theory, tol)
        ok = ci[0] >= lo_b and ci[1] <= hi_b
    elif rel == "approx":
        lo_b, hi_b = _band(theory, tol)
        # the band holds the mean: K+ at its top and K- at its bottom are both supermartingales
        p = min(1.0, 2 * min(cs.pvalue(hi_b, "greater"), cs.pvalue(lo_b, "less")))
        ci = cs.interval()
        ok = ci[0] >= lo_b and ci[1] <= hi_b
    elif rel == "<=":
        p = cs.pvalue(theory, "greater")
        ci = (-math.inf, cs.upper())
        ok = ci[1] <= theory + tol
    else:
        p = cs.pvalue(theory, "less")
        ci = (cs.lower(), math.inf)
        ok = ci[0] >= theory - tol
    return ("refuted" if p <= alpha else "consistent" if ok else None), p, ci, 1 - alpha


def _decide_one_sample(f, x, theory, rel, tol, a_look):
    """(decision, p, ci, level) for one look of a one-sample check (asymptotic or quantile)."""
    level = 1 - a_look
    if rel == "==":
        p = f.pvalue(x, theory, "two-sided")
        ci = f.interval(x, level)
        ok = ci[0] >= theory - tol and ci[1] <= theory + tol
    elif rel == "approx":
        lo_b, hi_b = theory - tol, theory + tol
        est = f.estimate(x, 0.5).value
        if est > hi_b:
            p = min(1.0, 2 * f.pvalue(x, hi_b, "greater"))
        elif est < lo_b:
            p = min(1.0, 2 * f.pvalue(x, lo_b, "less"))
        else:
            p = 1.0
        ci = f.interval(x, level)
        ok = ci[0] >= lo_b and ci[1] <= hi_b
    elif rel == "<=":
        p = f.pvalue(x, theory, "greater")
        ci = f.interval(x, level, side="upper")
        ok = ci[1] <= theory + tol
    else:  # ">="
        p = f.pvalue(x, theory, "less")
        ci = f.interval(x, level, side="lower")
        ok = ci[0] >= theory - tol
    return ("refuted" if p <= a_look else "consistent" if ok else None), p, ci, level


def _decide_two_sample(left, right, rel, rtol, atol, a_look):
    """Difference of two means (E or P functionals), normal approximation."""
    from scipy.stats import norm

    el, er = left.f.estimate(left.x, 0.5), right.f.estimate(right.x, 0.5)
    diff, se = el.value - er.value, math.hypot(el.stderr, er.stderr)
    tol = max(rtol * abs(er.value), atol)
    q = norm.ppf(1 - a_look / 2)
    ci = (diff - q * se, diff + q * se)  # for lhs - rhs; reported shifted by the rhs estimate
    if rel == "==":
        p = float(2 * norm.sf(abs(diff) / se)) if se > 0 else float(diff == 0)
    else:
        p = float(min(1.0, 2 * norm.sf((abs(diff) - tol) / se))) if abs(diff) > tol else 1.0
    ok = ci[0] >= -tol and ci[1] <= tol
    return ("refuted" if p <= a_look else "consistent" if ok else None), p, ci, 1 - a_look, el, er, tol


def _decide_two_sample_betting(left, right, rel, rtol, atol, alpha, method):
    """Paired differences (rows of the two sides are independent draws, so the pairs are
    i.i.d.): the betting sequence on ``x_L - x_R``. Bounded means use the range of the
    difference; Lipschitz statistics (``method == "lipschitz"``) clip the difference, which
    is ``hypot(L_L, L_R)``-Lipschitz in the joint Gaussian input, around 0: the mean of
    the difference under ``==``, a centre fixed before the data."""
    er = float(np.mean(right.x))
    tol = max(rtol * abs(er), atol)
    cs = _anytime_cs((left, right), method, 0.0, atol, alpha)
    decision, p, ci, level = _decide_betting(cs, 0.0, "==" if rel == "==" else "approx", tol, alpha)
    return decision, p, ci, level, tol, cs


def _rows_to_decide(est, ci, theory, rel, tol, rows, law):
    """About how many rows would decide a check whose interval at ``rows`` rows is ``ci``, or None.

    The interval must shrink to the distance ``need`` between the estimate and the nearer
    decision edge (the band's edge to confirm, the theory value or the band's far edge to
    refute). How it shrinks is the check's width law (:class:`.design.WidthLaw`, the one
    model of rows-to-decide, which design uses too), calibrated to the interval at ``rows``.
    It assumes the estimate stays where it is; at least the next look (``2 rows``).
    """
    d = est - theory
    if rel == "<=":
        w, need = ci[1] - est, max(tol - d, d)
    elif rel == ">=":
        w, need = est - ci[0], max(tol + d, -d)
    else:
        w = max(est - ci[0], ci[1] - est)
        need = max(tol - abs(d), abs(d)) if rel == "==" else abs(tol - abs(d))
    if not (math.isfinite(w) and w > 0 and need > 0):
        return None
    return max(2.0 * rows, law.calibrated(w, rows).rows_for(need))


def _about(x):
    """``x`` to two or three significant digits with a k / M / G suffix: 1.1 M, 350 k, 12, 0.004."""
    if x < 1:
        return f"{x:.2g}"
    for scale, unit in ((1e9, " G"), (1e6, " M"), (1e3, " k"), (1.0, "")):
        if x >= scale or scale == 1.0:
            v = x / scale
            return f"{v:.{max(0, 1 - int(math.floor(math.log10(max(v, 1.0)))))}f}{unit}"


def _what_would_decide(est, ci, theory, rel, tol, rows, seconds_per_row, e, law):
    """The tail of an inconclusive reason: the rows that would decide the check, and how to run them."""
    need = _rows_to_decide(est, ci, theory, rel, tol, rows, law)
    if need is None or not math.isfinite(need):
        return ("; the estimate sits on the edge of the tolerance band, so more rows may not decide it"
                if math.isfinite(ci[0]) or math.isfinite(ci[1]) else "")
    full = config.EFFORT["full"]
    secs = need * seconds_per_row
    out = f"; needs about {_about(need)} rows (about {_about(secs)} s at the measured speed)"
    if need <= full["max_samples"] and secs <= full["max_seconds"] and (
            e["max_samples"] < full["max_samples"] or e["max_seconds"] < full["max_seconds"]):
        return out + ": run with effort='full'"
    return out + ": raise effort['max_samples'] and effort['max_seconds'] beyond that"


def check_settings(seed=0, effort="quick", alpha=None):
    """Validate the settings of a check: ``(seed, budget dict, alpha)``, alpha defaulted."""
    alpha = config.ALPHA if alpha is None else alpha
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < float(alpha) < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    return check_seed(seed), _effort(effort), float(alpha)


def _method(spec, sides):
    if isinstance(spec.lhs, quantile):
        return "order statistics"
    if all(s.range is not None for s in sides):
        return "betting"
    if all((s.lipschitz or 0) > 0 for s in sides):
        return "lipschitz"
    return "asymptotic"


def _anytime_cs(sides, method, theory, tol, alpha):
    """The confidence sequence of a betting or Lipschitz check: on the rows of one side, or on
    the paired differences ``x_L - x_R`` of two (centre 0; ``tol`` is then ``atol``, fixed before
    the data). A Lipschitz clip window is ``centre +- z L`` with ``z = LIPSCHITZ_Z + tol / L``:
    wide enough that the clipping bias at the band's edges is at most ``B(LIPSCHITZ_Z L)``; the
    difference of two sides is ``hypot(L_L, L_R)``-Lipschitz in the joint Gaussian input."""
    if len(sides) == 1:
        x, lip, rng = sides[0].x, sides[0].lipschitz, sides[0].range
    else:
        left, right = sides
        x = left.x - right.x
        lip = math.hypot(left.lipschitz or 0, right.lipschitz or 0)
        rng = (left.range[0] - right.range[1], left.range[1] - right.range[0]) if method == "betting" else None
    if method == "lipschitz":
        return ClippedCS(x, theory, lip, config.LIPSCHITZ_Z + tol / lip, alpha)
    return betting_cs(x, rng[0], rng[1], alpha)


def _width_law(sides, method, cs, rel, alpha, looks):
    """The :class:`.design.WidthLaw` of a check (uncalibrated): the betting law on the values and
    range the confidence sequence ``cs`` runs on (the clip window for Lipschitz), else ``1/sqrt``."""
    side = {"<=": "upper", ">=": "lower"}.get(rel, "two")
    if cs is not None:
        b = (cs.inner if isinstance(cs, ClippedCS) else cs).b
        return WidthLaw("betting", float(np.var(b.y)) * b.span ** 2, alpha, (b.lo, b.hi),
                        float(b.from_unit(np.mean(b.y))), side)
    x = sides[0].x - sides[1].x if len(sides) == 2 else sides[0].x
    return WidthLaw("asymptotic", float(np.var(x, ddof=1)), alpha, side=side, looks=looks)


def _look(spec, method, sides, theory, tol, alpha, a_look):
    """One look at the rows of ``sides``: ``(verdict or None, p, ci, level, est, se, theory, tol, z, cs)``
    (``theory`` is the right-hand side's estimate for two models; ``cs`` None unless anytime)."""
    anytime, cs = method in ("betting", "lipschitz"), None
    if len(sides) == 2:
        left, right = sides
        if anytime:
            verdict, p, ci, level, tol, cs = _decide_two_sample_betting(left, right, spec.rel, spec.rtol, spec.atol,
                                                                        alpha, method)
            el, er = spec.lhs.estimate(left.x, 0.5), spec.rhs.estimate(right.x, 0.5)
        else:
            verdict, p, ci, level, el, er, tol = _decide_two_sample(left, right, spec.rel, spec.rtol, spec.atol,
                                                                    a_look)
        est, se, theory = el.value, el.stderr, er.value
        ci = (er.value + ci[0], er.value + ci[1])
        z = (el.value - er.value) / math.hypot(el.stderr, er.stderr) if el.stderr or er.stderr else 0.0
    else:
        if anytime:
            cs = _anytime_cs(sides, method, theory, tol, alpha)
            verdict, p, ci, level = _decide_betting(cs, theory, spec.rel, tol, alpha)
        else:
            verdict, p, ci, level = _decide_one_sample(spec.lhs, sides[0].x, theory, spec.rel, tol, a_look)
        est_o = spec.lhs.estimate(sides[0].x, 0.5)
        est, se = est_o.value, est_o.stderr
        z = (est - theory) / se if se > 0 else (0.0 if est == theory else math.copysign(math.inf, est - theory))
    return verdict, p, ci, level, est, se, theory, tol, z, cs


def _sides(spec, seed):
    left = _Side(spec.lhs, spec.model, spec.values, seed, stream=0)
    return (left,) if spec.rhs is None else (left, _Side(spec.rhs, spec.model, spec.values, seed, stream=1))


def _target(spec):
    """(theory, tol) of a one-sample check; (nan, nan) for two models (set at each look)."""
    if spec.rhs is not None:
        return math.nan, math.nan
    theory = float(spec.theory)
    return theory, max(spec.rtol * abs(theory), spec.atol)


#: the random-stream batch of design pilots (apart from the check looks, which use 2 l + s)
PILOT_BATCH = 2**20


def pilot_look(spec, rows, seed=0):
    """The engine's look at ``rows`` pilot rows of ``spec`` (random-stream batch ``PILOT_BATCH + s``
    for side ``s``, apart from the check's looks): ``(method, law, estimate, theory, tol)`` with
    the check's own sides, method and confidence set, and its width law calibrated to the
    half-width the check would report at ``rows`` rows (:mod:`.design`)."""
    seed, e, alpha = check_settings(seed, spec.effort, spec.alpha)
    sides = _sides(spec, seed)
    for s, side in enumerate(sides):
        side.x = side.draw(rows, PILOT_BATCH + s)
    method = _method(spec, sides)
    looks = _looks(e["initial"], e["max_samples"])
    a_look = alpha if method in ("betting", "lipschitz") else alpha / looks
    theory, tol = _target(spec)
    _, _, ci, _, est, _, theory, tol, _, cs = _look(spec, method, sides, theory, tol, alpha, a_look)
    law = _width_law(sides, method, cs, spec.rel, alpha, looks)
    hw = ci[1] - est if spec.rel == "<=" else est - ci[0] if spec.rel == ">=" else max(est - ci[0], ci[1] - est)
    return method, law.calibrated(hw, rows), est, theory, tol


def run_check(spec: CheckSpec) -> CheckResult:
    """Run the check described by ``spec``. See the module docstring."""
    seed, e, alpha = check_settings(spec.seed, spec.effort, spec.alpha)
    rel = spec.rel
    t0 = time.perf_counter()
    theory, tol = _target(spec)
    sides = _sides(spec, seed)
    left = sides[0]
    # refuse up front what cannot fit: the probe rows at the fastest plausible speed
    floor = sum(_draws_per_row(s.bound) for s in sides) * config.SECONDS_PER_DRAW_FLOOR
    if floor * config.PROBE_ROWS > e["max_seconds"]:
        raise ValueError(f"one row of this model takes at least {floor:.3g} s ({_draws_per_row(left.bound):.3g} "
                         f"Gaussian draws), so the {config.PROBE_ROWS} probe rows alone exceed the time budget "
                         f"max_seconds={e['max_seconds']:g}; raise effort['max_seconds'] or use a smaller model")
    method = _method(spec, sides)
    # warm-up (compiles the kernels on first use), then a timed probe; both count against
    # the budget
    for side in sides:
        side.warm_up()
    t_probe = time.perf_counter()
    for side in sides:
        side.warm_up()
    per_row = (time.perf_counter() - t_probe) / config.PROBE_ROWS
    if per_row * config.PROBE_ROWS < 0.5:  # fixed costs dominate so few rows: time one chunk
        t_probe = time.perf_counter()
        for side in sides:
            side.warm_up(config.CHUNK_ROWS)
        per_row = (time.perf_counter() - t_probe) / config.CHUNK_ROWS
    if per_row * config.PROBE_ROWS > e["max_seconds"] / 2:
        raise ValueError(f"one row takes about {per_row:.3g} s (measured on {config.PROBE_ROWS} rows): the time "
                         f"budget max_seconds={e['max_seconds']:g} does not fit a check; raise effort['max_seconds'] "
                         f"or use a smaller model")
    n_looks = _looks(e["initial"], e["max_samples"])
    anytime = method in ("betting", "lipschitz")  # valid at every look: the full alpha
    a_look = alpha if anytime else alpha / n_looks
    p_min, verdict, look, size, reason = 1.0, None, 0, e["initial"], ""
    extra = {}
    while True:
        t_batch = time.perf_counter()
        for side in sides:
            side.extend(look, size)
        verdict, p, ci, level, est, se, theory, tol, z, cs = _look(spec, method, sides, theory, tol, alpha, a_look)
        p_min = min(p_min, p)
        look += 1
        if verdict is not None:
            break
        total = len(left.x)
        spent = time.perf_counter() - t0
        batch_time = time.perf_counter() - t_batch
        if look >= n_looks or 2 * total > e["max_samples"]:
            verdict, reason = "inconclusive", f"sample budget of {e['max_samples']} rows reached"
            break
        if spent + 2 * batch_time > e["max_seconds"]:
            verdict = "inconclusive"
            reason = (f"time budget of {e['max_seconds']:g} s reached after {total} rows (the next look, "
                      f"{2 * total} rows, would take about {2 * batch_time:.3g} s more)")
            break
        size = total  # the next batch doubles the total
    if verdict == "inconclusive":
        law = _width_law(sides, method, cs, rel, alpha, n_looks)
        reason += _what_would_decide(est, ci, theory, rel, tol, len(left.x), batch_time / size, e, law)
    if verdict == "consistent":
        reason = "interval within tolerance" if rel in ("==", "approx") else "bound holds"
    elif verdict == "refuted":
        reason = f"p = {p:.2g} <= {'alpha' if anytime else 'alpha/L'} = {a_look:.2g}"
    tight = est / theory if rel in ("<=", ">=") and theory else None
    if rel in ("<=", ">="):
        sign = 1.0 if rel == "<=" else -1.0
        extra["margin"] = float(sign * (theory - est))
        bound_side = ci[1] if rel == "<=" else ci[0]
        extra["margin_bound"] = float(sign * (theory - bound_side))  # margin at the confidence bound
    # the sequential p-value: anytime-valid for betting (min over looks of 1/max capital),
    # Bonferroni over looks otherwise
    p_report = p_min if anytime else min(1.0, p_min * n_looks)
    return CheckResult(spec.claim_id, dict(spec.params), verdict, theory, est, se, tuple(map(float, ci)), level,
                       float(z), float(p_report), len(left.x), look, seed,
                       time.perf_counter() - t0, rel, float(tol), reason, tight, extra, expect=spec.expect,
                       method=method)


def holm(results, alpha=None):
    """Holm's step-down correction over a suite.

    Returns a new list in which the refutations that do not survive the correction are
    copies with verdict ``inconclusive`` and the reason; ``results`` is not changed.
    """
    alpha = config.ALPHA if alpha is None else alpha
    m = len(results)
    order = sorted(range(m), key=lambda i: results[i].p_value)
    rejected = set()
    for rank, i in enumerate(order):
        if results[i].p_value <= alpha / (m - rank):
            rejected.add(i)
        else:
            break
    out = list(results)
    for i, r in enumerate(results):
        if r.verdict == "refuted" and i not in rejected:
            out[i] = replace(r, verdict="inconclusive", extra=dict(r.extra),
                             reason=f"refuted alone, but not after Holm correction over {m} checks "
                                    f"(p = {r.p_value:.2g})")
    return out
