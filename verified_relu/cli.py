"""The ``verified-relu`` command line.

Commands: ``demo`` (a built-in demonstration), ``bench`` (the fast learner against the
baselines, :mod:`verified_relu.bench`) and ``check`` (the papers' claims as executable checks,
:mod:`proofs_checks`; the same implementation as ``python -m proofs_checks``).

Exit codes: 0 success; 1 a check or computation reported failure; 2 bad usage or bad input
(one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from ._version import __version__

__all__ = ["main"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2

DEMO_DEFAULTS = {"family": "close_pair", "d": 20, "k": 4, "theta": 0.05, "seed": 2023, "n": 20_000}


class _Printer:
    def __init__(self, quiet):
        self.quiet = quiet

    def __call__(self, *args):
        if not self.quiet:
            print(*args)


def _demo(args):
    from . import instances
    from .moments import moment_contraction

    out = _Printer(args.quiet or args.json)
    seeds = np.random.SeedSequence(args.seed).spawn(3)
    net = instances.make(DEMO_DEFAULTS["family"], args.d, args.k, rng=seeds[0], theta=args.theta)
    canon = net.canonical()
    d, k = net.d, net.k
    report = {"instance": {"family": DEMO_DEFAULTS["family"], "d": d, "k": k, "theta": args.theta, "seed": args.seed}}

    out(f"verified-relu {__version__} demo: a built-in hard instance (seed {args.seed})")
    out(f"  family close_pair, d = {d}, k = {k}: neurons 0 and 1 at angle theta = {args.theta} with opposite coefficients")
    out("")
    out("  neuron  coefficient mu   |w|")
    for i in range(k):
        out(f"  {i:6d}  {net.coefficients[i]:+14.6f}   {np.linalg.norm(net.weights[i]):.3f}")

    # Exact population quantities (closed forms; the mp value at 50 digits as reference)
    norm2 = net.norm_squared()
    norm2_mp = net.norm_squared(dps=50)
    pair = type(net)(net.weights[:2], net.coefficients[:2])
    pair2 = pair.norm_squared(dps=50)
    out("")
    out("Exact L2 norms (closed-form arc-cosine kernels):")
    out(f"  E[F(x)^2]                    = {norm2:.15g}   (float64)")
    out(f"                               = {mpmath_str(norm2_mp)}   (50 digits)")
    out(f"  ||lambda||_1 (canonical form)= {canon.l1_norm:.6f}")
    out(f"  E[pair(x)^2], the close pair = {mpmath_str(pair2, 12)}   (each neuron alone: {pair.coefficients[0] ** 2 / 2:.3f})")
    report["exact"] = {"norm_squared": norm2, "norm_squared_50_digits": str(norm2_mp), "l1_norm": canon.l1_norm, "pair_norm_squared": str(pair2)}

    # Exact moment spectra of random contractions M_l = E[F S_l][g^{l-2}]
    g = np.random.default_rng(seeds[1]).standard_normal(d)
    g /= np.linalg.norm(g)
    X, y = net.sample(args.n, rng=seeds[2])
    out("")
    out(f"Random contractions M_l = E[F(x) S_l(x)](g, ..., g, :, :), exact vs estimated from n = {args.n} samples:")
    out("     l   top |eigenvalues| (exact)                       ||M_hat - M||_F   expected (rms SE)   top eig / rms SE")
    report["contractions"] = []
    consistent = True
    for l in (2, 4, 6, 8):
        M = net.moment_contraction(l, g)
        eig = np.sort(np.abs(np.linalg.eigvalsh(M)))[::-1][:k]
        est = moment_contraction(X, y, l, g, return_se=True)
        err = float(np.linalg.norm(est.value - M))
        rms = float(np.sqrt(np.sum(est.se**2)))  # E||M_hat - M||_F^2 = sum of the entrywise variances
        consistent &= err <= 3 * rms
        out(f"  {l:4d}   " + "  ".join(f"{v:9.3e}" for v in eig) + f"   {err:14.3e}   {rms:17.3e}   {eig[0] / rms:16.3g}")
        report["contractions"].append(
            {"l": l, "top_abs_eigenvalues": eig.tolist(), "frobenius_error": err, "rms_standard_error": rms}
        )
    out("")
    verdict = "are" if consistent else "are NOT"
    out(f"The estimates {verdict} within 3x their expected sampling error. Where the last column is below 1,")
    out("that degree's signal is below the sampling noise at this n. The close pair has L2 norm^2")
    out(f"{mpmath_str(pair2, 3)} while each of its neurons alone has {pair.coefficients[0] ** 2 / 2:.3g}: they nearly cancel,")
    out("which is what makes such instances hard to learn.")
    if args.json:
        print(json.dumps(report, indent=1))
    return EXIT_OK


def _bench(args):
    from .bench import run_suite, write_results

    results = run_suite(args.suite, progress=sys.stderr)
    json_path, md_path = write_results(results, args.out)
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    return EXIT_OK


def _check(args):
    from proofs_checks.report import run_from_args

    return run_from_args(args, "verified-relu check")


def mpmath_str(value, digits=30):
    import mpmath

    return mpmath.nstr(value, digits)


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="verified-relu",
        description="Learn narrow one-hidden-layer ReLU networks under Gaussian inputs, and check the mathematics.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="run the built-in demonstration",
        description="Sample a built-in hard instance (a nearly cancelling close pair) and compare its exact "
        "population quantities with estimates from samples.",
        epilog="example: verified-relu demo --seed 7 --n 50000",
    )
    demo.add_argument("--d", type=int, default=DEMO_DEFAULTS["d"], help="input dimension (default %(default)s)")
    demo.add_argument("--k", type=int, default=DEMO_DEFAULTS["k"], help="number of neurons (default %(default)s)")
    demo.add_argument("--theta", type=float, default=DEMO_DEFAULTS["theta"], help="angle of the close pair (default %(default)s)")
    demo.add_argument("--seed", type=int, default=DEMO_DEFAULTS["seed"], help="random seed (default %(default)s)")
    demo.add_argument("--n", type=int, default=DEMO_DEFAULTS["n"], help="number of samples (default %(default)s)")
    demo.add_argument("--quiet", action="store_true", help="print nothing but errors")
    demo.add_argument("--json", action="store_true", help="print the results as JSON")
    demo.set_defaults(func=_demo)
    bench = sub.add_parser(
        "bench",
        help="benchmark the fast learner against the baselines",
        description="Run the fast learner and the baselines over a grid of instances, computing exact errors; "
        "write results.json and results.md into --out (progress on stderr).",
        epilog="example: verified-relu bench --suite quick --out bench-results",
    )
    bench.add_argument("--suite", default="quick", choices=["quick"], help="grid to run (default %(default)s)")
    bench.add_argument("--out", required=True, help="output directory (created if missing)")
    bench.set_defaults(func=_bench)
    check = sub.add_parser(
        "check",
        help="run the papers' claims as executable checks",
        description="Run the claims of CDGKM23, CN24 and DK24 (and their errata) as checks with evidence; "
        "exit status 1 if any claim fails.",
        epilog="example: verified-relu check --tier quick --json claims.json",
    )
    from proofs_checks.report import add_arguments as _check_arguments

    _check_arguments(check)
    check.set_defaults(func=_check)
    return parser


def main(argv=None):
    parser = _build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"verified-relu {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"verified-relu {args.command}: interrupted", file=sys.stderr)
        return 130
