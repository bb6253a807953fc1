"""The bound calculus: derived bounds equal hand-written closed forms; wrong bounds are refuted."""

import math

import pytest
import sympy as sp

from attnsparse.numeric.models import IIDLogits
from attnsparse.numeric.statistics import P, stat
from attnsparse.proofs import bounds as B
from attnsparse.proofs.claim import Claim
from attnsparse.proofs.derivation import Derivation
from attnsparse.proofs.functions import Phi, Phibar

sigma = sp.Symbol("sigma", positive=True)
t = sp.Symbol("t", real=True)
x = sp.Symbol("x", positive=True)
n = sp.Symbol("n", positive=True, integer=True)
d = sp.Symbol("d", positive=True, integer=True)
delta = sp.Symbol("delta", positive=True)
GAUSS = sp.exp(sigma**2 * t**2 / 2)


def test_chernoff_gaussian_is_exp_minus_x2_over_2sigma2():
    D = B.chernoff(GAUSS, t, x)
    assert sp.simplify(D.result - sp.exp(-x**2 / (2 * sigma**2))) == 0
    assert D.optimum == x / sigma**2


def test_chernoff_step_is_checked_when_the_exact_tail_is_given():
    D = B.chernoff(GAUSS, t, x, exact=Phibar(x / sigma))
    report = D.check()
    # the optimised bound is already simplified: no repeated "algebra" step ends the chain
    assert report.ok and [s.status for s in report.steps] == ["verified"]
    assert D.steps[-1].expr != D.steps[-2].expr


def test_chernoff_chi_square_closed_form_and_edge_regime():
    D = B.chernoff((1 - 2 * t)**(-d / 2), t, x, domain=(0, sp.Rational(1, 2)))
    # optimum t* = (1 - d/x)/2 inside (0, 1/2) iff x > d: e^{-(x-d)/2} (x/d)^{d/2}; else t* hits the edge 0: bound 1
    assert float(D.result.subs({d: 2, x: 4})) == pytest.approx(math.exp(-1) * 2, rel=1e-12)
    assert float(D.result.subs({d: 3, x: 9})) == pytest.approx(math.exp(-3) * 3**1.5, rel=1e-12)
    assert D.result.subs({d: 4, x: 2}) == 1


def test_union_of_chernoff_checks_every_step():
    one = B.chernoff(GAUSS, t, x, exact=Phibar(x / sigma))
    U = B.union(one, n, event=P(stat.max_logit >= x), exact=1 - Phi(x / sigma)**n)
    assert sp.simplify(U.result - n * sp.exp(-x**2 / (2 * sigma**2))) == 0
    report = U.check()
    assert report.ok and all(s.status == "verified" for s in report.steps)


def test_union_with_a_wrong_single_bound_fails_its_step():
    wrong = Derivation("wrong tail", assumptions=[x > 0])
    wrong.step(sp.Symbol(r"\mathbb{P}(s_1 \geq x)"), "definition")
    wrong.define(sp.Symbol(r"\mathbb{P}(s_1 \geq x)"), Phibar(x / sigma))
    wrong.step(sp.exp(-x**2 / sigma**2), "a Chernoff bound with the wrong constant", rel="<=")
    U = B.union(wrong, n, exact=1 - Phi(x / sigma)**n)
    statuses = [s.status for s in U.check().steps]
    assert "failed" in statuses


def test_invert_gives_the_high_probability_threshold():
    U = B.union(B.chernoff(GAUSS, t, x, exact=Phibar(x / sigma)), n, exact=1 - Phi(x / sigma)**n)
    Inv = B.invert(U, delta, x)
    assert sp.simplify(Inv.threshold - sigma * sp.sqrt(2 * sp.log(n / delta))) == 0
    # the bound at the threshold is delta (checked on the bound itself, not on invert's own last step)
    assert sp.simplify(U.result.subs(x, Inv.threshold) - delta) == 0
    assert "failed" not in [s.status for s in Inv.check().steps]


