"""framelogic.automata: formulas to minimal DFAs; evaluate, localize and monitor
over frames. No torch, no OpenCV."""

from .compile import compile
from .dfa import Automaton
from .engine import Evaluator, evaluate
from .localize import DEFAULT_MODE, MODES, Event, localize
from .monitor import Monitor, Status, Verdict
from .observe import Hidden, HiddenModel, fit_hidden
from .world import Independent, Markov, World, WorldFilter, fit_world, resolve_world, viterbi

__all__ = [
    "DEFAULT_MODE", "MODES", "Automaton", "Evaluator", "Event", "Hidden", "HiddenModel", "Independent", "Markov", "Monitor", "Status", "Verdict",
    "World", "WorldFilter", "compile", "evaluate", "fit_hidden", "fit_world", "localize", "resolve_world", "viterbi",
]  # fmt: skip
