"""Cost of exact inference under the Markov world against the independent world.

For each spec: an :class:`~framelogic.automata.Evaluator` on a ``--frames``
probability trace under ``Independent()`` and under ``Markov(stay=0.95)`` (best
of ``--repeat`` calls; automaton construction and numba compilation excluded by
a warm-up call, on both sides), and the ratio; also the Markov world through its
general loops (``world.REFERENCE``: normalised every frame, the evidence recomputed
per state; the code before the fast loops) for a before/after, and (``--specialised``) the fast loops
without the reset loops and paired chains (``world.SPECIALISED = False``: the response
rules' and the single-proposition parts' loops before them), timed in the same turns.
The issue's target
is a ratio of at most 3 on typical specs.

Times are the calling thread's CPU time (``--clock cpu``, the default), which a
busy shared machine disturbs far less than wall time; ``--clock wall`` for wall time.

With ``--calls N`` each side is timed over N calls on N different traces of
``--frames`` frames (the sum; e.g. ``--frames 200 --calls 500``, the accuracy
benchmark's short videos, where the cost per call matters), after one warm-up
round over all N.

    python benchmarks/world_speed.py [--frames 100000] [--calls 1] [--repeat 3] [--clock cpu|wall] [--no-general] [--specialised]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from framelogic.automata import Evaluator, Markov
from framelogic.automata import world as W
from framelogic.logic import parse
from framelogic.logic.passes import atom_names
from framelogic.logic.trace import TraceTable

SPECS = [
    "p & q", "p U q", "(p & q) U r", "G p", "F p", "G (p -> F[0,30] q)", "G (p -> F[0,1s] q) & G (r -> F[0,2s] s)",
    "p S q", "F (q & Y p)",
]  # fmt: skip


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


def many(fn, tables):  # type: ignore[no-untyped-def]
    """``fn`` over every table in turn."""

    def run():  # type: ignore[no-untyped-def]
        for t in tables:
            fn(t)

    return run


def best(fns, repeat: int, clock=time.thread_time) -> list[float]:  # type: ignore[no-untyped-def]
    """The best time of each of ``fns`` over ``repeat`` rounds, the functions taking turns
    within a round (so that the machine's and the allocator's state drift alike for all),
    after three warm-up rounds (numba compilation, automaton construction, the engines'
    own switches to compiled loops after some work)."""
    for _ in range(3):
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, ts in zip(fns, times):
            t0 = clock()
            fn()
            ts.append(clock() - t0)
    return [min(ts) for ts in times]


def general(fn):  # type: ignore[no-untyped-def]
    """``fn`` run through the Markov world's general loops."""

    def run():  # type: ignore[no-untyped-def]
        W.REFERENCE = True
        try:
            return fn()
        finally:
            W.REFERENCE = False

    return run


def plain(fn):  # type: ignore[no-untyped-def]
    """``fn`` run without the reset loops and paired chains (``world.SPECIALISED``)."""

    def run():  # type: ignore[no-untyped-def]
        W.SPECIALISED = False
        try:
            return fn()
        finally:
            W.SPECIALISED = True

    return run


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--calls", type=int, default=1, help="calls per timing, each on its own trace (the sum)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    ap.add_argument("--no-general", action="store_true", help="skip the general loops (the slow before column)")
    ap.add_argument("--specialised", action="store_true", help="also time world.SPECIALISED = False (a before column)")
    args = ap.parse_args(argv)
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    world = Markov(stay=0.95)
    calls = f" x {args.calls} calls (summed)" if args.calls > 1 else ""
    print(f"{args.frames} frames{calls} at 30 fps; best of {args.repeat}, {args.clock} time; Markov(stay=0.95)")
    head = "| spec | independent ms | Markov ms | ratio | general loops ms | ratio |"
    if args.specialised:
        head += " SPECIALISED=False ms | ratio |"
    print(head + "\n" + "|---" * (head.count("|") - 1) + "|")
    total = np.zeros(4)
    for text in SPECS:
        f = parse(text)
        tables = [trace(atom_names(f), args.frames, seed) for seed in range(args.calls)]
        independent, markov = Evaluator(f), Evaluator(f, world=world)
        fns = [many(independent, tables), many(markov, tables)]
        if not args.no_general:
            fns.append(general(many(markov, tables)))
        if args.specialised:
            fns.append(plain(many(markov, tables)))
        ind, mar, *rest = best(fns, args.repeat, clock)
        gen = np.nan if args.no_general else rest.pop(0)
        spe = rest.pop(0) if args.specialised else np.nan
        total += ind, mar, gen, spe
        print(row(text, ind, mar, gen, spe, args.specialised))
    print(row("all", *total, args.specialised))


def row(text: str, ind: float, mar: float, gen: float, spe: float, specialised: bool) -> str:
    """A table row (an empty cell for a column not timed)."""
    name = text if text == "all" else f"`{text}`"
    out = f"| {name} | {ind * 1e3:.1f} | {mar * 1e3:.1f} | {mar / ind:.1f} |"
    out += " | |" if np.isnan(gen) else f" {gen * 1e3:.1f} | {gen / ind:.1f} |"
    if specialised:
        out += f" {spe * 1e3:.1f} | {spe / ind:.1f} |"
    return out


if __name__ == "__main__":
    main()
