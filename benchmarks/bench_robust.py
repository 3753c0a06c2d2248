"""Robustness of the fast learner: exact-recovery rate over seeds and label/row perturbations.

    python3 benchmarks/bench_robust.py [--d 8 20] [--k 2 4 6] [--seeds 20] [--workers 2] [--out DIR]
    python3 benchmarks/bench_robust.py --cases FILE [--workers 2] [--out DIR]

For every built-in family (default parameters, plus close_pair at theta = 0.01 and 0.1 and
ill_conditioned at cond = 1e3), each ``(d, k)`` the family supports, and instance seeds
``s < seeds`` (samples from seed ``1000 + s``, ``n = 50 d k``, learner seed ``s``,
``noiseless=True``), two variants of the same data are learned:

* ``base``: the samples as drawn;
* ``ulp``: every label moved by one unit in the last place (``numpy.nextafter`` towards +inf).

(A third variant, the rows permuted, is no longer run: every learner puts the rows in a canonical
order first, so a permutation gives the same result bit for bit; ``tests/learners/test_row_order.py``
checks that for every method.)

A run is *exact* when the true relative squared error ``squared_distance / norm_squared``,
computed in closed form from the true network, is at most 1e-10.  A run is *determined* unless a
certificate shows that the sample does not determine the true network:
:func:`verified_relu.identifiability.sample_certificate` on the true network (a second network that
fits every sample as well and differs in population by more than 1e-10 relative: a move of a close
pair that no sample sees, :func:`~verified_relu.identifiability.ambiguous_pair`, or a refit on all
samples from the pair's rows perturbed), or the learned network itself when it fits every sample to
a relative 1e-24 while differing from the truth by more than 1e-10.  The table gives, per cell,
exact / determined runs with a 95% Clopper-Pearson lower bound, the false successes (the learner
reports success and the true error exceeds 1e-8), on all runs and on the determined ones, and the
median and largest seconds per run.  A separate cell repeats the reported ``dk_cancel`` case:
``d = 6, k = 3, theta = 0.1``, ``n = 3000``, 20 learner seeds on one data set.

Each worker process uses one BLAS thread.  Results go to ``DIR/robust.json`` and
``DIR/robust.md``.  ``--cases FILE`` re-runs only the runs listed in ``FILE`` (for instance the
determined, non-exact rows of an earlier run's ``robust.partial.jsonl``), with the same data and
seeds.
"""

import argparse
import json
import multiprocessing
import os
import sys
import time

# one BLAS thread per worker: set before numpy is first imported (OpenBLAS reads it once, and the
# workers inherit the parent's thread pool); _run also limits it with threadpoolctl
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench_fast, beside this file
from bench_fast import FAMILIES as _FAST_FAMILIES

#: bench_fast's families, and dk_cancel
FAMILIES = [*_FAST_FAMILIES, ("dk_cancel", {})]
from verified_relu._provenance import summary, versions
from verified_relu.app.bench import EXACT
from verified_relu.app.bench import FALSE_SUCCESS as FALSE


def _run(task):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _run_one(task)


def _run_one(task):
    import numpy as np

    from verified_relu import instances, learn
    from verified_relu.identifiability import sample_certificate
    from verified_relu.metrics import relative_error

    family, params, d, k, n, seed, data_seed, variant, learner_seed = task
    net = instances.make(family, d, k, rng=seed, **params)
    X, y = net.sample(n, rng=data_seed)
    if variant == "ulp":
        y = np.nextafter(y, np.inf)
    undetermined = sample_certificate(net, X, y, EXACT) is not None
    t0 = time.perf_counter()
    res = learn(X, y, k, rng=learner_seed, noiseless=True)
    seconds = time.perf_counter() - t0
    rel = relative_error(net, res.network)
    # the learned network is itself a certificate when it fits every sample as well as the truth
    # does (to rounding) and still differs from it in population
    fits_all = float(np.mean((res.network(X) - y) ** 2)) <= 1e-24 * float(np.mean(y * y))
    if fits_all and rel > EXACT:
        undetermined = True
    return {
        "family": family,
        "params": params,
        "d": d,
        "k": k,
        "n": n,
        "seed": seed,
        "variant": variant,
        "learner_seed": learner_seed,
        "relative_error": rel,
        "exact": bool(rel <= EXACT),
        "success": bool(res.success),
        "false_success": bool(res.success and rel > FALSE),
        "determined": not undetermined,
        "attempts": res.diagnostics.get("attempts"),
        "seconds": seconds,
    }


