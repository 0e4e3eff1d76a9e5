"""Persistent ground truth and temporally correlated perception noise.

The TLV-form generator (:mod:`.data`) draws sparse events and scores every frame
independently. Real perception is neither: the world is persistent (a light
stays red for seconds) and a detector's errors come in bursts. This module
generates both, from seeds, generically (nothing here knows the templates):

Truth (:func:`persistent_truth`): each proposition independently alternates
off/on runs whose lengths come from a distribution —

* ``geometric`` — memoryless runs (the shape a two-state Markov chain assumes),
  means ``off_mean`` / ``on_mean`` frames;
* ``heavy`` — heavy-tailed runs: a Lomax (Pareto II) length with tail index
  ``alpha`` and the same means, rounded up to at least one frame (many short
  runs and a few very long ones: the shape a Markov chain does *not* assume).

Scores (:class:`ScoreNoise`), in logit space, for one proposition's 0/1 truth
``t``: ``logit s_i = μ (2 t_i - 1) + η_i`` where

* ``η`` is AR(1): ``η_i = ρ η_{i-1} + σ sqrt(1 - ρ²) ε_i`` (stationary standard
  deviation σ, lag-one correlation ρ; ρ = 0 is independent noise);
* bursts of missed detections: a burst starts with probability ``burst_rate``
  per frame and lasts a geometric number of frames with mean ``burst_frames``;
  inside it the true frames score as false ones (sign flipped: occlusion);
* miscalibration, a monotone distortion of the final score:
  ``logit s ↦ gain · logit s + bias`` (gain < 1 under-confident, > 1
  over-confident, bias shifts every score up or down). Ranking is unchanged
  (AUROC is that of the undistorted scores), only the probabilities lie.

A :class:`NoiseModel` pairs a truth kind with a score noise at a few levels
(:data:`NOISE_MODELS`); every level is a seed-reproducible generator of
``(labels, scores)`` videos.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from framelogic.logic.errors import InvalidValue, check_probability

TRUTHS = ("geometric", "heavy")


@dataclass(frozen=True)
class Truth:
    """Alternating off/on runs per proposition (module docstring)."""

    kind: str = "geometric"
    on_mean: float = 12.0  # mean length of a run of true frames
    off_mean: float = 24.0  # mean length of a run of false frames
    alpha: float = 1.6  # tail index of the heavy-tailed lengths (> 1 for a finite mean)

    def __post_init__(self) -> None:
        if self.kind not in TRUTHS:
            raise InvalidValue(f"kind={self.kind!r} must be one of {', '.join(TRUTHS)}")
        if not (self.on_mean >= 1 and self.off_mean >= 1):
            raise InvalidValue(f"on_mean={self.on_mean!r} and off_mean={self.off_mean!r} must be >= 1 frame")
        if not self.alpha > 1:
            raise InvalidValue(f"alpha={self.alpha!r} must be > 1 (else the mean run length is infinite)")

    def run_lengths(self, mean: float, size: int, rng: np.random.Generator) -> np.ndarray:
        if self.kind == "geometric":
            return rng.geometric(1.0 / mean, size)
        # Lomax with tail index a and scale m (a - 1) has mean m; ceil keeps >= 1 frame
        scale = (mean - 0.5) * (self.alpha - 1)
        return np.maximum(1, np.ceil(scale * rng.pareto(self.alpha, size))).astype(int)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """One proposition's 0/1 truth over ``n`` frames, starting at a random phase."""
        out = np.zeros(n)
        on = bool(rng.random() < self.on_mean / (self.on_mean + self.off_mean))
        i = 0
        while i < n:
            chunk = self.run_lengths(self.on_mean if on else self.off_mean, 1, rng)[0]
            if i == 0:  # start inside a run, not at its beginning
                chunk = int(rng.integers(1, chunk + 1))
            if on:
                out[i : i + chunk] = 1
            i += int(chunk)
            on = not on
        return out


