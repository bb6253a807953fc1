"""Claim kinds: the trend variable of a TrendClaim is the model's own n."""

import pytest
import sympy as sp

import attnsparse as asp
from attnsparse import stat
from attnsparse.proofs.kinds import TrendClaim


def _trend(n, **kw):
    return TrendClaim("t.own_n", model=asp.IIDLogits(n=n, sigma=0.3), lhs=asp.E(stat.weight(0)),
                      law="exponent", rhs=-1, tol=0.05, points=[{}], **kw)


def test_a_users_own_n_is_the_trend_variable():
    n = sp.Symbol("n", positive=True)  # not the house n (which is also an integer)
    c = _trend(n)
    assert c.n_symbol is n and c.parameters == []
    assert c.bind({}) == {}
    assert float(c.evaluate()) == -1
    # E p_0 = 1/n exactly: the simulated grid means follow it (sd of n p_0 ~ 0.3, 300 rows per n)
    r = c.check(seed=0, effort={"log2n": (4, 6, 8), "rows": 300})
    assert r.extra["n"] == [16, 64, 256]
    assert all(abs(m * k - 1) < 0.1 for k, m in r.extra["means"].items()), r.extra["means"]


def test_the_trend_variable_may_not_be_set_whatever_its_name():
    m = sp.Symbol("m", positive=True, integer=True)
    with pytest.raises(ValueError, match="m is the trend variable"):
        _trend(m).bind({"m": 64})


def test_a_model_with_a_numeric_n_has_no_trend_variable():
    with pytest.raises(ValueError, match="trend variable"):
        _trend(64)
