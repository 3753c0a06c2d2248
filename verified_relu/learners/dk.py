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
import itertools
import math
import numbers

import mpmath
import numpy as np

from ..hermite.numeric import hermite_normalized, relu_coefficients
from ..moments import hermite_moment
from ..network import ReLUNetwork
from ._paper import Tracer

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
    ctx = mpmath.MPContext()
    ctx.dps = dps
    return ctx


def _mpf(ctx, x):
    """``x`` in ``ctx``: ints and Fractions exactly, floats by their shortest decimal ``repr``
    (so ``eps=0.1`` means 1/10, the number typed, not the nearest binary double)."""
    if isinstance(x, numbers.Rational):
        return ctx.mpf(int(x.numerator)) / ctx.mpf(int(x.denominator))
    if hasattr(x, "_mpf_"):
        return ctx.mpf(x)
    return ctx.mpf(repr(float(x)))


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
    if not isinstance(params.D, numbers.Integral) or isinstance(params.D, bool) or params.D < 0:
        raise _err("D", f"must be an int >= 0, got {params.D!r}")
    degrees = tuple(params.moment_degrees)
    if not degrees or any(isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 1 for m in degrees):
        raise _err(
            "moment_degrees",
            f"must be a non-empty tuple of ints >= 1, got {params.moment_degrees!r}",
        )
    r = k if params.subspace_dim is None else params.subspace_dim
    if isinstance(r, bool) or not isinstance(r, numbers.Integral) or not 1 <= r <= d:
        raise _err(
            "subspace_dim",
            f"must be None or an int in [1, d = {d}], got {params.subspace_dim!r}",
        )
    for name in ("moment_fraction", "validation_fraction"):
        value = getattr(params, name)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
            raise _err(name, f"must be in (0, 1), got {value!r}")
    if params.moment_fraction + params.validation_fraction >= 1:
        raise _err(
            "moment_fraction",
            "+ validation_fraction must be < 1 (samples are needed for the coefficients)",
        )
    for name in ("eps", "R"):
        value = getattr(params, name)
        if not float(value) > 0:
            raise _err(name, f"must be > 0, got {value!r}")
    if not float(params.noise_variance) >= 0:
        raise _err("noise_variance", f"must be >= 0, got {params.noise_variance!r}")
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


# ----------------------------------------------------------------------------- Hermite helpers
def multi_indices(r, D):
    """All ``alpha`` in ``N^r`` with ``|alpha| <= D``, by total degree then lexicographically (descending).

    Returns an int array of shape ``(C(r + D, r), r)``.
    """
    rows = []
    for m in range(D + 1):
        for combo in itertools.combinations_with_replacement(range(r), m):
            alpha = [0] * r
            for j in combo:
                alpha[j] += 1
            rows.append(alpha)
    return np.array(rows, dtype=np.int64).reshape(-1, r)


def _features(Z, alphas, D):
    """``h_alpha(z_a)`` for all rows of ``Z (n, r)``: array ``(n, M)``."""
    H = hermite_normalized(D, Z, compensated=False)  # (D+1, n, r)
    out = np.ones((Z.shape[0], len(alphas)))
    for j in range(Z.shape[1]):
        out *= H[alphas[:, j], :, j].T
    return out


def relu_tail(D):
    """``sum_{m > D} c_m^2 = 1/2 - sum_{m <= D} c_m^2`` (Parseval, ``E[relu(G)^2] = 1/2``)."""
    c = relu_coefficients(D)
    return max(0.5 - math.fsum(float(v) ** 2 for v in c), 0.0)


def _neurons(network):
    """``(s, U, a)``: ``F = sum_i s_i relu(<u_i, x>) + <a, x>`` with unit ``u_i``."""
    W = np.asarray(network.weights, dtype=float)
    norms = np.linalg.norm(W, axis=1)
    return (
        np.asarray(network.coefficients) * norms,
        W / norms[:, None],
        np.asarray(network.linear, dtype=float),
    )


