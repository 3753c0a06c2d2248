"""Every Python code block in the README and docs/ runs."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [
    pytest.param(code, id=f"{path.name}:{i}")
    for path in DOCS
    for i, code in enumerate(re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S))
]


@pytest.mark.parametrize("code", BLOCKS)
def test_code_block_runs(code):
    exec(compile(code, "<doc>", "exec"), {})


def test_there_are_examples():
    assert BLOCKS
