"""The embedding store: files any Arrow tool reads, and search on it == search on the videos."""

import os
import shutil
import time
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from framelogic.logic.errors import InputError, InvalidValue
from framelogic.queries.search import Query
from framelogic.queries.store import (
    MANIFEST,
    Store,
    StoreWarning,
    embeddings_of,
    filter_where,
    index_store,
    part_key,
    probabilities,
    sampling_id,
    search_store,
    search_table,
    video_rows,
    video_table,
)

DRIVING = "examples/queries/driving.tl"
PROMPTS_ONLY = """
prop red = "a red traffic light"
prop stop_sign = "a stop sign"
set fps = 5
query red_then_gone: red U !red
query sign: stop_sign
"""


def table(i=0, n=6, dim=8, path=None, model="m", sampling="all", seed=0):
    rng = np.random.default_rng(seed + i)
    emb = rng.normal(size=(n, dim))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return video_table(
        fingerprint=f"video:{i:064x}", path=path or f"cam{i}/drive.mp4", model=model, preprocessing="p",
        sampling=sampling, rate=5.0, frames=np.arange(n) * 2, times=np.arange(n) * 0.2, embeddings=emb,
    )  # fmt: skip


def filled(tmp_path, videos=3):
    store = Store(tmp_path / "s")
    for i in range(videos):
        store.write_video(table(i))
    return store


# ------------------------------------------------------------------ the files
def test_round_trip(tmp_path):
    store = Store(tmp_path / "s")
    t = table(0)
    path = store.write_video(t)
    assert path == store.part_path(part_key(f"video:{0:064x}", "m", "p", "all"))
    assert store.contains(f"video:{0:064x}", "m", "p", "all") and not store.contains(f"video:{0:064x}", "m", "p", "fps=5.0")
    back = store.read(store.manifest().column("file")[0].as_py())
    assert back.equals(t)  # every column, the fp16 embeddings bit for bit
    assert back.schema.field("embedding").type == pa.list_(pa.float16(), 8)
    np.testing.assert_array_equal(embeddings_of(back), t.column("embedding").combine_chunks().values.to_numpy().reshape(-1, 8).astype(np.float32))
    m = store.manifest().to_pylist()
    assert len(m) == 1 and m[0]["frames"] == 6 and m[0]["dim"] == 8 and m[0]["path"] == "cam0/drive.mp4" and len(store) == 6
    (v,) = video_rows(back)
    assert v.rate == 5.0 and v.frames.tolist() == [0, 2, 4, 6, 8, 10] and v.embeddings.shape == (6, 8)


def test_write_refuses_what_is_not_one_video(tmp_path):
    store = Store(tmp_path / "s")
    with pytest.raises(InvalidValue, match="one video at a time"):
        store.write_video(pa.concat_tables([table(0), table(1)]))
    with pytest.raises(InvalidValue, match="schema"):
        store.write_video(table(0).drop_columns(["rate"]))
    with pytest.raises(InvalidValue, match="no rows"):
        store.write_video(table(0).slice(0, 0))
    with pytest.raises(InvalidValue, match="one value per embedding"):
        video_table(fingerprint="f", path="p", model="m", preprocessing="p", sampling="all", rate=1.0,
                    frames=np.arange(3), times=np.arange(4.0), embeddings=np.ones((3, 2)))  # fmt: skip


def test_duckdb_pyarrow_and_polars_read_the_store_as_it_is(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    pl = pytest.importorskip("polars")
    import pyarrow.dataset as ds

    store = filled(tmp_path)
    store.record_failure("bad.mp4", "corrupt", model="m", sampling="all")
    glob = str(tmp_path / "s" / "frames" / "*" / "*.parquet")
    assert glob == store.frames_glob
    rows = duckdb.sql(f"SELECT path, count(*) AS n, min(time), max(frame) FROM read_parquet('{glob}') GROUP BY path ORDER BY path").fetchall()
    assert rows == [(f"cam{i}/drive.mp4", 6, 0.0, 10) for i in range(3)]
    ((first,),) = duckdb.sql(f"SELECT embedding FROM read_parquet('{glob}') WHERE path = 'cam1/drive.mp4' AND frame = 4").fetchall()
    expected = embeddings_of(table(1))[2]
    np.testing.assert_array_equal(np.asarray(first, dtype=np.float32), expected)
    assert ds.dataset(tmp_path / "s" / "frames", format="parquet").count_rows() == 18 == store.dataset().count_rows()
    assert pl.scan_parquet(glob).select(pl.len()).collect().item() == 18
    assert pl.read_parquet(glob).filter(pl.col("path") == "cam2/drive.mp4").height == 6
    fails = duckdb.sql(f"SELECT path, reason FROM read_parquet('{tmp_path / 's' / 'failures' / '*.parquet'}')").fetchall()
    assert fails == [("bad.mp4", "corrupt")]


def test_the_manifest_is_derived_from_the_files(tmp_path):
    store = filled(tmp_path)
    want = store.manifest()
    (tmp_path / "s" / MANIFEST).unlink()
    assert store.manifest().equals(want)
    (tmp_path / "s" / MANIFEST).write_bytes(b"PAR1 torn")
    assert store.manifest().equals(want)
    # a writer killed before its rename leaves a temp file: not a part, not read by the glob
    (store.part_path("ab" * 16).parent).mkdir(parents=True, exist_ok=True)
    tmp = store.part_path("ab" * 16).parent / f".{'ab' * 16}.parquet.123.456.tmp"
    tmp.write_bytes(b"half a file")
    assert store.manifest().equals(want)
    assert store.remove_temp_files() == 0 and tmp.exists()  # it may be a live writer's
    os.utime(tmp, (time.time() - 7200, time.time() - 7200))
    assert store.remove_temp_files() == 1 and not tmp.exists()
    # a file deleted by hand leaves the manifest; a foreign file is left out with a warning
    gone = tmp_path / "s" / want.column("file")[0].as_py()
    gone.unlink()
    foreign = store.part_path("cd" * 16)
    foreign.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"x": [1]}), foreign)
    with pytest.warns(StoreWarning, match="not a readable frames file"):
        m = store.manifest()
    assert m.num_rows == 2 and gone.relative_to(tmp_path / "s").as_posix() not in m.column("file").to_pylist()


