"""Tests of :mod:`verified_relu.identifiability` (certificates that a sample does not pin down a pair)."""

import json

import numpy as np
import pytest

from verified_relu.identifiability import (
    PairAmbiguity,
    ambiguous_pair,
    pair_certificate,
    refit_certificate,
    sample_certificate,
    wedge_second_moment,
)
from verified_relu.instances import make
from verified_relu.network import ReLUNetwork

Z99 = 2.5758293035489004  # two-sided 99% normal quantile


def _forward(W, mu, lin, X):
    """Independent evaluation of ``sum_i mu_i relu(<w_i, x>) + <a, x>``."""
    return np.maximum(X @ np.asarray(W).T, 0.0) @ np.asarray(mu) + X @ np.asarray(lin)


@pytest.fixture(scope="module")
def close_pair_case():
    d, k = 20, 4
    net = make("close_pair", d, k, rng=0, theta=0.01)
    X, y = net.sample(50 * d * k, rng=0)
    return net, X, y, ambiguous_pair(net, X)


def test_close_pair_is_ambiguous(close_pair_case):
    net, X, y, result = close_pair_case
    assert isinstance(result, PairAmbiguity)
    assert result.ambiguous is True
    alt = result.alternative
    assert isinstance(alt, ReLUNetwork)
    # labels reproduced everywhere on X, evaluated independently from the alternative's parameters
    y_alt = _forward(alt.weights, alt.coefficients, alt.linear, X)
    assert np.max(np.abs(y_alt - y)) <= 1e-12 * np.max(np.abs(y))
    # only rows 0 and 1 moved, and they moved by +y/p and -y/q for one y (p = 1, q = -1)
    np.testing.assert_array_equal(alt.coefficients, net.coefficients)
    np.testing.assert_array_equal(alt.weights[2:], net.weights[2:])
    shift_a = (alt.weights[0] - net.weights[0]) * net.coefficients[0]
    shift_b = -(alt.weights[1] - net.weights[1]) * net.coefficients[1]
    np.testing.assert_allclose(shift_a, shift_b, rtol=0, atol=1e-15)
    assert np.linalg.norm(shift_a) > 0
    # the activation pattern of the moved neurons is the same on every sample
    for row in (0, 1):
        np.testing.assert_array_equal(X @ alt.weights[row] > 0, X @ net.weights[row] > 0)
    # above the exact-recovery threshold, and the float64 value matches a 30-digit evaluation
    assert result.relative_distance > 1e-10
    exact = float(alt.squared_distance(net, dps=30) / net.norm_squared(dps=30))
    assert result.relative_distance == pytest.approx(exact, rel=1e-5)
    # wedge count from the signs, independently
    s0, s1 = X @ net.weights[0], X @ net.weights[1]
    assert result.wedge_samples == int(np.sum((s0 > 0) ^ (s1 > 0)))
    wedge_rank = np.linalg.matrix_rank(X[(s0 > 0) ^ (s1 > 0)])
    assert result.free_dimensions == net.d - wedge_rank > 0
    assert result.sample_max_abs_difference == pytest.approx(float(np.max(np.abs(y_alt - y))), abs=1e-15)


def test_cancelling_pair_certificate_is_judged_on_the_rounding_scale():
    """k = 2, mu = (1, -1), angle 0.01: max |F(X)| is about 0.01 of the terms mu_i <w_i, x> that are
    summed to evaluate F, so a rounding-level disagreement can exceed 100 ulps of max |F(X)|.  The
    certificate is accepted because, evaluated exactly in rational arithmetic, the two networks differ
    on X by far less than 1e-12 of the terms' scale while their population distance is above 1e-4."""
    from fractions import Fraction

    net = make("close_pair", 20, 2, rng=0, theta=0.01)
    X, y = net.sample(2000, rng=1000)
    result = ambiguous_pair(net, X)
    assert result.ambiguous and result.relative_distance > 1e-4
    alt = result.alternative

    def exact(W, mu, lin, x):
        xq = [Fraction(v) for v in x]
        total = sum(Fraction(m) * max(sum(Fraction(p) * q for p, q in zip(row, xq)), 0) for m, row in zip(mu, W))
        return total + sum(Fraction(p) * q for p, q in zip(lin, xq))

    Wt, mt, lt = net.weights.tolist(), net.coefficients.tolist(), net.linear.tolist()
    Wa, ma, la = alt.weights.tolist(), alt.coefficients.tolist(), alt.linear.tolist()
    diff = max(abs(exact(Wa, ma, la, x) - exact(Wt, mt, lt, x)) for x in X.tolist())
    terms = float(np.max(np.abs(X @ net.weights.T) @ np.abs(net.coefficients)))
    assert float(diff) <= 1e-12 * terms
    # max |F(X)| is the wrong yardstick here: it is two orders of magnitude below the terms
    assert np.max(np.abs(y)) < 0.05 * terms


