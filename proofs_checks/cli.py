"""The command line that runs the claims: ``python -m proofs_checks`` and ``verified-relu check``.

Exit status: 0 all claims passed, 1 some claim failed, 2 bad usage (one line on stderr).
Files are written atomically.
"""

from __future__ import annotations

import argparse
import sys

from . import registry
from .report import _counterexample_line, _result, to_json, to_markdown, to_table

__all__ = ["EXIT_FAIL", "EXIT_OK", "EXIT_USAGE", "add_arguments", "main", "run_from_args"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def add_arguments(parser):
    """Add the ``--tier``, ``--only``, ``--json``, ``--markdown``, ``--quiet``, ``--verbose`` options."""
    parser.add_argument(
        "--tier",
        default="quick",
        choices=list(registry.RUN_TIERS),
        help="parameter tier (default %(default)s; quick leaves out the claims that run at the full "
        "tier only, and names them; proved runs the claims proved by branch-and-bound with ball arithmetic "
        "over their stated domains, their mutations, and the named counterexamples)",
    )
    parser.add_argument("--only", nargs="+", metavar="ID", help="run only these claim ids")
    parser.add_argument("--json", metavar="FILE", help="write the outcomes as JSON to FILE")
    parser.add_argument("--markdown", metavar="FILE", help="write the outcomes as Markdown to FILE")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr and no table on stdout")
    parser.add_argument(
        "--verbose", action="store_true", help="print every claim's source in full (not cut at 40 characters)"
    )
    return parser


def run_from_args(args, prog):
    """Run the claims selected by parsed ``args``; returns the exit status."""
    from verified_relu._io import atomic_write_text
    from verified_relu._threads import single_threaded

    registry._load_all()
    if args.only:
        unknown = [c for c in args.only if c not in registry.REGISTRY]
        if unknown:
            print(
                f"{prog}: error: unknown claim id(s): {', '.join(unknown)}; known ids: {', '.join(sorted(registry.REGISTRY))}",
                file=sys.stderr,
            )
            return EXIT_USAGE
        if args.tier == "proved":
            from .proved import proved_ids

            missing = [c for c in args.only if c not in proved_ids()]
            if missing:
                print(
                    f"{prog}: error: claim(s) {', '.join(missing)} have no proof; proved claims: {', '.join(proved_ids())}",
                    file=sys.stderr,
                )
                return EXIT_USAGE
        elsewhere = (
            [] if args.tier == "proved" else [c for c in args.only if not registry.REGISTRY[c].in_tier(args.tier)]
        )
        if elsewhere:
            print(
                f"{prog}: error: claim(s) {', '.join(elsewhere)} run at the full tier only; use --tier full",
                file=sys.stderr,
            )
            return EXIT_USAGE
    not_run = [] if args.only else registry.not_in_tier(args.tier)

    def progress(i, n, outcome):
        print(f"[{i}/{n}] {outcome.claim.id}: {_result(outcome)} ({outcome.seconds:.2f}s)", file=sys.stderr, flush=True)

    # one BLAS/OpenMP thread: the checks are small dense products (see verified_relu._threads)
    with single_threaded():
        outcomes = registry.run(args.only, tier=args.tier, progress=None if args.quiet else progress)
        proved_outcomes, cxs = None, None
        if args.tier == "proved" and not args.only:
            from .proved import counterexamples

            cxs = counterexamples()
        elif args.tier == "full" and args.markdown and not args.only:
            # docs/claims.md shows each claim's highest rung: run the proofs too
            from .proved import counterexamples

            proved_outcomes = registry.run(None, tier="proved")
            cxs = counterexamples()
    try:
        if args.json:
            atomic_write_text(args.json, to_json(outcomes, args.tier, not_run, counterexamples=cxs))
        if args.markdown:
            atomic_write_text(
                args.markdown, to_markdown(outcomes, args.tier, not_run, proved=proved_outcomes, counterexamples=cxs)
            )
    except OSError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not args.quiet:
        print(to_table(outcomes, not_run, args.tier, verbose=getattr(args, "verbose", False)))
        for cx in cxs or []:
            print(_counterexample_line(cx))
    cx_ok = all(cx["status"] == "refuted" for cx in cxs or [])
    return EXIT_OK if all(o.passed for o in outcomes) and cx_ok else EXIT_FAIL


def main(argv=None, prog="python -m proofs_checks"):
    """Entry point of ``python -m proofs_checks``."""
    parser = argparse.ArgumentParser(prog=prog, description="Run the papers' claims as executable checks.")
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse prints its own one-line usage error
        return int(exc.code) if exc.code is not None else EXIT_USAGE
    return run_from_args(args, prog)
