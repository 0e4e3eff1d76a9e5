"""Boolean-signal throughput on every suite spec, measured as benchmarks/suite/core.py
``_bool_cell`` does ("frames/s excl. compile": an ``Evaluator`` built once, best of
``--repeat`` calls on a ``TraceTable`` of 1,000,000 frames, glibc's mmap threshold
fixed at 128 KiB as in the suite run).

    python -m benchmarks.bool_suite_speed [--frames N] [--fps 5 10 30 60] [--spec SUBSTR] [--old REV]

Each cell: M frames/s through ``Evaluator`` (wall clock, best of ``--repeat``), then in
brackets the same from CPU time (``time.process_time``: what this process ran, less
sensitive to other work on the box), and the evaluator's 0/1 path as it would be with
``BooleanProgram.signal`` (the table's columns and one checking pass instead of separate
``== 1`` / ``== 0`` tests and a float conversion; wall clock). With ``--old REV``, a
second row per spec runs automata/boolean.py as of git revision REV through the same
evaluator, interleaved with the new one (same load).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from benchmarks.suite import measure as M  # noqa: E402
from benchmarks.suite.specs import SPECS  # noqa: E402
from benchmarks.suite.traces import boolean_trace  # noqa: E402
from framelogic.automata import boolean as new_boolean  # noqa: E402
from framelogic.automata.engine import Evaluator  # noqa: E402
from framelogic.logic.passes import atom_names  # noqa: E402
from framelogic.logic.trace import as_trace  # noqa: E402


def cpu_best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def load_old(rev: str):
    src = subprocess.run(["git", "show", f"{rev}:automata/boolean.py"], capture_output=True, text=True, check=True).stdout
    path = f"/tmp/_old_boolean_{os.getpid()}.py"
    with open(path, "w") as fh:
        fh.write(src)
    spec = importlib.util.spec_from_file_location("_old_boolean", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["_old_boolean"] = mod
    spec.loader.exec_module(mod)
    return mod


def cell(module, spec, tb, fps, repeat, n) -> tuple[float, str]:
    new_boolean.BooleanProgram, saved = module.BooleanProgram, new_boolean.BooleanProgram
    try:
        ev = Evaluator(spec.formula)
        ev.boolean_program(fps)
        ev(tb, fps=fps)
        best, out = M.best_time(lambda: ev(tb, fps=fps), repeat)
        cpu = cpu_best(lambda: ev(tb, fps=fps), repeat)
        extra = ""
        prog = ev.boolean_program(fps)
        if hasattr(prog, "signal"):
            names = atom_names(ev.formula)
            fused, got = M.best_time(lambda: prog.signal(tb.columns(names)), repeat)
            assert np.array_equal(got, out)
            extra = f"; {n / fused / 1e6:.2f}"
        return n / best / 1e6, f"{n / best / 1e6:.2f} ({n / cpu / 1e6:.2f}{extra})"
    finally:
        new_boolean.BooleanProgram = saved


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--fps", type=float, nargs="*", default=[5, 10, 30, 60])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--spec", default="")
    ap.add_argument("--old", default=None, help="git revision of automata/boolean.py to compare with")
    args = ap.parse_args()
    M.fix_mmap_threshold()
    old = load_old(args.old) if args.old else None
    print(f"{args.frames} frames, best of {args.repeat}; M frames/s excl. compile, wall (CPU; with signal())")
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    print("| spec | code | " + " | ".join(f"{f:g} fps" for f in args.fps) + " |")
    print("|---|---|" + "---|" * len(args.fps))
    worst = float("inf")
    for si, spec in enumerate(SPECS):
        if args.spec not in spec.name:
            continue
        rows: dict[str, list[str]] = {"new": [], "old": []}
        for fps in args.fps:
            seed = 1000 * si + int(fps)
            tb = as_trace(boolean_trace(spec.atoms, args.frames, fps, seed))
            rate, text = cell(new_boolean, spec, tb, fps, args.repeat, args.frames)
            worst = min(worst, rate)
            rows["new"].append(text)
            if old is not None:
                rows["old"].append(cell(old, spec, tb, fps, args.repeat, args.frames)[1])
        for code, cells in rows.items():
            if cells:
                label = "new" if code == "new" else f"old ({args.old})"
                print(f"| {spec.name} | {label} | " + " | ".join(cells) + " |", flush=True)
    print(f"worst (new, wall): {worst:.2f} M frames/s; load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
