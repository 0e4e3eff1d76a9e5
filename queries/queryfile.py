"""``.tl`` query files: propositions, assumptions, settings and named queries.

A query file is a sequence of statements, each starting with a keyword, so a
formula may span several lines::

    import "common.tl"                       # shared propositions (cycles are errors)
    set fps = 5                              # sampling rate for the video
    set model = "framelogic-tiny"            # open_clip model spec
    prop ped = "a pedestrian crossing the street" vs "an empty crosswalk"
    prop red = "a red traffic light", "a traffic light showing red" threshold 0.6
    prop stopped = column "ego_stopped"     # a column of an external probability table
    prop green = "a green traffic light" persist 2s   # a light stays green ~2 s (Markov world)
    mutex(red, yellow, green)                # at most one of them per frame
    set world = markov                       # or independent, or "fitted.json" (fit_world)
    set persist = 1s                         # persistence of propositions without their own
    assume G !(ped & stopped & red)
    query yields: G (ped -> F[0,3s] stopped)
    query nsvs: P>=0.7 [ "a car" U "a person" ] mode shortest
    query stop_on_red: "whenever the light is red, the car shall stop within 3 seconds"

A query whose whole body is one quoted string is stated in words: the string
is structured English (:func:`framelogic.queries.translate.translate`),
translated at load time against the file's propositions; ``check`` shows the
words, the formula and the back-translation. A string that is a lone phrase
(``query car: "a car"``) stays the inline prompt it always was; to keep a
sentence as one prompt, write it in parentheses: ``query q: ("a car is never
parked")``.

Identifiers in formulas must be declared with ``prop`` (here or in an import);
quoted prompts (``"a car"``) need no declaration. Errors name the file, line
and column, show the line with a caret, and suggest close names.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Transformer_NonRecursive, v_args
from lark.exceptions import UnexpectedInput, UnexpectedToken, VisitError

from framelogic.logic import ast as A
from framelogic.logic.errors import FormulaSyntaxError, FramelogicError, InputError, check_fps
from framelogic.logic.grammar import _CALLBACKS, Spec, _Build, _SemanticError, _syntax_error, unquote
from framelogic.logic.passes import atoms

#: Settings a query file may give with ``set KEY = VALUE``, and their types.
SETTINGS: Mapping[str, type] = {
    "fps": float,  # sampling rate in frames per second
    "stride": int,  # take every n-th frame instead of a rate
    "model": str,  # open_clip model spec, e.g. "framelogic-tiny" or "ViT-B-32:laion2b_s34b_b79k"
    "scorer": str,  # "clip" (default: prompts scored on the frames) or "table" (every proposition is a table column)
    "table": str,  # external probability table (CSV) for column propositions
    "threshold": float,  # default probability threshold of every query
    "mode": str,  # default match mode of every query
    "contrast": str,  # default contrast prompt of every proposition
    "world": str,  # "independent", "markov", or a .json path of a fitted world (fit_world(...).to_dict())
    "persist": float,  # seconds: mean run length of propositions without their own ``persist`` (Markov world)
    "decide": str,  # decision rule: "threshold" (P(φ) >= threshold) or "viterbi" (φ on the most probable world)
}

#: Values of ``set world`` besides the path of a fitted world's JSON.
WORLDS = ("independent", "markov")

#: Values of ``set scorer``.
SCORERS = ("clip", "table")


#: Query files (and their imports) larger than this are refused before reading:
#: real ones are a few kilobytes, and the limit keeps ``import "/dev/zero"``-like
#: mistakes from exhausting memory.
MAX_QUERY_FILE_BYTES = 1 << 20

#: The suffixes an imported file must have (the file itself and, for a symlink,
#: its target), so an import can never show the content of an unrelated file.
QUERY_SUFFIXES = (".tl", ".ltl")

#: The largest ``set stride``.
MAX_STRIDE = 10**9


@dataclass(frozen=True, slots=True)
class Location:
    source: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class PropDecl:
    """A proposition: prompts scored by a model, or a column of a probability table."""

    name: str
    prompts: tuple[str, ...] = ()  # positive prompts; several form an ensemble
    contrast: tuple[str, ...] = ()  # contrast prompts; empty = the default contrast
    templates: tuple[str, ...] = ()  # templates with {} for the prompt, e.g. "a photo of {}"
    column: str | None = None  # column of the external table instead of prompts
    threshold: float | None = None  # per-proposition decision threshold (for reports)
    calibration: str | None = None  # path of a calibration JSON, resolved against the file
    persist: float | None = None  # seconds the proposition typically stays true or false (Markov world)
    inline: bool = False  # declared by a quoted prompt inside a formula
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class QueryDecl:
    """A named query: a formula, its probability threshold and match mode."""

    name: str
    spec: Spec
    mode: str | None = None
    threshold: float | None = None
    location: Location | None = None
    words: str | None = None  # the structured-English sentence the query was stated in, if any
    english: str | None = None  # the formula's back-translation (for queries stated in words)
    notes: tuple[str, ...] = ()  # what the translation resolved (prompts matched, inline prompts)

    @property
    def formula(self) -> A.Formula:
        return self.spec.formula


@dataclass(frozen=True)
class QueryFile:
    """Everything a ``.tl`` file (with its imports) declares."""

    path: str | None
    props: Mapping[str, PropDecl]
    assumptions: tuple[A.Formula, ...]
    queries: tuple[QueryDecl, ...]
    settings: Mapping[str, object] = field(default_factory=dict)
    files: tuple[str, ...] = ()  # the files read: this one, then its imports
    mutexes: tuple[tuple[str, ...], ...] = ()  # mutex(...) groups (also in assumptions, as G !(a & b) ...)

    def query(self, name: str) -> QueryDecl:
        for q in self.queries:
            if q.name == name:
                return q
        names = [q.name for q in self.queries]
        raise InputError(f"{self.path or '<query>'}: no query named {name!r}{_did_you_mean(name, names)}; it has {names}")

    def props_of(self, q: QueryDecl) -> tuple[PropDecl, ...]:
        """The propositions query ``q`` (and the assumptions) mention, in order."""
        names = dict.fromkeys(a.name for f in (q.formula, *self.assumptions) for a in atoms(f))
        return tuple(self.props[n] for n in names)


def _did_you_mean(name: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


@cache
def _grammar() -> str:
    return resources.files(__package__).joinpath("query.lark").read_text(encoding="utf-8")


_STATEMENTS = (
    "start", "import_stmt", "set_stmt", "str_value", "num_value", "name_value", "prop_stmt",
    "prompt_source", "column_source", "prompts", "opt_threshold", "opt_calibration",
    "opt_templates", "opt_persist", "assume_stmt", "mutex_stmt", "query_stmt", "opt_mode", "string",
)  # fmt: skip


class _Dispatch(Transformer_NonRecursive):
    """Routes one parse tree's rules to one parse's :class:`_FileBuild` (made per parse)."""

    def __init__(self, builder: _FileBuild) -> None:
        super().__init__()
        self.current = builder


def _forwarder(target: str):  # type: ignore[no-untyped-def]
    def forward(self, *children):  # type: ignore[no-untyped-def]
        return getattr(self.current, target)(*children)

    return v_args(inline=True)(forward)


for _n in _CALLBACKS:
    if _n != "start":
        setattr(_Dispatch, _n, _forwarder(_n))
        setattr(_Dispatch, f"formula__{_n}", _forwarder(_n))
for _n in _STATEMENTS:
    setattr(_Dispatch, _n, _forwarder("file_" + _n))
del _n


@cache
def _parser() -> Lark:
    """The LALR parser of query files: immutable configuration, built once. It
    builds a plain tree; a fresh builder per parse turns it into statements."""
    from framelogic.logic import grammar

    return Lark(
        _grammar(),
        parser="lalr",
        lexer="basic",
        maybe_placeholders=True,
        import_paths=[str(resources.files(grammar.__package__))],
    )


class _FileBuild(_Build):
    """Statement callbacks; formula callbacks come from the formula builder."""

    def __init__(self, source: str, text: str = "") -> None:
        super().__init__()
        self.source = source
        self.text = text
        self.name_tokens: dict[str, Token] = {}
        self.statements: list[tuple[str, object, Token | None]] = []
        self.prompt_token: Token | None = None  # the last quoted prompt read

    def name(self, tok: Token) -> A.Formula:
        self.name_tokens.setdefault(str(tok), tok)
        return super().name(tok)

    def prompt(self, tok: Token) -> A.Formula:
        self.prompt_token = tok
        return super().prompt(tok)

    def _words(self, spec: object) -> Token | None:
        """The string token when a query's whole body is one quoted string right after
        the colon (not in parentheses, not in a ``P`` wrapper): a query in words."""
        tok = self.prompt_token
        if not isinstance(spec, A.Atom) or not spec.quoted or tok is None or tok.start_pos is None:
            return None
        before = self.text[: tok.start_pos].rstrip()
        return tok if before.endswith(":") else None

    def loc(self, tok: Token | None) -> Location:
        if tok is None:
            return Location(self.source, 1, 1)
        return Location(self.source, tok.line, tok.column)

    # values
    def file_string(self, tok: Token) -> tuple[str, Token]:
        return unquote(str(tok)), tok

    def file_str_value(self, s):  # type: ignore[no-untyped-def]
        return s

    def file_num_value(self, tok: Token):  # type: ignore[no-untyped-def]
        return float(str(tok)) if _plain_number(str(tok)) else str(tok), tok

    def file_name_value(self, tok: Token):  # type: ignore[no-untyped-def]
        return str(tok), tok

    def file_prompts(self, *strings):  # type: ignore[no-untyped-def]
        for text, tok in strings:
            _non_blank(text, tok, "prompt")
        return tuple(s for s, _ in strings)

    # statements
    def file_import_stmt(self, s):  # type: ignore[no-untyped-def]
        if "\0" in s[0]:
            raise _SemanticError("the import path contains a NUL character", s[1], "remove the \\0 from the path")
        _non_blank(s[0], s[1], "import path")
        self.statements.append(("import", s[0], s[1]))

    def file_set_stmt(self, key: Token, value):  # type: ignore[no-untyped-def]
        self.statements.append(("set", (str(key), value[0]), key))

    def file_prompt_source(self, prompts, contrast):  # type: ignore[no-untyped-def]
        return {"prompts": prompts, "contrast": contrast or ()}

    def file_column_source(self, s):  # type: ignore[no-untyped-def]
        _non_blank(s[0], s[1], "column name")
        return {"column": s[0]}

    def file_opt_threshold(self, tok: Token):  # type: ignore[no-untyped-def]
        value = float(str(tok)) if _plain_number(str(tok)) else math.nan
        if not 0.0 <= value <= 1.0:
            raise _SemanticError(f"threshold {tok} is not a probability in [0, 1]", tok)
        return {"threshold": value}

    def file_opt_calibration(self, s):  # type: ignore[no-untyped-def]
        return {"calibration": s[0]}

    def file_opt_templates(self, prompts):  # type: ignore[no-untyped-def]
        for t in prompts:
            if "{}" not in t:
                raise _SemanticError(f"template {t!r} has no '{{}}' for the prompt", None, 'write e.g. "a photo of {}"')
        return {"templates": prompts}

    def file_opt_persist(self, tok: Token):  # type: ignore[no-untyped-def]
        return {"persist": _duration(str(tok), tok, "persist")}

    def file_opt_mode(self, tok: Token):  # type: ignore[no-untyped-def]
        return {"mode": _mode(str(tok), tok)}

    def file_prop_stmt(self, name: Token, source, *options):  # type: ignore[no-untyped-def]
        fields = dict(source)
        for o in options:
            fields.update(o)
        decl = PropDecl(str(name), location=self.loc(name), **fields)
        self.statements.append(("prop", decl, name))

    def file_assume_stmt(self, spec):  # type: ignore[no-untyped-def]
        f = spec.formula if isinstance(spec, Spec) else spec
        self.statements.append(("assume", f, None))

    def file_mutex_stmt(self, *names: Token):  # type: ignore[no-untyped-def]
        for n in names:
            self.name_tokens.setdefault(str(n), n)
        props = [A.Atom(str(n), False) for n in names]
        pairs = [A.neg(A.conj(p, q)) for i, p in enumerate(props) for q in props[i + 1 :]]
        self.statements.append(("assume", A.G(A.conj(*pairs)), names[0]))
        self.statements.append(("mutex", tuple(str(n) for n in names), names[0]))

    def file_query_stmt(self, name: Token, spec, *options):  # type: ignore[no-untyped-def]
        words = self._words(spec)
        spec = spec if isinstance(spec, Spec) else Spec(spec)
        fields: dict[str, object] = {}
        for o in options:
            fields.update(o)
        if spec.comparison is not None and "threshold" in fields:
            raise _SemanticError(
                f"query {name} has both P{spec.comparison}{spec.threshold:g} and a threshold option",
                name, "keep one of them",
            )
        decl = QueryDecl(str(name), spec, location=self.loc(name), **fields)  # type: ignore[arg-type]
        self.statements.append(("query", (decl, words), name))

    def file_start(self, *stmts):  # type: ignore[no-untyped-def]
        return self.statements


def _non_blank(text: str, tok: Token, what: str) -> None:
    if not text.strip():
        raise _SemanticError(f"empty {what}", tok, 'write what it should say, e.g. "a red light"' if what == "prompt" else None)


def _mode(name: str, tok: Token) -> str:
    """``name`` if it is a match mode of :func:`framelogic.automata.localize`."""
    from framelogic.automata.localize import MODES  # the one list of modes; no heavy imports

    if name not in MODES:
        raise _SemanticError(
            f"unknown match mode {name!r}{_did_you_mean(name, MODES)}", tok, f"modes are {', '.join(MODES)}"
        )
    return name


def _duration(text: str, tok: Token, what: str) -> float:
    """Seconds of a duration written with its unit (``2s``, ``500ms``, ``1min``)."""
    from framelogic.logic.lexical import parse_duration

    try:
        value, unit = parse_duration(text)
    except FramelogicError:
        value, unit = math.nan, "s"
    if unit is None:
        raise _SemanticError(f"{what} {text} has no unit", tok, f"write the unit: {text}s, {text}ms or {text}min")
    if value is None or not 0.0 < value < math.inf:
        raise _SemanticError(f"{what} {text} is not a duration > 0", tok, "write e.g. 2s or 500ms")
    return float(value)


def _plain_number(text: str) -> bool:
    return text.replace(".", "", 1).replace("e", "", 1).replace("E", "", 1).replace("-", "", 1).replace("+", "", 1).isdigit()


def parse_query_text(text: str, *, source: str = "<query>", base_dir: str | Path | None = None) -> QueryFile:
    """Parse the text of a query file (imports resolve against ``base_dir``)."""
    return _load_text(text, source, Path(base_dir) if base_dir else Path.cwd(), stack=())


def load_query_file(path: str | Path) -> QueryFile:
    """Read and check a ``.tl`` query file and everything it imports."""
    p = Path(path)
    return _load_path(p, stack=(), importer=None)


def _read(p: Path, importer: Location | None, target: Path) -> str:
    """The text of a query file: a regular UTF-8 file of at most
    :data:`MAX_QUERY_FILE_BYTES`; an import must also end in ``.tl`` or ``.ltl``
    (its symlink target too). Errors never quote the file's content."""
    where = f"{importer}: " if importer else ""
    name = repr(str(p))
    if importer is not None:
        if p.suffix.lower() not in QUERY_SUFFIXES or target.suffix.lower() not in QUERY_SUFFIXES:
            shown = name if target == p.absolute() else f"{name} (-> {str(target)!r})"
            raise InputError(
                f"{where}import {shown}: only query files can be imported; "
                f"give the path of a {' or '.join(QUERY_SUFFIXES)} file"
            )
    not_regular = InputError(f"{where}{name} is not a regular file; give the path of a .tl query file")
    too_large = InputError(f"{where}{name} is larger than {MAX_QUERY_FILE_BYTES} bytes; a query file is a few kilobytes")
    try:
        st = os.stat(p)  # stat, not open: opening a FIFO would block
        if not stat.S_ISREG(st.st_mode):
            raise not_regular
        if st.st_size > MAX_QUERY_FILE_BYTES:
            raise too_large
        # non-blocking, in case it was swapped for a FIFO since the stat
        with os.fdopen(os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # the file actually opened
                raise not_regular
            data = f.read(MAX_QUERY_FILE_BYTES + 1)
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(f"{where}{name}: no such query file") from None
    except (OSError, ValueError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise InputError(f"{where}{name}: cannot read: {reason}") from None
    if len(data) > MAX_QUERY_FILE_BYTES:  # it grew since the stat
        raise too_large
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{where}{name} is not UTF-8 text (byte {e.start}); save it as UTF-8") from None


def _load_path(p: Path, stack: tuple[Path, ...], importer: Location | None) -> QueryFile:
    try:
        resolved = p.resolve()
    except (OSError, RuntimeError, ValueError) as e:  # RuntimeError: a symlink loop
        where = f"{importer}: " if importer else ""
        raise InputError(f"{where}{str(p)!r}: cannot resolve the path: {e}") from None
    if resolved in stack:
        cycle = " -> ".join(str(s.name) for s in (*stack, resolved))
        raise InputError(f"{importer}: import cycle {cycle}; remove one of these imports")
    text = _read(p, importer, resolved)
    qf = _load_text(text, str(p), p.parent, stack=(*stack, resolved))
    return dataclasses.replace(qf, files=(str(p), *qf.files))


def _parse_statements(text: str, source: str) -> tuple[list, dict[str, Token]]:
    builder = _FileBuild(source, text)
    try:
        tree = _parser().parse(text)
        try:
            statements = _Dispatch(builder).transform(tree)
        except VisitError as e:  # lark wraps what a callback raises
            raise e.orig_exc from None
    except _SemanticError as e:
        line, col = (e.token.line, e.token.column) if e.token is not None else (1, 1)
        raise FormulaSyntaxError(e.message, text=text, line=line, column=col, source=source, hint=e.hint) from None
    except UnexpectedToken as e:
        if e.token.type != "$END" and str(e.token) in ("prop", "query", "assume", "set", "import", "mutex") or (
            "QUERY" in (e.expected or ()) and e.token.type == "NAME"
        ):
            raise FormulaSyntaxError(
                f"unexpected {str(e.token)!r}", text=text, line=e.line, column=e.column, source=source,
                hint="a statement starts with prop, query, assume, mutex, set or import; "
                "check the statement before this one",
            ) from None
        raise _syntax_error(e, text, source) from None
    except UnexpectedInput as e:
        raise _syntax_error(e, text, source) from None
    except RecursionError:  # pragma: no cover - the builder's depth limit comes first
        raise FormulaSyntaxError(
            "a formula nests too deeply", text=text, line=1, column=1, source=source,
            hint="split it into named sub-queries",
        ) from None
    return statements, builder.name_tokens


def _load_text(text: str, source: str, base: Path, stack: tuple[Path, ...]) -> QueryFile:
    statements, name_tokens = _parse_statements(text, source)

    def err(message: str, tok: Token | None, hint: str | None = None) -> FormulaSyntaxError:
        line, col = (tok.line, tok.column) if tok is not None else (1, 1)
        return FormulaSyntaxError(message, text=text, line=line, column=col, source=source, hint=hint)

    props: dict[str, PropDecl] = {}
    assumptions: list[A.Formula] = []
    queries: dict[str, QueryDecl] = {}
    settings: dict[str, object] = {}
    files: list[str] = []
    in_words: list[tuple[str, Token]] = []
    mutexes: list[tuple[str, ...]] = []
    for kind, value, tok in statements:
        if kind == "import":
            target = base / str(value)
            imported = _load_path(target, stack, Location(source, tok.line, tok.column))
            files.extend(imported.files)
            for name, decl in imported.props.items():
                props.setdefault(name, decl)
            assumptions.extend(imported.assumptions)
            for q in imported.queries:
                queries.setdefault(q.name, q)
            for k, v in imported.settings.items():
                settings.setdefault(k, v)
            mutexes.extend(g for g in imported.mutexes if g not in mutexes)
    own_props: set[str] = set()
    for kind, value, tok in statements:
        if kind == "prop":
            decl: PropDecl = value  # type: ignore[assignment]
            if decl.name in own_props:
                raise err(f"proposition {decl.name!r} is declared twice", tok, f"first at {props[decl.name].location}")
            if decl.calibration:
                decl = _replace(decl, calibration=str((base / decl.calibration)))
            props[decl.name] = decl
            own_props.add(decl.name)
        elif kind == "set":
            key, raw = value  # type: ignore[misc]
            settings[key] = _setting(key, raw, tok, err, base)
        elif kind == "assume":
            assumptions.append(value)  # type: ignore[arg-type]
        elif kind == "mutex" and value not in mutexes:
            mutexes.append(value)  # type: ignore[arg-type]
        elif kind == "query":
            q, words = value  # type: ignore[misc]
            if q.name in queries and queries[q.name].location and queries[q.name].location.source == source:
                raise err(f"query {q.name!r} is defined twice", tok, f"first at {queries[q.name].location}")
            if words is not None:
                in_words.append((q.name, words))
            queries[q.name] = q
    # Queries in words translate against every proposition, declared before or after them.
    for qname, tok in in_words:
        queries[qname] = _translated(queries[qname], tok, props, text, source)
    # Inline prompts declare themselves; identifiers must be declared.
    for f in [*assumptions, *(q.formula for q in queries.values())]:
        for a in atoms(f):
            if a.quoted:
                props.setdefault(a.name, PropDecl(a.name, prompts=(a.name,), inline=True))
            elif a.name not in props:
                tok = name_tokens.get(a.name)
                raise err(
                    f"undefined proposition {a.name!r}{_did_you_mean(a.name, list(props))}",
                    tok,
                    f'declare it: prop {a.name} = "what the frame shows", or quote it as an inline prompt',
                )
    return QueryFile(source, props, tuple(assumptions), tuple(queries.values()), settings, tuple(files), tuple(mutexes))


def _translated(q: QueryDecl, tok: Token, props: Mapping[str, PropDecl], text: str, source: str) -> QueryDecl:
    """``q`` with its sentence translated to a formula; a translation error points
    into the string, at the file's line and column."""
    from .translate import translate  # translate reads query files: imported late

    words = unquote(str(tok))
    try:
        t = translate(words, props={n: p for n, p in props.items() if not p.inline}, source=source)
    except FormulaSyntaxError as e:
        offset = _raw_offset(str(tok), _char_offset(words, e.line, e.column))
        raise FormulaSyntaxError(
            f"query {q.name}: {e.message}", text=text, line=tok.line, column=tok.column + offset,
            source=source, hint=e.hint,
        ) from None
    if isinstance(t.formula, A.Atom):  # a lone phrase: the prompt it always was, whatever it names
        return q
    notes = tuple(n.message for n in t.notes if n.how != "name")
    return dataclasses.replace(q, spec=Spec(t.formula), words=words, english=t.english, notes=notes)


def _char_offset(text: str, line: int, column: int) -> int:
    """The 0-based offset in ``text`` of 1-based ``line``:``column``."""
    lines = text.split("\n")
    line = min(max(line, 1), len(lines))
    return sum(len(x) + 1 for x in lines[: line - 1]) + max(column - 1, 0)


def _raw_offset(token: str, index: int) -> int:
    """Where character ``index`` of the unquoted string lies in its quoted ``token``
    (0 = the opening quote), counting each escape as the characters it takes."""
    i, k = 1, 0
    while k < index and i < len(token) - 1:
        i += 2 if token[i] == "\\" else 1
        k += 1
    return i


def _replace(decl: PropDecl, **changes: object) -> PropDecl:
    return dataclasses.replace(decl, **changes)  # type: ignore[arg-type]


def _setting(key: str, raw: object, tok: Token, err, base: Path) -> object:  # type: ignore[no-untyped-def]
    if key not in SETTINGS:
        raise err(f"unknown setting {key!r}{_did_you_mean(key, list(SETTINGS))}", tok, f"settings are {', '.join(SETTINGS)}")
    kind = SETTINGS[key]
    if key == "persist":
        try:
            return _duration(str(raw) if isinstance(raw, str) else f"{raw:g}", tok, "set persist =")
        except _SemanticError as e:
            raise err(e.message, tok, e.hint) from None
    if kind is float:
        if not isinstance(raw, float):
            raise err(f"set {key} needs a number, not {raw!r}", tok)
        if key == "threshold" and not 0.0 <= raw <= 1.0:
            raise err(f"set threshold = {raw:g} is not a probability in [0, 1]", tok)
        if key == "fps":
            try:
                check_fps("fps", raw)
            except FramelogicError as e:
                raise err(f"set {e}", tok) from None
        return raw
    if kind is int:
        if not isinstance(raw, float) or not 1 <= raw <= MAX_STRIDE or raw != int(raw):
            raise err(f"set {key} needs a whole number from 1 to {MAX_STRIDE}, not {raw!r}", tok)
        return int(raw)
    if not isinstance(raw, str):
        raise err(f"set {key} needs a string, not {raw!r}", tok, f'write: set {key} = "..."')
    if key == "mode":
        try:
            return _mode(raw, tok)
        except _SemanticError as e:
            raise err(e.message, tok, e.hint) from None
    if key == "table":
        return str(base / raw)
    if key == "world":
        if raw in WORLDS:
            return raw
        if raw.lower().endswith(".json"):  # a fitted world, read when the options are resolved
            return str(base / raw)
        raise err(
            f"set world = {raw!r}: unknown world{_did_you_mean(raw, WORLDS)}", tok,
            f"worlds are {', '.join(WORLDS)}, or the path of a fitted world's .json",
        )
    if key == "decide":
        from framelogic.automata.localize import DECISIONS  # the one list of decision rules

        if raw not in DECISIONS:
            raise err(f"set decide = {raw!r}: unknown decision rule{_did_you_mean(raw, DECISIONS)}", tok,
                      f"rules are {', '.join(DECISIONS)}")  # fmt: skip
    if key == "scorer" and raw not in SCORERS:
        raise err(f"set scorer = {raw!r}: unknown scorer{_did_you_mean(raw, SCORERS)}", tok, f"scorers are {', '.join(SCORERS)}")
    return raw
