"""Structured English <-> formulas: a controlled language in the style of NASA
FRET ("FRETish") and the Dwyer / Konrad-Cheng specification patterns.

A sentence is ``[scope ,] [trigger ,] clause [, until COND]``::

    whenever the light is red, the car shall stop within 3 seconds
        -> G (red_light -> F[0,3s] stopped)
    a pedestrian is never on the crosswalk while the car moves
        -> G !(pedestrian & moving)
    after the light turns green, the car shall move within 2 seconds, until the light turns red
        -> G (green & !red -> !red U[0,2s] (moving & !red))

:func:`parse_english` reads a sentence into a :class:`Formula`; proposition
phrases ("the light is red") are handed to a ``resolve`` callback (phrase ->
atom name or formula), so that a query file's propositions can be matched (see
:mod:`framelogic.queries.translate`). :func:`to_english` prints any formula
back: the pattern shapes this module builds print as their pattern sentences,
anything else gets a compositional reading ("always (if a then eventually
within 3 frames b)") that reads back to the same formula.

Meaning of the parts (finite traces; the trace is the whole video):

* timing of ``X shall [timing] Y [timing]``: ``immediately`` Y; ``at the next
  frame`` X Y; ``eventually`` F Y (also the default when no timing is given, as in
  FRET); ``within T`` F[0,T] Y; ``between A and B seconds`` F[A,B] Y; ``after at
  least T`` F[T,inf] Y; ``for T`` / ``for at least T`` G[0,T] Y (satisfied when the
  video ends first); ``always`` G Y; ``never`` G !Y; ``until Z`` Y W Z (weak: Z
  need not come). A response ``hold`` / ``be true`` / ``occur`` stands for the
  subject: ``stopped shall hold within 3 seconds``; otherwise the subject is the
  FRET component (recorded, not part of the formula).
* triggers: ``whenever/when/if C,`` G (C -> ...); ``upon C,`` on the frames where C
  becomes true (C & !Y C); ``whenever C for at least T,`` G (H[0,T] C -> ...).
* scopes (Dwyer's LTL mappings; Q opens, R closes the scope): ``globally`` psi;
  ``after Q`` !Q W (Q & psi) (from the first Q on; equivalent to Dwyer's
  G (Q -> G P) forms, and also used for precedence and response, where Dwyer's
  table reads "any Q"); ``before R`` F R -> (A U R); ``between Q and R``
  G (Q & !R & F R -> (A U R)); ``after Q until R`` G (Q & !R -> (A W R)). A is
  the requirement cut at R: P (universality), !P (absence), C -> psi (a trigger;
  a response ``within T`` becomes !R U[0,T] (S & !R), so it must come before R),
  !P U (S | R) (precedence); existence is !R U[0,T] (P & !R) (strong, as Dwyer).
  A requirement without a trigger whose timing is none of always / never /
  eventually / within has no pattern reading in those three scopes and is refused.
* conditions: ``not``, ``and``, ``or`` (``and`` binds tighter), parentheses,
  ``X is not Y`` (negated phrase); past: ``previously C`` O C, ``C in the last T``
  O[0,T] C, ``C for the last T`` H[0,T] C, ``historically C`` H C, ``at the
  previous frame C`` Y C, ``C since D``; future: ``always``, ``eventually``,
  ``never``, ``at the next frame``, ``C until D`` (strong), ``if C then D``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
from lark import Lark, Token, Transformer, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import ast as A
from .errors import BoundError, FormulaSyntaxError, FramelogicError, InvalidArgument
from .lexical import is_identifier, quote, unquote
from .passes import atoms, substitute

__all__ = ["parse_english", "to_english", "default_resolve", "RESERVED_WORDS", "Resolver"]

#: A resolver maps a proposition phrase ("the light is red") to an atom name or a formula.
Resolver = Callable[[str], "A.Formula | str"]

#: Words that end a proposition phrase; a phrase cannot contain them.
RESERVED_WORDS = frozenset(
    """globally before after between until since whenever when if then upon shall must
    immediately within never always eventually previously historically while not and or""".split()
)

#: Responses that stand for the subject: ``stopped shall hold``.
_HOLD_VERBS = frozenset(
    ["hold", "holds", "be true", "is true", "occur", "occurs", "happen", "happens", "be the case"]
)

_PLACEHOLDER = "\x00"  # prefix of the atom that stands for a phrase until it is resolved


@cache
def _parser() -> Lark:
    text = resources.files("framelogic.logic").joinpath("english.lark").read_text(encoding="utf-8")
    return Lark(text, parser="lalr", propagate_positions=True, maybe_placeholders=False)


class _SemanticError(FramelogicError):
    def __init__(self, message: str, token: Token | None, hint: str | None = None):
        super().__init__(message)
        self.message, self.token, self.hint = message, token, hint


# --------------------------------------------------------------------------- requirements


@dataclass(frozen=True, slots=True)
class _Req:
    """One requirement before its scope is applied.

    ``timing`` is one of ``eventually immediately next always never until precedes
    cond``; ``resp`` the response (for ``precedes``: P, with ``other`` = S; for
    ``until``: ``other`` = the release condition)."""

    trigger: A.Formula | None
    timing: str
    resp: A.Formula
    bound: A.Bound = A.UNBOUNDED
    other: A.Formula | None = None
    token: Token | None = None


def _tau(r: _Req) -> A.Formula:
    """The requirement at the frame it is triggered (or at the start)."""
    match r.timing:
        case "eventually":
            return A.temporal(A.Eventually, r.resp, bound=r.bound)
        case "immediately" | "cond":
            return r.resp
        case "next":
            return A.X(r.resp)
        case "always":
            return A.temporal(A.Always, r.resp, bound=r.bound)
        case "never":
            return A.temporal(A.Always, A.neg(r.resp), bound=r.bound)
        case "until":
            return A.temporal(A.WeakUntil, r.resp, r.other, bound=r.bound)
        case "precedes":
            return A.temporal(A.WeakUntil, A.neg(r.resp), r.other)
    raise InvalidArgument(f"timing={r.timing!r} is not a timing")


def _global(r: _Req) -> A.Formula:
    body = _tau(r)
    return body if r.trigger is None else A.G(A.implies(r.trigger, body))


def _lift(resp: A.Formula) -> tuple[str, A.Formula, A.Bound] | None:
    """A response whose top operator is a timing: ``always x`` -> ("always", x, b)."""
    match resp:
        case A.Always(A.Not(x), b) if b.is_trivial:
            return "never", x, A.UNBOUNDED
        case A.Always(x, b):
            return "always", x, b
        case A.Eventually(x, b):
            return "eventually", x, b
        case A.Next(x):
            return "next", x, A.UNBOUNDED
    return None


def _cut(r: _Req, end: A.Formula, strong: bool, scope_token: Token | None) -> A.Formula:
    """The requirement restricted to the part of the trace before ``end`` (Dwyer)."""
    until = (lambda a, b: A.temporal(A.Until, a, b)) if strong else (lambda a, b: A.temporal(A.WeakUntil, a, b))
    not_end = A.neg(end)
    if r.trigger is not None:
        body = (
            A.temporal(A.Until, not_end, A.conj(r.resp, not_end), bound=r.bound)
            if r.timing == "eventually"
            else _tau(r)
        )
        return until(A.implies(r.trigger, body), end)
    match r.timing:
        case "always" if r.bound.is_trivial:
            return until(r.resp, end)
        case "never":
            return until(A.neg(r.resp), end)
        case "eventually":
            return A.temporal(A.Until, not_end, A.conj(r.resp, not_end), bound=r.bound)
        case "precedes":
            return until(A.neg(r.resp), A.disj(r.other, end))
    raise _SemanticError(
        f"a requirement with timing {r.timing!r} and no trigger has no pattern reading in a "
        f"{scope_token or 'before/between/until'} scope",
        scope_token,
        "use 'globally' or 'after Q', add a trigger (whenever C, ...), or use the timing "
        "always / never / eventually / within T",
    )


# --------------------------------------------------------------------------- parse tree -> formula


def _tokens(args: tuple) -> list[Token]:
    return [a for a in args if isinstance(a, Token)]


def _values(args: tuple) -> list:
    return [a for a in args if not isinstance(a, Token)]


_UNIT_SCALE = {"ms": 1e-3, "millisecond": 1e-3, "s": 1.0, "sec": 1.0, "second": 1.0, "min": 60.0, "minute": 60.0}


def _unit(tok: Token) -> tuple[float, str]:
    u = str(tok).lower()
    if u.startswith(("frame", "step")):
        return 1.0, "frames"
    base = u[:-1] if u.endswith("s") and u not in ("s", "ms") else u
    return _UNIT_SCALE[base], "s"


class _Build(Transformer):
    """Parse tree -> formula with placeholder atoms for the phrases (one per parse)."""

    def __init__(self) -> None:
        super().__init__()
        self.phrases: dict[str, str] = {}  # placeholder name -> phrase text
        self.hold: set[str] = set()  # placeholders that are hold verbs

    # ---- phrases
    def _phrase(self, text: str) -> A.Formula:
        name = _PLACEHOLDER + " ".join(text.split())
        self.phrases[name] = " ".join(text.split())
        if " ".join(text.lower().split()) in _HOLD_VERBS:
            self.hold.add(name)
        return A.Atom(name, True)

    def words(self, args):
        return args

    def phrase(self, args):
        return self._phrase(" ".join(map(str, args[0])))

    def neg_phrase(self, args):
        before, _, after = args
        return A.neg(self._phrase(" ".join(map(str, [*before, *after]))))

    def quoted(self, args):

        text = unquote(str(args[0]))
        if not text.strip():
            raise _SemanticError("empty prompt", args[0], 'write what the frame should show, e.g. "a red light"')
        return A.Atom(text, True)

    # ---- durations and windows
    def dur(self, args):
        num, unit = args
        scale, u = _unit(unit)
        return float(num) * scale if u == "s" else float(num), u, num

    def _bound(self, lo, hi, tok):
        lo_v, hi_v, u = lo, hi, None
        if hi is not None:
            hi_v, u = hi[0], hi[1]
        if isinstance(lo, tuple):
            lo_v, u = lo[0], lo[1]
        try:
            return A.Bound(lo_v, hi_v, u or "frames")
        except BoundError as e:
            raise _SemanticError(str(e), tok) from None

    def _scaled_lo(self, num: Token, hi) -> float:
        scale = 1.0
        if hi[1] == "s":  # "between 1 and 3 seconds": both ends in the unit written last
            written = float(hi[2])
            scale = hi[0] / written if written else 1.0
        return float(num) * scale

    def w_within(self, args):
        return self._bound(0, args[1], args[0])

    def w_between(self, args):
        _, num, _, hi = args
        return self._bound(self._scaled_lo(num, hi), hi, num)

    def w_after(self, args):
        d = args[2]
        return self._bound((d[0], d[1]), None, args[0])

    # ---- conditions
    def or_(self, args):
        return A.disj(*_values(args))

    def and_(self, args):
        return A.conj(*_values(args))

    def not_(self, args):
        return A.neg(args[1])

    def _unary(self, cls, args):
        vals = _values(args)
        bound = vals[0] if len(vals) == 2 else A.UNBOUNDED
        return vals[-1], bound

    def always(self, args):
        x, b = self._unary(A.Always, args)
        return A.temporal(A.Always, x, bound=b)

    def eventually(self, args):
        x, b = self._unary(A.Eventually, args)
        return A.temporal(A.Eventually, x, bound=b)

    def never(self, args):
        x, b = self._unary(A.Always, args)
        return A.temporal(A.Always, A.neg(x), bound=b)

    def once(self, args):
        x, b = self._unary(A.Once, args)
        return A.temporal(A.Once, x, bound=b)

    def historically(self, args):
        x, b = self._unary(A.Historically, args)
        return A.temporal(A.Historically, x, bound=b)

    def next_(self, args):
        return A.X(args[1])

    def prev(self, args):
        return A.Y(args[1])

    def in_last(self, args):
        x, tok, d = args
        return A.temporal(A.Once, x, bound=self._bound(0, d, tok))

    def for_last(self, args):
        x, tok, d = args
        return A.temporal(A.Historically, x, bound=self._bound(0, d, tok))

    def until(self, args):
        vals = _values(args)
        b = vals[1] if len(vals) == 3 else A.UNBOUNDED
        return A.temporal(A.Until, vals[0], vals[-1], bound=b)

    def since(self, args):
        vals = _values(args)
        b = vals[1] if len(vals) == 3 else A.UNBOUNDED
        return A.temporal(A.Since, vals[0], vals[-1], bound=b)

    def if_then(self, args):
        _, a, _, b = args
        return A.implies(a, b)

    # ---- timings: (kind, bound, other, token)
    def t_immediately(self, args):
        return ("immediately", A.UNBOUNDED, None, args[0])

    def t_within(self, args):
        return ("eventually", self.w_within(args), None, args[0])

    def t_between(self, args):
        return ("eventually", self.w_between(args), None, args[0])

    def t_after(self, args):
        return ("eventually", self.w_after(args), None, args[0])

    def t_for(self, args):
        return ("always", self._bound(0, args[1], args[0]), None, args[0])

    def t_until(self, args):
        return ("until", A.UNBOUNDED, args[1], args[0])

    def t_next(self, args):
        return ("next", A.UNBOUNDED, None, args[0])

    def t_eventually(self, args):
        return ("eventually", A.UNBOUNDED, None, args[0])

    def t_always(self, args):
        return ("always", A.UNBOUNDED, None, args[0])

    # ---- clauses -> _Req
    def _with_subject(self, resp: A.Formula, subject: A.Formula) -> A.Formula:

        hold = [n for n in self.hold if any(a.name == n for a in _atoms(resp))]
        return substitute(resp, {A.Atom(n, True): subject for n in hold}) if hold else resp

    def _with_component(self, resp: A.Formula, subject: A.Formula) -> A.Formula:
        """``the car shall stop``: the phrase "stop" becomes "the car stop", so that
        the component's words help to find the proposition."""

        if not (isinstance(subject, A.Atom) and subject.name in self.phrases):
            return resp
        head = self.phrases[subject.name]
        table = {
            a: self._phrase(f"{head} {self.phrases[a.name]}")
            for a in _atoms(resp)
            if a.name in self.phrases and a.name not in self.hold
        }
        return substitute(resp, table) if table else resp

    def shall_clause(self, args):
        subject, shall = args[0], args[1]
        rest = list(args[2:])
        during = None
        if len(rest) >= 2 and isinstance(rest[-2], Token) and rest[-2].type == "WHILE":
            while_tok, during = rest[-2], rest[-1]
            rest = rest[:-2]
        timings = [a for a in rest if isinstance(a, tuple)]
        resp = next(a for a in rest if not isinstance(a, (tuple, Token)))
        resp = self._with_subject(self._with_component(resp, subject), subject)
        if len(timings) == 2:
            raise _SemanticError("two timings for one response", timings[1][3], "keep one: e.g. 'shall stop within 3 seconds'")
        if timings:
            kind, bound, other, tok = timings[0]
            req = _Req(None, kind, resp, bound, other, tok)
        elif (lifted := _lift(resp)) is not None:
            kind, x, b = lifted
            req = _Req(None, kind, x, b, None, shall)
        else:
            req = _Req(None, "eventually", resp, A.UNBOUNDED, None, shall)  # FRET's default timing
        if during is None:
            return req
        # "while C" restricts the frames: never (P & C), always (C -> P)
        if req.timing == "never" and req.bound.is_trivial:
            return _Req(None, "never", A.conj(req.resp, during), token=req.token)
        if req.timing == "always" and req.bound.is_trivial:
            return _Req(None, "always", A.implies(during, req.resp), token=req.token)
        raise _SemanticError(
            "'while' goes with 'never' or 'always'", while_tok,
            "write 'X shall never Y while C' or 'X shall always Y while C'; for other timings use 'whenever C, ...'",
        )

    def cond_clause(self, args):
        f = args[0]
        lifted = _lift(f)
        if lifted is not None:
            kind, x, b = lifted
            return _Req(None, kind, x, b)
        match f:
            case A.WeakUntil(A.Not(p), s, b) if b.is_trivial:
                return _Req(None, "precedes", p, A.UNBOUNDED, s)
        return _Req(None, "cond", f)

    def precedence(self, args):
        p, tok, s = args
        return _Req(None, "precedes", p, A.UNBOUNDED, s, tok)

    def _infix(self, before, after) -> A.Formula:
        return self._phrase(" ".join(map(str, [*before, *after])))

    def infix_never(self, args):
        vals = _values(args)
        p = self._infix(vals[0], vals[1])
        if len(vals) == 3:
            p = A.conj(p, vals[2])
        return _Req(None, "never", p, token=args[1])

    def infix_always(self, args):
        return _Req(None, "always", self._infix(args[0], args[2]), token=args[1])

    def infix_eventually(self, args):
        return _Req(None, "eventually", self._infix(args[0], args[2]), token=args[1])

    # ---- triggers and requirements
    def level_trigger(self, args):
        return args[1]

    def held_trigger(self, args):
        _, c, hold, d = args
        return A.temporal(A.Historically, c, bound=self._bound(0, d, hold.children[0]))

    def hold_for(self, args):
        return Tree("hold_for", args)

    def edge_trigger(self, args):
        c = args[1]
        return A.conj(c, A.neg(A.Y(c)))

    def plain(self, args):
        return args[0]

    def triggered(self, args):
        trig, _, r = args
        if r.trigger is not None:  # cannot happen: a clause has no trigger
            raise _SemanticError("two triggers", r.token)
        return _Req(trig, r.timing, r.resp, r.bound, r.other, r.token)

    # ---- scopes -> formula
    def globally(self, args):
        return _global(args[-1])

    def after(self, args):
        _, q, _, r = args
        return A.temporal(A.WeakUntil, A.neg(q), A.conj(q, _global(r)))

    def before(self, args):
        tok, end, _, r = args
        return A.implies(A.F(end), _cut(r, end, True, tok))

    def between(self, args):
        tok, q, _, end, _, r = args
        return A.G(A.implies(A.conj(q, A.neg(end), A.F(end)), _cut(r, end, True, tok)))

    def after_until(self, args):
        tok, q, _, r, _, until_tok, end = args
        return A.G(A.implies(A.conj(q, A.neg(end)), _cut(r, end, False, until_tok)))

    def after_until_front(self, args):
        tok, q, until_tok, end, _, r = args
        return A.G(A.implies(A.conj(q, A.neg(end)), _cut(r, end, False, until_tok)))

    def prim(self, args):  # ( cond )
        return args[1]

    def start(self, args):
        return args[0]


