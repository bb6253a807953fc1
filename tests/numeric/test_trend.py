"""Trend checks: the exponent fit, the decision rules, one claim end to end, and mutants.

Mutant tests: for every law, a claim predicting the opposite of what the registered claim
predicts must come out ``refuted`` on the quick grid (4 row lengths x 600 rows, seed 0).
Each trend check's false-alarm level is alpha = 1e-3 (one bootstrap interval, 2000
resamples); a mutant passes (is wrongly not refuted) only if the data are ambiguous, which
the registered claim's own verdict at the same seed rules out.
"""

import numpy as np
import pytest

from attnsparse.numeric import trend as T


def test_fit_exponent_recovers_a_constructed_power_law():
    rng = np.random.default_rng(0)
    ns = [2**e for e in (8, 10, 12, 14)]
    samples = [n ** -0.3 * rng.exponential(1.0, 4000) for n in ns]  # mean exactly n^-0.3
    assert abs(T.fit_exponent(ns, samples) - (-0.3)) < 0.03


def test_fit_exponent_input_errors():
    with pytest.raises(ValueError, match="two distinct"):
        T.fit_exponent([8, 8], [np.ones(3), np.ones(3)])
    with pytest.raises(ValueError, match="positive mean"):
        T.fit_exponent([8, 16], [np.ones(3), -np.ones(3)])


@pytest.mark.parametrize("law,lo,hi,verdict", [
    ("decreasing", -0.5, -0.2, "consistent"), ("decreasing", 0.1, 0.3, "refuted"),
    ("decreasing", -0.1, 0.1, "inconclusive"), ("bounded", -0.1, 0.01, "consistent"),
    ("bounded", 0.2, 0.4, "refuted"), ("not_decreasing", 0.0, 0.2, "consistent"),
    ("not_decreasing", -0.5, -0.3, "refuted"), ("exponent", -0.32, -0.28, "consistent"),
    ("exponent", -0.9, -0.7, "refuted"), ("less", -0.2, -0.1, "consistent"), ("less", 0.1, 0.2, "refuted")])
def test_decision_rules(law, lo, hi, verdict):
    assert T._decide(law, lo, hi, -0.3, 0.05)[0] == verdict


def test_trend_claim_end_to_end_and_parameter_errors():
    import attnsparse as asp

    c = asp.get("sparsity.log_insufficient")
    r = c.check(seed=1, effort={"log2n": (8, 10, 12), "rows": 200}, gamma=0.5)
    # claim.grid is None here, so the effort's grid is used
    assert r.rel == "trend" and r.verdict == "consistent", r
    assert r.extra["n"] == [256, 1024, 4096] and r.samples == 600
    with pytest.raises(ValueError, match="trend variable"):
        c.check(n=64, gamma=0.5)
    with pytest.raises(ValueError, match="assumption"):
        c.check(gamma=1.5)


def _mutant(base_id, **kw):
    """A TrendClaim like the registered ``base_id`` with some fields replaced (not registered)."""
    import attnsparse as asp
    from attnsparse.proofs.kinds import TrendClaim

    c = asp.get(base_id)
    fields = dict(model=c.model, lhs=c.lhs, law=c.law, tol=c.tol, rhs=c._rhs_src, compare=c.compare, grid=c.grid,
                  statement="mutant", provenance="user", assumptions=())
    fields.update(kw)
    return TrendClaim(base_id + "_mutant", **fields)


# registered claim, its check point, its verdict at seed 0; the mutant, and the mutant's verdict
MUTANTS = [
    # decreasing: tau(n^C) with C < 1 - gamma does not decrease: "decreasing" there is refuted
    ("sparsity.nC_sparse", dict(gamma=0.8, C=0.7), "consistent", {}, dict(gamma=0.5, C=0.3), "refuted"),
    # not_decreasing: tau(n^C) with C > 1 - gamma does decrease: "not decreasing" there is refuted
    ("sparsity.nC_threshold", dict(gamma=0.5, C=0.3), "consistent", {}, dict(gamma=0.8, C=0.7), "refuted"),
    # not_decreasing (o(log n) insufficient): "ceil(ln n) entries suffice" (tau decreasing) is refuted
    ("sparsity.log_insufficient", dict(gamma=0.5), "consistent", dict(law="decreasing"), dict(gamma=0.5), "refuted"),
    # decreasing kept mass T(ln n) -> 0: "T(ln n) does not decrease" is refuted
    ("sparsity.log_tau_to_one", dict(gamma=0.5), "consistent", dict(law="not_decreasing"), dict(gamma=0.5),
     "refuted"),
    # exponent: predicting tau bounded (exponent 0) is refuted
    ("sparsity.nC_rate", dict(gamma=0.8, C=0.7), "consistent", dict(rhs=0), dict(gamma=0.8, C=0.7), "refuted"),
]


