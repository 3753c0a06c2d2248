"""Numeric Hermite layer: float64 fast path and explicit-precision mpmath path.

Conventions: probabilists' Hermite ``He_n``; normalized ``h_n = He_n / sqrt(n!)``, evaluated
only through the stable normalized three-term recurrence

    h_0 = 1,  h_1 = x,  h_{n+1}(x) = (x h_n(x) - sqrt(n) h_{n-1}(x)) / sqrt(n + 1),

never through the unnormalized ``He_n`` (whose values and coefficients overflow long before
``h_n`` does).  The float64 path rescales by powers of two while it recurses, so a value is
``inf`` only when ``h_n(x)`` itself exceeds the float64 range.

The exact constants (ReLU/abs Hermite coefficients, contraction-identity scales) come from the
generated module :mod:`verified_relu.hermite._generated`, written by the symbolic layer.
The mpmath path takes ``dps=`` explicitly and never changes mpmath's global precision.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np

from .. import _mp
from . import _generated as gen

__all__ = [
    "hermite_normalized",
    "relu_coefficients",
    "abs_coefficients",
    "contraction_scales",
    "hermite_tensor_contraction",
]

_RESCALE_AT = 2.0**500
_RESCALE_BITS = 500


def _check_n(n, name="n"):
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(n).__name__}")
    n = int(n)
    if n < 0:
        raise ValueError(f"{name} must be >= 0, got {n}")
    return n


def hermite_normalized(n, x, *, dps=None, compensated=True):
    """All normalized Hermite values ``h_0(x), ..., h_n(x)``.

    Parameters
    ----------
    n : int
        Highest degree, ``n >= 0``.
    x : float or array_like
        Evaluation points (finite).
    dps : int, optional
        If given, evaluate in mpmath at ``dps`` decimal digits (plus guard digits, rounded on
        exit) and return an object array of ``mpmath.mpf``.  Global mpmath state is untouched.
    compensated : bool, default True
        float64 path only.  ``True`` runs the recurrence in double-double arithmetic
        (error-free transformations, about 10x the cost), so each returned value is within a
        few ulps of ``h_m(x)`` even next to a zero of ``h_m``, where the plain recurrence's
        error (a few ulps of the local envelope ``sqrt(h_m^2 + h_{m-1}^2)``) is a large
        *relative* error.  ``False`` is the plain recurrence, for hot loops that only need
        envelope-relative accuracy (moment estimation).

    Returns
    -------
    ndarray, shape ``(n + 1,) + np.shape(x)``
        Row ``m`` holds ``h_m(x)``.  float64 unless ``dps`` is given.

    Examples
    --------
    >>> import numpy as np
    >>> h = hermite_normalized(2, np.array([0.0, 1.0]))
    >>> np.allclose(h[2], (np.array([0.0, 1.0]) ** 2 - 1) / np.sqrt(2))
    True
    """
    n = _check_n(n)
    if dps is not None:
        return _hermite_normalized_mp(n, x, dps)
    try:
        x = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"x must be real numbers, got {type(x).__name__}") from exc
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite (found NaN or inf)")
    if compensated:
        return _recurrence_dd(n, x)
    return _recurrence(n, x)


def _finish(out, exps):
    if np.any(exps):
        with np.errstate(over="ignore"):
            out = np.ldexp(out, exps)
    return out


def _recurrence(n, x):
    """Plain normalized recurrence with power-of-two rescaling (no overflow before the end)."""
    out = np.empty((n + 1,) + x.shape)
    exps = np.zeros((n + 1,) + x.shape, dtype=np.int64)
    prev = np.ones_like(x)
    out[0] = prev
    if n == 0:
        return out
    cur = x.copy()
    out[1] = cur
    exp = np.zeros(x.shape, dtype=np.int64)
    for j in range(1, n):
        nxt = (x * cur - np.sqrt(j) * prev) / np.sqrt(j + 1)
        prev, cur = cur, nxt
        big = np.maximum(np.abs(prev), np.abs(cur)) > _RESCALE_AT
        if np.any(big):
            prev = np.where(big, np.ldexp(prev, -_RESCALE_BITS), prev)
            cur = np.where(big, np.ldexp(cur, -_RESCALE_BITS), cur)
            exp = exp + big * _RESCALE_BITS
        out[j + 1] = cur
        exps[j + 1] = exp
    return _finish(out, exps)


# ---- double-double arithmetic (Dekker / Knuth error-free transformations) ----
_SPLITTER = 134217729.0  # 2**27 + 1


def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _quick_two_sum(a, b):
    s = a + b
    return s, b - (s - a)


def _split(a):
    c = _SPLITTER * a
    hi = c - (c - a)
    return hi, a - hi


def _two_prod(a, b):
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _dd_mul(ahi, alo, bhi, blo):
    p, e = _two_prod(ahi, bhi)
    return _quick_two_sum(p, e + (ahi * blo + alo * bhi))


def _dd_sub(ahi, alo, bhi, blo):
    s, e = _two_sum(ahi, -bhi)
    return _quick_two_sum(s, e + (alo - blo))


@functools.lru_cache(maxsize=16)
def _dd_sqrt_table(n):
    """``sqrt(j)`` and ``1/sqrt(j+1)`` for ``j < n`` as double-double pairs (hi, lo)."""
    ctx = _mp.context(40)
    tab = np.zeros((max(n, 1), 4))
    for j in range(n):
        for col, v in ((0, ctx.sqrt(j)), (2, 1 / ctx.sqrt(j + 1))):
            hi = float(v)
            tab[j, col] = hi
            tab[j, col + 1] = float(v - hi)
    tab.setflags(write=False)
    return tab


def _recurrence_dd(n, x):
    """The normalized recurrence in double-double, rescaled by powers of two."""
    out = np.empty((n + 1,) + x.shape)
    exps = np.zeros((n + 1,) + x.shape, dtype=np.int64)
    out[0] = 1.0
    if n == 0:
        return out
    out[1] = x
    tab = _dd_sqrt_table(n)
    p_hi, p_lo = np.ones_like(x), np.zeros_like(x)
    c_hi, c_lo = x.copy(), np.zeros_like(x)
    exp = np.zeros(x.shape, dtype=np.int64)
    for j in range(1, n):
        a_hi, a_lo = _dd_mul(c_hi, c_lo, x, 0.0)
        b_hi, b_lo = _dd_mul(p_hi, p_lo, tab[j, 0], tab[j, 1])
        d_hi, d_lo = _dd_sub(a_hi, a_lo, b_hi, b_lo)
        n_hi, n_lo = _dd_mul(d_hi, d_lo, tab[j, 2], tab[j, 3])
        p_hi, p_lo, c_hi, c_lo = c_hi, c_lo, n_hi, n_lo
        big = np.maximum(np.abs(p_hi), np.abs(c_hi)) > _RESCALE_AT
        if np.any(big):
            p_hi, p_lo, c_hi, c_lo = (np.where(big, np.ldexp(v, -_RESCALE_BITS), v) for v in (p_hi, p_lo, c_hi, c_lo))
            exp = exp + big * _RESCALE_BITS
        out[j + 1] = c_hi + c_lo
        exps[j + 1] = exp
    return _finish(out, exps)


def _hermite_normalized_mp(n, x, dps):
    ctx = _mp.context(dps)
    rnd = _mp.rounder(dps)
    arr = np.asarray(x, dtype=object)
    flat = []
    for v in arr.reshape(-1):
        try:
            xv = ctx.mpf(v)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"x must be real numbers, got {v!r}") from exc
        if not ctx.isfinite(xv):
            raise ValueError("x must be finite (found NaN or inf)")
        flat.append(xv)
    out = np.empty((n + 1, len(flat)), dtype=object)
    for i, xv in enumerate(flat):
        prev, cur = ctx.mpf(1), xv
        out[0, i] = rnd(prev)
        if n >= 1:
            out[1, i] = rnd(cur)
        for j in range(1, n):
            prev, cur = cur, (xv * cur - ctx.sqrt(j) * prev) / ctx.sqrt(j + 1)
            out[j + 1, i] = rnd(cur)
    return out.reshape((n + 1,) + arr.shape)


def _exact_value(ctx, entry):
    s, num, den, e = entry
    if s == 0:
        return ctx.mpf(0)
    return s * ctx.sqrt(ctx.mpf(num) / den / ctx.pi**e)


def _coefficients_mp(table, n, ctx):
    """``table`` values for ``m = 0..n``; beyond the table, the derived recurrence
    ``c_{m+2} = c_m (1 - m) / sqrt((m + 1)(m + 2))`` (valid for both relu and abs)."""
    vals = [_exact_value(ctx, table[m]) for m in range(min(n, gen.MAX_COEFFICIENT_DEGREE) + 1)]
    for m in range(len(vals), n + 1):
        vals.append(vals[m - 2] * (1 - (m - 2)) / ctx.sqrt((m - 1) * m))
    return vals


@functools.lru_cache(maxsize=64)
def _coefficients_float(which, n):
    ctx = _mp.context(30)
    table = gen.RELU_COEFFICIENTS if which == "relu" else gen.ABS_COEFFICIENTS
    arr = np.array([float(v) for v in _coefficients_mp(table, n, ctx)])
    arr.setflags(write=False)
    return arr


def _coefficients(which, n, dps):
    n = _check_n(n)
    if dps is None:
        return _coefficients_float(which, n).copy()
    ctx = _mp.context(dps)
    rnd = _mp.rounder(dps)
    table = gen.RELU_COEFFICIENTS if which == "relu" else gen.ABS_COEFFICIENTS
    return np.array([rnd(v) for v in _coefficients_mp(table, n, ctx)], dtype=object)


def relu_coefficients(n, *, dps=None):
    """``c_m = E[relu(G) h_m(G)]`` for ``m = 0..n`` (``h_m = He_m / sqrt(m!)``).

    Exact values from the generated table (correctly rounded to float64), continued beyond
    it by the derived recurrence evaluated at high precision.  With ``dps`` returns mpf.

    Examples
    --------
    >>> c = relu_coefficients(4)
    >>> bool(abs(c[2] - 0.5 / np.sqrt(np.pi)) < 1e-16)
    True
    """
    return _coefficients("relu", n, dps)


def abs_coefficients(n, *, dps=None):
    """``E[|G| h_m(G)]`` for ``m = 0..n`` (``2 c_m`` for even ``m``, 0 for odd ``m``)."""
    return _coefficients("abs", n, dps)


def contraction_scales(l, *, dps=None):
    """``(a_l, b_l, c_l)`` of the contraction identity (see the symbolic layer):

    ``S_l(x)[g^{l-2}] = a_l h_l(t) g g^T + b_l h_{l-1}(t) (g y^T + y g^T)
    + c_l h_{l-2}(t) (y y^T - P)`` for unit ``g``, ``t = <g,x>``, ``y = (I - g g^T) x``.
    """
    l = _check_n(l, "l")
    if l < 2:
        raise ValueError(f"l must be >= 2 for a contraction in l-2 modes, got {l}")
    if l > gen.MAX_CONTRACTION_DEGREE:
        raise ValueError(f"l must be <= {gen.MAX_CONTRACTION_DEGREE} (the generated table), got {l}")
    row = gen.CONTRACTION_SCALES[l - 2]
    ctx = _mp.context(30 if dps is None else dps)
    vals = [_exact_value(ctx, e) for e in row[1:]]
    if dps is None:
        return tuple(float(v) for v in vals)
    rnd = _mp.rounder(dps)
    return tuple(rnd(v) for v in vals)


def hermite_tensor_contraction(l, x, g, *, dps=None):
    """``S_l(x)[g^{l-2}, :, :]`` at one point ``x`` for a unit vector ``g`` (a ``(d, d)`` matrix).

    Evaluated through the contraction identity (see :func:`contraction_scales`); for
    ``l = 0`` returns ``1`` and for ``l = 1`` returns ``x`` (``g`` is then not used).
    With ``dps`` the result is an object array of mpf at that precision.
    """
    l = _check_n(l, "l")
    if dps is None:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 1 or not np.all(np.isfinite(x)):
            raise ValueError(f"x must be a finite 1-D vector, got shape {x.shape}")
        if l == 0:
            return np.float64(1.0)
        if l == 1:
            return x.copy()
        g = np.asarray(g, dtype=np.float64)
        if g.shape != x.shape or not np.all(np.isfinite(g)):
            raise ValueError(f"g must be a finite vector of length {x.shape[0]}, got shape {g.shape}")
        if abs(np.linalg.norm(g) - 1.0) > 1e-10:
            raise ValueError(f"g must be a unit vector, got norm {np.linalg.norm(g)!r}")
        a, b, c = contraction_scales(l)
        t = float(g @ x)
        y = x - t * g
        h = hermite_normalized(l, t)
        gy = np.outer(g, y)
        return (
            a * h[l] * np.outer(g, g)
            + b * h[l - 1] * (gy + gy.T)
            + c * h[l - 2] * (np.outer(y, y) - np.eye(len(x)) + np.outer(g, g))
        )
    ctx = _mp.context(dps)
    rnd = _mp.rounder(dps)
    xs = [ctx.mpf(v) for v in np.asarray(x, dtype=object).reshape(-1)]
    if l == 0:
        return rnd(ctx.mpf(1))
    if l == 1:
        return np.array([rnd(v) for v in xs], dtype=object)
    gs = [ctx.mpf(v) for v in np.asarray(g, dtype=object).reshape(-1)]
    if len(gs) != len(xs):
        raise ValueError(f"g must have length {len(xs)}, got {len(gs)}")
    if abs(ctx.sqrt(ctx.fsum(v * v for v in gs)) - 1) > ctx.mpf("1e-10"):
        raise ValueError("g must be a unit vector")
    a, b, c = (_exact_value(ctx, e) for e in gen.CONTRACTION_SCALES[l - 2][1:])
    t = ctx.fdot(gs, xs)
    y = [xv - t * gv for xv, gv in zip(xs, gs)]
    h = _hermite_normalized_mp(l, ctx.mpf(t), dps + _mp.GUARD_DIGITS)
    hl, hl1, hl2 = ctx.mpf(h[l]), ctx.mpf(h[l - 1]), ctx.mpf(h[l - 2])
    d = len(xs)
    out = np.empty((d, d), dtype=object)
    for i in range(d):
        for j in range(d):
            proj = (1 if i == j else 0) - gs[i] * gs[j]
            val = a * hl * gs[i] * gs[j] + b * hl1 * (gs[i] * y[j] + y[i] * gs[j]) + c * hl2 * (y[i] * y[j] - proj)
            out[i, j] = rnd(val)
    return out