def test_result_is_deterministic_and_serialisable(close_pair_case):
    net, X, _, result = close_pair_case
    again = ambiguous_pair(net, X)
    assert again.relative_distance == result.relative_distance
    assert again.alternative == result.alternative
    data = json.loads(json.dumps(result.to_dict()))
    assert data["ambiguous"] is True
    assert data["wedge_samples"] == result.wedge_samples
    assert ReLUNetwork.from_dict(data["alternative"]) == result.alternative


def test_spanning_wedge_gives_no_certificate():
    net = make("close_pair", 5, 4, rng=1, theta=0.3)
    X, _ = net.sample(4000, rng=1)
    s0, s1 = X @ net.weights[0], X @ net.weights[1]
    assert np.linalg.matrix_rank(X[(s0 > 0) ^ (s1 > 0)]) == 5  # precondition, checked independently
    result = ambiguous_pair(net, X)
    assert result.ambiguous is False
    assert result.alternative is None
    assert result.free_dimensions == 0
    assert result.relative_distance == 0.0
    assert result.wedge_samples == int(np.sum((s0 > 0) ^ (s1 > 0)))
    assert result.to_dict()["alternative"] is None


def _mc_squared_distance(f, g, d, m, seed, chunk=250_000):
    """Monte Carlo mean of ``(f - g)^2`` with its standard error."""
    gen = np.random.default_rng(seed)
    total, total_sq, done = 0.0, 0.0, 0
    while done < m:
        Z = gen.standard_normal((min(chunk, m - done), d))
        sq = (f(Z) - g(Z)) ** 2
        total += sq.sum()
        total_sq += (sq**2).sum()
        done += Z.shape[0]
    mean = total / m
    var = total_sq / m - mean**2
    return mean, np.sqrt(var / m)


@pytest.mark.parametrize(
    ("theta", "d", "k", "n", "m"),
    [(0.3, 5, 3, 40, 400_000), (0.01, 20, 4, 4000, 1_000_000)],
)
def test_population_distance_matches_monte_carlo(theta, d, k, n, m):
    net = make("close_pair", d, k, rng=0, theta=theta)
    X, _ = net.sample(n, rng=0)
    alt = ambiguous_pair(net, X).alternative
    assert alt is not None
    exact = alt.squared_distance(net)
    mean, se = _mc_squared_distance(alt, net, d, m, seed=12345)
    assert se > 0
    # 99% confidence: |MC - exact| <= z_{0.995} * standard error
    assert abs(mean - exact) <= Z99 * se, (mean, exact, se)


def test_wedge_second_moment_matches_monte_carlo():
    a = np.array([1.0, 0.2, -0.5])
    b = np.array([0.3, 1.1, 0.4]) * 2.0  # non-unit rows: only directions matter
    M = wedge_second_moment(a, b)
    gen = np.random.default_rng(7)
    m = 400_000
    Z = gen.standard_normal((m, 3))
    ind = ((Z @ a) > 0) != ((Z @ b) > 0)
    prods = Z[:, :, None] * Z[:, None, :] * ind[:, None, None]
    mean, se = prods.mean(axis=0), prods.std(axis=0) / np.sqrt(m)
    z = 3.14  # two-sided 99% for 6 distinct entries (Bonferroni)
    assert np.all(np.abs(mean - M) <= z * se)
    # trace = P(wedge) E[|x|^2 | wedge] = (theta / pi) * d by rotational symmetry
    cos = a @ b / np.linalg.norm(a) / np.linalg.norm(b)
    assert np.trace(M) == pytest.approx(np.arccos(cos) / np.pi * 3, rel=1e-12)
    np.testing.assert_allclose(wedge_second_moment(a, 3 * a), 0.0)
    np.testing.assert_allclose(wedge_second_moment(a, -a), np.eye(3))


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"net": "net"}, TypeError, "net must be a ReLUNetwork"),
        ({"X": np.zeros((5, 3))}, ValueError, r"X must have shape \(n, d\) with d = 20, got \(5, 3\)"),
        ({"X": np.zeros(20)}, ValueError, "X must be 2-dimensional"),
        ({"X": np.full((4, 20), np.nan)}, ValueError, "X must be finite"),
        ({"X": "abc"}, TypeError, "X must be numeric"),
        ({"i": 1}, ValueError, "i and j must be distinct"),
        ({"i": 4}, ValueError, "i must be <= 3"),
        ({"j": -1}, ValueError, "j must be >= 0"),
        ({"i": 0.0}, TypeError, "i must be an int"),
        ({"directions": -1}, ValueError, "directions must be >= 0"),
        ({"rng": "seed"}, TypeError, "rng must be"),
    ],
)
def test_bad_inputs_name_the_argument(kwargs, exc, match):
    net = make("close_pair", 20, 4, rng=0, theta=0.01)
    args = {"net": net, "X": np.ones((3, 20))}
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        ambiguous_pair(**args)


