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


def _theory(r):
    """The theory value with at most 6 significant digits, and at most the confirmed ones
    (``extra["theory_digits"]``)."""
    digits = min(6, int(r.extra.get("theory_digits") or 6))
    return f"{r.theory:.{digits}g}"


def _derivation(r):
    """The derivation status (``extra["derivation"]``): status and verified/steps, or the failed step."""
    d = r.extra.get("derivation")
    if not d:
        return "-"
    if d["status"] == "none":
        return "none"
    if d["status"] == "failed":
        return d["reason"].split(" (")[0].replace("derivation step", "failed: step")
    return f"{d['status']} ({d['verified']}/{d['steps']} verified)"


def _verdict(r):
    verdict = r.verdict + (" (expected)" if r.expected_refutation else "")
    sim = r.extra.get("simulation")
    if sim:  # the verdict was set by the derivation: the simulation's own verdict is shown too
        verdict += f" (simulation: {sim['verdict']})"
    return verdict


def _method(r):
    """The method, with ``*`` for an asymptotic one (see :data:`LEGEND`)."""
    m = getattr(r, "method", "asymptotic")
    return m + "*" if m == "asymptotic" else m


def _margin(r):
    """Bound checks: the margin (bound - estimate) and the margin at the confidence bound, and
    the tightness; ``-`` for equalities."""
    if r.rel not in ("<=", ">=") or "margin" not in r.extra:
        return "-"
    out = f"{r.extra['margin']:.3g} (>= {r.extra['margin_bound']:.3g})"
    return out + (f", tight {r.tightness:.3g}" if r.tightness is not None else "")


def _rows(results):
    for r in results:
        lo, hi = r.ci
        lo_s = "-inf" if lo == float("-inf") else f"{lo:.5g}"
        hi_s = "inf" if hi == float("inf") else f"{hi:.5g}"
        yield [r.claim_id, _params(r.params), _rel(r), _theory(r), f"{r.estimate:.6g}",
               f"[{lo_s}, {hi_s}]", _margin(r), _method(r), _verdict(r), _derivation(r), str(r.samples),
               f"{r.elapsed:.1f}"]


HEADER = ["claim", "parameters", "rel", "theory", "estimate", "CI", "margin", "method", "verdict", "derivation",
          "rows", "s"]

#: the note under the tables
LEGEND = ("method * : asymptotic (the level holds only as far as the central limit theorem does; --strict makes "
          "these verdicts inconclusive). margin: bound - estimate (>= the margin at the confidence bound), "
          "tight = estimate / bound")


def table(results):
    """A plain-text table, one line per check."""
    rows = [HEADER] + list(_rows(results))
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines + ["", LEGEND])


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
    lines += ["", LEGEND.replace("*", "\\*")]
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
