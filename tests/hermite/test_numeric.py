"""Numeric Hermite layer against independent mpmath oracles and closed forms."""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given
from hypothesis import strategies as st

from verified_relu.hermite import symbolic as S
from verified_relu.hermite.numeric import (
    abs_coefficients,
    contraction_scales,
    hermite_normalized,
    hermite_tensor_contraction,
    relu_coefficients,
)

FLOAT_MAX = mpmath.mpf(np.finfo(float).max)


def _oracle_h(n, x, dps=60):
    """h_0..h_n at x by an independent route: mpmath's own hermite(n, x) (physicists' H_n),
    He_n(x) = 2^{-n/2} H_n(x / sqrt 2), divided by sqrt(n!), at ``dps`` digits."""
    ctx = mpmath.MPContext()
    ctx.dps = dps
    xv = ctx.mpf(float(x))
    return [
        ctx.hermite(m, xv / ctx.sqrt(2)) * ctx.power(2, -ctx.mpf(m) / 2) / ctx.sqrt(ctx.factorial(m))
        for m in range(n + 1)
    ]


def _near_root_points(rng):
    # points next to zeros of h_n, where a relative error is hardest to achieve
    pts = []
    for n in (7, 40, 151, 300):
        roots = np.polynomial.hermite_e.hermeroots([0] * n + [1])
        pts.extend(rng.choice(roots, 3) * (1 + 1e-13))
    return np.array(pts)


def test_float_matches_60_digit_oracle_pointwise(rng):
    """n <= 300, |x| <= 40: relative error <= 1e-12 at every point (including next to zeros)."""
    xs = np.concatenate([rng.uniform(-40, 40, 25), rng.uniform(-4, 4, 10), _near_root_points(rng), [0.0, 40.0, -40.0]])
    h = hermite_normalized(300, xs)
    worst = 0.0
    for j, x in enumerate(xs):
        ref = _oracle_h(300, x)
        for m, r in enumerate(ref):
            if abs(r) > FLOAT_MAX:
                assert np.isinf(h[m, j])
                continue
            if r == 0:
                assert h[m, j] == 0
                continue
            worst = max(worst, float(abs((h[m, j] - r) / r)))
    assert worst <= 1e-12, worst


def test_plain_recurrence_is_envelope_accurate(rng):
    """compensated=False: error <= 1e-12 of the local envelope sqrt(h_m^2 + h_{m-1}^2)."""
    xs = rng.uniform(-40, 40, 15)
    h = hermite_normalized(300, xs, compensated=False)
    for j, x in enumerate(xs):
        ref = _oracle_h(300, x)
        for m in range(1, 301):
            env = mpmath.sqrt(ref[m] ** 2 + ref[m - 1] ** 2)
            assert abs(h[m, j] - ref[m]) <= 1e-12 * env


def test_never_nan_and_inf_only_when_unrepresentable():
    xs = np.array([1e3, -1e3, 60.0, 1e-300, 0.0])
    h = hermite_normalized(400, xs)
    assert not np.any(np.isnan(h))
    for j, x in enumerate(xs):
        ref = _oracle_h(400, x, dps=40)
        for m in (50, 100, 200, 399, 400):
            if abs(ref[m]) > FLOAT_MAX:
                assert np.isinf(h[m, j]) and np.sign(h[m, j]) == mpmath.sign(ref[m])
            else:
                assert np.isfinite(h[m, j])
                assert abs(h[m, j] - ref[m]) <= 1e-12 * abs(ref[m]) + 1e-300


def test_mp_path_precision_and_global_state():
    before = mpmath.mp.dps
    vals = hermite_normalized(30, ["0.3", "7.25"], dps=80)
    assert mpmath.mp.dps == before
    ref = _oracle_h(30, 7.25, dps=120)
    ctx = mpmath.MPContext()
    ctx.dps = 120
    assert abs(ctx.mpf(vals[30, 1]) - ref[30]) <= ctx.mpf(10) ** -78 * abs(ref[30])


@given(st.integers(0, 60), st.floats(-30, 30, allow_nan=False))
@example(5, 0.0)
@example(60, 30.0)
def test_shapes_and_low_degree_closed_forms(n, x):
    h = hermite_normalized(n, np.array([[x]]))
    assert h.shape == (n + 1, 1, 1)
    assert h[0, 0, 0] == 1.0
    if n >= 2:
        assert math.isclose(h[2, 0, 0], (x * x - 1) / math.sqrt(2), rel_tol=1e-14, abs_tol=1e-15)


def test_relu_coefficients_correctly_rounded_in_table():
    c = relu_coefficients(64)
    for m in range(65):
        ref = float(sp.N(S.relu_coefficient(m), 40))
        assert c[m] == ref, m


