"""DK24's learner (``method="dk"``) and its improper output :class:`HermitePredictor`.

Every expected value comes from an independent route: closed forms written out here (the ReLU
Hermite coefficients ``c_m = (-1)^{m/2+1} (m-3)!! / sqrt(2 pi m!)``, numpy's ``hermeval``
for ``He_n``), quadrature, Monte Carlo with a stated 5-sigma bound, exact integer/Fraction
arithmetic, or the network's own full moment tensors -- never a stored output of the code.

Run ``python3 tests/learners/test_dk.py`` for the acceptance table (exact error against DK24's
truncation bound, all families, 5 seeds per cell, ``n = 100000``).
"""

import dataclasses
import json
import math
import sys
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.polynomial import hermite_e
from scipy import integrate

from verified_relu import ReLUNetwork, instances
from verified_relu.learners import LearnResult, learn
from verified_relu.learners.dk import (
    DKParams,
    HermitePredictor,
    exact_tail,
    multi_indices,
    population_q_matrix,
    relu_tail,
    truncation_bound,
    validate,
)


# ----------------------------------------------------------------------------- independent oracles
def c_relu(m):
    """``E[relu(G) h_m(G)]`` from the closed form (digest 1.3), independent of the package."""
    if m == 0:
        return 1 / math.sqrt(2 * math.pi)
    if m == 1:
        return 0.5
    if m % 2:
        return 0.0
    dfact = math.prod(range(m - 3, 0, -2)) if m >= 3 else 1
    return (-1) ** (m // 2 + 1) * math.sqrt(float(Fraction(dfact**2, math.factorial(m))) / (2 * math.pi))


def h_norm(n, x):
    """``He_n(x) / sqrt(n!)`` via numpy's HermiteE series (fine at the low degrees used here)."""
    coef = np.zeros(n + 1)
    coef[n] = 1.0
    return hermite_e.hermeval(x, coef) / math.sqrt(math.factorial(n))


def h_alpha(Z, alpha):
    out = np.ones(Z.shape[0])
    for j, a in enumerate(alpha):
        out = out * h_norm(int(a), Z[:, j])
    return out


def random_frame(rng, d, r):
    Q, _ = np.linalg.qr(rng.standard_normal((d, r)))
    return Q


# ----------------------------------------------------------------------------- the E[relu h_alpha] formula
def test_relu_alpha_formula_d1_by_quadrature():
    # d = 1, basis (1): E[relu(u x) h_m(x)] = c_m u^m for u = +-1
    for u in (1.0, -1.0):
        net = ReLUNetwork([[u]], [1.0])
        pred = HermitePredictor.projection(net, [[1.0]], 8)
        for alpha, value in zip(pred.multi_indices[:, 0], pred.coefficients):
            quad, _ = integrate.quad(
                lambda x, m=int(alpha), u=u: (
                    max(u * x, 0.0) * h_norm(m, x) * math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
                ),
                -40,
                40,
                points=[0.0],
                limit=200,
            )
            assert abs(value - quad) < 1e-9
            assert abs(value - c_relu(int(alpha)) * u ** int(alpha)) < 1e-14


def test_relu_alpha_formula_monte_carlo():
    rng = np.random.default_rng(7)
    d, r, n = 5, 2, 400_000
    E = random_frame(rng, d, r)
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    # put a good part of u inside V so the coefficients are not all tiny
    u = 0.8 * E[:, 0] + 0.5 * E[:, 1] + 0.33 * (np.eye(d)[0] - E @ (E.T @ np.eye(d)[0]))
    u /= np.linalg.norm(u)
    X = rng.standard_normal((n, d))
    Z = X @ E
    relu = np.maximum(X @ u, 0.0)
    pred = HermitePredictor.projection(ReLUNetwork([u], [1.0]), E, 4)
    for alpha, value in zip(pred.multi_indices, pred.coefficients):
        m = int(alpha.sum())
        formula = c_relu(m) * math.sqrt(math.factorial(m) / math.prod(math.factorial(int(a)) for a in alpha))
        formula *= np.prod((E.T @ u) ** alpha)
        assert abs(value - formula) < 1e-13
        sample = relu * h_alpha(Z, alpha)
        se = sample.std() / math.sqrt(n)
        assert abs(sample.mean() - formula) <= 5 * se + 1e-12, (
            alpha,
            sample.mean(),
            formula,
            se,
        )


# ----------------------------------------------------------------------------- exact distances
def test_squared_distance_vs_monte_carlo():
    rng = np.random.default_rng(11)
    d, r, n = 4, 2, 400_000
    E = random_frame(rng, d, r)
    A = multi_indices(r, 4)
    pred = HermitePredictor(E, A, 0.3 * rng.standard_normal(len(A)))
    net = ReLUNetwork(
        rng.standard_normal((3, d)),
        [1.0, -0.7, 0.5],
        linear=0.4 * rng.standard_normal(d),
    )
    X = rng.standard_normal((n, d))
    Z = X @ E
    direct = sum(c * h_alpha(Z, a) for a, c in zip(A, pred.coefficients))
    np.testing.assert_allclose(pred(X[:1000]), direct[:1000], rtol=1e-12, atol=1e-12)
    sq = (direct - net(X)) ** 2
    se = sq.std() / math.sqrt(n)
    exact = pred.squared_distance(net)
    assert abs(sq.mean() - exact) <= 5 * se, (sq.mean(), exact, se)
    # ||F~||^2 = sum a^2 by orthonormality
    assert abs(pred.norm_squared() - float(np.sum(pred.coefficients**2))) < 1e-14


def test_projection_distance_is_the_exact_tail():
    """Directions (and the linear term) inside V: the exact degree-D projection misses exactly
    the tail sum_{m>D} ||M_m||^2, summed here term by term with the closed-form c_m."""
    rng = np.random.default_rng(3)
    d, k, D = 6, 3, 6
    E = random_frame(rng, d, k)
    W = (E @ rng.standard_normal((k, k))).T
    net = ReLUNetwork(W, [1.2, -0.8, 0.6], linear=E @ rng.standard_normal(k))
    proj = HermitePredictor.projection(net, E, D)
    s = net.coefficients * np.linalg.norm(W, axis=1)
    U = W / np.linalg.norm(W, axis=1)[:, None]
    G = U @ U.T
    tail = 0.0
    for i in range(k):
        for j in range(k):
            if i == j:
                t = 0.5 - math.fsum(c_relu(m) ** 2 for m in range(D + 1))  # Parseval: sum_m c_m^2 = 1/2
            else:
                t = math.fsum(c_relu(m) ** 2 * G[i, j] ** m for m in range(D + 1, 1500))
            tail += s[i] * s[j] * t
    assert abs(proj.squared_distance(net) - tail) < 1e-10
    assert abs(exact_tail(net, D) - tail) < 1e-10
    # and DK24's bound dominates it
    assert tail <= truncation_bound(net, D)
    assert (
        abs(truncation_bound(net, D) - (0.5 - math.fsum(c_relu(m) ** 2 for m in range(D + 1))) * np.sum(np.abs(s)) ** 2)
        < 1e-13
    )


def test_relu_tail_against_mpmath():
    ctx = mpmath.MPContext()
    ctx.dps = 40
    for D in (0, 1, 2, 7, 30):
        partial = ctx.fsum(
            (ctx.mpf(1) / ctx.sqrt(2 * ctx.pi)) ** 2
            if m == 0
            else ctx.mpf(1) / 4
            if m == 1
            else (0 if m % 2 else ctx.mpf(math.prod(range(m - 3, 0, -2))) ** 2 / (2 * ctx.pi * ctx.factorial(m)))
            for m in range(D + 1)
        )
        assert abs(relu_tail(D) - float(ctx.mpf(1) / 2 - partial)) < 1e-15


def test_population_q_matrix_from_full_tensors():
    net = instances.make("random", 4, 3, rng=2)
    net = ReLUNetwork(net.weights, net.coefficients, linear=[0.1, -0.2, 0.0, 0.3])
    degrees = (1, 2, 3, 4)
    flat = [np.asarray(net.hermite_moment(m)).reshape(4, -1) for m in degrees]
    A = sum(T @ T.T for T in flat)
    np.testing.assert_allclose(population_q_matrix(net, degrees), A, atol=1e-14)


@given(st.integers(0, 50), st.integers(2, 6), st.integers(0, 12))
def test_tail_is_between_zero_and_the_bound(seed, k, D):
    net = instances.make("random", 5, k, rng=seed)
    tail = exact_tail(net, D)
    assert 0.0 <= tail <= truncation_bound(net, D) + 1e-12


# ----------------------------------------------------------------------------- serialization, determinism
def _fit(family="random", d=6, k=2, n=20000, seed=0, **kw):
    net = instances.make(family, d, k, rng=seed)
    X, y = net.sample(n, rng=100 + seed)
    return net, X, y, learn(X, y, k, method="dk", rng=seed, **kw)


def test_predictor_round_trip():
    rng = np.random.default_rng(5)
    E = random_frame(rng, 5, 3)
    A = multi_indices(3, 3)
    pred = HermitePredictor(E, A, rng.standard_normal(len(A)) / 3)
    back = HermitePredictor.from_dict(json.loads(json.dumps(pred.to_dict())))
    assert back == pred
    X = rng.standard_normal((50, 5))
    assert np.array_equal(back(X), pred(X))
    assert (back.d, back.rank, back.degree) == (5, 3, 3)
    with pytest.raises(ValueError, match="format"):
        HermitePredictor.from_dict({"basis": []})


def test_learn_result_json_round_trip_and_determinism():
    net, X, y, res = _fit()
    back = LearnResult.from_json(res.to_json())
    assert isinstance(back.network, HermitePredictor)
    assert back.network == res.network
    assert back.to_dict() == res.to_dict()
    again = learn(X, y, 2, method="dk", rng=0)
    assert again.network == res.network
    assert again.diagnostics == res.diagnostics
    # the teacher is audit only: the output is bitwise the same with it
    audited = learn(X, y, 2, method="dk", rng=0, teacher=net)
    assert audited.network == res.network
    assert "audit" in audited.step("subspace").data and "audit" not in res.step("subspace").data
    assert [s.name for s in res.trace] == [
        "split",
        "subspace",
        "q_spectrum",
        "subspace_basis",
        "coefficients",
        "validation",
        "verdict",
    ]


def test_departures_listed():
    _, _, _, res = _fit()
    assert set(res.diagnostics["departures"]) == {
        "scaled_constants",
        "few_moment_degrees",
        "unbiased_q",
        "zero_odd_coefficients",
    }
    assert DKParams.from_theory(4, 2, 0.1).departures() == []
    # overriding the theory's degrees is a departure even without the flag
    changed = dataclasses.replace(DKParams.from_theory(4, 2, 0.1), moment_degrees=(1, 2))
    assert changed.departures() == ["few_moment_degrees"]
    full = DKParams.practical(4, 2, moment_degrees=tuple(range(1, 9)))
    assert "few_moment_degrees" not in full.departures()


# ----------------------------------------------------------------------------- the theory profile by hand
def _ceil_root3(num):
    """Smallest integer D with D^3 >= num (num a Fraction): ceil(num^(1/3))."""
    D = max(round(float(num) ** (1 / 3)) - 2, 0)
    while Fraction(D) ** 3 < num:
        D += 1
    return D


@pytest.mark.parametrize(
    "d,k,eps,R,C",
    [
        (8, 2, Fraction(1, 10), 1, 10),
        (3, 3, Fraction(1, 8), 1, 3),
        (10, 4, Fraction(3, 10), 3, 12),
    ],
)
def test_from_theory_by_hand(d, k, eps, R, C):
    p = DKParams.from_theory(d, k, float(eps), float(R), 0.1, C=C)
    e = eps / R
    N = Fraction(d * k) / e
    N = N ** (C * k)
    N_int = -((-N.numerator) // N.denominator)
    ctx = mpmath.MPContext()
    ctx.dps = 70

    def close(value, exact):  # 45 significant digits (the profile works at 50)
        ref = ctx.mpf(exact.numerator) / ctx.mpf(exact.denominator)
        return abs(ctx.mpf(value) - ref) <= abs(ref) * ctx.mpf(10) ** -45

    assert close(p.n_samples, Fraction(N_int))
    # D = ceil(C e^(-4/3)) = ceil((C^3 / e^4)^(1/3)), exact integer arithmetic
    D = _ceil_root3(Fraction(C) ** 3 / e**4)
    assert p.D == D
    assert close(p.moment_accuracy, (e / k) ** (C * k))
    assert close(p.coefficient_accuracy, e**2 / (D * C))
    assert p.moment_degrees == tuple(range(1, 4 * k + 1)) and p.subspace_dim == k
    assert mpmath.mp.dps == 15  # the global precision is never touched


def test_theory_profile_refuses_with_the_needed_number():
    p = DKParams.from_theory(8, 2, 0.1)
    X = np.random.default_rng(0).standard_normal((1000, 8))
    with pytest.raises(ValueError, match=r"n_samples = 1\.20893e\+44"):
        learn(X, X[:, 0], 2, method="dk", params=p)


def test_theory_profile_runs_when_affordable():
    """d = 2, k = 1, eps = 1/2, C = 2: N = 16 samples, D = 6, degrees 1..4, no departures (plug-in Q)."""
    p = DKParams.from_theory(2, 1, 0.5, C=2)
    net = ReLUNetwork([[0.6, 0.8]], [1.0])
    X, y = net.sample(20_000, rng=4)
    res = learn(X, y, 1, method="dk", rng=0, params=p, teacher=net)
    assert res.diagnostics["departures"] == []
    sub = res.step("subspace").data
    assert sub["unbiased"] is False and sub["degrees"] == [1, 2, 3, 4]
    assert float(sub["audit"]["lemma17_threshold"]) == pytest.approx(2 * 0.5)  # 2 (eps/k)^{Ck/2} = 2 * (1/2)^1
    assert sub["audit"]["sin_angle_to_V"][0] < 0.05
    assert res.network.degree == 6
    LearnResult.from_json(res.to_json())  # mpf parameters serialize


# ----------------------------------------------------------------------------- bad input
def test_bad_input():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 6))
    y = X[:, 0]
    with pytest.raises(ValueError, match="n_samples"):
        learn(X, y, 2, method="dk")
    Xn = rng.standard_normal((5000, 6))
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError):
        learn(Xn, Xn[:, 0], 2, method="dk")
    X = rng.standard_normal((5000, 6))
    with pytest.raises(ValueError, match="moment_degrees"):
        learn(X, X[:, 0], 2, method="dk", moment_degrees=(1, 2, 10))
    with pytest.raises(ValueError, match="moment_fraction"):
        learn(X, X[:, 0], 2, method="dk", moment_fraction=1.5)
    with pytest.raises(ValueError, match="subspace_dim"):
        learn(X, X[:, 0], 2, method="dk", subspace_dim=9)
    with pytest.raises(TypeError, match="unknown option"):
        learn(X, X[:, 0], 2, method="dk", bogus=1)
    with pytest.raises(ValueError, match="eps"):
        DKParams.from_theory(4, 2, -0.1)
    with pytest.raises(ValueError, match="orthonormal"):
        HermitePredictor(np.ones((3, 2)), [[0, 0]], [1.0])
    p = DKParams.practical(6, 2)
    with pytest.raises(ValueError, match="n"):
        validate(p, 10, 6, 2)


