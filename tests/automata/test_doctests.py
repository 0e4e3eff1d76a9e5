"""The docstring examples of the automata modules run and print what they say."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["compile", "engine", "localize", "monitor", "analysis", "dfa", "boolean", "streaming", "factor", "plan"])
def test_docstring_examples(name):
    module = importlib.import_module(f"framelogic.automata.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
