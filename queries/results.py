"""Typed search results and their serializations (table, JSON, JSONL, CSV,
pandas, Arrow). Writes go through temp files, so no partial output is left."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, overload

from framelogic.logic.errors import InvalidValue
from framelogic.logic.trace import atomic_write_bytes, atomic_write_text

FORMATS = ("table", "json", "jsonl", "csv")
#: Formats written as bytes, to a file only (``Results.write``).
BINARY_FORMATS = ("parquet",)


def event_schema():  # type: ignore[no-untyped-def]
    """The Arrow schema of events (``Results.to_arrow``, ``--format parquet``): one row per match."""
    import pyarrow as pa

    return pa.schema([
        pa.field("query", pa.string(), nullable=False),
        pa.field("video", pa.string(), nullable=False),
        pa.field("start", pa.int64(), nullable=False),  # first frame of the sampled trace (inclusive)
        pa.field("end", pa.int64(), nullable=False),  # last frame (inclusive)
        pa.field("probability", pa.float64(), nullable=False),
        pa.field("start_time", pa.float64()),  # seconds of media time (null when unknown)
        pa.field("end_time", pa.float64()),
        pa.field("props", pa.map_(pa.string(), pa.float64())),  # mean probability of each proposition over the event
    ])  # fmt: skip


@dataclass(frozen=True, slots=True)
class Match:
    """One event found by one query in one video.

    ``start``/``end`` are frame indices of the sampled trace, inclusive;
    ``start_time``/``end_time`` are seconds of media time (None when unknown).
    ``props`` holds each proposition's mean probability over the event's frames.
    """

    query: str
    video: str
    start: int
    end: int
    probability: float
    start_time: float | None = None
    end_time: float | None = None
    props: Mapping[str, float] = field(default_factory=dict)

    @property
    def frames(self) -> int:
        return self.end - self.start + 1

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["props"] = dict(self.props)
        return d


@dataclass(frozen=True, slots=True)
class Failure:
    """A source that could not be searched (with ``keep_going``): its name and why."""

    video: str
    error: str


class Results(Sequence[Match]):
    """An ordered collection of matches with converters; ``failures`` lists sources skipped."""

    def __init__(self, matches: Iterable[Match] = (), failures: Iterable[Failure] = ()) -> None:
        self._matches = tuple(matches)
        self.failures: tuple[Failure, ...] = tuple(failures)

    @overload
    def __getitem__(self, i: int) -> Match: ...
    @overload
    def __getitem__(self, i: slice) -> Results: ...
    def __getitem__(self, i):  # type: ignore[no-untyped-def]
        return Results(self._matches[i], self.failures) if isinstance(i, slice) else self._matches[i]

    def __len__(self) -> int:
        return len(self._matches)

    def __iter__(self) -> Iterator[Match]:
        return iter(self._matches)

    def __repr__(self) -> str:
        failed = f", {len(self.failures)} failed sources" if self.failures else ""
        return f"Results({len(self)} matches{failed})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Results) and self._matches == other._matches and self.failures == other.failures

    def __add__(self, other: Results) -> Results:
        return Results((*self, *other), (*self.failures, *other.failures))

    def by_query(self, name: str) -> Results:
        return Results(m for m in self if m.query == name)

    def by_video(self, video: str) -> Results:
        return Results(m for m in self if m.video == video)

    def to_records(self) -> list[dict[str, Any]]:
        return [m.to_dict() for m in self]

    def to_json(self) -> str:
        return json.dumps(self.to_records(), indent=1, allow_nan=False, default=_finite) + "\n"

    def to_jsonl(self) -> str:
        return "".join(json.dumps(r, allow_nan=False, default=_finite) + "\n" for r in self.to_records())

    def to_csv(self) -> str:
        return render(self, "csv")

    def to_pandas(self):  # type: ignore[no-untyped-def]
        import pandas as pd

        rows = []
        for m in self:
            row = {k: v for k, v in m.to_dict().items() if k != "props"}
            row.update({f"p[{k}]": v for k, v in m.props.items()})
            rows.append(row)
        return pd.DataFrame(rows, columns=None if rows else list(_COLUMNS))

    def to_arrow(self):  # type: ignore[no-untyped-def]
        """The matches as a ``pyarrow.Table`` of :func:`event_schema`."""
        import pyarrow as pa

        records = [{**m.to_dict(), "props": list(m.props.items())} for m in self]
        return pa.Table.from_pylist(records, schema=event_schema())

    @classmethod
    def from_arrow(cls, table) -> Results:  # type: ignore[no-untyped-def]
        """Matches from a table of :func:`event_schema` (e.g. events read back from Parquet)."""
        names = set(table.schema.names)
        missing = [f.name for f in event_schema() if f.name not in names]
        if missing:
            raise InvalidValue(f"the table has no column {missing[0]!r}; events have {event_schema().names}")
        out = []
        for r in table.select(event_schema().names).to_pylist():
            props = r.pop("props") or []
            out.append(Match(**r, props=dict(props)))
        return cls(out)

    def write(self, path: str, fmt: str = "json", *, inputs: Iterable[str] = ()) -> None:
        """Write the results atomically (text formats, or ``parquet``); refuses a
        ``path`` that is one of ``inputs``."""
        if fmt == "parquet":
            write_parquet(self.to_arrow(), path, inputs=inputs)
        else:
            atomic_write_text(path, render(self, fmt), inputs=inputs)


def write_parquet(table, path: str, *, inputs: Iterable[str] = ()) -> None:  # type: ignore[no-untyped-def]
    """An Arrow ``table`` to a Parquet file at ``path``, atomically (temp file and rename)."""
    import io

    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table, buf)
    atomic_write_bytes(path, buf.getvalue(), inputs=inputs)


_COLUMNS = ("query", "video", "start", "end", "start_time", "end_time", "probability")


def _finite(x: object) -> object:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    raise TypeError(f"not serializable: {x!r}")


def _sec(t: float | None) -> str:
    return "" if t is None else f"{t:.3f}"


def render(results: Iterable[Match], fmt: str) -> str:
    """Text of ``results`` in ``fmt`` (one of :data:`FORMATS`)."""
    results = Results(results)
    if fmt == "json":
        return results.to_json()
    if fmt == "jsonl":
        return results.to_jsonl()
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow([*_COLUMNS, "props"])
        for m in results:
            w.writerow([m.query, m.video, m.start, m.end, _sec(m.start_time), _sec(m.end_time),
                        f"{m.probability:.6g}", json.dumps(dict(m.props), sort_keys=True)])
        return buf.getvalue()
    if fmt == "table":
        return render_table(results)
    raise InvalidValue(f"format={fmt!r} must be one of {', '.join(FORMATS)}")


def render_table(results: Sequence[Match]) -> str:
    """A fixed-width table for terminals."""
    head = ["query", "video", "frames", "seconds", "P"]
    rows = [
        [m.query, m.video, f"{m.start}-{m.end}",
         "" if m.start_time is None else f"{m.start_time:.2f}-{m.end_time:.2f}", f"{m.probability:.3f}"]
        for m in results
    ]  # fmt: skip
    if not rows:
        return "no matches\n"
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [head, *rows]]
    return "\n".join(lines) + "\n"
