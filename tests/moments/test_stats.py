"""Statistical properties of the estimators against the exact ReLUNetwork values.

Every check is a z-test on (asymptotically) normal statistics at the 5-sigma level: a false
alarm probability of at most 5.7e-7 per test function.  A single statistic is compared with
Z = 5; where m entries are tested at once, each is compared with the Bonferroni threshold
``_z(m)`` (two-sided level 5.7e-7 / m per entry, e.g. 6.3 for m = 465), so that the family-wise
false-alarm probability is still 5.7e-7 (m counts the distinct entries of the symmetric
matrices and tensors).  All seeds are fixed, so the tests are reproducible.  The standard error
of a mean over ``R`` independent replications is ``sqrt(sum_r se_r^2) / R`` (the replications'
own standard errors, each from ``n`` samples), which is the standard error of one estimate from
``R n`` samples.
"""

import math

import numpy as np
import pytest
from scipy.stats import norm

from verified_relu import ReLUNetwork
from verified_relu.instances import make
from verified_relu.moments import LabelTransform, Residual, hermite_moment, moment_contraction

Z = 5.0
FAMILY_LEVEL = 2 * norm.sf(Z)  # 5.7e-7


def _z(m):
    """The per-entry threshold for m simultaneous two-sided z-tests at family-wise level 5.7e-7."""
    return float(norm.isf(FAMILY_LEVEL / (2 * m)))


def _distinct(d, l):
    """Distinct entries of a symmetric order-l tensor in R^d (a contraction matrix: l = 2)."""
    return math.comb(d + l - 1, l)


def _unit(rng, d):
    g = rng.standard_normal(d)
    return g / np.linalg.norm(g)


def _replicate(net, n, reps, rng, estimate):
    """Estimates (with SEs) on ``reps`` independent sample sets of size ``n``."""
    values, ses = [], []
    for child in rng.spawn(reps):
        X, y = net.sample(n, rng=child)
        est = estimate(X, y)
        values.append(np.asarray(est.value))
        ses.append(np.asarray(est.se))
    return np.array(values), np.array(ses)


def _z_scores(values, ses, exact):
    R = values.shape[0]
    se_mean = np.sqrt(np.sum(ses**2, axis=0)) / R
    return (values.mean(axis=0) - exact) / se_mean, se_mean


# (family, d, k, params): generic; with a linear term (dkkz); signed nearly cancelling
# coefficients (clump, dk_cancel); antipodal pairs (a neuron plus a linear term each)
FAMILIES = [
    ("random", 30, 5, {}),
    ("dkkz", 12, 4, {}),
    ("clump", 20, 5, {"size": 3, "residual": 0.05}),
    ("antipodal", 8, 4, {}),
    ("dk_cancel", 10, 3, {}),
]


@pytest.mark.parametrize("family,d,k,params", FAMILIES, ids=[f[0] for f in FAMILIES])
def test_contraction_is_unbiased(family, d, k, params):
    """Mean over 8 replications within _z(m) SE of ``ReLUNetwork.moment_contraction`` for
    l in {0, 1, 2, 4, 6, 8}: m = 1 + d + 4 d (d + 1) / 2 distinct entries (1891 at d = 30,
    threshold 6.6), family-wise false alarm 5.7e-7.  (It was 5 SE per entry: a family-wise
    false-alarm probability of up to 1e-2.)"""
    rng = np.random.default_rng([20231124, d, k])
    zmax = _z(1 + d + 4 * _distinct(d, 2))
    net = make(family, d, k, rng=rng, **params)
    if family == "dkkz":
        assert np.any(net.linear != 0)
    if family in ("clump", "dk_cancel"):
        assert np.any(net.coefficients < 0) and np.any(net.coefficients > 0)
    g = _unit(rng, d)
    for l in (0, 1, 2, 4, 6, 8):
        values, ses = _replicate(net, 20000, 8, rng, lambda X, y: moment_contraction(X, y, l, g, return_se=True))
        exact = net.moment_contraction(l, g)
        z, se_mean = _z_scores(values, ses, exact)
        assert np.all(se_mean > 0)
        assert np.max(np.abs(z)) < zmax, (family, l, np.max(np.abs(z)))


