"""The safe expression language of sweep specs: numbers, grid parameters, statistics, events.

Expressions (``"sqrt(2*gamma*log(n))"``, ``"P(max_weight > 0.5)"``) are parsed by walking
their Python syntax tree against a whitelist; nothing is ``eval``-ed. Every error is a
:class:`SpecError` whose message starts with the offending field.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..numeric.statistics import BUILTIN, E, Event, Functional, P, Stat, Var, quantile, stat

__all__ = ["SpecError", "Target", "MAX_DIGITS", "exact_number", "parse_expression", "parse_target"]

#: functions allowed in expressions
_FUNCS = {"sqrt": sp.sqrt, "log": sp.log, "ln": sp.log, "exp": sp.exp, "ceil": sp.ceiling,
          "floor": sp.floor, "log2": lambda x: sp.log(x, 2), "min": sp.Min, "max": sp.Max,
          "abs": sp.Abs}
_CONSTS = {"pi": sp.pi, "e": sp.E}
#: largest number of decimal digits a power in a spec may have (a guard against 10^10^9)
MAX_DIGITS = 1000


def _power(a, b):
    """``a**b``, refused when the result would be astronomically large (it would hang SymPy)."""
    if a.is_number and b.is_number:
        try:
            big = abs(float(b)) * math.log10(max(abs(float(a)), 2.0)) > MAX_DIGITS
        except (TypeError, OverflowError):
            big = True
        if big:
            raise OverflowError(f"the power {a}^{b} is too large (more than {MAX_DIGITS} digits)")
    return a**b


_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.Div: lambda a, b: a / b, ast.Pow: _power}
_CMP = {ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!="}
_FUNCTIONALS = ("E", "P", "Var", "quantile")


class SpecError(ValueError):
    """A malformed sweep spec; the message starts with the offending field."""


@dataclass(frozen=True)
class Target:
    """One estimated quantity of a sweep: a statistic's functional under the spec's model."""

    label: str
    text: str
    functional: Functional


def exact_number(v):
    """``v`` as an exact SymPy number: a float is read as the decimal it prints as (0.1 -> 1/10)."""
    return sp.Integer(v) if isinstance(v, (int, np.integer)) else sp.Rational(repr(float(v)))


def parse_expression(field_, text, symbols):
    """A number or an expression string of the grid parameters as a SymPy expression."""
    if isinstance(text, bool):
        raise SpecError(f"{field_}: must be a number or an expression string, got {text!r}")
    if isinstance(text, (int, float)):
        if not math.isfinite(text):
            raise SpecError(f"{field_}: must be finite, got {text!r}")
        return exact_number(text)
    if not isinstance(text, str):
        raise SpecError(f"{field_}: must be a number or an expression string, got {type(text).__name__}")
    return _walk(field_, _parse(field_, text), symbols)


def _parse(field_, text):
    try:
        return ast.parse(text.replace("^", "**"), mode="eval").body
    except SyntaxError as e:
        raise SpecError(f"{field_}: cannot parse {text!r} ({e.msg})") from None


def _walk(field_, node, symbols):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return exact_number(node.value)
    if isinstance(node, ast.Name):
        if node.id in symbols:
            return symbols[node.id]
        if node.id in _CONSTS:
            return _CONSTS[node.id]
        raise SpecError(f"{field_}: {node.id!r} is not a grid parameter (grid: {', '.join(symbols)})")
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        try:
            return _BINOPS[type(node.op)](_walk(field_, node.left, symbols), _walk(field_, node.right, symbols))
        except OverflowError as e:
            raise SpecError(f"{field_}: {e}") from None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        x = _walk(field_, node.operand, symbols)
        return -x if isinstance(node.op, ast.USub) else x
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS and not node.keywords:
        return _FUNCS[node.func.id](*(_walk(field_, a, symbols) for a in node.args))
    bad = ast.unparse(node)
    raise SpecError(f"{field_}: {bad!r} is not allowed; expressions use numbers, grid parameters, "
                    f"+ - * / ^ and {', '.join(_FUNCS)}")


def parse_target(label, text, symbols):
    """The :class:`Target` ``stats.<label> = "<text>"``: a functional of a statistic (``E`` when bare)."""
    field_ = f"stats.{label}"
    if not isinstance(text, str):
        raise SpecError(f"{field_}: must be a string such as \"tail_mass(ceil(alpha*n^C))\", got {text!r}")
    node = _parse(field_, text)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONALS:
        fname, args = node.func.id, node.args
        if fname == "P":
            if len(args) != 1:
                raise SpecError(f"{field_}: P takes one event, such as P(max_weight > 0.5)")
            functional = P(_event(field_, args[0], symbols))
        elif fname == "quantile":
            if len(args) != 2:
                raise SpecError(f"{field_}: quantile takes a statistic and q, such as quantile(k_eps(0.1), 0.9)")
            q = _walk(field_, args[1], symbols)
            if q.free_symbols or not 0 < float(q) < 1:
                raise SpecError(f"{field_}: quantile level q must be a number in (0, 1), got {ast.unparse(args[1])}")
            functional = quantile(_stat(field_, args[0], symbols), float(q))
        else:
            if len(args) != 1:
                raise SpecError(f"{field_}: {fname} takes one statistic")
            functional = (E if fname == "E" else Var)(_stat(field_, args[0], symbols))
    else:
        functional = E(_stat(field_, node, symbols))
    return Target(label, text, functional)


def _stat(field_, node, symbols) -> Stat:
    names = ", ".join(BUILTIN)
    if isinstance(node, ast.Name) and node.id in BUILTIN:
        if BUILTIN[node.id][1] is not None:
            raise SpecError(f"{field_}: {node.id} takes a parameter {BUILTIN[node.id][1]}, e.g. {node.id}(...)")
        return getattr(stat, node.id)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in BUILTIN:
        pname = BUILTIN[node.func.id][1]
        if pname is None or len(node.args) != 1 or node.keywords:
            want = "no parameter" if pname is None else f"one parameter {pname}"
            raise SpecError(f"{field_}: {node.func.id} takes {want}")
        return getattr(stat, node.func.id)(_walk(field_, node.args[0], symbols))
    raise SpecError(f"{field_}: {ast.unparse(node)!r} is not a statistic; the vocabulary is {names}")


def _event(field_, node, symbols) -> Event:
    if not isinstance(node, ast.Compare) or not all(type(o) in _CMP for o in node.ops):
        raise SpecError(f"{field_}: P needs a comparison such as max_weight > 0.5 or 0 < logit(0) <= 1")
    if len(node.ops) == 1:
        return _stat(field_, node.left, symbols)._cmp(_CMP[type(node.ops[0])],
                                                      _walk(field_, node.comparators[0], symbols))
    if len(node.ops) == 2 and isinstance(node.ops[0], ast.Lt) and isinstance(node.ops[1], ast.LtE):
        lo = _walk(field_, node.left, symbols)
        hi = _walk(field_, node.comparators[1], symbols)
        return _stat(field_, node.comparators[0], symbols).between(lo, hi)
    raise SpecError(f"{field_}: a chained comparison must read lo < stat <= hi")
