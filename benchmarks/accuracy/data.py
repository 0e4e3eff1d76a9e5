"""TLV-form data: templates, ground-truth rules, generators and the noise model.

Templates (proposition names p, q, r) as the TLV dataset writes them, and the
TLV rules for the frames of interest (REFERENCES.md, "TLV dataset"):

* ``F p``         — every frame where p holds is its own event;
* ``G p``         — every maximal run of p;
* ``p & q``       — every frame where both hold, its own event;
* ``p U q``       — for each q frame, from the first p of the run of p just
  before it (the q frame alone when no p precedes it) to that q frame;
  spans that touch or overlap merge (TLV merges consecutive frames);
* ``(p & q) U r`` — the same with ``p & q`` for p and r for q.

Noise model (:class:`Noise`): per-frame probabilities drawn from the truth.
With mean error ``error`` (ε) and concentration ``concentration`` (κ), a true
frame scores ``Beta(κ(1-ε), κε)`` (mean 1-ε) and a false frame
``Beta(κε, κ(1-ε))`` (mean ε); ``flicker`` is the chance that a frame is
scored as if its truth were flipped (isolated false detections and misses);
``dropout`` is the chance per frame that a detector outage starts, lasting a
geometric number of frames with mean ``dropout_frames``, during which the
proposition's true frames score as false ones (occlusion: misses correlated in
time). Propositions are noised independently. ε = 0 with no flicker and no
dropout gives the labels exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from framelogic.logic.errors import InvalidValue, check_probability

# The TLV dataset's query strings (the & template keeps TLV's leading space).
TEMPLATES: dict[str, str] = {
    "F p": 'F "p"',
    "G p": 'G "p"',
    "p & q": ' "p" & "q"',
    "p U q": '"p" U "q"',
    "(p & q) U r": '("p" & "q") U "r"',
}
PROPS: dict[str, tuple[str, ...]] = {
    "F p": ("p",), "G p": ("p",), "p & q": ("p", "q"), "p U q": ("p", "q"), "(p & q) U r": ("p", "q", "r"),
}  # fmt: skip


@dataclass(frozen=True)
class Video:
    """A synthetic TLV-form video: labels and the template's frames of interest."""

    template: str
    labels: dict[str, np.ndarray]  # proposition -> 0/1 per frame
    frames_of_interest: list[list[int]]  # TLV's ground truth: lists of frame indices

    @property
    def n_frames(self) -> int:
        return len(next(iter(self.labels.values())))


