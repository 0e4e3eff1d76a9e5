"""Satisfaction signals of formulas over boolean (0/1) traces, compositionally.

A formula's automaton can be exponential in its bounds (``G (a -> F[60,120] b)``
needs 2^60 states), but on a 0/1 trace every subformula has a definite truth
value at every frame. :class:`BooleanProgram` evaluates the formula's DAG bottom
up, each distinct subformula once: O(frames x nodes) time, the same for any
bound (``F[0,3]`` and ``F[0,10**9]`` cost alike).

With numba, every node is one compiled pass over 0/1 byte columns that tracks
the nearest deciding frame (see "compiled path" below), writing into a few work
rows reused by liveness; the input table is checked and turned into columns
once. Without numba, every node is a few whole-array numpy operations, as
follows (windows clip at the end of the trace and at frame 0, as in
:mod:`framelogic.logic.semantics`):

* ``F G O H`` with a finite bound ``[lo, hi]``: prefix counts (``np.cumsum``)
  give how many frames of the window hold the argument; slices of the counts
  line up every frame's window at once. Unbounded: one fill after the last (or
  first) frame where the argument holds or fails.
* ``a U[0,hi] b``: the answer at ``i`` is decided by the first frame ``k >= i``
  where ``b`` holds or ``a`` fails. Code each frame ``k`` as ``2k`` (``b``),
  ``2k+1`` (``a`` fails, no ``b``) or a large odd number (neither); a reversed
  ``np.minimum.accumulate`` gives every frame its first such ``k``, and ``a U b``
  holds iff that code is even and ``k`` is inside the window. ``a W b`` fails
  iff the code is odd and inside the window. ``S`` mirrors this with
  ``np.maximum.accumulate``. A lower bound ``lo > 0`` splits off the first
  ``lo`` frames: ``a U[lo,hi] b`` at ``i`` is ``a`` on ``[i, i+lo)`` and
  ``a U[0,hi-lo] b`` at ``i+lo``.
* ``R M`` are the duals: ``a R b = !(!a U !b)`` and ``a M b = !(!a W !b)`` over
  the same window.

>>> import numpy as np
>>> from framelogic.logic.grammar import parse
>>> prog = BooleanProgram(parse("ped U stopped"))
>>> prog.names
('ped', 'stopped')
>>> prog(np.array([[0, 0], [1, 0], [1, 0], [0, 1], [0, 0]])).astype(int)
array([0, 1, 1, 1, 0])
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from framelogic.logic import ast as A
from framelogic.logic.errors import InvalidArgument, InvalidValue, TraceError
from framelogic.logic.passes import atom_names, has_time_bounds, resolve_time, subformulas
from framelogic.logic.trace import as_trace

__all__ = ["COMPILED_FRAMES", "BooleanProgram", "boolean_signal", "prepare"]


@dataclass(frozen=True, slots=True)
class _Step:
    """One node of the program: ``op`` over the signals in ``args`` (slots)."""

    op: str
    args: tuple[int, ...]
    lo: int = 0
    hi: int | None = None  # None: unbounded
    column: int = -1  # atoms: the trace column
    value: bool = False  # constants


_UNARY_TEMPORAL = {A.Eventually: "F", A.Always: "G", A.Once: "O", A.Historically: "H"}
_BINARY_TEMPORAL = {A.Until: "U", A.Release: "R", A.WeakUntil: "W", A.StrongRelease: "M", A.Since: "S"}


class BooleanProgram:
    """The satisfaction signal of ``formula`` on 0/1 traces, in O(frames x nodes).

    ``formula`` must have frame bounds only (resolve time bounds first with
    :func:`framelogic.logic.resolve_time`). ``names`` are the trace columns the
    program reads, in the order of :func:`framelogic.logic.passes.atom_names`.
    Calling the program on an ``(n, len(names))`` array of 0/1 values (bool,
    int or float) returns a bool array ``out`` of length ``n`` with
    ``out[i] = (w, i) |= formula`` — the same as
    :func:`framelogic.logic.semantics.satisfaction`.
    """

    __slots__ = ("formula", "names", "_steps", "_last_use", "_slots")

    def __init__(self, formula: A.Formula) -> None:
        if not A.is_formula(formula):
            raise InvalidArgument(f"formula={formula!r} is not a formula; build one with parse('...')")
        if has_time_bounds(formula):
            raise InvalidValue(
                f"formula={formula} has time bounds; convert them to frames first with "
                "resolve_time(formula, fps), or use boolean_signal(formula, table, fps=...)"
            )
        self.formula = formula
        self.names = atom_names(formula)
        column = {name: j for j, name in enumerate(self.names)}
        nodes = subformulas(formula)  # distinct, children first
        slot = {g: k for k, g in enumerate(nodes)}
        steps = []
        for g in nodes:
            args = tuple(slot[c] for c in A.children(g))
            match g:
                case A.Const(v):
                    steps.append(_Step("const", (), value=bool(v)))
                case A.Atom(name):
                    steps.append(_Step("atom", (), column=column[name]))
                case A.Not() | A.And() | A.Or() | A.Implies() | A.Iff():
                    steps.append(_Step(type(g).__name__.lower(), args))
                case A.Next() | A.WeakNext() | A.Prev():
                    steps.append(_Step(type(g).__name__.lower(), args))
                case _:
                    lo, hi = g.bound.frames(None)  # type: ignore[union-attr]
                    op = _UNARY_TEMPORAL.get(type(g)) or _BINARY_TEMPORAL[type(g)]
                    steps.append(_Step(op, args, lo, hi))
        last_use = list(range(len(steps)))
        for k, step in enumerate(steps):
            for a in step.args:
                last_use[a] = k
        last_use[-1] = len(steps)  # the result outlives the loop
        self._steps = tuple(steps)
        self._last_use = tuple(last_use)
        self._slots: tuple[tuple[int, ...], int] | None = None

    @property
    def size(self) -> int:
        """Number of distinct subformulas: the array passes one call makes."""
        return len(self._steps)

    def __repr__(self) -> str:
        return f"BooleanProgram({str(self.formula)!r}, {self.size} nodes)"

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """``out[i] = (w, i) |= formula`` for the trace ``values`` (frames x ``names``)."""
        v = np.asarray(values)
        loops = _loops_for(v)
        if loops is None:
            return self._call_numpy(v)
        return self._call_compiled(v, loops)  # type: ignore[return-value]  # strict: never None

    def signal(self, values: np.ndarray) -> np.ndarray | None:
        """The satisfaction signal as float64 (0.0 or 1.0) when every entry of
        ``values`` (frames x ``names``, any real dtype) is 0 or 1; None otherwise.

        One pass over the table both checks it and reads its columns, so a
        caller that takes 0/1 and probability tables alike (an evaluator) needs
        no separate check: call this first, and fall back to the probabilistic
        path on None.

        >>> from framelogic.logic.grammar import parse
        >>> prog = BooleanProgram(parse("F[0,1] b"))
        >>> prog.signal(np.array([[0.0], [0.0], [1.0]])).tolist(), prog.signal(np.array([[0.5]]))
        ([0.0, 1.0, 1.0], None)
        """
        v = np.asarray(values)
        loops = _loops_for(v)
        if loops is None:
            if v.dtype != np.bool_ and v.ndim == 2 and v.dtype.kind in "biuf" and not np.all((v == 0) | (v == 1)):
                return None
            out = self._call_numpy(v)
        else:
            out = self._call_compiled(v, loops, strict=False)
            if out is None:
                return None
        return out.astype(np.float64)

    def _call_numpy(self, values: np.ndarray) -> np.ndarray:
        """The whole-array numpy path (used without numba)."""
        columns, n = self._columns(values)
        if n == 0:
            return np.zeros(0, dtype=bool)
        w = _Frames(n)
        signals: list[np.ndarray | None] = [None] * len(self._steps)
        dying: dict[int, list[int]] = {}
        for k, u in enumerate(self._last_use):
            dying.setdefault(u, []).append(k)
        for k, step in enumerate(self._steps):
            args = [signals[a] for a in step.args]
            signals[k] = _run(step, args, columns, w)
            for d in dying.get(k, ()):  # free what no later node reads
                if d != k:
                    signals[d] = None
        out = signals[-1]
        # atoms and shared constants may alias caller-visible or reused arrays
        return out.copy() if self._steps[-1].op in ("atom", "const") else out

    def _columns(self, values: object) -> tuple[list[np.ndarray], int]:
        v = np.asarray(values)
        k = len(self.names)
        if v.ndim != 2 or v.shape[1] != k:
            raise TraceError(
                f"values has shape {v.shape}, expected (frames, {k}) with columns {list(self.names)}"
            )
        if v.dtype != np.bool_:
            if v.dtype.kind not in "biuf":
                raise TraceError(f"values has dtype {v.dtype}; expected 0/1 as bool, int or float")
            bad = (v != 0) & (v != 1)
            if bad.any():
                i, j = map(int, np.argwhere(bad)[0])
                raise TraceError(
                    f"value {v[i, j]!r} of {self.names[j]!r} at frame {i} is not 0 or 1; "
                    "BooleanProgram needs a boolean trace (use framelogic.evaluate for probabilities)"
                )
            v = v != 0
        return [np.ascontiguousarray(v[:, j]) for j in range(k)], int(v.shape[0])

    def _call_compiled(self, values: object, loops: dict, *, strict: bool = True) -> np.ndarray | None:
        """One compiled single pass per node over uint8 columns, into a few reused rows.
        A value other than 0 or 1 raises :class:`TraceError` (``strict``) or returns None."""
        v = np.asarray(values)
        k = len(self.names)
        if v.ndim != 2 or v.shape[1] != k:
            raise TraceError(
                f"values has shape {v.shape}, expected (frames, {k}) with columns {list(self.names)}"
            )
        if v.dtype.kind not in "biuf":
            raise TraceError(f"values has dtype {v.dtype}; expected 0/1 as bool, int or float")
        n = int(v.shape[0])
        if n == 0:
            return np.zeros(0, dtype=bool)
        plan = self._slots
        if plan is None:
            plan = self._slots = _allocate(self._steps, self._last_use)
        slot_of, n_slots = plan
        block = np.empty((k + n_slots, n), dtype=np.uint8)  # one mapping: huge pages where the OS gives them
        atoms, work = block[:k], block[k:]
        if k and v.dtype == np.bool_:
            np.copyto(atoms, v.view(np.uint8).T)  # bools are 0/1 already
        elif k:
            v = np.ascontiguousarray(v)
            flat = np.empty(n * k, dtype=np.uint8)
            if loops["flat01"](v.reshape(-1), flat):  # some value is not 0 or 1
                if not strict:
                    return None
                i, j = map(int, np.argwhere((v != 0) & (v != 1))[0])
                raise TraceError(
                    f"value {v[i, j]!r} of {self.names[j]!r} at frame {i} is not 0 or 1; "
                    "BooleanProgram needs a boolean trace (use framelogic.evaluate for probabilities)"
                )
            np.copyto(atoms, flat.reshape(n, k).T)
            del flat
        out = np.empty(n, dtype=np.uint8)
        last = len(self._steps) - 1
        rows: list[np.ndarray] = [out] * len(self._steps)
        for i, step in enumerate(self._steps):
            if step.op == "atom":
                rows[i] = atoms[step.column]
                if i == last:
                    out[:] = rows[i]
                continue
            dst = out if i == last else work[slot_of[i]]
            rows[i] = dst
            _run_compiled(step, [rows[a] for a in step.args], dst, n, loops)
        return out.view(np.bool_)


def boolean_signal(formula: A.Formula, table: object, *, fps: float | None = None) -> np.ndarray:
    """The satisfaction signal of ``formula`` on the boolean trace ``table`` (anything
    :func:`framelogic.logic.trace.as_trace` accepts); time bounds are converted with
    ``fps``, else the table's own rate.

    >>> from framelogic.logic.grammar import parse
    >>> boolean_signal(parse("F[0,1s] b"), {"b": [0, 0, 0, 1]}, fps=2).astype(int)
    array([0, 1, 1, 1])
    """
    t = as_trace(table)
    f = resolve_time(formula, fps if fps is not None else t.rate)
    prog = BooleanProgram(f)
    return prog(t.select(prog.names).values)


# --------------------------------------------------------------------------- kernels


class _Frames:
    """Per-call index arrays, made on first use."""

    __slots__ = ("n", "itype", "_base2")

    def __init__(self, n: int) -> None:
        self.n = n
        # codes reach 4n; int32 halves the memory traffic when they fit
        self.itype = np.int32 if 4 * n + 8 < 2**31 else np.int64
        self._base2: np.ndarray | None = None

    @property
    def base2(self) -> np.ndarray:
        """``2 * i`` for every frame ``i``."""
        if self._base2 is None:
            self._base2 = np.arange(0, 2 * self.n, 2, dtype=self.itype)
        return self._base2

    def clip(self, lo: int, hi: int | None) -> tuple[int, int | None]:
        """``(lo, hi)`` with ``hi = None`` when the window always reaches the trace's
        end (or frame 0); keeps huge bounds out of index arithmetic."""
        return lo, None if hi is None or hi >= self.n - 1 else hi


def _run(step: _Step, args: list, columns: list[np.ndarray], w: _Frames) -> np.ndarray:
    n = w.n
    match step.op:
        case "const":
            return np.full(n, step.value, dtype=bool)
        case "atom":
            return columns[step.column]
        case "not":
            return ~args[0]
        case "and" | "or":
            fn = np.logical_and if step.op == "and" else np.logical_or
            out = fn(args[0], args[1])
            for x in args[2:]:
                fn(out, x, out=out)
            return out
        case "implies":
            return ~args[0] | args[1]
        case "iff":
            return args[0] == args[1]
        case "next" | "weaknext":
            out = np.empty(n, dtype=bool)
            out[:-1] = args[0][1:]
            out[-1] = step.op == "weaknext"
            return out
        case "prev":
            out = np.empty(n, dtype=bool)
            out[1:] = args[0][:-1]
            out[0] = False
            return out
    lo, hi = w.clip(step.lo, step.hi)
    match step.op:
        case "F":
            return _future_any(args[0], lo, hi, w)
        case "G":
            return ~_future_any(~args[0], lo, hi, w)
        case "O":
            return _past_any(args[0], lo, hi, w)
        case "H":
            return ~_past_any(~args[0], lo, hi, w)
        case "U":
            return _until(args[1], ~args[0], lo, hi, w, weak=False)
        case "W":
            return _until(args[1], ~args[0], lo, hi, w, weak=True)
        case "R":  # !(!a U !b)
            return ~_until(~args[1], args[0], lo, hi, w, weak=False)
        case "M":  # !(!a W !b)
            return ~_until(~args[1], args[0], lo, hi, w, weak=True)
        case "S":
            return _since(args[1], ~args[0], lo, hi, w)
    raise AssertionError(f"unknown step {step.op!r}")  # pragma: no cover


def _future_any(x: np.ndarray, lo: int, hi: int | None, w: _Frames) -> np.ndarray:
    """``out[i]``: ``x`` at some ``j`` with ``i+lo <= j <= min(i+hi, n-1)``."""
    n = w.n
    out = np.zeros(n, dtype=bool)
    if lo >= n:
        return out
    if hi is None:  # j <= n-1 only: holds up to the last x, shifted by lo
        last = n - 1 - int(np.argmax(x[::-1])) if x.any() else -1
        out[: max(last - lo + 1, 0)] = True
        return out
    c = _prefix_counts(x, w)  # c[j] = number of x in [0, j)
    h1 = hi + 1  # window [i+lo, i+hi] is c[i+h1] - c[i+lo] while i+h1 <= n
    k = n - h1 + 1
    np.greater(c[h1 : n + 1], c[lo : lo + k], out=out[:k])
    m = n - lo
    np.greater(c[n], c[lo + k : n], out=out[k:m])
    return out


def _past_any(x: np.ndarray, lo: int, hi: int | None, w: _Frames) -> np.ndarray:
    """``out[i]``: ``x`` at some ``j`` with ``max(i-hi, 0) <= j <= i-lo``."""
    n = w.n
    out = np.zeros(n, dtype=bool)
    if lo >= n:
        return out
    if hi is None:  # holds from the first x on, shifted by lo
        if x.any():
            out[int(np.argmax(x)) + lo :] = True
        return out
    c = _prefix_counts(x, w)
    # i in [lo, hi]: window [0, i-lo];  i in (hi, n): window [i-hi, i-lo]
    np.greater(c[1 : hi - lo + 2], 0, out=out[lo : hi + 1])
    np.greater(c[hi - lo + 2 : n - lo + 1], c[1 : n - hi], out=out[hi + 1 :])
    return out


def _prefix_counts(x: np.ndarray, w: _Frames) -> np.ndarray:
    c = np.empty(w.n + 1, dtype=w.itype)
    c[0] = 0
    np.cumsum(x, dtype=w.itype, out=c[1:])
    return c


def _until(hit: np.ndarray, stop: np.ndarray, lo: int, hi: int | None, w: _Frames, *, weak: bool) -> np.ndarray:
    """``left U[lo,hi] right`` (``weak``: ``left W[lo,hi] right``) from ``hit`` =
    where ``right`` holds and ``stop`` = where ``left`` fails."""
    n = w.n
    if lo >= n:  # empty window everywhere: U fails, W holds (G of nothing)
        return np.full(n, weak, dtype=bool)
    h = None if hi is None else hi - lo
    base2 = w.base2
    # code[k]: 2k where right holds, 2k+1 where only left fails, odd >= 2n+1 where neither
    nohit = ~hit
    code = base2 + nohit
    code += (nohit & ~stop) * w.itype(2 * n)
    rev = code[::-1]
    np.minimum.accumulate(rev, out=rev)  # code[i]: the first deciding frame k >= i
    odd = (code & 1).astype(bool)
    # inside: the deciding frame k <= min(i+h, n-1), i.e. code < 2(i+h+1) (< 2n at the end)
    inside = code < 2 * n
    if h is not None:
        k = n - 1 - h
        np.less(code[:k], base2[h + 1 :], out=inside[:k])
    if lo == 0:
        return ~(odd & inside) if weak else ~odd & inside
    m = n - lo
    out = np.zeros(n, dtype=bool)
    # a U[lo,hi] b at i: a on [i, i+lo) and a U[0,hi-lo] b at i+lo
    np.logical_and(~odd[lo:], inside[lo:], out=out[:m])
    out[:m] &= ~_future_any(stop, 0, lo - 1, w)[:m]
    if weak:  # (a U b) | G a over the same window
        out |= ~_future_any(stop, lo, hi, w)
    return out


def _since(hit: np.ndarray, stop: np.ndarray, lo: int, hi: int | None, w: _Frames) -> np.ndarray:
    """``left S[lo,hi] right`` from ``hit`` = where ``right`` holds and ``stop`` =
    where ``left`` fails."""
    n = w.n
    out = np.zeros(n, dtype=bool)
    if lo >= n:
        return out
    h = None if hi is None else hi - lo
    base2 = w.base2
    # code[k]: 2k+1 where right holds, 2k where only left fails, negative where neither
    code = base2 + hit
    code -= (~hit & ~stop) * w.itype(2 * n + 2)
    np.maximum.accumulate(code, out=code)  # code[i]: the last deciding frame k <= i
    s = (code & 1).astype(bool)  # the deciding frame has right (negative codes are even)
    if h is not None:  # and k >= i - h, i.e. code > 2(i-h)
        s[h + 1 :] &= code[h + 1 :] > base2[1 : n - h]
    if lo == 0:
        return s
    # a S[lo,hi] b at i: a on (i-lo, i] and a S[0,hi-lo] b at i-lo
    np.logical_and(s[: n - lo], ~_past_any(stop, 0, lo - 1, w)[lo:], out=out[lo:])
    return out


# --------------------------------------------------------------------------- compiled path
#
# Every node is one sequential pass over uint8 columns (0/1), written into a row of
# a per-call work matrix: rows are reused once no later node reads them (a node
# never writes a row it reads). The temporal passes keep one or two "nearest
# deciding frame" indices instead of prefix counts, so they allocate nothing:
#
# * ``F[lo,hi] x`` (backwards): ``nxt`` = the first ``j >= i+lo`` with ``x[j]``;
#   holds iff ``nxt - i <= hi``. ``G`` is ``F`` of the failures, negated; ``O H``
#   are the mirror images (forwards, the last ``j <= i-lo``).
# * ``a U[lo,hi] c`` (backwards): ``nb`` = the first ``c`` at or after ``i+lo``,
#   ``nf`` = the first failure of ``a`` at or after ``i``; holds iff
#   ``nb - i <= hi`` and ``nb <= nf`` (the earliest ``c`` of the window is the
#   best witness). ``W`` adds ``G[lo,hi] a`` (the first failure of ``a`` at or
#   after ``i+lo`` lies past the window) in a pass of its own; ``R M`` are
#   ``!(!a U !c)``, ``!(!a W !c)``: the same passes with the wanted values flipped.
# * ``a S[lo,hi] c`` (forwards): ``lb`` = the last ``c`` at or before ``i-lo``,
#   ``lf`` = the last failure of ``a`` at or before ``i``; holds iff
#   ``lb >= 0``, ``i - lb <= hi`` and ``lf <= lb``.
#
# Bounds are clipped to ``n`` first (a window reaching past the trace is the same
# as one reaching its end), so indices stay far inside int64.

_FAR = 1 << 62


def _pass_flat01(v: np.ndarray, out: np.ndarray) -> int:
    """``out = (v == 1)`` as 0/1 bytes, in vectorizable blocks; stops at the first
    block holding a value other than 0 and 1 and returns how many it holds (0:
    the table is boolean)."""
    n = v.shape[0]
    for lo in range(0, n, 4096):
        bad = 0
        for i in range(lo, min(lo + 4096, n)):
            x = v[i]
            out[i] = x == 1
            bad += (x != 0) & (x != 1)
        if bad:
            return bad
    return 0


def _pass_future(x: np.ndarray, lo: int, hi: int, want: int, flip: int, out: np.ndarray) -> None:
    """``out[i] = flip XOR (x[j] == want for some j in [i+lo, min(i+hi, n-1)])``."""
    n = x.shape[0]
    nxt = _FAR
    start = min(n - 1, n - 1 - lo)  # frames i with i+lo <= n-1
    for i in range(n - 1, start, -1):
        out[i] = flip
    for i in range(start, -1, -1):
        if x[i + lo] == want:
            nxt = i + lo
        out[i] = (nxt - i <= hi) ^ flip


def _pass_past(x: np.ndarray, lo: int, hi: int, want: int, flip: int, out: np.ndarray) -> None:
    """``out[i] = flip XOR (x[j] == want for some j in [max(i-hi, 0), i-lo])``."""
    n = x.shape[0]
    last = -_FAR
    stop = min(lo, n)  # frames i with i-lo >= 0 start here
    for i in range(stop):
        out[i] = flip
    for i in range(stop, n):
        if x[i - lo] == want:
            last = i - lo
        out[i] = (i - last <= hi) ^ flip


def _pass_until(a: np.ndarray, c: np.ndarray, lo: int, hi: int, want: int, out: np.ndarray) -> None:
    """``want=1``: ``a U[lo,hi] c``; ``want=0``: ``!(!a U[lo,hi] !c)`` = ``a R[lo,hi] c``."""
    n = a.shape[0]
    flip = 1 - want
    nb = _FAR  # first c == want at or after i+lo
    nf = _FAR  # first a != want at or after i
    start = min(n - 1, n - 1 - lo)
    for i in range(n - 1, start, -1):  # empty window: U fails
        if a[i] != want:
            nf = i
        out[i] = flip
    for i in range(start, -1, -1):
        j = i + lo
        if c[j] == want:
            nb = j
        if a[i] != want:
            nf = i
        out[i] = (nb - i <= hi and nb <= nf) ^ flip


def _pass_weak_until(a: np.ndarray, c: np.ndarray, lo: int, hi: int, want: int, out: np.ndarray) -> None:
    """``want=1``: ``a W[lo,hi] c`` = ``a U c | G[lo,hi] a``; ``want=0``:
    ``!(!a W[lo,hi] !c)`` = ``a M[lo,hi] c``."""
    n = a.shape[0]
    flip = 1 - want
    nb = _FAR  # first c == want at or after i+lo
    nf = _FAR  # first a != want at or after i
    ng = _FAR  # first a != want at or after i+lo
    start = min(n - 1, n - 1 - lo)
    for i in range(n - 1, start, -1):  # empty window: W holds
        if a[i] != want:
            nf = i
        out[i] = 1 ^ flip
    for i in range(start, -1, -1):
        j = i + lo
        if c[j] == want:
            nb = j
        if a[i] != want:
            nf = i
        if a[j] != want:
            ng = j
        out[i] = ((nb - i <= hi and nb <= nf) or ng - i > hi) ^ flip


def _pass_since(a: np.ndarray, c: np.ndarray, lo: int, hi: int, out: np.ndarray) -> None:
    """``a S[lo,hi] c``."""
    n = a.shape[0]
    lb = -_FAR  # last c at or before i-lo
    lf = -1  # last failure of a at or before i
    stop = min(lo, n)
    for i in range(stop):
        if not a[i]:
            lf = i
        out[i] = 0
    for i in range(stop, n):
        if c[i - lo]:
            lb = i - lo
        if not a[i]:
            lf = i
        out[i] = lb >= 0 and i - lb <= hi and lf <= lb


def _pass_implies(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    for i in range(a.shape[0]):
        out[i] = (a[i] ^ 1) | b[i]


def _pass_always_all(x: np.ndarray, out: np.ndarray) -> None:
    """Unbounded ``G x``: the suffix AND."""
    acc = 1
    for i in range(x.shape[0] - 1, -1, -1):
        acc &= x[i]
        out[i] = acc


_LOOPS = {
    "flat01": _pass_flat01,
    "future": _pass_future,
    "past": _pass_past,
    "until": _pass_until,
    "weak_until": _pass_weak_until,
    "since": _pass_since,
    "implies": _pass_implies,
    "always_all": _pass_always_all,
}


#: Traces at least this long run the compiled passes. Shorter ones run the numpy
#: path, which needs no warm-up: the first compiled call of a process loads numba
#: and the passes' machine code (cached on disk), about a second.
COMPILED_FRAMES = 100_000


def prepare() -> bool:
    """Load the compiled passes now (numba and their machine code, cached on disk),
    so that no later call pays for it: before timing, or before forking workers.
    Returns whether they are available (False without numba).

    >>> prepare() in (True, False)
    True
    """
    loops = _loops()
    if loops is None:
        return False
    x, out = np.zeros(2, dtype=np.uint8), np.empty(2, dtype=np.uint8)
    loops["future"](x, 0, 1, 1, 0, out)
    loops["past"](x, 0, 1, 1, 0, out)
    loops["until"](x, x, 0, 1, 1, out)
    loops["weak_until"](x, x, 0, 1, 1, out)
    loops["since"](x, x, 0, 1, out)
    loops["implies"](x, x, out)
    loops["always_all"](x, out)
    table = np.zeros(2)
    loops["flat01"](table, out)  # float64 tables, as evaluators pass them
    table.flags.writeable = False
    loops["flat01"](table, out)  # ... and read-only ones (a TraceTable's columns)
    return True


def _loops_for(v: np.ndarray) -> dict | None:
    """The compiled passes when ``v`` is long enough for them (and numba is there)."""
    return _loops() if v.ndim >= 1 and v.shape[0] >= COMPILED_FRAMES else None


@cache
def _loops() -> dict | None:
    """The passes compiled with numba (cached on disk), or None without numba."""
    try:
        import numba
    except ImportError:  # the numpy path is exact too
        return None
    return {name: numba.njit(cache=True, nogil=True)(fn) for name, fn in _LOOPS.items()}


def _allocate(steps: tuple[_Step, ...], last_use: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    """A work row for every node that needs one (not atoms, not the result), reusing
    rows no later node reads; ``(row of each node, number of rows)``."""
    free: list[int] = []
    slot = [-1] * len(steps)
    n_rows = 0
    dying: dict[int, list[int]] = {}
    for k, u in enumerate(last_use):
        dying.setdefault(u, []).append(k)
    last = len(steps) - 1
    for i, step in enumerate(steps):
        if step.op != "atom" and i != last:
            if free:
                slot[i] = free.pop()
            else:
                slot[i] = n_rows
                n_rows += 1
        for d in dying.get(i, ()):
            if d != i and slot[d] >= 0:
                free.append(slot[d])
    return tuple(slot), n_rows


def _run_compiled(step: _Step, args: list[np.ndarray], out: np.ndarray, n: int, loops: dict) -> None:
    op = step.op
    if op == "const":
        out.fill(step.value)
    elif op == "not":
        np.bitwise_xor(args[0], 1, out=out)
    elif op == "and":
        np.bitwise_and(args[0], args[1], out=out)
        for x in args[2:]:
            np.bitwise_and(out, x, out=out)
    elif op == "or":
        np.bitwise_or(args[0], args[1], out=out)
        for x in args[2:]:
            np.bitwise_or(out, x, out=out)
    elif op == "implies":
        loops["implies"](args[0], args[1], out)
    elif op == "iff":
        np.equal(args[0], args[1], out=out.view(np.bool_))
    elif op == "next" or op == "weaknext":
        out[:-1] = args[0][1:]
        out[-1] = op == "weaknext"
    elif op == "prev":
        out[1:] = args[0][:-1]
        out[0] = 0
    else:
        lo = min(step.lo, n)
        hi = n if step.hi is None else min(step.hi, n)
        if op == "F":
            loops["future"](args[0], lo, hi, 1, 0, out)
        elif op == "G":
            if lo == 0 and hi >= n:
                loops["always_all"](args[0], out)
            else:
                loops["future"](args[0], lo, hi, 0, 1, out)
        elif op == "O":
            loops["past"](args[0], lo, hi, 1, 0, out)
        elif op == "H":
            loops["past"](args[0], lo, hi, 0, 1, out)
        elif op == "U" or op == "R":
            loops["until"](args[0], args[1], lo, hi, int(op == "U"), out)
        elif op == "W" or op == "M":
            loops["weak_until"](args[0], args[1], lo, hi, int(op == "W"), out)
        elif op == "S":
            loops["since"](args[0], args[1], lo, hi, out)
        else:  # pragma: no cover
            raise AssertionError(f"unknown step {op!r}")
