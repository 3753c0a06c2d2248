"""Baseline: Adam in PyTorch (float64) on the empirical squared loss.

The model ``sum_i mu_i relu(<w_i, x>) + <a, x>`` of width ``width`` (default ``k``) starts from
Xavier/Glorot normal weights (``W`` entries with std ``sqrt(2 / (d + 1))``, ``mu`` with std
``sqrt(2 / (width + 1))``, ``a = 0``) and is trained by minibatch Adam with a cosine
learning-rate schedule (from ``lr`` to 0 over the epoch budget), once for every learning rate
of ``lr_grid`` from the same start; the run with the smallest held-out squared error is
returned.

Needs the optional dependency ``torch`` (``pip install "verified-relu[torch]"`` or
``pip install torch``); it is imported only when this method runs.

Determinism: all randomness (initialisation, the held-out split, minibatch order) is drawn
from the numpy generator derived from ``rng``; torch's global generator is neither used nor
seeded.  Runs are therefore repeatable for a seed on the same machine and thread count, as
long as the epoch budget (not the wall-time budget ``time_budget``) is what stops training.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import ClassVar

import numpy as np

from .._progress import reporter
from .._validation import BOOLEAN, NONE, Interval, Sequence, check_params
from ..network import ReLUNetwork
from ..verdict import CONSTRAINTS as VERDICT_CONSTRAINTS
from .baselines import (
    import_torch as _import_torch,
)
from .baselines import (
    judge,
    relative_holdout_error,
    split_holdout,
    torch_hint,
    xavier_init,
)
from .result import TraceStep

__all__ = ["AdamParams", "fit", "import_torch", "validate"]

METHOD = "adam"
TORCH_HINT = torch_hint(METHOD)


@dataclasses.dataclass(frozen=True)
class AdamParams:
    """Options of the ``adam`` baseline.

    width : number of hidden neurons of the trained network (default: ``k``).
    batch_size : minibatch size (capped at the number of training samples).
    epochs : epoch budget per learning rate.
    lr_grid : learning rates tried (non-empty tuple of positive numbers); the held-out error selects one.
    time_budget : wall-time budget in seconds for the whole grid (split evenly), or None.
    validation_fraction : share of samples held out: half selects the learning rate, the other half
        decides ``success``.
    fit_linear : train a linear term ``<a, x>`` as well.
    success_tol : relative held-out squared error at or below which a fit counts as exact.
    noiseless : declare the labels noiseless: only an exact fit succeeds.
    noise_factor : a noise-consistent fit's held-out error is at most this factor times its training error.
    (``success`` is the shared verdict of :mod:`verified_relu.verdict`.)
    """

    width: int = None
    batch_size: int = 128
    epochs: int = 200
    lr_grid: tuple = (1e-3, 3e-3, 1e-2)
    time_budget: float = None
    validation_fraction: float = 0.2
    fit_linear: bool = True
    success_tol: float = 1e-10
    noiseless: bool = False
    noise_factor: float = 1.5

    #: Declared constraints of the fields (:func:`verified_relu._validation.check_params`).
    _constraints: ClassVar[dict] = {
        "width": [NONE, Interval("int", 1)],
        "batch_size": [Interval("int", 1)],
        "epochs": [Interval("int", 1)],
        "lr_grid": [Sequence(Interval("real", 0, None, closed="neither"))],
        "time_budget": [NONE, Interval("real", 0, None, closed="neither")],
        "validation_fraction": [Interval("real", 0, 1, closed="neither")],
        "fit_linear": [BOOLEAN],
        **VERDICT_CONSTRAINTS,
    }


def import_torch():
    """Import torch, or raise ``ImportError`` with the install hint."""
    return _import_torch(METHOD)


def validate(params, n, d, k):
    """Check the options; returns the validated ``lr_grid`` as a tuple of floats."""
    check_params(params, params._constraints, f"learn (method={METHOD!r})")
    grid = params.lr_grid
    n_val = max(round(params.validation_fraction * n), 1)
    if n - n_val < 1:
        raise ValueError(f"learn (method='adam'): n = {n} leaves no training samples after holding out {n_val}")
    return tuple(float(lr) for lr in grid)


#: Seconds between progress lines within one learning rate's run.
_PROGRESS_SECONDS = 5.0


def _train(torch, Xt, yt, Xv, yv, W0, mu0, lr, params, order_rng, deadline, say=None):
    """One Adam run from ``(W0, mu0, a = 0)``; returns ``(W, mu, a, val_mse, epochs_done, stopped_by)``."""
    W = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    mu = torch.tensor(mu0, dtype=torch.float64, requires_grad=True)
    a = torch.zeros(Xt.shape[1], dtype=torch.float64, requires_grad=params.fit_linear)
    variables = [W, mu] + ([a] if params.fit_linear else [])
    opt = torch.optim.Adam(variables, lr=lr)
    n = Xt.shape[0]
    bs = min(params.batch_size, n)
    steps_per_epoch = math.ceil(n / bs)
    total = params.epochs * steps_per_epoch
    X_t = torch.from_numpy(Xt)
    y_t = torch.from_numpy(yt)
    step, stopped_by, epoch = 0, "epochs", 0
    next_line = time.perf_counter() + _PROGRESS_SECONDS
    for epoch in range(1, params.epochs + 1):
        perm = torch.from_numpy(order_rng.permutation(n))
        for start in range(0, n, bs):
            idx = perm[start : start + bs]
            for group in opt.param_groups:  # cosine schedule from lr to 0
                group["lr"] = 0.5 * lr * (1.0 + math.cos(math.pi * step / total))
            xb, yb = X_t[idx], y_t[idx]
            pred = torch.relu(xb @ W.T) @ mu + xb @ a
            loss = torch.mean((pred - yb) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        if deadline is not None and time.perf_counter() >= deadline:
            stopped_by = "time_budget"
            break
        if say is not None and time.perf_counter() >= next_line:
            say(f"lr {lr:g}: epoch {epoch} of {params.epochs}, minibatch loss {loss.item():.3e}")
            next_line = time.perf_counter() + _PROGRESS_SECONDS
    W_np, mu_np, a_np = (v.detach().numpy().copy() for v in (W, mu, a))
    val_mse = float(np.mean((np.maximum(Xv @ W_np.T, 0.0) @ mu_np + Xv @ a_np - yv) ** 2))
    return W_np, mu_np, a_np, val_mse, epoch, stopped_by


def _to_network(W, mu, a, fit_linear):
    """A ``ReLUNetwork``; neurons whose weight vector is exactly zero (identically 0) are dropped."""
    keep = np.linalg.norm(W, axis=1) > 0
    if not np.any(keep):  # every neuron is identically zero: one neuron with a zero coefficient
        W, mu, keep = np.eye(1, W.shape[1]), np.zeros(1), np.ones(1, bool)
    return ReLUNetwork(W[keep], mu[keep], a if fit_linear else None), int((~keep).sum())


def fit(X, y, k, rng, params, *, teacher=None, progress=False):
    """Run the grid on validated inputs; returns ``(network, success, message, trace, diagnostics)``."""
    torch = import_torch()
    grid = validate(params, X.shape[0], X.shape[1], k)
    width = k if params.width is None else int(params.width)
    n, d = X.shape
    val, tr = split_holdout(n, params.validation_fraction, rng)
    Xt, yt = np.ascontiguousarray(X[tr]), np.ascontiguousarray(y[tr])
    # the learning rate is selected on one half of the held-out samples and the verdict is taken
    # on the other, which the selection never saw
    sel, val = val[: len(val) // 2], val[len(val) // 2 :]
    if len(sel) == 0:
        sel = val
    Xs, ys = X[sel], y[sel]
    Xv, yv = X[val], y[val]
    W0, mu0 = xavier_init(rng, width, d)
    order_seeds = rng.spawn(len(grid))
    share = None if params.time_budget is None else params.time_budget / len(grid)
    say = reporter(progress, METHOD)
    say(f"{width} neurons, {len(grid)} learning rate(s), up to {params.epochs} epochs each on {len(tr)} samples")
    runs, best = [], None
    for i, (lr, order_rng) in enumerate(zip(grid, order_seeds), 1):
        t0 = time.perf_counter()
        deadline = None if share is None else t0 + share
        W, mu, a, val_mse, epochs, stopped_by = _train(
            torch, Xt, yt, Xs, ys, W0, mu0, lr, params, order_rng, deadline, say
        )
        runs.append(
            {
                "lr": lr,
                "validation_mse": val_mse,
                "epochs": epochs,
                "stopped_by": stopped_by,
                "seconds": time.perf_counter() - t0,
            }
        )
        say(
            f"lr {lr:g} ({i} of {len(grid)}): {epochs} epochs ({stopped_by}), selection MSE {val_mse:.3e}, "
            f"{runs[-1]['seconds']:.1f} s"
        )
        if np.isfinite(val_mse) and (best is None or val_mse < best[0]):
            best = (val_mse, lr, W, mu, a)
    if best is None:
        raise FloatingPointError(
            f"learn (method='adam'): every learning rate in lr_grid {grid} diverged (non-finite loss)"
        )
    _, lr, W, mu, a = best
    network, dropped = _to_network(W, mu, a, params.fit_linear)
    val_mse, val_rel = relative_holdout_error(network, Xv, yv)
    train_mse, _ = relative_holdout_error(network, Xt, yt)
    v = judge(params, network(Xv), Xv, yv, train_mse=train_mse)
    success = v.success
    message = f"{v.message}; selected lr = {lr:g} of {list(grid)}"
    trace = [
        TraceStep("init", {"how": "xavier", "width": width}),
        TraceStep("grid", {"runs": runs}),
        TraceStep(
            "validation",
            {
                "selected_lr": lr,
                "n_validation": len(val),
                "mse": val_mse,
                "relative": val_rel,
                "train_mse": train_mse,
                "dropped_zero_neurons": dropped,
                "verdict": v.to_dict(),
            },
        ),
    ]
    diagnostics = {
        "validation_mse": val_mse,
        "validation_relative": val_rel,
        "train_mse": train_mse,
        "selected_lr": lr,
        "width": width,
        "torch": torch.__version__,
        "n_train": len(tr),
        "n_validation": len(val),
        "verdict": v.to_dict(),
    }
    return network, success, message, trace, diagnostics
