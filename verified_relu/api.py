"""The documented entry point :func:`learn`, one layer above the learners and the precision layer.

``verified_relu.learn(X, y, k, method, rng, **options)`` is
:func:`verified_relu.learners.learn` plus one option that needs :mod:`verified_relu.precision`:
``dps=N`` recomputes the float64 run's steps at ``N`` digits and refines the network there.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import learners
from ._provenance import jsonable
from .learners import registry
from .learners.result import TraceStep

__all__ = ["learn"]


def learn(X, y, k, method="fast", rng=None, **options):
    """Learn a width-``k`` network from samples: :func:`verified_relu.learners.learn`, and ``dps=``.

    ``dps=N`` (the methods whose registry row has ``supports_dps``: ``"fast"`` and ``"cdgkm"``;
    ``n <= 5000``, ``d <= 12``): after the float64 run, every step of the learner is recomputed
    at ``N`` digits on the same samples and compared (trace step ``"precision"``, see
    :mod:`verified_relu.precision`), and the network is refined by Gauss-Newton at ``N`` digits;
    the returned network is that refinement rounded to float64, its ``N``-digit parameters are in
    the trace.  Every other argument is that of :func:`verified_relu.learners.learn`.

    Examples
    --------
    >>> from verified_relu import instances
    >>> net = instances.make("random", 6, 2, rng=0)
    >>> X, y = net.sample(1200, rng=1)
    >>> res = learn(X, y, 2, rng=2)
    >>> res.method, res.network.d
    ('fast', 6)
    """
    dps = options.pop("dps", None)
    if dps is None:
        return learners.learn(X, y, k, method=method, rng=rng, **options)
    dps = _check_precision(method, dps, np.shape(X))  # checked before any work
    result = learners.learn(X, y, k, method=method, rng=rng, **options)
    return _at_precision(result, X, y, k, method, dps)


def _check_precision(method, dps, shape):
    from ._mp import check_dps
    from .precision.steps import check_mp_size

    row = registry.get(method)
    if not row.supports_dps:
        raise ValueError(f"learn: dps= is available for methods {registry.methods(supports_dps=True)}, not {method!r}")
    dps = check_dps(dps, "dps")
    if len(shape) == 2:
        check_mp_size(shape[0], shape[1], "learn (dps=)")
    return dps


def _at_precision(result, X, y, k, method, dps):
    """``learn(..., dps=N)``: the float64 run's steps recomputed at ``N`` digits, refinement at ``N``."""
    from .network import ReLUNetwork
    from .precision import steps
    from .precision.stability import stability_report

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    report = stability_report(X, y, k, method=method, dps=dps, degrees=(), result=result, include_probes=False)
    out = report.refined  # the report's own N-digit refinement of the float64 network
    refined = ReLUNetwork(steps.to_float(out.W), steps.to_float(out.mu), steps.to_float(out.a))
    data = {
        "dps": dps,
        "rows": report.to_dict()["rows"],
        "flagged": [row["step"] for row in report.flagged],
        "refine": {
            "iterations": out.iterations,
            "reason": out.reason,
            "loss": steps.mp_str(out.loss, dps),
            "gradient_norm": steps.mp_str(out.gradient_norm, dps),
        },
        "W": [[steps.mp_str(v, dps) for v in row] for row in out.W],
        "mu": [steps.mp_str(v, dps) for v in out.mu],
        "a": [steps.mp_str(v, dps) for v in out.a],
    }
    trace = tuple(result.trace) + (TraceStep("precision", jsonable(data)),)
    diagnostics = {**result.diagnostics, "dps": dps, "mp_refine_reason": out.reason, "mp_loss": data["refine"]["loss"]}
    return dataclasses.replace(result, network=refined, trace=trace, diagnostics=diagnostics)
