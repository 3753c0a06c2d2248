"""Metrics: d_param against a direct enumeration, CDGKM Lemma 22, neuron matching, relative errors."""

import itertools
import json
import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from verified_relu import CanonicalNetwork, ReLUNetwork
from verified_relu.instances import make
from verified_relu.metrics import (
    ParamDistance,
    l1_relative_error,
    match_neurons,
    param_distance,
    relative_error,
)
from verified_relu.testing import strategies as vst

SEEDS = st.integers(0, 2**32 - 1)


def _pair_cost(lam, u, lam2, v, up_to_sign):
    """|lambda - lambda'| + min_s |u - s v| by plain Python (math.dist), per the definition."""
    dist = math.dist(u, v)
    if up_to_sign:
        dist = min(dist, math.dist(u, [-t for t in v]))
    return abs(lam - lam2) + dist


def _canon(net):
    return net.canonical() if isinstance(net, ReLUNetwork) else net


def _costs(A, B, up_to_sign):
    """The k x k matrix of pair costs, as nested lists."""
    lam, lam2 = A.coefficients, B.coefficients
    U, V = A.directions, B.directions
    return [[_pair_cost(lam[i], U[i], lam2[j], V[j], up_to_sign) for j in range(B.k)] for i in range(A.k)]


def _oracle(a, b, up_to_sign=True):
    """d_param by enumerating all permutations (CDGKM Lemma 22's definition, literally)."""
    A, B = _canon(a), _canon(b)
    k = A.k
    cost = _costs(A, B, up_to_sign)
    return min(max(cost[i][p[i]] for i in range(k)) for p in itertools.permutations(range(k)))


def _stable_angle(u, v):
    return 2 * math.atan2(math.dist(u, v), math.dist(u, [-t for t in v]))


def _perturbed(C, rng, eps, flip=True):
    """A CanonicalNetwork near C: coefficients and directions moved by ~eps, neurons shuffled
    and (if flip) directions negated at random; also returns the permutation used."""
    perm = rng.permutation(C.k)
    U = C.directions + eps * rng.standard_normal(C.directions.shape)
    U /= np.linalg.norm(U, axis=1)[:, None]
    if flip:
        U *= rng.choice([-1.0, 1.0], C.k)[:, None]
    lam = C.coefficients + eps * rng.standard_normal(C.k)
    return CanonicalNetwork(C.linear, lam[perm], U[perm]), perm


# ----------------------------------------------------------------------------- d_param
def test_doc_example_and_exact_values():
    A = CanonicalNetwork([0.0, 0.0], [1.0, -0.5], [[1.0, 0.0], [0.0, 1.0]])
    B = CanonicalNetwork([0.0, 0.0], [-0.5, 1.25], [[0.0, -1.0], [1.0, 0.0]])
    assert param_distance(A, B) == 0.25
    assert param_distance(A, B, up_to_sign=False) == 2.0  # |e2 - (-e2)| = 2
    assert param_distance(A, A) == 0.0


@given(vst.networks(d=st.integers(2, 5), k=st.integers(1, 6)), SEEDS)
def test_zero_for_permuted_sign_flipped_copy(net, seed):
    C = net.canonical()
    copy, _ = _perturbed(C, np.random.default_rng(seed), 0.0)
    # CanonicalNetwork renormalizes the (already unit) rows: an ulp or two of change
    assert param_distance(net, copy) <= 1e-15 * (1 + C.l1_norm)
    assert param_distance(net, net) == 0.0
    assert param_distance(C, C, up_to_sign=False) == 0.0


def test_sign_matters_without_up_to_sign():
    net = ReLUNetwork([[0.6, 0.8]], [3.0])
    C = net.canonical()
    flipped = CanonicalNetwork(C.linear, C.coefficients, -C.directions)
    assert param_distance(net, flipped) == 0.0
    assert param_distance(net, flipped, up_to_sign=False) == 2.0


@st.composite
def _same_width_pairs(draw, max_k=7):
    d = draw(st.integers(2, 5))
    k = draw(st.integers(1, max_k))
    a = draw(vst.networks(d=d, k=k))
    if draw(st.booleans()):
        b = draw(vst.networks(d=d, k=k))
    else:  # near a: small costs and many near-ties
        eps = 10 ** draw(st.floats(-8, 0))
        b, _ = _perturbed(a.canonical(), np.random.default_rng(draw(SEEDS)), eps)
    return a, b


