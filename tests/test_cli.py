"""The command line: the demo runs and reports exact quantities; bad usage gets one clear line."""

import json
import subprocess
import sys

import numpy as np
import pytest

from verified_relu import __version__, instances
from verified_relu.cli import DEMO_DEFAULTS, main


def test_demo_json_reports_exact_values_consistent_with_the_network(capsys):
    assert main(["demo", "--json", "--n", "4000"]) == 0
    report = json.loads(capsys.readouterr().out)
    seeds = np.random.SeedSequence(DEMO_DEFAULTS["seed"]).spawn(3)
    net = instances.make("close_pair", DEMO_DEFAULTS["d"], DEMO_DEFAULTS["k"], rng=seeds[0], theta=DEMO_DEFAULTS["theta"])
    assert report["exact"]["norm_squared"] == net.norm_squared()
    assert report["exact"]["l1_norm"] == net.canonical().l1_norm
    for row in report["contractions"]:
        # E||M_hat - M||_F^2 = sum se^2, so by Markov P(err > 5 rms) <= 1/25; far less under the
        # chi-square approximation (the seed is fixed, so the test is deterministic)
        assert row["frobenius_error"] <= 5 * row["rms_standard_error"]
        exact = net.moment_contraction(row["l"], _demo_g())
        top = np.sort(np.abs(np.linalg.eigvalsh(exact)))[::-1][: DEMO_DEFAULTS["k"]]
        np.testing.assert_allclose(row["top_abs_eigenvalues"], top, rtol=1e-12)


def _demo_g():
    seeds = np.random.SeedSequence(DEMO_DEFAULTS["seed"]).spawn(3)
    g = np.random.default_rng(seeds[1]).standard_normal(DEMO_DEFAULTS["d"])
    return g / np.linalg.norm(g)


def test_demo_text_output(capsys):
    assert main(["demo", "--n", "2000"]) == 0
    text = capsys.readouterr().out
    assert "Exact L2 norms" in text and "50 digits" in text


def test_demo_quiet_prints_nothing(capsys):
    assert main(["demo", "--quiet", "--n", "2000"]) == 0
    assert capsys.readouterr().out == ""


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


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2


def test_console_entry_point_version():
    out = subprocess.run([sys.executable, "-m", "verified_relu", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"verified-relu {__version__}"
