"""Moment estimators against brute force from the definition of S_l, and input validation.

The references here never use the contraction identity or the normalized recurrence: the
per-sample tensor S_l(x) is built entry by entry from ``prod_j He_{n_j}(x_j) / sqrt(l!)``
with numpy's own ``hermite_e`` polynomials, then contracted with ``g`` by ``tensordot``.
Comparisons of two float64 computations of the same sums use a tolerance of a few hundred
ulps of the natural scale (the mean absolute per-sample term), stated at each use.
"""

import itertools
import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from numpy.polynomial import hermite_e

from verified_relu import ReLUNetwork
from verified_relu.moments import (
    CANONICAL_BLOCK,
    LabelTransform,
    MomentAccumulator,
    MomentEstimate,
    Residual,
    contraction_eigh,
    contraction_matvec,
    contraction_operator,
    hermite_moment,
    moment_contraction,
)
from verified_relu.moments._exact import ExactSum, correctly_rounded

EPS = np.finfo(float).eps


# ----------------------------------------------------------------------------- references
def _he(n, x):
    return hermite_e.hermeval(x, [0] * n + [1])


def _tensor_terms(X, y, l):
    """Per-sample ``y_a S_l(x_a)``, shape ``(n,) + (d,) * l``, from the definition."""
    n, d = X.shape
    out = np.empty((n,) + (d,) * l)
    cache = {}
    for idx in itertools.product(range(d), repeat=l):
        counts = tuple(idx.count(j) for j in range(d))
        if counts not in cache:
            val = np.ones(n)
            for j, c in enumerate(counts):
                if c:
                    val = val * _he(c, X[:, j])
            cache[counts] = val / math.sqrt(math.factorial(l))
        out[(slice(None),) + idx] = y * cache[counts]
    return out


def _contract(T, g, times):
    for _ in range(times):
        T = np.tensordot(T, g, axes=([1], [0])) if T.ndim > 1 else T
    return T


def _contraction_terms(X, y, l, g):
    """Per-sample ``y_a S_l(x_a)[g^{l-2}, :, :]`` from the full tensor (``(n, d, d)``)."""
    T = _tensor_terms(X, y, l)
    for _ in range(l - 2):
        T = np.tensordot(T, g, axes=([T.ndim - 1], [0]))
    return T


def _unit(rng, d):
    g = rng.standard_normal(d)
    return g / np.linalg.norm(g)


@pytest.fixture
def data(rng):
    net = ReLUNetwork(rng.standard_normal((3, 4)), [1.0, -0.7, 0.5], 0.3 * rng.standard_normal(4))
    X, y = net.sample(700, rng=rng)
    return X, y, _unit(rng, 4)


# ----------------------------------------------------------------------------- values and SEs
@pytest.mark.parametrize("l", [2, 3, 4, 5, 6])
def test_contraction_matches_definition(data, l):
    X, y, g = data
    terms = _contraction_terms(X, y, l, g)
    est = moment_contraction(X, y, l, g, return_se=True)
    scale = np.abs(terms).mean(axis=0).max()
    # both are float64 sums of the same 700 terms: 1000 ulps of the term scale is generous
    np.testing.assert_allclose(est.value, terms.mean(axis=0), rtol=0, atol=1000 * EPS * scale)
    np.testing.assert_allclose(est.se, terms.std(axis=0, ddof=1) / math.sqrt(len(y)), rtol=1e-9, atol=1e-15 * scale)
    # operator-norm SE: sqrt(||(1/(n-1)) sum (T_a - M)^2||_op / n), from the per-sample matrices
    centred = terms - terms.mean(axis=0)
    cov = np.einsum("aij,ajk->ik", centred, centred) / (len(y) - 1)
    assert est.op_se == pytest.approx(math.sqrt(np.abs(np.linalg.eigvalsh(cov)).max() / len(y)), rel=1e-9)
    assert est.op_se_bound == pytest.approx(math.sqrt(2 * math.log(8)) * est.op_se)
    assert isinstance(est, MomentEstimate) and est.n == len(y) and est.l == l
    value, se = est  # unpacks as (value, se)
    assert value is est.value and se is est.se
    np.testing.assert_array_equal(est.value, est.value.T)