@pytest.mark.parametrize("m", [66, 100, 200, 1000, 10_000])
def test_relu_coefficients_beyond_table(m):
    # closed form |c_m| = (m-2)! / (2^{(m-2)/2} ((m-2)/2)! sqrt(2 pi m!)) via log-gamma at 40 digits
    ctx = mpmath.MPContext()
    ctx.dps = 40
    logc = (
        ctx.loggamma(m - 1)
        - ((m - 2) / 2) * ctx.log(2)
        - ctx.loggamma(m / 2)
        - ctx.log(2 * ctx.pi) / 2
        - ctx.loggamma(m + 1) / 2
    )
    ref = (-1) ** (m // 2 + 1) * ctx.exp(logc)
    got = relu_coefficients(m)[m]
    assert abs(got - ref) <= 2**-52 * abs(ref)
    assert relu_coefficients(m + 1)[m + 1] == 0.0


def test_decay_constant_and_rate():
    """|c_m| m^{5/4} -> (2/pi)^{1/4} / sqrt(2 pi) with a 1/m correction (Richardson check)."""
    limit = (2 / math.pi) ** 0.25 / math.sqrt(2 * math.pi)
    c = relu_coefficients(200_000)
    dev = {m: abs(c[m]) * m**1.25 / limit - 1 for m in (2_000, 20_000, 200_000)}
    assert abs(dev[200_000]) < 1e-5
    # the deviation is O(1/m): ten times the degree, a tenth of the deviation (to 5%)
    assert math.isclose(dev[2_000] / dev[20_000], 10, rel_tol=0.05)
    assert math.isclose(dev[20_000] / dev[200_000], 10, rel_tol=0.05)


def test_parseval_with_asymptotic_tail():
    """sum_m c_m^2 = E[relu(G)^2] = 1/2; the tail beyond M is ~ L^2 M^{-3/2} / 3 (even m only)."""
    M = 200_000
    c = relu_coefficients(M)
    partial = math.fsum(c * c)
    limit2 = math.sqrt(2 / math.pi) / (2 * math.pi)
    tail = limit2 * M**-1.5 / 3
    assert abs((0.5 - partial) / tail - 1) < 1e-3


def test_abs_coefficients_reflection():
    c, a = relu_coefficients(300), abs_coefficients(300)
    even = np.arange(301) % 2 == 0
    np.testing.assert_array_equal(a[even], 2 * c[even])
    assert np.all(a[~even] == 0)


def test_contraction_scales_float_and_mp():
    ctx = mpmath.MPContext()
    ctx.dps = 60
    for l in (2, 3, 17, 128):
        a, b, c = contraction_scales(l)
        # correctly rounded: the float nearest to the 60-digit value
        assert (a, b) == (1.0, float(1 / ctx.sqrt(l)))
        assert c == float(1 / ctx.sqrt(l * (l - 1)))
    am, bm, cm = contraction_scales(9, dps=50)
    assert abs(ctx.mpf(cm) - 1 / ctx.sqrt(72)) < ctx.mpf(10) ** -49


def _contraction_by_polarization(l, x, g, p, q, dps=60):
    """p^T S_l(x)[g^{l-2}] q from <S_l(x), v^{(x)l}> = |v|^l h_l(<v,x>/|v|) alone: the mixed
    second derivative in (s, r) of that function at v = g + s p + r q, divided by l (l-1)."""
    ctx = mpmath.MPContext()
    ctx.dps = dps
    X, G, P, Q = ([ctx.mpf(float(t)) for t in arr] for arr in (x, g, p, q))

    def f(s, r):
        v = [gi + s * pi + r * qi for gi, pi, qi in zip(G, P, Q)]
        nv = ctx.sqrt(ctx.fsum(t * t for t in v))
        z = ctx.fdot(v, X) / nv
        he = ctx.hermite(l, z / ctx.sqrt(2)) * ctx.power(2, -ctx.mpf(l) / 2)
        return nv**l * he / ctx.sqrt(ctx.factorial(l))

    return ctx.diff(f, (0, 0), (1, 1)) / (l * (l - 1))


@pytest.mark.parametrize("l", [2, 3, 4, 7, 12, 20])
def test_contraction_d50_float_vs_mp_oracle(l, rng):
    d = 50
    x = rng.standard_normal(d) * 1.5
    g = rng.standard_normal(d)
    g /= np.linalg.norm(g)
    M = hermite_tensor_contraction(l, x, g)
    Mmp = hermite_tensor_contraction(l, x, g, dps=40)
    scale = np.abs(M).max()
    assert np.abs(M - Mmp.astype(float)).max() <= 1e-12 * scale
    for _ in range(3):
        p, q = rng.standard_normal(d), rng.standard_normal(d)
        ref = _contraction_by_polarization(l, x, g, p, q)
        assert abs(p @ M @ q - ref) <= 1e-11 * scale * np.linalg.norm(p) * np.linalg.norm(q)


# --------------------------------------------------------------------------- bad input
def test_bad_inputs():
    with pytest.raises(ValueError, match="x must be finite"):
        hermite_normalized(3, [0.0, np.nan])
    with pytest.raises(ValueError, match="x must be finite"):
        hermite_normalized(3, [np.inf], dps=20)
    with pytest.raises(ValueError, match="n must be >= 0"):
        hermite_normalized(-1, 0.0)
    with pytest.raises(TypeError, match="n must be an int"):
        hermite_normalized(2.0, 0.0)
    with pytest.raises(TypeError, match="x must be real"):
        hermite_normalized(2, "abc")
    with pytest.raises(ValueError, match="dps must be between"):
        hermite_normalized(2, 0.0, dps=5)
    with pytest.raises(TypeError, match="dps must be an int"):
        relu_coefficients(2, dps=20.5)
    with pytest.raises(ValueError, match="l must be >= 2"):
        contraction_scales(1)
    with pytest.raises(ValueError, match="l must be <= 128"):
        contraction_scales(129)
    with pytest.raises(ValueError, match="g must be a unit vector"):
        hermite_tensor_contraction(3, np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="g must be a finite vector of length 3"):
        hermite_tensor_contraction(3, np.ones(3), np.ones(2))
