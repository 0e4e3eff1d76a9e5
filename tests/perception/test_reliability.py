"""Issue 11: nothing stale, nothing lost, no raw tracebacks from perception.

Each test reproduces one defect found by the adversarial run: a same-size
change served from the cache, manifests outside the checksum, unwritable cache
directories, corrupt weight files, broken frame-rate headers and results that
depended on the cache state.
"""

import json
import os
import re
import shutil
import warnings

import numpy as np
import pytest

from framelogic.logic.errors import FramelogicError, InputError
from framelogic.perception import cache as C
from framelogic.perception.pipeline import embed_video, score_video
from framelogic.perception.scoring import Proposition
from framelogic.perception.sources import open_source

PROPS = [Proposition("red", "a red traffic light"), Proposition("ped", "a pedestrian")]


def raw_avi(path, n, changed=(), seed=0):
    """An uncompressed AVI of ``n`` 64x48 frames: every frame takes the same bytes,
    so videos that differ only in the frames ``changed`` have the same size."""
    import cv2

    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    w = cv2.VideoWriter(str(path), 0, 10.0, (64, 48))
    for i in range(n):
        img = np.roll(base, i, axis=1)
        if i in changed:
            img = 255 - img
        w.write(img)
    w.release()
    return path


# ------------------------------------------------------------ 2: stale embeddings
def test_a_same_size_change_is_never_served_from_the_cache(tmp_path, tiny_model_dir):
    model = f"local-dir:{tiny_model_dir}"
    video = raw_avi(tmp_path / "clip.avi", 1000)
    # frames 270..350 lie between the three 1 MiB samples the old fingerprint read
    other = raw_avi(tmp_path / "other.avi", 1000, changed=range(270, 351))
    assert video.stat().st_size == other.stat().st_size > 4 << 20
    first = embed_video(video, model=model, stride=10, cache_dir=tmp_path / "cache")
    st = video.stat()
    with open(video, "r+b") as f:  # rewritten in place: same inode, same size, same mtime
        f.write(other.read_bytes())
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert video.stat().st_size == st.st_size and video.stat().st_mtime_ns == st.st_mtime_ns
    again = embed_video(video, model=model, stride=10, cache_dir=tmp_path / "cache")
    fresh = embed_video(other, model=model, stride=10, use_cache=False)
    assert not again.cached
    assert not np.array_equal(again.embeddings, first.embeddings)
    assert np.array_equal(again.embeddings, fresh.embeddings)
    assert embed_video(video, model=model, stride=10, cache_dir=tmp_path / "cache").cached


def test_unchanged_files_are_hashed_once(tmp_path, monkeypatch):
    from framelogic.perception import sources

    video = raw_avi(tmp_path / "clip.avi", 20)
    calls = []
    real = sources.content_digest
    monkeypatch.setattr(sources, "content_digest", lambda paths: calls.append(1) or real(paths))
    cache = C.EmbeddingCache(tmp_path / "cache")
    src = open_source(video)
    monkeypatch.setattr(C, "RACY_NS", 0)  # trust a file changed just before hashing (see below)
    fp = src.fingerprint(cache.digest)
    assert fp == src.fingerprint(cache.digest) == src.fingerprint() and len(calls) == 1
    assert C.EmbeddingCache(tmp_path / "cache").digest([video]) == fp.split(":")[-1] and len(calls) == 1
    video.write_bytes(video.read_bytes())  # same bytes, new ctime: hashed again, same digest
    assert src.fingerprint(cache.digest) == fp and len(calls) == 2
    # a file changed within RACY_NS of its hashing may change again within one
    # timestamp tick: its digest is not trusted
    monkeypatch.setattr(C, "RACY_NS", 10**12)
    cache.digest([video])
    cache.digest([video])
    assert len(calls) == 4
    (tmp_path / "cache" / C.MEMO_NAME).write_text('{"not": "a memo"')  # a broken memo is ignored
    monkeypatch.setattr(C, "RACY_NS", 0)
    assert cache.digest([video]) == fp.split(":")[-1]


