"""Exact tests of the symbolic layer, and the regenerate-and-diff test of the generated module."""

import itertools

import mpmath
import pytest
import sympy as sp

from verified_relu.hermite import _generated
from verified_relu.hermite import symbolic as S

# --------------------------------------------------------------------------- an independent oracle
# 50-digit Gauss-Legendre quadrature of E[relu(G) h_m(G)] = int_0^oo x h_m(x) phi(x) dx for all
# m <= 60 at once: h_m by its own mp recurrence (not the library's), the half line cut at 30
# (the neglected tail is below 1e-150) and split into unit intervals.  The rule's own error is
# estimated by comparing two orders; the test requires it to be below 1e-50.
ORACLE_DPS = 50
M_MAX = 60


def _oracle_coefficients(degree):
    ctx = mpmath.MPContext()
    ctx.dps = ORACLE_DPS + 20
    from mpmath.calculus.quadrature import GaussLegendre

    rule = GaussLegendre(ctx)
    nodes = rule.calc_nodes(degree, ctx.prec)
    sums = [ctx.mpf(0)] * (M_MAX + 1)
    for left in range(30):
        a, b = ctx.mpf(left), ctx.mpf(left + 1)
        half, mid = (b - a) / 2, (a + b) / 2
        for xi, wi in nodes:
            x = mid + half * xi
            w = wi * half * x * ctx.exp(-x * x / 2) / ctx.sqrt(2 * ctx.pi)
            hm1, hm = ctx.mpf(0), ctx.mpf(1)
            for m in range(M_MAX + 1):
                sums[m] += w * hm
                hm1, hm = hm, (x * hm - ctx.sqrt(m) * hm1) / ctx.sqrt(m + 1)
    return ctx, sums


@pytest.mark.slow  # 70-digit quadrature up to degree 60
def test_relu_coefficients_match_50_digit_quadrature():
    ctx, coarse = _oracle_coefficients(6)
    _, fine = _oracle_coefficients(7)
    for m in range(M_MAX + 1):
        assert abs(fine[m] - coarse[m]) < ctx.mpf(10) ** -ORACLE_DPS, f"oracle not converged at m={m}"
        exact = ctx.mpf(sp.N(S.relu_coefficient(m), ORACLE_DPS + 15))
        assert abs(exact - fine[m]) < ctx.mpf(10) ** -ORACLE_DPS, f"c_{m}"


@pytest.mark.parametrize("m", range(61))
def test_two_derivations_agree_exactly(m):
    # term-wise integration vs integration by parts: two independent exact routes
    assert sp.simplify(S.relu_coefficient(m) - S.relu_coefficient_by_parts(m)) == 0


def test_known_values_and_vanishing_odd_degrees():
    assert S.relu_coefficient(0) == 1 / sp.sqrt(2 * sp.pi)
    assert S.relu_coefficient(1) == sp.Rational(1, 2)
    assert S.relu_coefficient(2) == 1 / (2 * sp.sqrt(sp.pi))  # digest: c_2 = 1/(2 sqrt(pi))
    for m in range(3, 40, 2):
        assert S.relu_coefficient(m) == 0


@pytest.mark.parametrize("m", range(41))
def test_abs_coefficient_from_reflection(m):
    # |z| = relu(z) + relu(-z) and h_m(-z) = (-1)^m h_m(z)  =>  coefficient (1 + (-1)^m) c_m
    assert sp.simplify(S.abs_coefficient(m) - (1 + (-1) ** m) * S.relu_coefficient(m)) == 0


