"""Per-block kernels: the partial sums one canonical block of samples contributes.

Every query turns a super-chunk of samples (a whole number of canonical blocks, the last one
possibly short when it ends the data set) into one row of partial sums *per canonical block*.
All matrix products are done per canonical block (fixed shapes), element-wise work over the
whole super-chunk (position independent in IEEE arithmetic), so a block's partial sums depend
only on the block's samples -- never on how the data was chunked.  The rows are then added to
an :class:`~verified_relu.moments._exact.ExactSum`.

Conventions: ``h_m = He_m / sqrt(m!)``; ``S_l(x)[i_1..i_l] = prod_j He_{n_j}(x_j) / sqrt(l!)``.
For unit ``g``, ``t = <g, x>``, ``y = P x``, ``P = I - g g^T`` the per-sample contraction is
(symbolic layer, :func:`verified_relu.hermite.symbolic.contraction_coefficients`)

    T = w [a h_l(t) g g^T + b h_{l-1}(t) (g y^T + y g^T) + c h_{l-2}(t) (y y^T - P)]
      = gamma y y^T + beta (g y^T + y g^T) + (alpha + gamma) g g^T - gamma I,

with ``alpha, beta, gamma = a w h_l(t), b w h_{l-1}(t), c w h_{l-2}(t)`` (``y y^T - P`` uses
``y perp g``).  Sums of ``T``, of ``T * T`` (entrywise) and of ``T @ T`` are rank-structured
in these per-sample scalars, which is what the kernels below accumulate.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from ..hermite.numeric import contraction_scales

__all__ = [
    "CANONICAL_BLOCK",
    "hermite_degrees",
    "ScalarQuery",
    "VectorQuery",
    "ContractionQuery",
    "MatvecQuery",
    "work",
]

#: Number of samples in a canonical block (the unit of the order-independent reduction).
CANONICAL_BLOCK = 4096


_LOCAL = threading.local()


def work(name, shape):
    """A reusable per-thread scratch array (contents undefined).

    The hot loops reuse their large temporaries instead of allocating (and page-faulting)
    fresh ones per chunk; each thread keeps its own buffers, at most a few times the size of
    one chunk of per-sample scalars or one canonical block of ``X``.
    """
    cache = getattr(_LOCAL, "cache", None)
    if cache is None:
        cache = _LOCAL.cache = {}
    size = math.prod(shape)
    buf = cache.get(name)
    if buf is None or buf.size < size:
        buf = np.empty(max(size, 1))
        cache[name] = buf
    return buf[:size].reshape(shape)


def hermite_degrees(t, degrees, scratch=None):
    """``{m: h_m(t)}`` for the requested degrees, by the normalized three-term recurrence.

    Only the last two degrees are kept while recursing (no ``(l+1, n)`` table).  The float
    operations are those of :func:`verified_relu.hermite.numeric.hermite_normalized` with
    ``compensated=False`` (envelope-relative accuracy); there is no rescaling, so a value that
    leaves the float64 range comes back non-finite and the caller raises.  With ``scratch``
    (a name prefix) the arrays live in the per-thread workspace (valid until the next call
    with the same prefix); otherwise they are freshly allocated.
    """
    degrees = sorted(set(degrees))
    top = degrees[-1]
    shape = np.shape(t)

    def buf(name):
        return np.empty(shape) if scratch is None else work(f"{scratch}:{name}", shape)

    out = {}

    def keep(deg, arr):
        if deg in degrees:
            dst = buf(f"h{degrees.index(deg)}")
            dst[...] = arr
            out[deg] = dst

    ring = [buf("r0"), buf("r1"), buf("r2")]
    tmp = buf("tmp")
    prev, cur, nxt = ring
    prev.fill(1.0)
    keep(0, prev)
    if top == 0:
        return out
    cur[...] = t
    keep(1, cur)
    with np.errstate(over="ignore", invalid="ignore"):
        for j in range(1, top):
            np.multiply(t, cur, out=nxt)
            np.multiply(prev, math.sqrt(j), out=tmp)
            nxt -= tmp
            nxt /= math.sqrt(j + 1)
            prev, cur, nxt = cur, nxt, prev
            keep(j + 1, cur)
    return out


def _blocks(m):
    return [(i, min(i + CANONICAL_BLOCK, m)) for i in range(0, m, CANONICAL_BLOCK)]


def _finite_or_raise(values):
    if not np.all(np.isfinite(values)):
        raise FloatingPointError("non-finite intermediate value")


def _variance(S1, S2, n):
    """Unbiased variance of a per-sample term from its raw sums (clamped at 0)."""
    var = (S2 - S1 * S1 / n) / (n - 1)
    return np.maximum(var, 0.0)


class _Query:
    """Common interface: ``size`` partial sums per block, ``partials`` and ``finalize``."""

    kind = ""
    se = False

    def spec(self):
        """A hashable description (used to check that accumulators may be merged)."""
        raise NotImplementedError

    def _se_or_none(self, S1, S2, n):
        if not self.se:
            return None
        if n < 2:
            raise ValueError("return_se needs at least 2 samples")
        return np.sqrt(_variance(S1, S2, n) / n)


class ScalarQuery(_Query):
    """``l = 0``: the mean label ``(1/n) sum_a y_a`` (``S_0 = 1``)."""

    kind = "scalar"

    def __init__(self, d, se=False):
        self.d, self.se, self.l = d, bool(se), 0
        self.size = 2 if self.se else 1

    def spec(self):
        return ("scalar", self.d, self.se)

    def partials(self, Xs, ws):
        if not np.all(np.isfinite(Xs)):
            raise FloatingPointError("non-finite X")
        out = np.empty((len(_blocks(len(ws))), self.size))
        for k, (i0, i1) in enumerate(_blocks(len(ws))):
            w = ws[i0:i1]
            out[k, 0] = np.sum(w)
            if self.se:
                out[k, 1] = np.dot(w, w)
        return out

    def finalize(self, sums, n):
        se = self._se_or_none(sums[0], sums[1], n) if self.se else None
        return float(sums[0] / n), (None if se is None else float(se)), None


class VectorQuery(_Query):
    """``l = 1``: ``(1/n) sum_a y_a x_a`` (``S_1(x) = x``)."""

    kind = "vector"

    def __init__(self, d, se=False):
        self.d, self.se, self.l = d, bool(se), 1
        self.size = 2 * d if self.se else d

    def spec(self):
        return ("vector", self.d, self.se)

    def partials(self, Xs, ws):
        d = self.d
        out = np.empty((len(_blocks(len(ws))), self.size))
        rhs = np.empty((len(ws), 3 if self.se else 2))
        rhs[:, 0] = ws
        rhs[:, 1] = 1.0  # column sums of X: NaN/inf evidence
        if self.se:
            np.multiply(ws, ws, out=rhs[:, 2])
        for k, (i0, i1) in enumerate(_blocks(len(ws))):
            Xb = Xs[i0:i1]
            prod = Xb.T @ rhs[i0:i1, :2]
            _finite_or_raise(prod[:, 1])
            out[k, :d] = prod[:, 0]
            if self.se:
                out[k, d:] = (Xb * Xb).T @ rhs[i0:i1, 2]
        return out

    def finalize(self, sums, n):
        d = self.d
        value = sums[:d] / n
        se = self._se_or_none(sums[:d], sums[d:], n) if self.se else None
        return value, se, None


class ContractionQuery(_Query):
    """``l >= 2``: the ``(d, d)`` matrix ``(1/n) sum_a y_a S_l(x_a)[g^{l-2}, :, :]``, O(d^2) per sample.

    Partial sums per block (``Y`` the block's projected samples, ``Y2 = Y * Y``,
    ``u = alpha + gamma``, ``rho = |y|^2``):
    ``sum alpha``, ``sum gamma``, ``Y^T beta`` and ``Y^T (gamma Y)``; with standard errors also
    ``(Y2)^T (gamma^2 Y2)``, ``Y^T (gamma beta Y2)``, ``Y^T ((2 gamma u + 2 beta^2) Y)``,
    ``Y^T ((gamma^2 rho - 2 gamma^2 + beta^2) Y)``, ``(Y2)^T beta^2``, ``(Y2)^T gamma^2``,
    ``Y^T (beta u)``, ``Y^T (beta gamma)``, ``Y^T (gamma beta rho + beta u - 2 beta gamma)``,
    ``sum u^2``, ``sum gamma^2``, ``sum u gamma``, ``sum (beta^2 rho + u^2 - 2 u gamma)``.
    """

    kind = "contraction"

    def __init__(self, d, l, g, se=False):
        self.d, self.l, self.se = d, l, bool(se)
        self.g = np.array(g, dtype=np.float64)
        self.scales = contraction_scales(l)
        self._g1 = np.ascontiguousarray(np.stack([self.g, np.ones(d)], axis=1))
        self.size = 2 + d + d * d
        if self.se:
            self.size += 4 * d * d + 5 * d + 4

    def spec(self):
        return ("contraction", self.d, self.l, self.g.tobytes(), self.se)

    def partials(self, Xs, ws):
        d, l, g = self.d, self.l, self.g
        a, b, c = self.scales
        blocks = _blocks(len(ws))
        out = np.empty((len(blocks), self.size))
        for k, (i0, i1) in enumerate(blocks):
            m = i1 - i0
            Xb, w = Xs[i0:i1], ws[i0:i1]
            tz = work("ct:tz", (m, 2))
            np.matmul(Xb, self._g1, out=tz)
            _finite_or_raise(tz[:, 1])
            t = work("ct:t", (m,))
            t[...] = tz[:, 0]
            Y = work("ct:Y", (m, d))
            np.multiply(t[:, None], g[None, :], out=Y)
            np.subtract(Xb, Y, out=Y)
            h = hermite_degrees(t, (l - 2, l - 1, l), scratch="ct")
            alpha, beta, gamma = (a * w) * h[l], (b * w) * h[l - 1], (c * w) * h[l - 2]
            row = out[k]
            row[0] = np.sum(alpha)
            row[1] = np.sum(gamma)
            if not self.se:
                rhs = work("ct:rhs", (m, d + 1))
                np.multiply(Y, gamma[:, None], out=rhs[:, :d])
                rhs[:, d] = beta
                prod = Y.T @ rhs
                row[2 : 2 + d] = prod[:, d]
                row[2 + d :] = prod[:, :d].reshape(-1)
                continue
            u = alpha + gamma
            Y2 = work("ct:Y2", (m, d))
            np.multiply(Y, Y, out=Y2)
            rho = Y2.sum(axis=1)
            gb = gamma * beta
            rhs = work("ct:rhs", (m, 4 * d + 4))
            np.multiply(Y, gamma[:, None], out=rhs[:, :d])
            np.multiply(Y2, gb[:, None], out=rhs[:, d : 2 * d])
            np.multiply(Y, (2 * gamma * u + 2 * beta * beta)[:, None], out=rhs[:, 2 * d : 3 * d])
            np.multiply(Y, (gamma * gamma * rho - 2 * gamma * gamma + beta * beta)[:, None], out=rhs[:, 3 * d : 4 * d])
            rhs[:, 4 * d] = beta
            rhs[:, 4 * d + 1] = beta * u
            rhs[:, 4 * d + 2] = gb
            rhs[:, 4 * d + 3] = gb * rho + beta * u - 2 * gb
            prod = Y.T @ rhs
            rhs2 = work("ct:rhs2", (m, d + 2))
            np.multiply(Y2, (gamma * gamma)[:, None], out=rhs2[:, :d])
            rhs2[:, d] = beta * beta
            rhs2[:, d + 1] = gamma * gamma
            prod2 = Y2.T @ rhs2
            pos = 2
            for piece in (
                prod[:, 4 * d],  # s
                prod[:, :d],  # G
                prod2[:, :d],  # Q1
                prod[:, d : 2 * d],  # M1
                prod[:, 2 * d : 3 * d],  # M23
                prod[:, 3 * d : 4 * d],  # Gop
                prod2[:, d],  # v1
                prod2[:, d + 1],  # v2
                prod[:, 4 * d + 1],  # v3
                prod[:, 4 * d + 2],  # v4
                prod[:, 4 * d + 3],  # s2
                np.array(
                    [
                        np.dot(u, u),
                        np.dot(gamma, gamma),
                        np.dot(u, gamma),
                        np.sum(beta * beta * rho + u * u - 2 * u * gamma),
                    ]
                ),
            ):
                flat = np.asarray(piece).reshape(-1)
                row[pos : pos + flat.size] = flat
                pos += flat.size
        return out

    def finalize(self, sums, n):
        d, g = self.d, self.g
        gg = np.outer(g, g)
        eye = np.eye(d)
        P = eye - gg
        Sa, Sg = sums[0], sums[1]
        pos = 2
        if not self.se:
            s = sums[pos : pos + d]
            G = sums[pos + d : pos + d + d * d].reshape(d, d)
        else:

            def take(count, shape=None):
                nonlocal pos
                piece = sums[pos : pos + count]
                pos += count
                return piece.reshape(shape) if shape else piece

            s, G, Q1, M1, M23, Gop = (
                take(d),
                take(d * d, (d, d)),
                take(d * d, (d, d)),
                take(d * d, (d, d)),
                take(d * d, (d, d)),
                take(d * d, (d, d)),
            )
            v1, v2, v3, v4, s2 = take(d), take(d), take(d), take(d), take(d)
            Su2, Sg2, Sug, c2 = take(4)
        S1 = Sa * gg + np.outer(g, s) + np.outer(s, g) + G - Sg * P
        S1 = (S1 + S1.T) / 2
        value = S1 / n
        if not self.se:
            return value, None, None
        if n < 2:
            raise ValueError("return_se needs at least 2 samples")
        g2 = g * g
        gM1 = g[:, None] * M1
        S2 = (
            Q1
            + np.outer(g2, v1)
            + np.outer(v1, g2)
            + np.outer(g2, g2) * Su2
            + eye * Sg2
            + 2 * gM1
            + 2 * gM1.T
            + gg * M23
            - 2 * np.diag(v2)
            + 2 * np.outer(g2, g * v3)
            + 2 * np.outer(g * v3, g2)
            - 4 * np.diag(g * v4)
            - 2 * np.diag(g2) * Sug
        )
        S2 = (S2 + S2.T) / 2
        se = np.sqrt(_variance(S1, S2, n) / n)
        TT = Gop + np.outer(g, s2) + np.outer(s2, g) + c2 * gg + Sg2 * eye  # sum_a T_a @ T_a
        cov = (TT / n - value @ value) * (n / (n - 1))
        cov = (cov + cov.T) / 2
        top = float(np.max(np.abs(np.linalg.eigvalsh(cov))))
        return value, se, math.sqrt(top / n)


class MatvecQuery(_Query):
    """``M_l V_l`` for several ``(l, V_l)`` with one ``g`` in a single pass, O(d r) per sample.

    Per block: one GEMM ``X_b @ [g, 1, V_1, ...]`` (projections; the ones column gives row sums
    as NaN/inf evidence), element-wise Hermite weights written into one right-hand side ``R``,
    then ``X_b^T R_x``, (for standard errors) ``(X_b * X_b)^T R_x2``, and ``[1, t]^T R``
    (column sums and ``t``-weighted column sums).  With ``YV = X V - t g^T V``,
    ``q = g^T V``, ``A = gamma YV + beta q``, ``B = beta YV + u q``, the columns of ``R`` are,
    per pair: in the ``X`` section ``gamma YV, beta`` (and ``t A^2, A B, gamma A``); in the
    ``X^2`` section ``A^2``; in the rest ``alpha, gamma`` (and ``B^2, gamma B, gamma^2``).
    """

    kind = "matvec"

    def __init__(self, d, g, pairs, se=False):
        self.d, self.se = d, bool(se)
        self.g = np.array(g, dtype=np.float64)
        self.pairs = [(int(l), np.array(V, dtype=np.float64)) for l, V in pairs]
        self.l = self.pairs[0][0] if len(self.pairs) == 1 else tuple(l for l, _ in self.pairs)
        self.scales = [contraction_scales(l) for l, _ in self.pairs]
        self.q = [self.g @ V for _, V in self.pairs]
        self.degrees = sorted({m for l, _ in self.pairs for m in (l - 2, l - 1, l)})
        cols = [self.g[:, None], np.ones((d, 1))] + [V for _, V in self.pairs]
        self.G = np.ascontiguousarray(np.hstack(cols))
        self.rs = [V.shape[1] for _, V in self.pairs]
        self.vcols, self.xoff, self.x2off, self.roff = [], [], [], []
        start = 2
        nx = nx2 = nrest = 0
        for r in self.rs:
            self.vcols.append((start, start + r))
            start += r
            self.xoff.append(nx)
            nx += 4 * r + 1 if self.se else r + 1
            self.x2off.append(nx2)
            nx2 += r if self.se else 0
            self.roff.append(nrest)
            nrest += 2 * r + 3 if self.se else 2
        self.nx, self.nx2 = nx, nx2
        self.ncols = nx + nx2 + nrest
        self.size = d * nx + d * nx2 + 2 * self.ncols

    def spec(self):
        return ("matvec", self.d, self.g.tobytes(), tuple((l, V.shape, V.tobytes()) for l, V in self.pairs), self.se)

    def partials(self, Xs, ws):
        d, nx, nx2 = self.d, self.nx, self.nx2
        m = len(ws)
        blocks = _blocks(m)
        Z = work("mv:Z", (m, self.G.shape[1]))
        for i0, i1 in blocks:
            np.matmul(Xs[i0:i1], self.G, out=Z[i0:i1])
        _finite_or_raise(Z[:, 1])
        Tp = work("mv:Tp", (m, 2))
        Tp[:, 0] = 1.0
        Tp[:, 1] = Z[:, 0]
        t = work("mv:t", (m,))
        t[...] = Z[:, 0]
        h = hermite_degrees(t, self.degrees, scratch="mv")
        R = work("mv:R", (m, self.ncols))
        rest0 = nx + nx2
        rmax = max(self.rs)
        alpha, beta, gamma = work("mv:alpha", (m,)), work("mv:beta", (m,)), work("mv:gamma", (m,))
        YVbuf, Abuf = work("mv:YV", (m, rmax)), work("mv:A", (m, rmax))
        for (l, V), (a, b, c), q, (c0, c1), xo, x2o, ro, r in zip(
            self.pairs, self.scales, self.q, self.vcols, self.xoff, self.x2off, self.roff, self.rs
        ):
            np.multiply(ws, a, out=alpha)
            alpha *= h[l]
            np.multiply(ws, b, out=beta)
            beta *= h[l - 1]
            np.multiply(ws, c, out=gamma)
            gamma *= h[l - 2]
            R[:, rest0 + ro] = alpha
            R[:, rest0 + ro + 1] = gamma
            YV = YVbuf[:, :r]
            np.multiply(t[:, None], q[None, :], out=YV)
            np.subtract(Z[:, c0:c1], YV, out=YV)
            gYV = R[:, xo : xo + r]
            np.multiply(YV, gamma[:, None], out=gYV)
            R[:, xo + r] = beta
            if not self.se:
                continue
            A = Abuf[:, :r]
            np.multiply(beta[:, None], q[None, :], out=A)
            A += gYV
            u = alpha + gamma
            B = np.multiply(YV, beta[:, None], out=YV)
            B += u[:, None] * q[None, :]
            A2 = R[:, rest0 - nx2 + x2o : rest0 - nx2 + x2o + r]
            np.multiply(A, A, out=A2)
            np.multiply(A2, t[:, None], out=R[:, xo + r + 1 : xo + 2 * r + 1])
            np.multiply(A, B, out=R[:, xo + 2 * r + 1 : xo + 3 * r + 1])
            np.multiply(A, gamma[:, None], out=R[:, xo + 3 * r + 1 : xo + 4 * r + 1])
            base = rest0 + ro + 2
            np.multiply(B, B, out=R[:, base : base + r])
            np.multiply(B, gamma[:, None], out=R[:, base + r : base + 2 * r])
            np.multiply(gamma, gamma, out=R[:, base + 2 * r])
        out = np.empty((len(blocks), self.size))
        kx, kx2 = d * nx, d * nx2
        for k, (i0, i1) in enumerate(blocks):
            Xb, Rb = Xs[i0:i1], R[i0:i1]
            row = out[k]
            row[:kx].reshape(d, nx)[...] = Xb.T @ Rb[:, :nx]
            if self.se:
                X2 = work("mv:X2", (i1 - i0, d))
                np.multiply(Xb, Xb, out=X2)
                row[kx : kx + kx2].reshape(d, nx2)[...] = X2.T @ Rb[:, nx : nx + nx2]
            row[kx + kx2 :].reshape(2, self.ncols)[...] = Tp[i0:i1].T @ Rb
        return out

    def finalize(self, sums, n):
        d, g, nx, nx2 = self.d, self.g, self.nx, self.nx2
        K = sums[: d * nx].reshape(d, nx)
        K2 = sums[d * nx : d * nx + d * nx2].reshape(d, nx2)
        S = sums[d * nx + d * nx2 :].reshape(2, self.ncols)
        rest0 = nx + nx2
        values, ses = [], []
        for (l, V), q, r, xo, x2o, ro in zip(self.pairs, self.q, self.rs, self.xoff, self.x2off, self.roff):
            W1, w2 = K[:, xo : xo + r], K[:, xo + r]
            e1, Sbt = S[1, xo : xo + r], S[1, xo + r]
            Sa, Sg = S[0, rest0 + ro], S[0, rest0 + ro + 1]
            s = w2 - Sbt * g
            S1 = (
                Sa * np.outer(g, q)
                + np.outer(g, s @ V)
                + np.outer(s, q)
                + W1
                - np.outer(g, e1)
                - Sg * (V - np.outer(g, q))
            )
            values.append(S1 / n)
            if not self.se:
                ses.append(None)
                continue
            if n < 2:
                raise ValueError("return_se needs at least 2 samples")
            XtA2 = K[:, xo + r + 1 : xo + 2 * r + 1]
            XAB = K[:, xo + 2 * r + 1 : xo + 3 * r + 1]
            XgA = K[:, xo + 3 * r + 1 : xo + 4 * r + 1]
            XA2 = K2[:, x2o : x2o + r]
            St2A2 = S[1, xo + r + 1 : xo + 2 * r + 1]  # sum t * (t A^2)
            StAB = S[1, xo + 2 * r + 1 : xo + 3 * r + 1]
            StgA = S[1, xo + 3 * r + 1 : xo + 4 * r + 1]
            base = rest0 + ro + 2
            SB2, SgB, Sg2 = S[0, base : base + r], S[0, base + r : base + 2 * r], S[0, base + 2 * r]
            gc, g2c = g[:, None], (g * g)[:, None]
            S2 = (
                XA2
                - 2 * gc * XtA2
                + g2c * St2A2[None, :]
                + g2c * SB2[None, :]
                + V * V * Sg2
                + 2 * gc * (XAB - gc * StAB[None, :])
                - 2 * V * (XgA - gc * StgA[None, :])
                - 2 * gc * V * SgB[None, :]
            )
            ses.append(np.sqrt(_variance(S1, S2, n) / n))
        if len(values) == 1:
            return values[0], ses[0], None
        return values, ses, None
