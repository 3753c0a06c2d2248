"""The full-tensor query: one value per multiset of indices, scattered into ``(d,) * l``.

Conventions: ``h_m = He_m / sqrt(m!)``; ``S_l(x)[i_1..i_l] = prod_j He_{n_j}(x_j) / sqrt(l!)``
with ``n_j`` the multiplicity of ``j`` among the indices.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ._kernels import _blocks, _finite_or_raise, _Query, _variance, hermite_degrees

__all__ = ["TensorQuery"]


def _binomial_table(top, k):
    tab = np.zeros((top + 1, k + 2), dtype=np.int64)
    for nn in range(top + 1):
        for kk in range(k + 2):
            tab[nn, kk] = math.comb(nn, kk)
    return tab


def _multiset_rank(sorted_idx, binom):
    """Colex rank of sorted index tuples (rows) among all multisets of the same size."""
    l = sorted_idx.shape[1]
    shifted = sorted_idx + np.arange(l)
    rank = np.zeros(sorted_idx.shape[0], dtype=np.int64)
    for s in range(l):
        rank += binom[shifted[:, s], s + 1]
    return rank


class TensorQuery(_Query):
    """``l >= 2``: the full symmetric tensor ``(1/n) sum_a y_a S_l(x_a)``, one value per multiset
    of indices (``C(d + l - 1, l)`` of them), scattered into ``(d,) * l`` at the end.

    A multiset with multiplicities ``n_j`` has ``S_l`` entry
    ``prod_j h_{n_j}(x_j) * sqrt(prod_j n_j! / l!)``; the products of normalized values are
    accumulated and the constant applied once in :meth:`finalize`.
    """

    kind = "tensor"
    _BATCH_ENTRIES = 1 << 21

    def __init__(self, d, l, se=False):
        self.d, self.l, self.se = d, l, bool(se)
        combos = np.array(list(itertools.combinations_with_replacement(range(d), l)), dtype=np.int64)
        self.combos = combos
        P = combos.shape[0]
        idx = np.zeros((P, l), dtype=np.int64)  # columns of the flat (d, l+1) table; 0 -> h_0 = 1
        const = np.empty(P)
        logfact_l = math.lgamma(l + 1)
        for p, row in enumerate(combos.tolist()):
            counts = {}
            for j in row:
                counts[j] = counts.get(j, 0) + 1
            for s, (j, cnt) in enumerate(sorted(counts.items())):
                idx[p, s] = j * (l + 1) + cnt
            const[p] = math.exp(0.5 * (sum(math.lgamma(cnt + 1) for cnt in counts.values()) - logfact_l))
        self.idx = idx
        self.const = const
        self.P = P
        self.size = 2 * P if self.se else P

    def spec(self):
        return ("tensor", self.d, self.l, self.se)

    def partials(self, Xs, ws):
        d, l, P = self.d, self.l, self.P
        blocks = _blocks(len(ws))
        out = np.empty((len(blocks), self.size))
        for k, (i0, i1) in enumerate(blocks):
            Xb, w = Xs[i0:i1], ws[i0:i1]
            m = i1 - i0
            flat = Xb.reshape(-1)
            H = hermite_degrees(flat, set(range(l + 1)))
            table = np.empty((m, d, l + 1))
            for deg in range(l + 1):
                table[:, :, deg] = H[deg].reshape(m, d)
            _finite_or_raise(table)
            table = table.reshape(m, d * (l + 1))
            w2 = w * w
            batch = max(1, self._BATCH_ENTRIES // max(m, 1))
            for p0 in range(0, P, batch):
                cols = self.idx[p0 : p0 + batch]
                vals = table[:, cols[:, 0]]
                for s in range(1, l):
                    vals *= table[:, cols[:, s]]
                out[k, p0 : p0 + cols.shape[0]] = w @ vals
                if self.se:
                    vals *= vals
                    out[k, P + p0 : P + p0 + cols.shape[0]] = w2 @ vals
        return out

    def scatter(self, per_multiset):
        """The full ``(d,) * l`` tensor from one value per multiset (in ``self.combos`` order)."""
        d, l = self.d, self.l
        per_multiset = np.asarray(per_multiset)
        binom = _binomial_table(d + l, l)
        where = np.empty(self.P, dtype=np.int64)
        where[_multiset_rank(self.combos, binom)] = np.arange(self.P)
        total = d**l
        full = np.empty(total, dtype=per_multiset.dtype)
        step = max(1, (1 << 20) // l)
        for f0 in range(0, total, step):
            flat = np.arange(f0, min(f0 + step, total))
            digits = np.stack(np.unravel_index(flat, (d,) * l), axis=1)
            digits.sort(axis=1)
            full[f0 : f0 + flat.size] = per_multiset[where[_multiset_rank(digits, binom)]]
        return full.reshape((d,) * l)

    def finalize(self, sums, n):
        P = self.P
        value = self.scatter(self.const * sums[:P] / n)
        if not self.se:
            return value, None, None
        if n < 2:
            raise ValueError("return_se needs at least 2 samples")
        se = np.sqrt(_variance(sums[:P], sums[P:], n) / n) * self.const
        return value, self.scatter(se), None
