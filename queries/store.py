"""The embedding store: one row per sampled frame, as Parquet files any Arrow tool reads.

A store is a directory::

    STORE/
      frames/ab/abcdef....parquet   one file per (video content, model, preprocessing, sampling)
      failures/0123....parquet      one row per video that could not be indexed
      manifest.parquet              one row per frames file (rebuilt from the files)

Every frames file has the columns of :func:`frame_schema` (``fingerprint``,
``path``, ``frame``, ``time``, ``rate``, ``model``, ``preprocessing``,
``sampling``, ``embedding`` as an fp16 fixed-size list), so one glob reads the
whole store::

    duckdb -c "SELECT path, count(*) FROM read_parquet('STORE/frames/*/*.parquet') GROUP BY path"
    pyarrow.dataset.dataset("STORE/frames", format="parquet")
    polars.scan_parquet("STORE/frames/*/*.parquet")

Files are written to a temp file (not named ``*.parquet``), fsynced and
renamed, so a reader or a glob never sees a partial file, and a job killed at
any point leaves a readable store; the rerun writes only what is missing.
The name of a frames file is a hash of what its rows depend on
(:func:`part_key`), so :meth:`Store.contains` is one ``stat`` and two
writers of one video replace each other with equivalent files instead of
duplicating rows. The files are the truth: ``manifest.parquet`` is an index of
their footers (their Parquet key-value metadata), brought up to date from the
directory listing whenever it is read, and may be deleted at any time.

Entry points: :func:`index_store` (videos -> store, skipping what is stored,
recording what cannot be read), :func:`search_store` (query x store ->
matches, no video read), :func:`search_table` (query x store rows of any
videos -> Arrow events, for jobs that group rows themselves, e.g. on Ray),
:func:`probabilities` (embeddings -> calibrated per-frame probabilities) and
:func:`video_table` (the rows of one video, for writers of their own).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from framelogic.logic.errors import InputError, InvalidArgument, InvalidValue
from framelogic.logic.trace import atomic_write_bytes

log = logging.getLogger("framelogic")

FORMAT = 1
FRAMES = "frames"
FAILURES = "failures"
MANIFEST = "manifest.parquet"
META_KEY = b"framelogic.store"
#: The per-video columns (one value per frames file); ``--where`` filters on these.
VIDEO_COLUMNS = ("fingerprint", "path", "model", "preprocessing", "sampling", "rate", "frames", "dim")
_PER_VIDEO_STRINGS = ("fingerprint", "path", "model", "preprocessing", "sampling")


class StoreWarning(UserWarning):
    """A file in the store could not be used (it is left out and left alone)."""


def _pa():  # type: ignore[no-untyped-def]
    import pyarrow as pa

    return pa


def frame_schema(dim: int):  # type: ignore[no-untyped-def]
    """The schema of the frames files: one row per sampled frame."""
    pa = _pa()
    return pa.schema([
        pa.field("fingerprint", pa.string(), nullable=False),  # content hash of the video (BLAKE2b-256 of its bytes)
        pa.field("path", pa.string(), nullable=False),  # the video's path as given to index
        pa.field("frame", pa.int64(), nullable=False),  # frame index in the video (before sampling)
        pa.field("time", pa.float64(), nullable=False),  # seconds of media time
        pa.field("rate", pa.float64(), nullable=False),  # effective sampling rate (frames per second)
        pa.field("model", pa.string(), nullable=False),  # model spec, e.g. framelogic-tiny
        pa.field("preprocessing", pa.string(), nullable=False),  # resize, size, mean, std, dtype, weights id
        pa.field("sampling", pa.string(), nullable=False),  # what was asked: all | fps=5.0 | stride=3 (+ source_fps)
        pa.field("embedding", pa.list_(pa.float16(), dim), nullable=False),  # L2-normalized image embedding
    ])  # fmt: skip


def failure_schema():  # type: ignore[no-untyped-def]
    pa = _pa()
    return pa.schema([
        pa.field("path", pa.string(), nullable=False),
        pa.field("fingerprint", pa.string()),  # None when the file could not be read
        pa.field("model", pa.string(), nullable=False),
        pa.field("sampling", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("time", pa.timestamp("ms", tz="UTC"), nullable=False),
    ])  # fmt: skip


def manifest_schema():  # type: ignore[no-untyped-def]
    pa = _pa()
    return pa.schema([
        ("file", pa.string()), ("key", pa.string()), ("bytes", pa.int64()),
        ("fingerprint", pa.string()), ("path", pa.string()), ("model", pa.string()),
        ("preprocessing", pa.string()), ("sampling", pa.string()), ("rate", pa.float64()),
        ("frames", pa.int64()), ("dim", pa.int64()),
    ])  # fmt: skip


def sampling_id(fps: float | None = None, stride: int | None = None, source_fps: float | None = None) -> str:
    """The sampling asked for, as stored: ``all``, ``fps=5.0`` or ``stride=3``
    (``;source_fps=R`` when the frame rate of the source was given)."""
    text = f"fps={float(fps)!r}" if fps is not None else f"stride={int(stride)}" if stride is not None else "all"
    return text if source_fps is None else f"{text};source_fps={float(source_fps)!r}"


def part_key(fingerprint: str, model: str, preprocessing: str, sampling: str) -> str:
    """The name of a video's frames file: what its rows depend on, hashed."""
    text = json.dumps([FORMAT, fingerprint, model, preprocessing, sampling])
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class VideoRows:
    """The stored frames of one video, as arrays (see :func:`video_rows`)."""

    fingerprint: str
    path: str
    model: str
    preprocessing: str
    sampling: str
    rate: float
    frames: np.ndarray  # (N,) int64 frame indices in the video
    times: np.ndarray  # (N,) float64 seconds
    embeddings: np.ndarray  # (N, D) float32 (exactly the stored float16 values)


