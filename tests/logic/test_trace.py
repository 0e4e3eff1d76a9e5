"""Trace tables: every accepted input form, and clear errors for bad ones."""

import numpy as np
import pandas as pd
import pytest

from framelogic.logic.errors import InputError, InvalidArgument, TraceError
from framelogic.logic.trace import TraceTable, as_trace, read_csv


def test_all_input_forms_agree():
    expected = np.array([[1, 0], [0.5, 1], [0, 0.25]])
    forms = [
        {"a": [1, 0.5, 0], "b": [0, 1, 0.25]},
        (expected, ["a", "b"]),
        pd.DataFrame({"a": [1, 0.5, 0], "b": [0, 1, 0.25]}),
    ]
    for form in forms:
        t = as_trace(*form) if isinstance(form, tuple) else as_trace(form)
        assert t.names == ("a", "b")
        assert np.array_equal(t.values, expected)
        assert not t.is_boolean


def test_csv_with_time_column_gives_rate(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("time,car,\"a red light\"\n0.0,1,0\n0.1,0,1\n0.2,1,1\n")
    t = read_csv(p)
    assert t.names == ("car", "a red light") and t.is_boolean
    assert t.rate == pytest.approx(10.0) and t.time_of(2) == pytest.approx(0.2)
    assert as_trace(str(p)).names == t.names
    again = tmp_path / "again.csv"
    t.to_csv(again)
    assert np.array_equal(read_csv(again).values, t.values)
    frame = pd.DataFrame({"time": [0.0, 0.5], "a": [1, 0]})
    assert as_trace(frame).rate == pytest.approx(2.0)


def test_explicit_fps_wins_and_select_reorders():
    t = as_trace({"a": [1, 0], "b": [0, 1]}, fps=25)
    assert t.rate == 25 and t.time_of(1) == pytest.approx(0.04)
    assert t.select(["b", "a"]).names == ("b", "a")
    with pytest.raises(TraceError, match=r"missing propositions \['c'\]"):
        t.select(["a", "c"])


@pytest.mark.parametrize(
    "data, message",
    [
        ({"a": [0, 2]}, r"value 2.0 of 'a' at frame 1 is not a probability"),
        ({"a": [0, float("nan")]}, "not a probability"),
        ({"a": [0, 1], "b": [1]}, "one length"),
        ({"time": [0.0, 0.0], "a": [0, 1]}, "strictly increasing"),
    ],
)
def test_bad_tables(data, message):
    with pytest.raises(TraceError, match=message):
        as_trace(data)


def test_bad_arguments_and_files(tmp_path):
    with pytest.raises(InvalidArgument, match="names="):
        as_trace(np.zeros((2, 2)))
    with pytest.raises(InvalidArgument, match="not a trace"):
        as_trace(42)
    with pytest.raises(InputError, match="no such file"):
        as_trace(str(tmp_path / "nope.csv"))
    p = tmp_path / "short.csv"
    p.write_text("a,b\n1\n")
    with pytest.raises(TraceError, match=r"short.csv:2: row has 1 values, header has 2"):
        read_csv(p)
    p.write_text("")
    with pytest.raises(TraceError, match="empty file"):
        read_csv(p)
    with pytest.raises(TraceError, match="duplicate"):
        TraceTable(("a", "a"), np.zeros((1, 2)))
