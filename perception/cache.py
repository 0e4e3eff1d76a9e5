"""The embedding cache: embed once, query forever.

An entry holds the image embeddings (fp16) and timestamps of one sampled video
under one model and preprocessing. Its key hashes the video's content digest
(BLAKE2b of every byte), the model spec, the preprocessing and the sampling.

On disk an entry is two files:

* ``KEY.DIGEST.safetensors`` — the arrays, named by the first 16 hex digits of
  their SHA-256, so a data file is never rewritten in place;
* ``KEY.json`` — the manifest: format, key, the data file's name, byte size and
  SHA-256, shape, dtype, rate, what the key was made of (``meta``, for humans)
  and ``checksum``, a SHA-256 over all the other fields. The data's SHA-256 is
  one of them, so the checksum covers the data and the manifest.

Both are written to temp files and renamed, the manifest last, so the manifest
only ever points at a complete data file and a crash leaves no entry that is
read. Concurrent writers of one key each write their own data file; whichever
manifest lands last wins and both versions are complete. An entry that fails
any check (schema, sizes, checksums, array shapes and values) is a miss: it is
removed with a :class:`CacheWarning` and the caller recomputes and rewrites it.

A cache directory that cannot be written (read-only, a file, a full disk) never
loses work: the results are returned uncached, with one :class:`CacheWarning`.

Content digests of video files are remembered in ``digests.memo`` (JSON) by
each file's resolved path, size, mtime, ctime, inode and device, so unchanged
files are not hashed again. The ctime cannot be set by users (unlike the mtime,
which ``touch`` or ``cp -p`` restore), and a digest is trusted only for a file
whose ctime is older than the hashing by :data:`RACY_NS`, so a change within
one coarse timestamp tick of the hashing is not missed (git's "racily clean"
rule).

What was indexed for each video path is recorded in ``paths.memo`` (JSON): by the
file's resolved (and absolute) path and a *scope* (model, preprocessing and the
requested sampling), the entry's key and the file's size and mtime. A video
deleted after it was indexed is still searched from its entry
(:meth:`EmbeddingCache.indexed_key`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from framelogic.logic.trace import atomic_write_bytes

FORMAT = 3
MEMO_NAME = "digests.memo"
MEMO_SIZE = 4096  # digests remembered (the oldest are forgotten first)
PATHS_NAME = "paths.memo"  # not *.json: that is a manifest
PATHS_SIZE = 4096  # video paths remembered (the least recently indexed are forgotten first)
RACY_NS = 2_000_000_000  # coarse file-system clocks and small clock skews


_WARNED: set[tuple[str, str, str]] = set()  # (directory, action, cause) already reported
_WARNED_LOCK = threading.Lock()


class CacheWarning(UserWarning):
    """The embedding cache could not be used as such: an invalid entry was
    dropped (and is recomputed), or the directory cannot be written."""


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


class Invalid(ValueError):
    """Why a cache entry cannot be used (internal: becomes a warning and a miss)."""


_HEX64 = re.compile(r"[0-9a-f]{64}")


def manifest_checksum(manifest: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of every field but ``checksum``."""
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()).hexdigest()