def _atoms(f: A.Formula) -> list[A.Atom]:

    return list(atoms(f))


# --------------------------------------------------------------------------- errors

_FRIENDLY = {
    "WORD": "a word", "NUMBER": "a number", "UNIT": "a unit (seconds, ms, minutes, frames)",
    "STRING": 'a "quoted prompt"', "COMMA": "','", "DOT": "'.'", "LPAR": "'('", "RPAR": "')'",
    "$END": "the end of the sentence", "AT_NEXT": "'at the next frame'", "AT_PREV": "'at the previous frame'",
    "IN_LAST": "'in the last'", "FOR_LAST": "'for the last'", "FOR_AT_LEAST": "'for at least'",
    "FOR_DUR": "'for'", "ONLY_AFTER": "'only after'", "AT_LEAST": "'at least'",
}  # fmt: skip


def _friendly(names: set[str] | frozenset[str]) -> list[str]:
    out = {_FRIENDLY.get(n, f"'{n.lower()}'") for n in names}
    return sorted(out)


def _syntax_error(e: UnexpectedInput, text: str, source: str) -> FormulaSyntaxError:
    if isinstance(e, UnexpectedToken):
        tok = e.token
        if tok.type == "$END":
            what = "the sentence ends too early"
        else:
            what = f"unexpected {_FRIENDLY.get(tok.type, repr(str(tok)))}" + (
                f" {str(tok)!r}" if tok.type in ("WORD", "NUMBER", "STRING") else ""
            )
            if tok.type == "WORD" and str(tok).lower() in RESERVED_WORDS:
                what += " (a reserved word)"
        expected = set(e.expected)
        line, column = e.line, e.column
        if tok.type == "$END":
            line, column = _end_position(text)
    elif isinstance(e, UnexpectedCharacters):
        what = f"unexpected character {text[e.pos_in_stream]!r}" if 0 <= e.pos_in_stream < len(text) else "unexpected character"
        expected, line, column = set(e.allowed or ()), e.line, e.column
    else:  # UnexpectedEOF
        what = "the sentence ends too early"
        expected = set(getattr(e, "expected", ()) or ())
        line, column = _end_position(text)
    hint = "expected " + ", ".join(_friendly(expected)) if expected else None
    return FormulaSyntaxError(what, text=text, line=line, column=column, source=source, hint=hint)


