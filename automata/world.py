"""World models: how per-frame probabilities are read.

A probabilistic trace gives, for every frame ``i`` and proposition ``p``, a
number ``P(p at i)`` from a detector. What that number means across frames is a
modelling choice, the **world**:

* :class:`Independent` — every proposition at every frame is an independent
  coin with the given probability (NSVS-TL's and LogSTOP's reading, and
  framelogic's original one). Exact and fast, but it ignores persistence:
  ``P(G φ)`` decays to 0 on long traces and bursts of detector errors look like
  real events.
* :class:`Markov` — every proposition is a hidden two-state Markov chain (the
  world is persistent: a light stays red for seconds), and the detector's
  outputs are *observations* of it: a calibrated posterior ``p`` at base rate
  ``prior`` enters as the likelihood ratio ``(p / prior) : ((1 - p) / (1 -
  prior))``. ``mutex`` groups make joint states with two true propositions of
  one group impossible (probability 0; the rest renormalised).

The chain of proposition ``x``: a frame where ``x`` holds is followed by one
where it holds with probability ``stay`` (so its true runs last ``1 / (1 -
stay)`` frames on average; ``persist`` gives that mean in seconds instead); the
chain is stationary at ``prior``, which fixes the false state's stay
probability ``1 - prior (1 - stay) / (1 - prior)``. With ``prior = 0.5`` both
states stay with probability ``stay``, and ``stay = 0.5`` is then the
independent world exactly. Chains of different propositions are independent
(unless a ``mutex`` group links them), so the planner's split into parts over
disjoint propositions stays exact.

Exact inference (:func:`world_signal`): ``P((w, i) |= φ | all observations)``
for every frame ``i``, by a forward–backward pass over the product of an
automaton of ``φ`` with the joint chain states of its propositions, linear in
the number of frames. :class:`WorldFilter` is the forward half, one frame at a
time (observations up to now), for monitors. :func:`viterbi` decodes the most
probable 0/1 world; :func:`fit_world` estimates a :class:`Markov` world from
labelled frames.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Union

import numpy as np

from framelogic.logic.errors import InvalidArgument, InvalidValue, TraceError, UnknownRateError
from framelogic.logic.trace import TraceTable, as_trace

from . import kernels as K

__all__ = [
    "DEFAULT_PRIOR", "DEFAULT_STAY", "Independent", "Markov", "World", "WorldFilter", "WorldPlan", "fit_world",
    "resolve_world", "viterbi", "world_signal",
]  # fmt: skip

DEFAULT_STAY = 0.95
DEFAULT_PRIOR = 0.5
MAX_CHAIN_ATOMS = 12  # joint chain states 2^k per independent part
#: run the general loops (the first ones written; the tests' reference for the fast ones)
REFERENCE = False
# the reset loops (backward_reset) and the paired chains (smooth_two); False: the fast loops
# they replace (benchmarks/world_speed.py's before column; same numbers)
SPECIALISED = True
PAIR_FRAMES = 2_000  # single-proposition parts paired from this many frames (below, the calls cost more than the loop)
CHUNK_CELLS = 1 << 21  # frames x automaton states x chain states kept by the forward pass
JIT_WORK = 20_000  # frames x states from which the loops run compiled (numba)
# ... and from which on every call does, once the plain loops have run this much work
# in the process (many short traces: about as long in plain Python as compiling takes)
JIT_TOTAL = 100_000


# ------------------------------------------------------------------ the worlds


@dataclass(frozen=True)
class Independent:
    """Every proposition at every frame an independent coin (the original semantics)."""

    def to_dict(self) -> dict[str, object]:
        return {"kind": "independent"}

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Independent:
        return cls()


def _check_open(name: str, v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0.0 < v < 1.0:
        raise InvalidValue(f"{name}={v!r} must be a number strictly between 0 and 1")
    return float(v)


def _per_name(name: str, value: object, check) -> float | dict[str, float]:  # type: ignore[no-untyped-def]
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidArgument(f"{name} keys must be proposition names (str), got {k!r}")
            out[k] = check(f"{name}[{k!r}]", v)
        return out
    return check(name, value)


def _check_persist(name: str, v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise InvalidValue(f"{name}={v!r} must be a positive number of seconds (the mean length of a true run)")
    return float(v)


@dataclass(frozen=True)
class Markov:
    """Each proposition a persistent hidden two-state chain; scores are observations of it.

    >>> w = Markov(stay=0.9, persist={"red": 2.0})
    >>> w.stay_for("ped", None), round(w.stay_for("red", 30.0), 4)
    (0.9, 0.9833)
    """

    # per-frame probability that a proposition that holds still holds at the next frame
    # (one number, or proposition -> number); with prior 0.5 also the false state's
    stay: float | Mapping[str, float] = DEFAULT_STAY
    # alternative to stay: the mean length of a true run in seconds (needs the frame
    # rate): stay = 1 - 1 / (persist * rate). Per-name entries (persist, then stay)
    # win over one-number defaults (persist, then stay)
    persist: float | Mapping[str, float] | None = None
    # the base rate the scores are calibrated at, and the chain's stationary rate:
    # likelihoods are p / prior and (1 - p) / (1 - prior)
    prior: float | Mapping[str, float] = DEFAULT_PRIOR
    # groups of propositions of which at most one holds at any frame
    mutex: tuple[frozenset[str], ...] = ()
    # Platt maps per proposition, applied to the scores first: p -> sigmoid(a logit(p) + b)
    calibration: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "stay", _per_name("stay", self.stay, _check_open))
        object.__setattr__(self, "prior", _per_name("prior", self.prior, _check_open))
        if self.persist is not None:
            object.__setattr__(self, "persist", _per_name("persist", self.persist, _check_persist))
        groups = []
        if isinstance(self.mutex, (str, bytes)) or not isinstance(self.mutex, (tuple, list, set, frozenset)):
            raise InvalidArgument(f"mutex={self.mutex!r} must be a tuple of groups (sets of proposition names)")
        for g in self.mutex:
            if isinstance(g, str) or not all(isinstance(x, str) for x in g):
                raise InvalidArgument(f"mutex group {g!r} must be a set of proposition names")
            if len(set(g)) < 2:
                raise InvalidValue(f"mutex group {sorted(g)} needs at least two propositions")
            groups.append(frozenset(g))
        object.__setattr__(self, "mutex", tuple(groups))
        cal = {}
        for k, ab in dict(self.calibration or {}).items():
            try:
                a, b = (float(x) for x in ab)
            except (TypeError, ValueError):
                raise InvalidArgument(f"calibration[{k!r}]={ab!r} must be a pair (a, b)") from None
            if not (math.isfinite(a) and math.isfinite(b)):
                raise InvalidValue(f"calibration[{k!r}]={ab!r} must be finite")
            cal[str(k)] = (a, b)
        object.__setattr__(self, "calibration", cal)

    def __hash__(self) -> int:
        # kept after the first call (a world is immutable; evaluators look plans up by it)
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash(json.dumps(self.to_dict(), sort_keys=True))
            object.__setattr__(self, "_hash", h)
        return h

    # ------------------------------------------------------------ per proposition
    def stay_for(self, name: str, rate: float | None) -> float:
        """The probability that ``name``, holding at a frame, holds at the next one."""
        persist, stay = self.persist, self.stay
        if isinstance(persist, Mapping) and name in persist:
            return self._from_persist(name, persist[name], rate)
        if isinstance(stay, Mapping) and name in stay:
            return stay[name]
        if persist is not None and not isinstance(persist, Mapping):
            return self._from_persist(name, persist, rate)
        if not isinstance(stay, Mapping):
            return stay
        raise InvalidValue(
            f"the Markov world has no stay probability for {name!r} (stay has {sorted(stay)}"
            + (f", persist has {sorted(persist)}" if isinstance(persist, Mapping) else "")
            + "); add it, or give one number as the default"
        )

    @staticmethod
    def _from_persist(name: str, seconds: float, rate: float | None) -> float:
        if rate is None:
            raise UnknownRateError(
                f"persist={seconds:g}s for {name!r} needs the frame rate; pass fps=, or give stay= "
                "(a per-frame probability) instead"
            )
        frames = seconds * rate
        if frames <= 1.0:
            raise InvalidValue(
                f"persist={seconds:g}s for {name!r} is {frames:g} frames at {rate:g} fps; a true run "
                "must last longer than one frame on average"
            )
        return 1.0 - 1.0 / frames

    def prior_for(self, name: str) -> float:
        """The base rate of ``name`` (calibration base rate and stationary rate of its chain)."""
        prior = self.prior
        if not isinstance(prior, Mapping):
            return prior
        try:
            return prior[name]
        except KeyError:
            raise InvalidValue(f"the Markov world has no prior for {name!r} (prior has {sorted(prior)}); add it") from None

    def transition(self, name: str, rate: float | None) -> np.ndarray:
        """``T[a, b]`` = P(``name`` is ``b`` at the next frame | ``a`` now), stationary at the prior."""
        s, pi = self.stay_for(name, rate), self.prior_for(name)
        up = pi * (1.0 - s) / (1.0 - pi)  # P(false -> true)
        if up > 1.0:
            lowest = 1.0 - (1.0 - pi) / pi
            raise InvalidValue(
                f"stay={s:g} for {name!r} cannot keep the chain at prior={pi:g}: a proposition true "
                f"{pi:.0%} of the time must stay true with probability >= {lowest:.4g}"
            )
        return np.array([[1.0 - up, up], [1.0 - s, s]])

    def calibrate(self, name: str, p: np.ndarray) -> np.ndarray:
        """The scores of ``name`` through its Platt map (0 and 1 stay as they are)."""
        ab = self.calibration.get(name)
        if ab is None:
            return p
        a, b = ab
        with np.errstate(divide="ignore"):
            z = a * (np.log(p) - np.log1p(-p)) + b
        out = 1.0 / (1.0 + np.exp(-np.clip(z, -700, 700)))
        return np.where((p == 0.0) | (p == 1.0), p, out)

    # ------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"kind": "markov", "stay": _plain(self.stay), "prior": _plain(self.prior)}
        if self.persist is not None:
            d["persist"] = _plain(self.persist)
        if self.mutex:
            d["mutex"] = [sorted(g) for g in self.mutex]
        if self.calibration:
            d["calibration"] = {k: list(v) for k, v in sorted(self.calibration.items())}
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Markov:
        if not isinstance(d, Mapping):
            raise InvalidArgument(f"a Markov world must be a JSON object, got {d!r}")
        unknown = set(d) - {"kind", "stay", "persist", "prior", "mutex", "calibration"}
        if unknown:
            raise InvalidValue(f"unknown keys {sorted(unknown)} in a Markov world")
        mutex = d.get("mutex", ())
        if not isinstance(mutex, (list, tuple)):
            raise InvalidArgument(f"mutex={mutex!r} must be a list of lists of names")
        return cls(
            stay=d.get("stay", DEFAULT_STAY),  # type: ignore[arg-type]
            persist=d.get("persist"),  # type: ignore[arg-type]
            prior=d.get("prior", DEFAULT_PRIOR),  # type: ignore[arg-type]
            mutex=tuple(frozenset(g) for g in mutex),  # type: ignore[arg-type]
            calibration=d.get("calibration") or {},  # type: ignore[arg-type]
        )


def _plain(v: object) -> object:
    return dict(sorted(v.items())) if isinstance(v, Mapping) else v


World = Union[Independent, Markov]


def resolve_world(world: object, *, where: str = "world") -> World:
    """``world`` as a :class:`Independent` or :class:`Markov` (None: independent;
    ``"independent"`` / ``"markov"``: that world with its defaults; a dict from
    ``to_dict``)."""
    if world is None:
        return Independent()
    if isinstance(world, (Independent, Markov)):
        return world
    if isinstance(world, str):
        key = world.strip().lower()
        if key == "independent":
            return Independent()
        if key == "markov":
            return Markov()
        raise InvalidValue(f"{where}={world!r} must be 'independent' or 'markov' (or an Independent() / Markov(...))")
    if isinstance(world, Mapping):
        kind = world.get("kind")
        if kind == "independent":
            return Independent()
        if kind == "markov":
            return Markov.from_dict(world)
        if kind == "hidden":  # [observe hook] hidden-state observation models (automata/observe.py)
            from .observe import Hidden

            return Hidden.from_dict(world)
        raise InvalidValue(f"{where}: kind={kind!r} must be 'independent' or 'markov'")
    raise InvalidArgument(
        f"{where}={world!r} must be framelogic.Independent(), framelogic.Markov(...), "
        "'independent', 'markov' or None"
    )


# ------------------------------------------------------------------ chains


def chain_components(names: Sequence[str], world: Markov) -> list[tuple[str, ...]]:
    """``names`` and their mutex partners grouped into sets of dependent chains
    (connected through mutex groups), each sorted, ``names``' own first."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for g in world.mutex:
        first, *rest = sorted(g)
        for x in rest:
            parent[find(x)] = find(first)
    groups: dict[str, list[str]] = {}
    for x in names:
        groups.setdefault(find(x), []).append(x)
    out = []
    for root, own in groups.items():
        partners = sorted(x for x in parent if find(x) == root and x not in own)
        out.append((*own, *partners))
    return out


def closure(names: Sequence[str], world: Markov) -> tuple[str, ...]:
    """``names`` followed by every proposition linked to one of them by mutex groups."""
    seen = list(dict.fromkeys(names))
    for comp in chain_components(seen, world):
        seen.extend(x for x in comp if x not in seen)
    return tuple(seen)