def _whole(value: object, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def check_manifest(manifest: object, key: str) -> dict[str, Any]:
    """``manifest`` if it is a complete, well-typed manifest of entry ``key``, else :class:`Invalid`."""
    if not isinstance(manifest, dict):
        raise Invalid(f"not a JSON object but {type(manifest).__name__}")
    expected = {"format", "key", "data", "bytes", "sha256", "shape", "dtype", "rate", "meta", "checksum"}
    if set(manifest) != expected:
        missing, extra = sorted(expected - set(manifest)), sorted(set(manifest) - expected)
        raise Invalid(f"fields missing {missing} or unknown {extra}")
    m = manifest
    if m["format"] != FORMAT or not _whole(m["format"], 0):
        raise Invalid(f"format={m['format']!r}, expected {FORMAT}")
    if m["key"] != key:
        raise Invalid(f"key={m['key']!r} is another entry's")
    if not isinstance(m["data"], str) or not re.fullmatch(rf"{re.escape(key)}\.[0-9a-f]{{16}}\.safetensors", m["data"]):
        raise Invalid(f"data={m['data']!r} is not a data file name of this entry")
    if not _whole(m["bytes"], 1):
        raise Invalid(f"bytes={m['bytes']!r} must be a whole number > 0")
    if not isinstance(m["sha256"], str) or not _HEX64.fullmatch(m["sha256"]) or not m["data"].endswith(f".{m['sha256'][:16]}.safetensors"):
        raise Invalid(f"sha256={m['sha256']!r} does not name the data file")
    shape = m["shape"]
    if not (isinstance(shape, list) and len(shape) == 2 and _whole(shape[0], 0) and _whole(shape[1], 1)):
        raise Invalid(f"shape={shape!r} must be [frames >= 0, dimensions >= 1]")
    if m["dtype"] != "float16":
        raise Invalid(f"dtype={m['dtype']!r}, expected 'float16'")
    rate = m["rate"]
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not (math.isfinite(rate) and rate > 0):
        raise Invalid(f"rate={rate!r} must be a finite number > 0")
    if not isinstance(m["meta"], dict):
        raise Invalid(f"meta={m['meta']!r} must be an object")
    if not isinstance(m["checksum"], str) or m["checksum"] != manifest_checksum(m):
        raise Invalid("checksum does not match the manifest (edited or corrupt)")
    return m


class EmbeddingCache:
    """Entries under one directory (default :func:`default_dir`)."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.dir = Path(directory) if directory is not None else default_dir()
        self._unwritable = False  # warned once: this cache's writes are skipped

    def _manifest(self, key: str) -> Path:
        return self.dir / f"{key}.json"

    def get(self, key: str) -> Entry | None:
        """The entry under ``key``, or None if absent, incomplete or invalid
        (an invalid entry is removed with a :class:`CacheWarning`, so the caller
        recomputes and rewrites it). Never raises for what is on disk."""
        manifest_path = self._manifest(key)
        for attempt in range(3):
            try:
                text = manifest_path.read_bytes()
            except (FileNotFoundError, NotADirectoryError):
                return None
            except OSError as e:  # unreadable: nothing to repair from here
                self._cannot_write(e, "read")
                return None
            try:
                manifest = check_manifest(json.loads(text), key)
                blob = (self.dir / manifest["data"]).read_bytes()
                break
            except FileNotFoundError:
                # a concurrent writer replaced the version between our reads of the
                # manifest and the data: read the new manifest; else the data is gone
                if attempt == 2:
                    return self._drop(key, "its data file is missing")
            except Invalid as e:
                return self._drop(key, str(e))
            except (OSError, ValueError, RecursionError) as e:  # not JSON, not UTF-8, unreadable data
                return self._drop(key, f"unreadable ({type(e).__name__}: {e})"[:300])
        try:
            return self._decode(manifest, blob)
        except Invalid as e:
            return self._drop(key, str(e))

    @staticmethod
    def _decode(manifest: dict[str, Any], blob: bytes) -> Entry:
        import safetensors
        from safetensors.numpy import load

        if len(blob) != manifest["bytes"] or hashlib.sha256(blob).hexdigest() != manifest["sha256"]:
            raise Invalid("the data file does not match the manifest's size and SHA-256 (truncated or corrupt)")
        try:
            arrays = load(blob)
        except (getattr(safetensors, "SafetensorError", ValueError), ValueError, TypeError) as e:
            raise Invalid(f"the data file is not a safetensors file ({e})") from None
        if set(arrays) != {"embeddings", "times", "indices"}:
            raise Invalid(f"the data file holds {sorted(arrays)}")
        emb, times, indices = arrays["embeddings"], arrays["times"], arrays["indices"]
        n = manifest["shape"][0]
        if emb.dtype != np.float16 or list(emb.shape) != manifest["shape"] or not np.isfinite(emb).all():
            raise Invalid(f"embeddings {emb.dtype} {list(emb.shape)} are not finite float16 {manifest['shape']}")
        if times.dtype != np.float64 or times.shape != (n,) or not np.isfinite(times).all():
            raise Invalid("times are not finite float64 of one per frame")
        if indices.dtype != np.int64 or indices.shape != (n,) or (n and (indices[0] < 0 or np.any(np.diff(indices) <= 0))):
            raise Invalid("indices are not increasing int64 frame numbers")
        return Entry(emb.astype(np.float32), times, indices, float(manifest["rate"]))

    def _drop(self, key: str, reason: str) -> None:
        warnings.warn(
            f"embedding cache entry {self._manifest(key)} is invalid ({reason}); it is removed and recomputed",
            CacheWarning,
            stacklevel=4,
        )
        self.remove(key)
        return None

    def put(self, key: str, entry: Entry, *, meta: dict[str, object] | None = None) -> bool:
        """Store ``entry`` under ``key`` atomically; ``meta`` is recorded in the manifest.

        False (with one :class:`CacheWarning` per cache object) when the
        directory cannot be written: the caller still has its results.
        """
        from safetensors.numpy import save

        if self._unwritable:
            return False
        blob = save({
            "embeddings": np.ascontiguousarray(entry.embeddings, dtype=np.float16),
            "times": np.ascontiguousarray(entry.times, dtype=np.float64),
            "indices": np.ascontiguousarray(entry.indices, dtype=np.int64),
        })  # fmt: skip
        digest = hashlib.sha256(blob).hexdigest()
        data_name = f"{key}.{digest[:16]}.safetensors"
        manifest: dict[str, Any] = {
            "format": FORMAT, "key": key, "data": data_name, "bytes": len(blob), "sha256": digest,
            "shape": list(entry.embeddings.shape), "dtype": "float16", "rate": float(entry.rate),
            "meta": json.loads(json.dumps(meta or {}, default=str)),
        }  # fmt: skip
        try:
            manifest["checksum"] = manifest_checksum(manifest)
            check_manifest(manifest, key)  # what is written must read back
        except (Invalid, ValueError) as e:  # e.g. an infinite rate: the results stand, uncached
            warnings.warn(f"embedding cache: entry {key} is not stored ({e})", CacheWarning, stacklevel=2)
            return False
        # atomic_write_bytes names its temp file per process and thread: concurrent
        # writers never share a partial file.
        data_path = self.dir / data_name
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(data_path, blob)
            with _locked(self.dir / f".{key}.lock"):
                # Under the key's lock, the manifest and the clean-up of older versions
                # happen together; a concurrent writer may have removed our data file
                # as an older version, so it is rewritten before the manifest names it.
                if not data_path.is_file():
                    atomic_write_bytes(data_path, blob)
                atomic_write_bytes(self._manifest(key), (json.dumps(manifest, indent=1) + "\n").encode())
                for old in self.dir.glob(f"{key}.*.safetensors"):
                    if old.name != data_name:
                        old.unlink(missing_ok=True)
        except OSError as e:
            self._cannot_write(e, "write")
            return False
        return True

    def _cannot_write(self, error: OSError, what: str) -> None:
        if self._unwritable:
            return
        self._unwritable = True
        reason = error.strerror or type(error).__name__
        # once per process for a directory and cause: a search over 500 videos
        # says it once (Python's own once-per-location registry is reset
        # whenever a catch_warnings block changes the filters, as prefetch does)
        with _WARNED_LOCK:
            if (str(self.dir), what, reason) in _WARNED:
                return
            _WARNED.add((str(self.dir), what, reason))
        warnings.warn(
            f"embedding cache {str(self.dir)!r}: cannot {what} ({reason}); results are computed but not cached. "
            "Give a writable --cache-dir (or $FRAMELOGIC_CACHE), or --no-cache",
            CacheWarning,
            stacklevel=4,
        )

    def remove(self, key: str) -> None:
        try:
            self._manifest(key).unlink(missing_ok=True)
            for p in self.dir.glob(f"{key}.*.safetensors"):
                p.unlink(missing_ok=True)
        except OSError as e:
            self._cannot_write(e, "remove an invalid entry from")

    def keys(self) -> list[str]:
        """Keys of the entries with a manifest (not checked; :meth:`get` checks)."""
        return sorted(p.stem for p in self.dir.glob("*.json")) if self.dir.is_dir() else []

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    # ------------------------------------------------------------ indexed paths
    def remember_path(self, path: str | os.PathLike[str], scope: str, key: str) -> None:
        """Record that the video at ``path`` is indexed under ``key`` for ``scope``
        (see :func:`path_scope`), so it can be searched after it is deleted.
        Written only when it changes; an unwritable cache only warns (once)."""
        if self._unwritable:
            return
        try:
            st = os.stat(path)
        except OSError:
            return
        record = {"key": key, "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}
        names = _path_names(path)
        known = self._paths()
        if all(isinstance(known.get(n), dict) and known[n].get(scope) == record for n in names):
            return
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            with _locked(self.dir / f".{PATHS_NAME}.lock"):
                paths = self._paths()
                now = time.time_ns()
                for n in names:
                    scopes = paths.get(n) if isinstance(paths.get(n), dict) else {}
                    scopes = {s: r for s, r in scopes.items() if s != "@"}
                    scopes[scope] = record
                    paths[n] = {**scopes, "@": now}  # "@": when last indexed, for forgetting the oldest
                if len(paths) > PATHS_SIZE:
                    def age(n: str) -> int:
                        v = paths[n]
                        t = v.get("@") if isinstance(v, dict) else None
                        return t if isinstance(t, int) else -1

                    paths = {n: paths[n] for n in sorted(paths, key=age)[-PATHS_SIZE:]}
                atomic_write_bytes(self.dir / PATHS_NAME, json.dumps(paths, indent=0).encode())
        except OSError as e:
            self._cannot_write(e, "write")

    def indexed_key(self, path: str | os.PathLike[str], scope: str | None = None) -> str | None:
        """The key last indexed for the video at ``path`` and ``scope`` (any scope
        when None), or None; the file itself need not exist any more."""
        paths = self._paths()
        for n in _path_names(path):
            scopes = paths.get(n)
            if not isinstance(scopes, dict):
                continue
            for s, record in scopes.items():
                if s != "@" and (scope is None or s == scope) and isinstance(record, dict) \
                        and isinstance(record.get("key"), str):  # fmt: skip
                    return record["key"]
        return None

    def _paths(self) -> dict[str, Any]:
        try:
            paths = json.loads((self.dir / PATHS_NAME).read_bytes())
        except (OSError, ValueError, RecursionError):
            return {}
        return paths if isinstance(paths, dict) else {}

    # ------------------------------------------------------------ content digests
    def digest(self, paths: Sequence[Path], compute: Callable[[Sequence[Path]], str] | None = None) -> str:
        """The content digest of ``paths`` (``compute``, default
        :func:`framelogic.perception.sources.content_digest`), remembered in the
        memo by the files' stat signatures so unchanged files are hashed once."""
        if compute is None:
            from . import sources

            compute = sources.content_digest
        try:
            stats = [os.stat(p) for p in paths]
            signature = _signature(paths, stats)
        except (OSError, RuntimeError):  # unreadable, or a symlink loop (RuntimeError before 3.13)
            return compute(paths)
        known = self._memo().get(signature)
        newest = max((s.st_ctime_ns for s in stats), default=0)
        if isinstance(known, list) and len(known) == 2 and isinstance(known[0], str) and _HEX64.fullmatch(known[0]) \
                and isinstance(known[1], int) and newest < known[1] - RACY_NS:  # fmt: skip
            return known[0]
        started = time.time_ns()
        value = compute(paths)
        try:
            unchanged = [os.stat(p) for p in paths] == stats
        except OSError:
            unchanged = False
        if unchanged and _HEX64.fullmatch(value):  # a file changed while hashed is not remembered
            self._remember(signature, [value, started])
        return value

    def _memo(self) -> dict[str, Any]:
        try:
            memo = json.loads((self.dir / MEMO_NAME).read_bytes())
        except (OSError, ValueError, RecursionError):
            return {}
        return memo if isinstance(memo, dict) else {}

    def _remember(self, signature: str, value: list[Any]) -> None:
        if self._unwritable:
            return
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            with _locked(self.dir / f".{MEMO_NAME}.lock"):
                memo = self._memo()
                memo[signature] = value
                if len(memo) > MEMO_SIZE:
                    def age(k: str) -> int:
                        v = memo[k]
                        return v[1] if isinstance(v, list) and len(v) == 2 and isinstance(v[1], int) else -1

                    memo = {k: memo[k] for k in sorted(memo, key=age)[-MEMO_SIZE:]}
                atomic_write_bytes(self.dir / MEMO_NAME, json.dumps(memo).encode())
        except OSError as e:
            self._cannot_write(e, "write")


def path_scope(model: str, preprocessing: str, fps: float | None, stride: int | None, source_fps: float | None) -> str:
    """What, besides the file, decides a video's entry: the model, its
    preprocessing and the sampling asked for (the key also hashes the frames
    sampled, which cannot be known once the file is gone)."""
    return json.dumps([FORMAT, model, preprocessing, fps, stride, source_fps])


def _path_names(path: str | os.PathLike[str]) -> list[str]:
    """The resolved path and, when it differs (a symlink), the absolute one."""
    resolved, absolute = str(Path(path).resolve()), os.path.abspath(path)
    return [resolved] if resolved == absolute else [resolved, absolute]


def _signature(paths: Sequence[Path], stats: Sequence[os.stat_result]) -> str:
    parts = [
        [str(Path(p).resolve()), s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_ino, s.st_dev]
        for p, s in zip(paths, stats)
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


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
