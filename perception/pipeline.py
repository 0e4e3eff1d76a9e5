"""Video to probabilities: decode (in the background), embed (cached), score."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from framelogic.logic.errors import InputError, InvalidArgument

from .cache import EmbeddingCache, Entry, entry_key, path_scope
from .config import BUNDLED, EmbedConfig, embed_config
from .model import check_weights, load_encoder
from .scoring import Proposition, ScoredTable, create_scorer
from .sources import Source, VideoSource, open_source, prefetch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Embedded:
    embeddings: np.ndarray  # (N, D) L2-normalized
    times: np.ndarray  # seconds
    indices: np.ndarray  # frame indices in the source
    rate: float  # effective sampling rate
    cached: bool  # True if read from the cache


def embed_video(source: object, config: EmbedConfig | None = None, /, **options: Any) -> Embedded:
    """Image embeddings of the sampled frames of ``source``, from the cache when indexed.

    ``source`` is a video path, an image folder, an (N, H, W, 3) uint8 RGB array
    or an iterable of frames. ``config`` (an :class:`EmbedConfig`) says how
    frames are sampled, embedded and cached; ``options`` are its fields, given
    as keywords (``embed_video(path, model=..., fps=5)``) and applied over it.
    A cache that cannot be written only costs a warning. An open_clip
    architecture named without pretrained weights is refused unless
    ``allow_random_weights``.

    The embeddings are always rounded to float16, the cache's precision, so a
    result never depends on whether it came from the cache.
    """
    cfg = embed_config(config, **options)
    check_weights(cfg.model, cfg.allow_random_weights)
    if isinstance(source, (str, os.PathLike)) and not os.path.exists(source):
        return _deleted(source, cfg)
    src = open_source(source, fps=cfg.fps, stride=cfg.stride, source_fps=cfg.source_fps)
    embedder = Embedder.from_config(cfg)
    encoder = embedder.encoder
    cache = EmbeddingCache(cfg.cache_dir) if cfg.use_cache else None
    scope = path_scope(cfg.model, encoder.preprocessing, cfg.fps, cfg.stride, cfg.source_fps)
    fingerprint = src.fingerprint(cache.digest) if cache is not None else ""
    key = entry_key(fingerprint, cfg.model, encoder.preprocessing, src.sampling) if cache is not None else ""
    if cache is not None:
        hit = cache.get(key)
        if hit is not None and _agrees(hit, src):
            log.debug("%s: %d embeddings from the cache", src.name, len(hit.indices))
            if isinstance(src, VideoSource):
                cache.remember_path(src.path, scope, key)
            return Embedded(hit.embeddings, hit.times, hit.indices, hit.rate, True)
    out = encode_source(src, embedder, progress=cfg.progress)
    log.debug("%s: encoded %d frames at %g fps with %r", src.name, len(out.indices), out.rate, cfg.model)
    if cache is not None:
        meta = {"source": src.name, "fingerprint": fingerprint, "model": cfg.model,
                "preprocessing": encoder.preprocessing, "sampling": src.sampling}  # fmt: skip
        if cache.put(key, Entry(out.embeddings, out.times, out.indices, out.rate), meta=meta) and isinstance(src, VideoSource):
            cache.remember_path(src.path, scope, key)
    return out


class Embedder:
    """Frames to fp16 image embeddings with one model: the encoding step of every
    pipeline (:func:`embed_video`, the embedding store, Ray Data).

    ``embedder(batch)`` takes a batch as a mapping of columns with ``image``
    (B, H, W, 3) uint8 RGB and returns the other columns plus ``embedding``
    (B, D) float16, L2-normalized, ``model`` and ``preprocessing``, so it can be
    given to Ray Data's ``map_batches`` as it is (the model loads once per
    actor, on first use). :attr:`preprocessing` is what the embeddings depend on
    besides the model spec (size, crop, normalization, dtype, weights); a CUDA
    out-of-memory error halves the batch and goes on.
    """

    def __init__(
        self, model: str = BUNDLED, *, device: str | None = None, precision: str | None = None,
        batch_size: int | None = None, allow_random_weights: bool = False,
    ) -> None:  # fmt: skip
        cfg = EmbedConfig(model=model, device=device, precision=precision, batch_size=batch_size,
                          allow_random_weights=allow_random_weights)  # fmt: skip
        check_weights(cfg.model, cfg.allow_random_weights)
        self.config = cfg

    @classmethod
    def from_config(cls, config: EmbedConfig) -> Embedder:
        return cls(config.model, device=config.device, precision=config.precision, batch_size=config.batch_size,
                   allow_random_weights=config.allow_random_weights)  # fmt: skip

    def __repr__(self) -> str:
        return f"Embedder({self.config.model!r})"

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def encoder(self) -> Any:
        return load_encoder(self.config.model, self.config.device, self.config.precision)  # once per process

    @property
    def preprocessing(self) -> str:
        return str(self.encoder.preprocessing)

    @property
    def batch_size(self) -> int:
        return self.config.batch_size or (512 if self.encoder.device == "cuda" else 64)

    def encode(self, images: np.ndarray) -> np.ndarray:
        """(B, D) float16 L2-normalized embeddings of uint8 RGB ``images`` (B, H, W, 3)."""
        return self.encoder.encode_images(np.asarray(images), self.batch_size).astype(np.float16)

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        if "image" not in batch:
            raise InvalidArgument(f"the batch has no 'image' column (it has {sorted(batch)})")
        images = np.asarray(batch["image"])
        out = {k: v for k, v in batch.items() if k != "image"}
        out["embedding"] = self.encode(images)
        out["model"] = np.full(len(images), self.model, dtype=object)
        out["preprocessing"] = np.full(len(images), self.preprocessing, dtype=object)
        return out


def encode_source(source: Source, embedder: Embedder, *, progress: bool = False) -> Embedded:
    """Embeddings of the sampled frames of ``source``, decoded in a background thread
    while the previous batch is encoded; rounded to float16 (what every store keeps)."""
    bs = embedder.batch_size
    parts, times, idx = [], [], []
    bar = _bar(progress, len(source), source)
    try:
        for batch in prefetch(source.batches(bs)):
            parts.append(embedder.encode(batch.images))
            times.append(batch.times)
            idx.append(batch.indices)
            if bar is not None:
                bar.update(len(batch.indices))
    finally:
        if bar is not None:
            bar.close()
    if not parts:
        raise InputError(f"{source.name!r}: no frame could be decoded")
    emb = np.concatenate(parts).astype(np.float32)  # exactly the stored float16 values
    return Embedded(emb, np.concatenate(times), np.concatenate(idx), source.rate, False)


def _deleted(path: str | os.PathLike[str], cfg: EmbedConfig) -> Embedded:
    """The embeddings last indexed for a video file that no longer exists."""
    name = str(path)
    how = f"model={cfg.model!r}, fps={cfg.fps!r}, stride={cfg.stride!r}"
    if not cfg.use_cache:
        raise InputError(f"{name!r}: no such video file (and the embedding cache is off, so nothing indexed can stand in)")
    cache = EmbeddingCache(cfg.cache_dir)
    if cache.indexed_key(path) is None:
        raise InputError(
            f"{name!r}: no such video file, and it was never indexed in the embedding cache {str(cache.dir)!r}; "
            "restore it, or index it first (framelogic index QUERY.tl VIDEO) before deleting it"
        )
    encoder = load_encoder(cfg.model, cfg.device, cfg.precision)
    key = cache.indexed_key(path, path_scope(cfg.model, encoder.preprocessing, cfg.fps, cfg.stride, cfg.source_fps))
    hit = cache.get(key) if key is not None else None
    if hit is None:
        raise InputError(
            f"{name!r}: no such video file, and the embedding cache {str(cache.dir)!r} holds no embeddings of it "
            f"for {how}; search it with the options it was indexed with, or restore it and index it first"
        )
    log.info("%s: the video is gone; %d embeddings from the embedding cache (as indexed)", name, len(hit.indices))
    return Embedded(hit.embeddings, hit.times, hit.indices, hit.rate, True)


def _agrees(hit: Entry, src: Source) -> bool:
    """A cached entry matches the source it is read for: its rate, and its frames
    (a prefix of the source's: decoding may stop early in a truncated file)."""
    n = len(hit.indices)
    return hit.rate == src.rate and 0 < n <= len(src) and bool(np.array_equal(hit.indices, src.indices[:n]))


def _bar(progress: bool, total: int, src: Source):  # type: ignore[no-untyped-def]
    if not progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=f"encoding {src.name}", unit="frame", leave=False)


def score_video(
    source: object,
    propositions: Sequence[Proposition] | Mapping[str, str],
    config: EmbedConfig | None = None,
    /,
    **options: Any,
) -> ScoredTable:
    """Per-frame calibrated probabilities of each proposition in ``source``.

    ``propositions`` is a sequence of :class:`Proposition` or a mapping
    ``name -> prompt`` (or list of prompts). The result's names are the
    proposition names, its times the frames' timestamps in seconds, its
    ``fps`` the effective sampling rate and its ``source_frames`` the frames'
    indices in the source. A second call on the same video, model and sampling
    reads the embeddings from the cache: only the prompts are encoded.
    ``config`` and ``options`` as for :func:`embed_video`; this is the
    ``clip`` scorer of :func:`~framelogic.perception.create_scorer`.
    """
    return create_scorer("clip", embed_config(config, **options))(source, propositions)
