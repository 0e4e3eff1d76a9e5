"""Corpus-scale benchmarks: the embedding store, single process vs Ray (local, 2 workers).

    python -m benchmarks.corpus                 # everything (about 15 minutes on 2 busy cores)
    python -m benchmarks.corpus --rows 1000000  # a smaller synthetic store

1. index and search throughput on rendered videos: ``index --store`` and a
   store search in one process, then ``index_on_ray`` / ``search_on_ray`` on a
   local Ray instance with 2 CPUs (Ray's start-up is timed on its own);
2. search over a synthetic store of ``--rows`` frames (unit fp16 embeddings
   of the bundled model's dimension drifting between random key frames,
   10,000 frames per video): write rate, bytes per row, a DuckDB scan, and the time of a query with 5
   propositions never encoded before (a fresh process: text encoding, matrix
   product, calibration, automata), with that process's peak memory.

Prints markdown and writes ``benchmarks/results/corpus.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "corpus.md"
QUERY = """
prop red = "a red traffic light"
prop pedestrian = "a pedestrian crossing the street"
prop car_close = "a car close ahead"
prop stop_sign = "a stop sign"
prop night = "a street at night"
set mode = "runs"
query close_at_red: red & car_close
query pedestrian_then_red: pedestrian & F[0,2s] red
query stop_at_night: stop_sign & night
"""
#: Five propositions no other query of this benchmark uses (their prompts are encoded fresh).
NEW_QUERY = """
prop wet = "a wet road surface"
prop truck = "a large truck"
prop tunnel = "driving through a tunnel"
prop bike_lane = "a bicycle lane"
prop parked = "a row of parked cars"
set mode = "runs"
query truck_in_tunnel: truck & tunnel
query wet_then_bike: wet U bike_lane
query parked_for_a_while: G[0,2s] parked
"""


def machine() -> str:
    return f"CPU ({platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start); no GPU"


def table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


# ------------------------------------------------------------------ rendered videos
def bench_videos(tmp: Path, videos: int, seconds: float, fps: float) -> tuple[str, dict[str, float]]:
    import ray

    from framelogic.perception.render import SCENARIOS, write_scenario
    from framelogic.queries.distributed import index_on_ray, search_on_ray
    from framelogic.queries.search import Query
    from framelogic.queries.store import Store, index_store, search_store

    folder = tmp / "videos"
    folder.mkdir()
    names = list(SCENARIOS)
    for i in range(videos):
        write_scenario(folder / f"drive{i:03d}.mp4", names[i % len(names)], seed=i, fps=10, seconds=seconds)
    q = Query.from_text(QUERY)
    opts = q.options(fps=fps, cache_dir=str(tmp / "cache"))

    from framelogic.perception.model import load_encoder

    load_encoder(opts.model, "cpu")  # the model loads once per process: not part of the rate
    t = time.perf_counter()
    single = Store(tmp / "single")
    items = list(index_store(str(folder), single, options=opts))
    t_index1 = time.perf_counter() - t
    frames = sum(i.frames for i in items)
    t = time.perf_counter()
    events1 = search_store(q, single, options=opts)
    t_search1 = time.perf_counter() - t
    t = time.perf_counter()
    search_store(q, single, options=opts)
    t_search1b = time.perf_counter() - t
    t_decode, t_model = per_frame_costs(folder, opts)

    t = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    t_start = time.perf_counter() - t
    try:
        t = time.perf_counter()
        summary = index_on_ray(str(folder), Store(tmp / "ray"), options=opts)
        t_index2 = time.perf_counter() - t
        t = time.perf_counter()
        events2 = search_on_ray(q, Store(tmp / "ray"), options=opts)
        t_search2 = time.perf_counter() - t
        t = time.perf_counter()
        search_on_ray(q, Store(tmp / "ray"), options=opts)
        t_search3 = time.perf_counter() - t
    finally:
        ray.shutdown()
    if summary.frames != frames or events2.num_rows != len(events1):
        raise SystemExit(f"the Ray path disagrees: {summary.frames} vs {frames} frames, {events2.num_rows} vs {len(events1)} events")
    rows = [
        ["index, single process (`index --store`)", f"{frames}", f"{t_index1:.1f}", f"{frames / t_index1:,.0f}"],
        ["index, Ray local (2 CPUs: decode tasks + 1 encoder actor; includes the actor's start)", f"{summary.frames}", f"{t_index2:.1f}", f"{frames / t_index2:,.0f}"],
        ["decode only (OpenCV, kept frames, one thread)", f"{frames}", f"{t_decode:.1f}", f"{frames / t_decode:,.0f}"],
        ["encode only (bundled model, fp32, batches of 64)", f"{frames}", f"{t_model:.1f}", f"{frames / t_model:,.0f}"],
        ["search (3 queries, 5 propositions), single process, first", f"{frames}", f"{t_search1:.2f}", f"{frames / t_search1:,.0f}"],
        ["search, single process, again (prompts encoded)", f"{frames}", f"{t_search1b:.2f}", f"{frames / t_search1b:,.0f}"],
        ["search, Ray local, first (workers load the model)", f"{frames}", f"{t_search2:.2f}", f"{frames / t_search2:,.0f}"],
        ["search, Ray local, again (warm workers)", f"{frames}", f"{t_search3:.2f}", f"{frames / t_search3:,.0f}"],
    ]  # fmt: skip
    text = (
        f"{videos} rendered videos of {seconds:g} s (256x144, 10 fps), sampled at {fps:g} fps; bundled model "
        f"(framelogic-tiny) on the CPU. Ray's own start-up (`ray.init`, 2 CPUs) took {t_start:.1f} s and is not "
        "in the rows below.\n\n" + table(["step", "frames", "seconds", "frames/s"], rows)
    )
    return text, {"index_single_fps": frames / t_index1, "index_ray_fps": frames / t_index2, "decode_fps": frames / t_decode,
                  "model_fps": frames / t_model, "search_single_fps": frames / t_search1, "ray_start_s": t_start}  # fmt: skip


def per_frame_costs(folder: Path, opts) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Seconds to decode the kept frames of every video, and to encode them (model only)."""
    from framelogic.perception.pipeline import Embedder
    from framelogic.perception.sources import open_source

    t = time.perf_counter()
    frames = []
    for v in sorted(folder.glob("*.mp4")):
        frames += [b.images for b in open_source(v, fps=opts.fps).batches(64, workers=1)]
    t_decode = time.perf_counter() - t
    embedder = Embedder(opts.model, device="cpu")
    embedder.encode(frames[0][:2])  # warm
    t = time.perf_counter()
    for f in frames:
        embedder.encode(f)
    return t_decode, time.perf_counter() - t


