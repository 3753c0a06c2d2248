"""Proof specs (continued): Lemma 26, the Vandermonde bound, DK's final-error budget, DK Lemma 5's
sign, the ReLU coefficients, DK's cancellation example; and the two named counterexamples.
Registered into :data:`proofs_checks.proof_specs.PROOFS` on import."""

from __future__ import annotations

import math
from fractions import Fraction

import flint

from ._balls import even_series, t_minus_sin_over_t3
from .hermite import _he_at_zero, _he_poly_int
from .proof_specs import COUNTEREXAMPLES, proof
from .prover import Problem, arb_of, iv


def _fact(n):
    return math.factorial(n)


# ------------------------------------------------------------------ CDGKM Lemma 26
def _corner_ball(f, box, increasing):
    """A monotone function's range on a box: ``increasing[i]`` says how f moves with coordinate i;
    the range is spanned by f at the two extreme corners (exact rationals)."""
    lo = tuple(b[0] if inc else b[1] for b, inc in zip(box, increasing))
    hi = tuple(b[1] if inc else b[0] for b, inc in zip(box, increasing))
    return Fraction(f(*lo)), Fraction(f(*hi))


@proof(
    "cdgkm.lemma26",
    params={"const": Fraction(2), "expo": 2},
    mutations={"constant_1.5": {"const": Fraction(3, 2)}, "exponent_1": {"expo": 1}},
    domain="all (a, b) in [-1, 1]^2: both sides depend on (|a|, |b|) only and are symmetric, so x = max(|a|,|b|) "
    "in [0, 1], y = u x, u in [0, 1]; dividing by x - y > 0 (at x = y both sides vanish)",
    numeric="none (the random, grid and hypothesis search stays as the quick/full check)",
)
def _lemma26(p):
    const, expo = Fraction(p["const"]), int(p["expo"])
    if expo not in (1, 2):
        raise ValueError(f"cdgkm.lemma26 proof: expo must be 1 or 2, got {expo}")

    def orig_left(pt):
        a, b = pt[0], pt[1] * pt[0]
        mn = min(abs(a - b), abs(a + b))
        return arb_of(abs(a * a - b * b) - mn**expo)

    def orig_right(pt):
        a, b = pt[0], pt[1] * pt[0]
        mn = min(abs(a - b), abs(a + b))
        return arb_of(const * mn - abs(a * a - b * b))

    if expo == 2:
        left = lambda box: _corner_ball(lambda x, u: 2 * x * u, box, (True, True))  # noqa: E731
        how = "(x-y)^2 <= (x-y)(x+y) divided by x - y: 2y = 2xu >= 0"
    else:
        left = lambda box: _corner_ball(lambda x, u: x * (1 + u) - 1, box, (True, True))  # noqa: E731
        how = "(x-y) <= (x-y)(x+y) divided by x - y: x + y - 1 >= 0"
    right = lambda box: _corner_ball(lambda x, u: const - x * (1 + u), box, (False, False))  # noqa: E731
    dom = ((0, 1), (0, 1))
    return [
        Problem(
            "min_s |a - s b|^e <= |a^2 - b^2|",
            f"min_s |a - s b|^{expo} <= |a^2 - b^2|",
            left,
            dom,
            ("x", "u"),
            point_margin=orig_left,
            describe=lambda pt: {"a": str(pt[0]), "b": str(pt[0] * pt[1])},
            reformulation=how + "; the margin is monotone in (x, u), so its range is spanned by two corners",
        ),
        Problem(
            "|a^2 - b^2| <= C min_s |a - s b|",
            f"|a^2 - b^2| <= {const} min_s |a - s b|",
            right,
            dom,
            ("x", "u"),
            point_margin=orig_right,
            describe=lambda pt: {"a": str(pt[0]), "b": str(pt[0] * pt[1])},
            reformulation="(x-y)(x+y) <= C (x-y) divided by x - y: C - x(1+u) >= 0, decreasing in x and u; a "
            "counterexample is checked in the original form at a = x, b = u x",
        ),
    ]


