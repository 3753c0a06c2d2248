"""``verified-relu stability``: the command-line side of :mod:`verified_relu.precision.stability`
(its arguments, reading the inputs, writing the report)."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from .._io import atomic_write_text
from ..precision.stability import COLUMNS, METHODS, format_stability, stability_report
from ..precision.steps import MAX_MP_DIMENSION, MAX_MP_SAMPLES

__all__ = ["COLUMNS", "LIMITS", "add_arguments", "run", "stability_main"]

_DESCRIPTION = "Numerical-stability report: each learner step in float64 and at --dps digits on the same samples."

#: The size limit of the mpmath path, as the help states it.
LIMITS = (
    f"the mpmath path takes n <= {MAX_MP_SAMPLES} samples and d <= {MAX_MP_DIMENSION} dimensions; "
    "--rows N uses only the first N rows of larger data"
)


def _degrees(text):
    try:
        if ":" in text:
            lo, hi, step = (int(v) for v in text.split(":"))
            return tuple(range(lo, hi + 1, step))
        return tuple(int(v) for v in text.split(",") if v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"degrees must be LO:HI:STEP or a comma list of ints, got {text!r}") from None


def add_arguments(parser, *, common=True):
    """The ``verified-relu stability`` arguments.  ``common=False`` leaves out ``--json`` and
    ``--quiet`` (the CLI's shared ``_common`` adds them with the same meaning)."""
    parser.add_argument(
        "source",
        metavar="RESULT_OR_DATA",
        help="a dataset (.npz/.npy/.csv), or a result.json of a learning run (then give --data)",
    )
    parser.add_argument("--data", help="the dataset the RESULT was learned from")
    parser.add_argument(
        "--target", help="CSV only: the label column (default: the column named y; a CSV without one needs --target)"
    )
    parser.add_argument("--k", type=int, help="width (default: the result's)")
    parser.add_argument(
        "--rows",
        type=int,
        metavar="N",
        help=f"use only the first N rows of the data (the mpmath path takes at most {MAX_MP_SAMPLES})",
    )
    parser.add_argument("--method", choices=METHODS, help="whose steps to run (default: the result's, else fast)")
    parser.add_argument("--dps", type=int, default=50, help="mpmath digits (default %(default)s)")
    parser.add_argument(
        "--degrees",
        type=_degrees,
        default=tuple(range(2, 41, 2)),
        help="moment sweep degrees, LO:HI:STEP or a comma list (default 2:40:2)",
    )
    parser.add_argument(
        "--sweep-samples", type=int, default=500, help="samples used by the sweep (default %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the contraction direction (and learner)")
    parser.add_argument("--no-probes", action="store_true", help="leave out the known-bad probes")
    parser.add_argument("--out", metavar="PATH", help="also write the report as JSON to PATH")
    if common:
        parser.add_argument("--quiet", action="store_true", help="print nothing on stdout")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    return parser


def run(args, out=None):
    """Run the command for parsed ``args``: the text table on stdout (the JSON document with
    ``--json``; nothing with ``--quiet``), JSON to ``--out``.  Returns 0; bad input raises
    ``ValueError`` naming it."""
    from ..learners import LearnResult
    from .data import load_dataset

    out = out or sys.stdout
    if args.out:  # before any work: the report can be written there
        from ._cli_checks import check_out_file

        check_out_file(args.out, "--out")
    if args.rows is not None and args.rows < 1:
        raise ValueError(f"--rows must be >= 1, got {args.rows}")
    result = None
    if args.source.endswith(".json"):
        with open(args.source, encoding="utf-8") as fh:
            result = LearnResult.from_json(fh.read())
        if not args.data:
            raise ValueError("RESULT given: --data (the samples it was learned from) is required")
        X, y = load_dataset(args.data, target=args.target)
        k = args.k or result.network.k
        method = args.method or (result.method if result.method in METHODS else "fast")
    else:
        X, y = load_dataset(args.source, target=args.target)
        if not args.k:
            raise ValueError("DATA given: --k is required")
        k, method = args.k, args.method or "fast"
    if args.rows is not None:
        X, y = X[: args.rows], y[: args.rows]
    n, d = X.shape
    if n > MAX_MP_SAMPLES or d > MAX_MP_DIMENSION:
        hint = (
            f"; --rows {MAX_MP_SAMPLES} uses the first {MAX_MP_SAMPLES} rows"
            if n > MAX_MP_SAMPLES and d <= MAX_MP_DIMENSION
            else ""
        )
        raise ValueError(
            f"the data has n = {n} rows and d = {d} columns, but the mpmath path takes "
            f"n <= {MAX_MP_SAMPLES} and d <= {MAX_MP_DIMENSION}{hint}"
        )
    rep = stability_report(
        np.asarray(X),
        np.asarray(y),
        k,
        method=method,
        dps=args.dps,
        degrees=args.degrees,
        result=result,
        rng=args.seed,
        sweep_samples=args.sweep_samples,
        include_probes=not args.no_probes,
        progress=not getattr(args, "quiet", False),
    )
    if args.out:  # atomically, like every file the command line writes
        atomic_write_text(args.out, json.dumps(rep.to_dict(), indent=2) + "\n")
    if getattr(args, "quiet", False):
        return 0
    if getattr(args, "json", False):
        out.write(json.dumps(rep.to_dict(), indent=2) + "\n")
    else:
        out.write(format_stability(rep) + "\n")
    return 0


def stability_main(argv=None, out=None):
    """``verified-relu stability RESULT_OR_DATA [--dps 50] ...`` as a function (returns the exit status)."""
    parser = add_arguments(
        argparse.ArgumentParser(
            prog="verified-relu stability", description=f"{_DESCRIPTION} Limits: {LIMITS}. Columns: {COLUMNS}."
        )
    )
    return run(parser.parse_args(argv), out)
