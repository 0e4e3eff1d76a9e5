"""Letters: the one encoding of a frame's truth values as an integer.

Letter ``σ`` over propositions ``atoms`` has bit ``j`` set when ``atoms[j]``
holds at the frame, so an automaton over ``k`` propositions has ``2^k``
letters, ``delta[q, σ]`` its successors. Every module of :mod:`framelogic.automata`
encodes, decodes and projects letters through the functions here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["bit_matrix", "decode", "encode", "letter_of", "letter_probabilities", "projection"]


def encode(values: np.ndarray) -> np.ndarray:
    """The letter of every 0/1 row of ``values`` (frames x propositions)."""
    letters = np.zeros(values.shape[0], dtype=np.int64)
    for j in range(values.shape[1]):
        letters |= values[:, j].astype(np.int64) << j
    return letters


def letter_of(frame: Mapping[str, float], atoms: Sequence[str]) -> int | None:
    """The letter of one frame (proposition -> value) over ``atoms``; None when a
    value is not 0/1. A missing proposition raises :class:`KeyError`."""
    letter = 0
    for j, name in enumerate(atoms):
        v = frame[name]
        if v == 1:
            letter |= 1 << j
        elif v != 0:
            return None
    return letter


def decode(letters: Sequence[int], k: int) -> np.ndarray:
    """The 0/1 rows (``len(letters)`` x ``k``, float64) that :func:`encode` maps to ``letters``."""
    s = np.asarray(letters, dtype=np.int64).reshape(-1, 1)
    return ((s >> np.arange(k)) & 1).astype(np.float64)


def bit_matrix(k: int) -> np.ndarray:
    """``B[j, σ]``: bit ``j`` of letter ``σ``, as a (k, 2^k) boolean matrix."""
    return ((np.arange(1 << k)[None, :] >> np.arange(k)[:, None]) & 1).astype(bool)


def letter_probabilities(values: np.ndarray) -> np.ndarray:
    """``L[i, σ]`` = probability of letter ``σ`` at frame ``i``, for independent
    per-proposition probabilities ``values[i, j]``."""
    n, k = values.shape
    bits = bit_matrix(k)
    L = np.ones((n, 1 << k))
    for j in range(k):
        p = values[:, j : j + 1]
        L *= np.where(bits[j][None, :], p, 1.0 - p)
    return L


def projection(own: Sequence[str], atoms: Sequence[str]) -> np.ndarray:
    """``proj[σ]``: the letter over ``own`` that letter ``σ`` over ``atoms`` (a
    superset) restricts to."""
    pos = {a: i for i, a in enumerate(atoms)}
    letters = np.arange(1 << len(atoms), dtype=np.int64)
    proj = np.zeros_like(letters)
    for j, a in enumerate(own):
        proj |= ((letters >> pos[a]) & 1) << j
    return proj
