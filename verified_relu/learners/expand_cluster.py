"""Baseline: Expand-and-Cluster (Martinelli, Simsek, Gerstner and Brea, ICML 2024, arXiv 2304.12794).

The paper recovers a network's hidden neurons in two phases: train several *overparameterised*
students on the data (the expansion relaxes the non-convex problem), then cluster the hidden
neurons' input weight vectors of all students: the weight vectors that many students share are
the teacher's.  For the shallow ReLU model ``sum_i mu_i relu(<w_i, x>) + <a, x>`` this module does:

1. **Expansion.**  ``students`` students of width ``ceil(rho k)``, each from its own Xavier/Glorot
   initialisation (as :mod:`.adam`), trained by minibatch Adam (float64, cosine learning-rate
   schedule from ``lr`` to 0, ``epochs`` epochs, each student its own minibatch order) on the
   mean squared loss.  The students are trained side by side as one batched model: their
   parameters are disjoint and the loss is the sum of their mean losses, so every student's
   gradient is its own and Adam (elementwise) runs exactly as it would on each student alone.
2. **Clustering.**  Every hidden neuron is written as ``c relu(<u, x>)`` with ``u`` a unit vector
   and ``c = mu ||w||`` (relu is positively homogeneous: a neuron is identified only up to positive
   scaling).  With a linear term (``fit_linear``) ``c relu(<-u, x>) = c relu(<u, x>) - c <u, x>``,
   so ``u`` and ``-u`` are the same neuron up to the linear term: directions are compared up to
   sign, and within one student the neurons along one line (within 10 degrees) are merged, their
   contributions summed; a pair ``u, -u`` with opposite outputs sums to about zero (it is a linear
   function, the ReLU symmetry the paper discusses) and is dropped with every other neuron whose
   contribution ``|c|`` is below ``min_contribution`` times the student's largest.  The remaining
   directions of all students are clustered hierarchically (average linkage on the Euclidean
   distance of unit vectors, up to sign with a linear term); the tree is cut at
   ``distance_threshold``, or, by default, as in the paper, at the height that maximises the number
   of clusters holding neurons of at least ``gamma * students`` different students (the middle of
   the first such range of heights).  Clusters with fewer students, or whose median angle to their
   centroid exceeds ``max_angle`` degrees, are dropped.  The centroids (unit vectors) are the
   recovered directions; if more than ``k`` qualify the ``k`` shared by the most students are kept
   (the trace says so), if fewer, fewer are returned.
3. **Reconstruction and fine-tuning.**  The output coefficients (and the linear term) by least
   squares on the training samples given the directions, then fine-tuning of the reduced network:
   by default Levenberg-Marquardt (:func:`verified_relu._lm.levenberg_marquardt`, ``finetune="lm"``,
   at most ``finetune_iterations`` steps); ``finetune="adam"`` fine-tunes by Adam as the paper does
   (``finetune_iterations`` epochs at ``lr / 10``), ``"none"`` keeps the least-squares network.
4. **Verdict** on held-out samples that neither training nor clustering saw
   (:func:`~verified_relu.learners.baselines.judge`, the shared meaning of ``success``).

Departures from the paper: the students are trained by Adam with a fixed epoch budget (the paper
trains to near-zero loss and chooses ``rho`` by quick trial runs); the within-student merging of
neurons along one line and the contribution cut are this module's way of handling the ReLU
symmetries; fine-tuning is by Levenberg-Marquardt unless ``finetune="adam"``.

Needs the optional dependency ``torch`` (imported only when this method runs), like :mod:`.adam`.
All randomness (initialisations, the held-out split, minibatch orders) is drawn from the numpy
generator ``rng``; torch's global generator and thread settings are left alone.  Runs are
repeatable for a seed on the same machine and thread count while the epoch budget (not
``time_budget``) stops training.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import ClassVar

import numpy as np

from .._lm import LM_ATOL, levenberg_marquardt
from .._progress import reporter
from .._validation import BOOLEAN, NONE, Interval, Options, check_params
from ..network import ReLUNetwork
from ..verdict import CONSTRAINTS as VERDICT_CONSTRAINTS
from .baselines import import_torch as _import_torch
from .baselines import judge, relative_holdout_error, split_holdout, torch_hint, xavier_init
from .result import TraceStep

__all__ = ["ExpandClusterParams", "fit", "import_torch", "validate"]

METHOD = "expand_cluster"
TORCH_HINT = torch_hint(METHOD)

#: Neurons of one student whose directions are within this angle (up to sign with a linear
#: term) act as one neuron and are merged before clustering.
_SAME_LINE_DEGREES = 10.0
#: Seconds between progress lines while the students train.
_PROGRESS_SECONDS = 5.0


@dataclasses.dataclass(frozen=True)
class ExpandClusterParams:
    """Options of the ``expand_cluster`` baseline.

    students : number of overparameterised students (the paper's N).
    rho : expansion factor: each student has ``ceil(rho k)`` hidden neurons.
    batch_size : minibatch size of the students' Adam (capped at the number of training samples).
    epochs : epoch budget of the students.
    lr : Adam's learning rate (cosine schedule to 0 over the epochs).
    time_budget : wall-time budget in seconds for training all students (trained side by side), or None.
    validation_fraction : share of samples held out for the verdict (nothing is fit or selected on them).
    fit_linear : the model has a linear term ``<a, x>`` (then ``u`` and ``-u`` are one neuron up to it).
    gamma : a cluster is kept if it holds neurons of at least this share of the students.
    distance_threshold : height at which the clustering tree is cut (distance of unit vectors),
        or None: the height that maximises the number of clusters shared by ``gamma`` of the students.
    max_angle : clusters whose median angle (degrees) to their centroid exceeds this are dropped.
    min_contribution : a student's neurons with ``|mu| ||w||`` below this share of its largest are dropped.
    finetune : fine-tuning of the reduced network: "lm" (Levenberg-Marquardt), "adam" or "none".
    finetune_iterations : Levenberg-Marquardt steps, or Adam epochs, of the fine-tuning.
    success_tol : relative held-out squared error at or below which a fit counts as exact.
    noiseless : declare the labels noiseless: only an exact fit succeeds.
    noise_factor : a noise-consistent fit's held-out error is at most this factor times its training error.
    (``success`` is the shared verdict of :mod:`verified_relu.verdict`.)
    """

    students: int = 10
    rho: float = 4.0
    batch_size: int = 128
    epochs: int = 200
    lr: float = 3e-3
    time_budget: float = None
    validation_fraction: float = 0.2
    fit_linear: bool = True
    gamma: float = 0.5
    distance_threshold: float = None
    max_angle: float = 30.0
    min_contribution: float = 1e-2
    finetune: str = "lm"
    finetune_iterations: int = 200
    success_tol: float = 1e-10
    noiseless: bool = False
    noise_factor: float = 1.5

    #: Declared constraints of the fields (:func:`verified_relu._validation.check_params`).
    _constraints: ClassVar[dict] = {
        "students": [Interval("int", 1)],
        "rho": [Interval("real", 1)],
        "batch_size": [Interval("int", 1)],
        "epochs": [Interval("int", 1)],
        "lr": [Interval("real", 0, None, closed="neither")],
        "time_budget": [NONE, Interval("real", 0, None, closed="neither")],
        "validation_fraction": [Interval("real", 0, 1, closed="neither")],
        "fit_linear": [BOOLEAN],
        "gamma": [Interval("real", 0, 1, closed="right")],
        "distance_threshold": [NONE, Interval("real", 0, 2, closed="right")],
        "max_angle": [Interval("real", 0, 180, closed="right")],
        "min_contribution": [Interval("real", 0, 1, closed="left")],
        "finetune": [Options("lm", "adam", "none")],
        "finetune_iterations": [Interval("int", 0)],
        **VERDICT_CONSTRAINTS,
    }


def import_torch():
    """Import torch, or raise ``ImportError`` with the install hint."""
    return _import_torch(METHOD)


def validate(params, n, d, k):
    """Check the options and that samples remain for training after the held-out share."""
    check_params(params, params._constraints, f"learn (method={METHOD!r})")
    n_val = max(round(params.validation_fraction * n), 1)
    if n - n_val < 1:
        raise ValueError(f"learn (method={METHOD!r}): n = {n} leaves no training samples after holding out {n_val}")


# ----------------------------------------------------------------------------- expansion
def _train(torch, Xt, yt, W0, mu0, a0, lr, epochs, batch_size, fit_linear, order_rngs, deadline, say=None):
    """Adam on ``S`` networks side by side from ``W0 (S, m, d)``, ``mu0 (S, m)``, ``a0 (S, d)``.

    The loss is the sum of the networks' minibatch mean losses (network ``s`` its own minibatch
    order ``order_rngs[s]``), so each network's gradient and Adam update are its own.  Returns
    ``(W, mu, a, epochs_done, stopped_by)`` as numpy arrays."""
    S = W0.shape[0]
    W = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    mu = torch.tensor(mu0, dtype=torch.float64, requires_grad=True)
    a = torch.tensor(a0, dtype=torch.float64, requires_grad=fit_linear)
    opt = torch.optim.Adam([W, mu] + ([a] if fit_linear else []), lr=lr)
    n = Xt.shape[0]
    bs = min(batch_size, n)
    total = epochs * math.ceil(n / bs)
    X_t, y_t = torch.from_numpy(Xt), torch.from_numpy(yt)
    step, stopped_by, epoch = 0, "epochs", 0
    next_line = time.perf_counter() + _PROGRESS_SECONDS
    for epoch in range(1, epochs + 1):
        perm = torch.from_numpy(np.stack([r.permutation(n) for r in order_rngs]))
        for start in range(0, n, bs):
            idx = perm[:, start : start + bs]  # (S, b)
            for group in opt.param_groups:  # cosine schedule from lr to 0
                group["lr"] = 0.5 * lr * (1.0 + math.cos(math.pi * step / total))
            xb, yb = X_t[idx], y_t[idx]  # (S, b, d), (S, b)
            pred = (torch.relu(torch.bmm(xb, W.transpose(1, 2))) * mu[:, None, :]).sum(-1)
            pred = pred + (xb * a[:, None, :]).sum(-1)
            loss = ((pred - yb) ** 2).mean(dim=1).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        if deadline is not None and time.perf_counter() >= deadline:
            stopped_by = "time_budget"
            break
        if say is not None and time.perf_counter() >= next_line:
            say(f"epoch {epoch} of {epochs}, mean minibatch loss {loss.item() / S:.3e}")
            next_line = time.perf_counter() + _PROGRESS_SECONDS
    W_np, mu_np, a_np = (v.detach().numpy().copy() for v in (W, mu, a))
    return W_np, mu_np, a_np, epoch, stopped_by


def _mse(X, y, W, mu, a):
    return float(np.mean((np.maximum(X @ W.T, 0.0) @ mu + X @ a - y) ** 2))


# ----------------------------------------------------------------------------- clustering
def _student_neurons(W, mu, signless, min_contribution):
    """One student's neurons as ``(directions (r, d), contributions (r,))`` after merging the
    neurons along one line and dropping the negligible ones (see the module docstring)."""
    norms = np.linalg.norm(W, axis=1)
    live = norms > 0
    U, c = W[live] / norms[live, None], mu[live] * norms[live]
    cos_same = math.cos(math.radians(_SAME_LINE_DEGREES))
    unassigned = list(np.argsort(-np.abs(c), kind="stable"))
    dirs, contribs = [], []
    while unassigned:
        i = unassigned[0]
        dots = U[unassigned] @ U[i]
        near = (np.abs(dots) if signless else dots) >= cos_same
        members = [j for j, m in zip(unassigned, near) if m]
        signs = np.sign(U[members] @ U[i]) if signless else np.ones(len(members))
        # c relu(<-u, x>) = c relu(<u, x>) - c <u, x>: with a linear term every member adds its c along u
        total = float(np.sum(c[members]))
        direction = (np.abs(c[members]) * signs) @ U[members]
        dirs.append(direction / (np.linalg.norm(direction) or 1.0))
        contribs.append(total)
        unassigned = [j for j, m in zip(unassigned, near) if not m]
    dirs, contribs = np.array(dirs).reshape(-1, W.shape[1]), np.array(contribs)
    if len(contribs) == 0:
        return dirs, contribs
    keep = np.abs(contribs) > min_contribution * np.abs(contribs).max()
    return dirs[keep], contribs[keep]


def _distances(U, signless):
    """Condensed distances of the unit vectors ``U``: ``||u - v||``, or ``min(||u - v||, ||u + v||)``."""
    G = np.clip(U @ U.T, -1.0, 1.0)
    if signless:
        G = np.abs(G)
    D = np.sqrt(np.maximum(2.0 - 2.0 * G, 0.0))
    iu = np.triu_indices(len(U), 1)
    return D[iu]


def _cluster_stats(U, owner, labels, signless):
    """Per cluster label: (label, members, distinct students, centroid, median angle in degrees)."""
    out = []
    for lab in np.unique(labels):
        members = np.flatnonzero(labels == lab)
        V = U[members]
        if signless:  # the principal axis of the members, up to sign
            _, vecs = np.linalg.eigh(V.T @ V)
            centroid = vecs[:, -1]
            if np.sum(V @ centroid > 0) < len(members) / 2:
                centroid = -centroid
            cos = np.abs(V @ centroid)
        else:
            centroid = V.mean(axis=0)
            centroid = centroid / (np.linalg.norm(centroid) or 1.0)
            cos = V @ centroid
        angle = float(np.median(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))))
        out.append((int(lab), members, len(set(owner[members].tolist())), centroid, angle))
    return out


def _cluster(U, owner, contrib, n_students, params, k):
    """Cluster the students' directions; returns ``(directions (r, d), info dict)``."""
    from scipy.cluster.hierarchy import fcluster, linkage

    signless = params.fit_linear
    need = max(1, math.ceil(params.gamma * n_students - 1e-9))
    info = {"neurons": len(U), "min_students": need}
    if len(U) == 0:
        info.update(threshold=None, clusters_found=0, shared=0, clusters=[], kept=0)
        return np.zeros((0, 0)), info
    if len(U) == 1:
        labels = np.ones(1, int)
        threshold = params.distance_threshold
    else:
        Z = linkage(_distances(U, signless), method="average")
        if params.distance_threshold is not None:
            threshold = float(params.distance_threshold)
        else:  # the paper's cut: the most clusters shared by gamma of the students
            heights = np.concatenate([[0.0], Z[:, 2]])
            cuts = 0.5 * (heights[:-1] + heights[1:])
            counts = []
            for t in cuts:
                lab = fcluster(Z, t, criterion="distance")
                counts.append(sum(len(set(owner[lab == v].tolist())) >= need for v in np.unique(lab)))
            counts = np.array(counts)
            best = np.flatnonzero(counts == counts.max())
            gaps = np.flatnonzero(np.diff(best) > 1)
            first = best if len(gaps) == 0 else best[: gaps[0] + 1]  # the first range of maximising heights
            threshold = float(cuts[first[len(first) // 2]])
        labels = fcluster(Z, threshold, criterion="distance")
    stats = _cluster_stats(U, owner, labels, signless)
    rows, kept = [], []
    for lab, members, n_own, centroid, angle in stats:
        shared = n_own >= need
        aligned = angle <= params.max_angle
        rows.append(
            {
                "size": len(members),
                "students": n_own,
                "median_angle": angle,
                "mean_abs_contribution": float(np.mean(np.abs(contrib[members]))),
                "kept": bool(shared and aligned),
                "dropped_because": None if shared and aligned else ("too few students" if not shared else "unaligned"),
            }
        )
        if shared and aligned:
            kept.append((n_own, rows[-1]["mean_abs_contribution"], len(rows) - 1, centroid))
    kept.sort(key=lambda t: (-t[0], -t[1], t[2]))
    qualifying = len(kept)
    for _, _, i, _ in kept[k:]:
        rows[i]["kept"], rows[i]["dropped_because"] = False, f"more than k = {k} clusters qualify"
    kept = kept[:k]
    info.update(
        threshold=threshold,
        clusters_found=len(stats),
        shared=qualifying,
        kept=len(kept),
        clusters=sorted(rows, key=lambda r: (-r["students"], -r["size"])),
    )
    if qualifying > k:
        info["note"] = f"{qualifying} clusters qualify; the {k} shared by the most students are kept"
    U_out = np.array([t[3] for t in kept]).reshape(len(kept), U.shape[1])
    return U_out, info


# ----------------------------------------------------------------------------- reconstruction
def _least_squares(Xt, yt, U, fit_linear):
    """Output coefficients (and linear term) by least squares given the unit directions ``U``."""
    d = Xt.shape[1]
    cols = [np.maximum(Xt @ U.T, 0.0)] + ([Xt] if fit_linear else [])
    A = np.concatenate(cols, axis=1)
    coef = np.linalg.lstsq(A, yt, rcond=None)[0]
    r = len(U)
    return coef[:r], (coef[r:] if fit_linear else np.zeros(d))


def fit(X, y, k, rng, params, *, teacher=None, progress=False):
    """Expand, cluster, reconstruct; returns ``(network, success, message, trace, diagnostics)``."""
    torch = import_torch()
    validate(params, X.shape[0], X.shape[1], k)
    n, d = X.shape
    S = params.students
    width = math.ceil(params.rho * k - 1e-9)
    val, tr = split_holdout(n, params.validation_fraction, rng)
    Xt, yt = np.ascontiguousarray(X[tr]), np.ascontiguousarray(y[tr])
    Xv, yv = X[val], y[val]
    scale = float(np.mean(yt * yt)) or 1.0
    inits = [xavier_init(rng, width, d) for _ in range(S)]
    W0 = np.stack([w for w, _ in inits])
    mu0 = np.stack([m for _, m in inits])
    order_rngs = rng.spawn(S + 1)
    say = reporter(progress, METHOD)
    say(f"{S} students of width {width}, up to {params.epochs} epochs on {len(tr)} samples")

    # 1. expansion
    t0 = time.perf_counter()
    deadline = None if params.time_budget is None else t0 + params.time_budget
    W, mu, a, epochs_done, stopped_by = _train(
        torch,
        Xt,
        yt,
        W0,
        mu0,
        np.zeros((S, d)),
        params.lr,
        params.epochs,
        params.batch_size,
        params.fit_linear,
        order_rngs[:S],
        deadline,
        say,
    )
    train_seconds = time.perf_counter() - t0
    losses = [_mse(Xt, yt, W[s], mu[s], a[s]) for s in range(S)]
    finite = [s for s in range(S) if np.isfinite(losses[s]) and np.all(np.isfinite(W[s]))]
    if not finite:
        raise FloatingPointError(
            f"learn (method={METHOD!r}): every student diverged (non-finite loss) at lr = {params.lr:g}"
        )
    say(
        f"students trained: {epochs_done} epochs ({stopped_by}), {train_seconds:.1f} s, relative training loss "
        f"median {np.median(losses) / scale:.2e}"
    )

    # 2. clustering
    t1 = time.perf_counter()
    dirs, owners, contribs = [], [], []
    for s in finite:
        U_s, c_s = _student_neurons(W[s], mu[s], params.fit_linear, params.min_contribution)
        dirs.append(U_s)
        contribs.append(c_s)
        owners.append(np.full(len(c_s), s))
    U_all = np.concatenate(dirs).reshape(-1, d)
    U, info = _cluster(U_all, np.concatenate(owners), np.concatenate(contribs), len(finite), params, k)
    cluster_seconds = time.perf_counter() - t1
    say(f"{info['clusters_found']} clusters of {info['neurons']} neurons, {info['shared']} shared, {info['kept']} kept")

    # 3. reconstruction and fine-tuning
    t2 = time.perf_counter()
    if len(U) == 0:  # nothing shared: the linear term alone, beside one neuron with coefficient 0
        U = np.eye(1, d)
        mu_r = np.zeros(1)
        a_r = _least_squares(Xt, yt, np.zeros((0, d)), params.fit_linear)[1]
        finetune = {"how": "none", "reason": "no cluster qualified"}
    else:
        mu_r, a_r = _least_squares(Xt, yt, U, params.fit_linear)
        finetune = {"how": params.finetune}
    ls_loss = _mse(Xt, yt, U, mu_r, a_r)
    W_r = U
    if finetune["how"] == "lm" and params.finetune_iterations > 0:
        out = levenberg_marquardt(
            Xt,
            yt,
            U,
            mu_r,
            a_r,
            fit_linear=params.fit_linear,
            max_iter=params.finetune_iterations,
            atol=LM_ATOL * scale,
        )
        W_r, mu_r, a_r = out.W, out.mu, out.a
        finetune.update(iterations=out.iterations, reason=out.reason)
    elif finetune["how"] == "adam" and params.finetune_iterations > 0:
        Wf, muf, af, ep, why = _train(
            torch,
            Xt,
            yt,
            U[None],
            mu_r[None],
            a_r[None],
            params.lr / 10,
            params.finetune_iterations,
            params.batch_size,
            params.fit_linear,
            order_rngs[S:],
            None,
        )
        W_r, mu_r, a_r = Wf[0], muf[0], af[0]
        finetune.update(iterations=ep, reason=why)
    train_mse = _mse(Xt, yt, W_r, mu_r, a_r)
    if not np.isfinite(train_mse):  # a diverged fine-tuning: keep the least-squares network
        W_r, mu_r, a_r = U, *_least_squares(Xt, yt, U, params.fit_linear)
        train_mse = ls_loss
        finetune["reason"] = "diverged; least-squares network kept"
    network = ReLUNetwork(W_r, mu_r, a_r if params.fit_linear else None)
    recon_seconds = time.perf_counter() - t2

    # 4. verdict on the held-out samples
    val_mse, val_rel = relative_holdout_error(network, Xv, yv)
    v = judge(params, network(Xv), Xv, yv, train_mse=train_mse)
    message = f"{v.message}; {info['kept']} neuron(s) recovered from {info['shared']} shared cluster(s)"
    times = {"students": train_seconds, "clustering": cluster_seconds, "reconstruction": recon_seconds}
    trace = [
        TraceStep(
            "students",
            {
                "students": S,
                "width": width,
                "init": "xavier",
                "lr": params.lr,
                "epochs": epochs_done,
                "stopped_by": stopped_by,
                "train_mse": losses,
                "diverged": [s for s in range(S) if s not in finite],
                "seconds": train_seconds,
            },
        ),
        TraceStep("clusters", {**info, "seconds": cluster_seconds}),
        TraceStep(
            "reconstruction",
            {
                "neurons": int(network.k),
                "least_squares_mse": ls_loss,
                "finetune": finetune,
                "train_mse": train_mse,
                "seconds": recon_seconds,
            },
        ),
        TraceStep(
            "validation",
            {
                "n_validation": len(val),
                "mse": val_mse,
                "relative": val_rel,
                "train_mse": train_mse,
                "verdict": v.to_dict(),
            },
        ),
    ]
    diagnostics = {
        "validation_mse": val_mse,
        "validation_relative": val_rel,
        "train_mse": train_mse,
        "students": S,
        "width": width,
        "student_train_mse": losses,
        "clusters_found": info["clusters_found"],
        "clusters_shared": info["shared"],
        "clusters_kept": info["kept"],
        "seconds": times,
        "torch": torch.__version__,
        "n_train": len(tr),
        "n_validation": len(val),
        "verdict": v.to_dict(),
    }
    return network, v.success, message, trace, diagnostics
