"""``MomentAccumulator``: any moment estimate, accumulated over chunks of samples."""

from __future__ import annotations

import numpy as np

from .._validation import check_int
from ..network import MAX_TENSOR_ENTRIES
from ._kernels import CANONICAL_BLOCK
from ._stream import Reducer, as_data_array, check_chunk_rows
from .api import MomentEstimate, _check_transform, build_query

__all__ = ["MomentAccumulator"]

_B = CANONICAL_BLOCK


class MomentAccumulator:
    """Accumulate an estimate of :mod:`verified_relu.moments` over chunks, so ``n`` may exceed memory.

    Parameters
    ----------
    d : int
        Input dimension.
    l : int, or sequence of int (mat-vec only)
        Degree; with ``V`` a sequence of blocks, one degree per block (several mat-vecs in
        one pass, as used for sums of squares of contractions).
    g : array_like, shape (d,), optional
        Unit contraction vector (required for ``l >= 2`` unless ``full_tensor``).
    V : array_like, shape (d,) or (d, r), or a sequence of them, optional
        If given, accumulate the mat-vec :func:`~verified_relu.moments.contraction_matvec`.
    full_tensor : bool, default False
        Accumulate the full tensor of :func:`~verified_relu.moments.hermite_moment`.
    return_se : bool, default False
        :meth:`result` returns a :class:`MomentEstimate` with standard errors.
    transform : callable, optional
        Row-wise label transform ``(X, y) -> labels`` (:mod:`verified_relu.moments.labels`).
    chunk_size : int, optional
        Rows processed at once inside one :meth:`update` (does not change the result).
    max_entries : int
        Limit on ``d**l`` for ``full_tensor``.

    Notes
    -----
    Each sample has a global index: by default the next one after the previous
    :meth:`update`; pass ``start=`` to feed chunks in any order (e.g. from parallel readers),
    or :meth:`merge` accumulators that saw disjoint index ranges.  Chunk boundaries that are
    not multiples of 4096 are buffered (at most one partial block of 4096 rows per boundary).
    The result is bitwise independent of chunk sizes, chunk order and merging (see
    :mod:`verified_relu.moments`), and equals the one-shot functions on the concatenated data.
    Every global index ``0 .. n-1`` must have been fed exactly once when :meth:`result` is
    called; overlaps raise immediately, gaps at :meth:`result`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> X = rng.standard_normal((10000, 3)); y = np.abs(X[:, 0])
    >>> acc = MomentAccumulator(3, 2, g=[1.0, 0.0, 0.0])
    >>> for i in range(0, 10000, 3000):
    ...     _ = acc.update(X[i:i + 3000], y[i:i + 3000])
    >>> from verified_relu.moments import moment_contraction
    >>> bool(np.array_equal(acc.result(), moment_contraction(X, y, 2, [1.0, 0.0, 0.0])))
    True
    """

    def __init__(
        self,
        d,
        l,
        g=None,
        *,
        V=None,
        full_tensor=False,
        return_se=False,
        transform=None,
        chunk_size=None,
        max_entries=MAX_TENSOR_ENTRIES,
    ):
        caller = "MomentAccumulator"
        self.d = check_int(d, "d", minimum=1, caller=caller)
        self._query = build_query(
            self.d, l, g, V, full_tensor=full_tensor, se=return_se, max_entries=max_entries, caller=caller
        )
        self._squeeze = V is not None and not isinstance(l, (list, tuple)) and np.ndim(V) == 1
        self._return_se = bool(return_se)
        self._transform = _check_transform(transform, caller)
        self._rows = check_chunk_rows(chunk_size, caller)
        self._reducer = Reducer(self._query, self._transform, caller)
        self._pending = {}  # block index -> (X buffer, y buffer, filled mask)
        self._covered = []  # sorted disjoint [start, end) intervals of global indices seen
        self._next = 0

    # ----------------------------------------------------------------- feeding
    @property
    def n(self):
        """Number of samples fed so far."""
        return sum(b - a for a, b in self._covered)

    def update(self, X, y, *, start=None):
        """Add a chunk: arrays or memmaps ``X (m, d)``, ``y (m,)`` at global rows ``start..start+m-1``.

        Returns ``self``.  Large memmaps are read ``chunk_size`` rows at a time, without copies.
        """
        caller = "MomentAccumulator.update"
        X = as_data_array(X, "X", 2, caller)
        y = as_data_array(y, "y", 1, caller)
        if X.shape[1] != self.d:
            raise ValueError(f"{caller}: X must have {self.d} columns, got shape {X.shape}")
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"{caller}: X and y must have the same number of rows, got X {X.shape} and y {y.shape}")
        start = self._next if start is None else check_int(start, "start", minimum=0, caller=caller)
        m = X.shape[0]
        if m == 0:
            return self
        end = start + m
        self._claim(start, end, caller)
        head_end = min(end, -(-start // _B) * _B)
        tail_start = max(head_end, (end // _B) * _B)
        if head_end > start:
            self._buffer(X, y, start, start, head_end)
        if tail_start > head_end:
            red = self._reducer
            for i0 in range(head_end, tail_start, self._rows):
                i1 = min(i0 + self._rows, tail_start)
                red.process(
                    np.ascontiguousarray(X[i0 - start : i1 - start], dtype=np.float64),
                    np.ascontiguousarray(y[i0 - start : i1 - start], dtype=np.float64),
                )
        if end > tail_start:
            self._buffer(X, y, start, tail_start, end)
        self._next = end
        return self

    def consume(self, chunks):
        """Feed an iterable of ``(X, y)`` or ``(X, y, start)`` chunks; returns ``self``."""
        it = iter(chunks)
        while True:
            item = next(it, None)  # the previous chunk is released before the next is produced
            if item is None:
                return self
            if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
                raise TypeError("MomentAccumulator.consume: chunks must yield (X, y) or (X, y, start) tuples")
            X, y, start = item[0], item[1], (item[2] if len(item) == 3 else None)
            del item
            self.update(X, y, start=start)
            del X, y

    def _claim(self, start, end, caller):
        for a, b in self._covered:
            if start < b and a < end:
                raise ValueError(f"{caller}: rows [{start}, {end}) overlap rows [{a}, {b}) already fed")
        self._covered.append((start, end))
        self._covered.sort()
        merged = []
        for a, b in self._covered:
            if merged and merged[-1][1] == a:
                merged[-1] = (merged[-1][0], b)
            else:
                merged.append((a, b))
        self._covered = merged

    def _buffer(self, X, y, chunk_start, g0, g1):
        """Copy global rows ``[g0, g1)`` (inside one canonical block) into that block's buffer."""
        blk = g0 // _B
        entry = self._pending.get(blk)
        if entry is None:
            entry = (np.empty((_B, self.d)), np.empty(_B), np.zeros(_B, dtype=bool))
            self._pending[blk] = entry
        Xbuf, ybuf, mask = entry
        o0, o1 = g0 - blk * _B, g1 - blk * _B
        Xbuf[o0:o1] = X[g0 - chunk_start : g1 - chunk_start]
        ybuf[o0:o1] = y[g0 - chunk_start : g1 - chunk_start]
        mask[o0:o1] = True
        if mask.all():
            del self._pending[blk]
            self._reducer.process(Xbuf, ybuf)

    # ----------------------------------------------------------------- combining
    def merge(self, other):
        """Absorb an accumulator of the same query that saw disjoint global rows; returns ``self``."""
        if not isinstance(other, MomentAccumulator) or other._query.spec() != self._query.spec():
            raise ValueError(
                "MomentAccumulator.merge: other must accumulate the same quantity (same d, l, g, V, options)"
            )
        if other._transform is not self._transform:
            raise ValueError("MomentAccumulator.merge: other must use the same transform object")
        for a, b in other._covered:
            self._claim(a, b, "MomentAccumulator.merge")
        self._reducer.merge(other._reducer)
        for blk, (Xo, yo, mo) in other._pending.items():
            entry = self._pending.get(blk)
            if entry is None:
                self._pending[blk] = (Xo.copy(), yo.copy(), mo.copy())
                continue
            Xbuf, ybuf, mask = entry
            Xbuf[mo], ybuf[mo] = Xo[mo], yo[mo]
            mask |= mo
            if mask.all():
                del self._pending[blk]
                self._reducer.process(Xbuf, ybuf)
        self._next = max(self._next, other._next)
        return self

    # ----------------------------------------------------------------- result
    def result(self):
        """The estimate for all rows fed so far (the accumulator stays usable).

        Returns the value (float or ndarray), or a :class:`MomentEstimate` when ``return_se``.
        """
        caller = "MomentAccumulator.result"
        if not self._covered:
            raise ValueError(f"{caller}: no samples have been fed")
        if len(self._covered) != 1 or self._covered[0][0] != 0:
            gaps = [(b, a2) for (_, b), (a2, _) in zip(self._covered, self._covered[1:])]
            if self._covered[0][0] != 0:
                gaps.insert(0, (0, self._covered[0][0]))
            raise ValueError(f"{caller}: rows {gaps[:3]} (as [start, end)) have not been fed")
        n = self._covered[0][1]
        red = self._reducer
        if self._pending:
            last = (n - 1) // _B
            (blk,) = self._pending.keys()  # only the block ending the data can be incomplete
            Xbuf, ybuf, mask = self._pending[blk]
            rows = n - last * _B
            if blk != last or not mask[:rows].all():  # pragma: no cover - guarded by coverage
                raise ValueError(f"{caller}: internal buffering inconsistency at block {blk}")
            red = red.copy()
            red.process(Xbuf[:rows], ybuf[:rows])
        value, se, op_se = red.result()
        if self._squeeze:
            value = value[:, 0]
            se = None if se is None else se[:, 0]
        if not self._return_se:
            return value
        return MomentEstimate(value=value, se=se, n=red.n, l=self._query.l, op_se=op_se)
