"""DK24's improper output, :class:`HermitePredictor`, and the exact Hermite quantities around it.

``F~(x) = sum_alpha a_alpha h_alpha(E^T x)``, a degree-``D`` polynomial of ``Proj_V x``
(``h_alpha(z) = prod_j h_{alpha_j}(z_j)``, ``h_m = He_m / sqrt(m!)``).  Its L2 distance to a
:class:`~verified_relu.ReLUNetwork` is exact through Hermite orthogonality:
``E[relu(<u,x>) h_alpha(E^T x)] = c_m sqrt(m! / alpha!) prod_j <e_j, u>^{alpha_j}`` for unit
``u`` and ``m = |alpha|`` (:meth:`HermitePredictor.population_coefficients`).  Also here: the
truncation bound ``sum_{m > D} c_m^2 (sum_i |mu_i| |w_i|)^2`` of DK24 Sec. 4.3 and the exact tail.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..hermite.numeric import hermite_normalized, relu_coefficients
from ..network import ReLUNetwork

__all__ = [
    "HermitePredictor",
    "exact_tail",
    "multi_indices",
    "population_q_matrix",
    "relu_tail",
    "truncation_bound",
]

_CHUNK = 4096


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
