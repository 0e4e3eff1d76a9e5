"""Shared pieces of the fuzz suite: example counts by profile, and string mutations.

``HYPOTHESIS_PROFILE=ci`` (set by .ci/run) runs the counts issue 11 asks of CI
(formulas >= 20,000, ``.tl`` files >= 5,000); ``dev`` (the default) runs a few
hundred so a local loop stays quick. Counts are per test, not global, because
the fuzz tests' examples cost a fraction of a millisecond where the rest of the
suite's cost seconds.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")


def fuzz_settings(*, ci: int, dev: int) -> settings:
    """Settings with ``ci`` examples under the ci profile, else ``dev``.

    No example database: a fuzz run explores; a failure is reproduced from the
    printed blob (``print_blob``) instead.
    """
    return settings(
        max_examples=ci if PROFILE == "ci" else dev,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
    )


#: Characters a mutation inserts: the grammar's punctuation, digits, units,
#: quotes and escapes, whitespace, a comment sign, NUL, a BOM, and non-ASCII.
NASTY = list("()[],.!&|-<>=?\"'\\#_ \t\n\r0123456789eEsmin") + [
    "\0", "\ufeff", "\u00e9", "\u2028", "\U0001f600", "\u0663", "\x85", "\x0c",
]  # fmt: skip

#: Whole pieces a mutation inserts: operators, keywords and numbers at the edges.
PIECES = [
    "&", "|", "->", "<->", "!", "X", "N", "WX", "Y", "F", "G", "O", "H", "U", "R", "W", "M", "S",
    "P>=0.5 [", "P=? [", "]", "[0,", "[,", ",inf]", "1e400", "1e308", "99999999999999999999", "0.5s",
    "1e400s", "1e-400", "inf", "nan", "-1", "ms", "min", "true", "false", "\"\"", "''", "\"a\\\"b\"",
    "#", "\n",
]  # fmt: skip
#: Pieces past the nesting limit (200): a mutation inserts one now and then.
BIG_PIECES = ["X " * 201, "(" * 210, ")" * 210, "!X" * 101, " & a" * 50]


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[str], *, max_edits: int = 4) -> str:
    """``base`` with a few characters or pieces inserted, deleted or replaced."""
    text = draw(base)
    for _ in range(draw(st.integers(0, max_edits))):
        kind = draw(st.sampled_from(["insert", "piece", "delete", "replace", "duplicate"]))
        i = draw(st.integers(0, len(text)))
        if kind == "insert":
            text = text[:i] + draw(st.sampled_from(NASTY)) + text[i:]
        elif kind == "piece":
            pool = PIECES + BIG_PIECES if draw(st.integers(0, 9)) == 9 else PIECES  # big ones are costly
            text = text[:i] + draw(st.sampled_from(pool)) + text[i:]
        elif kind == "delete" and text:
            j = draw(st.integers(i, min(len(text), i + 3)))
            text = text[:i] + text[j:]
        elif kind == "replace" and i < len(text):
            text = text[:i] + draw(st.sampled_from(NASTY)) + text[i + 1 :]
        elif kind == "duplicate" and text:
            j = draw(st.integers(i, min(len(text), i + 200)))
            text = text[:i] + text[i:j] * 2 + text[j:]
    return text


def formula_pool(atoms: tuple[str, ...], *, size: int = 3000, seed: int = 11) -> list[str]:
    """``size`` well-formed formula texts built from the AST with a seeded generator.

    Drawing formulas through hypothesis's recursive strategies costs tens of
    milliseconds an example; sampling from a fixed pool (and mutating the sample)
    keeps a fuzz example under a few milliseconds, which is what lets CI run
    tens of thousands of them.
    """
    import random

    from framelogic.logic import ast as A
    from framelogic.logic.printer import to_text

    rng = random.Random(seed)
    unary = [A.neg, A.X, A.N, A.Y, A.F, A.G, A.O, A.H]
    binary = [A.U, A.R, A.W, A.M, A.S]
    nary = [A.conj, A.disj, A.implies, A.iff]

    def bound() -> dict:
        r = rng.random()
        if r < 0.4:
            return {}
        if r < 0.7:
            lo = rng.choice([0, 0, 1, 3, 30, 10**9])
            return {"lo": lo, "hi": rng.choice([None, lo, min(lo + 5, 10**9), 10**9])}
        unit = rng.choice(["s", "ms", "min"])
        lo = rng.choice([0, 0.5, 2])
        return {"lo": f"{lo}{unit}", "hi": rng.choice(["inf", f"{lo + 1.5}{unit}", f"{lo}{unit}"])}

    def build(depth: int) -> A.Formula:
        if depth == 0 or rng.random() < 0.25:
            return A.atom(rng.choice(atoms)) if rng.random() < 0.9 else rng.choice([A.TRUE, A.FALSE])
        r = rng.random()
        if r < 0.35:
            op = rng.choice(unary)
            return op(build(depth - 1), **bound()) if op in (A.F, A.G, A.O, A.H) else op(build(depth - 1))
        if r < 0.6:
            return rng.choice(binary)(build(depth - 1), build(depth - 1), **bound())
        op = rng.choice(nary)
        if op in (A.conj, A.disj):
            return op(*[build(depth - 1) for _ in range(rng.randint(2, 4))])
        return op(build(depth - 1), build(depth - 1))

    return [to_text(build(rng.randint(1, 5)), rng.choice(["symbols", "words"])) for _ in range(size)]
