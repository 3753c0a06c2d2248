"""The pieces the paper learners share (verified_relu.learners._paper) and the dispatch."""

import math

import mpmath
import numpy as np
import pytest
from scipy.stats import binomtest

from verified_relu import ReLUNetwork, instances, learn
from verified_relu.learners import _paper


@pytest.mark.parametrize("l", [1, 2, 4, 6, 8])
def test_normalized_contraction_is_the_abs_form_tensor(l):
    # T_l(g, .., g, :, :) = sum_i lambda_i <u_i, g>^{l-2} u_i u_i^T for the |.| form <w,x> + sum lambda_i |<u_i,x>|
    net = instances.make("random", 5, 3, rng=2)
    canon = net.canonical()
    U, lam, w = np.asarray(canon.directions), np.asarray(canon.coefficients), np.asarray(canon.linear)
    gen = np.random.default_rng(3)
    g = gen.standard_normal(5)
    g /= np.linalg.norm(g)
    X, y = net.sample(200_000, rng=4)
    M, op_se = _paper.normalized_contraction(X, y, l, g)
    assert op_se > 0
    exact = w if l == 1 else (U.T * (lam * (U @ g) ** (l - 2))) @ U
    # l = 1: op_se = sqrt(sum se^2) = sqrt(E||err||^2), and P(||err||^2 > 25 E||err||^2) <= 5.7e-7
    # for a Gaussian vector (Szekely & Bakirov 2003).  l >= 2: op_se is op_se_bound >= E||err||_op
    # (Tropp), and ||err||_op = sup_a |a^T err a| has Gaussian concentration with Lipschitz constant
    # sup_a sd(a^T err a) <= op_se = op_se_bound / sqrt(2 log 2d) < op_se_bound / 2, so exceeding
    # 5 op_se_bound has probability below exp(-8^2 / 2) = 1e-14 (normal approximation throughout)
    err = np.linalg.norm(M - exact) if l == 1 else np.linalg.norm(M - exact, 2)
    assert err <= 5 * op_se


def test_cap_fraction_against_monte_carlo():
    gen = np.random.default_rng(0)
    for dim, radius in [(2, 0.3), (3, 0.5), (4, 1.0), (5, 1.6)]:
        P = gen.standard_normal((200_000, dim))
        P /= np.linalg.norm(P, axis=1, keepdims=True)
        p_hat = float(np.mean(np.linalg.norm(P - np.eye(1, dim), axis=1) <= radius))
        p = _paper.cap_fraction(dim, radius)
        se = math.sqrt(p * (1 - p) / len(P))
        assert abs(p_hat - p) <= 5 * se


@pytest.mark.parametrize(("dim", "radius"), [(2, 0.2), (3, 0.3), (4, 0.4)])
def test_cube_net_covers_within_its_certified_radius(dim, radius):
    P, rec = _paper.sphere_net(dim, radius)
    assert rec["certified_radius"] <= radius
    assert np.allclose(np.linalg.norm(P, axis=1), 1.0)
    gen = np.random.default_rng(dim)
    Z = gen.standard_normal((20_000, dim))
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    # the worst of 20000 random points and of the 2^dim cube corners (the farthest from the face grids)
    corners = np.array(np.meshgrid(*[[-1.0, 1.0]] * dim)).reshape(dim, -1).T / math.sqrt(dim)
    Z = np.concatenate([Z, corners])
    far = max(float(np.min(np.linalg.norm(P - z, axis=1))) for z in Z)
    assert far <= rec["certified_radius"] + 1e-12


def test_random_net_is_a_net_with_the_stated_probability():
    # On the circle the coverage probability is known exactly.  m points leave no point of the
    # circle farther than chord r iff every gap between consecutive angles is at most
    # g = 4 asin(r / 2) (the worst point of a gap G is at chord 2 sin(G / 4)), and for m uniform
    # points P(all gaps <= a) = sum_j (-1)^j C(m, j) (1 - j a)_+^(m-1) with a = g / (2 pi)
    # (Stevens 1939).  So: the claim P >= 1 - delta exactly, and the implementation against the
    # exact probability by a 5-sigma binomial test (Clopper-Pearson at 1 - 5.7e-7), which needs
    # no slack between the rate and 1 - delta (the old 99% lower-end test did).
    dim, radius, delta, trials = 2, 0.3, 0.2, 5000
    size = _paper.random_net_size(dim, radius, delta)
    ctx = mpmath.MPContext()
    ctx.dps = 30
    a = 4 * ctx.asin(ctx.mpf(radius) / 2) / (2 * ctx.pi)
    exact = float(
        ctx.fsum((-1) ** j * ctx.binomial(size, j) * (1 - j * a) ** (size - 1) for j in range(int(1 / a) + 1))
    )
    assert 1 - delta <= exact < 1
    gen = np.random.default_rng(7)
    ok = 0
    for _ in range(trials):
        P, _ = _paper.sphere_net(dim, radius, gen, kind="random", delta=delta)
        assert len(P) == size
        t = np.sort(np.arctan2(P[:, 1], P[:, 0]))
        largest_gap = float(np.max(np.diff(np.concatenate([t, [t[0] + 2 * np.pi]]))))
        ok += 2 * math.sin(largest_gap / 4) <= radius  # the exact covering radius of the circle
    ci = binomtest(ok, trials).proportion_ci(confidence_level=1 - 5.7e-7, method="exact")
    assert ci.low <= exact <= ci.high, (ok, trials, exact)


