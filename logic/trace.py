"""Trace tables: n frames x k propositions, boolean (0/1) or probabilities.

One type, :class:`TraceTable`, is accepted everywhere a trace is; :func:`as_trace`
turns the common inputs into it: a mapping name -> 1-D array, a 2-D array with
a list of names, a pandas DataFrame, a CSV file path, or a TraceTable.

CSV files have a header of proposition names and one row per frame; values are
0/1 or probabilities in [0, 1]. An optional ``time`` column gives each frame's
timestamp in seconds (then the sampling rate is inferred when it is uniform).
"""

from __future__ import annotations

import csv
import io
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError, InvalidArgument, TraceError, check_fps

TIME_COLUMN = "time"


@dataclass(frozen=True, eq=False)
class TraceTable:
    """A finite trace: ``values[i, j]`` is the truth or probability of ``names[j]`` at frame i.

    ``times`` (seconds, one per frame) and ``fps`` are optional; ``fps`` is what
    converts time bounds such as ``F[0,2s]`` into frames.
    """

    names: tuple[str, ...]
    values: np.ndarray
    times: np.ndarray | None = None
    fps: float | None = None

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(self.names):
            raise TraceError(
                f"values has shape {values.shape}, expected (frames, {len(self.names)}) "
                f"for names {list(self.names)}"
            )
        if len(set(self.names)) != len(self.names):
            dup = sorted({n for n in self.names if self.names.count(n) > 1})
            raise TraceError(f"duplicate proposition names {dup}; each column needs its own name")
        bad = ~np.isfinite(values) | (values < 0.0) | (values > 1.0)
        if bad.any():
            i, j = map(int, np.argwhere(bad)[0])
            raise TraceError(
                f"value {float(values[i, j])!r} of {self.names[j]!r} at frame {i} is not a "
                "probability in [0, 1]"
            )
        values.setflags(write=False)
        object.__setattr__(self, "values", values)
        if self.times is not None:
            times = np.asarray(self.times, dtype=np.float64)
            if times.shape != (values.shape[0],):
                raise TraceError(f"times has shape {times.shape}, expected ({values.shape[0]},)")
            if not np.all(np.isfinite(times)):
                i = int(np.argmin(np.isfinite(times)))
                raise TraceError(f"time {float(times[i])!r} at frame {i} is not a finite number of seconds")
            if times.size > 1 and not np.all(np.diff(times) > 0):
                raise TraceError("times must be strictly increasing")
            times.setflags(write=False)
            object.__setattr__(self, "times", times)
        if self.fps is not None:
            object.__setattr__(self, "fps", check_fps("fps", self.fps))

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def is_boolean(self) -> bool:
        """True when every value is exactly 0 or 1."""
        v = self.values
        return bool(np.all((v == 0.0) | (v == 1.0)))

    def column(self, name: str) -> np.ndarray:
        """The values of one proposition, frame by frame."""
        try:
            return self.values[:, self.names.index(name)]
        except ValueError:
            raise TraceError(
                f"trace has no column {name!r}; it has {list(self.names)}"
            ) from None

    __getitem__ = column

    def select(self, names: Iterable[str]) -> TraceTable:
        """A table with exactly ``names`` as columns, in that order.

        Raises :class:`TraceError` naming every missing proposition.
        """
        names = tuple(names)
        return TraceTable(names, self.columns(names), self.times, self.fps)

    def columns(self, names: Iterable[str]) -> np.ndarray:
        """The values of ``names``, in that order, as a (frames, len(names)) array
        (the table's own array when ``names`` are its columns in order).

        Raises :class:`TraceError` naming every missing proposition.
        """
        names = tuple(names)
        if names == self.names:
            return self.values
        missing = [n for n in names if n not in self.names]
        if missing:
            raise TraceError(
                f"trace is missing propositions {missing}; it has columns {list(self.names)}. "
                "Add the columns, or rename the atoms in the formula"
            )
        return self.values[:, [self.names.index(n) for n in names]]

    def slice(self, start: int, stop: int) -> TraceTable:
        """Frames ``start .. stop-1`` as a table of their own."""
        times = None if self.times is None else self.times[start:stop]
        return TraceTable(self.names, self.values[start:stop], times, self.fps)

    @property
    def rate(self) -> float | None:
        """The sampling rate: ``fps`` if given, else inferred from uniform ``times``."""
        if self.fps is not None:
            return self.fps
        if self.times is not None and self.times.size > 1:
            d = np.diff(self.times)
            if np.allclose(d, d[0], rtol=1e-3, atol=1e-6):
                return float(1.0 / d[0])
        return None

    def time_of(self, frame: int) -> float | None:
        """Seconds at ``frame``: from ``times`` if known, else ``frame / fps``."""
        if self.times is not None:
            return float(self.times[frame])
        if self.fps is not None:
            return frame / self.fps
        return None

    def to_dict(self) -> dict[str, np.ndarray]:
        return {n: self.values[:, j] for j, n in enumerate(self.names)}

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """CSV text (``time`` column first when known); written atomically if ``path``.

        Numbers are written in their shortest exact form, so reading the text back
        gives the same table (six significant digits would merge the frames of
        an hour-long video: 3600.03 s).
        """
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        header = ([TIME_COLUMN] if self.times is not None else []) + list(self.names)
        w.writerow(header)
        for i in range(len(self)):
            row = [repr(float(self.times[i]))] if self.times is not None else []
            row += [_fmt(v) for v in self.values[i]]
            w.writerow(row)
        text = buf.getvalue()
        if path is not None:
            atomic_write_text(path, text)
        return text

    def __repr__(self) -> str:
        kind = "boolean" if self.is_boolean else "probabilistic"
        rate = f", fps={self.rate:g}" if self.rate else ""
        return f"TraceTable({len(self)} frames x {list(self.names)}, {kind}{rate})"


