"""The balls contain the exact values: sympy's exact c_m, He_n and arc-cosine kernels, exact
rational sample losses, and 100-digit mpmath closed forms (hypothesis over random networks)."""

from fractions import Fraction

import flint
import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given
from hypothesis import strategies as st

from tests.rigorous._oracle import contains, mid_rad, rational, relative_radius
from verified_relu import ReLUNetwork
from verified_relu.hermite import symbolic
from verified_relu.rigorous import (
    abs_kernel,
    hermite_normalized,
    moment_contraction,
    norm_squared,
    relu_coefficient,
    relu_kernel,
    sample_loss,
    squared_distance,
)

PREC = 128
BOUND = 2.0 ** -(PREC - 20)


# ----------------------------------------------------------------------------- c_m
@pytest.mark.parametrize("m", range(61))
def test_relu_coefficient_contains_the_exact_value(m):
    b = relu_coefficient(m, prec=PREC)
    exact = symbolic.relu_coefficient(m)
    assert contains(b, exact)
    if exact == 0:
        assert b.is_exact() and b.is_zero()  # structural zero: radius 0
    else:
        assert relative_radius(b) <= BOUND


def test_relu_coefficient_ball_is_tight_enough_to_miss_a_neighbour():
    """A ball that contained everything would pass containment; this one excludes c_m +- 1e-30."""
    for m in (0, 2, 4, 40, 60):
        exact = symbolic.relu_coefficient(m)
        assert not contains(relu_coefficient(m), exact * (1 + sp.Rational(1, 10**30)))


@pytest.mark.parametrize("prec", [53, 64, 200, 512])
def test_relu_coefficient_radius_follows_prec(prec):
    b = relu_coefficient(10, prec=prec)
    assert contains(b, symbolic.relu_coefficient(10))
    assert relative_radius(b) <= 2.0 ** -(prec - 20)


# ----------------------------------------------------------------------------- h_n
@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 12, 30])
@pytest.mark.parametrize("x", [0.0, 1.0, -0.5, 1.7320508075688772, 2.5, -7.25, 0.1])
def test_hermite_contains_sympy_exact(n, x):
    b = hermite_normalized(n, x, prec=PREC)
    xq = rational(x)
    exact = symbolic.hermite_he(n, xq) / sp.sqrt(sp.factorial(n))
    assert contains(b, exact)
    if exact == 0:
        assert b.is_zero()
    else:
        assert relative_radius(b) <= BOUND  # also next to the roots: He_n is evaluated exactly


def test_hermite_agrees_with_mpmath_100_digits():
    ctx = mpmath.MPContext()
    ctx.dps = 100
    for n in (5, 40, 200):
        for x in (0.3, -3.0, 11.5):
            b = hermite_normalized(n, x, prec=300)
            ref = ctx.hermite(n, ctx.mpf(x) / ctx.sqrt(2)) * ctx.power(2, -ctx.mpf(n) / 2) / ctx.sqrt(ctx.factorial(n))
            mid, rad = mid_rad(b)
            assert abs(ref - ctx.mpf(sp.Rational(mid).p) / sp.Rational(mid).q) <= ctx.mpf(rad.p) / rad.q + ctx.mpf(
                10
            ) ** (-90) * abs(ref)


# ----------------------------------------------------------------------------- kernels
RHOS = [-1.0, -0.75, -0.5, -1 / 3, 0.0, 0.1, 0.25, 0.5, 2 / 3, 0.9, 0.999, 1.0]


def _kernel_exact(kernel, rho):
    nu, nv, theta = sp.symbols("nu nv theta")
    expr = kernel().subs({sp.Symbol("nu", positive=True): 1, sp.Symbol("nv", positive=True): 1})
    expr = expr.subs({s: 1 for s in expr.free_symbols if s.name in ("nu", "nv")})
    (th,) = [s for s in expr.free_symbols if s.name == "theta"]
    return expr.subs(th, sp.acos(rational(rho)))


@pytest.mark.parametrize("rho", RHOS)
def test_relu_kernel_contains_the_symbolic_kernel(rho):
    b = relu_kernel(rho, prec=PREC)
    exact = _kernel_exact(symbolic.relu_kernel, rho)
    assert contains(b, exact)
    if rho > -0.9:
        assert relative_radius(b) <= BOUND
    else:  # near rho = -1 the value cancels: the radius is absolute, a few ulps of 1
        assert float(mid_rad(b)[1]) <= BOUND


@pytest.mark.parametrize("rho", RHOS)
def test_abs_kernel_contains_the_symbolic_kernel(rho):
    b = abs_kernel(rho, prec=PREC)
    assert contains(b, _kernel_exact(symbolic.abs_kernel, rho))
    assert relative_radius(b) <= BOUND


def test_kernels_take_fractions_as_exact_rationals():
    b = relu_kernel(Fraction(1, 3))  # not a float: a rigorous ball around the rational 1/3
    third = sp.Rational(1, 3)
    assert contains(b, (sp.sqrt(1 - third**2) + (sp.pi - sp.acos(third)) * third) / (2 * sp.pi))


