"""Oracle baseline: gradient descent on the exact population loss (teacher-student protocol).

The loss ``L(W, mu, a) = E[(F_hat(x) - T(x))^2]``, ``x ~ N(0, I_d)``, between the student
``F_hat(x) = sum_i mu_i relu(<w_i, x>) + <a, x>`` and a given teacher network ``T`` is written
in closed form through the arc-cosine kernel

    K(w, z) = E[relu(<w,x>) relu(<z,x>)] = |w| |z| (sin t + (pi - t) cos t) / (2 pi),

``t`` the angle between ``w`` and ``z``, and ``E[relu(<w,x>) <e,x>] = <w, e> / 2``.  With the
student and teacher neurons stacked as ``z_q`` with coefficients ``c = (mu, -nu)`` and
``e = a - b`` (``b`` the teacher's linear term),

    L = sum_{p,q} c_p c_q K(z_p, z_q) + sum_q c_q <z_q, e> + |e|^2.

Gradients (``w_i`` a student neuron, ``t_iq`` its angle to ``z_q``, ``u_i = w_i / |w_i|``):
``dK(w, z)/dw = ((pi - t) z + |z| sin(t) u) / (2 pi)`` -- which follows from
``dK/dw = E[1{<w,x> > 0} x relu(<z,x>)]`` or by differentiating the closed form with
``dt/dw = -(z/|z| - cos(t) u) / (|w| sin t)`` -- so

    dL/dw_i  = 2 mu_i sum_q c_q dK(w_i, z_q)/dw_i + mu_i e,
    dL/dmu_i = 2 sum_q c_q K(w_i, z_q) + <w_i, e>,
    dL/da    = sum_q c_q z_q + 2 e.

(The diagonal term is included by the same formula: ``dK(w, w)/dw = w / 2`` is half the
derivative of ``|w|^2 / 2``, and the double sum counts it twice.)

**This is an oracle baseline.**  It never looks at the samples' labels: it needs the teacher
network, i.e. the population loss itself, and shows where gradient descent stalls (spurious
stationary points, slow escape from saddles, neurons collapsing) *even with infinite data*.
The samples passed to :func:`~verified_relu.learners.learn` only fix the dimension and give a
reported empirical error.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from .._validation import BOOLEAN, Interval, check_params
from ..network import ReLUNetwork
from ..verdict import CONSTRAINTS as VERDICT_CONSTRAINTS
from .baselines import (
    judge,
    xavier_init,
)
from .result import TraceStep

__all__ = ["GDPopulationParams", "fit", "population_loss_and_grad", "validate"]

METHOD = "gd_population"


@dataclasses.dataclass(frozen=True)
class GDPopulationParams:
    """Options of the ``gd_population`` oracle baseline.

    teacher : the target :class:`~verified_relu.network.ReLUNetwork` (required: the population
        loss is ``E[(F_hat - teacher)^2]``).
    lr : fixed step size of gradient descent.
    max_iter : iteration budget.
    grad_tol : stop when the Euclidean norm of the full gradient is below this.
    fit_linear : also learn a linear term ``<a, x>`` (started at zero); otherwise ``a = 0``.
    init : optional starting :class:`~verified_relu.network.ReLUNetwork` of width ``k`` (its
        linear term is used when ``fit_linear``); default Xavier/Glorot normal
        (``W`` entries with std ``sqrt(2 / (d + 1))``, ``mu`` with std ``sqrt(2 / (k + 1))``).
    success_tol : relative squared error at or below which the fit counts as exact.
    noiseless : declare the labels noiseless: only an exact fit succeeds.
    noise_factor : unused (this baseline has no training samples); kept for the shared options.

    ``success`` is the shared verdict of :mod:`verified_relu.verdict` on the given samples, all of
    them held out (this oracle never fits them); the relative population error against the
    teacher is in the diagnostics and the message.
    """

    teacher: object = None
    lr: float = 0.05
    max_iter: int = 20000
    grad_tol: float = 1e-10
    fit_linear: bool = False
    init: object = None
    success_tol: float = 1e-10
    noiseless: bool = False
    noise_factor: float = 1.5

    #: Declared constraints of the fields (:func:`verified_relu._validation.check_params`);
    #: ``teacher`` and ``init`` are checked against the data in :func:`validate`.
    _constraints: ClassVar[dict] = {
        "lr": [Interval("real", 0, None, closed="neither")],
        "max_iter": [Interval("int", 1)],
        "grad_tol": [Interval("real", 0, None)],
        "fit_linear": [BOOLEAN],
        **VERDICT_CONSTRAINTS,
    }


def _cross_angles(A, B):
    """Angles between the unit rows of ``A`` and of ``B`` (Kahan: ``2 atan2(|a - b|, |a + b|)``)."""
    diff = np.linalg.norm(A[:, None, :] - B[None, :, :], axis=-1)
    summ = np.linalg.norm(A[:, None, :] + B[None, :, :], axis=-1)
    return 2.0 * np.arctan2(diff, summ)


def population_loss_and_grad(W, mu, a, teacher):
    """Exact ``L = E[(F_hat - T)^2]`` and its gradients ``(dL/dW, dL/dmu, dL/da)``.

    Parameters
    ----------
    W : ndarray, shape (k, d)
        Student weights (non-zero rows).
    mu : ndarray, shape (k,)
        Student output weights.
    a : ndarray, shape (d,)
        Student linear term.
    teacher : ReLUNetwork
        The target ``T``.

    Returns
    -------
    loss : float
        The closed form (absolute rounding error a few ulps of
        ``(sum |mu_i| |w_i| + sum |nu_j| |v_j| + |a - b|)^2``; it may dip below zero by that much).
    gW, gmu, ga : ndarray
        Gradients, shapes ``(k, d)``, ``(k,)``, ``(d,)``.

    Examples
    --------
    >>> T = ReLUNetwork([[1.0, 0.0]], [1.0])
    >>> loss, gW, gmu, ga = population_loss_and_grad(np.array([[1.0, 0.0]]), np.array([1.0]), np.zeros(2), T)
    >>> abs(loss) < 1e-15, float(np.abs(gW).max()) < 1e-15
    (True, True)
    """
    k = W.shape[0]
    Z = np.vstack([W, teacher.weights])
    c = np.concatenate([mu, -teacher.coefficients])
    e = a - teacher.linear
    norms = np.linalg.norm(Z, axis=1)
    U = Z / norms[:, None]
    t = _cross_angles(U, U)
    sin_t, cos_t = np.sin(t), np.cos(t)
    K = np.outer(norms, norms) * (sin_t + (np.pi - t) * cos_t) / (2 * np.pi)
    Kc = K @ c
    Ze = Z @ e
    loss = float(c @ Kc + c @ Ze + e @ e)
    ts, ss = t[:k], sin_t[:k]
    gW = (2.0 * mu / (2 * np.pi))[:, None] * (((np.pi - ts) * c) @ Z + ((ss * norms) @ c)[:, None] * U[:k])
    gW = gW + np.outer(mu, e)
    gmu = 2.0 * Kc[:k] + Ze[:k]
    ga = Z.T @ c + 2.0 * e
    return loss, gW, gmu, ga


def validate(params, n, d, k):
    """Check the options against the data shape; returns the validated teacher."""
    teacher = params.teacher
    if teacher is None:
        raise ValueError(
            "learn (method='gd_population'): option teacher is required: this baseline is the teacher-student "
            "protocol and minimises the exact population loss E[(F_hat - teacher)^2], so it needs the teacher "
            "ReLUNetwork (it is an oracle baseline; use method='fast', 'tensor' or 'adam' to learn from samples)"
        )
    if not isinstance(teacher, ReLUNetwork):
        raise TypeError(f"learn (method='gd_population'): teacher must be a ReLUNetwork, got {type(teacher).__name__}")
    if teacher.d != d:
        raise ValueError(f"learn (method='gd_population'): teacher has input dimension {teacher.d}, but X has d = {d}")
    init = params.init
    if init is not None:
        if not isinstance(init, ReLUNetwork):
            raise TypeError(
                f"learn (method='gd_population'): init must be a ReLUNetwork or None, got {type(init).__name__}"
            )
        if init.d != d or init.k != k:
            raise ValueError(
                f"learn (method='gd_population'): init must have k = {k}, d = {d}, got k = {init.k}, d = {init.d}"
            )
    check_params(params, params._constraints, f"learn (method={METHOD!r})")
    return teacher


def fit(X, y, k, rng, params, *, teacher=None, progress=False):
    """Gradient descent on the exact population loss; returns ``(network, success, message, trace, diagnostics)``."""
    d = X.shape[1]
    teacher = validate(params, X.shape[0], d, k)
    scale = teacher.norm_squared() or 1.0
    if params.init is None:
        W, mu = xavier_init(rng, k, d)
        a = np.zeros(d)
        how = "xavier"
    else:
        W = np.array(params.init.weights)
        mu = np.array(params.init.coefficients)
        a = np.array(params.init.linear) if params.fit_linear else np.zeros(d)
        how = "given"
    loss, gW, gmu, ga = population_loss_and_grad(W, mu, a, teacher)
    trace = [TraceStep("init", {"how": how, "loss": loss, "relative": loss / scale})]
    checkpoints, history = 1, []
    reason, it = "max_iter", 0
    for it in range(params.max_iter + 1):
        gnorm = float(np.sqrt(np.sum(gW**2) + gmu @ gmu + (ga @ ga if params.fit_linear else 0.0)))
        if it == checkpoints or it == 0:
            history.append({"iteration": it, "loss": loss, "grad_norm": gnorm})
            checkpoints *= 2 if it else 1
        if not (np.isfinite(loss) and np.isfinite(gnorm)) or loss > 1e12 * max(scale, 1.0):
            reason = "diverged"
            break
        if gnorm <= params.grad_tol:
            reason = "grad_tol"
            break
        if it == params.max_iter:
            break
        W_new = W - params.lr * gW
        if np.any(np.linalg.norm(W_new, axis=1) == 0):
            reason = "collapsed"
            break
        W, mu = W_new, mu - params.lr * gmu
        if params.fit_linear:
            a = a - params.lr * ga
        loss, gW, gmu, ga = population_loss_and_grad(W, mu, a, teacher)
    history.append({"iteration": it, "loss": loss, "grad_norm": gnorm})
    trace.append(TraceStep("descent", {"reason": reason, "iterations": it, "history": history}))

    network = ReLUNetwork(W, mu, a if params.fit_linear else None)
    exact = teacher.squared_distance(network)  # independent closed form (ReLUNetwork), not the loop's value
    rel = exact / scale
    v = judge(params, network(X), X, y)
    success = v.success
    sample_mse, sample_rel = v.mse, v.relative
    words = {
        "grad_tol": f"gradient norm {gnorm:.2e} <= grad_tol {params.grad_tol:.0e} after {it} iterations",
        "max_iter": f"max_iter = {params.max_iter} iterations reached (gradient norm {gnorm:.2e})",
        "diverged": f"diverged at iteration {it}: lower lr (= {params.lr})",
        "collapsed": f"a neuron's weight vector reached zero at iteration {it}",
    }[reason]
    population = (
        "population exact"
        if np.isfinite(rel) and rel <= params.success_tol
        else ("stalled at a stationary point that is not the teacher" if reason == "grad_tol" else "not converged")
    )
    message = f"{v.message}; {population}: {words}; relative population error {rel:.2e}"
    trace.append(TraceStep("population_error", {"squared_distance": exact, "relative": rel}))
    diagnostics = {
        "population_error": exact,
        "population_relative": rel,
        "iterations": it,
        "grad_norm": gnorm,
        "stop_reason": reason,
        "sample_mse": sample_mse,
        "sample_relative": sample_rel,
        "oracle": True,
        "verdict": v.to_dict(),
    }
    return network, success, message, trace, diagnostics
