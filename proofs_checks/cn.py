"""Claims: CN24 (Chen-Narayanan), NETLEARN's lemmas (digest section 3; claims 17-19, 29, 30).

Each check takes a parameter dict and returns :class:`~proofs_checks.registry.Evidence`; the
constants under test are parameters, so the declared mutations are plain overrides.

Conventions.  ``f = sum_i lambda_i |<u_i, x>|`` (unit ``u_i``) is turned into a
:class:`~verified_relu.network.ReLUNetwork` by ``CanonicalNetwork.to_network`` (neurons
``(u_i, 2 lambda_i)``); its ``moment_contraction(l, g)`` is then
``M_l = c_l sum_i 2 lambda_i <u_i, g>^(l-2) u_i u_i^T`` (``c_l`` the normalized ReLU
coefficient, so ``2 c_l`` is the ``|.|`` coefficient).  We compare
``M_l / (2 c_l) = sum_i lambda_i <u_i, g>^(l-2) u_i u_i^T`` with the paper's matrices.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .registry import Evidence, claim, probability_evidence, ratio_evidence

__all__ = ["covering_radius", "isolating_polynomial", "poly_eval"]

_U = 2.0**-53  # unit roundoff of float64


# ----------------------------------------------------------------------------- Lemma 7
def _poly_mul(p, q):
    out = [Fraction(0)] * (len(p) + len(q) - 1)
    for i, a in enumerate(p):
        if a:
            for j, b in enumerate(q):
                out[i + j] += a * b
    return out


def isolating_polynomial(nodes, block, drop=None):
    """Coefficients (lowest degree first, exact ``Fraction``) of CN24 Lemma 7's polynomial
    ``p(x) = prod_{j not in I} (1 - prod_{i in I} (x - x_i) / (x_j - x_i))``.

    Parameters
    ----------
    nodes : sequence of Fraction or int
        Distinct nodes ``x_1..x_k``.
    block : sequence of int
        The indices ``I`` (0-based).
    drop : int, optional
        An index ``j not in I`` whose factor is left out (a deliberately wrong polynomial).

    Examples
    --------
    >>> p = isolating_polynomial([Fraction(0), Fraction(1)], [0])
    >>> [poly_eval(p, 0), poly_eval(p, 1)]
    [Fraction(1, 1), Fraction(0, 1)]
    """
    xs = [Fraction(x) for x in nodes]
    I = sorted({int(i) for i in block})
    if not I or any(i < 0 or i >= len(xs) for i in I):
        raise ValueError(f"isolating_polynomial: block must be non-empty indices into nodes, got {block}")
    if len(set(xs)) != len(xs):
        raise ValueError("isolating_polynomial: nodes must be distinct")
    p = [Fraction(1)]
    for j in range(len(xs)):
        if j in I or j == drop:
            continue
        q = [Fraction(1)]
        for i in I:
            q = _poly_mul(q, [-xs[i] / (xs[j] - xs[i]), 1 / (xs[j] - xs[i])])
        factor = [-c for c in q]
        factor[0] += 1
        p = _poly_mul(p, factor)
    while len(p) > 1 and p[-1] == 0:
        p.pop()
    return p


def poly_eval(coeffs, x):
    """Horner evaluation of ``sum_l coeffs[l] x^l`` (exact for ``Fraction`` input)."""
    out = 0 * coeffs[0]
    for c in reversed(coeffs):
        out = out * x + c
    return out


def _separated_instance(gen, k, size, delta):
    """Sorted rational nodes in [-1, 1] and a block of ``size`` consecutive indices whose
    neighbours are more than ``delta`` away (inside the block gaps may be tiny)."""
    while True:
        xs = sorted(Fraction(int(v), 2**16) for v in gen.integers(-(2**16), 2**16 + 1, size=k))
        if len(set(xs)) < k:
            continue
        a = int(gen.integers(0, k - size + 1))
        left = a == 0 or xs[a] - xs[a - 1] > delta
        right = a + size == k or xs[a + size] - xs[a + size - 1] > delta
        if left and right:
            return xs, list(range(a, a + size))


@claim(
    "cn.lemma7_isolating_polynomial",
    source="CN24 Lemma 7 (and its use in Lemma 15)",
    statement=(
        "For sorted distinct x_1..x_k in [-1, 1] and a block I separated from the other nodes by more than Delta, "
        "p(x) = prod_{j not in I}(1 - prod_{i in I}(x - x_i)/(x_j - x_i)) has p(x_s) = 1[s in I] exactly (rationals), "
        "deg p <= |I|(k - |I|) (<= k^2/4), and sum_l |p_l| <= (C_coef/Delta)^(|I|(k-|I|)) with C_coef = 4 "
        "(from (1 + (2/Delta)^|I|)^(k-|I|)), so O(1/Delta)^(k^2) holds; the fitted constant max (sum|p_l|)^(1/deg) "
        "Delta is reported.  Matrix identity: with x_i = <u_i, g>^2, sum_l p_l M_{2+2l}/(2 c_{2+2l}) = sum_{i in I} "
        "lambda_i u_i u_i^T (nodes (x_s + 1)/2 realised as <u_i, g>^2, re-read from the float vectors), "
        "M_l = ReLUNetwork.moment_contraction(l, g) of f = sum_i lambda_i |<u_i, .>| (M_l "
        "includes c_l; 2 c_l is the |.| coefficient), to within 64 (deg + 2) u sum_l |p_l| ||lambda||_1 (u = 2^-53, "
        "rounding of the float64 pipeline).  Margin: worst of the ratios (coefficient sum / bound, identity error / "
        "tolerance); any inexact p(x_s) or degree excess fails."
    ),
    kind="exact-symbolic",
    tiers={
        "quick": {
            "ks": [3, 4, 5, 6],
            "instances": 8,
            "delta": Fraction(1, 20),
            "seed": 1701,
            "d": 6,
            "degree_offset": 0,
            "drop_factor": False,
            "coef_constant": 4,
            "abs_factor": 2,
        },
        "full": {
            "ks": [3, 4, 5, 6, 7, 8],
            "instances": 60,
            "delta": Fraction(1, 20),
            "seed": 1702,
            "d": 9,
            "degree_offset": 0,
            "drop_factor": False,
            "coef_constant": 4,
            "abs_factor": 2,
        },
    },
    mutations={
        "degree_bound_minus_one": {"degree_offset": -1},
        "one_factor_dropped": {"drop_factor": True},
        "relu_instead_of_abs_normalisation": {"abs_factor": 1},
    },
)
def check_lemma7(params):
    from verified_relu.hermite.numeric import relu_coefficients
    from verified_relu.network import CanonicalNetwork

    gen = np.random.default_rng(params["seed"])
    delta = Fraction(params["delta"])
    worst, count, fitted, failures, identity = 0.0, 0, 0.0, [], 0.0
    for k in params["ks"]:
        for n in range(params["instances"]):
            size = 1 + n % (k - 1)
            xs, I = _separated_instance(gen, k, size, delta)
            outside = [j for j in range(k) if j not in I]
            p = isolating_polynomial(xs, I, drop=outside[0] if params["drop_factor"] else None)
            deg = len(p) - 1
            bad_values = sum(poly_eval(p, x) != (1 if s in I else 0) for s, x in enumerate(xs))
            if bad_values or deg > size * (k - size) + params["degree_offset"]:
                failures.append({"k": k, "I": I, "bad_values": int(bad_values), "deg": deg})
            l1 = sum(abs(c) for c in p)
            deg_bound = size * (k - size)
            worst = max(worst, float(l1 / (Fraction(params["coef_constant"]) / delta) ** deg_bound))
            if deg:
                fitted = max(fitted, float(l1) ** (1.0 / deg) * float(delta))
            count += 1
            # matrix identity: nodes in [0, 1] as squares <u_i, g>^2 of a random instance
            d = params["d"]
            g = gen.standard_normal(d)
            g /= np.linalg.norm(g)
            # nodes mapped order-preservingly to [0, 1] ((x + 1)/2 keeps I separated by Delta/2), as squares z_i^2
            z = np.sqrt([float((x + 1) / 2) for x in xs])
            U = np.empty((k, d))
            for i in range(k):  # u_i with <u_i, g> = z_i exactly up to rounding: g z_i + sqrt(1 - z_i^2) e_i
                e = gen.standard_normal(d)
                e -= (e @ g) * g
                e /= np.linalg.norm(e)
                U[i] = z[i] * g + math.sqrt(max(0.0, 1 - z[i] ** 2)) * e
            lam = gen.uniform(-1, 1, size=k)
            net = CanonicalNetwork(np.zeros(d), lam, U)
            nodes = [Fraction(float(v)) for v in (net.directions @ g) ** 2]
            if len(set(nodes)) < k:
                continue
            q = isolating_polynomial(nodes, I, drop=outside[0] if params["drop_factor"] else None)
            relu_net = net.to_network()
            c = relu_coefficients(2 + 2 * (len(q) - 1))
            lhs = sum(
                float(q_l) * relu_net.moment_contraction(2 + 2 * l, g) / (params["abs_factor"] * c[2 + 2 * l])
                for l, q_l in enumerate(q)
            )
            rhs = (net.directions[I].T * net.coefficients[I]) @ net.directions[I]
            tol = 64 * (len(q) + 1) * _U * float(sum(abs(v) for v in q)) * float(np.abs(lam).sum())
            identity = max(identity, float(np.abs(lhs - rhs).max()) / tol)
            worst = max(worst, identity)
            count += 1
    margin = math.inf if failures else worst
    return Evidence(
        not failures and worst <= 1,
        margin,
        "ratio",
        count,
        seeds=[params["seed"]],
        precision="exact (fractions); identity in float64",
        details={"fitted_coef_constant": fitted, "identity_error_over_tolerance": identity, "failures": failures[:5]},
    )


# ----------------------------------------------------------------------------- Prop 8 / Lemma 9
def _op_search(params):
    """Property-based search (hypothesis) over near-parallel / antipodal unit pairs."""
    from hypothesis import HealthCheck, assume, given, settings
    from hypothesis import strategies as st

    out = {"identity": 0.0, "bound": 0.0, "n": 0}
    coord = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False)
    vec = st.lists(coord, min_size=3, max_size=3).filter(lambda v: sum(c * c for c in v) > 1e-2)

    @settings(
        max_examples=params["examples"],
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(vec, vec, st.integers(0, 12), st.sampled_from([1.0, -1.0]))
    def search(u, e, scale_exp, sign):
        u = np.asarray(u) / np.linalg.norm(u)
        v = sign * u + 10.0**-scale_exp * np.asarray(e)
        assume(np.linalg.norm(v) > 1e-6)  # v = 0 (e = -sign u at scale 1) has no direction
        v /= np.linalg.norm(v)
        op = float(np.abs(np.linalg.eigvalsh(np.outer(u, u) - np.outer(v, v))).max())
        chord = float(np.linalg.norm(u - v))
        sine = chord * float(np.linalg.norm(u + v)) / 2
        claimed = sine if params["op_form"] == "sine" else chord
        out["identity"] = max(out["identity"], abs(op - claimed) / 1e-14)
        if chord >= 1e-8:  # below, rounding (~1e-16) dominates op and chord; the 1e-14 identity check governs
            out["bound"] = max(out["bound"], op / (params["op_constant"] * chord))
        out["n"] += 1

    search()
    return out


@claim(
    "cn.prop8_cluster_collapse",
    source="CN24 Prop. 8 and Lemma 9 (cluster collapse)",
    statement=(
        "For unit u, u': ||uu^T - u'u'^T||_op = sin angle(u, u') = |u - u'| |u + u'|/2 (to 1e-14) and <= 2|u - u'| "
        "(property-based search with hypothesis over near-parallel and near-antipodal pairs, perturbations 10^-12..1; "
        "the ratio to 2|u - u'| is taken where |u - u'| >= 1e-8, below which float64 rounding dominates both sides); "
        "and ||sum_{i in I} lambda_i |<u_i, .>| - lambda_bar |<u_i', .>| ||_L2 <= ||lambda_I||_1 max_i |u_i - u_i'| "
        "(lambda_bar = sum_I lambda_i; exact L2 via squared_distance at 50 digits) for random clusters of 1..4 "
        "directions.  Margin: worst of (|op - sin|/1e-14, op/(2|u-u'|), L2/bound)."
    ),
    kind="property-based search",
    tiers={
        "quick": {
            "examples": 150,
            "op_form": "sine",
            "op_constant": 2.0,
            "l2_constant": 1.0,
            "clusters": 40,
            "seed": 1801,
            "d": 5,
        },
        "full": {
            "examples": 3000,
            "op_form": "sine",
            "op_constant": 2.0,
            "l2_constant": 1.0,
            "clusters": 600,
            "seed": 1802,
            "d": 8,
        },
    },
    mutations={
        "op_equals_chord": {"op_form": "chord"},
        "op_constant_half": {"op_constant": 0.5},
        "l2_constant_half": {"l2_constant": 0.5},
    },
)
def check_prop8(params):
    from verified_relu.network import CanonicalNetwork

    search = _op_search(params)
    gen = np.random.default_rng(params["seed"])
    d, l2_worst = params["d"], 0.0
    for n in range(params["clusters"]):
        size = 1 + n % 4
        centre = gen.standard_normal(d)
        centre /= np.linalg.norm(centre)
        spread = 10.0 ** -gen.uniform(0.5, 4)
        U = centre + spread * gen.standard_normal((size, d))
        U *= np.where(gen.random(size) < 0.5, -1.0, 1.0)[:, None] if n % 3 == 0 else 1.0  # |.| is sign-blind
        U /= np.linalg.norm(U, axis=1)[:, None]
        lam = gen.uniform(-1, 1, size)
        ref = int(gen.integers(0, size))
        cluster = CanonicalNetwork(np.zeros(d), lam, U)
        collapsed = CanonicalNetwork(np.zeros(d), [lam.sum()], U[ref : ref + 1])
        dist = math.sqrt(float(cluster.squared_distance(collapsed, dps=50)))
        # |.| is even: the distance to the representative is min over its sign
        gap = max(min(np.linalg.norm(u - U[ref]), np.linalg.norm(u + U[ref])) for u in U)
        bound = params["l2_constant"] * np.abs(lam).sum() * gap
        l2_worst = max(l2_worst, dist / bound if bound else (math.inf if dist > 1e-30 else 0.0))
    worst = max(search["identity"], search["bound"], l2_worst)
    return ratio_evidence(
        worst,
        search["n"] + params["clusters"],
        seeds=[params["seed"]],
        precision="float64 (op), mpmath dps=50 (L2)",
        details={"op_identity": search["identity"], "op_bound": search["bound"], "l2": l2_worst},
    )


# ----------------------------------------------------------------------------- Lemmas 10 / 13
@claim(
    "cn.lemmas10_13_eigenspaces",
    source="CN24 Lemma 10, Cor. 11, Prop. 12, Lemma 13",
    statement=(
        "For M_l the exact moment_contraction of a k-neuron network (l in {2, 4, .., 2k^2+2}) and symmetric E_l with "
        "||E_l||_F <= eta: every eigenvector of M_l + E_l with |eigenvalue| >= eta' is within eta/eta' of U = "
        "span{u_i} (Lemma 10); and with V the eigenvectors of sum_l Pi_l with eigenvalue >= nu, Tr(Pi_U^perp Pi_V) <= "
        "L d (eta/eta')^2/nu with L = k^2 + 1 <= 2k^2 matrices, so dim V <= k + 2 d k^2 (eta/eta')^2/nu (the O "
        "constant is 2).  Random and adversarial E (a rank-2 E mixing an eigenvector of M_l with U^perp).  Margin: "
        "worst of (distance / (eta/eta'), trace / bound); dim V must respect the bound."
    ),
    kind="high-precision numeric",
    tiers={
        "quick": {
            "k": 3,
            "d": 8,
            "trials": 12,
            "eta": 1e-3,
            "eta_prime": 3e-3,
            "nu": 0.5,
            "seed": 1901,
            "lemma10_power": 1,
            "lemma10_factor": 1.0,
        },
        "full": {
            "k": 4,
            "d": 12,
            "trials": 150,
            "eta": 1e-3,
            "eta_prime": 2e-3,
            "nu": 0.5,
            "seed": 1902,
            "lemma10_power": 1,
            "lemma10_factor": 1.0,
        },
    },
    mutations={"lemma10_squared_over_10": {"lemma10_power": 2, "lemma10_factor": 0.1}},
)
def check_lemmas10_13(params):
    from verified_relu.network import ReLUNetwork

    gen = np.random.default_rng(params["seed"])
    k, d, eta, eta_p, nu = params["k"], params["d"], params["eta"], params["eta_prime"], params["nu"]
    ls = list(range(2, 2 * k * k + 3, 2))
    lemma10_bound = params["lemma10_factor"] * (eta / eta_p) ** params["lemma10_power"]
    worst, dim_excess, count = 0.0, 0, 0
    for trial in range(params["trials"]):
        W = gen.standard_normal((k, d))
        net = ReLUNetwork(W, gen.uniform(-1, 1, k))
        Q, _ = np.linalg.qr(W.T)
        perp = np.eye(d) - Q @ Q.T
        g = gen.standard_normal(d)
        g /= np.linalg.norm(g)
        S = np.zeros((d, d))
        for l in ls:
            M = net.moment_contraction(l, g)
            if trial % 2:  # adversarial: couple the top eigenvector of M with a direction orthogonal to U
                top = np.linalg.eigh(M)[1][:, -1]
                b = perp @ gen.standard_normal(d)
                b /= np.linalg.norm(b)
                E = np.outer(top, b) + np.outer(b, top)
            else:
                E = gen.standard_normal((d, d))
                E = E + E.T
            E *= eta / np.linalg.norm(E)
            vals, vecs = np.linalg.eigh(M + E)
            big = vecs[:, np.abs(vals) >= eta_p]
            if big.size:
                dist = np.linalg.norm(perp @ big, axis=0).max()
                worst = max(worst, dist / lemma10_bound)
                count += big.shape[1]
            S += big @ big.T
        svals, svecs = np.linalg.eigh(S)
        V = svecs[:, svals >= nu]
        trace = float(np.trace(perp @ V @ V.T))
        trace_bound = len(ls) * d * (eta / eta_p) ** 2 / nu
        worst = max(worst, trace / trace_bound)
        dim_excess = max(dim_excess, V.shape[1] - (k + 2 * d * k * k * (eta / eta_p) ** 2 / nu))
    ok = worst <= 1 and dim_excess <= 0
    return Evidence(
        bool(ok),
        float(worst) if dim_excess <= 0 else math.inf,
        "ratio",
        count,
        seeds=[params["seed"]],
        details={"lemma10_bound": lemma10_bound, "dim_excess": float(dim_excess)},
    )


# ----------------------------------------------------------------------------- Lemma 15 / Cor. 16
def _cancelling_instance(gen, k, d, tau):
    """Unit rows and |.|-weights: a close pair u_1, u_2 (angle theta) with cancelling weights
    lambda_1 = a + lam_bar, lambda_2 = -a (a in [0.5, 1], |lam_bar| in [1.5, 2.5] tau), plus k - 2
    random neurons.  theta puts the pair's small eigenvalue (about a (a + lam_bar) theta^2 /
    lam_bar) just below eta', where V drops it and dist(u_1, V) is largest."""
    u1 = gen.standard_normal(d)
    u1 /= np.linalg.norm(u1)
    e = gen.standard_normal(d)
    e -= (e @ u1) * u1
    e /= np.linalg.norm(e)
    a = gen.uniform(0.5, 1.0)
    lam_bar = gen.choice([-1.0, 1.0]) * gen.uniform(1.5, 2.5) * tau
    return u1, e, a, lam_bar


