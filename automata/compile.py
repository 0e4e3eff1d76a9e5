"""``compile``: formula (or text) -> minimal :class:`Automaton`.

Compilation is compositional, as in Lydia: the boolean structure at the top of
a formula (``& | ! -> <->``), and temporal operators that distribute over it
(``G (a & b) = G a & G b``, ``F (a | b) = F a | F b``, the same for ``H O X N
Y`` and the operands of ``U R S``, with the same bounds), is compiled operand
by operand, each over its own propositions only (2^k letters for its own k, not
for all of them). Every piece is minimized, and the pieces are combined by
products over the union of their propositions (pieces that share propositions
first, then the smallest), minimizing after every product. Only what is left
(the "leaves") goes through formula progression (:func:`.construct.build`).
Minimal DFAs are unique, and states are numbered canonically, so the result is
the same array as the monolithic construction's (``compose=False``).

Every automaton built on the way is held to one :class:`.construct.Budget`
(states, transition-table entries, seconds): an oversized formula fails within
the limit with :class:`AutomatonTooLarge`, naming the piece that grew too large.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from framelogic.logic import ast as A
from framelogic.logic.errors import InvalidArgument, InvalidValue
from framelogic.logic.grammar import parse_spec
from framelogic.logic.passes import atom_names, resolve_time, substitute

from .construct import (
    DEFAULT_MAX_CELLS,
    DEFAULT_MAX_SECONDS,
    DEFAULT_MAX_STATES,
    MAX_ATOMS,
    Budget,
    build,
    too_many_atoms,
)
from .dfa import Automaton, bfs_numbered, minimal
from .letters import projection

# accepting-combination tables, indexed [accepts left, accepts right]
_AND = np.array([[False, False], [False, True]])
_OR = np.array([[False, True], [True, True]])
_IFF = np.array([[True, False], [False, True]])


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
    max_seconds: float = DEFAULT_MAX_SECONDS,
    max_cells: int = DEFAULT_MAX_CELLS,
    minimize: bool = True,
    compose: bool = True,
) -> Automaton:
    """The minimal DFA accepting exactly the traces that satisfy ``formula`` at frame 0.

    ``props`` fixes the propositions (and their order) of the alphabet; it must
    include every atom of the formula. Time bounds need ``fps``.

    Limits, for every automaton built on the way: ``max_states`` states (before
    minimization), ``max_cells`` transition-table entries (states x 2^k letters,
    4 bytes each), and ``max_seconds`` for the whole call; past any of them
    :class:`~framelogic.logic.errors.AutomatonTooLarge` names the culprit.

    ``compose=False`` builds the whole formula by progression in one go (the
    reference construction); ``minimize=False`` returns that construction's
    automaton unminimized.

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
    if len(names) > MAX_ATOMS:
        raise InvalidValue(too_many_atoms(len(names)))
    budget = Budget(max_states=max_states, max_cells=max_cells, max_seconds=max_seconds, formula=f)
    if not minimize or not compose:
        raw = build(f, names, budget=budget)
        dfa = Automaton(raw.atoms, raw.delta, raw.accepting, raw.initial, f)
        return dfa.minimize(budget=budget) if minimize else dfa
    dfa = _Composer(names, budget).top(f)
    budget.check_size(dfa.n_states, 1 << len(names), f)
    dfa = bfs_numbered(dfa.lift(names))  # the canonical numbering, over the requested letters
    return Automaton(names, dfa.delta, dfa.accepting, dfa.initial, f)


# ----------------------------------------------------------------- splitting


def _conjuncts(f: A.Formula) -> tuple[A.Formula, ...] | None:
    """``f`` as a conjunction of several formulas, if it is one."""
    match f:
        case A.And(args):
            return args
        case A.Not(A.Or(args)):
            return tuple(A.neg(a) for a in args)
        case A.Not(A.Implies(a, b)):
            return (a, A.neg(b))
    return None


