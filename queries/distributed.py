"""Indexing and search on Ray, for corpora one machine cannot index in time.

``index_on_ray(videos, store, options=...)`` runs the single-process ``index
--store`` work as a Ray Data pipeline:

1. *plan* (CPU tasks, one per video): open the video, hash its bytes (the
   content fingerprint) and decide which frames sampling keeps; a video the
   store already holds (same fingerprint, model, preprocessing and sampling)
   is skipped, one that cannot be opened becomes a ``failures`` row;
2. *decode* (CPU tasks, one per video, streaming): the perception layer's own
   decoder (:meth:`VideoSource.batches`), which converts only the kept frames;
3. *encode* (an actor pool, ``map_batches`` with a callable class): one model
   per actor, ``num_gpus=1`` per actor when the cluster has GPUs (fp16 there),
   else one CPU each; the batch is capped by frame size and
   :meth:`Encoder.encode_images` halves it on a CUDA out-of-memory error;
4. *write* (the driver): the encoded frames of a video are gathered by
   fingerprint and frame index and written as one atomic part through the
   store's API, so a task Ray re-runs after losing a worker, or a rerun of the
   whole job, never adds a row twice.

``search_on_ray(query, store, options=...)`` splits the store's videos into
groups and searches each group in its own task with the single-process store
search, so the events are the same as without Ray.

Without ``address`` a local Ray instance is started (quiet, no dashboard) and
stopped afterwards, so the same call works on a laptop, in CI and on a cluster
(``address="ray://head:10001"`` or ``"auto"``). A Ray instance already running
in the process (``ray.init`` by the caller) is used as it is.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from framelogic.logic.errors import FramelogicError, InputError, InvalidArgument

from .search import Query, SearchOptions, expand_sources, load_query, resolve_options
from .store import Store, sampling_id, search_table, select_parts, video_table

log = logging.getLogger("framelogic")

#: Decoded frames held per encoder batch are capped at this many bytes.
BATCH_BYTES = 256 << 20
#: Frames per decoded block handed from a decode task to the encoders.
DECODE_BLOCK = 64
#: Memory a decoder needs besides its frames (codec buffers, the Python worker).
DECODER_BYTES = 256 << 20


def _ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401 - the Data library is the part we need
    except ImportError:
        raise InputError("--ray needs Ray (Ray Data): pip install 'framelogic[ray]'") from None
    return ray


@contextlib.contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None) -> Iterator[Any]:
    """Ray, connected: to ``address`` (a cluster), to the instance this process
    already runs, or to a new local one (stopped on exit). Logs stay quiet: no
    dashboard, no progress bars, only warnings."""
    ray = _ray()
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = dict(include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=num_cpus, **kwargs)
        started = True
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    for name in ("ray.data", "ray"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def _resources(ray: Any) -> tuple[int, int]:
    res = ray.cluster_resources()
    return int(res.get("CPU", 1)), int(res.get("GPU", 0))


# ------------------------------------------------------------------ indexing
@dataclass(frozen=True)
class IndexSummary:
    """What :func:`index_on_ray` did."""

    indexed: tuple[str, ...]  # videos encoded and written in this run
    skipped: tuple[str, ...]  # already in the store
    failed: tuple[tuple[str, str], ...]  # (path, reason)
    frames: int  # frames encoded in this run
    seconds: float  # wall time
    device: str  # "cuda" or "cpu": where the encoders ran
    workers: int  # encoder actors

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"indexed": list(self.indexed), "skipped": list(self.skipped), "failed": [list(f) for f in self.failed],
                "frames": self.frames, "seconds": self.seconds, "device": self.device, "workers": self.workers}  # fmt: skip


@dataclass(frozen=True)
class _Spec:
    """What every task needs to know, shipped once (small and picklable)."""

    model: str
    fps: float | None
    stride: int | None
    device: str | None  # None: the best the worker has
    precision: str | None
    allow_random_weights: bool


def _spec(opts: SearchOptions, gpu: bool) -> _Spec:
    return _Spec(opts.model, opts.fps, opts.stride, "cuda" if gpu else (opts.device or "cpu"), None, opts.allow_random_weights)


def _preprocessing(spec: _Spec) -> str:
    """The preprocessing id of the encoders (part of the store key); runs where they run."""
    from framelogic.perception.pipeline import Embedder

    return Embedder(spec.model, device=spec.device, precision=spec.precision,
                    allow_random_weights=spec.allow_random_weights).preprocessing  # fmt: skip


def _plan(path: str, spec: _Spec) -> dict[str, Any]:
    """One video: its fingerprint, rate, kept frames and frame size (or why it cannot be read)."""
    from framelogic.perception.sources import open_source

    out = {"path": path, "fingerprint": "", "rate": 0.0, "frames": 0, "frame_bytes": 0, "reason": ""}
    try:
        src = open_source(path, fps=spec.fps, stride=spec.stride)
        out.update(fingerprint=src.fingerprint(), rate=float(src.rate), frames=len(src))
        probe = next(src.batches(1, workers=1)) if hasattr(src, "seekable") else None
        if probe is not None:
            out["frame_bytes"] = int(probe.images[0].nbytes)
    except FramelogicError as e:
        out["reason"] = str(e)
    except Exception as e:  # noqa: BLE001 - a broken file may raise anything from OpenCV; it is reported, not fatal
        out["reason"] = f"{path!r}: {type(e).__name__}: {e}"
    return out


def _decode(batch: dict[str, np.ndarray], spec: _Spec, block: int) -> Iterator[dict[str, np.ndarray]]:
    """The kept frames of each planned video, in blocks; a video's last block
    carries its frame count, a video that fails mid-way yields its reason."""
    import warnings

    from framelogic.perception.sources import open_source

    for path, fp in zip(batch["path"], batch["fingerprint"]):
        path, fp = str(path), str(fp)
        done = 0
        pending = None
        try:
            src = open_source(path, fps=spec.fps, stride=spec.stride)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a truncated file keeps its decodable prefix, as single-process
                for b in src.batches(block, workers=1):
                    if pending is not None:
                        yield _frames(path, fp, pending, -1)
                    pending = b
                    done += len(b.indices)
            if pending is None:
                raise InputError(f"{path!r}: no frame could be decoded")
            yield _frames(path, fp, pending, done)
        except Exception as e:  # noqa: BLE001 - one bad video is a failures row, the job goes on
            reason = str(e) if isinstance(e, FramelogicError) else f"{path!r}: {type(e).__name__}: {e}"
            yield _failed(path, fp, reason)


def _frames(path: str, fp: str, b: Any, total: int) -> dict[str, np.ndarray]:
    n = len(b.indices)
    last = np.full(n, total, dtype=np.int64)  # the last block's rows carry the count: blocks arrive in any order
    return {
        "path": np.array([path] * n, dtype=object), "fingerprint": np.array([fp] * n, dtype=object),
        "frame": np.asarray(b.indices, dtype=np.int64), "time": np.asarray(b.times, dtype=np.float64),
        "total": last, "reason": np.array([""] * n, dtype=object), "image": np.asarray(b.images),
    }  # fmt: skip


def _failed(path: str, fp: str, reason: str) -> dict[str, np.ndarray]:
    return {
        "path": np.array([path], dtype=object), "fingerprint": np.array([fp], dtype=object),
        "frame": np.array([-1], dtype=np.int64), "time": np.array([0.0]), "total": np.array([-1], dtype=np.int64),
        "reason": np.array([reason], dtype=object), "image": np.zeros((1, 1, 1, 3), dtype=np.uint8),
    }  # fmt: skip


class Encode:
    """A Ray Data callable class around the perception :class:`Embedder`: one
    model per actor, fp16 image embeddings.

    Frames of different sizes (videos of several resolutions in one batch) are
    encoded size by size; failure rows pass through with zero embeddings.
    """

    def __init__(self, spec: _Spec, batch_size: int) -> None:
        from framelogic.perception.pipeline import Embedder

        self.embedder = Embedder(spec.model, device=spec.device, precision=spec.precision, batch_size=batch_size,
                                 allow_random_weights=spec.allow_random_weights)  # fmt: skip

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        images = batch["image"]
        ok = np.flatnonzero(batch["reason"] == "")
        emb = np.zeros((len(batch["frame"]), self.embedder.encoder.embed_dim), dtype=np.float16)
        by_size: dict[tuple[int, ...], list[int]] = {}
        for i in ok:
            by_size.setdefault(tuple(np.shape(images[i])), []).append(int(i))
        for rows in by_size.values():
            emb[rows] = self.embedder.encode(np.stack([np.asarray(images[i], dtype=np.uint8) for i in rows]))
        out = {k: v for k, v in batch.items() if k != "image"}
        out["embedding"] = emb
        return out


@dataclass
class _Video:
    """The encoded frames of one video, gathered by frame index (duplicates collapse)."""

    path: str
    rows: dict[int, tuple[float, np.ndarray]] = field(default_factory=dict)
    total: int = -1

    def complete(self) -> bool:
        return self.total >= 0 and len(self.rows) >= self.total


def index_on_ray(
    sources: Any,
    store: Any,
    *,
    options: SearchOptions | None = None,
    address: str | None = None,
    num_cpus: int | None = None,
    query: Query | None = None,
) -> IndexSummary:
    """Embed every video of ``sources`` into ``store`` on Ray (see the module doc).

    ``sources`` is what ``framelogic index`` takes (videos, folders, lists);
    ``store`` a :class:`~framelogic.queries.store.Store` or its directory.
    ``options`` (a :class:`SearchOptions`; ``query``'s ``set fps`` / ``set
    model`` apply when given instead) say how frames are sampled and embedded,
    exactly as the single-process ``index --store``. Videos already in the
    store are skipped; unreadable ones become rows of ``store.failures()``.
    """
    opts = _options(options, query)
    store = _open_store(store)
    videos = [str(v) for v in expand_sources(sources, cache_dir=opts.cache_dir)]
    start = time.perf_counter()
    with ray_session(address, num_cpus=num_cpus) as ray:
        cpus, gpus = _resources(ray)
        spec = _spec(opts, gpus > 0)
        resources = {"num_gpus": 1} if gpus else {"num_cpus": 1}
        plan = ray.remote(num_cpus=1)(_plan)
        refs = [plan.remote(v, spec) for v in videos]  # hashing every byte: in parallel, near the files
        # the id depends on the device and precision: on a GPU cluster ask a GPU worker
        preprocessing = ray.get(ray.remote(**resources)(_preprocessing).remote(spec)) if gpus else _preprocessing(spec)
        sampling = sampling_id(opts.fps, opts.stride)
        plans = ray.get(refs)
        failed = [(p["path"], p["reason"]) for p in plans if p["reason"]]
        skipped = [p["path"] for p in plans if not p["reason"] and store.contains(p["fingerprint"], opts.model, preprocessing, sampling)]
        todo = [p for p in plans if not p["reason"] and p["path"] not in skipped]
        first = {}
        for p in todo:  # one copy of a video given twice (two paths, the same bytes), as index --store does
            if p["fingerprint"] in first:
                skipped.append(p["path"])
            else:
                first[p["fingerprint"]] = p
        todo = list(first.values())
        indexed: list[str] = []
        frames = 0
        workers = max(1, gpus) if gpus else max(1, cpus // 2)
        if todo:
            frame_bytes = max(p["frame_bytes"] for p in todo)
            size = _batch_size(gpus > 0, frame_bytes)
            block = min(size, DECODE_BLOCK)
            ds = (
                ray.data.from_items([{"path": p["path"], "fingerprint": p["fingerprint"]} for p in todo],
                                    override_num_blocks=len(todo))  # fmt: skip
                # the decoder's working set (a few blocks of frames and the codec's own
                # buffers) is asked for explicitly; the request also keeps Ray from fusing
                # decoding into the encoder actors, so decoding and encoding overlap
                .map_batches(_decode, batch_size=1, fn_kwargs={"spec": spec, "block": block},
                             num_cpus=1, memory=4 * block * frame_bytes + DECODER_BYTES)
                .map_batches(Encode, fn_constructor_kwargs={"spec": spec, "batch_size": size}, batch_size=size,
                             compute=ray.data.ActorPoolStrategy(size=workers), **resources)  # fmt: skip
            )
            meta = {p["fingerprint"]: p for p in todo}
            gather = _Gatherer()
            for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
                for fp, video, why in gather.add(batch):
                    p = meta[fp]
                    if video is None:
                        failed.append((p["path"], why))
                        continue
                    frames += _write(store, video, p, opts.model, preprocessing, sampling)
                    indexed.append(p["path"])
            for v in gather.pending.values():  # a video whose frame count never arrived: not written
                failed.append((v.path, f"{v.path!r}: decoding ended without its last frames; index it again"))
        fingerprints = {p["path"]: p["fingerprint"] or None for p in plans}
        for path, reason in failed:
            store.record_failure(path, reason, fingerprint=fingerprints.get(path), model=opts.model, sampling=sampling)
        device = "cuda" if gpus else "cpu"
    return IndexSummary(tuple(indexed), tuple(skipped), tuple(failed), frames, time.perf_counter() - start, device, workers)


class _Gatherer:
    """The driver's side of the pipeline: encoded frames gathered into videos by
    fingerprint and frame index. A block delivered twice (a task Ray re-ran after
    losing a worker) adds nothing: its frames are already there, or its video is
    already written or failed."""

    def __init__(self) -> None:
        self.pending: dict[str, _Video] = {}
        self.finished: set[str] = set()

    def add(self, batch: Mapping[str, np.ndarray]) -> list[tuple[str, _Video | None, str]]:
        """The videos this batch completes, ``(fingerprint, video, "")``, or fails,
        ``(fingerprint, None, reason)``; each is reported once."""
        done: dict[str, tuple[_Video | None, str]] = {}
        columns = ("path", "fingerprint", "frame", "time", "total", "reason", "embedding")
        for path, fp, frame, t, total, reason, emb in zip(*(batch[c] for c in columns)):
            fp = str(fp)
            if fp in self.finished:
                continue
            if reason:
                self.pending.pop(fp, None)
                self.finished.add(fp)
                done[fp] = (None, str(reason))
                continue
            v = self.pending.setdefault(fp, _Video(str(path)))
            v.rows[int(frame)] = (float(t), np.asarray(emb, dtype=np.float16))
            if total >= 0:
                v.total = int(total)
            if v.complete():
                self.finished.add(fp)
                done[fp] = (self.pending.pop(fp), "")
        return [(fp, v, why) for fp, (v, why) in done.items()]


def _batch_size(gpu: bool, frame_bytes: int) -> int:
    """Frames per encoder call: the device's default, capped so that a batch of
    decoded frames stays under :data:`BATCH_BYTES`."""
    size = 512 if gpu else 64
    return max(1, min(size, BATCH_BYTES // max(1, frame_bytes)))


def _options(options: SearchOptions | None, query: Query | None) -> SearchOptions:
    if options is not None and not isinstance(options, SearchOptions):
        raise InvalidArgument(f"options={options!r} must be a SearchOptions (framelogic.queries.search.resolve_options)")
    if query is not None:
        return load_query(query).options(options)
    return options or resolve_options()


# ------------------------------------------------------------------ store access
def _open_store(store: Any) -> Any:
    return store if isinstance(store, Store) else Store(store)


def _write(store: Any, video: _Video, plan: Mapping[str, Any], model: str, preprocessing: str, sampling: str) -> int:
    """One video's frames as one atomic part of the store, ordered by frame."""
    order = sorted(video.rows)
    table = video_table(
        fingerprint=plan["fingerprint"], path=plan["path"], model=model, preprocessing=preprocessing, sampling=sampling,
        rate=plan["rate"], frames=np.array(order, dtype=np.int64), times=np.array([video.rows[i][0] for i in order]),
        embeddings=np.stack([video.rows[i][1] for i in order]),
    )  # fmt: skip
    store.write_video(table)
    return len(order)


