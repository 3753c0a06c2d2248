"""High-precision audit path: the same estimates accumulated in mpmath, and their float64 error.

For small ``n`` these functions recompute an estimate with every operation carried out in an
explicit mpmath context at ``dps`` decimal digits (plus guard digits; results rounded to
``dps``): the samples, labels, ``g`` and ``V`` are taken as the exact binary numbers they are
in float64, the contraction vector is normalized exactly (``g / |g|``), Hermite values come
from the normalized recurrence at working precision and the sums are exact to working
precision.  :func:`rounding_error` compares a float64 estimate with this reference on the same
samples -- the way to check numerical stability at high degree (e.g. ``l = 2k + 2 = 22``).
Global mpmath state (``mpmath.mp.dps``) is never touched.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import _mp
from .._validation import check_int
from ..hermite.numeric import contraction_scales
from ..network import MAX_TENSOR_ENTRIES
from ._tensor import TensorQuery
from .api import _check_transform, _data, build_query, contraction_matvec, hermite_moment, moment_contraction

__all__ = ["moment_contraction_mp", "contraction_matvec_mp", "hermite_moment_mp", "rounding_error", "RoundingReport"]


def _prepare(X, y, transform, caller):
    """Float64 arrays of the (small) data set and its labels, validated."""
    X, y, n, d = _data(X, y, caller)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{caller}: X must be finite")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{caller}: y must be finite")
    if transform is not None:
        y = np.asarray(_check_transform(transform, caller)(X, y), dtype=np.float64)
        if y.shape != (n,) or not np.all(np.isfinite(y)):
            raise ValueError(f"{caller}: transform must return {n} finite labels")
    return X, y, n, d


def _hermite_tail(ctx, t, l):
    """``h_{l-2}(t), h_{l-1}(t), h_l(t)`` at the context's precision (``l >= 2``)."""
    vals = [ctx.mpf(1), t]
    for j in range(1, l):
        vals.append((t * vals[j] - ctx.sqrt(j) * vals[j - 1]) / ctx.sqrt(j + 1))
    return vals[l - 2], vals[l - 1], vals[l]


def _terms(X, y, l, g, V, ctx):
    """Yield the per-sample terms (lists of mpf, flattened) of the chosen estimate."""
    n, d = X.shape
    rows = X.tolist()
    labels = y.tolist()
    if l == 0:
        for w in labels:
            yield [ctx.mpf(w)]
        return
    if l == 1:
        for x, w in zip(rows, labels):
            yield [ctx.mpf(w) * ctx.mpf(v) for v in x]
        return
    gs = [ctx.mpf(v) for v in g]
    norm = ctx.sqrt(ctx.fsum(v * v for v in gs))
    gs = [v / norm for v in gs]
    a, b, c = (ctx.mpf(v) for v in contraction_scales(l, dps=ctx.dps))
    Vm = None if V is None else [[ctx.mpf(v) for v in row] for row in V.tolist()]
    for x, w in zip(rows, labels):
        xs = [ctx.mpf(v) for v in x]
        t = ctx.fdot(gs, xs)
        yv = [xv - t * gv for xv, gv in zip(xs, gs)]
        hl2, hl1, hl = _hermite_tail(ctx, t, l)
        wv = ctx.mpf(w)
        alpha, beta, gamma = a * wv * hl, b * wv * hl1, c * wv * hl2
        u = alpha + gamma
        T = [
            [
                gamma * yv[i] * yv[j]
                + beta * (gs[i] * yv[j] + yv[i] * gs[j])
                + u * gs[i] * gs[j]
                - (gamma if i == j else 0)
                for j in range(d)
            ]
            for i in range(d)
        ]
        if Vm is None:
            yield [v for row in T for v in row]
        else:
            r = len(Vm[0])
            yield [ctx.fdot(T[i], [Vm[k][j] for k in range(d)]) for i in range(d) for j in range(r)]