def _end_position(text: str) -> tuple[int, int]:
    lines = text.splitlines() or [""]
    return len(lines), len(lines[-1]) + 1


# --------------------------------------------------------------------------- public API


def default_resolve(phrase: str) -> A.Formula | str:
    """Without a query file: ``true``/``false``; a single identifier is that atom;
    any other phrase is an inline prompt."""
    low = phrase.lower()
    if low in ("true", "false"):
        return A.TRUE if low == "true" else A.FALSE
    if is_identifier(phrase):
        return A.Atom(phrase, False)
    return A.Atom(phrase, True)


def parse_english(text: str, resolve: Resolver | None = None, *, source: str = "<english>") -> A.Formula:
    """Translate one structured-English sentence into a formula.

    ``resolve(phrase)`` maps each proposition phrase to an atom name (``str``) or a
    formula; by default (:func:`default_resolve`) identifiers are atoms and other
    phrases inline prompts. Raises :class:`FormulaSyntaxError` with the position
    of the offending word and what the grammar expected there.
    """
    if not isinstance(text, str):
        raise InvalidArgument(f"text={text!r} must be a string")
    if not text.strip():
        raise FormulaSyntaxError("empty sentence", text=text, line=1, column=1, source=source,
                                 hint="write e.g. 'whenever the light is red, the car shall stop within 3 seconds'")
    resolve = resolve or default_resolve
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as e:
        raise _syntax_error(e, text, source) from None
    build = _Build()
    try:
        f = build.transform(tree)
    except VisitError as e:
        inner = e.orig_exc
        if isinstance(inner, _SemanticError):
            tok = inner.token
            raise FormulaSyntaxError(
                inner.message, text=text, line=getattr(tok, "line", 1) or 1,
                column=getattr(tok, "column", 1) or 1, source=source, hint=inner.hint,
            ) from None
        if isinstance(inner, FramelogicError):
            raise FormulaSyntaxError(str(inner), text=text, line=1, column=1, source=source) from None
        raise
    mapping: dict[A.Atom, A.Formula] = {}
    for a in _atoms(f):
        if a.name.startswith(_PLACEHOLDER):
            got = resolve(build.phrases[a.name])
            mapping[a] = A.atom(got) if isinstance(got, str) else got
    if not mapping:
        return f

    return substitute(f, mapping)


