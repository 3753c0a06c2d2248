"""The claims proved by branch-and-bound (the ``proved`` tier) and the two named counterexamples.

Each :class:`ProofSpec` is attached to a registered claim id.  ``build(params)`` returns the
:class:`~proofs_checks.prover.Problem` list (the claim's inequality, reformulated where it is
tight at a point, over a stated domain); the claim is proved when every problem is proved.
``params`` are the claim's constants; ``mutations`` (the claim's own mutation names, as
parameter overrides of the spec) must each make some problem come back ``refuted`` with a
rigorous counterexample.  ``domain`` says what is proved, ``numeric`` what keeps the claim's
numeric evidence (its quick/full check).

Conventions as in :mod:`proofs_checks.hermite`: ``c_m = E[relu(G) h_m(G)]``, ``h_m = He_m/sqrt(m!)``,
``K = (2/pi)^(1/4)/sqrt(2 pi)``, ``r_m = |c_m| m^(5/4)/K``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from fractions import Fraction

import flint

from ._balls import expm1_over, log1p_quad, log_abs_c, sin_minus_tcos_over_t3
from .prover import Problem, arb_of, iv

__all__ = ["COUNTEREXAMPLES", "PROOFS", "ProofSpec", "proof"]


@dataclasses.dataclass(frozen=True)
class ProofSpec:
    claim_id: str
    build: Callable
    params: dict
    mutations: dict
    domain: str
    numeric: str
    prec: int = 128
    max_boxes: int = 20000


PROOFS: dict = {}
#: name -> (claim id, builder of the refuted problem, what it shows)
COUNTEREXAMPLES: dict = {}


def proof(claim_id, *, params, mutations, domain, numeric, prec=128, max_boxes=20000):
    def register(build):
        if claim_id in PROOFS:
            raise ValueError(f"proof for {claim_id!r} registered twice")
        PROOFS[claim_id] = ProofSpec(claim_id, build, dict(params), dict(mutations), domain, numeric, prec, max_boxes)
        return build

    return register


def _pi():
    return flint.arb.pi()


def _theta(box):
    """theta = pi s for the box's first coordinate s in [0, 1]."""
    return _pi() * iv(*box[0])


def _theta_pt(pt):
    return _pi() * arb_of(pt[0])


def _sinc_half_sq(th):
    return (th / 2).sinc() ** 2


# ------------------------------------------------------------------ arc-cosine distances
def _relu_dist2(th):
    """E[(relu<u,x> - relu<u',x>)^2] for unit u, u' at angle th (arc-cosine kernel)."""
    s, c = th.sin_cos()
    return 1 - (s + (_pi() - th) * c) / _pi()


def _abs_dist2(th):
    """E[(|<u,x>| - |<u',x>|)^2] = 2 - 2 (2/pi)(sqrt(1 - rho^2) + rho asin rho), rho = cos th."""
    rho = th.cos()
    return 2 - 4 / _pi() * ((1 - rho * rho).nonnegative_part().sqrt() + rho * rho.asin())


_THETA_NOTE = (
    "theta = pi s, s in [0, 1]; with g(theta) = (sin theta - theta cos theta)/theta^3 (a Taylor series with "
    "a remainder bound near 0) and sinc(theta/2)^2 = (2 - 2 cos theta)/theta^2, the relu distance is "
    "theta^2 [sinc(theta/2)^2/2 - theta g/pi] and the |.| distance theta^2 [sinc(theta/2)^2 - (4/pi) theta g]"
)


def _lipschitz_problem(name, dist_kind, C):
    """dist^2 <= C ||u - u'||^2 over theta in (0, pi]: the margin divided by theta^2 (by theta^3
    when the constant is the limit ratio, where the theta^2 term vanishes identically)."""
    C = Fraction(C)
    limit = Fraction(1, 2) if dist_kind == "relu" else Fraction(1)
    weight = (lambda: 1 / _pi()) if dist_kind == "relu" else (lambda: 4 / _pi())
    dist = _relu_dist2 if dist_kind == "relu" else _abs_dist2
    if C == limit:

        def margin(box):
            return weight() * sin_minus_tcos_over_t3(_theta(box))

        how = "margin/theta^3 = w g(theta), the theta^2 terms cancelling exactly (C equals the limit ratio)"
    else:

        def margin(box):
            th = _theta(box)
            return arb_of(C - limit) * _sinc_half_sq(th) + weight() * th * sin_minus_tcos_over_t3(th)

        how = "margin/theta^2 = (C - limit) sinc(theta/2)^2 + w theta g(theta)"

    def point(pt):
        th = _theta_pt(pt)
        return arb_of(C) * (2 - 2 * th.cos()) - dist(th)

    return Problem(
        name,
        f"E[({dist_kind}<u,x> - {dist_kind}<u',x>)^2] <= {C} ||u - u'||^2 for unit u, u' at angle theta in (0, pi]",
        margin,
        ((0, 1),),
        ("s",),
        strict=True,
        point_margin=lambda pt: point(pt) if pt[0] > 0 else flint.arb(1),
        reformulation=f"{_THETA_NOTE}; {how} (w = 1/pi for relu, 4/pi for |.|); at theta = 0 both sides vanish; a "
        "counterexample is checked in the original form C(2 - 2 cos theta) - dist^2 at an exact s > 0",
    )