def _accumulate(terms, n, dps):
    """Mean and mean absolute value (the envelope) of the per-sample terms, rounded to ``dps``."""
    total = absolute = None
    for term in terms:
        if total is None:
            total = list(term)
            absolute = [abs(v) for v in term]
        else:
            for i, v in enumerate(term):
                total[i] += v
                absolute[i] += abs(v)
    rnd = _mp.rounder(dps)
    mean = np.array([rnd(v / n) for v in total], dtype=object)
    env = np.array([rnd(v / n) for v in absolute], dtype=object)
    return mean, env


def _mp_estimate(X, y, l, g, V, dps, full_tensor, caller):
    n, d = X.shape
    ctx = _mp.context(dps)
    if full_tensor and l >= 2:
        query = TensorQuery(d, l)
        terms = _tensor_terms(X, y, l, query, ctx)
        mean, env = _accumulate(terms, n, dps)
        return query.scatter(mean), query.scatter(env)
    mean, env = _accumulate(_terms(X, y, l, g, V, ctx), n, dps)
    if l == 0:
        return mean[0], env[0]
    if l == 1:
        return mean, env
    shape = (d, d) if V is None else (d, V.shape[1])
    return mean.reshape(shape), env.reshape(shape)


def _tensor_terms(X, y, l, query, ctx):
    combos = query.combos.tolist()
    inv = 1 / ctx.sqrt(ctx.factorial(l))
    for x, w in zip(X.tolist(), y.tolist()):
        he = []
        for v in x:  # He_0..He_l at x_j by the unnormalized recurrence (exact inputs, high precision)
            xv = ctx.mpf(v)
            vals = [ctx.mpf(1), xv]
            for j in range(1, l):
                vals.append(xv * vals[j] - j * vals[j - 1])
            he.append(vals)
        wv = ctx.mpf(w) * inv
        out = []
        for row in combos:
            counts = {}
            for j in row:
                counts[j] = counts.get(j, 0) + 1
            p = wv
            for j, cnt in counts.items():
                p *= he[j][cnt]
            out.append(p)
        yield out


def moment_contraction_mp(X, y, l, g=None, *, dps=50, transform=None):
    """:func:`~verified_relu.moments.moment_contraction` in mpmath at ``dps`` digits (small ``n``).

    Returns an mpf (``l = 0``) or an object array of mpf (``(d,)`` for ``l = 1``, ``(d, d)``).
    """
    caller = "moment_contraction_mp"
    X, y, n, d = _prepare(X, y, transform, caller)
    dps = _mp.check_dps(dps)
    q = build_query(d, l, g, caller=caller)
    return _mp_estimate(X, y, q.l, getattr(q, "g", None), None, dps, False, caller)[0]


def contraction_matvec_mp(X, y, l, g, V, *, dps=50, transform=None):
    """:func:`~verified_relu.moments.contraction_matvec` in mpmath at ``dps`` digits; ``(d, r)`` objects."""
    caller = "contraction_matvec_mp"
    X, y, n, d = _prepare(X, y, transform, caller)
    dps = _mp.check_dps(dps)
    q = build_query(d, l, g, V, caller=caller)
    ((lv, Vv),) = q.pairs
    out = _mp_estimate(X, y, lv, q.g, Vv, dps, False, caller)[0]
    return out[:, 0] if np.ndim(V) == 1 else out


def hermite_moment_mp(X, y, l, *, dps=50, transform=None, max_entries=MAX_TENSOR_ENTRIES):
    """:func:`~verified_relu.moments.hermite_moment` in mpmath at ``dps`` digits, from the
    definition ``prod_j He_{n_j}(x_j) / sqrt(l!)`` (unnormalized recurrence, exact inputs)."""
    caller = "hermite_moment_mp"
    X, y, n, d = _prepare(X, y, transform, caller)
    dps = _mp.check_dps(dps)
    q = build_query(d, l, full_tensor=True, max_entries=max_entries, caller=caller)
    return _mp_estimate(X, y, q.l, None, None, dps, True, caller)[0]