# ------------------------------------------------------------------ CDGKM Lemma 5 (Vandermonde), m = 2
def _vandermonde2_problem(lo_node, exponent):
    """||V^{-1}||_2 <= 2 Delta^(-E) for nodes a < b in [lo_node, 1]: a in [lo_node, 1], b = a + u (1 - a).
    V^{-1} = [[b, -a], [-1, 1]]/Delta, whose largest squared singular value is
    s2/Delta^2 with s2 = (F + sqrt(F^2 - 4 Delta^2))/2, F = a^2 + b^2 + 2."""
    E = {"2m-2": 2, "m-1": 1, "m-2": 0}[exponent]
    lo_node = Fraction(lo_node)

    def parts(a, u):
        b = a + u * (1 - a)
        delta = u * (1 - a)
        F = a * a + b * b + 2
        s2 = (F + (F * F - 4 * delta * delta).nonnegative_part().sqrt()) / 2
        return delta, s2

    def margin_of(delta, s2):
        if E >= 1:
            return 4 - s2 * delta ** (2 * E - 2)
        return 4 * delta * delta - s2

    def margin(box):
        return margin_of(*parts(iv(*box[0]), iv(*box[1])))

    def point(pt):
        a, u = pt
        if u == 0 or a == 1:
            return flint.arb(1)  # coincident nodes: not an instance
        return margin_of(*parts(arb_of(a), arb_of(u)))

    return Problem(
        "||V^-1||_2 <= m Delta^(-(2m-2)), m = 2" if E == 2 else f"||V^-1||_2 <= m Delta^(-{E}), m = 2",
        f"for nodes a < b in [{lo_node}, 1], ||V^-1||_2^2 = s2/Delta^2 <= 4 Delta^(-{2 * E})",
        margin,
        ((lo_node, 1), (0, 1)),
        ("a", "u"),
        strict=False,
        point_margin=point,
        describe=lambda pt: {"nodes": [str(pt[0]), str(pt[0] + pt[1] * (1 - pt[0]))]},
        reformulation="nodes a, b = a + u(1 - a) (a box covering every ordered pair); the squared bound multiplied "
        f"by Delta^{max(2 * E, 2)}: margin = " + ("4 - s2 Delta^(2E-2)" if E >= 1 else "4 Delta^2 - s2"),
    )


def _lagrange_cols(x):
    """Columns of V^{-1} (V_ij = x_i^j, 3 nodes): the coefficient vectors of the Lagrange basis
    polynomials, l_i(x) = (x^2 - (x_j + x_k) x + x_j x_k)/((x_i - x_j)(x_i - x_k)); returned as
    (numerator coefficients, denominator) pairs."""
    out = []
    for i in range(3):
        j, k = [n for n in range(3) if n != i]
        num = (x[j] * x[k], -(x[j] + x[k]), 1)
        out.append((num, (x[i] - x[j]) * (x[i] - x[k])))
    return out


def _vandermonde3_problem(lo_node, exponent, case):
    """||V^{-1}||_2 <= 3 Delta^(-E) for 3 nodes in [lo_node, 1], through ||V^{-1}||_2 <= ||V^{-1}||_F.

    Nodes: x1 = a, span S = sigma (1 - a), and the smaller gap Delta = S rho/(1 + rho) (rho in [0, 1]: the
    ratio of the smaller gap to the larger); case "left": x2 = x1 + Delta, case "right": x2 = x3 - Delta.
    Then Delta^8/den_i is Delta^4 times a rational function of rho (below), with no division by a gap."""
    E = {"2m-2": 4, "m-1": 2, "m-2": 1}[exponent]
    lo_node = Fraction(lo_node)

    def nodes(a, sigma, rho, one):
        S = sigma * (one - a)
        delta = S * rho / (1 + rho)
        x2 = a + delta if case == "left" else a + S - delta
        return (a, x2, a + S), delta

    def weights(rho):
        # Delta^8 / ((x_i - x_j)^2 (x_i - x_k)^2), divided by Delta^4, for i = 1, 2, 3
        r2, q = rho * rho, (1 + rho) ** 2
        if case == "left":
            return (r2 / q, r2, r2 * r2 / q)
        return (r2 * r2 / q, r2, r2 / q)

    def frob8(a, sigma, rho, one):
        x, delta = nodes(a, sigma, rho, one)
        tot = 0
        for (num, _), w in zip(_lagrange_cols(x), weights(rho)):
            tot = tot + (num[0] ** 2 + num[1] ** 2 + num[2] ** 2) * w
        return tot * delta**4, delta  # ||V^-1||_F^2 Delta^8

    def margin(box):
        f8, delta = frob8(iv(*box[0]), iv(*box[1]), iv(*box[2]), flint.arb(1))
        if E == 4:
            return 9 - f8
        return 9 * delta ** (8 - 2 * E) - f8  # both sides times Delta^8

    def point(pt):
        a, sigma, rho = pt
        x, delta = nodes(a, sigma, rho, 1)
        if delta == 0 or len(set(x)) < 3:
            return flint.arb(1)
        # ||V^-1||_2 >= the largest column norm: a lower bound, so a violation is certain
        col2 = max(sum(c * c for c in num) / den**2 for num, den in _lagrange_cols(x))
        return arb_of(9 / delta ** (2 * E) - col2)

    return Problem(
        f"||V^-1||_2 <= 3 Delta^(-{E}), m = 3, smaller gap on the {case}",
        f"for 3 nodes in [{lo_node}, 1] with min gap Delta, ||V^-1||_2 <= 3 Delta^(-{E})",
        margin,
        ((lo_node, 1), (0, 1), (0, 1)),
        ("a", "sigma", "rho"),
        strict=False,
        point_margin=point,
        describe=lambda pt: {"nodes": [str(v) for v in nodes(*pt, 1)[0]]},
        reformulation="proof through ||V^-1||_2 <= ||V^-1||_F (columns: Lagrange coefficient vectors), squared and "
        "multiplied by Delta^8; a counterexample through ||V^-1||_2 >= its largest column norm, in exact rationals",
    )


