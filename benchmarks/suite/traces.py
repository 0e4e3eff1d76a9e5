"""Driving-like traces: persistent propositions, not coin flips.

Each proposition alternates between off and on runs whose lengths are
geometric with means of a few seconds (drawn per proposition), so a red light
stays red for seconds and a pedestrian stays on the crosswalk. Probability
traces put detector-like noise on top: Beta(6, 2) scores when the proposition
holds, Beta(2, 6) when it does not.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np


def _runs(n: int, on_frames: float, off_frames: float, rng: np.random.Generator) -> np.ndarray:
    state = bool(rng.random() < on_frames / (on_frames + off_frames))
    out = np.empty(n, dtype=np.float64)
    filled = 0
    while filled < n:
        m = int((n - filled) / ((on_frames + off_frames) / 2)) + 16  # runs expected to fill the rest
        means = np.where((np.arange(m) % 2 == 0) == state, on_frames, off_frames)
        lengths = rng.geometric(1.0 / np.maximum(means, 1.0))
        values = np.where((np.arange(m) % 2 == 0) == state, 1.0, 0.0)
        chunk = np.repeat(values, lengths)[: n - filled]
        out[filled : filled + len(chunk)] = chunk
        filled += len(chunk)
        state = not state if m % 2 else state  # the next chunk continues the alternation
    return out


def boolean_trace(names: Sequence[str], n: int, fps: float, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` frames at ``fps`` of 0/1 columns; each proposition on for 0.5-3 s at a time, off for 1-8 s."""
    out = {}
    for name in names:
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        on_s, off_s = rng.uniform(0.5, 3.0), rng.uniform(1.0, 8.0)
        out[name] = _runs(n, on_s * fps, off_s * fps, rng)
    return out


def probability_trace(truth: dict[str, np.ndarray], n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Detector-like probabilities for the first ``n`` frames of a boolean trace."""
    rng = np.random.default_rng([seed, 1])
    out = {}
    for name, col in truth.items():
        hit, miss = rng.beta(6.0, 2.0, n), rng.beta(2.0, 6.0, n)
        out[name] = np.where(col[:n] > 0.5, hit, miss)
    return out


def frames(table: dict[str, np.ndarray], n: int) -> list[dict[str, float]]:
    """The first ``n`` rows as the per-frame mappings a monitor reads."""
    names = list(table)
    cols = [table[k][:n].tolist() for k in names]
    return [dict(zip(names, row)) for row in zip(*cols)]
