"""Claims: errata -- statements printed in CDGKM23, DK24 and DKKZ20 that are wrong as printed.

Each check evaluates both the PRINTED form and the CORRECTED form and records both in the
evidence details.  With ``params["form"] == "corrected"`` (both tiers) it passes only when
the printed form fails AND the corrected form holds; the declared mutation sets
``form = "printed"``, i.e. asserts the printed statement as the claim, and the check then
fails.  The margin is that of the asserted form.

Not checked here: bibliographic discrepancies (the DK24 PDF header's volume number, the
differing CN24 abstract versions), which are not mathematical statements.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np

from .registry import Evidence, claim

FORMS = ("corrected", "printed")
_PRINTED = {"printed_form_asserted": {"form": "printed"}}


def _ctx(dps):
    ctx = mpmath.MPContext()
    ctx.dps = int(dps)
    return ctx


def _form(params):
    form = params.get("form", "corrected")
    if form not in FORMS:
        raise ValueError(f"params['form'] must be one of {FORMS}, got {form!r}")
    return form


def _verdict(params, *, printed_ok, corrected_ok, printed_margin, corrected_margin, margin_kind, instances, **kw):
    """Evidence for an erratum: see the module docstring."""
    form = _form(params)
    details = dict(kw.pop("details", {}))
    details.update(
        {
            "asserted_form": form,
            "printed_holds": bool(printed_ok),
            "corrected_holds": bool(corrected_ok),
            "printed_margin": float(printed_margin),
            "corrected_margin": float(corrected_margin),
        }
    )
    if form == "printed":
        return Evidence(bool(printed_ok), float(printed_margin), margin_kind, instances, details=details, **kw)
    return Evidence(
        bool(corrected_ok and not printed_ok), float(corrected_margin), margin_kind, instances, details=details, **kw
    )


# --------------------------------------------------------------------------- item 1
@claim(
    "errata.lemma27_tightness",
    source="CDGKM23 App. B.11 (tightness example for Lemma 27)",
    statement=(
        "With q_j = (-1)^j C(k-1, j) and v_j^2 = 1 - j gamma (j = 0..k-1): PRINTED <v^(l), q> = 0 for all even "
        "l <= 2k-2 and = k! gamma^k at l = k; CORRECTED sum_j q_j (1 - j gamma)^s = 0 for s = 0..k-2 and "
        "= (k-1)! gamma^(k-1) at s = k-1 (l = 2s), so the printed example is off by one."
    ),
    kind="exact-symbolic",
    tiers={
        "quick": {"ks": [3, 4, 5, 6], "gammas": [Fraction(1, 10), Fraction(1, 7)], "form": "corrected"},
        "full": {
            "ks": list(range(2, 13)),
            "gammas": [Fraction(1, 10), Fraction(1, 7), Fraction(2, 9 * 13)],
            "form": "corrected",
        },
    },
    mutations=_PRINTED,
)
def check_lemma27_tightness(params):
    """Exact rationals.  Printed: zero for ``s <= k-1`` and ``k! gamma^k`` at ``s = k/2`` when
    ``k`` is even (the printed ``l = k``).  Corrected: zero for ``s <= k-2`` and
    ``(k-1)! gamma^{k-1}`` at ``s = k-1``.  Margins: the largest absolute discrepancy of each
    form (0 when it holds exactly).
    """
    printed_err, corrected_err, n = Fraction(0), Fraction(0), 0
    for k in params["ks"]:
        q = [(-1) ** j * math.comb(k - 1, j) for j in range(k)]
        for gamma in params["gammas"]:
            x = [1 - j * Fraction(gamma) for j in range(k)]

            def power_sum(s):
                return sum(qj * xj**s for qj, xj in zip(q, x))

            n += 1
            for s in range(k - 1):
                corrected_err = max(corrected_err, abs(power_sum(s)))
            corrected_err = max(
                corrected_err, abs(power_sum(k - 1) - math.factorial(k - 1) * Fraction(gamma) ** (k - 1))
            )
            for s in range(k):
                printed_err = max(printed_err, abs(power_sum(s)))
            if k % 2 == 0:
                printed_err = max(printed_err, abs(power_sum(k // 2) - math.factorial(k) * Fraction(gamma) ** k))
    return _verdict(
        params,
        printed_ok=printed_err == 0,
        corrected_ok=corrected_err == 0,
        printed_margin=float(printed_err),
        corrected_margin=float(corrected_err),
        margin_kind="exact",
        instances=n,
        precision="exact (fractions)",
    )


# --------------------------------------------------------------------------- item 3
@claim(
    "errata.coefficient_decay_exponent",
    source="CDGKM23 App. B.1 (vs DK24 Lemma 5)",
    statement=(
        "PRINTED c_l = Theta(l^(-5/2)); CORRECTED c_l = Theta(l^(-5/4)) (c_l^2 = Theta(l^(-5/2))).  Evidence: over even "
        "l in [100, max_l], |c_l| l^(5/4) stays within a factor 1.01 of its minimum, while |c_l| l^(5/2) grows by more "
        "than a factor 2 (criterion for 'bounded above and below': max/min of |c_l| l^p on the range <= 2)."
    ),
    kind="high-precision numeric",
    tiers={
        "quick": {"max_l": 3200, "dps": 30, "form": "corrected"},
        "full": {"max_l": 100000, "dps": 30, "form": "corrected"},
    },
    mutations=_PRINTED,
)
def check_coefficient_decay_exponent(params):
    """Exact-ratio recursion ``|c_{l+2}| = |c_l| (l-1)/sqrt((l+1)(l+2))`` from ``c_2 = 1/(2 sqrt pi)``,
    cross-checked against the library's exact table at ``l <= 64``.  Margin of each form:
    ``(max/min of |c_l| l^p) / 2``; the corrected form also requires max/min <= 1.01.
    """
    from verified_relu.hermite.numeric import relu_coefficients

    ctx = _ctx(params["dps"])
    max_l = int(params["max_l"])
    c = ctx.mpf(1) / (2 * ctx.sqrt(ctx.pi))
    lib = relu_coefficients(64, dps=params["dps"])
    spreads = {1.25: [None, None], 2.5: [None, None]}
    lib_err = ctx.mpf(0)
    for l in range(2, max_l + 1, 2):
        if l <= 64:
            lib_err = max(lib_err, abs(abs(ctx.mpf(lib[l])) - c))
        if l >= 100:
            for p, mm in spreads.items():
                v = c * ctx.mpf(l) ** ctx.mpf(p)
                mm[0] = v if mm[0] is None else min(mm[0], v)
                mm[1] = v if mm[1] is None else max(mm[1], v)
        c = c * (l - 1) / ctx.sqrt(ctx.mpf((l + 1) * (l + 2)))
    spread = {p: float(mm[1] / mm[0]) for p, mm in spreads.items()}
    lib_ok = lib_err < ctx.mpf(10) ** (-(params["dps"] - 5))
    return _verdict(
        params,
        printed_ok=spread[2.5] <= 2,
        corrected_ok=spread[1.25] <= 1.01 and lib_ok,
        printed_margin=spread[2.5] / 2,
        corrected_margin=spread[1.25] / 2,
        margin_kind="ratio",
        instances=max_l // 2,
        precision=f"mpmath dps={params['dps']}",
        details={"spread_p=5/4": spread[1.25], "spread_p=5/2": spread[2.5], "library_table_agrees": bool(lib_ok)},
    )


# --------------------------------------------------------------------------- item 4
@claim(
    "errata.dk_lemma5_sign",
    source="DK24 Lemma 5",
    statement=(
        "PRINTED c_m = (-1/4)^((m-2)/4) sqrt(C(m-2, (m-2)/2)) / sqrt(2 pi m(m-1)) for even m; CORRECTED "
        "c_m = (-1)^((m-2)/2) 2^(-(m-2)/2) sqrt(C(m-2, (m-2)/2)) / sqrt(2 pi m(m-1)).  The printed power (principal "
        "branch) is complex for m = 0 mod 4 and has the wrong sign for m = 6 mod 8."
    ),
    kind="high-precision numeric",
    tiers={
        "quick": {"max_m": 24, "dps": 40, "form": "corrected"},
        "full": {"max_m": 64, "dps": 60, "form": "corrected"},
    },
    mutations=_PRINTED,
)
def check_dk_lemma5_sign(params):
    """Both forms in mpmath (complex principal power for the printed one) against the
    library's exact ``c_m`` (:func:`verified_relu.hermite.numeric.relu_coefficients`, derived
    symbolically).  Margin of each form: worst ``|form - c_m| / 10^{-(dps-10)}`` (a ratio).
    """
    from verified_relu.hermite.numeric import relu_coefficients

    dps, max_m = int(params["dps"]), int(params["max_m"])
    ctx = _ctx(dps)
    tol = ctx.mpf(10) ** (-(dps - 10))
    exact = relu_coefficients(max_m, dps=dps)
    worst = {"printed": ctx.mpf(0), "corrected": ctx.mpf(0)}
    bad_printed = []
    for m in range(2, max_m + 1, 2):
        mag = ctx.sqrt(ctx.binomial(m - 2, (m - 2) // 2)) / ctx.sqrt(2 * ctx.pi * m * (m - 1))
        printed = ctx.power(ctx.mpc(-0.25), ctx.mpf(m - 2) / 4) * mag
        corrected = (-1) ** ((m - 2) // 2) * ctx.mpf(2) ** (-(m - 2) // 2) * mag
        ref = ctx.mpf(exact[m])
        e_p, e_c = abs(printed - ref) / tol, abs(corrected - ref) / tol
        if e_p > 1:
            bad_printed.append(m)
        worst["printed"] = max(worst["printed"], e_p)
        worst["corrected"] = max(worst["corrected"], e_c)
    wp, wc = float(worst["printed"]), float(worst["corrected"])
    return _verdict(
        params,
        printed_ok=wp <= 1,
        corrected_ok=wc <= 1,
        printed_margin=wp,
        corrected_margin=wc,
        margin_kind="ratio",
        instances=max_m // 2,
        precision=f"mpmath dps={dps}, tolerance 1e-{dps - 10}",
        details={"printed_fails_at_m": bad_printed},
    )


# --------------------------------------------------------------------------- item 5
def _plane_basis(net, k):
    """``e1, e2`` of the DKKZ instance: row ``k-1`` is ``w_k = -e1`` and row ``k/2 - 1`` is ``e2``."""
    W = net.weights
    return -W[k - 1], W[k // 2 - 1]


def _angular_coefficients(ctx, net, k, freqs):
    """``(1/2 pi) int_0^{2 pi} f(cos t e1 + sin t e2) (cos(j t), sin(j t)) dt`` by mpmath quadrature,
    with ``f`` evaluated in mpmath from the network's weights (breakpoints at the kinks)."""
    e1, e2 = _plane_basis(net, k)
    W = [[ctx.mpf(float(v)) for v in row] for row in net.weights]
    mu = [ctx.mpf(float(v)) for v in net.coefficients]
    a = [ctx.mpf(float(v)) for v in net.linear]
    E1 = [ctx.mpf(float(v)) for v in e1]
    E2 = [ctx.mpf(float(v)) for v in e2]

    def f(t):
        x = [ctx.cos(t) * p + ctx.sin(t) * q for p, q in zip(E1, E2)]
        out = ctx.fsum(ai * xi for ai, xi in zip(a, x))
        for wi, mi in zip(W, mu):
            z = ctx.fsum(wj * xj for wj, xj in zip(wi, x))
            out += mi * (z if z > 0 else 0)
        return out

    kinks = sorted({float((ctx.pi * m / k + ctx.pi / 2) % (2 * ctx.pi)) for m in range(1, 2 * k + 1)} | {0.0})
    pts = [ctx.mpf(p) for p in kinks] + [2 * ctx.pi]
    out = {}
    for j in freqs:
        cos_c = ctx.quad(lambda t: f(t) * ctx.cos(j * t), pts) / (2 * ctx.pi)
        sin_c = ctx.quad(lambda t: f(t) * ctx.sin(j * t), pts) / (2 * ctx.pi)
        out[j] = (cos_c, sin_c)
    return out


