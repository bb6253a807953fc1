"""Bad input gets a clear error naming the parameter and its valid range."""

import numpy as np
import pytest
import sympy as sp

import attnsparse as asp
from attnsparse.cli import main
from attnsparse.numeric.simulate import simulate_stats

n, sigma = sp.symbols("n sigma", positive=True)
W = np.eye(3)


@pytest.mark.parametrize("build, match", [
    (lambda: asp.IIDLogits(n=0, sigma=1), r"n must be an integer in \[1, "),
    (lambda: asp.IIDLogits(n=2.5, sigma=1), r"n must be an integer"),
    (lambda: asp.IIDLogits(n=8, sigma=-1), r"sigma must be .* in \[0"),
    (lambda: asp.IIDLogits(n=8, sigma=float("nan")), r"sigma must be a finite"),
    (lambda: asp.IIDLogits(n=8, sigma=1, mu=float("inf")), r"mu must be a finite"),
    (lambda: asp.IIDLogits(n=8, sigma=1, offsets={-1: 2.0}), r"offsets keys must be key indices"),
    (lambda: asp.IIDLogits(n=8, sigma=1, offsets={9: 2.0}), r"offsets key 9 .* must be < n = 8"),
    (lambda: asp.IIDLogits(n=8, sigma=1, offsets=[1.0]), r"offsets must be a dict"),
    (lambda: asp.IIDLogits(n=8, sigma=1, scale_dof=-2), r"scale_dof must be an integer"),
    (lambda: asp.IIDLogits(n="8", sigma=1), r"n must be a number or a SymPy expression"),
    (lambda: asp.BilinearQK(n=4, d=0), r"d must be an integer in \[1, 65536\]"),
    (lambda: asp.BilinearQK(n=4, d=2, sigma_q=-1), r"sigma_q must be"),
    (lambda: asp.BilinearQK(n=4, d=2, scale=0), r"scale must be .* in \(0"),
    (lambda: asp.BilinearQK(n=4, d=3, mu_k=[1.0, 2.0]), r"mu_k must be a scalar or have length d = 3"),
    (lambda: asp.SelfAttention(n=4, d=3, sigma_x=1, W_Q=np.eye(3), W_K=np.eye(2)), r"W_Q and W_K must both"),
    (lambda: asp.SelfAttention(n=4, d=3, sigma_x=1, W_Q=W * np.nan, W_K=W), r"W_Q must be finite"),
    (lambda: asp.SelfAttention(n=4, d=3, sigma_x=1, W_Q=np.ones(3), W_K=W), r"W_Q must be a 2-d array"),
    (lambda: asp.SelfAttention(n=4, d=3, sigma_x=-1, W_Q=W, W_K=W), r"sigma_x must be"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_models_reject_bad_parameters(build, match):
    with pytest.raises((ValueError, TypeError), match=match):
        build()


@pytest.mark.parametrize("s, match", [
    (asp.stat.count_above(1.5), r"eps must be in \(0, 1\)"),
    (asp.stat.k_eps(0), r"eps must be in \(0, 1\)"),
    (asp.stat.topk_mass(-1), r"k must be an integer >= 0"),
    (asp.stat.tail_mass(2.5), r"k must be an integer >= 0"),
    (asp.stat.weight(8), r"j must be a key index in \[0, n-1\] = \[0, 7\]"),
    (asp.stat.logit(-1), r"j must be a key index"),
])
def test_statistics_reject_bad_parameters(s, match):
    with pytest.raises(ValueError, match=match):
        simulate_stats(asp.IIDLogits(n=8, sigma=1), [s], samples=10, seed=0)


def test_functionals_reject_wrong_targets():
    with pytest.raises(TypeError, match="use P"):
        asp.E(asp.stat.ipr > 0.1)
    with pytest.raises(TypeError, match="takes an event"):
        asp.P(asp.stat.ipr)
    with pytest.raises(ValueError, match=r"q must be in \(0, 1\)"):
        asp.quantile(asp.stat.ipr, 1.5)
    with pytest.raises(TypeError, match="no truth value"):
        bool(asp.stat.ipr > 0.1)


def test_simulation_arguments():
    m = asp.IIDLogits(n=8, sigma=1)
    with pytest.raises(ValueError, match="samples must be an integer >= 2"):
        simulate_stats(m, [asp.stat.ipr], samples=1, seed=0)
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        simulate_stats(m, [asp.stat.ipr], samples=10, seed=-3)
    with pytest.raises(ValueError, match="top_gap needs n >= 2"):
        simulate_stats(asp.IIDLogits(n=1, sigma=1), [asp.stat.top_gap], samples=10, seed=0)
    with pytest.raises(TypeError, match="could not be compiled by numba"):
        simulate_stats(m, [asp.stat.logits(lambda s: {"a": s})], samples=10, seed=0)


def _claim(**kw):
    args = dict(model=asp.IIDLogits(n=n, sigma=sigma), lhs=asp.E(asp.stat.ipr), rel="approx", rtol=0.05,
                rhs=sp.exp(sigma**2) / n)
    args.update(kw)
    return asp.Claim("example.bad", **args)


@pytest.mark.parametrize("kw, match", [
    (dict(rel="<<"), r"rel must be one of"),
    (dict(rtol=None), r"rel='approx' needs rtol"),
    (dict(rtol=-0.1), r"rtol must be a finite number >= 0"),
    (dict(provenance="blog"), r"provenance must be one of"),
    (dict(lhs=asp.stat.ipr), r"lhs must be a functional"),
    (dict(model="iid"), r"model must be an IIDLogits"),
])
def test_claim_construction(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _claim(**kw)


@pytest.mark.parametrize("params, match", [
    (dict(n=64), r"missing value for parameter\(s\) sigma"),
    (dict(n=64, sigma=1, beta=2), r"unknown parameter\(s\) beta"),
    (dict(n=64.5, sigma=1), r"n must be an integer"),
    (dict(n=64, sigma=-1), r"parameter sigma must be > 0"),
    (dict(n=64, sigma=float("inf")), r"parameter sigma must be finite"),
    (dict(n=64, sigma="1"), r"parameter sigma must be a number"),
])
def test_claim_parameters(params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _claim().check(**params)


def test_claim_assumptions_are_enforced():
    c = asp.get("logits.bilinear_mgf")
    with pytest.raises(ValueError, match=r"assumption .*t.* does not hold"):
        c.check(d=4, t=3.0, sigma_q=1, sigma_k=1)


@pytest.mark.parametrize("kw, match", [
    (dict(seed=-1), r"seed must be an integer >= 0"),
    (dict(effort="huge"), r"effort must be one of"),
    (dict(alpha=2.0), r"alpha must be in \(0, 1\)"),
    (dict(effort={"initial": 1}), r"initial <= max_samples"),
])
def test_check_options(kw, match):
    with pytest.raises(ValueError, match=match):
        _claim().check(n=64, sigma=0.5, **kw)


@pytest.mark.parametrize("argv, message", [
    (["check", "no.such_claim"], "no claim with id 'no.such_claim'"),
    (["show", "entries.mean_wieght"], "did you mean entries.mean_weight"),
    (["check", "--seed", "-1"], "--seed must be an integer >= 0"),
    (["check", "--alpha", "1.5"], "--alpha must be in (0, 1)"),
    (["check", "entries.mean_weight", "-p", "n16"], "--param needs NAME=VALUE"),
    (["check", "entries.mean_weight", "-p", "n=abc"], "is not a number"),
    (["check", "-p", "n=16"], "--param needs exactly one claim ID"),
    (["check", "entries.mean_weight", "-p", "n=16", "-p", "sigma=1", "-p", "j=20"], "assumption j < n does not hold"),
    (["check", "entries.mean_weight", "-p", "n=16", "-p", "sigma=-1", "-p", "j=2"], "sigma must be > 0"),
])
def test_cli_usage_errors_exit_2(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_cli_out_must_be_a_folder(tmp_path, capsys):
    f = tmp_path / "file.txt"
    f.write_text("keep me")
    assert main(["check", "entries.mean_weight", "--out", str(f)]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert f.read_text() == "keep me"


def test_cli_argparse_errors_exit_2():
    with pytest.raises(SystemExit) as e:
        main(["check", "--quick", "--full"])
    assert e.value.code == 2
    assert main([]) == 2


def test_assumptions_that_are_constant_truth_values():
    """A False assumption is refused by name; a True one (implied by the symbols) is dropped."""
    x = sp.Symbol("x", positive=True)
    kw = dict(model=asp.IIDLogits(n=4, sigma=1), lhs=asp.E(asp.stat.ipr), rel="<=", rhs=1)
    with pytest.raises(ValueError, match=r"assumptions\[1\] is False"):
        asp.Claim("user.never", assumptions=[x < 2, x < 0], **kw)
    assert asp.Claim("user.vacuous", assumptions=[x > 0, x < 2], **kw).assumptions == (x < 2,)
