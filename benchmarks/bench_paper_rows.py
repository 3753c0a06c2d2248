"""The papers' learners, three rows per cell: faithful, paper steps, final; judged against the paper's eps.

    python3 benchmarks/bench_paper_rows.py [--methods cdgkm netlearn dk] [--d 8 16] [--k 2 3 4]
        [--seeds 20] [--perms 5] [--n 10000] [--n-dk 100000] [--faithful-d 3] [--faithful-k 2]
        [--faithful-n 8000] [--sweep] [--sweep-n 1000 3000 10000 30000 100000 300000 1000000]
        [--sweep-perms 1] [--cap 120] [--cap-faithful 10] [--workers 2] [--out DIR] [--resume]
        [--summarize JSONL [JSONL ...]]

For each paper learner (``cdgkm``: CDGKM23, ``netlearn``: CN24, ``dk``: DK24) and each cell
``(family, d, k)`` of today's table (``benchmarks/bench_paper.py``: the families of
``instances.grid("paper")``, close_pair at theta = 0.05, dkkz at k in {2, 4} only), three rows:

* ``faithful``: the faithful profile (no departure) on the tiny instance of the same family at
  ``(--faithful-d, --faithful-k)`` with ``--faithful-n`` samples: ``CDGKMParams.faithful(d, k,
  eps=0.25, R=3, upsilon=0.2)`` and ``NetlearnParams.practical(d, k, faithful=True, eps=0.25, R=3,
  xi=0.25, eta_prime=0.05, nu=0.5)``, the settings of the end-to-end claims in
  ``proofs_checks/learners.py``.  The same runs stand in every ``(d, k)`` cell of the family.
  dk has none (``n/a``): ``DKParams`` has no faithful profile; with no departure its sample size
  is DK24 Thm 1's ``(dk/eps)^{Ck}`` (``DKParams.from_theory``: about 4e35 at d = 3, k = 2, eps = 0.1,
  C = 10), and running it at fewer samples is the departure ``scaled_constants``.
* ``paper steps``: ``LearnResult.checkpoints["paper"]`` of the practical run: the network the
  paper's steps produced before the post-processing departures (``refine``).  For dk no
  departure post-processes the predictor, so this is the final predictor.
* ``final``: the practical run's network (every departure of the practical profile on).

One practical run gives both the paper-steps and the final row.  Seeds ``s < --seeds``: instance
seed s, sample seed 1000 + s, learner seed s; permutations ``p < --perms``: the rows are permuted
by ``numpy.random.default_rng(2000 + 100 s + p).permutation(n)`` before learning.  ``n`` samples
are drawn in all (``learn`` holds 10% of them out for its own verdict); dk uses ``--n-dk``.

The paper's eps, per method (success of a row iff the exact squared error is at most eps^2; the
error is the closed form ``teacher.squared_distance(net)``, never the learner's estimate):

* cdgkm: ``eps = params.eps``, absolute (0.05 practical, 0.25 faithful): the learner's own
  acceptance is validation MSE ``<= eps^2 / 2`` (CDGKM23 step 11, ``cdgkm.fit``), and the
  end-to-end claims hold ``||F - F_hat||^2 <= eps^2`` (``proofs_checks/learners.py``,
  ``_recovery_runs``).
* netlearn: ``eps = diagnostics["eps"]`` of the run: ``params.eps`` when given (0.25 faithful),
  else ``eps_rel * rms(y)`` on the moment samples (0.02 rms(y) practical), relative to the
  labels' scale (``netlearn._resolve``); acceptance validation MSE ``<= eps^2 / 2`` (CN24 step 6).
* dk: ``eps R`` with ``params.eps = 0.1`` and ``params.R = k`` (practical): DK24 Thm 1 promises
  ``||F~ - F|| <= eps`` when ``sum_i |mu_i| |w_i| <= 1``; scaled by ``R``, the learner's own
  acceptance is validation MSE ``<= (eps R)^2`` (``dk.fit``).  (``bench_paper.py`` judges dk
  against the much smaller truncation bound instead; it is recorded here as ``truncation_bound``.)

The guarantees presume the l1 bound: ``||lambda||_1 = sum_i |mu_i| |w_i| / 2 <= R`` (cdgkm,
netlearn with R given) or ``sum_i |mu_i| |w_i| <= R`` (dk); each run records whether it holds.

Each row of the tables gives successes / runs, the rate and its two-sided 95% Clopper-Pearson
interval over the seeds x permutations runs, the seeds whose every permutation succeeded (with
their own interval: permuted rows give the same result bit for bit when the learners put rows in
a canonical order, and then the runs of one seed are not independent), whether the row's
networks are identical across the permutations of each seed (parameters compared exactly), the
median seconds per run (a practical run's time covers both its rows; for cdgkm it includes the
second search that produces the paper checkpoint), and the runs that raised (recorded as
failures with their message, never dropped).  ``--sweep`` adds the paper-steps and final rows on
close_pair (theta = 0.05), d = 8, k = 3 at each ``--sweep-n``.

Every run has a wall-time cap (``--cap`` seconds; ``--cap-faithful`` for the faithful profile, whose
search can run for hours: on dkkz it enumerates its net of candidate directions): a run that does not
finish within it is stopped and recorded as a failure of its rows, with the message "did not finish
within ... s".  The sweep uses ``--sweep-perms`` permutations (default 1).

Runs stream to ``DIR/rows.partial.jsonl`` (one JSON object a line) as they finish: first every run of
permutation 0, then the further permutations of cdgkm and netlearn, then those of dk (the costliest,
at about 3 s a run); within each part seed by seed across the cells, so an interrupted run covers
every cell with whole permutations.  ``--resume`` keeps the runs already in the partial file and
does only the others.  ``DIR/rows.json`` and ``DIR/rows.md`` are written at the end;
``--summarize JSONL [JSONL ...]`` rebuilds the tables from (partial) files.  Worker processes use one
BLAS thread each.
"""

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, ROOT)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the scripts' shared helpers

