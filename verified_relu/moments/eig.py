"""Top eigenpairs of contraction matrices (or of sums of their squares) from mat-vecs only.

Each application of the operator is one pass over the samples costing O(n d r) for a block of
``r`` vectors (two passes for squares), so a top-``k`` decomposition never forms the
``d x d`` matrix.  Two solvers: a block Krylov (block Lanczos with full reorthogonalization
and thick restarts, one pass per iteration for a whole block) and ARPACK through
:func:`scipy.sparse.linalg.eigsh` on a :class:`~scipy.sparse.linalg.LinearOperator`
(one pass per vector).
"""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

from .._validation import check_int, check_real, check_rng
from ..hermite._generated import MAX_CONTRACTION_DEGREE
from ..network import check_unit_vector
from ._kernels import MatvecQuery
from .api import _check_transform, _data, run

__all__ = ["ContractionOperator", "contraction_operator", "contraction_eigh", "EigenResult"]


class ContractionOperator(LinearOperator):
    """The symmetric operator ``M_hat_l`` (or ``sum_l M_hat_l^2``) applied by passes over the data.

    Attributes
    ----------
    passes : int
        Number of passes over the samples made so far (one per application of a single
        contraction, two for a sum of squares).
    """

    def __init__(self, X, y, l, g, *, transform=None, chunk_size=None):
        caller = "contraction_operator"
        X, y, n, d = _data(X, y, caller)
        self._squares = not isinstance(l, numbers.Integral) or isinstance(l, bool)
        if self._squares:
            try:
                ls = [check_int(v, "l", minimum=2, maximum=MAX_CONTRACTION_DEGREE, caller=caller) for v in l]
            except TypeError as exc:
                raise TypeError(f"{caller}: l must be an int or a sequence of ints, got {l!r}") from exc
            if not ls:
                raise ValueError(f"{caller}: l must not be an empty sequence")
        else:
            ls = [check_int(l, "l", minimum=2, maximum=MAX_CONTRACTION_DEGREE, caller=caller)]
        self.ls = tuple(ls)
        self.g = check_unit_vector(g, d, caller=caller)
        self._X, self._y, self.n = X, y, n
        self._transform = _check_transform(transform, caller)
        self._chunk = chunk_size
        self.passes = 0
        super().__init__(dtype=np.float64, shape=(d, d))

    def _pass(self, blocks):
        query = MatvecQuery(self.shape[0], self.g, list(zip(self.ls, blocks)))
        values, _, _, _ = run(query, self._X, self._y, self._transform, self._chunk, "contraction_operator")
        self.passes += 1
        return [values] if len(self.ls) == 1 else values

    def _matmat(self, V):
        V = np.asarray(V, dtype=np.float64)
        if V.ndim == 1:
            V = V[:, None]
        if not np.all(np.isfinite(V)):
            raise ValueError("contraction_operator: the vectors to multiply must be finite")
        first = self._pass([V] * len(self.ls))
        if not self._squares:
            return first[0]
        second = self._pass(first)
        return np.sum(second, axis=0)

    def _matvec(self, v):
        return self._matmat(np.asarray(v).reshape(-1, 1))[:, 0]

    def _rmatvec(self, v):
        return self._matvec(v)

    def _adjoint(self):
        return self


def contraction_operator(X, y, l, g, *, transform=None, chunk_size=None):
    """A :class:`~scipy.sparse.linalg.LinearOperator` for ``M_hat_l`` (``l`` an int) or for
    ``sum_{l in ls} M_hat_l^2`` (``l`` a sequence), where ``M_hat_l`` is the contraction matrix of
    :func:`~verified_relu.moments.moment_contraction`.  Each product is a pass (two for squares)
    over ``(X, y)`` -- numpy, memmap or dask arrays.
    """
    return ContractionOperator(X, y, l, g, transform=transform, chunk_size=chunk_size)


@dataclasses.dataclass(frozen=True)
class EigenResult:
    """Top eigenpairs of a contraction operator.

    Attributes
    ----------
    values : ndarray, shape (k,)
        Eigenvalues, by decreasing magnitude (a single contraction is indefinite) or
        decreasing value (a sum of squares is positive semi-definite).
    vectors : ndarray, shape (d, k)
        Orthonormal eigenvectors (columns).
    residuals : ndarray, shape (k,)
        ``||A v - lambda v||`` for each pair (computed from the Krylov relation, no extra pass).
    passes : int
        Passes over the samples.
    converged : bool
        Whether every residual met ``tol * max|lambda|``.
    """

    values: np.ndarray
    vectors: np.ndarray
    residuals: np.ndarray
    passes: int
    converged: bool


def _orth(W, basis):
    """Orthonormal columns spanning ``W`` projected off ``basis``; columns that vanish in the
    projection (relative to their size) are dropped.  Two rounds of projection and QR, so the
    result is orthogonal to ``basis`` to working precision even when ``W`` is ill-conditioned."""
    for _ in range(2):
        before = np.linalg.norm(W, axis=0)
        if basis.shape[1]:
            W = W - basis @ (basis.T @ W)
        live = np.linalg.norm(W, axis=0) > 1e-10 * before
        W = W[:, live]
        if W.shape[1] == 0:
            return W
        Q, R = np.linalg.qr(W)
        W = Q[:, np.abs(np.diag(R)) > 1e-10 * np.abs(R).max()]
    return W


