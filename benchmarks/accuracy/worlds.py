"""World-model accuracy benchmark: persistent truth, temporally correlated noise.

    python -m benchmarks.accuracy.worlds [--quick] [--out FILE] [--no-monitor] [--no-rendered]

Three parts, all written to one markdown report (default
``benchmarks/results/accuracy_world.md``):

1. Templates x noise models x levels x methods (:func:`run_table`): for each
   cell, test videos and a separate labelled *training* split (another seed)
   are drawn from the same noise model and level (:mod:`.noise`). Methods that
   learn something learn it from the training split only: framelogic's Markov
   world (``fit_world`` on the training scores and labels) and the median
   filter's window (best training frame F1). Every method then gets identical
   test probabilities; the truth is the TLV rule (:func:`.data.ground_truth`)
   on the test labels. Metrics: frame P/R/F1 and event F1 at IoU >= 0.5.
2. Monitors on 10-minute driving traces at 30 fps (:func:`run_monitor`):
   false-violation rate of ``G (ped -> F[0,2s] stopped)`` on clean traces whose
   background probabilities reach 0.1, and detection delay on violating ones.
3. The bundled model on the hard rendered scenarios (:func:`run_rendered`):
   per-proposition AUROC.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import PROPS, TEMPLATES, ground_truth
from .methods import (
    Events,
    Probs,
    framelogic_method,
    framelogic_world,
    logstop,
    median_threshold,
    nsvs_available,
    nsvs_tl,
    per_frame_threshold,
)
from .metrics import frame_scores
from .noise import EXACT, LEVELS, NOISE_MODELS, NoiseModel, describe
from .report import Row, score

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "results" / "accuracy_world.md"
MARKOV = "framelogic Markov (fitted), P>=0.5"
MARKOV_VITERBI = "framelogic Markov (fitted), Viterbi"
INDEPENDENT = "framelogic independent, P>=0.5"
HIDDEN = "framelogic Hidden (fitted), fitted decision"
HIDDEN_THRESHOLD = "framelogic Hidden (fitted), P>=0.5"
HIDDEN_VITERBI = "framelogic Hidden (fitted), Viterbi"
#: the world-model rows of framelogic (compared with each other and with the rest)
FAMILY = (MARKOV, MARKOV_VITERBI, HIDDEN, HIDDEN_THRESHOLD, HIDDEN_VITERBI)
MEDIAN_WINDOWS = (3, 5, 9, 15)
THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)

Case = tuple[str, Probs, Events]  # (formula, test probabilities, true events)
Video = tuple[dict[str, np.ndarray], dict[str, np.ndarray]]  # (labels, scores)


@dataclass(frozen=True)
class WorldMethod:
    """A method whose ``fit(training videos)`` returns ``run(formula, probs) -> events``
    (fixed methods ignore the training split). ``fit`` returns None when the method
    cannot run here (its dependency is missing); its column then reads "pending"."""

    name: str
    fit: Callable[[str, Sequence[Video]], Callable[[str, Probs], Events] | None]
    max_frames: int | None = None


def _fixed(run: Callable[[str, Probs], Events]) -> Callable[[str, Sequence[Video]], Callable[[str, Probs], Events]]:
    return lambda template, train: run


def world_api() -> dict[str, object] | None:
    """framelogic's world-model API (``Independent``, ``Markov``, ``fit_world``), or None
    while :mod:`framelogic.automata.world` is not there."""
    try:
        from framelogic.automata import world
    except ImportError:
        return None
    names = ("Independent", "Markov", "fit_world")
    if not all(hasattr(world, n) for n in names):
        return None
    return {n: getattr(world, n) for n in names}


def fit_markov(template: str, train: Sequence[Video]) -> object:
    """``fit_world`` on the training split (one table per video): each proposition's
    stay probability, prior and Platt calibration."""
    api = world_api()
    if api is None:
        raise ImportError("framelogic.automata.world (Independent, Markov, fit_world) is not in this build")
    names = PROPS[template]
    scores = [{k: s[k] for k in names} for _, s in train]
    labels = [{k: lab[k] for k in names} for lab, _ in train]
    return api["fit_world"](scores, labels)  # type: ignore[operator]


def _markov(decision: str) -> Callable[[str, Sequence[Video]], Callable[[str, Probs], Events] | None]:
    def fit(template: str, train: Sequence[Video]) -> Callable[[str, Probs], Events] | None:
        if world_api() is None:
            return None
        world = fit_markov(template, train)
        run = framelogic_world(world, decision=decision)
        run.world = world  # type: ignore[attr-defined]
        return run

    return fit


_HIDDEN_FITS: dict[tuple, object] = {}


def fit_hidden_world(template: str, train: Sequence[Video], noise: Sequence[str] | None = None) -> object:
    """``fit_hidden`` on the training split: each proposition's hidden-state model (sub-states
    per truth value, or AR(1) logit noise, chosen on the training split) and, from the
    template's formula, the decision rule (a threshold on P(φ) or Viterbi, by training frame
    F1 + event F1 under the TLV rule). ``noise``: fit_hidden's observation models (None:
    its default). Cached per training split (the three Hidden rows share one fit)."""
    from framelogic.automata.observe import fit_hidden

    key = (template, id(train), None if noise is None else tuple(noise))
    if any(k[:2] != key[:2] for k in _HIDDEN_FITS):
        _HIDDEN_FITS.clear()
    if key not in _HIDDEN_FITS:
        names = PROPS[template]
        scores = [{k: s[k] for k in names} for _, s in train]
        labels = [{k: lab[k] for k in names} for lab, _ in train]
        extra = {} if noise is None else {"noise": tuple(noise)}
        _HIDDEN_FITS[key] = (train, fit_hidden(scores, labels, formula=TEMPLATES[template], mode="tlv", **extra))
    return _HIDDEN_FITS[key][1]  # type: ignore[index]


def _hidden(decision: str, noise: Sequence[str] | None = None
            ) -> Callable[[str, Sequence[Video]], Callable[[str, Probs], Events] | None]:  # fmt: skip
    def fit(template: str, train: Sequence[Video]) -> Callable[[str, Probs], Events] | None:
        try:
            world = fit_hidden_world(template, train, noise)
        except ImportError:
            return None
        run = framelogic_world(world, decision=decision)
        if decision == "fitted":
            d, th = world.decide, world.threshold  # type: ignore[attr-defined]
            run.fitted = "Viterbi" if d == "viterbi" else f"P>={th:g}"  # type: ignore[attr-defined]
        return run

    return fit


def _independent(template: str, train: Sequence[Video]) -> Callable[[str, Probs], Events]:
    api = world_api()
    if api is None:  # today's semantics is the independent world
        return framelogic_method("tlv")
    return framelogic_world(api["Independent"]())  # type: ignore[operator]


def _train_f1(run: Callable[[str, Probs], Events], cases: Sequence[Case]) -> float:
    return score("", run, cases, template="", noise="").f1


def _median(template: str, train: Sequence[Video]) -> Callable[[str, Probs], Events]:
    """The median filter's window and threshold of best training frame F1 (ties: the
    smaller window, the threshold nearest 0.5)."""
    cases = _cases(template, train)
    grid = [(w, th) for w in MEDIAN_WINDOWS for th in THRESHOLDS]
    w, th = max(grid, key=lambda g: (_train_f1(median_threshold(*g), cases), -g[0], -abs(g[1] - 0.5)))
    run = median_threshold(w, th)
    run.fitted = f"window {w}, θ={th:g}"  # type: ignore[attr-defined]
    return run


def _threshold(template: str, train: Sequence[Video]) -> Callable[[str, Probs], Events]:
    """Per-frame thresholding at the threshold of best training frame F1."""
    cases = _cases(template, train)

    def at(th: float) -> Callable[[str, Probs], Events]:
        return lambda f, p: per_frame_threshold(f, p, th)

    th = max(THRESHOLDS, key=lambda t: (_train_f1(at(t), cases), -abs(t - 0.5)))
    run = at(th)
    run.fitted = f"θ={th:g}"  # type: ignore[attr-defined]
    return run


DIVERGED = 50.0  # a Platt map with |a| or |b| above this has not converged (sane fits stay within a few units)


def fit_note(world: object) -> str:
    """What looks wrong with a fitted Markov world ("" when nothing): Platt maps that
    diverged (they turn every score into 0 or 1)."""
    bad = [f"{k} ({a:.3g}, {b:.3g})" for k, (a, b) in sorted(getattr(world, "calibration", {}).items())
           if not (abs(a) <= DIVERGED and abs(b) <= DIVERGED)]  # fmt: skip
    return f"fit_world's Platt map diverged: {', '.join(bad)}" if bad else ""


def world_methods(*, nsvs: bool | None = None) -> list[WorldMethod]:
    """The compared methods, framelogic's first."""
    out = [
        WorldMethod(MARKOV, _markov("threshold")),
        WorldMethod(MARKOV_VITERBI, _markov("viterbi")),
        WorldMethod(HIDDEN, _hidden("fitted")),
        WorldMethod(HIDDEN_THRESHOLD, _hidden("threshold")),
        WorldMethod(HIDDEN_VITERBI, _hidden("viterbi")),
        WorldMethod(INDEPENDENT, _independent),
    ]
    if nsvs if nsvs is not None else nsvs_available():
        out += [
            WorldMethod("NSVS-TL P>=0.6", _fixed(lambda f, p: nsvs_tl(f, p, 0.6)), 200),
            WorldMethod("NSVS-TL P>=0.8", _fixed(lambda f, p: nsvs_tl(f, p, 0.8)), 200),
        ]
    out += [
        WorldMethod("per-frame threshold", _fixed(per_frame_threshold)),
        WorldMethod("per-frame threshold (θ fitted)", _threshold),
        WorldMethod("LogSTOP-style", _fixed(logstop)),
        WorldMethod("median filter (window, θ fitted), threshold", _median),
    ]
    return out


