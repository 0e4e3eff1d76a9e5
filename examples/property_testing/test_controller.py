"""Property tests of the toy controller against three temporal specifications.

    python -m pytest examples/property_testing -q

Scenarios come from framelogic.testing.satisfying_traces: traces of the
environment spec (lights never red and green at once, a red phase of at least
two frames that later turns green, a pedestrian at some point), generated from
its automaton. Hypothesis then shrinks a failure to a minimal scenario, and
assert_holds explains it frame by frame.
"""

from hypothesis import given, settings

from framelogic.logic.trace import TraceTable
from framelogic.testing import assert_holds, satisfying_traces

from controller import brake_decisions

ENVIRONMENT = "G !(red & green) & F (red & X red & F green) & F ped"


def drive(scenario: TraceTable) -> TraceTable:
    red, green, ped = (scenario.column(n).astype(bool).tolist() for n in ("red", "green", "ped"))
    brake = brake_decisions(red, green, ped)
    return TraceTable(("red", "green", "ped", "brake"), [[*row, float(b)] for row, b in zip(scenario.values, brake)])


scenarios = satisfying_traces(ENVIRONMENT, atoms=("red", "green", "ped"), max_len=12)


@settings(max_examples=300, deadline=None)
@given(scenarios)
def test_brakes_for_red_lights(scenario):
    assert_holds("G (red -> brake)", drive(scenario))


@settings(max_examples=300, deadline=None)
@given(scenarios)
def test_no_phantom_braking(scenario):
    assert_holds("G (brake -> red | ped)", drive(scenario))


@settings(max_examples=300, deadline=None)
@given(scenarios)
def test_brakes_for_pedestrians(scenario):
    # fails: the planted bug; hypothesis shrinks it to red, red, green + pedestrian
    assert_holds("G (ped -> brake)", drive(scenario))
