"""`attnsparse latex`, claim environments and the catalogue document.

Compiling the document with pdflatex is .ci/run's job (it installs TeX); these tests check
the structure of what is generated.
"""

import json
import re

import pytest

import attnsparse as asp
from attnsparse.cli import main
from attnsparse.proofs.document import claim_environment
from attnsparse.proofs.printing import latex, tex_escape


def _run(capsys, *args):
    code = main(["latex", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _balanced(tex):
    begins = re.findall(r"\\begin\{([a-z*]+)\}", tex)
    ends = re.findall(r"\\end\{([a-z*]+)\}", tex)
    return sorted(begins) == sorted(ends)


def test_environment_has_statement_assumptions_proof_and_stamp(capsys):
    code, out, _ = _run(capsys, "logits.bilinear_mgf", "--no-check")
    assert code == 0 and _balanced(out)
    assert r"\begin{claim}[\texttt{logits.bilinear\_mgf}]" in out
    assert r"\emph{Assumptions:}" in out and r"\left|{t}\right| <" in out
    assert asp.get("logits.bilinear_mgf").latex() in out  # the one-line relation, in display math
    assert r"\begin{proof}" in out and r"\begin{align*}" in out and r"\item[(3)] chi-square MGF lemma" in out
    assert "Not checked against simulation" in out and asp.__version__ in out


def test_stamp_from_a_report(capsys, tmp_path):
    report = {"results": [{"claim_id": "entries.mean_weight", "params": {"n": 16, "sigma": 1.0, "j": 3},
                           "verdict": "consistent", "theory": 0.0625, "estimate": 0.0631, "ci": [0.0611, 0.0651],
                           "level": 0.9999, "samples": 4000, "seed": 5, "reason": "interval within tolerance"}]}
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    code, out, _ = _run(capsys, "entries.mean_weight", "--report", str(path))
    assert code == 0
    stamp = out[out.index(r"\paragraph{Validation.}"):]
    for piece in ("n = 16", "seed 5", "4000 rows", "theory $0.0625$", "simulated $0.0631$",
                  "99.99\\% confidence interval $[0.0611, 0.0651]$", r"\textbf{consistent}", asp.__version__):
        assert piece in stamp, piece


def test_stamp_from_a_fresh_check(capsys):
    code, out, _ = _run(capsys, "entries.mean_weight", "--seed", "2")
    assert code == 0
    point = re.search(r"Checked at \$(.*?)\$ \(seed 2, \d+ rows\)", out).group(1)
    assert sorted(point.split(", ")) == sorted(f"{k} = {v:g}".replace("sigma", r"\sigma")
                                               for k, v in asp.get("entries.mean_weight").points[0].items())
    assert re.search(r"verdict \\textbf\{(consistent|inconclusive|refuted)\}", out)


def test_document_is_complete_and_standalone(capsys, tmp_path):
    path = tmp_path / "catalogue.tex"
    code, out, _ = _run(capsys, "--document", "--no-check", "--out", str(path))
    assert code == 0 and out == ""
    tex = path.read_text()
    assert tex.startswith(r"\documentclass") and tex.rstrip().endswith(r"\end{document}")
    for pkg in ("amsmath", "amssymb", "amsthm"):
        assert pkg in tex
    assert tex.count(r"\begin{claim}") == len(asp.claims())
    assert _balanced(tex)


@pytest.mark.parametrize("args, message", [
    ([], "give at least one claim ID"),
    (["no.such_claim"], "no claim with id"),
    (["entries.mean_weight", "--report", "/nonexistent/report.json"], "--report"),
    (["entries.mean_weight", "--no-check", "--out", "/nonexistent/dir/x.tex"], "--out"),
    (["entries.mean_weight", "--seed", "-1"], "--seed"),
])
def test_usage_errors_exit_2_and_name_the_problem(capsys, args, message):
    code, _, err = _run(capsys, *args)
    assert code == 2 and message in err


def test_house_notation():
    import sympy as sp

    from attnsparse.proofs.functions import ChiSquare, Expect, Norm, Phi, Phibar, Prob

    x, d = sp.Symbol("x", real=True), sp.Symbol("d", positive=True, integer=True)
    assert latex(sp.erfc(x / sp.sqrt(2)) / 2) == r"\bar{\Phi}\left(x\right)"
    assert latex(Phi(x)) == r"\Phi\left(x\right)" and latex(Phibar(x)) == r"\bar{\Phi}\left(x\right)"
    assert latex(Expect(x)) == r"\mathbb{E}\left[x\right]"
    assert latex(Prob(x > 1)) == r"\mathbb{P}\left(x > 1\right)"
    assert latex(Norm(x)) == r"\left\lVert x \right\rVert" and latex(ChiSquare(d)) == r"\chi^2_{d}"


def test_house_functions_evaluate():
    import mpmath as mp
    import sympy as sp

    from attnsparse.proofs.functions import Phi, Phibar

    with mp.workdps(30):
        assert abs(sp.N(Phi(sp.Rational(1, 3)), 30) - sp.Float(mp.ncdf(mp.mpf(1) / 3), 30)) < 1e-28
        assert abs(sp.N(Phibar(2), 30) - sp.Float(mp.ncdf(-2), 30)) < 1e-28
    assert (Phi(sp.oo), Phi(-sp.oo), Phibar(sp.oo), Phibar(-sp.oo), Phi(0)) == (1, 0, 0, 1, sp.Rational(1, 2))
    x = sp.Symbol("x", real=True)
    assert sp.simplify(sp.diff(Phi(x), x) - sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)) == 0
    assert sp.simplify(Phi(x).rewrite(sp.erfc) + Phibar(x).rewrite(sp.erfc) - 1) == 0


def test_tex_escape_makes_text_safe():
    assert tex_escape("a_b ^ {c} 50% & #1 ~ $x$ <|>") == (
        r"a\_b \^{} \{c\} 50\% \& \#1 \~{} \$x\$ $<$$|$$>$")


def test_environment_of_a_claim_without_derivation():
    import sympy as sp

    n, sigma = sp.symbols("n sigma", positive=True)
    c = asp.Claim("test.ipr", model=asp.IIDLogits(n=n, sigma=sigma), lhs=asp.E(asp.stat.ipr), rel="approx",
                  rtol=0.05, rhs=sp.exp(sigma**2) / n, statement="IPR is about e^{sigma^2}/n (50% of cases).")
    tex = claim_environment(c)
    assert r"\begin{proof}" not in tex and _balanced(tex)
    assert r"about e\^{}\{sigma\^{}2\}/n (50\% of cases)." in tex
