"""Markdown tables of a suite :class:`~benchmarks.suite.core.Result`, with the targets marked PASS/MISS."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterable

from .core import CompileRow, ProbRow, Result

BOOL_TARGET = 10e6  # frames/s per spec, excl. compilation
PEER_TARGET = 10.0  # x reelay on past-time specs
SCALE_TARGET = 1.5  # per-frame cost at the highest fps / at the lowest
PROB_TARGET = 1e6  # frames/s on disjoint-proposition specs
STATE_TARGET = 1e8  # state-frames/s otherwise


def rate(x: float | None) -> str:
    if x is None:
        return "—"
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e3:
        return f"{x / 1e3:.1f}k"
    return f"{x:.0f}"


def ms(x: float | None) -> str:
    return "—" if x is None else f"{x * 1e3:.1f}"


def ratio(x: float | None) -> str:
    return "—" if x is None else f"{x:,.1f}×" if x < 100 else f"{x:,.0f}×"


def mark(ok: bool | None) -> str:
    return "n/a" if ok is None else "PASS" if ok else "MISS"


def table(head: list[str], rows: Iterable[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def targets(res: Result) -> dict[str, list[tuple[str, bool | None]]]:
    """Each target -> ``(cell, passed)``; None where the cell could not be measured."""
    by_spec = {s.name: s for s in res.config.specs}
    out: dict[str, list[tuple[str, bool | None]]] = {}
    out[f"boolean ≥ {BOOL_TARGET / 1e6:.0f}M frames/s (excl. compile)"] = [
        (f"{r.spec} @ {r.fps:g}", None if r.rate is None else r.rate >= BOOL_TARGET) for r in res.bool_rows
    ]
    out[f"≥ {PEER_TARGET:.0f}× reelay on past-time specs"] = [
        (f"{r.spec} @ {r.fps:g}", None if r.vs_reelay is None else r.vs_reelay >= PEER_TARGET) for r in res.peer_rows
    ]
    prob = []
    for r in res.prob_rows:
        if by_spec[r.spec].sharing == "disjoint" or r.states is None:
            prob.append((f"{r.spec} @ {r.fps:g} (frames/s)", None if r.rate is None else r.rate >= PROB_TARGET))
        else:
            prob.append((f"{r.spec} @ {r.fps:g} (state-frames/s)", None if r.state_rate is None else r.state_rate >= STATE_TARGET))
    out[f"probabilistic ≥ {PROB_TARGET / 1e6:.0f}M frames/s on disjoint specs, else ≥ 1e8 state-frames/s"] = prob
    scale = []
    for label, rows in (("boolean", res.bool_rows), ("probabilities", res.prob_rows)):
        for spec, lo, hi in _fps_pairs(res, rows):
            scale.append((f"{spec} ({label})", None if lo is None or hi is None else hi / lo <= SCALE_TARGET))
    out[f"cost per frame at highest fps ≤ {SCALE_TARGET}× lowest fps"] = scale
    out["compile faster than ltlf2dfa + MONA on 8-atom specs"] = [(r.label, compile_ok(r)) for r in res.compile_rows if r.eight_atoms]
    return out


def _bounds_note(r: ProbRow) -> str:
    """What ``approx="bounds"`` did where the exact plan did not run."""
    if r.bounds_rate is not None:
        return f'; approx="bounds": {rate(r.bounds_rate)} frames/s, mean width {r.bounds_width:.3f}'
    return f'; approx="bounds": {r.bounds_error}' if r.bounds_error else ""


def compile_ok(r: CompileRow) -> bool | None:
    """framelogic compiled faster; a side that failed or hit the cap counts as slowest."""
    if r.ours_s is None and r.mona_s is None:
        return None
    if r.ours_s is None or r.mona_s is None:
        return r.mona_s is None
    return r.ours_s < r.mona_s


def _fps_pairs(res: Result, rows: list) -> list[tuple[str, float | None, float | None]]:
    """Per spec: per-frame seconds at the lowest and at the highest fps."""
    lo_fps, hi_fps = min(res.config.fps), max(res.config.fps)
    out = []
    for spec in res.config.specs:
        cost = {r.fps: (r.eval_s / r.n if r.eval_s else None) for r in rows if r.spec == spec.name}
        out.append((spec.name, cost.get(lo_fps), cost.get(hi_fps)))
    return out


def render(res: Result) -> str:
    cfg = res.config
    by_spec = {s.name: s for s in cfg.specs}
    old = {(r.spec, r.fps): r for r in res.old_rows}
    parts = [
        "# framelogic driving-spec suite (issue 9)\n",
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared), Python "
        f"{platform.python_version()}; numba/OpenMP pinned to one thread; run took {res.seconds:.0f} s; load average "
        f"{res.load[0]:.1f} at the start, {res.load[1]:.1f} at the end (other work shared the cores: expect noise).\n"
        f"Command: `{res.command or 'benchmarks.suite.core.run(...)'}`. "
        f"Traces: {cfg.n_bool:,} boolean frames and {cfg.n_prob:,} probability frames per spec and fps, persistent "
        "propositions (on for 0.5-3 s, off for 1-8 s, geometric run lengths), detector-like probabilities "
        "(Beta(6,2) when true, Beta(2,6) when false). Every framelogic cell runs in a forked child under a time cap "
        f"({cfg.cap_s:.0f} s; old engine {cfg.old_cap_s:.0f} s on {cfg.n_old:,} frames, rates per frame).\n",
    ]
    parts += [f"- {n}" for n in res.notes]
    parts.append("")

    parts.append("## Specs\n")
    parts.append(table(["spec", "formula", "atoms", "rules share propositions?", "past-time (peers)"],
                       [[s.name, f"`{s.text}`", str(len(s.atoms)), s.sharing, "yes" if s.past_time else "no"] for s in cfg.specs]))  # fmt: skip

    parts.append(f"\n## Boolean signal ({cfg.n_bool:,} frames)\n")
    rows = []
    for r in res.bool_rows:
        o = old[(r.spec, r.fps)]
        rows.append([
            r.spec, f"{r.fps:g}", rate(r.rate) if not r.error else r.error, rate(r.rate_incl),
            rate(r.kernel_rate), ms(r.compile_s),
            "—" if r.memory_mib is None else f"{r.memory_mib:.0f}",
            rate(o.bool_rate) if not o.error else o.error,
            "—" if o.compile_s is None else f"{o.compile_s:.2f}" + ("" if o.states is None else f" ({o.states:,} states)"),
            ratio(r.rate / o.bool_rate) if r.rate and o.bool_rate else "—",
            mark(None if r.rate is None else r.rate >= BOOL_TARGET),
        ])  # fmt: skip
    mem = next((r.memory_method for r in res.bool_rows if r.memory_method), "")
    parts.append(table(["spec", "fps", "frames/s excl. compile", "incl. compile", "program alone", "compile (ms)", "peak memory (MiB)",
                        "old engine frames/s", "old compile (s)", "vs old", "≥ 10M/s"], rows))  # fmt: skip
    parts.append(f"\nframes/s excl. compile: best of {cfg.repeat} calls on an `Evaluator` built once; compile: building its "
                 f"boolean program plus the first call's extra time over a warm call; incl. compile: frames / (compile + "
                 f"evaluation) (tables are passed as a `TraceTable`, so converting input is excluded). Peak memory: {mem}, during one "
                 "evaluation; the input table alone is frames × atoms × 8 bytes. Program alone: `Evaluator.boolean_program(fps)` "
                 "called on the already selected columns (what the evaluation costs without the table handling: "
                 "selecting, validating and checking the columns for 0/1); the target is judged on the first column. "
                 f"Old engine: `Evaluator(f, engine=\"automaton\")` on the first {cfg.n_old:,} frames of the same traces "
                 "(its rate is per frame); its compile is the monolithic DFA plus its reverse automaton and guard diagram.")  # fmt: skip

    parts.append(f"\n## Probabilities ({cfg.n_prob:,} frames)\n")
    rows = []
    for r in res.prob_rows:
        o = old[(r.spec, r.fps)]
        disjoint = by_spec[r.spec].sharing == "disjoint" or r.states is None
        ok = (None if r.rate is None else r.rate >= 1e6) if disjoint else (None if r.state_rate is None else r.state_rate >= STATE_TARGET)
        rows.append([
            r.spec, f"{r.fps:g}", rate(r.rate) if not r.error else r.error + _bounds_note(r), ms(r.plan_s), r.plan_kind or "—",
            "—" if r.states is None else f"{r.states:,}", rate(r.state_rate),
            rate(o.prob_rate) if not o.error else o.error, ratio(r.rate / o.prob_rate) if r.rate and o.prob_rate else "—",
            f"{mark(ok)} ({'frames' if disjoint else 'state-frames'})",
        ])  # fmt: skip
    parts.append(table(["spec", "fps", "frames/s", "plan (ms)", "plan", "states carried", "state-frames/s",
                        "old engine frames/s", "vs old", "target"], rows))  # fmt: skip
    parts.append("\nStates carried: the automaton parts' states plus the nested-window chains' states plus the product counters' states (rules with "
                 "past windows or until, counted as the product of their b+1-state counters; a single response "
                 "counter for F rules sharing q carries none), each stepped once per frame; state-frames/s = "
                 "frames/s x states carried. The target is frames/s on specs whose rules are over disjoint "
                 "propositions (or that carry no states), state-frames/s otherwise.")

    parts.append("\n## Cost per frame vs sampling rate\n")
    lo_fps, hi_fps = min(cfg.fps), max(cfg.fps)
    rows = []
    b_pairs = {s: (lo, hi) for s, lo, hi in _fps_pairs(res, res.bool_rows)}
    p_pairs = {s: (lo, hi) for s, lo, hi in _fps_pairs(res, res.prob_rows)}
    for s in cfg.specs:
        cells = []
        for lo, hi in (b_pairs[s.name], p_pairs[s.name]):
            x = hi / lo if lo and hi else None
            cells += [ratio(x), mark(None if x is None else x <= SCALE_TARGET)]
        rows.append([s.name, *cells])
    parts.append(table(["spec", f"boolean {hi_fps:g}/{lo_fps:g} fps", "≤ 1.5×", f"probabilities {hi_fps:g}/{lo_fps:g} fps", "≤ 1.5×"], rows))

    parts.append("\n## Past-time specs vs reelay and rtamt (same traces, same run)\n")
    rows = [[r.spec, f"{r.fps:g}", f"`{r.formula}`", rate(r.ours_rate) if not r.error else r.error, rate(r.reelay_rate),
             rate(r.rtamt_rate), ratio(r.vs_reelay), ratio(r.vs_rtamt), r.agree or "—",
             mark(None if r.vs_reelay is None else r.vs_reelay >= PEER_TARGET)] for r in res.peer_rows]  # fmt: skip
    parts.append(table(["spec", "fps", "monitored formula", "framelogic frames/s", "reelay samples/s", "rtamt samples/s",
                        "vs reelay", "vs rtamt", "outputs agree with reelay", "≥ 10×"], rows))  # fmt: skip
    parts.append(f"\nAll three compute the same signal: `H rule1 & H rule2 ...` (every rule held so far) at every frame. "
                 f"framelogic: {cfg.n_bool:,} frames, excl. compile; reelay (`discrete_timed_monitor`): {cfg.n_peer:,} samples; "
                 f"rtamt (`StlDiscreteTimeSpecification`): {cfg.n_rtamt:,} samples; agreement checked on the first "
                 f"{cfg.n_check:,} frames.")  # fmt: skip

    parts.append("\n## Monitor step latency (µs per frame)\n")
    n_mb, n_mp = cfg.n_monitor, max(cfg.n_monitor // 4, 1)

    def us(x: float | str | None, done: int, of: int) -> str:
        if x is None:
            return "—"
        if isinstance(x, str):  # why the frames could not be followed
            return x
        return f"{x:.2f}" + ("" if done >= of else f" ({done:,} frames in the {cfg.loop_budget_s:g} s budget)")

    rows = [[r.spec, f"{r.fps:g}", ms(r.build_s) if not r.error else r.error, us(r.us_bool, r.n_bool, n_mb),
             us(r.us_prob, r.n_prob, n_mp)] for r in res.monitor_rows]  # fmt: skip
    parts.append(table(["spec", "fps", "build (ms)", "0/1 frames", "probability frames"], rows))
    parts.append(f"\n`Monitor.step` on {cfg.n_monitor:,} 0/1 frames and {max(cfg.n_monitor // 4, 1):,} probability frames (dicts).")

    parts.append("\n## Compile: framelogic.compile vs ltlf2dfa + MONA\n")
    rows = []
    for r in res.compile_rows:
        ok = compile_ok(r)
        rows.append([
            r.label, "8" if r.eight_atoms else "2", ms(r.ours_s) if not r.ours_error else r.ours_error,
            "—" if r.ours_states is None else str(r.ours_states),
            ms(r.mona_s) if not r.mona_error else r.mona_error, r.dot_error or ms(r.dot_s),
            "—" if r.mona_states is None else str(r.mona_states), ratio(r.mona_s / r.ours_s) if r.ours_s and r.mona_s else "—",
            mark(ok) if r.eight_atoms else "(info)",
        ])  # fmt: skip
    parts.append(table(["formula", "atoms", "framelogic (ms)", "states", "ltlf2dfa + MONA (ms)", "ltlf2dfa.to_dfa incl. DOT (ms)",
                        "MONA states", "speed-up", "faster"], rows))  # fmt: skip
    parts.append("\nltlf2dfa has no bounded operators: `F[0,k] b` is given to it expanded as `b | X(b | X(...))` "
                 "(k nested strong X). 'ltlf2dfa + MONA' is its LTLf→MONA translation plus the `mona` run; "
                 "`to_dfa` also simplifies every guard with sympy to print DOT. MONA states: MONA's count less its "
                 "extra initial state, as ltlf2dfa draws it; it may differ by one from framelogic's minimal DFA. Both sides: best of 3, parsing included, parser "
                 f"construction excluded; cap {cfg.compile_cap_s:.0f} s per compile ({cfg.dot_cap_s:g} s for the DOT step).")  # fmt: skip

    if res.legacy:
        parts.append("\n## Existing automata benchmark rows (no-regression check)\n")
        for title, body in res.legacy:
            parts.append(f"### {title}\n\n{body}\n")

    parts.append("\n## Targets\n")
    rows = []
    for name, cells in targets(res).items():
        n_pass = sum(1 for _, ok in cells if ok)
        misses = [c for c, ok in cells if ok is False]
        unknown = [c for c, ok in cells if ok is None]
        detail = "; ".join(misses[:8]) + (" ..." if len(misses) > 8 else "")
        if unknown:
            detail += f"{'; ' if detail else ''}not measured: {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}"
        rows.append([name, f"{n_pass}/{len(cells)}", "PASS" if cells and n_pass == len(cells) else "MISS", detail or "—"])
    parts.append(table(["target", "cells passing", "overall", "misses"], rows))
    return "\n".join(parts) + "\n"

