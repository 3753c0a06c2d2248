"""Levenberg-Marquardt on the empirical squared loss of ``sum_i mu_i relu(<w_i, x>) + <a, x>``.

The model is piecewise bilinear in ``(W, mu)`` and linear in ``a``; its Jacobian is analytic:
``d/dW_ij = mu_i 1[<w_i,x> > 0] x_j``, ``d/dmu_i = relu(<w_i,x>)``, ``d/da_j = x_j``.  Steps
solve ``(J^T J + lam diag(J^T J)) delta = -J^T r`` (Marquardt scaling); a step is taken only
if it lowers the loss, after which rows of ``W`` are rescaled to unit norm with the norms moved
into ``mu`` (the function is unchanged: relu is positively homogeneous).
"""

from __future__ import annotations

import contextlib
import dataclasses

import numpy as np

from ._threads import blas_single_thread

__all__ = ["EXACT_LOSS", "LM_ATOL", "LMOutcome", "expanding_subspace_lm", "levenberg_marquardt", "predict"]

#: Relative training loss (to ``mean(y^2)``) below which a fit counts as exact within rounding:
#: float64 residuals of an exact fit are ~1e-16 relative to the labels, so their mean square is
#: ~1e-32 to 1e-30 of ``mean(y^2)``; 1e-26 leaves four to six orders of margin for sums over many
#: samples and ill-conditioned rows, and stays far below the verdict's default ``success_tol`` 1e-10.
EXACT_LOSS = 1e-26
#: Levenberg-Marquardt's absolute stopping loss, relative to ``mean(y^2)``: a hundred times below
#: :data:`EXACT_LOSS`, so a refinement that stops there is exact by that test.
LM_ATOL = 1e-28
#: A Levenberg-Marquardt run with at most this many parameters runs with one BLAS thread: its
#: products are too small for a second thread to pay, and on a 2-core machine the second thread's
#: spin-waiting made the fast learner's starts and refinement rounds (at most ``k (3k + 3) + 3k + 2``
#: parameters) erratically slower (the same d = 100 run at 2.0 or 3.5 s; docs/benchmarks.md, "Speed
#: of the fast learner").  Larger runs (the full-space polish) keep the pool as it is.
FEW_PARAMETERS = 200


def predict(X, W, mu, a):
    return np.maximum(X @ W.T, 0.0) @ mu + X @ a


@dataclasses.dataclass
class LMOutcome:
    W: np.ndarray
    mu: np.ndarray
    a: np.ndarray
    loss: float
    iterations: int
    reason: str


def _normalize(W, mu):
    norms = np.linalg.norm(W, axis=1)
    norms = np.where(norms > 0, norms, 1.0)
    return W / norms[:, None], mu * norms


def levenberg_marquardt(X, y, W, mu, a, *, fit_linear=True, max_iter=200, rtol=1e-15, atol=0.0, lam=1e-3, patience=3):
    """Minimise ``mean((predict(X, W, mu, a) - y)^2)`` from the given start.

    Stops when the loss is ``<= atol``, when ``rtol`` relative decrease was not reached for
    ``patience`` consecutive accepted steps, when no damping makes progress, or after ``max_iter``
    steps.  ``fit_linear=False`` keeps ``a`` fixed.  Returns an :class:`LMOutcome`.  Runs of at
    most :data:`FEW_PARAMETERS` parameters use one BLAS thread.
    """
    k, d = np.shape(W)
    few = k * (d + 1) + (d if fit_linear else 0) <= FEW_PARAMETERS
    with blas_single_thread() if few else contextlib.nullcontext():
        return _levenberg_marquardt(X, y, W, mu, a, fit_linear, max_iter, rtol, atol, lam, patience)


def _levenberg_marquardt(X, y, W, mu, a, fit_linear, max_iter, rtol, atol, lam, patience):
    n, d = X.shape
    k = W.shape[0]
    W, mu = _normalize(np.array(W, dtype=float), np.array(mu, dtype=float))
    a = np.array(a, dtype=float)
    r = predict(X, W, mu, a) - y
    loss = float(r @ r) / n
    stall = 0
    reason = "max_iter"
    it = 0
    for it in range(1, max_iter + 1):
        if loss <= atol:
            reason = "atol"
            break
        Z = X @ W.T
        act = Z > 0
        cols = [((act * mu)[:, :, None] * X[:, None, :]).reshape(n, k * d), np.maximum(Z, 0.0)]
        if fit_linear:
            cols.append(X)
        J = np.concatenate(cols, axis=1)
        grad = J.T @ r
        H = J.T @ J
        diag = np.diag(H).copy()
        diag[diag <= 0] = max(float(diag.max(initial=0.0)), 1.0) * 1e-12
        improved = False
        while lam <= 1e12:
            try:
                step = np.linalg.solve(H + lam * np.diag(diag), -grad)
            except np.linalg.LinAlgError:
                lam *= 10
                continue
            W2 = W + step[: k * d].reshape(k, d)
            mu2 = mu + step[k * d : k * d + k]
            a2 = a + step[k * d + k :] if fit_linear else a
            r2 = predict(X, W2, mu2, a2) - y
            loss2 = float(r2 @ r2) / n
            if loss2 < loss:
                rel = (loss - loss2) / loss
                W, mu = _normalize(W2, mu2)
                a, r, loss = a2, r2, loss2
                lam = max(lam / 3.0, 1e-12)
                improved = True
                stall = stall + 1 if rel < rtol else 0
                break
            lam *= 4.0
        if not improved:
            reason = "no_progress"
            break
        if stall >= patience:
            reason = "converged"
            break
    return LMOutcome(W, mu, a, loss, it, reason)


