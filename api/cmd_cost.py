"""``attnsparse cost --n 4096 --d 64 --eps 0.01 --sigma 1.5``: what top-k attention saves over dense.

The kept keys per query are the theory's ``k_eps(n, sigma)`` for iid ``N(0, sigma^2)`` logits:
the finite-n mean over seeded simulated rows (``--rows``, ``--seed``; the exact evaluators have
no ``k_eps`` route) and the tilting rule ``n Phibar(sigma + Phi^{-1}(eps))`` (high temperature
only; it is flagged outside it). Costs are one head's forward pass: FLOPs and bytes moved
between slow memory and a cache of ``--cache-words`` words (:mod:`attnsparse.numeric.cost`).

Prints a table (or JSON with ``--json``). Exit codes: 0 on success, 2 on bad options.
"""

from __future__ import annotations

from .commands import EXIT_OK, UsageError


def add_parser(subparsers):
    """Add the ``cost`` sub-command."""
    from attnsparse.numeric.cost import CACHE_WORDS, COST_ROWS, WORD_BYTES

    s = subparsers.add_parser(
        "cost", help="predicted FLOP and memory-traffic savings of top-k over dense attention at target error eps",
        description="One head's forward pass, n queries against n keys of dimension d; top-k keeps the theory's "
                    "k_eps(n, sigma) keys per query (iid N(0, sigma^2) logits).")
    s.add_argument("--n", type=int, required=True, help="sequence length (queries = keys), integer >= 2")
    s.add_argument("--d", type=int, required=True, help="head dimension, integer >= 1")
    s.add_argument("--eps", type=float, required=True, help="target error: the discarded mass per row, in (0, 1)")
    s.add_argument("--sigma", type=float, required=True, help="logit standard deviation, in (0, 30]")
    s.add_argument("--cache-words", type=int, default=CACHE_WORDS, metavar="M",
                   help=f"fast-memory (cache) size in words, >= 16 (default {CACHE_WORDS})")
    s.add_argument("--word-bytes", type=int, default=WORD_BYTES, help=f"bytes per word (default {WORD_BYTES})")
    s.add_argument("--rows", type=int, default=COST_ROWS,
                   help=f"simulated rows for the finite-n k_eps (default {COST_ROWS})")
    s.add_argument("--seed", type=int, default=0, help="seed of the simulated rows (integer >= 0)")
    s.add_argument("--json", action="store_true", help="print JSON instead of the table")


def run(args):
    """Run ``cost``; return the exit code."""
    import math

    from attnsparse.numeric.cost import C_SELECT, C_SOFTMAX, cost_table, predict
    from attnsparse.numeric.heads import regime

    from .files import strict_json

    if args.n > 2**26:
        raise UsageError(f"--n must be an integer in [2, {2**26}] (the simulated rows hold n logits), got {args.n}")
    try:
        doc = predict(args.n, args.d, args.eps, args.sigma, M=args.cache_words, word_bytes=args.word_bytes,
                      rows=args.rows, seed=args.seed)
    except ValueError as e:
        name = {"n": "--n", "d": "--d", "eps": "--eps", "sigma": "--sigma", "M (cache words)": "--cache-words",
                "word_bytes": "--word-bytes", "rows": "--rows", "seed": "--seed"}
        msg = str(e).splitlines()[0]
        for k, opt in name.items():
            if msg.startswith(k + " must"):
                msg = opt + msg[len(k):]
                break
        raise UsageError(msg) from None
    r = doc["inputs"]["sigma/beta_c"]
    doc["regime"] = regime(r)
    doc["note"] = (None if r < 0.5 else
                   "sigma/beta_c >= 0.5: the tilting rule assumes Z / E Z -> 1 (high temperature) and is not to be "
                   "trusted here; the simulated k_eps holds in every regime")
    if args.json:
        print(strict_json(doc, indent=2))
        return EXIT_OK
    print("\n".join(cost_table(doc)))
    sim = doc["k_eps"]["simulated"]
    c = sim["savings"]["topk (counted selection)"]
    o = sim["savings"]["topk (oracle selection)"]
    print(f"\nsigma/beta_c = {r:.3g} ({doc['regime']}); simulated k_eps = {sim['k']:.4g} of n = {args.n} keys "
          f"({args.rows} rows, seed {args.seed})")
    cap = (4 * args.d + C_SOFTMAX) / (2 * args.d + C_SELECT)
    print(f"predicted speed-up at that k: FLOPs {c['flop_speedup']:.3g}x with selection counted "
          f"(at most {cap:.3g}x for any k), {o['flop_speedup']:.3g}x with the kept sets given; "
          f"bytes moved {c['io_speedup']:.3g}x and {o['io_speedup']:.3g}x"
          + (" (below 1: top-k moves more)" if min(c["io_speedup"], o["io_speedup"]) < 1 else ""))
    if doc["note"]:
        print(f"note: {doc['note']}")
    if not math.isfinite(sim["k"]):
        print("note: the simulated k_eps is undefined")
    return EXIT_OK