@given(_same_width_pairs(max_k=6), st.booleans())
def test_matches_direct_enumeration(pair, up_to_sign):
    a, b = pair
    expected = _oracle(a, b, up_to_sign)
    for method in ("brute", "matching", "auto"):
        got = param_distance(a, b, up_to_sign=up_to_sign, method=method)
        assert math.isclose(got, expected, rel_tol=1e-14, abs_tol=1e-300), method


@given(_same_width_pairs(max_k=7))
def test_brute_force_equals_bottleneck_matching(pair):
    a, b = pair
    assert param_distance(a, b, method="brute") == param_distance(a, b, method="matching")


def test_brute_force_equals_bottleneck_matching_with_ties():
    # orthonormal frames with equal coefficients: most costs tie exactly
    for k in (3, 5, 8, 9):
        a, b = make("orthonormal", 9, k, rng=1), make("orthonormal", 9, k, rng=2)
        assert param_distance(a, b, method="brute") == param_distance(a, b, method="matching")
        assert param_distance(a, a, method="matching") == 0.0


@given(_same_width_pairs(max_k=6))
def test_symmetry(pair):
    a, b = pair
    assert param_distance(a, b) == param_distance(b, a)


@given(vst.networks(d=4, k=st.integers(1, 6)), vst.networks(d=4, k=st.integers(1, 6)), SEEDS)
def test_invariant_under_permuting_neurons(a, b, seed):
    if a.k != b.k:
        b = make("random", 4, a.k, rng=seed)
    rng = np.random.default_rng(seed)
    pa, pb = rng.permutation(a.k), rng.permutation(b.k)
    a2 = ReLUNetwork(a.weights[pa], a.coefficients[pa], a.linear)
    b2 = ReLUNetwork(b.weights[pb], b.coefficients[pb], b.linear)
    assert param_distance(a2, b2) == param_distance(a, b)


@given(_same_width_pairs(max_k=6), st.booleans())
def test_return_matching(pair, up_to_sign):
    a, b = pair
    res = param_distance(a, b, up_to_sign=up_to_sign, return_matching=True)
    assert isinstance(res, ParamDistance)
    assert res.distance == param_distance(a, b, up_to_sign=up_to_sign)
    assert sorted(res.permutation) == list(range(a.k))
    if not up_to_sign:
        assert set(res.signs) == {1}
    A, B = a.canonical(), _canon(b)
    cost = _costs(A, B, up_to_sign)
    costs = []
    for i, (j, s) in enumerate(zip(res.permutation, res.signs)):
        direct = abs(A.coefficients[i] - B.coefficients[j]) + math.dist(A.directions[i], s * B.directions[j])
        costs.append(direct)
        assert math.isclose(res.costs[i], direct, rel_tol=1e-14, abs_tol=1e-300)
        # the sign is the better one
        assert direct <= cost[i][j] * (1 + 1e-14)
    assert max(res.costs) == res.distance
    # least total cost among the optimal-bottleneck matchings (by enumeration)
    k = a.k
    best_sum = min(
        math.fsum(cost[i][p[i]] for i in range(k))
        for p in itertools.permutations(range(k))
        if max(cost[i][p[i]] for i in range(k)) <= res.distance * (1 + 1e-14)
    )
    assert math.fsum(costs) <= best_sum * (1 + 1e-13) + 1e-300
    # the linear terms: w = a + sum_i mu_i w_i / 2 (CDGKM Lemma 2)
    wa = a.linear + a.coefficients @ a.weights / 2
    wb = (b.linear + b.coefficients @ b.weights / 2) if isinstance(b, ReLUNetwork) else b.linear
    assert math.isclose(res.linear_distance, float(np.linalg.norm(wa - wb)), rel_tol=1e-12, abs_tol=1e-15)
    json.dumps(res.to_dict())


