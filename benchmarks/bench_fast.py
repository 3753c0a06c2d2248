"""Exact-recovery rate and wall time of the fast learner over instance families.

    python3 benchmarks/bench_fast.py [--d 20] [--k 4] [--seeds 10] [--samples-per-param 50]

Noiseless labels, n = samples_per_param * d * k samples (the target's "50 d k"), instance seed
s and sample seed 1000 + s for s < seeds, learner seed s, ``noiseless=True``.  Success means
the exact relative squared error ``squared_distance / norm_squared`` is at most 1e-10 (computed
in closed form from the true network, not reported by the learner).  "false success" counts
runs where the learner claimed success but the true error exceeds 1e-8 (should be 0).
"""

import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, ROOT)

from verified_relu import instances, learn
from verified_relu._provenance import summary
from verified_relu.app.bench import EXACT, FALSE_SUCCESS
from verified_relu.metrics import relative_error

#: (family, parameters): the "hard" grid of verified_relu.instances.grid
FAMILIES = [(family, params) for _, family, params in instances.grid("hard")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--d", type=int, default=20)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--samples-per-param", type=int, default=50)
    ap.add_argument("--json", help="also write the rows to this JSON file")
    args = ap.parse_args()
    d, k = args.d, args.k
    n = args.samples_per_param * d * k
    print(summary())
    print(f"d = {d}, k = {k}, n = {n}, seeds 0..{args.seeds - 1}, noiseless\n")
    print("| family | params | exact recoveries | worst rel. error | false success | median time (s) |")
    print("|---|---|---:|---:|---:|---:|")
    rows = []
    for family, params in FAMILIES:
        if not instances.supports(family, d, k):
            continue
        ok = false_success = 0
        errors, times = [], []
        for s in range(args.seeds):
            net = instances.make(family, d, k, rng=s, **params)
            X, y = net.sample(n, rng=1000 + s)
            t0 = time.perf_counter()
            res = learn(X, y, k, rng=s, noiseless=True)
            times.append(time.perf_counter() - t0)
            err = relative_error(net, res.network)
            errors.append(err)
            ok += err <= EXACT
            false_success += bool(res.success and err > FALSE_SUCCESS)
        row = {
            "family": family,
            "params": params,
            "exact": ok,
            "seeds": args.seeds,
            "worst": max(errors),
            "false_success": false_success,
            "median_time": statistics.median(times),
        }
        rows.append(row)
        print(
            f"| {family} | {params or ''} | {ok}/{args.seeds} | {max(errors):.1e} | {false_success} | {row['median_time']:.2f} |",
            flush=True,
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"d": d, "k": k, "n": n, "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