def video_table(
    *, fingerprint: str, path: str, model: str, preprocessing: str, sampling: str, rate: float,
    frames: np.ndarray, times: np.ndarray, embeddings: np.ndarray,
):  # type: ignore[no-untyped-def]
    """The Arrow table of one video's frames, in the store's schema."""
    pa = _pa()
    emb = np.ascontiguousarray(embeddings, dtype=np.float16)
    if emb.ndim != 2 or emb.shape[1] < 1:
        raise InvalidValue(f"embeddings must be (frames, dimensions), not shape {emb.shape}")
    n, dim = emb.shape
    frames = np.asarray(frames, dtype=np.int64)
    times = np.asarray(times, dtype=np.float64)
    if frames.shape != (n,) or times.shape != (n,):
        raise InvalidValue(f"frames {frames.shape} and times {times.shape} must have one value per embedding ({n})")
    const = {"fingerprint": fingerprint, "path": str(path), "model": model, "preprocessing": preprocessing, "sampling": sampling}
    cols = {k: pa.array([v] * n, pa.string()) for k, v in const.items()}
    values = pa.array(emb.reshape(-1), pa.float16())
    return pa.table(
        {
            "fingerprint": cols["fingerprint"], "path": cols["path"], "frame": pa.array(frames), "time": pa.array(times),
            "rate": pa.array(np.full(n, float(rate))), "model": cols["model"], "preprocessing": cols["preprocessing"],
            "sampling": cols["sampling"], "embedding": pa.FixedSizeListArray.from_arrays(values, dim),
        },
        schema=frame_schema(dim),
    )  # fmt: skip