@proof(
    "cdgkm.vandermonde",
    params={"exponent": "2m-2", "domain": (0, 1)},
    mutations={"exponent_m_minus_2": {"exponent": "m-2"}, "nodes_in_[-1,1]": {"domain": (-1, 1)}},
    domain="m = 2: every pair of distinct nodes in [0, 1] (a in [0, 1], b = a + u(1 - a), u in [0, 1]); m = 3: every "
    "triple of distinct nodes in [0, 1] (x1 = a, span sigma (1 - a), smaller gap Delta = span rho/(1 + rho), on "
    "either side)",
    numeric="m = 4..8 (the quick/full check's equispaced, clustered and random nodes)",
)
def _vandermonde(p):
    lo, hi = p["domain"]
    if Fraction(hi) != 1:
        raise ValueError("cdgkm.vandermonde proof: the node interval must end at 1")
    return [_vandermonde2_problem(Fraction(lo), p["exponent"])] + [
        _vandermonde3_problem(Fraction(lo), p["exponent"], case) for case in ("left", "right")
    ]


COUNTEREXAMPLES["cdgkm.vandermonde: nodes in [-1, 1], m = 2"] = (
    "cdgkm.vandermonde",
    lambda: [_vandermonde2_problem(Fraction(-1), "2m-2")],
    "Lemma 5's bound ||V^-1||_2 <= m Delta^(-(2m-2)) fails for nodes in [-1, 1] (m = 2): e.g. a = -1, b = 1 gives "
    "||V^-1||_2 = 1/sqrt(2) > 2/2^2",
)


def _lemma27_antipodal():
    """Lemma 27 with v allowed in [-1, 1]^k (k = 2, k' = 1, c_abs = C = 1): q = (1, -1), v = (a, -a).
    Every even moment <v^l, q> = a^l - a^l vanishes, while the right side is
    (tau/(2k)) (alpha^2 gamma^2/(4k))^k = (1/4)(a^2 (2a)^2/8)^2 = a^8/16 > 0."""

    def margin_at(a):
        q, v = (1, -1), (a, -a)
        obs = max(abs(sum(qi * vi ** (2 * s) for qi, vi in zip(q, v))) for s in range(3))
        k, kp = 2, 1
        tau, alpha, gamma = abs(q[0]), abs(v[0]), abs(v[0] - v[1])
        rhs = Fraction(tau, 2 * k) * (alpha**2 * gamma**2 / (4 * k)) ** k - 1 * 1 * k * (kp - 1) * 0
        return arb_of(obs - rhs)

    return [
        Problem(
            "max_l |<v^l, q>| >= rhs",
            "Lemma 27 as printed (v in [-1, 1]^k) on the antipodal pair v = (a, -a), q = (1, -1), k = 2, k' = 1",
            lambda box: margin_at(Fraction(box[0][0])) if box[0][0] == box[0][1] else flint.arb(0, 1),
            ((Fraction(1, 4), 1),),
            ("a",),
            point_margin=lambda pt: margin_at(pt[0]),
            describe=lambda pt: {"q": ["1", "-1"], "v": [str(pt[0]), str(-pt[0])], "k": 2, "k_prime": 1},
            reformulation="exact rationals at the point: the moments vanish identically, the right side is a^8/16",
        )
    ]


