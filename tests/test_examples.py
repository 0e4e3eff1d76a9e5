"""The runnable examples do what their docs say."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_property_testing_example_finds_and_shrinks_the_planted_bug():
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "examples" / "property_testing")],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert r.returncode == 1, r.stdout[-2000:]
    assert "1 failed, 2 passed" in r.stdout
    assert "test_brakes_for_pedestrians" in r.stdout
    # shrunk to the minimal scenario: two red frames, then green with a pedestrian
    assert "values=array([[1., 0., 0.]," in r.stdout and "[0., 1., 1.]])" in r.stdout
    assert "decided at frame 2: violated" in r.stdout
