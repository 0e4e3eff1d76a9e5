"""Regression tests for issue 10: one path from query to events.

Each test names the defect it pins down; every one of them failed on the code
before the fix. No video decoding here: perception is replaced by a function
returning a known table where a video is needed (the video tests live in
test_cli_video.py).
"""

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import framelogic as fl
from framelogic.logic.errors import FormulaSyntaxError, InputError, InvalidValue, TraceError
from framelogic.logic.tables import read_table
from framelogic.logic.trace import TraceTable
from framelogic.queries import search as S
from framelogic.queries.cli import main
from framelogic.queries.explain import explain, monitor

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def fake_perception(monkeypatch):
    """Perception replaced by a table at 10 fps; records what it was asked for."""
    calls = []

    def score(source, props, opts):
        calls.append((str(source), opts))
        n = 30
        values = {p.name: np.zeros(n) for p in props}
        for p in props:
            values[p.name][15] = 1.0
        return TraceTable(tuple(values), np.stack(list(values.values()), 1) if values else np.zeros((n, 0)),
                          np.arange(n) / 10.0, 10.0)  # fmt: skip

    monkeypatch.setattr(S, "_score_frames", score)
    return calls


# ---------------------------------------------------------------- defect 1


def test_defect1_set_threshold_and_mode_parse_and_are_used():
    q = fl.Query.from_text('set threshold = 0.6\nset mode = shortest\nquery a: "x"')
    opts = q.options()
    assert (opts.default_threshold, opts.default_mode) == (0.6, "shortest")
    probs = {"x": [0.55, 0.65, 0.1]}
    assert [(m.start, m.end) for m in q.search(probs)] == [(1, 1)]  # 0.55 < 0.6
    assert [(m.start, m.end) for m in q.search(probs, threshold=0.5)] == [(0, 0), (1, 1)]  # shortest segments


def test_defect1_one_list_of_modes_for_check_and_search(tmp_path, capsys):
    q = tmp_path / "q.tl"
    q.write_text('query a: "x" mode segments\n')
    with pytest.raises(FormulaSyntaxError, match="unknown match mode 'segments'"):
        fl.Query.from_file(q)
    code, _, err = run(capsys, "check", str(q))
    assert code == 2 and "unknown match mode 'segments'" in err and "runs, shortest, longest, tlv" in err
    with pytest.raises(InvalidValue, match="mode="):
        fl.Query.from_text('query a: "x"').options(mode="segments")


def test_defect1_set_scorer_table_reads_every_proposition_from_the_table(tmp_path):
    (tmp_path / "drive.mp4").write_bytes(b"not decoded at all")
    (tmp_path / "drive.csv").write_text("time,red\n0,0\n0.5,1\n1.0,1\n1.5,0\n")
    q = fl.Query.from_text('set scorer = "table"\nprop red = "a red light"\nquery r: red')
    found = q.search(str(tmp_path / "drive.mp4"))
    assert [(m.start, m.end, m.start_time) for m in found] == [(1, 2, 0.5)]
    with pytest.raises(FormulaSyntaxError, match="unknown scorer"):
        fl.Query.from_text('set scorer = "yolo"\nquery r: "x"')


# ---------------------------------------------------------------- defect 2


def test_defect2_fps_option_never_overrides_the_measured_rate(fake_perception, tmp_path):
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    q = fl.Query.from_text('query soon: F[0,1s] "a"')
    # a is true at frame 15 of a 10 fps trace: F[0,1s] covers 10 frames, so frames 5..15
    found = q.search(str(video), fps=20)
    assert [(m.start, m.end) for m in found] == [(5, 15)]
    assert fake_perception[0][1].fps == 20  # the rate asked of perception, which measured 10
    table = TraceTable(("a",), (np.arange(30) == 15)[:, None].astype(float), np.arange(30) / 10.0)
    assert [(m.start, m.end) for m in q.search_table(table, fps=20)] == [(5, 15)]
    untimed = TraceTable(("a",), (np.arange(30) == 15)[:, None].astype(float))
    assert [(m.start, m.end) for m in q.search_table(untimed, fps=20)] == [(0, 15)]  # no rate of its own