def test_zero_coefficient_is_rejected():
    net = ReLUNetwork([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [1.0, 0.0, 2.0])
    with pytest.raises(ValueError, match="coefficient of neuron j = 1 must be non-zero"):
        ambiguous_pair(net, np.ones((3, 2)))
    assert ambiguous_pair(net, np.ones((3, 2)), i=0, j=2).wedge_samples == 0


def test_sample_certificate_is_the_pair_search_then_the_refit_search(close_pair_case):
    """sample_certificate returns pair_certificate's certificate when it has one, and its distance is
    the closed form of a second network that agrees on every sample."""
    net, X, y, _ = close_pair_case
    pair = pair_certificate(net, X)
    assert pair is not None and pair["relative_distance"] > 1e-10
    assert sample_certificate(net, X, y) == pair


def test_a_sample_that_spans_every_wedge_gets_no_certificate():
    """Generic neurons at n = 50 d k: every pair's wedge holds hundreds of samples spanning R^d, so
    the pair search has nothing to move, and no refit on all samples differs from the truth
    (a generic network is determined by such a sample)."""
    net = make("random", 6, 3, rng=0)
    X, y = net.sample(900, rng=0)
    Z = X @ net.weights.T > 0
    for i, j in ((0, 1), (0, 2), (1, 2)):
        assert np.linalg.matrix_rank(X[Z[:, i] != Z[:, j]]) == 6
    assert pair_certificate(net, X) is None
    assert sample_certificate(net, X, y) is None


@pytest.mark.parametrize(
    ("fn", "kwargs", "exc", "match"),
    [
        (pair_certificate, {"network": "net"}, TypeError, "pair_certificate: network must be a ReLUNetwork"),
        (pair_certificate, {"X": np.zeros((5, 3))}, ValueError, r"X must have shape \(n, d\) with d = 6"),
        (pair_certificate, {"tol": -1.0}, ValueError, "tol must be"),
        (refit_certificate, {"y": np.zeros(4)}, ValueError, "y must have length 5"),
        (refit_certificate, {"y": np.full(5, np.nan)}, ValueError, "y must be finite"),
        (refit_certificate, {"tries": -1}, ValueError, "tries must be"),
        (refit_certificate, {"X": np.full((5, 6), np.inf)}, ValueError, "X must be finite"),
    ],
)
def test_certificate_searches_name_the_bad_argument(fn, kwargs, exc, match):
    net = make("random", 6, 3, rng=0)
    args = {"network": net, "X": np.ones((5, 6))}
    if fn is refit_certificate:
        args["y"] = np.ones(5)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        fn(**args)


@pytest.mark.parametrize("seed", range(5))
def test_full_rank_agrees_with_the_rank_of_all_rows(seed):
    from verified_relu.identifiability import _full_rank

    rng = np.random.default_rng(seed)
    d = 12
    full = rng.standard_normal((500, d))
    low = rng.standard_normal((500, d - 2)) @ rng.standard_normal((d - 2, d))  # rank d - 2
    late = np.vstack([low[:100], full[:20]])  # the first 4 d rows are deficient, all rows are not
    for A in (full, low, late, full[:30]):
        assert _full_rank(A, d) == (np.linalg.matrix_rank(A) >= d)
