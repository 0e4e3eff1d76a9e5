"""Docs are tests: README snippets run, and printed values match their comments."""

import contextlib
import doctest
import io
import re
from pathlib import Path

import pytest

import framelogic
import framelogic.logic.grammar
import framelogic.logic.trace

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.parametrize("block", python_blocks())
def test_readme_python_blocks_run_and_print_what_they_say(block):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, str(README), "exec"), {})
    printed = out.getvalue().splitlines()
    expected = [m.group(1).strip() for m in re.finditer(r"^print\(.*\)\s+# (.*)$", block, flags=re.M)]
    assert printed[: len(expected)] == expected


@pytest.mark.parametrize("module", [framelogic, framelogic.logic.grammar, framelogic.logic.trace])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