def test_folder_fingerprints_cover_content(tmp_path, frames):
    import cv2

    for i, f in enumerate(frames[:4]):
        cv2.imwrite(str(tmp_path / f"f{i}.bmp"), f)  # BMP: every image the same size
    src = open_source(tmp_path)
    fp = src.fingerprint()
    st = (tmp_path / "f2.bmp").stat()
    cv2.imwrite(str(tmp_path / "f2.bmp"), frames[5])
    os.utime(tmp_path / "f2.bmp", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (tmp_path / "f2.bmp").stat().st_size == st.st_size
    assert open_source(tmp_path).fingerprint() != fp


# ------------------------------------------------------------ 3: the manifest
def entry(n=5, d=8, seed=0):
    rng = np.random.default_rng(seed)
    return C.Entry(rng.random((n, d)).astype(np.float32), np.arange(n) / 10, np.arange(n), 10.0)


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m.update(rate=None),
        lambda m: m.update(rate="10"),
        lambda m: m.pop("rate"),
        lambda m: m.update(rate=3.0),  # a valid-looking value: only the checksum catches it
        lambda m: m.update(rate=-1.0),
        lambda m: m.update(rate=float("nan")),
        lambda m: m.update(rate=True),
        lambda m: m.update(shape=[5]),
        lambda m: m.update(shape="5x8"),
        lambda m: m.update(bytes=-1),
        lambda m: m.update(dtype="float32"),
        lambda m: m.update(meta=[]),
        lambda m: m.update(format="2"),
        lambda m: m.update(extra=1),
        lambda m: m.pop("checksum"),
        lambda m: m.update(data="../../etc/passwd"),
    ],
)
def test_every_manifest_field_is_validated(tmp_path, edit):
    cache = C.EmbeddingCache(tmp_path)
    cache.put("k", entry())
    manifest = json.loads((tmp_path / "k.json").read_text())
    edit(manifest)
    (tmp_path / "k.json").write_text(json.dumps(manifest))
    with pytest.warns(C.CacheWarning, match="k.json"):
        assert cache.get("k") is None
    assert not list(tmp_path.glob("k*"))  # removed, so the caller rewrites it
    cache.put("k", entry())
    assert cache.get("k").rate == 10.0


def test_an_entry_that_would_not_read_back_is_not_stored(tmp_path):
    cache = C.EmbeddingCache(tmp_path)
    bad = C.Entry(np.zeros((2, 4), np.float32), np.arange(2.0), np.arange(2), float("inf"))
    with pytest.warns(C.CacheWarning, match="not stored"):
        assert cache.put("k", bad) is False
    assert cache.get("k") is None and cache.put("k", entry()) is True


@pytest.mark.parametrize("text", ["[]", "null", '"x"', "1e999", '{"format": 3}', ""])
def test_manifests_that_are_not_objects(tmp_path, text):
    cache = C.EmbeddingCache(tmp_path)
    cache.put("k", entry())
    (tmp_path / "k.json").write_text(text)
    with pytest.warns(C.CacheWarning):
        assert cache.get("k") is None


def test_a_broken_rate_is_repaired_by_the_next_run(scenario_video, tiny_model_dir, tmp_path):
    path, _ = scenario_video
    model = f"local-dir:{tiny_model_dir}"
    first = embed_video(path, model=model, stride=4, cache_dir=tmp_path)
    (manifest_path,) = tmp_path.glob("*.json")
    for bad in (None, "2.5", 3.0):
        manifest = json.loads(manifest_path.read_text())
        manifest["rate"] = bad
        manifest_path.write_text(json.dumps(manifest))
        with pytest.warns(C.CacheWarning):
            again = embed_video(path, model=model, stride=4, cache_dir=tmp_path)
        assert not again.cached and again.rate == first.rate == 2.5
        repaired = embed_video(path, model=model, stride=4, cache_dir=tmp_path)
        assert repaired.cached and repaired.rate == 2.5


# ------------------------------------------------------------ 4: unwritable cache
def _no_cache_result(path, model):
    return score_video(path, PROPS, model=model, stride=4, use_cache=False)


@pytest.mark.parametrize("where", ["file", "under_file"])
def test_a_cache_dir_that_is_a_file_warns_once_and_results_are_produced(scenario_video, tiny_model_dir, tmp_path, where):
    path, _ = scenario_video
    model = f"local-dir:{tiny_model_dir}"
    blocker = tmp_path / "cache"
    blocker.write_text("not a directory")
    cache_dir = blocker if where == "file" else blocker / "sub"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = score_video(path, PROPS, model=model, stride=4, cache_dir=cache_dir)
        b = score_video(path, PROPS, model=model, stride=4, cache_dir=cache_dir)
    cache_warnings = [w for w in caught if issubclass(w.category, C.CacheWarning)]
    assert len(cache_warnings) == 1, [str(w.message) for w in caught]
    assert "cache" in str(cache_warnings[0].message) and "not cached" in str(cache_warnings[0].message)
    expected = _no_cache_result(path, model)
    assert np.array_equal(a.values, expected.values) and np.array_equal(b.values, expected.values)
    assert blocker.read_text() == "not a directory"


