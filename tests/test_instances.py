"""Instance families: each family's defining property, checked against an independent formula."""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from verified_relu import ReLUNetwork
from verified_relu.instances import (
    FAMILIES,
    FAMILY_PARAMETERS,
    GRIDS,
    MAX_COND,
    describe,
    grid,
    make,
    supports,
)

SIZES = {  # a valid (d, k) per family, k > 2 where possible
    "random": (5, 4),
    "close_pair": (5, 4),
    "clump": (5, 5),
    "antipodal": (5, 5),
    "ill_conditioned": (6, 4),
    "orthonormal": (6, 4),
    "dkkz": (5, 4),
    "dk_cancel": (5, 5),
}


def _angle(u, v):
    """Kahan's stable angle between unit vectors (independent of the package's own)."""
    return 2.0 * math.atan2(float(np.linalg.norm(u - v)), float(np.linalg.norm(u + v)))


def _assert_unit_rows(net):
    np.testing.assert_allclose(np.linalg.norm(net.weights, axis=1), 1.0, rtol=0, atol=1e-15)


def _assert_generic(coefficients, scale=1.0):
    mags = np.abs(coefficients) / scale
    assert np.all((mags >= 0.5) & (mags <= 1.5)), coefficients


def test_family_names():
    names = ("random", "close_pair", "clump", "antipodal", "ill_conditioned", "orthonormal", "dkkz", "dk_cancel")
    assert FAMILIES == names
    assert set(SIZES) == set(FAMILIES) == set(FAMILY_PARAMETERS)
    for family in FAMILIES:
        doc = describe(family)
        assert doc and not doc.startswith(" ")
        for name in FAMILY_PARAMETERS[family]:  # every parameter is documented
            assert f"{name} : " in doc, (family, name)


# ----------------------------------------------------------------------------- every family
@pytest.mark.parametrize("family", FAMILIES)
def test_determinism_and_unit_rows(family):
    d, k = SIZES[family]
    net = make(family, d, k, rng=7)
    assert isinstance(net, ReLUNetwork) and (net.k, net.d) == (k, d)
    _assert_unit_rows(net)
    assert make(family, d, k, rng=7) == net
    assert make(family, d, k, rng=np.random.SeedSequence(7)) == net  # SPEC 7: same entropy
    assert make(family, d, k, rng=np.random.default_rng(7)) == net
    assert make(family, d, k, rng=8) != net


@pytest.mark.parametrize("family", FAMILIES)
def test_no_global_random_state(family):
    d, k = SIZES[family]
    before = np.random.get_state()[1].copy()
    make(family, d, k)  # rng=None: fresh OS entropy, not the legacy global RandomState
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_supports_agrees_with_make():
    for family in FAMILIES:
        for d in range(1, 5):
            for k in range(1, 7):
                try:
                    make(family, d, k, rng=0)
                    built = True
                except ValueError:
                    built = False
                assert supports(family, d, k) == built, (family, d, k)


# ----------------------------------------------------------------------------- random
def test_random_directions_uniform_and_coefficients_generic(rng):
    d, n = 5, 4000
    net = make("random", d, n, rng=rng)
    U = net.weights
    # uniform on S^{d-1}: E u_j = 0 (var 1/d); E u_j^2 = 1/d (var 3/(d(d+2)) - 1/d^2).
    # 5-sigma per statistic, 2d + 2 statistics: false alarm < 1e-5 in total.
    assert np.all(np.abs(U.mean(axis=0)) <= 5 * math.sqrt(1 / d / n))
    sd2 = math.sqrt((3 / (d * (d + 2)) - 1 / d**2) / n)
    assert np.all(np.abs((U**2).mean(axis=0) - 1 / d) <= 5 * sd2)
    mu = net.coefficients
    _assert_generic(mu)
    assert abs((mu > 0).mean() - 0.5) <= 5 * math.sqrt(0.25 / n)  # fair signs
    assert abs(np.abs(mu).mean() - 1.0) <= 5 * math.sqrt(1 / 12 / n)  # U[0.5, 1.5] magnitudes


