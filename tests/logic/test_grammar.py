"""The language: what parses, to what, and how errors read."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framelogic.logic import ast as A
from framelogic.logic import parse, parse_spec, to_text
from framelogic.logic.errors import FormulaSyntaxError
from framelogic.logic.strategies import formulas

a, b, c = A.atom("a"), A.atom("b"), A.atom("c")


@pytest.mark.parametrize(
    "text, expected",
    [
        ('P>=0.80 [ "car" U "person" ]', A.U(A.atom("car", quoted=True), A.atom("person", quoted=True))),
        ('F "car"', A.F(A.Atom("car", True))),
        ('G "car"', A.G(A.Atom("car", True))),
        (' "car" & "person"', A.conj(A.Atom("car", True), A.Atom("person", True))),
        ('("a" & "b") U "c"', A.U(A.conj(A.Atom("a", True), A.Atom("b", True)), A.Atom("c", True))),
        ('P>=0.60 [ ("car" & "truck") U "bus" ]', A.U(A.conj(A.Atom("car", True), A.Atom("truck", True)), A.Atom("bus", True))),
    ],
)
def test_nsvs_tl_and_tlv_query_strings_parse_unchanged(text, expected):
    assert parse(text) == expected


def test_pctl_wrapper_sets_threshold():
    s = parse_spec('P>=0.80 [ "car" U "person" ]')
    assert (s.comparison, s.threshold, s.query) == (">=", 0.8, False)
    assert parse_spec("P>0.5 [a]").comparison == ">"
    assert parse_spec("P<=0.25 [a]").threshold == 0.25
    assert parse_spec("P<0.1 [a]").comparison == "<"
    q = parse_spec("P=? [ F a ]")
    assert q.query and q.threshold is None and q.formula == A.F(a)
    assert parse_spec("F a").comparison is None


def test_atoms_identifiers_and_both_quote_kinds_with_escapes():
    assert parse("red_light") == A.Atom("red_light", False)
    assert parse("'a red light'") == A.Atom("a red light", True)
    assert parse('"a \\"red\\" light"') == A.Atom('a "red" light', True)
    assert parse("'it\\'s'") == A.Atom("it's", True)
    assert parse('"back\\\\slash"') == A.Atom("back\\slash", True)
    assert parse("true") == A.TRUE and parse("false") == A.FALSE


@pytest.mark.parametrize(
    "symbols, words",
    [
        ("!a", "not a"),
        ("a & b", "a and b"),
        ("a && b", "a and b"),
        ("a | b", "a or b"),
        ("a || b", "a or b"),
        ("a -> b", "a implies b"),
        ("a <-> b", "a iff b"),
        ("X a", "next a"),
        ("N a", "weak_next a"),
        ("WX a", "weak_next a"),
        ("F a", "eventually a"),
        ("G a", "always a"),
        ("a U b", "a until b"),
        ("a R b", "a release b"),
        ("a W b", "a weak_until b"),
        ("a M b", "a strong_release b"),
        ("Y a", "previously a"),
        ("O a", "once a"),
        ("H a", "historically a"),
        ("a S b", "a since b"),
    ],
)
def test_symbol_and_word_operators_agree(symbols, words):
    assert parse(symbols) == parse(words)


def test_precedence_and_associativity():
    assert parse("a | b & c") == A.disj(a, A.conj(b, c))
    assert parse("a & b U c") == A.conj(a, A.U(b, c))
    assert parse("F a U b") == A.U(A.F(a), b)
    assert parse("!a U b") == A.U(A.neg(a), b)
    assert parse("a U b U c") == A.U(a, A.U(b, c))
    assert parse("a -> b -> c") == A.implies(a, A.implies(b, c))
    assert parse("a -> b <-> c") == A.iff(A.implies(a, b), c)
    assert parse("a | b -> c") == A.implies(A.disj(a, b), c)
    assert parse("G (a -> F b)") == A.G(A.implies(a, A.F(b)))


def test_bounds_in_frames_and_time():
    assert parse("F[0,30] a") == A.F(a, 0, 30)
    assert parse("G[5,10] a") == A.G(a, 5, 10)
    assert parse("a U[,20] b") == A.U(a, b, 0, 20)
    assert parse("F[10,inf] a") == A.F(a, 10, None)
    assert parse("F[0,inf] a") == A.F(a)
    assert parse("G[0,2.5s] a") == A.Always(a, A.Bound(0, 2.5, "s"))
    assert parse("F[100ms,1s] a") == A.Eventually(a, A.Bound(0.1, 1.0, "s"))
    assert parse("O[0,3s] a") == A.Once(a, A.Bound(0, 3.0, "s"))
    assert parse("H[0,1min] a") == A.Historically(a, A.Bound(0, 60.0, "s"))
    for op in "U R W M S".split():
        assert parse(f"a {op}[1,2] b").bound == A.Bound(1, 2)


def test_comments_and_free_whitespace():
    text = """
    # pedestrians must be yielded to
    G (ped   # someone on the crosswalk
       -> F[0,30]
          stopped)
    """
    assert parse(text) == A.G(A.implies(A.atom("ped"), A.F(A.atom("stopped"), 0, 30)))


def test_smart_constructors_normalize():
    assert parse("!!a") == a
    assert parse("a & true") == a
    assert parse("a & false") == A.FALSE
    assert parse("a | true") == A.TRUE
    assert parse("(a & b) & (c & a)") == A.And((a, b, c))
    assert parse("a & !a") == A.FALSE
    assert parse("F false") == A.FALSE
    assert parse("G true") == A.TRUE
    # Bounded operators keep what is not constant under every bound.
    assert parse("F[2,3] true") != A.TRUE
    assert parse("a W[2,3] true") != A.TRUE


def test_python_operators_build_formulas():
    assert (a & b) == A.conj(a, b)
    assert (a | b) == A.disj(a, b)
    assert ~a == A.neg(a)
    assert (a >> b) == A.implies(a, b)
    assert A.F(a, lo=0, hi=30) == parse("F[0,30] a")
    assert A.G(a, "0s", "2.5s") == parse("G[0,2.5s] a")
    assert A.atom("a red light") == parse('"a red light"')
    assert str(A.U(a & b, c)) == "(a & b) U c"


@pytest.mark.parametrize(
    "text, line, column, hint_part",
    [
        ("(a & b", 1, 7, "missing ')'"),
        ("a & b)", 1, 6, "remove it"),
        ("a &", 1, 4, "missing its operand"),
        ("F[5,2] a", 1, 2, "[2,5]"),
        ("a => b", 1, 3, "'->'"),
        ("U b", 1, 1, "binary"),
        ("a\n  & & b", 2, 5, "a & b"),
        ('"unclosed', 1, 1, 'close the prompt'),
        ("", 1, 1, "F "),
        ("X[3] a", 1, 4, "take no bound"),
        ("P>=1.5 [ a ]", 1, 4, None),
        ("F[1.5,3] a", 1, 3, "unit"),
    ],
)
def test_errors_name_line_column_caret_and_hint(text, line, column, hint_part):
    with pytest.raises(FormulaSyntaxError) as info:
        parse(text, source="q.tl")
    e = info.value
    assert isinstance(e, ValueError)
    assert (e.line, e.column) == (line, column)
    msg = str(e)
    assert msg.startswith(f"q.tl:{line}:{column}:")
    if text.strip():
        lines = msg.splitlines()
        caret_line = next(i for i, s in enumerate(lines) if s.strip() == "^")
        assert lines[caret_line].index("^") == 4 + column - 1
    if hint_part:
        assert hint_part in msg


def test_deep_nesting_works_or_fails_cleanly():
    assert parse("(" * 10_000 + "a" + ")" * 10_000) == a
    assert parse("!" * 100_000 + "a") == a
    assert parse("!" * 100_001 + "a") == A.neg(a)
    with pytest.raises(FormulaSyntaxError, match="levels deep"):
        parse("X " * 10_000 + "a")
    with pytest.raises(FormulaSyntaxError, match="levels deep"):
        parse("(" * 5_000 + "a U " * 5_000 + "b" + ")" * 5_000)
    long_and = " & ".join(f"p{i}" for i in range(5_000))
    assert len(parse(long_and).args) == 5_000


@given(formulas(max_depth=5))
def test_print_parse_round_trip_symbols(f):
    assert parse(to_text(f)) == f


@given(formulas(max_depth=5))
def test_print_parse_round_trip_words(f):
    assert parse(to_text(f, "words")) == f


@given(formulas(atoms=("car", "a red light", "it's \"x\"\\", "U_turn"), max_depth=3))
def test_round_trip_with_prompts_and_keyword_like_names(f):
    assert parse(to_text(f)) == f


_VALID = [
    'P>=0.80 [ "car" U "person" ]', "G (ped -> F[0,3s] stopped)", "a U[,20] b & O[0,3s] c",
    "(a & b) U c", "X N WX Y a", "a S b since c", "F[10,inf] a", "not a and b or c implies d iff e",
]  # fmt: skip


@given(st.sampled_from(_VALID), st.data())
def test_fuzz_mutations_only_parse_or_raise_syntax_error(text, data):
    chars = list(text)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        pos = data.draw(st.integers(0, len(chars)))
        ch = data.draw(st.sampled_from(list("()[]!&|-<>\"',.#UXFG0123456789 sm") + ["inf", "=>"]))
        if op == "insert":
            chars.insert(pos, ch)
        elif chars and pos < len(chars):
            if op == "delete":
                del chars[pos]
            else:
                chars[pos] = ch
    try:
        parse("".join(chars))
    except FormulaSyntaxError:
        pass


@given(st.text(max_size=60))
def test_fuzz_random_text_only_parses_or_raises_syntax_error(text):
    try:
        parse(text)
    except FormulaSyntaxError:
        pass
