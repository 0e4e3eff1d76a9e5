"""``framelogic check`` as library functions: typed answers about formulas and query files.

:func:`check_formula` and :func:`check_query_file` parse, normalize and analyse
(satisfiable? vacuous? equivalent to another query?) and return a
:class:`FormulaCheck` / :class:`FileCheck`; the CLI only prints them.
A check *passes* (``ok``) when every query is satisfiable and not vacuous.
The plan line says how ``evaluate`` computes the query's probabilities under the
world model the search would use (:func:`describe_world`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from framelogic.logic import ast as A
from framelogic.logic.english import to_english
from framelogic.logic.errors import AutomatonTooLarge, FramelogicError
from framelogic.logic.grammar import Spec, parse_spec
from framelogic.logic.passes import atoms, depth, has_time_bounds, nnf, resolve_time, size
from framelogic.logic.printer import to_text
from framelogic.logic.trace import TraceTable

from .queryfile import PropDecl, QueryFile, load_query_file


@dataclass(frozen=True)
class Analysis:
    """Satisfiability and validity of one formula (under the assumptions)."""

    automaton: str  # "N states, M edges (minimal DFA)" or why it was not built
    witness: TraceTable | None  # a shortest satisfying trace; None: unsatisfiable
    counterexample: TraceTable | None  # a shortest violating trace; None: valid (vacuous)
    max_len: int | None = None  # traces of up to this many frames only (bounded z3 search)
    plan: str = ""  # how evaluate computes exact probabilities (independent parts, closed forms, ...) and in which world

    @property
    def satisfiable(self) -> bool:
        return self.witness is not None

    @property
    def vacuous(self) -> bool:
        return self.satisfiable and self.counterexample is None

    @property
    def ok(self) -> bool:
        return self.satisfiable and not self.vacuous


@dataclass(frozen=True)
class FormulaCheck:
    source: str | None
    spec: Spec
    fps: float | None
    resolved: A.Formula | None  # with time bounds in frames; None when they need an fps
    analysis: Analysis | None
    world: Any = None  # the world model the plan is for (Independent() or Markov(...))

    @property
    def ok(self) -> bool:
        return self.analysis is None or self.analysis.ok

    @property
    def english(self) -> str:
        """The formula read back as structured English."""
        return to_english(self.spec.formula)

    def to_dict(self) -> dict[str, Any]:
        f = self.spec.formula
        return {
            "source": self.source, "formula": str(self.spec), "words": to_text(f, "words"), "english": self.english,
            "nnf": to_text(nnf(f)), "atoms": [a.name for a in atoms(f)], "size": size(f), "depth": depth(f),
            "fps": self.fps, "frames": None if self.resolved is None else to_text(self.resolved),
            "world": _world_dict(self.world), **_analysis_dict(self.analysis), "ok": self.ok,
        }  # fmt: skip


@dataclass(frozen=True)
class QueryCheck:
    name: str
    spec: Spec
    mode: str | None
    threshold: float | None
    analysis: Analysis | None  # None: time bounds and no fps
    words: str | None = None  # the sentence the query was stated in (structured English), if any
    english: str = ""  # the formula read back as structured English
    notes: tuple[str, ...] = ()  # what the translation of ``words`` resolved

    @property
    def ok(self) -> bool:
        return self.analysis is None or self.analysis.ok


@dataclass(frozen=True)
class FileCheck:
    file: QueryFile
    fps: float | None
    queries: tuple[QueryCheck, ...]
    equivalent: tuple[tuple[str, str], ...] = field(default=())  # pairs of queries with one language
    world: Any = None  # the world model a search of the file reads probabilities under

    @property
    def props(self) -> tuple[PropDecl, ...]:
        return tuple(self.file.props.values())

    @property
    def ok(self) -> bool:
        return all(q.ok for q in self.queries)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file.path, "settings": dict(self.file.settings), "fps": self.fps,
            "world": _world_dict(self.world),
            "propositions": [p.name for p in self.props],
            "assumptions": [to_text(a) for a in self.file.assumptions],
            "queries": [{"name": q.name, "formula": str(q.spec), "english": q.english, "mode": q.mode, "threshold": q.threshold,
                         **({"words": q.words, "notes": list(q.notes)} if q.words is not None else {}),
                         **_analysis_dict(q.analysis), "ok": q.ok} for q in self.queries],
            "equivalent": [list(p) for p in self.equivalent], "ok": self.ok,
        }  # fmt: skip


def _world_dict(world: Any) -> dict[str, Any] | None:
    return None if world is None else world.to_dict()


def describe_world(world: Any, names: Sequence[str] | None = None) -> str:
    """One line: ``independent``, or ``markov`` with the persistence, priors and mutex
    groups of ``names`` and their mutex partners (default: every name the world mentions).

    >>> from framelogic.automata.world import Markov
    >>> w = Markov(persist={"red": 2.0, "green": 2.0, "ped": 1.0}, mutex=(frozenset({"red", "green"}),))
    >>> describe_world(w, ["red", "green"])
    'markov (persist 2s; prior 0.5; mutex green|red)'
    >>> describe_world(w, ["red", "ped", "car"])  # green: red's mutex partner, one chain with it
    'markov (persist red 2s, ped 1s, car stay 0.95, green 2s; prior 0.5; mutex green|red)'
    """
    from framelogic.automata.world import Independent, closure

    if world is None or isinstance(world, Independent):
        return "independent"

    def per_name(value: Any) -> dict[str, float]:
        return dict(value) if isinstance(value, dict) else {}

    if names is None:
        names = list(dict.fromkeys([*per_name(world.persist), *per_name(world.stay), *per_name(world.prior)]))
    names = list(closure(list(names), world)) if names else []
    chains: dict[str, str] = {}
    for n in names:
        if n in per_name(world.persist):
            chains[n] = f"persist {world.persist[n]:g}s"
        elif n in per_name(world.stay):
            chains[n] = f"stay {world.stay[n]:.4g}"
        elif world.persist is not None and not isinstance(world.persist, dict):
            chains[n] = f"persist {world.persist:g}s"
        elif not isinstance(world.stay, dict):
            chains[n] = f"stay {world.stay:g}"
        else:
            chains[n] = "no stay"
    priors = {n: (world.prior[n] if isinstance(world.prior, dict) else world.prior) for n in names
              if not isinstance(world.prior, dict) or n in world.prior}  # fmt: skip
    parts = []
    if not names:
        parts.append(f"stay {world.stay:g}" if not isinstance(world.stay, dict) else "stay per proposition")
    elif len(set(chains.values())) == 1:
        parts.append(next(iter(chains.values())))
    else:
        first = {n: c.split(" ", 1) for n, c in chains.items()}
        parts.append("persist " + ", ".join(
            f"{n} {v}" if kind == "persist" else f"{n} {kind} {v}" for n, (kind, v) in first.items()))  # fmt: skip
    if len(set(priors.values())) <= 1:
        parts.append(f"prior {next(iter(priors.values()), world.prior if not isinstance(world.prior, dict) else 0.5):g}")
    else:
        parts.append("prior " + ", ".join(f"{n} {v:.3g}" for n, v in priors.items()))
    parts += ["mutex " + "|".join(sorted(g)) for g in world.mutex if not names or g & set(names)]
    calibrated = sorted(n for n in world.calibration if not names or n in names)
    if calibrated:
        parts.append("calibrated " + ", ".join(calibrated))
    return f"markov ({'; '.join(parts)})"


def _analysis_dict(a: Analysis | None) -> dict[str, Any]:
    if a is None:
        return {"analysed": False}
    return {
        "analysed": True, "plan": a.plan, "automaton": a.automaton, "satisfiable": a.satisfiable, "vacuous": a.vacuous,
        "witness": None if a.witness is None else _rows(a.witness),
        "counterexample": None if a.counterexample is None else _rows(a.counterexample), "max_len": a.max_len,
    }  # fmt: skip


def _rows(t: TraceTable) -> list[dict[str, int]]:
    return [{n: int(t.values[i, j]) for j, n in enumerate(t.names)} for i in range(len(t))]


# When the automaton of a query is too large for an exact answer, satisfiability and
# validity are searched on traces of up to this many frames (z3), and said so.
FALLBACK_LEN = 24


def analyse(
    f: A.Formula, assume: Sequence[A.Formula] = (), *, max_len: int | None = None, world: Any = None
) -> Analysis:
    """Satisfiability and validity of ``f`` (time bounds already in frames): exact, or up to ``max_len`` frames;
    the plan is for ``world`` (default: independent). A formula whose automaton is over the
    budget (it may still evaluate exactly, e.g. by counters) is searched up to
    :data:`FALLBACK_LEN` frames; ``Analysis.max_len`` records the scope either way."""
    automaton, built = _dfa(f)
    if max_len is None and not built:
        max_len = FALLBACK_LEN
    if max_len is None:
        from framelogic.automata import analysis

        witness = analysis.satisfiable(f, assume=assume)
        counter = analysis.valid(f, assume=assume).counterexample if witness is not None else None
    else:
        from framelogic.logic import analysis as bounded

        witness = bounded.satisfiable(f, max_len=max_len, assume=assume)
        counter = bounded.valid(f, max_len=max_len, assume=assume) if witness is not None else None
    return Analysis(automaton, witness, counter, max_len, evaluation_plan(f, world))


def evaluation_plan(f: A.Formula, world: Any = None) -> str:
    """How ``evaluate`` computes exact probabilities for ``f`` (frame bounds) under ``world``."""
    from framelogic.automata import Evaluator
    from framelogic.automata.world import Independent

    if world is not None and not isinstance(world, Independent):
        from framelogic.automata.factor import describe, factor

        from framelogic.logic.passes import atom_names

        return (f"exact: forward-backward over each part's automaton x its hidden chains, parts "
                f"{describe(factor(f))}; world {describe_world(world, atom_names(f))}")  # fmt: skip
    try:
        return Evaluator(f).plan(None).describe() + "; world independent"
    except FramelogicError as e:
        return f"no exact plan ({e})"


def _differ_on_a_sample(
    f: A.Formula, g: A.Formula, assume: Sequence[A.Formula], max_len: int | None, samples: int = 64
) -> bool:
    """True when some random trace meeting the assumptions tells ``f`` and ``g`` apart:
    a proof that they are not equivalent, found without building their product."""
    from framelogic.logic.passes import atom_names
    from framelogic.logic.semantics import satisfaction

    names = tuple(dict.fromkeys([*atom_names(f), *atom_names(g), *(n for a in assume for n in atom_names(a))]))
    rng = np.random.default_rng(0)
    for k in range(samples):
        n = 1 + k % min(12, max_len or 12)  # within the scope asked about
        t = TraceTable(names, rng.integers(0, 2, size=(n, len(names))).astype(float))
        if all(satisfaction(a, t)[0] for a in assume) and satisfaction(f, t)[0] != satisfaction(g, t)[0]:
            return True
    return False


def equivalent(f: A.Formula, g: A.Formula, assume: Sequence[A.Formula] = (), *, max_len: int | None = None) -> bool:
    if _differ_on_a_sample(f, g, assume, max_len):
        return False
    if max_len is None:
        from framelogic.automata import analysis

        try:
            return bool(analysis.equivalent(f, g, assume=assume))
        except AutomatonTooLarge:
            return False  # not claimed: their product is too large to prove it
    from framelogic.logic import analysis as bounded

    return bounded.equivalent(f, g, max_len=max_len, assume=assume) is None


def _dfa(f: A.Formula) -> tuple[str, bool]:
    """The minimal DFA's size (or why it was not built), and whether it was built."""
    from framelogic.automata import compile

    try:
        d = compile(f)
    except AutomatonTooLarge as e:
        return f"not built ({e}); satisfiability searched on traces of up to {FALLBACK_LEN} frames", False
    except FramelogicError as e:
        return f"not built ({e})", False
    return f"{d.n_states} states, {len(d.edges())} edges (minimal DFA)", True


