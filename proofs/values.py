"""The one door through which a user's value reaches SymPy.

``sympy.sympify`` parses strings with ``eval``: ``sympify("__import__('os').system(...)")``
runs the command. Every value a user gives to a claim or a derivation (a right-hand side,
an assumption, a step, a meaning, a check point, a tolerance, a range) goes through
:func:`as_sympy`, which refuses strings with a message saying how to build the value
instead, and converts everything else with ``sympify(strict=True)`` (which never parses).
"""

from __future__ import annotations

import math
import numbers

import sympy as sp

__all__ = ["as_sympy", "as_real", "as_tolerance"]

_HINT = ("build it with sympy symbols, e.g. n, sigma = sympy.symbols('n sigma', positive=True); "
         "rhs = sympy.exp(sigma**2) / n")


def as_sympy(value, name, hint=_HINT, expected="a SymPy expression or a number"):
    """``value`` as a SymPy object, never by parsing text.

    Parameters
    ----------
    value : SymPy object, number, or anything with ``_sympy_``
        The user's value.
    name : str
        The parameter's name, used in the error message.
    hint : str, optional
        How to build such a value, shown when ``value`` is a string.
    expected : str, optional
        What ``value`` must be, in words.

    Raises
    ------
    TypeError
        ``value`` is a string (or bytes), ``None``, or an object SymPy cannot convert
        without parsing.
    """
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be {expected}, not a string ({value!r}); {hint}")
    if value is None:
        raise TypeError(f"{name} must be {expected}, got None")
    try:
        return sp.sympify(value, strict=True)
    except (sp.SympifyError, TypeError, ValueError):
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__}") from None


def as_real(value, name):
    """``value`` as a finite real number (the value itself, checked): refuses strings, bools, NaN, inf."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a finite real number, got {value!r}")
    x = as_sympy(value, name, hint="give a number, e.g. 0.5 or sympy.Rational(1, 2)", expected="a number")
    if not x.is_number or x.has(sp.nan, sp.zoo, sp.oo, -sp.oo) or x.is_real is False:
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return value


def as_tolerance(value, name):
    """A tolerance (``rtol``, ``atol``) as a float: a finite real number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, (str, bytes)):
            raise TypeError(f"{name} must be a finite number >= 0, not a string ({value!r}); give a number, e.g. 0.05")
        raise TypeError(f"{name} must be a finite number >= 0, got {type(value).__name__} {value!r}")
    x = float(value)
    if not 0 <= x < math.inf:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return x
