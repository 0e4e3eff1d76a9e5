"""The methods compared, all on identical per-frame probabilities.

Each takes ``(template, probs)`` with ``probs`` a mapping p/q/r -> probabilities
and returns events as lists of frame indices.
"""

from __future__ import annotations

import numpy as np

from framelogic.automata import localize

from .data import TEMPLATES, runs_of


def framelogic_tlv(template: str, probs: dict[str, np.ndarray], threshold: float = 0.5) -> list[list[int]]:
    events = localize(TEMPLATES[template], probs, mode="tlv", threshold=threshold)
    return [list(range(e.start, e.end + 1)) for e in events]


def framelogic_runs(template: str, probs: dict[str, np.ndarray], threshold: float = 0.5) -> list[list[int]]:
    events = localize(TEMPLATES[template], probs, mode="runs", threshold=threshold)
    return [list(range(e.start, e.end + 1)) for e in events]


def framelogic_segments(template: str, probs: dict[str, np.ndarray], threshold: float = 0.5, longest: bool = False) -> list[list[int]]:
    mode = "longest" if longest else "shortest"
    events = localize(TEMPLATES[template], probs, mode=mode, threshold=threshold, max_length=400)
    return [list(range(e.start, e.end + 1)) for e in events]


def per_frame_threshold(template: str, probs: dict[str, np.ndarray], threshold: float = 0.5) -> list[list[int]]:
    """No temporal reasoning: each proposition thresholded on its own frame, then the
    template's frame rule (F p / G p: p frames; p & q: both; U: left or right side)."""
    d = {k: v >= threshold for k, v in probs.items()}
    if template in ("F p", "G p"):
        return runs_of(d["p"])
    if template == "p & q":
        return runs_of(d["p"] & d["q"])
    if template == "p U q":
        return runs_of(d["p"] | d["q"])
    return runs_of((d["p"] & d["q"]) | d["r"])


def logstop_scores(template: str, probs: dict[str, np.ndarray]) -> np.ndarray:
    """LogSTOP-style scores (Alur et al.): NOT = 1-p, AND = product, OR = p+q-pq,
    UNTIL recursively, every occurrence of a subformula treated as independent."""
    p, q, r = probs["p"], probs["q"], probs["r"]

    def until(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.empty_like(a)
        nxt = 0.0
        for i in range(len(a) - 1, -1, -1):
            nxt = b[i] + (1 - b[i]) * a[i] * nxt
            out[i] = nxt
        return out

    if template == "F p":
        return p  # TLV's F events are the p frames: the body's score
    if template == "G p":
        return p
    if template == "p & q":
        return p * q
    if template == "p U q":
        return until(p, q)
    return until(p * q, r)


def logstop(template: str, probs: dict[str, np.ndarray], threshold: float = 0.5) -> list[list[int]]:
    s = logstop_scores(template, probs)
    if template in ("F p", "p & q"):
        return [[int(i)] for i in np.flatnonzero(s >= threshold)]
    return runs_of(s >= threshold)


def nsvs_tl(template: str, probs: dict[str, np.ndarray], threshold: float = 0.6) -> list[list[int]]:
    from benchmarks.baselines import nsvs_tl as baseline

    names = ["p", "q", "r"]
    used = [n for n in names if f'"{n}"' in TEMPLATES[template]]
    arr = np.stack([probs[n] for n in used], axis=1)
    events = baseline.search(TEMPLATES[template].strip(), used, arr, threshold=threshold)
    return [list(range(s, e + 1)) for s, e in events]


METHODS = {
    "framelogic (tlv)": framelogic_tlv,
    "framelogic (runs)": framelogic_runs,
    "framelogic (shortest)": lambda t, p: framelogic_segments(t, p),
    "framelogic (longest)": lambda t, p: framelogic_segments(t, p, longest=True),
    "NSVS-TL P>=0.6": lambda t, p: nsvs_tl(t, p, 0.6),
    "NSVS-TL P>=0.8": lambda t, p: nsvs_tl(t, p, 0.8),
    "per-frame threshold": per_frame_threshold,
    "LogSTOP-style": logstop,
}
