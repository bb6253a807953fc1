"""The batched per-head simulation (one kernel call, one set of standard normals per head shared by its
models) and the one-pass per-head summaries give the numbers of the public routes they replace
(issue 14: per-head reports at pooled cost)."""

import math

import numba
import numpy as np
import pytest
from numba import njit
from scipy import stats as sps

from attnsparse.numeric import config, exact, heads
from attnsparse.numeric.kernels._normal import _fill_chi2, _normal, _seed
from attnsparse.numeric.kernels._rows import _simulate_model_rows
from attnsparse.numeric.summaries import summarise, summarise_heads
from attnsparse.numeric.models import IIDLogits
from attnsparse.numeric.simulate import chunk_seeds, simulate_stats
from attnsparse.numeric.statistics import stat

TOPK, EPSS = (1, 8, 64), (0.1, 0.01)
NAMES = ["ipr", "entropy"] + [f"topk_mass({x})" for x in TOPK] + [f"k_eps({e:g})" for e in EPSS]


def _stats(n):
    return [stat.ipr, stat.entropy] + [stat.topk_mass(min(x, n)) for x in TOPK] + [stat.k_eps(e) for e in EPSS]


def _reference(n, sigma, offsets, seed, batch):
    """Mean statistics of the same rows through the public route: IIDLogits and simulate_stats, one call."""
    model = IIDLogits(n, sigma, offsets=offsets or None)
    return simulate_stats(model, _stats(n), heads.HEAD_SAMPLES, seed, batch=batch).mean(axis=0)


def _kernel_rows(n, scales, dofs, offsets, seed, batch):
    """Per-row statistics of one head's models straight from the kernel (shape (models, rows, stats))."""
    _, codes, params = heads._stat_set(n, TOPK, EPSS)
    seeds = chunk_seeds(seed, batch, heads.HEAD_SAMPLES)[None]
    tau_seeds = chunk_seeds(seed, batch + heads._TAU_STREAM, heads.HEAD_SAMPLES)[None]
    out = np.full((1, len(scales), heads.HEAD_SAMPLES, len(codes)), np.nan)
    _simulate_model_rows(n, np.array([scales], dtype=float), np.array([dofs], dtype=np.int64),
                         np.array([offsets], dtype=float), seeds, tau_seeds, config.CHUNK_ROWS, codes, params, out)
    return out[0]


@njit
def _normal_rows(seeds, chunk_rows, rows, n):
    """The standard normals of the rows, chunk by chunk (the stream layout the kernels document)."""
    z = np.empty((rows, n))
    state = np.empty(4, np.uint64)
    for c in range(seeds.shape[0]):
        _seed(state, seeds[c])
        for r in range(c * chunk_rows, min((c + 1) * chunk_rows, rows)):
            for j in range(n):
                z[r, j] = _normal(state)
    return z


def _naive_rows(S, n):
    names = ["ipr", "entropy"] + ["topk_mass"] * len(TOPK) + ["k_eps"] * len(EPSS)
    params = [0, 0] + [min(x, n) for x in TOPK] + list(EPSS)
    from importlib.util import module_from_spec, spec_from_file_location
    from pathlib import Path

    spec = spec_from_file_location("attnsparse_tests_naive", Path(__file__).parents[1] / "naive.py")
    naive = module_from_spec(spec)
    spec.loader.exec_module(naive)
    return np.array([naive.naive_row_stats(s, names, params) for s in S])


def test_iid_and_sink_models_are_the_public_rows_at_the_head_stream():
    """Shared normals: the iid and the sink-offset model of a head are exactly the rows simulate_stats
    draws for IIDLogits at the head's stream (the sink model's key offsets on the same normals)."""
    n, seed, base = 100, 7, heads.HEAD_STREAM + 3 * 5
    offsets = {0: 3.0, 1: -0.5, 2: 1.25}
    first = {"iid": (1.5, {}, 0), "sink": (0.8, offsets, 0), "mixture": (2.5, {}, 6.4)}
    second = {"iid": (3.0, {}, 0), "sink": (3.0, {1: 2.0}, 0)}
    got = heads._simulate_heads([(base, first), (base + 3, second)], n, TOPK, EPSS, seed)
    for pred, (sigma, offs, batch) in [(got[0]["iid"], (1.5, {}, base)), (got[0]["sink"], (0.8, offsets, base)),
                                       (got[1]["iid"], (3.0, {}, base + 3)),
                                       (got[1]["sink"], (3.0, {1: 2.0}, base + 3))]:
        ref = _reference(n, sigma, offs, seed, batch)
        np.testing.assert_allclose([pred[nm] for nm in NAMES], ref, rtol=1e-12, atol=0)
    # a model simulated alone gives its numbers in the batch (the normals do not depend on the other models)
    alone = heads._simulate(n, 0.8, offsets, 0, EPSS, seed, base, topk=TOPK)
    np.testing.assert_allclose([alone[nm] for nm in NAMES], [got[0]["sink"][nm] for nm in NAMES], rtol=1e-12)
    # another head's stream: other normals
    assert got[1]["iid"]["ipr"] != heads._simulate(n, 3.0, {}, 0, EPSS, seed, base, topk=TOPK)["ipr"]


