"""What a new user meets first: the command line's messages, its output locations, and the
examples of the README and docs.

Each test runs the command as a user would (in-process ``main([...])``, once via a subprocess)
and checks the exit status, the words of the message, and which files exist afterwards.
Expected values come from an independent source: ``hashlib`` for the provenance digest, the
options dataclasses for ``--list-options``, mpmath at a higher precision for the 50 digits.
"""

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import mpmath
import numpy as np
import pytest

from verified_relu import ReLUNetwork, instances
from verified_relu.app.cli import main
from verified_relu.data import load_dataset, save_dataset
from verified_relu.learners import registry

ROOT = Path(__file__).resolve().parents[2]


def _files(root):
    """Every path under ``root`` with its bytes (so a rewrite of the same name is seen too)."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


@pytest.fixture
def ws(tmp_path):
    """A workspace: Gaussian training and held-out data from a known network, d = 4, k = 2."""
    net = instances.make("random", 4, 2, rng=0)
    X, y = net.sample(600, rng=1)
    save_dataset(tmp_path / "train.npz", X, y)
    Xt, yt = net.sample(300, rng=2)
    save_dataset(tmp_path / "test.npz", Xt, yt)
    net.save(tmp_path / "true.json")
    return tmp_path, net


def _learn(tmp, *extra, out="run"):
    return main(["learn", str(tmp / "train.npz"), "--k", "2", "--out", str(tmp / out), "--quiet", *extra])


def _unwritable_dir(tmp_path):
    """A directory in which no file can be created: a read-only mode for a normal user; for root
    (whom modes do not stop) a read-only system directory such as /sys, when there is one."""
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        return ro
    for candidate in (Path("/sys"), Path("/proc")):
        try:
            fd, name = tempfile.mkstemp(dir=candidate)
        except OSError:
            return candidate
        os.close(fd)
        os.unlink(name)
    pytest.skip("no directory here refuses a new file to this user")


# ----------------------------------------------------------------------------- item: eval names its data
def test_learn_records_the_training_data_and_its_sha256(ws):
    tmp, _ = ws
    assert _learn(tmp) in (0, 1)
    record = json.loads((tmp / "run" / "result.json").read_text())["diagnostics"]["training_data"]
    assert record["sha256"] == hashlib.sha256((tmp / "train.npz").read_bytes()).hexdigest()
    assert record["path"] == str(tmp / "train.npz")
    assert Path(record["resolved_path"]) == (tmp / "train.npz").resolve()


def test_eval_names_the_file_and_warns_on_the_training_data(ws, capsys):
    tmp, _ = ws
    assert _learn(tmp) in (0, 1)
    capsys.readouterr()
    for network in ("network.json", "result.json"):
        assert main(["eval", str(tmp / "run" / network), str(tmp / "train.npz")]) == 0
        captured = capsys.readouterr()
        assert f"MSE on {tmp / 'train.npz'} (600 samples)" in captured.out
        assert "held-out" not in captured.out
        assert captured.err.count("\n") == 1 and captured.err.startswith("warning: ")
        assert "was learned from" in captured.err and "training error" in captured.err
    # the same bytes under another name are the same data
    shutil.copy(tmp / "train.npz", tmp / "copy.npz")
    assert main(["eval", str(tmp / "run" / "network.json"), str(tmp / "copy.npz"), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["is_training_data"] is True and "training error" in captured.err


def test_eval_on_other_data_gives_no_warning(ws, capsys):
    tmp, net = ws
    assert _learn(tmp) in (0, 1)
    capsys.readouterr()
    assert main(["eval", str(tmp / "run" / "network.json"), str(tmp / "test.npz"), "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and json.loads(captured.out)["is_training_data"] is False
    # a network.json that is not the network of the result.json beside it: that record is not its own
    other = ReLUNetwork(net.weights * 1.5, net.coefficients)
    (tmp / "run" / "network.json").write_text(json.dumps(other.to_dict()))
    assert main(["eval", str(tmp / "run" / "network.json"), str(tmp / "train.npz")]) == 0
    assert capsys.readouterr().err == ""


# ----------------------------------------------------------------------------- item: unwritable --out
def _commands(tmp, target):
    """Every command that writes, each writing under ``target``."""
    data, true = str(tmp / "train.npz"), str(tmp / "true.json")
    return {
        "learn": ["learn", data, "--k", "2", "--out", str(target / "run")],
        "sample": ["sample", "--network", true, "--n", "10", "--out", str(target / "s.npz")],
        "sample npy": ["sample", "--network", true, "--n", "10", "--out", str(target / "pair")],
        "sample --true-out": [
            "sample",
            "--family",
            "random",
            "--d",
            "3",
            "--k",
            "1",
            "--n",
            "10",
            "--out",
            str(tmp / "s.npz"),
            "--true-out",
            str(target / "t.json"),
        ],
        "demo": ["demo", "--out", str(target / "demo")],
        "report": ["report", str(tmp / "result.json"), "--out", str(target / "rep")],
        "bench": ["bench", "--suite", "quick", "--out", str(target / "b")],
        "bench nested": ["bench", "--suite", "quick", "--out", str(target / "a" / "b")],
        "stability": ["stability", data, "--k", "2", "--out", str(target / "s.json")],
        "check": ["check", "--only", "hermite.relu_coefficients", "--json", str(target / "c.json")],
    }


def _fake_result(tmp, net):
    from verified_relu.learners import learn

    X, y = load_dataset(tmp / "train.npz")
    (tmp / "result.json").write_text(learn(X, y, 2, method="tensor", rng=0).to_json())


@pytest.mark.parametrize("name", list(_commands(Path("t"), Path("t"))))
def test_unwritable_out_is_refused_before_any_work(ws, tmp_path, capsys, name):
    tmp, net = ws
    _fake_result(tmp, net)
    ro = _unwritable_dir(tmp_path)
    before, before_ro = _files(tmp), sorted(os.listdir(ro))
    assert main(_commands(tmp, ro)[name]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line: no progress line, i.e. no work started
    assert f"cannot write in directory {str(ro)!r}" in err and "Errno" not in err
    assert _files(tmp) == before and sorted(os.listdir(ro)) == before_ro


@pytest.mark.parametrize("name", ["learn", "sample", "demo", "report", "bench", "stability", "check"])
def test_out_under_a_file_is_refused(ws, capsys, name):
    tmp, net = ws
    _fake_result(tmp, net)
    (tmp / "afile").write_text("x")
    before = _files(tmp)
    assert main(_commands(tmp, tmp / "afile")[name]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{str(tmp / 'afile')!r} is not a directory" in err
    assert _files(tmp) == before


# ----------------------------------------------------------------------------- item: no silent overwrite
def test_learn_refuses_an_existing_run_unless_forced(ws, capsys):
    tmp, _ = ws
    assert _learn(tmp) in (0, 1)
    before = _files(tmp)
    capsys.readouterr()
    assert _learn(tmp, "--seed", "5") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds network.json, result.json" in err and "--force" in err
    assert _files(tmp) == before
    assert _learn(tmp, "--seed", "5", "--force") in (0, 1)
    assert int(json.loads((tmp / "run" / "result.json").read_text())["seed_entropy"]) == 5  # the new run


def test_learn_into_an_existing_empty_directory_is_fine(ws):
    tmp, _ = ws
    (tmp / "run").mkdir()
    assert _learn(tmp) in (0, 1)
    assert (tmp / "run" / "network.json").is_file()


def test_report_and_bench_refuse_existing_outputs(ws, capsys):
    tmp, net = ws
    _fake_result(tmp, net)
    for name, files, argv in (
        ("report", ("report.html",), ["report", str(tmp / "result.json"), "--out", str(tmp / "rep")]),
        ("report default", ("report.md",), ["report", str(tmp / "result.json")]),
        ("bench", ("results.json",), ["bench", "--suite", "quick", "--out", str(tmp / "b")]),
        ("demo", ("report.html",), ["demo", "--out", str(tmp / "d")]),
    ):
        folder = {"report": tmp / "rep", "report default": tmp, "bench": tmp / "b", "demo": tmp / "d"}[name]
        folder.mkdir(exist_ok=True)
        for f in files:
            (folder / f).write_text("mine")
        before = _files(tmp)
        assert main(argv) == 2, name
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--force" in err and files[0] in err, (name, err)
        assert _files(tmp) == before


def test_demo_may_overwrite_its_own_default_directory(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out" / "demo").mkdir(parents=True)
    (tmp_path / "out" / "demo" / "report.html").write_text("an earlier demo's report")
    assert main(["demo", "--d", "6", "--k", "2", "--n", "3000", "--quiet"]) == 0
    assert (tmp_path / "out" / "demo" / "report.html").read_text().startswith("<")
    assert main(["demo", "--help"]) == 0
    assert "which a re-run overwrites" in " ".join(capsys.readouterr().out.split())


# ----------------------------------------------------------------------------- item: 50 digits
def test_norm_squared_at_50_digits_prints_50_digits():
    # two orthogonal unit neurons: E[F^2] = 1/2 + 1/2 + 2 E[relu(x1) relu(x2)] = 1 + 1/pi
    net = ReLUNetwork([[1.0, 0.0], [0.0, 1.0]], [1.0, 1.0])
    before = mpmath.mp.dps
    value = net.norm_squared(dps=50)
    assert mpmath.mp.dps == before
    ctx = mpmath.MPContext()
    ctx.dps = 70
    assert str(value) == ctx.nstr(1 + 1 / ctx.pi, 50)
    assert len(str(value).replace(".", "")) == 50


def test_readme_prints_the_50_digits():
    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index("## A first look") :]
    block = block[block.index("```python\n") + 10 : block.index("```", block.index("```python\n") + 10)]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(block, "<README>", "exec"), {})
    lines = [line for line in buf.getvalue().splitlines() if line.strip()]
    value = ReLUNetwork([[1.0, 0.0], [0.6, 0.8]], [1.0, -1.0]).norm_squared(dps=50)
    assert str(value) in lines and len(str(value).replace(".", "").lstrip("0")) == 50
    assert str(value) in readme  # the page shows the digits it prints


# ----------------------------------------------------------------------------- item: stability
def test_stability_help_states_the_limits_and_the_pred_column(capsys):
    assert main(["stability", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "n <= 5000" in text and "d <= 12" in text and "--rows N" in text
    assert "pred: the digits the condition estimate predicts float64 loses" in text


def test_stability_size_error_names_the_cli_remedy(tmp_path, capsys):
    net = instances.make("random", 3, 1, rng=0)
    X, y = net.sample(5001, rng=1)
    save_dataset(tmp_path / "big.npz", X, y)
    before = _files(tmp_path)
    assert main(["stability", str(tmp_path / "big.npz"), "--k", "1", "--out", str(tmp_path / "s.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "n = 5001" in err and "--rows 5000" in err and "dps=None" not in err
    assert err.startswith("verified-relu stability: error: the data has")
    assert _files(tmp_path) == before


def test_stability_table_names_every_step_in_full_and_explains_pred(tmp_path, capsys):
    net = instances.make("random", 3, 1, rng=0)
    X, y = net.sample(3000, rng=1)
    save_dataset(tmp_path / "d.npz", X, y)
    argv = ["stability", str(tmp_path / "d.npz"), "--k", "1", "--dps", "30", "--degrees", "2", "--rows", "400"]
    assert main([*argv, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["settings"]["n"] == 400  # --rows
    assert main(argv) == 0
    text = capsys.readouterr().out
    flat = " ".join(text.split())  # a long name wraps onto lines of its own, at spaces
    assert any(row["step"].startswith("probe") for row in doc["rows"])
    for row in doc["rows"]:
        assert " ".join(f"{row['step']}: {row['quantity']}".split()) in flat  # probe names included, none cut
    assert "..." not in text.replace(", ..., ", "")
    assert max(len(line) for line in text.splitlines() if "flagged row(s)" not in line) <= 140
    assert "pred: the digits the condition estimate predicts" in flat


def test_docs_cli_has_a_stability_section():
    page = (ROOT / "docs" / "cli.md").read_text()
    section = page[page.index("## stability") :]
    assert "n <= 5000" in section and "d <= 12" in section and "pred" in section and "--rows" in section


# ----------------------------------------------------------------------------- item: torch hint
def test_torch_hint_names_a_command_for_the_tasks_venv(ws, capsys, monkeypatch):
    from verified_relu.learners.adam import TORCH_HINT

    # the extra the hint installs exists (read as text: tomllib is Python 3.11+, the package 3.10+)
    pyproject = (ROOT / "pyproject.toml").read_text()
    section = pyproject[pyproject.index("[project.optional-dependencies]") :]
    section = section[: section.find("\n[", 1) if "\n[" in section[1:] else len(section)]
    assert any(line.split("=")[0].strip() == "torch" for line in section.splitlines() if "=" in line)
    assert '.venv/bin/python -m pip install -e ".[torch]"' in TORCH_HINT
    assert 'pip install "verified-relu[torch]"' not in TORCH_HINT  # not on PyPI under that name
    tmp, _ = ws
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    assert (
        main(["learn", str(tmp / "train.npz"), "--k", "2", "--method", "adam", "--out", str(tmp / "a"), "--quiet"]) == 1
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and TORCH_HINT in err
    assert not (tmp / "a").exists()


def test_docs_give_the_venv_torch_command():
    for page in ("README.md", "docs/cli.md"):
        text = (ROOT / page).read_text()
        assert "verified-relu[torch]" not in text, page
        assert '.venv/bin/python -m pip install -e ".[torch]"' in text, page


# ----------------------------------------------------------------------------- item: --list-options
@pytest.mark.parametrize("method", ["fast", "tensor", "adam", "expand_cluster", "gd_population"])
def test_list_options_lists_each_option_with_its_default(method, capsys):
    assert main(["learn", "--method", method, "--list-options", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    cls = registry.get(method).params
    expected = registry.get(method).option_names() - {"teacher", "progress", "params"}
    assert {o["name"] for o in doc["options"]} == expected
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    for o in doc["options"]:
        assert o["default"] == repr(defaults[o["name"]]) and o["meaning"].strip()
    assert main(["learn", "--method", method, "--list-options"]) == 0
    text = capsys.readouterr().out
    assert all(f"  {name} " in text for name in expected)


def test_list_options_meanings_come_from_the_docstrings(capsys):
    assert main(["learn", "--method", "fast", "--list-options", "--json"]) == 0
    meanings = {o["name"]: o["meaning"] for o in json.loads(capsys.readouterr().out)["options"]}
    assert meanings["hops"].startswith("perturb-and-refine steps")
    assert meanings["noiseless"] == "declare the labels noiseless: only an exact fit succeeds"


def test_list_options_of_a_paper_learner_at_the_datas_d_and_k(ws, capsys):
    from verified_relu.learners import CDGKMParams

    tmp, _ = ws
    assert main(["learn", str(tmp / "train.npz"), "--k", "2", "--method", "cdgkm", "--list-options", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    practical = dataclasses.asdict(CDGKMParams.practical(4, 2))
    got = {o["name"]: o["default"] for o in doc["options"]}
    assert got["reduce_to"] == "2" and got["T_prefactor"] == repr(practical["T_prefactor"]) == "16.0"
    assert "d = 4, k = 2" in doc["about"]
    assert not (tmp / "learned").exists()  # listing writes nothing


def test_learn_help_mentions_list_options(capsys):
    assert main(["learn", "--help"]) == 0
    assert "--list-options" in capsys.readouterr().out
    assert main(["learn", "--method", "nosuch", "--list-options"]) == 2
    assert main(["learn", "--k", "2"]) == 2
    assert "required: DATA" in capsys.readouterr().err


# ----------------------------------------------------------------------------- item: header-only CSV
def test_header_only_csv_is_one_line_without_numpy_warning(tmp_path, capsys):
    (tmp_path / "h.csv").write_text("x0,x1,y\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["learn", str(tmp_path / "h.csv"), "--k", "1", "--out", str(tmp_path / "o")]) == 2
    assert not [w for w in caught if issubclass(w.category, UserWarning)]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no data rows after the header" in err
    assert sorted(os.listdir(tmp_path)) == ["h.csv"]


def test_header_only_csv_via_the_real_command(tmp_path):
    (tmp_path / "h.csv").write_text("x0,x1,y\n")
    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    r = subprocess.run(
        [sys.executable, "-m", "verified_relu", "learn", "h.csv", "--k", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "UserWarning" not in r.stderr, r.stderr
    assert sorted(os.listdir(tmp_path)) == ["h.csv"]


# ----------------------------------------------------------------------------- item: non-Gaussian data
def test_learn_on_non_gaussian_data_labels_the_gaussian_error(tmp_path, capsys):
    net = instances.make("random", 3, 1, rng=0)
    # U(-2, 2): the variance z-score is about 10 at n = 2000 (see test_cli_inputs): the warning fires
    X = np.random.default_rng(2).uniform(-2, 2, (2000, 3))
    save_dataset(tmp_path / "u.npz", X, net(X))
    net.save(tmp_path / "true.json")
    argv = ["learn", str(tmp_path / "u.npz"), "--k", "1", "--teacher", str(tmp_path / "true.json")]
    assert main([*argv, "--out", str(tmp_path / "o")]) in (0, 1)
    captured = capsys.readouterr()
    assert "N(0, I_d)" in captured.err  # the Gaussianity warning
    assert "Gaussian-population error" in captured.out and "exact E[(F - F_hat)^2]" not in captured.out
    assert "on the given data (2 000 samples)" in captured.out
    assert main([*argv, "--out", str(tmp_path / "o2"), "--json", "--quiet"]) in (0, 1)
    payload = json.loads(capsys.readouterr().out)
    learned = ReLUNetwork.load(tmp_path / "o2" / "network.json")
    expected = float(np.mean((learned(X) - net(X)) ** 2))
    assert payload["teacher_mse_on_data"] == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_learn_on_gaussian_data_keeps_the_plain_label(ws, capsys):
    tmp, _ = ws
    assert _learn(tmp) in (0, 1)
    capsys.readouterr()
    assert main(
        ["learn", str(tmp / "train.npz"), "--k", "2", "--teacher", str(tmp / "true.json"), "--out", str(tmp / "t")]
    ) in (0, 1)
    out = capsys.readouterr().out
    assert "exact E[(F - F_hat)^2] against --teacher" in out and "Gaussian-population" not in out