@claim(
    "cn.lemma15_distance",
    source="CN24 Lemma 15 and Cor. 16 (digest 3.4; claim 19, third bullet)",
    statement=(
        "With M_l = sum_i lambda_i <u_i, g>^(l-2) u_i u_i^T exact (l in {2, 4, .., 2k^2+2}), M_hat_l = M_l + E_l, "
        "E_l symmetric with ||E_l||_F = eta = eta'^2 (random, or -eta u_j u_j^T shrinking a big cluster), Pi_l the "
        "eigenvectors of M_hat_l with |eigenvalue| >= eta', V the eigenvectors of sum_l Pi_l with eigenvalue >= "
        "nu = eta' (NETLEARN steps 2-3), g conditioned on CDGKM Lemmas 3-4 (= CN Lemma 5), clusters of "
        "z_i = |<u_i, g>| at scale Delta and big clusters |sum_I lambda_i| > tau: for every u_i in a big cluster "
        "dist(u_i, V)^2 <= (1/tau)[(1/Delta)^(k^2) d (||lambda||_1 nu + eta') + ||lambda||_1 k^3 d^(3/2) Delta] "
        "(every O(.) = 1).  Instances: random, and close pairs with cancelling weights (|lambda_1 + lambda_2| "
        "~ 2 tau) whose small eigenvalue V drops, which maximise dist(u_1, V)^2 (about eta'/|lambda_bar|).  "
        "Margin: worst dist^2 / bound.  Finding: with every O(.) = 1 the bound is >= 1, i.e. vacuous since "
        "dist^2 <= 1, on every instance where V misses a big-cluster direction measurably (details: "
        "nonvacuous_instances, worst_nonvacuous); the mutation shows that its amplification (1/Delta)^(k^2)/tau "
        "(isolating polynomial, Lemma 7, and the weight threshold) is needed: Lemma 14's trace bound "
        "d(||lambda||_1 nu + eta') + ||lambda||_1 k^3 d^(3/2) Delta alone is exceeded."
    ),
    kind="high-precision numeric",
    tiers={
        "quick": {
            "ks": [2, 3],
            "d": 3,
            "trials": 40,
            "eta_prime": 1e-6,
            "Delta": 1e-9,
            "tau": 0.01,
            "delta_power": None,
            "divide_by_tau": True,
            "seed": 1951,
        },
        "full": {
            "ks": [2, 3, 4],
            "d": 4,
            "trials": 400,
            "eta_prime": 1e-6,
            "Delta": 1e-9,
            "tau": 0.01,
            "delta_power": None,
            "divide_by_tau": True,
            "seed": 1952,
        },
    },
    mutations={"lemma14_trace_bound_as_distance": {"delta_power": 0, "divide_by_tau": False}},
)
def check_lemma15_distance(params):
    from verified_relu.learners._paper import anticoncentration
    from verified_relu.learners.netlearn import _clusters

    gen = np.random.default_rng(params["seed"])
    d, eta_p, Delta, tau = params["d"], params["eta_prime"], params["Delta"], params["tau"]
    eta, nu = eta_p**2, eta_p
    worst, worst_nonvac, nonvac, count, largest_dist2, draws_rejected = 0.0, 0.0, 0, 0, 0.0, 0
    for k in params["ks"]:
        power = k * k if params["delta_power"] is None else params["delta_power"]
        ls = list(range(2, 2 * k * k + 3, 2))
        for trial in range(params["trials"]):
            U = gen.standard_normal((k, d))
            U /= np.linalg.norm(U, axis=1)[:, None]
            lam = gen.uniform(-1, 1, k)
            if trial % 2 == 0:  # cancelling close pair
                u1, e, a, lam_bar = _cancelling_instance(gen, k, d, tau)
                theta = math.sqrt(eta_p * abs(lam_bar) / (a * (a + abs(lam_bar)))) * gen.uniform(0.3, 3.0)
                U[0], U[1] = u1, math.cos(theta) * u1 + math.sin(theta) * e
                lam[0], lam[1] = a + lam_bar, -a
            for _ in range(100):
                g = gen.standard_normal(d)
                g /= np.linalg.norm(g)
                if anticoncentration(g, U, k)["holds"]:
                    break
                draws_rejected += 1
            else:
                continue
            z = U @ g
            l1 = float(np.abs(lam).sum())
            groups = _clusters(np.abs(z), Delta)
            big = [i for grp in groups if abs(lam[grp].sum()) > tau for i in grp]
            if not big:
                continue
            S = np.zeros((d, d))
            for l in ls:
                M = (U.T * (lam * z ** (l - 2))) @ U
                if trial % 3 == 1:  # shrink the first big direction
                    E = -np.sign(lam[big[0]]) * np.outer(U[big[0]], U[big[0]])
                else:
                    E = gen.standard_normal((d, d))
                    E = E + E.T
                E *= eta / np.linalg.norm(E)
                vals, vecs = np.linalg.eigh(M + E)
                big_vecs = vecs[:, np.abs(vals) >= eta_p]
                S += big_vecs @ big_vecs.T
            svals, svecs = np.linalg.eigh(S)
            V = svecs[:, svals >= nu]
            with np.errstate(over="ignore"):
                inner = (1 / Delta) ** power * d * (l1 * nu + eta_p) + l1 * k**3 * d**1.5 * Delta
            bound = inner / tau if params["divide_by_tau"] else inner
            for i in big:
                r = U[i] - V @ (V.T @ U[i])
                dist2 = float(r @ r)
                largest_dist2 = max(largest_dist2, dist2)
                ratio = dist2 / bound
                worst = max(worst, ratio)
                if bound < 1:
                    nonvac += 1
                    worst_nonvac = max(worst_nonvac, ratio)
                count += 1
    return ratio_evidence(
        worst,
        count,
        seeds=[params["seed"]],
        precision="float64 (eigh)",
        details={
            "largest_dist2": largest_dist2,
            "nonvacuous_instances": nonvac,
            "worst_nonvacuous": worst_nonvac,
            "g_draws_rejected": draws_rejected,
        },
    )


