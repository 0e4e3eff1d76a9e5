"""Frame sources: video files (OpenCV), image folders and arrays, with sampling.

Every frame carries its index in the source and its timestamp in seconds.
Sampling takes every frame, every ``stride``-th frame, or the frames nearest
each ``1/fps`` seconds of media time; :attr:`Source.rate` is the effective
rate, which is what converts time bounds (``F[0,2s]``) into frames.

Decoding runs in a background thread (:func:`prefetch`) so it overlaps with
model inference; long videos can be decoded as disjoint segments in parallel
(:func:`decode_parallel`), each worker seeking to its own start.
"""

from __future__ import annotations

import hashlib
import math
import os
import queue
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from framelogic.logic.errors import InputError, InvalidValue

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"})
MAX_FPS = 1000.0  # a header rate above this (or <= 0, NaN) is treated as unknown
CHUNK = 4 << 20  # bytes read at a time when hashing content


def content_digest(paths: Sequence[Path]) -> str:
    """BLAKE2b-256 (hex) of every byte of ``paths``, streamed in 4 MiB chunks.

    One file: the digest of its bytes (``b2sum -l 256`` gives the same). Several
    files: each is framed by its name and size, so moving bytes between files
    or renaming one changes the digest.
    """
    h = hashlib.blake2b(digest_size=32)
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    for p in paths:
        try:
            with open(p, "rb", buffering=0) as f:
                if len(paths) != 1:
                    h.update(f"{Path(p).name}\0{os.fstat(f.fileno()).st_size}\0".encode())
                while n := f.readinto(buf):
                    h.update(view[:n])
        except OSError as e:
            raise InputError(f"{str(p)!r}: cannot read ({e.strerror or e})") from None
    return h.hexdigest()


Digest = Callable[[Sequence[Path]], str]


@dataclass(frozen=True)
class Frame:
    index: int  # index in the source (before sampling)
    time: float  # seconds of media time
    image: np.ndarray  # (H, W, 3) uint8 RGB


@dataclass(frozen=True)
class Batch:
    indices: np.ndarray
    times: np.ndarray
    images: np.ndarray  # (B, H, W, 3) uint8 RGB


def _check_sampling(fps: float | None, stride: int | None) -> None:
    if fps is not None and stride is not None:
        raise InvalidValue(f"fps={fps!r} and stride={stride!r}: give one of them, not both")
    if fps is not None and (not isinstance(fps, (int, float)) or not fps > 0):
        raise InvalidValue(f"fps={fps!r} must be a number > 0")
    if stride is not None and (not isinstance(stride, int) or stride < 1):
        raise InvalidValue(f"stride={stride!r} must be a whole number >= 1")


def select(n: int, native_fps: float, fps: float | None, stride: int | None) -> tuple[np.ndarray, float]:
    """The source indices to keep and the effective sampling rate."""
    _check_sampling(fps, stride)
    if stride is not None:
        return np.arange(0, n, stride), native_fps / stride
    if fps is None or fps >= native_fps:
        return np.arange(n), native_fps
    last = (n - 1) / native_fps  # media time of the last frame
    k = np.arange(int(np.floor(last * fps + 1e-9)) + 1)
    idx = np.unique(np.clip(np.rint(k * native_fps / fps).astype(np.int64), 0, n - 1))
    return idx, float(fps)


class Source:
    """A sampled sequence of frames."""

    name: str
    native_fps: float
    indices: np.ndarray
    rate: float

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def times(self) -> np.ndarray:
        return self.indices / self.native_fps

    def batches(self, size: int) -> Iterator[Batch]:
        raise NotImplementedError

    def frames(self, batch_size: int = 32) -> Iterator[Frame]:
        """The sampled frames one by one, each with its source index and timestamp."""
        for b in self.batches(batch_size):
            for i, t, img in zip(b.indices, b.times, b.images):
                yield Frame(int(i), float(t), img)

    def fingerprint(self, digest: Digest = content_digest) -> str:
        """What the frames are made of, for cache keys; files are hashed with
        ``digest`` (the embedding cache passes its memoized one)."""
        raise NotImplementedError

    @property
    def sampling(self) -> str:
        # exact rates: two rates that print alike must not share cached timestamps
        idx = hashlib.sha256(np.asarray(self.indices, dtype=np.int64).tobytes()).hexdigest()[:16]
        return f"{len(self.indices)}@{self.rate!r}/{self.native_fps!r}:{idx}"


