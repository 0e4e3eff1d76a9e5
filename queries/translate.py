"""Structured English -> formula, with proposition phrases resolved against a
query file's ``prop`` declarations, and the round trip back to English.

>>> import framelogic as fl
>>> t = fl.translate("whenever the light is red, the car shall stop within 3 seconds",
...                  props={"red_light": "a red traffic light", "stopped": "the car is stopped"})
>>> t.text
'G (red_light -> F[0s,3s] stopped)'
>>> t.english
'whenever red_light, stopped shall hold within 3 seconds'

Phrases resolve in this order: an exact proposition name (``red light`` or
``red_light``); a prompt's text, or a name or prompt with the same content words
(articles, ``is``/``be`` and word endings ignored: "the light is red" is
``red_light``); a single close match (difflib, or one proposition whose words all
occur in the phrase), noted as "did you mean"; otherwise the phrase becomes an
inline quoted prompt, and a note says so.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from framelogic.logic import ast as A
from framelogic.logic.english import default_resolve, parse_english, to_english
from framelogic.logic.errors import InvalidArgument
from framelogic.logic.printer import to_text

from .queryfile import PropDecl, QueryFile, load_query_file

__all__ = ["Note", "Translation", "PhraseResolver", "translate"]


@dataclass(frozen=True, slots=True)
class Note:
    """How one phrase was resolved.

    ``how`` is ``"name"`` (an exact proposition name), ``"prompt"`` (a prompt's
    text or the same content words), ``"close"`` (a single close match, taken),
    ``"unknown"`` (no match: an inline prompt) or ``"default"`` (no propositions
    given: identifiers are atoms, other phrases inline prompts)."""

    phrase: str
    atom: A.Formula
    how: str
    message: str
    suggestions: tuple[str, ...] = ()  # proposition names it may have meant

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Translation:
    """A sentence translated: the formula, its framelogic text, the back-translation."""

    source: str  # the sentence as given
    formula: A.Formula
    text: str  # the formula in framelogic syntax (re-parses with fl.parse)
    english: str  # the formula read back as structured English
    notes: tuple[Note, ...]  # one per distinct phrase, in order of appearance

    @property
    def unknown(self) -> tuple[str, ...]:
        """Phrases that matched no proposition (now inline prompts)."""
        return tuple(n.phrase for n in self.notes if n.how == "unknown")

    def __str__(self) -> str:
        lines = [f"english: {self.source}", f"formula: {self.text}", f"reads:   {self.english}"]
        lines += [f"note:    {n.message}" for n in self.notes if n.how != "name"]
        return "\n".join(lines)


_STOP = frozenset("a an the is are be being been was were am does do did has have had it its there that this".split())


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) >= 3 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]  # stopped -> stopp -> stop
    if len(word) >= 4 and word.endswith("e"):
        word = word[:-1]  # move -> mov, like moving -> mov
    return word


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]


def _key(text: str) -> tuple[str, ...]:
    """Content words, stemmed, sorted: "the light is red" and "red_light" agree."""
    return tuple(sorted({_stem(w) for w in _words(text) if w not in _STOP}))


def _props_of(props: object) -> dict[str, tuple[str, ...]]:
    """Proposition name -> prompts, from any accepted form of ``props``."""
    if isinstance(props, (str, os.PathLike)):
        props = load_query_file(Path(props))
    file = getattr(props, "file", None)  # a framelogic.Query
    if isinstance(file, QueryFile):
        props = file
    if isinstance(props, QueryFile):
        return {n: p.prompts for n, p in props.props.items() if not p.inline}
    if isinstance(props, Mapping):
        out: dict[str, tuple[str, ...]] = {}
        for name, v in props.items():
            if not isinstance(name, str) or not name:
                raise InvalidArgument(f"props key {name!r} must be a proposition name (a non-empty string)")
            if isinstance(v, PropDecl):
                out[name] = v.prompts
            elif isinstance(v, str):
                out[name] = (v,)
            elif v is None:
                out[name] = ()
            elif isinstance(v, Sequence) and all(isinstance(x, str) for x in v):
                out[name] = tuple(v)
            else:
                raise InvalidArgument(f"props[{name!r}]={v!r} must be a prompt, a list of prompts or None")
        return out
    raise InvalidArgument(
        f"props={props!r} must be None, a path to a .tl file, a Query, a QueryFile or a mapping name -> prompts"
    )


class PhraseResolver:
    """Resolves phrases against propositions and records a :class:`Note` for each.

    Made once per translation (the notes are that translation's data)."""

    def __init__(self, props: Mapping[str, Sequence[str]] | None) -> None:
        self.props = None if props is None else {n: tuple(p) for n, p in props.items()}
        self.notes: dict[str, Note] = {}

    def __call__(self, phrase: str) -> A.Formula:
        if phrase not in self.notes:
            self.notes[phrase] = self._resolve(phrase)
        return self.notes[phrase].atom

    def _resolve(self, phrase: str) -> Note:
        low = " ".join(phrase.lower().split())
        if low in ("true", "false"):
            return Note(phrase, A.TRUE if low == "true" else A.FALSE, "name", f"{phrase!r} is the constant {low}")
        if self.props is None:
            got = default_resolve(phrase)
            got = A.atom(got) if isinstance(got, str) else got
            kind = "a proposition name" if isinstance(got, A.Atom) and not got.quoted else "an inline prompt"
            return Note(phrase, got, "default", f"{phrase!r} is {kind} (no propositions given)")
        names = list(self.props)
        by_lower = {n.lower(): n for n in names}
        for cand in (low, low.replace(" ", "_")):
            if cand in by_lower:
                n = by_lower[cand]
                return Note(phrase, A.Atom(n), "name", f"{phrase!r} is the proposition {n}")
        for n, prompts in self.props.items():
            if any(" ".join(p.lower().split()) == low for p in prompts):
                return Note(phrase, A.Atom(n), "prompt", f"{phrase!r} is the prompt of {n}")
        key = _key(phrase)
        if key:
            same = [n for n in names if _key(n) == key or any(_key(p) == key for p in self.props[n])]
            if len(same) == 1:
                n = same[0]
                return Note(phrase, A.Atom(n), "prompt", f"{phrase!r} is {n} (same words as its name or prompt)")
        close = self._close(phrase, key)
        if len(close) == 1:
            n = close[0]
            return Note(
                phrase, A.Atom(n), "close",
                f"{phrase!r} matches no proposition exactly; did you mean {n}? (taken as {n})", (n,),
            )
        shown = f"; did you mean {' or '.join(close)}?" if close else ""
        return Note(
            phrase, A.Atom(phrase, True), "unknown",
            f"{phrase!r} matches no proposition of the query file{shown}; it becomes the inline prompt "
            f"\"{phrase}\" (declare it with prop, or reword it)", tuple(close),
        )

    def _close(self, phrase: str, key: tuple[str, ...]) -> list[str]:
        """Propositions close to ``phrase``: best difflib score over names and prompts,
        or the one proposition whose content words all occur in the phrase."""
        props = self.props or {}
        text = " ".join(key) or phrase.lower()
        scores: dict[str, float] = {}
        for n, prompts in props.items():
            forms = [" ".join(_key(n))] + [" ".join(_key(p)) for p in prompts]
            scores[n] = max(difflib.SequenceMatcher(None, text, f).ratio() for f in forms)
        best = max(scores.values(), default=0.0)
        if best >= 0.75:  # near-ties (within 0.1) are ambiguous: all are offered, none taken
            return sorted(n for n, s in scores.items() if s >= best - 0.1)
        words = set(key)
        subset = [
            n for n, prompts in props.items()
            if _within(_key(n), words) or any(_within(_key(p), words) for p in prompts)
        ]
        if subset:
            size = max(len(_key(n)) for n in subset)
            return sorted(n for n in subset if len(_key(n)) == size)
        return []


def _within(key: tuple[str, ...], words: set[str]) -> bool:
    return bool(key) and set(key) <= words


def translate(text: str, props: object = None, *, source: str = "<english>") -> Translation:
    """Translate a structured-English sentence into a formula.

    ``props`` gives the propositions phrases resolve to: ``None`` (identifiers are
    atoms, other phrases inline prompts), a path to a ``.tl`` file, a
    :class:`framelogic.Query` or :class:`QueryFile`, or a mapping ``name -> prompt``
    (or list of prompts). Raises :class:`framelogic.FormulaSyntaxError` pointing at
    the word where the sentence leaves the controlled language.
    """
    table = None if props is None else _props_of(props)
    resolver = PhraseResolver(table)
    f = parse_english(text, resolver, source=source)
    return Translation(text, f, to_text(f), to_english(f), tuple(resolver.notes.values()))
