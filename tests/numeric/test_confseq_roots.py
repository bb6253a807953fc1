"""Root finding of the betting sequence on rare-event rows (numeric/confseq.py ``_root``).

Bernoulli(1e-3) rows whose first success comes late: the first success is bet on with an
unbounded bet (the running variance of the all-zero rows before it is 0), so the capital
``K+`` climbs back only for candidate means below ~1e-150 and the balance point of the
hedged capital sits there. This seed made brentq run out of iterations (RuntimeError)."""

import numpy as np

from attnsparse.numeric.confseq import betting_cs


def test_rare_event_rows_give_an_interval_not_a_root_finding_error():
    x = (np.random.default_rng(103).random(256_000) < 1e-3).astype(float)
    assert np.argmax(x) > 500  # the first success is late: the case that failed
    lo, hi = betting_cs(x, 0.0, 1.0, 1e-3).interval()
    # the lower bound is 0 (K+ was spent on the early zeros); the upper bound covers the mean
    assert 0.0 <= lo < 1e-30 and x.mean() < hi < 0.01