@pytest.mark.parametrize("l", [2, 3, 4])
def test_full_tensor_matches_definition(data, l):
    X, y, _ = data
    X = X[:, :3]
    terms = _tensor_terms(X, y, l)
    est = hermite_moment(X, y, l, return_se=True)
    scale = np.abs(terms).mean(axis=0).max()
    np.testing.assert_allclose(est.value, terms.mean(axis=0), rtol=0, atol=1000 * EPS * scale)
    np.testing.assert_allclose(est.se, terms.std(axis=0, ddof=1) / math.sqrt(len(y)), rtol=1e-9, atol=1e-15 * scale)
    # symmetric: invariant under every permutation of the modes
    for perm in itertools.permutations(range(l)):
        np.testing.assert_array_equal(est.value, np.transpose(est.value, perm))


def test_low_orders(data):
    X, y, g = data
    n = len(y)
    s = moment_contraction(X, y, 0, return_se=True)
    # 1000 ulps of the natural scale (mean |term|) covers the worst case of any summation
    # order of n = 700 terms ((n + 1) u = 350 eps); a relative tolerance would not, for a mean
    # near 0 (which another seed can give)
    assert s.value == pytest.approx(math.fsum(y) / n, rel=0, abs=1000 * EPS * np.abs(y).mean())
    assert s.se == pytest.approx(np.std(y, ddof=1) / math.sqrt(n), rel=1e-10)
    v = moment_contraction(X, y, 1, g, return_se=True)
    xy = X * y[:, None]
    assert np.all(np.abs(v.value - xy.mean(axis=0)) <= 1000 * EPS * np.abs(xy).mean(axis=0))  # per coordinate
    np.testing.assert_allclose(v.se, (X * y[:, None]).std(axis=0, ddof=1) / math.sqrt(n), rtol=1e-10)
    assert v.op_se is None and v.op_se_bound is None
    assert hermite_moment(X, y, 0) == s.value
    np.testing.assert_array_equal(hermite_moment(X, y, 1), v.value)
    assert moment_contraction(X, y, 0) == s.value


@pytest.mark.parametrize("l", [2, 4, 7])
def test_contraction_of_full_tensor(rng, l):
    """Two independent routes: full multiset tensor contracted vs the contraction identity."""
    X = rng.standard_normal((5000, 3))
    y = np.abs(X @ np.array([0.3, -1.0, 0.5])) + 0.1 * X[:, 0]
    g = _unit(rng, 3)
    T = _contract(hermite_moment(X, y, l), g, l - 2)
    M = moment_contraction(X, y, l, g)
    scale = np.abs(M).max() + np.abs(T).max()
    np.testing.assert_allclose(M, T, rtol=0, atol=1e-12 * scale)


@pytest.mark.parametrize("r", [1, 3])
@pytest.mark.parametrize("l", [2, 4, 9])
def test_matvec_equals_dense_product(rng, l, r):
    d = 12
    net = ReLUNetwork(rng.standard_normal((4, d)), [1.0, -1.0, 0.5, 0.8], 0.2 * rng.standard_normal(d))
    X, y = net.sample(3 * CANONICAL_BLOCK + 77, rng=rng)
    g, V = _unit(rng, d), rng.standard_normal((d, r))
    M = moment_contraction(X, y, l, g)
    MV = contraction_matvec(X, y, l, g, V)
    assert MV.shape == (d, r)
    # acceptance: equal to the dense product to 1e-12 (relative to ||M|| ||V||)
    assert np.abs(MV - M @ V).max() <= 1e-12 * np.linalg.norm(M, 2) * np.linalg.norm(V, 2)
    v = contraction_matvec(X, y, l, g, V[:, 0])
    assert v.shape == (d,)
    np.testing.assert_allclose(v, MV[:, 0], rtol=0, atol=1e-13 * np.abs(MV).max())


def test_matvec_standard_errors(data, rng):
    X, y, g = data
    V = rng.standard_normal((4, 3))
    for l in (2, 5):
        tv = np.einsum("aij,jk->aik", _contraction_terms(X, y, l, g), V)
        est = contraction_matvec(X, y, l, g, V, return_se=True)
        np.testing.assert_allclose(est.value, tv.mean(axis=0), rtol=0, atol=1000 * EPS * np.abs(tv).mean(axis=0).max())
        np.testing.assert_allclose(est.se, tv.std(axis=0, ddof=1) / math.sqrt(len(y)), rtol=1e-9)
        one = contraction_matvec(X, y, l, g, V[:, 1], return_se=True)
        np.testing.assert_allclose(one.se, est.se[:, 1], rtol=1e-12)


