"""The precision subpackage: mp steps against exact rational references, float64 against the
digits the condition estimates predict, certified recovery, the stability report's flags.

Independent references: exact ``fractions.Fraction`` arithmetic (float64 inputs are binary
rationals) for least squares, Vandermonde solves, power-basis Hermite values and moments;
gauge-invariant ``mu * w`` compared exactly with the teacher for certified recovery.
"""

import json
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from verified_relu import ReLUNetwork, instances, learn
from verified_relu.app.stability import stability_main
from verified_relu.data import save_dataset
from verified_relu.precision import (
    MAX_MP_DIMENSION,
    MAX_MP_SAMPLES,
    certify,
    format_stability,
    noiseless_labels,
    stability_report,
    steps,
)
from verified_relu.precision import stability as stab

U = 2.0**-53
CTX = mpmath.MPContext()  # for parsing high-precision strings in tests (mpmath.mpf would round to 15 digits)
CTX.dps = 80


def frac(v):
    """Exact Fraction of a float or an mpf."""
    if isinstance(v, float):
        return Fraction(v)
    if isinstance(v, str):
        v = CTX.mpf(v)
    man, exp = v.man_exp  # |v| = man 2^exp (man_exp drops the sign)
    return (-1 if v < 0 else 1) * Fraction(int(man)) * (Fraction(2) ** int(exp))


def digits(err, scale):
    return math.inf if err == 0 else -math.log10(float(err) / float(scale))


def solve_exact(A, b):
    """Gauss-Jordan over Fractions."""
    m = len(A)
    M = [row[:] + [bb] for row, bb in zip(A, b)]
    for c in range(m):
        p = next(r for r in range(c, m) if M[r][c] != 0)
        M[c], M[p] = M[p], M[c]
        M[c] = [x / M[c][c] for x in M[c]]
        for r in range(m):
            if r != c and M[r][c] != 0:
                f = M[r][c]
                M[r] = [x - f * y for x, y in zip(M[r], M[c])]
    return [M[r][m] for r in range(m)]


@pytest.fixture(autouse=True)
def _global_mpmath_untouched():
    before = (mpmath.mp.dps, mpmath.mp.prec)
    yield
    assert (mpmath.mp.dps, mpmath.mp.prec) == before


# ------------------------------------------------------------------------------ single steps
def test_least_squares_mp_matches_exact_normal_equations(rng):
    A = rng.standard_normal((40, 4))
    A[:5, 0] = 0.0  # exact zeros on the diagonal path (mpmath's qr_solve divides by zero here)
    b = rng.standard_normal(40)
    Aq = [[Fraction(v) for v in row] for row in A.tolist()]
    bq = [Fraction(v) for v in b.tolist()]
    G = [[sum(Aq[r][i] * Aq[r][j] for r in range(40)) for j in range(4)] for i in range(4)]
    h = [sum(Aq[r][i] * bq[r] for r in range(40)) for i in range(4)]
    exact = solve_exact(G, h)
    got = steps.least_squares(A, b, dps=40)
    scale = max(abs(v) for v in exact)
    assert min(digits(abs(frac(g) - e), scale) for g, e in zip(got, exact)) >= 38
    cond = steps.condition_lstsq(A, b)
    f = steps.least_squares(A, b)
    lost = math.log10(max(max(abs(Fraction(float(x)) - e) for x, e in zip(f, exact)) / scale, U) / U)
    assert lost <= math.log10(cond) + stab.SLACK_DIGITS


def test_symmetric_eig_mp_residual_and_float_weyl_bound(rng):
    B = rng.standard_normal((6, 6))
    M = (B + B.T) / 2
    w, V = steps.symmetric_eig(M, dps=40)
    ctx = mpmath.MPContext()
    ctx.dps = 60
    Mq = ctx.matrix(M.tolist())
    for i in range(6):
        v = ctx.matrix([ctx.mpf(V[r, i]) for r in range(6)])
        assert ctx.norm(Mq * v - ctx.mpf(w[i]) * v) < ctx.mpf(10) ** -35
    wf = np.linalg.eigvalsh(M)
    # Weyl: |lambda_f - lambda| <= ||delta M|| ~ a few d u ||M||
    err = max(abs(float(a) - float(b)) for a, b in zip(wf, w))
    assert err <= 6 * 10 * U * np.linalg.norm(M, 2)


