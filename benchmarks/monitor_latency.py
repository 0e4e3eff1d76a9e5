"""Monitor step latency on the driving suite: build time and µs per frame (0/1 and
probability frames) for every spec at 5/10/30/60 fps.

    python -m benchmarks.monitor_latency [--frames 3000] [--budget 3] [--fps 5,10,30,60] [--approx]

Each cell steps the monitor over the first frames of the suite's traces (at most
``--frames`` frames or ``--budget`` seconds, whichever comes first; the first 50
frames warm up caches and compiled kernels and are not timed). A monitor that cannot
follow probability frames says why (its AutomatonTooLarge message, shortened).
``--general`` also times the probability frames with the pair kernel off (two
counters through the general product, what the monitor did before; a large
``max_states`` so that it runs). ``--approx`` builds the monitors with ``approx="bounds"`` (parts over their budget
report certified bounds; the "how" column says which).
"""

from __future__ import annotations

import argparse
import time

from benchmarks.suite.specs import SPECS
from benchmarks.suite.traces import boolean_trace, frames, probability_trace
from framelogic.automata import monitor_counters as MC
from framelogic.automata.monitor import Monitor
from framelogic.logic.errors import AutomatonTooLarge

WARMUP = 50


def _time_steps(m: Monitor, rows: list[dict[str, float]], budget: float) -> tuple[float, int]:
    m.reset()
    for fr in rows[:WARMUP]:
        m.step(fr)
    n = 0
    t0 = time.perf_counter()
    for fr in rows[WARMUP:]:
        m.step(fr)
        n += 1
        if n % 64 == 0 and time.perf_counter() - t0 > budget:
            break
    return (time.perf_counter() - t0) / max(n, 1) * 1e6, n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=3000)
    ap.add_argument("--budget", type=float, default=3.0)
    ap.add_argument("--fps", default="5,10,30,60")
    ap.add_argument("--only", default="", help="substring of the spec names to run")
    ap.add_argument("--old", action="store_true", help="also time Monitor(counters=False) (automaton per part)")
    ap.add_argument("--approx", action="store_true", help='Monitor(..., approx="bounds")')
    ap.add_argument(
        "--general", action="store_true",
        help="also time probability frames with the pair kernel off (two counters through the general product)",
    )  # fmt: skip
    args = ap.parse_args()
    rates = [float(x) for x in args.fps.split(",")]
    old_cols = " old build (ms) | old 0/1 (µs) | old probability (µs) |" if args.old else ""
    print("| spec | fps | build (ms) | how | 0/1 frames (µs) | probability frames (µs) |" + old_cols)
    print("|---|---|---|---|---|---|" + ("---|---|---|" if args.old else ""))
    for spec in SPECS:
        if args.only and args.only not in spec.name:
            continue
        for fps in rates:
            n = args.frames + WARMUP
            truth = boolean_trace(spec.atoms, n, fps, seed=1)
            b_rows = frames(truth, n)
            p_rows = frames(probability_trace(truth, n, seed=1), n)
            t0 = time.perf_counter()
            m = Monitor(spec.text, fps=fps, approx="bounds" if args.approx else None)
            build = (time.perf_counter() - t0) * 1e3
            how = "; ".join(line.split(": ", 1)[1] for line in m.describe().splitlines())
            us01, k01 = _time_steps(m, b_rows, args.budget)
            try:
                usp, kp = _time_steps(m, p_rows, args.budget)
                prob = f"{usp:,.1f}" + (f" ({kp:,} frames)" if kp < args.frames else "")
            except AutomatonTooLarge as e:
                msg = str(e)
                prob = "AutomatonTooLarge: " + (msg[:110] + "…" if len(msg) > 110 else msg)
            if args.general:
                MC.PAIR_KERNEL = False
                g = Monitor(spec.text, fps=fps, max_states=10**7)
                try:
                    ug, kg = _time_steps(g, p_rows, args.budget)
                    prob += f" (general product: {ug:,.1f}" + (f", {kg:,} frames)" if kg < args.frames else ")")
                except AutomatonTooLarge:
                    prob += " (general product: AutomatonTooLarge)"
                finally:
                    MC.PAIR_KERNEL = True
            fps_s = f"{fps:g}"
            row = f"| {spec.name} | {fps_s} | {build:,.1f} | {how} | {us01:,.2f} | {prob} |"
            if args.old:
                t0 = time.perf_counter()
                old = Monitor(spec.text, fps=fps, counters=False)
                old_build = (time.perf_counter() - t0) * 1e3
                o01, _ = _time_steps(old, b_rows, args.budget)
                try:
                    op, kop = _time_steps(old, p_rows, args.budget)
                    oprob = f"{op:,.1f}" + (f" ({kop:,} frames)" if kop < args.frames else "")
                except AutomatonTooLarge:
                    oprob = "AutomatonTooLarge (a part has no automaton)"
                row += f" {old_build:,.1f} | {o01:,.2f} | {oprob} |"
            print(row, flush=True)


if __name__ == "__main__":
    main()