def check_formula(
    text: str, *, source: str | None = None, fps: float | None = None, assume: Sequence[str] = (),
    max_len: int | None = None, world: Any = None, persist: float | None = None,
) -> FormulaCheck:
    """Parse and analyse one formula (``source`` names its file in errors); the plan is
    for the world a search with ``world`` / ``persist`` would use."""
    from .search import Query

    spec = parse_spec(text, source=source)
    w = Query.from_formula(spec).options(world=world, persist=persist).world
    assumptions = [parse_spec(a, source="--assume").formula for a in assume]
    f = spec.formula
    if has_time_bounds(f) and fps is None:
        return FormulaCheck(source, spec, fps, None, None, w)
    f = resolve_time(f, fps)
    assumptions = [resolve_time(a, fps) for a in assumptions]
    return FormulaCheck(source, spec, fps, f, analyse(f, assumptions, max_len=max_len, world=w), w)


def check_query_file(
    path: str, *, fps: float | None = None, max_len: int | None = None, world: Any = None, persist: float | None = None
) -> FileCheck:
    """Analyse every query of a ``.tl`` file under its assumptions (``fps``: else the file's
    ``set fps``); plans are for the world a search of the file would use (its ``set world``,
    persistence and mutex groups, or ``world`` / ``persist``)."""
    from .search import Query

    qf = load_query_file(path)
    w = Query(qf).options(world=world, persist=persist).world
    fps = fps if fps is not None else qf.settings.get("fps")  # type: ignore[assignment]
    assume = [resolve_time(a, fps) for a in qf.assumptions]
    checks: list[QueryCheck] = []
    resolved: dict[str, A.Formula] = {}
    for q in qf.queries:
        analysis = None
        if not (has_time_bounds(q.formula) and fps is None):
            f = resolve_time(q.formula, fps)
            resolved[q.name] = f
            analysis = analyse(f, assume, max_len=max_len, world=w)
        english = q.english or to_english(q.formula)
        checks.append(QueryCheck(q.name, q.spec, q.mode, q.threshold, analysis, q.words, english, q.notes))
    names = list(resolved)
    same = tuple(
        (a, b) for i, a in enumerate(names) for b in names[i + 1 :] if equivalent(resolved[a], resolved[b], assume, max_len=max_len)
    )
    return FileCheck(qf, fps, tuple(checks), same, w)
