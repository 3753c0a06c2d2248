"""Typed trace records: the steps of a learner's trace that other code reads by their type.

A :class:`~verified_relu.learners.TraceStep` has a ``kind``.  Most steps are ``"step"``: a name
and the quantities the step computed, for a reader of the trace.  Three kinds have a fixed
schema, so that code consuming them (the report's panels, the papers' checkpoints) asks for a
kind, never for a learner's step name:

``"spectrum"``
    ``{"title": str, "series": [{"label": str, "values": [float, ...], "floor": float or None,
    "floor_label": str}, ...]}`` -- eigenvalues or singular values a learner thresholded, with
    the floor it compared them against.
``"basis"``
    ``{"vectors": [[float] * d, ...], "source": str}`` -- rows spanning the subspace the learner
    searched in.
``"checkpoint"``
    ``{"lemma": str, "quantity": str, "value": float, "bound": float, "holds": bool}`` -- a
    quantity of the run compared with the bound a paper's lemma states for it.

The constructors below check the schema, so a malformed record fails where it is made.
"""

from __future__ import annotations

import math

__all__ = ["KINDS", "basis", "checkpoint", "of_kind", "spectrum"]

KINDS = ("step", "spectrum", "basis", "checkpoint")


def _floats(values, what):
    out = [float(v) for v in values]
    if not out:
        raise ValueError(f"{what} must not be empty")
    return out


def spectrum(name, title, series):
    """A ``"spectrum"`` record: ``series`` is an iterable of ``(label, values, floor, floor_label)``
    (``floor`` None when the learner compared against none)."""
    from .result import TraceStep

    rows = []
    for label, values, floor, floor_label in series:
        f = None if floor is None else float(floor)
        if f is not None and math.isnan(f):
            raise ValueError(f"spectrum {name!r}: the floor of {label!r} is NaN")
        rows.append(
            {
                "label": str(label),
                "values": _floats(values, f"spectrum {name!r}: values of {label!r}"),
                "floor": f,
                "floor_label": str(floor_label),
            }
        )
    return TraceStep(name, {"title": str(title), "series": rows}, kind="spectrum")


def basis(name, vectors, source):
    """A ``"basis"`` record: ``vectors`` (rows of length ``d``) span the learner's subspace."""
    from .result import TraceStep

    rows = [_floats(v, f"basis {name!r}: a vector") for v in vectors]
    if len({len(r) for r in rows}) > 1:
        raise ValueError(f"basis {name!r}: vectors of different lengths")
    return TraceStep(name, {"vectors": rows, "source": str(source)}, kind="basis")


def checkpoint(name, lemma, quantity, value, bound, holds):
    """A ``"checkpoint"`` record: ``value`` of ``quantity`` against the ``bound`` of ``lemma``."""
    from .result import TraceStep

    return TraceStep(
        name,
        {
            "lemma": str(lemma),
            "quantity": str(quantity),
            "value": float(value),
            "bound": float(bound),
            "holds": bool(holds),
        },
        kind="checkpoint",
    )


def of_kind(trace, kind):
    """The steps of ``trace`` whose kind is ``kind``, in order."""
    if kind not in KINDS:
        raise ValueError(f"of_kind: kind must be one of {KINDS}, got {kind!r}")
    return [s for s in trace if getattr(s, "kind", "step") == kind]
