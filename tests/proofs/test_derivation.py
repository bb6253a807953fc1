"""Step-checked derivations: every relation, placeholders, intervals, counterexamples."""

import math

import pytest
import sympy as sp

import attnsparse as asp
from attnsparse.proofs.claim import Claim
from attnsparse.proofs.derivation import Derivation
from attnsparse.proofs.relations import composed_relation
from attnsparse.proofs.functions import Expect, Phibar
from attnsparse.proofs.stepcheck import StepFailed

x = sp.Symbol("x", real=True)
t = sp.Symbol("t", positive=True)
n = sp.Symbol("n", positive=True, integer=True)


def wrong_square():
    D = Derivation("square of a sum, with a wrong last step")
    D.step((x + 1) ** 2, "definition")
    D.step(x**2 + 2 * x + 1, "algebra")
    D.step(x**2 + 2 * x + 2, "algebra (wrong on purpose)")
    return D


def test_wrong_step_is_caught_at_that_step_with_a_counterexample():
    out = wrong_square().check(seed=4)
    assert [s.status for s in out.steps] == ["verified", "failed"]
    bad = out.failed[0]
    assert bad.number == 2 and bad.why == "algebra (wrong on purpose)"
    x0 = bad.counterexample["x"]
    # the reported values are the two sides at the reported point (computed here independently)
    left, right = (float(v) for v in bad.values)
    assert math.isclose(left, x0**2 + 2 * x0 + 1, rel_tol=1e-12)
    assert math.isclose(right, x0**2 + 2 * x0 + 2, rel_tol=1e-12)
    text = out.text()
    assert "step 2 (1) = (2) [algebra (wrong on purpose)]: failed" in text and "counterexample: x = " in text
    with pytest.raises(StepFailed, match="step 2"):
        out.raise_if_failed()


def test_random_points_are_reproducible_from_the_seed():
    a, b, c = (wrong_square().check(seed=s).failed[0].counterexample for s in (7, 7, 8))
    assert a == b and a != c


def test_equality_that_needs_numbers_is_checked_at_random_points():
    # SymPy leaves the Gaussian integral to quadrature: the step is checked numerically
    D = Derivation("lognormal mean")
    D.step(sp.Integral(sp.exp(t * x) * sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi), (x, -sp.oo, sp.oo)), "definition")
    D.step(sp.exp(t**2 / 2), "Gaussian MGF lemma")
    D.step(sp.exp(t**2 / 3), "wrong exponent")
    out = D.check()
    assert out.steps[0].status == "verified" and out.steps[0].method == "20 random points at 50 digits"
    assert out.steps[1].status == "failed"


def test_symbolic_equality_is_verified_by_simplification():
    D = Derivation("exp-log")
    D.step(sp.exp(sp.log(t) + 1), "definition")
    D.step(sp.E * t, "algebra")
    assert D.check().steps[0].method == "SymPy simplification"


def test_inequalities_true_false_and_strict():
    D = Derivation("inequalities")
    D.step(sp.exp(-t), "definition")
    D.step(1 / (1 + t), "e^t >= 1 + t", rel="<=")
    D.step(1 / (1 + t), "a non-strict relation holds with equality", rel=">=")
    D.step(1 / (1 + t), "but a strict one does not", rel="<")
    out = D.check()
    assert [s.status for s in out.steps] == ["verified", "verified", "failed"]


def test_interval_arithmetic_proves_a_bound_on_a_box():
    # Chernoff-type Gaussian tail bound, with the house Phibar
    u = sp.Symbol("u", nonnegative=True)
    D = Derivation("Gaussian tail bound")
    D.step(Phibar(u), "definition")
    D.step(sp.exp(-u**2 / 2), "Chernoff", rel="<=")
    D.box(u=(0, 3))
    step = D.check().steps[0]
    assert step.status == "verified" and "{u in [0, 3]}: proved" in step.detail


def test_interval_arithmetic_finds_a_failure_the_random_points_miss():
    D = Derivation("a bound that fails only outside the sampling domain")
    D.step(x, "definition")
    D.step(sp.Rational(3, 2), "x <= 3/2", rel="<=")
    D.domain(x, 0, 1)  # random points never leave [0, 1] ...
    D.box(x=(0, 2))  # ... the box reaches the failure region (3/2, 2]
    step = D.check().steps[0]
    assert step.status == "failed" and step.method.startswith("interval arithmetic")
    assert step.counterexample["x"] > 1.5


