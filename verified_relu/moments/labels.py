"""Label transforms: residual moments and non-correlational queries through the same estimators.

Every estimator of :mod:`verified_relu.moments` takes an arbitrary label vector, so residual
moments ``E[(y - f_hat(x)) S_l(x)]`` (CDGKM step 5) and moments of transformed labels
(``y^2``, ``|y|``, centred labels) are the same call.  Pass either the transformed labels
directly, or one of the row-wise transforms below as ``transform=`` so that streaming/dask
inputs are transformed chunk by chunk (a transform must act row by row: the label of a sample
may depend only on that sample's ``x`` and ``y``).

Which claims of the papers hold for which labels
------------------------------------------------
*Correlational labels* ``y = F(x) + zeta`` (``zeta`` mean zero, independent of ``x``), and
residuals ``y - f_hat(x)`` for a *fixed* network ``f_hat`` (they are the labels of the network
``F - f_hat``, again a one-hidden-layer ReLU network plus a linear term):

* ``E[y S_l] = c_l sum_i mu_i |w_i| u_i^{(x)l}`` (plus ``a`` at ``l = 1``): the moment tensors
  are rank-``k`` symmetric tensors, and their contractions
  ``c_l sum_i mu_i |w_i| <u_i, g>^{l-2} u_i u_i^T`` have rank ``<= k``, range inside
  ``span(u_i)`` and eigenvalues at most ``||lambda||_1`` in magnitude (CDGKM Lemma 7, CN Eq. 5,
  CN Lemma 14);
* moments of odd order ``l >= 3`` vanish; cancelling clumps of neurons are invisible in every
  moment (the CSQ lower bound of DKKZ20 applies to exactly these queries);
* :meth:`ReLUNetwork.moment_contraction` is the exact expectation of the estimate.

If ``f_hat`` was fitted on the same samples the residual moments are biased (use fresh samples,
as CDGKM step 11 does for validation).

*Non-correlational labels* (``y^2``, ``|y|``, ``(y - c)^2`` ...): the estimators are still
unbiased for ``E[T(y) S_l(x)]`` when the transform ``T`` is fixed in advance, but none of the
structural claims above hold: the moments mix pairs of neurons (``F^2`` contains
``relu(<u_i,x>) relu(<u_j,x>)``), odd moments need not vanish, ranks are not bounded by
``k``, and :class:`~verified_relu.ReLUNetwork` has no closed form for them.  This is the point:
such queries can see directions whose contributions cancel in ``E[y S_l]``.  With label noise,
``E[(F + zeta)^2 S_l] = E[F^2 S_l] + sigma^2 E[S_l]``, biased only at ``l = 0``.  Centring with
a centre estimated from the same samples introduces an ``O(1/n)`` bias.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_real

__all__ = ["Residual", "LabelTransform"]


class Residual:
    """Residual labels ``y - model(X)`` (CDGKM step 5), applied chunk by chunk.

    Parameters
    ----------
    model : callable
        ``model(X) -> (m,)`` predictions, e.g. a :class:`~verified_relu.ReLUNetwork`.

    Examples
    --------
    >>> import numpy as np
    >>> from verified_relu import ReLUNetwork
    >>> net = ReLUNetwork([[1.0, 0.0]], [1.0])
    >>> X = np.array([[1.0, 2.0], [-1.0, 0.0]])
    >>> Residual(net)(X, np.array([3.0, 1.0]))
    array([2., 1.])
    """

    def __init__(self, model):
        if not callable(model):
            raise TypeError(f"Residual: model must be callable (X -> predictions), got {type(model).__name__}")
        self.model = model

    def __call__(self, X, y):
        return np.asarray(y, dtype=np.float64) - np.asarray(self.model(X), dtype=np.float64)

    def __repr__(self):
        return f"Residual({self.model!r})"


class LabelTransform:
    """Point-wise label transforms: ``"center"`` ``y - c``, ``"square"`` ``(y - c)^2``,
    ``"abs"`` ``|y - c|``, optionally after another row-wise transform ``base``
    (e.g. ``LabelTransform("square", base=Residual(f_hat))``).

    Parameters
    ----------
    kind : {"center", "square", "abs"}
    center : float, default 0.0
    base : callable, optional
        Applied first: ``(X, y) -> labels``.
    """

    _KINDS = ("center", "square", "abs")

    def __init__(self, kind, center=0.0, base=None):
        if kind not in self._KINDS:
            raise ValueError(f"LabelTransform: kind must be one of {self._KINDS}, got {kind!r}")
        if base is not None and not callable(base):
            raise TypeError(f"LabelTransform: base must be callable or None, got {type(base).__name__}")
        self.kind = kind
        self.center = check_real(center, "center", caller="LabelTransform")
        self.base = base

    def __call__(self, X, y):
        y = np.asarray(y, dtype=np.float64)
        if self.base is not None:
            y = np.asarray(self.base(X, y), dtype=np.float64)
        z = y - self.center
        if self.kind == "square":
            return z * z
        if self.kind == "abs":
            return np.abs(z)
        return z

    def __repr__(self):
        return f"LabelTransform({self.kind!r}, center={self.center!r}, base={self.base!r})"
