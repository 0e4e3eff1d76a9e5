"""The one error hierarchy of framelogic.

Every error a user can see is a :class:`FramelogicError`; each subclass also
derives from the builtin that fits, so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class FramelogicError(Exception):
    """Base class of every error framelogic raises on purpose."""


class FormulaSyntaxError(FramelogicError, ValueError):
    """A formula or query file does not parse.

    ``str(err)`` is a complete message: where (file:line:column), the offending
    line with a caret under the column, and what to do.
    """

    def __init__(
        self,
        message: str,
        *,
        text: str = "",
        line: int = 0,
        column: int = 0,
        source: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.text = text
        self.line = line
        self.column = column
        self.source = source
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"{self.source or '<formula>'}:{self.line}:{self.column}"
        parts = [f"{where}: {self.message}"]
        if self.text and self.line >= 1:
            lines = self.text.splitlines() or [""]
            if self.line <= len(lines):
                shown, col = lines[self.line - 1], max(self.column - 1, 0)
                if len(shown) > 100:  # keep a window around the column on huge lines
                    start = max(0, col - 50)
                    shown = ("..." if start else "") + shown[start : start + 100] + "..."
                    col = col - start + (3 if start else 0)
                parts.append("    " + shown)
                parts.append("    " + " " * col + "^")
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)


class InvalidArgument(FramelogicError, TypeError):
    """An argument has the wrong type or an impossible value."""


class InvalidValue(FramelogicError, ValueError):
    """An argument or input has a value framelogic cannot use."""


class BoundError(InvalidValue):
    """A time or frame bound ``[lo, hi]`` is not valid (raised by :class:`framelogic.logic.Bound`).

    ``end`` is ``"lo"`` or ``"hi"`` when one end is at fault, ``None`` when the
    pair is (reversed, mixed units), so that the parser can point at it.
    """

    def __init__(self, message: str, end: str | None = None) -> None:
        super().__init__(message)
        self.end = end


class TraceError(FramelogicError, ValueError):
    """A trace table is malformed: wrong shape, missing column, bad value."""


class UnknownRateError(FramelogicError, ValueError):
    """A formula has time bounds (``F[0,2s]``) but no sampling rate is known."""


class AutomatonTooLarge(FramelogicError, MemoryError):
    """Compiling a formula would exceed the configured automaton state limit."""


class InputError(FramelogicError, OSError):
    """A file cannot be read or written: missing, unreadable, corrupt."""


def check_type(name: str, value: object, types: type | tuple[type, ...]) -> None:
    """Raise :class:`InvalidArgument` unless ``value`` is an instance of ``types``."""
    if not isinstance(value, types):
        expected = (
            " or ".join(t.__name__ for t in types) if isinstance(types, tuple) else types.__name__
        )
        raise InvalidArgument(f"{name}={value!r} must be {expected}, not {type(value).__name__}")


def check_probability(name: str, value: float) -> float:
    """Return ``value`` as a float in [0, 1] or raise :class:`InvalidValue`."""
    try:
        p = float(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"{name}={value!r} must be a number in [0, 1]") from None
    if not 0.0 <= p <= 1.0:
        raise InvalidValue(f"{name}={value!r} must be in [0, 1]")
    return p


#: The highest sampling rate framelogic accepts (frames per second). Rates come
#: from users, video headers and time columns; above this they are a mistake
#: (a time column in the wrong unit), and time bounds would become absurd frame counts.
MAX_FPS = 1e6


def check_fps(name: str, value: float) -> float:
    """Return ``value`` as a sampling rate in (0, :data:`MAX_FPS`] or raise :class:`InvalidValue`.

    The one place that decides which rates are valid.
    """
    x = check_positive(name, value)
    if x > MAX_FPS:
        raise InvalidValue(f"{name}={value!r} frames per second is more than the limit {MAX_FPS:g}; check the unit")
    return x


def check_positive(name: str, value: float) -> float:
    """Return ``value`` as a float > 0 or raise :class:`InvalidValue`."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"{name}={value!r} must be a positive number") from None
    if not x > 0.0 or x != x or x == float("inf"):
        raise InvalidValue(f"{name}={value!r} must be a finite number > 0")
    return x