def test_sink_model_with_zero_offsets_is_the_iid_model_row_for_row():
    n = 64
    rows = _kernel_rows(n, [1.7, 1.7, 0.0], [0, 0, 0], np.zeros((3, 4)), 3, heads.HEAD_STREAM)
    assert np.array_equal(rows[0], rows[1]) and np.isfinite(rows[0]).all()
    # an offset on key 0 changes the sink model's rows and leaves the iid model's as they were
    off = np.zeros((3, 4))
    off[1, 0] = 5.0
    shifted = _kernel_rows(n, [1.7, 1.7, 0.0], [0, 0, 0], off, 3, heads.HEAD_STREAM)
    assert np.array_equal(shifted[0], rows[0]) and not np.array_equal(shifted[1], rows[1])


def test_all_models_against_naive_numpy_rows():
    """Every model row from the kernel equals numpy statistics of ``tau z + offsets`` for the kernel's
    documented streams: normals of the head stream, row scales chi2 draws of stream + 2."""
    n, seed, base, dof = 50, 11, heads.HEAD_STREAM + 3, 3
    off = np.zeros((3, 3))
    off[1] = (4.0, -1.0, 0.5)
    rows = _kernel_rows(n, [0.9, 1.3, 2.0], [0, 0, dof], off, seed, base)
    z = _normal_rows(chunk_seeds(seed, base, heads.HEAD_SAMPLES), config.CHUNK_ROWS, heads.HEAD_SAMPLES, n)
    chi2 = np.empty(heads.HEAD_SAMPLES)
    for c, s in enumerate(chunk_seeds(seed, base + heads._TAU_STREAM, heads.HEAD_SAMPLES)):
        _fill_chi2(s, float(dof), chi2[c * config.CHUNK_ROWS:(c + 1) * config.CHUNK_ROWS])
    tau = 2.0 * np.sqrt(chi2 / dof)
    sink = 1.3 * z
    sink[:, :3] += off[1]
    for m, S in enumerate([0.9 * z, sink, tau[:, None] * z]):
        want = _naive_rows(S, n)
        np.testing.assert_allclose(rows[m][:, :5], want[:, :5], rtol=1e-9, atol=1e-14, err_msg=f"model {m}")
        assert np.array_equal(rows[m][:, 5:], want[:, 5:]), f"k_eps of model {m}"


@pytest.mark.parametrize("sigma", [0.5, 2.0, 5.0])
def test_iid_model_against_the_exact_values(sigma):
    """The shared-normals iid model's mean IPR and entropy over HEAD_SAMPLES rows agree with the exact
    E1/E3 values at that sigma within 4.5 standard errors (the per-row spread over sqrt(512);
    false alarm about 1e-5 a comparison for a near-normal mean)."""
    n = 512
    rows = _kernel_rows(n, [sigma, 0.0, 0.0], [0, 0, 0], np.zeros((3, 0)), 5, heads.HEAD_STREAM + 30)[0]
    for col, f in [(0, exact.eval_ipr), (1, exact.eval_entropy)]:
        x = rows[:, col]
        se = x.std(ddof=1) / math.sqrt(x.size)
        assert abs(x.mean() - float(f(12, n, sigma))) < 4.5 * se, (col, x.mean(), float(f(12, n, sigma)), se)


def test_mixture_model_against_the_public_mixture():
    """The mixture's row scales (gamma route) against IIDLogits(scale_dof=nu) (sum of nu squared
    normals), independent streams: the means agree within 4.5 standard errors of their difference."""
    n, nu, sigma = 256, 3, 1.5
    got = _kernel_rows(n, [0.0, 0.0, sigma], [0, 0, nu], np.zeros((3, 0)), 2, heads.HEAD_STREAM)[2]
    ref = simulate_stats(IIDLogits(n, sigma, scale_dof=nu), _stats(n), 4 * heads.HEAD_SAMPLES, 2, batch=99)
    for col in range(len(NAMES)):
        se = math.sqrt(got[:, col].var(ddof=1) / got.shape[0] + ref[:, col].var(ddof=1) / ref.shape[0])
        assert abs(got[:, col].mean() - ref[:, col].mean()) <= 4.5 * se + 1e-12, NAMES[col]


