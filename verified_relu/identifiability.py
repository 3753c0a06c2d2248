"""Constructive certificates that a finite sample does not determine a pair of neurons.

For neurons ``i, j`` of ``F`` with coefficients ``p = mu_i, q = mu_j`` and rows ``a = w_i,
b = w_j``, and any ``y`` in ``R^d``, the network with rows ``a' = a + y / p`` and ``b' = b - y / q``
(everything else unchanged) satisfies, at every ``x`` where the activation signs of ``a', b'``
equal those of ``a, b``:

* both active: ``p <a', x> + q <b', x> = p <a, x> + q <b, x>`` -- unchanged;
* neither active: unchanged;
* exactly one active (a *wedge* point): the output moves by ``+-<y, x>``.

So if ``y`` is orthogonal to every wedge sample of ``X`` and small enough that no sample changes
activation sign, the perturbed network reproduces ``F`` on every row of ``X`` (up to rounding),
while its population distance to ``F`` is positive.  :func:`ambiguous_pair` searches for such a
``y`` with a large population distance; the result is a certificate (checked by evaluation, not
assumed) that the sample cannot identify the pair.  Once the wedge samples span ``R^d`` no such
``y`` exists and the certificate is reported as absent (which proves nothing either way).

>>> from verified_relu.instances import make
>>> net = make("close_pair", 20, 4, rng=0, theta=0.01)
>>> X, _ = net.sample(4000, rng=0)
>>> result = ambiguous_pair(net, X)
>>> bool(result.ambiguous), result.free_dimensions > 0
(True, True)
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import numpy as np
from scipy.linalg import null_space

from ._lm import expanding_subspace_lm
from ._validation import as_matrix, as_vector, check_int, check_real, check_rng
from .network import ReLUNetwork

__all__ = [
    "PairAmbiguity",
    "ambiguous_pair",
    "pair_certificate",
    "refit_certificate",
    "sample_certificate",
    "wedge_second_moment",
]

_CALLER = "ambiguous_pair"
#: A sign constraint ``|<y, x>| <= margin`` is used with margin ``(1 - _MARGIN_SLACK) * margin``.
_MARGIN_SLACK = 1e-6
#: The feasible step is multiplied by this factor before use.
_SAFETY = 0.5
#: ``ambiguous`` requires ``max |alt(X) - F(X)| <= _AGREE_ULPS * eps * S`` with ``S`` the largest sum of
#: absolute terms ``sum_i |mu_i <w_i, x>| + |<a, x>|`` over the samples and both networks (the scale of
#: the rounding error of evaluating either network; ``max |F(X)|`` would be far smaller than it when
#: neurons cancel, and would reject true certificates).
_AGREE_ULPS = 1e2


@dataclass(frozen=True)
class PairAmbiguity:
    """The outcome of :func:`ambiguous_pair`.

    Attributes
    ----------
    alternative : ReLUNetwork or None
        A network that agrees with ``net`` on every row of ``X`` (to rounding) but differs from it
        in population; ``None`` when no certificate was found.
    wedge_samples : int
        Number of rows of ``X`` where exactly one of ``<a, x>``, ``<b, x>`` is positive.
    free_dimensions : int
        ``d`` minus the rank of the wedge samples (the dimension of the space of admissible ``y``).
    sample_max_abs_difference : float
        ``max_n |alt(x_n) - F(x_n)|``, evaluated (``0.0`` when ``alternative`` is ``None``).
    relative_distance : float
        ``E[(alt - F)^2] / E[F^2]`` in closed form (``0.0`` when ``alternative`` is ``None``).
    ambiguous : bool
        ``relative_distance > 0`` and ``sample_max_abs_difference <= 1e2 * eps * S``, with ``S`` the
        largest sum of absolute terms ``sum_i |mu_i <w_i, x_n>| + |<a, x_n>|`` over the samples and
        the two networks: the scale of the rounding error of evaluating them (not ``max |F(x_n)|``,
        which cancellation can make far smaller).
    """

    alternative: ReLUNetwork | None
    wedge_samples: int
    free_dimensions: int
    sample_max_abs_difference: float
    relative_distance: float
    ambiguous: bool

    def to_dict(self):
        """A JSON-ready dict of the fields (``alternative`` via :meth:`ReLUNetwork.to_dict`)."""
        out = asdict(self)
        out["alternative"] = None if self.alternative is None else self.alternative.to_dict()
        return out


# ----------------------------------------------------------------------------- helpers
def _check_neuron(value, name, k):
    return check_int(value, name, minimum=0, maximum=k - 1, caller=_CALLER)


def wedge_second_moment(a, b):
    """``M = E[x x^T 1(exactly one of <a, x>, <b, x> is positive)]`` for ``x ~ N(0, I_d)``, exactly.

    With ``theta`` the angle between ``a`` and ``b`` and ``E = [e1, e2]`` an orthonormal basis of
    their plane (``e1 = a / |a|``, ``b`` at angle ``theta`` from ``e1`` towards ``e2``), the wedge is
    two antipodal arcs of width ``theta`` and

    ``M = (theta / pi) (I - E E^T) + (2 / pi) E [[c, s], [s, e]] E^T`` with
    ``c = (2 theta - sin 2 theta) / 4``, ``e = (2 theta + sin 2 theta) / 4``, ``s = -sin^2(theta) / 2``.

    Parameters
    ----------
    a, b : array_like, shape (d,)
        Non-zero vectors.

    Returns
    -------
    ndarray, shape (d, d)
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    d = a.shape[0]
    ua, ub = a / np.linalg.norm(a), b / np.linalg.norm(b)
    theta = 2.0 * np.arctan2(np.linalg.norm(ua - ub), np.linalg.norm(ua + ub))
    perp = ub - (ub @ ua) * ua
    perp_norm = np.linalg.norm(perp)
    if perp_norm == 0.0 or np.sin(theta) == 0.0:  # parallel: no wedge; antiparallel: wedge is everything
        return np.zeros((d, d)) if theta < np.pi / 2 else np.eye(d)
    E = np.column_stack([ua, perp / perp_norm])
    s2 = np.sin(2.0 * theta)
    plane = (2.0 / np.pi) * np.array(
        [
            [(2.0 * theta - s2) / 4.0, -(np.sin(theta) ** 2) / 2.0],
            [-(np.sin(theta) ** 2) / 2.0, (2.0 * theta + s2) / 4.0],
        ]
    )
    return (theta / np.pi) * (np.eye(d) - E @ E.T) + E @ plane @ E.T


