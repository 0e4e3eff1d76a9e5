"""Richer observation models for the Markov world: hidden states per proposition.

The :class:`~framelogic.automata.world.Markov` world gives each proposition a
hidden two-state chain (true / false) and reads each score as an independent
observation of the current state. Real detectors break that in three ways that
the accuracy benchmark measures: their errors are *correlated* (a slowly
drifting logit offset), they *miss in bursts* (an occluded object scores as
absent for many frames), and true runs have *heavy-tailed* lengths (many short
runs and a few very long ones, which no single stay probability describes).

:class:`Hidden` keeps the world's structure — propositions are independent
chains, inference is exact forward–backward over the product of an automaton
of φ with the joint chain states — but each proposition's chain has ``K``
hidden states, each with a truth value (``truth[s]``) and its own Gaussian
density of the score's logit (``mean[s]``, ``sd[s]``), and a full ``K x K``
transition matrix. With ``h`` sub-states per truth value (``K = 2h``) one
model covers all three effects: sub-states with shifted means are a
discretised noise level (which persists across truth changes: correlated noise)
or a detector state (a "true, missed" sub-state whose scores look false:
bursts); sub-states with different stay probabilities are a mixture of
geometric run lengths (heavy tails). ``h = 1`` is the two-state Markov world
with a Gaussian score model instead of a Platt map.

Sub-states discretise correlated noise only coarsely. A model with ``rho != 0``
reads it exactly as AR(1) logit noise: the standardised residual
``u_i = (logit(score_i) - mean[x_i]) / sd[x_i]`` is a stationary AR(1) series
with lag-one correlation ``rho`` that carries over changes of the hidden state
``x`` (:meth:`HiddenModel.log_pair_emission`). A frame's likelihood then
depends on the hidden states at ``i - 1`` and ``i`` and on the previous score:
evidence on the transition, which forward–backward (and Viterbi) takes exactly
as a per-frame transition matrix ``T(s, t) * p(score_i | s, t, score_{i-1})``
(:class:`Steps`). ``rho = 0`` is the independent emission model.

A burst of missed detections is a property of the detector, not of the world:
:meth:`HiddenModel.detector` builds the factorial chain truth x detector — the
world's chain and, independent of it, a two-state chain of the detector (ok / in a
burst; a burst starts with probability ``start`` per frame and goes on with
``stay``) — where in a burst the score's logit has its own density whatever the
truth. Its ``2K`` joint states are an ordinary hidden chain (``burst`` marks the
burst states), so every inference above stays exact over the joint; with AR(1)
noise the residual runs through both chains. :func:`_em_detector` fits it with the
truth clamped to the labels (EM over the detector's state only).

:func:`fit_hidden` fits every proposition's model from labelled frames by
Baum–Welch with the truth clamped to the labels (only the sub-states are
latent), and the AR(1) model (coordinate ascent with the truth known), picks
one per proposition by BIC, and — given the formula — picks the model family
and the decision rule (a threshold on P(φ), or Viterbi) by cross-fitted
training F1 (never the test data). The
fitted world stores that choice (``decide``, ``threshold``);
:func:`resolve_decision` is the one place that applies it (``localize``,
``search``).

The plug-in to :mod:`framelogic.automata.world` is narrow: a ``Hidden`` is a
``Markov`` (every caller treats it as one), and world.py calls
:meth:`Hidden.leaf_signal` for a part's exact signal, :meth:`Hidden.decode`
for Viterbi and :meth:`Hidden.filter_parts` for the monitors' forward filter
(which refuses AR(1) chains until world.py's filter calls :meth:`Joint.frame_step`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property

import numpy as np

from framelogic.logic.errors import InvalidArgument, InvalidValue
from framelogic.logic.trace import TraceTable, as_trace

from .world import Markov, labelled_tables

__all__ = ["Hidden", "HiddenModel", "fit_hidden", "resolve_decision"]

DECISIONS = ("threshold", "viterbi")
EPS = 1e-6  # scores are clipped to [EPS, 1 - EPS] before the logit
MIN_SD = 0.05  # the smallest standard deviation of a sub-state's logit density
MAX_JOINT = 1 << 14  # joint hidden states of one independent part
DENSE_JOINT = 512  # up to this many joint states the chain steps are one dense matrix product
DENSE_STEPS = 1 << 22  # AR(1) chains: per-frame joint matrices are built at once up to this many entries
THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)  # the decision thresholds fit_hidden tries
NOISE = ("independent", "ar1", "detector")  # the observation models fit_hidden can compare
DEFAULT_NOISE = ("independent", "ar1")  # those it compares by default (the detector chain doubles the fit's cost)
DETECTOR = ("detector", "ar1+detector")  # _fit_models' names of the truth x detector chains
AR_ITERATIONS = 15  # EM rounds of AR(1) models with sub-states (fit_hidden's ar_substates)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1.0 - EPS)
    return np.log(p) - np.log1p(-p)


# ------------------------------------------------------------------ one proposition


@dataclass(frozen=True)
class HiddenModel:
    """One proposition's hidden chain: ``K`` states with a truth value each, a
    ``K x K`` transition matrix, an initial distribution, and a Gaussian density
    of ``logit(score)`` per state.

    >>> m = HiddenModel.two_state(stay=0.9, prior=0.5, mean=(-2.0, 2.0), sd=(1.0, 1.0))
    >>> m.k, m.truth
    (2, (False, True))
    """

    truth: tuple[bool, ...]
    transition: tuple[tuple[float, ...], ...]
    initial: tuple[float, ...]
    mean: tuple[float, ...]
    sd: tuple[float, ...]
    rho: float = 0.0
    burst: tuple[bool, ...] = ()  # the detector's missed-detection states (:meth:`detector`; descriptive)

    def __post_init__(self) -> None:
        k = len(self.truth)
        if self.burst and len(self.burst) != k:
            raise InvalidValue(f"burst={self.burst!r} must mark each of the {k} hidden states (or be empty)")
        object.__setattr__(self, "burst", tuple(bool(x) for x in self.burst) if any(self.burst) else ())
        r = self.rho
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not -1.0 < r < 1.0:
            raise InvalidValue(f"rho={r!r} must be a number in (-1, 1) (the lag-one correlation of the logit noise)")
        object.__setattr__(self, "rho", float(r))
        if k < 2 or not any(self.truth) or all(self.truth):
            raise InvalidValue(f"truth={self.truth!r} needs at least one true and one false hidden state")
        object.__setattr__(self, "truth", tuple(bool(x) for x in self.truth))
        T = np.asarray(self.transition, dtype=np.float64)
        pi = np.asarray(self.initial, dtype=np.float64)
        mu = np.asarray(self.mean, dtype=np.float64)
        sd = np.asarray(self.sd, dtype=np.float64)
        if T.shape != (k, k) or pi.shape != (k,) or mu.shape != (k,) or sd.shape != (k,):
            raise InvalidValue(f"a hidden model with {k} states needs a {k}x{k} transition and {k} initial, mean, sd values")
        if not (np.all(np.isfinite(T)) and np.all(T >= 0) and np.allclose(T.sum(axis=1), 1.0, atol=1e-6)):
            raise InvalidValue(f"transition={T.tolist()} must have non-negative rows that sum to 1")
        if not (np.all(pi >= 0) and abs(pi.sum() - 1.0) < 1e-6):
            raise InvalidValue(f"initial={pi.tolist()} must be a distribution")
        if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sd)) and np.all(sd > 0)):
            raise InvalidValue(f"mean={mu.tolist()} must be finite and sd={sd.tolist()} positive")
        object.__setattr__(self, "transition", tuple(tuple(float(x) for x in r / r.sum()) for r in T))
        object.__setattr__(self, "initial", tuple(float(x) for x in pi / pi.sum()))
        object.__setattr__(self, "mean", tuple(float(x) for x in mu))
        object.__setattr__(self, "sd", tuple(float(x) for x in sd))

    @classmethod
    def two_state(cls, *, stay: float, prior: float, mean: tuple[float, float], sd: tuple[float, float],
                  rho: float = 0.0) -> HiddenModel:  # fmt: skip
        """The two-state chain of the Markov world (stationary at ``prior``) with Gaussian logits
        (``rho``: AR(1) logit noise, see :meth:`log_pair_emission`)."""
        up = prior * (1.0 - stay) / (1.0 - prior)
        return cls((False, True), ((1.0 - up, up), (1.0 - stay, stay)), (1.0 - prior, prior), mean, sd, rho)

    @classmethod
    def detector(cls, base: HiddenModel, *, start: float, stay: float, mean: float, sd: float,
                 initial: float | None = None) -> HiddenModel:  # fmt: skip
        """The factorial chain truth x detector: ``base``'s chain (the world) and, independent
        of it, a two-state chain of the detector (ok / in a burst of missed detections:
        a burst starts with probability ``start`` per frame and goes on with ``stay``;
        ``initial``: P(in a burst at frame 0), default the detector chain's stationary
        value). While the detector is ok a frame's logit has ``base``'s density of the
        world state; in a burst it has density ``N(mean, sd^2)`` whatever the truth (with
        ``base.rho``, the same AR(1) noise runs through both). The joint chain of ``2K``
        states ``(s, d)`` (index ``2 s + d``) is an ordinary :class:`HiddenModel`, so
        inference over it is exact; ``start = 0`` (and ``initial = 0``) is ``base``.

        >>> b = HiddenModel.two_state(stay=0.9, prior=0.5, mean=(-2.0, 2.0), sd=(1.0, 1.0))
        >>> m = HiddenModel.detector(b, start=0.05, stay=0.9, mean=-2.0, sd=1.0)
        >>> m.k, m.truth, m.burst
        (4, (False, False, True, True), (False, True, False, True))
        """
        for name, v in (("start", start), ("stay", stay)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                raise InvalidValue(f"{name}={v!r} must be a probability (the detector chain's {name})")
        if initial is None:
            initial = start / (start + 1.0 - stay) if start + 1.0 - stay > 0 else 0.0
        if isinstance(initial, bool) or not isinstance(initial, (int, float)) or not 0.0 <= initial <= 1.0:
            raise InvalidValue(f"initial={initial!r} must be a probability (P(in a burst at frame 0))")
        D = np.array([[1.0 - start, start], [1.0 - stay, stay]])
        k = base.k
        return cls(
            tuple(t for t in base.truth for _ in (0, 1)),
            tuple(map(tuple, np.kron(base.T, D))),
            tuple(np.kron(np.asarray(base.initial), [1.0 - initial, initial])),
            tuple(x for mu in base.mean for x in (mu, float(mean))),
            tuple(x for sg in base.sd for x in (sg, float(sd))),
            base.rho,
            (False, True) * k,
        )

    @property
    def k(self) -> int:
        return len(self.truth)

    @cached_property
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(mean, sd, truth, T)`` as arrays (computed once; not to be modified)."""
        return (np.asarray(self.mean, dtype=np.float64), np.asarray(self.sd, dtype=np.float64),
                np.asarray(self.truth, dtype=np.bool_), np.ascontiguousarray(self.transition, dtype=np.float64))  # fmt: skip

    @property
    def T(self) -> np.ndarray:
        return np.asarray(self.transition)

    def prior(self) -> float:
        """The initial probability of the proposition being true."""
        return float(np.asarray(self.initial)[list(self.truth)].sum())

    def stay(self) -> float:
        """P(true at the next frame | true now), from the initial distribution."""
        pi, T, tr = np.asarray(self.initial), self.T, np.asarray(self.truth)
        w = pi * tr
        return float((w @ T)[tr].sum() / max(w.sum(), 1e-300))

    def log_emission(self, p: np.ndarray) -> np.ndarray:
        """``(n, K)`` log densities of each frame's score logit in each hidden state. A
        score of exactly 0 or 1 is certain, as in the Markov world (the states of the
        other truth value get likelihood 0)."""
        p = np.asarray(p, dtype=np.float64)
        z = _logit(p)[:, None]
        mu, sd = np.asarray(self.mean), np.asarray(self.sd)
        out = -0.5 * ((z - mu) / sd) ** 2 - np.log(sd)
        truth = np.asarray(self.truth)
        out[np.ix_(p == 1.0, ~truth)] = -np.inf
        out[np.ix_(p == 0.0, truth)] = -np.inf
        return out

    def log_pair_emission(self, p: np.ndarray) -> np.ndarray:
        """``(n, K, K)`` log densities of frame ``i``'s score logit given the hidden states
        ``s`` at ``i - 1`` and ``t`` at ``i`` (``[i, s, t]``) under AR(1) logit noise: with
        ``z = logit(score)`` and the residual ``r_i = z_i - mean[x_i]``,
        ``z_i ~ N(mean[t] + rho (z_{i-1} - mean[s]), sd[t]^2 (1 - rho^2))`` — the residual
        is a stationary AR(1) series of standard deviation ``sd[x_i]`` (standardised where
        the state's sd changes) that persists across changes of the hidden state. Frame 0
        has the stationary density (:meth:`log_emission`) in every row. With ``rho = 0``
        every row is :meth:`log_emission`. Scores of exactly 0 or 1 are certain: such a
        frame has no noise residual, so the frame after it has the stationary density too.

        >>> m = HiddenModel.two_state(stay=0.9, prior=0.5, mean=(-2.0, 2.0), sd=(1.0, 1.0), rho=0.5)
        >>> e = m.log_pair_emission(np.array([0.5, 0.5]))
        >>> # z = 0 twice: staying true (residual -2, predicted 2 - 1) beats turning true (predicted 2 + 1)
        >>> e.shape, bool(e[1, 1, 1] > e[1, 0, 1])
        ((2, 2, 2), True)
        """
        p = np.asarray(p, dtype=np.float64)
        n, k = len(p), self.k
        out = np.empty((n, k, k))
        if n == 0:
            return out
        out[0] = self.log_emission(p[:1])[0][None, :]
        if n > 1:
            z = _logit(p)
            mu, sd, r = np.asarray(self.mean), np.asarray(self.sd), self.rho
            # standardised residual of frame i - 1 in state s, carried to state t at frame i
            u = (z[:-1, None] - mu[None, :]) / sd[None, :]  # (n - 1, K_s)
            pred = mu[None, None, :] + r * u[:, :, None] * sd[None, None, :]  # (n - 1, K_s, K_t)
            tau = sd * math.sqrt(1.0 - r * r)
            out[1:] = -0.5 * ((z[1:, None, None] - pred) / tau[None, None, :]) ** 2 - np.log(tau)[None, None, :]
            after = np.flatnonzero((p[:-1] == 0.0) | (p[:-1] == 1.0)) + 1  # the series starts afresh
            if len(after):
                out[after] = self.log_emission(p[after])[:, None, :]
        truth = np.asarray(self.truth)
        out[np.ix_(p == 1.0, np.arange(k), ~truth)] = -np.inf
        out[np.ix_(p == 0.0, np.arange(k), truth)] = -np.inf
        return out

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"truth": [int(x) for x in self.truth], "transition": [list(r) for r in self.transition],
                                "initial": list(self.initial), "mean": list(self.mean), "sd": list(self.sd)}  # fmt: skip
        if self.rho:
            d["rho"] = self.rho
        if self.burst:
            d["burst"] = [int(x) for x in self.burst]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> HiddenModel:
        if not isinstance(d, Mapping):
            raise InvalidArgument(f"a hidden model must be a JSON object, got {d!r}")
        unknown = set(d) - {"truth", "transition", "initial", "mean", "sd", "rho", "burst"}
        if unknown:
            raise InvalidValue(f"unknown keys {sorted(unknown)} in a hidden model")
        try:
            return cls(tuple(bool(x) for x in d["truth"]), tuple(tuple(r) for r in d["transition"]),  # type: ignore[union-attr]
                       tuple(d["initial"]), tuple(d["mean"]), tuple(d["sd"]), d.get("rho", 0.0),  # type: ignore[arg-type]
                       tuple(bool(x) for x in d.get("burst", ())))  # type: ignore[union-attr]  # fmt: skip
        except KeyError as e:
            raise InvalidValue(f"a hidden model needs {e.args[0]!r}") from None


