"""ReLUNetworkRegressor: scikit-learn's own estimator checks, recovery of a network measured by
the exact L2 distance, the documented data-size rules, parameters and cloning, and the
protocol without scikit-learn."""

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import verified_relu
from verified_relu import InputDistributionWarning, instances
from verified_relu.estimator import ReLUNetworkRegressor
from verified_relu.learners import HermitePredictor

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import check_estimator

ROOT = Path(__file__).resolve().parent.parent


def test_exported():
    assert verified_relu.ReLUNetworkRegressor is ReLUNetworkRegressor
    assert "ReLUNetworkRegressor" in verified_relu.__all__


@pytest.mark.slow  # every check of scikit-learn's check_estimator, each fitting the fast learner
def test_check_estimator_as_constructed():
    # unseeded: the checks that compare two fits seed the estimator themselves through its
    # random_state (sklearn.utils._testing.set_random_state)
    est = ReLUNetworkRegressor()
    assert est.random_state is None
    assert not est.__sklearn_tags__().non_deterministic  # deterministic given a random_state
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the documented data-size fallbacks
        results = check_estimator(est, on_fail=None)
    failed = [(r["check_name"], repr(r["exception"])[:300]) for r in results if r["status"] == "failed"]
    assert failed == []
    statuses = {r["check_name"]: r["status"] for r in results}
    # the fit comparisons ran (an unseeded estimator fitted twice differs, see below)
    for check in (
        "check_fit_idempotent",
        "check_supervised_y_2d",
        "check_methods_subset_invariance",
        "check_methods_sample_order_invariance",
        "check_pipeline_consistency",
    ):
        assert statuses[check] == "passed", check
    # skipped only for the environment: array-API input needs SCIPY_ARRAY_API=1, and the
    # data-not-an-array check needs pandas (not a test dependency); neither counts as passed
    skipped = {name for name, status in statuses.items() if status == "skipped"}
    assert skipped <= {"check_array_api_input", "check_regressor_data_not_an_array"}
    assert sum(status == "passed" for status in statuses.values()) >= 45
    assert est.random_state is None  # check_estimator worked on clones


def test_random_state_seeds_the_fit():
    from sklearn.utils._testing import set_random_state

    net = instances.make("random", 4, 2, rng=0)
    X, y = net.sample(1000, rng=1)
    est = ReLUNetworkRegressor()
    set_random_state(est, 7)
    assert est.random_state == 7
    a, b = clone(est).fit(X, y), clone(est).fit(X, y)
    assert a.result_.seed_entropy == b.result_.seed_entropy == 7
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    # unseeded: fresh 128-bit entropy at each fit (equal with probability 2^-128)
    u, v = ReLUNetworkRegressor().fit(X, y), ReLUNetworkRegressor().fit(X, y)
    assert u.result_.seed_entropy != v.result_.seed_entropy
    # a RandomState gives one draw per fit: the same state, the same fit; it advances
    r1 = ReLUNetworkRegressor(random_state=np.random.RandomState(3)).fit(X, y)
    r2 = ReLUNetworkRegressor(random_state=np.random.RandomState(3)).fit(X, y)
    assert (
        r1.result_.seed_entropy
        == r2.result_.seed_entropy
        == np.random.RandomState(3).randint(0, 2**32 - 1, dtype=np.uint64)
    )
    rs = np.random.RandomState(3)
    first = ReLUNetworkRegressor(random_state=rs).fit(X, y).result_.seed_entropy
    second = ReLUNetworkRegressor(random_state=rs).fit(X, y).result_.seed_entropy
    assert first != second
    # a Generator and a SeedSequence are accepted too (numpy SPEC 7)
    g = ReLUNetworkRegressor(random_state=np.random.SeedSequence(11)).fit(X, y)
    assert g.result_.seed_entropy == 11
    assert ReLUNetworkRegressor(random_state=np.random.default_rng(0)).fit(X, y).result_ is not None


