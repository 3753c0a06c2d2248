"""The table of docs/stability.md: certified recovery and the stability report on the built-in
hard instances.  ``python -m verified_relu.precision.survey [--json PATH]`` reproduces it.

Per instance: the float64 fast learner on float64 labels, then :func:`certify` at ``dps = 50`` on
noiseless labels computed at 50 digits (same samples), and :func:`stability_report` at
``dps = 50`` (moment sweep ``l = 2, 4, ..., 40`` on the first 300 samples).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from .. import instances
from ..learners import learn
from ..metrics import relative_error
from ..network import ReLUNetwork
from .certify import certify, noiseless_labels
from .stability import format_stability, stability_report

__all__ = ["CASES", "survey"]

#: (family, d, k, parameters): the built-in hard instances, at sizes the mp path handles.
CASES = (
    ("random", 8, 4, {}),
    ("orthonormal", 8, 4, {}),
    ("close_pair", 8, 4, {"theta": 1e-2}),
    ("close_pair", 6, 3, {"theta": 1e-3}),
    ("clump", 6, 3, {"theta": 0.05}),
    ("ill_conditioned", 6, 3, {"cond": 1e3}),
    ("antipodal", 6, 3, {}),
    ("dk_cancel", 6, 3, {"theta": 0.1}),
)


def survey(cases=CASES, n=3000, dps=50, seed=0, sweep_samples=300):
    """Rows ``{instance, learned, certified digits, ...}`` and the stability reports."""
    rows, reports = [], {}
    for family, d, k, kw in cases:
        name = f"{family}({', '.join(f'{a}={b:g}' for a, b in kw.items())}) d={d} k={k}".replace("() ", " ")
        t0 = time.time()
        net = instances.make(family, d, k, rng=seed, **kw)
        X, _ = net.sample(n, rng=seed + 1)
        y_mp = noiseless_labels(net, X, dps)
        y = np.array([float(v) for v in y_mp])
        res = learn(X, y, k, rng=seed + 2, noiseless=True)
        rel = float(relative_error(net, res.network))
        cert = certify(res, X, y_mp, teacher=net, dps=dps) if res.network.k == k else None
        # identifiability of the instance itself, apart from the learner: start next to the truth
        gen = np.random.default_rng(seed + 3)
        near = ReLUNetwork(
            net.weights + 1e-6 * gen.standard_normal(net.weights.shape),
            net.coefficients * (1 + 1e-6 * gen.standard_normal(k)),
            net.linear,
        )
        cert_near = certify(near, X, y_mp, teacher=net, dps=dps)
        rep = stability_report(
            X, y, k, dps=dps, result=res, rng=seed, sweep_samples=sweep_samples, include_probes=False
        )
        learner_rows = [r for r in rep.rows if not r["step"].startswith("moment sweep") and r["comparable"]]
        sweep_rows = [r for r in rep.rows if r["step"].startswith("moment sweep")]
        rows.append(
            {
                "instance": name,
                "learn_success": bool(res.success),
                "learn_rel_sq_error": rel,
                "certified_digits": None if cert is None else cert.correct_digits,
                "canonical_form": cert is not None and cert.canonical is not None and "canonical form" in cert.message,
                "not_comparable": [r["step"] for r in rep.rows if not r["comparable"]],
                "predicted_digits": None if cert is None else cert.predicted_digits,
                "jacobian_cond": None if cert is None else cert.condition,
                "refine_reason": None if cert is None else cert.reason,
                "near_start_digits": cert_near.correct_digits,
                "near_start_predicted": cert_near.predicted_digits,
                "near_start_cond": cert_near.condition,
                "ill_determined": [] if cert is None else sorted({p["parameter"] for p in cert.ill_determined}),
                "max_digits_lost_learner_steps": max(r["digits_lost"] for r in learner_rows),
                "worst_learner_step": max(learner_rows, key=lambda r: r["digits_lost"])["step"],
                "max_digits_lost_sweep": max(r["digits_lost"] for r in sweep_rows),
                "flagged": [r["step"] for r in rep.rows if r["flagged"]],
                "all_within_prediction": all(r["within_prediction"] is not False for r in rep.rows),
                "seconds": round(time.time() - t0, 1),
            }
        )
        reports[name] = rep
    return rows, reports


def format_survey(rows):
    cols = (
        "instance",
        "learn rel. sq. error",
        "certified digits (pred.)",
        "cond(J)",
        "from teacher+1e-6: digits (pred.), cond(J)",
        "max digits lost: steps / sweep",
        "flagged",
    )
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for r in rows:
        cd = "-" if r["certified_digits"] is None else f"{r['certified_digits']:.1f} ({r['predicted_digits']:.1f})"
        cond = "-" if r["jacobian_cond"] is None else f"{r['jacobian_cond']:.1e}"
        near = f"{r['near_start_digits']:.1f} ({r['near_start_predicted']:.1f}), {r['near_start_cond']:.1e}"
        flagged = ", ".join(r["flagged"]) or "none"
        lines.append(
            f"| {r['instance']} | {r['learn_rel_sq_error']:.1e} | {cd} | {cond} | {near} | "
            f"{r['max_digits_lost_learner_steps']:.1f} / {r['max_digits_lost_sweep']:.1f} | {flagged} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m verified_relu.precision.survey", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--json", help="write the rows as JSON")
    parser.add_argument("--full", action="store_true", help="also print every instance's stability table")
    args = parser.parse_args(argv)
    rows, reports = survey()
    print(format_survey(rows))
    if args.full:
        for rep in reports.values():
            print()
            print(format_stability(rep))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
