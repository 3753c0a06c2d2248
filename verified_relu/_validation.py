"""Input validation shared by the public API.

Every error names the argument (and the caller, when given) and says what was expected.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "BOOLEAN",
    "NONE",
    "Interval",
    "Options",
    "Sequence",
    "as_array",
    "as_matrix",
    "as_vector",
    "check_int",
    "check_option_names",
    "check_params",
    "check_real",
    "check_rng",
]


def _where(caller):
    return f"{caller}: " if caller else ""


def as_array(value, name, *, ndim=None, caller=None, finite=True, dtype=np.float64, copy=False):
    """Convert to a float array, checking the number of dimensions and finiteness."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{_where(caller)}{name} must be numeric, got {type(value).__name__}")
    try:
        arr = np.array(value, dtype=dtype, copy=copy) if copy else np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{_where(caller)}{name} must be a real numeric array, got {type(value).__name__}") from exc
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{_where(caller)}{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if finite and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{_where(caller)}{name} must be finite, found {bad} NaN/inf value(s)")
    return arr


def as_matrix(value, name, *, cols=None, caller=None, min_rows=1, finite=True):
    """A 2-D float array ``(rows, cols)``; ``cols`` checked when given."""
    arr = as_array(value, name, ndim=2, caller=caller, finite=finite)
    if arr.shape[0] < min_rows:
        raise ValueError(f"{_where(caller)}{name} must have at least {min_rows} row(s), got shape {arr.shape}")
    if cols is not None and arr.shape[1] != cols:
        raise ValueError(f"{_where(caller)}{name} must have {cols} columns, got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{_where(caller)}{name} must have at least one column, got shape {arr.shape}")
    return arr


def as_vector(value, name, *, length=None, caller=None, finite=True):
    """A 1-D float array, with ``length`` checked when given."""
    arr = as_array(value, name, ndim=1, caller=caller, finite=finite)
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"{_where(caller)}{name} must have length {length}, got {arr.shape[0]}")
    return arr


def check_int(value, name, *, minimum=None, maximum=None, caller=None):
    """An ``int`` (not bool, not float) within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{_where(caller)}{name} must be an int, got {type(value).__name__} ({value!r})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{_where(caller)}{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{_where(caller)}{name} must be <= {maximum}, got {value}")
    return value


def check_real(value, name, *, minimum=None, maximum=None, strict_min=False, caller=None):
    """A finite real number within bounds (``strict_min`` makes the lower bound exclusive)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{_where(caller)}{name} must be a real number, got {type(value).__name__} ({value!r})")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{_where(caller)}{name} must be finite, got {value}")
    if minimum is not None and (value <= minimum if strict_min else value < minimum):
        op = ">" if strict_min else ">="
        raise ValueError(f"{_where(caller)}{name} must be {op} {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{_where(caller)}{name} must be <= {maximum}, got {value}")
    return value


def check_rng(rng, name="rng", caller=None):
    """``np.random.default_rng(rng)`` (SPEC 7), with a clear error for unusable seeds."""
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{_where(caller)}{name} must be None, an int seed, a SeedSequence or a Generator, got {type(rng).__name__}"
        ) from exc


# ----------------------------------------------------------------------------- declarative options
# In the spirit of scikit-learn's ``_parameter_constraints``: each options dataclass declares, per
# field, the constraints a value may satisfy, and :func:`check_params` checks them all.  One
# exception type per kind of mistake: a value of the wrong type (a bool or a float where an int
# is needed, a string where a number is) raises ``TypeError``; a value of the right type outside
# its range (including a non-finite real) raises ``ValueError``; an unknown option raises
# ``TypeError`` (:func:`check_option_names`).  Every message names the caller and the option.


def _finite(value):
    if hasattr(value, "_mpf_"):  # mpmath: a theory profile's values lie far outside float range
        import mpmath

        return bool(mpmath.isfinite(value))
    return bool(np.isfinite(float(value)))