def contraction_eigh(
    X,
    y,
    l,
    g,
    k,
    *,
    method="krylov",
    block_size=None,
    max_basis=None,
    tol=1e-10,
    max_passes=200,
    rng=None,
    transform=None,
    chunk_size=None,
):
    """Top-``k`` eigenpairs of a contraction ``M_hat_l`` or of ``sum_{l in ls} M_hat_l^2``.

    Parameters
    ----------
    X, y : arrays (numpy, memmap or dask), shapes (n, d) and (n,)
    l : int or sequence of int
        One degree (eigenpairs of largest magnitude of the indefinite ``M_hat_l``), or several
        (largest eigenpairs of the PSD ``sum_l M_hat_l^2``; their span is the joint top
        singular subspace used in CDGKM step 8).
    g : array_like, shape (d,)
        Unit contraction vector.
    k : int
        Number of eigenpairs, ``1 <= k <= d``.
    method : {"krylov", "arpack"}
        ``"krylov"``: block Lanczos, one pass per iteration for a block of ``block_size``
        vectors (default ``min(d, k + 4)``), O(n d block_size) per pass.  ``"arpack"``:
        :func:`scipy.sparse.linalg.eigsh` on :func:`contraction_operator`, one pass per vector.
    max_basis : int, optional
        Krylov basis size at which the block Krylov solver restarts, keeping its leading Ritz
        vectors (default ``min(d, max(8 b, 2 k + 2 b))``, ``b`` the block size).
    tol : float
        Relative residual tolerance ``||A v - lambda v|| <= tol * max|lambda|``.
    max_passes : int
        Limit on passes over the data (Krylov); ARPACK's ``maxiter`` (restarts) for "arpack".
    rng : seed or Generator
        Starting block (SPEC 7).

    Returns
    -------
    EigenResult
    """
    caller = "contraction_eigh"
    op = contraction_operator(X, y, l, g, transform=transform, chunk_size=chunk_size)
    d = op.shape[0]
    k = check_int(k, "k", minimum=1, maximum=d, caller=caller)
    tol = check_real(tol, "tol", minimum=0.0, strict_min=True, caller=caller)
    max_passes = check_int(max_passes, "max_passes", minimum=1, caller=caller)
    gen = check_rng(rng, caller=caller)
    psd = op._squares
    if method == "arpack":
        if k >= d:
            raise ValueError(f"{caller}: method='arpack' needs k < d (got k={k}, d={d}); use method='krylov'")
        try:
            vals, vecs = eigsh(
                op, k=k, which="LA" if psd else "LM", tol=tol, v0=gen.standard_normal(d), maxiter=max_passes
            )
            converged = True
        except ArpackNoConvergence as exc:
            vals, vecs, converged = exc.eigenvalues, exc.eigenvectors, False
        order = np.argsort(-vals if psd else -np.abs(vals))
        vals, vecs = vals[order], vecs[:, order]
        res = np.linalg.norm(op.matmat(vecs) - vecs * vals, axis=0)  # one more pass, for the record
        return EigenResult(vals, vecs, res, op.passes, converged)
    if method != "krylov":
        raise ValueError(f"{caller}: method must be 'krylov' or 'arpack', got {method!r}")
    b = (
        min(d, k + 4)
        if block_size is None
        else check_int(block_size, "block_size", minimum=k, maximum=d, caller=caller)
    )
    if max_basis is None:
        max_basis = min(d, max(8 * b, 2 * k + 2 * b))
    else:
        max_basis = check_int(max_basis, "max_basis", minimum=min(d, k + b), caller=caller)
    basis = np.zeros((d, 0))
    images = np.zeros((d, 0))
    new = _orth(gen.standard_normal((d, b)), basis)
    converged = False
    while True:
        basis = np.hstack([basis, new])
        images = np.hstack([images, op.matmat(new)])
        T = basis.T @ images
        theta, S = np.linalg.eigh((T + T.T) / 2)
        order = np.argsort(-theta if psd else -np.abs(theta))
        theta, S = theta[order], S[:, order]
        vecs = basis @ S[:, :k]
        resid = images @ S[:, :k] - vecs * theta[:k]
        res = np.linalg.norm(resid, axis=0)
        scale = max(float(np.abs(theta).max()), np.finfo(float).tiny)
        if basis.shape[1] >= d or np.all(res <= tol * scale):
            converged = True
            break
        if op.passes >= max_passes:
            break
        if basis.shape[1] + b > max_basis:  # thick restart on the leading Ritz vectors
            keep = min(basis.shape[1], max(k, max_basis - b))
            basis, images = basis @ S[:, :keep], images @ S[:, :keep]
            cand = images[:, :b] - basis[:, :b] * theta[:b]
        else:
            cand = images[:, -new.shape[1] :]
        new = _orth(cand, basis)
        if new.shape[1] == 0:  # invariant subspace found: continue with fresh directions
            new = _orth(gen.standard_normal((d, b)), basis)
            if new.shape[1] == 0:
                converged = True
                break
    return EigenResult(theta[:k].copy(), vecs, res, op.passes, converged)
