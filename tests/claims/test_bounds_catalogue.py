"""The bounds area: at least ten derived claims, their derivations hold, tables compare with exact values."""

import re

from attnsparse.proofs.catalogue import get, claims


def test_area_has_ten_derived_bound_claims():
    ours = [c for c in claims() if c.id.startswith("bounds.")]
    assert len(ours) >= 10
    assert all(c.derivation is not None and c.rel in ("<=", ">=") for c in ours)


def test_max_logit_chernoff_is_fully_verified_and_its_table_shows_bound_over_exact():
    c = get("bounds.max_logit_chernoff")
    assert all(s.status == "verified" for s in c.derivation_report.steps)
    ratios = [float(r) for r in re.findall(r"\s([0-9.]+(?:e[+-]?\d+)?)$", c.details(), re.M)]
    assert len(ratios) == 3 and all(r >= 1 for r in ratios)


def test_max_logit_quantile_derivation_has_no_failed_step():
    assert get("bounds.max_logit_quantile").derivation_report.ok
