"""Helpers shared by the benchmark scripts in this folder (not part of the package)."""

import json
import signal
import sys
import time

from verified_relu import instances


class Cap(BaseException):
    """Raised by the alarm at a run's wall-time cap (a BaseException: no ``except Exception``
    inside a learner can swallow it)."""


def _alarm(signum, frame):
    raise Cap


def capped(cap, fn, *args, **kwargs):
    """``(fn(*args, **kwargs), seconds)``, or ``(None, seconds)`` when it did not finish within
    ``cap`` seconds (no cap when ``cap`` is falsy).  The alarm and its handler are restored
    afterwards; exceptions of ``fn`` propagate.  A long call inside C code is stopped only when it
    returns to Python."""
    previous = signal.signal(signal.SIGALRM, _alarm) if cap else None
    t0 = time.perf_counter()
    try:
        if cap:
            signal.setitimer(signal.ITIMER_REAL, float(cap))
        return fn(*args, **kwargs), time.perf_counter() - t0
    except Cap:
        return None, time.perf_counter() - t0
    finally:
        if cap:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def collect(stream, records, partial, total, t0, name, every=1):
    """Append each finished record to ``records`` and, as one JSON line, to the open file
    ``partial``; a progress line on stderr every ``every`` records and at the end."""
    for i, rec in enumerate(stream, 1):
        records.append(rec)
        partial.write(json.dumps(rec) + "\n")
        partial.flush()
        if i % every == 0 or i == total:
            print(f"[{name}] {i}/{total} runs, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)


def paper_cells(families, ds, ks):
    """The ``(family, params, d, k)`` cells of the papers' table: every ``(d, k)`` the family
    accepts, dkkz at ``k`` in {2, 4} only."""
    for family, params in families:
        for d in ds:
            for k in ks:
                if family == "dkkz" and k not in (2, 4):
                    continue
                if instances.supports(family, d, k):
                    yield family, params, d, k
