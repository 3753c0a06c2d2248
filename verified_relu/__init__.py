"""verified_relu: learn narrow one-hidden-layer ReLU networks under Gaussian inputs, and check
the mathematics behind the learning algorithms (CDGKM23, CN24, DK24) line by line.

Layers (data flows down only): :mod:`verified_relu.hermite.symbolic` (exact sympy
derivations) -> :mod:`verified_relu.hermite._generated` (checked-in exact constants) ->
:mod:`verified_relu.hermite.numeric` (float64 / explicit-precision mpmath) ->
:mod:`verified_relu.network` (exact population functionals) -> estimation and learners.

Submodules and the names below are loaded lazily, on first access (PEP 562, as scipy does):
``import verified_relu`` itself imports neither scikit-learn, torch, matplotlib nor
scipy.stats, and ``from verified_relu import learn`` loads only what ``learn`` needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._version import __version__

# Public submodules, imported on first attribute access.
_SUBMODULES = frozenset(
    {
        "estimator",
        "gaussianity",
        "hermite",
        "identifiability",
        "instances",
        "learners",
        "metrics",
        "moments",
        "network",
        "precision",
        "testing",
        "verdict",
    }
)

# Public names -> the submodule that defines them.
_NAMES = {
    "CanonicalNetwork": "network",
    "InputDistributionWarning": "gaussianity",
    "LearnResult": "learners",
    "ReLUNetwork": "network",
    "ReLUNetworkRegressor": "estimator",
    "learn": "api",
}

__all__ = [
    "CanonicalNetwork",
    "InputDistributionWarning",
    "LearnResult",
    "ReLUNetwork",
    "ReLUNetworkRegressor",
    "__version__",
    "identifiability",
    "instances",
    "learn",
    "learners",
    "metrics",
    "moments",
]


def __getattr__(name):
    if name in _NAMES:
        value = getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later accesses skip __getattr__
    return value


def __dir__():
    return sorted(set(__all__) | _SUBMODULES)


if TYPE_CHECKING:  # static analysers see the eager imports
    from . import identifiability, instances, learners, metrics, moments
    from .api import learn
    from .estimator import ReLUNetworkRegressor
    from .gaussianity import InputDistributionWarning
    from .learners import LearnResult
    from .network import CanonicalNetwork, ReLUNetwork