@proof(
    "hermite.lipschitz_relu",
    params={"constant": Fraction(5, 6)},
    mutations={"constant_0.4": {"constant": Fraction(2, 5)}},
    domain="all angles theta in (0, pi] between unit u, u' (s = theta/pi in [0, 1]; theta = 0 is equality 0 = 0)",
    numeric="the cross-check against the library's ReLUNetwork.norm_squared and the sup being 1/2 (limit theta -> 0, "
    "see errata.lemma21_constant, also proved)",
)
def _lipschitz_relu(p):
    return [_lipschitz_problem("ratio <= C", "relu", p["constant"])]


@proof(
    "hermite.lipschitz_abs",
    params={"constant": Fraction(1)},
    mutations={"constant_0.99": {"constant": Fraction(99, 100)}},
    domain="all angles theta in (0, pi] (s = theta/pi in [0, 1]); C = 1 is the limit ratio, so the margin is "
    "divided by theta^3",
    numeric="optimality (the sup is 1, approached as theta -> 0): the grid check; the mutation C = 0.99 is refuted",
)
def _lipschitz_abs(p):
    return [_lipschitz_problem("ratio <= C", "abs", p["constant"])]


@proof(
    "errata.lemma21_constant",
    params={"form": "corrected"},
    mutations={"printed_form_asserted": {"form": "printed"}},
    domain="theta in (0, pi]: the ratio is <= 1/2 everywhere, and >= L - 1/100 on (0, pi/100] where L is the "
    "asserted best constant (1/2 corrected, 5/6 printed); together: sup = 1/2",
    numeric="none beyond the grid check",
)
def _lemma21_constant(p):
    L = Fraction(1, 2) if p.get("form", "corrected") == "corrected" else Fraction(5, 6)
    upper = _lipschitz_problem("ratio <= 1/2", "relu", Fraction(1, 2))

    def near(box):
        th = _pi() * iv(*box[0]) / 100
        return arb_of(Fraction(1, 2) - L + Fraction(1, 100)) - th * sin_minus_tcos_over_t3(th) / (
            _pi() * _sinc_half_sq(th)
        )

    def near_point(pt):
        th = _pi() * arb_of(pt[0]) / 100
        return _relu_dist2(th) / (2 - 2 * th.cos()) - arb_of(L - Fraction(1, 100))

    lower = Problem(
        "ratio >= L - 1/100 near 0",
        f"the best constant is L = {L}: the ratio is >= {L} - 1/100 for theta in (0, pi/100]",
        near,
        ((0, 1),),
        ("s",),
        strict=False,
        point_margin=lambda pt: near_point(pt) if pt[0] > 0 else flint.arb(0),
        reformulation="theta = pi s/100; ratio = 1/2 - theta g(theta)/(pi sinc(theta/2)^2)",
    )
    return [upper, lower]


# ------------------------------------------------------------------ |c_m| m^(5/4), t = 1/m
def _decay_Q(t):
    """An enclosure of Q(t) = ln(r_m)/t at t = 1/m (any real m > 1, and the limit t = 0), from
    Stirling's series with its remainder (lgamma(z) = (z-1/2)ln z - z + ln(2 pi)/2 + 1/(12 z) - e,
    0 < e < 1/(360 z^3)): all logarithms of m cancel exactly and
    ln r_m = t [1 + (1 - 2t) s(t)/2 + 1/(6(1-t)) - 1/24] + R, s(t) = (ln(1-t)/t + 1)/t,
    R in [-8 t^3/(360 (1-t)^3), t^3/720]."""
    s = log1p_quad(-t)  # (ln(1-t)/t + 1)/t = (ln(1-t) + t)/t^2
    one = flint.arb(1)
    q = one + (one - 2 * t) * s / 2 + one / (6 * (one - t)) - one / 24
    hi_t = t.abs_upper()
    rem_lo = -8 * hi_t**2 / (360 * (1 - hi_t) ** 3)
    rem_hi = hi_t**2 / 720
    return q + flint.arb(rem_lo).union(flint.arb(rem_hi))


