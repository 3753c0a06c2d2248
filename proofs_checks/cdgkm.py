"""Claims: CDGKM23, "Learning Narrow One-Hidden-Layer ReLU Networks" (COLT 2023).

Each check takes a parameter dict (one per tier) and returns
:class:`~proofs_checks.registry.Evidence`; see :mod:`proofs_checks.registry` for the margin
conventions and the mutations every claim must fail under.  The multi-scale helpers (clumping
game, gapped scales, level function) live in :mod:`proofs_checks._clumping`.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import mpmath
import numpy as np

from . import _clumping as cg
from .registry import Evidence, claim, probability_evidence, ratio_evidence

SRC = "CDGKM23"


def _rng(seed):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- claim 12
def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _configuration(name, gen, k, d):
    """Unit rows u_1..u_k: ``random``, ``near_equal`` (pairwise ~1e-4 apart) or
    ``near_antipodal`` (alternating signs of nearly equal vectors)."""
    if name == "random":
        return _unit(gen.standard_normal((k, d)))
    base = _unit(gen.standard_normal(d))
    U = _unit(base + 1e-4 * gen.standard_normal((k, d)) / math.sqrt(d))
    if name == "near_antipodal":
        U[1::2] *= -1
    elif name != "near_equal":
        raise ValueError(f"_configuration: name must be random/near_equal/near_antipodal, got {name!r}")
    return U


def _directions(U):
    """Unit directions (u_i + s u_j)/||u_i + s u_j|| over i < j, s = +-1, and u_i (i = j, s = +1)."""
    k = U.shape[0]
    rows = [U[i] + s * U[j] for i, j in itertools.combinations(range(k), 2) for s in (1, -1)]
    return np.vstack([_unit(np.array(rows)), U])


@claim(
    "cdgkm.anticoncentration",
    source=f"{SRC} Lemmas 3, 4 and 25 (explicit constants of their proofs)",
    statement=(
        "For g uniform on S^{d-1} and unit u_1..u_k: with probability >= 4/5, for all i, j, s in {+-1} "
        "(i = j only with s = +1), (delta/3) sqrt(pi/2)/sqrt(d) <= |<u_i + s u_j, g>|/||u_i + s u_j|| "
        "<= 2 sqrt(2 ln(20 k^2))/sqrt(d) with delta = 1/(10 k^2) (Lemma 3); and with probability >= 9/10, "
        "min_i |<u_i, g>| >= (delta'/3) sqrt(pi/2)/sqrt(d) with delta' = 1/(10 k) (Lemma 4)."
    ),
    kind="statistical",
    tiers={
        "quick": {"ks": [3, 10], "ds": [20, 1000], "trials": 1500, "seed": 12},
        "full": {"ks": [3, 5, 10], "ds": [20, 100, 1000], "trials": 20000, "seed": 12},
    },
    mutations={"probability_too_high": {"p_lemma3": 0.999}, "lower_constant_10x": {"lower_scale": 10.0}},
)
def check_anticoncentration(p):
    """Monte Carlo over g for each (k, d, configuration); Bernoulli successes per lemma, a
    Clopper-Pearson interval (Bonferroni over all cases) and the worst case as the evidence.

    Parameters (``p``): ``ks``, ``ds``, ``trials``, ``seed``; mutations use ``p_lemma3``,
    ``p_lemma4`` (claimed probabilities) and ``lower_scale`` (multiplies both lower constants).
    """
    p3, p4, scale = p.get("p_lemma3", 0.8), p.get("p_lemma4", 0.9), p.get("lower_scale", 1.0)
    configs = ("random", "near_equal", "near_antipodal")
    cases = [(k, d, c) for k in p["ks"] for d in p["ds"] for c in configs]
    conf = 1 - 0.01 / (2 * len(cases))  # Bonferroni over all intervals reported
    gen = _rng(p["seed"])
    worst, rows = None, []
    for k, d, cname in cases:
        U = _configuration(cname, gen, k, d)
        D = _directions(U)
        g = _unit(gen.standard_normal((p["trials"], d)))
        proj = np.abs(g @ D.T)
        lo3 = scale * (1 / (10 * k * k)) / 3 * math.sqrt(math.pi / 2) / math.sqrt(d)
        hi3 = 2 * math.sqrt(2 * math.log(20 * k * k)) / math.sqrt(d)
        lo4 = scale * (1 / (10 * k)) / 3 * math.sqrt(math.pi / 2) / math.sqrt(d)
        ok3 = int(np.sum(np.all((proj >= lo3) & (proj <= hi3), axis=1)))
        ok4 = int(np.sum(np.min(np.abs(g @ U.T), axis=1) >= lo4))
        for lemma, ok, claimed in (("3", ok3, p3), ("4", ok4, p4)):
            ev = probability_evidence(ok, p["trials"], claimed, confidence=conf)
            rows.append({"k": k, "d": d, "config": cname, "lemma": lemma, "successes": ok, "lower_cp": ev.interval[0]})
            if worst is None or ev.margin > worst[0].margin:
                worst = (ev, (k, d, cname, lemma))
    ev = worst[0]
    details = dict(
        ev.details, worst_case=dict(zip(("k", "d", "config", "lemma"), worst[1])), cases=rows, lower_scale=scale
    )
    return Evidence(
        ev.passed,
        ev.margin,
        "probability",
        len(cases) * p["trials"],
        seeds=[p["seed"]],
        precision="float64",
        interval=ev.interval,
        details=details,
    )


# --------------------------------------------------------------------------- claim 13
def _lemma26_ratio(a, b, const, expo):
    """Worst of min_s|a - s b|^expo / |a^2 - b^2| and |a^2 - b^2| / (const min_s|a - s b|), exact."""
    a, b = Fraction(a), Fraction(b)
    m, diff = min(abs(a - b), abs(a + b)), abs(a * a - b * b)
    if m == 0:  # then a^2 = b^2 and both sides vanish
        return Fraction(0)
    return max(m**expo / diff, diff / (const * m))


def _float_or_inf(r):
    """A Fraction as a float, ``inf`` beyond float range (a mutated bound can make the ratio
    astronomically large on subnormal inputs: the check must then fail, not raise)."""
    try:
        return float(r)
    except OverflowError:
        return math.inf


@claim(
    "cdgkm.lemma26",
    source=f"{SRC} Lemma 26",
    statement="For |a|, |b| <= 1: min_s |a - s b|^2 <= |a^2 - b^2| <= 2 min_s |a - s b| (s in {+-1}).",
    kind="property-based search",
    tiers={
        "quick": {"random": 2000, "hypothesis": 150, "seed": 13},
        "full": {"random": 50000, "hypothesis": 3000, "seed": 13},
    },
    mutations={"constant_1.5": {"const": 1.5}, "exponent_1": {"expo": 1}},
)
def check_lemma26(p):
    """Exact (Fraction) ratios on random pairs, a grid of edge values and a hypothesis search
    (``target`` on the ratio, derandomised); the margin is the worst of both sides' ratios.

    Parameters (``p``): ``random``, ``hypothesis`` (example counts), ``seed``; ``const`` and
    ``expo`` replace the 2 and the exponent 2 (mutations).
    """
    from hypothesis import HealthCheck, given, settings, target
    from hypothesis import strategies as st

    const, expo = Fraction(p.get("const", 2)), p.get("expo", 2)
    gen = _rng(p["seed"])
    pts = [tuple(r) for r in gen.uniform(-1, 1, (p["random"], 2))]
    edge = [Fraction(x) for x in (-1, 0, 1, Fraction(1, 2), Fraction(-1, 3), Fraction(999, 1000), Fraction(1, 10**6))]
    pts += list(itertools.product(edge, repeat=2))
    worst = [Fraction(0), None]

    def consider(a, b):
        r = _lemma26_ratio(a, b, const, expo)
        if r > worst[0]:
            worst[:] = [r, (float(a), float(b))]
        return r

    for a, b in pts:
        consider(a, b)
    unit = st.floats(-1, 1, allow_nan=False)

    @settings(
        max_examples=p["hypothesis"],
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(unit, unit)
    def search(a, b):
        target(min(_float_or_inf(consider(a, b)), 1e300))  # hypothesis takes finite scores

    search()
    n = len(pts) + p["hypothesis"]
    return ratio_evidence(
        _float_or_inf(worst[0]),
        n,
        seeds=[p["seed"]],
        precision="exact (Fraction of float inputs)",
        details={"worst_pair": worst[1], "const": float(const), "exponent": expo},
    )


# --------------------------------------------------------------------------- claim 14
def _inverse_vandermonde_norm(nodes, ctx):
    """||V^{-1}||_2 (= max ||alpha||/||c||) with V_{ij} = x_i^j, nodes given as Fractions;
    the inverse is exact (rationals), its largest singular value is taken in ``ctx``."""
    m = len(nodes)
    V = [[x**j for j in range(m)] for x in nodes]
    # Gauss-Jordan in Fractions
    A = [row[:] + [Fraction(int(i == r)) for i in range(m)] for r, row in enumerate(V)]
    for col in range(m):
        piv = next(r for r in range(col, m) if A[r][col] != 0)
        A[col], A[piv] = A[piv], A[col]
        inv = 1 / A[col][col]
        A[col] = [x * inv for x in A[col]]
        for r in range(m):
            if r != col and A[r][col] != 0:
                f = A[r][col]
                A[r] = [x - f * y for x, y in zip(A[r], A[col])]
    Vinv = ctx.matrix([[ctx.mpf(x.numerator) / x.denominator for x in row[m:]] for row in A])
    return max(ctx.svd_r(Vinv, compute_uv=False))


def _vandermonde_nodes(gen, m, lo, hi, count):
    """Adversarial and random node sets in [lo, hi] (Fractions): equispaced on the whole
    interval, clustered equispaced blocks at both ends and in the middle, two clusters, random."""
    L = Fraction(hi) - Fraction(lo)
    out = [[Fraction(lo) + L * j / (m - 1) for j in range(m)]]
    for delta in (Fraction(1, 10), Fraction(1, 100), Fraction(1, 1000)):
        span = delta * (m - 1)
        if span <= L:
            out += [
                [Fraction(lo) + delta * j for j in range(m)],
                [Fraction(hi) - delta * j for j in range(m)],
                [Fraction(lo) + (L - span) / 2 + delta * j for j in range(m)],
            ]
            half = m // 2
            out.append(
                [Fraction(lo) + delta * j for j in range(half)] + [Fraction(hi) - delta * j for j in range(m - half)]
            )
    for _ in range(count):
        x = sorted(Fraction(int(t), 2**20) * L + Fraction(lo) for t in gen.integers(0, 2**20 + 1, m))
        if len(set(x)) == m:
            out.append(x)
    return out


@claim(
    "cdgkm.vandermonde",
    source=f"{SRC} Lemma 5 (citing Chen-Li-Li-Zhang 2022, Fact 5.10)",
    statement=(
        "For an m x m Vandermonde matrix V (V_ij = a_i^j) with nodes a_i in [0, 1] (the squared projections "
        "v_i^2 of the paper) and min gap Delta: ||alpha|| <= m (1/Delta)^{2m-2} ||c|| for V alpha = c, i.e. "
        "||V^{-1}||_2 <= m Delta^{-(2m-2)}; m = 2..8."
    ),
    kind="high-precision numeric",
    tiers={
        "quick": {"ms": [2, 3, 4, 5, 6], "random": 6, "seed": 14, "dps": 40},
        "full": {"ms": [2, 3, 4, 5, 6, 7, 8], "random": 60, "seed": 14, "dps": 60},
    },
    mutations={"exponent_m_minus_2": {"exponent": "m-2"}, "nodes_in_[-1,1]": {"domain": (-1, 1)}},
)
def check_vandermonde(p):
    """``||V^{-1}||_2`` (exact rational inverse, mpmath SVD) against ``m Delta^{-(2m-2)}`` on
    equispaced, end-clustered, two-cluster and random nodes.

    Parameters (``p``): ``ms``, ``random``, ``seed``, ``dps``; ``exponent`` in {"2m-2", "m-1",
    "m-2"} and ``domain`` (node interval) for the mutations.
    """
    expo_of = {"2m-2": lambda m: 2 * m - 2, "m-1": lambda m: m - 1, "m-2": lambda m: m - 2}[p.get("exponent", "2m-2")]
    lo, hi = p.get("domain", (0, 1))
    ctx = mpmath.MPContext()
    ctx.dps = p["dps"]
    gen = _rng(p["seed"])
    worst, where, n = ctx.mpf(0), None, 0
    for m in p["ms"]:
        for nodes in _vandermonde_nodes(gen, m, lo, hi, p["random"]):
            delta = min(b - a for a, b in itertools.pairwise(nodes))
            norm = _inverse_vandermonde_norm(nodes, ctx)
            bound = m * (1 / ctx.mpf(delta.numerator) * delta.denominator) ** expo_of(m)
            n += 1
            if norm / bound > worst:
                worst, where = norm / bound, {"m": m, "nodes": [str(x) for x in nodes], "inv_norm": float(norm)}
    return ratio_evidence(
        float(worst),
        n,
        seeds=[p["seed"]],
        precision=f"exact inverse, mpmath svd dps={p['dps']}",
        details={"worst": where, "domain": [lo, hi], "exponent": p.get("exponent", "2m-2")},
    )


# --------------------------------------------------------------------------- claim 15
def _lemma27_instances(gen, ctx, ks, count, allow_negative):
    """(q, v, k') triples: random, cancelling clusters, the corrected tightness family
    (v_j^2 = 1 - j g, q_j = (-1)^j C(k-1, j)) and, per random clustered v, the q minimising the
    even moments subject to sum_{i <= k'} q_i = 1 (the strongest q for that v)."""
    out = []
    for k in ks:
        for g in (ctx.mpf(1) / 10, ctx.mpf(1) / 50):
            if (k - 1) * g < 1:
                out.append(
                    ([(-1) ** j * math.comb(k - 1, j) for j in range(k)], [ctx.sqrt(1 - j * g) for j in range(k)], 1)
                )
        for _ in range(count):
            kp = int(gen.integers(1, k + 1))
            scale = 10.0 ** -gen.uniform(0, 4)
            a = gen.uniform(0.2, 1.0)
            v = [a] + list(np.clip(a + scale * gen.uniform(-1, 1, kp - 1), 0, 1))
            v += list(gen.uniform(0, 1, k - kp))
            v = [ctx.mpf(float(x)) for x in v]
            q = [ctx.mpf(float(x)) for x in gen.uniform(-1, 1, k)]
            if kp >= 2:
                q[1] = -q[0] + ctx.mpf(scale)  # cancelling cluster
            out.append((q, v, kp))
            # moment-minimising q for this v
            W = ctx.matrix([[x ** (2 * s) for x in v] for s in range(k + 1)])
            G = W.T * W
            if abs(ctx.det(G)) > ctx.mpf(10) ** (-ctx.dps // 2):
                aS = ctx.matrix([1 if i < kp else 0 for i in range(k)])
                y = ctx.lu_solve(G, aS)
                qq = y / (aS.T * y)[0]
                out.append(([qq[i] for i in range(k)], v, kp))
        if allow_negative:  # an antipodal pair: invisible to every even moment
            a = ctx.mpf(1) / 2
            out.append(([1, -1] + [0] * (k - 2), [a, -a] + [ctx.mpf(1) / 10 * j for j in range(1, k - 1)], 1))
    return out


@claim(
    "cdgkm.lemma27_power_sums",
    source=f"{SRC} Lemma 27 (App. B.11)",
    statement=(
        "With c_abs = 1 and C = 1: for 1 <= k' <= k <= 6, q in R^k, v in [0,1]^k (the sign-normalised projections "
        "|<u_i, g>|; the lemma needs v >= 0 or separation up to sign), tau = |sum_{i<=k'} q_i|, R = ||q||_inf, "
        "alpha = |v_1|, beta = max_{i<=k'} |v_1 - v_i|, gamma = min_{i<=k'<j} |v_i - v_j|: "
        "max_{even l in [0, 2k]} |<v^l, q>| >= c_abs [(tau/(2k)) (alpha^2 gamma^2/(4k))^k - C R k (k'-1) beta]."
    ),
    kind="high-precision numeric",
    tiers={
        "quick": {"ks": [2, 3, 4, 5, 6], "count": 12, "seed": 15, "dps": 50},
        "full": {"ks": [2, 3, 4, 5, 6], "count": 150, "seed": 15, "dps": 60},
    },
    mutations={"drop_gamma_factor": {"drop_factor": True}, "v_in_[-1,1]": {"allow_negative": True}},
)
def check_lemma27(p):
    """Worst ``rhs / max_l |<v^l, q>|`` in mpmath over random, cancelling-cluster,
    tightness-family and moment-minimising instances (instances with ``rhs <= 0`` hold trivially).

    Parameters (``p``): ``ks``, ``count``, ``seed``, ``dps``; ``c_abs``, ``C`` (default 1, 1);
    ``drop_factor`` and ``allow_negative`` for the mutations.
    """
    c_abs, C = p.get("c_abs", 1), p.get("C", 1)
    ctx = mpmath.MPContext()
    ctx.dps = p["dps"]
    gen = _rng(p["seed"])
    worst, where, n = ctx.mpf(-ctx.inf), None, 0
    for q, v, kp in _lemma27_instances(gen, ctx, p["ks"], p["count"], p.get("allow_negative", False)):
        k = len(v)
        tau, R, alpha = abs(ctx.fsum(q[:kp])), max(abs(x) for x in q), abs(v[0])
        beta = max(abs(v[0] - v[i]) for i in range(kp))
        gamma = min((abs(v[i] - v[j]) for i in range(kp) for j in range(kp, k)), default=ctx.mpf(1))
        factor = 1 if p.get("drop_factor") else (alpha**2 * gamma**2 / (4 * k)) ** k
        rhs = c_abs * (tau / (2 * k) * factor - C * R * k * (kp - 1) * beta)
        obs = max(abs(ctx.fsum(qi * vi ** (2 * s) for qi, vi in zip(q, v))) for s in range(k + 1))
        n += 1
        if rhs <= 0:
            continue
        r = rhs / obs if obs > 0 else ctx.inf
        if r > worst:
            worst, where = r, {"k": k, "k_prime": kp, "observed": float(obs), "rhs": float(rhs), "gamma": float(gamma)}
    return ratio_evidence(
        float(worst),
        n,
        seeds=[p["seed"]],
        precision=f"mpmath dps={p['dps']}",
        details={"worst": where, "c_abs": c_abs, "C": C},
    )


# --------------------------------------------------------------------------- claim 20
@claim(
    "cdgkm.lemma13_net_radius",
    source=f"{SRC} Lemma 13 (PCA -> net)",
    statement=(
        "For eta >= 0, C1 > 0, C2 >= 0 and r >= 0: 2 eta r^2 >= C1 r^4 - C2 implies "
        "r <= sqrt(2 eta / C1) + (C2/C1)^{1/4}."
    ),
    kind="exact-symbolic",
    tiers={"quick": {"random": 2000, "seed": 20}, "full": {"random": 200000, "seed": 20}},
    mutations={"drop_C2_term": {"c2_term": 0}, "drop_sqrt2": {"sqrt2": False}},
)
def check_lemma13(p):
    """Symbolic part: with eta = C1 a^2 and C2 = C1 b^4 (a, b >= 0) the quartic is
    C1 (r^4 - 2 a^2 r^2 - b^4); at r0 = sqrt(2) a + b its value has only nonnegative
    coefficients in (a, b), and it increases for r > r0 >= a, so every r with p(r) <= 0 has
    r <= r0.  Numeric part: the largest root of the quartic against the bound."""
    import sympy as sp

    c2t = p.get("c2_term", 1)
    s2 = sp.sqrt(2) if p.get("sqrt2", True) else sp.Integer(1)
    a, b, r = sp.symbols("a b r", nonnegative=True)
    r0 = s2 * a + c2t * b
    quartic = r**4 - 2 * a**2 * r**2 - b**4
    at_r0 = sp.Poly(sp.expand(quartic.subs(r, r0)), a, b)
    monotone = sp.Poly(sp.expand(r0**2 - a**2), a, b)  # p'(r) = 4 r (r^2 - a^2) > 0 beyond r0
    neg = [c for c in at_r0.coeffs() + monotone.coeffs() if c < 0]
    mixed_only = all(i > 0 and j > 0 for i, j in at_r0.monoms())  # equality on the axes
    symbolic_gap = float(max((-c for c in neg), default=0))
    # numeric: largest root r* = sqrt((eta + sqrt(eta^2 + C1 C2)) / C1) against the bound
    gen = _rng(p["seed"])
    eta, C1, C2 = (10.0 ** gen.uniform(-8, 4, p["random"]) for _ in range(3))
    rstar = np.sqrt((eta + np.sqrt(eta**2 + C1 * C2)) / C1)
    bound = float(s2) * np.sqrt(eta / C1) + c2t * (C2 / C1) ** 0.25
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(rstar > 0, rstar / bound, 0.0)
    worst = float(np.max(ratio))
    # equality holds exactly on the axes eta = 0 or C2 = 0 (p(r0) has only mixed monomials), so
    # those are left to the symbolic part; in the sampled ranges sqrt(2 eta/C1)/(C2/C1)^{1/4} is
    # >= 1e-9 or <= 1e9, so 1 - ratio ~ min(a/b, b/a) stays far above float64 rounding
    passed = not neg and worst <= 1.0
    return Evidence(
        passed,
        symbolic_gap if neg else (0.0 if passed else worst - 1.0),
        "exact",
        p["random"] + 1,
        seeds=[p["seed"]],
        precision="exact (sympy) + float64 search",
        details={
            "numeric_worst_ratio": worst,
            "tight_on_axes": mixed_only,
            "negative_coefficients": [str(c) for c in neg],
        },
    )


# --------------------------------------------------------------------------- claim 21
@claim(
    "cdgkm.level_function",
    source=f"{SRC} Def. 38 (App. C.3)",
    statement=(
        "With T(gamma) = (Lam^10/R^2)(gamma/d)^{ck}, beta = ck ln d + ln(R^2/Lam^10) + (ck-1) ln(1/eps') and "
        "L(gamma) = (0.9/ln(ck)) ln(1 + (ck-1) ln(eps'/gamma)/beta): L(T(gamma)) = L(gamma) + 0.9 and L(eps') = 0 "
        "identically."
    ),
    kind="exact-symbolic",
    tiers={"quick": {"points": 5, "seed": 21}, "full": {"points": 200, "seed": 21}},
    mutations={"increment_1.0": {"increment": 1.0}, "beta_drop_last_term": {"beta_terms": 2}},
)
def check_level_function(p):
    """sympy: the ratio of the arguments of the outer logarithms is K^{inc/0.9} and L(eps') = 0;
    plus 50-digit evaluation at random admissible points (the margin when it fails).
    ``increment`` and ``beta_terms`` select the mutations."""
    import sympy as sp

    gam, eps, Lam, R, d, K = sp.symbols("gamma epsilon Lambda R d K", positive=True)  # K = c k > 1
    inc = sp.Rational(str(p.get("increment", 0.9)))
    terms = [K * sp.log(d), sp.log(R**2 / Lam**10), (K - 1) * sp.log(1 / eps)][: p.get("beta_terms", 3)]
    beta = sum(terms)

    def L(x):
        return sp.Rational(9, 10) / sp.log(K) * sp.log(1 + (K - 1) * sp.log(eps / x) / beta)

    T = Lam**10 / R**2 * (gam / d) ** K
    identities = [L(T) - L(gam) - inc, L(eps)]
    # L(T) - L(gamma) = 0.9 ln(ratio)/ln K; the identity holds iff ratio == K**(inc/0.9)
    ratio = sp.simplify(
        sp.expand_log((1 + (K - 1) * sp.log(eps / T) / beta) / (1 + (K - 1) * sp.log(eps / gam) / beta), force=True)
    )
    sym_ok = sp.simplify(ratio - K ** (inc / sp.Rational(9, 10))) == 0 and sp.simplify(identities[1]) == 0
    # numeric discrepancy at random admissible points (mpmath, 50 digits) as the margin
    ctx = mpmath.MPContext()
    ctx.dps = 50
    gen = _rng(p["seed"])
    worst = 0.0
    for _ in range(p["points"]):
        vals = {
            eps: sp.Rational(int(gen.integers(1, 100)), 1000),
            Lam: sp.Rational(int(gen.integers(1, 100)), 100),
            R: sp.Rational(int(gen.integers(1, 50)), 1),
            d: int(gen.integers(2, 10**4)),
            K: int(gen.integers(2, 40)),
        }
        vals[gam] = vals[eps] * sp.Rational(1, int(gen.integers(1, 10**6)))
        for e in identities:
            worst = max(worst, abs(float(sp.N(e.subs(vals), 50))))
    passed = bool(sym_ok) and worst < 1e-40
    return Evidence(
        passed,
        0.0 if passed else max(worst, 1e-300),
        "exact",
        p["points"] * 2 + 2,
        seeds=[p["seed"]],
        precision="exact (sympy) + 50-digit evaluation",
        details={"symbolic_identity": bool(sym_ok), "numeric_worst": worst},
    )


# --------------------------------------------------------------------------- claim 22 + Fig. 2
FIG2_BOARD = tuple(Fraction(x) for x in ("0", "3.1", "2", "2", "3.1", "1", "1", "3.1", "2", "2", "3.1", "0"))
FIG2_MOVE = ((1, 3), (4, 6), (7, 9), (10, 12))  # 1-based, as printed


@claim(
    "errata.cdgkm_fig2_caption",
    source=f"{SRC} Fig. 2 caption (App. C)",
    statement=(
        "With tau = 3, phi = 1, w = (0, 3.1, 2, 2, 3.1, 1, 1, 3.1, 2, 2, 3.1, 0) and the move (1,3), (4,6), (7,9), (10,12), "
        "every interval is 1-legal and the move yields (0, 1, 1, 0), not the printed (0, 1, 0)."
    ),
    kind="exact-symbolic",
    tiers={"quick": {}, "full": {}},
    mutations={"printed_caption": {"expected": (0, 1, 0)}},
)
def check_fig2(p):
    """Apply the printed move exactly (Fractions) and compare with ``expected``."""
    expected = tuple(Fraction(x) for x in p.get("expected", (0, 1, 1, 0)))
    move = [(i - 1, j - 1) for i, j in FIG2_MOVE]
    legal = all(cg.is_legal_interval(FIG2_BOARD, i, j, 3, 1) for i, j in move)
    got = cg.apply_move(FIG2_BOARD, move, 3, 1)
    if len(got) != len(expected):
        margin = float(abs(len(got) - len(expected)))
    else:
        margin = float(max(abs(a - b) for a, b in zip(got, expected)))
    return Evidence(
        legal and margin == 0,
        margin,
        "exact",
        1,
        precision="exact (Fraction)",
        details={
            "result": [str(x) for x in got],
            "expected": [str(x) for x in expected],
            "all_intervals_1_legal": legal,
        },
    )


def _adversarial_boards(gen, k, tau, steps, starts):
    """Hill-climb over boards on a 1/4 grid, maximising the minimum number of moves."""
    grid = np.arange(0, tau + 4.0001, 0.25)
    found = []
    for _ in range(starts):
        w = [0.0] + [float(x) for x in gen.choice(grid, k - 2)] + [0.0]
        cur = cg.min_moves_to_finish(w, tau, 1)
        cur = -1 if cur is None else cur
        for _ in range(steps):
            w2 = list(w)
            w2[int(gen.integers(1, k - 1))] = float(gen.choice(grid))
            r = cg.min_moves_to_finish(w2, tau, 1)
            if r is not None and r >= cur:
                w, cur = w2, r
        found.append(w)
    return found


@claim(
    "cdgkm.clumping_game_moves",
    source=f"{SRC} Lemma 30 (App. C, clumping game)",
    statement=(
        "With tau = c ln k (c = 1), phi = 1 and C = 2: every board w in R^k_{>=0} with sentinels w_1 = w_k = 0 that "
        "can be reduced to a single entry by 1-legal moves can be so reduced in at most C ln k moves "
        "(brute-force breadth-first minimum; k = 4..10 quick, ..12 full; random and hill-climbed boards)."
    ),
    kind="property-based search",
    tiers={
        "quick": {"ks": [4, 6, 8, 10], "random": 25, "starts": 2, "steps": 25, "seed": 22},
        "full": {"ks": [4, 6, 8, 10, 12], "random": 300, "starts": 8, "steps": 300, "seed": 22},
    },
    mutations={"C_0.1": {"C": 0.1}},
)
def check_clumping_game(p):
    """Breadth-first minimum number of 1-legal moves on random and hill-climbed boards; margin
    is the worst ``moves / (C ln k)``.  Boards from which no move sequence reaches one entry are
    counted in the details (the game as stated can end with several entries)."""
    c, C = p.get("c", 1.0), p.get("C", 2.0)
    gen = _rng(p["seed"])
    worst, where, n, stuck, stuck_example = 0.0, None, 0, 0, None
    for k in p["ks"]:
        tau = c * math.log(k)
        boards = [
            [0.0] + [round(float(x), 2) for x in gen.uniform(0, tau + 3, k - 2)] + [0.0] for _ in range(p["random"])
        ]
        boards += _adversarial_boards(gen, k, tau, p["steps"], p["starts"])
        for w in boards:
            r = cg.min_moves_to_finish(w, tau, 1)
            n += 1
            if r is None:
                stuck += 1
                stuck_example = stuck_example or {"k": k, "tau": tau, "w": w}
                continue
            if r / (C * math.log(k)) > worst:
                worst, where = r / (C * math.log(k)), {"k": k, "moves": r, "w": w}
    return ratio_evidence(
        worst,
        n,
        seeds=[p["seed"]],
        precision="exact (brute force)",
        details={"worst": where, "c": c, "C": C, "unfinishable_boards": stuck, "unfinishable_example": stuck_example},
    )


# --------------------------------------------------------------------------- Lemma 11
@claim(
    "cdgkm.lemma11_gapped_scale",
    source=f"{SRC} Lemma 11 and Def. 6",
    statement=(
        "With T(gamma) = A (gamma/d)^e, A = 1/2, d = 4, e = ceil(c k) with c = 1/2, eps' = 1/10 and "
        "gamma_min = z_n for z_0 = eps'/k, z_{t+1} = T(z_t)/k, n = ceil(log2 k): every sorted v with "
        "max v - min v > eps' has a point i and a gapped scale gamma in [gamma_min, 1) (no |v_j - v_i| in "
        "(T(gamma), gamma)); the binary-search construction of the proof finds one."
    ),
    kind="property-based search",
    tiers={
        "quick": {"ks": [2, 4, 8], "random": 15, "seed": 11},
        "full": {"ks": [2, 3, 4, 6, 8, 12], "random": 120, "seed": 11},
    },
    mutations={"depth_log2k_minus_2_without_1/k": {"iter_offset": -2, "shrink": False}},
)
def check_lemma11(p):
    """Exact (Fraction) search: best gapped scale among the candidates and the binary-search
    construction, on random points, random nested clumps and balanced binary trees of clumps
    (which force the full log2 k depth).  Margin: worst ``gamma_min / best`` (reported also as
    orders of magnitude of slack).  ``iter_offset``, ``shrink`` and ``gamma_min_factor`` change
    gamma_min (mutations / experiments)."""
    A, d, eps = Fraction(1, 2), 4, Fraction(1, 10)
    off, shrink, mult = p.get("iter_offset", 0), p.get("shrink", True), Fraction(p.get("gamma_min_factor", 1))
    gen = _rng(p["seed"])
    worst, where, n, log_slack, per_k = 0.0, None, 0, math.inf, {}
    for k in p["ks"]:
        e = math.ceil(k / 2)
        depth = max(0, math.ceil(math.log2(k)) + off)
        if shrink:
            gmin = cg.gamma_min_iterate(eps, k, A, d, e, depth)
        else:
            gmin = eps
            for _ in range(depth):
                gmin = cg.threshold(gmin, A, d, e)
        gmin *= mult
        sets = [
            sorted(Fraction(int(x), 10**6) for x in gen.integers(0, 10**6, k)) for _ in range(p["random"])
        ]  # in [0, 1)
        sets += [cg.random_clumps(gen, k, eps, A, d, e) for _ in range(p["random"])]
        if k & (k - 1) == 0 and k > 1:
            sets += [cg.tree_points(Fraction(1, 5), int(math.log2(k)), A, d, e, f) for f in (2, 1 + Fraction(1, 10**6))]
        for v in sets:
            if v[-1] - v[0] <= eps:
                continue
            n += 1
            best, _ = cg.best_gapped_scale(v, A, d, e, gmin)
            bs, i, _ = cg.binary_search_gapped_scale(v, eps, A, d, e)
            if not cg.is_gapped(v, i, bs, A, d, e):
                return ratio_evidence(
                    math.inf, n, seeds=[p["seed"]], details={"binary_search_not_gapped": [str(x) for x in v]}
                )
            if bs < gmin:  # the proof's own construction must reach gamma_min
                return ratio_evidence(
                    math.inf, n, seeds=[p["seed"]], details={"binary_search_below_gamma_min": [str(x) for x in v]}
                )
            best = bs if best is None or bs > best else best
            ratio = math.inf if best < gmin else 0.0
            if best >= gmin:  # log10(gamma_min / best) <= 0; report the slack in orders of magnitude
                slack = cg.log10_fraction(best) - cg.log10_fraction(gmin)
                ratio = 10.0 ** max(-300.0, -slack)
                log_slack = min(log_slack, slack)
                per_k[k] = min(per_k.get(k, math.inf), slack)
            if where is None or ratio > worst:
                worst, where = (
                    ratio,
                    {"k": k, "log10_best_over_gamma_min": cg.log10_fraction(best) - cg.log10_fraction(gmin)},
                )
    return ratio_evidence(
        worst,
        n,
        seeds=[p["seed"]],
        precision="exact (Fraction)",
        details={
            "worst": where,
            "min_log10_best_gapped_over_gamma_min": log_slack,
            "per_k_min_log10_slack": per_k,
            "A": "1/2",
            "d": d,
            "c": 0.5,
            "eps": "1/10",
        },
    )


# --------------------------------------------------------------------------- Lemma 20 (erratum)
@claim(
    "errata.cdgkm_lemma20_constant",
    source=f"{SRC} Lemma 20 (statement (mu + 4R^2 k)^2 vs. the proof's K = mu + 4R^2 k^3)",
    statement=(
        "Under the reading of Lemma 20's proof (width 2k, |lambda_i| <= R, unit u_i, so |F(x)| <= 2kR||x||), the "
        "stated N = C (mu + 4R^2 k)^2 ln(1/delta)/t^2 does not suffice for a fixed C: for aligned neurons "
        "F = R sum_{i<=2k} relu<u, x> = 2kR relu(z), ||F^2||_psi1 = 9 k^2 R^2 exactly, and with R = 1, delta = 1/10, "
        "t = E F^2 / 10 the empirical mean of F^2 misses E F^2 by more than t with probability > delta "
        "(C = 10, k = 20 quick; also C = 100, k = 200 full).  (With a Lipschitz constant 2R, no k is needed at all.)"
    ),
    kind="statistical",
    tiers={
        "quick": {"cases": [(10, 20)], "trials": 2000, "seed": 20},
        "full": {"cases": [(10, 20), (10, 50), (100, 200)], "trials": 50000, "seed": 20},
    },
    mutations={"proof_scale_k3": {"scale": "k^3"}, "k_1": {"cases": [(10, 1)]}},
)
def check_lemma20(p):
    """Exact simulation of the empirical mean of N i.i.d. copies of F^2 = 4k^2R^2 relu(z)^2:
    the number M of positive z is Binomial(N, 1/2) and the sum of their squares is chi^2_M.
    Passes when the Clopper-Pearson lower end of P(|mean - E F^2| > t) exceeds delta.  Also
    checks ||relu(z)^2||_psi1 = 9/4 (E exp(relu(z)^2/s) = 1/2 + (1 - 2/s)^{-1/2}/2 = 2 at s = 9/4)
    by mpmath quadrature.  ``scale = "k^3"`` uses the proof's K (mutation)."""
    R, delta = 1.0, 0.1
    ctx = mpmath.MPContext()
    ctx.dps = 30
    s = ctx.mpf(9) / 4
    psi = ctx.mpf(1) / 2 + ctx.quad(lambda z: ctx.exp(z**2 / s - z**2 / 2) / ctx.sqrt(2 * ctx.pi), [0, ctx.inf])
    gen = _rng(p["seed"])
    conf = 1 - 0.01 / len(p["cases"])
    worst, rows = None, []
    for C, k in p["cases"]:
        mu, ef2 = 2 * k * R / math.sqrt(2 * math.pi), 2 * k * k * R * R
        t = ef2 / 10
        K = mu + 4 * R * R * (k**3 if p.get("scale") == "k^3" else k)
        N = math.ceil(C * K**2 * math.log(1 / delta) / t**2)
        M = gen.binomial(N, 0.5, p["trials"])
        sq = np.where(M > 0, gen.chisquare(np.maximum(M, 1)), 0.0)
        misses = int(np.sum(np.abs(4 * k * k * R * R * sq / N - ef2) > t))
        ev = probability_evidence(misses, p["trials"], delta, confidence=conf)
        rows.append(
            {"C": C, "k": k, "N": N, "miss_rate": misses / p["trials"], "psi1_F2_over_scale": 9 * k * k * R * R / K}
        )
        if worst is None or ev.margin > worst.margin:
            worst = ev
    details = dict(worst.details, cases=rows, psi1_check_E_exp_at_9_4=float(psi), scale=p.get("scale", "k"))
    ok = worst.passed and abs(psi - 2) < ctx.mpf(10) ** -25
    return Evidence(
        ok,
        worst.margin,
        "probability",
        p["trials"] * len(p["cases"]),
        seeds=[p["seed"]],
        precision="float64 exact-distribution simulation; mpmath dps=30 quadrature",
        interval=worst.interval,
        details=details,
    )