class ArraySource(Source):
    def __init__(self, frames: np.ndarray | Sequence[np.ndarray], *, native_fps: float = 1.0,
                 fps: float | None = None, stride: int | None = None, name: str = "<array>") -> None:  # fmt: skip
        arr = np.asarray(frames)
        if arr.ndim != 4 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
            raise InvalidValue(f"frames must be uint8 RGB of shape (N, H, W, 3), not {arr.dtype} {arr.shape}")
        if len(arr) == 0:
            raise InputError(f"{name}: no frames")
        self.frames, self.name, self.native_fps = arr, name, float(native_fps)
        self.indices, self.rate = select(len(arr), self.native_fps, fps, stride)

    def batches(self, size: int) -> Iterator[Batch]:
        for i in range(0, len(self.indices), size):
            idx = self.indices[i : i + size]
            yield Batch(idx, idx / self.native_fps, self.frames[idx])

    def fingerprint(self, digest: Digest = content_digest) -> str:
        h = hashlib.sha256(f"{self.frames.shape}".encode())
        h.update(np.ascontiguousarray(self.frames).reshape(-1).data)
        return "array:" + h.hexdigest()


class FolderSource(Source):
    """Images in a folder, sorted by name; ``native_fps`` gives them timestamps."""

    def __init__(self, path: str | Path, *, native_fps: float = 1.0, fps: float | None = None, stride: int | None = None) -> None:
        self.path = Path(path)
        self.files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise InputError(f"{str(path)!r}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in this folder")
        self.name, self.native_fps = str(path), float(native_fps)
        self.indices, self.rate = select(len(self.files), self.native_fps, fps, stride)

    def _read(self, p: Path) -> np.ndarray:
        import cv2

        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            raise InputError(f"{str(p)!r}: not a readable image")
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

    def batches(self, size: int) -> Iterator[Batch]:
        shape = None
        for i in range(0, len(self.indices), size):
            idx = self.indices[i : i + size]
            imgs = [self._read(self.files[j]) for j in idx]
            if shape is None:
                shape = imgs[0].shape
            imgs = [_fit(im, shape) for im in imgs]
            yield Batch(idx, idx / self.native_fps, np.stack(imgs))

    def fingerprint(self, digest: Digest = content_digest) -> str:
        """Every image's name and bytes."""
        return "folder:" + digest(self.files)


