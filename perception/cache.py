"""The embedding cache: embed once, query forever.

An entry holds the image embeddings (fp16) and timestamps of one sampled video
under one model and preprocessing. Its key hashes the video's content
fingerprint, the model spec, the preprocessing and the sampling. Each entry is
``KEY.npz`` plus ``KEY.json`` (the manifest: shapes, dtype, byte size and
SHA-256 of the ``.npz``). Both are written to temp files and renamed, manifest
last, so a crash leaves no entry that is ever read; a truncated or corrupted
entry fails its checksum, is removed and recomputed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np


FORMAT = 1


def default_dir() -> Path:
    if os.environ.get("FRAMELOGIC_CACHE"):
        return Path(os.environ["FRAMELOGIC_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "framelogic"


def entry_key(fingerprint: str, model: str, preprocessing: str, sampling: str) -> str:
    text = json.dumps([FORMAT, fingerprint, model, preprocessing, sampling])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Entry:
    embeddings: np.ndarray  # (N, D) float32 (stored as float16)
    times: np.ndarray  # (N,) seconds
    indices: np.ndarray  # (N,) frame indices in the source
    rate: float


class EmbeddingCache:
    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.dir = Path(directory) if directory is not None else default_dir()

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.dir / f"{key}.npz", self.dir / f"{key}.json"

    def get(self, key: str) -> Entry | None:
        data_path, manifest_path = self._paths(key)
        try:
            manifest = json.loads(manifest_path.read_text())
            blob = data_path.read_bytes()
        except (OSError, ValueError):
            return None
        if (
            manifest.get("format") != FORMAT
            or len(blob) != manifest.get("bytes")
            or hashlib.sha256(blob).hexdigest() != manifest.get("sha256")
        ):
            self.remove(key)  # corrupt or truncated: never used, recomputed by the caller
            return None
        with np.load(io.BytesIO(blob)) as z:
            return Entry(z["embeddings"].astype(np.float32), z["times"], z["indices"], float(manifest["rate"]))

    def put(self, key: str, entry: Entry) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(buf, embeddings=entry.embeddings.astype(np.float16), times=entry.times, indices=entry.indices)
        blob = buf.getvalue()
        data_path, manifest_path = self._paths(key)
        manifest = {
            "format": FORMAT, "bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest(),
            "shape": list(entry.embeddings.shape), "dtype": "float16", "rate": entry.rate,
        }  # fmt: skip
        # Unique temp names per process and thread: concurrent writers never share
        # a partial file, and whichever rename lands last leaves a complete entry.
        tag = f"{os.getpid()}.{threading.get_ident()}"
        _write(data_path, blob, tag)
        _write(manifest_path, (json.dumps(manifest) + "\n").encode(), tag)

    def remove(self, key: str) -> None:
        for p in self._paths(key):
            p.unlink(missing_ok=True)

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None


def _write(path: Path, data: bytes, tag: str) -> None:
    tmp = path.with_name(f".{path.name}.{tag}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