def test_mills_bounds_verify_and_bracket_the_tail():
    z = sp.Symbol("z", positive=True)
    for D in (B.mills_upper(z), B.mills_lower(z)):
        assert all(s.status == "verified" for s in D.check().steps[1:])
    # hand values at z = 2: phi(2)/2 = 0.02699548..., 2/5 phi(2) = 0.02159638..., Phibar(2) = 0.02275013...
    assert float(B.mills_upper(z).result.subs(z, 2)) == pytest.approx(0.0269954832565, rel=1e-10)
    assert float(B.mills_lower(z).result.subs(z, 2)) == pytest.approx(0.0215963866052, rel=1e-10)


def test_wrong_bound_claim_is_refuted_by_simulation():
    # P(max of 8 N(0,1) >= 1.5) = 1 - Phi(1.5)^8 = 0.4245; the bound without the factor n says 0.3247
    wrong = Claim("test.wrong_max_tail", model=IIDLogits(n=n, sigma=sigma), lhs=P(stat.max_logit >= x),
                  rel="<=", rhs=sp.exp(-x**2 / (2 * sigma**2)))
    assert wrong.check(n=8, sigma=1.0, x=1.5).verdict == "refuted"


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="mgf must depend on t"):
        B.chernoff(sp.exp(sigma), t, x)
    with pytest.raises(TypeError, match="t must be a SymPy Symbol"):
        B.chernoff(GAUSS, "t", x)
    with pytest.raises(ValueError, match="domain"):
        B.chernoff(GAUSS, t, x, domain=(-1, 1))
    with pytest.raises(TypeError, match="placeholder"):
        Derivation("x").define(3, x)


def test_bernstein_reduces_to_the_gaussian_tail_without_a_range_term():
    v = sp.Symbol("v", positive=True)
    assert B.bernstein(v, 0, x).result == sp.exp(-x**2 / (2 * v))
    # at v = 1, b = 3, x = 2: exp(-4 / (2 * 3)) = exp(-2/3)
    assert float(B.bernstein(1, 3, 2).result) == pytest.approx(math.exp(-2 / 3), rel=1e-14)


def test_extend_refuses_a_non_derivation_and_a_negative_factor():
    D = B.chernoff(GAUSS, t, x)
    with pytest.raises(TypeError, match="other must be a Derivation"):
        D.extend(3)
    with pytest.raises(ValueError, match="factor must be positive"):
        D.extend(D, -1)


def test_define_of_a_probability_functional_decides_the_union_step():
    one = B.chernoff(GAUSS, t, x, exact=Phibar(x / sigma))
    cited = B.union(one, n, event=P(stat.max_logit >= x))
    assert cited.check().steps[0].status == "cited"
    # a wrong exact value, P(max >= x) = 2n Phibar(x/sigma), exceeds the union bound: the step fails
    wrong = B.union(one, n, event=P(stat.max_logit >= x), exact=2 * n * Phibar(x / sigma))
    assert wrong.check().steps[0].status == "failed"


def test_laurent_massart_constants():
    tr, fro, op = sp.symbols("tr fro op", positive=True)
    u = sp.Symbol("u", positive=True)
    D = B.laurent_massart(tr, fro, op, u)
    assert D.result == sp.exp(-u)
    assert D.threshold == tr + 2 * fro * sp.sqrt(u) + 2 * op * u


def test_chernoff_at_a_real_threshold_keeps_the_edge_regime():
    xr = sp.Symbol("x", real=True)
    D = B.chernoff(GAUSS, t, xr)  # t* = x/sigma^2 leaves [0, oo) for x < 0: the optimum is t = 0, bound 1
    assert D.result.subs({xr: -1, sigma: 1}) == 1
    assert D.result.subs({xr: 2, sigma: 1}) == sp.exp(-2)
    assert B.chernoff(GAUSS, t, xr, [xr > 0]).result == sp.exp(-xr**2 / (2 * sigma**2))
