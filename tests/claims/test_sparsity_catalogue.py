"""The sparsity catalogue: provenance labels, printing, and cheap checks of its claims."""

import subprocess
import sys

import numpy as np
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
            assert c.statement.startswith("[R]"), c.id
    out = subprocess.run([sys.executable, "-m", "attnsparse", "list"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if line.strip().startswith("sparsity.nC_rate ")]
    assert len(lines) == 1 and "[R]" in lines[0]


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
    expected = float(sp.exp(sp.Rational(8, 10) ** 2 / 2)
                     * (1 + sp.erf((sp.Rational(5, 8) - sp.Rational(8, 10)) / sp.sqrt(2))) / 2)
    assert abs(val - expected) < 1e-12
    assert "tilting" in asp.get("phases.k_eps_rule_derivation").derivation.text()


def test_logit_scale_check_and_bound_check():
    r = asp.get("selfattention.logit_scale").check(seed=2, n=16, sigma_x=1.0)
    assert r.verdict == "consistent", r
    r = asp.get("selfattention.max_logit_bound").check(seed=2, n=256, sigma_x=0.5, delta=0.05)
    assert r.verdict == "consistent", r


def test_latex_prints_trend_relation():
    # what the law means (issue 12): a power of n with the predicted exponent, not "E tau ~ exponent"
    tex = asp.get("sparsity.nC_rate").latex()
    assert r"= n^{b + o(1)}" in tex and r"\pm 0.1" in tex and r"\sim" not in tex


def test_nC_rate_derivation_checks_and_gives_the_claimed_exponent():
    import mpmath as mp

    from attnsparse.proofs.claims.sparsity import C, derivation_nC_rate, gamma

    D = derivation_nC_rate()
    report = D.check()
    statuses = [s.status for s in report.steps]
    assert statuses.count("verified") == 2 and statuses.count("asymptotic") == 3, report
    # the exponent of n in the derived rate tends to the claim's exponent (the rest is a 1/sqrt(ln n) factor)
    rhs = asp.get("sparsity.nC_rate").rhs
    n = [s for s in D.result.free_symbols if s.name == "n"][0]
    at = {gamma: sp.Rational(4, 5), C: sp.Rational(7, 10)}
    errs = []
    with mp.workdps(30):
        for big in (sp.Integer(10) ** 50, sp.Integer(10) ** 300):
            local = sp.N(sp.log(D.result.subs(at).subs(n, big)) / sp.log(big), 30)
            errs.append(abs(float(local - rhs.subs(at))))
    # the error is ln(2 sqrt(pi ln n)(sqrt(gamma) - sqrt(1-C)))/ln n: 0.022 at 1e50, 0.005 at 1e300
    assert errs[1] < 0.006 and errs[1] < errs[0] / 4, errs


def _wrong_residual(s, a):
    """A mutant of the TV identity: |TV - tau/2| (wrong by a factor 2); not identically 0."""
    k = int(a[0])
    p = np.exp(s - s.max())
    p /= p.sum()
    order = np.argsort(-p)
    head = 0.0
    for i in range(k):
        head += p[order[i]]
    tv = 0.0
    for i in range(len(p)):
        q = p[order[i]] / head if i < k else 0.0
        tv += 0.5 * abs(p[order[i]] - q)
    return abs(tv - 0.5 * (1 - head))


def test_identity_claims_refute_a_wrong_identity():
    from attnsparse.proofs import symbols as S
    from attnsparse.proofs.claims.sparsity import ROUNDING

    good = asp.get("sparsity.tv_is_tail_mass").check(seed=0, n=256, sigma=2.0, k=8)
    assert good.verdict == "consistent" and good.estimate < 1e-12
    mutant = asp.Claim("user.tv_mutant", model=asp.IIDLogits(n=S.n, sigma=S.sigma),
                       lhs=asp.E(asp.stat.logits(_wrong_residual, S.k)), rel="<=", rhs=ROUNDING)
    assert mutant.check(seed=0, n=256, sigma=2.0, k=8).verdict == "refuted"
