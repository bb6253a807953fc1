"""Private numba kernels: explicit-state random numbers for the simulation.

* ``xoshiro256**`` (Blackman and Vigna, 2018), 256 bits of state held in a ``uint64[4]``
  array; ``_seed`` fills it from one 64-bit seed with SplitMix64, the seeding the authors
  recommend. State is data passed around, never global, so every chunk of rows owns its
  stream (PITFALLS 12).
* Standard normals by the ziggurat method in Doornik's form ("An improved ziggurat method
  to generate normal random samples", 2005): 128 strips, strip index and uniform taken
  from disjoint bits of one 64-bit draw, exact wedge and tail rejection steps. It needs
  about one 64-bit draw per normal, against four uniforms and a log for the polar method.
* Chi-square variates as ``2 Gamma(dof / 2)`` by Marsaglia and Tsang's method (2000): one normal
  and one uniform per variate whatever the degrees of freedom (the row scales of a scale mixture).
"""

import math

import numpy as np
from numba import njit

_N_STRIPS = 128
_R = 3.442619855899  # start of the tail
_V = 9.91256303526217e-3  # area of each strip


def _ziggurat_tables():
    """Strip edges ``x[0..128]`` and ratios ``x[i+1] / x[i]``, as in Doornik (2005)."""
    x = np.empty(_N_STRIPS + 1)
    f = math.exp(-0.5 * _R * _R)
    x[0] = _V / f
    x[1] = _R
    x[_N_STRIPS] = 0.0
    for i in range(2, _N_STRIPS):
        x[i] = math.sqrt(-2.0 * math.log(_V / x[i - 1] + f))
        f = math.exp(-0.5 * x[i] * x[i])
    return x, x[1:] / x[:-1]


ZIG_X, ZIG_RATIO = _ziggurat_tables()
_TWO_M53 = 2.0 ** -53


@njit(cache=True)
def _seed(state, seed):
    """Fill the ``uint64[4]`` ``state`` from ``seed`` with SplitMix64."""
    z = np.uint64(seed)
    for i in range(4):
        z += np.uint64(0x9E3779B97F4A7C15)
        x = z
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        state[i] = x ^ (x >> np.uint64(31))


@njit(cache=True)
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(cache=True)
def _next(state):
    """Next 64-bit output of xoshiro256** (advances ``state``)."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    out = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    state[0], state[1], state[2], state[3] = s0, s1, s2, _rotl(s3, 45)
    return out


@njit(cache=True, inline="always")
def _uniform(state):
    """Uniform on (0, 1]: 53 random bits."""
    return (float(np.int64(_next(state) >> np.uint64(11))) + 1.0) * _TWO_M53


@njit(cache=True)
def _normal_tail(state, negative):
    """A normal conditioned on ``|Z| > R`` (Marsaglia's tail method)."""
    while True:
        x = np.log(_uniform(state)) / _R
        y = np.log(_uniform(state))
        if -2.0 * y >= x * x:
            return x - _R if negative else _R - x


# _normal and _uniform are inlined into their callers and convert the 53 high bits through int64 (exact
# below 2^53, so the same numbers); measured on one core: 6.7 -> 3.2 ns a normal (the uint64 -> float
# conversion needs a fix-up sequence on x86, and the call was not inlined)
@njit(cache=True, inline="always")
def _normal(state):
    """One standard normal."""
    while True:
        b = _next(state)
        i = int(b & np.uint64(_N_STRIPS - 1))
        u = 2.0 * (float(np.int64(b >> np.uint64(11))) * _TWO_M53) - 1.0
        if abs(u) < ZIG_RATIO[i]:
            return u * ZIG_X[i]
        if i == 0:
            return _normal_tail(state, u < 0.0)
        x = u * ZIG_X[i]
        f0 = np.exp(-0.5 * (ZIG_X[i] * ZIG_X[i] - x * x))
        f1 = np.exp(-0.5 * (ZIG_X[i + 1] * ZIG_X[i + 1] - x * x))
        if f1 + _uniform(state) * (f0 - f1) < 1.0:
            return x


@njit(cache=True)
def _gamma(state, a):
    """One ``Gamma(a, 1)`` variate, ``a > 0``: Marsaglia and Tsang, "A simple method for generating
    gamma variables" (ACM TOMS 26, 2000), with their boost ``Gamma(a) = Gamma(a + 1) U^(1/a)`` for
    ``a < 1``. About one normal and one uniform per variate, whatever ``a``."""
    boost = 1.0
    if a < 1.0:
        boost = _uniform(state) ** (1.0 / a)
        a += 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    while True:
        x = _normal(state)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = _uniform(state)
        if u < 1.0 - 0.0331 * (x * x) * (x * x):
            return d * v * boost
        if np.log(u) < 0.5 * x * x + d * (1.0 - v + np.log(v)):
            return d * v * boost


@njit(cache=True)
def _chi2(state, dof):
    """One chi-square variate with ``dof > 0`` degrees of freedom, ``2 Gamma(dof / 2)``."""
    return 2.0 * _gamma(state, 0.5 * dof)


@njit(cache=True)
def _fill_chi2(seed, dof, out):
    """``out[:]`` chi-square variates from a stream seeded with ``seed`` (for tests)."""
    state = np.empty(4, np.uint64)
    _seed(state, seed)
    for j in range(out.shape[0]):
        out[j] = _chi2(state, dof)


@njit(cache=True)
def _fill_normals(seed, out):
    """``out[:]`` standard normals from a stream seeded with ``seed`` (for tests)."""
    state = np.empty(4, np.uint64)
    _seed(state, seed)
    for j in range(out.shape[0]):
        out[j] = _normal(state)
