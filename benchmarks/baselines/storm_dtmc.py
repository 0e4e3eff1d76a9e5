"""Probabilistic traces as layered DTMCs checked with Storm (stormpy).

Frame ``i`` becomes one layer with a state per labelling (letter) of the
propositions, reached with the letter's probability; every state of a layer
links to every state of the next; the last layer links to an absorbing
``end`` state. This is the model NSVS-TL builds, and the reference the exact
engine is cross-checked against.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import stormpy
import stormpy.datastructures
import stormpy.models


def layered_dtmc(names: Sequence[str], L: np.ndarray, *, prune: bool = False, digits: int | None = None,
                 terminal: str = "end"):  # fmt: skip
    """The DTMC of a trace with letter probabilities ``L`` (frames x 2^k).

    ``prune`` drops zero-probability letters and ``digits`` rounds probabilities
    (both as NSVS-TL does). ``terminal="end"`` sends the last layer to an
    unlabelled absorbing end state (finite-trace semantics); ``"loop"`` makes
    each last-layer state absorbing (NSVS-TL's models have no end marker).
    Returns ``(dtmc, layer0_states)``.
    """
    n, n_letters = L.shape
    if digits is not None:
        L = np.round(L, digits)
    layers: list[list[tuple[int, int]]] = []  # (state id, letter)
    next_id = 1  # state 0 is the start
    for i in range(n):
        letters = [s for s in range(n_letters) if (L[i, s] > 0 or not prune)]
        layers.append([(next_id + j, s) for j, s in enumerate(letters)])
        next_id += len(letters)
    end = next_id
    total = end + 1
    builder = stormpy.datastructures.SparseMatrixBuilder(rows=total, columns=total, entries=0, force_dimensions=False)

    def row(src: int, targets: list[tuple[int, float]]) -> None:
        z = sum(p for _, p in targets)
        for t, p in sorted(targets):
            if p > 0:
                builder.add_next_value(src, t, p / z)

    row(0, [(sid, L[0, s]) for sid, s in layers[0]])
    for i in range(n):
        for sid, _ in layers[i]:
            if i + 1 < n:
                row(sid, [(tid, L[i + 1, s]) for tid, s in layers[i + 1]])
            else:
                row(sid, [(end if terminal == "end" else sid, 1.0)])
    row(end, [(end, 1.0)])
    labeling = stormpy.models.StateLabeling(total)
    for name in [*names, "end", "start"]:
        labeling.add_label(name)
    labeling.add_label_to_state("start", 0)
    labeling.add_label_to_state("end", end)
    for layer in layers:
        for sid, s in layer:
            for j, name in enumerate(names):
                if (s >> j) & 1:
                    labeling.add_label_to_state(name, sid)
    components = stormpy.models.SparseModelComponents(transition_matrix=builder.build(), state_labeling=labeling)
    return stormpy.models.SparseDtmc(components), layers[0]


def probability(dtmc, pctl: str, state: int = 0) -> float:
    """``P=? [ ... ]`` of a PCTL path formula at ``state``."""
    prop = stormpy.parse_properties(pctl)[0]
    result = stormpy.model_checking(dtmc, prop)
    return float(result.get_value(state))
