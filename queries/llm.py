"""An optional LLM translator from free-form text to a checked framelogic formula.

Nothing here runs unless a caller names an endpoint: :func:`llm_translate`
asks an OpenAI-compatible chat server (``{url}/chat/completions``: a local
vLLM or Ollama server, or a hosted one) for a formula, and trusts nothing it
says:

1. the answer is parsed with framelogic's own parser (a fenced block or a
   line of the reply); an answer that does not parse, or uses an undeclared
   name close to several declared propositions, is sent back with the error
   and asked again, at most ``retries`` more times, then reported
   (:class:`LLMAnswerError`);
2. propositions resolve against the query file by the rule of structured
   English (:class:`~framelogic.queries.translate.PhraseResolver`): declared
   names stay; a quoted prompt or an undeclared name that is a declared
   proposition's name or prompt (or a single close match, noted) becomes that
   proposition; anything else becomes an inline prompt (noted), except an
   undeclared name close to several propositions, which is sent back;
3. the formula is analysed exactly (under the file's assumptions): an
   unsatisfiable or vacuous formula is rejected with the trace that shows it
   (:class:`TranslationRejected`);
4. the result carries the formula's structured-English back-translation, for
   the user to read and accept; the CLI asks before it uses it.

Only the standard library talks to the network (``urllib``). The API key, if
any, comes from ``FRAMELOGIC_LLM_KEY`` or ``OPENAI_API_KEY``.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from framelogic.logic import ast as A
from framelogic.logic.errors import FormulaSyntaxError, FramelogicError, InputError, InvalidArgument, check_fps
from framelogic.logic.english import to_english
from framelogic.logic.grammar import parse
from framelogic.logic.lexical import quote
from framelogic.logic.passes import atoms, has_time_bounds, resolve_time, substitute
from framelogic.logic.printer import to_text
from framelogic.logic.trace import TraceTable

from .translate import Note, PhraseResolver, Translation, _props_of, translate  # _props_of: the one reader of props

__all__ = [
    "GRAMMAR_SUMMARY",
    "Attempt",
    "LLMAnswerError",
    "LLMTranslation",
    "LLMUnavailable",
    "TranslationRejected",
    "chat_url",
    "extract_formula",
    "llm_translate",
    "to_dict",
    "translate_text",
]

#: Environment variables read (in this order) for the API key sent as a bearer token.
KEY_VARIABLES = ("FRAMELOGIC_LLM_KEY", "OPENAI_API_KEY")

#: The sampling rate the analysis assumes for time bounds when neither the
#: caller nor the query file gives one (the answer is the same at any rate
#: unless bounds are finer than a frame).
NOMINAL_FPS = 10.0

#: What the model is told about the formula language (the grammar in formula.lark).
GRAMMAR_SUMMARY = """\
framelogic formulas are linear temporal logic over video frames (past and future).
Propositions: a declared name such as red or stopped, or a quoted prompt describing
what a frame shows, such as "a dog on the road". Constants: true, false.
Boolean: !a (not), a & b (and), a | b (or), a -> b (implies), a <-> b (iff).
Future: X a (a at the next frame), F a (eventually a), G a (always a),
a U b (a until b, and b does come), a W b (a until b, or a forever).
Past: Y a (a at the previous frame), O a (a at some frame so far),
H a (a at every frame so far), a S b (a since b).
Bounds follow the operator, in seconds (s), milliseconds (ms), minutes (min) or,
without a unit, frames: F[0,3s] a (a within 3 seconds), G[0,2s] a (a for the next
2 seconds), O[0,5s] a (a in the last 5 seconds), a U[0,10s] b, F[2,inf] a.
Precedence, loosest first: <->, ->, |, &, the binary U W R M S, then prefix ! X F G Y O H.
A formula holds at the first frame; G (p -> q) says every frame with p satisfies q."""

#: Few-shot examples, over propositions of their own (not the user's).
EXAMPLE_PROPS: Mapping[str, str] = {
    "red": "a red traffic light",
    "green": "a green traffic light",
    "stopped": "the car is stopped",
    "moving": "the car is moving",
    "ped": "a pedestrian on the crosswalk",
}
EXAMPLES: tuple[tuple[str, str], ...] = (
    ("whenever the light is red, the car shall stop within 3 seconds", "G (red -> F[0,3s] stopped)"),
    ("a pedestrian is never on the crosswalk while the car moves", "G !(ped & moving)"),
    ("once the light turns green the car keeps moving until it turns red again", "G (green -> (moving U red))"),
    ("at some point a dog runs onto the road", 'F "a dog on the road"'),
    ("the car only moves if the light was green at some point in the last 5 seconds", "G (moving -> O[0,5s] green)"),
    ("the car stays stopped for at least 2 seconds after a pedestrian appears", "G (ped -> G[0,2s] stopped)"),
)


class LLMUnavailable(InputError):
    """The endpoint could not be reached or answered with an HTTP error or a body that is not a chat reply."""


class LLMAnswerError(FramelogicError, ValueError):
    """Every answer (the first and each retry) was unusable; ``attempts`` holds ``(reply, error)`` pairs."""

    def __init__(self, message: str, attempts: Sequence[tuple[str, str]]) -> None:
        super().__init__(message)
        self.attempts = tuple(attempts)


class TranslationRejected(FramelogicError, ValueError):
    """The answer parsed but cannot be what the user meant: it matches no trace
    (``reason == "unsatisfiable"``) or every trace (``"vacuous"``).

    ``example`` is a shortest trace showing it: one the formula fails on
    (unsatisfiable: it fails on every trace) or one it holds on (vacuous).
    """

    def __init__(self, message: str, *, formula: A.Formula, reason: str, english: str, example: TraceTable | None, reply: str) -> None:
        super().__init__(message)
        self.formula, self.reason, self.english, self.example, self.reply = formula, reason, english, example, reply


@dataclass(frozen=True)
class Attempt:
    """One exchange with the model: its reply, and why it was not used (``None``: used)."""

    reply: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class LLMTranslation(Translation):
    """A model's translation that passed every check: the fields of a
    :class:`~framelogic.queries.translate.Translation` (``source`` the user's
    text, ``formula``, ``text`` the formula in framelogic syntax, ``english``
    its back-translation, ``notes`` how each proposition resolved), and how it
    was obtained. The user must read ``english`` and accept it before it is used."""

    via: str = ""  # "LLM at URL (model M)"
    attempts: tuple[Attempt, ...] = ()  # the model's replies, the last one used
    witness: TraceTable | None = None  # a shortest trace it holds on
    counterexample: TraceTable | None = None  # a shortest trace it fails on
    fps: float | None = None  # the rate the analysis used for time bounds (None: no time bounds)
    remarks: tuple[str, ...] = ()  # why the model was asked, the rate assumed, ...


def to_dict(t: Translation) -> dict[str, Any]:
    """A translation (offline or a model's) as JSON-ready data."""
    d: dict[str, Any] = {
        "source": t.source, "formula": t.text, "english": t.english,
        "notes": [n.message for n in t.notes if n.how != "name"],
        "via": "structured English", "needs_acceptance": False, "attempts": [], "remarks": [],
    }  # fmt: skip
    if isinstance(t, LLMTranslation):
        d.update(via=t.via, needs_acceptance=True, remarks=list(t.remarks), fps=t.fps)
        d["attempts"] = [{"reply": a.reply, "error": a.error} for a in t.attempts]
    return d


# ---------------------------------------------------------------- propositions


@dataclass(frozen=True)
class _Props:
    """The propositions a translation may use: name -> prompts (empty for a table column), and assumptions."""

    prompts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    columns: Mapping[str, str] = field(default_factory=dict)
    assumptions: tuple[A.Formula, ...] = ()
    fps: float | None = None
    declared: bool = False  # False: no query file; any identifier is accepted as it is


def _props(props: object) -> _Props:
    """Read ``props`` (None, a ``.tl`` path, a Query, a QueryFile, or a mapping name -> prompt(s)
    / PropDecl) the way :func:`~framelogic.queries.translate.translate` does; a query file
    also gives its assumptions, its ``set fps`` and which propositions are table columns."""
    if props is None:
        return _Props()
    from .queryfile import QueryFile, load_query_file

    if isinstance(props, (str, os.PathLike)):
        props = load_query_file(props)
    qf = props if isinstance(props, QueryFile) else getattr(props, "file", None)
    if not isinstance(qf, QueryFile):
        return _Props(_props_of(props), declared=True)
    fps = qf.settings.get("fps")
    columns = {n: p.column for n, p in qf.props.items() if p.column is not None and not p.inline}
    return _Props(
        _props_of(qf), columns, tuple(qf.assumptions), float(fps) if isinstance(fps, (int, float)) else None, True
    )


def _resolve(f: A.Formula, props: _Props) -> tuple[A.Formula, tuple[Note, ...]]:
    """Map the answer's propositions onto the declared ones, by the rule of
    structured English (:class:`~framelogic.queries.translate.PhraseResolver`).

    A declared name stays. A quoted prompt resolves like a phrase: a declared
    name or prompt (or the same content words) becomes that proposition, a single
    close match is taken with a "did you mean" note, anything else stays an inline
    prompt (noted). An undeclared identifier resolves from its words
    (``red_light`` -> "red light"); when it matches no proposition it becomes an
    inline prompt of those words, except when several propositions are close: then
    the answer is sent back (:class:`_Unusable`) with the names to choose from.
    """
    if not props.declared:
        return f, ()
    resolver = PhraseResolver(props.prompts)
    mapping: dict[A.Atom, A.Formula] = {}
    for a in atoms(f):
        if a in mapping or (not a.quoted and a.name in props.prompts):
            continue
        phrase = a.name if a.quoted else a.name.replace("_", " ")
        got = resolver(phrase)
        note = resolver.notes[phrase]
        if not a.quoted and note.how == "unknown" and len(note.suggestions) > 1:
            raise _Unusable(
                f"undeclared proposition {a.name}; did you mean {' or '.join(note.suggestions)}? "
                f"use only the declared names ({', '.join(props.prompts)}) or a quoted prompt"
            )
        mapping[a] = got
    return (substitute(f, mapping) if mapping else f), tuple(resolver.notes.values())


class _Unusable(Exception):
    """An answer that cannot be used; the message goes back to the model."""


# ---------------------------------------------------------------- the prompt


def _describe_props(props: _Props) -> str:
    if not props.declared:
        return (
            "No propositions are declared: write each thing a frame may show as a quoted prompt, "
            'e.g. "a red traffic light".'
        )
    if not props.prompts:
        return 'The query file declares no propositions: use quoted prompts, e.g. "a red traffic light".'
    lines = ["Declared propositions (use these names; anything else as a quoted prompt):"]
    for name, prompts in props.prompts.items():
        if name in props.columns:
            lines.append(f"  {name}: a measured value (table column {quote(props.columns[name])})")
        else:
            lines.append(f"  {name}: {', '.join(quote(p) for p in prompts) or '(no prompt)'}")
    return "\n".join(lines)


def build_messages(text: str, props: object = None) -> list[dict[str, str]]:
    """The chat messages of the first request: instructions with the grammar summary and
    the propositions, few-shot examples, then ``text``."""
    p = props if isinstance(props, _Props) else _props(props)
    example_props = "\n".join(f"  {n}: {quote(t)}" for n, t in EXAMPLE_PROPS.items())
    system = (
        "You translate requirements about what happens in a video into framelogic temporal-logic formulas.\n\n"
        f"{GRAMMAR_SUMMARY}\n\n"
        "Answer with exactly one formula in a fenced code block (```tl ... ```) and nothing else. "
        "Never invent proposition names: use the declared names, and a quoted prompt for anything else."
    )
    messages = [{"role": "system", "content": system}]
    for k, (sentence, formula) in enumerate(EXAMPLES):
        head = f"Declared propositions:\n{example_props}\n\n" if k == 0 else ""
        messages.append({"role": "user", "content": f"{head}Requirement: {sentence}"})
        messages.append({"role": "assistant", "content": f"```tl\n{formula}\n```"})
    messages.append({"role": "user", "content": f"{_describe_props(p)}\n\nRequirement: {text}"})
    return messages


# ---------------------------------------------------------------- the reply

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)```", re.DOTALL)
_OPERATOR = re.compile(r'[!&|()\[\]"]|->|\b[XFGUYOHWRSM]\b')
_LABEL = re.compile(r"^\s*(?:formula|answer|ltl|tl)\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)


def _candidates(reply: str) -> list[str]:
    """The texts of ``reply`` that may be the formula, most explicit first: fenced
    blocks, ``Formula: ...`` lines, inline ``code``, then the reply if it is one
    line, else its lines that contain an operator."""
    found = [m.group(2).strip() for m in _FENCE.finditer(reply)]
    found += [m.group(1).strip().strip("`").strip() for m in _LABEL.finditer(reply)]
    found += [m.strip() for m in re.findall(r"(?<!`)`([^`\n]+)`(?!`)", reply)]
    lines = [ln.strip() for ln in reply.strip().splitlines() if ln.strip()]
    if len(lines) == 1:
        found.append(lines[0])
    else:  # last resort: a line that looks like a formula (an operator in it), not prose like "Sure"
        found += [ln for ln in lines if _OPERATOR.search(ln)]
    return [c for c in dict.fromkeys(found) if c]


