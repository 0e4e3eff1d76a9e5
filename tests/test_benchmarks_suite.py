"""Smoke test of the driving-spec suite (benchmarks/run_suite.py): it runs on tiny
sizes and produces every row. No timing assertions; the peers' outputs must agree
with framelogic's, and the LTLf expansion given to ltlf2dfa must mean the same."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.suite.core import Config, run
from benchmarks.suite.report import render, targets
from benchmarks.suite.specs import SPECS, compile_specs, to_ltlf
from benchmarks.suite.traces import boolean_trace, probability_trace
from framelogic import TraceTable, equivalent, parse


def test_suite_tiny_run_has_every_row() -> None:
    # 1 and 2 fps keep every time window a few frames wide, so every cell is quick
    cfg = Config(n_bool=3000, n_prob=300, n_old=200, n_peer=600, n_rtamt=100, n_check=600, n_monitor=40, fps=(1, 2),
                 repeat=1, cap_s=5.0, old_cap_s=2.0, loop_budget_s=0.5, compile_cap_s=10.0, dot_cap_s=0.5,
                 compile_ks=(10,), legacy=False)  # fmt: skip
    res = run(cfg, log=lambda line: None)
    cells = {(s.name, fps) for s in SPECS for fps in cfg.fps}
    for rows in (res.bool_rows, res.prob_rows, res.old_rows, res.monitor_rows):
        assert {(r.spec, r.fps) for r in rows} == cells
    assert all(r.error == "" and r.rate is not None for r in res.bool_rows), [r.error for r in res.bool_rows]
    # a cell may fail (a part too large for the state budget, or the cap), but then it says why
    for rows, value in ((res.prob_rows, "rate"), (res.old_rows, "bool_rate"), (res.monitor_rows, "us_bool")):
        assert all((getattr(r, value) is None) == bool(r.error) for r in rows), [(r.spec, r.fps, r.error) for r in rows]
    assert any(r.rate is not None for r in res.prob_rows)
    past = [s.name for s in SPECS if s.past_time]
    assert past, "the suite must have past-time specs for the peer comparison"
    assert {(r.spec, r.fps) for r in res.peer_rows} == {(n, fps) for n in past for fps in cfg.fps}
    for r in res.peer_rows:
        assert r.error == ""
        if r.reelay_rate is not None:  # reelay installed: same signal, frame by frame
            assert r.agree == "yes", (r.spec, r.fps, r.agree)
    assert [r.label for r in res.compile_rows] == [label for label, _, _ in compile_specs((10,))]
    assert all(r.ours_s is not None for r in res.compile_rows)
    text = render(res)
    for s in SPECS:
        assert s.name in text
    assert "## Targets" in text and len(targets(res)) == 5


def test_spec_sharing_marks() -> None:
    by_name = {s.name: s for s in SPECS}
    assert by_name["frame bounds"].sharing == "disjoint"
    assert by_name["response deadlines"].sharing == "shared"  # both deadlines end in `stopped`
    assert by_name["delayed window"].sharing == "single rule"
    assert len(SPECS) >= 8 and any(len(s.atoms) >= 8 for s in SPECS)


@pytest.mark.parametrize("text", ["G (a -> F[0,4] b)", "F[2,3] (a & F[0,2] b)"])
def test_ltlf_expansion_is_equivalent(text: str) -> None:
    f = parse(text)
    r = equivalent(parse(to_ltlf(f)), f)
    # None (older API) or a truthy result means equivalent; a trace is a counterexample
    assert r is None or (not isinstance(r, TraceTable) and bool(r)), r


def test_traces_are_persistent() -> None:
    fps = 30
    t = boolean_trace(["red", "ped"], 60_000, fps, seed=3)
    for col in t.values():
        assert set(np.unique(col)) == {0.0, 1.0}
        changes = np.count_nonzero(np.diff(col))
        assert len(col) / max(changes, 1) > 0.5 * fps  # runs last longer than half a second on average
    p = probability_trace(t, 1000, seed=3)
    assert all(((v > 0) & (v < 1)).all() for v in p.values())
