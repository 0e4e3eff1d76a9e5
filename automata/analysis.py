"""Exact questions about formulas, answered with automata for every trace length.

``satisfiable`` returns a shortest witness trace or ``None``; ``valid``,
``equivalent`` and ``implies`` return an :class:`Answer`, truthy exactly when
the property holds and carrying a shortest counterexample when it does not.
Domain assumptions are formulas that
hold at frame 0 of every trace considered. An assumption of the form ``G ψ``
with ``ψ`` a proposition-only formula (mutual exclusion, implications between
propositions) is a per-frame invariant: z3 finds the letters it allows, and the
letters it forbids are pruned from the automaton (they lead to a rejecting
sink); other assumptions are conjoined to the question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import z3

from framelogic.logic import ast as A
from framelogic.logic.passes import atom_names, resolve_time
from framelogic.logic.trace import TraceTable

from .compile import as_formula, compile
from .dfa import Automaton
from .letters import encode


@dataclass(frozen=True, slots=True)
class Answer:
    """Whether a property holds; when it does not, a shortest trace showing why.

    >>> bool(equivalent("a", "b")), bool(equivalent("G a", "!F !a"))
    (False, True)
    >>> equivalent("a", "b").counterexample.names
    ('a', 'b')
    """

    holds: bool
    counterexample: TraceTable | None = None  # None exactly when the property holds

    def __bool__(self) -> bool:
        return self.holds


def _answer(example: TraceTable | None) -> Answer:
    return Answer(example is None, example)


def _is_propositional(f: A.Formula) -> bool:
    stack = [f]
    while stack:
        g = stack.pop()
        if not isinstance(g, (A.Const, A.Atom, A.Not, A.And, A.Or, A.Implies, A.Iff)):
            return False
        stack.extend(A.children(g))
    return True


def split_assumptions(assume: Sequence[A.Formula]) -> tuple[list[A.Formula], list[A.Formula]]:
    """``(invariants, temporal)``: bodies of ``G ψ`` with propositional ``ψ``, and the rest."""
    inv, rest = [], []
    for a in assume:
        if isinstance(a, A.Always) and a.bound == A.UNBOUNDED and _is_propositional(a.arg):
            inv.append(a.arg)
        else:
            rest.append(a)
    return inv, rest


def _z3(f: A.Formula, var: dict[str, z3.BoolRef]) -> z3.BoolRef:
    match f:
        case A.Const(v):
            return z3.BoolVal(v)
        case A.Atom(name):
            return var[name]
        case A.Not(a):
            return z3.Not(_z3(a, var))
        case A.And(args):
            return z3.And([_z3(a, var) for a in args])
        case A.Or(args):
            return z3.Or([_z3(a, var) for a in args])
        case A.Implies(a, b):
            return z3.Implies(_z3(a, var), _z3(b, var))
        case A.Iff(a, b):
            return _z3(a, var) == _z3(b, var)
    raise TypeError(f"not propositional: {f!r}")  # pragma: no cover - split_assumptions filters


def feasible_letters(atoms: Sequence[str], invariants: Sequence[A.Formula]) -> np.ndarray:
    """``ok[σ]``: letter σ satisfies every invariant (all models enumerated with z3)."""
    ok = np.zeros(1 << len(atoms), dtype=bool)
    var = {a: z3.Bool(a) for a in atoms}
    solver = z3.Solver()
    for f in invariants:
        solver.add(_z3(f, var))
    while solver.check() == z3.sat:
        model = solver.model()
        bits = [z3.is_true(model.eval(var[a], model_completion=True)) for a in atoms]
        ok[encode(np.array([bits]).reshape(1, len(atoms)))[0]] = True
        solver.add(z3.Or([var[a] != z3.BoolVal(b) for a, b in zip(atoms, bits)]) if atoms else z3.BoolVal(False))
    return ok


def restrict(dfa: Automaton, ok: np.ndarray) -> Automaton:
    """``dfa`` with the letters not in ``ok`` sent to a rejecting sink, minimized."""
    if ok.all():
        return dfa
    sink = dfa.n_states
    delta = np.vstack([dfa.delta, np.full((1, dfa.delta.shape[1]), sink)])
    delta[:, ~ok] = sink
    acc = np.append(dfa.accepting, False)
    return Automaton(dfa.atoms, delta, acc, dfa.initial, dfa.formula).minimize()


def _language(f: A.Formula, assume: Sequence[A.Formula], fps: float | None) -> Automaton:
    f = resolve_time(as_formula(f), fps)
    assume = [resolve_time(as_formula(a), fps) for a in assume]
    inv, rest = split_assumptions(assume)
    body = A.conj(f, *rest)
    atoms = tuple(dict.fromkeys([*atom_names(body), *(n for g in inv for n in atom_names(g))]))
    dfa = compile(body, props=atoms)
    return restrict(dfa, feasible_letters(atoms, inv)) if inv else dfa


def satisfiable(f: A.Formula | str, *, assume: Sequence[A.Formula | str] = (), fps: float | None = None) -> TraceTable | None:
    """A shortest trace satisfying ``f`` (and the assumptions), or None if there is none."""
    return _language(f, assume, fps).example()


def valid(f: A.Formula | str, *, assume: Sequence[A.Formula | str] = (), fps: float | None = None) -> Answer:
    """Does every trace (meeting the assumptions) satisfy ``f``? Else a shortest counterexample."""
    return _answer(_language(A.neg(as_formula(f)), assume, fps).example())


def equivalent(f: A.Formula | str, g: A.Formula | str, *, assume: Sequence[A.Formula | str] = (), fps: float | None = None) -> Answer:
    """Do ``f`` and ``g`` agree on every trace? Else a shortest trace where they differ."""
    return _answer(_language(A.neg(A.iff(as_formula(f), as_formula(g))), assume, fps).example())


def implies(f: A.Formula | str, g: A.Formula | str, *, assume: Sequence[A.Formula | str] = (), fps: float | None = None) -> Answer:
    """Does every trace satisfying ``f`` satisfy ``g``? Else a shortest counterexample."""
    return _answer(_language(A.conj(as_formula(f), A.neg(as_formula(g))), assume, fps).example())


entails = implies
