"""Perception and search benchmarks (CPU here; the GPU part runs where CUDA is).

    python -m benchmarks.run_perception            # CPU: bundled model, cache, 10-minute search
    python -m benchmarks.run_perception --gpu      # also ViT-B-32 / ViT-L-14 throughput (needs CUDA)

Prints markdown tables with the device named.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def device_name() -> str:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU ({platform.machine()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()})"


def bench_bundled_end_to_end(tmp: Path, minutes: float) -> list[list[str]]:
    """Decode + preprocess + encode + probabilities, bundled model, CPU."""
    from framelogic.perception import score_video
    from framelogic.perception.render import render_scenario, write_video

    frames, _ = render_scenario("red_light_stop", fps=30, seconds=60 * minutes)
    video = tmp / "long.mp4"
    write_video(video, frames, 30)
    rows = []
    props = {"red": "a red traffic light", "ped": "a pedestrian crossing the street", "close": "a car close ahead"}
    for fps in (None, 5):
        t = time.perf_counter()
        table = score_video(str(video), props, fps=fps, use_cache=False)
        dt = time.perf_counter() - t
        rows.append([f"bundled, {'every frame' if fps is None else f'{fps} fps'}", f"{len(frames)} @30fps",
                     str(len(table)), f"{dt:.1f}", f"{len(table) / dt:,.0f}"])  # fmt: skip
    return rows


def bench_search_and_cache(tmp: Path, minutes: float) -> list[list[str]]:
    """framelogic search on a long rendered video, then again with a changed query (cache)."""
    from framelogic.perception.render import render_scenario, write_video
    from framelogic.queries.search import Query

    frames, labels = render_scenario("red_light_stop", fps=30, seconds=60 * minutes)
    video = tmp / "drive.mp4"
    write_video(video, frames, 30)
    labels.to_csv(tmp / "drive.csv")
    examples = Path(__file__).resolve().parents[1] / "examples" / "queries"
    cache = tmp / "cache"
    q1 = Query.from_text(
        f'import "{examples / "common.tl"}"\nset fps = 5\n'
        "query a: red_light & !stopped\nquery b: yellow_light U red_light\nquery c: G[0,1s] car_close\n"
    )
    t = time.perf_counter()
    r1 = q1.search(str(video), cache_dir=str(cache))
    first = time.perf_counter() - t
    q2 = Query.from_text(
        f'import "{examples / "common.tl"}"\nset fps = 5\n'
        'query d: pedestrian & stopped\nquery e: "a stop sign" U "a cyclist"\nquery f: F[0,2s] (night | rain)\n'
    )
    t = time.perf_counter()
    r2 = q2.search(str(video), cache_dir=str(cache))
    second = time.perf_counter() - t
    n = len(frames) // 6
    return [
        [f"{minutes:g}-minute 30-fps video, 3 queries, --fps 5 (first)", f"{first:.1f}", f"{n / first:,.0f}", str(len(r1))],
        ["same video, 3 new queries with new propositions (cache)", f"{second:.2f}", f"{n / second:,.0f}", str(len(r2))],
        ["speed-up of the second search", f"{first / second:.0f}×", "", ""],
    ]


def bench_requery(n: int = 108_000) -> list[list[str]]:
    """Scoring 5 new propositions over a cached 1-hour @ 30 fps index."""
    from framelogic.perception.model import load_encoder
    from framelogic.perception.scoring import Proposition, probabilities

    enc = load_encoder("framelogic-tiny", "cpu")
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((n, 96)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    props = [Proposition(f"p{i}", f"prompt number {i} {w}") for i, w in enumerate(["car", "light", "sign", "person", "bike"])]
    t = time.perf_counter()
    probabilities(enc, emb, props)
    dt = time.perf_counter() - t
    return [["5 new propositions over 108,000 cached embeddings", f"{dt:.3f}", "target < 0.5 s"]]


def bench_gpu() -> list[list[str]]:  # pragma: no cover - needs CUDA
    import open_clip
    import torch

    rows = []
    for name, batch in [("ViT-B-32", 1024), ("ViT-L-14", 256)]:
        model = open_clip.create_model(name, precision="fp16", device="cuda").eval()
        x = torch.randn(batch, 3, 224, 224, device="cuda", dtype=torch.float16)
        with torch.inference_mode():
            for _ in range(3):
                model.encode_image(x)
            torch.cuda.synchronize()
            t = time.perf_counter()
            for _ in range(10):
                model.encode_image(x)
            torch.cuda.synchronize()
        rows.append([name, "model only, fp16, random weights", f"{10 * batch / (time.perf_counter() - t):,.0f}",
                     f"{torch.cuda.max_memory_allocated() / 2**30:.1f} GiB"])  # fmt: skip
    return rows


def table(head: list[str], rows: list[list[str]]) -> str:
    return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="length of the long rendered video")
    ap.add_argument("--gpu", action="store_true")
    args = ap.parse_args()
    print(f"# framelogic perception benchmarks\n\ndevice: {device_name()}\n")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print("## Bundled model end to end (decode + preprocess + encode + probabilities)\n")
        print(table(["run", "video", "frames scored", "seconds", "frames/s"], bench_bundled_end_to_end(tmp, min(args.minutes, 2))))
        print("\n## framelogic search and the embedding cache\n")
        print(table(["run", "seconds", "frames/s", "events"], bench_search_and_cache(tmp, args.minutes)))
        print("\n## Re-query from the cache\n")
        print(table(["run", "seconds", "target"], bench_requery()))
    if args.gpu:
        print("\n## GPU throughput\n")
        print(table(["model", "what", "images/s", "peak memory"], bench_gpu()))


if __name__ == "__main__":
    main()
