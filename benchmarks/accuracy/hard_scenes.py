"""The bundled model on the hard rendered scenarios: per-proposition AUROC.

The scenarios of :data:`framelogic.perception.render.HARD_SCENARIOS` (night and
rain with sensor grain, small and distant objects, partial occlusion by
passing posts, motion blur, all of them at once) carry the renderer's exact
labels; the bundled model scores every frame. AUROC is per proposition, per
scenario (where the proposition both holds and fails in it) and pooled over the
hard scenarios, next to the pooled AUROC on the original scenarios.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

FPS = 5.0


def scored(names: Sequence[str], *, fps: float = FPS, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """scenario -> (labels, probabilities), each frames x ``PROPOSITIONS`` columns."""
    from framelogic.perception import score_video
    from framelogic.perception.render import PROPOSITIONS, render_scenario

    out = {}
    for name in names:
        frames, labels = render_scenario(name, seed=seed, fps=fps)
        table = score_video(frames, dict(PROPOSITIONS), source_fps=fps, use_cache=False)
        out[name] = (np.stack([labels.column(k) for k in PROPOSITIONS], axis=1),
                     np.stack([table.column(k) for k in PROPOSITIONS], axis=1))  # fmt: skip
    return out


def auroc_table(hard: dict[str, tuple[np.ndarray, np.ndarray]], easy: dict[str, tuple[np.ndarray, np.ndarray]] | None) -> str:
    """Propositions x (each hard scenario, pooled hard, pooled original) AUROC; '-' where one class only."""
    from framelogic.perception import auroc
    from framelogic.perception.render import PROPOSITIONS

    def pooled(d: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        return np.concatenate([v[0] for v in d.values()]), np.concatenate([v[1] for v in d.values()])

    cols = {name: v for name, v in hard.items()}
    cols["all hard (pooled)"] = pooled(hard)
    if easy:
        cols["original scenarios (pooled)"] = pooled(easy)
    lines = ["| proposition | " + " | ".join(cols) + " |", "|" + "---|" * (len(cols) + 1)]
    for j, prop in enumerate(PROPOSITIONS):
        cells = []
        for labels, probs in cols.values():
            a = auroc(probs[:, j], labels[:, j])
            cells.append("-" if a != a else f"{a:.3f}")
        if all(c == "-" for c in cells):
            continue
        lines.append(f"| {prop} | " + " | ".join(cells) + " |")
    frames = {name: len(v[0]) for name, v in hard.items()}
    lines.append("")
    lines.append(f"Frames at {FPS:g} fps: " + ", ".join(f"{k} {n}" for k, n in frames.items())
                 + (f"; original scenarios {sum(len(v[0]) for v in easy.values())}" if easy else "") + ".")  # fmt: skip
    return "\n".join(lines)


def run_rendered(*, original: bool = True, log: Callable[[str], None] | None = None) -> str:
    """Render, score and tabulate (markdown)."""
    from framelogic.perception.render import HARD_SCENARIOS, SCENARIOS

    t0 = time.perf_counter()
    hard = scored(list(HARD_SCENARIOS))
    easy = scored(list(SCENARIOS)) if original else None
    if log:
        log(f"rendered scenarios: {time.perf_counter() - t0:.1f} s")
    return auroc_table(hard, easy)
