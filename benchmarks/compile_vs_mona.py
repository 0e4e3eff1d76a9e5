"""compile vs ltlf2dfa + MONA on the four 8-atom suite specs (and G (a -> F[0,k] b)),
timed as benchmarks/suite/core.py ``bench_compile`` does: parse + compile to the minimal
DFA, best of ``--repeat`` (no state kept between calls), against ltlf2dfa's parse and
translation plus the ``mona`` run, best of ``--repeat``.

    python -m benchmarks.compile_vs_mona [--repeat 5] [--ks 10 100] [--cap 10]
"""

from __future__ import annotations

import argparse
import subprocess

from benchmarks.suite.core import _ltlf_parser, _mona_compile, _ours_compile
from benchmarks.suite.specs import compile_specs, to_ltlf
from framelogic.logic import parse


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--ks", type=int, nargs="*", default=[])
    ap.add_argument("--no-mona", action="store_true")
    ap.add_argument("--cap", type=float, default=10.0, help="seconds for one ltlf2dfa+MONA compile")
    args = ap.parse_args()
    mona = not args.no_mona and subprocess.run(["which", "mona"], capture_output=True).returncode == 0
    if mona:
        _ltlf_parser()
    print("| spec | framelogic ms (states) | ltlf2dfa+MONA ms (states) | ratio |")
    print("|---|---|---|---|")
    for label, text, eight in compile_specs(tuple(args.ks)):
        ours, states = _ours_compile(text, args.repeat)
        cells = [f"{ours * 1e3:.2f} ({states})", "—", "—"]
        if mona:
            try:
                theirs, mstates, _ = _mona_compile(to_ltlf(parse(text)), args.cap, args.repeat)
            except (subprocess.TimeoutExpired, RecursionError) as e:
                cells[1] = f"fails: {type(e).__name__}"
            else:
                cells[1:] = [f"{theirs * 1e3:.2f} ({mstates})", f"{theirs / ours:.1f}x faster" if ours < theirs else f"{ours / theirs:.1f}x SLOWER"]
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