def _orthonormal_null(rows, d):
    """Orthonormal basis (columns) of the null space of ``rows`` (``m x d``), via the SVD."""
    if rows.shape[0] == 0:
        return np.eye(d)
    _, s, vt = np.linalg.svd(rows, full_matrices=True)
    tol = max(rows.shape) * np.finfo(np.float64).eps * (s[0] if s.size else 0.0)
    rank = int(np.count_nonzero(s > tol))
    return vt[rank:].T.copy()


def _term_scale(net, X):
    """``max_n sum_i |mu_i <w_i, x_n>| + |<a, x_n>|``: the size of the terms summed to evaluate ``net``."""
    terms = np.abs(X @ net.weights.T) @ np.abs(net.coefficients) + np.abs(X @ net.linear)
    return float(np.max(terms))


def _alternative(net, i, j, y):
    W = np.array(net.weights, dtype=np.float64, copy=True)
    mu = net.coefficients
    W[i] = W[i] + y / mu[i]
    W[j] = W[j] - y / mu[j]
    if not (np.any(W[i]) and np.any(W[j])):
        return None
    return ReLUNetwork(W, mu, net.linear)


def _candidate_path(u0, basis, Xc, margins, excluded):
    """Steps ``(t, u)`` along ``u0`` projected onto shrinking null spaces; see :func:`ambiguous_pair`."""
    excluded = excluded.copy()
    steps = []
    while basis.shape[1] >= 1:
        u = basis @ (basis.T @ u0)
        norm = np.linalg.norm(u)
        if norm <= 1e-12 * np.linalg.norm(u0):
            break
        u = u / norm
        proj = np.abs(Xc @ u)
        with np.errstate(divide="ignore"):
            ratios = np.where(excluded | (proj == 0.0), np.inf, margins / np.where(proj == 0.0, 1.0, proj))
        if ratios.size == 0 or not np.isfinite(ratios.min()):
            break  # unconstrained direction: the sample gives no bound (caller caps the step)
        binding = int(np.argmin(ratios))
        steps.append((_SAFETY * float(ratios[binding]), u))
        if basis.shape[1] == 1:
            break
        c = basis.T @ Xc[binding]
        if not np.any(c):
            break
        basis = basis @ null_space(c[None, :])
        excluded[binding] = True
    return steps