def _cases(template: str, videos: Sequence[Video]) -> list[Case]:
    return [(TEMPLATES[template], scores, ground_truth(template, labels)) for labels, scores in videos]


def videos(model: NoiseModel, level: str, template: str, *, count: int, frames: int, seed: int) -> list[Video]:
    """``count`` videos of ``frames`` frames: the same truth at every level of a model
    (levels differ only by the noise)."""
    out = []
    for k in range(count):
        rng = np.random.default_rng([seed, k, *template.encode(), *model.name.encode()])
        labels = {name: model.truth.sample(frames, rng) for name in PROPS[template]}
        nrng = np.random.default_rng([seed, k, *template.encode(), *model.name.encode(), *level.encode()])
        noise = model.levels[level]
        out.append((labels, {name: noise.apply(v, nrng) for name, v in labels.items()}))
    return out


@dataclass(frozen=True)
class Cell:
    template: str
    model: str
    level: str


def cells(templates: Iterable[str] = TEMPLATES, models: Sequence[NoiseModel] = NOISE_MODELS,
          levels: Sequence[str] = LEVELS, exact: bool = True) -> list[tuple[Cell, NoiseModel]]:  # fmt: skip
    """Every (template, noise model, level), plus (``exact``) the noise-free level once per template."""
    out = []
    for t in templates:
        if exact:
            out.append((Cell(t, EXACT.name, "none"), EXACT))
        out += [(Cell(t, m.name, lv), m) for m in models for lv in levels]
    return out