COUNTEREXAMPLES["cdgkm.lemma27_power_sums: printed, antipodal pair"] = (
    "cdgkm.lemma27_power_sums",
    _lemma27_antipodal,
    "Lemma 27 as printed (v in [-1, 1]^k) fails on an antipodal pair: every even moment vanishes, the right side "
    "is a^8/16 > 0",
)


# ------------------------------------------------------------------ DK final error budget
_TAILS: dict = {}


def _tail(D):
    """1/2 - sum_{m <= D} c_m^2 (Parseval) at the current precision, cached per precision; c_m^2 by
    the exact ratio c_(m+2)^2 = c_m^2 (m-1)^2/((m+1)(m+2)) from c_2^2 = 1/(4 pi)."""
    key = flint.ctx.prec
    if key not in _TAILS:
        pi = flint.arb.pi()
        half = flint.arb(1) / 2
        _TAILS[key] = {"tab": [half - 1 / (2 * pi), half - 1 / (2 * pi) - flint.arb(1) / 4], "c2": 1 / (4 * pi)}
    st = _TAILS[key]
    tab = st["tab"]
    while len(tab) <= D:
        n = len(tab)  # append tail(n)
        if n % 2:
            tab.append(tab[-1])
        else:
            tab.append(tab[-1] - st["c2"])
            st["c2"] = st["c2"] * (n - 1) ** 2 / ((n + 1) * (n + 2))
    return tab[D]


def _floor_range(x):
    lo = x.lower().floor().unique_fmpz()
    hi = x.upper().floor().unique_fmpz()
    return int(lo), int(hi)


@proof(
    "dk.final_error_budget",
    params={"C": Fraction(21, 10)},
    mutations={"C_half": {"C": Fraction(1, 2)}},
    domain="every eps in (0, 1/2], C = 2.1: eps in [1/1000, 1/2] by boxes in eps (D = floor(C eps^(-4/3)) takes "
    "every value in between, tails in balls), and eps in (0, 1/1000] compactified by z = eps^(4/3) in [0, 10^-4] "
    "(the limit eps -> 0 included) through the tail bound proved under hermite.parseval and "
    "hermite.coefficient_decay",
    numeric="the minimal C per eps (a numeric report)",
    max_boxes=4000,
)
def _final_budget(p):
    C = Fraction(p["C"])

    def ratio_range(e1, e2):
        c = arb_of(C)
        x_hi = c / arb_of(e1).root(3) ** 4
        x_lo = c / arb_of(e2).root(3) ** 4
        d_lo, _ = _floor_range(x_lo)
        _, d_hi = _floor_range(x_hi)
        worst = 2 / c + _tail(max(d_lo, 0)) / arb_of(e1) ** 2
        best = 2 / c + _tail(max(d_hi, 0)) / arb_of(e2) ** 2
        return (1 - worst).union(1 - best)

    def small(box):
        # M = the even number D or D - 1 (tail(D) = tail(M)), M >= C/z - 2 >= 100; tail(M) <= r_M^2 K^2/(3 M^1.5)
        # and r_M <= 1 + 1/M (proved), so tail/eps^2 <= (1 + z/(C - 2z))^2 K^2 / (3 (C - 2z)^1.5)
        z = iv(*box[0])
        c = arb_of(C)
        pi = flint.arb.pi()
        K2 = (2 / pi).sqrt() / (2 * pi)
        cz = c - 2 * z
        return 1 - 2 / c - (1 + z / cz) ** 2 * K2 / (3 * cz.sqrt() ** 3)

    def small_point(pt):
        # the original inequality at eps = z^(3/4): D = floor(C/z) exactly, the tail in balls
        z = pt[0]
        if z == 0 or C / z > 10**6:
            return flint.arb(0, 10)  # not evaluated: never reported as a counterexample
        D = math.floor(C / z)
        return 1 - 2 / arb_of(C) - _tail(D) / arb_of(z).sqrt() ** 3

    z_max = Fraction(1, 10**4)
    return [
        Problem(
            "2 eps^2/C + tail(D) < eps^2, eps <= 1/1000",
            f"with D = floor({C} eps^(-4/3)): 2 eps^2/C + sum_(m>D) c_m^2 < eps^2 for eps^(4/3) = z in [0, 10^-4]",
            small,
            ((0, z_max),),
            ("z",),
            strict=True,
            point_margin=small_point,
            reformulation="z = eps^(4/3); M = the even one of D, D - 1 has M >= C/z - 2 and M^1.5 eps^2 >= "
            "(C - 2z)^1.5; with the proved r_M <= 1 + 1/M <= 1 + z/(C - 2z) and tail(M) <= r_M^2 K^2/(3 M^1.5), "
            "margin = 1 - 2/C - (1 + z/(C-2z))^2 K^2/(3 (C-2z)^1.5) (needs C/z - 2 >= 100: C >= 0.0102)",
        ),
        Problem(
            "2 eps^2/C + tail(D) < eps^2",
            f"with D = floor({C} eps^(-4/3)): 2 eps^2/C + sum_(m>D) c_m^2 < eps^2",
            lambda box: ratio_range(box[0][0], box[0][1]),
            ((Fraction(1, 1000), Fraction(1, 2)),),
            ("eps",),
            strict=True,
            describe=lambda pt: {"eps": str(pt[0])},
            reformulation="divided by eps^2; on a box [e1, e2] the tail is non-increasing in D and D non-increasing in "
            "eps, so the ratio lies between its values at (e1, D(e2)) and (e2, D(e1)); tails = 1/2 - partial sums "
            "of c_m^2 in balls (Parseval)",
        ),
    ]


