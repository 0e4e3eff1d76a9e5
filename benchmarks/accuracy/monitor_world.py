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


def first_violation(make: Callable[[], object], scores: Mapping[str, np.ndarray]) -> int | None:
    """The first frame at which the monitor ``make()`` says VIOLATED on ``scores``
    (None: never): by :func:`offline_status` (exactly the monitor's verdicts, see
    :func:`check_offline`) where it applies, else frame by frame."""
    m = make()
    if offline_applies(m, scores):
        hit = np.flatnonzero(offline_status(m, scores).violated)
        return int(hit[0]) if len(hit) else None
    return _first_violation(lambda: m, _frames(scores))


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
        false = sum(first_violation(make, transform(t.scores)) is not None for t in clean_t)
        delays, early = [], 0
        for t in bad_t:
            first = first_violation(make, transform(t.scores))
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


# ------------------------------------------------------------------ the monitor, offline
#
# Monitor.step under a Markov world is one numpy update per frame (about 100 µs);
# 10-minute traces by the hundred would take hours. The verdicts after each frame
# are a pure function of the scores, so the harness recomputes them in one
# compiled pass per part, from the monitor's own parts (automata, chains, the
# world's calibration and transition matrices) and its combination plan — the same
# arithmetic as WorldFilter.step / Automaton.push, in another summation order.
# check_offline compares the two frame by frame; the run reports that check.


@dataclass(frozen=True)
class OfflineStatus:
    """Per frame: P(prefix ⊨ φ), P(certainly satisfied), P(certainly violated) given the
    frames so far, as the monitor's :class:`Status` has them, and its confidence."""

    probability: np.ndarray
    p_satisfied: np.ndarray
    p_violated: np.ndarray
    sure: float  # 1 - δ

    @property
    def violated(self) -> np.ndarray:
        """Frames whose verdict is VIOLATED (SATISFIED wins a tie, as in the monitor)."""
        return (self.p_satisfied < self.sure) & (self.p_violated >= self.sure)


def _markov_filter(delta, lett, T, ev, q0, init, acc, sat, dead, out):  # type: ignore[no-untyped-def]
    """WorldFilter.step over every frame: predict with ``T`` (not before frame 0), weigh
    by the evidence ``ev[i, s]``, move the automaton on the chain state's letter,
    normalise; ``out[i]`` = the masses of the accepting, satisfied and dead states.
    Returns -1, or the first frame whose observations are impossible."""
    nq = delta.shape[0]
    m = T.shape[0]
    J = np.zeros((nq, m))
    F = np.zeros((nq, m))
    G = np.zeros((nq, m))
    for s in range(m):
        J[q0, s] = init[s]
    for i in range(ev.shape[0]):
        for q in range(nq):
            for t in range(m):
                if i == 0:
                    F[q, t] = J[q, t]
                else:
                    v = 0.0
                    for s in range(m):
                        v += J[q, s] * T[s, t]
                    F[q, t] = v
        for q in range(nq):
            for s in range(m):
                G[q, s] = 0.0
        for q in range(nq):
            for s in range(m):
                G[delta[q, lett[s]], s] += F[q, s] * ev[i, s]
        total = 0.0
        for q in range(nq):
            for s in range(m):
                total += G[q, s]
        if not total > 0.0:
            return i
        p = ps = pv = 0.0
        for q in range(nq):
            mass = 0.0
            for s in range(m):
                J[q, s] = G[q, s] / total
                mass += J[q, s]
            if acc[q]:
                p += mass
            if sat[q]:
                ps += mass
            if dead[q]:
                pv += mass
        out[i, 0] = p
        out[i, 1] = ps
        out[i, 2] = pv
    return -1


def _independent_push(delta, probs, q0, acc, sat, dead, out):  # type: ignore[no-untyped-def]
    """Automaton.push over every frame (each proposition an independent coin with
    probability ``probs[i, j]``); ``out`` as in :func:`_markov_filter`."""
    nq, nl = delta.shape
    k = probs.shape[1]
    d = np.zeros(nq)
    d2 = np.zeros(nq)
    lp = np.zeros(nl)
    d[q0] = 1.0
    for i in range(probs.shape[0]):
        for letter in range(nl):
            v = 1.0
            for j in range(k):
                x = probs[i, j]
                v *= x if (letter >> j) & 1 else 1.0 - x
            lp[letter] = v
        for q in range(nq):
            d2[q] = 0.0
        for q in range(nq):
            if d[q] != 0.0:
                for letter in range(nl):
                    d2[delta[q, letter]] += d[q] * lp[letter]
        p = ps = pv = 0.0
        for q in range(nq):
            d[q] = d2[q]
            if acc[q]:
                p += d[q]
            if sat[q]:
                ps += d[q]
            if dead[q]:
                pv += d[q]
        out[i, 0] = p
        out[i, 1] = ps
        out[i, 2] = pv
    return -1


def _kernel(fn):  # type: ignore[no-untyped-def]
    from framelogic.automata import kernels as K

    return K.compiled(fn)


