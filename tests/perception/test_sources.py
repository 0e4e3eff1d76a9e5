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


def _numbered_video(path, n=60, fps=30.0):
    """A video whose frame i shows i in binary as 6 black/white stripes, so
    decoding can be checked frame by frame despite lossy compression."""
    import cv2

    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (96, 48))
    for i in range(n):
        img = np.zeros((48, 96, 3), np.uint8)
        for bit in range(6):
            if i >> bit & 1:
                img[:, 16 * bit : 16 * bit + 16] = 255
        w.write(img)
    w.release()
    return path


def _number(img):
    return sum(1 << bit for bit in range(6) if img[:, 16 * bit + 4 : 16 * bit + 12].mean() > 128)


def test_sampled_frames_are_the_right_frames(tmp_path):
    path = _numbered_video(tmp_path / "numbered.mp4")
    src = open_source(path, fps=10)  # 30 fps source: every third frame, nearest each 0.1 s
    assert src.rate == 10.0 and src.indices.tolist() == list(range(0, 60, 3))
    frames = list(src.frames())
    assert [f.index for f in frames] == list(range(0, 60, 3))
    assert np.allclose([f.time for f in frames], np.arange(20) / 10)
    assert [_number(f.image) for f in frames] == [f.index for f in frames]
    odd = open_source(path, fps=7)  # not a divisor: nearest frames, true timestamps
    assert odd.rate == 7.0
    assert np.all(np.abs(odd.times - np.arange(len(odd)) / 7) <= 0.5 / 30 + 1e-9)
    assert [_number(f.image) for f in odd.frames()] == odd.indices.tolist()
    strided = open_source(path, stride=7)
    assert [_number(img) for img in np.concatenate([b.images for b in strided.batches(4)])] == list(range(0, 60, 7))
    par = decode_parallel(path, strided.indices, workers=3)  # seeking workers land on the right frames
    assert [_number(img) for img in par] == list(range(0, 60, 7))
    with pytest.raises(InvalidValue, match="fps"):
        open_source(path, fps=0)


def test_iterables_of_frames(frames):
    src = open_source((f for f in frames), source_fps=6.0, stride=2)
    assert len(src) == 6 and src.rate == 3.0
    got = np.concatenate([b.images for b in src.batches(4)])
    assert np.array_equal(got, frames[::2])
    with pytest.raises(InputError, match="no frames"):
        open_source(iter([]))
    with pytest.raises(InvalidValue, match="frame 1"):
        open_source([frames[0], frames[1, :10]])
    with pytest.raises(InvalidValue):
        open_source(42)
    with pytest.raises(InvalidValue, match="source_fps"):
        open_source(frames, source_fps=-1)


def test_zero_frame_video(tmp_path):
    import cv2

    path = tmp_path / "zero.mp4"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 48))
    w.release()  # a container with no frames (or no file at all, depending on the backend)
    with pytest.raises(InputError, match="zero.mp4"):
        open_source(path)