# ------------------------------------------------------------------ the world


@dataclass(frozen=True)
class Hidden(Markov):
    """A Markov world whose propositions have :class:`HiddenModel` chains (module doc).

    ``decide`` / ``threshold``: the decision rule the fit chose (None: the caller's).
    The Markov fields (``stay``, ``prior``) are derived from the models and only
    describe them; inference uses the models.
    """

    models: Mapping[str, HiddenModel] = field(default_factory=dict)
    decide: str | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        models = {}
        for k, m in dict(self.models or {}).items():
            if not isinstance(k, str):
                raise InvalidArgument(f"models keys must be proposition names (str), got {k!r}")
            models[k] = m if isinstance(m, HiddenModel) else HiddenModel.from_dict(m)  # type: ignore[arg-type]
        object.__setattr__(self, "models", models)
        if models:  # descriptive only (and kept a valid two-state chain: the stay a prior allows)
            prior = {k: min(max(m.prior(), 1e-6), 1 - 1e-6) for k, m in models.items()}
            stay = {k: min(max(m.stay(), 1e-6, 1.0 - (1.0 - prior[k]) / prior[k] + 1e-9), 1 - 1e-9) for k, m in models.items()}
            object.__setattr__(self, "stay", stay)
            object.__setattr__(self, "prior", prior)
            object.__setattr__(self, "persist", None)
        super().__post_init__()
        if self.mutex:
            raise InvalidValue("a Hidden world has no mutex groups (its chains are independent); use Markov(mutex=...)")
        if self.calibration:
            raise InvalidValue("a Hidden world reads raw scores through its Gaussian logit models; leave calibration out")
        if self.decide is not None and self.decide not in DECISIONS:
            raise InvalidValue(f"decide={self.decide!r} must be one of {', '.join(DECISIONS)} or None")
        if self.threshold is not None:
            th = self.threshold
            if isinstance(th, bool) or not isinstance(th, (int, float)) or not 0.0 <= th <= 1.0:
                raise InvalidValue(f"threshold={th!r} must be a probability in [0, 1]")
            object.__setattr__(self, "threshold", float(th))
        object.__setattr__(self, "_joints", {})  # atoms -> Joint (leaf_signal; no filter state is used there)

    def __hash__(self) -> int:
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash(json.dumps(self.to_dict(), sort_keys=True))
            object.__setattr__(self, "_hash", h)
        return h

    def model_for(self, name: str) -> HiddenModel:
        try:
            return self.models[name]
        except KeyError:
            raise InvalidValue(
                f"the Hidden world has no model for {name!r} (it has {sorted(self.models)}); fit it with "
                "fit_hidden on labels of that proposition"
            ) from None

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"kind": "hidden", "models": {k: m.to_dict() for k, m in sorted(self.models.items())}}
        if self.decide is not None:
            d["decide"] = self.decide
        if self.threshold is not None:
            d["threshold"] = self.threshold
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Hidden:  # type: ignore[override]
        if not isinstance(d, Mapping):
            raise InvalidArgument(f"a Hidden world must be a JSON object, got {d!r}")
        unknown = set(d) - {"kind", "models", "decide", "threshold"}
        if unknown:
            raise InvalidValue(f"unknown keys {sorted(unknown)} in a Hidden world")
        models = d.get("models") or {}
        if not isinstance(models, Mapping):
            raise InvalidArgument(f"models={models!r} must map proposition names to hidden models")
        return cls(models={k: HiddenModel.from_dict(v) for k, v in models.items()},  # type: ignore[arg-type]
                   decide=d.get("decide"), threshold=d.get("threshold"))  # type: ignore[arg-type]  # fmt: skip

    # ------------------------------------------------------------ hooks called by world.py
    def leaf_signal(self, leaf, table: TraceTable) -> np.ndarray:  # type: ignore[no-untyped-def]
        """A part's exact signal (``world._Leaf``): chain-only posteriors, or the
        automaton product's forward–backward, over the joint hidden states."""
        atoms = leaf.chain.atoms
        joint = self._joints.get(atoms)
        if joint is None:
            joint = self._joints[atoms] = Joint([self.model_for(a) for a in atoms], atoms)
        loge, steps = joint.evidence(table, atoms)
        own = len(leaf.own)
        if leaf.method == "automaton":
            return np.clip(smooth_product(joint, loge, own, *leaf.tables, steps=steps), 0.0, 1.0)
        post = joint.posterior(loge, steps)
        return np.clip(post @ np.asarray(leaf.truth, dtype=np.float64)[joint.letters(own)], 0.0, 1.0)

    def decode(self, table: TraceTable, names: Sequence[str]) -> TraceTable:
        """The truth along each proposition's most probable hidden trajectory (Viterbi)."""
        n = len(table)
        out = np.empty((n, len(names)))
        for j, a in enumerate(names):
            m = self.model_for(a)
            p = table.column(a)
            path = viterbi_path(m, m.log_emission(p), m.log_pair_emission(p) if m.rho else None)
            out[:, j] = np.asarray(m.truth, dtype=np.float64)[path]
        return TraceTable(tuple(names), out, table.times, table.fps)

    def filter_parts(self, atoms: Sequence[str]) -> Joint:
        """The joint chain of ``atoms`` for the monitors' forward filter (it steps
        through ``Joint.frame_step``: AR(1) chains' evidence rides on the transition)."""
        return Joint([self.model_for(a) for a in atoms], atoms)


