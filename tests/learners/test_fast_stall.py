"""The fast learner's moves out of a stalled fit: targeted flips and the long polish.

Each is asserted as a property of one call on fixed data (geometry, or a loss that cannot rise),
never as the path a whole learner run takes.
"""

import numpy as np
import pytest

from verified_relu import instances
from verified_relu._lm import EXACT_LOSS, LMOutcome, predict
from verified_relu.learners.fast import FastParams, _finish, _flip_starts


def _outcome(X, y, W, mu, a):
    r = predict(X, W, mu, a) - y
    return LMOutcome(W, mu, a, float(r @ r) / len(y), 0, "start")


def _angles(X, W):
    return (X @ W.T) / (np.linalg.norm(X, axis=1)[:, None] * np.linalg.norm(W, axis=1)[None, :])


@pytest.mark.parametrize("seed", range(4))
def test_a_pinned_sample_is_carried_across_its_hyperplane_and_nothing_else_moves(seed):
    gen = np.random.default_rng(seed)
    d, k = 6, 3
    X = gen.standard_normal((200, d))
    W = gen.standard_normal((k, d))
    s = int(gen.integers(200))
    W[1] -= (W[1] @ X[s]) / (X[s] @ X[s]) * X[s]  # sample s on neuron 1's hyperplane, to rounding
    mu, a = gen.standard_normal(k), np.zeros(d)
    y = predict(X, W, mu, a) + 0.1 * gen.standard_normal(200)
    side = np.sign(W[1] @ X[s]) or 1.0
    starts = _flip_starts(X, y, _outcome(X, y, W, mu, a), 4)
    assert len(starts) == 4
    first = starts[0]
    assert np.array_equal(np.delete(first, 1, axis=0), np.delete(W, 1, axis=0))  # only the nearest row moved
    cos = _angles(X[s : s + 1], first)[0, 1]
    assert np.sign(cos) == -side  # the sample is now on the other side ...
    assert abs(cos) == pytest.approx(1e-3, rel=1e-6)  # ... at the angle delta = 1e-3
    moved = first[1] - W[1]  # along x_s only
    assert np.linalg.norm(moved - (moved @ X[s]) / (X[s] @ X[s]) * X[s]) <= 1e-12 * np.linalg.norm(W[1])
    for start in starts:  # every start moves exactly one row
        assert sum(not np.array_equal(start[i], W[i]) for i in range(k)) == 1


def test_no_flip_budget_means_no_starts():
    gen = np.random.default_rng(0)
    X, W = gen.standard_normal((50, 4)), gen.standard_normal((2, 4))
    out = _outcome(X, X[:, 0], W, np.ones(2), np.zeros(4))
    assert _flip_starts(X, X[:, 0], out, 0) == []


@pytest.mark.parametrize("seed", range(3))
def test_the_long_polish_finishes_a_near_exact_clump_and_never_raises_the_loss(seed):
    """A clump of two nearly parallel cancelling neurons, started 1e-7 (relative, per row) from the
    truth with the truth's activation pattern on every sample: the polish reaches the rounding level
    (Gauss-Newton converges quadratically there).  From a start far from exact it does nothing."""
    net = instances.make("clump", 8, 2, rng=seed)
    X, y = net.sample(800, rng=1000 + seed)
    gen = np.random.default_rng(seed)
    norms = np.linalg.norm(net.weights, axis=1)
    W0, mu0 = net.weights / norms[:, None], net.coefficients * norms
    W = W0 + 1e-7 * gen.standard_normal(W0.shape) / np.sqrt(8)
    assert np.array_equal(X @ W.T > 0, X @ W0.T > 0)  # same activation pattern as the truth
    start = _outcome(X, y, W, mu0.copy(), np.zeros(8))
    scale = float(np.mean(y * y))
    assert EXACT_LOSS * scale < start.loss <= 1e-8 * scale
    out = _finish(X, y, start, FastParams(), scale)
    assert out.loss <= EXACT_LOSS * scale
    far = _outcome(X, y, W0 + 0.3 * gen.standard_normal(W0.shape), mu0.copy(), np.zeros(8))
    assert _finish(X, y, far, FastParams(), scale) is far