def test_failures_are_one_row_per_video_and_cleared_by_success(tmp_path):
    store = Store(tmp_path / "s")
    assert store.failures().num_rows == 0
    store.record_failure("cam0/drive.mp4", "cannot open", model="m", sampling="all")
    store.record_failure("cam0/drive.mp4", "still cannot open", fingerprint="video:1", model="m", sampling="all")
    store.record_failure("cam1/drive.mp4", "truncated", model="m", sampling="all")
    f = store.failures().to_pylist()
    assert [(r["path"], r["reason"]) for r in f] == [("cam0/drive.mp4", "still cannot open"), ("cam1/drive.mp4", "truncated")]
    store.write_video(table(0))  # cam0 indexed after all
    assert store.failures().column("path").to_pylist() == ["cam1/drive.mp4"]


def test_where_filters_videos_with_sql(tmp_path):
    store = filled(tmp_path)
    assert store.parts("path LIKE '%cam1%'").column("path").to_pylist() == ["cam1/drive.mp4"]
    assert store.parts("frames >= 6 AND rate = 5").num_rows == 3
    assert [t.num_rows for t in store.scan("path <> 'cam0/drive.mp4'")] == [6, 6]
    with pytest.raises(InputError, match="SQL condition over the columns"):
        store.parts("no_such_column = 1")
    with pytest.raises(InputError, match="--where"):  # the expression sees the manifest and nothing else
        filter_where(store.manifest(), f"path IN (SELECT * FROM read_csv('{tmp_path / 's' / MANIFEST}'))")


def test_video_rows_groups_sorts_and_drops_repeated_rows():
    rows = pa.concat_tables([table(1), table(0), table(1).slice(2, 3)])  # cam1's frames 4-8 twice
    rows = rows.take(np.random.default_rng(0).permutation(rows.num_rows))
    got = sorted(video_rows(rows), key=lambda v: v.path)
    assert [v.path for v in got] == ["cam0/drive.mp4", "cam1/drive.mp4"]
    for i, v in enumerate(got):
        assert v.frames.tolist() == [0, 2, 4, 6, 8, 10]
        np.testing.assert_array_equal(v.embeddings, embeddings_of(table(i)))


def test_sampling_ids():
    assert sampling_id() == "all" and sampling_id(5) == "fps=5.0" and sampling_id(stride=3) == "stride=3"
    assert sampling_id(None, None, 30) == "all;source_fps=30.0"