def _tasks(ds, ks, seeds, families):
    from verified_relu import instances

    tasks = []
    for family, params in FAMILIES:
        if families and family not in families:
            continue
        for d in ds:
            for k in ks:
                if not instances.supports(family, d, k):
                    continue
                for s in range(seeds):
                    for variant in ("base", "ulp"):
                        tasks.append((family, params, d, k, 50 * d * k, s, 1000 + s, variant, s))
    if not families or "dk_cancel" in families:
        for s in range(20):  # the reported dk_cancel case: one data set, 20 learner seeds
            tasks.append(("dk_cancel", {"theta": 0.1}, 6, 3, 3000, 0, 1, "base", s))
    # seed by seed across all cells: an interrupted run (robust.partial.jsonl) covers every cell
    tasks.sort(key=lambda t: (t[8], t[2], t[3]))
    return tasks


#: The fields a row of ``--cases`` must give; ``n``, ``data_seed`` and ``learner_seed`` default to
#: ``50 d k``, ``1000 + seed`` and ``seed``, as in the full run.
CASE_FIELDS = ("family", "params", "d", "k", "seed", "variant")


def _cases(path):
    """Tasks for the runs listed in ``path``: JSON lines (a previous run's ``robust.partial.jsonl``,
    filtered as one likes) or a ``robust.json``; each row gives :data:`CASE_FIELDS`."""
    with open(path) as fh:
        text = fh.read()
    try:
        doc = json.loads(text)
        rows = doc["rows"] if isinstance(doc, dict) and "rows" in doc else [doc]  # robust.json, or one line
    except json.JSONDecodeError:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    tasks = []
    for i, row in enumerate(rows, 1):
        missing = [f for f in CASE_FIELDS if f not in row]
        if missing:
            raise SystemExit(f"bench_robust: --cases {path}: row {i} lacks {', '.join(missing)}")
        if row["variant"] not in ("base", "ulp"):
            raise SystemExit(
                f"bench_robust: --cases {path}: row {i}: variant must be base or ulp, got {row['variant']!r}"
            )
        d, k, seed = int(row["d"]), int(row["k"]), int(row["seed"])
        tasks.append(
            (
                row["family"],
                dict(row["params"]),
                d,
                k,
                int(row.get("n", 50 * d * k)),
                seed,
                int(row.get("data_seed", 1000 + seed)),
                row["variant"],
                int(row.get("learner_seed", seed)),
            )
        )
    return tasks


def clopper_pearson_lower(successes, trials, confidence=0.95):
    from scipy.stats import beta

    if trials == 0:
        return float("nan")
    return 0.0 if successes == 0 else float(beta.ppf(1 - confidence, successes, trials - successes + 1))


def _cell_key(r):
    label = r["family"] + "".join(f" {k}={v:g}" for k, v in r["params"].items())
    return label, r["d"], r["k"], r["n"]


