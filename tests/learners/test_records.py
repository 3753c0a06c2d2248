"""Typed trace records (verified_relu.learners.records) and the report reading them by kind."""

import json

import numpy as np
import pytest

from verified_relu import LearnResult, ReLUNetwork
from verified_relu.learners import TraceStep, records


def _result(trace):
    net = ReLUNetwork(np.eye(3)[:2], [1.0, -1.0])
    return LearnResult(
        network=net, success=False, message="m", method="fast", params={"k": 2}, trace=tuple(trace), diagnostics={}
    )


def test_constructors_check_the_schema():
    with pytest.raises(ValueError, match="values of 'l=2' must not be empty"):
        records.spectrum("s", "t", [("l=2", [], None, "")])
    with pytest.raises(ValueError, match="floor of 'l=2' is NaN"):
        records.spectrum("s", "t", [("l=2", [1.0], float("nan"), "")])
    with pytest.raises(ValueError, match="different lengths"):
        records.basis("b", [[1.0, 0.0], [0.0, 1.0, 0.0]], "src")
    with pytest.raises(ValueError, match="kind must be one of"):
        records.of_kind((), "spectra")


def test_records_survive_json_and_plain_steps_keep_their_format():
    trace = [
        TraceStep("plain", {"x": 1}),
        records.spectrum("s", "title", [("l=2", [3.0, 1.0], 0.5, "op_se")]),
        records.basis("b", [[1.0, 0.0, 0.0]], "somewhere"),
        records.checkpoint("c", "Lemma 8", "moment error", 0.1, 0.2, True),
    ]
    res = _result(trace)
    again = LearnResult.from_json(res.to_json())
    assert [(s.name, s.kind, s.data) for s in again.trace] == [(s.name, s.kind, s.data) for s in res.trace]
    # a plain step is serialised exactly as before typed records existed (no "kind" key)
    assert json.loads(res.to_json())["trace"][0] == {"name": "plain", "data": {"x": 1}}
    assert [s.name for s in records.of_kind(again.trace, "spectrum")] == ["s"]


def test_the_report_reads_records_by_kind_not_by_step_name():
    """Any step name: a spectrum record gives a panel, a basis record the learned subspace;
    a plain step that merely carries similar keys gives neither."""
    from verified_relu.app.report import _learned_basis, _trace_spectra

    spec = records.spectrum("renamed_whatever", "my title", [("l=4", [2.0, 1.0], 0.1, "floor")])
    vec = records.basis("also_renamed", [[0.0, 1.0, 0.0]], "the test's subspace")
    decoy = TraceStep("subspace", {"matrices": [{"eigenvalues": [1.0]}], "basis": [[1.0, 0.0, 0.0]]})
    panels = _trace_spectra(_result([decoy, spec, vec]))
    assert panels == [("my title", [("l=4", [2.0, 1.0], 0.1, "floor")])]
    Q, where = _learned_basis(_result([decoy, spec, vec]))
    np.testing.assert_allclose(np.abs(Q), [[0.0, 1.0, 0.0]])
    assert "the test's subspace" in where
    assert _trace_spectra(_result([decoy])) == []
