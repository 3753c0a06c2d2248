"""Unit tests of the helper functions behind the CN24, DK24 and DKKZ20 claims.

The generic "every claim passes at the quick tier and fails under each mutation" tests live in
``test_registry.py``; here the building blocks are tested against independent values.
"""

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from proofs_checks import cn, dk, dkkz, registry


# ----------------------------------------------------------------------------- CN Lemma 7
@given(
    st.lists(st.fractions(min_value=-1, max_value=1, max_denominator=50), min_size=2, max_size=6, unique=True),
    st.data(),
)
def test_isolating_polynomial_interpolates_indicator(nodes, data):
    k = len(nodes)
    size = data.draw(st.integers(1, k - 1))
    start = data.draw(st.integers(0, k - size))
    block = list(range(start, start + size))
    p = cn.isolating_polynomial(nodes, block)
    assert [cn.poly_eval(p, x) for x in nodes] == [Fraction(int(s in block)) for s in range(k)]
    assert len(p) - 1 <= size * (k - size)


def test_isolating_polynomial_known_case():
    # nodes 0, 1, 2; I = {0}: p(x) = (1 - x/1)(1 - x/2) = 1 - 3x/2 + x^2/2
    assert cn.isolating_polynomial([0, 1, 2], [0]) == [1, Fraction(-3, 2), Fraction(1, 2)]


def test_isolating_polynomial_dropped_factor_breaks_interpolation():
    p = cn.isolating_polynomial([0, 1, 2], [0], drop=1)
    assert cn.poly_eval(p, 1) != 0


@pytest.mark.parametrize("bad", [[], [5]])
def test_isolating_polynomial_rejects_bad_block(bad):
    with pytest.raises(ValueError, match="block"):
        cn.isolating_polynomial([0, 1, 2], bad)


def test_isolating_polynomial_rejects_repeated_nodes():
    with pytest.raises(ValueError, match="nodes"):
        cn.isolating_polynomial([0, 1, 1], [0])


def test_covering_radius_regular_polygon_and_octahedron():
    n = 12
    t = 2 * np.pi * np.arange(n) / n
    r = cn.covering_radius(np.c_[np.cos(t), np.sin(t)])
    assert r == pytest.approx(2 * math.sin(math.pi / (2 * n)), rel=1e-12)
    octa = np.vstack([np.eye(3), -np.eye(3)])
    # the farthest points are the face centres (1,1,1)/sqrt 3: chord sqrt(2 - 2/sqrt 3)
    assert cn.covering_radius(octa) == pytest.approx(math.sqrt(2 - 2 / math.sqrt(3)), rel=1e-12)


def test_covering_radius_rejects_dimension():
    with pytest.raises(ValueError, match="dimension"):
        cn.covering_radius(np.eye(4))


# ----------------------------------------------------------------------------- DK Schur polynomials
def test_schur_jacobi_trudi_matches_bialternant():
    xs = sympy.symbols("x1:4")
    for lam in ([2, 1], [3, 1, 1], [2, 2]):
        lam3 = lam + [0] * (3 - len(lam))
        num = sympy.Matrix(3, 3, lambda i, j, lam3=lam3: xs[i] ** (lam3[j] + 3 - 1 - j))
        den = sympy.Matrix(3, 3, lambda i, j: xs[i] ** (3 - 1 - j))
        bialt = sympy.cancel(num.det() / den.det())
        assert sympy.expand(dk.schur_jacobi_trudi(lam, xs) - bialt) == 0


def test_remainder_coefficients_k2_by_hand():
    # x^3 mod (x - a)(x - b) = (a^2 + ab + b^2) x - ab (a + b)
    a, b, x = sympy.symbols("a b x")
    c0, c1 = dk.remainder_coefficients(3, [a, b], x)
    assert sympy.expand(c1 - (a * a + a * b + b * b)) == 0
    assert sympy.expand(c0 + a * b * (a + b)) == 0