@pytest.mark.parametrize("l", [0, 1, 2, 4])
def test_full_tensor_is_unbiased(l):
    """Full tensors at d = 4 (l <= 4): at most 35 distinct entries, family-wise level 5.7e-7."""
    rng = np.random.default_rng([7, l])
    net = make("dkkz", 4, 2, rng=rng)
    values, ses = _replicate(net, 20000, 6, rng, lambda X, y: hermite_moment(X, y, l, return_se=True))
    z, _ = _z_scores(values, ses, net.hermite_moment(l))
    assert np.max(np.abs(z)) < _z(_distinct(4, l))


def test_full_tensor_order_8_is_unbiased():
    """l = 8 at d = 3 (6561 entries, 45 distinct): family-wise level 5.7e-7."""
    rng = np.random.default_rng(8)
    net = make("random", 3, 3, rng=rng)
    values, ses = _replicate(net, 30000, 5, rng, lambda X, y: hermite_moment(X, y, 8, return_se=True))
    z, _ = _z_scores(values, ses, net.hermite_moment(8))
    assert np.max(np.abs(z)) < _z(_distinct(3, 8))


@pytest.mark.parametrize("l", [3, 5, 7])
def test_odd_moments_vanish(l):
    """Odd l >= 3: the exact value is 0 (c_l = 0) and the estimates are consistent with 0."""
    rng = np.random.default_rng([3, l])
    net = make("random", 8, 4, rng=rng)
    g = _unit(rng, 8)
    assert np.all(net.moment_contraction(l, g) == 0)
    est = moment_contraction(*net.sample(60000, rng=rng), l, g, return_se=True)
    zmax = _z(_distinct(8, 2) + _distinct(3, 3))  # 36 + 10 distinct entries
    assert np.max(np.abs(est.value / est.se)) < zmax
    small = make("dkkz", 3, 2, rng=rng)
    T = hermite_moment(*small.sample(60000, rng=rng), 3, return_se=True)
    assert np.all(small.hermite_moment(3) == 0)
    assert np.max(np.abs(T.value / T.se)) < zmax


@pytest.mark.parametrize("l", [2, 4])
def test_spread_scales_as_inverse_sqrt_n(l):
    """E||M_hat - M||_F^2 = tr Cov(T) / n exactly (the estimator is an unbiased mean), so
    n * mean squared error must agree between n and 16 n: a two-sample z-test on the
    replication means of n ||M_hat - M||_F^2 (100 replications each).  The estimator's own SE
    predicts the same quantity: sum se^2 * n ~ tr Cov(T), checked the same way (a two-sample
    test too: the prediction is itself a mean over the replications, with its own SE).  Three
    statistics: _z(3) each, family-wise 5.7e-7."""
    rng = np.random.default_rng([16, l])
    net = make("random", 10, 3, rng=rng)
    g = _unit(rng, 10)
    exact = net.moment_contraction(l, g)
    stats = {}
    for n in (1500, 24000):
        values, ses = _replicate(net, n, 100, rng, lambda X, y: moment_contraction(X, y, l, g, return_se=True))
        err = n * np.sum((values - exact) ** 2, axis=(1, 2))
        pred = n * np.sum(ses**2, axis=(1, 2))
        stats[n] = (
            err.mean(),
            err.std(ddof=1) / math.sqrt(len(err)),
            pred.mean(),
            pred.std(ddof=1) / math.sqrt(len(pred)),
        )
    (a, sa, pa, spa), (b, sb, pb, spb) = stats[1500], stats[24000]
    zmax = _z(3)
    assert abs(a - b) < zmax * math.hypot(sa, sb)
    assert abs(a - pa) < zmax * math.hypot(sa, spa) and abs(b - pb) < zmax * math.hypot(sb, spb)
    # power: the test band is narrower than the gap to other rates (n^{-1/4} would give b = 4 a)
    assert zmax * math.hypot(sa, sb) < 0.5 * a


