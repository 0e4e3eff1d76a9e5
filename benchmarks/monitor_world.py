"""False violations of a streaming monitor on clean driving, per world model; and
which world should be the default.

    python -m benchmarks.monitor_world [--minutes 10] [--fps 30] [--seeds 3] [--levels 0.01,0.05,0.1]
    python -m benchmarks.monitor_world --horizon [--minutes 10] [--levels 0.01,0.05,0.1]
    python -m benchmarks.monitor_world --accuracy [--test 20 --train 10 --frames 200]

The issue's example: ``Monitor("G (ped -> F[0,2s] stopped)")`` on a clean
trace — no pedestrian, the car drives — whose detectors still output a
background probability ``b`` for both propositions on every frame. Under the
independent world thousands of independent ``b``-coins make one pedestrian
that the car did not stop for nearly certain, so ``P(violated)`` grows towards 1
and the monitor reports a false ``violated``. Under the Markov world a steady
``b`` (scores calibrated at the prior 0.5) is evidence *against* a pedestrian.

Traces (``--minutes`` at ``--fps``): ``constant`` — every frame exactly ``b``;
``noisy`` (``--seeds`` of them) — ``b`` with AR(1) noise on the logit
(σ = 1, ρ = 0.9 frame to frame: bursts of higher scores, mean about ``1.4 b``).

Monitors, all at δ = 0.01 (``violated`` only when P(violated | frames so far)
>= 0.99): the independent world; ``Markov()`` (stay 0.95 per frame: a true run
lasts 20 frames, 0.67 s at 30 fps); ``Markov(persist=2.0)`` (true runs of 2 s).

Columns: ``ever`` — traces on which the monitor said VIOLATED at some frame
(the false-violation rate); ``final`` — traces whose verdict after the last
frame is VIOLATED; ``first`` — the earliest frame time of a VIOLATED; ``max
P(v)`` — the largest ``p_violated`` seen; ``µs/frame`` — ``Monitor.step``'s cost,
timed on the first 3000 frames of each trace. The verdicts over the whole trace
come from the offline replay of the monitor
(:func:`benchmarks.accuracy.monitor_world.offline_status`, checked against
``Monitor.step`` in tests/accuracy/test_monitor_world_bench.py), so a trace costs
milliseconds, not ``frames x µs/frame``.

``--horizon``: on a steady background, how long each world's monitor runs before
a false VIOLATED (:func:`horizon`), for the worlds above and fitted ones.

``--accuracy``: the accuracy benchmark's cells (templates x noise models x
levels, :mod:`benchmarks.accuracy.worlds`, same videos and seeds) for the
candidates for a default world — the independent world, ``Markov()`` with its
defaults (no training data: what a default can be) under both decision rules,
and the Markov world fitted on the cell's training split — with frame and event
F1 and how often ``Markov()`` beats, ties or loses to the independent world.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from framelogic.automata.monitor import Monitor, Verdict
from framelogic.automata.world import Independent, Markov

RULE = "G (ped -> F[0,2s] stopped)"
DELTA = 0.01
TIMED_FRAMES = 3000


def worlds() -> dict[str, object]:
    return {"independent": Independent(), "markov stay 0.95": Markov(), "markov persist 2s": Markov(persist=2.0)}


def clean_trace(b: float, n: int, seed: int | None) -> np.ndarray:
    """(n, 2) probabilities of ped and stopped on a clean trace: ``b`` on every frame
    (``seed=None``), or ``b`` with AR(1) logit noise."""
    if seed is None:
        return np.full((n, 2), b)
    rng = np.random.default_rng(seed)
    rho, sigma = 0.9, 1.0
    eps = rng.normal(0.0, sigma * np.sqrt(1 - rho**2), size=(n, 2))
    eta = np.empty((n, 2))
    eta[0] = rng.normal(0.0, sigma, size=2)
    for i in range(1, n):
        eta[i] = rho * eta[i - 1] + eps[i]
    z = np.log(b / (1 - b)) + eta
    return 1.0 / (1.0 + np.exp(-z))


@dataclass
class Run:
    ever: bool
    final: bool
    first: float | None  # seconds
    max_pv: float
    us_per_frame: float


def warm_up(world: object, fps: float) -> None:
    """Compile what the first frames compile (numba kernels), outside the timings."""
    from benchmarks.accuracy.monitor_world import automaton_monitor, offline_status

    m = Monitor(RULE, fps=fps, world=world, confidence=DELTA)
    for p in np.linspace(0.05, 0.95, 200):
        m.step({"ped": float(p), "stopped": float(1 - p)})
    offline_status(automaton_monitor(RULE, fps=fps, world=world, confidence=DELTA), {"ped": np.full(10, 0.3), "stopped": np.full(10, 0.6)})


def run(world: object, probs: np.ndarray, fps: float) -> Run:
    from benchmarks.accuracy.monitor_world import automaton_monitor, offline_status

    scores = {"ped": probs[:, 0], "stopped": probs[:, 1]}
    m = Monitor(RULE, fps=fps, world=world, confidence=DELTA)  # the default monitor is timed
    start = time.perf_counter()
    steps = min(TIMED_FRAMES, len(probs))
    for ped, stopped in probs[:steps]:
        m.step({"ped": float(ped), "stopped": float(stopped)})
    us = 1e6 * (time.perf_counter() - start) / max(steps, 1)
    st = offline_status(automaton_monitor(RULE, fps=fps, world=world, confidence=DELTA), scores)
    hit = np.flatnonzero(st.violated)
    first = float(hit[0]) / fps if len(hit) else None
    return Run(first is not None, bool(st.violated[-1]), first, float(st.p_violated.max()), us)


def clean_table(*, minutes: float, fps: float, seeds: int, levels: Sequence[float]) -> str:
    n = int(round(minutes * 60 * fps))
    lines = [f"rule {RULE!r}, {minutes:g} min at {fps:g} fps ({n} frames), δ = {DELTA}", "",
             "| background | trace | world | ever violated | final violated | first violated | max P(violated) | µs/frame |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for b in levels:
        for kind, ids in (("constant", [None]), ("noisy", list(range(seeds)))):
            if not ids:
                continue
            traces = [clean_trace(b, n, s) for s in ids]
            for name, world in worlds().items():
                warm_up(world, fps)
                runs = [run(world, t, fps) for t in traces]
                firsts = [r.first for r in runs if r.first is not None]
                cells = [
                    f"{b:g}", f"{kind} x{len(runs)}", name,
                    f"{sum(r.ever for r in runs)}/{len(runs)}", f"{sum(r.final for r in runs)}/{len(runs)}",
                    f"{min(firsts):.1f}s" if firsts else "never", f"{max(r.max_pv for r in runs):.3g}",
                    f"{np.mean([r.us_per_frame for r in runs]):.0f}",
                ]  # fmt: skip
                lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------ how long until a false VIOLATED


def horizon(world: object, b: float, *, minutes: float = 10.0, fps: float = 30.0) -> tuple[float, float | None, float]:
    """On a steady background ``b`` (both propositions, every frame):
    ``(P(violated) after `minutes`, seconds to the first VIOLATED or None, extrapolated
    minutes to P(violated) = 1 - δ)``. Under a persistent world a phantom pedestrian
    run that the car did not stop for has a small posterior probability per frame,
    ``h``; they add up (``P(violated) ≈ 1 - exp(-h n)`` after ``n`` frames), so any
    G-rule monitor on a long enough clean stream ends VIOLATED. The extrapolation
    takes ``h`` from the last minute (a constant hazard)."""
    from benchmarks.accuracy.monitor_world import automaton_monitor, offline_status

    n = int(round(minutes * 60 * fps))
    st = offline_status(automaton_monitor(RULE, fps=fps, world=world, confidence=DELTA), {"ped": np.full(n, b), "stopped": np.full(n, b)})
    pv = np.clip(st.p_violated, 0.0, 1.0 - 1e-16)
    hit = np.flatnonzero(st.violated)
    k = int(60 * fps)
    h = (np.log1p(-pv[-k - 1]) - np.log1p(-pv[-1])) / k  # hazard per frame over the last minute
    if len(hit):
        reach = float(hit[0]) / fps / 60
    else:
        reach = float("inf") if h <= 0 else (-np.log(DELTA) + np.log1p(-pv[-1])) / h / fps / 60 + minutes
    return float(pv[-1]), (float(hit[0]) / fps if len(hit) else None), float(reach)


def horizon_table(*, minutes: float = 10.0, fps: float = 30.0, levels: Sequence[float] = (0.01, 0.05, 0.1),
                  fitted: dict | None = None) -> str:  # fmt: skip
    """:func:`horizon` per world and background level; ``fitted``: name -> world, more rows."""
    ws = {**worlds(), **(fitted or {})}
    lines = [f"Steady background b on both propositions, `{RULE}`, {minutes:g} min at {fps:g} fps, δ = {DELTA:g}.", "",
             "| world | b | P(violated) at the end | first VIOLATED | minutes until P(violated) >= 1 - δ (extrapolated) |",
             "|---|---|---|---|---|"]  # fmt: skip
    for name, w in ws.items():
        for b in levels:
            pv, first, reach = horizon(w, b, minutes=minutes, fps=fps)
            when = "never" if first is None else f"{first / 60:.1f} min"
            lines.append(f"| {name} | {b:g} | {pv:.3g} | {when} | {'∞' if reach == float('inf') else f'{reach:.3g}'} |")
    return "\n".join(lines)


def fitted_worlds(b: float = 0.1, noises: Sequence[str] = ("constant", "ar1"), *, minutes: float = 10.0,
                  fps: float = 30.0, seed: int = 0) -> dict[str, object]:  # fmt: skip
    """Markov worlds fitted as the evidence run fits them (four labelled driving scenes
    of :mod:`benchmarks.accuracy.monitor_world` per noise model at background ``b``)."""
    from benchmarks.accuracy import monitor_world as mw
    from framelogic.automata.world import fit_world

    n = int(round(minutes * 60 * fps))
    out = {}
    for noise in noises:
        ni, li = list(mw.NOISES).index(noise), list(mw.BACKGROUNDS).index(b)
        train = [mw.scene(n, np.random.default_rng([seed, 1, ni, li, k]), kind) for k, kind in enumerate((None, "no stop", "no signal", None))]
        scores = [mw.scene_scores(s.labels, noise, b, np.random.default_rng([seed, 2, ni, li, k])) for k, s in enumerate(train)]
        out[f"fitted ({noise}, b={b:g})"] = fit_world(scores, [s.labels for s in train], fps=fps)
    return out


# ------------------------------------------------------------------ the default world


UNFITTED = "Markov() P>=0.5"
UNFITTED_VITERBI = "Markov() Viterbi"


def accuracy_rows(*, test: int, train: int, frames: int, seed: int = 0, log=None) -> list:  # type: ignore[no-untyped-def]
    """The accuracy benchmark's rows for the default-world candidates (module doc)."""
    from benchmarks.accuracy import worlds as W
    from benchmarks.accuracy.methods import framelogic_world

    methods = [
        W.WorldMethod(W.INDEPENDENT, W._independent),
        W.WorldMethod(UNFITTED, W._fixed(framelogic_world(Markov(), decision="threshold"))),
        W.WorldMethod(UNFITTED_VITERBI, W._fixed(framelogic_world(Markov(), decision="viterbi"))),
        W.WorldMethod(W.MARKOV, W._markov("threshold")),
    ]
    return W.run_table(methods, test=test, train=train, frames=frames, seed=seed, log=log)


