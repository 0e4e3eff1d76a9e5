"""Result serializations and the static HTML report."""

import json

import numpy as np
import pandas as pd
import pytest

from framelogic.logic.errors import InvalidValue
from framelogic.logic.trace import TraceTable
from framelogic.queries.report import VideoSection, render_report, timeline_svg
from framelogic.queries.results import Match, Results, render

M = [
    Match("yields", "a.mp4", 3, 7, 0.91, 0.6, 1.4, {"ped": 0.8, "stopped": 0.7}),
    Match("red_run", "a.mp4", 10, 10, 0.5, 2.0, 2.0, {"red": 0.99}),
]


def test_formats_round_trip():
    r = Results(M)
    assert json.loads(r.to_json())[0] == M[0].to_dict()
    assert [json.loads(line)["query"] for line in r.to_jsonl().splitlines()] == ["yields", "red_run"]
    csv = r.to_csv().splitlines()
    assert csv[0] == "query,video,start,end,start_time,end_time,probability,props"
    assert csv[1].startswith("yields,a.mp4,3,7,0.600,1.400,0.91,")
    table = render(r, "table")
    assert "3-7" in table and "0.60-1.40" in table and "0.910" in table
    assert render(Results(), "table") == "no matches\n"
    df = r.to_pandas()
    assert list(df["query"]) == ["yields", "red_run"] and df.loc[0, "p[ped]"] == 0.8
    assert r.to_arrow().num_rows == 2
    assert r.by_query("red_run")[0].frames == 1
    with pytest.raises(InvalidValue, match="format='xml'"):
        render(r, "xml")


def test_write_is_atomic(tmp_path):
    dest = tmp_path / "out.json"
    Results(M).write(str(dest), "json")
    assert json.loads(dest.read_text())[1]["query"] == "red_run"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def _probs():
    n = 40
    t = np.arange(n) / 10
    v = np.stack([np.clip(np.sin(t), 0, 1), (t > 1).astype(float)], axis=1)
    return TraceTable(("ped", "a stopped car"), v, t, None)


def test_timeline_svg_has_a_track_per_proposition_and_bands():
    svg = timeline_svg(_probs(), [(0.6, 1.4)], truth=[(0.5, 1.5)])
    assert svg.count("<polyline") == 2
    assert svg.count('class="event"') == 1 and svg.count('class="truth"') == 1
    assert ">ped</text>" in svg and ">3.5s<" in svg and ">0.5s<" in svg  # round ticks


def test_report_html_is_self_contained():
    png = bytes.fromhex("89504e470d0a1a0a") + b"rest"
    sec = VideoSection("a.mp4", _probs(), M, [("yields", "G (ped -> F stopped)"), ("red_run", "F red")], {3: png, 7: png})
    page = render_report([sec], title="demo")
    assert page.startswith("<!doctype html>") and page.count("<svg") == 2
    assert page.count("data:image/png;base64,") == 2
    assert "no events" not in page
    assert "src=\"http" not in page and "href=\"http" not in page
    empty = render_report([VideoSection("b.mp4", _probs(), [], [("q", "F a")])])
    assert "no events" in empty
