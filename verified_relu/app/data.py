"""Datasets on disk: load and save ``(X, y)`` with one clear error for bad input.

Formats (chosen by the path):

``.npz``
    arrays ``X`` (shape ``(n, d)``) and ``y`` (shape ``(n,)``); other keys are ignored.  Read
    in full: numpy cannot memory-map the members of a zip archive.
``.npy`` pair
    a **directory** holding ``X.npy`` and ``y.npy``, or the path of such an ``X.npy`` (its
    ``y.npy`` is the sibling file).  Memory-mapped read-only (``mmap_mode="r"``), so datasets
    larger than memory can be loaded; the finiteness check streams over them in chunks.
``.csv``
    comma-separated with a header line; the label ``y`` is the column named by ``target``,
    or, without ``target``, the column named ``y``; every other column is a coordinate of
    ``x``.  A CSV with neither is an error (the label column is never guessed).  Read in full.

Saving writes the same formats atomically: each file appears complete or not at all (a temp
file next to it, then ``os.replace``; a new ``.npy`` directory is assembled under a temporary
name and renamed into place).  A path with no suffix (or an existing directory) means the
``.npy`` pair.

Every failure raises :class:`DataError` (a ``ValueError``) whose message names the file and
the problem: missing file, unknown extension, wrong keys, wrong shapes, NaN/inf, non-numeric
CSV cells, empty file, a CSV without a label column (no ``target`` and no column named
``y``), or a ``y`` whose length differs from ``X``'s rows.

:func:`gaussianity_warnings` (defined in the library module :mod:`verified_relu.gaussianity`,
re-exported here) tests whether ``X`` looks like ``N(0, I_d)``, the input distribution every
guarantee of the learners assumes.
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

from .._io import atomic_path
from ..gaussianity import gaussianity_warnings

__all__ = ["FORMATS", "DataError", "data_format", "gaussianity_warnings", "load_dataset", "save_dataset"]

#: The dataset formats: ``"npz"``, ``"npy"`` (a directory with ``X.npy`` and ``y.npy``), ``"csv"``.
FORMATS = ("npz", "npy", "csv")

_CHUNK_ROWS = 65536


class DataError(ValueError):
    """A dataset file that cannot be used; the message names the file and the problem."""

    def __init__(self, path, problem):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def data_format(path):
    """The format of a dataset path: ``"npz"``, ``"npy"`` or ``"csv"`` (``DataError`` otherwise).

    ``.npz`` and ``.csv`` by suffix; ``.npy`` (the ``X.npy`` of a pair), an existing directory
    or a path without a suffix mean the ``.npy`` pair.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".npz", ".csv"):
        return suffix[1:]
    if suffix == ".npy" or path.is_dir() or suffix == "":
        return "npy"
    raise DataError(path, f"unknown extension {suffix!r}; use .npz, .csv, or a directory holding X.npy and y.npy")


