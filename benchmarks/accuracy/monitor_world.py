"""Monitors on long driving traces: false violations on clean traces, delay on violating ones.

The rule is ``G (ped -> F[0,2s] stopped)`` at 30 fps. A trace (:func:`driving_trace`)
has pedestrian encounters every 20-60 s, each lasting 3-8 s; on a clean trace the
ego car stops 0.3-1.5 s after the pedestrian appears and stays stopped until
the pedestrian has gone; a violating trace has one encounter, chosen at
random, where it does not stop (the violation is definite 2 s after that
pedestrian appears). Scores: a true frame scores ``sigmoid(2.5 + η)`` and a
false frame ``0.1 · sigmoid(η)`` — background probabilities up to 0.1 — with
``η`` AR(1) logit noise (σ = 1.5, ρ = 0.9), independently per proposition.

Monitors compared on identical scores:

* framelogic, independent world (``Monitor(rule)``: every frame an independent coin);
* framelogic, Markov world fitted with ``fit_world`` on a labelled training trace,
  ``violated`` only at confidence 1 - δ with δ = 0.01
  (``Monitor(rule, world=..., confidence=0.01)``), when this build has it;
* per-frame threshold at 0.5, then the monitor on 0/1 frames;
* a median filter over 15 frames, then the threshold, then the monitor on 0/1 frames.

False-violation rate: the share of clean traces on which the monitor ever
says VIOLATED. Detection: the share of violating traces on which its first
VIOLATED comes at or after the violation's first definite frame and at most
10 s later, and the mean delay from that frame over the detections (a VIOLATED
before the violation was definite counts as an early false alarm; one more
than 10 s after it as a miss: by then it is the background's doing).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from framelogic.logic.errors import InvalidValue

from .methods import median_filter
from .noise import ar1

RULE = "G (ped -> F[0,2s] stopped)"
FPS = 30.0
DELTA = 0.01
DETECT_WITHIN = 10.0  # seconds after the violation is definite; a later first VIOLATED is a miss


@dataclass(frozen=True)
class DrivingTrace:
    labels: dict[str, np.ndarray]
    scores: dict[str, np.ndarray]
    violation: int | None  # first frame at which the violation is definite; None on a clean trace
    onset: int | None  # first frame of the violating encounter


def driving_trace(minutes: float, rng: np.random.Generator, *, violating: bool = False, fps: float = FPS) -> DrivingTrace:
    """A labelled trace with its scores (module docstring)."""
    n = int(round(minutes * 60 * fps))
    if n < 20 * fps:
        raise InvalidValue(f"minutes={minutes!r} must give at least 20 s of frames")
    ped, stopped = np.zeros(n), np.zeros(n)
    encounters = []
    t = int(rng.uniform(5, 20) * fps)
    while t < n - 10 * fps:
        length = int(rng.uniform(3, 8) * fps)
        encounters.append((t, t + length))
        t += length + int(rng.uniform(20, 60) * fps)
    bad = int(rng.integers(len(encounters))) if violating and encounters else None
    window = int(round(2 * fps))
    for k, (s, e) in enumerate(encounters):
        ped[s:e] = 1
        if k != bad:
            stopped[s + int(rng.uniform(0.3, 1.5) * fps) : e + int(rng.uniform(0.5, 2) * fps)] = 1
    labels = {"ped": ped, "stopped": stopped}
    scores = {}
    for name, truth in labels.items():
        eta = ar1(n, 1.5, 0.9, rng)
        scores[name] = np.where(truth > 0, 1 / (1 + np.exp(-(2.5 + eta))), 0.1 / (1 + np.exp(-eta)))
    if bad is None:
        return DrivingTrace(labels, scores, None, None)
    s = encounters[bad][0]
    return DrivingTrace(labels, scores, s + window, s)


def monitor_has_world() -> bool:
    from framelogic.automata import Monitor

    params = inspect.signature(Monitor.__init__).parameters
    return "world" in params and "confidence" in params


def _first_violation(make: Callable[[], object], frames: Iterator[Mapping[str, float]]) -> int | None:
    from framelogic.automata import Verdict

    m = make()
    for i, frame in enumerate(frames):
        if m.step(frame).verdict is Verdict.VIOLATED:  # type: ignore[attr-defined]
            return i
    return None


def _frames(scores: Mapping[str, np.ndarray]) -> Iterator[dict[str, float]]:
    names = list(scores)
    cols = [np.asarray(scores[k], dtype=float).tolist() for k in names]
    for row in zip(*cols):
        yield dict(zip(names, row))


def monitors(train: list[DrivingTrace]) -> dict[str, tuple[Callable[[], object], Callable[[Mapping[str, np.ndarray]], Mapping[str, np.ndarray]]] | None]:
    """name -> (monitor factory, transform of the scores), or None when not in this build."""
    from framelogic.automata import Monitor

    from .worlds import world_api

    ident = lambda s: s  # noqa: E731
    binar = lambda s: {k: (np.asarray(v) >= 0.5).astype(float) for k, v in s.items()}  # noqa: E731
    median = lambda s: binar({k: median_filter(v, 15) for k, v in s.items()})  # noqa: E731
    out: dict = {"framelogic, independent world": (lambda: Monitor(RULE, fps=FPS), ident)}
    api = world_api()
    if api is not None and monitor_has_world():
        world = api["fit_world"]([t.scores for t in train], [t.labels for t in train])  # type: ignore[operator]
        out[f"framelogic, Markov world (fitted), δ={DELTA:g}"] = (
            lambda: Monitor(RULE, fps=FPS, world=world, confidence=DELTA), ident)  # fmt: skip
    else:
        out[f"framelogic, Markov world (fitted), δ={DELTA:g}"] = None
    out["per-frame threshold, then monitor"] = (lambda: Monitor(RULE, fps=FPS), binar)
    out["median filter (15 frames), threshold, then monitor"] = (lambda: Monitor(RULE, fps=FPS), median)
    return out


@dataclass(frozen=True)
class MonitorRow:
    method: str
    false_violations: int
    clean: int
    detected: int
    violating: int
    early: int  # violating traces with a VIOLATED before the violation was definite
    mean_delay_s: float
    seconds: float


def evaluate_monitors(*, minutes: float, clean: int, violating: int, seed: int = 0,
                      log: Callable[[str], None] | None = None) -> list[MonitorRow | tuple[str, None]]:  # fmt: skip
    rng = np.random.default_rng([seed, 4242])
    train = [driving_trace(minutes, np.random.default_rng([seed, 1, k]), violating=k % 2 == 1) for k in range(2)]
    clean_t = [driving_trace(minutes, rng) for _ in range(clean)]
    bad_t = [driving_trace(minutes, rng, violating=True) for _ in range(violating)]
    rows: list = []
    for name, spec in monitors(train).items():
        if spec is None:
            rows.append((name, None))
            continue
        make, transform = spec
        t0 = time.perf_counter()
        false = sum(_first_violation(make, _frames(transform(t.scores))) is not None for t in clean_t)
        delays, early = [], 0
        for t in bad_t:
            first = _first_violation(make, _frames(transform(t.scores)))
            if first is None:
                continue
            if first < t.violation:  # type: ignore[operator]
                early += 1  # VIOLATED before the violation was definite: a false alarm, not a detection
                continue
            delay = (first - t.violation) / FPS  # type: ignore[operator]
            if delay <= DETECT_WITHIN:
                delays.append(delay)
        rows.append(MonitorRow(name, false, len(clean_t), len(delays), len(bad_t), early,
                               float(np.mean(delays)) if delays else float("nan"), time.perf_counter() - t0))  # fmt: skip
        if log:
            log(f"monitor {name}: {time.perf_counter() - t0:.1f} s")
    return rows


def run_monitor(*, minutes: float, clean: int, violating: int, seed: int = 0, log: Callable[[str], None] | None = None) -> str:
    """The monitor table as markdown."""
    rows = evaluate_monitors(minutes=minutes, clean=clean, violating=violating, seed=seed, log=log)
    lines = ["| monitor | false-violation rate (clean traces) | violations detected | early false alarms (violating traces) "
             "| mean detection delay (s) | seconds |", "|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        if isinstance(r, tuple):
            lines.append(f"| {r[0]} | pending | pending | pending | pending | - |")
            continue
        delay = "-" if r.mean_delay_s != r.mean_delay_s else f"{r.mean_delay_s:.2f}"
        lines.append(f"| {r.method} | {r.false_violations}/{r.clean} = {r.false_violations / r.clean:.0%} | "
                     f"{r.detected}/{r.violating} | {r.early}/{r.violating} | {delay} | {r.seconds:.1f} |")  # fmt: skip
    return "\n".join(lines)


def describe_monitor() -> str:
    return (f"Rule `{RULE}` at {FPS:g} fps. Pedestrian encounters every 20-60 s lasting 3-8 s; on clean traces "
            "the ego car stops 0.3-1.5 s after the pedestrian appears; violating traces miss one stop. True frames "
            "score sigmoid(2.5 + η), false frames 0.1·sigmoid(η) (background probabilities up to 0.1), η AR(1) "
            "logit noise σ=1.5, ρ=0.9. The Markov world is fitted on two labelled training traces.")  # fmt: skip
