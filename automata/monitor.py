"""Streaming monitors with RV-LTL verdicts.

A :class:`Monitor` reads one frame at a time (a mapping proposition ->
probability, or 0/1) and keeps only the probability distribution over the
states of the formula's automaton: memory O(|Q|), whatever the stream length.

Verdicts (RV-LTL, decided as early as certain from the automaton's sinks):

* ``SATISFIED`` — every continuation of the prefix, including stopping now,
  satisfies φ (the automaton is in a state that cannot reach rejection);
* ``VIOLATED`` — no continuation satisfies φ (no accepting state reachable);
* ``PRESUMABLY_SATISFIED`` — the prefix seen so far satisfies φ, but a
  continuation could still violate it;
* ``PRESUMABLY_VIOLATED`` — the prefix does not satisfy φ yet, but a
  continuation could.

With probabilities the state is uncertain: ``probability`` is P(prefix ⊨ φ),
``p_satisfied``/``p_violated`` the probability mass already in the two kinds of
sink, and the verdict is the one whose mass exceeds one half (SATISFIED, then
VIOLATED), else PRESUMABLY_SATISFIED when ``probability >= 0.5``, else
PRESUMABLY_VIOLATED. On 0/1 frames this is exactly the RV-LTL verdict.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from framelogic.logic import ast as A
from framelogic.logic.errors import InvalidArgument, TraceError
from framelogic.logic.passes import atom_names, resolve_time
from framelogic.logic.trace import as_trace

from .compile import as_formula, compile
from .construct import DEFAULT_MAX_STATES


class Verdict(enum.Enum):
    SATISFIED = "satisfied"
    VIOLATED = "violated"
    PRESUMABLY_SATISFIED = "presumably satisfied"
    PRESUMABLY_VIOLATED = "presumably violated"

    @property
    def final(self) -> bool:
        """True when no further frame can change the verdict."""
        return self in (Verdict.SATISFIED, Verdict.VIOLATED)


@dataclass(frozen=True, slots=True)
class Status:
    """The monitor's answer after a frame."""

    frame: int  # index of the frame just read
    verdict: Verdict
    probability: float  # P(prefix so far satisfies φ)
    p_satisfied: float  # P(already certainly satisfied)
    p_violated: float  # P(already certainly violated)


