#!/usr/bin/env python3
"""Set up and run verified_relu with nothing but Python 3.10+.

    python3 tasks.py demo    # create .venv, install the package, run `verified-relu demo`
    python3 tasks.py test    # create .venv, install the package with its test extra, run the suite
                             # (all but the slow tier, on two processes; `test -m slow`: that tier)
    python3 tasks.py setup   # only create .venv as `test` would (`setup demo`: as `demo` would)

Each command creates (or reuses) a virtual environment in ``.venv`` next to this file and
installs what it needs there; the install is redone when pyproject.toml changes.  Extra
arguments after the command are passed on (to ``verified-relu demo`` or to ``pytest``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
EXTRAS = {"demo": "plot", "test": "test"}  # the demo writes a report with figures


def _venv_python() -> Path:
    sub = "Scripts" if os.name == "nt" else "bin"
    exe = "python.exe" if os.name == "nt" else "python"
    return VENV / sub / exe


def _run(cmd, **kw):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, **kw)


def ensure_env(extras: str) -> Path:
    if sys.version_info < (3, 10):  # noqa: UP036 -- any python3 may run this file; it says why it stops
        sys.exit(f"verified_relu needs Python >= 3.10, this is {sys.version.split()[0]}")
    py = _venv_python()
    if not py.exists():
        print(f"creating virtual environment in {VENV.name}/", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()[:16]
    stamp = VENV / f".installed-{digest}"
    if not stamp.exists():
        spec = f".[{extras}]" if extras else "."
        if _run([py, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", spec]) != 0:
            sys.exit("installation failed (see pip's message above)")
        for old in VENV.glob(".installed-*"):
            old.unlink()
        stamp.touch()
    return py


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*EXTRAS, "setup"):
        print(__doc__)
        return 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "setup":  # e.g. for .ci/run, which adds a CPU-only torch to .venv before testing
        if len(rest) > 1 or (rest and rest[0] not in EXTRAS):
            print(f"setup takes one of {sorted(EXTRAS)} (default test), got {' '.join(rest)!r}", file=sys.stderr)
            return 2
        print(ensure_env(EXTRAS[rest[0] if rest else "test"]))
        return 0
    py = ensure_env(EXTRAS[cmd])
    # One BLAS thread unless the caller chose: the work is many small dense products, where
    # threads cost more than they give on a small machine (and oversubscribe beside pytest).
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    if cmd == "demo":
        return _run([py, "-m", "verified_relu", "demo", *rest], env=env)
    # Two worker processes (pytest-xdist); tests marked xdist_group("name") share one worker.
    # Options given after `test` come later and win (e.g. `-n 0`: one process).
    return _run([py, "-m", "pytest", "-n", "2", "--dist", "loadgroup", *rest], env=env)


if __name__ == "__main__":
    sys.exit(main())