from _common import capped, collect, paper_cells

from verified_relu import instances
from verified_relu._provenance import summary, versions

METHODS = ("cdgkm", "netlearn", "dk")
ROWS = ("faithful", "paper steps", "final")
#: (family, parameters): the "paper" grid of verified_relu.instances.grid, as in bench_paper.py
FAMILIES = [(family, params) for _, family, params in instances.grid("paper")]
#: the faithful profiles' settings (proofs_checks/learners.py: cdgkm.end_to_end_faithful, cn.end_to_end_faithful)
FAITHFUL = {
    "cdgkm": {"eps": 0.25, "R": 3.0, "upsilon": 0.2, "max_candidates": 10**8},
    "netlearn": {"eps": 0.25, "R": 3.0, "xi": 0.25, "eta_prime": 0.05, "nu": 0.5},
}
NO_FAITHFUL = {
    "dk": (
        "n/a: DKParams has no faithful profile; with no departure the sample size is DK24 Thm 1's (dk/eps)^{Ck} "
        "(about 4e35 at d = 3, k = 2), and fewer samples is the departure scaled_constants"
    )
}
SWEEP_FAMILY, SWEEP_D, SWEEP_K = "close_pair", 8, 3


def cells(ds, ks):
    """The ``(family, params, d, k)`` cells of today's table (dkkz at k in {2, 4} only)."""
    return paper_cells(FAMILIES, ds, ks)


def tasks(args):
    """Every run, ordered permutation by permutation, then seed by seed across the cells."""
    out = []

    def add(kind, method, family, params, d, k, n, perms, cap):
        for s in range(args.seeds):
            for p in range(perms):
                out.append({"kind": kind, "method": method, "family": family, "params": params})
                out[-1].update(d=d, k=k, n=n, seed=s, perm=p, cap=cap)

    for method in args.methods:
        n_main = args.n_dk if method == "dk" else args.n
        for family, params, d, k in cells(args.d, args.k):
            add("cell", method, family, params, d, k, n_main, args.perms, args.cap)
        if method in FAITHFUL:
            for family, params in FAMILIES:
                if instances.supports(family, args.faithful_d, args.faithful_k):
                    fd, fk = args.faithful_d, args.faithful_k
                    add("faithful", method, family, params, fd, fk, args.faithful_n, args.perms, args.cap_faithful)
        if args.sweep:
            params = dict(FAMILIES)[SWEEP_FAMILY]
            for n in args.sweep_n:
                add("sweep", method, SWEEP_FAMILY, params, SWEEP_D, SWEEP_K, n, args.sweep_perms, args.cap)
    # stable: the cells keep their order within a seed
    out.sort(key=lambda t: (t["perm"] > 0 and t["method"] == "dk", t["perm"], t["seed"]))
    return out


