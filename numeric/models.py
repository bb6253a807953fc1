"""Gaussian attention models and their parameters.

A model names its parameters once. Each parameter may be a number or a SymPy expression
(usually a Symbol with assumptions); symbols are bound to numbers when a claim is
evaluated or simulated. Validation happens in one place, :meth:`Model.bind`, which
returns the plain numbers the simulation kernels take. This module imports no numba.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from .codes import KIND_BILINEAR, KIND_IID, KIND_SELF

__all__ = ["Model", "IIDLogits", "BilinearQK", "SelfAttention", "BoundModel", "as_expr", "as_float"]


@dataclass(frozen=True)
class BoundModel:
    """A model with every parameter a number: what the kernels take."""

    kind: int  # one of the KIND_* of :mod:`.codes`
    n: int
    d: int
    fpar: np.ndarray  # float parameters, meaning depends on kind
    ivec: np.ndarray  # int64 vector (IID: offset key indices)
    fvec: np.ndarray  # float64 vector (IID: offsets; bilinear: mu_k)
    mat: np.ndarray  # float64 matrix (self-attention: W = W_Q W_K^T)


def as_expr(value, name):
    """Sympify a parameter, refusing strings and other objects SymPy would parse."""
    if isinstance(value, str):
        raise TypeError(f"{name} must be a number or a SymPy expression, got the string {value!r}")
    try:
        return sp.sympify(value, strict=True)
    except (sp.SympifyError, TypeError):
        raise TypeError(f"{name} must be a number or a SymPy expression, got {type(value).__name__}") from None


def as_float(expr, name, values):
    """Substitute ``values`` into ``expr`` and return a Python float, or raise naming ``name``."""
    val = expr.subs(values) if expr.free_symbols else expr
    if val.free_symbols:
        missing = ", ".join(sorted(str(s) for s in val.free_symbols))
        raise ValueError(f"parameter {name} still depends on unbound symbol(s) {missing}")
    if not val.is_number:
        raise ValueError(f"parameter {name} does not evaluate to a number: {val}")
    if val.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise ValueError(f"{name} must be a finite real number, got {val}")
    z = complex(sp.N(val, 20))
    if z.imag != 0:
        raise ValueError(f"parameter {name} must be real, got {val}")
    return z.real


def _integer(x, name, lo, hi=None):
    if not math.isfinite(x) or x != int(x) or x < lo or (hi is not None and x > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{name} must be an integer {rng}, got {x:g}")
    return int(x)


def _real(x, name, lo=-math.inf, hi=math.inf, lo_open=False):
    bad = not math.isfinite(x) or x > hi or x < lo or (lo_open and x == lo)
    if bad:
        left = "(" if lo_open else "["
        raise ValueError(f"{name} must be a finite real number in {left}{lo:g}, {hi:g}], got {x:g}")
    return float(x)


# the largest row length a model accepts; one row is held in memory per thread
N_MAX = 2**26


class Model:
    """Base class. Subclasses define ``params`` (names of scalar parameters) and ``_bind``."""

    params: tuple = ()
    name = "model"
    _hidden_defaults: tuple = ()  # parameters not shown in repr while they are 0

    def __init__(self, **kw):
        for p in self.params:
            setattr(self, p, as_expr(kw[p], p))
        # validate whatever is already numeric now, so bad input fails at construction
        self._check_numeric_now()

    def _check_numeric_now(self):
        known = {p: getattr(self, p) for p in self.params}
        if not any(v.free_symbols for v in known.values()):
            self.bind({})
        else:
            for p, v in known.items():
                if not v.free_symbols:
                    self._validate_scalar(p, as_float(v, p, {}))

    @property
    def free_symbols(self):
        out = set()
        for p in self.params:
            out |= getattr(self, p).free_symbols
        return out

    def scalar(self, p, values):
        """Parameter ``p`` as a validated float under the bindings ``values``."""
        return self._validate_scalar(p, as_float(getattr(self, p), p, values))

    def bind(self, values) -> BoundModel:
        """Substitute ``values`` ({Symbol: number}) and validate: the kernels' input."""
        return self._bind(values)

    def __repr__(self):
        args = ", ".join(f"{p}={getattr(self, p)}" for p in self.params
                         if not (p in self._hidden_defaults and getattr(self, p) == 0))
        return f"{type(self).__name__}({args})"

    def _latex(self, printer):
        return self.latex()


