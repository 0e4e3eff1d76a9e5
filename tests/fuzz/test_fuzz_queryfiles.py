"""Random ``.tl`` files (issue 11): statements from templates — with imports of
query files, missing files, folders, FIFOs, devices, symlinks to other files and
cycles — then mutated. Every file loads or raises a :class:`FramelogicError`
whose message starts with ``file:line:col``; no error shows the content of a
file that is not a query file; every query that loads prints back to text that
re-parses to the same formula."""

from __future__ import annotations

import os
import re

import pytest
from fuzzing import formula_pool, fuzz_settings, mutated
from hypothesis import given
from hypothesis import strategies as st

from framelogic.logic.errors import FramelogicError
from framelogic.logic.grammar import parse
from framelogic.logic.printer import quote, to_text
from framelogic.queries.queryfile import SETTINGS, parse_query_text

SECRET = "TOPSECRET-first-line"
WHERE = re.compile(r"(^|\s)\S*\.l?tl:\d+:\d+: ")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A folder of things to import: good and bad query files and non-query files."""
    d = tmp_path_factory.mktemp("fuzz-tl")
    (d / "common.tl").write_text('prop a = "x"\nprop b = "y" vs "z"\nquery shared: a U b\n')
    (d / "more.ltl").write_text('prop car = column "car"\nset fps = 10\n')
    (d / "self.tl").write_text('import "self.tl"\n')
    (d / "bad.tl").write_text('prop = "oops"\n')
    (d / "secret.txt").write_text(SECRET + "\nprop a = \"x\"\n")
    (d / "secret-link.tl").symlink_to(d / "secret.txt")
    (d / "zero.tl").symlink_to("/dev/zero")
    (d / "dir.tl").mkdir()
    os.mkfifo(d / "fifo.tl")
    (d / "latin1.tl").write_bytes(b'prop a = "caf\xe9"\n')
    return d


NAMES = ["a", "b", "car", "ped", "x_1", "mode", "query", "é"]
IMPORTS = ["common.tl", "more.ltl", "self.tl", "bad.tl", "secret.txt", "secret-link.tl", "zero.tl", "dir.tl",
           "fifo.tl", "latin1.tl", "missing.tl", "/dev/zero", "/etc/passwd", "", "a\\0b.tl", "../common.tl"]  # fmt: skip
NUMBERS = ["0", "1", "0.5", "5", "30", "1e400", "1e308", "1e7", "2.5", "-1", "1e-400", "99999999999999999999"]
STRINGS = ['"framelogic-tiny"', '"probs.csv"', '""', '"  "', '"a {}"', '"x\\"y"', "'single'", '"é\\n"']
MODES = ["runs", "shortest", "longest", "tlv", "bogus", "segments"]



def _statement_pool(size: int = 4000, seed: int = 5) -> list[str]:
    """Statements from templates, with a seeded generator (see ``formula_pool``: a
    pool keeps an example cheap; the mutations and combinations vary it)."""
    import random

    rng = random.Random(seed)
    pick = rng.choice

    def prompt_list() -> str:
        return ", ".join(pick(STRINGS) for _ in range(rng.randint(1, 3)))

    def statement() -> str:
        kind = pick(["prop", "prop", "column", "set", "import", "assume", "mutex", "query", "query", "comment"])
        name = pick(NAMES)
        if kind == "prop":
            text = f"prop {name} = {prompt_list()}" + (f" vs {prompt_list()}" if rng.random() < 0.4 else "")
            for option in rng.sample(["threshold", "templates", "calibration"], rng.randint(0, 2)):
                value = {"threshold": pick(NUMBERS), "templates": prompt_list(), "calibration": pick(STRINGS)}[option]
                text += f" {option} {value}"
            return text
        if kind == "column":
            return f"prop {name} = column {pick(STRINGS)}"
        if kind == "set":
            return f"set {pick([*SETTINGS, 'bogus'])} = {pick(NUMBERS + STRINGS + MODES)}"
        if kind == "import":
            return f'import "{pick(IMPORTS)}"'
        if kind == "assume":
            return f"assume {pick(FORMULAS)}"
        if kind == "mutex":
            return f"mutex({', '.join(pick(NAMES) for _ in range(rng.randint(1, 4)))})"
        if kind == "query":
            spec = pick(FORMULAS)
            if rng.random() < 0.3:
                spec = f"P>={pick(NUMBERS)} [ {spec} ]"
            text = f"query {name}: {spec}"
            if rng.random() < 0.4:
                text += f" mode {pick(MODES)}"
            if rng.random() < 0.3:
                text += f" threshold {pick(NUMBERS)}"
            return text
        return "# " + pick(["note", "prop a = 1", "é", ""])

    return [statement() for _ in range(size)]


FORMULAS = formula_pool(("a", "b", "car", "a car", "ped", "undeclared"), size=1000)
STATEMENTS = _statement_pool()
SEPARATORS = ["\n", "\n\n", "\r\n", "   \n", " # c\n"]
PRELUDE = 'prop a = "x"\nprop b = "y"\nprop car = "a car"\nprop ped = "a person"\n'

files = st.lists(st.tuples(st.sampled_from(STATEMENTS), st.sampled_from(SEPARATORS)), max_size=8).map(
    lambda parts: "".join(s + sep for s, sep in parts)
)
declared = files.map(lambda text: PRELUDE + text)
texts = st.one_of(declared, files, mutated(declared, max_edits=3), mutated(files, max_edits=6))


@fuzz_settings(ci=5_000, dev=200)
@given(text=texts)
def test_any_query_file_loads_or_raises_a_framelogic_error_with_a_position(base, text):
    try:
        qf = parse_query_text(text, source="q.tl", base_dir=base)
    except FramelogicError as e:
        message = str(e)
        assert WHERE.search(message.splitlines()[0]), message
        assert SECRET not in message, message
        return
    for q in qf.queries:
        assert parse(to_text(q.formula)) == q.formula
    for p in qf.props.values():
        assert all(s.strip() for s in p.prompts + p.contrast) and (p.column is None or p.column.strip())
    for f in qf.assumptions:
        assert parse(to_text(f)) == f
    assert quote  # the printer's quoting is what makes inline prompts re-parse
