"""The acceptance example of the claim-engine issue and the README's tour.

The example is checked at n = 1024 rather than the issue's n = 4096: the anytime-valid
interval of a mean near 1/n in [0, 1] needs about a million rows there, more than the quick
budget (README, "A short tour").
"""

import re
from pathlib import Path

import sympy as sp

import attnsparse as asp

README = Path(__file__).resolve().parents[2] / "README.md"


def test_acceptance_example():
    n, sigma = sp.symbols("n sigma", positive=True)
    c = asp.Claim(
        "example.ipr_high_temperature",
        model=asp.IIDLogits(n=n, sigma=sigma),
        lhs=asp.E(asp.stat.ipr),
        rel="approx", rtol=0.05,
        rhs=sp.exp(sigma**2) / n,
        statement="In the high-temperature phase the inverse participation ratio is about e^{sigma^2}/n.",
    )
    print(c.latex())
    r = c.check(n=1024, sigma=0.5, seed=1)
    print(r.verdict, r.estimate, r.ci, r.theory)
    assert r.verdict == "consistent"

    d = sp.symbols("d", positive=True, integer=True)
    wrong = asp.Claim(
        "example.wrong_fourth_moment",
        model=asp.BilinearQK(n=2, d=d, sigma_q=1, sigma_k=1),
        lhs=asp.E(asp.stat.logits(lambda s: s[0] ** 4)),
        rel="==",
        rhs=3 * (1 + 3 / d),          # the truth is 3*(1 + 2/d)
    )
    assert wrong.check(d=4, seed=2).verdict == "refuted"


def test_readme_python_blocks_run():
    """Every ```python block of the README runs as written (so the tour cannot rot)."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no python example"
    for code in blocks:
        exec(compile(code, str(README), "exec"), {})


def test_latex_of_the_example_is_house_notation():
    n, sigma = sp.symbols("n sigma", positive=True)
    c = asp.Claim("example.x", model=asp.IIDLogits(n=n, sigma=sigma), lhs=asp.E(asp.stat.ipr),
                  rel="approx", rtol=0.05, rhs=sp.exp(sigma**2) / n)
    assert c.latex() == r"\mathbb{E}\left[\sum_j p_j^2\right] \approx \frac{e^{\sigma^{2}}}{n}"
    assert c._repr_latex_().startswith("$") and c._repr_latex_().endswith("$")
