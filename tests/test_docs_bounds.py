"""docs/bounds.md: the "Derive a tail bound in five lines" block runs and says what it claims."""

import pathlib
import re

import sympy as sp

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_five_line_tutorial_runs_and_its_comments_hold():
    text = (ROOT / "docs" / "bounds.md").read_text()
    block = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    ns = {}
    exec(compile(block, "docs/bounds.md", "exec"), ns)  # the repository's own documentation, not user input
    n, sigma, x = ns["n"], ns["sigma"], ns["x"]
    assert sp.simplify(ns["D"].result - n * sp.exp(-x**2 / (2 * sigma**2))) == 0
    assert all(s.status == "verified" for s in ns["D"].check().steps)
    assert ns["claim"].check(n=8, sigma=1.0, x=2.5).verdict == "consistent"