# ----------------------------------------------------------------------------- acceptance (small cells)
_SLOW = pytest.mark.slow  # one case per family in the default tier, the other cases in the slow one
ACCEPT = [
    ("random", 2),
    pytest.param("random", 4, marks=_SLOW),
    ("close_pair", 3),
    ("orthonormal", 2),
    pytest.param("orthonormal", 4, marks=_SLOW),
    pytest.param("dkkz", 2, marks=_SLOW),
    ("dkkz", 4),
]


@pytest.mark.parametrize("family,k", ACCEPT)
def test_acceptance_within_truncation_bound(family, k):
    """Exact error <= DK24's tail bound at d = 8, n = 100000 (the full table: run this file)."""
    net = instances.make(family, 8, k, rng=0)
    X, y = net.sample(100_000, rng=1000)
    res = learn(X, y, k, method="dk", rng=0, teacher=net)
    audit = res.diagnostics["audit"]
    exact = res.network.squared_distance(net)
    assert exact == audit["squared_error"]
    assert exact <= truncation_bound(net, res.network.degree)
    # Pythagoras: estimation error + projection error = total
    assert abs(audit["estimation_error"] + audit["projection_error"] - exact) < 1e-10
    # (no z-test of the held-out MSE against ``exact``: the squared residuals of a degree-D
    # polynomial are heavy-tailed and their sample standard error is unreliable at 10^4 samples)