def test_large_width_known_matching(rng):
    # k = 12 uses the matching algorithm; b is a shuffled copy of a with known per-pair costs
    # far below every cross cost, so d_param is the largest planted cost.
    k, d = 12, 30
    a = make("orthonormal", d, k, rng=rng).canonical()
    a = CanonicalNetwork(a.linear, rng.uniform(0.5, 1.5, k), a.directions)
    shift = rng.uniform(0, 1e-3, k)
    perm = rng.permutation(k)
    signs = rng.choice([-1.0, 1.0], k)
    b = CanonicalNetwork(a.linear, (a.coefficients + shift)[perm], (a.directions * signs[:, None])[perm])
    res = param_distance(a, b, return_matching=True)
    np.testing.assert_array_equal(np.array(res.permutation)[perm], np.arange(k))  # b[j] = a[perm[j]]
    np.testing.assert_array_equal(res.signs, signs)  # b[j] = signs[perm[j]] a[perm[j]]
    expected = max(abs(a.coefficients[i] - (a.coefficients[i] + shift[i])) for i in range(k))
    assert math.isclose(res.distance, expected, rel_tol=1e-12)
    assert param_distance(a, b, method="brute" if k <= 9 else "matching") == res.distance


# ----------------------------------------------------------------------------- CDGKM Lemma 22
@given(
    net=vst.networks(d=st.integers(2, 5), k=st.integers(1, 4)),
    seed=SEEDS,
    log_eps=st.floats(-8, 0),
    flip=st.booleans(),
)
def test_cdgkm_lemma_22(net, seed, log_eps, flip):
    # ||f - f'||_2 <= k sqrt(1 + 2 R^2) d_param for f = sum_i lambda_i |<u_i, x>| (no linear
    # term), with sum |lambda_i| <= R for both networks.  Left side at 30 digits.
    C = net.canonical()
    f = CanonicalNetwork(np.zeros(C.d), C.coefficients, C.directions)
    g, _ = _perturbed(f, np.random.default_rng(seed), 10**log_eps, flip=flip)
    R = max(f.l1_norm, g.l1_norm)
    lhs = mpmath.sqrt(f.squared_distance(g, dps=30))
    rhs = f.k * math.sqrt(1 + 2 * R * R) * param_distance(f, g)
    assert lhs <= rhs * (1 + 1e-12)


# ----------------------------------------------------------------------------- match_neurons
def test_match_neurons_recovers_planted_pairs(rng):
    k, d = 6, 8
    true = make("random", d, k, rng=rng)
    C = true.canonical()
    thetas = np.array([1e-9, 1e-6, 1e-4, 1e-3, 1e-2, 0.1])
    rows = []
    for u, t in zip(C.directions, thetas):
        e = rng.standard_normal(d)
        e -= (e @ u) * u
        e -= (e @ u) * u
        e /= np.linalg.norm(e)
        rows.append(math.cos(t) * u + math.sin(t) * e)
    signs = rng.choice([-1.0, 1.0], k)
    perm = rng.permutation(k)
    lam = rng.uniform(-2, 2, k)
    learned = CanonicalNetwork(np.zeros(d), lam[perm], (np.array(rows) * signs[:, None])[perm])
    m = match_neurons(true, learned)
    assert m.unmatched_true == m.unmatched_learned == ()
    for i, p in enumerate(m.pairs):
        assert p.true_index == i
        assert perm[p.learned_index] == i
        assert p.sign == signs[i]
        assert math.isclose(p.angle, thetas[i], rel_tol=1e-6 if thetas[i] < 1e-6 else 1e-12, abs_tol=1e-15)
        assert p.true_coefficient == C.coefficients[i]
        assert math.isclose(p.learned_coefficient, lam[i], rel_tol=1e-15)  # rows renormalized
    assert m.max_angle == max(p.angle for p in m.pairs)
    json.dumps(m.to_dict())


def test_match_neurons_without_sign_is_accurate_near_antipodal():
    theta = 1e-9
    u = np.array([1.0, 0.0, 0.0])
    v = -np.array([math.cos(theta), math.sin(theta), 0.0])
    m = match_neurons(ReLUNetwork([u], [1.0]), ReLUNetwork([v], [1.0]), up_to_sign=False)
    assert m.pairs[0].sign == 1
    assert abs(m.pairs[0].angle - (math.pi - theta)) <= 1e-15  # arccos(<u, v>) would give pi exactly
    m = match_neurons(ReLUNetwork([u], [1.0]), ReLUNetwork([v], [1.0]))
    assert m.pairs[0].sign == -1 and math.isclose(m.pairs[0].angle, theta, rel_tol=1e-6)


