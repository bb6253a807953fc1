"""--strict and --rows: strict() is pure, a replay gives bit-identical estimates."""

import json
import math

import pytest

import attnsparse as asp
from attnsparse.cli import main
from attnsparse.proofs.checking import replay_effort, schedule, strict

ASYM = "normaliser.mean_partition"  # an asymptotic (moment) check, consistent at its first point


def test_strict_makes_asymptotic_verdicts_inconclusive_and_is_pure():
    c = asp.get(ASYM)
    r = c.check(rows=4000, **c.points[0])
    assert r.method == "asymptotic" and r.verdict == "consistent"
    before = (r.verdict, r.reason)
    s = strict([r])
    assert s[0].verdict == "inconclusive" and "asymptotic" in s[0].reason
    assert s[0].extra["asymptotic"]["verdict"] == "consistent"
    assert (r.verdict, r.reason) == before  # the input is not changed
    assert c.check(strict=True, rows=4000, **c.points[0]).verdict == "inconclusive"


def test_strict_keeps_guaranteed_methods():
    c = asp.get("collapse.pd_max_weight")
    r = c.check(**c.points[0])
    assert r.method == "betting"
    assert strict([r])[0] is r


def test_time_stopped_run_and_its_replay_are_bit_identical():
    c = asp.get("phases.ipr_high_temperature")
    p = dict(n=4096, sigma=0.5)  # decided only after about 1.3 M rows: stops on the 1.5 s budget here
    effort = {"initial": 2000, "max_samples": 2**22, "max_seconds": 1.5}
    r = c.check(effort=effort, **p)
    assert r.verdict == "inconclusive" and "time budget" in r.reason, r
    again = c.check(effort=effort, rows=r.samples, **p)
    assert again.samples == r.samples
    assert again.estimate == r.estimate and again.ci == r.ci and again.p_value == r.p_value


def test_rows_off_the_schedule_is_refused_naming_valid_values():
    assert schedule({"initial": 4000, "max_samples": 32000}) == [4000, 8000, 16000, 32000]
    with pytest.raises(ValueError, match=r"rows must be .*4000, 8000, 16000"):
        replay_effort("quick", 5000)
    e = replay_effort("quick", 8000)
    assert e["max_samples"] == 8000 and math.isfinite(e["max_seconds"]) and e["max_seconds"] > 1e5


def test_cli_rows_refused_with_exit_2(capsys):
    assert main(["check", "--rows", "5000", ASYM]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--rows" in err[0] and "4000" in err[0]


def test_cli_strict_marks_and_replays(capsys):
    assert main(["check", "--rows", "4000", "--json", ASYM]) == 0
    loose = json.loads(capsys.readouterr().out)["results"]
    assert main(["check", "--strict", "--rows", "4000", "--json", ASYM]) == 0
    tight = json.loads(capsys.readouterr().out)["results"]
    assert [r["samples"] for r in tight] == [r["samples"] for r in loose] == [4000] * len(loose)
    assert all(r["method"] == "asymptotic" for r in tight)
    assert [r["verdict"] for r in loose] != [r["verdict"] for r in tight] == ["inconclusive"] * len(tight)
    assert main(["check", "--strict", "--rows", "4000", ASYM]) == 0
    assert "asymptotic*" in capsys.readouterr().out  # the table marks the method


def test_trend_claims_take_strict_and_refuse_rows():
    """strict and rows are handled by Claim.check for every kind of claim, trend claims included."""
    c = asp.get("collapse.k_eps_bounded")
    p = c.points[0]
    loose, tight = c.check(**p), c.check(strict=True, **p)
    assert loose.method == "asymptotic" and tight.verdict == "inconclusive"
    with pytest.raises(ValueError, match="rows: a trend claim has no look schedule"):
        c.check(rows=4000, **p)