class Chain:
    """The joint hidden chain of ``atoms`` (bit ``j`` of a state = ``atoms[j]``)."""

    def __init__(self, atoms: Sequence[str], world: Markov, rate: float | None) -> None:
        self.atoms = tuple(atoms)
        k = self.k = len(self.atoms)
        if k > MAX_CHAIN_ATOMS:
            raise InvalidValue(
                f"{k} propositions {list(self.atoms)} form one dependent part under the Markov world "
                f"(at most {MAX_CHAIN_ATOMS}); split the formula or the mutex groups"
            )
        self.world = world
        self.m = 1 << k
        self.M = np.stack([world.transition(a, rate) for a in self.atoms]) if k else np.zeros((0, 2, 2))
        self.priors = np.array([world.prior_for(a) for a in self.atoms])
        bits = ((np.arange(self.m)[:, None] >> np.arange(k)[None, :]) & 1).astype(bool)
        self.bits = bits  # (m, k)
        valid = np.ones(self.m)
        for g in world.mutex:
            cols = [j for j, a in enumerate(self.atoms) if a in g]
            if len(cols) > 1:
                valid[bits[:, cols].sum(axis=1) > 1] = 0.0
        self.valid = valid
        pi = valid.copy()
        for j in range(k):
            pi *= np.where(bits[:, j], self.priors[j], 1.0 - self.priors[j])
        self.initial = pi / pi.sum()

    def columns(self, table: TraceTable) -> np.ndarray:
        """(frames, k) calibrated observations; an atom absent from the table is
        unobserved (its prior, likelihood 1)."""
        n = len(table)
        out = np.empty((n, self.k))
        for j, a in enumerate(self.atoms):
            if a in table.names:
                out[:, j] = self.world.calibrate(a, table.column(a))
            else:
                out[:, j] = self.priors[j]
        return out

    def evidence(self, obs: np.ndarray) -> np.ndarray:
        """``e[i, s]`` = likelihood of frame ``i``'s observations in joint state ``s`` (mutex included)."""
        n = obs.shape[0]
        rows = [np.ones(n)]  # rows[s]: the likelihood of joint state s at every frame
        for j in range(self.k):  # bit j of the state: the new high bit
            x = np.ascontiguousarray(obs[:, j])
            lo, hi = (1.0 - x) / (1.0 - self.priors[j]), x / self.priors[j]
            rows = [r * lo for r in rows] + [r * hi for r in rows]
        e = np.empty((n, self.m))
        for s, r in enumerate(rows):
            e[:, s] = r if self.valid[s] else 0.0
        return e

    @property
    def scale(self) -> np.ndarray:
        """``(1 / prior, 1 / (1 - prior))`` per atom, for :func:`likelihood`."""
        return np.ascontiguousarray(np.column_stack([1.0 / self.priors, 1.0 / (1.0 - self.priors)]).reshape(self.k, 2))

    def letters(self, own: int) -> np.ndarray:
        """The letter over the first ``own`` atoms of every joint state."""
        return (np.arange(self.m) & ((1 << own) - 1)).astype(np.int64)

    @property
    def dense(self) -> np.ndarray:
        """``T[s, s']`` over joint states (mutex left to the evidence)."""
        T = np.ones((self.m, self.m))
        for j in range(self.k):
            T *= self.M[j][self.bits[:, j][:, None].astype(int), self.bits[:, j][None, :].astype(int)]
        return T


# ------------------------------------------------------------------ loops (numba-compiled when long)


def likelihood(obs: np.ndarray, i: int, s: int, scale: np.ndarray, valid: np.ndarray) -> float:
    """The likelihood of frame ``i``'s observations in joint state ``s``: the mutex
    mask times, per atom ``j``, ``obs / prior`` (bit set) or ``(1 - obs) / (1 - prior)``
    (``scale[j] = (1 / prior, 1 / (1 - prior))``)."""
    v = valid[s]
    for j in range(obs.shape[1]):
        bit = (s >> j) & 1
        x = obs[i, j]
        v *= bit * x * scale[j, 0] + (1 - bit) * (1.0 - x) * scale[j, 1]
    return v


def fwd_transform(Y: np.ndarray, M: np.ndarray) -> None:
    """``Y[r, s'] <- sum_s Y[r, s] T(s, s')``, one atom's 2x2 matrix at a time."""
    k = M.shape[0]
    m = Y.shape[1]
    for j in range(k):
        bit = 1 << j
        m00, m01, m10, m11 = M[j, 0, 0], M[j, 0, 1], M[j, 1, 0], M[j, 1, 1]
        for r in range(Y.shape[0]):
            for s in range(m):
                if s & bit == 0:
                    s1 = s | bit
                    y0, y1 = Y[r, s], Y[r, s1]
                    Y[r, s] = y0 * m00 + y1 * m10
                    Y[r, s1] = y0 * m01 + y1 * m11


def bwd_transform(X: np.ndarray, M: np.ndarray) -> None:
    """``X[r, s] <- sum_s' T(s, s') X[r, s']``."""
    k = M.shape[0]
    m = X.shape[1]
    for j in range(k):
        bit = 1 << j
        m00, m01, m10, m11 = M[j, 0, 0], M[j, 0, 1], M[j, 1, 0], M[j, 1, 1]
        for r in range(X.shape[0]):
            for s in range(m):
                if s & bit == 0:
                    s1 = s | bit
                    x0, x1 = X[r, s], X[r, s1]
                    X[r, s] = m00 * x0 + m01 * x1
                    X[r, s1] = m10 * x0 + m11 * x1


def forward_world(
    dp: np.ndarray, lett: np.ndarray, obs: np.ndarray, scale: np.ndarray, valid: np.ndarray, M: np.ndarray,
    A: np.ndarray, store: np.ndarray, keep: bool,
) -> int:
    """Forward over (pre-automaton state x joint chain state): ``A`` enters as the
    predicted distribution before the chunk's first frame and leaves after its last;
    ``store[i]`` (when ``keep``) = the predicted distribution before frame ``i``.
    Returns -1, or the frame whose observations are impossible."""
    n = obs.shape[0]
    nq, m = A.shape
    Y = np.empty_like(A)
    e = np.empty(m)
    for i in range(n):
        for s in range(m):
            e[s] = likelihood(obs, i, s, scale, valid)
        if keep:
            for q in range(nq):
                for s in range(m):
                    store[i, q, s] = A[q, s]
        for q in range(nq):
            for s in range(m):
                Y[q, s] = 0.0
        for q in range(nq):
            for s in range(m):
                a = A[q, s]
                if a != 0.0:
                    Y[dp[q, lett[s]], s] += a * e[s]
        fwd_transform(Y, M)
        total = 0.0
        for q in range(nq):
            for s in range(m):
                total += Y[q, s]
        if not total > 0.0:
            return i
        for q in range(nq):
            for s in range(m):
                A[q, s] = Y[q, s] / total
    return -1


def backward_world(
    dfc: np.ndarray, onc: np.ndarray, lett: np.ndarray, obs: np.ndarray, scale: np.ndarray, valid: np.ndarray,
    M: np.ndarray, store: np.ndarray, V: np.ndarray, beta: np.ndarray, out: np.ndarray,
) -> int:
    """Backward over (post-automaton state x joint chain state) for one chunk, last
    frame first. ``V[t, s]`` ∝ P(later observations, the run from transient state
    ``t`` over the later frames accepts | chain in ``s`` now), ``beta[s]`` ∝ P(later
    observations | ``s``), both on one scale; the accepting sink's value is ``beta``,
    the rejecting sink's 0 (codes -1 and -2 in ``onc`` / ``dfc``). ``out[i]`` =
    P(φ at i | all observations)."""
    n = obs.shape[0]
    nt, m = V.shape
    nq = store.shape[1]
    X = np.empty_like(V)
    b2 = np.empty((1, m))
    e = np.empty(m)
    for i in range(n - 1, -1, -1):
        for s in range(m):
            e[s] = likelihood(obs, i, s, scale, valid)
        num = 0.0
        den = 0.0
        for q in range(nq):
            for s in range(m):
                w = store[i, q, s] * e[s]
                if w != 0.0:
                    c = onc[q, lett[s]]
                    den += w * beta[s]
                    if c >= 0:
                        num += w * V[c, s]
                    elif c == -1:
                        num += w * beta[s]
        if not den > 0.0:
            return i
        out[i] = num / den
        for t in range(nt):
            for s in range(m):
                c = dfc[t, lett[s]]
                if c >= 0:
                    X[t, s] = e[s] * V[c, s]
                elif c == -1:
                    X[t, s] = e[s] * beta[s]
                else:
                    X[t, s] = 0.0
        for s in range(m):
            b2[0, s] = e[s] * beta[s]
        bwd_transform(X, M)
        bwd_transform(b2, M)
        total = 0.0
        for s in range(m):
            total += b2[0, s]
        if not total > 0.0:
            return i
        for s in range(m):
            beta[s] = b2[0, s] / total
        for t in range(nt):
            for s in range(m):
                V[t, s] = X[t, s] / total
    return -1


def smooth_loop(
    obs: np.ndarray, scale: np.ndarray, valid: np.ndarray, M: np.ndarray, initial: np.ndarray, g: np.ndarray,
    alpha: np.ndarray, out: np.ndarray,
) -> int:
    """Chain-only forward–backward: ``out[i]`` = sum over joint states of
    P(state at i | all observations) x ``g[state]``. Returns -1 or a bad frame."""
    n = obs.shape[0]
    m = valid.shape[0]
    a = np.empty((1, m))
    for s in range(m):
        a[0, s] = initial[s]
    for i in range(n):
        total = 0.0
        for s in range(m):
            a[0, s] *= likelihood(obs, i, s, scale, valid)
            total += a[0, s]
        if not total > 0.0:
            return i
        for s in range(m):
            a[0, s] /= total
            alpha[i, s] = a[0, s]
        fwd_transform(a, M)
    b = np.ones((1, m))
    for i in range(n - 1, -1, -1):
        num = 0.0
        den = 0.0
        for s in range(m):
            w = alpha[i, s] * b[0, s]
            num += w * g[s]
            den += w
        if not den > 0.0:
            return i
        out[i] = num / den
        total = 0.0
        for s in range(m):
            b[0, s] *= likelihood(obs, i, s, scale, valid)
            total += b[0, s]
        for s in range(m):
            b[0, s] /= total
        bwd_transform(b, M)
    return -1


def smooth_one(hi: np.ndarray, lo: np.ndarray, up: float, stay: float, p0: float, alpha: np.ndarray, out: np.ndarray) -> int:
    """:func:`smooth_loop` for one proposition without mutex partners (``out[i]`` =
    P(true at i | all observations)), on scalars: the common case, made fast."""
    n = hi.shape[0]
    a = p0
    for i in range(n):
        x, y = a * hi[i], (1.0 - a) * lo[i]
        if not x + y > 0.0:
            return i
        a = x / (x + y)
        alpha[i] = a
        a = a * stay + (1.0 - a) * up
    b1, b0 = 1.0, 1.0
    for i in range(n - 1, -1, -1):
        x, y = alpha[i] * b1, (1.0 - alpha[i]) * b0
        if not x + y > 0.0:
            return i
        out[i] = x / (x + y)
        x, y = hi[i] * b1, lo[i] * b0
        b1, b0 = stay * x + (1.0 - stay) * y, up * x + (1.0 - up) * y
        total = b1 + b0
        b1, b0 = b1 / total, b0 / total
    return -1


def smooth_two(
    x: np.ndarray, s1: np.ndarray, s0: np.ndarray, up: np.ndarray, stay: np.ndarray, p0: np.ndarray, g: np.ndarray,
    f: np.ndarray, out: np.ndarray,
) -> int:
    """:func:`smooth_one_fast` for two independent chains, and ``out[i] = sum_s g[s]
    P(joint state s at frame i)``: a propositional part over two chains without mutex
    groups, ``g`` its truth table over the four joint states (bit ``j`` = chain ``j``);
    ``x[i, j]`` the calibrated scores, ``s1[j] = 1 / prior``, ``s0[j] = 1 / (1 - prior)``,
    ``f`` scratch of shape ``(n, 2, 4)``. The forward messages (frames 0, 1, ...) and
    the backward ones (n - 1, n - 2, ...) of both chains advance in the same loop on
    scalars: four independent dependency chains overlap (the loop is bound by their
    latency, not by arithmetic), and a last loop combines them."""
    n = x.shape[0]
    sa1, sa0, sb1, sb0 = s1[0], s0[0], s1[1], s0[1]
    ua, ub, ta, tb = up[0], up[1], stay[0], stay[1]
    a1, a0, c1, c0 = p0[0], 1.0 - p0[0], p0[1], 1.0 - p0[1]
    b1, b0, d1, d0 = 1.0, 1.0, 1.0, 1.0
    for i in range(n):
        xa, xb = x[i, 0], x[i, 1]
        u1, u0 = a1 * (xa * sa1), a0 * ((1.0 - xa) * sa0)
        v1, v0 = c1 * (xb * sb1), c0 * ((1.0 - xb) * sb0)
        tot = u1 + u0
        if not (tot > TINY and tot < HUGE):
            if not tot > 0.0:
                return i
            u1, u0 = u1 / tot, u0 / tot
        tot = v1 + v0
        if not (tot > TINY and tot < HUGE):
            if not tot > 0.0:
                return i
            v1, v0 = v1 / tot, v0 / tot
        f[i, 0, 0], f[i, 0, 1], f[i, 0, 2], f[i, 0, 3] = u0, u1, v0, v1
        a1, a0 = u1 * ta + u0 * ua, u1 * (1.0 - ta) + u0 * (1.0 - ua)
        c1, c0 = v1 * tb + v0 * ub, v1 * (1.0 - tb) + v0 * (1.0 - ub)
        k = n - 1 - i  # the backward messages after frame k
        f[k, 1, 0], f[k, 1, 1], f[k, 1, 2], f[k, 1, 3] = b0, b1, d0, d1
        xa, xb = x[k, 0], x[k, 1]
        u1, u0 = xa * sa1 * b1, (1.0 - xa) * sa0 * b0
        v1, v0 = xb * sb1 * d1, (1.0 - xb) * sb0 * d0
        b1, b0 = ta * u1 + (1.0 - ta) * u0, ua * u1 + (1.0 - ua) * u0
        d1, d0 = tb * v1 + (1.0 - tb) * v0, ub * v1 + (1.0 - ub) * v0
        tot = b1 + b0
        if not (tot > TINY and tot < HUGE):
            if not tot > 0.0:
                return k
            b1, b0 = b1 / tot, b0 / tot
        tot = d1 + d0
        if not (tot > TINY and tot < HUGE):
            if not tot > 0.0:
                return k
            d1, d0 = d1 / tot, d0 / tot
    g0, g1, g2, g3 = g[0], g[1], g[2], g[3]
    for i in range(n):
        h0, h1 = f[i, 0, 0] * f[i, 1, 0], f[i, 0, 1] * f[i, 1, 1]
        k0, k1 = f[i, 0, 2] * f[i, 1, 2], f[i, 0, 3] * f[i, 1, 3]
        ha, hb = h1 + h0, k1 + k0
        if not (ha > 0.0 and hb > 0.0):
            return i
        pa, pb = h1 / ha, k1 / hb  # (not divided by ha * hb: the product of two tiny totals underflows)
        out[i] = (g0 * (1.0 - pb) + g2 * pb) * (1.0 - pa) + (g1 * (1.0 - pb) + g3 * pb) * pa
    return -1

