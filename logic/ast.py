"""The formula AST: a small closed set of frozen nodes.

Core nodes (every backend handles only these, after :func:`desugar`):
``Const Atom Not And Or Next Until Prev Since``.
Derived nodes (kept so that printing and explanation read like the input):
``Implies Iff WeakNext Eventually Always Release WeakUntil StrongRelease Once
Historically``.

Build formulas with the smart constructors (``conj``, ``disj``, ``neg``, ...), the
operator functions (``F(a, lo=0, hi=30)``, ``U(a, b)``, ...) or Python operators
(``a & b``, ``a | b``, ``~a``, ``a >> b``); they normalize as they build: n-ary
``&``/``|`` are flattened and deduplicated, identities are dropped, ``!!a`` is
``a`` and constants fold. The node constructors themselves do not normalize.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Union

from .errors import BoundError, InvalidArgument, InvalidValue, UnknownRateError, check_fps
from .lexical import format_bound_end, is_identifier, parse_duration

# --------------------------------------------------------------------------- bounds

#: The largest finite bound: a billion frames (over a year of video at 30 fps) or
#: a billion seconds. Larger numbers are mistakes, overflow downstream, and print
#: as hundreds of digits; write ``inf`` for "no limit".
MAX_BOUND_FRAMES = 10**9
MAX_BOUND_SECONDS = 1e9


@dataclass(frozen=True, slots=True)
class Bound:
    """A window ``[lo, hi]`` relative to the current frame.

    ``unit`` is ``"frames"`` (integers) or ``"s"`` (seconds, floats); ``hi=None`` is
    infinity. Time bounds become frame bounds with :func:`framelogic.logic.resolve_time`
    once the sampling rate is known: offsets ``k`` with ``lo <= k/fps <= hi``.

    ``Bound`` is the one place that decides which bounds are valid (the parser,
    the operator functions ``F(a, 0, '2s')`` and ``resolve_time`` all build one);
    its errors are :class:`BoundError` naming the end at fault.
    """

    lo: float = 0
    hi: float | None = None
    unit: str = "frames"

    def __post_init__(self) -> None:
        if self.unit not in ("frames", "s"):
            raise InvalidValue(f"unit={self.unit!r} must be 'frames' or 's'")
        limit = MAX_BOUND_FRAMES if self.unit == "frames" else MAX_BOUND_SECONDS
        for name, x in (("lo", self.lo), ("hi", self.hi)):
            if x is None:
                if name == "lo":
                    raise BoundError("the lower end of a bound cannot be inf; write [n,inf]", "lo")
                continue
            if isinstance(x, bool) or not isinstance(x, numbers.Real):
                raise InvalidArgument(f"{name}={x!r} must be a number")
            if not x <= limit:  # also NaN, and ints too large for a float
                raise BoundError(
                    f"bound end {name}={x!r} is too large: the limit is {limit:g} {self.unit}; "
                    "write inf for no upper limit",
                    name,
                )
            if x < 0:
                raise BoundError(f"bound {self._text()} must not be negative", name)
        if self.hi is not None and self.hi < self.lo:
            raise BoundError(
                f"bound {self._text()} is reversed (lower end above upper end); "
                f"write [{format_bound_end(self.hi, self.unit)},{format_bound_end(self.lo, self.unit)}]"
            )
        if self.hi is None and self.lo == 0:
            object.__setattr__(self, "unit", "frames")  # [0,inf) is the same in any unit
        if self.unit == "frames":
            for name, x in (("lo", self.lo), ("hi", self.hi)):
                if x is not None and x != int(x):
                    raise BoundError(
                        f"frame bound {self._text()} must be whole frames; "
                        "add a unit such as 's' or 'ms' for time",
                        name,
                    )
            object.__setattr__(self, "lo", int(self.lo))
            if self.hi is not None:
                object.__setattr__(self, "hi", int(self.hi))

    @classmethod
    def of(
        cls, lo: float | str | None = None, hi: float | str | None = None, unit: str | None = None
    ) -> Bound:
        """A bound from user input: each end a number (frames, or ``unit``), a string
        such as ``'30'``, ``'2.5s'``, ``'500ms'`` or ``'inf'``, or ``None`` (lower end
        0, upper end no limit). Both ends must be in one unit (a zero or ``inf`` end
        written without a unit fits either)."""
        ends: list[float | None] = []
        units: set[str] = set()
        for name, v in (("lo", lo), ("hi", hi)):
            if v is None:
                v, u = (0, None) if name == "lo" else (None, None)
            elif isinstance(v, str):
                try:
                    v, u = parse_duration(v)
                except InvalidArgument as e:
                    raise BoundError(str(e), name) from None
            elif isinstance(v, numbers.Real) and not isinstance(v, bool):
                u = unit
                if math.isinf(v) and v > 0:
                    v = None
            else:
                raise InvalidArgument(f"{name}={v!r} must be a number of frames or a duration like '2s'")
            if v is None and name == "lo":
                raise BoundError("the lower end of a bound cannot be inf; write [n,inf]", "lo")
            if u is not None and (v not in (0, None) or u == "s"):
                units.add(u)
            elif u is None and v not in (0, None):
                units.add("frames")
            ends.append(v)
        if len(units) > 1:
            shown = ",".join("" if x is None and n == "lo" else str(x) for n, x in (("lo", lo), ("hi", hi)))
            raise BoundError(
                f"bound [{shown}] mixes frames and seconds; give both ends in one unit, e.g. [0,2s] or [0,60]"
            )
        return cls(ends[0], ends[1], units.pop() if units else (unit or "frames"))

    def _text(self) -> str:
        return f"[{format_bound_end(self.lo, self.unit)},{format_bound_end(self.hi, self.unit)}]"

    @property
    def is_trivial(self) -> bool:
        """``[0, inf)`` in any unit: the same as no bound at all."""
        return self.lo == 0 and self.hi is None

    def frames(self, fps: float | None) -> tuple[int, int | None]:
        """``(lo, hi)`` in frames; needs ``fps`` for time bounds."""
        if self.unit == "frames":
            return int(self.lo), None if self.hi is None else int(self.hi)
        if fps is None:
            raise UnknownRateError(
                f"the bound {self} is in seconds but no sampling rate is known; "
                "pass fps=... (or --fps on the command line), or use frame bounds"
            )
        fps = check_fps("fps", fps)
        eps = 1e-9
        lo = math.ceil(self.lo * fps - eps)
        hi = None if self.hi is None else math.floor(self.hi * fps + eps)
        if max(lo, hi or 0) > MAX_BOUND_FRAMES:
            raise BoundError(
                f"the bound {self} is {max(lo, hi or 0)} frames at {fps:g} fps, more than the "
                f"limit {MAX_BOUND_FRAMES} frames; shorten it or sample slower"
            )
        if hi is not None and hi < lo:
            raise BoundError(
                f"the bound {self} contains no frame at {fps:g} fps; widen it or sample faster"
            )
        return lo, hi

    def __str__(self) -> str:
        return self._text()


UNBOUNDED = Bound()

# --------------------------------------------------------------------------- core nodes


@dataclass(frozen=True, slots=True)
class Const:
    """``true`` or ``false``."""

    value: bool


@dataclass(frozen=True, slots=True)
class Atom:
    """A proposition. ``quoted`` atoms are inline prompts (``"a red light"``)."""

    name: str
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class Not:
    arg: Formula


@dataclass(frozen=True, slots=True)
class And:
    args: tuple[Formula, ...]


@dataclass(frozen=True, slots=True)
class Or:
    args: tuple[Formula, ...]


@dataclass(frozen=True, slots=True)
class Next:
    """Strong next ``X``: there is a next frame and ``arg`` holds there."""

    arg: Formula


@dataclass(frozen=True, slots=True)
class Until:
    """``left U[lo,hi] right``: right at some j in the window, left on [i, j)."""

    left: Formula
    right: Formula
    bound: Bound = UNBOUNDED


@dataclass(frozen=True, slots=True)
class Prev:
    """Strong previous ``Y``: there is a previous frame and ``arg`` held there."""

    arg: Formula


@dataclass(frozen=True, slots=True)
class Since:
    """``left S[lo,hi] right``: right at some j in the past window, left on (j, i]."""

    left: Formula
    right: Formula
    bound: Bound = UNBOUNDED


# --------------------------------------------------------------------------- derived nodes


@dataclass(frozen=True, slots=True)
class Implies:
    left: Formula
    right: Formula


@dataclass(frozen=True, slots=True)
class Iff:
    left: Formula
    right: Formula


@dataclass(frozen=True, slots=True)
class WeakNext:
    """Weak next ``N``/``WX``: true on the last frame, else ``arg`` at the next one."""

    arg: Formula


@dataclass(frozen=True, slots=True)
class Eventually:
    arg: Formula
    bound: Bound = UNBOUNDED


@dataclass(frozen=True, slots=True)
class Always:
    arg: Formula
    bound: Bound = UNBOUNDED


@dataclass(frozen=True, slots=True)
class Release:
    left: Formula
    right: Formula
    bound: Bound = UNBOUNDED


@dataclass(frozen=True, slots=True)
class WeakUntil:
    left: Formula
    right: Formula
    bound: Bound = UNBOUNDED


@dataclass(frozen=True, slots=True)
class StrongRelease:
    left: Formula
    right: Formula
    bound: Bound = UNBOUNDED


@dataclass(frozen=True, slots=True)
class Once:
    arg: Formula
    bound: Bound = UNBOUNDED


@dataclass(frozen=True, slots=True)
class Historically:
    arg: Formula
    bound: Bound = UNBOUNDED


Formula = Union[
    Const, Atom, Not, And, Or, Next, Until, Prev, Since,
    Implies, Iff, WeakNext, Eventually, Always, Release, WeakUntil, StrongRelease,
    Once, Historically,
]  # fmt: skip

CORE_TYPES = (Const, Atom, Not, And, Or, Next, Until, Prev, Since)
UNARY_TEMPORAL = (Next, WeakNext, Prev, Eventually, Always, Once, Historically)
BINARY_TEMPORAL = (Until, Release, WeakUntil, StrongRelease, Since)
NODE_TYPES = CORE_TYPES + (
    Implies, Iff, WeakNext, Eventually, Always, Release, WeakUntil, StrongRelease, Once, Historically,
)  # fmt: skip

TRUE = Const(True)
FALSE = Const(False)


def children(f: Formula) -> tuple[Formula, ...]:
    """The direct subformulas of ``f``, left to right."""
    match f:
        case Const() | Atom():
            return ()
        case And(args) | Or(args):
            return args
        case Not(a) | Next(a) | Prev(a) | WeakNext(a) | Eventually(a) | Always(a) | Once(a) | Historically(a):
            return (a,)
        case _:
            return (f.left, f.right)  # type: ignore[union-attr]


def is_formula(x: object) -> bool:
    return isinstance(x, NODE_TYPES)


# --------------------------------------------------------------------------- smart constructors


def _check(name: str, f: object) -> Formula:
    if isinstance(f, bool):
        return TRUE if f else FALSE
    if isinstance(f, str):
        return atom(f)
    if not isinstance(f, NODE_TYPES):
        raise InvalidArgument(f"{name}={f!r} is not a formula; build one with atom('...') or parse('...')")
    return f  # type: ignore[return-value]


def _bound(lo: float | str | None, hi: float | str | None, unit: str | None) -> Bound:
    """Build a bound from ``lo``/``hi`` numbers (frames) or strings like ``'2.5s'``."""
    return Bound.of(lo, hi, unit)


def atom(name: str, *, quoted: bool | None = None) -> Atom:
    """A proposition; names that are not identifiers are inline prompts (quoted)."""
    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"name={name!r} must be a non-empty string")
    if quoted is None:
        quoted = not is_identifier(name)
    return Atom(name, quoted)


def neg(f: Formula) -> Formula:
    f = _check("f", f)
    match f:
        case Const(v):
            return Const(not v)
        case Not(a):
            return a
    return Not(f)


def _nary(cls: type, unit: Const, zero: Const, args: tuple) -> Formula:
    flat: list[Formula] = []
    seen: set[Formula] = set()
    for a in args:
        a = _check("arg", a)
        parts = a.args if isinstance(a, cls) else (a,)
        for p in parts:
            if p == zero:
                return zero
            if p == unit or p in seen:
                continue
            seen.add(p)
            flat.append(p)
    for p in flat:  # complementary pair: a & !a = false, a | !a = true
        if isinstance(p, Not) and p.arg in seen:
            return zero
    if not flat:
        return unit
    if len(flat) == 1:
        return flat[0]
    return cls(tuple(flat))


def conj(*args: Formula) -> Formula:
    """``a & b & ...`` flattened, deduplicated, with ``true`` dropped."""
    return _nary(And, TRUE, FALSE, args)


def disj(*args: Formula) -> Formula:
    """``a | b | ...`` flattened, deduplicated, with ``false`` dropped."""
    return _nary(Or, FALSE, TRUE, args)


def implies(a: Formula, b: Formula) -> Formula:
    a, b = _check("a", a), _check("b", b)
    if a == TRUE:
        return b
    if a == FALSE or b == TRUE:
        return TRUE
    if b == FALSE:
        return neg(a)
    return Implies(a, b)


def iff(a: Formula, b: Formula) -> Formula:
    a, b = _check("a", a), _check("b", b)
    if a == b:
        return TRUE
    for x, y in ((a, b), (b, a)):
        if x == TRUE:
            return y
        if x == FALSE:
            return neg(y)
    return Iff(a, b)


def X(a: Formula) -> Formula:
    """Strong next: false on the last frame."""
    a = _check("a", a)
    return FALSE if a == FALSE else Next(a)


def N(a: Formula) -> Formula:
    """Weak next: true on the last frame."""
    a = _check("a", a)
    return TRUE if a == TRUE else WeakNext(a)


def Y(a: Formula) -> Formula:
    """Strong previous (yesterday): false on the first frame."""
    a = _check("a", a)
    return FALSE if a == FALSE else Prev(a)


def temporal(cls: type, *args: Formula, bound: Bound = UNBOUNDED) -> Formula:
    """Build a bounded temporal node of type ``cls``, folding only what is constant
    under every bound (``F false = false``, ``G true = true``, ``a U false = false`` ...)."""
    args = tuple(_check("arg", a) for a in args)
    if cls in (Eventually, Once):
        return FALSE if args[0] == FALSE else cls(args[0], bound)
    if cls in (Always, Historically):
        return TRUE if args[0] == TRUE else cls(args[0], bound)
    left, right = args
    if cls in (Until, Since):
        return FALSE if right == FALSE else cls(left, right, bound)
    if cls is Release:
        return TRUE if right == TRUE else cls(left, right, bound)
    if cls is WeakUntil:
        return TRUE if left == TRUE else cls(left, right, bound)
    if cls is StrongRelease:
        return FALSE if left == FALSE else cls(left, right, bound)
    raise InvalidArgument(f"cls={cls!r} is not a bounded temporal operator")


def F(a: Formula, lo: float | str | None = 0, hi: float | str | None = None, *, unit: str | None = None) -> Formula:
    """Eventually, within ``[lo, hi]`` frames ahead (``unit='s'`` or ``'2s'`` for seconds)."""
    return temporal(Eventually, a, bound=_bound(lo, hi, unit))


def G(a: Formula, lo: float | str | None = 0, hi: float | str | None = None, *, unit: str | None = None) -> Formula:
    """Always, within ``[lo, hi]`` frames ahead (vacuously true past the trace end)."""
    return temporal(Always, a, bound=_bound(lo, hi, unit))


def O(a: Formula, lo: float | str | None = 0, hi: float | str | None = None, *, unit: str | None = None) -> Formula:  # noqa: E743
    """Once, within ``[lo, hi]`` frames back."""
    return temporal(Once, a, bound=_bound(lo, hi, unit))


def H(a: Formula, lo: float | str | None = 0, hi: float | str | None = None, *, unit: str | None = None) -> Formula:
    """Historically, within ``[lo, hi]`` frames back."""
    return temporal(Historically, a, bound=_bound(lo, hi, unit))


def U(a: Formula, b: Formula, lo: float | str | None = 0, hi: float | str | None = None, *, unit: str | None = None) -> Formula:
    """Strong until: ``b`` at some frame of the window, ``a`` at every frame before it."""
    return temporal(Until, a, b, bound=_bound(lo, hi, unit))


def R(a: Formula, b: Formula, lo: float | str | None = 0, hi: float | str | None = None, *, unit: str | None = None) -> Formula:
    """Release: ``b`` at every frame of the window up to and including the first ``a``."""
    return temporal(Release, a, b, bound=_bound(lo, hi, unit))


def W(a: Formula, b: Formula, lo: float | str | None = 0, hi: float | str | None = None, *, unit: str | None = None) -> Formula:
    """Weak until: ``(a U b) | G a`` over the same window."""
    return temporal(WeakUntil, a, b, bound=_bound(lo, hi, unit))


def M(a: Formula, b: Formula, lo: float | str | None = 0, hi: float | str | None = None, *, unit: str | None = None) -> Formula:
    """Strong release: ``(a R b) & F a`` over the same window."""
    return temporal(StrongRelease, a, b, bound=_bound(lo, hi, unit))


def S(a: Formula, b: Formula, lo: float | str | None = 0, hi: float | str | None = None, *, unit: str | None = None) -> Formula:
    """Since: ``b`` at some frame of the past window, ``a`` at every frame after it up to now."""
    return temporal(Since, a, b, bound=_bound(lo, hi, unit))


# Python operators on every node: a & b, a | b, ~a, a >> b (implies).
def _and(self: Formula, other: Formula) -> Formula:
    return conj(self, other)


def _rand(self: Formula, other: Formula) -> Formula:
    return conj(other, self)


def _or(self: Formula, other: Formula) -> Formula:
    return disj(self, other)


def _ror(self: Formula, other: Formula) -> Formula:
    return disj(other, self)


def _invert(self: Formula) -> Formula:
    return neg(self)


def _rshift(self: Formula, other: Formula) -> Formula:
    return implies(self, other)


for _cls in NODE_TYPES:
    _cls.__and__ = _and  # type: ignore[attr-defined]
    _cls.__rand__ = _rand  # type: ignore[attr-defined]
    _cls.__or__ = _or  # type: ignore[attr-defined]
    _cls.__ror__ = _ror  # type: ignore[attr-defined]
    _cls.__invert__ = _invert  # type: ignore[attr-defined]
    _cls.__rshift__ = _rshift  # type: ignore[attr-defined]
del _cls
