"""``python -m benchmarks.accuracy [--quick]``: the comparison table."""

from __future__ import annotations

import argparse
import time

import numpy as np

from .data import TEMPLATES, generate, ground_truth, noisy
from .methods import METHODS
from .metrics import event_f1, frame_scores

NOISE = [  # (label, level, flicker, dropout)
    ("none", 0.0, 0.0, 0.0),
    ("low", 0.2, 0.0, 0.0),
    ("medium", 0.35, 0.02, 0.1),
    ("high", 0.5, 0.05, 0.2),
]


def run_synthetic(n_videos: int, lengths: tuple[int, int], seed: int, nsvs_max: int) -> list[list[str]]:
    rows = []
    for template in TEMPLATES:
        for label, level, flicker, dropout in NOISE:
            rng = np.random.default_rng(seed)
            videos = [generate(template, int(rng.integers(*lengths)), rng) for _ in range(n_videos)]
            probs = [noisy(v.labels, level, rng, flicker=flicker, dropout=dropout) for v in videos]
            for name, method in METHODS.items():
                if name.startswith("NSVS") and max(len(v.labels["p"]) for v in videos) > nsvs_max:
                    continue
                scores, events, t0 = [], [], time.perf_counter()
                for v, p in zip(videos, probs):
                    pred = method(template, p)
                    scores.append(frame_scores(pred, v.frames_of_interest))
                    events.append(event_f1(pred, v.frames_of_interest))
                dt = time.perf_counter() - t0
                pr, rc, f1 = np.mean(scores, axis=0)
                rows.append([template, label, name, f"{pr:.3f}", f"{rc:.3f}", f"{f1:.3f}", f"{np.mean(events):.3f}", f"{dt:.2f}"])
    return rows


def run_rendered() -> list[list[str]]:
    """Perception input (a): the bundled model on rendered scenario videos."""
    from framelogic.perception import score_video
    from framelogic.perception.render import SCENARIOS, PROPOSITIONS, render_scenario

    mapping = {  # template -> renderer propositions standing for p, q, r
        "F p": ("stop_sign", None, None),
        "G p": ("car_close", None, None),
        "p & q": ("red_light", "pedestrian", None),
        "p U q": ("yellow_light", "red_light", None),
        "(p & q) U r": ("red_light", "crosswalk", "green_light"),
    }
    videos = []
    for name in SCENARIOS:
        frames, labels = render_scenario(name, fps=5)
        table = score_video(frames, {k: PROPOSITIONS[k] for k in PROPOSITIONS}, source_fps=5, use_cache=False)
        videos.append((labels, table))
    rows = []
    for template, names in mapping.items():
        for method_name, method in METHODS.items():
            scores, events, t0 = [], [], time.perf_counter()
            for labels, table in videos:
                lab = {k: (labels.column(n) if n else np.zeros(len(labels))) for k, n in zip("pqr", names)}
                probs = {k: (table.column(n) if n else np.zeros(len(table))) for k, n in zip("pqr", names)}
                truth = ground_truth(template, lab)
                pred = method(template, probs)
                scores.append(frame_scores(pred, truth))
                events.append(event_f1(pred, truth))
            pr, rc, f1 = np.mean(scores, axis=0)
            rows.append([template, "bundled model", method_name, f"{pr:.3f}", f"{rc:.3f}", f"{f1:.3f}", f"{np.mean(events):.3f}",
                         f"{time.perf_counter() - t0:.2f}"])  # fmt: skip
    return rows


def table(rows: list[list[str]]) -> str:
    head = ["template", "noise", "method", "frame P", "frame R", "frame F1", "event F1 (IoU≥0.5)", "seconds"]
    return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows])


def main() -> None:
    ap = argparse.ArgumentParser(description="accuracy benchmark in the form of the TLV dataset")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    n = 8 if args.quick else 20
    print("# framelogic accuracy benchmark (TLV form)\n")
    print(f"## Synthetic probabilities, {n} videos of 25-200 frames per template and noise level\n")
    print(table(run_synthetic(n, (25, 201), args.seed, nsvs_max=10_000)))
    print("\n## Long videos: 2 videos of 18,000 frames (10 minutes at 30 fps); NSVS-TL omitted (quadratic)\n")
    print(table(run_synthetic(2, (18_000, 18_001), args.seed + 1, nsvs_max=0)))
    print("\n## The bundled model on rendered scenario videos (5 fps)\n")
    print(table(run_rendered()))


if __name__ == "__main__":
    main()