# ----------------------------------------------------------------------------- network functionals
def test_norm_squared_contains_exact_sympy_value():
    net = ReLUNetwork([[1.0, 0.0], [0.0, 1.0]], [1.0, 1.0])  # 1/2 + 1/2 + 2/(2 pi)
    assert contains(norm_squared(net), 1 + 1 / sp.pi)
    net = ReLUNetwork([[1.0, 0.0], [0.0, 2.0]], [1.0, -1.0], [0.5, 0.0])
    # 1/2 + 4/2 - 2 * 2/(2 pi) + <w_1, a>/1 * 1 - <w_2, a> + |a|^2 = 2.5 - 2/pi + 0.5 + 0.25
    assert contains(norm_squared(net), sp.Rational(13, 4) - 2 / sp.pi)


def test_moment_contraction_contains_exact_sympy_value():
    W = [[0.6, 0.8], [1.0, -0.5]]
    mu = [1.5, -0.75]
    g = [0.6, 0.8]
    net = ReLUNetwork(W, mu)
    for l in (0, 1, 2, 3, 4, 6):
        c = symbolic.relu_coefficient(l)
        gq = [rational(v) for v in g]
        S = sp.zeros(2, 2)
        s0 = 0
        s1 = sp.zeros(2, 1)
        for row, m in zip(W, mu):
            w = sp.Matrix([rational(v) for v in row])
            nw = sp.sqrt(w.dot(w))
            u = w / nw
            s0 += rational(m) * nw
            s1 += rational(m) * w / 2
            if l >= 2:
                S += c * rational(m) * nw * (u.dot(sp.Matrix(gq))) ** (l - 2) * (u * u.T)
        got = moment_contraction(net, l, g if l >= 2 else None)
        if l == 0:
            assert contains(got, c * s0)
        elif l == 1:
            assert all(contains(got[i], s1[i]) for i in range(2))
        else:
            assert all(contains(got[i, j], S[i, j]) for i in range(2) for j in range(2))
            assert np.allclose(np.vectorize(lambda b: float(b.mid()))(got), net.moment_contraction(l, g), atol=1e-15)


def _exact_sample_loss(net, X, y):
    W = [[Fraction(v) for v in row] for row in net.weights.tolist()]
    mu = [Fraction(v) for v in net.coefficients.tolist()]
    a = [Fraction(v) for v in net.linear.tolist()]
    total = Fraction(0)
    for x, t in zip(X.tolist(), y.tolist()):
        x = [Fraction(v) for v in x]
        F = sum(m * max(sum(p * q for p, q in zip(w, x)), 0) for m, w in zip(mu, W)) + sum(p * q for p, q in zip(a, x))
        total += (F - Fraction(t)) ** 2
    return sp.Rational(total.numerator, total.denominator)


def test_sample_loss_contains_the_exact_rational_loss():
    rng = np.random.default_rng(0)
    net = ReLUNetwork(rng.standard_normal((3, 4)), rng.standard_normal(3), rng.standard_normal(4))
    X = rng.standard_normal((50, 4))
    for y in (net(X), net(X) + 1e-3 * rng.standard_normal(50)):
        b = sample_loss(net, X, y)
        assert contains(b, _exact_sample_loss(net, X, y))


def test_sample_loss_of_a_sample_on_a_hyperplane():
    net = ReLUNetwork([[1.0, -1.0]], [2.0])
    X = np.array([[0.5, 0.5], [1.0, 0.0]])
    b = sample_loss(net, X, [0.0, 1.0])
    assert contains(b, 1)


# ----------------------------------------------------------------------------- hypothesis: no ball misses
_floats = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False, allow_infinity=False)


@st.composite
def networks(draw, max_k=4, max_d=4, d=None):
    k = draw(st.integers(1, max_k))
    d = draw(st.integers(1, max_d)) if d is None else d
    W = np.array(draw(st.lists(st.lists(_floats, min_size=d, max_size=d), min_size=k, max_size=k)))
    for i in range(k):
        if not np.linalg.norm(W[i]) > 1e-150:
            W[i, 0] = 1.0
    mu = draw(st.lists(_floats, min_size=k, max_size=k))
    a = draw(st.lists(_floats, min_size=d, max_size=d)) if draw(st.booleans()) else None
    return ReLUNetwork(W, mu, a)


def _mp_within(ball, value):
    mid, rad = mid_rad(ball)
    ctx = mpmath.MPContext()
    ctx.dps = 110
    v = ctx.mpf(value)
    return abs(v - ctx.mpf(mid.p) / mid.q) <= ctx.mpf(rad.p) / rad.q + ctx.mpf(10) ** -95 * (1 + abs(v))


