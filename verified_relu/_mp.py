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