# --------------------------------------------------------------------------- formula -> English

_IMP, _BIN, _OR, _AND, _UN, _PRIM = range(6)


def _number(x: float) -> str:
    return np.format_float_positional(float(x), trim="-")


def _duration(x: float, unit: str) -> str:
    name = "frame" if unit == "frames" else "second"
    return f"{_number(x)} {name}{'' if x == 1 else 's'}"


def _window(b: A.Bound) -> str:
    """`` within 3 seconds`` and the like; empty for no bound."""
    if b.is_trivial:
        return ""
    if b.hi is None:
        return f" after at least {_duration(b.lo, b.unit)}"
    if b.lo == 0:
        return f" within {_duration(b.hi, b.unit)}"
    return f" between {_number(b.lo)} and {_duration(b.hi, b.unit)}"


def _phrase_text(a: A.Atom) -> str:
    if not a.quoted and is_identifier(a.name) and a.name.lower() not in RESERVED_WORDS and a.name.lower() not in (
        "true", "false", "hold", "holds", "occur", "occurs", "happen", "happens",
    ):
        return a.name
    return quote(a.name)


def _cond(f: A.Formula) -> tuple[str, int]:
    """The compositional reading of ``f`` and how loosely it binds."""

    def wrap(g: A.Formula, level: int) -> str:
        s, lv = _cond(g)
        return f"({s})" if lv < level else s

    match f:
        case A.Const(v):
            return ("true" if v else "false"), _PRIM
        case A.Atom():
            return _phrase_text(f), _PRIM
        case A.Not(a):
            return "not " + wrap(a, _UN), _UN
        case A.And(args):
            return " and ".join(wrap(a, _UN) for a in args), _AND
        case A.Or(args):
            return " or ".join(wrap(a, _AND) for a in args), _OR
        case A.Implies(a, b):
            return f"if {wrap(a, _BIN)} then {wrap(b, _IMP)}", _IMP
        case A.Iff(a, b):
            return f"(if {wrap(a, _BIN)} then {wrap(b, _IMP)}) and (if {wrap(b, _BIN)} then {wrap(a, _IMP)})", _AND
        case A.Next(a):
            return "at the next frame " + wrap(a, _UN), _UN
        case A.WeakNext(a):
            return "not at the next frame " + wrap(A.neg(a), _UN), _UN
        case A.Prev(a):
            return "at the previous frame " + wrap(a, _UN), _UN
        case A.Eventually(a, b):
            return f"eventually{_window(b)} {wrap(a, _UN)}", _UN
        case A.Always(a, b):
            return f"always{_window(b)} {wrap(a, _UN)}", _UN
        case A.Once(a, b) if b.lo == 0 and b.hi is not None:
            return f"{wrap(a, _PRIM)} in the last {_duration(b.hi, b.unit)}", _PRIM
        case A.Historically(a, b) if b.lo == 0 and b.hi is not None:
            return f"{wrap(a, _PRIM)} for the last {_duration(b.hi, b.unit)}", _PRIM
        case A.Once(a, b):
            return f"previously{_window(b)} {wrap(a, _UN)}", _UN
        case A.Historically(a, b):
            return f"historically{_window(b)} {wrap(a, _UN)}", _UN
        case A.Until(l, r, b):
            return f"{wrap(l, _OR)} until{_window(b)} {wrap(r, _OR)}", _BIN
        case A.Since(l, r, b):
            return f"{wrap(l, _OR)} since{_window(b)} {wrap(r, _OR)}", _BIN
        case A.WeakUntil(l, r, b):
            return _cond(A.Or((A.Until(l, r, b), A.Always(l, b))))
        case A.Release(l, r, b):
            return _cond(A.Not(A.Until(A.neg(l), A.neg(r), b)))
        case A.StrongRelease(l, r, b):
            return _cond(A.And((A.Release(l, r, b), A.Eventually(l, b))))
    return repr(f), _PRIM  # not a formula: still a reading, never an error