# ------------------------------------------------------------------ search
def search_on_ray(
    query: Any,
    store: Any,
    *,
    options: SearchOptions | None = None,
    where: str | None = None,
    address: str | None = None,
    num_cpus: int | None = None,
    groups: int | None = None,
) -> Any:
    """The events of ``query`` in the videos of ``store`` selected by ``where``,
    as a ``pyarrow.Table`` of :func:`~framelogic.queries.results.event_schema`.

    The selected videos (one frames file each) are split into ``groups``
    (default four per CPU of the cluster) of about equal frame counts; each
    group is one Ray task that reads its files and searches them with the
    single-process store search, so the events, and their order, are those of
    :func:`~framelogic.queries.store.search_store`. No video is read.
    """
    import pyarrow as pa

    from .results import event_schema

    q = load_query(query)
    opts = q.options(options)
    store = _open_store(store)
    parts = select_parts(store, where, opts)
    files = parts.column("file").to_pylist()
    if not files:
        return event_schema().empty_table()
    sizes = parts.column("frames").to_pylist()
    with ray_session(address, num_cpus=num_cpus) as ray:
        cpus, _ = _resources(ray)
        chunks = _split(sizes, groups or 4 * cpus)
        task = ray.remote(num_cpus=1)(_search_group)
        root = str(store.path)
        refs = [task.remote(q, root, [files[i] for i in chunk], opts) for chunk in chunks]
        tables = ray.get(refs)
    return pa.concat_tables(tables) if tables else event_schema().empty_table()


def _split(sizes: Sequence[int], groups: int) -> list[list[int]]:
    """Consecutive runs of indices with about ``sum(sizes) / groups`` each (order kept)."""
    groups = max(1, min(int(groups), len(sizes)))
    target = sum(sizes) / groups
    out: list[list[int]] = [[]]
    acc = 0.0
    for i, n in enumerate(sizes):
        if out[-1] and acc + n / 2 > target * len(out) and len(out) < groups:
            out.append([])
        out[-1].append(i)
        acc += n
    return out


def _search_group(query: Query, root: str, files: Sequence[str], opts: SearchOptions) -> Any:
    """One Ray task: the events of ``query`` in the frames files ``files`` of the store at ``root``."""
    import pyarrow as pa

    store = Store(root)
    tables = [search_table(query, store.read(f), options=opts) for f in files]
    return pa.concat_tables(tables)


__all__ = ["Encode", "IndexSummary", "index_on_ray", "ray_session", "search_on_ray"]
