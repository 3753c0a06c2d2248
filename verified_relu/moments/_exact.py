"""Exact (error-free) summation of float64 arrays, independent of the order of the terms.

An :class:`ExactSum` holds a vector as an unevaluated sum of float64 component arrays
``c_0 + c_1 + ...`` (entry by entry).  Adding an array cascades Knuth's TwoSum through the
components, which is *error-free*: after every operation ``sum_j c_j`` equals the exact real
sum of everything added so far (barring overflow, which is detected).  :meth:`ExactSum.value`
returns that exact sum correctly rounded to float64 (:func:`correctly_rounded`: what ``math.fsum``
gives per entry, mostly without calling it), so the result is
a function of the multiset of added arrays only -- bitwise independent of their order and of
how they were grouped (merging two sums is exact too).

Cost: one cascade is a handful of vectorized flops per entry per component; the number of
components stays small (it grows by one only when the last component's TwoSum is inexact
somewhere, and is bounded by the float64 exponent range).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ExactSum", "correctly_rounded"]

_EPS = float(np.finfo(np.float64).eps)


def correctly_rounded(components):
    """``sum_j components[j]``, exact, correctly rounded to float64 entry by entry (as ``math.fsum``).

    Vectorized first: two error-free sweeps of TwoSum (from the last component to the first) leave
    the first component ``t`` a float sum and the others an exact remainder; where the remainder,
    widened by a bound on its own rounding (``4 m eps`` times the sum of its magnitudes, ``m``
    terms), lies strictly within half the gap from ``t`` to its neighbouring float on each side
    (the gap towards zero is half as wide at a power of two), ``t`` is the correctly rounded sum.
    The other entries (ties, cancellation, a zero sum and its sign, overflow) go through
    ``math.fsum``.  The result is the same either way: the test only decides which entries need
    the slow path.
    """
    parts = [np.asarray(c, dtype=np.float64) for c in components]
    m = len(parts)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(2):
            carry = parts[-1]
            for j in range(m - 2, -1, -1):
                c = parts[j]
                t = c + carry
                bb = t - c
                parts[j + 1] = (c - (t - bb)) + (carry - bb)  # TwoSum: c + carry == t + error exactly
                carry = t
            parts[0] = carry
        top = parts[0]
        rest = np.sum(parts[1:], axis=0)
        rest_abs = np.sum(np.abs(parts[1:]), axis=0)
        # the exact remainder lies within `slack` of `rest` (away from zero counts positive)
        away = np.where(top < 0, -rest, rest)
        slack = 4.0 * m * _EPS * rest_abs * (1.0 + 4.0 * _EPS) + 4.0 * _EPS * np.abs(rest)
        mag = np.abs(top)
        up = np.spacing(mag)  # the gap to the next float away from zero
        down = mag - np.nextafter(mag, 0.0)  # and towards zero (half as wide at a power of two)
        inside = (away + slack < up / 2.0) & (away - slack > -down / 2.0)
        ok = (top != 0) & np.isfinite(top) & np.isfinite(slack) & ((rest_abs == 0) | inside)
    out = np.where(ok, top, 0.0)
    slow = np.flatnonzero(~ok)
    if slow.size:
        stacked = np.stack([np.asarray(c, dtype=np.float64)[slow] for c in components], axis=1)
        out[slow] = [math.fsum(row) for row in stacked.tolist()]
    return out


class ExactSum:
    """Order-independent exact sum of float64 arrays of a fixed ``size``."""

    __slots__ = ("size", "components", "count")

    def __init__(self, size):
        self.size = int(size)
        self.components = []
        self.count = 0  # number of arrays added (for diagnostics only)

    def add(self, values):
        """Add a float64 array of length ``size`` exactly."""
        x = np.array(values, dtype=np.float64, copy=True).reshape(-1)
        if x.shape[0] != self.size:
            raise ValueError(f"ExactSum.add: expected {self.size} values, got {x.shape[0]}")
        if not np.all(np.isfinite(x)):
            raise FloatingPointError("ExactSum.add: non-finite partial sum (overflow or NaN in the data)")
        self.count += 1
        self._cascade(x)

    def _cascade(self, x):
        comps = self.components
        for j, c in enumerate(comps):
            s = c + x
            bb = s - c
            err = (c - (s - bb)) + (x - bb)  # TwoSum: c + x == s + err exactly
            if not np.all(np.isfinite(s)):
                raise FloatingPointError("ExactSum: overflow while accumulating")
            comps[j] = s
            if not err.any():
                return
            x = err
        comps.append(x)

    def merge(self, other):
        """Add another :class:`ExactSum` (exactly)."""
        if not isinstance(other, ExactSum) or other.size != self.size:
            raise ValueError("ExactSum.merge: other must be an ExactSum of the same size")
        for c in other.components:
            self._cascade(c.copy())
        self.count += other.count
        return self

    def copy(self):
        out = ExactSum(self.size)
        out.components = [c.copy() for c in self.components]
        out.count = self.count
        return out

    def value(self):
        """The exact sum, correctly rounded to float64 entry by entry."""
        if not self.components:
            return np.zeros(self.size)
        if len(self.components) == 1:
            return self.components[0].copy()
        return correctly_rounded(self.components)

    def __getstate__(self):
        return {"size": self.size, "components": self.components, "count": self.count}

    def __setstate__(self, state):
        self.size = state["size"]
        self.components = state["components"]
        self.count = state["count"]
