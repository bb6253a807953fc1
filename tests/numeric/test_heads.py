"""Per-head reports of measure(): fits, regimes, sink heads and theory against dense numpy."""

import math

import numpy as np
import pytest

from attnsparse.numeric import exact
from attnsparse.numeric.heads import CRITICAL_WINDOW, HEAD_DPS, SINK_HEAD_MASS, fit_head_logits, regime
from attnsparse.numeric.measure import attention_stats, head_summaries, measure
from attnsparse.numeric.statistics import stat


def naive_head(Q, K, causal, scale, sink):
    """Dense per-head fit: root mean row variance, visible count, sink mass, sink offsets."""
    S = scale * (Q @ K.T)
    n_q, n_k = S.shape
    var, cnt, sink_mass, offsets = [], [], [], []
    for i in range(n_q):
        pos = i + n_k - n_q if causal else n_k - 1
        s = S[i, :pos + 1]
        p = np.exp(s - s.max())
        p /= p.sum()
        var.append(np.var(s))
        cnt.append(s.size)
        sink_mass.append(p[:sink].sum())
        rest = s[sink:]
        offsets.append([s[j] - rest.mean() if (j < s.size and rest.size) else np.nan for j in range(sink)])
    return np.array(var), np.array(cnt), np.array(sink_mass), np.array(offsets)


@pytest.mark.parametrize("causal", [False, True])
def test_head_fit_matches_dense_numpy(causal):
    rng = np.random.default_rng(11)
    H, n, d, sink = 3, 40, 6, 2
    Q = rng.standard_normal((H, n, d)) * np.array([0.3, 4.0, 1.0])[:, None, None]
    K = rng.standard_normal((H, n, d))
    c = np.full(d, 1.5)  # head 2: every query shares c, key 0 is 3 c -- a logit offset of about 16
    Q[2] += c
    K[2, 0] = 3 * c
    m = measure(Q, K, causal=causal, sink=sink, eps=(0.1,), topk=(1,), head_theory="none", head_models=False)
    assert len(m.heads) == H
    for h, rep in enumerate(m.heads):
        var, cnt, sm, off = naive_head(Q[h], K[h], causal, 1 / math.sqrt(d), sink)
        sigma = math.sqrt(var.mean())
        nn = int(np.median(cnt))
        assert rep["n"] == nn
        np.testing.assert_allclose(rep["sigma"], sigma, rtol=1e-10)
        np.testing.assert_allclose(rep["gamma"], sigma ** 2 / (2 * math.log(nn)), rtol=1e-10)
        np.testing.assert_allclose(rep["sigma/beta_c"], sigma / math.sqrt(2 * math.log(nn)), rtol=1e-10)
        np.testing.assert_allclose(rep[f"sink_mass({sink})"], sm.mean(), rtol=1e-10)
        assert rep["sink_head"] == (sm.mean() > SINK_HEAD_MASS)
        fit = fit_head_logits(Q[h] / math.sqrt(d), K[h], causal, sink)
        np.testing.assert_allclose(fit["offset"], off, rtol=1e-9, atol=1e-12)
    # the fits measure forms from its own score tiles (3 rows a tile: several tiles, a ragged last one)
    mt = measure(Q, K, causal=causal, sink=sink, eps=(0.1,), topk=(1,), head_theory="none", tile_rows=3)
    for h, rep in enumerate(mt.heads):
        var, cnt, sm, off = naive_head(Q[h], K[h], causal, 1 / math.sqrt(d), sink)
        np.testing.assert_allclose(rep["sigma"], math.sqrt(var.mean()), rtol=1e-10)
        so = rep["models"]["sink offset"]
        np.testing.assert_allclose(so["offsets"], np.nanmean(off, axis=0), rtol=1e-9, atol=1e-12)
        rest = []
        for i in range(n):
            s = (Q[h, i] @ K[h].T / math.sqrt(d))[:(i + 1 if causal else n)][sink:]
            if s.size:
                rest.append(np.var(s))
        np.testing.assert_allclose(so["sigma"], math.sqrt(np.mean(rest)), rtol=1e-10)
    assert m.heads[2]["sink_head"] and not m.heads[0]["sink_head"]