def test_vandermonde_mp_exact_and_float_loss_predicted():
    nodes = [0.5 + 0.01 * j for j in range(8)]
    rhs = [1.0, 0.25, -0.5, 0.125, 2.0, -1.0, 0.75, 0.3]
    xq = [Fraction(x) for x in nodes]
    V = [[x**j for x in xq] for j in range(8)]
    exact = solve_exact(V, [Fraction(v) for v in rhs])
    scale = max(abs(v) for v in exact)
    got = steps.vandermonde_solve(nodes, rhs, dps=60)
    assert min(digits(abs(frac(g) - e), scale) for g, e in zip(got, exact)) >= 58
    # independent infinity-norm condition from the exact inverse
    inv_cols = [solve_exact(V, [Fraction(int(i == j)) for i in range(8)]) for j in range(8)]
    norm_v = max(sum(abs(v) for v in row) for row in V)
    norm_inv = max(sum(abs(inv_cols[j][i]) for j in range(8)) for i in range(8))
    kappa = float(norm_v * norm_inv)
    f = steps.vandermonde_solve(nodes, rhs)
    rel = float(max(abs(Fraction(float(x)) - e) for x, e in zip(f, exact)) / scale)
    assert rel > 1e-8  # float64 truly fails here
    assert math.log10(rel / U) <= math.log10(kappa) + stab.SLACK_DIGITS


# ------------------------------------------------------------------------ the stability report
@pytest.fixture(scope="module")
def fast_report():
    net = instances.make("random", 5, 2, rng=11)
    X, y = net.sample(800, rng=12)
    res = learn(X, y, 2, rng=13)
    return X, y, stability_report(X, y, 2, dps=40, degrees=(2, 12, 24, 40), sweep_samples=150, result=res)


@pytest.mark.parametrize("seed", [1, 2])
def test_learner_steps_within_predicted_digits(seed):
    net = instances.make("random", 4, 2, rng=seed)
    X, y = net.sample(600, rng=seed + 100)
    rep = stability_report(
        X, y, 2, dps=40, degrees=(6, 30), sweep_samples=120, include_probes=False, result=learn(X, y, 2, rng=seed)
    )
    assert len(rep.rows) == 11
    for row in rep.rows:
        assert row["within_prediction"], row
        assert not row["flagged"], row


def test_cdgkm_steps_within_predicted_digits():
    net = instances.make("orthonormal", 4, 2, rng=5)
    X, y = net.sample(1400, rng=6)
    rep = stability_report(
        X,
        y,
        2,
        method="cdgkm",
        dps=40,
        degrees=(10,),
        sweep_samples=100,
        include_probes=False,
        result=learn(X, y, 2, rng=7),
    )
    steps_seen = {r["step"].split(":")[0] for r in rep.rows}
    assert {"Case 1", "Case 2", "least squares on the found directions", "refinement"} <= steps_seen
    assert all(r["within_prediction"] and not r["flagged"] for r in rep.rows)


def test_report_linear_term_against_exact_mean(fast_report):
    X, y, rep = fast_report
    row = rep.rows[0]
    assert row["quantity"] == "E[y x]"
    n = len(y)
    exact = [
        sum(Fraction(a) * Fraction(b) for a, b in zip(y.tolist(), X[:, j].tolist())) / n for j in range(X.shape[1])
    ]
    mp_vals = row["mp_values"]
    assert all(digits(abs(frac(m) - e), max(abs(v) for v in exact)) >= 38 for m, e in zip(mp_vals, exact))
    f = np.array(row["float64_values"])
    rel = max(abs(Fraction(float(a)) - e) for a, e in zip(f, exact)) / max(abs(v) for v in exact)
    assert row["rel_diff"] == pytest.approx(float(rel), rel=1e-6, abs=1e-30)