def viterbi_loop(logT: np.ndarray, logpi: np.ndarray, loge: np.ndarray, back: np.ndarray, path: np.ndarray) -> float:
    """Max-product over joint states; ``path[i]`` = the most probable state at ``i``."""
    n, m = loge.shape
    d = np.empty(m)
    d2 = np.empty(m)
    for s in range(m):
        d[s] = logpi[s] + loge[0, s]
    for i in range(1, n):
        for t in range(m):
            best = -np.inf
            arg = 0
            for s in range(m):
                v = d[s] + logT[s, t]
                if v > best:
                    best = v
                    arg = s
            back[i, t] = arg
            d2[t] = best + loge[i, t]
        for t in range(m):
            d[t] = d2[t]
    best = -np.inf
    arg = 0
    for s in range(m):
        if d[s] > best:
            best = d[s]
            arg = s
    path[n - 1] = arg
    for i in range(n - 1, 0, -1):
        arg = back[i, arg]
        path[i - 1] = arg
    return best


# The fast loops below run the same recursions as the ones above on unnormalised
# messages: a forward or backward message is only ever used through a ratio at one
# frame (num / den there), so its scale is free, and dividing by the total every
# frame puts a division on the loop's critical path for nothing. The messages are
# rescaled only when their total leaves [TINY, HUGE] (one compare per frame), and
# the evidence and the transition maps are read from arrays made once per call.

TINY = 1e-100
HUGE = 1e100


def smooth_one_fast(
    x: np.ndarray, s1: float, s0: float, up: float, stay: float, p0: float, f1: np.ndarray, f0: np.ndarray,
    out: np.ndarray,
) -> int:
    """:func:`smooth_one` on unnormalised two-state messages: ``x`` the calibrated
    scores, ``s1 = 1 / prior``, ``s0 = 1 / (1 - prior)``; ``f1``, ``f0`` scratch."""
    n = x.shape[0]
    a1, a0 = p0, 1.0 - p0
    for i in range(n):
        u1, u0 = a1 * (x[i] * s1), a0 * ((1.0 - x[i]) * s0)
        tot = u1 + u0
        if not (tot > TINY and tot < HUGE):
            if not tot > 0.0:
                return i
            u1, u0 = u1 / tot, u0 / tot
        f1[i], f0[i] = u1, u0
        a1, a0 = u1 * stay + u0 * up, u1 * (1.0 - stay) + u0 * (1.0 - up)
    b1, b0 = 1.0, 1.0
    for i in range(n - 1, -1, -1):
        g1, g0 = f1[i] * b1, f0[i] * b0
        if not g1 + g0 > 0.0:
            return i
        out[i] = g1 / (g1 + g0)
        u1, u0 = x[i] * s1 * b1, (1.0 - x[i]) * s0 * b0
        b1, b0 = stay * u1 + (1.0 - stay) * u0, up * u1 + (1.0 - up) * u0
        tot = b1 + b0
        if not (tot > TINY and tot < HUGE):
            if not tot > 0.0:
                return i
            b1, b0 = b1 / tot, b0 / tot
    return -1


def fwd_pairs(Y: np.ndarray, M: np.ndarray) -> None:
    """:func:`fwd_transform` over pairs of states (no test per state)."""
    m = Y.shape[1]
    for j in range(M.shape[0]):
        bit = 1 << j
        m00, m01, m10, m11 = M[j, 0, 0], M[j, 0, 1], M[j, 1, 0], M[j, 1, 1]
        for r in range(Y.shape[0]):
            for base in range(0, m, 2 * bit):
                for s in range(base, base + bit):
                    y0, y1 = Y[r, s], Y[r, s + bit]
                    Y[r, s] = y0 * m00 + y1 * m10
                    Y[r, s + bit] = y0 * m01 + y1 * m11


def bwd_pairs(X: np.ndarray, M: np.ndarray) -> None:
    """:func:`bwd_transform` over pairs of states."""
    m = X.shape[1]
    for j in range(M.shape[0]):
        bit = 1 << j
        m00, m01, m10, m11 = M[j, 0, 0], M[j, 0, 1], M[j, 1, 0], M[j, 1, 1]
        for r in range(X.shape[0]):
            for base in range(0, m, 2 * bit):
                for s in range(base, base + bit):
                    x0, x1 = X[r, s], X[r, s + bit]
                    X[r, s] = m00 * x0 + m01 * x1
                    X[r, s + bit] = m10 * x0 + m11 * x1


def smooth_fast(e: np.ndarray, M: np.ndarray, initial: np.ndarray, g: np.ndarray, alpha: np.ndarray, out: np.ndarray) -> int:
    """:func:`smooth_loop` on the evidence ``e[i, s]`` (mutex included) and unnormalised messages."""
    n, m = e.shape
    a = np.empty((1, m))
    for s in range(m):
        a[0, s] = initial[s]
    for i in range(n):
        tot = 0.0
        for s in range(m):
            a[0, s] *= e[i, s]
            tot += a[0, s]
        if not (tot > TINY and tot < HUGE):
            if not tot > 0.0:
                return i
            for s in range(m):
                a[0, s] /= tot
        for s in range(m):
            alpha[i, s] = a[0, s]
        fwd_pairs(a, M)
    b = np.ones((1, m))
    for i in range(n - 1, -1, -1):
        num = 0.0
        den = 0.0
        for s in range(m):
            w = alpha[i, s] * b[0, s]
            num += w * g[s]
            den += w
        if not den > 0.0:
            return i
        out[i] = num / den
        tot = 0.0
        for s in range(m):
            b[0, s] *= e[i, s]
            tot += b[0, s]
        if not (tot > TINY and tot < HUGE):
            if not tot > 0.0:
                return i
            for s in range(m):
                b[0, s] /= tot
        bwd_pairs(b, M)
    return -1


def evidence_fast(obs: np.ndarray, scale: np.ndarray, valid: np.ndarray, e: np.ndarray) -> None:
    """``e[i, s]`` = :func:`likelihood` of frame ``i`` in every joint state ``s``, built by
    doubling (the states with bit ``j`` set are those without it times ``obs / prior``):
    ``m`` products per frame instead of ``m k``."""
    n, k = obs.shape
    m = valid.shape[0]
    for i in range(n):
        e[i, 0] = 1.0
        for j in range(k):
            bit = 1 << j
            x = obs[i, j]
            hi, lo = x * scale[j, 0], (1.0 - x) * scale[j, 1]
            for s in range(bit):
                e[i, s + bit] = e[i, s] * hi
                e[i, s] *= lo
        for s in range(m):
            e[i, s] *= valid[s]


def fwd_rows(Y: np.ndarray, M: np.ndarray, rows: int) -> None:
    """``Y[s', r] <- sum_s T(s, s') Y[s, r]`` for ``r < rows``, one atom's 2x2 matrix at a
    time; the inner loop runs along a row (contiguous, vectorised)."""
    m = Y.shape[0]
    for j in range(M.shape[0]):
        bit = 1 << j
        m00, m01, m10, m11 = M[j, 0, 0], M[j, 0, 1], M[j, 1, 0], M[j, 1, 1]
        for base in range(0, m, 2 * bit):
            for s in range(base, base + bit):
                for r in range(rows):
                    y0, y1 = Y[s, r], Y[s + bit, r]
                    Y[s, r] = y0 * m00 + y1 * m10
                    Y[s + bit, r] = y0 * m01 + y1 * m11


def bwd_rows(X: np.ndarray, M: np.ndarray, rows: int) -> None:
    """``X[s, r] <- sum_s' T(s, s') X[s', r]`` for ``r < rows``."""
    m = X.shape[0]
    for j in range(M.shape[0]):
        bit = 1 << j
        m00, m01, m10, m11 = M[j, 0, 0], M[j, 0, 1], M[j, 1, 0], M[j, 1, 1]
        for base in range(0, m, 2 * bit):
            for s in range(base, base + bit):
                for r in range(rows):
                    x0, x1 = X[s, r], X[s + bit, r]
                    X[s, r] = m00 * x0 + m01 * x1
                    X[s + bit, r] = m10 * x0 + m11 * x1


def forward_fast(dp: np.ndarray, lett: np.ndarray, e: np.ndarray, M: np.ndarray, A: np.ndarray, store: np.ndarray, keep: bool) -> int:
    """:func:`forward_world` on the evidence ``e`` and unnormalised messages, chain
    state first: ``A[s, q]``, ``dp[letter, q]``; ``store[i, s, q]`` = the predicted
    message before frame ``i`` times frame ``i``'s evidence (pre state ``q`` before
    frame ``i``'s letter)."""
    n, m = e.shape
    nq = A.shape[1]
    Y = np.empty_like(A)
    for i in range(n):
        for s in range(m):
            es = e[i, s]
            if nq == 1:  # a future formula: the chain alone
                Y[s, 0] = A[s, 0] * es
            else:
                for q in range(nq):
                    Y[s, q] = 0.0
                ls = lett[s]
                for q in range(nq):
                    w = A[s, q] * es
                    if keep:
                        store[i, s, q] = w
                    Y[s, dp[ls, q]] += w
        if keep and nq == 1:
            for s in range(m):
                store[i, s, 0] = Y[s, 0]
        fwd_rows(Y, M, nq)
        tot = 0.0
        for s in range(m):
            for q in range(nq):
                tot += Y[s, q]
        if not (tot > TINY and tot < HUGE):
            if not tot > 0.0:
                return i
            for s in range(m):
                for q in range(nq):
                    Y[s, q] /= tot
        for s in range(m):
            for q in range(nq):
                A[s, q] = Y[s, q]
    return -1


def filter_atoms(obs: np.ndarray, scale: np.ndarray, M: np.ndarray, A: np.ndarray, store: np.ndarray, keep: bool) -> int:
    """:func:`forward_fast` of a future formula (one pre state) over chains without
    mutex groups: the joint chain is a product of independent chains and the
    evidence factorises, so the filter runs per proposition on two numbers each
    (``A[j]`` = (false, true), predicted) and ``store[i, s, 0]`` is the product of the
    propositions' filtered values, by doubling."""
    n, k = obs.shape
    for i in range(n):
        if keep:
            store[i, 0, 0] = 1.0
        for j in range(k):
            x = obs[i, j]
            u0, u1 = A[j, 0] * ((1.0 - x) * scale[j, 1]), A[j, 1] * (x * scale[j, 0])
            tot = u0 + u1
            if not (tot > TINY and tot < HUGE):
                if not tot > 0.0:
                    return i
                u0, u1 = u0 / tot, u1 / tot
            if keep:
                bit = 1 << j
                for s in range(bit):
                    store[i, s + bit, 0] = store[i, s, 0] * u1
                    store[i, s, 0] *= u0
            A[j, 0] = u0 * M[j, 0, 0] + u1 * M[j, 1, 0]
            A[j, 1] = u0 * M[j, 0, 1] + u1 * M[j, 1, 1]
    return -1


def backward_fast(
    succ: np.ndarray, onr: np.ndarray, lett: np.ndarray, e: np.ndarray, M: np.ndarray, store: np.ndarray,
    V: np.ndarray, out: np.ndarray,
) -> int:
    """:func:`backward_world` with the sinks as columns, chain state first:
    ``V[s, t]`` has a column per transient post state, then the accepting sink's
    (the chain's backward message, ``beta``) and the rejecting sink's (0);
    ``succ[letter, t]`` and ``onr[letter, q]`` name columns of ``V``, so the step is
    one gather per cell, no branch. (No array views or swaps inside the loop: each
    costs reference counting per frame.)"""
    n, m = e.shape
    nt = V.shape[1] - 2
    nq = store.shape[2]
    X = np.zeros_like(V)
    for i in range(n - 1, -1, -1):
        num = 0.0
        den = 0.0
        for s in range(m):
            es = e[i, s]
            ls = lett[s]
            for q in range(nq):
                w = store[i, s, q]
                den += w * V[s, nt]
                num += w * V[s, onr[ls, q]]
        if not den > 0.0:
            return i
        out[i] = num / den
        for s in range(m):
            es = e[i, s]
            ls = lett[s]
            for t in range(nt):
                X[s, t] = es * V[s, succ[ls, t]]
            X[s, nt] = es * V[s, nt]
        bwd_rows(X, M, nt + 1)
        tot = 0.0
        for s in range(m):
            tot += X[s, nt]
        if not (tot > TINY and tot < HUGE):
            if not tot > 0.0:
                return i
            for s in range(m):
                for t in range(nt + 1):
                    X[s, t] /= tot
        for s in range(m):
            for t in range(nt + 1):
                V[s, t] = X[s, t]
    return -1


def backward_one(
    selv: np.ndarray, selb: np.ndarray, onv: np.ndarray, onb: np.ndarray, e: np.ndarray, M: np.ndarray,
    store: np.ndarray, V: np.ndarray, out: np.ndarray,
) -> int:
    """:func:`backward_fast` for a future formula with one transient post state (the
    until family: ``p U q``, ``F p``, ``G p`` over propositional operands): its value
    ``v`` and ``beta`` as two vectors over chain states, the columns it reads as 0/1
    weights per chain state (``selv[s]``: the successor under ``s``'s letter is the
    transient state, ``selb[s]``: the accepting sink; ``onv``, ``onb`` likewise for
    the marker), and one fused transform for both."""
    n, m = e.shape
    v, b = np.empty(m), np.empty(m)
    xv, xb = np.empty(m), np.empty(m)
    for s in range(m):
        v[s], b[s] = V[s, 0], V[s, 1]
    for i in range(n - 1, -1, -1):
        num = 0.0
        den = 0.0
        for s in range(m):
            w = store[i, s, 0]
            den += w * b[s]
            num += w * (onv[s] * v[s] + onb[s] * b[s])
        if not den > 0.0:
            return i
        out[i] = num / den
        for s in range(m):
            es = e[i, s]
            xv[s] = es * (selv[s] * v[s] + selb[s] * b[s])
            xb[s] = es * b[s]
        for j in range(M.shape[0]):
            bit = 1 << j
            m00, m01, m10, m11 = M[j, 0, 0], M[j, 0, 1], M[j, 1, 0], M[j, 1, 1]
            for base in range(0, m, 2 * bit):
                for s in range(base, base + bit):
                    x0, x1 = xv[s], xv[s + bit]
                    xv[s] = m00 * x0 + m01 * x1
                    xv[s + bit] = m10 * x0 + m11 * x1
                    x0, x1 = xb[s], xb[s + bit]
                    xb[s] = m00 * x0 + m01 * x1
                    xb[s + bit] = m10 * x0 + m11 * x1
        tot = 0.0
        for s in range(m):
            tot += xb[s]
        if not (tot > TINY and tot < HUGE):
            if not tot > 0.0:
                return i
            for s in range(m):
                xv[s] /= tot
                xb[s] /= tot
        for s in range(m):
            v[s], b[s] = xv[s], xb[s]
    for s in range(m):
        V[s, 0], V[s, 1] = v[s], b[s]
    return -1


