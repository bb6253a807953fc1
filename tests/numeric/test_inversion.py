"""E7 by Laplace inversion (numeric/inversion.py): closed forms, an independent mpmath route,
simulation, input validation and the confirmation.

Statistical tests: E N_eps is compared with the mean count of 20 000 simulated rows (fixed
seed) at four (n, sigma) points, two in the critical window (one in the default run, three
marked slow); each fails when |z| > 4.5 (false-alarm level 7e-6 per comparison under a normal
approximation; family-wise < 3e-5).
"""

import math

import mpmath as mp
import numpy as np
import pytest

import attnsparse as asp
from attnsparse.numeric.exact import _laplace as V
from attnsparse.numeric.precision import PrecisionError
from attnsparse.numeric.simulate import simulate_stats

ROWS = 20_000
Z_MAX = 4.5


def _cdf(r, n, sigma):
    g, S, info = V._cdf(np.asarray(r, float), n, sigma, 48)
    assert info["converged"].all()
    return np.exp(g) * S


# ------------------------------------------------------------------ F_R against closed forms
@pytest.mark.parametrize("sigma", [0.3, 1.0, 4.0])
def test_cdf_n2_is_lognormal_cdf(sigma):
    """n = 2: R = e^{sigma X_2}, F_R(r) = Phi(ln r / sigma), to relative 1e-13 over 6 decades."""
    r = np.exp(np.linspace(-5, 5, 11) * sigma)
    want = np.array([float(mp.ncdf(math.log(x) / sigma)) for x in r])
    np.testing.assert_allclose(_cdf(r, 2, sigma), want, rtol=1e-13)


def _cdf3_mp(r, sigma):
    """n = 3 by an independent route: P(w_1 + w_2 <= r) = int phi(x) Phi(ln(r - e^{sigma x})/sigma) dx."""
    with mp.workdps(25):
        r = mp.mpf(r)
        xm = mp.log(r) / sigma

        def f(x):
            d = r - mp.exp(sigma * x)
            return mp.npdf(x) * mp.ncdf(mp.log(d) / sigma) if d > 0 else mp.mpf(0)
        pts = sorted({mp.mpf(-30), xm - 5} | {xm - k for k in (4, 2, 1, 0.5, 0.1, 0.01, 0.001, 0)})
        return mp.quad(f, [p for p in pts if p <= xm], maxdegree=10)


@pytest.mark.parametrize("sigma", [0.5, 3.0])
def test_cdf_n3_matches_convolution(sigma):
    r = 2 * np.exp(np.array([-2.0, 0.0, 2.0]) * sigma)
    got = _cdf(r, 3, sigma)
    for x, v in zip(r, got):
        assert abs(v / float(_cdf3_mp(x, sigma)) - 1) < 1e-12


def test_log_laplace_matches_mpmath():
    """ln L at complex theta, both half-planes, against mp.quad on the rotated x-contour."""
    J = mp.mpc(0, 1)
    for sigma, th in [(1.0, 0.05 + 50j), (4.0, 0.001 + 1j), (2.0, -0.3 + 0.5j), (0.5, 2 + 0.1j)]:
        a = float(V._x_shift(np.array([th]), sigma)[0])
        with mp.workdps(30):
            thr = mp.mpc(th) * mp.exp(J * sigma * a)
            xs = -mp.log(abs(mp.mpc(th))) / sigma
            pts = sorted({mp.mpf(-20), mp.mpf(0), mp.mpf(20 + sigma)} | {xs + k / sigma for k in range(-3, 7)})
            pts = [p for p in pts if -20 <= p <= 20 + sigma]
            M = mp.quad(lambda x: mp.exp(-(x + J * a) ** 2 / 2) / mp.sqrt(2 * mp.pi)
                        * -mp.expm1(-thr * mp.exp(sigma * x)),
                        pts, maxdegree=10)
            want = complex(mp.log(1 - M))
        got = V._log_laplace(np.array([th]), sigma, 48)[0]
        assert abs(got - want) <= 1e-14 * abs(want), (sigma, th, got, want)