# ---------------------------------------------------------------- defect 3


def test_defect3_one_threshold_rule_for_localize_and_search():
    probs = {"a": [0.0, 0.5, 1.0]}
    for text in ("P<0 [ a ]", "P>1 [ a ]", "P<=0.5 [ a ]", "P>0.5 [ a ]", "P=? [ a ]", "a"):
        q = fl.Query.from_text(f"prop a = \"a\"\nquery q: {text}")
        via_search = [(m.start, m.end) for m in q.search_table(probs)]
        via_localize = [(e.start, e.end) for e in fl.localize(text, probs)]
        assert via_search == via_localize, text
    assert fl.localize("P<0 [ a ]", probs) == []  # P(a) < 0 never holds


def test_defect3_options_and_prop_thresholds_are_read():
    q = fl.Query.from_text('prop a = "a" threshold 0.9\nset threshold = 0.7\nquery q: a\nquery own: a threshold 0.2')
    probs = {"a": [0.3, 0.8, 0.95]}
    assert [(m.query, m.start) for m in q.search_table(probs)] == [("q", 1), ("own", 0)]
    opts = S.SearchOptions(threshold=0.9)
    assert [(m.query, m.start) for m in q.search_table(probs, options=opts)] == [("q", 2), ("own", 2)]
    assert [m.start for m in q.search_table(probs, options=S.SearchOptions(mode="tlv"), query="q")] == [1, 2]
    e = explain(q, probs, name="q")
    assert e.threshold == 0.7 and e.prop_thresholds == {"a": 0.9}  # the proposition's own threshold


# ---------------------------------------------------------------- defect 9


def test_defect9_folders_and_lists_of_paths_are_videos_in_the_api_too(fake_perception, tmp_path):
    for name in ("b.mp4", "a.mp4", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    q = fl.Query.from_text('query q: "a"')
    assert sorted({m.video for m in q.search(str(tmp_path))}) == [str(tmp_path / "a.mp4"), str(tmp_path / "b.mp4")]
    found = q.search([str(tmp_path / "a.mp4"), tmp_path / "b.mp4"])
    assert [m.video for m in found] == [str(tmp_path / "a.mp4"), str(tmp_path / "b.mp4")]


def test_defect9_search_takes_query_file_paths(tmp_path, monkeypatch):
    (tmp_path / "q.tl").write_text('prop x = "x"\nquery both: x & "y"\n')
    (tmp_path / "f.ltl").write_text("x & y\n")
    monkeypatch.chdir(tmp_path)
    probs = {"x": [1, 0], "y": [1, 1]}
    assert [m.query for m in fl.search("q.tl", probs)] == ["both"]
    assert [m.query for m in fl.search(Path("q.tl"), probs)] == ["both"]
    assert [m.query for m in fl.search("f.ltl", probs)] == ["f"]
    with pytest.raises(InputError, match="no such"):
        fl.search("missing.tl", probs)


def test_defect9_mutex_propositions_the_query_does_not_use_need_no_column():
    q = fl.Query.from_text('prop red = "r"\nprop green = "g"\nprop yellow = "y"\nmutex(red, yellow, green)\nquery r: red')
    assert len(q.search_table({"red": [0, 1, 1]})) == 1


# ---------------------------------------------------------------- defect 11 (see also automata tests)


def test_defect11_analysis_results_are_truthy_exactly_when_the_property_holds():
    assert not fl.equivalent("a", "b") and fl.equivalent("a & b", "b & a")
    r = fl.valid("F a")
    assert not r and r.counterexample is not None and list(r.counterexample.column("a")) == [0.0]


# ---------------------------------------------------------------- defect 12


def test_defect12_module_entry_point_runs():
    r = subprocess.run([sys.executable, "-m", "framelogic.queries.cli", "check", "a U b"], capture_output=True, text=True)
    assert r.returncode == 0 and "satisfiable: yes" in r.stdout, r.stderr


def test_defect12_example_queries_are_package_data():
    from importlib import resources

    from framelogic.queries.demo import examples_dir

    packaged = resources.files("framelogic.queries").joinpath("examples")
    assert packaged.joinpath("driving.tl").is_file() and packaged.joinpath("common.tl").is_file()
    assert examples_dir() == Path(str(packaged))
    assert '"examples/*.tl"' in (ROOT / "pyproject.toml").read_text()


def test_defect12_satisfying_traces_carry_their_rate():
    from hypothesis import given, settings

    from framelogic.testing import satisfying_traces

    seen = []

    @settings(max_examples=5)
    @given(satisfying_traces("F[0,1s] a", fps=10))
    def check(t):
        seen.append(t.fps)
        assert fl.evaluate("F[0,1s] a", t)[0] == 1.0  # time bounds convert at the trace's own rate

    check()
    assert seen and set(seen) == {10.0}


def test_defect12_eval_jsonl_stdin_and_short_quiet(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"time,a,b\n0,1,0\n0.5,0,1\n")))
    code, out, _ = run(capsys, "eval", "a U b", "-", "--format", "jsonl", "-q")
    assert code == 0 and [json.loads(x) for x in out.splitlines()] == [
        {"frame": 0, "time": 0.0, "holds": 1.0}, {"frame": 1, "time": 0.5, "holds": 1.0}]  # fmt: skip


