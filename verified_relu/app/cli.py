"""The ``verified-relu`` command line (also ``python -m verified_relu``).

Commands
--------
``demo``    a built-in hard instance: exact quantities, moment estimates, two learners, a report
``sample``  a dataset from an instance family (or a network JSON) to .npz / .npy / .csv
``learn``   learn a network from a dataset; writes network.json and result.json
``eval``    MSE of a network on a dataset (warns when it is the training data); the exact L2 error
``verify``  prove that the sample loss has one critical point in a ball around a network
            (:mod:`verified_relu.rigorous`); writes the certificate
``audit``   the papers' parameter chains and sample/time bounds, exactly (mpmath)
``report``  an HTML/Markdown report of a learning result (:mod:`verified_relu.report`)
``bench``   the fast learner against the baselines (:mod:`verified_relu.bench`)
``check``   the papers' claims as executable checks (:mod:`proofs_checks`)
``stability`` float64 against mpmath, step by step (:mod:`verified_relu.precision`)

Every command takes ``--quiet`` (nothing on stdout) and ``--json`` (one JSON document on
stdout); progress and warnings go to stderr.  Output files are written atomically: they
appear complete or not at all, also on errors and on Ctrl-C.  Output locations are checked
before any work (writable, a directory where one is needed), and a directory already holding
the files a command writes is not overwritten without ``--force`` (the demo's own default
directory aside).

Exit codes: 0 success; 1 a check or the learning reported failure, or an optional dependency
is missing; 2 bad usage or bad input (one line on stderr, no traceback); 130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from .._version import __version__
from ..learners.chains import audit_table
from ._cli_checks import (
    check_out_dir,
    check_out_file,
    data_provenance,
    format_options,
    refuse_existing_run,
    same_data,
)
from ._cli_util import (
    UsageError,
    _emit_json,
    _err,
    _load_data,
    _load_network,
    _load_relu,
    _parse_assignments,
    _Printer,
    _read_json,
    _write_texts,
    mpmath_str,
)

__all__ = ["EXIT_FAIL", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

#: The key of ``LearnResult.diagnostics`` under which ``learn`` records the training data
#: (``{"path", "resolved_path", "sha256"}``); ``eval`` compares its DATA with it.
TRAINING_DATA_KEY = "training_data"
#: The files ``learn`` writes into its run directory, and those of a report.
RUN_FILES = ("network.json", "result.json")
REPORT_FILES = ("report.html", "report.md")

DEMO_DEFAULTS = {
    "family": "close_pair",
    "d": 20,
    "k": 4,
    "theta": 0.05,
    "seed": 2023,
    "n": 10_000,
    "out": "out/demo",
}


def _demo(args):
    from .. import instances
    from ..moments import moment_contraction

    out = _Printer(args.quiet or args.json)
    if args.n < 1:
        raise UsageError(f"--n must be >= 1, got {args.n}")
    if not args.no_report:  # before any work: the report's directory is writable and holds no other report
        default = args.out is None
        args.out = DEMO_DEFAULTS["out"] if default else args.out
        check_out_dir(args.out, "--out", parents=default)
        refuse_existing_run(args.out, REPORT_FILES, "--out", args.force or default)
    seeds = np.random.SeedSequence(args.seed).spawn(5)
    net = instances.make(DEMO_DEFAULTS["family"], args.d, args.k, rng=seeds[0], theta=args.theta)
    d, k = net.d, net.k
    report = {
        "instance": {
            "family": DEMO_DEFAULTS["family"],
            "d": d,
            "k": k,
            "theta": args.theta,
            "seed": args.seed,
            "n": args.n,
            "network": net.to_dict(),
        }
    }

    out(f"verified-relu {__version__} demo: a built-in hard instance (seed {args.seed})")
    out(
        f"  family close_pair, d = {d}, k = {k}: neurons 0 and 1 at angle theta = {args.theta} with opposite coefficients"
    )
    out("")
    out("  neuron  coefficient mu   |w|")
    for i in range(k):
        out(f"  {i:6d}  {net.coefficients[i]:+14.6f}   {np.linalg.norm(net.weights[i]):.3f}")

    norm2 = net.norm_squared()
    norm2_mp = net.norm_squared(dps=50)
    pair = type(net)(net.weights[:2], net.coefficients[:2])
    pair2 = pair.norm_squared(dps=50)
    out("")
    out("Exact L2 norms (closed-form arc-cosine kernels):")
    out(f"  E[F(x)^2]                    = {norm2:.15g}   (float64)")
    out(f"                               = {mpmath_str(norm2_mp, 50)}   (50 digits)")
    out(f"  ||lambda||_1 (canonical form)= {net.canonical().l1_norm:.6f}")
    out(
        f"  E[pair(x)^2], the close pair = {mpmath_str(pair2, 12)}   (each neuron alone: {pair.coefficients[0] ** 2 / 2:.3f})"
    )
    report["exact"] = {
        "norm_squared": norm2,
        "norm_squared_50_digits": str(norm2_mp),
        "l1_norm": net.canonical().l1_norm,
        "pair_norm_squared": str(pair2),
    }

    g = np.random.default_rng(seeds[1]).standard_normal(d)
    g /= np.linalg.norm(g)
    X, y = net.sample(args.n, rng=seeds[2])
    out("")
    out(f"Random contractions M_l = E[F(x) S_l(x)](g, ..., g, :, :), exact vs estimated from n = {args.n} samples:")
    out(
        "     l   top |eigenvalues| (exact)                       ||M_hat - M||_F   expected (rms SE)   top eig / rms SE"
    )
    report["contractions"] = []
    consistent = True
    for l in (2, 4, 6, 8):
        M = net.moment_contraction(l, g)
        eig = np.sort(np.abs(np.linalg.eigvalsh(M)))[::-1][:k]
        est = moment_contraction(X, y, l, g, return_se=True)
        err = float(np.linalg.norm(est.value - M))
        rms = float(np.sqrt(np.sum(est.se**2)))  # E||M_hat - M||_F^2 = sum of the entrywise variances
        consistent &= err <= 3 * rms
        out(
            f"  {l:4d}   "
            + "  ".join(f"{v:9.3e}" for v in eig)
            + f"   {err:14.3e}   {rms:17.3e}   {eig[0] / rms:16.3g}"
        )
        report["contractions"].append(
            {"l": l, "top_abs_eigenvalues": eig.tolist(), "frobenius_error": err, "rms_standard_error": rms}
        )
    out(f"  The estimates {'are' if consistent else 'are NOT'} within 3x their expected sampling error; where the last")
    out("  column is below 1 that degree's signal is below the sampling noise at this n.")

    report["learners"] = {}
    results = {}
    for method, seed, options in (("fast", seeds[3], {}), ("cdgkm", seeds[4], {"teacher": net})):
        _err(args, f"[demo] learning with method={method!r} on n = {args.n} samples ...")
        t0 = time.perf_counter()
        res = _learn_api(X, y, k, method, seed, options)
        seconds = time.perf_counter() - t0
        results[method] = res
        report["learners"][method] = _learn_summary(net, res, seconds)
        report["learners"][method]["network"] = res.network.to_dict()
        _print_learned(out, method, net, res, seconds, report["learners"][method])

    if not args.no_report:
        report["report"] = _demo_report(args, results["cdgkm"], net, X, y, out)
    out("")
    out(
        f"The close pair nearly cancels (L2 norm^2 {mpmath_str(pair2, 3)} against {pair.coefficients[0] ** 2 / 2:.3g} for"
    )
    out("each neuron alone), which is what makes such instances hard: a learner can fit F to tiny error")
    out("without resolving the pair, so compare the exact error with the neuron matching above.")
    _emit_json(args, report)
    return EXIT_OK


def _learn_api(X, y, k, method, seed, options):
    from ..learners import learn

    return learn(X, y, k, method=method, rng=seed, **options)


def _learn_summary(true, res, seconds):
    from ..metrics import match_neurons
    from ..network import ReLUNetwork

    err = true.squared_distance(res.network)
    summary = {
        "success": res.success,
        "message": res.message,
        "seconds": seconds,
        "squared_error": err,
        "relative_squared_error": err / true.norm_squared(),
    }
    if isinstance(res.network, ReLUNetwork):
        summary["matching"] = match_neurons(true, res.network).to_dict()
    return summary


def _print_learned(out, method, true, res, seconds, summary):
    out("")
    out(f"Learned by method={method!r} in {seconds:.2f} s: {'success' if res.success else 'FAILURE'} ({res.message})")
    out(
        f"  exact E[(F - F_hat)^2] = {summary['squared_error']:.3e}   relative to E[F^2]: {summary['relative_squared_error']:.3e}"
    )
    if "matching" in summary:
        out(
            "  true neuron <-> learned neuron (canonical lambda_i = mu_i |w_i| / 2, matched up to sign and permutation)"
        )
        out("     true  learned   angle (rad)   lambda true   lambda learned")
        for p in summary["matching"]["pairs"]:
            out(
                f"    {p['true_index']:5d}  {p['learned_index']:7d}   {p['angle']:11.3e}   {p['true_coefficient']:+11.5f}"
                f"   {p['learned_coefficient']:+14.5f}"
            )
        if summary["matching"]["unmatched_learned"]:
            out(f"    unmatched learned neurons: {summary['matching']['unmatched_learned']}")


def _paths_json(paths):
    return {
        key: [str(v) for v in value] if isinstance(value, (list, tuple)) else str(value) for key, value in paths.items()
    }


def _demo_report(args, result, teacher, X, y, out):
    out_dir = Path(args.out)
    try:
        from .report import write_report

        _err(args, f"[demo] writing the report of the cdgkm run into {out_dir} ...")
        paths = write_report(result, out_dir, teacher=teacher, X=X, y=y, progress=not args.quiet)
    except ImportError as exc:
        out("")
        out(f"(no report written: {exc})")
        return None
    out("")
    out(f"Report of the cdgkm run (its audit trace): {paths.get('html')} and {paths.get('md')}")
    return _paths_json(paths)


# ----------------------------------------------------------------------------- sample
def _sample(args):
    from .. import instances
    from .data import data_format, save_dataset

    out = _Printer(args.quiet or args.json)
    fmt = data_format(args.out)
    if fmt == "npy" and Path(args.out).is_dir():
        check_out_dir(args.out, "--out")
    else:
        check_out_file(Path(str(args.out).rstrip("/") or "."), "--out")
    if (args.family is None) == (args.network is None):
        raise UsageError("give exactly one of --family and --network")
    if args.n < 1:
        raise UsageError(f"--n must be >= 1, got {args.n}")
    if not (math.isfinite(args.noise) and args.noise >= 0):
        raise UsageError(f"--noise must be a finite number >= 0, got {args.noise}")
    seeds = np.random.SeedSequence(args.seed).spawn(2)
    true_out = None
    if args.family is not None:
        if args.d is None or args.k is None:
            raise UsageError("--family needs --d and --k")
        params = _parse_assignments(args.param, "--param")
        net = instances.make(args.family, args.d, args.k, rng=seeds[0], **params)
        base = Path(str(args.out).rstrip("/"))
        true_out = Path(args.true_out) if args.true_out else base.with_name(base.stem + ".true.json")
        if true_out.suffix != ".json":
            raise UsageError(f"--true-out must end in .json, got {str(true_out)!r}")
        check_out_file(true_out, "--true-out")
        source = {"family": args.family, "d": args.d, "k": args.k, "params": params}
    else:
        if args.param or args.d is not None or args.k is not None:
            raise UsageError("--param, --d and --k go with --family, not --network")
        net = _load_relu(args.network, "--network")
        source = {"network": str(args.network)}
    X, y = net.sample(args.n, rng=seeds[1], noise=args.noise)
    written = save_dataset(args.out, X, y)
    try:
        if true_out is not None:
            _write_texts({true_out: net.to_json() + "\n"})
    except BaseException:
        _remove(written)
        raise
    payload = {
        "data": str(written),
        "format": fmt,
        "n": args.n,
        "d": net.d,
        "k": net.k,
        "noise": args.noise,
        "seed": args.seed,
        "source": source,
        "true_network": None if true_out is None else str(true_out),
        "norm_squared": net.norm_squared(),
    }
    out(
        f"wrote {args.n} samples (d = {net.d}) to {written}" + (f"; the true network to {true_out}" if true_out else "")
    )
    _emit_json(args, payload)
    return EXIT_OK


def _remove(path):
    import shutil

    path = Path(path)
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()


# ----------------------------------------------------------------------------- learn
def _learn(args):
    from ..learners import registry
    from ..network import ReLUNetwork

    METHODS = tuple(registry.LEARNERS)

    out = _Printer(args.quiet or args.json)
    if args.method not in METHODS:
        raise UsageError(f"--method must be one of {', '.join(METHODS)}; got {args.method!r}")
    if args.list_options:
        return _list_options(args, out)
    missing = [name for name, value in (("DATA", args.data), ("--k", args.k)) if value is None]
    if missing:
        raise UsageError(
            f"the following arguments are required: {', '.join(missing)} "
            "(--list-options lists the options of --method without them)"
        )
    out_dir = Path(args.out)
    check_out_dir(out_dir, "--out")
    refuse_existing_run(out_dir, RUN_FILES, "--out", args.force)
    teacher = _load_relu(args.teacher, "--teacher") if args.teacher else None
    X, y, warnings = _load_data(args.data, args, target=args.target)
    if teacher is not None and teacher.d != X.shape[1]:
        raise UsageError(f"--teacher has d = {teacher.d} but the data has {X.shape[1]} columns")
    if not 1 <= args.k <= X.shape[1]:
        raise UsageError(f"--k must be in 1..d = {X.shape[1]} (the data's columns), got {args.k}")
    options = _parse_assignments(args.option, "--option")
    _check_options(args.method, options)
    row = registry.get(args.method)
    options["progress"] = not args.quiet  # stage lines on stderr; --quiet silences them
    if row.kind == "paper":
        if teacher is not None:
            options["teacher"] = teacher
    elif row.needs_teacher:
        if teacher is None:
            raise UsageError(f"--method {args.method} (an oracle baseline) needs --teacher")
        options["teacher"] = teacher
    _err(args, f"[learn] method={args.method!r}, n = {X.shape[0]}, d = {X.shape[1]}, k = {args.k} ...")
    t0 = time.perf_counter()
    res = _learn_api(X, y, args.k, args.method, args.seed, options)
    seconds = time.perf_counter() - t0
    residual = res.network.predict(X) - y
    payload = {
        "method": res.method,
        "success": res.success,
        "message": res.message,
        "seconds": seconds,
        "train_mse": float(np.mean(residual**2)),
        "warnings": warnings,
    }
    if teacher is not None:
        payload.update(_learn_summary(teacher, res, seconds))
        if warnings:  # the exact error is a Gaussian-population quantity: add its counterpart on the data
            payload["teacher_mse_on_data"] = _chunked_mse_between(res.network, teacher, X)
    # where the network was learned from, so that `eval` can tell a training error from a held-out one
    res = dataclasses.replace(res, diagnostics={**res.diagnostics, TRAINING_DATA_KEY: data_provenance(args.data)})
    out_dir.mkdir(exist_ok=True)
    files = {
        out_dir / "network.json": json.dumps(res.network.to_dict(), indent=1) + "\n",
        out_dir / "result.json": res.to_json() + "\n",
    }
    _write_texts(files)
    payload["files"] = {"network": str(out_dir / "network.json"), "result": str(out_dir / "result.json")}
    kind = (
        "ReLU network" if isinstance(res.network, ReLUNetwork) else f"improper predictor ({type(res.network).__name__})"
    )
    out(f"{args.method}: {'success' if res.success else 'FAILURE'} in {seconds:.2f} s: {res.message}")
    out(f"  training MSE {payload['train_mse']:.4e}")
    if teacher is not None:
        _print_teacher_error(out, payload, "F - F_hat", "--teacher", bool(warnings), X.shape[0])
    out(f"  wrote the {kind} to {payload['files']['network']} and the result to {payload['files']['result']}")
    _emit_json(args, payload)
    return EXIT_OK if res.success else EXIT_FAIL


def _check_options(method, options):
    """Refuse unknown learner options before any work (``learn`` would, but after the progress line)."""
    from ..learners import registry

    fields = registry.get(method).option_names() - {"teacher", "progress"}  # the CLI sets these itself
    unknown = sorted(set(options) - fields)
    if unknown:
        raise UsageError(f"unknown --option(s) {unknown} for method {method!r}; valid: {', '.join(sorted(fields))}")


def _list_options(args, out):
    """``learn --method M --list-options``: each option with its default and meaning (stdout)."""
    from ._cli_checks import options_table

    d = k = None
    if args.data is not None and args.k is not None:  # the papers' profiles depend on d and k
        X, _, _ = _load_data(args.data, args, target=args.target)
        d, k = int(X.shape[1]), args.k
    out(format_options(args.method, d, k))
    header, rows = options_table(args.method, d, k)
    _emit_json(
        args,
        {
            "method": args.method,
            "about": header,
            "options": [{"name": n, "default": v, "meaning": m} for n, v, m in rows],
        },
    )
    return EXIT_OK


def _print_teacher_error(out, payload, diff, what, non_gaussian, n):
    """The exact error against a true network; under a failed Gaussianity test it is labelled as
    the Gaussian-population error and followed by its counterpart on the given data."""
    rel = payload["relative_squared_error"]
    if not non_gaussian:
        out(
            f"  exact E[(F - F_hat)^2] against {what}: {payload['squared_error']:.4e} (relative {rel:.4e})"
            if diff == "F - F_hat"
            else f"exact E[(F_true - F)^2] = {payload['squared_error']:.6e}   relative to E[F_true^2] = "
            f"{payload['true_norm_squared']:.6g}: {rel:.6e}"
        )
        return
    indent = "  " if diff == "F - F_hat" else ""
    out(
        f"{indent}Gaussian-population error E[({diff})^2] over x ~ N(0, I_d) against {what}: "
        f"{payload['squared_error']:.4e} (relative {rel:.4e}); the data failed the Gaussianity test above, so"
    )
    out(
        f"{indent}  this is not the error on this data's distribution; on the given data ({_count(n)} samples), "
        f"mean ({diff})^2 = {payload['teacher_mse_on_data']:.4e}"
    )


def _count(n):
    """``10000`` as ``10 000``."""
    return f"{int(n):,}".replace(",", " ")


def _chunked_mse_between(net, other, X, chunk=1 << 16):
    """``mean((net(X) - other(X))^2)`` over row blocks."""
    total = 0.0
    for start in range(0, X.shape[0], chunk):
        block = np.asarray(X[start : start + chunk])
        diff = np.asarray(net.predict(block)) - np.asarray(other.predict(block))
        total += float(diff @ diff)
    return total / X.shape[0]


# ----------------------------------------------------------------------------- eval
def _eval(args):
    out = _Printer(args.quiet or args.json)
    net = _load_network(args.network)
    true = _load_relu(args.true, "--true") if args.true else None
    X, y, warnings = _load_data(args.data, args, target=args.target)
    if net.d != X.shape[1]:
        raise UsageError(f"the network has d = {net.d} but the data has {X.shape[1]} columns")
    if true is not None and true.d != net.d:
        raise UsageError(f"--true has d = {true.d} but the network has d = {net.d}")
    learned_from, record = _training_data(args.network)
    training = learned_from is not None and same_data(learned_from, args.data)
    if training:
        _err(
            args,
            f"warning: {args.data} is the data {args.network} was learned from (its SHA-256 is the one "
            f"recorded in {record}): this MSE is a training error, not a held-out one",
        )
    mse = _chunked_mse(net, X, y)
    n = int(X.shape[0])
    payload = {
        "data": str(args.data),
        "n": n,
        "d": int(X.shape[1]),
        "mse": mse,
        "is_training_data": training,
        "warnings": warnings,
    }
    out(f"MSE on {args.data} ({_count(n)} samples): {mse:.6e}" + ("   (the training data)" if training else ""))
    if true is not None:
        err = float(true.squared_distance(net))
        norm2 = float(true.norm_squared())
        payload.update(
            {
                "squared_error": err,
                "true_norm_squared": norm2,
                "relative_squared_error": err / norm2,
                "true_mse": _chunked_mse(true, X, y),
            }
        )
        if warnings:
            payload["teacher_mse_on_data"] = _chunked_mse_between(net, true, X)
        _print_teacher_error(out, payload, "F_true - F", "--true", bool(warnings), n)
        out(f"MSE of the true network on these samples (the label noise): {payload['true_mse']:.6e}")
    _emit_json(args, payload)
    return EXIT_OK


def _verify(args):
    out = _Printer(args.quiet or args.json)
    if args.out:
        check_out_file(Path(args.out), "--out")
    net = _load_relu(args.result, "RESULT")
    teacher = _load_relu(args.teacher, "--teacher") if args.teacher else None
    X, y, warnings = _load_data(args.data, args, target=args.target)
    if net.d != X.shape[1]:
        raise UsageError(f"the network has d = {net.d} but the data has {X.shape[1]} columns")
    if teacher is not None and teacher.d != net.d:
        raise UsageError(f"--teacher has d = {teacher.d} but the network has d = {net.d}")
    from ..rigorous import verify_fit

    cert = verify_fit(net, X, y, teacher=teacher, prec=args.prec)
    payload = {"result": str(args.result), "data": str(args.data), "warnings": warnings, **cert.to_dict()}
    out(cert.format())
    if args.out:
        from .._provenance import jsonable

        _write_texts({Path(args.out): json.dumps(jsonable(payload), indent=1) + "\n"})
        out(f"certificate written to {args.out}")
    _emit_json(args, payload)
    return EXIT_OK if cert.verified else EXIT_FAIL


def _training_data(network_path):
    """``(provenance, path of the result.json holding it)`` of the data a network was learned from:
    recorded by ``learn`` in result.json (NETWORK itself, or the result.json next to a network.json
    whose network it holds); ``(None, None)`` when there is no such record."""
    path = Path(network_path)
    if path.suffix != ".json":
        return None, None
    own = _read_json(path, "network")
    if isinstance(own, dict) and own.get("format") == "verified_relu.LearnResult":
        result, where = own, path
    else:
        where = path.with_name("result.json")
        if not where.is_file():
            return None, None
        try:
            result = json.loads(where.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return None, None
        if not isinstance(result, dict) or result.get("network") != own:
            return None, None
    diagnostics = result.get("diagnostics")
    record = diagnostics.get(TRAINING_DATA_KEY) if isinstance(diagnostics, dict) else None
    return (record, where) if isinstance(record, dict) else (None, None)


def _chunked_mse(net, X, y, chunk=1 << 16):
    """``mean((net(X) - y)^2)`` over row blocks (memory-mapped data never loads in full)."""
    total = 0.0
    for start in range(0, X.shape[0], chunk):
        resid = np.asarray(net.predict(np.asarray(X[start : start + chunk]))) - y[start : start + chunk]
        total += float(resid @ resid)
    return total / X.shape[0]


# ----------------------------------------------------------------------------- audit
def _audit(args):
    out = _Printer(args.quiet or args.json)
    if not 15 <= args.dps <= 1000:
        raise UsageError(f"--dps must be in 15..1000, got {args.dps}")
    if not 1 <= args.digits <= 30:
        raise UsageError(f"--digits must be in 1..30, got {args.digits}")
    try:
        table = audit_table(args.d, args.k, args.eps, args.R, args.delta, dps=args.dps)
    except ValueError as exc:  # the library names its argument; here it is the option of that name
        raise UsageError(str(exc).replace("audit_table: ", "--", 1)) from None
    digits = args.digits
    out(f"The papers' parameters at d = {args.d}, k = {args.k}, eps = {args.eps}, R = {args.R}, delta = {args.delta}")
    out(f"(mpmath, {args.dps} digits; every unnamed constant 1 unless stated; printed to {digits} significant digits)")
    payload = {
        "inputs": {"d": args.d, "k": args.k, "eps": args.eps, "R": args.R, "delta": args.delta, "dps": args.dps},
        "papers": {},
    }
    for paper, rows in table.items():
        out("")
        out(
            {
                "CDGKM": "CDGKM23 (MULTISCALELEARN), CDGKMParams.from_theory",
                "CN": "CN24 (NETLEARN), NetlearnParams.from_theory",
                "DK": "DK24 (Schur polynomials), DKParams.from_theory",
            }[paper]
        )
        width = max(len(name) for name, _, _ in rows)
        payload["papers"][paper] = {}
        for name, value, meaning in rows:
            text = mpmath_str(value, digits) if not isinstance(value, int) else str(value)
            out(f"  {name:<{width}}  {text:>14}   {meaning}")
            payload["papers"][paper][name] = {
                "value": mpmath_str(value, args.dps) if not isinstance(value, int) else value,
                "meaning": meaning,
            }
    out("")
    out("Side by side:")
    cells = []
    for paper, rows in table.items():
        vals = {name: value for name, value, _ in rows}
        cells.append((paper, mpmath_str(vals["samples"], digits), mpmath_str(vals["time"], digits)))
    w1 = max(len("samples"), *(len(c[1]) for c in cells))
    w2 = max(len("time (operations)"), *(len(c[2]) for c in cells))
    out(f"  {'':<8}{'samples':>{w1}}   {'time (operations)':>{w2}}")
    for paper, samples, ops in cells:
        out(f"  {paper:<8}{samples:>{w1}}   {ops:>{w2}}")
    _emit_json(args, payload)
    return EXIT_OK


# ----------------------------------------------------------------------------- report
def _report(args):
    from ..learners import LearnResult

    out = _Printer(args.quiet or args.json)
    data = _read_json(args.result, "result")
    try:
        result = LearnResult.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"result {str(args.result)!r}: not a learning result ({exc})") from None
    out_dir = Path(args.out) if args.out else Path(args.result).parent
    check_out_dir(out_dir, "--out" if args.out else "RESULT's directory")
    refuse_existing_run(out_dir, REPORT_FILES, "--out" if args.out else "RESULT's directory", args.force)
    teacher = _load_relu(args.teacher, "--teacher") if args.teacher else None
    X = y = None
    if args.data:
        X, y, _ = _load_data(args.data, args, target=args.target)
    d = result.network.d
    for what, dim in (
        ("--teacher", teacher.d if teacher is not None else d),
        ("--data", d if X is None else X.shape[1]),
    ):
        if dim != d:
            raise UsageError(f"{what} has d = {dim} but the result's network has d = {d}")
    try:
        from .report import write_report

        paths = _paths_json(write_report(result, out_dir, teacher=teacher, X=X, y=y, progress=not args.quiet))
    except ImportError as exc:  # the module or matplotlib missing: not bad input
        print(f"verified-relu report: error: cannot write a report here ({exc})", file=sys.stderr)
        return EXIT_FAIL
    out(f"wrote {paths['html']} and {paths['md']}")
    _emit_json(args, {"files": paths})
    return EXIT_OK


# ----------------------------------------------------------------------------- bench, check
def _bench(args):
    from .bench import run_suite, write_results

    check_out_dir(args.out, "--out", parents=True)  # write_results creates missing parents
    refuse_existing_run(args.out, ("results.json", "results.md"), "--out", args.force)
    results = run_suite(
        args.suite,
        progress=None if args.quiet else sys.stderr,
        workers=args.workers,
        parts=args.parts.split(",") if args.parts else None,
        seeds=args.seeds,
    )
    json_path, md_path = write_results(results, args.out)
    _err(args, f"wrote {json_path} and {md_path}")
    _emit_json(args, {"files": {"json": str(json_path), "md": str(md_path)}})
    return EXIT_OK


def _check(args):
    from proofs_checks.cli import run_from_args

    for option in ("json", "markdown"):
        if getattr(args, option, None):
            check_out_file(getattr(args, option), f"--{option}")
    return run_from_args(args, "verified-relu check")


# ----------------------------------------------------------------------------- parser
class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr, exit status 2."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _common(p, *, json_flag=True):
    p.add_argument("--quiet", action="store_true", help="print nothing on stdout and no progress on stderr")
    if json_flag:
        p.add_argument("--json", action="store_true", help="print one JSON document on stdout (machine-readable)")


_TARGET_HELP = (
    "CSV only: the name of the label column (default: the column named y; a CSV without one "
    "needs --target NAME, else exit status 2)"
)

_EXITS = "exit status: 0 ok, 1 failure reported (or an optional dependency missing), 2 bad usage or input"


class _Formatter(argparse.HelpFormatter):
    """Wrap the description; print the epilog (the example) as written."""

    def _fill_text(self, text, width, indent):
        if text.startswith("example:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _add(sub, name, help, description, example):
    return sub.add_parser(
        name,
        help=help,
        description=description,
        epilog=f"example:\n  {example}\n\n{_EXITS}",
        formatter_class=_Formatter,
    )


def _build_parser():
    from ..instances import FAMILIES
    from ..learners.registry import LEARNERS
    from .data import FORMATS

    METHODS = tuple(LEARNERS)

    parser = _Parser(
        prog="verified-relu",
        description="Learn narrow one-hidden-layer ReLU networks under Gaussian inputs, and check the mathematics.",
        epilog=_EXITS,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = _add(
        sub,
        "demo",
        "run the built-in demonstration",
        "Sample a built-in hard instance (a nearly cancelling close pair), compare its exact population "
        "quantities with estimates from samples, learn it with the fast learner and with CDGKM's learner "
        "(practical profile), and write a report of the CDGKM run.",
        "verified-relu demo --seed 7 --out demo-report",
    )
    demo.add_argument("--d", type=int, default=DEMO_DEFAULTS["d"], help="input dimension (default %(default)s)")
    demo.add_argument("--k", type=int, default=DEMO_DEFAULTS["k"], help="number of neurons (default %(default)s)")
    demo.add_argument(
        "--theta", type=float, default=DEMO_DEFAULTS["theta"], help="angle of the close pair (default %(default)s)"
    )
    demo.add_argument("--seed", type=int, default=DEMO_DEFAULTS["seed"], help="random seed (default %(default)s)")
    demo.add_argument("--n", type=int, default=DEMO_DEFAULTS["n"], help="number of samples (default %(default)s)")
    demo.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help=f"directory of the report (default ./{DEMO_DEFAULTS['out']}/, which a re-run overwrites; "
        "a DIR already holding a report needs --force)",
    )
    demo.add_argument("--force", action="store_true", help="overwrite the report in an existing --out DIR")
    demo.add_argument("--no-report", action="store_true", help="do not write the report")
    _common(demo)
    demo.set_defaults(func=_demo)

    sample = _add(
        sub,
        "sample",
        "write a dataset sampled from an instance family or a network",
        "Draw x ~ N(0, I_d) and y = F(x) (+ noise) from a network of an instance family (its parameters "
        "by --param NAME=VALUE) or from a network JSON.  The format follows OUT: .npz (keys X, y), .csv "
        "(header x0..x{d-1},y) or a directory of X.npy and y.npy.  From a family, the true network is "
        "written too (default OUT's name with .true.json).",
        "verified-relu sample --family close_pair --d 20 --k 4 --param theta=0.05 --n 10000 --out data.npz",
    )
    src = sample.add_argument_group("source (one of)")
    src.add_argument("--family", choices=FAMILIES, help="instance family")
    src.add_argument("--network", help="a network .json/.npz file to sample from")
    sample.add_argument("--d", type=int, help="input dimension (with --family)")
    sample.add_argument("--k", type=int, help="number of neurons (with --family)")
    sample.add_argument("--param", action="append", metavar="NAME=VALUE", help="a family parameter (repeatable)")
    sample.add_argument("--n", type=int, required=True, help="number of samples")
    sample.add_argument("--noise", type=float, default=0.0, help="label noise standard deviation (default 0)")
    sample.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")
    sample.add_argument("--out", required=True, help=f"dataset path; formats {', '.join(FORMATS)}")
    sample.add_argument("--true-out", help="where to write the true network JSON (with --family)")
    _common(sample)
    sample.set_defaults(func=_sample)

    learn = _add(
        sub,
        "learn",
        "learn a network from a dataset",
        "Learn a width-K network from DATA (.npz, .csv, or a directory of X.npy and y.npy) and write "
        "DIR/network.json (for method dk: the improper Hermite predictor's JSON) and DIR/result.json "
        "(the full LearnResult with its trace).  Exit status 1 if the learner reports failure (the "
        "files are still written).  --teacher supplies the true network for the papers' audit "
        "quantities and the exact error; it is never used to learn (except by the oracle gd_population).  "
        "result.json records DATA's path and SHA-256 (diagnostics['training_data']), so that eval can "
        "tell training data from held-out data.  Each method's options (--option NAME=VALUE): "
        "verified-relu learn --method METHOD --list-options.",
        "verified-relu learn data.npz --k 4 --method cdgkm --teacher data.true.json --out run1",
    )
    learn.add_argument("data", metavar="DATA", nargs="?", help="the dataset")
    learn.add_argument("--k", type=int, help="number of neurons (required to learn)")
    learn.add_argument("--method", default="fast", help=f"one of {', '.join(METHODS)} (default %(default)s)")
    learn.add_argument(
        "--out",
        default="learned",
        metavar="DIR",
        help="output directory (default ./%(default)s/); one already holding network.json or result.json needs --force",
    )
    learn.add_argument("--force", action="store_true", help="overwrite the run in an existing --out DIR")
    learn.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")
    learn.add_argument("--teacher", metavar="NET.json", help="true network, for the audit and the exact error")
    learn.add_argument("--target", help=_TARGET_HELP)
    learn.add_argument(
        "--option",
        action="append",
        metavar="NAME=VALUE",
        help="a learner option, e.g. noiseless=true (repeatable; values as JSON; the names, "
        "defaults and meanings: --list-options)",
    )
    learn.add_argument(
        "--list-options",
        action="store_true",
        help="list the options of --method with their defaults and meanings, and exit "
        "(with DATA and --k: the papers' profiles at the data's d and k)",
    )
    _common(learn)
    learn.set_defaults(func=_learn)

    ev = _add(
        sub,
        "eval",
        "evaluate a network on a dataset",
        "Print the MSE of NETWORK (a network .json/.npz, a predictor JSON, or a result.json) on DATA; with "
        "--true, also the exact population error E[(F_true - F)^2] in closed form.  A warning on stderr "
        "when DATA is the data NETWORK was learned from (by the SHA-256 that learn records in result.json): "
        "then the MSE is a training error.",
        "verified-relu eval run1/network.json test.npz --true data.true.json",
    )
    ev.add_argument("network", metavar="NETWORK", help="the network to evaluate")
    ev.add_argument("data", metavar="DATA", help="the dataset (held-out data for a test error)")
    ev.add_argument("--true", metavar="NET.json", help="the true network: print the exact squared L2 error")
    ev.add_argument("--target", help=_TARGET_HELP)
    _common(ev)
    ev.set_defaults(func=_eval)

    ver = _add(
        sub,
        "verify",
        "prove one critical point of the sample loss near a network (Arb balls)",
        "Prove, in ball arithmetic (python-flint), that the least-squares loss of RESULT (a network .json/.npz "
        "or a result.json) on DATA has exactly one critical point in an explicit ball around it, in a region "
        "where no sample changes its activation pattern (Krawczyk's test; docs/rigorous.md).  Prints the "
        "certificate; --out writes it as JSON.  Exit status 1 when the proof fails (the reason is printed).  "
        "Limits: n <= 5000 samples, d <= 12.",
        "verified-relu verify run1/result.json data.npz --out run1/certificate.json",
    )
    ver.add_argument("result", metavar="RESULT", help="the learned network (network.json, .npz or result.json)")
    ver.add_argument("data", metavar="DATA", help="the samples the loss is taken on")
    ver.add_argument("--teacher", metavar="NET.json", help="the true network: enclose the population distance too")
    ver.add_argument("--prec", type=int, default=128, help="working precision in bits (default %(default)s)")
    ver.add_argument("--out", metavar="FILE.json", help="write the certificate (JSON) to this file, atomically")
    ver.add_argument("--target", help=_TARGET_HELP)
    _common(ver)
    ver.set_defaults(func=_verify)

    audit = _add(
        sub,
        "audit",
        "the papers' parameters and sample/time bounds, exactly",
        "Compute, in exact arithmetic (mpmath), the parameter chains of CDGKM23 (CDGKMParams.from_theory), "
        "CN24 (NetlearnParams.from_theory) and DK24 (DKParams.from_theory) and the sample and time bounds "
        "they imply, side by side.",
        "verified-relu audit --d 20 --k 4 --eps 0.1 --R 4",
    )
    audit.add_argument("--d", type=int, required=True, help="input dimension")
    audit.add_argument("--k", type=int, required=True, help="number of neurons")
    audit.add_argument("--eps", type=float, required=True, help="target L2 error")
    audit.add_argument("--R", type=float, required=True, help="bound on ||lambda||_1 (>= 1)")
    audit.add_argument("--delta", type=float, default=0.1, help="failure probability (default %(default)s)")
    audit.add_argument("--dps", type=int, default=30, help="mpmath working digits, 15..1000 (default %(default)s)")
    audit.add_argument("--digits", type=int, default=6, help="significant digits printed, 1..30 (default %(default)s)")
    _common(audit)
    audit.set_defaults(func=_audit)

    rep = _add(
        sub,
        "report",
        "write an HTML/Markdown report of a learning result",
        "Write a report (HTML and Markdown) of RESULT (a result.json written by learn) into DIR "
        "(default: RESULT's directory), with the true network and the data when given.",
        "verified-relu report run1/result.json --teacher data.true.json --data data.npz --out run1",
    )
    rep.add_argument("result", metavar="RESULT", help="result.json of a learning run")
    rep.add_argument(
        "--out",
        metavar="DIR",
        help="output directory (default: RESULT's directory); one already holding a report needs --force",
    )
    rep.add_argument("--force", action="store_true", help="overwrite the report in an existing DIR")
    rep.add_argument("--teacher", metavar="NET.json", help="the true network")
    rep.add_argument("--data", help="the dataset the result was learned from")
    rep.add_argument("--target", help=_TARGET_HELP)
    _common(rep)
    rep.set_defaults(func=_report)

    bench = _add(
        sub,
        "bench",
        "benchmark the fast learner against the baselines",
        "Run the fast learner and the baselines over a grid of instances, computing exact errors; "
        "write results.json and results.md into --out (progress on stderr).",
        "verified-relu bench --suite quick --out bench-results",
    )
    bench.add_argument(
        "--suite",
        default="quick",
        choices=["quick", "full"],
        help="grid to run (default %(default)s; quick: a small grid, Adam at a small fixed epoch budget; full: the whole grid, whose measured wall times are in docs/benchmarks.md)",
    )
    bench.add_argument("--workers", type=int, default=1, help="processes for the full suite (default %(default)s)")
    bench.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="seeds per cell for every part of the full suite (default: docs/benchmarks.md)",
    )
    bench.add_argument(
        "--parts",
        default=None,
        help="comma-separated parts of the full suite (recovery, sample_size, width, speed, noise, adam)",
    )
    bench.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output directory (created if missing); one already holding results.json or results.md needs --force",
    )
    bench.add_argument("--force", action="store_true", help="overwrite the results in an existing --out DIR")
    _common(bench)
    bench.set_defaults(func=_bench)

    check = _add(
        sub,
        "check",
        "run the papers' claims as executable checks",
        "Run the claims of CDGKM23, CN24 and DK24 (and their errata) as checks with evidence; "
        "exit status 1 if any claim fails.",
        "verified-relu check --tier quick --json claims.json",
    )
    from proofs_checks.cli import add_arguments as _check_arguments

    _check_arguments(check)
    check.set_defaults(func=_check)

    from .stability import COLUMNS as _STABILITY_COLUMNS
    from .stability import LIMITS as _STABILITY_LIMITS

    st = _add(
        sub,
        "stability",
        "float64 against mpmath, step by step, on small data",
        "Run the learner's steps in float64 and at --dps digits on the same samples; per step the quantity, "
        "both values, the relative difference, a condition estimate and the digits lost (flagged when float64 "
        "loses 8 or more); then the moment estimators up to degree 40 and known ill-conditioned probes.  "
        f"Limits: {_STABILITY_LIMITS}.  Columns of the table: {_STABILITY_COLUMNS}.",
        "verified-relu stability data.npz --k 3 --dps 50",
    )
    from .stability import add_arguments as _stability_arguments
    from .stability import run as _stability_run

    _stability_arguments(st, common=False)
    _common(st)
    st.set_defaults(func=_stability_run)
    return parser


def main(argv=None):
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors: argparse has printed them
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.func(args)
    except BrokenPipeError:  # stdout closed early (e.g. piped into `head`): not an error of the input
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return EXIT_OK
    except (ValueError, TypeError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"verified-relu {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except ImportError as exc:  # an optional dependency (torch for adam, matplotlib for reports)
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"verified-relu {args.command}: error: {message}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        print(f"verified-relu {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
