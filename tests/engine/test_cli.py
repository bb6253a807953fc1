"""The command line as a user meets it."""

import json
import subprocess
import sys

import pytest
import sympy as sp

import attnsparse as asp
from attnsparse.cli import main
from attnsparse.proofs import claim as claim_module


@pytest.fixture(autouse=True)
def _forget_test_claims():
    """Claims a test registers (ids zz_test.*) leave the registry after it."""
    yield
    for cid in [k for k in claim_module._REGISTRY if k.startswith("zz_test.")]:
        del claim_module._REGISTRY[cid]


def test_list_groups_every_claim_by_area_with_provenance(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for c in asp.claims():
        line = next(ln for ln in out.splitlines() if ln.strip().startswith(c.id + " "))
        assert asp.PROVENANCE[c.provenance].split()[0] in line
        # the claim is listed under its area heading
        assert out.rindex("\n" + c.area + "\n", 0, out.index(line)) >= 0


def test_list_json(capsys):
    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {d["id"] for d in data} == {c.id for c in asp.claims()}


def test_show_prints_derivation_and_latex(capsys):
    assert main(["show", "logits.bilinear_mgf"]) == 0
    out = capsys.readouterr().out
    assert "chi-square MGF lemma" in out and "LaTeX:" in out and "assumptions:" in out
    assert "check point: d=4" in out


def test_check_one_claim_writes_reports(tmp_path, capsys):
    out_dir = tmp_path / "rep"
    assert main(["check", "normaliser.mean_partition", "--seed", "5", "--out", str(out_dir)]) == 0
    table = capsys.readouterr().out
    assert "normaliser.mean_partition" in table and "consistent" in table
    data = json.loads((out_dir / "report.json").read_text())
    assert data["meta"]["seed"] == 5 and len(data["results"]) == 2
    r = data["results"][0]
    assert r["verdict"] == "consistent" and r["ci"][0] <= r["theory"] <= r["ci"][1]
    assert "| normaliser.mean_partition |" in (out_dir / "report.md").read_text()
    assert not [p for p in out_dir.iterdir() if p.name.startswith(".tmp-")]


def test_check_at_a_user_point_and_json(capsys):
    assert main(["check", "entries.mean_weight", "-p", "n=32", "-p", "sigma=0.5", "-p", "j=1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["results"][0]["params"] == {"n": 32, "sigma": 0.5, "j": 1}


def test_check_exits_1_when_a_claim_is_refuted(capsys):
    n, sigma = sp.symbols("n sigma", positive=True)
    asp.register(asp.Claim("zz_test.wrong_mean_partition", model=asp.IIDLogits(n=n, sigma=sigma),
                           lhs=asp.E(asp.stat.partition), rel="==", rhs=n * sp.exp(sigma**2),
                           points=[dict(n=16, sigma=1.0)]))
    assert main(["check", "zz_test.wrong_mean_partition"]) == 1
    assert "refuted" in capsys.readouterr().out


def test_console_script_and_module_entry_points():
    for cmd in (["attnsparse", "--version"], [sys.executable, "-m", "attnsparse", "--version"]):
        out = subprocess.run(cmd, capture_output=True, text=True)
        assert out.returncode == 0 and out.stdout.strip() == asp.__version__


def test_expected_refutation_is_reported_and_strict(capsys):
    """A documented disagreement (expect='refuted') exits 0 while refuted, 1 once it is not."""
    n, sigma = sp.symbols("n sigma", positive=True)
    wrong = dict(model=asp.IIDLogits(n=n, sigma=sigma), lhs=asp.E(asp.stat.partition), rel="==",
                 points=[dict(n=16, sigma=1.0)], expect="refuted")
    asp.register(asp.Claim("zz_test.known_wrong", rhs=n * sp.exp(sigma**2), **wrong))
    assert main(["check", "zz_test.known_wrong"]) == 0
    assert "refuted (expected)" in capsys.readouterr().out
    asp.register(asp.Claim("zz_test.known_wrong_but_true", rhs=n * sp.exp(sigma**2 / 2), **wrong))
    assert main(["check", "zz_test.known_wrong_but_true"]) == 1
    assert "unexpected: zz_test.known_wrong_but_true is consistent" in capsys.readouterr().err


def test_a_claim_that_cannot_be_checked_is_reported_and_the_suite_goes_on(tmp_path, capsys):
    n, sigma = sp.symbols("n sigma", positive=True)
    m = asp.IIDLogits(n=n, sigma=sigma)
    asp.register(asp.Claim("zz_test.a_broken", model=m, lhs=asp.E(asp.stat.partition), rel="==",
                           rhs=1 / (n - 16), points=[dict(n=16, sigma=1.0)]))  # theory is infinite here
    asp.register(asp.Claim("zz_test.b_fine", model=m, lhs=asp.E(asp.stat.partition), rel="==",
                           rhs=n * sp.exp(sigma**2 / 2), points=[dict(n=16, sigma=1.0)]))
    assert main(["check", "zz_test.a_broken", "zz_test.b_fine", "--out", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "could not check zz_test.a_broken at n=16, sigma=1.0: ValueError" in captured.err
    assert "zz_test.b_fine" in captured.out and "consistent" in captured.out
    data = json.loads((tmp_path / "report.json").read_text())
    assert len(data["results"]) == 1 and data["meta"]["errors"][0].startswith("zz_test.a_broken")


def test_no_command_module_imports_the_cli():
    """cli.py loads the cmd_* modules; they take UsageError and the exit codes from commands.py."""
    import ast
    import pathlib

    import attnsparse.cli

    for path in pathlib.Path(attnsparse.cli.__file__).parent.glob("cmd_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                target = ("." * node.level) + (node.module or "")
                assert target not in (".cli", "attnsparse.cli"), f"{path.name} imports {target}"
