"""Cost of exact inference under the Markov world against the independent world.

For each spec: an :class:`~framelogic.automata.Evaluator` on a ``--frames``
probability trace under ``Independent()`` and under ``Markov(stay=0.95)`` (best
of ``--repeat`` calls; automaton construction and numba compilation excluded by
a warm-up call, on both sides), and the ratio. The issue's target is a ratio of
at most 3 on typical specs.

    python benchmarks/world_speed.py [--frames 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from framelogic.automata import Evaluator, Markov
from framelogic.logic import parse
from framelogic.logic.passes import atom_names
from framelogic.logic.trace import TraceTable

SPECS = ["p & q", "p U q", "G (p -> F[0,30] q)", "G (p -> F[0,1s] q) & G (r -> F[0,2s] s)", "p S q", "F (q & Y p)"]


def trace(names: tuple[str, ...], n: int, seed: int = 0) -> TraceTable:
    """Persistent truth (runs of about 1 s at 30 fps) seen through noisy scores."""
    rng = np.random.default_rng(seed)
    cols = []
    for _ in names:
        flips = rng.random(n) < 1 / 30
        truth = np.cumsum(flips) % 2
        z = np.where(truth == 1, 1.5, -1.5) + rng.normal(0, 1.2, n)
        cols.append(1 / (1 + np.exp(-z)))
    return TraceTable(names, np.column_stack(cols), None, 30.0)


def best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm-up: numba compilation, automaton construction
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    world = Markov(stay=0.95)
    print(f"{args.frames} frames at 30 fps; best of {args.repeat}; Markov(stay=0.95)")
    print("| spec | independent ms | Markov ms | ratio |\n|---|---|---|---|")
    for text in SPECS:
        f = parse(text)
        t = trace(atom_names(f), args.frames)
        independent, markov = Evaluator(f), Evaluator(f, world=world)
        ind = best(lambda: independent(t), args.repeat)
        mar = best(lambda: markov(t), args.repeat)
        print(f"| `{text}` | {ind * 1e3:.1f} | {mar * 1e3:.1f} | {mar / ind:.1f} |")


if __name__ == "__main__":
    main()