@pytest.mark.parametrize("R,spacing", [(2.0, 0.3), (0.7, 0.01), (2.9, 0.07), (3.3, 0.01), (7.1, 0.01)])
def test_weight_grid(R, spacing):
    """Contains -R, 0 and R exactly (the last four cases have no exact 0 in linspace), symmetric,
    with steps at most the spacing up to the rounding of the points."""
    grid = _paper.weight_grid(R, spacing)
    assert grid[0] == -R and grid[-1] == R and 0.0 in grid
    assert np.array_equal(grid, -grid[::-1])
    assert np.max(np.diff(grid)) <= spacing + 4 * R * 2.0**-52  # each point R i / m is within R u of exact


def test_draw_direction_conditions_on_lemmas_3_and_4():
    net = instances.make("close_pair", 10, 4, rng=0, theta=0.05)
    gen = np.random.default_rng(1)
    for _ in range(20):
        g, rec = _paper.draw_direction(10, 4, gen, teacher=net)
        assert rec["checked"] and rec["holds"]
        U = np.asarray(net.canonical().directions)
        assert rec["margins"] == _paper.anticoncentration(g, U, 4)
    g, rec = _paper.draw_direction(10, 4, gen)
    # a normalized vector's computed norm is 1 to within (d + 3) u (normalizing: u + (d/2 + 1) u;
    # the norm again: (d/2 + 1) u), u = eps / 2
    assert rec == {"checked": False, "draws": 1, "note": rec["note"]}
    assert abs(np.linalg.norm(g) - 1) <= (10 + 3) * np.finfo(float).eps / 2


def test_abs_form_network_is_pointwise_the_abs_form():
    gen = np.random.default_rng(2)
    U = gen.standard_normal((3, 4))
    lam, w = gen.standard_normal(3), gen.standard_normal(4)
    X = gen.standard_normal((50, 4))
    net = _paper.abs_form_network(w, lam, U)
    assert np.allclose(net(X), X @ w + np.abs(X @ U.T) @ lam, atol=1e-13)
    empty = _paper.abs_form_network(w, [], [])
    assert np.allclose(empty(X), X @ w)


def test_paper_methods_dispatch_options():
    net = instances.make("random", 4, 2, rng=0)
    X, y = net.sample(4000, rng=1)
    for method in ("cdgkm", "netlearn", "dk"):
        with pytest.raises(TypeError, match="unknown option"):
            learn(X, y, 2, method=method, not_an_option=1)
        with pytest.raises(TypeError, match="params must be"):
            learn(X, y, 2, method=method, params=object())
        with pytest.raises(TypeError, match="teacher must be"):
            learn(X, y, 2, method=method, teacher="net")
        with pytest.raises(ValueError, match="teacher has d"):
            learn(X, y, 2, method=method, teacher=ReLUNetwork(np.eye(3)[:2], [1.0, 1.0]))


@pytest.mark.parametrize(("d", "k", "seed", "n"), [(2, 1, 0, 20_000), (2, 1, 1, 20_000), (3, 2, 2, 70_000)])
def test_dk_without_departures_reaches_eps(d, k, seed, n):
    # DK24's own parameters (C = 2, eps = 1/2, R = ||lambda||_1), no departure: ||F~ - F|| <= eps, exactly measured
    from verified_relu.learners import DKParams

    net = instances.make("random", d, k, rng=seed)
    R = float(np.sum(np.abs(net.coefficients) * np.linalg.norm(net.weights, axis=1)))
    params = DKParams.from_theory(d, k, 0.5, R=R, C=2)
    X, y = net.sample(n, rng=10 + seed)
    res = learn(X, y, k, method="dk", rng=seed, params=params)
    assert res.diagnostics["departures"] == []
    assert net.squared_distance(res.network) <= 0.5**2
