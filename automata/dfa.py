"""The immutable :class:`Automaton`: a DFA over the letters 2^atoms.

Letter ``σ`` is an integer whose bit ``j`` is the truth of ``atoms[j]`` at a
frame. ``delta[q, σ]`` is the successor of state ``q``. The empty trace is never
accepted (LTLf traces have at least one frame).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from framelogic.logic import ast as A
from framelogic.logic.errors import InvalidArgument, InvalidValue, TraceError
from framelogic.logic.printer import to_text
from framelogic.logic.grammar import is_identifier
from framelogic.logic.trace import TraceTable, as_trace

from . import kernels as K
from .construct import DEFAULT_MAX_STATES, MAX_ATOMS, Budget, too_many_atoms
from .letters import decode, encode, projection


# Diagram nodes + states from which one frame's push runs compiled (numba): a
# compiled call costs a few microseconds, plain Python about 0.4 per node.
_PUSH_COMPILED = 64


def letters_of(trace: TraceTable, atoms: Sequence[str]) -> np.ndarray:
    """The letter of every frame of a boolean trace, over ``atoms``."""
    t = trace.select(atoms) if atoms else trace
    if not t.is_boolean:
        raise TraceError("this needs a boolean trace (0/1); use framelogic.evaluate for probabilities")
    return encode(t.values[:, : len(atoms)])


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

    # ------------------------------------------------------------ stepping
    def step(self, state: int, letter: int) -> int:
        """The state after reading ``letter`` (see :mod:`.letters`) in ``state``.

        >>> from framelogic.automata import compile
        >>> d = compile("F p")
        >>> bool(d.accepting[d.step(d.initial, 1)])
        True
        """
        return self._rows[state][letter]

    def push(self, dist: Sequence[float], probs: Sequence[float]) -> list[float]:
        """The distribution over states after one frame, from the distribution
        ``dist``, when proposition ``atoms[j]`` holds with probability ``probs[j]``
        independently: one sweep down the transitions' decision diagram
        (:func:`.kernels.push`), not one term per letter.

        >>> from framelogic.automata import compile
        >>> d = compile("F p")
        >>> [round(x, 2) for x in d.push(d.push([1.0, 0.0], [0.5]), [0.5])]
        [0.25, 0.75]
        """
        var, lo, hi, roots = self._diagram
        if len(var) + self.n_states < _PUSH_COMPILED:
            buf = [0.0] * (self.n_states + len(var))
            K.push(var, lo, hi, roots, probs, dist, buf)
            return buf[: self.n_states]
        a = np.array(dist, dtype=np.float64)
        p = np.array(probs, dtype=np.float64).reshape(1, len(self.atoms))
        K.compiled(K.forward_prob)(*self._flat, p, a, np.zeros_like(a), np.empty(1), np.empty((0, 0)))
        return a.tolist()

    @cached_property
    def _rows(self) -> list[list[int]]:
        return self.delta.tolist()  # plain lists: a step costs two list lookups

    @cached_property
    def _flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return K.flat_diagram(self.delta)

    @cached_property
    def _diagram(self) -> tuple[list[int], list[int], list[int], list[int]]:
        # lists: one frame through plain Python is faster on lists than on arrays
        return tuple(x.tolist() for x in self._flat)  # type: ignore[return-value]

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

    def minimize(self, *, budget: Budget | None = None) -> Automaton:
        """The minimal equivalent automaton, its states numbered in breadth-first
        order from the start (a canonical form: equal languages over the same
        atoms give equal arrays)."""
        return minimal(self, budget)

    # ------------------------------------------------------------ boolean ops
    def lift(self, atoms: Sequence[str]) -> Automaton:
        """The same language over a superset of propositions (extra ones ignored)."""
        atoms = tuple(atoms)
        missing = [a for a in self.atoms if a not in atoms]
        if missing:
            raise InvalidArgument(f"atoms={list(atoms)} must include {missing}")
        if atoms == self.atoms:
            return self
        if len(atoms) > MAX_ATOMS:
            raise InvalidValue(too_many_atoms(len(atoms)))
        return Automaton(atoms, _lifted(self, atoms), self.accepting, self.initial, self.formula)

    def complement(self) -> Automaton:
        """Accepts exactly the non-empty traces this automaton rejects."""
        delta, acc, init = _reject_empty(self.delta, ~self.accepting, self.initial)
        f = A.neg(self.formula) if self.formula is not None else None
        return Automaton(self.atoms, delta, acc, init, f)

    __invert__ = complement

    def product(
        self,
        other: Automaton,
        combine: Callable[[bool, bool], bool],
        *,
        max_states: int = DEFAULT_MAX_STATES,
        budget: Budget | None = None,
        formula: A.Formula | None = None,
        atoms: Sequence[str] | None = None,
    ) -> Automaton:
        """The reachable product over the union of both automata's propositions.

        A state accepts when ``combine(accepts here, accepts there)``; the empty
        trace stays rejected. ``atoms`` orders the union (default: this
        automaton's, then the other's new ones). ``budget`` (default:
        ``Budget(max_states)``) bounds states, table size and time; ``formula``
        names the result, and the culprit in a size error.
        """
        union = tuple(dict.fromkeys(self.atoms + other.atoms))
        if atoms is None:
            atoms = union
        else:
            atoms = tuple(atoms)
            if sorted(atoms) != sorted(union):
                raise InvalidArgument(f"atoms={list(atoms)} must be the union of both automata's propositions {sorted(union)}")
        if len(atoms) > MAX_ATOMS:
            raise InvalidValue(too_many_atoms(len(atoms)))
        if budget is None:
            budget = Budget(max_states=max_states, formula=formula)
        table = np.array([[bool(combine(x, y)) for y in (False, True)] for x in (False, True)])
        part = formula if formula is not None else (
            f"the product of automata with {self.n_states} and {other.n_states} states"
        )
        delta, acc, init = _product(
            _lifted(self, atoms), self.accepting, self.initial, _lifted(other, atoms), other.accepting, other.initial,
            table, budget, part,
        )
        return Automaton(atoms, delta, acc, init, formula)

    def __and__(self, other: Automaton) -> Automaton:
        return self.product(other, lambda x, y: x and y)

    def __or__(self, other: Automaton) -> Automaton:
        return self.product(other, lambda x, y: x or y)

    def __xor__(self, other: Automaton) -> Automaton:
        return self.product(other, lambda x, y: x != y)

    # ------------------------------------------------------------ decisions
    def example(self) -> TraceTable | None:
        """A shortest accepted trace, or None if the language is empty."""
        n = self.n_states
        parent = np.full(n, -1, dtype=np.int64)  # the start counts as reached only after >= 1 frame
        via = np.zeros(n, dtype=np.int64)
        seen = np.zeros(n, dtype=bool)
        frontier = np.array([self.initial], dtype=np.int64)
        n_letters = self.delta.shape[1]
        while frontier.size:
            targets = self.delta[frontier].ravel()
            fresh, first = np.unique(targets, return_index=True)
            keep = ~seen[fresh]
            fresh, first = fresh[keep], first[keep]
            seen[fresh] = True
            parent[fresh] = frontier[first // n_letters]
            via[fresh] = first % n_letters
            done = fresh[self.accepting[fresh]]
            if done.size:
                t = int(done[np.argmin(first[self.accepting[fresh]])])
                letters = []
                while True:  # parents lie one layer closer to the start, which is layer 0
                    letters.append(int(via[t]))
                    t = int(parent[t])
                    if t == self.initial:
                        return self._letters_table(letters[::-1])
            frontier = fresh[np.argsort(first, kind="stable")]
        return None

    def _letters_table(self, letters: Sequence[int]) -> TraceTable:
        k = len(self.atoms)
        return TraceTable(self.atoms, decode(letters, k))

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


# ------------------------------------------------------------ array kernels
# Products, reachability and minimization work on whole arrays (states are rows,
# letters columns); Python loops run over BFS layers and refinement rounds only.

_CHUNK_CELLS = 1 << 20  # product transitions generated at once (8 MB of int64 codes)
# Pair spaces up to this size are indexed by a flat int32 table. It is zero-filled
# (calloc), so only the pages of pairs actually met take memory.
_DENSE_PAIRS = 1 << 27


def _lifted(dfa: Automaton, atoms: tuple[str, ...]) -> np.ndarray:
    """``dfa``'s transition table over the letters of ``atoms`` (a superset)."""
    if dfa.atoms == atoms:
        return dfa.delta
    k = len(dfa.atoms)
    at = atoms.index(dfa.atoms[0]) if k else 0
    if atoms[at : at + k] == dfa.atoms:  # a run of consecutive bits: shift and mask
        letters = np.arange(1 << len(atoms), dtype=np.int64)
        return dfa.delta[:, (letters >> at) & ((1 << k) - 1)]
    return dfa.delta[:, projection(dfa.atoms, atoms)]