def _fit(img: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    import cv2

    return img if img.shape == shape else cv2.resize(img, (shape[1], shape[0]))


class VideoSource(Source):
    """A video file decoded with OpenCV.

    The header's frame rate is used when it is valid (finite, in (0, MAX_FPS]);
    an invalid one is unknown, not 30 or 2**31 - 1: the rate is then measured
    from the frames' timestamps, with a warning, or must be given, as
    ``source_fps`` or (when the timestamps are broken too) as ``fps``, which
    then takes every frame at that rate. ``source_fps`` always overrides the
    header.
    """

    def __init__(self, path: str | Path, *, fps: float | None = None, stride: int | None = None,
                 source_fps: float | None = None) -> None:  # fmt: skip
        import cv2

        self.path = Path(path)
        self.name = str(path)
        if not self.path.is_file():
            raise InputError(f"{self.name!r}: no such video file")
        cap = cv2.VideoCapture(self.name)
        try:
            if not cap.isOpened():
                raise InputError(f"{self.name!r}: cannot open as a video (unreadable or corrupt file)")
            header = _number(cap.get(cv2.CAP_PROP_FPS))
            count = _number(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            ok, first = cap.read()
        finally:
            cap.release()
        if not ok or first is None:
            raise InputError(f"{self.name!r}: the video has no readable frames")
        header_ok = math.isfinite(header) and 0 < header <= MAX_FPS
        # seeking converts frame numbers to times with the header's rate: without
        # a valid one, frames are only read in order
        self.seekable = header_ok
        if not (math.isfinite(count) and 1 <= count <= 1e9) or not header_ok:
            count, measured = _probe(self.name)  # the container's count is derived from the rate
        else:
            measured = None
        if source_fps is not None:
            self.native_fps = float(source_fps)
        elif header_ok:
            self.native_fps = header
        elif measured is None and fps is not None:
            # nothing in the file tells the rate: the one rate the user gave is the frames' rate
            warnings.warn(
                f"{self.name}: the frame rate in the video's header ({header!r}) is invalid and its frames carry "
                f"no timestamps; every frame is taken, at the given fps={fps!r}",
                stacklevel=3,
            )
            self.native_fps, fps = float(fps), None
        else:
            if measured is None:
                raise InputError(
                    f"{self.name!r}: the frame rate in the video's header ({header!r}) is invalid and its frames "
                    "carry no usable timestamps; give the video's frame rate: --fps RATE (source_fps= in Python)"
                )
            warnings.warn(
                f"{self.name}: the frame rate in the video's header ({header!r}) is invalid; "
                f"using {measured:.6g} fps measured from the frame timestamps (give source_fps= to override)",
                stacklevel=3,
            )
            self.native_fps = measured
        self.n_frames = int(count)
        self.indices, self.rate = select(self.n_frames, self.native_fps, fps, stride)

    def batches(self, size: int, workers: int | None = None) -> Iterator[Batch]:
        """Batches in order. With more than two cores (or ``workers > 1``) long videos
        are decoded as disjoint segments in parallel, each worker seeking to its start."""
        if workers is None:
            workers = max(1, min(8, (os.cpu_count() or 1) - 1)) if (os.cpu_count() or 1) > 2 else 1
        if workers > 1 and self.seekable and len(self.indices) >= 4 * size:
            yield from self._parallel_batches(size, workers)
            return
        yield from self._sequential_batches(size)

    def _parallel_batches(self, size: int, workers: int) -> Iterator[Batch]:
        from concurrent.futures import ThreadPoolExecutor

        chunks = [self.indices[i : i + size] for i in range(0, len(self.indices), size)]
        with ThreadPoolExecutor(max_workers=workers) as ex:
            # a bounded window of chunks in flight keeps memory flat
            pending = [ex.submit(decode_parallel, self.path, c, 1) for c in chunks[:workers]]
            nxt = len(pending)
            for k in range(len(chunks)):
                images = pending[k].result()
                if nxt < len(chunks):
                    pending.append(ex.submit(decode_parallel, self.path, chunks[nxt], 1))
                    nxt += 1
                idx = chunks[k]
                yield Batch(idx, idx / self.native_fps, images)

    def _sequential_batches(self, size: int) -> Iterator[Batch]:
        import cv2

        cap = cv2.VideoCapture(self.name)
        wanted = set(self.indices.tolist())
        last = int(self.indices[-1])
        buf_i: list[int] = []
        buf_f: list[np.ndarray] = []
        j = -1
        try:
            while j < last:
                ok, img = cap.read()
                if not ok:
                    break
                j += 1
                if j in wanted:
                    buf_i.append(j)
                    buf_f.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
                    if len(buf_f) == size:
                        idx = np.array(buf_i)
                        yield Batch(idx, idx / self.native_fps, np.stack(buf_f))
                        buf_i, buf_f = [], []
        finally:
            cap.release()
        if buf_f:
            idx = np.array(buf_i)
            yield Batch(idx, idx / self.native_fps, np.stack(buf_f))
        if j < last:
            # The container promised more frames than it holds (truncated or broken file).
            kept = self.indices[self.indices <= j]
            if len(kept) == 0:
                raise InputError(f"{self.name!r}: no frame could be decoded")
            warnings.warn(
                f"{self.name}: decoding stopped after frame {j} ({j / self.native_fps:.2f} s) of "
                f"{self.n_frames}; the frames up to it are kept",
                stacklevel=2,
            )
            self.indices = kept

    def fingerprint(self, digest: Digest = content_digest) -> str:
        """Every byte of the file: a same-size change is a different video."""
        return "video:" + digest([self.path])


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _probe(name: str) -> tuple[int, float | None]:
    """Count the frames by reading them all, and measure the rate from the
    timestamps of the first ones (None if they give no plausible rate)."""
    import cv2

    cap = cv2.VideoCapture(name)
    stamps: list[float] = []
    n = 0
    try:
        while cap.grab():
            n += 1
            if len(stamps) < 200:
                stamps.append(_number(cap.get(cv2.CAP_PROP_POS_MSEC)))
    finally:
        cap.release()
    steps = np.diff(np.asarray(stamps, dtype=np.float64))
    good = steps[np.isfinite(steps) & (steps > 0)]
    measured = None
    if len(steps) and len(good) * 2 >= len(steps):  # mostly increasing timestamps
        rate = 1000.0 / float(np.median(good))
        measured = rate if 0 < rate <= MAX_FPS else None
    return max(n, 1), measured


def open_source(
    source: object, *, fps: float | None = None, stride: int | None = None, source_fps: float | None = None
) -> Source:
    """A :class:`Source` for a video path, an image folder or an array of frames.

    ``source_fps`` is the frame rate of a folder or array; for a video it
    overrides the rate in the header (needed only when that is broken and the
    frames carry no timestamps).
    """
    _check_sampling(fps, stride)
    if source_fps is not None and (isinstance(source_fps, bool) or not isinstance(source_fps, (int, float))
                                   or not math.isfinite(source_fps) or not source_fps > 0):
        raise InvalidValue(f"source_fps={source_fps!r} must be > 0")
    native = source_fps or 1.0
    if isinstance(source, Source):
        return source
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if p.is_dir():
            return FolderSource(p, native_fps=native, fps=fps, stride=stride)
        return VideoSource(p, fps=fps, stride=stride, source_fps=source_fps)
    if isinstance(source, np.ndarray):
        return ArraySource(source, native_fps=native, fps=fps, stride=stride)
    if isinstance(source, Iterable) and not isinstance(source, (bytes, bytearray, Mapping)):
        # an iterable of frames (a list, a generator): gathered once, so that the
        # sampling and the cache fingerprint see every frame
        frames = []
        for k, f in enumerate(source):
            arr = np.asarray(f)
            if arr.ndim != 3 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
                raise InvalidValue(f"frame {k} must be uint8 RGB of shape (H, W, 3), not {arr.dtype} {arr.shape}")
            if frames and arr.shape != frames[0].shape:
                raise InvalidValue(f"frame {k} has shape {arr.shape}, frame 0 has {frames[0].shape}: frames must share one size")
            frames.append(arr)
        if not frames:
            raise InputError("<frames>: the iterable yielded no frames")
        return ArraySource(np.stack(frames), native_fps=native, fps=fps, stride=stride, name="<frames>")
    raise InvalidValue(f"source={type(source).__name__} is not a video path, image folder, (N, H, W, 3) array or iterable of frames")


def prefetch(batches: Iterable[Batch], depth: int = 4) -> Iterator[Batch]:
    """Iterate ``batches`` while a background thread decodes the next ones."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def work() -> None:
        try:
            for b in batches:
                while not stop.is_set():
                    try:
                        q.put(b, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as e:  # handed to the consumer, re-raised there
            q.put(e)

    t = threading.Thread(target=work, name="framelogic-decode", daemon=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t.start()
        try:
            while True:
                item = q.get()
                if item is done:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            t.join()
    for w in caught:  # warnings raised in the decode thread reach the caller
        warnings.warn(w.message, w.category, stacklevel=2)


def decode_parallel(path: str | Path, indices: np.ndarray, workers: int) -> np.ndarray:
    """Frames at ``indices`` of a video, decoded as ``workers`` disjoint segments,
    each worker seeking to its segment's start (OpenCV decodes without the GIL)."""
    import cv2
    from concurrent.futures import ThreadPoolExecutor

    indices = np.asarray(indices)
    parts = [p for p in np.array_split(indices, max(1, workers)) if len(p)]
    if not parts:
        return np.zeros((0, 0, 0, 3), dtype=np.uint8)

    def run(part: np.ndarray) -> list[np.ndarray]:
        cap = cv2.VideoCapture(str(path))
        try:
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(part[0]))
            wanted = set(part.tolist())
            out = []
            j = int(part[0]) - 1
            while j < int(part[-1]):
                ok, img = cap.read()
                if not ok:
                    break
                j += 1
                if j in wanted:
                    out.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            return out
        finally:
            cap.release()

    with ThreadPoolExecutor(max_workers=len(parts)) as ex:
        chunks = list(ex.map(run, parts))
    frames = [f for c in chunks for f in c]
    if len(frames) != len(indices):
        raise InputError(f"{str(path)!r}: decoded {len(frames)} of {len(indices)} frames")
    return np.stack(frames)


def read_frames(source: object, indices: Sequence[int]) -> dict[int, np.ndarray]:
    """Frames at source ``indices`` (for thumbnails)."""
    # indices need no frame rate: a placeholder one keeps a video whose header
    # rate is broken (and which was searched with an explicit fps) readable here
    src = open_source(source, source_fps=1.0)
    want = sorted(set(int(i) for i in indices))
    if not want:
        return {}
    if isinstance(src, VideoSource) and src.seekable:
        return dict(zip(want, decode_parallel(src.path, np.array(want), 1)))
    out = {}
    for b in src.batches(64):
        for i, img in zip(b.indices, b.images):
            if int(i) in want:
                out[int(i)] = img
    return out


def thumbnails(source: object, indices: Sequence[int], *, height: int = 90) -> dict[int, bytes]:
    """JPEG thumbnails of the frames at source ``indices`` (for reports)."""
    import cv2

    out = {}
    for i, img in read_frames(source, indices).items():
        h, w = img.shape[:2]
        small = cv2.resize(img, (max(1, round(w * height / h)), height), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
        if ok:
            out[i] = buf.tobytes()
    return out