def task_key(rec):
    """What identifies a run (a task or its record): the same key means the same computation."""
    fields = ("kind", "method", "family", "d", "k", "n", "seed", "perm")
    return tuple(rec[f] for f in fields) + (json.dumps(rec["params"], sort_keys=True),)


def fingerprint(net):
    """SHA-256 of the network's parameters (``to_dict``: floats by repr, exact)."""
    return hashlib.sha256(json.dumps(net.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def _params(method, kind, d, k):
    from verified_relu.learners import CDGKMParams, DKParams, NetlearnParams

    if kind == "faithful":
        f = dict(FAITHFUL[method])
        if method == "cdgkm":
            return CDGKMParams.faithful(d, k, **f)
        return NetlearnParams.practical(d, k, faithful=True, **f)
    return {"cdgkm": CDGKMParams, "netlearn": NetlearnParams, "dk": DKParams}[method].practical(d, k)


def paper_eps(method, params, result):
    """The paper's eps of a run, as an absolute L2 error, and how it was read."""
    if method == "cdgkm":
        return float(params.eps), "params.eps (absolute)"
    if method == "netlearn":
        how = "params.eps (absolute)" if params.eps is not None else f"{params.eps_rel:g} rms(y), diagnostics['eps']"
        return float(result.diagnostics["eps"]), how
    return float(params.eps) * float(params.R), f"params.eps * params.R = {float(params.eps):g} * {float(params.R):g}"


def run_one(task):
    """One run: the record of its rows (``faithful``, or ``paper steps`` and ``final``)."""
    import numpy as np

    from verified_relu import learn

    method, kind, d, k, n, s, p = (task[key] for key in ("method", "kind", "d", "k", "n", "seed", "perm"))
    net = instances.make(task["family"], d, k, rng=s, **task["params"])
    X, y = net.sample(n, rng=1000 + s)
    order = np.random.default_rng(2000 + 100 * s + p).permutation(n)
    X, y = X[order], y[order]
    s_mu_w = float(np.sum(np.abs(net.coefficients) * np.linalg.norm(net.weights, axis=1)))
    rec = {key: task.get(key) for key in ("kind", "method", "family", "params", "d", "k", "n", "seed", "perm", "cap")}
    names = ("faithful",) if kind == "faithful" else ("paper steps", "final")
    params = _params(method, kind, d, k)
    cap = task.get("cap")
    t0 = time.perf_counter()
    try:
        res, seconds = capped(cap, learn, X, y, k, method=method, rng=s, params=params)
        msg = None if res is not None else f"did not finish within {cap:g} s (cap)"
    except Exception as exc:
        res, seconds, msg = None, time.perf_counter() - t0, f"{type(exc).__name__}: {exc}"
    if res is None:  # recorded as a failure of every row of the run, never dropped
        rec.update(seconds=seconds, error=msg)
        rec["rows"] = {name: {"ok": False, "squared_error": None, "fingerprint": None} for name in names}
        return rec
    rec["seconds"] = seconds
    rec["error"] = None
    eps, how = paper_eps(method, params, res)
    bound = eps * eps
    R = None if getattr(params, "R", None) is None else float(params.R)
    lam1 = s_mu_w if method == "dk" else s_mu_w / 2
    rec.update(
        eps=eps,
        eps_source=how,
        bound=bound,
        R=R,
        l1=lam1,
        premise_holds=None if R is None else bool(lam1 <= R),
        paper_accepted=bool(res.diagnostics["paper_accepted"]),
        departures=list(res.diagnostics["departures"]),
    )
    if method == "dk":
        from verified_relu.learners.dk import truncation_bound

        rec["truncation_bound"] = float(truncation_bound(net, params.D))
    nets = {"faithful": res.network} if kind == "faithful" else {"paper steps": res.checkpoints["paper"]}
    if kind != "faithful":
        nets["final"] = res.network
    rows = {}
    for name, model in nets.items():
        err = float(net.squared_distance(model))
        rows[name] = {"ok": bool(err <= bound), "squared_error": err, "fingerprint": fingerprint(model)}
    rec["rows"] = rows
    return rec


# ----------------------------------------------------------------------------- statistics and tables
def clopper_pearson(successes, trials, confidence=0.95):
    """Two-sided Clopper-Pearson interval ``(lower, upper)`` of a binomial rate (nan, nan if no trial)."""
    from scipy.stats import beta

    if trials == 0:
        return float("nan"), float("nan")
    a = (1 - confidence) / 2
    lo = 0.0 if successes == 0 else float(beta.ppf(a, successes, trials - successes + 1))
    hi = 1.0 if successes == trials else float(beta.ppf(1 - a, successes + 1, trials - successes))
    return lo, hi


def row_stats(records, name):
    """Statistics of row ``name`` over the runs ``records`` (one cell)."""
    runs = [r for r in records if name in r["rows"]]
    ok = sum(r["rows"][name]["ok"] for r in runs)
    lo, hi = clopper_pearson(ok, len(runs))
    by_seed = {}
    for r in runs:
        by_seed.setdefault(r["seed"], []).append(r)
    seeds_ok = sum(all(r["rows"][name]["ok"] for r in rs) for rs in by_seed.values())
    slo, shi = clopper_pearson(seeds_ok, len(by_seed))
    multi = {s: rs for s, rs in by_seed.items() if len(rs) > 1}
    differ = sum(len({r["rows"][name]["fingerprint"] for r in rs}) > 1 for rs in multi.values())
    if not multi:
        identical = "n/a (one permutation)"
    else:
        identical = "yes" if differ == 0 else f"no ({differ} of {len(multi)} seeds differ)"
    ratios = [
        r["rows"][name]["squared_error"] / r["bound"]
        for r in runs
        if r["rows"][name]["squared_error"] is not None and r.get("bound")
    ]
    return {
        "runs": len(runs),
        "successes": ok,
        "rate": ok / len(runs) if runs else float("nan"),
        "ci": (lo, hi),
        "seeds": len(by_seed),
        "seeds_ok": seeds_ok,
        "seeds_ci": (slo, shi),
        "identical": identical,
        "median_s": statistics.median(r["seconds"] for r in runs) if runs else float("nan"),
        "raised": sum(r["error"] is not None for r in runs),
        "worst_ratio": max(ratios) if ratios else None,
        "eps": sorted({r["eps"] for r in runs if r.get("eps") is not None}),
        "premise_fails": sum(r.get("premise_holds") is False for r in runs),
    }


_HEAD = (
    "| family | d | k | row | eps | success | rate | 95% CP | seeds ok (all perms) | identical across permutations "
    "| worst err / eps^2 | median s | raised |"
)
_RULE = "|---|---:|---:|---|---:|---:|---:|---|---:|---|---:|---:|---:|"


def _fmt_eps(values):
    """The eps of a row's runs: one value, or the range when it is relative to each run's labels."""
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    return f"{lo:.3g}" if f"{lo:.3g}" == f"{hi:.3g}" else f"{lo:.3g} to {hi:.3g}"


def _fmt_row(cells_, label, st):
    lo, hi = st["ci"]
    slo, shi = st["seeds_ci"]
    eps = _fmt_eps(st["eps"])
    worst = "-" if st["worst_ratio"] is None else f"{st['worst_ratio']:.2g}"
    return (
        f"| {cells_} | {label} | {eps} | {st['successes']}/{st['runs']} | {st['rate']:.2f} | [{lo:.3f}, {hi:.3f}] | "
        f"{st['seeds_ok']}/{st['seeds']} [{slo:.2f}, {shi:.2f}] | {st['identical']} | {worst} | "
        f"{st['median_s']:.2f} | {st['raised']} |"
    )


def markdown(records, meta):
    """The tables: per method one table (three rows per cell), then the sample-size sweep."""
    lines = []
    if meta:
        lines += [
            f"Machine: {meta.get('machine', '?')}; commit {meta.get('commit', '?')}; "
            f"workers {meta.get('workers', '?')} (one BLAS thread each); wall time {meta.get('seconds', 0):.0f} s.",
            f"Command: `{meta.get('command', '?')}`.",
            "",
        ]
    methods = [m for m in METHODS if any(r["method"] == m for r in records)]
    for method in methods:
        mine = [r for r in records if r["method"] == method]
        main = {}
        for r in mine:
            if r["kind"] == "cell":
                main.setdefault((r["family"], r["d"], r["k"]), []).append(r)
        faithful = {}
        for r in mine:
            if r["kind"] == "faithful":
                faithful.setdefault(r["family"], []).append(r)
        if not main and not faithful:
            continue
        fd = sorted({(r["d"], r["k"]) for rs in faithful.values() for r in rs})
        lines += [f"### {method}", ""]
        if fd:
            lines.append(
                f"The faithful row is the faithful profile on the family's tiny instance at (d, k) = "
                f"{', '.join(str(x) for x in fd)}; the same runs stand in every cell of the family."
            )
            lines.append("")
        lines += [_HEAD, _RULE]
        order = {f: i for i, (f, _) in enumerate(FAMILIES)}
        for family, d, k in sorted(main, key=lambda c: (order.get(c[0], 99), c[1], c[2])):
            where = f"{family} | {d} | {k}"
            if method in NO_FAITHFUL:
                lines.append(f"| {where} | faithful | n/a (see below) |" + " |" * 8)
            elif family in faithful:
                lines.append(_fmt_row(where, "faithful", row_stats(faithful[family], "faithful")))
            else:
                lines.append(f"| {where} | faithful | (not run) |" + " |" * 8)
            for name in ("paper steps", "final"):
                lines.append(_fmt_row(where, name, row_stats(main[(family, d, k)], name)))
        lines.append("")
        if method in NO_FAITHFUL:
            lines.append(f"* faithful row: {NO_FAITHFUL[method]}")
        errors = {}
        for r in mine:
            if r["error"] and r["kind"] != "sweep":  # the sweep's are listed under its own table
                errors[r["error"]] = errors.get(r["error"], 0) + 1
        for msg, count in sorted(errors.items(), key=lambda kv: -kv[1]):
            lines.append(f"* raised in {count} run(s): {msg}")
        premise = sum(r.get("premise_holds") is False for r in mine if r["kind"] != "sweep")
        if premise:
            lines.append(f"* {premise} run(s) outside the paper's l1 premise (see the JSON: l1 > R)")
        if errors or premise or method in NO_FAITHFUL:
            lines.append("")
    sweep = [r for r in records if r["kind"] == "sweep"]
    if sweep:
        lines += [
            f"### Sample-size sweep: {SWEEP_FAMILY} (theta = 0.05), d = {SWEEP_D}, k = {SWEEP_K}",
            "",
            "| method | n | row | eps | success | rate | 95% CP | seeds ok (all perms) | identical across permutations "
            "| worst err / eps^2 | median s | raised |",
            "|---|---:|---|---:|---:|---:|---|---:|---|---:|---:|---:|",
        ]
        for method in [m for m in METHODS if any(r["method"] == m for r in sweep)]:
            for n in sorted({r["n"] for r in sweep if r["method"] == method}):
                rs = [r for r in sweep if r["method"] == method and r["n"] == n]
                for name in ("paper steps", "final"):
                    lines.append(_fmt_row(f"{method} | {n}", name, row_stats(rs, name)))
        lines.append("")
        errors = {}
        for r in sweep:
            if r["error"]:
                key = (r["method"], r["n"], r["error"])
                errors[key] = errors.get(key, 0) + 1
        for (method, n, msg), count in sorted(errors.items()):
            lines.append(f"* {method}, n = {n}: raised in {count} run(s): {msg}")
        if errors:
            lines.append("")
    return "\n".join(lines) + "\n"


def _commit():
    try:
        head = subprocess.run(
            ["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return (head + (" (with uncommitted changes)" if dirty else "")) if head else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--d", nargs="+", type=int, default=[8, 16])
    ap.add_argument("--k", nargs="+", type=int, default=[2, 3, 4])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--perms", type=int, default=5)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--n-dk", type=int, default=100000)
    ap.add_argument("--faithful-d", type=int, default=3)
    ap.add_argument("--faithful-k", type=int, default=2)
    ap.add_argument("--faithful-n", type=int, default=8000)
    ap.add_argument("--sweep", action="store_true", help="add the sample-size sweep (close_pair, d = 8, k = 3)")
    ap.add_argument("--sweep-n", nargs="+", type=int, default=[1000, 3000, 10000, 30000, 100000, 300000, 1000000])
    ap.add_argument("--sweep-perms", type=int, default=1, help="permutations per seed in the sweep")
    ap.add_argument("--cap", type=float, default=120.0, help="wall-time cap of one practical run, seconds")
    ap.add_argument("--cap-faithful", type=float, default=10.0, help="wall-time cap of one faithful run, seconds")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="bench_paper_rows_out")
    ap.add_argument("--resume", action="store_true", help="keep the runs in DIR/rows.partial.jsonl, do the rest")
    ap.add_argument(
        "--summarize", metavar="JSONL", nargs="+", help="only rebuild the tables from (partial) jsonl files"
    )
    args = ap.parse_args(argv)
    argv = sys.argv[1:] if argv is None else list(argv)

    if args.summarize:
        records = []
        for path in args.summarize:
            with open(path) as fh:
                records += [json.loads(line) for line in fh if line.strip()]
        meta = {
            "machine": "see the run",
            "commit": "see the run",
            "workers": "?",
            "seconds": float(sum(r["seconds"] for r in records)),
            "command": f"(rebuilt from {', '.join(os.path.basename(p) for p in args.summarize)}: {len(records)} runs; "
            "wall time = summed run time)",
        }
        text = markdown(records, meta)
        print(text)
        return text

    todo = tasks(args)
    os.makedirs(args.out, exist_ok=True)
    partial_path = os.path.join(args.out, "rows.partial.jsonl")
    command = "python3 benchmarks/bench_paper_rows.py " + " ".join(argv)
    records = []
    if args.resume and os.path.exists(partial_path):
        wanted = {task_key(t) for t in todo}
        with open(partial_path) as fh:
            records = [rec for rec in map(json.loads, filter(str.strip, fh)) if task_key(rec) in wanted]
        done = {task_key(rec) for rec in records}
        todo = [t for t in todo if task_key(t) not in done]
        print(f"[bench_paper_rows] resuming: {len(records)} runs kept from {partial_path}", file=sys.stderr)
    print(f"{summary()}; {args.workers} worker process(es), 1 BLAS thread each; {len(todo)} runs", file=sys.stderr)
    t0 = time.perf_counter()
    # resuming appends to the partial file (its runs stay as written); otherwise it starts afresh
    with open(partial_path, "a" if args.resume else "w") as partial:
        if args.workers > 1:
            import multiprocessing

            with multiprocessing.Pool(args.workers) as pool:
                stream = pool.imap_unordered(run_one, todo)
                collect(stream, records, partial, len(todo), t0, "bench_paper_rows", every=20)
        else:
            collect(map(run_one, todo), records, partial, len(todo), t0, "bench_paper_rows", every=20)
    meta = {
        "machine": summary(),
        "versions": versions(),
        "commit": _commit(),
        "workers": args.workers,
        "seconds": time.perf_counter() - t0,
        "command": command,
        "args": vars(args),
    }
    with open(os.path.join(args.out, "rows.json"), "w") as fh:
        json.dump({"meta": meta, "runs": records}, fh, indent=1)
    text = markdown(records, meta)
    with open(os.path.join(args.out, "rows.md"), "w") as fh:
        fh.write(text)
    print(text)
    return text


if __name__ == "__main__":
    main()
