"""The search runner: query files x videos (or probability tables) -> matches.

``Query.from_file("stop.tl").search("drive.mp4")`` scores the frames of the
video for every proposition the queries use (with the embedding cache, so a new
query over an indexed video costs a text encoding and a matrix product), runs
each query's automaton over the probabilities and returns typed matches.

A source is a video file, a folder of videos, a list of such paths, an array
of frames (scored by the perception layer), or a probability table (a CSV /
Parquet / Feather / NumPy path, a mapping, a DataFrame, a :class:`TraceTable`)
from any detector, used as it is.

Options are resolved once into a frozen :class:`SearchOptions` (defaults <
the query file's ``set`` < arguments) and passed down as that object. The
sampling rate is decided by perception (or a table's time column) and carried
by the :class:`TraceTable`; the threshold rule is
:func:`framelogic.automata.localize.threshold_rule`; the world model is built
by :func:`resolve_world_option` (called by :func:`resolve_options` only).
"""

from __future__ import annotations

import contextlib
import logging
import math
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from framelogic.logic import ast as A
from framelogic.logic.errors import FramelogicError, InputError, InvalidArgument, InvalidValue, check_probability
from framelogic.logic.grammar import Spec, parse_spec
from framelogic.logic.passes import atom_names
from framelogic.logic.tables import FORMATS as TABLE_FORMATS
from framelogic.logic.tables import NAN_POLICIES, parse_columns
from framelogic.logic.trace import TraceTable, as_trace
from framelogic.automata.localize import DECISIONS, DEFAULT_MAX_LENGTH, DEFAULT_MODE, DEFAULT_THRESHOLD, MODES
from framelogic.automata.world import DEFAULT_PRIOR, DEFAULT_STAY, Independent, Markov, World, resolve_world

from .queryfile import SCORERS, PropDecl, QueryDecl, QueryFile, load_query_file, parse_query_text
from .results import Failure, Match, Results

log = logging.getLogger("framelogic")

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})
TABLE_SUFFIXES = frozenset(TABLE_FORMATS)
DEFAULT_MODEL = "framelogic-tiny"
#: The world of a search that neither names one nor declares any persistence.
DEFAULT_WORLD = "independent"


@dataclass(frozen=True)
class SearchOptions:
    """Every option of a search, resolved once (:func:`resolve_options`).

    ``threshold`` / ``mode`` given as arguments override every query;
    ``default_threshold`` / ``default_mode`` (the file's ``set threshold`` /
    ``set mode``) apply to queries that do not give their own.
    """

    fps: float | None = None  # sampling rate asked of the video (perception decides the effective one)
    stride: int | None = None  # or every n-th frame
    model: str = DEFAULT_MODEL  # open_clip model spec
    scorer: str = "clip"  # "clip": prompts on frames; "table": every proposition is a table column
    table: str | None = None  # probability / telemetry table for column propositions
    columns: tuple[tuple[str, str], ...] = ()  # proposition -> table column (renames)
    nan: str = "error"  # missing values in a table: error | zero | drop
    tolerance: float | None = None  # seconds between a frame and its table row (None: half a table period)
    fill: float | None = None  # probability of frames a table does not cover (None: an error)
    threshold: float | None = None  # overrides every query's threshold
    mode: str | None = None  # overrides every query's match mode
    default_threshold: float = DEFAULT_THRESHOLD  # for queries without their own
    default_mode: str = DEFAULT_MODE  # for queries without their own
    max_length: int = DEFAULT_MAX_LENGTH  # longest event of the segment modes, in frames (0: no limit)
    contrast: str | None = None  # default contrast prompt
    cache_dir: str | None = None  # embedding cache directory
    use_cache: bool = True
    device: str | None = None  # "cuda", "cpu", ... (auto when None)
    allow_random_weights: bool = False  # accept an architecture without pretrained weights
    progress: bool = False  # progress bars on stderr
    keep_going: bool = True  # with several sources: report a bad file and go on
    # how probabilities are read: Independent() or Markov(...), built by resolve_world_option
    # from world= ("independent", "markov", a fitted world's .json, or a world), persist=,
    # the file's set world / set persist / prop ... persist / mutex, and calibration JSONs
    world: World = Independent()
    persist: float | None = None  # seconds: every proposition's persistence (the argument; overrides the file)
    # "threshold": P(φ) against the threshold; "viterbi": φ on the most probable world; None: the
    # world's fitted rule (automata/observe.py resolve_decision), else "threshold"
    decide: str | None = None

    @property
    def column_map(self) -> dict[str, str]:
        return dict(self.columns)


#: ``set KEY`` in a query file -> the option it sets.
_FROM_SETTINGS = {
    "fps": "fps", "stride": "stride", "model": "model", "scorer": "scorer", "table": "table",
    "threshold": "default_threshold", "mode": "default_mode", "contrast": "contrast", "decide": "decide",
}  # fmt: skip
_FIELDS = frozenset(f.name for f in fields(SearchOptions))