def bfs_numbered(dfa: Automaton) -> Automaton:
    """``dfa``'s reachable part with states numbered in BFS order from the start
    (on a minimal automaton: the canonical form :meth:`Automaton.minimize` gives)."""
    order = _bfs_order(dfa.delta, dfa.initial)
    pos = np.full(dfa.n_states, -1, dtype=np.int64)
    pos[order] = np.arange(order.size)
    return Automaton(dfa.atoms, pos[dfa.delta[order]], dfa.accepting[order], 0, dfa.formula)


def _reject_empty(delta: np.ndarray, acc: np.ndarray, init: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Keep the empty trace rejected: an accepting start gets a fresh, never
    re-entered copy that does not accept."""
    if not acc[init]:
        return delta, acc, init
    delta = np.vstack([delta, delta[init][None, :]])
    return delta, np.append(acc, False), delta.shape[0] - 1


class _PairIndex:
    """State numbers of product pairs coded ``p * n2 + q`` (-1: not seen yet)."""

    def __init__(self, size: int) -> None:
        self.table = np.zeros(size, dtype=np.int32) if size <= _DENSE_PAIRS else None  # state number + 1
        self.keys = np.empty(0, dtype=np.int64)  # sorted, when the pair space is too big for a table
        self.ids = np.empty(0, dtype=np.int64)

    def get(self, codes: np.ndarray) -> np.ndarray:
        if self.table is not None:
            return self.table[codes].astype(np.int64) - 1
        pos = np.minimum(np.searchsorted(self.keys, codes), len(self.keys) - 1)
        return np.where(self.keys[pos] == codes, self.ids[pos], -1)

    def put(self, codes: np.ndarray, ids: np.ndarray) -> None:
        """Add ``codes`` (sorted, unseen) with state numbers ``ids``."""
        if self.table is not None:
            self.table[codes] = ids + 1
            return
        at = np.searchsorted(self.keys, codes)
        self.keys = np.insert(self.keys, at, codes)
        self.ids = np.insert(self.ids, at, ids)


def _product(
    d1: np.ndarray, acc1: np.ndarray, i1: int, d2: np.ndarray, acc2: np.ndarray, i2: int,
    table: np.ndarray, budget: Budget, part: A.Formula | str,
) -> tuple[np.ndarray, np.ndarray, int]:
    """The reachable part of the product of two automata over the same letters,
    explored breadth first a layer (and a chunk of it) at a time; a state
    accepts per ``table[accepts in 1, accepts in 2]``."""
    n1, n_letters = d1.shape
    n2 = d2.shape[0]
    if n_letters <= _PY_LETTERS and n1 * n2 * n_letters <= _PY_PRODUCT_CELLS:
        return _product_small(d1, acc1, i1, d2, acc2, i2, table, budget, part)
    d1 = d1.astype(np.int64) * n2  # pair codes p * n2 + q may pass int32
    d2 = d2.astype(np.int64)
    index = _PairIndex(n1 * n2)
    frontier = np.array([i1 * n2 + i2], dtype=np.int64)
    index.put(frontier, np.zeros(1, dtype=np.int64))
    found = [frontier]  # pair codes in state-number order
    rows: list[np.ndarray] = []
    n = 1
    budget.check_size(n, n_letters, part)
    chunk = max(1, _CHUNK_CELLS // n_letters)
    while frontier.size:
        layer = []
        for lo in range(0, frontier.size, chunk):
            budget.check_time(part, n)
            codes = frontier[lo : lo + chunk]
            targets = d1[codes // n2] + d2[codes % n2]
            ids = index.get(targets)
            miss = ids < 0
            if miss.any():
                fresh = np.unique(targets[miss])
                budget.check_size(n + fresh.size, n_letters, part)
                index.put(fresh, np.arange(n, n + fresh.size))
                n += fresh.size
                layer.append(fresh)
                ids[miss] = index.get(targets[miss])
            rows.append(ids.astype(np.int32))
        frontier = np.concatenate(layer) if layer else np.empty(0, dtype=np.int64)
        found.append(frontier)
    codes = np.concatenate(found)
    acc = table[acc1[codes // n2].astype(np.intp), acc2[codes % n2].astype(np.intp)]
    return _reject_empty(np.concatenate(rows), acc, 0)


_PY_PRODUCT_CELLS = 1 << 14  # narrow products up to this many pair cells run in plain Python


def _product_small(
    d1: np.ndarray, acc1: np.ndarray, i1: int, d2: np.ndarray, acc2: np.ndarray, i2: int,
    table: np.ndarray, budget: Budget, part: A.Formula | str,
) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`_product` for narrow, small tables, as plain Python over lists (no
    per-layer array set-up); states are numbered in the order they are met."""
    rows1, rows2 = d1.tolist(), d2.tolist()
    a1, a2 = acc1.tolist(), acc2.tolist()
    ids = {(i1, i2): 0}
    pairs = [(i1, i2)]
    out = []
    n_letters = d1.shape[1]
    for p, q in pairs:  # grows as new pairs are met
        r1, r2 = rows1[p], rows2[q]
        row = []
        for a in range(n_letters):
            key = (r1[a], r2[a])
            k = ids.get(key)
            if k is None:
                k = ids[key] = len(pairs)
                pairs.append(key)
            row.append(k)
        out.append(row)
    budget.check_size(len(pairs), n_letters, part)
    acc = np.array([bool(table[int(a1[p]), int(a2[q])]) for p, q in pairs])
    return _reject_empty(np.array(out, dtype=np.int32).reshape(len(pairs), n_letters), acc, 0)


def minimal(
    dfa: Automaton, budget: Budget | None = None, *, canonical: bool = True, all_reachable: bool = False
) -> Automaton:
    """The minimal automaton of ``dfa``; with ``canonical`` its states are in
    BFS order from 0, else in any order. ``all_reachable`` skips the search for
    unreachable states (products and constructions have none)."""
    delta, acc, init = _minimal(
        dfa.delta, dfa.accepting, dfa.initial, budget, dfa.formula, canonical=canonical, all_reachable=all_reachable
    )
    return Automaton(dfa.atoms, delta, acc, init, dfa.formula)


def _minimal(
    delta: np.ndarray, acc: np.ndarray, init: int, budget: Budget | None, part: A.Formula | str | None,
    *, canonical: bool = True, all_reachable: bool = False,
) -> tuple[np.ndarray, np.ndarray, int]:
    """The minimal automaton of the reachable part; with ``canonical``, states
    in BFS order from 0 (else in any order)."""
    reach = None if all_reachable else _reachable(delta, init)
    if reach is not None and not reach.all():
        idx = np.flatnonzero(reach)
        remap = np.full(delta.shape[0], -1, dtype=np.int64)
        remap[idx] = np.arange(idx.size)
        delta, acc, init = remap[delta[idx]], acc[idx], int(remap[init])
    cls = _coarsest_partition(delta, acc, budget, part)
    n_cls = int(cls.max()) + 1
    rep = np.empty(n_cls, dtype=np.int64)
    rep[cls] = np.arange(cls.size)  # any member stands for its class
    qdelta, qacc, qinit = cls[delta[rep]], acc[rep], int(cls[init])
    if not canonical:
        return qdelta.astype(np.int32), qacc, qinit
    order = _bfs_order(qdelta, qinit)
    pos = np.empty(n_cls, dtype=np.int64)
    pos[order] = np.arange(n_cls)
    return pos[qdelta[order]].astype(np.int32), qacc[order], 0


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64: spreads distinct keys over 64 bits, so sums of them hash sets."""
    x = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _coarsest_partition(
    delta: np.ndarray, acc: np.ndarray, budget: Budget | None = None, part: A.Formula | str | None = None
) -> np.ndarray:
    """Block number of every state in the coarsest partition compatible with
    ``delta`` that separates accepting from rejecting states (Myhill-Nerode)."""
    work = delta.shape[0] * delta.size
    if work <= _MOORE_WORK:
        return _moore_small(delta, acc)
    if work <= _MOORE_ROWS_WORK and delta.shape[0] <= 1 << 16:
        cls = _moore_rows(delta, acc, _MOORE_ROUNDS)
        if cls is not None:
            return cls
    cls = _Refinement(delta, acc).run(budget, part)
    if not _is_congruence(delta, acc, cls):  # a 64-bit hash collision merged two blocks
        cls = _moore(delta, cls)
    return cls


# Tables whose states x entries stay below this refine by Moore's rounds in plain
# Python (at most one round per state): no array set-up, exact signatures.
_MOORE_WORK = 1 << 14


def _moore_small(delta: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """Exact Moore refinement of a small table: a state's signature is its block
    and its successors' blocks; stop when a round splits no block."""
    rows = delta.tolist()
    cls = acc.astype(np.int64).tolist()
    n_cls = len(set(cls))
    while True:
        sigs: dict[tuple[int, ...], int] = {}
        new = [sigs.setdefault((c, *[cls[t] for t in row]), len(sigs)) for c, row in zip(cls, rows)]
        if len(sigs) == n_cls:
            return np.array(new, dtype=np.int64)
        cls, n_cls = new, len(sigs)


# ... and up to this, by Moore's rounds on whole rows (a state's signature is the
# bytes of its block and its successors' blocks), for at most _MOORE_ROUNDS
# rounds: deep automata (long chains of states) go on to Hopcroft's refinement.
_MOORE_ROWS_WORK = 1 << 24
_MOORE_ROUNDS = 16


def _moore_rows(delta: np.ndarray, acc: np.ndarray, max_rounds: int) -> np.ndarray | None:
    """Exact Moore refinement with each round's signatures as byte strings of
    rows; None when it has not settled after ``max_rounds`` rounds."""
    n = delta.shape[0]
    dtype = np.uint8 if n <= 1 << 8 else np.uint16
    cls = acc.astype(dtype)
    n_cls = int(acc.any()) + int(not acc.all())
    keys = np.empty((n, delta.shape[1] + 1), dtype=dtype)
    width = keys.shape[1] * keys.itemsize
    for _ in range(max_rounds):
        keys[:, 0] = cls
        np.take(cls, delta, out=keys[:, 1:])
        raw = keys.tobytes()
        sigs: dict[bytes, int] = {}
        new = [sigs.setdefault(raw[i : i + width], len(sigs)) for i in range(0, n * width, width)]
        if len(sigs) == n_cls:
            return np.array(new, dtype=np.int64)
        cls, n_cls = np.array(new, dtype=dtype), len(sigs)
    return None


def _sort_by(keys: np.ndarray, n_keys: int) -> np.ndarray:
    """A permutation putting ``keys`` (in ``[0, n_keys)``) in order: radix
    passes of 16 bits, which numpy's stable sort runs in linear time."""
    if n_keys <= 1 << 16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    shift = 16
    while n_keys >> shift:
        order = order[np.argsort(((keys[order] >> shift) & 0xFFFF).astype(np.uint16), kind="stable")]
        shift += 16
    return order


class _Refinement:
    """Hopcroft's partition refinement, a round of splitters at a time.

    A round takes every pending splitter block at once. A state's signature is
    the set of (letter, splitter block) its transitions enter; blocks split by
    signature, and every piece but the largest becomes a splitter of the next
    round, so each state is a splitter O(log n) times: O(|Σ| n log n) in all.
    Rounds with many edges run on whole arrays, hashing a signature as a sum of
    splitmix64 values (a collision can only leave blocks too coarse, which
    :func:`_is_congruence` detects); rounds with few edges, the long tail of
    deep automata such as ``F[0,1000] a``, run as plain Python with exact sets.
    """

    SMALL_ROUND = 512  # edges into the splitters up to which a round runs in Python

    def __init__(self, delta: np.ndarray, acc: np.ndarray) -> None:
        n, self.n_letters = delta.shape
        self.acc = acc
        self.cls = acc.astype(np.int64)  # block 0: rejecting, 1: accepting
        self.sizes = np.zeros(n + 1, dtype=np.int64)
        self.n_blocks = 2
        self.flat = flat = delta.ravel()  # edge q * |Σ| + a goes to flat[edge]
        self._by_target: np.ndarray | None = None
        self.offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(flat, minlength=n), out=self.offsets[1:])
        self.sig = np.zeros(n, dtype=np.uint64)  # scratch of the array rounds, kept zero between them
        self.touched = np.zeros(n, dtype=bool)

    @property
    def by_target(self) -> np.ndarray:
        """The edges grouped by target (``offsets`` delimit the groups), sorted on first use."""
        if self._by_target is None:
            self._by_target = _sort_by(self.flat, self.cls.size)
        return self._by_target

    def run(self, budget: Budget | None, part: A.Formula | str | None) -> np.ndarray:
        n = self.cls.size
        n_acc = int(self.acc.sum())
        if n_acc in (0, n):
            return np.zeros(n, dtype=np.int64)
        self.sizes[0], self.sizes[1] = n - n_acc, n_acc
        work = np.flatnonzero(self.acc if n_acc <= n - n_acc else ~self.acc)
        while work.size:
            if budget is not None:
                budget.check_time(part, n)
            first = self.offsets[work]
            count = self.offsets[work + 1] - first
            total = int(count.sum())
            if total <= self.SMALL_ROUND:
                work = self._small_round(work)
            else:
                work = self._bulk_round(work, first, count, total)
        return self.cls

    def _small_round(self, work: np.ndarray) -> np.ndarray:
        cls, offsets, n_letters = self.cls, self.offsets, self.n_letters
        signature: dict[int, set[tuple[int, int]]] = {}
        for t in work.tolist():
            c = int(cls[t])
            for e in self.by_target[offsets[t] : offsets[t + 1]].tolist():
                q, a = divmod(e, n_letters)
                signature.setdefault(q, set()).add((a, c))
        groups: dict[int, dict[frozenset, list[int]]] = {}
        for q, sig in signature.items():
            groups.setdefault(int(cls[q]), {}).setdefault(frozenset(sig), []).append(q)
        splitters: list = []
        for y, by_sig in groups.items():
            pieces = list(by_sig.values())
            rest = int(self.sizes[y]) - sum(map(len, pieces))
            if rest == 0 and len(pieces) == 1:
                continue
            big = max(range(len(pieces)), key=lambda i: len(pieces[i]))
            for i, piece in enumerate(pieces):
                if rest == 0 and i == big:
                    continue  # with nothing untouched, the largest piece keeps the number
                cls[piece] = self.n_blocks
                self.sizes[self.n_blocks] = len(piece)
                self.sizes[y] -= len(piece)
                self.n_blocks += 1
            if rest >= len(pieces[big]):
                splitters.extend(pieces)  # the untouched rest is the largest piece
            else:
                splitters.extend(p for i, p in enumerate(pieces) if i != big)
                if rest:
                    splitters.append(np.flatnonzero(cls == y))
        if not splitters:
            return np.empty(0, dtype=np.int64)
        return np.concatenate([np.asarray(p, dtype=np.int64) for p in splitters])

    def _edges_into(self, work: np.ndarray, first: np.ndarray, count: np.ndarray, total: int) -> Iterator[np.ndarray]:
        """Every edge into a splitter state, a chunk at a time."""
        if total * 8 >= self.flat.size:  # a good part of all edges: scan the table
            into = np.zeros(self.cls.size, dtype=bool)
            into[work] = True
            for lo in range(0, self.flat.size, _CHUNK_CELLS):
                yield lo + np.flatnonzero(into[self.flat[lo : lo + _CHUNK_CELLS]])
        else:  # gather them from the ragged ranges of the edges grouped by target
            starts = np.cumsum(count) - count
            yield self.by_target[np.arange(total) + np.repeat(first - starts, count)].astype(np.int64)

    def _bulk_round(self, work: np.ndarray, first: np.ndarray, count: np.ndarray, total: int) -> np.ndarray:
        cls, n_letters = self.cls, self.n_letters
        for edge in self._edges_into(work, first, count, total):
            src = edge // n_letters
            # signature of every source: the sum of its edges' hashes, accumulated in place
            np.add.at(self.sig, src, _mix(cls[self.flat[edge]] * n_letters + edge % n_letters))
            self.touched[src] = True
        aff = np.flatnonzero(self.touched)
        self.touched[aff] = False
        sig = self.sig[aff]
        self.sig[aff] = 0
        blk = cls[aff]
        order = np.lexsort((sig, blk))
        aff, blk, sig = aff[order], blk[order], sig[order]
        # groups: the affected states of one block with one signature
        new_group = _starts(blk)
        new_group[1:] |= sig[1:] != sig[:-1]
        gstart = np.flatnonzero(new_group)
        gsize = np.diff(gstart, append=aff.size)
        gblk = blk[gstart]
        bstart = np.flatnonzero(_starts(gblk))
        n_groups = np.diff(bstart, append=gblk.size)
        seg = np.repeat(np.arange(bstart.size), n_groups)
        blocks = gblk[bstart]
        rest = self.sizes[blocks] - np.add.reduceat(gsize, bstart)  # untouched members of each block
        split = (n_groups > 1) | (rest > 0)
        if not split.any():
            return np.empty(0, dtype=np.int64)
        gmax = np.maximum.reduceat(gsize, bstart)
        tops = np.flatnonzero(gsize == gmax[seg])
        largest = np.zeros(gsize.size, dtype=bool)
        largest[tops[_starts(seg[tops])]] = True  # the first largest group of each block
        split_g, rest_g = split[seg], rest[seg]
        relabel = split_g & ~(largest & (rest_g == 0))  # the untouched rest, else the largest group, keeps the number
        to_work = split_g & ~(largest & (rest_g < gmax[seg]))  # all pieces but the largest
        n_new = int(relabel.sum())
        gid = np.full(gsize.size, -1, dtype=np.int64)
        gid[relabel] = np.arange(self.n_blocks, self.n_blocks + n_new)
        self.sizes[self.n_blocks : self.n_blocks + n_new] = gsize[relabel]
        self.sizes[: self.n_blocks] -= np.bincount(gblk[relabel], weights=gsize[relabel], minlength=self.n_blocks).astype(np.int64)
        self.n_blocks += n_new
        state_gid = np.repeat(gid, gsize)
        moved = state_gid >= 0
        cls[aff[moved]] = state_gid[moved]
        pieces = [aff[np.repeat(to_work, gsize)]]
        leftover = split & (rest > 0) & (rest < gmax)  # the untouched rest is not the largest piece
        if leftover.any():
            need = np.zeros(self.n_blocks, dtype=bool)
            need[blocks[leftover]] = True
            pieces.append(np.flatnonzero(need[cls]))
        return np.concatenate(pieces)


