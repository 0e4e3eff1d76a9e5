"""Formula strings, random and mutated (issue 11): every string either parses
or raises a :class:`FramelogicError` subclass with a position — never another
exception — and every formula that parses prints back to text that re-parses
to the same formula, in both printing styles."""

from __future__ import annotations

from fuzzing import PIECES, formula_pool, fuzz_settings, mutated
from hypothesis import given
from hypothesis import strategies as st

from framelogic.logic import ast as A
from framelogic.logic.errors import FormulaSyntaxError, FramelogicError
from framelogic.logic.grammar import parse, parse_spec
from framelogic.logic.printer import to_text
from framelogic.logic.strategies import formulas

ATOMS = ("a", "b", "car", "a red light", 'say "hi"\\', "X1", "é")

#: Well-formed formulas from the AST, printed both ways: the mutations' seeds.
printed = st.sampled_from(formula_pool(ATOMS))

#: Token soup from the grammar's vocabulary: mostly wrong, exercises every error path.
TOKENS = PIECES + ["a", "b", "car", '"a car"', "'a truck'", "(", ")", "[0,30]", "[1s,2s]", "[100ms,inf]",
                   "not", "and", "or", "implies", "iff", "eventually", "always", "until", "since", "once",
                   "historically", "next", "weak_next", "previously", "release", "weak_until",
                   "strong_release", "P", ">=", "<", "0.8", "=?"]  # fmt: skip
soup = st.lists(
    st.tuples(st.sampled_from(TOKENS), st.sampled_from(["", " ", "  ", "\n", "\t", " # c\n"])), max_size=25
).map(lambda parts: "".join(t + sep for t, sep in parts))

#: Shapes that broke the parser before: deep nesting, long chains, huge numbers.
@st.composite
def extremes(draw: st.DrawFn) -> str:
    # mostly around MAX_DEPTH (200); once in a while the sizes that used to blow up
    n = 2500 if draw(st.integers(0, 49)) == 17 else draw(st.integers(0, 240))
    op = draw(st.sampled_from(["X ", "!X ", "F[0,2] ", "G ", "Y "]))
    shape = draw(st.sampled_from(["prefix", "chain", "paren", "bound", "wrapper"]))
    if shape == "prefix":
        return op * n + "a"
    if shape == "chain":
        sep = draw(st.sampled_from([" & ", " | ", " -> ", " <-> ", " U ", " S ", " && ", " or "]))
        return sep.join(f"a{i % 7}" for i in range(n + 1))
    if shape == "paren":
        return "(" * n + "a" + ")" * draw(st.integers(max(0, n - 2), n + 2))
    number = draw(st.sampled_from(["1e400", "1e308", "1e9", "1000000001", "999999999", "1e-400",
                                   "0.0000001", "18446744073709551617", "1" * 400, "0"]))  # fmt: skip
    unit = draw(st.sampled_from(["", "s", "ms", "min"]))
    if shape == "bound":
        return f"F[0,{number}{unit}] a & G[{number}{unit},inf] b"
    return f"P>={number} [ a U[,{number}{unit}] b ]"


texts = st.one_of(
    printed,
    mutated(printed),
    soup,
    mutated(soup, max_edits=2),
    extremes(),  # long inputs: one branch of six keeps the average example cheap
    st.text(max_size=60),
)


def _roundtrip(f: A.Formula, styles=("symbols", "words")) -> None:  # type: ignore[no-untyped-def]
    for style in styles:
        text = to_text(f, style)
        assert parse(text) == f, (style, text)


@fuzz_settings(ci=20_000, dev=300)
@given(texts, st.sampled_from(["symbols", "words"]))
def test_any_formula_string_parses_or_raises_a_framelogic_error(text, style):
    try:
        spec = parse_spec(text)
    except FormulaSyntaxError as e:
        assert e.line >= 1 and e.column >= 1 and f"<formula>:{e.line}:{e.column}: " in str(e)
        return
    except FramelogicError as e:  # pragma: no cover - every parse error is a FormulaSyntaxError today
        raise AssertionError(f"a parse error without a position: {e!r}") from None
    if style == "symbols":  # str(spec) prints the formula with symbols, and the P wrapper
        assert parse_spec(str(spec)) == spec, str(spec)
    else:
        _roundtrip(spec.formula, ("words",))


@fuzz_settings(ci=1_000, dev=100)
@given(formulas(ATOMS, max_depth=6, max_bound=10**9))
def test_every_formula_prints_text_that_reparses(f):
    _roundtrip(f)
