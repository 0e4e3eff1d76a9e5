"""The embedding cache: embed once, query forever.

An entry holds the image embeddings (fp16) and timestamps of one sampled video
under one model and preprocessing. Its key hashes the video's content
fingerprint, the model spec, the preprocessing and the sampling.

On disk an entry is two files:

* ``KEY.DIGEST.safetensors`` — the arrays, named by the first 16 hex digits of
  their SHA-256, so a data file is never rewritten in place;
* ``KEY.json`` — the manifest: format, the data file's name, byte size and
  SHA-256, shapes, rate, and what the key was made of (for humans).

Both are written to temp files and renamed, the manifest last, so the manifest
only ever points at a complete data file and a crash leaves no entry that is
read. Concurrent writers of one key each write their own data file; whichever
manifest lands last wins and both versions are complete. A truncated or
corrupted entry fails its size or checksum, is removed and recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT = 2


def default_dir() -> Path:
    """``$FRAMELOGIC_CACHE``, else ``$XDG_CACHE_HOME/framelogic``, else ``~/.cache/framelogic``."""
    if os.environ.get("FRAMELOGIC_CACHE"):
        return Path(os.environ["FRAMELOGIC_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "framelogic"


def entry_key(fingerprint: str, model: str, preprocessing: str, sampling: str) -> str:
    text = json.dumps([FORMAT, fingerprint, model, preprocessing, sampling])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Entry:
    embeddings: np.ndarray  # (N, D) float32 in memory, float16 on disk
    times: np.ndarray  # (N,) seconds
    indices: np.ndarray  # (N,) frame indices in the source
    rate: float  # effective sampling rate (frames per second)


class EmbeddingCache:
    """Entries under one directory (default :func:`default_dir`)."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.dir = Path(directory) if directory is not None else default_dir()

    def _manifest(self, key: str) -> Path:
        return self.dir / f"{key}.json"

    def get(self, key: str) -> Entry | None:
        """The entry under ``key``, or None if absent, incomplete or corrupt
        (a corrupt entry is removed, so the caller recomputes and rewrites it)."""
        import safetensors
        from safetensors.numpy import load

        bad_file = getattr(safetensors, "SafetensorError", ValueError)

        manifest_path = self._manifest(key)
        for attempt in range(3):
            try:
                manifest = json.loads(manifest_path.read_text())
                data_name = manifest["data"]
                if Path(data_name).name != data_name or not data_name.startswith(key):
                    raise ValueError(f"bad data file name {data_name!r}")
                blob = (self.dir / data_name).read_bytes()
                break
            except FileNotFoundError:
                # absent; or a concurrent writer replaced the version between our
                # reads of the manifest and the data: read the new manifest
                if attempt == 2 or not manifest_path.exists():
                    return None
            except (OSError, ValueError, KeyError, TypeError):
                self.remove(key)
                return None
        if (
            manifest.get("format") != FORMAT
            or len(blob) != manifest.get("bytes")
            or hashlib.sha256(blob).hexdigest() != manifest.get("sha256")
        ):
            self.remove(key)  # corrupt or truncated: never used, recomputed by the caller
            return None
        try:
            arrays = load(blob)
            emb = arrays["embeddings"].astype(np.float32)
            times, indices = arrays["times"], arrays["indices"]
        except (bad_file, KeyError, ValueError):  # a checksum match on a bad file: written by another version
            self.remove(key)
            return None
        if emb.ndim != 2 or len(emb) != len(times) or len(times) != len(indices) or list(emb.shape) != manifest.get("shape"):
            self.remove(key)
            return None
        return Entry(emb, times, indices, float(manifest["rate"]))

    def put(self, key: str, entry: Entry, *, meta: dict[str, object] | None = None) -> None:
        """Store ``entry`` under ``key`` atomically; ``meta`` is recorded in the manifest."""
        from safetensors.numpy import save

        self.dir.mkdir(parents=True, exist_ok=True)
        blob = save({
            "embeddings": np.ascontiguousarray(entry.embeddings, dtype=np.float16),
            "times": np.ascontiguousarray(entry.times, dtype=np.float64),
            "indices": np.ascontiguousarray(entry.indices, dtype=np.int64),
        })  # fmt: skip
        digest = hashlib.sha256(blob).hexdigest()
        data_name = f"{key}.{digest[:16]}.safetensors"
        manifest = {
            "format": FORMAT, "data": data_name, "bytes": len(blob), "sha256": digest,
            "shape": list(entry.embeddings.shape), "dtype": "float16", "rate": float(entry.rate),
            "meta": meta or {},
        }  # fmt: skip
        # Unique temp names per process and thread: concurrent writers never share a partial file.
        tag = f"{os.getpid()}.{threading.get_ident()}"
        data_path = self.dir / data_name
        _write(data_path, blob, tag)
        with _locked(self.dir / f".{key}.lock"):
            # Under the key's lock, the manifest and the clean-up of older versions
            # happen together; a concurrent writer may have removed our data file
            # as an older version, so it is rewritten before the manifest names it.
            if not data_path.is_file():
                _write(data_path, blob, tag)
            _write(self._manifest(key), (json.dumps(manifest, indent=1) + "\n").encode(), tag)
            for old in self.dir.glob(f"{key}.*.safetensors"):
                if old.name != data_name:
                    old.unlink(missing_ok=True)

    def remove(self, key: str) -> None:
        self._manifest(key).unlink(missing_ok=True)
        for p in self.dir.glob(f"{key}.*.safetensors"):
            p.unlink(missing_ok=True)

    def keys(self) -> list[str]:
        """Keys of the entries with a manifest (not checked; :meth:`get` checks)."""
        return sorted(p.stem for p in self.dir.glob("*.json")) if self.dir.is_dir() else []

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``path`` across processes (POSIX ``flock``;
    elsewhere only the atomic renames protect concurrent writers)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


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