# ------------------------------------------------------------------ synthetic store
def fill_synthetic(path: Path, rows: int, per_video: int, dim: int, seed: int = 0) -> dict[str, float]:
    """A store of ``rows`` unit fp16 embeddings (:func:`_smooth_embeddings`), ``per_video`` frames a video at 5 fps."""
    from framelogic.perception.pipeline import Embedder
    from framelogic.queries.store import Store, sampling_id, video_table

    store = Store(path)
    preprocessing = Embedder("framelogic-tiny", device="cpu").preprocessing
    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    done = 0
    k = 0
    while done < rows:
        n = min(per_video, rows - done)
        emb = _smooth_embeddings(rng, n, dim)
        frames = np.arange(n, dtype=np.int64) * 6  # 30 fps source sampled at 5 fps
        store.write_video(video_table(
            fingerprint=f"video:synthetic{seed}-{k:06d}", path=f"/fleet/cam{k % 8}/drive{k:06d}.mp4",
            model="framelogic-tiny", preprocessing=preprocessing, sampling=sampling_id(5.0), rate=5.0,
            frames=frames, times=frames / 30.0, embeddings=emb,
        ))  # fmt: skip
        done += n
        k += 1
    seconds = time.perf_counter() - t
    size = sum(p.stat().st_size for p in store.part_files())
    return {"rows": done, "videos": k, "write_s": seconds, "bytes": size}


