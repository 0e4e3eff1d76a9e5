"""``framelogic translate`` (offline structured English, and the LLM path with
acceptance) and ``.tl`` queries stated in words (load, ``check``, error positions)."""

from __future__ import annotations

import io
import json

import pytest
from test_llm import Replay, fenced, server  # noqa: F401 - the replay-server fixture

from framelogic.logic.errors import FormulaSyntaxError
from framelogic.logic.grammar import parse
from framelogic.queries.cli import EXIT_FOUND, EXIT_OK, EXIT_USAGE, main
from framelogic.queries.queryfile import load_query_file, parse_query_text

DRIVING = """\
prop red_light = "a red traffic light"
prop green_light = "a green traffic light"
prop stopped = "the car is stopped"
prop moving = "the car is moving"
prop ped = "a pedestrian on the crosswalk"
"""

SENTENCE = "whenever the light is red, the car shall stop within 3 seconds"
FREE_FORM = "uh so if it's red-ish the car better stop?? like soon"


@pytest.fixture
def props(tmp_path):
    q = tmp_path / "driving.tl"
    q.write_text(DRIVING)
    return str(q)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


# ---------------------------------------------------------------- offline


def test_translate_offline_prints_formula_back_translation_and_notes(capsys, props):
    from framelogic.queries.translate import translate

    expected = translate(SENTENCE, props=props)
    code, out, err = run(capsys, "translate", SENTENCE, "--props", props)
    assert code == EXIT_OK, err
    assert f"formula:  {expected.text}" in out and expected.text == "G (red_light -> F[0s,3s] stopped)"
    assert f"english:  {expected.english}" in out
    assert "via:      structured English (exact)" in out
    assert "'the light is red' is red_light" in out  # the notes
    assert "accept" not in err  # exact translations need no acceptance


def test_translate_offline_json(capsys, props):
    code, out, _ = run(capsys, "translate", SENTENCE, "--props", props, "--json")
    assert code == EXIT_OK
    d = json.loads(out)
    assert d["formula"] == "G (red_light -> F[0s,3s] stopped)" and d["accepted"] is True
    assert d["needs_acceptance"] is False and d["attempts"] == [] and d["source"] == SENTENCE
    assert isinstance(d["english"], str) and isinstance(d["notes"], list)


def test_translate_offline_syntax_error_is_a_usage_error_with_a_caret(capsys, props):
    code, out, err = run(capsys, "translate", FREE_FORM, "--props", props)
    assert code == EXIT_USAGE and out == ""
    assert "framelogic translate: error:" in err and "^" in err


def test_translate_never_calls_a_model_unless_asked(capsys, props, server):  # noqa: F811
    url, replay = server
    run(capsys, "translate", FREE_FORM, "--props", props)
    run(capsys, "translate", SENTENCE, "--props", props, "--llm", url, "--yes")  # structured English: exact, offline
    assert replay.requests == []


# ---------------------------------------------------------------- with --llm


def test_translate_llm_with_yes_accepts(capsys, props, server):  # noqa: F811
    url, replay = server
    replay.replies = [fenced("G (red_light -> F[0,3s] stopped)")]
    code, out, err = run(capsys, "translate", FREE_FORM, "--props", props, "--llm", url, "--model", "m", "--yes")
    assert code == EXIT_OK, err
    assert "formula:  G (red_light -> F[0s,3s] stopped)" in out and f"LLM at {url}/chat/completions (model m)" in out
    assert "holds on, e.g." in out and "fails on, e.g." in out  # the analysis' witness and counterexample
    assert "not structured English" in out  # the note says why the model was asked
    assert "accepted (--yes)" in err


def test_translate_llm_without_yes_in_a_script_is_not_accepted(capsys, props, server):  # noqa: F811
    url, replay = server
    replay.replies = [fenced("G (red_light -> F[0,3s] stopped)")]
    code, out, err = run(capsys, "translate", FREE_FORM, "--props", props, "--llm", url, "--model", "m")
    assert code == EXIT_FOUND
    assert "formula:  G (red_light -> F[0s,3s] stopped)" in out  # shown, so the user can read it
    assert "not accepted" in err and "--yes" in err


def test_translate_llm_json_without_yes_says_not_accepted(capsys, props, server):  # noqa: F811
    url, replay = server
    replay.replies = [fenced("G !(ped & moving)")]
    code, out, _ = run(capsys, "translate", FREE_FORM, "--props", props, "--llm", url, "--model", "m", "--format", "json")
    assert code == EXIT_FOUND
    d = json.loads(out)
    assert d["accepted"] is False and d["needs_acceptance"] is True and d["formula"] == "G !(ped & moving)"
    assert [a["error"] for a in d["attempts"]] == [None]


