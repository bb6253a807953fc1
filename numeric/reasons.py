"""The reason of an inconclusive verdict: about how many rows would decide the check, and how.

Split from :mod:`.check`. The rows come from the check's width law (:class:`.design.WidthLaw`,
the one model of rows-to-decide, which :mod:`.design` uses too), calibrated to the interval the
check reports.
"""

from __future__ import annotations

import math

from . import config

__all__ = ["rows_to_decide", "about", "what_would_decide"]


def rows_to_decide(est, ci, theory, rel, tol, rows, law):
    """About how many rows would decide a check whose interval at ``rows`` rows is ``ci``, or None.

    The interval must shrink to the distance ``need`` between the estimate and the nearer
    decision edge (the band's edge to confirm, the theory value or the band's far edge to
    refute). How it shrinks is the check's width law (:class:`.design.WidthLaw`, the one
    model of rows-to-decide, which design uses too), calibrated to the interval at ``rows``.
    It assumes the estimate stays where it is; at least the next look (``2 rows``).
    """
    d = est - theory
    if rel == "<=":
        w, need = ci[1] - est, max(tol - d, d)
    elif rel == ">=":
        w, need = est - ci[0], max(tol + d, -d)
    else:
        w = max(est - ci[0], ci[1] - est)
        need = max(tol - abs(d), abs(d)) if rel == "==" else abs(tol - abs(d))
    if not (math.isfinite(w) and w > 0 and need > 0):
        return None
    return max(2.0 * rows, law.calibrated(w, rows).rows_for(need))


def about(x):
    """``x`` to two or three significant digits with a k / M / G suffix: 1.1 M, 350 k, 12, 0.004."""
    if x < 1:
        return f"{x:.2g}"
    for scale, unit in ((1e9, " G"), (1e6, " M"), (1e3, " k"), (1.0, "")):
        if x >= scale or scale == 1.0:
            v = x / scale
            return f"{v:.{max(0, 1 - int(math.floor(math.log10(max(v, 1.0)))))}f}{unit}"


def what_would_decide(est, ci, theory, rel, tol, rows, seconds_per_row, e, law):
    """The tail of an inconclusive reason: the rows that would decide the check, and how to run them."""
    need = rows_to_decide(est, ci, theory, rel, tol, rows, law)
    if need is None or not math.isfinite(need):
        return ("; the estimate sits on the edge of the tolerance band, so more rows may not decide it"
                if math.isfinite(ci[0]) or math.isfinite(ci[1]) else "")
    full = config.EFFORT["full"]
    secs = need * seconds_per_row
    out = f"; needs about {about(need)} rows (about {about(secs)} s at the measured speed)"
    if need <= full["max_samples"] and secs <= full["max_seconds"] and (
            e["max_samples"] < full["max_samples"] or e["max_seconds"] < full["max_seconds"]):
        return out + ": run with effort='full'"
    return out + ": raise effort['max_samples'] and effort['max_seconds'] beyond that"
