"""Issue 10 (logic/ shape): no import circle among the language modules (one
lexical module), ``Bound`` the only validator of bounds, and a parser with no
per-parse state at module level."""

import ast
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from framelogic.logic import ast as A
from framelogic.logic import parse, to_text
from framelogic.logic.errors import BoundError, FormulaSyntaxError

LOGIC = Path(A.__file__).resolve().parent
#: The formula-language modules that once imported each other inside functions.
CORE = ("errors", "lexical", "ast", "passes", "printer", "grammar")

#: Function-level imports of siblings still present, with why. The table reader
#: and the trace module still need each other (``as_trace(path)`` reads a table,
#: ``read_table`` builds a ``TraceTable``); that belongs to the tables work.
KNOWN_LAZY = {("tables.py", "trace"), ("trace.py", "tables")}


def _sibling_imports_inside_functions(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.ImportFrom):
                if node.level >= 1:  # from .x import y / from . import x
                    mods = [node.module] if node.module else [a.name for a in node.names]
                elif (node.module or "").startswith("framelogic.logic"):
                    rest = node.module[len("framelogic.logic") :].lstrip(".")
                    mods = [rest] if rest else [a.name for a in node.names]
                else:
                    continue
                found += [(m.split(".")[0], node.lineno) for m in mods]
            elif isinstance(node, ast.Import):
                found += [
                    (a.name.split(".")[2], node.lineno)
                    for a in node.names
                    if a.name.startswith("framelogic.logic.")
                ]
    return found


def test_no_logic_module_imports_a_sibling_inside_a_function():
    """A function-level import of a sibling is how an import circle hides; the
    language modules import each other at the top, in one direction."""
    bad = []
    for path in sorted(LOGIC.glob("*.py")):
        for mod, line in _sibling_imports_inside_functions(path):
            if (path.name, mod) not in KNOWN_LAZY:
                bad.append(f"{path.name}:{line}: imports .{mod} inside a function")
    assert not bad, "\n".join(bad)


def test_the_check_sees_a_function_level_import():
    # the detector itself must catch the pattern it guards against
    src = "def f():\n    from .grammar import is_identifier\n    from framelogic.logic.printer import to_text\n"
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "m.py"
        p.write_text(src)
        assert _sibling_imports_inside_functions(p) == [("grammar", 2), ("printer", 3)]


_ORDERS = textwrap.dedent(
    """
    import importlib, itertools, sys, types
    logic_dir, core, others = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
    # bare packages: the modules load in exactly the order given, not in the
    # order framelogic/__init__.py happens to import them
    for name, path in (("framelogic", []), ("framelogic.logic", [logic_dir])):
        pkg = types.ModuleType(name)
        pkg.__path__ = path
        sys.modules[name] = pkg

    def clear():
        for m in [m for m in sys.modules if m.startswith("framelogic.logic.")]:
            del sys.modules[m]

    n = 0
    for a, b in itertools.permutations(core, 2):
        order = [a, b] + [m for m in core if m not in (a, b)]
        clear()
        for m in order:
            importlib.import_module("framelogic.logic." + m)
        n += 1
    for first in others:
        clear()
        importlib.import_module("framelogic.logic." + first)
        for m in core:
            importlib.import_module("framelogic.logic." + m)
        n += 1
    A = sys.modules["framelogic.logic.ast"]
    assert str(A.atom("a") & A.atom("b")) == "a & b"
    print(n)
    """
)


def test_logic_modules_import_in_every_order_in_a_fresh_interpreter():
    """Every ordered pair of language modules imported first (then the rest), and
    every other logic module imported first, each from an empty module cache;
    all 720 orders cost about a minute on a loaded machine, the pairs a few seconds."""
    others = sorted(p.stem for p in LOGIC.glob("*.py") if p.stem not in CORE and p.stem != "__init__")
    r = subprocess.run(
        [sys.executable, "-c", _ORDERS, str(LOGIC), ",".join(CORE), ",".join(others)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.strip()) == 30 + len(others)


def test_each_logic_module_imports_alone_through_the_package():
    for m in sorted(p.stem for p in LOGIC.glob("*.py")):
        r = subprocess.run(
            [sys.executable, "-c", f"import framelogic.logic.{m}"], capture_output=True, text=True, timeout=120
        )
        assert r.returncode == 0, f"{m}: {r.stderr}"


# ------------------------------------------------------------------ Bound decides


@pytest.mark.parametrize(
    "lo, hi, end",
    [
        ("5", "2", None),  # reversed
        ("0", "1e400", "hi"),  # too large
        ("1.5", "2", "lo"),  # not whole frames
        ("1", "2s", None),  # mixed units
        ("0s", "30", None),
        ("inf", "3", "lo"),
        ("2s", "1s", None),
        ("0", "2000000000s", "hi"),
    ],
)
def test_the_parser_reports_bounds_exactly_as_bound_decides_with_a_position(lo, hi, end):
    with pytest.raises(BoundError) as decided:
        A.Bound.of(lo, hi)
    assert decided.value.end == end
    text = f"a U[{lo},{hi}] b"
    with pytest.raises(FormulaSyntaxError) as e:
        parse(text)
    assert e.value.message == str(decided.value)
    # the caret is under the end at fault, or under '[' when the pair is
    column = {"lo": text.index(lo, 4), "hi": text.index(hi, 4 + len(lo)), None: 3}[end] + 1
    assert (e.value.line, e.value.column) == (1, column), str(e.value)


def test_the_operator_functions_and_the_parser_agree_on_bounds():
    assert A.F("a", hi="2s") == parse("F[,2s] a") == parse("F[0,2s] a")  # was refused as "mixed"
    assert A.U("a", "b", "500ms", "1s") == parse("a U[500ms,1s] b")
    assert A.G("a", 3, float("inf")) == parse("G[3,inf] a")
    with pytest.raises(BoundError, match="lower end"):
        A.F("a", lo=float("inf"))  # was silently read as 0
    with pytest.raises(BoundError, match="mixes"):
        A.F("a", 1, "2s")
    with pytest.raises(BoundError, match="not a bound"):
        A.F("a", 0, "2x")


def test_time_bounds_that_become_too_many_frames_are_bound_errors():
    from framelogic.logic.passes import resolve_time

    with pytest.raises(BoundError, match="limit"):
        resolve_time(parse("F[0,100000000s] a"), 1000.0)


# ------------------------------------------------------------------ no shared parser state


def test_parses_on_many_threads_do_not_share_state():
    texts = [f"F[0,{k}] (a{k} U[{k},{k + 3}] b)" for k in range(40)]
    bad = ["a U[5,2] b", "X " * 300 + "a"]
    expected = {t: parse(t) for t in texts}
    errors: list[str] = []

    def work(offset: int) -> None:
        for i in range(120):
            t = texts[(i + offset) % len(texts)]
            if parse(t) != expected[t]:
                errors.append(t)
            try:
                parse(bad[i % 2])
                errors.append("no error for " + bad[i % 2][:20])
            except FormulaSyntaxError:
                pass

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors[:5]


def test_every_node_prints_through_the_printer():
    f = parse('G ("a red light" -> F[0,2.5s] stop)')
    assert str(f) == to_text(f) == 'G ("a red light" -> F[0s,2.5s] stop)'
    assert parse(str(f)) == f
