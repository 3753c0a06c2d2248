"""Speed of the fast learner against its floor, and where the time goes.

    python3 benchmarks/bench_speed.py [--seeds 5] [--cells d100 k20] [--cap 600] [--out DIR]

Cells (random family, noiseless labels, ``n = 50 d k`` unless stated):

* ``d100``: ``d = 100, k = 5, n = 50 000``, the default options, and the same runs with
  ``search_rows=0`` (the large-sample mode off: every problem on every row), for comparison;
* ``k20``: ``d = 20, k = 20, n = 20 000`` (the large-sample mode does not apply: the subspace is
  the whole space);
* ``ablation``: the ``d100`` cell with the defaults and with one of two speed-ups undone, each
  by setting a private constant for the run (``internals``, restored after it):
  ``verified_relu._lm.FEW_PARAMETERS = 0`` (every Levenberg-Marquardt run with the BLAS pool as
  the environment sets it, instead of one thread for runs of at most 200 parameters) and
  ``verified_relu.learners.fast._SEARCH_ROUND_PATIENCE = 3`` (a large-sample round ends after three
  steps in a row that gain less than a thousandth, instead of one);
* ``noisy``: the ``d100`` cell with labels ``F(x) + 0.01 N(0, 1)`` (noise seed ``s``), learned
  without ``noiseless``, with and without the mode; each run also records its excess risk
  ``||F - G||^2`` (closed form) over ``sigma^2 p / n_fit``, ``p = k (d + 1) + d`` and ``n_fit``
  the samples fitted (the training fold: 80% of ``n`` by default).

For each seed ``s < seeds``, and within a seed each row of the cell in turn (so that a drift of
the machine's speed falls on every row alike): the network ``instances.make("random", d, k, rng=s)``, samples from
seed ``1000 + s``, learner seed ``s``.  Each run is timed alone in this process (BLAS threads as
the environment sets them; on the project's machine 2).  The *floor* is one pass over the data,
``X @ W.T`` with the run's own samples and true weights, the median of 20 timings taken in the
same process just before each run (a shared machine's speed drifts between runs); each run's time
is also given as a multiple of its floor, and the table gives the median of those ratios.  A run that does not finish within
``--cap`` seconds is recorded as capped.  After the timed runs, seed 0 of each cell is run once
more under ``cProfile``, and the cumulative time of each of the learner's stages is reported
(stages nest: ``resubspace`` contains starts and refinements of its own).

Exact means the relative squared error to the true network, in closed form, is at most 1e-10; a
false success is a reported success above 1e-8.  Results go to ``DIR/speed.json`` and
``DIR/speed.md``.
"""

import argparse
import contextlib
import cProfile
import importlib
import json
import os
import pstats
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import capped

CELLS = {
    "d100": [("random", 100, 5, 50_000, {}), ("random", 100, 5, 50_000, {"search_rows": 0})],
    "k20": [("random", 20, 20, 20_000, {})],
    "ablation": [
        ("random", 100, 5, 50_000, {}),
        ("random", 100, 5, 50_000, {"internals": {"verified_relu._lm.FEW_PARAMETERS": 0}}),
        ("random", 100, 5, 50_000, {"internals": {"verified_relu.learners.fast._SEARCH_ROUND_PATIENCE": 3}}),
    ],
    # label noise sd 1e-2 (the learner not told noiseless): time and excess risk over sigma^2 p / n_fit
    "noisy": [
        ("random", 100, 5, 50_000, {"sigma": 1e-2}),
        ("random", 100, 5, 50_000, {"sigma": 1e-2, "search_rows": 0}),
    ],
}

#: The learner's stage functions whose cumulative time the profile reports, with their names.
STAGES = [
    ("canonical_order", "row order (hash sort)"),
    ("_subspace", "stage 2: subspace (moments)"),
    ("_subspace_fit", "stage 3: starts inside a subspace (all calls)"),
    ("_refine", "stage 4: refinement (all calls)"),
    ("_resubspace", "stage 4b: re-subspace"),
    ("_merge_and_reseed", "stage 5: reseed"),
    ("_hop", "stage 5b: hops"),
    ("_prune", "stage 6b: prune"),
    ("_judge", "stage 8: verdict and certificates"),
    ("permutation_pvalue", "verdict: permutation test"),
]


