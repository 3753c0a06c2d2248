"""Private helpers for explicit-precision mpmath work.

Library code never touches ``mpmath.mp.dps``: every routine builds its own
:class:`mpmath.MPContext` at the requested precision plus guard digits, computes there, and
rounds its results to the requested precision on exit.
"""

from __future__ import annotations

import numbers

import mpmath

GUARD_DIGITS = 10
MAX_DPS = 10_000


def check_dps(dps, name="dps"):
    """Validate a decimal-precision argument and return it as an int."""
    if isinstance(dps, bool) or not isinstance(dps, numbers.Integral):
        raise TypeError(f"{name} must be an int number of decimal digits, got {type(dps).__name__}")
    dps = int(dps)
    if not 15 <= dps <= MAX_DPS:
        raise ValueError(f"{name} must be between 15 and {MAX_DPS}, got {dps}")
    return dps


def context(dps, guard=GUARD_DIGITS):
    """A fresh mpmath context working at ``dps + guard`` decimal digits."""
    ctx = mpmath.MPContext()
    ctx.dps = check_dps(dps) + guard
    return ctx


def decimal_mpf(ctx, x):
    """``x`` as an mpf of ``ctx``, exactly as typed: ints and Fractions exactly, strings and mpf
    as given, floats by their shortest decimal ``repr`` (``0.1`` means 1/10, not the nearest
    binary double).  Used by the theory profiles, whose inputs are decimals a user typed."""
    if isinstance(x, numbers.Rational):
        return ctx.mpf(int(x.numerator)) / ctx.mpf(int(x.denominator))
    if isinstance(x, str) or hasattr(x, "_mpf_"):
        return ctx.mpf(x)
    return ctx.mpf(repr(float(x)))


def rounder(dps):
    """A function that rounds an mpf (of any context) to ``dps`` digits, as a plain ``mpmath.mpf``.

    The result belongs to mpmath's default context type but carries exactly the rounded bits;
    arithmetic on it afterwards happens at the caller's own working precision.
    """
    out = mpmath.MPContext()
    out.dps = check_dps(dps)
    make = mpmath.mp.make_mpf

    def _round(value):
        return make(out.mpf(value)._mpf_)

    return _round
