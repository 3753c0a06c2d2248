"""Benchmark of moment estimation: throughput of ``contraction_matvec`` and peak memory when streaming.

Usage (from the repository root; results go to stdout as a markdown table)::

    python3 benchmarks/bench_moments.py                      # n = 10^6, d = 100, r = 5
    python3 benchmarks/bench_moments.py --n 200000 --repeats 3   # a quicker run

Throughput is measured on one core (BLAS and OpenMP limited to one thread before numpy is
imported) and compared with the floor set by one BLAS pass over the same data: the time of
``X @ G`` with ``G`` of shape ``(d, r + 1)``.  Times are the best of ``--repeats`` runs.
Peak memory is measured in fresh subprocesses with :mod:`tracemalloc` (every numpy
allocation) while streaming the data from disk, and compared with the size of one chunk
(``chunk_size x d`` float64 values).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from verified_relu import ReLUNetwork
from verified_relu._provenance import machine, versions
from verified_relu.moments import MomentAccumulator, contraction_eigh, contraction_matvec, moment_contraction


def _best(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _problem(n, d, r, seed):
    rng = np.random.default_rng(seed)
    net = ReLUNetwork(rng.standard_normal((5, d)), rng.choice([-1.0, 1.0], 5) * rng.uniform(0.5, 1.5, 5))
    X = np.empty((n, d))
    y = np.empty(n)
    step = 1 << 16
    for i in range(0, n, step):  # generate in pieces to keep the peak at one copy of X
        X[i : i + step] = rng.standard_normal((min(step, n - i), d))
        y[i : i + step] = net(X[i : i + step])
    g = rng.standard_normal(d)
    g /= np.linalg.norm(g)
    V = rng.standard_normal((d, r))
    return X, y, g, V


def _memory_worker(args):
    """Run in a fresh process: stream the saved data and report tracemalloc's peak."""
    import tracemalloc

    X = np.load(os.path.join(args.memory_worker, "X.npy"), mmap_mode="r")
    y = np.load(os.path.join(args.memory_worker, "y.npy"), mmap_mode="r")
    meta = json.load(open(os.path.join(args.memory_worker, "meta.json"), encoding="utf-8"))
    g, V = np.array(meta["g"]), np.array(meta["V"])
    rows = args.chunk_rows
    contraction_matvec(X[:rows], y[:rows], args.l, g, V, chunk_size=rows)  # warm-up: imports, constants
    from verified_relu.moments import _kernels

    _kernels._LOCAL.cache = {}  # drop the per-thread workspace, so that the peak counts it
    tracemalloc.start()
    if args.mode == "memmap":
        contraction_matvec(X, y, args.l, g, V, chunk_size=rows)
    else:

        def chunks():  # an iterator of in-memory chunks read from disk one at a time
            for i in range(0, X.shape[0], rows):
                yield np.array(X[i : i + rows]), np.array(y[i : i + rows])

        MomentAccumulator(X.shape[1], args.l, g, V=V, chunk_size=rows).consume(chunks()).result()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"peak": peak, "chunk": rows * X.shape[1] * 8}))


def _machine():
    """:func:`verified_relu._provenance.machine` and the versions, with the CPU model, memory and BLAS."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = float("nan")
    blas = "unknown"
    try:
        cfg = np.show_config(mode="dicts")
        info = cfg["Build Dependencies"]["blas"]
        blas = f"{info.get('name')} {info.get('version')}"
    except Exception:
        pass
    return {**machine(), **versions(), "cpu": cpu, "memory_gib": round(mem, 1), "blas": blas}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10**6)
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--r", type=int, default=5)
    parser.add_argument("--degrees", type=int, nargs="+", default=[4, 22])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20231124)
    parser.add_argument("--chunk-rows", type=int, default=1 << 16)
    parser.add_argument("--memory-worker", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="memmap", help=argparse.SUPPRESS)
    parser.add_argument("--l", type=int, default=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_worker:
        return _memory_worker(args)

    n, d, r = args.n, args.d, args.r
    X, y, g, V = _problem(n, d, r, args.seed)
    G = np.column_stack([g, V])
    floor = _best(lambda: X @ G, args.repeats)
    rows = []
    for l in args.degrees:
        for se in (False, True):
            t = _best(lambda: contraction_matvec(X, y, l, g, V, return_se=se), args.repeats)
            rows.append((f"in memory, l = {l}" + (", with SE" if se else ""), t))
    l0 = args.degrees[0]
    t_dense = _best(lambda: np.linalg.eigh(moment_contraction(X, y, l0, g)), max(1, args.repeats // 2))
    eig = {}
    for method in ("krylov", "arpack"):
        t0 = time.perf_counter()
        res = contraction_eigh(X, y, l0, g, r, method=method, rng=args.seed, tol=1e-8)
        eig[method] = (time.perf_counter() - t0, res.passes, res.converged)
    with tempfile.TemporaryDirectory() as tmp:
        np.save(os.path.join(tmp, "X.npy"), X)
        np.save(os.path.join(tmp, "y.npy"), y)
        with open(os.path.join(tmp, "meta.json"), "w", encoding="utf-8") as fh:
            json.dump({"g": g.tolist(), "V": V.tolist()}, fh)
        Xm = np.load(os.path.join(tmp, "X.npy"), mmap_mode="r")
        ym = np.load(os.path.join(tmp, "y.npy"), mmap_mode="r")
        t = _best(lambda: contraction_matvec(Xm, ym, args.degrees[0], g, V), args.repeats)
        rows.append((f"memmap (page cache), l = {args.degrees[0]}", t))
        Xm = ym = None  # close the maps before the directory is removed
        memory = {}
        for mode in ("memmap", "iterator"):
            cmd = [
                sys.executable,
                os.path.abspath(__file__),
                "--memory-worker",
                tmp,
                "--mode",
                mode,
                "--l",
                str(args.degrees[0]),
                "--chunk-rows",
                str(args.chunk_rows),
            ]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            memory[mode] = json.loads(out.strip().splitlines()[-1])

    print(f"machine: {json.dumps(_machine())}")
    print(f"problem: n = {n}, d = {d}, r = {r}, seed = {args.seed}, repeats = {args.repeats} (best of), one thread")
    print()
    print("| computation | time (s) | samples / s / core | ratio to X @ G |")
    print("|---|---:|---:|---:|")
    print(f"| floor: X @ G, G of shape (d, r + 1) | {floor:.3f} | {n / floor:,.0f} | 1.00 |")
    for name, t in rows:
        print(f"| contraction_matvec, {name} | {t:.3f} | {n / t:,.0f} | {t / floor:.2f} |")
    print()
    print(f"| top-{r} eigenpairs of the l = {l0} contraction | time (s) | passes over the data | converged |")
    print("|---|---:|---:|---|")
    print(f"| dense: moment_contraction (O(n d^2)), then numpy.linalg.eigh | {t_dense:.3f} | 1 | - |")
    for method, (t, passes, ok) in eig.items():
        print(f"| contraction_eigh, method = {method!r}, tol = 1e-8 | {t:.3f} | {passes} | {ok} |")
    print()
    print("| streaming mode | chunk (MiB) | tracemalloc peak (MiB) | peak / chunk |")
    print("|---|---:|---:|---:|")
    for mode, m in memory.items():
        print(f"| {mode} | {m['chunk'] / 2**20:.1f} | {m['peak'] / 2**20:.1f} | {m['peak'] / m['chunk']:.2f} |")


if __name__ == "__main__":
    main()
