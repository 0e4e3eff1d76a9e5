"""The accuracy benchmark's parts: metrics, TLV rules and generators, noise model,
baselines, TLV pickle loader, and the command end to end."""

import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.accuracy import data, methods, metrics, tlv
from benchmarks.accuracy.__main__ import main
from framelogic.logic import ast as A
from framelogic.logic import parse
from framelogic.logic.errors import InputError, InvalidValue
from framelogic.logic.semantics import satisfaction

templates = st.sampled_from(list(data.TEMPLATES))
NONE = data.NOISE_LEVELS[0]

# ----------------------------------------------------------------- metrics


def test_frame_scores_by_hand():
    # predicted {1,2,5}, true {2,3}: one hit; P = 1/3, R = 1/2, F1 = 2PR/(P+R) = 0.4
    p, r, f1 = metrics.frame_scores([[1, 2], [5]], [[2, 3]])
    assert (p, r) == (1 / 3, 0.5) and f1 == pytest.approx(0.4)
    assert metrics.frame_scores([], []) == (1.0, 1.0, 1.0)
    assert metrics.frame_scores([[4]], []) == (0.0, 0.0, 0.0)
    assert metrics.frame_scores([], [[4]]) == (0.0, 0.0, 0.0)


def test_event_f1_by_hand():
    assert metrics.iou([1, 2, 3], [2, 3, 4]) == 0.5
    assert metrics.event_f1([[1, 2, 3]], [[2, 3, 4]]) == 1.0  # IoU exactly 0.5 counts
    assert metrics.event_f1([[1, 2, 3, 4, 5, 6]], [[2, 3]]) == 0.0  # IoU 1/3
    # one prediction cannot match two true events: 1 match, P = 1/1, R = 1/2
    assert metrics.event_f1([[0, 1, 2, 3]], [[0, 1, 2], [3]]) == pytest.approx(2 / 3)
    # TLV events need not be contiguous: {0, 2, 5} vs {0, 2, 4, 5} has IoU 3/4
    assert metrics.event_f1([[0, 2, 5]], [[0, 2, 4, 5]]) == 1.0
    assert metrics.event_f1([], []) == 1.0 and metrics.event_f1([[1]], []) == 0.0
    with pytest.raises(InvalidValue, match="threshold"):
        metrics.event_f1([[1]], [[1]], threshold=1.5)


# ----------------------------------------------------------------- TLV rules and generators


def test_tlv_rules_by_hand():
    p = np.array([0, 1, 1, 0, 1, 0, 0])
    q = np.array([0, 0, 0, 1, 0, 1, 1])
    assert data.ground_truth("F p", {"p": p}) == [[1], [2], [4]]
    assert data.ground_truth("G p", {"p": p}) == [[1, 2], [4]]
    assert data.ground_truth("p & q", {"p": p, "q": np.array([0, 1, 0, 0, 1, 0, 0])}) == [[1], [4]]
    # [1..3] from the first p before q@3; [4..5] for q@5; q@6 alone; all touching, so merged
    assert data.ground_truth("p U q", {"p": p, "q": q}) == [[1, 2, 3, 4, 5, 6]]
    q2 = np.array([0, 0, 0, 1, 0, 0, 1])  # q@6 after a quiet frame: its own event
    assert data.ground_truth("p U q", {"p": p, "q": q2}) == [[1, 2, 3], [6]]
    both = {"p": np.array([1, 1, 1, 0, 0]), "q": np.array([0, 1, 1, 0, 0]), "r": np.array([0, 0, 0, 1, 0])}
    assert data.ground_truth("(p & q) U r", both) == [[1, 2, 3]]  # p alone at 0 does not start it
    with pytest.raises(InvalidValue, match="template"):
        data.ground_truth("p R q", {"p": p})


