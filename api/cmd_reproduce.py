"""``attnsparse reproduce [--quick|--full] [--out DIR] [--seed S]``: the reproduction report."""

from __future__ import annotations


def add_parser(subparsers):
    s = subparsers.add_parser("reproduce", help="write a report folder reproducing the seed paper's v2 claims "
                                                "(figures labelled as our reproduction)")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--quick", dest="mode", action="store_const", const="quick", help="small grid (default)")
    g.add_argument("--full", dest="mode", action="store_const", const="full", help="full grid, n up to 2^18")
    s.add_argument("--out", default="reproduce-report", metavar="DIR",
                   help="report folder (default reproduce-report): new, empty or an earlier attnsparse report "
                        "(its report is replaced)")
    s.add_argument("--seed", type=int, default=0, help="master seed (integer >= 0)")
    s.add_argument("--force", action="store_true", help="write into a non-empty --out folder not made by attnsparse")
    s.set_defaults(mode="quick")


def run(args) -> int:
    from .commands import check_seed_option
    from .reproduce import reproduce

    check_seed_option(args.seed)
    data = reproduce(args.out, args.mode, args.seed, force=args.force)
    ad = data["adaptive"]
    print(f"report written to {args.out}/ (report.md, report.json, a_tail_mass, b_phase_diagram, "
          f"c_adaptive_window as PNG and PDF); mean tail mass adaptive {ad['mean_tau_adaptive']:.4f} vs fixed "
          f"{ad['mean_tau_fixed']:.4f}")
    real = data.get("real_model", {})
    if "skipped" in real:
        print(f"section (d), real model: skipped -- {real['skipped']}")
    elif real:
        print(f"section (d), real model: regime table of {sum(len(la['heads']) for la in real['layers'])} heads "
              f"and d_real_model_regimes.png")
    return 0