def _log_K():
    pi = _pi()
    return (2 / pi).log() / 4 - (2 * pi).log() / 2


def _even_m_in(box):
    lo, hi = Fraction(box[0][0]), Fraction(box[0][1])
    if hi <= 0:
        return None
    m = math.ceil(1 / hi)
    m += m % 2
    if lo > 0 and Fraction(1, m) < lo:
        return None
    return (Fraction(1, m),)


def _decay_problems(t_max, kscale=Fraction(1), expo=Fraction(5, 4)):
    """|r'_m - 1| <= 1/m for even m >= 1/t_max, r'_m = |c_m| m^expo/(kscale K)."""
    kscale, expo = Fraction(kscale), Fraction(expo)
    exact = kscale == 1 and expo == Fraction(5, 4)

    def log_r(t):
        lr = t * _decay_Q(t)
        if expo != Fraction(5, 4):
            lr = lr - arb_of(expo - Fraction(5, 4)) * t.log()
        if kscale != 1:
            lr = lr - arb_of(kscale).log()
        return lr

    def point(pt):
        m = int(1 / pt[0])
        t = arb_of(pt[0])
        lr = log_abs_c(m) + arb_of(expo) * flint.arb(m).log() - _log_K() - arb_of(kscale).log()
        return t - abs(lr.expm1())

    dom = ((0, t_max),)
    if exact:
        upper = Problem(
            "(r_m - 1) m <= 1",
            "|c_m| m^(5/4)/K - 1 <= 1/m",
            lambda box: 1 - (lambda Q, t: Q * expm1_over(t * Q))(_decay_Q(iv(*box[0])), iv(*box[0])),
            dom,
            ("t",),
            strict=False,
            point_margin=point,
            snap=_even_m_in,
            reformulation="t = 1/m compactified ([0, t_max] includes the limit t = 0); r_m - 1 = expm1(t Q(t)), "
            "divided by t: margin/t = 1 - Q(t) (e^(tQ) - 1)/(tQ)",
        )
        lower = Problem(
            "r_m > 1",
            "|c_m| m^(5/4)/K - 1 > 0 (so | |c_m| m^(5/4)/K - 1 | = r_m - 1)",
            lambda box: _decay_Q(iv(*box[0])),
            dom,
            ("t",),
            strict=True,
            point_margin=lambda pt: (
                log_abs_c(int(1 / pt[0])) + arb_of(expo) * flint.arb(int(1 / pt[0])).log() - _log_K()
            ),
            snap=_even_m_in,
            reformulation="ln r_m = t Q(t) with Q > 0 on [0, t_max] (divided by t)",
        )
        return [lower, upper]
    return [
        Problem(
            "|r'_m - 1| <= 1/m",
            f"| |c_m| m^({expo})/({kscale} K) - 1 | <= 1/m",
            lambda box: iv(*box[0]) - abs(log_r(iv(*box[0])).expm1()),
            dom,
            ("t",),
            strict=False,
            point_margin=point,
            snap=_even_m_in,
            reformulation="t = 1/m; a counterexample is an even m (t = 1/m in the failing box) checked with "
            "|c_m| from lgamma",
        )
    ]


@proof(
    "hermite.coefficient_decay",
    params={"t_max": Fraction(1, 100), "K_scale": Fraction(1), "exponent": Fraction(5, 4)},
    mutations={
        "decay_constant_off_1pct": {"K_scale": Fraction(101, 100)},
        "exponent_5_over_2": {"exponent": Fraction(5, 2)},
    },
    domain="every even m >= 100 (t = 1/m in [0, 1/100], the limit t = 0 included): 0 < |c_m| m^(5/4)/K - 1 <= 1/m",
    numeric="the least-squares slope on [100, max_m] and the tail constants (the tail bound itself is proved under "
    "hermite.parseval)",
)
def _coefficient_decay(p):
    return _decay_problems(Fraction(p["t_max"]), p["K_scale"], p["exponent"])


