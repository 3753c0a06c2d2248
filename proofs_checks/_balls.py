"""Ball enclosures of the special functions the proved claims need (python-flint Arb).

Every function takes :class:`flint.arb` balls (or builds them from exact rationals) and returns a
ball containing the exact value for every point of the input ball; they run at the caller's
precision (:func:`proofs_checks.prover.prove` sets it with ``flint.ctx.workprec``).

Functions with a removable singularity at 0 (``(sin t - t cos t)/t^3``, ``(ln(1+y) - y)/y^2``,
...) are evaluated by their Taylor series with an explicit bound on the remainder when the
ball is near 0, and directly otherwise.
"""

from __future__ import annotations

from fractions import Fraction

import flint

from .prover import arb_of

__all__ = [
    "abs_c",
    "even_series",
    "expm1_over",
    "log1p_quad",
    "log_abs_c",
    "sin_minus_tcos_over_t3",
    "t_minus_sin_over_t3",
]

_N_TERMS = 24


def _tail_ball(bound):
    return flint.arb(0, bound.upper()) if isinstance(bound, flint.arb) else flint.arb(0, bound)


def even_series(coef, t, n=_N_TERMS):
    """``sum_{k>=0} coef(k) t^(2k)`` for a ball ``t`` with ``|t| <= 1``, where ``coef(k)`` is an
    exact rational with ``|coef(k+1)| <= |coef(k)|/2`` for ``k >= n`` (true of every coefficient
    here: each is a polynomial in k over a factorial (2k+1)! or (2k+3)!); the remainder after
    ``n`` terms is then at most ``2 |coef(n)|``.  Horner in ``y = t^2``."""
    y = t * t
    acc = flint.arb(0)
    for k in reversed(range(n)):
        acc = acc * y + arb_of(coef(k))
    rem = 2 * abs(arb_of(coef(n))) * y.abs_upper() ** n
    return acc + _tail_ball(rem)


def _fact(n):
    out = 1
    for j in range(2, n + 1):
        out *= j
    return out


def _near_zero(t, cut=Fraction(1)):
    return bool(t.abs_upper() <= arb_of(cut))


def sin_minus_tcos_over_t3(t):
    """``(sin t - t cos t)/t^3 = sum_{k>=1} (-1)^(k+1) 2k t^(2k-2)/(2k+1)!`` (1/3 at 0)."""
    if _near_zero(t):
        return even_series(lambda k: Fraction((-1) ** k * 2 * (k + 1), _fact(2 * k + 3)), t)
    s, c = t.sin_cos()
    return (s - t * c) / t**3


def t_minus_sin_over_t3(t):
    """``(t - sin t)/t^3 = sum_{k>=1} (-1)^(k+1) t^(2k-2)/(2k+1)!`` (1/6 at 0)."""
    if _near_zero(t):
        return even_series(lambda k: Fraction((-1) ** k, _fact(2 * k + 3)), t)
    return (t - t.sin()) / t**3


def log1p_quad(y):
    """``(ln(1+y) - y)/y^2 = sum_{k>=2} (-1)^(k+1) y^(k-2)/k`` (-1/2 at 0), for ``y > -1``.

    Near 0 (``|y| <= 1/4``) the series with remainder ``|y|^n/((n+2)(1-|y|))``; otherwise direct."""
    if bool(y.abs_upper() <= arb_of(Fraction(1, 4))):
        n = 40
        acc = flint.arb(0)
        for k in reversed(range(n)):
            acc = acc * y + arb_of(Fraction((-1) ** (k + 1), k + 2))
        a = y.abs_upper()
        rem = a**n / ((n + 2) * (1 - a))
        return acc + _tail_ball(rem)
    return ((y).log1p() - y) / (y * y)


def expm1_over(x):
    """``(e^x - 1)/x`` (1 at 0), increasing in x: the ball spanned by its values at the ends."""

    def at(e):
        return flint.arb(1) if e == 0 else e.expm1() / e

    lo, hi = x.lower(), x.upper()
    if bool(lo > 0) or bool(hi < 0):
        return x.expm1() / x
    return at(lo).union(at(hi))


def log_abs_c(m):
    """``ln |c_m|`` for even ``m >= 2`` (an integer): ``|c_m| = (m-3)!!/sqrt(2 pi m!)``
    ``= 2^((m-2)/2) Gamma((m-1)/2) / (pi sqrt(2) sqrt(Gamma(m+1)))``, by Arb's ``lgamma``."""
    m = int(m)
    if m < 2 or m % 2:
        raise ValueError(f"log_abs_c: m must be an even integer >= 2, got {m}")
    two, pi = flint.arb(2), flint.arb.pi()
    return (
        flint.arb(m - 2) / 2 * two.log()
        + (flint.arb(m - 1) / 2).lgamma()
        - pi.log()
        - two.log() / 2
        - flint.arb(m + 1).lgamma() / 2
    )


def abs_c(m):
    return log_abs_c(m).exp()
