"""``explain`` and ``monitor`` as library functions returning typed values.

:func:`explain` answers "why did this event match (or why did none)?": the
automaton's run over the frames from the event's start until the verdict is
decided, each frame's propositions read at the query's threshold (or the
proposition's own ``threshold``), the frames whose letter moved the automaton
(the deciding frames) and the exact probability that the query holds from
each frame. :func:`monitor` follows one query frame by frame and yields the
verdict whenever it changes.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from framelogic.logic import ast as A
from framelogic.logic.errors import InputError
from framelogic.logic.passes import resolve_time
from framelogic.logic.printer import to_text
from framelogic.logic.trace import TraceTable

from .results import Match
from .search import Query, SearchOptions, query_mode, query_spec, query_threshold


@dataclass(frozen=True)
class Step:
    """One frame of the explanation."""

    frame: int
    time: float | None
    probabilities: Mapping[str, float]  # each proposition's probability at this frame
    letter: Mapping[str, bool]  # each proposition read at its threshold
    holds: float  # P(the query holds from this frame)
    in_event: bool
    state: int | None  # the automaton's state after this frame (None: before the run starts)
    accepting: bool | None  # is the prefix read so far (from the event's start) accepted?
    guard: str | None  # the guard of the transition taken, when it changed the state
    deciding: bool  # this frame's letter moved the automaton

    def to_dict(self) -> dict[str, Any]:
        return {
            "frame": self.frame, "time": self.time, "probabilities": dict(self.probabilities),
            "letter": dict(self.letter), "holds": self.holds, "in_event": self.in_event, "state": self.state,
            "accepting": self.accepting, "guard": self.guard, "deciding": self.deciding,
        }  # fmt: skip


@dataclass(frozen=True)
class Explanation:
    query: str
    formula: str  # with time bounds in frames
    threshold: float | None  # the query's threshold on P(holds); None for P=?
    negated: bool  # P<=p [φ]: the events are where !φ holds
    mode: str
    prop_thresholds: Mapping[str, float]  # the threshold each proposition is read at
    event: Match | None  # None: no event
    index: int  # which event
    events: int  # how many events the query has
    states: int  # automaton states
    steps: tuple[Step, ...]  # context before, then the run from the event's start
    decided_at: int | None  # the frame after which the verdict cannot change (None: open at the end)
    best: tuple[tuple[int, float], ...] = ()  # with no event: the frames where P(holds) is highest

    @property
    def deciding_frames(self) -> tuple[int, ...]:
        return tuple(s.frame for s in self.steps if s.deciding)

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query, "formula": self.formula, "threshold": self.threshold, "negated": self.negated,
            "mode": self.mode, "prop_thresholds": dict(self.prop_thresholds),
            "event": None if self.event is None else self.event.to_dict(), "index": self.index,
            "events": self.events, "states": self.states, "decided_at": self.decided_at,
            "deciding_frames": list(self.deciding_frames), "steps": [s.to_dict() for s in self.steps],
            "best": [list(b) for b in self.best],
        }  # fmt: skip


def explain(
    query: Query,
    source: Any,
    *,
    name: str,
    event: int = 0,
    context: int = 3,
    options: SearchOptions | None = None,
    probabilities: TraceTable | None = None,
    **given: Any,
) -> Explanation:
    """Explain event ``event`` of query ``name`` in ``source`` (or why it has none)."""
    from framelogic.automata import compile, evaluate

    opts = query.options(options, **given)
    decl = query.file.query(name)
    probs = probabilities if probabilities is not None else query.probabilities(source, query=[name], options=opts)
    found = query.search_table(probs, query=[name], video=str(source), options=opts)
    threshold, negate = query_threshold(decl, opts)
    body = A.neg(decl.formula) if negate else decl.formula
    f = resolve_time(body, probs.rate)
    sig = evaluate(f, probs)
    read_at = threshold if threshold is not None else opts.default_threshold
    prop_thr = {
        n: (query.file.props[n].threshold if n in query.file.props and query.file.props[n].threshold is not None else read_at)
        for n in probs.names
        if n in {a for a in _atoms(f)}
    }
    dfa = compile(f)
    common = dict(query=name, formula=to_text(f), threshold=threshold, negated=negate, mode=query_mode(decl, opts),
                  prop_thresholds=prop_thr, states=dfa.n_states, events=len(found))  # fmt: skip
    if not found:
        top = tuple((int(i), float(sig[i])) for i in np.argsort(-sig, kind="stable")[:3])
        return Explanation(event=None, index=event, steps=(), decided_at=None, best=top, **common)  # type: ignore[arg-type]
    if not 0 <= event < len(found):
        raise InputError(f"--event {event}: query {name!r} has {len(found)} events (0..{len(found) - 1})")
    m = found[event]
    names = dfa.atoms
    cols = {n: probs.column(n) for n in names}
    sinks = np.all(dfa.delta == np.arange(dfa.n_states)[:, None], axis=1)
    steps: list[Step] = []
    for i in range(max(0, m.start - context), m.start):
        steps.append(_step(i, probs, cols, prop_thr, sig, m, None, None, None, False))
    q = dfa.initial
    decided = None
    i = m.start
    while i < len(probs):
        letter = sum(1 << j for j, n in enumerate(names) if cols[n][i] >= prop_thr[n])
        nq = int(dfa.delta[q, letter])
        guard = to_text(dfa.guard(q, nq)) if nq != q else None
        steps.append(_step(i, probs, cols, prop_thr, sig, m, nq, bool(dfa.accepting[nq]), guard, nq != q))
        q = nq
        if sinks[q] and decided is None:
            decided = i
        if i >= m.end and (decided is not None or i >= m.end + context):
            break
        i += 1
    return Explanation(event=m, index=event, steps=tuple(steps), decided_at=decided, **common)  # type: ignore[arg-type]


def _atoms(f: A.Formula) -> list[str]:
    from framelogic.logic.passes import atom_names

    return list(atom_names(f))


def _step(i, probs, cols, thr, sig, m, state, accepting, guard, deciding) -> Step:  # type: ignore[no-untyped-def]
    return Step(
        i, probs.time_of(i), {n: float(c[i]) for n, c in cols.items()}, {n: bool(c[i] >= thr[n]) for n, c in cols.items()},
        float(sig[i]), m.start <= i <= m.end, state, accepting, guard, deciding,
    )  # fmt: skip


# --------------------------------------------------------------------- monitor


@dataclass(frozen=True)
class Change:
    """The verdict after ``frame`` (reported when it changes)."""

    frame: int
    time: float | None
    verdict: str  # satisfied, violated, presumably satisfied, presumably violated
    probability: float  # P(the prefix so far satisfies the query); with bounds, their lower end
    bounds: tuple[float, float] | None = None  # approx="bounds": certified (lower, upper) of that probability

    def to_dict(self) -> dict[str, Any]:
        out = {"frame": self.frame, "time": self.time, "verdict": self.verdict, "probability": self.probability}
        return out if self.bounds is None else {**out, "bounds": list(self.bounds)}


def monitor(
    query: Query, source: Any, *, name: str | None = None, options: SearchOptions | None = None,
    confidence: float | None = None, approx: str | None = None, **given: Any,
) -> Iterator[Change]:
    """Follow one query over ``source`` (a video, a table, or an iterable of rows) frame by frame.

    Rows are mappings ``name -> probability`` (with an optional ``time``); a
    column proposition also reads its column. The verdicts are those of
    :class:`~framelogic.automata.Monitor` under the options' world model (see
    :func:`~framelogic.queries.search.resolve_world_option`) at confidence level
    ``confidence`` (δ; default :data:`~framelogic.automata.monitor.DEFAULT_CONFIDENCE`).
    Yields a :class:`Change` whenever the verdict changes; raises
    :class:`InputError` when no frame arrives. ``approx="bounds"``: a rule set
    whose exact filter is over the state budget is followed with certified
    bounds (see :class:`~framelogic.automata.Monitor`), never silently.
    """
    from framelogic.automata import Monitor
    from framelogic.automata.monitor import DEFAULT_CONFIDENCE

    names = [name] if name else list(query.names)
    if len(names) != 1:
        raise InputError(f"monitor follows one query; pick one with --query NAME (queries: {', '.join(names)})")
    decl = query.file.query(names[0])
    opts = query.options(options, **given)
    if isinstance(source, Iterable) and not isinstance(source, (str, bytes, Mapping, TraceTable)) and not hasattr(source, "shape"):
        rows: Iterable[Mapping[str, float | None]] = source
        fps = opts.fps
    else:
        probs = query.probabilities(source, query=names, options=opts)
        fps = probs.rate
        rows = ({**{n: probs.values[i, j] for j, n in enumerate(probs.names)}, "time": probs.time_of(i)} for i in range(len(probs)))
    spec = query_spec(decl)
    delta = DEFAULT_CONFIDENCE if confidence is None else confidence
    mon = Monitor(spec.formula, fps=fps, world=opts.world, confidence=delta, approx=approx)
    columns = {p.name: p.column for p in query.propositions([decl.name]) if p.column is not None}
    mapped = opts.column_map
    last = None
    seen = False
    for row in rows:
        row = dict(row)
        for prop, col in {**columns, **mapped}.items():  # column propositions read their table column
            if prop not in row and col in row:
                row[prop] = row[col]
        status = mon.step(row)
        seen = True
        if status.verdict != last:
            t = row.get("time")
            bounds = None if status.bounds is None else tuple(map(float, status.bounds[0]))
            yield Change(status.frame, None if t is None else float(t), status.verdict.value, float(status.probability), bounds)
            last = status.verdict
    if not seen:
        raise InputError("no frames arrived")


def csv_rows(stream: IO[str], source: str = "<stdin>") -> Iterator[dict[str, float | None]]:
    """Rows of a CSV arriving on a stream, as they arrive (header first); errors name the line."""
    from framelogic.logic.trace import check_header

    reader = csv.reader(stream)
    header = None
    for row in reader:
        if not row or not any(c.strip() for c in row):
            continue
        lineno = reader.line_num
        if header is None:
            header = check_header(row, source, lineno)  # strips a BOM; refuses repeated names
            continue
        if len(row) != len(header):
            raise InputError(f"{source}:{lineno}: row has {len(row)} values, header has {len(header)}")
        values: dict[str, float | None] = {}
        for j, (h, v) in enumerate(zip(header, row)):
            try:
                values[h] = float(v)
            except ValueError:
                raise InputError(f"{source}:{lineno}:{j + 1}: {v!r} in column {h!r} is not a number") from None
        values.setdefault("time", None)
        yield values
