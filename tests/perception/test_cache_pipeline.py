"""Embed once, query forever: the cache, and video -> probabilities."""

import json
import threading

import numpy as np
import pytest

from framelogic.logic.errors import InvalidValue
from framelogic.perception import cache as C
from framelogic.perception.pipeline import embed_video, score_video
from framelogic.perception.scoring import Proposition


def entry(n=5, d=8, seed=0):
    rng = np.random.default_rng(seed)
    return C.Entry(rng.random((n, d)).astype(np.float32), np.arange(n) / 10, np.arange(n), 10.0)


def data_file(tmp_path, key="k"):
    (path,) = tmp_path.glob(f"{key}.*.safetensors")
    return path


def test_round_trip_in_fp16(tmp_path):
    cache = C.EmbeddingCache(tmp_path)
    assert cache.get("k") is None
    e = entry()
    cache.put("k", e, meta={"source": "x.mp4"})
    got = cache.get("k")
    assert np.allclose(got.embeddings, e.embeddings, atol=1e-3) and got.embeddings.dtype == np.float32
    assert got.rate == 10.0 and np.array_equal(got.times, e.times) and np.array_equal(got.indices, e.indices)
    manifest = json.loads((tmp_path / "k.json").read_text())
    assert manifest["dtype"] == "float16" and manifest["shape"] == [5, 8] and manifest["meta"] == {"source": "x.mp4"}
    assert manifest["data"] == data_file(tmp_path).name and cache.keys() == ["k"] and "k" in cache


