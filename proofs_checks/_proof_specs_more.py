"""Proof specs (continued): DK's final-error budget, DK Lemma 5's sign (erratum), the ReLU Hermite
coefficients, DK's cancellation example, the DKKZ20 instance's separation.
Registered into :data:`proofs_checks.proof_specs.PROOFS` on import."""

from __future__ import annotations

import math
from fractions import Fraction

import flint

from ._balls import even_series, t_minus_sin_over_t3
from .hermite import _he_at_zero, _he_poly_int
from .proof_specs import proof
from .prover import Problem, arb_of, iv


def _fact(n):
    return math.factorial(n)


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
