"""open_clip models: loading by spec, preprocessing on the device, batched encoding.

A model spec is one of:

* ``framelogic-tiny`` — the small model trained on rendered driving scenes that
  ships with framelogic (works offline);
* ``ViT-B-32:laion2b_s34b_b79k`` — an open_clip architecture and pretrained tag
  (``ViT-B-32`` alone: random weights);
* ``hf-hub:org/name`` — a model on the Hugging Face hub (needs the network once);
* ``local-dir:PATH`` — a folder with ``open_clip_config.json`` and weights;
* a checkpoint file path ``ARCH:/path/weights.safetensors``, or just
  ``/path/weights.safetensors`` when an ``open_clip_config.json`` lies next to it.

Frames arrive as uint8 RGB arrays; resizing, cropping and normalization run as
torch ops on the model's device (open_clip's PIL transform is ~100x slower).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from framelogic.logic.errors import InputError, InvalidValue

from .config import BUNDLED

log = logging.getLogger(__name__)
_OPEN_CLIP_LOG = logging.getLogger("framelogic.perception.open_clip")


@contextmanager
def open_clip_logs() -> Iterator[None]:
    """Route open_clip's root-logger lines below WARNING to the
    ``framelogic.perception.open_clip`` logger at DEBUG while open_clip runs.

    open_clip logs with ``logging.info(...)``, straight on the root logger, so an
    application that configures logging would print every "Loaded model config"
    line. A filter on the root logger sees only records logged on the root
    logger itself (records of named loggers propagate past it), so the lines of
    other libraries are untouched; warnings still reach the root logger.
    """

    def route(record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        _OPEN_CLIP_LOG.debug("%s", record.getMessage())
        return False

    root = logging.getLogger()
    root.addFilter(route)
    try:
        yield
    finally:
        root.removeFilter(route)


def bundled_dir() -> Path:
    return Path(str(resources.files(__package__).joinpath("assets", BUNDLED)))


def register_configs() -> None:
    """Add framelogic's model configs (``framelogic-tiny``) to open_clip's registry."""
    import open_clip

    configs = Path(str(resources.files(__package__).joinpath("assets", "configs")))
    if BUNDLED not in open_clip.list_models():
        open_clip.add_model_config(configs)


def resolve_spec(spec: str) -> tuple[str, str | None]:
    """``(model_name, pretrained)`` in open_clip's terms."""
    if not isinstance(spec, str) or not spec:
        raise InvalidValue(f"model={spec!r} must be a model spec such as 'framelogic-tiny' or 'ViT-B-32:laion2b_s34b_b79k'")
    if spec == BUNDLED:
        return f"local-dir:{bundled_dir()}", None
    if spec.startswith(("hf-hub:", "local-dir:")):
        return spec, None
    if spec.endswith(_WEIGHT_SUFFIXES) and Path(spec).is_file():
        # a bare checkpoint: its architecture comes from the config beside it
        config = Path(spec).with_name("open_clip_config.json")
        if not config.is_file():
            raise InputError(
                f"model={spec!r}: no open_clip_config.json next to the checkpoint to tell its architecture; "
                "give it as ARCH:PATH (e.g. ViT-B-32:PATH)"
            )
        return f"local-dir:{Path(spec).parent}", spec
    name, sep, pretrained = spec.partition(":")
    return name, (pretrained or None) if sep else None


_WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")


def pick_device(device: str | None = None) -> str:
    """``device`` if it is usable here, else the best available: CUDA > MPS > CPU."""
    import torch

    if device:
        kind = str(device).split(":")[0]
        usable = {
            "cpu": True,
            "cuda": torch.cuda.is_available(),
            "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available(),
        }
        if kind not in usable:
            raise InvalidValue(f"device={device!r} must be 'cpu', 'cuda', 'cuda:N', 'mps' or None (the best available)")
        if not usable[kind]:
            raise InvalidValue(f"device={device!r} is not available on this machine; use device=None to pick the best one")
        return str(device)
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


