"""The immutable :class:`Automaton`: a DFA over the letters 2^atoms.

Letter ``σ`` is an integer whose bit ``j`` is the truth of ``atoms[j]`` at a
frame. ``delta[q, σ]`` is the successor of state ``q``. The empty trace is never
accepted (LTLf traces have at least one frame).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from framelogic.logic import ast as A
from framelogic.logic.errors import AutomatonTooLarge, InvalidArgument, InvalidValue, TraceError
from framelogic.logic.printer import to_text
from framelogic.logic.grammar import is_identifier
from framelogic.logic.trace import TraceTable, as_trace

from .construct import DEFAULT_MAX_STATES, MAX_ATOMS, MAX_CELLS


def letters_of(trace: TraceTable, atoms: Sequence[str]) -> np.ndarray:
    """The letter of every frame of a boolean trace, over ``atoms``."""
    t = trace.select(atoms) if atoms else trace
    if not t.is_boolean:
        raise TraceError("this needs a boolean trace (0/1); use framelogic.evaluate for probabilities")
    letters = np.zeros(len(t), dtype=np.int64)
    for j in range(len(atoms)):
        letters |= t.values[:, j].astype(np.int64) << j
    return letters


@dataclass(frozen=True, eq=False)
class Automaton:
    """A deterministic finite automaton over the propositions ``atoms``."""

    atoms: tuple[str, ...]
    delta: np.ndarray
    accepting: np.ndarray
    initial: int = 0
    formula: A.Formula | None = None

    def __post_init__(self) -> None:
        delta = np.ascontiguousarray(self.delta, dtype=np.int32)
        acc = np.ascontiguousarray(self.accepting, dtype=bool)
        if delta.ndim != 2 or delta.shape[1] != 1 << len(self.atoms) or acc.shape != (delta.shape[0],):
            raise InvalidArgument(f"delta shape {delta.shape} does not fit {len(self.atoms)} atoms")
        delta.setflags(write=False)
        acc.setflags(write=False)
        object.__setattr__(self, "delta", delta)
        object.__setattr__(self, "accepting", acc)

    # ------------------------------------------------------------ basics
    @property
    def n_states(self) -> int:
        return int(self.delta.shape[0])

    @property
    def states(self) -> range:
        return range(self.n_states)

    def __len__(self) -> int:
        return self.n_states

    def __repr__(self) -> str:
        f = f" for {to_text(self.formula)}" if self.formula is not None else ""
        return (
            f"<Automaton{f}: {self.n_states} states, {int(self.accepting.sum())} accepting, "
            f"{len(self.edges())} edges over {list(self.atoms)}>"
        )

    def run(self, trace: object) -> np.ndarray:
        """The state after each frame of a boolean trace."""
        letters = letters_of(as_trace(trace), self.atoms)
        out = np.empty(len(letters), dtype=np.int32)
        q = self.initial
        d = self.delta
        for i, s in enumerate(letters):
            q = d[q, s]
            out[i] = q
        return out

    def accepts(self, trace: object) -> bool:
        """Whether the whole (boolean) trace is accepted."""
        states = self.run(trace)
        return bool(len(states) and self.accepting[states[-1]])

    # ------------------------------------------------------------ structure
    @cached_property
    def live(self) -> np.ndarray:
        """States from which some accepting state is reachable (in >= 0 steps)."""
        return _backward_closure(self.delta, self.accepting)

    @cached_property
    def doomed_to_accept(self) -> np.ndarray:
        """States from which every continuation, including stopping now, is accepted."""
        return ~_backward_closure(self.delta, ~self.accepting)

    def minimize(self) -> Automaton:
        """The minimal equivalent automaton (Hopcroft's partition refinement)."""
        reach = _reachable(self.delta, self.initial)
        idx = np.flatnonzero(reach)
        remap = np.full(self.n_states, -1, dtype=np.int64)
        remap[idx] = np.arange(len(idx))
        delta = remap[self.delta[idx]]
        acc = self.accepting[idx]
        cls = _hopcroft(delta, acc)
        n_cls = int(cls.max()) + 1
        # Number classes in BFS order from the initial state: a canonical form.
        first = np.zeros(n_cls, dtype=np.int64)
        for q in range(len(cls) - 1, -1, -1):
            first[cls[q]] = q
        qdelta = cls[delta[first]]
        qacc = acc[first]
        init = int(cls[remap[self.initial]])
        order = _bfs_order(qdelta, init)
        pos = np.empty(n_cls, dtype=np.int64)
        pos[order] = np.arange(n_cls)
        return Automaton(self.atoms, pos[qdelta[order]], qacc[order], 0, self.formula)

    # ------------------------------------------------------------ boolean ops
    def lift(self, atoms: Sequence[str]) -> Automaton:
        """The same language over a superset of propositions (extra ones ignored)."""
        atoms = tuple(atoms)
        missing = [a for a in self.atoms if a not in atoms]
        if missing:
            raise InvalidArgument(f"atoms={list(atoms)} must include {missing}")
        if atoms == self.atoms:
            return self
        letters = np.arange(1 << len(atoms))
        proj = np.zeros_like(letters)
        for j, a in enumerate(self.atoms):
            proj |= ((letters >> atoms.index(a)) & 1) << j
        return Automaton(atoms, self.delta[:, proj], self.accepting, self.initial, self.formula)

    def complement(self) -> Automaton:
        """Accepts exactly the non-empty traces this automaton rejects."""
        acc = ~self.accepting
        delta = self.delta
        init = self.initial
        if acc[init]:  # keep rejecting the empty trace: a fresh, never re-entered start
            delta = np.vstack([delta, delta[init][None, :]])
            acc = np.append(acc, False)
            init = delta.shape[0] - 1
        f = A.neg(self.formula) if self.formula is not None else None
        return Automaton(self.atoms, delta, acc, init, f)

    __invert__ = complement

    def product(
        self, other: Automaton, combine: Callable[[bool, bool], bool], *, max_states: int = DEFAULT_MAX_STATES
    ) -> Automaton:
        """The reachable product over the union of both automata's propositions."""
        atoms = tuple(dict.fromkeys(self.atoms + other.atoms))
        if len(atoms) > MAX_ATOMS:
            raise InvalidValue(f"the product has {len(atoms)} propositions; at most {MAX_ATOMS} are supported")
        a, b = self.lift(atoms), other.lift(atoms)
        index: dict[tuple[int, int], int] = {(a.initial, b.initial): 0}
        pairs = [(a.initial, b.initial)]
        rows = []
        i = 0
        while i < len(pairs):
            p, q = pairs[i]
            targets = np.stack([a.delta[p], b.delta[q]], axis=1)
            row = np.empty(targets.shape[0], dtype=np.int32)
            for s, (x, y) in enumerate(map(tuple, targets)):
                key = (int(x), int(y))
                t = index.get(key)
                if t is None:
                    if len(pairs) >= max_states or (len(pairs) + 1) * len(row) > MAX_CELLS:
                        raise AutomatonTooLarge(
                            f"the product of automata with {self.n_states} and {other.n_states} states "
                            f"exceeds max_states={max_states}; minimize the operands or raise max_states"
                        )
                    t = index[key] = len(pairs)
                    pairs.append(key)
                row[s] = t
            rows.append(row)
            i += 1
        acc = np.array([combine(bool(a.accepting[p]), bool(b.accepting[q])) for p, q in pairs], dtype=bool)
        return Automaton(atoms, np.stack(rows), acc, 0, None)

    def __and__(self, other: Automaton) -> Automaton:
        return self.product(other, lambda x, y: x and y)

    def __or__(self, other: Automaton) -> Automaton:
        return self.product(other, lambda x, y: x or y)

    def __xor__(self, other: Automaton) -> Automaton:
        return self.product(other, lambda x, y: x != y)

    # ------------------------------------------------------------ decisions
    def example(self) -> TraceTable | None:
        """A shortest accepted trace, or None if the language is empty."""
        prev: dict[int, tuple[int, int]] = {}
        seen: set[int] = set()  # the start counts as reached only after >= 1 frame
        queue = deque([self.initial])
        while queue:
            q = queue.popleft()
            for s in range(self.delta.shape[1]):
                t = int(self.delta[q, s])
                if t in seen:
                    continue
                seen.add(t)
                prev[t] = (q, s)
                if self.accepting[t]:
                    return self._trace_to(t, prev)
                queue.append(t)
        return None

    def _trace_to(self, t: int, prev: dict[int, tuple[int, int]]) -> TraceTable:
        letters = []
        while t in prev:
            q, s = prev[t]
            letters.append(s)
            t = q
            if t == self.initial:
                break
        return self._letters_table(letters[::-1])

    def _letters_table(self, letters: Sequence[int]) -> TraceTable:
        k = len(self.atoms)
        values = np.array([[(s >> j) & 1 for j in range(k)] for s in letters], dtype=np.float64).reshape(len(letters), k)
        return TraceTable(self.atoms, values)

    def is_empty(self) -> bool:
        return self.example() is None

    def equivalent(self, other: Automaton) -> TraceTable | None:
        """None if both accept the same traces, else a shortest trace where they differ."""
        return (self ^ other).example()

    def includes(self, other: Automaton) -> TraceTable | None:
        """None if every trace ``other`` accepts, this accepts too; else such a trace."""
        return other.product(self, lambda x, y: x and not y).example()

    # ------------------------------------------------------------ guards & export
    def guard(self, q: int, t: int) -> A.Formula:
        """The condition on a frame under which ``q`` moves to ``t``, as a formula."""
        members = self.delta[q] == t
        return _shannon(members, self.atoms)

    def edges(self) -> list[tuple[int, int, A.Formula]]:
        """``(source, target, guard)`` for every pair of states joined by some letter."""
        out = []
        for q in range(self.n_states):
            for t in dict.fromkeys(int(x) for x in self.delta[q]):
                out.append((q, t, self.guard(q, t)))
        return out

    def to_networkx(self):  # type: ignore[no-untyped-def]
        """A ``networkx.MultiDiGraph``: node attributes ``accepting``/``initial``,
        edge attributes ``guard`` (a Formula) and ``label`` (its text)."""
        import networkx as nx

        g = nx.MultiDiGraph(atoms=self.atoms)
        for q in range(self.n_states):
            g.add_node(q, accepting=bool(self.accepting[q]), initial=q == self.initial)
        for q, t, guard in self.edges():
            g.add_edge(q, t, guard=guard, label=to_text(guard))
        return g

    def to_dot(self) -> str:
        """Graphviz DOT text (double circles accept; an arrow marks the start)."""
        lines = ["digraph automaton {", "  rankdir=LR;", '  node [shape=circle, fontname="Helvetica"];', "  start [shape=point];"]
        for q in range(self.n_states):
            shape = "doublecircle" if self.accepting[q] else "circle"
            lines.append(f"  q{q} [shape={shape}, label=\"{q}\"];")
        lines.append(f"  start -> q{self.initial};")
        for q, t, guard in self.edges():
            label = to_text(guard).replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'  q{q} -> q{t} [label="{label}"];')
        lines.append("}")
        return "\n".join(lines) + "\n"


