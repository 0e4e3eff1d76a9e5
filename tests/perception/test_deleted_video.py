"""A video indexed into the embedding cache is still searched after it is deleted."""

import logging
import shutil

import pytest

from framelogic.logic.errors import InputError
from framelogic.queries import search as S
from framelogic.queries.cli import main

DRIVING = "examples/queries/driving.tl"


def _events(results):
    return sorted((m.query, m.video, m.start, m.end, m.probability) for m in results)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_deleted_indexed_video_is_searched_from_the_cache(scenario_video, tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    monkeypatch.setenv("FRAMELOGIC_CACHE", str(cache))
    video = tmp_path / "videos" / "clip.mp4"
    video.parent.mkdir()
    shutil.copy(scenario_video[0], video)
    shutil.copy(scenario_video[0].with_suffix(".csv"), video.with_suffix(".csv"))  # the ego_stopped telemetry
    assert main(["index", DRIVING, str(video), "--quiet"]) == 0
    query = S.load_query(DRIVING)
    before = query.search(str(video))
    assert _events(before)  # the scenario has events: the comparison below is not vacuous
    video.unlink()
    logger, seen = logging.getLogger("framelogic.perception.pipeline"), _Records()
    logger.addHandler(seen)
    level, logger.level = logger.level, logging.INFO
    try:
        after = query.search(str(video))
    finally:
        logger.removeHandler(seen)
        logger.setLevel(level)
    assert _events(after) == _events(before)
    assert any("embedding cache" in m and "clip.mp4" in m for m in seen.messages)
    capsys.readouterr()
    assert main(["search", DRIVING, str(video), "--format", "jsonl", "--quiet"]) == 0
    assert capsys.readouterr().out.strip()
    # other sampling than was indexed: nothing stands in, and the error says so
    with pytest.raises(InputError, match=r"clip\.mp4.*no embeddings of it.*fps=2"):
        query.search(str(video), fps=2)


def test_never_indexed_missing_video_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FRAMELOGIC_CACHE", str(tmp_path / "cache"))
    gone = tmp_path / "never.mp4"
    code = main(["search", DRIVING, str(gone)])
    err = capsys.readouterr().err
    assert code == 2 and "never.mp4" in err and "no such file or folder" in err
    query = S.load_query(DRIVING)
    with pytest.raises(InputError, match=r"never\.mp4.*not indexed.*index it"):
        S.score(str(gone), query.propositions(), query.options())
    from framelogic.perception import embed_video

    with pytest.raises(InputError, match=r"never\.mp4.*never indexed.*index it first"):
        embed_video(str(gone), model=query.options().model)
