"""Cross-check with Storm: our exact probability equals Storm's on the layered DTMC."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("stormpy")

from benchmarks.baselines.storm_dtmc import layered_dtmc, probability  # noqa: E402
from framelogic.automata import evaluate  # noqa: E402
from framelogic.automata.letters import letter_probabilities  # noqa: E402
from framelogic.logic.strategies import traces  # noqa: E402

# (our LTLf formula, the PCTL path formula on the layered DTMC; "end" marks the trace end,
# and the start state satisfies nothing, so the path starts with one X)
CASES = [
    ("F p", 'X (F "p")'),
    ("G p", 'X (G ("p" | "end"))'),
    ("p U q", 'X ("p" U "q")'),
    ("(p & q) U r", 'X (("p" & "q") U "r")'),
    ("F (p & q)", 'X (F ("p" & "q"))'),
]


@pytest.mark.parametrize("ours, pctl", CASES)
@given(data=st.data())
def test_exact_probability_equals_storm(ours, pctl, data):
    names = ("p", "q", "r")
    t = data.draw(traces(names, min_len=1, max_len=5, probabilistic=True))
    dtmc, _ = layered_dtmc(names, letter_probabilities(t.values))
    assert abs(evaluate(ours, t)[0] - probability(dtmc, f"P=? [ {pctl} ]")) < 1e-9
