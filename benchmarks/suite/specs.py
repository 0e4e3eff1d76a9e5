"""The driving specs of the suite, and their text in the peers' languages.

Translations walk the parsed formula (never the text): reelay's and rtamt's
past-time STL for the past-time specs, ltlf2dfa's LTLf for the compile
comparison (bounded ``F`` expanded into nested ``X``, since ltlf2dfa has no
bounds).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from framelogic.logic import ast as A
from framelogic.logic import parse
from framelogic.logic.passes import atom_names, resolve_time


@dataclass(frozen=True)
class Spec:
    name: str  # short label for the tables
    text: str  # framelogic syntax, time bounds in seconds (or frames where said)

    @cached_property
    def formula(self) -> A.Formula:
        return parse(self.text)

    @property
    def atoms(self) -> tuple[str, ...]:
        return atom_names(self.formula)

    @property
    def rules(self) -> tuple[A.Formula, ...]:
        f = self.formula
        return f.args if isinstance(f, A.And) else (f,)

    @property
    def sharing(self) -> str:
        """'single rule', 'disjoint' (no two rules share a proposition) or 'shared'."""
        rules = self.rules
        if len(rules) == 1:
            return "single rule"
        seen: set[str] = set()
        for r in rules:
            names = set(atom_names(r))
            if names & seen:
                return "shared"
            seen |= names
        return "disjoint"

    @property
    def past_time(self) -> bool:
        """Every rule is ``G body`` with a pure-past ``body``: reelay and rtamt can monitor it."""
        return all(isinstance(r, A.Always) and r.bound.is_trivial and is_past(r.arg) for r in self.rules)

    def monitored(self) -> A.Formula:
        """The past-time form ``H body1 & H body2 ...``: at frame i, whether every rule held so far.

        This is what reelay and rtamt compute per sample; framelogic is timed on the
        same formula in the peer comparison, so the outputs can be compared too.
        """
        return A.conj(*[A.H(r.arg) for r in self.rules])


SPECS: tuple[Spec, ...] = (
    Spec("response deadlines", "G (red -> F[0,3s] stopped) & G (ped -> F[0,2s] brake) & G (stop_sign -> F[0,5s] stopped)"),
    Spec("justification (past)", "G (brake -> O[0,1s] (ped | red | car_close)) & G (turn -> H[0,2s] signal)"),
    Spec("since with deadline (past)", "G (moving -> (!red S[0,10s] green)) & G (brake -> O[0,1s] (ped | red | car_close))"),
    Spec("signal around turn (past+future)", "G (turn -> H[0,2s] signal) & G (signal -> F[0,3s] turn)"),
    Spec("delayed window", "G (green -> F[2s,4s] moving)"),
    Spec("nested sequence", "F[0,10s] (ped & F[0,1s] (brake & F[0,500ms] stopped))"),
    Spec("until with deadlines", "G (yellow -> (!accel U[0,3s] red)) & G (red -> (!accel U[0,20s] green))"),
    Spec("8 atoms, 4 rules", "G (red -> F[0,3s] stopped) & G (ped -> F[0,2s] brake) & G (turn -> H[0,2s] signal) & G (horn -> F[0,1s] give_way)"),
    Spec("10 atoms, 5 rules", "G (red -> F[0,3s] stopped) & G (ped -> F[0,2s] brake) & G (brake -> O[0,1s] (ped | red | car_close)) "
         "& G (turn -> H[0,2s] signal) & G (yellow -> (!accel U[0,3s] (red | stop_sign)))"),  # fmt: skip
    Spec("frame bounds", "G (a0 -> F[0,30] b0) & G (a1 -> F[0,30] b1) & G (a2 -> F[0,30] b2)"),
)


# Specs for the compile comparison with ltlf2dfa + MONA (future LTLf only).
def compile_specs(ks: tuple[int, ...] = (10, 100, 1000)) -> list[tuple[str, str, bool]]:
    """``(label, framelogic text, is an 8-atom spec)``; the response bounds ``ks``."""
    p = [f"p{i}" for i in range(1, 9)]
    out = [
        ("F p1 & ... & F p8", " & ".join(f"F {x}" for x in p), True),
        ("G (p1 -> F p2) & ... & G (p7 -> F p8)", " & ".join(f"G ({a} -> F {b})" for a, b in zip(p, p[1:])), True),
        ("(p1 U p2) & (p3 U p4) & (p5 U p6) & (p7 U p8)", " & ".join(f"({a} U {b})" for a, b in zip(p[::2], p[1::2])), True),
        ("G (p1 -> X p2) & ... & G (p7 -> X p8)", " & ".join(f"G ({a} -> X {b})" for a, b in zip(p, p[1:])), True),
    ]
    out += [(f"G (a -> F[0,{k}] b)", f"G (a -> F[0,{k}] b)", False) for k in ks]
    return out


PAST = (A.Prev, A.Since, A.Once, A.Historically)
FUTURE = (A.Next, A.WeakNext, A.Until, A.Release, A.WeakUntil, A.StrongRelease, A.Eventually, A.Always)


def is_past(f: A.Formula) -> bool:
    """No future operator anywhere in ``f``."""
    return not isinstance(f, FUTURE) and all(is_past(c) for c in A.children(f))


# ---------------------------------------------------------------- peers' syntax
def _window(b: A.Bound, sep: str) -> str:
    lo, hi = b.frames(None)
    if hi is None:
        if lo:
            raise ValueError(f"half-open window {b} has no peer translation")
        return ""
    return f"[{lo}{sep}{hi}]"


def to_reelay(f: A.Formula, fps: float | None) -> str:
    """reelay's discrete-time syntax (bounds in frames at ``fps``)."""
    return _past_stl(resolve_time(f, fps), "reelay")


