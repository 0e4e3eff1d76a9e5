"""TLV-form data: templates, ground-truth rules, generators and the noise model.

Templates (proposition names p, q, r) and the TLV rules for frames of interest:

* ``F p``         — every frame where p holds is its own event;
* ``G p``         — every maximal run of p;
* ``p & q``       — every frame where both hold, its own event;
* ``p U q``       — for each q frame, from the first p of the run of p just
  before it (if any) to that q frame;
* ``(p & q) U r`` — the same with p & q for p and r for q.

Noise model (probabilities from ground truth), with a noise ``level`` in [0, 1]:
a true frame scores ``Beta(8 (1 - level) + 1, 8 level + 1)`` and a false frame
the mirror image ``Beta(8 level + 1, 8 (1 - level) + 1)``; with probability
``flicker`` a frame is scored as if its truth were flipped; a correlated
dropout (probability ``dropout`` per run of true frames) halves a whole run's
scores. Level 0 with no flicker and no dropout gives scores exactly 1 and 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TEMPLATES = {
    "F p": 'F "p"',
    "G p": 'G "p"',
    "p & q": ' "p" & "q"',
    "p U q": '"p" U "q"',
    "(p & q) U r": '("p" & "q") U "r"',
}


@dataclass(frozen=True)
class Video:
    template: str
    labels: dict[str, np.ndarray]  # proposition -> 0/1 per frame
    frames_of_interest: list[list[int]]  # TLV's ground truth: lists of frame indices


def runs_of(mask: np.ndarray) -> list[list[int]]:
    out: list[list[int]] = []
    for i in np.flatnonzero(mask):
        if out and out[-1][-1] == i - 1:
            out[-1].append(int(i))
        else:
            out.append([int(i)])
    return out


def until_rule(p: np.ndarray, q: np.ndarray) -> list[list[int]]:
    spans: list[tuple[int, int]] = []
    for j in np.flatnonzero(q):
        s = int(j)
        while s > 0 and p[s - 1]:
            s -= 1
        spans.append((s, int(j)))
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][-1] + 1:
            merged[-1] = list(range(merged[-1][0], max(merged[-1][-1], e) + 1))
        else:
            merged.append(list(range(s, e + 1)))
    return merged


def ground_truth(template: str, labels: dict[str, np.ndarray]) -> list[list[int]]:
    p = labels["p"].astype(bool)
    if template == "F p":
        return [[int(i)] for i in np.flatnonzero(p)]
    if template == "G p":
        return runs_of(p)
    if template == "p & q":
        return [[int(i)] for i in np.flatnonzero(p & labels["q"].astype(bool))]
    if template == "p U q":
        return until_rule(p, labels["q"].astype(bool))
    if template == "(p & q) U r":
        return until_rule(p & labels["q"].astype(bool), labels["r"].astype(bool))
    raise KeyError(template)


def generate(template: str, n: int, rng: np.random.Generator) -> Video:
    """A video in the manner of the TLV generator: sparse events of the template."""
    names = ["p", "q", "r"]
    lab = {k: np.zeros(n) for k in names}
    if template == "F p":
        lab["p"][rng.choice(n, size=max(1, n // 5), replace=False)] = 1
    elif template == "G p":
        for _ in range(max(1, n // 10)):
            s = int(rng.integers(0, n))
            lab["p"][s : s + int(rng.integers(2, 8))] = 1
    elif template == "p & q":
        both = rng.choice(n, size=max(1, n // 5), replace=False)
        lab["p"][both] = 1
        lab["q"][both] = 1
        lab["p"][rng.choice(n, size=n // 10, replace=False)] = 1  # distractors: one without the other
        lab["q"][rng.choice(n, size=n // 10, replace=False)] = 1
    else:
        left = ["p"] if template == "p U q" else ["p", "q"]
        right = "q" if template == "p U q" else "r"
        t = 0
        while t < n - 4:
            t += int(rng.integers(1, 6))
            run = int(rng.integers(1, 6))
            for name in left:
                lab[name][t : t + run] = 1
            if t + run < n:
                lab[right][t + run] = 1
            t += run + 1
    return Video(template, lab, ground_truth(template, lab))


def noisy(labels: dict[str, np.ndarray], level: float, rng: np.random.Generator, *, flicker: float = 0.0,
          dropout: float = 0.0) -> dict[str, np.ndarray]:  # fmt: skip
    """Per-frame probabilities drawn around the truth (see the module docstring)."""
    out = {}
    for name, truth in labels.items():
        t = truth.astype(bool).copy()
        if flicker:
            t ^= rng.random(len(t)) < flicker
        if level == 0:
            s = t.astype(float)
        else:
            hi = rng.beta(8 * (1 - level) + 1, 8 * level + 1, len(t))
            lo = rng.beta(8 * level + 1, 8 * (1 - level) + 1, len(t))
            s = np.where(t, hi, lo)
        if dropout:
            for run in runs_of(truth.astype(bool)):
                if rng.random() < dropout:
                    s[run] *= 0.5
        out[name] = np.clip(s, 0.0, 1.0)
    return out
