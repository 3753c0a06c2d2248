"""A canonical order of the samples, so that a learner's result depends on the data as a set.

Every learner draws its random choices (splits, batches, directions) from its ``rng`` and takes
the samples in the order given.  :func:`canonical_order` sorts the rows by a 64-bit hash of
their bytes (``X`` row and label together): an order that is a function of the set of rows only,
and looks random (so a prefix of it is an unbiased subsample, unlike a sort by a coordinate).
Rows whose hashes coincide are ordered by their values, so the order is canonical even then.
Cost: one pass over the data and an ``O(n log n)`` sort.
"""

from __future__ import annotations

import numpy as np

__all__ = ["canonical_order"]

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _mix(h):
    """splitmix64's finaliser, vectorised (wrapping uint64 arithmetic)."""
    with np.errstate(over="ignore"):
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return h ^ (h >> np.uint64(31))


def row_hashes(X, y):
    """A 64-bit hash of each row ``(X[i], y[i])`` from the bytes of its float64 values.

    ``-0.0`` and ``0.0`` hash alike (they are the same number), as do all NaNs (callers reject
    non-finite data before ordering).
    """
    Z = np.concatenate([np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)[:, None]], axis=1)
    Z = Z + 0.0  # -0.0 + 0.0 == +0.0: one bit pattern per value
    bits = np.ascontiguousarray(Z).view(np.uint64)
    h = np.full(Z.shape[0], np.uint64(0x9E3779B97F4A7C15))
    with np.errstate(over="ignore"):
        for j in range(bits.shape[1]):
            h = _mix(h ^ (bits[:, j] + np.uint64(j + 1) * np.uint64(0x9E3779B97F4A7C15)))
    return h


def canonical_order(X, y):
    """Indices that put the rows of ``(X, y)`` in an order that depends only on the set of rows.

    >>> import numpy as np
    >>> X = np.arange(12.0).reshape(6, 2); y = np.arange(6.0)
    >>> perm = np.random.default_rng(0).permutation(6)
    >>> a = canonical_order(X, y); b = canonical_order(X[perm], y[perm])
    >>> bool(np.array_equal(X[a], X[perm][b]))
    True
    """
    h = row_hashes(X, y)
    order = np.argsort(h, kind="stable")
    hs = h[order]
    ties = np.flatnonzero(hs[1:] == hs[:-1])
    if ties.size:  # equal hashes: identical rows, or (rarely) a collision -- order those by value
        Z = np.concatenate([np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)[:, None]], axis=1)
        start = 0
        bounds = np.flatnonzero(np.diff(hs) != 0) + 1
        for stop in list(bounds) + [len(hs)]:
            if stop - start > 1:
                block = order[start:stop]
                keys = Z[block].T[::-1]  # lexsort: last key is primary
                order[start:stop] = block[np.lexsort(keys)]
            start = stop
    return order
