"""`attnsparse latex`, claim environments and the catalogue document.

These tests check the structure of what is generated, the house notation and the text of
statements; one test compiles the whole catalogue with pdflatex and counts overfull boxes
(skipped, with the reason printed, where pdflatex is absent; CI installs it).
"""

import json
import re
import shutil
import subprocess

import pytest
import sympy as sp

import attnsparse as asp
from attnsparse.cli import main
from attnsparse.proofs.document import catalogue_document, claim_environment
from attnsparse.proofs.printing import (TEXT_WIDTH, claim_display, derivation_align, latex, plain_text, tex_escape,
                                        tex_width, text_latex)


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
    code, out, err = _run(capsys, "entries.mean_weight", "--report", str(path))
    assert code == 0 and "checking" not in err  # the report is reused: nothing simulated
    stamp = out[out.index(r"\paragraph{Validation.}"):]
    for piece in ("n = 16", "seed 5", "4000 rows", "theory $0.0625$", "simulated $0.0631$",
                  "99.99\\% confidence interval $[0.0611, 0.0651]$", r"\textbf{consistent}", asp.__version__):
        assert piece in stamp, piece


def test_stamp_from_a_fresh_check(capsys):
    code, out, err = _run(capsys, "entries.mean_weight", "--seed", "2")
    assert code == 0
    # it says that it checks, and reports progress (one line per claim when stderr is not a terminal)
    assert "no --report given, so checking 1 claim(s)" in err and "[1/1] entries.mean_weight" in err
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


# ---------------------------------------------------------------------- the catalogue as a paper would take it
@pytest.fixture(scope="module")
def catalogue_tex():
    return catalogue_document(asp.claims())


def test_catalogue_has_no_escaped_carets_or_tildes(catalogue_tex):
    for escaped in (r"\^{}", r"\~{}", r"\textasciicircum", r"\textasciitilde"):
        assert catalogue_tex.count(escaped) == 0, escaped


def test_catalogue_floats_have_at_most_six_significant_digits(catalogue_tex):
    assert not re.findall(r"\d\.\d{6,}|\d{7,}\.\d", catalogue_tex)
    assert "9.13099 " in catalogue_tex  # a constant of the max-logit bound B, rounded (it was 9.13099118387484)


def test_every_display_line_fits_the_page():
    for c in asp.claims():
        tex = claim_display(c)
        for line in re.split(r"\\\\|\n", tex):
            body = re.sub(r"\\(begin|end)\{multline\*\}|\\\[|\\\]", "", line)
            if not body.startswith("where"):
                assert tex_width(body) <= TEXT_WIDTH, (c.id, body)


def test_a_wide_bound_gets_a_name_and_a_where_clause():
    tex = claim_display(asp.get("selfattention.weight_bound"))
    assert r"\mathbb{P}\left[p_{(1)} \le \frac{e^{2 B}}{n}\right] \ge 1 - \delta" in tex
    assert "where" in tex and r"\begin{multline*}" in tex and r"B = \max\biggl\{" in tex


def test_catalogue_compiles_with_zero_overfull_boxes(catalogue_tex, tmp_path):
    if shutil.which("pdflatex") is None:
        print("pdflatex not found: install texlive-latex-base (CI does) to compile the catalogue")
        pytest.skip("pdflatex is not installed (apt-get install texlive-latex-base)")
    (tmp_path / "cat.tex").write_text(catalogue_tex)
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "cat.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    log = (tmp_path / "cat.log").read_text(errors="replace")
    assert run.returncode == 0, log[-2000:]
    assert log.count("Overfull \\hbox") == 0, [x for x in log.splitlines() if "Overfull" in x]


# ---------------------------------------------------------------------- statements are text with $math$
def test_a_users_math_statement_passes_through():
    n, sigma, t = sp.Symbol("n", positive=True), sp.Symbol("sigma", positive=True), sp.Symbol("t", real=True)
    c = asp.Claim("test.user_math", model=asp.IIDLogits(n=n, sigma=sigma), lhs=asp.E(asp.stat.ipr), rel="<=",
                  rhs=1, statement=r"For $t \ge 0$ the IPR is at most 1 (costs \$0, 100% sure).")
    tex = claim_environment(c)
    assert r"For $t \ge 0$ the IPR is at most 1 (costs \$0, 100\% sure)." in tex
    assert plain_text(c.statement) == "For t ≥ 0 the IPR is at most 1 (costs $0, 100% sure)."
    del t


