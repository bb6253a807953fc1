"""Sweep specifications: read a TOML spec, validate it, expand its grid, derive seeds.

A spec names a model and its parameters, the estimated quantities (statistics of the
stat vocabulary with a functional, or registered claim ids), a parameter grid, the rows
simulated per grid point and a master seed; docs/sweeps.md describes the format.

Every error is a :class:`SpecError` whose message starts with the offending field, e.g.
``grid.n: bad range '2^10..3^20': ...``. Expressions (``"sqrt(2*gamma*log(n))"``) are
parsed by :mod:`.expr` (a whitelist walk of their syntax tree; nothing is ``eval``-ed).

Seeds: grid point ``x`` gets ``SeedSequence(entropy=seed, spawn_key=h(x))`` with ``h(x)``
the SHA-256 of the point's canonical JSON, so a point's random numbers depend on its
parameter values and the master seed only: not on its position in the grid, on the other
points, or on how points are scheduled. This module imports no numba.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
import sys
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from ..numeric import config
from ..numeric.models import BilinearQK, IIDLogits, Model, SelfAttention
from .expr import MAX_DIGITS, SpecError, Target, exact_number, parse_expression, parse_target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["SpecError", "Target", "SweepSpec", "load_spec", "parse_spec", "point_key", "point_seed",
           "canonical_json"]

#: top-level keys of a spec; the ones marked False do not enter the spec hash (labels only)
SPEC_KEYS = {"name": False, "description": False, "samples": True, "seed": True, "level": True,
             "imports": True, "claims": True, "model": True, "grid": True, "stats": True}

#: model kinds and their parameters (name -> whether it may be an expression of the grid)
MODEL_KINDS = {
    "iid": (IIDLogits, ("n", "sigma", "mu", "scale_dof", "offsets")),
    "bilinear": (BilinearQK, ("n", "d", "sigma_q", "sigma_k", "mu_k", "scale")),
    "self": (SelfAttention, ("n", "d", "sigma_x", "W_Q", "W_K", "scale")),
}
#: model parameters that are data (numbers, vectors, matrices), never grid expressions
_DATA_PARAMS = {"offsets", "mu_k", "W_Q", "W_K"}

#: most grid points a spec may have (a guard against a typo such as 2^10..2^1000)
MAX_POINTS = 1_000_000


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep spec.

    Attributes
    ----------
    name : str
        Label of the sweep (the file stem when not given).
    raw : dict
        The spec as read from TOML; it is what workers receive and re-parse.
    model : Model or None
        The model of ``targets`` (None when the spec only names claims).
    targets : tuple of Target
        Statistics with their functionals, estimated under ``model``.
    claims : tuple of str
        Registered claim ids, each estimated under its own model.
    grid : dict {name: list}
        Values of each grid parameter, in spec order.
    symbols : dict {name: Symbol}
        The grid parameters as SymPy symbols.
    samples, seed : int
        Rows per grid point and the master seed.
    level : float
        Confidence level of the stored intervals.
    hash : str
        SHA-256 of the canonical JSON of every field that changes the numbers.
    """

    name: str
    raw: dict
    model: Model | None
    targets: tuple
    claims: tuple
    grid: dict
    symbols: dict
    samples: int
    seed: int
    level: float
    hash: str
    imports: tuple = ()
    _claim_params: dict = field(default_factory=dict, repr=False)

    def points(self):
        """All grid points in canonical order (the Cartesian product, spec order, last fastest)."""
        names = list(self.grid)
        return [dict(zip(names, vals)) for vals in itertools.product(*(self.grid[k] for k in names))]

    def values(self, point):
        """``point`` as {Symbol: exact SymPy number}: floats are read as the decimals they print as."""
        return {self.symbols[k]: exact_number(v) for k, v in point.items()}

    def claim_params(self, claim_id, point):
        """The part of ``point`` that claim ``claim_id`` takes."""
        return {k: point[k] for k in self._claim_params[claim_id]}


