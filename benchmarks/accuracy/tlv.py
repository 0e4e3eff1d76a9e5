"""The TLV dataset's own pickles (UTAustin-SwarmLab/Temporal-Logic-Video-Dataset).

Each pickle holds a dict with ``ground_truth``, ``ltl_formula``,
``proposition``, ``number_of_frame``, ``frames_of_interest`` (a list of lists
of frame indices), ``labels_of_frames`` (per frame: the proposition present,
a list of them, or None) and ``images_of_frames``. :func:`load` reads one into
a :class:`TLVSample`; :func:`run` scores every method of the benchmark on a
set of samples with per-frame probabilities from a source the user supplies:

* :func:`noisy_labels` — the labels through the benchmark's noise model;
* :func:`perception` — framelogic's perception on ``images_of_frames``;
* any callable ``TLVSample -> {proposition: probabilities}`` (your detector).

    python -m benchmarks.accuracy --tlv path/to/tlv_pickles/

Only load pickles you trust: unpickling runs code.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from framelogic.logic import parse
from framelogic.logic.errors import FramelogicError, InputError, InvalidValue

from .data import Noise
from .report import Row, score

KEYS = ("ground_truth", "ltl_formula", "proposition", "number_of_frame", "frames_of_interest", "labels_of_frames",
        "images_of_frames")  # fmt: skip


@dataclass(frozen=True)
class TLVSample:
    path: str
    formula: str  # as in the dataset, e.g. '"car" U "person"' (framelogic parses it unchanged)
    propositions: tuple[str, ...]
    n_frames: int
    frames_of_interest: list[list[int]]
    labels: dict[str, np.ndarray]  # proposition -> 0/1 per frame
    images: Any = None  # as stored (a list or array of frames), or None


def load(path: str | Path) -> TLVSample:
    """One TLV pickle; errors name the file and what is wrong with it."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            d = pickle.load(f)  # noqa: S301 - the dataset's own format; only load files you trust
    except FileNotFoundError:
        raise InputError(f"{str(p)!r}: no such TLV pickle") from None
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as e:
        raise InputError(f"{str(p)!r}: not a TLV pickle ({type(e).__name__}: {e})") from None
    if not isinstance(d, Mapping):
        raise InputError(f"{str(p)!r}: a TLV pickle holds a dict, this one a {type(d).__name__}")
    missing = [k for k in KEYS if k not in d]
    if missing:
        raise InputError(f"{str(p)!r}: missing TLV keys {missing}; expected all of {list(KEYS)}")
    props = tuple(str(x) for x in d["proposition"] if x is not None)
    n = int(d["number_of_frame"])
    frame_labels = list(d["labels_of_frames"])
    if len(frame_labels) != n:
        raise InputError(f"{str(p)!r}: number_of_frame={n} but labels_of_frames has {len(frame_labels)} entries")
    labels = {name: np.zeros(n) for name in props}
    for i, present in enumerate(frame_labels):
        # TLV stores one label as a string, several as a list, none as None
        for name in [present] if isinstance(present, str) else list(present or []):
            if name in labels:
                labels[name][i] = 1.0
    foi = []
    for ev in d["frames_of_interest"]:
        idx = [int(ev)] if np.isscalar(ev) else [int(i) for i in ev]
        if any(not 0 <= i < n for i in idx):
            raise InputError(f"{str(p)!r}: frames_of_interest {idx} reach outside 0..{n - 1}")
        foi.append(idx)
    formula = str(d["ltl_formula"])
    try:
        parse(formula)
    except FramelogicError as e:
        raise InputError(f"{str(p)!r}: ltl_formula {formula!r} does not parse:\n{e}") from None
    return TLVSample(str(p), formula, props, n, foi, labels, d.get("images_of_frames"))


def load_dir(folder: str | Path) -> list[TLVSample]:
    """Every ``*.pkl`` under ``folder``, sorted by path."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{str(root)!r}: not a folder of TLV pickles")
    paths = sorted(root.rglob("*.pkl"))
    if not paths:
        raise InputError(f"{str(root)!r}: no *.pkl files in it")
    return [load(p) for p in paths]


Source = Callable[[TLVSample], Mapping[str, np.ndarray]]


def noisy_labels(noise: Noise, seed: int = 0) -> Source:
    """Probabilities from the sample's labels through the noise model, seeded per sample."""

    def source(sample: TLVSample) -> dict[str, np.ndarray]:
        # a seed per file, so one sample's probabilities do not depend on which others are run
        rng = np.random.default_rng([seed, *sample.path.encode()])
        return noise.apply(sample.labels, rng)

    return source


def perception(model: str | None = None, *, device: str | None = None) -> Source:
    """Probabilities from framelogic's perception (the bundled model unless ``model``)
    on ``images_of_frames``, one prompt per proposition: ``"a {proposition}"``."""

    def source(sample: TLVSample) -> dict[str, np.ndarray]:
        from framelogic.perception import score_video

        if sample.images is None or len(sample.images) != sample.n_frames:
            raise InvalidValue(f"{sample.path!r}: images_of_frames must hold one image per frame")
        frames = np.stack([np.asarray(im, dtype=np.uint8) for im in sample.images])
        kw = {"model": model} if model else {}
        table = score_video(frames, {p: f"a {p}" for p in sample.propositions}, device=device, use_cache=False, **kw)
        return {p: table.column(p) for p in sample.propositions}

    return source


def run(samples: Iterable[TLVSample], source: Source, methods: Iterable[Any], *, noise: str = "") -> list[Row]:
    """Every method on every sample, grouped by the sample's formula shape (its template)."""
    groups: dict[str, list[tuple[str, Mapping[str, np.ndarray], list[list[int]]]]] = {}
    for s in samples:
        groups.setdefault(template_of(s.formula), []).append((s.formula, source(s), s.frames_of_interest))
    rows = []
    for template, cases in groups.items():
        for m in methods:
            kept = [c for c in cases if m.max_frames is None or len(next(iter(c[1].values()))) <= m.max_frames]
            if kept:
                rows.append(score(m.name, m.run, kept, template=template, noise=noise))
    return rows


def template_of(formula: str) -> str:
    """The formula with its propositions renamed p, q, r in order of appearance: the
    TLV template it instantiates (``'"car" U "person"'`` -> ``'p U q'``)."""
    from framelogic.logic.passes import atom_names, substitute
    from framelogic.logic.printer import to_text
    from framelogic.logic import ast as A

    f = parse(formula)
    names = atom_names(f)
    letters = "pqrstuvw"
    if len(names) > len(letters):
        return to_text(f)
    return to_text(substitute(f, {n: A.Atom(letters[i]) for i, n in enumerate(names)}))
