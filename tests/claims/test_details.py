"""The `details` tables that `attnsparse show` prints: where an asymptotic claim stops being accurate."""

import math

import sympy as sp

import attnsparse as asp
from attnsparse import stat
from attnsparse.proofs import symbols as S
from attnsparse.proofs.kinds import TrendClaim
from attnsparse.proofs.tables import simulated_table, trend_table


def test_every_asymptotic_claim_records_its_accuracy():
    missing = [c.id for c in asp.claims() if c.rel in ("approx", "trend") and c.details is None]
    assert missing == []


def test_simulated_table_measures_a_known_relative_error():
    # E Z = n e^{sigma^2/2} exactly; a formula 10% too high must show a relative error near 0.10
    model = asp.IIDLogits(n=S.n, sigma=S.sigma)
    wrong = asp.Claim("t.details_wrong", model=model, lhs=asp.E(stat.partition), rel="approx", rtol=0.01,
                      rhs=sp.Rational(11, 10) * S.n * sp.exp(S.sigma**2 / 2))
    text = simulated_table(wrong, [dict(n=64, sigma=0.5)], samples=4000)
    row = [line for line in text.splitlines() if "n=64" in line][0]
    rel = float(row.split()[-1])
    # the simulated mean has relative standard error sqrt((e^{0.25}-1)/64)/sqrt(4000) ~ 0.001
    assert abs(rel - 0.1) < 0.01, text


def test_trend_table_local_exponents_follow_a_known_law():
    # E p_0 = 1/n exactly, so the local exponent between neighbouring n is -1 up to noise
    # (sigma = 0.3: p_0 n has sd ~ 0.3, 600 rows per n: the exponent's sd is ~ 0.01)
    claim = TrendClaim("t.details_trend", model=asp.IIDLogits(n=S.n, sigma=0.3), lhs=asp.E(stat.weight(0)),
                       law="exponent", rhs=-1, tol=0.05, points=[{}])
    text = trend_table(claim)
    exps = [float(line.split()[-1]) for line in text.splitlines()[3:] if len(line.split()) == 4]
    assert len(exps) >= 4, text
    assert all(abs(b + 1) < 0.06 for b in exps), text
    assert text == claim.details()


def test_a_point_that_cannot_be_evaluated_is_reported_in_the_table():
    c = asp.get("collapse.pd_ipr_second_moment")
    text = simulated_table(c, [dict(n=1024, sigma=1.0)])  # outside its assumption sigma > 1.5 beta_c
    assert "not evaluated: ValueError" in text and "assumption" in text


def test_k_eps_rule_table_shows_where_the_rule_fails():
    c = asp.get("phases.k_eps_rule")
    text = c.details()
    assert "against simulation" in text
    # at sigma = 0.25 beta_c the rule is accurate to a few percent, at beta_c it is off by far more
    errs = {round(float(line.split()[1].split("=")[1].rstrip(",")) / math.sqrt(2 * math.log(1024)), 2):
            float(line.split()[-1]) for line in text.splitlines() if line.strip().startswith("n=1024")}
    assert errs[0.25] < 0.02 and errs[1.0] > 0.3, text
