"""Structured English: a table of driving sentences with their formulas (compared
with the exact analysis), the pattern x scope catalogue, the round trip
formula -> English -> formula on random pattern instances, and error messages."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

import framelogic as fl
from framelogic.logic import ast as A
from framelogic.logic.english import RESERVED_WORDS, parse_english, to_english
from framelogic.logic.strategies import formulas

PROPS = {
    "red_light": "a red traffic light",
    "green_light": "a green traffic light",
    "yellow_light": "a yellow traffic light",
    "stopped": "the car is stopped",
    "moving": "the car is moving",
    "pedestrian": "a pedestrian on the crosswalk",
    "stop_sign": "a stop sign",
    "braking": "the car is braking",
    "cyclist": "a cyclist ahead",
    "car_close": "the car ahead is close",
    "turn_signal": "the turn signal is on",
    "lane_change": "the car changes lanes",
    "horn": "the horn sounds",
    "night": "it is night",
    "headlights": "the headlights are on",
    "school_zone": "a school zone",
}

# (sentence, expected formula in framelogic syntax). Scoped patterns are written in
# Dwyer's published LTL forms, not in the forms the translator builds, so that the
# comparison (exact equivalence) checks the mapping rather than repeating it.
TABLE = [
    # the examples
    ("whenever the light is red, the car shall stop within 3 seconds", "G (red_light -> F[0,3s] stopped)"),
    ("a pedestrian is never on the crosswalk while the car moves", "G !(pedestrian & moving)"),
    ("after the light turns green, the car shall move within 2 seconds, until the light turns red",
     "G (green_light & !red_light -> (!red_light U[0,2s] (moving & !red_light)))"),
    # FRETish timings
    ("whenever the light is red, the car shall immediately be stopped", "G (red_light -> stopped)"),
    ("whenever the light is red, the car shall be stopped immediately", "G (red_light -> stopped)"),
    ("whenever a pedestrian is on the crosswalk, the car shall brake at the next frame", "G (pedestrian -> X braking)"),
    ("whenever the car is close, the car shall eventually brake", "G (car_close -> F braking)"),
    ("whenever the car is close, the car shall brake", "G (car_close -> F braking)"),
    ("when there is a stop sign, the car shall stop within 5 seconds", "G (stop_sign -> F[0,5s] stopped)"),
    ("if the light is yellow, the car shall stop within 4 seconds", "G (yellow_light -> F[0,4s] stopped)"),
    ("whenever the light is red, the car shall stay stopped for 2 seconds", "G (red_light -> G[0,2s] stopped)"),
    ("whenever the car stops and there is a stop sign, the car shall remain stopped for at least 2 seconds",
     "G (stopped & stop_sign -> G[0,2s] stopped)"),
    ("whenever the light is red, the car shall remain stopped until the light is green",
     "G (red_light -> (stopped W green_light))"),
    ("whenever a pedestrian is on the crosswalk, the car shall never move", "G (pedestrian -> G !moving)"),
    ("whenever it is night, the headlights shall always be on", "G (night -> G headlights)"),
    ("whenever the turn signal is on, the car shall change lanes between 1 and 5 seconds",
     "G (turn_signal -> F[1s,5s] lane_change)"),
    ("whenever the light turns green, the car shall move within 500 milliseconds", "G (green_light -> F[0,0.5s] moving)"),
    ("whenever the light is green, the car shall move within 10 frames", "G (green_light -> F[0,10] moving)"),
    ("whenever the light is green, the car shall move after at least 1 second", "G (green_light -> F[1s,inf] moving)"),
    ("upon a red light, the car shall brake within 1 second", "G (red_light & !Y red_light -> F[0,1s] braking)"),
    ("whenever the light has been red for at least 2 seconds, the car shall be stopped",
     "G (H[0,2s] red_light -> F stopped)"),
    ("whenever the light has been red for 2 seconds, the car shall be stopped immediately",
     "G (H[0,2s] red_light -> stopped)"),
    ("the car must stop within 3 seconds", "F[0,3s] stopped"),
    # subject as the response: "X shall hold"
    ("stopped shall hold within 3 seconds", "F[0,3s] stopped"),
    ("whenever red_light, stopped shall hold within 3 seconds", "G (red_light -> F[0,3s] stopped)"),
    ("whenever the light is red, braking or stopped shall be true at the next frame",
     "G (red_light -> X (braking | stopped))"),
    # conjunction, disjunction and negation of conditions
    ("whenever the light is red and a pedestrian is on the crosswalk, the car shall stop within 2 seconds",
     "G (red_light & pedestrian -> F[0,2s] stopped)"),
    ("whenever the light is red or the light is yellow, the car shall brake within 1 second",
     "G (red_light | yellow_light -> F[0,1s] braking)"),
    ("whenever the light is not green, the car shall not move immediately", "G (!green_light -> !moving)"),
    ("whenever the car is moving and not braking, the car shall not be close immediately",
     "G (moving & !braking -> !car_close)"),
    ("whenever (the light is red or the light is yellow) and not the car is stopped, the car shall brake",
     "G ((red_light | yellow_light) & !stopped -> F braking)"),
    # absence
    ("the car never moves while the light is red", "G !(moving & red_light)"),
    ("the car is never close", "G !car_close"),
    ("never the car is close", "G !car_close"),
    ("the car shall never move while a pedestrian is on the crosswalk", "G !(moving & pedestrian)"),
    ("before the light turns green, the car shall never move", "F green_light -> (!moving U green_light)"),
    ("after the light turns red, the car shall never move", "G (red_light -> G !moving)"),
    ("between a red light and a green light, the car shall never move",
     "G (red_light & !green_light & F green_light -> (!moving U green_light))"),
    ("after a red light until a green light, the car shall never move",
     "G (red_light & !green_light -> (!moving W green_light))"),
    # existence
    ("eventually the car stops", "F stopped"),
    ("the car eventually stops", "F stopped"),
    ("the car shall eventually stop", "F stopped"),
    ("before the light turns green, the car shall stop", "!green_light W (stopped & !green_light)"),
    ("after a stop sign, the car shall eventually stop", "G !stop_sign | F (stop_sign & F stopped)"),
    ("between a stop sign and a green light, the car shall eventually stop",
     "G (stop_sign & !green_light -> (!green_light W (stopped & !green_light)))"),
    ("after a stop sign until a green light, the car shall eventually stop",
     "G (stop_sign & !green_light -> (!green_light U (stopped & !green_light)))"),
    # universality
    ("always the headlights are on", "G headlights"),
    ("the headlights are always on", "G headlights"),
    ("globally, the car shall always stay in lane", 'G "the car stay in lane"'),
    ("the car shall always be stopped while the light is red", "G (red_light -> stopped)"),
    ("before the light turns green, the car shall always be stopped", "F green_light -> (stopped U green_light)"),
    ("after it is night, the headlights shall always be on", "G (night -> G headlights)"),
    ("between a red light and a green light, the car shall always be stopped",
     "G (red_light & !green_light & F green_light -> (stopped U green_light))"),
    ("after the light turns red, the car shall always be stopped, until the light turns green",
     "G (red_light & !green_light -> (stopped W green_light))"),
    ("after the light turns red until the light turns green, the car shall always be stopped",
     "G (red_light & !green_light -> (stopped W green_light))"),
    # response, scoped
    ("after it is night, whenever a cyclist is ahead, the car shall brake within 2 seconds",
     "G (night -> G (cyclist -> F[0,2s] braking))"),
    ("before the light turns green, whenever a pedestrian is on the crosswalk, the car shall eventually brake",
     "F green_light -> ((pedestrian -> (!green_light U (braking & !green_light))) U green_light)"),
    ("between a school zone and a green light, whenever a pedestrian is on the crosswalk, the car shall eventually stop",
     "G (school_zone & !green_light & F green_light -> ((pedestrian -> (!green_light U (stopped & !green_light))) U green_light))"),
    ("after a school zone until a green light, whenever a pedestrian is on the crosswalk, the car shall eventually stop",
     "G (school_zone & !green_light -> ((pedestrian -> (!green_light U (stopped & !green_light))) W green_light))"),
    # precedence
    ("the car moves only after the light turns green", "!moving W green_light"),
    ("the car changes lanes only after the turn signal is on", "!lane_change W turn_signal"),
    ("before a stop sign, the car changes lanes only after the turn signal is on",
     "F stop_sign -> (!lane_change U (turn_signal | stop_sign))"),
    ("after it is night, the car moves only after the headlights are on", "!night W (night & (!moving W headlights))"),
    ("between a red light and a stop sign, the car moves only after the light turns green",
     "G (red_light & !stop_sign & F stop_sign -> (!moving U (green_light | stop_sign)))"),
    ("after a red light until a stop sign, the car moves only after the light turns green",
     "G (red_light & !stop_sign -> (!moving W (green_light | stop_sign)))"),
    # past time
    ("whenever the car moves, previously the light was green", "G (moving -> O green_light)"),
    ("whenever the car moves, the light was green in the last 5 seconds", "G (moving -> O[0,5s] green_light)"),
    ("whenever the car changes lanes, the turn signal was on for the last 2 seconds",
     "G (lane_change -> H[0,2s] turn_signal)"),
    ("whenever the car brakes, at the previous frame the car was close", "G (braking -> Y car_close)"),
    ("whenever the car moves, the car is not stopped since the light turned green",
     "G (moving -> (!stopped S green_light))"),
    # compositional
    ("if the light is red then eventually within 3 seconds the car stops", "red_light -> F[0,3s] stopped"),
    ("the car is moving until the light is red", "moving U red_light"),
    ('whenever "a police car with flashing lights", the car shall stop within 10 seconds',
     'G ("a police car with flashing lights" -> F[0,10s] stopped)'),
]


def _translate(sentence):
    return fl.translate(sentence, PROPS).formula


@pytest.mark.parametrize(("sentence", "expected"), TABLE, ids=[s for s, _ in TABLE])
def test_sentence_table(sentence, expected):
    got = _translate(sentence)
    want = fl.parse(expected)
    answer = fl.equivalent(got, want, fps=2)
    assert answer, f"{sentence!r}\n got  {got}\n want {want}\n differ on {answer.counterexample}"


def test_table_is_large_enough():
    assert len(TABLE) >= 60


@pytest.mark.parametrize(("sentence", "expected"), TABLE, ids=[s for s, _ in TABLE])
def test_table_round_trip(sentence, expected):
    """Every translated sentence reads back as English that translates to the same formula."""
    f = _translate(sentence)
    back = parse_english(to_english(f))
    assert fl.equivalent(f, back, fps=2)


# --------------------------------------------------------------------------- the catalogue


def _dwyer(pattern, scope, p="p", s="s", q="q", r="r"):
    """Dwyer et al.'s LTL mapping (with 'after Q' from the first Q for precedence)."""
    forms = {
        ("absence", "globally"): "G !{p}",
        ("absence", "before"): "F {r} -> (!{p} U {r})",
        ("absence", "after"): "G ({q} -> G !{p})",
        ("absence", "between"): "G ({q} & !{r} & F {r} -> (!{p} U {r}))",
        ("absence", "after_until"): "G ({q} & !{r} -> (!{p} W {r}))",
        ("existence", "globally"): "F {p}",
        ("existence", "before"): "!{r} W ({p} & !{r})",
        ("existence", "after"): "G !{q} | F ({q} & F {p})",
        ("existence", "between"): "G ({q} & !{r} -> (!{r} W ({p} & !{r})))",
        ("existence", "after_until"): "G ({q} & !{r} -> (!{r} U ({p} & !{r})))",
        ("universality", "globally"): "G {p}",
        ("universality", "before"): "F {r} -> ({p} U {r})",
        ("universality", "after"): "G ({q} -> G {p})",
        ("universality", "between"): "G ({q} & !{r} & F {r} -> ({p} U {r}))",
        ("universality", "after_until"): "G ({q} & !{r} -> ({p} W {r}))",
        ("precedence", "globally"): "!{p} W {s}",
        ("precedence", "before"): "F {r} -> (!{p} U ({s} | {r}))",
        ("precedence", "after"): "!{q} W ({q} & (!{p} W {s}))",
        ("precedence", "between"): "G ({q} & !{r} & F {r} -> (!{p} U ({s} | {r})))",
        ("precedence", "after_until"): "G ({q} & !{r} -> (!{p} W ({s} | {r})))",
        ("response", "globally"): "G ({p} -> F {s})",
        ("response", "before"): "F {r} -> (({p} -> (!{r} U ({s} & !{r}))) U {r})",
        ("response", "after"): "G ({q} -> G ({p} -> F {s}))",
        ("response", "between"): "G ({q} & !{r} & F {r} -> (({p} -> (!{r} U ({s} & !{r}))) U {r}))",
        ("response", "after_until"): "G ({q} & !{r} -> (({p} -> (!{r} U ({s} & !{r}))) W {r}))",
    }
    return fl.parse(forms[(pattern, scope)].format(p=p, s=s, q=q, r=r))