def test_noisy_labels_and_the_success_flag():
    """Zero-mean label noise (DK24 Thm 1, footnote): the estimators stay unbiased; the held-out
    MSE then contains sigma^2, which ``noise_variance`` adds to the success target."""
    net = instances.make("random", 8, 3, rng=1)
    X, y = net.sample(100_000, rng=2, noise=0.3)
    res = learn(X, y, 3, method="dk", rng=0, noise_variance=0.09)
    assert res.network.squared_distance(net) <= truncation_bound(net, res.network.degree)
    diag = res.diagnostics
    assert diag["target"] == pytest.approx((0.1 * 3) ** 2 + 0.09)
    assert diag["paper_accepted"] == (diag["validation_mse"] <= diag["target"])
    assert "held-out validation" in res.message


def acceptance_table(n=100_000, seeds=5, out=sys.stdout):
    """Print per-cell counts of ``exact error <= truncation bound`` and runtimes; return the totals."""
    import time

    total = ok_total = 0
    for family in ("random", "close_pair", "orthonormal", "dkkz"):
        for d in (8, 16):
            for k in (2, 3, 4):
                if family == "dkkz" and k == 3:
                    continue
                ok, times, worst = 0, [], 0.0
                for seed in range(seeds):
                    net = instances.make(family, d, k, rng=seed)
                    X, y = net.sample(n, rng=1000 + seed)
                    t0 = time.perf_counter()
                    res = learn(X, y, k, method="dk", rng=seed)
                    times.append(time.perf_counter() - t0)
                    err, bound = (
                        res.network.squared_distance(net),
                        truncation_bound(net, res.network.degree),
                    )
                    ok += err <= bound
                    worst = max(worst, err / bound)
                total += seeds
                ok_total += ok
                print(
                    f"{family:12s} d={d:2d} k={k} D={res.network.degree} within bound {ok}/{seeds}  "
                    f"max err/bound {worst:.3f}  time mean {np.mean(times):.2f}s max {np.max(times):.2f}s",
                    file=out,
                    flush=True,
                )
    print(f"total {ok_total}/{total} = {ok_total / total:.1%} (n = {n})", file=out)
    return ok_total, total


if __name__ == "__main__":
    acceptance_table()