@pytest.mark.parametrize("target", ["replace", "open"])
def test_an_unwritable_cache_dir_warns_and_results_are_produced(scenario_video, tiny_model_dir, tmp_path, monkeypatch, target):
    import builtins

    path, _ = scenario_video
    model = f"local-dir:{tiny_model_dir}"
    if target == "replace":
        def deny(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(os, "replace", deny)
    else:
        real_open = builtins.open

        def deny(file, mode="r", *args, **kwargs):
            if any(c in mode for c in "wax+"):
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, mode, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", deny)
    with pytest.warns(C.CacheWarning, match="not cached"):
        got = score_video(path, PROPS, model=model, stride=4, cache_dir=tmp_path / "c")
    monkeypatch.undo()
    assert np.array_equal(got.values, _no_cache_result(path, model).values)
    assert not list((tmp_path / "c").glob("*.json")) if (tmp_path / "c").exists() else True


# ------------------------------------------------------------ 11: corrupt weights
def test_corrupt_weight_files_are_input_errors_naming_the_file(tiny_model_dir, tmp_path):
    from framelogic.perception.model import load_encoder

    garbage = np.random.default_rng(0).integers(0, 255, 4096, dtype=np.uint8).tobytes()
    cases = []
    for name, data in [("empty.safetensors", b""), ("junk.safetensors", garbage), ("empty.pt", b""),
                       ("junk.pt", garbage), ("text.pt", b"hello\n"), ("trunc.safetensors", None)]:  # fmt: skip
        p = tmp_path / name
        if data is None:
            data = (tiny_model_dir / "open_clip_model.safetensors").read_bytes()[:5000]
        p.write_bytes(data)
        cases.append((f"framelogic-tiny:{p}", p))
    cases.append(("framelogic-tiny:/etc/passwd", "/etc/passwd"))
    beside = tmp_path / "beside"  # a bare checkpoint path with its config next to it
    beside.mkdir()
    shutil.copy(tiny_model_dir / "open_clip_config.json", beside)
    (beside / "open_clip_model.safetensors").write_bytes(garbage)
    cases.append((str(beside / "open_clip_model.safetensors"), beside / "open_clip_model.safetensors"))
    cases.append((f"local-dir:{beside}", beside / "open_clip_model.safetensors"))
    for spec, path in cases:
        with pytest.raises(InputError, match=re.escape(str(path))) as info:
            load_encoder(spec, "cpu")
        assert isinstance(info.value, FramelogicError) and "checkpoint" in str(info.value), spec


def test_a_retrained_model_of_the_same_size_changes_the_cache_key(tiny_model_dir, tmp_path):
    from framelogic.perception.model import _weights_id

    copy = tmp_path / "w.safetensors"
    data = bytearray((tiny_model_dir / "open_clip_model.safetensors").read_bytes())
    copy.write_bytes(data)
    before = _weights_id("x", str(copy))
    data[-3] ^= 1  # a change past the first MiB
    copy.write_bytes(data)
    assert _weights_id("x", str(copy)) != before


# ------------------------------------------------------------ minor: broken frame rates
class _BrokenRate:
    """A cv2.VideoCapture whose header frame rate (and maybe timestamps) are broken."""

    def __init__(self, real, fps, timestamps=True):
        self._cap, self._fps, self._timestamps = real, fps, timestamps

    def get(self, prop):
        import cv2

        if prop == cv2.CAP_PROP_FPS:
            return self._fps
        if prop == cv2.CAP_PROP_POS_MSEC and not self._timestamps:
            return 0.0
        return self._cap.get(prop)

    def __getattr__(self, name):
        return getattr(self._cap, name)


@pytest.mark.parametrize("fps", [-25.0, 0.0, float("nan"), float("inf"), 2147483647.0])
def test_an_invalid_header_rate_falls_back_to_timestamps(tmp_path, monkeypatch, fps):
    import cv2

    video = raw_avi(tmp_path / "v.avi", 100)
    real = cv2.VideoCapture
    monkeypatch.setattr(cv2, "VideoCapture", lambda *a: _BrokenRate(real(*a), fps))
    with pytest.warns(UserWarning, match="frame rate"):
        src = open_source(video)
    assert src.native_fps == pytest.approx(10.0) and len(src) == 100
    with pytest.warns(UserWarning, match="measured from the frame timestamps"):
        half = open_source(video, fps=5)
    assert half.rate == 5.0 and len(half) == 50


def test_an_invalid_header_rate_without_timestamps_needs_the_rate(tmp_path, monkeypatch):
    import cv2

    video = raw_avi(tmp_path / "v.avi", 100)
    real = cv2.VideoCapture
    monkeypatch.setattr(cv2, "VideoCapture", lambda *a: _BrokenRate(real(*a), -1.0, timestamps=False))
    with pytest.raises(InputError, match=r"v\.avi.*frame rate.*--fps"):
        open_source(video)
    src = open_source(video, source_fps=10.0)  # the user's rate: no warning
    assert src.native_fps == 10.0 and len(src) == 100 and src.rate == 10.0
    assert [len(b.indices) for b in src.batches(64)] == [64, 36]


def test_a_negative_rate_in_a_real_avi_header(tmp_path, tiny_model_dir):
    """The AVI stream header's rate field set to -10: OpenCV reports 2**31 - 1 fps
    and every timestamp 0, and used to make 100 frames 1 when sampled."""
    import struct

    import cv2

    video = raw_avi(tmp_path / "v.avi", 100)
    data = bytearray(video.read_bytes())
    at = data.find(b"strh") + 8 + 20  # fccType, fccHandler, flags, priority+language, initial frames
    assert struct.unpack("<II", data[at : at + 8]) == (1, 10)  # dwScale, dwRate
    data[at + 4 : at + 8] = struct.pack("<i", -10)
    video.write_bytes(bytes(data))
    assert cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FPS) > 1e9
    with pytest.raises(InputError, match="--fps"):
        open_source(video)
    with pytest.raises(InputError, match="--fps"):
        open_source(video, stride=2)
    with pytest.warns(UserWarning, match="every frame is taken"):
        src = open_source(video, fps=10)
    assert src.native_fps == 10.0 and src.rate == 10.0 and len(src) == 100
    assert len(open_source(video, source_fps=10.0, fps=5)) == 50
    with pytest.warns(UserWarning, match="frame rate"):
        emb = embed_video(video, model=f"local-dir:{tiny_model_dir}", fps=10, use_cache=False)
    assert len(emb.indices) == 100 and emb.rate == 10.0 and np.allclose(emb.times, np.arange(100) / 10)
    from framelogic.perception.sources import read_frames, thumbnails

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # frames by index need no rate, so no warning either
        got = read_frames(video, [0, 50, 99])
        assert sorted(got) == [0, 50, 99] and got[50].shape == (48, 64, 3)
        assert sorted(thumbnails(video, [3])) == [3]


