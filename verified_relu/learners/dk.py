"""DK24's learner LEARN-ONE-HIDDEN-LAYER-NETWORKS and its improper output, :class:`HermitePredictor`.

Diakonikolas and Kane, "Efficiently Learning One-Hidden-Layer ReLU Networks via Schur
Polynomials", COLT 2024 (digest Sec. 4).  The algorithm (DK24 Sec. 4.2):

1. estimate the Hermite moment tensors ``T_m ~ E[F(X) S_m(X)]`` for ``m = 1..4k``;
2. form the quadratic form ``Q(v) = sum_m ||T_m v||^2`` (``T_m v`` contracts one mode with ``v``);
3. ``V`` = span of the top-``k`` eigenvectors of ``Q`` (the *subspace criterion*: every
   low-order moment is small in directions orthogonal to ``V``, DK24 Sec. 4.3, Lemma 17);
4. with an orthonormal basis ``E = (e_1..e_r)`` of ``V`` and ``z = E^T x``, estimate the Hermite
   coefficients ``a_alpha = E[y h_alpha(z)]``, ``h_alpha(z) = prod_j h_{alpha_j}(z_j)``, for all
   multi-indices ``|alpha| <= D``;
5. output ``F~(x) = sum_alpha a_alpha h_alpha(E^T x)``, a degree-``D`` polynomial of ``Proj_V x``.

Conventions: ``h_m = He_m / sqrt(m!)`` (normalized probabilists' Hermite, always evaluated by the
stable normalized recurrence of :func:`verified_relu.hermite.numeric.hermite_normalized`),
``S_m(x)`` the normalized Hermite tensor (entries ``prod_j He_{n_j}(x_j) / sqrt(m!)``) so that
``E[relu(<u,x>) S_m(x)] = c_m u^{(x)m}`` for unit ``u``, ``c_m = E[relu(G) h_m(G)]``.

The error analysis (DK24 Sec. 4.3, "final error") is Hermite orthogonality:
``||F~ - F||^2 = sum_{m<=D} ||P_m - M_m||^2 + sum_{m>D} ||M_m||^2``, and the tail is at most
``sum_{m>D} c_m^2 (sum_i |w_i|)^2`` (:func:`truncation_bound`); the exact tail is
:func:`exact_tail`, the exact error of a predictor :meth:`HermitePredictor.squared_distance`.

How ``Q`` is computed
---------------------
The matrix of ``Q`` is ``A = sum_m T_m^{(1)} T_m^{(1)T}`` with ``T_m^{(1)}`` the ``d x d^{m-1}``
flattening.  ``T_m`` is formed in full with :func:`verified_relu.moments.hermite_moment`
(one value per multiset of indices), so ``d**m`` must stay below ``max_tensor_entries``
(:func:`validate` refuses otherwise).  The paper's plug-in ``||T_m v||^2`` carries a noise
floor ``E||(T_m - M_m) v||^2 ~ dim / n``; the departure ``unbiased_q`` instead splits the
moment samples into two independent halves and uses ``A_m = sym(T_m^{(a)} T_m^{(b)T})``,
whose expectation is exactly ``M_m^{(1)} M_m^{(1)T}`` (no floor).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import ClassVar

import mpmath
import numpy as np

from .. import _mp
from .._validation import NONE, Interval, Sequence, check_params
from ..moments import hermite_moment
from . import records
from ._paper import Tracer
from .dk_predictor import (
    HermitePredictor,
    _features,
    _neurons,
    exact_tail,
    multi_indices,
    population_q_matrix,
    relu_tail,
    truncation_bound,
)

__all__ = [
    "DEPARTURES",
    "DKParams",
    "HermitePredictor",
    "exact_tail",
    "fit",
    "multi_indices",
    "population_q_matrix",
    "relu_tail",
    "truncation_bound",
    "validate",
]

#: name -> what it changes relative to the paper (all off in ``from_theory``).
DEPARTURES = {
    "scaled_constants": "sample size n_samples and degree D are set to run in seconds, not from (dk/eps)^{Ck} "
    "and C eps^{-4/3}",
    "few_moment_degrees": "the subspace step uses moment_degrees (e.g. 1..4) instead of m = 1..4k",
    "zero_odd_coefficients": "coefficients of odd total degree >= 3 are set to 0 instead of estimated (they vanish "
    "for every network: c_m = 0 for odd m >= 3, DK24 Lemma 5 / Prop. 18)",
    "unbiased_q": "Q from two independent halves of the moment samples, sym(T_a T_b^T) (unbiased for Q_0), "
    "instead of the plug-in sum ||T_m v||^2",
}

_CHUNK = 4096


def _ctx(dps=50):
    return _mp.context(dps, guard=0)


_mpf = _mp.decimal_mpf


def _ceil(ctx, x):
    """``ceil(x)`` as an int, robust to ``x`` computed a few ulps above an exact integer."""
    r = ctx.nint(x)
    if abs(x - r) <= abs(x) * ctx.mpf(10) ** (-(ctx.dps - 10)):
        return int(r)
    return int(ctx.ceil(x))


@dataclasses.dataclass(frozen=True)
class DKParams:
    """Every parameter of DK24's algorithm (digest Sec. 4.2-4.3) and the departures switched on.

    Parameters
    ----------
    eps : float or mpf
        Target L2 (root-mean-square, not squared) error under the normalisation
        ``sum_i |w_i| <= R`` (DK24 Thm 1 has ``R = 1``; the error scales with ``R``).
    R : float
        Bound on ``sum_i |mu_i| |w_i|``.
    delta : float
        Failure probability asked for.  DK24 Thm 1 holds with probability 9/10 for one run; a
        smaller ``delta`` is recorded only (no confidence boosting is implemented).
    C : float
        DK24's "sufficiently large universal constant" (the paper gives no value; 10 is our
        choice in :meth:`from_theory`).
    D : int
        Hermite degree of the output (DK24 step 5: ``D = C eps^{-4/3}``, here rounded up).
    moment_degrees : tuple of int
        Degrees ``m`` of the moment tensors entering ``Q`` (DK24 step 2: ``1..4k``).
    subspace_dim : int or None
        Dimension of ``V`` (DK24: ``k``; None means ``k``).
    n_samples : int or mpf
        Samples the profile needs (DK24 Thm 1: ``N = (dk/eps)^{Ck}``); :func:`validate`
        refuses fewer.
    moment_accuracy : float or mpf
        Accuracy the moments should reach, ``||T_m - M_m|| < (eps/k)^{Ck}`` (recorded, not
        enforced: it is a consequence of ``n_samples``).
    coefficient_accuracy : float or mpf
        Accuracy of the coefficient tensors, ``||P_m - E[..]|| < eps^2/(D C)`` (recorded).
    moment_fraction, validation_fraction : float
        Fractions of the samples for the moments (step 2) and the held-out validation (the
        ``success`` flag); the rest estimates the coefficients (step 5).
    max_tensor_entries : int
        Largest ``d**m`` formed (full moment tensors).
    noise_variance : float
        Known label-noise variance ``sigma^2`` (DK24 Thm 1, footnote: zero-mean noise); the
        held-out MSE estimates ``||F~ - F||^2 + sigma^2``, so ``success`` is
        ``validation MSE <= (eps R)^2 + noise_variance``.
    scaled_constants, few_moment_degrees, unbiased_q, zero_odd_coefficients : bool
        The departures (see :data:`DEPARTURES`); all False in :meth:`from_theory`.
    """

    eps: object = 0.1
    R: float = 1.0
    delta: float = 0.1
    C: float = 10.0
    D: int = 8
    moment_degrees: tuple = (1, 2, 3, 4)
    subspace_dim: object = None
    n_samples: object = 4000
    moment_accuracy: object = None
    coefficient_accuracy: object = None
    moment_fraction: float = 0.3
    validation_fraction: float = 0.1
    max_tensor_entries: int = 10**7
    scaled_constants: bool = False
    few_moment_degrees: bool = False
    unbiased_q: bool = False
    zero_odd_coefficients: bool = False
    noise_variance: float = 0.0

    #: Declared constraints of the fields (:func:`verified_relu._validation.check_params`); what
    #: depends on the data (``subspace_dim <= d``, the sample counts, the tensor sizes) is checked
    #: in :func:`validate`.
    _constraints: ClassVar[dict] = {
        "D": [Interval("int", 0)],
        "moment_degrees": [Sequence(Interval("int", 1))],
        "subspace_dim": [NONE, Interval("int", 1)],
        "moment_fraction": [Interval("real", 0, 1, closed="neither")],
        "validation_fraction": [Interval("real", 0, 1, closed="neither")],
        "eps": [Interval("real", 0, None, closed="neither")],
        "R": [Interval("real", 0, None, closed="neither")],
        "noise_variance": [Interval("real", 0, None)],
    }

    def departures(self):
        """Names of the departures from DK24 that are switched on.

        ``few_moment_degrees`` is also reported, flag or not, when ``subspace_dim`` is set and
        ``moment_degrees`` differs from ``1..4 * subspace_dim`` (e.g. after overriding
        ``moment_degrees`` of a theory profile).
        """
        on = [name for name in DEPARTURES if getattr(self, name)]
        r = self.subspace_dim
        full = (
            isinstance(r, numbers.Integral) and r >= 1 and tuple(self.moment_degrees) == tuple(range(1, 4 * int(r) + 1))
        )
        if "few_moment_degrees" not in on and isinstance(r, numbers.Integral) and r >= 1 and not full:
            on.append("few_moment_degrees")
        return [name for name in DEPARTURES if name in on]

    @classmethod
    def practical(cls, d, k, **kw):
        """Scaled constants that run in seconds at ``d <= 16``, ``k <= 4`` (departures on).

        * ``D = 8, 6, 4`` for ``k = 1, 2, >= 3``: the estimation error of the
          ``~C(k + D, k) / 2`` estimated coefficients grows like ``D^k / n`` while DK24's tail
          bound ``sum_{m>D} c_m^2 ||w||_1^2`` only shrinks like ``D^{-3/2}``, so at ``n ~ 10^5``
          a larger ``D`` makes the error *exceed* the tail bound (measured; see the tests).
        * ``moment_degrees = (1, 2, 4)`` (``c_3 = 0``: degree 3 is pure noise; degree 4 is needed
          by the DKKZ20 instance with ``k = 4``, orthogonal to every polynomial of degree < 4),
          dropping degrees with ``d**m > max_tensor_entries``.
        * ``n_samples = max(2000, 10 * terms / coefficient fraction)``: the smallest ``n`` the
          profile accepts (the acceptance runs use ``n = 100000``).
        * ``eps = 0.1``, ``R = k`` (the instances have ``|mu_i| <= 1.5``).
        * departures ``scaled_constants``, ``few_moment_degrees``, ``unbiased_q``,
          ``zero_odd_coefficients`` on.

        Keyword arguments override fields.
        """
        D = kw.get("D", {1: 8, 2: 6}.get(k, 4))
        limit = kw.get("max_tensor_entries", 10**7)
        degrees = tuple(m for m in (1, 2, 4) if m <= 4 * k and d**m <= limit)
        moment_fraction = kw.get("moment_fraction", 0.4)
        validation_fraction = kw.get("validation_fraction", 0.1)
        try:
            deg = multi_indices(min(k, d), int(D)).sum(axis=1)
            terms = int(np.sum((deg <= 1) | (deg % 2 == 0)))
            n_samples = max(
                2000,
                math.ceil(10 * terms / (1 - moment_fraction - validation_fraction)),
            )
        except (
            TypeError,
            ValueError,
            ZeroDivisionError,
        ):  # bad overrides: validate() names them
            n_samples = 2000
        fields = {
            "eps": 0.1,
            "R": float(k),
            "D": D,
            "moment_degrees": degrees,
            "subspace_dim": k,
            "n_samples": n_samples,
            "moment_fraction": moment_fraction,
            "validation_fraction": validation_fraction,
            "scaled_constants": True,
            "few_moment_degrees": degrees != tuple(range(1, 4 * k + 1)),
            "unbiased_q": True,
            "zero_odd_coefficients": True,
        }
        fields.update(kw)
        if "few_moment_degrees" not in kw:
            fields["few_moment_degrees"] = tuple(fields["moment_degrees"]) != tuple(range(1, 4 * k + 1))
        return cls(**fields)

    @classmethod
    def from_theory(cls, d, k, eps, R=1.0, delta=0.1, *, C=10, dps=50):
        """The paper's values, exactly (mpmath at ``dps`` digits in a private context).

        With ``e = eps / R`` (DK24 normalises ``sum |w_i| <= 1``):
        ``n_samples = ceil((d k / e)^{C k})`` (Thm 1), ``moment_accuracy = (e / k)^{C k}``
        (step 2), ``D = ceil(C e^{-4/3})`` (step 5), ``coefficient_accuracy = e^2 / (D C)``
        (step 5, the digest's ``eps^{10/3} / C^2`` before rounding ``D``),
        ``moment_degrees = 1..4k``, ``subspace_dim = k``.  ``C`` is the paper's unnamed
        universal constant (default 10, our choice).  Floats are read as the decimal they print
        as (``0.1`` is 1/10); ints and ``fractions.Fraction`` exactly.  ``n_samples`` is an
        integer-valued mpf, exact when it has at most ``dps`` digits (else correct to ``dps``
        significant digits).

        Examples
        --------
        >>> p = DKParams.from_theory(2, 1, 0.5, C=2)
        >>> int(p.n_samples), p.D, p.departures()      # (2*1/0.5)^2 = 16, ceil(2 * 2^(4/3)) = 6
        (16, 6, [])
        """
        for name, value in (("d", d), ("k", k)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"DKParams.from_theory: {name} must be an int >= 1, got {value!r}")
        for name, value in (("eps", eps), ("R", R), ("C", C)):
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Real)
                or not (value > 0 and math.isfinite(value))
            ):
                raise ValueError(f"DKParams.from_theory: {name} must be a finite real > 0, got {value!r}")
        if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not 0 < delta < 1:
            raise ValueError(f"DKParams.from_theory: delta must be in (0, 1), got {delta!r}")
        ctx = _ctx(dps)
        e = _mpf(ctx, eps) / _mpf(ctx, R)
        Cm = _mpf(ctx, C)
        N = ctx.mpf(_ceil(ctx, (ctx.mpf(d * k) / e) ** (Cm * k)))
        D = _ceil(ctx, Cm * e ** (ctx.mpf(-4) / 3))
        return cls(
            eps=float(eps),
            R=float(R),
            delta=float(delta),
            C=float(C),
            D=D,
            moment_degrees=tuple(range(1, 4 * k + 1)),
            subspace_dim=k,
            n_samples=N,
            moment_accuracy=(e / k) ** (Cm * k),
            coefficient_accuracy=e**2 / (D * Cm),
        )


def _err(name, msg):
    return ValueError(f"learn (method='dk'): {name} {msg}")


def validate(params, n, d, k):
    """Refuse, before any work, a profile that cannot run on ``n`` samples in dimension ``d``."""
    check_params(params, params._constraints, "learn (method='dk')")
    degrees = tuple(params.moment_degrees)
    r = k if params.subspace_dim is None else params.subspace_dim
    if not 1 <= r <= d:
        raise _err(
            "subspace_dim",
            f"must be None or an int in [1, d = {d}], got {params.subspace_dim!r}",
        )
    if params.moment_fraction + params.validation_fraction >= 1:
        raise _err(
            "moment_fraction",
            "+ validation_fraction must be < 1 (samples are needed for the coefficients)",
        )
    needed = params.n_samples
    if n < needed:
        shown = mpmath.nstr(needed, 6) if hasattr(needed, "_mpf_") else str(needed)
        raise _err("n", f"= {n} samples are too few: the profile needs n_samples = {shown}")
    sizes = _split_sizes(n, params)
    if min(sizes) < 2:
        raise _err(
            "n",
            f"= {n} leaves a split with fewer than 2 samples (moments, coefficients, validation = {sizes})",
        )
    for m in degrees:
        if d**m > params.max_tensor_entries:
            raise _err(
                "moment_degrees",
                f"contains m = {m}: the full tensor has d**m = {d**m} entries > max_tensor_entries = "
                f"{params.max_tensor_entries} at d = {d}",
            )


def _split_sizes(n, params):
    n_mom = round(params.moment_fraction * n)
    n_val = round(params.validation_fraction * n)
    return n_mom, n - n_mom - n_val, n_val


# ----------------------------------------------------------------------------- the learner
def _q_matrix(Xm, ym, degrees, unbiased, d):
    """The matrix of ``Q`` (see the module notes) and the per-degree Frobenius norms of ``T_m``."""
    A = np.zeros((d, d))
    if unbiased:
        h = len(ym) // 2
        halves = ((Xm[:h], ym[:h]), (Xm[h:], ym[h:]))
    per_degree = {}
    for m in degrees:
        if unbiased:
            Ta, Tb = (np.asarray(hermite_moment(Xh, yh, m)).reshape(d, -1) for Xh, yh in halves)
            Am = Ta @ Tb.T
            Am = (Am + Am.T) / 2
        else:
            T = np.asarray(hermite_moment(Xm, ym, m)).reshape(d, -1)
            Am = T @ T.T
        per_degree[m] = float(np.trace(Am))
        A += Am
    return (A + A.T) / 2, per_degree


def _sin_angles(E, U):
    """``||(I - E E^T) u||`` for each row ``u`` of ``U`` (0 when ``u`` lies in ``span E``)."""
    R = U - (U @ E) @ E.T
    return np.linalg.norm(R, axis=1)


def fit(X, y, k, rng, params, *, teacher=None, progress=False):
    """Run DK24's algorithm (digest Sec. 4.2); ``teacher`` only adds audit entries to the trace.

    Returns ``(predictor, success, message, trace, diagnostics)``; ``success`` is the
    held-out criterion ``validation MSE <= (eps R)^2 + noise_variance``.
    """
    tr = Tracer("dk", progress)
    n, d = X.shape
    r = k if params.subspace_dim is None else int(params.subspace_dim)
    n_mom, n_coef, n_val = _split_sizes(n, params)
    perm = rng.permutation(n)
    i_mom, i_coef, i_val = (
        perm[:n_mom],
        perm[n_mom : n_mom + n_coef],
        perm[n_mom + n_coef :],
    )
    tr("split", n_moments=n_mom, n_coefficients=n_coef, n_validation=n_val)

    # Steps 2-4: Q and its top-r eigenspace.
    degrees = tuple(int(m) for m in params.moment_degrees)
    A, per_degree = _q_matrix(X[i_mom], y[i_mom], degrees, params.unbiased_q, d)
    evals, evecs = np.linalg.eigh(A)
    order = np.argsort(evals)[::-1]
    E = evecs[:, order[:r]]
    E, _ = np.linalg.qr(E)
    step = {
        "degrees": list(degrees),
        "unbiased": bool(params.unbiased_q),
        "eigenvalues": evals[order].tolist(),
        "trace_per_degree": {str(m): v for m, v in per_degree.items()},
    }
    if teacher is not None:
        _s, U, lin = _neurons(teacher)
        A0 = population_q_matrix(teacher, degrees)
        P = np.eye(d) - E @ E.T
        step["audit"] = {
            "sin_angle_to_V": _sin_angles(E, U).tolist(),
            "linear_sin_angle": float(np.linalg.norm(P @ lin) / np.linalg.norm(lin)) if np.any(lin) else 0.0,
            "q_error_op": float(np.linalg.norm(A - A0, 2)),
            "lemma17_max_q0_perp": float(np.linalg.eigvalsh(P @ A0 @ P)[-1]),
        }
        if params.moment_accuracy is not None:  # Lemma 17: ||M_m v||^2 < 2 (eps/k)^{Ck/2} for unit v _|_ V
            step["audit"]["lemma17_threshold"] = 2 * mpmath.sqrt(params.moment_accuracy)
    tr("subspace", **step)
    tr.add(
        records.spectrum(
            "q_spectrum", "dk: eigenvalues of Q (no noise floor recorded)", [("Q", evals[order], None, "")]
        )
    )
    tr.add(records.basis("subspace_basis", E.T, f"DK24's subspace V, the top {r} eigenvectors of Q"))

    # Step 5: Hermite coefficients inside V.
    alphas = multi_indices(r, params.D)
    if params.zero_odd_coefficients:
        deg = alphas.sum(axis=1)
        alphas = alphas[(deg <= 1) | (deg % 2 == 0)]
    Xc, yc = X[i_coef], y[i_coef]
    sums = np.zeros(len(alphas))
    sq = np.zeros(len(alphas))
    for i0 in range(0, n_coef, _CHUNK):
        F = _features(Xc[i0 : i0 + _CHUNK] @ E, alphas, params.D) * yc[i0 : i0 + _CHUNK, None]
        sums += F.sum(axis=0)
        sq += (F * F).sum(axis=0)
    coef = sums / n_coef
    var = np.maximum(sq / n_coef - coef**2, 0.0) / max(n_coef - 1, 1)
    predictor = HermitePredictor(E, alphas, coef)
    step = {
        "degree": int(params.D),
        "terms": len(alphas),
        "estimated_variance_sum": float(var.sum()),
        "norm_squared": predictor.norm_squared(),
    }
    diagnostics = {
        "degree": int(params.D),
        "subspace_dim": r,
        "terms": len(alphas),
        "estimated_variance_sum": float(var.sum()),
        "checkpoints": {"paper": predictor},  # no departure of DK24 post-processes the predictor
    }
    if teacher is not None:
        proj = HermitePredictor.projection(teacher, E, params.D)
        pop = predictor.population_coefficients(teacher)
        audit = {
            "squared_error": predictor.squared_distance(teacher),
            # ||F~ - Proj F||^2: F~ lives in the span of the projection's features (Pythagoras)
            "estimation_error": float(np.sum((coef - pop) ** 2)) + max(proj.norm_squared() - math.fsum(pop**2), 0.0),
            "projection_error": proj.squared_distance(teacher),
            "exact_tail": exact_tail(teacher, params.D),
            "truncation_bound": truncation_bound(teacher, params.D),
        }
        audit["within_truncation_bound"] = bool(audit["squared_error"] <= audit["truncation_bound"])
        step["audit"] = audit
        diagnostics["audit"] = audit
    tr("coefficients", **step)

    # Held-out validation (the success flag).
    resid = y[i_val] - predictor(X[i_val])
    mse = float(np.mean(resid**2))
    se = float(np.std(resid**2, ddof=1) / math.sqrt(n_val)) if n_val > 1 else math.inf
    target = (float(params.eps) * float(params.R)) ** 2 + float(params.noise_variance)
    success = mse <= target
    tr("validation", mse=mse, se=se, target=target, success=success)
    diagnostics.update(validation_mse=mse, validation_se=se, target=target)
    message = (
        f"held-out validation MSE {mse:.4g} (se {se:.2g}, {n_val} samples) "
        f"{'<=' if success else '>'} (eps R)^2 + noise_variance = {target:.4g}"
    )
    return predictor, success, message, tr.steps, diagnostics
