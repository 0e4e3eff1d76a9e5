"""Embed once, query forever: the cache, and video -> probabilities."""

import json

import numpy as np
import pytest

from framelogic.perception import cache as C
from framelogic.perception.pipeline import embed_video, score_video
from framelogic.perception.scoring import Proposition


def entry(n=5, d=8):
    rng = np.random.default_rng(0)
    return C.Entry(rng.random((n, d)).astype(np.float32), np.arange(n) / 10, np.arange(n), 10.0)


def test_round_trip_in_fp16(tmp_path):
    cache = C.EmbeddingCache(tmp_path)
    e = entry()
    cache.put("k", e)
    got = cache.get("k")
    assert np.allclose(got.embeddings, e.embeddings, atol=1e-3) and got.rate == 10.0
    assert np.array_equal(got.times, e.times)
    manifest = json.loads((tmp_path / "k.json").read_text())
    assert manifest["dtype"] == "float16" and manifest["shape"] == [5, 8]


def test_corruption_is_detected_and_the_entry_dropped(tmp_path):
    cache = C.EmbeddingCache(tmp_path)
    cache.put("k", entry())
    data = tmp_path / "k.npz"
    blob = bytearray(data.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    data.write_bytes(bytes(blob))
    assert cache.get("k") is None and not data.exists()
    cache.put("k", entry())
    data.write_bytes(data.read_bytes()[:100])  # truncated
    assert cache.get("k") is None


def test_interrupted_write_leaves_no_usable_entry(tmp_path, monkeypatch):
    cache = C.EmbeddingCache(tmp_path)
    calls = {"n": 0}
    real = C._write

    def flaky(path, data, tag):
        calls["n"] += 1
        if calls["n"] == 2:  # the data file landed; the manifest write is interrupted
            raise KeyboardInterrupt
        real(path, data, tag)

    monkeypatch.setattr(C, "_write", flaky)
    with pytest.raises(KeyboardInterrupt):
        cache.put("k", entry())
    assert cache.get("k") is None
    assert not list(tmp_path.glob(".*.tmp"))


def test_default_directory_respects_env(monkeypatch, tmp_path):
    monkeypatch.setenv("FRAMELOGIC_CACHE", str(tmp_path / "x"))
    assert C.default_dir() == tmp_path / "x"
    monkeypatch.delenv("FRAMELOGIC_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert C.default_dir() == tmp_path / "framelogic"


def test_second_query_reads_the_cache(scenario_video, tiny_model_dir, tmp_path):
    path, labels = scenario_video
    model = f"local-dir:{tiny_model_dir}"
    first = embed_video(path, model=model, fps=5, cache_dir=tmp_path)
    second = embed_video(path, model=model, fps=5, cache_dir=tmp_path)
    assert not first.cached and second.cached
    assert np.allclose(first.embeddings, second.embeddings, atol=1e-3)
    other = embed_video(path, model=model, fps=2, cache_dir=tmp_path)  # other sampling, other entry
    assert not other.cached and len(other.times) < len(first.times)
    t = score_video(path, [Proposition("red", "a red traffic light"), Proposition("ped", "a pedestrian")],
                    model=model, fps=5, cache_dir=tmp_path)  # fmt: skip
    assert t.names == ("red", "ped") and t.rate == 5.0 and len(t) == len(first.times)
    assert np.all((t.values > 0) & (t.values < 1))
    no_cache = tmp_path / "none"
    score_video(path, {"red": "a red traffic light"}, model=model, fps=5, cache_dir=no_cache, use_cache=False)
    assert not no_cache.exists()
