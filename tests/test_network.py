"""ReLUNetwork: closed-form population functionals against quadrature and Monte Carlo."""

import itertools
import json
import math

import mpmath
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from numpy.polynomial import hermite_e

from verified_relu import CanonicalNetwork, ReLUNetwork


def _random_net(rng, k, d, linear=True):
    W = rng.standard_normal((k, d)) * rng.uniform(0.5, 2.0, (k, 1))
    mu = rng.choice([-1, 1], k) * rng.uniform(0.5, 1.5, k)
    a = rng.standard_normal(d) * 0.5 if linear else None
    return ReLUNetwork(W, mu, a)


@st.composite
def networks(draw, d=None):
    seed = draw(st.integers(0, 2**32 - 1))
    k = draw(st.integers(1, 5))
    d = d if d is not None else draw(st.integers(1, 8))
    return _random_net(np.random.default_rng(seed), k, d, linear=draw(st.booleans()))


def _scale(*nets):
    """The natural size of a Gram-form evaluation: (sum |mu_i| |w_i| + |a|)^2 over the nets."""
    return (
        sum(float(np.abs(n.coefficients) @ np.linalg.norm(n.weights, axis=1) + np.linalg.norm(n.linear)) for n in nets)
        ** 2
    )


# ----------------------------------------------------------------------- exact vs 2-D quadrature
def _quadrature_pair(mu1, w1, mu2, w2, dps=40):
    """E[(mu1 relu(<w1,x>) - mu2 relu(<w2,x>))^2] by mpmath 2-D quadrature in the plane of w1, w2
    (polar coordinates, the angle split at the four kinks), independent of the kernel formula."""
    ctx = mpmath.MPContext()
    ctx.dps = dps + 10
    w1 = [ctx.mpf(float(v)) for v in w1]
    w2 = [ctx.mpf(float(v)) for v in w2]
    n1 = ctx.sqrt(ctx.fdot(w1, w1))
    e1 = [v / n1 for v in w1]
    p = ctx.fdot(w2, e1)
    rest = [b - p * a for a, b in zip(e1, w2)]
    q = ctx.sqrt(ctx.fdot(rest, rest))
    m1, m2 = ctx.mpf(float(mu1)), ctx.mpf(float(mu2))

    def f(r, phi):
        z1, z2 = r * ctx.cos(phi), r * ctx.sin(phi)
        val = m1 * max(n1 * z1, 0) - m2 * max(p * z1 + q * z2, 0)
        return val * val * r * ctx.exp(-r * r / 2) / (2 * ctx.pi)

    a2 = ctx.atan2(-p, q)  # zero of p cos + q sin
    cuts = sorted(c % (2 * ctx.pi) for c in (ctx.pi / 2, 3 * ctx.pi / 2, a2, a2 + ctx.pi))
    phis = [ctx.mpf(0)] + cuts + [2 * ctx.pi]
    # the integrand is smooth on each cell; beyond r = 18 it is below exp(-160)
    return ctx.quad(f, [0, 6, 12, 18], phis, method="gauss-legendre")


def test_squared_distance_matches_40_digit_quadrature(rng):
    for trial in range(3):
        d = 5
        w1, w2 = rng.standard_normal(d), rng.standard_normal(d)
        if trial == 2:  # a nearly parallel pair
            w2 = w1 * 1.3 + 1e-3 * rng.standard_normal(d)
        mu1, mu2 = rng.uniform(-2, 2, 2)
        F, G = ReLUNetwork([w1], [mu1]), ReLUNetwork([w2], [mu2])
        ref = _quadrature_pair(mu1, w1, mu2, w2)
        got_mp = F.squared_distance(G, dps=40)
        assert abs(got_mp - ref) <= mpmath.mpf(10) ** -38 * (1 + abs(ref))
        got = F.squared_distance(G)
        assert abs(got - float(ref)) <= 1e-14 * _scale(F, G)


@pytest.mark.parametrize("k,d", [(1, 3), (3, 10), (6, 50), (4, 2)])
def test_squared_distance_monte_carlo_5_sigma(rng, k, d):
    F, G = _random_net(rng, k, d), _random_net(rng, k, d)
    X = rng.standard_normal((400_000, d))
    vals = (F(X) - G(X)) ** 2
    mean, se = vals.mean(), vals.std(ddof=1) / math.sqrt(len(vals))
    assert abs(F.squared_distance(G) - mean) <= 5 * se  # 5-sigma: false alarm < 6e-7


def test_norm_squared_float_vs_mp(rng):
    for _ in range(5):
        F = _random_net(rng, 4, 6)
        assert abs(F.norm_squared() - F.norm_squared(dps=50)) <= 1e-14 * _scale(F)


