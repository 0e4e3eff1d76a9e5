"""Incremental evaluation of a formula's satisfaction signal, one frame at a time.

:class:`StreamingSignal` computes the boolean signal ``(w, i) |= f`` for every
frame ``i`` of a stream ``w`` without an automaton, in the style of Reelay and
RTAMT for past time and their mirror image for bounded future time. The formula
becomes a DAG of small nodes (one per distinct subformula of its desugared
form); every node emits its own signal in frame order, and a frame's value is
emitted as soon as it is decided:

* atoms, constants, boolean connectives and past operators decide frame ``i``
  when their operands have decided it (a past-only formula emits frame ``i``
  right after frame ``i`` is pushed);
* a bounded future operator ``a U[lo,hi] b`` decides frame ``i`` once its
  operands are known through frame ``i + hi``; ``X`` once its operand is known
  at ``i + 1``. So a formula whose future operators are all bounded emits frame
  ``i`` exactly when frame ``i + horizon`` is pushed;
* an unbounded future operator (``F``, ``G``, ``U`` without an upper bound)
  decides a run of frames together as soon as a witness or a counterexample
  appears, else at :meth:`StreamingSignal.finish`.

Memory per node: ``S[lo,hi]`` (and ``O``/``H``, which desugar to it) keeps the
windows opened by its right operand since the left one last failed, merged
into disjoint intervals — one interval when ``lo = 0`` whatever ``hi`` is, at
most ``1 + lo // (hi - lo + 2)`` otherwise — never a buffer of ``hi`` frames.
``Y``, unbounded ``U`` and ``X`` keep O(1). Bounded ``U`` keeps the positions
where its operands switch the outcome (where ``b`` held, where ``a`` failed)
within its window: O(hi) at most, which is inherent to looking ``hi`` frames
ahead. A connective whose operands decide frames at different delays buffers
the earlier operand's values for the difference.

At :meth:`StreamingSignal.finish` the trace ends and the finite-trace
semantics of :func:`framelogic.logic.semantics.satisfaction` applies (windows
clip at the last frame, strong ``X`` is false there, weak ``N`` true): for every
prefix, pushing it and finishing gives exactly the offline signal of that
prefix, and values emitted before ``finish`` are never revised.

>>> s = StreamingSignal("G[0,2] a")
>>> s.names, s.horizon
(('a',), 2)
>>> [s.push([v]) for v in (1, 1, 0, 1)]
[[], [], [(0, False)], [(1, False)]]
>>> s.finish()
[(2, False), (3, True)]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

from framelogic.logic import ast as A
from framelogic.logic.errors import InvalidArgument, InvalidValue, TraceError
from framelogic.logic.passes import atom_names, desugar, resolve_time

__all__ = ["StreamingSignal"]


class _Node:
    """One subformula's signal. ``new`` holds the values this node decided in the
    latest step (for frames ``emitted - len(new)`` .. ``emitted - 1``)."""

    __slots__ = ("kids", "new", "emitted", "horizon")

    def __init__(self, kids: tuple[_Node, ...], horizon: int | None) -> None:
        self.kids = kids
        self.new: list[bool] = []
        self.emitted = 0
        self.horizon = horizon

    def advance(self, n: int, final: bool) -> None:
        """Consume the kids' ``new`` values; ``n`` frames exist; ``final``: no more will."""
        raise NotImplementedError

    def state_size(self) -> int:
        """How many values/positions the node stores (its memory, up to a constant)."""
        return 0

    def clone(self, memo: dict[int, _Node]) -> _Node:
        c = object.__new__(type(self))
        for cls in type(self).__mro__:
            for s in getattr(cls, "__slots__", ()):
                v = getattr(self, s)
                if isinstance(v, (deque, list)):
                    v = v.copy()
                setattr(c, s, v)
        c.kids = tuple(memo[id(k)] for k in self.kids)
        return c

    def _emit(self, values: list[bool]) -> None:
        self.new = values
        self.emitted += len(values)