@pytest.mark.parametrize("answer, code", [("y\n", EXIT_OK), ("n\n", EXIT_FOUND), ("\n", EXIT_FOUND)])
def test_translate_llm_asks_on_a_terminal(capsys, props, server, monkeypatch, answer, code):  # noqa: F811
    url, replay = server
    replay.replies = [fenced("G (red_light -> F[0,3s] stopped)")]
    monkeypatch.setattr("sys.stdin", _Terminal(answer))
    monkeypatch.setattr("sys.stderr", _Terminal())
    assert main(["translate", FREE_FORM, "--props", props, "--llm", url, "--model", "m"]) == code
    import sys

    asked = sys.stderr.getvalue()
    assert "accept this formula? [y/N]" in asked
    assert ("not accepted: declined" in asked) == (code == EXIT_FOUND)


def test_translate_llm_rejected_answer_exits_1(capsys, props, server):  # noqa: F811
    url, replay = server
    replay.replies = [fenced("G red_light & F !red_light")]
    code, out, err = run(capsys, "translate", FREE_FORM, "--props", props, "--llm", url, "--model", "m", "--yes")
    assert code == EXIT_FOUND and out == ""
    assert "not accepted" in err and "unsatisfiable" in err


def test_translate_llm_malformed_answers_exit_1(capsys, props, server):  # noqa: F811
    url, replay = server
    replay.replies = ["no idea", "still no idea"]
    code, _, err = run(capsys, "translate", FREE_FORM, "--props", props, "--llm", url, "--model", "m", "--retries", "1", "--yes")
    assert code == EXIT_FOUND and "no usable formula in 2 answer(s)" in err
    assert len(replay.requests) == 2


def test_translate_llm_http_error_is_an_input_error_naming_the_url(capsys, props, server):  # noqa: F811
    url, replay = server
    replay.replies = [500]
    code, _, err = run(capsys, "translate", FREE_FORM, "--props", props, "--llm", url, "--model", "m", "--yes")
    assert code == EXIT_USAGE and f"{url}/chat/completions" in err and "HTTP 500" in err


# ---------------------------------------------------------------- .tl queries in words


def test_query_in_words_is_translated_at_load_time(tmp_path):
    from framelogic.queries.translate import translate

    q = tmp_path / "words.tl"
    q.write_text(DRIVING + f'query stop_on_red: "{SENTENCE}" threshold 0.7\nquery plain: G (red_light -> F[0,3s] stopped)\n')
    qf = load_query_file(q)
    words, plain = qf.queries
    expected = translate(SENTENCE, props=str(q))
    assert words.formula == expected.formula and words.words == SENTENCE and words.english == expected.english
    assert words.threshold == 0.7 and words.location.line == 6
    assert plain.words is None and plain.english is None


def test_props_declared_after_the_query_resolve(tmp_path):
    q = parse_query_text(f'query stop_on_red: "{SENTENCE}"\n' + DRIVING)
    assert {a for a in _names(q.queries[0].formula)} <= {"red_light", "stopped"}


def _names(f):
    from framelogic.logic.passes import atom_names

    return atom_names(f)


def test_a_lone_phrase_and_a_parenthesized_prompt_stay_prompts():
    q = parse_query_text(DRIVING + 'query p: ("a car is never stopped")\nquery x: "the car is moving" mode runs\n'
                         'query w: "a car is never stopped"\n')
    p, x, w = q.queries
    assert p.formula == parse('"a car is never stopped"') and p.words is None
    # a lone phrase keeps its meaning (the inline prompt), even when it names a proposition
    assert x.formula == parse('"the car is moving"') and x.words is None and x.mode == "runs"
    assert w.formula == parse("G !stopped") and w.words == "a car is never stopped"


def test_check_shows_words_formula_and_back_translation(capsys, tmp_path):
    q = tmp_path / "words.tl"
    q.write_text(DRIVING + f'set fps = 5\nquery stop_on_red: "{SENTENCE}"\n')
    code, out, err = run(capsys, "check", str(q))
    assert code == EXIT_OK, err
    formula = load_query_file(q).queries[0]
    assert f'stop_on_red: "{SENTENCE}"' in out
    assert f"formula: {formula.formula}" in out and f"means: {formula.english}" in out
    code, out, _ = run(capsys, "check", str(q), "--format", "json")
    (d,) = json.loads(out)["queries"]
    assert d["words"] == SENTENCE and d["english"] == formula.english and d["formula"] == str(formula.spec)


