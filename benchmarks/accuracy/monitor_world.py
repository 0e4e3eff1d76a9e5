"""Monitors on long driving traces: false violations on clean traces, delay on violating ones.

Two parts. The evidence run (:func:`run_evidence`, ``python -m
benchmarks.accuracy.monitor_world``; results in benchmarks/results/monitor_world.md):
three specs (:data:`SPECS`) on driving scenes with pedestrians and lane changes
(:func:`scene`), background levels b = 0.01, 0.05, 0.1, noise models that keep the
background at or below b (:data:`NOISES`) and one that does not (:data:`STRESS`),
hundreds of 10-minute 30 fps traces, the Markov world fitted on separate labelled
traces; false-violation counts with exact Clopper–Pearson bounds, detection rate and
delay. Verdicts are replayed offline (:func:`offline_status`, exactly the monitor's,
see :func:`check_offline`), so the run takes minutes, not hours.

The original single-rule table (:func:`run_monitor`, used by
:mod:`benchmarks.accuracy.worlds`): the rule is ``G (ped -> F[0,2s] stopped)`` at 30 fps. A trace (:func:`driving_trace`)
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
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from framelogic.logic.errors import InvalidValue

from .methods import median_filter
from .noise import ar1, bursts

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
    out: dict = {"framelogic, independent world": (lambda: automaton_monitor(RULE, fps=FPS), ident)}
    api = world_api()
    if api is not None and monitor_has_world():
        world = api["fit_world"]([t.scores for t in train], [t.labels for t in train])  # type: ignore[operator]
        out[f"framelogic, Markov world (fitted), δ={DELTA:g}"] = (
            lambda: automaton_monitor(RULE, fps=FPS, world=world, confidence=DELTA), ident)  # fmt: skip
    else:
        out[f"framelogic, Markov world (fitted), δ={DELTA:g}"] = None
    out["per-frame threshold, then monitor"] = (lambda: automaton_monitor(RULE, fps=FPS), binar)
    out["median filter (15 frames), threshold, then monitor"] = (lambda: automaton_monitor(RULE, fps=FPS), median)
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


def _markov_filter(delta, lett, M, ev, q0, init, acc, sat, dead, out):  # type: ignore[no-untyped-def]
    """WorldFilter.step over every frame: predict with the chains' transition (one
    proposition's 2x2 matrix ``M[j]`` at a time: the joint matrix is their Kronecker
    product; not before frame 0), weigh by the evidence ``ev[i, s]``, move the automaton
    on the chain state's letter, normalise; ``out[i]`` = the masses of the accepting,
    satisfied and dead states. Returns -1, or the first frame whose observations are
    impossible."""
    nq = delta.shape[0]
    m = ev.shape[1]
    k = M.shape[0]
    J = np.zeros((nq, m))
    G = np.zeros((nq, m))
    for s in range(m):
        J[q0, s] = init[s]
    for i in range(ev.shape[0]):
        if i > 0:  # predict: J <- J T
            for j in range(k):
                bit = 1 << j
                m00, m01, m10, m11 = M[j, 0, 0], M[j, 0, 1], M[j, 1, 0], M[j, 1, 1]
                for q in range(nq):
                    for s in range(m):
                        if s & bit == 0:
                            y0, y1 = J[q, s], J[q, s | bit]
                            J[q, s] = y0 * m00 + y1 * m10
                            J[q, s | bit] = y0 * m01 + y1 * m11
        G[:, :] = 0.0
        for q in range(nq):
            for s in range(m):
                a = J[q, s]
                if a != 0.0:
                    G[delta[q, lett[s]], s] += a * ev[i, s]
        total = 0.0
        for q in range(nq):
            for s in range(m):
                total += G[q, s]
        if not total > 0.0:
            return i
        p = ps = pv = 0.0
        inv = 1.0 / total
        for q in range(nq):
            mass = 0.0
            for s in range(m):
                J[q, s] = G[q, s] * inv
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


def automaton_monitor(formula: object, **kw: object) -> object:
    """A :class:`~framelogic.automata.Monitor` that follows every part by its automaton
    (``counters=False``): the monitor :func:`offline_status` replays. On the specs here its
    verdicts and probabilities equal the default monitor's, which follows rule sets by
    counters (tested in tests/automata/test_monitor_counters.py)."""
    from framelogic.automata import Monitor

    return Monitor(formula, counters=False, **kw)  # type: ignore[arg-type]


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
        cols = [np.asarray(scores[a], dtype=np.float64) for a in d.atoms]
        probs = np.ascontiguousarray(np.column_stack(cols) if cols else np.zeros((n, 0)))
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
    bad = _kernel(_markov_filter)(delta, lett, np.ascontiguousarray(c.M), np.ascontiguousarray(ev), int(d.initial),
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


def offline_status(monitor: object, scores: Mapping[str, np.ndarray], cache: dict | None = None) -> OfflineStatus:
    """What ``monitor.step`` reports after every frame of ``scores`` (a fresh monitor),
    in one compiled pass per part (see :func:`check_offline`). ``cache`` (one dict per
    ``scores``) shares the passes of equal parts between monitors of one world and rate:
    a rule set and its single rules."""
    from framelogic.logic.printer import to_text

    if not offline_applies(monitor, scores):
        raise InvalidValue("this monitor has a part without an automaton, a resolved signal, or an unscored proposition")
    markov = monitor._markov  # type: ignore[attr-defined]
    parts = []
    for p in monitor._parts:  # type: ignore[attr-defined]
        key = (monitor.world, monitor.fps, to_text(p.formula), p.automaton.atoms)  # type: ignore[attr-defined]
        if cache is None or key not in cache:
            x = _part_status(p, scores, markov)
            if cache is None:
                parts.append(x)
                continue
            cache[key] = x
        parts.append(cache[key])
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


# ------------------------------------------------------------------ the evidence run
#
#     python -m benchmarks.accuracy.monitor_world [--clean 30] [--violating 18] [--out FILE]
#
# Several specs on one kind of scene, background levels, noise models, and enough
# 10-minute traces that the false-violation rate gets a useful exact upper bound.

SPECS: dict[str, str] = {
    "response": "G (ped -> F[0,2s] stopped)",
    "past": "G (lane -> O[0,2s] signal)",
    "two rules": "G (ped -> F[0,2s] stopped) & G (lane -> O[0,2s] signal)",
}
#: violation kind -> the specs a trace of that kind violates (once, at a known frame)
VIOLATES: dict[str, tuple[str, ...]] = {"no stop": ("response", "two rules"), "no signal": ("past", "two rules")}
BACKGROUNDS = (0.01, 0.05, 0.1)
#: noise models whose false frames score at most the background level b (the target's premise)
NOISES: dict[str, str] = {
    "constant": "true frames 0.9, false frames exactly b",
    "ar1": "AR(1) logit noise η (σ=1.5, ρ=0.9): true sigmoid(2.5+η), false b·sigmoid(2+η)",
    "bursts": "independent logit noise ε (σ=1): true sigmoid(2.5+ε), false b·sigmoid(2+ε); bursts of missed "
              "detections (one per 20 s on average, geometric length of mean 5 frames) in which true frames score as false",
    "under-confident": "AR(1) η as in ar1: true sigmoid(0.8+0.5η) (median 0.69), false b·sigmoid(2+η)",
}  # fmt: skip
#: noise outside the premise: the background exceeds b in bursts
STRESS: dict[str, str] = {
    "ar1-logit": "AR(1) η as in ar1: true sigmoid(2.5+η), false sigmoid(logit(b)+η) (median b; above b half the "
                 "time, above 0.5 in bursts)",
}  # fmt: skip
PROPS = ("ped", "stopped", "lane", "signal")


@dataclass(frozen=True)
class Scene:
    """A labelled driving scene; ``kind`` None (clean), "no stop" or "no signal"."""

    labels: dict[str, np.ndarray]
    kind: str | None
    violation: int | None  # first frame at which the violated specs are definitely violated
    onset: int | None  # first frame of the violating encounter / lane change


def scene(n: int, rng: np.random.Generator, kind: str | None = None, fps: float = FPS) -> Scene:
    """Pedestrian encounters every 20-60 s lasting 3-8 s: the car stops 0.3-1.5 s after
    the pedestrian appears and moves off 0.5-2 s after it has gone. Lane changes every
    30-90 s lasting 2-4 s: the turn signal comes on 0.5-1.8 s before and goes off up to
    0.5 s after. ``kind`` "no stop": one encounter, at random, without a stop (definite
    2 s after the pedestrian appears); "no signal": one lane change without the signal
    (definite at its first frame)."""
    if kind is not None and kind not in VIOLATES:
        raise InvalidValue(f"kind={kind!r} must be None or one of {', '.join(VIOLATES)}")
    if n < 40 * fps:
        raise InvalidValue(f"n={n!r} must be at least 40 s of frames")
    lab = {a: np.zeros(n) for a in PROPS}
    sec = lambda lo, hi: int(rng.uniform(lo, hi) * fps)  # noqa: E731

    def spans(first: tuple[float, float], length: tuple[float, float], gap: tuple[float, float]) -> list[tuple[int, int]]:
        out, t = [], sec(*first)
        while t < n - 10 * fps:
            e = t + sec(*length)
            out.append((t, e))
            t = e + sec(*gap)
        return out

    peds = spans((5, 20), (3, 8), (20, 60))
    lanes = spans((10, 40), (2, 4), (30, 90))
    bad_ped = int(rng.integers(len(peds))) if kind == "no stop" else None
    bad_lane = int(rng.integers(len(lanes))) if kind == "no signal" else None
    for k, (s, e) in enumerate(peds):
        lab["ped"][s:e] = 1
        if k != bad_ped:
            lab["stopped"][s + sec(0.3, 1.5) : e + sec(0.5, 2)] = 1
    for k, (s, e) in enumerate(lanes):
        lab["lane"][s:e] = 1
        if k != bad_lane:
            lab["signal"][max(0, s - sec(0.5, 1.8)) : e + sec(0, 0.5)] = 1
    if bad_ped is not None:
        s = peds[bad_ped][0]
        return Scene(lab, kind, s + int(round(2 * fps)), s)
    if bad_lane is not None:
        s = lanes[bad_lane][0]
        return Scene(lab, kind, s, s)
    return Scene(lab, None, None, None)


def _ar1_loop(eps: np.ndarray, rho: float, scale: float, out: np.ndarray) -> None:
    out[0] = eps[0]
    for i in range(1, eps.shape[0]):
        out[i] = rho * out[i - 1] + scale * eps[i]


def _ar1(n: int, sigma: float, rho: float, rng: np.random.Generator) -> np.ndarray:
    """:func:`.noise.ar1` (the same draws and recursion), its loop compiled: 10-minute traces by the hundred."""
    eps = rng.standard_normal(n) * sigma
    out = np.empty(n)
    _kernel(_ar1_loop)(eps, rho, float(np.sqrt(1.0 - rho * rho)), out)
    return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def noisy_scores(noise: str, truth: np.ndarray, b: float, rng: np.random.Generator) -> np.ndarray:
    """One proposition's scores under a noise model of :data:`NOISES` / :data:`STRESS` at background ``b``."""
    t = np.asarray(truth) > 0
    n = len(t)
    if noise == "constant":
        return np.where(t, 0.9, b)
    if noise == "bursts":
        eps = rng.standard_normal(n)
        seen = t & ~bursts(n, 1.0 / 600, 5.0, rng)
        return np.where(seen, _sigmoid(2.5 + eps), b * _sigmoid(2.0 + eps))
    eta = _ar1(n, 1.5, 0.9, rng)
    if noise == "ar1":
        return np.where(t, _sigmoid(2.5 + eta), b * _sigmoid(2.0 + eta))
    if noise == "under-confident":
        return np.where(t, _sigmoid(0.8 + 0.5 * eta), b * _sigmoid(2.0 + eta))
    if noise == "ar1-logit":
        return np.where(t, _sigmoid(2.5 + eta), _sigmoid(np.log(b / (1 - b)) + eta))
    raise InvalidValue(f"noise={noise!r} must be one of {', '.join([*NOISES, *STRESS])}")


