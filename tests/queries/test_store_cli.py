"""``framelogic index --store`` and ``search --store`` as a user runs them, a kill -9 included."""

import json
import os
import signal
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from framelogic.queries.cli import main
from framelogic.queries.results import Results, event_schema
from framelogic.queries.store import Store

DRIVING = "examples/queries/driving.tl"
SCENES = ("red_light_violation", "stop_sign", "pedestrian_crossing", "cyclist_overtake")


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    from framelogic.perception.render import write_scenario

    d = tmp_path_factory.mktemp("videos")
    for name in SCENES:
        write_scenario(d / f"{name}.mp4", name, fps=10)
    return d


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMELOGIC_CACHE", str(tmp_path / "cache"))


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def rows(store):
    """Every row of a store, in one order, read the way a user would (one glob)."""
    return pq.ParquetDataset(Store(store).part_files()).read().replace_schema_metadata(None).sort_by([("fingerprint", "ascending"), ("frame", "ascending")])


def test_index_and_search_a_store(videos, tmp_path, capsys):
    store = tmp_path / "s"
    junk = tmp_path / "more" / "junk.mp4"
    junk.parent.mkdir()
    junk.write_bytes(b"not a video" * 50)
    two = [videos / "red_light_violation.mp4", videos / "stop_sign.mp4"]
    code, out, err = run(capsys, "index", DRIVING, *two, junk.parent, "--store", store)
    assert code == 2 and "not indexed" in out and "junk.mp4" in out  # the job went on
    assert out.count("frames at 5 fps, indexed in") == 2 and "1 failures" in err
    code, out, _ = run(capsys, "index", DRIVING, *two, "--store", store, "--format", "json")
    assert code == 0 and [d["cached"] for d in json.loads(out)] == [True, True]

    # (search on the store == search on the videos: tests/queries/test_store.py)
    code, out, _ = run(capsys, "search", DRIVING, "--store", store, "--format", "json", "--quiet")
    on_store = json.loads(out)
    assert code == 0 and {e["video"] for e in on_store} == set(map(str, two)) and "ran_red_light" in {e["query"] for e in on_store}

    events = tmp_path / "events.parquet"
    code, out, _ = run(capsys, "search", DRIVING, "--store", store, "--where", "path LIKE '%stop_sign%'",
                       "--format", "parquet", "--out", events, "--quiet")  # fmt: skip
    t = pq.read_table(events)
    assert code == 0 and out == "" and t.schema.equals(event_schema()) and t.num_rows >= 1
    assert set(t.column("video").to_pylist()) == {str(two[1])}
    assert Results.from_arrow(t).to_records() == [e for e in on_store if e["video"] == str(two[1])]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".events")]  # no temp file left


def test_search_store_usage_errors(videos, tmp_path, capsys):
    code, _, err = run(capsys, "search", DRIVING, "--store", tmp_path / "s", "--format", "parquet")
    assert code == 2 and "--out" in err
    code, _, err = run(capsys, "search", DRIVING, videos / "stop_sign.mp4", "--store", tmp_path / "s")
    assert code == 2 and "not both" in err
    code, _, err = run(capsys, "search", DRIVING, videos / "stop_sign.mp4", "--where", "path LIKE '%a%'")
    assert code == 2 and "--store" in err
    code, _, err = run(capsys, "search", DRIVING, "--store", tmp_path / "nope")
    assert code == 2 and "no such embedding store" in err
    code, _, err = run(capsys, "index", videos / "stop_sign.mp4", "--ray")
    assert code == 2 and "--store" in err


def test_parquet_events_from_a_search_on_videos(videos, tmp_path, capsys):
    events = tmp_path / "events.parquet"
    code, _, _ = run(capsys, "search", DRIVING, videos / "red_light_violation.mp4", "--format", "parquet", "--out", events, "--quiet")
    t = pq.read_table(events)
    assert code == 0 and t.schema.equals(event_schema()) and "ran_red_light" in t.column("query").to_pylist()


def test_kill_9_during_index_then_rerun_gives_the_same_store(videos, tmp_path, capsys):
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    argv = ["index", *(videos / f"{s}.mp4" for s in SCENES), "--fps", "5"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen([sys.executable, "-m", "framelogic", *map(str, argv), "--store", str(killed), "--quiet"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not Store(killed).part_files() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the index job ended before it could be killed"
    written = len(Store(killed).part_files())
    assert 1 <= written < len(SCENES)
    assert Store(killed).manifest().num_rows == written  # readable as it was left

    code, out, _ = run(capsys, *argv, "--store", killed)
    assert code == 0 and out.count("already indexed") == written
    code, _, _ = run(capsys, *argv, "--store", whole)
    assert code == 0
    a, b = rows(killed), rows(whole)
    assert a.num_rows == b.num_rows > 0 and a.equals(b)
    assert Store(killed).manifest().sort_by("key").drop_columns(["bytes"]).equals(Store(whole).manifest().sort_by("key").drop_columns(["bytes"]))