def truncation_bound(network, D):
    """DK24's tail bound ``sum_{m > D} c_m^2 (sum_i |mu_i| |w_i|)^2`` (digest Sec. 4.3).

    Bounds ``sum_{m > D} ||M_m||^2``, the error of the best degree-``D`` approximation (the
    linear term only has degree 1 and does not enter).
    """
    s, _, _ = _neurons(network)
    return relu_tail(D) * float(np.sum(np.abs(s))) ** 2


def _degree_norms(network, D):
    """``||M_m||_F^2`` for ``m = 0..D`` with ``M_m = E[F S_m]`` (exact, from the parameters)."""
    s, U, a = _neurons(network)
    c = relu_coefficients(max(D, 1))
    G = np.clip(U @ U.T, -1.0, 1.0)
    out = []
    for m in range(D + 1):
        if m == 1:
            v = c[1] * (U.T @ s) + a
            out.append(float(v @ v))
        else:
            out.append(float(c[m] ** 2 * (s @ (G**m) @ s)))
    return out


def exact_tail(network, D):
    """``sum_{m > D} ||M_m||^2 = ||F||^2 - sum_{m <= D} ||M_m||^2`` exactly (closed-form ``||F||^2``).

    ``||M_m||^2 = c_m^2 sum_ij s_i s_j <u_i,u_j>^m`` (plus the linear term at ``m = 1``) with
    ``s_i = mu_i |w_i|``; ``||F||^2`` is the arc-cosine kernel sum of
    :meth:`~verified_relu.ReLUNetwork.norm_squared`.  Absolute rounding error about
    ``1e-16 (sum |s_i| + |a|)^2``.
    """
    return max(network.norm_squared() - math.fsum(_degree_norms(network, D)), 0.0)


def population_q_matrix(network, degrees):
    """The matrix of ``Q_0(v) = sum_m ||M_m v||^2`` (DK24 Sec. 4.3) for the given degrees.

    ``M_m^{(1)} M_m^{(1)T} = c_m^2 sum_ij s_i s_j <u_i,u_j>^{m-1} u_i u_j^T``; at ``m = 1`` it is
    ``M_1 M_1^T`` with ``M_1 = c_1 sum_i s_i u_i + a``.
    """
    s, U, a = _neurons(network)
    c = relu_coefficients(max(max(degrees), 1))
    G = np.clip(U @ U.T, -1.0, 1.0)
    A = np.zeros((U.shape[1], U.shape[1]))
    for m in degrees:
        if m == 1:
            v = c[1] * (U.T @ s) + a
            A += np.outer(v, v)
        else:
            B = c[m] ** 2 * np.outer(s, s) * G ** (m - 1)
            A += U.T @ B @ U
    return (A + A.T) / 2


