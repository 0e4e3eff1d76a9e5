"""`framelogic check` and `framelogic eval` as a user runs them."""

import json
import re
import subprocess
import sys

import pytest

from framelogic.queries.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_reports_normal_forms_atoms_and_satisfiability(capsys):
    code, out, _ = run(capsys, "check", 'P>=0.80 [ ("car" & "truck") U "bus" ]')
    assert code == 0
    assert 'formula:    P>=0.8 [ ("car" & "truck") U "bus" ]' in out
    assert 'words:      ("car" and "truck") until "bus"' in out
    assert "atoms:      car, truck, bus" in out
    assert "threshold:  P >= 0.8" in out
    assert "satisfiable: yes" in out and "valid:      no" in out


def test_check_finds_unsatisfiable_and_vacuous_queries(capsys):
    # exit 1: an unsatisfiable or vacuous query is a finding (issue 10)
    code, out, _ = run(capsys, "check", "F a & G !a")
    assert code == 1 and "satisfiable: NO" in out and "automaton:  1 states" in out
    code, out, _ = run(capsys, "check", "F[30,30] a")
    assert "frames 0-29: !a\n    frame 30: a" in out  # exact: beyond any fixed bound
    code, out, _ = run(capsys, "check", "G a -> F a", "--max-len", "6")
    assert code == 1 and "valid:      YES" in out and "6 frames" in out
    code, out, _ = run(capsys, "check", "F (red & green)", "--assume", "G !(red & green)")
    assert code == 1 and "satisfiable: NO" in out
    code, out, _ = run(capsys, "check", "F red", "--assume", "G !(red & green)")
    assert code == 0 and "satisfiable: yes" in out


def test_check_reads_a_file_and_converts_time_bounds(tmp_path, capsys):
    q = tmp_path / "q.ltl"
    q.write_text("# stop within 2 s\nG (red -> F[0,2s] stopped)\n")
    code, out, _ = run(capsys, "check", str(q), "--fps", "5")
    assert code == 0 and "at 5 fps: G (red -> F[0,10] stopped)" in out
    code, out, _ = run(capsys, "check", str(q))
    assert "pass --fps" in out


def test_check_syntax_error_exits_2_with_file_line_column_and_caret(tmp_path, capsys):
    q = tmp_path / "bad.ltl"
    q.write_text("G (red ->\n   F[5,2] stopped)\n")
    code, _, err = run(capsys, "check", str(q))
    assert code == 2
    assert f"{q}:2:5: bound [5,2] is reversed" in err
    assert "       F[5,2] stopped)\n        ^" in err
    code, _, err = run(capsys, "check", str(tmp_path / "missing.ltl"))
    assert code == 2 and "no such file" in err


TRACE = "time,a,b\n0.0,1,0\n0.5,1,0\n1.0,0,1\n1.5,0,0\n"


@pytest.fixture
def trace_csv(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text(TRACE)
    return p


def test_eval_prints_per_frame_truth(trace_csv, capsys):
    code, out, _ = run(capsys, "eval", "a U b", str(trace_csv))
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].split() == ["frame", "time", "holds"]
    assert [line.split()[-1] for line in lines[1:]] == ["1", "1", "1", "0"]


def test_eval_formats_and_out_file(trace_csv, tmp_path, capsys):
    _, out, _ = run(capsys, "eval", "F[0,1s] b", str(trace_csv), "--format", "json")
    rows = json.loads(out)
    assert [r["holds"] for r in rows] == [1.0, 1.0, 1.0, 0.0]  # rate 2 fps from the time column
    _, out, _ = run(capsys, "eval", "X a", str(trace_csv), "--format", "csv")
    assert out.splitlines() == ["frame,time,holds", "0,0,1", "1,0.5,0", "2,1,0", "3,1.5,0"]
    dest = tmp_path / "out.csv"
    code, out, _ = run(capsys, "eval", "a", str(trace_csv), "--format", "csv", "--out", str(dest))
    assert code == 0 and out == "" and dest.read_text().startswith("frame,time,holds")


def test_eval_bad_input(trace_csv, tmp_path, capsys):
    code, _, err = run(capsys, "eval", "a U c", str(trace_csv))
    assert code == 2 and "no column for ['c']" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,0\n1,x\n")
    code, _, err = run(capsys, "eval", "b", str(bad))
    assert code == 2 and f"{bad}:3: column 'b' holds text ('x')" in err
    code, out, _ = run(capsys, "eval", "a", str(bad))  # a text column the formula does not use is ignored
    assert code == 0 and out.split() == ["frame", "holds", "0", "1", "1", "1"]
    code, _, err = run(capsys, "eval", "a", str(trace_csv), "--out", str(tmp_path / "no" / "dir.csv"))
    assert code == 2 and "cannot write" in err
    assert not list((tmp_path).glob("**/.dir.csv*"))