def scene_scores(labels: Mapping[str, np.ndarray], noise: str, b: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {a: noisy_scores(noise, v, b, rng) for a, v in labels.items()}


def clopper_pearson_upper(x: int, n: int, alpha: float = 0.05) -> float:
    """The exact one-sided (1 - alpha) upper confidence bound on a binomial rate after
    ``x`` events in ``n`` trials: the p with P(X <= x; n, p) = alpha (1 - alpha^(1/n)
    for x = 0); the two-sided 95% Clopper–Pearson interval's upper end is alpha=0.025.

    >>> round(clopper_pearson_upper(0, 300), 5), round(clopper_pearson_upper(0, 60), 4)
    (0.00994, 0.0487)
    """
    if not (isinstance(n, int) and n >= 1 and isinstance(x, int) and 0 <= x <= n):
        raise InvalidValue(f"x={x!r}, n={n!r} must be whole numbers with 0 <= x <= n, n >= 1")
    if x == n:
        return 1.0
    if x == 0:
        return 1.0 - alpha ** (1.0 / n)

    def cdf(p: float) -> float:
        lp, lq = math.log(p), math.log1p(-p)
        return sum(math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * lp + (n - k) * lq)
                   for k in range(x + 1))  # fmt: skip

    lo, hi = x / n, 1.0
    for _ in range(200):  # cdf falls as p grows
        mid = (lo + hi) / 2
        if cdf(mid) > alpha:
            lo = mid
        else:
            hi = mid
    return hi