def run_table(methods: Sequence[WorldMethod], *, test: int, train: int, frames: int, seed: int = 0,
              templates: Iterable[str] = TEMPLATES, models: Sequence[NoiseModel] = NOISE_MODELS,
              levels: Sequence[str] = LEVELS, log: Callable[[str], None] | None = None,
              notes: dict[tuple[str, str], str] | None = None, exact: bool = True) -> list[Row]:  # fmt: skip
    """One row per (cell, method); a method that cannot run gets a row of nan ("pending").
    ``Row.noise`` is ``"model/level"``. ``notes``, when given, receives
    ``(template, noise) -> fit_note`` of the cell's fitted Markov world where it is not empty.
    ``exact``: include the noise-free cell of each template."""
    rows = []
    for cell, model in cells(templates, models, levels, exact):
        t0 = time.perf_counter()
        test_v = videos(model, cell.level, cell.template, count=test, frames=frames, seed=seed)
        train_v = videos(model, cell.level, cell.template, count=train, frames=frames, seed=seed + 10_007)
        cases = _cases(cell.template, test_v)
        noise = f"{cell.model}/{cell.level}"
        for m in methods:
            kept = [c for c in cases if m.max_frames is None or len(c[1]["p"]) <= m.max_frames]
            run = m.fit(cell.template, train_v) if kept else None
            if run is None:
                rows.append(Row(cell.template, noise, m.name, *(float("nan"),) * 4, 0.0, 0))
                continue
            note = fit_note(run.world) if hasattr(run, "world") else ""
            if notes is not None and note:
                notes[(cell.template, noise)] = note
            name = m.name if not hasattr(run, "fitted") else (
                m.name.replace("fitted decision", f"fitted decision ({run.fitted})") if m.name == HIDDEN
                else m.name.replace("fitted)", f"fitted: {run.fitted})"))  # fmt: skip
            rows.append(score(name, run, kept, template=cell.template, noise=noise))
        if log:
            log(f"{cell.template} {noise}: {time.perf_counter() - t0:.1f} s")
    return rows


