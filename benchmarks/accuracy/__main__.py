"""``python -m benchmarks.accuracy [--quick] [--tlv DIR]``: the comparison table."""

from __future__ import annotations

import argparse
import platform
import sys
import time

from .bench import rendered, synthetic
from .data import NOISE_LEVELS, Noise
from .methods import NSVS_MAX_FRAMES, methods, nsvs_available
from .report import Row, markdown


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.accuracy", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer videos, one long video, no rendered scenes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--videos", type=int, help="videos per template and noise level (default 20, quick 6)")
    ap.add_argument("--long-frames", type=int, default=18_000, help="frames of each long video (default 18,000)")
    ap.add_argument("--nsvs-max-frames", type=int, default=NSVS_MAX_FRAMES,
                    help="NSVS-TL runs only on videos up to this length (quadratic cost)")  # fmt: skip
    ap.add_argument("--no-rendered", action="store_true", help="skip the bundled model on rendered scenarios")
    ap.add_argument("--tlv", metavar="DIR", help="also run on the TLV dataset's pickles in DIR (labels + noise model)")
    args = ap.parse_args(argv)
    n = args.videos or (6 if args.quick else 20)
    ms = methods(nsvs_max_frames=args.nsvs_max_frames)
    start = time.perf_counter()

    print("# framelogic accuracy benchmark (TLV form)\n")
    print(f"Machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}; seed {args.seed}.")
    print("All methods get identical per-frame probabilities; seconds are each method's own time over the videos.")
    if not nsvs_available():
        print("NSVS-TL: not run (needs stormpy and benchmarks/baselines/nsvs_tl.py).")
    else:
        print(f"NSVS-TL: only on videos of at most {args.nsvs_max_frames} frames (it rebuilds and re-checks a "
              "layered DTMC with Storm after every kept frame: quadratic per event); omitted from the long videos.")  # fmt: skip
    print("Noise levels: " + "; ".join(_describe(z) for z in NOISE_LEVELS) + ".\n")

    print(f"## Synthetic TLV-form videos: {n} videos of 25-200 frames per template and noise level\n")
    rows = synthetic(ms, videos=n, lengths=(25, 200), seed=args.seed, tune=True)
    print(markdown(rows), flush=True)
    print("\n" + summary(rows), flush=True)

    long_n = 1 if args.quick else 2
    long_ms = [m for m in ms if m.max_frames is None or m.max_frames >= args.long_frames]
    print(f"\n## Long videos: {long_n} video(s) of {args.long_frames:,} frames "
          f"({args.long_frames / 30 / 60:.1f} minutes at 30 fps) per template, noise none and medium\n")  # fmt: skip
    levels = [z for z in NOISE_LEVELS if z.name in ("none", "medium")]
    print(markdown(synthetic(long_ms, videos=long_n, lengths=(args.long_frames, args.long_frames), seed=args.seed + 1,
                             noise_levels=levels)), flush=True)  # fmt: skip

    if not (args.quick or args.no_rendered):
        print("\n## The bundled model on rendered scenario videos (every scenario, 5 fps)\n")
        try:
            print(markdown(rendered(ms)), flush=True)
        except ImportError as e:  # perception's heavy dependencies are optional for this benchmark
            print(f"not run: {e}")

    if args.tlv:
        from . import tlv

        samples = tlv.load_dir(args.tlv)
        print(f"\n## TLV dataset: {len(samples)} videos from {args.tlv} (their labels through the noise model)\n")
        rows = []
        for z in NOISE_LEVELS:
            rows += tlv.run(samples, tlv.noisy_labels(z, args.seed), ms, noise=z.name)
        print(markdown(rows))
    print(f"\n(total {time.perf_counter() - start:.0f} s)")
    return 0


def summary(rows: list[Row]) -> str:
    """framelogic (tlv) against the better NSVS-TL threshold, frame F1 and event F1, per cell."""
    cells: dict[tuple[str, str], dict[str, Row]] = {}
    for r in rows:
        cells.setdefault((r.template, r.noise), {})[r.method] = r
    lines = ["### framelogic (tlv) vs NSVS-TL (better of P>=0.6 / P>=0.8), same probabilities\n",
             "| template | noise | framelogic frame F1 | NSVS-TL frame F1 | frame F1 ≥ NSVS-TL | framelogic event F1 | "
             "NSVS-TL event F1 | tuned-θ framelogic frame F1 |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for (template, noise), by in cells.items():
        fl = by.get("framelogic (tlv)")
        ns = [r for name, r in by.items() if name.startswith("NSVS-TL")]
        if fl is None or not ns:
            continue
        best = max(ns, key=lambda r: r.f1)
        tuned = [r for name, r in by.items() if name.startswith("framelogic (tlv), tuned")]
        lines.append(f"| {template} | {noise} | {fl.f1:.3f} | {best.f1:.3f} | {'yes' if fl.f1 >= best.f1 else 'NO'} | "
                     f"{fl.event_f1:.3f} | {max(r.event_f1 for r in ns):.3f} | "
                     f"{(f'{tuned[0].f1:.3f}' if tuned else '-')} |")  # fmt: skip
    return "\n".join(lines)


def _describe(z: Noise) -> str:
    if z.error == 0 and not (z.flicker or z.dropout):
        return f"{z.name}: exact labels"
    parts = [f"ε={z.error:g}, κ={z.concentration:g}"]
    if z.flicker:
        parts.append(f"flicker {z.flicker:g}")
    if z.dropout:
        parts.append(f"dropouts {z.dropout:g}/frame × {z.dropout_frames:g} frames")
    return f"{z.name}: " + ", ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
