"""The LLM translator against a local server that replays recorded answers.

The server (http.server in a thread, on 127.0.0.1) speaks the two routes of an
OpenAI-compatible endpoint that framelogic uses (``POST /v1/chat/completions``,
``GET /v1/models``), answers each request with the next recorded reply, and
records every request, so the tests see what framelogic sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from framelogic.logic.english import to_english
from framelogic.logic.grammar import parse
from framelogic.logic.semantics import satisfaction
from framelogic.queries.llm import (
    EXAMPLE_PROPS,
    EXAMPLES,
    GRAMMAR_SUMMARY,
    LLMAnswerError,
    LLMUnavailable,
    TranslationRejected,
    build_messages,
    chat_url,
    extract_formula,
    llm_translate,
)
from framelogic.logic.errors import FormulaSyntaxError, InvalidArgument

PROPS = {"red": "a red traffic light", "green": "a green traffic light", "stopped": "the car is stopped", "moving": "the car is moving"}


def fenced(formula: str) -> str:
    return f"Here is the formula:\n```tl\n{formula}\n```\nIt says what you asked."


class Replay:
    """Recorded replies (a string: a chat answer; an int: that HTTP status; a float: answer
    after that many seconds; a dict: that JSON body) and the requests seen."""

    def __init__(self) -> None:
        self.replies: list[str | int | float | dict] = []
        self.requests: list[dict] = []
        self.models = ["replayed-model"]


class _Handler(BaseHTTPRequestHandler):
    replay: Replay

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.replay.requests.append({"method": "GET", "path": self.path, "headers": dict(self.headers)})
        if self.path == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in self.replay.models]})
        else:
            self._send(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.replay.requests.append({"method": "POST", "path": self.path, "headers": dict(self.headers), "body": body})
        if self.path != "/v1/chat/completions":
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        reply = self.replay.replies.pop(0) if self.replay.replies else 500
        if isinstance(reply, float):  # a server too slow to answer
            time.sleep(reply)
            reply = fenced("F red")
        if isinstance(reply, dict):  # a JSON body that is not a chat completion
            self._send(200, reply)
            return
        if isinstance(reply, int):
            self._send(reply, {"error": {"message": "the model is overloaded", "type": "server_error"}})
            return
        self._send(200, {
            "id": "x", "object": "chat.completion", "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
        })  # fmt: skip


@pytest.fixture
def server() -> Iterator[tuple[str, Replay]]:
    replay = Replay()
    handler = type("Handler", (_Handler,), {"replay": replay})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", replay
    finally:
        httpd.shutdown()
        httpd.server_close()


def chats(replay: Replay) -> list[dict]:
    return [r["body"] for r in replay.requests if r["method"] == "POST"]


# ---------------------------------------------------------------- good answers


def test_good_answer_is_parsed_checked_and_back_translated(server, monkeypatch):
    url, replay = server
    monkeypatch.setenv("FRAMELOGIC_LLM_KEY", "sk-test")
    replay.replies = [fenced("G (red -> F[0,3s] stopped)")]
    t = llm_translate("if the light is red the car has to stop within three seconds", url=url, model="m", props=PROPS)
    assert t.formula == parse("G (red -> F[0,3s] stopped)") and t.text == "G (red -> F[0s,3s] stopped)"
    assert len(t.attempts) == 1 and t.attempts[0].error is None
    assert t.source == "if the light is red the car has to stop within three seconds"
    assert t.english == to_english(t.formula) and "red" in t.english
    # the analysis ran: a witness it holds on and a counterexample it fails on (at the nominal rate)
    assert t.witness is not None and t.counterexample is not None and t.fps == 10.0
    assert satisfaction(parse("G (red -> F[0,30] stopped)"), t.witness)[0]
    assert not satisfaction(parse("G (red -> F[0,30] stopped)"), t.counterexample)[0]
    (req,) = replay.requests
    assert req["path"] == "/v1/chat/completions" and req["headers"]["Authorization"] == "Bearer sk-test"
    body = req["body"]
    assert body["model"] == "m" and body["temperature"] == 0
    prompt = "\n".join(m["content"] for m in body["messages"])
    assert GRAMMAR_SUMMARY in prompt  # the grammar summary
    assert 'red: "a red traffic light"' in prompt and 'stopped: "the car is stopped"' in prompt  # the propositions
    assert body["messages"][-1]["content"].endswith("Requirement: if the light is red the car has to stop within three seconds")
    assert any(m["role"] == "assistant" for m in body["messages"][:-1])  # few-shot answers


def test_no_key_no_authorization_header(server, monkeypatch):
    url, replay = server
    monkeypatch.delenv("FRAMELOGIC_LLM_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    replay.replies = ["G !(red & green)"]
    t = llm_translate("never red and green together", url=url, model="m", props=PROPS)
    assert t.formula == parse("G !(red & green)")
    assert "Authorization" not in replay.requests[0]["headers"]


def test_model_defaults_to_the_first_the_server_lists(server):
    url, replay = server
    replay.replies = [fenced("F stopped")]
    t = llm_translate("the car stops at some point", url=url + "/chat/completions", props=PROPS)
    assert [r["method"] + " " + r["path"] for r in replay.requests] == ["GET /v1/models", "POST /v1/chat/completions"]
    assert chats(replay)[0]["model"] == "replayed-model" and "replayed-model" in t.via


# ---------------------------------------------------------------- malformed answers


def test_malformed_then_good_is_retried_with_the_parse_error(server):
    url, replay = server
    replay.replies = [fenced("G (red -> F[0,3s] stopped"), "Sure! The formula is:\n\n    G (red -> F[0,3s] stopped)\n"]
    t = llm_translate("red means stop within 3 s", url=url, model="m", props=PROPS)
    assert t.formula == parse("G (red -> F[0,3s] stopped)")
    assert [a.error is None for a in t.attempts] == [False, True]
    first, second = chats(replay)
    assert len(second["messages"]) == len(first["messages"]) + 2
    assert second["messages"][-2] == {"role": "assistant", "content": replay_reply(first, second)}
    feedback = second["messages"][-1]["content"]
    assert "cannot be used" in feedback and t.attempts[0].error.splitlines()[0] in feedback
    assert "reply:1:" in t.attempts[0].error  # the parser's own error, with its position


def replay_reply(first: dict, second: dict) -> str:
    """The reply the second request echoes back (the first answer, verbatim)."""
    return second["messages"][len(first["messages"])]["content"]


def test_malformed_always_is_reported_after_bounded_retries(server):
    url, replay = server
    replay.replies = ["I am not sure what you mean.", fenced("G (red ->"), fenced("red U U stopped"), fenced("G red")]
    with pytest.raises(LLMAnswerError) as e:
        llm_translate("something about lights", url=url, model="m", props=PROPS, retries=2)
    assert len(chats(replay)) == 3  # the first answer and two retries, never a fourth
    assert len(e.value.attempts) == 3 and all(err for _, err in e.value.attempts)
    assert "no usable formula in 3 answer(s)" in str(e.value) and url in str(e.value)
    assert replay.replies == [fenced("G red")]  # the good fourth answer was never asked for


def test_retries_zero_asks_once(server):
    url, replay = server
    replay.replies = ["(", fenced("F red")]
    with pytest.raises(LLMAnswerError):
        llm_translate("x", url=url, model="m", props=PROPS, retries=0)
    assert len(chats(replay)) == 1


# ---------------------------------------------------------------- rejected by the analysis


def test_unsatisfiable_answer_is_rejected(server):
    url, replay = server
    replay.replies = [fenced("G red & F !red")]
    with pytest.raises(TranslationRejected) as e:
        llm_translate("the light is always red but sometimes not", url=url, model="m", props=PROPS)
    r = e.value
    assert r.reason == "unsatisfiable" and "no trace satisfies it" in str(r)
    assert r.formula == parse("G red & F !red") and r.english == to_english(r.formula)
    assert r.example is not None and not satisfaction(r.formula, r.example)[0]
    assert len(chats(replay)) == 1  # a wrong meaning is not retried: the user rephrases


def test_unsatisfiable_under_the_files_assumptions(server, tmp_path):
    url, replay = server
    q = tmp_path / "lights.tl"
    q.write_text('prop red = "a red traffic light"\nprop green = "a green traffic light"\nmutex(red, green)\n')
    replay.replies = [fenced("F (red & green)")]
    with pytest.raises(TranslationRejected) as e:
        llm_translate("at some point both lights are on", url=url, model="m", props=str(q))
    assert e.value.reason == "unsatisfiable"
    replay.replies = [fenced("F (red & green)")]  # without the assumption it is fine
    assert llm_translate("at some point both lights are on", url=url, model="m", props=PROPS).witness is not None


def test_vacuous_answer_is_rejected_with_the_witness(server):
    url, replay = server
    replay.replies = [fenced("F red | G !red")]
    with pytest.raises(TranslationRejected) as e:
        llm_translate("red eventually or never", url=url, model="m", props=PROPS)
    r = e.value
    assert r.reason == "vacuous" and "every trace satisfies it" in str(r)
    assert r.example is not None and satisfaction(r.formula, r.example)[0]


# ---------------------------------------------------------------- propositions


def test_undeclared_name_resolves_like_a_phrase(server):
    url, replay = server
    replay.replies = [fenced("G (red_light -> F car_is_moving)")]
    t = llm_translate("red light means move", url=url, model="m", props=PROPS)
    assert t.formula == parse("G (red -> F moving)")  # a single close match, and the same words as a prompt
    assert len(chats(replay)) == 1
    messages = [n.message for n in t.notes]
    assert any("did you mean red? (taken as red)" in m for m in messages)
    assert any("'car is moving' is moving" in m for m in messages)


def test_undeclared_name_close_to_several_is_sent_back(server):
    url, replay = server
    replay.replies = [fenced("F traffic_light"), fenced("F red")]
    t = llm_translate("a light shows up", url=url, model="m", props=PROPS)
    assert t.formula == parse("F red")
    feedback = chats(replay)[1]["messages"][-1]["content"]
    assert "undeclared proposition traffic_light; did you mean green or red?" in feedback
    assert t.attempts[0].error.startswith("undeclared proposition traffic_light")


def test_ambiguous_names_always_are_reported(server):
    url, replay = server
    replay.replies = [fenced("F traffic_light")] * 3
    with pytest.raises(LLMAnswerError, match="undeclared proposition traffic_light"):
        llm_translate("a light shows up", url=url, model="m", props=PROPS, retries=2)
    assert len(chats(replay)) == 3


def test_unknown_names_and_prompts_become_inline_prompts(server):
    url, replay = server
    replay.replies = [fenced('G ("A red traffic light" -> F stopped) & F dog & F "a dog on the road"')]
    t = llm_translate("x", url=url, model="m", props=PROPS)
    assert t.formula == parse('G (red -> F stopped) & F "dog" & F "a dog on the road"')
    how = {n.phrase: n.how for n in t.notes}
    assert how == {"A red traffic light": "prompt", "dog": "unknown", "a dog on the road": "unknown"}
    assert t.unknown == ("dog", "a dog on the road")


def test_without_props_any_name_is_kept(server):
    url, replay = server
    replay.replies = [fenced("car U person")]
    assert llm_translate("cars until a person", url=url, model="m").formula == parse("car U person")


# ---------------------------------------------------------------- the network


def test_http_error_names_the_url(server):
    url, replay = server
    replay.replies = [503]
    with pytest.raises(LLMUnavailable) as e:
        llm_translate("x", url=url, model="m", props=PROPS)
    message = str(e.value)
    assert f"{url}/chat/completions" in message and "HTTP 503" in message and "overloaded" in message


def test_slow_server_times_out_naming_the_url(server):
    url, replay = server
    replay.replies = [1.5]
    with pytest.raises(LLMUnavailable, match=rf"{url}/chat/completions: .*(timed out|no answer within)"):
        llm_translate("x", url=url, model="m", timeout=0.3)


def test_model_listing_error_names_its_url(server):
    url, _ = server
    other = url.replace("/v1", "/elsewhere")
    with pytest.raises(LLMUnavailable, match=rf"{other}/models: HTTP 404"):
        llm_translate("x", url=other)


def test_answer_that_is_not_a_chat_reply(server):
    url, replay = server
    replay.replies = [{"object": "list", "data": []}]
    with pytest.raises(LLMUnavailable, match=r"no choices\[0\]\.message\.content; is this a chat endpoint"):
        llm_translate("x", url=url, model="m")


def test_unreachable_server_names_the_url():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(LLMUnavailable, match=rf"http://127.0.0.1:{port}/v1/chat/completions: cannot connect"):
        llm_translate("x", url=f"http://127.0.0.1:{port}/v1", model="m", timeout=5)


def test_wrong_route_is_an_http_error(server):
    url, _ = server
    with pytest.raises(LLMUnavailable, match="HTTP 404"):
        llm_translate("x", url=url.replace("/v1", "/nope"), model="m")


@pytest.mark.parametrize("bad", ["", "localhost:8000", "ftp://host/v1", None])
def test_bad_urls_are_refused_before_any_request(bad):
    with pytest.raises(InvalidArgument, match="url="):
        chat_url(bad)  # type: ignore[arg-type]


def test_chat_url():
    assert chat_url("http://h:8000/v1") == "http://h:8000/v1/chat/completions"
    assert chat_url("http://h:8000/v1/") == "http://h:8000/v1/chat/completions"
    assert chat_url("http://h/v1/chat/completions") == "http://h/v1/chat/completions"


def test_arguments_are_validated():
    with pytest.raises(InvalidArgument, match="retries="):
        llm_translate("x", url="http://h/v1", model="m", retries=-1)
    with pytest.raises(InvalidArgument, match="text="):
        llm_translate("  ", url="http://h/v1", model="m")


# ---------------------------------------------------------------- extracting the formula


@pytest.mark.parametrize(
    "reply, expected",
    [
        (fenced("G (red -> F[0,3s] stopped)"), "G (red -> F[0,3s] stopped)"),
        ("```\nF red\n```", "F red"),
        ("Formula: G !(red & green)", "G !(red & green)"),
        ("The answer is `red U green`.", "red U green"),
        ("F red", "F red"),
        ("Here it is:\nG (red -> X stopped)\nHope this helps.", "G (red -> X stopped)"),
        ("```tl\nnot a formula (\n```\nor rather\n```tl\nF green\n```", "F green"),
    ],
)
def test_extract_formula(reply, expected):
    assert extract_formula(reply) == parse(expected)


@pytest.mark.parametrize("reply", ["", "Sure, happy to help.\nLet me think.", "```tl\nG (red ->\n```"])
def test_extract_formula_refuses_replies_without_a_formula(reply):
    with pytest.raises(FormulaSyntaxError):
        extract_formula(reply)


@pytest.mark.parametrize("sentence, formula", EXAMPLES)
def test_few_shot_examples_are_formulas_the_checks_would_accept(sentence, formula):
    from framelogic.automata.analysis import satisfiable, valid
    from framelogic.logic.passes import atoms, resolve_time

    f = parse(formula)
    assert all(a.quoted or a.name in EXAMPLE_PROPS for a in atoms(f))
    g = resolve_time(f, 5)
    assert satisfiable(g) is not None and not valid(g)


def test_prompt_without_props_asks_for_quoted_prompts():
    last = build_messages("a dog runs", None)[-1]["content"]
    assert "quoted prompt" in last and last.endswith("Requirement: a dog runs")


# ---------------------------------------------------------------- properties

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from framelogic.logic.printer import to_text  # noqa: E402
from framelogic.logic.strategies import formulas  # noqa: E402

WRAPPERS = (
    lambda f: fenced(f),
    lambda f: f"```\n{f}\n```",
    lambda f: f"Formula: {f}",
    lambda f: f"The formula is `{f}`.",
    lambda f: f,
    lambda f: f"  {f}  \n",
)


@given(formulas(("red", "stopped", "a dog"), max_depth=4), st.sampled_from(WRAPPERS))
def test_extract_formula_finds_any_printed_formula(f, wrap):
    assert extract_formula(wrap(to_text(f))) == f


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(formulas(("red", "green", "stopped"), max_depth=3, max_bound=3, constants=False))
def test_answers_are_accepted_exactly_when_neither_unsatisfiable_nor_vacuous(server, f):
    """Whatever formula the model answers, the outcome agrees with the reference
    semantics on the trace it comes with."""
    url, replay = server
    replay.replies = [fenced(to_text(f))]
    try:
        t = llm_translate("anything", url=url, model="m", props=PROPS)
    except TranslationRejected as e:
        assert e.formula == f
        holds = bool(satisfaction(f, e.example)[0])
        assert holds == (e.reason == "vacuous")
        return
    assert t.formula == f and t.fps is None  # frame bounds: no rate needed
    assert satisfaction(f, t.witness)[0] and not satisfaction(f, t.counterexample)[0]