class Monitor:
    """Online monitor of one formula.

    >>> m = Monitor("G (red -> F[0,2] stopped)")
    >>> m.step({"red": 1, "stopped": 0}).verdict
    <Verdict.PRESUMABLY_VIOLATED: 'presumably violated'>
    >>> m.step({"red": 0, "stopped": 1}).verdict
    <Verdict.PRESUMABLY_SATISFIED: 'presumably satisfied'>
    """

    def __init__(self, formula: A.Formula | str, *, fps: float | None = None, max_states: int = DEFAULT_MAX_STATES) -> None:
        f = resolve_time(as_formula(formula), fps)
        self.formula = f
        self.atoms = atom_names(f)
        self.automaton = compile(f, props=self.atoms, max_states=max_states)
        d = self.automaton
        self._sat = d.doomed_to_accept
        self._dead = ~d.live
        k = len(self.atoms)
        # bit j of every letter, (k, 2^k): letter probabilities in one product
        self._bitmat = ((np.arange(1 << k)[None, :] >> np.arange(k)[:, None]) & 1).astype(bool)
        self._flat_delta = d.delta.ravel()
        # rows: accepting, certainly satisfied, certainly violated; one product summarizes
        self._summary = np.stack([d.accepting, d.doomed_to_accept, ~d.live]).astype(np.float64)
        self._small = d.n_states << k <= 64
        self._masks = tuple([int(q) for q in np.flatnonzero(row)] for row in self._summary)
        # plain lists: the 0/1 path below costs a few list lookups per frame
        self._delta_rows = d.delta.tolist()
        self._det_status = [
            (Verdict.SATISFIED if self._sat[q] else Verdict.VIOLATED if self._dead[q]
             else Verdict.PRESUMABLY_SATISFIED if d.accepting[q] else Verdict.PRESUMABLY_VIOLATED,
             float(d.accepting[q]), float(self._sat[q]), float(self._dead[q]))
            for q in range(d.n_states)
        ]  # fmt: skip
        self.reset()

    def reset(self) -> None:
        """Forget the frames read so far."""
        self._state: int | None = self.automaton.initial  # None once uncertain
        self._dist = np.zeros(self.automaton.n_states)
        self._dist[self.automaton.initial] = 1.0
        self._dist_list = self._dist.tolist()  # the small-automaton path's copy
        self._frame = -1
        self._status: Status | None = None

    @property
    def status(self) -> Status | None:
        """The answer after the last frame (None before the first)."""
        return self._status

    @property
    def verdict(self) -> Verdict | None:
        return None if self._status is None else self._status.verdict

    def step(self, frame: Mapping[str, float]) -> Status:
        """Read one frame: proposition -> probability (or 0/1)."""
        if not isinstance(frame, Mapping):
            raise InvalidArgument(f"frame={frame!r} must map proposition names to probabilities")
        if self._state is not None:
            letter = 0
            try:
                for j, name in enumerate(self.atoms):
                    v = frame[name]
                    if v == 1:
                        letter |= 1 << j
                    elif v != 0:
                        break
                else:
                    q = self._state = self._delta_rows[self._state][letter]
                    self._frame += 1
                    self._status = Status(self._frame, *self._det_status[q])
                    return self._status
            except KeyError:
                pass  # reported below with the full message
            self._dist[:] = 0.0
            self._dist[self._state] = 1.0
            self._dist_list = self._dist.tolist()
            self._state = None
        ps_ = []
        for name in self.atoms:
            try:
                p = float(frame[name])
            except KeyError:
                raise TraceError(f"frame {self._frame + 1} has no value for {name!r}; it has {sorted(frame)}") from None
            if not 0.0 <= p <= 1.0:
                raise TraceError(f"frame {self._frame + 1}: {name}={p!r} is not a probability in [0, 1]")
            ps_.append(p)
        self._frame += 1
        if self._small:
            self._status = self._step_small(ps_)
            return self._status
        pr = np.array(ps_)[:, None]
        letter_p = np.where(self._bitmat, pr, 1.0 - pr).prod(axis=0)
        weights = np.multiply.outer(self._dist, letter_p).ravel()
        self._dist = np.bincount(self._flat_delta, weights=weights, minlength=self.automaton.n_states)
        self._status = self._summarize()
        return self._status

    def _step_small(self, ps: list[float]) -> Status:
        # Small automata: plain floats beat numpy's per-call overhead several times over.
        lp = [1.0]
        for p in ps:
            q_ = 1.0 - p
            lp = [x * q_ for x in lp] + [x * p for x in lp]
        new = [0.0] * len(self._dist_list)
        for q, a in enumerate(self._dist_list):
            if a:
                row = self._delta_rows[q]
                for s, x in enumerate(lp):
                    new[row[s]] += a * x
        self._dist_list = new
        acc, sat, dead = self._masks
        p = sum(new[q] for q in acc)
        ps_ = sum(new[q] for q in sat)
        pv = sum(new[q] for q in dead)
        return self._verdict(p, ps_, pv)

    def _summarize(self) -> Status:
        p, ps, pv = (self._summary @ self._dist).tolist()
        return self._verdict(p, ps, pv)

    def _verdict(self, p: float, ps: float, pv: float) -> Status:
        if ps > 0.5:
            v = Verdict.SATISFIED
        elif pv > 0.5:
            v = Verdict.VIOLATED
        elif p >= 0.5:
            v = Verdict.PRESUMABLY_SATISFIED
        else:
            v = Verdict.PRESUMABLY_VIOLATED
        return Status(self._frame, v, min(max(p, 0.0), 1.0), ps, pv)

    def run(self, table: object) -> list[Status]:
        """The status after every frame of a trace table (the monitor is reset first)."""
        t = as_trace(table).select(self.atoms)
        self.reset()
        return [self.step(dict(zip(self.atoms, row))) for row in t.values]
