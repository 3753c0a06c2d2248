"""``import verified_relu`` is light: submodules and public names load lazily (PEP 562), so the
import pulls in none of the heavy optional stacks, yet every public name stays importable.

The import's wall time is a benchmark (docs/benchmarks.md, "Import time"), not asserted here."""

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import verified_relu

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("sklearn", "torch", "matplotlib", "scipy.stats")


def _fresh(code):
    """Run ``code`` in a fresh interpreter (nothing imported yet) and return its JSON output."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _loaded(names):
    return (
        "import json, sys; print(json.dumps(sorted(m for m in sys.modules for h in "
        f"{list(names)!r} if m == h or m.startswith(h + '.'))))"
    )


def test_import_loads_no_heavy_stack():
    loaded = _fresh("import verified_relu; " + _loaded(HEAVY))
    assert loaded == []


def test_the_probe_sees_a_heavy_import():
    # the same probe after an import that does need scikit-learn (the estimator subclasses
    # sklearn.base.BaseEstimator when scikit-learn is installed): the check above can fail
    pytest.importorskip("sklearn")
    loaded = _fresh("from verified_relu import ReLUNetworkRegressor; " + _loaded(HEAVY))
    assert "sklearn" in loaded and "sklearn.base" in loaded


def test_learn_and_instances_load_no_heavy_stack():
    code = "from verified_relu import learn, instances, ReLUNetwork, metrics, moments; " + _loaded(HEAVY)
    assert _fresh(code) == []


@pytest.mark.parametrize("name", verified_relu.__all__)
def test_every_name_in_all_is_importable(name):
    value = getattr(verified_relu, name)
    assert value is not None
    namespace = {}
    exec(f"from verified_relu import {name}", namespace)
    assert namespace[name] is value


def test_lazy_names_are_the_submodules_objects():
    from verified_relu import network

    assert verified_relu.ReLUNetwork is network.ReLUNetwork
    assert verified_relu.instances is importlib.import_module("verified_relu.instances")
    for name, module in verified_relu._NAMES.items():
        assert getattr(verified_relu, name) is getattr(importlib.import_module(f"verified_relu.{module}"), name)


def test_dir_lists_all_and_unknown_names_raise():
    assert set(verified_relu.__all__) <= set(dir(verified_relu))
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        verified_relu.no_such_name
    with pytest.raises(ImportError):
        exec("from verified_relu import no_such_name", {})


def _documented_paths():
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    return sorted(set(re.findall(r"`(verified_relu(?:\.[A-Za-z_][A-Za-z0-9_]*)+)", text)))


def test_api_md_documents_names():
    # guards the parametrisation below against a silently empty list
    assert "verified_relu.ReLUNetworkRegressor" in _documented_paths()
    assert "verified_relu.learn" in _documented_paths()


@pytest.mark.parametrize("path", _documented_paths())
def test_every_name_in_api_md_resolves(path):
    """``verified_relu.a.b`` in docs/api.md: the top name imports from the package (``from
    verified_relu import a``) and the rest resolves by attribute or submodule."""
    parts = path.split(".")
    namespace = {}
    exec(f"from verified_relu import {parts[1]}", namespace)
    obj, dotted = namespace[parts[1]], ".".join(parts[:2])
    for part in parts[2:]:
        dotted += "." + part
        if not hasattr(obj, part):
            obj = importlib.import_module(dotted)
        else:
            obj = getattr(obj, part)
    assert obj is not None
