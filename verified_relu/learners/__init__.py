"""Learners: one entry point, :func:`learn`, and one result type, :class:`LearnResult`.

``learn(X, y, k, method="fast", rng=None, **options)``.  Methods available now:

* ``"fast"`` -- :mod:`verified_relu.learners.fast`: moment subspace, neuron discovery inside it
  and Levenberg-Marquardt refinement; options are the fields of :class:`FastParams`.

The papers' learners, faithful and auditable (:mod:`verified_relu.learners.paper`):

* ``"cdgkm"`` -- :mod:`~verified_relu.learners.cdgkm`: MULTISCALELEARN of Chen, Dou, Goel,
  Klivans and Meka (COLT 2023); options :class:`CDGKMParams`.
* ``"netlearn"`` -- :mod:`~verified_relu.learners.netlearn`: NETLEARN of Chen and Narayanan
  (COLT 2024); options :class:`NetlearnParams`.
* ``"dk"`` -- :mod:`~verified_relu.learners.dk`: the Schur-polynomial learner of Diakonikolas
  and Kane (COLT 2024), an improper polynomial predictor; options :class:`DKParams`.

For these, ``params=`` takes a parameter set (``Params.practical(d, k, ...)`` by default, or
``Params.from_theory(d, k, eps, R, delta)`` to see what the theorem demands), further keyword
options override its fields, and ``teacher=`` supplies the ground truth for the audit
quantities of the trace (it is never used to learn).

Baselines (:mod:`verified_relu.learners.baselines`):

* ``"gd_population"`` -- :mod:`~verified_relu.learners.gd_population`: an *oracle* baseline,
  gradient descent on the exact population loss against a given ``teacher`` network
  (teacher-student protocol); options :class:`GDPopulationParams`.
* ``"tensor"`` -- :mod:`~verified_relu.learners.tensor`: tensor initialisation (Zhong et al.
  2017; Jennrich's algorithm on degree-4 contractions) then Levenberg-Marquardt; options
  :class:`TensorParams`.
* ``"adam"`` -- :mod:`~verified_relu.learners.adam`: Adam in PyTorch (optional dependency)
  with an lr grid selected on held-out samples; options :class:`AdamParams`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .._validation import as_matrix, as_vector, check_int
from . import baselines, paper
from .adam import AdamParams, fit_adam, validate_adam
from .cdgkm_params import CDGKMParams
from .dk import DKParams
from .dk_predictor import HermitePredictor
from .fast import FastParams, fit_fast, make_result
from .gd_population import GDPopulationParams, fit_gd_population, validate_gd_population
from .netlearn import NetlearnParams
from .result import LearnResult, TraceStep
from .tensor import TensorParams, fit_tensor, validate_tensor

__all__ = [
    "METHODS",
    "AdamParams",
    "CDGKMParams",
    "DKParams",
    "FastParams",
    "GDPopulationParams",
    "HermitePredictor",
    "LearnResult",
    "NetlearnParams",
    "TensorParams",
    "TraceStep",
    "learn",
]

#: method name -> (options dataclass, validate(params, n, d, k), fit(X, y, k, rng, params)); "fast" is handled inline.
_BASELINES = {
    "gd_population": (GDPopulationParams, validate_gd_population, fit_gd_population),
    "tensor": (TensorParams, validate_tensor, fit_tensor),
    "adam": (AdamParams, validate_adam, fit_adam),
}

METHODS = ("fast",) + tuple(paper.LEARNERS) + tuple(_BASELINES)


def _seed_sequence(rng):
    if rng is None:
        return np.random.SeedSequence()
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence(int(rng.integers(0, 2**63)))
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.SeedSequence(int(rng))
    raise TypeError(f"learn: rng must be None, a non-negative int, a SeedSequence or a Generator, got {type(rng).__name__}")


def learn(X, y, k, method="fast", rng=None, **options):
    """Learn a width-``k`` network ``sum_i mu_i relu(<w_i, x>) (+ <a, x>)`` from samples.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Inputs, assumed ``N(0, I_d)``.
    y : array_like, shape (n,)
        Labels.
    k : int
        Width, ``1 <= k <= d`` (``"adam"`` trains ``width`` neurons, default ``k``).
    method : str
        One of :data:`METHODS`.
    rng : None, int, SeedSequence or Generator
        Randomness (SPEC 7).  The result records the seed entropy; passing it back as ``rng``
        repeats the run exactly.
    **options
        ``dps=N`` (methods ``"fast"`` and ``"cdgkm"``, ``n <= 5000``, ``d <= 12``): after the
        float64 run, every step of the learner is recomputed at ``N`` digits on the same samples
        and compared (trace step ``"precision"``, see :mod:`verified_relu.precision`), and the
        network is refined by Gauss-Newton at ``N`` digits; the returned network is that
        refinement rounded to float64, its ``N``-digit parameters are in the trace.
        Method options: the fields of :class:`FastParams` (``"fast"``),
        :class:`GDPopulationParams` (``"gd_population"``, which requires ``teacher``),
        :class:`TensorParams` (``"tensor"``) or :class:`AdamParams` (``"adam"``).  An unknown
        option raises ``TypeError``; a bad value raises ``ValueError``/``TypeError`` naming it.

    Returns
    -------
    LearnResult

    Examples
    --------
    >>> from verified_relu import instances
    >>> net = instances.make("random", 6, 2, rng=0)
    >>> X, y = net.sample(1200, rng=1)
    >>> res = learn(X, y, 2, rng=2)
    >>> res.success, net.squared_distance(res.network) <= 1e-10 * net.norm_squared()
    (True, True)
    """
    if method not in METHODS:
        raise ValueError(f"learn: method must be one of {METHODS}, got {method!r}")
    dps = options.pop("dps", None)
    if dps is not None:  # checked before any work, then the float64 run, then the N-digit pass
        dps = _check_precision(method, dps, np.shape(X))
        result = learn(X, y, k, method=method, rng=rng, **options)
        return _at_precision(result, X, y, k, method, dps)
    X = as_matrix(X, "X", caller="learn")
    n, d = X.shape
    y = as_vector(y, "y", length=n, caller="learn")
    k = check_int(k, "k", minimum=1, maximum=d, caller="learn")
    if method in paper.LEARNERS:
        return paper.learn(X, y, k, method, _seed_sequence(rng), options)
    params_class = FastParams if method == "fast" else _BASELINES[method][0]
    fields = {f.name for f in dataclasses.fields(params_class)}
    unknown = sorted(set(options) - fields)
    if unknown:
        raise TypeError(f"learn: unknown option(s) {unknown} for method {method!r}; valid: {sorted(fields)}")
    params = params_class(**options)
    if method != "fast":
        _, validate, fit = _BASELINES[method]
        validate(params, n, d, k)
        ss = _seed_sequence(rng)
        outcome = fit(X, y, k, np.random.default_rng(ss), params)
        return baselines.make_result(method, *outcome, params, ss.entropy, k)
    if not 0 < params.validation_fraction < 1:
        raise ValueError(f"learn: validation_fraction must be in (0, 1), got {params.validation_fraction}")
    n_params = k * (d + 1) + d
    needed = int(np.ceil(2 * n_params / (1 - params.validation_fraction)))
    if n < needed:
        raise ValueError(
            f"learn: n = {n} samples are too few for k = {k}, d = {d}: the {method} learner needs at least "
            f"{needed} (twice the {n_params} parameters, after holding out {params.validation_fraction:.0%})"
        )
    ss = _seed_sequence(rng)
    network, success, message, trace, diagnostics = fit_fast(X, y, k, np.random.default_rng(ss), params)
    return make_result(network, success, message, trace, diagnostics, params, ss.entropy, k)


def _check_precision(method, dps, shape):
    from .._mp import check_dps
    from ..precision.steps import check_mp_size

    if method not in ("fast", "cdgkm"):
        raise ValueError(f"learn: dps= is available for methods 'fast' and 'cdgkm', not {method!r}")
    dps = check_dps(dps, "dps")
    if len(shape) == 2:
        check_mp_size(shape[0], shape[1], "learn (dps=)")
    return dps


def _at_precision(result, X, y, k, method, dps):
    """``learn(..., dps=N)``: the float64 run's steps recomputed at ``N`` digits, refinement at ``N``."""
    from ..network import ReLUNetwork
    from ..precision import steps
    from ..precision.stability import stability_report
    from .result import jsonable

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    report = stability_report(X, y, k, method=method, dps=dps, degrees=(), result=result, include_probes=False)
    out = report.refined  # the report's own N-digit refinement of the float64 network
    refined = ReLUNetwork(steps.to_float(out.W), steps.to_float(out.mu), steps.to_float(out.a))
    data = {
        "dps": dps,
        "rows": report.to_dict()["rows"],
        "flagged": [row["step"] for row in report.flagged],
        "refine": {"iterations": out.iterations, "reason": out.reason, "loss": steps.mp_str(out.loss, dps),
                   "gradient_norm": steps.mp_str(out.gradient_norm, dps)},
        "W": [[steps.mp_str(v, dps) for v in row] for row in out.W],
        "mu": [steps.mp_str(v, dps) for v in out.mu],
        "a": [steps.mp_str(v, dps) for v in out.a],
    }
    trace = tuple(result.trace) + (TraceStep("precision", jsonable(data)),)
    diagnostics = {**result.diagnostics, "dps": dps, "mp_refine_reason": out.reason, "mp_loss": data["refine"]["loss"]}
    return dataclasses.replace(result, network=refined, trace=trace, diagnostics=diagnostics)