@pytest.mark.parametrize(
    "lam,n,expected", [([1], 4, 4), ([2], 3, 6), ([1, 1], 3, 3), ([2, 1], 3, 8), ([3, 1, 1], 4, 36)]
)
def test_hook_content_known_values(lam, n, expected):
    # s_(m)(1^n) = C(n+m-1, m), s_(1^j)(1^n) = C(n, j), s_(2,1)(1^3) = 8, s_(3,1,1)(1^4) = 36
    assert dk.hook_content(lam, n) == expected


def test_hook_content_matches_symbolic_coefficient_sum():
    xs = sympy.symbols("x1:5")
    for lam in ([4, 1, 1], [2, 2, 1], [5]):
        s = sympy.Poly(dk.schur_jacobi_trudi(lam, xs), *xs)
        assert sum(s.coeffs()) == dk.hook_content(lam, 4)


def test_hook_content_rejects_non_partition():
    with pytest.raises(ValueError, match="partition"):
        dk.hook_content([1, 2], 3)


# ----------------------------------------------------------------------------- DK error budget
def test_tail_sum_matches_direct_sum_of_closed_form():
    # direct sum of c_m^2 = ((m-3)!!)^2/(2 pi m!) over m = D+1.. (until negligible) vs Parseval
    ctx = mpmath.MPContext()
    ctx.dps = 40
    D = 20
    direct = ctx.mpf(0)
    for m in range(22, 4000, 2):
        direct += ctx.mpf(ctx.fac2(m - 3)) ** 2 / (2 * ctx.pi * ctx.factorial(m))
    # the remaining tail beyond 4000 is ~ 0.0423 * 4000^-1.5 ~ 1.7e-7 relative to direct ~ 4.5e-4
    assert float(dk.tail_sum_c2(D, 40)) == pytest.approx(float(direct), rel=1e-3)
    assert float(dk.tail_sum_c2(D, 40)) > float(direct)


def test_tail_constant_matches_digest():
    D = 1000
    assert float(dk.tail_sum_c2(D)) * D**1.5 == pytest.approx(0.0423, abs=5e-4)


def test_minimal_budget_constant_is_minimal():
    eps = 0.05
    C = dk.minimal_budget_constant(eps)
    assert dk._budget_ratio(C, eps) < 1
    assert dk._budget_ratio(C - 1e-9, eps) >= 1  # the ratio is non-increasing in C
    assert 2.0 < C < 2.1


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1])
def test_minimal_budget_constant_rejects_eps(bad):
    with pytest.raises(ValueError, match="eps"):
        dk.minimal_budget_constant(bad)


# ----------------------------------------------------------------------------- DKKZ Fourier
def test_angular_fourier_of_single_relu():
    # relu(cos t): coefficient at n = 1 is 1/4, at n = 0 is 1/pi, at n = 2 is 1/(3 pi), odd n >= 3 vanish
    ctx = mpmath.MPContext()
    ctx.dps = 30
    arcs = dkkz.arc_functionals(ctx, [(ctx.mpf(0), 1)])
    assert abs(dkkz.angular_fourier(ctx, arcs, 0) - 1 / ctx.pi) < 1e-25
    assert abs(dkkz.angular_fourier(ctx, arcs, 1) - ctx.mpf(1) / 4) < 1e-25
    assert abs(dkkz.angular_fourier(ctx, arcs, 2) - 1 / (3 * ctx.pi)) < 1e-25
    assert abs(dkkz.angular_fourier(ctx, arcs, 3)) < 1e-25