# ------------------------------------------------------------------ DK Lemma 5 sign (erratum)
@proof(
    "errata.dk_lemma5_sign",
    params={"form": "corrected", "max_m": 64},
    mutations={"printed_form_asserted": {"form": "printed"}},
    domain="every even m in [2, 64] (a finite domain, each m one point box): the form agrees with c_m = "
    "He_(m-2)(0)/sqrt(2 pi m!) to within 1e-30, rigorously",
    numeric="m > 64 (the identity for all m is the symbolic (m-3)!! = 2^(-(m-2)/2) sqrt(C(m-2,(m-2)/2)) "
    "sqrt((m-2)!) ... rewriting, not box-checked)",
    prec=256,
)
def _dk_lemma5(p):
    printed = p.get("form", "corrected") == "printed"
    tol = arb_of(Fraction(1, 10**30))

    def margin(box):
        m = int(box[0][0])
        pi = flint.arb.pi()
        ref = flint.arb(_he_at_zero(m - 2)) / (2 * pi * flint.arb(math.factorial(m))).sqrt()
        mag = flint.arb(math.comb(m - 2, (m - 2) // 2)).sqrt() / (2 * pi * m * (m - 1)).sqrt()
        if printed:
            val = flint.acb(arb_of(Fraction(-1, 4))) ** flint.acb(arb_of(Fraction(m - 2, 4))) * mag
            return tol - abs(val - ref)
        val = (-1) ** ((m - 2) // 2) * arb_of(Fraction(1, 2 ** ((m - 2) // 2))) * mag
        return tol - abs(val - ref)

    pts = [((m, m),) for m in range(2, int(p["max_m"]) + 1, 2)]
    name = "printed (-1/4)^((m-2)/4) form" if printed else "corrected (-1)^((m-2)/2) 2^(-(m-2)/2) form"
    return [
        Problem(
            name,
            f"|{name} - c_m| <= 1e-30",
            margin,
            pts,
            ("m",),
            reformulation="the printed power is the principal branch, evaluated in complex balls (acb)",
        )
    ]


# ------------------------------------------------------------------ ReLU Hermite coefficients
def _c_integral(m, L=40):
    """c_m = int_0^oo x He_m(x) phi(x) dx / sqrt(m!) as a ball: Arb's rigorous integration on [0, L]
    plus the tail int_L^oo |x He_m(x)| phi(x) dx <= 2 L^(m+1) e^(-L^2/2) (|He_m(x)| <= 2 x^m for
    x >= L >= 2m, and int_L^oo x^n e^(-x^2/2) dx <= 2 L^(n-1) e^(-L^2/2) for L^2 >= 2n)."""
    coeffs = _he_poly_int(m)
    pi = flint.arb.pi()

    def f(x, _analytic):
        acc = flint.acb(0)
        for c in reversed(coeffs):
            acc = acc * x + c
        return x * acc * (-x * x / 2).exp()

    val = flint.acb.integral(f, 0, L).real
    tail = 2 * flint.arb(L) ** (m + 1) * flint.arb(-L * L / 2).exp()
    return (val + flint.arb(0, tail.upper())) / (2 * pi).sqrt() / flint.arb(math.factorial(m)).sqrt()


def _c_closed(m):
    pi = flint.arb.pi()
    if m == 0:
        return 1 / (2 * pi).sqrt()
    if m == 1:
        return flint.arb(1) / 2
    if m % 2:
        return flint.arb(0)
    return flint.arb(_he_at_zero(m - 2)) / (2 * pi * flint.arb(math.factorial(m))).sqrt()


@proof(
    "hermite.relu_coefficients",
    params={"max_m": 12, "c2": None},
    mutations={"c2_is_0.28": {"c2": Fraction(7, 25)}},
    domain="every m in [0, 12] (point boxes): |closed form - integral| <= 1e-25 with the integral enclosed by Arb's "
    "rigorous integration plus a tail bound; and the statement's 8-decimal c_2, c_4, c_6 within 5e-9",
    numeric="13 <= m <= 30 (quadrature at 50 digits) and the library table",
    prec=160,
)
def _relu_coefficients(p):
    c2 = p.get("c2")
    tol = arb_of(Fraction(1, 10**25))

    def closed(m):
        return arb_of(Fraction(c2)) if (m == 2 and c2 is not None) else _c_closed(m)

    printed = {2: Fraction(28209479, 10**8), 4: Fraction(-8143375, 10**8), 6: Fraction(4460310, 10**8)}
    return [
        Problem(
            "closed form = integral",
            "|c_m(closed form) - int_0^oo x h_m(x) phi(x) dx| <= 1e-25",
            lambda box: tol - abs(closed(int(box[0][0])) - _c_integral(int(box[0][0]))),
            [((m, m),) for m in range(int(p["max_m"]) + 1)],
            ("m",),
        ),
        Problem(
            "8-decimal values",
            "|c_m - printed 8-decimal value| <= 5e-9 for m = 2, 4, 6",
            lambda box: arb_of(Fraction(5, 10**9)) - abs(closed(int(box[0][0])) - arb_of(printed[int(box[0][0])])),
            [((m, m),) for m in (2, 4, 6)],
            ("m",),
        ),
    ]


# ------------------------------------------------------------------ DK cancellation example
@proof(
    "dk.cancellation_example",
    params={"power": 3},
    mutations={"theta_squared_scaling": {"power": 2}},
    domain="every theta in (0, pi] (s = theta/pi in [0, 1]): with E[F^2] = (theta - sin theta)/pi, "
    "1 - theta^2/20 <= E[F^2]/(theta^3/(6 pi)) <= 1, and sum|w_i| = 2 + 2 cos(theta/2) >= 4 - theta^2/4",
    numeric="E[F^2] = (theta - sin theta)/pi against the library's exact evaluation, and F = 0 off the wedge "
    "(Monte Carlo)",
)
def _cancellation(p):
    power = int(p["power"])
    pi = flint.arb.pi

    def theta(box):
        return pi() * iv(*box[0])

    def scaled_pt(pt):
        th = pi() * arb_of(pt[0])
        return 6 * (th - th.sin()) / th**power

    def near(t):
        return bool(t.abs_upper() <= 1)

    if power == 3:

        def upper(box):  # (1 - 6 h)/theta^2
            t = theta(box)
            if near(t):
                return even_series(lambda k: Fraction((-1) ** k * 6, _fact(2 * k + 5)), t)
            return (1 - 6 * t_minus_sin_over_t3(t)) / (t * t)

        def lower(box):  # (6 h - 1 + theta^2/20)/theta^4
            t = theta(box)
            if near(t):
                return even_series(lambda k: Fraction((-1) ** k * 6, _fact(2 * k + 7)), t)
            return (6 * t_minus_sin_over_t3(t) - 1 + t * t / 20) / t**4

        how = "h = (theta - sin theta)/theta^3; upper margin (1 - 6h)/theta^2, lower (6h - 1 + theta^2/20)/theta^4"
    else:

        def upper(box):
            t = theta(box)
            return 1 - 6 * t ** (3 - power) * t_minus_sin_over_t3(t)

        def lower(box):
            t = theta(box)
            return 6 * t ** (3 - power) * t_minus_sin_over_t3(t) - 1 + t * t / 20

        how = "scaled = 6 theta^(3-p) h, undivided"

    def l1(box):  # (2 cos(x) - 2 + x^2)/x^4, x = theta/2
        x = theta(box) / 2
        if near(x):
            return even_series(lambda k: Fraction(2 * (-1) ** k, _fact(2 * k + 4)), x)
        return (2 * x.cos() - 2 + x * x) / x**4

    def pos(f):
        return lambda pt: f(pt) if pt[0] > 0 else flint.arb(1)

    dom = ((0, 1),)
    return [
        Problem(
            "scaled <= 1",
            f"E[F^2]/(theta^{power}/(6 pi)) <= 1",
            upper,
            dom,
            ("s",),
            strict=True,
            point_margin=pos(lambda pt: 1 - scaled_pt(pt)),
            reformulation=how,
        ),
        Problem(
            "scaled >= 1 - theta^2/20",
            f"E[F^2]/(theta^{power}/(6 pi)) >= 1 - theta^2/20",
            lower,
            dom,
            ("s",),
            strict=True,
            point_margin=pos(lambda pt: scaled_pt(pt) - 1 + (pi() * arb_of(pt[0])) ** 2 / 20),
            reformulation=how,
        ),
        Problem(
            "sum|w_i| >= 4 - theta^2/4",
            "2 + 2 cos(theta/2) >= 4 - theta^2/4",
            l1,
            dom,
            ("s",),
            strict=True,
            point_margin=pos(lambda pt: 2 * (pi() * arb_of(pt[0]) / 2).cos() - 2 + (pi() * arb_of(pt[0])) ** 2 / 4),
            reformulation="x = theta/2: (2 cos x - 2 + x^2)/x^4 > 0 (Taylor series with remainder near 0)",
        ),
    ]


# ------------------------------------------------------------------ DKKZ20 instance separation (CN Remark 17)
def _even_k_in(box):
    lo, hi = Fraction(box[0][0]), Fraction(box[0][1])
    if hi <= 0:
        return None
    k = math.ceil(1 / hi)
    k += k % 2
    if lo > 0 and Fraction(1, k) < lo:
        return None
    return (Fraction(1, k),)


@proof(
    "dkkz.separation_and_rank",
    params={"separation_constant": Fraction(2)},
    mutations={"separation_4_over_k": {"separation_constant": Fraction(4)}},
    domain="every even k >= 2 (t = 1/k in [0, 1/2], the limit k -> oo included): 2 sin(pi/(2k)) >= c/k with c = 2",
    numeric="that the instance's minimal sign-invariant separation equals 2 sin(pi/(2k)) and its rank is 2 (the "
    "check on make('dkkz', d, k))",
)
def _dkkz_separation(p):
    c = Fraction(p["separation_constant"])
    pi = flint.arb.pi

    def margin(box):  # (2 sin(pi t/2) - c t)/t = pi sinc(pi t/2) - c
        t = iv(*box[0])
        return pi() * (pi() * t / 2).sinc() - arb_of(c)

    def point(pt):
        t = arb_of(pt[0])
        return 2 * (pi() * t / 2).sin() - arb_of(c) * t

    return [
        Problem(
            "2 sin(pi/(2k)) >= c/k",
            f"2 sin(pi/(2k)) >= {c}/k",
            margin,
            ((0, Fraction(1, 2)),),
            ("t",),
            strict=False,
            point_margin=point,
            snap=_even_k_in,
            describe=lambda pt: {"k": str(1 / pt[0])},
            reformulation="t = 1/k; divided by t: pi sinc(pi t/2) - c (sinc(0) = 1)",
        )
    ]
