"""Guards around SymPy calls that can hang or return unevaluated forms (PITFALLS 1, 3).

Every SymPy call of a derivation that can hang runs under :func:`bounded`; a result that
still holds an unevaluated ``Integral`` (or ``Sum``, ``Limit``) where a closed form was
expected is refused by :func:`closed_form`. Both raise :class:`NotDerived`.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

import sympy as sp

from ..numeric.config import DERIVATION_SECONDS

__all__ = ["NotDerived", "bounded", "closed_form"]

#: seconds between repeated alarms once the bound has passed (see :func:`bounded`)
RETRY_SECONDS = 0.05


class NotDerived(RuntimeError):
    """A derivation step did not produce a closed form (timed out, or left an Integral)."""


@contextmanager
def bounded(seconds=DERIVATION_SECONDS, what="derivation step"):
    """Raise :class:`NotDerived` if the body runs longer than ``seconds``.

    Uses SIGALRM, so the bound applies in the main thread; in other threads the body runs
    unbounded (derived results are cached, so this costs at most one slow call).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    fired = []

    def _alarm(signum, frame):
        fired.append(True)
        raise NotDerived(f"{what} took longer than {seconds:g} s")

    old = signal.signal(signal.SIGALRM, _alarm)
    # the alarm repeats every RETRY_SECONDS: one raised inside a gc callback or a __del__ is
    # ignored by Python ("Exception ignored in ..."), and the next one reaches the body
    signal.setitimer(signal.ITIMER_REAL, seconds, RETRY_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    if fired:  # the body outlived the bound while every alarm was swallowed: still over time
        raise NotDerived(f"{what} took longer than {seconds:g} s")


def closed_form(expr, what):
    """Return ``expr`` if it holds no unevaluated Integral/Expectation, else raise."""
    if expr.has(sp.Integral) or expr.has(sp.Sum) or expr.has(sp.Limit):
        raise NotDerived(f"{what}: SymPy returned an unevaluated form, not a closed form: {expr}")
    return expr
