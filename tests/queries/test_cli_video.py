"""The video commands as a user runs them: search, index, report, explain, monitor, demo."""

import json
import subprocess
import sys

import pytest

from framelogic.queries import search as S
from framelogic.queries.cli import main

DRIVING = "examples/queries/driving.tl"


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    from framelogic.perception.render import write_scenario

    d = tmp_path_factory.mktemp("videos")
    for name in ("red_light_violation", "stop_sign"):
        write_scenario(d / f"{name}.mp4", name, fps=10)
    return d


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMELOGIC_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_search_formats_and_exit_codes(videos, cache, tmp_path, capsys):
    code, out, _ = run(capsys, "search", DRIVING, str(videos), "--quiet")
    assert code == 0 and "ran_red_light" in out and "red_light_violation.mp4" in out
    dest = tmp_path / "events.json"
    code, out, _ = run(capsys, "search", DRIVING, str(videos / "stop_sign.mp4"), "--format", "json", "--out", str(dest), "--quiet")
    events = json.loads(dest.read_text())
    assert code == 0 and out == "" and {e["query"] for e in events} >= {"stop_sign_stop"}
    assert all(0 <= e["probability"] <= 1 and e["start_time"] <= e["end_time"] for e in events)
    code, out, _ = run(capsys, "search", DRIVING, str(videos), "--query", "ran_red_light", "--format", "jsonl", "--quiet")
    assert {json.loads(x)["query"] for x in out.splitlines()} == {"ran_red_light"}
    code, *_ = run(capsys, "search", DRIVING, str(videos), "--query", "ran_red_light", "--fail-on-match", "--quiet")
    assert code == 1
    code, *_ = run(capsys, "search", DRIVING, str(videos / "stop_sign.mp4"), "--query", "ran_red_light", "--fail-on-empty", "--quiet")
    assert code == 1
    code, out, _ = run(capsys, "search", DRIVING, str(videos), "--format", "csv", "--quiet")
    assert out.count("query,video,start") == 1  # one header for the stream


def test_search_bad_input(videos, cache, tmp_path, capsys):
    code, _, err = run(capsys, "search", DRIVING, str(tmp_path / "nope.mp4"))
    assert code == 2 and "no such file or folder" in err
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    code, _, err = run(capsys, "search", DRIVING, str(junk))
    assert code == 2 and "junk.mp4" in err
    bad = tmp_path / "bad.tl"
    bad.write_text('prop red = "a red light"\nquery q: red &\n')
    code, _, err = run(capsys, "search", str(bad), str(videos))
    assert code == 2 and f"{bad}:2:15" in err and "^" in err
    undefined = tmp_path / "undefined.tl"
    undefined.write_text('prop red = "a red light"\nquery q: F redd\n')
    code, _, err = run(capsys, "search", str(undefined), str(videos))
    assert code == 2 and "did you mean 'red'" in err
    code, _, err = run(capsys, "search", DRIVING, str(videos), "--query", "nope")
    assert code == 2 and "no query named 'nope'" in err
    code, _, err = run(capsys, "search", DRIVING, str(videos), "--out", str(tmp_path / "missing" / "x.json"), "--quiet")
    assert code == 2 and "cannot write" in err