# ----------------------------------------------------------------------------- random eps-net
def covering_radius(P):
    """Euclidean covering radius of unit vectors ``P`` (rows) on the sphere ``S^{k-1}``, k in {2, 3}.

    k = 2: half the largest angular gap; k = 3: the Voronoi vertices of the spherical Delaunay
    triangulation are the outward facet normals of the convex hull (requires the origin inside
    the hull, else the radius is reported as 2).
    """
    P = np.asarray(P, dtype=float)
    k = P.shape[1]
    if k == 2:
        ang = np.sort(np.arctan2(P[:, 1], P[:, 0]))
        gaps = np.diff(np.concatenate([ang, [ang[0] + 2 * np.pi]]))
        return float(2 * np.sin(gaps.max() / 4))
    if k == 3:
        from scipy.spatial import ConvexHull

        offsets = -ConvexHull(P).equations[:, 3]
        if offsets.min() <= 0:
            return 2.0
        return float(np.sqrt(2 - 2 * offsets.min()))
    raise ValueError(f"covering_radius: points must lie in R^2 or R^3, got dimension {k}")


@claim(
    "cn.random_net",
    source="CN24 section 4.5 (random construction of N_u)",
    statement=(
        "N = ceil((C_net/xi)^(2k)) uniform random points on the unit sphere of R^k form a xi-net (Euclidean covering "
        "radius <= xi, computed exactly: arc gaps for k = 2, convex-hull Voronoi vertices for k = 3) with probability "
        ">= 0.9, for C_net = 1: k = 2 with xi in {0.2, 0.1} (full: also 0.05) and k = 3 with xi in {0.2, 0.1} "
        "(full: also 0.15).  When N exceeds max_points (k = 3, xi = 0.1: N = 10^6, about 10 s per hull) a trial draws only "
        "the first n = random_net_size(k, xi, 0.01) <= N of the N points (21385 for k = 3, xi = 0.1; a union bound "
        "over an optimal xi/2-net, verified_relu.learners._paper): a superset of a xi-net is a xi-net, so covering "
        "with those n points implies covering with all N, and the success rate is a lower bound for N points.  "
        "Statistical: Clopper-Pearson (99%) lower end of the pooled success rate must clear 0.9."
    ),
    kind="statistical",
    tiers={
        "quick": {
            "configs": [[2, 0.2], [2, 0.1], [3, 0.2], [3, 0.1]],
            "trials": 20,
            "C_net": 1.0,
            "power": 2,
            "max_points": 200_000,
            "seed": 2901,
        },
        "full": {
            "configs": [[2, 0.2], [2, 0.1], [2, 0.05], [3, 0.2], [3, 0.15], [3, 0.1]],
            "trials": 40,
            "C_net": 1.0,
            "power": 2,
            "max_points": 200_000,
            "seed": 2902,
        },
    },
    mutations={"far_fewer_points": {"power": 1}},
)
def check_random_net(params):
    gen = np.random.default_rng(params["seed"])
    successes = trials = 0
    rows = []
    for k, xi in params["configs"]:
        from verified_relu.learners._paper import random_net_size

        N = math.ceil((params["C_net"] / xi) ** (params["power"] * k))
        n = min(N, random_net_size(k, xi, 0.01)) if N > params["max_points"] else N
        radii = []
        for _ in range(params["trials"]):
            P = gen.standard_normal((n, k))
            P /= np.linalg.norm(P, axis=1)[:, None]
            r = covering_radius(P)
            radii.append(r)
            successes += r <= xi
            trials += 1
        rows.append({"k": k, "xi": xi, "claimed_points": N, "points_drawn": n, "max_radius": max(radii)})
    return probability_evidence(successes, trials, 0.9, seeds=[params["seed"]], details={"rows": rows})