@proof(
    "errata.coefficient_decay_exponent",
    params={"form": "corrected"},
    mutations={"printed_form_asserted": {"form": "printed"}},
    domain="every even l >= 100 (t = 1/l in [0, 1/100]): corrected, 1 < |c_l| l^(5/4)/K <= 1 + 1/l, so the spread "
    "of |c_l| l^(5/4) over all l >= 100 is <= 1.01; printed, |c_l| l^(5/2) <= 2 |c_100| 100^(5/2) (implied by a "
    "spread <= 2) is refuted",
    numeric="the cross-check against the library table (l <= 64)",
)
def _decay_exponent(p):
    if p.get("form", "corrected") == "corrected":
        return _decay_problems(Fraction(1, 100))

    def margin(box):
        t = iv(*box[0])
        ln_rel = t * _decay_Q(t) - arb_of(Fraction(5, 4)) * t.log()
        ln_rel = ln_rel + _log_K() - log_abs_c(100) - arb_of(Fraction(5, 2)) * flint.arb(100).log()
        return flint.arb(2).log() - ln_rel

    def point(pt):
        m = int(1 / pt[0])
        return flint.arb(2).log() - (
            log_abs_c(m) + arb_of(Fraction(5, 2)) * (flint.arb(m) / 100).log() - log_abs_c(100)
        )

    return [
        Problem(
            "|c_l| l^(5/2) <= 2 |c_100| 100^(5/2)",
            "printed exponent: |c_l| l^(5/2) within a factor 2 of its value at l = 100",
            margin,
            ((0, Fraction(1, 100)),),
            ("t",),
            strict=False,
            point_margin=point,
            snap=_even_m_in,
            reformulation="t = 1/l, ln(|c_l| l^(5/2)) = ln K + t Q(t) - (5/4) ln t",
        )
    ]


# ------------------------------------------------------------------ Parseval tail bound
def _tail_after(M):
    """1/2 - sum_{m <= M} c_m^2 (Parseval: sum_m c_m^2 = E relu(G)^2 = 1/2), as a ball."""
    pi = _pi()
    total = 1 / (2 * pi) + flint.arb(1) / 4
    c2 = 1 / (4 * pi)
    m = 2
    while m <= M:
        total += c2
        c2 = c2 * (m - 1) ** 2 / ((m + 1) * (m + 2))
        m += 2
    return flint.arb(1) / 2 - total


@proof(
    "hermite.parseval",
    params={"M": 20000, "target_shift": Fraction(0)},
    mutations={
        "target_plus_1e-6": {"target_shift": Fraction(1, 10**6)},
        "target_minus_1e-6": {"target_shift": Fraction(-1, 10**6)},
    },
    domain="every even M >= 2: r_{m+2} < r_m for all even m >= 2 (t = 1/m in [0, 1/2], limit included), whence "
    "0 < 1/2 - sum_{m<=M} c_m^2 <= r_M^2 K^2/(3 M^(3/2)) by sum_{even m > M} m^(-5/2) <= M^(-3/2)/3 (integral "
    "comparison); and, directly in balls, the deficit at the tier's M",
    numeric="E[relu(G)^2] = 1/2 by quadrature (here it is the exact value 1/2)",
)
def _parseval(p):
    def mono(box):
        t = iv(*box[0])
        return -(log1p_quad(-t) - log1p_quad(t) / 2 + 3 * log1p_quad(2 * t))

    M, shift = int(p["M"]), Fraction(p["target_shift"])

    def deficit():
        return _tail_after(M) + arb_of(shift)

    def bound():
        r2 = (2 * (log_abs_c(M) + arb_of(Fraction(5, 4)) * flint.arb(M).log() - _log_K())).exp()
        return r2 * (2 * _log_K()).exp() / (3 * flint.arb(M).sqrt() ** 3)

    return [
        Problem(
            "r_(m+2) < r_m",
            "r_m = |c_m| m^(5/4)/K decreases along even m >= 2",
            mono,
            ((0, Fraction(1, 2)),),
            ("t",),
            strict=True,
            reformulation="ln(r_(m+2)/r_m) = ln(1-t) - ln(1+t)/2 + (3/4) ln(1+2t) = t^2 [l(-t) - l(t)/2 + 3 l(2t)] with "
            "l(y) = (ln(1+y) - y)/y^2 (the linear terms cancel exactly); margin = minus the bracket",
        ),
        Problem(
            "deficit > 0",
            f"1/2 + shift - sum_(m<={M}) c_m^2 > 0",
            lambda box: deficit(),
            [((M, M),)],
            ("M",),
            strict=True,
        ),
        Problem(
            "deficit <= bound",
            f"1/2 + shift - sum_(m<={M}) c_m^2 <= r_M^2 K^2/(3 M^(3/2))",
            lambda box: bound() - deficit(),
            [((M, M),)],
            ("M",),
            strict=False,
        ),
    ]


from . import _proof_specs_cdgkm, _proof_specs_more  # noqa: E402,F401  (register the remaining specs)
