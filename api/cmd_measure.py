"""``attnsparse measure Q.npy K.npy [V.npy]``: sparsity statistics of real attention arrays.

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
    s.add_argument("Q", help="queries, .npy of shape (n_q, d) or (heads, n_q, d)")
    s.add_argument("K", help="keys, .npy of shape (n_k, d) or (heads, n_k, d)")
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
                   help="per-head IID prediction at each head's fitted sigma: exact finite-n integrals at 12 digits "
                        "(about 1-3 s per head at n = 512), simulated rows, or none (exact)")
    s.add_argument("--no-head-models", action="store_true",
                   help="skip the per-head fit of the iid, sink-offset and scale-mixture models")
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


def run(args):
    """Run ``measure``; return the exit code."""
    from attnsparse.numeric.measure import measure

    from .files import prepare_file, strict_json, write_atomic

    if args.out:
        prepare_file(args.out, create_folder=True)
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
