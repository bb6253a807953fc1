"""Interval checks of derivation steps use a private interval context (no global precision)."""

import mpmath as mp
import sympy as sp

from attnsparse.numeric.intervals import endpoints, interval_context, monotone
from attnsparse.proofs.derivation import Derivation


def test_a_private_context_leaves_the_global_one_alone():
    before = mp.iv.prec
    ctx = interval_context(300)
    assert ctx.prec == 300 and mp.iv.prec == before
    ctx.prec = 120
    assert mp.iv.prec == before


def test_monotone_encloses_the_function_on_the_interval():
    ctx = interval_context(100)
    lo, hi = endpoints(monotone(ctx, mp.erf, True)(ctx.mpf([0.5, 1.5])))
    with mp.workprec(200):  # compare with values more precise than the enclosure
        assert lo <= mp.erf(mp.mpf(0.5)) and hi >= mp.erf(mp.mpf(1.5)) and hi - lo < 1


def test_a_box_check_does_not_touch_mp_iv_prec():
    t = sp.Symbol("t", positive=True)
    D = Derivation("log(1 + t) <= t")
    D.step(sp.log(1 + t), "definition")
    D.step(t, "concavity", rel="<=")
    D.box(t=(0.1, 2))
    before = mp.iv.prec
    out = D.check()
    assert mp.iv.prec == before
    assert out.ok and "proved" in out.steps[0].detail, out.text()