@given(networks())
@example(ReLUNetwork([[1.0, 0.0], [1.0, 1e-9], [-1.0, 0.0]], [1.0, -1.0, 2.0]))  # nearly parallel, antipodal
@example(ReLUNetwork([[0.6, 0.8], [0.6, 0.8]], [1.0, -1.0]))  # exact cancellation: E[F^2] = 0
def test_norm_squared_never_misses_the_100_digit_value(net):
    assert _mp_within(norm_squared(net), net.norm_squared(dps=100))


@st.composite
def network_pairs(draw):
    """Two networks of one dimension; only the first has a linear term (the 100-digit oracle
    subtracts the linear terms in float64 before going to mpmath, which is exact only then)."""
    f = draw(networks(max_k=3))
    g = draw(networks(max_k=3, d=f.d))
    return f, ReLUNetwork(g.weights, g.coefficients)


@given(network_pairs())
def test_squared_distance_never_misses_the_100_digit_value(pair):
    f, g = pair
    b = squared_distance(f, g)
    assert _mp_within(b, f.squared_distance(g, dps=100))
    assert b.lower() >= 0


@given(networks(max_k=3, max_d=3), st.integers(0, 2**32 - 1))
def test_sample_loss_never_misses_the_exact_loss(net, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((12, net.d))
    y = net(X) + rng.standard_normal(12) * rng.choice([0.0, 1e-8, 1.0])
    assert contains(sample_loss(net, X, y), _exact_sample_loss(net, X, y))


# ----------------------------------------------------------------------------- state and input errors
def test_flint_precision_is_restored_also_on_errors():
    before = flint.ctx.prec
    relu_coefficient(8, prec=300)
    norm_squared(ReLUNetwork([[1.0, 2.0]], [1.0]), prec=400)
    with pytest.raises(ValueError):
        relu_kernel(1.5, prec=300)
    assert flint.ctx.prec == before


def test_float_inputs_are_exact_arbs():
    b = flint.arb(0.1)
    assert b.is_exact() and b == flint.arb(flint.fmpq(*(0.1).as_integer_ratio()))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: hermite_normalized(3, float("nan")), "x must be finite"),
        (lambda: relu_kernel(1.0000000000000002), "rho"),
        (lambda: relu_coefficient(-1), "m"),
        (lambda: relu_coefficient(2, prec=10), "prec"),
        (lambda: sample_loss(ReLUNetwork([[1.0]], [1.0]), [[1.0], [2.0]], [1.0]), "y"),
        (lambda: sample_loss(ReLUNetwork([[1.0]], [1.0]), [[np.inf]], [1.0]), "X"),
        (lambda: moment_contraction(ReLUNetwork([[1.0, 0.0]], [1.0]), 3, [1.0, 1.0]), "g"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


# ----------------------------------------------------------------------------- the package's mpmath paths
def _within_mp(ball, value, dps=100):
    """``value`` (an mpf at ``dps`` digits) within the ball, allowing the mp path's own 10^-(dps-5)."""
    mid, rad = mid_rad(ball)
    ctx = mpmath.MPContext()
    ctx.dps = dps + 10
    v = ctx.mpf(value)
    return abs(v - ctx.mpf(mid.p) / mid.q) <= ctx.mpf(rad.p) / rad.q + ctx.mpf(10) ** -(dps - 5) * (1 + abs(v))


def test_relu_coefficients_agree_with_the_100_digit_path():
    from verified_relu.hermite.numeric import relu_coefficients

    ref = relu_coefficients(90, dps=100)  # beyond the generated table (m <= 64) by the derived recurrence
    for m in range(91):
        assert _within_mp(relu_coefficient(m, prec=400), ref[m])


def test_hermite_agrees_with_the_100_digit_path():
    from verified_relu.hermite.numeric import hermite_normalized as h_numeric

    for x in (0.0, 0.7, -2.5, 9.0):
        ref = h_numeric(60, x, dps=100)
        for n in range(61):
            assert _within_mp(hermite_normalized(n, x, prec=400), ref[n])


def test_a_canonical_network_is_taken_exactly():
    """``<w,x> + sum lambda_i |<u_i,x>|`` with its stored floats, not rounded through to_network."""
    rng = np.random.default_rng(4)
    can = ReLUNetwork(rng.standard_normal((3, 3)), rng.standard_normal(3), rng.standard_normal(3)).canonical()
    X = rng.standard_normal((30, 3))
    y = rng.standard_normal(30)
    U = [[Fraction(v) for v in row] for row in can.directions.tolist()]
    lam = [Fraction(v) for v in can.coefficients.tolist()]
    w = [Fraction(v) for v in can.linear.tolist()]
    total = Fraction(0)
    for x, t in zip(X.tolist(), y.tolist()):
        x = [Fraction(v) for v in x]
        F = sum(p * q for p, q in zip(w, x)) + sum(lv * abs(sum(p * q for p, q in zip(u, x))) for lv, u in zip(lam, U))
        total += (F - Fraction(t)) ** 2
    assert contains(sample_loss(can, X, y), sp.Rational(total.numerator, total.denominator))
    assert squared_distance(can, can).contains(0)
