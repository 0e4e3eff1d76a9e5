"""One frozen embedding configuration, validated once, passed to every embed/score call."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, fields, replace
from typing import Any

from framelogic.logic.errors import InvalidArgument, InvalidValue

BUNDLED = "framelogic-tiny"
PRECISIONS = ("fp32", "fp16", "bf16")
_DEVICE = re.compile(r"(cpu|mps|cuda(:\d+)?)")


@dataclass(frozen=True)
class EmbedConfig:
    """How frames are sampled, embedded and cached (:func:`~framelogic.perception.embed_video`).

    Build it once at an entry point; ``EmbedConfig(fps=0)`` raises an
    :class:`InvalidValue` naming the field and its value.
    """

    model: str = BUNDLED  # open_clip model spec (see framelogic.perception.model)
    fps: float | None = None  # target sampling rate (nearest frames); None: every frame
    stride: int | None = None  # or keep every stride-th frame (not both with fps)
    source_fps: float | None = None  # frame rate of image folders and arrays (videos know theirs)
    device: str | None = None  # "cpu", "cuda", "cuda:N", "mps"; None picks the best available
    precision: str | None = None  # "fp32", "fp16", "bf16"; None: fp16 on CUDA, fp32 elsewhere
    batch_size: int | None = None  # frames per forward pass; None: 512 on CUDA, 64 elsewhere
    cache_dir: str | os.PathLike[str] | None = None  # embedding cache; None: $FRAMELOGIC_CACHE or the user cache dir
    use_cache: bool = True  # read and write the embedding cache
    progress: bool = False  # a progress bar on stderr while encoding
    allow_random_weights: bool = False  # accept an open_clip architecture named without pretrained weights

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model:
            raise InvalidValue(f"model={self.model!r} must be a model spec such as {BUNDLED!r}")
        for name in ("fps", "source_fps"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < math.inf):
                raise InvalidValue(f"{name}={v!r} must be a number > 0")
        for name in ("stride", "batch_size"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise InvalidValue(f"{name}={v!r} must be a whole number >= 1")
        if self.fps is not None and self.stride is not None:
            raise InvalidValue(f"fps={self.fps!r} and stride={self.stride!r}: give one of them, not both")
        if self.device is not None and not (isinstance(self.device, str) and _DEVICE.fullmatch(self.device)):
            raise InvalidValue(f"device={self.device!r} must be 'cpu', 'cuda', 'cuda:N', 'mps' or None (the best available)")
        if self.precision is not None and self.precision not in PRECISIONS:
            raise InvalidValue(f"precision={self.precision!r} must be one of {', '.join(PRECISIONS)} or None")
        if self.cache_dir is not None and not isinstance(self.cache_dir, (str, os.PathLike)):
            raise InvalidValue(f"cache_dir={self.cache_dir!r} must be a directory path or None")
        for name in ("use_cache", "progress", "allow_random_weights"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidValue(f"{name}={getattr(self, name)!r} must be True or False")

    def with_options(self, **options: Any) -> EmbedConfig:
        """This config with ``options`` (field names) replaced; unknown names are an error."""
        return replace(self, **_known(options)) if options else self


_FIELDS = frozenset(f.name for f in fields(EmbedConfig))


def _known(options: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - _FIELDS)
    if unknown:
        raise InvalidArgument(f"unknown embedding options {unknown}; known: {sorted(_FIELDS)}")
    return options


def embed_config(config: EmbedConfig | None = None, **options: Any) -> EmbedConfig:
    """``config`` (default :class:`EmbedConfig`) with ``options`` applied: the one place
    keyword arguments of the convenience functions become a config."""
    if config is not None and not isinstance(config, EmbedConfig):
        raise InvalidArgument(f"config={config!r} must be an EmbedConfig")
    return (config or EmbedConfig()).with_options(**options)


__all__ = ["EmbedConfig", "embed_config"]
