"""The package's layers, read from the source: every import, module-level and inside functions.

A *unit* is a subpackage of ``verified_relu`` (``learners``, ``precision``, ``app``, ...) or a
top-level module (``network``, ``verdict``, ...).  Imports that only a static type checker sees
(under ``if TYPE_CHECKING:``) are left out; every other import counts, wherever it stands.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import verified_relu

ROOT = Path(verified_relu.__file__).resolve().parent
PKG = "verified_relu"


def _module_name(path):
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name):
    rel = Path(*name.split(".")[1:]) if "." in name else Path()
    base = ROOT / rel
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _type_checking_nodes(tree):
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                skip.update(id(n) for n in ast.walk(sub))
    return skip


def _imports(path):
    """The ``verified_relu`` modules that the file imports, anywhere in it."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == PKG)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != PKG:
                continue
            for alias in node.names:  # "from pkg import submodule" imports the submodule
                sub = f"{target}.{alias.name}"
                found.add(sub if _is_module(sub) else target)
    return found


def _unit(module):
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def _graph():
    edges = {}
    for path in ROOT.rglob("*.py"):
        src = _module_name(path)
        for dst in _imports(path):
            a, b = _unit(src), _unit(dst)
            if a != b:
                edges.setdefault(a, set()).add(b)
    return edges


def _cycles(edges):
    """Strongly connected components with more than one unit (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def test_the_import_walk_sees_function_level_imports():
    """The walker is not blind: it finds a known function-level import (app.cli imports the
    learners inside its command functions) and a relative one resolved to a submodule."""
    found = _imports(ROOT / "app" / "cli.py")
    assert "verified_relu.learners" in found or "verified_relu.learners.registry" in found
    assert "verified_relu.learners.chains" in found


def test_a_cycle_is_detected():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_units():
    cycles = _cycles(_graph())
    assert cycles == [], f"import cycles between units of the package: {cycles}"


# The user-facing layer and its three re-exporting aliases (documented import paths).
_APP = {
    "verified_relu.app",
    "verified_relu.cli",
    "verified_relu.report",
    "verified_relu.data",
    "verified_relu.__main__",
}


@pytest.mark.parametrize(
    "lower",
    [
        "verified_relu.learners",
        "verified_relu.precision",
        "verified_relu.moments",
        "verified_relu.hermite",
        "verified_relu.network",
        "verified_relu.verdict",
        "verified_relu.estimator",
        "verified_relu.api",
        "verified_relu.instances",
    ],
)
def test_the_library_does_not_import_the_app_layer(lower):
    edges = _graph()
    assert not (edges.get(lower, set()) & _APP), f"{lower} imports the user-facing layer: {edges[lower] & _APP}"


def test_learners_do_not_import_precision():
    """``learn(..., dps=N)`` calls precision from above (verified_relu.api), not from learners."""
    edges = _graph()
    assert "verified_relu.precision" not in edges.get("verified_relu.learners", set())
    assert "verified_relu.learners" in edges.get("verified_relu.precision", set())
