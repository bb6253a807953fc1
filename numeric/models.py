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

__all__ = ["Model", "IIDLogits", "BilinearQK", "SelfAttention", "BoundModel", "as_expr", "as_float",
           "LOGIT_MAX", "OFFSET_MAX"]

#: the largest logit magnitude a model may produce: every logit, every difference of two
#: logits and every logit plus ``mu`` then stays finite in float64 (max 1.8e308)
LOGIT_MAX = 1e300
#: the largest ``|offset|`` of :class:`IIDLogits`: float64 rounds ``sigma X_j + offset_j`` to
#: ``ulp(offset_j) / 2`` (7.5e-9 at 1e8), so a larger offset would blur the Gaussian part
#: (and every weight near it) beyond the precision of the statistics
OFFSET_MAX = 1e8
#: an upper bound on ``|Z|`` of every normal the kernels draw (:mod:`.kernels._normal`: the
#: ziggurat's tail gives at most ``R + 36.8 / R = 14.1`` from a 53-bit uniform)
NORMAL_MAX = 16.0


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
    #: a common constant removed from every logit before the kernels (IID: ``mu``, which
    #: cancels in every softmax quantity); :func:`.simulate.simulate_stats` adds it back to
    #: the statistics that move with it (:data:`.codes.SHIFTED_BY_MU`) and to user rows
    shift: float = 0.0


def as_expr(value, name):
    """Sympify a parameter, refusing strings and other objects SymPy would parse."""
    if isinstance(value, str):
        raise TypeError(f"{name} must be a number or a SymPy expression, got the string {value!r}")
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a number or a SymPy expression, got the boolean {value!r}")
    try:
        return sp.sympify(value, strict=True)
    except (sp.SympifyError, TypeError):
        raise TypeError(f"{name} must be a number or a SymPy expression, got {type(value).__name__}") from None


def as_float(expr, name, values):
    """Substitute ``values`` into ``expr`` and return a Python float, or raise naming ``name``."""
    if expr.free_symbols:
        for k, v in values.items():  # subs would sympify (evaluate) a string
            if isinstance(v, (str, bytes)):
                raise TypeError(f"the value of {k} (in {name}) must be a number, got the string {v!r}")
        val = expr.subs(values)
    else:
        val = expr
    if val.free_symbols:
        missing = ", ".join(sorted(str(s) for s in val.free_symbols))
        raise ValueError(f"parameter {name} still depends on unbound symbol(s) {missing}")
    if not val.is_number:
        raise ValueError(f"parameter {name} does not evaluate to a number: {val}")
    if val.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise ValueError(f"{name} must be a finite real number, got {val}")
    try:
        z = complex(sp.N(val, 20))
    except (OverflowError, TypeError, ValueError):
        raise ValueError(f"{name} must be a real number within float64 range (|x| < 1.8e308), got {val}") from None
    if not (math.isfinite(z.real) and math.isfinite(z.imag)):
        raise ValueError(f"{name} must be a real number within float64 range (|x| < 1.8e308), got {val}")
    if z.imag != 0:
        raise ValueError(f"parameter {name} must be real, got {val}")
    return z.real


