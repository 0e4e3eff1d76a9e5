"""Procedurally rendered driving scenes with exact per-frame ground truth.

Everything is drawn with OpenCV from a :class:`Scene` (what is visible) and is
deterministic given a seed. Scenario scripts turn time into scenes, so a video
comes with the truth of every proposition at every frame: the offline data for
the demo, the tests, the bundled model's training and the benchmarks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from framelogic.logic.errors import InputError, InvalidArgument, InvalidValue
from framelogic.logic.trace import TraceTable, atomic_write_text

WIDTH, HEIGHT = 256, 144

#: The propositions a scene labels, with the phrase used in captions and prompts.
PROPOSITIONS: dict[str, str] = {
    "red_light": "a red traffic light",
    "yellow_light": "a yellow traffic light",
    "green_light": "a green traffic light",
    "pedestrian": "a pedestrian crossing the street",
    "crosswalk": "a crosswalk",
    "car_ahead": "a car ahead",
    "car_close": "a car close ahead",
    "oncoming_car": "an oncoming car",
    "stop_sign": "a stop sign",
    "cyclist": "a cyclist",
    "night": "a street at night",
    "rain": "a street in the rain",
    "parked_car": "a parked car",
    "pedestrian_standing": "a pedestrian standing on the sidewalk",
}

#: Columns of scenario labels that come from the script, not from the picture
#: (a single frame cannot show motion): the ego car's and the car ahead's state.
TELEMETRY_COLUMNS: tuple[str, ...] = ("ego_stopped", "car_ahead_stopped")

CAR_COLORS = [(200, 40, 40), (40, 70, 200), (230, 230, 230), (30, 30, 30), (60, 150, 60), (200, 170, 40), (120, 120, 130)]


@dataclass(frozen=True)
class Scene:
    """What one frame shows. Colors are RGB."""

    light: str | None = None  # "red", "yellow", "green" or None (no traffic light)
    pedestrian: float | None = None  # position across the crosswalk in [0, 1], None = nobody
    crosswalk: bool = False
    car_ahead: float | None = None  # distance ahead in [0, 1] (0 = close), None = no car
    car_color: tuple[int, int, int] = (200, 40, 40)
    oncoming: float | None = None  # position of an oncoming car along the left lane in [0, 1]
    stop_sign: bool = False
    cyclist: float | None = None  # distance of a cyclist on the right in [0, 1]
    night: bool = False
    rain: bool = False
    parked_car: float | None = None  # position of a car parked on the left shoulder in [0, 1] (0 = near)
    standing: float | None = None  # position of a pedestrian standing on the right sidewalk in [0, 1] (0 = near)
    ego_speed: float = 1.0  # telemetry only (not visible): 0 means the ego car is stopped
    ahead_speed: float = 1.0  # telemetry only: 0 means the car ahead is stopped
    # Hard viewing conditions (0 = off; they change the picture, never the labels):
    distance: float = 0.0  # in [0, 1): the whole scene seen from farther away (shrunk by 1 - 0.6 d around the vanishing point)
    occlusion: float = 0.0  # in [0, 1): share of the width hidden behind foreground posts (a fence, parked trucks)
    occlusion_phase: float = 0.0  # where the posts are, in post periods (script it to sweep them across)
    blur: float = 0.0  # horizontal motion blur, kernel length in pixels
    grain: float = 0.0  # extra sensor noise, standard deviation in grey levels (night-time gain)

    def labels(self) -> dict[str, bool]:
        return {
            "red_light": self.light == "red",
            "yellow_light": self.light == "yellow",
            "green_light": self.light == "green",
            "pedestrian": self.pedestrian is not None,
            "crosswalk": self.crosswalk or self.pedestrian is not None,
            "car_ahead": self.car_ahead is not None,
            "car_close": self.car_ahead is not None and self.car_ahead < 0.35,
            "oncoming_car": self.oncoming is not None,
            "stop_sign": self.stop_sign,
            "cyclist": self.cyclist is not None,
            "night": self.night,
            "rain": self.rain,
            "parked_car": self.parked_car is not None,
            "pedestrian_standing": self.standing is not None,
        }

    def telemetry(self) -> dict[str, bool]:
        """The script's state columns (:data:`TELEMETRY_COLUMNS`)."""
        return {
            "ego_stopped": self.ego_speed == 0.0,
            "car_ahead_stopped": self.car_ahead is not None and self.ahead_speed == 0.0,
        }