def test_defect12_readme_names_the_cache_format():
    text = (ROOT / "README.md").read_text()
    assert "safetensors" in text and "fp16 `.npz`" not in text


# ---------------------------------------------------------------- defect 7


def test_defect7_deleted_video_gives_a_clear_error(tmp_path):
    q = fl.Query.from_text('query q: "a car"')
    with pytest.raises(InputError, match="no such file or folder"):
        q.search(str(tmp_path / "gone.mp4"))
    with pytest.raises(InputError, match="deleted video cannot be searched"):
        S.score(str(tmp_path / "gone.mp4"), q.propositions(), q.options())


# ---------------------------------------------------------------- defect 8


def test_defect8_architecture_without_weights_is_refused():
    q = fl.Query.from_text('query q: "a car"')
    frames = np.zeros((2, 16, 16, 3), np.uint8)
    with pytest.raises(InvalidValue, match=r"random weights.*ViT-B-32:laion2b_s34b_b79k.*--allow-random-weights"):
        q.search(frames, model="ViT-B-32")
    from framelogic.perception.model import check_weights

    check_weights("ViT-B-32", allow_random_weights=True)
    check_weights("ViT-B-32:openai")


# ---------------------------------------------------------------- defect 4


def test_defect4_every_format_through_one_reader(tmp_path):
    import pyarrow as pa
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    cols = {"time": [0.0, 0.5, 1.0], "ped": [0.1, 0.9, 0.2], "label": ["x", "y", "z"]}
    pq.write_table(pa.table(cols), tmp_path / "t.parquet")
    feather.write_feather(pa.table(cols), tmp_path / "t.feather")
    rec = np.array(list(zip(cols["time"], cols["ped"])), dtype=[("time", "f8"), ("ped", "f8")])
    np.save(tmp_path / "t.npy", rec)
    np.savez(tmp_path / "t.npz", time=np.array(cols["time"]), ped=np.array(cols["ped"]))
    (tmp_path / "t.csv").write_text("time,ped,label\n0,0.1,x\n0.5,0.9,y\n1.0,0.2,z\n")
    for name in ("t.parquet", "t.feather", "t.npy", "t.npz", "t.csv"):
        t = fl.as_trace(str(tmp_path / name))
        assert t.names == ("ped",) and t.rate == 2.0 and np.allclose(t.column("ped"), cols["ped"]), name
        assert [(m.start, m.end) for m in fl.search('"ped"', str(tmp_path / name))] == [(1, 1)]


