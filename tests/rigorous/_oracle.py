"""Exact oracles for the ball tests: an Arb ball's midpoint and radius as exact rationals, and
containment of an exact sympy value decided by sympy's own certified evaluation."""

from fractions import Fraction

import sympy as sp


def exact_rational(x):
    """An arf-valued arb (midpoint or radius) as an exact sympy Rational (no float on the way)."""
    man, exp = x.man_exp()
    man, exp = int(man), int(exp)
    return sp.Rational(man) * sp.Integer(2) ** exp


def mid_rad(ball):
    return exact_rational(ball.mid()), exact_rational(ball.rad())


def contains(ball, value, digits=80):
    """Whether the exact sympy number ``value`` lies in ``ball`` (``|value - mid| <= rad``)."""
    mid, rad = mid_rad(ball)
    gap = sp.Abs(sp.sympify(value) - mid) - rad
    return bool(sp.N(gap, digits) <= 0)


def rational(v):
    """A float64 as the exact sympy Rational it is."""
    f = Fraction(float(v))
    return sp.Rational(f.numerator, f.denominator)


def relative_radius(ball):
    mid, rad = mid_rad(ball)
    return float(rad / abs(mid)) if mid != 0 else float("inf")
