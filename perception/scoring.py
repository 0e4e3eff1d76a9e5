"""Propositions to probabilities: prompts, contrast prompts, calibration, scorers.

Propositions are not mutually exclusive, so there is never a softmax across
propositions. Each proposition is scored on its own: the image's similarity to
its prompt (an ensemble of prompts and templates is averaged as normalized text
embeddings) against its contrast prompt, as a two-way softmax with the model's
logit scale. A per-proposition calibration (Platt scaling, or isotonic with
>= 1,000 labelled frames) then maps that score to a probability.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from framelogic.logic.errors import InputError, InvalidArgument, InvalidValue
from framelogic.logic.trace import TraceTable, atomic_write_text

from .config import EmbedConfig, embed_config

DEFAULT_CONTRAST = "a photo of a street"
EPS = 1e-4


# ------------------------------------------------------------------ calibration
@dataclass(frozen=True)
class Calibration:
    """A monotone map from raw scores to probabilities, clipped to [eps, 1-eps]."""

    kind: str = "identity"  # "identity", "platt" or "isotonic"
    a: float = 1.0  # platt: p = sigmoid(a * s + b)
    b: float = 0.0
    xs: tuple[float, ...] = ()  # isotonic: breakpoints (scores) ...
    ys: tuple[float, ...] = ()  # ... and their probabilities (interpolated)

    def __post_init__(self) -> None:
        # a calibration file is user input: NaN parameters would reach the automata as NaN probabilities
        if self.kind not in ("identity", "platt", "isotonic"):
            raise InvalidValue(f"kind={self.kind!r} must be 'identity', 'platt' or 'isotonic'")
        for name in ("a", "b"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                raise InvalidValue(f"{name}={v!r} must be a finite number")
        xs, ys = np.asarray(self.xs, dtype=np.float64), np.asarray(self.ys, dtype=np.float64)
        if xs.shape != ys.shape or xs.ndim != 1 or (self.kind == "isotonic" and len(xs) == 0):
            raise InvalidValue(f"xs and ys must be two lists of one length (>= 1 for isotonic), got {len(self.xs)} and {len(self.ys)}")
        if not (np.isfinite(xs).all() and np.all(np.diff(xs) >= 0)):
            raise InvalidValue("xs must be finite and non-decreasing")
        if not (np.isfinite(ys).all() and np.all((ys >= 0) & (ys <= 1))):
            raise InvalidValue("ys must be probabilities in [0, 1]")

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        s = np.asarray(scores, dtype=np.float64)
        if self.kind == "platt":
            p = 1.0 / (1.0 + np.exp(-(self.a * s + self.b)))
        elif self.kind == "isotonic":
            p = np.interp(s, self.xs, self.ys)
        else:
            p = s
        return np.clip(p, EPS, 1.0 - EPS)

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "a": self.a, "b": self.b, "xs": list(self.xs), "ys": list(self.ys)}) + "\n"

    def save(self, path: str | os.PathLike[str]) -> None:
        atomic_write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Calibration:
        try:
            d = json.loads(Path(path).read_text())
            return cls(d["kind"], float(d["a"]), float(d["b"]), tuple(map(float, d.get("xs", ()))), tuple(map(float, d.get("ys", ()))))
        except FileNotFoundError:
            raise InputError(f"{str(path)!r}: no such calibration file") from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as e:
            raise InputError(f"{str(path)!r}: not a valid calibration file ({type(e).__name__}: {e})") from None


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (ties count half); nan with one class only."""
    s, y = np.asarray(scores, float), np.asarray(labels, bool)
    pos, neg = y.sum(), (~y).sum()
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over equal-width bins."""
    p, y = np.asarray(probs, float), np.asarray(labels, float)
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for k in range(bins):
        m = (p >= edges[k]) & ((p < edges[k + 1]) if k < bins - 1 else (p <= 1))
        if m.any():
            total += m.sum() / len(p) * abs(p[m].mean() - y[m].mean())
    return float(total)


def _platt(s: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Logistic regression of y on s by Newton's method (with Platt's target smoothing)."""
    n_pos, n_neg = y.sum(), len(y) - y.sum()
    t = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    a, b = 1.0, 0.0
    for _ in range(100):
        z = np.clip(a * s + b, -30, 30)
        p = 1 / (1 + np.exp(-z))
        w = p * (1 - p) + 1e-9
        g = np.array([np.sum((p - t) * s), np.sum(p - t)])
        h = np.array([[np.sum(w * s * s), np.sum(w * s)], [np.sum(w * s), np.sum(w)]]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-10:
            break
    return float(a), float(b)


def _isotonic(s: np.ndarray, y: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Pool-adjacent-violators fit of y on s; returns breakpoints for interpolation."""
    order = np.argsort(s, kind="mergesort")
    xs, ys = s[order], y[order].astype(float)
    blocks: list[list[float]] = []  # [sum, count, x_first, x_last]
    for x, v in zip(xs, ys):
        blocks.append([v, 1.0, x, x])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s2, c2, _, x2 = blocks.pop()
            blocks[-1][0] += s2
            blocks[-1][1] += c2
            blocks[-1][3] = x2
    bx, by = [], []
    for tot, cnt, x0, x1 in blocks:
        bx += [x0, x1]
        by += [tot / cnt, tot / cnt]
    return tuple(float(v) for v in bx), tuple(float(v) for v in by)


def fit_calibration(
    data: np.ndarray, labels: np.ndarray, *, kind: str | None = None,
    proposition: Proposition | str | None = None, model: Any = None,
) -> tuple[Calibration, dict[str, float]]:
    """Fit a calibration to labelled frames; report ECE and AUROC before/after.

    ``data`` is one of: raw scores (N,) from :func:`raw_scores`; image embeddings
    (N, D) from :func:`framelogic.perception.embed_video`; or frames
    (N, H, W, 3) uint8 RGB. Embeddings and frames are scored for
    ``proposition`` (a :class:`Proposition` or a prompt) with ``model`` (a model
    spec or a loaded encoder; default the bundled model). ``kind`` defaults to
    isotonic with at least 1,000 labels, else Platt.
    """
    arr = np.asarray(data)
    if arr.ndim in (2, 4):
        if proposition is None:
            raise InvalidArgument("fitting on embeddings or frames needs proposition= (a Proposition or a prompt)")
        prop = Proposition(proposition) if isinstance(proposition, str) else proposition
        if not isinstance(prop, Proposition):
            raise InvalidArgument(f"proposition={proposition!r} must be a Proposition or a prompt string")
        enc = _encoder(model)
        emb = enc.encode_images(arr) if arr.ndim == 4 else arr.astype(np.float32)
        arr = raw_scores(enc, emb, prop)
    elif arr.ndim != 1:
        raise InvalidValue(f"data must be scores (N,), embeddings (N, D) or frames (N, H, W, 3), not shape {arr.shape}")
    s = arr.astype(np.float64)
    y = np.asarray(labels).astype(bool).ravel()
    if s.shape != y.shape or len(s) < 2:
        raise InvalidValue(f"scores and labels must be two arrays of one length >= 2, got {s.shape} and {y.shape}")
    if y.all() or not y.any():
        raise InvalidValue("labels must contain both true and false frames to fit a calibration")
    kind = kind or ("isotonic" if len(s) >= 1000 else "platt")
    if kind == "platt":
        a, b = _platt(s, y.astype(float))
        cal = Calibration("platt", a, b)
    elif kind == "isotonic":
        xs, ys = _isotonic(s, y)
        cal = Calibration("isotonic", xs=xs, ys=ys)
    else:
        raise InvalidValue(f"kind={kind!r} must be 'platt' or 'isotonic'")
    after = cal(s)
    report = {"ece_before": ece(s, y), "ece_after": ece(after, y), "auroc_before": auroc(s, y), "auroc_after": auroc(after, y), "n": float(len(s))}
    return cal, report


# ------------------------------------------------------------------ propositions
@dataclass(frozen=True)
class Proposition:
    """A proposition scored by prompts: ``prompts`` (an ensemble) against ``contrast``."""

    name: str
    prompts: tuple[str, ...] = ()  # default: the name itself
    contrast: tuple[str, ...] = ()  # default: DEFAULT_CONTRAST
    templates: tuple[str, ...] = ()  # e.g. ("a photo of {}",); default: the prompts as they are
    calibration: Calibration | str | None = None  # a Calibration or the path of its JSON
    smoothing: int = 0  # moving-average window in frames (0 = off)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidArgument(f"name={self.name!r} must be a non-empty string")
        for f in ("prompts", "contrast", "templates"):
            v = getattr(self, f)
            if isinstance(v, str):
                object.__setattr__(self, f, (v,))
            elif not all(isinstance(x, str) and x for x in getattr(self, f)):
                raise InvalidArgument(f"{f}={v!r} must be a string or a sequence of non-empty strings")
            else:
                object.__setattr__(self, f, tuple(v))
        if not self.prompts:
            object.__setattr__(self, "prompts", (self.name,))
        if not isinstance(self.smoothing, int) or isinstance(self.smoothing, bool) or self.smoothing < 0:
            raise InvalidValue(f"smoothing={self.smoothing!r} must be a whole number of frames >= 0")

    def texts(self) -> tuple[list[str], list[str]]:
        def expand(ps: Sequence[str]) -> list[str]:
            return [t.format(p) for p in ps for t in self.templates] if self.templates else list(ps)

        return expand(self.prompts), expand(self.contrast or (DEFAULT_CONTRAST,))

    def calibrator(self) -> Calibration:
        if self.calibration is None:
            return Calibration()
        if isinstance(self.calibration, Calibration):
            return self.calibration
        return Calibration.load(self.calibration)


def as_propositions(props: Sequence[Proposition] | Mapping[str, str | Sequence[str]]) -> list[Proposition]:
    if isinstance(props, Mapping):
        return [Proposition(n, (p,) if isinstance(p, str) else tuple(p)) for n, p in props.items()]
    out = []
    for p in props:
        if isinstance(p, str):
            out.append(Proposition(p))
        elif isinstance(p, Proposition):
            out.append(p)
        else:
            raise InvalidArgument(f"proposition {p!r} must be a Proposition or a prompt string")
    names = [p.name for p in out]
    if len(set(names)) != len(names):
        raise InvalidValue(f"proposition names must be unique: {names}")
    return out


def _encoder(model: Any) -> Any:
    """A loaded encoder from a model spec (None: the bundled model) or an encoder."""
    if model is None or isinstance(model, str):
        from .model import BUNDLED, load_encoder

        return load_encoder(model or BUNDLED)
    return model


def smooth(x: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average over ``window`` frames (edges repeat the end values).

    Off by default (``Proposition.smoothing=0``): it trades a ``window/2``-frame
    delay in onsets for fewer one-frame flickers, which matters for ``G`` and
    bounded operators; exact automata need no smoothing to be correct.
    """
    if window <= 1:
        return x
    k = np.ones(window) / window
    pad = np.pad(x, (window // 2, window - 1 - window // 2), mode="edge")
    return np.convolve(pad, k, mode="valid")


def _directions(encoder: Any, props: Sequence[Proposition]) -> np.ndarray:
    """(D, k): for each proposition, its prompt ensemble's unit text embedding minus
    its contrast ensemble's (one product with the embeddings scores it)."""
    cols = []
    for prop in props:
        pos, neg = prop.texts()
        tp = encoder.encode_texts(pos).mean(axis=0)
        tn = encoder.encode_texts(neg).mean(axis=0)
        tp /= np.linalg.norm(tp) or 1.0
        tn /= np.linalg.norm(tn) or 1.0
        cols.append(tp - tn)
    return np.stack(cols, axis=1).astype(np.float32)


def _all_raw_scores(encoder: Any, embeddings: np.ndarray, props: Sequence[Proposition]) -> np.ndarray:
    emb = np.asarray(embeddings, dtype=np.float32)
    d = _directions(encoder, props)
    # one matrix-vector product per proposition, not one matrix product: a column's
    # values must not depend (even in the last bit) on which other propositions are scored
    z = encoder.logit_scale * np.stack([emb @ d[:, j] for j in range(d.shape[1])], axis=1)
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))


def raw_scores(encoder: Any, embeddings: np.ndarray, prop: Proposition) -> np.ndarray:
    """Two-way softmax of prompt vs contrast similarity, per frame."""
    return _all_raw_scores(encoder, embeddings, [prop])[:, 0]


def probabilities(encoder: Any, embeddings: np.ndarray, props: Sequence[Proposition]) -> np.ndarray:
    """(frames, propositions) calibrated probabilities; each column independent of the others."""
    if not props:
        return np.zeros((len(embeddings), 0))
    raw = _all_raw_scores(encoder, embeddings, props)
    cols = [np.clip(smooth(p.calibrator()(raw[:, j]), p.smoothing), EPS, 1 - EPS) for j, p in enumerate(props)]
    return np.stack(cols, axis=1)


# ------------------------------------------------------------------ scorers
@dataclass(frozen=True, eq=False)
class ScoredTable(TraceTable):
    """A :class:`TraceTable` that also knows where its rows came from:
    ``source_frames[i]`` is the index in the source (video, folder, array or
    table) of the frame row ``i`` was scored on. Every scorer returns one."""

    source_frames: np.ndarray | None = None  # (frames,) int64, increasing

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.source_frames is None:
            object.__setattr__(self, "source_frames", np.arange(len(self), dtype=np.int64))
        frames = np.asarray(self.source_frames)
        if frames.shape != (len(self),) or (frames.size and not np.issubdtype(frames.dtype, np.integer)):
            raise InvalidValue(f"source_frames has shape {frames.shape} and dtype {frames.dtype}, expected ({len(self)},) integers")
        frames = frames.astype(np.int64)
        if frames.size and (frames[0] < 0 or np.any(np.diff(frames) <= 0)):
            raise InvalidValue("source_frames must be increasing frame indices >= 0")
        frames.setflags(write=False)
        object.__setattr__(self, "source_frames", frames)


#: The clip scorer's config is the embedding config: one object for sampling, model and cache.
ClipConfig = EmbedConfig


@dataclass(frozen=True)
class TableConfig:
    path: str  # CSV, Parquet, Feather or NumPy (header = proposition names, optional 'time')
    names: tuple[str, ...] = ()  # column names for .npy tables
    columns: tuple[tuple[str, str], ...] = ()  # (proposition, column) renames, e.g. (("ped", "pedestrian_prob"),)
    nan: str = "error"  # missing values: "error", "zero" or "drop" (framelogic.logic.tables.NAN_POLICIES)

    def __post_init__(self) -> None:
        if not isinstance(self.path, (str, os.PathLike)):
            raise InvalidValue(f"path={self.path!r} must be the path of a table file")
        columns = self.columns.items() if isinstance(self.columns, Mapping) else self.columns
        object.__setattr__(self, "columns", tuple((str(k), str(v)) for k, v in columns))
        object.__setattr__(self, "names", tuple(self.names))


Props = Sequence[Proposition] | Mapping[str, str | Sequence[str]]


def _table(names: Sequence[str], columns: Sequence[np.ndarray], times: Any, fps: Any, frames: Any) -> ScoredTable:
    values = np.stack([np.asarray(c, dtype=np.float64) for c in columns], 1) if columns else np.zeros((len(frames), 0))
    return ScoredTable(tuple(names), values, times, fps, np.asarray(frames, dtype=np.int64))


class ClipScorer:
    """Scores the frames of a source (video, image folder, frames) with an open_clip model."""

    def __init__(self, config: EmbedConfig) -> None:
        self.config = config

    @property
    def encoder(self):  # type: ignore[no-untyped-def]
        from .model import load_encoder

        return load_encoder(self.config.model, self.config.device, self.config.precision)  # cached per process

    def __call__(self, source: object, props: Props) -> ScoredTable:
        from .pipeline import embed_video

        props = as_propositions(props)
        emb = embed_video(source, self.config)
        values = probabilities(self.encoder, emb.embeddings, props)
        times = emb.times.astype(np.float64)
        if len(times) > 1 and not np.all(np.diff(times) > 0):  # pragma: no cover - sources are ordered
            times = None
        return ScoredTable(tuple(p.name for p in props), values, times, emb.rate, emb.indices)


class TableScorer:
    """Probabilities precomputed by any external detector: row ``i`` is source frame ``i``."""

    def __init__(self, config: TableConfig) -> None:
        self.config = config
        self.table = _read_table(config)

    def __call__(self, source: object, props: Props | None = None) -> ScoredTable:
        """The columns of ``props`` (None: every column); ``source`` is not read."""
        t = self.table
        names = list(t.names) if props is None else [p.name for p in as_propositions(props)]
        return _table(names, [t.column(n) for n in names], t.times, t.fps, np.arange(len(t)))


def _read_table(config: TableConfig):  # type: ignore[no-untyped-def]
    """The one table reader (CSV, Parquet, Feather, NumPy): :func:`framelogic.logic.tables.read_table`."""
    from framelogic.logic.tables import read_table

    return read_table(config.path, names=config.names or None, columns=dict(config.columns), nan=config.nan)


class CallableScorer:
    """A user function ``frames -> {proposition name: probabilities}``, called on
    batches of the sampled frames (``config``: sampling and batch size)."""

    def __init__(self, fn: Callable[[np.ndarray], Mapping[str, np.ndarray]], config: EmbedConfig | None = None) -> None:
        self.fn = fn
        self.config = config or EmbedConfig()

    def __call__(self, source: object, props: Props) -> ScoredTable:
        from .sources import open_source

        props = as_propositions(props)
        cfg = self.config
        src = open_source(source, fps=cfg.fps, stride=cfg.stride, source_fps=cfg.source_fps)
        parts: dict[str, list[np.ndarray]] = {p.name: [] for p in props}
        times, frames = [], []
        for batch in src.batches(cfg.batch_size or 256):
            out = self.fn(batch.images)
            missing = [p.name for p in props if p.name not in out]
            if missing:
                raise InvalidValue(f"the scorer returned no probabilities for {missing}")
            for p in props:
                col = np.asarray(out[p.name], dtype=np.float64).reshape(-1)
                if col.shape != (len(batch.indices),):
                    raise InvalidValue(f"the scorer returned {col.shape[0]} values of {p.name!r} for {len(batch.indices)} frames")
                parts[p.name].append(np.clip(col, 0, 1))
            times.append(batch.times)
            frames.append(batch.indices)
        cols = [np.concatenate(parts[p.name]) for p in props]
        return _table([p.name for p in props], cols, np.concatenate(times).astype(np.float64), src.rate, np.concatenate(frames))


_REGISTRY: dict[str, tuple[type, type]] = {"clip": (EmbedConfig, ClipScorer), "table": (TableConfig, TableScorer)}


def list_scorers() -> list[str]:
    return sorted(_REGISTRY)


def create_scorer(name: str | Callable, config: Any = None, /, **options: Any):  # type: ignore[no-untyped-def]
    """A scorer by registry name (``clip``, ``table``) or from a callable.

    ``config`` is the scorer's config object (an :class:`EmbedConfig` for
    ``clip`` and callables, a :class:`TableConfig` for ``table``); ``options``
    are its fields as keywords. Every scorer is called as
    ``scorer(source, propositions)`` and returns a :class:`ScoredTable`.
    """
    if callable(name) and not isinstance(name, str):
        try:
            return CallableScorer(name, embed_config(config, **options))
        except TypeError as e:
            raise InvalidArgument(f"bad config for a callable scorer: {e}") from None
    try:
        cfg_cls, cls = _REGISTRY[name]
    except (KeyError, TypeError):
        raise InvalidValue(f"scorer={name!r} is unknown; choose from {list_scorers()} or pass a callable") from None
    if config is not None and not isinstance(config, cfg_cls):
        raise InvalidArgument(f"config={config!r} of scorer {name!r} must be a {cfg_cls.__name__}")
    try:
        cfg = replace(config, **options) if config is not None else cfg_cls(**options)
    except TypeError as e:
        raise InvalidArgument(f"bad config for scorer {name!r}: {e}") from None
    return cls(cfg)


__all__ = [
    "Calibration", "ClipConfig", "EmbedConfig", "Proposition", "ScoredTable", "TableConfig", "auroc", "create_scorer", "ece",
    "fit_calibration", "list_scorers", "probabilities", "raw_scores",
]  # fmt: skip
