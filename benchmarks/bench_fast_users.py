"""The fast learner where users run it: noisy labels (the noise-floor stop) and a k that is too large.

    python3 benchmarks/bench_fast_users.py [--part noise width] [--seeds 5] [--cap 120] [--workers 2]
        [--json FILE]

``noise``: the random family at ``d`` in {8, 20}, ``k`` in {2, 4, 6}, ``n = 50 d k``, labels
``F(x) + sigma N(0, 1)`` with sigma in {1e-3, 1e-1}; instance seed s, sample seed 1000 + s,
learner seed s.  On the same data, one after the other in the same process: ``fast`` (defaults;
not ``noiseless``) and ``cdgkm`` (practical profile).  Recorded: each one's wall time, its excess
risk ``||F - G||^2`` (closed form, ``squared_distance``) and that risk over ``sigma^2 p / n_fit``
with ``p`` the fitted network's own parameter count (``k' (d + 1)``, plus ``d`` with a linear term)
and ``n_fit`` the samples it was fitted on (the fast learner's training fold); least squares on a
well-specified model has expected excess risk about ``sigma^2 p / n_fit``.  The targets: fast's
time at most cdgkm's, and the risk ratio at most 1.3.

``width``: labels of a width-3 random network, ``d = 12``, ``n = 50 d k`` at the largest ``k``
(one data set per seed for every ``k``), noiseless and with sigma = 1e-3; the fast learner at
``k`` in {3, 5, 12}.  Recorded: the width returned, whether the message says which width suffices,
the time, and its ratio to the run with the right ``k`` on the same data.  The target: at most 2.

Every learner run has a wall-time cap (``--cap`` seconds; cdgkm's search on labels with
sigma = 0.1 can run for minutes): a run stopped there is recorded with its time as a lower bound
("> cap") and no error.  Worker processes use one BLAS thread each; records stream to the JSON
file's ``.partial.jsonl`` as they finish; a false success (success with a true relative error above
1e-8 on noiseless labels) is counted in every part.
"""

import argparse
import json
import os
import statistics
import sys
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, ROOT)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the scripts' shared helpers

from _common import capped, collect

from verified_relu._provenance import summary, versions

NOISE = {"d": (8, 20), "k": (2, 4, 6), "sigma": (1e-3, 1e-1)}
WIDTH = {"d": 12, "k_true": 3, "k": (3, 5, 12), "sigma": (0.0, 1e-3)}


def _params_count(network):
    return network.k * (network.d + 1) + (network.d if network.linear is not None and any(network.linear) else 0)


def run_noise(task):
    from verified_relu import instances, learn

    d, k, sigma, s = task["d"], task["k"], task["sigma"], task["seed"]
    net = instances.make("random", d, k, rng=s)
    n = 50 * d * k
    X, y = net.sample(n, rng=1000 + s, noise=sigma)
    rec = dict(task, n=n)
    for method in ("fast", "cdgkm"):
        t0 = time.perf_counter()
        try:
            res, seconds = capped(task["cap"], learn, X, y, k, method=method, rng=s)
        except Exception as exc:  # recorded, never dropped
            rec[method] = {"error": f"{type(exc).__name__}: {exc}", "seconds": time.perf_counter() - t0}
            continue
        if res is None:
            rec[method] = {"error": None, "capped": True, "seconds": seconds}
            continue
        risk = float(net.squared_distance(res.network))
        n_fit = int(res.diagnostics.get("n_train") or n - int(res.diagnostics.get("n_verdict", 0)))
        p = _params_count(res.network)
        rec[method] = {
            "seconds": seconds,
            "excess_risk": risk,
            "risk_ratio": risk / (sigma**2 * p / n_fit),
            "p": p,
            "n_fit": n_fit,
            "success": bool(res.success),
            "width": int(res.network.k),
            "error": None,
            "capped": False,
            "noise_floor": any(
                st.name == "reseed" and st.data.get("noise_floor") for st in res.trace if hasattr(st, "data")
            ),
        }
    return rec


def run_width(task):
    from verified_relu import instances, learn
    from verified_relu.metrics import relative_error

    d, kt, sigma, s = WIDTH["d"], WIDTH["k_true"], task["sigma"], task["seed"]
    net = instances.make("random", d, kt, rng=s)
    n = 50 * d * max(WIDTH["k"])
    X, y = net.sample(n, rng=1000 + s, noise=sigma)
    rec = dict(task, n=n, runs={})
    for k in WIDTH["k"]:
        res, seconds = capped(task["cap"], learn, X, y, k, rng=s, noiseless=sigma == 0)
        if res is None:
            rec["runs"][str(k)] = {"seconds": seconds, "capped": True}
            continue
        rel = float(relative_error(net, res.network))
        rec["runs"][str(k)] = {
            "seconds": seconds,
            "width": int(res.network.k),
            "says_suffices": f"k = {res.network.k} suffices" in res.message,
            "success": bool(res.success),
            "relative_error": rel,
            "false_success": bool(sigma == 0 and res.success and rel > 1e-8),
            "capped": False,
            "verdict": res.diagnostics["verdict"]["reason"],
        }
    return rec


def _run(task):
    return run_noise(task) if task["part"] == "noise" else run_width(task)


