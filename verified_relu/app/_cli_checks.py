"""Checks the command line makes before any work: output locations, existing runs, the
provenance of training data, and the listing of a learner's options."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import os
import re
import tempfile
from pathlib import Path

from ._cli_util import UsageError

__all__ = ["check_out_dir", "check_out_file", "data_provenance", "format_options", "refuse_existing_run", "same_data"]


# ----------------------------------------------------------------------------- output locations
def _probe(directory, option, target):
    """Create and remove a temporary file in ``directory``; ``UsageError`` naming it if that fails."""
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".verified-relu-probe.")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(f"{option} {str(target)!r}: cannot write in directory {str(directory)!r} ({reason})") from None
    os.close(fd)
    os.unlink(tmp)


def _existing_ancestor(path):
    for parent in Path(os.path.abspath(path)).parents:
        if parent.exists():
            return parent
    return Path("/")


def check_out_dir(path, option, *, parents=False):
    """Before any work: the output directory ``path`` exists and is writable, or can be created
    (its parent, or with ``parents`` its nearest existing ancestor, is a writable directory).
    Raises :class:`UsageError` (exit status 2) naming the option and the directory."""
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise UsageError(f"{option} {str(path)!r} exists and is not a directory")
        _probe(path, option, path)
        return
    parent = Path(os.path.abspath(path)).parent
    if parent.exists() and not parent.is_dir():
        raise UsageError(f"{option} {str(path)!r}: {str(path.parent)!r} is not a directory")
    if not parents and not parent.is_dir():
        raise UsageError(f"{option} {str(path)!r}: its parent directory {str(path.parent)!r} does not exist")
    base = parent if parent.is_dir() else _existing_ancestor(path)
    if not base.is_dir():
        raise UsageError(f"{option} {str(path)!r}: {str(base)!r} is not a directory")
    _probe(base, option, path)


def check_out_file(path, option):
    """Before any work: the output file ``path`` can be written (atomically, next to itself)."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{option} {str(path)!r} is a directory, expected a file path")
    parent = Path(os.path.abspath(path)).parent
    if parent.exists() and not parent.is_dir():
        raise UsageError(f"{option} {str(path)!r}: {str(path.parent)!r} is not a directory")
    if not parent.is_dir():
        raise UsageError(f"{option} {str(path)!r}: its directory {str(path.parent)!r} does not exist")
    _probe(parent, option, path)


def refuse_existing_run(directory, names, option, force):
    """Refuse (``UsageError``) to overwrite any of ``names`` already in ``directory`` unless ``force``."""
    directory = Path(directory)
    present = [name for name in names if (directory / name).exists()]
    if present and not force:
        raise UsageError(
            f"{option} {str(directory)!r} already holds {', '.join(present)}; pass --force to overwrite, "
            "or choose another directory"
        )


# ----------------------------------------------------------------------------- data provenance
def _dataset_files(path):
    """The files a dataset path stands for (a ``.npy`` pair: ``X.npy`` then ``y.npy``)."""
    path = Path(path)
    if path.is_dir():
        return [path / "X.npy", path / "y.npy"]
    if path.suffix.lower() == ".npy":
        return [path, path.with_name("y.npy")]
    return [path]


def data_provenance(path, chunk=1 << 20):
    """``{"path", "resolved_path", "sha256"}`` of a dataset; the SHA-256 of its bytes, streamed
    (of a ``.npy`` pair: of ``X.npy``'s bytes followed by ``y.npy``'s)."""
    digest = hashlib.sha256()
    for file in _dataset_files(path):
        with open(file, "rb") as fh:
            for block in iter(lambda: fh.read(chunk), b""):
                digest.update(block)
    return {"path": str(path), "resolved_path": str(Path(path).resolve()), "sha256": digest.hexdigest()}


def same_data(provenance, path):
    """Whether the dataset at ``path`` has the bytes recorded in ``provenance``."""
    if not isinstance(provenance, dict) or not isinstance(provenance.get("sha256"), str):
        return False
    return data_provenance(path)["sha256"] == provenance["sha256"]


# ----------------------------------------------------------------------------- learner options
_ENTRY = re.compile(
    r"^(?P<names>[A-Za-z_][\w]*(?:\s*\([^)]*\))?(?:,\s*[A-Za-z_][\w]*(?:\s*\([^)]*\))?)*)\s+:\s?(?P<text>.*)$"
)


def _clean(text):
    return " ".join(
        text.replace("``", "")
        .replace(":class:", "")
        .replace(":mod:", "")
        .replace(":func:", "")
        .replace(":meth:", "")
        .replace(":data:", "")
        .replace("`", "")
        .replace("~", "")
        .split()
    )


def _first_clause(text):
    """The meaning up to its first semicolon or the end of its first sentence (a full stop
    before a capital letter; not the abbreviations "Eq. (35)", "Def. 6", "w.p. 1")."""
    text = text.split("; ")[0]
    text = re.split(r"\.\s+(?=[A-Z])", text)[0]
    return text.rstrip(".")