def _text(f: A.Formula, level: int = _IMP) -> str:
    s, lv = _cond(f)
    return f"({s})" if lv < level else s


def _is_boolean(f: A.Formula) -> bool:
    if isinstance(f, (A.Const, A.Atom)):
        return True
    if isinstance(f, (A.Not, A.And, A.Or, A.Implies, A.Iff)):
        return all(_is_boolean(c) for c in A.children(f))
    return False


def _shall(subject: A.Formula, timing: str) -> str:
    return f"{_text(subject, _OR)} shall {timing}"


def _timed(tau: A.Formula) -> str | None:
    """A requirement at its trigger frame as a shall sentence, or None."""
    match tau:
        case A.Always(A.Not(x), b) if b.is_trivial:
            return _shall(x, "never hold")
        case A.Always(x, b) if b.is_trivial:
            return _shall(x, "always hold")
        case A.Always(x, b) if b.lo == 0 and b.hi is not None:
            return _shall(x, f"hold for {_duration(b.hi, b.unit)}")
        case A.Eventually(x, b) if b.is_trivial:
            return _shall(x, "eventually hold")
        case A.Eventually(x, b):
            return _shall(x, "hold" + _window(b))
        case A.Next(x):
            return _shall(x, "hold at the next frame")
        case A.WeakUntil(x, y, b) if b.is_trivial:
            return _shall(x, f"hold until {_text(y, _OR)}")
    if _is_boolean(tau) and tau not in (A.TRUE, A.FALSE):
        return _shall(tau, "hold immediately")
    return None


