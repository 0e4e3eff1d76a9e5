"""Frame-level precision/recall/F1 (as NSVS-TL reports) and event-level F1 at IoU >= 0.5.

Events are lists of frame indices (TLV's ``frames_of_interest`` form), so an
event need not be contiguous; temporal IoU is taken over the frame sets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from framelogic.logic.errors import check_probability


def frame_scores(pred: Sequence[Sequence[int]], truth: Sequence[Sequence[int]]) -> tuple[float, float, float]:
    """Precision, recall, F1 over the flattened frames of interest of one video.

    A video with no frames of interest and none predicted scores 1 on all three
    (nothing to find, nothing found); NSVS-TL's per-video averages need a value there.
    """
    p = {i for ev in pred for i in ev}
    t = {i for ev in truth for i in ev}
    if not p and not t:
        return 1.0, 1.0, 1.0
    tp = len(p & t)
    precision = tp / len(p) if p else 0.0
    recall = tp / len(t) if t else 0.0
    return precision, recall, _f1(precision, recall)


def iou(a: Sequence[int], b: Sequence[int]) -> float:
    """Temporal intersection over union of two events (frame sets)."""
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


def event_f1(pred: Sequence[Sequence[int]], truth: Sequence[Sequence[int]], threshold: float = 0.5) -> float:
    """F1 of events matched one-to-one at IoU >= ``threshold``.

    Each true event, in order, takes the unmatched predicted event of highest IoU
    among those sharing a frame with it (only those can reach a positive IoU, which
    keeps 10-minute videos with thousands of events linear). For ``threshold`` > 0.5
    the matching is unique; at exactly 0.5 a tie is broken by order.
    """
    check_probability("threshold", threshold)
    if not pred and not truth:
        return 1.0
    by_frame: dict[int, list[int]] = defaultdict(list)
    for j, ev in enumerate(pred):
        for i in set(ev):
            by_frame[i].append(j)
    pred_sets = [set(ev) for ev in pred]
    used: set[int] = set()
    matched = 0
    for ev in truth:
        t = set(ev)
        best, best_j = 0.0, -1
        for j in sorted({j for i in t for j in by_frame.get(i, ())} - used):
            v = len(pred_sets[j] & t) / len(pred_sets[j] | t)
            if v > best:
                best, best_j = v, j
        if best_j >= 0 and best >= threshold:
            used.add(best_j)
            matched += 1
    precision = matched / len(pred) if pred else 0.0
    recall = matched / len(truth) if truth else 0.0
    return _f1(precision, recall)


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0
