"""framelogic — find *when* things happen in video.

Write an event as a temporal-logic formula over propositions (named, or inline
prompts such as ``"a red traffic light"``); framelogic scores every frame for
each proposition, runs the formula's automaton over the frames and returns the
intervals where the event holds, with probabilities.

>>> import framelogic as fl
>>> f = fl.parse('"car" U "person"')
>>> fl.satisfaction(f, {"car": [1, 1, 0], "person": [0, 0, 1]}).tolist()
[True, True, True]
"""

from framelogic.logic import (
    FALSE,
    TRUE,
    Atom,
    Bound,
    F,
    Formula,
    FormulaSyntaxError,
    FramelogicError,
    G,
    H,
    M,
    N,
    O,
    R,
    S,
    Spec,
    TraceTable,
    U,
    W,
    X,
    Y,
    as_trace,
    atom,
    atom_names,
    atoms,
    conj,
    depth,
    desugar,
    disj,
    iff,
    implies,
    neg,
    nnf,
    parse,
    parse_spec,
    read_csv,
    resolve_time,
    satisfaction,
    size,
    substitute,
    to_text,
)
from framelogic.logic.errors import (
    AutomatonTooLarge,
    InputError,
    InvalidArgument,
    InvalidValue,
    TraceError,
    UnknownRateError,
)

__version__ = "0.1.0"

__all__ = [
    "FALSE", "TRUE", "Atom", "AutomatonTooLarge", "Bound", "F", "Formula", "FormulaSyntaxError",
    "FramelogicError", "G", "H", "InputError", "InvalidArgument", "InvalidValue", "M", "N", "O",
    "R", "S", "Spec", "TraceError", "TraceTable", "U", "UnknownRateError", "W", "X", "Y",
    "__version__", "as_trace", "atom", "atom_names", "atoms", "conj", "depth", "desugar", "disj",
    "iff", "implies", "neg", "nnf", "parse", "parse_spec", "read_csv", "resolve_time",
    "satisfaction", "size", "substitute", "to_text",
]  # fmt: skip
