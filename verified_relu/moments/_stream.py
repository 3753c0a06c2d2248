"""Streaming reduction over canonical blocks: arrays, memmaps, chunk iterators, merging.

Design (order independence).  Samples are grouped into *canonical blocks* of
``CANONICAL_BLOCK = 4096`` consecutive samples by their global index (block ``b`` holds samples
``4096 b .. 4096 b + 4095``); only the block that ends the data set may be shorter.  A block's
partial sums are computed with fixed-shape operations (:mod:`._kernels`), so they depend on the
block's samples only; the partial sums of all blocks are added *exactly*
(:class:`._exact.ExactSum`) and rounded once.  Hence the estimate is **bitwise** the same for
every chunking of the data, every order in which chunks arrive (give ``start=`` for
out-of-order chunks), every way of merging accumulators, and for the dask path -- provided the
BLAS returns identical results for identical fixed-shape products (true of OpenBLAS/MKL with a
fixed thread count; a BLAS that is not would still leave differences at the level of one
rounding per block, far below 1e-15 of the envelope).  Chunks whose boundaries are not
multiples of 4096 cost one small copy per boundary (partial blocks are buffered until complete).
"""

from __future__ import annotations

import numbers

import numpy as np

from ._exact import ExactSum
from ._kernels import CANONICAL_BLOCK

__all__ = ["DEFAULT_CHUNK_ROWS", "Reducer", "check_chunk_rows", "as_data_array"]

#: Default number of rows handled at once (16 canonical blocks).
DEFAULT_CHUNK_ROWS = 16 * CANONICAL_BLOCK


def check_chunk_rows(chunk_size, caller):
    """Validate ``chunk_size`` and round it up to a multiple of the canonical block."""
    if chunk_size is None:
        return DEFAULT_CHUNK_ROWS
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral) or chunk_size < 1:
        raise ValueError(f"{caller}: chunk_size must be a positive int (rows), got {chunk_size!r}")
    blocks = -(-int(chunk_size) // CANONICAL_BLOCK)
    return blocks * CANONICAL_BLOCK


def as_data_array(value, name, ndim, caller):
    """An ndarray view (memmaps stay memmaps; nothing is copied or converted here)."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{caller}: {name} must be a numeric array, got {type(value).__name__}")
    arr = value if isinstance(value, np.ndarray) else np.asarray(value)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{caller}: {name} must be a real numeric array, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{caller}: {name} must be {ndim}-dimensional, got shape {arr.shape}")
    return arr


def _float_rows(arr, i0, i1):
    piece = arr[i0:i1]
    return np.ascontiguousarray(piece, dtype=np.float64)


class Reducer:
    """Exact running sum of one query's per-block partials; ``process`` takes aligned rows."""

    def __init__(self, query, transform=None, caller="moments"):
        self.query = query
        self.transform = transform
        self.caller = caller
        self.acc = ExactSum(query.size)
        self.n = 0

    def copy(self):
        out = Reducer(self.query, self.transform, self.caller)
        out.acc = self.acc.copy()
        out.n = self.n
        return out

    def merge(self, other):
        self.acc.merge(other.acc)
        self.n += other.n
        return self

    def _labels(self, Xs, ys):
        """Labels of each canonical block (after the row-wise transform), validated."""
        if not np.all(np.isfinite(ys)):
            bad = int(ys.size - np.count_nonzero(np.isfinite(ys)))
            raise ValueError(f"{self.caller}: y must be finite, found {bad} NaN/inf value(s)")
        if self.transform is None:
            return ys
        ws = np.empty_like(ys)
        for i0 in range(0, len(ys), CANONICAL_BLOCK):
            i1 = min(i0 + CANONICAL_BLOCK, len(ys))
            w = np.asarray(self.transform(Xs[i0:i1], ys[i0:i1].copy()), dtype=np.float64)
            if w.shape != (i1 - i0,):
                raise ValueError(
                    f"{self.caller}: transform must return one label per row, shape ({i1 - i0},), got {w.shape}"
                )
            if not np.all(np.isfinite(w)):
                raise ValueError(f"{self.caller}: transform returned NaN/inf labels")
            ws[i0:i1] = w
        return ws

    def process(self, Xs, ys):
        """Add rows that start on a canonical-block boundary (a short last block must end the data)."""
        if Xs.shape[0] == 0:
            return
        if self.transform is not None and not np.all(np.isfinite(Xs)):
            self._raise_nonfinite(Xs, ys)
        ws = self._labels(Xs, ys)
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # non-finite values are detected below
                parts = self.query.partials(Xs, ws)
        except FloatingPointError:
            self._raise_nonfinite(Xs, ys)
        if not np.all(np.isfinite(parts)):
            self._raise_nonfinite(Xs, ys)
        try:
            for row in parts:
                self.acc.add(row)
        except FloatingPointError as exc:
            raise ValueError(f"{self.caller}: the running sums overflow float64") from exc
        self.n += Xs.shape[0]

    def _raise_nonfinite(self, Xs, ys):
        finite = np.isfinite(Xs)
        if not np.all(finite):
            rows = np.flatnonzero(~finite.all(axis=1))
            raise ValueError(
                f"{self.caller}: X must be finite, found NaN/inf in {rows.size} row(s) of this chunk (first at row offset {int(rows[0])})"
            )
        l = getattr(self.query, "l", None)
        raise ValueError(
            f"{self.caller}: the estimate overflows float64 at degree l={l} (|<g, x>| or |y| too large); "
            "rescale the data or use the mpmath audit path (moments.audit)"
        )

    def process_array(self, X, y, chunk_rows, offset=0):
        """Feed rows ``[offset, len(X))`` of in-memory/memmapped arrays, chunk by chunk."""
        n = X.shape[0]
        for i0 in range(offset, n, chunk_rows):
            i1 = min(i0 + chunk_rows, n)
            self.process(_float_rows(X, i0, i1), _float_rows(y, i0, i1))

    def result(self):
        return self.query.finalize(self.acc.value(), self.n)
