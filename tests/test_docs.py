"""Every Python code block in the README and docs/ runs, and so does every ``verified-relu``
command line of their ``console`` blocks (in order, one scratch directory per page, so a page's
commands may use the files its earlier commands wrote)."""

import contextlib
import io
import json
import re
import shlex
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


def _console_commands(path):
    lines = []
    for block in re.findall(r"```console\n(.*?)```", path.read_text(encoding="utf-8"), re.S):
        for line in block.splitlines():
            line = line.strip()
            line = line[2:] if line.startswith("$ ") else line
            if line.startswith("verified-relu "):
                lines.append(line)
    return lines


SLOW_PAGES = {"cli.md", "stability.md"}  # every command of the CLI guide; the mpmath stability report
CONSOLE = [
    pytest.param(path, id=path.name, marks=[pytest.mark.slow] if path.name in SLOW_PAGES else [])
    for path in DOCS
    if _console_commands(path)
]


@pytest.mark.parametrize("path", CONSOLE)
def test_console_commands_run(path, tmp_path, monkeypatch):
    from verified_relu.app.cli import main

    monkeypatch.chdir(tmp_path)
    for line in _console_commands(path):
        argv = shlex.split(line, comments=True)[1:]
        argv = [a for a in argv if a != ">"]
        if ">" in shlex.split(line, comments=True):  # "cmd > file": capture stdout into the file
            words = shlex.split(line, comments=True)
            target = words[words.index(">") + 1]
            argv = words[1 : words.index(">")]
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                code = main(argv)
            Path(target).write_text(buf.getvalue())
        else:
            with contextlib.redirect_stdout(io.StringIO()):
                code = main(argv)
        if argv[0] == "learn" and code == 1:
            # exit status 1 of learn: the learner reported failure and still wrote its files (as
            # the page documents).  Whether one run at one seed succeeds is the learners' tests'
            # business (a rate over seeds), not the docs'.
            out = Path(argv[argv.index("--out") + 1] if "--out" in argv else "learned")
            assert json.loads((out / "result.json").read_text())["success"] is False, line
            continue
        assert code == 0, f"{path.name}: `{line}` exited with {code}"
