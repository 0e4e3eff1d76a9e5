"""Text -> Formula: the lark LALR parser for ``formula.lark``.

``parse(text)`` returns a :class:`Formula`; ``parse_spec(text)`` also returns the
PCTL-style wrapper ``P>=0.8 [ ... ]`` as a :class:`Spec`. Every failure is a
:class:`FormulaSyntaxError` with line, column, a caret and a hint; raw lark
exceptions never escape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from lark import Lark, Token, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError
from lark.visitors import Transformer_NonRecursive

from . import ast as A
from .errors import BoundError, FormulaSyntaxError, FramelogicError, InvalidArgument
from .lexical import KEYWORDS, is_identifier, parse_duration, unquote  # noqa: F401 (re-exported)
from .passes import depth
from .printer import to_text

#: Formulas nesting deeper than this are refused (with a clear error) so that no
#: pass can hit Python's recursion limit; real queries nest a few levels.
MAX_DEPTH = 200


@dataclass(frozen=True, slots=True)
class Spec:
    """A formula with the optional PCTL wrapper: ``P>=0.8 [ φ ]`` or ``P=? [ φ ]``.

    ``comparison`` is one of ``>= > <= <`` or ``None`` (no wrapper, or ``P=?``);
    ``threshold`` is the number after it. ``query`` is True for ``P=?``.
    """

    formula: A.Formula
    comparison: str | None = None
    threshold: float | None = None
    query: bool = False

    def __str__(self) -> str:
        body = to_text(self.formula)
        if self.query:
            return f"P=? [ {body} ]"
        if self.comparison is not None:
            return f"P{self.comparison}{self.threshold:g} [ {body} ]"
        return body


class _SemanticError(FramelogicError):
    """Raised inside callbacks; turned into a FormulaSyntaxError with a position."""

    def __init__(self, message: str, token: Token | None, hint: str | None = None):
        super().__init__(message)
        self.message, self.token, self.hint = message, token, hint


@v_args(inline=True)
class _Build(Transformer_NonRecursive):
    """Builds AST nodes from one parse tree, bottom-up and without recursion.

    One is made for each parse (its depth table is that parse's data; nothing
    per parse lives at module level). Every node it builds goes through
    :meth:`_made`, which refuses a formula as soon as it nests deeper than
    :data:`MAX_DEPTH`, so no later pass (hashing, printing, compiling: all
    recursive) ever sees one that deep.
    """

    def __init__(self) -> None:
        super().__init__()
        self.last_token: Token | None = None
        # id -> (node, depth); the node is kept so that its id cannot be reused
        self._depths: dict[int, tuple[A.Formula, int]] = {}

    def _depth(self, f: A.Formula) -> int:
        known = self._depths
        stack = [f]
        while stack:  # iterative: nodes made inside smart constructors are not known yet
            g = stack[-1]
            hit = known.get(id(g))
            if hit is not None and hit[0] is g:
                stack.pop()
                continue
            kids = A.children(g)
            missing = [c for c in kids if (h := known.get(id(c))) is None or h[0] is not c]
            if missing:
                stack.extend(missing)
                continue
            known[id(g)] = (g, 1 + max((known[id(c)][1] for c in kids), default=0))
            stack.pop()
        return known[id(f)][1]

    def _made(self, f: A.Formula) -> A.Formula:
        levels = self._depth(f)
        if levels > MAX_DEPTH:
            raise _SemanticError(
                f"formula nests {levels} levels deep (the limit is {MAX_DEPTH})", self.last_token,
                "split it into named sub-queries, or flatten repeated operators "
                "(X X X a is F[3,3] a)",
            )
        return f

    # atoms
    def name(self, tok: Token) -> A.Formula:
        self.last_token = tok
        return A.Atom(str(tok), False)

    def prompt(self, tok: Token) -> A.Formula:
        self.last_token = tok
        text = unquote(str(tok))
        if not text.strip():
            raise _SemanticError("empty prompt", tok, 'write what the frame should show, e.g. "a red light"')
        return A.Atom(text, True)

    def true(self) -> A.Formula:
        return A.TRUE

    def false(self) -> A.Formula:
        return A.FALSE

    # boolean
    def not_(self, a: A.Formula) -> A.Formula:
        return self._made(A.neg(a))

    # a whole chain at once: a & b & c ... is one call with every operand
    def and_(self, *args: A.Formula) -> A.Formula:
        return self._made(A.conj(*args))

    def or_(self, *args: A.Formula) -> A.Formula:
        return self._made(A.disj(*args))

    def implies(self, a: A.Formula, b: A.Formula) -> A.Formula:
        return self._made(A.implies(a, b))

    def iff(self, a: A.Formula, b: A.Formula) -> A.Formula:
        return self._made(A.iff(a, b))

    # bounds
    def bound(self, lbrack: Token, lo: Token | None, hi: Token) -> tuple[A.Bound, Token]:
        self.last_token = lbrack
        try:  # Bound decides what is valid; the error names the end at fault
            return A.Bound.of(None if lo is None else str(lo), str(hi)), lbrack
        except BoundError as e:
            where = {"lo": lo, "hi": hi}.get(e.end or "") or lbrack
            raise _SemanticError(str(e), where) from None

    def _b(self, bound: tuple[A.Bound, Token] | None) -> A.Bound:
        return A.UNBOUNDED if bound is None else bound[0]

    # unary temporal
    def _single_step(self, op: str, bound: tuple[A.Bound, Token] | None) -> None:
        if bound is not None and not bound[0].is_trivial:
            raise _SemanticError(
                f"{op} moves exactly one frame and takes no bound", bound[1],
                f"for 'k frames later' write F[k,k] a (or G[k,k] a); for the past O[k,k] a",
            )

    def next_(self, bound, a):  # type: ignore[no-untyped-def]
        self._single_step("X", bound)
        return self._made(A.X(a))

    def weak_next(self, bound, a):  # type: ignore[no-untyped-def]
        self._single_step("N", bound)
        return self._made(A.N(a))

    def prev(self, bound, a):  # type: ignore[no-untyped-def]
        self._single_step("Y", bound)
        return self._made(A.Y(a))

    def eventually(self, bound, a):  # type: ignore[no-untyped-def]
        return self._made(A.temporal(A.Eventually, a, bound=self._b(bound)))

    def always(self, bound, a):  # type: ignore[no-untyped-def]
        return self._made(A.temporal(A.Always, a, bound=self._b(bound)))

    def once(self, bound, a):  # type: ignore[no-untyped-def]
        return self._made(A.temporal(A.Once, a, bound=self._b(bound)))

    def historically(self, bound, a):  # type: ignore[no-untyped-def]
        return self._made(A.temporal(A.Historically, a, bound=self._b(bound)))

    # binary temporal
    def until(self, a, bound, b):  # type: ignore[no-untyped-def]
        return self._made(A.temporal(A.Until, a, b, bound=self._b(bound)))

    def release(self, a, bound, b):  # type: ignore[no-untyped-def]
        return self._made(A.temporal(A.Release, a, b, bound=self._b(bound)))

    def weak_until(self, a, bound, b):  # type: ignore[no-untyped-def]
        return self._made(A.temporal(A.WeakUntil, a, b, bound=self._b(bound)))

    def strong_release(self, a, bound, b):  # type: ignore[no-untyped-def]
        return self._made(A.temporal(A.StrongRelease, a, b, bound=self._b(bound)))

    def since(self, a, bound, b):  # type: ignore[no-untyped-def]
        return self._made(A.temporal(A.Since, a, b, bound=self._b(bound)))

    # top level
    def prob_threshold(self, cmp: Token, num: Token, f: A.Formula) -> Spec:
        text = str(num)
        try:
            value = float(text)
        except ValueError:
            raise _SemanticError(f"threshold {text!r} is not a probability", num) from None
        if not 0.0 <= value <= 1.0:
            raise _SemanticError(f"threshold {text} is not a probability in [0, 1]", num)
        return Spec(f, str(cmp), value)

    def prob_query(self, f: A.Formula) -> Spec:
        return Spec(f, None, None, True)

    def start(self, x):  # type: ignore[no-untyped-def]
        return x if isinstance(x, Spec) else Spec(x)


@cache
def _grammar_text() -> str:
    return resources.files(__package__).joinpath("formula.lark").read_text(encoding="utf-8")


#: The formula callbacks of :class:`_Build` (queries/queryfile.py forwards these).
_CALLBACKS = (
    "name", "prompt", "true", "false", "not_", "and_", "or_", "implies", "iff", "bound",
    "next_", "weak_next", "prev", "eventually", "always", "once", "historically", "until",
    "release", "weak_until", "strong_release", "since", "prob_threshold", "prob_query", "start",
)  # fmt: skip

@cache
def _parser() -> Lark:
    """The LALR parser: immutable configuration, built once (its tables cost tens
    of milliseconds). It builds a plain tree; a fresh :class:`_Build` per parse
    turns that into a formula."""
    # The basic lexer keeps keywords keywords everywhere (the contextual one would
    # read a misplaced "U" as a proposition and hide the real mistake).
    return Lark(_grammar_text(), parser="lalr", lexer="basic", maybe_placeholders=True)


def _parse_tree(text: str) -> Spec:
    tree: Tree = _parser().parse(text)
    try:
        return _Build().transform(tree)
    except VisitError as e:  # lark wraps what a callback raises
        raise e.orig_exc from None


def parse_spec(text: str, *, source: str | None = None) -> Spec:
    """Parse a formula with its optional ``P>=p [ ... ]`` wrapper."""
    if not isinstance(text, str):
        raise InvalidArgument(f"text={text!r} must be a string")
    try:
        spec = _parse_tree(text)
    except RecursionError:
        spec = None
    except _SemanticError as e:
        line, col = _pos(e.token, text)
        raise FormulaSyntaxError(
            e.message, text=text, line=line, column=col, source=source, hint=e.hint
        ) from None
    except UnexpectedInput as e:
        raise _syntax_error(e, text, source) from None
    # Checked after the parse, iteratively: every later pass recurses over the
    # formula, and this limit keeps them all far from Python's recursion limit.
    levels = depth(spec.formula) if spec is not None else None
    if levels is None or levels > MAX_DEPTH:
        raise FormulaSyntaxError(
            f"formula nests {'too' if levels is None else levels} levels deep"
            f" (the limit is {MAX_DEPTH})".replace("too levels deep", "too deeply"),
            text=text, line=1, column=1, source=source,
            hint="split it into named sub-queries, or flatten repeated operators "
            "(X X X a is F[3,3] a)",
        )
    return spec


def parse(text: str, *, source: str | None = None) -> A.Formula:
    """Parse a formula; a PCTL wrapper ``P>=0.8 [ φ ]`` is accepted and dropped
    (use :func:`parse_spec` to keep its threshold).

    >>> print(parse('P>=0.80 [ "car" U "person" ]'))
    "car" U "person"
    """
    return parse_spec(text, source=source).formula


def _pos(token: Token | None, text: str) -> tuple[int, int]:
    if token is not None and getattr(token, "line", None) is not None:
        return int(token.line), int(token.column)
    return 1, 1


_BINARY = {"U", "R", "W", "M", "S", "until", "release", "weak_until", "strong_release", "since"}
_INFIX = {"&", "&&", "and", "|", "||", "or", "->", "implies", "<->", "iff"}


def _syntax_error(e: UnexpectedInput, text: str, source: str | None) -> FormulaSyntaxError:
    line = getattr(e, "line", None) or 1
    col = getattr(e, "column", None) or 1
    opens = _paren_balance(text)
    if isinstance(e, UnexpectedCharacters):
        rest = text[e.pos_in_stream : e.pos_in_stream + 3]
        if rest.startswith("=>"):
            msg, hint = "unknown operator '=>'", "write '->' (or 'implies') for implication"
        elif rest.startswith("<=>"):
            msg, hint = "unknown operator '<=>'", "write '<->' (or 'iff') for equivalence"
        elif rest[:1] == "~":
            msg, hint = "unknown operator '~'", "write '!' (or 'not') for negation"
        elif rest[:1] in "\"'":
            msg, hint = "unterminated quoted prompt", f"close the prompt with {rest[0]}"
        else:
            ch = text[e.pos_in_stream] if e.pos_in_stream < len(text) else ""
            msg, hint = f"unexpected character {ch!r}", "see the grammar table in the README"
        return FormulaSyntaxError(msg, text=text, line=line, column=col, source=source, hint=hint)
    if isinstance(e, UnexpectedEOF) or (isinstance(e, UnexpectedToken) and e.token.type == "$END"):
        if isinstance(e, UnexpectedToken):
            line, col = _end_pos(text)
        else:
            line, col = _end_pos(text)
        if not text.strip() or not _strip_comments(text).strip():
            return FormulaSyntaxError(
                "empty formula", text=text, line=line, column=col, source=source,
                hint='write a formula such as: F "a red light"',
            )
        if opens > 0:
            return FormulaSyntaxError(
                f"unbalanced parenthesis: {opens} '(' not closed", text=text, line=line, column=col,
                source=source, hint="add the missing ')'",
            )
        if _strip_comments(text).rstrip().endswith("]") and text.lstrip().startswith("P"):
            hint = "put the formula inside the brackets: P>=0.8 [ a U b ]"
        else:
            hint = "an operator at the end is missing its operand, e.g. 'a U b' not 'a U'"
        return FormulaSyntaxError(
            "unexpected end of formula", text=text, line=line, column=col, source=source, hint=hint
        )
    assert isinstance(e, UnexpectedToken)
    tok = e.token
    value = str(tok)
    if value == ")" and opens < 0:
        msg, hint = "unbalanced parenthesis: this ')' has no matching '('", "remove it or add a '('"
    elif value in _BINARY and _is_operand_missing_before(e):
        msg = f"'{value}' needs a left operand"
        hint = f"'{value}' is binary: write 'a {value} b'"
    elif value in _INFIX and _is_operand_missing_before(e):
        msg = f"'{value}' needs a left operand"
        hint = f"write 'a {value} b'"
    elif value == "]":
        msg = "a bound needs both ends, [lo,hi]"
        hint = "write e.g. F[0,30] a, U[,20] (open lower end) or F[10,inf] a; X, N and Y take no bound"
    elif value == "[":
        msg = "a bound '[' must follow a temporal operator"
        hint = "write e.g. F[0,30] a or a U[0,2s] b"
    elif text.lstrip().startswith("P") and "LBRACK" in (e.expected or set()) and "NAME" not in (e.expected or set()):
        msg = f"unexpected {value!r} after the probability threshold"
        hint = "put the formula in brackets: P>=0.8 [ a U b ]"
    elif tok.type == "NAME" or tok.type in ("DQSTRING", "SQSTRING"):
        msg = f"unexpected proposition {value}: two operands with no operator between them"
        hint = "join them with an operator: & | -> U ..."
    else:
        msg = f"unexpected {value!r}"
        hint = "a proposition, '(' or a unary operator was expected here" if _is_operand_missing_before(e) else "an operator or ')' was expected here"
    return FormulaSyntaxError(msg, text=text, line=line, column=col, source=source, hint=hint)


def _is_operand_missing_before(e: UnexpectedToken) -> bool:
    expected = e.expected or set()
    return "NAME" in expected or "DQSTRING" in expected


def _strip_comments(text: str) -> str:
    return re.sub(r"#[^\n]*", "", text)


def _paren_balance(text: str) -> int:
    """Open minus close parentheses outside quotes and comments (negative: extra ')')."""
    depth = 0
    in_q: str | None = None
    esc = False
    comment = False
    for ch in text:
        if comment:
            comment = ch != "\n"
            continue
        if in_q:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == in_q:
                in_q = None
            continue
        if ch in "\"'":
            in_q = ch
        elif ch == "#":
            comment = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return depth
    return depth


def _end_pos(text: str) -> tuple[int, int]:
    """Just after the last non-blank character: where the missing piece belongs."""
    body = text.rstrip()
    if not body:
        return 1, 1
    lines = body.split("\n")
    return len(lines), len(lines[-1]) + 1