# ----------------------------------------------------------------------------- checks
def _check_arrays(path, X, y, names=("X", "y")):
    """Shapes, numeric dtypes and finiteness (chunked, so memory maps are streamed)."""
    for name, arr in zip(names, (X, y)):
        if arr.dtype.kind not in "fiu":
            raise DataError(path, f"{name} must hold real numbers, found dtype {arr.dtype}")
    if X.ndim != 2:
        raise DataError(path, f"{names[0]} must be 2-dimensional (n, d), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(path, f"{names[0]} is empty (shape {X.shape})")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(path, f"{names[1]} must be 1-dimensional (n,), got shape {y.shape}")
    if y.shape[0] != X.shape[0]:
        raise DataError(path, f"{names[1]} has length {y.shape[0]} but {names[0]} has {X.shape[0]} rows")
    for name, arr in zip(names, (X, y)):
        if arr.dtype.kind == "f":
            for start in range(0, arr.shape[0], _CHUNK_ROWS):
                block = np.asarray(arr[start : start + _CHUNK_ROWS])
                if not np.all(np.isfinite(block)):
                    bad = np.argwhere(~np.isfinite(block))[0]
                    row = int(bad[0]) + start
                    where = f"row {row}" + (f", column {int(bad[1])}" if block.ndim == 2 else "")
                    raise DataError(path, f"{name} has a NaN/inf value at {where}")
    return X, y


# ----------------------------------------------------------------------------- loading
def _load_npz(path):
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
            missing = [key for key in ("X", "y") if key not in keys]
            if missing:
                raise DataError(path, f"missing array(s) {missing}; found {sorted(keys)} (need keys X and y)")
            X, y = data["X"], data["y"]
    except DataError:
        raise
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(path, f"not a readable .npz file ({exc})") from exc
    return X, y


def _load_npy(path, mmap):
    path = Path(path)
    if path.is_dir():
        x_path, y_path = path / "X.npy", path / "y.npy"
    else:
        x_path, y_path = path, path.with_name("y.npy")
        if x_path.name == "y.npy":
            raise DataError(path, "name the X.npy of the pair (or its directory), not y.npy")
    for p in (x_path, y_path):
        if not p.is_file():
            raise DataError(p, "no such file (a .npy dataset is a directory holding X.npy and y.npy)")
    arrays = []
    for p in (x_path, y_path):
        if p.stat().st_size == 0:
            raise DataError(p, "empty file")
        try:
            arrays.append(np.load(p, mmap_mode="r" if mmap else None, allow_pickle=False))
        except (OSError, EOFError, ValueError) as exc:
            raise DataError(p, f"not a readable .npy file ({exc})") from exc
    return tuple(arrays)


def _parse_float(text, path, line, column):
    try:
        value = float(text)
    except ValueError:
        raise DataError(path, f"line {line}, column {column!r}: {text.strip()!r} is not a number") from None
    return value


def _read_header(path):
    with open(path, newline="", encoding="utf-8-sig") as fh:
        try:
            for row in csv.reader(fh):
                if any(cell.strip() for cell in row):
                    return row
        except (csv.Error, UnicodeDecodeError) as exc:
            raise DataError(path, f"not a readable CSV file ({exc})") from exc
    raise DataError(path, "empty file (expected a header line and data rows)")


def _load_csv(path, target):
    header = _check_header(path, [cell.strip() for cell in _read_header(path)])
    t = _target_column(path, header, target)
    try:  # fast path; on any irregularity the careful parser below names the line and column
        with warnings.catch_warnings():  # e.g. "input contained no data": the parser below says it in one line
            warnings.simplefilter("ignore", UserWarning)
            values = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, encoding="utf-8-sig")
        if values.shape[1] != len(header) or values.shape[0] == 0:
            raise ValueError
    except ValueError:
        values = _parse_csv_rows(path, header)
    return np.delete(values, t, axis=1), values[:, t]


def _check_header(path, header):
    numeric_header = True
    for cell in header:
        try:
            float(cell)
        except ValueError:
            numeric_header = False
    if numeric_header:
        raise DataError(path, "the first line must be a header of column names, found numbers")
    if len(header) < 2:
        raise DataError(path, f"need at least 2 columns (x coordinates and y), found {len(header)}")
    if len(set(header)) != len(header):
        raise DataError(path, "duplicate column names in the header")
    return header


def _target_column(path, header, target):
    """The index of the label column: ``target``, else the column named ``y``; never a guess."""
    if target is None:
        if "y" in header:
            return header.index("y")
        raise DataError(
            path,
            f"no label column: no column is named 'y' and no target column was given; columns are {header}; "
            "choose the label column with target='NAME' (Python) or --target NAME (command line)",
        )
    if target in header:
        return header.index(target)
    raise DataError(path, f"no column named {target!r}; columns are {header}")


