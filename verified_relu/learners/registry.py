"""The one table of learners: name -> parameter class, ``validate``, ``fit`` and capabilities.

Every reader -- :func:`verified_relu.learners.learn`, the estimator, the precision layer, the
command line, the benchmark suites and the report -- asks this table; adding a learner means
adding one row here and one module.

The plug-in contract, one spelling for every learner module:

* a frozen dataclass of options (the row's ``params``);
* ``validate(params, n, d, k)``: raise ``ValueError``/``TypeError`` naming the bad option or
  the shortage of samples, before any work;
* ``fit(X, y, k, rng, params, *, teacher=None, progress=False)`` ->
  ``(network, success, message, trace, diagnostics)``, with ``rng`` a ``numpy`` Generator.

Modules are imported on first use, so reading the table costs nothing.
"""

from __future__ import annotations

import dataclasses
import importlib

__all__ = ["LEARNERS", "Learner", "get", "methods"]


@dataclasses.dataclass(frozen=True)
class Learner:
    """One row of the table.

    Attributes
    ----------
    name : the ``method=`` string.
    module : the implementing module, relative to :mod:`verified_relu.learners`.
    params_name : the name of its options dataclass in that module.
    kind : ``"fast"`` (ours), ``"paper"`` (a paper's algorithm, faithful and audited: it takes
        ``params=``, ``teacher=`` and ``progress=`` and holds out rows for the shared verdict) or
        ``"baseline"``.
    proper : it returns a :class:`~verified_relu.network.ReLUNetwork` of width ``k`` (``False``
        for an improper predictor).
    supports_dps : ``learn(..., dps=N)`` recomputes its steps at ``N`` digits.
    needs_teacher : it needs the true network (an oracle baseline).
    summary : one line for listings.
    """

    name: str
    module: str
    params_name: str
    kind: str
    proper: bool = True
    supports_dps: bool = False
    needs_teacher: bool = False
    summary: str = ""

    def load(self):
        """The implementing module (imported on first use)."""
        return importlib.import_module(f"{__package__}.{self.module}")

    @property
    def params(self):
        """The options dataclass."""
        return getattr(self.load(), self.params_name)

    @property
    def validate(self):
        return self.load().validate

    @property
    def fit(self):
        return self.load().fit

    def option_names(self):
        """Every keyword ``learn`` accepts for this method (besides ``dps``)."""
        names = {f.name for f in dataclasses.fields(self.params)}
        if self.kind == "paper":
            from ..verdict import VerdictOptions

            names |= {"params", "teacher", "progress"} | {f.name for f in dataclasses.fields(VerdictOptions)}
        return names


LEARNERS = {
    row.name: row
    for row in (
        Learner(
            "fast",
            "fast",
            "FastParams",
            "fast",
            supports_dps=True,
            summary="moment subspace, neuron discovery in it, Levenberg-Marquardt refinement",
        ),
        Learner(
            "cdgkm",
            "cdgkm",
            "CDGKMParams",
            "paper",
            supports_dps=True,
            summary="MULTISCALELEARN, Chen, Dou, Goel, Klivans and Meka (COLT 2023)",
        ),
        Learner("netlearn", "netlearn", "NetlearnParams", "paper", summary="NETLEARN, Chen and Narayanan (COLT 2024)"),
        Learner(
            "dk",
            "dk",
            "DKParams",
            "paper",
            proper=False,
            summary="Schur-polynomial learner, Diakonikolas and Kane (COLT 2024): an improper predictor",
        ),
        Learner(
            "gd_population",
            "gd_population",
            "GDPopulationParams",
            "baseline",
            needs_teacher=True,
            summary="oracle baseline: gradient descent on the exact population loss against a teacher",
        ),
        Learner(
            "tensor",
            "tensor",
            "TensorParams",
            "baseline",
            summary="tensor initialisation (Zhong et al. 2017) then Levenberg-Marquardt",
        ),
        Learner(
            "adam",
            "adam",
            "AdamParams",
            "baseline",
            summary="Adam in PyTorch with a learning-rate grid selected on held-out samples",
        ),
        Learner(
            "expand_cluster",
            "expand_cluster",
            "ExpandClusterParams",
            "baseline",
            summary="Expand-and-Cluster (Martinelli et al. 2024): overparameterised Adam students, shared neurons clustered",
        ),
    )
}


def methods(*, kind=None, supports_dps=None, proper=None):
    """The method names, in table order, optionally only those with the given capabilities."""
    return tuple(
        name
        for name, row in LEARNERS.items()
        if (kind is None or row.kind == kind)
        and (supports_dps is None or row.supports_dps == supports_dps)
        and (proper is None or row.proper == proper)
    )


def get(method, caller="learn"):
    """The row of ``method``; ``ValueError`` naming the valid methods otherwise."""
    try:
        return LEARNERS[method]
    except (KeyError, TypeError):
        raise ValueError(f"{caller}: method must be one of {tuple(LEARNERS)}, got {method!r}") from None
