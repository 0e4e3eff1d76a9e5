"""One reader for every table format: CSV, Parquet, Feather/Arrow IPC and NumPy.

:func:`read_table` turns a file of per-frame values (an external detector's
probabilities, telemetry) into a :class:`~framelogic.logic.trace.TraceTable`
through pyarrow, so CSV parsing runs in C (a million rows in a fraction of a
second) and every format follows the same rules:

* the columns are the propositions; ``columns={"ped": "pedestrian_prob"}``
  reads proposition ``ped`` from column ``pedestrian_prob`` (a rename);
* text columns (labels, ids) are ignored unless a proposition reads them, and
  then the error names the file, line and value;
* the time column (``time`` by default) holds seconds, or a timestamp /
  duration type (seconds since its first row); it also gives the sampling rate;
* missing values (empty cells, NaN) follow ``nan=``: ``"error"`` (default; the
  message names the file and line), ``"zero"`` (probability 0), or ``"drop"``
  (the row is removed; only with a time column, so frames keep their times).

``.npy`` files hold a structured array (its field names are the columns) or a
2-D array with ``names=``; ``.npz`` files one 1-D array per column.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .errors import InputError, InvalidValue, TraceError

#: How missing values (empty cells, NaN) are handled.
NAN_POLICIES = ("error", "zero", "drop")
#: File suffixes :func:`read_table` reads, by format.
FORMATS: Mapping[str, str] = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
    ".feather": "arrow", ".arrow": "arrow", ".ipc": "arrow", ".npy": "numpy", ".npz": "numpy",
}  # fmt: skip
TIME_COLUMN = "time"


class _Source:
    """A table's path, or its bytes and a name for messages."""

    def __init__(self, path: str | os.PathLike[str], data: bytes | None) -> None:
        self.path, self.data = Path(path), data
        self.suffix = self.path.suffix

    def __str__(self) -> str:
        return str(self.path)

    def is_file(self) -> bool:
        return self.path.is_file()

    def data_stream(self):  # type: ignore[no-untyped-def]
        import io

        return io.BytesIO(self.data)

    def text(self, errors: str = "strict") -> str:
        raw = self.data if self.data is not None else self.path.read_bytes()
        return raw.decode("utf-8-sig", errors=errors)


def parse_columns(spec: str | Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    """``{"ped": "pedestrian_prob"}`` from ``"ped=pedestrian_prob,car=car_prob"`` (or a list, or a mapping).

    >>> parse_columns("ped=pedestrian_prob, car=car_prob")
    {'ped': 'pedestrian_prob', 'car': 'car_prob'}
    """
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        return {str(k): str(v) for k, v in spec.items()}
    items = spec.split(",") if isinstance(spec, str) else [x for s in spec for x in s.split(",")]
    out: dict[str, str] = {}
    for item in (i.strip() for i in items):
        if not item:
            continue
        name, sep, column = (s.strip() for s in item.partition("="))
        if not sep or not name or not column:
            raise InvalidValue(f"columns: {item!r} must read NAME=COLUMN, e.g. ped=pedestrian_prob")
        out[name] = column
    return out


def read_table(
    path: str | os.PathLike[str],
    *,
    columns: Mapping[str, str] | None = None,
    require: Sequence[str] = (),
    time: str | None = TIME_COLUMN,
    nan: str = "error",
    fps: float | None = None,
    names: Sequence[str] | None = None,
    data: bytes | None = None,
):  # type: ignore[no-untyped-def]
    """A :class:`TraceTable` of the numeric columns of the file at ``path``.

    ``columns`` maps proposition names to the file's column names (the table's
    column is then named after the proposition); ``require`` lists names that
    must be present as numeric columns; ``time`` is the name of the time column
    (``None``: none); ``nan`` is the missing-value policy (:data:`NAN_POLICIES`);
    ``names`` labels the columns of a plain 2-D ``.npy`` array. With ``data``
    (CSV bytes, e.g. standard input) ``path`` only names the source in messages.
    """
    from .trace import TraceTable

    p = _Source(path, data)
    if nan not in NAN_POLICIES:
        raise InvalidValue(f"nan={nan!r} must be one of {', '.join(NAN_POLICIES)}")
    kind = "csv" if data is not None else FORMATS.get(p.suffix.lower(), "csv")
    if data is None and not p.is_file():
        raise InputError(f"{str(p)!r}: no such file; give the path of a table ({', '.join(sorted(set(FORMATS)))})")
    cols = _read_columns(p, kind, names)  # name -> numpy array (float, datetime64, timedelta64 or object)
    mapping = dict(columns or {})
    missing = [c for c in mapping.values() if c not in cols]
    if missing:
        raise TraceError(f"{p}: no column {missing[0]!r} (from columns=); it has {list(cols)}")
    rename = {c: n for n, c in mapping.items()}
    times = None
    if time is not None and time in cols and time not in rename:
        times = _seconds(p, kind, time, cols.pop(time))
    wanted = set(require) | set(mapping)
    out_names: list[str] = []
    arrays: list[np.ndarray] = []
    for c, arr in cols.items():
        name = rename.get(c, c)
        if name in mapping and mapping[name] != c:
            continue  # the proposition reads another column; this one is shadowed
        if arr.dtype.kind in "biuf":
            arrays.append(arr.astype(np.float64))
            out_names.append(name)
        elif name in wanted:
            bad = next((i for i, v in enumerate(arr) if not _is_number(v)), 0)
            raise TraceError(
                f"{_where(p, kind, bad)}: column {c!r} holds text ({arr[bad]!r}), not probabilities; "
                "fix the column, or map the proposition to another one (--columns NAME=COLUMN)"
            )
        # other text / timestamp columns (labels, ids) are not propositions: ignored
    if not arrays and not require and not mapping:
        text = [c for c, a in cols.items() if a.dtype.kind not in "biufmM"]
        if text:
            bad = next((i for i, v in enumerate(cols[text[0]]) if not _is_number(v)), 0)
            raise TraceError(
                f"{_where(p, kind, bad)}: column {text[0]!r} holds text, and no column holds numbers; "
                "a trace table needs a column of probabilities (0/1 or numbers in [0, 1])"
            )
    absent = [n for n in require if n not in out_names]
    if absent:
        raise TraceError(
            f"{p}: no column for {absent}; it has {[c for c in cols]}. "
            "Name the columns after the propositions, or map them: --columns NAME=COLUMN"
        )
    n = len(next(iter(cols.values()))) if cols else (0 if times is None else len(times))
    values = np.stack(arrays, axis=1) if arrays else np.zeros((n, 0))
    values, times = _apply_nan(p, kind, values, times, out_names, nan)
    try:
        return TraceTable(tuple(out_names), values, times, fps)
    except TraceError as e:
        raise TraceError(_with_line(str(e), p, kind)) from None


# A cell a table reader takes for a number: plain decimal notation (Python's float()
# also accepts "1_0" and padded text, which the readers keep as strings).
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(nan|inf|infinity)", re.IGNORECASE)


def _is_number(v: object) -> bool:
    if isinstance(v, (int, float, np.number)):
        return True
    return isinstance(v, str) and _NUMBER.fullmatch(v) is not None


def _read_columns(p: _Source, kind: str, names: Sequence[str] | None) -> dict[str, np.ndarray]:
    if kind == "numpy":
        return _read_numpy(p, names)
    import pyarrow as pa

    try:
        if kind == "csv":
            from pyarrow import csv

            delim = "\t" if p.suffix.lower() == ".tsv" else ","
            table = csv.read_csv(
                p.data_stream() if p.data is not None else str(p),
                read_options=csv.ReadOptions(encoding="utf8"),
                parse_options=csv.ParseOptions(delimiter=delim, ignore_empty_lines=True),
                convert_options=csv.ConvertOptions(strings_can_be_null=True),
            )
        elif kind == "parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(str(p))
        else:
            import pyarrow.feather as feather

            table = feather.read_table(str(p))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, UnicodeDecodeError) as e:
        if kind == "csv":
            _explain_csv(p)  # the line-by-line parser names the line and column of the mistake
        raise InputError(f"{p}: cannot read as {kind}: {_arrow_message(e)}") from None
    try:
        column_names = table.column_names
    except UnicodeDecodeError:  # pyarrow does not check the header's encoding
        if kind == "csv":
            _explain_csv(p)
        raise InputError(f"{p}: the header is not UTF-8 text") from None
    out: dict[str, np.ndarray] = {}
    for k, (name, col) in enumerate(zip(column_names, table.columns)):
        name = str(name).replace("\ufeff", "").strip()  # byte order marks are not part of names
        if not name:
            raise TraceError(f"{p}:1: empty column name in the header {table.column_names}")
        if name in out:
            raise TraceError(f"{p}:1: column {name!r} appears twice in the header; each column needs its own name")
        out[name] = _to_numpy(col)
    return out


def _explain_csv(p: _Source) -> None:
    from .trace import parse_csv

    import csv

    try:
        text = p.text()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{str(p)!r}: cannot read: {e}") from None
    try:
        parse_csv(text, source=str(p))
    except csv.Error as e:
        raise InputError(f"{p}: not a CSV table: {e}") from None


