"""Issue 15 cases handled by the check engine: settings validation, NaN statistics, and the
up-front refusal of a model whose rows cannot fit the time budget (no hang)."""

import time

import numpy as np
import pytest
import sympy as sp

import attnsparse as asp
from attnsparse.numeric.check import check_settings

n, sigma = sp.symbols("n sigma", positive=True)
IID = asp.IIDLogits(n=n, sigma=sigma)


def test_numpy_alpha_is_accepted():
    assert check_settings(0, "quick", np.float32(0.01))[2] == pytest.approx(0.01)


@pytest.mark.parametrize("effort, key", [({"max_samples": "1000"}, "max_samples"), ({"initial": 2.5}, "initial"),
                                         ({"max_seconds": "5"}, "max_seconds"),
                                         ({"max_seconds": float("nan")}, "max_seconds")])
def test_bad_effort_values_name_the_key(effort, key):
    with pytest.raises(ValueError, match=key):
        check_settings(0, effort, None)


def test_a_nan_statistic_is_an_error_naming_it():
    def nan_stat(s):
        return np.nan

    c = asp.Claim("t.nan", model=IID, lhs=asp.E(asp.stat.logits(nan_stat)), rel="==", rhs=1)
    with pytest.raises(ValueError, match="nan_stat.*NaN"):
        c.check(n=8, sigma=1.0, effort={"initial": 100, "max_samples": 200})


def test_a_huge_model_is_refused_up_front_not_run():
    c = asp.Claim("x.b", model=asp.BilinearQK(n=2**20, d=4096), lhs=asp.E(asp.stat.ipr), rel="<=", rhs=1)
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="max_seconds"):
        c.check(effort={"max_seconds": 5, "initial": 16, "max_samples": 32})
    assert time.perf_counter() - t0 < 5


def test_bounded_statistics_use_the_betting_method_and_bounds_report_a_margin():
    c = asp.Claim("t.ipr_lower", model=IID, lhs=asp.E(asp.stat.ipr), rel=">=", rhs=1 / n)
    r = c.check(n=64, sigma=1.0, seed=0)
    assert r.method == "betting" and r.verdict == "consistent"
    assert r.extra["margin"] > r.extra["margin_bound"] > 0
    r2 = asp.Claim("t.z", model=IID, lhs=asp.E(asp.stat.partition), rel="==",
                   rhs=n * sp.exp(sigma**2 / 2)).check(n=16, sigma=0.5, seed=0)
    assert r2.method == "asymptotic"


def test_a_user_range_selects_betting_and_a_value_outside_it_is_an_error():
    def first(s):
        return s[0]

    inside = asp.Claim("t.in", model=IID, lhs=asp.P(asp.stat.logits(first) > 0), rel="==", rhs=sp.Rational(1, 2))
    assert inside.check(n=4, sigma=1.0, seed=0).method == "betting"
    outside = asp.Claim("t.out", model=IID, lhs=asp.E(asp.stat.logits(first, range=(0, 1))), rel="==", rhs=0)
    with pytest.raises(ValueError, match="outside its declared range"):
        outside.check(n=4, sigma=1.0, seed=0)
    with pytest.raises(ValueError, match="range"):
        asp.stat.logits(first, range=(1, 0))
