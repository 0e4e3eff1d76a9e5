"""The lexical rules of the formula language, in one place.

Keywords, which names can be written bare, quoting and unquoting of prompts,
the syntax of bound numbers (``30``, ``2.5s``, ``500ms``, ``inf``) and how a
bound end prints. The AST, the parser and the printer all import this module
and it imports none of them, so no import circle forms inside ``logic/``.
"""

from __future__ import annotations

import re

from .errors import InvalidArgument

#: Words the grammar reserves; a proposition with one of these names is quoted.
KEYWORDS = frozenset(
    """X N WX F G Y O H U R W M S P true false inf not and or implies iff next weak_next
    eventually always previously once historically until release weak_until strong_release
    since""".split()
)

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(ms|min|s)?\Z")
_UNIT_SCALE = {"s": 1.0, "ms": 1e-3, "min": 60.0}


def is_identifier(name: str) -> bool:
    """True if ``name`` can be written bare (not a keyword, identifier syntax)."""
    return bool(_IDENT.match(name)) and name not in KEYWORDS


def quote(text: str) -> str:
    """A double-quoted prompt literal that the grammar reads back as ``text``."""
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    body = body.replace("\r", "\\r").replace("\0", "\\0")
    return f'"{body}"'


_UNESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}


def unquote(token: str) -> str:
    """The text of a quoted string token, with backslash escapes resolved."""
    return _UNESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), token[1:-1])


def parse_duration(text: str) -> tuple[float | None, str | None]:
    """Read one bound end: ``'2.5s'`` -> ``(2.5, 's')``, ``'500ms'`` -> ``(0.5, 's')``,
    ``'30'`` -> ``(30, None)`` (no unit written: frames), ``'inf'`` -> ``(None, None)``.

    Only the syntax is checked here; whether the number is a valid bound end
    (whole frames, within the limits) is decided by :class:`framelogic.logic.Bound`.
    """
    text = text.strip()
    if text == "inf":
        return None, None
    m = _DURATION.match(text)
    if not m:
        raise InvalidArgument(f"{text!r} is not a bound: write frames (30), seconds (2.5s), ms or min")
    unit = m.group(2)
    value = float(text[: len(text) - len(unit)] if unit else text)
    if unit is None:
        return (int(value) if value.is_integer() else value), None
    return value * _UNIT_SCALE[unit], "s"


def format_bound_end(x: float | None, unit: str) -> str:
    """How a bound end prints: ``inf``, ``30`` (frames) or ``2.5s``; reads back as ``x``."""
    if x is None:
        return "inf"
    if unit == "frames" and float(x).is_integer():
        return str(int(x))
    r = repr(float(x))
    return (r[:-2] if r.endswith(".0") else r) + ("s" if unit == "s" else "")