def test_cancelling_pair_is_accurate_at_high_precision():
    # DK24's example (digest 1.2): ||F||^2 ~ theta^3 / (6 pi) with O(1) weights
    theta = 1e-3
    u = np.array([1.0, 0.0, 0.0])
    v = np.array([math.cos(theta), math.sin(theta), 0.0])
    s = np.linalg.norm(u + v)
    F = ReLUNetwork([u, v, (u + v) / s], [1.0, 1.0, -s])
    val = F.norm_squared(dps=60)
    assert abs(val / (theta**3 / (6 * math.pi)) - 1) < 1e-2
    # and float64 stays within its stated absolute error bound
    assert abs(F.norm_squared() - float(val)) <= 1e-15 * 50 * _scale(F)


# ----------------------------------------------------------------------- hypothesis properties
@given(networks())
def test_distance_to_itself_is_zero(F):
    assert 0.0 <= F.squared_distance(F) <= 1e-14 * _scale(F)


@given(networks(d=4), networks(d=4))
def test_symmetry(F, G):
    assert abs(F.squared_distance(G) - G.squared_distance(F)) <= 1e-14 * _scale(F, G)


@given(networks(d=3), networks(d=3), networks(d=3))
def test_triangle_inequality_for_root(F, G, H):
    tol = 1e-7 * math.sqrt(_scale(F, G, H))  # sqrt of the rounding bound of each term
    assert math.sqrt(F.squared_distance(H)) <= math.sqrt(F.squared_distance(G)) + math.sqrt(G.squared_distance(H)) + tol


@given(networks())
@example(ReLUNetwork([[1e-3, 0.0], [0.0, 1e3]], [1e3, -1e-3], [0.5, 0.5]))
def test_round_trips_preserve_function(F):
    n2 = F.norm_squared()
    for G in (F.normalized(), F.canonical().to_network(), F.canonical()):
        assert abs(G.norm_squared() - n2) <= 1e-13 * _scale(F)
    X = np.random.default_rng(0).standard_normal((50, F.d))
    scale = np.abs(F(X)).max() + 1
    np.testing.assert_allclose(F.canonical()(X), F(X), rtol=0, atol=1e-13 * scale * 10)
    np.testing.assert_allclose(F.canonical().to_network()(X), F(X), rtol=0, atol=1e-13 * scale * 10)


@given(networks(d=3), networks(d=3), st.floats(0.01, 100))
def test_scaling(F, G, c):
    Fc = ReLUNetwork(F.weights, c * F.coefficients, c * F.linear)
    Gc = ReLUNetwork(G.weights, c * G.coefficients, c * G.linear)
    assert abs(Fc.squared_distance(Gc) - c * c * F.squared_distance(G)) <= 1e-13 * c * c * _scale(F, G)
    # positive homogeneity of relu: relu(s z) = s relu(z) for s > 0
    Fs = ReLUNetwork(F.weights * 3.0, F.coefficients / 3.0, F.linear)
    assert abs(Fs.squared_distance(F)) <= 1e-13 * _scale(F)


def test_canonical_form_is_cdgkm_lemma_2(rng):
    F = _random_net(rng, 3, 4)
    C = F.canonical()
    norms = np.linalg.norm(F.weights, axis=1)
    np.testing.assert_allclose(C.coefficients, F.coefficients * norms / 2, rtol=1e-15)
    np.testing.assert_allclose(C.linear, F.linear + F.coefficients @ F.weights / 2, rtol=1e-14)
    assert np.linalg.norm(C.linear - F.linear) <= C.l1_norm + 1e-12  # ||w|| <= ||lambda||_1


# ----------------------------------------------------------------------- moments
def _empirical_S(l, X):
    """Per-sample S_l(x) for small d directly from the definition (numpy's HermiteE basis):
    entry prod_j He_{n_j}(x_j) / sqrt(l!).  Independent of the library's recurrence."""
    n, d = X.shape
    out = np.empty((n,) + (d,) * l)
    for idx in itertools.product(range(d), repeat=l):
        prod = np.ones(n)
        for j in range(d):
            cnt = idx.count(j)
            if cnt:
                prod = prod * hermite_e.hermeval(X[:, j], [0] * cnt + [1])
        out[(slice(None),) + idx] = prod / math.sqrt(math.factorial(l))
    return out


@pytest.mark.parametrize("l", [0, 1, 2, 3, 4])
def test_hermite_moment_monte_carlo_5_sigma(rng, l):
    F = _random_net(rng, 3, 3)
    X = rng.standard_normal((200_000, 3))
    terms = F(X).reshape((-1,) + (1,) * l) * _empirical_S(l, X)
    mean = terms.mean(axis=0)
    se = terms.std(axis=0, ddof=1) / math.sqrt(len(X))
    exact = F.hermite_moment(l)
    # 5 sigma per entry; with <= 81 entries the family-wise false alarm is < 5e-5
    assert np.all(np.abs(exact - mean) <= 5 * se + 1e-15)
    if l == 3:
        assert np.all(exact == 0)  # odd l >= 3: c_l = 0