def _trigger_text(c: A.Formula) -> str:
    match c:
        case A.And(args) if len(args) >= 2 and args[-1] == A.Not(A.Prev(A.conj(*args[:-1]))):
            return "upon " + _text(A.conj(*args[:-1]), _OR)
        case A.Historically(x, b) if b.lo == 0 and b.hi is not None:
            return f"whenever {_text(x, _OR)} for at least {_duration(b.hi, b.unit)}"
    return "whenever " + _text(c, _OR)


def _requirement(psi: A.Formula) -> str:
    """A requirement sentence (no scope) for ``psi``; always defined."""
    match psi:
        case A.Always(A.Implies(c, tau), b) if b.is_trivial:
            return f"{_trigger_text(c)}, {_timed(tau) or _text(tau)}"
        case A.WeakUntil(A.Not(p), s, b) if b.is_trivial:
            return f"{_text(p, _OR)} only after {_text(s, _OR)}"
    return _timed(psi) if not _is_boolean(psi) and _timed(psi) else _text(psi)


def _cut_text(body: A.Formula, end: A.Formula, strong: bool) -> str | None:
    """The requirement sentence whose cut at ``end`` is ``body`` (inverse of :func:`_cut`)."""
    not_end = A.neg(end)
    weak_or_strong = A.Until if strong else A.WeakUntil
    match body:
        case A.Until(l, A.And(args), b) if l == not_end and not_end in args:
            p = A.conj(*(a for a in args if a != not_end))
            return _shall(p, "eventually hold" if b.is_trivial else "hold" + _window(b))
    if type(body) is not weak_or_strong or not body.bound.is_trivial:
        return None
    a, right = body.left, body.right
    if isinstance(right, A.Or) and end in right.args and isinstance(a, A.Not):
        s = A.disj(*(x for x in right.args if x != end))
        return f"{_text(a.arg, _OR)} only after {_text(s, _OR)}"
    if right != end:
        return None
    match a:
        case A.Implies(c, tau):
            match tau:
                case A.Until(l, A.And(args), b) if l == not_end and not_end in args:
                    s = A.conj(*(x for x in args if x != not_end))
                    timed = _shall(s, "eventually hold" if b.is_trivial else "hold" + _window(b))
                    return f"{_trigger_text(c)}, {timed}"
            if _lift(tau) is not None and _lift(tau)[0] == "eventually":
                return None  # would be cut again when read back
            return f"{_trigger_text(c)}, {_timed(tau) or _text(tau)}"
        case A.Not(x):
            return _shall(x, "never hold")
    return _shall(a, "always hold")


