"""The accuracy benchmark's parts: metrics, TLV rules, noise model, baselines, loader."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.accuracy import data, methods, metrics, tlv
from framelogic.logic.errors import InputError


def test_metrics_by_hand():
    assert metrics.frame_scores([[1, 2], [5]], [[2, 3]]) == (1 / 3, 0.5, 0.4)
    assert metrics.frame_scores([], []) == (1.0, 1.0, 1.0)
    assert metrics.iou([1, 2, 3], [2, 3, 4]) == 0.5
    assert metrics.event_f1([[1, 2, 3]], [[2, 3, 4]]) == 1.0
    assert metrics.event_f1([[1, 2, 3, 4, 5, 6]], [[2, 3]]) == 0.0  # IoU 1/3


def test_tlv_rules_by_hand():
    p = np.array([0, 1, 1, 0, 1, 0])
    q = np.array([0, 0, 0, 1, 0, 1])
    assert data.ground_truth("F p", {"p": p}) == [[1], [2], [4]]
    assert data.ground_truth("G p", {"p": p}) == [[1, 2], [4]]
    assert data.ground_truth("p & q", {"p": p, "q": np.array([0, 1, 0, 0, 1, 0])}) == [[1], [4]]
    assert data.ground_truth("p U q", {"p": p, "q": q}) == [[1, 2, 3, 4, 5]]  # consecutive frames merge


@given(st.sampled_from(list(data.TEMPLATES)), st.integers(0, 10_000), st.integers(5, 120))
@settings(max_examples=200)
def test_framelogic_reproduces_the_ground_truth_on_noise_free_inputs(template, seed, n):
    rng = np.random.default_rng(seed)
    v = data.generate(template, n, rng)
    probs = data.noisy(v.labels, 0.0, rng)
    assert all(np.array_equal(probs[k], v.labels[k]) for k in probs)  # level 0 is exact
    pred = methods.framelogic_tlv(template, probs)
    assert metrics.frame_scores(pred, v.frames_of_interest)[2] == 1.0
    assert metrics.event_f1(pred, v.frames_of_interest) == 1.0


def test_noise_model_moves_scores_away_from_the_truth():
    rng = np.random.default_rng(0)
    truth = {"p": (rng.random(5000) < 0.3).astype(float)}
    low = data.noisy(truth, 0.2, rng)["p"]
    high = data.noisy(truth, 0.5, rng, flicker=0.05, dropout=0.2)["p"]
    err = lambda s: np.abs(s - truth["p"]).mean()  # noqa: E731
    assert 0 < err(low) < err(high) and np.all((high >= 0) & (high <= 1))


def test_logstop_treats_occurrences_as_independent():
    p, q = np.array([0.5, 0.5]), np.array([0.0, 0.5])
    s = methods.logstop_scores("p U q", {"p": p, "q": q, "r": q})
    assert s.tolist() == [0.5 * 0.5, 0.5]  # q0 + (1-q0) p0 s1
    assert methods.logstop_scores("p & q", {"p": p, "q": p, "r": p}).tolist() == [0.25, 0.25]  # p & p scores p^2


def test_tlv_pickle_loader(tmp_path):
    sample = {
        "ground_truth": True, "ltl_formula": '"car" U "person"', "proposition": ["car", "person"],
        "number_of_frame": 4, "frames_of_interest": [[0, 1, 2]], "labels_of_frames": [["car"], ["car"], ["person"], []],
        "images_of_frames": [np.zeros((2, 2, 3), np.uint8)] * 4,
    }  # fmt: skip
    path = tmp_path / "video.pkl"
    path.write_bytes(pickle.dumps(sample))
    s = tlv.load(path)
    assert s.formula == '"car" U "person"' and s.n_frames == 4
    assert s.labels["car"].tolist() == [1, 1, 0, 0] and s.labels["person"].tolist() == [0, 0, 1, 0]
    pred = methods.framelogic_tlv("p U q", {"p": s.labels["car"], "q": s.labels["person"], "r": s.labels["car"]})
    assert pred == s.frames_of_interest
    (tmp_path / "bad.pkl").write_bytes(pickle.dumps({"ltl_formula": "F a"}))
    with pytest.raises(InputError, match="missing TLV keys"):
        tlv.load(tmp_path / "bad.pkl")
    with pytest.raises(InputError, match="no such"):
        tlv.load(tmp_path / "none.pkl")