def resolve_decision(world: object, decide: str | None, default_threshold: float) -> tuple[str, float]:
    """``(decide, default threshold)``: an explicit ``decide`` wins; else a fitted
    world's ``decide`` (and its threshold replaces the default, which a given
    ``threshold=`` or a PCTL wrapper still overrides); else ``"threshold"``."""
    if decide is not None:
        if decide not in DECISIONS:
            raise InvalidValue(f"decide={decide!r} must be one of {', '.join(DECISIONS)}")
        return decide, default_threshold
    fitted = getattr(world, "decide", None)
    th = getattr(world, "threshold", None)
    return (fitted or "threshold"), (default_threshold if th is None else th)


# ------------------------------------------------------------------ joint chains


class Joint:
    """The product of independent hidden chains (axis ``j`` = ``models[j]``);
    joint states are flattened in C order."""

    def __init__(self, models: Sequence[HiddenModel], atoms: Sequence[str] = ()) -> None:
        self.models = list(models)
        self.atoms = tuple(atoms)
        self.k = len(self.models)
        self.priors = np.array([m.prior() for m in self.models])
        self.ks = tuple(m.k for m in self.models)
        self.m = int(np.prod(self.ks)) if self.ks else 1
        if self.m > MAX_JOINT:
            raise InvalidValue(
                f"{len(self.ks)} propositions with {list(self.ks)} hidden states form {self.m} joint states "
                f"(at most {MAX_JOINT}); use fewer sub-states or split the formula"
            )
        self.Ts = [m.T for m in self.models]
        init = np.ones(1)
        for m in self.models:
            init = np.multiply.outer(init, np.asarray(m.initial)).ravel()
        self.initial = init
        idx = np.indices(self.ks).reshape(len(self.ks), -1) if self.ks else np.zeros((0, 1), dtype=int)
        self._dense = self.dense if self.m <= DENSE_JOINT else None
        self._dense_t = None if self._dense is None else np.ascontiguousarray(self._dense.T)
        self._prev: np.ndarray | None = None  # the previous frame's scores (frame_step)
        self.truth_bits = np.stack([np.asarray(m.truth)[idx[j]] for j, m in enumerate(self.models)]) if self.ks else idx
        self.digits = np.ascontiguousarray(idx.T, dtype=np.int64)  # (m, k): each joint state's sub-states
        self._letters: dict[int, np.ndarray] = {}
        self._no_steps = np.zeros((max(self.k, 1), 1, 1, 1))

    def compiled(self) -> tuple | None:  # type: ignore[type-arg]
        """The compiled loops (:func:`_loops`) when they apply to this chain (``COMPILED``, at
        most ``DENSE_JOINT`` joint states, numba installed), else None."""
        if not COMPILED or self._dense is None or not self.ks:
            return None
        return _loops()

    def _step_args(self, steps: Steps | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        P = self._no_steps if steps is None else steps.stacked()
        return self._dense, P, self.digits  # type: ignore[return-value]

    @property
    def dense(self) -> np.ndarray:
        """``T[s, s']`` over joint states (for the monitors' filter)."""
        T = np.ones((1, 1))
        for t in self.Ts:
            T = np.kron(T, t)
        return T

    def frame_evidence(self, x: np.ndarray) -> np.ndarray:
        """The likelihood of one frame's scores ``x`` (one per proposition) in each joint state, up to a factor."""
        loge = np.zeros(1)
        for m, p in zip(self.models, x):
            loge = np.add.outer(loge, m.log_emission(np.array([p]))[0]).ravel()
        return np.exp(loge - loge.max())

    def frame_step(self, J: np.ndarray, x: np.ndarray, first: bool) -> tuple[np.ndarray, np.ndarray]:
        """One step of a forward filter over (rows, joint state) ``J``, for chains with AR(1)
        noise: ``(F, e)`` with ``F`` the prediction (``J`` itself at the ``first`` frame,
        else ``J`` through the transition into this frame, which carries the AR(1)
        chains' evidence given the previous frame's scores) and ``e`` the rest of the
        frame's evidence per joint state; the filter then weighs ``F * e`` and moves its
        automaton. Remembers ``x`` (one score per proposition) for the next frame."""
        loge = np.zeros(1)
        mats: list[np.ndarray] = []
        x = np.asarray(x, dtype=np.float64)
        prev = None if first else self._prev
        for j, m in enumerate(self.models):
            if m.rho and prev is not None:
                pair = m.log_pair_emission(np.array([prev[j], x[j]]))[1]
                top = float(pair.max())
                mats.append(m.T * np.exp(pair - (top if np.isfinite(top) else 0.0)))
                e = np.zeros(m.k)
            else:
                mats.append(m.T)
                e = m.log_emission(x[j : j + 1])[0]
            loge = np.add.outer(loge, e).ravel()
        self._prev = x.copy()
        F = J if first else self._apply(J, mats, 0)
        top = float(loge.max())
        return F, np.exp(loge - (top if np.isfinite(top) else 0.0))

    def letters(self, own: int) -> np.ndarray:
        """The letter over the first ``own`` propositions of every joint state."""
        out = self._letters.get(own)
        if out is None:
            out = np.zeros(self.m, dtype=np.int64)
            for j in range(own):
                out |= self.truth_bits[j].astype(np.int64) << j
            self._letters[own] = out
        return out

    def log_evidence(self, table: TraceTable, atoms: Sequence[str]) -> np.ndarray:
        """``(n, m)`` log likelihoods of each frame's scores in each joint state; an atom
        absent from the table is unobserved (likelihood 1). Chains with AR(1) noise
        (``rho != 0``) need :meth:`evidence` instead."""
        loge, steps = self.evidence(table, atoms)
        if steps is not None:
            raise InvalidValue("chains with AR(1) logit noise have evidence on their transitions: use Joint.evidence")
        return loge

    def evidence(self, table: TraceTable, atoms: Sequence[str]) -> tuple[np.ndarray, Steps | None]:
        """``(loge, steps)``: ``(n, m)`` log likelihoods of each frame's scores in each joint
        state (frame 0 only for chains with AR(1) noise), and the per-frame transition
        matrices that carry the AR(1) chains' evidence of frames 1.. (None: no chain has
        AR(1) noise; every step is the plain transition)."""
        n = len(table)
        out = np.zeros((n, 1))
        mats: list[np.ndarray | None] = []
        loops = self.compiled()
        for m, a in zip(self.models, atoms):
            M = None
            if a not in table.names:
                e = np.zeros((n, m.k))
            elif loops is not None:
                mu, sd, truth, T = m.arrays
                e = np.empty((n, m.k))
                M = np.empty((n, m.k, m.k)) if m.rho else np.empty((0, 1, 1))
                loops[2](np.ascontiguousarray(table.column(a), dtype=np.float64), mu, sd, truth, T, m.rho, e, M)
                M = M if m.rho else None
            elif m.rho:
                p = table.column(a)
                pair = m.log_pair_emission(p)
                e = np.zeros((n, m.k))
                if n:
                    e[0] = pair[0, 0]
                top = pair.max(axis=(1, 2), keepdims=True)
                top[~np.isfinite(top)] = 0.0
                M = m.T[None, :, :] * np.exp(pair - top)
            else:
                e = m.log_emission(table.column(a))
            mats.append(M)
            out = (out[:, :, None] + e[:, None, :]).reshape(n, -1)
        return out, (Steps(self, mats) if any(M is not None for M in mats) else None)

    def fwd(self, Y: np.ndarray, step: Sequence[np.ndarray] | None = None) -> np.ndarray:
        """``Y[r, s'] <- sum_s Y[r, s] T(s, s')``, one proposition's matrix per axis
        (small joint chains: one dense product); ``step``: per-proposition matrices that
        replace the transitions (``Steps.at``)."""
        if step is not None:
            return Y @ step if isinstance(step, np.ndarray) else self._apply(Y, step, 0)
        if self._dense is not None:
            return Y @ self._dense
        return self._apply(Y, self.Ts, 0)

    def bwd(self, X: np.ndarray, step: Sequence[np.ndarray] | None = None) -> np.ndarray:
        """``X[r, s] <- sum_s' T(s, s') X[r, s']``."""
        if step is not None:
            return X @ step.T if isinstance(step, np.ndarray) else self._apply(X, step, 1)
        if self._dense is not None:
            return X @ self._dense_t
        return self._apply(X, self.Ts, 1)

    def _apply(self, Y: np.ndarray, mats: Sequence[np.ndarray], axis: int) -> np.ndarray:
        r = Y.shape[0]
        X = Y.reshape(r, *self.ks)
        for j, T in enumerate(mats):
            X = np.moveaxis(np.tensordot(X, T, axes=([1 + j], [axis])), -1, 1 + j)
        return X.reshape(r, self.m)

    def posterior(self, loge: np.ndarray, steps: Steps | None = None) -> np.ndarray:
        """``(n, m)`` P(joint state at i | all observations) (``steps``: from :meth:`evidence`)."""
        n = loge.shape[0]
        at = (lambda i: None) if steps is None else steps.at  # noqa: E731
        e = np.exp(loge - loge.max(axis=1, keepdims=True))
        loops = self.compiled()
        if loops is not None:
            out = np.empty((n, self.m))
            bad = loops[0](e, self.initial, *self._step_args(steps), out)
            if bad >= 0:
                _total(np.zeros(1), bad)
            return out
        alpha = np.empty((n, self.m))
        a = self.initial[None, :].copy()
        for i in range(n):
            a = a * e[i]
            a /= _total(a, i)
            alpha[i] = a[0]
            a = self.fwd(a, at(i + 1))
        b = np.ones((1, self.m))
        out = np.empty((n, self.m))
        for i in range(n - 1, -1, -1):
            w = alpha[i] * b[0]
            out[i] = w / w.sum()
            b = self.bwd(b * e[i], at(i))
            b /= _total(b, i)
        return out


class Steps:
    """The transition into each frame of a joint chain with AR(1) chains: per proposition,
    ``T(s, t)`` times the likelihood of the frame's score given ``(s, t)`` (up to a factor
    per frame), or the plain transition for a chain without AR(1) noise."""

    def __init__(self, joint: Joint, mats: Sequence[np.ndarray | None]) -> None:
        self.mats = list(mats)
        self.Ts = joint.Ts
        self.n = next(len(M) for M in mats if M is not None)
        self._small = joint.m <= DENSE_JOINT and self.n * joint.m * joint.m <= DENSE_STEPS
        self._dense: np.ndarray | None = None

    @property
    def dense(self) -> np.ndarray | None:
        """Every frame's joint matrix at once (small chains; built on first use), or None."""
        if self._dense is None and self._small:
            D = np.ones((self.n, 1, 1))
            for M, T in zip(self.mats, self.Ts):
                M = np.broadcast_to(T, (self.n, *T.shape)) if M is None else M
                D = np.einsum("nab,ncd->nacbd", D, M).reshape(self.n, D.shape[1] * M.shape[1], -1)
            self._dense = D
        return self._dense

    def stacked(self) -> np.ndarray:
        """``(k, n, K, K)`` the per-proposition step matrices into each frame (``K`` the
        largest chain; a chain without AR(1) noise repeats its transition), for the
        compiled loops (:func:`posterior_loop`)."""
        kmax = max(T.shape[0] for T in self.Ts)
        P = np.zeros((len(self.Ts), self.n, kmax, kmax))
        for j, (M, T) in enumerate(zip(self.mats, self.Ts)):
            kj = T.shape[0]
            P[j, :, :kj, :kj] = T if M is None else M
        return P

    def at(self, i: int) -> list[np.ndarray] | np.ndarray | None:
        """The step from frame ``i - 1`` to ``i``: per-proposition matrices, or the joint
        matrix of a small chain (None outside 1..n-1: unused)."""
        if not 1 <= i < self.n:
            return None
        D = self.dense
        if D is not None:
            return D[i]
        return [T if M is None else M[i] for M, T in zip(self.mats, self.Ts)]


def _total(a: np.ndarray, i: int) -> float:
    s = float(a.sum())
    if not s > 0.0:
        raise InvalidValue(f"the observations around frame {i} are impossible under the Hidden world")
    return s


def smooth_product(
    joint: Joint, loge: np.ndarray, own: int, dp: np.ndarray, init: int, onc: np.ndarray, dfc: np.ndarray,
    final: np.ndarray, steps: Steps | None = None,
) -> np.ndarray:
    """``out[i]`` = P(φ at i | all observations): forward–backward over (automaton
    state x joint hidden state), with the automaton tables of ``world._tables``
    (see ``world.backward_world`` for the codes); ``steps``: the AR(1) chains'
    evidence on the transitions (:meth:`Joint.evidence`)."""
    at = (lambda i: None) if steps is None else steps.at  # noqa: E731
    n, m = loge.shape
    e = np.exp(loge - loge.max(axis=1, keepdims=True))
    lett = joint.letters(own)
    nq, nt = dp.shape[0], dfc.shape[0]
    loops = joint.compiled()
    if loops is not None:
        on_l, df_l = onc[:, lett], dfc[:, lett]
        on_idx = np.where(on_l >= 0, on_l, np.where(on_l == -1, nt, nt + 1)).astype(np.int64)
        df_idx = np.where(df_l >= 0, df_l, np.where(df_l == -1, nt, nt + 1)).astype(np.int64)
        T, P, dig = joint._step_args(steps)
        out = np.empty(n)
        bad = loops[1](e, joint.initial, T, P, dig, lett, np.ascontiguousarray(dp, dtype=np.int64), int(init),
                       on_idx, df_idx, np.ascontiguousarray(final, dtype=np.bool_), out)  # fmt: skip
        if bad >= 0:
            _total(np.zeros(1), bad)
        return out
    cols = np.arange(m)
    target = (dp[:, lett].astype(np.int64) * m + cols[None, :]).ravel()
    A = np.zeros((nq, m))
    A[init] = joint.initial
    store = np.empty((n, nq, m))
    for i in range(n):
        store[i] = A
        Y = np.bincount(target, weights=(A * e[i]).ravel(), minlength=nq * m).reshape(nq, m)
        Y = joint.fwd(Y, at(i + 1))
        A = Y / _total(Y, i)
    # codes: transient post states 0..nt-1, -1 the accepting sink (value beta), -2 rejecting (0)
    on_idx = np.where(onc[:, lett] >= 0, onc[:, lett], np.where(onc[:, lett] == -1, nt, nt + 1))
    df_idx = np.where(dfc[:, lett] >= 0, dfc[:, lett], np.where(dfc[:, lett] == -1, nt, nt + 1))
    V = np.repeat(final.astype(np.float64)[:, None], m, axis=1)
    beta = np.ones(m)
    out = np.empty(n)
    zero = np.zeros(m)
    for i in range(n - 1, -1, -1):
        ext = np.vstack([V, beta[None, :], zero[None, :]])  # (nt + 2, m)
        W = store[i] * e[i][None, :]
        den = float((W * beta[None, :]).sum())
        if not den > 0.0:
            raise InvalidValue(f"the observations around frame {i} are impossible under the Hidden world")
        out[i] = float((W * ext[on_idx, cols[None, :]]).sum()) / den
        X = joint.bwd(np.vstack([e[i][None, :] * ext[df_idx, cols[None, :]], (e[i] * beta)[None, :]]), at(i))
        total = float(X[-1].sum())
        V = X[:-1] / total
        beta = X[-1] / total
    return out


def viterbi_path(model: HiddenModel, loge: np.ndarray, pair: np.ndarray | None = None) -> np.ndarray:
    """The most probable hidden state sequence of one chain (``pair``: the
    :meth:`HiddenModel.log_pair_emission` of AR(1) noise; then ``loge`` counts at frame 0 only)."""
    n, k = loge.shape
    with np.errstate(divide="ignore"):
        logT, logpi = np.log(model.T), np.log(np.asarray(model.initial))
    loops = _loops() if COMPILED and n else None
    if loops is not None:
        path = np.empty(n, dtype=np.int64)
        P = np.zeros((1, 1, 1)) if pair is None else np.ascontiguousarray(pair, dtype=np.float64)
        loops[3](logT, logpi, np.ascontiguousarray(loge, dtype=np.float64), P, pair is not None, path)
        return path
    back = np.zeros((n, k), dtype=np.int64)
    d = logpi + loge[0]
    for i in range(1, n):
        if pair is not None:
            cand = d[:, None] + logT + pair[i]
            back[i] = np.argmax(cand, axis=0)
            d = cand[back[i], np.arange(k)]
            continue
        cand = d[:, None] + logT
        back[i] = np.argmax(cand, axis=0)
        d = cand[back[i], np.arange(k)] + loge[i]
    path = np.empty(n, dtype=np.int64)
    path[-1] = int(np.argmax(d))
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path


# ------------------------------------------------------------------ compiled inference loops
#
# The per-frame loops of :meth:`Joint.posterior` and :func:`smooth_product` as plain loops
# over small dense arrays, compiled with numba (``cache=True``) where it is installed. They
# compute the same sums as the numpy paths (the same normalisation at every frame), so the
# results agree to rounding; ``COMPILED = False`` runs the numpy paths (the tests compare).

COMPILED = True  # use the compiled loops for joint chains of at most DENSE_JOINT states


def _joint_step(P: np.ndarray, dig: np.ndarray, i: int, out: np.ndarray) -> None:
    """``out[s, t]`` = prod_j ``P[j, i, dig[s, j], dig[t, j]]``: the joint chain's step
    matrix from per-proposition matrices (``dig``: each joint state's sub-state per
    proposition)."""
    m, k = dig.shape
    for s in range(m):
        for t in range(m):
            v = 1.0
            for j in range(k):
                v *= P[j, i, dig[s, j], dig[t, j]]
            out[s, t] = v


def posterior_loop(e: np.ndarray, init: np.ndarray, T: np.ndarray, P: np.ndarray, dig: np.ndarray,
                   out: np.ndarray) -> int:  # fmt: skip
    """:meth:`Joint.posterior` over dense arrays: ``e`` (n, m) evidence (scaled per frame),
    ``T`` (m, m) the plain transition, ``P`` (k, n, K, K) per-proposition step matrices
    into each frame (AR(1) chains; ``P.shape[1] == 1``: none, every step is ``T``).
    Fills ``out`` (n, m); returns -1, or the frame whose observations are impossible."""
    n, m = e.shape
    steps = P.shape[1] > 1
    M = np.empty((m, m))
    alpha = np.empty((n, m))
    a = init.copy()
    b2 = np.empty(m)
    y = np.empty(m)
    for i in range(n):
        tot = 0.0
        for s in range(m):
            a[s] *= e[i, s]
            tot += a[s]
        if not tot > 0.0:
            return i
        for s in range(m):
            a[s] /= tot
            alpha[i, s] = a[s]
        if i + 1 < n:
            S = T
            if steps:
                _jstep(P, dig, i + 1, M)
                S = M
            for t in range(m):
                b2[t] = 0.0
            for s in range(m):
                x = a[s]
                if x != 0.0:
                    for t in range(m):
                        b2[t] += x * S[s, t]
            for t in range(m):
                a[t] = b2[t]
    b = np.ones(m)
    for i in range(n - 1, -1, -1):
        tot = 0.0
        for s in range(m):
            out[i, s] = alpha[i, s] * b[s]
            tot += out[i, s]
        for s in range(m):
            out[i, s] /= tot
        S = T
        if steps and 1 <= i < n:
            _jstep(P, dig, i, M)
            S = M
        for s in range(m):
            y[s] = b[s] * e[i, s]
        tot = 0.0
        for s in range(m):
            x = 0.0
            for t in range(m):
                x += S[s, t] * y[t]
            b[s] = x
            tot += x
        if not tot > 0.0:
            return i
        for s in range(m):
            b[s] /= tot
    return -1


def smooth_loop(e: np.ndarray, init: np.ndarray, T: np.ndarray, P: np.ndarray, dig: np.ndarray, lett: np.ndarray,
                dp: np.ndarray, q0: int, on_idx: np.ndarray, df_idx: np.ndarray, final: np.ndarray,
                out: np.ndarray) -> int:  # fmt: skip
    """:func:`smooth_product` over dense arrays (``on_idx`` (nq, m), ``df_idx`` (nt, m):
    rows of ``[V; beta; 0]`` per automaton state and joint state; other arguments as
    :func:`posterior_loop`). Fills ``out`` (n,); returns -1 or the impossible frame."""
    n, m = e.shape
    nq = dp.shape[0]
    nt = df_idx.shape[0]
    steps = P.shape[1] > 1
    M = np.empty((m, m))
    store = np.empty((n, nq, m))
    A = np.zeros((nq, m))
    for s in range(m):
        A[q0, s] = init[s]
    Y = np.empty((nq, m))
    Z = np.empty((nq, m))
    for i in range(n):
        store[i] = A
        Y[:, :] = 0.0
        for q in range(nq):
            for s in range(m):
                x = A[q, s]
                if x != 0.0:
                    Y[dp[q, lett[s]], s] += x * e[i, s]
        S = T
        if steps and i + 1 < n:
            _jstep(P, dig, i + 1, M)
            S = M
        Z[:, :] = 0.0
        tot = 0.0
        for q in range(nq):
            for s in range(m):
                x = Y[q, s]
                if x != 0.0:
                    for t in range(m):
                        Z[q, t] += x * S[s, t]
            for t in range(m):
                tot += Z[q, t]
        if not tot > 0.0:
            return i
        for q in range(nq):
            for s in range(m):
                A[q, s] = Z[q, s] / tot
    ext = np.zeros((nt + 2, m))
    for t in range(nt):
        for s in range(m):
            ext[t, s] = 1.0 if final[t] else 0.0
    for s in range(m):
        ext[nt, s] = 1.0
    X = np.empty((nt + 1, m))
    R = np.empty((nt + 1, m))
    for i in range(n - 1, -1, -1):
        den = 0.0
        num = 0.0
        for q in range(nq):
            for s in range(m):
                w = store[i, q, s] * e[i, s]
                den += w * ext[nt, s]
                num += w * ext[on_idx[q, s], s]
        if not den > 0.0:
            return i
        out[i] = num / den
        for t in range(nt):
            for s in range(m):
                X[t, s] = e[i, s] * ext[df_idx[t, s], s]
        for s in range(m):
            X[nt, s] = e[i, s] * ext[nt, s]
        S = T
        if steps and 1 <= i < n:
            _jstep(P, dig, i, M)
            S = M
        for r in range(nt + 1):
            for s in range(m):
                x = 0.0
                for t in range(m):
                    x += S[s, t] * X[r, t]
                R[r, s] = x
        tot = 0.0
        for s in range(m):
            tot += R[nt, s]
        for r in range(nt + 1):
            for s in range(m):
                ext[r, s] = R[r, s] / tot
    return -1


def chain_evidence(p: np.ndarray, mu: np.ndarray, sd: np.ndarray, truth: np.ndarray, T: np.ndarray, rho: float,
                   e: np.ndarray, M: np.ndarray) -> None:  # fmt: skip
    """One chain's evidence as :meth:`Joint.evidence` builds it from
    :meth:`HiddenModel.log_emission` / :meth:`HiddenModel.log_pair_emission`: ``e`` (n, K)
    the log densities (with ``rho``: frame 0's only, zeros after), and with ``rho`` ``M``
    (n, K, K) the steps ``T(s, t) * exp(pair[i, s, t] - max pair[i])``."""
    n, k = e.shape
    eps = 1e-6
    ls = np.log(sd)
    ar = rho != 0.0
    tau = sd * math.sqrt(1.0 - rho * rho)
    lt = np.log(tau)
    zp = 0.0
    pair = np.empty((k, k))
    for i in range(n):
        x = min(max(p[i], eps), 1.0 - eps)
        z = math.log(x) - math.log1p(-x)
        one, zero = p[i] == 1.0, p[i] == 0.0
        if not ar or i == 0:
            for t in range(k):
                v = (z - mu[t]) / sd[t]
                v = -0.5 * (v * v) - ls[t]
                if (one and not truth[t]) or (zero and truth[t]):
                    v = -np.inf
                e[i, t] = v
        else:
            for t in range(k):
                e[i, t] = 0.0
        if ar:
            fresh = i == 0 or p[i - 1] == 0.0 or p[i - 1] == 1.0
            top = -np.inf
            for s in range(k):
                for t in range(k):
                    if fresh:
                        v = (z - mu[t]) / sd[t]
                        v = -0.5 * (v * v) - ls[t]
                    else:
                        u = (zp - mu[s]) / sd[s]
                        v = (z - (mu[t] + rho * u * sd[t])) / tau[t]
                        v = -0.5 * (v * v) - lt[t]
                    if (one and not truth[t]) or (zero and truth[t]):
                        v = -np.inf
                    pair[s, t] = v
                    if v > top:
                        top = v
            if not (top > -np.inf and top < np.inf):
                top = 0.0
            for s in range(k):
                for t in range(k):
                    M[i, s, t] = T[s, t] * math.exp(pair[s, t] - top)
        zp = z


def viterbi_loop(logT: np.ndarray, logpi: np.ndarray, loge: np.ndarray, pair: np.ndarray, ar: bool,
                 path: np.ndarray) -> None:  # fmt: skip
    """:func:`viterbi_path`'s recursion (ties: the first state, as ``np.argmax``)."""
    n, k = loge.shape
    back = np.zeros((n, k), dtype=np.int64)
    d = logpi + loge[0]
    nd = np.empty(k)
    for i in range(1, n):
        for t in range(k):
            best = d[0] + logT[0, t] + (pair[i, 0, t] if ar else 0.0)
            arg = 0
            for s in range(1, k):
                v = d[s] + logT[s, t] + (pair[i, s, t] if ar else 0.0)
                if v > best:
                    best, arg = v, s
            back[i, t] = arg
            nd[t] = best if ar else best + loge[i, t]
        for t in range(k):
            d[t] = nd[t]
    arg = 0
    for t in range(1, k):
        if d[t] > d[arg]:
            arg = t
    path[n - 1] = arg
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]


