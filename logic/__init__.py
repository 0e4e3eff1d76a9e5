"""framelogic.logic: the temporal-logic language — grammar, AST, passes,
reference semantics and bounded z3 analysis. No torch, no OpenCV."""

from .ast import (
    FALSE, TRUE, Atom, Bound, Formula, atom, conj, disj, iff, implies, neg,
    F, G, H, M, N, O, R, S, U, W, X, Y,
)  # fmt: skip
from .errors import FormulaSyntaxError, FramelogicError
from .grammar import Spec, parse, parse_spec
from .passes import atom_names, atoms, depth, desugar, nnf, resolve_time, size, substitute
from .printer import to_text
from .semantics import accepts, holds, satisfaction
from .trace import TraceTable, as_trace, read_csv

__all__ = [
    "FALSE", "TRUE", "Atom", "Bound", "Formula", "FormulaSyntaxError", "FramelogicError", "Spec",
    "TraceTable", "F", "G", "H", "M", "N", "O", "R", "S", "U", "W", "X", "Y", "accepts", "as_trace",
    "atom", "atom_names", "atoms", "conj", "depth", "desugar", "disj", "holds", "iff", "implies",
    "neg", "nnf", "parse", "parse_spec", "read_csv", "resolve_time", "satisfaction", "size",
    "substitute", "to_text",
]  # fmt: skip
