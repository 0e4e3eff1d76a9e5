"""Hypothesis strategies for property-testing systems against temporal specs.

>>> from framelogic.testing import formulas, traces
"""

from framelogic.logic.strategies import bounds, formulas, traces

__all__ = ["bounds", "formulas", "traces"]
