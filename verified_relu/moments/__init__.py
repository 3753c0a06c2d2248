"""Moment estimation from samples: Hermite moments, random contractions and their mat-vecs.

Conventions: ``h_m = He_m / sqrt(m!)`` (probabilists' Hermite, normalized); ``S_l(x)`` is the
normalized Hermite tensor with entries ``prod_j He_{n_j}(x_j) / sqrt(l!)``, so
``E[relu(<u,x>) S_l(x)] = c_l u^{(x)l}`` for unit ``u``.  For labels ``y = F(x) + noise`` every
estimate here is unbiased for the exact population value given by
:class:`~verified_relu.ReLUNetwork` (:meth:`~verified_relu.ReLUNetwork.hermite_moment`,
:meth:`~verified_relu.ReLUNetwork.moment_contraction`).

What is here
------------
* :func:`hermite_moment` -- the full tensor ``(1/n) sum_a y_a S_l(x_a)`` for small ``d``.
* :func:`moment_contraction` -- the ``(d, d)`` contraction in ``l - 2`` modes with a unit
  ``g``, O(n d^2), from the contraction identity of the symbolic layer.
* :func:`contraction_matvec` -- that matrix times a block ``V (d, r)``, O(n d r), never formed;
  :func:`contraction_operator` (a SciPy ``LinearOperator``) and :func:`contraction_eigh`
  (top-``k`` eigenpairs of a contraction or of a sum of squares of contractions).
* ``return_se=True`` everywhere: entrywise standard errors (and an operator-norm one for
  contraction matrices) from the same samples (:class:`MomentEstimate`).
* :class:`MomentAccumulator` -- any of the above over chunks: arrays, memmaps, iterators of
  chunks, in any order, mergeable.  Dask arrays are accepted by every function and reduced
  with dask (``pip install 'verified-relu[dask]'``); a ``dask.distributed`` Client is used
  when active.
* :mod:`.labels` -- residuals ``y - f_hat(x)`` and label transforms (``y^2``, ``|y|``,
  centring), with the list of claims that hold only for correlational labels.
* :mod:`.audit` -- the same estimates in mpmath at a chosen precision, and
  :func:`rounding_error`, the float64 error of an estimate on given samples.

Order independence
------------------
Samples are reduced in canonical blocks of 4096 consecutive samples (by global index) with
fixed-shape operations, and the per-block partial sums are added exactly (error-free
transformations) and rounded once.  Results are therefore **bitwise identical** for every
chunk size, chunk order, accumulator merge and for the dask path (given a BLAS that is
deterministic for fixed shapes and thread count, as OpenBLAS and MKL are); see
:mod:`verified_relu.moments._stream`.
"""

from ._kernels import CANONICAL_BLOCK
from .accumulator import MomentAccumulator
from .api import MAX_TENSOR_ENTRIES, MomentEstimate, contraction_matvec, hermite_moment, moment_contraction
from .audit import RoundingReport, contraction_matvec_mp, hermite_moment_mp, moment_contraction_mp, rounding_error
from .eig import ContractionOperator, EigenResult, contraction_eigh, contraction_operator
from .labels import LabelTransform, Residual

__all__ = [
    "CANONICAL_BLOCK",
    "MAX_TENSOR_ENTRIES",
    "MomentEstimate",
    "hermite_moment",
    "moment_contraction",
    "contraction_matvec",
    "contraction_operator",
    "contraction_eigh",
    "ContractionOperator",
    "EigenResult",
    "MomentAccumulator",
    "Residual",
    "LabelTransform",
    "moment_contraction_mp",
    "contraction_matvec_mp",
    "hermite_moment_mp",
    "rounding_error",
    "RoundingReport",
]