def _disjuncts(f: A.Formula) -> tuple[A.Formula, ...] | None:
    """``f`` as a disjunction of several formulas, if it is one."""
    match f:
        case A.Or(args):
            return args
        case A.Not(A.And(args)):
            return tuple(A.neg(a) for a in args)
        case A.Implies(a, b):
            return (A.neg(a), b)
    return None


def split(f: A.Formula) -> tuple[str, tuple[A.Formula, ...]] | None:
    """``("and" | "or" | "iff" | "not", operands)`` when ``f``'s automaton is a
    product (or complement) of its operands' automata; None for a leaf.

    The temporal cases are language equalities for every bound ``I``:
    ``G_I``, ``H_I``, ``X``, ``N``, ``Y`` distribute over ``&``; ``F_I``,
    ``O_I``, ``X``, ``N``, ``Y`` over ``|``; ``a U_I (b | c) = (a U_I b) | (a
    U_I c)`` and ``(a & b) U_I c = (a U_I c) & (b U_I c)`` (the earlier of the
    two witnesses serves both), the same for ``S``; ``R`` is the dual.
    """
    match f:
        case A.And(args):
            return "and", args
        case A.Or(args):
            return "or", args
        case A.Implies(a, b):
            return "or", (A.neg(a), b)
        case A.Iff(a, b):
            return "iff", (a, b)
        case A.Not(a):
            return "not", (a,)
        case A.Always(a, bd) | A.Historically(a, bd):
            parts = _conjuncts(a)
            if parts:
                return "and", tuple(A.temporal(type(f), p, bound=bd) for p in parts)
        case A.Eventually(a, bd) | A.Once(a, bd):
            parts = _disjuncts(a)
            if parts:
                return "or", tuple(A.temporal(type(f), p, bound=bd) for p in parts)
        case A.Next(a) | A.WeakNext(a) | A.Prev(a):
            wrap = {A.Next: A.X, A.WeakNext: A.N, A.Prev: A.Y}[type(f)]
            parts = _conjuncts(a)
            if parts:
                return "and", tuple(wrap(p) for p in parts)
            parts = _disjuncts(a)
            if parts:
                return "or", tuple(wrap(p) for p in parts)
        case A.Until(a, b, bd) | A.Since(a, b, bd):
            parts = _disjuncts(b)
            if parts:
                return "or", tuple(A.temporal(type(f), a, p, bound=bd) for p in parts)
            parts = _conjuncts(a)
            if parts:
                return "and", tuple(A.temporal(type(f), p, b, bound=bd) for p in parts)
        case A.Release(a, b, bd):
            parts = _conjuncts(b)
            if parts:
                return "and", tuple(A.temporal(A.Release, a, p, bound=bd) for p in parts)
            parts = _disjuncts(a)
            if parts:
                return "or", tuple(A.temporal(A.Release, p, b, bound=bd) for p in parts)
    return None


# ----------------------------------------------------------------- composition