def test_exact_sum_is_order_independent(rng):
    """ExactSum: the correctly rounded exact sum (checked against math.fsum), in any order."""
    parts = [rng.standard_normal(5) * 10.0 ** rng.integers(-20, 20, 5) for _ in range(200)]
    parts.append(-np.sum(parts[:50], axis=0))  # heavy cancellation
    expected = np.array([math.fsum(col) for col in zip(*parts)])
    for order in (range(len(parts)), rng.permutation(len(parts))):
        acc = ExactSum(5)
        for i in order:
            acc.add(parts[i])
        np.testing.assert_array_equal(acc.value(), expected)
    left, right = ExactSum(5), ExactSum(5)
    for i, p in enumerate(parts):
        (left if i % 3 else right).add(p)
    np.testing.assert_array_equal(left.merge(right).value(), expected)


_FLOATS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.0**-53, -(2.0**-53), 2.0**-54, 1.0 + 2.0**-52, 5e-324, -5e-324]),
)


@given(st.lists(st.lists(_FLOATS, min_size=1, max_size=6), min_size=1, max_size=6))
@example([[1.0, -0.0], [2.0**-53, -0.0], [2.0**-105, -0.0]])  # a tie broken by a far smaller term
@example([[1.0], [2.0**-53]])  # an exact tie: round half to even
@example([[2.0], [-(2.0**-53)], [-(2.0**-106)]])  # just below a power of two
@example([[1e300], [1e300], [-1e300]])  # an intermediate overflow
def test_correctly_rounded_is_fsum_bit_for_bit(columns):
    """The vectorized rounding of an expansion equals math.fsum entry by entry, sign of zero included."""
    width = min(len(c) for c in columns)
    comps = [np.array(c[:width]) for c in columns]
    got = correctly_rounded(comps)
    for i in range(width):
        try:
            want = math.fsum(float(c[i]) for c in comps)
        except OverflowError:
            continue  # fsum refuses an intermediate overflow; ExactSum raises before it gets there
        assert got[i] == want and math.copysign(1.0, got[i]) == math.copysign(1.0, want), (i, got[i], want)


def test_correctly_rounded_on_well_separated_components(rng):
    """A float sum plus small error terms (what ExactSum holds after many additions, the case the
    vectorized path decides without math.fsum) equals math.fsum entry by entry."""
    top = rng.standard_normal(10_000)
    comps = [top, top * EPS * rng.uniform(-0.4, 0.4, 10_000), top * EPS**2 * rng.standard_normal(10_000)]
    want = np.array([math.fsum(col) for col in zip(*comps)])
    np.testing.assert_array_equal(correctly_rounded(comps), want)


# ----------------------------------------------------------------------------- labels
def test_residual_and_transforms_are_the_same_call(data):
    X, y, g = data
    f_hat = ReLUNetwork(np.eye(4)[:2], [0.5, -0.2])
    res = moment_contraction(X, y, 4, g, transform=Residual(f_hat))
    direct = moment_contraction(X, y - f_hat(X), 4, g)
    np.testing.assert_allclose(res, direct, rtol=0, atol=1e-14 * np.abs(direct).max())
    sq = moment_contraction(X, y, 2, g, transform=LabelTransform("square", center=0.25))
    np.testing.assert_array_equal(sq, moment_contraction(X, (y - 0.25) ** 2, 2, g))
    ab = hermite_moment(X, y, 2, transform=LabelTransform("abs", base=Residual(f_hat)))
    np.testing.assert_allclose(ab, hermite_moment(X, np.abs(y - f_hat(X)), 2), rtol=0, atol=1e-14)
    ce = moment_contraction(X, y, 0, transform=LabelTransform("center", center=1.5))
    assert ce == pytest.approx(np.mean(y) - 1.5, abs=1000 * EPS * (np.abs(y).mean() + 1.5))


