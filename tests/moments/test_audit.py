"""The mpmath audit path against exact rational arithmetic, and the float64 error it reports.

Reference (independent of the contraction identity and of every Hermite recurrence): with
``f(v) = <S_l(x), v^{(x)l}> = |v|^l h_l(<v,x>/|v|) = (1/sqrt(l!)) sum_m e_m <v,x>^{l-2m} |v|^{2m}``,
``e_m = (-1)^m l! / (m! (l-2m)! 2^m)`` (the coefficients of He_l), the contraction is the
Hessian ``S_l(x)[g^{l-2}, e_i, e_j] = d_i d_j f(g) / (l (l-1))``.  With a dyadic unit ``g``
and float64 samples (exact binary rationals), ``sqrt(l!) * estimate`` is an exact rational,
computed here with :class:`fractions.Fraction`; only the final division by ``sqrt(l!)`` is
done in mpmath (60 digits).
"""

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from verified_relu import ReLUNetwork
from verified_relu.moments import (
    contraction_matvec_mp,
    hermite_moment,
    hermite_moment_mp,
    moment_contraction,
    moment_contraction_mp,
    rounding_error,
)

G = np.array([0.5, -0.5, 0.5, 0.5])  # exactly unit in binary floating point


def _exact_scaled_contraction(X, y, l, g):
    """``sqrt(l!) * (1/n) sum_a y_a S_l(x_a)[g^{l-2}, :, :]`` as a matrix of Fractions."""
    d = len(g)
    gq = [Fraction(float(v)) for v in g]
    assert sum(v * v for v in gq) == 1
    coef = [
        (-1) ** m * Fraction(math.factorial(l), math.factorial(m) * math.factorial(l - 2 * m) * 2**m)
        for m in range(l // 2 + 1)
    ]
    total = [[Fraction(0)] * d for _ in range(d)]
    for x, w in zip(X.tolist(), y.tolist()):
        xq = [Fraction(v) for v in x]
        wq = Fraction(w)
        A = sum(a * b for a, b in zip(gq, xq))  # <g, x>; |g|^2 = 1
        for i in range(d):
            for j in range(d):
                h = Fraction(0)
                for m, e in enumerate(coef):
                    p = l - 2 * m
                    term = Fraction(0)
                    if p >= 2:
                        term += p * (p - 1) * A ** (p - 2) * xq[i] * xq[j]
                    if p >= 1 and m >= 1:
                        term += 2 * p * m * A ** (p - 1) * (xq[i] * gq[j] + xq[j] * gq[i])
                    if m >= 2:
                        term += 4 * m * (m - 1) * A**p * gq[i] * gq[j]
                    if m >= 1 and i == j:
                        term += 2 * m * A**p
                    h += e * term
                total[i][j] += wq * h / (l * (l - 1))
    n = len(y)
    return [[v / n for v in row] for row in total]


def _to_mp(exact, l, ctx):
    s = ctx.sqrt(ctx.factorial(l))
    return [[ctx.mpf(v.numerator) / v.denominator / s for v in row] for row in exact]


@pytest.fixture
def small(rng):
    net = ReLUNetwork(rng.standard_normal((3, 4)), [1.0, -0.8, 0.6], 0.2 * rng.standard_normal(4))
    return net.sample(24, rng=rng)


@pytest.mark.parametrize("l", [2, 5, 8, 14, 22])
def test_mp_path_is_exact_and_audit_reports_the_true_error(small, l):
    X, y = small
    ctx = mpmath.MPContext()
    ctx.dps = 60
    exact = _to_mp(_exact_scaled_contraction(X, y, l, G), l, ctx)
    ref = moment_contraction_mp(X, y, l, G, dps=40)
    for i in range(4):
        for j in range(4):
            assert abs(ctx.mpf(ref[i, j]) - exact[i][j]) <= ctx.mpf(10) ** -38 * (1 + abs(exact[i][j]))
    rep = rounding_error(X, y, l, G, dps=40)
    true_err = max(abs(ctx.mpf(float(rep.estimate[i, j])) - exact[i][j]) for i in range(4) for j in range(4))
    # the reported error is the true float64 error (to the mp path's 1e-38)
    assert abs(rep.max_abs_error - float(true_err)) <= 1e-30 + 1e-9 * float(true_err)
    scale = max(abs(exact[i][j]) for i in range(4) for j in range(4))
    assert rep.scale == pytest.approx(float(scale), rel=1e-14)
    assert (
        rep.digits == pytest.approx(-math.log10(float(true_err / scale)), rel=1e-9)
        if true_err
        else rep.digits == math.inf
    )
    # error analysis: the recurrence and the sums are accurate to a few ulps per step relative
    # to the envelope (mean |per-sample term|), so about l ulps of it at most
    assert rep.max_abs_error <= 4 * l * np.finfo(float).eps * rep.envelope
    assert rep.envelope_digits >= 12


def test_audit_of_other_estimates(rng):
    X = rng.standard_normal((20, 3))
    y = np.abs(X[:, 0] - X[:, 1]) - 0.3 * X[:, 2]
    g = np.array([0.0, 0.6, 0.8])
    V = rng.standard_normal((3, 2))
    ctx = mpmath.MPContext()
    ctx.dps = 50
    # the mat-vec reference is the contraction reference times V (in mp)
    M = moment_contraction_mp(X, y, 6, g, dps=45)
    MV = contraction_matvec_mp(X, y, 6, g, V, dps=45)
    for i in range(3):
        for j in range(2):
            want = ctx.fsum(ctx.mpf(M[i, k]) * ctx.mpf(float(V[k, j])) for k in range(3))
            assert abs(ctx.mpf(MV[i, j]) - want) <= ctx.mpf(10) ** -40
    rep = rounding_error(X, y, 6, g, V=V, dps=45)
    assert rep.estimate.shape == (3, 2) and rep.digits > 13
    # full tensor: mp path from He products; float64 path agrees to its reported digits
    T = hermite_moment_mp(X, y, 4, dps=30)
    assert T.shape == (3, 3, 3, 3)
    rep = rounding_error(X, y, 4, full_tensor=True, dps=30)
    assert rep.digits > 13
    est = hermite_moment(X, y, 4)
    worst = max(abs(ctx.mpf(float(e)) - ctx.mpf(t)) for e, t in zip(est.reshape(-1), T.reshape(-1)))
    assert float(worst) == pytest.approx(rep.max_abs_error, rel=1e-12)
    assert rep.max_abs_error <= 10**-rep.digits * rep.scale * (1 + 1e-12)
    # the mp contraction equals the mp full tensor contracted with g (two independent mp routes)
    T4 = hermite_moment_mp(X, y, 4, dps=30)
    M4 = moment_contraction_mp(X, y, 4, g, dps=30)
    # the mp path contracts with g / |g| exactly (0.6 and 0.8 are not exact binary numbers)
    gm = [ctx.mpf(float(v)) for v in g]
    nrm = ctx.sqrt(ctx.fsum(v * v for v in gm))
    gm = [v / nrm for v in gm]
    for i in range(3):
        for j in range(3):
            c = ctx.fsum(ctx.mpf(T4[a, b, i, j]) * gm[a] * gm[b] for a in range(3) for b in range(3))
            assert abs(c - ctx.mpf(M4[i, j])) <= ctx.mpf(10) ** -27
    # low orders and label transforms
    assert (
        abs(ctx.mpf(moment_contraction_mp(X, y, 0, dps=30)) - ctx.fsum(ctx.mpf(v) for v in y) / 20) < ctx.mpf(10) ** -29
    )
    rep0 = rounding_error(X, y, 1, dps=30)
    assert rep0.estimate.shape == (3,)
    sq = rounding_error(X, y, 2, g, dps=30, transform=lambda X, y: y * y)
    np.testing.assert_array_equal(sq.estimate, moment_contraction(X, y * y, 2, g))


def test_audit_input_checks(rng):
    X = rng.standard_normal((5, 2))
    y = rng.standard_normal(5)
    with pytest.raises(ValueError, match="dps must be between 15"):
        moment_contraction_mp(X, y, 2, [1.0, 0.0], dps=5)
    with pytest.raises(ValueError, match="g must be a unit vector"):
        rounding_error(X, y, 2, [1.0, 1.0])
    Xb = X.copy()
    Xb[0, 0] = np.inf
    with pytest.raises(ValueError, match="X must be finite"):
        moment_contraction_mp(Xb, y, 2, [1.0, 0.0])


def test_mp_state_untouched(small):
    X, y = small
    before = mpmath.mp.dps
    moment_contraction_mp(X, y, 4, G, dps=80)
    rounding_error(X, y, 4, G, dps=70)
    assert mpmath.mp.dps == before