_jstep = _joint_step  # the compiled step once _loops() has run (the loops call it by this name)


@cache
def _loops() -> tuple | None:  # type: ignore[type-arg]
    """``(posterior_loop, smooth_loop, chain_evidence, viterbi_loop)`` compiled with numba (None without numba)."""
    global _jstep
    try:
        import numba  # noqa: F401
    except ImportError:  # pragma: no cover - numba is a dependency of the engine's fast paths
        return None
    from . import kernels as K

    _jstep = K.compiled_cached(_joint_step)
    return tuple(K.compiled_cached(fn) for fn in (posterior_loop, smooth_loop, chain_evidence, viterbi_loop))


# ------------------------------------------------------------------ fitting


def forward_backward(e: np.ndarray, T: np.ndarray, pi: np.ndarray, alpha: np.ndarray, beta: np.ndarray, c: np.ndarray) -> None:
    """Scaled forward–backward of ``V`` sequences at once: ``e`` (V, N, K) emission
    likelihoods, ``alpha`` / ``beta`` (V, N, K) filled, ``c[v, i]`` the scale of frame ``i``."""
    V, N, K = e.shape
    for v in range(V):
        for i in range(N):
            tot = 0.0
            for t in range(K):
                if i == 0:
                    x = pi[t]
                else:
                    x = 0.0
                    for s in range(K):
                        x += alpha[v, i - 1, s] * T[s, t]
                x *= e[v, i, t]
                alpha[v, i, t] = x
                tot += x
            c[v, i] = tot
            for t in range(K):
                alpha[v, i, t] /= tot
        for t in range(K):
            beta[v, N - 1, t] = 1.0
        for i in range(N - 2, -1, -1):
            for s in range(K):
                x = 0.0
                for t in range(K):
                    x += T[s, t] * e[v, i + 1, t] * beta[v, i + 1, t]
                beta[v, i, s] = x / c[v, i + 1]


