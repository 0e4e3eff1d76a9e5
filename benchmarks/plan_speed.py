"""Speed of the exact planner (framelogic.automata.plan) on long probability traces.

For each spec and frame rate: plan time (factoring, closed forms, automaton
compilation), evaluation frames/s on a random probability trace (best of
``--repeat`` calls, compilation excluded), the plan in words and, when the plan
runs automata, their states x frames per second. ``--old`` also times the
monolithic-DFA engine (``engine="automaton"``) on ``--old-frames`` frames.

    python benchmarks/plan_speed.py [--frames 100000] [--repeat 3] [--old]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from framelogic.automata import Evaluator
from framelogic.logic import parse
from framelogic.logic.errors import AutomatonTooLarge
from framelogic.logic.passes import atom_names
from framelogic.logic.trace import TraceTable

SPECS = [
    "G (red -> F[0,3s] stopped) & G (ped -> F[0,2s] brake) & G (stop_sign -> F[0,5s] stopped)",
    "G (a0 -> F[0,30] b0) & G (a1 -> F[0,30] b1) & G (a2 -> F[0,30] b2)",
    "G (a -> F[2s,4s] b)",
    "F[0,10s] (ped & F[0,1s] (brake & F[0,500ms] stopped))",
    "G (turn -> H[0,2s] signal) & G (signal -> F[0,3s] turn)",
]


def trace(names: tuple[str, ...], n: int, fps: float, seed: int = 0) -> TraceTable:
    rng = np.random.default_rng(seed)
    return TraceTable(names, rng.random((n, len(names))), None, fps)


def best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--fps", type=float, nargs="*", default=[30.0, 60.0])
    ap.add_argument("--max-states", type=int, default=100_000)
    ap.add_argument("--old", action="store_true", help="also time engine='automaton'")
    ap.add_argument("--old-frames", type=int, default=20_000)
    args = ap.parse_args(argv)
    n = args.frames
    for text in SPECS:
        f = parse(text)
        names = atom_names(f)
        for fps in args.fps:
            print(f"\n{text}  @ {fps:g} fps, {n} frames")
            ev = Evaluator(f, fps=fps, max_states=args.max_states)
            t0 = time.perf_counter()
            try:
                p = ev.plan(fps)
            except AutomatonTooLarge as err:
                print(f"  plan: AutomatonTooLarge after {time.perf_counter() - t0:.2f} s: {err}")
                continue
            plan_s = time.perf_counter() - t0
            tab = trace(names, n, fps)
            ev(tab)  # numba compilation of the loops, once per process
            secs = best(lambda: ev(tab), args.repeat)
            print(f"  plan: {p.describe()}")
            print(f"  plan time {plan_s:.3f} s; evaluation {secs:.3f} s = {n / secs:,.0f} frames/s")
            if p.stats.automata:
                total = sum(p.stats.automata)
                print(f"  automaton states (sum over parts) {total}: {total * n / secs:.3g} state-frames/s (whole evaluation)")
            if args.old:
                m = args.old_frames
                old = Evaluator(f, fps=fps, max_states=args.max_states, engine="automaton")
                t0 = time.perf_counter()
                try:
                    prog = old.program(fps)
                    _ = prog.diagram
                except AutomatonTooLarge as err:
                    print(f"  old engine: AutomatonTooLarge after {time.perf_counter() - t0:.2f} s ({str(err)[:80]}...)")
                    continue
                compile_s = time.perf_counter() - t0
                small = trace(names, m, fps)
                old(small)
                osecs = best(lambda: old(small), 1)
                print(
                    f"  old engine: {prog.dfa.n_states} states, compile {compile_s:.2f} s, "
                    f"{m / osecs:,.0f} frames/s on {m} frames; agree: "
                    f"{np.abs(old(small) - ev(small)).max():.2e} max abs difference"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
