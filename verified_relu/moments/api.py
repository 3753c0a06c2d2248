"""Public estimators: empirical Hermite moments, their random contractions and mat-vecs.

Conventions: ``h_m = He_m / sqrt(m!)`` (probabilists' Hermite, normalized) and ``S_l(x)`` the
normalized Hermite tensor with entries ``prod_j He_{n_j}(x_j) / sqrt(l!)``, so that
``E[relu(<u,x>) S_l(x)] = c_l u^{(x)l}`` for unit ``u`` and every estimator here is an unbiased
estimate of the corresponding :class:`~verified_relu.network.ReLUNetwork` population value when
``y = F(x) + noise`` (mean-zero noise independent of ``x``).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .._validation import as_array, check_int
from ..hermite._generated import MAX_CONTRACTION_DEGREE
from ..network import MAX_TENSOR_ENTRIES, check_unit_vector
from ._kernels import ContractionQuery, MatvecQuery, ScalarQuery, VectorQuery
from ._stream import Reducer, as_data_array, check_chunk_rows
from ._tensor import TensorQuery

__all__ = [
    "MomentEstimate",
    "hermite_moment",
    "moment_contraction",
    "contraction_matvec",
    "MAX_TENSOR_ENTRIES",
]


@dataclasses.dataclass(frozen=True)
class MomentEstimate:
    """An estimate with its standard errors, from one set of samples.

    Unpacks as a pair: ``value, se = moment_contraction(X, y, l, g, return_se=True)``.

    Attributes
    ----------
    value : float or ndarray
        The estimate ``(1/n) sum_a T_a`` of ``E[T]`` (``T_a`` the per-sample term).
    se : float or ndarray
        Entrywise standard error ``s / sqrt(n)``, ``s`` the sample standard deviation (``n - 1``
        denominator) of the per-sample terms -- the usual plug-in for i.i.d. samples.  Computed
        from streamed raw sums (of ``T`` and of ``T * T``, in closed form), so it loses about
        ``2 log10(|mean| / std)`` of its digits: irrelevant unless an entry's mean exceeds its
        standard deviation by a factor of 1e5 or more.
    n : int
        Number of samples.
    l : int or tuple
        Degree(s).
    op_se : float or None
        For a contraction matrix: ``sqrt(||Sigma||_op / n)`` with ``Sigma`` the plug-in
        ``E[(T - M)^2]`` (a ``d x d`` matrix; ``T @ T`` accumulated in closed form).  It
        brackets the operator-norm error: ``E||M_hat - M||_op^2 >= op_se^2`` exactly
        (Jensen), and in the Gaussian (CLT) approximation
        ``E||M_hat - M||_op <= sqrt(2 log(2d)) op_se`` (Tropp 2015, *An Introduction to
        Matrix Concentration Inequalities*, Thm 4.1.1); see :attr:`op_se_bound`.
    """

    value: object
    se: object
    n: int
    l: object
    op_se: float | None = None

    def __iter__(self):
        """Unpacks as ``value, se = estimate`` (the other fields stay available by name)."""
        return iter((self.value, self.se))

    @property
    def op_se_bound(self):
        """``sqrt(2 log(2d)) * op_se``: the Gaussian-approximation bound on ``E||M_hat - M||_op``."""
        if self.op_se is None:
            return None
        d = np.shape(self.value)[0]
        return math.sqrt(2 * math.log(2 * d)) * self.op_se


def _is_dask(obj):
    return type(obj).__module__.split(".")[0] == "dask"


def _check_transform(transform, caller):
    if transform is not None and not callable(transform):
        raise TypeError(
            f"{caller}: transform must be None or a callable (X, y) -> labels, got {type(transform).__name__}"
        )
    return transform


def build_query(d, l, g=None, V=None, *, full_tensor=False, se=False, max_entries=MAX_TENSOR_ENTRIES, caller):
    """Validate the query arguments and return the kernel object (shared with the accumulator)."""
    if not isinstance(se, (bool, np.bool_)):
        raise TypeError(f"{caller}: return_se must be a bool, got {type(se).__name__}")
    if full_tensor and V is not None:
        raise ValueError(f"{caller}: full_tensor and V cannot be combined (a mat-vec needs a contraction)")
    if isinstance(l, (list, tuple)) and V is not None:
        ls = [check_int(v, "l", minimum=2, maximum=MAX_CONTRACTION_DEGREE, caller=caller) for v in l]
        if not ls:
            raise ValueError(f"{caller}: l must not be an empty sequence")
    else:
        l = check_int(l, "l", minimum=0, caller=caller)
        ls = None
    if full_tensor:
        max_entries = check_int(max_entries, "max_entries", minimum=1, caller=caller)
        if d**l > max_entries:
            raise ValueError(
                f"{caller}: the full tensor at l={l}, d={d} has d**l = {d**l} entries (> max_entries = "
                f"{max_entries}); use moment_contraction or contraction_matvec instead"
            )
        if l == 0:
            return ScalarQuery(d, se)
        if l == 1:
            return VectorQuery(d, se)
        return TensorQuery(d, l, se)
    if V is None:
        if l == 0:
            return ScalarQuery(d, se)
        if l == 1:
            return VectorQuery(d, se)
    if ls is None:
        if l < 2 and V is not None:
            raise ValueError(
                f"{caller}: l must be >= 2 for a mat-vec with a contraction matrix, got {l} (use moment_contraction for l < 2)"
            )
        if l > MAX_CONTRACTION_DEGREE:
            raise ValueError(f"{caller}: l must be <= {MAX_CONTRACTION_DEGREE}, got {l}")
    if g is None and ls is None and l == 2:
        g = np.eye(d)[0]  # a contraction in l - 2 = 0 modes does not depend on g
    g = check_unit_vector(g, d, caller=caller)
    if V is None:
        return ContractionQuery(d, l, g, se)
    if ls is None:
        pairs = [(l, _check_block(V, d, "V", caller))]
    else:
        if len(V) != len(ls):
            raise ValueError(f"{caller}: V must hold one (d, r) block per degree in l, got {len(V)} for {len(ls)}")
        pairs = [(lv, _check_block(Vv, d, "V", caller)) for lv, Vv in zip(ls, V)]
    return MatvecQuery(d, g, pairs, se)


def _check_block(V, d, name, caller):
    V = as_array(V, name, caller=caller)
    if V.ndim == 1:
        V = V[:, None]
    if V.ndim != 2 or V.shape[0] != d or V.shape[1] < 1:
        raise ValueError(f"{caller}: {name} must have shape ({d},) or ({d}, r) with r >= 1, got {V.shape}")
    return V


def _data(X, y, caller):
    """Validate shapes of X, y (numpy, memmap or dask) without reading the data."""
    if _is_dask(X) or _is_dask(y):
        for name, arr, nd in (("X", X, 2), ("y", y, 1)):
            if getattr(arr, "ndim", None) != nd:
                raise ValueError(f"{caller}: {name} must be {nd}-dimensional, got shape {getattr(arr, 'shape', None)}")
    else:
        X = as_data_array(X, "X", 2, caller)
        y = as_data_array(y, "y", 1, caller)
    n, d = X.shape
    if any(isinstance(v, float) and v != v for v in (n, d, y.shape[0])):
        raise ValueError(
            f"{caller}: dask arrays with unknown chunk sizes are not supported; call compute_chunk_sizes() first"
        )
    if y.shape[0] != n:
        raise ValueError(
            f"{caller}: X and y must have the same number of rows, got X {tuple(X.shape)} and y {tuple(y.shape)}"
        )
    if n < 1 or d < 1:
        raise ValueError(f"{caller}: X must have at least one row and one column, got shape {tuple(X.shape)}")
    return X, y, int(n), int(d)


def run(query, X, y, transform, chunk_size, caller):
    """Reduce ``query`` over ``(X, y)``: returns ``(value, se, op_se, n)``."""
    rows = check_chunk_rows(chunk_size, caller)
    if _is_dask(X) or _is_dask(y):
        from ._dask import reduce_dask

        red = reduce_dask(query, X, y, transform, rows, caller)
    else:
        red = Reducer(query, transform, caller)
        red.process_array(X, y, rows)
    value, se, op_se = red.result()
    return value, se, op_se, red.n


def _package(query, out, return_se, squeeze=False):
    value, se, op_se, n = out
    if squeeze:
        value = value[:, 0]
        se = None if se is None else se[:, 0]
    if not return_se:
        return value
    return MomentEstimate(value=value, se=se, n=n, l=query.l, op_se=op_se)


def hermite_moment(X, y, l, *, return_se=False, max_entries=MAX_TENSOR_ENTRIES, transform=None, chunk_size=None):
    """The empirical Hermite moment ``(1/n) sum_a y_a S_l(x_a)`` as a full symmetric tensor.

    Parameters
    ----------
    X : array_like, numpy memmap or dask array, shape (n, d)
        Inputs, one sample per row.
    y : array_like, numpy memmap or dask array, shape (n,)
        Labels (any real vector: residuals and transformed labels are the same call).
    l : int
        Order, ``l >= 0``.
    return_se : bool, default False
        Return a :class:`MomentEstimate` with entrywise standard errors.
    max_entries : int, default ``MAX_TENSOR_ENTRIES`` (1e7)
        Refuse (``ValueError``) when ``d**l`` exceeds it; use :func:`moment_contraction` or
        :func:`contraction_matvec` at larger ``d`` or ``l``.
    transform : callable, optional
        Row-wise label transform ``(X_block, y_block) -> labels`` applied before the
        estimate (see :mod:`verified_relu.moments.labels`).
    chunk_size : int, optional
        Rows handled at once (rounded up to a multiple of 4096); does not change the result.

    Returns
    -------
    ndarray of shape ``(d,) * l`` (a float for ``l = 0``), or :class:`MomentEstimate`.

    Notes
    -----
    Entry ``[i_1..i_l]`` is ``(1/n) sum_a y_a prod_j He_{n_j}(x_{a j}) / sqrt(l!)``.  One value is
    computed per multiset of indices (``C(d+l-1, l)`` of them, O(n l) work each) and scattered.
    The result is bitwise independent of ``chunk_size`` (see :mod:`verified_relu.moments`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((1000, 2)); y = X[:, 0] * X[:, 1]
    >>> T = hermite_moment(X, y, 2)      # E[x1 x2 S_2(x)] has off-diagonal entries 1/sqrt(2)
    >>> T.shape, bool(abs(T[0, 1] - T[1, 0]) == 0)
    ((2, 2), True)
    """
    caller = "hermite_moment"
    X, y, n, d = _data(X, y, caller)
    query = build_query(d, l, full_tensor=True, se=return_se, max_entries=max_entries, caller=caller)
    out = run(query, X, y, _check_transform(transform, caller), chunk_size, caller)
    return _package(query, out, return_se)


def moment_contraction(X, y, l, g=None, *, return_se=False, transform=None, chunk_size=None):
    """Empirical ``E[y S_l(x)]`` contracted with the unit vector ``g`` in ``l - 2`` modes.

    The empirical counterpart of :meth:`verified_relu.ReLUNetwork.moment_contraction`: the
    symmetric ``(d, d)`` matrix ``(1/n) sum_a y_a S_l(x_a)[g^{l-2}, :, :]`` for ``l >= 2``,
    computed per sample from the contraction identity
    ``S_l(x)[g^{l-2}] = a_l h_l(t) g g^T + b_l h_{l-1}(t) (g y^T + y g^T) + c_l h_{l-2}(t) (y y^T - P)``
    (``t = <g,x>``, ``y = P x``, ``P = I - g g^T``) in O(n d^2) time and O(d^2 + chunk)
    memory.  For ``l = 0`` returns the scalar ``(1/n) sum y_a`` and for ``l = 1`` the vector
    ``(1/n) sum y_a x_a`` (``g`` unused).

    Parameters
    ----------
    X, y : arrays (numpy, memmap or dask), shapes (n, d) and (n,)
    l : int
        ``0 <= l <= 128``.
    g : array_like, shape (d,)
        Unit vector (norm within 1e-10 of 1), required for ``l >= 2``.
    return_se : bool, default False
        Return a :class:`MomentEstimate` with entrywise ``se`` and, for ``l >= 2``, ``op_se``.
    transform, chunk_size
        As in :func:`hermite_moment`.

    Examples
    --------
    >>> from verified_relu import ReLUNetwork
    >>> net = ReLUNetwork([[1.0, 0.0]], [1.0])
    >>> X, y = net.sample(20000, rng=0)
    >>> M = moment_contraction(X, y, 2, [1.0, 0.0], return_se=True)
    >>> exact = net.moment_contraction(2, [1.0, 0.0])
    >>> bool(np.all(np.abs(M.value - exact) < 5 * M.se + 1e-12))
    True
    """
    caller = "moment_contraction"
    X, y, n, d = _data(X, y, caller)
    query = build_query(d, l, g, se=return_se, caller=caller)
    out = run(query, X, y, _check_transform(transform, caller), chunk_size, caller)
    return _package(query, out, return_se)


def contraction_matvec(X, y, l, g, V, *, return_se=False, transform=None, chunk_size=None):
    """The contraction matrix of :func:`moment_contraction` applied to ``V``, without forming it.

    Computes ``M_hat V`` with ``M_hat = (1/n) sum_a y_a S_l(x_a)[g^{l-2}, :, :]`` in O(n d r)
    time: per block one product ``X_b @ [g, V]``, element-wise Hermite weights and one product
    ``X_b^T [...]`` (the terms in ``y = x - t g`` are expanded so ``X`` is read twice per block
    and never projected).

    Parameters
    ----------
    X, y : arrays (numpy, memmap or dask), shapes (n, d) and (n,)
    l : int
        ``2 <= l <= 128``.
    g : array_like, shape (d,)
        Unit vector.
    V : array_like, shape (d,) or (d, r)
    return_se : bool, default False
        Entrywise standard errors of ``M_hat V`` (one more product with ``X_b * X_b``).
    transform, chunk_size
        As in :func:`hermite_moment`.

    Returns
    -------
    ndarray of the shape of ``V`` (or :class:`MomentEstimate`).
    """
    caller = "contraction_matvec"
    X, y, n, d = _data(X, y, caller)
    l = check_int(l, "l", minimum=2, caller=caller)
    squeeze = np.ndim(V) == 1
    query = build_query(d, l, g, V, se=return_se, caller=caller)
    out = run(query, X, y, _check_transform(transform, caller), chunk_size, caller)
    return _package(query, out, return_se, squeeze=squeeze)
