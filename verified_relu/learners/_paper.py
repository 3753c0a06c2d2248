"""Pieces the papers' learners (CDGKM, CN, DK) share.

* :func:`draw_direction` -- the random contraction vector ``g`` on ``S^{d-1}`` and, when a
  ground-truth network is supplied for auditing, the anti-concentration events of CDGKM
  Lemmas 3-4 (= CN Lemma 5), checked and redrawn on failure.
* :func:`normalized_contraction` -- ``M_hat_l = T_hat_l(g, ..., g, :, :)`` with the papers'
  normalisation ``T_l = (1 / (2 c_l)) E[y S_l(x)]``, so that for a network written
  ``<w,x> + sum_i lambda_i |<u_i,x>|`` the population value is
  ``sum_i lambda_i <u_i,g>^{l-2} u_i u_i^T`` (``h_m = He_m / sqrt(m!)``, ``S_l`` the normalized
  Hermite tensor, ``c_l = E[relu(G) h_l(G)]``).
* :func:`sphere_net`, :func:`weight_grid` -- the nets the brute force runs over: a deterministic
  cube net with a certified covering radius, or CN's random net with the number of points that
  makes it a net with probability ``1 - delta``.
* :class:`CandidateScorer` -- validation losses of ``base + sum_j lam_j act(<p_j, x>)`` for any
  subset of net points and any weights, exactly, from one Gram matrix of the net's features on
  the validation samples; :func:`exhaustive_search` enumerates every candidate of the papers'
  brute force, :func:`greedy_search` is the budgeted practical departure.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
from scipy.special import betainc

from ..hermite.numeric import relu_coefficients
from ..moments import moment_contraction
from ..network import ReLUNetwork

__all__ = [
    "ANTICONCENTRATION_C",
    "ANTICONCENTRATION_C_UPPER",
    "CandidateScorer",
    "anticoncentration",
    "cap_fraction",
    "draw_direction",
    "exhaustive_search",
    "greedy_search",
    "normalized_contraction",
    "random_net_size",
    "sphere_net",
    "teacher_directions",
    "weight_grid",
]

#: Lemma 25's constants, made explicit: for unit ``u`` and uniform ``g``,
#: ``P[sqrt(d) |<u,g>| < c delta] <~ c delta sqrt(2/pi) = delta / 2`` with ``c = sqrt(pi/2) / 2``,
#: and ``P[sqrt(d) |<u,g>| > c' sqrt(ln(2/delta))] <~ 2 exp(-c'^2 ln(2/delta) / 2) <= delta / 2``
#: with ``c' = 2`` (Gaussian approximation of ``sqrt(d) <u,g>``; the events are checked, not assumed).
ANTICONCENTRATION_C = math.sqrt(math.pi / 2) / 2
ANTICONCENTRATION_C_UPPER = 2.0


def teacher_directions(teacher):
    """Unit directions ``u_i`` and ``|.|``-form weights ``lambda_i`` of a ground-truth network."""
    canon = teacher.canonical()
    return np.asarray(canon.directions, dtype=float), np.asarray(canon.coefficients, dtype=float)


def anticoncentration(g, U, k=None):
    """The margins of CDGKM Lemmas 3 and 4 for ``g`` against unit rows ``U``.

    Lemma 4 (``delta = 1/(10k)``): ``|<u_i, g>| >= c delta / sqrt(d)`` for all ``i``.  Lemma 3
    (``delta = 1/(10k^2)``): ``c delta / sqrt(d) <= |<u_i + s u_j, g>| / ||u_i + s u_j|| <=
    c' sqrt(ln(2/delta)) / sqrt(d)`` for all ``i != j``, ``s = +-1`` (pairs with
    ``u_i + s u_j = 0`` are skipped and counted).  Each margin is a ratio that is ``>= 1`` exactly
    when its event holds.  ``k`` defaults to the number of rows.
    """
    U = np.atleast_2d(np.asarray(U, dtype=float))
    d = U.shape[1]
    k = U.shape[0] if k is None else k
    sd = math.sqrt(d)
    c, cu = ANTICONCENTRATION_C, ANTICONCENTRATION_C_UPPER
    proj = np.abs(U @ g)
    lower4 = c / (10 * k) / sd
    lemma4 = float(proj.min() / lower4) if len(proj) else math.inf
    d3 = 1.0 / (10 * k * k)
    lower3, upper3 = c * d3 / sd, cu * math.sqrt(math.log(2 / d3)) / sd
    low, high, skipped = math.inf, math.inf, 0
    for i, j in itertools.combinations(range(U.shape[0]), 2):
        for s in (1.0, -1.0):
            v = U[i] + s * U[j]
            nv = float(np.linalg.norm(v))
            if nv < 1e-12:
                skipped += 1
                continue
            r = abs(float(v @ g)) / nv
            low = min(low, r / lower3)
            high = min(high, upper3 / r if r > 0 else math.inf)
    return {
        "lemma4_margin": lemma4,
        "lemma3_lower_margin": low,
        "lemma3_upper_margin": high,
        "lemma3_pairs_skipped": skipped,
        "holds": bool(lemma4 >= 1 and low >= 1 and high >= 1),
        "min_abs_projection": float(proj.min()) if len(proj) else None,
    }


def draw_direction(d, k, rng, *, teacher=None, max_draws=100):
    """A uniform ``g`` on ``S^{d-1}`` conditioned (when ``teacher`` is given) on Lemmas 3-4.

    Without ground truth the events cannot be checked; they hold with probability
    ``>= 7/10`` by Lemmas 3-4 and the record says ``"checked": False``.  With ground truth,
    ``g`` is redrawn until both hold (at most ``max_draws`` times; the last draw is kept and
    flagged if none does).  Returns ``(g, record)``.
    """
    draws = []
    U = None if teacher is None else teacher_directions(teacher)[0]
    for _ in range(max_draws):
        h = rng.standard_normal(d)
        g = h / np.linalg.norm(h)
        if teacher is None:
            return g, {
                "checked": False,
                "draws": 1,
                "note": "no ground truth: Lemmas 3-4 hold with probability >= 7/10",
            }
        margins = anticoncentration(g, U, k)
        draws.append(margins)
        if margins["holds"]:
            break
    record = {
        "checked": True,
        "draws": len(draws),
        "margins": draws[-1],
        "holds": draws[-1]["holds"],
    }
    record["projections"] = (U @ g).tolist()
    return g, record


def normalized_contraction(X, y, l, g, *, transform=None):
    """``(M_hat_l, op_se)``: the contraction with ``1/(2 c_l)`` (``l >= 2``) or ``M_hat_1 = E[y x]``.

    ``op_se`` is the operator-norm standard error of the estimate (a plug-in bound, see
    :class:`verified_relu.moments.MomentEstimate`); for ``l = 1`` the Euclidean one.
    """
    est = moment_contraction(X, y, l, g, return_se=True, transform=transform)
    if l == 1:
        return np.asarray(est.value), float(np.linalg.norm(est.se))
    scale = 1.0 / (2.0 * relu_coefficients(l)[l])  # negative for l = 4, 8, ...: the SE scales by |scale|
    return np.asarray(est.value) * scale, float(est.op_se_bound) * abs(scale)


def cap_fraction(dim, radius):
    """Fraction of ``S^{dim-1}`` within Euclidean distance ``radius`` of a fixed point."""
    if radius >= 2:
        return 1.0
    if dim == 1:
        return 0.5  # the 0-sphere {-1, +1}: a cap of radius < 2 holds one of two points
    theta = 2 * math.asin(radius / 2)
    s2 = math.sin(theta) ** 2
    half = 0.5 * float(betainc((dim - 1) / 2, 0.5, s2))
    return half if theta <= math.pi / 2 else 1.0 - half


def random_net_size(dim, radius, delta):
    """Random points that form a ``radius``-net of ``S^{dim-1}`` with probability ``>= 1 - delta``.

    An optimal ``radius/2``-net has at most ``1 / cap(radius/4)`` points (disjoint caps); a
    random point falls within ``radius/2`` of a given one with probability ``p = cap(radius/2)``;
    ``ceil(ln(|net| / delta) / p)`` points leave every point of the optimal net covered with
    probability ``>= 1 - delta`` (union bound), and then every point of the sphere is within
    ``radius`` of a random point.
    """
    p = cap_fraction(dim, radius / 2)
    size = 1.0 / cap_fraction(dim, radius / 4)
    return max(1, math.ceil(math.log(max(size, 1.0) / delta) / -math.log1p(-p))) if p < 1 else 1


def _cube_net(dim, radius):
    # The faces of [-1, 1]^dim, each a grid of spacing s, pushed onto the sphere.  A unit x is
    # x_inf * (x / ||x||_inf), the latter on a face within s sqrt(dim-1)/2 of a grid point q;
    # normalising is 1-Lipschitz outside the unit ball, so ||x - q/|q||| <= s sqrt(dim-1)/2.
    if dim == 1:
        return np.array([[1.0], [-1.0]]), 0.0
    s = 2 * radius / math.sqrt(dim - 1)
    m = max(1, math.ceil(2 / s))
    ticks = np.linspace(-1.0, 1.0, m + 1)
    pts = []
    for axis in range(dim):
        for sign in (1.0, -1.0):
            grid = np.array(list(itertools.product(ticks, repeat=dim - 1)))
            face = np.insert(grid, axis, sign, axis=1)
            pts.append(face)
    P = np.unique(np.round(np.concatenate(pts), 12), axis=0)
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    return P, (2 / m) * math.sqrt(dim - 1) / 2


def sphere_net(dim, radius, rng=None, *, kind="cube", delta=0.01, max_points=2_000_000):
    """A ``radius``-net of the unit sphere of ``R^dim`` (points as rows) and its record.

    ``kind="cube"``: deterministic, the covering radius is certified (``<= radius``).
    ``kind="random"``: CN24's construction, :func:`random_net_size` uniform points, a
    ``radius``-net with probability ``>= 1 - delta``.  Raises ``ValueError`` if the net would
    exceed ``max_points`` (the brute force over it could not run).
    """
    if kind == "cube":
        s = 2 * radius / math.sqrt(max(dim - 1, 1))
        m = max(1, math.ceil(2 / s))
        estimate = 2 * dim * (m + 1) ** (dim - 1)
        if estimate > max_points:
            raise ValueError(
                f"sphere_net: a {radius:.3g}-net of S^{dim - 1} needs about {estimate:.3g} points > max_points={max_points}"
            )
        P, certified = _cube_net(dim, radius)
        return P, {
            "kind": "cube",
            "dim": dim,
            "radius": radius,
            "size": len(P),
            "certified_radius": certified,
        }
    if kind == "random":
        size = random_net_size(dim, radius, delta)
        if size > max_points:
            raise ValueError(
                f"sphere_net: a random {radius:.3g}-net of S^{dim - 1} needs {size} points > max_points={max_points}"
            )
        H = rng.standard_normal((size, dim))
        P = H / np.linalg.norm(H, axis=1, keepdims=True)
        return P, {
            "kind": "random",
            "dim": dim,
            "radius": radius,
            "size": size,
            "failure_probability": delta,
        }
    raise ValueError(f"sphere_net: kind must be 'cube' or 'random', got {kind!r}")


def weight_grid(R, spacing):
    """An evenly spaced grid of ``[-R, R]`` with step ``<= spacing`` that contains 0 and ``+-R``."""
    m = max(1, math.ceil(R / spacing))
    pos = R * np.arange(1, m + 1) / m  # pos[-1] = R exactly; built symmetric, so 0 is exactly 0
    return np.concatenate([-pos[::-1], [0.0], pos])


class CandidateScorer:
    """Exact validation losses of ``base(x) + sum_j lam_j act(<p_j, x>)`` over a fixed net.

    With ``A[a, j] = act(<p_j, x_a>)`` on the validation samples and ``r = y - base(X)``, the
    mean squared error of a candidate (subset ``S``, weights ``lam``) is
    ``r.r/n - 2 lam.b_S + lam^T G_SS lam`` with ``G = A^T A / n`` and ``b = A^T r / n``: one
    Gram matrix gives every candidate's loss.  (The same number as evaluating the candidate
    network on the validation samples, up to rounding; a test checks this.)
    """

    def __init__(self, X, residual, points, activation):
        if activation == "relu":
            A = np.maximum(X @ points.T, 0.0)
        elif activation == "abs":
            A = np.abs(X @ points.T)
        else:
            raise ValueError(f"CandidateScorer: activation must be 'relu' or 'abs', got {activation!r}")
        self.n = X.shape[0]
        self.points = points
        self.activation = activation
        self.A = A
        self.b = A.T @ residual / self.n
        self.rr = float(residual @ residual) / self.n
        self.diag = np.einsum("ij,ij->j", A, A) / self.n
        self.evaluated = 0
        self._G = None

    @property
    def G(self):
        """The full Gram matrix ``A^T A / n`` (formed on first use: ``O(n |net|^2)``)."""
        if self._G is None:
            self._G = self.A.T @ self.A / self.n
        return self._G

    def gram_rows(self, subset):
        """Rows ``G[subset, :]`` without forming ``G``."""
        if self._G is not None:
            return self._G[list(subset)]
        return self.A[:, list(subset)].T @ self.A / self.n

    def loss(self, subset, weights):
        subset = list(subset)
        lam = np.asarray(weights, dtype=float)
        self.evaluated += 1
        if not subset:
            return self.rr
        Gss = self.gram_rows(subset)[:, subset]
        return float(self.rr - 2 * lam @ self.b[subset] + lam @ Gss @ lam)

    def ls_weights(self, subset):
        """Least-squares weights for a subset (the practical departure ``ls_weights``)."""
        subset = list(subset)
        if not subset:
            return np.zeros(0)
        lam, *_ = np.linalg.lstsq(self.gram_rows(subset)[:, subset], self.b[subset], rcond=None)
        return lam


@dataclasses.dataclass
class SearchOutcome:
    """The result of a brute force: best candidate, loss, how many were scored, the first
    candidate (in enumeration order) whose loss met the threshold if one was given, and the
    ``top`` best candidates as ``(loss, subset, weights)`` sorted by loss."""

    subset: tuple
    weights: np.ndarray
    loss: float
    candidates: int
    first: tuple | None = None
    top: list = dataclasses.field(default_factory=list)


def count_candidates(n_points, grid_size, m_max):
    """``sum_{m <= m_max} C(n_points, m) grid_size^m``: the size of the papers' brute force."""
    return sum(math.comb(n_points, m) * grid_size**m for m in range(m_max + 1))