def _parse_csv_rows(path, header):
    """Cell by cell, so that the first bad cell is named by line and column."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        try:
            rows = [(line, row) for line, row in enumerate(csv.reader(fh), start=1) if any(c.strip() for c in row)]
        except (csv.Error, UnicodeDecodeError) as exc:
            raise DataError(path, f"not a readable CSV file ({exc})") from exc
    rows = rows[1:]
    if not rows:
        raise DataError(path, "no data rows after the header")
    values = np.empty((len(rows), len(header)))
    for i, (line, row) in enumerate(rows):
        if len(row) != len(header):
            raise DataError(path, f"line {line} has {len(row)} fields, the header has {len(header)}")
        for j, cell in enumerate(row):
            values[i, j] = _parse_float(cell, path, line, header[j])
    return values


def load_dataset(path, *, target=None, mmap=True):
    """Load ``(X, y)`` from ``.npz``, a ``.npy`` pair or ``.csv`` (see the module docstring).

    Parameters
    ----------
    path : str or Path
        The dataset.
    target : str, optional
        CSV only: the name of the label column (default: the column named ``y``; a CSV with
        no column named ``y`` needs ``target``, else :class:`DataError` lists its columns).
    mmap : bool, default True
        Memory-map ``.npy`` pairs read-only.

    Returns
    -------
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)
        Float arrays (memory maps for ``.npy`` pairs with ``mmap``).

    Raises
    ------
    DataError
        Naming the file and the problem.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> _ = save_dataset(tmp / "d.csv", [[0.5, -1.0], [2.0, 0.0]], [1.0, 3.0])
    >>> X, y = load_dataset(tmp / "d.csv")
    >>> X.shape, y.tolist()
    ((2, 2), [1.0, 3.0])
    """
    path = Path(path)
    fmt = data_format(path)
    if fmt != "npy" and not path.exists():
        raise DataError(path, "no such file")
    if fmt != "npy" and path.is_dir():
        raise DataError(path, "is a directory, expected a file")
    if target is not None and fmt != "csv":
        raise DataError(path, "a target column applies to .csv files only (.npz and .npy use the key y)")
    if fmt == "npy" and not path.exists():
        raise DataError(path, "no such file or directory")
    if fmt != "npy" and path.stat().st_size == 0:
        raise DataError(path, "empty file")
    if fmt == "npz":
        X, y = _load_npz(path)
    elif fmt == "npy":
        X, y = _load_npy(path, mmap)
    else:
        X, y = _load_csv(path, target)
    X, y = _check_arrays(path, X, y)
    if X.dtype != np.float64:  # a float64 memory map stays mapped
        X = X.astype(np.float64)
    if y.dtype != np.float64:
        y = np.asarray(y, dtype=np.float64)
    return X, y


# ----------------------------------------------------------------------------- saving
def save_dataset(path, X, y, *, columns=None):
    """Write ``(X, y)`` atomically as ``.npz``, ``.csv`` or a ``.npy`` pair (a directory).

    ``columns`` (CSV only) names the ``d`` coordinates (default ``x0, x1, ...``); the label
    column is ``y``.  CSV floats are written by ``repr`` and read back exactly.  Returns the
    path written.  An existing ``.npy`` directory gets its ``X.npy`` and ``y.npy`` replaced
    (each atomically).
    """
    path = Path(path)
    fmt = data_format(path)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    _check_arrays(path, X, y)
    if fmt == "npz":
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, X=X, y=y)
    elif fmt == "csv":
        d = X.shape[1]
        names = [f"x{j}" for j in range(d)] if columns is None else [str(c) for c in columns]
        if len(names) != d:
            raise DataError(path, f"columns has {len(names)} names for d = {d} coordinates")
        with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow([*names, "y"])
            for row, label in zip(X, y):
                writer.writerow([repr(float(v)) for v in row] + [repr(float(label))])
    else:
        if path.suffix.lower() == ".npy":
            path = path.parent  # the X.npy of a pair: its directory
        _save_npy_dir(path, X, y)
    return path


def _save_npy_dir(path, X, y):
    if path.is_dir():
        for name, arr in (("X.npy", X), ("y.npy", y)):
            with atomic_path(path / name) as tmp, open(tmp, "wb") as fh:
                np.save(fh, arr)
        return
    if path.exists():
        raise DataError(path, "exists and is not a directory (a .npy dataset is a directory)")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"output directory {str(parent)!r} does not exist")
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        for name, arr in (("X.npy", X), ("y.npy", y)):
            with open(tmp / name, "wb") as fh:
                np.save(fh, arr)
        os.rename(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