@dataclass
class Encoder:
    """A loaded model with its preprocessing settings and a prompt-embedding cache."""

    spec: str
    model: Any
    tokenizer: Any
    device: str
    dtype: Any
    image_size: tuple[int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    resize_mode: str
    _text_cache: dict[str, np.ndarray] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # the largest batch that fitted after a CUDA out-of-memory error, remembered
    # so that later calls do not hit the same error batch after batch
    _batch_cap: list[int] = field(default_factory=list)

    @property
    def logit_scale(self) -> float:
        return float(self.model.logit_scale.exp().item())

    weights_id: str = ""  # fingerprint of local weight files (retraining invalidates cached embeddings)

    @property
    def preprocessing(self) -> str:
        """What the embeddings depend on besides the spec (part of cache keys)."""
        return f"{self.resize_mode}:{self.image_size}:{self.mean}:{self.std}:{self.dtype}:{self.weights_id}"

    def preprocess(self, frames: np.ndarray):  # type: ignore[no-untyped-def]
        """uint8 (N, H, W, 3) RGB -> normalized float tensor on the device."""
        import torch
        import torch.nn.functional as F

        x = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device, non_blocking=True)
        x = x.permute(0, 3, 1, 2).float().div_(255.0)
        th, tw = self.image_size
        if self.resize_mode == "squash":
            x = F.interpolate(x, size=(th, tw), mode="bilinear", antialias=True, align_corners=False)
        else:  # resize the shorter side, then centre crop (open_clip's default)
            h, w = x.shape[-2:]
            scale = max(th / h, tw / w)
            nh, nw = max(th, round(h * scale)), max(tw, round(w * scale))
            x = F.interpolate(x, size=(nh, nw), mode="bicubic", antialias=True, align_corners=False).clamp_(0, 1)
            top, left = (nh - th) // 2, (nw - tw) // 2
            x = x[:, :, top : top + th, left : left + tw]
        mean = torch.tensor(self.mean, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=self.device).view(1, 3, 1, 1)
        return ((x - mean) / std).to(self.dtype)

    def encode_images(self, frames: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """L2-normalized image embeddings (N, D) as float32.

        A CUDA out-of-memory error halves the batch and continues.
        """
        import torch

        out = []
        i = 0
        bs = max(1, int(batch_size))
        if self._batch_cap:
            bs = min(bs, self._batch_cap[0])
        with torch.inference_mode():
            while i < len(frames):
                chunk = frames[i : i + bs]
                try:
                    emb = self.model.encode_image(self.preprocess(chunk))
                except torch.cuda.OutOfMemoryError:
                    if torch.cuda.is_available():
                        torch.cuda.empty_cache()
                    if bs == 1:
                        raise InputError(
                            f"model {self.spec!r}: out of GPU memory even for one frame; use a smaller model or device='cpu'"
                        ) from None
                    bs //= 2
                    self._batch_cap[:] = [bs]
                    continue
                emb = torch.nn.functional.normalize(emb.float(), dim=-1)
                out.append(emb.cpu().numpy())
                i += len(chunk)
        if not out:
            return np.zeros((0, self.embed_dim), dtype=np.float32)
        return np.concatenate(out).astype(np.float32)

    @property
    def embed_dim(self) -> int:
        return int(self.model.text_projection.shape[1]) if hasattr(self.model, "text_projection") and self.model.text_projection is not None else int(self.encode_texts(["x"]).shape[1])

    def encode_texts(self, prompts: list[str]) -> np.ndarray:
        """L2-normalized text embeddings, computed once per prompt."""
        import torch

        with self._lock:
            missing = [p for p in dict.fromkeys(prompts) if p not in self._text_cache]
            if missing:
                with torch.inference_mode():
                    tokens = self.tokenizer(missing).to(self.device)
                    emb = self.model.encode_text(tokens)
                    emb = torch.nn.functional.normalize(emb.float(), dim=-1).cpu().numpy()
                for p, e in zip(missing, emb):
                    self._text_cache[p] = e
            return np.stack([self._text_cache[p] for p in prompts]).astype(np.float32)


@lru_cache(maxsize=4)
def load_encoder(spec: str = BUNDLED, device: str | None = None, precision: str | None = None) -> Encoder:
    """Load (once per process) the model named by ``spec``."""
    import open_clip
    import torch

    register_configs()
    device = pick_device(device)
    if precision is None:
        precision = "fp16" if device == "cuda" else "fp32"
    if precision not in ("fp32", "fp16", "bf16"):
        raise InvalidValue(f"precision={precision!r} must be 'fp32', 'fp16' or 'bf16'")
    if device == "cpu" and precision == "fp16":
        raise InvalidValue(f"precision={precision!r} is for GPUs; on the CPU use 'fp32' or 'bf16'")
    name, pretrained = resolve_spec(spec)
    # a bare checkpoint path: the architecture from the folder's config, the weights from the file
    separate_weights = pretrained if name.startswith("local-dir:") else None
    if name.startswith("local-dir:") and not Path(name[len("local-dir:") :]).is_dir():
        raise InputError(f"model={spec!r}: no such folder {name[len('local-dir:'):]!r}")
    if pretrained and ("/" in pretrained or pretrained.endswith((".safetensors", ".pt", ".pth", ".bin"))):
        if not Path(pretrained).is_file():
            raise InputError(f"model={spec!r}: no such checkpoint file {pretrained!r}")
    extra = {}
    if name == BUNDLED:  # our architecture: its preprocessing is not in open_clip's config format
        from .train import PREPROCESS_CFG

        extra["force_preprocess_cfg"] = dict(PREPROCESS_CFG)
    weights = _weights_file(name, separate_weights or pretrained)
    try:
        with open_clip_logs():
            if separate_weights:
                model = open_clip.create_model(name, load_weights=False, precision=precision, device=device, **extra)
                open_clip.load_checkpoint(model, separate_weights, device=device)
            else:
                model = open_clip.create_model(name, pretrained=pretrained, precision=precision, device=device, **extra)
            tokenizer = open_clip.get_tokenizer(name)
    except Exception as e:  # noqa: BLE001 - whatever a corrupt third-party file raises (SafetensorError,
        # UnpicklingError, EOFError, IndexError, KeyError, RuntimeError, ...) becomes one clear error
        raise _load_error(spec, weights, e) from None
    try:
        weights_id = _weights_id(name, separate_weights or pretrained)
    except OSError as e:
        raise InputError(f"model={spec!r}: cannot read {str(weights)!r} ({e.strerror or e})") from None
    model.eval()
    log.debug("loaded model %r on %s (%s)", spec, device, precision)
    cfg = getattr(model.visual, "preprocess_cfg", None) or {}
    size = cfg.get("size", model.visual.image_size)
    size = (size, size) if isinstance(size, int) else tuple(size)
    mean = tuple(cfg.get("mean", open_clip.OPENAI_DATASET_MEAN))
    std = tuple(cfg.get("std", open_clip.OPENAI_DATASET_STD))
    mode = cfg.get("resize_mode", "shortest")
    # open_clip keeps LayerNorms and embeddings in fp32 under fp16/bf16; the input
    # must match the low-precision convolution and linear weights
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision, torch.float32)
    del torch
    return Encoder(
        spec, model, tokenizer, device, dtype, size, mean, std, "squash" if mode == "squash" else "shortest",
        weights_id=weights_id,
    )