def option_meanings(cls):
    """``{field: one-line meaning}`` from the docstring of an options dataclass: entries
    ``name : meaning`` (continuation lines indented), or numpydoc ``name : type`` with the
    meaning on the indented lines below."""
    doc = inspect.getdoc(cls) or ""
    lines = doc.splitlines()
    numpydoc = any(
        line.strip() == "Parameters" and i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}
        for i, line in enumerate(lines)
    )
    meanings = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        match = _ENTRY.match(line) if line and not line[0].isspace() else None
        if not match:
            i += 1
            continue
        body = [] if numpydoc else [match["text"]]
        i += 1
        while i < len(lines) and lines[i].startswith((" ", "\t")):
            body.append(lines[i].strip())
            i += 1
        text = _first_clause(_clean(" ".join(body)))
        names = [re.sub(r"\s*\(.*\)", "", name).strip() for name in match["names"].split(",")]
        for name in names:
            if name not in meanings or (len(names) == 1 and not meanings[name][1]):
                meanings[name] = (text, len(names) == 1)
    return meanings


def options_table(method, d=None, k=None):
    """``(header, [(name, default, meaning)])`` of the options ``--option`` accepts for ``method``.

    The papers' learners run at their practical profile, ``Params.practical(d, k)``, whose values
    depend on ``d`` and ``k`` (default here ``d = 10, k = 3``, as the header says)."""
    from ..learners import registry
    from ..verdict import VerdictOptions

    row = registry.get(method, caller="--method")
    cls = row.params
    names = row.option_names() - {"teacher", "progress", "params"}  # the CLI sets these (params: not JSON)
    meanings = _meanings(row, cls)
    if row.kind == "paper":
        shown_d, shown_k = d or 10, k or 3
        values = dataclasses.asdict(cls.practical(shown_d, shown_k))
        values.update({f.name: f.default for f in dataclasses.fields(VerdictOptions)})
        where = "your data's" if d and k else "give DATA and --k for your data's"
        header = (
            f"options of --method {method} ({row.summary}); defaults: the practical profile "
            f"{cls.__name__}.practical(d, k) at d = {shown_d}, k = {shown_k} ({where})"
        )
    else:
        values = {f.name: f.default for f in dataclasses.fields(cls)}
        header = f"options of --method {method} ({row.summary}); give each as --option NAME=VALUE (values as JSON)"
    order = [f.name for f in dataclasses.fields(cls)] + [f.name for f in dataclasses.fields(VerdictOptions)]
    rows = []
    for name in dict.fromkeys(order):
        if name in names:
            rows.append(
                (
                    name,
                    repr(values.get(name)),
                    meanings.get(name, f"(no one-line entry: see help(verified_relu.learners.{cls.__name__}))"),
                )
            )
    return header, rows


def _meanings(row, cls):
    """Each option's meaning: a departure's entry in its module's ``DEPARTURES``, else its own
    docstring entry, else the shared verdict's, else an entry it shares with other options."""
    from ..verdict import VerdictOptions

    own = option_meanings(cls)
    shared = {name: text for name, (text, _) in option_meanings(VerdictOptions).items()}
    departures = getattr(row.load(), "DEPARTURES", None)
    out = {}
    for name in {f.name for f in dataclasses.fields(cls)} | set(shared):
        if isinstance(departures, dict) and name in departures:
            out[name] = "departure from the paper: " + _first_clause(_clean(departures[name]))
        elif isinstance(departures, (tuple, list)) and name in departures:
            out[name] = f"departure from the paper, on or off (see help({row.load().__name__}))"
        elif name in own and own[name][1]:
            out[name] = own[name][0]
        elif name in shared:
            out[name] = shared[name]
        elif name in own:
            out[name] = own[name][0]
    return out


def format_options(method, d=None, k=None, width=100):
    """The options table as text: one row per option (a long meaning wraps, never cut)."""
    import textwrap

    header, rows = options_table(method, d, k)
    w1 = max(len("option"), *(len(r[0]) for r in rows))
    w2 = max(len("default"), *(len(r[1]) for r in rows))
    indent = " " * (2 + w1 + 2 + w2 + 2)
    lines = [*textwrap.wrap(header, width), "", f"  {'option':<{w1}}  {'default':<{w2}}  meaning"]
    for name, default, meaning in rows:
        lines += textwrap.wrap(
            f"  {name:<{w1}}  {default:<{w2}}  {meaning}",
            max(width, len(indent) + 30),
            subsequent_indent=indent,
            break_on_hyphens=False,
        )
    lines += [
        "",
        "e.g. verified-relu learn DATA --k K --method " + method + f" --option {rows[0][0]}={_example(rows[0][1])}",
    ]
    return "\n".join(lines)


def _example(default):
    return {"None": "null", "True": "true", "False": "false"}.get(default, default.replace("'", '"').replace(" ", ""))
