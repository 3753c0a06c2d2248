"""Learners: one entry point, :func:`learn`, and one result type, :class:`LearnResult`.

``learn(X, y, k, method="fast", rng=None, **options)``.  The methods, their option classes and
capabilities are the rows of one table, :data:`verified_relu.learners.registry.LEARNERS`:

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
* ``"expand_cluster"`` -- :mod:`~verified_relu.learners.expand_cluster`: Expand-and-Cluster
  (Martinelli et al., ICML 2024; PyTorch): overparameterised students, their shared neurons
  clustered and fine-tuned; options :class:`ExpandClusterParams`.
"""

from __future__ import annotations

import numpy as np

from .._order import canonical_order
from .._validation import as_matrix, as_vector, check_int, check_option_names
from . import registry
from .result import LearnResult, TraceStep

__all__ = [
    "METHODS",
    "AdamParams",
    "CDGKMParams",
    "DKParams",
    "ExpandClusterParams",
    "FastParams",
    "GDPopulationParams",
    "HermitePredictor",
    "LearnResult",
    "NetlearnParams",
    "TensorParams",
    "TraceStep",
    "learn",
]

# Names loaded on first access (PEP 562), so that reading the registry or the result type does
# not import every learner: public name -> defining module.
_LAZY = {row.params_name: row.module for row in registry.LEARNERS.values()}
_LAZY.update(CDGKMParams="cdgkm_params", HermitePredictor="dk_predictor")


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


#: Every ``method=`` name, in the order of :data:`registry.LEARNERS`.
METHODS = tuple(registry.LEARNERS)


def _seed_sequence(rng):
    if rng is None:
        return np.random.SeedSequence()
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence(int(rng.integers(0, 2**63)))
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.SeedSequence(int(rng))
    raise TypeError(
        f"learn: rng must be None, a non-negative int, a SeedSequence or a Generator, got {type(rng).__name__}"
    )


def learn(X, y, k, method="fast", rng=None, *, progress=False, **options):
    """Learn a width-``k`` network ``sum_i mu_i relu(<w_i, x>) (+ <a, x>)`` from samples.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Inputs, assumed ``N(0, I_d)``.
    y : array_like, shape (n,)
        Labels.
    k : int
        Width, ``1 <= k <= d`` (``"adam"`` trains ``width`` neurons, default ``k``;
        ``"expand_cluster"`` returns at most ``k``).
    method : str
        One of :data:`METHODS`.
    rng : None, int, SeedSequence or Generator
        Randomness (SPEC 7).  The result records the seed entropy; passing it back as ``rng``
        repeats the run exactly.
    progress : bool or callable
        Progress lines of long runs: ``True`` prints them on stderr, a callable receives each
        line, ``False`` (default) is silent.
    **options
        Method options: the fields of :class:`FastParams` (``"fast"``),
        :class:`GDPopulationParams` (``"gd_population"``, which requires ``teacher``),
        :class:`TensorParams` (``"tensor"``), :class:`AdamParams` (``"adam"``) or
        :class:`ExpandClusterParams` (``"expand_cluster"``); for the papers'
        learners see :mod:`verified_relu.learners.paper`.  An unknown option raises
        ``TypeError``; a bad value raises ``ValueError``/``TypeError`` naming it.  ``dps=N`` is
        handled one layer up, by :func:`verified_relu.learn` (it needs
        :mod:`verified_relu.precision`, which sits above the learners).

    Returns
    -------
    LearnResult
        A function of the rows of ``(X, y)`` as a set and of ``rng``: the rows are put in a
        canonical order (:func:`verified_relu._order.canonical_order`) before any learner sees
        them, so permuting them changes nothing.

    Examples
    --------
    >>> from verified_relu import instances
    >>> net = instances.make("random", 6, 2, rng=0)
    >>> X, y = net.sample(1200, rng=1)
    >>> res = learn(X, y, 2, rng=2, noiseless=True)
    >>> res.method, type(res.success).__name__
    ('fast', 'bool')
    """
    row = registry.get(method)
    if "dps" in options:
        raise TypeError(
            "learn: dps= is handled by verified_relu.learn (the precision layer sits above the "
            "learners); call verified_relu.learn(X, y, k, ..., dps=N)"
        )
    check_option_names(options, row.option_names(), "learn", method)  # before any work, every method alike
    X = as_matrix(X, "X", caller="learn")
    n, d = X.shape
    y = as_vector(y, "y", length=n, caller="learn")
    k = check_int(k, "k", minimum=1, maximum=d, caller="learn")
    # The rows in a canonical order first: the result is a function of the samples as a set and
    # of the seed, never of the order the rows came in (verified_relu._order).
    order = canonical_order(X, y)
    X, y = X[order], y[order]
    if row.kind == "paper":
        from . import paper

        return paper.learn(X, y, k, method, _seed_sequence(rng), {**options, "progress": progress})
    params = row.params(**options)
    row.validate(params, n, d, k)
    ss = _seed_sequence(rng)
    outcome = row.fit(X, y, k, np.random.default_rng(ss), params, progress=progress)
    if row.kind == "fast":
        return row.load().make_result(*outcome, params, ss.entropy, k)
    from .baselines import make_result

    return make_result(method, *outcome, params, ss.entropy, k)
