"""Issue 15, the applications floor: output folders, the CLI error boundary, strict JSON, -p.

Each test fails without its fix: the folder policy, one unit per report, the error boundary
of :func:`attnsparse.cli.main`, strict JSON, ``-p`` merged into the claim's own points.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from attnsparse import files
from attnsparse.cli import main
from attnsparse.files import prepare_folder, strict_json, write_unit

PY = [sys.executable, "-m", "attnsparse"]


def _one_line_error(err, *pieces):
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for p in pieces:
        assert p in lines[0], err


# ----------------------------------------------------------------------------- the folder policy

def test_a_foreign_non_empty_folder_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    (tmp_path / "report.md").write_text("my notes")
    calls = []
    monkeypatch.setattr("attnsparse.cli._run_checks", lambda *a: calls.append(a) or 0)
    assert main(["check", "entries.mean_weight", "--out", str(tmp_path)]) == 2
    _one_line_error(capsys.readouterr().err, "--out", "not empty", "--force")
    assert not calls and (tmp_path / "report.md").read_text() == "my notes"
    assert main(["check", "entries.mean_weight", "--out", str(tmp_path), "--force"]) == 0 and calls


def test_reproduce_refuses_a_foreign_folder_and_keeps_its_files(tmp_path, capsys, monkeypatch):
    (tmp_path / "report.md").write_text("my notes")
    (tmp_path / "report.json").write_text("{}")
    monkeypatch.setattr("attnsparse.reproduce.run_tail_mass", lambda *a: pytest.fail("simulated first"))
    assert main(["reproduce", "--quick", "--out", str(tmp_path)]) == 2
    _one_line_error(capsys.readouterr().err, str(tmp_path), "not empty")
    assert (tmp_path / "report.md").read_text() == "my notes"


def test_own_folder_is_reused_and_strays_are_removed(tmp_path):
    out = tmp_path / "new" / "deep"
    prepare_folder(str(out)).release()
    assert (out / files.MARKER).exists()
    (out / "report.json").write_text("{}")
    (out / ".tmp-abcreport.json").write_text("partial")
    os.mkdir(out / ".tmp-unit-xyz")
    prepare_folder(str(out)).release()  # attnsparse made it: no refusal, strays gone
    assert sorted(os.listdir(out)) == sorted([files.MARKER, files.LOCK, "report.json"])


@pytest.mark.parametrize("argv", [
    ["check", "entries.mean_weight", "--out", "/proc/attnsparse-x"],
    ["reproduce", "--out", "/proc/attnsparse-x"],
    ["sweep", "SPEC", "--out", "/proc/attnsparse-x"],
    ["measure", "Q", "K", "--out", "/proc/attnsparse-x/m.json"],
    ["latex", "entries.mean_weight", "--no-check", "--out", "/proc/attnsparse-x.tex"],
    ["check", "entries.mean_weight", "--out", "FILE/sub"],
])
def test_unwritable_out_is_one_line_exit_2(argv, tmp_path, capsys, monkeypatch):
    spec = tmp_path / "s.toml"
    spec.write_text('samples = 10\nseed = 1\n[model]\nkind = "iid"\nn = "n"\nsigma = 1.0\n[grid]\nn = [8]\n'
                    '[stats]\nw = "max_weight"\n')
    np.save(tmp_path / "q.npy", np.ones((4, 2)))
    (tmp_path / "FILE").write_text("x")
    sub = {"SPEC": str(spec), "Q": str(tmp_path / "q.npy"), "K": str(tmp_path / "q.npy"),
           "FILE/sub": str(tmp_path / "FILE" / "sub")}
    monkeypatch.setattr("attnsparse.cli._run_checks", lambda *a: pytest.fail("ran before the folder check"))
    assert main([sub.get(a, a) for a in argv]) == 2
    _one_line_error(capsys.readouterr().err, "--out")


def test_write_unit_never_leaves_a_new_file_next_to_an_old_one(tmp_path, monkeypatch):
    write_unit(str(tmp_path), {"report.json": "old json", "report.md": "old md"})
    steps = []

    def hook(step):
        steps.append(step)
        state = {n: (tmp_path / n).read_text() for n in ("report.json", "report.md") if (tmp_path / n).exists()}
        assert not ("new" in state.get("report.json", "") and "old" in state.get("report.md", "")), (step, state)
        assert not ("new" in state.get("report.md", "") and "old" in state.get("report.json", "")), (step, state)

    monkeypatch.setattr(files, "_WRITE_HOOK", hook)
    write_unit(str(tmp_path), {"report.json": "new json", "report.md": "new md"})
    assert len(steps) >= 4  # staged writes, removal, renames: every boundary was checked
    assert (tmp_path / "report.json").read_text() == "new json" and (tmp_path / "report.md").read_text() == "new md"
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".tmp-")]


def test_report_files_carry_the_same_run_id(tmp_path, capsys):
    assert main(["check", "entries.mean_weight", "-p", "n=16", "--out", str(tmp_path / "r")]) == 0
    run = json.loads((tmp_path / "r" / "report.json").read_text())["meta"]["run"]
    assert f"run: `{run}`" in (tmp_path / "r" / "report.md").read_text()


# ----------------------------------------------------------------------------- input files

def test_corrupt_npy_header_is_a_usage_error(tmp_path, capsys):
    good = tmp_path / "q.npy"
    np.save(good, np.ones((4, 2)))
    raw = bytearray(good.read_bytes())
    raw[10:30] = b"{'descr': <f8 ((((("  # a header numpy parses with literal_eval: SyntaxError
    (tmp_path / "bad.npy").write_bytes(bytes(raw))
    assert main(["measure", str(good), str(tmp_path / "bad.npy")]) == 2
    _one_line_error(capsys.readouterr().err, "K: cannot read")


@pytest.mark.parametrize("kind", ["folder", "binary"])
def test_a_folder_or_binary_file_as_sweep_spec_is_a_usage_error(kind, tmp_path, capsys):
    path = tmp_path / "spec.toml"
    if kind == "folder":
        path.mkdir()
    else:
        path.write_bytes(b"\xff\xfe\x00\x81binary")
    assert main(["sweep", str(path), "--out", str(tmp_path / "store")]) == 2
    _one_line_error(capsys.readouterr().err, "spec:")


@pytest.mark.parametrize("content", ['{"results": [1, 2]}', '{"results": {"a": 1}}', '[1]',
                                     '{"results": [{"claim_id": "entries.mean_weight"}]}', "\x00\xff"])
def test_latex_report_of_the_wrong_schema_is_a_usage_error(content, tmp_path, capsys):
    path = tmp_path / "r.json"
    path.write_text(content, encoding="latin-1")
    assert main(["latex", "entries.mean_weight", "--report", str(path)]) == 2
    _one_line_error(capsys.readouterr().err, "--report", "not a report.json")


def test_latex_reads_a_strict_report_with_null_bounds(tmp_path, capsys):
    report = {"results": [{"claim_id": "entries.mean_weight", "params": {"n": 16}, "verdict": "consistent",
                           "theory": None, "estimate": 0.06, "ci": [0.05, None], "level": 0.99, "samples": 10,
                           "seed": 1, "reason": ""}]}
    (tmp_path / "r.json").write_text(json.dumps(report))
    assert main(["latex", "entries.mean_weight", "--report", str(tmp_path / "r.json")]) == 0
    assert r"[0.05, \infty]" in capsys.readouterr().out


def test_sweep_imports_without_claims_fail_clearly(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text('samples = 10\nseed = 1\nimports = ["no_such_module"]\n[model]\nkind = "iid"\nn = "n"\n'
                    'sigma = 1.0\n[grid]\nn = [8]\n[stats]\nw = "max_weight"\n')
    assert main(["sweep", str(spec), "--out", str(tmp_path / "store"), "--executor", "serial"]) == 2
    _one_line_error(capsys.readouterr().err, "imports", "no_such_module")
    assert not (tmp_path / "store").exists() or not os.listdir(tmp_path / "store")


def test_other_oserrors_are_one_line_exit_2(capsys, monkeypatch):
    def boom(args):
        raise PermissionError(13, "Permission denied", "/some/where")

    monkeypatch.setattr("attnsparse.cli._cmd_list", boom)
    assert main(["list"]) == 2
    _one_line_error(capsys.readouterr().err, "Permission denied", "/some/where")


# ----------------------------------------------------------------------------- strict JSON

def test_strict_json_writes_null_for_undefined_values():
    text = strict_json({"a": float("nan"), "b": [np.float64("inf"), 1.5], "c": np.array([np.nan, 2.0]),
                        "d": np.int64(3)})
    assert json.loads(text) == {"a": None, "b": [None, 1.5], "c": [None, 2.0], "d": 3}
    assert "NaN" not in text and "Infinity" not in text


def test_measure_json_is_strict_for_huge_logits(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "q.npy", rng.standard_normal((16, 4)) * 1e154)
    np.save(tmp_path / "k.npy", rng.standard_normal((16, 4)))
    rc = main(["measure", str(tmp_path / "q.npy"), str(tmp_path / "k.npy"), "--json", "--topk", "1",
               "--keep", "4", "--last-q", "4", "--window", "4", "--sink", "1"])
    out = capsys.readouterr().out
    if rc == 0:
        json.loads(out, parse_constant=lambda c: pytest.fail(f"non-strict JSON token {c}"))
    else:
        assert rc == 2


# ----------------------------------------------------------------------------- -p

def test_param_merges_into_the_claims_own_point(capsys):
    import attnsparse as asp

    own = asp.get("sparsity.tv_is_tail_mass").points
    assert len(own) > 1
    assert main(["check", "sparsity.tv_is_tail_mass", "-p", "sigma=1.5", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    assert [r["params"] for r in rows] == [{**p, "sigma": 1.5} for p in own]


def test_param_of_another_name_is_refused(capsys):
    assert main(["check", "entries.mean_weight", "-p", "zeta=1"]) == 2
    _one_line_error(capsys.readouterr().err, "--param zeta", "its parameters")


# ----------------------------------------------------------------------------- pipes and Ctrl-C

@pytest.mark.parametrize("argv", [["list"], ["show", "entries.mean_weight"], ["list", "--json"]])
def test_closed_pipe_exits_quietly(argv):
    proc = subprocess.Popen(PY + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(10)
    proc.stdout.close()  # as `| head -c 10`
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err and err.strip() == ""


def test_ctrl_c_during_check_is_one_line_and_130(capsys, monkeypatch):
    def interrupted(self, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(type(__import__("attnsparse").get("entries.mean_weight")), "check", interrupted)
    assert main(["check", "entries.mean_weight", "--out", "unused-dir-xyz"]) == 130
    err = capsys.readouterr().err
    _one_line_error(err, "interrupted: 0 of", "checks done", "no report written")
    import shutil

    shutil.rmtree("unused-dir-xyz", ignore_errors=True)


@pytest.mark.parametrize("launch", [["-m", "attnsparse"], None])
def test_ctrl_c_while_the_command_starts_ends_without_a_traceback(launch):
    # a SIGINT that lands while the package is still importing (numba, SymPy, the catalogue)
    import shutil
    import signal
    import time

    if launch is None:
        exe = shutil.which("attnsparse", path=os.path.dirname(sys.executable)) or shutil.which("attnsparse")
        if exe is None:
            pytest.fail("the attnsparse console script is not installed next to this python")
        cmd = [exe, "check"]
    else:
        cmd = [sys.executable] + launch + ["check"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.1)
    p.send_signal(signal.SIGINT)
    _out, err = p.communicate(timeout=120)
    assert p.returncode == 130, (p.returncode, err)
    assert "Traceback" not in err, err
    assert "interrupted" in err.splitlines()[-1]