# ------------------------------------------------------------------ indexing and search
@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Two rendered scenarios (with their telemetry CSVs) and a corrupt file, indexed at 5 fps."""
    from framelogic.perception.render import write_scenario

    d = tmp_path_factory.mktemp("videos")
    for name in ("red_light_violation", "stop_sign"):
        write_scenario(d / f"{name}.mp4", name, fps=10)
    (d / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 200)
    store = Store(tmp_path_factory.mktemp("store") / "s")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        done = list(index_store(d, store, query=Query.from_file(DRIVING), use_cache=False))
    return d, store, done


def test_a_corrupt_video_is_a_failure_row_and_the_others_are_indexed(corpus):
    d, store, done = corpus
    by = {item.video: item for item in done}
    assert by[str(d / "corrupt.mp4")].error and "corrupt" in by[str(d / "corrupt.mp4")].error
    assert not by[str(d / "stop_sign.mp4")].error and by[str(d / "stop_sign.mp4")].frames == 40  # 8 s at 5 fps
    (failure,) = store.failures().to_pylist()
    assert failure["path"] == str(d / "corrupt.mp4") and "cannot open" in failure["reason"] and failure["sampling"] == "fps=5.0"
    m = store.manifest()
    assert sorted(m.column("path").to_pylist()) == [str(d / "red_light_violation.mp4"), str(d / "stop_sign.mp4")]
    assert set(m.column("sampling").to_pylist()) == {"fps=5.0"} and set(m.column("model").to_pylist()) == {"framelogic-tiny"}


def test_indexing_again_skips_what_is_stored(corpus):
    d, store, _ = corpus
    before = {p: p.stat().st_mtime_ns for p in store.part_files()}
    again = list(index_store(d, store, query=Query.from_file(DRIVING), use_cache=False))
    good = [i for i in again if not i.error]
    assert len(good) == 2 and all(i.cached for i in good)
    assert {p: p.stat().st_mtime_ns for p in store.part_files()} == before
    assert store.failures().num_rows == 1  # the corrupt file is tried again and fails again: still one row


def test_search_on_the_store_equals_search_on_the_videos(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMELOGIC_CACHE", str(tmp_path / "cache"))
    d, store, _ = corpus
    q = Query.from_file(DRIVING)
    videos = [str(d / "red_light_violation.mp4"), str(d / "stop_sign.mp4")]
    on_videos = q.search(videos)
    on_store = search_store(q, store)
    assert len(on_videos) >= 3
    assert [(m.query, m.video, m.start, m.end, m.start_time, m.end_time) for m in on_store] == \
        [(m.query, m.video, m.start, m.end, m.start_time, m.end_time) for m in on_videos]  # fmt: skip
    for a, b in zip(on_store, on_videos):
        assert a.probability == pytest.approx(b.probability, abs=1e-6)
        assert a.props.keys() == b.props.keys() and all(a.props[k] == pytest.approx(b.props[k], abs=1e-6) for k in a.props)
    # the grouped Arrow entry point on all rows at once gives the same events
    events = search_table(q, store.dataset().to_table())
    assert sorted(events.column("probability").to_pylist()) == pytest.approx(sorted(m.probability for m in on_videos), abs=1e-6)
    # --where picks videos
    only = search_store(q, store, where="path LIKE '%stop_sign%'")
    assert {m.video for m in only} == {videos[1]} and len(only) == len(on_videos.by_video(videos[1]))


def test_probabilities_from_stored_embeddings(corpus):
    d, store, _ = corpus
    q = Query.from_text(PROMPTS_ONLY)
    (rows,) = store.scan("path LIKE '%red_light%'")
    p = probabilities(embeddings_of(rows), q.propositions(), "framelogic-tiny")
    direct = q.probabilities(str(d / "red_light_violation.mp4"), use_cache=False)
    assert p.shape == (30, 2)
    np.testing.assert_allclose(p, direct.values, atol=1e-6)
    assert probabilities(embeddings_of(rows), {"red": "a red traffic light"}).shape == (30, 1)
    with pytest.raises(InputError, match="table column"):
        probabilities(embeddings_of(rows), Query.from_file(DRIVING).only("ran_red_light").propositions())


def test_search_needs_no_video(corpus, tmp_path):
    d, store, _ = corpus
    copy = Store(tmp_path / "copy")
    shutil.copytree(store.path, copy.path)
    q = Query.from_text(PROMPTS_ONLY)
    want = search_store(q, copy)
    moved = tmp_path / "moved"
    shutil.copytree(d, moved)
    shutil.rmtree(d)  # the videos are gone; the store is all there is
    try:
        assert search_store(q, copy) == want and len(want) >= 1
    finally:
        shutil.copytree(moved, d)


def test_search_says_what_the_store_holds(corpus):
    _, store, _ = corpus
    q = Query.from_text(PROMPTS_ONLY)
    with pytest.raises(InputError, match=r"holds no embeddings of model 'framelogic-tiny' at sampling 'fps=2.0'.*'fps=5.0'"):
        search_store(q, store, fps=2)
    assert len(search_store(q, store, where="path LIKE '%nothing%'")) == 0
    with pytest.raises(InputError, match="no such embedding store"):
        search_store(q, store.path / "nope")


def test_embedder_is_a_map_batches_callable(corpus):
    from framelogic.perception.pipeline import Embedder
    from framelogic.perception.sources import open_source

    d, store, _ = corpus
    embedder = Embedder("framelogic-tiny", device="cpu")
    src = open_source(str(d / "stop_sign.mp4"), fps=5)
    batch = next(src.batches(8))
    out = embedder({"image": batch.images, "frame": batch.indices})
    assert set(out) == {"frame", "embedding", "model", "preprocessing"} and "image" not in out
    assert out["embedding"].dtype == np.float16 and out["embedding"].shape[0] == 8
    assert out["preprocessing"][0] == embedder.preprocessing == store.manifest().column("preprocessing")[0].as_py()
    (rows,) = store.scan("path LIKE '%stop_sign%'")
    np.testing.assert_array_equal(out["embedding"].astype(np.float32), embeddings_of(rows)[:8])