def test_flags_known_bad_and_not_good(fast_report):
    _, _, rep = fast_report
    by = {r["step"]: r for r in rep.rows}
    bad_v = next(r for s, r in by.items() if "0.01 apart" in s)
    good_v = next(r for s, r in by.items() if "Chebyshev" in s)
    bad_h = next(r for s, r in by.items() if "DEMONSTRATION ONLY" in s)
    good_h = next(r for s, r in by.items() if "normalized recurrence" in s)
    assert bad_v["flagged"] and bad_v["digits_lost"] >= 8
    assert bad_h["flagged"] and bad_h["digits_lost"] >= 15
    assert not good_v["flagged"] and not good_h["flagged"]
    bad_p = next(r for s, r in by.items() if "power basis" in s)
    good_p = next(r for s, r in by.items() if "product form" in s)
    assert bad_p["flagged"] and not good_p["flagged"]
    assert {r["step"] for r in rep.flagged} == {bad_v["step"], bad_h["step"], bad_p["step"]}
    text = format_stability(rep)
    assert "!!" in text and "3 flagged row(s)" in text


def test_isolating_polynomial_probe_against_proofs_checks():
    """The probe's exact value against proofs_checks.cn.isolating_polynomial (an independent
    implementation), and the float64 Horner error against the exact coefficients' condition."""
    from proofs_checks.cn import isolating_polynomial, poly_eval

    nodes = [0.5 + 0.01 * j for j in range(8)]
    coef = isolating_polynomial([Fraction(v) for v in nodes], [0])
    exact = poly_eval(coef, Fraction(0.505))
    bad, good = stab._probe_isolating(nodes, [0], 0.505, 40)
    assert digits(abs(frac(bad["mp_values"][0]) - exact), abs(exact)) >= 38
    assert bad["rel_diff"] == pytest.approx(float(abs(Fraction(bad["float64"]) - exact) / abs(exact)), rel=1e-6)
    cond = sum(abs(c) * Fraction(0.505) ** m for m, c in enumerate(coef)) / abs(exact)
    assert bad["condition"] == pytest.approx(float(cond), rel=1e-10)
    assert bad["digits_lost"] >= 8 and bad["within_prediction"]
    assert good["digits_lost"] <= 1.0


