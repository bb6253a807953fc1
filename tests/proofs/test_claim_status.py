"""Derivation status travels with the claim: a failed step refutes it, cited steps are counted,
and the status is stated by the check result, the report table, the JSON and the LaTeX stamp."""

import json

import pytest
import sympy as sp

from attnsparse import report
from attnsparse.numeric.check import holm
from attnsparse.numeric.models import IIDLogits
from attnsparse.numeric.statistics import E, stat
from attnsparse.proofs import symbols as S
from attnsparse.proofs.checking import DERIVATION_STATUSES, derivation_status
from attnsparse.proofs.claim import Claim
from attnsparse.proofs.derivation import Derivation
from attnsparse.proofs.document import claim_environment

IID = IIDLogits(n=S.n, sigma=S.sigma, mu=S.mu)
POINT = dict(n=16, sigma=0.5, mu=0)
MEAN = S.n * sp.exp(S.mu + S.sigma**2 / 2)


def _derivation(wrong):
    D = Derivation("mean of the partition function" + (" (a factor sqrt 2 lost)" if wrong else ""))
    D.step(sp.Symbol(r"\mathbb{E} Z"), "definition")
    D.step(S.n * sp.Symbol(r"\mathbb{E} e^{s_1}"), "linearity")  # cited: the placeholder has no meaning
    D.step(MEAN, "Gaussian MGF lemma")  # cited too (its left side holds the placeholder)
    if wrong:  # the chain ends at the right formula, through a wrong algebra step
        D.step(sp.sqrt(2) * S.n * sp.exp(S.mu) * sp.exp(S.sigma**2 / 2), "algebra")
        D.step(MEAN, "algebra")
    else:
        D.step(S.n * sp.exp(S.mu) * sp.exp(S.sigma**2 / 2), "algebra")
    return D


def _claim(wrong):
    return Claim.from_derivation(_derivation(wrong), "test.partition_" + ("wrong" if wrong else "right"),
                                 model=IID, lhs=E(stat.partition))


@pytest.fixture(scope="module")
def wrong_result():
    c = _claim(True)
    return c, c.check(seed=0, **POINT)


def test_a_failed_step_refutes_the_claim_whatever_the_simulation_says(wrong_result):
    c, r = wrong_result
    assert c.derivation_report.failed and c.derivation_report.failed[0].number == 3
    assert r.verdict == "refuted" and r.unexpected
    assert r.reason.startswith("derivation step 3 failed at ")
    assert "n = " in r.reason and "sigma = " in r.reason  # the counterexample point
    # the right-hand side is the true mean: the simulation alone agrees, and that is kept too
    assert r.extra["simulation"]["verdict"] == "consistent"
    d = r.extra["derivation"]
    assert d["status"] == "failed" and d["steps"] == 4 and d["failed"] >= 1 and d["cited"] == 2
    # a counterexample is not statistical: Holm's correction keeps the refutation
    assert holm([r], 1e-3)[0].verdict == "refuted"


def test_the_status_is_stated_in_table_json_and_latex(wrong_result):
    c, r = wrong_result
    table = report.table([r])
    assert "derivation" in table.splitlines()[0] and "failed: step 3 failed at" in table
    assert "(simulation: consistent)" in table
    data = json.loads(report.as_json([r], {"effort": "quick", "seed": 0}))
    assert data["results"][0]["extra"]["derivation"]["status"] == "failed"
    tex = claim_environment(c, data["results"][0])
    assert r"\textbf{refuted}" in tex and r"derivation \textbf{failed}" in tex
    assert "simulation alone: consistent" in tex and r"\textbf{consistent}" not in tex
    assert r"(1) \emph{cited}" in tex and r"(3) \textbf{failed} at" in tex  # each step marked


def test_cited_steps_are_counted_and_the_claim_stays_consistent():
    c = _claim(False)
    r = c.check(seed=0, **POINT)
    d = r.extra["derivation"]
    assert r.verdict == "consistent" and "simulation" not in r.extra
    assert d == dict(d, status="partly cited", steps=3, verified=1, cited=2, failed=0)
    assert "1 of 3 steps verified; 2 cited" in d["reason"]
    assert "partly cited (1/3 verified)" in report.table([r])
    assert "derivation partly cited (1 verified, 2 cited of 3 steps)" in claim_environment(c, r.to_dict())


def test_status_of_a_claim_without_derivation_and_the_key_values():
    assert derivation_status(None)["status"] == "none"
    D = Derivation("algebra only")
    D.step(S.n * (S.n + 1), "definition")
    D.step(S.n**2 + S.n, "algebra")
    assert derivation_status(D.check())["status"] == "verified"
    assert set(DERIVATION_STATUSES) == {"verified", "failed", "partly cited", "none"}


def test_the_derivation_is_checked_once_per_claim(monkeypatch):
    c = _claim(False)
    calls = []
    real = Derivation.check
    monkeypatch.setattr(Derivation, "check", lambda self, *a, **k: calls.append(1) or real(self, *a, **k))
    for _ in range(3):
        assert c.derivation_status["status"] == "partly cited"
    assert len(calls) == 1


def test_prefetched_reports_come_from_the_worker(monkeypatch):
    import attnsparse as asp
    from attnsparse.proofs import claim as claim_module

    c = asp.get("entries.mean_weight")
    monkeypatch.delitem(c.__dict__, "derivation_report", raising=False)
    assert claim_module.prefetch_derivation_reports([c, _claim(False)]) == 1  # registered claims only
    calls = []
    monkeypatch.setattr(Derivation, "check", lambda self, *a, **k: calls.append(1))  # the worker forked already
    report = c.derivation_report
    assert calls == [] and report.title == c.derivation.title and report.ok
    assert claim_module.prefetch_derivation_reports([c]) == 0  # checked once


def test_theory_is_printed_with_no_more_digits_than_confirmed(wrong_result):
    from dataclasses import replace

    c, r = wrong_result
    r = replace(r, theory=0.42581643940026, extra=dict(r.extra, theory_digits=4))
    assert "0.4258 " in report.table([r]) and "0.425816" not in report.table([r])
    tex = claim_environment(c, r.to_dict())
    assert "theory $0.4258$" in tex
    assert r.to_dict()["extra"]["theory_digits"] == 4


def test_exact_claim_checks_record_the_theory_digits():
    import attnsparse as asp
    from attnsparse.proofs.checking import check_spec

    c = asp.get("phases.exact_ipr")
    spec = check_spec(c, dict(n=64, sigma=1.0))
    assert spec.theory.digits == c.THEORY_DIGITS == 8
