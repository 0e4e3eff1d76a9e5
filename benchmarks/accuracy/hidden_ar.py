"""The Hidden world with and without a candidate observation model, on chosen cells of the world benchmark.

    python -m benchmarks.accuracy.hidden_ar [--cells "p & q:ar1-heavy/high" ...] [--test N] [--train N] [--frames N]
                                            [--before independent ar1] [--after independent ar1 detector]

Runs :func:`.worlds.run_table` on the given cells (default: the cells where the
fitted Hidden world was not best in ``benchmarks/results/accuracy_world.md``)
with the fitted Hidden world twice — ``fit_hidden(noise=BEFORE)`` and
``fit_hidden(noise=AFTER)`` (``--before`` / ``--after``; default: sub-state models
only, then fit_hidden's default candidates, with AR(1) noise; ``--before independent
ar1 --after independent ar1 detector`` measures the truth x detector chain; every
candidate is chosen on the training split) — and the independent world and
the baselines (no Markov rows; NSVS-TL's rows are read from the report,
:func:`recorded_nsvs`). Prints, per cell, frame F1 and event
F1 of both fitted-decision rows, the best other method, and whether each row is
best (ties within 1e-9 allowed), plus the fitted models' choice.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import worlds
from .data import TEMPLATES
from .methods import logstop, per_frame_threshold
from .noise import EXACT, noise_model
from .worlds import (
    DEFAULT_OUT,
    HIDDEN,
    INDEPENDENT,
    TIE,
    WorldMethod,
    _base,
    _by_cell,
    _fixed,
    _hidden,
    _independent,
    _median,
    _threshold,
    cells,
    run_table,
)

BEFORE = "Hidden before, fitted decision"

#: cells where the fitted Hidden world (independent emissions) was not best (accuracy_world.md)
LOSING = (
    ("F p", "ar1-geometric", "high"), ("F p", "ar1-heavy", "medium"), ("F p", "ar1-heavy", "high"),
    ("F p", "miscalibrated", "high"), ("G p", "ar1-geometric", "medium"), ("G p", "ar1-geometric", "high"),
    ("G p", "ar1-heavy", "high"), ("G p", "miscalibrated", "high"), ("p & q", "ar1-geometric", "high"),
    ("p & q", "ar1-heavy", "medium"), ("p & q", "ar1-heavy", "high"), ("p & q", "bursts", "high"),
    ("p & q", "miscalibrated", "high"), ("p U q", "ar1-heavy", "high"), ("p U q", "bursts", "high"),
    ("(p & q) U r", "ar1-geometric", "high"), ("(p & q) U r", "ar1-heavy", "high"), ("(p & q) U r", "bursts", "high"),
)  # fmt: skip


def methods(before: tuple[str, ...] = ("independent",), after: tuple[str, ...] | None = None) -> list[WorldMethod]:
    return [
        WorldMethod(BEFORE, _hidden("fitted", before)),
        WorldMethod(HIDDEN, _hidden("fitted", after)),
        WorldMethod(INDEPENDENT, _independent),
        WorldMethod("per-frame threshold", _fixed(per_frame_threshold)),
        WorldMethod("per-frame threshold (θ fitted)", _threshold),
        WorldMethod("LogSTOP-style", _fixed(logstop)),
        WorldMethod("median filter (window, θ fitted), threshold", _median),
    ]


def recorded_nsvs(path: Path = DEFAULT_OUT) -> dict[tuple[str, str, str], tuple[float, float]]:
    """``(template, model, level) -> (frame F1, event F1)``, the better NSVS-TL row of each cell
    in the world benchmark's report (NSVS-TL needs stormpy; its rows are read, not rerun:
    the test inputs are the same seeded videos)."""
    out: dict[tuple[str, str, str], tuple[float, float]] = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cols) == 9 and cols[3].startswith("NSVS-TL"):
            key = (cols[0], cols[1], cols[2])
            f1, ef1 = float(cols[6]), float(cols[7])
            old = out.get(key, (0.0, 0.0))
            out[key] = (max(old[0], f1), max(old[1], ef1))
    return out


def _describe(m: object) -> str:
    """A fitted model in a few characters: ``ar1``, ``K=4``, ``det`` / ``ar1+det`` (truth x detector)."""
    kind = ("ar1+det" if m.rho else "det") if m.burst else ("ar1" if m.rho else f"K={m.k}")  # type: ignore[attr-defined]
    return kind + (f"x{m.k // 4}" if m.burst and m.k > 4 else "")  # type: ignore[attr-defined]


def _parse(cell: str) -> tuple[str, str, str]:
    template, _, rest = cell.rpartition(":")
    model, _, level = rest.partition("/")
    noise_model(model)
    return template, model, level


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.accuracy.hidden_ar", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--cells", nargs="*", help='"TEMPLATE:MODEL/LEVEL" (default: the losing cells)')
    ap.add_argument("--others", action="store_true", help="every cell of the world benchmark but the losing ones")
    ap.add_argument("--test", type=int, default=20)
    ap.add_argument("--train", type=int, default=10)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--before", nargs="+", default=["independent"], help="fit_hidden's noise= of the before row")
    ap.add_argument("--after", nargs="+", default=None, help="fit_hidden's noise= of the after row (default: its default)")
    args = ap.parse_args(argv)
    chosen = [_parse(c) for c in args.cells] if args.cells else list(LOSING)
    if args.others:
        every = [(t, c.model, c.level) for t in TEMPLATES for c, _ in cells([t])]
        chosen = [c for c in every if c not in LOSING]
    print(f"{args.test} test / {args.train} training videos of {args.frames} frames per cell, seed {args.seed}")
    print("| template | noise | frame F1 before | frame F1 after | event F1 before | event F1 after | best other (frame / event) | model chosen (after) | best after (frame / event) |")
    print("|---|---|---|---|---|---|---|---|---|")
    wins = {"before": [0, 0], "after": [0, 0]}
    nsvs = recorded_nsvs()
    start = time.perf_counter()
    for template, model, level in chosen:
        m = noise_model(model)
        if model == EXACT.name:
            rows = run_table(methods(tuple(args.before), None if args.after is None else tuple(args.after)), test=args.test, train=args.train, frames=args.frames, seed=args.seed,
                             templates=[template], models=[], levels=[])  # fmt: skip
        else:
            rows = run_table(methods(tuple(args.before), None if args.after is None else tuple(args.after)), test=args.test, train=args.train, frames=args.frames, seed=args.seed,
                             templates=[template], models=[m], levels=[level], exact=False)  # fmt: skip
        rs = [r for r in _by_cell(rows)[(template, f"{model}/{level}")]]
        before = next(r for r in rs if r.method.startswith(BEFORE))
        after = next(r for r in rs if _base(r.method) == HIDDEN)
        others = [r for r in rs if r is not before and r is not after]
        ns = nsvs.get((template, model, level), (0.0, 0.0))
        bf = max(max(r.f1 for r in others), ns[0])
        be = max(max(r.event_f1 for r in others), ns[1])
        want = None if args.after is None else tuple(args.after)
        w = next((v[1] for k, v in worlds._HIDDEN_FITS.items() if k[0] == template and k[2] == want), None)
        ar = "?" if w is None else ",".join(f"{a}:{_describe(x)}" for a, x in sorted(w.models.items()))
        ok = lambda v, b: "yes" if v + TIE >= b else "no"  # noqa: E731
        for key, r in (("before", before), ("after", after)):
            wins[key][0] += r.f1 + TIE >= bf
            wins[key][1] += r.event_f1 + TIE >= be
        print(f"| {template} | {model}/{level} | {before.f1:.3f} | {after.f1:.3f} | {before.event_f1:.3f} | "
              f"{after.event_f1:.3f} | {bf:.3f} / {be:.3f} | {ar} ({after.method.split('(')[-1].rstrip(')')}) | "
              f"{ok(after.f1, bf)} / {ok(after.event_f1, be)} |", flush=True)  # fmt: skip
    n = len(chosen)
    print(f"\nbest (ties allowed) in {n} cells: before frame {wins['before'][0]}/{n}, event {wins['before'][1]}/{n}; "
          f"after frame {wins['after'][0]}/{n}, event {wins['after'][1]}/{n}  ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