def extract_formula(reply: str) -> A.Formula:
    """The formula in a model's reply, parsed with framelogic's parser.

    Tries each candidate (fenced block, labelled line, inline code, a one-line
    reply) and returns the first that parses; raises :class:`FormulaSyntaxError`
    (the first candidate's error) when none does, or :class:`InvalidValue`-like
    :class:`FramelogicError` when the reply holds no candidate at all.
    """
    candidates = _candidates(reply)
    if not candidates:
        raise FormulaSyntaxError(
            "the reply holds no formula", text=reply.strip()[:200], line=1, column=1, source="reply",
            hint="answer with the formula alone in a ```tl fenced block",
        )
    errors: list[FormulaSyntaxError] = []
    for c in candidates:
        try:
            return parse(c, source="reply")
        except FormulaSyntaxError as e:
            errors.append(e)
    raise errors[0]


# ---------------------------------------------------------------- the network


def chat_url(url: str) -> str:
    """The chat-completions URL of an endpoint: ``url`` itself if it ends in
    ``/chat/completions``, else ``{url}/chat/completions``."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidArgument(f"url={url!r} must be the http(s) URL of an OpenAI-compatible endpoint")
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidArgument(
            f"url={url!r} must be an http(s) URL such as http://localhost:8000/v1 (a vLLM or Ollama server)"
        )
    u = url.strip().rstrip("/")
    return u if u.endswith("/chat/completions") else u + "/chat/completions"


def _api_key() -> str | None:
    for var in KEY_VARIABLES:
        if os.environ.get(var):
            return os.environ[var]
    return None


def _request(url: str, payload: dict[str, Any] | None, timeout: float) -> dict[str, Any]:
    """POST ``payload`` as JSON (GET when None) and return the JSON answer; every failure names the URL."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    key = _api_key()
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = None if payload is None else json.dumps(payload).encode("utf-8")
    req = urllib.request.Request(url, data=data, headers=headers, method="GET" if payload is None else "POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310 - the scheme is checked
            body = response.read(8 << 20)
    except urllib.error.HTTPError as e:
        detail = _error_detail(e)
        raise LLMUnavailable(f"LLM endpoint {url}: HTTP {e.code} {e.reason}{detail}") from None
    except urllib.error.URLError as e:
        raise LLMUnavailable(f"LLM endpoint {url}: cannot connect: {e.reason}; is the server running?") from None
    except TimeoutError:
        raise LLMUnavailable(f"LLM endpoint {url}: no answer within {timeout:g} s; raise --timeout or check the server") from None
    except OSError as e:
        raise LLMUnavailable(f"LLM endpoint {url}: {e}") from None
    try:
        answer = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise LLMUnavailable(f"LLM endpoint {url}: the answer is not JSON; is this an OpenAI-compatible endpoint?") from None
    if not isinstance(answer, dict):
        raise LLMUnavailable(f"LLM endpoint {url}: the answer is not a JSON object")
    return answer


def _error_detail(e: urllib.error.HTTPError) -> str:
    try:
        body = e.read(2000).decode("utf-8", "replace")
        message = json.loads(body).get("error", body)
        if isinstance(message, dict):
            message = message.get("message", "")
    except Exception:  # noqa: BLE001 - the detail is optional; the status line is the message
        return ""
    message = " ".join(str(message).split())[:300]
    return f": {message}" if message else ""


def _default_model(chat: str, timeout: float) -> str:
    """The first model the server lists at ``/models`` (vLLM and Ollama list what they serve)."""
    models_url = chat[: -len("/chat/completions")] + "/models"
    answer = _request(models_url, None, timeout)
    data = answer.get("data")
    if isinstance(data, list) and data and isinstance(data[0], dict) and isinstance(data[0].get("id"), str):
        return data[0]["id"]
    raise LLMUnavailable(f"LLM endpoint {models_url}: lists no model; name one with model= (--model)")


def _chat(url: str, model: str, messages: list[dict[str, str]], timeout: float) -> str:
    answer = _request(url, {"model": model, "messages": messages, "temperature": 0}, timeout)
    try:
        content = answer["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise LLMUnavailable(f"LLM endpoint {url}: the answer has no choices[0].message.content; is this a chat endpoint?") from None
    if not isinstance(content, str):
        raise LLMUnavailable(f"LLM endpoint {url}: the reply content is not text")
    return content


# ---------------------------------------------------------------- the checks


def _analyse(f: A.Formula, props: _Props, fps: float | None) -> tuple[TraceTable | None, TraceTable | None, float | None]:
    """(witness, counterexample, rate used) of ``f`` under the file's assumptions, exactly."""
    from framelogic.automata.analysis import satisfiable, valid

    rate = fps if fps is not None else props.fps
    timed = has_time_bounds(f) or any(has_time_bounds(a) for a in props.assumptions)
    if timed and rate is None:
        rate = NOMINAL_FPS
    g = resolve_time(f, rate) if timed else f
    assume = [resolve_time(a, rate) if timed else a for a in props.assumptions]
    witness = satisfiable(g, assume=assume)
    counter = valid(g, assume=assume).counterexample if witness is not None else None
    return witness, counter, rate if timed else None


def _trace_text(t: TraceTable) -> str:
    rows = []
    for i in range(len(t)):
        cells = [n if t.values[i, j] else f"!{n}" for j, n in enumerate(t.names)]
        rows.append(f"frame {i}: {' '.join(quote(c) if ' ' in c else c for c in cells) or '(no propositions)'}")
    return "; ".join(rows) if rows else "(the empty trace)"


# ---------------------------------------------------------------- the translator


def llm_translate(
    text: str,
    *,
    url: str,
    model: str | None = None,
    props: object = None,
    retries: int = 2,
    timeout: float = 30,
    fps: float | None = None,
) -> LLMTranslation:
    """Ask the model at ``url`` for a formula meaning ``text``, and check it.

    ``props``: None, a ``.tl`` path, a Query / QueryFile, or a mapping of
    names to prompts. ``retries``: how many more times an unusable answer
    (no formula, a syntax error, an undeclared name) is sent back with its
    error. ``fps``: the rate for time bounds in the analysis (default: the
    query file's ``set fps``, else :data:`NOMINAL_FPS`).

    Raises :class:`LLMUnavailable` (network, HTTP, not a chat answer),
    :class:`LLMAnswerError` (no usable answer after the retries) and
    :class:`TranslationRejected` (unsatisfiable or vacuous).
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidArgument(f"text={text!r} must be a non-empty description of the event")
    if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 10:
        raise InvalidArgument(f"retries={retries!r} must be a whole number from 0 to 10")
    if not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
        raise InvalidArgument(f"timeout={timeout!r} must be a number of seconds > 0")
    if fps is not None:
        fps = check_fps("fps", fps)
    endpoint = chat_url(url)
    p = _props(props)
    model = model or _default_model(endpoint, timeout)
    messages = build_messages(text, p)
    attempts: list[Attempt] = []
    for _ in range(retries + 1):
        reply = _chat(endpoint, model, messages, timeout)
        try:
            f = extract_formula(reply)
            f, notes = _resolve(f, p)
        except (FormulaSyntaxError, _Unusable) as e:
            error = str(e)
            attempts.append(Attempt(reply, error))
            messages += [
                {"role": "assistant", "content": reply},
                {"role": "user", "content": f"That answer cannot be used:\n{error}\n"
                 "Reply with the corrected formula alone in a ```tl fenced block."},
            ]  # fmt: skip
            continue
        attempts.append(Attempt(reply))
        break
    else:
        last = attempts[-1].error or ""
        raise LLMAnswerError(
            f"the LLM at {endpoint} gave no usable formula in {len(attempts)} answer(s); the last error:\n{last}\n"
            "rephrase the text, or write it in the structured English of 'framelogic translate'",
            [(a.reply, a.error or "") for a in attempts],
        )
    english = to_english(f)
    witness, counter, rate = _analyse(f, p, fps)
    if witness is None or counter is None:
        from framelogic.automata.analysis import satisfiable

        reason = "unsatisfiable" if witness is None else "vacuous"
        example = satisfiable(A.neg(resolve_time(f, rate) if rate else f)) if witness is None else witness
        shown = _trace_text(example) if example is not None else "(none)"
        what = (
            f"no trace satisfies it (it fails, e.g., on {shown})" if witness is None
            else f"every trace satisfies it (it holds, e.g., on {shown}), so it finds nothing"
        )  # fmt: skip
        raise TranslationRejected(
            f"rejected the LLM's formula {to_text(f)} ({english}): it is {reason}: {what}; rephrase the text",
            formula=f, reason=reason, english=english, example=example, reply=attempts[-1].reply,
        )
    via = f"LLM at {endpoint} (model {model})"
    remarks = [f"translated by the {via} in {len(attempts)} answer(s); read the back-translation before accepting it"]
    if rate is not None and fps is None and p.fps is None:
        remarks.append(f"time bounds analysed at a nominal {rate:g} fps (give fps to use the video's rate)")
    return LLMTranslation(text, f, to_text(f), english, notes, via, tuple(attempts), witness, counter, rate, tuple(remarks))


def translate_text(
    text: str,
    *,
    props: object = None,
    url: str | None = None,
    model: str | None = None,
    retries: int = 2,
    timeout: float = 30,
    fps: float | None = None,
) -> Translation:
    """Structured English first: offline and exact (a :class:`Translation`).

    Without ``url`` that is all (a sentence outside the controlled language is a
    :class:`FormulaSyntaxError` pointing at the word). With ``url`` the model is
    asked (:func:`llm_translate`, an :class:`LLMTranslation` the user must
    accept) when the grammar rejects the text, or accepts it only by turning
    phrases that match no proposition into inline prompts, which is how
    free-form text usually reads in the controlled language.
    """
    try:
        t = translate(text, props=props)
    except FormulaSyntaxError as e:
        if url is None:
            raise
        why = f"not structured English: {e.message} at column {e.column}"
    else:
        unmatched = [n.phrase for n in t.notes if _unmatched(n)]
        if url is None or not unmatched:
            return t
        why = f"in structured English, {', '.join(repr(p) for p in unmatched)} would match no proposition"
    result = llm_translate(text, url=url, model=model, props=props, retries=retries, timeout=timeout, fps=fps)
    return replace(result, remarks=(f"{why}; asked the model", *result.remarks))


def _unmatched(n: Note) -> bool:
    """A phrase that resolved to no proposition: an inline prompt made from it."""
    return n.how == "unknown" or (n.how == "default" and isinstance(n.atom, A.Atom) and n.atom.quoted)