def test_corruption_is_detected_and_the_entry_dropped(tmp_path):
    cache = C.EmbeddingCache(tmp_path)
    cache.put("k", entry())
    data = data_file(tmp_path)
    blob = bytearray(data.read_bytes())
    blob[len(blob) // 2] ^= 0xFF  # one flipped byte inside the embeddings
    data.write_bytes(bytes(blob))
    with pytest.warns(C.CacheWarning, match="SHA-256"):
        assert cache.get("k") is None and not data.exists() and not (tmp_path / "k.json").exists()
    cache.put("k", entry())
    data = data_file(tmp_path)
    data.write_bytes(data.read_bytes()[:100])  # truncated
    with pytest.warns(C.CacheWarning, match="truncated"):
        assert cache.get("k") is None
    cache.put("k", entry())
    (tmp_path / "k.json").write_text("{not json")  # a broken manifest
    with pytest.warns(C.CacheWarning, match="JSON"):
        assert cache.get("k") is None and not list(tmp_path.glob("k.*"))


def test_interrupted_write_leaves_no_usable_entry(tmp_path, monkeypatch):
    cache = C.EmbeddingCache(tmp_path)
    calls = {"n": 0}
    real = C.atomic_write_bytes

    def flaky(path, data):
        calls["n"] += 1
        if calls["n"] == 2:  # the data file landed; the manifest write is interrupted
            raise KeyboardInterrupt
        real(path, data)

    monkeypatch.setattr(C, "atomic_write_bytes", flaky)
    with pytest.raises(KeyboardInterrupt):
        cache.put("k", entry())
    assert cache.get("k") is None
    assert not list(tmp_path.glob(".*.tmp"))
    monkeypatch.setattr(C, "atomic_write_bytes", real)
    cache.put("k", entry(seed=1))  # the next run rewrites it and the stray data file goes
    assert cache.get("k") is not None and len(list(tmp_path.glob("k.*.safetensors"))) == 1


def test_an_update_replaces_the_previous_version(tmp_path):
    cache = C.EmbeddingCache(tmp_path)
    cache.put("k", entry(seed=0))
    cache.put("k", entry(seed=1))
    assert np.allclose(cache.get("k").embeddings, entry(seed=1).embeddings, atol=1e-3)
    assert len(list(tmp_path.glob("k.*.safetensors"))) == 1


def test_concurrent_writers_and_readers_never_see_a_broken_entry(tmp_path):
    cache = C.EmbeddingCache(tmp_path)
    versions = [entry(n=200, d=32, seed=s) for s in range(4)]
    stop = threading.Event()
    seen, bad = [], []

    def write(e):
        for _ in range(15):
            C.EmbeddingCache(tmp_path).put("k", e)

    def read():
        while not stop.is_set():
            got = cache.get("k")
            if got is not None:
                seen.append(1)
                if not any(np.allclose(got.embeddings, v.embeddings, atol=1e-3) for v in versions):
                    bad.append(got)

    readers = [threading.Thread(target=read) for _ in range(2)]
    writers = [threading.Thread(target=write, args=(v,)) for v in versions]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert not bad and seen
    final = cache.get("k")  # the last manifest's version is complete
    assert final is not None and any(np.allclose(final.embeddings, v.embeddings, atol=1e-3) for v in versions)
    assert not list(tmp_path.glob(".*.tmp"))


def test_default_directory_respects_env(monkeypatch, tmp_path):
    monkeypatch.setenv("FRAMELOGIC_CACHE", str(tmp_path / "x"))
    assert C.default_dir() == tmp_path / "x"
    monkeypatch.delenv("FRAMELOGIC_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert C.default_dir() == tmp_path / "framelogic"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert C.default_dir() == tmp_path / "home" / ".cache" / "framelogic"


def test_second_query_reads_the_cache(scenario_video, tiny_model_dir, tmp_path):
    path, labels = scenario_video
    model = f"local-dir:{tiny_model_dir}"
    first = embed_video(path, model=model, fps=5, cache_dir=tmp_path)
    second = embed_video(path, model=model, fps=5, cache_dir=tmp_path)
    assert not first.cached and second.cached
    assert np.allclose(first.embeddings, second.embeddings, atol=1e-3)
    assert np.array_equal(first.times, second.times) and second.rate == 5.0
    other = embed_video(path, model=model, fps=2, cache_dir=tmp_path)  # other sampling, other entry
    assert not other.cached and len(other.times) < len(first.times)
    t = score_video(path, [Proposition("red", "a red traffic light"), Proposition("ped", "a pedestrian")],
                    model=model, fps=5, cache_dir=tmp_path)  # fmt: skip
    assert t.names == ("red", "ped") and t.rate == 5.0 and len(t) == len(first.times)
    assert np.allclose(t.times, first.times)
    assert np.all((t.values > 0) & (t.values < 1))
    no_cache = tmp_path / "none"
    score_video(path, {"red": "a red traffic light"}, model=model, fps=5, cache_dir=no_cache, use_cache=False)
    assert not no_cache.exists()


def test_a_corrupt_cache_entry_is_recomputed_not_used(scenario_video, tiny_model_dir, tmp_path):
    path, _ = scenario_video
    model = f"local-dir:{tiny_model_dir}"
    first = embed_video(path, model=model, stride=4, cache_dir=tmp_path)
    (data,) = tmp_path.glob("*.safetensors")
    data.write_bytes(data.read_bytes()[:-7])
    with pytest.warns(C.CacheWarning, match="recomputed"):
        again = embed_video(path, model=model, stride=4, cache_dir=tmp_path)
    assert not again.cached and np.array_equal(again.embeddings, first.embeddings)
    assert embed_video(path, model=model, stride=4, cache_dir=tmp_path).cached  # rebuilt


def test_env_var_cache_dir_and_arrays(tiny_model_dir, tmp_path, monkeypatch, frames):
    monkeypatch.setenv("FRAMELOGIC_CACHE", str(tmp_path / "env"))
    model = f"local-dir:{tiny_model_dir}"
    a = embed_video(frames, model=model, source_fps=4.0)
    assert not a.cached and list((tmp_path / "env").glob("*.json"))
    assert embed_video(frames, model=model, source_fps=4.0).cached
    changed = frames.copy()
    changed[0, 0, 0, 0] ^= 1  # other content, other fingerprint
    assert not embed_video(changed, model=model, source_fps=4.0).cached
    with pytest.raises(InvalidValue, match="batch_size"):
        embed_video(frames, model=model, batch_size=0)
