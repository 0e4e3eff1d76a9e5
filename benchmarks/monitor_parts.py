"""Monitor step latency with formulas split into parts, and the streaming signal.

    python -m benchmarks.monitor_parts          # ~1-2 minutes
    python -m benchmarks.monitor_parts --quick  # fewer frames

Prints one markdown table per section: µs per ``Monitor.step`` on 0/1 frames and
on probability frames (dicts), with and without the per-frame resolved signal;
``StreamingSignal.push`` per frame; and the 60 fps rule specs (build time, parts
— automaton states, or "stream" for a part followed by its streaming signal —
and 0/1 step latency). Wall clock, best of three passes, one core.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from framelogic.automata import Monitor
from framelogic.automata.streaming import StreamingSignal

SIMPLE = [
    "H (stopped -> O[0,30] red)",
    "G (red -> F[0,90] stopped) & G (ped -> F[0,60] brake) & G (stop_sign -> F[0,150] stopped)",
]
RULES_60FPS = [
    "G (red -> F[0,3s] stopped) & G (ped -> F[0,2s] brake) & G (stop_sign -> F[0,5s] stopped)",
    "G (turn -> H[0,2s] signal) & G (signal -> F[0,3s] turn)",
    "G (a -> F[2s,4s] b)",
    "F[0,10s] (ped & F[0,1s] (brake & F[0,500ms] stopped))",
]


def frames(names: tuple[str, ...], n: int, probabilistic: bool, seed: int = 0) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    vals = rng.random((n, len(names)))
    if not probabilistic:
        vals = (vals < 0.2).astype(float)
    return [dict(zip(names, map(float, row))) for row in vals]


def per_frame(m: Monitor, fs: list[dict[str, float]], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        m.reset()
        t = time.perf_counter()
        for fr in fs:
            m.step(fr)
        best = min(best, (time.perf_counter() - t) / len(fs))
    return best * 1e6


def push_per_frame(text: str, n: int) -> float:
    s = StreamingSignal(text)
    rows = (np.random.default_rng(0).random((n, len(s.names))) < 0.2).astype(int).tolist()
    t = time.perf_counter()
    for r in rows:
        s.push(r)
    return (time.perf_counter() - t) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n01, nprob = (5_000, 500) if args.quick else (20_000, 2_000)

    print("## Monitor.step (µs per frame)\n")
    print("| formula | parts (states) | 0/1 | 0/1 + signal | probabilities |")
    print("|---|---|---:|---:|---:|")
    for text in SIMPLE:
        m = Monitor(text)
        parts = ", ".join(str(a.n_states) if a is not None else "stream" for _, a in m.parts)
        t01 = per_frame(m, frames(m.atoms, n01, False))
        tsig = per_frame(Monitor(text, signal=True), frames(m.atoms, n01, False))
        tp = per_frame(m, frames(m.atoms, nprob, True))
        print(f"| `{text}` | {parts} | {t01:.2f} | {tsig:.2f} | {tp:.2f} |")

    print("\n## StreamingSignal.push (µs per frame, 0/1)\n")
    print("| formula | horizon | µs |")
    print("|---|---:|---:|")
    for text in SIMPLE:
        print(f"| `{text}` | {StreamingSignal(text).horizon} | {push_per_frame(text, n01):.2f} |")

    print("\n## Rule specs at 60 fps, 0/1 frames\n")
    print("| formula | build s | parts (states) | µs per frame |")
    print("|---|---:|---|---:|")
    for text in RULES_60FPS:
        t = time.perf_counter()
        m = Monitor(text, fps=60)
        build = time.perf_counter() - t
        parts = ", ".join(str(a.n_states) if a is not None else "stream" for _, a in m.parts)
        us = per_frame(m, frames(m.atoms, n01 // 5, False), repeat=1)
        print(f"| `{text}` | {build:.1f} | {parts} | {us:.1f} |")


if __name__ == "__main__":
    main()
