"""Video to probabilities: decode (in the background), embed (cached), score."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from framelogic.logic.errors import InvalidValue
from framelogic.logic.trace import TraceTable

from .cache import EmbeddingCache, Entry, entry_key
from .model import BUNDLED, check_weights, load_encoder
from .scoring import Proposition, as_propositions, probabilities
from .sources import Source, open_source, prefetch


@dataclass(frozen=True)
class Embedded:
    embeddings: np.ndarray  # (N, D) L2-normalized
    times: np.ndarray  # seconds
    indices: np.ndarray  # frame indices in the source
    rate: float  # effective sampling rate
    cached: bool  # True if read from the cache


def embed_video(
    source: object,
    *,
    model: str = BUNDLED,
    fps: float | None = None,
    stride: int | None = None,
    device: str | None = None,
    cache_dir: str | None = None,
    use_cache: bool = True,
    batch_size: int | None = None,
    progress: bool = False,
    source_fps: float | None = None,
    precision: str | None = None,
    allow_random_weights: bool = False,
) -> Embedded:
    """Image embeddings of the sampled frames of ``source``, from the cache when indexed.

    ``source`` is a video path, an image folder, an (N, H, W, 3) uint8 RGB array
    or an iterable of frames; ``source_fps`` gives folders and arrays their frame
    rate (videos know theirs). ``fps`` (a target rate, nearest frames) or
    ``stride`` sample the source. ``precision`` is 'fp32', 'fp16' or 'bf16'
    (default: fp16 on CUDA, fp32 elsewhere). The embeddings are cached under
    ``cache_dir`` (default ``$FRAMELOGIC_CACHE``, else the user cache dir); a
    cache that cannot be written only costs a warning. An open_clip
    architecture named without pretrained weights is refused unless
    ``allow_random_weights``.

    The embeddings are always rounded to float16, the cache's precision, so a
    result never depends on whether it came from the cache.
    """
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise InvalidValue(f"batch_size={batch_size!r} must be a whole number >= 1")
    check_weights(model, allow_random_weights)
    src = open_source(source, fps=fps, stride=stride, source_fps=source_fps)
    encoder = load_encoder(model, device, precision)
    cache = EmbeddingCache(cache_dir) if use_cache else None
    fingerprint = src.fingerprint(cache.digest) if cache is not None else ""
    key = entry_key(fingerprint, model, encoder.preprocessing, src.sampling) if cache is not None else ""
    if cache is not None:
        hit = cache.get(key)
        if hit is not None and _agrees(hit, src):
            return Embedded(hit.embeddings, hit.times, hit.indices, hit.rate, True)
    bs = batch_size or (512 if encoder.device == "cuda" else 64)
    parts, times, idx = [], [], []
    bar = _bar(progress, len(src), src)
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
    if cache is not None:
        meta = {"source": src.name, "fingerprint": fingerprint, "model": model,
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
    *,
    model: str = BUNDLED,
    fps: float | None = None,
    stride: int | None = None,
    device: str | None = None,
    cache_dir: str | None = None,
    use_cache: bool = True,
    batch_size: int | None = None,
    progress: bool = False,
    source_fps: float | None = None,
    precision: str | None = None,
    allow_random_weights: bool = False,
) -> TraceTable:
    """Per-frame calibrated probabilities of each proposition in ``source``.

    ``propositions`` is a sequence of :class:`Proposition` or a mapping
    ``name -> prompt`` (or list of prompts). The result's names are the
    proposition names, its times the frames' timestamps in seconds and its
    ``fps`` the effective sampling rate. A second call on the same video, model
    and sampling reads the embeddings from the cache: only the prompts are
    encoded. Other arguments as for :func:`embed_video`.
    """
    props = as_propositions(propositions)
    emb = embed_video(
        source, model=model, fps=fps, stride=stride, device=device, cache_dir=cache_dir,
        use_cache=use_cache, batch_size=batch_size, progress=progress, source_fps=source_fps,
        precision=precision, allow_random_weights=allow_random_weights,
    )  # fmt: skip
    encoder = load_encoder(model, device, precision)
    values = probabilities(encoder, emb.embeddings, props)
    times = emb.times.astype(np.float64)
    if len(times) > 1 and not np.all(np.diff(times) > 0):  # pragma: no cover - sources are ordered
        times = None
    return TraceTable(tuple(p.name for p in props), values, times, emb.rate)
