"""Shared SymPy symbols with their assumptions, and the house constants built from them.

One place for the house notation: the symbols, the critical scale ``beta_c = sqrt(2 ln n)``
(with its float value :func:`critical_sigma`) and the Gumbel centring ``b_n``. The Gaussian
cdf and tail ``Phi``, ``Phibar`` are SymPy functions, in :mod:`.functions`.
"""

import math

import sympy as sp

n = sp.Symbol("n", positive=True, integer=True)
d = sp.Symbol("d", positive=True, integer=True)
j = sp.Symbol("j", nonnegative=True, integer=True)
k = sp.Symbol("k", nonnegative=True, integer=True)
sigma = sp.Symbol("sigma", positive=True)
sigma_q = sp.Symbol("sigma_q", positive=True)
sigma_k = sp.Symbol("sigma_k", positive=True)
sigma_x = sp.Symbol("sigma_x", positive=True)
mu = sp.Symbol("mu", real=True)
t = sp.Symbol("t", real=True)
a = sp.Symbol("a", real=True)
b = sp.Symbol("b", real=True)
x = sp.Symbol("x", real=True)
eps = sp.Symbol("epsilon", positive=True)
# integration variables
X = sp.Symbol("X", real=True)
r = sp.Symbol("r", positive=True)
lam = sp.Symbol("lambda", real=True)

#: the critical logit scale of the IID model, beta_c = sqrt(2 ln n) (docs/theory.md, section 5)
beta_c = sp.sqrt(2 * sp.log(n))
#: the Gumbel centring of the max of n standard normals, b_n = beta_c - (ln ln n + ln 4 pi) / (2 beta_c)
b_n = beta_c - (sp.log(sp.log(n)) + sp.log(4 * sp.pi)) / (2 * beta_c)


def critical_sigma(n_value):
    """``beta_c`` at the row length ``n_value``, as a float: ``sqrt(2 ln n)``."""
    return math.sqrt(2 * math.log(n_value))
