"""Issue 11 (logic side): long chains parse in linear time, numbers that overflow
and formulas that nest too deeply are clear errors, trace CSVs report what is
wrong where, and the atomic writer never overwrites an input."""

import os
import sys

import pytest

from framelogic.logic import ast as A
from framelogic.logic import parse, to_text
from framelogic.logic.errors import FormulaSyntaxError, FramelogicError, InputError, InvalidValue, TraceError
from framelogic.logic.passes import resolve_time
from framelogic.logic import trace
from framelogic.logic.trace import atomic_write_text, parse_csv, read_csv


def _calls(fn) -> int:  # type: ignore[no-untyped-def]
    """Python and builtin function calls made by ``fn()``: a machine-independent cost."""
    count = 0

    def prof(frame, event, arg):  # type: ignore[no-untyped-def]
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(prof)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return count


@pytest.mark.parametrize("op", ["&", "|"])
def test_parsing_a_long_chain_costs_linear_work(op):
    def chain(n):  # type: ignore[no-untyped-def]
        return f" {op} ".join(f"a{i}" for i in range(n))

    small, large = _calls(lambda: parse(chain(1500))), _calls(lambda: parse(chain(3000)))
    # linear work doubles with the input; quadratic work would quadruple
    assert large < 2.6 * small, (small, large)


def test_a_chain_of_20000_atoms_parses_flat():
    n = 20_000
    f = parse(" & ".join(f"a{i}" for i in range(n)) + " | " + " | ".join(f"b{i}" for i in range(n)))
    assert isinstance(f, A.Or) and len(f.args) == n + 1 and len(f.args[0].args) == n
    assert parse(to_text(f)) == f


def test_n_ary_chains_still_normalize_like_the_smart_constructors():
    assert parse("a & b & a & true") == A.conj(A.atom("a"), A.atom("b"))
    assert parse("a & (b & c) & d") == A.conj(*map(A.atom, "abcd"))
    assert parse("a & !a & b") == A.FALSE
    assert parse("a | false | b | !b") == A.TRUE
    assert parse("a & b | c & d") == A.disj(A.conj(A.atom("a"), A.atom("b")), A.conj(A.atom("c"), A.atom("d")))


@pytest.mark.parametrize(
    "text",
    [
        "F[0,1e400] a",
        "F[0,1e400s] a",
        "G[1e400ms,inf] a",
        "F[0,1e308] a",
        "a U[0,99999999999999999999] b",
        "F[0,1e300s] a",
    ],
)
def test_bounds_that_overflow_are_syntax_errors_with_a_position(text):
    with pytest.raises(FormulaSyntaxError) as e:
        parse(text)
    assert e.value.line == 1 and e.value.column == 2 + text.index("[") - 1 or e.value.column >= 1
    assert "limit" in str(e.value) or "too large" in str(e.value)


def test_the_bound_limits_are_decided_by_bound_itself():
    with pytest.raises(InvalidValue):
        A.Bound(0, float("inf"), "s")
    with pytest.raises(InvalidValue):
        A.Bound(0, A.MAX_BOUND_FRAMES + 1)
    with pytest.raises(InvalidValue):
        A.Bound(float("nan"), None, "s")
    assert A.Bound(0, A.MAX_BOUND_FRAMES).hi == A.MAX_BOUND_FRAMES


def test_time_bounds_at_a_huge_rate_are_clear_errors_not_huge_numbers():
    f = parse("F[0,1s] a")
    with pytest.raises(InvalidValue, match="fps"):
        resolve_time(f, 1e308)
    with pytest.raises(InvalidValue, match="frames"):
        resolve_time(parse("F[0,100000000s] a"), 1000.0)
    assert to_text(resolve_time(f, 30.0)) == "F[0,30] a"


def test_time_bounds_print_finite_and_reparse():
    for text in ("F[0,1e-5s] a", "F[0.5s,1e8s] a", "G[100ms,2min] a"):
        f = parse(text)
        assert parse(to_text(f)) == f
        assert "inf" not in to_text(f)


@pytest.mark.parametrize(
    "text",
    [
        "X " * 5000 + "a",
        " -> ".join(f"a{i}" for i in range(3000)),
        "(X " * 3000 + "a" + ")" * 3000,
        "!X " * 3000 + "a",
        "F[0,3] " * 3000 + "a",
        " U ".join(f"a{i}" for i in range(3000)),
    ],
)
def test_deep_formulas_are_refused_during_the_parse(text):
    with pytest.raises(FormulaSyntaxError, match="nests"):
        parse(text)


# --------------------------------------------------------------------------- tables


def test_csv_with_a_byte_order_mark_keeps_its_time_column(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes("\ufefftime,a\n0,1\n0.5,0\n".encode())
    t = read_csv(p)
    assert t.names == ("a",) and t.rate == 2.0
    assert parse_csv("\ufefftime,a\n0,1\n").names == ("a",)


def test_errors_in_csv_name_the_real_line_despite_blank_lines():
    with pytest.raises(TraceError, match=r"<csv>:5:2: 'x' in column 'a'"):
        parse_csv("time,a\n\n0,1\n\n1,x\n")
    with pytest.raises(TraceError, match=r"<csv>:4: row has 1 values"):
        parse_csv("a,b\n\n1,0\n1\n")


@pytest.mark.parametrize("cell", ["nan", "NaN", "inf", "-inf"])
def test_a_time_that_is_not_finite_is_an_error_naming_line_and_column(cell):
    with pytest.raises(TraceError, match=r"<csv>:3:2: .*time"):
        parse_csv(f"a,time\n1,0\n1,{cell}\n")


def test_decreasing_times_name_the_line():
    with pytest.raises(TraceError, match=r"<csv>:4:1: .*increas"):
        parse_csv("time,a\n0,1\n1,1\n0.5,1\n")


@pytest.mark.parametrize("header", ["time,a,time", "a,b,a", "a, a"])
def test_duplicate_columns_are_errors_naming_the_column(header):
    n = len(header.split(","))
    with pytest.raises(TraceError, match=r"<csv>:1:\d+: .*twice"):
        parse_csv(header + "\n" + ",".join(["0"] * n) + "\n")


# --------------------------------------------------------------------------- writing


def test_the_atomic_writer_refuses_to_overwrite_an_input(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("a\n1\n")
    link = tmp_path / "hard.csv"
    os.link(src, link)
    for out in (src, link, tmp_path / "sub" / ".." / "in.csv"):
        if out.parent.exists():
            with pytest.raises(InputError, match="input"):
                atomic_write_text(out, "x\n", inputs=[src])
    assert src.read_text() == "a\n1\n"
    atomic_write_text(tmp_path / "out.csv", "x\n", inputs=[src, tmp_path / "missing.csv"])
    assert (tmp_path / "out.csv").read_text() == "x\n"
    trace.check_output_path(tmp_path / "new.csv", [src])  # a new file is fine


def test_writing_under_a_file_is_a_clear_error(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(InputError, match="cannot write"):
        atomic_write_text(f / "x.csv", "data")
    with pytest.raises(FramelogicError):
        atomic_write_text(tmp_path / "nodir" / "x.csv", "data")
