"""One thread for the BLAS and OpenMP pools while a block runs.

The work of the quick benchmark suite and of the claims' checks is many small dense products, where
a second BLAS thread costs more than it gives on a small machine, and where a pool that shares
its cores with other work spin-waits: on 2 cores beside another job the quick suite ran several
times slower with numpy's default two BLAS threads than with one (the times are in
docs/benchmarks.md, "Stated durations, measured").  :func:`single_threaded` limits the pools
with threadpoolctl (which works after numpy is imported, unlike ``OPENBLAS_NUM_THREADS``) and
restores them on exit.
"""

from __future__ import annotations

import contextlib

__all__ = ["single_threaded"]


@contextlib.contextmanager
def single_threaded():
    """Run the block with one BLAS and one OpenMP thread; the previous limits come back on exit."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield
