"""The one table of integer codes shared by the kernels, the statistics and the tests.

Numba kernels branch on these as module-level integer constants (numba freezes globals at
compile time, so each kernel module imports them by name). :mod:`.statistics` maps its
built-in statistics to :data:`STAT_CODES`, :mod:`.models` stamps a ``KIND_*`` on every
bound model, and ``tests/naive.py`` names the statistics of its slow
reference by the same table. Changing a number here changes nothing else: every user
imports it.
"""

__all__ = ["STAT_CODES", "USER_CODE", "KIND_IID", "KIND_BILINEAR", "KIND_SELF", "SHIFTED_BY_MU"]

# ------------------------------------------------------------------ row statistics
# codes of the built-in statistics reduced by kernels/_reduce.py (``_row_reduce``)
LOG_PARTITION = 0
MAX_LOGIT = 1
MAX_WEIGHT = 2
IPR = 3
ENTROPY = 4
COUNT_ABOVE = 5
TOPK_MASS = 6
TAIL_MASS = 7
K_EPS = 8
WEIGHT = 9
ARGMAX = 10
TOP_GAP = 11
PARTITION = 12
LOGIT = 13
#: the code of a user statistic ``stat.logits(f)`` (not reduced by ``_row_reduce``)
USER_CODE = -1

#: statistic name -> code, in code order
STAT_CODES = {
    "log_partition": LOG_PARTITION, "max_logit": MAX_LOGIT, "max_weight": MAX_WEIGHT, "ipr": IPR,
    "entropy": ENTROPY, "count_above": COUNT_ABOVE, "topk_mass": TOPK_MASS, "tail_mass": TAIL_MASS,
    "k_eps": K_EPS, "weight": WEIGHT, "argmax": ARGMAX, "top_gap": TOP_GAP, "partition": PARTITION,
    "logit": LOGIT,
}

#: the statistics that move with a common logit shift ``c`` (value + c); the others are
#: softmax quantities, invariant, except PARTITION (value * e^c, formed from LOG_PARTITION)
SHIFTED_BY_MU = frozenset({LOG_PARTITION, MAX_LOGIT, LOGIT})

# ------------------------------------------------------------------ model kinds
# the ``kind`` of a BoundModel, drawn by kernels/_rows.py (``_draw_row``)
KIND_IID = 0
KIND_BILINEAR = 1
KIND_SELF = 2

# ------------------------------------------------------------------ measure columns
# columns of the per-row output of kernels/_tiles.py ``_measure_tile``, read by measure.py;
# the top-k, k_eps and column-set columns follow from M_FIXED on
M_IPR = 0
M_ENTROPY = 1
M_MAX_WEIGHT = 2
M_SIGMA = 3
M_SINK = 4
M_WINDOW = 5
M_H2O = 6
M_KEYS = 7
M_FIXED = 8