def _shannon(members: np.ndarray, atoms: Sequence[str]) -> A.Formula:
    """A formula true exactly on the letters marked in ``members`` (Shannon expansion)."""
    atom_nodes = [A.Atom(a, not is_identifier(a)) for a in atoms]

    def go(sub: np.ndarray, j: int) -> A.Formula:
        if sub.all():
            return A.TRUE
        if not sub.any():
            return A.FALSE
        # bit j is the lowest remaining bit: even indices have it 0, odd have it 1
        lo, hi = sub[0::2], sub[1::2]
        x = atom_nodes[j]
        f0, f1 = go(lo, j + 1), go(hi, j + 1)
        if f0 == f1:
            return f0
        return A.disj(A.conj(x, f1), A.conj(A.neg(x), f0))

    return go(members, 0)


def _hopcroft(delta: np.ndarray, accepting: np.ndarray) -> np.ndarray:
    """Block number of every state in the coarsest partition compatible with
    ``delta`` that separates accepting from rejecting states (O(|Σ| n log n))."""
    n, n_letters = delta.shape
    preds: list[list[list[int]]] = []
    for s in range(n_letters):
        col = delta[:, s]
        order = np.argsort(col, kind="stable")
        bounds = np.searchsorted(col[order], np.arange(n + 1))
        preds.append([order[bounds[t] : bounds[t + 1]].tolist() for t in range(n)])
    block = np.zeros(n, dtype=np.int64)
    members: list[set[int]] = []
    for flag in (True, False):
        group = set(np.flatnonzero(accepting == flag).tolist())
        if group:
            for q in group:
                block[q] = len(members)
            members.append(group)
    work = set(range(len(members))) if len(members) == 1 else {min(range(2), key=lambda i: len(members[i]))}
    while work:
        splitter = work.pop()
        targets = list(members[splitter])
        for s in range(n_letters):
            touched: dict[int, set[int]] = {}
            for t in targets:
                for q in preds[s][t]:
                    touched.setdefault(int(block[q]), set()).add(q)
            for y, inter in touched.items():
                if len(inter) == len(members[y]):
                    continue
                z = len(members)
                members[y] -= inter
                members.append(inter)
                for q in inter:
                    block[q] = z
                if y in work:
                    work.add(z)
                else:
                    work.add(z if len(inter) <= len(members[y]) else y)
    return block


def _reachable(delta: np.ndarray, start: int) -> np.ndarray:
    seen = np.zeros(delta.shape[0], dtype=bool)
    seen[start] = True
    frontier = np.array([start])
    while len(frontier):
        nxt = np.unique(delta[frontier].ravel())
        nxt = nxt[~seen[nxt]]
        seen[nxt] = True
        frontier = nxt
    return seen


def _backward_closure(delta: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """States that can reach a state in ``targets`` (including themselves)."""
    mark = targets.copy()
    while True:
        new = mark | mark[delta].any(axis=1)
        if (new == mark).all():
            return mark
        mark = new


def _bfs_order(delta: np.ndarray, start: int) -> np.ndarray:
    order = [start]
    seen = {start}
    i = 0
    while i < len(order):
        for t in delta[order[i]]:
            t = int(t)
            if t not in seen:
                seen.add(t)
                order.append(t)
        i += 1
    return np.array(order, dtype=np.int64)