class IIDLogits(Model):
    r"""IID Gaussian logits: ``s_j = mu + sigma X_j (+ offset_j)``, ``X_j ~ N(0, 1)`` iid.

    Parameters
    ----------
    n : int or Symbol
        Number of keys in a row (>= 1).
    sigma : float or Symbol
        Logit standard deviation (>= 0).
    mu : float or Symbol
        Common logit mean; it cancels in every softmax quantity.
    offsets : dict {key index: offset}, optional
        Fixed offsets added to the logits of a few keys (a needle, an attention sink).
        They break exchangeability.
    scale_dof : int or Symbol, optional
        If > 0, each row uses its own scale ``sigma * sqrt(chi2_nu / nu)`` with
        ``nu = scale_dof``: the mixture that the bilinear model reduces to. 0 (default): off.
    """

    params = ("n", "sigma", "mu", "scale_dof")
    name = "iid"
    _hidden_defaults = ("scale_dof",)

    def __init__(self, n, sigma, mu=0, offsets=None, scale_dof=0):
        if offsets is not None and not isinstance(offsets, dict):
            raise TypeError("offsets must be a dict {key index: logit offset}")
        self.offsets = dict(offsets or {})
        for j, v in self.offsets.items():
            if not isinstance(j, (int, np.integer)) or j < 0:
                raise ValueError(f"offsets keys must be key indices >= 0, got {j!r}")
            if not math.isfinite(float(v)):
                raise ValueError(f"offsets[{j}] must be a finite number, got {v!r}")
        super().__init__(n=n, sigma=sigma, mu=mu, scale_dof=scale_dof)

    def _validate_scalar(self, p, x):
        if p == "n":
            return _integer(x, "n", 1, N_MAX)
        if p == "sigma":
            return _real(x, "sigma", 0.0, 1e6)
        if p == "scale_dof":
            return _integer(x, "scale_dof", 0, 65536)
        return _real(x, p)

    def _bind(self, values):
        n = self.scalar("n", values)
        sigma = self.scalar("sigma", values)
        mu = self.scalar("mu", values)
        for j in self.offsets:
            if j >= n:
                raise ValueError(f"offsets key {j} is not a key index: must be < n = {n}")
        idx = np.array(sorted(self.offsets), dtype=np.int64)
        val = np.array([float(self.offsets[j]) for j in idx], dtype=np.float64)
        dof = float(self.scalar("scale_dof", values))
        return BoundModel(KIND_IID, n, 1, np.array([mu, sigma, dof]), idx, val, np.zeros((0, 0)))

    def latex(self):
        s = r"s_j = \mu + \sigma X_j,\ X_j \overset{iid}{\sim} \mathcal{N}(0,1)"
        if self.scale_dof != 0:
            nu = sp.latex(self.scale_dof)
            s += r",\ \sigma \to \sigma\sqrt{\chi^2_{%s}/%s}" % (nu, nu)
        return s


