"""The implementation behind the ``claim_check`` pytest fixture (:mod:`attnsparse.pytest_plugin`)."""

from __future__ import annotations

import pytest

from .proofs.claim import Claim
from .proofs.derivation import Derivation

__all__ = ["ClaimChecker", "summary_table"]


class ClaimChecker:
    """Callable bound to one test: checks claims and derivations, records every outcome."""

    def __init__(self, request, records):
        self.request, self.records = request, records
        marker = request.node.get_closest_marker("claim")
        self.defaults = dict(marker.kwargs) if marker is not None else {}
        bad = set(self.defaults) - {"alpha", "seed", "effort", "allow_inconclusive"}
        if bad:
            raise TypeError(f"pytest.mark.claim: unknown keyword(s) {sorted(bad)}; "
                            "use alpha, seed, effort, allow_inconclusive")

    def _setting(self, name, given, option=None):
        if given is not None:
            return given
        if name in self.defaults:
            return self.defaults[name]
        return None if option is None else self.request.config.getoption(option)

    def __call__(self, obj, *, alpha=None, seed=None, effort=None, allow_inconclusive=None, **params):
        """Check ``obj`` (a :class:`Claim` or a registered claim's id at ``params``, or a :class:`Derivation`).

        Parameters
        ----------
        obj : Claim, str or Derivation
            A claim (or the id of a registered claim, as ``attnsparse list`` prints it) is
            checked against simulation at ``params`` (its derivation's steps are checked
            first, if it has one). Without ``params``, a claim with parameters is checked at
            each of its own check points (``claim.points``), Holm-corrected over them, and a
            list of results is returned. A derivation has its steps checked.
        alpha : float, optional
            False-alarm level of the check (default: the engine's, 1e-3).
        seed : int, optional
            Seed (default: ``--claim-seed``).
        effort : {"quick", "full"} or dict, optional
            Sample budget (default: ``--claim-effort``).
        allow_inconclusive : bool, optional
            Pass the test when the check is inconclusive (default False).
        """
        seed = self._setting("seed", seed, "--claim-seed")
        effort = self._setting("effort", effort, "--claim-effort")
        alpha = self._setting("alpha", alpha)
        allow = bool(self._setting("allow_inconclusive", allow_inconclusive) or False)
        test = self.request.node.nodeid
        if isinstance(obj, Derivation):
            if params:
                raise TypeError(f"claim_check: a Derivation takes no parameters, got {sorted(params)}")
            return self._steps(obj, seed, test)
        if isinstance(obj, str):
            from .proofs.catalogue import get

            try:
                obj = get(obj)
            except KeyError as e:
                raise LookupError(f"claim_check: {e.args[0]}") from None
        if not isinstance(obj, Claim):
            raise TypeError(f"claim_check: expected a Claim, a registered claim's id or a Derivation, "
                            f"got {type(obj).__name__}")
        if params or not obj.parameters:
            points = [params]
        elif obj.points:
            points = list(obj.points)
        else:
            raise TypeError(f"claim_check: claim {obj.id} has no check points of its own; give its parameters, "
                            f"e.g. claim_check(claim, {', '.join(f'{p}=...' for p in obj.parameters)})")
        if obj.derivation is not None:
            self._steps(obj.derivation, seed, test)
        results = [obj.check(seed=seed, effort=effort, alpha=alpha, **p) for p in points]
        if len(results) > 1:
            from .numeric.check import holm

            results = holm(results, alpha)
        for r in results:
            self.records.append({"test": test, "claim": r.claim_id, "params": r.params, "rel": r.rel,
                                 "theory": r.theory, "estimate": r.estimate, "ci": r.ci, "verdict": r.verdict})
        for r in results:
            if r.verdict == "refuted":
                pytest.fail(f"claim {r.claim_id} refuted: {r!r}; {r.reason}{_explain(r.reason, alpha)}",
                            pytrace=False)
        for r in results:
            if r.verdict == "inconclusive" and not allow:
                pytest.fail(f"claim {r.claim_id} inconclusive: {r!r}; {r.reason}{_explain(r.reason, alpha)} "
                            "(raise the effort, or pass allow_inconclusive=True)", pytrace=False)
        return results[0] if len(points) == 1 and points[0] is params else results

    def _steps(self, derivation, seed, test):
        out = derivation.check(seed=seed)
        self.records.append({"test": test, "claim": f"derivation: {derivation.title}", "params": {},
                             "rel": derivation.relation if _composes(derivation) else "?",
                             "theory": None, "estimate": None, "ci": None,
                             "verdict": "steps ok" if out.ok else "step failed", "summary": out.summary()})
        if not out.ok:
            pytest.fail(f"derivation {derivation.title!r}: {out.failed[0].text()}", pytrace=False)
        return out


def _explain(reason, alpha):
    """What the engine's shorthand in ``reason`` means, for a reader of a failed test."""
    if "alpha/L" not in reason:
        return ""
    from .numeric.config import ALPHA

    a = ALPHA if alpha is None else alpha
    return (f" (alpha/L: the false-alarm level alpha = {a:g} split evenly over the L looks of the sequential "
            "check, Bonferroni, so that a true claim is refuted with probability at most alpha)")


def _composes(derivation):
    try:
        derivation.relation
    except ValueError:
        return False
    return True


def _num(x):
    return "" if x is None else f"{x:.6g}"


def summary_table(records):
    """A plain-text table, one line per claim or derivation checked in the session."""
    header = ["test", "claim", "parameters", "rel", "theory", "estimate", "CI", "verdict"]
    rows = [header]
    for r in records:
        ci = "" if r["ci"] is None else f"[{r['ci'][0]:.5g}, {r['ci'][1]:.5g}]"
        params = ", ".join(f"{k}={v}" for k, v in r["params"].items())
        verdict = r["verdict"] + (f" ({r['summary']})" if r.get("summary") else "")
        rows.append([r["test"], r["claim"], params, r["rel"], _num(r["theory"]), _num(r["estimate"]), ci, verdict])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