@claim(
    "errata.dkkz_orthogonality",
    source="DKKZ20 Lemma 18 / Lemma 35 (the CSQ hard instance used by DK24 §4.5)",
    statement=(
        "For the DKKZ20 hard instance f = sum_{m=1}^{k} (-1)^m |<w_m, x>| (even k): PRINTED E[f p] = 0 for every "
        "polynomial p of degree <= k; CORRECTED E[f p] = 0 for degree < k, while the angular Fourier coefficient at "
        "frequency k, i.e. the correlation with Re(x + i y)^k up to E[r^(k+1)], is 2k(-1)^(k/2+1)/(pi (k^2 - 1)) "
        "(0.4244, -0.1698, 0.1091 for k = 2, 4, 6), not 0."
    ),
    kind="high-precision numeric",
    tiers={
        "quick": {"ks": [2, 4, 6], "d": 4, "seed": 61, "dps": 20, "form": "corrected"},
        "full": {"ks": [2, 4, 6, 8, 10], "d": 3, "seed": 62, "dps": 30, "form": "corrected"},
    },
    mutations=_PRINTED,
)
def check_dkkz_orthogonality(params):
    """The instance is :func:`verified_relu.instances.make` ``("dkkz", d, k)``.  A polynomial of
    degree ``< k`` correlates with ``f`` only through angular frequencies ``< k`` in the
    instance's plane, so the corrected form is: all angular coefficients at ``j < k`` vanish
    (quadrature, ``<= 1e-12``: the weights are float64) and the library's population moments
    ``E[f S_l]`` (:meth:`verified_relu.ReLUNetwork.hermite_moment`) for ``l < k`` are at
    rounding level (``<= 1e-14 * sum |mu_i|``); and the frequency-``k`` coefficient matches the
    closed form above to 1e-12.  The printed form additionally needs the frequency-``k``
    coefficient to vanish.  Margins: the largest coefficient that the form says is 0, over 1e-12.
    """
    from verified_relu import instances

    ctx = _ctx(params["dps"])
    gen = np.random.default_rng(int(params["seed"]))
    below, at_k, closed_err, lib_below, found = 0.0, 0.0, 0.0, 0.0, {}
    for k in params["ks"]:
        net = instances.make("dkkz", int(params["d"]), k, gen)
        coeffs = _angular_coefficients(ctx, net, k, range(k + 1))
        below = max([below] + [float(max(abs(c), abs(s))) for j, (c, s) in coeffs.items() if j < k])
        ck = complex(coeffs[k][0], coeffs[k][1])
        at_k = max(at_k, abs(ck))
        closed = 2 * k * (-1) ** (k // 2 + 1) / (math.pi * (k * k - 1))
        closed_err = max(closed_err, abs(ck - closed))
        found[k] = float(coeffs[k][0])
        scale = float(np.abs(net.coefficients).sum())
        for l in range(k):
            lib_below = max(lib_below, float(np.max(np.abs(net.hermite_moment(l)))) / scale)
    corrected_ok = below <= 1e-12 and lib_below <= 1e-14 and closed_err <= 1e-12
    printed_ok = corrected_ok and at_k <= 1e-12
    return _verdict(
        params,
        printed_ok=printed_ok,
        corrected_ok=corrected_ok,
        printed_margin=max(below, at_k) / 1e-12,
        corrected_margin=max(below, closed_err) / 1e-12,
        margin_kind="ratio",
        instances=len(params["ks"]),
        seeds=[int(params["seed"])],
        precision=f"mpmath dps={params['dps']} quadrature of float64 weights",
        details={
            "frequency_k_coefficient": found,
            "max_below_k": below,
            "library_moment_below_k": lib_below,
            "closed_form_abs_err": closed_err,
        },
    )


# --------------------------------------------------------------------------- item 7 (first part)
@claim(
    "errata.def6_clump_weight",
    source="CDGKM23 Def. 6",
    statement=(
        "The weight of a clump S is sum_{j in S} lambda_j (CORRECTED), not the printed sum_{j in S} lambda_i "
        "= |S| lambda_i: for a tight clump (angular radius theta) the clump's L2 norm ||sum_{j in S} lambda_j "
        "|<u_j,x>|||_2 is within sum_j |lambda_j| ||u_j - u_1|| of |sum_j lambda_j| (CN Prop. 3 with constant 1), "
        "while |S| |lambda_i| is not, for any i in S."
    ),
    kind="property-based search",
    tiers={
        "quick": {"d": 8, "k": 5, "sizes": [2, 3, 4], "trials": 20, "theta": 1e-4, "seed": 71, "form": "corrected"},
        "full": {"d": 20, "k": 8, "sizes": [2, 3, 5, 8], "trials": 200, "theta": 1e-4, "seed": 72, "form": "corrected"},
    },
    mutations=_PRINTED,
)
def check_def6_clump_weight(params):
    """Clumps from :func:`verified_relu.instances.make` ``("clump", ...)`` (residual drawn in
    [-0.5, 0.5]); ``lambda_j = mu_j / 2`` (the ``|.|`` form); the clump's L2 norm in closed form
    (:meth:`verified_relu.network.CanonicalNetwork.norm_squared`, 50 digits).  Margin of each
    form: worst ``| ||f_S|| - weight | / bound`` (the printed form: worst over the clump's ``i``)."""
    from verified_relu import instances
    from verified_relu.network import CanonicalNetwork

    gen = np.random.default_rng(int(params["seed"]))
    d, k = int(params["d"]), int(params["k"])
    worst_c, worst_p, n = 0.0, 0.0, 0
    ctx = _ctx(50)
    for size in params["sizes"]:
        for _ in range(int(params["trials"])):
            net = instances.make(
                "clump", d, max(k, size), gen, size=size, theta=params["theta"], residual=float(gen.uniform(-0.5, 0.5))
            )
            can = net.canonical()
            U, lam = can.directions[:size], can.coefficients[:size]
            norm = float(ctx.sqrt(ctx.mpf(CanonicalNetwork(np.zeros(d), lam, U).norm_squared(dps=50))))
            bound = float(np.sum(np.abs(lam) * np.linalg.norm(U - U[0], axis=1)))
            worst_c = max(worst_c, abs(norm - abs(math.fsum(lam))) / bound)
            worst_p = max(worst_p, max(abs(norm - size * abs(li)) for li in lam) / bound)
            n += 1
    return _verdict(
        params,
        printed_ok=worst_p <= 1,
        corrected_ok=worst_c <= 1,
        printed_margin=worst_p,
        corrected_margin=worst_c,
        margin_kind="ratio",
        instances=n,
        seeds=[int(params["seed"])],
        precision="mpmath dps=50 closed form",
    )


# --------------------------------------------------------------------------- item 8
@claim(
    "errata.lemma21_constant",
    source="CDGKM23 Lemma 21 (= Chen-Klivans-Meka 2021, Lemma 3.3)",
    statement=(
        "The constant 5/6 in E[(relu<u,x> - relu<u',x>)^2] <= (5/6)||u - u'||^2 is loose: PRINTED (read as the best "
        "constant) sup_theta ratio = 5/6; CORRECTED sup_theta ratio = 1/2, approached as theta -> 0."
    ),
    kind="high-precision numeric",
    tiers={
        "quick": {"grid": 2000, "dps": 40, "form": "corrected"},
        "full": {"grid": 100000, "dps": 40, "form": "corrected"},
    },
    mutations=_PRINTED,
)
def check_lemma21_constant(params):
    """The exact kernel ratio ``[1 - (sin t + (pi - t) cos t)/pi] / (2 - 2 cos t)`` on a grid
    (log-spaced to 1e-12, then uniform on ``(0, pi]``) at mpmath ``dps``.  A form holds when the
    sup is within 1e-10 of its value (and does not exceed it).  Margins: ``|sup - value| / 1e-10``.
    """
    ctx = _ctx(params["dps"])
    grid = [ctx.mpf(10) ** (-e) for e in range(12, 0, -1)] + [
        ctx.pi * j / int(params["grid"]) for j in range(1, int(params["grid"]) + 1)
    ]
    sup = max((1 - (ctx.sin(t) + (ctx.pi - t) * ctx.cos(t)) / ctx.pi) / (2 - 2 * ctx.cos(t)) for t in grid)

    def gap(value):
        return float(abs(sup - value) / ctx.mpf(10) ** -10) if sup <= value else math.inf

    gp, gc = gap(ctx.mpf(5) / 6), gap(ctx.mpf(1) / 2)
    return _verdict(
        params,
        printed_ok=gp <= 1,
        corrected_ok=gc <= 1,
        printed_margin=gp,
        corrected_margin=gc,
        margin_kind="ratio",
        instances=len(grid),
        precision=f"mpmath dps={params['dps']}",
        details={"sup_ratio": ctx.nstr(sup, 20)},
    )