def embeddings_of(table) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The ``embedding`` column of store rows as an (N, D) float32 array."""
    col = table.column("embedding").combine_chunks()
    dim = col.type.list_size
    flat = col.values.to_numpy(zero_copy_only=False)
    return flat.astype(np.float32).reshape(-1, dim)


def video_rows(table) -> Iterator[VideoRows]:  # type: ignore[no-untyped-def]
    """The videos in ``table`` (store rows, any number of videos, any order), one
    :class:`VideoRows` each, ordered by frame: a video is one (fingerprint, model,
    preprocessing, sampling); rows repeated by two writers are dropped."""
    pa = _pa()
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return
    keys = pc.binary_join_element_wise(
        table.column("fingerprint"), table.column("model"), table.column("preprocessing"), table.column("sampling"), "\x1f"
    )
    table = table.append_column("_key", keys).sort_by([("_key", "ascending"), ("frame", "ascending")])
    keys = table.column("_key").to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    for s, e in zip(starts, ends):
        part = table.slice(int(s), int(e - s))
        frames = part.column("frame").to_numpy()
        keep = np.r_[True, np.diff(frames) > 0]  # duplicates: the same frame written twice
        if not keep.all():
            part = part.filter(pa.array(keep))
            frames = frames[keep]
        first = {c: part.column(c)[0].as_py() for c in ("fingerprint", "path", "model", "preprocessing", "sampling", "rate")}
        yield VideoRows(
            first["fingerprint"], first["path"], first["model"], first["preprocessing"], first["sampling"],
            float(first["rate"]), frames, part.column("time").to_numpy(), embeddings_of(part),
        )  # fmt: skip


class Store:
    """An embedding store in the directory ``path`` (created on first write)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise InvalidArgument(f"path={path!r} must be a directory path")
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"{str(self.path)!r} is a file, not an embedding store directory")

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @property
    def frames_glob(self) -> str:
        """The glob that reads every row: ``read_parquet(store.frames_glob)`` in DuckDB."""
        return str(self.path / FRAMES / "*" / "*.parquet")

    def part_path(self, key: str) -> Path:
        return self.path / FRAMES / key[:2] / f"{key}.parquet"

    # ------------------------------------------------------------------ writing
    def contains(self, fingerprint: str, model: str, preprocessing: str, sampling: str) -> bool:
        """Whether the frames of this video, model, preprocessing and sampling are stored."""
        return self.part_path(part_key(fingerprint, model, preprocessing, sampling)).is_file()

    def write_video(self, table) -> Path:  # type: ignore[no-untyped-def]
        """Store the frames of one video (a table from :func:`video_table`) atomically;
        returns the file. Replaces what was stored for the same key (equal rows),
        and clears a failure recorded for the video."""
        pa = _pa()
        import pyarrow.parquet as pq

        if not isinstance(table, pa.Table):
            raise InvalidArgument(f"table={type(table).__name__} must be a pyarrow.Table of store rows (see video_table)")
        dim = table.schema.field("embedding").type.list_size if "embedding" in table.schema.names else 0
        if dim < 1 or not table.schema.equals(frame_schema(dim)):
            raise InvalidValue(f"table does not have the store's schema:\n{table.schema}\nexpected:\n{frame_schema(max(dim, 1))}")
        if table.num_rows == 0:
            raise InvalidValue("table has no rows: a video with no frames is recorded with record_failure")
        first = {c: table.column(c)[0].as_py() for c in ("fingerprint", "path", "model", "preprocessing", "sampling", "rate")}
        for c in ("fingerprint", "model", "preprocessing", "sampling"):
            if len(table.column(c).unique()) != 1:
                raise InvalidValue(f"table holds several values of {c!r}: write one video at a time")
        key = part_key(first["fingerprint"], first["model"], first["preprocessing"], first["sampling"])
        meta = {**first, "format": FORMAT, "key": key, "frames": table.num_rows, "dim": dim}
        table = table.replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
        buf = io.BytesIO()
        # dictionaries for the per-video strings only: a dictionary over fp16 values
        # makes files larger and reading them 4x slower
        pq.write_table(table, buf, compression="zstd", row_group_size=65536, use_dictionary=list(_PER_VIDEO_STRINGS))
        dest = self.part_path(key)
        _atomic_write(dest, buf.getvalue())
        self._clear_failure(first["path"], first["model"], first["sampling"])
        return dest

    def record_failure(
        self, path: str | os.PathLike[str], reason: str, *, fingerprint: str | None = None, model: str = "", sampling: str = ""
    ) -> None:
        """Record that the video at ``path`` could not be indexed, and why.
        One row per (path, model, sampling): a rerun that fails again replaces it,
        one that succeeds removes it."""
        pa = _pa()
        import pyarrow.parquet as pq

        row = {"path": [str(path)], "fingerprint": [fingerprint], "model": [model], "sampling": [sampling],
               "reason": [str(reason)], "time": [int(time.time() * 1000)]}  # fmt: skip
        table = pa.table(row, schema=failure_schema())
        buf = io.BytesIO()
        pq.write_table(table, buf)
        _atomic_write(self._failure_path(str(path), model, sampling), buf.getvalue())

    def _failure_path(self, path: str, model: str, sampling: str) -> Path:
        name = hashlib.blake2b(json.dumps([path, model, sampling]).encode(), digest_size=16).hexdigest()
        return self.path / FAILURES / f"{name}.parquet"

    def _clear_failure(self, path: str, model: str, sampling: str) -> None:
        self._failure_path(path, model, sampling).unlink(missing_ok=True)

    def remove_temp_files(self, older_than: float = 3600.0) -> int:
        """Remove the temp files of writers killed before their rename (older than
        ``older_than`` seconds, so that no live writer loses its file); returns how
        many. Readers never see them: they are not named ``*.parquet``."""
        removed = 0
        now = time.time()
        for d in (self.path / FRAMES, self.path / FAILURES, self.path):
            for f in d.glob("**/.*.tmp") if d != self.path else d.glob(".*.tmp"):
                try:
                    if now - f.stat().st_mtime > older_than:
                        f.unlink()
                        removed += 1
                except OSError:
                    continue
        return removed

    # ------------------------------------------------------------------ reading
    def part_files(self) -> list[Path]:
        """Every frames file, sorted (temp files of writers in progress are not listed)."""
        root = self.path / FRAMES
        if not root.is_dir():
            return []
        return sorted(p for d in root.iterdir() if d.is_dir() for p in d.glob("*.parquet") if not p.name.startswith("."))

    def manifest(self):  # type: ignore[no-untyped-def]
        """One row per frames file (columns of :func:`manifest_schema`), brought up to
        date with the files on disk; rewritten (atomically) when it changed."""
        pa = _pa()
        import pyarrow.parquet as pq

        files = self.part_files()
        known: dict[str, dict[str, Any]] = {}
        stored = self.path / MANIFEST
        try:
            old = pq.read_table(stored)
            if old.schema.equals(manifest_schema()):
                known = {r["file"]: r for r in old.to_pylist()}
        except (OSError, ValueError, pa.ArrowException):
            pass  # absent or unreadable: rebuilt from the files
        rows, changed = [], len(known) != len(files)
        for f in files:
            rel = f.relative_to(self.path).as_posix()
            try:
                size = f.stat().st_size
            except OSError:  # removed meanwhile
                changed = True
                continue
            row = known.get(rel)
            if row is None or row["bytes"] != size:
                row = self._footer(f, rel, size)
                changed = True
            if row is not None:
                rows.append(row)
        table = pa.Table.from_pylist(rows, schema=manifest_schema())
        if changed:
            self._write_manifest(table)
        return table

    def _write_manifest(self, table) -> None:  # type: ignore[no-untyped-def]
        """Rewrite the manifest unless another process is rewriting it (it then
        writes at least as much); a read-only store is still searched."""
        import pyarrow.parquet as pq
        from filelock import FileLock, Timeout

        try:
            with FileLock(str(self.path / ".manifest.lock"), timeout=0):
                buf = io.BytesIO()
                pq.write_table(table, buf)
                _atomic_write(self.path / MANIFEST, buf.getvalue())
        except (OSError, InputError, Timeout) as e:
            log.debug("%s: manifest not rewritten (%s)", self.path, e)

    def _footer(self, f: Path, rel: str, size: int) -> dict[str, Any] | None:
        import pyarrow.parquet as pq

        try:
            meta = json.loads(pq.read_schema(f).metadata[META_KEY])
            if meta.get("format") != FORMAT or meta.get("key") != f.stem:
                raise ValueError(f"it is not this store's file {f.stem} (format {meta.get('format')!r})")
            return {"file": rel, "bytes": size, **{k: meta[k] for k in ("key", *VIDEO_COLUMNS)}}
        except Exception as e:  # noqa: BLE001 - whatever a foreign or damaged file raises: left out, not fatal
            warnings.warn(f"{f}: not a readable frames file of this store ({type(e).__name__}: {e}); left out", StoreWarning, stacklevel=3)
            return None

    def parts(self, where: str | None = None, *, model: str | None = None, sampling: str | None = None):  # type: ignore[no-untyped-def]
        """Manifest rows of the videos selected by ``where`` (a SQL boolean expression
        over :data:`VIDEO_COLUMNS`, run by DuckDB), ``model`` and ``sampling``."""
        import pyarrow.compute as pc

        table = self.manifest()
        if model is not None:
            table = table.filter(pc.equal(table.column("model"), model))
        if sampling is not None:
            table = table.filter(pc.equal(table.column("sampling"), sampling))
        if where is not None:
            table = filter_where(table, where)
        return table

    def dataset(self, where: str | None = None):  # type: ignore[no-untyped-def]
        """A ``pyarrow.dataset`` over the frames files of the selected videos."""
        import pyarrow.dataset as ds

        files = [str(self.path / f) for f in self.parts(where).column("file").to_pylist()]
        return ds.dataset(files, format="parquet", schema=self._schema(files))

    def _schema(self, files: Sequence[str]):  # type: ignore[no-untyped-def]
        import pyarrow.parquet as pq

        if not files:
            return frame_schema(1)
        return pq.read_schema(files[0]).remove_metadata()

    def read(self, file: str | os.PathLike[str], columns: Sequence[str] | None = None):  # type: ignore[no-untyped-def]
        """The rows of one frames file (``file`` relative to the store, as in the manifest)."""
        import pyarrow.parquet as pq

        return pq.read_table(self.path / file, columns=list(columns) if columns else None).replace_schema_metadata(None)

    def scan(self, where: str | None = None, *, model: str | None = None, sampling: str | None = None) -> Iterator[Any]:
        """The rows of each selected video, one ``pyarrow.Table`` per video."""
        for f in self.parts(where, model=model, sampling=sampling).column("file").to_pylist():
            yield self.read(f)

    def failures(self):  # type: ignore[no-untyped-def]
        """The videos that could not be indexed (columns of :func:`failure_schema`), oldest first."""
        pa = _pa()
        import pyarrow.parquet as pq

        root = self.path / FAILURES
        files = sorted(root.glob("*.parquet")) if root.is_dir() else []
        tables = []
        for f in files:
            try:
                tables.append(pq.read_table(f).cast(failure_schema()))
            except FileNotFoundError:  # cleared meanwhile
                continue
        table = pa.concat_tables(tables) if tables else failure_schema().empty_table()
        return table.sort_by("time")

    def __len__(self) -> int:
        """Rows (sampled frames) in the store."""
        return int(sum(self.manifest().column("frames").to_pylist()))