# one pair of each law kind (decreasing, not_decreasing, exponent) runs by default; the second pair
# of a kind (about 10 s each) runs in the slow job
_SECOND_OF_KIND = {"sparsity.log_insufficient", "sparsity.log_tau_to_one"}
_PAIRS = [pytest.param(*m, id=m[0], marks=[pytest.mark.slow] if m[0] in _SECOND_OF_KIND else [])
          for m in MUTANTS]


@pytest.mark.parametrize("base,point,verdict,change,mpoint,mverdict", _PAIRS)
def test_registered_claim_and_its_mutant(base, point, verdict, change, mpoint, mverdict):
    import attnsparse as asp

    assert asp.get(base).check(seed=0, **point).verdict == verdict
    mut = _mutant(base, **change)  # drops the claim's assumptions: it is evaluated where the claim does not apply
    assert mut.check(seed=0, **mpoint).verdict == mverdict


def test_bounded_law_refutes_growth():
    # k_eps at high temperature (gamma = 0.25) grows like n: "bounded" must be refuted, and the
    # refutation must survive Holm's correction (its p-value must be small, not 1)
    from attnsparse.numeric.check import holm

    mut = _mutant("collapse.k_eps_bounded")
    r = mut.check(seed=0, gamma=0.25, epsilon=0.1)
    assert r.verdict == "refuted" and r.p_value < 1e-3
    assert holm([r])[0].verdict == "refuted"


@pytest.mark.parametrize("law, est, theory, tol, boot_centre, refuted", [
    ("exponent", 0.5, 0.0, 0.05, 0.5, True), ("exponent", -0.5, 0.0, 0.05, -0.5, True),
    ("exponent", 0.01, 0.0, 0.05, 0.01, False), ("bounded", 0.5, 0.0, 0.05, 0.5, True),
    ("bounded", 0.0, 0.0, 0.05, 0.0, False), ("decreasing", 0.4, 0.0, 0.02, 0.4, True),
    ("not_decreasing", -0.4, 0.0, 0.02, -0.4, True), ("less", 0.3, 0.0, 0.0, 0.3, True),
])
def test_refutation_p_values(law, est, theory, tol, boot_centre, refuted):
    boot = np.random.default_rng(0).normal(boot_centre, 0.02, 2000)
    p = T.refutation_p(law, boot, est, theory, tol)
    assert (p < 1e-3) == refuted, p


def test_less_law_both_directions():
    import sympy as sp

    import attnsparse as asp

    # adaptive ceil(n^0.7) against a single key: adaptive discards less (consistent); the reverse is refuted
    c = asp.get("sparsity.adaptive_window")
    top1 = asp.stat.tail_mass(sp.Integer(1))
    assert _mutant(c.id, compare=top1).check(seed=0, gamma=0.5).verdict == "consistent"
    assert _mutant(c.id, lhs=asp.E(top1), compare=c.lhs.stat).check(seed=0, gamma=0.5).verdict == "refuted"


def test_equal_budget_fixed_window():
    from attnsparse.proofs.claims.sparsity import equal_budget_fixed_k

    # contexts 2^8..2^14, ceil(n^0.7) = 49, 128, 338, 892 (mean 351.75); min(k, 256) caps the smallest context
    k = equal_budget_fixed_k((8, 10, 12, 14), 0.7)
    assert (256 + 3 * k) / 4 >= 351.75 > (256 + 3 * (k - 1)) / 4
