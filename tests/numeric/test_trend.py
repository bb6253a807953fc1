"""Trend checks: the exponent fit, the decision rules, and one claim end to end."""

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
    assert r.rel == "trend" and r.verdict in ("consistent", "inconclusive", "refuted")
    assert r.extra["n"] == [256, 1024, 4096] and r.samples == 600
    with pytest.raises(ValueError, match="trend variable"):
        c.check(n=64, gamma=0.5)
    with pytest.raises(ValueError, match="assumption"):
        c.check(gamma=1.5)
