"""The fuzz suite of issue 15: bad inputs across the API and the CLI.

Every API case asserts the exception type, that the parameter is named in the message,
and that the last traceback frame is attnsparse's own (not inside numba, SymPy or numpy).
Every CLI case runs ``attnsparse.cli.main`` in-process (a few run the script in a
subprocess) and asserts exit code 2 and a one-line error on stderr without a traceback.
Hypothesis strategies then throw random floats (NaN and inf included) and integers at the
models' parameters. Nothing here simulates more than a few dozen rows.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import traceback

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import attnsparse as asp
from attnsparse.cli import main
from attnsparse.numeric.check import check_settings
from attnsparse.numeric.simulate import simulate_stats

n, sigma, d = sp.symbols("n sigma d", positive=True)
j = sp.Symbol("j", integer=True, nonnegative=True)
Delta = sp.Symbol("Delta", real=True)
W = np.eye(3)
NAN, INF = float("nan"), float("inf")
HUGE = 2**70
PAYLOAD = "__import__('os').system('touch pwned') + n"
M8 = asp.IIDLogits(n=8, sigma=1)
FOREIGN = ("numba", "sympy", "numpy", "mpmath")
BOOL = (TypeError, ValueError)  # a bool is not a number here: either error type, naming the parameter


# ---------------------------------------------------------------------- helpers
def sim(model, s, samples=16, seed=0):
    """Simulate one statistic on a few rows: the statistics are validated when simulated."""
    return simulate_stats(model, [s], samples=samples, seed=seed)


def claim(cid="fuzz.c", **kw):
    args = dict(model=asp.IIDLogits(n=n, sigma=sigma), lhs=asp.E(asp.stat.weight(0)), rel="==", rhs=1 / n)
    args.update(kw)
    return asp.Claim(cid, **args)


def check(**kw):
    """``claim().check(...)`` at a valid point unless the keywords say otherwise."""
    params = dict(n=8, sigma=1.0)
    settings_ = {k: kw.pop(k) for k in ("seed", "effort", "alpha") if k in kw}
    params.update(kw)
    return claim().check(**settings_, **params)


def derivation():
    D = asp.Derivation("fuzz")
    D.step(sp.log(n), "definition")
    return D


def _last_frame_is_ours(excinfo):
    path = str(excinfo.traceback[-1].path)
    if "site-packages" not in path and "dist-packages" not in path:
        return True, path
    parts = path.replace("\\", "/").split("/")
    return not any(p in FOREIGN for p in parts), path


# ---------------------------------------------------------------------- the API table
# (id, call, exception type(s), text that names the parameter)
API = [
    # IIDLogits: n
    ("iid-n-zero", lambda: asp.IIDLogits(n=0, sigma=1), ValueError, "n"),
    ("iid-n-negative", lambda: asp.IIDLogits(n=-4, sigma=1), ValueError, "n"),
    ("iid-n-float", lambda: asp.IIDLogits(n=2.5, sigma=1), ValueError, "n"),
    ("iid-n-nan", lambda: asp.IIDLogits(n=NAN, sigma=1), ValueError, "n"),
    ("iid-n-inf", lambda: asp.IIDLogits(n=INF, sigma=1), ValueError, "n"),
    ("iid-n-bool", lambda: asp.IIDLogits(n=True, sigma=1), BOOL, "n"),
    ("iid-n-str", lambda: asp.IIDLogits(n="8", sigma=1), TypeError, "n"),
    ("iid-n-complex", lambda: asp.IIDLogits(n=8 + 1j, sigma=1), ValueError, "n"),
    ("iid-n-huge", lambda: asp.IIDLogits(n=HUGE, sigma=1), ValueError, "n"),
    ("iid-n-none", lambda: asp.IIDLogits(n=None, sigma=1), TypeError, "n"),
    # IIDLogits: sigma, mu, offsets, scale_dof
    ("iid-sigma-negative", lambda: asp.IIDLogits(n=8, sigma=-1), ValueError, "sigma"),
    ("iid-sigma-nan", lambda: asp.IIDLogits(n=8, sigma=NAN), ValueError, "sigma"),
    ("iid-sigma-inf", lambda: asp.IIDLogits(n=8, sigma=INF), ValueError, "sigma"),
    ("iid-sigma-bool", lambda: asp.IIDLogits(n=8, sigma=True), BOOL, "sigma"),
    ("iid-sigma-str", lambda: asp.IIDLogits(n=8, sigma="1"), TypeError, "sigma"),
    ("iid-sigma-payload", lambda: asp.IIDLogits(n=8, sigma=PAYLOAD), TypeError, "sigma"),
    ("iid-sigma-complex", lambda: asp.IIDLogits(n=8, sigma=1j), ValueError, "sigma"),
    ("iid-sigma-list", lambda: asp.IIDLogits(n=8, sigma=[1.0]), TypeError, "sigma"),
    ("iid-sigma-sympy-nan", lambda: asp.IIDLogits(n=8, sigma=sp.nan), ValueError, "sigma"),
    ("iid-mu-nan", lambda: asp.IIDLogits(n=8, sigma=1, mu=NAN), ValueError, "mu"),
    ("iid-mu-inf", lambda: asp.IIDLogits(n=8, sigma=1, mu=-INF), ValueError, "mu"),
    ("iid-mu-str", lambda: asp.IIDLogits(n=8, sigma=1, mu="0"), TypeError, "mu"),
    ("iid-mu-complex", lambda: asp.IIDLogits(n=8, sigma=1, mu=1j), ValueError, "mu"),
    ("iid-offsets-str-value", lambda: asp.IIDLogits(n=8, sigma=1, offsets={0: "abc"}), TypeError, "offsets"),
    ("iid-offsets-nan", lambda: asp.IIDLogits(n=8, sigma=1, offsets={0: NAN}), ValueError, "offsets"),
    ("iid-offsets-key-out", lambda: asp.IIDLogits(n=8, sigma=1, offsets={8: 1.0}), ValueError, "offsets"),
    ("iid-offsets-key-neg", lambda: asp.IIDLogits(n=8, sigma=1, offsets={-1: 1.0}), ValueError, "offsets"),
    ("iid-offsets-key-float", lambda: asp.IIDLogits(n=8, sigma=1, offsets={0.5: 1.0}), ValueError, "offsets"),
    ("iid-offsets-list", lambda: asp.IIDLogits(n=8, sigma=1, offsets=[1.0]), (TypeError, ValueError), "offsets"),
    ("iid-offsets-complex", lambda: asp.IIDLogits(n=8, sigma=1, offsets={0: 1j}), (TypeError, ValueError), "offsets"),
    ("iid-offsets-symbolic-unbound", lambda: sim(asp.IIDLogits(n=8, sigma=1, offsets={0: Delta}), asp.stat.ipr),
     (TypeError, ValueError), "Delta"),
    ("iid-scale_dof-negative", lambda: asp.IIDLogits(n=8, sigma=1, scale_dof=-2), ValueError, "scale_dof"),
    ("iid-scale_dof-float", lambda: asp.IIDLogits(n=8, sigma=1, scale_dof=2.5), ValueError, "scale_dof"),
    ("iid-scale_dof-str", lambda: asp.IIDLogits(n=8, sigma=1, scale_dof="2"), TypeError, "scale_dof"),
    # BilinearQK
    ("bqk-n-zero", lambda: asp.BilinearQK(n=0, d=2), ValueError, "n"),
    ("bqk-d-zero", lambda: asp.BilinearQK(n=4, d=0), ValueError, "d"),
    ("bqk-d-negative", lambda: asp.BilinearQK(n=4, d=-3), ValueError, "d"),
    ("bqk-d-float", lambda: asp.BilinearQK(n=4, d=2.5), ValueError, "d"),
    ("bqk-d-huge", lambda: asp.BilinearQK(n=4, d=HUGE), ValueError, "d"),
    ("bqk-d-str", lambda: asp.BilinearQK(n=4, d="2"), TypeError, "d"),
    ("bqk-d-bool", lambda: asp.BilinearQK(n=4, d=True), BOOL, "d"),
    ("bqk-sigma_q-negative", lambda: asp.BilinearQK(n=4, d=2, sigma_q=-1), ValueError, "sigma_q"),
    ("bqk-sigma_q-nan", lambda: asp.BilinearQK(n=4, d=2, sigma_q=NAN), ValueError, "sigma_q"),
    ("bqk-sigma_k-inf", lambda: asp.BilinearQK(n=4, d=2, sigma_k=INF), ValueError, "sigma_k"),
    ("bqk-mu_k-complex", lambda: asp.BilinearQK(n=4, d=2, mu_k=[1 + 1j, 0]), (TypeError, ValueError), "mu_k"),
    ("bqk-mu_k-length", lambda: asp.BilinearQK(n=4, d=3, mu_k=[1.0, 2.0]), ValueError, "mu_k"),
    ("bqk-mu_k-str", lambda: asp.BilinearQK(n=4, d=2, mu_k="0"), TypeError, "mu_k"),
    ("bqk-mu_k-nan", lambda: asp.BilinearQK(n=4, d=2, mu_k=NAN), ValueError, "mu_k"),
    ("bqk-overflow", lambda: sim(asp.BilinearQK(n=8, d=2, sigma_q=1e6, mu_k=1e305), asp.stat.ipr),
     ValueError, "mu_k"),
    ("bqk-scale-zero", lambda: asp.BilinearQK(n=4, d=2, scale=0), ValueError, "scale"),
    ("bqk-scale-nan", lambda: asp.BilinearQK(n=4, d=2, scale=NAN), ValueError, "scale"),
    ("bqk-scale-str", lambda: asp.BilinearQK(n=4, d=2, scale="1"), TypeError, "scale"),
    # SelfAttention
    ("sa-sigma_x-negative", lambda: asp.SelfAttention(n=4, d=3, sigma_x=-1, W_Q=W, W_K=W), ValueError, "sigma_x"),
    ("sa-sigma_x-nan", lambda: asp.SelfAttention(n=4, d=3, sigma_x=NAN, W_Q=W, W_K=W), ValueError, "sigma_x"),
    ("sa-d-zero", lambda: asp.SelfAttention(n=4, d=0, sigma_x=1, W_Q=W, W_K=W), ValueError, "d"),
    ("sa-d-symbolic", lambda: sim(asp.SelfAttention(n=4, d=d, sigma_x=1, W_Q=W, W_K=W), asp.stat.ipr),
     (TypeError, ValueError), "d"),
    ("sa-W_Q-str", lambda: asp.SelfAttention(n=4, d=3, sigma_x=1, W_Q="eye", W_K=W), TypeError, "W_Q"),
    ("sa-W_Q-complex", lambda: asp.SelfAttention(n=4, d=3, sigma_x=1, W_Q=W * (1 + 1j), W_K=W),
     (TypeError, ValueError), "W_Q"),
    ("sa-W_Q-nan", lambda: asp.SelfAttention(n=4, d=3, sigma_x=1, W_Q=W * NAN, W_K=W), ValueError, "W_Q"),
    ("sa-W_Q-1d", lambda: asp.SelfAttention(n=4, d=3, sigma_x=1, W_Q=np.ones(3), W_K=W), ValueError, "W_Q"),
    ("sa-W_K-shape", lambda: asp.SelfAttention(n=4, d=3, sigma_x=1, W_Q=W, W_K=np.eye(2)), ValueError, "W_K"),
    ("sa-W-overflow", lambda: sim(asp.SelfAttention(n=4, d=3, sigma_x=1, W_Q=1e200 * W, W_K=1e200 * W),
                                  asp.stat.ipr), ValueError, "W_Q"),
    ("sa-scale-negative", lambda: asp.SelfAttention(n=4, d=3, sigma_x=1, W_Q=W, W_K=W, scale=-1), ValueError,
     "scale"),
    # statistics (validated when simulated)
    ("stat-count_above-big", lambda: sim(M8, asp.stat.count_above(1.5)), ValueError, "eps"),
    ("stat-count_above-zero", lambda: sim(M8, asp.stat.count_above(0)), ValueError, "eps"),
    ("stat-count_above-nan", lambda: sim(M8, asp.stat.count_above(NAN)), ValueError, "eps"),
    ("stat-count_above-str", lambda: asp.stat.count_above("0.1"), TypeError, "eps"),
    ("stat-k_eps-zero", lambda: sim(M8, asp.stat.k_eps(0)), ValueError, "eps"),
    ("stat-k_eps-one", lambda: sim(M8, asp.stat.k_eps(1)), ValueError, "eps"),
    ("stat-k_eps-inf", lambda: sim(M8, asp.stat.k_eps(INF)), ValueError, "eps"),
    ("stat-topk-negative", lambda: sim(M8, asp.stat.topk_mass(-1)), ValueError, "k"),
    ("stat-topk-float", lambda: sim(M8, asp.stat.topk_mass(2.5)), ValueError, "k"),
    ("stat-topk-bool", lambda: sim(M8, asp.stat.topk_mass(True)), BOOL, "k"),
    ("stat-topk-str", lambda: asp.stat.topk_mass("3"), TypeError, "k"),
    ("stat-tail-nan", lambda: sim(M8, asp.stat.tail_mass(NAN)), ValueError, "k"),
    ("stat-weight-out", lambda: sim(M8, asp.stat.weight(8)), ValueError, "j"),
    ("stat-weight-negative", lambda: sim(M8, asp.stat.weight(-1)), ValueError, "j"),
    ("stat-weight-float", lambda: sim(M8, asp.stat.weight(2.5)), ValueError, "j"),
    ("stat-logit-out", lambda: sim(M8, asp.stat.logit(8)), ValueError, "j"),
    ("stat-logits-index", lambda: sim(M8, asp.stat.logits(lambda s: s[100000])), (IndexError, ValueError),
     "index"),
    ("stat-logits-nan", lambda: check_stat_nan(), ValueError, "logits"),
    ("stat-logits-not-callable", lambda: asp.stat.logits(3), TypeError, "f"),
    # functionals
    ("functional-E-event", lambda: asp.E(asp.stat.ipr > 0.1), TypeError, "P"),
    ("functional-P-stat", lambda: asp.P(asp.stat.ipr), TypeError, "event"),
    ("functional-E-str", lambda: asp.E("ipr"), TypeError, "E"),
    ("functional-quantile-big", lambda: asp.quantile(asp.stat.ipr, 1.5), ValueError, "q"),
    ("functional-quantile-zero", lambda: asp.quantile(asp.stat.ipr, 0), ValueError, "q"),
    ("functional-quantile-nan", lambda: asp.quantile(asp.stat.ipr, NAN), ValueError, "q"),
    ("functional-quantile-str", lambda: asp.quantile(asp.stat.ipr, "0.5"), TypeError, "q"),
    ("event-threshold-str", lambda: asp.stat.ipr > "0.1", TypeError, "threshold"),
    # simulation arguments
    ("simulate-samples-one", lambda: sim(M8, asp.stat.ipr, samples=1), ValueError, "samples"),
    ("simulate-samples-negative", lambda: sim(M8, asp.stat.ipr, samples=-5), ValueError, "samples"),
    ("simulate-samples-float", lambda: sim(M8, asp.stat.ipr, samples=10.5), (TypeError, ValueError), "samples"),
    ("simulate-samples-str", lambda: sim(M8, asp.stat.ipr, samples="10"), (TypeError, ValueError), "samples"),
    ("simulate-seed-negative", lambda: sim(M8, asp.stat.ipr, seed=-3), ValueError, "seed"),
    ("simulate-seed-float", lambda: sim(M8, asp.stat.ipr, seed=1.5), (TypeError, ValueError), "seed"),
    ("simulate-seed-str", lambda: sim(M8, asp.stat.ipr, seed="0"), (TypeError, ValueError), "seed"),
    ("simulate-top_gap-n1", lambda: sim(asp.IIDLogits(n=1, sigma=1), asp.stat.top_gap), ValueError, "top_gap"),
    # Claim construction
    ("claim-id-empty", lambda: claim(""), ValueError, "id"),
    ("claim-id-space", lambda: claim("a b"), ValueError, "id"),
    ("claim-id-int", lambda: claim(3), ValueError, "id"),
    ("claim-model-none", lambda: claim(model=None), TypeError, "model"),
    ("claim-lhs-stat", lambda: claim(lhs=asp.stat.ipr), TypeError, "lhs"),
    ("claim-rel-bad", lambda: claim(rel="<"), ValueError, "rel"),
    ("claim-rel-trend", lambda: claim(rel="trend"), ValueError, "trend"),
    ("claim-approx-no-rtol", lambda: claim(rel="approx"), ValueError, "rtol"),
    ("claim-provenance-bad", lambda: claim(provenance="blog"), ValueError, "provenance"),
    ("claim-expect-bad", lambda: claim(expect="maybe"), ValueError, "expect"),
    ("claim-rhs-payload", lambda: claim(rhs=PAYLOAD), TypeError, "rhs"),
    ("claim-rhs-none", lambda: claim(rhs=None), TypeError, "rhs"),
    ("claim-rhs-object", lambda: claim(rhs=object()), TypeError, "rhs"),
    ("claim-rtol-negative", lambda: claim(rel="approx", rtol=-0.1), ValueError, "rtol"),
    ("claim-rtol-str", lambda: claim(rel="approx", rtol="0.1"), TypeError, "rtol"),
    ("claim-rtol-bool", lambda: claim(rel="approx", rtol=True), TypeError, "rtol"),
    ("claim-atol-nan", lambda: claim(atol=NAN), ValueError, "atol"),
    ("claim-atol-inf", lambda: claim(atol=INF), ValueError, "atol"),
    ("claim-assumption-payload", lambda: claim(assumptions=[PAYLOAD]), TypeError, "assumptions"),
    ("claim-assumption-not-condition", lambda: claim(assumptions=[n + 1]), TypeError, "assumptions"),
    ("claim-points-payload", lambda: claim(points=[{"n": PAYLOAD, "sigma": 1}]), TypeError, "points"),
    ("claim-points-not-dict", lambda: claim(points=[8]), TypeError, "points"),
    ("claim-functional-rhs-bound", lambda: claim(rel="<=", rhs=asp.E(asp.stat.ipr, model=M8)), ValueError,
     "right-hand side"),
    # Claim parameter values
    ("claim-param-n-zero", lambda: check(n=0), ValueError, "n"),
    ("claim-param-n-float", lambda: check(n=2.5), ValueError, "n"),
    ("claim-param-n-bool", lambda: check(n=True), TypeError, "n"),
    ("claim-param-n-huge", lambda: check(n=HUGE), ValueError, "n"),
    ("claim-param-sigma-negative", lambda: check(sigma=-1), ValueError, "sigma"),
    ("claim-param-sigma-nan", lambda: check(sigma=NAN), ValueError, "sigma"),
    ("claim-param-sigma-inf", lambda: check(sigma=INF), ValueError, "sigma"),
    ("claim-param-sigma-str", lambda: check(sigma="1"), TypeError, "sigma"),
    ("claim-param-sigma-payload", lambda: check(sigma=PAYLOAD), TypeError, "sigma"),
    ("claim-param-sigma-complex", lambda: check(sigma=1j), ValueError, "sigma"),
    ("claim-param-unknown", lambda: check(beta=1), ValueError, "beta"),
    ("claim-param-missing", lambda: claim().check(n=8), ValueError, "sigma"),
    # check settings
    ("check-seed-negative", lambda: check(seed=-1), ValueError, "seed"),
    ("check-seed-bool", lambda: check(seed=True), (TypeError, ValueError), "seed"),
    ("check-seed-float", lambda: check(seed=1.5), (TypeError, ValueError), "seed"),
    ("check-seed-str", lambda: check(seed="0"), (TypeError, ValueError), "seed"),
    ("check-alpha-zero", lambda: check(alpha=0), ValueError, "alpha"),
    ("check-alpha-one", lambda: check(alpha=1), ValueError, "alpha"),
    ("check-alpha-nan", lambda: check(alpha=NAN), ValueError, "alpha"),
    ("check-alpha-str", lambda: check(alpha="0.01"), (TypeError, ValueError), "alpha"),
    ("check-alpha-bool", lambda: check(alpha=True), (TypeError, ValueError), "alpha"),
    ("check-effort-name", lambda: check(effort="medium"), ValueError, "effort"),
    ("check-effort-int", lambda: check(effort=5), (TypeError, ValueError), "effort"),
    ("check-effort-max_samples-str", lambda: check(effort={"max_samples": "1000"}), (TypeError, ValueError),
     "max_samples"),
    ("check-effort-max_samples-negative", lambda: check(effort={"max_samples": -1}), ValueError, "max_samples"),
    ("check-effort-initial-zero", lambda: check(effort={"initial": 0}), ValueError, "initial"),
    ("check-effort-max_seconds-nan", lambda: check(effort={"max_seconds": NAN}), ValueError, "max_seconds"),
    ("check-effort-max_seconds-zero", lambda: check(effort={"max_seconds": 0}), ValueError, "max_seconds"),
    ("check-effort-unknown-key", lambda: check(effort={"bogus": 1}), ValueError, "bogus"),
    ("check-hang-one-row-over-budget",
     lambda: claim("x.b", model=asp.BilinearQK(n=2**13, d=512), lhs=asp.E(asp.stat.ipr), rel="<=", rhs=1).check(
         effort={"max_seconds": 0.001, "initial": 16, "max_samples": 32}), ValueError, "max_seconds"),
    # Derivation
    ("derivation-title-empty", lambda: asp.Derivation(""), ValueError, "title"),
    ("derivation-step-payload", lambda: derivation().step(PAYLOAD, "algebra"), TypeError, "expr"),
    ("derivation-step-why-empty", lambda: derivation().step(n, ""), ValueError, "why"),
    ("derivation-step-rel-bad", lambda: derivation().step(n, "algebra", rel="!="), ValueError, "rel"),
    ("derivation-assume-payload", lambda: derivation().assume(PAYLOAD), TypeError, "assumption"),
    ("derivation-assume-not-condition", lambda: derivation().assume(n + 1), TypeError, "condition"),
    ("derivation-define-payload", lambda: derivation().define(sp.Symbol("nu"), PAYLOAD), TypeError, "meaning"),
    ("derivation-define-placeholder-str", lambda: derivation().define("nu", 1), TypeError, "placeholder"),
    ("derivation-domain-reversed", lambda: derivation().domain(n, 2, 1), ValueError, "domain"),
    ("derivation-domain-nan", lambda: derivation().domain(n, NAN, 1), ValueError, "domain"),
    ("derivation-domain-str", lambda: derivation().domain(n, "0", 1), TypeError, "domain"),
    ("derivation-box-empty", lambda: derivation().box(), ValueError, "box"),
    ("derivation-box-not-pair", lambda: derivation().box(n=(1,)), ValueError, "box"),
    ("derivation-box-reversed", lambda: derivation().box(n=(2, 1)), ValueError, "box"),
    ("derivation-check-points", lambda: derivation().check(points=5), ValueError, "points"),
    ("derivation-check-dps", lambda: derivation().check(dps=10), ValueError, "dps"),
    # exact evaluators
    ("exact-dps-zero", lambda: exact("eval_ipr")(0, 8, 1.0), ValueError, "dps"),
    ("exact-dps-str", lambda: exact("eval_ipr")("50", 8, 1.0), (TypeError, ValueError), "dps"),
    ("exact-n-zero", lambda: exact("eval_ipr")(30, 0, 1.0), ValueError, "n"),
    ("exact-n-float", lambda: exact("eval_ipr")(30, 2.5, 1.0), ValueError, "n"),
    ("exact-sigma-negative", lambda: exact("eval_ipr")(30, 8, -1.0), ValueError, "sigma"),
    ("exact-sigma-nan", lambda: exact("eval_log_partition")(30, 8, NAN), ValueError, "sigma"),
    ("exact-sigma-symbol", lambda: exact("eval_entropy")(30, 8, sigma), (TypeError, ValueError), "sigma"),
    ("exact-sigma-str", lambda: exact("eval_ipr")(15, 8, "abc"), (TypeError, ValueError), "sigma"),
    ("exact-moment-k-zero", lambda: exact("eval_moment")(30, 8, 1.0, 0), ValueError, "k"),
    ("exact-topk-k-big", lambda: exact("eval_topk_mass")(10, 8, 1.0, 65), ValueError, "k"),
    ("exact-mass_above-x-nan", lambda: exact("eval_mass_above")(10, 8, 1.0, NAN), ValueError, "x"),
    ("exact-count_above-eps-big", lambda: exact("eval_count_above")(10, 8, 1.0, 1.5), ValueError, "eps"),
    ("exact-bilinear-what", lambda: exact("eval_bilinear")(10, "bogus", 8, 2, 1.0), ValueError, "what"),
    ("exact-bilinear-d-zero", lambda: exact("eval_bilinear")(10, "ipr", 8, 0, 1.0), ValueError, "d"),
    # measure
    ("measure-Q-1d", lambda: asp.measure(np.ones(4), np.ones((8, 4))), ValueError, "Q"),
    ("measure-Q-nan", lambda: asp.measure(np.full((4, 4), NAN), np.ones((8, 4))), ValueError, "Q"),
    ("measure-Q-str", lambda: asp.measure("Q.npy", np.ones((8, 4))), (TypeError, ValueError), "Q"),
    ("measure-K-d-mismatch", lambda: asp.measure(np.ones((4, 4)), np.ones((8, 3))), ValueError, "K"),
    ("measure-huge-logits", lambda: asp.measure(RNG.standard_normal((8, 4)) * 1e154, RNG.standard_normal((8, 4))),
     ValueError, "logit"),
    ("measure-scale-zero", lambda: asp.measure(Q8, K8, scale=0), ValueError, "scale"),
    ("measure-scale-nan", lambda: asp.measure(Q8, K8, scale=NAN), ValueError, "scale"),
    ("measure-topk-zero", lambda: asp.measure(Q8, K8, topk=(0,)), ValueError, "topk"),
    ("measure-eps-big", lambda: asp.measure(Q8, K8, eps=(1.5,)), ValueError, "eps"),
    ("measure-sink-negative", lambda: asp.measure(Q8, K8, sink=-1), ValueError, "sink"),
    ("measure-window-zero", lambda: asp.measure(Q8, K8, window=0), ValueError, "window"),
    ("measure-h2o-big", lambda: asp.measure(Q8, K8, h2o=2.0), ValueError, "h2o"),
    ("measure-keep-zero", lambda: asp.measure(Q8, K8, keep=0), ValueError, "keep"),
    ("measure-seed-negative", lambda: asp.measure(Q8, K8, seed=-1), ValueError, "seed"),
    # catalogue
    ("get-unknown", lambda: asp.get("entries.no_such_claim"), KeyError, "entries.no_such_claim"),
    ("get-close-match", lambda: asp.get("entries.mean_weigth"), KeyError, "entries.mean_weight"),
    ("sweep-imports-unknown", lambda: load_spec_text('imports = ["no_such_module"]\n'),
     (ValueError, ImportError), "no_such_module"),
]

RNG = np.random.default_rng(0)
Q8, K8 = RNG.standard_normal((8, 4)), RNG.standard_normal((16, 4))


def exact(name):
    from attnsparse.numeric import exact as ex

    return getattr(ex, name)


def check_stat_nan():
    c = asp.Claim("fuzz.nan", model=asp.IIDLogits(n=n, sigma=sigma), lhs=asp.E(asp.stat.logits(lambda s: np.nan)),
                  rel="==", rhs=1)
    return c.check(n=8, sigma=1.0, effort={"initial": 16, "max_samples": 64, "max_seconds": 10.0})


SMALL_SPEC = """
name = "fuzz"
samples = 50
seed = 1
[model]
kind = "iid"
n = "n"
sigma = "1"
[grid]
n = [8]
[stats]
p1 = "max_weight"
"""


def load_spec_text(extra, tmp=[]):  # noqa: B006 -- one temporary folder per session is enough
    import tempfile

    from attnsparse.sweep.spec import load_spec

    if not tmp:
        tmp.append(tempfile.mkdtemp(prefix="attnsparse-fuzz-"))
    path = os.path.join(tmp[0], "spec.toml")
    with open(path, "w") as f:
        f.write(extra + SMALL_SPEC)
    return load_spec(path)


assert len({c[0] for c in API}) == len(API), "case ids must be unique"


@pytest.fixture
def no_payload_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    yield
    assert not (tmp_path / "pwned").exists(), "a user string was evaluated as code"


@pytest.mark.parametrize("case", API, ids=[c[0] for c in API])
def test_api_bad_input(case, no_payload_file):
    _, call, exc, name = case
    with pytest.raises(Exception) as ei:
        call()
    e = ei.value
    assert isinstance(e, exc), f"{type(e).__name__}: {e} (expected {exc})\n" + "".join(
        traceback.format_exception(e)[-3:])
    msg = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
    assert name.lower() in msg.lower(), f"the message does not name {name!r}: {msg}"
    ours, path = _last_frame_is_ours(ei)
    assert ours, f"the error comes from inside {path}: {type(e).__name__}: {e}"


# ---------------------------------------------------------------------- valid inputs that must be accepted
def test_valid_numpy_scalars_are_accepted():
    check_settings(0, "quick", np.float32(0.01))  # issue 15: a valid np.float32 alpha was refused
    check_settings(np.int64(3), "quick", 0.01)
    asp.IIDLogits(n=np.int64(8), sigma=np.float32(1.5))
    claim(rel="approx", rtol=np.float32(0.05))


def test_large_mu_cancels():
    """``mu`` cancels in every softmax quantity: a huge offset gives the same rows, or a clear error."""
    s = [asp.stat.max_weight]
    base = simulate_stats(asp.IIDLogits(n=64, sigma=1), s, samples=64, seed=0)
    try:
        far = simulate_stats(asp.IIDLogits(n=64, sigma=1, mu=1e17), s, samples=64, seed=0)
    except ValueError as e:
        assert "mu" in str(e)
        return
    np.testing.assert_allclose(np.asarray(far), np.asarray(base), rtol=1e-9)


# ---------------------------------------------------------------------- the CLI table
# (id, argv with {placeholders}, text that names the offending argument)
CLI = [
    ("cli-no-command-unknown", ["frobnicate"], "frobnicate"),
    ("list-unknown-option", ["list", "--bogus"], "--bogus"),
    ("show-missing-id", ["show"], "id"),
    ("show-unknown-id", ["show", "entries.no_such_claim"], "entries.no_such_claim"),
    ("show-payload-id", ["show", PAYLOAD], "no claim"),
    ("check-seed-negative", ["check", "entries.mean_weight", "--seed", "-1"], "--seed"),
    ("check-seed-text", ["check", "--seed", "x"], "--seed"),
    ("check-seed-float", ["check", "--seed", "1.5"], "--seed"),
    ("check-alpha-zero", ["check", "entries.mean_weight", "--alpha", "0"], "--alpha"),
    ("check-alpha-big", ["check", "entries.mean_weight", "--alpha", "2"], "--alpha"),
    ("check-alpha-nan", ["check", "entries.mean_weight", "--alpha", "nan"], "--alpha"),
    ("check-alpha-text", ["check", "--alpha", "x"], "--alpha"),
    ("check-quick-and-full", ["check", "--quick", "--full"], "--full"),
    ("check-unknown-id", ["check", "entries.no_such_claim"], "entries.no_such_claim"),
    ("check-param-no-equals", ["check", "entries.mean_weight", "-p", "sigma"], "--param"),
    ("check-param-not-number", ["check", "entries.mean_weight", "-p", "n=abc"], "n"),
    ("check-param-payload", ["check", "entries.mean_weight", "-p", "n=" + PAYLOAD], "n"),
    ("check-param-no-id", ["check", "-p", "n=8"], "--param"),
    ("check-param-unknown", ["check", "entries.mean_weight", "-p", "beta=1"], "beta"),
    ("check-param-n-negative", ["check", "entries.mean_weight", "-p", "n=-5", "-p", "sigma=1", "-p", "j=0"], "n"),
    ("check-param-sigma-nan", ["check", "entries.mean_weight", "-p", "n=8", "-p", "sigma=nan", "-p", "j=0"],
     "sigma"),
    ("check-param-merge", ["check", "entries.mean_weight", "-p", "sigma=-1"], "sigma"),
    ("check-out-is-file", ["check", "entries.mean_weight", "--out", "{file}"], "--out"),
    ("check-out-unwritable", ["check", "entries.mean_weight", "--out", "/proc/attnsparse-fuzz"], "--out"),
    ("measure-missing-file", ["measure", "{missing}", "{K}"], "missing.npy"),
    ("measure-corrupt-npy", ["measure", "{corrupt}", "{K}"], "corrupt.npy"),
    ("measure-text-file", ["measure", "{file}", "{K}"], "file.txt"),
    ("measure-directory", ["measure", "{dir}", "{K}"], "adir"),
    ("measure-Q-1d", ["measure", "{Q1d}", "{K}"], "Q"),
    ("measure-Q-nan", ["measure", "{Qnan}", "{K}"], "Q"),
    ("measure-d-mismatch", ["measure", "{Q}", "{Kd3}"], "K"),
    ("measure-huge-logits", ["measure", "{Qhuge}", "{K}"], "logit"),
    ("measure-topk-zero", ["measure", "{Q}", "{K}", "--topk", "0"], "topk"),
    ("measure-topk-text", ["measure", "{Q}", "{K}", "--topk", "a,b"], "--topk"),
    ("measure-eps-big", ["measure", "{Q}", "{K}", "--eps", "1.5"], "eps"),
    ("measure-sink-negative", ["measure", "{Q}", "{K}", "--sink", "-1"], "sink"),
    ("measure-window-zero", ["measure", "{Q}", "{K}", "--window", "0"], "window"),
    ("measure-h2o-big", ["measure", "{Q}", "{K}", "--h2o", "2"], "h2o"),
    ("measure-scale-nan", ["measure", "{Q}", "{K}", "--scale", "nan"], "scale"),
    ("measure-keep-zero", ["measure", "{Q}", "{K}", "--keep", "0"], "keep"),
    ("measure-seed-negative", ["measure", "{Q}", "{K}", "--seed", "-1"], "seed"),
    ("measure-out-unwritable", ["measure", "{Q}", "{K}", "--out", "/proc/attnsparse-fuzz/m.json"], "--out"),
    ("latex-unknown-id", ["latex", "entries.no_such_claim", "--no-check"], "entries.no_such_claim"),
    ("latex-seed-negative", ["latex", "entries.mean_weight", "--seed", "-1"], "--seed"),
    ("latex-report-missing", ["latex", "entries.mean_weight", "--report", "{missing}"], "missing.npy"),
    ("latex-report-wrong-schema", ["latex", "entries.mean_weight", "--report", "{badreport}"], "report"),
    ("latex-report-and-no-check", ["latex", "--report", "{badreport}", "--no-check"], "--no-check"),
    ("latex-out-unwritable", ["latex", "entries.mean_weight", "--no-check", "--out", "/proc/attnsparse-fuzz/x.tex"],
     "--out"),
    ("sweep-spec-missing", ["sweep", "{missing}"], "missing.npy"),
    ("sweep-spec-directory", ["sweep", "{dir}"], "adir"),
    ("sweep-spec-binary", ["sweep", "{corrupt}"], "corrupt.npy"),
    ("sweep-spec-bad-toml", ["sweep", "{badtoml}"], "bad.toml"),
    ("sweep-workers-zero", ["sweep", "{spec}", "--workers", "0"], "--workers"),
    ("sweep-workers-text", ["sweep", "{spec}", "--workers", "x"], "--workers"),
    ("sweep-executor-bad", ["sweep", "{spec}", "--executor", "threads"], "--executor"),
    ("sweep-out-is-file", ["sweep", "{spec}", "--out", "{file}"], "file.txt"),
    ("sweep-out-unwritable", ["sweep", "{spec}", "--out", "/proc/attnsparse-fuzz"], "--out"),
    ("plot-source-missing", ["plot", "{missing}"], "missing.npy"),
    ("plot-source-not-store", ["plot", "{dir}"], "adir"),
    ("reproduce-seed-negative", ["reproduce", "--seed", "-1"], "--seed"),
    ("reproduce-quick-and-full", ["reproduce", "--quick", "--full"], "--full"),
    ("reproduce-out-unwritable", ["reproduce", "--out", "/proc/attnsparse-fuzz"], "--out"),
    ("reproduce-out-is-file", ["reproduce", "--out", "{file}"], "file.txt"),
]
assert len({c[0] for c in CLI}) == len(CLI), "case ids must be unique"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzzfiles")
    rng = np.random.default_rng(1)
    paths = {}

    def save(key, arr):
        paths[key] = str(folder / f"{key}.npy")
        np.save(paths[key], arr)

    save("Q", rng.standard_normal((8, 4)))
    save("K", rng.standard_normal((16, 4)))
    save("Q1d", rng.standard_normal(4))
    save("Qnan", np.full((8, 4), np.nan))
    save("Kd3", rng.standard_normal((16, 3)))
    save("Qhuge", rng.standard_normal((8, 4)) * 1e154)
    paths["corrupt"] = str(folder / "corrupt.npy")
    with open(paths["corrupt"], "wb") as f:
        f.write(b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (8, 4), }" + b"\xff" * 40)
    paths["missing"] = str(folder / "missing.npy")
    paths["file"] = str(folder / "file.txt")
    with open(paths["file"], "w") as f:
        f.write("not a folder\n")
    paths["dir"] = str(folder / "adir")
    os.mkdir(paths["dir"])
    paths["badreport"] = str(folder / "report.json")
    with open(paths["badreport"], "w") as f:
        f.write('["not", "a", "report"]\n')
    paths["badtoml"] = str(folder / "bad.toml")
    with open(paths["badtoml"], "w") as f:
        f.write("name = [unclosed\n")
    paths["spec"] = str(folder / "spec.toml")
    with open(paths["spec"], "w") as f:
        f.write(SMALL_SPEC)
    return paths


def _one_error_line(stderr):
    """The error lines of stderr, without argparse's usage block and tqdm's progress lines."""
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    if lines and lines[0].startswith("usage:"):
        lines = [ln for ln in lines if ln.startswith("attnsparse")]
    return lines


def run_cli(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    except BaseException as e:  # noqa: BLE001 -- reported as the failure
        pytest.fail(f"uncaught {type(e).__name__} from attnsparse {' '.join(argv)}:\n{traceback.format_exc()}")
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("case", CLI, ids=[c[0] for c in CLI])
def test_cli_bad_input(case, files, capsys, tmp_path, monkeypatch):
    cid, argv, name = case
    monkeypatch.chdir(tmp_path)
    argv = [a.format(**files) if a.startswith("{") else a for a in argv]
    code, out, err = run_cli(argv, capsys)
    assert code == 2, f"exit {code}; stderr: {err[-2000:]}"
    assert "Traceback" not in err, err
    lines = _one_error_line(err)
    assert len(lines) == 1, f"not one error line: {err!r}"
    assert "error" in lines[0] and name.lower() in lines[0].lower(), lines[0]
    assert not (tmp_path / "pwned").exists()


# a few through the installed script: the error boundary holds outside pytest too
SCRIPT_CASES = ["check-seed-negative", "measure-corrupt-npy", "sweep-spec-directory", "show-unknown-id"]


@pytest.mark.parametrize("cid", SCRIPT_CASES)
def test_cli_bad_input_in_a_subprocess(cid, files, tmp_path):
    _, argv, name = next(c for c in CLI if c[0] == cid)
    argv = [a.format(**files) if a.startswith("{") else a for a in argv]
    proc = subprocess.run([sys.executable, "-m", "attnsparse", *argv], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = _one_error_line(proc.stderr)
    assert len(lines) == 1 and name.lower() in lines[0].lower(), proc.stderr


# ---------------------------------------------------------------------- hypothesis strategies
floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([NAN, INF, -INF, 0.0, -0.0, 1e308])
ints = st.integers(min_value=-(2**70), max_value=2**70)
anything = floats | ints | st.booleans() | st.text(max_size=5) | st.complex_numbers(max_magnitude=10) | st.none()
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _clear_or_fine(build, name):
    """``build()`` succeeds, or fails with a ValueError/TypeError naming ``name`` raised by attnsparse."""
    try:
        return build()
    except (ValueError, TypeError) as e:
        assert name in str(e), f"{type(e).__name__}: {e}"
        frames = traceback.extract_tb(e.__traceback__)
        parts = frames[-1].filename.replace("\\", "/").split("/")
        assert "site-packages" not in parts or not any(p in FOREIGN for p in parts), frames[-1].filename
        return None


@FUZZ
@given(x=anything)
def test_iid_sigma(x):
    m = _clear_or_fine(lambda: asp.IIDLogits(n=8, sigma=x), "sigma")
    if m is not None:
        x = x.real if isinstance(x, complex) and x.imag == 0 else x
        assert isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x >= 0


@FUZZ
@given(x=anything)
def test_iid_mu(x):
    _clear_or_fine(lambda: asp.IIDLogits(n=8, sigma=1, mu=x), "mu")


@FUZZ
@given(x=anything)
def test_iid_n(x):
    m = _clear_or_fine(lambda: asp.IIDLogits(n=x, sigma=1), "n")
    if m is not None:
        x = x.real if isinstance(x, complex) and x.imag == 0 else x
        assert not isinstance(x, (bool, complex)) and x == int(x) and x >= 1


@FUZZ
@given(q=anything, k=anything)
def test_bilinear_scales(q, k):
    _clear_or_fine(lambda: asp.BilinearQK(n=4, d=2, sigma_q=q, sigma_k=k), "sigma_")


@FUZZ
@given(x=anything)
def test_claim_tolerance(x):
    c = _clear_or_fine(lambda: claim(rel="approx", rtol=x), "rtol")
    if c is not None:
        assert 0 <= c.rtol < INF


@FUZZ
@given(x=anything)
def test_check_alpha(x):
    _clear_or_fine(lambda: check_settings(0, "quick", x), "alpha")


@FUZZ
@given(x=anything)
def test_claim_parameter_value(x):
    _clear_or_fine(lambda: claim().parameter_values({"n": 8, "sigma": x}), "sigma")


@settings(max_examples=20, deadline=None)
@given(x=st.floats(max_value=-1e-300) | st.sampled_from([NAN, INF, -INF]))
def test_exact_sigma(x):
    _clear_or_fine(lambda: exact("eval_ipr")(15, 4, x), "sigma")