class _Composer:
    """Minimal automata of the subformulas of one ``compile`` call, memoized."""

    def __init__(self, names: tuple[str, ...], budget: Budget) -> None:
        self.names = names
        self.budget = budget
        self.cache: dict[A.Formula, Automaton] = {}
        self.shapes: dict[tuple[int, A.Formula], Automaton] = {}  # by :func:`_shape`
        self._own: dict[int, tuple[A.Formula, tuple[str, ...]]] = {}  # id -> (formula, its atoms)

    def own_atoms(self, f: A.Formula) -> tuple[str, ...]:
        """The propositions of ``f``, in the order of the requested alphabet."""
        hit = self._own.get(id(f))
        if hit is not None and hit[0] is f:
            return hit[1]
        mine = set(atom_names(f))
        own = tuple(n for n in self.names if n in mine)
        self._own[id(f)] = (f, own)  # holding f keeps its id from being reused
        return own

    def top(self, f: A.Formula) -> Automaton:
        """:meth:`dfa` of the whole formula (met once: no cache or shape lookup)."""
        out = self.cache[f] = self.build_dfa(f)
        return out

    def dfa(self, f: A.Formula) -> Automaton:
        hit = self.cache.get(f)
        if hit is not None:
            return hit
        own = self.own_atoms(f)
        shape = _shape(f, own)
        same = self.shapes.get(shape)
        if same is not None:  # the same formula up to renaming its propositions, in order
            out = Automaton(own, same.delta, same.accepting, same.initial, f)
            self.cache[f] = out
            return out
        out = self.cache[f] = self.build_dfa(f)
        if out.atoms == own:  # (an absorbing piece may have cut a fold short, over fewer propositions)
            self.shapes[shape] = out
        return out

    def build_dfa(self, f: A.Formula) -> Automaton:
        self.budget.check_time(f)
        parts = split(f)
        if parts is None:
            raw = build(f, self.own_atoms(f), budget=self.budget)
            out = self.minimal(Automaton(raw.atoms, raw.delta, raw.accepting, raw.initial, f))
        else:
            op, args = parts
            if op == "not":
                inner = self.dfa(args[0])
                out = self.minimal(Automaton(inner.atoms, inner.delta, inner.accepting, inner.initial, f).complement())
            elif op == "iff":
                out = self.combine(self.dfa(args[0]), self.dfa(args[1]), _IFF, f)
            else:
                out = self.fold(op, [self.dfa(a) for a in args])
        return Automaton(out.atoms, out.delta, out.accepting, out.initial, f)

    def combine(self, x: Automaton, y: Automaton, table: np.ndarray, f: A.Formula) -> Automaton:
        atoms = tuple(n for n in self.names if n in set(x.atoms) | set(y.atoms))
        if set(x.atoms).isdisjoint(y.atoms) and table is not _IFF:
            out = tensor_product(x, y, table, atoms, self.budget, f)
            if out is not None:
                return out
        prod = x.product(y, lambda p, q: bool(table[int(p), int(q)]), budget=self.budget, formula=f, atoms=atoms)
        return self.minimal(prod)

    def minimal(self, d: Automaton) -> Automaton:
        # Only the final result needs canonical numbers. Constructions and products
        # reach every state, unless a fresh start was split off an accepting one
        # (by a complement or a product): then the old start may be unreachable.
        return minimal(d, self.budget, canonical=False, all_reachable=d.initial == 0)

    def fold(self, op: str, pieces: list[Automaton]) -> Automaton:
        """The conjunction (disjunction) of ``pieces``, a pair at a time: pieces
        that share propositions first (their product often collapses, as two
        deadlines met by the same event do), the smallest product table first."""
        table, join = (_AND, _join_and) if op == "and" else (_OR, _join_or)
        absorbing = _is_empty if op == "and" else _is_universal
        pieces = list(pieces)
        while len(pieces) > 1:
            for d in pieces:
                if absorbing(d):
                    return d
            i, j = min(itertools.combinations(range(len(pieces)), 2), key=lambda ij: _pair_cost(pieces[ij[0]], pieces[ij[1]]))
            x, y = pieces[i], pieces[j]
            z = self.combine(x, y, table, join(x.formula, y.formula))
            pieces = [d for k, d in enumerate(pieces) if k not in (i, j)] + [z]
        return pieces[0]


def _join_and(x: A.Formula, y: A.Formula) -> A.Formula:
    """``x & y`` flattened, as a label of an intermediate product (no simplification:
    the smart constructor's deduplication hashes whole formulas)."""
    return A.And((x.args if isinstance(x, A.And) else (x,)) + (y.args if isinstance(y, A.And) else (y,)))


def _join_or(x: A.Formula, y: A.Formula) -> A.Formula:
    return A.Or((x.args if isinstance(x, A.Or) else (x,)) + (y.args if isinstance(y, A.Or) else (y,)))


