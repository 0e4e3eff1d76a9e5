"""The driving-scene renderer: deterministic frames and exact labels."""

import numpy as np
import pytest

from framelogic.logic.errors import InvalidArgument, InvalidValue
from framelogic.logic.trace import as_trace
from framelogic.perception.render import (
    PROPOSITIONS, SCENARIOS, TELEMETRY_COLUMNS, Scene, render, render_scenario, scripted, write_scenario,
)  # fmt: skip


def test_deterministic_from_the_seed():
    a, la = render_scenario("red_light_stop", seed=3, fps=5, seconds=2)
    b, lb = render_scenario("red_light_stop", seed=3, fps=5, seconds=2)
    c, _ = render_scenario("red_light_stop", seed=4, fps=5, seconds=2)
    assert np.array_equal(a, b) and np.array_equal(la.values, lb.values)
    assert not np.array_equal(a, c)  # the noise differs ...
    assert np.abs(a.astype(int) - c.astype(int)).mean() < 12  # ... the scene does not


def test_every_named_scenario_renders_with_all_labels():
    required = {"red_light_stop", "pedestrian_crossing", "stop_sign", "following_too_close", "cyclist_overtake", "red_light_violation"}
    assert required <= set(SCENARIOS)
    for name in SCENARIOS:
        frames, labels = render_scenario(name, fps=2, size=(128, 72))
        assert frames.shape == (len(labels), 72, 128, 3) and frames.dtype == np.uint8
        assert labels.names == (*PROPOSITIONS, *TELEMETRY_COLUMNS)
        assert set(np.unique(labels.values)) <= {0.0, 1.0}
        assert np.allclose(labels.times, np.arange(len(labels)) / 2) and labels.fps == 2


def test_red_light_stop_labels_follow_the_script():
    _, t = render_scenario("red_light_stop", fps=10)
    at = lambda name, sec: t.column(name)[int(round(sec * 10))]  # noqa: E731
    assert at("green_light", 1.0) == 1 and at("red_light", 1.0) == 0
    assert at("yellow_light", 2.5) == 1
    assert at("red_light", 5.0) == 1 and at("ego_stopped", 5.0) == 1 and at("car_ahead_stopped", 5.0) == 1
    assert at("pedestrian", 5.0) == 1 and at("pedestrian", 3.0) == 0 and at("pedestrian", 7.5) == 0
    assert at("green_light", 8.2) == 1 and at("ego_stopped", 9.0) == 0
    lights = t.values[:, [t.names.index(k) for k in ("red_light", "yellow_light", "green_light")]]
    assert np.all(lights.sum(axis=1) == 1)  # exactly one lamp is lit at every frame
    # the car ahead is stopped only while visible
    assert np.all(t.column("car_ahead_stopped") <= t.column("car_ahead"))


def test_following_too_close_and_stopped_car():
    _, t = render_scenario("following_too_close", fps=10)
    close = t.column("car_close")
    assert close[:20].sum() == 0 and close[45] == 1 and np.all(close <= t.column("car_ahead"))
    _, s = render_scenario("stopped_car_ahead", fps=10)
    assert s.column("car_ahead_stopped")[25] == 1 and s.column("car_ahead_stopped")[5] == 0
    assert s.column("night").all() and s.column("ego_stopped")[70] == 1


def test_scene_labels_match_what_is_drawn():
    base = render(Scene(), seed=1)
    for kwargs, label in [
        ({"light": "red"}, "red_light"), ({"stop_sign": True}, "stop_sign"), ({"cyclist": 0.5}, "cyclist"),
        ({"parked_car": 0.5}, "parked_car"), ({"standing": 0.5}, "pedestrian_standing"),
        ({"pedestrian": 0.5}, "pedestrian"), ({"car_ahead": 0.2}, "car_close"),
    ]:  # fmt: skip
        scene = Scene(**kwargs)
        assert scene.labels()[label] and sum(scene.labels().values()) <= 2  # a pedestrian implies the crosswalk
        drawn = render(scene, seed=1)
        assert np.abs(drawn.astype(int) - base.astype(int)).max() > 100, label  # it is visible


def test_scripts_and_video_files(tmp_path):
    script = [(0, 3, {"light": "green"}), (1, 3, {"light": "red", "pedestrian": (0.1, 0.9)})]
    frames, t = render_scenario(script, seconds=3, fps=4)
    assert t.column("red_light").tolist() == [0] * 4 + [1] * 8 and t.column("pedestrian")[4:].all()
    with pytest.raises(InvalidArgument, match="seconds"):
        render_scenario(script)
    with pytest.raises(InvalidArgument, match="unknown scene fields"):
        scripted("x", 2, [(0, 1, {"lights": "red"})])
    with pytest.raises(InvalidValue):
        scripted("x", 2, [(1, 1, {"light": "red"})])
    with pytest.raises(InvalidValue, match="fps"):
        render_scenario("stop_sign", fps=0)
    with pytest.raises(InvalidValue, match="unknown"):
        render_scenario("no_such_scenario")
    labels = write_scenario(tmp_path / "s.mp4", "stop_sign", fps=5, seconds=2)
    back = as_trace(str(tmp_path / "s.csv"))
    assert back.names == labels.names and np.array_equal(back.values, labels.values)
    assert (tmp_path / "s.csv").read_text().startswith("time,")
    from framelogic.perception.sources import open_source

    src = open_source(tmp_path / "s.mp4")
    assert len(src) == 10 and src.native_fps == pytest.approx(5)
    assert not list(tmp_path.glob(".*tmp*"))