class _Input(_Node):
    """An atom: the value pushed for it (set by the signal)."""

    __slots__ = ("column",)

    def __init__(self, column: int) -> None:
        super().__init__((), 0)
        self.column = column

    def advance(self, n: int, final: bool) -> None:  # values are set by StreamingSignal
        pass


class _Const(_Node):
    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        super().__init__((), 0)
        self.value = bool(value)

    def advance(self, n: int, final: bool) -> None:
        self._emit([self.value] * (n - self.emitted))


class _Not(_Node):
    __slots__ = ()

    def advance(self, n: int, final: bool) -> None:
        self._emit([not x for x in self.kids[0].new])


class _Nary(_Node):
    """n-ary and/or: frame i is decided when every operand decided it."""

    __slots__ = ("is_and", "bufs")

    def __init__(self, kids: tuple[_Node, ...], is_and: bool) -> None:
        super().__init__(kids, _max_horizon(k.horizon for k in kids))
        self.is_and = is_and
        self.bufs: list[deque[bool]] | None = None  # created when operands fall out of step

    def advance(self, n: int, final: bool) -> None:
        news = [k.new for k in self.kids]
        if self.bufs is None:
            m = len(news[0])
            for x in news:
                if len(x) != m:
                    break
            else:  # operands in step: no buffering (the common, past-time case)
                if m == 1:
                    v = self.is_and
                    for x in news:
                        if x[0] != v:
                            v = not v
                            break
                    self.new = [v]
                    self.emitted += 1
                else:
                    self.new = [all(c) for c in zip(*news)] if self.is_and else [any(c) for c in zip(*news)]
                    self.emitted += m
                return
            self.bufs = [deque() for _ in news]
        bufs = self.bufs
        for buf, x in zip(bufs, news):
            if x:
                buf.extend(x)
        ready = min(map(len, bufs))
        if not ready:
            self.new = []
            return
        if ready == 1:  # steady state of operands at different delays
            vals = [b.popleft() for b in bufs]
            self.new = [all(vals) if self.is_and else any(vals)]
        else:
            cols = [[b.popleft() for _ in range(ready)] for b in bufs]
            self.new = [all(c) for c in zip(*cols)] if self.is_and else [any(c) for c in zip(*cols)]
        self.emitted += ready
        if not any(bufs):
            self.bufs = None

    def state_size(self) -> int:
        return 0 if self.bufs is None else sum(len(b) for b in self.bufs)

    def clone(self, memo: dict[int, _Node]) -> _Node:
        c = super().clone(memo)
        c.bufs = None if self.bufs is None else [b.copy() for b in self.bufs]  # type: ignore[attr-defined]
        return c


class _Shift(_Node):
    """``X^k a``: ``a`` at frame ``i + k``; ``fill`` where that frame is past the end."""

    __slots__ = ("skip", "fill")

    def __init__(self, kid: _Node, k: int, fill: bool) -> None:
        super().__init__((kid,), None if kid.horizon is None else kid.horizon + k)
        self.skip = k
        self.fill = fill

    def advance(self, n: int, final: bool) -> None:
        vals = self.kids[0].new
        if self.skip:
            dropped = min(self.skip, len(vals))
            self.skip -= dropped
            vals = vals[dropped:]
        else:
            vals = list(vals)
        if final:
            vals += [self.fill] * (n - self.emitted - len(vals))
        self._emit(vals)


class _Prev(_Node):
    """``Y a``: false at frame 0, else ``a`` at ``i - 1`` (emitted once frame i exists)."""

    __slots__ = ("buf",)

    def __init__(self, kid: _Node) -> None:
        super().__init__((kid,), None if kid.horizon is None else max(kid.horizon - 1, 0))
        self.buf: deque[bool] = deque()

    def advance(self, n: int, final: bool) -> None:
        self.buf.extend(self.kids[0].new)
        out = []
        i = self.emitted
        if i == 0:
            if not (n and (final or n > (self.horizon or 0))):  # on time with the rest
                self.new = out
                return
            out.append(False)
            i = 1
        while self.buf and i < n:
            out.append(self.buf.popleft())
            i += 1
        self._emit(out)

    def state_size(self) -> int:
        return len(self.buf)


