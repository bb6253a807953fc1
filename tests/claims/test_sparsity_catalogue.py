"""The sparsity catalogue: provenance labels, printing, and cheap checks of its claims."""

import subprocess
import sys

import sympy as sp

import attnsparse as asp

AREAS = ("sparsity", "collapse", "phases", "extremes", "selfattention")


def _mine():
    return [c for c in asp.claims() if c.area in AREAS]


def test_every_claim_has_points_or_is_a_derivation_twin_and_a_provenance():
    for c in _mine():
        assert c.provenance in asp.PROVENANCE
        assert c.points or c.id.endswith("_derivation"), c.id


def test_reconstructed_statements_are_marked_as_ours():
    for c in _mine():
        if c.provenance == "reconstructed":
            assert "[R]" in c.statement or "[R]" in asp.PROVENANCE[c.provenance]
    out = subprocess.run([sys.executable, "-m", "attnsparse", "list"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "sparsity.nC_rate" in line:
            assert "[R]" in line


def test_seed_paper_claims_are_present():
    ids = {c.id for c in _mine()}
    for needed in ("selfattention.logit_scale", "selfattention.max_logit_bound", "selfattention.weight_bound",
                   "sparsity.nC_sparse", "sparsity.log_insufficient", "collapse.k_eps_bounded",
                   "sparsity.adaptive_window", "sparsity.count_mean_field", "sparsity.tv_is_tail_mass",
                   "sparsity.output_error"):
        assert needed in ids


def test_derivations_are_sympy_and_tilting_is_exact():
    c = asp.get("phases.tilting")
    t, s = sp.Symbol("t", real=True), sp.Symbol("sigma", positive=True)
    val = float(c.rhs.subs({t: 0.5, s: 0.8}))
    expected = float(sp.exp(sp.Rational(8, 10) ** 2 / 2) * (1 + sp.erf((sp.Rational(5, 8) - sp.Rational(8, 10)) / sp.sqrt(2))) / 2)
    assert abs(val - expected) < 1e-12
    assert "tilting" in asp.get("phases.k_eps_rule_derivation").derivation.text()


def test_logit_scale_check_and_bound_check():
    r = asp.get("selfattention.logit_scale").check(seed=2, n=16, sigma_x=1.0)
    assert r.verdict == "consistent", r
    r = asp.get("selfattention.max_logit_bound").check(seed=2, n=256, sigma_x=0.5, delta=0.05)
    assert r.verdict == "consistent", r


def test_latex_prints_trend_relation():
    assert r"\sim" in asp.get("sparsity.nC_rate").latex()
