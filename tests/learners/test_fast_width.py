"""The fast learner when k is larger than the data need, at the noise floor, and its progress lines.

Stage 6b (``_prune``) and the noise-floor test are asserted as properties of one call on fixed data;
whole learner runs only through what holds for every run (the width a run returns is said in its
message and trace, and never exceeds k) or through rates over seeds.
"""

import math

import numpy as np
import pytest

from verified_relu import instances, learn
from verified_relu._lm import EXACT_LOSS, LMOutcome, predict
from verified_relu.learners import fast
from verified_relu.learners.fast import FastParams, _at_noise_floor, _prune
from verified_relu.network import ReLUNetwork


def _outcome(X, y, W, mu, a):
    r = predict(X, W, mu, a) - y
    return LMOutcome(np.array(W, float), np.array(mu, float), np.array(a, float), float(r @ r) / len(y), 0, "start")


def _data(seed, d=6, n=2000, sd=0.0):
    net = instances.make("random", d, 2, rng=seed)
    X, y = net.sample(n, rng=100 + seed)
    if sd:
        y = y + sd * np.random.default_rng(200 + seed).standard_normal(n)
    return net, X, y


@pytest.mark.parametrize("seed", range(3))
def test_prune_drops_a_neuron_that_exact_labels_do_not_need(seed):
    net, X, y = _data(seed)
    gen = np.random.default_rng(1000 + seed)  # not the instance's own stream
    extra = gen.standard_normal(net.d)
    W = np.vstack([net.weights, extra / np.linalg.norm(extra)])
    mu = np.concatenate([net.coefficients, [1e-4]])  # 1e-4 of the largest: a spurious neuron
    scale = float(np.mean(y * y))
    start = _outcome(X, y, W, mu, np.zeros(net.d))
    assert start.loss > EXACT_LOSS * scale
    out, drops = _prune(X, y, start, FastParams(), scale)
    assert out.W.shape[0] == 2 and len(drops) == 1 and drops[0]["dropped"] == 2
    assert out.loss <= EXACT_LOSS * scale  # the network without it is exact (refined)
    assert isinstance(drops[0]["before"], ReLUNetwork) and drops[0]["before"].k == 3
    assert ReLUNetwork(out.W, out.mu, out.a).squared_distance(net, dps=40) <= 1e-20 * net.norm_squared()


@pytest.mark.parametrize("seed", range(3))
def test_prune_keeps_a_small_neuron_that_the_labels_need(seed):
    # a third true neuron at 3% of the largest share: below the 5% at which a drop is tried, and
    # the network without it is far from fitting (its contribution is signal, not noise)
    net, X, _ = _data(seed)
    gen = np.random.default_rng(1000 + seed)  # not the instance's own stream
    extra = gen.standard_normal(net.d)
    share = np.abs(net.coefficients) * np.linalg.norm(net.weights, axis=1)
    W = np.vstack([net.weights, extra / np.linalg.norm(extra)])
    mu = np.concatenate([net.coefficients, [0.03 * share.max()]])
    truth = ReLUNetwork(W, mu)
    y = truth(X)
    scale = float(np.mean(y * y))
    start = _outcome(X, y, W, mu, np.zeros(net.d))
    out, drops = _prune(X, y, start, FastParams(), scale)
    assert drops == [] and out is start