def _smooth_embeddings(rng: np.random.Generator, n: int, dim: int, every: int = 50) -> np.ndarray:
    """Unit vectors that drift like a video's: random key frames every ``every``
    frames (10 s at 5 fps), linearly interpolated between them. Independent
    random rows would make every proposition flicker frame to frame, which no
    video does, and turn a search into millions of one-frame events."""
    keys = rng.standard_normal((n // every + 2, dim), dtype=np.float32)
    i = np.arange(n)
    a = ((i % every) / every).astype(np.float32)[:, None]
    emb = (1 - a) * keys[i // every] + a * keys[i // every + 1]
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return emb


_SEARCH_CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from framelogic.queries.search import Query
from framelogic.queries.store import search_store
q = Query.from_text(sys.argv[2])
opts = q.options(fps=5.0)
t1 = time.perf_counter()
events = search_store(q, sys.argv[1], where=sys.argv[3] or None, options=opts)
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "search_s": t2 - t1, "events": len(events),
                  "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def search_child(store: Path, query: str, where: str = "") -> dict[str, float]:
    """A store search in a fresh process (nothing cached), with its peak memory."""
    out = subprocess.run([sys.executable, "-c", _SEARCH_CHILD, str(store), query, where],
                         check=True, capture_output=True, text=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def duckdb_scan(store: Path) -> tuple[float, int]:
    import duckdb

    t = time.perf_counter()
    n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{store}/frames/*/*.parquet') WHERE frame % 2 = 0").fetchall()[0][0]
    return time.perf_counter() - t, int(n)


def search_ray_synthetic(store: Path) -> float:
    import ray

    from framelogic.queries.distributed import search_on_ray
    from framelogic.queries.search import Query

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        q = Query.from_text(NEW_QUERY)
        t = time.perf_counter()
        search_on_ray(q, store, options=q.options(fps=5.0))
        return time.perf_counter() - t
    finally:
        ray.shutdown()


def bench_synthetic(tmp: Path, rows: int, per_video: int, ray_search: bool) -> tuple[str, dict[str, float]]:
    from framelogic.perception.model import load_encoder

    dim = load_encoder("framelogic-tiny", "cpu").embed_dim
    path = tmp / "synthetic"
    filled = fill_synthetic(path, rows, per_video, dim)
    scan_s, scanned = duckdb_scan(path)
    new = search_child(path, NEW_QUERY)
    where = search_child(path, NEW_QUERY, "path LIKE '/fleet/cam3/%'")
    n = filled["rows"]
    rows_out = [
        ["write (video_table + write_video, zstd)", f"{n:,}", f"{filled['write_s']:.1f}", f"{n / filled['write_s']:,.0f}", ""],
        ["DuckDB: count(*) over `frames/*/*.parquet` with a filter", f"{n:,}", f"{scan_s:.2f}", f"{n / scan_s:,.0f}", ""],
        ["search, 5 new propositions, 3 queries, one process", f"{n:,}", f"{new['search_s']:.1f}", f"{n / new['search_s']:,.0f}",
         f"{new['peak_rss'] / 2**20:,.0f} MiB"],
        ["same, `--where \"path LIKE '/fleet/cam3/%'\"` (1/8 of the videos)", f"{n // 8:,}", f"{where['search_s']:.1f}",
         f"{n / 8 / where['search_s']:,.0f}", f"{where['peak_rss'] / 2**20:,.0f} MiB"],
    ]  # fmt: skip
    stats = {"rows": n, "bytes_per_row": filled["bytes"] / n, "search_fps": n / new["search_s"], "dim": dim,
             "peak_rss": new["peak_rss"], "search_s": new["search_s"], "events": new["events"]}  # fmt: skip
    if ray_search:
        t = search_ray_synthetic(path)
        rows_out.append(["same query on Ray local (2 CPUs), including worker start", f"{n:,}", f"{t:.1f}", f"{n / t:,.0f}", ""])
        stats["ray_search_fps"] = n / t
    text = (
        f"A synthetic store of {n:,} rows: {filled['videos']:,} videos of {per_video:,} frames (5 fps), unit "
        f"embeddings of the bundled model's dimension ({dim}) as fp16, drifting between random key frames every 10 s. On disk: {filled['bytes'] / 2**30:.2f} GiB, "
        f"{filled['bytes'] / n:.0f} bytes per row (zstd; the fp16 embedding is 2 bytes x dimension of it). The search runs in a "
        f"fresh process: its time includes encoding the 5 prompts (+ contrast) once, reading every selected file, "
        f"the matrix product, calibration and the automata of 3 queries ({new['events']:,} events).\n\n"
        + table(["step", "rows", "seconds", "rows/s", "peak memory (search process)"], rows_out)
    )
    return text, stats


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=8, help="rendered videos for the index benchmark")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each rendered video")
    ap.add_argument("--fps", type=float, default=5.0, help="sampling rate")
    ap.add_argument("--rows", type=int, default=10_000_000, help="rows of the synthetic store")
    ap.add_argument("--per-video", type=int, default=10_000, help="frames per synthetic video")
    ap.add_argument("--ray-search", action="store_true", help="also search the synthetic store on Ray local (2 CPUs)")
    ap.add_argument("--only", choices=["videos", "synthetic"], help="run one part; its section of --out is replaced")
    ap.add_argument("--out", default=str(RESULTS), help="markdown file to write ('' for none)")
    args = ap.parse_args(argv)
    sections: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="framelogic-corpus-") as d:
        tmp = Path(d)
        if args.only in (None, "videos"):
            text, _ = bench_videos(tmp, args.videos, args.seconds, args.fps)
            sections[VIDEOS] = f"Machine: {machine()}.\n\n{text}\n"
            print(f"## {VIDEOS}\n\n{sections[VIDEOS]}", flush=True)
        if args.only in (None, "synthetic"):
            text, _ = bench_synthetic(tmp, args.rows, args.per_video, args.ray_search)
            sections[SYNTHETIC] = f"Machine: {machine()}.\n\n{text}\n"
            print(f"## {SYNTHETIC}\n\n{sections[SYNTHETIC]}", flush=True)
    if args.out:
        write_sections(Path(args.out), sections)
        print(f"wrote {args.out}")


VIDEOS = "Index and search: single process vs Ray local"
SYNTHETIC = "Search over a synthetic store"


def write_sections(path: Path, sections: dict[str, str]) -> None:
    """``path`` with the given ``## title`` sections replaced (the others kept)."""
    old: dict[str, str] = {}
    if path.is_file():
        for chunk in path.read_text().split("\n## ")[1:]:
            title, _, body = chunk.partition("\n\n")
            old[title.strip()] = body
    old.update(sections)
    text = "# Corpus benchmarks\n\n`python -m benchmarks.corpus` (sections: `--only videos`, `--only synthetic`).\n"
    for title in (VIDEOS, SYNTHETIC):
        if title in old:
            text += f"\n## {title}\n\n{old[title].rstrip()}\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