def test_interrupted_search_leaves_no_partial_output_and_a_valid_cache(videos, cache, tmp_path, capsys, monkeypatch):
    real = S.Query.search_table
    calls = {"n": 0}

    def interrupt(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(self, *a, **k)

    monkeypatch.setattr(S.Query, "search_table", interrupt)
    dest = tmp_path / "out.json"
    code, _, err = run(capsys, "search", DRIVING, str(videos), "--out", str(dest), "--quiet")
    assert code == 130 and "interrupted" in err
    assert not dest.exists() and not list(tmp_path.glob(".out.json*"))
    monkeypatch.undo()
    from framelogic.perception.cache import EmbeddingCache

    entries = list(cache.glob("*.json"))
    assert entries and all(EmbeddingCache(cache).get(e.stem) is not None for e in entries)


def test_index_is_resumable(videos, cache, capsys):
    code, out, _ = run(capsys, "index", str(videos), "--fps", "5", "--quiet")
    assert code == 0 and out.count("indexed in") == 2
    code, out, _ = run(capsys, "index", str(videos), "--fps", "5", "--quiet")
    assert out.count("already indexed") == 2


def test_index_with_the_query_file_then_search_encodes_once(videos, cache, capsys, monkeypatch):
    # issue 10, defect 7: index sampled every frame while search sampled at the file's 5 fps
    v = str(videos / "stop_sign.mp4")
    code, out, _ = run(capsys, "index", DRIVING, v, "--quiet")
    assert code == 0 and "at 5 fps" in out
    from framelogic.perception.model import Encoder

    def no_encoding(*a, **k):
        raise AssertionError("search encoded frames again")

    monkeypatch.setattr(Encoder, "encode_images", no_encoding)
    code, out, err = run(capsys, "search", DRIVING, v, "--quiet", "--format", "json")
    assert code == 0, err
    code, out, _ = run(capsys, "index", DRIVING, v, "--format", "json", "--quiet")
    assert json.loads(out)[0]["cached"] is True


def test_keep_going_over_a_folder_with_a_corrupt_video(videos, cache, tmp_path, capsys):
    # issue 10, defect 10: one corrupt video no longer aborts the folder
    import shutil

    d = tmp_path / "mixed"
    d.mkdir()
    shutil.copy(videos / "stop_sign.mp4", d / "good.mp4")
    shutil.copy(videos / "stop_sign.csv", d / "good.csv")  # the telemetry beside it
    (d / "corrupt.mp4").write_bytes(b"not a video at all" * 100)
    code, out, err = run(capsys, "search", DRIVING, str(d), "--format", "json", "--query", "stop_sign_stop")
    assert code == 2 and "corrupt.mp4: not searched" in err
    assert {e["video"] for e in json.loads(out)} == {str(d / "good.mp4")}
    code, out, err = run(capsys, "search", DRIVING, str(d), "--no-keep-going", "--query", "stop_sign_stop")
    assert code == 2 and "corrupt.mp4" in err and "good.mp4" not in out


def test_report_explain_monitor(videos, cache, tmp_path, capsys):
    v = str(videos / "red_light_violation.mp4")
    code, out, _ = run(capsys, "report", DRIVING, v, "--out", str(tmp_path / "rep"), "--quiet")
    page = (tmp_path / "rep" / "index.html").read_text()
    assert code == 0 and page.count("<svg") == 7 and "data:image/jpeg;base64," in page  # one per query
    code, out, _ = run(capsys, "explain", DRIVING, v, "--query", "ran_red_light", "--quiet")
    assert code == 0 and "event 0 of 1: frames" in out and "accepting" in out and "threshold 0.5" in out
    code, out, _ = run(capsys, "explain", DRIVING, v, "--query", "ran_red_light", "--quiet", "--format", "json")
    e = json.loads(out)
    assert e["threshold"] == 0.5 and e["steps"][0]["frame"] <= e["event"]["start"] and e["deciding_frames"]
    code, out, _ = run(capsys, "explain", DRIVING, v, "--query", "stop_sign_stop", "--quiet")
    assert code == 0 and "no event" in out
    code, out, _ = run(capsys, "monitor", "examples/queries/safety.tl", v, "--query", "no_yield", "--quiet")
    assert out.startswith("frame 0") and code == (1 if ": violated" in out else 0)
    rows = ["time,pedestrian,ego_stopped", "0,0,0"] + [f"{0.2 * i:.1f},1,0" for i in range(1, 12)]
    r = subprocess.run([sys.executable, "-m", "framelogic", "monitor", "examples/queries/safety.tl", "-", "--query", "always_yield"],
                       input="\n".join(rows) + "\n", capture_output=True, text=True)  # fmt: skip
    lines = r.stdout.splitlines()
    assert r.returncode == 1 and lines[0] == "frame 0 (0.00s): presumably satisfied (P=1.000)"  # 1: violated
    # the pedestrian appears at frame 1; 1.5 s at 5 fps is 7 frames: violated once frame 8 passes
    assert lines[-1] == "frame 8 (1.60s): violated (P=0.000)"


def test_demo_quick(tmp_path, cache, capsys):
    code, out, _ = run(capsys, "demo", "--out", str(tmp_path / "demo"), "--quick")
    assert code == 0 and "| ran_red_light |" in out and (tmp_path / "demo" / "report.html").exists()
