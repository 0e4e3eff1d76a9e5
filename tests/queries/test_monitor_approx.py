"""``framelogic monitor --approx bounds``: a rule set over the state budget is
followed with certified bounds, and only when asked for."""

from __future__ import annotations

import io
import json
import sys

import numpy as np

import framelogic as fl
from framelogic.queries.cli import main
from framelogic.queries.explain import monitor

RULES = ("G (red -> F[0,3s] stopped) & G (ped -> F[0,2s] brake) & G (brake -> O[0,1s] (ped | red | car)) "
         "& G (yellow -> (!accel U[0,3s] (red | stop_sign)))")  # fmt: skip
ATOMS = ("red", "stopped", "ped", "brake", "car", "yellow", "accel", "stop_sign")


def query_text(fps: int) -> str:
    props = "".join(f'prop {a} = "{a}"\n' for a in ATOMS)
    return f"set fps = {fps}\n{props}query rules: {RULES}\n"


def rows(n: int, seed: int = 0) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    return [{a: float(rng.uniform(0.0, 0.2)) for a in ATOMS} for _ in range(n)]


def run(capsys, *argv):  # type: ignore[no-untyped-def]
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_monitor_over_budget_fails_without_approx_and_bounds_with_it(tmp_path, monkeypatch, capsys):
    q = tmp_path / "rules.tl"
    q.write_text(query_text(30))
    csv = "time," + ",".join(ATOMS) + "\n" + "".join(
        f"{i / 30:.4f}," + ",".join(f"{r[a]:.3f}" for a in ATOMS) + "\n" for i, r in enumerate(rows(40)))
    monkeypatch.setattr(sys, "stdin", io.StringIO(csv))
    code, _, err = run(capsys, "monitor", str(q), "-")
    assert code != 0 and "approx" in err
    monkeypatch.setattr(sys, "stdin", io.StringIO(csv))
    code, out, _ = run(capsys, "monitor", str(q), "-", "--approx", "bounds", "--format", "jsonl")
    changes = [json.loads(line) for line in out.splitlines()]
    assert changes and all(0.0 <= c["bounds"][0] <= c["probability"] + 1e-12 <= c["bounds"][1] + 1e-12 for c in changes)
    monkeypatch.setattr(sys, "stdin", io.StringIO(csv))
    code, out, _ = run(capsys, "monitor", str(q), "-", "--approx", "bounds")
    assert "P in [" in out


def test_library_monitor_with_approx_is_exact_where_the_filter_fits():
    """At 5 fps the rule set's exact filter fits its budget: approx="bounds"
    changes nothing (no bounds, the same verdicts and probabilities)."""
    q = fl.Query.from_text(query_text(5))
    data = rows(30, seed=1)
    exact = list(monitor(q, data))
    bounded = list(monitor(q, data, approx="bounds"))
    assert [(c.frame, c.verdict) for c in exact] == [(c.frame, c.verdict) for c in bounded]
    assert all(c.bounds is None for c in bounded)  # fits: exact, no bounds reported
    assert np.allclose([c.probability for c in exact], [c.probability for c in bounded])
