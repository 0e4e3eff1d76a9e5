"""Frame-level precision/recall/F1 (as NSVS-TL reports) and event-level F1 at IoU >= 0.5."""

from __future__ import annotations

from collections.abc import Sequence


def frame_scores(pred: Sequence[Sequence[int]], truth: Sequence[Sequence[int]]) -> tuple[float, float, float]:
    """Precision, recall, F1 over the flattened frames of interest of one video."""
    p = {i for ev in pred for i in ev}
    t = {i for ev in truth for i in ev}
    if not p and not t:
        return 1.0, 1.0, 1.0
    tp = len(p & t)
    precision = tp / len(p) if p else 0.0
    recall = tp / len(t) if t else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def iou(a: Sequence[int], b: Sequence[int]) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


def event_f1(pred: Sequence[Sequence[int]], truth: Sequence[Sequence[int]], threshold: float = 0.5) -> float:
    """Greedy one-to-one matching of events with temporal IoU >= threshold."""
    if not pred and not truth:
        return 1.0
    used: set[int] = set()
    matched = 0
    for t in truth:
        best, best_j = 0.0, -1
        for j, p in enumerate(pred):
            if j not in used:
                v = iou(p, t)
                if v > best:
                    best, best_j = v, j
        if best >= threshold:
            used.add(best_j)
            matched += 1
    precision = matched / len(pred) if pred else 0.0
    recall = matched / len(truth) if truth else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0
