"""Every method's result is a function of the samples as a set and of the seed: permuting the
rows changes nothing, bit for bit (the rows are put in a canonical order before learning)."""

import os

import numpy as np
import pytest

from tests.conftest import HAVE_TORCH
from verified_relu import instances, learn
from verified_relu._order import canonical_order, row_hashes
from verified_relu.learners import registry

_OPTIONS = {
    "fast": {},
    "cdgkm": {},
    "netlearn": {},
    "dk": {},
    "tensor": {},
    "gd_population": {"max_iter": 300},
    "adam": {"epochs": 3},
    "expand_cluster": {"students": 2, "epochs": 3},
}


def _params(net):
    if hasattr(net, "weights"):
        return [np.asarray(net.weights), np.asarray(net.coefficients), np.asarray(net.linear)]
    return [np.asarray(v) for v in net.to_dict().values() if isinstance(v, (list, tuple))]


def test_every_registered_method_is_covered():
    assert set(_OPTIONS) == set(registry.LEARNERS)


@pytest.mark.parametrize("method", list(_OPTIONS))
def test_permuting_rows_changes_nothing(method):
    if method in ("adam", "expand_cluster") and not HAVE_TORCH and not os.environ.get("CI"):
        pytest.skip("torch is not installed (optional extra verified-relu[torch])")
    net = instances.make("random", 5, 2, rng=21)
    X, y = net.sample(3000, rng=22)
    perm = np.random.default_rng(23).permutation(len(y))
    extra = dict(_OPTIONS[method])
    if method == "gd_population":
        extra["teacher"] = net
    a = learn(X, y, 2, method=method, rng=24, **extra)
    b = learn(X[perm], y[perm], 2, method=method, rng=24, **extra)
    assert a.success == b.success and a.message == b.message
    assert a.network.to_dict() == b.network.to_dict()  # bit for bit (JSON keeps every float's 17 digits)


def test_the_order_is_canonical_with_duplicate_rows_and_signed_zeros():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((50, 3))
    X = np.vstack([X, X[:10]])  # duplicates
    y = np.concatenate([X[:50, 0], X[:10, 0]])
    X[3, 1], X[53, 1] = 0.0, -0.0  # a duplicate pair that differs only in the sign of a zero
    for seed in range(5):
        p = np.random.default_rng(seed).permutation(len(y))
        a, b = canonical_order(X, y), canonical_order(X[p], y[p])
        assert np.array_equal(X[a], X[p][b]) and np.array_equal(y[a], y[p][b])


def test_hash_collisions_are_ordered_by_value(monkeypatch):
    """Force every hash equal: the order is then the lexicographic order of the rows, still a
    function of the set."""
    import verified_relu._order as order_module

    monkeypatch.setattr(order_module, "row_hashes", lambda X, y: np.zeros(len(y), dtype=np.uint64))
    rng = np.random.default_rng(6)
    X, y = rng.standard_normal((30, 2)), rng.standard_normal(30)
    p = rng.permutation(30)
    a, b = order_module.canonical_order(X, y), order_module.canonical_order(X[p], y[p])
    assert np.array_equal(X[a], X[p][b])
    Z = np.column_stack([X, y])[a]
    assert all(tuple(Z[i]) <= tuple(Z[i + 1]) for i in range(len(Z) - 1))


def test_the_hash_separates_distinct_rows():
    """The 64-bit hashes of 10^5 distinct Gaussian rows are distinct (a collision among them has
    probability about n^2 / 2^65 < 3e-10 for a hash that behaves like a random function)."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((100_000, 4))
    h = row_hashes(X, X[:, 0])
    assert len(np.unique(h)) == len(h)
