"""framelogic.automata: formulas to minimal DFAs; evaluate, localize and monitor
over frames. No torch, no OpenCV."""

from .compile import compile
from .dfa import Automaton
from .engine import Evaluator, evaluate
from .localize import DEFAULT_MODE, MODES, Event, localize
from .monitor import Monitor, Status, Verdict

__all__ = ["DEFAULT_MODE", "MODES", "Automaton", "Evaluator", "Event", "Monitor", "Status", "Verdict", "compile", "evaluate", "localize"]