def _road_x(y: float, lane: float) -> float:
    """x of a point on the road at image row y; lane in [-1, 1] across the road."""
    horizon, bottom = 62.0, float(HEIGHT)
    t = (y - horizon) / (bottom - horizon)
    half = 12 + t * 150
    return WIDTH / 2 + lane * half


def render(scene: Scene, *, seed: int = 0, size: tuple[int, int] = (WIDTH, HEIGHT)) -> np.ndarray:
    """One RGB uint8 frame of ``scene`` (noise and small variations from ``seed``)."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    jitter = int(rng.integers(-12, 12))
    if scene.night:
        sky, ground, road, line = (15, 18, 40), (20, 25, 20), (35, 35, 40), (140, 140, 120)
    else:
        sky = (120 + jitter, 170 + jitter, 230)
        ground, road, line = (70 + jitter, 120, 60), (95 + jitter, 95 + jitter, 100 + jitter), (240, 240, 240)
    img[:62] = sky
    img[62:] = ground
    road_poly = np.array([[_road_x(62, -1), 62], [_road_x(62, 1), 62], [_road_x(HEIGHT, 1), HEIGHT], [_road_x(HEIGHT, -1), HEIGHT]], dtype=np.int32)
    cv2.fillPoly(img, [road_poly], road)
    # dashed centre line
    for y0 in range(64, HEIGHT, 12):
        y1 = min(y0 + 6, HEIGHT - 1)
        cv2.line(img, (int(_road_x(y0, 0)), y0), (int(_road_x(y1, 0)), y1), line, 1 + (y0 > 110))
    if scene.crosswalk or scene.pedestrian is not None:
        for k in range(-7, 8):
            xa, xb = _road_x(104, k / 8 - 0.05), _road_x(104, k / 8 + 0.05)
            xc, xd = _road_x(118, k / 8 + 0.05), _road_x(118, k / 8 - 0.05)
            cv2.fillPoly(img, [np.array([[xa, 104], [xb, 104], [xc, 118], [xd, 118]], dtype=np.int32)], line)
    if scene.light is not None:
        x, y = 222, 10
        cv2.rectangle(img, (x + 5, y + 36), (x + 8, 80), (50, 50, 50), -1)
        cv2.rectangle(img, (x - 2, y - 2), (x + 15, y + 38), (25, 25, 25), -1)
        for k, color in enumerate(["red", "yellow", "green"]):
            on = scene.light == color
            rgb = {"red": (255, 30, 30), "yellow": (255, 210, 0), "green": (30, 230, 60)}[color]
            c = rgb if on else tuple(v // 6 + 20 for v in rgb)
            cv2.circle(img, (x + 6, y + 6 + 12 * k), 5, c, -1)
            if on and scene.night:
                cv2.circle(img, (x + 6, y + 6 + 12 * k), 8, tuple(v // 2 for v in rgb), 1)
    if scene.stop_sign:
        cx, cy, r = 200, 58, 11
        pts = np.array([[cx + r * math.cos(math.pi / 8 + k * math.pi / 4), cy + r * math.sin(math.pi / 8 + k * math.pi / 4)] for k in range(8)], dtype=np.int32)
        cv2.rectangle(img, (cx - 1, cy + r), (cx + 1, 90), (90, 90, 90), -1)
        cv2.fillPoly(img, [pts], (210, 20, 20))
        cv2.polylines(img, [pts], True, (255, 255, 255), 1)
        cv2.putText(img, "STOP", (cx - 9, cy + 3), cv2.FONT_HERSHEY_PLAIN, 0.55, (255, 255, 255), 1)
    if scene.parked_car is not None:
        # on the left shoulder, beyond the oncoming lane; drawn early so that
        # a crossing pedestrian is never hidden behind it
        _car(img, y=80 + 16 * (1 - scene.parked_car), lane=-1.3, color=tuple(int(v) for v in rng.integers(30, 230, 3)),
             front=True, night=scene.night, lit=False)  # fmt: skip
    if scene.oncoming is not None:
        _car(img, y=72 + 40 * scene.oncoming, lane=-0.5, color=(180, 180, 190), front=True, night=scene.night)
    if scene.cyclist is not None:
        y = 80 + 50 * (1 - scene.cyclist)
        x = _road_x(y, 0.85)
        s = 0.9 + 1.0 * (y - 62) / 82
        for dx in (-7, 7):
            cv2.circle(img, (int(x + dx * s), int(y)), max(2, int(5 * s)), (20, 20, 20), 2)
        cv2.line(img, (int(x - 7 * s), int(y)), (int(x), int(y - 8 * s)), (20, 90, 200), 1)
        cv2.line(img, (int(x), int(y - 8 * s)), (int(x + 7 * s), int(y)), (20, 90, 200), 1)
        cv2.line(img, (int(x), int(y - 8 * s)), (int(x), int(y - 18 * s)), (250, 110, 20), max(2, int(4 * s)))
        cv2.circle(img, (int(x), int(y - 21 * s)), max(1, int(3 * s)), (230, 190, 160), -1)
    if scene.car_ahead is not None:
        y = 78 + 56 * (1 - scene.car_ahead)
        _car(img, y=y, lane=0.5, color=scene.car_color, front=False, night=scene.night)
    if scene.pedestrian is not None:
        lane = -0.9 + 1.8 * scene.pedestrian
        y = 111
        x = _road_x(y, lane)
        shirt = tuple(int(v) for v in rng.integers(40, 255, 3))
        cv2.rectangle(img, (int(x - 3), int(y - 20)), (int(x + 3), int(y - 8)), shirt, -1)
        cv2.line(img, (int(x - 2), int(y - 8)), (int(x - 4), int(y)), (30, 30, 60), 2)
        cv2.line(img, (int(x + 2), int(y - 8)), (int(x + 4), int(y)), (30, 30, 60), 2)
        cv2.circle(img, (int(x), int(y - 24)), 4, (230, 190, 160), -1)
    if scene.standing is not None:
        y = 92 + 12 * (1 - scene.standing)
        x = _road_x(y, 1.22)
        s = 0.8 + 0.4 * (y - 92) / 12
        coat = tuple(int(v) for v in rng.integers(40, 255, 3))
        cv2.rectangle(img, (int(x - 3 * s), int(y - 20 * s)), (int(x + 3 * s), int(y - 8 * s)), coat, -1)
        cv2.line(img, (int(x - 1), int(y - 8 * s)), (int(x - 1), int(y)), (30, 30, 60), 2)  # legs together: standing
        cv2.line(img, (int(x + 1), int(y - 8 * s)), (int(x + 1), int(y)), (30, 30, 60), 2)
        cv2.circle(img, (int(x), int(y - 24 * s)), max(2, int(4 * s)), (230, 190, 160), -1)
    if scene.rain:
        overlay = img.copy()
        for _ in range(90):
            x0, y0 = int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT))
            cv2.line(overlay, (x0, y0), (x0 - 3, y0 + 9), (200, 200, 215), 1)
        img = cv2.addWeighted(overlay, 0.6, img, 0.4, 0)
        img = cv2.GaussianBlur(img, (3, 3), 0)
    noise = rng.normal(0, 4, img.shape)
    img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    if scene.distance or scene.occlusion or scene.blur or scene.grain:
        img = _hard_conditions(img, scene, seed)
    if size != (WIDTH, HEIGHT):
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    return img


def _hard_conditions(img: np.ndarray, scene: Scene, seed: int) -> np.ndarray:
    """The hard viewing conditions of ``scene`` applied to a rendered frame, in the
    order distance, occlusion, motion blur, grain (their own random stream, so a
    scene without them renders exactly as before they existed)."""
    import cv2

    for name in ("distance", "occlusion"):
        v = getattr(scene, name)
        if not 0 <= v < 1:
            raise InvalidValue(f"{name}={v!r} must be in [0, 1)")
    if scene.blur < 0 or scene.grain < 0:
        raise InvalidValue(f"blur={scene.blur!r} and grain={scene.grain!r} must be >= 0")
    rng = np.random.default_rng([seed, 7])
    if scene.distance:
        s = 1.0 - 0.6 * scene.distance
        w, h = max(1, int(round(WIDTH * s))), max(1, int(round(HEIGHT * s)))
        # an empty road of the same weather around the far-away scene, aligned at the vanishing point
        out = render(Scene(night=scene.night, rain=scene.rain), seed=seed)
        x0, y0 = int(round(WIDTH / 2 * (1 - s))), int(round(62 * (1 - s)))
        out[y0 : y0 + h, x0 : x0 + w] = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
        img = out
    if scene.occlusion:
        period = 48.0
        width = scene.occlusion * period
        color = (25, 22, 20) if scene.night else (80, 62, 45)
        x = (scene.occlusion_phase % 1.0) * period - period
        while x < WIDTH:
            cv2.rectangle(img, (int(round(x)), 0), (int(round(x + width)) - 1, HEIGHT - 1), color, -1)
            x += period
    if scene.blur >= 2:
        k = int(round(scene.blur))
        img = cv2.filter2D(img, -1, np.full((1, k), 1.0 / k, dtype=np.float32))
    if scene.grain:
        img = np.clip(img.astype(np.float32) + rng.normal(0, scene.grain, img.shape), 0, 255).astype(np.uint8)
    return img


def _car(img: np.ndarray, *, y: float, lane: float, color: tuple[int, int, int], front: bool, night: bool, lit: bool = True) -> None:
    import cv2

    s = 0.45 + 1.0 * (y - 62) / 82
    x = _road_x(y, lane)
    w, h = 40 * s, 26 * s
    x0, y0, x1, y1 = int(x - w / 2), int(y - h), int(x + w / 2), int(y)
    cv2.rectangle(img, (x0, y0), (x1, y1), color, -1)
    cv2.rectangle(img, (int(x0 + 0.15 * w), int(y0 + 0.12 * h)), (int(x1 - 0.15 * w), int(y0 + 0.45 * h)), (40, 50, 60), -1)
    lamp = ((255, 255, 200) if front else (230, 20, 20)) if lit else (120, 120, 110)  # a parked car's lamps are off
    r = max(1, int(2.5 * s))
    for lx in (x0 + 2 * r, x1 - 2 * r):
        cv2.circle(img, (int(lx), int(y1 - 0.25 * h)), r, lamp, -1)
        if night and lit:
            cv2.circle(img, (int(lx), int(y1 - 0.25 * h)), 3 * r, tuple(v // 3 for v in lamp), 1)
    cv2.rectangle(img, (x0 + 1, y1), (x0 + max(3, int(0.2 * w)), y1 + max(2, int(3 * s))), (15, 15, 15), -1)
    cv2.rectangle(img, (x1 - max(3, int(0.2 * w)), y1), (x1 - 1, y1 + max(2, int(3 * s))), (15, 15, 15), -1)


def random_scene(rng: np.random.Generator) -> Scene:
    """A random scene: every proposition varies independently enough to learn it."""
    light = rng.choice(["red", "yellow", "green", None], p=[0.28, 0.16, 0.28, 0.28])
    car = float(rng.uniform(0, 1)) if rng.random() < 0.55 else None
    return Scene(
        light=light,
        pedestrian=float(rng.uniform(0.05, 0.95)) if rng.random() < 0.35 else None,
        crosswalk=bool(rng.random() < 0.5),
        car_ahead=car,
        car_color=CAR_COLORS[int(rng.integers(len(CAR_COLORS)))],
        oncoming=float(rng.uniform(0, 1)) if rng.random() < 0.3 else None,
        stop_sign=bool(rng.random() < 0.3),
        cyclist=float(rng.uniform(0, 1)) if rng.random() < 0.3 else None,
        night=bool(rng.random() < 0.3),
        rain=bool(rng.random() < 0.25),
        parked_car=float(rng.uniform(0, 1)) if rng.random() < 0.3 else None,
        standing=float(rng.uniform(0, 1)) if rng.random() < 0.3 else None,
    )


def caption(scene: Scene, rng: np.random.Generator) -> str:
    """A training caption naming what is visible, in random order."""
    present = [PROPOSITIONS[k] for k, v in scene.labels().items() if v]
    if scene.car_ahead is not None and scene.car_ahead < 0.35:
        present.remove(PROPOSITIONS["car_ahead"])
    rng.shuffle(present)
    return ", ".join(present) if present else "an empty street"


# ------------------------------------------------------------------ scenarios
# A scenario is a function of time (seconds) to a Scene, plus its length.


@dataclass(frozen=True)
class Scenario:
    name: str  # the key in SCENARIOS
    seconds: float  # default length
    at: Callable[[float], Scene] = field(repr=False)  # media time in seconds -> what is visible
    description: str = ""  # one line for listings and reports


#: A script step: during ``[start, end)`` seconds the given Scene fields hold; a
#: ``(a, b)`` pair for a position field (``car_ahead``, ``pedestrian``, ...) moves
#: linearly from a to b across the step. Later steps override earlier ones.
Step = tuple[float, float, Mapping[str, Any]]

_POSITIONS = frozenset({"pedestrian", "car_ahead", "oncoming", "cyclist", "parked_car", "standing", "ego_speed", "ahead_speed",
                        "distance", "occlusion", "occlusion_phase", "blur", "grain"})


def scripted(name: str, seconds: float, steps: Sequence[Step], description: str = "") -> Scenario:
    """A scenario from a script of timed steps (see :data:`Step`).

    >>> sc = scripted("demo", 4, [(0, 4, {"light": "green"}), (2, 4, {"light": "red", "ego_speed": 0.0})])
    >>> sc.at(1.0).light, sc.at(3.0).light, sc.at(3.0).ego_speed
    ('green', 'red', 0.0)
    """
    if not isinstance(seconds, (int, float)) or not seconds > 0:
        raise InvalidValue(f"seconds={seconds!r} must be a number > 0")
    fields = set(Scene.__dataclass_fields__)
    checked = []
    for k, step in enumerate(steps):
        try:
            start, end, values = step
        except (TypeError, ValueError):
            raise InvalidArgument(f"steps[{k}]={step!r} must be (start, end, {{field: value}})") from None
        if not end > start:
            raise InvalidValue(f"steps[{k}]: end={end!r} must be after start={start!r}")
        unknown = sorted(set(values) - fields)
        if unknown:
            raise InvalidArgument(f"steps[{k}]: unknown scene fields {unknown}; choose from {sorted(fields)}")
        checked.append((float(start), float(end), dict(values)))

    def at(t: float) -> Scene:
        state: dict[str, Any] = {}
        for start, end, values in checked:
            if start <= t < end:
                for key, v in values.items():
                    if key in _POSITIONS and isinstance(v, tuple):
                        v = _lerp(t, start, end, float(v[0]), float(v[1]))
                    state[key] = v
        return Scene(**state)

    return Scenario(name, float(seconds), at, description)


def _lerp(t: float, t0: float, t1: float, a: float, b: float) -> float:
    u = min(max((t - t0) / (t1 - t0), 0.0), 1.0)
    return a + (b - a) * u


def _red_light_stop(t: float) -> Scene:
    light = "green" if t < 2 else "yellow" if t < 3 else "red" if t < 8 else "green"
    # the car ahead stops beyond the crosswalk, leaving it clear for the pedestrian
    car = _lerp(t, 0, 3.5, 0.95, 0.65) if t < 8.5 else _lerp(t, 8.5, 10, 0.65, 0.95)
    ped = _lerp(t, 4, 7, 0.05, 0.95) if 4 <= t < 7 else None
    speed = 0.0 if 3.5 <= t < 8.5 else 1.0
    return Scene(light=light, crosswalk=True, car_ahead=car, pedestrian=ped, ego_speed=speed, ahead_speed=speed)


def _pedestrian_crossing(t: float) -> Scene:
    ped = _lerp(t, 2, 6, 0.05, 0.95) if 2 <= t < 6 else None
    speed = 0.0 if 2.5 <= t < 6.5 else 1.0
    return Scene(crosswalk=True, pedestrian=ped, ego_speed=speed, rain=t > 5)


def _stop_sign(t: float) -> Scene:
    speed = 0.0 if 3 <= t < 5 else 1.0
    return Scene(stop_sign=2 <= t < 6, crosswalk=t >= 2, ego_speed=speed)


def _following_too_close(t: float) -> Scene:
    car = 0.7 if t < 2 else _lerp(t, 2, 4, 0.7, 0.15) if t < 6 else _lerp(t, 6, 8, 0.15, 0.7)
    return Scene(car_ahead=car, car_color=(40, 70, 200), oncoming=_lerp(t % 4, 0, 4, 0, 1) if t > 5 else None)


def _cyclist_overtake(t: float) -> Scene:
    cyc = _lerp(t, 1, 6, 0.9, 0.0) if 1 <= t < 6 else None
    return Scene(cyclist=cyc, light="green", night=t > 4)


def _red_light_violation(t: float) -> Scene:
    light = "green" if t < 1.5 else "yellow" if t < 2.5 else "red"
    return Scene(light=light, crosswalk=t > 3, ego_speed=1.0)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario("red_light_stop", 10.0, _red_light_stop, "light turns red, the car ahead and the ego car stop, a pedestrian crosses, green, go"),
        Scenario("pedestrian_crossing", 8.0, _pedestrian_crossing, "a pedestrian crosses; the ego car waits; rain starts"),
        Scenario("stop_sign", 8.0, _stop_sign, "a stop sign; the ego car stops for two seconds"),
        Scenario("following_too_close", 8.0, _following_too_close, "the car ahead closes in, then pulls away"),
        Scenario("cyclist_overtake", 8.0, _cyclist_overtake, "the ego car overtakes a cyclist at dusk"),
        Scenario("red_light_violation", 6.0, _red_light_violation, "the light turns red and the ego car does not stop"),
        scripted("parked_street", 8.0, [
            (0, 8, {"crosswalk": True, "parked_car": (0.9, 0.0)}),
            (1, 4, {"standing": 0.3}),  # waits on the sidewalk ...
            (4, 7, {"pedestrian": (0.95, 0.05)}),  # ... then crosses from the right
            (3.5, 7.5, {"ego_speed": 0.0}),
        ], "parked cars; a pedestrian waits on the sidewalk, then crosses while the ego car waits"),
        scripted("stopped_car_ahead", 8.0, [
            (0, 2, {"car_ahead": (0.9, 0.6)}),
            (2, 6, {"car_ahead": (0.6, 0.25), "ahead_speed": 0.0}),  # the car ahead has stopped; the ego car closes in
            (6, 8, {"car_ahead": 0.25, "ahead_speed": 0.0, "ego_speed": 0.0}),
            (0, 8, {"night": True}),
        ], "at night the car ahead stops and the ego car closes in and stops behind it"),
    ]
}

#: Harder scenarios for the bundled model (night and rain, small and distant objects,
#: partial occlusion, motion blur), with the same exact labels: the picture is hard,
#: the truth is not. Kept out of :data:`SCENARIOS` so that callers iterating over
#: the original scenarios see exactly what they saw before.
HARD_SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        scripted("night_rain_crossing", 8.0, [
            (0, 8, {"night": True, "rain": True, "grain": 14.0, "crosswalk": True}),
            (0, 5, {"light": "red"}), (5, 8, {"light": "green"}),
            (1, 5, {"pedestrian": (0.05, 0.95)}),
            (0, 3, {"car_ahead": (0.7, 0.3)}), (3, 8, {"car_ahead": 0.3, "ahead_speed": 0.0}),
            (1, 5.5, {"ego_speed": 0.0}),
        ], "night and heavy rain with sensor grain: a pedestrian crosses at a red light behind a close car"),
        scripted("distant_objects", 8.0, [
            (0, 8, {"distance": 0.65}),
            (0, 3, {"light": "green"}), (3, 4.5, {"light": "yellow"}), (4.5, 8, {"light": "red"}),
            (4, 8, {"stop_sign": True}),
            (2, 6, {"pedestrian": (0.95, 0.05)}),
            (0, 8, {"car_ahead": (0.9, 0.2)}),
            (1, 5, {"cyclist": (0.9, 0.4)}),
        ], "everything small and far away: a light cycle, a stop sign, a pedestrian, a car closing in"),
        scripted("occluded_crossing", 8.0, [
            (0, 8, {"occlusion": 0.4, "occlusion_phase": (0.0, 3.0), "crosswalk": True}),
            (0, 6, {"light": "red"}), (6, 8, {"light": "green"}),
            (1, 6, {"pedestrian": (0.95, 0.05)}),
            (0, 4, {"car_ahead": (0.25, 0.6)}),
            (2, 7, {"standing": 0.4}),
            (0, 6, {"ego_speed": 0.0}),
        ], "seen through a row of passing posts: a pedestrian crosses at a red light"),
        scripted("motion_blur", 8.0, [
            (0, 8, {"blur": 31.0, "grain": 6.0}),
            (0, 2, {"light": "green"}), (2, 3.5, {"light": "yellow"}), (3.5, 8, {"light": "red"}),
            (2, 6, {"stop_sign": True, "crosswalk": True}),
            (0, 8, {"car_ahead": (0.8, 0.1)}),
            (4, 8, {"oncoming": (0.0, 1.0)}),
        ], "a fast pan: motion blur over a light turning red, a stop sign and a car closing in"),
        scripted("hard_mix", 8.0, [
            (0, 8, {"night": True, "rain": True, "grain": 8.0, "blur": 5.0, "distance": 0.3,
                    "occlusion": 0.25, "occlusion_phase": (0.0, 2.0)}),
            (0, 4, {"light": "yellow"}), (4, 8, {"light": "red"}),
            (1, 5, {"crosswalk": True}), (2, 5, {"pedestrian": (0.05, 0.95)}),
            (0, 8, {"car_ahead": (0.5, 0.1)}),
            (5, 8, {"stop_sign": True}),
        ], "all of it at once: night, rain, grain, blur, distance and occluding posts"),
    ]
}

TELEMETRY = "ego_stopped"  # kept for callers of the first release; see TELEMETRY_COLUMNS


def render_scenario(
    scenario: str | Scenario | Sequence[Step], *, seed: int = 0, fps: float = 10.0, seconds: float | None = None,
    size: tuple[int, int] = (WIDTH, HEIGHT),
) -> tuple[np.ndarray, TraceTable]:
    """Frames (N, H, W, 3 uint8 RGB) and exact labels of a scenario: a name in
    :data:`SCENARIOS`, a :class:`Scenario`, or a script of steps (with ``seconds``).

    The labels have one 0/1 column per proposition in :data:`PROPOSITIONS`, then
    the :data:`TELEMETRY_COLUMNS`, with ``times`` in seconds and ``fps``.
    """
    sc = _scenario(scenario, seconds)
    if not isinstance(fps, (int, float)) or not fps > 0:
        raise InvalidValue(f"fps={fps!r} must be a number > 0")
    total = sc.seconds if seconds is None else seconds
    if not total > 0:
        raise InvalidValue(f"seconds={seconds!r} must be > 0")
    n = max(1, int(round(total * fps)))
    times = np.arange(n) / fps
    scenes = [sc.at(float(t)) for t in times]
    frames = np.stack([render(s, seed=seed * 100_003 + i, size=size) for i, s in enumerate(scenes)])
    names = (*PROPOSITIONS, *TELEMETRY_COLUMNS)
    values = np.array([[*(float(v) for v in s.labels().values()), *(float(v) for v in s.telemetry().values())] for s in scenes])
    return frames, TraceTable(names, values, times, fps)


def _scenario(s: str | Scenario | Sequence[Step], seconds: float | None = None) -> Scenario:
    if isinstance(s, Scenario):
        return s
    if not isinstance(s, str):
        if seconds is None:
            raise InvalidArgument("a scenario script needs seconds= (its length)")
        return scripted("script", seconds, s)  # type: ignore[arg-type]
    try:
        return SCENARIOS[s] if s in SCENARIOS else HARD_SCENARIOS[s]
    except KeyError:
        raise InvalidValue(f"scenario={s!r} is unknown; choose from {', '.join([*SCENARIOS, *HARD_SCENARIOS])}") from None


def write_video(path: str | Path, frames: np.ndarray, fps: float) -> None:
    """Write RGB frames to an MP4 (mp4v) atomically."""
    import os

    import cv2

    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise InvalidValue(f"frames must be a non-empty uint8 RGB array (N, H, W, 3), not {frames.dtype} {frames.shape}")
    if not isinstance(fps, (int, float)) or not fps > 0:
        raise InvalidValue(f"fps={fps!r} must be a number > 0")
    # the temp name keeps the suffix: OpenCV picks the container from it
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    h, w = frames.shape[1:3]
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (w, h))
    try:
        if not writer.isOpened():
            raise InputError(f"cannot write a video to {str(path)!r}")
        for f in frames:
            writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
        writer.release()
        os.replace(tmp, path)
    finally:
        writer.release()
        tmp.unlink(missing_ok=True)


def write_scenario(
    path: str | Path, scenario: str | Scenario | Sequence[Step], *, seed: int = 0, fps: float = 10.0,
    seconds: float | None = None, size: tuple[int, int] = (WIDTH, HEIGHT),
) -> TraceTable:
    """Render a scenario to ``path`` (MP4, mp4v) and its labels to ``path`` with
    ``.csv`` (TraceTable CSV: a ``time`` column, then one 0/1 column per label)."""
    frames, labels = render_scenario(scenario, seed=seed, fps=fps, seconds=seconds, size=size)
    write_video(path, frames, fps)
    labels.to_csv(Path(path).with_suffix(".csv"))
    return labels


write_scenario_video = write_scenario


def dataset(n: int, *, seed: int = 0, size: tuple[int, int] = (64, 64)) -> tuple[np.ndarray, list[str], np.ndarray]:
    """``n`` random scenes: images, captions and the label matrix (n x propositions)."""
    rng = np.random.default_rng(seed)
    images, captions, labels = [], [], []
    for i in range(n):
        s = random_scene(rng)
        images.append(render(s, seed=seed * 1_000_003 + i, size=size))
        captions.append(caption(s, rng))
        labels.append(list(s.labels().values()))
    return np.stack(images), captions, np.array(labels, dtype=bool)


__all__: Sequence[str] = [
    "HARD_SCENARIOS", "PROPOSITIONS", "SCENARIOS", "TELEMETRY_COLUMNS", "Scene", "Scenario", "Step", "caption", "dataset",
    "random_scene", "render", "render_scenario", "scripted", "write_scenario", "write_scenario_video", "write_video",
]  # fmt: skip
