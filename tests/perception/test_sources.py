"""Frame sources: decoding, sampling, timestamps, and bad input."""

import warnings

import numpy as np
import pytest

from framelogic.logic.errors import InputError, InvalidValue
from framelogic.perception.sources import ArraySource, FolderSource, decode_parallel, open_source, prefetch, select


def test_sampling_rules():
    idx, rate = select(30, 30.0, None, None)
    assert len(idx) == 30 and rate == 30.0
    idx, rate = select(30, 30.0, None, 3)
    assert idx.tolist() == list(range(0, 30, 3)) and rate == 10.0
    idx, rate = select(31, 30.0, 2.0, None)  # nearest frame to each 0.5 s
    assert idx.tolist() == [0, 15, 30] and rate == 2.0
    idx, rate = select(10, 30.0, 60.0, None)  # cannot sample faster than the source
    assert len(idx) == 10 and rate == 30.0
    for fps, stride in [(0, None), (-1, None), (None, 0), (2.0, 2)]:
        with pytest.raises(InvalidValue):
            select(10, 30.0, fps, stride)


def test_video_decoding_with_timestamps(scenario_video):
    path, labels = scenario_video
    src = open_source(path)
    assert src.native_fps == pytest.approx(10.0) and len(src) == len(labels)
    batches = list(src.batches(16))
    images = np.concatenate([b.images for b in batches])
    times = np.concatenate([b.times for b in batches])
    assert images.shape == (len(labels), 144, 256, 3) and images.dtype == np.uint8
    assert np.allclose(times, labels.times)
    half = open_source(path, fps=5)
    assert half.rate == 5.0 and np.allclose(half.times, np.arange(len(half)) * 0.2)
    third = open_source(path, stride=3)
    assert third.rate == pytest.approx(10 / 3) and third.indices.tolist()[:3] == [0, 3, 6]


def test_parallel_segment_decoding_matches_sequential(scenario_video):
    path, _ = scenario_video
    src = open_source(path)
    seq = np.concatenate([b.images for b in src.batches(64)])
    par = decode_parallel(path, src.indices, workers=3)
    assert par.shape == seq.shape
    assert np.abs(par.astype(int) - seq.astype(int)).mean() < 2.0
    batches = list(src.batches(8, workers=3))  # the pipeline's parallel path, in order
    assert np.concatenate([b.indices for b in batches]).tolist() == src.indices.tolist()
    assert np.abs(np.concatenate([b.images for b in batches]).astype(int) - seq.astype(int)).mean() < 2.0


def test_bad_files(tmp_path, scenario_video):
    with pytest.raises(InputError, match="no such video file"):
        open_source(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).integers(0, 255, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(InputError, match="junk.mp4"):
        open_source(junk)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty.mp4"):
        open_source(empty)
    # a file cut in the middle: frames up to the break are kept, with a warning naming the last one
    path, labels = scenario_video
    cut = tmp_path / "cut.mp4"
    data = path.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    try:
        src = open_source(cut)
    except InputError as e:
        assert "cut.mp4" in str(e)  # the container index was lost: refused with the name
    else:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            got = sum(len(b.indices) for b in prefetch(src.batches(8)))
        assert 0 < got <= len(labels)
        if got < len(labels):
            assert any("decoding stopped after frame" in str(x.message) for x in w)


def test_arrays_and_folders(tmp_path, frames):
    import cv2

    src = ArraySource(frames, native_fps=4.0, fps=2.0)
    assert src.rate == 2.0 and len(src) == 6
    with pytest.raises(InvalidValue):
        ArraySource(frames.astype(np.float32))
    with pytest.raises(InputError, match="no frames"):
        ArraySource(np.zeros((0, 4, 4, 3), np.uint8))
    for i, f in enumerate(frames[:5]):
        cv2.imwrite(str(tmp_path / f"img_{i:03d}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    folder = open_source(tmp_path, source_fps=2.0)
    assert isinstance(folder, FolderSource) and len(folder) == 5 and folder.rate == 2.0
    imgs = np.concatenate([b.images for b in folder.batches(2)])
    assert np.array_equal(imgs, frames[:5])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no images"):
        open_source(empty)


def test_prefetch_passes_errors_through():
    def gen():
        yield 1
        raise InputError("boom")

    it = prefetch(gen())
    assert next(it) == 1
    with pytest.raises(InputError, match="boom"):
        next(it)