def test_check_reads_every_query_back_in_english(capsys, tmp_path):
    from framelogic.logic.english import to_english

    q = tmp_path / "plain.tl"
    q.write_text(DRIVING + "query yields: G (ped -> F[0,15] stopped)\n")
    code, out, _ = run(capsys, "check", str(q), "--format", "json")
    assert code == EXIT_OK and json.loads(out)["queries"][0]["english"] == to_english(parse("G (ped -> F[0,15] stopped)"))
    code, out, _ = run(capsys, "check", "G (ped -> F[0,15] stopped)", "--format", "json")
    assert json.loads(out)["english"] == "whenever ped, stopped shall hold within 15 frames"


def test_error_in_words_points_into_the_string(tmp_path):
    q = tmp_path / "bad.tl"
    bad = "whenever the light is red, the car shall stop within within 3 seconds"
    q.write_text(DRIVING + f'query stop_on_red:   "{bad}"\n')
    with pytest.raises(FormulaSyntaxError) as e:
        load_query_file(q)
    err = e.value
    with pytest.raises(FormulaSyntaxError) as direct:
        from framelogic.queries.translate import translate

        translate(bad, props=parse_query_text(DRIVING))
    assert "within within" in bad and direct.value.column == bad.index("within 3") + 1
    assert err.source == str(q) and err.line == 6
    string_col = len('query stop_on_red:   "') + 1  # column of the first character inside the quotes
    assert err.column == string_col + direct.value.column - 1
    text = str(err)
    assert f"{q}:6:{err.column}" in text
    caret_line = text.splitlines()[2]
    assert caret_line.index("^") - 4 == err.column - 1  # the caret under the word, inside the string


def test_error_position_counts_escapes(tmp_path):
    q = tmp_path / "bad.tl"
    q.write_text(DRIVING + 'query q: "whenever \\"a red light\\", the car shall stop within within 3 seconds"\n')
    with pytest.raises(FormulaSyntaxError) as e:
        load_query_file(q)
    line = q.read_text().splitlines()[5]
    assert line[e.value.column - 1 :] == 'within 3 seconds"'  # each \\" counts two columns


# ---------------------------------------------------------------- which path


def test_llm_is_asked_when_structured_english_leaves_phrases_unmatched(capsys, props, server):  # noqa: F811
    url, replay = server
    text = "a pedestrian is never on the crosswalk while the car creeps forward"
    code, out, _ = run(capsys, "translate", text, "--props", props)  # offline: an inline prompt, noted
    assert code == EXIT_OK and "'the car creeps forward' matches no proposition" in out
    replay.replies = [fenced("G !(ped & moving)")]
    code, out, err = run(capsys, "translate", text, "--props", props, "--llm", url, "--model", "m", "--yes")
    assert code == EXIT_OK, err
    assert len(replay.requests) == 1 and "formula:  G !(ped & moving)" in out
    assert "'the car creeps forward' would match no proposition; asked the model" in out


README_COMMANDS = (  # the README's examples of 'framelogic translate' (the model's URL replaced by the replay server)
    'framelogic translate "whenever the light is red, the car shall stop within 3 seconds" --props examples/queries/driving.tl',
    "framelogic translate \"the car should never creep forward while someone's on the crosswalk\" "
    "--props examples/queries/driving.tl --llm http://localhost:11434/v1 --model llama3.1 --yes --json",
)


def test_readme_translate_commands(capsys, server, monkeypatch):  # noqa: F811
    import shlex
    from pathlib import Path

    url, replay = server
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    code, out, err = run(capsys, *shlex.split(README_COMMANDS[0])[1:])
    assert code == EXIT_OK and "formula:  G (red_light -> F[0s,3s] stopped)" in out, err
    replay.replies = [fenced("G (pedestrian -> stopped)")]
    argv = shlex.split(README_COMMANDS[1].replace("http://localhost:11434/v1", url))[1:]
    code, out, err = run(capsys, *argv)
    assert code == EXIT_OK, err
    d = json.loads(out)
    assert d["formula"] == "G (pedestrian -> stopped)" and d["accepted"] is True
    assert chats(replay)[0]["model"] == "llama3.1"
    assert "pedestrian" in chats(replay)[0]["messages"][-1]["content"]  # the file's propositions are in the prompt


def chats(replay: Replay) -> list[dict]:
    return [r["body"] for r in replay.requests if r["method"] == "POST"]