def _pair_cost(x: Automaton, y: Automaton) -> tuple[bool, int]:
    """Disjoint pairs last; then the size of the product's full table."""
    union = set(x.atoms) | set(y.atoms)
    return set(x.atoms).isdisjoint(y.atoms), (x.n_states * y.n_states) << len(union)


def _is_empty(d: Automaton) -> bool:
    # minimal automata have only reachable states, and the start never accepts
    return not d.accepting.any()


def _is_universal(d: Automaton) -> bool:
    # every non-empty trace: the start, and one accepting state that never leaves
    if d.n_states != 2:
        return False
    other = 1 - d.initial
    return not d.accepting[d.initial] and bool(d.accepting[other]) and bool((d.delta == other).all())


# ----------------------------------------------------------------- shortcuts

_SHAPE_ATOMS = tuple(A.atom(f"_{j}") for j in range(MAX_ATOMS))


def _shape(f: A.Formula, own: tuple[str, ...]) -> tuple[int, A.Formula]:
    """The number of ``f``'s propositions, and ``f`` with them renamed ``_0, _1,
    ...`` in the order of ``own`` (its letters' bits). Formulas of one shape have
    the same automaton up to that renaming: the same table, read over their own
    propositions. (The count matters: renaming rebuilds with the smart
    constructors, which may simplify some propositions away.)"""
    return len(own), substitute(f, {a: _SHAPE_ATOMS[j] for j, a in enumerate(own)})


def tensor_product(
    x: Automaton, y: Automaton, table: np.ndarray, atoms: tuple[str, ...], budget: Budget, f: A.Formula
) -> Automaton | None:
    """The minimal automaton of the conjunction (``table`` is ``_AND``) or
    disjunction (``_OR``) of minimal ``x`` and ``y`` over disjoint propositions,
    built directly as their tensor product, when it needs no minimization; None
    when that is not sure (then the generic product and minimization run).

    Over disjoint propositions a letter is a pair of letters, one for each, so
    the product's table is ``delta[(p, q), (a, b)] = (dx[p, a], dy[q, b])``. Its
    reachable part is minimal when (1) in each factor no two states have the
    same row of successors, and (2) for ``&``, every state of each factor has a
    letter into an accepting state (for ``|``: into a rejecting one).

    Proof for ``&`` (``|`` is its dual, on the complements): take pairs ``(p, q)
    != (p', q')``, say ``p != p'``. By (1) some letter ``a`` has ``dx[p, a] !=
    dx[p', a]``; ``x`` is minimal, so a word ``a w`` of some length ``n >= 1`` is
    accepted from exactly one of ``p``, ``p'``, say from ``p``. By (2) every
    state of ``y`` accepts some word of length 1, hence (the table is complete)
    of every length ``>= 1``; take ``v`` of length ``n`` accepted from ``q``. The
    pair word ``(a w, v)`` is accepted from ``(p, q)`` and not from ``(p', q')``.
    The start is a pair of non-accepting starts, so it does not accept either.
    """
    conj = table is _AND
    for d in (x, y):
        into = d.accepting[d.delta] if conj else ~d.accepting[d.delta]
        if d.accepting[d.initial] or not into.any(axis=1).all() or not _rows_distinct(d.delta):
            return None
    nx, ny = x.n_states, y.n_states
    budget.check_size(nx * ny, 1 << len(atoms), f)
    dx = x.delta[:, projection(x.atoms, atoms)].astype(np.int32) * ny
    dy = y.delta[:, projection(y.atoms, atoms)]
    delta = (dx[:, None, :] + dy[None, :, :]).reshape(nx * ny, -1)
    acc = table[x.accepting.astype(np.intp)[:, None], y.accepting.astype(np.intp)[None, :]].reshape(-1)
    return bfs_numbered(Automaton(atoms, delta, acc, x.initial * ny + y.initial, f))


def _rows_distinct(delta: np.ndarray) -> bool:
    return len({row.tobytes() for row in delta}) == delta.shape[0]