def backward_reset(
    succ: np.ndarray, onr: np.ndarray, lett: np.ndarray, rows: np.ndarray, resets: np.ndarray, rcol: np.ndarray,
    e: np.ndarray, T: np.ndarray, store: np.ndarray, V: np.ndarray, out: np.ndarray,
) -> int:
    """:func:`backward_fast` for a future formula whose automaton some letters reset:
    a letter that sends every transient state to the same column (``q`` in ``G (p ->
    F[0,b] q)``: every pending deadline is met). The chain states ``resets`` whose
    letter resets read one column ``rcol[b]`` of ``V`` (and ``beta``), so only those
    two of their values are kept; the other chain states, ``rows``, keep full rows,
    and the transition is dense over chain states (``T[s, s']``): the reset states
    enter every full row as one constant. For the response rules this halves the rows
    and replaces the per-atom butterflies (``M`` pairs over all ``m`` rows) by an
    ``|rows| x |rows|`` product. ``onr`` must name, for a reset state, its column,
    ``beta``'s or the rejecting sink's (checked by the caller)."""
    n, m = e.shape
    nt = V.shape[1] - 2
    nr, nc = rows.shape[0], resets.shape[0]
    X = np.zeros((nr, nt + 1))
    xc, xb = np.empty(nc), np.empty(nc)
    for i in range(n - 1, -1, -1):
        num = 0.0
        den = 0.0
        for s in range(m):
            w = store[i, s, 0]
            den += w * V[s, nt]
            num += w * V[s, onr[lett[s], 0]]
        if not den > 0.0:
            return i
        out[i] = num / den
        for a in range(nr):
            s = rows[a]
            es = e[i, s]
            ls = lett[s]
            for t in range(nt):
                X[a, t] = es * V[s, succ[ls, t]]
            X[a, nt] = es * V[s, nt]
        for b in range(nc):
            s = resets[b]
            es = e[i, s]
            xc[b] = es * V[s, rcol[b]]
            xb[b] = es * V[s, nt]
        for a in range(nr):  # the full rows
            r = rows[a]
            base = 0.0
            baseb = 0.0
            for b in range(nc):
                base += T[r, resets[b]] * xc[b]
                baseb += T[r, resets[b]] * xb[b]
            for t in range(nt):
                V[r, t] = base
            V[r, nt] = baseb
            for a2 in range(nr):
                w = T[r, rows[a2]]
                for t in range(nt + 1):
                    V[r, t] += w * X[a2, t]
        for b in range(nc):  # the reset states: their column and beta
            c = resets[b]
            col = rcol[b]
            vb = 0.0
            for b2 in range(nc):
                vb += T[c, resets[b2]] * xb[b2]
            for a2 in range(nr):
                vb += T[c, rows[a2]] * X[a2, nt]
            V[c, nt] = vb
            if col < nt:
                v = 0.0
                for b2 in range(nc):
                    v += T[c, resets[b2]] * xc[b2]
                for a2 in range(nr):
                    v += T[c, rows[a2]] * X[a2, col]
                V[c, col] = v
        tot = 0.0
        for s in range(m):
            tot += V[s, nt]
        if not (tot > TINY and tot < HUGE):
            if not tot > 0.0:
                return i
            for a in range(nr):
                for t in range(nt + 1):
                    V[rows[a], t] /= tot
            for b in range(nc):
                V[resets[b], nt] /= tot
                if rcol[b] < nt:
                    V[resets[b], rcol[b]] /= tot
    return -1


def backward_reset2(
    succ: np.ndarray, onr: np.ndarray, lett: np.ndarray, rows: np.ndarray, resets: np.ndarray, rcol: np.ndarray,
    e: np.ndarray, T: np.ndarray, store: np.ndarray, V: np.ndarray, out: np.ndarray,
) -> int:
    """:func:`backward_reset` with two full rows (one reset proposition over two chains:
    the response rules), on 1-d rows (``v0``, ``v1``: transient states, then ``beta``, then
    the rejecting sink's 0) so that the mixing loop vectorises."""
    n, m = e.shape
    nt = V.shape[1] - 2
    nc = resets.shape[0]
    r0, r1 = rows[0], rows[1]
    l0, l1 = lett[r0], lett[r1]
    g0, g1 = succ[l0].copy(), succ[l1].copy()
    t00, t01, t10, t11 = T[r0, r0], T[r0, r1], T[r1, r0], T[r1, r1]
    v0, v1 = V[r0].copy(), V[r1].copy()
    x0, x1 = np.empty(nt + 1), np.empty(nt + 1)
    vc, vb = np.empty(nc), np.empty(nc)  # the reset states' column and beta
    xc, xb = np.empty(nc), np.empty(nc)
    for b in range(nc):
        vc[b] = V[resets[b], rcol[b]]
        vb[b] = V[resets[b], nt]
    o0, o1 = onr[l0, 0], onr[l1, 0]
    oc, ob = np.zeros(nc), np.zeros(nc)  # a reset state's marker reads its column, beta or 0
    for b in range(nc):
        o = onr[lett[resets[b]], 0]
        if o == rcol[b]:
            oc[b] = 1.0
        elif o == nt:
            ob[b] = 1.0
    for i in range(n - 1, -1, -1):
        den = store[i, r0, 0] * v0[nt] + store[i, r1, 0] * v1[nt]
        num = store[i, r0, 0] * v0[o0] + store[i, r1, 0] * v1[o1]
        for b in range(nc):
            w = store[i, resets[b], 0]
            den += w * vb[b]
            num += w * (oc[b] * vc[b] + ob[b] * vb[b])
        if not den > 0.0:
            return i
        out[i] = num / den
        e0, e1 = e[i, r0], e[i, r1]
        for t in range(nt + 1):
            x0[t] = e0 * v0[g0[t]] if t < nt else e0 * v0[nt]
            x1[t] = e1 * v1[g1[t]] if t < nt else e1 * v1[nt]
        for b in range(nc):
            es = e[i, resets[b]]
            xc[b] = es * vc[b]
            xb[b] = es * vb[b]
        base0 = 0.0
        base1 = 0.0
        bb0 = 0.0
        bb1 = 0.0
        for b in range(nc):
            s = resets[b]
            base0 += T[r0, s] * xc[b]
            base1 += T[r1, s] * xc[b]
            bb0 += T[r0, s] * xb[b]
            bb1 += T[r1, s] * xb[b]
        for b in range(nc):
            c = resets[b]
            col = rcol[b]
            w = T[c, r0] * x0[nt] + T[c, r1] * x1[nt]
            for b2 in range(nc):
                w += T[c, resets[b2]] * xb[b2]
            vb[b] = w
            if col < nt:
                w = T[c, r0] * x0[col] + T[c, r1] * x1[col]
                for b2 in range(nc):
                    w += T[c, resets[b2]] * xc[b2]
                vc[b] = w
            elif col == nt:
                vc[b] = vb[b]
            else:
                vc[b] = 0.0
        for t in range(nt):
            v0[t] = base0 + t00 * x0[t] + t01 * x1[t]
            v1[t] = base1 + t10 * x0[t] + t11 * x1[t]
        v0[nt] = bb0 + t00 * x0[nt] + t01 * x1[nt]
        v1[nt] = bb1 + t10 * x0[nt] + t11 * x1[nt]
        tot = v0[nt] + v1[nt]
        for b in range(nc):
            tot += vb[b]
        if not (tot > TINY and tot < HUGE):
            if not tot > 0.0:
                return i
            for t in range(nt + 1):
                v0[t] /= tot
                v1[t] /= tot
            for b in range(nc):
                vc[b] /= tot
                vb[b] /= tot
    for t in range(nt + 2):
        V[r0, t], V[r1, t] = v0[t], v1[t]
    for b in range(nc):
        V[resets[b], nt] = vb[b]
        if rcol[b] < nt:
            V[resets[b], rcol[b]] = vc[b]
    return -1


def until_fused(
    x: np.ndarray, s1: np.ndarray, s0: np.ndarray, M: np.ndarray, p0: np.ndarray, selv: np.ndarray, selb: np.ndarray,
    onv: np.ndarray, onb: np.ndarray, final: float, f: np.ndarray, out: np.ndarray,
) -> int:
    """The whole forward–backward of a future formula whose automaton has one
    waiting state (``p U q``, ``F p``, ``G p`` over propositional operands) over
    chains without mutex groups, in two passes and no evidence array: the forward
    filter runs per proposition (``f[i, j]`` = chain ``j``'s unnormalised filtered
    (false, true) at ``i``), and the backward pass carries the chains' backward
    messages per proposition too (``bj``; the joint one is their product) and the
    waiting state's value ``v`` over joint chain states; the joint filtered message,
    evidence and backward message at a frame are made from the per-proposition
    ones by doubling. ``x`` the calibrated scores (frames, k), ``s1 = 1 / prior``,
    ``s0 = 1 / (1 - prior)``, ``p0`` the priors; ``selv[s]``, ``selb[s]``: joint
    state ``s``'s letter keeps the run waiting / accepts it; ``onv``, ``onb`` the
    same for the marker; ``final`` = the waiting state's acceptance after the last
    frame. Returns -1 or the frame whose observations are impossible."""
    n, k = x.shape
    m = selv.shape[0]
    a = np.empty((k, 2))
    for j in range(k):
        a[j, 0], a[j, 1] = 1.0 - p0[j], p0[j]
    for i in range(n):
        for j in range(k):
            xi = x[i, j]
            u0, u1 = a[j, 0] * ((1.0 - xi) * s0[j]), a[j, 1] * (xi * s1[j])
            tot = u0 + u1
            if not (tot > TINY and tot < HUGE):
                if not tot > 0.0:
                    return i
                u0, u1 = u0 / tot, u1 / tot
            r = 1.0 / tot  # stored normalised: the joint message is a product of k of them
            f[i, j, 0], f[i, j, 1] = u0 * r, u1 * r
            a[j, 0] = u0 * M[j, 0, 0] + u1 * M[j, 1, 0]
            a[j, 1] = u0 * M[j, 0, 1] + u1 * M[j, 1, 1]
    # the backward messages per proposition kept within [lo, hi] so that their product,
    # the joint one (which bounds v), stays within [TINY, HUGE]
    lo, hi = TINY ** (1.0 / k), HUGE ** (1.0 / k)
    bj = np.ones((k, 2))
    v = np.empty(m)
    for s in range(m):
        v[s] = final
    al, bb, ee = np.empty(m), np.empty(m), np.empty(m)
    for i in range(n - 1, -1, -1):
        al[0], bb[0], ee[0] = 1.0, 1.0, 1.0
        for j in range(k):
            bit = 1 << j
            xi = x[i, j]
            f0, f1 = f[i, j, 0], f[i, j, 1]
            b0, b1 = bj[j, 0], bj[j, 1]
            l0, l1 = (1.0 - xi) * s0[j], xi * s1[j]
            for s in range(bit):
                al[s + bit] = al[s] * f1
                al[s] *= f0
                bb[s + bit] = bb[s] * b1
                bb[s] *= b0
                ee[s + bit] = ee[s] * l1
                ee[s] *= l0
        num = 0.0
        den = 0.0
        for s in range(m):
            w = al[s]
            den += w * bb[s]
            num += w * (onv[s] * v[s] + onb[s] * bb[s])
        if not den > 0.0:
            return i
        out[i] = num / den
        for s in range(m):
            v[s] = ee[s] * (selv[s] * v[s] + selb[s] * bb[s])
        for j in range(k):
            bit = 1 << j
            m00, m01, m10, m11 = M[j, 0, 0], M[j, 0, 1], M[j, 1, 0], M[j, 1, 1]
            for base in range(0, m, 2 * bit):
                for s in range(base, base + bit):
                    x0, x1 = v[s], v[s + bit]
                    v[s] = m00 * x0 + m01 * x1
                    v[s + bit] = m10 * x0 + m11 * x1
            xi = x[i, j]
            y0, y1 = (1.0 - xi) * s0[j] * bj[j, 0], xi * s1[j] * bj[j, 1]
            b0, b1 = m00 * y0 + m01 * y1, m10 * y0 + m11 * y1
            tot = b0 + b1
            if not (tot > lo and tot < hi):
                if not tot > 0.0:
                    return i
                b0, b1 = b0 / tot, b1 / tot
                for s in range(m):
                    v[s] /= tot
            bj[j, 0], bj[j, 1] = b0, b1
    return -1


def until_one(
    x: np.ndarray, s1: float, s0: float, m00: float, m01: float, m10: float, m11: float, p0: float, sv0: float,
    sv1: float, sb0: float, sb1: float, ov0: float, ov1: float, ob0: float, ob1: float, final: float, f: np.ndarray,
    out: np.ndarray,
) -> int:
    """:func:`until_fused` for one proposition (``F p``, ``G p``) on scalars, which the
    compiled loop keeps in registers: ``x`` its calibrated scores, the chain's
    transition matrix ``m00 .. m11``, ``sv0, sv1`` = ``selv`` at false / true, and so on."""
    n = x.shape[0]
    a0, a1 = 1.0 - p0, p0
    for i in range(n):
        xi = x[i]
        u0, u1 = a0 * ((1.0 - xi) * s0), a1 * (xi * s1)
        tot = u0 + u1
        if not (tot > TINY and tot < HUGE):
            if not tot > 0.0:
                return i
            u0, u1 = u0 / tot, u1 / tot
        f[i, 0], f[i, 1] = u0, u1
        a0 = u0 * m00 + u1 * m10
        a1 = u0 * m01 + u1 * m11
    b0, b1, v0, v1 = 1.0, 1.0, final, final
    for i in range(n - 1, -1, -1):
        w0, w1 = f[i, 0], f[i, 1]
        den = w0 * b0 + w1 * b1
        num = w0 * (ov0 * v0 + ob0 * b0) + w1 * (ov1 * v1 + ob1 * b1)
        if not den > 0.0:
            return i
        out[i] = num / den
        xi = x[i]
        l0, l1 = (1.0 - xi) * s0, xi * s1
        y0, y1 = l0 * (sv0 * v0 + sb0 * b0), l1 * (sv1 * v1 + sb1 * b1)
        z0, z1 = l0 * b0, l1 * b1
        v0, v1 = m00 * y0 + m01 * y1, m10 * y0 + m11 * y1
        b0, b1 = m00 * z0 + m01 * z1, m10 * z0 + m11 * z1
        tot = b0 + b1
        if not (tot > TINY and tot < HUGE):
            if not tot > 0.0:
                return i
            b0, b1, v0, v1 = b0 / tot, b1 / tot, v0 / tot, v1 / tot
    return -1


