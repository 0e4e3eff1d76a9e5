"""Loader for the TLV dataset's own pickles (UTAustin-SwarmLab/Temporal-Logic-Video-Dataset).

Each pickle holds a dict with ``ground_truth``, ``ltl_formula``, ``proposition``,
``number_of_frame``, ``frames_of_interest`` (a list of lists of frame indices),
``labels_of_frames`` (per frame, the propositions present) and
``images_of_frames``. :func:`load` returns a :class:`TLVSample` whose
``labels`` table can be fed to the noise model, or whose images to perception.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from framelogic.logic.errors import InputError

KEYS = ("ground_truth", "ltl_formula", "proposition", "number_of_frame", "frames_of_interest", "labels_of_frames", "images_of_frames")


@dataclass(frozen=True)
class TLVSample:
    path: str
    formula: str  # as in the dataset, e.g. '"car" U "person"' (parses unchanged)
    propositions: tuple[str, ...]
    n_frames: int
    frames_of_interest: list[list[int]]
    labels: dict[str, np.ndarray]  # proposition -> 0/1 per frame
    images: Any  # as stored (list/array of frames), or None


def load(path: str | Path) -> TLVSample:
    p = Path(path)
    try:
        with open(p, "rb") as f:
            d = pickle.load(f)  # noqa: S301 - the dataset's own format; only load files you trust
    except FileNotFoundError:
        raise InputError(f"{str(p)!r}: no such TLV pickle") from None
    except (OSError, pickle.UnpicklingError, EOFError) as e:
        raise InputError(f"{str(p)!r}: not a TLV pickle ({e})") from None
    missing = [k for k in KEYS if k not in d]
    if missing:
        raise InputError(f"{str(p)!r}: missing TLV keys {missing}")
    props = tuple(d["proposition"])
    n = int(d["number_of_frame"])
    labels = {name: np.zeros(n) for name in props}
    for i, present in enumerate(d["labels_of_frames"][:n]):
        present = [present] if isinstance(present, str) else list(present or [])
        for name in present:
            if name in labels:
                labels[name][i] = 1.0
    return TLVSample(str(p), str(d["ltl_formula"]), props, n, [list(map(int, fi)) for fi in d["frames_of_interest"]],
                     labels, d.get("images_of_frames"))  # fmt: skip
