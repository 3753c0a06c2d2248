"""Benchmark suites: the fast learner and the baselines on a grid of instances, exact errors.

``verified-relu bench --suite quick --out DIR`` runs :func:`run_suite` and writes
``DIR/results.json`` (every row, with package versions, the machine and the seeds) and
``DIR/results.md`` (a summary table and every row), each atomically.  Progress goes to stderr.

Every error is the exact population quantity: ``squared_distance`` of the learned network to the
true one (closed form) relative to the true ``norm_squared``.  Labels are noiseless, so
``<= 1e-10`` counts as exact recovery.  ``gd_population`` is an oracle baseline (it is given
the true network and minimises the population loss); ``adam`` is skipped, and the files say so,
when PyTorch is not installed.  Timings are wall-clock seconds on the recorded machine.

The quick suite is sized to be short on two cores (its measured wall time is in
docs/benchmarks.md, "Stated durations, measured"): ``n = 5000`` samples, and Adam gets a small
fixed budget, 10 epochs per learning rate of its grid, which the progress output and
``results.md`` state; at that budget Adam is not expected to be exact (the full suite gives it
five times the fast learner's wall time).  The suite runs with one BLAS, OpenMP and torch thread
(:mod:`verified_relu._threads`).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from .._io import atomic_write_text
from .._provenance import jsonable, machine, versions
from .._threads import single_threaded

__all__ = ["SUITES", "run_suite", "write_results"]

#: Exact recovery: the true relative squared L2 error (closed form) is at most this, the
#: learners' own default success threshold on their held-out relative error (``success_tol``,
#: :data:`verified_relu.verdict.DEFAULTS`).
EXACT = 1e-10
#: A success the learner reports counts as false when the true relative error exceeds this, two
#: orders of magnitude above :data:`EXACT`, so that only a clear miss of the threshold counts.
FALSE_SUCCESS = 1e-8

#: suite name -> grid; ``families`` are labels of :func:`verified_relu.instances.grid` ``("paper")``.
#: Seeds: instance ``s``, samples ``1000 + s``, learner ``2000 + s``.  The quick suite's Adam budget is fixed (epochs, not wall time), so its rows do not depend on
#: the machine's speed; it runs on one torch thread (see :func:`run_suite`).
SUITES = {
    "quick": {
        "families": ("random", "close_pair", "orthonormal"),
        "d": 8,
        "k": (2, 3),
        "seeds": (0, 1, 2),
        "n": 5000,
        "methods": {
            "fast": {"noiseless": True},
            "tensor": {},
            "gd_population": {"lr": 0.1},
            "adam": {"epochs": 10, "batch_size": 256, "lr_grid": (1e-3, 3e-3, 1e-2)},
        },
    }
}


def adam_budget(options):
    """One line stating the Adam budget of a suite's ``options`` (``SUITES[name]["methods"]["adam"]``)."""
    grid = ", ".join(f"{lr:g}" for lr in options["lr_grid"])
    return (
        f"adam: fixed budget of {options['epochs']} epochs per learning rate of ({grid}), batch "
        f"{options['batch_size']}, one torch thread; a small budget that keeps the suite short, not a "
        f"tuned Adam (the full suite gives Adam 5x the fast learner's wall time)"
    )


