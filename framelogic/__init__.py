"""framelogic — find *when* things happen in video.

Write an event as a temporal-logic formula over propositions (named, or inline
prompts such as ``"a red traffic light"``); framelogic scores every frame for
each proposition, runs the formula's automaton over the frames and returns the
intervals where the event holds, with probabilities.

>>> import framelogic as fl
>>> f = fl.parse('"car" U "person"')
>>> fl.satisfaction(f, {"car": [1, 1, 0], "person": [0, 0, 1]}).tolist()
[True, True, True]
>>> fl.evaluate(f, {"car": [0.9, 0.8, 0.1], "person": [0.0, 0.5, 1.0]}).round(3).tolist()
[0.81, 0.9, 1.0]
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

from framelogic.automata import (
    Automaton,
    Evaluator,
    Event,
    Hidden,
    Independent,
    Markov,
    Monitor,
    Status,
    Verdict,
    compile,
    evaluate,
    fit_hidden,
    fit_world,
    localize,
    viterbi,
)
from framelogic.automata.analysis import equivalent, satisfiable, valid
from framelogic.automata.analysis import implies as entails
from framelogic.queries.queryfile import QueryFile, load_query_file
from framelogic.queries.results import Match, Results
from framelogic.logic.tables import read_table
from framelogic.queries.search import Query, SearchOptions, search
from framelogic.logic.english import to_english
from framelogic.queries.translate import Translation, translate
from framelogic.queries.store import Store, index_store, probabilities, search_store, search_table

__version__ = "0.1.0"

__all__ = [
    "Automaton", "Evaluator", "Event", "Hidden", "Independent", "Markov", "Match", "Monitor", "Query", "QueryFile", "Results",
    "SearchOptions", "Status", "Translation", "Verdict", "compile", "entails", "equivalent", "evaluate", "fit_hidden", "fit_world",
    "load_query_file", "localize", "satisfiable", "search", "to_english", "translate", "valid", "viterbi",
    "Embedder", "Store", "index_store", "probabilities", "search_store", "search_table",
    "FALSE", "TRUE", "Atom", "AutomatonTooLarge", "Bound", "F", "Formula", "FormulaSyntaxError",
    "FramelogicError", "G", "H", "InputError", "InvalidArgument", "InvalidValue", "M", "N", "O",
    "R", "S", "Spec", "TraceError", "TraceTable", "U", "UnknownRateError", "W", "X", "Y",
    "__version__", "as_trace", "atom", "atom_names", "atoms", "conj", "depth", "desugar", "disj",
    "iff", "implies", "neg", "nnf", "parse", "parse_spec", "read_csv", "read_table", "resolve_time",
    "satisfaction", "size", "substitute", "to_text",
]  # fmt: skip


def __getattr__(name: str) -> object:
    # perception loads lazily: importing framelogic stays free of torch and OpenCV
    if name == "Embedder":
        from framelogic.perception.pipeline import Embedder

        return Embedder
    raise AttributeError(f"module 'framelogic' has no attribute {name!r}")
