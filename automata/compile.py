"""``compile``: formula (or text) -> minimal :class:`Automaton`."""

from __future__ import annotations

from collections.abc import Sequence

from framelogic.logic import ast as A
from framelogic.logic.errors import InvalidArgument
from framelogic.logic.grammar import parse_spec
from framelogic.logic.passes import atom_names, resolve_time

from .construct import DEFAULT_MAX_STATES, build
from .dfa import Automaton


def as_formula(formula: A.Formula | str) -> A.Formula:
    if isinstance(formula, str):
        return parse_spec(formula, source="formula").formula
    if not A.is_formula(formula):
        raise InvalidArgument(f"formula={formula!r} must be a Formula or formula text")
    return formula


def compile(  # noqa: A001 - the public name users expect
    formula: A.Formula | str,
    *,
    fps: float | None = None,
    props: Sequence[str] | None = None,
    max_states: int = DEFAULT_MAX_STATES,
    minimize: bool = True,
) -> Automaton:
    """The minimal DFA accepting exactly the traces that satisfy ``formula`` at frame 0.

    ``props`` fixes the propositions (and their order) of the alphabet; it must
    include every atom of the formula. Time bounds need ``fps``.

    >>> compile("a U b")
    <Automaton for a U b: 3 states, 1 accepting, 5 edges over ['a', 'b']>
    """
    f = resolve_time(as_formula(formula), fps)
    names = atom_names(f)
    if props is not None:
        props = tuple(props)
        missing = [n for n in names if n not in props]
        if missing:
            raise InvalidArgument(f"props={list(props)} is missing the formula's propositions {missing}")
        names = props
    raw = build(f, names, max_states=max_states)
    dfa = Automaton(raw.atoms, raw.delta, raw.accepting, raw.initial, f)
    return dfa.minimize() if minimize else dfa
