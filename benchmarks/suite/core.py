"""The suite itself: measure every spec x fps cell, the peers and the compile
comparison, and return typed rows (:func:`run`); :mod:`.report` renders them.

Every framelogic measurement runs in a forked child under a time cap, so a
cell that the old engine cannot finish is recorded as ``> cap`` or as the
error it raised, and never stalls the run.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from framelogic.automata import Evaluator, Monitor, compile
from framelogic.automata import boolean
from framelogic.automata import kernels as K
from framelogic.logic import parse
from framelogic.logic.errors import AutomatonTooLarge
from framelogic.logic.passes import atom_names, has_time_bounds
from framelogic.logic.trace import TraceTable, as_trace

from . import measure as M
from .specs import SPECS, Spec, compile_specs, to_ltlf, to_reelay, to_rtamt
from .traces import boolean_trace, frames, probability_trace


@dataclass(frozen=True)
class Config:
    n_bool: int = 1_000_000  # frames of each boolean trace
    n_prob: int = 100_000  # frames of each probability trace
    n_old: int = 20_000  # frames the old engine runs on (its rate is per frame)
    n_peer: int = 100_000  # samples fed to reelay
    n_rtamt: int = 10_000  # samples fed to rtamt (about 100x slower)
    n_check: int = 5_000  # samples on which reelay's output is compared with framelogic's
    n_monitor: int = 20_000  # 0/1 frames stepped through a Monitor (a quarter as many probability frames)
    fps: tuple[float, ...] = (5, 10, 30, 60)
    specs: tuple[Spec, ...] = SPECS
    repeat: int = 2  # timed calls after the first; the best counts
    cap_s: float = 60.0  # per new-engine cell
    old_cap_s: float = 10.0  # per old-engine cell
    compile_cap_s: float = 20.0  # per compile measurement (framelogic or ltlf2dfa + MONA)
    dot_cap_s: float = 5.0  # ltlf2dfa's sympy guard simplification into DOT (informative only)
    loop_budget_s: float = 3.0  # per per-sample loop (Monitor.step, reelay, rtamt): rate over what was done by then
    compile_ks: tuple[int, ...] = (10, 100, 1000)
    legacy: bool = True  # re-run the NSVS-TL and TLV rows of run_automata (quick sizes)
    skip_after_failure: bool = True  # a cell that failed (too large / cap) at a lower fps is not retried higher


QUICK = Config(n_bool=100_000, n_prob=20_000, n_old=2_000, n_peer=20_000, n_rtamt=2_000, n_check=2_000,
               n_monitor=2_000, fps=(5, 60), repeat=1, cap_s=5.0, old_cap_s=2.0, loop_budget_s=1.0,
               compile_cap_s=3.0, dot_cap_s=1.0, compile_ks=(10, 100), legacy=False)  # fmt: skip


# ---------------------------------------------------------------- rows
@dataclass
class BoolRow:
    spec: str
    fps: float
    n: int
    compile_s: float | None = None  # building the program + the first call's extra time over a warm call
    eval_s: float | None = None  # best later call
    kernel_s: float | None = None  # the boolean program alone on a prepared array (no table handling)
    memory_mib: float | None = None
    memory_method: str = ""
    error: str = ""

    @property
    def rate(self) -> float | None:
        return self.n / self.eval_s if self.eval_s else None

    @property
    def kernel_rate(self) -> float | None:
        return self.n / self.kernel_s if self.kernel_s else None

    @property
    def rate_incl(self) -> float | None:
        return self.n / (self.compile_s + self.eval_s) if self.eval_s and self.compile_s is not None else None


@dataclass
class ProbRow:
    spec: str
    fps: float
    n: int
    plan_s: float | None = None
    plan_kind: str = ""
    states: int | None = None
    first_s: float | None = None  # first run after the plan was built
    eval_s: float | None = None
    error: str = ""
    # where no exact plan ran: Evaluator(..., approx="bounds") on the same trace
    bounds_s: float | None = None
    bounds_width: float | None = None  # mean of upper - lower over the frames
    bounds_error: str = ""

    @property
    def rate(self) -> float | None:
        return self.n / self.eval_s if self.eval_s else None

    @property
    def bounds_rate(self) -> float | None:
        return self.n / self.bounds_s if self.bounds_s else None

    @property
    def state_rate(self) -> float | None:
        return self.rate * self.states if self.rate and self.states else None


@dataclass
class OldRow:
    spec: str
    fps: float
    n: int
    compile_s: float | None = None
    bool_s: float | None = None
    prob_s: float | None = None
    states: int | None = None
    error: str = ""

    @property
    def bool_rate(self) -> float | None:
        return self.n / self.bool_s if self.bool_s else None

    @property
    def prob_rate(self) -> float | None:
        return self.n / self.prob_s if self.prob_s else None


@dataclass
class MonitorRow:
    spec: str
    fps: float
    build_s: float | None = None
    us_bool: float | None = None
    us_prob: float | str | None = None  # or why probability frames could not be followed
    n_bool: int = 0  # frames stepped within the loop budget
    n_prob: int = 0
    error: str = ""


@dataclass
class PeerRow:
    spec: str
    fps: float
    formula: str  # the monitored past-time form, framelogic syntax
    ours_rate: float | None = None  # frames/s, excl. compilation, on the boolean trace
    reelay_rate: float | None = None  # samples/s
    rtamt_rate: float | None = None
    agree: str = ""  # reelay's outputs vs framelogic's on the first n_check frames
    error: str = ""

    @property
    def vs_reelay(self) -> float | None:
        return self.ours_rate / self.reelay_rate if self.ours_rate and self.reelay_rate else None

    @property
    def vs_rtamt(self) -> float | None:
        return self.ours_rate / self.rtamt_rate if self.ours_rate and self.rtamt_rate else None


@dataclass
class CompileRow:
    label: str
    eight_atoms: bool
    ours_s: float | None = None
    ours_states: int | None = None
    ours_error: str = ""
    mona_s: float | None = None  # ltlf2dfa's translation + the MONA run
    dot_s: float | None = None  # ltlf2dfa.to_dfa as a whole (also simplifies guards with sympy into DOT)
    mona_states: int | None = None
    mona_error: str = ""
    dot_error: str = ""
    expanded: bool = False  # bounded F given to ltlf2dfa as nested X


@dataclass
class Result:
    config: Config
    bool_rows: list[BoolRow] = field(default_factory=list)
    prob_rows: list[ProbRow] = field(default_factory=list)
    old_rows: list[OldRow] = field(default_factory=list)
    monitor_rows: list[MonitorRow] = field(default_factory=list)
    peer_rows: list[PeerRow] = field(default_factory=list)
    compile_rows: list[CompileRow] = field(default_factory=list)
    legacy: list[tuple[str, str]] = field(default_factory=list)  # (title, markdown or note)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    command: str = ""  # how the run was started, for the report
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average at the start and at the end


# ---------------------------------------------------------------- cells (run in children)
def _bool_cell(f: object, table: TraceTable, fps: float, repeat: int) -> tuple:
    """``(compile s, eval s, memory MiB, memory method, program-only s)``. Compile = building the
    boolean program plus whatever the first call costs beyond a warm one (JIT)."""
    ev = Evaluator(f)
    t = time.perf_counter()
    if hasattr(ev, "boolean_program"):
        ev.boolean_program(fps)
    build = time.perf_counter() - t
    t = time.perf_counter()
    ev(table, fps=fps)
    first = time.perf_counter() - t
    mem, _, method = M.peak_memory(lambda: ev(table, fps=fps))
    best, _ = M.best_time(lambda: ev(table, fps=fps), repeat)
    kernel = None
    if hasattr(ev, "boolean_program"):  # the program alone, on the columns already selected
        prog, values = ev.boolean_program(fps), table.select(atom_names(ev.formula)).values
        kernel, _ = M.best_time(lambda: prog(values), repeat)
    return build + max(first - best, 0.0), best, mem, method, kernel


def _prob_cell(f: object, table: TraceTable, fps: float, repeat: int) -> tuple:
    ev = Evaluator(f)
    info = M.plan_info(ev, fps)
    t = time.perf_counter()
    ev(table, fps=fps)
    first = time.perf_counter() - t
    best, _ = M.best_time(lambda: ev(table, fps=fps), repeat)
    return info, first, best


def _bounds_cell(f: object, table: TraceTable, fps: float, repeat: int) -> tuple[float, float]:
    """``(seconds, mean bound width)`` of certified bounds (``approx="bounds"``)."""
    ev = Evaluator(f, approx="bounds")
    out = ev(table, fps=fps)
    lower, upper = (out.lower, out.upper) if hasattr(out, "lower") else (out, out)
    best, _ = M.best_time(lambda: ev(table, fps=fps), repeat)
    return best, float(np.mean(np.asarray(upper) - np.asarray(lower)))


def _old_cell(f: object, tb: TraceTable, tp: TraceTable, fps: float) -> tuple:
    """``(compile s, 0/1 eval s, probability eval s, DFA states)`` on the old engine."""
    run = M.old_evaluator(f)
    t = time.perf_counter()
    states = int(run.program(fps).dfa.n_states) if hasattr(run, "program") else None  # the monolithic DFA
    build = time.perf_counter() - t
    t = time.perf_counter()
    run(tb, fps=fps)  # also builds the reverse automaton
    first = time.perf_counter() - t
    t_bool, _ = M.best_time(lambda: run(tb, fps=fps), 2)
    t = time.perf_counter()
    run(tp, fps=fps)  # also builds the guard diagram
    first_p = time.perf_counter() - t
    t_prob, _ = M.best_time(lambda: run(tp, fps=fps), 2)
    return build + max(first - t_bool, 0.0) + max(first_p - t_prob, 0.0), t_bool, t_prob, states


def _monitor_cell(f: object, fps: float, bools: list[dict], probs: list[dict], budget_s: float) -> tuple:
    t = time.perf_counter()
    m = Monitor(f, fps=fps)
    build = time.perf_counter() - t
    s_bool, n_bool = M.per_item(m.step, bools, budget_s)
    m.reset()
    try:
        s_prob, n_prob = M.per_item(m.step, probs, budget_s)
    except AutomatonTooLarge as e:  # 0/1 frames were followed; probabilities need a product over the budget
        exact = f"exact: AutomatonTooLarge ({_states_of(str(e))})"
        try:  # what a user who asks for certified bounds gets
            mb = Monitor(f, fps=fps, approx="bounds")
            s_prob, n_prob = M.per_item(mb.step, probs, budget_s)
        except AutomatonTooLarge:
            return build, s_bool * 1e6, f"fails: {exact}", n_bool, 0
        done = "" if n_prob >= len(probs) else f", {n_prob:,} frames in the {budget_s:g} s budget"
        return build, s_bool * 1e6, f'{s_prob * 1e6:.2f} with approx="bounds"{done} ({exact})', n_bool, n_prob
    return build, s_bool * 1e6, s_prob * 1e6, n_bool, n_prob


def _states_of(message: str) -> str:
    """The product size an AutomatonTooLarge message names ("245,773,022 states"), else the message."""
    found = re.search(r"([\d,]+) states", message)
    return found.group(0) if found else message


def _ours_peer_cell(f: object, table: TraceTable, fps: float, repeat: int, n_check: int) -> tuple:
    ev = Evaluator(f)
    ev(table, fps=fps)
    best, out = M.best_time(lambda: ev(table, fps=fps), repeat)
    return best, np.asarray(out[:n_check] > 0.5)


# ---------------------------------------------------------------- peers
def _reelay_run(text: str, samples: list[dict], budget_s: float) -> float:
    import reelay

    mon = reelay.discrete_timed_monitor(pattern=text)
    seconds, _ = M.per_item(mon.update, samples, budget_s)
    return 1.0 / seconds


def _reelay_values(text: str, samples: list[dict]) -> np.ndarray:
    import reelay

    mon = reelay.discrete_timed_monitor(pattern=text)
    out, value = [], False
    for s in samples:
        value = mon.update(s).get("value", value)  # condensed output: only changes are reported
        out.append(bool(value))
    return np.asarray(out)


def _rtamt_run(text: str, names: tuple[str, ...], table: dict[str, np.ndarray], n: int, budget_s: float) -> float:
    import rtamt

    spec = rtamt.StlDiscreteTimeSpecification()
    for v in (*names, "out"):
        spec.declare_var(v, "float")
    spec.spec = f"out = {text}"
    spec.parse()
    rows = list(enumerate([(k, float(table[k][i])) for k in names] for i in range(n)))
    seconds, _ = M.per_item(lambda r: spec.update(*r), rows, budget_s)
    return 1.0 / seconds


def _peer_available(name: str) -> bool:
    try:
        __import__(name)
        return True
    except ImportError:
        return False


# ---------------------------------------------------------------- compile comparison
_LTLF_PARSER = None


def _ltlf_parser():  # type: ignore[no-untyped-def]
    global _LTLF_PARSER  # built once per process (0.3 s of lark grammar), like framelogic's own parser
    if _LTLF_PARSER is None:
        from ltlf2dfa.parser.ltlf import LTLfParser

        _LTLF_PARSER = LTLfParser()
    return _LTLF_PARSER


def _mona_compile(text: str, timeout_s: float, repeat: int) -> tuple:
    """``(best seconds, states, MONA's output)``: ltlf2dfa's parse and translation to
    MONA, and the ``mona`` run, best of ``repeat``.

    MONA runs in a temporary folder (not ltlf2dfa's file inside its installed
    package) and is killed here at ``timeout_s``, so no orphan outlives the cap.
    """
    from ltlf2dfa.base import MonaProgram

    best, out = float("inf"), ""
    deadline = time.perf_counter() + timeout_s
    for _ in range(repeat):
        t = time.perf_counter()
        program = MonaProgram(_ltlf_parser()(text)).mona_program()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "automa.mona")
            with open(path, "w") as fh:
                fh.write(program)
            left = max(deadline - time.perf_counter(), 0.1)
            out = subprocess.run(["mona", "-q", "-u", "-w", path], capture_output=True, text=True, timeout=left).stdout
        best = min(best, time.perf_counter() - t)
        if time.perf_counter() + best > deadline:
            break
    m = re.search(r"Automaton has (\d+) states", out)
    return best, (int(m.group(1)) - 1 if m else None), out  # less MONA's extra initial state, as ltlf2dfa counts


def _dot_seconds(mona_output: str) -> float:
    """The rest of ltlf2dfa's ``to_dfa``: MONA's output to DOT, every guard simplified with sympy."""
    from ltlf2dfa.ltlf2dfa import output2dot

    t = time.perf_counter()
    output2dot(mona_output)
    return time.perf_counter() - t


def _ours_compile(text: str, repeat: int) -> tuple:
    """``(best seconds, states)`` of parsing and compiling to the minimal DFA (no state is kept between calls)."""
    best, d = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        d = compile(parse(text))
        best = min(best, time.perf_counter() - t)
    return best, int(d.n_states)


COMPILE_REPEAT = 3  # best of, for both sides


def bench_compile(cfg: Config, log) -> list[CompileRow]:  # type: ignore[no-untyped-def]
    have_mona = _peer_available("ltlf2dfa") and subprocess.run(["which", "mona"], capture_output=True).returncode == 0
    if have_mona:
        _ltlf_parser()  # forked children inherit it
    else:
        log("note: ltlf2dfa or the mona binary is missing; the compile comparison shows framelogic alone")
    rows = []
    for label, text, eight in compile_specs(cfg.compile_ks):
        row = CompileRow(label, eight)
        o = M.capped(lambda t=text: _ours_compile(t, COMPILE_REPEAT), cfg.compile_cap_s)
        if o.ok:
            row.ours_s, row.ours_states = o.value
        else:
            row.ours_error = o.why()
        if have_mona:
            row.expanded = "[" in text
            try:
                ltlf = to_ltlf(parse(text))
            except ValueError as e:
                row.mona_error = f"no LTLf form: {e}"
            else:
                cap = cfg.compile_cap_s
                o = M.capped(lambda t=ltlf: _mona_compile(t, cap - 1.0, COMPILE_REPEAT), cap)
                if o.ok:
                    row.mona_s, row.mona_states, out = o.value
                    o = M.capped(lambda out=out: _dot_seconds(out), cfg.dot_cap_s)
                    if o.ok:
                        row.dot_s = row.mona_s + o.value
                    else:
                        row.dot_error = o.why()
                elif "TimeoutExpired" in o.error:
                    row.mona_error = f"> {cap:.0f} s cap"
                else:
                    row.mona_error = o.why()
        log(f"compile {label}: ours {row.ours_s or row.ours_error}, ltlf2dfa {row.mona_s or row.mona_error}")
        rows.append(row)
    return rows


# ---------------------------------------------------------------- warm-up
WARM = ["G (a -> F[0,3] b)", "G (a -> F[2,4] b)", "H (a -> O[0,3] (b | c))", "G (a -> H[0,2] b) & G (b -> F[0,3] a)",
        "F[0,10] (a & F[0,1] (b & F[0,2] c))", "G (a -> (!b U[0,3] c))", "G (a -> (!b S[0,5] c))",
        "G (a -> F[0,3] b) & G (c -> F[0,2] d)", "H (a -> O[0,3] b) & H (c -> H[0,2] d)"]  # fmt: skip


def warm(log) -> None:  # type: ignore[no-untyped-def]
    """JIT-compile the loops in the parent, so that forked children start warm."""
    rng = np.random.default_rng(0)
    n = 3000
    cols = {k: rng.random(n) for k in "abcd"}
    bools = {k: (v > 0.5) * 1.0 for k, v in cols.items()}
    for f in WARM:
        try:
            Evaluator(f)(bools)
            Evaluator(f)(cols)
            m = Monitor(f)
            for i in range(50):
                m.step({k: bools[k][i] for k in "abcd"})
            for i in range(50):
                m.step({k: cols[k][i] for k in "abcd"})
        except Exception as e:  # noqa: BLE001 - a failure here shows up again, with its cell, later
            log(f"note: warm-up of {f!r} failed: {type(e).__name__}: {e}")
    boolean.prepare()  # the compiled boolean passes run from 100,000 frames on: load them here, once
    # the counter kernels compile only for long traces: compile them here, not in every child
    n_long = K.JIT_THRESHOLD + 1
    long_cols = {k: rng.random(n_long) for k in "abcd"}
    for f in ("G (a -> O[0,3] b)", "G (a -> (!b S[0,3] c)) & G (c -> O[0,2] (a | b))"):
        try:
            Evaluator(f)(long_cols)
        except Exception as e:  # noqa: BLE001 - as above
            log(f"note: warm-up of {f!r} failed: {type(e).__name__}: {e}")


# ---------------------------------------------------------------- the run
def run(cfg: Config = Config(), log=print) -> Result:  # type: ignore[no-untyped-def]
    """Measure everything ``cfg`` asks for; ``log`` gets one line per cell as it finishes."""
    t_start = time.perf_counter()
    res = Result(cfg)
    load_start = os.getloadavg()[0]
    res.notes.append(M.old_engine_note())
    warm(log)
    have_reelay, have_rtamt = _peer_available("reelay"), _peer_available("rtamt")
    for name, have in (("reelay", have_reelay), ("rtamt", have_rtamt)):
        if not have:
            msg = f"note: {name} is not installed; its column is empty"
            log(msg)
            res.notes.append(msg)
    M.fix_mmap_threshold()
    for si, spec in enumerate(cfg.specs):
        failed: dict[str, tuple[float, str]] = {}  # measurement -> (fps, why) of its first failure

        def cell(kind: str, fn, cap: float, fps: float) -> M.Outcome:  # type: ignore[no-untyped-def]
            # time bounds only widen as fps grows: what failed at a lower rate is not retried
            if kind in failed and cfg.skip_after_failure and has_time_bounds(spec.formula):
                at, why = failed[kind]
                return M.Outcome(False, error=f"skipped ({why} at {at:g} fps)")
            o = M.capped(fn, cap)
            if not o.ok:
                failed.setdefault(kind, (fps, o.why()))
            return o

        for fps in cfg.fps:
            seed = 1000 * si + int(fps)
            bcols = boolean_trace(spec.atoms, cfg.n_bool, fps, seed)
            pcols = probability_trace(bcols, cfg.n_prob, seed)
            tb, tp = as_trace(bcols), as_trace(pcols)
            f = spec.formula

            row = BoolRow(spec.name, fps, cfg.n_bool)
            o = cell("bool", lambda: _bool_cell(f, tb, fps, cfg.repeat), cfg.cap_s, fps)
            if o.ok:
                row.compile_s, row.eval_s, row.memory_mib, row.memory_method, row.kernel_s = o.value
            else:
                row.error = o.why()
            res.bool_rows.append(row)

            prow = ProbRow(spec.name, fps, cfg.n_prob)
            o = cell("prob", lambda: _prob_cell(f, tp, fps, cfg.repeat), cfg.cap_s, fps)
            if o.ok:
                info, prow.first_s, prow.eval_s = o.value
                prow.plan_s, prow.plan_kind, prow.states = info.seconds, info.kind, info.states
            else:
                prow.error = o.why()
                b = cell("bounds", lambda: _bounds_cell(f, tp, fps, cfg.repeat), cfg.cap_s, fps)
                if b.ok:
                    prow.bounds_s, prow.bounds_width = b.value
                else:
                    prow.bounds_error = b.why()
            res.prob_rows.append(prow)

            orow = OldRow(spec.name, fps, cfg.n_old)
            tb_old = as_trace({k: v[: cfg.n_old] for k, v in bcols.items()})
            tp_old = as_trace({k: v[: cfg.n_old] for k, v in pcols.items()})
            o = cell("old", lambda: _old_cell(f, tb_old, tp_old, fps), cfg.old_cap_s, fps)
            if o.ok:
                orow.compile_s, orow.bool_s, orow.prob_s, orow.states = o.value
            else:
                orow.error = o.why()
            res.old_rows.append(orow)

            mrow = MonitorRow(spec.name, fps)
            mb, mp_ = frames(bcols, cfg.n_monitor), frames(pcols, max(cfg.n_monitor // 4, 1))
            o = cell("monitor", lambda: _monitor_cell(f, fps, mb, mp_, cfg.loop_budget_s), cfg.cap_s + 2 * cfg.loop_budget_s, fps)
            if o.ok:
                mrow.build_s, mrow.us_bool, mrow.us_prob, mrow.n_bool, mrow.n_prob = o.value
            else:
                mrow.error = o.why()
            res.monitor_rows.append(mrow)

            if spec.past_time:
                res.peer_rows.append(_peer_row(cfg, spec, fps, bcols, tb, have_reelay, have_rtamt))
            log(f"{spec.name} @ {fps:g} fps: boolean {_fmt(row.rate)} /s {row.error}| probabilities {_fmt(prow.rate)} /s "
                f"{prow.error}| old engine {_fmt(orow.bool_rate)} / {_fmt(orow.prob_rate)} /s {orow.error}| "
                f"monitor {mrow.us_bool and round(mrow.us_bool, 2)} µs {mrow.error}")  # fmt: skip
    res.compile_rows = bench_compile(cfg, log)
    if cfg.legacy:
        res.legacy = legacy_rows(log)
    res.seconds = time.perf_counter() - t_start
    res.load = (load_start, os.getloadavg()[0])
    return res


def _peer_row(cfg: Config, spec: Spec, fps: float, bcols: dict, tb: TraceTable, have_reelay: bool, have_rtamt: bool) -> PeerRow:
    from framelogic.logic.printer import to_text

    g = spec.monitored()
    prow = PeerRow(spec.name, fps, to_text(g))
    n_check = min(cfg.n_check, cfg.n_bool)
    o = M.capped(lambda: _ours_peer_cell(g, tb, fps, cfg.repeat, n_check), cfg.cap_s)
    ours_check = None
    if o.ok:
        best, ours_check = o.value
        prow.ours_rate = cfg.n_bool / best
    else:
        prow.error = o.why()
    n_peer = min(cfg.n_peer, cfg.n_bool)
    if have_reelay:
        samples = [{k: bool(v) for k, v in fr.items()} for fr in frames(bcols, n_peer)]
        text = to_reelay(g, fps)
        prow.reelay_rate = _reelay_run(text, samples, cfg.loop_budget_s)
        if ours_check is not None:
            theirs = _reelay_values(text, samples[:n_check])
            bad = np.flatnonzero(theirs != ours_check)
            prow.agree = "yes" if len(bad) == 0 else f"NO: {len(bad)} frames differ, first {bad[0]}"
    if have_rtamt:
        prow.rtamt_rate = _rtamt_run(to_rtamt(g, fps), spec.atoms, bcols, min(cfg.n_rtamt, cfg.n_bool), cfg.loop_budget_s)
    return prow


def legacy_rows(log) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """The NSVS-TL ratio and TLV template throughput of ``benchmarks.run_automata``, at its quick sizes."""
    from benchmarks import run_automata as RA

    out = []
    for title, fn in [
        ("Event search vs NSVS-TL's reasoning step (run_automata, quick)", lambda: RA.bench_nsvs(True, 30.0)),
        ("Exact probability throughput, TLV templates (run_automata, quick)", lambda: RA.bench_probability(True)),
    ]:
        try:
            out.append((title, fn()))
        except Exception as e:  # noqa: BLE001 - printed in the report as the row's result
            out.append((title, f"fails: {type(e).__name__}: {e}"))
        log(f"legacy: {title} done")
    return out


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x / 1e6:.2f}M"