def test_angular_fourier_matches_quadrature():
    ctx = mpmath.MPContext()
    ctx.dps = 20
    arcs = dkkz.arc_functionals(ctx, dkkz.dkkz_neurons(ctx, 4))

    def f(t):
        return sum(s * max(ctx.mpf(0), ctx.cos(t - phi)) for phi, s in dkkz.dkkz_neurons(ctx, 4))

    pts = sorted({float(a) for a, _, _, _ in arcs}) + [float(arcs[0][0]) + 2 * math.pi]
    quad = ctx.quad(lambda t: f(t) * ctx.expj(-4 * t), pts) / (2 * ctx.pi)
    assert abs(quad - dkkz.angular_fourier(ctx, arcs, 4)) < 1e-15


def test_dkkz_neurons_rejects_k():
    with pytest.raises(ValueError, match="k"):
        dkkz.dkkz_neurons(mpmath.MPContext(), 0)


# ----------------------------------------------------------------------------- registry wiring
MINE = ("cn.", "dk.", "dkkz.", "errata.dk_eq3_partition")


def _mine():
    registry._load_all()
    return sorted(c for c in registry.REGISTRY if c.startswith(MINE))


def test_claims_registered():
    assert _mine() == sorted(
        [
            "cn.end_to_end",
            "cn.end_to_end_faithful",
            "cn.lemma15_distance",
            "cn.lemma6_validation",
            "cn.lemma7_isolating_polynomial",
            "cn.lemmas10_13_eigenspaces",
            "cn.prop8_cluster_collapse",
            "cn.random_net",
            "cn.sample_complexity_scalings",
            "dk.cancellation_example",
            "dk.claim14_coefficient_bound",
            "dk.claim14_schur_remainder",
            "dk.end_to_end",
            "dk.final_error_budget",
            "dk.prop13_scalar_extrapolation",
            "dk.prop15_tensor_extrapolation",
            "dkkz.hard_instance_structure",
            "dkkz.separation_and_rank",
            "errata.dk_eq3_partition",
        ]
    )


@pytest.mark.parametrize("cid", _mine())
def test_claim_full_tier_parameters_are_a_superset(cid):
    c = registry.REGISTRY[cid]
    if c.in_tier("quick"):  # a full-tier-only claim has no quick parameters
        assert set(c.tiers["quick"]) == set(c.tiers["full"])
    for overrides in c.mutations.values():
        assert set(overrides) <= set(c.tiers[c.smallest_tier])


def test_tensor_norm_gram_identity_matches_full_tensor():
    gen = np.random.default_rng(5)
    vs = [[float(c) for c in v] for v in dk._rational_unit_vectors(gen, 3, 3, 0.0)]
    ws = [0.5, -1.25, 0.75]
    gram = [[float(np.dot(u, v)) for v in vs] for u in vs]
    for t in range(6):
        T = sum(w * _power(np.asarray(v), t) for w, v in zip(ws, vs))
        assert dk._tensor_norm(ws, gram, t) == pytest.approx(float(np.linalg.norm(np.ravel(T))), rel=1e-12)


def _power(v, t):
    out = np.array(1.0)
    for _ in range(t):
        out = np.multiply.outer(out, v)
    return out


def test_rational_unit_vectors_are_exactly_unit():
    gen = np.random.default_rng(6)
    for v in dk._rational_unit_vectors(gen, 4, 3, 1e-2):
        assert sum(c * c for c in v) == 1


def test_cn_chain_matches_hand_computation():
    ctx = mpmath.MPContext()
    ctx.dps = 30
    ch = cn._cn_chain(ctx, 10, 2, "0.1", 1, "0.1")  # decimal strings: exact inputs
    tau = xi = ctx.mpf("0.005")  # C eps / k with R = 1
    delta = ctx.mpf("0.01") * xi**2 * tau * ctx.mpf("0.1") / (2 * 16 * ctx.mpf(10) ** 1.5)
    assert abs(ch["Delta"] / delta - 1) < 1e-25
    assert abs(ch["nu"] / (ctx.mpf("0.01") * xi**2 * tau * delta**4 / 10) - 1) < 1e-25
    assert abs(ch["N"] / (ctx.mpf(20) ** 4 / ch["nu"] ** 4) - 1) < 1e-25
