"""Dispatch for the papers' learners: parameter profiles, option overrides, input checks.

Each learner module (``cdgkm``, ``netlearn``, ``dk``) provides

* a parameter dataclass with ``practical(d, k, **kw)`` and ``from_theory(d, k, eps, R, delta)``
  class methods and a ``departures()`` method listing the named departures from the paper
  that are switched on;
* ``validate(params, n, d, k)`` -- raises ``ValueError`` naming the argument before any work
  (e.g. too few samples for the profile);
* ``fit(X, y, k, gen, params, *, teacher, progress)`` returning
  ``(network, success, message, trace, diagnostics)``.
"""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np

from ..network import ReLUNetwork
from .baselines import make_result

__all__ = ["LEARNERS", "learn", "params_class"]

#: method name -> (module, parameter class name)
LEARNERS = {
    "cdgkm": ("cdgkm", "CDGKMParams"),
    "netlearn": ("netlearn", "NetlearnParams"),
    "dk": ("dk", "DKParams"),
}


def _module(method):
    return importlib.import_module(f"{__package__}.{LEARNERS[method][0]}")


def params_class(method):
    """The parameter dataclass of a paper learner."""
    return getattr(_module(method), LEARNERS[method][1])


def learn(X, y, k, method, ss, options):
    """``verified_relu.learn`` for the paper learners (inputs already validated)."""
    n, d = X.shape
    module = _module(method)
    cls = params_class(method)
    options = dict(options)
    params = options.pop("params", None)
    teacher = options.pop("teacher", None)
    progress = options.pop("progress", False)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(options) - fields)
    if unknown:
        raise TypeError(
            f"learn: unknown option(s) {unknown} for method {method!r}; valid: params, teacher, progress, {sorted(fields)}"
        )
    if params is None:
        params = cls.practical(d, k)
    elif not isinstance(params, cls):
        raise TypeError(
            f"learn: params must be a {cls.__name__} for method {method!r}, got {type(params).__name__}"
        )
    if options:
        params = dataclasses.replace(params, **options)
    if teacher is not None:
        if not isinstance(teacher, ReLUNetwork):
            raise TypeError(
                f"learn: teacher must be a ReLUNetwork (ground truth for the audit), got {type(teacher).__name__}"
            )
        if teacher.d != d:
            raise ValueError(
                f"learn: teacher has d = {teacher.d} but X has {d} columns"
            )
    module.validate(params, n, d, k)
    gen = np.random.default_rng(ss)
    network, success, message, trace, diagnostics = module.fit(
        X, y, k, gen, params, teacher=teacher, progress=progress
    )
    diagnostics = dict(diagnostics)
    diagnostics["departures"] = list(params.departures())
    return make_result(
        method, network, success, message, trace, diagnostics, params, ss.entropy, k
    )
