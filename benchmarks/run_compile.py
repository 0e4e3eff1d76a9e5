"""Compile times: compositional construction vs the monolithic one, and the budget.

    python -m benchmarks.run_compile            # every spec
    python -m benchmarks.run_compile --quick    # skip the slow monolithic runs

Prints a markdown table: best-of-``--repeat`` wall time of ``compile`` (the
default, compositional) and of ``compile(..., compose=False)`` (progression over
all letters, then minimization), the minimal DFA's states, and peak memory.
A second table shows how fast the default budget stops oversized specs.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from framelogic.automata import compile  # noqa: E402
from framelogic.logic import parse  # noqa: E402
from framelogic.logic.errors import AutomatonTooLarge  # noqa: E402


def response(p: str, q: str, k: int) -> str:
    return f"G ({p} -> F[0,{k}] {q})"


SPECS = [
    ("F p1 & ... & F p8", " & ".join(f"F p{i}" for i in range(1, 9)), True),
    ("G (a -> F[0,10] b)", response("a", "b", 10), True),
    ("G (a -> F[0,100] b)", response("a", "b", 100), True),
    ("G (a -> F[0,1000] b)", response("a", "b", 1000), True),
    ("3 response rules, bound 30", " & ".join(response(f"a{i}", f"b{i}", 30) for i in range(3)), False),
    (
        "red/ped/stop_sign rules at 30 fps (90/60/150)",
        " & ".join([response("red", "stopped", 90), response("ped", "brake", 60), response("stop_sign", "stopped", 150)]),
        False,
    ),
    ("G (p1 -> F p2) & ... over 12 atoms", " & ".join(f"G (p{2 * i + 1} -> F p{2 * i + 2})" for i in range(6)), False),
    ("F p1 & ... & F p10", " & ".join(f"F p{i}" for i in range(1, 11)), False),
    ("F p1 & ... & F p12", " & ".join(f"F p{i}" for i in range(1, 13)), False),
]

OVERSIZED = [
    ("G[0,100] F[0,100] G[0,100] F[0,100] a", "G[0,100] F[0,100] G[0,100] F[0,100] a"),
    ("ten F[0,200] ai", " & ".join(f"F[0,200] a{i}" for i in range(10))),
    ("three response rules, bound 1000", " & ".join(response(f"a{i}", f"b{i}", 1000) for i in range(3))),
]


def timed(repeat: int, **kw):  # type: ignore[no-untyped-def]
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = compile(**kw)
        best = min(best, time.perf_counter() - t)
    return best, out


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fmt(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="run the monolithic construction only where it is fast")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--monolithic-seconds", type=float, default=60.0, help="max_seconds of a monolithic run")
    args = ap.parse_args()
    compile("a U b")  # warm imports
    print("| spec | compositional | monolithic | states | peak RSS |")
    print("|---|---|---|---|---|")
    for label, text, mono_fast in SPECS:
        f = parse(text)
        t, d = timed(args.repeat, formula=f)
        if args.quick and not mono_fast:
            mono = "skipped (--quick)"
        else:
            try:
                tm, m = timed(1 if not mono_fast else args.repeat, formula=f, compose=False,
                              max_seconds=args.monolithic_seconds, max_states=10**7, max_cells=1 << 28)
                assert m.n_states == d.n_states
                mono = fmt(tm)
            except AutomatonTooLarge as e:
                mono = "over budget: " + str(e).split(" exceeds ")[1].split(" (")[0]
        print(f"| {label} | {fmt(t)} | {mono} | {d.n_states:,} | {peak_mb():,.0f} MB |")
    print()
    print("| oversized spec (default budget) | fails after | limit hit |")
    print("|---|---|---|")
    for label, text in OVERSIZED:
        t = time.perf_counter()
        try:
            compile(text)
            hit = "compiled?!"
        except AutomatonTooLarge as e:
            hit = str(e).split(" exceeds ")[1].split(" (")[0]
        print(f"| {label} | {fmt(time.perf_counter() - t)} | {hit} |")
    print(f"\npeak RSS of the process: {peak_mb():,.0f} MB")


if __name__ == "__main__":
    main()
