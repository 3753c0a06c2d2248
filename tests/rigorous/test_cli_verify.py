"""``verified-relu verify RESULT DATA``: the certificate on stdout, as JSON and in a file."""

import json

import numpy as np
import pytest

from verified_relu import ReLUNetwork
from verified_relu.app.cli import main
from verified_relu.instances import make


@pytest.fixture
def files(tmp_path):
    net = make("random", 4, 2, rng=0)
    X, y = net.sample(800, rng=1)
    np.savez(tmp_path / "data.npz", X=X, y=y)
    net.save(tmp_path / "net.json")
    other = make("random", 4, 2, rng=5)
    other.save(tmp_path / "other.json")
    return tmp_path


def test_verify_writes_the_certificate(files, capsys):
    out = files / "cert.json"
    code = main(
        [
            "verify",
            str(files / "net.json"),
            str(files / "data.npz"),
            "--teacher",
            str(files / "net.json"),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "verified: exactly one critical point" in text and "relative radius" in text
    doc = json.loads(out.read_text())
    assert doc["verified"] is True and doc["teacher_distance"][0] == 0.0
    assert doc["data"].endswith("data.npz")


def test_verify_json_and_failure_exit(files, capsys):
    code = main(["verify", str(files / "other.json"), str(files / "data.npz"), "--json"])
    assert code == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["verified"] is False and doc["reason"] in ("pattern_change", "not_contracting")


def test_verify_refuses_an_unwritable_out_before_any_work(files, capsys):
    code = main(["verify", str(files / "net.json"), str(files / "data.npz"), "--out", str(files / "no" / "c.json")])
    assert code == 2
    assert "--out" in capsys.readouterr().err
    assert not (files / "no").exists()


def test_verify_names_a_dimension_mismatch(files, capsys):
    ReLUNetwork([[1.0, 0.0, 0.0]], [1.0]).save(files / "d3.json")
    assert main(["verify", str(files / "d3.json"), str(files / "data.npz")]) == 2
    assert "d = 3" in capsys.readouterr().err
