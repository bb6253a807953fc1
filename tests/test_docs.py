"""The documentation's examples are real output, and every object renders in Jupyter.

Building the Sphinx site (-W) and executing docs/example.ipynb are .ci/run's steps.
"""

import importlib.util
import re
from pathlib import Path

import sympy as sp

import attnsparse as asp

ROOT = Path(__file__).parents[1]


def _user_module():
    spec = importlib.util.spec_from_file_location("userclaims", ROOT / "tests" / "userproject" / "userclaims.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_tutorial_shows_the_real_wrong_step_report():
    doc = (ROOT / "docs" / "tutorial.md").read_text()
    shown = re.search(r">>> print\(jensen\(last_step=sp\.log\(n\) \+ sigma\*\*2\)\.check\(\)\.text\(\)\)\n(.*?)```",
                      doc, re.S).group(1)
    u = _user_module()
    assert shown.strip() == u.jensen(last_step=sp.log(u.n) + u.sigma**2).check().text()


def test_jupyter_representations():
    c = asp.get("entries.mean_weight")
    assert c._repr_latex_() == "$\\displaystyle " + c.latex() + "$"
    bundle = c.derivation._repr_mimebundle_()
    assert bundle["text/plain"] == c.derivation.text()
    assert bundle["text/latex"].startswith(r"\begin{align*}")
    check = c.derivation.check()
    bundle = check._repr_mimebundle_()
    assert bundle["text/plain"] == check.text() and r"\text{verified}" in bundle["text/latex"]
