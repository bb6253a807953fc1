"""Fixtures of the whole suite: the naive reference, and a guard on mpmath's global precision.

``naive`` is tests/naive.py, loaded from its file (no ``sys.path`` change) once per
session: session scope, so ``@given`` tests may take it (hypothesis refuses
function-scoped fixtures, which would not be reset between examples), and the module is
stateless, so sharing it is safe.
"""

import importlib.util
from pathlib import Path

import mpmath
import pytest


@pytest.fixture(scope="session")
def naive():
    """The slow, obvious reference implementations (tests/naive.py)."""
    spec = importlib.util.spec_from_file_location("attnsparse_tests_naive", Path(__file__).with_name("naive.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _mpmath_precision_unchanged():
    """Fail a test that leaves ``mpmath.mp.dps`` or ``mpmath.iv.prec`` changed (PITFALLS 7);
    restore them, so that the tests after it run at the usual precision."""
    dps, prec = mpmath.mp.dps, mpmath.iv.prec
    yield
    now = mpmath.mp.dps, mpmath.iv.prec
    mpmath.mp.dps, mpmath.iv.prec = dps, prec
    if now != (dps, prec):
        pytest.fail(f"the test left mpmath's global precision changed: mp.dps {dps} -> {now[0]}, "
                    f"iv.prec {prec} -> {now[1]}; use mp.workdps / a local context", pytrace=False)
