"""The `attnsparse cost` command: the printed savings are the hand-counted formulas at the simulated k_eps."""

import json
import math

import numpy as np
import pytest

from attnsparse.cli import main


def test_cost_json_is_the_hand_counted_model(capsys):
    n, d, M = 256, 16, 1024
    assert main(["cost", "--n", str(n), "--d", str(d), "--eps", "0.1", "--sigma", "1.0", "--cache-words", str(M),
                 "--rows", "400", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    k = doc["k_eps"]["simulated"]["k"]
    assert 1 <= k <= n and doc["regime"] == "high temperature"
    # dense: Q K^T and P V (2 n^2 d each), softmax 5 n^2; words 4 n d + n^2 d^2 / M (M = 1024 >= d^2 = 256)
    dense_f, dense_w = 4 * n * n * d + 5 * n * n, 4 * n * d + n * n * d * d / M
    sv = doc["k_eps"]["simulated"]["savings"]
    assert sv["dense"]["flops"] == dense_f and sv["dense"]["io_words"] == dense_w
    oracle_f = 4 * n * k * d + 5 * n * k
    oracle_w = 2 * n * d + n * k + min(2 * n * k * d, n * n * d * d / M)
    o = sv["topk (oracle selection)"]
    assert o["flops"] == pytest.approx(oracle_f, rel=1e-12) and o["io_words"] == pytest.approx(oracle_w, rel=1e-12)
    assert o["flop_speedup"] == pytest.approx(n / k, rel=1e-12)
    # the tilting rule n Phibar(sigma + Phi^{-1}(eps)) at sigma = 1, eps = 0.1 (Phi^{-1}(0.1) = -1.2816)
    rule = n * 0.5 * math.erfc((1.0 - 1.2815515655446004) / math.sqrt(2))
    assert doc["k_eps"]["tilting rule"]["k"] == pytest.approx(rule, rel=1e-9)


def test_cost_table_and_regime_note(capsys):
    assert main(["cost", "--n", "512", "--d", "32", "--eps", "0.1", "--sigma", "6", "--rows", "200"]) == 0
    out = capsys.readouterr().out
    assert "top-k, counted selection" in out and "condensed" in out and "not to be trusted" in out
    assert np.isfinite(float(out.split("simulated k_eps = ")[1].split()[0]))


@pytest.mark.parametrize("argv, match", [
    (["--n", "1", "--d", "8", "--eps", "0.1", "--sigma", "1"], r"--n must be an integer in \[2, "),
    (["--n", "64", "--d", "0", "--eps", "0.1", "--sigma", "1"], r"--d must be an integer in \[1, "),
    (["--n", "64", "--d", "8", "--eps", "1.5", "--sigma", "1"], r"--eps must be a number in \(0, 1\)"),
    (["--n", "64", "--d", "8", "--eps", "0.1", "--sigma", "-2"], r"--sigma must be a number in \(0, 30\]"),
    (["--n", "64", "--d", "8", "--eps", "0.1", "--sigma", "1", "--cache-words", "3"], r"--cache-words must be"),
    (["--n", "64", "--d", "8", "--eps", "0.1", "--sigma", "1", "--rows", "1"], r"--rows must be an integer"),
])
def test_cost_bad_input(argv, match, capsys):
    assert main(["cost"] + argv) == 2
    err = capsys.readouterr().err
    assert __import__("re").search(match, err), err