def _forward_backward_numpy(e: np.ndarray, T: np.ndarray, pi: np.ndarray, alpha: np.ndarray, beta: np.ndarray, c: np.ndarray) -> None:
    """:func:`forward_backward` vectorised over the sequences (without numba)."""
    N = e.shape[1]
    a = pi[None, :] * e[:, 0]
    for i in range(N):
        if i:
            a = (a @ T) * e[:, i]
        c[:, i] = a.sum(axis=1)
        a = a / c[:, i : i + 1]
        alpha[:, i] = a
    beta[:, N - 1] = 1.0
    for i in range(N - 2, -1, -1):
        beta[:, i] = ((e[:, i + 1] * beta[:, i + 1]) @ T.T) / c[:, i + 1 : i + 2]


@cache
def _fb():  # type: ignore[no-untyped-def]
    import importlib.util

    if importlib.util.find_spec("numba") is None:
        return _forward_backward_numpy
    from . import kernels as K

    return K.compiled(forward_backward)


def _em(zs: Sequence[np.ndarray], ys: Sequence[np.ndarray], h: int, iterations: int, tied: bool = False) -> tuple[HiddenModel, float]:
    """Baum–Welch for ``h`` sub-states per truth value with the truth clamped to the
    labels (``tied``: one standard deviation shared by every state); returns the model
    and the training log-likelihood of (labels, logits)."""
    k = 2 * h
    truth = np.array([False] * h + [True] * h)
    V, N = len(zs), max(len(z) for z in zs)
    Z = np.zeros((V, N))
    Yl = np.zeros((V, N), dtype=bool)
    valid = np.zeros((V, N), dtype=bool)
    for v, (z, y) in enumerate(zip(zs, ys)):
        Z[v, : len(z)], Yl[v, : len(z)], valid[v, : len(z)] = z, y, True
    allowed = np.where(valid[:, :, None], truth[None, None, :] == Yl[:, :, None], True)  # (V, N, K)
    zc = [np.concatenate([z[y == val] for z, y in zip(zs, ys)]) for val in (False, True)]
    mu = np.concatenate([np.quantile(zc[val], (np.arange(h) + 0.5) / h) for val in (0, 1)])
    sd = np.concatenate([np.full(h, max(float(np.std(zc[val])) / math.sqrt(h), MIN_SD)) for val in (0, 1)])
    if tied:
        sd = np.full(k, float(np.mean(sd)))
    # transitions: the labels' truth flips, sticky sub-states
    yy = np.concatenate([np.stack([y[:-1], y[1:]], 1) for y in ys if len(y) > 1]) if N > 1 else np.zeros((0, 2), bool)
    flip = np.array([[np.mean(yy[yy[:, 0] == a, 1] != a) if np.any(yy[:, 0] == a) else 0.5 for a in (0, 1)]]).ravel()
    T = np.empty((k, k))
    for s in range(k):
        a = int(truth[s])
        same = truth == truth[s]
        T[s, same] = (1 - flip[a]) * (0.1 / max(h - 1, 1))
        T[s, s] = (1 - flip[a]) * (0.9 if h > 1 else 1.0)
        T[s, ~same] = flip[a] / h
        T[s] /= T[s].sum()
    pi = np.full(k, 1.0 / k)
    ll = -np.inf
    for _ in range(max(1, iterations if h > 1 else 2)):
        logn = -0.5 * ((Z[:, :, None] - mu) / sd) ** 2 - np.log(sd) - 0.5 * math.log(2 * math.pi)
        logn = np.where(allowed, np.where(valid[:, :, None], logn, 0.0), -np.inf)
        top = logn.max(axis=2, keepdims=True)
        e = np.exp(logn - top)
        alpha = np.empty((V, N, k))
        beta = np.ones((V, N, k))
        c = np.ones((V, N))
        _fb()(e, np.ascontiguousarray(T), pi, alpha, beta, c)
        gamma = alpha * beta
        gamma /= gamma.sum(axis=2, keepdims=True)
        gamma *= valid[:, :, None]
        # xi summed over frames whose successor is a real frame
        nxt = valid[:, 1:]
        w = (e[:, 1:] * beta[:, 1:]) / c[:, 1:, None] * nxt[:, :, None]
        xi = np.einsum("vis,vit->st", alpha[:, :-1], w) * T
        new_ll = float(np.sum(np.log(c[valid])) + np.sum(top[valid]))
        T = xi + 1e-3 * (truth[:, None] == truth[None, :]) + 1e-6
        T /= T.sum(axis=1, keepdims=True)
        g = gamma.reshape(-1, k)
        zf = Z.reshape(-1)
        wsum = g.sum(axis=0) + 1e-12
        mu = (g * zf[:, None]).sum(axis=0) / wsum
        sq = (g * (zf[:, None] - mu) ** 2).sum(axis=0)
        sd = np.full(k, math.sqrt(sq.sum() / wsum.sum())) if tied else np.sqrt(sq / wsum)
        sd = np.maximum(sd, MIN_SD)
        pi = wsum / wsum.sum()
        if abs(new_ll - ll) < 1e-5 * max(1.0, abs(new_ll)):
            ll = new_ll
            break
        ll = new_ll
    return HiddenModel(tuple(truth.tolist()), tuple(map(tuple, T)), tuple(pi), tuple(mu), tuple(sd)), ll