def runs_of(mask: np.ndarray) -> list[list[int]]:
    """Maximal runs of true frames, as lists of frame indices."""
    hit = np.asarray(mask, dtype=bool)
    edges = np.diff(np.concatenate([[0], hit.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [list(range(int(s), int(e))) for s, e in zip(starts, ends)]


def until_rule(p: np.ndarray, q: np.ndarray) -> list[list[int]]:
    """TLV's until rule: each q frame with the run of p just before it; spans merged."""
    p, q = np.asarray(p, dtype=bool), np.asarray(q, dtype=bool)
    spans: list[tuple[int, int]] = []
    for j in np.flatnonzero(q):
        s = int(j)
        while s > 0 and p[s - 1]:
            s -= 1
        spans.append((s, int(j)))
    merged: list[list[int]] = []
    for s, e in spans:  # already sorted by end, and starts are non-decreasing with ends
        if merged and s <= merged[-1][-1] + 1:
            merged[-1].extend(range(merged[-1][-1] + 1, e + 1))
        else:
            merged.append(list(range(s, e + 1)))
    return merged


def ground_truth(template: str, labels: Mapping[str, np.ndarray]) -> list[list[int]]:
    """The frames of interest of ``template`` on 0/1 ``labels`` (the module's rules)."""
    check_template(template)
    b = {k: np.asarray(v, dtype=bool) for k, v in labels.items()}
    if template == "F p":
        return [[int(i)] for i in np.flatnonzero(b["p"])]
    if template == "G p":
        return runs_of(b["p"])
    if template == "p & q":
        return [[int(i)] for i in np.flatnonzero(b["p"] & b["q"])]
    if template == "p U q":
        return until_rule(b["p"], b["q"])
    return until_rule(b["p"] & b["q"], b["r"])


def check_template(template: str) -> str:
    if template not in TEMPLATES:
        raise InvalidValue(f"template={template!r} must be one of {', '.join(map(repr, TEMPLATES))}")
    return template


def generate(template: str, n: int, rng: np.random.Generator) -> Video:
    """A video in the manner of the TLV generator: sparse events of ``template``, plus
    distractors that a method without temporal reasoning mistakes for events."""
    check_template(template)
    if not isinstance(n, int) or n < 5:
        raise InvalidValue(f"n={n!r} must be a whole number of frames >= 5")
    lab = {k: np.zeros(n) for k in PROPS[template]}
    if template == "F p":  # TLV: floor(N/5) random frames carry p
        lab["p"][rng.choice(n, size=n // 5, replace=False)] = 1
    elif template == "G p":  # TLV: floor(N/10) runs of p
        for _ in range(max(1, n // 10)):
            s = int(rng.integers(0, n))
            lab["p"][s : s + int(rng.integers(2, 8))] = 1
    elif template == "p & q":
        both = rng.choice(n, size=n // 5, replace=False)
        lab["p"][both] = 1
        lab["q"][both] = 1
        # one without the other: not an event
        lab["p"][rng.choice(n, size=n // 10, replace=False)] = 1
        lab["q"][rng.choice(n, size=n // 10, replace=False)] = 1
    else:
        left = ["p"] if template == "p U q" else ["p", "q"]
        right = "q" if template == "p U q" else "r"
        t = int(rng.integers(0, 6))
        while t < n - 1:
            run = int(rng.integers(1, 8))
            kind = rng.random()
            if kind < 0.7:  # an event: a run of the left side, then the right side
                for name in left:
                    lab[name][t : t + run] = 1
                if t + run < n:
                    lab[right][t + run] = 1
            elif kind < 0.85:  # distractor: no q after p (p U q); p without q before r ((p & q) U r)
                for name in left:
                    lab[name][t : t + run] = 1
                if template != "p U q" and t + run < n:  # (p & q) U r: p alone, then r
                    lab["q"][t : t + run] = 0
                    lab["r"][t + run] = 1
            else:  # the right side alone is an event of one frame
                lab[right][t] = 1
                run = 0
            t += run + 1 + int(rng.integers(1, 6))  # a gap of at least one quiet frame
    return Video(template, lab, ground_truth(template, lab))


@dataclass(frozen=True)
class Noise:
    """A noise level of the model in the module docstring."""

    name: str
    error: float = 0.0  # ε: mean score of a false frame, 1 - mean score of a true one
    concentration: float = 6.0  # κ: larger is tighter around the mean
    flicker: float = 0.0  # chance a frame is scored as if its truth were flipped
    dropout: float = 0.0  # chance per frame that an outage (true frames score false) starts
    dropout_frames: float = 5.0  # mean outage length in frames

    def __post_init__(self) -> None:
        check_probability("error", self.error)
        check_probability("flicker", self.flicker)
        check_probability("dropout", self.dropout)
        if self.error >= 0.5:
            raise InvalidValue(f"error={self.error!r} must be < 0.5, else scores carry no information")
        if self.concentration <= 0 or self.dropout_frames < 1:
            raise InvalidValue(
                f"concentration={self.concentration!r} must be > 0 and dropout_frames={self.dropout_frames!r} >= 1"
            )

    def apply(self, labels: Mapping[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Per-frame probabilities for each proposition's 0/1 ``labels``."""
        out = {}
        for name, truth in labels.items():
            t = np.asarray(truth, dtype=bool)
            seen = t.copy()
            if self.flicker:
                seen ^= rng.random(len(t)) < self.flicker
            if self.dropout:
                seen &= ~_outages(len(t), self.dropout, self.dropout_frames, rng)
            if self.error == 0:
                s = seen.astype(float)
            else:
                a, b = self.concentration * (1 - self.error), self.concentration * self.error
                s = np.where(seen, rng.beta(a, b, len(t)), rng.beta(b, a, len(t)))
            out[name] = np.clip(s, 0.0, 1.0)
        return out


def _outages(n: int, rate: float, mean_len: float, rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    for s in np.flatnonzero(rng.random(n) < rate):
        mask[s : s + int(rng.geometric(1.0 / mean_len))] = True
    return mask


NOISE_LEVELS: tuple[Noise, ...] = (
    Noise("none"),
    Noise("low", error=0.1, concentration=6.0),
    Noise("medium", error=0.2, concentration=5.0, flicker=0.02, dropout=0.01, dropout_frames=5),
    Noise("high", error=0.3, concentration=4.0, flicker=0.05, dropout=0.02, dropout_frames=8),
)