# ----------------------------------------------------------------- tables


def _base(method: str) -> str:
    """A row's method without its fitted parameters (``"... (θ fitted: θ=0.4)"`` -> ``"... (θ fitted)"``)."""
    if method.startswith(HIDDEN):
        return HIDDEN
    head, sep, tail = method.partition(" fitted: ")
    return head + " fitted)" + tail.split(")", 1)[1] if sep else method


def table(rows: Sequence[Row]) -> str:
    """template x noise model x level x method: frame P/R/F1 and event F1."""
    head = ("template", "noise model", "level", "method", "frame P", "frame R", "frame F1", "event F1 (IoU≥0.5)", "seconds")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        model, level = r.noise.split("/", 1)
        nums = [_fmt(x) for x in (r.precision, r.recall, r.f1, r.event_f1)]
        lines.append("| " + " | ".join([r.template, model, level, r.method, *nums, f"{r.seconds:.3f}"]) + " |")
    return "\n".join(lines)


def _fmt(x: float) -> str:
    return "pending" if x != x else f"{x:.3f}"


def _by_cell(rows: Sequence[Row]) -> dict[tuple[str, str], list[Row]]:
    out: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        out.setdefault((r.template, r.noise), []).append(r)
    return out


def compact(rows: Sequence[Row], metric: str) -> str:
    """One line per cell, one column per method: ``metric`` ("f1" or "event_f1"); best in bold."""
    by = _by_cell(rows)
    names = list(dict.fromkeys(_base(r.method) for r in rows))
    lines = ["| template | noise model | level | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 3)]
    for (template, noise), rs in by.items():
        vals = {_base(r.method): getattr(r, metric) for r in rs}
        best = max((v for v in vals.values() if v == v), default=float("nan"))
        cells_ = []
        for n in names:
            v = vals.get(n, float("nan"))
            cells_.append(f"**{v:.3f}**" if v == v and v >= best - TIE else _fmt(v) if n in vals else "-")
        model, level = noise.split("/", 1)
        lines.append(f"| {template} | {model} | {level} | " + " | ".join(cells_) + " |")
    return "\n".join(lines)


TIE = 1e-9


@dataclass(frozen=True)
class Loss:
    template: str
    noise: str
    metric: str  # "frame F1" or "event F1"
    ours: float
    best: float
    winner: str
    viterbi: float | None  # the Markov world's Viterbi decision in the same cell (None: not run)


def losses(rows: Sequence[Row], ours: str = MARKOV, exclude: Collection[str] = ()) -> list[Loss]:
    """Every cell and metric where ``ours`` is not best (ties within 1e-9 are not losses);
    a cell where ``ours`` is pending counts as lost. Methods are matched without their
    fitted parameters (:func:`_base`); those in ``exclude`` are not compared."""
    out = []
    for (template, noise), rs in _by_cell(rows).items():
        mine = [r for r in rs if _base(r.method) == ours]
        vit = [r for r in rs if r.method == MARKOV_VITERBI]
        if not mine:
            continue
        for metric, attr in (("frame F1", "f1"), ("event F1", "event_f1")):
            others = [r for r in rs if _base(r.method) != ours and _base(r.method) not in exclude
                      and getattr(r, attr) == getattr(r, attr)]  # fmt: skip
            if not others:
                continue
            top = max(others, key=lambda r: getattr(r, attr))
            v = getattr(mine[0], attr)
            if v != v or getattr(top, attr) > v + TIE:
                out.append(Loss(template, noise, metric, v, getattr(top, attr), top.method,
                                getattr(vit[0], attr) if vit else None))  # fmt: skip
    return out


def scoreboard(rows: Sequence[Row], family: Sequence[str] = FAMILY) -> str:
    """Per framelogic world-model row: in how many cells it is best (ties allowed) on frame
    F1 and on event F1, against every other row, and against the rows outside ``family``
    (independent world and baselines)."""
    n_cells = len(_by_cell(rows))
    present = {_base(r.method) for r in rows}
    lines = ["| method | frame F1, vs all | event F1, vs all | frame F1, vs baselines | event F1, vs baselines |",
             "|---|---|---|---|---|"]  # fmt: skip
    for m in family:
        if m not in present:
            continue
        cols = []
        for exclude in ((), tuple(x for x in family if x != m)):
            lost = losses(rows, m, exclude)
            for metric in ("frame F1", "event F1"):
                cols.append(f"{n_cells - len({(x.template, x.noise) for x in lost if x.metric == metric})}/{n_cells}")
        lines.append(f"| {m} | {cols[0]} | {cols[1]} | {cols[2]} | {cols[3]} |")
    return "\n".join(lines)


def who_wins(rows: Sequence[Row], ours: str = MARKOV, notes: Mapping[tuple[str, str], str] | None = None,
             exclude: Collection[str] = ()) -> str:  # fmt: skip
    """The summary: how many cells ``ours`` wins (against every row but ``exclude``), then
    every cell where it does not (with the cell's ``notes``: what went wrong in fitting,
    where known)."""
    notes = notes or {}
    n_cells = len(_by_cell(rows))
    lost = losses(rows, ours, exclude)
    frame_lost = {(x.template, x.noise) for x in lost if x.metric == "frame F1"}
    event_lost = {(x.template, x.noise) for x in lost if x.metric == "event F1"}
    lines = [
        f"**{ours}** is best (ties allowed) on frame F1 in {n_cells - len(frame_lost)}/{n_cells} cells "
        f"and on event F1 in {n_cells - len(event_lost)}/{n_cells} cells.",
    ]
    if ours == MARKOV:  # the Markov world with either decision rule, against every other method
        family = [x for x in lost if x.winner != MARKOV_VITERBI]
        f_lost = {(x.template, x.noise) for x in family if x.metric == "frame F1"}
        e_lost = {(x.template, x.noise) for x in family if x.metric == "event F1"}
        lines.append(f"With either decision rule (P>=0.5 or Viterbi, whichever is better in the cell) the Markov world "
                     f"is best on frame F1 in {n_cells - len(f_lost)}/{n_cells} cells and on event F1 in "
                     f"{n_cells - len(e_lost)}/{n_cells} cells.")  # fmt: skip
    cost = {m: sum(r.seconds for r in rows if _base(r.method) == m) for m in (MARKOV, MARKOV_VITERBI, HIDDEN, INDEPENDENT)}
    if cost[INDEPENDENT] > 0 and all(r.seconds > 0 for r in rows if r.method == MARKOV):
        lines.append(f"Inference cost over all cells: Markov P>=0.5 {cost[MARKOV]:.1f} s, Markov Viterbi "
                     f"{cost[MARKOV_VITERBI]:.1f} s, independent {cost[INDEPENDENT]:.1f} s "
                     f"({cost[MARKOV] / cost[INDEPENDENT]:.1f}x and {cost[MARKOV_VITERBI] / cost[INDEPENDENT]:.1f}x "
                     "the independent world's)"
                     + (f"; Hidden, fitted decision {cost[HIDDEN]:.1f} s ({cost[HIDDEN] / cost[INDEPENDENT]:.1f}x)"
                        if cost[HIDDEN] > 0 else "") + ".")  # fmt: skip
    if lost:
        first = "Markov P>=0.5" if ours == MARKOV else ours
        lines += ["", "Cells where it is not best:", "",
                  f"| template | noise model | level | metric | {first} | Markov Viterbi | best | best method | note |",
                  "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for x in lost:
            model, level = x.noise.split("/", 1)
            vit = "-" if x.viterbi is None else _fmt(x.viterbi)
            lines.append(f"| {x.template} | {model} | {level} | {x.metric} | {_fmt(x.ours)} | {vit} | "
                         f"{x.best:.3f} | {x.winner} | {notes.get((x.template, x.noise), '')} |")  # fmt: skip
    return "\n".join(lines)


# ----------------------------------------------------------------- command


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.accuracy.worlds", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--quick", action="store_true", help="tiny inputs: 2 test and 2 training videos of 60 frames")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--test", type=int, help="test videos per cell (default 20, quick 2)")
    ap.add_argument("--train", type=int, help="training videos per cell (default 10, quick 2)")
    ap.add_argument("--frames", type=int, help="frames per video (default 200, quick 60)")
    ap.add_argument("--templates", nargs="*", choices=list(TEMPLATES), help="default: all five")
    ap.add_argument("--no-nsvs", action="store_true", help="leave NSVS-TL out (it needs stormpy)")
    ap.add_argument("--no-monitor", action="store_true", help="skip the 10-minute monitor traces")
    ap.add_argument("--no-rendered", action="store_true", help="skip the bundled model on the hard rendered scenarios")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help=f"markdown report (default {DEFAULT_OUT}); '-' for stdout only")
    args = ap.parse_args(argv)
    test = args.test or (2 if args.quick else 20)
    train = args.train or (2 if args.quick else 10)
    frames = args.frames or (60 if args.quick else 200)
    templates = args.templates or list(TEMPLATES)
    start = time.perf_counter()
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    methods = world_methods(nsvs=False if args.no_nsvs else None)

    out = [
        "# framelogic accuracy under world models (persistent truth, correlated noise)",
        "",
        f"<!-- output of: python -m benchmarks.accuracy.worlds{' --quick' if args.quick else ''} -->",
        f"Machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}; seed {args.seed}.",
        f"Per cell: {test} test videos and {train} training videos (another seed) of {frames} frames. "
        "Fitted methods see only the training split; every method gets identical test probabilities.",
    ]
    if world_api() is None:
        out.append("framelogic's world models (framelogic.automata.world) are not in this build: "
                   "their columns read 'pending'.")  # fmt: skip
    out += ["", "Noise models (levels low / medium / high):", ""]
    for m in NOISE_MODELS:
        t = m.truth
        out.append(f"* **{m.name}** — {m.description}; truth: {t.kind} runs, mean on {t.on_mean:g} / off {t.off_mean:g} frames"
                   + (f", tail index {t.alpha:g}" if t.kind == "heavy" else "") + "; "
                   + "; ".join(f"{lv}: {describe(z)}" for lv, z in m.levels.items()))  # fmt: skip
    out.append(f"* **none** — {EXACT.description}.")
    notes: dict[tuple[str, str], str] = {}
    rows = run_table(methods, test=test, train=train, frames=frames, seed=args.seed, templates=templates, log=log,
                     notes=notes)  # fmt: skip
    out += ["", "## Who wins", "",
            "Cells (of the table below) where each of framelogic's world-model rows is best, ties allowed: against "
            "every other row, and against the independent world and the baselines only (the other world-model rows left out).",
            "", scoreboard(rows), "",
            "### The fitted Hidden world (decision chosen on the training split) against the independent world and the baselines",
            "", who_wins(rows, ours=HIDDEN, notes=notes, exclude=[x for x in FAMILY if x != HIDDEN]), "",
            "### The two-state Markov world at P>=0.5 against every other row", "",
            who_wins(rows, notes=notes), "",
            "## Frame F1 (best of the cell in bold)", "", compact(rows, "f1"), "",
            "## Event F1 at IoU >= 0.5 (best of the cell in bold)", "", compact(rows, "event_f1"), "",
            "## All rows", "", table(rows)]  # fmt: skip

    if not args.no_monitor:
        from .monitor_world import describe_monitor, run_monitor

        minutes = 0.5 if args.quick else 10.0
        count = 1 if args.quick else 3
        out += ["", f"## Monitor on driving traces ({minutes:g} min at 30 fps)", "", describe_monitor(), "",
                run_monitor(minutes=minutes, clean=count, violating=count, seed=args.seed, log=log)]  # fmt: skip
    if not (args.quick or args.no_rendered):
        try:
            from .hard_scenes import run_rendered

            out += ["", "## The bundled model on the hard rendered scenarios", "", run_rendered(log=log)]
        except ImportError as e:  # perception's heavy dependencies are optional here
            out += ["", f"## The bundled model on the hard rendered scenarios", "", f"not run: {e}"]
    out.append(f"\n(total {time.perf_counter() - start:.0f} s)")
    text = "\n".join(out) + "\n"
    print(text)
    if args.out != "-":
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