def to_rtamt(f: A.Formula, fps: float | None) -> str:
    """rtamt's discrete-time STL (propositions as ``p > 0.5``; bounds in samples)."""
    return _past_stl(resolve_time(f, fps), "rtamt")


def _past_stl(f: A.Formula, kind: str) -> str:
    def go(g: A.Formula) -> str:
        match g:
            case A.Const(value=v):
                return ("true" if v else "false") if kind == "reelay" else ("(1>0)" if v else "(1<0)")
            case A.Atom(name=n):
                return f"{{{n}}}" if kind == "reelay" else f"({n}>0.5)"
            case A.Not(arg=a):
                return f"not({go(a)})"
            case A.And(args=args):
                return "(" + " and ".join(go(a) for a in args) + ")"
            case A.Or(args=args):
                return "(" + " or ".join(go(a) for a in args) + ")"
            case A.Implies(left=a, right=b):
                return f"({go(a)} implies {go(b)})" if kind == "rtamt" else f"({go(a)} -> {go(b)})"
            case A.Prev(arg=a):
                return f"pre({go(a)})" if kind == "reelay" else f"prev({go(a)})"
            case A.Once(arg=a, bound=b):
                return f"once{_window(b, ':' if kind == 'reelay' else ',')}({go(a)})"
            case A.Historically(arg=a, bound=b):
                return f"historically{_window(b, ':' if kind == 'reelay' else ',')}({go(a)})"
            case A.Since(left=a, right=b, bound=bd):
                return f"({go(a)} since{_window(bd, ':' if kind == 'reelay' else ',')} {go(b)})"
        raise ValueError(f"{type(g).__name__} has no {kind} translation here")

    return go(f)


def to_ltlf(f: A.Formula, fps: float | None = None) -> str:
    """ltlf2dfa's LTLf syntax; ``F[lo,hi] φ`` becomes ``X^lo (φ | X (φ | ...))`` (strong X)."""

    def go(g: A.Formula) -> str:
        match g:
            case A.Const(value=v):
                return "true" if v else "false"
            case A.Atom(name=n):
                return n
            case A.Not(arg=a):
                return f"!({go(a)})"
            case A.And(args=args):
                return "(" + " & ".join(go(a) for a in args) + ")"
            case A.Or(args=args):
                return "(" + " | ".join(go(a) for a in args) + ")"
            case A.Implies(left=a, right=b):
                return f"({go(a)} -> {go(b)})"
            case A.Next(arg=a):
                return f"X({go(a)})"
            case A.WeakNext(arg=a):
                return f"WX({go(a)})"
            case A.Until(left=a, right=b, bound=bd) if bd.is_trivial:
                return f"({go(a)} U {go(b)})"
            case A.Release(left=a, right=b, bound=bd) if bd.is_trivial:
                return f"({go(a)} R {go(b)})"
            case A.Always(arg=a, bound=bd) if bd.is_trivial:
                return f"G({go(a)})"
            case A.Eventually(arg=a, bound=bd):
                if bd.is_trivial:
                    return f"F({go(a)})"
                lo, hi = bd.frames(fps)
                if hi is None:
                    raise ValueError(f"F{bd} has no LTLf expansion here")
                body = go(a)
                text = body
                for _ in range(hi - lo):
                    text = f"({body} | X({text}))"
                for _ in range(lo):
                    text = f"X({text})"
                return text
        raise ValueError(f"{type(g).__name__} has no LTLf translation here")

    return go(resolve_time(f, fps))