def test_console_script_help_and_version():
    exe = [sys.executable, "-m", "framelogic"]
    out = subprocess.run(exe + ["--help"], capture_output=True, text=True, check=True).stdout
    assert "check" in out and "eval" in out
    out = subprocess.run(exe + ["--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("framelogic ")
    for cmd in ("check", "eval"):
        out = subprocess.run(exe + [cmd, "--help"], capture_output=True, text=True, check=True).stdout
        assert "Example:" in out
    r = subprocess.run(exe + ["check"], capture_output=True, text=True)
    assert r.returncode == 2 and "FORMULA_OR_FILE" in r.stderr


def test_import_framelogic_does_not_import_torch():
    code = "import sys, framelogic, framelogic.logic, framelogic.testing; sys.exit('torch' in sys.modules or 'cv2' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_check_query_file_lists_props_queries_and_flags_problems(tmp_path, capsys):
    (tmp_path / "lights.tl").write_text(
        'prop red = "a red traffic light"\nprop green = "a green traffic light"\nmutex(red, green)\n'
    )
    q = tmp_path / "q.tl"
    q.write_text(
        'import "lights.tl"\nset fps = 5\nprop stopped = "the car is stopped"\n'
        "query stop: G (red -> F[0,2s] stopped)\n"
        "query stop_frames: G (red -> F[0,10] stopped)\n"
        "query never: F (red & green)\n"
        "query trivial: G (red -> true)\n"
        'query nsvs: P>=0.8 [ "a car" U "a person" ]\n'
    )
    code, out, _ = run(capsys, "check", str(q))
    assert code == 1  # 'never' is unsatisfiable, 'trivial' vacuous
    assert "propositions (5):" in out and '"a car"' in out and "(inline prompt)" in out
    assert "assumptions (1):" in out and "G !(red & green)" in out
    assert re.search(r"never: F \(red & green\)\n.*plan: .*\n.*automaton: .*\n      UNSATISFIABLE: no trace matches it", out)
    assert re.search(r"trivial: true\n.*\n.*\n      VACUOUS: every trace matches it", out)
    assert "EQUIVALENT: stop and stop_frames match the same traces (all traces)" in out
    code, out, _ = run(capsys, "check", str(q), "--max-len", "4")
    assert "UNSATISFIABLE: no trace of up to 4 frames matches it" in out
    assert "[P>=0.8]" in out


def test_eval_probabilities_and_reference_engine(tmp_path, capsys):
    p = tmp_path / "p.csv"
    p.write_text("a,b\n0.5,0.2\n0.9,0.5\n")
    code, out, _ = run(capsys, "eval", "a U b", str(p), "--format", "csv")
    assert code == 0 and out.splitlines() == ["frame,probability", "0,0.4", "1,0.5"]
    code, _, err = run(capsys, "eval", "a U b", str(p), "--engine", "reference")
    assert code == 2 and "boolean" in err


def test_check_shows_the_evaluation_plan(capsys):
    spec = "G (red -> F[0,3s] stopped) & G (ped -> F[0,2s] brake) & G (stop_sign -> F[0,5s] stopped)"
    code, out, _ = run(capsys, "check", spec, "--fps", "30")
    assert code == 0
    # the two rules sharing `stopped` form one part, independent of the `ped`/`brake` rule
    assert "plan:       exact: product of 2 independent parts" in out
    code, out, _ = run(capsys, "check", "G (a -> (b U c))")
    assert "plan:       exact:" in out and "automaton parts: 1" in out


def test_check_falls_back_to_a_bounded_search_when_the_automaton_is_too_large(capsys, monkeypatch):
    import framelogic.automata as automata
    from framelogic.logic.errors import AutomatonTooLarge
    from framelogic.queries import checking

    def too_large(*args, **kwargs):
        raise AutomatonTooLarge("the automaton exceeds max_states")

    monkeypatch.setattr(automata, "compile", too_large)
    a = checking.analyse(checking.parse_spec("F[0,3] (a & F[0,2] b)").formula)
    assert a.max_len == checking.FALLBACK_LEN and a.automaton.startswith("not built")
    assert a.satisfiable and len(a.witness) == 1 and not a.vacuous
    code, out, _ = run(capsys, "check", "F[0,3] (a & !a)")
    assert code == 1 and f"no trace of up to {checking.FALLBACK_LEN} frames satisfies it" in out
    assert "satisfiability searched on traces of up to" in out