@dataclass(frozen=True)
class Outcome:
    """One monitor on one trace."""

    noise: str
    level: float
    spec: str
    method: str
    kind: str | None  # the trace's violation kind (None: clean)
    first: int | None  # first VIOLATED frame
    violation: int | None  # first frame at which the spec is definitely violated (None: it holds)
    final: bool  # VIOLATED after the last frame


MARKOV_FITTED = "Markov (fitted)"
MARKOV_TEMPERED = "Markov (fitted, tempered)"
MARKOV_DEFAULT = "Markov() (unfitted)"
INDEPENDENT = "independent"
THRESHOLD = "threshold 0.5"
MEDIAN = "median 15 + threshold"
METHODS = (INDEPENDENT, MARKOV_DEFAULT, MARKOV_FITTED, MARKOV_TEMPERED, THRESHOLD, MEDIAN)


def noise_correlation(scores: Sequence[Mapping[str, np.ndarray]], labels: Sequence[Mapping[str, np.ndarray]],
                      name: str) -> float:  # fmt: skip
    """The lag-one autocorrelation of ``name``'s score logits around their per-label
    means, over consecutive frames with the same label (0 when the scores do not vary)."""
    zs, ys = [], []
    for s, lab in zip(scores, labels):
        p = np.clip(np.asarray(s[name], dtype=float), 1e-6, 1 - 1e-6)
        zs.append(np.log(p) - np.log1p(-p))
        ys.append(np.asarray(lab[name]) > 0)
    z, y = np.concatenate(zs), np.concatenate(ys)
    mean = {v: z[y == v].mean() for v in (False, True) if (y == v).any()}
    num = den = 0.0
    for zi, yi in zip(zs, ys):
        r = zi - np.where(yi, mean.get(True, 0.0), mean.get(False, 0.0))
        same = yi[1:] == yi[:-1]
        num += float(np.sum(r[1:][same] * r[:-1][same]))
        den += float(np.sum(r[:-1][same] ** 2))
    return 0.0 if den <= 1e-12 else float(min(max(num / den, 0.0), 0.99))