@dataclasses.dataclass(frozen=True)
class RoundingReport:
    """Float64 rounding error of an estimate, measured against the mpmath path on the same samples.

    Attributes
    ----------
    estimate : float or ndarray
        The float64 estimate (as returned by the public function).
    reference : mpf or ndarray of mpf
        The mpmath estimate at ``dps`` digits.
    abs_error : float or ndarray
        ``|estimate - reference|`` entrywise (rounded to float64).
    max_abs_error : float
    scale : float
        ``max |reference|``.
    envelope : float
        ``max`` over entries of ``(1/n) sum_a |T_a|`` (``T_a`` the per-sample terms): the size
        against which float64 summation and recurrence errors are naturally measured.
    rel_error : float
        ``max_abs_error / scale``.
    digits : float
        ``-log10(rel_error)``: correct significant digits relative to the largest entry
        (``inf`` when the float64 value is exact).
    envelope_digits : float
        ``-log10(max_abs_error / envelope)``.
    dps : int
    """

    estimate: object
    reference: object
    abs_error: object
    max_abs_error: float
    scale: float
    envelope: float
    rel_error: float
    digits: float
    envelope_digits: float
    dps: int


def rounding_error(X, y, l, g=None, *, V=None, full_tensor=False, dps=50, transform=None):
    """Report the float64 rounding error of an estimate on the given (small) samples.

    Runs the float64 estimator (:func:`moment_contraction`, :func:`contraction_matvec` when
    ``V`` is given, :func:`hermite_moment` when ``full_tensor``) and the mpmath path at ``dps``
    digits on the same ``(X, y)`` and returns a :class:`RoundingReport`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 3)); y = np.abs(X[:, 0])
    >>> rep = rounding_error(X, y, 22, np.array([1.0, 0.0, 0.0]))
    >>> rep.digits > 10
    True
    """
    caller = "rounding_error"
    dps = _mp.check_dps(dps)
    Xf, yf, n, d = _prepare(X, y, transform, caller)
    if full_tensor:
        est = hermite_moment(Xf, yf, l)
        ref, env = _mp_estimate(Xf, yf, check_int(l, "l", minimum=0, caller=caller), None, None, dps, True, caller)
    elif V is not None:
        est = contraction_matvec(Xf, yf, l, g, V)
        q = build_query(d, l, g, V, caller=caller)
        ((lv, Vv),) = q.pairs
        ref, env = _mp_estimate(Xf, yf, lv, q.g, Vv, dps, False, caller)
        if np.ndim(V) == 1:
            ref, env = ref[:, 0], env[:, 0]
    else:
        est = moment_contraction(Xf, yf, l, g)
        q = build_query(d, l, g, caller=caller)
        ref, env = _mp_estimate(Xf, yf, q.l, getattr(q, "g", None), None, dps, False, caller)
    ctx = _mp.context(dps)
    ref_arr = np.asarray(ref, dtype=object).reshape(-1)
    est_arr = np.asarray(est, dtype=np.float64).reshape(-1)
    errs = np.array([float(abs(ctx.mpf(float(e)) - ctx.mpf(r))) for e, r in zip(est_arr, ref_arr)])
    scale = max(float(abs(ctx.mpf(r))) for r in ref_arr)
    envelope = max(float(ctx.mpf(v)) for v in np.asarray(env, dtype=object).reshape(-1))
    max_err = float(errs.max())

    def digits(err, size):
        if err == 0:
            return math.inf
        return -math.log10(err / size) if size > 0 else -math.inf

    abs_error = float(errs[0]) if np.ndim(est) == 0 else errs.reshape(np.shape(est))
    return RoundingReport(
        estimate=est,
        reference=ref,
        abs_error=abs_error,
        max_abs_error=max_err,
        scale=scale,
        envelope=envelope,
        rel_error=max_err / scale if scale > 0 else math.inf,
        digits=digits(max_err, scale),
        envelope_digits=digits(max_err, envelope),
        dps=dps,
    )
