"""Issue 11 (queries side): outputs never replace inputs, imports cannot read
arbitrary files, numbers that overflow and formulas that nest too deeply in
``.tl`` files are clear errors with file:line:col, and the CLI's exit codes keep
their meaning (1 is only ever "found")."""

import os
import re

import pytest

from framelogic.logic.errors import FormulaSyntaxError, FramelogicError, InputError
from framelogic.queries import cli
from framelogic.queries.cli import main
from framelogic.queries import queryfile
from framelogic.queries.queryfile import load_query_file, parse_query_text


def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse rejects an argument
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def write(path, text):
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- item 1: --out is an input


@pytest.fixture
def table(tmp_path):
    return write(tmp_path / "in.csv", "time,a,b\n0,0,0\n0.5,1,0\n1,1,1\n1.5,0,1\n")


def test_eval_refuses_to_overwrite_its_table(table, capsys):
    before = table.read_bytes()
    code, out, err = run(capsys, "eval", "a U b", table, "--out", table, "--format", "csv")
    assert code == 2 and "refusing to write" in err and "in.csv" in err
    assert table.read_bytes() == before


def test_eval_refuses_an_output_that_is_a_link_to_its_table(table, tmp_path, capsys):
    link = tmp_path / "link.csv"
    os.link(table, link)
    before = table.read_bytes()
    code, _, err = run(capsys, "eval", "a", table, "--out", link)
    assert code == 2 and "refusing" in err and table.read_bytes() == before


def test_search_refuses_to_overwrite_a_source_or_the_query_file(table, tmp_path, capsys):
    q = write(tmp_path / "q.tl", 'prop a = column "a"\nprop b = column "b"\nquery q: a & !b\n')
    before_t, before_q = table.read_bytes(), q.read_bytes()
    for out in (table, q, tmp_path / "." / "in.csv"):
        code, _, err = run(capsys, "search", q, table, "--out", out, "--format", "csv", "--quiet")
        assert code == 2 and "refusing to write" in err, err
    assert table.read_bytes() == before_t and q.read_bytes() == before_q
    code, _, err = run(capsys, "search", q, table, "--out", tmp_path / "found.csv", "--format", "csv", "--quiet")
    assert code == 0 and (tmp_path / "found.csv").read_text().startswith("query,")


def test_search_refuses_to_overwrite_a_video_found_in_a_folder(tmp_path, capsys):
    videos = tmp_path / "videos"
    videos.mkdir()
    clip = write(videos / "clip.mp4", "not really a video")
    q = write(tmp_path / "q.tl", 'query q: F "a car"\n')
    sidecar = write(videos / "clip.csv", "a\n1\n")  # the table of a video's column propositions
    for out in (clip, sidecar):
        code, _, err = run(capsys, "search", q, videos, "--out", out, "--format", "csv", "--quiet")
        assert code == 2 and "refusing to write" in err
    assert clip.read_text() == "not really a video" and sidecar.read_text() == "a\n1\n"


# --------------------------------------------------------------------------- item 12: unwritable outputs


def test_out_under_a_file_is_a_clear_error(table, tmp_path, capsys):
    code, _, err = run(capsys, "eval", "a", table, "--out", table / "x.csv")
    assert code == 2 and "cannot write" in err and "Traceback" not in err


def test_demo_out_that_cannot_be_created_is_a_clear_error(tmp_path, capsys):
    blocker = write(tmp_path / "file", "x")
    code, _, err = run(capsys, "demo", "--out", blocker / "demo", "--quick")
    assert code == 2 and "cannot create" in err
    if os.path.isdir("/proc/self"):
        code, _, err = run(capsys, "demo", "--out", "/proc/demo", "--quick")
        assert code == 2 and "cannot create" in err


# --------------------------------------------------------------------------- exit codes


def test_unexpected_exceptions_do_not_exit_1(monkeypatch, table, capsys):
    def boom(args):  # type: ignore[no-untyped-def]
        raise RuntimeError("something broke")

    monkeypatch.setattr(cli, "cmd_eval", boom)
    parser = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda: _with_run(parser(), "eval", boom))
    code, _, err = run(capsys, "eval", "a", table)
    assert code == cli.EXIT_INTERNAL == 3
    assert "internal error" in err and "RuntimeError: something broke" in err


