"""Video to probabilities: decode (in the background), embed (cached), score."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .cache import EmbeddingCache, Entry, entry_key
from .config import EmbedConfig, embed_config
from .model import check_weights, load_encoder
from .scoring import Proposition, ScoredTable, create_scorer
from .sources import Source, open_source, prefetch

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
    src = open_source(source, fps=cfg.fps, stride=cfg.stride, source_fps=cfg.source_fps)
    encoder = load_encoder(cfg.model, cfg.device, cfg.precision)
    cache = EmbeddingCache(cfg.cache_dir) if cfg.use_cache else None
    fingerprint = src.fingerprint(cache.digest) if cache is not None else ""
    key = entry_key(fingerprint, cfg.model, encoder.preprocessing, src.sampling) if cache is not None else ""
    if cache is not None:
        hit = cache.get(key)
        if hit is not None and _agrees(hit, src):
            log.debug("%s: %d embeddings from the cache", src.name, len(hit.indices))
            return Embedded(hit.embeddings, hit.times, hit.indices, hit.rate, True)
    bs = cfg.batch_size or (512 if encoder.device == "cuda" else 64)
    parts, times, idx = [], [], []
    bar = _bar(cfg.progress, len(src), src)
    try:
        # decoding runs in a background thread, overlapping with encoding here
        for batch in prefetch(src.batches(bs)):
            parts.append(encoder.encode_images(batch.images, bs))
            times.append(batch.times)
            idx.append(batch.indices)
            if bar is not None:
                bar.update(len(batch.indices))
    finally:
        if bar is not None:
            bar.close()
    emb = np.concatenate(parts).astype(np.float16).astype(np.float32)  # exactly what the cache returns
    out = Embedded(emb, np.concatenate(times), np.concatenate(idx), src.rate, False)
    log.debug("%s: encoded %d frames at %g fps with %r", src.name, len(out.indices), out.rate, cfg.model)
    if cache is not None:
        meta = {"source": src.name, "fingerprint": fingerprint, "model": cfg.model,
                "preprocessing": encoder.preprocessing, "sampling": src.sampling}  # fmt: skip
        cache.put(key, Entry(out.embeddings, out.times, out.indices, out.rate), meta=meta)
    return out


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
