"""One-hidden-layer ReLU networks and their exact population functionals under ``N(0, I_d)``.

``F(x) = sum_i mu_i relu(<w_i, x>) + <a, x>``; weights ``W`` are ``(k, d)`` (one neuron a row),
coefficients ``mu`` are ``(k,)``, the optional linear term ``a`` is ``(d,)``.

Conventions (shared with the rest of the package): ``h_m = He_m / sqrt(m!)``; ``S_l(x)`` is
the normalized Hermite tensor, so that ``E[relu(<u,x>) S_l(x)] = c_l u^{(x)l}`` for unit
``u`` with ``c_l = E[relu(G) h_l(G)]``.  All expectations below are closed forms (arc-cosine
kernels, Hermite coefficients), in float64 or, with ``dps=``, in mpmath at that precision.

Values computed with ``dps=`` are returned as mpf numbers of a fresh mpmath context working at
``dps`` digits (never mpmath's global ``mp``, whose precision this package does not change): they
print all ``dps`` digits, and arithmetic between them runs at ``dps`` digits.  Mixed with a plain
``mpmath.mpf`` (the global context, 15 digits by default) the left operand's context decides;
``mpmath.nstr(value, n)`` prints ``n`` digits of any of them.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import mpmath
import numpy as np

from . import _mp
from ._io import atomic_path, atomic_write_text, parse_json
from ._validation import as_matrix, as_vector, check_int, check_real, check_rng
from .hermite.numeric import relu_coefficients

__all__ = ["MAX_TENSOR_ENTRIES", "CanonicalNetwork", "ReLUNetwork"]

#: Largest number of entries ``d**l`` that :meth:`ReLUNetwork.hermite_moment` will form.
MAX_TENSOR_ENTRIES = 10**7

_FORMAT = "verified_relu.ReLUNetwork"
_FORMAT_VERSION = 1
_UNIT_TOL = 1e-10


def _readonly(arr):
    arr = np.array(arr, dtype=np.float64, copy=True)
    arr.setflags(write=False)
    return arr


# ----------------------------------------------------------------------------- kernels
def _angles(U):
    """Pairwise angles between the unit rows of ``U`` by Kahan's stable formula
    ``theta = 2 atan2(|u - v|, |u + v|)`` (accurate for nearly parallel and antipodal pairs)."""
    diff = np.linalg.norm(U[:, None, :] - U[None, :, :], axis=-1)
    summ = np.linalg.norm(U[:, None, :] + U[None, :, :], axis=-1)
    return 2.0 * np.arctan2(diff, summ)


def _relu_gram(norms, U):
    """``K_ij = E[relu(<w_i,x>) relu(<w_j,x>)] = n_i n_j (sin t + (pi - t) cos t) / (2 pi)``."""
    theta = _angles(U)
    return np.outer(norms, norms) * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / (2 * np.pi)


def _norm_squared_float(weights, coeffs, linear):
    norms = np.linalg.norm(weights, axis=1)
    U = weights / norms[:, None]
    K = _relu_gram(norms, U)
    # E[relu(<w,x>) <a,x>] = <w, a> / 2  (relu_linear_kernel of the symbolic layer)
    cross = coeffs @ (weights @ linear)
    return float(coeffs @ K @ coeffs + cross + linear @ linear)


def _norm_squared_mp(weights, coeffs, linear, dps):
    ctx = _mp.context(dps)
    W = [[ctx.mpf(float(v)) for v in row] for row in weights]
    mu = [ctx.mpf(float(v)) for v in coeffs]
    a = [ctx.mpf(float(v)) for v in linear]
    k = len(W)
    norms = [ctx.sqrt(ctx.fsum(v * v for v in row)) for row in W]
    U = [[v / nrm for v in row] for row, nrm in zip(W, norms)]
    total = ctx.fsum(v * v for v in a)
    for i in range(k):
        total += mu[i] * ctx.fdot(W[i], a)
        for j in range(k):
            dn = ctx.sqrt(ctx.fsum((p - q) ** 2 for p, q in zip(U[i], U[j])))
            sn = ctx.sqrt(ctx.fsum((p + q) ** 2 for p, q in zip(U[i], U[j])))
            t = 2 * ctx.atan2(dn, sn)
            kij = norms[i] * norms[j] * (ctx.sin(t) + (ctx.pi - t) * ctx.cos(t)) / (2 * ctx.pi)
            total += mu[i] * mu[j] * kij
    return _at_precision(total, dps)


def _at_precision(value, dps):
    """``value`` rounded to ``dps`` digits, as an mpf of a fresh context at ``dps`` digits (so it
    prints, and computes, at that precision; mpmath's global context is untouched)."""
    out = mpmath.MPContext()
    out.dps = dps
    return out.mpf(value)


# ----------------------------------------------------------------------------- network
class ReLUNetwork:
    """``F(x) = sum_i mu_i relu(<w_i, x>) + <a, x>`` with ``x ~ N(0, I_d)``.

    Parameters
    ----------
    weights : array_like, shape (k, d)
        One neuron per row; rows must be non-zero (a zero neuron is identically zero).
    coefficients : array_like, shape (k,)
        Output weights ``mu``.
    linear : array_like, shape (d,), optional
        Linear term ``a`` (default zero).

    Examples
    --------
    >>> net = ReLUNetwork([[1.0, 0.0], [0.0, 1.0]], [1.0, -1.0])
    >>> float(net([2.0, 1.0]))
    1.0
    >>> round(net.norm_squared(), 12) == round(1 - 1 / np.pi, 12)   # 2 (1/4) - 2 (1/(2 pi))
    True
    """

    __slots__ = ("_coefficients", "_linear", "_weights")

    def __init__(self, weights, coefficients, linear=None):
        W = as_matrix(weights, "weights", caller="ReLUNetwork")
        k, d = W.shape
        mu = as_vector(coefficients, "coefficients", length=k, caller="ReLUNetwork")
        a = np.zeros(d) if linear is None else as_vector(linear, "linear", length=d, caller="ReLUNetwork")
        norms = np.linalg.norm(W, axis=1)
        if np.any(norms == 0):
            rows = np.flatnonzero(norms == 0).tolist()
            raise ValueError(f"ReLUNetwork: weights rows {rows} are zero; a zero neuron is identically 0, remove it")
        self._weights = _readonly(W)
        self._coefficients = _readonly(mu)
        self._linear = _readonly(a)

    # -- basic attributes
    @property
    def weights(self):
        """``(k, d)`` read-only array of neuron weights."""
        return self._weights

    @property
    def coefficients(self):
        """``(k,)`` read-only array of output weights ``mu``."""
        return self._coefficients

    @property
    def linear(self):
        """``(d,)`` read-only linear term (zeros if none was given)."""
        return self._linear

    @property
    def k(self):
        return self._weights.shape[0]

    @property
    def d(self):
        return self._weights.shape[1]

    def __repr__(self):
        lin = "" if not np.any(self._linear) else ", linear=..."
        return f"ReLUNetwork(k={self.k}, d={self.d}{lin})"

    def __eq__(self, other):
        if not isinstance(other, ReLUNetwork):
            return NotImplemented
        return (
            np.array_equal(self._weights, other._weights)
            and np.array_equal(self._coefficients, other._coefficients)
            and np.array_equal(self._linear, other._linear)
        )

    __hash__ = None

    # -- evaluation and sampling
    def _inputs(self, X):
        X = np.asarray(X, dtype=np.float64) if not isinstance(X, (str, bytes)) else X
        single = getattr(X, "ndim", None) == 1
        X = as_matrix(np.atleast_2d(X) if single else X, "X", cols=self.d, caller="ReLUNetwork")
        return X, single

    def __call__(self, X):
        """Evaluate ``F`` at the rows of ``X`` (``(n, d)`` -> ``(n,)``; ``(d,)`` -> scalar array)."""
        X, single = self._inputs(X)
        out = np.maximum(X @ self._weights.T, 0.0) @ self._coefficients + X @ self._linear
        return out[0] if single else out

    predict = __call__

    def sample(self, n, rng=None, noise=0.0):
        """Draw ``n`` samples ``X ~ N(0, I_d)``, ``y = F(X) + noise * N(0, 1)``.

        Returns ``(X, y)`` with shapes ``(n, d)`` and ``(n,)``.  ``rng`` follows SPEC 7.
        """
        n = check_int(n, "n", minimum=1, caller="ReLUNetwork.sample")
        noise = check_real(noise, "noise", minimum=0.0, caller="ReLUNetwork.sample")
        gen = check_rng(rng, caller="ReLUNetwork.sample")
        X = gen.standard_normal((n, self.d))
        y = self(X)
        if noise > 0:
            y = y + noise * gen.standard_normal(n)
        return X, y

    # -- equivalent forms
    def normalized(self):
        """The same function with unit weight rows (norms moved into the coefficients)."""
        norms = np.linalg.norm(self._weights, axis=1)
        return ReLUNetwork(self._weights / norms[:, None], self._coefficients * norms, self._linear)

    def canonical(self):
        """The form ``<w, x> + sum_i lambda_i |<u_i, x>|`` (CDGKM Lemma 2), unit ``u_i``.

        From ``relu(z) = (z + |z|) / 2``: ``lambda_i = mu_i |w_i| / 2`` and
        ``w = a + sum_i mu_i w_i / 2``.
        """
        norms = np.linalg.norm(self._weights, axis=1)
        U = self._weights / norms[:, None]
        lam = self._coefficients * norms / 2.0
        w = self._linear + (self._coefficients @ self._weights) / 2.0
        return CanonicalNetwork(w, lam, U)

    # -- exact population functionals
    def norm_squared(self, *, dps=None):
        """``E[F(x)^2]`` in closed form (arc-cosine kernel); mpmath at ``dps`` digits if given.

        In float64 the absolute error is a few ulps of ``(sum_i |mu_i| |w_i| + |a|)^2``; when
        ``F`` is much smaller than its weights (cancelling neurons), use ``dps``: the value is
        then an mpf of a context at ``dps`` digits, which prints them all.

        >>> F = ReLUNetwork([[1.0, 0.0]], [2.0])
        >>> F.norm_squared(dps=40)                     # 4 E[relu(G)^2] = 4 / 2
        mpf('2.0')
        >>> print(ReLUNetwork([[1.0, 0.0], [0.0, 1.0]], [1.0, 1.0]).norm_squared(dps=30))
        1.31830988618379067153776752675
        """
        if dps is not None:
            return _norm_squared_mp(self._weights, self._coefficients, self._linear, dps)
        return _norm_squared_float(self._weights, self._coefficients, self._linear)

    def squared_distance(self, other, *, dps=None):
        """``E[(F(x) - G(x))^2]`` in closed form, for another ``ReLUNetwork`` or ``CanonicalNetwork``
        (or a predictor with its own exact ``squared_distance``, such as DK24's ``HermitePredictor``)."""
        if isinstance(other, CanonicalNetwork):
            other = other.to_network()
        if not isinstance(other, ReLUNetwork) and hasattr(other, "squared_distance") and hasattr(other, "predict"):
            if dps is not None:  # e.g. DK24's HermitePredictor: its distance is float64 only
                raise ValueError(f"squared_distance: dps is not supported against a {type(other).__name__}")
            return other.squared_distance(self)
        if not isinstance(other, ReLUNetwork):
            raise TypeError(f"other must be a ReLUNetwork or CanonicalNetwork, got {type(other).__name__}")
        if other.d != self.d:
            raise ValueError(f"other has input dimension {other.d}, expected d = {self.d}")
        if dps is not None and np.any(other._linear):
            # a_1 - a_2 would round in float64 before the mpmath evaluation; carry -<a_2, x> exactly
            # as two neurons instead: -<a, x> = -relu(<a, x>) + relu(<-a, x>)
            a2 = other._linear
            diff = ReLUNetwork(
                np.vstack([self._weights, other._weights, a2, -a2]),
                np.concatenate([self._coefficients, -other._coefficients, [-1.0, 1.0]]),
                self._linear,
            )
        else:
            diff = ReLUNetwork(
                np.vstack([self._weights, other._weights]),
                np.concatenate([self._coefficients, -other._coefficients]),
                self._linear - other._linear,
            )
        value = diff.norm_squared(dps=dps)
        return value if value > 0 else value * 0 + 0  # a mean of squares: clamp rounding below zero (and -0.0)

    def _scaled_units(self, l):
        """``(s_i, u_i)`` with ``E[F S_l] = sum_i s_i u_i^{(x)l}`` (plus ``a`` at ``l = 1``)."""
        norms = np.linalg.norm(self._weights, axis=1)
        c = relu_coefficients(max(l, 1))[l]
        return self._coefficients * norms * c, self._weights / norms[:, None]

    def hermite_moment(self, l, *, max_entries=MAX_TENSOR_ENTRIES):
        """``E[F(x) S_l(x)]`` as a full symmetric tensor of shape ``(d,) * l`` (a float for ``l = 0``).

        Equals ``c_l sum_i mu_i |w_i| u_i^{(x)l}`` plus ``a`` at ``l = 1``.  Raises
        ``ValueError`` when ``d**l > max_entries``; use :meth:`moment_contraction` instead.
        """
        l = check_int(l, "l", minimum=0, caller="ReLUNetwork.hermite_moment")
        max_entries = check_int(max_entries, "max_entries", minimum=1, caller="ReLUNetwork.hermite_moment")
        if self.d**l > max_entries:
            raise ValueError(
                f"ReLUNetwork.hermite_moment: l={l} at d={self.d} has d**l = {self.d**l} entries "
                f"(> max_entries = {max_entries}); use moment_contraction(l, g)"
            )
        s, U = self._scaled_units(l)
        if l == 0:
            return float(s.sum())
        T = np.zeros((self.d,) * l)
        for si, u in zip(s, U):
            outer = u
            for _ in range(l - 1):
                outer = np.multiply.outer(outer, u)
            T += si * outer
        if l == 1:
            T = T + self._linear
        return T

    def moment_contraction(self, l, g=None):
        """``E[F(x) S_l(x)]`` contracted with the unit vector ``g`` in its first ``l - 2`` modes.

        Returns the ``(d, d)`` matrix ``c_l sum_i mu_i |w_i| <u_i, g>^{l-2} u_i u_i^T`` for
        ``l >= 2``; for ``l = 0`` the scalar ``E[F]`` and for ``l = 1`` the vector ``E[F x]``
        (``g`` is then not used and may be omitted; likewise at ``l = 2``, where no mode is
        contracted).
        """
        l = check_int(l, "l", minimum=0, caller="ReLUNetwork.moment_contraction")
        s, U = self._scaled_units(l)
        if l == 0:
            return float(s.sum())
        if l == 1:
            return s @ U + self._linear
        if g is None and l == 2:
            g = np.eye(self.d)[0]  # a contraction in l - 2 = 0 modes does not depend on g
        g = check_unit_vector(g, self.d, caller="ReLUNetwork.moment_contraction")
        weights = s * (U @ g) ** (l - 2)
        M = (U.T * weights) @ U
        return (M + M.T) / 2  # exactly symmetric

    # -- serialization
    def to_dict(self):
        """A JSON-ready dict; floats are written by ``repr`` and read back exactly."""
        return {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "weights": self._weights.tolist(),
            "coefficients": self._coefficients.tolist(),
            "linear": self._linear.tolist(),
        }

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict):
            raise TypeError(f"ReLUNetwork.from_dict: data must be a dict, got {type(data).__name__}")
        if data.get("format") != _FORMAT:
            raise ValueError(f"ReLUNetwork.from_dict: 'format' must be {_FORMAT!r}, got {data.get('format')!r}")
        missing = [key for key in ("weights", "coefficients") if key not in data]
        if missing:
            raise ValueError(f"ReLUNetwork.from_dict: missing key(s) {missing}")
        return cls(data["weights"], data["coefficients"], data.get("linear"))

    def to_json(self):
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_json(cls, text):
        return cls.from_dict(parse_json(text, "ReLUNetwork.from_json"))

    def save(self, path):
        """Write to ``.json`` or ``.npz`` (by extension), atomically."""
        path = Path(path)
        if path.suffix == ".json":
            atomic_write_text(path, self.to_json() + "\n")
        elif path.suffix == ".npz":
            with atomic_path(path) as tmp, open(tmp, "wb") as fh:
                np.savez(
                    fh,
                    format=np.array(_FORMAT),
                    weights=self._weights,
                    coefficients=self._coefficients,
                    linear=self._linear,
                )
        else:
            raise ValueError(f"ReLUNetwork.save: path must end in .json or .npz, got {path.name!r}")
        return path

    @classmethod
    def load(cls, path):
        """Read a network written by :meth:`save`."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"ReLUNetwork.load: no such file {str(path)!r}")
        if path.suffix == ".json":
            return cls.from_json(path.read_text(encoding="utf-8"))
        if path.suffix == ".npz":
            try:
                with np.load(path, allow_pickle=False) as data:
                    arrays = {key: data[key] for key in data.files}
            except (OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
                raise ValueError(f"ReLUNetwork.load: {path.name} is not a readable .npz file ({exc})") from exc
            if "format" not in arrays or str(arrays["format"]) != _FORMAT:
                raise ValueError(f"ReLUNetwork.load: {path.name} is not a saved ReLUNetwork (no 'format' key)")
            missing = [key for key in ("weights", "coefficients") if key not in arrays]
            if missing:
                raise ValueError(f"ReLUNetwork.load: {path.name} lacks array(s) {missing}")
            return cls(arrays["weights"], arrays["coefficients"], arrays.get("linear"))
        raise ValueError(f"ReLUNetwork.load: path must end in .json or .npz, got {path.name!r}")


def check_unit_vector(g, d, *, name="g", caller=None):
    """Validate a unit vector of length ``d`` (relative tolerance 1e-10 on the norm)."""
    if g is None:
        raise ValueError(f"{caller + ': ' if caller else ''}{name} is required for l >= 2")
    g = as_vector(g, name, length=d, caller=caller)
    nrm = float(np.linalg.norm(g))
    if abs(nrm - 1.0) > _UNIT_TOL:
        raise ValueError(f"{caller + ': ' if caller else ''}{name} must be a unit vector, got norm {nrm!r}")
    return g


class CanonicalNetwork:
    """``f(x) = <w, x> + sum_i lambda_i |<u_i, x>|`` with unit ``u_i`` (CDGKM Lemma 2 form).

    Directions are normalized on construction (their norms moved into ``lambda``, exactly as
    ``|<c u, x>| = |c| |<u, x>|``).  :meth:`to_network` converts back exactly:
    ``lambda |<u,x>| = 2 lambda relu(<u,x>) - lambda <u,x>``.
    """

    __slots__ = ("_coefficients", "_directions", "_linear")

    def __init__(self, linear, coefficients, directions):
        U = as_matrix(directions, "directions", caller="CanonicalNetwork")
        k, d = U.shape
        lam = as_vector(coefficients, "coefficients", length=k, caller="CanonicalNetwork")
        w = as_vector(linear, "linear", length=d, caller="CanonicalNetwork")
        norms = np.linalg.norm(U, axis=1)
        if np.any(norms == 0):
            raise ValueError(f"CanonicalNetwork: directions rows {np.flatnonzero(norms == 0).tolist()} are zero")
        # rows whose computed norm is exactly 1 are kept bit for bit (no ulp drift on rebuilds)
        norms = np.where(norms == 1.0, 1.0, norms)
        self._directions = _readonly(np.where((norms == 1.0)[:, None], U, U / norms[:, None]))
        self._coefficients = _readonly(np.where(norms == 1.0, lam, lam * norms))
        self._linear = _readonly(w)

    @property
    def linear(self):
        return self._linear

    @property
    def coefficients(self):
        return self._coefficients

    @property
    def directions(self):
        return self._directions

    @property
    def k(self):
        return self._directions.shape[0]

    @property
    def d(self):
        return self._directions.shape[1]

    @property
    def l1_norm(self):
        """``||lambda||_1``, the scale ``R`` of CDGKM/CN."""
        return float(np.abs(self._coefficients).sum())

    def __repr__(self):
        return f"CanonicalNetwork(k={self.k}, d={self.d})"

    def __call__(self, X):
        X = np.asarray(X, dtype=np.float64)
        single = X.ndim == 1
        X = as_matrix(np.atleast_2d(X) if single else X, "X", cols=self.d, caller="CanonicalNetwork")
        out = np.abs(X @ self._directions.T) @ self._coefficients + X @ self._linear
        return out[0] if single else out

    predict = __call__

    def canonical(self):
        """This network (already canonical), so callers need not branch on the type."""
        return self

    def to_network(self):
        """The equal ``ReLUNetwork``: neurons ``(2 lambda_i, u_i)`` and linear term
        ``w - sum_i lambda_i u_i``."""
        return ReLUNetwork(
            self._directions, 2.0 * self._coefficients, self._linear - self._coefficients @ self._directions
        )

    def norm_squared(self, *, dps=None):
        return self.to_network().norm_squared(dps=dps)

    def squared_distance(self, other, *, dps=None):
        return self.to_network().squared_distance(other, dps=dps)