def test_operator_norm_se_brackets_the_error():
    """op_se^2 <= E||M_hat - M||_op^2 (Jensen) and E||M_hat - M||_op <= op_se_bound
    (Gaussian approximation): one-sided two-sample tests over 40 replications (both sides of
    each inequality are replication means with their own SEs), _z(2) each: family-wise 5.7e-7."""
    rng = np.random.default_rng(99)
    net = make("random", 10, 3, rng=rng)
    g = _unit(rng, 10)
    exact = net.moment_contraction(4, g)
    errs, op, bound = [], [], []
    for child in rng.spawn(40):
        est = moment_contraction(*net.sample(4000, rng=child), 4, g, return_se=True)
        errs.append(np.linalg.norm(est.value - exact, 2))
        op.append(est.op_se)
        bound.append(est.op_se_bound)
    errs, op, bound = map(np.array, (errs, op, bound))
    sq = errs**2
    se = lambda v: v.std(ddof=1) / math.sqrt(len(v))  # noqa: E731
    zmax = _z(2)
    assert sq.mean() - (op**2).mean() >= -zmax * math.hypot(se(sq), se(op**2))
    assert errs.mean() - bound.mean() <= zmax * math.hypot(se(errs), se(bound))


def test_residual_moments_are_moments_of_the_difference_network():
    """CDGKM step 5: residual labels y - f_hat(x) for a fixed f_hat are labels of the network
    F - f_hat, whose exact contraction the estimate must match (10 + 55 + 55 distinct entries,
    family-wise 5.7e-7)."""
    rng = np.random.default_rng(5)
    net = make("random", 10, 3, rng=rng)
    f_hat = ReLUNetwork(net.weights[:2] + 0.05 * rng.standard_normal((2, 10)), net.coefficients[:2])
    diff = ReLUNetwork(np.vstack([net.weights, f_hat.weights]), np.concatenate([net.coefficients, -f_hat.coefficients]))
    g = _unit(rng, 10)
    X, y = net.sample(100000, rng=rng)
    zmax = _z(10 + 2 * _distinct(10, 2))
    for l in (1, 2, 4):
        est = moment_contraction(X, y, l, g, return_se=True, transform=Residual(f_hat))
        assert np.max(np.abs((est.value - diff.moment_contraction(l, g)) / est.se)) < zmax


def test_squared_labels_see_what_correlational_queries_cannot():
    """F(x) = relu(<u,x>) - relu(-<u,x>) = <u,x> is odd: E[y S_2] = 0 exactly, but
    E[y^2 S_2] = E[<u,x>^2 S_2(x)] = sqrt(2) u u^T (since z^2 = sqrt(2) h_2(z) + 1)."""
    rng = np.random.default_rng(11)
    d = 6
    u = _unit(rng, d)
    net = ReLUNetwork(np.vstack([u, -u]), [1.0, -1.0])
    g = _unit(rng, d)
    assert np.allclose(net.moment_contraction(2, g), 0, atol=1e-15)
    X, y = net.sample(80000, rng=rng)
    tests = 2 * _distinct(d, 2) + 1  # 21 + 21 distinct entries and one operator norm
    zmax = _z(tests)
    corr = moment_contraction(X, y, 2, g, return_se=True)
    assert np.max(np.abs(corr.value / corr.se)) < zmax  # consistent with zero
    exact = math.sqrt(2) * np.outer(u, u)
    sq = moment_contraction(X, y, 2, g, return_se=True, transform=LabelTransform("square"))
    assert np.max(np.abs((sq.value - exact) / sq.se)) < zmax
    # the top eigenvector recovers u.  E = sq.value - exact: E||E||_op <= op_se_bound (Tropp) and
    # ||E||_op concentrates with Lipschitz constant <= op_se, so ||E||_op <= op_se_bound + t op_se
    # except with probability exp(-t^2 / 2) = 5.7e-7 / tests (normal approximation).  Then
    # Davis-Kahan with Weyl (exact, no probability): sin(top, u) <= ||E|| / (sqrt 2 - ||E||).
    # (The old 'cos > 0.99' had no stated confidence.)
    E = np.linalg.norm(sq.value - exact, 2)
    radius = sq.op_se_bound + math.sqrt(2 * math.log(tests / FAMILY_LEVEL)) * sq.op_se
    assert E <= radius
    top = np.linalg.eigh(sq.value)[1][:, -1]
    assert np.linalg.norm(top - (top @ u) * u) <= E / (math.sqrt(2) - E)
    assert radius / (math.sqrt(2) - radius) < 0.25  # power: a direction unrelated to u has sin ~ 1