class Interval:
    """Numbers of ``kind`` (``"int"`` or ``"real"``) between ``low`` and ``high`` (None: unbounded).

    ``closed`` is ``"both"`` (default), ``"left"``, ``"right"`` or ``"neither"``.  Reals must be
    finite.  ``bool`` is never a number here.

    >>> Interval("int", 1, None).describe()
    'an int >= 1'
    >>> Interval("real", 0, 1, closed="neither").describe()
    'a finite real in (0, 1)'
    """

    def __init__(self, kind, low=None, high=None, *, closed="both"):
        if kind not in ("int", "real"):
            raise ValueError(f"Interval: kind must be 'int' or 'real', got {kind!r}")
        if closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"Interval: closed must be 'both', 'left', 'right' or 'neither', got {closed!r}")
        self.kind, self.low, self.high, self.closed = kind, low, high, closed

    def type_ok(self, value):
        if isinstance(value, (bool, np.bool_)):
            return False
        return isinstance(value, numbers.Integral if self.kind == "int" else numbers.Real)

    def in_range(self, value):
        if self.kind == "real" and not _finite(value):
            return False
        lo_closed = self.closed in ("both", "left")
        hi_closed = self.closed in ("both", "right")
        if self.low is not None and (value < self.low if lo_closed else value <= self.low):
            return False
        if self.high is not None and (value > self.high if hi_closed else value >= self.high):
            return False
        return True

    def describe(self):
        noun = "an int" if self.kind == "int" else "a finite real"
        lo, hi = self.low, self.high
        if lo is not None and hi is not None:
            left = "[" if self.closed in ("both", "left") else "("
            right = "]" if self.closed in ("both", "right") else ")"
            return f"{noun} in {left}{lo}, {hi}{right}"
        if lo is not None:
            return f"{noun} {'>=' if self.closed in ('both', 'left') else '>'} {lo}"
        if hi is not None:
            return f"{noun} {'<=' if self.closed in ('both', 'right') else '<'} {hi}"
        return noun


class Options:
    """One of a fixed set of values (compared with ``==``; the type must match one of them)."""

    def __init__(self, *values):
        self.values = values

    def type_ok(self, value):
        return any(type(value) is type(v) or (isinstance(v, str) and isinstance(value, str)) for v in self.values)

    def in_range(self, value):
        return value in self.values

    def describe(self):
        return "one of " + ", ".join(repr(v) for v in self.values)


class _Boolean:
    def type_ok(self, value):
        return isinstance(value, (bool, np.bool_))

    def in_range(self, value):
        return True

    def describe(self):
        return "a bool"


class _NoneConstraint:
    def type_ok(self, value):
        return value is None

    def in_range(self, value):
        return True

    def describe(self):
        return "None"


class Sequence:
    """A non-empty tuple or list whose every entry satisfies ``item`` (an :class:`Interval`)."""

    def __init__(self, item, *, min_length=1):
        self.item, self.min_length = item, min_length

    def type_ok(self, value):
        return isinstance(value, (tuple, list)) and all(self.item.type_ok(v) for v in value)

    def in_range(self, value):
        return len(value) >= self.min_length and all(self.item.in_range(v) for v in value)

    def describe(self):
        return f"a sequence of at least {self.min_length} entries, each {self.item.describe()}"


BOOLEAN = _Boolean()
NONE = _NoneConstraint()


def check_params(params, constraints, caller):
    """Check every field of the dataclass instance ``params`` named in ``constraints``.

    ``constraints`` maps a field name to a list of constraints (:class:`Interval`,
    :class:`Options`, :class:`Sequence`, :data:`BOOLEAN`, :data:`NONE`); the value must satisfy
    one of them.  ``TypeError`` when no constraint accepts the value's type, ``ValueError`` when
    one does but the value is out of its range; both name ``caller`` and the field.

    >>> import dataclasses
    >>> @dataclasses.dataclass
    ... class P:
    ...     steps: int = 3
    >>> check_params(P(steps=0), {"steps": [Interval("int", 1)]}, "learn")
    Traceback (most recent call last):
    ...
    ValueError: learn: steps must be an int >= 1, got 0
    >>> check_params(P(steps=2.0), {"steps": [Interval("int", 1)]}, "learn")
    Traceback (most recent call last):
    ...
    TypeError: learn: steps must be an int >= 1, got float (2.0)
    """
    for name, allowed in constraints.items():
        value = getattr(params, name)
        typed = [c for c in allowed if c.type_ok(value)]
        want = " or ".join(c.describe() for c in allowed)
        if not typed:
            raise TypeError(f"{_where(caller)}{name} must be {want}, got {type(value).__name__} ({value!r})")
        if not any(c.in_range(value) for c in typed):
            raise ValueError(f"{_where(caller)}{name} must be {want}, got {value!r}")


def check_option_names(options, allowed, caller, method=None):
    """``TypeError`` naming the unknown keys of ``options`` (and listing the valid ones)."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        what = f" for method {method!r}" if method else ""
        raise TypeError(f"{_where(caller)}unknown option(s) {unknown}{what}; valid: {sorted(allowed)}")
