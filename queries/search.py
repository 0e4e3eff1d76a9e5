"""The search runner: query files x videos (or probability tables) -> matches.

``Query.from_file("stop.tl").search("drive.mp4")`` scores the frames of the
video for every proposition the queries use (with the embedding cache, so a new
query over an indexed video costs a text encoding and a matrix product), runs
each query's automaton over the probabilities and returns typed matches.

A source is a video file, an image folder or an array of frames (scored by the
perception layer), or a probability table (a CSV path, a mapping, a DataFrame,
a :class:`TraceTable`) from any detector, used as it is.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from framelogic.logic import ast as A
from framelogic.logic.errors import InputError, InvalidArgument, check_probability
from framelogic.logic.grammar import Spec, parse_spec
from framelogic.logic.passes import atom_names
from framelogic.logic.trace import TraceTable, as_trace

from .queryfile import PropDecl, QueryDecl, QueryFile, load_query_file, parse_query_text
from .results import Match, Results

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})
TABLE_SUFFIXES = frozenset({".csv", ".parquet", ".npy", ".npz"})
DEFAULT_THRESHOLD = 0.5
DEFAULT_MODEL = "framelogic-tiny"


@dataclass(frozen=True)
class SearchOptions:
    """Options of one search; ``None`` means: from the query file, else the default."""

    fps: float | None = None  # sampling rate of the video
    stride: int | None = None  # or every n-th frame
    model: str | None = None  # open_clip model spec
    threshold: float | None = None  # overrides every query's threshold
    mode: str | None = None  # overrides every query's match mode
    table: str | None = None  # external probability table for column propositions
    cache_dir: str | None = None  # embedding cache directory
    use_cache: bool = True
    device: str | None = None  # "cuda", "cpu", ... (auto when None)
    progress: bool = False  # progress bars on stderr


def is_video(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def find_videos(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Video files named by ``paths``; folders are searched recursively (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.is_file() and is_video(q))
            if not found:
                raise InputError(f"{str(p)!r}: no video files ({', '.join(sorted(VIDEO_SUFFIXES))}) in this folder")
            out.extend(found)
        elif p.exists():
            out.append(p)
        else:
            raise InputError(f"{str(p)!r}: no such file or folder")
    return out


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
    def from_formula(cls, formula: str | A.Formula, *, name: str = "query") -> Query:
        """One query from a formula; its atoms are inline prompts (or table columns)."""
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

    def options(self, **overrides: Any) -> SearchOptions:
        s = self.file.settings
        base = SearchOptions(
            fps=s.get("fps"), stride=s.get("stride"), model=s.get("model"), threshold=s.get("threshold"),  # type: ignore[arg-type]
            mode=s.get("mode"), table=s.get("table"),  # type: ignore[arg-type]
        )  # fmt: skip
        unknown = set(overrides) - set(SearchOptions.__dataclass_fields__)
        if unknown:
            raise InvalidArgument(f"unknown options {sorted(unknown)}; known: {sorted(SearchOptions.__dataclass_fields__)}")
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})

    def probabilities(self, source: Any, *, query: str | Sequence[str] | None = None, **options: Any) -> TraceTable:
        """Per-frame probabilities of every proposition the selected queries use."""
        opts = self.options(**options)
        queries = self.selected(query)
        props = _props_for(self.file, queries)
        return _score(source, props, opts, self.file.settings.get("contrast"))  # type: ignore[arg-type]

    def search(self, source: Any, *, query: str | Sequence[str] | None = None, **options: Any) -> Results:
        """Matches of the selected queries (all by default) in ``source``."""
        table = self.probabilities(source, query=query, **options)
        return self.search_table(table, query=query, video=_name(source), **options)

    def search_table(
        self, trace: Any, *, query: str | Sequence[str] | None = None, video: str = "<table>", **options: Any
    ) -> Results:
        """Matches of the selected queries on a probability table already computed."""
        from framelogic import automata

        opts = self.options(**options)
        t = as_trace(trace)
        if t.rate is None and opts.fps is not None:
            t = as_trace(t, fps=opts.fps)
        t = _score(t, _props_for(self.file, self.selected(query)), opts, None)
        settings = self.file.settings
        out: list[Match] = []
        for q in self.selected(query):
            threshold, negate = _threshold(q, options.get("threshold"), settings.get("threshold"))  # type: ignore[arg-type]
            mode = options.get("mode") or q.mode or settings.get("mode") or automata.DEFAULT_MODE
            formula = A.neg(q.formula) if negate else q.formula
            names = atom_names(q.formula)
            sub = t.select(names) if names else t
            events = automata.localize(formula, sub, fps=t.rate, mode=mode, threshold=threshold)
            for e in events:
                inside = {n: float(np.mean(t.column(n)[e.start : e.end + 1])) for n in names}
                out.append(
                    Match(q.name, video, int(e.start), int(e.end), float(e.probability),
                          t.time_of(int(e.start)), t.time_of(int(e.end)), inside)  # fmt: skip
                )
        return Results(out)


def _is_table_source(source: Any) -> bool | None:
    if isinstance(source, (TraceTable, Mapping)) or type(source).__name__ == "DataFrame":
        return True
    if isinstance(source, (str, os.PathLike)):
        return Path(source).suffix.lower() in TABLE_SUFFIXES
    return False


def _name(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return f"<{type(source).__name__}>"


def _threshold(q: QueryDecl, override: float | None, file_default: float | None) -> tuple[float | None, bool]:
    """The threshold on P(φ) and whether to search ``!φ`` instead (for ``P<=p``).

    Precedence: an explicit ``threshold=`` option, then the query's own
    (``P>=p [...]`` or ``threshold p``), then the file's ``set threshold``, then 0.5.
    """
    if override is not None:
        return check_probability("threshold", override), False
    spec = q.spec
    if spec.query:
        return None, False
    if spec.comparison in (">=", ">"):
        p = spec.threshold if spec.comparison == ">=" else math.nextafter(spec.threshold, 2.0)  # type: ignore[arg-type]
        return min(p, 1.0), False
    if spec.comparison in ("<=", "<"):
        # P(φ) <= p  is  P(!φ) >= 1 - p
        p = 1.0 - spec.threshold  # type: ignore[operator]
        return (p if spec.comparison == "<=" else math.nextafter(p, 2.0)), True
    if q.threshold is not None:
        return q.threshold, False
    return (DEFAULT_THRESHOLD if file_default is None else file_default), False


def _props_for(file: QueryFile, queries: Sequence[QueryDecl]) -> tuple[PropDecl, ...]:
    seen: dict[str, PropDecl] = {}
    for q in queries:
        for p in file.props_of(q):
            seen.setdefault(p.name, p)
    return tuple(seen.values())


def _score(source: Any, props: Sequence[PropDecl], opts: SearchOptions, contrast: str | None) -> TraceTable:
    """Probabilities for ``props`` on ``source``: from a table, a video, or both."""
    columns = [p for p in props if p.column is not None]
    prompted = [p for p in props if p.column is None]
    if _is_table_source(source):
        t = as_trace(source, fps=opts.fps)
        # a column under the proposition's own name wins (tables already scored by framelogic)
        cols = {p.name: t.column(p.name if p.name in t.names or p.column is None else p.column) for p in props}
        return TraceTable(tuple(cols), np.stack(list(cols.values()), 1) if cols else np.zeros((len(t), 0)), t.times, t.fps)
    from framelogic import perception

    scored = perception.score_video(
        source,
        [_to_perception(p, contrast) for p in prompted],
        model=opts.model or DEFAULT_MODEL, fps=opts.fps, stride=opts.stride, device=opts.device,
        cache_dir=opts.cache_dir, use_cache=opts.use_cache, progress=opts.progress,
    )  # fmt: skip
    if not columns:
        return scored
    table_path = opts.table
    if table_path is None and isinstance(source, (str, os.PathLike)):
        sidecar = Path(source).with_suffix(".csv")  # drive.mp4 -> drive.csv
        if sidecar.is_file():
            table_path = str(sidecar)
    if table_path is None:
        names = ", ".join(p.name for p in columns)
        raise InputError(
            f"propositions {names} read columns of a probability table; put it next to the video "
            "(drive.mp4 -> drive.csv), or give it with 'set table = \"probs.csv\"' or --table"
        )
    ext = as_trace(table_path)
    values = [scored.values]
    for p in columns:
        values.append(_align(ext, p.column, scored)[:, None])  # type: ignore[arg-type]
    names = scored.names + tuple(p.name for p in columns)
    return TraceTable(names, np.concatenate(values, axis=1), scored.times, scored.fps)


def _align(ext: TraceTable, column: str, frames: TraceTable) -> np.ndarray:
    """``ext[column]`` at the sampled frames: by nearest timestamp, else row by row."""
    col = ext.column(column)
    if ext.times is not None and frames.times is not None:
        idx = np.clip(np.searchsorted(ext.times, frames.times), 0, len(ext) - 1)
        prev = np.clip(idx - 1, 0, len(ext) - 1)
        closer = np.abs(ext.times[prev] - frames.times) < np.abs(ext.times[idx] - frames.times)
        return col[np.where(closer, prev, idx)]
    if len(ext) != len(frames):
        raise InputError(
            f"the probability table has {len(ext)} rows but {len(frames)} frames were sampled; "
            "add a 'time' column so rows can be matched by time"
        )
    return col


def _to_perception(p: PropDecl, default_contrast: str | None) -> Any:
    from framelogic import perception

    contrast = p.contrast or ((default_contrast,) if default_contrast else ())
    return perception.Proposition(
        p.name, prompts=p.prompts, contrast=contrast, templates=p.templates, calibration=p.calibration
    )


def search(query: str | A.Formula | Query | os.PathLike[str], source: Any, **options: Any) -> Results:
    """Search ``source`` with a formula, a ``.tl`` path or a :class:`Query`.

    >>> search('"a" U "b"', {"a": [1, 1, 0, 0], "b": [0, 0, 1, 0]}, mode="runs")[0].end
    2
    """
    if isinstance(query, Query):
        q = query
    elif isinstance(query, (str, os.PathLike)) and str(query).endswith(".tl"):
        q = Query.from_file(query)
    elif isinstance(query, (str,)) or A.is_formula(query):
        q = Query.from_formula(query)  # type: ignore[arg-type]
    else:
        raise InvalidArgument(f"query={query!r} must be a formula, a .tl path or a Query")
    return q.search(source, **options)