class BilinearQK(Model):
    r"""Bilinear query-key logits ``s_j = scale <q, k_j>``.

    ``q ~ N(0, sigma_q^2 I_d)`` and keys ``k_j ~ N(mu_k, sigma_k^2 I_d)`` iid; the default
    scale is ``1/sqrt(d)``. ``mu_k`` is a scalar (every coordinate) or a length-``d`` vector.
    """

    params = ("n", "d", "sigma_q", "sigma_k", "scale")
    name = "bilinear"

    def __init__(self, n, d, sigma_q=1, sigma_k=1, mu_k=0, scale=None):
        mu = np.atleast_1d(np.asarray(mu_k, dtype=float))
        if mu.ndim != 1 or not np.all(np.isfinite(mu)):
            raise ValueError("mu_k must be a finite scalar or a finite 1-d vector of length d")
        self.mu_k = mu
        d_sym = as_expr(d, "d")
        super().__init__(n=n, d=d, sigma_q=sigma_q, sigma_k=sigma_k,
                         scale=1 / sp.sqrt(d_sym) if scale is None else scale)

    def _validate_scalar(self, p, x):
        if p == "n":
            return _integer(x, "n", 1, N_MAX)
        if p == "d":
            return _integer(x, "d", 1, 65536)
        if p in ("sigma_q", "sigma_k"):
            return _real(x, p, 0.0, 1e6)
        return _real(x, p, 0.0, 1e6, lo_open=True)

    def _bind(self, values):
        n, d = self.scalar("n", values), self.scalar("d", values)
        if self.mu_k.size not in (1, d):
            raise ValueError(f"mu_k must be a scalar or have length d = {d}, got length {self.mu_k.size}")
        mu = np.broadcast_to(self.mu_k, (d,)).astype(np.float64).copy()
        fpar = np.array([self.scalar(p, values) for p in ("sigma_q", "sigma_k", "scale")])
        return BoundModel(KIND_BILINEAR, n, d, fpar, np.zeros(0, np.int64), mu, np.zeros((0, 0)))

    def latex(self):
        return (r"s_j = \langle q, k_j\rangle / \sqrt{d},\ q \sim \mathcal{N}(0, \sigma_q^2 I_d),"
                r"\ k_j \sim \mathcal{N}(\mu_k, \sigma_k^2 I_d)")


class SelfAttention(Model):
    r"""Self-attention with weights: rows ``x_i ~ N(0, sigma_x^2 I_d)``, logits ``scale x_i^T W x_j``.

    ``W = W_Q W_K^T`` with ``W_Q``, ``W_K`` numeric arrays of shape ``(d, h)``. The simulated
    row is query ``i = 0``; its diagonal key ``j = 0`` has mean ``sigma_x^2 tr W``. The
    default scale is 1, the seed paper's unscaled setting.
    """

    params = ("n", "sigma_x", "scale")
    name = "self"

    def __init__(self, n, d, sigma_x, W_Q, W_K, scale=1):
        wq, wk = (np.asarray(w, dtype=float) for w in (W_Q, W_K))
        for nm, w in (("W_Q", wq), ("W_K", wk)):
            if w.ndim != 2:
                raise ValueError(f"{nm} must be a 2-d array of shape (d, h), got ndim={w.ndim}")
            if not np.all(np.isfinite(w)):
                raise ValueError(f"{nm} must be finite (found NaN or inf)")
        d_int = _integer(float(d), "d", 1, 65536)
        if wq.shape[0] != d_int or wk.shape[0] != d_int or wq.shape[1] != wk.shape[1]:
            raise ValueError(f"W_Q and W_K must both have shape (d, h) = ({d_int}, h); "
                             f"got {wq.shape} and {wk.shape}")
        self.d = d_int
        self.W = wq @ wk.T
        super().__init__(n=n, sigma_x=sigma_x, scale=scale)

    def _validate_scalar(self, p, x):
        if p == "n":
            return _integer(x, "n", 1, N_MAX)
        if p == "sigma_x":
            return _real(x, "sigma_x", 0.0, 1e6)
        return _real(x, p, 0.0, 1e6, lo_open=True)

    def _bind(self, values):
        n = self.scalar("n", values)
        fpar = np.array([self.scalar("sigma_x", values), self.scalar("scale", values)])
        return BoundModel(KIND_SELF, n, self.d, fpar, np.zeros(0, np.int64), np.zeros(0),
                          np.ascontiguousarray(self.W))

    def latex(self):
        return r"s_j = x_0^\top W x_j,\ x_i \sim \mathcal{N}(0, \sigma_x^2 I_d),\ W = W_Q W_K^\top"