def _have_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def run_suite(name="quick", *, progress=sys.stderr, workers=1, parts=None, seeds=None):
    """Run a suite; returns the JSON-ready results dict (``rows`` plus provenance).

    Parameters
    ----------
    name : str
        A key of :data:`SUITES`, or ``"full"`` (:mod:`verified_relu.bench_full`).
    progress : file-like or None
        Where a line per run is written (None: silent).
    workers : int
        Processes for the full suite (the quick suite runs in this process).
    parts : iterable of str or None
        The parts of the full suite to run (default all).
    seeds : int or None
        Seeds per cell for every part of the full suite (default: those of ``bench_full.FULL``).
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"bench: workers must be an int >= 1, got {workers!r}")
    if seeds is not None and (isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1):
        raise ValueError(f"bench: seeds must be an int >= 1, got {seeds!r}")
    if name == "full":
        return _run_full(workers=workers, progress=progress, parts=parts, seeds=seeds)
    if name not in SUITES:
        raise ValueError(f"bench: suite must be one of {sorted(SUITES) + ['full']}, got {name!r}")
    suite = SUITES[name]
    torch_ok = _have_torch()
    threads = None
    if torch_ok:
        import torch

        # one torch thread (and one BLAS thread, below): the products are small, and a pool beside
        # other work on a small machine spin-waits (and slows Adam's epochs down many times over)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
    try:
        with single_threaded():
            rows = _run_grid(suite, torch_ok, progress)
    finally:
        if threads is not None:
            torch.set_num_threads(threads)
    return {
        "suite": name,
        "grid": {key: value for key, value in suite.items() if key != "methods"},
        "options": {m: dict(o) for m, o in suite["methods"].items()},
        "adam_budget": adam_budget(suite["methods"]["adam"]) if "adam" in suite["methods"] else None,
        "seeds": {"instance": "s", "samples": "1000 + s", "learner": "2000 + s", "values": list(suite["seeds"])},
        "exact_threshold": EXACT,
        "noise": 0.0,
        "versions": versions("torch"),
        "machine": machine(),
        "rows": rows,
    }


def _run_grid(suite, torch_ok, progress):
    from .. import instances
    from ..learners import learn
    from ..metrics import relative_error

    rows = []
    families = {label: (family, params) for label, family, params in instances.grid("paper", suite["families"])}
    grid = [(f, k, s) for f in suite["families"] for k in suite["k"] for s in suite["seeds"]]
    total = len(grid) * len(suite["methods"])
    if progress is not None and "adam" in suite["methods"]:
        print(
            adam_budget(suite["methods"]["adam"]) if torch_ok else "adam: skipped, torch is not installed",
            file=progress,
            flush=True,
        )
    count = 0
    for family, k, seed in grid:
        d = suite["d"]
        net = instances.make(families[family][0], d, k, rng=seed, **families[family][1])
        X, y = net.sample(suite["n"], rng=1000 + seed)
        for method, options in suite["methods"].items():
            count += 1
            row = {"family": family, "d": d, "k": k, "seed": seed, "method": method}
            if method == "adam" and not torch_ok:
                row.update(status="skipped", message="torch is not installed")
            else:
                opts = dict(options, teacher=net) if method == "gd_population" else dict(options)
                t0 = time.perf_counter()
                res = learn(X, y, k, method=method, rng=2000 + seed, **opts)
                seconds = time.perf_counter() - t0
                rel = relative_error(net, res.network)
                row.update(
                    status="ran",
                    relative_error=rel,
                    exact=rel <= EXACT,
                    success=bool(res.success),
                    seconds=seconds,
                    message=res.message,
                )
            rows.append(row)
            if progress is not None:
                err = f"{row['relative_error']:.2e}" if row["status"] == "ran" else "skipped"
                print(f"[{count}/{total}] {family} d={d} k={k} seed={seed} {method}: {err}", file=progress, flush=True)
    return rows


def _run_full(*, workers, progress, parts, seeds, config=None):
    from . import bench_full

    torch_ok = _have_torch()
    if parts is not None:
        unknown = sorted(set(parts) - set(bench_full.FULL))
        if unknown:
            raise ValueError(f"bench: parts must be among {sorted(bench_full.FULL)}, got {unknown}")
    config = bench_full.FULL if config is None else config
    if seeds is not None:
        config = bench_full.with_seeds(config, seeds)
    t0 = time.perf_counter()
    rows = bench_full.run_full(workers=workers, progress=progress, parts=parts, have_torch=torch_ok, config=config)
    return {
        "suite": "full",
        "config": config,
        "parts": sorted(bench_full.FULL) if parts is None else sorted(parts),
        "seeds": {"instance": "s", "samples": "1000 + s", "learner": "2000 + s", "adam": "3000 + s"},
        "exact_threshold": EXACT,
        "noise": 0.0,
        "adam": "ran" if torch_ok else "skipped: torch is not installed",
        "versions": versions("torch"),
        "machine": machine(),
        "workers": workers,
        "wall_seconds": time.perf_counter() - t0,
        "rows": rows,
    }


def _markdown(results):
    lines = [
        f"# verified-relu benchmark: suite {results['suite']}",
        "",
        (
            f"Grid: {json.dumps(results['grid'])}; noiseless labels.  Error: exact relative squared L2 distance "
            f"(closed form) of the learned network to the true one; exact = error <= {results['exact_threshold']:g}.  "
            "gd_population is an oracle baseline (it is given the true network)."
        ),
        "",
        *([f"Adam: {results['adam_budget'].removeprefix('adam: ')}.", ""] if results.get("adam_budget") else []),
        f"Versions: {json.dumps(results['versions'])}",
        "",
        f"Machine: {json.dumps(results['machine'])}",
        "",
        "| method | family | runs | exact | median error | max error | mean seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = results["rows"]
    for method in results["options"]:
        for family in results["grid"]["families"]:
            sel = [r for r in rows if r["method"] == method and r["family"] == family and r["status"] == "ran"]
            if not sel:
                lines.append(f"| {method} | {family} | 0 | - | skipped | - | - |")
                continue
            errs = np.array([r["relative_error"] for r in sel])
            lines.append(
                f"| {method} | {family} | {len(sel)} | {sum(r['exact'] for r in sel)} | {np.median(errs):.2e} | "
                f"{errs.max():.2e} | {np.mean([r['seconds'] for r in sel]):.2f} |"
            )
    lines += [
        "",
        "## All runs",
        "",
        "| family | k | seed | method | error | success flag | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["status"] == "ran":
            lines.append(
                f"| {r['family']} | {r['k']} | {r['seed']} | {r['method']} | {r['relative_error']:.2e} | "
                f"{r['success']} | {r['seconds']:.2f} |"
            )
        else:
            lines.append(
                f"| {r['family']} | {r['k']} | {r['seed']} | {r['method']} | {r['status']} ({r['message']}) | - | - |"
            )
    return "\n".join(lines) + "\n"


def write_results(results, out):
    """Write ``results.json`` and ``results.md`` into the directory ``out`` (created if needed), atomically."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"bench: --out must be a directory, {str(out)!r} is a file")
    out.mkdir(parents=True, exist_ok=True)
    if results["suite"] == "full":
        from . import bench_full

        bench_full.plot_full(results, out)
        text = (
            "# verified-relu benchmark: suite full\n\n"
            f"Versions: {json.dumps(results['versions'])}\n\nMachine: {json.dumps(results['machine'])}, "
            f"{results['workers']} worker(s), {results['wall_seconds']:.0f} s wall.  Adam: {results['adam']}.\n\n"
            "![success rate against n](success_vs_n.png)\n\n![error against wall time](error_vs_time.png)\n\n"
            + bench_full.markdown_full(jsonable(results))
        )
    else:
        text = _markdown(results)
    json_path = atomic_write_text(out / "results.json", json.dumps(jsonable(results), indent=1) + "\n")
    md_path = atomic_write_text(out / "results.md", text)
    return json_path, md_path
