"""Excess risk of the fast learner on noisy labels, against the oracle least-squares fit.

    python3 benchmarks/bench_noise.py [--d 20] [--k 4] [--n 20000] [--seeds 10] [--json FILE]

Labels ``y = F(x) + sigma * N(0, 1)`` for sigma in {1e-3, 1e-1}; instance seed s, sample seed
1000 + s, learner seed s.  The excess risk of a fit ``G`` is ``||F - G||^2``, exact in closed
form (``squared_distance``).  The oracle is given the true unit directions ``u_i`` and fits the
output weights and the linear term by least squares on the same samples (``k + d`` parameters);
the learner fits everything (``k (d + 1) + d`` parameters).  For a well-specified least-squares
problem the expected excess risk is about ``sigma^2 p / n`` with ``p`` the number of fitted
parameters, so the ratio learner / oracle is expected near ``(k (d + 1) + d) / (k + d)`` (the
"expected ratio" column), not 1.
"""

import argparse
import json
import os
import statistics
import sys

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, ROOT)

from verified_relu import instances, learn
from verified_relu._provenance import summary
from verified_relu.app.bench_full import FULL, oracle_fit

#: (family, parameters): the noise part of the full benchmark suite, from verified_relu.instances.grid("hard")
FAMILIES = [(family, params) for _, family, params in instances.grid("hard", FULL["noise"]["families"])]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--d", type=int, default=20)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--json")
    args = ap.parse_args()
    d, k, n = args.d, args.k, args.n
    expected = (k * (d + 1) + d) / (k + d)
    print(f"{summary()}; one BLAS thread")
    print(f"d = {d}, k = {k}, n = {n}, seeds 0..{args.seeds - 1}; expected ratio ~ {expected:.2f}\n")
    print(
        "| family | sigma | learner excess risk (median) | oracle excess risk (median) | ratio (median) | ratio (max) | sigma^2 p / n (learner) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = []
    for family, params in FAMILIES:
        for sigma in (1e-3, 1e-1):
            cell = []
            for s in range(args.seeds):
                net = instances.make(family, d, k, rng=s, **params)
                X, y = net.sample(n, rng=1000 + s, noise=sigma)
                res = learn(X, y, k, rng=s)
                ours = float(net.squared_distance(res.network))
                oracle = float(net.squared_distance(oracle_fit(net, X, y)))
                cell.append(
                    {
                        "family": family,
                        "sigma": sigma,
                        "seed": s,
                        "learner": ours,
                        "oracle": oracle,
                        "ratio": ours / oracle,
                        "success": bool(res.success),
                    }
                )
            rows += cell
            med = statistics.median
            p = k * (d + 1) + d
            print(
                f"| {family} | {sigma:g} | {med(r['learner'] for r in cell):.3g} | {med(r['oracle'] for r in cell):.3g} | "
                f"{med(r['ratio'] for r in cell):.2f} | {max(r['ratio'] for r in cell):.3g} | {sigma**2 * p / n:.3g} |"
            )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