def _fit_ar1(zs: Sequence[np.ndarray], ys: Sequence[np.ndarray], iterations: int = 30) -> tuple[HiddenModel, float]:
    """The two-state model with AR(1) logit noise (:meth:`HiddenModel.log_pair_emission`)
    fitted to logits ``zs`` with the truth ``ys`` known, by coordinate ascent of the exact
    likelihood's terms: the means by weighted least squares given ``rho`` and the standard
    deviations, then ``rho`` and the innovations' standard deviations given the means
    (conditional on each video's first frame; that frame's stationary term enters the
    means). The transition and initial distribution are the labels' (flip rates, truth
    frequency). Returns the model and the log-likelihood of (labels, logits)."""
    zc = [np.concatenate([z[y == val] for z, y in zip(zs, ys)]) for val in (False, True)]
    mu = np.array([float(np.mean(zc[0])), float(np.mean(zc[1]))])
    sd = np.array([max(float(np.std(zc[0])), MIN_SD), max(float(np.std(zc[1])), MIN_SD)])
    rho = 0.0
    # frames with a predecessor: (z_i, z_{i-1}, x_i, x_{i-1}); first frames: (z_0, x_0)
    z1 = np.concatenate([z[1:] for z in zs])
    z0 = np.concatenate([z[:-1] for z in zs])
    x1 = np.concatenate([y[1:] for y in ys]).astype(np.int64)
    x0 = np.concatenate([y[:-1] for y in ys]).astype(np.int64)
    f = np.array([z[0] for z in zs])
    xf = np.array([y[0] for y in ys], dtype=np.int64)
    for _ in range(iterations):
        # standardised AR(1): (z_i - mu[x_i]) / sd[x_i] = rho (z_{i-1} - mu[x_{i-1}]) / sd[x_{i-1}] + innovation
        # linear in mu given rho and sd: rows a . mu = b, weights 1 / (1 - rho^2) (and 1 on first frames)
        c = rho * sd[x1] / sd[x0]
        A = np.zeros((len(z1) + len(f), 2))
        A[np.arange(len(z1)), x1] += 1.0
        A[np.arange(len(z1)), x0] -= c
        A[len(z1) + np.arange(len(f)), xf] = 1.0
        b = np.concatenate([z1 - c * z0, f])
        w = np.concatenate([np.full(len(z1), 1.0 / (1.0 - rho * rho)), np.ones(len(f))]) / np.concatenate([sd[x1], sd[xf]]) ** 2
        sw = np.sqrt(w)
        new_mu, *_ = np.linalg.lstsq(A * sw[:, None], b * sw, rcond=None)
        if not np.all(np.isfinite(new_mu)):
            break
        mu = new_mu
        u1, u0 = (z1 - mu[x1]) / sd[x1], (z0 - mu[x0]) / sd[x0]
        rho = float(np.clip(np.dot(u1, u0) / max(float(np.dot(u0, u0)), 1e-12), -0.995, 0.995))
        # the sds: residual scale per state, standardised innovations (one pass of the fixed point)
        for val in (0, 1):
            on = x1 == val
            r1 = z1[on] - mu[val]
            prev = rho * u0[on] * sd[val]
            innov = np.mean((r1 - prev) ** 2) / (1.0 - rho * rho) if on.any() else 0.0
            first = (f[xf == val] - mu[val]) ** 2
            tot = (innov * on.sum() + first.sum()) / max(on.sum() + len(first), 1)
            sd[val] = max(math.sqrt(tot), MIN_SD) if tot > 0 else sd[val]
    # the labels' chain
    counts = np.full((2, 2), 1e-6)
    np.add.at(counts, (x0, x1), 1.0)
    T = counts / counts.sum(axis=1, keepdims=True)
    occ = np.array([len(zc[0]), len(zc[1])], dtype=np.float64)
    pi = occ / occ.sum()
    model = HiddenModel((False, True), tuple(map(tuple, T)), tuple(pi), tuple(mu), tuple(sd), rho)
    ll = 0.0
    for z, y in zip(zs, ys):
        s = y.astype(np.int64)
        pair = model.log_pair_emission(1.0 / (1.0 + np.exp(-z)))
        ll += math.log(pi[s[0]]) + float(pair[0, 0, s[0]]) + float(np.sum(np.log(T[s[:-1], s[1:]])))
        ll += float(np.sum(pair[np.arange(1, len(s)), s[:-1], s[1:]])) - 0.5 * math.log(2 * math.pi) * len(s)
    return model, ll


def _em_ar1(zs: Sequence[np.ndarray], ys: Sequence[np.ndarray], h: int, iterations: int) -> tuple[HiddenModel, float]:
    """EM for ``h`` sub-states per truth value with AR(1) logit noise (one ``rho``), the
    truth clamped to the labels: the E-step is exact forward–backward with the
    evidence on the transitions; the M-step updates the transitions, then the means
    (weighted least squares over the pairs of states), ``rho`` and the standard
    deviations (one fixed-point pass each), as :func:`_fit_ar1` does with known
    states. Starts from :func:`_fit_ar1` and :func:`_em`'s sub-states. Returns the
    model and the log-likelihood of (labels, logits)."""
    k = 2 * h
    truth = np.array([False] * h + [True] * h)
    base, _ = _fit_ar1(zs, ys)
    start, _ = _em(zs, ys, h, 1)
    mu, sd, rho = np.asarray(start.mean), np.asarray(start.sd) * 0 + np.repeat(base.sd, h), base.rho
    T, pi = start.T, np.asarray(start.initial)
    ll = -np.inf
    idx = np.arange(k)
    for _ in range(max(1, iterations)):
        model = HiddenModel(tuple(truth.tolist()), tuple(map(tuple, T)), tuple(pi), tuple(mu), tuple(sd), rho)
        xi_sum = np.zeros((k, k))
        g0 = np.zeros(k)
        occ = np.zeros(k)
        # sufficient statistics, accumulated per video: pairs (z_{i-1}, z_i, xi_i(s, t)) and first frames
        pairs_z0, pairs_z1, pairs_w, firsts = [], [], [], []
        new_ll = 0.0
        for z, y in zip(zs, ys):
            n = len(z)
            pair = model.log_pair_emission(1.0 / (1.0 + np.exp(-z)))
            ok = truth[None, :] == y[:, None]  # (n, K_t)
            pair = np.where(ok[:, None, :], pair, -np.inf)
            top = pair.reshape(n, -1).max(axis=1)
            M = T[None] * np.exp(pair - top[:, None, None])
            alpha = np.empty((n, k))
            c = np.empty(n)
            a = pi * np.exp(pair[0, 0] - top[0])  # frame 0: the stationary density (every row holds it)
            for i in range(n):
                if i:
                    a = alpha[i - 1] @ M[i]
                c[i] = a.sum()
                alpha[i] = a / c[i]
            beta = np.ones((n, k))
            for i in range(n - 2, -1, -1):
                beta[i] = (M[i + 1] @ beta[i + 1]) / c[i + 1]
            new_ll += float(np.sum(np.log(c)) + np.sum(top)) - 0.5 * math.log(2 * math.pi) * n
            gamma = alpha * beta
            gamma /= gamma.sum(axis=1, keepdims=True)
            occ += gamma.sum(axis=0)
            g0 += gamma[0]
            firsts.append((z[0], gamma[0]))
            if n > 1:
                xi = alpha[:-1, :, None] * M[1:] * beta[1:, None, :] / c[1:, None, None]
                xi /= xi.sum(axis=(1, 2), keepdims=True)
                xi_sum += xi.sum(axis=0)
                pairs_z0.append(z[:-1])
                pairs_z1.append(z[1:])
                pairs_w.append(xi)
        z0, z1, W = np.concatenate(pairs_z0), np.concatenate(pairs_z1), np.concatenate(pairs_w)  # W: (N, s, t)
        f = np.array([x for x, _ in firsts])
        G0 = np.stack([g for _, g in firsts])
        T = xi_sum + 1e-3 * (truth[:, None] == truth[None, :]) + 1e-6
        T /= T.sum(axis=1, keepdims=True)
        pi = occ / occ.sum()
        # means: sum over pairs (s, t) of w (mu_t - c_st mu_s - (z1 - c_st z0))^2 / (sd_t^2 (1 - rho^2)), plus first frames
        v = 1.0 - rho * rho
        N = np.zeros((k, k))
        r = np.zeros(k)
        for s in range(k):
            for t in range(k):
                w = W[:, s, t] / (sd[t] ** 2 * v)
                cst = rho * sd[t] / sd[s]
                aa = (idx == t).astype(float) - cst * (idx == s)
                N += w.sum() * np.outer(aa, aa)
                r += float(np.dot(w, z1 - cst * z0)) * aa
        N[idx, idx] += G0.sum(axis=0) / sd**2 + 1e-9
        r += (G0 * f[:, None]).sum(axis=0) / sd**2
        new_mu = np.linalg.solve(N, r)
        if np.all(np.isfinite(new_mu)):
            mu = new_mu
        u0 = (z0[:, None] - mu[None, :]) / sd[None, :]  # (N, s)
        u1 = (z1[:, None] - mu[None, :]) / sd[None, :]  # (N, t)
        num = float(np.einsum("nst,nt,ns->", W, u1, u0))
        den = float(np.einsum("nst,ns->", W, u0 * u0))
        rho = float(np.clip(num / max(den, 1e-12), -0.995, 0.995))
        v = 1.0 - rho * rho
        for t in range(k):
            wt = W[:, :, t]  # (N, s)
            res = (z1 - mu[t])[:, None] - rho * sd[t] * u0  # (N, s)
            tot = float((wt * res**2).sum()) / v + float((G0[:, t] * (f - mu[t]) ** 2).sum())
            cnt = float(wt.sum() + G0[:, t].sum())
            if cnt > 1e-9 and tot > 0:
                sd[t] = max(math.sqrt(tot / cnt), MIN_SD)
        if abs(new_ll - ll) < 1e-5 * max(1.0, abs(new_ll)):
            ll = new_ll
            break
        ll = new_ll
    model = HiddenModel(tuple(truth.tolist()), tuple(map(tuple, T)), tuple(pi), tuple(mu), tuple(sd), rho)
    return model, ll