BODIES = {
    "absence": "p shall never hold",
    "existence": "p shall eventually hold",
    "universality": "p shall always hold",
    "precedence": "p only after s",
    "response": "whenever p, s shall eventually hold",
}
SCOPES = {
    "globally": "{}",
    "before": "before r, {}",
    "after": "after q, {}",
    "between": "between q and r, {}",
    "after_until": "after q until r, {}",
}


@pytest.mark.parametrize("scope", list(SCOPES))
@pytest.mark.parametrize("pattern", list(BODIES))
def test_pattern_catalogue(pattern, scope):
    """Each pattern in each scope means Dwyer's formula, and prints back as that sentence."""
    sentence = SCOPES[scope].format(BODIES[pattern])
    f = parse_english(sentence)
    assert fl.equivalent(f, _dwyer(pattern, scope))
    assert to_english(f) == sentence


# --------------------------------------------------------------------------- round trip


NAMES = ("red_light", "stopped", "pedestrian", "moving", "night")


@st.composite
def pattern_instances(draw):
    """A random pattern in a random scope, over random propositions (literals or
    small boolean combinations) and random frame or time bounds."""
    props = st.sampled_from(NAMES).map(A.Atom)
    literal = st.one_of(props, props.map(A.neg))
    cond = st.one_of(literal, st.builds(A.conj, literal, literal), st.builds(A.disj, literal, literal))
    p, s, q, r = draw(cond), draw(cond), draw(literal), draw(literal)
    hi = draw(st.integers(1, 3))
    bound = draw(st.sampled_from([A.UNBOUNDED, A.Bound(0, hi), A.Bound(0, hi / 2, "s"), A.Bound(1, hi + 1)]))
    timings = {
        "absence": "{p} shall never hold",
        "existence": "{p} shall hold{w}" if not bound.is_trivial else "{p} shall eventually hold",
        "universality": "{p} shall always hold",
        "precedence": "{p} only after {s}",
        "response": "whenever {p}, {s} shall hold{w}" if not bound.is_trivial else "whenever {p}, {s} shall eventually hold",
        "immediate": "whenever {p}, {s} shall hold immediately",
        "next": "whenever {p}, {s} shall hold at the next frame",
        "for": "whenever {p}, {s} shall hold for {d}",
        "until": "whenever {p}, {s} shall hold until {q}",
    }
    pattern = draw(st.sampled_from(sorted(timings)))
    scope = draw(st.sampled_from(sorted(SCOPES)))
    if scope == "after_until" or scope == "between":
        q, r = draw(props), draw(props)
    from framelogic.logic.english import _duration, _text, _window

    def show(x):
        return _text(x, 2)

    w = _window(bound)
    d = _duration(hi, "frames")
    body = timings[pattern].format(p=show(p), s=show(s), q=show(q), w=w, d=d)
    if scope == "between":
        sentence = f"between {_text(q, 4)} and {show(r)}, {body}"
    else:
        sentence = SCOPES[scope].replace("q", show(q), 1).replace(" r,", f" {show(r)},").format(body)
    return parse_english(sentence)