def _floor(X, W):
    import numpy as np

    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        X @ W.T
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


@contextlib.contextmanager
def _internals(settings):
    """Set ``{"package.module.NAME": value}`` for the block; the old values come back after it."""
    old = []
    try:
        for path, value in settings.items():
            module, name = path.rsplit(".", 1)
            mod = importlib.import_module(module)
            if not hasattr(mod, name):
                raise ValueError(f"internals: {module} has no {name}")
            old.append((mod, name, getattr(mod, name)))
            setattr(mod, name, value)
        yield
    finally:
        for mod, name, value in reversed(old):
            setattr(mod, name, value)


def _run(family, d, k, n, options, seed, cap):
    import numpy as np

    from verified_relu import instances, learn
    from verified_relu.app.bench import EXACT
    from verified_relu.app.bench import FALSE_SUCCESS as FALSE
    from verified_relu.metrics import relative_error

    options = dict(options)
    sigma = options.pop("sigma", 0.0)
    internals = options.pop("internals", {})
    net = instances.make(family, d, k, rng=seed)
    X, y = net.sample(n, rng=1000 + seed)
    if sigma:
        y = y + sigma * np.random.default_rng(seed).standard_normal(n)
    floor = _floor(X, net.weights)
    with _internals(internals):
        res, seconds = capped(cap, learn, X, y, k, rng=seed, noiseless=not sigma, **options)
    if res is None:
        return {"seed": seed, "seconds": seconds, "floor": floor, "capped": True}
    rel = relative_error(net, res.network)
    return {
        "seed": seed,
        "seconds": seconds,
        "floor": floor,
        "capped": False,
        "relative_error": rel,
        "exact": bool(rel <= EXACT),
        "success": bool(res.success),
        "false_success": bool(res.success and rel > FALSE),
        "attempts": res.diagnostics.get("attempts"),
        **({"risk_over_rate": _risk_over_rate(net, res, sigma, k, d, n)} if sigma else {}),
    }


def _risk_over_rate(net, res, sigma, k, d, n):
    """Excess risk ``||F - G||^2`` (closed form) over ``sigma^2 p / n_fit``: ``p = k (d + 1) + d``
    the learner's parameters and ``n_fit`` the samples it fitted (its training fold, from the
    diagnostics; all ``n`` when it does not say)."""
    n_fit = (res.diagnostics or {}).get("n_train") or n
    return net.squared_distance(res.network) / (sigma**2 * (k * (d + 1) + d) / n_fit)


def _profile(family, d, k, n, options):
    from verified_relu import instances, learn

    net = instances.make(family, d, k, rng=0)
    X, y = net.sample(n, rng=1000)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    learn(X, y, k, rng=0, noiseless=True, **options)
    prof.disable()
    total = time.perf_counter() - t0
    stats = pstats.Stats(prof).stats
    out = {"total": total, "stages": {}}
    for name, label in STAGES:
        cum = [(v[1], v[3]) for key, v in stats.items() if key[2] == name]
        if cum:
            out["stages"][label] = {"calls": sum(c for c, _ in cum), "seconds": sum(s for _, s in cum)}
    return out


def _quality(runs, done):
    """``exact / runs | false successes`` for noiseless runs; for noisy ones ``successes / runs`` and
    the median excess risk over ``sigma^2 p / n_fit`` (no run is exact on noisy labels)."""
    if any("risk_over_rate" in r for r in done):
        med = statistics.median(r["risk_over_rate"] for r in done)
        return f"noisy: {sum(r['success'] for r in done)}/{len(runs)} succeed | risk / (sigma^2 p / n_fit): median {med:.2f}"
    return f"{sum(r['exact'] for r in done)}/{len(runs)} | {sum(r['false_success'] for r in done)}"