def tempered(world: object, scores: Sequence[Mapping[str, np.ndarray]], labels: Sequence[Mapping[str, np.ndarray]]) -> object:
    """``world`` (fitted) with every proposition's likelihood ratio raised to ``τ = (1 - ρ) /
    (1 + ρ)``, ρ its noise's lag-one correlation (:func:`noise_correlation`): an AR(1)
    run of ``k`` frames carries about ``k τ`` frames' worth of independent evidence,
    while the Markov world (observations independent given the hidden state) would
    count ``k``. Written as a calibration map: ``logit p -> τ (a logit p + b - logit
    prior) + logit prior``. A harness experiment, not a framelogic feature."""
    from framelogic.automata.world import Markov

    cal = {}
    for k, (a, b) in world.calibration.items():  # type: ignore[attr-defined]
        tau = (1 - (rho := noise_correlation(scores, labels, k))) / (1 + rho)
        lp = math.log(world.prior_for(k) / (1 - world.prior_for(k)))  # type: ignore[attr-defined]
        cal[k] = (tau * a, tau * (b - lp) + lp)
    return Markov(stay=world.stay, persist=world.persist, prior=world.prior, calibration=cal)  # type: ignore[attr-defined]


def _method_inputs(method: str, scores: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
    if method == THRESHOLD:
        return {k: (np.asarray(v) >= 0.5).astype(float) for k, v in scores.items()}
    if method == MEDIAN:
        return {k: (median_filter(np.asarray(v), 15) >= 0.5).astype(float) for k, v in scores.items()}
    return scores


@dataclass
class Evidence:
    outcomes: list[Outcome]
    minutes: float
    clean: int
    violating: int
    seed: int
    seconds: dict[str, float]  # method -> total monitor seconds (offline replay)
    check: tuple[int, int, float, int]  # (monitor/trace pairs checked, frames each, largest |Δp|, verdicts differing)
    worlds: dict[tuple[str, float], str]  # (noise, level) -> the fitted world, as JSON


def run_evidence(*, minutes: float = 10.0, clean: int = 32, violating: int = 18, seed: int = 0,
                 noises: Sequence[str] = (*NOISES, *STRESS), levels: Sequence[float] = BACKGROUNDS,
                 stress_fraction: float = 1 / 3, check_frames: int = 600, methods: Sequence[str] = METHODS,
                 log: Callable[[str], None] | None = None) -> Evidence:  # fmt: skip
    """Every spec x method on ``clean`` clean and ``violating`` violating traces (half
    "no stop", half "no signal") per noise model and background level (stress noise
    models: ``stress_fraction`` as many). The Markov world is fitted per noise model and
    level on four labelled training traces of its own seeds (two clean, one of each
    violation kind). On the first clean and violating trace of each condition the offline
    replay is checked against ``Monitor.step`` on the first ``check_frames`` frames."""
    from framelogic.automata import Monitor
    from framelogic.automata.world import Markov, fit_world

    n = int(round(minutes * 60 * FPS))
    outcomes: list[Outcome] = []
    seconds = dict.fromkeys(methods, 0.0)
    checked, worst, wrong = 0, 0.0, 0
    fitted_json: dict[tuple[str, float], str] = {}
    default = Markov()
    for ni, noise in enumerate(noises):
        scale = stress_fraction if noise in STRESS else 1.0
        n_clean, n_bad = max(1, round(clean * scale)), max(2, round(violating * scale))
        for li, b in enumerate(levels):
            t0 = time.perf_counter()
            train = [scene(n, np.random.default_rng([seed, 1, ni, li, k]), kind) for k, kind in enumerate((None, "no stop", "no signal", None))]
            train_scores = [scene_scores(s.labels, noise, b, np.random.default_rng([seed, 2, ni, li, k])) for k, s in enumerate(train)]
            fitted = fit_world(train_scores, [s.labels for s in train], fps=FPS)
            temp = tempered(fitted, train_scores, [s.labels for s in train])
            fitted_json[(noise, b)] = json.dumps(fitted.to_dict(), sort_keys=True)
            worlds = {INDEPENDENT: None, MARKOV_DEFAULT: default, MARKOV_FITTED: fitted, MARKOV_TEMPERED: temp,
                      THRESHOLD: None, MEDIAN: None}  # fmt: skip
            worlds = {k: v for k, v in worlds.items() if k in methods}
            makers = {(spec, meth): (lambda f=f, w=w: automaton_monitor(f, fps=FPS, world=w, confidence=DELTA))
                      for spec, f in SPECS.items() for meth, w in worlds.items()}  # fmt: skip
            monitors = {key: make() for key, make in makers.items()}
            kinds = [None] * n_clean + [("no stop", "no signal")[k % 2] for k in range(n_bad)]
            for k, kind in enumerate(kinds):
                rng = np.random.default_rng([seed, 3, ni, li, k])
                sc = scene(n, rng, kind)
                scores = scene_scores(sc.labels, noise, b, rng)
                for meth in worlds:
                    inputs = _method_inputs(meth, scores)
                    cache: dict = {}
                    for spec in SPECS:
                        key = (spec, meth)
                        if k in (0, n_clean) and check_frames:
                            d, w = check_offline(makers[key], inputs, check_frames)
                            checked, worst, wrong = checked + 1, max(worst, d), wrong + w
                        s0 = time.perf_counter()
                        st = offline_status(monitors[key], inputs, cache)
                        seconds[meth] += time.perf_counter() - s0
                        hit = np.flatnonzero(st.violated)
                        outcomes.append(Outcome(noise, b, spec, meth, kind, int(hit[0]) if len(hit) else None,
                                                sc.violation if kind is not None and spec in VIOLATES[kind] else None,
                                                bool(st.violated[-1])))  # fmt: skip
            if log:
                log(f"{noise} b={b:g}: {len(kinds)} traces in {time.perf_counter() - t0:.1f} s")
    return Evidence(outcomes, minutes, clean, violating, seed, seconds, (checked, check_frames, worst, wrong), fitted_json)


@dataclass(frozen=True)
class Tally:
    clean: int
    false: int  # clean traces with a VIOLATED at some frame
    false_final: int  # clean traces ending VIOLATED
    violating: int
    detected: int  # first VIOLATED within DETECT_WITHIN s after the violation is definite
    early: int  # a VIOLATED before the violation was definite
    delays: tuple[float, ...]  # seconds, detected traces

    @property
    def upper(self) -> float:
        return clopper_pearson_upper(self.false, self.clean) if self.clean else float("nan")


def tally(outcomes: Sequence[Outcome], fps: float = FPS) -> Tally:
    """False violations on the outcomes whose spec holds; detections on those that violate it."""
    clean = [o for o in outcomes if o.violation is None and o.kind is None]
    bad = [o for o in outcomes if o.violation is not None]
    delays, early = [], 0
    for o in bad:
        if o.first is None:
            continue
        if o.first < o.violation:  # type: ignore[operator]
            early += 1
        elif (o.first - o.violation) / fps <= DETECT_WITHIN:  # type: ignore[operator]
            delays.append((o.first - o.violation) / fps)  # type: ignore[operator]
    return Tally(len(clean), sum(o.first is not None for o in clean), sum(o.final for o in clean), len(bad),
                 len(delays), early, tuple(delays))  # fmt: skip


def _rate(t: Tally) -> str:
    return f"{t.false}/{t.clean} = {t.false / t.clean:.1%}" if t.clean else "-"


def _delay(t: Tally) -> str:
    if not t.delays:
        return "-"
    return f"{np.mean(t.delays):.2f} / {np.percentile(t.delays, 90):.2f}"


def evidence_markdown(ev: Evidence) -> str:
    """The report of :func:`run_evidence`."""
    out = []
    target = [o for o in ev.outcomes if o.noise in NOISES]
    stress = [o for o in ev.outcomes if o.noise in STRESS]
    levels = sorted({o.level for o in ev.outcomes})
    methods = [m for m in METHODS if any(o.method == m for o in ev.outcomes)]
    out += ["## Headline: noise models whose background stays at or below b (b = "
            + ", ".join(f"{b:g}" for b in levels) + ")", "",
            "False violations: clean traces on which the monitor said VIOLATED at any frame; upper bound: exact "
            "Clopper–Pearson one-sided 95% (two-sided 95% interval's upper end in brackets). Detection: first VIOLATED "
            f"at most {DETECT_WITHIN:g} s after the violation became definite; early: a VIOLATED before it; delay: mean / 90th "
            "percentile over the detections, seconds.", "",
            "| spec | monitor | false violations | 95% upper bound | ends VIOLATED (clean) | detected | early | delay (s) |",
            "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for spec in SPECS:
        for meth in methods:
            t = tally([o for o in target if o.spec == spec and o.method == meth])
            two = clopper_pearson_upper(t.false, t.clean, 0.025) if t.clean else float("nan")
            out.append(f"| {spec} | {meth} | {_rate(t)} | {t.upper:.2%} ({two:.2%}) | {t.false_final}/{t.clean} | "
                       f"{t.detected}/{t.violating} | {t.early}/{t.violating} | {_delay(t)} |")  # fmt: skip
    for title, rows, names in (("By noise model and background (clean traces, all specs)", target, NOISES),
                               ("Stress: background above b in bursts (outside the target's premise)", stress, STRESS)):  # fmt: skip
        if not rows:
            continue
        out += ["", f"## {title}", "",
                "Cells: false violations on clean traces for response / past / two rules; detected / violating (all specs).", "",
                "| noise | b | " + " | ".join(methods) + " |", "|---|---|" + "---|" * len(methods)]  # fmt: skip
        for noise in names:
            for b in levels:
                cells = []
                for meth in methods:
                    sub = [o for o in rows if o.noise == noise and o.level == b and o.method == meth]
                    if not sub:
                        continue
                    per = [tally([o for o in sub if o.spec == spec]) for spec in SPECS]
                    allt = tally(sub)
                    cells.append(" / ".join(str(t.false) for t in per) + f" of {per[0].clean}; {allt.detected}/{allt.violating}")
                if cells:
                    out.append(f"| {noise} | {b:g} | " + " | ".join(cells) + " |")
        if rows is stress:
            for spec in SPECS:
                for meth in (m for m in methods if m.startswith("Markov")):
                    t = tally([o for o in rows if o.spec == spec and o.method == meth])
                    out.append(f"\n{spec}, {meth}: {_rate(t)} false (95% upper {t.upper:.1%}), {t.detected}/{t.violating} detected")
    checked, frames, worst, wrong = ev.check
    out += ["", "## Method", "",
            f"{ev.minutes:g}-minute traces at {FPS:g} fps ({int(round(ev.minutes * 60 * FPS))} frames), seed {ev.seed}; per "
            f"noise model and background level {ev.clean} clean and {ev.violating} violating traces (half 'no stop', half "
            "'no signal'; a third as many for the stress model). Every monitor reads identical scores; confidence δ = "
            f"{DELTA:g} (VIOLATED only when P(violated | frames so far) >= {1 - DELTA:g}).", "",
            "Specs: " + "; ".join(f"**{k}** `{v}`" for k, v in SPECS.items()) + ". 'no stop' traces violate response and "
            "two rules, 'no signal' traces past and two rules; each spec's clean pool is the clean traces.", "",
            "Scenes: " + " ".join((scene.__doc__ or "").split("``kind``")[0].split()) + " Violations: one "
            "encounter without a stop (definite 2 s after the pedestrian appears) or one lane change without the signal "
            "(definite at its first frame).", "",
            "Noise models (per proposition, independently):", ""]  # fmt: skip
    out += [f"* **{k}** — {v}" for k, v in {**NOISES, **STRESS}.items()]
    out += ["", "Monitors: **independent** — `Monitor(spec, world=Independent())` on the scores; **Markov() (unfitted)** — "
            "`Markov()` defaults (stay 0.95 per frame, scores read as calibrated at prior 0.5); **Markov (fitted)** — "
            "`fit_world` on four labelled training traces of the same noise model and level (own seeds: two clean, one of "
            "each violation kind), persistence per proposition from run lengths, Platt calibration; **Markov (fitted, tempered)** — "
            "a harness experiment, not a library feature: the fitted world with each proposition's likelihood ratio raised "
            "to τ = (1 - ρ) / (1 + ρ), ρ the lag-one autocorrelation of its training scores' logits around the per-label "
            "means (`tempered`; written as a calibration map, so the monitor is the library's); **threshold 0.5** — "
            "scores >= 0.5 as 0/1 frames; **median 15 + threshold** — a centred 15-frame median (7 frames of lookahead), "
            "then the threshold.", "",
            "Verdicts are replayed offline (`offline_status`: the monitor's own automata, chains and combination plan in one "
            "compiled pass per part, exactly `WorldFilter.step` / `Automaton.push` in another summation order). Check "
            f"against `Monitor.step` on {checked} monitor/trace pairs x {frames} frames: largest |Δ probability| = "
            f"{worst:.1e}, {wrong} verdicts differ.", "",
            "Replay seconds per method (all traces): " + ", ".join(f"{k} {v:.1f}" for k, v in ev.seconds.items()) + "."]  # fmt: skip
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse
    import sys
    from pathlib import Path

    ap = argparse.ArgumentParser(description="Monitor false-violation rate and detection delay under world models.")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--clean", type=int, default=32, help="clean traces per noise model and background level")
    ap.add_argument("--violating", type=int, default=18, help="violating traces per noise model and background level")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="markdown report (default: stdout)")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    ev = run_evidence(minutes=args.minutes, clean=args.clean, violating=args.violating, seed=args.seed, log=log)
    cmd = "python -m benchmarks.accuracy.monitor_world " + " ".join(argv if argv is not None else sys.argv[1:])
    text = (f"# Monitor false violations and detection under world models\n\n<!-- output of: {cmd.strip()} -->\n\n"
            + evidence_markdown(ev) + f"\n\n(total {time.perf_counter() - start:.0f} s)\n")  # fmt: skip
    if args.out:
        args.out.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
