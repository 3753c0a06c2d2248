"""benchmarks/bench_paper_rows.py (the papers' learners in three rows per cell): its statistics
against closed forms, its task list, one run's rows against their definition, the wall-time cap,
and the tables' shape.  The full grid takes about an hour on 2 cores; docs/benchmarks.md holds it."""

import argparse
import importlib.util
import json
import os
import signal

import numpy as np
import pytest
from scipy.stats import binom

from verified_relu import instances

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def rows():
    spec = importlib.util.spec_from_file_location(
        "bench_paper_rows", os.path.join(ROOT, "benchmarks", "bench_paper_rows.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("trials", [1, 7, 20, 100])
def test_clopper_pearson_at_the_ends_is_the_closed_form(rows, trials):
    # x = 0: upper = 1 - (a/2)^(1/n); x = n: lower = (a/2)^(1/n)  (a = 0.05)
    lo, hi = rows.clopper_pearson(0, trials)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / trials), rel=1e-12)
    lo, hi = rows.clopper_pearson(trials, trials)
    assert hi == 1.0 and lo == pytest.approx(0.025 ** (1 / trials), rel=1e-12)


@pytest.mark.parametrize(("successes", "trials"), [(1, 20), (13, 20), (19, 20), (50, 100), (97, 100)])
def test_clopper_pearson_inverts_the_binomial_tails(rows, successes, trials):
    # the interval's ends are where each one-sided tail of Binomial(trials, p) has mass 0.025
    lo, hi = rows.clopper_pearson(successes, trials)
    assert binom.sf(successes - 1, trials, lo) == pytest.approx(0.025, rel=1e-8)
    assert binom.cdf(successes, trials, hi) == pytest.approx(0.025, rel=1e-8)
    assert lo < successes / trials < hi


def _args(**kw):
    base = dict(
        methods=["cdgkm", "netlearn", "dk"],
        d=[8, 16],
        k=[2, 3, 4],
        seeds=3,
        perms=2,
        n=10000,
        n_dk=100000,
        faithful_d=3,
        faithful_k=2,
        faithful_n=8000,
        sweep=True,
        sweep_n=[1000, 10000],
        sweep_perms=1,
        cap=120.0,
        cap_faithful=10.0,
    )
    base.update(kw)
    return argparse.Namespace(**base)


def test_tasks_cover_every_cell_and_put_whole_permutations_first(rows):
    args = _args()
    todo = rows.tasks(args)
    cells = list(rows.cells(args.d, args.k))
    # the paper grid's families; dkkz only at k in {2, 4}
    assert {c[0] for c in cells} == {f for _, f, _ in instances.grid("paper")}
    assert not any(c[0] == "dkkz" and c[3] == 3 for c in cells)
    faithful = [f for f, _ in rows.FAMILIES if instances.supports(f, 3, 2)]
    n_main = len(cells) * args.seeds * args.perms * 3
    n_faithful = len(faithful) * args.seeds * args.perms * 2  # dk has no faithful profile
    n_sweep = len(args.sweep_n) * args.seeds * args.sweep_perms * 3
    assert len(todo) == n_main + n_faithful + n_sweep
    # permutation 0 of everything first, then cdgkm's and netlearn's further permutations, then dk's
    # (the costliest): an interrupted run holds whole permutations of every cell
    parts = [(t["perm"] > 0) + (t["perm"] > 0 and t["method"] == "dk") for t in todo]
    assert parts == sorted(parts)
    for part in (0, 1, 2):
        perms = [t["perm"] for t, q in zip(todo, parts) if q == part]
        assert perms == sorted(perms)
    # every task is one computation: the resume key tells them apart
    assert len({rows.task_key(t) for t in todo}) == len(todo)
    assert all(t["cap"] == (args.cap_faithful if t["kind"] == "faithful" else args.cap) for t in todo)
    assert {t["n"] for t in todo if t["kind"] == "cell" and t["method"] == "dk"} == {args.n_dk}
    assert {t["perm"] for t in todo if t["kind"] == "sweep"} == {0}


def _task(method="netlearn", perm=0, cap=60.0, kind="cell", n=3000):
    params = {family: p for _, family, p in instances.grid("paper")}["close_pair"]
    return dict(kind=kind, method=method, family="close_pair", params=params, d=8, k=2, n=n, seed=0, perm=perm, cap=cap)


