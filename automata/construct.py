"""Formula -> deterministic automaton, by formula progression.

A state is ``(obligation, end_ok, memory)``:

* ``obligation`` — the future formula that must hold from the next frame on,
  hash-consed and normalized (flattened, sorted, deduplicated, with bound
  subsumption such as ``F[0,3] b & F[0,5] b = F[0,3] b``);
* ``end_ok`` — whether the trace may end here (strong next obligations fail at
  the end of a trace, weak ones hold);
* ``memory`` — what the past operators need from the frames already read (the
  previous value of a ``Y`` argument, the age of the latest witness of a bounded
  ``S``, ...), so past operators cost a deterministic forward recurrence.

Reading a letter progresses the obligation with the values of atoms and past
subformulas at the current frame. The reachable states are explored breadth
first within a :class:`Budget` (states, transition-table entries, seconds);
:mod:`.compile` minimizes the result and combines such automata.

Past operators over propositions and other past operators (``O (a & Y b)``)
keep compact boolean/age memories. A past operator whose operands contain a
future operator (``O F a``, ``Y (a U b)``, ``(F a) S b``) keeps *terms* in its
memory instead: ``Y ψ`` remembers the residual of ``ψ`` after the previous frame
(what ``ψ`` still requires from now on), ``ψ S χ`` remembers the residual of
``(ψ S χ)`` at the previous frame and is ``χ | (ψ & memory)`` now. These are the
same hash-consed, normalized obligations progression produces, so the state
space stays finite and the construction exact. Bounded ``S`` over future
operands is unrolled into ``Y`` chains (``ψ S[0,h] χ = χ | (ψ & Y (ψ S[0,h-1] χ))``).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from framelogic.logic import ast as A
from framelogic.logic.errors import AutomatonTooLarge, InvalidArgument, InvalidValue
from framelogic.logic.passes import desugar
from framelogic.logic.printer import to_text

DEFAULT_MAX_STATES = 100_000
#: Transition-table entries (states x 2^k letters) of any one automaton built on
#: the way: 4 bytes each, so 128 MB of table (512 states over 16 propositions);
#: construction peaks at a few times that.
DEFAULT_MAX_CELLS = 1 << 25
#: Wall-clock seconds for one construction, checked as it runs.
DEFAULT_MAX_SECONDS = 10.0
MAX_ATOMS = 16  # letters are enumerated explicitly: 2**16 per state at most
MAX_CELLS = DEFAULT_MAX_CELLS  # the old name

# ----------------------------------------------------------------- budget


def _whole_number(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgument(f"{name}={value!r} must be a whole number")
    if value < 1:
        raise InvalidValue(f"{name}={value!r} must be at least 1")
    return int(value)


@dataclass(frozen=True)
class Budget:
    """The limits of one construction (a ``compile`` call, or one product).

    Every automaton built on the way, intermediate products included, is held to
    ``max_states`` and ``max_cells``; the whole construction to ``max_seconds``.
    Exploration checks them as it goes, so an oversized formula fails within the
    limit instead of running for minutes or filling memory.
    """

    max_states: int = DEFAULT_MAX_STATES  # states of one automaton before minimization
    max_cells: int = DEFAULT_MAX_CELLS  # its transition-table entries: states x 2^k letters
    max_seconds: float = DEFAULT_MAX_SECONDS  # wall clock for the whole construction
    formula: A.Formula | None = None  # the formula being compiled, named in messages
    started: float = field(default_factory=time.perf_counter)

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_states", _whole_number("max_states", self.max_states))
        object.__setattr__(self, "max_cells", _whole_number("max_cells", self.max_cells))
        try:
            seconds = float(self.max_seconds)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InvalidArgument(f"max_seconds={self.max_seconds!r} must be a number of seconds") from None
        if not seconds > 0 or math.isnan(seconds):
            raise InvalidValue(f"max_seconds={self.max_seconds!r} must be > 0 (math.inf for no limit)")
        object.__setattr__(self, "max_seconds", seconds)

    def check_size(self, states: int, letters: int, part: A.Formula | str | None) -> None:
        """Raise unless an automaton of ``states`` states over ``letters`` letters fits."""
        if states > self.max_states:
            raise self.too_large(part, f"max_states={self.max_states} ({states} states explored so far)")
        if states * letters > self.max_cells:
            k = max(letters.bit_length() - 1, 0)
            raise self.too_large(
                part,
                f"max_cells={self.max_cells} transition-table entries ({states} states x {letters} letters "
                f"for {k} propositions)",
            )

    def check_time(self, part: A.Formula | str | None, states: int | None = None) -> None:
        spent = time.perf_counter() - self.started
        if spent > self.max_seconds:
            so_far = f", {states} states so far" if states is not None else ""
            raise self.too_large(part, f"max_seconds={self.max_seconds:g} ({spent:.1f} s spent{so_far})")

    def too_large(self, part: A.Formula | str | None, limit: str) -> AutomatonTooLarge:
        """The error for ``part`` (the piece being built) hitting ``limit``."""
        whole = self.formula
        if part is None:
            part = whole if whole is not None else "this automaton"
        what = to_text(part) if A.is_formula(part) else str(part)
        msg = f"the automaton of {what} exceeds {limit}"
        if whole is not None and part != whole:
            msg += f" while compiling {to_text(whole)}"
        if A.is_formula(part):
            culprit = _culprit(part)
            if culprit != what:
                msg += f"; its largest bound is in {culprit}"
        return AutomatonTooLarge(
            msg + ". Shrink large bounds (or write them in a coarser time unit with a lower --fps), "
            "split the formula into separate queries, or raise the limit "
            "(max_states=, max_cells=, max_seconds= of compile)"
        )


# ----------------------------------------------------------------- term store
# Terms are small integers; a term's structure is a tuple. Interning makes equal
# obligations equal integers, which is what turns progression into a DFA.
TRUE_ID, FALSE_ID = 0, 1


class Terms:
    def __init__(self) -> None:
        self.nodes: list[tuple] = [("T",), ("F",)]
        self.ids: dict[tuple, int] = {("T",): TRUE_ID, ("F",): FALSE_ID}
        self._canon: dict[int, int] = {}
        self._dnf_memo: dict[int, frozenset[frozenset[int]]] = {}
        self._neg: dict[int, int] = {}

    def make(self, node: tuple) -> int:
        i = self.ids.get(node)
        if i is None:
            i = len(self.nodes)
            self.nodes.append(node)
            self.ids[node] = i
        return i

    def lit(self, index: int, positive: bool) -> int:
        return self.make(("lit", index, positive))

    def negate(self, t: int) -> int:
        """The negation of a future term, pushed to the literals (NNF duals)."""
        cached = self._neg.get(t)
        if cached is not None:
            return cached
        node = self.nodes[t]
        match node[0]:
            case "T":
                out = FALSE_ID
            case "F":
                out = TRUE_ID
            case "lit" | "gpast":
                out = self.make((node[0], node[1], not node[2]))
            case "and":
                out = self.disj([self.negate(c) for c in node[1]])
            case "or":
                out = self.conj([self.negate(c) for c in node[1]])
            case "X":
                out = self.make(("N", self.negate(node[1])))
            case "N":
                out = self.make(("X", self.negate(node[1])))
            case "U" | "R":
                _, a, b, lo, hi = node
                out = self.make(("R" if node[0] == "U" else "U", self.negate(a), self.negate(b), lo, hi))
            case _:  # pragma: no cover - past-only kinds never reach future terms
                raise AssertionError(node)
        self._neg[t] = out
        return out

    def conj(self, items: Sequence[int]) -> int:
        return self._nary("and", items, TRUE_ID, FALSE_ID)

    def disj(self, items: Sequence[int]) -> int:
        return self._nary("or", items, FALSE_ID, TRUE_ID)

    def _nary(self, kind: str, items: Sequence[int], unit: int, zero: int) -> int:
        flat: set[int] = set()
        for t in items:
            if t == zero:
                return zero
            if t == unit:
                continue
            node = self.nodes[t]
            if node[0] == kind:
                flat.update(node[1])
            else:
                flat.add(t)
        flat = self._subsume(kind, flat)
        for t in flat:  # complementary literals
            node = self.nodes[t]
            if node[0] in ("lit", "gpast") and self.ids.get((node[0], node[1], not node[2])) in flat:
                return zero
        if not flat:
            return unit
        if len(flat) == 1:
            return next(iter(flat))
        return self.make((kind, tuple(sorted(flat))))

    def canonical(self, t: int) -> int:
        """``t`` in a canonical disjunctive normal form with absorption.

        Progression alone would nest and/or ever deeper (``x | (x & y)`` is
        never simplified), so states would never repeat; over a finite set of
        atomic obligations the absorbed DNFs are finite, which makes the
        exploration terminate.
        """
        cached = self._canon.get(t)
        if cached is not None:
            return cached
        clauses = self._dnf(t)
        if not clauses:
            out = FALSE_ID
        elif frozenset() in clauses:
            out = TRUE_ID
        else:
            out = self.disj([self.conj(sorted(c)) for c in clauses])
        self._canon[t] = out
        return out

    def _dnf(self, t: int) -> frozenset[frozenset[int]]:
        cached = self._dnf_memo.get(t)
        if cached is not None:
            return cached
        node = self.nodes[t]
        kind = node[0]
        if kind == "T":
            out = frozenset({frozenset()})
        elif kind == "F":
            out = frozenset()
        elif kind == "or":
            acc: set[frozenset[int]] = set()
            for c in node[1]:
                acc |= self._dnf(c)
            out = _absorb(acc)
        elif kind == "and":
            cur: set[frozenset[int]] = {frozenset()}
            for c in node[1]:
                nxt = set()
                for x in cur:
                    for y in self._dnf(c):
                        z = self._clause(x | y)
                        if z is not None:
                            nxt.add(z)
                cur = _absorb(nxt)
                if not cur:
                    break
            out = frozenset(cur)
        else:
            out = frozenset({frozenset({t})})
        self._dnf_memo[t] = out
        return out

    def _clause(self, items: frozenset[int]) -> frozenset[int] | None:
        """A conjunction of atomic terms, simplified; None if contradictory."""
        kept = self._subsume("and", set(items))
        for i in kept:
            node = self.nodes[i]
            if node[0] in ("lit", "gpast") and self.ids.get((node[0], node[1], not node[2])) in kept:
                return None
        return frozenset(kept)

    def _subsume(self, kind: str, flat: set[int]) -> set[int]:
        # a U[0,h1] b & a U[0,h2] b = a U[0,min] b; | keeps the max. R is the dual.
        best: dict[tuple, tuple[int, int]] = {}
        keep: set[int] = set()
        for t in flat:
            node = self.nodes[t]
            if node[0] in ("U", "R") and node[3] == 0:
                key = (node[0], node[1], node[2])
                hi = node[4] if node[4] is not None else 1 << 60
                want_small = (kind == "and") == (node[0] == "U")
                cur = best.get(key)
                if cur is None or (hi < cur[0] if want_small else hi > cur[0]):
                    best[key] = (hi, t)
            else:
                keep.add(t)
        keep.update(t for _, t in best.values())
        return keep


def _absorb(clauses: set[frozenset[int]]) -> frozenset[frozenset[int]]:
    """Drop every clause that contains another one (x | (x & y) = x)."""
    ordered = sorted(clauses, key=len)
    kept: list[frozenset[int]] = []
    for c in ordered:
        if not any(k <= c for k in kept):
            kept.append(c)
    return frozenset(kept)


# ----------------------------------------------------------------- translation


@dataclass
class _Past:
    """One past subformula: its kind and operands (term ids of pure-past formulas)."""

    kind: str  # "Y" or "S"
    left: int  # S: left operand; Y: unused (-1)
    right: int  # S: right operand; Y: the argument
    lo: int = 0
    hi: int | None = None


@dataclass
class _General:
    """A past operator over future operands: its memory is a term (see module doc)."""

    kind: str  # "Y" or "S" (unbounded; bounded ones are unrolled)
    left: int  # S: left operand term; Y: unused (-1)
    right: int  # S: right operand term; Y: the argument term


def _mentions_future(f: A.Formula, memo: dict[A.Formula, bool]) -> bool:
    hit = memo.get(f)
    if hit is None:
        hit = isinstance(f, (A.Next, A.Until)) or any(_mentions_future(c, memo) for c in A.children(f))
        memo[f] = hit
    return hit


class Builder:
    """Translates a desugared formula into terms; past subformulas become
    literals over "past slots" whose values a forward recurrence computes."""

    def __init__(self, atoms: Sequence[str], formula: A.Formula) -> None:
        self.terms = Terms()
        self.atoms = tuple(atoms)
        self.index = {a: i for i, a in enumerate(self.atoms)}
        self.past: list[_Past] = []
        self.past_ids: dict[tuple, int] = {}
        self.general: list[_General] = []
        self.general_ids: dict[tuple, int] = {}
        self._future_memo: dict[A.Formula, bool] = {}
        self.formula = formula

    def future(self, f: A.Formula, negate: bool = False) -> int:
        """A future term for ``f`` in negation normal form."""
        T = self.terms
        match f:
            case A.Const(v):
                return TRUE_ID if v != negate else FALSE_ID
            case A.Atom(name):
                return T.lit(self.index[name], not negate)
            case A.Not(a):
                return self.future(a, not negate)
            case A.And(args):
                parts = [self.future(a, negate) for a in args]
                return T.disj(parts) if negate else T.conj(parts)
            case A.Or(args):
                parts = [self.future(a, negate) for a in args]
                return T.conj(parts) if negate else T.disj(parts)
            case A.Next(a):
                return T.make(("N" if negate else "X", self.future(a, negate)))
            case A.Until(a, b, bound):
                lo, hi = bound.frames(None)
                return T.make(("R" if negate else "U", self.future(a, negate), self.future(b, negate), lo, hi))
            case A.Prev() | A.Since():
                if _mentions_future(f, self._future_memo):
                    return self.general_slot(f, negate)
                slot = self.past_slot(f)
                return T.lit(len(self.atoms) + slot, not negate)
        raise InvalidValue(f"cannot compile {to_text(f)}: not a core formula")

    def general_slot(self, f: A.Formula, negate: bool) -> int:
        """A literal for a past operator whose operands look into the future."""
        match f:
            case A.Prev(a):
                key = ("Y", self.future(a))
                entry = _General("Y", -1, key[1])
            case A.Since(a, b, bound):
                lo, hi = bound.frames(None)
                if lo > 0:  # a S[lo,hi] b = a & Y (a S[lo-1,hi-1] b)
                    inner = A.Since(a, b, A.Bound(lo - 1, None if hi is None else hi - 1))
                    return self.future(A.conj(a, A.Prev(inner)), negate)
                if hi is not None:  # a S[0,h] b = b | (a & Y (a S[0,h-1] b))
                    if hi == 0:
                        return self.future(b, negate)
                    inner = A.Since(a, b, A.Bound(0, hi - 1))
                    return self.future(A.disj(b, A.conj(a, A.Prev(inner))), negate)
                key = ("S", self.future(a), self.future(b))
                entry = _General("S", key[1], key[2])
        slot = self.general_ids.get(key)
        if slot is None:
            slot = self.general_ids[key] = len(self.general)
            self.general.append(entry)
        return self.terms.make(("gpast", slot, not negate))

    def current_terms(self, memory: tuple[int, ...]) -> tuple[int, ...]:
        """What each general past literal requires from the current frame on."""
        T = self.terms
        out = []
        for g, m in zip(self.general, memory):
            out.append(m if g.kind == "Y" else T.disj([g.right, T.conj([g.left, m])]))
        return tuple(out)

    def next_memory(self, current: tuple[int, ...], values: list, memo: dict) -> tuple[int, ...]:
        """The general memories after this frame: residuals of what must carry on."""
        T = self.terms
        out = []
        for g, cur in zip(self.general, current):
            source = g.right if g.kind == "Y" else cur
            out.append(T.canonical(_progress(T, source, values, current, memo)[0]))
        return tuple(out)

    def past_formula(self, f: A.Formula) -> int:
        """A term over atoms and past slots for a pure-past formula (no NNF needed)."""
        T = self.terms
        match f:
            case A.Const(v):
                return TRUE_ID if v else FALSE_ID
            case A.Atom(name):
                return T.lit(self.index[name], True)
            case A.Not(a):
                return T.make(("not", self.past_formula(a)))
            case A.And(args):
                return T.make(("pand", tuple(self.past_formula(a) for a in args)))
            case A.Or(args):
                return T.make(("por", tuple(self.past_formula(a) for a in args)))
            case A.Prev() | A.Since():
                return T.lit(len(self.atoms) + self.past_slot(f), True)
            case A.Next() | A.Until():
                raise InvalidValue(
                    f"a future operator inside a past operator is not supported: {to_text(f)} in "
                    f"{to_text(self.formula)}; rewrite so that past operators (Y O H S) contain "
                    "only propositions, booleans and other past operators"
                )
        raise InvalidValue(f"cannot compile {to_text(f)}: not a core formula")

    def past_slot(self, f: A.Formula) -> int:
        match f:
            case A.Prev(a):
                key = ("Y", self.past_formula(a))
                entry = _Past("Y", -1, key[1])
            case A.Since(a, b, bound):
                lo, hi = bound.frames(None)
                key = ("S", self.past_formula(a), self.past_formula(b), lo, hi)
                entry = _Past("S", key[1], key[2], lo, hi)
        if key not in self.past_ids:
            self.past_ids[key] = len(self.past)
            self.past.append(entry)
        return self.past_ids[key]


# ----------------------------------------------------------------- past memory
# The memory is a tuple with one entry per past slot:
#   Y: the argument's value at the previous frame (bool)
#   S with lo = 0: the age of the latest valid witness (None = none within hi)
#   S with lo > 0: (run of left-operand truths capped at lo, tuple of the last lo
#                   values of S[0,hi-lo], inner age)


def _initial_memory(past: Sequence[_Past]) -> tuple:
    out = []
    for p in past:
        if p.kind == "Y":
            out.append(False)
        elif p.lo == 0:
            out.append(None)
        else:
            out.append((0, (False,) * p.lo, None))
    return tuple(out)


def _eval_past_term(T: Terms, t: int, values: list) -> bool:
    node = T.nodes[t]
    kind = node[0]
    if kind == "T":
        return True
    if kind == "F":
        return False
    if kind == "lit":
        v = values[node[1]]
        return v if node[2] else not v
    if kind == "not":
        return not _eval_past_term(T, node[1], values)
    if kind == "pand":
        return all(_eval_past_term(T, c, values) for c in node[1])
    if kind == "por":
        return any(_eval_past_term(T, c, values) for c in node[1])
    raise AssertionError(node)  # pragma: no cover - builder only makes these


def _step_past(T: Terms, past: Sequence[_Past], n_atoms: int, letter: int, memory: tuple) -> tuple[list, tuple]:
    """Values of atoms and past slots at this frame, and the memory for the next one.

    Slots are evaluated in creation order, which puts every slot after the slots
    its operands mention (operands are built before the slot itself).
    """
    values: list = [bool((letter >> j) & 1) for j in range(n_atoms)] + [False] * len(past)
    new_memory = list(memory)
    for s, p in enumerate(past):
        m = memory[s]
        if p.kind == "Y":
            values[n_atoms + s] = m
            new_memory[s] = _eval_past_term(T, p.right, values)
            continue
        a = _eval_past_term(T, p.left, values)
        b = _eval_past_term(T, p.right, values)
        inner_hi = None if p.hi is None else p.hi - p.lo
        if p.lo == 0:
            age = _age(m, a, b, inner_hi)
            values[n_atoms + s] = age is not None
            new_memory[s] = age
        else:
            run, history, inner = m
            inner = _age(inner, a, b, inner_hi)
            # history[0] is the inner value lo frames ago (at i - lo)
            run = min(run + 1, p.lo) if a else 0
            values[n_atoms + s] = history[0] and run >= p.lo
            new_memory[s] = (run, history[1:] + (inner is not None,), inner)
    return values, tuple(new_memory)


def _age(prev: int | None, a: bool, b: bool, hi: int | None) -> int | None:
    """Age of the latest b whose successors all had a (None: none within hi)."""
    if b:
        return 0
    if a and prev is not None:
        nxt = prev + 1
        if hi is None:
            return 0  # unbounded: only "a witness exists" matters, not its age
        return nxt if nxt <= hi else None
    return None


# ----------------------------------------------------------------- progression


def _progress(T: Terms, t: int, values: list, current: tuple[int, ...], memo: dict) -> tuple[int, bool]:
    """``(next obligation, end_ok)`` after reading a frame with ``values``.

    The next obligation collects every X/N argument; ``end_ok`` evaluates the
    same combination with strong obligations false and weak ones true.
    ``current[s]`` is what general past literal ``s`` requires from this frame on.
    """
    key = t
    if key in memo:
        return memo[key]
    node = T.nodes[t]
    kind = node[0]
    if kind == "T":
        res = (TRUE_ID, True)
    elif kind == "F":
        res = (FALSE_ID, False)
    elif kind == "lit":
        v = values[node[1]]
        ok = v if node[2] else not v
        res = (TRUE_ID, True) if ok else (FALSE_ID, False)
    elif kind == "gpast":
        cur = current[node[1]]
        res = _progress(T, cur if node[2] else T.negate(cur), values, current, memo)
    elif kind == "and":
        parts = [_progress(T, c, values, current, memo) for c in node[1]]
        res = (T.conj([p[0] for p in parts]), all(p[1] for p in parts))
    elif kind == "or":
        parts = [_progress(T, c, values, current, memo) for c in node[1]]
        res = (T.disj([p[0] for p in parts]), any(p[1] for p in parts))
    elif kind == "X":
        res = (node[1], False)
    elif kind == "N":
        res = (node[1], True)
    elif kind == "U":
        _, a, b, lo, hi = node
        if lo > 0:
            # a now, and a U[lo-1, hi-1] b from the next frame (strongly)
            pa = _progress(T, a, values, current, memo)
            nxt = T.make(("U", a, b, lo - 1, None if hi is None else hi - 1))
            res = (T.conj([pa[0], nxt]), False)
        else:
            pb = _progress(T, b, values, current, memo)
            pa = _progress(T, a, values, current, memo)
            if hi is not None and hi == 0:
                res = pb
            else:
                nxt = T.make(("U", a, b, 0, None if hi is None else hi - 1))
                res = _or(T, pb, (T.conj([pa[0], nxt]), False))
    elif kind == "R":
        _, a, b, lo, hi = node
        if lo > 0:
            pa = _progress(T, a, values, current, memo)
            nxt = T.make(("R", a, b, lo - 1, None if hi is None else hi - 1))
            res = _or(T, pa, (nxt, True))
        else:
            pb = _progress(T, b, values, current, memo)
            pa = _progress(T, a, values, current, memo)
            if hi is not None and hi == 0:
                res = pb
            else:
                nxt = T.make(("R", a, b, 0, None if hi is None else hi - 1))
                res = _and(T, pb, _or(T, pa, (nxt, True)))
    else:  # pragma: no cover - builder only makes these
        raise AssertionError(node)
    memo[key] = res
    return res


def _or(T: Terms, x: tuple[int, bool], y: tuple[int, bool]) -> tuple[int, bool]:
    # (X p | N q) at the next frame is p | q; at the end it is end_p | end_q.
    # Exact because each side is "formula at next frame" plus its own end value,
    # and the two sides are combined the same way in both readings.
    return _combine(T, x, y, T.disj, any)


def _and(T: Terms, x: tuple[int, bool], y: tuple[int, bool]) -> tuple[int, bool]:
    return _combine(T, x, y, T.conj, all)


def _combine(T, x, y, op, agg):  # type: ignore[no-untyped-def]
    return op([x[0], y[0]]), agg([x[1], y[1]])


# ----------------------------------------------------------------- exploration


@dataclass(frozen=True)
class RawDFA:
    atoms: tuple[str, ...]
    delta: np.ndarray  # (states, 2**k) int32
    accepting: np.ndarray  # (states,) bool
    initial: int


def build(
    formula: A.Formula,
    atoms: Sequence[str],
    *,
    max_states: int = DEFAULT_MAX_STATES,
    budget: Budget | None = None,
) -> RawDFA:
    """The (unminimized) DFA of ``formula`` over ``atoms`` (frame bounds only).

    ``budget`` (default: ``Budget(max_states)``) bounds the states, the
    transition-table size and the time; exploration stops with
    :class:`AutomatonTooLarge` as soon as one is exceeded.
    """
    if budget is None:
        budget = Budget(max_states=max_states, formula=formula)
    if len(atoms) > MAX_ATOMS:
        raise InvalidValue(too_many_atoms(len(atoms)))
    core = desugar(formula)
    b = Builder(atoms, formula)
    root = b.future(core)
    T = b.terms
    k = len(atoms)
    n_letters = 1 << k
    # State 0 is a dedicated start state (never accepting, never re-entered), so
    # the empty trace is rejected by the automaton and by its complement alike.
    start_memory = (_initial_memory(b.past), (FALSE_ID,) * len(b.general))
    key_of: dict[tuple, int] = {}
    keys: list[tuple] = [(root, None, start_memory)]  # end_ok=None marks the start
    rows: list[np.ndarray] = []
    accepting = [False]
    queue = deque([0])
    # Per (letter, past memory): the frame's values (one shared tuple) and the next memory.
    past_cache: dict[tuple, tuple[tuple, tuple]] = {}
    progress_cache: dict[tuple, tuple[int, bool, tuple]] = {}  # states share obligations
    memos: dict[tuple, dict] = {}  # per frame values and general memory: term -> progressed term
    budget.check_size(1, n_letters, formula)
    while queue:
        budget.check_time(formula, len(keys))
        s = queue.popleft()
        obligation, _, (memory, general) = keys[s]
        current = b.current_terms(general)
        row = np.empty(n_letters, dtype=np.int32)
        for letter in range(n_letters):
            pk = (letter, memory)
            hit_past = past_cache.get(pk)
            if hit_past is None:
                values_list, new_memory = _step_past(T, b.past, k, letter, memory)
                hit_past = past_cache[pk] = (tuple(values_list), new_memory)
            values, new_memory = hit_past
            ck = (obligation, values, general)
            hit = progress_cache.get(ck)
            if hit is None:
                # subterms shared by many states (the G part of a response rule) progress once per letter
                memo = memos.setdefault((values, general), {})
                nxt, end_ok = _progress(T, obligation, values, current, memo)
                new_general = b.next_memory(current, values, memo) if general else ()
                hit = progress_cache[ck] = (T.canonical(nxt), end_ok, new_general)
            nxt, end_ok, new_general = hit
            key = (nxt, end_ok, (new_memory, new_general))
            target = key_of.get(key)
            if target is None:
                target = len(keys)
                budget.check_size(target + 1, n_letters, formula)
                key_of[key] = target
                keys.append(key)
                accepting.append(end_ok)
                queue.append(target)
            row[letter] = target
        rows.append(row)
    delta = np.stack(rows).astype(np.int32)
    return RawDFA(tuple(atoms), delta, np.array(accepting, dtype=bool), 0)


def too_many_atoms(k: int) -> str:
    return (
        f"{k} propositions in one automaton; its transition table enumerates all 2^k letters per "
        f"state and supports at most {MAX_ATOMS}. Split the query, or combine propositions upstream "
        "(more would need symbolic transition guards, BDDs over the propositions as in MONA, "
        "which framelogic does not have)"
    )


def _culprit(f: A.Formula) -> str:
    """The bounded subformula with the largest bound, else the formula."""
    best: tuple[int, A.Formula] | None = None
    stack = [f]
    while stack:
        g = stack.pop()
        bd = getattr(g, "bound", None)
        if bd is not None and bd.unit == "frames":
            size = max(bd.lo, bd.hi or 0)
            if best is None or size > best[0]:
                best = (size, g)
        stack.extend(A.children(g))
    return to_text(best[1] if best and best[0] > 0 else f)
