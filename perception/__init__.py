"""framelogic.perception: frames to calibrated per-frame proposition probabilities.

Importing this package is cheap: torch, open_clip and OpenCV load on first use.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "score_video": "pipeline", "embed_video": "pipeline", "Embedded": "pipeline",
    "Proposition": "scoring", "Calibration": "scoring", "fit_calibration": "scoring",
    "create_scorer": "scoring", "list_scorers": "scoring", "auroc": "scoring", "ece": "scoring",
    "ClipConfig": "scoring", "TableConfig": "scoring", "DEFAULT_CONTRAST": "scoring",
    "open_source": "sources", "read_frames": "sources", "thumbnails": "sources", "EmbeddingCache": "cache",
    "load_encoder": "model", "BUNDLED": "config", "EmbedConfig": "config", "ScoredTable": "scoring",
}  # fmt: skip

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'framelogic.perception' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)