def test_defect4_text_columns_nan_policy_mapping_and_timestamps(tmp_path, capsys):
    p = tmp_path / "det.csv"
    p.write_text("time,pedestrian_prob,label\n0,0.1,car\n\n0.5,,ped\n1.0,0.9,ped\n")
    with pytest.raises(TraceError, match=rf"{p}:4: 'ped' is missing"):  # the blank line counts
        read_table(p, columns={"ped": "pedestrian_prob"})
    t = read_table(p, columns={"ped": "pedestrian_prob"}, nan="zero")
    assert t.names == ("ped",) and list(t.column("ped")) == [0.1, 0.0, 0.9]
    assert len(read_table(p, columns={"ped": "pedestrian_prob"}, nan="drop")) == 2
    with pytest.raises(TraceError, match=rf"{p}:2: column 'label' holds text"):
        read_table(p, require=["label"], nan="zero")
    code, out, err = run(capsys, "eval", "ped", str(p), "--columns", "ped=pedestrian_prob", "--nan", "zero", "--format", "csv")
    assert code == 0 and out.splitlines() == ["frame,time,probability", "0,0,0.1", "1,0.5,0", "2,1,0.9"], err
    stamps = tmp_path / "stamps.csv"
    stamps.write_text("time,a\n2024-05-01T10:00:00,1\n2024-05-01T10:00:00.5,0\n2024-05-01T10:00:01,1\n")
    t = fl.as_trace(str(stamps))
    assert list(t.times) == [0.0, 0.5, 1.0] and t.rate == 2.0
    bad = tmp_path / "bad.csv"
    bad.write_text("a\n0.5\n1.5\n")
    with pytest.raises(TraceError, match=rf"{bad}:3: value 1.5 of 'a' is not a probability"):
        fl.as_trace(str(bad))


# ---------------------------------------------------------------- defect 5


def test_defect5_telemetry_is_aligned_by_timestamp_never_extrapolated(fake_perception, tmp_path):
    video = tmp_path / "drive.mp4"
    video.write_bytes(b"x")
    # telemetry at 10 Hz covering only the first second of a 3 s video
    (tmp_path / "drive.csv").write_text("time,ego_stopped\n" + "".join(f"{i / 10},{int(i > 4)}\n" for i in range(11)))
    q = fl.Query.from_text('prop stopped = column "ego_stopped"\nquery s: stopped')
    with pytest.raises(InputError, match=r"no row within .* of frame 11 at 1.100s .* 19 of 30 frames .* --fill"):
        q.search(str(video))
    found = q.search(str(video), fill=0.0)
    assert [(m.start, m.end) for m in found] == [(5, 10)]  # not carried to the end of the video
    t = q.probabilities(str(video), fill=0.5, tolerance=0.3)
    assert list(t.column("stopped")[10:15]) == [1.0, 1.0, 1.0, 1.0, 0.5]  # within 0.3 s of the last row


# ---------------------------------------------------------------- defect 6


def test_defect6_explain_is_a_typed_run_from_the_event_with_deciding_frames():
    q = fl.Query.from_text('prop red = "r"\nprop stopped = "s"\nquery stop: P>=0.8 [ red U stopped ]')
    probs = {"red": [0.1, 0.9, 0.95, 0.1, 0.1], "stopped": [0.0, 0.1, 0.85, 0.9, 0.0]}
    e = explain(q, probs, name="stop")
    assert e.threshold == 0.8 and set(e.prop_thresholds.values()) == {0.8}
    assert (e.event.start, e.event.end) == (1, 3)
    run_ = [s for s in e.steps if s.state is not None]
    assert run_[0].frame == 1 and e.decided_at == 2 and 2 in e.deciding_frames
    assert all(s.accepting for s in run_ if s.frame >= 2)
    none = explain(q, {"red": [0.1, 0.1], "stopped": [0.1, 0.1]}, name="stop")
    assert none.event is None and len(none.best) == 2


def test_defect6_report_thumbnails_come_from_the_sampled_source_frames(monkeypatch, tmp_path):
    from framelogic import perception
    from framelogic.perception.render import write_scenario
    from framelogic.queries.report import build_section

    video = tmp_path / "v.mp4"
    write_scenario(video, "red_light_violation", fps=10)
    asked = []
    monkeypatch.setattr(perception, "thumbnails", lambda src, idx, **k: asked.append(list(idx)) or {i: b"\xff\xd8" for i in idx})
    q = fl.Query.from_text('set fps = 5\nquery r: "a red traffic light"')
    probs = TraceTable(("a red traffic light",), np.array([[0], [1], [1], [0]], float), np.array([0.0, 0.2, 0.4, 0.6]), 5.0)
    found = q.search_table(probs, video=str(video))
    sec = build_section(q, str(video), probs, found)
    assert asked == [[2, 4]]  # rows 1 and 2 at 5 fps are source frames 2 and 4 of the 10 fps video
    assert sorted(sec.thumbnails) == [1, 2]