def markdown(rows, meta):
    cells = {}
    for r in rows:
        cells.setdefault(_cell_key(r), []).append(r)
    lines = [
        (
            "| family | d | k | n | runs | determined | exact / determined | 95% lower bound "
            "| false successes (determined) | false successes (all) | median s | max s | max attempts |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    tot_det = tot_exact = tot_false = tot_dfalse = 0
    for (label, d, k, n), rs in sorted(cells.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        det = [r for r in rs if r["determined"]]
        ex = sum(r["exact"] for r in det)
        false = sum(r["false_success"] for r in rs)
        dfalse = sum(r["false_success"] for r in det)
        tot_det, tot_exact, tot_false, tot_dfalse = (
            tot_det + len(det),
            tot_exact + ex,
            tot_false + false,
            tot_dfalse + dfalse,
        )
        secs = sorted(r["seconds"] for r in rs)
        lines.append(
            f"| {label} | {d} | {k} | {n} | {len(rs)} | {len(det)} | {ex}/{len(det)} | "
            f"{clopper_pearson_lower(ex, len(det)):.3f} | {dfalse} | {false} | "
            f"{secs[len(secs) // 2]:.2f} | {secs[-1]:.1f} | {max(r['attempts'] or 1 for r in rs)} |"
        )
    secs = sorted(r["seconds"] for r in rows)
    lines.append(
        f"| **all** | | | | {len(rows)} | {tot_det} | {tot_exact}/{tot_det} | "
        f"{clopper_pearson_lower(tot_exact, tot_det):.4f} | {tot_dfalse} | {tot_false} | "
        f"{secs[len(secs) // 2]:.2f} | {secs[-1]:.1f} | |"
    )
    head = [
        f"Machine: {meta['machine']}; Python {meta['python']}, numpy {meta['numpy']}; "
        f"workers {meta['workers']} (one BLAS thread each); wall time {meta['seconds']:.0f} s; "
        f"command: `{meta['command']}`.",
        "",
    ]
    return "\n".join(head + lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--d", type=int, nargs="+", default=[8])
    ap.add_argument("--k", type=int, nargs="+", default=[2, 4, 6])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--families", nargs="*", default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="bench_robust_out")
    ap.add_argument("--summarize", metavar="JSONL", help="only print the table of a partial run's rows")
    ap.add_argument(
        "--cases",
        metavar="FILE",
        help="re-run only the runs listed in FILE (JSON lines, e.g. rows of a previous robust.partial.jsonl, "
        "or a robust.json); --d, --k, --seeds and --families are then ignored",
    )
    args = ap.parse_args(argv)

    if args.summarize:
        with open(args.summarize) as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
        print(
            markdown(
                rows,
                {
                    "machine": "see the run",
                    "python": versions()["python"],
                    "numpy": versions()["numpy"],
                    "workers": args.workers,
                    "seconds": float(sum(r["seconds"] for r in rows)),
                    "command": "(partial run; seconds = summed run time)",
                },
            )
        )
        return

    tasks = _cases(args.cases) if args.cases else _tasks(args.d, args.k, args.seeds, args.families)
    t0 = time.perf_counter()
    rows = []
    os.makedirs(args.out, exist_ok=True)
    partial = open(os.path.join(args.out, "robust.partial.jsonl"), "w")  # one row a line, as runs finish
    with multiprocessing.Pool(args.workers) as pool:
        for i, row in enumerate(pool.imap_unordered(_run, tasks), 1):
            rows.append(row)
            partial.write(json.dumps(row) + "\n")
            partial.flush()
            if i % 20 == 0 or i == len(tasks):
                print(
                    f"[bench_robust] {i}/{len(tasks)} runs, {time.perf_counter() - t0:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
    meta = {
        "machine": summary(),
        "python": versions()["python"],
        "numpy": versions()["numpy"],
        "workers": args.workers,
        "seconds": time.perf_counter() - t0,
        "command": "python3 benchmarks/bench_robust.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    partial.close()
    with open(os.path.join(args.out, "robust.json"), "w") as fh:
        json.dump({"meta": meta, "rows": rows}, fh, indent=1)
    text = markdown(rows, meta)
    with open(os.path.join(args.out, "robust.md"), "w") as fh:
        fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