@pytest.mark.parametrize("seed", range(3))
def test_prune_on_noisy_labels_stays_within_the_noise_allowance(seed):
    sd = 1e-2
    net, X, y = _data(seed, sd=sd)
    n, d = X.shape
    gen = np.random.default_rng(1000 + seed)  # not the instance's own stream
    extra = gen.standard_normal(d)
    W = np.vstack([net.weights, extra / np.linalg.norm(extra)])
    mu = np.concatenate([net.coefficients, [1e-3]])
    scale = float(np.mean(y * y))
    start = fast._refine(X, y, W, mu, np.zeros(d), FastParams(), scale)  # the extra neuron fits some noise
    out, drops = _prune(X, y, start, FastParams(), scale)
    for drop in drops:  # every drop within the chi^2_{d+1} allowance of the loss before it
        p = d + 1
        assert drop["loss_after"] <= drop["loss_before"] * (1 + (p + 3 * math.sqrt(2 * p)) / n)
    assert out.loss <= start.loss * (1 + len(drops) * ((d + 1) + 3 * math.sqrt(2 * (d + 1))) / n) * (1 + 1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_noise_floor_is_the_shared_verdicts_noise_consistent_and_never_with_noiseless(seed):
    net, X, y = _data(seed, sd=1e-2)
    Xv, yv = X[:400], y[:400]
    truth = _outcome(X[400:], y[400:], net.weights, net.coefficients, np.zeros(net.d))
    assert _at_noise_floor(truth, Xv, yv, FastParams())
    assert not _at_noise_floor(truth, Xv, yv, FastParams(noiseless=True))
    # a fit off by far more than the noise: its residual is structure, not noise
    off = _outcome(X[400:], y[400:], net.weights, 0.8 * net.coefficients, np.zeros(net.d))
    assert not _at_noise_floor(off, Xv, yv, FastParams())
    assert not _at_noise_floor(truth, None, None, FastParams())


@pytest.mark.parametrize("sd", [0.0, 1e-3])
def test_a_run_that_returns_fewer_neurons_than_k_says_which_width_suffices(sd):
    # holds for every run: the width never exceeds k, and a narrower network is announced
    for seed in range(3):
        _, X, y = _data(seed, d=8, n=50 * 8 * 4, sd=sd)
        res = learn(X, y, 4, rng=seed, noiseless=sd == 0)
        w = res.network.k
        assert w <= 4
        if w < 4:
            assert f"k = {w} suffices" in res.message
            assert res.diagnostics["suffices"] == w
            steps = {s.name: s for s in res.trace}
            assert steps["width"].data["width"] == w and steps["width"].data["k"] == 4
        else:
            assert "suffices" not in res.message and "suffices" not in res.diagnostics


def test_progress_within_long_stages_names_the_stage_and_the_errors(monkeypatch):
    # k = 2 on data of a width-3 network with noiseless labels: never exact, so the long stages run
    monkeypatch.setattr(fast, "_PROGRESS_SECONDS", 0.0)
    net = instances.make("random", 6, 3, rng=0)
    X, y = net.sample(600, rng=1)
    lines = []
    learn(X, y, 2, rng=0, noiseless=True, restarts=0, hops=3, progress=lines.append)
    hops = [line for line in lines if line.strip().startswith("hops:")]
    assert hops and hops[0].strip().startswith("hops: 1 of 3, training relative loss ")
    assert all("held-out relative error" in line for line in hops)
    assert any(line.strip().startswith("merge-and-reseed: 1 of ") for line in lines)


def test_no_progress_lines_unless_asked(monkeypatch, capsys):
    monkeypatch.setattr(fast, "_PROGRESS_SECONDS", 0.0)
    net = instances.make("random", 6, 3, rng=0)
    X, y = net.sample(600, rng=1)
    learn(X, y, 1, rng=0, noiseless=True, restarts=0, hops=2)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_a_k_too_large_on_exact_labels_returns_the_smaller_network_at_a_measured_rate():
    """Width 4 allowed, labels of a width-2 network (random family, d = 8, n = 50 d k, noiseless):
    measured 30 of 30 seeds returning width 2 (and, at d = 10, 30 of 30 returning width 3 for
    k = 5), a one-sided 95% lower bound of 0.905 on the rate; 5 or fewer of these 10 seeds then
    has probability at most 0.0013 (binomial tail at the bound)."""
    narrow = 0
    for seed in range(10, 20):
        _, X, y = _data(seed, d=8, n=50 * 8 * 4)
        res = learn(X, y, 4, rng=seed, noiseless=True)
        narrow += res.network.k == 2
    assert narrow >= 6


def _subspace_problem(seed):
    net = instances.make("random", 8, 2, rng=seed)
    X, y = net.sample(1600, rng=100 + seed)
    V = np.linalg.qr(np.random.default_rng(300 + seed).standard_normal((8, 3)))[0]  # not the network's span
    return X @ V, y


@pytest.mark.parametrize("seed", range(2))
def test_early_refine_that_is_not_exact_leaves_the_starts_unchanged(seed):
    """The first start's early refinement draws nothing from the generator: when it is not exact,
    every start (kind, loss, steps) and the best fit are those of the run without it."""
    Z, y = _subspace_problem(seed)
    params = FastParams(starts=4)
    calls = []
    plain, plain_losses, none = fast._subspace_fit(Z, y, 2, params, np.random.default_rng(seed))
    best, losses, refined = fast._subspace_fit(
        Z, y, 2, params, np.random.default_rng(seed), early=lambda fit: calls.append(fit.loss)
    )
    assert none is None and refined is None and len(calls) == 1
    assert calls[0] == losses[0]["loss"] and losses[0].pop("early_refine_exact") is False
    assert losses == plain_losses and best.loss == plain.loss and np.array_equal(best.W, plain.W)


def test_early_refine_that_is_exact_ends_the_starts():
    Z, y = _subspace_problem(0)
    marker = object()
    best, losses, refined = fast._subspace_fit(
        Z, y, 2, FastParams(starts=4), np.random.default_rng(0), lambda f: marker
    )
    assert refined is marker and len(losses) == 1 and losses[0]["early_refine_exact"] is True
    assert best.loss == losses[0]["loss"]


def _noisy_split(seed, sd, truth=None, d=6, n=2400, n_val=600):
    net = truth or instances.make("random", d, 2, rng=seed)
    X, y = net.sample(n + n_val, rng=100 + seed)
    y = y + sd * np.random.default_rng(200 + seed).standard_normal(len(y))
    return net, X[:n], y[:n], X[n:], y[n:]


@pytest.mark.parametrize("seed", range(3))
def test_prune_on_noisy_labels_drops_what_the_held_out_fold_does_not_need(seed):
    """Six spurious neurons and a linear term, refined on noisy labels (they fit some noise): every
    drop is within the training allowance or within 3 standard errors of the held-out differences,
    both recomputed here from the recorded networks, and the result is the truth's width without a
    linear term."""
    sd = 1e-2
    net, X, y, Xv, yv = _noisy_split(seed, sd, n=1200)
    gen = np.random.default_rng(1000 + seed)  # not the instance's own stream
    extra = gen.standard_normal((6, net.d))
    W = np.vstack([net.weights, extra / np.linalg.norm(extra, axis=1)[:, None]])
    mu = np.concatenate([net.coefficients, 1e-3 * gen.choice([-1.0, 1.0], 6)])
    scale = float(np.mean(y * y))
    start = fast._refine(X, y, W, mu, 1e-3 * gen.standard_normal(net.d), FastParams(), scale)
    out, drops = _prune(X, y, start, FastParams(), scale, Xv, yv)
    assert out.W.shape[0] == 2 and not np.any(out.a)
    assert drops[-1]["dropped"] == "linear term"
    nets = [d["before"] for d in drops] + [ReLUNetwork(out.W, out.mu, out.a)]
    for drop, before, after in zip(drops, nets, nets[1:]):
        diff = (yv - after(Xv)) ** 2 - (yv - before(Xv)) ** 2
        se = float(np.std(diff, ddof=1)) / math.sqrt(len(diff))
        if "held_out_rise" in drop:
            assert drop["held_out_rise"] == pytest.approx(float(np.mean(diff)), rel=1e-9, abs=1e-18)
        p = X.shape[1] + (1 if drop["dropped"] != "linear term" else 0)  # the parameters dropped
        by_training = drop["loss_after"] <= drop["loss_before"] * (1 + (p + 3 * math.sqrt(2 * p)) / len(y))
        assert by_training or float(np.mean(diff)) <= 3 * se + 1e-18
    # the excess risk of a least-squares fit with p = 2 (d + 1) parameters is about sd^2 chi^2_p / n;
    # 50 times its mean is beyond any chance (P(chi^2_14 > 700) < 1e-100): the pruned fit is the truth's
    assert net.squared_distance(nets[-1]) <= 50 * sd**2 * (2 * (net.d + 1)) / len(y)


@pytest.mark.parametrize("seed", range(3))
def test_prune_on_noisy_labels_keeps_a_small_neuron_that_the_labels_need(seed):
    # a third true neuron at 3% of the largest share, labels with noise sd 1e-3: its contribution
    # (mean square ~ 1e-4 of the labels') is far above the noise's 1e-6, on held-out samples too
    base = instances.make("random", 6, 2, rng=seed)
    gen = np.random.default_rng(1000 + seed)
    extra = gen.standard_normal(base.d)
    share = np.abs(base.coefficients) * np.linalg.norm(base.weights, axis=1)
    truth = ReLUNetwork(
        np.vstack([base.weights, extra / np.linalg.norm(extra)]),
        np.concatenate([base.coefficients, [0.03 * share.max()]]),
    )
    _, X, y, Xv, yv = _noisy_split(seed, 1e-3, truth=truth)
    scale = float(np.mean(y * y))
    start = fast._refine(X, y, truth.weights, truth.coefficients, np.zeros(truth.d), FastParams(), scale)
    out, drops = _prune(X, y, start, FastParams(), scale, Xv, yv)
    assert [d["dropped"] for d in drops if d["dropped"] != "linear term"] == [] and out.W.shape[0] == 3


def test_merge_certificate_needs_a_network_that_fits_every_sample_as_well():
    """An antipodal pair ``a relu(<w,x>) + b relu(-<w,x>)`` equals, on every sample outside a thin
    wedge, the network with rows ``w - c/a``, ``-w - c/b`` and linear term ``c`` (closed form: on each
    side exactly one neuron is active and the linear term cancels the change).  With no sample in
    the wedge that network fits every sample to rounding and differs in population: a certificate.
    The same network moved off by 1e-7 misfits every sample far above rounding: not one."""
    gen = np.random.default_rng(5)
    d, n = 6, 200
    w = gen.standard_normal(d)
    w /= np.linalg.norm(w)
    a, b = 1.3, -0.7
    truth = ReLUNetwork(np.vstack([w, -w]), np.array([a, b]))
    X = gen.standard_normal((n, d))
    y = truth(X)
    c = 3e-3 * gen.standard_normal(d)
    before = ReLUNetwork(np.vstack([w - c / a, -w - c / b]), np.array([a, b]), c)
    wedge = np.sign(X @ before.weights[0]) == np.sign(X @ before.weights[1])
    assert not wedge.any()  # no sample where both or neither neuron is active
    dist = before.squared_distance(truth) / truth.norm_squared()
    assert dist > 1e-10
    cert = fast._merge_certificate(truth, [before], X, y, 1e-10)
    assert cert is not None and cert["relative_distance"] == pytest.approx(dist)
    off = ReLUNetwork(before.weights, before.coefficients * (1 + 1e-7), c)
    assert float(np.max(np.abs(off(X) - y))) > 1e-9  # far above rounding
    assert fast._merge_certificate(truth, [off], X, y, 1e-10) is None
