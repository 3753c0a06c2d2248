"""The fast learner: exact recovery where it is claimed, honest failure reports elsewhere.

Every error below is the exact population quantity ``squared_distance`` (closed form) of the
learned network to the true one, relative to ``norm_squared``, never the learner's own report.
"""

import json

import numpy as np
import pytest

from verified_relu import instances
from verified_relu.learners import LearnResult, learn


def _rel(true, learned):
    return true.squared_distance(learned) / true.norm_squared()


CASES = [
    ("random", 10, 3, {}),
    ("random", 8, 1, {}),
    ("orthonormal", 6, 3, {}),
    ("close_pair", 10, 3, {"theta": 0.1}),
    ("dkkz", 8, 2, {}),
    ("antipodal", 8, 2, {}),
    ("antipodal", 10, 4, {}),
]


def test_exact_recovery_noiseless():
    """Every case at two seeds: no run claims success without being exact (a property of every
    run), and at most 2 of the 14 runs miss the network (true relative error above 1e-10).  With
    the measured exact rate of at least 99% on determined runs (docs/benchmarks.md, "Robustness"),
    3 or more misses among 14 have probability below 4e-4.  An exact run that the verdict calls
    "not determined" (a certificate that another network of width k fits every sample, as for some
    antipodal samples) is not a miss: the rate is one of exactness, and such a verdict is honest."""
    failures = []
    for family, d, k, params in CASES:
        for seed in (0, 1):
            net = instances.make(family, d, k, rng=seed, **params)
            X, y = net.sample(50 * d * k, rng=1000 + seed)
            res = learn(X, y, k, rng=seed, noiseless=True)
            err = _rel(net, res.network)
            assert (not res.success) or err <= 1e-10, (family, seed, err, res.message)
            if err > 1e-10:
                failures.append((family, d, k, seed, err, res.message))
    assert len(failures) <= 2, failures


def test_proper_output_for_a_proper_target(exact_run):
    net = instances.make("random", 8, 3, rng=3)
    assert not np.any(net.linear)
    X, y = net.sample(1500, rng=4)
    res = exact_run(lambda s: learn(X, y, 3, rng=5 + s, noiseless=True))
    assert res.diagnostics["proper"] is True
    assert not np.any(res.network.linear) and res.network.k == 3


def test_antipodal_pairs_come_back_as_a_proper_network(exact_run):
    """a relu(z) + b relu(-z) needs a partner neuron in the proper form: the output has no
    linear term, at most k neurons, and equals the target (exact population distance)."""
    net = instances.make("antipodal", 10, 4, rng=21)
    X, y = net.sample(2000, rng=22)
    res = exact_run(lambda s: learn(X, y, 4, rng=23 + s, noiseless=True), seeds=range(6))  # see first_exact
    assert res.diagnostics["proper"] is True
    assert not np.any(res.network.linear) and res.network.k <= 4
    assert _rel(net, res.network) <= 1e-10


# 8-11 s of CPU per family: one family in the default tier, the other two in the slow one
@pytest.mark.parametrize(
    "family,params",
    [
        pytest.param("clump", {}, marks=pytest.mark.slow, id="clump"),
        pytest.param("close_pair", {"theta": 0.01}, marks=pytest.mark.slow, id="close_pair"),
        pytest.param("ill_conditioned", {"cond": 1e3}, id="ill_conditioned"),
    ],
)
def test_success_flag_is_never_silently_wrong(family, params):
    """On hard instances the learner may fail, but with noiseless=True it must then say so:
    success implies a true relative error <= 1e-8 (3 instances of each hard family)."""
    checked = 0
    for seed in range(3):
        net = instances.make(family, 10, 3, rng=seed, **params)
        res = learn(*net.sample(1500, rng=50 + seed), 3, rng=seed, noiseless=True)
        err = _rel(net, res.network)
        assert (not res.success) or err <= 1e-8, (family, seed, err, res.message)
        checked += 1
    assert checked == 3


