"""benchmarks/bench_speed.py (the fast learner's time against one pass over the data): its table
against hand-computed medians and ratios, and its argument checks.  Nothing is timed here; the
measured table is in docs/benchmarks.md."""

import importlib
import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def speed():
    spec = importlib.util.spec_from_file_location("bench_speed", os.path.join(ROOT, "benchmarks", "bench_speed.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(seed, seconds, floor, exact=True, capped=False):
    r = {"seed": seed, "seconds": seconds, "floor": floor, "capped": capped}
    if not capped:
        r.update(relative_error=0.0 if exact else 1e-3, exact=exact, success=exact, false_success=False)
    return r


def test_the_table_gives_the_median_time_and_the_median_ratio_to_each_runs_floor(speed):
    runs = [_run(0, 2.0, 0.004), _run(1, 3.0, 0.002), _run(2, 10.0, 0.005, exact=False)]
    cell = {"family": "random", "d": 100, "k": 5, "n": 50_000, "options": {}, "runs": runs}
    meta = {"summary": "machine: test", "threads": "2", "seeds": 3, "cap": 600.0}
    text = speed.markdown([cell], meta)
    row = next(line for line in text.splitlines() if line.startswith("| random d=100 k=5"))
    cols = [c.strip() for c in row.strip("|").split("|")]
    # floors 2, 4, 5 ms -> median 4.00; times 2, 3, 10 -> median 3.00; ratios 500, 1500, 2000 -> median 1500
    assert cols[3] == "4.00" and cols[4] == "3.00" and cols[5] == "2.00" and cols[6] == "10.00"
    assert cols[7] == "1500" and cols[8] == "2/3" and cols[9] == "0"


def test_a_capped_run_is_counted_and_said(speed):
    runs = [_run(0, 2.0, 0.004), _run(1, 600.0, 0.004, capped=True)]
    cell = {"family": "random", "d": 20, "k": 20, "n": 20_000, "options": {}, "runs": runs}
    text = speed.markdown([cell], {"summary": "m", "threads": "2", "seeds": 2, "cap": 600.0})
    assert "(1 capped)" in text and "| 1/2 |" in text


@pytest.mark.parametrize("argv,match", [(["--seeds", "0"], "--seeds"), (["--cap", "-1"], "--cap")])
def test_bad_arguments_are_refused(speed, argv, match, capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        speed.main([*argv, "--out", str(tmp_path / "o")])
    assert exc.value.code == 2 and match in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_noisy_cell_gives_the_median_risk_ratio_instead_of_exactness(speed):
    runs = [_run(s, 9.0, 0.004) for s in range(3)]
    for r, ratio in zip(runs, [0.9, 1.2, 1.0]):
        r["risk_over_rate"] = ratio
    cell = {"family": "random", "d": 100, "k": 5, "n": 50_000, "options": {"sigma": 0.01}, "runs": runs}
    text = speed.markdown([cell], {"summary": "m", "threads": "2", "seeds": 3, "cap": 600.0})
    assert "noisy: 3/3 succeed | risk / (sigma^2 p / n_fit): median 1.00" in text


def test_internals_are_set_for_the_run_and_restored_even_on_a_bad_name(speed):
    from verified_relu import _lm

    before = _lm.FEW_PARAMETERS
    with speed._internals({"verified_relu._lm.FEW_PARAMETERS": before + 7}):
        assert _lm.FEW_PARAMETERS == before + 7
    assert _lm.FEW_PARAMETERS == before
    with pytest.raises(ValueError, match="NO_SUCH_NAME"):
        with speed._internals({"verified_relu._lm.FEW_PARAMETERS": 0, "verified_relu._lm.NO_SUCH_NAME": 1}):
            pass
    assert _lm.FEW_PARAMETERS == before


def test_the_ablation_rows_undo_constants_that_exist(speed):
    """Each ablation row names a module constant the learner has (so the row measures something)."""
    for _, _, _, _, options in speed.CELLS["ablation"]:
        for path in options.get("internals", {}):
            module, name = path.rsplit(".", 1)
            assert hasattr(importlib.import_module(module), name), path


def test_the_risk_ratio_uses_the_samples_the_learner_fitted(speed):
    """sigma^2 p / n_fit with n_fit the training fold the diagnostics name (hand-computed)."""
    from types import SimpleNamespace

    from verified_relu import ReLUNetwork

    true = ReLUNetwork([[1.0, 0.0]], [1.0])
    learned = ReLUNetwork([[1.0, 0.0]], [1.1])  # ||F - G||^2 = 0.01 E[relu(x1)^2] = 0.005
    res = SimpleNamespace(network=learned, diagnostics={"n_train": 800})
    # p = 1 * (2 + 1) + 2 = 5; sigma^2 p / n_fit = 0.01 * 5 / 800 = 6.25e-5; 0.005 / 6.25e-5 = 80
    assert speed._risk_over_rate(true, res, 0.1, 1, 2, 1000) == pytest.approx(80.0, rel=1e-12)
    res.diagnostics = {}
    # no n_train: all n = 1000 samples, sigma^2 p / n = 5e-5, 0.005 / 5e-5 = 100
    assert speed._risk_over_rate(true, res, 0.1, 1, 2, 1000) == pytest.approx(100.0, rel=1e-12)