# ------------------------------------------------------------------ P(p_1 > eps)
def test_n2_closed_form():
    """n = 2: p_1 > eps iff sigma (X_1 - X_2) > logit eps, X_1 - X_2 ~ N(0, 2)."""
    sigma, eps = 1.0, 0.3
    want = mp.ncdf(math.log((1 - eps) / eps) / (sigma * math.sqrt(2)))
    got = V.eval_prob_weight_above(12, 2, sigma, eps)
    assert abs(got / want - 1) < 1e-11


@pytest.mark.slow
def test_n2_closed_form_tiny_probability():
    """Relative accuracy survives a probability of 1e-27."""
    sigma, eps = 0.3, 0.99
    want = mp.ncdf(-math.log(eps / (1 - eps)) / (sigma * math.sqrt(2)))
    got = V.eval_prob_weight_above(10, 2, sigma, eps)
    assert want < 1e-26 and abs(got / want - 1) < 1e-9


POINTS = [(256, 1.0, 0.01), (1024, round(math.sqrt(2 * math.log(1024)), 4), 0.01), (128, 4.5, 0.05)]


@pytest.mark.slow
@pytest.mark.parametrize("point", POINTS)
def test_count_matches_simulation(point):
    n, sigma, eps = point
    theory = float(V.eval_count_above(6, n, sigma, eps))
    x = simulate_stats(asp.IIDLogits(n=n, sigma=sigma), [asp.stat.count_above(eps)], ROWS, 17)[:, 0]
    z = (x.mean() - theory) / (x.std(ddof=1) / math.sqrt(len(x)))
    assert abs(z) < Z_MAX, (point, theory, x.mean(), z)


@pytest.mark.slow
def test_count_matches_simulation_critical_small_n():
    """Critical window n = 64, sigma = beta_c (slow: about 10 s; in the default CI job E7 meets
    simulation through the catalogue claim ``phases.exact_count_above`` of ``check --quick``)."""
    n, sigma, eps = 64, round(math.sqrt(2 * math.log(64)), 4), 0.05
    theory = float(V.eval_count_above(6, n, sigma, eps))
    x = simulate_stats(asp.IIDLogits(n=n, sigma=sigma), [asp.stat.count_above(eps)], ROWS, 23)[:, 0]
    z = (x.mean() - theory) / (x.std(ddof=1) / math.sqrt(len(x)))
    assert abs(z) < Z_MAX, (theory, x.mean(), z)


@pytest.mark.slow
def test_decreasing_in_eps_and_markov_bound():
    n, sigma = 256, 2.0
    eps = [0.01, 0.05, 0.2]
    vals = [V.eval_count_above(6, n, sigma, e) for e in eps]
    assert vals[0] > vals[1] > vals[2] > 0
    for e, v in zip(eps, vals):
        assert v <= 1 / e  # at most 1/eps weights exceed eps


# ------------------------------------------------------------------ inputs and confirmation
@pytest.mark.parametrize("kw,name", [
    (dict(dps=4), "dps"), (dict(dps=13), "dps"), (dict(dps=True), "dps"),
    (dict(n=1), "n"), (dict(n=2.5), "n"),
    (dict(sigma=0.0), "sigma"), (dict(sigma=float("nan")), "sigma"), (dict(sigma=40), "sigma"),
    (dict(eps=0.0), "eps"), (dict(eps=1.0), "eps"), (dict(eps=-0.1), "eps"),
])
def test_bad_input_names_the_parameter(kw, name):
    args = dict(dps=8, n=64, sigma=1.0, eps=0.1) | kw
    for f in (V.eval_prob_weight_above, V.eval_count_above):
        with pytest.raises(ValueError, match=name):
            f(args["dps"], args["n"], args["sigma"], args["eps"])


def test_unconfirmed_value_raises(monkeypatch):
    """A perturbed second evaluation must make the confirmation fail, not pass silently."""
    real = V._integrate_fixed
    monkeypatch.setattr(V, "_integrate_fixed", lambda *a, **k: real(*a, **k) * (1 + 1e-7))
    with pytest.raises(PrecisionError, match="not confirmed"):
        V.eval_prob_weight_above(8, 64, 2.0, 0.1)