# ----------------------------------------------------------------------------- public
def ambiguous_pair(net, X, i=0, j=1, *, directions=8, rng=0):
    """Search for a network that agrees with ``net`` on ``X`` but moves neurons ``i`` and ``j``.

    Parameters
    ----------
    net : ReLUNetwork
        The network; ``mu_i`` and ``mu_j`` must be non-zero.
    X : array_like, shape (n, d)
        The sample inputs (finite).
    i, j : int, default 0, 1
        The two neurons (distinct indices in ``[0, k)``).
    directions : int, default 8
        Number of random candidate directions tried besides the top wedge-moment direction.
    rng : None, int, SeedSequence or Generator, default 0
        Seed of the random candidate directions (SPEC 7); the result is deterministic given it.

    Returns
    -------
    PairAmbiguity

    Notes
    -----
    With ``N`` an orthonormal basis of the null space of the wedge samples (SVD), every ``y = N c``
    leaves the wedge samples unchanged.  The other samples impose ``|<y, x_n>| <= (1 - 1e-6)
    min(|p <a, x_n>|, |q <b, x_n>|)`` (no activation changes sign); samples with ``<a, x_n> = 0`` or
    ``<b, x_n> = 0`` are added to the orthogonality set.  Candidates: the top eigenvector of
    ``N^T M N`` with ``M`` the exact wedge second moment (:func:`wedge_second_moment`; to first order
    ``E[(alt - F)^2] ~ y^T M y``), plus ``directions`` random directions in ``N``.  For each candidate
    ``u0`` the binding sample (smallest ``margin / |<u, x>|``) is repeatedly added to the
    orthogonality set and ``u`` recomputed as the normalised projection of ``u0`` onto the remaining
    null space, which enlarges the feasible step; every intermediate ``y = 0.5 t_max u`` is scored
    by its exact relative distance and the best is kept.  The returned ``alternative`` is then
    *evaluated* on ``X``: ``ambiguous`` reflects the measured agreement, not the construction.
    """
    net, X = _check_net_X(net, X, _CALLER, name="net")
    k, d = net.k, net.d
    i = _check_neuron(i, "i", k)
    j = _check_neuron(j, "j", k)
    if i == j:
        raise ValueError(f"{_CALLER}: i and j must be distinct neurons, got i = j = {i}")
    directions = check_int(directions, "directions", minimum=0, caller=_CALLER)
    gen = check_rng(rng, caller=_CALLER)
    p, q = float(net.coefficients[i]), float(net.coefficients[j])
    for name, value, idx in (("i", p, i), ("j", q, j)):
        if value == 0.0:
            raise ValueError(f"{_CALLER}: coefficient of neuron {name} = {idx} must be non-zero, got 0.0")

    a, b = net.weights[i], net.weights[j]
    sa, sb = X @ a, X @ b
    wedge = (sa > 0) != (sb > 0)
    n_wedge = int(np.count_nonzero(wedge))
    free = _orthonormal_null(X[wedge], d).shape[1]
    degenerate = ~wedge & ((sa == 0) | (sb == 0))
    basis = _orthonormal_null(X[wedge | degenerate], d)

    def absent(free_dims):
        return PairAmbiguity(None, n_wedge, int(free_dims), 0.0, 0.0, False)

    if basis.shape[1] == 0:
        return absent(free)

    constrained = ~(wedge | degenerate)
    Xc = X[constrained]
    margins = (1.0 - _MARGIN_SLACK) * np.minimum(abs(p) * np.abs(sa[constrained]), abs(q) * np.abs(sb[constrained]))
    excluded = np.zeros(Xc.shape[0], dtype=bool)

    M = wedge_second_moment(a, b)
    _, vecs = np.linalg.eigh(basis.T @ M @ basis)
    candidates = [basis @ vecs[:, -1]]
    candidates += [basis @ gen.standard_normal(basis.shape[1]) for _ in range(directions)]

    norm_f = net.norm_squared()
    fallback_step = min(abs(p) * np.linalg.norm(a), abs(q) * np.linalg.norm(b))
    best, best_rel = None, 0.0
    for u0 in candidates:
        steps = _candidate_path(u0, basis, Xc, margins, excluded)
        if not steps:  # no sample constrains u0: any step is admissible, take one of the neurons' size
            u = basis @ (basis.T @ u0)
            if np.linalg.norm(u) == 0.0:
                continue
            steps = [(_SAFETY * fallback_step, u / np.linalg.norm(u))]
        for t, u in steps:
            if not t > 0.0:
                continue
            alt = _alternative(net, i, j, t * u)
            if alt is None:
                continue
            rel = alt.squared_distance(net) / norm_f if norm_f > 0 else np.inf
            if rel > best_rel:
                best, best_rel = alt, float(rel)

    if best is None:
        return absent(free)
    diff = float(np.max(np.abs(best(X) - net(X))))
    scale = max(_term_scale(net, X), _term_scale(best, X))
    ok = bool(best_rel > 0.0 and diff <= _AGREE_ULPS * np.finfo(np.float64).eps * scale)
    return PairAmbiguity(best, n_wedge, int(free), diff, best_rel, ok)