def resolve_options(
    settings: Mapping[str, object] | None = None, /, file: QueryFile | None = None, **given: Any
) -> SearchOptions:
    """Defaults < the query file's ``settings`` < ``given`` (``None`` = not given), validated once.

    ``file`` (its settings when ``settings`` is None) gives the propositions, mutex
    groups and calibration files the world model is built from."""
    unknown = set(given) - _FIELDS
    if unknown:
        raise InvalidArgument(f"unknown options {sorted(unknown)}; known: {sorted(_FIELDS)}")
    if settings is None and file is not None:
        settings = file.settings
    values: dict[str, Any] = {}
    for key, value in (settings or {}).items():
        if key in _FROM_SETTINGS:
            values[_FROM_SETTINGS[key]] = value
    values.update({k: v for k, v in given.items() if v is not None})
    values["world"] = resolve_world_option(given.get("world"), given.get("persist"), settings or {}, file)
    if "columns" in values:
        values["columns"] = tuple(parse_columns(values["columns"]).items())
    if values.get("fps") is not None and values.get("stride") is not None and "fps" in given and "stride" not in given:
        del values["stride"]  # an argument's fps replaces the file's stride
    if values.get("stride") is not None and values.get("fps") is not None and "stride" in given and "fps" not in given:
        del values["fps"]
    opts = SearchOptions(**values)
    _validate(opts)
    return opts


def _validate(o: SearchOptions) -> None:
    if o.fps is not None and (isinstance(o.fps, bool) or not isinstance(o.fps, (int, float)) or not 0 < o.fps < math.inf):
        raise InvalidValue(f"fps={o.fps!r} must be a number > 0")
    if o.stride is not None and (isinstance(o.stride, bool) or not isinstance(o.stride, int) or o.stride < 1):
        raise InvalidValue(f"stride={o.stride!r} must be a whole number >= 1")
    if o.fps is not None and o.stride is not None:
        raise InvalidValue(f"fps={o.fps!r} and stride={o.stride!r}: give one of them, not both")
    for name in ("threshold", "default_threshold", "fill"):
        if getattr(o, name) is not None:
            check_probability(name, getattr(o, name))
    for name in ("mode", "default_mode"):
        if getattr(o, name) is not None and getattr(o, name) not in MODES:
            raise InvalidValue(f"{name}={getattr(o, name)!r} must be one of {', '.join(MODES)}")
    if o.scorer not in SCORERS:
        raise InvalidValue(f"scorer={o.scorer!r} must be one of {', '.join(SCORERS)}")
    if o.nan not in NAN_POLICIES:
        raise InvalidValue(f"nan={o.nan!r} must be one of {', '.join(NAN_POLICIES)}")
    if isinstance(o.max_length, bool) or not isinstance(o.max_length, int) or o.max_length < 0:
        raise InvalidValue(f"max_length={o.max_length!r} must be a whole number of frames >= 1 (0: no limit)")
    if o.tolerance is not None and not (isinstance(o.tolerance, (int, float)) and 0 <= o.tolerance < math.inf):
        raise InvalidValue(f"tolerance={o.tolerance!r} must be a number of seconds >= 0")
    if o.decide is not None and o.decide not in DECISIONS:
        raise InvalidValue(f"decide={o.decide!r} must be one of {', '.join(DECISIONS)}")
    if not isinstance(o.world, (Independent, Markov)):
        raise InvalidValue(f"world={o.world!r} must be resolved to Independent() or Markov(...) (use resolve_options)")
    _check_persist("persist", o.persist)


