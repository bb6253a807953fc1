"""Slow, obvious references for the kernels: dense numpy (sort, cumsum) and mpmath.

Nothing here is clever: a row is softmaxed with max subtraction, sorted, and summed.
Tests compare the numba kernels with these on small inputs. The suite gets this module
as the ``naive`` fixture (tests/conftest.py).
"""

import math

import mpmath as mp
import numpy as np

from attnsparse.numeric.codes import STAT_CODES as CODES  # noqa: F401 -- the statistic codes, by name


def naive_row_stats(s, names, params):
    """Statistics ``names`` (with ``params``) of one logit row ``s`` (``-inf`` = masked)."""
    s = np.asarray(s, dtype=np.float64)
    n = s.size
    m = np.max(s)
    logz = m + np.log(np.sum(np.exp(s - m)))
    p = np.exp(s - logz)
    asc = np.sort(p)
    cs = np.concatenate([[0.0], np.cumsum(asc)])  # cs[i]: sum of the i smallest weights
    srt = np.sort(s)
    out = []
    for name, a in zip(names, params):
        if name == "log_partition":
            out.append(logz)
        elif name == "max_logit":
            out.append(m)
        elif name == "max_weight":
            out.append(asc[-1])
        elif name == "ipr":
            out.append(np.sum(p * p))
        elif name == "entropy":
            pos = p > 0
            out.append(-np.sum(p[pos] * np.log(p[pos])))
        elif name == "count_above":
            out.append(np.sum(p > a))
        elif name == "topk_mass":
            k = min(int(a), n)
            out.append(np.sum(asc[n - k:]))
        elif name == "tail_mass":
            out.append(cs[n - min(int(a), n)])
        elif name == "k_eps":
            out.append(n - np.max(np.nonzero(cs <= a)[0]))
        elif name == "weight":
            out.append(p[int(a)] if int(a) < n else 0.0)
        elif name == "argmax":
            out.append(np.argmax(s))
        elif name == "top_gap":
            out.append(srt[-1] - srt[-2] if n > 1 else np.inf)
        elif name == "partition":
            out.append(np.exp(logz))
        elif name == "logit":
            out.append(s[int(a)] if int(a) < n else -np.inf)
    return np.array(out, dtype=np.float64)


def mp_row_stats(s, names, params, dps=50):
    """Like :func:`naive_row_stats` for the smooth statistics, in mpmath at ``dps`` digits."""
    with mp.workdps(dps):
        x = [mp.mpf(float(v)) for v in s]
        z = mp.fsum(mp.exp(v) for v in x)
        p = sorted((mp.exp(v) / z for v in x))
        out = []
        for name, a in zip(names, params):
            if name == "log_partition":
                out.append(mp.log(z))
            elif name == "ipr":
                out.append(mp.fsum(w * w for w in p))
            elif name == "entropy":
                out.append(-mp.fsum(w * mp.log(w) for w in p if w > 0))
            elif name == "max_weight":
                out.append(p[-1])
            elif name == "topk_mass":
                out.append(mp.fsum(p[len(p) - min(int(a), len(p)):]))
            elif name == "tail_mass":
                out.append(mp.fsum(p[:len(p) - min(int(a), len(p))]))
            elif name == "k_eps":
                acc, m = mp.mpf(0), 0
                while m < len(p) and acc + p[m] <= a:
                    acc += p[m]
                    m += 1
                out.append(len(p) - m)
            else:
                raise ValueError(name)
        return np.array([float(v) for v in out])


def naive_scores(Q, K, causal, scale):
    """Dense ``scale * Q K^T`` with ``-inf`` at masked keys (aligned to the last key)."""
    S = scale * (np.asarray(Q, float) @ np.asarray(K, float).T)
    if causal:
        n_q, n_k = S.shape
        pos = np.arange(n_q)[:, None] + n_k - n_q
        S[np.arange(n_k)[None, :] > pos] = -np.inf
    return S


def naive_attention_stats(Q, K, names, params, causal=False, scale=None):
    """Per-row statistics of the dense score matrix; masked keys dropped from each row."""
    scale = 1 / math.sqrt(np.shape(Q)[-1]) if scale is None else scale
    S = naive_scores(Q, K, causal, scale)
    return np.array([naive_row_stats(row[np.isfinite(row)], names, params) for row in S])


def naive_softmax(S):
    P = np.exp(S - S.max(axis=1, keepdims=True))
    return P / P.sum(axis=1, keepdims=True)


def naive_topk_attention(P, k):
    """Rows of ``P`` kept on their ``k`` largest entries (ties by index), renormalised."""
    out = np.zeros_like(P)
    for i, row in enumerate(P):
        idx = np.argsort(-row, kind="stable")[:k]
        out[i, idx] = row[idx] / row[idx].sum()
    return out


def naive_measure_rows(Q, K, causal, scale, sink, window, h2o, cols):
    """Per-row sink mass, window mass, H2O sparsity and mass on the 0/1 key vector ``cols``."""
    S = naive_scores(Q, K, causal, scale)
    P = naive_softmax(S)
    n_q, n_k = S.shape
    out = []
    for i in range(n_q):
        vis = np.isfinite(S[i])
        pos = min(i + n_k - n_q, n_k - 1)
        win = [j for j in range(n_k) if pos - window < j <= pos and vis[j]]
        out.append([P[i, :sink].sum(), P[i, win].sum(),
                    np.mean(P[i, vis] < h2o * P[i].max()), P[i] @ cols])
    return np.array(out), P


MASK64 = (1 << 64) - 1


def naive_splitmix64_state(seed):
    """The four xoshiro256** state words SplitMix64 makes from ``seed`` (Python ints)."""
    z, out = seed & MASK64, []
    for _ in range(4):
        z = (z + 0x9E3779B97F4A7C15) & MASK64
        x = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
        out.append(x ^ (x >> 31))
    return out


def naive_xoshiro256ss(state, count):
    """``count`` outputs of xoshiro256** from ``state`` (four Python ints), as in the paper's C code."""
    s = list(state)

    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & MASK64

    out = []
    for _ in range(count):
        out.append((rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64)
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
    return out
