"""Levenberg-Marquardt on the empirical squared loss of ``sum_i mu_i relu(<w_i, x>) + <a, x>``.

The model is piecewise bilinear in ``(W, mu)`` and linear in ``a``; its Jacobian is analytic:
``d/dW_ij = mu_i 1[<w_i,x> > 0] x_j``, ``d/dmu_i = relu(<w_i,x>)``, ``d/da_j = x_j``.  Steps
solve ``(J^T J + lam diag(J^T J)) delta = -J^T r`` (Marquardt scaling); a step is taken only
if it lowers the loss, after which rows of ``W`` are rescaled to unit norm with the norms moved
into ``mu`` (the function is unchanged: relu is positively homogeneous).
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["LMOutcome", "levenberg_marquardt", "predict"]


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


def levenberg_marquardt(X, y, W, mu, a, *, fit_linear=True, max_iter=200, rtol=1e-15, atol=0.0, lam=1e-3):
    """Minimise ``mean((predict(X, W, mu, a) - y)^2)`` from the given start.

    Stops when the loss is ``<= atol``, when ``rtol`` relative decrease was not reached for
    three consecutive accepted steps, when no damping makes progress, or after ``max_iter``
    steps.  ``fit_linear=False`` keeps ``a`` fixed.  Returns an :class:`LMOutcome`.
    """
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
        if stall >= 3:
            reason = "converged"
            break
    return LMOutcome(W, mu, a, loss, it, reason)
