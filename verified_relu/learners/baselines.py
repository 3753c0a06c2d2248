"""Baseline learners, for comparison with the papers' algorithms and the fast learner.

Each baseline is a method of :func:`verified_relu.learners.learn` with its own options
dataclass; this module holds what they share (the parameter classes are exported by
:mod:`verified_relu.learners`).

* ``"gd_population"`` -- :mod:`.gd_population`: gradient descent on the *exact* population loss
  against a given teacher network (an oracle baseline: it sees infinite data).
* ``"tensor"`` -- :mod:`.tensor`: tensor initialisation in the manner of Zhong et al. (2017),
  then Levenberg-Marquardt on the empirical loss.
* ``"adam"`` -- :mod:`.adam`: Adam in PyTorch (float64) with minibatches, a cosine schedule
  and a learning-rate grid selected on held-out samples (needs the ``torch`` extra).
* ``"expand_cluster"`` -- :mod:`.expand_cluster`: Expand-and-Cluster (Martinelli et al., ICML
  2024): Adam students of width ``rho k``, their shared neurons clustered, reconstructed and
  fine-tuned (needs the ``torch`` extra).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .._provenance import jsonable
from .result import LearnResult

__all__ = [
    "check_enough_samples",
    "min_samples",
    "check_verdict_options",
    "import_torch",
    "judge",
    "make_result",
    "relative_holdout_error",
    "split_holdout",
    "torch_hint",
    "xavier_init",
]


def torch_hint(method):
    """How to install PyTorch for the baseline ``method`` (one line, the same words for each)."""
    return (
        f"the {method} baseline needs PyTorch: in the .venv made by tasks.py, run "
        '.venv/bin/python -m pip install -e ".[torch]" in the repository\'s root '
        "(in an environment of your own: python -m pip install torch)"
    )


def import_torch(method):
    """Import torch, or raise ``ImportError`` with :func:`torch_hint` for ``method``."""
    try:
        import torch
    except ImportError as exc:
        raise ImportError(torch_hint(method)) from exc
    return torch


def xavier_init(rng, k, d):
    """Glorot/Xavier normal initialisation of a width-``k`` network on ``R^d``.

    ``W`` has i.i.d. ``N(0, 2 / (d + 1))`` entries (fan-in ``d``, fan-out 1) and ``mu`` i.i.d.
    ``N(0, 2 / (k + 1))`` entries (fan-in ``k``, fan-out 1).  Returns ``(W, mu)``.
    """
    W = rng.standard_normal((k, d)) * np.sqrt(2.0 / (d + 1))
    mu = rng.standard_normal(k) * np.sqrt(2.0 / (k + 1))
    return W, mu


def min_samples(k, d, validation_fraction):
    """Samples a least-squares learner of width ``k`` in ``d`` dimensions needs: twice its
    ``k (d + 1) + d`` parameters on the training part, after holding out ``validation_fraction``."""
    return math.ceil(2 * (k * (d + 1) + d) / (1 - validation_fraction))


def check_enough_samples(n, d, k, validation_fraction, method):
    """``ValueError`` when ``n`` is below :func:`min_samples` (the message names the shortage)."""
    needed = min_samples(k, d, validation_fraction)
    if n < needed:
        raise ValueError(
            f"learn: n = {n} samples are too few for k = {k}, d = {d}: the {method} learner needs at least "
            f"{needed} (twice the {k * (d + 1) + d} parameters, after holding out {validation_fraction:.0%})"
        )


def split_holdout(n, fraction, rng):
    """Random ``(validation, training)`` index arrays, ``max(round(fraction n), 1)`` held out."""
    perm = rng.permutation(n)
    n_val = max(round(fraction * n), 1)
    return perm[:n_val], perm[n_val:]


def _where(method):
    return f"learn (method={method!r})"


def make_result(method, network, success, message, trace, diagnostics, params, seed_entropy, k):
    """Package a baseline's outcome as a :class:`LearnResult` (JSON-ready ``params``)."""
    fields = {}
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        fields[f.name] = value.to_dict() if hasattr(value, "to_dict") else jsonable(value)
    return LearnResult(
        network=network,
        success=bool(success),
        message=message,
        method=method,
        params={"k": k, **fields},
        trace=tuple(trace),
        diagnostics=diagnostics,
        seed_entropy=seed_entropy,
    )


def relative_holdout_error(network, X, y):
    """``(mse, mse / mean(y^2))`` of ``network`` on ``(X, y)``."""
    resid = y - network(X)
    mse = float(np.mean(resid**2))
    return mse, mse / (float(np.mean(y * y)) or 1.0)


def judge(params, predictions, X, y, *, train_mse=None, undetermined=None):
    """The shared verdict (:func:`verified_relu.verdict.verdict`) with a learner's options.

    ``params`` supplies ``success_tol``, ``noiseless`` and ``noise_factor`` (the defaults of
    :data:`verified_relu.verdict.DEFAULTS` where a parameter class lacks one)."""
    from ..verdict import DEFAULTS, verdict

    return verdict(
        predictions,
        X,
        y,
        noiseless=bool(getattr(params, "noiseless", False)),
        success_tol=float(getattr(params, "success_tol", DEFAULTS["success_tol"])),
        noise_factor=float(getattr(params, "noise_factor", DEFAULTS["noise_factor"])),
        train_mse=train_mse,
        undetermined=undetermined,
    )


def check_verdict_options(params, method):
    """``success_tol`` (>= 0), ``noise_factor`` (> 0) and ``noiseless`` (a bool) of a parameter set
    (the declared :data:`verified_relu.verdict.CONSTRAINTS`)."""
    from .._validation import check_params
    from ..verdict import CONSTRAINTS

    check_params(params, CONSTRAINTS, _where(method))