def test_a_run_records_each_row_by_its_definition_and_does_not_depend_on_row_order(rows):
    a = rows.run_one(_task(perm=0))
    b = rows.run_one(_task(perm=1))
    assert a["error"] is None and set(a["rows"]) == {"paper steps", "final"}
    # the same data set in another row order: the same networks, parameter for parameter
    assert [a["rows"][r]["fingerprint"] for r in a["rows"]] == [b["rows"][r]["fingerprint"] for r in a["rows"]]
    # success of a row is its closed-form error against the paper's eps, recomputed here
    from verified_relu import learn

    net = instances.make("close_pair", 8, 2, rng=0, **_task()["params"])
    X, y = net.sample(3000, rng=1000)
    res = learn(X, y, 2, method="netlearn", rng=0, params=rows._params("netlearn", "cell", 8, 2))
    assert a["eps"] == res.diagnostics["eps"] and a["bound"] == a["eps"] ** 2
    for name, model in (("paper steps", res.checkpoints["paper"]), ("final", res.network)):
        err = float(net.squared_distance(model))
        assert a["rows"][name]["squared_error"] == err
        assert a["rows"][name]["ok"] == (err <= a["eps"] ** 2)


def test_a_run_past_its_cap_is_a_recorded_failure_and_the_alarm_is_restored(rows):
    before = signal.getsignal(signal.SIGALRM)
    rec = rows.run_one(_task(method="cdgkm", kind="faithful", cap=1e-3, n=8000) | {"d": 3})
    assert rec["error"] == "did not finish within 0.001 s (cap)"
    assert rec["rows"] == {"faithful": {"ok": False, "squared_error": None, "fingerprint": None}}
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_too_few_samples_is_a_recorded_failure_with_the_learners_message(rows):
    rec = rows.run_one(_task(method="cdgkm", n=1000))
    assert rec["error"].startswith("ValueError:") and "too few" in rec["error"]
    assert not any(r["ok"] for r in rec["rows"].values())


def test_the_tables_have_three_rows_per_cell(rows):
    recs = [rows.run_one(_task(perm=p)) for p in range(2)]
    recs += [rows.run_one(_task(kind="faithful", perm=p, n=8000) | {"d": 3}) for p in range(2)]
    recs += [rows.run_one(_task(method="dk", n=3000))]
    md = rows.markdown(recs, {})
    lines = [line for line in md.splitlines() if line.startswith("| close_pair | 8 | 2 |")]
    assert [line.split(" | ")[3] for line in lines] == ["faithful", "paper steps", "final"] * 2
    netlearn = lines[:3]
    faithful_ok = sum(r["rows"]["faithful"]["ok"] for r in recs[2:4])
    assert f"| faithful | {recs[2]['eps']:.3g} | {faithful_ok}/2 |" in netlearn[0]
    assert " yes " in netlearn[1] and " yes " in netlearn[2]  # identical across the two permutations
    assert "n/a (see below)" in lines[3] and "* faithful row: n/a: DKParams has no faithful profile" in md
    ok = sum(r["rows"]["final"]["ok"] for r in recs[:2])
    assert f"| final | {recs[0]['eps']:.3g} | {ok}/2 |" in netlearn[2]
    assert np.isfinite(recs[0]["seconds"])


def test_resume_keeps_the_runs_done_and_does_only_the_rest(rows, tmp_path, capsys):
    common = ["--methods", "netlearn", "--d", "8", "--k", "2", "--seeds", "1", "--n", "3000", "--workers", "1"]
    common += ["--cap-faithful", "0.001", "--out", str(tmp_path)]
    rows.main([*common, "--perms", "1"])
    partial = tmp_path / "rows.partial.jsonl"
    first = partial.read_text().splitlines()
    n_cells = len(list(rows.cells([8], [2])))
    n_faithful = sum(instances.supports(f, 3, 2) for f, _ in rows.FAMILIES)
    assert len(first) == n_cells + n_faithful
    rows.main([*common, "--perms", "2", "--resume"])
    second = partial.read_text().splitlines()
    assert second[: len(first)] == first  # kept as written
    recs = [json.loads(line) for line in second]
    assert sorted(r["perm"] for r in recs) == [0] * len(first) + [1] * len(first)
    assert f"resuming: {len(first)} runs kept" in capsys.readouterr().err
    saved = json.loads((tmp_path / "rows.json").read_text())
    assert len(saved["runs"]) == 2 * len(first)