# ----------------------------------------------------------------------------- eigen-decomposition
@pytest.mark.parametrize("method", ["krylov", "arpack"])
def test_eigh_single_contraction(rng, method):
    d = 20
    net = ReLUNetwork(rng.standard_normal((4, d)), [1.0, -0.8, 0.6, 1.2])
    X, y = net.sample(20000, rng=rng)
    g = _unit(rng, d)
    M = moment_contraction(X, y, 4, g)
    w, U = np.linalg.eigh(M)
    top = np.sort(np.abs(w))[::-1][:3]
    res = contraction_eigh(X, y, 4, g, 3, method=method, rng=1)
    assert res.converged
    scale = np.abs(w).max()
    # the three largest |eigenvalues|, compared as magnitudes: with (another seed's) near tie
    # between the 3rd and 4th of opposite signs, either eigenvalue is a right answer
    np.testing.assert_allclose(np.sort(np.abs(res.values))[::-1], top, rtol=0, atol=1e-9 * scale)
    assert np.all(res.residuals <= 1e-9 * scale)
    for value, vector in zip(res.values, res.vectors.T):
        # each is an eigenvalue of M; Davis-Kahan against that eigenvalue's own vector:
        # sin(angle) <= residual / gap.  The sine as the norm of the part orthogonal to the
        # reference vector (sqrt(1 - cos^2) would lose half the digits near cos = 1).
        j = int(np.argmin(np.abs(w - value)))
        assert abs(w[j] - value) <= 1e-9 * scale
        gap = np.min(np.abs(np.delete(w, j) - w[j]))
        ref = U[:, j]
        assert np.linalg.norm(vector - ref * (ref @ vector)) <= 1e-8 * scale / gap + 1e-12
    if method == "krylov":  # thick restarts: a basis of at most 10 vectors in R^20
        small = contraction_eigh(X, y, 4, g, 3, block_size=4, max_basis=10, rng=1, max_passes=500)
        assert small.converged
        np.testing.assert_allclose(np.sort(np.abs(small.values))[::-1], top, rtol=0, atol=1e-9 * scale)


def test_eigh_sum_of_squares(rng):
    d = 15
    net = ReLUNetwork(rng.standard_normal((3, d)), [1.0, -0.8, 0.6])
    X, y = net.sample(10000, rng=rng)
    g = _unit(rng, d)
    S = sum(np.linalg.matrix_power(moment_contraction(X, y, l, g), 2) for l in (2, 4, 6))
    w = np.sort(np.linalg.eigvalsh(S))[::-1]
    res = contraction_eigh(X, y, [2, 4, 6], g, 3, rng=2)
    assert res.converged
    np.testing.assert_allclose(res.values, w[:3], rtol=0, atol=1e-9 * w[0])
    op = contraction_operator(X, y, (2, 4, 6), g)
    V = rng.standard_normal((d, 2))
    np.testing.assert_allclose(op.matmat(V), S @ V, rtol=0, atol=1e-12 * np.abs(S).max() * np.abs(V).max() * d)
    assert op.passes == 2


def test_eigh_full_dimension_and_block(rng):
    d = 6
    X = rng.standard_normal((5000, d))
    y = np.abs(X[:, 0]) - np.abs(X[:, 1])
    g = _unit(rng, d)
    w = np.linalg.eigvalsh(moment_contraction(X, y, 2, g))
    res = contraction_eigh(X, y, 2, g, d, rng=0)
    np.testing.assert_allclose(np.sort(res.values), np.sort(w), rtol=0, atol=1e-12 * np.abs(w).max())
    with pytest.raises(ValueError, match="k < d"):
        contraction_eigh(X, y, 2, g, d, method="arpack")
    with pytest.raises(ValueError, match="method"):
        contraction_eigh(X, y, 2, g, 2, method="lanczos")


