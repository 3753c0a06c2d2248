"""benchmarks/bench_robust.py: the runs ``--cases`` builds from a file are those of the full run
(same data and seeds), and a malformed row is an error naming the missing field.  Nothing is run
or timed here; the measured tables are in docs/benchmarks.md."""

import importlib.util
import json
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def robust():
    saved = dict(os.environ)  # the script pins the BLAS thread variables at import: keep the suite's
    try:
        path = os.path.join(ROOT, "benchmarks", "bench_robust.py")
        spec = importlib.util.spec_from_file_location("bench_robust", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return module


def test_cases_rebuild_the_full_runs_tasks(robust, tmp_path):
    full = robust._tasks([8], [2, 4], 3, ["clump", "close_pair"])
    rows = [
        {"family": t[0], "params": t[1], "d": t[2], "k": t[3], "seed": t[5], "variant": t[7], "exact": False}
        for t in full
    ]
    f = tmp_path / "rows.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert robust._cases(str(f)) == full
    g = tmp_path / "robust.json"
    g.write_text(json.dumps({"meta": {}, "rows": rows[:2]}))
    assert robust._cases(str(g)) == full[:2]


def test_a_row_without_a_field_is_an_error_naming_it(robust, tmp_path):
    f = tmp_path / "rows.jsonl"
    f.write_text(json.dumps({"family": "clump", "params": {}, "d": 8, "k": 2, "variant": "base"}) + "\n")
    with pytest.raises(SystemExit, match="row 1 lacks seed"):
        robust._cases(str(f))
    f.write_text(json.dumps({"family": "clump", "params": {}, "d": 8, "k": 2, "seed": 0, "variant": "perm"}) + "\n")
    with pytest.raises(SystemExit, match="variant must be base or ulp"):
        robust._cases(str(f))
