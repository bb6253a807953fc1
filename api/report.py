"""Check reports: terminal table, Markdown and JSON; :func:`write_report` writes both as one unit.

JSON is strict: undefined values (NaN, infinite bounds) are ``null``. Both files carry the
same ``run`` id, so a reader can tell that they belong together.
"""

from __future__ import annotations

import platform
import uuid
from datetime import datetime, timezone

from ._version import __version__
from .files import strict_json, write_atomic, write_unit

__all__ = ["write_atomic", "write_report", "table", "markdown", "as_json", "summary", "unexpected", "new_run_id"]


def _params(p):
    return ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}" for k, v in p.items())


def _rel(r):
    return "~=" if r.rel == "approx" else r.rel


def _rows(results):
    for r in results:
        lo, hi = r.ci
        lo_s = "-inf" if lo == float("-inf") else f"{lo:.5g}"
        hi_s = "inf" if hi == float("inf") else f"{hi:.5g}"
        verdict = r.verdict + (" (expected)" if r.expected_refutation else "")
        yield [r.claim_id, _params(r.params), _rel(r), f"{r.theory:.6g}", f"{r.estimate:.6g}",
               f"[{lo_s}, {hi_s}]", verdict, str(r.samples), f"{r.elapsed:.1f}"]


HEADER = ["claim", "parameters", "rel", "theory", "estimate", "CI", "verdict", "rows", "s"]


def table(results):
    """A plain-text table, one line per check."""
    rows = [HEADER] + list(_rows(results))
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def unexpected(results):
    """The checks whose verdict contradicts the catalogue (``CheckResult.unexpected``)."""
    return [r for r in results if r.unexpected]


def summary(results):
    counts = {v: sum(r.verdict == v for r in results) for v in ("consistent", "inconclusive", "refuted")}
    text = ", ".join(f"{n} {v}" for v, n in counts.items())
    known = sum(r.expected_refutation for r in results)
    return text + (f" ({known} expected: documented disagreements)" if known else "")


def _meta(settings):
    return {"attnsparse": __version__, "python": platform.python_version(),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), **settings}


def new_run_id():
    """The id shared by the report.json and report.md of one run."""
    return uuid.uuid4().hex[:12]


def markdown(results, settings):
    lines = ["# attnsparse check report", "",
             ", ".join(f"{k}: `{v}`" for k, v in _meta(settings).items() if k != "errors"), "",
             f"Summary: {summary(results)}.", "",
             "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in _rows(results)]
    notes = [f"- `{r.claim_id}` ({_params(r.params)}): {r.verdict}, {r.reason}" for r in results
             if r.verdict != "consistent"]
    if notes:
        lines += ["", "## Not consistent", ""] + notes
    if settings.get("errors"):
        lines += ["", "## Could not be checked", ""] + [f"- {e}" for e in settings["errors"]]
    return "\n".join(lines) + "\n"


def as_json(results, settings):
    return strict_json({"meta": _meta(settings), "summary": summary(results),
                        "results": [r.to_dict() for r in results]}, indent=2) + "\n"


def write_report(folder, results, settings):
    """Write ``report.json`` and ``report.md`` into ``folder`` as one unit (:func:`~.files.write_unit`)."""
    settings = {**settings, "run": settings.get("run") or new_run_id()}
    return write_unit(folder, {"report.json": as_json(results, settings),
                               "report.md": markdown(results, settings)})
