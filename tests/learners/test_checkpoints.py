"""LearnResult.checkpoints: the papers' own output kept apart from what the departures added."""

import dataclasses

import numpy as np
import pytest

from verified_relu import LearnResult, instances, learn
from verified_relu.learners import CDGKMParams, NetlearnParams


@pytest.fixture(scope="module")
def data():
    net = instances.make("close_pair", 8, 3, rng=7, theta=0.05)
    X, y = net.sample(6000, rng=8)
    return net, X, y


@pytest.mark.parametrize("method,cls", [("cdgkm", CDGKMParams), ("netlearn", NetlearnParams)])
def test_paper_checkpoint_is_the_run_without_post_processing(data, method, cls):
    net, X, y = data
    p = dataclasses.replace(cls.practical(8, 3), refine=True)
    res = learn(X, y, 3, method=method, rng=9, params=p, teacher=net)
    assert list(res.checkpoints) == ["paper", "refine"]
    assert res.checkpoints["refine"].to_dict() == res.network.to_dict()
    off = learn(X, y, 3, method=method, rng=9, params=dataclasses.replace(p, refine=False))
    assert res.checkpoints["paper"].to_dict() == off.network.to_dict()  # bit for bit
    assert list(off.checkpoints) == ["paper"]
    # the exact error of every checkpoint is recorded (closed form, independent of the learner)
    for name, net_c in res.checkpoints.items():
        want = net.squared_distance(net_c) / net.norm_squared()
        got = res.diagnostics["checkpoints"][name]["exact_relative_squared_error"]
        assert got == pytest.approx(want, rel=1e-12)
    assert "paper steps: exact relative error" in res.message and "after refine (departure)" in res.message
    back = LearnResult.from_json(res.to_json())
    assert {k: v.to_dict() for k, v in back.checkpoints.items()} == {k: v.to_dict() for k, v in res.checkpoints.items()}


def test_without_a_teacher_the_held_out_error_is_recorded(data):
    net, X, y = data
    res = learn(
        X, y, 3, method="netlearn", rng=9, params=dataclasses.replace(NetlearnParams.practical(8, 3), refine=True)
    )
    errors = res.diagnostics["checkpoints"]
    assert set(errors) == {"paper", "refine"}
    assert all(set(e) == {"held_out_relative_squared_error"} for e in errors.values())
    assert all(np.isfinite(e["held_out_relative_squared_error"]) for e in errors.values())


def test_dk_and_the_other_methods(data):
    net, X, y = data
    res = learn(X, y, 3, method="dk", rng=9)
    assert list(res.checkpoints) == ["paper"] and res.checkpoints["paper"] == res.network
    assert learn(X, y, 3, method="tensor", rng=9).checkpoints == {}


def test_format_audit_shows_the_checkpoints_and_marks_vacuous_bounds(data):
    from verified_relu.learners.cdgkm_audit import format_audit

    net, X, y = data
    res = learn(
        X,
        y,
        3,
        method="cdgkm",
        rng=9,
        params=dataclasses.replace(CDGKMParams.practical(8, 3), refine=True),
        teacher=net,
    )
    text = format_audit(res)
    assert "checkpoint 'paper' (the paper's steps alone): exact relative squared error" in text
    assert "checkpoint 'refine' (after the departure 'refine')" in text
    bounds = [
        row["lemma13_bound"]
        for s in res.trace
        if s.name == "round" and "audit" in s.data
        for row in s.data["audit"].get("detectable_to_V", [])
    ]
    assert text.count("VACUOUS here") == sum(b >= 1.0 for b in bounds)


def test_the_report_shows_the_checkpoints(data, tmp_path):
    pytest.importorskip("matplotlib")
    from verified_relu.app.report import write_report

    net, X, y = data
    res = learn(
        X, y, 3, method="netlearn", rng=9, params=dataclasses.replace(NetlearnParams.practical(8, 3), refine=True)
    )
    paths = write_report(res, tmp_path / "r", teacher=net, sample_fractions=())
    md = paths["md"].read_text(encoding="utf-8")
    assert "Checkpoints: the paper's steps and the departures" in md
    assert "the paper's steps alone" in md and "after the departure 'refine'" in md


@pytest.mark.slow
@pytest.mark.parametrize("method,cls", [("cdgkm", CDGKMParams), ("netlearn", NetlearnParams)])
def test_on_the_quickstart_instance_the_paper_checkpoint_is_the_run_without_refine(method, cls):
    """The acceptance instance (docs/quickstart.md: close_pair, d = 20, k = 4, theta = 0.05,
    n = 10 000) at the practical profile: checkpoint 'paper' equals the network of the same run with
    the refinement (the only post-processing departure) switched off, and both errors are recorded
    against the closed-form distance to the teacher."""
    net = instances.make("close_pair", 20, 4, rng=0, theta=0.05)
    X, y = net.sample(10_000, rng=0)
    p = cls.practical(20, 4)
    assert p.refine
    res = learn(X, y, 4, method=method, rng=0, teacher=net)
    off = learn(X, y, 4, method=method, rng=0, params=dataclasses.replace(p, refine=False))
    paper = res.checkpoints["paper"]
    for a, b in [(paper.weights, off.network.weights), (paper.coefficients, off.network.coefficients)]:
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    for name, net_c in res.checkpoints.items():
        want = net.squared_distance(net_c) / net.norm_squared()
        got = res.diagnostics["checkpoints"][name]["exact_relative_squared_error"]
        assert got == pytest.approx(want, rel=1e-12)