# ---------------------------------------------------------------- defect 10


def test_defect10_monitor_exits_1_after_violated(monkeypatch, capsys):
    rows = "time,pedestrian,ego_stopped\n0,0,0\n" + "".join(f"{0.2 * i:.1f},1,0\n" for i in range(1, 12))
    monkeypatch.setattr(sys, "stdin", io.StringIO(rows))
    code, out, _ = run(capsys, "monitor", "examples/queries/safety.tl", "-", "--query", "always_yield")
    assert code == 1 and out.splitlines()[-1] == "frame 8 (1.60s): violated (P=0.000)"
    monkeypatch.setattr(sys, "stdin", io.StringIO("time,pedestrian,ego_stopped\n0,0,0\n0.2,0,0\n"))
    code, out, _ = run(capsys, "monitor", "examples/queries/safety.tl", "-", "--query", "always_yield", "--format", "jsonl")
    assert code == 0 and json.loads(out.splitlines()[0])["verdict"] == "presumably satisfied"


def test_defect10_monitor_is_a_library_generator():
    q = fl.Query.from_text('prop a = "a"\nquery g: G a')
    changes = list(monitor(q, [{"a": 1.0}, {"a": 1.0}, {"a": 0.0}]))
    assert [(c.frame, c.verdict) for c in changes] == [(0, "presumably satisfied"), (2, "violated")]


def test_defect10_keep_going_reports_bad_files_and_continues(fake_perception, tmp_path, capsys, monkeypatch):
    for name in ("a.mp4", "bad.mp4", "c.mp4"):
        (tmp_path / name).write_bytes(b"x")
    real = S._score_frames

    def flaky(source, props, opts):
        if str(source).endswith("bad.mp4"):
            raise InputError(f"{source}: cannot decode")
        return real(source, props, opts)

    monkeypatch.setattr(S, "_score_frames", flaky)
    q = fl.Query.from_text('query q: "a"')
    found = q.search(str(tmp_path))
    assert {m.video for m in found} == {str(tmp_path / "a.mp4"), str(tmp_path / "c.mp4")}
    assert [f.video for f in found.failures] == [str(tmp_path / "bad.mp4")]
    with pytest.raises(InputError, match="cannot decode"):
        q.search(str(tmp_path), keep_going=False)
    code, out, err = run(capsys, "search", '"a"', str(tmp_path), "--format", "jsonl")
    assert code == 2 and len(out.splitlines()) == 2 and "bad.mp4: not searched: " in err and "cannot decode" in err


# ---------------------------------------------------------------- the light core


def test_commands_needing_the_video_extra_say_how_to_install_it(monkeypatch, tmp_path):
    def missing(*a, **k):
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    monkeypatch.setattr(S, "_score_frames_now", missing)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    with pytest.raises(InputError, match=r"needs the video extra .*pip install 'framelogic\[video\]'"):
        fl.Query.from_text('query q: "a car"').search(str(video))
    core = (ROOT / "pyproject.toml").read_text().split("[project.optional-dependencies]")[0]
    assert "torch" not in core and "open-clip" not in core and "opencv" not in core


def test_segment_modes_take_a_maximum_event_length():
    q = fl.Query.from_text('query all_p: G "p"')
    table = {"p": [1, 1, 1, 1, 1, 0]}
    assert [(m.start, m.end) for m in q.search_table(table, mode="longest")] == [(0, 4)]
    assert [(m.start, m.end) for m in q.search_table(table, mode="longest", max_length=2)] == [(0, 1), (2, 3), (4, 4)]
    assert [(m.start, m.end) for m in q.search_table(table, mode="longest", max_length=0)] == [(0, 4)]  # 0: no limit
    with pytest.raises(fl.InvalidValue, match="max_length"):
        q.search_table(table, max_length=-1)