def tasks(parts, seeds, cap=120.0):
    out = []
    if "noise" in parts:
        for d in NOISE["d"]:
            for k in NOISE["k"]:
                for sigma in NOISE["sigma"]:
                    out += [{"part": "noise", "d": d, "k": k, "sigma": sigma, "seed": s} for s in range(seeds)]
    if "width" in parts:
        for sigma in WIDTH["sigma"]:
            out += [{"part": "width", "sigma": sigma, "seed": s} for s in range(seeds)]
    for t in out:
        t["cap"] = cap
    return out


def _secs(run):
    """A run's time, as text: ``> cap`` when it was stopped at the cap."""
    return f"> {run['seconds']:.0f}" if run.get("capped") else f"{run['seconds']:.2f}"


def _median(values):
    values = list(values)
    return statistics.median(values) if values else float("nan")


def markdown(records):
    lines = []
    noise = [r for r in records if r["part"] == "noise"]
    if noise:
        lines += [
            "| d | k | sigma | runs | fast s (median) | cdgkm s (median) | fast / cdgkm (max) | fast risk / "
            "(sigma^2 p / n) median [max] | cdgkm risk / (sigma^2 p / n) median | fast at the noise floor | "
            "fast success | cdgkm stopped at the cap | raised (fast, cdgkm) |",
            "|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|",
        ]
        for d in NOISE["d"]:
            for k in NOISE["k"]:
                for sigma in NOISE["sigma"]:
                    rs = [r for r in noise if (r["d"], r["k"], r["sigma"]) == (d, k, sigma)]
                    if not rs:
                        continue
                    f = [r["fast"] for r in rs if not r["fast"].get("error") and not r["fast"].get("capped")]
                    c = [r["cdgkm"] for r in rs if not r["cdgkm"].get("error")]
                    c_done = [x for x in c if not x.get("capped")]
                    capped = sum(bool(x.get("capped")) for x in c)
                    # with cdgkm stopped at the cap its time is a lower bound, so the ratio an upper bound
                    ratios = [r["fast"]["seconds"] / r["cdgkm"]["seconds"] for r in rs if not r["cdgkm"].get("error")]
                    fr = [x["risk_ratio"] for x in f]
                    c_med = _median(x["seconds"] for x in c)
                    lines.append(
                        f"| {d} | {k} | {sigma:g} | {len(rs)} | {_median(x['seconds'] for x in f):.2f} | "
                        f"{'>= ' if capped else ''}{c_med:.2f} | {max(ratios) if ratios else float('nan'):.2f} | "
                        f"{_median(fr):.2f} [{max(fr) if fr else float('nan'):.2f}] | "
                        f"{_median(x['risk_ratio'] for x in c_done):.3g} | "
                        f"{sum(x['noise_floor'] for x in f)}/{len(f)} | {sum(x['success'] for x in f)}/{len(f)} | "
                        f"{capped}/{len(c)} | {sum(bool(r['fast'].get('error')) for r in rs)}, "
                        f"{sum(bool(r['cdgkm'].get('error')) for r in rs)} |"
                    )
        lines.append("")
    width = [r for r in records if r["part"] == "width"]
    if width:
        right = str(WIDTH["k_true"])
        lines += [
            f"| sigma | k | widths returned | says which width suffices | median s | time / time at k = {right} "
            "median [max] | success | false successes | stopped at the cap |",
            "|---:|---:|---|---:|---:|---|---:|---:|---:|",
        ]
        for sigma in WIDTH["sigma"]:
            rs = [r for r in width if r["sigma"] == sigma]
            for k in WIDTH["k"]:
                runs = [r["runs"][str(k)] for r in rs]
                done = [x for x in runs if not x.get("capped")]
                if not runs:
                    continue
                ratio = [r["runs"][str(k)]["seconds"] / r["runs"][right]["seconds"] for r in rs]
                widths = sorted(x["width"] for x in done)
                says = sum(x["says_suffices"] for x in done if x["width"] < k)
                narrower = sum(x["width"] < k for x in done)
                lines.append(
                    f"| {sigma:g} | {k} | {widths} | {says}/{narrower} | {_median(x['seconds'] for x in runs):.2f} | "
                    f"{_median(ratio):.2f} [{max(ratio):.2f}] | {sum(x['success'] for x in done)}/{len(done)} | "
                    f"{sum(x['false_success'] for x in done)} | {len(runs) - len(done)} |"
                )
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", nargs="+", default=["noise", "width"], choices=["noise", "width"])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--cap", type=float, default=120.0, help="wall-time cap of one learner run, seconds")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", default="bench_fast_users.json")
    args = ap.parse_args(argv)
    todo = tasks(args.part, args.seeds, args.cap)
    print(f"{summary()}; {args.workers} worker process(es), 1 BLAS thread each; {len(todo)} tasks", file=sys.stderr)
    t0 = time.perf_counter()
    records = []
    with open(args.json + ".partial.jsonl", "w") as partial:
        if args.workers > 1:
            import multiprocessing

            with multiprocessing.Pool(args.workers) as pool:
                collect(pool.imap_unordered(_run, todo), records, partial, len(todo), t0, "bench_fast_users")
        else:
            collect(map(_run, todo), records, partial, len(todo), t0, "bench_fast_users")
    wall = time.perf_counter() - t0
    text = markdown(records)
    print(text)
    print(f"wall time {wall:.0f} s", file=sys.stderr)
    tmp = args.json + ".tmp"
    with open(tmp, "w") as fh:
        meta = {"machine": summary(), "versions": versions(), "wall_seconds": wall, "argv": sys.argv[1:]}
        json.dump({**meta, "runs": records}, fh, indent=1)
    os.replace(tmp, args.json)
    return text


if __name__ == "__main__":
    main()
