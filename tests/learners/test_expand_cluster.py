"""The Expand-and-Cluster baseline (Martinelli et al., ICML 2024): options, torch-free import,
determinism, the cluster bookkeeping and recovery of an easy instance.

Accuracy is the exact population quantity ``squared_distance / norm_squared`` (closed form in
:class:`ReLUNetwork`), never the learner's own report.
"""

import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import needs_torch
from verified_relu import instances
from verified_relu.learners import learn
from verified_relu.learners.expand_cluster import _student_neurons


def _rel(true, learned):
    return true.squared_distance(learned) / true.norm_squared()


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tests only: one torch thread (the library never changes torch's settings), restored after."""
    try:
        import torch
    except ImportError:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(
    "options,exc,match",
    [
        ({"students": 0}, ValueError, "students must be an int >= 1"),
        ({"rho": 0.5}, ValueError, "rho must be"),
        ({"gamma": 0.0}, ValueError, "gamma must be"),
        ({"gamma": 1.5}, ValueError, "gamma must be"),
        ({"distance_threshold": 3.0}, ValueError, "distance_threshold must be"),
        ({"max_angle": 0.0}, ValueError, "max_angle must be"),
        ({"min_contribution": 1.0}, ValueError, "min_contribution must be"),
        ({"finetune": "bfgs"}, ValueError, "finetune must be"),
        ({"finetune_iterations": -1}, ValueError, "finetune_iterations must be"),
        ({"lr": 0.0}, ValueError, "lr must be"),
        ({"time_budget": 0.0}, ValueError, "time_budget must be"),
        ({"students": 2.0}, TypeError, "students must be an int"),
        ({"fit_linear": 1}, TypeError, "fit_linear must be a bool"),
        ({"width": 8}, TypeError, "unknown option"),
    ],
)
def test_bad_options_name_the_argument(options, exc, match):
    """Validation runs before any work, so these need no torch."""
    X = np.random.default_rng(0).standard_normal((500, 4))
    with pytest.raises(exc, match=match):
        learn(X, X[:, 0], 2, method="expand_cluster", rng=0, **options)


def test_import_does_not_import_torch():
    code = (
        "import sys, verified_relu.learners.expand_cluster, verified_relu.learners.registry as r;"
        "r.get('expand_cluster').params; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_student_pair_u_minus_u_with_opposite_outputs_is_a_linear_term():
    """c relu(<u,x>) - c relu(<-u,x>) = c <u,x>: with a linear term the pair is no neuron and is
    dropped; a same-line pair with equal outputs is one neuron of twice the contribution; without
    a linear term u and -u stay two neurons."""
    u, v = np.array([0.6, 0.8, 0.0]), np.array([0.0, 0.0, 1.0])
    W = np.array([2 * u, -u, v, 0.5 * v])
    mu = np.array([1.0, 2.0, 1.0, 2.0])  # contributions c = mu ||w||: 2, 2 (along -u), 1, 1
    dirs, c = _student_neurons(W, mu, True, 1e-2)
    assert len(c) == 2  # u and -u sum to a relu of contribution 4 along u up to <u, x>: one neuron
    W2 = np.array([u, -u, v])
    mu2 = np.array([1.0, -1.0, 3.0])  # relu(<u,x>) - relu(<-u,x>) = <u,x>
    dirs, c = _student_neurons(W2, mu2, True, 1e-2)
    assert len(c) == 1 and np.allclose(dirs[0], v) and np.isclose(c[0], 3.0)
    dirs, c = _student_neurons(W2, mu2, False, 1e-2)
    assert len(c) == 3


@needs_torch
def test_determinism_width_and_trace():
    net = instances.make("random", 4, 2, rng=9)
    X, y = net.sample(600, rng=10)
    opts = {"students": 3, "epochs": 4, "rho": 2}
    a = learn(X, y, 2, method="expand_cluster", rng=11, **opts)
    b = learn(X, y, 2, method="expand_cluster", rng=11, **opts)
    c = learn(X, y, 2, method="expand_cluster", rng=a.seed_entropy, **opts)
    assert a.network == b.network == c.network and a.message == b.message
    assert a.network.k <= 2
    assert [s.name for s in a.trace] == ["students", "clusters", "reconstruction", "validation"]
    d = a.diagnostics
    assert d["students"] == 3 and d["width"] == 4 and len(d["student_train_mse"]) == 3
    assert d["clusters_kept"] <= min(2, d["clusters_shared"]) and d["clusters_shared"] <= d["clusters_found"]


@needs_torch
def test_time_budget_stops_training():
    net = instances.make("random", 4, 2, rng=9)
    res = learn(*net.sample(400, rng=10), 2, method="expand_cluster", rng=0, students=2, epochs=10**6, time_budget=0.2)
    assert res.step("students").data["stopped_by"] == "time_budget"


@needs_torch
def test_recovers_an_easy_instance():
    """``random`` family, d = 4, k = 2, n = 4000 noiseless, 6 students of width 8, 60 epochs.

    What holds for every run: no success without an exact fit (relative error <= 1e-8).  The rate:
    measured exact (relative error <= 1e-10) at 20 of 20 seeds (0..19) with one torch/BLAS thread
    and 20 of 20 with two, about 0.7 s a run.  The test asks for at least 6 exact of 8 seeds: were
    the true per-run rate 0.95 (below the measured 40/40), failing that has probability
    P(Bin(8, 0.95) <= 5) < 0.006."""
    exact = 0
    for seed in range(8):
        net = instances.make("random", 4, 2, rng=seed)
        X, y = net.sample(4000, rng=100 + seed)
        res = learn(X, y, 2, method="expand_cluster", rng=200 + seed, noiseless=True, students=6, epochs=60)
        err = _rel(net, res.network)
        assert (not res.success) or err <= 1e-8, (seed, err, res.message)
        assert res.network.k <= 2
        exact += err <= 1e-10
    assert exact >= 6, exact


@needs_torch
def test_structureless_labels_keep_few_neurons_and_fail():
    gen = np.random.default_rng(3)
    X = gen.standard_normal((2000, 4))
    y = gen.standard_normal(2000)
    res = learn(X, y, 2, method="expand_cluster", rng=4, students=4, epochs=5)
    assert not res.success and res.network.k <= 2


@needs_torch
@pytest.mark.parametrize("finetune", ["adam", "none"])
def test_other_finetunes_and_no_shared_cluster(finetune):
    """``finetune="adam"`` (the paper's gradient fine-tuning) and ``"none"`` run and say so; when no
    cluster qualifies (here: no cluster can be shared by every student within 0.001 degrees) the
    network is the linear term beside one neuron with coefficient 0."""
    net = instances.make("random", 4, 2, rng=1)
    X, y = net.sample(1500, rng=2)
    res = learn(X, y, 2, method="expand_cluster", rng=4, students=3, epochs=5, finetune=finetune, finetune_iterations=3)
    assert res.step("reconstruction").data["finetune"]["how"] == finetune and res.network.k <= 2
    empty = learn(X, y, 2, method="expand_cluster", rng=4, students=3, epochs=5, gamma=1.0, max_angle=1e-3)
    assert empty.diagnostics["clusters_kept"] == 0 and empty.network.k == 1
    assert np.all(np.asarray(empty.network.coefficients) == 0) and not empty.success