def test_placeholders_are_cited_unless_given_a_meaning():
    EZ = sp.Symbol(r"\mathbb{E} e^{X}")
    X = sp.Symbol("X", real=True)
    gauss = sp.exp(-X**2 / 2) / sp.sqrt(2 * sp.pi)

    def chain(meaning=None):
        D = Derivation("lognormal mean via a placeholder")
        D.step(Expect(sp.exp(X)), "definition")
        D.step(EZ, "notation")
        D.step(sp.exp(sp.Rational(1, 2)), "Gaussian MGF lemma at t = 1")
        if meaning is not None:
            D.define(EZ, meaning)
        return D.check()

    assert [s.status for s in chain().steps] == ["cited", "cited"]
    assert "no stated meaning" in chain().steps[1].detail
    right = chain(sp.Integral(sp.exp(X) * gauss, (X, -sp.oo, sp.oo)))
    assert [s.status for s in right.steps] == ["cited", "verified"]
    wrong = chain(sp.Integral(sp.exp(2 * X) * gauss, (X, -sp.oo, sp.oo)))
    assert [s.status for s in wrong.steps] == ["cited", "failed"]


def test_asymptotic_steps_are_recorded_not_checked():
    D = Derivation("Stirling")
    D.step(sp.factorial(n), "definition")
    D.step(sp.sqrt(2 * sp.pi * n) * (n / sp.E) ** n, "Stirling", rel="~")
    assert D.check().steps[0].status == "asymptotic"
    assert D.relation == "~"


def test_assumptions_restrict_the_random_points():
    D = Derivation("holds only for t < 1", assumptions=[t < 1])
    D.step(sp.log(1 - t), "definition")
    D.step(-t, "log(1 - t) <= -t", rel="<=")
    assert D.check().ok


@pytest.mark.parametrize("rels, expected", [
    (["="], "="), (["=", "<=", "="], "<="), (["<=", "<"], "<"), ([">=", "="], ">="), ([">", ">="], ">"),
    (["~", "="], "~")])
def test_composed_relation(rels, expected):
    assert composed_relation(rels) == expected


@pytest.mark.parametrize("rels", [["<=", ">="], ["<", ">"], ["~", "<="]])
def test_composed_relation_refuses_mixed_chains(rels):
    with pytest.raises(ValueError):
        composed_relation(rels)


def test_conclusion_becomes_a_claim():
    sigma = sp.Symbol("sigma", positive=True)
    D = Derivation("entropy is at most log n")
    D.step(asp.E(asp.stat.entropy), "definition")
    D.step(sp.log(n), "the uniform law maximises entropy", rel="<")
    c = Claim.from_derivation(D, "test.entropy_bound", model=asp.IIDLogits(n=n, sigma=sigma))
    assert c.rel == "<=" and c.rhs == sp.log(n) and c.derivation is D
    assert c.evaluate(dps=20, n=8, sigma=1.0) == pytest.approx(math.log(8))


def test_claim_needs_a_functional_or_lhs():
    D = Derivation("no functional")
    D.step(x, "definition")
    D.step(x, "algebra")
    with pytest.raises(TypeError, match="lhs"):
        Claim.from_derivation(D, "test.x", model=asp.IIDLogits(n=4, sigma=1))


@pytest.mark.parametrize("call, match", [
    (lambda D: D.check(points=5), "points"),
    (lambda D: D.check(dps=30), "dps"),
    (lambda D: D.check(seed=-1), "seed"),
    (lambda D: D.check(seconds=0), "seconds"),
    (lambda D: D.domain(x, 2, 1), "domain of x"),
    (lambda D: D.box(x=(1,)), "range of x"),
    (lambda D: D.step(x, "algebra", rel="=<"), "rel"),
    (lambda D: D.step(x, ""), "why"),
    (lambda D: D.domain("y", 0, 1).check(), "no symbol named 'y'"),
])
def test_bad_input_names_the_parameter(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(wrong_square())


# ---------------------------------------------------------------------- the catalogue
@pytest.mark.parametrize("claim_id, closed_form", [
    ("logits.bilinear_mgf", lambda S: (1 - S.sigma_q**2 * S.sigma_k**2 * S.t**2 / S.d) ** (-S.d / 2)),
    ("normaliser.var_partition", lambda S: S.n * sp.exp(2 * S.mu + S.sigma**2) * (sp.exp(S.sigma**2) - 1)),
    ("entries.mean_weight", lambda S: 1 / S.n),
])
def test_catalogue_derivations_pass_check_and_keep_their_results(claim_id, closed_form):
    from attnsparse.proofs import symbols as S

    c = asp.get(claim_id)
    out = c.derivation.check()
    assert out.ok, out.text()
    assert out.counts().get("verified", 0) >= 1
    # the closed forms of docs/theory.md, sections 2 and 3
    assert sp.simplify(c.rhs - closed_form(S)) == 0
