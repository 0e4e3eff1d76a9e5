"""NSVS-TL's reasoning step, implemented from the paper's description
(arXiv 2403.11021, and REFERENCES.md): not their code.

Per kept frame, one layer with every true/false labelling of the k
propositions (probability = product of p or 1-p, rounded to 3 decimals, zero
states dropped); every state of the previous layer links to every state of the
new one; after every frame the DTMC is rebuilt and ``P>=θ [ φ ]`` is checked
with Storm, counting as satisfied if ANY state satisfies it; on success the
buffered frames form one event and the model resets. A frame validator keeps a
frame only if some proposition is detected (p > 0.5) and no negated
proposition of the formula is.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import stormpy

from framelogic.automata.engine import letter_probabilities

from .storm_dtmc import layered_dtmc


def pctl_of(formula: str, names: Sequence[str]) -> str:
    """Our formula text in PCTL syntax: propositions are quoted labels already."""
    return formula


def search(
    pctl_formula: str,
    names: Sequence[str],
    probs: np.ndarray,
    *,
    threshold: float = 0.6,
    negated: Sequence[str] = (),
    validator: bool = True,
) -> list[tuple[int, int]]:
    """Events ``(first, last)`` frame of each flushed buffer."""
    prop = stormpy.parse_properties(f"P>={threshold} [ {pctl_formula} ]")[0]
    L = letter_probabilities(np.asarray(probs, dtype=float))
    neg_idx = [names.index(n) for n in negated]
    buffer: list[int] = []
    events: list[tuple[int, int]] = []
    for i in range(len(L)):
        if validator:
            detected = probs[i] > 0.5
            if not detected.any() or any(detected[j] for j in neg_idx):
                continue
        buffer.append(i)
        dtmc, _ = layered_dtmc(names, L[buffer], prune=True, digits=3, terminal="loop")
        result = stormpy.model_checking(dtmc, prop)
        if result.exists_true():  # "satisfied if ANY state satisfies it"
            events.append((buffer[0], buffer[-1]))
            buffer = []
    return events
