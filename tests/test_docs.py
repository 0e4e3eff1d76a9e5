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


def blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def python_blocks():
    return blocks("python")


def test_every_readme_block_has_a_tested_language():
    # a block without a language would not run in any test below
    fences = re.findall(r"^```(\S*)$", README.read_text(), flags=re.M)
    opening = fences[0::2]
    assert set(opening) <= {"python", "sh", "tl", "formula", "text"}, opening
    assert all(lang for lang in opening)


@pytest.mark.parametrize("block", blocks("formula"))
def test_readme_formula_blocks_parse(block):
    from framelogic import parse

    parse(block)


@pytest.mark.parametrize("block", blocks("tl"))
def test_readme_query_file_blocks_parse_and_check(block, tmp_path):
    from framelogic.queries.checking import check_query_file

    examples = ROOT / "examples" / "queries"
    for f in examples.iterdir():  # the blocks import "common.tl"
        (tmp_path / f.name).write_bytes(f.read_bytes())
    q = tmp_path / "readme.tl"
    q.write_text(block)
    result = check_query_file(str(q))
    assert result.ok, [(c.name, c.analysis) for c in result.queries if not c.ok]
    if block.startswith("# examples/queries/driving.tl"):
        from framelogic.queries.queryfile import load_query_file

        real = {x.name: x for x in load_query_file(examples / "driving.tl").queries}
        assert all(real[x.name].spec == x.spec for x in result.file.queries)  # the excerpt is the real file's


def _synopsis():
    block = next(b for b in blocks("sh") if "framelogic --help" in b)
    commands, current = {}, None
    for line in block.splitlines():
        m = re.match(r"framelogic (\w+|--)", line)
        if m:
            current = None if m.group(1) == "--" else m.group(1)
        if current:
            commands.setdefault(current, []).extend(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", line.split("#")[0]))
    return commands


def test_readme_command_synopsis_matches_the_parser():
    from framelogic.queries.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    synopsis = _synopsis()
    assert set(sub.choices) <= set(synopsis)
    for cmd, options in synopsis.items():
        if cmd not in sub.choices:
            continue
        known = {o for a in sub.choices[cmd]._actions for o in a.option_strings}
        assert set(options) <= known, (cmd, set(options) - known)
        assert "--format" in known and "-q" in known, cmd


def test_readme_make_targets_exist():
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    block = next(b for b in blocks("sh") if b.startswith("make"))
    for target in re.findall(r"^make (\w+)", block, flags=re.M):
        r = subprocess.run(["make", "-n", "-C", str(ROOT), target], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    assert "framelogic demo" in subprocess.run(["make", "-n", "-C", str(ROOT), "demo"], capture_output=True, text=True).stdout


def test_readme_shell_examples_run(tmp_path):
    import os
    import subprocess
    import sys

    from framelogic.perception.render import write_scenario

    block = next(b for b in blocks("sh") if "my_detector" in b)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    (tmp_path / "framelogic-demo" / "videos").mkdir(parents=True)
    write_scenario(tmp_path / "framelogic-demo" / "videos" / "red_light_violation.mp4", "red_light_violation", fps=10)
    (tmp_path / "trace.csv").write_text("time,a,b\n0,1,0\n0.5,1,0\n1.0,0,1\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "FRAMELOGIC_CACHE": str(tmp_path / "cache")}  # fmt: skip
    detector = "my_detector() { printf 'time,pedestrian,ego_stopped\\n0,0,0\\n0.2,1,1\\n'; }\n"
    for line in block.strip().splitlines():
        r = subprocess.run(["bash", "-c", detector + line], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        expected = 1 if "unsatisfiable" in line else 0  # check exits 1 for an unsatisfiable query
        assert r.returncode == expected, (line, r.stdout[-1000:], r.stderr[-2000:])
    assert (tmp_path / "events.json").is_file()


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