def test_hermite_probe_against_exact_integer_value():
    rows = stab._probe_hermite(200, 3.0, 40)
    n = 200
    coef = [(-1) ** m * math.factorial(n) // (math.factorial(m) * math.factorial(n - 2 * m) * 2**m) for m in range(101)]
    exact = sum(c * 3 ** (n - 2 * m) for m, c in enumerate(coef))  # He_200(3), an integer
    absolute = sum(abs(c) * 3 ** (n - 2 * m) for m, c in enumerate(coef))
    bad, good = rows
    assert digits(abs(frac(bad["mp_values"][0]) - exact), abs(exact)) >= 38
    assert bad["condition"] == pytest.approx(absolute / abs(exact), rel=1e-10)
    assert bad["rel_diff"] == pytest.approx(abs(Fraction(bad["float64"]) - exact) / abs(exact), rel=1e-6)
    ctx = mpmath.MPContext()
    ctx.dps = 60
    he = ctx.mpf(good["mp_values"][0]) * ctx.sqrt(ctx.factorial(200))  # h_200 = He_200 / sqrt(200!)
    assert abs(he / ctx.mpf(exact) - 1) < ctx.mpf(10) ** -38
    assert good["digits_lost"] <= 1.0


def test_report_json_roundtrip(fast_report):
    _, _, rep = fast_report
    d = json.loads(json.dumps(rep.to_dict()))
    assert d["settings"]["k"] == 2 and len(d["rows"]) == len(rep.rows)
    assert set(d["rows"][0]) >= {
        "step",
        "quantity",
        "float64",
        "mp",
        "rel_diff",
        "condition",
        "digits_lost",
        "predicted_digits_lost",
        "flagged",
    }


def test_stability_main_on_a_dataset(tmp_path):
    net = instances.make("random", 3, 1, rng=3)
    X, y = net.sample(300, rng=4)
    path = tmp_path / "d.npz"
    save_dataset(path, X, y)
    import io

    buf = io.StringIO()
    assert (
        stability_main(
            [
                str(path),
                "--k",
                "1",
                "--dps",
                "30",
                "--degrees",
                "2,4",
                "--sweep-samples",
                "50",
                "--no-probes",
                "--json",
                "--out",
                str(tmp_path / "r.json"),
            ],
            out=buf,
        )
        == 0
    )
    d = json.loads(buf.getvalue())
    assert d["settings"]["dps"] == 30 and not any(r["flagged"] for r in d["rows"])
    assert json.loads((tmp_path / "r.json").read_text()) == d
    with pytest.raises(ValueError, match="--k is required"):
        stability_main([str(path)])


# ---------------------------------------------------------------------------- size guards
def test_size_guards():
    big_n = np.zeros((MAX_MP_SAMPLES + 1, 2))
    with pytest.raises(ValueError, match=r"n = 5001.*|n <= 5000"):
        steps.moment(big_n, np.zeros(len(big_n)), 1, dps=30)
    wide = np.zeros((10, MAX_MP_DIMENSION + 1))
    with pytest.raises(ValueError, match="d <= 12"):
        steps.refine(wide, np.zeros(10), np.ones((1, 13)), np.ones(1), dps=30)
    with pytest.raises(ValueError, match="d = 13"):
        stability_report(wide, np.zeros(10), 1)
    with pytest.raises(ValueError, match="n = 5001"):
        certify(instances.make("random", 2, 1, rng=0), big_n, np.zeros(len(big_n)))
    assert steps.moment(big_n, np.zeros(len(big_n)), 1).shape == (2,)  # float64 path has no limit


# ------------------------------------------------------------------------ certified recovery
def _exact_products(W, mu):
    """Rows ``mu_i w_i`` as Fractions (gauge invariant)."""
    return [[frac(m) * frac(v) for v in row] for row, m in zip(np.asarray(W, dtype=object).tolist(), list(mu))]


CASES = [
    ("random", 8, 4, {}, 3000, 2),
    ("orthonormal", 8, 4, {}, 3000, 2),
    ("close_pair", 8, 4, {"theta": 1e-2}, 3000, 3),
    ("random", 4, 2, {}, 2000, 2),
]


@pytest.mark.parametrize("family,d,k,kw,n,seed", CASES)
def test_certified_recovery_25_digits(family, d, k, kw, n, seed):
    net = instances.make(family, d, k, rng=0, **kw)
    X, _ = net.sample(n, rng=1)
    y = noiseless_labels(net, X, dps=50)
    res = learn(X, np.array([float(v) for v in y]), k, rng=seed, noiseless=True)
    assert res.success
    rep = certify(res, X, y, teacher=net, dps=50)
    assert rep.correct_digits >= 25, rep.format()
    assert not rep.ill_determined
    # independent: mu_i w_i of the refined network against the teacher's, exactly
    W, mu, a = rep.refined
    got = _exact_products(W, mu)
    want = _exact_products(net.weights, [float(v) for v in net.coefficients])
    for row in rep.neurons:
        g, t = got[row["index"]], want[row["teacher_index"]]
        err = sum((p - q) ** 2 for p, q in zip(g, t))
        size = sum(q * q for q in t)
        assert digits(math.sqrt(err / size), 1) >= 25
    assert max(abs(frac(v)) for v in a) < Fraction(1, 10**25)


def test_certify_float64_labels_are_a_noise_floor():
    net = instances.make("random", 4, 2, rng=0)
    X, y = net.sample(1500, rng=1)
    rep = certify(learn(X, y, 2, rng=2, noiseless=True), X, y, teacher=net, dps=40)
    assert rep.label_source == "given float64"
    assert rep.predicted_digits <= 16
    assert rep.predicted_digits - 2 <= rep.correct_digits <= 18
    assert rep.correct_digits < 25 and rep.ill_determined  # float64 labels cannot certify 25 digits


def test_certify_reports_a_start_outside_the_basin():
    net = instances.make("close_pair", 8, 4, rng=0, theta=1e-2)
    X, _ = net.sample(3000, rng=1)
    # a start in another representation: the close pair replaced by an antipodal pair
    W = np.vstack([net.weights[0], -net.weights[0], net.weights[2:]])
    start = ReLUNetwork(W, net.coefficients)
    assert net.squared_distance(start) > 1e-4 * net.norm_squared()
    rep = certify(start, X, teacher=net, dps=40)
    assert rep.correct_digits < 5
    assert "not a zero-residual fit" in rep.message
    assert rep.ill_determined
    d = json.loads(json.dumps(rep.to_dict()))
    assert len(d["refined_network"]["coefficients"][0].lstrip("-").replace(".", "").rstrip("0")) > 20


def test_certify_needs_labels_or_teacher():
    net = instances.make("random", 3, 1, rng=0)
    X, _ = net.sample(50, rng=1)
    with pytest.raises(ValueError, match="teacher"):
        certify(net, X)
    with pytest.raises(TypeError, match="ReLUNetwork"):
        certify("net", X, np.zeros(50))


def test_certify_names_a_pair_no_sample_separates():
    """close_pair at theta = 1e-3 with n = 3000: no sample falls between the two hyperplanes, so the
    pair's parameters are not determined by the samples: exact interpolation, few correct digits,
    and the report says why (rank deficiency, 0 separating samples, cancelling coefficients)."""
    from verified_relu.network import ReLUNetwork

    net = instances.make("close_pair", 6, 3, rng=0, theta=1e-3)
    X, _ = net.sample(3000, rng=1)
    Z = X @ net.weights.T
    pair = [i for i in range(3) for j in range(3) if i != j and net.weights[i] @ net.weights[j] > 0.99]
    assert len(pair) == 2 and np.sum((Z[:, pair[0]] > 0) != (Z[:, pair[1]] > 0)) == 0  # independent count
    gen = np.random.default_rng(3)
    near = ReLUNetwork(
        net.weights + 1e-6 * gen.standard_normal((3, 6)), net.coefficients * (1 + 1e-6 * gen.standard_normal(3))
    )
    rep = certify(near, X, teacher=net, dps=50)
    assert rep.loss < 1e-90  # the samples are interpolated exactly ...
    assert rep.correct_digits < 10 and rep.rank_deficiency > 0  # ... yet the pair is not recovered
    bad = {p["parameter"] for p in rep.ill_determined}
    assert bad == {f"neuron {i} {part}" for i in pair for part in ("direction", "coefficient")}
    entry = next(p for p in rep.ill_determined if p["parameter"] == f"neuron {pair[0]} direction")
    assert entry["predicted_digits"] == 0.0
    assert entry["nearby_neurons"][0]["separating_samples"] == 0
    assert abs(entry["coefficient_sum_with_nearby"]) < 1e-6  # near-cancelling
    other = ({0, 1, 2} - set(pair)).pop()
    assert rep.neurons[other]["direction_digits"] >= 25


def test_certify_compares_in_canonical_form_across_the_relu_symmetry():
    """dk_cancel: sum_i mu_i w_i = 0, so the network with every w_i negated is the same function
    (relu(-z) = relu(z) - z); the learner may return that representation.  Certification then
    counts digits in the canonical form, and the refined network equals the teacher as a function
    (checked exactly at fresh points).  The start is that negated representation, perturbed by
    about 1e-9 as a float64 learner's output would be; which representation a learner run returns
    depends on its path, so the start is built here rather than taken from one run."""
    net = instances.make("dk_cancel", 6, 3, rng=0, theta=0.1)
    X, _ = net.sample(3000, rng=1)
    y = noiseless_labels(net, X, dps=50)
    assert np.abs(net.coefficients @ net.weights).max() <= 1e-15  # the symmetry holds for this family
    gen = np.random.default_rng(2)
    start = ReLUNetwork(
        -net.weights * (1 + 1e-9 * gen.standard_normal(net.weights.shape)),
        net.coefficients * (1 + 1e-9 * gen.standard_normal(net.k)),
        net.coefficients @ net.weights,
    )  # relu(z) = relu(-z) + z: the linear term, ~1e-16
    rep = certify(start, X, y, teacher=net, dps=50, fit_linear=True)
    assert rep.canonical is not None and rep.canonical["digits"] >= 25
    assert rep.correct_digits >= 25 and not rep.ill_determined
    W, mu, a = rep.refined
    Xt = np.random.default_rng(9).standard_normal((20, 6))
    Wq = [[frac(v) for v in row] for row in W.tolist()]
    muq, aq = [frac(v) for v in mu], [frac(v) for v in a]
    for x in Xt.tolist():
        xq = [Fraction(v) for v in x]
        got = sum(m * max(sum(p * q for p, q in zip(row, xq)), 0) for m, row in zip(muq, Wq)) + sum(
            p * q for p, q in zip(aq, xq)
        )
        want = sum(
            Fraction(m) * max(sum(Fraction(p) * q for p, q in zip(row, xq)), 0)
            for m, row in zip(net.coefficients.tolist(), net.weights.tolist())
        )
        assert abs(got - want) <= Fraction(1, 10**25) * max(abs(want), 1)
