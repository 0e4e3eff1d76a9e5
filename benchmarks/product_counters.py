"""Product counters of rules that share propositions (issue 9, section 2): frames/s,
states and state-frames/s per spec and frame rate, on the suite's probability traces.

    python -m benchmarks.product_counters [--frames 100000] [--fps 5 10 30 60] [--old] [--cap 60]

Rates are per CPU second (``time.process_time``; the 2-core box is shared, so wall
time is printed too). ``--old`` also runs the axis-by-axis product (conditioned on the shared atoms' values)
the pair kernel replaced. Runs on one core (numba's threads pinned to one); a cell
that would take more than ``--cap`` seconds (estimated from 2,000 frames) is skipped.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.suite.traces import boolean_trace, probability_trace
from framelogic.automata import kernels as K
from framelogic.automata.counters import product, rules_of
from framelogic.automata.plan import _Columns
from framelogic.logic import parse
from framelogic.logic.passes import atom_names, resolve_time

SPECS = {
    "since with deadline": "G (moving -> (!red S[0,10s] green)) & G (brake -> O[0,1s] (ped | red | car_close))",
    "signal around turn": "G (turn -> H[0,2s] signal) & G (signal -> F[0,3s] turn)",
    "until with deadlines": "G (yellow -> (!accel U[0,3s] red)) & G (red -> (!accel U[0,20s] green))",
}


def run(counter, values: np.ndarray, names: tuple[str, ...], pair: bool) -> tuple[float, float, np.ndarray]:
    """(wall s, CPU s, signal): CPU time is what the cell costs on a shared box."""
    cols = _Columns(values, {x: j for j, x in enumerate(names)})
    t0, c0 = time.perf_counter(), time.process_time()
    out = counter(cols.prob, len(values), pair=pair)
    return time.perf_counter() - t0, time.process_time() - c0, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--fps", type=float, nargs="*", default=[5, 10, 30, 60])
    ap.add_argument("--spec", nargs="*", default=list(SPECS))
    ap.add_argument("--old", action="store_true")
    ap.add_argument("--cap", type=float, default=60.0)
    a = ap.parse_args()
    try:
        import numba

        numba.set_num_threads(1)
    except ImportError:
        pass
    K.JIT_THRESHOLD = 0  # compiled loops at every length (compile once, below)
    print("| spec | fps | method | states | frames/s (CPU) | state-frames/s (CPU) | CPU s | wall s | max abs diff vs pair |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in a.spec:
        for fps in a.fps:
            f = resolve_time(parse(SPECS[name]), fps)
            names = tuple(atom_names(f))
            table = probability_trace(boolean_trace(names, a.frames, fps), a.frames)
            values = np.stack([table[x] for x in names], axis=1)
            counter = product(rules_of(f))
            ref = None
            for pair in [True, False] if a.old else [True]:
                run(counter, values[:50], names, pair)  # compile
                _, t_small, _ = run(counter, values[:2000], names, pair)
                if t_small * len(values) / 2000 > a.cap:
                    print(f"| {name} | {fps:g} | {'pair' if pair else 'axes'} | {counter.n_states:,} | "
                          f"skipped (~{t_small * len(values) / 2000:.0f} s > cap) | | | | |")
                    continue
                wall, t, out = run(counter, values, names, pair)
                diff = "" if ref is None else f"{np.max(np.abs(out - ref)):.1e}"
                ref = out if ref is None else ref
                n = len(values)
                print(f"| {name} | {fps:g} | {'pair' if pair else 'axes'} | {counter.n_states:,} | {n / t:,.0f} | "
                      f"{n * counter.n_states / t / 1e6:,.1f}M | {t:.2f} | {wall:.2f} | {diff} |", flush=True)


if __name__ == "__main__":
    main()
