"""Hypothesis strategies and assertions for property-testing systems against
temporal specifications.

>>> from framelogic.testing import satisfying_traces, assert_holds
"""

from framelogic.automata.strategies import assert_holds, assert_violates, explain, satisfying_traces, violating_traces
from framelogic.logic.strategies import bounds, formulas, traces

__all__ = ["assert_holds", "assert_violates", "bounds", "explain", "formulas", "satisfying_traces", "traces", "violating_traces"]