def persistent_truth(names: Sequence[str], n: int, truth: Truth, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Independent persistent 0/1 truth for each of ``names`` over ``n`` frames."""
    if not isinstance(n, int) or n < 1:
        raise InvalidValue(f"n={n!r} must be a whole number of frames >= 1")
    return {name: truth.sample(n, rng) for name in names}


@dataclass(frozen=True)
class ScoreNoise:
    """Logit-space score noise (module docstring). The default is noise-free."""

    margin: float = 0.0  # μ; 0 means exact 0/1 scores (no noise at all)
    sigma: float = 0.0  # σ: stationary standard deviation of the logit noise
    rho: float = 0.0  # ρ: lag-one autocorrelation of the logit noise
    burst_rate: float = 0.0  # chance per frame that a burst of missed detections starts
    burst_frames: float = 1.0  # mean burst length in frames
    gain: float = 1.0  # miscalibration: logit s -> gain * logit s + bias
    bias: float = 0.0

    def __post_init__(self) -> None:
        check_probability("rho", self.rho)
        check_probability("burst_rate", self.burst_rate)
        if self.margin < 0 or self.sigma < 0 or self.gain <= 0 or self.burst_frames < 1:
            raise InvalidValue(
                f"margin={self.margin!r} and sigma={self.sigma!r} must be >= 0, gain={self.gain!r} > 0, "
                f"burst_frames={self.burst_frames!r} >= 1"
            )

    @property
    def exact(self) -> bool:
        return self.margin == 0

    def apply(self, truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Scores in [0, 1] for one proposition's 0/1 ``truth``."""
        t = np.asarray(truth, dtype=bool)
        if self.exact:
            return t.astype(float)
        seen = t.copy()
        if self.burst_rate:
            seen &= ~bursts(len(t), self.burst_rate, self.burst_frames, rng)
        logit = self.margin * np.where(seen, 1.0, -1.0) + ar1(len(t), self.sigma, self.rho, rng)
        logit = self.gain * logit + self.bias
        return 1.0 / (1.0 + np.exp(-logit))


def ar1(n: int, sigma: float, rho: float, rng: np.random.Generator) -> np.ndarray:
    """A stationary AR(1) series: standard deviation ``sigma``, lag-one correlation ``rho``."""
    eps = rng.standard_normal(n) * sigma
    if rho == 0 or n == 0:
        return eps
    out = np.empty(n)
    out[0] = eps[0]
    scale = np.sqrt(1.0 - rho * rho)
    for i in range(1, n):
        out[i] = rho * out[i - 1] + scale * eps[i]
    return out


def bursts(n: int, rate: float, mean_len: float, rng: np.random.Generator) -> np.ndarray:
    """Frames inside a burst: starts at ``rate`` per frame, geometric lengths of mean ``mean_len``."""
    mask = np.zeros(n, dtype=bool)
    for s in np.flatnonzero(rng.random(n) < rate):
        mask[s : s + int(rng.geometric(1.0 / mean_len))] = True
    return mask


@dataclass(frozen=True)
class NoiseModel:
    """A truth kind and a score noise at named levels."""

    name: str
    truth: Truth
    levels: Mapping[str, ScoreNoise]
    description: str = ""

    def video(self, names: Sequence[str], n: int, level: str, rng: np.random.Generator
              ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:  # fmt: skip
        """``(labels, scores)`` of one video: persistent truth, then the level's noise."""
        try:
            noise = self.levels[level]
        except KeyError:
            raise InvalidValue(f"level={level!r} must be one of {', '.join(self.levels)}") from None
        labels = persistent_truth(names, n, self.truth, rng)
        return labels, {k: noise.apply(v, rng) for k, v in labels.items()}


LEVELS = ("low", "medium", "high")

#: The noise models of the world benchmark; "none" (exact scores) is run once per template.
NOISE_MODELS: tuple[NoiseModel, ...] = (
    NoiseModel("ar1-geometric", Truth("geometric"), {
        "low": ScoreNoise(margin=2.5, sigma=1.5, rho=0.8),
        "medium": ScoreNoise(margin=2.0, sigma=2.0, rho=0.9),
        "high": ScoreNoise(margin=1.5, sigma=2.5, rho=0.95),
    }, "geometric runs; AR(1) logit noise"),
    NoiseModel("ar1-heavy", Truth("heavy"), {
        "low": ScoreNoise(margin=2.5, sigma=1.5, rho=0.8),
        "medium": ScoreNoise(margin=2.0, sigma=2.0, rho=0.9),
        "high": ScoreNoise(margin=1.5, sigma=2.5, rho=0.95),
    }, "heavy-tailed (Lomax) runs; AR(1) logit noise"),
    NoiseModel("bursts", Truth("geometric"), {
        "low": ScoreNoise(margin=2.5, sigma=1.5, burst_rate=0.01, burst_frames=5),
        "medium": ScoreNoise(margin=2.0, sigma=2.0, rho=0.5, burst_rate=0.02, burst_frames=10),
        "high": ScoreNoise(margin=1.5, sigma=2.5, rho=0.5, burst_rate=0.04, burst_frames=15),
    }, "geometric runs; missed-detection bursts on top of logit noise"),
    NoiseModel("miscalibrated", Truth("geometric"), {
        "low": ScoreNoise(margin=2.5, sigma=1.5, rho=0.5, gain=0.6, bias=0.8),
        "medium": ScoreNoise(margin=2.0, sigma=2.0, rho=0.8, gain=2.0, bias=-1.5),
        "high": ScoreNoise(margin=1.5, sigma=2.5, rho=0.9, gain=0.4, bias=1.2),
    }, "geometric runs; correlated logit noise, then logit s -> gain·logit s + bias"),
)

EXACT = NoiseModel("none", Truth("geometric"), {"none": ScoreNoise()}, "geometric runs; exact scores")


def noise_model(name: str) -> NoiseModel:
    for m in (*NOISE_MODELS, EXACT):
        if m.name == name:
            return m
    raise InvalidValue(f"noise model {name!r} is unknown; choose from {', '.join(m.name for m in (*NOISE_MODELS, EXACT))}")


def describe(noise: ScoreNoise) -> str:
    if noise.exact:
        return "exact 0/1 scores"
    parts = [f"μ={noise.margin:g}, σ={noise.sigma:g}"]
    if noise.rho:
        parts.append(f"ρ={noise.rho:g}")
    if noise.burst_rate:
        parts.append(f"bursts {noise.burst_rate:g}/frame × {noise.burst_frames:g} frames")
    if noise.gain != 1 or noise.bias:
        parts.append(f"miscalibrated ×{noise.gain:g} {noise.bias:+g}")
    return ", ".join(parts)
