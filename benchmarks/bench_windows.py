"""Exact probabilities of nested windows and lower-bounded past rules (automata/windows.py).

    python -m benchmarks.bench_windows [--frames 100000] [--fps 5 10 30] [--old-frames 20000]

Prints, per spec and frame rate: the plan, its states, plan time, evaluation time
(wall and CPU of this process: the box is shared, CPU time is what one core
spends), frames/s and state-frames/s (on CPU time), and for the nested sequence
the old engine (the monolithic automaton, `engine="automaton"`) on the first
--old-frames frames up to --old-max-fps (it cannot be built at 30 fps). Each
timing is the second call (the first compiles the kernels). Traces:
persistent 0/1 signals (on 0.5-3 s, off 1-8 s) read through detector-like
probabilities (Beta(6,2) when on, Beta(2,6) when off).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from framelogic.automata.engine import Evaluator
from framelogic.automata.plan import plan
from framelogic.logic import parse
from framelogic.logic.errors import AutomatonTooLarge
from framelogic.logic.passes import resolve_time
from framelogic.logic.trace import TraceTable

SPECS = {
    "nested sequence": "F[0,10s] (ped & F[0,1s] (brake & F[0,500ms] stopped))",
    "bounded response window": "G[0,10s] (red -> F[0,2s] (stopped & G[0,1s] !moving))",
    "delayed justification": "G (brake -> O[1s,2s] ped)",
    "delayed hold": "G (turn -> H[500ms,2s] signal)",
}


def trace(names: tuple[str, ...], n: int, fps: float, rng: np.random.Generator) -> np.ndarray:
    cols = []
    for _ in names:
        bits = np.empty(n, dtype=bool)
        i, on = 0, bool(rng.random() < 0.3)
        while i < n:
            mean = (0.5 + 2.5 * rng.random()) if on else (1 + 7 * rng.random())
            run = max(1, int(rng.geometric(1 / max(1.0, mean * fps))))
            bits[i : i + run] = on
            i += run
            on = not on
        cols.append(np.where(bits, rng.beta(6, 2, n), rng.beta(2, 6, n)))
    return np.stack(cols, axis=1)


def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--fps", type=float, nargs="+", default=[5, 10, 30])
    ap.add_argument("--old-frames", type=int, default=20_000)
    ap.add_argument("--old-max-fps", type=float, default=10, help="run the old engine up to this rate")
    ap.add_argument("--specs", nargs="+", default=list(SPECS))
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print("| spec | fps | plan | states | plan (ms) | eval wall (s) | eval CPU (s) | frames/s (CPU) | state-frames/s (CPU) | old engine |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.specs:
        for fps in args.fps:
            f = resolve_time(parse(SPECS[name]), fps)
            p, plan_wall, _ = timed(lambda: plan(f, max_states=100_000))
            values = trace(p.names, args.frames, fps, rng)
            p(values)  # the first call compiles the kernels: time the second
            x, wall, cpu = timed(lambda: p(values))
            assert np.all((x >= 0) & (x <= 1))
            states = max([s.states or 0 for s in p.parts], default=0)
            sf = f"{states * args.frames / cpu:.3g}" if states else "—"
            old = "—"
            if name == "nested sequence" and fps <= args.old_max_fps:
                m = min(args.old_frames, args.frames)
                try:
                    ev = Evaluator(f, engine="automaton")
                    table = TraceTable(p.names, values[:m])
                    _, build, _ = timed(lambda: ev(table))  # builds the automaton
                    y, w2, c2 = timed(lambda: ev(table))
                    z = plan(f, max_states=100_000)(values[:m])
                    diff = float(np.max(np.abs(y - z)))
                    old = f"{m / c2:,.0f} frames/s CPU; first call (build + eval) {build:.1f} s wall; max abs diff to the plan {diff:.1e}"
                except AutomatonTooLarge as err:
                    old = f"AutomatonTooLarge ({str(err)[:60]}...)"
            print(
                f"| {name} | {fps:g} | {p.describe()} | {states:,} | {plan_wall * 1e3:.1f} | {wall:.2f} | {cpu:.2f} "
                f"| {args.frames / cpu:,.0f} | {sf} | {old} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