def _check_persist(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise InvalidValue(f"{name}={value!r} must be a number of seconds > 0 (how long a proposition typically stays true)")
    return float(value)


def resolve_world_option(
    world: object = None, persist: float | None = None, settings: Mapping[str, object] | None = None,
    file: QueryFile | None = None,
) -> World:
    """The world model of a search: the one place it is decided.

    Which world: the ``world`` argument (``"independent"``, ``"markov"``, the path
    of a fitted world's ``.json`` — ``fit_world(...).to_dict()`` — or a world
    object); else ``"markov"`` when the ``persist`` argument is given; else the
    file's ``set world``; else ``"markov"`` when the file declares persistence
    (``set persist``, a ``prop ... persist``, or a calibration JSON with a
    ``"world"``); else :data:`DEFAULT_WORLD`.

    A Markov world's persistence per proposition, strongest first: the
    ``persist`` argument (every proposition); the proposition's own ``persist``;
    the fitted world's entry (``set world = "fit.json"`` or the ``world``
    argument's JSON); the ``"world"`` key of the proposition's calibration JSON
    (which also brings its prior and score calibration); the file's ``set
    persist``; the fitted world's defaults (:class:`Markov`'s ``stay`` 0.95). The
    file's ``mutex`` groups constrain the joint state. A world object given as
    ``world`` is used as it is; a ``persist`` argument then replaces its
    persistence for every proposition.
    """
    settings = settings or {}
    persist = _check_persist("persist", persist)
    props = list(file.props.values()) if file is not None else []
    where = file.path if file is not None and file.path else "<query>"
    fitted = {p.name: w for p in props if (w := _calibration_world(p)) is not None}
    file_persist = settings.get("persist")
    declared = file_persist is not None or any(p.persist is not None for p in props) or bool(fitted)
    if world is not None:
        chosen, what = world, "world"
    elif persist is not None:
        chosen, what = "markov", "persist"
    elif settings.get("world") is not None:
        chosen, what = settings["world"], f"{where}: set world"
    else:
        chosen, what = ("markov" if declared else DEFAULT_WORLD), "world"
    base = _load_world(chosen, what)
    if isinstance(base, Independent):
        if persist is not None:
            raise InvalidValue(f"persist={persist:g}: persistence needs the Markov world, not world={world!r}")
        return base
    if getattr(base, "models", None) is not None:  # a fitted Hidden world (automata/observe.py): as it is
        if persist is not None:
            raise InvalidValue(f"persist={persist:g}: a fitted Hidden world carries its own chains; leave persist out")
        return base
    if isinstance(chosen, Markov):  # a world object: as it is, or with persist= for every proposition
        return base if persist is None else replace(base, stay=DEFAULT_STAY, persist=persist)
    mutex = tuple(dict.fromkeys([*base.mutex, *(frozenset(g) for g in (file.mutexes if file is not None else ()))]))
    names = list(dict.fromkeys([
        *(p.name for p in props), *(n for g in mutex for n in sorted(g)),
        *_mapping(base.stay), *_mapping(base.persist), *_mapping(base.prior),
    ]))  # fmt: skip
    decl = {p.name: p for p in props}
    chain: dict[str, tuple[str, float]] = {}  # name -> ("persist", seconds) or ("stay", p)
    prior: dict[str, float] = {}
    calibration = dict(base.calibration)
    for n in names:
        w = fitted.get(n)
        if persist is not None:
            chain[n] = ("persist", persist)
        elif n in decl and decl[n].persist is not None:
            chain[n] = ("persist", decl[n].persist)  # type: ignore[assignment]
        elif n in _mapping(base.persist) or n in _mapping(base.stay):
            chain[n] = _own_chain(base, n)
        elif w is not None:
            chain[n] = _own_chain(w, n) if n in _mapping(w.persist) or n in _mapping(w.stay) else ("stay", w.stay_for(n, None))
        elif file_persist is not None:
            chain[n] = ("persist", float(file_persist))  # type: ignore[arg-type]
        else:
            chain[n] = ("persist", base.persist) if base.persist is not None else ("stay", base.stay)  # type: ignore[assignment]
        if n in _mapping(base.prior):
            prior[n] = base.prior[n]  # type: ignore[index]
        elif w is not None and n in _mapping(w.prior):
            prior[n] = w.prior[n]  # type: ignore[index]
        else:
            prior[n] = base.prior if not isinstance(base.prior, Mapping) else DEFAULT_PRIOR
        if w is not None and n in w.calibration and n not in calibration:
            calibration[n] = w.calibration[n]
    stays = {n: v for n, (kind, v) in chain.items() if kind == "stay"}
    persists = {n: v for n, (kind, v) in chain.items() if kind == "persist"}
    try:
        return Markov(
            stay=_one_or_all(stays, base.stay if not isinstance(base.stay, Mapping) else DEFAULT_STAY),
            # one persist number would also override the names with a stay: only when none has one
            persist=(_one_or_all(persists, None) if not stays else dict(persists)) if persists else None,
            prior=_one_or_all(prior, DEFAULT_PRIOR), mutex=mutex, calibration=calibration,
        )  # fmt: skip
    except FramelogicError as e:
        raise type(e)(f"{where}: the Markov world: {e}") from None


def _mapping(value: object) -> Mapping[str, float]:
    return value if isinstance(value, Mapping) else {}


def _own_chain(w: Markov, name: str) -> tuple[str, float]:
    """``name``'s own entry of ``w`` (its persist, else its stay)."""
    if name in _mapping(w.persist):
        return ("persist", w.persist[name])  # type: ignore[index]
    return ("stay", w.stay[name])  # type: ignore[index]


def _one_or_all(values: Mapping[str, float], empty: object) -> object:
    """One number when every name has the same one (a readable world), else the mapping."""
    if not values:
        return empty
    distinct = set(values.values())
    return next(iter(distinct)) if len(distinct) == 1 else dict(values)


def _load_world(world: object, what: str) -> World:
    """A world from an argument or a setting: a world, ``"independent"`` / ``"markov"``,
    or the path of a ``.json`` holding ``fit_world(...).to_dict()``."""
    if isinstance(world, (str, os.PathLike)) and os.fspath(world).lower().endswith(".json"):
        path = os.fspath(world)
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{what}: {path!r}: no such world file; fit one with fit_world(...).to_dict()") from None
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise InputError(f"{what}: {path!r}: not a JSON world ({type(e).__name__}: {e})") from None
        if isinstance(data, Mapping) and "world" in data:  # a calibration JSON that carries a world
            data = data["world"]
        try:
            return resolve_world(data, where=f"{what} {path!r}")
        except FramelogicError as e:
            raise InputError(f"{what}: {path!r}: {e}") from None
    if isinstance(world, str) and world not in ("independent", "markov"):
        raise InvalidValue(f"{what}={world!r} must be 'independent', 'markov' or the path of a fitted world's .json")
    return resolve_world(world, where=what)


def _calibration_world(p: PropDecl) -> Markov | None:
    """The fitted world a proposition's calibration JSON carries under ``"world"``, if any."""
    if not p.calibration or not p.calibration.lower().endswith(".json"):
        return None
    try:
        data = json.loads(Path(p.calibration).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None  # the scorer reads (and reports on) the calibration itself
    if not isinstance(data, Mapping) or "world" not in data:
        return None
    where = f"{p.location or p.name}: calibration {p.calibration!r}"
    try:
        w = resolve_world(data["world"], where=where)
    except FramelogicError as e:
        raise InputError(f"{where}: its \"world\": {e}") from None
    return w if isinstance(w, Markov) else None


def is_video(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def is_table_path(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in TABLE_SUFFIXES


def find_videos(paths: Iterable[str | os.PathLike[str]], *, cache_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Video files named by ``paths``; folders are searched recursively (sorted).
    A deleted video that was indexed in the embedding cache (``cache_dir``,
    default the user's) is kept: it is searched from its cached embeddings."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.is_file() and is_video(q))
            if not found:
                raise InputError(f"{str(p)!r}: no video files ({', '.join(sorted(VIDEO_SUFFIXES))}) in this folder")
            out.extend(found)
        elif p.exists() or (is_video(p) and _indexed(p, cache_dir)):
            out.append(p)
        else:
            raise InputError(f"{str(p)!r}: no such file or folder")
    return out


def _indexed(path: Path, cache_dir: str | os.PathLike[str] | None) -> bool:
    """Whether the embedding cache recorded embeddings of the video at ``path``."""
    from framelogic.perception.cache import EmbeddingCache  # numpy only: no video extra needed

    return EmbeddingCache(cache_dir).indexed_key(path) is not None


def expand_sources(source: Any, *, cache_dir: str | os.PathLike[str] | None = None) -> list[Any]:
    """The sources named by ``source``, the same way for the API and the CLI.

    A folder is searched recursively for videos; a list or tuple of paths is
    expanded item by item; a table path, an array, a mapping, a DataFrame or a
    :class:`TraceTable` is one source.
    """
    if isinstance(source, (str, os.PathLike)):
        if is_table_path(source):
            if not Path(source).is_file():
                raise InputError(f"{str(source)!r}: no such file")
            return [str(source)]
        return [str(v) for v in find_videos([source], cache_dir=cache_dir)]
    if isinstance(source, (list, tuple)) and source and all(isinstance(s, (str, os.PathLike)) for s in source):
        return [s for item in source for s in expand_sources(item, cache_dir=cache_dir)]
    return [source]


def load_query(query: str | os.PathLike[str] | A.Formula | Spec | Query) -> Query:
    """A :class:`Query` from a ``.tl`` path, a formula file, a formula text or a formula.

    A string that names an existing file (or ends in ``.tl``) is read as a file:
    ``.tl`` files are query files, other files hold one formula.
    """
    if isinstance(query, Query):
        return query
    if isinstance(query, Spec) or A.is_formula(query):
        return Query.from_formula(query)
    if not isinstance(query, (str, os.PathLike)):
        raise InvalidArgument(f"query={query!r} must be a formula, a .tl path or a Query")
    text = os.fspath(query)
    p = Path(text)
    looks_like_path = isinstance(query, os.PathLike) or text.endswith((".tl", ".ltl")) or (
        ("/" in text or os.sep in text) and '"' not in text and "'" not in text and len(text.split()) == 1
    )
    is_file = len(text) < 4096 and "\n" not in text and p.is_file()
    if text.endswith(".tl") or (is_file and p.suffix == ".tl"):
        return Query.from_file(p)
    if is_file:
        try:
            body = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"{text!r}: cannot read: {e}") from None
        return Query.from_formula(parse_spec(body, source=text), name=_ident(p.stem))
    if looks_like_path:
        raise InputError(f"{text!r}: no such file; give a formula in quotes or the path of a .tl query file")
    return Query.from_formula(text)


def _ident(stem: str) -> str:
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in stem) or "query"
    return name if not name[0].isdigit() else f"q_{name}"


class Query:
    """A set of named queries with their propositions and settings (a ``.tl`` file)."""

    def __init__(self, file: QueryFile) -> None:
        if not isinstance(file, QueryFile):
            raise InvalidArgument(f"file={file!r} must be a QueryFile; use Query.from_file(path)")
        self.file = file

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Query:
        return cls(load_query_file(path))

    @classmethod
    def from_text(cls, text: str, *, source: str = "<query>", base_dir: str | None = None) -> Query:
        return cls(parse_query_text(text, source=source, base_dir=base_dir))

    @classmethod
    def from_formula(cls, formula: str | A.Formula | Spec, *, name: str = "query") -> Query:
        """One query from a formula; its atoms are inline prompts (or table columns)."""
        if isinstance(formula, Spec):
            spec = formula
        else:
            spec = parse_spec(formula, source="formula") if isinstance(formula, str) else Spec(formula)
        if not A.is_formula(spec.formula):
            raise InvalidArgument(f"formula={formula!r} is not a formula")
        props = {n: PropDecl(n, prompts=(n,), inline=True) for n in atom_names(spec.formula)}
        return cls(QueryFile(None, props, (), (QueryDecl(name, spec),), {}))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(q.name for q in self.file.queries)

    def __repr__(self) -> str:
        return f"Query({self.file.path or '<text>'}: {', '.join(self.names)})"

    # ------------------------------------------------------------------ pieces

    def selected(self, names: str | Sequence[str] | None) -> tuple[QueryDecl, ...]:
        if names is None:
            return self.file.queries
        names = [names] if isinstance(names, str) else list(names)
        return tuple(self.file.query(n) for n in names)

    def only(self, names: str | Sequence[str] | None) -> Query:
        """This query file with only the queries ``names`` (all when None): for jobs that
        take a whole :class:`Query`, such as a search on a store or on Ray."""
        return self if names is None else Query(replace(self.file, queries=self.selected(names)))

    def options(self, options: SearchOptions | None = None, **given: Any) -> SearchOptions:
        """The resolved options: ``options`` as they are, else defaults < ``set`` < ``given``."""
        if options is not None:
            if not isinstance(options, SearchOptions):
                raise InvalidArgument(f"options={options!r} must be a SearchOptions")
            if not given:
                return options
            if given.get("world") is not None or given.get("persist") is not None:
                world = given.get("world")
                if world is None and not isinstance(options.world, Independent):
                    world = options.world  # persist= alone changes the options' Markov world
                given = {**given, "world": resolve_world_option(world, given.get("persist"), self.file.settings, self.file)}
            opts = replace(options, **given)
            _validate(opts)
            return opts
        return resolve_options(self.file.settings, file=self.file, **given)

    def propositions(self, query: str | Sequence[str] | None = None) -> tuple[PropDecl, ...]:
        """The propositions the selected queries use (not the assumptions': those serve ``check``)."""
        seen: dict[str, PropDecl] = {}
        for q in self.selected(query):
            for n in atom_names(q.formula):
                seen.setdefault(n, self.file.props[n])
        return tuple(seen.values())

    def probabilities(
        self, source: Any, *, query: str | Sequence[str] | None = None, options: SearchOptions | None = None, **given: Any
    ) -> TraceTable:
        """Per-frame probabilities of every proposition the selected queries use, for one source."""
        opts = self.options(options, **given)
        return score(source, self.propositions(query), opts)

    def search(
        self, source: Any, *, query: str | Sequence[str] | None = None, options: SearchOptions | None = None, **given: Any
    ) -> Results:
        """Matches of the selected queries (all by default) in ``source``.

        ``source`` is anything :func:`expand_sources` takes; with several
        sources and ``keep_going`` (the default) a file that cannot be read is
        reported in ``Results.failures`` and the others are still searched.
        ``given`` are :class:`SearchOptions` fields, e.g. ``world="markov"``,
        ``persist=2.0`` (seconds) or ``decide="viterbi"``; the world model is
        decided by :func:`resolve_world_option`.
        """
        found: list[Match] = []
        failures: list[Failure] = []
        for _, results in self.search_each(source, query=query, options=options, **given):
            found.extend(results)
            failures.extend(results.failures)
        return Results(found, failures)

    def search_each(
        self, source: Any, *, query: str | Sequence[str] | None = None, options: SearchOptions | None = None, **given: Any
    ) -> Iterator[tuple[str, Results]]:
        """``(source name, its results)`` for each source, as each is searched (for streaming).

        With several sources and ``keep_going``, a source that fails yields
        empty results whose ``failures`` say why.
        """
        opts = self.options(options, **given)
        self.selected(query)  # unknown names fail before any video is decoded
        sources = expand_sources(source, cache_dir=opts.cache_dir)
        bar = _overall_bar(opts.progress, len(sources))
        try:
            for src in sources:
                try:
                    results = self.search_one(src, query=query, options=opts)
                except FramelogicError as e:
                    if not (opts.keep_going and len(sources) > 1):
                        raise
                    log.warning("%s: not searched: %s", _name(src), e)
                    results = Results((), [Failure(_name(src), str(e))])
                if bar is not None:
                    bar.update(1)
                yield _name(src), results
        finally:
            if bar is not None:
                bar.close()

    def search_one(self, source: Any, *, query: str | Sequence[str] | None = None, options: SearchOptions | None = None) -> Results:
        """Matches in one source (a video, an image folder, an array, a table)."""
        opts = self.options(options)
        table = score(source, self.propositions(query), opts)
        return self.search_table(table, query=query, video=_name(source), options=opts)

    def search_table(
        self,
        trace: Any,
        *,
        query: str | Sequence[str] | None = None,
        video: str = "<table>",
        options: SearchOptions | None = None,
        **given: Any,
    ) -> Results:
        """Matches of the selected queries on a probability table already computed.

        The table's own rate (its ``fps`` or uniform times) converts time bounds;
        the ``fps`` option is used only for a table that has none.
        """
        from framelogic.automata.localize import FROM_SPEC, localize

        opts = self.options(options, **given)
        t = trace if isinstance(trace, TraceTable) else _as_table(trace, opts, self.propositions(query))
        if t.rate is None and opts.fps is not None:
            t = TraceTable(t.names, t.values, t.times, opts.fps)
        t = _columns_for(t, self.propositions(query), opts, str(video))
        out: list[Match] = []
        for q in self.selected(query):
            names = atom_names(q.formula)
            sub = t.select(names)
            threshold = FROM_SPEC if opts.threshold is None else opts.threshold
            events = localize(
                query_spec(q), sub, mode=query_mode(q, opts), threshold=threshold,
                default_threshold=opts.default_threshold, max_length=opts.max_length or None,
                world=opts.world, decide=opts.decide,
            )
            means = _means_over(sub, names, events)
            for k, e in enumerate(events):
                out.append(
                    Match(q.name, video, int(e.start), int(e.end), float(e.probability),
                          t.time_of(int(e.start)), t.time_of(int(e.end)), {n: float(means[n][k]) for n in names})  # fmt: skip
                )
        return Results(out)


def _means_over(t: TraceTable, names: Sequence[str], events: Sequence[Any]) -> dict[str, np.ndarray]:
    """Each column's mean over each event's frames (prefix sums: one pass per column,
    not one per event, which matters for stores with many events)."""
    if not events:
        return {n: np.zeros(0) for n in names}
    starts = np.fromiter((e.start for e in events), dtype=np.int64, count=len(events))
    ends = np.fromiter((e.end for e in events), dtype=np.int64, count=len(events)) + 1
    out = {}
    for n in names:
        sums = np.concatenate(([0.0], np.cumsum(t.column(n), dtype=np.float64)))
        out[n] = (sums[ends] - sums[starts]) / (ends - starts)
    return out


def _overall_bar(progress: bool, total: int):  # type: ignore[no-untyped-def]
    """A bar over all the videos (with an ETA) above each video's own bar; none for one video."""
    if not progress or total < 2:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="videos", unit="video", position=0, leave=True)


def query_spec(q: QueryDecl) -> Spec:
    """The query's formula with its threshold as a PCTL wrapper (``threshold P`` is ``P>=P``)."""
    if q.threshold is not None and q.spec.comparison is None and not q.spec.query:
        return Spec(q.formula, ">=", q.threshold)
    return q.spec


def query_mode(q: QueryDecl, opts: SearchOptions) -> str:
    """The match mode: the argument's, else the query's ``mode``, else ``set mode``, else runs."""
    return opts.mode or q.mode or opts.default_mode


def query_threshold(q: QueryDecl, opts: SearchOptions) -> tuple[float | None, bool]:
    """``(threshold, negate)`` of ``q`` under ``opts`` (:func:`~framelogic.automata.localize.threshold_rule`)."""
    from framelogic.automata.localize import FROM_SPEC, threshold_rule

    return threshold_rule(query_spec(q), FROM_SPEC if opts.threshold is None else opts.threshold, default=opts.default_threshold)


def _is_table_source(source: Any) -> bool:
    if isinstance(source, (TraceTable, Mapping)) or type(source).__name__ == "DataFrame":
        return True
    if isinstance(source, (str, os.PathLike)):
        return is_table_path(source)
    return False


def _name(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return f"<{type(source).__name__}>"


def _as_table(source: Any, opts: SearchOptions, props: Sequence[PropDecl]) -> TraceTable:
    if isinstance(source, (str, os.PathLike)):
        from framelogic.perception import create_scorer  # light: the table scorer needs no video extra

        return create_scorer("table", path=source, columns=opts.column_map, nan=opts.nan)(source)
    t = as_trace(source)
    if opts.column_map:
        missing = [c for c in opts.column_map.values() if c not in t.names]
        if missing:
            raise InputError(f"columns=: the table has no column {missing[0]!r}; it has {list(t.names)}")
        rename = {c: n for n, c in opts.column_map.items()}
        keep = [(rename.get(c, c), j) for j, c in enumerate(t.names) if not (c in opts.column_map and c not in rename)]
        t = TraceTable(tuple(n for n, _ in keep), t.values[:, [j for _, j in keep]], t.times, t.fps)
    return t


def _columns_for(t: TraceTable, props: Sequence[PropDecl], opts: SearchOptions, where: str) -> TraceTable:
    """``t`` with one column named after each proposition (a ``column`` proposition reads its column)."""
    cols: dict[str, np.ndarray] = {}
    for p in props:
        if p.name in t.names:  # tables already scored by framelogic, or mapped with columns=
            cols[p.name] = t.column(p.name)
        elif p.column is not None and p.column in t.names:
            cols[p.name] = t.column(p.column)
        else:
            wanted = p.name if p.column is None else f"{p.name} (column {p.column!r})"
            raise InputError(
                f"{where}: no column for proposition {wanted}; the table has {list(t.names)}. "
                "Name the column after the proposition, or map it: --columns NAME=COLUMN"
            )
    values = np.stack(list(cols.values()), 1) if cols else np.zeros((len(t), 0))
    return TraceTable(tuple(cols), values, t.times, t.fps)


def score(source: Any, props: Sequence[PropDecl], opts: SearchOptions) -> TraceTable:
    """Probabilities for ``props`` on one ``source``: from a table, a video, or both.

    Every proposition becomes a column named after it; the table's rate is the
    one perception measured (or the table's own times).
    """
    if _is_table_source(source):
        return _columns_for(_as_table(source, opts, props), props, opts, _name(source))
    if opts.scorer == "table":
        table_path = _table_path(source, opts, props)
        return _columns_for(_as_table(table_path, opts, props), props, opts, table_path)
    if isinstance(source, (str, os.PathLike)) and not Path(source).exists() \
            and not (opts.use_cache and _indexed(Path(source), opts.cache_dir)):  # fmt: skip
        raise InputError(
            f"{str(source)!r}: no such video, and it was not indexed. The embedding cache is keyed by the video's "
            "content, so a deleted video cannot be searched unless indexed first: restore the file and index it "
            "(framelogic index QUERY.tl VIDEO)"
        )
    prompted, from_table = split_props(props, opts)
    scored = _score_frames(source, prompted, opts)
    return with_columns(scored, source, from_table, opts)


def split_props(props: Sequence[PropDecl], opts: SearchOptions) -> tuple[list[PropDecl], list[PropDecl]]:
    """``(scored on frames, read from a table)``: a ``column`` proposition, or one
    mapped with ``columns=``, reads its table."""
    from_table = [p for p in props if p.column is not None or p.name in opts.column_map]
    return [p for p in props if p not in from_table], from_table


def with_columns(scored: TraceTable, source: Any, props: Sequence[PropDecl], opts: SearchOptions) -> TraceTable:
    """``scored`` with the table columns of ``props`` added, aligned to its frames by time
    (the table: ``opts.table``, else the one beside the video ``source``)."""
    if not props:
        return scored
    table_path = _table_path(source, opts, props)
    ext = _as_table(table_path, opts, props)
    ext = _columns_for(ext, props, opts, table_path)
    values = [scored.values, align(ext, scored, tolerance=opts.tolerance, fill=opts.fill, where=table_path)]
    # replace() keeps what the scorer's table carries besides its columns (its source frames)
    return replace(scored, names=scored.names + ext.names, values=np.concatenate(values, axis=1))


#: Modules of the ``video`` extra.
VIDEO_MODULES = frozenset({"torch", "open_clip", "cv2", "safetensors", "tqdm", "torchvision"})


@contextlib.contextmanager
def video_extra(what: str) -> Iterator[None]:
    """Turn a missing video dependency into an error that says how to install it."""
    try:
        yield
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] not in VIDEO_MODULES:
            raise
        raise InputError(
            f"{what} needs the video extra ({e.name} is not installed): pip install 'framelogic[video]'"
        ) from None


def _score_frames(source: Any, props: Sequence[PropDecl], opts: SearchOptions) -> TraceTable:
    from framelogic import perception

    with video_extra(f"scoring the frames of {_name(source)}"):
        return _score_frames_now(perception, source, props, opts)


def _score_frames_now(perception: Any, source: Any, props: Sequence[PropDecl], opts: SearchOptions) -> TraceTable:
    scorer = perception.create_scorer(opts.scorer, embed_config(opts))
    return scorer(source, [_to_perception(p, opts.contrast) for p in props])


def embed_config(opts: SearchOptions) -> Any:
    """The perception config of a search: the one place options become an ``EmbedConfig``."""
    from framelogic.perception import EmbedConfig

    return EmbedConfig(
        model=opts.model, fps=opts.fps, stride=opts.stride, device=opts.device, cache_dir=opts.cache_dir,
        use_cache=opts.use_cache, progress=opts.progress, allow_random_weights=opts.allow_random_weights,
    )  # fmt: skip


def _table_path(source: Any, opts: SearchOptions, props: Sequence[PropDecl]) -> str:
    if opts.table is not None:
        return opts.table
    if isinstance(source, (str, os.PathLike)):
        sidecar = Path(source).with_suffix(".csv")  # drive.mp4 -> drive.csv
        if sidecar.is_file():
            return str(sidecar)
    names = ", ".join(p.name for p in props)
    raise InputError(
        f"propositions {names} read columns of a probability table; put it next to the video "
        "(drive.mp4 -> drive.csv), or give it with 'set table = \"probs.csv\"' or --table"
    )


def align(ext: TraceTable, frames: TraceTable, *, tolerance: float | None = None, fill: float | None = None, where: str = "the table") -> np.ndarray:
    """The rows of ``ext`` at the sampled ``frames``: nearest timestamp within ``tolerance``.

    ``tolerance`` defaults to half of the table's median row spacing. A frame
    with no row that close is *missing*: an :class:`InputError` naming the first
    one, or, with ``fill=p``, probability ``p`` — the table is never extrapolated.
    Without times on both sides the row counts must agree.
    """
    if ext.times is None or frames.times is None:
        if len(ext) != len(frames):
            raise InputError(
                f"{where}: the table has {len(ext)} rows but {len(frames)} frames were sampled; "
                "add a 'time' column (seconds) so rows can be matched to frames by time"
            )
        return ext.values
    if len(ext) == 0:
        raise InputError(f"{where}: the table has no rows")
    et, ft = ext.times, frames.times
    idx = np.clip(np.searchsorted(et, ft), 0, len(ext) - 1)
    prev = np.clip(idx - 1, 0, len(ext) - 1)
    nearest = np.where(np.abs(et[prev] - ft) <= np.abs(et[idx] - ft), prev, idx)
    if tolerance is None:
        tolerance = float(np.median(np.diff(et))) / 2 if len(et) > 1 else 0.0
    tolerance += 1e-9  # float noise in timestamps
    off = np.abs(et[nearest] - ft) > tolerance
    values = ext.values[nearest]
    if off.any():
        if fill is None:
            i = int(np.flatnonzero(off)[0])
            raise InputError(
                f"{where}: no row within {tolerance:.3g}s of frame {i} at {ft[i]:.3f}s (the table covers "
                f"{et[0]:.3f}-{et[-1]:.3f}s); {int(off.sum())} of {len(ft)} frames are not covered. "
                "Extend the table, widen --tolerance, or choose a value for them with --fill P"
            )
        values = np.where(off[:, None], float(fill), values)
    return values


def _to_perception(p: PropDecl, default_contrast: str | None) -> Any:
    from framelogic import perception

    contrast = p.contrast or ((default_contrast,) if default_contrast else ())
    return perception.Proposition(
        p.name, prompts=p.prompts, contrast=contrast, templates=p.templates, calibration=p.calibration
    )


@dataclass(frozen=True)
class Indexed:
    """One video embedded into the cache by :func:`index` (or into a store by
    :func:`framelogic.queries.store.index_store`)."""

    video: str
    frames: int  # sampled frames
    rate: float  # effective sampling rate
    cached: bool  # already indexed
    seconds: float  # time spent
    error: str | None = None  # why it could not be indexed (a store records it in its failures)

    def to_dict(self) -> dict[str, Any]:
        return {"video": self.video, "frames": self.frames, "rate": self.rate, "cached": self.cached,
                "seconds": self.seconds, "error": self.error}  # fmt: skip


def index(source: Any, *, query: Query | None = None, options: SearchOptions | None = None, **given: Any) -> Iterator[Indexed]:
    """Embed every video of ``source`` into the cache, sampled exactly as a search with
    the same options (and ``query``'s ``set fps`` / ``set model``) samples it, so the
    search then reads the cache instead of encoding again."""
    import time

    from framelogic import perception

    opts = (query or Query.from_formula("true")).options(options, **given)
    for video in expand_sources(source, cache_dir=opts.cache_dir):
        start = time.perf_counter()
        with video_extra(f"indexing {video}"):
            emb = perception.embed_video(video, embed_config(opts))
        yield Indexed(str(video), len(emb.times), float(emb.rate), bool(emb.cached), time.perf_counter() - start)


def search(query: str | A.Formula | Query | os.PathLike[str], source: Any, **options: Any) -> Results:
    """Search ``source`` with a formula, a ``.tl`` path or a :class:`Query` (see :func:`load_query`).

    >>> search('"a" U "b"', {"a": [1, 1, 0, 0], "b": [0, 0, 1, 0]}, mode="runs")[0].end
    2
    """
    return load_query(query).search(source, **options)
