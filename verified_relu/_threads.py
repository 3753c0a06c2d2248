"""One thread for the BLAS and OpenMP pools while a block runs.

The work of the quick benchmark suite and of the claims' checks is many small dense products, where
a second BLAS thread costs more than it gives on a small machine, and where a pool that shares
its cores with other work spin-waits: on 2 cores beside another job the quick suite ran several
times slower with numpy's default two BLAS threads than with one (the times are in
docs/benchmarks.md, "Stated durations, measured").  :func:`single_threaded` limits the pools
with threadpoolctl (which works after numpy is imported, unlike ``OPENBLAS_NUM_THREADS``) and
restores them on exit.

:func:`blas_single_thread` limits only the BLAS pool, through a controller made once (about 10
microseconds a call instead of 0.2 ms), for the Levenberg-Marquardt runs of few parameters that
the fast learner makes by the hundred (:data:`verified_relu._lm.FEW_PARAMETERS`).
"""

from __future__ import annotations

import contextlib

__all__ = ["blas_single_thread", "single_threaded"]

_CONTROLLER = []


@contextlib.contextmanager
def single_threaded():
    """Run the block with one BLAS and one OpenMP thread; the previous limits come back on exit."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@contextlib.contextmanager
def blas_single_thread():
    """Run the block with one BLAS thread; the previous limit comes back on exit.

    The pools are those loaded when this is first called (numpy's BLAS is loaded with numpy)."""
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    with _CONTROLLER[0].limit(limits=1, user_api="blas"):
        yield