def _arrow_message(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _to_numpy(col) -> np.ndarray:  # type: ignore[no-untyped-def]
    import pyarrow as pa

    t = col.type
    if pa.types.is_null(t):
        return np.full(len(col), np.nan)
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)  # nulls -> NaN
    if pa.types.is_boolean(t):
        return np.array([np.nan if v is None else float(v) for v in col.to_pylist()])
    if pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_duration(t):
        return col.to_numpy(zero_copy_only=False)
    return np.asarray(col.to_pylist(), dtype=object)


def _read_numpy(p: _Source, names: Sequence[str] | None) -> dict[str, np.ndarray]:
    try:
        data = np.load(p.path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise InputError(f"{p}: cannot read as NumPy: {e}") from None
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            out = {k: np.asarray(data[k]) for k in data.files}
        bad = {k: v.shape for k, v in out.items() if v.ndim != 1}
        if bad or len({len(v) for v in out.values()}) > 1:
            raise TraceError(f"{p}: every array must be 1-D and of one length; got {({k: v.shape for k, v in out.items()})}")
        return out
    if data.dtype.names:
        return {n: np.asarray(data[n]) for n in data.dtype.names}
    if data.ndim == 1 and names is not None and len(names) == 1:
        data = data[:, None]
    if data.ndim != 2:
        raise TraceError(f"{p}: a NumPy table is a structured array or a 2-D array (frames x columns), not shape {data.shape}")
    if names is None or len(names) != data.shape[1]:
        raise TraceError(
            f"{p}: a plain {data.shape[0]}x{data.shape[1]} array has no column names; save a structured "
            f"array (or an .npz of named 1-D arrays), or pass names= with {data.shape[1]} names"
        )
    return {n: data[:, j] for j, n in enumerate(names)}


def _seconds(p: _Source, kind: str, name: str, arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind == "M":  # timestamps: seconds since the first one
        t = (arr - arr[0]) / np.timedelta64(1, "ns") / 1e9 if len(arr) else arr.astype(np.float64)
    elif arr.dtype.kind == "m":
        t = arr / np.timedelta64(1, "ns") / 1e9
    elif arr.dtype.kind in "biuf":
        t = arr.astype(np.float64)
    else:
        bad = next((i for i, v in enumerate(arr) if not _is_number(v)), 0)
        raise TraceError(f"{_where(p, kind, bad)}: time {arr[bad]!r} is neither seconds nor a timestamp (ISO 8601)")
    t = np.asarray(t, dtype=np.float64)
    if len(t) and not np.isfinite(t).all():
        bad = int(np.flatnonzero(~np.isfinite(t))[0])
        raise TraceError(f"{_where(p, kind, bad)}: the {name!r} column is empty or not finite here")
    if len(t) > 1 and not np.all(np.diff(t) > 0):
        bad = int(np.flatnonzero(np.diff(t) <= 0)[0]) + 1
        raise TraceError(f"{_where(p, kind, bad)}: times must be strictly increasing ({t[bad - 1]:g} then {t[bad]:g})")
    return t


def _apply_nan(
    p: _Source, kind: str, values: np.ndarray, times: np.ndarray | None, names: list[str], policy: str
) -> tuple[np.ndarray, np.ndarray | None]:
    missing = np.isnan(values)
    if not missing.any():
        return values, times
    if policy == "zero":
        return np.where(missing, 0.0, values), times
    if policy == "drop":
        if times is None:
            raise TraceError(f"{p}: nan='drop' needs a time column, so the remaining frames keep their times")
        keep = ~missing.any(axis=1)
        return values[keep], times[keep]
    i, j = map(int, np.argwhere(missing)[0])
    raise TraceError(
        f"{_where(p, kind, i)}: {names[j]!r} is missing (empty or NaN); fill it, or choose a policy: "
        "nan='zero' (--nan zero) or nan='drop' (--nan drop)"
    )


def _where(p: _Source, kind: str, row: int) -> str:
    """``file:line`` of data row ``row`` (CSV: counting the header and skipped blank lines)."""
    if kind != "csv":
        return f"{p}: row {row}"
    return f"{p}:{_csv_line(p, row)}"


def _csv_line(p: _Source, row: int) -> int:
    seen = -1  # the header is row -1
    for lineno, line in enumerate(p.text(errors="replace").splitlines(), 1):
        if line.strip():
            if seen == row:
                return lineno
            seen += 1
    return row + 2  # pragma: no cover - the row exists


def _with_line(message: str, p: _Source, kind: str) -> str:
    """TraceTable's 'at frame i' becomes the file's line."""
    import re

    m = re.search(r" at frame (\d+)", message)
    if not m:
        return f"{p}: {message}"
    return f"{_where(p, kind, int(m.group(1)))}: " + message.replace(m.group(0), "")
