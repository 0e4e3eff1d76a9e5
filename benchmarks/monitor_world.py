"""False violations of a streaming monitor on clean driving, per world model.

    python -m benchmarks.monitor_world [--minutes 10] [--fps 30] [--seeds 3] [--levels 0.01,0.05,0.1]

The issue's example: ``Monitor("G (ped -> F[0,2s] stopped)")`` on a clean
trace — no pedestrian, the car drives — whose detectors still output a
background probability ``b`` for both propositions on every frame. Under the
independent world thousands of independent ``b``-coins make one pedestrian
that the car did not stop for nearly certain, so ``P(violated)`` grows to 1 and
the monitor reports a false ``violated``. Under the Markov world a steady ``b``
(scores calibrated at the prior 0.5) is evidence *against* a pedestrian.

Traces (``--minutes`` at ``--fps``): ``constant`` — every frame exactly ``b``;
``noisy`` (``--seeds`` of them) — ``b`` with AR(1) noise on the logit
(σ = 1, ρ = 0.9 frame to frame: bursts of higher scores, mean about ``1.4 b``).

Monitors, all at δ = 0.01 (``violated`` only when P(violated | frames so far)
>= 0.99): the independent world; ``Markov()`` (stay 0.95 per frame: a true run
lasts 20 frames, 0.67 s at 30 fps); ``Markov(persist=2.0)`` (true runs of 2 s).

Columns: ``ever`` — traces on which the monitor said VIOLATED at some frame
(the false-violation rate); ``final`` — traces whose verdict after the last
frame is VIOLATED; ``first`` — the earliest frame time of a VIOLATED; ``max
P(v)`` — the largest ``p_violated`` seen; ``µs/frame`` — the monitor's step.
Under the independent world ``p_violated`` never decreases, so its run stops
at the first VIOLATED (the rest of the trace cannot change "ever"); under
Markov the whole trace runs (a later frame can withdraw a verdict).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from framelogic.automata.monitor import Monitor, Verdict
from framelogic.automata.world import Independent, Markov

RULE = "G (ped -> F[0,2s] stopped)"
DELTA = 0.01


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
    m = Monitor(RULE, fps=fps, world=world, confidence=DELTA)
    for p in np.linspace(0.05, 0.95, 200):
        m.step({"ped": float(p), "stopped": float(1 - p)})


def run(world: object, probs: np.ndarray, fps: float) -> Run:
    m = Monitor(RULE, fps=fps, world=world, confidence=DELTA)
    monotone = isinstance(world, Independent)
    first = None
    max_pv = 0.0
    start = time.perf_counter()
    steps = 0
    for i, (ped, stopped) in enumerate(probs):
        s = m.step({"ped": float(ped), "stopped": float(stopped)})
        steps += 1
        max_pv = max(max_pv, s.p_violated)
        if s.verdict is Verdict.VIOLATED and first is None:
            first = i / fps
            if monotone:
                break
    seconds = time.perf_counter() - start
    final = first is not None if monotone else m.verdict is Verdict.VIOLATED
    return Run(first is not None, final, first, max_pv, 1e6 * seconds / steps)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--seeds", type=int, default=3, help="noisy traces per level")
    ap.add_argument("--levels", default="0.01,0.05,0.1", help="background probabilities")
    args = ap.parse_args(argv)
    n = int(round(args.minutes * 60 * args.fps))
    levels = [float(x) for x in args.levels.split(",")]
    print(f"rule {RULE!r}, {args.minutes:g} min at {args.fps:g} fps ({n} frames), δ = {DELTA}\n")
    print("| background | trace | world | ever violated | final violated | first violated | max P(violated) | µs/frame |")
    print("|---|---|---|---|---|---|---|---|")
    for b in levels:
        for kind, seeds in (("constant", [None]), ("noisy", list(range(args.seeds)))):
            if not seeds:
                continue
            traces = [clean_trace(b, n, s) for s in seeds]
            for name, world in worlds().items():
                warm_up(world, args.fps)
                runs = [run(world, t, args.fps) for t in traces]
                firsts = [r.first for r in runs if r.first is not None]
                cells = [
                    f"{b:g}", f"{kind} x{len(runs)}", name,
                    f"{sum(r.ever for r in runs)}/{len(runs)}", f"{sum(r.final for r in runs)}/{len(runs)}",
                    f"{min(firsts):.1f}s" if firsts else "never", f"{max(r.max_pv for r in runs):.3g}",
                    f"{np.mean([r.us_per_frame for r in runs]):.0f}",
                ]  # fmt: skip
                print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