def test_random_allows_k_greater_than_d_and_d_one():
    assert make("random", 2, 7, rng=1).k == 7
    net = make("random", 1, 3, rng=1)
    np.testing.assert_array_equal(np.abs(net.weights), 1.0)


# ----------------------------------------------------------------------------- close_pair
@pytest.mark.parametrize("theta", [1e-3, 0.05, 1.0, math.pi / 2, math.pi])
def test_close_pair_exact_angle(theta):
    net = make("close_pair", 6, 5, rng=3, theta=theta, scale=2.5)
    W = net.weights
    assert math.isclose(_angle(W[0], W[1]), theta, rel_tol=1e-12, abs_tol=1e-15)
    np.testing.assert_array_equal(net.coefficients[:2], [2.5, -2.5])
    _assert_generic(net.coefficients[2:])
    _assert_unit_rows(net)


def test_close_pair_nearly_cancels():
    # E[(relu<u,x> - relu<v,x>)^2] = 1 - (sin t + (pi - t) cos t)/pi <= |u - v|^2 / 2 (digest 1.4)
    theta = 0.01
    net = make("close_pair", 4, 2, rng=5, theta=theta)
    exact = 1 - (mpmath.sin(theta) + (mpmath.pi - theta) * mpmath.cos(theta)) / mpmath.pi
    got = net.norm_squared(dps=40)
    assert abs(got / exact - 1) < 1e-10  # float weights carry the angle to ~1e-14 relative
    assert got <= float(np.linalg.norm(net.weights[0] - net.weights[1])) ** 2 / 2


def test_close_pair_k_greater_than_d():
    net = make("close_pair", 2, 6, rng=0, theta=0.2)
    assert math.isclose(_angle(*net.weights[:2]), 0.2, rel_tol=1e-12)


# ----------------------------------------------------------------------------- clump
@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(2, 6),
    extra=st.integers(0, 2),
    theta=st.floats(1e-4, math.pi / 2),
    residual=st.floats(-0.5, 0.5),
)
def test_clump_properties(seed, size, extra, theta, residual):
    k = size + extra
    net = make("clump", 4, k, rng=seed, size=size, theta=theta, residual=residual)
    _assert_unit_rows(net)
    c = net.coefficients[:size]
    assert abs(math.fsum(c) - residual) <= 1e-15 * np.abs(c).sum()
    assert np.all(np.abs(c) >= 1 / 12) and (c > 0).any() and (c < 0).any()
    assert size / 2 - 1e-12 <= np.abs(c).sum() <= 1.5 * size + 1e-12
    U = net.weights[:size]
    # all within theta of a common centre, so pairwise within 2 theta
    assert max(_angle(U[i], U[j]) for i in range(size) for j in range(size)) <= 2 * theta * (1 + 1e-12) + 1e-15
    _assert_generic(net.coefficients[size:])


def test_clump_default_size():
    for k, size in [(2, 2), (3, 3), (6, 3)]:
        net = make("clump", 3, k, rng=1)
        assert abs(math.fsum(net.coefficients[:size]) - 0.01) < 1e-15
        _assert_generic(net.coefficients[size:])


