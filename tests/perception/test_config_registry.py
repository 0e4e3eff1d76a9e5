"""The embed config (one frozen object), the scorer registry (every scorer returns a
table that carries its source frames), and logging (open_clip's root-logger lines routed)."""

import dataclasses
import logging

import numpy as np
import pytest

from framelogic.logic.errors import InvalidArgument, InvalidValue
from framelogic.logic.trace import TraceTable
from framelogic.perception import EmbedConfig, ScoredTable, create_scorer, score_video
from framelogic.perception.config import embed_config
from framelogic.perception.model import load_encoder, open_clip_logs
from framelogic.perception.pipeline import embed_video
from framelogic.perception.scoring import Proposition


def test_embed_config_is_frozen_and_validated_once():
    cfg = EmbedConfig(fps=5, cache_dir="/tmp/x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.fps = 2  # type: ignore[misc]
    assert embed_config(cfg, stride=None).fps == 5
    assert embed_config(cfg, fps=2).fps == 2 and embed_config(cfg, fps=2).cache_dir == "/tmp/x"
    for bad, field in [({"fps": 0}, "fps=0"), ({"fps": float("nan")}, "fps=nan"), ({"stride": 0}, "stride=0"),
                       ({"batch_size": 1.5}, "batch_size=1.5"), ({"precision": "fp8"}, "precision='fp8'"),
                       ({"device": "gpu"}, "device='gpu'"), ({"model": ""}, "model=''"),
                       ({"use_cache": "no"}, "use_cache='no'"), ({"fps": 5, "stride": 2}, "fps=5 and stride=2"),
                       ({"source_fps": -1}, "source_fps=-1")]:  # fmt: skip
        with pytest.raises(InvalidValue, match=field.replace("(", r"\(")):
            EmbedConfig(**bad)
    with pytest.raises(InvalidArgument, match="unknown embedding options"):
        embed_config(None, fsp=5)


def test_scorer_registry_returns_tables_with_source_frames(tmp_path, frames):
    (tmp_path / "t.csv").write_text("red,ped\n0.1,0.9\n0.2,0.8\n")
    t = create_scorer("table", path=str(tmp_path / "t.csv"))(None, [Proposition("ped")])
    assert isinstance(t, TraceTable) and isinstance(t, ScoredTable)
    assert t.names == ("ped",) and t["ped"].tolist() == [0.9, 0.8] and t.source_frames.tolist() == [0, 1]
    renamed = create_scorer("table", path=str(tmp_path / "t.csv"), columns={"walker": "ped"})(None, ["walker"])
    assert renamed["walker"].tolist() == [0.9, 0.8]

    calls = []

    def bright(fr):
        calls.append(len(fr))
        return {"bright": fr.mean(axis=(1, 2, 3)) / 255}

    c = create_scorer(bright, stride=3, batch_size=2, source_fps=6.0)(frames, ["bright"])
    assert c.source_frames.tolist() == [0, 3, 6, 9] and calls == [2, 2]  # called per batch of sampled frames
    assert c.fps == 2.0 and np.allclose(c.times, [0, 0.5, 1.0, 1.5])
    assert np.allclose(c["bright"], frames[::3].mean(axis=(1, 2, 3)) / 255)
    with pytest.raises(InvalidValue, match="no probabilities"):
        create_scorer(lambda fr: {})(frames, ["bright"])
    with pytest.raises(InvalidArgument, match="must be a TableConfig"):
        create_scorer("table", EmbedConfig())


def test_clip_scorer_is_score_video(tiny_model_dir, frames, tmp_path):
    model = f"local-dir:{tiny_model_dir}"
    cfg = EmbedConfig(model=model, stride=5, source_fps=10.0, cache_dir=str(tmp_path), device="cpu")
    props = [Proposition("red", "a red traffic light")]
    a = create_scorer("clip", cfg)(frames, props)
    b = score_video(frames, props, model=model, stride=5, source_fps=10.0, cache_dir=str(tmp_path), device="cpu")
    assert isinstance(a, ScoredTable) and a.source_frames.tolist() == [0, 5, 10] == b.source_frames.tolist()
    assert np.array_equal(a.values, b.values) and a.fps == 2.0 and np.allclose(a.times, [0, 0.5, 1.0])
    assert embed_video(frames, cfg).cached  # one config, one cache entry


def test_scored_table_checks_its_frames():
    with pytest.raises(InvalidValue, match="increasing"):
        ScoredTable(("a",), np.zeros((2, 1)), None, None, np.array([3, 1]))
    with pytest.raises(InvalidValue, match="shape"):
        ScoredTable(("a",), np.zeros((2, 1)), None, None, np.array([0]))


def test_loading_a_model_logs_nothing_on_the_root_logger(tiny_model_dir, caplog):
    caplog.set_level(logging.DEBUG)
    load_encoder.cache_clear()
    load_encoder("framelogic-tiny", "cpu")
    load_encoder(f"local-dir:{tiny_model_dir}", "cpu")
    assert [r.getMessage() for r in caplog.records if r.name == "root"] == []
    routed = [r for r in caplog.records if r.name == "framelogic.perception.open_clip"]
    assert routed and all(r.levelno == logging.DEBUG for r in routed)  # open_clip's lines, kept at DEBUG
    assert not any(r.levelno >= logging.INFO for r in caplog.records if r.name.startswith("framelogic"))


def test_open_clip_logs_routes_only_root_lines_below_warning(caplog):
    caplog.set_level(logging.DEBUG)
    with open_clip_logs():
        logging.info("from open_clip")
        logging.warning("a real warning")
        logging.getLogger("other.lib").info("another library")
    names = {(r.name, r.getMessage()) for r in caplog.records}
    assert ("framelogic.perception.open_clip", "from open_clip") in names
    assert ("root", "a real warning") in names and ("other.lib", "another library") in names
    assert ("root", "from open_clip") not in names
    logging.info("after")  # the filter is gone
    assert ("root", "after") in {(r.name, r.getMessage()) for r in caplog.records}


def test_the_search_path_scores_through_the_registry(scenario_video, tiny_model_dir, tmp_path, monkeypatch):
    from framelogic.perception import scoring
    from framelogic.queries import search
    from framelogic.queries.queryfile import PropDecl

    path, _ = scenario_video
    used = []
    real = scoring.create_scorer
    monkeypatch.setattr(scoring, "create_scorer", lambda name, *a, **k: used.append(name) or real(name, *a, **k))
    opts = search.resolve_options(model=f"local-dir:{tiny_model_dir}", stride=4, cache_dir=str(tmp_path), device="cpu")
    t = search.score(path, [PropDecl("red", ("a red traffic light",))], opts)
    assert used == ["clip"] and isinstance(t, ScoredTable)
    assert t.source_frames.tolist() == list(range(0, 40, 4)) and t.fps == 2.5  # a 10 fps video, every 4th frame
    (tmp_path / "probs.csv").write_text("time,ped_prob\n" + "".join(f"{i / 10},{0.5}\n" for i in range(40)))
    both = search.score(path, [PropDecl("red", ("a red traffic light",)), PropDecl("ped", column="ped_prob")],
                        dataclasses.replace(opts, table=str(tmp_path / "probs.csv")))  # fmt: skip
    assert both.names == ("red", "ped") and both.source_frames.tolist() == t.source_frames.tolist()
    assert "table" in used  # the table columns are read by the registry's table scorer