class _Temporal(_Node):
    """Shared shape of ``U`` and ``S`` nodes: left operand ``a`` (None: ``true``, as in
    ``F``/``G``/``O``/``H``), right operand ``b`` read negated when ``nb`` and the
    result negated when ``nout`` (``G a = !(true U !a)`` is one node)."""

    __slots__ = ("has_a", "nb", "nout")

    def __init__(self, a: _Node | None, b: _Node, nb: bool, nout: bool, horizon: int | None) -> None:
        super().__init__((b,) if a is None else (a, b), horizon)
        self.has_a = a is not None
        self.nb, self.nout = nb, nout


class _BoundedUntil(_Temporal):
    """``a U[lo,hi] b`` with finite ``hi``: decided at ``i`` once both are known through ``i + hi``.

    The witness that matters for frame ``i`` is the first ``j >= i + lo`` where ``b``
    holds; the frame holds iff that ``j`` is in the (clipped) window and ``a``
    does not fail in ``[i, j)``. Only those two kinds of positions are kept.
    """

    __slots__ = ("lo", "hi", "ka", "kb", "btrue", "afail", "early")

    def __init__(
        self, a: _Node | None, b: _Node, lo: int, hi: int, nb: bool = False, nout: bool = False, early: bool = False
    ) -> None:
        h = _max_horizon((b.horizon, 0 if a is None else a.horizon))
        super().__init__(a, b, nb, nout, _plus(h, hi))
        self.lo, self.hi = lo, hi
        self.early = early
        self.ka = self.kb = 0  # frames of a / b known so far
        self.btrue: deque[int] = deque()
        self.afail: deque[int] = deque()

    def advance(self, n: int, final: bool) -> None:
        btrue, afail = self.btrue, self.afail
        nb = self.nb
        kb = self.kb
        for v in self.kids[-1].new:
            if v is not nb:
                btrue.append(kb)
            kb += 1
        self.kb = kb
        if self.has_a:
            ka = self.ka
            for v in self.kids[0].new:
                if not v:
                    afail.append(ka)
                ka += 1
            self.ka = ka
            known = min(ka, kb)  # both known on [0, known)
        else:
            known = kb
        lo, hi, nout = self.lo, self.hi, self.nout
        stop = n if final else known - hi  # frames i with i + hi < known are decided
        i = self.emitted
        out = []
        while i < stop:
            last = min(i + hi, n - 1) if final else i + hi
            while btrue and btrue[0] < i + lo:
                btrue.popleft()
            while afail and afail[0] < i:
                afail.popleft()
            if btrue and btrue[0] <= last:
                out.append((not afail or afail[0] >= btrue[0]) is not nout)
            else:
                out.append(nout)
            i += 1
        if self.early and not final:
            i = self._decide_early(i, out, self.ka if self.has_a else None, kb, n)
        self.new = out
        self.emitted = i

    def _decide_early(self, i: int, out: list[bool], ka: int | None, kb: int, n: int) -> int:
        """Frames before their window is complete whose value no continuation can change:
        a witness ``b`` with ``a`` holding up to it (true), or ``a`` failing before any
        witness (false)."""
        btrue, afail, lo, hi, nout = self.btrue, self.afail, self.lo, self.hi, self.nout
        while i < n:
            while btrue and btrue[0] < i + lo:
                btrue.popleft()
            while afail and afail[0] < i:
                afail.popleft()
            fail = afail[0] if afail else None
            if btrue and btrue[0] <= i + hi:
                j = btrue[0]
                if fail is not None and fail < j:
                    out.append(nout)
                elif ka is None or ka >= j:  # a known (and holding) on [i, j)
                    out.append(not nout)
                else:
                    break
            elif fail is not None and kb > min(fail, i + hi):  # no witness up to a's failure
                out.append(nout)
            else:
                break
            i += 1
        return i

    def state_size(self) -> int:
        return len(self.btrue) + len(self.afail)