@pytest.mark.parametrize("source, plain", [
    (r"$\sigma^2 = 2\gamma \ln n$", "σ² = 2γ ln n"),
    (r"$k_\varepsilon/n \approx \bar\Phi(\sigma + \Phi^{-1}(\varepsilon))$", "k_ε/n ≈ Φ̄(σ + Φ⁻¹(ε))"),
    (r"$\mathbb{E} \tau(\lceil n^C \rceil) = n^{b + o(1)}$", "E τ(⌈n^C⌉) = n^(b + o(1))"),
    (r"$\frac{e^{\sigma^2}}{n}$ and $\sqrt{d}$", "e^(σ²)/n and √d"),
    ("an unclosed $x in text", "an unclosed $x in text"),
])
def test_plain_text_of_math(source, plain):
    assert plain_text(source) == plain


def test_text_is_never_evaluated(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a statement was handed to SymPy")

    monkeypatch.setattr(sp, "sympify", refuse)
    monkeypatch.setattr("sympy.parsing.sympy_parser.parse_expr", refuse)
    text = r"$os.system('false')$ and $x^2$"
    assert text_latex(text) == text and plain_text(text) == "os.system('false') and x²"


def test_list_prints_the_terminal_form(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "Φ̄(σ + Φ⁻¹(ε))" in out and "$" not in out and "\\" not in out


# ---------------------------------------------------------------------- house notation
def test_k_eps_rule_prints_phibar_of_sigma_plus_phi_inverse():
    from attnsparse.proofs.functions import Phi

    n, sigma = sp.Symbol("n", positive=True), sp.Symbol("sigma", positive=True)
    eps = sp.Symbol("epsilon", positive=True)
    expr = n * (1 - Phi(sigma + sp.sqrt(2) * sp.erfinv(2 * eps - 1)).rewrite(sp.erf))
    want = r"n \bar{\Phi}\left(\sigma + \Phi^{-1}\left(\varepsilon\right)\right)"
    assert latex(expr) == want
    assert asp.get("phases.k_eps_rule").latex() == r"\mathbb{E}\left[k_{\varepsilon}\right] \approx " + want
    assert latex(Phi(sp.Symbol("x")).rewrite(sp.erf) ** n) == r"\Phi\left(x\right)^{n}"
    assert latex(sp.erf(sp.Symbol("x"))) == r"\operatorname{erf}{\left(x \right)}"  # not a Gaussian cdf: kept


def test_house_constants_and_evaluators():
    from attnsparse.proofs import symbols as S

    assert latex(1.5 * S.beta_c) == r"1.5 \beta_{c}"
    tex = claim_display(asp.get("extremes.gumbel_mean"))
    assert r"b_{n} + \frac{\gamma_{\mathrm{E}}}{\beta_{c}}" in tex and r"$\beta_c = \sqrt{2 \ln n}$" in tex
    assert asp.get("phases.exact_ipr").latex() == r"\mathbb{E}\left[\sum_j p_j^2\right] = E_{1}(n, \sigma)"


def test_floats_are_rounded_to_six_significant_digits():
    x = sp.Symbol("x")
    assert latex(sp.Float(9.13099118387484) * x) == "9.13099 x"
    assert latex(sp.Float(1.5e-16)) == r"1.5 \cdot 10^{-16}" and latex(sp.Float(35.5)) == "35.5"
    assert latex(sp.Rational(1, 10**9)) == "10^{-9}"


# ---------------------------------------------------------------------- trend claims and derivations
def test_trend_claims_print_what_they_mean():
    rate = asp.get("sparsity.nC_rate").latex()
    assert rate == (r"\mathbb{E}\left[\tau(\left\lceil{n^{C}}\right\rceil)\right] = n^{b + o(1)}, \qquad "
                    r"b = - \left(\sqrt{\gamma} - \sqrt{1 - C}\right)^{2} \pm 0.1")
    bounded = asp.get("collapse.k_eps_bounded").latex()
    assert bounded == r"\mathbb{E}\left[k_{\varepsilon}\right] = O\left(n^{0.05}\right)"
    assert asp.get("sparsity.nC_sparse").latex().endswith(r"= O\left(n^{-0.02}\right)")
    assert asp.get("sparsity.nC_threshold").latex().endswith(r"= \Omega\left(n^{-0.02}\right)")
    assert r"G = \{2^{8}, 2^{10}, 2^{12}, 2^{14}\}" in asp.get("sparsity.adaptive_window").latex()
    for c in asp.claims():
        if c.rel == "trend":
            assert r"\sim" not in c.latex() and not c.latex().endswith("0"), c.id


def test_an_equation_solved_on_the_way_is_not_joined_by_equals():
    from attnsparse.proofs.derivation import Derivation

    x, y = sp.symbols("x y", positive=True)
    D = Derivation("solve on the way")
    D.step(x + 1, "definition")
    D.step(sp.Eq(y, x), "let y = x")
    D.step(y + 1, "substitute")
    tex = derivation_align(D, notes=True)
    assert r"&\text{where } y = x" in tex and "&= y = x" not in tex


def test_catalogue_derivations_chain_one_quantity():
    for c in asp.claims():
        d = c.derivation
        if d is not None:
            assert not any(isinstance(s.expr, sp.core.relational.Relational) for s in d.steps), c.id
    d = asp.get("phases.k_eps_rule_derivation").derivation
    assert d.first.name == r"\mathbb{E}\, k_\varepsilon" and d.result == asp.get("phases.k_eps_rule").rhs


def test_a_long_derivation_row_is_continued_on_the_next_line():
    from attnsparse.proofs.derivation import Derivation

    x = sp.Symbol("x", positive=True)
    D = Derivation("a long sum")
    D.step(sp.Symbol(r"\mathbb{E} X"), "definition")
    D.step(sum(sp.exp(-k * x) / (k + 1) for k in range(1, 25)), "expand")
    tex = derivation_align(D, notes=True)
    rows = tex.split(r"\end{align*}")[0].split("\\\\")
    assert len(rows) > 3 and all(tex_width(re.sub(r"\\tag\*\{\(\d\)\}|\\(begin|end)\{align\*\}", "", r)) <= TEXT_WIDTH
                                 for r in rows)
    assert r"&\quad " in tex and tex.count(r"\tag*{(1)}") == 1


def test_trend_stamp_reports_the_fitted_exponent():
    from attnsparse.proofs.document import validation_stamp

    c = asp.get("sparsity.nC_rate")
    r = {"params": {"gamma": 0.8, "C": 0.7}, "verdict": "consistent", "theory": -0.1202, "estimate": -0.1746,
         "ci": [-0.185, -0.164], "level": 0.999, "samples": 3600, "seed": 0, "extra": {"law": "exponent"}}
    stamp = validation_stamp(c, r)
    assert "predicted exponent of $n$ $-0.1202$, fitted exponent $-0.1746$" in stamp
    stamp = validation_stamp(asp.get("sparsity.nC_sparse"), dict(r, extra={"law": "decreasing"}))
    assert "fitted exponent of $n$ $-0.1746$" in stamp and "theory" not in stamp


def test_checking_shows_a_progress_bar_on_a_terminal():
    import io

    from attnsparse.cmd_latex import _results_by_checking

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    err = Terminal()
    results = _results_by_checking([asp.get("entries.mean_weight")], seed=0, stream=err)
    assert list(results) == ["entries.mean_weight"]
    assert "checking 1 claim(s)" in err.getvalue() and "1/1" in err.getvalue() and "%|" in err.getvalue()


def test_plain_text_spells_what_the_terminal_cannot_encode():
    s = r"$k_\varepsilon/n \approx \bar\Phi(\sigma + \Phi^{-1}(\varepsilon))$ and $\sum_j p_j^2 \le 2\gamma$"
    assert plain_text(s, "ascii") == "k_epsilon/n ~= Phibar(sigma + Phi^(-1)(epsilon)) and sum_j p_j^2 <= 2 gamma"
    assert plain_text(s, "utf-8") == plain_text(s) and "²" in plain_text(s, "latin-1")
    for c in asp.claims():
        assert plain_text(c.statement, "ascii").isascii(), c.id
