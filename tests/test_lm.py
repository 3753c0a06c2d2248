"""Levenberg-Marquardt's stopping rules and the BLAS thread limit of its small runs.

Every expected value is independent of the code under test: step counts follow from the stopping
rule's definition, thread counts are read back through threadpoolctl, and the fits are compared
with the generating network (a zero of the loss) rather than with another run of the code.
"""

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from verified_relu import ReLUNetwork, _lm, instances
from verified_relu._lm import expanding_subspace_lm, levenberg_marquardt
from verified_relu._threads import blas_single_thread


def _blas_threads():
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def _problem(d=10, k=3, n=2000, seed=0):
    net = instances.make("random", d, k, rng=seed)
    X, y = net.sample(n, rng=seed + 1)
    W = net.weights * (1 + 0.05 * np.random.default_rng(seed + 2).standard_normal(net.weights.shape))
    return net, X, y, W


@pytest.mark.parametrize("patience", [1, 2, 3, 5])
def test_patience_counts_the_accepted_steps_below_rtol(patience):
    """With ``rtol`` above any possible relative decrease (1 + 1e-9: a decrease is at most the
    whole loss), every accepted step is a stalled one, so the run stops after exactly ``patience``
    steps (far from the optimum, so neither ``atol`` nor a step without progress stops it first)."""
    _, X, y, W = _problem()
    out = levenberg_marquardt(X, y, W, np.ones(3), np.zeros(10), rtol=1.0 + 1e-9, patience=patience)
    assert out.reason == "converged"
    assert out.iterations == patience


def test_a_small_rtol_with_patience_one_still_reaches_the_generating_network():
    net, X, y, W = _problem()
    scale = float(np.mean(y * y))
    out = expanding_subspace_lm(
        X, y, W, net.coefficients, np.zeros(10), atol=1e-28 * scale, sub_rtol=1e-3, sub_patience=1, memory=True
    )
    assert out.loss <= 1e-24 * scale
    # the closed-form distance carries rounding of about 1e-16 relative: 1e-12 separates it from any other fit
    assert net.squared_distance(_as_network(out)) <= 1e-12 * net.norm_squared()


def _as_network(out):
    return ReLUNetwork(out.W, out.mu, out.a)


def test_blas_single_thread_limits_and_restores():
    before = _blas_threads()
    if not before:
        pytest.skip("no BLAS pool that threadpoolctl can see")
    with blas_single_thread():
        assert _blas_threads() == [1] * len(before)
    assert _blas_threads() == before


def test_small_runs_use_one_blas_thread_and_large_ones_the_pool(monkeypatch):
    """A run of at most FEW_PARAMETERS parameters runs inside the limit; a larger one does not."""
    if not _blas_threads():
        pytest.skip("no BLAS pool that threadpoolctl can see")
    seen = []
    inner = _lm._levenberg_marquardt

    def spy(*args):
        seen.append(_blas_threads())
        return inner(*args)

    monkeypatch.setattr(_lm, "_levenberg_marquardt", spy)
    _, X, y, W = _problem()  # k (d + 1) + d = 43 parameters
    levenberg_marquardt(X, y, W, np.ones(3), np.zeros(10), max_iter=1)
    monkeypatch.setattr(_lm, "FEW_PARAMETERS", 42)
    levenberg_marquardt(X, y, W, np.ones(3), np.zeros(10), max_iter=1)
    assert seen[0] == [1] * len(seen[0])
    assert seen[1] == _blas_threads()