def to_english(f: A.Formula) -> str:
    """Structured English for ``f``: a pattern sentence where ``f`` has a pattern
    shape, else a compositional reading. Never raises for a formula; the text reads
    back (with :func:`parse_english`) to an equivalent formula."""
    if not A.is_formula(f):
        raise InvalidArgument(f"f={f!r} is not a formula")
    match f:
        case A.WeakUntil(A.Not(q), A.And(args), b) if b.is_trivial:
            qs = q.args if isinstance(q, A.And) else (q,)
            if args[: len(qs)] == qs and len(args) > len(qs):
                psi = A.conj(*args[len(qs):])
                return f"after {_text(q, _OR)}, {_requirement(psi)}"
        case A.Implies(A.Eventually(end, b), body) if b.is_trivial:
            text = _cut_text(body, end, True)
            if text is not None:
                return f"before {_text(end, _OR)}, {text}"
        case A.Always(A.Implies(A.And(args), body), b) if b.is_trivial and len(args) >= 2:
            last = args[-1]
            if isinstance(last, A.Eventually) and last.bound.is_trivial and len(args) >= 3 and args[-2] == A.neg(last.arg):
                end = last.arg
                text = _cut_text(body, end, True)
                if text is not None:
                    return f"between {_text(A.conj(*args[:-2]), _UN)} and {_text(end, _OR)}, {text}"
            end = A.neg(last)
            text = _cut_text(body, end, False)
            if text is not None and not isinstance(end, A.Const):
                return f"after {_text(A.conj(*args[:-1]), _OR)} until {_text(end, _OR)}, {text}"
    return _requirement(f)