def accuracy_table(rows: list, tol: float = 0.005) -> str:  # type: ignore[no-untyped-def]
    """Frame and event F1 per cell, and Markov() against the independent world
    (a difference within ``tol`` is a tie)."""
    from benchmarks.accuracy import worlds as W

    names = [W.INDEPENDENT, UNFITTED, UNFITTED_VITERBI, W.MARKOV]
    by = {(r.template, r.noise, r.method): r for r in rows}
    cells = list(dict.fromkeys((r.template, r.noise) for r in rows))
    out = ["| template | noise | " + " | ".join(f"{n}: frame / event F1" for n in names) + " |",
           "|---|---|" + "---|" * len(names)]  # fmt: skip
    tally = {m: {"frame": [0, 0, 0], "event": [0, 0, 0]} for m in (UNFITTED, UNFITTED_VITERBI, W.MARKOV)}
    seconds = dict.fromkeys(names, 0.0)
    for t, noise in cells:
        rs = [by[(t, noise, n)] for n in names]
        out.append(f"| {t} | {noise} | " + " | ".join(f"{r.f1:.3f} / {r.event_f1:.3f}" for r in rs) + " |")
        ind = rs[0]
        for r in rs:
            seconds[r.method] += r.seconds
        for r in rs[1:]:
            for key, a, b in (("frame", r.f1, ind.f1), ("event", r.event_f1, ind.event_f1)):
                tally[r.method][key][0 if a > b + tol else 1 if abs(a - b) <= tol else 2] += 1
    out += ["", f"Against the independent world, {len(cells)} cells (wins / ties within {tol:g} / losses):", ""]
    for m, d in tally.items():
        out.append(f"* {m}: frame F1 {'/'.join(map(str, d['frame']))}; event F1 {'/'.join(map(str, d['event']))}")
    out += ["", "Seconds (all cells): " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items())]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    import sys

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--seeds", type=int, default=3, help="noisy traces per level")
    ap.add_argument("--levels", default="0.01,0.05,0.1", help="background probabilities")
    ap.add_argument("--accuracy", action="store_true", help="the default-world comparison on the accuracy cells instead")
    ap.add_argument("--horizon", action="store_true", help="minutes until a false VIOLATED on a steady background instead")
    ap.add_argument("--test", type=int, default=20)
    ap.add_argument("--train", type=int, default=10)
    ap.add_argument("--frames", type=int, default=200)
    args = ap.parse_args(argv)
    if args.horizon:
        print(horizon_table(minutes=args.minutes, fps=args.fps, levels=[float(x) for x in args.levels.split(",")],
                            fitted=fitted_worlds(minutes=args.minutes, fps=args.fps)))  # fmt: skip
        return
    if args.accuracy:
        log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
        print(accuracy_table(accuracy_rows(test=args.test, train=args.train, frames=args.frames, log=log)))
        return
    print(clean_table(minutes=args.minutes, fps=args.fps, seeds=args.seeds, levels=[float(x) for x in args.levels.split(",")]))


if __name__ == "__main__":
    main()
