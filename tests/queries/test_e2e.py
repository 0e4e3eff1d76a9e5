"""End to end on rendered scenario videos with exact ground truth.

The example queries with the bundled model must find the ground-truth events:
frame-level F1 >= 0.9 and every true event overlapped (IoU >= 0.5), per query
and scenario. A failure here means perception or reasoning regressed.
"""

import pytest

from framelogic.queries.demo import SCENARIOS, examples_dir, score, truth_table
from framelogic.queries.search import Query


@pytest.fixture(scope="module")
def driving():
    return Query.from_file(examples_dir() / "driving.tl")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_example_queries_find_the_true_events(scenario, driving, tmp_path):
    from framelogic.perception.render import write_scenario

    video = tmp_path / f"{scenario}.mp4"
    labels = write_scenario(video, scenario, fps=10)
    probs = driving.probabilities(str(video), cache_dir=str(tmp_path / "cache"))
    found = driving.search_table(probs, video=str(video))
    truth = driving.search_table(truth_table(labels, probs.times, probs.rate), video=str(video))
    for q in driving.names:
        s = score(str(video), q, found.by_query(q), truth.by_query(q), len(probs))
        assert s.f1 >= 0.9, (q, s)
        assert s.overlapped, (q, s)
