"""The fast learner's failure budget (hops, held-out folds, restarts) and its refit certificate.

Asserted for every run, never for the path one run takes: the budget is respected and spent only
on attempts that failed; every attempt is judged on samples it did not fit; a refit certificate
is checked by evaluation; no run reports success with a true error above ``1e-8``.  Errors are
the closed-form population quantities of the true network, never the learner's own report.
"""

import numpy as np
import pytest

from verified_relu import instances
from verified_relu.identifiability import refit_certificate
from verified_relu.learners import learn
from verified_relu.network import ReLUNetwork


def _rel(true, learned):
    return true.squared_distance(learned) / true.norm_squared()


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"hops": -1}, ValueError, "hops must be an int >= 0"),
        ({"hops": 2.5}, TypeError, "hops must be an int"),
        ({"certificate_tries": -1}, ValueError, "certificate_tries must be an int >= 0"),
        ({"restarts": -2}, ValueError, "restarts must be an int >= 0"),
    ],
)
def test_bad_budget_options_name_the_option(kwargs, exc, match):
    X = np.random.default_rng(0).standard_normal((500, 8))
    with pytest.raises(exc, match=match):
        learn(X, X[:, 0], 2, **kwargs)


CASES = [  # a quick success, a cancelling triple, an ill-conditioned pair, a barely separated close pair
    ("random", 6, 2, {}, 600),
    ("dk_cancel", 6, 3, {"theta": 0.1}, 900),
    ("ill_conditioned", 8, 2, {"cond": 1e3}, 800),
    ("close_pair", 8, 3, {"theta": 0.01}, 1200),
]


@pytest.mark.parametrize("family,d,k,params,n", CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_budget_is_respected_and_no_false_success(family, d, k, params, n, seed):
    net = instances.make(family, d, k, rng=seed, **params)
    X, y = net.sample(n, rng=100 + seed)
    res = learn(X, y, k, rng=seed, noiseless=True, hops=8, restarts=2)
    attempts = res.step("attempts").data["attempts"]
    assert 1 <= len(attempts) <= 3
    for a in attempts[:-1]:  # a further attempt only after a failure, or a noiseless near miss, that nothing settled
        assert not a["settled"] and a["verdict"] != "undetermined"
    # settled (a success that, with noiseless labels, fits its training samples to rounding) ends the run
    assert [a["attempt"] for a in attempts if a["settled"]] in ([], [len(attempts) - 1])
    assert [a["fold"] for a in attempts] == list(range(len(attempts)))  # each attempt holds out the next fold
    assert res.diagnostics["n_train"] + res.diagnostics["n_validation"] == n
    hops = res.step("reseed").data["hops"]
    assert 0 <= hops["kept"] <= hops["tried"] <= 8
    if res.success:
        assert _rel(net, res.network) <= 1e-8, res.message


def test_no_budget_means_one_attempt_and_no_hops():
    net = instances.make("dk_cancel", 6, 3, rng=0, theta=0.1)
    X, y = net.sample(900, rng=1)
    res = learn(X, y, 3, rng=0, noiseless=True, hops=0, restarts=0)
    assert len(res.step("attempts").data["attempts"]) == 1
    assert res.step("reseed").data["hops"]["tried"] == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_refit_certificate_is_checked_by_evaluation(seed):
    """Whatever the refit search returns is a second network that fits every sample to the stated
    residual and differs in population by more than the tolerance; at theta = 1e-3 and n = 400
    about 0.1 samples are expected between the pair's hyperplanes, so the sample does not
    determine the pair."""
    net = instances.make("close_pair", 6, 3, rng=seed, theta=1e-3)
    X, y = net.sample(400, rng=200 + seed)
    found = refit_certificate(net, X, y, 1e-10, 12)
    if found is None:
        return
    alt = ReLUNetwork.from_dict(found["alternative"])
    residual = float(np.max(np.abs(alt(X) - y)))
    assert residual == pytest.approx(found["sample_max_abs_residual"], rel=1e-12, abs=0.0)
    terms = np.abs(X @ net.weights.T) @ np.abs(net.coefficients) + np.abs(X @ net.linear)
    assert residual <= max(float(np.max(np.abs(net(X) - y))), 1e2 * np.finfo(np.float64).eps * float(terms.max()))
    assert alt.squared_distance(net) / net.norm_squared() > 1e-10
