"""verify_fit: verified balls on exact fits (and they contain the critical point an independent
50-digit refinement finds); refusals, with their reasons, for a network from other data, a
duplicated neuron, two neurons no sample separates and a pattern change within reach.  Every
refusal comes with its control (the same case without the defect verifies) and with the code
mutation that would accept it wrongly, shown to be caught by the test's assertion."""

import json

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import verified_relu
from verified_relu import ReLUNetwork
from verified_relu.instances import make
from verified_relu.metrics import relative_error
from verified_relu.precision.steps import refine
from verified_relu.rigorous import verify, verify_fit


def _exact_fit(family, d, k, n, seed=0, **params):
    """``(teacher, X, y, model)``: noiseless data and an exact fit of it.  The fit is the fast
    learner's when its run is exact (relative error <= 1e-10), otherwise the teacher itself
    (an exact fit by construction), so the test always exercises an exact fit."""
    teacher = make(family, d, k, rng=seed, **params)
    X, y = teacher.sample(n, rng=seed + 1)
    res = verified_relu.learn(X, y, k, rng=seed, noiseless=True)
    exact = isinstance(res.network, ReLUNetwork) and relative_error(teacher, res.network) <= 1e-10
    return teacher, X, y, (res.network if exact else teacher)


def _assert_tight_exact_fit(cert, teacher, y):
    assert cert.verified and cert.unique and cert.reason is None, cert.message
    assert cert.relative_radius <= 1e-8
    assert cert.loss[0] + cert.loss[1] <= 1e-20 * float(y @ y)  # the critical point fits exactly
    # the distance's radius is absolute, on the scale of the terms (sum_i |mu_i| |w_i|)^2 (it cancels)
    scale = float(np.abs(teacher.coefficients) @ np.linalg.norm(teacher.weights, axis=1)) ** 2
    assert cert.teacher_distance[0] == 0.0 and cert.teacher_distance[1] <= 1e-10 * scale
    assert cert.activation_margin > 0


# ----------------------------------------------------------------------------- verified
FAMILIES = [("random", {}), ("close_pair", {"theta": 0.1}), ("dk_cancel", {})]


@pytest.mark.parametrize(
    ("family", "params"),
    [FAMILIES[0], FAMILIES[1], pytest.param(*FAMILIES[2], marks=pytest.mark.slow)],  # dk_cancel: the learner's longest
)
def test_exact_fits_of_the_fast_learner_verify(family, params):
    teacher, X, y, model = _exact_fit(family, 8, 3, 2000, **params)
    _assert_tight_exact_fit(verify_fit(model, X, y, teacher=teacher), teacher, y)


@pytest.mark.parametrize(("family", "params"), FAMILIES)
def test_the_teacher_is_a_verified_exact_fit(family, params):
    teacher = make(family, 8, 3, rng=0, **params)
    X, y = teacher.sample(2000, rng=1)
    _assert_tight_exact_fit(verify_fit(teacher, X, y, teacher=teacher), teacher, y)


def test_a_linear_term_is_a_parameter():
    teacher = ReLUNetwork([[1.0, 0.0, 0.0], [0.0, 0.6, 0.8]], [1.0, -2.0], [0.5, -0.25, 0.0])
    X, y = teacher.sample(500, rng=0)
    cert = verify_fit(teacher, X, y, teacher=teacher)
    _assert_tight_exact_fit(cert, teacher, y)
    assert cert.linear is not None and len(cert.chart_radius) == 2 * 3 + 3


def _margin_filtered(teacher, n, seed, minimum=1e-4):
    """Samples whose activations for the teacher's neurons are at least ``minimum`` from their
    hyperplanes (so a ball of radius ~1e-6 cannot reach a pattern change)."""
    X, _ = teacher.sample(n, rng=seed)
    U = teacher.weights / np.linalg.norm(teacher.weights, axis=1)[:, None]
    X = X[np.abs(X @ U.T).min(axis=1) >= minimum]
    return X, teacher(X)


def _contains_ball(outer, inner):
    """Every parameter of ``inner``'s ball lies in ``outer``'s (the balls' floats are outward)."""
    for key in ("weights", "coefficients"):
        co, ro = np.array(getattr(outer, key)), np.array(getattr(outer, key + "_radius"))
        ci, ri = np.array(getattr(inner, key)), np.array(getattr(inner, key + "_radius"))
        if not np.all(np.abs(ci - co) + ri <= ro):
            return False
    return True


def test_a_perturbed_start_gets_a_larger_ball_around_the_same_critical_point():
    teacher = make("random", 8, 3, rng=0)
    X, y = _margin_filtered(teacher, 2000, seed=1)
    exact = verify_fit(teacher, X, y)
    rng = np.random.default_rng(5)
    start = ReLUNetwork(
        teacher.weights + 1e-6 * rng.standard_normal(teacher.weights.shape),
        teacher.coefficients + 1e-6 * rng.standard_normal(teacher.k),
    )
    cert = verify_fit(start, X, y)
    assert exact.verified and cert.verified, cert.message
    assert 1e-7 <= cert.relative_radius <= 1e-4 and exact.relative_radius <= 1e-12
    # the exact fit's ball (one critical point) lies inside the perturbed start's ball, whose
    # critical point is unique: the same critical point
    assert _contains_ball(cert, exact)
    # mutation: a radius ten times smaller would not contain it (the test has teeth)
    shrunk = verify.FitCertificate(
        **{
            **{f: getattr(cert, f) for f in verify.FitCertificate.__dataclass_fields__},
            "weights_radius": (np.array(cert.weights_radius) / 10).tolist(),
            "coefficients_radius": (np.array(cert.coefficients_radius) / 10).tolist(),
        }
    )
    assert not _contains_ball(shrunk, exact)


@st.composite
def small_problems(draw):
    d = draw(st.integers(2, 4))
    k = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    net = ReLUNetwork(rng.standard_normal((k, d)), rng.choice([-1.0, 1.0], k) * rng.uniform(0.5, 2.0, k))
    X, y = net.sample(300, rng=rng)
    y = y + draw(st.sampled_from([0.0, 1e-9, 1e-6])) * rng.standard_normal(300)
    return net, X, y


@settings(max_examples=10, deadline=None)
@given(small_problems())
def test_no_verified_ball_misses_the_50_digit_critical_point(problem):
    """Hypothesis searches random networks (exact and slightly noisy labels) for a verified ball
    that misses the critical point a 50-digit Gauss-Newton refinement finds; there is none."""
    net, X, y = problem
    cert = verify_fit(net, X, y)
    assert cert.verified, cert.message
    out = refine(X, y, net.weights, net.coefficients, dps=50, fit_linear=False)
    ctx = mpmath.MPContext()
    ctx.dps = 50
    for i in range(net.k):
        row = [ctx.mpf(v) for v in out.W[i]]
        nrm = ctx.sqrt(ctx.fsum(v * v for v in row))
        for j, v in enumerate(row):
            assert abs(v / nrm - ctx.mpf(cert.weights[i][j])) <= ctx.mpf(cert.weights_radius[i][j])
        mu = ctx.mpf(out.mu[i]) * nrm
        assert abs(mu - ctx.mpf(cert.coefficients[i])) <= ctx.mpf(cert.coefficients_radius[i])


# ----------------------------------------------------------------------------- refusals
def _newton_only(Z, C, H, r):
    """Mutation: Krawczyk's operator without the term (I - C H(Y)) (Y - x~), i.e. one Newton step."""
    Kv = [Z[j, 0] for j in range(len(r))]
    return Kv, all(verify.upper_float(abs(kj)) < rj for kj, rj in zip(Kv, r))


def _no_pattern_check(Zfull, loss, box, S):
    """Mutation: the activation pattern is assumed constant over the box, not checked."""
    return 1.0, (0, 0), None


def _assert_other_data_refused(cert):
    assert not cert.verified and not cert.unique
    assert cert.reason in ("pattern_change", "not_contracting"), cert.message
    assert cert.loss is None and cert.relative_radius is None


def test_a_network_learned_from_other_data_is_refused(monkeypatch):
    teacher, X, y, _ = _exact_fit("random", 4, 2, 1000, seed=0)
    _, _, _, other = _exact_fit("random", 4, 2, 1000, seed=7)  # exact on another teacher's data
    _assert_other_data_refused(verify_fit(other, X, y))
    assert verify_fit(teacher, X, y).verified  # control: the right network on the same data
    monkeypatch.setattr(verify, "_krawczyk", _newton_only)
    monkeypatch.setattr(verify, "_pattern_margins", _no_pattern_check)
    with pytest.raises(AssertionError):  # the mutated verifier "proves" it, and the test says no
        _assert_other_data_refused(verify_fit(other, X, y))


def _duplicated(teacher):
    """The teacher with neuron 0 split into two equal halves (the same function)."""
    mu = teacher.coefficients
    return ReLUNetwork(
        np.vstack([teacher.weights, teacher.weights[:1]]), np.concatenate([[mu[0] / 2], mu[1:], [mu[0] / 2]])
    )


def _assert_singular(cert, pair, word):
    assert not cert.verified and cert.reason == "singular_jacobian", cert.message
    assert pair in cert.unseparated_pairs and word in cert.message


def test_a_duplicated_neuron_is_a_singular_jacobian(monkeypatch):
    teacher = make("random", 4, 2, rng=0)
    X, y = teacher.sample(1000, rng=1)
    dup = _duplicated(teacher)
    _assert_singular(verify_fit(dup, X, y), [0, 2], "duplicates")
    control = make("random", 4, 3, rng=0)  # three distinct neurons
    assert verify_fit(control, X, control(X)).verified
    # mutation: no structural check, no condition check, Newton in place of Krawczyk -> a false proof
    monkeypatch.setattr(verify, "_unseparated", lambda S: [])
    monkeypatch.setattr(verify, "SINGULAR_HESSIAN", np.inf)
    monkeypatch.setattr(verify, "SINGULAR_CONDITION", np.inf)
    monkeypatch.setattr(verify, "_krawczyk", _newton_only)
    mutated = verify_fit(dup, X, y)
    with pytest.raises(AssertionError):
        _assert_singular(mutated, [0, 2], "duplicates")


def test_the_structural_check_alone_is_not_what_refuses_a_duplicate(monkeypatch):
    """Without the structural check, Krawczyk's test itself still refuses the duplicate."""
    teacher = make("random", 4, 2, rng=0)
    X, y = teacher.sample(1000, rng=1)
    monkeypatch.setattr(verify, "_unseparated", lambda S: [])
    cert = verify_fit(_duplicated(teacher), X, y)
    assert not cert.verified and cert.reason == "singular_jacobian"


def _unseparated_sample(theta, d, n, seed):
    teacher = make("close_pair", d, 3, rng=seed, theta=theta)
    X, _ = teacher.sample(n, rng=seed + 1)
    S = X @ teacher.weights.T > 0
    wedge = S[:, 0] != S[:, 1]
    return teacher, X, wedge


def test_two_neurons_no_sample_separates_are_a_singular_jacobian(monkeypatch):
    teacher, X, wedge = _unseparated_sample(0.05, 4, 2000, seed=0)
    assert 10 <= wedge.sum() < len(X)
    Xs = X[~wedge]  # drop every sample between the two hyperplanes
    cert = verify_fit(teacher, Xs, teacher(Xs))
    _assert_singular(cert, [0, 1], "not separated by any sample")
    assert verify_fit(teacher, X, teacher(X)).verified  # control: with the wedge samples it verifies
    monkeypatch.setattr(verify, "_unseparated", lambda S: [])
    monkeypatch.setattr(verify, "SINGULAR_HESSIAN", np.inf)
    monkeypatch.setattr(verify, "SINGULAR_CONDITION", np.inf)
    monkeypatch.setattr(verify, "_krawczyk", _newton_only)
    with pytest.raises(AssertionError):
        _assert_singular(verify_fit(teacher, Xs, teacher(Xs)), [0, 1], "not separated by any sample")


def _pattern_case():
    """An exact-fit teacher, a start 1e-6 away, and sample 0 placed 1e-9 from the start's first
    hyperplane: the critical point is 1e-6 away, so the ball it needs crosses that sample."""
    teacher = make("random", 4, 2, rng=0)
    X, _ = _margin_filtered(teacher, 1000, seed=1)
    rng = np.random.default_rng(3)
    start = ReLUNetwork(teacher.weights + 1e-6 * rng.standard_normal((2, 4)), teacher.coefficients)
    c = start.weights[0] / np.linalg.norm(start.weights[0])
    x0 = X[0] - (X[0] @ c - 1e-9) * c
    X = np.vstack([x0, X[1:]])
    return teacher, start, X, teacher(X)


def _assert_pattern_change(cert):
    assert not cert.verified and cert.reason == "pattern_change", cert.message
    assert cert.pattern_change["sample"] == 0 and cert.pattern_change["neuron"] == 0
    assert "sample 0" in cert.message and "neuron 0" in cert.message


def test_a_pattern_change_within_reach_is_refused_and_named(monkeypatch):
    teacher, start, X, y = _pattern_case()
    _assert_pattern_change(verify_fit(start, X, y))
    assert verify_fit(start, X[1:], y[1:]).verified  # control: without that sample it verifies
    monkeypatch.setattr(verify, "_pattern_margins", _no_pattern_check)
    with pytest.raises(AssertionError):
        _assert_pattern_change(verify_fit(start, X, y))


def test_a_sample_on_a_hyperplane_of_the_model():
    net = ReLUNetwork([[1.0, -1.0], [0.0, 1.0]], [1.0, 2.0])
    X, y = net.sample(200, rng=0)
    X[5] = [0.5, 0.5]
    cert = verify_fit(net, X, net(X))
    assert cert.reason == "pattern_change" and cert.pattern_change == {"sample": 5, "neuron": 0, "radius": 0.0}


# ----------------------------------------------------------------------------- certificate and inputs
def test_certificate_is_json_and_readable():
    net = make("random", 3, 2, rng=0)
    X, y = net.sample(300, rng=0)
    cert = verify_fit(net, X, y, teacher=net)
    doc = json.loads(json.dumps(cert.to_dict()))
    assert doc["verified"] is True and doc["format"] == "verified_relu.FitCertificate"
    assert np.allclose(doc["weights"], net.weights / np.linalg.norm(net.weights, axis=1)[:, None], atol=1e-15)
    text = cert.format()
    assert "verified" in text and "activation margin" in text and "teacher" in text


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (lambda net: (net, np.zeros((5001, 2)), np.zeros(5001)), "n = 5001"),
        (lambda net: (ReLUNetwork(np.ones((1, 13)), [1.0]), np.ones((10, 13)), np.zeros(10)), "d = 13"),
        (lambda net: (net, np.full((10, 2), np.nan), np.zeros(10)), "X must be finite"),
        (lambda net: (net, np.ones((10, 2)), np.zeros(9)), "y"),
        (lambda net: (net, np.ones((10, 3)), np.zeros(10)), "model has d = 2"),
        (lambda net: ("net", np.ones((10, 2)), np.zeros(10)), "model must be"),
    ],
)
def test_bad_input_is_named(args, match):
    net = ReLUNetwork([[1.0, 0.0], [0.0, 1.0]], [1.0, 1.0])
    with pytest.raises((ValueError, TypeError), match=match):
        verify_fit(*args(net))


def test_bad_teacher_and_prec_are_named():
    net = ReLUNetwork([[1.0, 0.0]], [1.0])
    X = np.ones((4, 2))
    with pytest.raises(ValueError, match="teacher has d = 3"):
        verify_fit(net, X, np.ones(4), teacher=ReLUNetwork([[1.0, 0.0, 0.0]], [1.0]))
    with pytest.raises(ValueError, match="prec"):
        verify_fit(net, X, np.ones(4), prec=8)