def _with_run(parser, command, fn):  # type: ignore[no-untyped-def]
    sub = next(a for a in parser._actions if a.dest == "command")
    sub.choices[command].set_defaults(run=fn)
    return parser


# --------------------------------------------------------------------------- item 9: overflow


@pytest.mark.parametrize(
    "argv, message",
    [
        (["check", "F[0,1e400] a"], "too large"),
        (["check", "F[0,1e400s] a", "--fps", "5"], "too large"),
        (["check", "F[0,1s] a", "--fps", "1e308"], "fps"),
        (["check", "F[0,100000000s] a", "--fps", "1000"], "frames"),
    ],
)
def test_overflowing_numbers_exit_2_with_a_message(argv, message, capsys):
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err
    assert not re.search(r"\d{20}", out + err)  # no 309-digit bound


def test_check_prints_time_bounds_that_reparse(capsys):
    code, out, _ = run(capsys, "check", "F[0,1e8s] a")
    assert code == 0 and "infs" not in out


@pytest.mark.parametrize(
    "stmt, col",
    [("set stride = 1e400", 5), ("set fps = 1e400", 5), ("set fps = 1e7", 5), ("set stride = 2.5", 5),
     ("set threshold = 1e400", 5)],
)
def test_settings_that_overflow_are_errors_with_a_position(stmt, col):
    with pytest.raises(FormulaSyntaxError) as e:
        parse_query_text("prop a = \"x\"\n" + stmt + "\nquery q: a\n", source="q.tl")
    assert (e.value.source, e.value.line, e.value.column) == ("q.tl", 2, col)


def test_overflowing_bounds_in_query_files_name_the_position():
    with pytest.raises(FormulaSyntaxError) as e:
        parse_query_text('prop a = "x"\nquery q:\n  F[0,1e400] a\n', source="q.tl")
    assert (e.value.line, e.value.column) == (3, 7)


# --------------------------------------------------------------------------- item 10: depth in .tl files


@pytest.mark.parametrize(
    "formula",
    ["X " * 5000 + "a", " -> ".join(["a"] * 3000), "G " * 300 + "a", " U ".join(["a"] * 3000)],
)
def test_deep_formulas_in_query_files_are_clear_errors(formula, tmp_path, capsys):
    p = write(tmp_path / "deep.tl", f'prop a = "x"\n\nquery q: {formula}\n')
    with pytest.raises(FormulaSyntaxError, match="nests") as e:
        load_query_file(p)
    assert e.value.source == str(p) and e.value.line == 3
    code, _, err = run(capsys, "check", p)
    assert code == 2 and f"{p}:3:" in err


def test_deep_assumptions_are_clear_errors():
    with pytest.raises(FormulaSyntaxError, match="nests"):
        parse_query_text('prop a = "x"\nassume ' + "X " * 1000 + "a\nquery q: a\n")


# --------------------------------------------------------------------------- item 8: imports


_DEVICE_IMPORT = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # a regression fails here, not the machine
from framelogic.logic.errors import InputError
from framelogic.queries.queryfile import parse_query_text
for target in sys.argv[1:]:
    try:
        parse_query_text(f'import "{target}"\\n', source="q.tl")
    except InputError as e:
        print("refused:", e)
