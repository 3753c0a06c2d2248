"""Helpers of the command line: errors, printing, reading inputs, atomic multi-file output."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

from .._io import atomic_path, parse_json


class UsageError(ValueError):
    """Bad input found by the command line itself (exit code 2)."""


class _Printer:
    def __init__(self, quiet):
        self.quiet = quiet

    def __call__(self, *args):
        if not self.quiet:
            print(*args)


def _err(args, *msg):
    """A progress or warning line on stderr (silenced by ``--quiet``)."""
    if not getattr(args, "quiet", False):
        print(*msg, file=sys.stderr, flush=True)


def _emit_json(args, payload):
    if args.json:
        from .._provenance import jsonable

        print(json.dumps(jsonable(payload), indent=1))


def mpmath_str(value, digits=30):
    import mpmath

    return mpmath.nstr(value, digits)


# ----------------------------------------------------------------------------- file helpers
def _require_file(path, what):
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{what} {str(path)!r}: no such file")
    if path.is_dir():
        raise UsageError(f"{what} {str(path)!r}: is a directory, expected a file")
    return path


def _read_json(path, what):
    path = _require_file(path, what)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what} {str(path)!r}: not a UTF-8 text file ({exc.reason})") from None
    if not text.strip():
        raise UsageError(f"{what} {str(path)!r}: empty file")
    return parse_json(text, f"{what} {str(path)!r}")


def _load_network(path, what="network"):
    """A ReLUNetwork (.json or .npz), DK's HermitePredictor, or the network of a result.json."""
    from ..learners.result import LearnResult, _network_from_dict
    from ..network import ReLUNetwork

    path = Path(path)
    if path.suffix == ".npz":
        _require_file(path, what)
        return ReLUNetwork.load(path)
    if path.suffix != ".json":
        raise UsageError(f"{what} {str(path)!r}: expected a .json (or .npz) network file")
    data = _read_json(path, what)
    fmt = data.get("format") if isinstance(data, dict) else None
    try:
        if fmt == "verified_relu.LearnResult":
            return LearnResult.from_dict(data).network
        if fmt in ("verified_relu.ReLUNetwork", "verified_relu.HermitePredictor"):
            return _network_from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{what} {str(path)!r}: malformed ({exc})") from None
    raise UsageError(f"{what} {str(path)!r}: not a network or learning result (its 'format' is {fmt!r})")


def _load_relu(path, what):
    from ..network import ReLUNetwork

    net = _load_network(path, what)
    if not isinstance(net, ReLUNetwork):
        raise UsageError(f"{what} {str(path)!r}: must be a ReLU network, got a {type(net).__name__}")
    return net


def _load_data(path, args, target=None):
    from .data import gaussianity_warnings, load_dataset

    X, y = load_dataset(path, target=target)
    warnings = gaussianity_warnings(X)
    for w in warnings:
        _err(args, f"warning: {w}")
    return X, y, warnings


def _check_out_parent(path):
    parent = Path(path).parent
    if not parent.is_dir():
        raise UsageError(f"output directory {str(parent)!r} does not exist")


def _write_texts(files):
    """Write ``{path: text}`` all or nothing: every temp file first, then the renames."""
    with contextlib.ExitStack() as stack:
        for path, text in files.items():
            tmp = stack.enter_context(atomic_path(path))
            tmp.write_text(text, encoding="utf-8")
    return list(files)


def _parse_assignments(items, what):
    """``NAME=VALUE`` pairs; values as JSON (numbers, true/false, lists), else strings."""
    out = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"{what} must look like NAME=VALUE, got {item!r}")
        try:
            out[name.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[name.strip()] = value
    return out


# ----------------------------------------------------------------------------- demo
