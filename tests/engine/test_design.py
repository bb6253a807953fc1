"""Design and resolution against real checks (the check engine decides, not the design)."""

import math

import numpy as np
import pytest

import attnsparse as asp
from attnsparse.numeric import design

CID = "collapse.pd_max_weight"  # a betting check that decides in a few thousand rows


def _effort(rows):
    return {"initial": 500, "max_samples": int(rows), "max_seconds": 1e6}


def test_designed_rows_decide_and_far_fewer_do_not():
    c = asp.get(CID)
    p = c.points[0]
    d = c.design(**p)
    assert d.method == "betting" and 100 < d.confirm < 10**6
    # stated factor: a check given 4x the designed rows is decided, one given a quarter is not
    r = c.check(effort=_effort(4 * d.confirm), **p)
    assert r.verdict == "consistent", r
    r = c.check(effort=_effort(max(500, d.confirm // 4)), **p)
    assert r.verdict == "inconclusive", r


def test_resolution_is_the_inverse_of_design():
    c = asp.get(CID)
    p = c.points[0]
    d = c.design(deviation=0.05, **p)
    # the resolution at the designed rows is the deviation (up to the rounding to whole rows)
    res = c.resolution(int(d.refute), **p)
    assert 0.05 * 0.99 <= res <= 0.05 * 1.01
    assert c.resolution(4 * int(d.refute), **p) < res


def test_width_law_matches_the_betting_sequence_on_its_own_pilot():
    rng = np.random.default_rng(1)
    x = rng.beta(2, 5, size=4000)
    from attnsparse.numeric.confseq import betting_cs

    lo, hi = betting_cs(x, 0.0, 1.0, 1e-3).interval()
    k = design.calibrate(x, (0.0, 1.0), 1e-3)
    w = design.width_law(4000, float(np.var(x)), (0.0, 1.0), 1e-3, calibration=k, pilot=4000)
    assert w == pytest.approx((hi - lo) / 2, rel=1e-9)
    # the uncalibrated law is within a factor 2 of the sequence (not a tautology: k is free)
    assert 0.5 < k < 2


def test_tiny_mean_floor():
    # a [0, 1] mean near 0: the half-width cannot fall below about log(2/alpha)/rows
    n = design.rows_for_width(1e-4, 0.0, (0.0, 1.0), 1e-3)
    assert n >= math.log(2 / 1e-3) / 1e-4 * 0.999


@pytest.mark.parametrize("kw, word", [({"rows": 0}, "rows"), ({"rows": 2.5}, "rows"), ({"rows": True}, "rows")])
def test_resolution_refuses_bad_rows(kw, word):
    c = asp.get(CID)
    with pytest.raises(ValueError, match=word):
        c.resolution(kw["rows"], **c.points[0])


@pytest.mark.parametrize("kw, word", [({"rtol": -1}, "rtol"), ({"deviation": 0}, "deviation"),
                                      ({"alpha": 2}, "alpha"), ({"pilot": 10}, "pilot")])
def test_design_refuses_bad_settings(kw, word):
    c = asp.get(CID)
    with pytest.raises(ValueError, match=word):
        c.design(**kw, **c.points[0])
