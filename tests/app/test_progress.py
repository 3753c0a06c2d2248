"""Progress lines of long steps: on stderr, a line per stage, silent under --quiet or by default."""

import pytest

from tests.conftest import needs_torch
from verified_relu import instances, learn
from verified_relu.app.cli import main
from verified_relu.data import save_dataset


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("progress")
    net = instances.make("random", 5, 2, rng=3)
    X, y = net.sample(3000, rng=4)
    save_dataset(tmp / "d.npz", X, y)
    return tmp, net, X, y


def test_learn_prints_stage_lines_on_stderr_and_nothing_under_quiet(data, capsys):
    tmp, _, _, _ = data
    assert main(["learn", str(tmp / "d.npz"), "--k", "2", "--method", "netlearn", "--out", str(tmp / "a")]) in (0, 1)
    err = capsys.readouterr().err
    assert "[netlearn] moments:" in err and "[netlearn] search:" in err
    assert main(
        ["learn", str(tmp / "d.npz"), "--k", "2", "--method", "netlearn", "--out", str(tmp / "b"), "--quiet"]
    ) in (0, 1)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_the_library_is_silent_by_default_and_a_callable_receives_the_lines(data, capsys):
    _, _, X, y = data
    learn(X, y, 2, method="netlearn", rng=0)
    assert capsys.readouterr().err == ""
    seen = []
    learn(X, y, 2, method="netlearn", rng=0, progress=seen.append)
    names = [line.split(":")[0] for line in seen]
    assert "moments" in names and "search" in names


def test_report_announces_each_rerun(data, capsys):
    pytest.importorskip("matplotlib")  # the plot extra; the report tests need it under CI anyway
    from verified_relu.app.report import write_report

    tmp, net, X, y = data
    res = learn(X, y, 2, method="tensor", rng=0)
    lines = []
    write_report(res, tmp / "rep", teacher=net, X=X, y=y, sample_fractions=(0.5, 1.0), progress=lines.append)
    assert [line.split(" (")[-1] for line in lines if line.startswith("re-running")] == ["1 of 2)", "2 of 2)"]
    assert capsys.readouterr().err == ""


@needs_torch
def test_adam_reports_each_learning_rate(data):
    _, _, X, y = data
    lines = []
    learn(X, y, 2, method="adam", rng=0, epochs=2, lr_grid=(1e-3, 1e-2), progress=lines.append)
    per_lr = [line for line in lines if " of 2): " in line]
    assert [line.split(" ")[1] for line in per_lr] == ["0.001", "0.01"]


def test_stability_reports_its_stages_and_is_quiet_under_quiet(data, capsys):
    tmp, net, X, y = data
    from verified_relu.data import save_dataset as save

    save(tmp / "small.npz", X[:300], y[:300])
    args = ["stability", str(tmp / "small.npz"), "--k", "2", "--dps", "20", "--degrees", "2", "--no-probes"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "[stability] learning with method 'fast'" in err and "[stability] least squares and refinement" in err
    assert main([*args, "--quiet"]) == 0
    assert capsys.readouterr().err == ""
