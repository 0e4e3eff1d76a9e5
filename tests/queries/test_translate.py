"""translate(): phrases resolved against a query file's propositions (exact name,
prompt text, did-you-mean, unknown -> inline prompt), the accepted forms of
``props``, and the Translation it returns."""

import pytest

import framelogic as fl
from framelogic.logic import ast as A

TL = '''
prop red_light = "a red traffic light"
prop stopped = "the car is stopped"
prop pedestrian = "a pedestrian on the crosswalk", "a person crossing the street"
prop green_light = "a green traffic light"
query q: red_light
'''


@pytest.fixture
def tl_file(tmp_path):
    p = tmp_path / "drive.tl"
    p.write_text(TL)
    return p


def _note(t, phrase):
    return next(n for n in t.notes if n.phrase == phrase)


def test_exact_name():
    t = fl.translate("red_light shall hold within 2 frames", {"red_light": "a red traffic light"})
    assert t.formula == fl.parse("F[0,2] red_light")
    n = _note(t, "red_light")
    assert (n.how, n.atom) == ("name", A.Atom("red_light"))


def test_name_written_with_spaces():
    t = fl.translate("whenever red light, stopped shall hold immediately", {"red_light": None, "stopped": None})
    assert t.formula == fl.parse("G (red_light -> stopped)")
    assert _note(t, "red light").how == "name"


def test_prompt_text(tl_file):
    t = fl.translate("whenever a person crossing the street, the car shall stop within 2 seconds", tl_file)
    assert t.formula == fl.parse("G (pedestrian -> F[0,2s] stopped)")
    assert _note(t, "a person crossing the street").how == "prompt"


def test_same_content_words(tl_file):
    t = fl.translate("whenever the light is red, the car shall stop", tl_file)
    assert t.formula == fl.parse("G (red_light -> F stopped)")
    assert _note(t, "the light is red").how == "prompt"


def test_did_you_mean_is_taken_and_noted(tl_file):
    t = fl.translate("whenever the light turns red, stopped shall hold within 3 frames", tl_file)
    assert t.formula == fl.parse("G (red_light -> F[0,3] stopped)")
    n = _note(t, "the light turns red")
    assert n.how == "close" and n.suggestions == ("red_light",)
    assert "did you mean red_light?" in n.message


def test_unknown_phrase_becomes_inline_prompt(tl_file):
    t = fl.translate("whenever an ambulance approaches, the car shall stop within 3 frames", tl_file)
    assert t.formula == fl.G(fl.implies(A.Atom("an ambulance approaches", True), fl.F(A.Atom("stopped"), 0, 3)))
    n = _note(t, "an ambulance approaches")
    assert n.how == "unknown"
    assert "inline prompt" in n.message
    assert t.unknown == ("an ambulance approaches",)
    assert '"an ambulance approaches"' in t.text  # the prompt is quoted in the formula
    assert "an ambulance approaches" in str(t)


def test_ambiguous_close_match_is_not_taken():
    props = {"red_light": "a red traffic light", "green_light": "a green traffic light"}
    t = fl.translate("the traffic light shall always hold", props)
    n = _note(t, "the traffic light")
    assert n.how == "unknown"
    assert set(n.suggestions) == {"red_light", "green_light"}
    assert "did you mean green_light or red_light?" in n.message


def test_no_props_identifiers_are_atoms_phrases_prompts():
    t = fl.translate("whenever red_light, the car shall stop within 3 seconds")
    assert t.formula == fl.G(fl.implies(A.Atom("red_light"), fl.F(A.Atom("the car stop", True), 0, "3s")))
    assert {n.how for n in t.notes} == {"default"}


def test_constants():
    t = fl.translate("whenever true, stopped shall hold immediately", {"stopped": None})
    assert t.formula == fl.parse("G stopped")


@pytest.mark.parametrize("kind", ["path", "str", "Query", "QueryFile", "mapping"])
def test_props_forms(tl_file, kind):
    props = {
        "path": tl_file,
        "str": str(tl_file),
        "Query": fl.Query.from_file(tl_file),
        "QueryFile": fl.load_query_file(tl_file),
        "mapping": {"red_light": ["a red traffic light"], "stopped": "the car is stopped"},
    }[kind]
    t = fl.translate("whenever a red traffic light, the car shall stop within 1 second", props)
    assert t.formula == fl.parse("G (red_light -> F[0,1s] stopped)")


def test_bad_props():
    with pytest.raises(fl.InvalidArgument, match="props"):
        fl.translate("a shall hold", 42)
    with pytest.raises(fl.InvalidArgument, match="props"):
        fl.translate("a shall hold", {"a": 3})


def test_translation_fields_round_trip(tl_file):
    t = fl.translate("after the light is green, the car shall never be stopped, until the light is red", tl_file)
    assert t.formula == fl.parse(t.text)
    assert t.english == "after green_light until red_light, stopped shall never hold"
    assert fl.equivalent(fl.translate(t.english, tl_file).formula, t.formula)
    assert fl.to_english(t.formula) == t.english


def test_syntax_error_from_translate(tl_file):
    with pytest.raises(fl.FormulaSyntaxError) as info:
        fl.translate("whenever the light is red, the car shall stop within three seconds", tl_file)
    assert "unexpected" in str(info.value) and "a number" in str(info.value)
