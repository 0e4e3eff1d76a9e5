"""framelogic.automata: formulas to minimal DFAs; evaluate, localize and monitor
over frames. No torch, no OpenCV."""

from .compile import compile
from .dfa import Automaton
from .engine import evaluate

__all__ = ["Automaton", "compile", "evaluate"]
