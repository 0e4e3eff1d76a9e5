"""Timing helpers of the suite: capped runs in a forked child, peak memory, and
adapters to the engines whose API is still moving (new plan vs old automaton).
"""

from __future__ import annotations

import inspect
import multiprocessing as mp
import subprocess
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from framelogic.automata import Evaluator, evaluate
from framelogic.logic.errors import FramelogicError


# ---------------------------------------------------------------- capped runs
@dataclass
class Outcome:
    """What a capped run gave: ``value`` when ``ok``, else why not."""

    ok: bool
    value: Any = None
    error: str = ""  # "timeout" or "<ExceptionType>: message"
    seconds: float = 0.0  # wall time until the result or the cap

    def why(self) -> str:
        if self.error.startswith("skipped"):
            return self.error
        if self.error == "timeout":
            return f"> {self.seconds:.0f} s cap"
        return f"fails: {self.error.split(':')[0]} after {self.seconds:.1f} s"


def _child(fn: Callable[[], Any], conn: Any) -> None:
    try:
        conn.send((True, fn(), ""))
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which prints it
        if not isinstance(e, (FramelogicError, subprocess.TimeoutExpired, RecursionError)):
            traceback.print_exc()
        conn.send((False, None, f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def capped(fn: Callable[[], Any], cap_s: float) -> Outcome:
    """Run ``fn()`` in a forked child (it sees the parent's arrays and warm JIT code);
    kill it after ``cap_s`` seconds. The value must pickle."""
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    t0 = time.perf_counter()
    proc = ctx.Process(target=_child, args=(fn, send), daemon=True)
    proc.start()
    send.close()
    try:
        if recv.poll(cap_s):
            ok, value, error = recv.recv()
            proc.join()
            return Outcome(ok, value, error, time.perf_counter() - t0)
        proc.kill()
        proc.join()
        return Outcome(False, None, "timeout", cap_s)
    except EOFError:  # the child died without a word (killed for memory, segfault)
        proc.join()
        return Outcome(False, None, f"died (exit code {proc.exitcode})", time.perf_counter() - t0)
    finally:
        recv.close()


def per_item(step: Callable[[Any], Any], items: list, budget_s: float) -> tuple[float, int]:
    """``(seconds per item, items done)``: feed ``items`` to ``step`` until done or
    ``budget_s`` has passed (checked every 64 items), so one slow peer cannot stall the run."""
    t0 = time.perf_counter()
    done = 0
    for start in range(0, len(items), 64):
        for it in items[start : start + 64]:
            step(it)
        done = min(start + 64, len(items))
        if time.perf_counter() - t0 > budget_s:
            break
    return (time.perf_counter() - t0) / max(done, 1), done


def best_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


# ---------------------------------------------------------------- memory
MEMORY_METHOD = ("peak RSS rise during the call (VmHWM reset through /proc/self/clear_refs; glibc's mmap threshold "
                 "fixed at 128 KiB so freed buffers go back to the OS instead of hiding in the heap)")


def fix_mmap_threshold() -> bool:
    """Make every allocation of 128 KiB or more its own mapping, returned to the OS
    on free (glibc otherwise raises the threshold after the first large free, and
    later buffers reuse heap pages that never show as a rise in RSS)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, 128 * 1024))  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"{field} not in /proc/self/status")


def peak_memory(fn: Callable[[], Any]) -> tuple[float, Any, str]:
    """``(MiB, fn(), method)``: how far resident memory rose above its level
    before the call. Resets the kernel's high-water mark first (Linux >= 4.0);
    elsewhere falls back to tracemalloc, which sees numpy's buffers but not
    numba's."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        before = _status_kb("VmRSS")
        out = fn()
        return (_status_kb("VmHWM") - before) / 1024, out, MEMORY_METHOD
    except OSError:
        import tracemalloc

        tracemalloc.start()
        try:
            out = fn()
            return tracemalloc.get_traced_memory()[1] / 2**20, out, "tracemalloc peak"
        finally:
            tracemalloc.stop()


# ---------------------------------------------------------------- engines
def _old_engine_name() -> str | None:
    """The engine name that selects the monolithic-DFA engine, if ``evaluate`` has one."""
    for name in ("automaton",):
        try:
            evaluate("a", {"a": [1.0]}, engine=name)
            return name
        except FramelogicError:
            continue
    return None


OLD_ENGINE = _old_engine_name()


def old_engine_note() -> str:
    if OLD_ENGINE is None:
        return ("`evaluate(..., engine=\"automaton\")` does not exist in this checkout: the default engine "
                "*is* the monolithic-DFA engine, so both columns measure the same code")  # fmt: skip
    return f'old engine = `evaluate(..., engine="{OLD_ENGINE}")` (monolithic DFA)'


def old_evaluator(formula: Any) -> Callable[..., np.ndarray]:
    """A callable ``(table) -> signal`` on the old engine that compiles once if the API allows."""
    if OLD_ENGINE is None:
        return Evaluator(formula)
    if "engine" in inspect.signature(Evaluator).parameters:
        return Evaluator(formula, engine=OLD_ENGINE)
    # evaluate() with an Evaluator keeps its compilation between calls only if the
    # engine honours it; otherwise every call recompiles and the per-frame rate is
    # read from two trace lengths (see run_old)
    ev = Evaluator(formula)
    return lambda table, fps=None: evaluate(ev, table, fps=fps, engine=OLD_ENGINE)


@dataclass
class PlanInfo:
    seconds: float  # building the plan (compilation) for this rate
    kind: str  # what the plan is made of, in words
    states: int | None  # automaton (product) states it carries, if any


def plan_info(ev: Any, rate: float | None) -> PlanInfo:
    """Build and describe the plan the evaluator will run on probabilities at ``rate``."""
    t = time.perf_counter()
    if hasattr(ev, "plan"):
        plan = ev.plan(rate)
        seconds = time.perf_counter() - t
        stats = getattr(plan, "stats", None)
        if stats is not None and hasattr(stats, "automata"):
            # every automaton part, product counter and nested-window chain steps through all its states once per frame
            carried = [*stats.automata, *getattr(stats, "counter_states", []), *getattr(stats, "chains", [])]
            states = int(sum(carried)) or None
        else:
            states = int(getattr(plan, "n_states", 0)) or None
        kind = plan.describe() if hasattr(plan, "describe") else type(plan).__name__
        return PlanInfo(seconds, " ".join(str(kind).split()), states)
    prog = ev.program(rate)
    _ = prog.diagram  # built lazily on the first probabilistic run; part of the plan
    return PlanInfo(time.perf_counter() - t, f"monolithic DFA ({prog.kind})", int(prog.dfa.n_states))