def _check_net_X(net, X, caller, name="network"):
    """The network (argument ``name``) and the sample inputs ``X`` as a finite ``(n, d)`` matrix."""
    if not isinstance(net, ReLUNetwork):
        raise TypeError(f"{caller}: {name} must be a ReLUNetwork, got {type(net).__name__}")
    if isinstance(X, (str, bytes)):
        raise TypeError(f"{caller}: X must be numeric, got {type(X).__name__}")
    X = as_matrix(X, "X", caller=caller)
    if X.shape[1] != net.d:
        raise ValueError(f"{caller}: X must have shape (n, d) with d = {net.d}, got {X.shape}")
    return net, X


def _unit(rng, d):
    v = rng.standard_normal(d)
    return v / np.linalg.norm(v)


def _full_rank(A, d):
    """Whether the rows of ``A`` span ``R^d`` (numerical rank, :func:`numpy.linalg.matrix_rank`).

    The first ``4 d`` rows are tried first: rows spanning ``R^d`` keep spanning it when rows are
    added (the smallest singular value cannot decrease), so the full matrix is decomposed only
    when they do not."""
    if A.shape[0] > 4 * d and np.linalg.matrix_rank(A[: 4 * d]) >= d:
        return True
    return np.linalg.matrix_rank(A) >= d


def pair_certificate(network, X, tol=1e-10):
    """A certificate that the sample inputs ``X`` do not determine ``network``, or ``None``.

    For each pair of neurons whose *wedge* samples (exactly one of the two active) do not span
    ``R^d``, :func:`ambiguous_pair` looks for a second network that
    agrees with ``network`` on every row of ``X`` but differs in population by more than ``tol``
    (relative); when one exists no learner can tell the two apart from these samples.
    """
    caller = "pair_certificate"
    network, X = _check_net_X(network, X, caller)
    tol = check_real(tol, "tol", minimum=0.0, caller=caller)
    Z = X @ network.weights.T > 0
    d = X.shape[1]
    for i, j in itertools.combinations(range(network.k), 2):
        if network.coefficients[i] == 0 or network.coefficients[j] == 0:
            continue
        wedge = Z[:, i] != Z[:, j]
        if wedge.sum() >= d and _full_rank(X[wedge], d):
            continue
        found = ambiguous_pair(network, X, i, j, directions=4)
        if found.ambiguous and found.relative_distance > tol:
            return {
                "neurons": [i, j],
                "wedge_samples": found.wedge_samples,
                "free_dimensions": found.free_dimensions,
                "relative_distance": found.relative_distance,
            }
    return None