def until_two(
    x: np.ndarray, s1: np.ndarray, s0: np.ndarray, M: np.ndarray, p0: np.ndarray, selv: np.ndarray, selb: np.ndarray,
    onv: np.ndarray, onb: np.ndarray, final: float, f: np.ndarray, out: np.ndarray,
) -> int:
    """:func:`until_fused` for two propositions (``p U q``) on scalars: the same
    arguments, read into locals once (joint state ``s`` = bit 0 for ``x[:, 0]``'s
    proposition, bit 1 for the other's)."""
    n = x.shape[0]
    sa1, sa0, sb1_, sb0_ = s1[0], s0[0], s1[1], s0[1]
    a00, a01, a10, a11 = M[0, 0, 0], M[0, 0, 1], M[0, 1, 0], M[0, 1, 1]
    c00, c01, c10, c11 = M[1, 0, 0], M[1, 0, 1], M[1, 1, 0], M[1, 1, 1]
    p, q = 1.0 - p0[0], p0[0]  # chain 0 (false, true), predicted
    r, t = 1.0 - p0[1], p0[1]  # chain 1
    for i in range(n):
        x0, x1 = x[i, 0], x[i, 1]
        u0, u1 = p * ((1.0 - x0) * sa0), q * (x0 * sa1)
        w0, w1 = r * ((1.0 - x1) * sb0_), t * (x1 * sb1_)
        tu, tw = u0 + u1, w0 + w1
        if not (tu > TINY and tu < HUGE and tw > TINY and tw < HUGE):
            if not (tu > 0.0 and tw > 0.0):
                return i
        ru, rw = 1.0 / tu, 1.0 / tw  # stored normalised (their products are the joint message)
        f[i, 0, 0], f[i, 0, 1], f[i, 1, 0], f[i, 1, 1] = u0 * ru, u1 * ru, w0 * rw, w1 * rw
        u0, u1, w0, w1 = u0 * ru, u1 * ru, w0 * rw, w1 * rw
        p, q = u0 * a00 + u1 * a10, u0 * a01 + u1 * a11
        r, t = w0 * c00 + w1 * c10, w0 * c01 + w1 * c11
    v0 = v1 = v2 = v3 = final
    g0, g1, h0, h1 = 1.0, 1.0, 1.0, 1.0  # per-proposition backward messages
    sv0, sv1, sv2, sv3 = selv[0], selv[1], selv[2], selv[3]
    sb0, sb1, sb2, sb3 = selb[0], selb[1], selb[2], selb[3]
    ov0, ov1, ov2, ov3 = onv[0], onv[1], onv[2], onv[3]
    ob0, ob1, ob2, ob3 = onb[0], onb[1], onb[2], onb[3]
    for i in range(n - 1, -1, -1):
        e0, e1, k0, k1 = f[i, 0, 0], f[i, 0, 1], f[i, 1, 0], f[i, 1, 1]
        b0, b1, b2, b3 = g0 * h0, g1 * h0, g0 * h1, g1 * h1
        al0, al1, al2, al3 = e0 * k0, e1 * k0, e0 * k1, e1 * k1
        den = (e0 * g0 + e1 * g1) * (k0 * h0 + k1 * h1)
        num = (
            al0 * (ov0 * v0 + ob0 * b0) + al1 * (ov1 * v1 + ob1 * b1)
            + al2 * (ov2 * v2 + ob2 * b2) + al3 * (ov3 * v3 + ob3 * b3)
        )
        if not den > 0.0:
            return i
        out[i] = num / den
        x0, x1 = x[i, 0], x[i, 1]
        l0, l1 = (1.0 - x0) * sa0, x0 * sa1
        n0, n1 = (1.0 - x1) * sb0_, x1 * sb1_
        y0 = l0 * n0 * (sv0 * v0 + sb0 * b0)
        y1 = l1 * n0 * (sv1 * v1 + sb1 * b1)
        y2 = l0 * n1 * (sv2 * v2 + sb2 * b2)
        y3 = l1 * n1 * (sv3 * v3 + sb3 * b3)
        y0, y1, y2, y3 = a00 * y0 + a01 * y1, a10 * y0 + a11 * y1, a00 * y2 + a01 * y3, a10 * y2 + a11 * y3
        v0, v2, v1, v3 = c00 * y0 + c01 * y2, c10 * y0 + c11 * y2, c00 * y1 + c01 * y3, c10 * y1 + c11 * y3
        z0, z1 = l0 * g0, l1 * g1
        g0, g1 = a00 * z0 + a01 * z1, a10 * z0 + a11 * z1
        z0, z1 = n0 * h0, n1 * h1
        h0, h1 = c00 * z0 + c01 * z1, c10 * z0 + c11 * z1
        tg, th = g0 + g1, h0 + h1
        if not (tg > 1e-50 and tg < 1e50 and th > 1e-50 and th < 1e50):
            if not (tg > 0.0 and th > 0.0):
                return i
            sc = 1.0 / (tg * th)
            g0, g1, h0, h1 = g0 / tg, g1 / tg, h0 / th, h1 / th
            v0, v1, v2, v3 = v0 * sc, v1 * sc, v2 * sc, v3 * sc
    return -1


# until_three: generated by unrolling until_fused for k = 3 (the same recursions)
def until_three(
    x: np.ndarray, s1: np.ndarray, s0: np.ndarray, M: np.ndarray, p0: np.ndarray, selv: np.ndarray, selb: np.ndarray,
    onv: np.ndarray, onb: np.ndarray, final: float, f: np.ndarray, out: np.ndarray,
) -> int:
    """:func:`until_fused` for 3 propositions, unrolled onto scalars (generated: one
    local per chain entry, joint state and selector, so that the compiled loop keeps
    them in registers)."""
    n = x.shape[0]
    h0, z0 = s1[0], s0[0]
    m000, m001, m010, m011 = M[0, 0, 0], M[0, 0, 1], M[0, 1, 0], M[0, 1, 1]
    a00, a01 = 1.0 - p0[0], p0[0]
    h1, z1 = s1[1], s0[1]
    m100, m101, m110, m111 = M[1, 0, 0], M[1, 0, 1], M[1, 1, 0], M[1, 1, 1]
    a10, a11 = 1.0 - p0[1], p0[1]
    h2, z2 = s1[2], s0[2]
    m200, m201, m210, m211 = M[2, 0, 0], M[2, 0, 1], M[2, 1, 0], M[2, 1, 1]
    a20, a21 = 1.0 - p0[2], p0[2]
    for i in range(n):
        x0 = x[i, 0]
        u00, u01 = a00 * ((1.0 - x0) * z0), a01 * (x0 * h0)
        t0 = u00 + u01
        x1 = x[i, 1]
        u10, u11 = a10 * ((1.0 - x1) * z1), a11 * (x1 * h1)
        t1 = u10 + u11
        x2 = x[i, 2]
        u20, u21 = a20 * ((1.0 - x2) * z2), a21 * (x2 * h2)
        t2 = u20 + u21
        if not (t0 > TINY and t0 < HUGE and t1 > TINY and t1 < HUGE and t2 > TINY and t2 < HUGE):
            if not (t0 > 0.0 and t1 > 0.0 and t2 > 0.0):
                return i
        r0 = 1.0 / t0  # stored normalised (their products are the joint message)
        u00, u01 = u00 * r0, u01 * r0
        f[i, 0, 0], f[i, 0, 1] = u00, u01
        a00, a01 = u00 * m000 + u01 * m010, u00 * m001 + u01 * m011
        r1 = 1.0 / t1  # stored normalised (their products are the joint message)
        u10, u11 = u10 * r1, u11 * r1
        f[i, 1, 0], f[i, 1, 1] = u10, u11
        a10, a11 = u10 * m100 + u11 * m110, u10 * m101 + u11 * m111
        r2 = 1.0 / t2  # stored normalised (their products are the joint message)
        u20, u21 = u20 * r2, u21 * r2
        f[i, 2, 0], f[i, 2, 1] = u20, u21
        a20, a21 = u20 * m200 + u21 * m210, u20 * m201 + u21 * m211
    lo, hi = TINY ** (1.0 / 3), HUGE ** (1.0 / 3)
    sv0, sb0, ov0, ob0 = selv[0], selb[0], onv[0], onb[0]
    sv1, sb1, ov1, ob1 = selv[1], selb[1], onv[1], onb[1]
    sv2, sb2, ov2, ob2 = selv[2], selb[2], onv[2], onb[2]
    sv3, sb3, ov3, ob3 = selv[3], selb[3], onv[3], onb[3]
    sv4, sb4, ov4, ob4 = selv[4], selb[4], onv[4], onb[4]
    sv5, sb5, ov5, ob5 = selv[5], selb[5], onv[5], onb[5]
    sv6, sb6, ov6, ob6 = selv[6], selb[6], onv[6], onb[6]
    sv7, sb7, ov7, ob7 = selv[7], selb[7], onv[7], onb[7]
    v0, v1, v2, v3, v4, v5, v6, v7 = final, final, final, final, final, final, final, final
    g00, g01, g10, g11, g20, g21 = 1.0, 1.0, 1.0, 1.0, 1.0, 1.0
    for i in range(n - 1, -1, -1):
        e00, e01 = f[i, 0, 0], f[i, 0, 1]
        e10, e11 = f[i, 1, 0], f[i, 1, 1]
        e20, e21 = f[i, 2, 0], f[i, 2, 1]
        den = (e00 * g00 + e01 * g01) * (e10 * g10 + e11 * g11) * (e20 * g20 + e21 * g21)
        b0 = g00 * g10 * g20
        b1 = g01 * g10 * g20
        b2 = g00 * g11 * g20
        b3 = g01 * g11 * g20
        b4 = g00 * g10 * g21
        b5 = g01 * g10 * g21
        b6 = g00 * g11 * g21
        b7 = g01 * g11 * g21
        num = (
            + e00 * e10 * e20 * (ov0 * v0 + ob0 * b0)
            + e01 * e10 * e20 * (ov1 * v1 + ob1 * b1)
            + e00 * e11 * e20 * (ov2 * v2 + ob2 * b2)
            + e01 * e11 * e20 * (ov3 * v3 + ob3 * b3)
            + e00 * e10 * e21 * (ov4 * v4 + ob4 * b4)
            + e01 * e10 * e21 * (ov5 * v5 + ob5 * b5)
            + e00 * e11 * e21 * (ov6 * v6 + ob6 * b6)
            + e01 * e11 * e21 * (ov7 * v7 + ob7 * b7)
        )
        if not den > 0.0:
            return i
        out[i] = num / den
        x0 = x[i, 0]
        l00, l01 = (1.0 - x0) * z0, x0 * h0
        x1 = x[i, 1]
        l10, l11 = (1.0 - x1) * z1, x1 * h1
        x2 = x[i, 2]
        l20, l21 = (1.0 - x2) * z2, x2 * h2
        y0 = l00 * l10 * l20 * (sv0 * v0 + sb0 * b0)
        y1 = l01 * l10 * l20 * (sv1 * v1 + sb1 * b1)
        y2 = l00 * l11 * l20 * (sv2 * v2 + sb2 * b2)
        y3 = l01 * l11 * l20 * (sv3 * v3 + sb3 * b3)
        y4 = l00 * l10 * l21 * (sv4 * v4 + sb4 * b4)
        y5 = l01 * l10 * l21 * (sv5 * v5 + sb5 * b5)
        y6 = l00 * l11 * l21 * (sv6 * v6 + sb6 * b6)
        y7 = l01 * l11 * l21 * (sv7 * v7 + sb7 * b7)
        y0, y1 = m000 * y0 + m001 * y1, m010 * y0 + m011 * y1
        y2, y3 = m000 * y2 + m001 * y3, m010 * y2 + m011 * y3
        y4, y5 = m000 * y4 + m001 * y5, m010 * y4 + m011 * y5
        y6, y7 = m000 * y6 + m001 * y7, m010 * y6 + m011 * y7
        y0, y2 = m100 * y0 + m101 * y2, m110 * y0 + m111 * y2
        y1, y3 = m100 * y1 + m101 * y3, m110 * y1 + m111 * y3
        y4, y6 = m100 * y4 + m101 * y6, m110 * y4 + m111 * y6
        y5, y7 = m100 * y5 + m101 * y7, m110 * y5 + m111 * y7
        y0, y4 = m200 * y0 + m201 * y4, m210 * y0 + m211 * y4
        y1, y5 = m200 * y1 + m201 * y5, m210 * y1 + m211 * y5
        y2, y6 = m200 * y2 + m201 * y6, m210 * y2 + m211 * y6
        y3, y7 = m200 * y3 + m201 * y7, m210 * y3 + m211 * y7
        c0, c1 = l00 * g00, l01 * g01
        g00, g01 = m000 * c0 + m001 * c1, m010 * c0 + m011 * c1
        c0, c1 = l10 * g10, l11 * g11
        g10, g11 = m100 * c0 + m101 * c1, m110 * c0 + m111 * c1
        c0, c1 = l20 * g20, l21 * g21
        g20, g21 = m200 * c0 + m201 * c1, m210 * c0 + m211 * c1
        v0, v1, v2, v3, v4, v5, v6, v7 = y0, y1, y2, y3, y4, y5, y6, y7
        t0 = g00 + g01
        t1 = g10 + g11
        t2 = g20 + g21
        if not (t0 > lo and t0 < hi and t1 > lo and t1 < hi and t2 > lo and t2 < hi):
            if not (t0 > 0.0 and t1 > 0.0 and t2 > 0.0):
                return i
            sc = 1.0 / (t0 * t1 * t2)
            g00, g01 = g00 / t0, g01 / t0
            g10, g11 = g10 / t1, g11 / t1
            g20, g21 = g20 / t2, g21 / t2
            v0, v1, v2, v3, v4, v5, v6, v7 = v0 * sc, v1 * sc, v2 * sc, v3 * sc, v4 * sc, v5 * sc, v6 * sc, v7 * sc
    return -1


_UNROLLED = {2: until_two, 3: until_three}  # until_fused on scalars, by the number of propositions


