"""Public wrappers around the simulation kernels.

``simulate_stats`` draws independent logit rows of a model and returns a matrix of row
statistics; ``simulate`` estimates one functional (E, P, Var, quantile) with its
confidence interval. Seeds: a master seed and a batch number define a
``numpy.random.SeedSequence`` (:mod:`.streams` names the batches), which gives one seed
per chunk of rows; each chunk runs its
own xoshiro256** stream with ziggurat normals (:mod:`.kernels._normal`), so the numbers
are the same run to run and for any number of numba threads.

Every row is an independent sample of the model (a fresh query and fresh keys for the
bilinear and self-attention models), reduced by the fused kernel of
:mod:`.kernels._reduce`: one compare pass, one exp pass and histogram selection for
top-k, tail mass and ``k_eps`` (no sort). For statistics of many queries against one
fixed key set (real arrays, or one draw of ``X W_Q`` and ``X W_K``) use
:func:`attnsparse.numeric.measure.attention_stats`; its rows are not independent.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from . import config
from .codes import LOG_PARTITION, PARTITION, SHIFTED_BY_MU, USER_CODE
from .models import Model
from .statistics import Estimate, Functional
from .streams import check_seed, seed_sequence

__all__ = ["simulate_stats", "simulate", "Simulation", "chunk_seeds", "check_seed"]


def chunk_seeds(seed, batch, n_rows, chunk_rows=config.CHUNK_ROWS):
    """One 64-bit seed per chunk of rows, derived from ``(seed, batch)``.

    64 bits, so that even a full-effort check (hundreds of thousands of chunks) is not
    expected to give two chunks the same seed (with 32 bits it would, about a dozen times).
    """
    n_chunks = max(1, math.ceil(n_rows / chunk_rows))
    return seed_sequence(seed, batch).generate_state(n_chunks, dtype=np.uint64).view(np.int64)


_compiled_user = {}


def _user_kernel_func(f, with_args):
    """``h(s, a)`` compiled by numba, calling the user statistic ``f`` (compiled once per function).

    ``f`` is compiled with bounds checking (an already jitted ``f`` is recompiled from its
    Python source with its own options plus ``boundscheck=True``), so an index outside the
    row raises instead of reading memory next to it.
    """
    import numba

    key = (f, with_args)
    if key not in _compiled_user:
        if isinstance(f, numba.core.registry.CPUDispatcher):
            opts = {k: v for k, v in f.targetoptions.items() if k in ("fastmath", "error_model")}
            g = numba.njit(f.py_func, boundscheck=True, **opts)
        else:
            g = numba.njit(f, boundscheck=True)
        if with_args:
            def h(s, a):
                return g(s, a)
        else:
            def h(s, a):
                return g(s)
        _compiled_user[key] = numba.njit(h)
    return _compiled_user[key]


def simulate_stats(model: Model, stats, samples: int, seed: int, values=None, batch: int = 0):
    """Simulate ``samples`` independent rows of ``model`` and return their statistics.

    Parameters
    ----------
    model : Model
        An :class:`IIDLogits`, :class:`BilinearQK` or :class:`SelfAttention`.
    stats : sequence of Stat
        Statistics from :data:`attnsparse.stat`.
    samples : int
        Number of independent rows (>= 2).
    seed : int
        Master seed (>= 0). With ``batch`` it fixes every random number drawn.
    values : dict {Symbol or name: number}
        Bindings of the model's and the statistics' free symbols.

    Returns
    -------
    ndarray of shape (samples, len(stats))
        Every value finite. A statistic that is not finite on some row (a user statistic
        returning NaN, ``partition`` past float64's range) raises ``ValueError`` naming it;
        a user statistic indexing outside the row raises ``IndexError`` naming it.
    """
    from .kernels._rows import _simulate_rows

    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise ValueError(f"samples must be an integer >= 2, got {samples!r}")
    values = _symbol_keys(values or {}, model, stats)
    bm = model.bind(values)
    seeds = chunk_seeds(seed, batch, samples)
    stats = list(stats)
    for s in stats:
        if s.name == "top_gap" and bm.n < 2:
            raise ValueError("stat.top_gap needs n >= 2 keys")
    args = (bm.kind, bm.n, bm.d, bm.fpar, bm.ivec, bm.fvec, bm.mat, seeds, config.CHUNK_ROWS)
    out = np.empty((samples, len(stats)))
    builtin = [i for i, s in enumerate(stats) if s.code != USER_CODE]
    if builtin:
        codes = np.array([stats[i].code for i in builtin], dtype=np.int64)
        params = np.array([stats[i].bind_param(values, bm.n) for i in builtin])
        if bm.shift != 0.0:  # Z = e^shift Z_0 is formed from log Z_0 (no overflow on the way)
            codes[codes == PARTITION] = LOG_PARTITION
        res = np.empty((samples, len(builtin)))
        _simulate_rows(*args, codes, params, res)
        if bm.shift != 0.0:
            _add_shift(res, [stats[i].code for i in builtin], bm.shift)
        out[:, builtin] = res
    user = [i for i, s in enumerate(stats) if s.code == USER_CODE]
    if user:  # user statistics see the full row, shift included
        uargs = args if bm.shift == 0.0 else (bm.kind, bm.n, bm.d, _with_shift(bm), *args[4:])
        for i in user:
            out[:, i] = _user_column(stats[i], uargs, values, samples, bm.n)
    _check_finite(out, stats)
    return out


def _with_shift(bm):
    """The kernels' float parameters of ``bm`` with its shift folded back in (IID: ``mu``)."""
    fpar = bm.fpar.copy()
    fpar[0] = bm.shift
    return fpar


def _add_shift(res, codes, shift):
    """Give the statistics that move with the common logit shift their shift back."""
    with np.errstate(over="ignore"):
        for t, c in enumerate(codes):
            if c in SHIFTED_BY_MU:
                res[:, t] += shift
            elif c == PARTITION:
                res[:, t] = np.exp(res[:, t] + shift)


def _user_column(s, args, values, samples, n):
    """One column of the user statistic ``s``, with errors that name it."""
    import numba

    from .kernels._rows import _simulate_user

    col = np.empty(samples)
    fargs = s.bind_args(values)
    try:
        h = _user_kernel_func(s.func, bool(s.args))
        _simulate_user(*args, h, fargs, col)
    except numba.core.errors.NumbaError as exc:  # typing errors are long; name the culprit first
        raise TypeError(f"the user statistic {s!r} could not be compiled by numba for a "
                        f"float64 logit row; it must be plain numpy scalar code. "
                        f"numba said: {str(exc).splitlines()[0]}") from None
    except Exception as exc:  # raised on a row (in a parallel region numba wraps it in SystemError)
        cause = exc if exc.__cause__ is None or not isinstance(exc, SystemError) else exc.__cause__
        if isinstance(cause, IndexError):
            raise IndexError(f"the user statistic {s!r} indexed the logit row out of bounds: a row "
                             f"has n = {n} entries, indices 0..{n - 1}") from None
        raise ValueError(f"the user statistic {s!r} raised {type(cause).__name__} on a row: "
                         f"{str(cause).splitlines()[0] if str(cause) else ''}") from None
    return col


def _check_finite(out, stats):
    """Refuse statistics that are NaN or infinite on some row, naming them."""
    if np.isfinite(out).all():
        return
    for i, s in enumerate(stats):
        bad = ~np.isfinite(out[:, i])
        if bad.any():
            r = int(np.argmax(bad))
            hint = ""
            if s.code == PARTITION:
                hint = "; Z exceeds float64 (log Z > 709.78): use stat.log_partition"
            elif s.code == USER_CODE:
                hint = "; a user statistic must return a finite number on every row"
            raise ValueError(f"the statistic {s!r} is not finite (NaN or inf) on {int(bad.sum())} of {len(bad)} "
                             f"rows (row {r}: {float(out[r, i])}){hint}")


def _symbol_keys(values, *objs):
    """Map names or Symbols to the free Symbols of ``objs`` (models, stats, functionals)."""
    free = set()
    for o in objs:
        if isinstance(o, (list, tuple)):
            for x in o:
                free |= x.free_symbols
        else:
            free |= o.free_symbols
    by_name = {s.name: s for s in free}
    out = {}
    for k, v in values.items():
        key = by_name.get(k if isinstance(k, str) else k.name)
        if key is not None:
            out[key] = v
    return out


@dataclass(frozen=True)
class Simulation:
    """An estimate of a functional from simulation."""

    functional: Functional
    estimate: Estimate
    seed: int
    level: float
    elapsed: float

    @property
    def mean(self):
        return self.estimate.value

    @property
    def stderr(self):
        return self.estimate.stderr

    @property
    def ci(self):
        return self.estimate.ci

    @property
    def samples(self):
        return self.estimate.samples

    def __repr__(self):
        lo, hi = self.ci
        return (f"Simulation({self.functional!r}: {self.mean:.6g} +- {self.stderr:.2g}, "
                f"{100 * self.level:g}% CI [{lo:.6g}, {hi:.6g}], n={self.samples}, seed={self.seed})")


def simulate(functional: Functional, model: Model, samples: int, seed: int, values=None,
             level: float = 0.95, batch: int = 0) -> Simulation:
    """Estimate ``functional`` under ``model`` from ``samples`` simulated rows."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    t0 = time.perf_counter()
    model = functional.model or model
    values = values or {}
    x = simulate_stats(model, [functional.stat], samples, seed, values, batch)[:, 0]
    x = functional.values(x, _symbol_keys(values, functional))
    return Simulation(functional, functional.estimate(x, level), seed, level, time.perf_counter() - t0)