"""


def test_importing_a_device_is_refused_without_reading_it(tmp_path):
    import subprocess
    import sys

    dev = tmp_path / "zero.tl"
    dev.symlink_to("/dev/zero")
    fifo = tmp_path / "pipe.tl"
    os.mkfifo(fifo)  # opening it would block forever
    r = subprocess.run(
        [sys.executable, "-c", _DEVICE_IMPORT, "/dev/zero", str(dev), str(fifo)],
        capture_output=True, text=True, timeout=120,
    )
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and len(lines) == 3, r.stderr[-2000:]
    assert all("q.tl:1:8" in line for line in lines)
    assert "only query files" in lines[0] and "only query files" in lines[1] and "regular file" in lines[2]


def test_importing_a_non_query_file_never_shows_its_content(tmp_path):
    secret = write(tmp_path / "shadow", "root:TOPSECRET:19000:0:99999:7:::\n")
    for target in (secret, tmp_path / "shadow.tl"):
        if target != secret:
            target.symlink_to(secret)
        with pytest.raises(InputError) as e:
            parse_query_text(f'import "{target}"\n', source="q.tl")
        assert "TOPSECRET" not in str(e.value) and ".tl" in str(e.value)
        assert str(e.value).startswith("q.tl:1:8")


def test_importing_a_folder_or_a_huge_file_is_refused(tmp_path):
    (tmp_path / "dir.tl").mkdir()
    with pytest.raises(InputError, match="regular file"):
        parse_query_text('import "dir.tl"\n', source="q.tl", base_dir=tmp_path)
    big = tmp_path / "big.tl"
    big.write_text("# " + "x" * getattr(queryfile, "MAX_QUERY_FILE_BYTES", 2**20) + "\n")
    with pytest.raises(InputError, match="larger than"):
        parse_query_text('import "big.tl"\n', source="q.tl", base_dir=tmp_path)
    with pytest.raises(InputError, match="larger than"):
        load_query_file(big)


def test_an_import_path_with_nul_is_a_clear_error():
    with pytest.raises(FormulaSyntaxError, match="NUL") as e:
        parse_query_text('import "a\\0b.tl"\n', source="q.tl")
    assert (e.value.line, e.value.column) == (1, 8)


def test_imports_of_query_files_still_work(tmp_path):
    write(tmp_path / "common.tl", 'prop a = "x"\n')
    write(tmp_path / "more.ltl", 'prop b = "y"\n')
    q = parse_query_text('import "common.tl"\nimport "more.ltl"\nquery q: a & b\n', base_dir=tmp_path)
    assert set(q.props) == {"a", "b"}


def test_a_query_file_that_is_not_utf8_is_a_clear_error(tmp_path):
    p = tmp_path / "bad.tl"
    p.write_bytes(b"prop a = \"\xff\xfe\"\n")
    with pytest.raises(InputError, match="UTF-8"):
        load_query_file(p)


# --------------------------------------------------------------------------- minor: modes, blank prompts


@pytest.mark.parametrize(
    "text, line, col",
    [
        ('prop a = "x"\nquery q: a mode bogus\n', 2, 17),
        ('prop a = "x"\nset mode = bogus\nquery q: a\n', 2, 5),
        ('prop a = ""\nquery q: a\n', 1, 10),
        ('prop a = "x", "  "\nquery q: a\n', 1, 15),
        ('prop a = "x" vs ""\nquery q: a\n', 1, 17),
        ('prop a = column ""\nquery q: a\n', 1, 17),
        ('prop a = "x" templates ""\nquery q: a\n', 1, 24),
    ],
)
def test_bogus_modes_and_blank_prompts_are_errors_with_a_position(text, line, col, tmp_path, capsys):
    with pytest.raises(FormulaSyntaxError) as e:
        parse_query_text(text, source="q.tl")
    assert (e.value.line, e.value.column) == (line, col), str(e.value)
    p = write(tmp_path / "q.tl", text)
    code, _, err = run(capsys, "check", p)
    assert code == 2 and f":{line}:{col}:" in err


def test_documented_settings_named_like_keywords_parse():
    q = parse_query_text('set threshold = 0.6\nset mode = tlv\nquery q: "a car" threshold 0.7 mode runs\n')
    assert q.settings == {"threshold": 0.6, "mode": "tlv"} and q.query("q").threshold == 0.7


def test_valid_modes_are_accepted():
    for mode in ("runs", "shortest", "longest", "tlv"):
        q = parse_query_text(f'prop a = "x"\nset mode = {mode}\nquery q: a mode {mode}\n')
        assert q.query("q").mode == mode and q.settings["mode"] == mode


# --------------------------------------------------------------------------- minor: monitor stdin


def test_monitor_stdin_refuses_duplicate_columns(tmp_path, monkeypatch, capsys):
    import io

    q = write(tmp_path / "q.tl", 'prop a = column "a"\nquery q: G a\n')
    monkeypatch.setattr("sys.stdin", io.StringIO("a,a\n1,0\n"))
    code, _, err = run(capsys, "monitor", q, "-")
    assert code == 2 and "<stdin>:1:2" in err and "twice" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("\ufefftime,a\n\n0,1\n0.1,oops\n"))
    code, _, err = run(capsys, "monitor", q, "-")
    assert code == 2 and "<stdin>:4:2" in err