def _clamped_posteriors(model: HiddenModel, zs: Sequence[np.ndarray], ys: Sequence[np.ndarray]):  # type: ignore[no-untyped-def]
    """The E-step with the truth clamped to the labels, exact under AR(1) noise (evidence on
    the transitions): per video ``(gamma (n, K), xi (n - 1, K, K))`` — the posteriors of the
    hidden state at each frame and of each pair of consecutive states — and the
    log-likelihood of (labels, logits)."""
    T, pi, truth, k = model.T, np.asarray(model.initial), np.asarray(model.truth), model.k
    out, ll = [], 0.0
    for z, y in zip(zs, ys):
        n = len(z)
        pair = model.log_pair_emission(1.0 / (1.0 + np.exp(-z)))
        pair = np.where((truth[None, :] == y[:, None])[:, None, :], pair, -np.inf)
        top = pair.reshape(n, -1).max(axis=1)
        M = T[None] * np.exp(pair - top[:, None, None])
        alpha, c = np.empty((n, k)), np.empty(n)
        a = pi * np.exp(pair[0, 0] - top[0])
        for i in range(n):
            if i:
                a = alpha[i - 1] @ M[i]
            c[i] = a.sum()
            if not c[i] > 0.0:
                raise InvalidValue(f"the labelled frame {i} is impossible under the model being fitted")
            alpha[i] = a / c[i]
        beta = np.ones((n, k))
        for i in range(n - 2, -1, -1):
            beta[i] = (M[i + 1] @ beta[i + 1]) / c[i + 1]
        ll += float(np.sum(np.log(c)) + np.sum(top)) - 0.5 * math.log(2 * math.pi) * n
        gamma = alpha * beta
        gamma /= gamma.sum(axis=1, keepdims=True)
        xi = alpha[:-1, :, None] * M[1:] * beta[1:, None, :] / c[1:, None, None]
        if n > 1:
            xi /= xi.sum(axis=(1, 2), keepdims=True)
        out.append((gamma, xi))
    return out, ll


def _em_detector(zs: Sequence[np.ndarray], ys: Sequence[np.ndarray], ar: bool, iterations: int = AR_ITERATIONS,
                 ) -> tuple[HiddenModel, float]:  # fmt: skip
    """The factorial truth x detector chain (:meth:`HiddenModel.detector`) fitted by EM with
    the truth clamped to the labels (only the detector's state is latent): the truth's
    chain is the labels' (flip counts; it does not depend on the detector), the E-step is
    exact forward–backward over the ``2 x 2`` joint (:func:`_clamped_posteriors`), the
    M-step updates the detector chain (expected ok/burst transitions over both truth
    values), the three tied logit densities (false-ok, true-ok, burst) by weighted least
    squares over pairs of states, and ``rho`` (``ar``: AR(1) logit noise; else 0), as
    :func:`_em_ar1` does. Starts from the two-state fit (:func:`_fit_ar1` or :func:`_em`)
    with rare bursts scoring like the false state. Returns the model and the
    log-likelihood of (labels, logits)."""
    base, _ = _fit_ar1(zs, ys) if ar else _em(zs, ys, 1, 2)
    x0 = np.concatenate([y[:-1] for y in ys]).astype(np.int64)
    x1 = np.concatenate([y[1:] for y in ys]).astype(np.int64)
    counts = np.full((2, 2), 1e-6)
    np.add.at(counts, (x0, x1), 1.0)
    Tx = counts / counts.sum(axis=1, keepdims=True)
    occ = np.array([sum(int((~y).sum()) for y in ys), sum(int(y.sum()) for y in ys)], dtype=np.float64)
    world = HiddenModel((False, True), tuple(map(tuple, Tx)), tuple(occ / occ.sum()), base.mean, base.sd, base.rho)
    cls = np.array([0, 2, 1, 2])  # the density of state (x, d) = 2x + d: false-ok, true-ok, burst
    P = (cls[:, None] == np.arange(3)[None, :]).astype(np.float64)
    mu_c = np.array([base.mean[0], base.mean[1], base.mean[0]])
    sd_c = np.array([base.sd[0], base.sd[1], base.sd[0]])
    rho, start, stay = base.rho, 0.02, 0.8
    idx = np.arange(4)
    ll = -np.inf
    model = world
    for _ in range(max(1, iterations)):
        w = HiddenModel(world.truth, world.transition, world.initial, (mu_c[0], mu_c[1]), (sd_c[0], sd_c[1]), rho)
        model = HiddenModel.detector(w, start=start, stay=stay, mean=float(mu_c[2]), sd=float(sd_c[2]))
        post, new_ll = _clamped_posteriors(model, zs, ys)
        if abs(new_ll - ll) < 1e-5 * max(1.0, abs(new_ll)):
            ll = new_ll
            break
        ll = new_ll
        sd = sd_c[cls]
        W = np.concatenate([xi for _, xi in post])  # (N, s, t)
        G0 = np.stack([g[0] for g, _ in post])
        f = np.array([z[0] for z in zs])
        z0 = np.concatenate([z[:-1] for z in zs])
        z1 = np.concatenate([z[1:] for z in zs])
        # the detector chain: expected ok/burst transitions, summed over the truth values
        X = W.sum(axis=0).reshape(2, 2, 2, 2).sum(axis=(0, 2))  # [d, d']
        start = float(np.clip(X[0, 1] / max(X[0].sum(), 1e-12), 0.0, 0.5))
        stay = float(np.clip(X[1, 1] / max(X[1].sum(), 1e-12), 0.0, 0.999))
        # tied means: the state means' normal equations N mu = r, with mu = P mu_c
        v = 1.0 - rho * rho
        N, r = np.zeros((4, 4)), np.zeros(4)
        for s_ in range(4):
            for t in range(4):
                wt = W[:, s_, t] / (sd[t] ** 2 * v)
                cst = rho * sd[t] / sd[s_]
                aa = (idx == t).astype(float) - cst * (idx == s_)
                N += wt.sum() * np.outer(aa, aa)
                r += float(np.dot(wt, z1 - cst * z0)) * aa
        N[idx, idx] += G0.sum(axis=0) / sd**2
        new = np.linalg.solve(P.T @ N @ P + 1e-9 * np.eye(3), P.T @ r)
        if np.all(np.isfinite(new)):
            mu_c = new
        mu = mu_c[cls]
        u0 = (z0[:, None] - mu[None, :]) / sd[None, :]
        u1 = (z1[:, None] - mu[None, :]) / sd[None, :]
        if ar:
            num = float(np.einsum("nst,nt,ns->", W, u1, u0))
            den = float(np.einsum("nst,ns->", W, u0 * u0))
            rho = float(np.clip(num / max(den, 1e-12), -0.995, 0.995))
        v = 1.0 - rho * rho
        tot, cnt = np.zeros(3), np.zeros(3)
        for t in range(4):
            wt = W[:, :, t]
            res = (z1 - mu[t])[:, None] - rho * sd[t] * u0
            tot[cls[t]] += float((wt * res**2).sum()) / v + float((G0[:, t] * (f - mu[t]) ** 2).sum())
            cnt[cls[t]] += float(wt.sum() + G0[:, t].sum())
        ok = (cnt > 1e-9) & (tot > 0)
        sd_c = np.where(ok, np.sqrt(np.where(ok, tot, 1.0) / np.maximum(cnt, 1e-12)), sd_c)
        sd_c = np.maximum(sd_c, MIN_SD)
    return model, ll


def _f1(pred: np.ndarray, truth: np.ndarray) -> float:
    tp = float(np.sum(pred & truth))
    fp, fn = float(np.sum(pred & ~truth)), float(np.sum(~pred & truth))
    return 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def _events(hit: np.ndarray, frames: bool) -> list[tuple[int, int]]:
    if frames:
        return [(int(i), int(i)) for i in np.flatnonzero(hit)]
    edges = np.diff(np.concatenate([[0], hit.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), (np.flatnonzero(edges == -1) - 1).tolist()))


def _event_f1(pred: list[tuple[int, int]], truth: list[tuple[int, int]]) -> float:
    """Greedy one-to-one matching at IoU >= 0.5."""
    if not pred and not truth:
        return 1.0
    used = set()
    tp = 0
    for s, e in pred:
        for j, (a, b) in enumerate(truth):
            if j in used:
                continue
            inter = max(0, min(e, b) - max(s, a) + 1)
            if inter and inter / (max(e, b) - min(s, a) + 1) >= 0.5:
                used.add(j)
                tp += 1
                break
    return 2 * tp / (len(pred) + len(truth))