def expanding_subspace_lm(
    X,
    y,
    W,
    mu,
    a,
    *,
    fit_linear=True,
    rounds=25,
    sub_iter=30,
    polish_iter=15,
    full_iter=150,
    atol=0.0,
    min_decrease=1e-3,
    memory=False,
    sub_rtol=1e-15,
    polish_rtol=1e-15,
    sub_patience=3,
):
    """Levenberg-Marquardt in the full space at the cost of a low-dimensional one.

    A full-space step costs ``O(n (k d)^2)``; this routine takes rounds of Levenberg-Marquardt
    inside ``span(rows of W, a, the full-space gradients of the rows of W and of a)`` (dimension
    at most ``2k + 2``), then a few full-space steps (``polish_iter``) for the last digits.

    Why the span of the gradients suffices: the Gauss-Newton matrix of the rows of ``W`` has
    ``(i, j)`` block ``mu_i mu_j E[x x^T 1[<w_i,x> > 0] 1[<w_j,x> > 0]]``, which for Gaussian
    ``x`` is a multiple ``A_ij`` of the identity on the complement of ``span(W)``.  So on that
    complement the Gauss-Newton step is ``-(A^{-1} (x) I) g``, a combination of the gradients;
    the subspace contains it up to the sampling fluctuation of the empirical second moments.
    Rounds stop when the loss is ``<= atol`` or a round lowers it by less than a factor
    ``1 - min_decrease`` (near a solution a round divides the loss by far more; slow rounds mean
    a valley of a spurious minimum, where more rounds cost time and rarely help).  When
    ``d <= 2k + 2`` the subspace would be the whole space, and plain Levenberg-Marquardt runs
    instead, for up to ``full_iter`` steps.  With ``memory``, the span also holds the last round's
    change of the rows (a Krylov-like acceleration: on a d = 100, k = 5 instance a round then divided
    the loss by about 18 where it divided it by about 5 without).  ``sub_rtol`` and ``polish_rtol``
    are the relative-decrease stops (:func:`levenberg_marquardt`'s ``rtol``) of the rounds' steps
    and of the polish, and ``sub_patience`` how many steps in a row below ``sub_rtol`` end a
    round.  Returns an :class:`LMOutcome` (``iterations`` counts subspace and full steps).
    """
    n, d = X.shape
    k = W.shape[0]
    W, mu, a = np.array(W, dtype=float), np.array(mu, dtype=float), np.array(a, dtype=float)
    steps = 0
    previous = None
    if d > 2 * k + 2:
        for _ in range(rounds):
            r = predict(X, W, mu, a) - y
            loss0 = float(r @ r) / n
            if loss0 <= atol:
                break
            act = (X @ W.T) > 0
            G = ((act * mu) * r[:, None]).T @ X
            cols = [W.T, G.T] + ([a[:, None], (X.T @ r)[:, None]] if fit_linear else [])
            if memory:
                if previous is not None:
                    cols.append((W - previous).T)
                previous = W.copy()
            Q, sv, _ = np.linalg.svd(np.hstack(cols), full_matrices=False)
            V = Q[:, sv > 1e-12 * sv[0]]
            a_in = a @ V
            out = levenberg_marquardt(
                X @ V,
                y - (0.0 if fit_linear else X @ a),
                W @ V,
                mu,
                a_in if fit_linear else np.zeros(V.shape[1]),
                fit_linear=fit_linear,
                max_iter=sub_iter,
                atol=atol,
                rtol=sub_rtol,
                patience=sub_patience,
            )
            steps += out.iterations
            W, mu = out.W @ V.T, out.mu
            if fit_linear:
                a = out.a @ V.T
            if out.loss > loss0 * (1.0 - min_decrease):
                break
    else:
        polish_iter = full_iter
    out = levenberg_marquardt(X, y, W, mu, a, fit_linear=fit_linear, max_iter=polish_iter, atol=atol, rtol=polish_rtol)
    out.iterations += steps
    return out