@pytest.mark.parametrize("dof", [1.0, 2.0, 7.0, 2638.0])
def test_chi2_draws(dof):
    """Kolmogorov-Smirnov against scipy's chi-square cdf, 20000 draws (false alarm 1e-4)."""
    x = np.empty(20000)
    _fill_chi2(123, dof, x)
    assert sps.kstest(x, sps.chi2(dof).cdf).pvalue > 1e-4
    assert abs(x.mean() - dof) < 5 * math.sqrt(2 * dof / x.size)


def test_models_do_not_depend_on_the_thread_count():
    got = {}
    before = numba.get_num_threads()
    try:
        for t in sorted({1, before}):
            numba.set_num_threads(t)
            got[t] = _kernel_rows(80, [1.0, 2.0, 1.5], [0, 0, 4], np.ones((3, 2)), 9, heads.HEAD_STREAM)
    finally:
        numba.set_num_threads(before)
    assert all(np.array_equal(got[1], g) for g in got.values())


def test_batched_models_out_of_range_give_nan_and_the_rest_simulated():
    got = heads._simulate_heads([(5, {"iid": (0.0, {}, 0)}), (6, {"iid": (2e6, {}, 0)}),
                                 (7, {"iid": (1.0, {}, 0), "sink": (1.0, {0: 2e8}, 0)})], 64, (8,), (0.1,), 0)
    assert all(math.isnan(v) for g in (got[0]["iid"], got[1]["iid"], got[2]["sink"]) for v in g.values())
    ref = simulate_stats(IIDLogits(64, 1.0), [stat.ipr], heads.HEAD_SAMPLES, 0, batch=7).mean()
    assert got[2]["iid"]["ipr"] == pytest.approx(ref, rel=1e-12)


def test_summarise_heads_equals_summarise_per_head():
    rng = np.random.default_rng(3)
    per_row = rng.standard_normal((5, 37, 4)) ** 3  # strided slices, as measure's rows are
    for c in range(4):
        x = per_row[:, :, c]
        assert summarise_heads(x) == [summarise(x[h]) for h in range(5)]
    x = per_row[:, :, 0]
    assert summarise(x)["q50"] == float(np.median(x))  # the pooled summary keeps its meaning


def test_head_reports_models_are_the_public_route_at_the_reported_parameters():
    """Each head's iid and sink-offset predictions equal simulate_stats at that head's reported
    parameters and stream (HEAD_STREAM + 3 head, shared by its models): the batching keeps heads apart;
    the mixture, when fitted, scales the same normals (its rows are checked against numpy above)."""
    from attnsparse.numeric.measure import measure

    rng = np.random.default_rng(11)
    q = rng.standard_normal((3, 64, 8)) * np.array([0.5, 1.5, 3.0])[:, None, None]
    q[2] *= np.exp(rng.standard_normal((64, 1)))  # row scales spread: a scale mixture is fitted
    k = rng.standard_normal((3, 64, 8))
    k[1, 0] += 3 * q[1].mean(axis=0)
    seed = 4
    res = measure(q, k, topk=TOPK, eps=EPSS, head_theory="simulated", seed=seed)
    mixtures = 0
    for h, rep in enumerate(res.heads):
        m, n, base = rep["models"], rep["n"], heads.HEAD_STREAM + 3 * h
        for model, (sigma, offsets) in {"iid": (m["iid"]["sigma"], {}),
                                        "sink offset": (m["sink offset"]["sigma"],
                                                        dict(enumerate(m["sink offset"]["offsets"])))}.items():
            ref = _reference(n, sigma, offsets, seed, base)
            np.testing.assert_allclose([m[model]["predicted"][nm] for nm in NAMES], ref, rtol=1e-12, atol=0)
        if m["scale mixture"]["predicted"] is not None:
            mixtures += 1
            nu = m["scale mixture"]["nu"]
            alone = heads._simulate(n, m["scale mixture"]["sigma"], {}, nu, EPSS, seed, base, topk=TOPK)
            assert [alone[nm] for nm in NAMES] == pytest.approx([m["scale mixture"]["predicted"][nm] for nm in NAMES],
                                                                rel=1e-12)
        assert rep["theory"]["ipr"]["predicted"] == m["iid"]["predicted"]["ipr"]  # theory shares the iid rows
    assert mixtures >= 1
