"""Indexing and search on Ray (local, 2 CPUs) give what the single-process store path gives.

Ray starts once for the module; the videos are rendered and indexed once
(single-process with ``framelogic index --store``, and on Ray) and every test
compares the two stores or searches them.
"""

import sys

import numpy as np
import pyarrow as pa
import pytest

pytest.importorskip("ray.data")

from framelogic.logic.errors import InputError  # noqa: E402
from framelogic.queries import distributed as D  # noqa: E402
from framelogic.queries.cli import main  # noqa: E402
from framelogic.queries.search import Query  # noqa: E402
from framelogic.queries.store import Store, search_store  # noqa: E402

QUERY = """
prop red = "a red traffic light"
prop car = "a car ahead"
prop pedestrian = "a pedestrian crossing the street"
set fps = 5
set mode = "runs"
query car_ahead: car
query red_soon: F[0,1s] red
query red_or_pedestrian: pedestrian | red
query red_until_car: red U car
"""
SCENES = ("red_light_stop", "pedestrian_crossing", "stop_sign")


@pytest.fixture(scope="module")
def ray_local():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, ray_local):
    """Rendered videos (one corrupt), a query file, and a store filled each way."""
    from framelogic.perception.render import write_scenario

    root = tmp_path_factory.mktemp("corpus")
    videos = root / "videos"
    videos.mkdir()
    for name in SCENES:
        write_scenario(videos / f"{name}.mp4", name, fps=10, seconds=3, size=(96, 64))
    (videos / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"not a video" * 200)
    qfile = root / "q.tl"
    qfile.write_text(QUERY)
    cache = ["--cache-dir", str(root / "cache")]
    single, on_ray = root / "single", root / "ray"
    code = main(["index", str(qfile), str(videos), "--store", str(single), "--quiet", *cache])
    assert code != 0  # the corrupt video is reported in the exit code, the others are indexed
    summary = D.index_on_ray([str(videos)], Store(on_ray), options=Query.from_file(qfile).options(cache_dir=str(root / "cache")))
    return {"root": root, "videos": videos, "query": qfile, "single": Store(single), "ray": Store(on_ray), "summary": summary}


def rows(store):
    return pa.concat_tables(list(store.scan())).sort_by([("fingerprint", "ascending"), ("frame", "ascending")])


def test_ray_index_writes_the_rows_of_single_process_index(corpus):
    a, b = rows(corpus["single"]), rows(corpus["ray"])
    assert a.num_rows == b.num_rows == 3 * 15  # 3 s at 5 fps per video
    assert a.schema == b.schema
    for col in a.schema.names:
        if col != "embedding":
            assert a.column(col).equals(b.column(col)), col
    ea = a.column("embedding").combine_chunks().values.to_numpy(zero_copy_only=False).astype(np.float32)
    eb = b.column("embedding").combine_chunks().values.to_numpy(zero_copy_only=False).astype(np.float32)
    # the same model on the same frames; at most one float16 step apart (a batch of
    # other frames may change the last bit of a CPU matrix product)
    np.testing.assert_allclose(ea, eb, rtol=0, atol=2e-3)
    s = corpus["summary"]
    assert sorted(map(str, s.indexed)) == sorted(str(corpus["videos"] / f"{n}.mp4") for n in SCENES)
    assert s.frames == 45 and s.skipped == () and s.device == "cpu"


def test_corrupt_video_lands_in_failures_and_the_job_goes_on(corpus):
    for store in (corpus["single"], corpus["ray"]):
        failures = store.failures()
        assert failures.column("path").to_pylist() == [str(corpus["videos"] / "corrupt.mp4")]
        assert "corrupt.mp4" in failures.column("reason")[0].as_py()
        assert store.manifest().num_rows == len(SCENES)
    assert [p for p, _ in corpus["summary"].failed] == [str(corpus["videos"] / "corrupt.mp4")]


def test_ray_index_rerun_skips_everything_and_adds_no_row(corpus):
    store = corpus["ray"]
    before = sorted(p.name for p in store.part_files()), len(store)
    again = D.index_on_ray(str(corpus["videos"]), store, query=Query.from_file(corpus["query"]))
    assert again.indexed == () and again.frames == 0 and len(again.skipped) == len(SCENES)
    assert (sorted(p.name for p in store.part_files()), len(store)) == before
    # the one left to do is the failed one, still failing
    assert store.failures().num_rows == 1


