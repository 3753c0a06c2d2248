"""The command line: every command end to end, with expected numbers computed independently here.

Bad inputs are in ``test_cli_inputs.py``.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest

from verified_relu import ReLUNetwork, __version__, instances
from verified_relu.app.cli import DEMO_DEFAULTS, main
from verified_relu.data import load_dataset, save_dataset
from verified_relu.learners import CDGKMParams, DKParams, LearnResult, NetlearnParams
from verified_relu.metrics import match_neurons

ROOT = Path(__file__).resolve().parents[2]


def _mse_rounding_bound(net, X, y):
    """A bound on |fl(mean((net(X) - y)^2)) - mean((F(X) - y)^2)| for any float64 evaluation order.

    Standard forward error bounds (Higham, Accuracy and Stability, ch. 3-4) with the unit
    roundoff u: each residual is within delta_i = gamma_{d+k+3} (|y_i| + sum_j |mu_j| |w_j|.|x_i|
    + |a|.|x_i|) of the exact one; squaring and a mean of n terms (in any order: numpy's pairwise
    sum, a BLAS dot, chunked partial sums) add gamma_{n+2} mean(r^2).  Two computations of the same
    MSE therefore differ by at most twice this, whichever code paths and thread counts they take.
    """
    u = np.finfo(float).eps / 2
    gamma = lambda m: m * u / (1 - m * u)  # noqa: E731
    n, d = X.shape
    A = np.abs(np.asarray(X))
    env = np.abs(y) + (A @ np.abs(net.weights).T) @ np.abs(net.coefficients) + A @ np.abs(net.linear)
    delta = gamma(d + net.k + 3) * env * (1 + 1e-6)  # the envelope is itself a float: a margin for it
    r = np.abs(net(X) - y)
    return float(np.mean(2 * r * delta + delta**2) + gamma(n + 2) * np.mean(r**2) * (1 + 1e-6))


def _demo_net():
    seeds = np.random.SeedSequence(DEMO_DEFAULTS["seed"]).spawn(5)
    return instances.make(
        "close_pair", DEMO_DEFAULTS["d"], DEMO_DEFAULTS["k"], rng=seeds[0], theta=DEMO_DEFAULTS["theta"]
    )


def _demo_g():
    seeds = np.random.SeedSequence(DEMO_DEFAULTS["seed"]).spawn(5)
    g = np.random.default_rng(seeds[1]).standard_normal(DEMO_DEFAULTS["d"])
    return g / np.linalg.norm(g)


# ----------------------------------------------------------------------------- demo
def test_demo_json_reports_exact_values_learners_and_report(capsys, tmp_path):
    out_dir = tmp_path / "demo"
    assert main(["demo", "--json", "--n", "4000", "--out", str(out_dir)]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    net = _demo_net()
    assert report["exact"]["norm_squared"] == net.norm_squared()
    assert report["exact"]["l1_norm"] == net.canonical().l1_norm
    for row in report["contractions"]:
        # E||M_hat - M||_F^2 = sum se^2 = rms^2.  Under the normal approximation ||M_hat - M||_F^2
        # is a Gaussian quadratic form, and for any such Q, P(Q > 25 E Q) <= P(chi^2_1 > 25) =
        # 5.7e-7 (Szekely & Bakirov 2003: the tail beyond 1.5365 E Q is largest for rank one):
        # a 5-sigma test per degree (with the rms estimated from the same samples)
        assert row["frobenius_error"] <= 5 * row["rms_standard_error"]
        exact = net.moment_contraction(row["l"], _demo_g())
        top = np.sort(np.abs(np.linalg.eigvalsh(exact)))[::-1][: DEMO_DEFAULTS["k"]]
        np.testing.assert_allclose(row["top_abs_eigenvalues"], top, rtol=1e-12)
    assert set(report["learners"]) == {"fast", "cdgkm"}
    for summary in report["learners"].values():
        learned = ReLUNetwork.from_dict(summary["network"])
        err = net.squared_distance(learned)
        assert summary["squared_error"] == err
        assert summary["relative_squared_error"] == err / net.norm_squared()
        matching = match_neurons(net, learned)
        assert [p["angle"] for p in summary["matching"]["pairs"]] == [p.angle for p in matching.pairs]
        assert isinstance(summary["success"], bool) and summary["message"]
    # Whether a learner recovers the instance is a property of one run at one seed, not of the
    # command line: the learners' own tests assert it as a rate over seeds.  Here, only that the
    # demo reports what it learned, exactly (above).
    assert (out_dir / "report.html").is_file() and report["report"]["html"] == str(out_dir / "report.html")
    assert "[demo] learning with method='cdgkm'" in captured.err


def test_demo_text_output(capsys):
    assert main(["demo", "--n", "2200", "--no-report"]) == 0
    text = capsys.readouterr().out
    assert "Exact L2 norms" in text and "50 digits" in text
    # the 50-digit line shows 50 significant digits: those of the same closed form at 70 digits
    line = next(line for line in text.splitlines() if line.endswith("(50 digits)"))
    ctx = mpmath.MPContext()
    ctx.dps = 70
    assert line.split("=")[1].split()[0] == ctx.nstr(ctx.mpf(_demo_net().norm_squared(dps=70)), 50)
    assert "Learned by method='fast'" in text and "Learned by method='cdgkm'" in text
    assert "matched up to sign and permutation" in text


def test_demo_quiet_prints_nothing(capsys):
    assert main(["demo", "--quiet", "--n", "2200", "--no-report"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["demo", "--k", "0"], "k must be >= 1"),
        (["demo", "--d", "1", "--k", "2"], "d"),
        (["demo", "--n", "0"], "n must be >= 1"),
        (["demo", "--theta", "nan"], "theta"),
    ],
)
def test_demo_bad_input_one_line_exit_2(capsys, argv, needle):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


# ----------------------------------------------------------------------------- sample
@pytest.mark.parametrize("name", ["data.npz", "data.csv", "data"])
def test_sample_from_family_writes_data_and_true_network(tmp_path, capsys, name):
    out = tmp_path / name
    argv = [
        "sample",
        "--family",
        "close_pair",
        "--d",
        "6",
        "--k",
        "3",
        "--param",
        "theta=0.2",
        "--n",
        "500",
        "--seed",
        "11",
        "--out",
        str(out),
        "--json",
    ]
    assert main(argv) == 0
    payload = json.loads(capsys.readouterr().out)
    true_path = tmp_path / "data.true.json"
    assert payload["true_network"] == str(true_path)
    net = ReLUNetwork.load(true_path)
    expected = instances.make("close_pair", 6, 3, rng=np.random.SeedSequence(11).spawn(2)[0], theta=0.2)
    assert net == expected
    X, y = load_dataset(out)
    assert X.shape == (500, 6)
    np.testing.assert_array_equal(y, net(X))  # noiseless labels are F(X) exactly (CSV floats by repr)
    assert payload["norm_squared"] == net.norm_squared()


def test_sample_from_network_with_noise(tmp_path, capsys):
    net = ReLUNetwork([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]], [1.0, -2.0])
    net.save(tmp_path / "net.json")
    out = tmp_path / "noisy.npz"
    assert (
        main(
            [
                "sample",
                "--network",
                str(tmp_path / "net.json"),
                "--n",
                "20000",
                "--noise",
                "0.5",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == ""
    X, y = load_dataset(out)
    resid = y - net(X)
    # the noise is N(0, 0.25): its sample variance is within 5 standard errors sqrt(2/n) * 0.25
    assert abs(resid.var() - 0.25) <= 5 * 0.25 * np.sqrt(2 / len(y))
    assert not (tmp_path / "noisy.true.json").exists()


# ----------------------------------------------------------------------------- learn, eval, report
@pytest.fixture
def dataset(tmp_path):
    net = instances.make("random", 5, 2, rng=3)
    X, y = net.sample(1500, rng=4)
    save_dataset(tmp_path / "train.npz", X, y)
    Xt, yt = net.sample(700, rng=5)
    save_dataset(tmp_path / "test.csv", Xt, yt + 0.1 * np.random.default_rng(6).standard_normal(700))
    net.save(tmp_path / "true.json")
    return net, tmp_path


def test_learn_fast_writes_network_and_result(dataset, capsys):
    net, tmp = dataset
    out = tmp / "run"
    code = main(
        [
            "learn",
            str(tmp / "train.npz"),
            "--k",
            "2",
            "--seed",
            "1",
            "--out",
            str(out),
            "--teacher",
            str(tmp / "true.json"),
            "--json",
        ]
    )
    payload = json.loads(capsys.readouterr().out)
    learned = ReLUNetwork.load(out / "network.json")
    result = LearnResult.from_json((out / "result.json").read_text())
    assert result.network == learned and result.method == "fast"
    # the exit status is the learner's verdict (whether this one run succeeds is the learner
    # tests' business, as a rate over seeds)
    assert code == (0 if result.success else 1) and payload["success"] == result.success
    assert payload["squared_error"] == net.squared_distance(learned)
    X, y = load_dataset(tmp / "train.npz")
    expected = float(np.mean((learned(X) - y) ** 2))
    assert abs(payload["train_mse"] - expected) <= 2 * _mse_rounding_bound(learned, X, y)
    assert payload["warnings"] == []


def test_learn_dk_writes_the_predictor(dataset, capsys):
    from verified_relu.learners import HermitePredictor

    _, tmp = dataset
    out = tmp / "dk"
    code = main(
        [
            "learn",
            str(tmp / "train.npz"),
            "--k",
            "2",
            "--method",
            "dk",
            "--out",
            str(out),
            "--quiet",
            "--option",
            "n_samples=1400",
        ]
    )
    assert code in (0, 1)
    pred = HermitePredictor.from_dict(json.loads((out / "network.json").read_text()))
    assert json.loads((out / "result.json").read_text())["success"] == (code == 0)
    assert pred.d == 5


def test_eval_mse_and_exact_error(dataset, capsys):
    net, tmp = dataset
    other = ReLUNetwork(net.weights * 1.01, net.coefficients)
    other.save(tmp / "other.json")
    assert (
        main(["eval", str(tmp / "other.json"), str(tmp / "test.csv"), "--true", str(tmp / "true.json"), "--json"]) == 0
    )
    payload = json.loads(capsys.readouterr().out)
    X, y = load_dataset(tmp / "test.csv")
    expected = float(np.mean((other(X) - y) ** 2))
    assert abs(payload["mse"] - expected) <= 2 * _mse_rounding_bound(other, X, y)
    assert payload["squared_error"] == net.squared_distance(other)
    assert payload["relative_squared_error"] == net.squared_distance(other) / net.norm_squared()
    assert main(["eval", str(tmp / "other.json"), str(tmp / "test.csv")]) == 0
    captured = capsys.readouterr()
    assert f"MSE on {tmp / 'test.csv'} (700 samples)" in captured.out  # named by its path, not "held-out"
    assert "held-out" not in captured.out and captured.err == ""  # no learn record next to other.json: no warning


def test_report_of_a_learn_result(dataset, capsys):
    pytest.importorskip("matplotlib")
    _, tmp = dataset
    assert main(
        [
            "learn",
            str(tmp / "train.npz"),
            "--k",
            "2",
            "--method",
            "cdgkm",
            "--out",
            str(tmp / "c"),
            "--teacher",
            str(tmp / "true.json"),
            "--quiet",
        ]
    ) in (0, 1)
    assert main(["report", str(tmp / "c" / "result.json"), "--teacher", str(tmp / "true.json"), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["files"]["html"] == str(tmp / "c" / "report.html")
    assert (tmp / "c" / "report.html").stat().st_size > 0 and (tmp / "c" / "report.md").is_file()


# ----------------------------------------------------------------------------- audit
def test_audit_json_equals_the_theory_profiles(capsys):
    assert main(["audit", "--d", "10", "--k", "2", "--eps", "0.1", "--R", "2", "--json"]) == 0
    papers = json.loads(capsys.readouterr().out)["papers"]
    c = CDGKMParams.from_theory(10, 2, 0.1, 2.0, 0.1, dps=30)
    assert papers["CDGKM"]["N per round"]["value"] == mpmath.nstr(c.N_per_round, 30)
    assert papers["CDGKM"]["paths"]["value"] == mpmath.nstr(c.paths, 30)
    with mpmath.workdps(30):
        total = 2 * c.N_per_round + c.n_val
        assert papers["CDGKM"]["samples"]["value"] == mpmath.nstr(total, 30)
    n = NetlearnParams.from_theory(10, 2, 0.1, 2.0, 0.1)
    assert papers["CN"]["N"]["value"] == mpmath.nstr(n.N, 30)
    q = DKParams.from_theory(10, 2, 0.1, 2.0, 0.1, dps=30)
    assert papers["DK"]["D"]["value"] == q.D
    assert papers["DK"]["n_samples"]["value"] == mpmath.nstr(q.n_samples, 30)


def test_audit_text_side_by_side(capsys):
    assert main(["audit", "--d", "20", "--k", "4", "--eps", "0.1", "--R", "4"]) == 0
    text = capsys.readouterr().out
    assert "Side by side:" in text and "CDGKMParams.from_theory" in text and "DKParams.from_theory" in text


# ----------------------------------------------------------------------------- help, version, entry point
@pytest.mark.parametrize("command", ["demo", "sample", "learn", "eval", "audit", "report", "bench", "check"])
def test_every_command_has_help_with_an_example(capsys, command):
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert "example:" in text and "verified-relu " + command in text
    if command != "check":
        assert "--quiet" in text and "--json" in text


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2


def test_console_entry_point_version():
    out = subprocess.run(
        [sys.executable, "-m", "verified_relu", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"verified-relu {__version__}"


def test_subprocess_sample_learn_eval_round_trip(tmp_path):
    def run(*argv):
        return subprocess.run(
            [sys.executable, "-m", "verified_relu", *argv],
            check=False,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
        )

    # the package from this checkout, installed or not
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": path}

    r = run("sample", "--family", "random", "--d", "4", "--k", "2", "--n", "800", "--out", "d.npz", "--quiet")
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", r.stderr
    r = run("learn", "d.npz", "--k", "2", "--out", "run", "--json", "--quiet")
    success = json.loads((tmp_path / "run" / "result.json").read_text())["success"]
    assert r.returncode == (0 if success else 1), r.stderr  # exit status 1: failure reported, files written
    r = run("eval", "run/network.json", "d.npz", "--true", "d.true.json", "--json")
    assert r.returncode == 0, r.stderr
    payload = json.loads(r.stdout)
    true, learned = ReLUNetwork.load(tmp_path / "d.true.json"), ReLUNetwork.load(tmp_path / "run" / "network.json")
    assert payload["squared_error"] == true.squared_distance(learned)


def test_eval_mse_is_chunked_exactly(tmp_path):
    from verified_relu.app.cli import _chunked_mse

    net = instances.make("random", 3, 2, rng=0)
    X, y = net.sample(100, rng=1, noise=0.3)
    save_dataset(tmp_path / "pair", X, y)
    Xm, ym = load_dataset(tmp_path / "pair")
    expected = float(np.mean((net(X) - y) ** 2))
    bound = _mse_rounding_bound(net, X, y)
    assert 0 < bound < 1e-12 * expected  # the check below is sharp
    assert abs(_chunked_mse(net, Xm, ym, chunk=7) - expected) <= 2 * bound


def test_stability_command(tmp_path, capsys):
    import json

    from verified_relu.app.cli import main

    data = tmp_path / "d.npz"
    assert (
        main(["sample", "--family", "random", "--d", "4", "--k", "2", "--n", "800", "--out", str(data), "--quiet"]) == 0
    )
    capsys.readouterr()
    assert main(["stability", str(data), "--k", "2", "--dps", "30", "--degrees", "2,4", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = doc["rows"]
    learner_rows = [r for r in rows if not r["step"].startswith("probe")]
    assert learner_rows and not any(r["flagged"] for r in learner_rows)  # a well-conditioned instance
    assert any(r["flagged"] for r in rows if "KNOWN BAD" in r["step"])  # the planted ill-conditioned probe
    assert main(["stability", str(tmp_path / "missing.npz"), "--k", "2"]) == 2
    assert "error" in capsys.readouterr().err