# ----------------------------------------------------------------------------- reading

def load_spec(path) -> SweepSpec:
    """Read and validate the TOML spec at ``path``."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise SpecError(f"spec: no such file {path!r}") from None
    except IsADirectoryError:
        raise SpecError(f"spec: {path!r} is a folder; give a .toml file") from None
    except UnicodeDecodeError:
        raise SpecError(f"spec: {path!r} is not a text file (not UTF-8); give a .toml file") from None
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"spec: {path!r} is not valid TOML ({e})") from None
    except OSError as e:
        raise SpecError(f"spec: cannot read {path!r} ({e.strerror or e})") from None
    return parse_spec(raw, default_name=os.path.splitext(os.path.basename(path))[0])


def parse_spec(raw: dict, default_name: str = "sweep", check_points: bool = True) -> SweepSpec:
    """Validate a spec given as a dict (the parsed TOML) and return a :class:`SweepSpec`.

    With ``check_points`` the model and statistics are bound at every grid point, so bad
    values (``n`` too large, ``k`` not an integer) fail here, before any simulation.
    """
    if not isinstance(raw, dict):
        raise SpecError("spec: must be a TOML table")
    unknown = sorted(set(raw) - set(SPEC_KEYS))
    if unknown:
        raise SpecError(f"{unknown[0]}: unknown field; a spec has: {', '.join(SPEC_KEYS)}")
    name = _get(raw, "name", str, default_name)
    _get(raw, "description", str, "")
    samples = _get(raw, "samples", int, None)
    if samples is None or samples < 2:
        raise SpecError(f"samples: rows per grid point, an integer >= 2; got {samples!r}")
    seed = _get(raw, "seed", int, None)
    if seed is None or seed < 0:
        raise SpecError(f"seed: the master seed, an integer >= 0; got {seed!r}")
    level = _get(raw, "level", float, 0.95)
    if not 0 < level < 1:
        raise SpecError(f"level: confidence level of the intervals, in (0, 1); got {level!r}")
    imports = tuple(_get_list(raw, "imports", str))
    claim_ids = tuple(_get_list(raw, "claims", str))

    grid_raw = _get(raw, "grid", dict, None)
    if not grid_raw:
        raise SpecError("grid: missing; give at least one parameter, e.g. n = \"2^10..2^20\"")
    grid = {k: _expand(f"grid.{k}", v) for k, v in grid_raw.items()}
    for k in grid:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
            raise SpecError(f"grid.{k}: a parameter name must be an identifier")
    n_points = math.prod(len(v) for v in grid.values())
    if n_points > MAX_POINTS:
        raise SpecError(f"grid: {n_points} points; at most {MAX_POINTS} are allowed")
    symbols = {k: sp.Symbol(k) for k in grid}

    stats_raw = _get(raw, "stats", dict, {})
    model_raw = _get(raw, "model", dict, None)
    if not stats_raw and not claim_ids:
        raise SpecError("stats: nothing to estimate; give [stats] (with [model]) or claims = [...]")
    if stats_raw and model_raw is None:
        raise SpecError("model: missing; [stats] are estimated under the spec's [model]")
    model = _model(model_raw, symbols) if model_raw is not None else None
    targets = tuple(parse_target(label, text, symbols) for label, text in stats_raw.items())

    used = set(model.free_symbols) if model is not None else set()
    for t in targets:
        used |= t.functional.free_symbols
    claim_params = _claims(claim_ids, imports, grid)
    for params in claim_params.values():
        used |= {symbols[p] for p in params}
    for k, s in symbols.items():
        if s not in used:
            raise SpecError(f"grid.{k}: unknown parameter: no model parameter, statistic or claim uses it")

    hashed = {k: raw[k] for k in raw if SPEC_KEYS[k]}
    hashed["_engine"] = {"chunk_rows": config.CHUNK_ROWS}
    spec_hash = hashlib.sha256(canonical_json(hashed).encode()).hexdigest()
    spec = SweepSpec(name=name, raw=raw, model=model, targets=targets, claims=claim_ids, grid=grid,
                     symbols=symbols, samples=samples, seed=seed, level=level, hash=spec_hash,
                     imports=imports, _claim_params=claim_params)
    if check_points:
        _check_points(spec)
    return spec


def _get(raw, key, typ, default):
    if key not in raw:
        return default
    v = raw[key]
    ok = isinstance(v, typ) and not isinstance(v, bool)
    if typ is float and isinstance(v, int) and not isinstance(v, bool):
        v, ok = float(v), True
    if not ok:
        want = {str: "a string", int: "an integer", float: "a number", dict: "a table"}[typ]
        raise SpecError(f"{key}: must be {want}, got {type(v).__name__} {v!r}")
    return v


def _get_list(raw, key, typ):
    v = raw.get(key, [])
    if not isinstance(v, list) or not all(isinstance(x, typ) for x in v):
        raise SpecError(f"{key}: must be a list of strings, got {v!r}")
    return v


# ----------------------------------------------------------------------------- grid

_POW_RANGE = re.compile(r"^\s*(\d+)\s*\^\s*(-?\d+)\s*\.\.\s*(\d+)\s*\^\s*(-?\d+)\s*$")
_LIN_RANGE = re.compile(r"^\s*(\S+?)\s*\.\.\s*(\S+?)\s*(?:(?:step|:)\s*(\S+)\s*)?$")


def _expand(field_, v):
    """The list of values of one grid parameter: a TOML list, or a range string."""
    if isinstance(v, list):
        if not v:
            raise SpecError(f"{field_}: empty list")
        for x in v:
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise SpecError(f"{field_}: values must be finite numbers, got {x!r}")
        if len(set(v)) != len(v):
            raise SpecError(f"{field_}: repeated values in {v!r}")
        return list(v)
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise SpecError(f"{field_}: must be a number, a list or a range string, got {type(v).__name__}")
    if not isinstance(v, str):
        if not math.isfinite(v):
            raise SpecError(f"{field_}: must be finite, got {v!r}")
        return [v]
    m = _POW_RANGE.match(v)
    if m:
        b1, e1, b2, e2 = (int(x) for x in m.groups())
        if b1 != b2 or b1 < 2:
            raise SpecError(f"{field_}: bad range {v!r}: a power range B^a..B^b needs one base B >= 2")
        if e1 > e2:
            raise SpecError(f"{field_}: bad range {v!r}: the exponents must increase ({e1} > {e2})")
        if e2 - e1 + 1 > MAX_POINTS or e2 * math.log10(b1) > MAX_DIGITS:
            raise SpecError(f"{field_}: bad range {v!r}: too many values or values too large")
        return [b1**e for e in range(e1, e2 + 1)]
    m = _LIN_RANGE.match(v)
    if m and ".." in v:
        try:
            lo, hi = (_num(x) for x in m.groups()[:2])
            step = _num(m.group(3)) if m.group(3) else 1
        except ValueError:
            raise SpecError(f"{field_}: bad range {v!r}: expected numbers as in 1..10, "
                            "0.1..0.9 step 0.1 or 2^10..2^20") from None
        if step <= 0 or hi < lo:
            raise SpecError(f"{field_}: bad range {v!r}: need lo <= hi and step > 0")
        count = int(math.floor((hi - lo) / step + 1e-9)) + 1
        if count > MAX_POINTS:
            raise SpecError(f"{field_}: bad range {v!r}: {count} values")
        if all(isinstance(x, int) for x in (lo, hi, step)):
            return list(range(lo, hi + 1, step))
        return [float(f"{lo + i * step:.12g}") for i in range(count)]
    raise SpecError(f"{field_}: bad range {v!r}: expected a list, lo..hi, lo..hi step s, or B^a..B^b")


def _num(text):
    x = float(text)
    if not math.isfinite(x):
        raise ValueError(text)
    return int(text) if re.fullmatch(r"-?\d+", text) else x


# ----------------------------------------------------------------------------- model and claims

def _model(raw, symbols):
    kind = raw.get("kind")
    if kind not in MODEL_KINDS:
        raise SpecError(f"model.kind: must be one of {', '.join(MODEL_KINDS)}, got {kind!r}")
    cls, names = MODEL_KINDS[kind]
    kw = {}
    for key, v in raw.items():
        if key == "kind":
            continue
        if key not in names:
            raise SpecError(f"model.{key}: unknown parameter; model kind {kind!r} takes {', '.join(names)}")
        where = f"model.{key}"
        kw[key] = _data(where, key, v) if key in _DATA_PARAMS else parse_expression(where, v, symbols)
    try:
        return cls(**kw)
    except TypeError as e:
        raise SpecError(f"model: {e}") from None
    except ValueError as e:
        raise SpecError(f"model: {e}") from None


def _data(field_, key, v):
    if key == "offsets":
        if not isinstance(v, dict):
            raise SpecError(f"{field_}: must be a table {{key index = offset}}, e.g. offsets = {{\"0\" = 3.0}}")
        try:
            return {int(j): float(x) for j, x in v.items()}
        except (TypeError, ValueError):
            raise SpecError(f"{field_}: keys must be key indices and values numbers, got {v!r}") from None
    try:
        arr = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise SpecError(f"{field_}: must be a number or a (nested) list of numbers") from None
    return arr if arr.ndim else float(arr)


def _claims(claim_ids, imports, grid):
    """{claim id: its parameter names}, checking that the grid gives each of them.

    Every module of ``imports`` is imported first, with or without claims: a module that
    does not import is an error, never ignored.
    """
    import importlib

    for m in imports:
        try:
            importlib.import_module(m)
        except ImportError as e:
            raise SpecError(f"imports: cannot import {m!r} ({e})") from None
    if not claim_ids:
        return {}
    import attnsparse

    out = {}
    for cid in claim_ids:
        try:
            c = attnsparse.get(cid)
        except KeyError as e:
            raise SpecError(f"claims: {e.args[0]}") from None
        missing = [p for p in c.parameters if p not in grid]
        if missing:
            raise SpecError(f"grid: claim {cid} needs parameter(s) {', '.join(missing)} in [grid]")
        out[cid] = list(c.parameters)
    return out


def _check_points(spec):
    """Bind the model and every statistic at every grid point, so bad values fail before any run."""
    if spec.model is None and not spec.claims:
        return
    import attnsparse

    for point in spec.points():
        values = spec.values(point)
        where = ", ".join(f"{k}={v}" for k, v in point.items())
        try:
            if spec.model is not None:
                bm = spec.model.bind(values)
                for t in spec.targets:
                    t.functional.stat.bind_param(values, bm.n)
            for cid in spec.claims:
                attnsparse.get(cid).bind(spec.claim_params(cid, point))
        except (ValueError, TypeError) as e:
            raise SpecError(f"grid: at the point {where}: {e}") from None


# ----------------------------------------------------------------------------- points and seeds

def canonical_json(obj) -> str:
    """JSON with sorted keys and no whitespace: equal data give equal text (and hash)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"cannot store {type(o).__name__} in a sweep record")


def point_key(point) -> str:
    """A short stable name of a grid point (file name of its record)."""
    return hashlib.sha256(canonical_json(point).encode()).hexdigest()[:20]


def point_seed(master_seed, point) -> int:
    """The seed of one grid point: ``SeedSequence(master_seed, spawn_key=sha256(point))``.

    It depends on the master seed and the point's values only, never on scheduling or on the
    rest of the grid.
    """
    digest = hashlib.sha256(canonical_json(point).encode()).digest()
    words = tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))
    ss = np.random.SeedSequence(entropy=int(master_seed), spawn_key=words)
    return int(ss.generate_state(1, dtype=np.uint64)[0])