# ----------------------------------------------------------------------------- validation
def test_bad_inputs_name_the_argument(rng):
    X = rng.standard_normal((50, 3))
    y = rng.standard_normal(50)
    g = np.array([1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="same number of rows"):
        moment_contraction(X, y[:-1], 2, g)
    with pytest.raises(ValueError, match="X must be 2-dimensional"):
        moment_contraction(y, y, 2, g)
    with pytest.raises(ValueError, match="y must be 1-dimensional"):
        moment_contraction(X, X, 2, g)
    with pytest.raises(TypeError, match="X must be a real numeric array"):
        moment_contraction(X.astype(str), y, 2, g)
    for bad in (np.nan, np.inf, -np.inf):
        Xb = X.copy()
        Xb[17, 1] = bad
        for call in (
            lambda: moment_contraction(Xb, y, 2, g),
            lambda: moment_contraction(Xb, y, 0),
            lambda: moment_contraction(Xb, y, 1),
            lambda: contraction_matvec(Xb, y, 4, g, np.eye(3)[:, :1]),
            lambda: hermite_moment(Xb, y, 3),
        ):
            with pytest.raises(ValueError, match="X must be finite"):
                call()
        yb = y.copy()
        yb[3] = bad
        with pytest.raises(ValueError, match="y must be finite"):
            moment_contraction(X, yb, 2, g)
    with pytest.raises(ValueError, match="g must be a unit vector"):
        moment_contraction(X, y, 2, 2 * g)
    with pytest.raises(ValueError, match="g must have length 3"):
        moment_contraction(X, y, 2, np.ones(4) / 2)
    with pytest.raises(ValueError, match="g is required"):
        moment_contraction(X, y, 4)
    with pytest.raises(ValueError, match="g must be finite"):
        moment_contraction(X, y, 2, np.array([np.nan, 0, 0]))
    with pytest.raises(ValueError, match="l must be >= 0"):
        moment_contraction(X, y, -1, g)
    with pytest.raises(TypeError, match="l must be an int"):
        moment_contraction(X, y, 2.0, g)
    with pytest.raises(ValueError, match="l must be >= 2"):
        contraction_matvec(X, y, 1, g, np.ones(3))
    with pytest.raises(ValueError, match="l must be <= 128"):
        moment_contraction(X, y, 129, g)
    with pytest.raises(ValueError, match=r"V must have shape \(3,\) or \(3, r\)"):
        contraction_matvec(X, y, 2, g, np.ones((4, 2)))
    with pytest.raises(ValueError, match="V must be finite"):
        contraction_matvec(X, y, 2, g, np.array([1.0, np.inf, 0.0]))
    with pytest.raises(ValueError, match="max_entries"):
        hermite_moment(X, y, 15)
    with pytest.raises(ValueError, match="chunk_size"):
        moment_contraction(X, y, 2, g, chunk_size=0)
    with pytest.raises(TypeError, match="transform must be None or a callable"):
        moment_contraction(X, y, 2, g, transform="square")
    with pytest.raises(ValueError, match="transform must return one label per row"):
        moment_contraction(X, y, 2, g, transform=lambda X, y: y[:-1])
    with pytest.raises(ValueError, match="return_se needs at least 2 samples"):
        moment_contraction(X[:1], y[:1], 2, g, return_se=True)
    with pytest.raises(ValueError, match="kind must be one of"):
        LabelTransform("cube")
    with pytest.raises(TypeError, match="model must be callable"):
        Residual(3)


def test_overflow_is_an_error_not_nan(rng):
    X = rng.standard_normal((40, 2))
    X[5] = [1e200, 0.0]
    with pytest.raises(ValueError, match="overflows float64 at degree l=6"):
        moment_contraction(X, np.ones(40), 6, np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="overflows"):
        contraction_matvec(X, np.ones(40), 6, np.array([1.0, 0.0]), np.ones(2))


def test_accumulator_errors(rng):
    X = rng.standard_normal((100, 3))
    y = rng.standard_normal(100)
    acc = MomentAccumulator(3, 2, g=[0.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="no samples"):
        acc.result()
    acc.update(X[:60], y[:60])
    with pytest.raises(ValueError, match="overlap"):
        acc.update(X[:10], y[:10], start=50)
    acc.update(X[80:], y[80:], start=80)
    with pytest.raises(ValueError, match=r"rows \[\(60, 80\)\]"):
        acc.result()
    with pytest.raises(ValueError, match="X must have 3 columns"):
        acc.update(X[:, :2], y, start=200)
    with pytest.raises(ValueError, match="same quantity"):
        acc.merge(MomentAccumulator(3, 4, g=[0.0, 1.0, 0.0]))
    with pytest.raises(TypeError, match="chunks must yield"):
        acc.consume([X])
    with pytest.raises(ValueError, match="d must be >= 1"):
        MomentAccumulator(0, 2)


@given(
    st.lists(
        st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300), min_size=1, max_size=40
    ),
    st.randoms(),
)
@example([1e300, 1.0, -1e300, 1e-300], None)
@example([0.1] * 10 + [-1.0], None)
@example([2.0**-1074, -(2.0**-1074), 1e-308], None)
def test_exact_sum_matches_fsum(values, shuffle):
    """Property: ExactSum is the correctly rounded exact sum (math.fsum), in any order."""
    order = list(range(len(values)))
    if shuffle is not None:
        shuffle.shuffle(order)
    acc = ExactSum(2)
    for i in order:
        acc.add([values[i], -values[i] / 3])
    assert acc.value()[0] == math.fsum(values)
    assert acc.value()[1] == math.fsum(-v / 3 for v in values)


def test_docstring_examples():
    """The examples in the moments docstrings run and give the stated output."""
    import doctest
    import importlib

    for name in ("api", "accumulator", "labels", "audit"):
        module = importlib.import_module(f"verified_relu.moments.{name}")
        failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert failures == 0, name


def test_degree_two_needs_no_direction(rng):
    X = rng.standard_normal((3000, 4))
    y = np.abs(X[:, 0] - X[:, 1])
    g = rng.standard_normal(4)
    g /= np.linalg.norm(g)
    a, b = moment_contraction(X, y, 2), moment_contraction(X, y, 2, g)
    # the same estimate (different rounding through the g-frame decomposition)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-13 * np.abs(a).max())
