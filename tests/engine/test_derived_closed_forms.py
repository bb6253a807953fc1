"""Each catalogue right-hand side is derived by the package; here it must equal the known
closed form typed in independently (docs/theory.md, sections 2 and 3)."""

import math

import mpmath as mp
import pytest
import sympy as sp

import attnsparse as asp
from attnsparse.proofs import symbols as S
from attnsparse.proofs.claims import logits as L
from attnsparse.proofs.guards import NotDerived, bounded, closed_form
from attnsparse.proofs.lemmas import derive_chi2_mgf, derive_gaussian_mgf

sq, sk, d, t, n, sigma, mu = S.sigma_q, S.sigma_k, S.d, S.t, S.n, S.sigma, S.mu
x = sp.Symbol("x", positive=True)
c = sp.Symbol("c", positive=True)


def same(a, b):
    e = sp.simplify(a - b)
    return e == 0 or sp.simplify(e.rewrite(sp.exp)) == 0


def test_lemmas():
    assert same(derive_gaussian_mgf(), sp.exp(mu * t + sigma**2 * t**2 / 2))
    assert same(derive_chi2_mgf(), (1 - 2 * S.lam) ** (-d / 2))


def test_bilinear_mgf_variance_kurtosis():
    s2 = sq**2 * sk**2
    assert same(asp.get("logits.bilinear_mgf").rhs, (1 - s2 * t**2 / d) ** (-d / 2))
    assert same(asp.get("logits.bilinear_variance").rhs, s2)
    m4 = asp.get("logits.bilinear_fourth_moment").rhs
    assert same(m4, 3 * s2**2 * (1 + sp.Rational(2) / d))
    assert same(m4 / s2**2 - 3, 6 / d)  # excess kurtosis 6/d


def _density(dv):
    return L.derivation_bilinear_density_positive().result.subs(d, dv)


@pytest.mark.parametrize("dv, known", [
    (1, sp.besselk(0, x / c) / (sp.pi * c)),
    (2, sp.exp(-x / c) / (2 * c)),
    (4, sp.exp(-x / c) * (1 + x / c) / (4 * c)),
])
def test_density_small_d(dv, known):
    assert same(_density(dv), known)


def test_density_general_d_is_the_bessel_form():
    nu = (d - 1) / 2
    known = x**nu * sp.besselk(nu, x / c) / (sp.sqrt(sp.pi) * sp.gamma(d / 2) * 2**nu * c ** (nu + 1))
    assert same(L.derivation_bilinear_density_positive().result, known)


@pytest.mark.parametrize("dv", [1, 3, 4, 9])
def test_density_integrates_to_one(dv):
    f = sp.lambdify(S.x, L.density_at(S.x).subs({d: dv, sq: 1, sk: 1}), "mpmath")
    with mp.workdps(30):
        total = mp.quad(f, [-mp.inf, -1, 0, 1, mp.inf])
    assert abs(total - 1) < mp.mpf(10) ** -20


def test_bessel_identity_used_in_the_derivation():
    # K_nu = pi (I_{-nu} - I_nu) / (2 sin(nu pi)), at random non-integer orders
    with mp.workdps(40):
        for nu_, z in [(0.3, 1.7), (2.45, 0.4), (5.5 + 1e-3, 7.0)]:
            lhs = mp.besselk(nu_, z)
            rhs = mp.pi * (mp.besseli(-nu_, z) - mp.besseli(nu_, z)) / (2 * mp.sin(nu_ * mp.pi))
            assert abs(lhs / rhs - 1) < mp.mpf(10) ** -25


def test_tail_asymptotic_is_the_known_form_and_is_asymptotic():
    known = (x * sp.sqrt(d) / (sq * sk)) ** (d / 2 - 1) * sp.exp(-x * sp.sqrt(d) / (sq * sk)) / (
        sp.gamma(d / 2) * 2 ** (d / 2))
    rhs = asp.get("logits.bilinear_tail").rhs.subs(S.x, x)
    assert same(sp.expand_power_base(rhs, force=True) / sp.expand_power_base(known, force=True), 1)
    claim = asp.get("logits.bilinear_tail")
    # the relative error of the asymptotic form against the exact tail decreases to 0
    errs = []
    for z in (5, 20, 80, 320):
        p = dict(d=3, sigma_q=1, sigma_k=1, x=z / math.sqrt(3))
        errs.append(abs(claim.exact(30, **p) / claim.evaluate(30, **p) - 1))
    assert errs == sorted(errs, reverse=True) and errs[-1] < 0.005


def test_partition_function():
    ez = asp.get("normaliser.mean_partition").rhs
    vz = asp.get("normaliser.var_partition").rhs
    assert same(ez, n * sp.exp(mu + sigma**2 / 2))
    assert same(vz / ez**2, (sp.exp(sigma**2) - 1) / n)


def test_mean_weight():
    assert same(asp.get("entries.mean_weight").rhs, 1 / n)


def test_unevaluated_results_are_refused():
    # PITFALLS 1: sympy.stats returns an Integral for a softmax entry instead of raising
    from sympy.stats import E, Normal

    X1 = Normal("X1", 0, 1)  # the softmax entry of two keys with logits X1 and 0
    with pytest.raises(NotDerived):
        closed_form(E(sp.exp(X1) / (sp.exp(X1) + 1)), "softmax entry")


def test_derivation_steps_are_time_bounded():
    import time

    with pytest.raises(NotDerived, match="longer than"):
        with bounded(0.2, what="a slow step"):
            time.sleep(2)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the ignored alarm in __del__
def test_a_time_bound_swallowed_inside_a_finaliser_still_bounds_the_step():
    # the alarm fires inside __del__, where Python ignores exceptions ("Exception ignored in"); the
    # repeated alarm must still reach the body, which would otherwise sleep on past the bound
    import time

    class SlowFinaliser:
        def __del__(self):
            time.sleep(0.3)

    start = time.monotonic()
    with pytest.raises(NotDerived, match="longer than"):
        with bounded(0.1, what="a step"):
            SlowFinaliser()  # dropped at once: the alarm at 0.1 s lands in its __del__
            time.sleep(2.0)
    assert time.monotonic() - start < 1.5
