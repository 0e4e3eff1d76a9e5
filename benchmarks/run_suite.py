"""Driving-spec benchmark suite (issue 9), side by side with the old engine and the peers.

    python -m benchmarks.run_suite                  # full run (about 10 minutes)
    python -m benchmarks.run_suite --quick          # smoke test: small traces, 5 and 60 fps
    python -m benchmarks.run_suite --out benchmarks/results/suite.md

Prints progress lines, then the markdown report (also written to ``--out``).
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import sys  # noqa: E402

from benchmarks.suite.core import QUICK, Config, run  # noqa: E402
from benchmarks.suite.report import render  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small traces and two sampling rates (under ~2 minutes)")
    ap.add_argument("--out", help="write the markdown report here too")
    ap.add_argument("--n-bool", type=int, help="frames per boolean trace (default 1,000,000; quick 100,000)")
    ap.add_argument("--n-prob", type=int, help="frames per probability trace (default 100,000; quick 20,000)")
    ap.add_argument("--cap", type=float, help="seconds one new-engine cell may take (default 60; quick 5)")
    ap.add_argument("--legacy", action=argparse.BooleanOptionalAction, default=None,
                    help="re-run run_automata's NSVS-TL and TLV rows at its quick sizes (default: on, off with --quick)")
    args = ap.parse_args(argv)
    cfg = QUICK if args.quick else Config()
    changes = {} if args.legacy is None else {"legacy": args.legacy}
    if args.n_bool:
        changes["n_bool"] = args.n_bool
    if args.n_prob:
        changes["n_prob"] = args.n_prob
    if args.cap:
        changes["cap_s"] = args.cap
    cfg = dataclasses.replace(cfg, **changes)
    res = run(cfg, log=lambda line: print(line, file=sys.stderr, flush=True))
    res.command = " ".join(["python -m benchmarks.run_suite", *(sys.argv[1:] if argv is None else argv)])
    text = render(res)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
