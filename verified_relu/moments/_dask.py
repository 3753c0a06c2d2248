"""The dask path: per-block partial sums as dask tasks, combined exactly.

The arrays are rechunked (lazily; a no-op when already aligned) so that every dask chunk
holds whole canonical blocks of 4096 rows and all ``d`` columns.  Each task reduces its
chunk to an exact sum (:class:`._exact.ExactSum`) with the very same kernels as the in-memory
path; the task results are merged exactly in a fixed-fan-in tree.  The final value is the
correctly rounded exact sum of the same per-block partials, so it equals the in-memory result
bitwise (given a deterministic BLAS), whatever the scheduler: threaded, processes, or a
``dask.distributed`` cluster (the active ``Client`` is used automatically).
"""

from __future__ import annotations

from ._kernels import CANONICAL_BLOCK
from ._stream import Reducer

__all__ = ["reduce_dask"]

_FAN_IN = 8


def _reduce_chunk(query, transform, caller, rows, Xb, yb):
    import numpy as np

    red = Reducer(query, transform, caller)
    red.process_array(np.asarray(Xb), np.asarray(yb), rows)
    return red


def _merge(*reducers):
    first = reducers[0].copy()
    for other in reducers[1:]:
        first.merge(other)
    return first


def reduce_dask(query, X, y, transform, rows, caller):
    """Reduce ``query`` over dask (or mixed numpy/dask) ``X, y``; returns a :class:`Reducer`."""
    try:
        import dask
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - only without the dask extra
        raise ImportError(f"{caller}: dask arrays need the 'dask' extra (pip install 'verified-relu[dask]')") from exc
    if not isinstance(X, da.Array):
        X = da.from_array(X, chunks=(rows, -1))
    if not isinstance(y, da.Array):
        y = da.from_array(y, chunks=(rows,))
    if X.dtype.kind not in "fiub" or y.dtype.kind not in "fiub":
        raise TypeError(f"{caller}: X and y must be real numeric arrays, got dtypes {X.dtype} and {y.dtype}")
    first = X.chunks[0][0] if X.chunks[0] else rows
    aligned = max(CANONICAL_BLOCK, (first // CANONICAL_BLOCK) * CANONICAL_BLOCK)
    X = X.rechunk({0: aligned, 1: -1})
    y = y.rechunk({0: aligned})
    xs = X.to_delayed().ravel().tolist()
    ys = y.to_delayed().ravel().tolist()
    tasks = [dask.delayed(_reduce_chunk)(query, transform, caller, rows, xb, yb) for xb, yb in zip(xs, ys)]
    while len(tasks) > 1:
        tasks = [dask.delayed(_merge)(*tasks[i : i + _FAN_IN]) for i in range(0, len(tasks), _FAN_IN)]
    (red,) = dask.compute(tasks[0])
    return red
