"""Rigorous enclosures and a-posteriori proofs (python-flint / Arb ball arithmetic).

* :mod:`~verified_relu.rigorous.enclosures` -- balls guaranteed to contain ``c_m``, ``h_n(x)``,
  the arc-cosine kernels, ``E[F^2]``, ``E[(F - G)^2]``, moment contractions and sample losses,
  for float64 inputs taken exactly;
* :mod:`~verified_relu.rigorous.verify` -- :func:`verify_fit`: a Krawczyk proof that the sample
  least-squares loss has exactly one critical point in an explicit ball around a learned network.

Needs the ``rigorous`` extra (python-flint).  python-flint's global precision is only changed
inside scopes that restore it.
"""

from ._arb import DEFAULT_PREC, ball
from .enclosures import (
    abs_kernel,
    hermite_normalized,
    moment_contraction,
    norm_squared,
    relu_coefficient,
    relu_kernel,
    sample_loss,
    squared_distance,
)
from .verify import MAX_DIMENSION, MAX_SAMPLES, FitCertificate, verify_fit

__all__ = [
    "DEFAULT_PREC",
    "MAX_DIMENSION",
    "MAX_SAMPLES",
    "FitCertificate",
    "abs_kernel",
    "ball",
    "hermite_normalized",
    "moment_contraction",
    "norm_squared",
    "relu_coefficient",
    "relu_kernel",
    "sample_loss",
    "squared_distance",
    "verify_fit",
]
