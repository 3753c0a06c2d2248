"""Input validation shared by the public API.

Every error names the argument (and the caller, when given) and says what was expected.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["as_array", "as_matrix", "as_vector", "check_int", "check_real", "check_rng"]


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
