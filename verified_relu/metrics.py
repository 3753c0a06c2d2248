"""Distances between networks: parameter distance, neuron matching, relative L2 errors.

All comparisons of neurons use the canonical form ``f(x) = <w, x> + sum_i lambda_i |<u_i, x>|``
of CDGKM23 Lemma 2 (:meth:`~verified_relu.network.ReLUNetwork.canonical`): unit directions
``u_i``, coefficients ``lambda_i = mu_i |w_i| / 2``.  Because ``|<u, x>| = |<-u, x>|``, a
direction is identifiable only up to sign, and the functions here minimise over the sign by
default.  The canonical form is taken neuron by neuron: parallel neurons are not merged.

Angles between unit vectors are computed by Kahan's formula ``2 atan2(|u - v|, |u + v|)``,
accurate for nearly parallel and nearly antipodal pairs (``arccos(<u, v>)`` is not).
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from . import _mp
from .network import CanonicalNetwork, ReLUNetwork

__all__ = [
    "BRUTE_FORCE_MAX_K",
    "MatchedPair",
    "NeuronMatching",
    "ParamDistance",
    "l1_relative_error",
    "match_neurons",
    "param_distance",
    "relative_error",
]

#: ``method="auto"`` enumerates all permutations up to this width; ``method="brute"`` is
#: refused above :data:`_BRUTE_LIMIT` (9! permutations).
BRUTE_FORCE_MAX_K = 7
_BRUTE_LIMIT = 9
_METHODS = ("auto", "brute", "matching")


# ----------------------------------------------------------------------------- input
def _canonical(net, name, caller):
    if isinstance(net, ReLUNetwork):
        return net.canonical()
    if isinstance(net, CanonicalNetwork):
        return net
    raise TypeError(f"{caller}: {name} must be a ReLUNetwork or CanonicalNetwork, got {type(net).__name__}")


def _check_network(net, name, caller):
    if not isinstance(net, (ReLUNetwork, CanonicalNetwork)):
        raise TypeError(f"{caller}: {name} must be a ReLUNetwork or CanonicalNetwork, got {type(net).__name__}")
    return net


def _check_dims(first, second, names, caller):
    if first.d != second.d:
        raise ValueError(
            f"{caller}: dimension mismatch, {names[0]} has d = {first.d} but {names[1]} has d = {second.d}"
        )


def _check_bool(value, name, caller):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{caller}: {name} must be a bool, got {type(value).__name__}")
    return bool(value)


def _pairwise_distances(U, V, sign):
    """``D[i, j] = |U_i - sign V_j|`` row by row (no ``k x k x d`` temporary, no Gram cancellation)."""
    return np.array([np.linalg.norm(u - sign * V, axis=1) for u in U])


def _direction_costs(U, V, up_to_sign):
    """``(near, signs, far)``: ``near[i, j] = |u_i - s v_j|`` and ``far[i, j] = |u_i + s v_j|`` with
    ``s = signs[i, j] = -1`` when that makes ``near`` strictly smaller and ``up_to_sign``, else ``+1``."""
    minus = _pairwise_distances(U, V, 1.0)
    plus = _pairwise_distances(U, V, -1.0)
    flip = (plus < minus) if up_to_sign else np.zeros(minus.shape, dtype=bool)
    signs = np.where(flip, -1, 1)
    return np.where(flip, plus, minus), signs, np.where(flip, minus, plus)


# ----------------------------------------------------------------------------- d_param
@dataclass(frozen=True)
class ParamDistance:
    """The parameter distance with the matching that attains it.

    Attributes
    ----------
    distance : float
        ``d_param = min_pi max_i (|lambda_i - lambda'_pi(i)| + |u_i - s_i u'_pi(i)|)``.
    permutation : tuple of int
        Neuron ``i`` of the first network is matched to neuron ``permutation[i]`` of the
        second.  Among the matchings attaining ``distance`` this one has the least total cost.
    signs : tuple of int
        ``s_i`` in ``{+1, -1}``: the sign applied to the second network's direction (all
        ``+1`` when ``up_to_sign=False``).
    costs : tuple of float
        The per-pair costs ``|lambda_i - lambda'_pi(i)| + |u_i - s_i u'_pi(i)|``.
    linear_distance : float
        ``|w - w'|`` between the canonical linear terms, which ``d_param`` does not include.
    """

    distance: float
    permutation: tuple
    signs: tuple
    costs: tuple
    linear_distance: float

    def to_dict(self):
        """A JSON-ready dict of the fields."""
        out = asdict(self)
        out["permutation"] = list(self.permutation)
        out["signs"] = list(self.signs)
        out["costs"] = list(self.costs)
        return out


def _bottleneck_brute(C):
    k = C.shape[0]
    perms = np.array(list(itertools.permutations(range(k))), dtype=np.intp)
    return float(C[np.arange(k), perms].max(axis=1).min())


def _has_perfect_matching(mask):
    match = maximum_bipartite_matching(csr_matrix(mask.astype(np.int8)), perm_type="column")
    return bool(np.all(match >= 0))


def _bottleneck_matching(C):
    """Smallest threshold ``t`` among the entries of ``C`` with a perfect matching in ``C <= t``."""
    values = np.unique(C)
    lo, hi = 0, values.size - 1  # the complete graph (t = max C) always has one
    while lo < hi:
        mid = (lo + hi) // 2
        if _has_perfect_matching(C <= values[mid]):
            hi = mid
        else:
            lo = mid + 1
    return float(values[lo])


def param_distance(a, b, *, up_to_sign=True, method="auto", return_matching=False):
    """CDGKM23's parameter distance between two networks of equal width.

    ``d_param = min over permutations pi of max_i (|lambda_i - lambda'_pi(i)| + |u_i - u'_pi(i)|)``
    (CDGKM23 Lemma 22), on the canonical forms ``<w, x> + sum_i lambda_i |<u_i, x>|`` with unit
    ``u_i``.  With ``up_to_sign=True`` each pair also minimises over ``u'_pi(i) -> -u'_pi(i)``,
    which leaves the function unchanged.  The minimum over permutations is exact (a bottleneck
    assignment).

    Parameters
    ----------
    a, b : ReLUNetwork or CanonicalNetwork
        Networks with the same number of neurons ``k`` and the same dimension ``d``.
    up_to_sign : bool, default True
        Identify ``u`` with ``-u``.
    method : {"auto", "brute", "matching"}, default "auto"
        ``"brute"`` enumerates the ``k!`` permutations (``k <= 9``); ``"matching"`` binary
        searches the sorted costs for the least threshold admitting a perfect bipartite
        matching (:func:`scipy.sparse.csgraph.maximum_bipartite_matching`), ``O(k^2.5 log k)``;
        ``"auto"`` is ``"brute"`` for ``k <= 7`` and ``"matching"`` above.  Both are exact.
    return_matching : bool, default False
        Return a :class:`ParamDistance` (the matching, signs, per-pair costs and the distance
        ``|w - w'|`` between the linear terms) instead of the float.

    Returns
    -------
    float or ParamDistance

    Notes
    -----
    The canonical linear term ``w`` is **not** part of ``d_param``: two networks at
    ``d_param = 0`` can still differ by a linear function.  CDGKM23 learn ``w`` separately from
    the first Hermite moment; ``return_matching=True`` reports ``|w - w'|``.

    Examples
    --------
    >>> A = CanonicalNetwork([0.0, 0.0], [1.0, -0.5], [[1.0, 0.0], [0.0, 1.0]])
    >>> B = CanonicalNetwork([0.0, 0.0], [-0.5, 1.25], [[0.0, -1.0], [1.0, 0.0]])
    >>> param_distance(A, B)            # swap the neurons, flip the second direction
    0.25
    >>> param_distance(A, B, up_to_sign=False)
    2.0
    """
    caller = "param_distance"
    A, B = _canonical(a, "a", caller), _canonical(b, "b", caller)
    _check_dims(A, B, ("a", "b"), caller)
    if A.k != B.k:
        raise ValueError(
            f"{caller}: width mismatch, a has k = {A.k} neurons but b has k = {B.k}; d_param needs equal widths"
        )
    up_to_sign = _check_bool(up_to_sign, "up_to_sign", caller)
    return_matching = _check_bool(return_matching, "return_matching", caller)
    if method not in _METHODS:
        raise ValueError(f"{caller}: method must be one of {list(_METHODS)}, got {method!r}")
    k = A.k
    if method == "brute" and k > _BRUTE_LIMIT:
        raise ValueError(
            f"{caller}: method='brute' enumerates k! permutations and needs k <= {_BRUTE_LIMIT}, got k = {k}"
        )
    dist, signs, _ = _direction_costs(A.directions, B.directions, up_to_sign)
    C = np.abs(A.coefficients[:, None] - B.coefficients[None, :]) + dist
    if method == "brute" or (method == "auto" and k <= BRUTE_FORCE_MAX_K):
        value = _bottleneck_brute(C)
    else:
        value = _bottleneck_matching(C)
    if not return_matching:
        return value
    rows, cols = linear_sum_assignment(np.where(C <= value, C, np.inf))
    perm = cols[np.argsort(rows)]
    idx = np.arange(k)
    return ParamDistance(
        distance=value,
        permutation=tuple(int(j) for j in perm),
        signs=tuple(int(s) for s in signs[idx, perm]),
        costs=tuple(float(c) for c in C[idx, perm]),
        linear_distance=float(np.linalg.norm(A.linear - B.linear)),
    )


# ----------------------------------------------------------------------------- matching
@dataclass(frozen=True)
class MatchedPair:
    """One matched neuron pair of :func:`match_neurons`.

    ``angle`` is the angle in radians between ``u_true`` and ``sign * u_learned``
    (in ``[0, pi/2]`` when matching up to sign); the coefficients are canonical ``lambda``.
    """

    true_index: int
    learned_index: int
    angle: float
    true_coefficient: float
    learned_coefficient: float
    sign: int


@dataclass(frozen=True)
class NeuronMatching:
    """Result of :func:`match_neurons`: the pairs, then the neurons left without a partner."""

    pairs: tuple
    unmatched_true: tuple
    unmatched_learned: tuple

    @property
    def max_angle(self):
        """The largest matched angle (0.0 if nothing was matched)."""
        return max((p.angle for p in self.pairs), default=0.0)

    def to_dict(self):
        """A JSON-ready dict."""
        return {
            "pairs": [asdict(p) for p in self.pairs],
            "unmatched_true": list(self.unmatched_true),
            "unmatched_learned": list(self.unmatched_learned),
        }


def match_neurons(true, learned, *, up_to_sign=True):
    """Match the neurons of two networks by direction, minimising the total angle.

    The cost of pairing ``u_i`` (of ``true``) with ``v_j`` (of ``learned``) is the angle
    ``2 atan2(|u_i - s v_j|, |u_i + s v_j|)`` with the sign ``s`` in ``{+1, -1}`` that makes it
    smallest (``s = +1`` only, if ``up_to_sign=False``); the assignment minimising the sum of
    angles is found by :func:`scipy.optimize.linear_sum_assignment`.  Widths may differ: then
    ``min(k_true, k_learned)`` pairs are formed and the rest are listed as unmatched.

    Parameters
    ----------
    true, learned : ReLUNetwork or CanonicalNetwork
        Networks in the same dimension ``d``.
    up_to_sign : bool, default True
        Identify ``u`` with ``-u`` (the canonical form cannot tell them apart).

    Returns
    -------
    NeuronMatching
        Pairs sorted by ``true_index``, each with the angle, both canonical coefficients
        ``lambda`` (unchanged by the sign) and the sign used.

    Examples
    --------
    >>> T = ReLUNetwork([[1.0, 0.0], [0.0, 1.0]], [2.0, 4.0])
    >>> L = ReLUNetwork([[0.0, -3.0]], [1.0])
    >>> m = match_neurons(T, L)
    >>> (m.pairs[0].true_index, m.pairs[0].angle, m.pairs[0].sign, m.unmatched_true)
    (1, 0.0, -1, (0,))
    """
    caller = "match_neurons"
    A, B = _canonical(true, "true", caller), _canonical(learned, "learned", caller)
    _check_dims(A, B, ("true", "learned"), caller)
    up_to_sign = _check_bool(up_to_sign, "up_to_sign", caller)
    near, signs, far = _direction_costs(A.directions, B.directions, up_to_sign)
    # Kahan: angle(u, s v) = 2 atan2(|u - s v|, |u + s v|)
    angles = 2.0 * np.arctan2(near, far)
    rows, cols = linear_sum_assignment(angles)
    pairs = tuple(
        MatchedPair(
            true_index=int(i),
            learned_index=int(j),
            angle=float(angles[i, j]),
            true_coefficient=float(A.coefficients[i]),
            learned_coefficient=float(B.coefficients[j]),
            sign=int(signs[i, j]),
        )
        for i, j in sorted(zip(rows, cols))
    )
    return NeuronMatching(
        pairs=pairs,
        unmatched_true=tuple(sorted(set(range(A.k)) - {int(i) for i in rows})),
        unmatched_learned=tuple(sorted(set(range(B.k)) - {int(j) for j in cols})),
    )


# ----------------------------------------------------------------------------- L2 errors
def _ratio(num, den, dps):
    if dps is None:
        return float(num) / float(den)
    ctx = _mp.context(dps)
    return _mp.rounder(dps)(ctx.mpf(num) / ctx.mpf(den))


def _l1_norm(net, dps):
    """``||lambda||_1`` of the canonical form, per neuron; in mpmath from the float weights if ``dps``."""
    if dps is None:
        return _canonical(net, "true", "l1_relative_error").l1_norm
    ctx = _mp.context(dps)
    if isinstance(net, CanonicalNetwork):
        return ctx.fsum(abs(ctx.mpf(float(c))) for c in net.coefficients)
    total = ctx.fsum(
        abs(ctx.mpf(float(m))) * ctx.sqrt(ctx.fsum(ctx.mpf(float(v)) ** 2 for v in row))
        for m, row in zip(net.coefficients, net.weights)
    )
    return total / 2


def relative_error(true, learned, *, dps=None):
    """``E[(F - G)^2] / E[F^2]`` for the target ``F = true`` and the hypothesis ``G = learned``.

    Both expectations are the closed forms of :meth:`ReLUNetwork.squared_distance` and
    :meth:`ReLUNetwork.norm_squared` (float64, or mpmath at ``dps`` digits, returned as an
    ``mpmath.mpf`` rounded to ``dps`` digits).  DK24 note that small relative error cannot be
    guaranteed (digest 1.1); see :func:`l1_relative_error` for the scale the papers use.

    Raises
    ------
    TypeError
        ``true`` or ``learned`` is not a network.
    ValueError
        Dimension mismatch, or ``E[F^2] = 0`` (the ratio is undefined).

    Examples
    --------
    >>> F = ReLUNetwork([[1.0, 0.0]], [2.0])
    >>> relative_error(F, ReLUNetwork([[1.0, 0.0]], [1.0]))
    0.25
    """
    caller = "relative_error"
    _check_network(true, "true", caller)
    if not (hasattr(learned, "predict") and hasattr(learned, "d")):  # DK24's predictor has a closed form too
        _check_network(learned, "learned", caller)
    _check_dims(true, learned, ("true", "learned"), caller)
    den = true.norm_squared(dps=dps)
    if den == 0:
        raise ValueError(f"{caller}: true has E[F^2] = 0, so the relative error is undefined; use l1_relative_error")
    return _ratio(true.squared_distance(learned, dps=dps), den, dps)


def l1_relative_error(true, learned, *, dps=None):
    """``E[(F - G)^2] / ||lambda||_1^2``, the error on the scale ``R = ||lambda||_1`` of CDGKM/CN.

    ``lambda`` are the canonical coefficients of ``true`` (``lambda_i = mu_i |w_i| / 2``,
    neuron by neuron, parallel neurons not merged).  This is the error notion for which the
    papers' guarantees hold (``sum |lambda_i| <= R``, DK24's ``sum |w_i| <= 1``).  ``dps`` as
    in :func:`relative_error`.

    Raises
    ------
    TypeError
        ``true`` or ``learned`` is not a network.
    ValueError
        Dimension mismatch, or ``||lambda||_1 = 0``.

    Examples
    --------
    >>> F = ReLUNetwork([[1.0, 0.0]], [2.0])            # lambda = 1
    >>> l1_relative_error(F, ReLUNetwork([[1.0, 0.0]], [1.0]))   # E[relu^2] / 1
    0.5
    """
    caller = "l1_relative_error"
    _check_network(true, "true", caller)
    _check_network(learned, "learned", caller)
    _check_dims(true, learned, ("true", "learned"), caller)
    l1 = _l1_norm(true, dps)
    if l1 == 0:
        raise ValueError(f"{caller}: true has ||lambda||_1 = 0 (all coefficients zero); the ratio is undefined")
    return _ratio(true.squared_distance(learned, dps=dps), l1 * l1, dps)