def test_match_neurons_different_widths(rng):
    true = make("random", 5, 6, rng=rng)
    keep = [4, 0, 2]
    learned = ReLUNetwork(true.weights[keep], true.coefficients[keep])
    m = match_neurons(true, learned)
    assert [(p.true_index, p.learned_index) for p in m.pairs] == [(0, 1), (2, 2), (4, 0)]
    assert all(p.angle == 0.0 for p in m.pairs)
    assert m.unmatched_true == (1, 3, 5) and m.unmatched_learned == ()
    m = match_neurons(learned, true)
    assert m.unmatched_true == () and m.unmatched_learned == (1, 3, 5)


@given(vst.networks(d=3, k=st.integers(1, 5)), vst.networks(d=3, k=st.integers(1, 5)), st.booleans())
def test_match_neurons_minimises_total_angle(a, b, up_to_sign):
    m = match_neurons(a, b, up_to_sign=up_to_sign)
    A, B = a.canonical(), b.canonical()
    ang = [[_stable_angle(u, v) for v in B.directions] for u in A.directions]
    if up_to_sign:
        ang = [[min(t, math.pi - t) for t in row] for row in ang]
    n = min(A.k, B.k)
    if A.k <= B.k:
        best = min(math.fsum(ang[i][p[i]] for i in range(n)) for p in itertools.permutations(range(B.k), n))
    else:
        best = min(math.fsum(ang[p[j]][j] for j in range(n)) for p in itertools.permutations(range(A.k), n))
    assert len(m.pairs) == n
    assert math.isclose(math.fsum(p.angle for p in m.pairs), best, rel_tol=1e-12, abs_tol=1e-14)
    for p in m.pairs:
        assert 0 <= p.angle <= (math.pi / 2 if up_to_sign else math.pi)
        direct = _stable_angle(A.directions[p.true_index], p.sign * B.directions[p.learned_index])
        assert math.isclose(p.angle, direct, rel_tol=1e-12, abs_tol=1e-15)


# ----------------------------------------------------------------------------- relative errors
def test_relative_error_closed_forms():
    # F = relu(x1), G = relu(x2): E(F - G)^2 = 1 - 2/(2 pi), E F^2 = 1/2, ||lambda||_1 = 1/2
    F = ReLUNetwork([[1.0, 0.0]], [1.0])
    G = ReLUNetwork([[0.0, 1.0]], [1.0])
    assert math.isclose(relative_error(F, G), 2 - 2 / math.pi, rel_tol=1e-15)
    assert math.isclose(l1_relative_error(F, G), 4 * (1 - 1 / math.pi), rel_tol=1e-15)
    ctx = mpmath.MPContext()
    ctx.dps = 50
    assert abs(relative_error(F, G, dps=50) - (2 - 2 / ctx.pi)) < ctx.mpf(10) ** -48
    assert abs(l1_relative_error(F, G, dps=50) - 4 * (1 - 1 / ctx.pi)) < ctx.mpf(10) ** -48
    # a zero learned network: relative error exactly 1
    assert relative_error(F, ReLUNetwork([[0.0, 1.0]], [0.0])) == 1.0


@given(vst.networks(d=st.integers(2, 5), k=st.integers(1, 4)), vst.networks(d=5, k=st.integers(1, 4)))
def test_relative_errors_are_the_stated_ratios(F, G):
    if G.d != F.d:
        G = ReLUNetwork(G.weights[:, : F.d] + 1e-3, G.coefficients)
    num, den = F.squared_distance(G), F.norm_squared()
    assert math.isclose(relative_error(F, G), num / den, rel_tol=1e-15)
    l1 = math.fsum(abs(m) * math.hypot(*w) / 2 for m, w in zip(F.coefficients, F.weights))
    assert math.isclose(l1_relative_error(F, G), num / l1**2, rel_tol=1e-14)
    assert math.isclose(l1_relative_error(F.canonical(), G), num / l1**2, rel_tol=1e-13)