def test_recovers_a_network(exact_run):
    """On the first of three seeds whose fit is exact (conftest ``first_exact``): the estimator's
    attributes, exact recovery, predictions and R^2."""
    net = instances.make("random", 5, 2, rng=0)
    X, y = net.sample(1500, rng=1)
    fitted = []

    def run(seed):
        fitted.append(ReLUNetworkRegressor(k=2, random_state=seed, options={"noiseless": True}))
        assert fitted[-1].fit(X, y) is fitted[-1]
        return fitted[-1].result_

    exact_run(run)
    reg = fitted[-1]
    assert reg.fallback_ is None and reg.k_ == 2 and reg.n_features_in_ == 5
    assert reg.result_.success and reg.network_ is reg.result_.network
    # exact population error, closed form: the fast learner's success criterion is a relative
    # held-out error <= 1e-10, and with noiseless labels it fits to rounding
    assert net.squared_distance(reg.network_) <= 1e-10 * net.norm_squared()
    Xt, yt = net.sample(2000, rng=5)
    np.testing.assert_allclose(reg.predict(Xt), net(Xt), atol=1e-5)
    # R^2 by hand
    r2 = 1 - np.sum((yt - reg.predict(Xt)) ** 2) / np.sum((yt - yt.mean()) ** 2)
    assert reg.score(Xt, yt) == pytest.approx(r2, abs=1e-12)
    assert r2 > 1 - 1e-9


def test_dk_method_gives_an_improper_predictor():
    net = instances.make("random", 4, 1, rng=2)
    X, y = net.sample(20000, rng=3)
    reg = ReLUNetworkRegressor(k=1, method="dk", random_state=0).fit(X, y)
    assert isinstance(reg.network_, HermitePredictor)
    Xt, yt = net.sample(5000, rng=4)
    assert reg.score(Xt, yt) > 0.9


def test_width_is_clipped_to_the_dimension():
    net = instances.make("random", 3, 2, rng=0)
    X, y = net.sample(2000, rng=1)
    reg = ReLUNetworkRegressor(k=7, random_state=0).fit(X, y)
    assert reg.k_ == 3 and reg.fallback_ is None
    assert reg.result_.params["k"] == 3


def test_too_few_samples_lower_the_width_then_fall_back_to_least_squares():
    rng = np.random.default_rng(0)
    # d = 3: the fast learner needs ceil(2 (k (d+1) + d) / 0.8) samples: 28 for k = 2, 18 for k = 1
    X = rng.standard_normal((20, 3))
    y = np.maximum(X[:, 0], 0) - X[:, 1]
    with pytest.warns(UserWarning, match="width lowered to 1"):
        reg = ReLUNetworkRegressor(k=2, random_state=0).fit(X, y)
    assert reg.k_ == 1 and "width lowered" in reg.fallback_
    X10, y10 = X[:10], y[:10]
    with pytest.warns(UserWarning, match="only the linear term"):
        reg = ReLUNetworkRegressor(k=2, random_state=0).fit(X10, y10)
    assert reg.k_ == 0 and reg.result_ is None
    # independent least squares: the normal equations
    a = np.linalg.solve(X10.T @ X10, X10.T @ y10)
    Xt = rng.standard_normal((7, 3))
    np.testing.assert_allclose(reg.predict(Xt), Xt @ a, rtol=1e-10, atol=1e-12)


def test_params_round_trip_and_clone():
    reg = ReLUNetworkRegressor(k=3, method="cdgkm", random_state=5, options={"noiseless": True})
    params = reg.get_params()
    assert params == {"k": 3, "method": "cdgkm", "random_state": 5, "options": {"noiseless": True}}
    assert ReLUNetworkRegressor(**params).get_params() == params
    assert reg.set_params(k=1, method="fast") is reg
    assert (reg.k, reg.method) == (1, "fast")
    with pytest.raises(ValueError, match="Invalid parameter"):
        reg.set_params(width=2)
    net = instances.make("random", 4, 1, rng=0)
    X, y = net.sample(1000, rng=1)
    reg.fit(X, y)
    twin = clone(reg)
    assert twin.get_params() == reg.get_params() and twin is not reg
    assert not hasattr(twin, "network_")
    np.testing.assert_array_equal(twin.fit(X, y).predict(X), reg.predict(X))  # same seed, same fit