class _Until(_Temporal):
    """``a U b`` unbounded: the undecided frames are always a run ending now, all
    waiting for the same event (``b`` holds: true; ``a`` fails first: false)."""

    __slots__ = ("abuf", "bbuf", "pending")

    def __init__(self, a: _Node | None, b: _Node, nb: bool = False, nout: bool = False) -> None:
        super().__init__(a, b, nb, nout, None)
        self.abuf: deque[bool] = deque()
        self.bbuf: deque[bool] = deque()
        self.pending = 0

    def advance(self, n: int, final: bool) -> None:
        nb, nout = self.nb, self.nout
        out: list[bool] = []
        if self.has_a:
            self.abuf.extend(self.kids[0].new)
            self.bbuf.extend(self.kids[1].new)
            pairs = []
            while self.abuf and self.bbuf:
                pairs.append((self.abuf.popleft(), self.bbuf.popleft()))
        else:
            pairs = [(True, v) for v in self.kids[0].new] if self.kids[0].new else ()
        for av, bv in pairs:
            bv = bv is not nb
            if bv or not av:
                out += [bv is not nout] * (self.pending + 1)
                self.pending = 0
            else:
                self.pending += 1
        if final and self.pending:
            out += [nout] * self.pending
            self.pending = 0
        self._emit(out)

    def state_size(self) -> int:
        return len(self.abuf) + len(self.bbuf) + 1


class _Since(_Temporal):
    """``a S[lo,hi] b``: the frames ``[j+lo, j+hi]`` opened by each ``j`` where ``b``
    held, kept as merged intervals and dropped when ``a`` fails (Reelay-style)."""

    __slots__ = ("lo", "hi", "abuf", "bbuf", "ivs")

    def __init__(self, a: _Node | None, b: _Node, lo: int, hi: int | None, nb: bool = False, nout: bool = False) -> None:
        super().__init__(a, b, nb, nout, _max_horizon((b.horizon, 0 if a is None else a.horizon)))
        self.lo, self.hi = lo, hi
        self.abuf: deque[bool] = deque()
        self.bbuf: deque[bool] = deque()
        self.ivs: deque[tuple[int, float]] = deque()  # disjoint, non-adjacent, sorted

    def advance(self, n: int, final: bool) -> None:
        b_new = self.kids[-1].new
        a_new = self.kids[0].new if self.has_a else _ONE_TRUE
        k = self.emitted
        if len(b_new) == 1 and len(a_new) == 1 and not self.bbuf and not self.abuf:
            # operands in step, one frame: the common case, without the buffers
            self.new = [self._frame(k, a_new[0], b_new[0])]
            self.emitted = k + 1
            return
        if self.has_a:
            self.abuf.extend(a_new)
            self.bbuf.extend(b_new)
            pairs = []
            while self.abuf and self.bbuf:
                pairs.append((self.abuf.popleft(), self.bbuf.popleft()))
        else:
            pairs = [(True, v) for v in b_new]
        self.new = [self._frame(i, av, bv) for i, (av, bv) in enumerate(pairs, k)]
        self.emitted = k + len(pairs)

    def _frame(self, k: int, av: bool, bv: bool) -> bool:
        """Read frame ``k``'s operand values; the value at ``k``."""
        ivs = self.ivs
        if not av:
            ivs.clear()
        if bv is not self.nb:
            s, e = k + self.lo, (_INF if self.hi is None else k + self.hi)
            if ivs and ivs[-1][1] >= s - 1:
                if e > ivs[-1][1]:
                    ivs[-1] = (ivs[-1][0], e)
            else:
                ivs.append((s, e))
        while ivs and ivs[0][1] < k:
            ivs.popleft()
        return (bool(ivs) and ivs[0][0] <= k) is not self.nout

    def state_size(self) -> int:
        return len(self.abuf) + len(self.bbuf) + 2 * len(self.ivs)


_INF = float("inf")
_ONE_TRUE = [True]  # the left operand of O / H: true at every frame


