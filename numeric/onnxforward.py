"""A numpy forward pass over an ONNX graph held as plain data, and the attention taps in it.

No ``onnx`` import here: :mod:`attnsparse.onnx_model` reads a file into the plain form below,
and this engine runs it. A graph is

* ``nodes``: a list of ``(op_type, inputs, outputs, attrs)`` in topological order (ONNX files
  store them so), with ``attrs`` a dict of plain values (numbers, lists, numpy arrays);
* ``initializers``: a dict ``name -> ndarray``.

:func:`run_graph` evaluates every node in the dtypes the graph asks for (a float32 model runs
in float32, as onnxruntime does) and returns the requested values. Only the operators of
transformer encoders exported by PyTorch are implemented (:data:`OPS`); any other raises
``ValueError`` naming it.

:func:`attention_taps` finds, for every ``Softmax`` node, the tensors that make its logits:
the two operands ``A``, ``B`` of the ``MatMul`` whose product (times a constant factor, plus
an additive mask) is the softmax input, and the value operand of the ``MatMul`` that consumes
the softmax output. With ``A`` of shape ``(..., heads, n, d)`` and ``B`` of shape
``(..., heads, d, n)``, the logits are ``factor * A @ B``: queries ``A``, keys ``B^T``, scale
``factor`` (a model that scales ``q`` and ``k`` by ``d^{-1/4}`` each has both folded into ``A``
and ``B``, and ``factor = 1``).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["run_graph", "attention_taps", "AttentionTap", "OPS"]

#: ONNX tensor element types -> numpy dtypes
_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64, 9: np.bool_,
           10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64}


def _erf(x):
    from scipy.special import erf

    return erf(x).astype(x.dtype, copy=False)


def _reshape(x, shape, allowzero=0):
    shape = [int(s) for s in shape]
    if not allowzero:
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def _slice(x, starts, ends, axes=None, steps=None):
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    idx = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = int(a) % x.ndim
        big = np.iinfo(np.int64).max // 2
        e = None if (int(e) > big and st > 0) or (int(e) < -big and st < 0) else int(e)
        idx[a] = slice(int(s), e, int(st))
    return x[tuple(idx)]


def _layer_norm(x, scale, bias=None, axis=-1, epsilon=1e-5, stash_type=1):
    axes = tuple(range(axis % x.ndim, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + np.asarray(epsilon, x.dtype))
    y = y * scale
    return y + bias if bias is not None else y


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _gather_nd(data, idx, batch_dims=0):
    if batch_dims:
        raise ValueError("GatherND with batch_dims > 0 is not implemented")
    idx = np.asarray(idx, dtype=np.int64)
    return data[tuple(np.moveaxis(idx, -1, 0))]


def _div(a, b):
    if np.issubdtype(a.dtype, np.integer):
        return np.trunc(a / b).astype(a.dtype)
    return a / b


def _squeeze(x, axes=None):
    return np.squeeze(x) if axes is None else np.squeeze(x, axis=tuple(int(a) for a in axes))


def _unsqueeze(x, axes):
    out_ndim = x.ndim + len(axes)
    for a in sorted(int(a) % out_ndim for a in axes):
        x = np.expand_dims(x, a)
    return x


def _shape(x, start=0, end=None):
    return np.array(x.shape[start:end], dtype=np.int64)


def _transpose(x, perm=None):
    return np.transpose(x, perm)


def _expand(x, shape):
    return x * np.ones([int(s) for s in shape], dtype=x.dtype)


def _range(start, limit, delta):
    return np.arange(start, limit, delta, dtype=np.asarray(start).dtype)


def _concat(*xs, axis):
    return np.concatenate(xs, axis=axis)


def _gather(data, idx, axis=0):
    idx = np.asarray(idx)
    n = data.shape[axis]
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"Gather index out of range [{-n}, {n}) on axis {axis}: min {idx.min()}, max {idx.max()}")
    return np.take(data, idx, axis=axis)


def _arr(a):
    return a if isinstance(a, np.ndarray) else np.asarray(a)


#: op_type -> (function of the input arrays, names of the attributes it takes)
OPS = {
    "Add": (np.add, ()), "Sub": (np.subtract, ()), "Mul": (np.multiply, ()), "Div": (_div, ()),
    "Pow": (np.power, ()), "Sqrt": (np.sqrt, ()), "Tanh": (np.tanh, ()), "Erf": (_erf, ()),
    "Neg": (np.negative, ()), "Exp": (np.exp, ()),
    "MatMul": (np.matmul, ()), "And": (np.logical_and, ()), "Not": (np.logical_not, ()),
    "GreaterOrEqual": (np.greater_equal, ()), "Greater": (np.greater, ()), "Less": (np.less, ()),
    "Equal": (np.equal, ()), "IsNaN": (np.isnan, ()),
    "Max": (lambda *xs: np.maximum.reduce(np.broadcast_arrays(*xs)), ()),
    "Where": (np.where, ()),
    "Reshape": (_reshape, ("allowzero",)), "Transpose": (_transpose, ("perm",)),
    "Slice": (_slice, ()), "Concat": (_concat, ("axis",)), "Shape": (_shape, ("start", "end")),
    "Unsqueeze": (_unsqueeze, ()), "Squeeze": (_squeeze, ()), "Expand": (_expand, ()),
    "Range": (_range, ()), "Gather": (_gather, ("axis",)), "GatherND": (_gather_nd, ("batch_dims",)),
    "LayerNormalization": (_layer_norm, ("axis", "epsilon", "stash_type")),
    "Softmax": (_softmax, ("axis",)),
}


def _keep_dtype(out, ins):
    """Binary float ops keep the float dtype of their inputs (numpy would not promote, but scalars may)."""
    floats = [a.dtype for a in ins if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    if floats and isinstance(out, np.ndarray) and out.dtype.kind == "f" and out.dtype != floats[0]:
        return out.astype(floats[0])
    return out


def run_graph(nodes, initializers, inputs, outputs):
    """Evaluate ``nodes`` on ``inputs`` (name -> array) and return the arrays named in ``outputs``.

    Values no later node needs are dropped as the pass goes, except the ones asked for.
    """
    env = dict(initializers)
    env.update({k: np.asarray(v) for k, v in inputs.items()})
    want = set(outputs)
    last_use = {}
    for i, (_, ins, _, _) in enumerate(nodes):
        for x in ins:
            last_use[x] = i
    for i, (op, ins, outs, attrs) in enumerate(nodes):
        if op == "Constant":
            env[outs[0]] = _arr(attrs["value"])
            continue
        if op == "Cast":
            env[outs[0]] = env[ins[0]].astype(_DTYPES[int(attrs["to"])])
            continue
        if op not in OPS:
            raise ValueError(f"ONNX operator {op!r} is not implemented by the numpy forward pass "
                             f"(implemented: {', '.join(sorted(OPS))}, Cast, Constant)")
        f, names = OPS[op]
        args = [env[x] if x else None for x in ins]
        while args and args[-1] is None:
            args.pop()
        kw = {k: attrs[k] for k in names if k in attrs}
        if op == "Softmax":
            kw.setdefault("axis", -1)
        try:
            y = f(*args, **kw)
        except IndexError as e:
            raise ValueError(f"node {i} ({op}): {e}") from None
        env[outs[0]] = _keep_dtype(np.asarray(y), args)
        for x in ins:
            if last_use.get(x) == i and x not in want and x not in initializers:
                env.pop(x, None)
    missing = [x for x in outputs if x not in env]
    if missing:
        raise ValueError(f"the graph computes no value named {missing[0]!r}")
    return {x: env[x] for x in outputs}


class AttentionTap:
    """Where one softmax's operands live: ``logits = factor * A @ B (+ mask)``, output ``P @ V``."""

    def __init__(self, softmax, q, k, v, factor, logits):
        self.softmax, self.q, self.k, self.v, self.factor, self.logits = softmax, q, k, v, factor, logits

    def __repr__(self):
        return (f"AttentionTap(softmax={self.softmax!r}, q={self.q!r}, k={self.k!r}, v={self.v!r}, "
                f"factor={self.factor:g})")