def _fmt(v: float) -> str:
    return "1" if v == 1.0 else "0" if v == 0.0 else repr(float(v))


def check_output_path(path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Raise :class:`InputError` if writing ``path`` would replace one of ``inputs``.

    The one place that decides it: the same file by inode (so hard links, symlinks,
    ``..`` and relative spellings all count), not by spelling.
    """
    try:
        out = os.stat(path)
    except (OSError, ValueError):
        return  # nothing there yet (or an impossible name, which the write reports)
    for src in inputs:
        try:
            st = os.stat(src)
        except (OSError, ValueError):
            continue
        if (st.st_dev, st.st_ino) == (out.st_dev, out.st_ino):
            raise InputError(
                f"refusing to write {str(path)!r}: it is the input {str(src)!r}, which would be "
                "overwritten; choose another output path"
            )


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, inputs: Iterable[str | os.PathLike[str]] = ()
) -> None:
    """Write ``text`` to ``path`` through a temp file and rename: never a partial file,
    and never one of ``inputs`` (see :func:`check_output_path`)."""
    atomic_write_bytes(path, text.encode("utf-8"), inputs=inputs)


def atomic_write_bytes(
    path: str | os.PathLike[str], data: bytes, *, inputs: Iterable[str | os.PathLike[str]] = ()
) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder
    (``.NAME.PID.THREAD.tmp``, fsynced) and a rename, then sync the folder so the
    rename survives a power loss."""
    check_output_path(path, inputs)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _sync_dir(path.parent)
    except (OSError, ValueError) as e:
        _discard(tmp)
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        error = InputError(f"cannot write {str(path)!r}: {reason}")
        error.strerror = reason  # the cause alone, for callers that report it once per folder
        raise error from None
    except BaseException:
        _discard(tmp)
        raise


def _sync_dir(folder: Path) -> None:
    """fsync a folder (best effort: not every file system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _discard(tmp: Path) -> None:
    """Remove a temp file if it exists; never raises (the write's own error is the one to report)."""
    try:
        tmp.unlink(missing_ok=True)
    except (OSError, ValueError):
        pass


def as_trace(
    data: Any,
    names: Sequence[str] | None = None,
    *,
    fps: float | None = None,
) -> TraceTable:
    """Turn ``data`` into a :class:`TraceTable`.

    >>> as_trace({"a": [1, 0, 1], "b": [0, 0, 1]})
    TraceTable(3 frames x ['a', 'b'], boolean)
    """
    if isinstance(data, TraceTable):
        if fps is not None:
            return TraceTable(data.names, data.values, data.times, fps)
        return data
    if isinstance(data, (str, os.PathLike)):
        return read_csv(data, fps=fps)
    if _is_dataframe(data):
        cols = [str(c) for c in data.columns]
        times = None
        if TIME_COLUMN in cols:
            times = data[TIME_COLUMN].to_numpy(dtype=np.float64)
            cols.remove(TIME_COLUMN)
        values = data[cols].to_numpy(dtype=np.float64) if cols else np.zeros((len(data), 0))
        return TraceTable(tuple(cols), values, times, fps)
    if isinstance(data, Mapping):
        keys = [str(k) for k in data]
        times = None
        if TIME_COLUMN in keys:
            times = np.asarray(data[TIME_COLUMN], dtype=np.float64)
        cols = [k for k in keys if k != TIME_COLUMN]
        arrays = [np.asarray(data[k], dtype=np.float64) for k in cols]
        lengths = {a.shape for a in arrays}
        if any(a.ndim != 1 for a in arrays) or len(lengths) > 1:
            shapes = {k: a.shape for k, a in zip(cols, arrays)}
            raise TraceError(f"every column must be a 1-D array of one length; got shapes {shapes}")
        n = arrays[0].shape[0] if arrays else (0 if times is None else times.shape[0])
        values = np.stack(arrays, axis=1) if arrays else np.zeros((n, 0))
        return TraceTable(tuple(cols), values, times, fps)
    arr = np.asarray(data, dtype=np.float64) if not isinstance(data, np.ndarray) else data
    if isinstance(arr, np.ndarray) and arr.ndim == 2:
        if names is None:
            raise InvalidArgument(
                "a 2-D array needs names=[...] for its columns, e.g. as_trace(arr, names=['a', 'b'])"
            )
        return TraceTable(tuple(names), arr, None, fps)
    raise InvalidArgument(
        f"data={type(data).__name__} is not a trace; pass a mapping name -> array, a 2-D array "
        "with names=, a pandas DataFrame, a CSV path or a TraceTable"
    )


def _is_dataframe(obj: object) -> bool:
    return type(obj).__name__ == "DataFrame" and hasattr(obj, "columns")


def read_csv(path: str | os.PathLike[str], *, fps: float | None = None) -> TraceTable:
    """Read a trace table (CSV, Parquet, Feather, NumPy: :func:`framelogic.logic.tables.read_table`)."""
    from .tables import read_table

    return read_table(path, fps=fps)


def _read_csv_text(path: str | os.PathLike[str], *, fps: float | None = None) -> TraceTable:
    """Read a trace CSV with the pure-Python parser; errors name the file, line and column."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{str(p)!r}: no such file; give the path of a trace CSV") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{str(p)!r}: cannot read: {e}") from None
    return parse_csv(text, source=str(p), fps=fps)


def parse_csv(text: str, *, source: str = "<csv>", fps: float | None = None) -> TraceTable:
    """Parse trace CSV text; errors name ``source``, the line (blank lines counted)
    and the column."""
    if text.startswith("\ufeff"):  # a UTF-8 byte order mark (spreadsheet exports)
        text = text[1:]
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    lines: list[int] = []
    body: list[list[str]] = []
    for row in reader:
        if not any(c.strip() for c in row):
            continue
        if header is None:
            header = check_header(row, source, reader.line_num)
            continue
        if len(row) != len(header):
            raise TraceError(f"{source}:{reader.line_num}: row has {len(row)} values, header has {len(header)}")
        body.append(row)
        lines.append(reader.line_num)
    if header is None:
        raise TraceError(f"{source}: empty file; expected a header row of proposition names")
    values = np.empty((len(body), len(header)), dtype=np.float64)
    for i, row in enumerate(body):
        for j, cell in enumerate(row):
            try:
                values[i, j] = float(cell)
            except ValueError:
                raise TraceError(
                    f"{source}:{lines[i]}:{j + 1}: {cell!r} in column {header[j]!r} is not a number"
                ) from None
    times = None
    if TIME_COLUMN in header:
        t = header.index(TIME_COLUMN)
        times = values[:, t].copy()
        for i in range(len(times)):
            if not np.isfinite(times[i]):
                raise TraceError(f"{source}:{lines[i]}:{t + 1}: time {body[i][t].strip()!r} is not a finite number of seconds")
            if i and not times[i] > times[i - 1]:
                raise TraceError(
                    f"{source}:{lines[i]}:{t + 1}: time {body[i][t].strip()} is not after the previous "
                    f"row's {body[i - 1][t].strip()}; times must be strictly increasing"
                )
        values = np.delete(values, t, axis=1)
        header.pop(t)
    try:
        return TraceTable(tuple(header), values, times, fps)
    except TraceError as e:
        raise TraceError(f"{source}: {e}") from None


def check_header(row: Sequence[str], source: str, line: int = 1) -> list[str]:
    """The column names of a CSV header row, stripped; raises :class:`TraceError`
    naming the line and column of an empty or repeated name."""
    header = [h.strip() for h in row]
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:].strip()
    first: dict[str, int] = {}
    for j, h in enumerate(header):
        if not h:
            raise TraceError(f"{source}:{line}:{j + 1}: empty column name in header {header}")
        if h in first:
            raise TraceError(
                f"{source}:{line}:{j + 1}: column {h!r} appears twice (columns {first[h] + 1} and {j + 1}); "
                "give each column its own name"
            )
        first[h] = j
    return header
