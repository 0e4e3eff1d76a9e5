"""Throughput of the compositional boolean evaluator (framelogic.automata.boolean).

    python -m benchmarks.boolean_program            # 1M frames
    python -m benchmarks.boolean_program --frames 200000

For each spec, at its bounds x1 and x12 (the cost should not depend on the
bounds), prints nodes, best-of-3 wall time and frames per second on random 0/1
traces. One core: numpy's threads are pinned to one.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from framelogic.automata.boolean import BooleanProgram  # noqa: E402
from framelogic.logic import parse  # noqa: E402

SPECS = [
    ("G (red -> F[0,{90}] stopped) & G (ped -> F[0,{60}] brake) & G (stop_sign -> F[0,{150}] stopped)"),
    ("G (turn -> H[0,{60}] signal) & G (signal -> F[0,{90}] turn)"),
    ("G (a -> F[{60},{120}] b)"),
    ("F[0,{300}] (ped & F[0,{30}] (brake & F[0,{15}] stopped))"),
    ("G (brake -> (brake U[0,{30}] stopped)) & G (ped S[0,{45}] red -> !go)"),
]


def scaled(template: str, factor: int) -> str:
    import re

    return re.sub(r"\{(\d+)\}", lambda m: str(int(m.group(1)) * factor), template)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--density", type=float, default=0.3, help="probability that an atom is true")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"{args.frames} frames, density {args.density}, best of {args.repeat}")
    print("| spec | bounds | nodes | ms (bool input) | M frames/s | ms (float64 input) | M frames/s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for template in SPECS:
        for factor in (1, 12):
            f = parse(scaled(template, factor))
            prog = BooleanProgram(f)
            values = rng.random((args.frames, len(prog.names))) < args.density
            cells = [f"`{scaled(template, 1)}`", f"x{factor}", str(prog.size)]
            for v in (values, values.astype(np.float64)):
                best = float("inf")
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    prog(v)
                    best = min(best, time.perf_counter() - t)
                cells += [f"{best * 1e3:.1f}", f"{args.frames / best / 1e6:.1f}"]
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
