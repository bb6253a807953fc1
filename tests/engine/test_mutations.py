"""Mutation tests: perturbed variants of registered claims must come out refuted, while the
true claims come out consistent, at the same point, seed and effort.

Each check runs at the engine's default false-alarm level (alpha = 1e-3), so a true claim
is refuted with probability at most 1e-3 per check.
"""

import pytest
import sympy as sp

import attnsparse as asp
from attnsparse.proofs import symbols as S


def variant(claim, rhs, model=None):
    return asp.Claim(claim.id + ".mutant", model=model or claim.model, lhs=claim.lhs, rel=claim.rel,
                     rhs=rhs, rtol=claim.rtol, atol=claim.atol, assumptions=claim.assumptions)


def _mgf_exponent_off_by_one(rhs):
    return rhs.replace(lambda e: e.is_Pow and e.exp == -S.d / 2, lambda e: e.base ** (-S.d / 2 + 1))


MUTANTS = [
    # (claim id, point index, mutant rhs builder, what is wrong)
    ("logits.bilinear_mgf", 0, lambda r: 1.1 * r, "constant off by 10%"),
    ("logits.bilinear_mgf", 0, _mgf_exponent_off_by_one, "exponent off by one"),
    ("logits.bilinear_variance", 1, lambda r: r * S.sigma_q**2, "wrong variance (sigma_q^4 sigma_k^2)"),
    ("logits.bilinear_fourth_moment", 0, lambda r: 3 * (S.sigma_q * S.sigma_k) ** 4 * (1 + 3 / S.d),
     "kurtosis 9/d instead of 6/d"),
    ("logits.bilinear_density", 0, lambda r: r.subs(S.sigma_q, sp.Rational(5, 4) * S.sigma_q), "wrong logit scale"),
    ("logits.bilinear_tail", 0, lambda r: 1.5 * r, "constant off by 50% (claim tolerance 25%)"),
    ("normaliser.mean_partition", 1, lambda r: r.subs(S.sigma**2 / 2, S.sigma**2), "exponent sigma^2"),
    ("normaliser.mean_partition", 0, lambda r: 1.1 * r, "constant off by 10%"),
    ("normaliser.var_partition", 1, lambda r: r.subs(sp.exp(S.sigma**2) - 1, sp.exp(S.sigma**2)),
     "forgot the -1"),
    ("entries.mean_weight", 0, lambda r: 1 / (S.n - 1), "off by one in n"),
    ("entries.mean_weight_bilinear", 0, lambda r: 1.1 * r, "constant off by 10%"),
]


@pytest.mark.parametrize("cid, point, build, what", MUTANTS, ids=[f"{m[0]}:{m[3]}" for m in MUTANTS])
def test_mutant_is_refuted_and_truth_is_consistent(cid, point, build, what):
    claim = asp.get(cid)
    params = claim.points[point]
    mutant = variant(claim, build(claim.rhs))
    # the mutation changes the value at the check point (a numeric test: simplify takes 10 s on the density)
    truth, wrong = claim.evaluate(dps=15, **params), mutant.evaluate(dps=15, **params)
    assert abs(wrong - truth) > 1e-6 * abs(truth), "the mutation changed nothing at the check point"
    assert mutant.check(seed=11, **params).verdict == "refuted", what
    assert claim.check(seed=11, **params).verdict == "consistent"


def test_two_model_claim_mutant_is_refuted():
    """The conditional reduction with the chi-square mixing left out must be refuted."""
    claim = asp.get("logits.conditional_reduction")
    no_mixing = asp.E(asp.stat.ipr, model=asp.IIDLogits(n=S.n, sigma=S.sigma))
    params = dict(n=64, d=2, sigma=1.5)  # d = 2: strong chi-square mixing
    assert variant(claim, no_mixing).check(seed=3, **params).verdict == "refuted"
    assert claim.check(seed=3, **params).verdict == "consistent"