@cache
def _register() -> bool:
    try:
        from numba.extending import overload
    except ImportError:  # pragma: no cover - K.compiled warns and runs plain Python
        return False
    for step in (fwd_transform, bwd_transform):  # inlined into the compiled loops
        overload(step, strict=False, inline="always")(lambda *args, _step=step: _step)
    # (LLVM inlines these; numba-level inlining only made the compile slower)
    for step in (likelihood, fwd_pairs, bwd_pairs, fwd_rows, bwd_rows):
        overload(step, strict=False)(lambda *args, _step=step: _step)
    return True


class _PlainWork:
    """How much work the plain loops have run in this process (see JIT_TOTAL): a
    speed heuristic only; plain and compiled loops give the same numbers."""

    done = 0


def _fast(fn, work: int):  # type: ignore[no-untyped-def]
    if work < JIT_WORK and _PlainWork.done < JIT_TOTAL:
        _PlainWork.done += work
        return fn
    return _compiled(fn)


@cache
def _compiled(fn):  # type: ignore[no-untyped-def]
    """``fn`` compiled (:func:`kernels.compiled_cached`) with this module's steps registered."""
    _register()
    return K.compiled_cached(fn)


# ------------------------------------------------------------------ filtering (monitors)


class WorldFilter:
    """The distribution over an automaton's states given the frames read so far,
    under a :class:`Markov` world: a forward filter over (automaton state x joint
    chain state of ``names`` and their mutex partners).

    ``names`` are the automaton's propositions in letter order (bit ``j`` of a
    letter = ``names[j]``). Frames map names to probabilities; a mutex partner
    missing from a frame is unobserved there.

    >>> from framelogic.automata import compile
    >>> d = compile("F (p & !X true)")   # "p holds at the last frame"
    >>> wf = WorldFilter(d, d.atoms, Markov(stay=0.9), None)
    >>> [round(float(wf.step({"p": x})[d.accepting].sum()), 3) for x in (0.9, 0.5)]
    [0.9, 0.82]
    """

    def __init__(self, automaton, names: Sequence[str], world: Markov, rate: float | None) -> None:  # type: ignore[no-untyped-def]
        if not isinstance(world, Markov):
            raise InvalidArgument(f"world={world!r} must be a Markov world (Independent needs no filter)")
        names = tuple(names)
        if len(names) != len(automaton.atoms):
            raise InvalidValue(f"names={list(names)} must name the automaton's {len(automaton.atoms)} propositions in letter order")
        self.automaton = automaton
        self.names = names
        self.world = world
        self.rate = rate
        parts = getattr(world, "filter_parts", None)  # [observe hook] a Hidden world's joint chain
        self.chain = parts(closure(names, world)) if parts is not None else Chain(closure(names, world), world, rate)
        c = self.chain
        delta = np.asarray(automaton.delta, dtype=np.int64)
        # (state, joint chain state) -> flat index of the successor pair: the update is one bincount
        self._target = (delta[:, c.letters(len(names))] * c.m + np.arange(c.m)[None, :]).ravel()
        self._T = c.dense
        self._initial = int(automaton.initial)
        self.reset()

    def reset(self) -> None:
        """Forget every frame read."""
        self._joint = np.zeros((self.automaton.n_states, self.chain.m))
        self._joint[self._initial] = self.chain.initial
        self.frame = 0

    @property
    def joint(self) -> np.ndarray:
        """P(automaton state, joint chain state | frames so far), (states, 2^k)."""
        return self._joint.copy()

    def step(self, frame: Mapping[str, float]) -> np.ndarray:
        """Read one frame; the normalised distribution over automaton states after it."""
        c = self.chain
        obs = np.empty((1, c.k))
        for j, a in enumerate(c.atoms):
            if a in frame:
                try:
                    p = float(frame[a])
                except (TypeError, ValueError):
                    raise TraceError(f"frame {self.frame}: {a}={frame[a]!r} is not a probability in [0, 1]") from None
                if not 0.0 <= p <= 1.0:
                    raise TraceError(f"frame {self.frame}: {a}={p!r} is not a probability in [0, 1]")
                obs[0, j] = self.world.calibrate(a, np.array([p]))[0]
            elif j < len(self.names):
                raise TraceError(f"frame {self.frame} has no value for {a!r}; it has {sorted(frame)}")
            else:
                obs[0, j] = c.priors[j]
        x = obs[0]
        if hasattr(c, "frame_step"):  # [observe hook] a Hidden world's chains (AR(1) noise: evidence on the transition)
            F, e = c.frame_step(self._joint, x, self.frame == 0)
        else:
            e = c.valid * np.prod(np.where(c.bits, x / c.priors, (1.0 - x) / (1.0 - c.priors)), axis=1)
            F = self._joint if self.frame == 0 else self._joint @ self._T  # predict
        G = np.bincount(self._target, weights=(F * e).ravel(), minlength=F.size)
        total = G.sum()
        if not total > 0.0:
            raise InvalidValue(
                f"frame {self.frame}: the observations {dict((a, float(obs[0, j])) for j, a in enumerate(c.atoms))} "
                f"are impossible under {self.world!r} after the frames before (0/1 values that contradict "
                "a mutex group or each other)"
            )
        self._joint = G.reshape(F.shape) / total
        self.frame += 1
        return self._joint.sum(axis=1)


# ------------------------------------------------------------------ smoothing (evaluate)


_SCRATCH = threading.local()
SCRATCH_KEPT = 1 << 22  # floats (32 MiB) per work array at most kept per thread


def _scratch(name: str, size: int) -> np.ndarray:
    """A work array of ``size`` floats, this thread's own, kept between calls: a fresh
    array of a long trace's size costs its page faults on every call (about as much as
    the loop that fills it)."""
    if size > SCRATCH_KEPT:  # not kept: memory held between calls stays small
        return np.empty(size)
    store = _SCRATCH.__dict__
    a = store.get(name)
    if a is None or a.shape[0] < size:
        a = store[name] = np.empty(max(size, 1024))
    return a[:size]


def _impossible(i: int, world: Markov, atoms: Sequence[str]) -> InvalidValue:
    return InvalidValue(
        f"the observations of {list(atoms)} around frame {i} are impossible under {world!r}: "
        "0/1 values contradict a mutex group (or each other through the chain); use probabilities "
        "strictly between 0 and 1 for uncertain frames"
    )