@pytest.mark.parametrize("l", [2, 3, 4, 6])
def test_moment_contraction_equals_contracted_tensor(rng, l):
    F = _random_net(rng, 4, 5)
    g = rng.standard_normal(5)
    g /= np.linalg.norm(g)
    T = F.hermite_moment(l)
    for _ in range(l - 2):
        T = np.tensordot(g, T, axes=(0, 0))
    M = F.moment_contraction(l, g)
    assert np.abs(M - T).max() <= 1e-14 * max(1.0, np.abs(T).max())
    np.testing.assert_array_equal(M, M.T)


def test_degree_two_needs_no_direction(rng):
    F = _random_net(rng, 3, 4)
    g = rng.standard_normal(4)
    g /= np.linalg.norm(g)
    np.testing.assert_allclose(F.moment_contraction(2), F.moment_contraction(2, g), rtol=0, atol=1e-15)
    np.testing.assert_allclose(F.moment_contraction(2), F.hermite_moment(2), rtol=0, atol=1e-15)


def test_low_order_moments_are_the_papers_identities(rng):
    F = _random_net(rng, 3, 4)
    # E[F] = c_0 sum_i mu_i |w_i| and E[F x] = sum mu_i w_i / 2 + a (CDGKM B.3 / Lemma 7)
    norms = np.linalg.norm(F.weights, axis=1)
    assert math.isclose(F.moment_contraction(0), float(F.coefficients @ norms) / math.sqrt(2 * math.pi), rel_tol=1e-14)
    np.testing.assert_allclose(F.moment_contraction(1), F.coefficients @ F.weights / 2 + F.linear, rtol=1e-14)
    # E[relu(<u,x>) (xx^T - I)] = uu^T / sqrt(2 pi) for unit u; S_2 = (xx^T - I)/sqrt(2)
    u = np.array([0.6, 0.8, 0.0, 0.0])
    N = ReLUNetwork([u], [1.0])
    np.testing.assert_allclose(N.hermite_moment(2) * math.sqrt(2), np.outer(u, u) / math.sqrt(2 * math.pi), rtol=1e-14)


def test_hermite_moment_size_limit():
    F = ReLUNetwork(np.eye(30)[:2], [1.0, 1.0])
    with pytest.raises(ValueError, match="use moment_contraction"):
        F.hermite_moment(6)


# ----------------------------------------------------------------------- serialization
def test_json_and_npz_round_trip_exactly(tmp_path, rng):
    F = _random_net(rng, 3, 4)
    assert ReLUNetwork.from_json(F.to_json()) == F
    for name in ("net.json", "net.npz"):
        path = F.save(tmp_path / name)
        assert ReLUNetwork.load(path) == F
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json", "net.npz"]  # no temp files left


def test_load_rejects_bad_files(tmp_path):
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        ReLUNetwork.load(tmp_path / "x.json")
    (tmp_path / "y.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="'format'"):
        ReLUNetwork.load(tmp_path / "y.json")
    (tmp_path / "z.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable .npz"):
        ReLUNetwork.load(tmp_path / "z.npz")
    np.savez(tmp_path / "w.npz", a=np.ones(3))
    with pytest.raises(ValueError, match="not a saved ReLUNetwork"):
        ReLUNetwork.load(tmp_path / "w.npz")
    with pytest.raises(FileNotFoundError, match="no such file"):
        ReLUNetwork.load(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="must end in .json or .npz"):
        ReLUNetwork([[1.0]], [1.0]).save(tmp_path / "net.txt")
    assert not (tmp_path / "net.txt").exists()


# ----------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "args,exc,match",
    [
        (([1.0, 2.0], [1.0]), ValueError, "weights must be 2-dimensional"),
        (([[1.0, 2.0]], [1.0, 2.0]), ValueError, "coefficients must have length 1"),
        (([[1.0, np.nan]], [1.0]), ValueError, "weights must be finite"),
        (([[1.0, 2.0]], [np.inf]), ValueError, "coefficients must be finite"),
        (([[1.0, 2.0]], [1.0], [1.0]), ValueError, "linear must have length 2"),
        (([[0.0, 0.0]], [1.0]), ValueError, "rows \\[0\\] are zero"),
        ((np.zeros((0, 2)), []), ValueError, "weights must have at least 1 row"),
        (("ab", [1.0]), TypeError, "weights must be numeric"),
    ],
)
def test_constructor_rejects_bad_input(args, exc, match):
    with pytest.raises(exc, match=match):
        ReLUNetwork(*args)


