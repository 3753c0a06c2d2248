"""The one result type every learner returns (in the manner of ``scipy.optimize.OptimizeResult``)."""

from __future__ import annotations

import dataclasses
import json

from .._io import parse_json
from .._provenance import jsonable, versions
from ..network import ReLUNetwork

# ``jsonable`` lives in verified_relu._provenance.
__all__ = ["LearnResult", "TraceStep"]


def _network_from_dict(data):
    """A ReLUNetwork, or DK's improper :class:`~verified_relu.learners.dk.HermitePredictor`."""
    if isinstance(data, dict) and data.get("format") == "verified_relu.HermitePredictor":
        from .dk_predictor import HermitePredictor

        return HermitePredictor.from_dict(data)
    return ReLUNetwork.from_dict(data)


@dataclasses.dataclass(frozen=True)
class TraceStep:
    """One step of a learner: its name, the quantities it computed (JSON-ready) and its kind.

    ``kind`` is ``"step"`` for a plain step, or a typed record with a fixed schema
    (``"spectrum"``, ``"basis"``, ``"checkpoint"``; :mod:`verified_relu.learners.records`)."""

    name: str
    data: dict
    kind: str = "step"

    def to_dict(self):
        out = {"name": self.name, "data": self.data}
        if self.kind != "step":
            out["kind"] = self.kind
        return out


@dataclasses.dataclass(frozen=True)
class LearnResult:
    """What a learner returns.

    Attributes
    ----------
    network : ReLUNetwork or HermitePredictor
        The learned network (DK24's learner returns an improper polynomial predictor with
        ``predict(X)``).
    success : bool
        Whether the learner's own validation criterion was met (see ``message``).
    message : str
        Why it stopped, in words.
    method : str
        The learner's name.
    params : dict
        The parameter set used (every option, defaults included).
    trace : tuple of TraceStep
        Ordered step records.
    diagnostics : dict
        Summary numbers (validation error, iterations, ...).
    seed_entropy : int or None
        Entropy of the ``SeedSequence`` the run drew from: ``learn(..., rng=seed_entropy)``
        repeats it.
    versions : dict
        Package versions at the time of the run (:func:`verified_relu._provenance.versions`).
    checkpoints : dict
        For the papers' learners: stage name -> network (or predictor).  ``"paper"`` is the
        output of the paper's steps alone, before any departure that post-processes it; later
        entries, one per such departure in the order applied, hold what each produced (the last
        is ``network``).  Empty for the other methods.
    """

    network: ReLUNetwork
    success: bool
    message: str
    method: str
    params: dict
    trace: tuple
    diagnostics: dict
    seed_entropy: object = None
    versions: dict = dataclasses.field(default_factory=versions)
    checkpoints: dict = dataclasses.field(default_factory=dict)

    def to_dict(self):
        """A JSON-ready dict; :meth:`from_dict` inverts it exactly."""
        return {
            "format": "verified_relu.LearnResult",
            "version": 1,
            "network": self.network.to_dict(),
            "success": bool(self.success),
            "message": self.message,
            "method": self.method,
            "params": jsonable(self.params),
            "trace": [jsonable(step.to_dict()) for step in self.trace],
            "diagnostics": jsonable(self.diagnostics),
            "seed_entropy": None if self.seed_entropy is None else str(self.seed_entropy),
            "versions": dict(self.versions),
            "checkpoints": {name: net.to_dict() for name, net in self.checkpoints.items()},
        }

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict) or data.get("format") != "verified_relu.LearnResult":
            raise ValueError("LearnResult.from_dict: data is not a serialized LearnResult (missing 'format')")
        seed = data.get("seed_entropy")
        return cls(
            network=_network_from_dict(data["network"]),
            success=bool(data["success"]),
            message=data["message"],
            method=data["method"],
            params=data["params"],
            trace=tuple(TraceStep(s["name"], s["data"], s.get("kind", "step")) for s in data["trace"]),
            diagnostics=data["diagnostics"],
            seed_entropy=None if seed is None else int(seed),
            versions=data["versions"],
            checkpoints={name: _network_from_dict(net) for name, net in data.get("checkpoints", {}).items()},
        )

    def to_json(self):
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_json(cls, text):
        return cls.from_dict(parse_json(text, "LearnResult.from_json"))

    def step(self, name):
        """The first trace step called ``name``."""
        for s in self.trace:
            if s.name == name:
                return s
        raise KeyError(f"no trace step named {name!r}; steps: {[s.name for s in self.trace]}")
