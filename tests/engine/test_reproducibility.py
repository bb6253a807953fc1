"""Same seed, same numbers: run to run and for 1 or 2 numba threads (PITFALLS 12)."""

import os
import subprocess
import sys

SCRIPT = r"""
import hashlib, numpy as np, attnsparse as asp
from attnsparse.numeric.simulate import simulate_stats
W = np.arange(12.0).reshape(4, 3) / 10
models = [asp.IIDLogits(n=300, sigma=2.0, offsets={0: 3.0}, scale_dof=3),
          asp.BilinearQK(n=50, d=4, sigma_q=1.0, sigma_k=1.5, mu_k=0.2),
          asp.SelfAttention(n=40, d=4, sigma_x=1.0, W_Q=W, W_K=W[::-1])]
stats = [asp.stat.ipr, asp.stat.k_eps(0.1), asp.stat.topk_mass(5), asp.stat.entropy, asp.stat.argmax,
         asp.stat.logits(lambda s: s[-1] * s[0])]
h = hashlib.sha256()
for m in models:
    h.update(simulate_stats(m, stats, samples=1000, seed=42).tobytes())
c = asp.get("normaliser.mean_partition")
r = c.check(seed=3, **c.points[0])
h.update(repr((r.estimate, r.ci, r.samples)).encode())
print(h.hexdigest())
"""


def _run(threads):
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_identical_for_one_and_two_threads_and_run_to_run():
    """Two fresh processes (so also run to run), with 1 and 2 numba threads."""
    assert _run(1) == _run(2)
