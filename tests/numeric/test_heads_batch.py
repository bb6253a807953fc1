"""The batched per-head simulation and the one-pass per-head summaries give the numbers of the
per-model and per-head routes they replace (issue 14: per-head reports at pooled cost)."""

import math

import numpy as np
import pytest

from attnsparse.numeric import heads
from attnsparse.numeric.measurement import summarise, summarise_heads
from attnsparse.numeric.models import IIDLogits
from attnsparse.numeric.simulate import simulate_stats
from attnsparse.numeric.statistics import stat

TOPK, EPSS = (1, 8, 64), (0.1, 0.01)


def _reference(n, sigma, offsets, nu, seed, batch):
    """The same model through the public route: IIDLogits and simulate_stats, one call."""
    stats = [stat.ipr, stat.entropy] + [stat.topk_mass(min(x, n)) for x in TOPK] + [stat.k_eps(e) for e in EPSS]
    nu_i = max(1, int(round(nu))) if (math.isfinite(nu) and nu > 0) else 0
    model = IIDLogits(n, sigma, offsets=offsets or None, scale_dof=nu_i)
    return simulate_stats(model, stats, heads.HEAD_SAMPLES, seed, batch=batch).mean(axis=0)


def test_batched_models_equal_one_call_per_model():
    n, seed = 100, 7
    specs = [(1.5, {}, 0, heads.HEAD_STREAM),  # iid
             (0.8, {0: 3.0, 1: -0.5, 2: 1.25}, 0, heads.HEAD_STREAM + 1),  # sink offsets
             (2.5, {}, 6.4, heads.HEAD_STREAM + 2),  # scale mixture, nu rounded to 6
             (3.0, {1: 2.0}, 0, heads.HEAD_STREAM + 4)]  # fewer offsets than another model
    got = heads._simulate_batch(specs, n, TOPK, EPSS, seed)
    names = ["ipr", "entropy"] + [f"topk_mass({x})" for x in TOPK] + [f"k_eps({e:g})" for e in EPSS]
    for spec, pred in zip(specs, got):
        ref = _reference(n, *spec[:3], seed, spec[3])
        np.testing.assert_allclose([pred[nm] for nm in names], ref, rtol=1e-12, atol=0)
    # different seeds per model: the iid and the mixture rows at the same sigma must differ
    assert got[0]["ipr"] != heads._simulate_batch([(1.5, {}, 0, heads.HEAD_STREAM + 2)], n, TOPK, EPSS, seed)[0]["ipr"]


def test_batched_models_out_of_range_give_nan_and_the_rest_simulated():
    got = heads._simulate_batch([(0.0, {}, 0, 5), (2e6, {}, 0, 6), (1.0, {0: 2e8}, 0, 7), (1.0, {}, 0, 8)],
                                64, (8,), (0.1,), 0)
    assert all(math.isnan(v) for g in got[:3] for v in g.values())
    ref = _reference(64, 1.0, {}, 0, 0, 8)
    assert got[3]["ipr"] == pytest.approx(ref[0], rel=1e-12)


def test_summarise_heads_equals_summarise_per_head():
    rng = np.random.default_rng(3)
    per_row = rng.standard_normal((5, 37, 4)) ** 3  # strided slices, as measure's rows are
    for c in range(4):
        x = per_row[:, :, c]
        assert summarise_heads(x) == [summarise(x[h]) for h in range(5)]
    x = per_row[:, :, 0]
    assert summarise(x)["q50"] == float(np.median(x))  # the pooled summary keeps its meaning


def test_head_reports_models_are_the_public_route_at_the_reported_parameters():
    """Each head's batched model predictions equal simulate_stats at that head's reported parameters
    and seeds (stream HEAD_STREAM + 3 head + model): the batching keeps heads and models apart."""
    from attnsparse.numeric.measure import measure

    rng = np.random.default_rng(11)
    q = rng.standard_normal((3, 64, 8)) * np.array([0.5, 1.5, 3.0])[:, None, None]
    q[2] *= np.exp(rng.standard_normal((64, 1)))  # row scales spread: a scale mixture is fitted
    k = rng.standard_normal((3, 64, 8))
    k[1, 0] += 3 * q[1].mean(axis=0)
    seed = 4
    res = measure(q, k, topk=TOPK, eps=EPSS, head_theory="simulated", seed=seed)
    names = ["ipr", "entropy"] + [f"topk_mass({x})" for x in TOPK] + [f"k_eps({e:g})" for e in EPSS]
    mixtures = 0
    for h, rep in enumerate(res.heads):
        m, n, base = rep["models"], rep["n"], heads.HEAD_STREAM + 3 * h
        want = {"iid": (m["iid"]["sigma"], {}, 0, base),
                "sink offset": (m["sink offset"]["sigma"], dict(enumerate(m["sink offset"]["offsets"])), 0, base + 1)}
        if m["scale mixture"]["predicted"] is not None:
            want["scale mixture"] = (m["scale mixture"]["sigma"], {}, m["scale mixture"]["nu"], base + 2)
            mixtures += 1
        for model, (sigma, offsets, nu, batch) in want.items():
            ref = _reference(n, sigma, offsets, nu, seed, batch)
            np.testing.assert_allclose([m[model]["predicted"][nm] for nm in names], ref, rtol=1e-12, atol=0)
        assert rep["theory"]["ipr"]["predicted"] == m["iid"]["predicted"]["ipr"]  # theory shares the iid rows
    assert mixtures >= 1