# ----------------------------------------------------------------------------- antipodal
@pytest.mark.parametrize("k", [2, 5, 6])
def test_antipodal_pairs(k):
    net = make("antipodal", 4, k, rng=2)
    W, mu = net.weights, net.coefficients
    np.testing.assert_array_equal(W[1 : 2 * (k // 2) : 2], -W[0 : 2 * (k // 2) : 2])
    _assert_generic(mu)
    assert len(set(mu.tolist())) == k  # independent draws
    # each pair collapses: a relu(z) + b relu(-z) = (a + b) relu(z) - b z  (digest 1.2)
    p = k // 2
    collapsed = ReLUNetwork(
        np.vstack([W[0 : 2 * p : 2], W[2 * p :]]),
        np.concatenate([mu[0 : 2 * p : 2] + mu[1 : 2 * p : 2], mu[2 * p :]]),
        -(mu[1 : 2 * p : 2] @ W[0 : 2 * p : 2]),
    )
    X = np.random.default_rng(0).standard_normal((200, 4))
    np.testing.assert_allclose(net(X), collapsed(X), rtol=0, atol=1e-13)
    assert net.squared_distance(collapsed, dps=30) < 1e-28


# ----------------------------------------------------------------------------- ill_conditioned
@pytest.mark.parametrize(
    "d,k,cond", [(5, 2, 10.0), (8, 5, 1e3), (20, 6, 1e4), (6, 6, 1e4), (4, 3, 1.0), (10, 4, MAX_COND)]
)
def test_ill_conditioned(d, k, cond):
    net = make("ill_conditioned", d, k, rng=11, cond=cond)
    _assert_unit_rows(net)
    s = np.linalg.svd(net.weights, compute_uv=False)
    tol = max(1e-12, 1e-15 * cond * 10)  # achieved accuracy is about cond * 1e-15 (docstring)
    assert abs(s[0] / s[-1] / cond - 1) <= tol
    # geometric (log-spaced) singular values
    np.testing.assert_allclose(s[:-1] / s[1:], cond ** (1 / (k - 1)), rtol=tol)
    _assert_generic(net.coefficients)


# ----------------------------------------------------------------------------- orthonormal
@pytest.mark.parametrize("d,k", [(5, 1), (6, 4), (7, 7)])
def test_orthonormal(d, k):
    net = make("orthonormal", d, k, rng=4)
    np.testing.assert_allclose(net.weights @ net.weights.T, np.eye(k), rtol=0, atol=1e-15)
    np.testing.assert_array_equal(net.coefficients, np.ones(k))


# ----------------------------------------------------------------------------- dkkz
def _dkkz_plane(net):
    """(e1, e2) from the network's rows: w_k = -e1 and w_{k/2} = e2."""
    k = net.k
    e1, e2 = -net.weights[k - 1], net.weights[k // 2 - 1]
    np.testing.assert_allclose([e1 @ e1, e2 @ e2, e1 @ e2], [1, 1, 0], rtol=0, atol=1e-15)
    return e1, e2


@pytest.mark.parametrize("k", [2, 4, 6, 8])
def test_dkkz_pointwise_equals_the_defining_sums(rng, k):
    d = 5
    net = make("dkkz", d, k, rng=rng)
    _assert_unit_rows(net)
    e1, e2 = _dkkz_plane(net)
    X = rng.standard_normal((300, d))
    x, y = X @ e1, X @ e2
    m = np.arange(1, 2 * k + 1)[:, None]
    # DKKZ20 Thm 13 with sigma = id, phi = relu: 2k ReLUs
    relu_form = ((-1.0) ** m * np.maximum(x * np.cos(np.pi * m / k) + y * np.sin(np.pi * m / k), 0)).sum(axis=0)
    m = m[:k]
    abs_form = ((-1.0) ** m * np.abs(x * np.cos(np.pi * m / k) + y * np.sin(np.pi * m / k))).sum(axis=0)
    scale = 2 * k * np.linalg.norm(X, axis=1)
    assert np.all(np.abs(net(X) - relu_form) <= 1e-14 * scale)
    assert np.all(np.abs(net(X) - abs_form) <= 1e-14 * scale)


@pytest.mark.parametrize("k", [2, 4, 6])
def test_dkkz_hermite_moments_vanish_below_degree_k(k):
    # digest 4.5 / 8.26: E[F p] = 0 for deg p < k; at degree k the harmonic (z.x)^k with
    # z = e1 + i e2 gives |E[F (z.x)^k]| = E[r^(k+1)] |c_k| where c_k = 2k/(pi (k^2 - 1)) is
    # the angular Fourier coefficient (0.4244, 0.1698, 0.1091 for k = 2, 4, 6) and
    # E[r^n] = 2^(n/2) Gamma(1 + n/2).  E[F (z.x)^k] = sqrt(k!) <E[F S_k], z^(x)k> because
    # (z.x)^k is its own Hermite polynomial (z.z = 0).
    net = make("dkkz", 3, k, rng=9)
    for l in range(k):
        assert np.abs(net.hermite_moment(l)).max() <= 1e-15 * k
    e1, e2 = _dkkz_plane(net)
    z = e1 + 1j * e2
    val = net.hermite_moment(k).astype(complex)
    for _ in range(k):
        val = np.tensordot(val, z, axes=([0], [0]))
    got = abs(complex(val)) * math.sqrt(math.factorial(k))
    fourier = 2 * k / (math.pi * (k * k - 1))
    assert round(fourier, 4) == {2: 0.4244, 4: 0.1698, 6: 0.1091}[k]
    expected = 2 ** ((k + 1) / 2) * math.gamma((k + 3) / 2) * fourier
    assert abs(got / expected - 1) < 1e-12


@pytest.mark.parametrize("k", [2, 4, 10])
def test_dkkz_separation_and_rank(k):
    net = make("dkkz", 6, k, rng=1)
    W = net.weights
    # as lines (up to sign), the closest pair of directions is at angle exactly pi/k
    line = [min(_angle(W[i], W[j]), _angle(W[i], -W[j])) for i in range(k) for j in range(i)]
    assert math.isclose(min(line), math.pi / k, rel_tol=1e-12)
    assert np.linalg.matrix_rank(W) == 2
    np.testing.assert_array_equal(np.abs(net.coefficients), 2.0)


def test_dkkz_odd_k_is_rejected_with_the_reason():
    with pytest.raises(ValueError, match=r"k must be even.*identically zero"):
        make("dkkz", 4, 3)


# ----------------------------------------------------------------------------- dk_cancel
@pytest.mark.parametrize("theta", [1e-3, 0.05, 0.1, 0.4, 1.0, 2.5])
def test_dk_cancel_norm_closed_form(theta):
    # E[F^2] = E[min(|a|, |b|)^2; sign a != sign b] = (theta - sin theta)/pi by integrating in
    # polar coordinates (E r^2 = 2 on the two wedges of angle theta), independent of the kernel.
    net = make("dk_cancel", 5, 3, rng=12, theta=theta)
    exact = (mpmath.mpf(theta) - mpmath.sin(theta)) / mpmath.pi
    got = net.norm_squared(dps=50)
    # the float weights are within delta = 1e-14 (L2, generously) of the exact instance, so
    # |E[F^2] - exact| <= 2 sqrt(exact) delta + delta^2
    delta = 1e-14
    assert abs(got - exact) <= 2 * mpmath.sqrt(exact) * delta + delta**2
    np.testing.assert_array_equal(net.coefficients[:2], [1.0, 1.0])
    assert net.coefficients[2] == -2 * math.cos(theta / 2)


def test_dk_cancel_digest_ratio():
    # digest 1.2: E[F^2]/theta^3 ~ 0.053 for theta in 0.05..0.4; and the Taylor bound
    # |6 pi E[F^2]/theta^3 - 1| <= theta^2/20 (alternating series of theta - sin theta)
    for theta in (0.05, 0.1, 0.2, 0.3, 0.4):
        ratio = float(make("dk_cancel", 4, 3, rng=0, theta=theta).norm_squared(dps=50)) / theta**3
        assert round(ratio, 3) == 0.053
        assert abs(6 * math.pi * ratio - 1) <= theta**2 / 20


def test_dk_cancel_pointwise(rng):
    theta = 0.3
    net = make("dk_cancel", 4, 3, rng=rng, theta=theta)
    u, v = net.weights[0], net.weights[1]
    assert math.isclose(_angle(u, v), theta, rel_tol=1e-12)
    X = rng.standard_normal((20000, 4))
    a, b = X @ u, X @ v
    F = net(X)
    same = np.sign(a) == np.sign(b)
    assert 0.05 < 1 - same.mean() < 0.15  # P[differ] = theta/pi = 0.095
    tol = 1e-14 * np.linalg.norm(X, axis=1)
    assert np.all(np.abs(F[same]) <= tol[same])  # F = 0 when sign(u.x) == sign(v.x)
    # otherwise F = min(|u.x|, |v.x|)
    assert np.all(np.abs(F[~same] - np.minimum(np.abs(a), np.abs(b))[~same]) <= tol[~same])


def test_dk_cancel_extra_neurons():
    net = make("dk_cancel", 3, 6, rng=5, theta=0.2, extra_scale=0.01)
    _assert_generic(net.coefficients[3:], scale=0.01)
    head = ReLUNetwork(net.weights[:3], net.coefficients[:3])
    assert math.isclose(float(head.norm_squared(dps=40)), (0.2 - math.sin(0.2)) / math.pi, rel_tol=1e-9)


# ----------------------------------------------------------------------------- bad input
def test_family_errors():
    with pytest.raises(TypeError, match="family must be a str"):
        make(3, 4, 2)
    with pytest.raises(ValueError, match=r"unknown family 'nope'.*close_pair.*dk_cancel"):
        make("nope", 4, 2)
    with pytest.raises(ValueError, match="unknown family"):
        supports("nope", 4, 2)
    with pytest.raises(ValueError, match="unknown family"):
        describe("nope")
    with pytest.raises(TypeError, match="d must be an int"):
        supports("random", 2.0, 1)
    with pytest.raises(TypeError, match="k must be an int"):
        supports("random", 2, None)


@pytest.mark.parametrize(
    "d,k,exc,match",
    [
        (0, 2, ValueError, "d must be >= 1"),
        (3, 0, ValueError, "k must be >= 1"),
        (2.0, 2, TypeError, "d must be an int"),
        (3, True, TypeError, "k must be an int"),
        (3, "2", TypeError, "k must be an int"),
    ],
)
def test_size_type_errors(d, k, exc, match):
    with pytest.raises(exc, match=match):
        make("random", d, k)


@pytest.mark.parametrize(
    "family,d,k,match",
    [
        ("close_pair", 1, 2, "d must be >= 2"),
        ("close_pair", 3, 1, "k must be >= 2"),
        ("clump", 3, 1, "k must be >= 2"),
        ("clump", 1, 3, "d must be >= 2"),
        ("antipodal", 3, 1, "k must be >= 2"),
        ("ill_conditioned", 3, 4, "k must be <= d"),
        ("ill_conditioned", 3, 1, "k must be >= 2"),
        ("orthonormal", 3, 4, "k must be <= d"),
        ("dkkz", 1, 2, "d must be >= 2"),
        ("dk_cancel", 3, 2, "k must be >= 3"),
        ("dk_cancel", 1, 3, "d must be >= 2"),
    ],
)
def test_size_limits(family, d, k, match):
    with pytest.raises(ValueError, match=match):
        make(family, d, k)
    assert not supports(family, d, k)


@pytest.mark.parametrize(
    "family,params,match",
    [
        ("random", {"theta": 0.1}, r"unexpected parameter\(s\) \['theta'\]"),
        ("close_pair", {"cond": 5.0}, "cond"),
        ("orthonormal", {"scale": 1.0, "size": 2}, r"\['scale', 'size'\]"),
        ("dk_cancel", {"residual": 0.0}, "residual"),
    ],
)
def test_unknown_parameter(family, params, match):
    with pytest.raises(TypeError, match=match):
        make(family, *SIZES[family], **params)


@pytest.mark.parametrize(
    "family,params,match",
    [
        ("close_pair", {"theta": 0.0}, "theta must be > 0"),
        ("close_pair", {"theta": -1.0}, "theta must be > 0"),
        ("close_pair", {"theta": 3.5}, "theta must be <= 3.14"),
        ("close_pair", {"theta": float("nan")}, "theta must be finite"),
        ("close_pair", {"scale": 0.0}, "scale must be > 0"),
        ("clump", {"theta": 2.0}, "theta must be <= 1.57"),
        ("clump", {"size": 1}, "size must be >= 2"),
        ("clump", {"size": 6}, "size must be <= 5"),
        ("clump", {"residual": 0.6}, "residual must be <= 0.5"),
        ("clump", {"residual": -0.6}, "residual must be >= -0.5"),
        ("ill_conditioned", {"cond": 0.5}, "cond must be >= 1"),
        ("ill_conditioned", {"cond": 1e9}, "cond must be <="),
        ("dk_cancel", {"theta": math.pi}, "theta must be < 3.14"),
        ("dk_cancel", {"extra_scale": 0.0}, "extra_scale must be > 0"),
    ],
)
def test_parameter_out_of_range(family, params, match):
    with pytest.raises(ValueError, match=match):
        make(family, *SIZES[family], **params)


@pytest.mark.parametrize(
    "family,params,match",
    [
        ("close_pair", {"theta": "0.1"}, "theta must be a real number"),
        ("clump", {"size": 2.0}, "size must be an int"),
        ("ill_conditioned", {"cond": None}, "cond must be a real number"),
    ],
)
def test_parameter_wrong_type(family, params, match):
    with pytest.raises(TypeError, match=match):
        make(family, *SIZES[family], **params)


def test_bad_rng():
    with pytest.raises(TypeError, match="rng must be"):
        make("random", 3, 2, rng="seed")
    with pytest.raises(TypeError, match="rng must be"):
        make("random", 3, 2, rng=-1)


# ----------------------------------------------------------------------------- grids
@pytest.mark.parametrize("name", GRIDS)
def test_grid_rows_build_valid_instances(name):
    rows = grid(name)
    labels = [label for label, _, _ in rows]
    assert len(set(labels)) == len(labels) and rows
    for label, family, params in rows:
        assert family in FAMILIES and set(params) <= set(FAMILY_PARAMETERS[family])
        assert label.split()[0] == family
        net = make(family, 8, 4 if family != "orthonormal" else 3, rng=0, **params)
        assert np.allclose(np.linalg.norm(net.weights, axis=1), 1.0)


def test_grid_contents_the_benchmarks_rely_on():
    assert grid("paper") == (
        ("random", "random", {}),
        ("close_pair", "close_pair", {"theta": 0.05}),
        ("orthonormal", "orthonormal", {}),
        ("dkkz", "dkkz", {}),
    )
    hard = {label: (family, params) for label, family, params in grid("hard")}
    assert hard["close_pair 1e-2"] == ("close_pair", {"theta": 0.01})
    assert hard["ill_conditioned 1e3"] == ("ill_conditioned", {"cond": 1e3})
    assert {family for family, _ in hard.values()} == set(FAMILIES) - {"dk_cancel"}


def test_grid_labels_select_rows_in_grid_order_and_copy_the_parameters():
    rows = grid("hard", ["dkkz", "close_pair 1e-1", "random"])
    assert [label for label, _, _ in rows] == ["random", "close_pair 1e-1", "dkkz"]
    rows[1][2]["theta"] = 99.0
    assert grid("hard", "close_pair 1e-1")[0][2] == {"theta": 0.1}


def test_grid_bad_name_or_label():
    with pytest.raises(ValueError, match="grid: name must be one of"):
        grid("easy")
    with pytest.raises(ValueError, match=r"labels \['nope'\] are not in grid 'paper'"):
        grid("paper", ["random", "nope"])