def attention_taps(nodes, initializers):
    """One :class:`AttentionTap` per ``Softmax`` node, in graph order.

    Raises ``ValueError`` when a softmax input is not ``factor * MatMul (+ mask)``, or when its
    output does not feed a ``MatMul`` (directly or through ``IsNaN``/``Where`` guards).
    """
    producer = {}
    consumers = {}
    for i, (op, ins, outs, attrs) in enumerate(nodes):
        for o in outs:
            producer[o] = i
        for x in ins:
            consumers.setdefault(x, []).append(i)

    def const(name):
        if name in initializers:
            return np.asarray(initializers[name])
        j = producer.get(name)
        if j is not None and nodes[j][0] == "Constant":
            return np.asarray(nodes[j][3]["value"])
        return None

    taps = []
    for i, (op, ins, outs, attrs) in enumerate(nodes):
        if op != "Softmax":
            continue
        name, factor = ins[0], 1.0
        for _ in range(16):
            j = producer.get(name)
            if j is None:
                raise ValueError(f"softmax node {i}: its input {name!r} is not computed by a MatMul")
            pop, pins = nodes[j][0], nodes[j][1]
            if pop == "MatMul":
                break
            if pop in ("Mul", "Div"):
                c = [const(x) for x in pins]
                if c[1] is not None and c[1].size == 1:
                    factor = factor * float(c[1]) if pop == "Mul" else factor / float(c[1])
                    name = pins[0]
                elif pop == "Mul" and c[0] is not None and c[0].size == 1:
                    factor, name = factor * float(c[0]), pins[1]
                else:
                    raise ValueError(f"softmax node {i}: {pop} node {j} is not a scaling by a constant")
            elif pop == "Add":
                kinds = [nodes[producer[x]][0] if x in producer else None for x in pins]
                pick = [x for x, kd in zip(pins, kinds) if kd in ("MatMul", "Mul", "Div")]
                if len(pick) != 1:
                    raise ValueError(f"softmax node {i}: cannot tell the logits from the mask at Add node {j}")
                name = pick[0]
            else:
                raise ValueError(f"softmax node {i}: unexpected {pop} node {j} between the MatMul and the softmax")
        else:
            raise ValueError(f"softmax node {i}: no MatMul within 16 nodes of its input")
        qn, kn = nodes[j][1][:2]
        out, v = outs[0], None
        for _ in range(8):
            nxt = consumers.get(out, [])
            mm = [c for c in nxt if nodes[c][0] == "MatMul" and nodes[c][1][0] == out]
            if mm:
                v = nodes[mm[0]][1][1]
                break
            guards = [c for c in nxt if nodes[c][0] == "Where"]
            if not guards:
                break
            out = nodes[guards[0]][2][0]
        if v is None:
            raise ValueError(f"softmax node {i}: its output feeds no MatMul with values")
        if not math.isfinite(factor) or factor <= 0:
            raise ValueError(f"softmax node {i}: the logit factor {factor!r} is not a positive number")
        taps.append(AttentionTap(outs[0], qn, kn, v, factor, ins[0]))
    return taps