# ------------------------------------------------------------ minor: cache state
def test_first_run_cached_run_and_uncached_run_are_bitwise_equal(scenario_video, tiny_model_dir, tmp_path):
    path, _ = scenario_video
    model = f"local-dir:{tiny_model_dir}"
    first = score_video(path, PROPS, model=model, stride=2, cache_dir=tmp_path)
    cached = score_video(path, PROPS, model=model, stride=2, cache_dir=tmp_path)
    uncached = score_video(path, PROPS, model=model, stride=2, use_cache=False)
    assert np.array_equal(first.values, cached.values) and np.array_equal(first.values, uncached.values)
    assert np.array_equal(first.times, cached.times) and first.rate == cached.rate


# ------------------------------------------------------------ adversarial extras
@pytest.mark.parametrize(
    "text",
    [
        '{"kind": "platt", "a": NaN, "b": 0}',
        '{"kind": "platt", "a": 1, "b": Infinity}',
        '{"kind": "bogus", "a": 1, "b": 0}',
        '{"kind": "isotonic", "a": 1, "b": 0, "xs": [0, 1], "ys": [0.5]}',
        '{"kind": "isotonic", "a": 1, "b": 0, "xs": [1, 0], "ys": [0.2, 0.8]}',
        '{"kind": "isotonic", "a": 1, "b": 0, "xs": [0, 1], "ys": [0.2, 7]}',
        '{"kind": "isotonic", "a": 1, "b": 0, "xs": 5, "ys": 5}',
        '{"kind": "isotonic", "a": 1, "b": 0, "xs": [], "ys": []}',
        "[1, 2]",
    ],
)
def test_a_calibration_file_that_would_give_nan_or_wrong_probabilities_is_refused(tmp_path, text):
    from framelogic.perception.scoring import Calibration

    path = tmp_path / "cal.json"
    path.write_text(text)
    with pytest.raises(InputError, match="cal.json"):
        Calibration.load(path)
