"""Success rate and wall time of the papers' learners (practical profiles) over instance families.

    python3 benchmarks/bench_paper.py [--methods cdgkm netlearn dk] [--seeds 20] [--n 10000]
                                      [--n-dk 100000] [--d 8 16] [--k 2 3 4] [--workers 2] [--json FILE]

Noiseless labels; instance seed s, sample seed 1000 + s, learner seed s for s < seeds; n samples
per run (``--n-dk`` for dk, whose degree-D coefficient estimates need more: the estimation
error grows like D^k / n while the bound it is held to shrinks only like D^{-3/2}).  Families: random, close_pair (theta = 0.05, coefficients +-1: cancelling),
orthonormal, dkkz (k in {2, 4} only).  Every error is exact (closed form from the true
network, never the learner's own estimate):

* cdgkm, netlearn: success iff ``||F - F_hat||^2 <= 1e-3 (sum_i |mu_i| |w_i|)^2`` (relu
  coefficients times weight norms; ``= 4e-3 ||lambda||_1^2`` with the canonical ``lambda_i = mu_i |w_i| / 2``);
* dk: success iff ``||F - F_tilde||^2`` is within the degree-D truncation bound
  ``sum_{m > D} c_m^2 (sum_i |mu_i| |w_i|)^2`` (:func:`verified_relu.learners.dk.truncation_bound`).

Runs are spread over ``--workers`` processes with one BLAS thread each.
"""

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, ROOT)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the scripts' shared helpers

from _common import paper_cells

from verified_relu import instances, learn
from verified_relu._provenance import summary

#: (family, parameters): the "paper" grid of verified_relu.instances.grid
FAMILIES = [(family, params) for _, family, params in instances.grid("paper")]


def _cells(ds, ks):
    return paper_cells(FAMILIES, ds, ks)


def run_one(job):
    method, family, params, d, k, seed, n = job
    net = instances.make(family, d, k, rng=seed, **params)
    X, y = net.sample(n, rng=1000 + seed)
    t0 = time.perf_counter()
    res = learn(X, y, k, method=method, rng=seed)
    elapsed = time.perf_counter() - t0
    lam1 = float(np.sum(np.abs(net.coefficients) * np.linalg.norm(net.weights, axis=1)))
    if method == "dk":
        from verified_relu.learners.dk import truncation_bound

        bound = float(truncation_bound(net, res.network.degree))
    else:
        bound = 1e-3 * lam1**2
    err = float(net.squared_distance(res.network))
    return {
        "method": method,
        "family": family,
        "d": d,
        "k": k,
        "seed": seed,
        "n": n,
        "squared_error": err,
        "bound": bound,
        "ok": bool(err <= bound),
        "claimed_success": bool(res.success),
        "time_s": elapsed,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--methods", nargs="+", default=["cdgkm", "netlearn", "dk"])
    ap.add_argument("--d", nargs="+", type=int, default=[8, 16])
    ap.add_argument("--k", nargs="+", type=int, default=[2, 3, 4])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--n-dk", type=int, default=100000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", help="also write every run to this JSON file")
    args = ap.parse_args()
    print(f"{summary()}; {args.workers} worker process(es), 1 BLAS thread each")
    print(f"n = {args.n} (dk: {args.n_dk}), seeds 0..{args.seeds - 1}, noiseless, practical profiles\n")
    jobs = [
        (method, family, params, d, k, seed, args.n_dk if method == "dk" else args.n)
        for method in args.methods
        for family, params, d, k in _cells(args.d, args.k)
        for seed in range(args.seeds)
    ]
    rows = []
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for i, row in enumerate(pool.map(run_one, jobs), 1):
            rows.append(row)
            if i % 20 == 0:
                print(f"  {i}/{len(jobs)} runs", file=sys.stderr, flush=True)
    print("| method | family | d | k | success | worst err / bound | claimed success, err > bound | median time (s) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for method in args.methods:
        for family, _, d, k in _cells(args.d, args.k):
            cell = [r for r in rows if (r["method"], r["family"], r["d"], r["k"]) == (method, family, d, k)]
            ok = sum(r["ok"] for r in cell)
            worst = max(r["squared_error"] / r["bound"] for r in cell)
            false = sum(r["claimed_success"] and not r["ok"] for r in cell)
            med = statistics.median(r["time_s"] for r in cell)
            print(f"| {method} | {family} | {d} | {k} | {ok}/{len(cell)} | {worst:.2g} | {false} | {med:.2f} |")
    for method in args.methods:
        mine = [r for r in rows if r["method"] == method]
        print(f"\n{method}: {sum(r['ok'] for r in mine)}/{len(mine)} runs within the bound overall")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