def test_noisy_labels_excess_risk_at_parametric_rate(exact_run):
    """sigma = 0.1: least squares over p parameters has expected excess risk ~ sigma^2 p / n; the
    excess risk of a global least-squares fit is chi-square-like with p degrees of freedom, so
    5x its mean (p = 26) has probability below 1e-12.  Asserted on the first run that reports
    success (noise-consistent), whichever seed that is."""
    d, k, sigma = 8, 2, 0.1
    net = instances.make("random", d, k, rng=7)
    n = 50 * d * k
    X, y = net.sample(n, rng=8, noise=sigma)
    res = exact_run(lambda s: learn(X, y, k, rng=9 + s), exact=lambda r: r.success)
    p = k * (d + 1) + d
    n_train = res.diagnostics["n_train"]
    assert net.squared_distance(res.network) <= 5 * sigma**2 * p / n_train
    assert res.message.startswith("noise-consistent") and "label noise" in res.message


def test_deterministic_for_a_seed_and_repeatable_from_the_record():
    net = instances.make("random", 6, 2, rng=11)
    X, y = net.sample(1000, rng=12)
    a = learn(X, y, 2, rng=13)
    b = learn(X, y, 2, rng=13)
    c = learn(X, y, 2, rng=a.seed_entropy)
    assert a.network == b.network == c.network
    assert a.seed_entropy == 13


def test_result_json_round_trip():
    net = instances.make("random", 5, 2, rng=14)
    res = learn(*net.sample(800, rng=15), 2, rng=16)
    again = LearnResult.from_json(res.to_json())
    assert again.network == res.network
    assert again.to_dict() == json.loads(res.to_json())
    assert [s.name for s in again.trace] == [
        "linear_term",
        "subspace",
        "subspace_spectra",
        "subspace_fit",
        "refine",
        "resubspace",
        "reseed",
        "consolidate",
        "prune",
        "proper_form",
        "attempts",
        "validation",
    ]
    assert [s.kind for s in again.trace] == [s.kind for s in res.trace]
    assert again.step("subspace_spectra").kind == "spectrum"
    assert again.params["k"] == 2 and again.method == "fast"


def test_trace_records_subspace_evidence():
    net = instances.make("orthonormal", 10, 3, rng=17)
    res = learn(*net.sample(2000, rng=18), 3, rng=19)
    sub = res.step("subspace").data
    assert 3 <= sub["dimension"] <= 4
    for row in sub["matrices"]:
        assert row["noise_floor"] > 0 and row["kept"] >= 0


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"k": 0}, ValueError, "k must be >= 1"),
        ({"k": 9}, ValueError, "k must be <= 8"),
        ({"k": 2.0}, TypeError, "k must be an int"),
        ({"method": "sgd"}, ValueError, "method must be one of"),
        ({"starts": 3, "momentum": 0.9}, TypeError, "unknown option"),
        ({"validation_fraction": 1.5}, ValueError, "validation_fraction"),
        ({"rng": "seed"}, TypeError, "rng must be"),
        ({"starts": 0}, ValueError, "starts must be None or an int >= 1"),
        ({"starts": 2.5}, TypeError, "starts must be None or an int >= 1, got float"),
        ({"subspace_iterations": 0}, ValueError, "subspace_iterations must be an int >= 1"),
        ({"reseed_rounds": -1}, ValueError, "reseed_rounds must be an int >= 0"),
        ({"merge_cos": 1.5}, ValueError, r"merge_cos must be a finite real in \(0, 1\]"),
        ({"success_tol": -1e-12}, ValueError, "success_tol must be a finite real >= 0"),
        ({"expand_min_decrease": float("nan")}, ValueError, r"expand_min_decrease must be a finite real in \[0, 1\]"),
        ({"noiseless": "yes"}, TypeError, "noiseless must be a bool"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    X = np.random.default_rng(0).standard_normal((500, 8))
    y = X[:, 0]
    args = {"k": 2, **kwargs}
    k = args.pop("k")
    with pytest.raises(exc, match=match):
        learn(X, y, k, **args)


def test_bad_data():
    X = np.random.default_rng(0).standard_normal((500, 4))
    with pytest.raises(ValueError, match="y must have length 500"):
        learn(X, X[:-1, 0], 2)
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ValueError, match="X must be finite"):
        learn(Xn, X[:, 0], 2)
    with pytest.raises(ValueError, match="y must be finite"):
        learn(X, np.full(500, np.inf), 2)
    with pytest.raises(ValueError, match="too few"):
        learn(X[:20], X[:20, 0], 2)
    with pytest.raises(ValueError, match="X must be 2-dimensional"):
        learn(X[:, 0], X[:, 0], 1)
