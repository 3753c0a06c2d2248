"""The learners' numerical steps, each runnable in float64 (``dps=None``) or in mpmath (``dps=N``).

Every function here takes ``dps=None`` (the float64 fast path: exactly the numpy call the
learners make) or an int number of decimal digits (an explicit :class:`mpmath.MPContext` at
``dps`` plus guard digits, results rounded to ``dps`` on exit).  Global mpmath state
(``mpmath.mp.dps``) is never read or written.

The mp path is for small problems: at most :data:`MAX_MP_SAMPLES` samples and
:data:`MAX_MP_DIMENSION` input dimensions (multiprecision arithmetic runs in pure Python, one
operation at a time); :func:`check_mp_size` raises a ``ValueError`` naming ``n``/``d``
and the limit beyond that.

Steps (the ones the fast learner and MULTISCALELEARN run):

* :func:`moment` -- ``E[y x]`` (``l = 1``) or the contraction ``E[y S_l(x)][g^{l-2}, :, :]``
  (via :func:`verified_relu.moments.moment_contraction` / ``moment_contraction_mp``);
* :func:`symmetric_eig` -- ``numpy.linalg.eigh`` / mpmath ``eigsy``;
* :func:`least_squares` -- ``numpy.linalg.lstsq`` / Householder QR in mpmath arithmetic;
* :func:`vandermonde_solve` -- the linear solve of CDGKM Lemma 5 (weights from power sums);
* :func:`refine` -- float64 Levenberg-Marquardt (:mod:`verified_relu.learners._lm`) /
  Gauss-Newton with residuals and gradient at ``dps`` (see :func:`refine`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import _mp
from .._lm import levenberg_marquardt
from ..moments import moment_contraction, moment_contraction_mp

__all__ = [
    "MAX_MP_DIMENSION",
    "MAX_MP_SAMPLES",
    "RefineOutcome",
    "check_mp_size",
    "least_squares",
    "moment",
    "refine",
    "symmetric_eig",
    "to_float",
    "to_mp",
    "vandermonde_solve",
]

#: Largest number of samples the mpmath path accepts.
MAX_MP_SAMPLES = 5000
#: Largest input dimension the mpmath path accepts.
MAX_MP_DIMENSION = 12
#: Above this condition number of the gauge-fixed Jacobian, :func:`refine` solves its steps in mpmath.
MIXED_COND_LIMIT = 1e8
#: Singular values below this fraction of the largest count as zero (float64 cannot resolve them).
RANK_RTOL = 1e-13
#: Unit roundoff of float64.
UNIT_ROUNDOFF = 2.0**-53


def check_mp_size(n, d, caller):
    """Raise ``ValueError`` when ``(n, d)`` exceeds the documented mp-path limits."""
    if n > MAX_MP_SAMPLES or d > MAX_MP_DIMENSION:
        raise ValueError(
            f"{caller}: the mpmath path is for small problems (n <= {MAX_MP_SAMPLES} samples, "
            f"d <= {MAX_MP_DIMENSION} dimensions); got n = {n}, d = {d}. Subsample the data or use dps=None (float64)"
        )


def _check_dps(dps):
    return None if dps is None else _mp.check_dps(dps)


def to_mp(ctx, arr):
    """An object array of ``ctx.mpf`` holding the given numbers exactly (float64 inputs are binary rationals)."""
    a = np.asarray(arr, dtype=object)
    return np.array([ctx.mpf(v) for v in a.ravel().tolist()], dtype=object).reshape(a.shape)


def to_float(arr):
    """Float64 array of (possibly mpf) numbers, correctly rounded."""
    a = np.asarray(arr, dtype=object)
    return np.array([float(v) for v in a.ravel().tolist()], dtype=np.float64).reshape(a.shape)


def mp_str(value, dps):
    """``value`` (an mpf of any context) as a decimal string of ``dps`` significant digits.

    (``str`` of an mpf prints at mpmath's *global* precision, 15 digits by default.)
    """
    ctx = _mp.context(dps, guard=0)
    return ctx.nstr(ctx.mpf(value), dps)


def _round_out(arr, dps):
    rnd = _mp.rounder(dps)
    a = np.asarray(arr, dtype=object)
    return np.array([rnd(v) for v in a.ravel().tolist()], dtype=object).reshape(a.shape)


# ----------------------------------------------------------------------------------- moments
def moment(X, y, l, g=None, *, dps=None):
    """The learners' moment estimate: ``E[y x]`` (``l = 1``) or ``E[y S_l(x)][g^{l-2}, :, :]``.

    Normalized Hermite tensors ``S_l`` (probabilists' ``He``, ``h_l = He_l / sqrt(l!)``).
    float64 array, or an object array of mpf at ``dps`` digits on the same samples.
    """
    X = np.asarray(X, dtype=np.float64)
    dps = _check_dps(dps)
    if dps is None:
        return moment_contraction(X, y, l, g)
    check_mp_size(*X.shape, "moment")
    return np.asarray(moment_contraction_mp(X, y, l, g, dps=dps), dtype=object)


# ------------------------------------------------------------------------------ linear algebra
def symmetric_eig(M, *, dps=None):
    """Eigenvalues (ascending) and orthonormal eigenvectors (columns) of a symmetric matrix.

    ``dps=None``: :func:`numpy.linalg.eigh`.  Otherwise mpmath ``eigsy`` in an explicit context
    (the input symmetrised exactly), rounded to ``dps`` digits.
    """
    dps = _check_dps(dps)
    if dps is None:
        return np.linalg.eigh(np.asarray(M, dtype=np.float64))
    ctx = _mp.context(dps)
    A = to_mp(ctx, M)
    m = A.shape[0]
    S = ctx.matrix([[(A[i, j] + A[j, i]) / 2 for j in range(m)] for i in range(m)])
    E, Q = ctx.eigsy(S)
    vals = [E[i] for i in range(m)]
    order = sorted(range(m), key=lambda i: vals[i])
    w = np.array([vals[i] for i in order], dtype=object)
    V = np.array([[Q[r, i] for i in order] for r in range(m)], dtype=object)
    return _round_out(w, dps), _round_out(V, dps)


def least_squares(A, b, *, dps=None):
    """Minimiser of ``||A x - b||`` for a full-column-rank ``A`` (tall).

    ``dps=None``: :func:`numpy.linalg.lstsq`.  Otherwise Householder QR carried out in an
    mpmath context at ``dps`` (+ guard) digits (:func:`_householder_solve`); the size guard
    applies to ``A``'s shape.
    """
    dps = _check_dps(dps)
    if dps is None:
        return np.linalg.lstsq(np.asarray(A, dtype=np.float64), np.asarray(b, dtype=np.float64), rcond=None)[0]
    A = np.asarray(A, dtype=object)
    if A.shape[0] > MAX_MP_SAMPLES or A.shape[1] > 2 * MAX_MP_DIMENSION:
        raise ValueError(
            f"least_squares: the mpmath path is for small problems (at most {MAX_MP_SAMPLES} rows and "
            f"{2 * MAX_MP_DIMENSION} columns); got A of shape {A.shape}"
        )
    ctx = _mp.context(dps)
    return _round_out(_householder_solve(ctx, to_mp(ctx, A), to_mp(ctx, b)), dps)


def _householder_solve(ctx, R, b):
    """Least squares by Householder QR in ``ctx`` (object arrays of mpf; ``R`` is ``(n, m)``, ``n >= m``).

    mpmath's own ``qr_solve`` takes ``sign(0) = 0`` for the reflector and divides by zero when a
    pivot entry is exactly 0 (common here: relu columns are 0 on half the samples); this is the
    same algorithm with ``sign(0) = +1``.
    """
    R, b = R.copy(), b.copy()
    m = R.shape[1]
    zero = ctx.mpf(0)
    for j in range(m):
        x = R[j:, j]
        alpha = ctx.sqrt(ctx.fsum(v * v for v in x))
        if alpha == 0:
            raise ValueError("least_squares: A is rank deficient (a zero column after elimination)")
        if x[0] < 0:
            alpha = -alpha
        v = x.copy()
        v[0] = v[0] + alpha
        scale = 2 / ctx.fsum(t * t for t in v)
        w = (v @ R[j:, j:]) * scale
        R[j:, j:] = R[j:, j:] - np.outer(v, w)
        b[j:] = b[j:] - v * ((v @ b[j:]) * scale)
        R[j + 1 :, j] = zero
    sol = [zero] * m
    for i in range(m - 1, -1, -1):
        sol[i] = (b[i] - ctx.fsum(R[i, t] * sol[t] for t in range(i + 1, m))) / R[i, i]
    return sol


def vandermonde_solve(nodes, rhs, *, dps=None):
    """Solve ``sum_i alpha_i x_i^j = c_j`` (``j = 0..m-1``), the linear step of CDGKM Lemma 5.

    Weights ``alpha`` from the first ``m`` power sums ``c`` at distinct nodes ``x``.
    ``dps=None``: :func:`numpy.linalg.solve` on the float64 Vandermonde matrix; otherwise
    mpmath ``lu_solve`` at ``dps`` digits (nodes and right-hand side taken exactly).
    """
    dps = _check_dps(dps)
    m = len(nodes)
    if dps is None:
        x = np.asarray(nodes, dtype=np.float64)
        V = np.vander(x, m, increasing=True).T
        return np.linalg.solve(V, np.asarray(rhs, dtype=np.float64))
    ctx = _mp.context(dps)
    x = to_mp(ctx, nodes)
    V = ctx.matrix([[xi**j for xi in x] for j in range(m)])
    sol = ctx.lu_solve(V, ctx.matrix(to_mp(ctx, rhs).tolist()))
    return _round_out([sol[i] for i in range(m)], dps)


def vandermonde_condition(nodes, dps=50):
    """2-norm condition number of the ``m x m`` Vandermonde matrix, by mpmath SVD at ``dps``."""
    ctx = _mp.context(dps)
    x = to_mp(ctx, nodes)
    m = len(x)
    s = ctx.svd_r(ctx.matrix([[xi**j for xi in x] for j in range(m)]), compute_uv=False)
    vals = [s[i] for i in range(m)]
    return float(max(vals) / min(vals))


# --------------------------------------------------------------------------------- refinement
@dataclasses.dataclass(frozen=True)
class RefineOutcome:
    """Parameters after refinement: float64 arrays (``dps=None``) or object arrays of mpf.

    ``W`` has unit rows (the norms are moved into ``mu``), ``loss`` is the mean squared
    residual, ``gradient_norm`` the norm of the loss gradient (at ``dps`` for the mp path),
    ``steps`` the per-iteration record.
    """

    W: np.ndarray
    mu: np.ndarray
    a: np.ndarray
    loss: object
    gradient_norm: object
    iterations: int
    reason: str
    steps: tuple = ()


def jacobian(X, W, mu, fit_linear=True):
    """float64 Jacobian ``(n, k d + k [+ d])`` of ``sum_i mu_i relu(<w_i, x>) + <a, x>``."""
    n, d = X.shape
    k = W.shape[0]
    Z = X @ W.T
    act = Z > 0
    cols = [((act * mu)[:, :, None] * X[:, None, :]).reshape(n, k * d), np.maximum(Z, 0.0)]
    if fit_linear:
        cols.append(X)
    return np.concatenate(cols, axis=1)


def gauge_complement(W, mu, fit_linear=True):
    """Orthonormal basis (columns) of the parameter directions orthogonal to the rescaling gauge.

    ``(w_i, mu_i) -> (c w_i, mu_i / c)`` leaves the network unchanged; its tangent is
    ``(w_i, -mu_i)`` in neuron ``i``'s slots.  Removing these ``k`` directions makes the
    Jacobian of a network in general position full rank.
    """
    k, d = W.shape
    P = k * d + k + (d if fit_linear else 0)
    G = np.zeros((P, k))
    for i in range(k):
        G[i * d : (i + 1) * d, i] = W[i]
        G[k * d + i, i] = -mu[i]
    Q, _ = np.linalg.qr(G, mode="complete")
    return Q[:, k:]


def _mp_state(ctx, Xm, W, mu, a, ym):
    Z = Xm @ W.T
    act = np.array([[v > 0 for v in row] for row in Z.tolist()], dtype=bool)
    R = np.where(act, Z, ctx.mpf(0))
    r = R @ mu + Xm @ a - ym
    return act, R, r


def refine(X, y, W, mu, a=None, *, dps=None, fit_linear=True, max_iter=40, float_max_iter=200):
    """Minimise the empirical squared loss of ``sum_i mu_i relu(<w_i, x>) + <a, x>`` from a start.

    ``dps=None``: the learners' float64 Levenberg-Marquardt
    (:func:`verified_relu.learners._lm.levenberg_marquardt`).

    ``dps=N``: Gauss-Newton in mixed precision (iterative refinement).  Each iteration computes
    the activation pattern, the residual ``r`` and the gradient ``J^T r`` in mpmath at ``N`` (+
    guard) digits from the exact mp parameters and labels, solves for the step on the Jacobian
    restricted to the complement of the rescaling gauge (``min ||J Q s + r||``,
    ``delta = Q s``), and applies it at ``N`` digits; rows are then rescaled to unit norm at
    ``N`` digits.  The step solve is float64 (mixed precision) while ``cond(J Q) <``
    :data:`MIXED_COND_LIMIT`: because the residual is exact to ``N`` digits the fixed point is
    the mp minimiser, and each step multiplies the error by about ``u cond(J Q)``
    (``u = 2^-53``), so a zero-residual problem gains ~16 - log10 cond digits per iteration.
    Beyond that limit the Jacobian is formed and the step solved by Householder QR at ``N``
    digits (a full mp Gauss-Newton step; ~n P^2 multiprecision operations).  When float64 sees
    ``J Q`` as numerically rank deficient (singular values below :data:`RANK_RTOL` times the
    largest: e.g. two neurons that no sample separates), the step is the truncated minimum-norm
    one and only the identifiable directions converge.  For a non-zero residual the fixed point satisfies
    ``J_float^T r = 0``, off the mp stationary point by about ``u cond |r| / sigma_min`` (the
    iteration counts as converged once its step is below that floor; the remaining stationarity
    error is reported as ``gradient_norm`` at ``N`` digits).  Stops when the step is below ``10^-(N+2)`` or no backtracked
    step lowers the loss although the full step is below ``10^-(N/2)`` (``"converged"``), when no
    backtracked step lowers the loss otherwise (``"no_decrease"``), after three iterations that neither halve the loss nor shrink
    the step tenfold (``"stalled"``: slow progress, outside any basin where Gauss-Newton
    converges fast), or after ``max_iter``.

    ``y`` may be float64 (taken as exact binary numbers) or an object array of mpf (exact
    labels at high precision, e.g. from :func:`verified_relu.precision.certify.noiseless_labels`).
    """
    dps = _check_dps(dps)
    Xf = np.asarray(X, dtype=np.float64)
    n, d = Xf.shape
    k = np.shape(W)[0]
    if a is None:
        a = np.zeros(d)
    if dps is None:
        out = levenberg_marquardt(
            Xf,
            to_float(y),
            to_float(W),
            to_float(mu),
            to_float(a),
            fit_linear=fit_linear,
            max_iter=float_max_iter,
            atol=0.0,
        )
        Jr = jacobian(Xf, out.W, out.mu, fit_linear).T @ (
            Xf @ out.a + np.maximum(Xf @ out.W.T, 0) @ out.mu - to_float(y)
        )
        return RefineOutcome(out.W, out.mu, out.a, out.loss, float(np.linalg.norm(Jr) / n), out.iterations, out.reason)
    check_mp_size(n, d, "refine")
    ctx = _mp.context(dps)
    Xm = to_mp(ctx, Xf)
    ym = to_mp(ctx, y)
    Wm, mum, am = to_mp(ctx, W), to_mp(ctx, mu), to_mp(ctx, a)
    Wm, mum = _normalize_mp(ctx, Wm, mum)
    act, R, r = _mp_state(ctx, Xm, Wm, mum, am, ym)
    loss = ctx.fsum(v * v for v in r) / n
    steps, reason, it, stalled, prev_size = [], "max_iter", 0, 0, math.inf
    target = ctx.mpf(10) ** (-(dps + 2))
    for it in range(1, max_iter + 1):
        Wf, muf = to_float(Wm), to_float(mum)
        J = jacobian(Xf, Wf, muf, fit_linear)
        Q = gauge_complement(Wf, muf, fit_linear)
        JQ = J @ Q
        sv = np.linalg.svd(JQ, compute_uv=False)
        rank = int(np.sum(sv > RANK_RTOL * sv[0]))
        mp_solve = rank == len(sv) and sv[0] / sv[-1] >= MIXED_COND_LIMIT
        if rank < len(sv):  # numerically singular in float64: truncated (minimum-norm) step
            step = to_mp(ctx, Q @ np.linalg.lstsq(JQ, -to_float(r), rcond=RANK_RTOL)[0])
        elif mp_solve:  # float64 steps would not contract the error (u cond >~ 1): solve at dps
            Qm = to_mp(ctx, Q)
            step = Qm @ np.array(
                _householder_solve(ctx, _jacobian_mp(ctx, Xm, act, R, mum, fit_linear) @ Qm, -r), dtype=object
            )
        else:
            step = to_mp(ctx, Q @ np.linalg.lstsq(JQ, -to_float(r), rcond=None)[0])
        for halvings in range(12):  # backtracking: a full Gauss-Newton step first
            delta = step / 2**halvings
            Wn = Wm + delta[: k * d].reshape(k, d)
            mun = mum + delta[k * d : k * d + k]
            an = am + delta[k * d + k :] if fit_linear else am
            Wn, mun = _normalize_mp(ctx, Wn, mun)
            act_n, R_n, r_n = _mp_state(ctx, Xm, Wn, mun, an, ym)
            loss_n = ctx.fsum(v * v for v in r_n) / n
            if loss_n <= loss:
                break
        size = float(np.linalg.norm(to_float(step))) / 2**halvings
        steps.append(
            {
                "iteration": it,
                "loss": float(loss_n),
                "step": size,
                "halvings": halvings,
                "mp_solve": mp_solve,
                "rank": rank,
                "pattern_changes": int(np.sum(act_n != act)),
            }
        )
        if loss_n > loss > 0:
            full = size * 2**halvings
            scale = max(1.0, float(np.max(np.abs(to_float(mum)))))
            # a full step below half the working digits changes the loss only at rounding level
            reason = "converged" if full <= 10.0 ** (-dps / 2) * scale else "no_decrease"
            break
        slow = loss_n > loss / 2 and size > prev_size / 10  # neither the loss nor the step contracts fast
        stalled, prev_size = (stalled + 1 if slow else 0), size
        Wm, mum, am, act, R, r, loss = Wn, mun, an, act_n, R_n, r_n, loss_n
        if stalled >= 3:
            reason = "stalled"  # three iterations without halving the loss: not a zero-residual basin
            break
        scale = max(1.0, float(np.max(np.abs(to_float(mum)))))
        # a float64 step solve is exact only up to ~ u cond |r| / sigma_min (the rounded J's own minimiser)
        floor = (
            0.0
            if mp_solve
            else 10 * UNIT_ROUNDOFF * (sv[0] / sv[rank - 1]) * float(np.linalg.norm(to_float(r))) / sv[rank - 1]
        )
        if loss == 0 or size <= max(float(target) * scale, floor):
            reason = "converged"
            break
    grad = _gradient_mp(ctx, Xm, act, R, r, mum, fit_linear)
    gnorm = ctx.sqrt(ctx.fsum(v * v for v in grad)) / n
    return RefineOutcome(
        _round_out(Wm, dps),
        _round_out(mum, dps),
        _round_out(am, dps),
        _round_out([loss], dps)[0],
        _round_out([gnorm], dps)[0],
        it,
        reason,
        tuple(steps),
    )


def _jacobian_mp(ctx, Xm, act, R, mu, fit_linear):
    """The Jacobian at the context's precision (object array ``(n, P)``, columns as :func:`jacobian`)."""
    zero = ctx.mpf(0)
    cols = [np.where(act[:, i : i + 1], Xm * mu[i], zero) for i in range(len(mu))] + [R]
    if fit_linear:
        cols.append(Xm)
    return np.concatenate(cols, axis=1)


def _normalize_mp(ctx, W, mu):
    W = W.copy()
    mu = mu.copy()
    for i in range(W.shape[0]):
        nrm = ctx.sqrt(ctx.fsum(v * v for v in W[i]))
        if nrm > 0:
            W[i] = W[i] / nrm
            mu[i] = mu[i] * nrm
    return W, mu


def _gradient_mp(ctx, Xm, act, R, r, mu, fit_linear):
    """``J^T r`` at the context's precision (order: W row-major, mu, a)."""
    parts = []
    for i in range(len(mu)):
        masked = np.where(act[:, i], r, ctx.mpf(0))
        parts.extend((mu[i] * (masked @ Xm)).tolist())
    parts.extend((r @ R).tolist())
    if fit_linear:
        parts.extend((r @ Xm).tolist())
    return parts


def condition_lstsq(A, b):
    """Normwise condition of the least-squares solution (Wedin): ``kappa + kappa^2 |r| / (|A| |x|)``."""
    A = np.asarray(A, dtype=np.float64)
    s = np.linalg.svd(A, compute_uv=False)
    kappa = float(s[0] / s[-1]) if s[-1] > 0 else math.inf
    x = np.linalg.lstsq(A, b, rcond=None)[0]
    res = float(np.linalg.norm(A @ x - b))
    xn = float(np.linalg.norm(x)) or 1.0
    return kappa + kappa**2 * res / (float(s[0]) * xn)
