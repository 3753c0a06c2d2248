"""Provenance and JSON: what every written result records, and how its values become JSON.

A low-level module (numpy and the standard library at import; scipy, sympy, mpmath and an
optional ``torch`` only when :func:`versions` is called), so that results, reports, benchmarks
and the claims of :mod:`proofs_checks` all record the same fields and spell values the same way.

Examples
--------
>>> import numpy as np, mpmath
>>> jsonable({"x": np.arange(2), 3: (np.float64(0.5), float("inf"))})
{'x': [0, 1], '3': [0.5, 'inf']}
>>> mp50 = mpmath.MPContext(); mp50.dps = 50
>>> jsonable(mp50.mpf(1) / 3)         # every digit the mpf holds, not a 17-digit float
'0.33333333333333333333333333333333333333333333333333311'
>>> sorted(versions())
['mpmath', 'numpy', 'python', 'scipy', 'sympy', 'verified_relu']
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import math
import numbers
import os
import platform
import sys

import numpy as np

from ._version import __version__

__all__ = ["jsonable", "machine", "summary", "versions"]


def _float(value):
    """A finite float as is; ``inf``, ``-inf``, ``nan`` as those strings (JSON has no such numbers)."""
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


#: A decimal string of an mpf must read back to the same binary value at any working precision
#: from the mantissa's bit count (at least float64's 53) to this many bits more: a value rounded
#: to ``P`` bits has fewer bits when its mantissa ends in zero bits, and a reader's ``P`` is unknown.
_SLACK_BITS = 8


def _mpf_text(value):
    """An mpmath ``mpf`` (or anything with ``_mpf_``, e.g. a sympy ``Float``) as a decimal string:
    its exact decimal expansion when that is short, else the shortest string that ``mpmath.mpf``
    reads back to the same binary value (see :data:`_SLACK_BITS`)."""
    from mpmath import libmp

    mpf = value._mpf_
    if mpf == libmp.fnan:
        return "nan"
    if mpf in (libmp.finf, libmp.fninf):
        return "inf" if mpf == libmp.finf else "-inf"
    bits = max(int(mpf[3]), 1)
    check = max(bits, 53) + _SLACK_BITS
    longest = libmp.repr_dps(check) + 1  # this many digits always read back at ``check`` bits
    text = libmp.to_str(mpf, longest)
    if libmp.from_str(text, 4 * longest + bits + 64, libmp.round_nearest) == mpf:
        return text  # exact (trailing zeros stripped), e.g. 0.5 or 2^-30
    # reading back at ``check`` bits implies reading back at every precision down to ``bits``
    for digits in range(libmp.prec_to_dps(bits), longest):
        short = libmp.to_str(mpf, digits)
        if libmp.from_str(short, check, libmp.round_nearest) == mpf:
            return short
    return text


def jsonable(value):
    """``value`` as JSON-ready Python data (dict, list, str, int, float, bool, None), recursively.

    * dict: keys become ``str``; list and tuple: a list; numpy array: its nested list;
    * numpy scalar: the Python ``int``, ``float`` or ``bool`` it holds;
    * non-finite float (Python, numpy or mpmath): the string ``"inf"``, ``"-inf"`` or ``"nan"``
      (JSON has no such numbers; ``float(text)`` reads them back);
    * mpmath ``mpf`` (and sympy ``Float``): a decimal string with every digit of its own precision,
      never a float, which would keep 17 digits at most: its exact decimal expansion when that is
      short (``"0.5"``), else the shortest string from which ``mpmath.mpf`` reads back the same
      binary value at a precision of the mantissa's bits (at least 53) up to 8 bits more;
    * dataclass instance: its ``to_dict()`` if it has one, else a dict of its fields;
    * any other number: ``int`` for an integer type, else ``float`` (e.g. ``Fraction``);
      anything else: ``str(value)``.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return _float(float(value))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if hasattr(value, "_mpf_"):
        return _mpf_text(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if callable(getattr(value, "to_dict", None)):
            return jsonable(value.to_dict())
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return _float(float(value))
    return str(value)


def _version(name):
    """The version string of an installed module, without importing it when its distribution
    metadata has it (importing sympy alone takes about 0.2 s); ``ImportError`` when absent."""
    module = sys.modules.get(name)
    if module is not None and hasattr(module, "__version__"):
        return module.__version__
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return importlib.import_module(name).__version__


def versions(*optional):
    """Versions of the software a result depends on: ``verified_relu``, ``python``, ``numpy``,
    ``scipy``, ``sympy``, ``mpmath`` (a dict of strings), plus each module named in ``optional``
    (e.g. ``"torch"``) that is installed."""
    out = {
        "verified_relu": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        **{name: _version(name) for name in ("scipy", "sympy", "mpmath")},
    }
    for name in optional:
        try:
            out[name] = _version(name)
        except ImportError:
            pass
    return out


def machine():
    """The machine a run was timed on: ``platform``, ``processor``, ``cpu_count``, ``python``."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }


def summary():
    """One line for the head of a benchmark's output: processor, cores and the main versions."""
    m, v = machine(), versions()
    return (
        f"machine: {m['processor']}, {m['cpu_count']} cores; python {v['python']}, numpy {v['numpy']}, "
        f"verified_relu {v['verified_relu']}"
    )