@pytest.mark.parametrize("groups", [3])
def test_ray_search_equals_single_process_store_search(corpus, groups):
    q = Query.from_file(corpus["query"])
    opts = q.options()
    expected = search_store(q, corpus["single"], options=opts)
    got = D.search_on_ray(q, corpus["ray"], options=opts, groups=groups)
    assert len(expected) > 0 and got.num_rows == len(expected)
    want = expected.to_arrow()
    for col in ("query", "video", "start", "end", "start_time", "end_time"):
        assert got.column(col).to_pylist() == want.column(col).to_pylist(), col
    np.testing.assert_allclose(got.column("probability").to_numpy(), want.column("probability").to_numpy(), rtol=0, atol=1e-6)


def test_ray_search_where_selects_videos(corpus):
    q = Query.from_file(corpus["query"])
    got = D.search_on_ray(q, corpus["ray"], options=q.options(), where="path LIKE '%stop_sign%'")
    want = search_store(q, corpus["single"], options=q.options(), where="path LIKE '%stop_sign%'").to_arrow()
    assert set(got.column("video").to_pylist()) <= {str(corpus["videos"] / "stop_sign.mp4")}
    assert got.column("start").to_pylist() == want.column("start").to_pylist()
    empty = D.search_on_ray(q, corpus["ray"], options=q.options(), where="path LIKE '%no such video%'")
    assert empty.num_rows == 0 and empty.schema.names == want.schema.names


def test_cli_search_store_ray_writes_parquet_events(corpus, tmp_path, capsys):
    out = tmp_path / "events.parquet"
    code = main(["search", str(corpus["query"]), "--store", str(corpus["ray"].path), "--ray", "--format", "parquet",
                 "--out", str(out), "--quiet"])  # fmt: skip
    capsys.readouterr()
    import pyarrow.parquet as pq

    events = pq.read_table(out)
    q = Query.from_file(corpus["query"])
    assert code in (0, 1) and events.num_rows == len(search_store(q, corpus["single"], options=q.options()))


def block(frames, total, reason=""):
    """A block of encoded frames of the video 'fp', as the encoder actors deliver it."""
    n = len(frames)
    return {"path": np.array(["v.mp4"] * n, dtype=object), "fingerprint": np.array(["fp"] * n, dtype=object),
            "frame": np.array(frames), "time": np.array(frames) / 10.0, "total": np.full(n, total),
            "reason": np.array([reason] * n, dtype=object),
            "embedding": np.ones((n, 4), np.float16) * np.array(frames, dtype=np.float16)[:, None]}  # fmt: skip


def test_blocks_delivered_twice_give_one_row_per_frame():
    """A task Ray re-runs after losing a worker may deliver its blocks again: the
    driver gathers frames by (fingerprint, frame), so nothing is written twice."""
    g = D._Gatherer()
    assert g.add(block([0, 2], -1)) == []
    assert g.add(block([0, 2], -1)) == []  # the retried task's copy
    [(fp, video, why)] = g.add(block([4], 3))  # the last block, with the count, before a copy of the first
    assert (fp, why) == ("fp", "") and sorted(video.rows) == [0, 2, 4]
    assert video.rows[2][1].tolist() == [2.0] * 4
    assert g.add(block([4], 3)) == [] and g.add(block([0, 2], -1)) == []  # late copies: the video is written
    assert g.pending == {}


def test_last_block_first_still_completes_the_video():
    g = D._Gatherer()
    assert g.add(block([4], 3)) == []
    [(_, video, _)] = g.add(block([0, 2], -1))
    assert sorted(video.rows) == [0, 2, 4]


def test_a_video_failing_mid_way_is_dropped_with_its_reason():
    g = D._Gatherer()
    g.add(block([0], -1))
    assert g.add(block([-1], -1, reason="v.mp4: broken")) == [("fp", None, "v.mp4: broken")]
    assert g.pending == {} and g.add(block([2], 2)) == []  # a block of it still in flight is dropped


def test_groups_are_consecutive_and_balanced():
    sizes = [100, 1, 1, 100, 50, 50, 100]
    for g in (1, 2, 3, 7, 20):
        chunks = D._split(sizes, g)
        assert [i for c in chunks for i in c] == list(range(len(sizes)))
        assert 1 <= len(chunks) <= min(g, len(sizes)) and all(chunks)
    assert [sum(sizes[i] for i in c) for c in D._split(sizes, 2)] == [202, 200]


def test_without_ray_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(InputError, match=r"pip install 'framelogic\[ray\]'"):
        D._ray()