def _starts(sorted_keys: np.ndarray) -> np.ndarray:
    """``True`` where a run of equal keys begins."""
    out = np.ones(sorted_keys.size, dtype=bool)
    out[1:] = sorted_keys[1:] != sorted_keys[:-1]
    return out


def _is_congruence(delta: np.ndarray, acc: np.ndarray, cls: np.ndarray) -> bool:
    """Whether all members of every block agree on acceptance and on the block
    each letter leads to (so merging them is exact)."""
    rep = np.empty(int(cls.max()) + 1, dtype=np.int64)
    rep[cls] = np.arange(cls.size)
    stand_in = rep[cls]
    if not (acc == acc[stand_in]).all():
        return False
    rows = max(1, _CHUNK_CELLS // max(delta.shape[1], 1))
    for lo in range(0, delta.shape[0], rows):
        sl = slice(lo, lo + rows)
        if not (cls[delta[sl]] == cls[delta[stand_in[sl]]]).all():
            return False
    return True


def _moore(delta: np.ndarray, cls: np.ndarray) -> np.ndarray:
    """Exact refinement of ``cls`` by whole successor rows until stable."""
    n_cls = -1
    while True:
        _, cls = np.unique(np.hstack([cls[:, None], cls[delta]]), axis=0, return_inverse=True)
        cls = cls.reshape(-1).astype(np.int64)
        m = int(cls.max()) + 1
        if m == n_cls:
            return cls
        n_cls = m


def _reachable(delta: np.ndarray, start: int) -> np.ndarray:
    if delta.size <= _PY_CELLS:
        seen = np.zeros(delta.shape[0], dtype=bool)
        seen[_bfs_order(delta, start)] = True
        return seen
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


_PY_CELLS = 1 << 20  # tables up to this size are searched in plain Python (no per-layer overhead)
_PY_LETTERS = 16  # ... when their rows are this narrow; wider rows go a whole BFS layer at a time


def _bfs_order(delta: np.ndarray, start: int) -> np.ndarray:
    """The states reachable from ``start`` in the order a breadth-first search
    that tries letters in order first reaches them."""
    n = delta.shape[0]
    if delta.size <= _PY_CELLS and delta.shape[1] <= _PY_LETTERS:
        rows = delta.tolist()
        met = {start}
        found = [start]
        for q in found:  # the list grows as the search goes
            for t in dict.fromkeys(rows[q]):  # distinct targets in letter order
                if t not in met:
                    met.add(t)
                    found.append(t)
        return np.array(found, dtype=np.int64)
    seen = np.zeros(n, dtype=bool)
    seen[start] = True
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    frontier = np.array([start], dtype=np.int64)
    order = [frontier]
    while frontier.size:
        targets = delta[frontier].ravel()
        at = np.flatnonzero(~seen[targets])
        if not at.size:
            break
        fresh = targets[at]
        np.minimum.at(first, fresh, at)  # where each new state is first met in this layer
        fresh = np.unique(fresh)
        frontier = fresh[np.argsort(first[fresh], kind="stable")]
        seen[frontier] = True
        order.append(frontier)
    return np.concatenate(order)
