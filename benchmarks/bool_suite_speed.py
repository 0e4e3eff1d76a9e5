"""Boolean-signal throughput on every suite spec, measured as benchmarks/suite/core.py
``_bool_cell`` does ("frames/s excl. compile": an ``Evaluator`` built once, best of
``--repeat`` calls on a ``TraceTable`` of 1,000,000 frames, glibc's mmap threshold
fixed at 128 KiB as in the suite run), plus the program alone on the selected columns.

    python -m benchmarks.bool_suite_speed [--frames N] [--fps 5 10 30 60] [--spec SUBSTR]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from benchmarks.suite import measure as M  # noqa: E402
from benchmarks.suite.specs import SPECS  # noqa: E402
from benchmarks.suite.traces import boolean_trace  # noqa: E402
from framelogic.automata.engine import Evaluator  # noqa: E402
from framelogic.logic.passes import atom_names  # noqa: E402
from framelogic.logic.trace import as_trace  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--fps", type=float, nargs="*", default=[5, 10, 30, 60])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--spec", default="")
    args = ap.parse_args()
    M.fix_mmap_threshold()
    print(f"{args.frames} frames, best of {args.repeat}; M frames/s excl. compile (program alone)")
    print("| spec | " + " | ".join(f"{f:g} fps" for f in args.fps) + " |")
    print("|---|" + "---|" * len(args.fps))
    worst = float("inf")
    for si, spec in enumerate(SPECS):
        if args.spec not in spec.name:
            continue
        cells = []
        for fps in args.fps:
            seed = 1000 * si + int(fps)
            tb = as_trace(boolean_trace(spec.atoms, args.frames, fps, seed))
            ev = Evaluator(spec.formula)
            ev.boolean_program(fps)
            ev(tb, fps=fps)
            best, _ = M.best_time(lambda: ev(tb, fps=fps), args.repeat)
            prog, values = ev.boolean_program(fps), tb.select(atom_names(ev.formula)).values
            kern, _ = M.best_time(lambda: prog(values), args.repeat)
            rate = args.frames / best / 1e6
            worst = min(worst, rate)
            cells.append(f"{rate:.2f} ({args.frames / kern / 1e6:.2f})")
        print(f"| {spec.name} | " + " | ".join(cells) + " |", flush=True)
    print(f"worst: {worst:.2f} M frames/s")


if __name__ == "__main__":
    main()