def filter_where(table, where: str):  # type: ignore[no-untyped-def]
    """The rows of the Arrow ``table`` for which the SQL expression ``where`` holds (DuckDB)."""
    if not isinstance(where, str) or not where.strip():
        raise InvalidValue(f"where={where!r} must be a SQL boolean expression, e.g. \"path LIKE '%cam1%'\"")
    try:
        import duckdb
    except ImportError:
        raise InputError("--where needs DuckDB: pip install duckdb") from None
    con = duckdb.connect(":memory:")
    try:
        con.register("videos", table)
        con.execute("SET enable_external_access = false")  # the expression sees the manifest, nothing else
        try:
            rel = con.sql(f"SELECT * FROM videos WHERE ({where})")
            # DuckDB 2 names it to_arrow_table; 1.x arrow()
            return (getattr(rel, "to_arrow_table", None) or rel.arrow)().cast(table.schema)
        except duckdb.Error as e:
            first = str(e).strip().splitlines()[0].rstrip(".!")
            raise InputError(
                f"--where {where!r}: {first}. It is a SQL condition over the columns {', '.join(VIDEO_COLUMNS)}, "
                "e.g. \"path LIKE '%cam1%' AND rate >= 5\""
            ) from None
    finally:
        con.close()


def _atomic_write(dest: Path, data: bytes) -> None:
    """``data`` to ``dest`` atomically (temp file not named ``*.parquet``, fsync, rename, folder sync)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(dest, data)




# ---------------------------------------------------------------------- indexing and search
# The library entry points over a store. They import perception (torch) lazily:
# reading a store needs pyarrow only, a search needs the text encoder, not the videos.


def index_store(source: Any, store: Store | str | os.PathLike[str], *, query: Any = None, options: Any = None, **given: Any) -> Iterator[Any]:
    """Embed every video of ``source`` (paths, folders) into ``store``, one
    :class:`~framelogic.queries.search.Indexed` per video as it is done.

    Videos already stored for the same content, model, preprocessing and sampling
    are skipped (``cached``). A video that cannot be read becomes a row of
    :meth:`Store.failures` and the others are indexed (``error`` says why);
    with ``keep_going=False`` the error is raised instead. Sampling as a search
    with the same options (and ``query``'s ``set fps``/``set model``) samples.
    """
    from framelogic.logic.errors import FramelogicError
    from framelogic.perception.pipeline import Embedder, encode_source
    from framelogic.perception.sources import content_digest, open_source

    from .search import Indexed, Query, embed_config, expand_sources, video_extra

    store = store if isinstance(store, Store) else Store(store)
    opts = (query or Query.from_formula("true")).options(options, **given)
    videos = expand_sources(source)
    store.remove_temp_files()
    sampling = sampling_id(opts.fps, opts.stride)
    with video_extra("indexing into a store"):
        embedder = Embedder.from_config(embed_config(opts))
        preprocessing = embedder.preprocessing
        digest = content_digest
        if opts.use_cache:
            from framelogic.perception.cache import EmbeddingCache

            digest = EmbeddingCache(opts.cache_dir).digest  # unchanged files are hashed once per host
        for video in videos:
            start = time.perf_counter()
            fingerprint = None
            try:
                src = open_source(video, fps=opts.fps, stride=opts.stride)
                fingerprint = src.fingerprint(digest)
                if store.contains(fingerprint, opts.model, preprocessing, sampling):
                    yield Indexed(str(video), len(src), float(src.rate), True, time.perf_counter() - start)
                    continue
                emb = encode_source(src, embedder, progress=opts.progress)
                store.write_video(video_table(
                    fingerprint=fingerprint, path=str(video), model=opts.model, preprocessing=preprocessing,
                    sampling=sampling, rate=emb.rate, frames=emb.indices, times=emb.times, embeddings=emb.embeddings,
                ))  # fmt: skip
            except (FramelogicError, OSError) as e:
                if not opts.keep_going:
                    raise
                reason = str(e) if isinstance(e, FramelogicError) else f"{type(e).__name__}: {e}"
                log.warning("%s: not indexed: %s", video, reason)
                store.record_failure(str(video), reason, fingerprint=fingerprint, model=opts.model, sampling=sampling)
                yield Indexed(str(video), 0, 0.0, False, time.perf_counter() - start, reason)
                continue
            yield Indexed(str(video), len(emb.indices), float(emb.rate), False, time.perf_counter() - start)


def probabilities(embeddings: Any, propositions: Any, model: Any = None, *, contrast: str | None = None) -> np.ndarray:
    """Calibrated per-frame probabilities (frames, propositions) from image embeddings.

    ``embeddings`` is (N, D) (e.g. :func:`embeddings_of` store rows);
    ``propositions`` are :meth:`Query.propositions` (``PropDecl``), perception
    ``Proposition`` objects, prompt strings or a mapping ``name -> prompt``;
    ``model`` is the model spec the embeddings were made with (default the
    bundled model) or a loaded encoder. Each column is scored on its own
    (prompt vs contrast, then the proposition's calibration), exactly as a
    search on the video scores it.
    """
    from collections.abc import Mapping

    from framelogic.perception.scoring import as_propositions
    from framelogic.perception.scoring import probabilities as score

    from .queryfile import PropDecl
    from .search import DEFAULT_MODEL, _to_perception, video_extra

    if isinstance(propositions, Mapping):
        props = as_propositions(propositions)
    else:
        props = []
        for p in propositions:
            if isinstance(p, PropDecl):
                if p.column is not None:
                    raise InputError(
                        f"proposition {p.name!r} reads the table column {p.column!r}: an embedding has no columns; "
                        "search it on the video with its table"
                    )
                p = _to_perception(p, contrast)
            props.append(p)
        props = as_propositions(props)
    emb = np.asarray(embeddings, dtype=np.float32)
    if emb.ndim != 2:
        raise InvalidValue(f"embeddings must be (frames, dimensions), not shape {emb.shape}")
    with video_extra("scoring embeddings"):
        encoder = _text_encoder(model or DEFAULT_MODEL)
        return score(encoder, emb, props)


def _text_encoder(model: Any) -> Any:
    if not isinstance(model, str):
        return model
    from framelogic.perception.model import load_encoder

    return load_encoder(model)


def _search_video(q: Any, rows: VideoRows, opts: Any, encoder: Any) -> Any:
    """The matches of query ``q`` in one stored video (``rows``): its propositions
    scored from the embeddings; ``column`` propositions read their table (the
    one beside the video's path, or ``opts.table``) as a search on the video does."""
    from framelogic.perception.scoring import ScoredTable

    from .search import split_props, with_columns

    prompted, from_table = split_props(q.propositions(), opts)
    values = probabilities(rows.embeddings, prompted, encoder, contrast=opts.contrast)
    times = rows.times if len(rows.times) < 2 or np.all(np.diff(rows.times) > 0) else None
    table = ScoredTable(tuple(p.name for p in prompted), values, times, rows.rate, rows.frames)
    return q.search_table(with_columns(table, rows.path, from_table, opts), video=rows.path, options=opts)


def search_table(query: Any, rows: Any, *, options: Any = None, **given: Any):  # type: ignore[no-untyped-def]
    """The events of ``query`` in store rows of any number of videos, as an Arrow
    table (:data:`framelogic.queries.results.EVENT_SCHEMA`), video by video.

    ``rows`` is a ``pyarrow.Table`` with the store's columns (e.g. a group of a
    Ray Data dataset read from the store); rows of other models or samplings
    than the options' are an error, so no video is scored with the wrong model.
    """
    from .results import Results
    from .search import load_query, video_extra

    q = load_query(query)
    opts = q.options(options, **given)
    found: list[Any] = []
    with video_extra("searching a store"):
        encoder = _text_encoder(opts.model)
        for video in video_rows(rows):
            if video.model != opts.model:
                raise InputError(f"{video.path}: stored with model {video.model!r}, searched with {opts.model!r}; give --model {video.model}")
            found.extend(_search_video(q, video, opts, encoder))
    return Results(found).to_arrow()


def search_store(
    query: Any, store: Store | str | os.PathLike[str], *, where: str | None = None, options: Any = None, **given: Any
) -> Any:
    """The matches of ``query`` in the videos of ``store`` selected by ``where``
    (see :meth:`Store.parts`), without the videos: a text encoding, a matrix
    product, calibration and the automata. The store rows used are those of the
    options' model and sampling (``fps``/``stride``, as at indexing).
    """
    from .results import Results
    from .search import load_query, video_extra

    store = store if isinstance(store, Store) else Store(store)
    q = load_query(query)
    opts = q.options(options, **given)
    parts = select_parts(store, where, opts)
    found: list[Any] = []
    with video_extra("searching a store"):
        encoder = _text_encoder(opts.model)
        for file in parts.column("file").to_pylist():
            for video in video_rows(store.read(file)):
                found.extend(_search_video(q, video, opts, encoder))
    return Results(found)


def select_parts(store: Store, where: str | None, opts: Any):  # type: ignore[no-untyped-def]
    """The frames files a search with ``opts`` reads: the options' model and
    sampling, one file per video content (the first preprocessing in name order
    when a video was indexed with several), selected by ``where``."""
    pa = _pa()

    if not store.path.is_dir():
        raise InputError(f"{str(store.path)!r}: no such embedding store; fill it first: framelogic index VIDEOS --store {store.path}")
    sampling = sampling_id(opts.fps, opts.stride)
    everything = store.manifest()
    parts = store.parts(where, model=opts.model, sampling=sampling)
    if parts.num_rows == 0 and everything.num_rows and where is None:
        held = sorted({(r["model"], r["sampling"]) for r in everything.select(["model", "sampling"]).to_pylist()})
        raise InputError(
            f"{str(store.path)!r} holds no embeddings of model {opts.model!r} at sampling {sampling!r}; it holds "
            + ", ".join(f"{m!r} at {s!r}" for m, s in held)
            + ". Search with the --model and --fps/--stride it was indexed with"
        )
    parts = parts.sort_by([("path", "ascending"), ("fingerprint", "ascending"), ("preprocessing", "ascending")])
    fps = parts.column("fingerprint").to_pylist()
    keep = [i == 0 or fps[i] != fps[i - 1] for i in range(len(fps))]
    return parts.filter(pa.array(keep, pa.bool_()))


__all__ = [
    "FORMAT", "Store", "StoreWarning", "VIDEO_COLUMNS", "VideoRows", "embeddings_of", "failure_schema", "filter_where",
    "frame_schema", "index_store", "manifest_schema", "part_key", "probabilities", "sampling_id", "search_store",
    "search_table", "select_parts", "video_rows", "video_table",
]  # fmt: skip