@given(templates, st.integers(0, 2**32 - 1), st.integers(5, 150))
def test_generated_ground_truth_is_the_template_rule(template, seed, n):
    v = data.generate(template, n, np.random.default_rng(seed))
    assert v.n_frames == n and set(v.labels) == set(data.PROPS[template])
    lab = {k: x.astype(bool) for k, x in v.labels.items()}
    # an independent oracle: the reference LTLf semantics of the template's formula
    f = parse(data.TEMPLATES[template])
    if template == "F p":
        assert v.frames_of_interest == [[int(i)] for i in np.flatnonzero(lab["p"])]
    elif template == "p & q":
        assert v.frames_of_interest == [[int(i)] for i in np.flatnonzero(satisfaction(f, lab))]
    elif template == "G p":
        assert v.frames_of_interest == data.runs_of(lab["p"])
    else:  # until: the frames from which the formula holds, as maximal runs
        assert v.frames_of_interest == data.runs_of(satisfaction(f, lab))


def test_generators_make_events_and_distractors():
    rng = np.random.default_rng(3)
    v = data.generate("p U q", 200, rng)
    sat = satisfaction(parse(data.TEMPLATES["p U q"]), {k: x.astype(bool) for k, x in v.labels.items()})
    assert len(v.frames_of_interest) >= 5
    assert (v.labels["p"].astype(bool) & ~sat).any()  # p frames that are no event: a trap for per-frame methods
    long = data.generate("F p", 18_000, rng)
    assert len(long.frames_of_interest) == 18_000 // 5
    with pytest.raises(InvalidValue, match="n="):
        data.generate("F p", 2, rng)


# ----------------------------------------------------------------- noise model


@given(templates, st.integers(0, 2**32 - 1))
def test_noise_level_none_gives_the_labels_exactly(template, seed):
    rng = np.random.default_rng(seed)
    v = data.generate(template, 60, rng)
    probs = NONE.apply(v.labels, rng)
    assert all(np.array_equal(probs[k], v.labels[k]) for k in v.labels)


def test_noise_levels_move_scores_away_from_the_truth_in_order():
    rng = np.random.default_rng(0)
    truth = {"p": (rng.random(20_000) < 0.3).astype(float)}
    errors = [np.abs(z.apply(truth, rng)["p"] - truth["p"]).mean() for z in data.NOISE_LEVELS]
    assert errors[0] == 0 and all(a < b for a, b in zip(errors, errors[1:]))
    for z in data.NOISE_LEVELS:
        s = z.apply(truth, rng)["p"]
        assert np.all((s >= 0) & (s <= 1))


def test_noise_beta_means_flicker_and_dropouts():
    rng = np.random.default_rng(1)
    t = (rng.random(40_000) < 0.5).astype(float)
    s = data.Noise("x", error=0.2, concentration=5).apply({"p": t}, rng)["p"]
    assert s[t == 1].mean() == pytest.approx(0.8, abs=0.01) and s[t == 0].mean() == pytest.approx(0.2, abs=0.01)
    flipped = data.Noise("f", flicker=0.1).apply({"p": t}, rng)["p"]
    assert (flipped != t).mean() == pytest.approx(0.1, abs=0.01)
    # dropouts: true frames missed in stretches, never false frames turned on
    ones = np.ones(40_000)
    d = data.Noise("d", dropout=0.01, dropout_frames=10).apply({"p": ones}, rng)["p"]
    misses = data.runs_of(d == 0)
    assert np.mean([len(r) for r in misses]) > 5 and not data.Noise("d", dropout=0.5).apply({"p": 1 - ones}, rng)["p"].any()


def test_noise_rejects_bad_levels():
    with pytest.raises(InvalidValue, match="error"):
        data.Noise("x", error=0.5)
    with pytest.raises(InvalidValue, match="flicker"):
        data.Noise("x", flicker=-0.1)
    with pytest.raises(InvalidValue, match="concentration"):
        data.Noise("x", error=0.1, concentration=0)


# ----------------------------------------------------------------- baselines


def test_logstop_treats_every_occurrence_as_independent():
    p = A.Atom("p")
    probs = {"p": np.array([0.5, 0.2]), "q": np.array([0.0, 0.5])}
    # the parser folds "p" & !"p" to false, so the node classes build it unfolded
    assert methods.logstop_scores(A.And((p, A.Not(p))), probs).tolist() == pytest.approx([0.25, 0.16])
    assert methods.logstop_scores(A.Or((p, A.Not(p))), probs).tolist() == pytest.approx([0.75, 1 - 0.8 * 0.2])
    # until by its recursion: u1 = q1 = 0.5; u0 = q0 + (1 - q0) p0 u1 = 0.25
    assert methods.logstop_scores('"p" U "q"', probs).tolist() == pytest.approx([0.25, 0.5])
    assert methods.logstop_scores('G "p"', probs).tolist() == pytest.approx([0.1, 0.2])  # product of the future
    assert methods.logstop_scores('F[1,1] "q"', probs).tolist() == pytest.approx([0.5, 0.0])
    assert methods.logstop_scores('O "q"', probs).tolist() == pytest.approx([0.0, 0.5])