def _smooth(
    chain: Chain, obs: np.ndarray, own: int, dp: np.ndarray, init: int, onc: np.ndarray, dfc: np.ndarray,
    final: np.ndarray,
) -> np.ndarray:
    """``out[i]`` = P(the post-automaton, started at ``on[pre state before i, letter i]``,
    accepts after the last frame | all observations), see :func:`world_signal`."""
    n = obs.shape[0]
    m = chain.m
    obs = np.ascontiguousarray(obs)
    scale, valid = chain.scale, chain.valid
    lett = chain.letters(own)
    M = np.ascontiguousarray(chain.M)
    nq, nf = dp.shape[0], dfc.shape[0]
    step = max(1, CHUNK_CELLS // (nq * m))
    starts = list(range(0, n, step))
    fwd = _fast(forward_world, n * nq * m)
    back = _fast(backward_world, n * (nf + nq) * m)
    A = np.zeros((nq, m))
    A[init] = chain.initial
    checkpoints = []
    none = np.empty((0, nq, m))
    if len(starts) > 1:
        for start in starts:
            checkpoints.append(A.copy())
            bad = fwd(dp, lett, obs[start : start + step], scale, valid, M, A, none, False)
            if bad >= 0:
                raise _impossible(start + bad, chain.world, chain.atoms)
    else:
        checkpoints.append(A)
    out = np.empty(n)
    V = np.repeat(final.astype(np.float64)[:, None], m, axis=1)  # after the last frame
    beta = np.ones(m)
    for c in range(len(starts) - 1, -1, -1):
        start = starts[c]
        chunk = obs[start : start + step]
        store = np.empty((chunk.shape[0], nq, m))
        A = checkpoints[c].copy()
        bad = fwd(dp, lett, chunk, scale, valid, M, A, store, True)
        if bad >= 0:
            raise _impossible(start + bad, chain.world, chain.atoms)
        bad = back(dfc, onc, lett, chunk, scale, valid, M, store, V, beta, out[start : start + chunk.shape[0]])
        if bad >= 0:
            raise _impossible(start + bad, chain.world, chain.atoms)
    return np.clip(out, 0.0, 1.0)


def _evidence(chain: Chain, n: int):  # type: ignore[no-untyped-def]
    """A function: a chunk of observations -> its evidence (see :func:`evidence_fast`)."""
    fill = _fast(evidence_fast, n * chain.m)
    scale, valid = chain.scale, chain.valid

    def evidence(obs: np.ndarray) -> np.ndarray:
        e = np.empty((obs.shape[0], chain.m))
        fill(np.ascontiguousarray(obs), scale, valid, e)
        return e

    return evidence


def _reset_args(chain: Chain, own: int, tables):  # type: ignore[no-untyped-def]
    """``(_resets(...), the dense chain transition)`` of a part, or None (made once per part)."""
    dp, _, onc, dfc, _ = tables
    nt = dfc.shape[0]
    cols = lambda c: np.ascontiguousarray(np.where(c >= 0, c, np.where(c == -1, nt, nt + 1)).T, dtype=np.int32)  # noqa: E731
    reset = _resets(cols(dfc), cols(onc), chain.letters(own), dp.shape[0])
    return None if reset is None else (reset, np.ascontiguousarray(chain.dense))


def _resets(succ: np.ndarray, onr: np.ndarray, lett: np.ndarray, nq: int):  # type: ignore[no-untyped-def]
    """``(rows, resets, rcol)`` for :func:`backward_reset`: the chain states whose letter
    sends every transient state to one column (and whose marker reads that column,
    ``beta`` or the rejecting sink), or None when no state does (or the part has
    several pre states)."""
    nt = succ.shape[1]
    if nq != 1 or nt < 2:
        return None
    rows, resets, rcol = [], [], []
    for s, ls in enumerate(lett.tolist()):
        col = int(succ[ls, 0])
        if np.all(succ[ls] == col) and int(onr[ls, 0]) in (col, nt, nt + 1):
            resets.append(s)
            rcol.append(col)
        else:
            rows.append(s)
    if not resets:
        return None
    c = lambda v: np.array(v, dtype=np.int64)  # noqa: E731
    return c(rows), c(resets), c(rcol)


def _smooth_fast(
    chain: Chain, obs: np.ndarray, own: int, dp: np.ndarray, init: int, onc: np.ndarray, dfc: np.ndarray,
    final: np.ndarray, reset=None,  # type: ignore[no-untyped-def]
) -> np.ndarray:
    """:func:`_smooth` with the fast loops: the evidence made once per chunk, the
    sinks as columns, unnormalised messages, chain state first so that each step's
    inner loops run along contiguous rows; a future formula over chains without
    mutex groups filters each chain on its own (:func:`filter_atoms`), and one with
    a single transient state runs :func:`backward_one`, one with resetting letters
    :func:`backward_reset` (``reset``: the part's :func:`_reset_args`, False for none,
    None to make them here)."""
    n = obs.shape[0]
    m = chain.m
    lett = chain.letters(own)
    M = np.ascontiguousarray(chain.M)
    nq, nt = dp.shape[0], dfc.shape[0]
    # codes -> columns of V: transient states 0.., the accepting sink nt, the rejecting nt + 1
    cols = lambda c: np.ascontiguousarray(np.where(c >= 0, c, np.where(c == -1, nt, nt + 1)).T, dtype=np.int32)  # noqa: E731
    succ, onr = cols(dfc), cols(onc)
    if nt == 1 and nq == 1:  # one transient state: two vectors, 0/1 weights per chain state
        one = _fast(backward_one, n * 2 * m)
        sel = [np.ascontiguousarray(c[lett, 0] == col, dtype=np.float64) for c in (succ, onr) for col in (0, 1)]

        def back(succ, onr, lett, e, M, store, V, out):  # type: ignore[no-untyped-def]
            return one(sel[0], sel[1], sel[2], sel[3], e, M, store, V, out)

    elif SPECIALISED and (reset if reset is not None else (reset := _reset_args(chain, own, (dp, init, onc, dfc, final)))):
        reset, T = reset
        rr = _fast(backward_reset2 if len(reset[0]) == 2 else backward_reset, n * (nt + nq) * m)

        def back(succ, onr, lett, e, M, store, V, out):  # type: ignore[no-untyped-def]
            return rr(succ, onr, lett, *reset, e, T, store, V, out)

    else:
        back = _fast(backward_fast, n * (nt + nq) * m)
    evidence = _evidence(chain, n)
    if nq == 1 and chain.valid.all():
        atoms, scale = _fast(filter_atoms, n * chain.k * 4), chain.scale
        A = np.column_stack([1.0 - chain.priors, chain.priors])

        def forward(chunk: np.ndarray, e: np.ndarray | None, A: np.ndarray, store: np.ndarray, keep: bool) -> int:
            return atoms(np.ascontiguousarray(chunk), scale, M, A, store, keep)

    else:
        fwd, dpT = _fast(forward_fast, n * nq * m), np.ascontiguousarray(dp.T, dtype=np.int32)
        A = np.zeros((m, nq))
        A[:, init] = chain.initial

        def forward(chunk: np.ndarray, e: np.ndarray | None, A: np.ndarray, store: np.ndarray, keep: bool) -> int:
            return fwd(dpT, lett, evidence(chunk) if e is None else e, M, A, store, keep)

    step = max(1, CHUNK_CELLS // ((nq + nt) * m))
    starts = list(range(0, n, step))
    checkpoints = []
    none = np.empty((0, m, nq))
    if len(starts) > 1:
        for start in starts:
            checkpoints.append(A.copy())
            bad = forward(obs[start : start + step], None, A, none, False)
            if bad >= 0:
                raise _impossible(start + bad, chain.world, chain.atoms)
    else:
        checkpoints.append(A)
    out = np.empty(n)
    V = np.zeros((m, nt + 2))  # after the last frame: the transient states' acceptance, beta = 1, 0
    V[:, :nt] = final.astype(np.float64)[None, :]
    V[:, nt] = 1.0
    for c in range(len(starts) - 1, -1, -1):
        start = starts[c]
        chunk = obs[start : start + step]
        e = evidence(chunk)
        store = np.empty((e.shape[0], m, nq))
        bad = forward(chunk, e, checkpoints[c].copy(), store, True)
        if bad >= 0:
            raise _impossible(start + bad, chain.world, chain.atoms)
        bad = back(succ, onr, lett, e, M, store, V, out[start : start + e.shape[0]])
        if bad >= 0:
            raise _impossible(start + bad, chain.world, chain.atoms)
    return np.clip(out, 0.0, 1.0, out=out)


def _reachable(delta: np.ndarray, starts: np.ndarray) -> np.ndarray:
    seen = np.zeros(delta.shape[0], dtype=bool)
    frontier = np.unique(starts)
    seen[frontier] = True
    while len(frontier):
        nxt = np.unique(delta[frontier].ravel())
        nxt = nxt[~seen[nxt]]
        seen[nxt] = True
        frontier = nxt
    return np.flatnonzero(seen)


def _tables(prog) -> tuple[np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """``(dp, init, onc, dfc, final)`` of a compiled part (future, past or marked):
    the pre automaton, the marker's and the post automaton's transitions as codes
    (see :func:`backward_world`) over the states the marker can reach, and which
    transient post states accept."""
    d = prog.dfa
    delta = d.delta
    if prog.kind == "future":
        dp = np.zeros((1, delta.shape[1]), dtype=np.int32)
        init, on, df, accf = 0, delta[d.initial][None, :], delta, d.accepting
    elif prog.kind == "past":
        dp, init = delta, d.initial
        on = d.accepting[delta].astype(np.int32)
        df = np.array([[0] * delta.shape[1], [1] * delta.shape[1]], dtype=np.int32)
        accf = np.array([False, True])
    else:
        half = delta.shape[1] // 2
        off, onl = delta[:, :half], delta[:, half:]
        pre = _reachable(off, np.array([d.initial]))
        local = np.full(d.n_states, -1, dtype=np.int64)
        local[pre] = np.arange(len(pre))
        dp, init, on, df, accf = local[off[pre]], int(local[d.initial]), onl[pre], off, d.accepting
    # post states the marker reaches, as codes: transient states 0.., the accepting
    # sink -1 (its value is the chain's backward message), the rejecting sink -2 (0)
    post = _reachable(df, on.ravel())
    selfloop = np.all(df == np.arange(df.shape[0])[:, None], axis=1)
    code = np.full(df.shape[0], -9, dtype=np.int64)
    code[selfloop & accf] = -1
    code[selfloop & ~accf] = -2
    trans = post[~selfloop[post]]
    code[trans] = np.arange(len(trans))
    c = np.ascontiguousarray
    return c(dp, dtype=np.int32), int(init), c(code[on], dtype=np.int32), c(code[df[trans]], dtype=np.int32), accf[trans]


def _fused_args(kind: str, tables, chain: Chain, own: int):  # type: ignore[no-untyped-def]
    """The arguments of :func:`until_fused` after the scores, for a part it runs (a
    future formula with one waiting state over chains without mutex partners), else None."""
    dp, _, onc, dfc, final = tables
    if kind != "future" or dp.shape[0] != 1 or dfc.shape[0] != 1 or chain.k != own or not chain.valid.all():
        return None
    c = np.ascontiguousarray
    sel = [c(codes[0] == code, dtype=np.float64) for codes in (dfc, onc) for code in (0, -1)]
    pr = chain.priors
    if own == 1:  # until_one's scalars
        (m00, m01), (m10, m11) = chain.M[0].tolist()
        p = float(pr[0])
        return (1.0 / p, 1.0 / (1.0 - p), m00, m01, m10, m11, p, *[float(v) for s in sel for v in s], float(final[0]))
    return (c(1.0 / pr), c(1.0 / (1.0 - pr)), c(chain.M), c(pr), *sel, float(final[0]))


def _mirror(g):  # type: ignore[no-untyped-def]
    """The future formula that holds at frame ``n - 1 - i`` of the reversed trace exactly
    when the past formula ``g`` holds at ``i`` (Y -> X, S -> U, O -> F, H -> G, bounds
    kept), or None when ``g`` has a future operator."""
    from framelogic.logic import ast as A

    match g:
        case A.Const() | A.Atom():
            return g
        case A.Not(a):
            m = _mirror(a)
            return None if m is None else A.Not(m)
        case A.And(args) | A.Or(args):
            ms = [_mirror(a) for a in args]
            return None if any(m is None for m in ms) else type(g)(tuple(ms))
        case A.Implies(a, b) | A.Iff(a, b):
            ma, mb = _mirror(a), _mirror(b)
            return None if ma is None or mb is None else type(g)(ma, mb)
        case A.Prev(a):
            m = _mirror(a)
            return None if m is None else A.Next(m)
        case A.Since(a, b, bound):
            ma, mb = _mirror(a), _mirror(b)
            return None if ma is None or mb is None else A.Until(ma, mb, bound)
        case A.Once(a, bound):
            m = _mirror(a)
            return None if m is None else A.Eventually(m, bound)
        case A.Historically(a, bound):
            m = _mirror(a)
            return None if m is None else A.Always(m, bound)
    return None


class _Leaf:
    """One part of a :class:`WorldPlan`: its chain and how it is smoothed."""

    def __init__(self, g, world: Markov, rate: float | None, budget: int) -> None:  # type: ignore[no-untyped-def]
        from framelogic.logic.passes import atom_names
        from framelogic.logic.semantics import satisfaction

        from .engine import _Program
        from .letters import decode
        from .plan import is_propositional

        self.formula = g
        self.world = world
        own = self.own = atom_names(g)
        self.chain = Chain(closure(own, world), world, rate) if own else None
        self.truth = self.tables = self.fused = self.reset = None
        if not own:  # no proposition (X true: the trace does not end here)
            self.method = "no propositions"
        elif is_propositional(g):  # the chain's posterior marginals, no automaton
            self.method = "chain"
            self.truth = satisfaction(g, TraceTable(own, decode(range(1 << len(own)), len(own)))).astype(np.float64)
        else:
            from framelogic.logic.errors import AutomatonTooLarge
            from framelogic.logic.printer import to_text

            self.method = "automaton"
            try:
                prog = _Program(g, budget, split_past=True)
            except AutomatonTooLarge as err:
                raise AutomatonTooLarge(
                    f"the part {to_text(g)} has no exact evaluation under the Markov world within "
                    f"max_states={budget} (its automaton is too large; under Markov there are no closed "
                    f"forms or certified bounds); raise max_states or shorten its windows. The "
                    f"construction said: {err}"
                ) from err
            self.tables = _tables(prog)
            self.kind = prog.kind
            self.fused = _fused_args(self.kind, self.tables, self.chain, len(own))
            self.reset = _reset_args(self.chain, len(own), self.tables) or False  # False: none
            self.reverse = False
            if self.kind == "past" and self.chain.k == len(own) and self.chain.valid.all():
                # A stationary two-state chain is reversible, and so is a product of them:
                # the hidden trajectories read backwards have the same law. So a past
                # formula at i is its future mirror at n - 1 - i on the reversed scores,
                # which the fused loops run when its automaton has one waiting state.
                mirror = _mirror(g)
                if mirror is not None:
                    try:
                        mprog = _Program(mirror, budget, split_past=True)
                    except AutomatonTooLarge:  # pragma: no cover - the past automaton fitted
                        mprog = None
                    if mprog is not None and mprog.kind == "future":
                        fused = _fused_args("future", _tables(mprog), self.chain, len(own))
                        if fused is not None:
                            self.fused, self.reverse = fused, True

    def __call__(self, t: TraceTable) -> np.ndarray:
        n = len(t)
        chain = self.chain
        if chain is None:
            from .engine import Evaluator

            return np.asarray(Evaluator(self.formula)(TraceTable((), np.zeros((n, 0)))), dtype=np.float64)
        hook = getattr(self.world, "leaf_signal", None)  # [observe hook] a Hidden world runs its own chains
        if hook is not None:
            return hook(self, t)
        obs = chain.columns(t)
        if self.method == "automaton":
            if self.fused is not None and not REFERENCE:
                if self.reverse:
                    obs = np.ascontiguousarray(obs[::-1])
                f, out = _scratch("f", n * chain.k * 2).reshape(n, chain.k, 2), np.empty(n)
                if chain.k == 1:
                    bad = _fast(until_one, n * 8)(obs[:, 0], *self.fused, f[:, 0], out)
                else:
                    bad = _fast(_UNROLLED.get(chain.k, until_fused), n * chain.m * 4)(obs, *self.fused, f, out)
                if bad >= 0:  # pragma: no cover - no mutex group: every observation is possible
                    raise _impossible(n - 1 - bad if self.reverse else bad, self.world, chain.atoms)
                return np.ascontiguousarray(out[::-1]) if self.reverse else out  # WorldPlan clips
            if REFERENCE:
                return _smooth(chain, obs, len(self.own), *self.tables)
            return _smooth_fast(chain, obs, len(self.own), *self.tables, reset=self.reset)
        out = np.empty(n)
        if not REFERENCE:
            if chain.k == 1:
                pr = chain.priors[0]
                f1, f0 = _scratch("f1", n), _scratch("f0", n)
                up, stay = chain.M[0, 0, 1], chain.M[0, 1, 1]
                x = np.ascontiguousarray(obs[:, 0])
                bad = _fast(smooth_one_fast, n * 8)(x, 1.0 / pr, 1.0 / (1.0 - pr), up, stay, chain.initial[1], f1, f0, out)
                if bad >= 0:
                    raise _impossible(bad, self.world, chain.atoms)
                t0, t1 = self.truth[0], self.truth[1]
                if t0 == 0.0 and t1 == 1.0:
                    return np.clip(out, 0.0, 1.0, out=out)
                return np.clip(t0 + (t1 - t0) * out, 0.0, 1.0)
            if chain.k == len(self.own) and chain.k <= 4 and chain.valid.all():
                # no mutex group: the chains stay independent given their own observations,
                # so the joint posterior at a frame is the product of the propositions' marginals,
                # the two-chain case in one loop
                if chain.k == 2 and SPECIALISED:  # both chains in one loop
                    pr, M = chain.priors, chain.M
                    c = np.ascontiguousarray
                    f = _scratch("f", n * 8).reshape(n, 2, 4)
                    bad = _fast(smooth_two, n * 16)(
                        c(obs), c(1.0 / pr), c(1.0 / (1.0 - pr)), c(M[:, 0, 1]), c(M[:, 1, 1]), c(pr), c(self.truth), f, out
                    )
                    if bad >= 0:  # pragma: no cover - no mutex group: every observation is possible
                        raise _impossible(bad, self.world, chain.atoms)
                    return np.clip(out, 0.0, 1.0, out=out)
                one = _fast(smooth_one_fast, n * 8)
                f1, f0 = _scratch("f1", n), _scratch("f0", n)
                rows = [np.ones(n)]
                for j in range(chain.k):
                    pr, mj = chain.priors[j], np.empty(n)
                    x = np.ascontiguousarray(obs[:, j])
                    bad = one(x, 1.0 / pr, 1.0 / (1.0 - pr), chain.M[j, 0, 1], chain.M[j, 1, 1], pr, f1, f0, mj)
                    if bad >= 0:  # pragma: no cover - no mutex group: every observation is possible
                        raise _impossible(bad, self.world, chain.atoms)
                    rows = [r * (1.0 - mj) for r in rows] + [r * mj for r in rows]
                out = np.zeros(n)
                for s, g in enumerate(self.truth.tolist()):
                    if g:
                        out += rows[s] if g == 1.0 else g * rows[s]
                return np.clip(out, 0.0, 1.0, out=out)
            alpha = np.empty((n, chain.m))
            g_s = np.ascontiguousarray(self.truth[chain.letters(len(self.own))])
            bad = _fast(smooth_fast, n * chain.m)(_evidence(chain, n)(obs), np.ascontiguousarray(chain.M), chain.initial, g_s, alpha, out)
            if bad >= 0:
                raise _impossible(bad, self.world, chain.atoms)
            return np.clip(out, 0.0, 1.0, out=out)
        if chain.k == 1:
            alpha = np.empty(n)
            pr = chain.priors[0]
            hi = np.ascontiguousarray(obs[:, 0] / pr)
            lo = np.ascontiguousarray((1.0 - obs[:, 0]) / (1.0 - pr))
            up, stay = chain.M[0, 0, 1], chain.M[0, 1, 1]
            bad = _fast(smooth_one, n * 8)(hi, lo, up, stay, chain.initial[1], alpha, out)
            out = self.truth[0] + (self.truth[1] - self.truth[0]) * out  # p, !p, true or false
        else:
            alpha = np.empty((n, chain.m))
            g_s = np.ascontiguousarray(self.truth[chain.letters(len(self.own))])
            bad = _fast(smooth_loop, n * chain.m)(
                np.ascontiguousarray(obs), chain.scale, chain.valid, np.ascontiguousarray(chain.M), chain.initial, g_s, alpha, out
            )
        if bad >= 0:
            raise _impossible(bad, self.world, chain.atoms)
        return np.clip(out, 0.0, 1.0)


@lru_cache(maxsize=256)
def _leaf(g, world: Markov, rate: float | None, budget: int) -> _Leaf:  # type: ignore[no-untyped-def]
    """A prepared part, shared between plans: callers that make a new evaluator per
    trace (``localize``, ``search`` over many videos) build each automaton once. A
    leaf never changes after it is made."""
    return _Leaf(g, world, rate, budget)



def _single(node) -> tuple[_Leaf, bool] | None:  # type: ignore[no-untyped-def]
    """``(part, negated)`` for a propositional part over one proposition in no mutex
    group (its chain alone), or its negation; else None."""
    neg = isinstance(node, tuple) and node[0] == "not"
    leaf = node[1] if neg else node
    if isinstance(leaf, _Leaf) and leaf.method == "chain" and leaf.chain.k == 1:
        return leaf, neg
    return None


def _batched(kind: str, nodes: list, t: TraceTable) -> np.ndarray:  # type: ignore[type-arg]
    """Two nodes (see :func:`_single`) combined by ``kind`` ("and": the
    product of their probabilities, "or": one minus the product of their complements),
    their chains smoothed in one :func:`smooth_two` loop: independent chains, so the
    combination is a truth table over the joint states weighted by the marginals."""
    n = len(t)
    items = [_single(node) for node in nodes]
    leaves = [leaf for leaf, _ in items]
    obs = np.column_stack([leaf.chain.columns(t)[:, 0] for leaf in leaves])
    f, out = _scratch("f", n * 8).reshape(n, 2, 4), np.empty(n)
    bad = _fast(smooth_two, n * 16)(obs, *_pair_args(kind, *items), f, out)
    if bad >= 0:  # pragma: no cover - no mutex group: every observation is possible
        raise _impossible(bad, leaves[0].world, [leaf.chain.atoms[0] for leaf in leaves])
    return out


@lru_cache(maxsize=256)
def _pair_args(kind: str, *items: tuple[_Leaf, bool]) -> tuple[np.ndarray, ...]:
    """:func:`smooth_two`'s arguments after the scores for two (part, negated) (made once per pair)."""
    c = np.ascontiguousarray
    leaves = [leaf for leaf, _ in items]
    truths = [1.0 - leaf.truth if neg else leaf.truth for leaf, neg in items]
    pr = np.array([leaf.chain.priors[0] for leaf in leaves])
    up = np.array([leaf.chain.M[0, 0, 1] for leaf in leaves])
    stay = np.array([leaf.chain.M[0, 1, 1] for leaf in leaves])
    bits = (np.arange(1 << len(leaves))[:, None] >> np.arange(len(leaves))[None, :]) & 1
    vals = np.stack([truth[bits[:, j]] for j, truth in enumerate(truths)], axis=1)  # each part's value
    g = vals.prod(axis=1) if kind == "and" else 1.0 - (1.0 - vals).prod(axis=1)
    return c(1.0 / pr), c(1.0 / (1.0 - pr)), c(up), c(stay), c(pr), c(g)


class WorldPlan:
    """A frame-bounded formula prepared for exact inference under a Markov world
    at one frame rate (see :func:`world_signal`); reuse it across tables."""

    def __init__(self, formula, world: Markov, rate: float | None, *, max_states: int | None = None) -> None:  # type: ignore[no-untyped-def]
        from framelogic.logic.passes import atom_names

        from .construct import DEFAULT_MAX_STATES
        from .factor import factor

        if not isinstance(world, Markov):
            raise InvalidArgument(f"world={world!r} must be a Markov world")
        self.formula = formula
        self.world = world
        self.rate = rate
        self.names = atom_names(formula)
        self.budget = max_states or DEFAULT_MAX_STATES
        self.tree = self._merged(factor(formula))
        self._boolean = None

    def _merged(self, tree):  # type: ignore[no-untyped-def]
        """The factor tree with parts linked by mutex groups merged, leaves prepared."""
        from framelogic.logic.passes import atom_names

        from .factor import Indep, Leaf, Negate, to_formula

        match tree:
            case Negate(p):
                return ("not", self._merged(p))
            case Indep(kind, parts):
                spans = [set(closure(atom_names(to_formula(p)), self.world)) for p in parts]
                groups: list[list[int]] = []
                for i, sp in enumerate(spans):
                    hit = [g for g in groups if any(spans[j] & sp for j in g)]
                    for g in hit:
                        groups.remove(g)
                    groups.append(sorted([i, *[j for g in hit for j in g]]))
                out = []
                for g in sorted(groups):
                    sub = [parts[j] for j in g]
                    out.append(self._merged(sub[0]) if len(sub) == 1 else _leaf(to_formula(Indep(kind, tuple(sub))), self.world, self.rate, self.budget))
                return out[0] if len(out) == 1 else (kind, out)
            case Leaf(g):
                return _leaf(g, self.world, self.rate, self.budget)
        raise InvalidArgument(f"tree={tree!r} is not a Factor")  # pragma: no cover

    def __call__(self, table: object) -> np.ndarray:
        t = as_trace(table)
        values = t.columns(self.names)
        if len(t) == 0:
            return np.zeros(0)
        head = values[:16]  # most inputs show an uncertain value at once
        if not np.any((head > 0.0) & (head < 1.0)) and np.all((values == 0.0) | (values == 1.0)):
            # certain input: the boolean signal
            if self._boolean is None:
                from .boolean import BooleanProgram

                self._boolean = BooleanProgram(self.formula)
            return np.asarray(self._boolean(values == 1.0), dtype=np.float64)
        out = self._run(self.tree, t)
        if getattr(self.world, "leaf_signal", None) is not None:  # [observe hook] its arrays are its own
            return np.clip(out, 0.0, 1.0)
        return np.clip(out, 0.0, 1.0, out=out)  # every node made a new array

    def _run(self, node, t: TraceTable) -> np.ndarray:  # type: ignore[no-untyped-def]
        if isinstance(node, _Leaf):
            return node(t)
        kind, arg = node
        if kind == "not":
            return 1.0 - self._run(arg, t)
        plain = REFERENCE or not SPECIALISED or len(t) < PAIR_FRAMES or getattr(self.world, "leaf_signal", None) is not None
        ones = [] if plain else [p for p in arg if _single(p)]
        if len(ones) >= 2:  # single-proposition parts two at a time in one loop (their chains overlap)
            pairs = len(ones) // 2 * 2
            xs = [_batched(kind, ones[j : j + 2], t) for j in range(0, pairs, 2)]
            xs += [self._run(p, t) for p in ones[pairs:]]
            xs += [self._run(p, t) for p in arg if not _single(p)]
        else:
            xs = [self._run(p, t) for p in arg]
        if getattr(self.world, "leaf_signal", None) is not None:  # [observe hook] its arrays are its own
            if kind == "and":
                return np.prod(xs, axis=0)
            return 1.0 - np.prod([1.0 - x for x in xs], axis=0)
        out = xs[0]  # every node made a new array: combine in place
        if kind == "and":
            for x in xs[1:]:
                out *= x
            return out
        np.subtract(1.0, out, out=out)
        for x in xs[1:]:
            out *= 1.0 - x
        return np.subtract(1.0, out, out=out)

    def leaves(self) -> list[_Leaf]:
        out, stack = [], [self.tree]
        while stack:
            node = stack.pop()
            if isinstance(node, _Leaf):
                out.append(node)
            else:
                stack.extend([node[1]] if node[0] == "not" else node[1])
        return out


def world_signal(formula, table: object, world: Markov, *, fps: float | None = None, max_states: int | None = None) -> np.ndarray:  # type: ignore[no-untyped-def]
    """``out[i]`` = P((w, i) |= φ | all observations) under the Markov ``world``.

    The formula (time bounds resolved at the rate) is split into parts over
    disjoint propositions as for the independent world, except that parts linked
    by a mutex group stay together; parts combine by the product rules (their
    chains are independent, and so are their posteriors). Each part runs
    forward–backward over the product of an automaton with the 2^k joint states
    of its chains (future formulas: the automaton of φ, its acceptance values
    carried backwards from the end; past: the automaton of "φ holds at the last
    frame" run forwards; mixed: the engine's marked product), so the answer
    conditions on every frame's observations, in time linear in the frames.
    Propositional parts need no automaton (the chains' posterior marginals).
    0/1 input is certain: the result is the boolean signal.

    Cost: a few passes over the frames with ``2^k`` chain states times the
    automaton's states each; a future formula over chains without mutex groups
    filters each chain on its own. The loops run compiled (numba) on long traces,
    and on every trace once the process has run a little work through the plain
    ones (many short traces); prepared parts are shared between plans.
    """
    from framelogic.logic.passes import resolve_time

    from .compile import as_formula

    t = as_trace(table)
    rate = fps if fps is not None else t.rate
    return WorldPlan(resolve_time(as_formula(formula), rate), world, rate, max_states=max_states)(t)


# ------------------------------------------------------------------ decoding


def viterbi(trace: object, names: Sequence[str] | None, world: object, *, fps: float | None = None) -> TraceTable:
    """The most probable 0/1 world given the observations: one Viterbi pass per
    set of dependent chains (propositions linked by mutex groups), exact.

    Under the independent world this is each frame's likelier value (``p >= 0.5``).
    The result has the columns ``names`` (default: the trace's), its times and rate.

    >>> viterbi({"p": [0.9, 0.4, 0.9]}, None, Markov(stay=0.9)).values[:, 0].tolist()
    [1.0, 1.0, 1.0]
    """
    t = as_trace(trace)
    names = tuple(t.names if names is None else names)
    w = resolve_world(world)
    values = t.columns(names)
    n = len(t)
    if isinstance(w, Independent) or n == 0:
        return TraceTable(names, (values >= 0.5).astype(np.float64), t.times, t.fps)
    decode = getattr(w, "decode", None)  # [observe hook] a Hidden world decodes its own chains
    if decode is not None:
        return decode(t, names)
    rate = fps if fps is not None else t.rate
    out = np.empty((n, len(names)))
    for comp in chain_components(names, w):
        chain = Chain(comp, w, rate)
        e = chain.evidence(chain.columns(t))
        with np.errstate(divide="ignore"):
            loge, logT, logpi = np.log(e), np.log(chain.dense), np.log(chain.initial)
        back = np.zeros((n, chain.m), dtype=np.int64)
        path = np.zeros(n, dtype=np.int64)
        best = _fast(viterbi_loop, n * chain.m * chain.m)(
            np.ascontiguousarray(logT), logpi, np.ascontiguousarray(loge), back, path
        )
        if not best > -np.inf:
            raise _impossible(0, w, comp)
        for j, a in enumerate(comp):
            if a in names:
                out[:, names.index(a)] = (path >> j) & 1
    return TraceTable(names, out, t.times, t.fps)


# ------------------------------------------------------------------ fitting


def _platt(z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Logistic regression of ``y`` on ``z`` (Platt's smoothed targets), by Newton's
    method with backtracking: a step is halved until the negative log-likelihood
    goes down, so nearly separable scores cannot throw the map to infinity."""
    n_pos, n_neg = y.sum(), len(y) - y.sum()
    t = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

    def nll(a: float, b: float) -> float:
        u = a * z + b  # -log sigmoid(u) = logaddexp(0, -u)
        return float(np.sum(t * np.logaddexp(0.0, -u) + (1 - t) * np.logaddexp(0.0, u)))

    a, b = 1.0, 0.0
    loss = nll(a, b)
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(a * z + b, -30, 30)))
        w = p * (1 - p) + 1e-9
        g = np.array([np.sum((p - t) * z), np.sum(p - t)])
        h = np.array([[np.sum(w * z * z), np.sum(w * z)], [np.sum(w * z), np.sum(w)]]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(h, g)
        scale = 1.0
        while scale > 1e-6:
            a2, b2 = a - scale * step[0], b - scale * step[1]
            loss2 = nll(a2, b2)
            if loss2 <= loss:
                break
            scale /= 2
        else:
            break  # no step lowers the loss: at the optimum (to rounding)
        a, b, loss = a2, b2, loss2
        if np.abs(scale * step).max() < 1e-10:
            break
    return float(a), float(b)


def labelled_tables(scores: object, labels: object, names: object = None) -> tuple[list, list, tuple[str, ...]]:
    """The one reader of a fit's inputs: ``scores`` and ``labels`` as one table each or two
    lists of one length -> (score traces, label traces, the names to fit: ``names``, else
    every label column that every score table has)."""
    pairs_s = list(scores) if isinstance(scores, (list, tuple)) else [scores]
    pairs_l = list(labels) if isinstance(labels, (list, tuple)) else [labels]
    if len(pairs_s) != len(pairs_l) or not pairs_s:
        raise InvalidValue(f"scores and labels must be one table each or two lists of one length, got {len(pairs_s)} and {len(pairs_l)}")
    ss = [as_trace(s) for s in pairs_s]
    ls = [as_trace(x) for x in pairs_l]
    if names is None:
        names = [a for a in ls[0].names if all(a in s.names for s in ss)]
    out = tuple(names)  # type: ignore[arg-type]
    if not out:
        raise InvalidValue("no proposition is in both the scores and the labels")
    return ss, ls, out


def fit_world(
    scores: object, labels: object, *, fps: float | None = None, names: Sequence[str] | None = None, calibrate: bool = True,
) -> Markov:
    """A :class:`Markov` world fitted to labelled frames.

    ``scores`` and ``labels`` are tables (anything :func:`~framelogic.logic.as_trace`
    reads) or equal-length lists of them (one per video). Per proposition:
    ``prior`` = the share of true frames; ``stay`` = the share of true frames
    followed by a true frame (from the labels' run lengths, add-one smoothed);
    with ``fps`` the world stores ``persist`` (mean true run, seconds) instead, so
    it carries over to other frame rates; ``calibration`` = a Platt map of the
    scores' logits onto the labels (``calibrate=False`` to skip), so that the
    calibrated scores are posteriors at the base rate ``prior``.

    >>> import numpy as np
    >>> y = np.repeat([0, 1, 0, 1], 50)
    >>> w = fit_world({"p": np.where(y, 0.8, 0.2)}, {"p": y}, calibrate=False)
    >>> round(w.stay_for("p", None), 3), round(w.prior_for("p"), 3)
    (0.98, 0.5)
    """
    ss, ls, names = labelled_tables(scores, labels, names)
    stay: dict[str, float] = {}
    prior: dict[str, float] = {}
    persist: dict[str, float] = {}
    cal: dict[str, tuple[float, float]] = {}
    for a in names:
        ys, zs = [], []
        n11 = n10 = 0
        for s, lab in zip(ss, ls):
            y = lab.column(a)
            if len(y) != len(s):
                raise InvalidValue(f"scores and labels of {a!r} have {len(s)} and {len(y)} frames")
            if not np.all((y == 0) | (y == 1)):
                raise InvalidValue(f"labels of {a!r} must be 0/1")
            yb = y.astype(bool)
            n11 += int(np.sum(yb[:-1] & yb[1:]))
            n10 += int(np.sum(yb[:-1] & ~yb[1:]))
            ys.append(yb)
            zs.append(s.column(a))
        y = np.concatenate(ys)
        pi = (y.sum() + 1.0) / (len(y) + 2.0)
        st = (n11 + 1.0) / (n11 + n10 + 2.0)
        lowest = 1.0 - (1.0 - pi) / pi  # the smallest stay a chain at this prior allows
        st = min(max(st, lowest + 1e-9, 1e-6), 1 - 1e-9)
        prior[a] = float(pi)
        if fps is not None:
            persist[a] = float(1.0 / ((1.0 - st) * fps))
        else:
            stay[a] = float(st)
        if calibrate:
            if y.all() or not y.any():
                raise InvalidValue(f"labels of {a!r} must have both true and false frames to calibrate its scores")
            p = np.clip(np.concatenate(zs), 1e-6, 1 - 1e-6)
            cal[a] = _platt(np.log(p) - np.log1p(-p), y.astype(float))
    if fps is not None:
        return Markov(persist=persist, stay=DEFAULT_STAY, prior=prior, calibration=cal)
    return Markov(stay=stay, prior=prior, calibration=cal)
