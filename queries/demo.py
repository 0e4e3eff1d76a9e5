"""``framelogic demo``: rendered scenario videos -> example queries -> events next
to the ground truth, and an HTML report. Fully offline (bundled model)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from framelogic.logic.errors import InputError
from framelogic.logic.trace import TraceTable

from .report import Report, VideoSection, build_section
from .results import Match, Results
from .search import Query

SCENARIOS = ("red_light_stop", "pedestrian_crossing", "red_light_violation", "following_too_close", "stop_sign", "cyclist_overtake")


def examples_dir() -> Path:
    """The example query files, packaged with framelogic (``examples/queries`` in a checkout links here)."""
    from importlib import resources

    here = Path(str(resources.files(__package__).joinpath("examples")))
    if not (here / "driving.tl").is_file():
        raise InputError(f"{here}: the example queries are missing from this installation; reinstall framelogic")
    return here


@dataclass(frozen=True)
class Score:
    video: str
    query: str
    found: int  # events found
    truth: int  # ground-truth events
    precision: float
    recall: float
    f1: float
    overlapped: bool  # every ground-truth event overlapped by a found one with IoU >= 0.5


def frames_of(matches: Sequence[Match], n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    for m in matches:
        mask[m.start : m.end + 1] = True
    return mask


def iou(a: Match, b: Match) -> float:
    inter = max(0, min(a.end, b.end) - max(a.start, b.start) + 1)
    return inter / (a.frames + b.frames - inter)


def score(video: str, query: str, found: Sequence[Match], truth: Sequence[Match], n: int) -> Score:
    f, t = frames_of(found, n), frames_of(truth, n)
    tp = int((f & t).sum())
    p = tp / f.sum() if f.sum() else (1.0 if not t.any() else 0.0)
    r = tp / t.sum() if t.sum() else (1.0 if not f.any() else 0.0)
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    overlapped = all(any(iou(g, x) >= 0.5 for x in found) for g in truth)
    return Score(video, query, len(found), len(truth), p, r, f1, overlapped)


def truth_table(labels: TraceTable, times: np.ndarray, rate: float) -> TraceTable:
    """The labels at the sampled times (nearest label row to each)."""
    idx = np.clip(np.rint(times * labels.rate).astype(int), 0, len(labels) - 1)
    return TraceTable(labels.names, labels.values[idx], labels.times[idx], rate)


def run_demo(
    out: str | Path,
    *,
    query_file: str | Path | None = None,
    scenarios: Sequence[str] = SCENARIOS,
    fps: float = 10.0,
    seed: int = 0,
    report: bool = True,
    echo=print,  # type: ignore[no-untyped-def]
) -> list[Score]:
    out = Path(out)
    try:  # before the heavy imports: a bad --out fails at once
        (out / "videos").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create the demo folder {str(out)!r}: {e.strerror or e}") from None
    from framelogic.perception.render import SCENARIOS as ALL
    from framelogic.perception.render import write_scenario

    q = Query.from_file(query_file or examples_dir() / "driving.tl")
    scores: list[Score] = []
    sections: list[VideoSection] = []
    for name in scenarios:
        video = out / "videos" / f"{name}.mp4"
        labels = write_scenario(video, name, seed=seed, fps=fps)
        echo(f"\n== {name}: {ALL[name].description} ({len(labels)} frames at {fps:g} fps)")
        probs = q.probabilities(str(video))
        found = q.search_table(probs, video=str(video))
        truth = q.search_table(truth_table(labels, probs.times, probs.rate), video=str(video))
        for qd in q.file.queries:
            f, t = found.by_query(qd.name), truth.by_query(qd.name)
            s = score(str(video), qd.name, f, t, len(probs))
            scores.append(s)
            if not f and not t:
                continue
            echo(f"  {qd.name:24s} found {_spans(f):34s} truth {_spans(t):34s} F1 {s.f1:.2f}")
        if report:
            gt = {qd.name: [(m.start, m.end) for m in truth.by_query(qd.name)] for qd in q.file.queries}
            sections.append(build_section(q, str(video), probs, found, ground_truth=gt))
    if report:
        Report("framelogic demo", tuple(sections)).write(out / "report.html")
        echo(f"\nreport: {out / 'report.html'}")
    return scores


def _spans(ms: Sequence[Match]) -> str:
    if not ms:
        return "-"
    text = ", ".join(f"{m.start_time:.1f}-{m.end_time:.1f}s" for m in ms[:3])
    return text + (f" (+{len(ms) - 3})" if len(ms) > 3 else "")


def summary(scores: Sequence[Score]) -> str:
    by_query: dict[str, list[Score]] = {}
    for s in scores:
        by_query.setdefault(s.query, []).append(s)
    lines = ["| query | frame F1 (mean over videos) | every true event overlapped (IoU >= 0.5) |", "|---|---|---|"]
    for qn, ss in by_query.items():
        lines.append(f"| {qn} | {np.mean([s.f1 for s in ss]):.3f} | {'yes' if all(s.overlapped for s in ss) else 'no'} |")
    return "\n".join(lines)


def main_demo(out: str, query_file: str | None, quick: bool) -> int:
    scenarios = SCENARIOS[:3] if quick else SCENARIOS
    scores = run_demo(out, query_file=query_file, scenarios=scenarios)
    print("\n" + summary(scores))
    sys.stdout.flush()
    return 0