def _fit_models(zs_by, ys_by, names, hs, iterations, cache=None, tied=False) -> dict[str, HiddenModel]:  # type: ignore[no-untyped-def]
    """Per proposition, the model of least BIC over ``hs``: a whole number is that many
    sub-states per truth value with independent emissions, ``"ar1"`` the two-state model
    with AR(1) logit noise (``tied``: one standard deviation for all states of the
    independent-emission models; ``cache``: ``(name, h, tied) -> (model, bic)`` of these
    very videos, filled as fitted)."""
    cache = {} if cache is None else cache
    models = {}
    for a in names:
        zs, ys = zs_by[a], ys_by[a]
        if all(y.all() for y in ys) or not any(y.any() for y in ys):
            raise InvalidValue(f"labels of {a!r} must have both true and false frames")
        total = sum(len(z) for z in zs)
        for h in hs:
            if (a, h, tied) in cache:
                continue
            if h == "ar1":
                model, ll = _fit_ar1(zs, ys)
                free = 2 + 2 + 2 + 1 + 1  # transition, means, sds, rho, initial
            elif h in DETECTOR:  # the truth x detector chain, independent or AR(1) logit noise
                model, ll = _em_detector(zs, ys, h == "ar1+detector")
                free = 2 + 2 + 3 + 3 + 1 + (h == "ar1+detector")  # truth and detector chains, 3 densities, initial, rho
            elif isinstance(h, str):  # "ar1xH": H sub-states per truth value with AR(1) noise
                hh = int(h[4:])
                model, ll = _em_ar1(zs, ys, hh, AR_ITERATIONS)
                k = 2 * hh
                free = k * (k - 1) + k + k + 1 + k - 1
            else:
                model, ll = _em(zs, ys, h, iterations, tied)
                k = 2 * h
                free = k * (k - 1) + k + (1 if tied else k) + k - 1
            cache[(a, h, tied)] = (model, -2 * ll + free * math.log(total))
        models[a] = min((cache[(a, h, tied)] for h in hs), key=lambda mb: mb[1])[0]
    return models


def fit_hidden(
    scores: object,
    labels: object,
    *,
    formula: object | None = None,
    mode: str = "tlv",
    fps: float | None = None,
    names: Sequence[str] | None = None,
    substates: Sequence[int] = (1, 2, 3),
    noise: Sequence[str] = DEFAULT_NOISE,
    ar_substates: int = 1,
    iterations: int = 40,
    folds: int = 5,
) -> Hidden:
    """A :class:`Hidden` world fitted to labelled frames (one table or lists of tables, as
    :func:`~framelogic.automata.world.fit_world`).

    Per proposition and per ``h`` in ``substates``: Baum–Welch (``iterations``
    rounds) with the truth clamped to the labels; with ``"ar1"`` in ``noise``, also
    the two-state model with AR(1) logit noise (``rho``: the noise's lag-one
    correlation, which persists across changes of the truth; fitted by coordinate
    ascent with the truth known); the candidate of least BIC is kept
    (``noise=("ar1",)``: AR(1) only; ``("independent",)``: the sub-state models only).
    ``ar_substates > 1`` adds AR(1) models with 2 .. ``ar_substates`` sub-states per
    truth value (duration-aware chains, or a "missed" sub-state, under correlated
    noise; EM with the truth clamped, :func:`_em_ar1`); slower, and off by default
    (on the benchmark's burst cells it was not chosen). With ``"detector"`` in
    ``noise`` (opt-in: it about doubles the fit's time, and on the benchmark's burst
    cells the training split chose it on none), the truth x detector chain (:meth:`HiddenModel.detector`,
    fitted by :func:`_em_detector`) over each emission family asked for
    (independent and/or AR(1); ``noise=("detector",)``: both) is a candidate too.

    With ``formula``, the decision is chosen too, by cross-fitting over the
    videos (``folds`` groups; one video: in-sample): for each ``h`` in
    ``substates`` (the same for every proposition, or BIC's choice per
    proposition), with a standard deviation per state or one tied across the
    states (the tied model's log-likelihood ratio is linear in the logit for
    ``h = 1``, like a Platt map), and then (with ``"ar1"`` in ``noise``) the AR(1) model,
    then the truth x detector chains, models are fitted without a fold and decide on it; each
    decision — a threshold 0.2, 0.3, ..., 0.8 on P(φ), or Viterbi — is scored
    by frame F1 plus mean event F1 (IoU >= 0.5) against φ on the labels of
    every held-out frame, using ``mode``'s event rule (``"tlv"``: the TLV rule
    of :func:`~framelogic.automata.localize.tlv_rule`; else maximal runs). The
    best (ties: BIC's choice, fewer sub-states, thresholds near 0.5, threshold
    over Viterbi) is refitted on every video and stored (``decide``,
    ``threshold``).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1, 0, 1], 50)
    >>> s = 1 / (1 + np.exp(-(3 * (2 * y - 1) + rng.normal(size=200))))
    >>> w = fit_hidden({"p": s}, {"p": y}, substates=(1,))
    >>> [round(x, 1) for x in w.models["p"].mean]
    [-2.9, 3.0]
    """
    ss, ls, names = labelled_tables(scores, labels, names)
    hs = tuple(substates)
    if not hs or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hs):
        raise InvalidValue(f"substates={substates!r} must be whole numbers >= 1")
    kinds = (noise,) if isinstance(noise, str) else tuple(noise)
    if not kinds or any(x not in NOISE for x in kinds):
        raise InvalidValue(f"noise={noise!r} must name one or more of {', '.join(map(repr, NOISE))}")
    if isinstance(ar_substates, bool) or not isinstance(ar_substates, int) or ar_substates < 1:
        raise InvalidValue(f"ar_substates={ar_substates!r} must be a whole number >= 1")
    ar = ("ar1", *(f"ar1x{h}" for h in range(2, ar_substates + 1))) if "ar1" in kinds else ()
    if "detector" in kinds:  # the detector chain over each emission family asked for
        fam = ("independent" in kinds, "ar1" in kinds)
        ar += tuple(x for x, on in zip(DETECTOR, fam if any(fam) else (True, True)) if on)
    if "independent" not in kinds:
        hs = ()
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise InvalidValue(f"folds={folds!r} must be a whole number >= 2")
    zs_by: dict[str, list[np.ndarray]] = {a: [] for a in names}
    ys_by: dict[str, list[np.ndarray]] = {a: [] for a in names}
    for s, lab in zip(ss, ls):
        for a in names:
            y = lab.column(a)
            if len(y) != len(s):
                raise InvalidValue(f"scores and labels of {a!r} have {len(s)} and {len(y)} frames")
            if not np.all((y == 0) | (y == 1)):
                raise InvalidValue(f"labels of {a!r} must be 0/1")
            zs_by[a].append(_logit(s.column(a)))
            ys_by[a].append(y.astype(bool))
    if formula is None:
        return Hidden(models=_fit_models(zs_by, ys_by, names, hs + ar, iterations))
    # candidate sub-state choices: BIC's per proposition, then each h for every proposition
    # candidate models, simplest first: each h for every proposition (one tied standard
    # deviation, then one per state), then BIC's choice per proposition
    choices: list[tuple[tuple, bool]] = [((h,), tied) for h in sorted(set(hs)) for tied in (True, False)]
    if len(hs) > 1:
        choices += [(hs, True), (hs, False)]
    choices += [((x,), False) for x in ar]
    v = len(ss)
    groups = [list(range(v))] if v < 2 else [list(range(i, v, min(folds, v))) for i in range(min(folds, v))]
    tally: dict[tuple[int, str, float | None], list] = {}
    caches: list[dict] = [{} for _ in groups]
    for c, choice in enumerate(choices):
        for held, cache in zip(groups, caches):
            rest = [i for i in range(v) if i not in held] or held
            sub = lambda d: {a: [d[a][i] for i in rest] for a in names}  # noqa: E731
            try:
                world = Hidden(models=_fit_models(sub(zs_by), sub(ys_by), names, choice[0], iterations, cache, choice[1]))
            except InvalidValue:  # a fold without both truth values: skip this split
                continue
            for key, hits in _decisions(world, formula, mode, [ss[i] for i in held], [ls[i] for i in held], fps).items():
                tally.setdefault((c, *key), []).extend(hits)
    if not tally:  # no usable split: decide in-sample
        choices = [(hs + ar, False)]
        world = Hidden(models=_fit_models(zs_by, ys_by, names, hs + ar, iterations))
        for key, hits in _decisions(world, formula, mode, ss, ls, fps).items():
            tally[(0, *key)] = hits

    def per_video(pairs) -> np.ndarray:  # type: ignore[no-untyped-def]
        return np.array([_f1(h, t) + _event_f1(_events(h, fr), _events(t, fr)) for h, t, fr in pairs])

    def simplicity(key) -> tuple[int, int]:  # type: ignore[no-untyped-def]
        c, decide, th = key
        return c, (9 if decide == "viterbi" else int(round(abs(th - 0.5) * 10)))

    scores = {key: per_video(pairs) for key, pairs in tally.items()}
    best = max(scores, key=lambda k: (float(scores[k].mean()), [-x for x in simplicity(k)]))
    # the simplest candidate no worse than the best by more than one standard error of the
    # paired per-video differences (held-out F1 is noisy: a small gain does not buy complexity)
    near = []
    for key, x in scores.items():
        d = x - scores[best]
        se = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else 0.0
        if d.mean() >= -se:
            near.append(key)
    c, decide, th = min(near, key=simplicity)
    models = _fit_models(zs_by, ys_by, names, choices[c][0], iterations, tied=choices[c][1])
    return Hidden(models=models, decide=decide, threshold=th)


def _decisions(world: Hidden, formula: object, mode: str, ss, ls, fps) -> dict:  # type: ignore[no-untyped-def]
    """``(decide, threshold) -> [(hits, truth, frames) per video]`` for every candidate decision."""
    from framelogic.logic.passes import atom_names, resolve_time

    from .compile import as_formula
    from .engine import Evaluator, evaluate
    from .localize import tlv_rule

    f = as_formula(formula)
    rate = fps if fps is not None else ss[0].rate
    f = resolve_time(f, rate)
    body, frames = tlv_rule(f) if mode == "tlv" else (f, False)
    names = atom_names(body)
    ev = Evaluator(body, world=world)
    out: dict = {}
    for s, lab in zip(ss, ls):
        truth = evaluate(body, lab.select(names), fps=rate) == 1.0
        signal = ev(s, fps=rate)
        for th in THRESHOLDS:
            out.setdefault(("threshold", float(th)), []).append((signal >= th, truth, frames))
        decoded = evaluate(body, world.decode(s, names), fps=rate) == 1.0
        out.setdefault(("viterbi", None), []).append((decoded, truth, frames))
    return out
