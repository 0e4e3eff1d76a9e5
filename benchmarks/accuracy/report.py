"""Scoring a method over a set of videos, and the results table."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from framelogic.logic.errors import InvalidValue

from .metrics import event_f1, frame_scores


@dataclass(frozen=True)
class Row:
    """One line of the results table: a method's means over a set of videos."""

    template: str
    noise: str
    method: str
    precision: float
    recall: float
    f1: float
    event_f1: float
    seconds: float
    videos: int


def score(method_name: str, run: Callable[[str, Mapping[str, np.ndarray]], list[list[int]]],
          cases: Iterable[tuple[str, Mapping[str, np.ndarray], list[list[int]]]], *, template: str,
          noise: str) -> Row:  # fmt: skip
    """Mean frame P/R/F1 and event F1 of ``run`` over ``(formula, probs, truth)`` cases;
    seconds is the method's own time (metrics excluded)."""
    per_video, events, seconds = [], [], 0.0
    for formula, probs, truth in cases:
        t0 = time.perf_counter()
        pred = run(formula, probs)
        seconds += time.perf_counter() - t0
        per_video.append(frame_scores(pred, truth))
        events.append(event_f1(pred, truth))
    if not per_video:
        raise InvalidValue(f"no videos to score {method_name!r} on")
    pr, rc, f1 = np.mean(per_video, axis=0)
    return Row(template, noise, method_name, float(pr), float(rc), float(f1), float(np.mean(events)), seconds, len(per_video))



HEADER = ("template", "noise", "method", "frame P", "frame R", "frame F1", "event F1 (IoU≥0.5)", "seconds", "videos")


def markdown(rows: Sequence[Row]) -> str:
    """The rows as a markdown table."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for r in rows:
        cells = [r.template, r.noise, r.method, f"{r.precision:.3f}", f"{r.recall:.3f}", f"{r.f1:.3f}",
                 f"{r.event_f1:.3f}", f"{r.seconds:.3f}", str(r.videos)]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