def _integer(x, name, lo, hi=None):
    if not math.isfinite(x) or x != int(x) or x < lo or (hi is not None and x > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{name} must be an integer {rng}, got {x:g}")
    return int(x)


def _real_array(x, name, ndim):
    """``x`` as a float64 array of one of the dimensions ``ndim``, or an error naming ``name``.

    Refuses complex entries (numpy would drop their imaginary part with only a warning),
    strings and other non-numbers, ragged nestings and NaN or infinite entries.
    """
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a real number or array, got the string {x!r}")
    try:
        a = np.asarray(x)
    except (ValueError, TypeError):  # ragged nestings
        raise ValueError(f"{name} must be a real array of shape (d,) or (d, h), not a ragged nesting") from None
    if a.dtype.kind == "O":  # e.g. SymPy numbers: convert each one, naming the parameter
        flat = [as_float(as_expr(v, name), name, {}) for v in a.ravel()]
        a = np.array(flat, dtype=np.float64).reshape(a.shape)
    if a.dtype.kind == "c":
        raise ValueError(f"{name} must be real, got complex entries (dtype {a.dtype})")
    if a.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers (float or integer dtype), got dtype {a.dtype}")
    if a.ndim not in ndim:
        raise ValueError(f"{name} must have ndim in {ndim}, got ndim={a.ndim}")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    return a


def _logit_bound(bound, name):
    """Refuse a model whose logits could reach ``bound`` >= :data:`LOGIT_MAX` (``name``: the culprits)."""
    if not bound <= LOGIT_MAX:
        about = f"{bound:.3g}" if math.isfinite(bound) else "more than 1.8e308"
        raise ValueError(f"{name} give logits up to about {about}, beyond float64's safe range "
                         f"(|logit| <= {LOGIT_MAX:g}); make them smaller")


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
        if not self.free_symbols:
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
        Common logit mean, ``|mu| <= 1e300``; it cancels in every softmax quantity, so the
        kernels draw the rows without it (:attr:`BoundModel.shift`) and only the statistics
        that move with it (``max_logit``, ``logit(j)``, ``log_partition``, ``partition``) and
        user statistics (which see the full row) get it back: a large ``mu`` costs no digits.
    offsets : dict {key index: offset}, optional
        Fixed offsets added to the logits of a few keys (a needle, an attention sink).
        They break exchangeability. An offset is a number or a SymPy expression (``Delta``),
        bound at check time like the scalar parameters, with ``|offset| <= 1e8``
        (:data:`OFFSET_MAX`).
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
        self.offsets = {}
        for j, v in (offsets or {}).items():
            if isinstance(j, bool) or not isinstance(j, (int, np.integer)) or j < 0:
                raise ValueError(f"offsets keys must be key indices >= 0, got {j!r}")
            self.offsets[int(j)] = as_expr(v, f"offsets[{j}]")
        super().__init__(n=n, sigma=sigma, mu=mu, scale_dof=scale_dof)

    @property
    def free_symbols(self):
        out = super().free_symbols
        for v in self.offsets.values():
            out |= v.free_symbols
        return out

    def _check_numeric_now(self):
        super()._check_numeric_now()
        if self.free_symbols:  # else bind({}) checked the offsets already
            for j, v in self.offsets.items():
                if not v.free_symbols:
                    self._offset(j, {})

    def _offset(self, j, values):
        x = as_float(self.offsets[j], f"offsets[{j}]", values)
        return _real(x, f"offsets[{j}]", -OFFSET_MAX, OFFSET_MAX)

    def _validate_scalar(self, p, x):
        if p == "n":
            return _integer(x, "n", 1, N_MAX)
        if p == "sigma":
            return _real(x, "sigma", 0.0, 1e6)
        if p == "scale_dof":
            return _integer(x, "scale_dof", 0, 65536)
        return _real(x, p, -LOGIT_MAX, LOGIT_MAX)

    def _bind(self, values):
        n = self.scalar("n", values)
        sigma = self.scalar("sigma", values)
        mu = self.scalar("mu", values)
        for j in self.offsets:
            if j >= n:
                raise ValueError(f"offsets key {j} is not a key index: must be < n = {n}")
        idx = np.array(sorted(self.offsets), dtype=np.int64)
        val = np.array([self._offset(int(j), values) for j in idx], dtype=np.float64)
        dof = float(self.scalar("scale_dof", values))
        # mu cancels in softmax: the kernels draw sigma X_j (+ offsets), mu is the shift
        return BoundModel(KIND_IID, n, 1, np.array([0.0, sigma, dof]), idx, val, np.zeros((0, 0)), mu)

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
        self.mu_k = np.atleast_1d(_real_array(mu_k, "mu_k", (0, 1)))
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
        sq, sk, scale = fpar
        # |s_j| <= scale sum_a |q_a| (|mu_a| + sigma_k |Z|), |q_a| <= sigma_q |Z|
        with np.errstate(over="ignore"):
            bound = scale * sq * NORMAL_MAX * (float(np.sum(np.abs(mu))) + d * sk * NORMAL_MAX)
        _logit_bound(bound, "scale, sigma_q, sigma_k and mu_k")
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
        wq, wk = (_real_array(w, nm, (0, 1, 2)) for nm, w in (("W_Q", W_Q), ("W_K", W_K)))
        for nm, w in (("W_Q", wq), ("W_K", wk)):
            if w.ndim != 2:
                raise ValueError(f"{nm} must be a 2-d array of shape (d, h), got ndim={w.ndim}")
        d_expr = as_expr(d, "d")
        if d_expr.free_symbols:
            raise ValueError(f"SelfAttention: d must be a number, the row count of W_Q and W_K; "
                             f"got the symbolic {d_expr} (the weight matrices fix the dimension)")
        d_int = _integer(as_float(d_expr, "d", {}), "d", 1, 65536)
        if wq.shape[0] != d_int or wk.shape[0] != d_int or wq.shape[1] != wk.shape[1]:
            raise ValueError(f"W_Q and W_K must both have shape (d, h) = ({d_int}, h); "
                             f"got {wq.shape} and {wk.shape}")
        self.d = d_int
        with np.errstate(over="ignore", invalid="ignore"):
            self.W = wq @ wk.T
            w_abs = float(np.sum(np.abs(self.W)))
        if not math.isfinite(w_abs):
            raise ValueError(f"W = W_Q W_K^T overflows float64 (entries of W_Q and W_K up to "
                             f"{np.max(np.abs(wq)):.3g} and {np.max(np.abs(wk)):.3g}); make W_Q and W_K smaller")
        self._w_abs = w_abs
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
        # |s_j| <= scale sigma_x^2 Z_max^2 sum_ab |W_ab|
        _logit_bound(fpar[1] * fpar[0] ** 2 * NORMAL_MAX**2 * self._w_abs, "scale, sigma_x, W_Q and W_K")
        return BoundModel(KIND_SELF, n, self.d, fpar, np.zeros(0, np.int64), np.zeros(0),
                          np.ascontiguousarray(self.W))

    def latex(self):
        return r"s_j = x_0^\top W x_j,\ x_i \sim \mathcal{N}(0, \sigma_x^2 I_d),\ W = W_Q W_K^\top"
