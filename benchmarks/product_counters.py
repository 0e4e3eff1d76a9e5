"""Product counters of rules that share propositions (issue 9, section 2): frames/s,
states and state-frames/s per spec and frame rate, on the suite's probability traces.

    python -m benchmarks.product_counters [--frames 100000] [--fps 5 10 30 60] [--old] [--cap 60]
        [--spec NAME ...] [--plan-fps 5 10] [--max-states 300000]

Two rules run the pair kernel, three or more the joint kernel (``pair``/``joint``
rows). Rates are per CPU second (``time.process_time``; the 2-core box is shared, so wall
time is printed too). ``--old`` also runs the axis-by-axis product (conditioned on the
shared atoms' values) those kernels replaced. Runs on one core (numba's threads pinned
to one); a cell that would take more than ``--cap`` seconds (estimated from 2,000
frames) is skipped, its estimated rate printed. The last table times the whole
planner on the suite's 10-atom spec (a 4-rule product and an independent rule) at
``--plan-fps`` with ``--max-states`` (10 fps needs 221,991 product states).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.suite.traces import boolean_trace, probability_trace
from framelogic.automata import kernels as K
from framelogic.automata.counters import product, rules_of
from framelogic.automata.plan import _Columns, plan
from framelogic.logic import parse
from framelogic.logic.passes import atom_names, resolve_time

SPECS = {
    "since with deadline": "G (moving -> (!red S[0,10s] green)) & G (brake -> O[0,1s] (ped | red | car_close))",
    "signal around turn": "G (turn -> H[0,2s] signal) & G (signal -> F[0,3s] turn)",
    "until with deadlines": "G (yellow -> (!accel U[0,3s] red)) & G (red -> (!accel U[0,20s] green))",
    "3 rules sharing": "G (red -> F[0,3s] stopped) & G (ped -> F[0,2s] brake) & G (brake -> O[0,1s] (ped | red | car_close))",
    "4 rules sharing": "G (red -> F[0,3s] stopped) & G (ped -> F[0,2s] brake) & G (brake -> O[0,1s] (ped | red | car_close)) "
    "& G (yellow -> (!accel U[0,3s] (red | stop_sign)))",
}
TEN_ATOMS = (
    "G (red -> F[0,3s] stopped) & G (ped -> F[0,2s] brake) & G (brake -> O[0,1s] (ped | red | car_close)) "
    "& G (turn -> H[0,2s] signal) & G (yellow -> (!accel U[0,3s] (red | stop_sign)))"
)
METHODS = {"pair": {}, "joint": {"joint": True}, "axes": {"pair": False, "joint": False}}


def run(counter, values: np.ndarray, names: tuple[str, ...], method: str) -> tuple[float, float, np.ndarray]:
    """(wall s, CPU s, signal): CPU time is what the cell costs on a shared box."""
    cols = _Columns(values, {x: j for j, x in enumerate(names)})
    t0, c0 = time.perf_counter(), time.process_time()
    out = counter(cols.prob, len(values), **METHODS[method])
    return time.perf_counter() - t0, time.process_time() - c0, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--fps", type=float, nargs="*", default=[5, 10, 30, 60])
    ap.add_argument("--spec", nargs="*", default=list(SPECS))
    ap.add_argument("--old", action="store_true")
    ap.add_argument("--cap", type=float, default=60.0)
    ap.add_argument("--plan-fps", type=float, nargs="*", default=[5, 10])
    ap.add_argument("--max-states", type=int, default=300_000)
    a = ap.parse_args()
    try:
        import numba

        numba.set_num_threads(1)
    except ImportError:
        pass
    K.JIT_THRESHOLD = 0  # compiled loops at every length (compile once, below)
    print("| spec | fps | method | states | frames/s (CPU) | state-frames/s (CPU) | CPU s | wall s | max abs diff vs new |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in a.spec:
        for fps in a.fps:
            f = resolve_time(parse(SPECS[name]), fps)
            names = tuple(atom_names(f))
            table = probability_trace(boolean_trace(names, a.frames, fps), a.frames)
            values = np.stack([table[x] for x in names], axis=1)
            counter = product(rules_of(f))
            ref = None
            new = "pair" if len(counter.rules) == 2 else "joint"
            for method in [new, "axes"] if a.old else [new]:
                run(counter, values[:50], names, method)  # compile
                _, t_small, _ = run(counter, values[:2000], names, method)
                if t_small * len(values) / 2000 > a.cap:
                    print(f"| {name} | {fps:g} | {method} | {counter.n_states:,} | "
                          f"skipped (~{t_small * len(values) / 2000:.0f} s > cap) | "
                          f"~{2000 * counter.n_states / t_small / 1e6:,.1f}M (2,000 frames) | | | |", flush=True)
                    continue
                wall, t, out = run(counter, values, names, method)
                diff = "" if ref is None else f"{np.max(np.abs(out - ref)):.1e}"
                ref = out if ref is None else ref
                n = len(values)
                print(f"| {name} | {fps:g} | {method} | {counter.n_states:,} | {n / t:,.0f} | "
                      f"{n * counter.n_states / t / 1e6:,.1f}M | {t:.2f} | {wall:.2f} | {diff} |", flush=True)
    if not a.plan_fps:
        return
    print()
    print(f"10-atom spec through the planner (max_states={a.max_states:,}): `{TEN_ATOMS}`")
    print()
    print("| fps | plan | product states | frames/s (CPU) | state-frames/s (CPU) | CPU s | wall s |")
    print("|---|---|---|---|---|---|---|")
    for fps in a.plan_fps:
        f = resolve_time(parse(TEN_ATOMS), fps)
        names = tuple(atom_names(f))
        table = probability_trace(boolean_trace(names, a.frames, fps), a.frames)
        p = plan(f, max_states=a.max_states)
        values = np.stack([table[x] for x in p.names], axis=1)
        p(values[:50])  # compile
        t0, c0 = time.perf_counter(), time.process_time()
        p(values)
        wall, t = time.perf_counter() - t0, time.process_time() - c0
        states = sum(p.stats.counter_states)
        print(f"| {fps:g} | {p.describe()} | {states:,} | {len(values) / t:,.0f} | "
              f"{len(values) * states / t / 1e6:,.1f}M | {t:.2f} | {wall:.2f} |", flush=True)

if __name__ == "__main__":
    main()