# ----------------------------------------------------------------------------- validation
@claim(
    "cn.lemma6_validation",
    source="CN24 Lemma 6 (= CDGKM23 Lemma 20, validation)",
    statement=(
        "For F = sum_{i<=2k} mu_i relu(<w_i, x>) with sum_i |mu_i||w_i| = 2R (2R-Lipschitz) and upsilon^2 < 4R^2 k, "
        "N = ceil(C_val k^2 (R/upsilon)^4 log(1/delta)) samples give |mean(F^2) - E F^2| <= upsilon^2 (E F^2 exact, "
        "norm_squared) except with probability <= delta; C_val = 1.  Statistical: the Clopper-Pearson (99%) upper "
        "end of the failure rate over fresh random networks and samples must be below delta."
    ),
    kind="statistical",
    tiers={
        "quick": {"k": 2, "d": 5, "R": 1.0, "upsilon": 0.5, "delta": 0.05, "C_val": 4.0, "trials": 300, "seed": 3001},
        "full": {"k": 3, "d": 8, "R": 1.0, "upsilon": 0.6, "delta": 0.01, "C_val": 4.0, "trials": 2000, "seed": 3002},
    },
    mutations={"hundredfold_fewer_samples": {"C_val": 0.04}},
)
def check_lemma6_validation(params):
    from verified_relu.network import ReLUNetwork

    gen = np.random.default_rng(params["seed"])
    k, d, R, ups, delta = params["k"], params["d"], params["R"], params["upsilon"], params["delta"]
    if not ups**2 < 4 * R * R * k:
        raise ValueError(f"params['upsilon'] must satisfy upsilon^2 < 4 R^2 k, got {ups}")
    N = math.ceil(params["C_val"] * k * k * (R / ups) ** 4 * math.log(1 / delta))
    failures, worst = 0, 0.0
    for _ in range(params["trials"]):
        W = gen.standard_normal((2 * k, d))
        mu = gen.uniform(-1, 1, 2 * k)
        mu *= 2 * R / float(np.abs(mu) @ np.linalg.norm(W, axis=1))
        net = ReLUNetwork(W, mu)
        _, y = net.sample(N, rng=gen)
        err = abs(float(np.mean(y**2)) - net.norm_squared())
        failures += err > ups**2
        worst = max(worst, err / ups**2)
    return probability_evidence(
        failures,
        params["trials"],
        delta,
        upper=True,
        seeds=[params["seed"]],
        details={"N": N, "worst_error_over_upsilon2": worst},
    )


