"""High precision end to end: the learners' steps at any mpmath precision, certified recovery,
and a float64-vs-mpmath numerical-stability report.

* :mod:`~verified_relu.precision.steps` -- each numerical step with ``dps=None`` (float64) or
  ``dps=N`` (explicit mpmath context; small problems only, see ``MAX_MP_SAMPLES``);
* :mod:`~verified_relu.precision.certify` -- :func:`certify`: refine a result at ``dps`` digits on
  the same samples and report the digits of agreement with a teacher and the conditioning;
* :mod:`~verified_relu.precision.stability` -- :func:`stability_report`: per step, float64 vs
  mp, relative difference, condition estimate and digits lost, plus known-bad probes.

Global mpmath state (``mpmath.mp.dps``) is never touched.
"""

from .certify import CertifyReport, certify, noiseless_labels
from .stability import (
    StabilityReport,
    format_stability,
    stability_report,
)
from .steps import MAX_MP_DIMENSION, MAX_MP_SAMPLES, check_mp_size

__all__ = [
    "MAX_MP_DIMENSION",
    "MAX_MP_SAMPLES",
    "CertifyReport",
    "StabilityReport",
    "certify",
    "check_mp_size",
    "format_stability",
    "noiseless_labels",
    "stability_report",
]
