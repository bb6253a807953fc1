"""Shared fixtures of the sweep tests: small specs written to temporary folders."""

import json
import os

import pytest

#: a small spec (12 points, tiny rows): fast enough for the default test run
SMALL_SPEC = """
name = "small"
samples = 300
seed = 11
[model]
kind = "iid"
n = "n"
sigma = "sqrt(2*gamma*log(n))"
[grid]
n = "2^6..2^9"
gamma = [0.5]
C = [0.4, 0.6, 0.8]
alpha = 1.0
[stats]
tau = "tail_mass(ceil(alpha*n^C))"
p1 = "max_weight"
big = "P(max_weight > 0.2)"
k90 = "quantile(k_eps(0.1), 0.9)"
"""


@pytest.fixture
def write_spec(tmp_path):
    """``write_spec(text, name="spec.toml") -> path`` in the test's temporary folder."""
    def write(text, name="spec.toml"):
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


def stored_records(folder):
    """{key: record without its "run" section (timing, host, pid)} of a store."""
    out = {}
    points = os.path.join(folder, "points")
    for name in sorted(os.listdir(points)):
        with open(os.path.join(points, name)) as f:
            rec = json.load(f)
        rec.pop("run")
        out[name] = rec
    return out


@pytest.fixture(scope="session")
def small_reference(tmp_path_factory):
    """The small spec run serially in this process: (spec path, store folder, records)."""
    from attnsparse.sweep import run_sweep
    from attnsparse.sweep.spec import load_spec

    folder = tmp_path_factory.mktemp("small_ref")
    spec_path = folder / "small.toml"
    spec_path.write_text(SMALL_SPEC)
    status = run_sweep(load_spec(str(spec_path)), str(folder / "store"), executor="serial", progress=False)
    assert status.complete and status.computed == 12
    return str(spec_path), str(folder / "store"), stored_records(str(folder / "store"))


@pytest.fixture(scope="session")
def records_of():
    """``records_of(folder)``: the records of a store without their "run" sections."""
    return stored_records
