"""Random trace tables as bytes (issue 11): headers with a BOM, ``time`` twice,
repeated or empty names; cells with NaN, inf, strings, quotes, blank lines,
ragged rows; non-UTF-8 bytes. Every file loads or raises a
:class:`FramelogicError` (with the file, line and column when it names a cell);
every table that loads is a valid trace and survives a CSV round trip."""

from __future__ import annotations

import re

import numpy as np
import pytest
from fuzzing import fuzz_settings
from hypothesis import example, given
from hypothesis import strategies as st

from framelogic.logic.errors import FramelogicError
from framelogic.logic.trace import TIME_COLUMN, parse_csv, read_csv

NAMES = ["a", "b", "car", "time", "time", "", " a ", "é", "a,b", '"q"', "x y", "\ufefftime", "1"]
CELLS = ["0", "1", "0.5", "1e-300", "5e-324", "nan", "NaN", "inf", "-inf", "-0", "1.0000001", "2", "-1", "x",
         "", " ", "1e400", '"0.5"', "0x1", "½", "1_0", "0.25 ", "0.123456789012", "0.9999999999999999"]  # fmt: skip
TIMES = ["0", "0.1", "0.2", "0.3", "0.2", "1e9", "nan", "inf", "-1", "x", "", "3600.0333333333", "3600.0333333334"]


@st.composite
def csv_bytes(draw: st.DrawFn) -> bytes:
    header = draw(st.lists(st.sampled_from(NAMES), min_size=0, max_size=5))
    rows = []
    for i in range(draw(st.integers(0, 8))):
        width = len(header) + draw(st.sampled_from([0, 0, 0, 0, -1, 1]))
        row = []
        for name in header[: max(width, 0)]:
            pool = TIMES if name.strip().lstrip("\ufeff") == TIME_COLUMN and draw(st.booleans()) else CELLS
            row.append(draw(st.sampled_from(pool)) if draw(st.integers(0, 3)) else ("0" if name != "time" else f"{i * 0.1:.1f}"))
        rows.append(",".join(row))
        if draw(st.integers(0, 5)) == 0:
            rows.append(draw(st.sampled_from(["", "   ", ",,"])))
    text = ",".join(header) + "\n" + "\n".join(rows) + draw(st.sampled_from(["", "\n", "\r\n", "\n\n"]))
    data = text.encode("utf-8")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data  # BOM
    for _ in range(draw(st.integers(0, 2))):  # raw byte damage
        i = draw(st.integers(0, len(data)))
        data = data[:i] + draw(st.sampled_from([b"\xff", b"\x00", b"\r", b'"', b",", b"\n"])) + data[i:]
    return data


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-tables")


POSITION = re.compile(r":\d+(:\d+)?: ")


@fuzz_settings(ci=3_000, dev=200)
@given(data=csv_bytes())
@example(data=b"time\n1_0")  # float() reads "1_0" as 10; the table reader keeps it as text
@example(data=b"time,a\n0,1_0\n1,0\n")
def test_any_table_bytes_load_or_raise_a_framelogic_error(folder, data):
    path = folder / "t.csv"
    path.write_bytes(data)
    try:
        t = read_csv(path)
    except FramelogicError as e:
        message = str(e)
        if "column" in message and ("not a number" in message or "twice" in message):
            assert POSITION.search(message), message  # a cell or a header name: line and column
        return
    v = t.values
    assert np.all(np.isfinite(v)) and np.all((v >= 0) & (v <= 1))
    assert TIME_COLUMN not in t.names and len(set(t.names)) == len(t.names)
    assert all(n == n.strip() and n for n in t.names)
    if data.startswith(b"\xef\xbb\xbf"):  # a leading byte order mark changes nothing
        plain = folder / "plain.csv"
        plain.write_bytes(data[3:])
        u = read_csv(plain)
        assert u.names == t.names and np.array_equal(u.values, t.values)
        assert (u.times is None) == (t.times is None) and (t.times is None or np.array_equal(u.times, t.times))
    if t.times is not None:
        assert np.all(np.isfinite(t.times)) and np.all(np.diff(t.times) > 0)
    again = parse_csv(t.to_csv())
    assert again.names == t.names and np.array_equal(again.values, t.values)
    if t.times is not None:
        assert np.array_equal(again.times, t.times)
