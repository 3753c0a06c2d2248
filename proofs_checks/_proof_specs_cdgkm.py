"""Proof specs: CDGKM23 Lemma 26, Lemma 5 (the Vandermonde bound, m = 2 and 3), and the two named
counterexamples (Lemma 5 on nodes in [-1, 1]; Lemma 27 as printed on an antipodal pair).
Registered into :data:`proofs_checks.proof_specs.PROOFS` on import."""

from __future__ import annotations

from fractions import Fraction

import flint

from .proof_specs import COUNTEREXAMPLES, proof
from .prover import Problem, arb_of, iv


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


# ------------------------------------------------------------------ CDGKM Lemma 13 (net radius)
@proof(
    "cdgkm.lemma13_net_radius",
    params={"c2_term": 1, "sqrt2": True},
    mutations={"drop_C2_term": {"c2_term": 0}, "drop_sqrt2": {"sqrt2": False}},
    domain="all eta >= 0, C1 > 0, C2 >= 0 (not eta = C2 = 0, where r = 0): with a = sqrt(eta/C1), "
    "b = (C2/C1)^(1/4) and the scaling r -> r/(a + b), a = nu, b = 1 - nu for nu in [0, 1]",
    numeric="none (the symbolic coefficient argument stays as the quick/full check)",
)
def _lemma13(p):
    sqrt2, c2t = bool(p.get("sqrt2", True)), int(p.get("c2_term", 1))

    def ab(nu):
        return nu, 1 - nu

    def r0_of(a, b):
        return (flint.arb(2).sqrt() if sqrt2 else 1) * a + c2t * b

    def point(pt):  # the original inequality: largest root r* = sqrt(a^2 + sqrt(a^4 + b^4)) <= r0
        a, b = (arb_of(x) for x in ab(pt[0]))
        return r0_of(a, b) - (a * a + (a**4 + b**4).sqrt()).sqrt()

    if sqrt2 and c2t == 1:

        def margin(box):  # (r0^2 + ... squared twice) / (a b) = 10 a b + 4 sqrt(2)(a^2 + b^2)
            a = iv(*box[0])
            b = 1 - a
            return 10 * a * b + 4 * flint.arb(2).sqrt() * (a * a + b * b)

        how = (
            "r* <= r0 squared twice (both sides >= 0): a^4 + b^4 <= (a^2 + b^2 + 2 sqrt(2) a b)^2, i.e. "
            "a b (10 a b + 4 sqrt(2)(a^2 + b^2)) >= 0; divided by a b (equality on the axes a = 0, b = 0)"
        )
    else:

        def margin(box):
            a = iv(*box[0])
            b = 1 - a
            return r0_of(a, b) ** 2 - a * a - (a**4 + b**4).sqrt()

        how = "r0^2 - r*^2, undivided"
    return [
        Problem(
            "r <= bound",
            "2 eta r^2 >= C1 r^4 - C2 implies r <= "
            + ("sqrt(2 eta/C1)" if sqrt2 else "sqrt(eta/C1)")
            + (" + (C2/C1)^(1/4)" if c2t else ""),
            margin,
            ((0, 1),),
            ("nu",),
            strict=bool(sqrt2 and c2t == 1),
            point_margin=point,
            describe=lambda pt: {"eta/C1": str(pt[0] ** 2), "C2/C1": str((1 - pt[0]) ** 4)},
            reformulation="{r >= 0: r^4 - 2 a^2 r^2 - b^4 <= 0} = [0, r*]; " + how,
        )
    ]