def _max_horizon(hs: object) -> int | None:
    m = 0
    for h in hs:  # type: ignore[attr-defined]
        if h is None:
            return None
        m = max(m, h)
    return m


def _plus(h: int | None, k: int) -> int | None:
    return None if h is None else h + k


class StreamingSignal:
    """The satisfaction signal of ``f`` (frame bounds only), computed incrementally.

    ``names`` are the propositions a pushed row gives, in order; ``horizon`` is
    how many frames after frame ``i`` its value is emitted (None when ``f`` has an
    unbounded future operator: then values come when decided, at the latest at
    :meth:`finish`). For past-only formulas the horizon is 0. The horizon is the
    formula's future lookahead: ``hi`` per bounded future operator and 1 per
    ``X``/``N``, nested ones added (an operand of ``U[lo,hi]`` counts as needed
    through ``i + hi``, of ``S`` through ``i``).

    ``early=True`` lets bounded future operators decide a frame before its window
    is complete when no continuation can change it (``F[0,90] b`` once ``b`` is
    seen, ``G[0,90] a`` once ``a`` fails): values then come at most ``horizon``
    frames late instead of exactly, still in frame order and never revised.
    """

    def __init__(self, formula: A.Formula | str, *, fps: float | None = None, early: bool = False) -> None:
        from .compile import as_formula  # the one place formula text is parsed

        f = resolve_time(as_formula(formula), fps)
        self.early = bool(early)
        self.formula = f
        self.names: tuple[str, ...] = atom_names(f)
        self._index = {name: j for j, name in enumerate(self.names)}
        memo: dict[A.Formula, _Node] = {}
        self._nodes: list[_Node] = []  # children before parents
        self._root = self._build(desugar(f), memo)
        self._wire()
        self.horizon = self._root.horizon
        self._n = 0
        self._done = False

    # ------------------------------------------------------------ building
    def _add(self, node: _Node) -> _Node:
        self._nodes.append(node)
        return node

    def _build(self, f: A.Formula, memo: dict[A.Formula, _Node]) -> _Node:
        got = memo.get(f)
        if got is not None:
            return got
        node = self._make(f, memo)
        memo[f] = node
        return node

    def _make(self, f: A.Formula, memo: dict[A.Formula, _Node]) -> _Node:
        def sub(g: A.Formula) -> _Node:
            return self._build(g, memo)

        match f:
            case A.Const(v):
                return self._add(_Const(v))
            case A.Atom(name):
                return self._add(_Input(self._index[name]))
            case A.Not(A.Until(A.Const(True), A.Not(x), bound)) | A.Not(A.Since(A.Const(True), A.Not(x), bound)):
                lo, hi = bound.frames(None)  # G / H: one node with negated operand and result
                if isinstance(f.arg, A.Since):
                    return self._add(_Since(None, sub(x), lo, hi, nb=True, nout=True))
                if hi is not None:
                    return self._add(_BoundedUntil(None, sub(x), lo, hi, nb=True, nout=True, early=self.early))
                if lo == 0:
                    return self._add(_Until(None, sub(x), nb=True, nout=True))
                return self._add(_Not((sub(f.arg),), sub(f.arg).horizon))
            case A.Not(a):
                kid = sub(a)
                return self._add(_Not((kid,), kid.horizon))
            case A.And(args) | A.Or(args):
                return self._add(_Nary(tuple(sub(a) for a in args), isinstance(f, A.And)))
            case A.Next(a):
                return self._add(_Shift(sub(a), 1, False))
            case A.Prev(a):
                return self._add(_Prev(sub(a)))
            case A.Since(a, b, bound):
                lo, hi = bound.frames(None)
                left = None if a == A.TRUE else sub(a)
                return self._add(_Since(left, sub(b), lo, hi))
            case A.Until(a, b, bound):
                lo, hi = bound.frames(None)
                left = None if a == A.TRUE else sub(a)
                if hi is not None:
                    return self._add(_BoundedUntil(left, sub(b), lo, hi, early=self.early))
                if lo == 0:
                    return self._add(_Until(left, sub(b)))
                # a U[lo,inf) b = G[0,lo-1] a & X^lo (a U b): the prefix window is bounded
                head = sub(A.neg(A.Until(A.TRUE, A.neg(a), A.Bound(0, lo - 1))))
                tail = self._add(_Shift(sub(A.Until(a, b)), lo, False))
                return self._add(_Nary((head, tail), True))
        raise InvalidArgument(f"f={f!r} is not a core formula")  # desugar leaves only core nodes

    # ------------------------------------------------------------ streaming
    @property
    def frames(self) -> int:
        """How many frames were pushed."""
        return self._n

    @property
    def emitted(self) -> int:
        """How many frames' values were emitted (they are frames 0 .. emitted-1)."""
        return self._root.emitted

    def push(self, values_row: Sequence[float] | Mapping[str, float]) -> list[tuple[int, bool]]:
        """Read one frame (0/1 values, in ``names`` order or as a mapping name -> value);
        return the ``(frame, value)`` pairs decided by it."""
        if self._done:
            raise InvalidArgument("push() after finish(); call reset() to start a new stream")
        row = self._row(values_row)
        for nd in self._inputs:
            nd.new = [row[nd.column]]
            nd.emitted += 1
        self._n += 1
        return self._step(final=False)

    def finish(self) -> list[tuple[int, bool]]:
        """End the stream: the values of every frame not emitted yet, in order."""
        if self._done:
            return []
        self._done = True
        for nd in self._inputs:
            nd.new = []
        return self._step(final=True)

    def reset(self) -> None:
        """Start a new stream (same formula)."""
        memo: dict[A.Formula, _Node] = {}
        self._nodes = []
        self._root = self._build(desugar(self.formula), memo)
        self._wire()
        self._n = 0
        self._done = False

    def copy(self) -> StreamingSignal:
        """An independent copy of the stream's current state (e.g. to :meth:`finish`
        it and see the prefix's signal while this one goes on)."""
        c = StreamingSignal.__new__(StreamingSignal)
        c.__dict__.update(self.__dict__)
        memo: dict[int, _Node] = {}
        nodes = []
        for nd in self._nodes:
            cn = nd.clone(memo)
            memo[id(nd)] = cn
            nodes.append(cn)
        c._nodes = nodes
        c._root = memo[id(self._root)]
        c._wire()
        return c

    def _wire(self) -> None:
        self._inputs = [nd for nd in self._nodes if isinstance(nd, _Input)]
        self._advancers = [nd.advance for nd in self._nodes if not isinstance(nd, _Input)]

    def state_sizes(self) -> list[tuple[str, int]]:
        """``(node kind, stored values)`` per node: what the stream keeps in memory."""
        return [(type(nd).__name__.lstrip("_"), nd.state_size()) for nd in self._nodes]

    def _step(self, final: bool) -> list[tuple[int, bool]]:
        n = self._n
        for advance in self._advancers:
            advance(n, final)
        root = self._root
        vals = root.new
        if not vals:
            return []
        first = root.emitted - len(vals)
        return list(zip(range(first, root.emitted), vals))

    def _row(self, values_row: Sequence[float] | Mapping[str, float]) -> list[bool]:
        if isinstance(values_row, Mapping):
            try:
                raw = [values_row[name] for name in self.names]
            except KeyError as e:
                raise TraceError(
                    f"frame {self._n} has no value for {e.args[0]!r}; it has {sorted(values_row)}"
                ) from None
        else:
            raw = list(values_row)
            if len(raw) != len(self.names):
                raise InvalidValue(
                    f"values_row={values_row!r} has {len(raw)} values; expected one per name in {list(self.names)}"
                )
        row = []
        for name, v in zip(self.names, raw):
            if v == 1:
                row.append(True)
            elif v == 0:
                row.append(False)
            else:
                raise TraceError(
                    f"frame {self._n}: {name}={v!r} is not 0 or 1; the streaming signal is boolean "
                    "(threshold the probabilities first)"
                )
        return row
