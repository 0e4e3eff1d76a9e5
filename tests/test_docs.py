"""Docs are tests: README snippets run, and printed values match their comments."""

import contextlib
import doctest
import importlib
import io

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.parametrize("block", python_blocks())
def test_readme_python_blocks_run_and_print_what_they_say(block, tmp_path, monkeypatch):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)  # snippets may write files (a rendered video)
    monkeypatch.setenv("FRAMELOGIC_CACHE", str(tmp_path / "cache"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, str(README), "exec"), {})
    printed = out.getvalue().splitlines()
    expected = [m.group(1).strip() for m in re.finditer(r"^print\(.*\)\s+# (.*)$", block, flags=re.M)]
    assert printed[: len(expected)] == expected


MODULES = [
    "framelogic", "framelogic.logic.grammar", "framelogic.logic.trace", "framelogic.automata.compile",
    "framelogic.automata.engine", "framelogic.automata.localize", "framelogic.automata.monitor",
    "framelogic.queries.search",
]  # fmt: skip


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_readme_documents_every_command():
    text = README.read_text()
    from framelogic.queries.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for cmd in sub.choices:
        assert f"framelogic {cmd}" in text, cmd

