"""Spec parsing: grids, expressions, seeds, hashes; malformed specs are rejected naming the field."""

import copy

import pytest

from attnsparse.cli import main
from attnsparse.sweep.spec import SpecError, load_spec, parse_spec, point_seed

BASE = {
    "samples": 100, "seed": 1,
    "model": {"kind": "iid", "n": "n", "sigma": "sqrt(2*gamma*log(n))"},
    "grid": {"n": "2^6..2^8", "gamma": [0.5], "C": [0.6]},
    "stats": {"tau": "tail_mass(ceil(n^C))"},
}


def spec_with(path, value):
    """BASE with the dotted ``path`` set to ``value`` (``None`` deletes it)."""
    raw = copy.deepcopy(BASE)
    *head, last = path.split(".")
    d = raw
    for h in head:
        d = d[h]
    if value is None:
        del d[last]
    else:
        d[last] = value
    return raw


# (dotted path, bad value, the field the message must start with, a phrase it must contain)
MALFORMED = [
    ("colour", "red", "colour", "unknown field"),
    ("samples", "100", "samples", "must be an integer"),
    ("samples", 1, "samples", ">= 2"),
    ("samples", True, "samples", "must be an integer"),
    ("seed", -1, "seed", ">= 0"),
    ("level", 1.5, "level", "(0, 1)"),
    ("model.kind", "gru", "model.kind", "iid, bilinear, self"),
    ("model.temperature", 2.0, "model.temperature", "unknown parameter"),
    ("model.sigma", "sqrt(2*gama*log(n))", "model.sigma", "'gama' is not a grid parameter"),
    ("model.sigma", "__import__('os').getcwd()", "model.sigma", "is not allowed"),
    ("model.sigma", "sqrt(2*", "model.sigma", "cannot parse"),
    ("model.sigma", [1, 2], "model.sigma", "number or an expression"),
    ("grid.beta", [1.0], "grid.beta", "unknown parameter"),
    ("grid.n", "2^10..3^12", "grid.n", "one base"),
    ("grid.n", "2^12..2^10", "grid.n", "must increase"),
    ("grid.n", "10..1", "grid.n", "lo <= hi"),
    ("grid.n", "1..x", "grid.n", "bad range"),
    ("grid.n", "many", "grid.n", "bad range"),
    ("grid.n", [], "grid.n", "empty list"),
    ("grid.n", [64, "128"], "grid.n", "finite numbers"),
    ("grid.n", [64, 64], "grid.n", "repeated"),
    ("grid.n", {"a": 1}, "grid.n", "a number, a list or a range"),
    ("grid.n", [2**30], "grid", "n must be an integer in [1, 67108864]"),
    ("grid.n", [64.5], "grid", "n must be an integer"),
    ("stats.tau", "tail_mass(n^C)", "grid", "k must be an integer"),  # caught when bound at a point
    ("stats.tau", "tail_mass", "stats.tau", "takes a parameter k"),
    ("stats.tau", "tail_mas(3)", "stats.tau", "not a statistic"),
    ("stats.tau", "quantile(ipr, 2)", "stats.tau", "(0, 1)"),
    ("stats.tau", "P(ipr)", "stats.tau", "comparison"),
    ("stats.tau", 3, "stats.tau", "must be a string"),
    ("stats", None, "model", None),  # (replaced below: no stats and no claims)
    ("claims", ["logits.no_such_claim"], "claims", "no claim with id"),
]
MALFORMED[-2] = ("stats", None, "stats", "nothing to estimate")
MALFORMED += [
    # astronomically large numbers are refused at once instead of hanging SymPy
    ("model.sigma", "10^10^9", "model.sigma", "too large"),
    ("stats.tau", "tail_mass(2^2^40)", "stats.tau", "too large"),
    ("grid.n", "2^0..2^100000000", "grid.n", "too many values"),
]


@pytest.mark.parametrize("path,value,field,phrase", MALFORMED, ids=[f"{m[0]}={m[1]!r}" for m in MALFORMED])
def test_malformed_spec_is_rejected_naming_the_field(path, value, field, phrase):
    with pytest.raises(SpecError) as info:
        parse_spec(spec_with(path, value))
    msg = str(info.value)
    assert msg.startswith(field + ":") or msg.startswith(field + " "), msg
    assert phrase in msg, msg


def test_grid_range_forms():
    raw = spec_with("grid", {"n": "2^10..2^20", "gamma": "0.1..0.5 step 0.1", "C": "1..3"})
    raw["stats"] = {"tau": "tail_mass(C)"}
    s = parse_spec(raw, check_points=False)
    assert s.grid["n"] == [2**e for e in range(10, 21)]
    assert s.grid["gamma"] == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert s.grid["C"] == [1, 2, 3]
    assert len(s.points()) == 11 * 5 * 3


def test_stat_params_are_exact_decimal_expressions():
    # alpha = 0.1 read as the decimal 1/10: ceil(0.1 * 1000) is 100, not 101 as in binary floats
    raw = spec_with("grid", {"n": [1000], "alpha": [0.1]})
    raw["model"]["sigma"] = 1.0
    raw["stats"] = {"tau": "tail_mass(ceil(alpha*n))"}
    s = parse_spec(raw)
    (p,) = s.points()
    assert s.targets[0].functional.stat.bind_param(s.values(p), 1000) == 100.0


def test_point_seed_depends_on_the_point_and_master_seed_only():
    a = point_seed(5, {"n": 64, "C": 0.6})
    assert a == point_seed(5, {"C": 0.6, "n": 64})  # key order does not matter
    assert a != point_seed(6, {"n": 64, "C": 0.6})
    assert a != point_seed(5, {"n": 128, "C": 0.6})
    small = parse_spec(BASE)
    wider = parse_spec(spec_with("grid.n", "2^4..2^10"))
    assert {point_seed(small.seed, p) for p in small.points()} <= {point_seed(wider.seed, p) for p in wider.points()}


def test_spec_hash_ignores_labels_and_order_but_not_numbers():
    h = parse_spec(BASE).hash
    relabelled = spec_with("name", "other")
    relabelled["description"] = "text"
    assert parse_spec(relabelled).hash == h
    reordered = dict(reversed(list(copy.deepcopy(BASE).items())))
    assert parse_spec(reordered).hash == h
    assert parse_spec(spec_with("samples", 101)).hash != h
    assert parse_spec(spec_with("grid.C", [0.6, 0.7])).hash != h


def test_bad_toml_and_missing_file(write_spec):
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(write_spec("samples = = 3"))
    with pytest.raises(SpecError, match="no such file"):
        load_spec("/nonexistent/spec.toml")


def test_cli_rejects_a_malformed_spec_with_exit_2(write_spec, capsys):
    path = write_spec('samples = 100\nseed = 1\n[model]\nkind = "iid"\nn = "n"\nsigma = 1\n'
                      '[grid]\nn = "2^3..2^5"\nbeta = [1]\n[stats]\nt = "ipr"\n')
    assert main(["sweep", path, "--out", path + ".out"]) == 2
    err = capsys.readouterr().err
    assert "grid.beta: unknown parameter" in err
