"""verified_relu: learn narrow one-hidden-layer ReLU networks under Gaussian inputs, and check
the mathematics behind the learning algorithms (CDGKM23, CN24, DK24) line by line.

Layers (data flows down only): :mod:`verified_relu.hermite.symbolic` (exact sympy
derivations) -> :mod:`verified_relu.hermite._generated` (checked-in exact constants) ->
:mod:`verified_relu.hermite.numeric` (float64 / explicit-precision mpmath) ->
:mod:`verified_relu.network` (exact population functionals) -> estimation and learners.
"""

from . import instances, metrics, moments
from ._version import __version__
from .estimator import ReLUNetworkRegressor
from .learners import LearnResult, learn
from .network import CanonicalNetwork, ReLUNetwork

__all__ = [
    "CanonicalNetwork",
    "LearnResult",
    "ReLUNetwork",
    "ReLUNetworkRegressor",
    "__version__",
    "instances",
    "learn",
    "metrics",
    "moments",
]
