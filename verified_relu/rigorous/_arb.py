"""Small helpers around python-flint's Arb balls: a precision scope that restores flint's
global context, exact conversions of float64 data, and outward-rounded float summaries.

Every float64 is a binary rational, and ``flint.arb(float)`` holds it exactly (radius 0) at
any precision; the helpers below check that and never let a value pass through decimal text.
"""

from __future__ import annotations

import contextlib
import math
from fractions import Fraction
from numbers import Integral

import numpy as np

try:  # the optional dependency, named in the error where it is needed
    import flint
except ImportError:  # pragma: no cover - exercised only without the extra
    flint = None

#: Default working precision in bits.
DEFAULT_PREC = 128
#: Smallest and largest working precision accepted.
MIN_PREC, MAX_PREC = 53, 4096


def require_flint(caller):
    """Raise an ImportError naming the extra when python-flint is missing."""
    if flint is None:  # pragma: no cover
        raise ImportError(f"{caller}: needs python-flint (pip install 'verified_relu[rigorous]')")
    return flint


def check_prec(prec, caller):
    """``prec`` as an int number of bits in ``[MIN_PREC, MAX_PREC]``."""
    if isinstance(prec, bool) or not isinstance(prec, Integral):
        raise TypeError(f"{caller}: prec must be an int number of bits, got {type(prec).__name__}")
    prec = int(prec)
    if not MIN_PREC <= prec <= MAX_PREC:
        raise ValueError(f"{caller}: prec must be between {MIN_PREC} and {MAX_PREC} bits, got {prec}")
    return prec


@contextlib.contextmanager
def working_precision(prec):
    """Run the block with ``flint.ctx.prec = prec`` and restore the previous value on exit."""
    saved = flint.ctx.prec
    flint.ctx.prec = prec
    try:
        yield
    finally:
        flint.ctx.prec = saved


def exact(value, name="value", caller=None):
    """An exact ``arb`` for a finite float64 or int, or a rigorous ball for a ``Fraction``."""
    where = f"{caller}: " if caller else ""
    if isinstance(value, bool):
        raise TypeError(f"{where}{name} must be a real number, got bool")
    if isinstance(value, Integral):
        return flint.arb(int(value))
    if isinstance(value, Fraction):
        return flint.arb(flint.fmpq(value.numerator, value.denominator))
    if isinstance(value, flint.arb):
        return value
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{where}{name} must be a real number, got {type(value).__name__}") from exc
    if not math.isfinite(v):
        raise ValueError(f"{where}{name} must be finite, got {v!r}")
    out = flint.arb(v)
    if not out.is_exact():  # pragma: no cover - flint converts doubles exactly
        raise AssertionError("flint.arb(float) was not exact")
    return out


def arb_matrix(A):
    """``flint.arb_mat`` holding the float64 matrix ``A`` exactly."""
    A = np.asarray(A, dtype=np.float64)
    return flint.arb_mat(A.tolist()) if A.size else flint.arb_mat(A.shape[0], A.shape[1])


def column(values):
    """A ``(m, 1)`` ``arb_mat`` from a sequence of arb (or exact numbers)."""
    return flint.arb_mat([[v] for v in values])


def entries(M):
    """The entries of an ``arb_mat`` as a numpy object array of its shape."""
    return np.array(M.entries(), dtype=object).reshape(M.nrows(), M.ncols())


def ball(x):
    """``(mid, rad)`` as floats such that the ball ``[mid - rad, mid + rad]`` contains ``x``.

    ``mid`` is the float nearest Arb's midpoint and ``rad`` bounds ``|x - mid|`` from above
    (Arb's radius plus the rounding of the midpoint, rounded up).
    """
    mid = float(x.mid())
    rad = (abs(x - flint.arb(mid))).upper()
    return mid, upper_float(rad)


def upper_float(x):
    """The smallest float >= the upper end of the arb ``x`` (up to one ulp of slack)."""
    v = float(x.upper())
    return float(np.nextafter(v, np.inf)) if math.isfinite(v) else v


def lower_float(x):
    """A float <= the lower end of the arb ``x``."""
    v = float(x.lower())
    return float(np.nextafter(v, -np.inf)) if math.isfinite(v) else v


def relu(z):
    """An enclosure of ``max(z, 0)`` over the ball ``z``."""
    if z > 0:
        return z
    if z < 0:
        return flint.arb(0)
    up = z.upper()
    if up <= 0:
        return flint.arb(0)
    return flint.arb(up / 2, up / 2)