def offline_applies(monitor: object, scores: Mapping[str, np.ndarray]) -> bool:
    """Whether :func:`offline_status` reproduces this monitor: every part an automaton
    (none followed by a streaming signal), no resolved signal, every proposition scored."""
    from framelogic.automata.monitor import Monitor, _AutomatonPart

    return (isinstance(monitor, Monitor) and not monitor.signal and isinstance(getattr(monitor, "_plan", None), (int, tuple))
            and all(isinstance(p, _AutomatonPart) for p in monitor._parts)
            and all(a in scores for a in monitor.atoms))  # fmt: skip


def _part_status(part, scores: Mapping[str, np.ndarray], markov: bool) -> np.ndarray:  # type: ignore[no-untyped-def]
    d = part.automaton
    delta = np.ascontiguousarray(d.delta, dtype=np.int64)
    masks = [np.ascontiguousarray(x, dtype=np.bool_) for x in (d.accepting, d.doomed_to_accept, ~d.live)]
    n = len(next(iter(scores.values())))
    out = np.zeros((n, 3))
    if not markov:
        probs = np.ascontiguousarray(np.column_stack([np.asarray(scores[a], dtype=np.float64) for a in d.atoms]))
        _kernel(_independent_push)(delta, probs, int(d.initial), *masks, out)
        out[:, 0] = np.clip(out[:, 0], 0.0, 1.0)
        return out
    f = part.filter
    c = f.chain
    obs = np.empty((n, c.k))
    for j, a in enumerate(c.atoms):
        obs[:, j] = f.world.calibrate(a, np.asarray(scores[a], dtype=np.float64)) if a in scores else c.priors[j]
    # WorldFilter.step's evidence, every frame at once
    ev = c.valid[None, :] * np.prod(np.where(c.bits[None], obs[:, None, :] / c.priors, (1.0 - obs[:, None, :]) / (1.0 - c.priors)), axis=2)
    lett = np.ascontiguousarray(c.letters(len(f.names)), dtype=np.int64)
    bad = _kernel(_markov_filter)(delta, lett, np.ascontiguousarray(c.dense), np.ascontiguousarray(ev), int(d.initial),
                                  np.ascontiguousarray(c.initial), *masks, out)  # fmt: skip
    if bad >= 0:
        raise InvalidValue(f"frame {bad}: the observations are impossible under {f.world!r}")
    return np.clip(out, 0.0, 1.0)


def _combine(plan, parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """automata.monitor._combine on whole columns."""
    if isinstance(plan, int):
        x = parts[plan]
        return x[:, 0], x[:, 1], x[:, 2]
    if plan[0] == "not":
        p, ps, pv = _combine(plan[1], parts)
        return 1.0 - p, pv, ps
    subs = [_combine(sub, parts) for sub in plan[1]]
    if plan[0] == "and":
        return (np.prod([s[0] for s in subs], axis=0), np.prod([s[1] for s in subs], axis=0),
                1.0 - np.prod([1.0 - s[2] for s in subs], axis=0))  # fmt: skip
    return (1.0 - np.prod([1.0 - s[0] for s in subs], axis=0), 1.0 - np.prod([1.0 - s[1] for s in subs], axis=0),
            np.prod([s[2] for s in subs], axis=0))  # fmt: skip


def offline_status(monitor: object, scores: Mapping[str, np.ndarray]) -> OfflineStatus:
    """What ``monitor.step`` reports after every frame of ``scores`` (a fresh monitor),
    in one compiled pass per part (see :func:`check_offline`)."""
    if not offline_applies(monitor, scores):
        raise InvalidValue("this monitor has a part without an automaton, a resolved signal, or an unscored proposition")
    markov = monitor._markov  # type: ignore[attr-defined]
    parts = [_part_status(p, scores, markov) for p in monitor._parts]  # type: ignore[attr-defined]
    p, ps, pv = _combine(monitor._plan, parts)  # type: ignore[attr-defined]
    return OfflineStatus(np.clip(p, 0.0, 1.0), ps, pv, monitor._sure)  # type: ignore[attr-defined]


def check_offline(make: Callable[[], object], scores: Mapping[str, np.ndarray], frames: int | None = None) -> tuple[float, int]:
    """(largest |difference| of the three probabilities, frames whose verdict differs)
    between :func:`offline_status` and ``make().step`` on the first ``frames`` frames."""
    from framelogic.automata import Verdict

    if frames is not None:
        scores = {k: np.asarray(v)[:frames] for k, v in scores.items()}
    off = offline_status(make(), scores)
    m = make()
    diff, wrong = 0.0, 0
    for i, frame in enumerate(_frames(scores)):
        s = m.step(frame)  # type: ignore[attr-defined]
        diff = max(diff, abs(s.probability - off.probability[i]), abs(s.p_satisfied - off.p_satisfied[i]),
                   abs(s.p_violated - off.p_violated[i]))  # fmt: skip
        wrong += (s.verdict is Verdict.VIOLATED) != bool(off.violated[i])
    return diff, wrong
