"""NETLEARN of Chen and Narayanan (COLT 2024; "CN24"), Algorithm 1, with an audit trace.

The target is written in the ``|.|`` form of CN24 Lemma 2 (digest 1.2),
``f(x) = <w, x> + sum_i lambda_i |<u_i, x>|`` with unit ``u_i``; a network
``sum_i mu_i relu(<w_i, x>)`` has ``w = sum_i mu_i w_i / 2`` and ``lambda_i = mu_i ||w_i|| / 2``.
Hermite convention: ``h_m = He_m / sqrt(m!)``, ``S_l`` the normalized Hermite tensor and
``c_l = E[relu(G) h_l(G)]``, so ``T_l = E[y S_l(x)] / (2 c_l) = sum_i lambda_i u_i^{(x)l}`` for
even ``l >= 2`` and ``E[y x] = w`` (digest 1.3).

Steps of CN24 Alg. 1 (each a trace step):

1. ``split`` -- ``N`` moment samples and ``N_val`` fresh validation samples (step 5).
2. ``direction`` -- ``g`` uniform on ``S^{d-1}``.  CN24 conditions ``g`` on Lemma 5 (= CDGKM
   Lemmas 3-4); that needs the unknown ``u_i``, so ``g`` is drawn unconditioned (the events hold
   with probability ``>= 7/10``) and, when a ``teacher`` is given, the margins are *reported*
   (the teacher never changes ``g``).
3. ``linear_term`` -- ``w_hat = E_N[y x]`` (``l = 1``).
4. ``moments`` -- ``M_hat_l = T_hat_l(g, ..., g, :, :)`` for ``l in {2, 4, ..., 2k^2 + 2}``;
   ``Pi_l`` the projector on eigenvectors with ``|eigenvalue| >= eta'`` (step 2).
5. ``subspace`` -- ``V`` = eigenvectors of ``sum_l Pi_l`` with eigenvalue ``>= nu`` (step 3;
   Lemma 13: ``dim V <= k``).
6. ``audit`` (teacher only) -- ``<u_i, g>``, CN's clusters at scale ``Delta``, ``dist(u_i, V)``
   next to the bound of Lemma 15 / Cor. 16 (every ``O(.)`` set to 1), ``dim V`` against Lemma 13.
7. ``net`` -- a ``xi/2``-net of the unit sphere of ``V`` and the ``xi``-grid of ``[-R, R]`` (step 4).
8. ``search`` -- for ``m = 0..k`` every candidate; the first whose validation MSE is
   ``<= eps^2/2`` is returned, else Fail (step 6-7).  Scored exactly from one Gram matrix
   (:class:`~verified_relu.learners._paper.CandidateScorer`).

Parameters follow CN24 Eq. (35) (digest 3.3): ``tau = C eps/k``, ``xi = C eps/(k R)``,
``Delta = C^2 xi^2 tau eps / (2 k^4 d^{3/2} R)``, ``eta' = nu = C^2 xi^2 tau Delta^{a} / (d R)``
(``a = O(k^2)``, field ``delta_exponent``), ``eta = eta'^2``, ``N = (kd)^{b} R^2 / eta^2``
(``b = O(k^2)``, field ``n_exponent``), ``N_val = (kR/eps)^4 log(kR/eps)``.

Named departures (all off in :meth:`NetlearnParams.from_theory`, listed by
:meth:`NetlearnParams.departures`):

``ls_weights``
    least-squares output weights for each subset of net points instead of the ``xi``-grid.
``greedy_search``
    forward selection over the net (``O(k |net|)`` candidates) instead of the exhaustive search;
    accepts the best prefix if its loss is ``<= eps^2/2``.
``refine``
    Levenberg-Marquardt on all parameters (moment samples) from the accepted/best candidate;
    the refined network is kept when its validation loss is lower; while the loss stays above
    ``eps^2/2``, up to ``refine_starts - 1`` restarts from greedy searches over randomly rotated
    copies of the net.
``noise_thresholds``
    ``eta`` := ``noise_sigma`` times the measured operator-norm standard error of ``M_hat_l``
    (the Gaussian-approximation bound on ``E||M_hat_l - M_l||_op``), and the thresholds are
    ``eta'_l = eta_l^{1/2}`` (the paper's ``eta = eta'^2`` run backwards) or, with
    ``noise_relation="linear"``, ``eta'_l = eta_l``; ``nu`` = the smallest ``eta'_l``.
``max_degree``
    only the degrees ``2, 4, ..., max_degree`` (< ``2k^2 + 2``).
``reduce_dim``
    ``dim V = k`` exactly: eigenspaces of ``sum_l Pi_l`` largest eigenvalue first; a level that
    does not fit whole, and the shortfall when fewer than ``k`` directions clear ``nu``, are
    filled by the top eigenvectors of the signal-to-noise matrix ``sum_l (M_hat_l / eta_l)^2``
    restricted to that eigenspace (trace: ``filled_by_snr``).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import ClassVar

import numpy as np

from .. import _mp
from .._lm import LM_ATOL, levenberg_marquardt
from .._validation import NONE, Interval, Options, Sequence, check_params
from ..network import ReLUNetwork
from . import records
from ._paper import (
    CandidateScorer,
    Tracer,
    abs_form_network,
    anticoncentration,
    count_candidates,
    draw_direction,
    exhaustive_search,
    greedy_search,
    normalized_contraction,
    sphere_net,
    teacher_directions,
    weight_grid,
)

__all__ = ["NetlearnParams", "fit", "theory_chain", "validate"]

METHOD = "netlearn"
DEPARTURES = ("ls_weights", "greedy_search", "refine", "noise_thresholds", "max_degree", "reduce_dim")


def theory_chain(ctx, d, k, eps, R, C, delta_exponent, n_exponent):
    """CN24 Eq. (35) with the ``O(.)`` of the exponents given and every other ``O(.)`` set to 1.

    Exact in the mpmath context ``ctx`` (its precision is the caller's; nothing global is
    touched).  Returns a dict of ``ctx.mpf``: ``tau, xi, Delta, eta_prime, nu, eta, N, N_val``.
    With ``delta_exponent = n_exponent = k^2`` this is ``proofs_checks.cn._cn_chain``.
    """
    d, k, eps, R, C = (ctx.mpf(v) for v in (d, k, eps, R, C))
    tau = C * eps / k
    xi = C * eps / (k * R)
    Delta = C**2 * xi**2 * tau * eps / (2 * k**4 * d ** ctx.mpf(1.5) * R)
    eta_prime = C**2 * xi**2 * tau * Delta ** ctx.mpf(delta_exponent) / (d * R)
    eta = eta_prime**2
    N = (k * d) ** ctx.mpf(n_exponent) * R**2 / eta**2
    q = k * R / eps
    N_val = q**4 * ctx.log(q)
    return {
        "tau": tau,
        "xi": xi,
        "Delta": Delta,
        "eta_prime": eta_prime,
        "nu": eta_prime,
        "eta": eta,
        "N": N,
        "N_val": N_val,
    }


@dataclasses.dataclass(frozen=True)
class NetlearnParams:
    """Parameters of NETLEARN (CN24 Alg. 1, Eq. (35)); see the module docstring.

    eps, R : target L2 error and the bound ``||lambda||_1 <= R``.  ``eps=None`` (practical
        profile only): ``eps = eps_rel * rms(y)`` on the moment samples.  ``R=None``: allowed
        only with ``ls_weights`` and ``noise_thresholds`` (the only uses of ``R`` are the weight
        grid and the theory thresholds).
    C : the absolute constant of Eq. (35).
    tau, xi, Delta, eta_prime, nu, eta : the chain of Eq. (35); ``None`` = computed from
        ``eps, R, C`` at fit time (``xi`` given alone is the net radius ``xi/2``'s double).
    N, N_val : moment and validation sample counts; ``None`` = split the given samples with
        ``validation_fraction``.
    degrees : the contraction orders ``2, 4, ..., 2k^2 + 2``.
    delta_exponent, n_exponent : the exponents written ``O(k^2)`` in Eq. (35).
    net_kind : ``"random"`` (CN24 §4.5, a net w.p. ``1 - net_delta``) or ``"cube"`` (certified).
    noise_sigma, noise_relation : see departure ``noise_thresholds``.
    refine_iterations, refine_samples, refine_starts : budget of departure ``refine`` (LM steps,
        moment samples used, and starts: the search's candidate, then -- while the validation
        loss is above ``eps^2/2`` and with ``greedy_search`` -- greedy searches over randomly
        rotated copies of the net).
    max_net_points, max_candidates : refuse (``ValueError``) nets / searches beyond these sizes.
    """

    eps: object = None
    R: object = None
    C: float = 1.0
    tau: object = None
    xi: object = None
    Delta: object = None
    eta_prime: object = None
    nu: object = None
    eta: object = None
    N: object = None
    N_val: object = None
    degrees: tuple = (2,)
    delta_exponent: float = 0.0
    n_exponent: float = 0.0
    net_kind: str = "random"
    net_delta: float = 0.01
    eps_rel: float = 0.02
    validation_fraction: float = 0.2
    noise_sigma: float = 1.0
    noise_relation: str = "sqrt"
    refine_iterations: int = 100
    refine_samples: int = 20000
    refine_starts: int = 3
    max_net_points: int = 200_000
    max_candidates: float = 5e8
    ls_weights: bool = False
    greedy_search: bool = False
    refine: bool = False
    noise_thresholds: bool = False
    max_degree: bool = False
    reduce_dim: bool = False

    #: Declared constraints of the fields (:func:`verified_relu._validation.check_params`); what
    #: depends on ``k`` and the data (the degree prefix, the sample counts) is checked in
    #: :func:`validate`.
    _constraints: ClassVar[dict] = {
        **{
            name: [NONE, Interval("real", 0, None, closed="neither")]
            for name in (
                "eps",
                "R",
                "tau",
                "xi",
                "Delta",
                "eta_prime",
                "nu",
                "eta",
                "C",
                "eps_rel",
                "noise_sigma",
                "net_delta",
            )
        },
        "validation_fraction": [Interval("real", 0, 1, closed="neither")],
        "net_kind": [Options("random", "cube")],
        "noise_relation": [Options("sqrt", "linear")],
        "degrees": [Sequence(Interval("int", 2))],
        "refine_iterations": [Interval("int", 0)],
        **{name: [Interval("int", 1)] for name in ("refine_samples", "refine_starts", "max_net_points")},
    }

    @staticmethod
    def full_degrees(k):
        """``(2, 4, ..., 2k^2 + 2)``: the ``k^2 + 1`` orders of CN24 Alg. 1 step 1."""
        return tuple(range(2, 2 * k * k + 3, 2))

    @classmethod
    def from_theory(cls, d, k, eps, R, delta=0.1, *, C=0.1, dps=30):
        """Eq. (35) exactly (mpmath context at ``dps`` digits; every ``O(.)`` set to 1, the
        ``O(k^2)`` exponents set to ``k^2``), no departures, the random net of CN24 §4.5 with
        failure probability ``delta``.  ``C = 0.1`` as in ``proofs_checks.cn``."""
        ctx = _mp.context(int(dps), guard=0)
        ch = theory_chain(ctx, d, k, eps, R, C, k * k, k * k)
        return cls(
            eps=float(eps),
            R=float(R),
            C=float(C),
            tau=ch["tau"],
            xi=ch["xi"],
            Delta=ch["Delta"],
            eta_prime=ch["eta_prime"],
            nu=ch["nu"],
            eta=ch["eta"],
            N=ctx.ceil(ch["N"]),
            N_val=ctx.ceil(ch["N_val"]),
            degrees=cls.full_degrees(k),
            delta_exponent=k * k,
            n_exponent=k * k,
            net_kind="random",
            net_delta=float(delta),
        )

    @classmethod
    def practical(cls, d, k, **kw):
        """Scaled constants that run in seconds.

        Without keywords: every departure on (see the module docstring), degrees ``2, 4``
        (``2, 4, 6`` for ``k >= 3``), ``eps = 0.02 rms(y)``, net radius ``xi/2 = 0.25``, cube net,
        ``R`` unused.  Pass ``faithful=True`` for no departures (then ``eps`` and ``R`` are
        required, the full degree list is used, the chain of Eq. (35) with exponents 0 and
        ``C = 1`` gives ``tau, xi, Delta``, and ``eta_prime`` / ``nu`` / ``N`` / ``N_val`` should
        be given for the sample size at hand).

        Measured with ``benchmarks/bench_paper_rows.py`` (docs/benchmarks.md, "The papers'
        learners: faithful, paper steps, final"; noiseless; families random / close_pair /
        orthonormal / dkkz; ``d in {8, 16}``, ``k in {2, 3, 4}``; ``n = 10000``; 20 seeds x 5 row
        permutations), against the paper's eps (``0.02 rms(y)`` here): the paper's steps alone
        (``checkpoints["paper"]``) reach it in no run of any cell; with the refinement departure
        the final network reaches it in every run except close_pair at ``k >= 3`` (85 to 95 of
        100).  Median time per run under 1.3 s with one BLAS thread.
        """
        faithful = kw.pop("faithful", False)
        if faithful:
            base = {"degrees": cls.full_degrees(k), "net_kind": "cube"}
        else:
            base = {
                "degrees": (2, 4, 6) if k >= 3 else (2, 4),
                "xi": 0.5,
                "net_kind": "cube",
                "noise_relation": "sqrt",
                "noise_sigma": 1.0,
                "ls_weights": True,
                "greedy_search": True,
                "refine": True,
                "noise_thresholds": True,
                "max_degree": True,
                "reduce_dim": True,
            }
        base.update(kw)
        return cls(**base)

    def departures(self):
        """Names of the departures from CN24 Alg. 1 that are switched on."""
        return [name for name in DEPARTURES if getattr(self, name)]


def _fail(name, expected, value):
    raise ValueError(f"learn (method='netlearn'): {name} must be {expected}, got {value!r}")


def _needed_counts(params, n):
    """``(N, N_val)`` for ``n`` samples (exact integers or mpmath numbers from the profile)."""
    if params.N_val is not None:
        n_val = params.N_val
    else:
        n_val = max(1, math.ceil(params.validation_fraction * n))
    n_mom = params.N if params.N is not None else n - n_val
    return n_mom, n_val


def validate(params, n, d, k):
    """Check ``params`` against the data shape before any work; ``ValueError`` names the argument."""
    if not isinstance(params, NetlearnParams):
        raise TypeError(f"learn (method='netlearn'): params must be a NetlearnParams, got {type(params).__name__}")
    check_params(params, params._constraints, "learn (method='netlearn')")
    if params.eps is None and not params.noise_thresholds:
        _fail("eps", "given (eps=None is the practical profile's data-relative eps; it needs noise_thresholds)", None)
    if params.R is None and not (params.ls_weights and params.noise_thresholds):
        _fail(
            "R",
            "given unless both ls_weights and noise_thresholds are on (R sets the weight grid and thresholds)",
            None,
        )
    degs = tuple(params.degrees)
    if any(l % 2 for l in degs):
        _fail("degrees", "a non-empty tuple of even ints >= 2", params.degrees)
    full = NetlearnParams.full_degrees(k)
    if degs != full[: len(degs)]:
        _fail("degrees", f"a prefix of {full} (2, 4, ..., 2k^2+2 for k = {k})", params.degrees)
    if len(degs) < len(full) and not params.max_degree:
        _fail("degrees", f"all of {full} unless the departure max_degree is on", params.degrees)
    n_mom, n_val = _needed_counts(params, n)
    if n_mom + n_val > n or n_mom < 1 or n_val < 1:
        raise ValueError(
            f"learn (method='netlearn'): n = {n} samples are too few: the profile needs N + N_val = "
            f"{n_mom} + {n_val} = {n_mom + n_val} (CN24 Eq. (35))"
        )
    if n_mom < d + 1:
        raise ValueError(f"learn (method='netlearn'): N = {n_mom} moment samples are too few for d = {d} (need > d)")


# ----------------------------------------------------------------------------------------------
def _resolve(params, d, k, y_mom):
    """Float values of the chain for this run (Eq. (35) with the profile's constants)."""

    eps = float(params.eps) if params.eps is not None else params.eps_rel * float(np.sqrt(np.mean(y_mom * y_mom)))
    R = None if params.R is None else float(params.R)
    out = {"eps": eps, "R": R}
    if R is not None:
        ctx = _mp.context(30, guard=0)
        ch = theory_chain(ctx, d, k, eps, R, params.C, params.delta_exponent, params.n_exponent)
        out.update({key: float(v) for key, v in ch.items()})
    else:
        out.update({"tau": params.C * eps / k, "xi": None, "Delta": None, "eta_prime": None, "nu": None, "eta": None})
    for key in ("tau", "xi", "Delta", "eta_prime", "nu", "eta"):
        v = getattr(params, key)
        if v is not None:
            out[key] = float(v)
    if params.nu is None and params.eta_prime is not None:
        out["nu"] = float(params.eta_prime)  # Eq. (35): nu = eta'
    if out["xi"] is None:
        out["xi"] = params.C * eps / k
    return out


def _clusters(z, Delta):
    """CN24 §3 clustering at scale ``Delta`` of ``z_i = |<u_i, g>|``: index groups (sorted)."""
    order = np.argsort(z)
    groups, cur = [], [int(order[0])]
    for a, b in itertools.pairwise(order):
        if z[b] - z[a] > Delta:
            groups.append(cur)
            cur = []
        cur.append(int(b))
    groups.append(cur)
    return groups


def _audit(teacher, g, V, k, d, ch, n_degrees, etas):
    """Ground-truth quantities of Lemmas 5, 13, 15 / Cor. 16 (never used to learn)."""
    U, lam = teacher_directions(teacher)
    l1 = float(np.abs(lam).sum())
    z = np.abs(U @ g)
    Delta, tau, nu, eta_p = ch["Delta"] or 0.0, ch["tau"], ch["nu"], ch["eta_prime"]
    groups = _clusters(z, Delta)
    big = {i for grp in groups if abs(lam[grp].sum()) > tau for i in grp}
    resid = U - (U @ V) @ V.T if V.shape[1] else U
    dist = np.linalg.norm(resid, axis=1)
    bound = None
    if Delta > 0 and nu is not None and eta_p is not None:
        # Lemma 15 / Cor. 16 with every O(.) = 1: sqrt((1/tau)[(1/Delta)^{k^2} d (l1 nu + eta') + l1 k^3 d^{3/2} Delta])
        with np.errstate(over="ignore"):
            inner = (1 / Delta) ** (k * k) * d * (l1 * nu + eta_p) + l1 * k**3 * d**1.5 * Delta
        bound = math.sqrt(inner / tau) if math.isfinite(inner) else math.inf
    eta = max(etas) if etas else None
    lemma13 = None
    if eta is not None and eta_p and nu:
        lemma13 = k + d * k * k * (eta / eta_p) ** 2 / nu
    return {
        "v": (U @ g).tolist(),
        "anticoncentration": anticoncentration(g, U, k),
        "lambda": lam.tolist(),
        "lambda_l1": l1,
        "clusters": groups,
        "cluster_weights": [float(lam[grp].sum()) for grp in groups],
        "big": sorted(big),
        "dist_to_V": dist.tolist(),
        "lemma15_bound": bound,
        "xi_over_4": ch["xi"] / 4,
        "dim_V": int(V.shape[1]),
        "lemma13_bound": lemma13,
        "lemma13_note": "dim V <= k + d k^2 (eta/eta')^2 / nu with eta the largest measured op-norm SE",
    }


def _ls_exhaustive(scorer, m_max, threshold, max_candidates):
    """Every subset of ``<= m_max`` net points with least-squares weights (departure ``ls_weights``)."""
    best = ((), np.zeros(0), scorer.rr)
    count = 1
    if scorer.rr <= threshold:
        return best, best, count
    npts = len(scorer.points)
    for m in range(1, m_max + 1):
        for S in itertools.combinations(range(npts), m):
            lam = scorer.ls_weights(S)
            loss = scorer.loss(S, lam)
            count += 1
            if loss < best[2]:
                best = (S, lam, loss)
            if loss <= threshold:
                return best, (S, lam, loss), count
            if count > max_candidates:
                return best, None, count
    return best, None, count


def _relu_form(w_hat, lam, U, k, d, gen):
    """``<w,x> + sum lam_j |<u_j,x>|`` as ``k`` relu neurons plus a linear term, padded with zero-weight neurons."""
    m = len(lam)
    W = np.zeros((k, d))
    mu = np.zeros(k)
    if m:
        W[:m] = U
        mu[:m] = 2 * np.asarray(lam)
    for j in range(m, k):
        v = gen.standard_normal(d)
        W[j] = v / np.linalg.norm(v)
    a = np.asarray(w_hat) - (np.asarray(lam) @ U if m else 0.0)
    return W, mu, a


def _reduce_dim(svals, svecs, nu, snr, k):
    """Departure ``reduce_dim``: a ``k``-dimensional ``V`` from the spectrum of ``sum_l Pi_l``.

    Eigenspaces are taken level by level (eigenvalues rounded to 1e-9, largest first); inside a
    level that does not fit whole, and for the shortfall below ``nu`` (the level-0 eigenspace
    when fewer than ``k`` directions clear the thresholds), the directions are the top
    eigenvectors of the signal-to-noise matrix ``sum_l (M_hat_l / eta_l)^2`` restricted to that
    eigenspace.  Returns ``(V, number of directions below nu)``.
    """
    levels = np.round(svals, 9)
    cols, filled = [], 0
    for level in sorted(set(levels.tolist()), reverse=True):
        need = k - sum(c.shape[1] for c in cols)
        if need <= 0:
            break
        B = svecs[:, levels == level]
        if B.shape[1] > need:
            vals, vecs = np.linalg.eigh(B.T @ snr @ B)
            B = B @ vecs[:, np.argsort(-vals)[:need]]
        cols.append(B)
        if level < nu:
            filled += B.shape[1]
    return np.hstack(cols), filled


def _moment_matrices(Xm, ym, g, params, ch):
    """CN24 Alg. 1 step 1: the contracted moment matrices ``M_l`` of every degree, their
    eigenvalue thresholds and projections onto the kept eigenvectors; also the summed squared
    signal-to-noise matrix used by the ``reduce_dim`` departure."""
    d = Xm.shape[1]
    rows, projs, etas, snr = [], [], [], np.zeros((d, d))
    for l in params.degrees:
        M, se = normalized_contraction(Xm, ym, l, g)
        se = abs(se)  # 1/(2 c_l) < 0 for l = 0 mod 4
        vals, vecs = np.linalg.eigh(M)
        if params.noise_thresholds:
            eta_l = params.noise_sigma * se
            thr = math.sqrt(eta_l) if params.noise_relation == "sqrt" else eta_l
        else:
            eta_l, thr = ch["eta"], ch["eta_prime"]
        keep = np.abs(vals) >= thr
        projs.append(vecs[:, keep] @ vecs[:, keep].T)
        etas.append(eta_l)
        if se > 0:
            snr += (M / se) @ (M / se)
        order = np.argsort(-np.abs(vals))
        rows.append(
            {"l": l, "eigenvalues": vals[order], "op_se": se, "eta": eta_l, "eta_prime": thr, "rank": int(keep.sum())}
        )
    return rows, projs, etas, snr


def _subspace(rows, projs, snr, params, ch, k):
    """CN24 Alg. 1 steps 2-3: ``V``, the eigenvectors of ``sum_l P_l`` with eigenvalue ``>= nu``."""
    S = np.sum(projs, axis=0)
    svals, svecs = np.linalg.eigh(S)
    nu = min(r["eta_prime"] for r in rows) if params.noise_thresholds else ch["nu"]
    sel = np.flatnonzero(svals >= nu)
    filled = 0
    if params.reduce_dim and len(sel) != k:
        V, filled = _reduce_dim(svals, svecs, nu, snr, k)
    else:
        V = svecs[:, sel]
    return V, nu, svals, filled


def _search(scorer, n_points, grid, params, k, threshold):
    """CN24 Alg. 1 step 6 (or a departure's search): ``(kind, candidates, first, best)`` with
    ``first`` the first candidate under ``threshold`` (None if none) and ``best`` the lowest."""
    if params.greedy_search:
        out = greedy_search(scorer, min(k, n_points))
        best = (out.subset, np.asarray(out.weights), out.loss)
        return "greedy (least-squares weights)", out.candidates, best if out.loss <= threshold else None, best
    if params.ls_weights:
        best, first, count = _ls_exhaustive(scorer, min(k, n_points), threshold, params.max_candidates)
        return "exhaustive over subsets, least-squares weights", count, first, best
    # CN24 step 6 in its own order (m = 0, 1, ...), one size cap at a time so a search that
    # would exceed max_candidates stops with Fail instead of running for hours
    kind, count, first, best = "exhaustive (CN24 step 6)", 0, None, ((), np.zeros(0), scorer.rr)
    for cap in range(min(k, n_points) + 1):
        if count_candidates(n_points, len(grid), cap) > params.max_candidates:
            kind += f"; stopped before m = {cap}: {count_candidates(n_points, len(grid), cap):.3g} candidates > max_candidates"
            break
        out = exhaustive_search(scorer, grid, cap, threshold=threshold, stop_at_first=True)
        count = out.candidates
        if out.loss < best[2]:
            best = (out.subset, np.asarray(out.weights), out.loss)
        if out.first is not None:
            first = out.first
            break
    return kind, count, first, best


def _refine(network, val_loss, lam, U, w_hat, P, V, Xm, ym, Xv, yv, resid, k, rng, params, threshold, tr):
    """The ``refine`` departure: Levenberg-Marquardt from the search's network (and, for the greedy
    search still above ``eps^2/2``, from searches over randomly rotated nets); a refinement is
    kept only when it lowers the validation loss.  Returns ``(network, val_loss, refined)``."""
    d = Xm.shape[1]
    dimV = V.shape[1]
    nr = min(len(ym), params.refine_samples)
    scale = float(np.mean(ym[:nr] ** 2)) or 1.0
    attempts, refined = [], False
    for r in range(params.refine_starts):
        if r == 0:
            lam_r, U_r = lam, U
        else:
            # restart only if still above eps^2/2: the greedy search over the net rotated by a
            # uniformly random rotation of V (another xi/2-net of the same sphere)
            if val_loss <= threshold or not params.greedy_search or dimV == 0:
                break
            Q = np.linalg.qr(rng.standard_normal((dimV, dimV)))[0]
            pts = (P @ Q) @ V.T
            o = greedy_search(CandidateScorer(Xv, resid, pts, "abs"), min(k, len(pts)))
            lam_r = np.asarray(o.weights, dtype=float)
            U_r = pts[list(o.subset)] if o.subset else np.zeros((0, d))
        W0, mu0, a0 = _relu_form(w_hat, lam_r, U_r, k, d, rng)
        res = levenberg_marquardt(
            Xm[:nr], ym[:nr], W0, mu0, a0, max_iter=params.refine_iterations, atol=LM_ATOL * scale
        )
        cand = ReLUNetwork(res.W, res.mu, res.a) if np.all(np.linalg.norm(res.W, axis=1) > 0) else None
        cand_loss = float(np.mean((yv - cand(Xv)) ** 2)) if cand is not None else math.inf
        kept = cand_loss < val_loss
        attempts.append(
            {
                "start": r,
                "iterations": res.iterations,
                "reason": res.reason,
                "train_loss": res.loss,
                "validation_loss": cand_loss,
                "kept": kept,
            }
        )
        if kept:
            network, val_loss, refined = cand, cand_loss, True
    tr("refine", attempts=attempts, kept=refined, samples=nr)
    return network, val_loss, refined


def fit(X, y, k, rng, params, *, teacher=None, progress=False):
    """Run CN24 Alg. 1 (with the departures switched on); returns
    ``(network, success, message, trace, diagnostics)``.  ``teacher`` only feeds the audit."""
    n, d = X.shape
    tr = Tracer(METHOD, progress)
    n_mom, n_val = (int(v) for v in _needed_counts(params, n))
    perm = rng.permutation(n)
    mom, val = perm[:n_mom], perm[n_mom : n_mom + n_val]
    Xm, ym, Xv, yv = X[mom], y[mom], X[val], y[val]
    ch = _resolve(params, d, k, ym)
    eps = ch["eps"]
    threshold = eps * eps / 2
    tr("split", N=n_mom, N_val=n_val, unused=n - n_mom - n_val, chain=ch, threshold=threshold)

    g, grec = draw_direction(d, k, rng)  # never conditioned on the teacher
    tr("direction", g=g, record=grec)
    w_hat, w_se = normalized_contraction(Xm, ym, 1, g)
    tr("linear_term", w_hat=w_hat, se=w_se)

    rows, projs, etas, snr = _moment_matrices(Xm, ym, g, params, ch)
    tr("moments", degrees=list(params.degrees), matrices=rows)
    tr.add(
        records.spectrum(
            "moment_spectra",
            "netlearn: moment matrices M_l",
            [(f"l={r['l']}", r["eigenvalues"], r["eta_prime"], "threshold eta'_l") for r in rows],
        )
    )
    V, nu, svals, filled = _subspace(rows, projs, snr, params, ch, k)
    dimV = V.shape[1]
    tr("subspace", spectrum=svals[::-1], nu=nu, dim_V=dimV, k=k, filled_by_snr=filled, basis=V.T)
    if dimV:
        tr.add(records.basis("subspace_basis", V.T, f"CN24's subspace V (dim {dimV})"))
    if teacher is not None:
        tr("audit", **_audit(teacher, g, V, k, d, {**ch, "nu": nu}, len(projs), etas))

    xi = ch["xi"]
    if dimV:
        P, net = sphere_net(
            dimV, xi / 2, rng, kind=params.net_kind, delta=params.net_delta, max_points=params.max_net_points
        )
        points = P @ V.T
    else:
        P, points, net = None, np.zeros((0, d)), {"kind": params.net_kind, "dim": 0, "size": 0}
    grid = None if params.ls_weights else weight_grid(ch["R"], xi)
    total = count_candidates(len(points), len(grid), k) if grid is not None else None
    tr("net", net=net, grid_size=None if grid is None else len(grid), R=ch["R"], xi=xi, exhaustive_candidates=total)

    resid = yv - Xv @ w_hat
    scorer = CandidateScorer(Xv, resid, points.reshape(-1, d), "abs")
    kind, count, first, best = _search(scorer, len(points), grid, params, k, threshold)
    chosen = first if first is not None else best
    subset, lam, loss = tuple(chosen[0]), np.asarray(chosen[1], dtype=float), float(chosen[2])
    U = points[list(subset)] if subset else np.zeros((0, d))
    tr(
        "search",
        kind=kind,
        candidates=count,
        scored_total=scorer.evaluated,
        accepted=first is not None,
        subset=subset,
        weights=lam,
        validation_loss=loss,
        threshold=threshold,
    )

    network = abs_form_network(w_hat, lam, U)
    checkpoints = {"paper": network}  # the paper's steps alone: nothing below changes what came before
    val_loss = float(np.mean((yv - network(Xv)) ** 2))
    refined = False
    if params.refine and params.refine_iterations > 0:
        network, val_loss, refined = _refine(
            network, val_loss, lam, U, w_hat, P, V, Xm, ym, Xv, yv, resid, k, rng, params, threshold, tr
        )
        checkpoints["refine"] = network
    success = bool(val_loss <= threshold)
    message = f"validation MSE {val_loss:.3e} {'<=' if success else '>'} eps^2/2 = {threshold:.3e}" + (
        "" if success else ": Fail (CN24 Alg. 1 step 7)"
    )
    tr("validation", mse=val_loss, threshold=threshold, success=success)
    diagnostics = {
        "validation_mse": val_loss,
        "threshold": threshold,
        "eps": eps,
        "dim_V": int(dimV),
        "net_size": len(points),
        "candidates": int(count),
        "n_moment": n_mom,
        "n_validation": n_val,
        "refined": refined,
        "search_loss": loss,
        "checkpoints": checkpoints,
    }
    return network, success, message, tr.steps, diagnostics