def _merge_top(top, losses, make, keep):
    if keep <= 0:
        return top
    flat = losses.ravel()
    count = min(keep, flat.size)
    idx = np.argpartition(flat, count - 1)[:count]
    top = top + [(float(flat[i]),) + make(i) for i in idx]
    top.sort(key=lambda item: item[0])
    return top[:keep]


def exhaustive_search(scorer, grid, m_max, *, threshold=None, stop_at_first=False, top=1, chunk=1 << 21):
    """Every candidate with ``m <= m_max`` distinct net points and weights on ``grid``.

    Enumeration order: ``m = 0, 1, ...``, subsets lexicographically, weights lexicographically.
    Returns the best (smallest loss) candidate and the ``top`` best; with ``threshold`` also the
    first whose loss is ``<= threshold`` (and with ``stop_at_first`` stops there, as CN24 step
    6 does).
    """
    grid = np.asarray(grid, dtype=float)
    npts = len(scorer.points)
    best = SearchOutcome((), np.zeros(0), scorer.rr, 1, top=[(scorer.rr, (), np.zeros(0))])
    first = ((), np.zeros(0), scorer.rr) if threshold is not None and scorer.rr <= threshold else None
    if first is not None and stop_at_first:
        best.first = first
        return best
    for m in range(1, m_max + 1):
        L = np.array(list(itertools.product(grid, repeat=m)))  # (g^m, m)
        batch = max(1, chunk // len(L))
        subsets = itertools.combinations(range(npts), m)
        while True:
            S = np.array(list(itertools.islice(subsets, batch)), dtype=int)
            if len(S) == 0:
                break
            bS = scorer.b[S]  # (B, m)
            GS = scorer.G[S[:, :, None], S[:, None, :]]  # (B, m, m)
            loss = scorer.rr - 2 * bS @ L.T + np.einsum("gi,bij,gj->bg", L, GS, L, optimize=True)
            best.candidates += loss.size
            scorer.evaluated += loss.size
            if threshold is not None and first is None:
                hits = np.argwhere(loss <= threshold)
                if len(hits):
                    bi, gi = hits[0]  # argwhere is row-major: first subset, then first weights
                    first = (
                        tuple(int(i) for i in S[bi]),
                        L[gi].copy(),
                        float(loss[bi, gi]),
                    )
                    if stop_at_first:
                        best.first = first
                        return best
            ncol = loss.shape[1]

            def make(i, S=S, L=L, ncol=ncol):
                return tuple(int(j) for j in S[i // ncol]), L[i % ncol].copy()

            best.top = _merge_top(best.top, loss, make, top)
    best.loss, best.subset, best.weights = best.top[0]
    best.first = first
    return best


def greedy_search(scorer, m_max):
    """Forward selection with least-squares weights (the practical departure ``greedy_search``).

    Adds, ``m_max`` times, the net point that most lowers the loss with refitted least-squares
    weights; returns the best prefix (``top`` holds every prefix, by loss).  ``O(m_max * |net|)``
    candidates instead of ``C(|net|, m) |grid|^m``, and only ``m_max`` rows of the Gram matrix.
    """
    chosen = []
    rows = np.zeros((0, len(scorer.points)))
    best = SearchOutcome((), np.zeros(0), scorer.rr, 1)
    npts = len(scorer.points)
    for _ in range(m_max):
        mask = np.ones(npts, dtype=bool)
        mask[chosen] = False
        rest = np.flatnonzero(mask)
        if len(rest) == 0:
            break
        m = len(chosen) + 1
        GS = np.empty((len(rest), m, m))
        GS[:, :-1, :-1] = rows[:, chosen] if chosen else np.zeros((0, 0))
        GS[:, :-1, -1] = rows[:, rest].T
        GS[:, -1, :-1] = rows[:, rest].T
        GS[:, -1, -1] = scorer.diag[rest]
        bS = np.concatenate([np.tile(scorer.b[chosen], (len(rest), 1)), scorer.b[rest][:, None]], axis=1)
        ridge = 1e-12 * np.maximum(np.trace(GS, axis1=1, axis2=2), 1e-300)[:, None, None] * np.eye(m)
        lam = np.linalg.solve(GS + ridge, bS[:, :, None])[:, :, 0]
        loss = scorer.rr - 2 * np.sum(lam * bS, axis=1) + np.einsum("bi,bij,bj->b", lam, GS, lam)
        best.candidates += len(rest)
        scorer.evaluated += len(rest)
        j = int(np.argmin(loss))
        chosen = chosen + [int(rest[j])]
        rows = np.concatenate([rows, scorer.gram_rows([int(rest[j])])])
        best.top.append((float(loss[j]), tuple(chosen), lam[j].copy()))
        if loss[j] < best.loss:
            best.subset, best.weights, best.loss = (
                tuple(chosen),
                lam[j].copy(),
                float(loss[j]),
            )
    best.top.sort(key=lambda item: item[0])
    return best


def abs_form_network(linear, weights, directions):
    """``<w,x> + sum_j lam_j |<u_j,x>|`` as a :class:`ReLUNetwork` (``|z| = relu(z) + relu(-z)``)."""
    d = len(linear)
    U = np.asarray(directions, dtype=float).reshape(-1, d)
    lam = np.asarray(weights, dtype=float)
    if len(lam) == 0:  # no neurons: one neuron with weight 0 (a ReLUNetwork has k >= 1)
        return ReLUNetwork(np.eye(1, d), [0.0], linear)
    return ReLUNetwork(np.concatenate([U, -U]), np.concatenate([lam, lam]), linear)


class Tracer:
    """Collects :class:`~verified_relu.learners.TraceStep` records; with ``progress`` also
    reports a one-line summary of each (:func:`verified_relu._progress.reporter`: on stderr as
    ``[method] name: ...``, or passed to a callable as ``name: ...``)."""

    def __init__(self, method, progress=False):
        self.method = method
        self.progress = progress
        self.steps = []

    def __call__(self, name, **data):
        from .._provenance import jsonable
        from .result import TraceStep

        step = TraceStep(name, jsonable(data))
        self.steps.append(step)
        if self.progress:
            from .._progress import reporter

            brief = ", ".join(f"{k}={_brief(v)}" for k, v in list(step.data.items())[:6])
            reporter(self.progress, self.method)(f"{name}: {brief}")
        return step

    def add(self, step):
        """Append a ready-made step (a typed record of :mod:`verified_relu.learners.records`)."""
        self.steps.append(step)
        return step


def _brief(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return f"[{len(value)} items]"
    if isinstance(value, dict):
        return "{...}"
    return repr(value) if isinstance(value, str) else str(value)