@given(templates, st.integers(0, 2**32 - 1))
def test_logstop_equals_the_exact_probability_when_atoms_occur_once(template, seed):
    from framelogic.automata import evaluate

    rng = np.random.default_rng(seed)
    probs = {k: rng.random(30) for k in data.PROPS[template]}
    f = data.TEMPLATES[template]
    np.testing.assert_allclose(methods.logstop_scores(f, probs), evaluate(f, probs), atol=1e-12)


def test_logstop_differs_from_the_exact_probability_when_an_atom_repeats():
    from framelogic.automata import evaluate

    probs = {"p": np.array([0.5, 0.5, 0.5])}
    f = '"p" & F !"p"'  # P = p0 (1 - p1 p2) = 0.375 exactly; LogSTOP multiplies p0 by F's score over frames 0..2
    assert evaluate(f, probs)[0] == pytest.approx(0.375)
    assert methods.logstop_scores(f, probs)[0] == pytest.approx(0.5 * (1 - 0.125))


def test_per_frame_threshold_has_no_temporal_reasoning():
    probs = {"p": np.array([0.9, 0.9, 0.1, 0.8, 0.1]), "q": np.array([0.1, 0.1, 0.9, 0.1, 0.1])}
    # p at 3 is never followed by q: an event only for a method that drops "until"
    assert methods.per_frame_threshold('"p" U "q"', probs) == [[0, 1, 2, 3]]
    assert methods.framelogic_method("tlv")('"p" U "q"', probs) == [[0, 1, 2]]
    assert methods.per_frame_threshold('F "p"', probs) == [[0], [1], [3]]


@pytest.mark.skipif(not methods.nsvs_available(), reason="needs stormpy and the NSVS-TL baseline")
def test_nsvs_tl_wrapper_renames_propositions_for_storm():
    probs = {"a traffic light": np.array([0.0, 0.9, 0.0, 0.9]), "car": np.array([0.0, 0.0, 0.0, 0.0])}
    assert methods.nsvs_tl('F "a traffic light"', probs) == [[1], [3]]
    with pytest.raises(InvalidValue, match="unbounded"):
        methods.nsvs_tl('F[0,3] "car"', probs)


# ----------------------------------------------------------------- framelogic on the TLV rule


@given(templates, st.integers(0, 2**32 - 1), st.integers(5, 200))
def test_framelogic_reproduces_the_ground_truth_on_noise_free_inputs(template, seed, n):
    rng = np.random.default_rng(seed)
    v = data.generate(template, n, rng)
    pred = methods.framelogic_method("tlv")(data.TEMPLATES[template], NONE.apply(v.labels, rng))
    assert pred == v.frames_of_interest
    assert metrics.frame_scores(pred, v.frames_of_interest)[2] == 1.0
    assert metrics.event_f1(pred, v.frames_of_interest) == 1.0


# ----------------------------------------------------------------- TLV pickles


def _tlv_pickle(path, **over):
    sample = {
        "ground_truth": True, "ltl_formula": '"car" U "person"', "proposition": ["car", "person"],
        "number_of_frame": 4, "frames_of_interest": [[0, 1, 2]], "labels_of_frames": [["car"], "car", ["person"], None],
        "images_of_frames": [np.zeros((2, 2, 3), np.uint8)] * 4,
    }  # fmt: skip
    sample.update(over)
    path.write_bytes(pickle.dumps(sample))
    return path


def test_tlv_pickle_loader(tmp_path):
    s = tlv.load(_tlv_pickle(tmp_path / "video.pkl"))
    assert s.formula == '"car" U "person"' and s.n_frames == 4 and s.propositions == ("car", "person")
    assert s.labels["car"].tolist() == [1, 1, 0, 0] and s.labels["person"].tolist() == [0, 0, 1, 0]
    assert len(s.images) == 4 and tlv.template_of(s.formula) == "p U q"
    assert methods.framelogic_method("tlv")(s.formula, s.labels) == s.frames_of_interest


