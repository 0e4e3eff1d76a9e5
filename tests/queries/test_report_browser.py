"""The HTML report as a person sees it: rendered by headless Chromium."""

import shutil
import subprocess

import numpy as np
import pytest

from framelogic.logic.trace import TraceTable
from framelogic.queries.report import VideoSection, render_report
from framelogic.queries.results import Match

cv2 = pytest.importorskip("cv2")

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
]  # fmt: skip


def screenshot(html_path, png_path, tmp_path, size=(1000, 800)):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "Debian's chromium is needed for this test (make test and .ci/run install it)"
    cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chrome'}", f"--window-size={size[0]},{size[1]}",
           f"--screenshot={png_path}", html_path.as_uri()]  # fmt: skip
    subprocess.run(cmd, capture_output=True, timeout=120, check=True)
    img = cv2.imread(str(png_path))
    assert img is not None
    return img


def near(img, bgr, tol=40):
    return np.all(np.abs(img.astype(int) - np.array(bgr)) <= tol, axis=2)


def test_screenshot_shows_timeline_bands_and_thumbnails(tmp_path):
    n = 40
    t = np.arange(n) / 10
    probs = TraceTable(("ped", "stopped"), np.stack([np.clip(np.sin(t), 0, 1), (t > 1).astype(float)], 1), t, None)
    thumb = np.zeros((90, 160, 3), np.uint8)
    thumb[:] = (255, 0, 255)  # magenta, so the screenshot can find it
    jpg = cv2.imencode(".jpg", thumb)[1].tobytes()
    match = Match("yields", "a.mp4", 3, 7, 0.91, 0.3, 0.7, {})
    page = render_report([VideoSection("a.mp4", probs, [match], [("yields", "G (ped -> F stopped)")], {3: jpg, 7: jpg})])
    html_path = tmp_path / "report.html"
    html_path.write_text(page)
    img = screenshot(html_path, tmp_path / "shot.png", tmp_path)
    line_blue = near(img, (180, 119, 31), tol=60).sum()  # #1f77b4, the first track
    band = near(img, (184, 216, 251), tol=20).sum()  # #ff7f0e at 28 % opacity over #fafafa
    magenta = near(img, (255, 0, 255), tol=60).sum()
    assert line_blue > 200, "no probability track visible"
    assert band > 2000, "no event band visible"
    assert magenta > 2 * 0.8 * 90 * 160, "the two thumbnails are not visible"


def test_screenshot_shows_the_summary_a_legend_threshold_and_an_event_band(tmp_path):
    # issue 10: a summary table at the top, a legend, the threshold line, collapsed empty panels
    from framelogic.queries.report import Report

    n = 600  # a minute at 10 fps
    t = np.arange(n) / 10
    probs = TraceTable(("ped", "stopped"), np.stack([(np.sin(t / 3) + 1) / 2, (t > 20).astype(float)], 1), t, None)
    found = [Match("yields", "a.mp4", 100, 160, 0.93, 10.0, 16.0, {})]
    sec = VideoSection("a.mp4", probs, found, [("yields", "G (ped -> F stopped)"), ("never", "F false")],
                       thresholds={"yields": 0.6, "never": 0.5}, href=str(tmp_path / "a.mp4"))  # fmt: skip
    html_path = tmp_path / "report.html"
    Report("summary test", (sec,)).write(html_path)
    page = html_path.read_text()
    assert page.index('class="summary"') < page.index("<svg")  # the summary comes first
    assert 'href="a.mp4#t=10.00,16.00"' in page  # relative link into the video at the event
    assert '<details class="panel" id="v0-never">' in page  # no events: collapsed
    assert ">50s<" in page and 'class="threshold"' in page and 'class="legend"' in page
    img = screenshot(html_path, tmp_path / "shot.png", tmp_path, size=(1000, 900))
    band = near(img, (184, 216, 251), tol=20).sum()
    legend_band = near(img, (140, 190, 250), tol=45).sum()  # the legend's band swatch (#ff7f0e at 45 %)
    table_lines = near(img, (221, 221, 221), tol=6).sum()  # #ddd borders of the summary table
    assert band > 2000, "no event band visible"
    assert legend_band > 60, "no legend visible"
    assert table_lines > 300, "no summary table visible"