def markdown(cells, meta):
    lines = [
        f"{meta['summary']}; BLAS threads: {meta['threads']}; seeds 0..{meta['seeds'] - 1}; cap {meta['cap']} s",
        "",
        "| cell | options | n | median floor (ms) | median s | min s | max s | median of s / floor | exact | false successes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        runs = c["runs"]
        done = [r for r in runs if not r["capped"]]
        secs = [r["seconds"] for r in runs]
        med = statistics.median(secs)
        ratio = statistics.median(r["seconds"] / r["floor"] for r in runs)
        floor = statistics.median(r["floor"] for r in runs)
        capped_note = f" ({len(runs) - len(done)} capped)" if len(done) < len(runs) else ""
        lines.append(
            f"| {c['family']} d={c['d']} k={c['k']} | {json.dumps(c['options']) if c['options'] else 'defaults'} "
            f"| {c['n']} | {floor * 1e3:.2f} | {med:.2f}{capped_note} | {min(secs):.2f} | {max(secs):.2f} "
            f"| {ratio:.0f} | {_quality(runs, done)} |"
        )
    for c in cells:
        p = c.get("profile")
        if not p:
            continue
        lines += [
            "",
            f"Profile, {c['family']} d={c['d']} k={c['k']} n={c['n']} "
            f"{json.dumps(c['options']) if c['options'] else 'defaults'}, seed 0 under cProfile: {p['total']:.2f} s",
            "",
            "| stage | calls | cumulative s | share |",
            "|---|---|---|---|",
        ]
        for label, s in p["stages"].items():
            lines.append(f"| {label} | {s['calls']} | {s['seconds']:.2f} | {s['seconds'] / p['total']:.0%} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--cells", nargs="+", choices=sorted(CELLS), default=["d100", "k20"])
    ap.add_argument("--cap", type=float, default=600.0, help="seconds per run (0: none)")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--out", default="out/bench_speed")
    args = ap.parse_args(argv)
    if args.seeds < 1:
        ap.error("--seeds must be at least 1")
    if args.cap < 0:
        ap.error("--cap must be >= 0")
    os.makedirs(args.out, exist_ok=True)

    from verified_relu._provenance import machine, summary, versions

    meta = {
        "summary": summary(),
        "machine": machine(),
        "versions": versions(),
        "threads": os.environ.get("OPENBLAS_NUM_THREADS", "unset (library default)"),
        "seeds": args.seeds,
        "cap": args.cap,
    }
    cells = []
    t_start = time.perf_counter()
    for name in args.cells:
        rows = [{"family": f, "d": d, "k": k, "n": n, "options": o, "runs": []} for f, d, k, n, o in CELLS[name]]
        for s in range(args.seeds):
            for cell in rows:
                r = _run(cell["family"], cell["d"], cell["k"], cell["n"], cell["options"], s, args.cap)
                cell["runs"].append(r)
                status = "capped" if r["capped"] else f"relative error {r['relative_error']:.1e}"
                print(
                    f"[speed] {name} {cell['options'] or ''} seed {s}: {r['seconds']:.2f} s "
                    f"({r['seconds'] / r['floor']:.0f} floors), {status} "
                    f"({time.perf_counter() - t_start:.0f} s so far)",
                    file=sys.stderr,
                    flush=True,
                )
        for cell in rows:
            if not args.no_profile and not cell["options"] and name not in ("noisy", "ablation"):
                cell["profile"] = _profile(cell["family"], cell["d"], cell["k"], cell["n"], cell["options"])
            cells.append(cell)
    tmp = os.path.join(args.out, "speed.json.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"meta": meta, "cells": cells}, fh, indent=1)
    os.replace(tmp, os.path.join(args.out, "speed.json"))
    text = markdown(cells, meta)
    tmp = os.path.join(args.out, "speed.md.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, os.path.join(args.out, "speed.md"))
    print(text)


if __name__ == "__main__":
    main()