def test_tlv_loader_errors_name_the_problem(tmp_path):
    (tmp_path / "bad.pkl").write_bytes(pickle.dumps({"ltl_formula": "F a"}))
    with pytest.raises(InputError, match="missing TLV keys"):
        tlv.load(tmp_path / "bad.pkl")
    with pytest.raises(InputError, match="no such"):
        tlv.load(tmp_path / "none.pkl")
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    with pytest.raises(InputError, match="not a TLV pickle"):
        tlv.load(tmp_path / "junk.pkl")
    with pytest.raises(InputError, match="number_of_frame=5"):
        tlv.load(_tlv_pickle(tmp_path / "short.pkl", number_of_frame=5))
    with pytest.raises(InputError, match="outside"):
        tlv.load(_tlv_pickle(tmp_path / "far.pkl", frames_of_interest=[[0, 9]]))
    with pytest.raises(InputError, match="does not parse"):
        tlv.load(_tlv_pickle(tmp_path / "syntax.pkl", ltl_formula='"car" U'))
    with pytest.raises(InputError, match="not a folder"):
        tlv.load_dir(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no \\*.pkl"):
        tlv.load_dir(tmp_path / "empty")


def test_benchmark_on_tlv_pickles_of_generated_videos(tmp_path):
    """Generated videos written in TLV's format score F1 = 1 for framelogic at noise 0."""
    rng = np.random.default_rng(7)
    names = {"p": "car", "q": "traffic light", "r": "person"}
    for i, template in enumerate(data.TEMPLATES):
        v = data.generate(template, 40, rng)
        props = [names[k] for k in data.PROPS[template]]
        formula = data.TEMPLATES[template]
        for k in data.PROPS[template]:
            formula = formula.replace(f'"{k}"', f'"{names[k]}"')  # test data only; the code under test parses
        labels = [[names[k] for k in v.labels if v.labels[k][j]] for j in range(v.n_frames)]
        _tlv_pickle(tmp_path / f"v{i}.pkl", ltl_formula=formula, proposition=props, number_of_frame=v.n_frames,
                    frames_of_interest=v.frames_of_interest, labels_of_frames=labels, images_of_frames=None)  # fmt: skip
    samples = tlv.load_dir(tmp_path)
    assert sorted(tlv.template_of(s.formula) for s in samples) == sorted(t.strip() for t in data.TEMPLATES)
    rows = tlv.run(samples, tlv.noisy_labels(NONE), methods.methods(nsvs=False, segments=False), noise="none")
    tlv_rows = [r for r in rows if r.method == "framelogic (tlv)"]
    assert len(tlv_rows) == 5 and all(r.f1 == 1.0 and r.event_f1 == 1.0 for r in tlv_rows)
    noisy = tlv.noisy_labels(data.NOISE_LEVELS[3], seed=1)
    assert not np.array_equal(noisy(samples[0])["car"], samples[0].labels["car"])
    assert np.array_equal(noisy(samples[0])["car"], noisy(samples[0])["car"])  # seeded per sample


# ----------------------------------------------------------------- the command


def test_command_prints_the_table(capsys, tmp_path):
    rng = np.random.default_rng(0)
    v = data.generate("G p", 30, rng)
    _tlv_pickle(tmp_path / "g.pkl", ltl_formula='G "car"', proposition=["car"], number_of_frame=30,
                frames_of_interest=v.frames_of_interest, labels_of_frames=[["car"] if x else [] for x in v.labels["p"]],
                images_of_frames=None)  # fmt: skip
    assert main(["--videos", "1", "--long-frames", "300", "--no-rendered", "--tlv", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for template in data.TEMPLATES:
        assert f"| {template} | none | framelogic (tlv) | 1.000 | 1.000 | 1.000 | 1.000 |" in out
    assert "## TLV dataset: 1 videos" in out and "| G p | high | LogSTOP-style |" in out
    assert "| p U q | medium | framelogic (tlv), tuned θ=" in out  # thresholds tuned on validation videos
    assert "### framelogic (tlv) vs NSVS-TL" in out or not methods.nsvs_available()