def _weights_file(name: str, pretrained: str | None) -> Path | None:
    """The local weights file a spec loads, if any."""
    if pretrained and Path(pretrained).is_file():
        return Path(pretrained)
    if name.startswith("local-dir:"):
        folder = Path(name[len("local-dir:") :])
        found = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")) + sorted(folder.glob("*.pt*"))
        return found[0] if found else None
    return None


def _load_error(spec: str, weights: Path | None, error: Exception) -> InputError:
    # the first line only: torch's unpickling errors go on to suggest weights_only=False,
    # which would run arbitrary code from the file
    first = (str(error).strip().splitlines() or [""])[0]
    first = first if len(first) <= 120 else first[:117] + "..."
    detail = f"{type(error).__name__}: {first}" if first else type(error).__name__
    if weights is not None:
        return InputError(
            f"cannot load model {spec!r} with the checkpoint {str(weights)!r} ({detail}). If the file is truncated, "
            "corrupt or not a weights file, download or export it again; check that the architecture before ':' "
            f"matches it; or use {BUNDLED!r} (offline)"
        )
    return InputError(
        f"cannot load model {spec!r} ({detail}). Give an open_clip name with a pretrained tag "
        "(ViT-B-32:laion2b_s34b_b79k), hf-hub:org/name, local-dir:PATH, ARCH:/path/to/checkpoint, "
        f"or {BUNDLED!r} (offline)"
    )


def _weights_id(name: str, pretrained: str | None) -> str:
    """Size and BLAKE2b of every byte of the local weights file ('' for hub tags):
    a retrained model of the same size is another model."""
    from .sources import content_digest

    path = _weights_file(name, pretrained)
    if path is None:
        return ""
    return f"{path.stat().st_size}:{content_digest([path])[:32]}"


def check_weights(spec: str, allow_random_weights: bool = False) -> None:
    """Refuse an open_clip architecture named without weights (``ViT-B-32``): it would score
    with random weights. The message names the architecture's pretrained tags."""
    name, pretrained = resolve_spec(spec)
    if pretrained is not None or allow_random_weights or name.startswith(("hf-hub:", "local-dir:")):
        return
    import open_clip

    register_configs()
    tags = open_clip.list_pretrained_tags_by_model(name)
    if name not in open_clip.list_models():
        return  # not an architecture: load_encoder reports it
    choices = ", ".join(f"{name}:{t}" for t in tags) if tags else "none published; give ARCH:/path/to/weights"
    raise InvalidValue(
        f"model={spec!r} names an architecture without weights: it would score with random weights. "
        f"Give a pretrained tag ({choices}), or pass --allow-random-weights (allow_random_weights=True) "
        "if random weights are what you want"
    )