@given(pattern_instances())
def test_round_trip_pattern_fragment(f):
    text = to_english(f)
    back = parse_english(text)
    answer = fl.equivalent(f, back, fps=2)
    assert answer, f"{f}\n -> {text}\n -> {back}\n differ on {answer.counterexample}"


@given(formulas(("a", "b", "c"), max_depth=3, max_bound=2))
def test_every_formula_has_a_reading_that_reads_back(f):
    text = to_english(f)
    assert isinstance(text, str) and text
    back = parse_english(text)
    assert fl.equivalent(f, back), f"{f}\n -> {text}\n -> {back}"


def test_pattern_instances_print_as_pattern_sentences():
    cases = {
        "G (red_light -> F[0,3s] stopped)": "whenever red_light, stopped shall hold within 3 seconds",
        "G !(pedestrian & moving)": "pedestrian and moving shall never hold",
        "F[0,2] stopped": "stopped shall hold within 2 frames",
        "G (night -> G[0,1.5s] headlights)": "whenever night, headlights shall hold for 1.5 seconds",
        "!moving W green_light": "moving only after green_light",
        "G (red_light & !Y red_light -> X braking)": "upon red_light, braking shall hold at the next frame",
    }
    for formula, english in cases.items():
        assert to_english(fl.parse(formula)) == english


