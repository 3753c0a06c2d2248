"""MULTISCALELEARN (Chen, Dou, Goel, Klivans, Meka, COLT 2023), run step by step.

The algorithm of digest Sec. 2.5, with its nondeterministic choice made explicit:

1. ``g`` uniform on ``S^{d-1}``; with ground truth the events of Lemmas 3-4 are checked and
   ``g`` redrawn if they fail (:func:`~verified_relu.learners._paper.draw_direction`).
2. A **computation path** is a sequence of rounds; each round, from the network ``f_hat``
   learned so far,

   * computes the residual moments of degrees ``1, 2, 4, ..., 2k+2`` and the contractions
     ``M_hat_l = T_hat_l(g, ..., g, :, :)`` (``T_l = E[(y - f_hat) S_l] / (2 c_l)``, Lemma 8);
   * forms the **Case 1** candidate (Lemma 10): from ``A = 2 E[r x] ~ (lam_+ - lam_-) u`` and
     ``B = sqrt(2 pi) E[r (x x^T - I)] ~ (lam_+ + lam_-) u u^T``: ``u`` the top eigenvector of
     ``B`` oriented by ``A``, ``lam_+- = (s +- <A, u>) / 2`` with ``s`` its eigenvalue (the
     paper's ``B g / <u, g>`` is the same vector, and ``|<u, g>|`` is recorded); half-neurons
     with ``||lam_+- u|| <= omega`` are dropped;
   * forms ``V`` = span of the top-``k`` singular subspaces of the ``M_hat_l`` (``l >= 2``),
     an ``upsilon``-net of its unit sphere and the weight grid, and the **Case 2** candidates:
     ``m <= k`` net points with grid weights, added to ``f_hat``;
   * scores every candidate by its validation MSE (fresh samples, Lemma 20).

   The choices (a) Case 1, (b) a Case-2 candidate, (c) break, are explored depth first, best
   validation first; a path is **accepted** as soon as a candidate's validation MSE is
   ``<= eps^2 / 2`` (step 11), so the search is exhaustive but stops at the first success.
   ``max_paths`` bounds the rounds explored (reaching it is a failure, never a silent cut).
3. With ground truth (``teacher=``, audit only) each round also records the quantities of
   :mod:`~verified_relu.learners.cdgkm_audit`: projections, gapped scales, detectability,
   collapsed clumps, moment errors and the distance of each detectable neuron to ``V``, each
   next to its lemma's bound.

The practical profile (:meth:`CDGKMParams.practical`) switches on named departures
(:data:`~verified_relu.learners.cdgkm_params.DEPARTURES`); the result lists them.
"""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np

from .._lm import levenberg_marquardt
from .._validation import check_params
from ..hermite.numeric import relu_coefficients
from ..moments import Residual, moment_contraction
from ..network import ReLUNetwork
from . import _paper, records
from .cdgkm_audit import round_audit
from .cdgkm_params import DEPARTURES, CDGKMParams, as_count

__all__ = ["DEPARTURES", "CDGKMParams", "fit", "validate"]

_WHERE = "learn (method='cdgkm')"


