"""Shared SymPy symbols with their assumptions (one place for the house notation)."""

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