def test_reserved_atom_names_print_quoted():
    text = to_english(fl.parse("G (never -> F stopped)"))
    assert text == 'whenever "never", stopped shall eventually hold'


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("sentence", "word", "expects"),
    [
        ("whenever the light is red the car shall stop", None, None),
        ("the car shall stop within 3", "", "a unit"),
        ("whenever the light is red, , the car shall stop", ",", "a word"),
        ("the car shall stop within seconds", "seconds", "a number"),
        ("between q, p shall never hold", ",", "'and'"),
        ("before r, p shall hold immediately", "before", None),
        ("whenever x, y shall hold for 2.5 frames", "for", None),
        ("the car shall stop within 3 seconds eventually", "eventually", None),
    ],
)
def test_errors_point_at_the_word(sentence, word, expects):
    with pytest.raises(fl.FormulaSyntaxError) as info:
        parse_english(sentence)
    e = info.value
    lines = str(e).splitlines()
    caret = next(i for i, line in enumerate(lines) if line.strip() == "^")
    assert lines[caret - 1].strip() == sentence
    if word is not None:
        col = lines[caret].index("^") - 4
        assert sentence[col:].startswith(word), (sentence, col)
    if expects is not None:
        assert "expected" in (e.hint or "") and expects in e.hint


def test_error_lists_expected_words():
    with pytest.raises(fl.FormulaSyntaxError) as info:
        parse_english("after the light turns green the car shall move")
    msg = str(info.value)
    assert "unexpected 'shall'" in msg
    assert "expected ',', 'until'" in msg


def test_empty_sentence():
    with pytest.raises(fl.FormulaSyntaxError, match="empty"):
        parse_english("  ")


def test_reserved_words_end_phrases():
    for w in ("shall", "whenever", "until", "never"):
        assert w in RESERVED_WORDS
    # 'for' and 'in' are ordinary words unless a duration follows
    f = parse_english("waiting for the bus in the rain shall hold within 2 frames")
    assert f == fl.F(A.Atom("waiting for the bus in the rain", True), 0, 2)
    # the component's words join the response phrase: "the car" + "stop"
    assert parse_english("the car shall stop for 2 frames") == fl.G(A.Atom("the car stop", True), 0, 2)
