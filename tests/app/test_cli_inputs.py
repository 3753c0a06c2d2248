"""Bad input to the command line: one clear line on stderr, exit status 2, no output file.

Each case builds its inputs in a fresh directory, runs ``main([...])`` in-process, and checks
the message, the exit status and that the directory holds exactly the files it held before
(no partial output, no temp file left behind).  Also: ``verified_relu.data`` directly
(formats, memory maps, Gaussianity), Ctrl-C during a run, and one case via a subprocess.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from verified_relu import ReLUNetwork, instances
from verified_relu.app.cli import main
from verified_relu.data import (
    DataError,
    gaussianity_warnings,
    load_dataset,
    save_dataset,
)

ROOT = Path(__file__).resolve().parents[2]


def _files(tmp):
    return sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*"))


@pytest.fixture
def ws(tmp_path):
    """A workspace: a good dataset (d = 4), its true network, and helpers to write bad ones."""
    net = instances.make("random", 4, 2, rng=0)
    X, y = net.sample(300, rng=1)
    save_dataset(tmp_path / "good.npz", X, y)
    net.save(tmp_path / "true.json")
    ReLUNetwork(np.ones((1, 3)), [1.0]).save(tmp_path / "d3.json")
    return tmp_path, X, y


def _npz(path, **arrays):
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def _setup(case, tmp, X, y):
    """Write the bad input of ``case``; return the argv (paths relative to ``tmp``)."""

    def p(name):
        return str(tmp / name)

    out = ["--out", p("out")]
    if case == "missing_data":
        return ["learn", p("nope.npz"), "--k", "2", *out]
    if case == "unknown_extension":
        (tmp / "data.txt").write_text("1 2 3\n")
        return ["learn", p("data.txt"), "--k", "2", *out]
    if case == "npz_wrong_keys":
        _npz(tmp / "bad.npz", X=X, labels=y)
        return ["learn", p("bad.npz"), "--k", "2", *out]
    if case == "X_wrong_shape":
        _npz(tmp / "bad.npz", X=X[:, 0], y=y)
        return ["learn", p("bad.npz"), "--k", "2", *out]
    if case == "nan_in_X":
        Xn = X.copy()
        Xn[7, 2] = np.nan
        _npz(tmp / "bad.npz", X=Xn, y=y)
        return ["learn", p("bad.npz"), "--k", "2", *out]
    if case == "inf_in_y_npy":
        (tmp / "pair").mkdir()
        np.save(tmp / "pair" / "X.npy", X)
        np.save(tmp / "pair" / "y.npy", np.where(np.arange(len(y)) == 3, np.inf, y))
        return ["learn", p("pair"), "--k", "2", *out]
    if case == "y_length_mismatch":
        _npz(tmp / "bad.npz", X=X, y=y[:-1])
        return ["learn", p("bad.npz"), "--k", "2", *out]
    if case == "npy_pair_missing_y":
        (tmp / "pair").mkdir()
        np.save(tmp / "pair" / "X.npy", X)
        return ["learn", p("pair"), "--k", "2", *out]
    if case == "csv_non_numeric":
        (tmp / "bad.csv").write_text("a,b,y\n1.0,2.0,3.0\n1.0,oops,2.0\n")
        return ["learn", p("bad.csv"), "--k", "1", *out]
    if case == "csv_nan":
        (tmp / "bad.csv").write_text("a,b,y\n1.0,2.0,3.0\n1.0,2.0,nan\n")
        return ["learn", p("bad.csv"), "--k", "1", *out]
    if case == "csv_empty":
        (tmp / "bad.csv").write_text("")
        return ["learn", p("bad.csv"), "--k", "1", *out]
    if case == "csv_no_header":
        (tmp / "bad.csv").write_text("1.0,2.0,3.0\n4.0,5.0,6.0\n")
        return ["learn", p("bad.csv"), "--k", "1", *out]
    if case == "csv_ragged":
        (tmp / "bad.csv").write_text("a,b,y\n1.0,2.0,3.0\n1.0,2.0\n")
        return ["learn", p("bad.csv"), "--k", "1", *out]
    if case == "csv_unknown_target":
        save_dataset(tmp / "ok.csv", X, y)
        return ["learn", p("ok.csv"), "--k", "2", "--target", "label", *out]
    if case == "csv_no_label_column":
        (tmp / "nolabel.csv").write_text("a,b,c\n1.0,2.0,3.0\n4.0,5.0,6.0\n")
        return ["learn", p("nolabel.csv"), "--k", "1", *out]
    if case == "npz_not_a_zip":
        (tmp / "bad.npz").write_bytes(b"this is not a zip archive")
        return ["learn", p("bad.npz"), "--k", "2", *out]
    if case == "unknown_method":
        return ["learn", p("good.npz"), "--k", "2", "--method", "magic", *out]
    if case == "k_above_d":
        return ["learn", p("good.npz"), "--k", "9", *out]
    if case == "unknown_learner_option":
        return ["learn", p("good.npz"), "--k", "2", "--option", "bogus=1", *out]
    if case == "teacher_wrong_d":
        return ["learn", p("good.npz"), "--k", "2", "--teacher", p("d3.json"), *out]
    if case == "teacher_not_json":
        (tmp / "t.json").write_text("{not json")
        return ["learn", p("good.npz"), "--k", "2", "--teacher", p("t.json"), *out]
    if case == "out_is_a_file":
        (tmp / "out").write_text("a file")
        return ["learn", p("good.npz"), "--k", "2", "--out", p("out")]
    if case == "sample_two_sources":
        return [
            "sample",
            "--family",
            "random",
            "--network",
            p("true.json"),
            "--d",
            "3",
            "--k",
            "1",
            "--n",
            "10",
            "--out",
            p("s.npz"),
        ]
    if case == "sample_unknown_family":
        return ["sample", "--family", "nosuch", "--d", "3", "--k", "1", "--n", "10", "--out", p("s.npz")]
    if case == "sample_bad_param":
        return [
            "sample",
            "--family",
            "close_pair",
            "--d",
            "3",
            "--k",
            "2",
            "--param",
            "theta=7",
            "--n",
            "10",
            "--out",
            p("s.npz"),
        ]
    if case == "sample_out_extension":
        return ["sample", "--family", "random", "--d", "3", "--k", "1", "--n", "10", "--out", p("s.parquet")]
    if case == "sample_out_dir_missing":
        return ["sample", "--family", "random", "--d", "3", "--k", "1", "--n", "10", "--out", p("no/dir/s.npz")]
    if case == "sample_zero_n":
        return ["sample", "--network", p("true.json"), "--n", "0", "--out", p("s.npz")]
    if case == "eval_not_a_network":
        (tmp / "x.json").write_text(json.dumps({"format": "something.else"}))
        return ["eval", p("x.json"), p("good.npz")]
    if case == "eval_dimension_mismatch":
        return ["eval", p("d3.json"), p("good.npz")]
    if case == "eval_true_missing":
        return ["eval", p("true.json"), p("good.npz"), "--true", p("missing.json")]
    if case == "audit_k_above_d":
        return ["audit", "--d", "3", "--k", "4", "--eps", "0.1", "--R", "2"]
    if case == "audit_bad_eps":
        return ["audit", "--d", "3", "--k", "2", "--eps", "-0.1", "--R", "2"]
    if case == "audit_bad_R":
        return ["audit", "--d", "3", "--k", "2", "--eps", "0.1", "--R", "0.5"]
    if case == "audit_bad_delta":
        return ["audit", "--d", "3", "--k", "2", "--eps", "0.1", "--R", "2", "--delta", "1"]
    if case == "audit_not_an_int":
        return ["audit", "--d", "three", "--k", "2", "--eps", "0.1", "--R", "2"]
    if case == "report_not_a_result":
        return ["report", p("true.json"), "--out", p("out")]
    if case == "report_missing_result":
        return ["report", p("none.json"), "--out", p("out")]
    raise AssertionError(case)


CASES = {
    "missing_data": "nope.npz: no such file",
    "unknown_extension": "unknown extension '.txt'",
    "npz_wrong_keys": "missing array(s) ['y']",
    "X_wrong_shape": "X must be 2-dimensional",
    "nan_in_X": "X has a NaN/inf value at row 7, column 2",
    "inf_in_y_npy": "y has a NaN/inf value at row 3",
    "y_length_mismatch": "y has length 299 but X has 300 rows",
    "npy_pair_missing_y": "y.npy: no such file",
    "csv_non_numeric": "line 3, column 'b': 'oops' is not a number",
    "csv_nan": "y has a NaN/inf value at row 1",
    "csv_empty": "empty file",
    "csv_no_header": "the first line must be a header",
    "csv_ragged": "line 3 has 2 fields, the header has 3",
    "csv_unknown_target": "no column named 'label'",
    "csv_no_label_column": "columns are ['a', 'b', 'c']",
    "npz_not_a_zip": "not a readable .npz file",
    "unknown_method": "--method must be one of",
    "k_above_d": "--k must be in 1..d = 4 (the data's columns), got 9",
    "unknown_learner_option": "unknown --option(s) ['bogus'] for method 'fast'",
    "teacher_wrong_d": "--teacher has d = 3 but the data has 4 columns",
    "teacher_not_json": "not valid JSON",
    "out_is_a_file": "exists and is not a directory",
    "sample_two_sources": "exactly one of --family and --network",
    "sample_unknown_family": "invalid choice: 'nosuch'",
    "sample_bad_param": "theta",
    "sample_out_extension": "unknown extension '.parquet'",
    "sample_out_dir_missing": "does not exist",
    "sample_zero_n": "--n must be >= 1",
    "eval_not_a_network": "not a network or learning result",
    "eval_dimension_mismatch": "the network has d = 3 but the data has 4 columns",
    "eval_true_missing": "missing.json': no such file",
    "audit_k_above_d": "--k must be an int with 1 <= k <= d = 3",
    "audit_bad_eps": "--eps must be finite and > 0",
    "audit_bad_R": "--R must be finite and >= 1",
    "audit_bad_delta": "--delta must be finite and in (0, 1)",
    "audit_not_an_int": "invalid int value: 'three'",
    "report_not_a_result": "not a learning result",
    "report_missing_result": "none.json': no such file",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_one_line_exit_2_no_output(ws, capsys, case):
    tmp, X, y = ws
    argv = _setup(case, tmp, X, y)
    before = _files(tmp)
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.count("\n") == 1, err
    assert CASES[case] in err, err
    assert "Traceback" not in err and err.startswith("verified-relu")
    assert captured.out == ""
    assert _files(tmp) == before  # no output file, no temp file


def test_learn_interrupted_leaves_no_output(ws, capsys, monkeypatch):
    from verified_relu.app import cli

    tmp, _, _ = ws
    before = _files(tmp)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_learn_api", interrupt)
    assert main(["learn", str(tmp / "good.npz"), "--k", "2", "--out", str(tmp / "out")]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert _files(tmp) == before


@pytest.mark.parametrize("name", ["s.npz", "s.csv", "sdir"])
def test_sample_interrupted_while_writing_the_true_network_removes_the_data(ws, capsys, monkeypatch, name):
    from verified_relu.app import cli

    tmp, _, _ = ws
    before = _files(tmp)

    def interrupt(files):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_write_texts", interrupt)
    argv = ["sample", "--family", "random", "--d", "3", "--k", "1", "--n", "10", "--out", str(tmp / name)]
    assert main(argv) == 130
    assert _files(tmp) == before


def test_learn_failure_exits_1_and_keeps_the_result(ws, capsys):
    tmp, X, _ = ws
    # labels that no width-1 network fits: the fast learner reports failure (labels declared noiseless)
    save_dataset(tmp / "hard.npz", X, np.sin(3 * X[:, 0]) * X[:, 1])
    code = main(
        ["learn", str(tmp / "hard.npz"), "--k", "1", "--out", str(tmp / "out"), "--quiet", "--option", "noiseless=true"]
    )
    assert code == 1
    assert json.loads((tmp / "out" / "result.json").read_text())["success"] is False


def test_subprocess_bad_input_is_one_line(tmp_path):
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    r = subprocess.run(
        [sys.executable, "-m", "verified_relu", "learn", "missing.csv", "--k", "2"],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": path},
    )
    assert r.returncode == 2
    assert r.stderr == "verified-relu learn: error: missing.csv: no such file\n"
    assert list(tmp_path.iterdir()) == []


def test_usage_error_is_one_line(capsys):
    assert main(["learn"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the following arguments are required: DATA, --k" in err


# ----------------------------------------------------------------------------- verified_relu.data
@pytest.mark.parametrize("name", ["d.npz", "d.csv", "ddir", "ddir2/X.npy"])
def test_save_load_round_trip_is_exact(tmp_path, name):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 3)) * 1e-7, rng.standard_normal(50) * 1e9
    if name.endswith("X.npy"):
        (tmp_path / "ddir2").mkdir()
    save_dataset(tmp_path / name, X, y)
    X2, y2 = load_dataset(tmp_path / name)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    assert X2.dtype == np.float64 and y2.dtype == np.float64


def test_npy_pair_is_memory_mapped(tmp_path):
    X, y = np.arange(12.0).reshape(4, 3), np.arange(4.0)
    save_dataset(tmp_path / "pair", X, y)
    X2, _ = load_dataset(tmp_path / "pair")
    assert isinstance(X2, np.memmap) and not X2.flags.writeable
    X3, _ = load_dataset(tmp_path / "pair" / "X.npy", mmap=False)
    assert not isinstance(X3, np.memmap)


def test_csv_target_column(tmp_path):
    (tmp_path / "t.csv").write_text("label,a,b\n1,2,3\n4,5,6\n")
    X, y = load_dataset(tmp_path / "t.csv", target="label")
    np.testing.assert_array_equal(X, [[2, 3], [5, 6]])
    np.testing.assert_array_equal(y, [1, 4])


def test_csv_without_target_or_y_column_is_an_error_listing_the_columns(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("u,v,w\n1,2,3\n4,5,6\n")  # the old rule would have taken w as the label
    with pytest.raises(DataError) as info:
        load_dataset(path)
    message = str(info.value)
    assert info.value.path == str(path) and message.startswith(str(path))
    assert "columns are ['u', 'v', 'w']" in message
    assert "target=" in message and "--target NAME" in message
    X, y = load_dataset(path, target="w")  # naming the column works
    np.testing.assert_array_equal(X, [[1, 2], [4, 5]])
    np.testing.assert_array_equal(y, [3, 6])


@pytest.mark.parametrize("header", ["y,a,b", "a,y,b", "a,b,y"])
def test_csv_column_named_y_is_the_default_label_wherever_it_is(tmp_path, header):
    names = header.split(",")
    rows = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    (tmp_path / "t.csv").write_text(header + "\n" + "".join(",".join(map(repr, r)) + "\n" for r in rows))
    X, y = load_dataset(tmp_path / "t.csv")
    j = names.index("y")
    np.testing.assert_array_equal(y, [r[j] for r in rows])
    np.testing.assert_array_equal(X, [[v for i, v in enumerate(r) if i != j] for r in rows])


def _csv_of(path, header, X, y, label_at):
    """Write ``X`` and ``y`` as a CSV whose label column (named ``header[label_at]``) sits at ``label_at``."""
    table = np.insert(X, label_at, y, axis=1)
    path.write_text(",".join(header) + "\n" + "".join(",".join(map(repr, map(float, r))) + "\n" for r in table))


def test_cli_csv_without_label_column_exits_2_and_writes_nothing(ws, capsys):
    tmp, X, y = ws
    _csv_of(tmp / "f.csv", ["x0", "x1", "label", "x2", "x3"], X, y, 2)
    before = _files(tmp)
    for argv in (
        ["learn", str(tmp / "f.csv"), "--k", "2", "--out", str(tmp / "out")],
        ["eval", str(tmp / "true.json"), str(tmp / "f.csv")],
    ):
        assert main(argv) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1, captured.err
        err = captured.err
        assert err.startswith(f"verified-relu {argv[0]}: error: {tmp / 'f.csv'}: no label column"), err
        assert "columns are ['x0', 'x1', 'label', 'x2', 'x3']" in err and "--target NAME" in err
    assert _files(tmp) == before  # no out/ directory, no temp file


def test_cli_csv_label_by_target_or_by_the_name_y(ws, capsys):
    tmp, X, y = ws
    net = ReLUNetwork.load(tmp / "true.json")
    # labels y + 1 with y = F(x) noiseless: the MSE is 1 up to rounding; a wrong label or feature
    # column would give an MSE of order E[x^2] + E[F^2], not 1
    expected = float(np.mean((net(X) - (y + 1.0)) ** 2))
    assert expected == pytest.approx(1.0, abs=1e-9)
    _csv_of(tmp / "named.csv", ["x0", "x1", "label", "x2", "x3"], X, y + 1.0, 2)
    _csv_of(tmp / "ycol.csv", ["y", "x0", "x1", "x2", "x3"], X, y + 1.0, 0)
    for argv in (
        ["eval", str(tmp / "true.json"), str(tmp / "named.csv"), "--target", "label", "--json"],
        ["eval", str(tmp / "true.json"), str(tmp / "ycol.csv"), "--json"],
    ):
        assert main(argv) == 0
        payload = json.loads(capsys.readouterr().out)
        assert payload["n"] == X.shape[0] and payload["d"] == 4
        assert payload["mse"] == pytest.approx(expected, rel=1e-12)
    assert main(
        ["learn", str(tmp / "named.csv"), "--k", "2", "--target", "label", "--out", str(tmp / "run"), "--quiet"]
    ) in (0, 1)
    assert (tmp / "run" / "network.json").is_file() and (tmp / "run" / "result.json").is_file()


def test_csv_quoting_bom_and_blank_lines(tmp_path):
    (tmp_path / "q.csv").write_text('\ufeff\n"a","b","y"\n"1.5",2,3\n\n4,"5e-3",-6\n', encoding="utf-8")
    X, y = load_dataset(tmp_path / "q.csv")
    np.testing.assert_array_equal(X, [[1.5, 2.0], [4.0, 5e-3]])
    np.testing.assert_array_equal(y, [3.0, -6.0])


def test_data_error_is_a_value_error_naming_the_file(tmp_path):
    with pytest.raises(DataError) as info:
        load_dataset(tmp_path / "nope.npz")
    assert isinstance(info.value, ValueError) and info.value.path == str(tmp_path / "nope.npz")


def test_gaussianity_warnings():
    # Under N(0, I_5) each of the 3 * 5 + 10 statistics exceeds 5 standard errors with probability
    # 5.7e-7 (normal approximation): a false warning has probability < 2e-5 in each call below.
    rng = np.random.default_rng(1)
    n = 20000
    assert gaussianity_warnings(rng.standard_normal((n, 5))) == []
    # x2 = 0.2 + sqrt(0.96) z: mean z-score 0.2 sqrt(n) = 28 (missed with probability ~0), while
    # E x2^2 = 1 exactly and E x2^4 = 3 - 2 (0.2)^4 (z-score mean -0.05), so no second warning
    # beyond the 5-sigma rate.  (A plain shift z + 0.2 raises E x^2 to 1.04: variance z-score
    # 4.0 +- 1, 4th-moment 3.5 +- 1.1, a second warning in about a quarter of the seeds.)
    shifted = rng.standard_normal((n, 5))
    shifted[:, 2] = 0.2 + math.sqrt(1 - 0.2**2) * shifted[:, 2]
    (warning,) = gaussianity_warnings(shifted)
    assert "mean of 1 of 5 coordinate(s) (worst x2" in warning and "assume x ~ N(0, I_d)" in warning
    # mean 0, variance 1, 4th moment 9/5: 4th-moment z-score sqrt(n) (9/5 - 3) / sqrt(96) = -17.3,
    # with standard deviation sqrt(Var u^4 / 96) = 0.24 (E u^8 = 9): never above -5
    uniform = rng.uniform(-np.sqrt(3), np.sqrt(3), (n, 2))
    assert any("4th moment of 2 of 2" in w for w in gaussianity_warnings(uniform))
    z = rng.standard_normal((n, 1))  # correlation z-score sqrt(n) mean(z^2) = 141 +- 1.4
    assert any("correlation" in w for w in gaussianity_warnings(np.hstack([z, z])))


def test_learn_prints_the_gaussianity_warning(tmp_path, capsys):
    net = instances.make("random", 3, 1, rng=0)
    # U(-2, 2): E x^2 = 4/3, so the variance z-score is sqrt(n) (1/3) / sqrt(2) = 10.5 at n = 2000,
    # with standard deviation sqrt(Var x^2 / 2) = 0.84: below 5 only beyond 6.5 sigma, per
    # coordinate.  (At n = 500 it was 5.3 +- 0.84: no warning at all in ~5% of the seeds.)
    X = np.random.default_rng(2).uniform(-2, 2, (2000, 3))
    save_dataset(tmp_path / "u.npz", X, net(X))
    assert main(["learn", str(tmp_path / "u.npz"), "--k", "1", "--out", str(tmp_path / "o"), "--json"]) in (0, 1)
    payload = json.loads(capsys.readouterr().out)
    assert payload["warnings"] and all("N(0, I_d)" in w for w in payload["warnings"])


def test_missing_optional_dependency_is_one_line_exit_1(ws, capsys, monkeypatch):
    tmp, _, _ = ws
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    before = _files(tmp)
    assert main(["learn", str(tmp / "good.npz"), "--k", "2", "--method", "adam", "--out", str(tmp / "out")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "verified-relu learn: error:" in err and "torch" in err  # progress line + error
    assert _files(tmp) == before