def test_errors_name_the_problem():
    X = np.random.default_rng(0).standard_normal((100, 3))
    y = X[:, 0]
    with pytest.raises(NotFittedError):
        ReLUNetworkRegressor().predict(X)
    for bad, match in [
        ({"k": 0}, "k must be"),
        ({"k": 1.5}, "k must be"),
        ({"method": "sgd"}, "method must be"),
        ({"options": [1]}, "options must be"),
        ({"options": {"rng": 0}}, "options must not contain 'rng'"),
        ({"random_state": -1}, "random_state must be"),
        ({"random_state": 1.5}, "random_state must be"),
        ({"random_state": "seed"}, "random_state must be"),
        ({"random_state": True}, "random_state must be"),
    ]:
        est = ReLUNetworkRegressor(**bad)  # __init__ never validates
        with pytest.raises(ValueError, match=match):
            est.fit(X, y)
    with pytest.raises(TypeError, match="unknown option"):
        ReLUNetworkRegressor(options={"bogus": 1}).fit(X, y)
    reg = ReLUNetworkRegressor(k=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but ReLUNetworkRegressor is expecting 3"):
        reg.predict(X[:, :2])


def test_without_scikit_learn():
    code = textwrap.dedent(
        """
        import sys, warnings
        sys.modules["sklearn"] = None
        import numpy as np
        from verified_relu import ReLUNetworkRegressor, instances
        from verified_relu import estimator
        assert not estimator.HAVE_SKLEARN
        net = instances.make("random", 4, 2, rng=0)
        X, y = net.sample(1500, rng=1)
        reg = ReLUNetworkRegressor(random_state=0, options={"noiseless": True})
        try:
            reg.predict(X)
        except estimator.NotFittedError:
            pass
        else:
            raise SystemExit("predict before fit did not raise")
        reg.fit(X, y)
        assert net.squared_distance(reg.network_) <= 1e-10 * net.norm_squared()
        Xt, yt = net.sample(500, rng=2)
        r2 = 1 - np.sum((yt - reg.predict(Xt)) ** 2) / np.sum((yt - yt.mean()) ** 2)
        assert abs(reg.score(Xt, yt) - r2) < 1e-12
        assert reg.get_params() == {"k": 2, "method": "fast", "options": {"noiseless": True}, "random_state": 0}
        assert reg.set_params(k=1) is reg and reg.k == 1
        for bad in (X[:, :3], np.full((2, 4), np.nan)):
            try:
                reg.predict(bad)
            except ValueError:
                pass
            else:
                raise SystemExit("bad X accepted")
        print("ok", repr(reg))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("ok ReLUNetworkRegressor(")


# ----------------------------------------------------------------------------- input distribution
# False alarms.  The fit tests each of the d coordinates' mean, variance and 4th moment and each
# of the d (d - 1) / 2 pairs' correlation at |z| > 5.  Under x ~ N(0, I_d) the mean's z-score is
# exactly N(0, 1): P(|Z| > 5) = 5.73e-7.  The others are normal only approximately; with the
# first Edgeworth terms (skewness and excess kurtosis of the sample mean: x^2 has 2.83/sqrt(n)
# and 12/n, x^4 has 10.1/sqrt(n) and 204/n, x_i x_j has 0 and 6/n) their two-sided tails at
# n = 20000 are 6.1e-7 (variance), 1.12e-6 (4th moment) and 5.77e-7 (correlation).  By the
# union bound, a false warning for d = 5 (25 statistics) has probability below 2e-5 per fit; a
# failure of the no-warning test below at some other seed would therefore point at a bug.
N_GAUSS, D_GAUSS = 20000, 5


def _teacher_data(transform, seed=1):
    net = instances.make("random", D_GAUSS, 2, rng=0)
    X = np.random.default_rng(seed).standard_normal((N_GAUSS, D_GAUSS))
    X = transform(X)
    return X, net(X)


def test_gaussian_inputs_do_not_warn():
    X, y = _teacher_data(lambda X: X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputDistributionWarning)
        reg = ReLUNetworkRegressor(random_state=0).fit(X, y)
    assert reg.n_features_in_ == D_GAUSS


@pytest.mark.parametrize(
    "what, transform, match",
    [
        # x2 -> x2 + 0.2: mean z-score 0.2 sqrt(n) = 28.3 (+- 1); missed with probability ~0
        ("shifted", lambda X: X + 0.2 * (np.arange(D_GAUSS) == 2), r"mean of 1 of 5 coordinate\(s\) \(worst x2"),
        # every x_j -> 1.5 x_j: variance z-score sqrt(n) (2.25 - 1) / sqrt(2) = 125
        ("scaled", lambda X: 1.5 * X, r"variance of 5 of 5 coordinate\(s\)"),
        # a constant bias feature (the model has no intercept): mean z-score sqrt(n) = 141
        (
            "bias feature",
            lambda X: np.hstack([X[:, :-1], np.ones((len(X), 1))]),
            r"mean of 1 of 5 coordinate\(s\) \(worst x4",
        ),
    ],
)
def test_inputs_visibly_not_standard_gaussian_warn(what, transform, match):
    X, y = _teacher_data(transform)
    with pytest.warns(InputDistributionWarning, match=match) as record:
        reg = ReLUNetworkRegressor(random_state=0).fit(X, y)
    ours = [w for w in record if issubclass(w.category, InputDistributionWarning)]
    assert len(ours) == 1, what  # one warning per fit, naming every failed test
    assert str(ours[0].message).startswith("ReLUNetworkRegressor.fit: X does not look like N(0, I_d)")
    assert hasattr(reg, "network_")  # the fit still ran


def test_the_warning_category_and_where_the_test_lives():
    import verified_relu.data
    import verified_relu.gaussianity

    assert issubclass(InputDistributionWarning, UserWarning)
    assert verified_relu.InputDistributionWarning is verified_relu.gaussianity.InputDistributionWarning
    assert "InputDistributionWarning" in verified_relu.__all__
    # data.py (user-facing) re-exports the library function
    assert verified_relu.data.gaussianity_warnings is verified_relu.gaussianity.gaussianity_warnings


def test_gaussianity_warnings_names_bad_arguments():
    from verified_relu.gaussianity import gaussianity_warnings

    X = np.zeros((10, 2))
    for kwargs, exc, match in [
        ({"X": np.zeros(10)}, ValueError, r"X must be 2-dimensional"),
        ({"X": [[0.0, np.nan], [1.0, 2.0]]}, ValueError, r"X must be finite"),
        ({"X": X, "z": 0}, ValueError, r"z must be > 0"),
        ({"X": X, "z": "5"}, TypeError, r"z must be a real number"),
        ({"X": X, "max_rows": 0}, ValueError, r"max_rows must be >= 1"),
        ({"X": X, "max_rows": 2.5}, TypeError, r"max_rows must be an int"),
    ]:
        with pytest.raises(exc, match=match):
            gaussianity_warnings(**kwargs)


def test_options_reach_verified_relu_learn_including_dps():
    # options go to verified_relu.learn, whose dps= recomputes the run at N digits (a trace
    # step "precision" holding the N-digit refinement)
    net = instances.make("random", 4, 2, rng=0)
    X, y = net.sample(1000, rng=1)
    reg = ReLUNetworkRegressor(random_state=0, options={"dps": 30, "noiseless": True}).fit(X, y)
    assert reg.result_.trace[-1].name == "precision"
    assert reg.result_.step("precision").data["dps"] == 30