def test_per_head_summary_has_the_pooled_names_and_matches_numpy(naive):
    rng = np.random.default_rng(3)
    Q, K = rng.standard_normal((2, 25, 4)) * np.array([0.5, 3.0])[:, None, None], rng.standard_normal((2, 30, 4))
    m = measure(Q, K, topk=(1, 4), eps=(0.2,), head_theory="none", head_models=False)
    for h, rep in enumerate(m.heads):
        assert list(rep["summary"]) == list(m.summary)
        want = naive.naive_attention_stats(Q[h], K[h], ["ipr", "k_eps", "topk_mass"], [0, 0.2, 4])
        for i, name in enumerate(["ipr", "k_eps(0.2)", "topk_mass(4)"]):
            got = rep["summary"][name]
            np.testing.assert_allclose(got["mean"], want[:, i].mean(), rtol=1e-9, err_msg=name)
            np.testing.assert_allclose(got["q90"], np.quantile(want[:, i], 0.9), rtol=1e-9, err_msg=name)
    # the two heads differ: a report that pooled them would give both the same numbers
    assert m.heads[0]["summary"]["ipr"]["mean"] < 0.5 * m.heads[1]["summary"]["ipr"]["mean"]


def test_head_summaries_of_attention_stats(naive):
    rng = np.random.default_rng(4)
    Q, K = rng.standard_normal((2, 20, 3)), rng.standard_normal((2, 20, 3)) * np.array([1, 4])[:, None, None]
    stats = [stat.ipr, stat.k_eps(0.1)]
    out = head_summaries(attention_stats(Q, K, stats), stats)
    assert list(out["pooled"]) == ["ipr", "k_eps(0.1)"] and len(out["heads"]) == 2
    for h in range(2):
        want = naive.naive_attention_stats(Q[h], K[h], ["ipr"], [0])[:, 0]
        np.testing.assert_allclose(out["heads"][h]["ipr"]["q50"], np.median(want), rtol=1e-9)
    both = np.concatenate([naive.naive_attention_stats(Q[h], K[h], ["ipr"], [0])[:, 0] for h in range(2)])
    np.testing.assert_allclose(out["pooled"]["ipr"]["mean"], both.mean(), rtol=1e-9)
    with pytest.raises(ValueError, match="out must have shape"):
        head_summaries(np.zeros((2, 20, 3)), stats)


def test_regime_boundaries():
    lo, hi = CRITICAL_WINDOW
    assert regime(lo - 1e-9) == "high temperature" and regime(lo) == "critical window"
    assert regime(hi) == "critical window" and regime(hi + 1e-9) == "condensed"
    assert regime(math.nan) == "undefined"


def _iid_head(rng, n, d, sigma):
    """Queries of one norm against Gaussian keys: given q the logits are iid N(0, sigma^2)."""
    q = rng.standard_normal((n, d))
    q *= sigma * math.sqrt(d) / np.linalg.norm(q, axis=1, keepdims=True)
    return q, rng.standard_normal((n, d))


