"""The benchmark's runs: synthetic TLV-form videos under the noise model, long
videos, and the bundled model on rendered scenario videos."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from .data import NOISE_LEVELS, TEMPLATES, Noise, generate, ground_truth
from .methods import Method
from .report import Row, score


THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8)


def _cases(template: str, noise: Noise, videos: int, lengths: tuple[int, int], seed: int):  # type: ignore[no-untyped-def]
    # the same videos at every noise level, so that levels differ only by the noise
    rng = np.random.default_rng([seed, *template.encode()])
    vids = [generate(template, int(rng.integers(lengths[0], lengths[1] + 1)), rng) for _ in range(videos)]
    nrng = np.random.default_rng([seed, *noise.name.encode(), *template.encode()])
    return [(TEMPLATES[template], noise.apply(v.labels, nrng), v.frames_of_interest) for v in vids]


def synthetic(methods: Sequence[Method], *, videos: int, lengths: tuple[int, int], seed: int = 0,
              noise_levels: Iterable[Noise] = NOISE_LEVELS, templates: Iterable[str] = TEMPLATES,
              tune: bool = False) -> list[Row]:  # fmt: skip
    """Per template and noise level: ``videos`` generated videos with lengths drawn
    from ``lengths`` (inclusive), the same probabilities given to every method.

    With ``tune``, each method that has a decision threshold is run a second time
    ("tuned θ") with the threshold of best mean frame F1 on separate validation
    videos (another seed) of the same template and noise level.
    """
    rows = []
    for template in templates:
        for noise in noise_levels:
            cases = _cases(template, noise, videos, lengths, seed)
            validation = _cases(template, noise, videos, lengths, seed + 10_007) if tune else []
            for m in methods:
                kept = [c for c in cases if m.max_frames is None or len(c[1]["p"]) <= m.max_frames]
                if kept:
                    rows.append(score(m.name, m.run, kept, template=template, noise=noise.name))
                if tune and m.with_threshold is not None and noise.error > 0:
                    th = max(THRESHOLDS, key=lambda t: score("", m.with_threshold(t), validation, template="", noise="").f1)
                    rows.append(score(f"{m.name}, tuned θ={th:g}", m.with_threshold(th), kept, template=template,
                                      noise=noise.name))  # fmt: skip
    return rows


# template -> the rendered scenes' propositions standing for p, q, r
RENDERED_BINDINGS: dict[str, tuple[str, ...]] = {
    "F p": ("stop_sign",),
    "G p": ("car_close",),
    "p & q": ("crosswalk", "pedestrian"),
    "p U q": ("yellow_light", "red_light"),
    "(p & q) U r": ("red_light", "crosswalk", "green_light"),
}


def rendered(methods: Sequence[Method], *, fps: float = 5.0, seeds: Sequence[int] = (0,)) -> list[Row]:
    """Perception input (a): the bundled model's probabilities on every rendered
    scenario; the truth is the template's rule on the renderer's exact labels."""
    from framelogic.perception import score_video
    from framelogic.perception.render import PROPOSITIONS, SCENARIOS, render_scenario

    used = sorted({n for names in RENDERED_BINDINGS.values() for n in names})
    scored = []
    for name in SCENARIOS:
        for seed in seeds:
            frames, labels = render_scenario(name, seed=seed, fps=fps)
            table = score_video(frames, {k: PROPOSITIONS[k] for k in used}, source_fps=fps, use_cache=False)
            scored.append((labels, table))
    rows = []
    for template, names in RENDERED_BINDINGS.items():
        cases = []
        for labels, table in scored:
            lab = {k: labels.column(n) for k, n in zip("pqr", names)}
            probs = {k: table.column(n) for k, n in zip("pqr", names)}
            cases.append((TEMPLATES[template], probs, ground_truth(template, lab)))
        for m in methods:
            kept = [c for c in cases if m.max_frames is None or len(c[1]["p"]) <= m.max_frames]
            if kept:
                label = "bundled model (" + ", ".join(f"{k}={n}" for k, n in zip("pqr", names)) + ")"
                rows.append(score(m.name, m.run, kept, template=template, noise=label))
    return rows