# ----------------------------------------------------------------------------- scalings
def _exponents(k, cn_power=2):
    """``log_d`` of each sample-complexity bound with hidden constants 1 (as ``d -> oo``)."""
    return {"CDGKM": k ** (math.log2(k) ** 2), "CN": k**cn_power, "DK": k, "CSQ": k}


def _cn_chain(ctx, d, k, eps, R, C):
    """CN24 Eq. (35) with every O(.) set to 1: tau, xi, Delta, eta' = nu, eta, N."""
    d, k, eps, R, C = (ctx.mpf(v) for v in (d, k, eps, R, C))
    tau = C * eps / k
    xi = C * eps / (k * R)
    delta = C**2 * xi**2 * tau * eps / (2 * k**4 * d ** ctx.mpf(1.5) * R)
    nu = C**2 * xi**2 * tau * delta ** (k**2) / (d * R)
    eta = nu**2
    N = (k * d) ** (k**2) * R**2 / eta**2
    return {"tau": tau, "xi": xi, "Delta": delta, "nu": nu, "eta": eta, "N": N}


@claim(
    "cn.sample_complexity_scalings",
    source="CDGKM23 Thm 1, CN24 Thm 1 and Eq. (35)-(37), DK24 Thm 1, DKKZ20 Thm 4 (digest item 28)",
    statement=(
        "With hidden constants 1, log_d of the sample bounds as d -> oo is k^(log2(k)^2) (CDGKM), k^2 (CN), k (DK) "
        "and k (CSQ lower bound); for k = 2..20: DK equals the CSQ exponent, DK < CN strictly, and CN < CDGKM "
        "exactly from k = 3 on (the crossover: k^2 < k^(log2(k)^2) iff log2 k > sqrt 2).  CN's parameter chain "
        "(tau, xi, Delta, eta' = nu, eta = eta'^2, N; mpmath, values far below float range) for small (d, k, eps, R) "
        "with C = 0.1 has nu <= C^2/(k^2 d) and the Lemma 13 excess 2 d k^2 (eta/eta')^2/nu = 2 d k^2 nu < 1, so "
        "dim V <= k.  Margin: worst of the ratios that must stay strictly below 1."
    ),
    kind="high-precision numeric",
    tiers={
        "quick": {
            "ks": list(range(2, 21)),
            "chains": [[10, 2, 0.1, 1], [20, 3, 0.1, 2], [50, 4, 0.05, 1]],
            "C": 0.1,
            "cn_power": 2,
            "dps": 30,
        },
        "full": {
            "ks": list(range(2, 41)),
            "chains": [[d, k, e, R] for d in (5, 50, 500) for k in (2, 3, 4, 6) for e in (0.1, 0.01) for R in (1, 3)],
            "C": 0.1,
            "cn_power": 2,
            "dps": 30,
        },
    },
    mutations={"cn_exponent_k": {"cn_power": 1}},
)
def check_sample_complexity_scalings(params):
    import mpmath

    ctx = mpmath.MPContext()
    ctx.dps = int(params["dps"])
    table, worst = [], 0.0
    for k in params["ks"]:
        e = _exponents(k, params["cn_power"])
        table.append({"k": k, **e})
        worst = max(worst, e["DK"] / e["CN"], 1.0 if e["DK"] != e["CSQ"] else 0.0)
        if k >= 3:
            worst = max(worst, e["CN"] / e["CDGKM"])
    chains = []
    for d, k, eps, R in params["chains"]:
        ch = _cn_chain(ctx, d, k, eps, R, params["C"])
        excess = 2 * d * k * k * ch["nu"]
        nu_ratio = ch["nu"] / (ctx.mpf(params["C"]) ** 2 / (k * k * d))
        worst = max(worst, float(excess), float(nu_ratio))
        chains.append(
            {
                "d": d,
                "k": k,
                "eps": eps,
                "R": R,
                "log10_nu": float(ctx.log10(ch["nu"])),
                "log10_N": float(ctx.log10(ch["N"])),
                "log_d_N": float(ctx.log(ch["N"]) / ctx.log(d)),
                "dimV_excess": ctx.nstr(excess, 5),
            }
        )
    return Evidence(
        bool(worst < 1),
        float(worst),
        "ratio",
        len(table) + len(chains),
        precision=f"mpmath dps={params['dps']}",
        details={"exponents": table, "chains": chains},
    )
