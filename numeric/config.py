"""Tunable constants of the numeric layer, in one place."""

#: default false-alarm level of one check (two-sided for ``==``, one-sided for bounds)
ALPHA = 1e-3

#: rows simulated per chunk; each chunk is reseeded from its own seed, so results do not
#: depend on the number of threads. Changing it changes the random streams.
CHUNK_ROWS = 64

#: effort presets of ``check``: first batch size, sample cap, wall-time cap (seconds)
#: and the largest number of looks at the data (batches double in size up to the cap).
#: Quick effort is a time budget: its row cap (4000 * 2^12 rows) is rarely what stops it.
EFFORT = {
    "quick": {"initial": 4_000, "max_samples": 16_384_000, "max_seconds": 20.0},
    "full": {"initial": 20_000, "max_samples": 327_680_000, "max_seconds": 600.0},
}

#: a lower bound on the seconds per Gaussian draw of the row kernels (measured: about
#: 13-20 ns on the reference machine); a check whose first rows would exceed the time
#: budget even at this speed is refused before it simulates anything
SECONDS_PER_DRAW_FLOOR = 2e-9

#: rows of the probe that times the rows before a check starts (the fewest the kernels take)
PROBE_ROWS = 2

#: half-width, in units of the Lipschitz constant L, of the clip window of the ``lipschitz``
#: route beyond the tolerance band: values are clipped to ``theory +- (LIPSCHITZ_Z L + tol)``.
#: The clipping bias at the band's edges is then at most ``L sqrt(2 pi) Phibar(5) = 7.2e-7 L``
#: (docs/statistics.md); a wider window costs rows where the range limits the bets
LIPSCHITZ_Z = 5.0

#: default relative tolerance: the resolution of ``==`` checks (a consistent verdict means
#: the confidence interval lies within theory * (1 +- RTOL_EQUAL))
RTOL_EQUAL = 0.02

#: working precision (decimal digits) of theory values, and the extra digits used to
#: confirm them by a second evaluation
THEORY_DPS = 30
CONFIRM_EXTRA_DPS = 15

#: seconds allowed for one symbolic derivation step before it is reported as not derived
DERIVATION_SECONDS = 60.0

#: query rows per score tile of ``measure.attention_stats`` (fewer for very long rows: one
#: tile takes at most FUSED_TILE_BYTES), and of ``measure.measure`` (at most MEASURE_TILE_BYTES)
FUSED_TILE_ROWS = 32
FUSED_TILE_BYTES = 32 * 2**20
MEASURE_TILE_ROWS = 512
MEASURE_TILE_BYTES = 256 * 2**20

# step checks of derivations (proofs/stepcheck.py)
#: minimum (and default) number of random points per step
CHECK_POINTS = 20
#: minimum (and default) decimal digits of the random-point evaluation
CHECK_DPS = 50
#: default time bound of one SymPy simplification (seconds)
SIMPLIFY_SECONDS = 10.0
#: draws allowed per wanted point before a step is reported inconclusive
DRAWS_PER_POINT = 25
#: most sub-boxes examined by the interval bisection of one box
BOX_PIECES = 256
#: default sampling ranges by symbol kind
REAL_RANGE, POSITIVE_RANGE, INTEGER_RANGE = (-3.0, 3.0), (0.05, 3.0), (1, 12)
