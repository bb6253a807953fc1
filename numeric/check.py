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

Modules: this one runs the look loop and builds the :class:`CheckResult`; :mod:`.looks`
chooses the method and decides each look; :mod:`.reasons` writes the rows-to-decide tail
of an inconclusive reason.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from . import config
from .looks import look_at, method_of, width_law
from .reasons import what_would_decide
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


def check_settings(seed=0, effort="quick", alpha=None):
    """Validate the settings of a check: ``(seed, budget dict, alpha)``, alpha defaulted."""
    alpha = config.ALPHA if alpha is None else alpha
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < float(alpha) < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    return check_seed(seed), _effort(effort), float(alpha)


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
    method = method_of(spec, sides)
    looks = _looks(e["initial"], e["max_samples"])
    a_look = alpha if method in ("betting", "lipschitz") else alpha / looks
    theory, tol = _target(spec)
    _, _, ci, _, est, _, theory, tol, _, cs = look_at(spec, method, sides, theory, tol, alpha, a_look)
    law = width_law(sides, method, cs, spec.rel, alpha, looks)
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
    method = method_of(spec, sides)
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
        verdict, p, ci, level, est, se, theory, tol, z, cs = look_at(spec, method, sides, theory, tol, alpha, a_look)
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
        law = width_law(sides, method, cs, rel, alpha, n_looks)
        reason += what_would_decide(est, ci, theory, rel, tol, len(left.x), batch_time / size, e, law)
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
