"""The fast learner's search on a row sample (``search_rows``) and the rounds' memory.

Asserted for every run, never for the path one run takes: below the size where the row sample
starts, the option changes nothing, bit for bit; above it, the trace names the rows each search
used, and an exact fit is still judged on every sample (no success with a true error above 1e-8,
errors from the closed-form distance to the true network).
"""

import numpy as np
import pytest

from verified_relu import instances
from verified_relu._lm import expanding_subspace_lm
from verified_relu.learners import learn
from verified_relu.learners.fast import FastParams, _search_rows


def _rel(true, learned):
    return true.squared_distance(learned) / true.norm_squared()


@pytest.mark.parametrize("value,exc", [(-1, ValueError), (2.5, TypeError)])
def test_bad_search_rows_names_the_option(value, exc):
    X = np.random.default_rng(0).standard_normal((500, 8))
    with pytest.raises(exc, match="search_rows"):
        learn(X, X[:, 0], 2, search_rows=value)


def test_the_row_sample_starts_only_above_twice_its_size():
    p = FastParams()
    assert _search_rows(2 * 100 * 41, 41, p) == 2 * 100 * 41  # not above twice: every row
    assert _search_rows(2 * 100 * 41 + 1, 41, p) == 100 * 41
    assert _search_rows(10**6, 41, FastParams(search_rows=0)) == 10**6


def test_below_the_threshold_the_option_changes_nothing():
    """At n = 50 d k with small d and k no low-dimensional problem is large enough, so the run
    is the same with the row sample switched off (the robustness benchmark's cells)."""
    net = instances.make("random", 8, 3, rng=0)
    X, y = net.sample(1200, rng=1)
    a = learn(X, y, 3, rng=2, noiseless=True)
    b = learn(X, y, 3, rng=2, noiseless=True, search_rows=0)
    assert a.network.to_dict() == b.network.to_dict()
    starts = next(s for s in a.trace if s.name == "subspace_fit").data["starts"]
    assert all(s["rows"] == 960 for s in starts)  # every training row


def test_above_the_threshold_the_trace_names_the_rows_and_the_verdict_is_sound():
    net = instances.make("random", 40, 3, rng=0)
    X, y = net.sample(20_000, rng=1)
    res = learn(X, y, 3, rng=2, noiseless=True, search_rows=20)
    starts = next(s for s in res.trace if s.name == "subspace_fit").data["starts"]
    dim = next(s for s in res.trace if s.name == "subspace").data["dimension"]
    assert {s["rows"] for s in starts} == {20 * (3 * (dim + 1) + dim)}
    assert not (res.success and _rel(net, res.network) > 1e-8)


def test_rounds_with_memory_reach_the_generating_network_from_near_it():
    """Started at a relative distance 1e-3 from the truth (well inside its basin, n >> p), the
    expanding-subspace rounds with and without the last round's change reach the generating
    network to rounding: the memory adds a direction to each round's span and removes none."""
    net = instances.make("random", 30, 3, rng=3)
    X, y = net.sample(6000, rng=4)
    rng = np.random.default_rng(5)
    W = net.weights * (1 + 1e-3 * rng.standard_normal(net.weights.shape))
    scale = float(np.mean(y * y))
    for memory in (False, True):
        out = expanding_subspace_lm(X, y, W, net.coefficients, np.zeros(30), memory=memory, atol=1e-28 * scale)
        assert out.loss <= 1e-24 * scale


@pytest.mark.parametrize("d,k", [(8, 6), (20, 6)])
def test_the_robustness_cells_with_k_6_are_unchanged(d, k):
    """The largest cells of the robustness benchmark (n = 50 d k, k = 6): no problem is large
    enough for the row sample, so the subspace step and the search see every row (checked on the
    subspace step's trace, which is the same with the mode switched off)."""
    net = instances.make("random", d, k, rng=0)
    X, y = net.sample(50 * d * k, rng=1)
    a = learn(X, y, k, rng=2, noiseless=True, restarts=0, hops=0)
    b = learn(X, y, k, rng=2, noiseless=True, restarts=0, hops=0, search_rows=0)
    pick = lambda res, name: next(s for s in res.trace if s.name == name).data  # noqa: E731
    assert pick(a, "subspace") == pick(b, "subspace")
    assert pick(a, "subspace_fit") == pick(b, "subspace_fit")