def test_methods_reject_bad_input():
    F = ReLUNetwork([[1.0, 0.0]], [1.0])
    with pytest.raises(ValueError, match="X must have 2 columns"):
        F(np.ones((3, 3)))
    with pytest.raises(ValueError, match="X must be finite"):
        F(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="n must be >= 1"):
        F.sample(0)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        F.sample(5, noise=-1.0)
    with pytest.raises(TypeError, match="rng must be"):
        F.sample(5, rng="seed")
    with pytest.raises(ValueError, match="g must be a unit vector"):
        F.moment_contraction(4, [1.0, 1.0])
    with pytest.raises(ValueError, match="g must have length 2"):
        F.moment_contraction(4, [1.0])
    with pytest.raises(ValueError, match="g is required"):
        F.moment_contraction(4)
    with pytest.raises(ValueError, match="l must be >= 0"):
        F.moment_contraction(-1)
    with pytest.raises(TypeError, match="other must be"):
        F.squared_distance("net")
    with pytest.raises(ValueError, match="input dimension 3"):
        F.squared_distance(ReLUNetwork([[1.0, 0.0, 0.0]], [1.0]))
    with pytest.raises(ValueError, match="directions rows"):
        CanonicalNetwork([0.0, 0.0], [1.0], [[0.0, 0.0]])


def test_sample_is_reproducible_and_noise_has_stated_variance():
    F = ReLUNetwork([[1.0, 0.0]], [1.0])
    X1, y1 = F.sample(1000, rng=5)
    X2, y2 = F.sample(1000, rng=5)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X, y = F.sample(200_000, rng=6, noise=0.5)
    resid = y - F(X)
    # variance 0.25; the sample variance has SE 0.25 sqrt(2/n): 5 sigma
    assert abs(resid.var() - 0.25) <= 5 * 0.25 * math.sqrt(2 / len(y))


def test_canonical_rebuild_is_bit_exact(rng):
    C = _random_net(rng, 3, 4).canonical()
    again = CanonicalNetwork(C.linear, C.coefficients, C.directions)
    np.testing.assert_array_equal(again.directions, C.directions)
    np.testing.assert_array_equal(again.coefficients, C.coefficients)
    assert C.canonical() is C


def test_mp_paths_leave_global_precision_alone(rng):
    before = mpmath.mp.dps
    F = _random_net(rng, 2, 3)
    F.norm_squared(dps=60)
    F.squared_distance(_random_net(rng, 2, 3), dps=40)
    assert mpmath.mp.dps == before


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda F: F.hermite_moment(-1), ValueError, "l must be >= 0"),
        (lambda F: F.hermite_moment(2, max_entries=0), ValueError, "max_entries must be >= 1"),
        (lambda F: F.hermite_moment(2.0), TypeError, "l must be an int"),
        (lambda F: F.norm_squared(dps=3), ValueError, "dps must be between"),
        (lambda F: ReLUNetwork.from_dict([1, 2]), TypeError, "data must be a dict"),
        (lambda F: ReLUNetwork.from_dict({"format": "verified_relu.ReLUNetwork"}), ValueError, "missing key"),
        (lambda F: CanonicalNetwork([0.0], [1.0], [[1.0, 0.0]]), ValueError, "linear must have length 2"),
        (
            lambda F: CanonicalNetwork([0.0, 0.0], [1.0, 2.0], [[1.0, 0.0]]),
            ValueError,
            "coefficients must have length 1",
        ),
        (lambda F: F.canonical()(np.ones((2, 5))), ValueError, "X must have 2 columns"),
    ],
)
def test_more_bad_input(call, exc, match):
    F = ReLUNetwork([[1.0, 0.0]], [1.0])
    with pytest.raises(exc, match=match):
        call(F)


def test_saved_files_get_the_mode_open_would_give(tmp_path):
    import os
    import stat

    mask = os.umask(0o022)
    os.umask(mask)
    net = ReLUNetwork([[1.0, 0.0]], [1.0])
    for name in ("net.json", "net.npz"):
        path = tmp_path / name
        net.save(path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_squared_distance_at_dps_keeps_both_linear_terms_exact():
    """Linear terms of very different sizes: float64 rounds a_1 - a_2, the dps path must not.  The
    neurons are shared, so the exact distance is |a_1 - a_2|^2, evaluated here in mpmath from the
    floats as the binary numbers they are."""
    W = np.array([[1.0, 0.5, 0.0]])
    a1, a2 = np.array([1.0, 0.0, 0.0]), np.array([1e-20, 3e-19, 0.0])
    F, G = ReLUNetwork(W, [1.0], a1), ReLUNetwork(W, [1.0], a2)
    ctx = mpmath.MPContext()
    ctx.dps = 60
    exact = sum((ctx.mpf(float(u)) - ctx.mpf(float(v))) ** 2 for u, v in zip(a1, a2))
    got = F.squared_distance(G, dps=50)
    assert abs(got - exact) <= ctx.mpf(10) ** -48 * exact