def test_dk_example_small_l1_error_large_relative_error():
    # DK24: approximating F by 0 is 100% relative error but tiny on the ||lambda||_1 scale
    theta = 0.05
    F = make("dk_cancel", 4, 3, rng=3, theta=theta)
    zero = ReLUNetwork(F.weights[:1], [0.0])
    assert abs(relative_error(F, zero, dps=40) - 1) < mpmath.mpf(10) ** -38
    exact = (mpmath.mpf(theta) - mpmath.sin(theta)) / mpmath.pi / ((2 + 2 * mpmath.cos(theta / 2)) / 2) ** 2
    assert abs(l1_relative_error(F, zero, dps=40) / exact - 1) < 1e-9


def test_mp_path_agrees_with_float(rng):
    F, G = make("random", 4, 3, rng=rng), make("clump", 4, 3, rng=rng)
    assert math.isclose(float(relative_error(F, G, dps=30)), relative_error(F, G), rel_tol=1e-12)
    assert math.isclose(float(l1_relative_error(F, G, dps=30)), l1_relative_error(F, G), rel_tol=1e-12)
    assert math.isclose(float(l1_relative_error(F.canonical(), G, dps=30)), l1_relative_error(F, G), rel_tol=1e-12)


# ----------------------------------------------------------------------------- bad input
NET3 = ReLUNetwork([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [1.0, -1.0])
ZERO3 = ReLUNetwork([[1.0, 0.0, 0.0]], [0.0])
WIDE = make("random", 3, 10, rng=0)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: param_distance("x", NET3), TypeError, "a must be a ReLUNetwork"),
        (lambda: param_distance(NET3, np.eye(3)), TypeError, "b must be a ReLUNetwork"),
        (lambda: param_distance(NET3, WIDE), ValueError, r"width mismatch, a has k = 2.*b has k = 10"),
        (lambda: param_distance(NET3, make("random", 4, 2, rng=0)), ValueError, r"mismatch, a has d = 3.*b has d = 4"),
        (lambda: param_distance(NET3, NET3, method="hungarian"), ValueError, "method must be one of"),
        (lambda: param_distance(WIDE, WIDE, method="brute"), ValueError, "method='brute'.*k <= 9"),
        (lambda: param_distance(NET3, NET3, up_to_sign="yes"), TypeError, "up_to_sign must be a bool"),
        (lambda: param_distance(NET3, NET3, return_matching=1), TypeError, "return_matching must be a bool"),
        (lambda: match_neurons(None, NET3), TypeError, "true must be a ReLUNetwork"),
        (lambda: match_neurons(NET3, [1.0]), TypeError, "learned must be a ReLUNetwork"),
        (lambda: match_neurons(NET3, make("random", 2, 2, rng=0)), ValueError, "dimension mismatch, true has d = 3"),
        (lambda: match_neurons(NET3, NET3, up_to_sign=None), TypeError, "up_to_sign must be a bool"),
        (lambda: relative_error("F", NET3), TypeError, "true must be a ReLUNetwork"),
        (lambda: relative_error(NET3, 0.0), TypeError, "learned must be a ReLUNetwork"),
        (lambda: relative_error(NET3, make("random", 2, 2, rng=0)), ValueError, "true has d = 3 but learned has d = 2"),
        (lambda: relative_error(ZERO3, NET3), ValueError, "true has E.F.2. = 0"),
        (lambda: relative_error(NET3, NET3, dps=5), ValueError, "dps must be between"),
        (lambda: l1_relative_error(NET3, "G"), TypeError, "learned must be a ReLUNetwork"),
        (lambda: l1_relative_error(3, NET3), TypeError, "true must be a ReLUNetwork"),
        (lambda: l1_relative_error(NET3, make("random", 4, 1, rng=0)), ValueError, "dimension mismatch"),
        (lambda: l1_relative_error(ZERO3, NET3), ValueError, r"true has \|\|lambda\|\|_1 = 0"),
        (lambda: l1_relative_error(ZERO3, NET3, dps=20), ValueError, r"\|\|lambda\|\|_1 = 0"),
        (lambda: l1_relative_error(NET3, NET3, dps=2.5), TypeError, "dps must be an int"),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