# ----------------------------------------------------------------------------- the predictor
class HermitePredictor:
    """``F~(x) = sum_alpha a_alpha prod_j h_{alpha_j}(<e_j, x>)``: DK24's improper output.

    Parameters
    ----------
    basis : array_like, shape (d, r)
        Orthonormal columns ``e_1..e_r`` (a basis of ``V``).
    multi_indices : array_like of int, shape (M, r)
        Distinct multi-indices ``alpha``.
    coefficients : array_like, shape (M,)
        ``a_alpha``.

    Notes
    -----
    ``h_m = He_m / sqrt(m!)``.  The ``h_alpha(E^T x)`` are orthonormal in ``L2(N(0, I_d))``,
    so ``||F~||^2 = sum a_alpha^2`` and ``<F~, F>`` has the closed form of
    :meth:`population_coefficients`.

    Examples
    --------
    >>> import numpy as np
    >>> p = HermitePredictor(np.eye(2)[:, :1], [[0], [2]], [1.0, 0.5])
    >>> float(p(np.array([[1.0, 7.0]]))[0]) == 1.0     # h_2(1) = 0
    True
    """

    def __init__(self, basis, multi_indices, coefficients):
        E = np.array(basis, dtype=float, ndmin=2)
        if E.ndim != 2 or not np.all(np.isfinite(E)):
            raise ValueError("HermitePredictor: basis must be a finite (d, r) array")
        d, r = E.shape
        if r < 1 or r > d or np.max(np.abs(E.T @ E - np.eye(r))) > 1e-8:
            raise ValueError(f"HermitePredictor: basis must have 1 <= r <= d orthonormal columns (shape {E.shape})")
        A = np.array(multi_indices, dtype=np.int64, ndmin=2)
        if A.ndim != 2 or A.shape[1] != r or np.any(A < 0):
            raise ValueError(f"HermitePredictor: multi_indices must be non-negative ints of shape (M, {r})")
        a = np.array(coefficients, dtype=float).reshape(-1)
        if len(a) != len(A) or not np.all(np.isfinite(a)):
            raise ValueError(f"HermitePredictor: coefficients must be {len(A)} finite numbers")
        if len({tuple(row) for row in A.tolist()}) != len(A):
            raise ValueError("HermitePredictor: multi_indices must be distinct")
        for arr in (E, A, a):
            arr.setflags(write=False)
        self.basis, self.multi_indices, self.coefficients = E, A, a

    @property
    def d(self):
        return self.basis.shape[0]

    @property
    def rank(self):
        """``r = dim V``."""
        return self.basis.shape[1]

    @property
    def degree(self):
        """Largest ``|alpha|`` (0 if there are no terms)."""
        return int(self.multi_indices.sum(axis=1).max()) if len(self.multi_indices) else 0

    def __repr__(self):
        return f"HermitePredictor(d={self.d}, rank={self.rank}, degree={self.degree}, terms={len(self.coefficients)})"

    def __eq__(self, other):
        if not isinstance(other, HermitePredictor):
            return NotImplemented
        return all(
            np.array_equal(p, q)
            for p, q in zip(
                (self.basis, self.multi_indices, self.coefficients),
                (other.basis, other.multi_indices, other.coefficients),
            )
        )

    __hash__ = None

    def features(self, X):
        """``h_alpha(E^T x)`` for the rows of ``X``: shape ``(n, M)``."""
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.d or not np.all(np.isfinite(X)):
            raise ValueError(f"HermitePredictor: X must be a finite (n, {self.d}) array")
        return _features(X @ self.basis, self.multi_indices, self.degree)

    def predict(self, X):
        """``F~`` at the rows of ``X`` (``(n, d)`` -> ``(n,)``; a ``(d,)`` vector -> a scalar array)."""
        X = np.asarray(X, dtype=float)
        single = X.ndim == 1
        X = np.atleast_2d(X)
        out = np.empty(X.shape[0])
        for i0 in range(0, X.shape[0], _CHUNK):
            out[i0 : i0 + _CHUNK] = self.features(X[i0 : i0 + _CHUNK]) @ self.coefficients
        return out[0] if single else out

    __call__ = predict

    def norm_squared(self):
        """``E[F~(x)^2] = sum_alpha a_alpha^2`` (orthonormality)."""
        return math.fsum(self.coefficients**2)

    def population_coefficients(self, network):
        """``E[F(x) h_alpha(E^T x)]`` for every ``alpha`` of this predictor, in closed form.

        For unit ``u`` and ``|alpha| = m``: ``E[relu(<u,x>) h_alpha(E^T x)] =
        c_m sqrt(m! / alpha!) prod_j <e_j, u>^{alpha_j}`` (rotate so that the ``e_j`` are
        coordinates; ``h_alpha = sqrt(m!/alpha!) S_m[alpha]`` and ``E[relu(<u,x>) S_m] = c_m u^{(x)m}``).
        The linear term ``<a, x>`` contributes ``<a, e_j>`` at ``alpha = e_j`` only.
        """
        _check_network(network, self.d)
        s, U, lin = _neurons(network)
        A = self.multi_indices
        m = A.sum(axis=1)
        c = relu_coefficients(max(int(m.max()) if len(m) else 0, 1))[m]
        lg = np.array([math.lgamma(int(t) + 1) for t in m]) - np.array(
            [sum(math.lgamma(int(t) + 1) for t in row) for row in A]
        )
        P = U @ self.basis  # (k, r): <e_j, u_i>
        with np.errstate(divide="ignore", invalid="ignore"):
            powers = np.prod(P[:, None, :] ** A[None, :, :], axis=2)  # (k, M), 0^0 = 1
        out = c * np.exp(0.5 * lg) * (s @ powers)
        first = np.flatnonzero(m == 1)
        if len(first):
            out[first] += self.basis[:, np.argmax(A[first], axis=1)].T @ lin
        return out

    def squared_distance(self, network):
        """``||F~ - F||^2_{L2(N(0, I))}`` exactly (closed form, no sampling).

        ``||F||^2`` from :meth:`~verified_relu.ReLUNetwork.norm_squared`, ``||F~||^2 = sum a^2``
        and ``<F~, F> = sum_alpha a_alpha E[F h_alpha(E^T x)]`` (:meth:`population_coefficients`).
        Absolute rounding error about ``1e-15 (||F||^2 + sum a^2)``.
        """
        pop = self.population_coefficients(network)
        value = network.norm_squared() - 2 * math.fsum(self.coefficients * pop) + self.norm_squared()
        return max(value, 0.0)

    @classmethod
    def projection(cls, network, basis, degree):
        """The ``L2`` projection of ``network`` onto polynomials of degree ``<= degree`` in ``basis^T x``.

        Its coefficients are the exact population values ``a*_alpha``; its distance to
        ``network`` is ``||F||^2 - sum a*^2`` (equal to :func:`exact_tail` when ``basis`` spans
        every neuron direction and the linear term).
        """
        E = np.array(basis, dtype=float, ndmin=2)
        A = multi_indices(E.shape[1], int(degree))
        probe = cls(E, A, np.zeros(len(A)))
        return cls(E, A, probe.population_coefficients(network))

    def to_dict(self):
        """A JSON-ready dict (floats by ``tolist``, read back exactly by :meth:`from_dict`)."""
        return {
            "format": "verified_relu.HermitePredictor",
            "version": 1,
            "basis": self.basis.tolist(),
            "multi_indices": self.multi_indices.tolist(),
            "coefficients": self.coefficients.tolist(),
        }

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict) or data.get("format") != "verified_relu.HermitePredictor":
            raise ValueError("HermitePredictor.from_dict: data is not a serialized HermitePredictor (missing 'format')")
        basis = np.array(data["basis"], dtype=float)
        A = np.array(data["multi_indices"], dtype=np.int64).reshape(-1, basis.shape[1])
        return cls(basis, A, data["coefficients"])


def _check_network(network, d):
    if not isinstance(network, ReLUNetwork):
        raise TypeError(f"HermitePredictor: network must be a ReLUNetwork, got {type(network).__name__}")
    if network.d != d:
        raise ValueError(f"HermitePredictor: network has d = {network.d}, the predictor d = {d}")


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


def fit(X, y, k, gen, params, *, teacher=None, progress=False):
    """Run DK24's algorithm (digest Sec. 4.2); ``teacher`` only adds audit entries to the trace.

    Returns ``(predictor, success, message, trace, diagnostics)``; ``success`` is the
    held-out criterion ``validation MSE <= (eps R)^2 + noise_variance``.
    """
    tr = Tracer("dk", progress)
    n, d = X.shape
    r = k if params.subspace_dim is None else int(params.subspace_dim)
    n_mom, n_coef, n_val = _split_sizes(n, params)
    perm = gen.permutation(n)
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