def test_exact_theory_at_the_head_sigma():
    """An iid-logit head: the exact prediction is eval_* at the numpy-fitted sigma, and the
    measured means agree with it (256 rows; a wrong sigma by 10% moves IPR by > 20%)."""
    rng = np.random.default_rng(8)
    n, d = 256, 64
    Q, K = _iid_head(rng, n, d, 2.0)
    m = measure(Q, K, topk=(1,), eps=(0.1,), head_theory="exact", head_models=False)
    rep = m.heads[0]
    var, cnt, _, _ = naive_head(Q, K, False, 1 / math.sqrt(d), 4)
    sigma = math.sqrt(var.mean())
    th = rep["theory"]
    # the reference is eval_* at 12 digits at the numpy sigma; measure evaluates at HEAD_DPS = 5 digits
    # with sigma rounded to 6 significant digits (its cache key): d log IPR / d log sigma is about
    # 2 sigma^2 = 8 here, so the rounding moves IPR by < 8 * 5e-7 and the digits by < 1e-5 -- 3e-5 in all,
    # while a sigma wrong by 1% would move IPR by about 8%
    assert HEAD_DPS == 5
    assert th["ipr"]["predicted"] == pytest.approx(float(exact.eval_ipr(12, n, sigma)), rel=3e-5)
    assert th["entropy"]["predicted"] == pytest.approx(float(exact.eval_entropy(12, n, sigma)), rel=3e-5)
    # top-k masses come from the shared simulated iid rows (the exact E4 route costs more than measure)
    assert th["topk_mass(1)"]["source"].startswith("simulated")
    for s in ("ipr", "entropy", "topk_mass(1)", "k_eps(0.1)"):
        assert abs(th[s]["log10_ratio"]) < 0.03, (s, th[s])
    assert th["k_eps(0.1)"]["source"].startswith("simulated")


def test_the_right_model_wins():
    """Three heads built to be iid, sink-shifted and scale-mixed: each one's own model is best."""
    rng = np.random.default_rng(9)
    n, d = 256, 32
    q0, k0 = _iid_head(rng, n, d, 1.5)
    # sink: one extra coordinate carries a fixed offset of 6 on key 0 (logit scale)
    q1, k1 = _iid_head(rng, n, d - 1, 1.5)
    q1, k1 = np.hstack([q1, np.full((n, 1), math.sqrt(d))]), np.hstack([k1, np.zeros((n, 1))])
    k1[0, -1] = 6.0
    # mixture: Gaussian queries in d = 2 (tau^2 ~ sigma^2 chi2_2 / 2), Gaussian keys
    q2, k2 = 8.0 * rng.standard_normal((n, d)), rng.standard_normal((n, d))
    q2[:, 2:] = 0.0
    Q, K = np.stack([q0, q1, q2]), np.stack([k0, k1, k2])
    m = measure(Q, K, topk=(1, 8), eps=(0.1,), head_theory="none", sink=1)
    best = [r["models"]["best"] for r in m.heads]
    assert best == ["iid", "sink offset", "scale mixture"], best
    assert m.heads[0]["models"]["iid"]["error"] < 0.02
    assert m.heads[1]["models"]["sink offset"]["offsets"][0] == pytest.approx(6.0, abs=0.3)
    nu = m.heads[2]["models"]["scale mixture"]["nu"]
    assert 1.2 < nu < 3.5, nu  # the fitted chi-square dof is near d = 2
    assert m.heads[1]["sink_head"] and not m.heads[0]["sink_head"]


def test_bad_head_options():
    Q = np.ones((4, 2))
    with pytest.raises(ValueError, match="head_theory must be one of"):
        measure(Q, Q, head_theory="asymptotic")
    with pytest.raises(ValueError, match="head_models must be True or False"):
        measure(Q, Q, head_models="yes")


def test_per_head_k_eps_is_simulated_even_where_the_exact_route_exists(monkeypatch):
    # eval_k_eps covers this point (n eps = 64 * 0.01 < 1) but takes seconds a value: measure must not call it
    rng = np.random.default_rng(10)
    Q, K = _iid_head(rng, 64, 8, 1.0)

    def called(*args):
        raise AssertionError("measure called the exact k_eps route")

    monkeypatch.setattr(exact, "eval_k_eps", called)
    th = measure(Q, K, topk=(1,), eps=(0.01,), head_theory="exact", head_models=False).heads[0]["theory"]
    assert th["k_eps(0.01)"]["source"].startswith("simulated") and 1 <= th["k_eps(0.01)"]["predicted"] <= 64