@pytest.mark.parametrize("m", range(2, 41, 2))
def test_closed_form_double_factorial(m):
    # digest 1.3: c_m = (-1)^{m/2+1} (m-3)!! / sqrt(2 pi m!) for even m >= 2 ((-1)!! = 1)
    expected = (-1) ** (m // 2 + 1) * sp.factorial2(m - 3) / sp.sqrt(2 * sp.pi * sp.factorial(m))
    assert sp.simplify(S.relu_coefficient(m) - expected) == 0


@pytest.mark.parametrize("j", range(7))
def test_half_moment_against_sympy_integrate(j):
    x = sp.Symbol("x", positive=True)
    direct = sp.integrate(x**j * sp.exp(-(x**2) / 2), (x, 0, sp.oo)) / sp.sqrt(2 * sp.pi)
    assert sp.simplify(S.gaussian_half_moment(j) - direct) == 0


def test_parseval_partial_sum_exact():
    # sum_{m<=M} c_m^2 is exact and increasing to E[relu(G)^2] = 1/2 (= half moment j=2)
    partial = sum(S.relu_coefficient(m) ** 2 for m in range(41))
    assert S.gaussian_half_moment(2) == sp.Rational(1, 2)
    gap = sp.N(sp.Rational(1, 2) - partial, 30)
    assert 0 < gap < sp.Rational(1, 1000)


def test_coefficient_ratio_recurrence():
    for m in range(2, 60, 2):
        ratio = sp.sympify(_generated.RELU_COEFFICIENT_RATIO, locals={"m": sp.Integer(m)})
        assert sp.simplify(S.relu_coefficient(m + 2) - ratio * S.relu_coefficient(m)) == 0


# --------------------------------------------------------------------------- contraction identity
@pytest.mark.parametrize(  # d = 3, l = 4 takes the longest: slow tier, with l >= 5 below
    "d,l",
    [
        pytest.param(d, l, marks=[pytest.mark.slow] if (d, l) == (3, 4) else [])
        for d in (1, 2, 3)
        for l in range(2, 7)
        if not (d == 3 and l >= 5)
    ],
)
def test_contraction_identity_generic_unit_vector(d, l):
    assert S.verify_contraction_identity(l, d).is_zero_matrix


@pytest.mark.slow
@pytest.mark.parametrize("l", [5, 6])
def test_contraction_identity_generic_unit_vector_d3_high(l):
    assert S.verify_contraction_identity(l, 3).is_zero_matrix


def test_contraction_identity_rational_unit_vector():
    g = [sp.Rational(2, 7), sp.Rational(3, 7), sp.Rational(6, 7)]
    assert S.verify_contraction_identity(4, 3, g).is_zero_matrix


def test_contraction_identity_fails_for_orthonormal_basis_tensor():
    # The tensor with entries prod_j h_{n_j}(x_j) (the orthonormal basis) is a different object:
    # the identity must detect the difference, so the check above is not vacuous.
    l, d = 3, 2
    xs = sp.symbols("x0:2", real=True)
    alt = sp.MutableDenseNDimArray.zeros(*([d] * l))
    for idx in itertools.product(range(d), repeat=l):
        counts = [idx.count(j) for j in range(d)]
        alt[idx] = sp.Mul(*[S.hermite_h(n, xs[j]) for j, n in enumerate(counts)])
    g = [sp.Rational(3, 5), sp.Rational(4, 5)]
    full = S.contract_tensor(alt, g, l - 2)
    closed = S.contraction_closed_form(l, g, xs)
    diff = sp.Matrix(d, d, lambda i, j: sp.expand(full[i, j] - closed[i, j]))
    assert not diff.is_zero_matrix


@pytest.mark.parametrize("l", [2, 3, 4, 10, 40])
def test_contraction_scales_closed_form(l):
    a, b, c = S.contraction_coefficients(l)
    assert a == 1
    assert sp.simplify(b - 1 / sp.sqrt(l)) == 0
    assert sp.simplify(c - 1 / sp.sqrt(l * (l - 1))) == 0


# --------------------------------------------------------------------------- kernels
nu, nv, theta = sp.symbols("nu nv theta", nonnegative=True)


def _sub(expr):
    syms = {s.name: s for s in expr.free_symbols}
    return expr.subs({syms.get("nu", nu): nu, syms.get("nv", nv): nv, syms.get("theta", theta): theta})


def test_relu_kernel_matches_arc_cosine_formula():
    expected = nu * nv * (sp.sin(theta) + (sp.pi - theta) * sp.cos(theta)) / (2 * sp.pi)
    assert sp.simplify(_sub(S.relu_kernel()) - expected) == 0


def test_abs_kernel_matches_arcsine_formula():
    rho = sp.cos(theta)
    expected = nu * nv * 2 / sp.pi * (sp.sqrt(1 - rho**2) + rho * sp.asin(rho))
    k = _sub(S.abs_kernel())
    for th in [sp.Rational(1, 10), sp.Rational(1, 2), 1, 2, 3]:
        assert abs(sp.N((k - expected).subs({theta: th, nu: 2, nv: 3}), 40)) < sp.Float("1e-35")


def test_kernel_limits():
    k = _sub(S.relu_kernel())
    assert sp.simplify(k.subs(theta, 0) - nu * nv / 2) == 0  # E[relu(G)^2] = 1/2
    assert k.subs(theta, sp.pi) == 0  # relu(z) relu(-z) = 0
    assert sp.simplify(_sub(S.relu_linear_kernel()).subs(theta, 0) - nu * nv / 2) == 0


# --------------------------------------------------------------------------- generated module
def test_generated_module_is_up_to_date():
    text = S.render_generated_module()
    with open(_generated.__file__, encoding="utf-8") as fh:
        assert fh.read() == text, "run: python -m verified_relu.hermite.symbolic --regenerate"


def test_check_entry_point(capsys):
    assert S.main(["--check"]) == 0


def test_generated_entries_reproduce_exact_values():
    for m, (s, num, den, e) in enumerate(_generated.RELU_COEFFICIENTS):
        value = s * sp.sqrt(sp.Rational(num, den) / sp.pi**e)
        assert sp.simplify(value - S.relu_coefficient(m)) == 0


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad,exc", [(2.0, TypeError), (True, TypeError), (-1, ValueError), ("3", TypeError)])
def test_relu_coefficient_rejects_bad_degree(bad, exc):
    with pytest.raises(exc, match="m must"):
        S.relu_coefficient(bad)


def test_no_floats_in_symbolic_layer():
    with pytest.raises(TypeError, match="exact"):
        S.contraction_closed_form(3, [0.6, 0.8], sp.symbols("x0:2"))
    with pytest.raises(TypeError, match="exact"):
        S.stereographic_unit_vector([0.5])
    with pytest.raises(ValueError, match="same length"):
        S.contraction_closed_form(3, [1, 0, 0], sp.symbols("x0:2"))
    with pytest.raises(ValueError, match="l must be >= 2"):
        S.contraction_coefficients(1)
    with pytest.raises(ValueError, match="too many"):
        S.hermite_tensor(12, sp.symbols("x0:5"))


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: S.abs_coefficient(-2), ValueError, "m must be >= 0"),
        (lambda: S.relu_coefficient_by_parts(1.5), TypeError, "m must be an int"),
        (lambda: S.hermite_he(-1), ValueError, "n must be >= 0"),
        (lambda: S.hermite_h(2, 0.5), TypeError, "arg must be exact"),
        (lambda: S.gaussian_half_moment(-1), ValueError, "j must be >= 0"),
        (lambda: S.hermite_tensor(2, []), ValueError, "at least one variable"),
        (lambda: S.verify_contraction_identity(3, 0), ValueError, "d must be >= 1"),
        (lambda: S.verify_contraction_identity(3, 2, [1, 0, 0]), ValueError, "g must have length d=2"),
        (lambda: S.coefficient_parts(sp.sqrt(2) + sp.pi), ValueError, "not of the form"),
    ],
)
def test_every_public_function_rejects_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
