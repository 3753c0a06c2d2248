"""Dispatch for the papers' learners: parameter profiles, option overrides, input checks.

Each learner module (``cdgkm``, ``netlearn``, ``dk``) provides

* a parameter dataclass with ``practical(d, k, **kw)`` and ``from_theory(d, k, eps, R, delta)``
  class methods and a ``departures()`` method listing the named departures from the paper
  that are switched on;
* ``validate(params, n, d, k)`` -- raises ``ValueError`` naming the argument before any work
  (e.g. too few samples for the profile);
* ``fit(X, y, k, gen, params, *, teacher, progress)`` returning
  ``(network, accepted, message, trace, diagnostics)``, where ``accepted`` is the paper's own
  acceptance test (e.g. validation MSE ``<= eps^2 / 2``, CDGKM23 step 11).

The result's ``success`` is the shared verdict (:mod:`verified_relu.verdict`; options
``success_tol``, ``noiseless``, ``noise_factor``) on samples the paper's algorithm never sees:
:data:`VERDICT_FRACTION` of the rows (at least :data:`VERDICT_MIN`), drawn before the learner
runs.  The papers' learners select among candidates on their own validation samples, so a
verdict on those would be biased; the paper's acceptance is kept in
``diagnostics["paper_accepted"]`` and in the message.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..network import ReLUNetwork
from ..verdict import VerdictOptions
from . import registry
from .baselines import check_verdict_options, judge, make_result
from .result import TraceStep

__all__ = ["LEARNERS", "VERDICT_FRACTION", "VERDICT_MIN", "learn", "params_class"]

#: Share of the rows held out for the shared verdict, and the least number held out.
VERDICT_FRACTION, VERDICT_MIN = 0.1, 100

#: The papers' learners: the registry rows of kind ``"paper"`` (method name -> row).
LEARNERS = {name: registry.LEARNERS[name] for name in registry.methods(kind="paper")}


def _module(method):
    return LEARNERS[method].load()


def params_class(method):
    """The parameter dataclass of a paper learner."""
    return LEARNERS[method].params


def _verdict_size(module, params, n, d, k):
    """Rows held out for the verdict: ``VERDICT_FRACTION n`` (at least ``VERDICT_MIN``), or only
    ``VERDICT_MIN`` when the profile needs the rest; ``ValueError`` when even that is too many."""
    target = max(VERDICT_MIN, int(round(VERDICT_FRACTION * n)))
    if n - target >= 1:
        try:
            module.validate(params, n - target, d, k)
            return target
        except ValueError:
            pass
    try:
        if n - VERDICT_MIN < 1:
            raise ValueError(f"learn: n = {n} samples are too few")
        module.validate(params, n - VERDICT_MIN, d, k)
    except ValueError as exc:
        raise ValueError(
            f"learn: {VERDICT_MIN} of the n = {n} samples are held out for the shared verdict (the "
            f"learner never sees them), and on the rest: {exc}"
        ) from None
    return VERDICT_MIN


def learn(X, y, k, method, ss, options):
    """``verified_relu.learn`` for the paper learners (inputs already validated)."""
    n, d = X.shape
    module = _module(method)
    cls = params_class(method)
    options = dict(options)
    params = options.pop("params", None)
    teacher = options.pop("teacher", None)
    progress = options.pop("progress", False)
    vfields = {f.name for f in dataclasses.fields(VerdictOptions)}
    vopts = VerdictOptions(**{name: options.pop(name) for name in list(options) if name in vfields})
    check_verdict_options(vopts, method)
    # unknown options were refused by verified_relu.learners.learn (registry.Learner.option_names)
    if params is None:
        params = cls.practical(d, k)
    elif not isinstance(params, cls):
        raise TypeError(f"learn: params must be a {cls.__name__} for method {method!r}, got {type(params).__name__}")
    if options:
        params = dataclasses.replace(params, **options)
    if teacher is not None:
        if not isinstance(teacher, ReLUNetwork):
            raise TypeError(
                f"learn: teacher must be a ReLUNetwork (ground truth for the audit), got {type(teacher).__name__}"
            )
        if teacher.d != d:
            raise ValueError(f"learn: teacher has d = {teacher.d} but X has {d} columns")
    n_verdict = _verdict_size(module, params, n, d, k)
    gen = np.random.default_rng(ss)
    perm = gen.permutation(n)
    held, used = np.sort(perm[:n_verdict]), np.sort(perm[n_verdict:])
    network, accepted, paper_message, trace, diagnostics = module.fit(
        X[used], y[used], k, gen, params, teacher=teacher, progress=progress
    )
    v = judge(vopts, network(X[held]), X[held], y[held], train_mse=diagnostics.get("validation_mse"))
    diagnostics = dict(diagnostics)
    checkpoints = diagnostics.pop("checkpoints", {})
    diagnostics["checkpoints"] = _checkpoint_errors(checkpoints, X[held], y[held], teacher)
    diagnostics["departures"] = list(params.departures())
    diagnostics.update(paper_accepted=bool(accepted), verdict=v.to_dict(), n_verdict=n_verdict)
    trace = tuple(trace) + (TraceStep("verdict", {**v.to_dict(), "paper_accepted": bool(accepted)}),)
    message = (
        f"{v.message}; paper's test: {'accepted' if accepted else 'not accepted'}: {paper_message}"
        + _checkpoint_sentence(diagnostics["checkpoints"])
    )
    result = make_result(method, network, v.success, message, trace, diagnostics, params, ss.entropy, k)
    return dataclasses.replace(
        result, params={**result.params, **dataclasses.asdict(vopts)}, checkpoints=dict(checkpoints)
    )


def _checkpoint_errors(checkpoints, Xh, yh, teacher):
    """Per checkpoint, in order: the exact relative squared error against ``teacher`` when given
    (closed form), else the relative squared error on the held-out verdict rows."""
    from ..metrics import relative_error

    out = {}
    for name, net in checkpoints.items():
        if teacher is not None:
            out[name] = {"exact_relative_squared_error": float(relative_error(teacher, net))}
        else:
            resid = yh - net(Xh)
            scale = float(np.mean(yh * yh)) or 1.0
            out[name] = {"held_out_relative_squared_error": float(np.mean(resid * resid)) / scale}
    return out


def _checkpoint_sentence(errors):
    """``"; paper steps: 1.0e-02 (exact); after refine (departure): 9.0e-15"`` (empty if no
    departure post-processed the paper's output)."""
    if len(errors) < 2:
        return ""
    parts = []
    for i, (name, e) in enumerate(errors.items()):
        ((kind, value),) = e.items()
        what = "exact relative error" if kind.startswith("exact") else "held-out relative error"
        label = "paper steps" if i == 0 else f"after {name} (departure)"
        parts.append(f"{label}: {what} {value:.2e}")
    return "; " + "; ".join(parts)
