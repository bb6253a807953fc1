"""The named random streams: which batch of the master seed each simulation draws from.

Every simulated number comes from ``numpy.random.SeedSequence(entropy=seed,
spawn_key=(batch,))`` (:func:`seed_sequence`): :func:`.simulate.chunk_seeds` turns it
into one 64-bit seed per chunk of rows, the trend bootstrap into a numpy ``Generator``.
The batch numbers name the streams; this module is the one place that says which:

=====================  ======================================================
batch                  stream
=====================  ======================================================
``2 look + side``      check, look ``look = 0, 1, ...`` of side 0 (the claim's
                       functional) or side 1 (a second functional)
``2**31 - 1``          check, the discarded warm-up and probe rows
``1000 stream + i``    trend, grid point ``i`` of stream 0 (the statistic) or
                       stream 1 (the comparison statistic of ``law="less"``)
``7``                  trend, the bootstrap resamples of the exponent
``e``                  reproduce, tail-mass panel at ``n = 2^e``
``int(1000 r)``        reproduce, phase panel at ``r = sigma / beta_c``
``77 + n``             reproduce, adaptive-window panel at row length ``n``
``0``                  ``simulate``/``simulate_stats`` default; the Gaussian
                       surrogate rows of ``measure``
=====================  ======================================================

Within one check, one trend check or one reproduce panel the streams are distinct;
across them they may coincide (a trend's bootstrap uses batch 7, look 3 of a check's
second side does too), which is harmless: they are different computations. These
numbers fix every published result; changing one changes the numbers.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_seed", "seed_sequence", "check_batch", "CHECK_WARM_UP", "trend_batch", "TREND_BOOTSTRAP",
           "trend_bootstrap_rng", "reproduce_batch", "MEASURE_SURROGATE"]

#: the batch of the discarded warm-up and probe rows of a check
CHECK_WARM_UP = 2**31 - 1
#: the batch of a trend check's bootstrap generator
TREND_BOOTSTRAP = 7
#: the batch of the Gaussian surrogate rows of ``measure``
MEASURE_SURROGATE = 0


def check_seed(seed):
    """``seed`` as a Python int, or a ValueError: the master seed is an integer >= 0."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


def seed_sequence(seed, batch):
    """The ``SeedSequence`` of stream ``batch`` of the master ``seed``."""
    return np.random.SeedSequence(entropy=check_seed(seed), spawn_key=(int(batch),))


def check_batch(look, side):
    """The batch of look ``look`` (0, 1, ...) of side ``side`` (0: lhs, 1: a second functional)."""
    return 2 * look + side


def trend_batch(stream, i):
    """The batch of grid point ``i`` of a trend's stream ``stream`` (0: statistic, 1: comparison)."""
    return 1000 * stream + i


def trend_bootstrap_rng(seed):
    """The generator of a trend check's bootstrap resamples."""
    return np.random.default_rng(seed_sequence(seed, TREND_BOOTSTRAP))


_REPRODUCE = {"tail_mass": lambda e: int(e), "phase": lambda r: int(1000 * r), "adaptive": lambda n: 77 + int(n)}


def reproduce_batch(panel, x):
    """The batch of one point of a ``reproduce`` panel.

    ``panel="tail_mass"``: ``x = log2 n``; ``"phase"``: ``x = sigma / beta_c``;
    ``"adaptive"``: ``x = n``.
    """
    if panel not in _REPRODUCE:
        raise ValueError(f"panel must be one of {sorted(_REPRODUCE)}, got {panel!r}")
    return _REPRODUCE[panel](x)
