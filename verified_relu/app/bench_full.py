"""The full benchmark suite: exact recovery over a grid, sample size, width, speed, and Adam.

``verified-relu bench --suite full --out DIR [--workers 2]`` runs :func:`run_full` and writes
``results.json``, ``results.md`` and two figures (``success_vs_n.png``, ``error_vs_time.png``).
With several workers each worker uses one BLAS and one OpenMP thread (unless the environment says otherwise).

Parts (each row of ``results.json`` says which):

* ``recovery`` -- noiseless, every family of :data:`FAMILIES` (those that accept ``(d, k)``),
  ``d`` in ``{20, 50, 100}``, ``k`` in ``2..6``, ``n = 50 d k``; the number of seeds per ``d`` is
  in :data:`FULL` (instance seed ``s``, sample seed ``1000 + s``, learner seed ``2000 + s``).
* ``sample_size`` -- ``d = 20, k = 4``, ``n = m (d + 1) k`` for the multiples ``m`` of
  :data:`FULL`; the smallest ``m`` at which at least 95% of seeds succeed, per family.
* ``width`` -- the random and orthonormal families at ``k`` 8, 10 and 20, ``d = 20``, ``n = 50 d k``.
* ``speed`` -- ``d = 100, k = 5, n = 50 000``, random family.
* ``noise`` -- labels ``F(x) + sigma N(0, 1)``, ``d = 20, k = 4, n = 20 000``, ``sigma`` in
  ``{1e-3, 1e-1}``: the exact excess risk ``||F - G||^2`` of the fast learner against
  :func:`oracle_fit` (least squares with the true directions given, ``k + d`` parameters against the
  learner's ``k (d + 1) + d``).
* ``adam`` -- on the same data as the fast learner, Adam at widths ``k`` and ``4 k`` for each
  learning rate of its grid, each given ``adam_factor`` times the fast learner's wall time (the
  number of epochs is set from three timed epochs, after an untimed warm-up call, so that the
  cosine schedule ends within the budget); the best learning rate by held-out error is kept.
  Beside it, on the same data, the Expand-and-Cluster baseline (``expand_cluster``, rows of that
  method): its students get the wall time of one Adam row (``adam_factor`` times the fast
  learner's time per learning rate of Adam's grid), the epochs set the same way.

Errors are exact: ``squared_distance / norm_squared`` in closed form; exact recovery means
``<= 1e-10``.  The recovery and sample-size rows also record whether the sample provably does
not determine the true network (:func:`~verified_relu.identifiability.ambiguous_pair` on every
pair of neurons of the true network, with all samples): then no learner can be exact on it with
certainty, and the tables say how many runs that was.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from .. import instances
from ..metrics import relative_error
from .bench import EXACT, FALSE_SUCCESS

__all__ = ["FAMILIES", "FULL", "markdown_full", "oracle_fit", "plot_full", "run_full"]

#: (label, family, parameters) of the grid: :func:`verified_relu.instances.grid` ``("hard")``.
FAMILIES = instances.grid("hard")

FULL = {
    "recovery": {"d": (20, 50, 100), "k": (2, 3, 4, 5, 6), "seeds": {20: 10, 50: 3, 100: 2}, "per_dk": 50},
    "sample_size": {"d": 20, "k": 4, "multiples": (5, 10, 20, 40, 80), "seeds": 5},
    "width": {"families": ("random", "orthonormal"), "d": 20, "k": (8, 10, 20), "seeds": 3, "per_dk": 50},
    "speed": {"d": 100, "k": 5, "n": 50000, "seeds": 3},
    "noise": {
        "families": ("random", "orthonormal", "close_pair 1e-1", "dkkz"),
        "d": 20,
        "k": 4,
        "n": 20000,
        "sigmas": (1e-3, 1e-1),
        "seeds": 5,
    },
    "adam": {
        "d": 20,
        "k": 4,
        "seeds": 2,
        "per_dk": 50,
        "widths": (1, 4),
        "factor": 5.0,
        "lr_grid": (1e-3, 3e-3, 1e-2),
        "batch_size": 128,
        "expand_cluster": {"students": 10, "rho": 4.0, "lr": 3e-3},
    },
}


def _undetermined(net, X):
    """Relative distance of a certified alternative to the true network that fits every sample, else 0.0.

    Every pair of neurons whose wedge samples do not span ``R^d`` is tried
    (:func:`~verified_relu.identifiability.pair_certificate`, the learner's own check).
    """
    from ..identifiability import pair_certificate

    found = pair_certificate(net, X, EXACT)
    return 0.0 if found is None else float(found["relative_distance"])


def oracle_fit(net, X, y):
    """The least-squares fit of ``y`` over ``(mu, a)`` with the true unit directions of ``net`` given."""
    from ..network import ReLUNetwork

    U = net.weights / np.linalg.norm(net.weights, axis=1, keepdims=True)
    A = np.concatenate([np.maximum(X @ U.T, 0.0), X], axis=1)
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    k = U.shape[0]
    return ReLUNetwork(U, coef[:k], coef[k:])


def _noise_task(task, net):
    from ..learners import learn

    n, seed, sigma = task["n"], task["seed"], task["sigma"]
    X, y = net.sample(n, rng=1000 + seed, noise=sigma)
    row = {key: task[key] for key in ("part", "label", "family", "params", "d", "k", "n", "seed", "sigma")}
    t0 = time.perf_counter()
    res = learn(X, y, task["k"], method="fast", rng=2000 + seed)
    seconds = time.perf_counter() - t0
    excess = float(net.squared_distance(res.network))
    oracle = float(net.squared_distance(oracle_fit(net, X, y)))
    row.update(
        method="fast",
        excess_risk=excess,
        oracle_excess_risk=oracle,
        ratio=excess / oracle,
        relative_error=relative_error(net, res.network),
        exact=False,
        success=bool(res.success),
        seconds=seconds,
        false_success=False,
        message=res.message,
    )
    return [row]


def _task(task):
    """Run one task (a dict); returns its row.  Top level so that a process pool can pickle it."""
    from ..learners import learn

    part, family, params, d, k, n, seed = (task[key] for key in ("part", "family", "params", "d", "k", "n", "seed"))
    net = instances.make(family, d, k, rng=seed, **params)
    if part == "noise":
        return _noise_task(task, net)
    X, y = net.sample(n, rng=1000 + seed)
    row = {key: task[key] for key in ("part", "label", "family", "params", "d", "k", "n", "seed")}
    if "multiple" in task:
        row["multiple"] = task["multiple"]
    t0 = time.perf_counter()
    res = learn(X, y, k, method="fast", rng=2000 + seed, noiseless=True)
    seconds = time.perf_counter() - t0
    rel = relative_error(net, res.network)
    row.update(
        method="fast",
        relative_error=rel,
        exact=rel <= EXACT,
        success=bool(res.success),
        seconds=seconds,
        false_success=bool(res.success and rel > FALSE_SUCCESS),
        message=res.message,
    )
    if part in ("recovery", "sample_size"):
        row["undetermined"] = _undetermined(net, X)
    rows = [row]
    if part == "adam":
        rows += _adam_rows(task, X, y, net, seconds)
    return rows


def _epochs_within(method, X, y, k, short, budget):
    """Epochs of ``method`` (options ``short``) that fit in 90% of ``budget`` seconds, from timed
    short runs: an untimed first call takes the one-off costs (importing torch, first allocations),
    which would otherwise be counted as an epoch, then three epochs are timed."""
    from ..learners import learn

    learn(X, y, k, method=method, epochs=1, **short)
    t0 = time.perf_counter()
    learn(X, y, k, method=method, epochs=3, **short)
    epoch_seconds = (time.perf_counter() - t0) / 3
    return max(1, int(0.9 * budget / max(epoch_seconds, 1e-3)))


def _adam_rows(task, X, y, net, fast_seconds):
    from ..learners import learn

    opts = task["adam"]
    rows = []
    k = task["k"]
    budget_per_lr = opts["factor"] * fast_seconds
    for mult in opts["widths"]:
        width = mult * k
        # the epoch budget from timed epochs, so that the cosine schedule ends within the time budget
        short = dict(rng=3000 + task["seed"], width=width, lr_grid=(opts["lr_grid"][0],), batch_size=opts["batch_size"])
        epochs = _epochs_within("adam", X, y, k, short, budget_per_lr)
        t0 = time.perf_counter()
        res = learn(
            X,
            y,
            k,
            method="adam",
            rng=3000 + task["seed"],
            width=width,
            epochs=epochs,
            lr_grid=tuple(opts["lr_grid"]),
            batch_size=opts["batch_size"],
            time_budget=budget_per_lr * len(opts["lr_grid"]),
        )
        seconds = time.perf_counter() - t0
        rel = relative_error(net, res.network)
        row = {key: task[key] for key in ("part", "label", "family", "params", "d", "k", "n", "seed")}
        row.update(
            method=f"adam width {mult}k",
            width=width,
            epochs=epochs,
            relative_error=rel,
            exact=rel <= EXACT,
            success=bool(res.success),
            seconds=seconds,
            budget_seconds=budget_per_lr * len(opts["lr_grid"]),
            false_success=bool(res.success and rel > FALSE_SUCCESS),
            message=res.message,
        )
        rows.append(row)
    if "expand_cluster" in opts:
        rows.append(_expand_cluster_row(task, X, y, net, opts["factor"] * fast_seconds * len(opts["lr_grid"])))
    return rows


def _expand_cluster_row(task, X, y, net, budget):
    """The Expand-and-Cluster row: its students get ``budget`` seconds (the time of one Adam row),
    the epochs set from timed short runs as for Adam (after an untimed warm-up call)."""
    from ..learners import learn

    opts = task["adam"]
    ec = dict(opts["expand_cluster"])
    k = task["k"]
    short = dict(rng=3000 + task["seed"], batch_size=opts["batch_size"], finetune_iterations=0, **ec)
    epochs = _epochs_within("expand_cluster", X, y, k, short, budget)
    t0 = time.perf_counter()
    res = learn(
        X,
        y,
        k,
        method="expand_cluster",
        rng=3000 + task["seed"],
        epochs=epochs,
        batch_size=opts["batch_size"],
        time_budget=budget,
        **ec,
    )
    seconds = time.perf_counter() - t0
    rel = relative_error(net, res.network)
    row = {key: task[key] for key in ("part", "label", "family", "params", "d", "k", "n", "seed")}
    row.update(
        method="expand_cluster",
        width=res.diagnostics["width"],
        students=res.diagnostics["students"],
        epochs=epochs,
        clusters_kept=res.diagnostics["clusters_kept"],
        relative_error=rel,
        exact=rel <= EXACT,
        success=bool(res.success),
        seconds=seconds,
        budget_seconds=budget,
        false_success=bool(res.success and rel > FALSE_SUCCESS),
        message=res.message,
    )
    return row


def _tasks(config):
    tasks = []

    def add(part, label, family, params, d, k, n, seed, **extra):
        if instances.supports(family, d, k):
            tasks.append(dict(part=part, label=label, family=family, params=params, d=d, k=k, n=n, seed=seed, **extra))

    rec = config["recovery"]
    for d in rec["d"]:
        for label, family, params in FAMILIES:
            for k in rec["k"]:
                for s in range(rec["seeds"][d]):
                    add("recovery", label, family, params, d, k, rec["per_dk"] * d * k, s)
    ss = config["sample_size"]
    for label, family, params in FAMILIES:
        for m in ss["multiples"]:
            for s in range(ss["seeds"]):
                add("sample_size", label, family, params, ss["d"], ss["k"], m * (ss["d"] + 1) * ss["k"], s, multiple=m)
    wd = config["width"]
    for family in wd["families"]:
        for k in wd["k"]:
            for s in range(wd["seeds"]):
                add("width", family, family, {}, wd["d"], k, wd["per_dk"] * wd["d"] * k, s)
    sp = config["speed"]
    for s in range(sp["seeds"]):
        add("speed", "random", "random", {}, sp["d"], sp["k"], sp["n"], s)
    nz = config["noise"]
    for label, family, params in FAMILIES:
        if label in nz["families"]:
            for sigma in nz["sigmas"]:
                for s in range(nz["seeds"]):
                    add("noise", label, family, params, nz["d"], nz["k"], nz["n"], s, sigma=sigma)
    ad = config["adam"]
    for label, family, params in FAMILIES:
        for s in range(ad["seeds"]):
            add("adam", label, family, params, ad["d"], ad["k"], ad["per_dk"] * ad["d"] * ad["k"], s, adam=ad)
    return tasks


def with_seeds(config, seeds):
    """A copy of ``config`` with every part's number of seeds set to ``seeds``."""
    import copy

    config = copy.deepcopy(config)
    for part in config.values():
        part["seeds"] = {d: seeds for d in part["seeds"]} if isinstance(part["seeds"], dict) else seeds
    return config


def run_full(*, workers=1, progress=sys.stderr, config=None, parts=None, have_torch=True):
    """Run the full suite; returns ``rows`` (a list of dicts), in task order.

    ``parts`` restricts the run to some of the parts; ``have_torch=False`` drops the ``adam`` part.
    """
    config = FULL if config is None else config
    tasks = [t for t in _tasks(config) if (parts is None or t["part"] in parts) and (have_torch or t["part"] != "adam")]
    for i, t in enumerate(tasks):
        t["index"] = i
    results = [None] * len(tasks)
    start = time.perf_counter()

    def report(i, rows, done):
        results[i] = rows
        if progress is not None:
            r = rows[0]
            elapsed = time.perf_counter() - start
            eta = elapsed / done * (len(tasks) - done)
            print(
                f"[{done}/{len(tasks)} {elapsed:6.0f}s eta {eta:5.0f}s] {r['part']} {r['label']} d={r['d']} "
                f"k={r['k']} n={r['n']} seed={r['seed']}: error {r['relative_error']:.1e} ({r['seconds']:.1f}s)",
                file=progress,
                flush=True,
            )

    if workers <= 1:
        for done, t in enumerate(tasks, 1):
            report(t["index"], _task(t), done)
    else:
        import multiprocessing as mp

        # one thread per worker for BLAS and for torch's OpenMP pool (inherited by the spawned
        # workers): oversubscribed OpenMP threads spin-wait, and slow Adam's epochs down many times over
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")
        with mp.get_context("spawn").Pool(workers) as pool:
            for done, (i, rows) in enumerate(pool.imap_unordered(_indexed_task, tasks), 1):
                report(i, rows, done)
    return [row for rows in results for row in rows]


def _indexed_task(task):
    return task["index"], _task(task)


def _rate(rows):
    return sum(r["exact"] for r in rows), len(rows)


def smallest_multiple(rows, label):
    """Smallest sample-size multiple at which >= 95% of the runs of ``label`` are exact, or None."""
    sel = [r for r in rows if r["part"] == "sample_size" and r["label"] == label]
    for m in sorted({r["multiple"] for r in sel}):
        ok, tot = _rate([r for r in sel if r["multiple"] == m])
        if tot and ok >= 0.95 * tot:
            return m
    return None


def markdown_full(results):
    """The Markdown tables of a full-suite result dict: a section for each part that has rows."""
    rows, cfg = results["rows"], results["config"]
    out = []
    for part, section in _SECTIONS:
        sel = [r for r in rows if r["part"] == part]
        if sel:
            out += section(sel, cfg)
    return "\n".join(out) + "\n"


def _exact_cell(sel):
    """``exact / runs`` of the rows ``sel``, with ``[undetermined runs]`` when there are any; ``-`` for none."""
    ok, tot = _rate(sel)
    if not tot:
        return "-"
    und = sum(r.get("undetermined", 0.0) > 0 for r in sel)
    return f"{ok}/{tot}" + (f" [{und}]" if und else "")


def _md_recovery(rec, cfg):
    c = cfg["recovery"]
    out = [
        "## Exact recovery, n = 50 d k, noiseless",
        "",
        (
            "Cell: exact recoveries / runs (exact: relative squared L2 error <= 1e-10, computed in closed form "
            "from the true network); in brackets, runs whose sample provably does not determine the true "
            "network (a certified alternative fits every sample).  A dash: the family does not exist at that k."
        ),
        "",
    ]
    for d in c["d"]:
        seeds = c["seeds"][str(d)] if str(d) in c["seeds"] else c["seeds"][d]  # str keys once read from JSON
        out += [
            f"### d = {d} ({seeds} seeds)",
            "",
            "| family | " + " | ".join(f"k = {k}" for k in c["k"]) + " | median s | false success |",
            "|---|" + "---:|" * (len(c["k"]) + 2),
        ]
        out += [
            _md_recovery_row([r for r in rec if r["label"] == label and r["d"] == d], label, c["k"])
            for label, _, _ in FAMILIES
        ]
        out.append("")
    return out


def _md_recovery_row(sel, label, ks):
    """One family's row at one ``d``: a cell per ``k``, the median seconds and the false successes."""
    cells = [_exact_cell([r for r in sel if r["k"] == k]) for k in ks]
    runs = [r for r in sel if r["k"] in ks]
    med = f"{np.median([r['seconds'] for r in runs]):.2f}" if runs else "-"
    false = sum(r["false_success"] for r in runs)
    return f"| {label} | " + " | ".join(cells) + f" | {med} | {false} |"


def _md_sample_size(ss, cfg):
    c = cfg["sample_size"]
    mults = sorted({r["multiple"] for r in ss})
    out = [
        "## Sample size",
        "",
        (
            f"d = {c['d']}, k = {c['k']}, n = m (d + 1) k, {c['seeds']} seeds.  Cell: exact / runs "
            "[runs whose sample provably does not determine the network]."
        ),
        "",
        "| family | " + " | ".join(f"m = {m}" for m in mults) + " | smallest m with >= 95% |",
        "|---|" + "---:|" * (len(mults) + 1),
    ]
    for label, _, _ in FAMILIES:
        cells = [_exact_cell([r for r in ss if r["label"] == label and r["multiple"] == m]) for m in mults]
        m95 = smallest_multiple(ss, label)
        out.append(f"| {label} | " + " | ".join(cells) + f" | {m95 if m95 is not None else '> ' + str(mults[-1])} |")
    return out + [""]


def _md_width(wd, cfg):
    c = cfg["width"]
    out = [
        "## Width",
        "",
        f"d = {c['d']}, n = 50 d k.",
        "",
        "| family | k | exact / runs | median error | median s |",
        "|---|---:|---:|---:|---:|",
    ]
    for family in c["families"]:
        for k in c["k"]:
            sel = [r for r in wd if r["family"] == family and r["k"] == k]
            if sel:
                ok, tot = _rate(sel)
                out.append(
                    f"| {family} | {k} | {ok}/{tot} | {np.median([r['relative_error'] for r in sel]):.1e} | "
                    f"{np.median([r['seconds'] for r in sel]):.1f} |"
                )
    return out + [""]


def _md_speed(sp, cfg):
    c = cfg["speed"]
    return [
        "## Speed",
        "",
        (
            f"random family, d = {c['d']}, k = {c['k']}, n = {c['n']}, {len(sp)} seeds: "
            f"median wall time {np.median([r['seconds'] for r in sp]):.2f} s, exact "
            f"{_rate(sp)[0]}/{len(sp)}."
        ),
        "",
    ]


def _md_noise(nz, cfg):
    c = cfg["noise"]
    p = c["k"] * (c["d"] + 1) + c["d"]
    out = [
        "## Noisy labels",
        "",
        (
            f"d = {c['d']}, k = {c['k']}, n = {c['n']}, {c['seeds']} seeds, labels F(x) + sigma N(0, 1).  Excess "
            f"risk ||F - G||^2 (exact).  The oracle fits the output weights and the linear term by least "
            f"squares with the true directions given ({c['k'] + c['d']} parameters; the learner fits {p}); "
            f"the parametric rate sigma^2 p / n is given for the learner's p."
        ),
        "",
        "| family | sigma | learner (median) | oracle (median) | ratio (median) | ratio (max) | sigma^2 p / n |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, _, _ in FAMILIES:
        for sigma in c["sigmas"]:
            sel = [r for r in nz if r["label"] == label and r["sigma"] == sigma]
            if sel:
                out.append(
                    f"| {label} | {sigma:g} | {np.median([r['excess_risk'] for r in sel]):.2e} | "
                    f"{np.median([r['oracle_excess_risk'] for r in sel]):.2e} | "
                    f"{np.median([r['ratio'] for r in sel]):.2f} | {max(r['ratio'] for r in sel):.2f} | "
                    f"{sigma**2 * p / c['n']:.1e} |"
                )
    return out + [""]


def _md_adam(ad, cfg):
    c = cfg["adam"]
    methods = ["fast"] + [f"adam width {m}k" for m in c["widths"]]
    ec = c.get("expand_cluster")
    if ec is not None and any(r["method"] == "expand_cluster" for r in ad):
        methods.append("expand_cluster")
    out = [
        "## Against Adam",
        "",
        (
            f"d = {c['d']}, k = {c['k']}, n = 50 d k, {c['seeds']} seeds.  Adam gets {c['factor']:g}x the fast "
            f"learner's wall time per learning rate of {list(c['lr_grid'])} (best by held-out error), batch "
            f"{c['batch_size']}, float64.  Cell: exact / runs, median relative error."
        ),
        *(
            [
                "",
                (
                    f"expand_cluster: Expand-and-Cluster (Martinelli et al. 2024), {ec['students']} Adam students of "
                    f"width {ec['rho']:g} k at lr {ec['lr']:g} trained within the wall time of one Adam row, then "
                    f"clustering, least squares and Levenberg-Marquardt fine-tuning (not counted in the budget)."
                ),
            ]
            if "expand_cluster" in methods
            else []
        ),
        "",
        "| family | " + " | ".join(methods) + " |",
        "|---|" + "---:|" * len(methods),
    ]
    for label, _, _ in FAMILIES:
        cells = []
        for m in methods:
            sel = [r for r in ad if r["label"] == label and r["method"] == m]
            ok, tot = _rate(sel)
            cells.append(f"{ok}/{tot}, {np.median([r['relative_error'] for r in sel]):.1e}" if sel else "-")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return out + [""]


#: (part, the function writing its Markdown section from its rows and the config), in output order.
_SECTIONS = (
    ("recovery", _md_recovery),
    ("sample_size", _md_sample_size),
    ("width", _md_width),
    ("speed", _md_speed),
    ("noise", _md_noise),
    ("adam", _md_adam),
)


def plot_full(results, out):
    """Write ``success_vs_n.png`` and ``error_vs_time.png`` into the directory ``out``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .._io import atomic_path

    rows = results["rows"]
    paths = []
    ss = [r for r in rows if r["part"] == "sample_size"]
    if ss:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for label, _, _ in FAMILIES:
            sel = [r for r in ss if r["label"] == label]
            if not sel:
                continue
            mults = sorted({r["multiple"] for r in sel})
            rate = [np.mean([r["exact"] for r in sel if r["multiple"] == m]) for m in mults]
            ax.plot(mults, rate, marker="o", label=label)
        ax.axhline(0.95, color="grey", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_xlabel("samples / parameter count  (n / ((d+1) k))")
        ax.set_ylabel("exact recovery rate")
        ax.set_title("fast learner, d = 20, k = 4, noiseless")
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = os.path.join(out, "success_vs_n.png")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
        plt.close(fig)
        paths.append(path)
    rec_d = min((r["d"] for r in rows if r["part"] == "recovery"), default=None)
    timed = [r for r in rows if r["part"] == "adam" or (r["part"] == "recovery" and r["d"] == rec_d)]
    if timed:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for method, marker in (("fast", "o"), ("adam width 1k", "s"), ("adam width 4k", "^"), ("expand_cluster", "D")):
            sel = [r for r in timed if r["method"] == method]
            if sel:
                ax.scatter(
                    [r["seconds"] for r in sel],
                    [max(r["relative_error"], 1e-33) for r in sel],
                    s=12,
                    marker=marker,
                    alpha=0.6,
                    label=method,
                )
        ax.axhline(EXACT, color="grey", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("wall time (s)")
        ax.set_ylabel("relative squared L2 error (exact, floored at 1e-33)")
        ax.set_title(f"error against wall time (recovery runs at d = {rec_d}; Adam's own grid)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = os.path.join(out, "error_vs_time.png")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths
