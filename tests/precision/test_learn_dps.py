"""learn(..., dps=N): the learner's steps at N digits and the refinement at N digits."""

import mpmath
import numpy as np
import pytest

from verified_relu import instances, learn
from verified_relu.learners import LearnResult


def test_fast_at_40_digits_agrees_with_float64_to_its_conditioning(exact_run):
    """On whichever seed gives an exact float64 run (tests/conftest.py ``first_exact``), the
    40-digit pass flags no step, its refinement converges, and its minimiser agrees with the
    float64 one to the digits float64 holds."""
    net = instances.make("random", 4, 2, rng=0)
    X, y = net.sample(600, rng=1)
    plain = exact_run(lambda s: learn(X, y, 2, rng=2 + s, noiseless=True))
    high = learn(X, y, 2, rng=plain.seed_entropy, noiseless=True, dps=40)
    assert high.step("attempts").data == plain.step("attempts").data  # the same float64 run underneath
    step = high.step("precision").data
    assert step["dps"] == 40 and step["flagged"] == []  # a well-conditioned instance: no step loses 8 digits
    assert high.diagnostics["mp_refine_reason"] == "converged"
    # the 40-digit minimiser and the float64 one agree to the digits float64 can hold
    mu_mp = np.array([float(mpmath.mpf(v)) for v in step["mu"]])
    W_mp = np.array([[float(mpmath.mpf(v)) for v in row] for row in step["W"]])
    assert np.allclose(mu_mp, plain.network.coefficients, rtol=1e-12, atol=0)
    assert np.allclose(
        W_mp, plain.network.weights / np.linalg.norm(plain.network.weights, axis=1, keepdims=True), rtol=0, atol=1e-12
    )

    # its loss on the samples, evaluated independently in float64, is no worse than the float64 fit's
    def loss(f):
        return float(np.mean((y - f(X)) ** 2))

    assert loss(high.network) <= loss(plain.network) + 1e-30
    assert LearnResult.from_json(high.to_json()).to_dict() == high.to_dict()


@pytest.mark.slow  # the fast learner at 40 digits is in the default tier
def test_cdgkm_at_30_digits(exact_run):
    """The 30-digit pass recomputes both of MULTISCALELEARN's cases, and from an exact float64 run
    (whichever seed gives one) the 30-digit refinement fits the float64 labels down to their
    rounding error."""
    net = instances.make("random", 4, 2, rng=3)
    X, y = net.sample(3000, rng=4)
    plain = exact_run(
        lambda s: learn(X, y, 2, method="cdgkm", rng=5 + s, noiseless=True),
        exact=lambda r: net.squared_distance(r.network) <= 1e-10 * net.norm_squared(),
    )
    res = learn(X, y, 2, method="cdgkm", rng=plain.seed_entropy, noiseless=True, dps=30)
    steps = {row["step"].split(":")[0] for row in res.step("precision").data["rows"]}
    assert {"Case 1", "Case 2"} <= steps

    def loss(f):
        return float(np.mean((y - f(X)) ** 2))

    assert loss(res.network) <= loss(plain.network) + 1e-30
    # the labels are float64: the 30-digit minimiser fits them at least as well as the teacher does,
    # whose loss on these labels is their rounding error, evaluated here at 40 digits (independent
    # of the learner); a parameter-space distance to the teacher is not implied (test_precision.py)
    ctx = mpmath.MPContext()
    ctx.dps = 40
    W, mu = [[ctx.mpf(float(v)) for v in row] for row in net.weights], [ctx.mpf(float(v)) for v in net.coefficients]
    teacher_loss = ctx.fsum(
        (ctx.mpf(float(t)) - ctx.fsum(m * max(ctx.fdot(w, [ctx.mpf(float(v)) for v in x]), 0) for m, w in zip(mu, W)))
        ** 2
        for x, t in zip(X, y)
    ) / len(y)
    assert ctx.mpf(res.diagnostics["mp_loss"]) <= teacher_loss * (1 + ctx.mpf(10) ** -6)


@pytest.mark.parametrize(
    ("method", "n", "dps", "match"),
    [("dk", 3000, 30, "dps= is available"), ("fast", 6000, 30, "n <= 5000"), ("fast", 600, 10, "dps must be between")],
)
def test_dps_bad_input(method, n, dps, match):
    net = instances.make("random", 4, 2, rng=0)
    X, y = net.sample(n, rng=1)
    with pytest.raises(ValueError, match=match):
        learn(X, y, 2, method=method, rng=2, dps=dps)
