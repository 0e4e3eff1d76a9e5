"""A toy longitudinal controller: decides, frame by frame, whether to brake.

It has a planted bug: after a red light turns green it "remembers" the green
for two frames and ignores a pedestrian stepping out in that window.
"""

from __future__ import annotations


def brake_decisions(red: list[bool], green: list[bool], ped: list[bool]) -> list[bool]:
    out = []
    green_for = 0
    was_red = False
    for r, g, p in zip(red, green, ped):
        green_for = green_for + 1 if g else 0
        fresh_green = g and was_red_recently(was_red, green_for)
        # BUG: a fresh green light masks pedestrians for two frames
        out.append(r or (p and not fresh_green))
        if r:
            was_red = True
        elif green_for > 2:
            was_red = False
    return out


def was_red_recently(was_red: bool, green_for: int) -> bool:
    return was_red and green_for <= 2