def _sizes(params, n, d, k):
    n_val = as_count(params.n_val) if params.n_val is not None else max(1000, n // 5)
    n_mom = as_count(params.n_moments) if params.n_moments is not None else None
    return n_val, n_mom


def validate(params, n, d, k):
    """Check the parameters against the data before any work: the declared constraints of
    :class:`CDGKMParams` (``TypeError`` for a wrong type, ``ValueError`` out of range, naming the
    field), then the sample counts (``ValueError``)."""
    check_params(params, params._constraints, _WHERE)
    n_val, n_mom = _sizes(params, n, d, k)
    if n_val is None or (params.n_moments is not None and n_mom is None):
        raise ValueError(
            f"{_WHERE}: the profile needs N_val = {params.n_val} validation samples and N = {params.n_moments} moment "
            f"samples per round (the theorem's values; beyond any machine), got n = {n}"
        )
    need_mom = n_mom if n_mom is not None else 10 * d * (k + 1)
    if n < n_val + need_mom:
        raise ValueError(
            f"{_WHERE}: n = {n} samples are too few for this profile: it needs {need_mom} moment samples "
            f"(n_moments) + {n_val} validation samples (n_val) = {n_val + need_mom}"
        )
    if not params.greedy_search:
        dim = min(d, k * (k + 1)) if not params.reduce_dim else min(d, params.reduce_to or k)
        try:
            P, _ = _paper.sphere_net(
                dim,
                float(params.upsilon),
                np.random.default_rng(0),
                kind="cube",
                max_points=10**6,
            )
            size = len(P)
        except ValueError:
            size = 10**6
        grid = len(_paper.weight_grid(float(params.R), float(params.weight_spacing)))
        count = _paper.count_candidates(size, 1 if params.ls_weights else grid, k)
        if count > params.max_candidates:
            raise ValueError(
                f"{_WHERE}: the exhaustive Case-2 search would score up to {count:.3g} candidates per round "
                f"(net of S^{dim - 1} at upsilon = {float(params.upsilon):.3g}: {size} points, {grid} weights, m <= {k}) "
                f"> max_candidates = {params.max_candidates}; raise upsilon/weight_spacing, or use greedy_search=True"
            )


def _snr_matrix(contractions, P=None):
    """``sum_l (M_hat_l / se_l)^2`` (optionally compressed to ``P^T (.) P``): signal-to-noise weighted."""
    S = 0.0
    for M, se in contractions.values():
        MP = M if P is None else P.T @ M @ P
        S = S + MP @ MP / max(se, 1e-300) ** 2
    return S


def _subspace(contractions, k, params, d):
    """V from the contractions; returns ``(basis (d, r), record)``.

    The paper: the span of the top-``k`` eigenvectors (by ``|eigenvalue|``) of every ``M_hat_l``.
    ``noise_threshold`` keeps only those above ``noise_z`` operator-norm standard errors;
    ``reduce_dim`` then makes ``dim V = reduce_to`` exactly: a larger span is compressed to its
    top eigenvectors of the signal-to-noise matrix ``sum_l (M_hat_l / se_l)^2``, a smaller one
    is completed by the top eigenvectors of that matrix on its orthogonal complement.
    """
    blocks, ranks = [], {}
    for l, (M, op_se) in contractions.items():
        vals, vecs = np.linalg.eigh(M)
        order = np.argsort(-np.abs(vals))[:k]
        if params.noise_threshold:
            order = [j for j in order if abs(vals[j]) > params.noise_z * op_se]
        ranks[l] = len(order)
        if len(order):
            blocks.append(vecs[:, order])
    V = np.zeros((d, 0))
    if blocks:
        Q, s, _ = np.linalg.svd(np.concatenate(blocks, axis=1), full_matrices=False)
        V = Q[:, s > 1e-8 * s[0]]
    record = {"ranks": ranks, "dim_before_reduction": V.shape[1]}
    r = min(d, params.reduce_to or k)
    if params.reduce_dim and V.shape[1] > r:
        w, E = np.linalg.eigh(_snr_matrix(contractions, V))
        V = V @ E[:, np.argsort(-w)[:r]]
    elif params.reduce_dim and V.shape[1] < r:
        C = np.linalg.svd(np.eye(d) - V @ V.T)[0][:, : d - V.shape[1]]  # orthonormal complement of V
        w, E = np.linalg.eigh(_snr_matrix(contractions, C))
        V = np.concatenate([V, C @ E[:, np.argsort(-w)[: r - V.shape[1]]]], axis=1)
    return V, record


def _case1(A, B, g, params):
    vals, vecs = np.linalg.eigh(B)
    j = int(np.argmax(np.abs(vals)))
    s, u = float(vals[j]), vecs[:, j]
    if float(A @ u) < 0:
        u = -u
    p = float(A @ u)
    lam_plus, lam_minus = (s + p) / 2, (s - p) / 2
    neurons = [(lam, sign * u) for lam, sign in ((lam_plus, 1.0), (lam_minus, -1.0)) if abs(lam) > float(params.omega)]
    return neurons, {
        "lam_plus": lam_plus,
        "lam_minus": lam_minus,
        "u": u.tolist(),
        "abs_u_dot_g": abs(float(u @ g)),
        "kept": len(neurons),
    }


def _extend(fitted, neurons, d):
    """``fitted`` (a ReLUNetwork or None) plus the relu neurons ``[(lam, u), ...]``."""
    if not neurons:
        return fitted
    W = np.array([u for _, u in neurons])
    mu = np.array([lam for lam, _ in neurons])
    if fitted is None:
        return ReLUNetwork(W, mu)
    return ReLUNetwork(
        np.concatenate([fitted.weights, W]),
        np.concatenate([fitted.coefficients, mu]),
        fitted.linear,
    )


def _size(fitted):
    return 0 if fitted is None else int(np.count_nonzero(fitted.coefficients))


def _predict(net, X):
    return np.zeros(len(X)) if net is None else net(X)


class _Search:
    def __init__(self, X, y, Xv, yv, k, gen, params, g, teacher, tracer):
        self.X, self.y, self.Xv, self.yv = X, y, Xv, yv
        self.k, self.d = k, X.shape[1]
        self.gen, self.params, self.g, self.teacher, self.trace = (
            gen,
            params,
            g,
            teacher,
            tracer,
        )
        self.threshold = float(params.eps) ** 2 / 2
        self.paths = 0
        self.best = (float(np.mean(yv * yv)), None)
        self.rounds = params.rounds or k
        self.budget_hit = False

    def _round(self, fitted, depth, path):
        p, d, k = self.params, self.d, self.k
        transform = Residual(fitted) if fitted is not None else None
        contractions = {
            l: _paper.normalized_contraction(self.X, self.y, l, self.g, transform=transform)
            for l in range(2, 2 * k + 3, 2)
        }
        A = 2 * moment_contraction(self.X, self.y, 1, transform=transform)
        # B = sqrt(2 pi) E[r (x x^T - I)] = 2 sqrt(pi) E[r S_2] = 2 M_hat_2 (M_hat_2 = E[r S_2] / (2 c_2), c_2 = 1/(2 sqrt(pi)))
        B = 4 * math.sqrt(math.pi) * relu_coefficients(2)[2] * contractions[2][0]
        case1, case1_rec = _case1(A, B, self.g, p)
        V, v_rec = _subspace(contractions, k, p, d)
        children = []
        rv = self.yv - _predict(fitted, self.Xv)
        if case1:
            net_a = _extend(fitted, case1, d)
            children.append(("a", net_a, float(np.mean((self.yv - net_a(self.Xv)) ** 2))))
        search_rec = {"dim_V": V.shape[1]}
        if V.shape[1]:
            P, net_rec = _paper.sphere_net(V.shape[1], float(p.upsilon), self.gen, kind=p.net, delta=float(p.delta))
            dirs = P @ V.T
            scorer = _paper.CandidateScorer(self.Xv, rv, dirs, "relu")
            keep = p.beam if p.beam is not None else p.max_paths
            if p.greedy_search:
                out = _paper.greedy_search(scorer, k)
                grid_size = None
            else:
                grid = np.array([0.0]) if p.ls_weights else _paper.weight_grid(float(p.R), float(p.weight_spacing))
                grid_size = len(grid)
                out = _paper.exhaustive_search(scorer, grid, k, top=keep if not p.ls_weights else keep * 4)
            tops = []
            for loss, subset, weights in out.top:
                if not subset:
                    continue
                if p.ls_weights and not p.greedy_search:
                    weights = scorer.ls_weights(subset)
                    loss = scorer.loss(subset, weights)
                tops.append((loss, subset, weights))
            tops.sort(key=lambda t: t[0])
            for loss, subset, weights in tops[:keep]:
                new = [(float(w), dirs[j]) for j, w in zip(subset, weights)]
                children.append(("b", _extend(fitted, new, d), float(loss)))
            search_rec.update(
                net=net_rec,
                grid_size=grid_size,
                candidates_scored=int(out.candidates),
                best_case2_loss=float(out.loss),
            )
        children.sort(key=lambda c: c[2])
        if p.refine and children:  # departure: Levenberg-Marquardt on the moment samples from the best child, re-scored
            children[0] = self._refined(children[0][1], children[0][0])
            children.sort(key=lambda c: c[2])
        record = {
            "path": path,
            "depth": depth,
            "neurons_so_far": _size(fitted),
            "validation_mse_so_far": float(np.mean(rv * rv)),
            "case1": case1_rec,
            "singular_values": {
                str(l): np.sort(np.abs(np.linalg.eigvalsh(M)))[::-1][: k + 2].tolist()
                for l, (M, _) in contractions.items()
            },
            "op_se": {str(l): se for l, (_, se) in contractions.items()},
            "subspace": {**v_rec, "basis": V.T},
            "case2": search_rec,
            "children": [{"choice": c, "validation_mse": loss, "neurons": _size(net)} for c, net, loss in children],
            "threshold": self.threshold,
        }
        if self.teacher is not None:
            record["audit"] = round_audit(
                self.teacher,
                fitted,
                self.g,
                V,
                {l: M for l, (M, _) in contractions.items()},
                p,
                d,
                k,
            )
        self.trace("round", **record)
        on = bool(p.noise_threshold)
        z = float(p.noise_z) if on else 1.0
        self.trace.add(
            records.spectrum(
                "round_spectrum",
                f"cdgkm round (path {path}): singular values",
                [
                    (
                        f"l={l}",
                        np.sort(np.abs(np.linalg.eigvalsh(M)))[::-1][: k + 2],
                        None if se is None else z * float(se),
                        f"{z:g} op_se (threshold)" if on else "1 op_se",
                    )
                    for l, (M, se) in contractions.items()
                ],
            )
        )
        if V.shape[1]:
            self.trace.add(records.basis("round_basis", V.T, f"the round's subspace V (path {path}, dim {V.shape[1]})"))
        return children

    def _refined(self, net, choice):
        atol = 1e-8 * self.threshold  # far below acceptance; a refined fit is exact to ~1e-4 eps in L2
        out = levenberg_marquardt(
            self.X,
            self.y,
            net.weights,
            net.coefficients,
            net.linear,
            fit_linear=True,
            max_iter=100,
            atol=atol,
        )
        refined = ReLUNetwork(out.W, out.mu, out.a)
        return choice, refined, float(np.mean((self.yv - refined(self.Xv)) ** 2))

    def visit(self, fitted, depth, path):
        if self.paths >= self.params.max_paths:
            self.budget_hit = True
            return None
        self.paths += 1
        children = self._round(fitted, depth, path)
        for choice, net, loss in children:
            if loss < self.best[0]:
                self.best = (loss, net)
        if children and children[0][2] <= self.threshold:
            self.trace(
                "accept",
                path=path + [children[0][0]],
                validation_mse=children[0][2],
                threshold=self.threshold,
            )
            return children[0], path + [children[0][0]]
        if depth + 1 >= self.rounds:
            self.trace("break", path=path + ["c"], reason=f"round limit {self.rounds} reached")
            return None
        for choice, net, loss in children:
            self.trace("descend", path=path + [choice], validation_mse=loss)
            found = self.visit(net, depth + 1, path + [choice])
            if found is not None:
                return found
            if self.budget_hit:
                return None
        return None  # (c) break: this path ends without an accepted network


def fit(X, y, k, rng, params, *, teacher=None, progress=False):
    """Run MULTISCALELEARN; see the module docstring.  Returns the learner tuple of
    :mod:`verified_relu.learners.paper`; ``diagnostics["checkpoints"]`` holds the paper's own
    output (``"paper"``: the same run with the post-processing departure ``refine`` off, from the
    same random state) and, with ``refine`` on, the refined output (``"refine"``)."""
    paper_network = None
    if params.refine and params.paper_checkpoint:  # the paper's steps alone: the same run without the refinement
        paper_network = fit(X, y, k, copy.deepcopy(rng), dataclasses.replace(params, refine=False))[0]
    n, d = X.shape
    tr = _paper.Tracer("cdgkm", progress)
    n_val, n_mom = _sizes(params, n, d, k)
    perm = rng.permutation(n)
    val, mom = perm[:n_val], perm[n_val:]
    if n_mom is not None:
        mom = mom[:n_mom]
    Xv, yv, Xm, ym = X[val], y[val], X[mom], y[mom]
    tr(
        "setup",
        n=n,
        n_moments=len(mom),
        n_val=len(val),
        degrees=[1] + list(range(2, 2 * k + 3, 2)),
        rounds=params.rounds or k,
        threshold=float(params.eps) ** 2 / 2,
        departures={name: DEPARTURES[name] for name in params.departures()},
        profile=params.profile,
    )
    g, g_rec = _paper.draw_direction(d, k, rng, teacher=teacher)
    tr("direction", g=g, **g_rec)
    search = _Search(Xm, ym, Xv, yv, k, rng, params, g, teacher, tr)
    found = search.visit(None, 0, [])
    if found is not None:
        (_, network, loss), path = found
        success = True
        message = f"accepted path {path}: validation MSE {loss:.3g} <= eps^2/2 = {search.threshold:.3g} after {search.paths} round(s) explored"
    else:
        loss, network = search.best
        success = False
        why = (
            f"path budget max_paths = {params.max_paths} reached"
            if search.budget_hit
            else "every computation path ended"
        )
        message = f"failed: {why} without validation MSE <= eps^2/2 = {search.threshold:.3g}; returning the best seen ({loss:.3g})"
    if network is None:
        network = _paper.abs_form_network(np.zeros(d), [], [])
    diagnostics = {
        "validation_mse": loss,
        "paths_explored": search.paths,
        "neurons": _size(network),
        "checkpoints": (
            {"paper": network}
            if not params.refine
            else {"refine": network}
            if paper_network is None
            else {"paper": paper_network, "refine": network}
        ),
    }
    if teacher is not None:
        diagnostics["exact_squared_error"] = teacher.squared_distance(network)
        tr(
            "audit_result",
            exact_squared_error=diagnostics["exact_squared_error"],
            eps_squared=float(params.eps) ** 2,
        )
    return network, success, message, tr.steps, diagnostics
