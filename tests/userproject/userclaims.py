"""My own claims about softmax attention, checked by the attnsparse pytest plugin."""

import pytest
import sympy as sp

import attnsparse as asp
from attnsparse.proofs.lemmas import gaussian_pdf

n, sigma = sp.symbols("n sigma", positive=True)
X = sp.Symbol("X", real=True)
MODEL = asp.IIDLogits(n=n, sigma=sigma)
EZ = sp.Symbol(r"\mathbb{E} Z")


def jensen(last_step=None):
    """E log Z <= log E Z = log n + sigma^2/2, by Jensen's inequality."""
    D = asp.Derivation("Jensen bound on the log-partition function")
    D.step(asp.E(asp.stat.log_partition), "definition")
    D.step(sp.log(EZ), "Jensen: log is concave", rel="<=")
    # what E Z means: n times the lognormal mean, as an integral against the Gaussian density
    D.define(EZ, n * sp.Integral(sp.exp(sigma * X) * gaussian_pdf(X), (X, -sp.oo, sp.oo)))
    D.step(sp.log(n * sp.exp(sigma**2 / 2)), "Gaussian MGF lemma")
    D.step(last_step if last_step is not None else sp.log(n) + sigma**2 / 2, "algebra")
    return D


JENSEN = asp.Claim.from_derivation(jensen(), "user.jensen_log_partition", model=MODEL,
                                   statement="E log Z <= log n + sigma^2/2 (Jensen).")
MEAN_WEIGHT = asp.Claim("user.mean_weight", model=MODEL, lhs=asp.E(asp.stat.weight(0)), rel="==", rhs=1 / n)
WRONG = asp.Claim("user.max_weight_is_uniform", model=MODEL, lhs=asp.E(asp.stat.max_weight), rel="==", rhs=1 / n)
# true, but a 1e-6 resolution cannot be reached with a few thousand rows
TOO_SHARP = asp.Claim("user.mean_weight_sharp", model=MODEL, lhs=asp.E(asp.stat.weight(0)), rel="==",
                      rhs=1 / n, rtol=1e-6)
TINY = {"initial": 1000, "max_samples": 2000, "max_seconds": 10.0}


def test_ok_mean_weight(claim_check):
    r = claim_check(MEAN_WEIGHT, n=8, sigma=1.0)
    assert r.verdict == "consistent"


def test_ok_jensen_bound(claim_check):
    # checks the derivation's steps first, then the bound against simulation
    claim_check(JENSEN, n=64, sigma=1.0)


@pytest.mark.claim(effort=TINY, allow_inconclusive=True)
def test_ok_inconclusive_allowed(claim_check):
    assert claim_check(TOO_SHARP, n=8, sigma=1.0).verdict == "inconclusive"


def test_ok_registered_id(claim_check):
    # a catalogue claim by its id, as `attnsparse list` prints it
    r = claim_check("entries.mean_weight", n=16, sigma=1.0, j=3)
    assert r.claim_id == "entries.mean_weight" and r.verdict == "consistent"


def test_ok_own_check_points(claim_check):
    # no parameters: the claim's own check points, one result each
    claim = asp.get("sparsity.tv_is_tail_mass")
    results = claim_check(claim)
    assert [r.params for r in results] == [dict(p) for p in claim.points]
    assert all(r.verdict == "consistent" for r in results)


def test_bad_unknown_id(claim_check):
    claim_check("entries.no_such_claim", n=8, sigma=1.0)


def test_bad_refuted(claim_check):
    claim_check(WRONG, n=8, sigma=2.0)


def test_bad_wrong_step(claim_check):
    claim_check(jensen(last_step=sp.log(n) + sigma**2))


@pytest.mark.claim(effort=TINY)
def test_bad_inconclusive(claim_check):
    claim_check(TOO_SHARP, n=8, sigma=1.0)