def refit_certificate(network, X, y, tol=1e-10, tries=12, seed=0):
    """A second network that fits every sample as well as ``network`` and differs from it in population.

    For each pair of neurons with fewer than ``2 d`` wedge samples (exactly one of the two active;
    for nearly antiparallel rows, the samples where both or neither are active) whose rows are not
    (anti)parallel to rounding (angle at least ``1e-6``; an antipodal pair is one direction and a
    linear term, ``relu(z) - relu(-z) = z``),
    up to ``tries`` Levenberg-Marquardt refits on *all* samples start from ``network`` with the
    pair's rows perturbed at angles from a tenth of to twice the pair's angle (a sample on the other
    side of a hyperplane gives another activation pattern, which the fixed-pattern search of
    :func:`ambiguous_pair` cannot reach).  A refit that fits every
    sample is pushed further: the start is moved to twice its parameter offset from ``network`` and
    refitted again, while the refit still fits every sample and its distance at least doubles (up
    to 16 doublings; each refit at most 60 full-space steps).  A refit is a
    certificate when its largest absolute residual on the samples is at most that of ``network``
    (or at most ``1e2`` ulps of the largest sum of absolute terms, the rounding level of
    :mod:`~verified_relu.identifiability`), and its closed-form squared L2 distance to ``network``
    exceeds ``tol`` relative to ``E[F^2]``.  Both are evaluated, not assumed; the search is
    seeded by ``seed``, so the judgement is a function of the data.
    """
    caller = "refit_certificate"
    network, X = _check_net_X(network, X, caller)
    y = as_vector(y, "y", length=X.shape[0], caller=caller)
    tol = check_real(tol, "tol", minimum=0.0, caller=caller)
    tries = check_int(tries, "tries", minimum=0, caller=caller)
    seed = check_int(seed, "seed", minimum=0, caller=caller)
    if tries == 0 or network.k < 2:
        return None
    n, d = X.shape
    a = network.linear
    norms = np.linalg.norm(network.weights, axis=1)
    norms = np.where(norms > 0, norms, 1.0)
    W, mu = network.weights / norms[:, None], network.coefficients * norms  # as Levenberg-Marquardt returns them
    norm = network.norm_squared()
    if not norm > 0:
        return None
    terms = np.abs(X @ W.T) @ np.abs(mu) + np.abs(X @ a)
    level = max(float(np.max(np.abs(network(X) - y))), 1e2 * np.finfo(np.float64).eps * float(np.max(terms)))
    scale = float(np.mean(y * y)) or 1.0
    Z = X @ W.T > 0
    U = W / np.linalg.norm(W, axis=1)[:, None]
    gen = np.random.default_rng(seed)

    def fitted(W2, mu2, a2):
        out = expanding_subspace_lm(X, y, W2, mu2, a2, full_iter=60, atol=1e-30 * scale)
        alt = ReLUNetwork(out.W, out.mu, out.a)
        resid = float(np.max(np.abs(alt(X) - y)))
        if resid > level:
            return None
        return out, alt, resid, alt.squared_distance(network) / norm

    for i, j in itertools.combinations(range(network.k), 2):
        differ = int(np.count_nonzero(Z[:, i] != Z[:, j]))
        if mu[i] == 0 or mu[j] == 0 or min(differ, n - differ) >= 2 * d:  # n - differ: antiparallel rows
            continue
        angle = float(np.arccos(np.clip(abs(U[i] @ U[j]), -1.0, 1.0)))
        if angle < 1e-6:  # one direction to rounding (an antipodal pair is |<u,x>| plus a linear term): not a pair
            continue
        for t in range(tries):
            W2 = W.copy()
            size = angle * (0.5, 2.0, 0.1)[t % 3]
            for m in (i, j):
                W2[m] = W[m] + size * _unit(gen, d)
            found = fitted(W2, mu, a)
            for _ in range(16):
                if found is None or found[3] > tol:
                    break
                out = found[0]
                more = fitted(W + 2.0 * (out.W - W), mu + 2.0 * (out.mu - mu), a + 2.0 * (out.a - a))
                if more is None or more[3] < 2.0 * found[3]:  # the distance grows ~4x per doubling along a family
                    break
                found = more
            if found is not None and found[3] > tol:
                _, alt, resid, dist = found
                return {
                    "neurons": "refit",
                    "pair": [i, j],
                    "relative_distance": float(dist),
                    "sample_max_abs_residual": resid,
                    "alternative": alt.to_dict(),
                }
    return None


def sample_certificate(network, X, y, tol=1e-10, tries=12):
    """A certificate that the sample ``(X, y)`` does not determine ``network``, or ``None``.

    The two constructive searches in turn: :func:`pair_certificate` (a move of a close pair that
    leaves every sample's output unchanged, :func:`ambiguous_pair`) and :func:`refit_certificate`
    (a refit on all samples from the pair's rows perturbed, which may change activation patterns).
    Each returned certificate names a second network that fits every sample as well and differs
    from ``network`` by more than ``tol`` relative squared L2 distance, checked by evaluation and
    by the closed-form distance.  ``None`` means neither search found one, which proves nothing
    either way.  Used to decide which runs count as *determined* in the robustness benchmark.

    >>> from verified_relu.instances import make
    >>> net = make("close_pair", 20, 4, rng=0, theta=0.01)
    >>> X, y = net.sample(4000, rng=0)
    >>> sample_certificate(net, X, y)["relative_distance"] > 1e-10
    True
    """
    return pair_certificate(network, X, tol) or refit_certificate(network, X, y, tol, tries)
