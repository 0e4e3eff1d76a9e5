"""Adversarial cache entries (issue 11): whatever happens to the files of an
entry — truncation, flipped bytes, manifest fields rewritten with arbitrary
JSON, deleted files, a poisoned digest memo — the next run returns exactly the
clean run's result, never a traceback, and leaves a valid entry behind.

The video is encoded once; every example corrupts a fresh copy of its cache
directory, so an example costs one small re-encode at most.
"""

import json
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framelogic.perception.cache import MEMO_NAME, CacheWarning
from framelogic.perception.model import BUNDLED
from framelogic.perception.pipeline import embed_video

STRIDE = 3  # 4 frames: a re-encode costs tens of milliseconds
FIELDS = ["format", "key", "data", "bytes", "sha256", "shape", "dtype", "rate", "meta", "checksum"]


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A small video, a pristine cache directory holding its entry, and the clean result."""
    import cv2
    import torch

    # one intra-op thread: the tiny model's small batches run 10x slower when
    # torch's threads compete with other test processes for the cores
    threads = torch.get_num_threads()
    torch.set_num_threads(1)

    root = tmp_path_factory.mktemp("fuzz-cache")
    video = root / "clip.mp4"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 48))
    rng = np.random.default_rng(0)
    for i in range(12):
        img = np.full((48, 64, 3), 10 * i, np.uint8)
        img[rng.integers(0, 48), :] = 255
        w.write(img)
    w.release()
    pristine = root / "pristine"
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        first = embed_video(video, model=BUNDLED, stride=STRIDE, cache_dir=pristine)
        assert embed_video(video, model=BUNDLED, stride=STRIDE, cache_dir=pristine).cached
    assert not first.cached and (pristine / MEMO_NAME).is_file() and len(first.indices) == 4
    yield video, pristine, first
    torch.set_num_threads(threads)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
targets = st.sampled_from(["manifest", "data", "memo"])
corruptions = st.one_of(
    st.tuples(st.just("truncate"), targets, st.floats(0, 1)),
    st.tuples(st.just("flip"), targets, st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), min_size=1, max_size=8)),
    st.tuples(st.just("append"), targets, st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("garbage"), targets, st.binary(max_size=256)),
    st.tuples(st.just("delete"), targets),
    st.tuples(st.just("field"), st.sampled_from(FIELDS) | st.text(max_size=8), json_values | st.just("<delete>")),
    st.tuples(st.just("nudge"), st.sampled_from(["rate", "bytes", "shape"]), st.integers(-3, 3)),
    st.tuples(st.just("manifest"), json_values),
    st.tuples(st.just("memo"), json_values),
)


def corrupt(cache_dir: Path, manifest_name: str, op: tuple) -> None:
    manifest_path = cache_dir / manifest_name
    data_paths = sorted(cache_dir.glob("*.safetensors"))
    files = {"manifest": manifest_path, "data": data_paths[0] if data_paths else None, "memo": cache_dir / MEMO_NAME}
    kind = op[0]
    if kind in ("truncate", "flip", "append", "garbage", "delete"):
        path = files[op[1]]
        if path is None or not path.exists():
            return
        blob = bytearray(path.read_bytes())
        if kind == "truncate":
            blob = blob[: int(op[2] * len(blob))]
        elif kind == "flip":
            for where, mask in op[2]:
                if blob:
                    blob[min(int(where * len(blob)), len(blob) - 1)] ^= mask
        elif kind == "append":
            blob += op[2]
        elif kind == "garbage":
            blob = bytearray(op[2])
        if kind == "delete":
            path.unlink()
        else:
            path.write_bytes(bytes(blob))
        return
    try:
        manifest = json.loads(manifest_path.read_bytes())
    except (OSError, ValueError):
        manifest = None
    if kind == "manifest":
        manifest_path.write_text(json.dumps(op[1]))
    elif kind in ("field", "nudge") and isinstance(manifest, dict):
        name = op[1]
        if kind == "nudge":
            value = manifest.get(name)
            if isinstance(value, list):
                manifest[name] = [v + op[2] for v in value if isinstance(v, int)]
            elif isinstance(value, (int, float)):
                manifest[name] = value + op[2] if op[2] else value * 0.3  # a changed rate: 10 -> 3
        elif op[2] == "<delete>":
            manifest.pop(name, None)
        else:
            manifest[name] = op[2]
        manifest_path.write_text(json.dumps(manifest))
    elif kind == "memo":
        memo_path = files["memo"]
        try:
            memo = json.loads(memo_path.read_text())
        except (OSError, ValueError):
            memo = {}
        if isinstance(memo, dict) and memo:
            memo[next(iter(memo))] = op[1]  # the video's own digest record, replaced
        else:
            memo = op[1]
        memo_path.write_text(json.dumps(memo))


# at most 300 examples (the ci profile asks 500): each may re-encode, and the suite keeps this under a minute
@settings(max_examples=min(settings.default.max_examples, 300))
@given(ops=st.lists(corruptions, min_size=1, max_size=3))
def test_a_corrupted_entry_gives_the_clean_result_and_is_repaired(clean, ops):
    video, pristine, first = clean
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = Path(tmp) / "cache"
        shutil.copytree(pristine, cache_dir)
        (manifest,) = pristine.glob("*.json")
        for op in ops:
            corrupt(cache_dir, manifest.name, op)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = embed_video(video, model=BUNDLED, stride=STRIDE, cache_dir=cache_dir)
            again = embed_video(video, model=BUNDLED, stride=STRIDE, cache_dir=cache_dir)
        assert all(issubclass(w.category, CacheWarning) for w in caught), [str(w.message) for w in caught]
        assert not any("cannot write" in str(w.message) for w in caught)
        for result in (got, again):
            assert np.array_equal(result.embeddings, first.embeddings)
            assert np.array_equal(result.times, first.times) and np.array_equal(result.indices, first.indices)
            assert result.rate == first.rate
        assert again.cached  # the entry was repaired (or was never broken)
        assert len(list(cache_dir.glob("*.json"))) == 1 and len(list(cache_dir.glob("*.safetensors"))) == 1
        assert not list(cache_dir.glob(".*.tmp"))
