"""The pytest plugin, driven on the sample user project in tests/userproject/.

The user's test file is copied, as ``test_userclaims.py``, into an empty folder (no
conftest, no ini file) and run by pytest in a subprocess: the plugin must arrive through
the ``pytest11`` entry point alone.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

USER_FILE = Path(__file__).parent / "userproject" / "userclaims.py"


@pytest.fixture(scope="module")
def user_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("userproject")
    shutil.copy(USER_FILE, folder / "test_userclaims.py")
    # full effort: its 600 s budget is never reached here, so the verdicts depend on the seed
    # alone, not on how busy the machine is (the quick budget stops after 20 s)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "--claim-seed", "3",
                           "--claim-effort", "full", "test_userclaims.py"],
                          cwd=folder, capture_output=True, text=True, timeout=600)
    return proc


def _outcomes(stdout):
    return dict((name, outcome) for outcome, name in
                re.findall(r"^(PASSED|FAILED|ERROR) test_userclaims\.py::(\w+)", stdout, re.M))


def test_user_tests_pass_and_fail_as_they_should(user_run):
    outcomes = _outcomes(user_run.stdout)
    names = re.findall(r"^def (test_\w+)", USER_FILE.read_text(), re.M)
    assert sorted(outcomes) == sorted(names), user_run.stdout[-3000:]
    for name in names:
        assert outcomes[name] == ("PASSED" if name.startswith("test_ok_") else "FAILED"), (name, user_run.stdout)
    assert user_run.returncode == 1


def test_failure_messages_name_the_cause(user_run):
    out = user_run.stdout
    assert re.search(r"claim user\.max_weight_is_uniform refuted", out)
    assert re.search(r"step 3 \(2\) = \(3\) \[algebra\]: failed", out)
    assert "counterexample: n = " in out and "sigma = " in out
    assert re.search(r"claim user\.mean_weight_sharp inconclusive: .*allow_inconclusive=True", out)
    assert re.search(r"LookupError: claim_check: no claim with id 'entries\.no_such_claim'", out)
    # the engine's shorthand alpha/L is explained wherever it is shown
    refuted = [line for line in out.splitlines() if "claim user.max_weight_is_uniform refuted" in line]
    assert refuted
    for line in refuted:
        if "alpha/L" in line:
            assert "alpha/L: the false-alarm level alpha = 0.001 split evenly over the L looks" in line


def test_terminal_summary_lists_every_check(user_run):
    out = user_run.stdout
    table = out[out.index("attnsparse claims checked"):]
    for claim_id in ("user.mean_weight", "user.jensen_log_partition", "user.max_weight_is_uniform",
                     "user.mean_weight_sharp", "entries.mean_weight", "sparsity.tv_is_tail_mass"):
        assert claim_id in table
    assert "n=256, sigma=2.0, k=8" in table  # a claim's own check point, checked without parameters
    assert "seed=3" in out  # --claim-seed reached the checks


@pytest.mark.parametrize("value", ["-1", "x", "1.5"])
def test_bad_claim_seed_is_a_usage_error(value, tmp_path):
    shutil.copy(USER_FILE, tmp_path / "test_userclaims.py")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--claim-seed", value,
                           "test_userclaims.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout + proc.stderr
    assert f"argument --claim-seed: must be an integer >= 0, got {value if value == '-1' else repr(value)}" \
        in proc.stderr
    assert "Traceback" not in proc.stderr and "passed" not in proc.stdout and "failed" not in proc.stdout


def test_options_and_marker_are_registered():
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert "--claim-effort={quick,full}" in proc.stdout
    assert "--claim-seed" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--markers"],
                          capture_output=True, text=True, timeout=120)
    assert "@pytest.mark.claim(" in proc.stdout


def test_plugin_module_imports_no_engine():
    code = ("import sys, attnsparse.pytest_plugin; "
            "print([m for m in ('numba', 'attnsparse.claimtest', 'attnsparse.numeric.check', "
            "'attnsparse.proofs.stepcheck') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
