"""The sample least-squares loss of a network in a fixed activation pattern, in a local chart,
with its gradient and Hessian enclosed over boxes (Arb balls).

Chart.  Neuron ``i`` is ``m_i relu(<z_i, x>)`` with ``z_i = c_i + T_i v_i``: ``c_i`` the float64
unit row of the model, ``T_i`` a ``d x (d-1)`` float64 basis of its orthogonal complement and
``v_i`` in ``R^(d-1)``.  Since ``relu`` is positively homogeneous this is the network with unit
rows ``w_i = z_i / |z_i|`` and coefficients ``mu_i = m_i |z_i|``; the scaling gauge is gone, and
because ``[c_i | T_i]`` is invertible the critical points of the loss in the chart are exactly the
critical points of the loss in ``(w, mu)`` (Euler's identity ``<z, grad_z L> = m dL/dm`` supplies
the missing direction).  A linear term ``<a, x>`` is a parameter when the model has one.

Fixed pattern.  With ``s_ai = [<z_i, x_a> > 0]`` constant, the residual
``r_a = sum_i m_i s_ai <z_i, x_a> + <a, x_a> - y_a`` is a polynomial (bilinear in ``m, v``), so
``phi = sum_a r_a^2 / 2`` has gradient ``J^T r`` and Hessian ``J^T J + sum_a r_a d^2 r_a``.  All
of it is written through the Gram matrix of the exact data ``[s_1 X B_1 | ... | s_k X B_k | X | y]``
(``B_i = [c_i | T_i]``), formed once by Arb matrix products: each evaluation over a box then costs
``O(k^2 d^2)`` ball operations, independent of ``n``.
"""

from __future__ import annotations

import numpy as np

from . import _arb


def tangent_bases(C):
    """``B_i = [c_i | T_i]`` (float64, ``d x d``) for each unit row ``c_i`` of ``C``: ``T_i`` the
    last ``d - 1`` columns of a complete QR factor of ``c_i`` (orthonormal to rounding)."""
    out = []
    for c in C:
        Q, _ = np.linalg.qr(c[:, None], mode="complete")
        B = np.array(Q)
        B[:, 0] = c
        out.append(B)
    return out


class FixedPatternLoss:
    """``phi(v, m, a) = sum_a r_a^2 / 2`` in the activation pattern ``S`` (``(n, k)`` booleans).

    Parameters are ordered ``v_1, ..., v_k`` (``d - 1`` each), ``m_1..m_k``, then ``a`` (``d``)
    when ``linear``.  Works at the current flint precision.
    """

    def __init__(self, X, y, bases, S, linear):
        import flint

        n, d = X.shape
        k = len(bases)
        self.n, self.d, self.k, self.linear = n, d, k, linear
        self.bases, self.S = bases, S
        self.p = k * d + (d if linear else 0)
        blocks = [X * S[:, [i]] for i in range(k)] + ([X] if linear else []) + [y[:, None]]
        big = np.hstack(blocks)
        q = big.shape[1]
        D = np.zeros((q, q))
        for i, B in enumerate(bases):
            D[i * d : (i + 1) * d, i * d : (i + 1) * d] = B
        D[k * d :, k * d :] = np.eye(q - k * d)
        A = _arb.arb_matrix(big) * _arb.arb_matrix(D)
        G = _arb.entries(A.transpose() * A)
        kd = k * d
        self.M = [[G[i * d : (i + 1) * d, j * d : (j + 1) * d] for j in range(k)] for i in range(k)]
        self.u = [G[i * d : (i + 1) * d, -1] for i in range(k)]
        if linear:
            self.N = [G[i * d : (i + 1) * d, kd : kd + d] for i in range(k)]
            self.XtX = G[kd : kd + d, kd : kd + d]
            self.Xty = G[kd : kd + d, -1]
        self.zero = flint.arb(0)
        self.one = flint.arb(1)

    # -- index helpers
    def v_slice(self, i):
        return slice(i * (self.d - 1), (i + 1) * (self.d - 1))

    def m_index(self, i):
        return self.k * (self.d - 1) + i

    @property
    def a_slice(self):
        return slice(self.k * self.d, self.k * self.d + self.d)

    def split(self, x):
        """``(v, m, a)`` from a parameter vector (object array of arb)."""
        v = [x[self.v_slice(i)] for i in range(self.k)]
        m = [x[self.m_index(i)] for i in range(self.k)]
        a = x[self.a_slice] if self.linear else None
        return v, m, a

    def _b(self, xi, m, a):
        """``b_i = (s_i X B_i)^T r``, the data-space gradient of each neuron block."""
        out = []
        for i in range(self.k):
            b = -self.u[i]
            for j in range(self.k):
                b = b + m[j] * (self.M[i][j] @ xi[j])
            if self.linear:
                b = b + self.N[i] @ a
            out.append(b)
        return out

    def gradient_hessian(self, x, hessian=True):
        """Enclosures of ``grad phi`` (``(p,)``) and, if asked, ``Hess phi`` (``(p, p)``) over the box ``x``."""
        k = self.k
        v, m, a = self.split(x)
        xi = [np.concatenate([np.array([self.one], dtype=object), vi]) for vi in v]
        b = self._b(xi, m, a)
        g = np.empty(self.p, dtype=object)
        for i in range(k):
            g[self.v_slice(i)] = m[i] * b[i][1:]
            g[self.m_index(i)] = xi[i] @ b[i]
        if self.linear:
            ga = -self.Xty + self.XtX @ a
            for j in range(k):
                ga = ga + m[j] * (self.N[j].T @ xi[j])
            g[self.a_slice] = ga
        if not hessian:
            return g, None
        H = np.full((self.p, self.p), self.zero, dtype=object)
        for i in range(k):
            vi, mi = self.v_slice(i), self.m_index(i)
            for j in range(k):
                vj, mj = self.v_slice(j), self.m_index(j)
                Mij = self.M[i][j]
                Mx = Mij @ xi[j]
                xM = xi[i] @ Mij
                H[mi, mj] = xM @ xi[j]
                H[mi, vj] = m[j] * xM[1:]
                H[vi, mj] = m[i] * Mx[1:]
                H[vi, vj] = (m[i] * m[j]) * Mij[1:, 1:]
            H[mi, vi] = H[mi, vi] + b[i][1:]
            H[vi, mi] = H[vi, mi] + b[i][1:]
            if self.linear:
                Nx = xi[i] @ self.N[i]
                H[mi, self.a_slice] = Nx
                H[self.a_slice, mi] = Nx
                H[vi, self.a_slice] = m[i] * self.N[i][1:, :]
                H[self.a_slice, vi] = (m[i] * self.N[i][1:, :]).T
        if self.linear:
            H[self.a_slice, self.a_slice] = self.XtX
        return g, H
