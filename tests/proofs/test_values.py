"""No user text reaches SymPy's parser: strings are refused, naming the parameter (issue 15)."""

import os

import numpy as np
import pytest
import sympy as sp

import attnsparse as asp
from attnsparse.proofs.values import as_real, as_sympy, as_tolerance

n, sigma = sp.symbols("n sigma", positive=True)
MODEL = asp.IIDLogits(n=n, sigma=sigma)
PAYLOAD = "__import__('os').system('touch pwned') + n"


def _claim(**kw):
    args = dict(model=MODEL, lhs=asp.E(asp.stat.weight(0)), rel="==", rhs=1 / n)
    args.update(kw)
    return asp.Claim("values.test", **args)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    assert not os.path.exists(tmp_path / "pwned"), "a user string was evaluated as code"


CLAIM_CASES = {
    "rhs": (dict(rhs=PAYLOAD), r"rhs must be a SymPy expression or a number, not a string.*sympy\.symbols"),
    "assumptions": (dict(assumptions=[PAYLOAD]), r"assumptions\[0\] must be a SymPy expression"),
    "assumption_single": (dict(assumptions=PAYLOAD), r"assumptions\[0\] must be a SymPy expression"),
    "points": (dict(points=[{"n": PAYLOAD, "sigma": 1}]), r"parameter n of points\[0\] must be a number, not a string"),
    "rtol": (dict(rel="approx", rtol=PAYLOAD), r"rtol must be a finite number >= 0, not a string"),
    "atol": (dict(atol=PAYLOAD), r"atol must be a finite number >= 0, not a string"),
}


@pytest.mark.parametrize("case", sorted(CLAIM_CASES))
def test_claim_refuses_strings_and_runs_nothing(case, in_tmp):
    kw, match = CLAIM_CASES[case]
    with pytest.raises(TypeError, match=match):
        _claim(**kw)


def test_claim_parameter_values_refuse_strings(in_tmp):
    with pytest.raises(TypeError, match="parameter n must be a number, not a string"):
        _claim().bind({"n": PAYLOAD, "sigma": 1})


DERIVATION_CASES = {
    "step": lambda D: D.step(PAYLOAD, "algebra"),
    "assume": lambda D: D.assume(PAYLOAD),
    "define": lambda D: D.define(sp.Symbol("nu"), PAYLOAD),
    "init_assumptions": lambda D: asp.Derivation("t", assumptions=[PAYLOAD]),
    "domain": lambda D: D.domain(n, PAYLOAD, 2),
    "box": lambda D: D.box(n=(1, PAYLOAD)),
}
DERIVATION_NAMES = {"step": "expr", "assume": "assumption", "define": "meaning", "init_assumptions": "assumption",
                    "domain": "domain of n: lo", "box": "box range of n: hi"}


@pytest.mark.parametrize("case", sorted(DERIVATION_CASES))
def test_derivation_refuses_strings_and_runs_nothing(case, in_tmp):
    D = asp.Derivation("string test")
    with pytest.raises(TypeError, match=f"{DERIVATION_NAMES[case]} must be .*not a string"):
        DERIVATION_CASES[case](D)


def test_rhs_none_is_refused_at_construction():
    with pytest.raises(TypeError, match="rhs must be given"):
        _claim(rhs=None)


@pytest.mark.parametrize("kw, exc, match", [
    (dict(rtol=True, rel="approx"), TypeError, "rtol must be a finite number >= 0, got bool"),
    (dict(atol=-1.0), ValueError, "atol must be a finite number >= 0"),
    (dict(atol=float("nan")), ValueError, "atol must be a finite number >= 0"),
    (dict(rtol=float("inf"), rel="approx"), ValueError, "rtol must be a finite number >= 0"),
    (dict(rtol=1j, rel="approx"), TypeError, "rtol must be a finite number >= 0, got complex"),
    (dict(assumptions=[n + 1]), TypeError, r"assumptions\[0\] must be a condition"),
    (dict(points=[[("n", 8)]]), TypeError, r"points\[0\] must be a dict"),
    (dict(points=[{"n": None}]), TypeError, r"parameter n of points\[0\] must be a number, got None"),
    (dict(rhs=object()), TypeError, "rhs must be a SymPy expression or a number, got object"),
])
def test_claim_construction_errors_name_the_parameter(kw, exc, match):
    with pytest.raises(exc, match=match):
        _claim(**kw)


def test_numpy_tolerances_and_symbolic_values_are_accepted():
    c = _claim(rel="approx", rtol=np.float32(0.05), atol=np.int64(0), points=[{"n": np.int64(8), "sigma": 1.5}])
    assert c.rtol == pytest.approx(0.05) and c.atol == 0.0
    assert _claim(rhs=sp.Integer(1) / n, assumptions=sigma < 3).assumptions == (sigma < 3,)


def test_the_helpers():
    assert as_sympy(2, "x") == 2 and as_sympy(n, "x") is n
    with pytest.raises(TypeError, match="x must be a SymPy expression or a number, not a string"):
        as_sympy(b"1", "x")
    with pytest.raises(TypeError, match="x must be a SymPy expression or a number, not a string"):
        as_sympy(np.str_("1"), "x")
    assert as_real(sp.pi, "lo") is sp.pi
    with pytest.raises(ValueError, match="lo must be a finite real number"):
        as_real(1 + 2j, "lo")
    with pytest.raises(TypeError, match="lo must be a finite real number, got True"):
        as_real(True, "lo")
    assert as_tolerance(sp.Rational(1, 10), "rtol") == 0.1
