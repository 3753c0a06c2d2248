"""Claims: the Hermite facts shared by CDGKM23, CN24 and DK24 (digest sections 1.3, 1.4).

Each check takes a parameter dict (one per tier) and returns
:class:`~proofs_checks.registry.Evidence`; see :mod:`proofs_checks.registry` for the margin
conventions.  Every claim exposes the constant or identity it tests as a parameter, so that
its declared mutations (a wrong constant, a perturbed identity) are plain parameter
overrides under which the check fails.

Conventions: ``He_n`` is the probabilists' Hermite polynomial, ``h_n = He_n / sqrt(n!)``,
``c_m = E[relu(G) h_m(G)]`` for ``G ~ N(0, 1)``, ``S_l(x)`` the normalized Hermite tensor.
Expected values always come from a computation independent of the one under test: mpmath
quadrature, exact rationals, sympy, or Monte Carlo with a stated 5-sigma criterion.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import mpmath
import numpy as np

from .registry import Evidence, claim, ratio_evidence

SRC_DK, SRC_CDGKM, SRC_CN = "DK24", "CDGKM23", "CN24"

#: Monte Carlo criterion: every estimate within this many standard errors of its claimed value.
Z_SIGMA = 5.0


def _ctx(dps):
    ctx = mpmath.MPContext()
    ctx.dps = int(dps)
    return ctx


def _he_at_zero(n):
    """Exact ``He_n(0)``: 0 for odd ``n``, ``(-1)^{n/2} (n-1)!!`` for even ``n`` (an int)."""
    if n % 2:
        return 0
    out = 1
    for j in range(n - 1, 0, -2):
        out *= j
    return -out if (n // 2) % 2 else out


def _he_poly_int(n):
    """Integer coefficients (lowest degree first) of ``He_n`` by ``He_{n+1} = x He_n - n He_{n-1}``."""
    prev, cur = [1], [0, 1]
    if n == 0:
        return prev
    for j in range(1, n):
        nxt = [0] + cur
        for i, c in enumerate(prev):
            nxt[i] -= j * c
        prev, cur = cur, nxt
    return cur


def _closed_form_c(ctx, m, c2_override=None):
    """The digest's closed form: ``c_0 = 1/sqrt(2 pi)``, ``c_1 = 1/2``, odd ``m >= 3``: 0,
    even ``m >= 2``: ``He_{m-2}(0) / sqrt(2 pi m!)``; ``c2_override`` replaces ``c_2``."""
    if m == 2 and c2_override is not None:
        return ctx.mpf(c2_override)
    if m == 0:
        return 1 / ctx.sqrt(2 * ctx.pi)
    if m == 1:
        return ctx.mpf(1) / 2
    if m % 2:
        return ctx.mpf(0)
    return ctx.mpf(_he_at_zero(m - 2)) / ctx.sqrt(2 * ctx.pi * ctx.factorial(m))


def _quadrature_c(ctx, m):
    """``c_m = int_0^oo x h_m(x) phi(x) dx`` by mpmath (tanh-sinh) quadrature on split intervals."""
    coeffs = [ctx.mpf(c) for c in _he_poly_int(m)]

    def f(x):
        return x * ctx.polyval(coeffs[::-1], x) * ctx.exp(-x * x / 2)

    val = ctx.quad(f, [0, 2, 4, 6, 8, 12, ctx.inf])
    return val / ctx.sqrt(2 * ctx.pi * ctx.factorial(m))


# --------------------------------------------------------------------------- claim 1
@claim(
    "hermite.relu_coefficients",
    source=f"{SRC_DK} Lemma 5 (proof); {SRC_CDGKM} App. A.2 / B.1",
    statement=(
        "c_m = E[relu(G) h_m(G)] equals 1/sqrt(2 pi) for m = 0, 1/2 for m = 1, 0 for odd m >= 3 and "
        "He_{m-2}(0)/sqrt(2 pi m!) for even m >= 2 (so c_2 = 1/(2 sqrt(pi)) = 0.28209479, "
        "c_4 = -0.08143375, c_6 = 0.04460310)."
    ),
    kind="high-precision numeric",
    tiers={"quick": {"max_m": 12, "dps": 40, "c2": None}, "full": {"max_m": 30, "dps": 50, "c2": None}},
    mutations={"c2_is_0.28": {"c2": 0.28}},
)
def check_relu_coefficients(params):
    """Closed form against mpmath quadrature for ``m <= max_m``; also against the library's
    exact table (:func:`verified_relu.hermite.numeric.relu_coefficients` at ``dps``).

    The margin is the worst ``|closed - quadrature| / tol`` with ``tol = 10^{-(dps-10)}``
    (ten digits of the working precision kept in reserve for quadrature error), and of
    ``|quadrature - printed| / 5e-9`` for the statement's 8-decimal values of ``c_2, c_4, c_6``.
    """
    from verified_relu.hermite.numeric import relu_coefficients

    max_m, dps = int(params["max_m"]), int(params["dps"])
    ctx = _ctx(dps)
    tol = ctx.mpf(10) ** (-(dps - 10))
    library = relu_coefficients(max_m, dps=dps - 10)
    worst, worst_m, worst_lib = ctx.mpf(0), None, ctx.mpf(0)
    values = {}
    for m in range(max_m + 1):
        closed = _closed_form_c(ctx, m, params.get("c2"))
        quad = _quadrature_c(ctx, m)
        err = abs(closed - quad) / tol
        worst_lib = max(worst_lib, abs(ctx.mpf(library[m]) - quad) / tol)
        if err > worst or worst_m is None:
            worst, worst_m = err, m
        if m <= 12:
            values[m] = ctx.nstr(quad, 12)
    # the digest's 8-decimal values, against the quadrature (allowed: half a unit in the 8th decimal)
    printed = {2: "0.28209479", 4: "-0.08143375", 6: "0.04460310"}
    digest_ratio = max(float(abs(_quadrature_c(ctx, m) - ctx.mpf(v)) / ctx.mpf("5e-9")) for m, v in printed.items())
    ratio = float(max(worst, worst_lib, digest_ratio))
    return ratio_evidence(
        ratio,
        max_m + 1,
        precision=f"mpmath dps={dps}, tolerance 1e-{dps - 10}",
        details={
            "worst_m": worst_m,
            "closed_vs_quadrature_over_tol": float(worst),
            "library_vs_quadrature_over_tol": float(worst_lib),
            "digest_8_decimals_over_half_ulp": digest_ratio,
            "quadrature_values": values,
        },
    )


# --------------------------------------------------------------------------- claim 2
def _even_coefficients_abs(ctx, max_m):
    """``|c_m|`` for even ``2 <= m <= max_m`` from ``|c_{m+2}| = |c_m| (m-1)/sqrt((m+1)(m+2))``."""
    out = {2: 1 / (2 * ctx.sqrt(ctx.pi))}
    for m in range(2, max_m - 1, 2):
        out[m + 2] = out[m] * (m - 1) / ctx.sqrt(ctx.mpf((m + 1) * (m + 2)))
    return out


def _decay_constant(ctx):
    return (2 / ctx.pi) ** ctx.mpf(0.25) / ctx.sqrt(2 * ctx.pi)


@claim(
    "hermite.coefficient_decay",
    source=f"{SRC_DK} Lemma 5 (|c_m| = Theta(m^(-5/4))) and the digest's tail constant",
    statement=(
        "For even m, |c_m| m^(5/4) -> K = (2/pi)^(1/4)/sqrt(2 pi) = 0.356353..., with "
        "| |c_m| m^(5/4)/K - 1 | <= 1/m for even m in [100, max_m]; the least-squares slope of "
        "log|c_m| against log m over [100, max_m] is -5/4 to within 0.005; and the tail "
        "sum_{m > D} c_m^2 (computed exactly as 1/2 minus the partial sum) times D^(3/2) is within "
        "a relative 2/D of K^2/3 = 0.0423... for D in the tier's list."
    ),
    kind="high-precision numeric",
    tiers={
        "quick": {"max_m": 3200, "tails": [10, 100, 1000], "dps": 40, "K_scale": 1.0, "exponent": 1.25},
        "full": {"max_m": 20000, "tails": [10, 100, 1000, 10000], "dps": 50, "K_scale": 1.0, "exponent": 1.25},
    },
    mutations={"decay_constant_off_1pct": {"K_scale": 1.01}, "exponent_5_over_2": {"exponent": 2.5}},
)
def check_coefficient_decay(params):
    """Exact-ratio recursion for ``|c_m|`` at ``dps`` digits; margin = worst of the three
    ``observed / allowed`` ratios (asymptotic constant, slope, tail constant).

    ``K_scale`` multiplies the claimed constant ``K`` and ``exponent`` replaces ``5/4`` (the
    slope tolerance and the ``m^{exponent}`` normalisation both use it).
    """
    ctx = _ctx(params["dps"])
    max_m = int(params["max_m"])
    expo = params["exponent"]
    K = _decay_constant(ctx) * ctx.mpf(params["K_scale"])
    absc = _even_coefficients_abs(ctx, max(max_m, max(params["tails"])))
    ms = [m for m in range(100, max_m + 1, 2)]
    const_ratio = max(abs(absc[m] * ctx.mpf(m) ** ctx.mpf(expo) / K - 1) * m for m in ms)
    logm = np.array([float(ctx.log(m)) for m in ms])
    logc = np.array([float(ctx.log(absc[m])) for m in ms])
    slope = float(np.polyfit(logm, logc, 1)[0])
    slope_ratio = abs(slope + expo) / 0.005
    # tails from Parseval: 1/2 - c_0^2 - c_1^2 - sum_{even 2..D} c_m^2
    tail_ratio, tails = 0.0, {}
    partial = 1 / (2 * ctx.pi) + ctx.mpf(1) / 4
    D_sorted = sorted(params["tails"])
    m = 2
    for D in D_sorted:
        while m <= D:
            partial += absc[m] ** 2
            m += 2
        tail = ctx.mpf(1) / 2 - partial
        scaled = tail * ctx.mpf(D) ** (2 * expo - 1) / (K**2 / (4 * expo - 2))
        tails[D] = float(tail)
        tail_ratio = max(tail_ratio, float(abs(scaled - 1) * D / 2))
    worst = max(float(const_ratio), slope_ratio, tail_ratio)
    return ratio_evidence(
        worst,
        len(ms) + len(D_sorted),
        precision=f"mpmath dps={params['dps']}",
        details={
            "constant_ratio": float(const_ratio),
            "slope": slope,
            "slope_ratio": slope_ratio,
            "tail_ratio": tail_ratio,
            "tails": tails,
            "K": float(K),
        },
    )


# --------------------------------------------------------------------------- claim 3
@claim(
    "hermite.parseval",
    source=f"{SRC_DK} Lemma 5 / §4 (final error budget); digest 1.3",
    statement=(
        "sum_m c_m^2 = E[relu(G)^2] = 1/2: the deficit 1/2 - sum_{m <= M} c_m^2 is positive and at "
        "most r_M^2 K^2/(3 M^(3/2)), K = (2/pi)^(1/4)/sqrt(2 pi), r_M = |c_M| M^(5/4)/K (M even), with "
        "E[relu(G)^2] computed by quadrature."
    ),
    kind="high-precision numeric",
    tiers={
        "quick": {"M": 20000, "dps": 30, "target_shift": 0.0},
        "full": {"M": 200000, "dps": 30, "target_shift": 0.0},
    },
    mutations={"target_plus_1e-6": {"target_shift": 1e-6}, "target_minus_1e-6": {"target_shift": -1e-6}},
)
def check_parseval(params):
    """Partial sums of the exact-ratio recursion against ``int_0^oo x^2 phi(x) dx`` (quadrature).

    Pass iff ``0 < deficit <= r_M^2 K^2/(3 M^{3/2})``; the bound holds because
    ``r_m = |c_m| m^{5/4} / K`` decreases to 1 (checked on ``[2, M]``; ``r_m ~ 1 + 7/(8m)``),
    so ``c_m^2 <= r_M^2 K^2 m^{-5/2}`` for ``m > M``, and ``sum_{even m > M} m^{-5/2} <= M^{-3/2}/3``.  Margin = ``deficit / bound`` (or ``inf``
    when the deficit is not positive).  ``target_shift`` perturbs the claimed value ``1/2``.
    """
    ctx = _ctx(params["dps"] + 10)
    M = int(params["M"])
    target = ctx.quad(lambda x: x * x * ctx.exp(-x * x / 2), [0, 4, 8, ctx.inf]) / ctx.sqrt(2 * ctx.pi)
    target += ctx.mpf(params["target_shift"])
    K = _decay_constant(ctx)
    absc = _even_coefficients_abs(ctx, M)
    ratios = [absc[m] * ctx.mpf(m) ** ctx.mpf(1.25) / K for m in sorted(absc)]
    decreasing = all(b < a for a, b in zip(ratios, ratios[1:])) and ratios[-1] > 1
    partial = 1 / (2 * ctx.pi) + ctx.mpf(1) / 4 + ctx.fsum(v**2 for v in absc.values())
    deficit = target - partial
    r_M = ratios[-1]
    bound = r_M**2 * K**2 / (3 * ctx.mpf(M) ** ctx.mpf(1.5))
    margin = float(deficit / bound) if deficit > 0 and decreasing else math.inf
    return ratio_evidence(
        margin,
        M + 1,
        precision=f"mpmath dps={params['dps'] + 10}",
        details={
            "E_relu_sq": ctx.nstr(target, 20),
            "partial_sum": ctx.nstr(partial, 20),
            "deficit": float(deficit),
            "bound": float(bound),
            "r_M": ctx.nstr(r_M, 15),
            "r_m_decreasing_above_1": bool(decreasing),
        },
    )


# --------------------------------------------------------------------------- claim 5
def _double_factorial(n):
    out = 1
    for j in range(n, 0, -2):
        out *= j
    return out


@claim(
    "hermite.unnormalized_coefficients",
    source=f"{SRC_CDGKM} Lemma 23 (citing Goel et al. 2020, Lemma A.2)",
    statement=(
        "relu = sum_k a_k He_k with a_0 = 1/sqrt(2 pi), a_1 = 1/2, a_{2k+1} = 0 and "
        "a_{2k} = (-1)^(k+1) (2k-3)!!/(sqrt(2 pi) (2k)!) for k >= 1; equivalently a_m sqrt(m!) = c_m."
    ),
    kind="exact-symbolic",
    tiers={"quick": {"max_m": 20, "sign_offset": 1}, "full": {"max_m": 40, "sign_offset": 1}},
    mutations={"sign_(-1)^k": {"sign_offset": 0}},
)
def check_unnormalized(params):
    """``a_m sqrt(m!)`` in exact sympy arithmetic against the library's exact derivation
    :func:`verified_relu.hermite.symbolic.relu_coefficient` (term-wise Gaussian integration).

    ``sign_offset`` is the ``+1`` in the sign ``(-1)^{k+1}``.  Margin: the largest absolute
    discrepancy (0.0 when every degree matches exactly).
    """
    import sympy as sp

    from verified_relu.hermite.symbolic import relu_coefficient

    worst, bad = 0.0, []
    for m in range(int(params["max_m"]) + 1):
        if m == 0:
            a = 1 / sp.sqrt(2 * sp.pi)
        elif m == 1:
            a = sp.Rational(1, 2)
        elif m % 2:
            a = sp.Integer(0)
        else:
            k = m // 2
            a = (
                sp.Integer(-1) ** (k + params["sign_offset"])
                * _double_factorial(2 * k - 3)
                / (sp.sqrt(2 * sp.pi) * sp.factorial(2 * k))
            )
        diff = sp.simplify(a * sp.sqrt(sp.factorial(m)) - relu_coefficient(m))
        if diff != 0:
            bad.append(m)
            worst = max(worst, abs(float(diff)))
    return Evidence(
        not bad,
        worst,
        "exact",
        int(params["max_m"]) + 1,
        precision="exact (sympy)",
        details={"mismatched_degrees": bad},
    )


# --------------------------------------------------------------------------- claim 6
@claim(
    "hermite.moment_constant",
    source=f"{SRC_CDGKM} Lemma 7 = {SRC_CN} Lemma 4",
    statement=(
        "The moment-estimation constant C_l = (He_l(0) + l He_{l-2}(0))/sqrt(2 pi l!) (even l >= 2) "
        "equals He_{l-2}(0)/sqrt(2 pi l!) = c_l, because He_l(0) = -(l-1) He_{l-2}(0); and C_1 = 1/2 = c_1."
    ),
    kind="exact-symbolic",
    tiers={"quick": {"max_l": 30, "factor_offset": 0}, "full": {"max_l": 64, "factor_offset": 0}},
    mutations={"l_replaced_by_l-1": {"factor_offset": -1}},
)
def check_moment_constant(params):
    """Exact integers for ``He_l(0)`` (from the three-term recurrence, not the closed form) and
    sympy for ``c_l`` (the library's term-wise derivation).  ``factor_offset`` perturbs the
    factor ``l`` in front of ``He_{l-2}(0)``.  Margin: largest absolute discrepancy.
    """
    import sympy as sp

    from verified_relu.hermite.symbolic import relu_coefficient

    bad, worst, n = [], 0.0, 0
    for l in range(2, int(params["max_l"]) + 1, 2):
        he_l, he_lm2 = _he_poly_int(l)[0], _he_poly_int(l - 2)[0]
        if he_l != -(l - 1) * he_lm2:
            bad.append(("recurrence", l))
        C = sp.Integer(he_l + (l + params["factor_offset"]) * he_lm2) / sp.sqrt(2 * sp.pi * sp.factorial(l))
        diff = sp.simplify(C - relu_coefficient(l))
        n += 1
        if diff != 0:
            bad.append(l)
            worst = max(worst, abs(float(diff)))
    if relu_coefficient(1) != sp.Rational(1, 2):
        bad.append(1)
    return Evidence(not bad, worst, "exact", n + 1, precision="exact (integers, sympy)", details={"mismatched": bad})


# --------------------------------------------------------------------------- claim 7
def _sym_outer(U, coeffs, l):
    """``sum_i coeffs_i u_i^{(x)l}`` by explicit outer products."""
    d = U.shape[1]
    T = np.zeros((d,) * l)
    for a, u in zip(coeffs, U):
        out = np.array(a)
        for _ in range(l):
            out = np.multiply.outer(out, u)
        T += out
    return T


@claim(
    "hermite.moment_identity",
    source=f"{SRC_CDGKM} App. B.1 (and Lemma 7); {SRC_DK} Cor. 7",
    statement=(
        "For f(x) = <w,x> + sum_i lambda_i |<u_i,x>| with unit u_i and x ~ N(0, I_d): E[f x] = w, "
        "E[f S_2] = 2 c_2 sum_i lambda_i u_i u_i^T (2 c_2 = 1/sqrt(pi)), E[f S_3] = 0, and "
        "E[f S_4] = 2 c_4 sum_i lambda_i u_i^(x)4.  Checked by Monte Carlo at d = 5, k = 3: every "
        "entry of every estimate lies within 5 standard errors of the identity's value."
    ),
    kind="statistical",
    tiers={
        "quick": {"d": 5, "k": 3, "n": 1_000_000, "seed": 7, "scale2": 1.0, "scale4": 1.0},
        "full": {"d": 5, "k": 3, "n": 4_000_000, "seed": 8, "scale2": 1.0, "scale4": 1.0},
    },
    mutations={"2c2_replaced_by_c2": {"scale2": 0.5}, "2c4_replaced_by_c4": {"scale4": 0.5}},
)
def check_moment_identity(params):
    """Estimates ``(1/n) sum_a f(x_a) S_l(x_a)`` with entrywise standard errors
    (:func:`verified_relu.moments.hermite_moment`); expected values from the closed form
    ``2 c_l`` (``c_2 = 1/(2 sqrt pi)``, ``c_4 = -1/(4 sqrt(3 pi))``, written out here) times
    outer products.  Margin = ``max |z| / 5`` over all ``d + d^2 + d^3 + d^4`` entries.

    Confidence: a 5-sigma two-sided per-entry criterion has false-alarm probability about
    5.7e-7 per entry (Gaussian approximation), so below 5e-4 over the 780 entries (union bound).
    ``scale2`` / ``scale4`` multiply the claimed ``2 c_2`` / ``2 c_4``.  The details also record
    the Frobenius error at ``n/4`` and ``n`` (it should shrink like ``n^{-1/2}``, i.e. halve).
    """
    from verified_relu.moments import hermite_moment

    d, k, n, seed = int(params["d"]), int(params["k"]), int(params["n"]), int(params["seed"])
    gen = np.random.default_rng(seed)
    U = gen.standard_normal((k, d))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    lam = gen.uniform(-1, 1, k)
    w = gen.standard_normal(d) / 2
    X = gen.standard_normal((n, d))
    y = X @ w + np.abs(X @ U.T) @ lam
    two_c = {
        1: None,
        2: 1 / math.sqrt(math.pi) * params["scale2"],
        3: 0.0,
        4: 2 * (-1 / (4 * math.sqrt(3 * math.pi))) * params["scale4"],
    }
    worst_z, per_l, frob = 0.0, {}, {}
    for l in (1, 2, 3, 4):
        expected = w if l == 1 else two_c[l] * _sym_outer(U, lam, l)
        est, se = hermite_moment(X, y, l, return_se=True)
        z = float(np.max(np.abs(est - expected) / se))
        per_l[l] = z
        worst_z = max(worst_z, z)
        quarter = hermite_moment(X[: n // 4], y[: n // 4], l)
        frob[l] = {"n/4": float(np.linalg.norm(quarter - expected)), "n": float(np.linalg.norm(est - expected))}
    return ratio_evidence(
        worst_z / Z_SIGMA,
        n,
        seeds=[seed],
        precision="float64 Monte Carlo, 5-sigma per entry",
        details={
            "max_z_by_order": per_l,
            "frobenius_error": frob,
            "entries": d + d**2 + d**3 + d**4,
            "confidence": "family-wise false alarm < 5e-4 (Gaussian approx., union bound)",
        },
    )


# --------------------------------------------------------------------------- claim 8
def _rational_unit(gen, d):
    """An exactly unit vector with rational entries (inverse stereographic projection)."""
    p = [Fraction(int(v), 97) for v in gen.integers(-120, 121, d - 1)]
    s = sum(q * q for q in p)
    return [2 * q / (1 + s) for q in p] + [(1 - s) / (1 + s)]


def _relu_f(z):
    return z if z > 0 else Fraction(0)


@claim(
    "hermite.even_odd_decomposition",
    source=f"{SRC_CDGKM} Lemma 2 = {SRC_CN} Lemma 2",
    statement=(
        "relu(z) = (z + |z|)/2, hence sum_i mu_i relu(<u_i,x>) = <w,x> + sum_i lambda_i |<u_i,x>| with "
        "w = sum_i mu_i u_i/2 and lambda_i = mu_i/2 for every x, and ||w|| <= ||lambda||_1 for unit u_i."
    ),
    kind="exact-symbolic",
    tiers={
        "quick": {"d": 4, "k": 4, "networks": 20, "points": 20, "seed": 11, "half": Fraction(1, 2)},
        "full": {"d": 6, "k": 8, "networks": 100, "points": 50, "seed": 12, "half": Fraction(1, 2)},
    },
    mutations={"half_replaced_by_1": {"half": Fraction(1)}},
)
def check_even_odd(params):
    """Exact rationals: random rational unit rows (stereographic), rational ``mu`` and ``x``.
    Also compares :meth:`verified_relu.ReLUNetwork.canonical` with the exact ``(w, lambda)``
    (float64; relative discrepancy must be <= 1e-14).  ``half`` replaces the constant 1/2.
    Margin: the largest absolute discrepancy of the pointwise identity (0.0 when exact).
    """
    from verified_relu.network import ReLUNetwork

    gen = np.random.default_rng(int(params["seed"]))
    d, k, half = int(params["d"]), int(params["k"]), Fraction(params["half"])
    worst, norm_ok, lib_worst = Fraction(0), True, 0.0
    for _ in range(int(params["networks"])):
        U = [_rational_unit(gen, d) for _ in range(k)]
        mu = [Fraction(int(v), 7) for v in gen.integers(-20, 21, k)]
        w = [half * sum(mu[i] * U[i][j] for i in range(k)) for j in range(d)]
        lam = [half * m for m in mu]
        for _ in range(int(params["points"])):
            x = [Fraction(int(v), 13) for v in gen.integers(-40, 41, d)]
            dots = [sum(a * b for a, b in zip(u, x)) for u in U]
            lhs = sum(m * _relu_f(t) for m, t in zip(mu, dots))
            rhs = sum(a * b for a, b in zip(w, x)) + sum(l_ * abs(t) for l_, t in zip(lam, dots))
            worst = max(worst, abs(lhs - rhs))
        l1 = sum(abs(v) for v in lam)
        norm_ok &= sum(v * v for v in w) <= l1 * l1
        can = ReLUNetwork(np.array(U, dtype=float), np.array(mu, dtype=float)).canonical()
        scale = max(1.0, float(l1))
        lib_worst = max(
            lib_worst,
            float(np.max(np.abs(can.linear - np.array(w, dtype=float)))) / scale,
            float(np.max(np.abs(can.coefficients - np.array(lam, dtype=float)))) / scale,
        )
    ok = worst == 0 and norm_ok and lib_worst <= 1e-14
    return Evidence(
        ok,
        float(worst),
        "exact",
        int(params["networks"]) * int(params["points"]),
        seeds=[int(params["seed"])],
        precision="exact (fractions)",
        details={"norm_bound_holds": bool(norm_ok), "library_canonical_rel_err": lib_worst},
    )


# --------------------------------------------------------------------------- claim 9
def _contract_exact(T, g, times):
    """Contract the first ``times`` modes of a nested-dict tensor (index tuple -> Fraction)."""
    for _ in range(times):
        out = {}
        for idx, v in T.items():
            out[idx[1:]] = out.get(idx[1:], Fraction(0)) + g[idx[0]] * v
        T = out
    return T


@claim(
    "hermite.contraction_identity",
    source=f"{SRC_CDGKM} §2.1; {SRC_CN} Eq. (5)",
    statement=(
        "For T_l = sum_i lambda_i u_i^(x)l and any g: T_l(g, ..., g, :, :) (first l-2 modes contracted) "
        "= sum_i lambda_i <u_i,g>^(l-2) u_i u_i^T; and the library's population contraction "
        "ReLUNetwork.moment_contraction(l, g) equals c_l times it."
    ),
    kind="exact-symbolic",
    tiers={
        "quick": {"d": 3, "k": 3, "ls": [2, 3, 4, 5], "trials": 3, "seed": 21, "power_offset": 0},
        "full": {"d": 4, "k": 4, "ls": [2, 3, 4, 5, 6, 7], "trials": 10, "seed": 22, "power_offset": 0},
    },
    mutations={"power_l-1": {"power_offset": 1}},
)
def check_contraction_identity(params):
    """Exact rationals: the full tensor is built entry by entry and contracted mode by mode;
    the closed form uses ``<u_i, g>^{l - 2 + power_offset}``.  The library comparison is in
    float64 (relative discrepancy <= 1e-12, reported in details).  Margin: the largest exact
    discrepancy.
    """
    from verified_relu.hermite.numeric import relu_coefficients
    from verified_relu.network import ReLUNetwork

    gen = np.random.default_rng(int(params["seed"]))
    d, k = int(params["d"]), int(params["k"])
    worst, lib_worst, n = Fraction(0), 0.0, 0
    for _ in range(int(params["trials"])):
        U = [_rational_unit(gen, d) for _ in range(k)]
        lam = [Fraction(int(v), 5) for v in gen.integers(-10, 11, k)]
        g = _rational_unit(gen, d)
        for l in params["ls"]:
            T = {}
            for idx in itertools.product(range(d), repeat=l):
                v = Fraction(0)
                for a, u in zip(lam, U):
                    p = a
                    for i in idx:
                        p *= u[i]
                    v += p
                T[idx] = v
            M = _contract_exact(T, g, l - 2)
            for i, j in itertools.product(range(d), repeat=2):
                closed = sum(
                    a * sum(x * y for x, y in zip(u, g)) ** (l - 2 + params["power_offset"]) * u[i] * u[j]
                    for a, u in zip(lam, U)
                )
                worst = max(worst, abs(M[(i, j)] - closed))
            net = ReLUNetwork(np.array(U, dtype=float), np.array(lam, dtype=float))
            lib = (
                net.moment_contraction(l, np.array(g, dtype=float)) / relu_coefficients(l)[l]
                if relu_coefficients(l)[l] != 0
                else None
            )
            if lib is not None:
                exact = np.array([[float(M[(i, j)]) for j in range(d)] for i in range(d)])
                lib_worst = max(
                    lib_worst, float(np.max(np.abs(lib - exact))) / max(1.0, float(sum(abs(a) for a in lam)))
                )
            n += 1
    ok = worst == 0 and lib_worst <= 1e-12
    return Evidence(
        ok,
        float(worst),
        "exact",
        n,
        seeds=[int(params["seed"])],
        precision="exact (fractions)",
        details={"library_rel_err": lib_worst},
    )


@claim(
    "hermite.contraction_lipschitz",
    source=f"{SRC_CDGKM} Lemma 24",
    statement=(
        "For unit g: ||M^g_l(lambda,u) - M^g_l(lambda',u')||_op <= ||T_l(lambda,u) - T_l(lambda',u')||_F, "
        "on random perturbations and on near-extremal ones (a single perturbed neuron nearly aligned with g)."
    ),
    kind="property-based search",
    tiers={
        "quick": {"d": 8, "k": 4, "ls": [3, 4, 6], "trials": 300, "seed": 31, "g_scale": 1.0},
        "full": {"d": 20, "k": 6, "ls": [3, 4, 5, 6, 8], "trials": 3000, "seed": 32, "g_scale": 1.0},
    },
    mutations={"g_norm_1.05": {"g_scale": 1.05}},
)
def check_contraction_lipschitz(params):
    """``||Delta T||_F^2 = sum_ij a_i a_j <v_i, v_j>^l`` over the difference's rank-one terms
    (no tensor is formed); ``Delta M`` by its closed form and ``eigvalsh``.  Margin: worst
    ``||Delta M||_op / ||Delta T||_F``.  ``g_scale`` scales ``g`` off the unit sphere (the
    mutation: the lemma needs ``||g|| = 1``).  Orders ``l >= 3`` (at ``l = 2`` the lemma is
    ``||Delta T||_op <= ||Delta T||_F``, with equality for rank one).  A third of the trials put ``g`` within 1e-3 of
    the perturbed direction with the perturbation in ``lambda`` only, where the ratio is ~1.
    """
    gen = np.random.default_rng(int(params["seed"]))
    d, k = int(params["d"]), int(params["k"])
    worst, worst_case = 0.0, None
    n = 0
    for t in range(int(params["trials"])):
        U = gen.standard_normal((k, d))
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        lam = gen.uniform(-1, 1, k)
        aligned = t % 3 == 0
        if aligned:
            U2, lam2 = U.copy(), lam.copy()
            lam2[0] += gen.uniform(0.1, 1)
            g = U[0] + 1e-3 * gen.standard_normal(d) / math.sqrt(d)
        else:
            U2 = U + 10 ** gen.uniform(-4, 0) * gen.standard_normal((k, d))
            U2 /= np.linalg.norm(U2, axis=1, keepdims=True)
            lam2 = lam + 10 ** gen.uniform(-4, 0) * gen.standard_normal(k)
            g = gen.standard_normal(d)
        g = g / np.linalg.norm(g) * params["g_scale"]
        V = np.vstack([U, U2])
        a = np.concatenate([lam, -lam2])
        G = V @ V.T
        for l in params["ls"]:
            if aligned and l == 2:
                continue  # at l = 2 nothing is contracted: the rank-one case is an equality
            tf2 = float(a @ (G**l) @ a)
            dM = (V.T * (a * (V @ g) ** (l - 2))) @ V
            op = float(np.max(np.abs(np.linalg.eigvalsh((dM + dM.T) / 2))))
            if tf2 <= 0:
                continue
            r = op / math.sqrt(tf2)
            n += 1
            if r > worst:
                worst, worst_case = r, {"trial": t, "l": l, "aligned": aligned}
    return ratio_evidence(
        worst, n, seeds=[int(params["seed"])], precision="float64", details={"worst_case": worst_case}
    )


# --------------------------------------------------------------------------- claim 10
def _pair_at_angle(gen, d, theta):
    E = np.linalg.qr(gen.standard_normal((d, 2)))[0]
    return E[:, 0], math.cos(theta) * E[:, 0] + math.sin(theta) * E[:, 1]


@claim(
    "hermite.arccos_kernels",
    source="arc-cosine kernels behind CDGKM23 Lemma 21 and CN24 Prop. 3 (digest 1.4)",
    statement=(
        "For unit u, v at angle theta: E[relu<u,x> relu<v,x>] = (sin theta + (pi - theta) cos theta)/(2 pi) and "
        "E[|<u,x>| |<v,x>|] = (2/pi)(sqrt(1 - rho^2) + rho arcsin rho), rho = cos theta; the library's "
        "symbolic kernels agree exactly; Monte Carlo at theta in {0.3, 1, 2, 3} lies within 5 standard errors."
    ),
    kind="statistical",
    tiers={
        "quick": {"d": 3, "n": 1_000_000, "thetas": [0.3, 1.0, 2.0, 3.0], "seed": 41, "scale": 1.0},
        "full": {"d": 3, "n": 10_000_000, "thetas": [0.1, 0.3, 1.0, 2.0, 3.0], "seed": 42, "scale": 1.0},
    },
    mutations={"kernels_times_1.05": {"scale": 1.05}},
)
def check_arccos_kernels(params):
    """Sympy: the library kernels (:func:`verified_relu.hermite.symbolic.relu_kernel`,
    ``abs_kernel``) at unit norms minus the formulas simplify to 0 (exact part).  Monte Carlo:
    margin = ``max |z| / 5`` over ``2 x len(thetas)`` estimates; false-alarm probability about
    5.7e-7 each (Gaussian approximation).  ``scale`` multiplies both claimed kernels.
    """
    import sympy as sp

    from verified_relu.hermite import symbolic

    th = sp.Symbol("theta", real=True)
    nu, nv = sp.symbols("nu nv", nonnegative=True)
    rho = sp.cos(th)
    relu_formula = (sp.sin(th) + (sp.pi - th) * sp.cos(th)) / (2 * sp.pi)
    abs_formula = 2 / sp.pi * (sp.sqrt(1 - rho**2) + rho * sp.asin(rho))
    exact_ok = True
    for lib, formula in ((symbolic.relu_kernel(), relu_formula), (symbolic.abs_kernel(), abs_formula)):
        lib1 = lib.subs({nu: 1, nv: 1})
        for tv in (sp.Rational(3, 10), 1, 2, 3, sp.pi / 5):  # theta in [0, pi], where asin(cos t) = pi/2 - t
            if abs(sp.N(lib1.subs(th, tv) - formula.subs(th, tv), 60)) > sp.Float(10) ** -50:
                exact_ok = False
    gen = np.random.default_rng(int(params["seed"]))
    worst, zs = 0.0, {}
    for theta in params["thetas"]:
        u, v = _pair_at_angle(gen, int(params["d"]), theta)
        X = gen.standard_normal((int(params["n"]), int(params["d"])))
        a, b = X @ u, X @ v
        rho_ = math.cos(theta)
        claims = {
            "relu": (math.sin(theta) + (math.pi - theta) * rho_) / (2 * math.pi),
            "abs": 2 / math.pi * (math.sqrt(1 - rho_**2) + rho_ * math.asin(rho_)),
        }
        samples = {"relu": np.maximum(a, 0) * np.maximum(b, 0), "abs": np.abs(a) * np.abs(b)}
        for name, s in samples.items():
            z = abs(s.mean() - params["scale"] * claims[name]) / (s.std(ddof=1) / math.sqrt(len(s)))
            zs[f"{name}@{theta}"] = float(z)
            worst = max(worst, float(z))
    margin = worst / Z_SIGMA if exact_ok else math.inf
    return ratio_evidence(
        margin,
        2 * len(params["thetas"]) * int(params["n"]),
        seeds=[int(params["seed"])],
        precision="sympy (60 digits) + float64 Monte Carlo, 5-sigma",
        details={
            "z": zs,
            "symbolic_agrees": exact_ok,
            "confidence": "per-estimate false alarm ~5.7e-7 (Gaussian approx.)",
        },
    )


# --------------------------------------------------------------------------- claim 11
def _relu_ratio(ctx, th):
    return (1 - (ctx.sin(th) + (ctx.pi - th) * ctx.cos(th)) / ctx.pi) / (2 - 2 * ctx.cos(th))


def _abs_ratio(ctx, th):
    rho = ctx.cos(th)
    return (2 - 2 * (2 / ctx.pi) * (ctx.sqrt(1 - rho**2) + rho * ctx.asin(rho))) / (2 - 2 * ctx.cos(th))


def _theta_grid(ctx, n):
    small = [ctx.mpf(10) ** (-e) for e in range(12, 0, -1)]
    return small + [ctx.pi * j / n for j in range(1, n + 1)]


@claim(
    "hermite.lipschitz_relu",
    source=f"{SRC_CDGKM} Lemma 21 (= Chen-Klivans-Meka 2021, Lemma 3.3)",
    statement=(
        "For unit u, u': E[(relu<u,x> - relu<u',x>)^2] <= (5/6) ||u - u'||^2.  The exact ratio "
        "[1 - (sin t + (pi - t) cos t)/pi]/(2 - 2 cos t) has supremum 1/2 (approached as t -> 0), so the "
        "constant 5/6 is valid but loose (erratum 8)."
    ),
    kind="high-precision numeric",
    tiers={
        "quick": {"grid": 2000, "dps": 40, "constant": Fraction(5, 6)},
        "full": {"grid": 200000, "dps": 40, "constant": Fraction(5, 6)},
    },
    mutations={"constant_0.4": {"constant": Fraction(2, 5)}},
)
def check_lipschitz_relu(params):
    """The kernel-based ratio on a grid of angles (log-spaced down to 1e-12, then uniform on
    ``(0, pi]``) at mpmath ``dps``; cross-checked against the library's exact
    :meth:`verified_relu.ReLUNetwork.squared_distance` (``dps``) at 5 angles.  Margin: sup
    ratio / constant.  The details record the sup (it must be <= 1/2 and within 1e-11 of it).
    """
    from verified_relu.network import ReLUNetwork

    ctx = _ctx(params["dps"])
    grid = _theta_grid(ctx, int(params["grid"]))
    sup = max(_relu_ratio(ctx, t) for t in grid)
    lib_err = 0.0
    for t in (0.1, 0.5, 1.0, 2.0, 3.0):
        u, v = np.array([1.0, 0.0]), np.array([math.cos(t), math.sin(t)])
        net = ReLUNetwork(np.vstack([u, v]), np.array([1.0, -1.0]))
        val = ctx.mpf(net.norm_squared(dps=30))
        tm = ctx.mpf(t)
        ref = _relu_ratio(ctx, tm) * (2 - 2 * ctx.cos(tm))
        lib_err = max(lib_err, float(abs(val - ref)))
    half_ok = sup <= ctx.mpf(1) / 2 and ctx.mpf(1) / 2 - sup < ctx.mpf(10) ** -11 and lib_err < 1e-15
    margin = float(sup / ctx.mpf(params["constant"].numerator) * params["constant"].denominator)
    return Evidence(
        bool(margin <= 1 and half_ok),
        margin,
        "ratio",
        len(grid),
        precision=f"mpmath dps={params['dps']}",
        details={"sup_ratio": ctx.nstr(sup, 20), "sup_is_half": bool(half_ok), "library_abs_err": lib_err},
    )


@claim(
    "hermite.lipschitz_abs",
    source=f"{SRC_CN} Prop. 3",
    statement=(
        "For unit u, u': E[(|<u,x>| - |<u',x>|)^2] <= C ||u - u'||^2 with C = 1, which is optimal: the exact "
        "ratio has supremum 1, approached as the angle tends to 0."
    ),
    kind="high-precision numeric",
    tiers={"quick": {"grid": 2000, "dps": 40, "constant": 1}, "full": {"grid": 200000, "dps": 40, "constant": 1}},
    mutations={"constant_0.99": {"constant": Fraction(99, 100)}},
)
def check_lipschitz_abs(params):
    """The arc-cosine ratio on the same grid as ``hermite.lipschitz_relu``; also requires the
    sup to be within 1e-10 of 1 (optimality).  Margin: sup ratio / constant."""
    ctx = _ctx(params["dps"])
    grid = _theta_grid(ctx, int(params["grid"]))
    sup = max(_abs_ratio(ctx, t) for t in grid)
    const = Fraction(params["constant"])
    margin = float(sup * const.denominator / const.numerator)
    tight = 1 - sup < ctx.mpf(10) ** -10
    return Evidence(
        bool(margin <= 1 and tight),
        margin,
        "ratio",
        len(grid),
        precision=f"mpmath dps={params['dps']}",
        details={"sup_ratio": ctx.nstr(sup, 20), "sup_within_1e-10_of_1": bool(tight)},
    )


@claim(
    "hermite.lipschitz_network",
    source=f"{SRC_CDGKM} Lemma 22",
    statement=(
        "For f_{lambda,u} = sum_i lambda_i |<u_i,x>| with unit u_i and ||lambda||_1, ||lambda'||_1 <= R: "
        "||f_{lambda,u} - f_{lambda',u'}||_2 <= k sqrt(1 + 2 R^2) d_param, with d_param the min over "
        "permutations pi of max_i (|lambda_i - lambda'_pi(i)| + ||u_i - u'_pi(i)||)."
    ),
    kind="property-based search",
    tiers={
        "quick": {"d": 6, "k": 4, "trials": 300, "seed": 51, "factor": None},
        "full": {"d": 12, "k": 5, "trials": 3000, "seed": 52, "factor": None},
    },
    mutations={"factor_0.3": {"factor": 0.3}},
)
def check_lipschitz_network(params):
    """Exact L2 distances (:meth:`verified_relu.network.CanonicalNetwork.squared_distance`,
    closed-form arc-cosine kernels), ``d_param`` by brute force over permutations.  Random and
    single-neuron perturbations (the near-extremal case) with ``R = ||lambda||_1`` in [0.5, 4].
    ``factor`` replaces ``k sqrt(1 + 2 R^2)`` (the mutation).  Margin: worst observed/bound.
    """
    from verified_relu.network import CanonicalNetwork

    gen = np.random.default_rng(int(params["seed"]))
    d, k = int(params["d"]), int(params["k"])
    perms = list(itertools.permutations(range(k)))
    worst, n = 0.0, 0
    for t in range(int(params["trials"])):
        U = gen.standard_normal((k, d))
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        lam = gen.uniform(-1, 1, k)
        lam *= gen.uniform(0.5, 4) / np.abs(lam).sum()
        scale = 10 ** gen.uniform(-4, -0.5)
        if t % 2:
            U2, lam2 = U.copy(), lam.copy()
            U2[0] = U[0] + scale * gen.standard_normal(d)
        else:
            U2 = U + scale * gen.standard_normal((k, d))
            lam2 = lam + scale * gen.standard_normal(k)
        U2 /= np.linalg.norm(U2, axis=1, keepdims=True)
        R = max(np.abs(lam).sum(), np.abs(lam2).sum())
        dist = math.sqrt(
            CanonicalNetwork(np.zeros(d), lam, U).squared_distance(CanonicalNetwork(np.zeros(d), lam2, U2))
        )
        dparam = min(max(abs(lam[i] - lam2[p[i]]) + np.linalg.norm(U[i] - U2[p[i]]) for i in range(k)) for p in perms)
        factor = k * math.sqrt(1 + 2 * R * R) if params["factor"] is None else params["factor"]
        worst = max(worst, dist / (factor * dparam))
        n += 1
    return ratio_evidence(worst, n, seeds=[int(params["seed"])], precision="float64 closed form")
