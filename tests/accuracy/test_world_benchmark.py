"""The world-model accuracy benchmark: noise models, the median-filter baseline,
scoring and the who-wins summary on hand-made rows, the monitor traces, and the
quick command end to end on tiny inputs."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.accuracy import monitor_world, noise, worlds
from benchmarks.accuracy.data import PROPS, TEMPLATES, ground_truth, runs_of
from benchmarks.accuracy.methods import median_filter, median_threshold, per_frame_threshold
from benchmarks.accuracy.report import Row, score
from framelogic.logic.errors import InvalidValue

# ----------------------------------------------------------------- truth and noise


@pytest.mark.parametrize("kind", noise.TRUTHS)
def test_truth_runs_have_the_requested_means(kind):
    t = noise.Truth(kind, on_mean=6, off_mean=18)
    x = t.sample(200_000, np.random.default_rng(0))
    on = [len(r) for r in runs_of(x == 1)][1:-1]  # the first and last runs are cut by the ends
    off = [len(r) for r in runs_of(x == 0)][1:-1]
    # heavy tails converge slowly: a looser tolerance there
    tol = 0.05 if kind == "geometric" else 0.25
    assert np.mean(on) == pytest.approx(6, rel=tol) and np.mean(off) == pytest.approx(18, rel=tol)
    assert set(np.unique(x)) == {0.0, 1.0}


def test_heavy_tailed_runs_have_a_heavier_tail_than_geometric_ones():
    rng = np.random.default_rng(1)
    g = noise.Truth("geometric").run_lengths(12, 100_000, rng)
    h = noise.Truth("heavy").run_lengths(12, 100_000, rng)
    assert np.quantile(h, 0.999) > 2 * np.quantile(g, 0.999)  # rare very long runs
    assert np.median(h) < np.median(g)  # and many short ones
    assert h.min() >= 1 and g.min() >= 1


def test_ar1_noise_has_its_sigma_and_lag_one_correlation():
    x = noise.ar1(200_000, 2.0, 0.9, np.random.default_rng(2))
    assert x.std() == pytest.approx(2.0, rel=0.05)
    assert np.corrcoef(x[:-1], x[1:])[0, 1] == pytest.approx(0.9, abs=0.01)
    y = noise.ar1(100_000, 1.0, 0.0, np.random.default_rng(2))
    assert abs(np.corrcoef(y[:-1], y[1:])[0, 1]) < 0.02


def test_bursts_miss_true_frames_in_stretches_and_never_invent_detections():
    rng = np.random.default_rng(3)
    z = noise.ScoreNoise(margin=3.0, sigma=0.0, burst_rate=0.01, burst_frames=10)
    on = z.apply(np.ones(50_000), rng)
    missed = on < 0.5
    assert 0.05 < missed.mean() < 0.15 and np.mean([len(r) for r in runs_of(missed)]) > 5
    assert (z.apply(np.zeros(50_000), rng) < 0.5).all()


def test_miscalibration_is_a_monotone_distortion_of_the_same_scores():
    truth = (np.random.default_rng(4).random(5000) < 0.4).astype(float)
    fair = noise.ScoreNoise(margin=2.0, sigma=1.5, rho=0.7).apply(truth, np.random.default_rng(5))
    bent = noise.ScoreNoise(margin=2.0, sigma=1.5, rho=0.7, gain=0.4, bias=1.2).apply(truth, np.random.default_rng(5))
    assert np.array_equal(np.argsort(fair, kind="stable"), np.argsort(bent, kind="stable"))  # same ranking
    # logit bent = 0.4 logit fair + 1.2, exactly
    logit = lambda s: np.log(s / (1 - s))  # noqa: E731
    np.testing.assert_allclose(logit(bent), 0.4 * logit(fair) + 1.2, atol=1e-6)
    assert np.abs(bent - fair).mean() > 0.1


def test_exact_level_gives_the_labels_and_models_are_seed_reproducible():
    rng = np.random.default_rng(6)
    labels, scores = noise.EXACT.video(["p", "q"], 100, "none", rng)
    assert all(np.array_equal(labels[k], scores[k]) for k in labels)
    for m in noise.NOISE_MODELS:
        assert tuple(m.levels) == noise.LEVELS
        a = worlds.videos(m, "high", "p U q", count=2, frames=50, seed=3)
        b = worlds.videos(m, "high", "p U q", count=2, frames=50, seed=3)
        low = worlds.videos(m, "low", "p U q", count=2, frames=50, seed=3)
        assert all(np.array_equal(x[1]["p"], y[1]["p"]) for x, y in zip(a, b))
        # levels share the truth and differ only by the noise
        assert all(np.array_equal(x[0]["q"], y[0]["q"]) for x, y in zip(a, low))
        assert not np.array_equal(a[0][1]["q"], low[0][1]["q"])


def test_noise_levels_order_the_per_frame_error():
    truth = noise.Truth("geometric").sample(20_000, np.random.default_rng(7))
    for m in noise.NOISE_MODELS:
        errs = [np.mean((m.levels[lv].apply(truth, np.random.default_rng(8)) >= 0.5) != truth) for lv in noise.LEVELS]
        assert 0 < errs[0] < errs[1] < errs[2] < 0.5, (m.name, errs)


def test_noise_rejects_bad_parameters():
    with pytest.raises(InvalidValue, match="kind"):
        noise.Truth("uniform")
    with pytest.raises(InvalidValue, match="alpha"):
        noise.Truth("heavy", alpha=1.0)
    with pytest.raises(InvalidValue, match="rho"):
        noise.ScoreNoise(margin=1, rho=1.5)
    with pytest.raises(InvalidValue, match="gain"):
        noise.ScoreNoise(margin=1, gain=0)
    with pytest.raises(InvalidValue, match="level"):
        noise.NOISE_MODELS[0].video(["p"], 10, "extreme", np.random.default_rng(0))


# ----------------------------------------------------------------- median filter


def test_median_filter_by_hand():
    x = np.array([0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0])
    # window 3, edges padded with the edge value: [0 0 1] [0 1 0] [1 0 0] [0 0 1] [0 1 1] [1 1 1] [1 1 0] [1 0 0]
    assert median_filter(x, 3).tolist() == [0, 0, 0, 0, 1, 1, 1, 0]
    assert median_filter(x, 1).tolist() == x.tolist()
    with pytest.raises(InvalidValue, match="odd"):
        median_filter(x, 4)


@given(st.lists(st.floats(0, 1), min_size=1, max_size=40), st.sampled_from([1, 3, 5, 9]))
def test_median_filter_is_a_running_median(xs, window):
    x = np.array(xs)
    half = window // 2
    expect = [np.median([x[min(max(j, 0), len(x) - 1)] for j in range(i - half, i + half + 1)]) for i in range(len(x))]
    np.testing.assert_allclose(median_filter(x, window), expect)


def test_median_threshold_removes_flicker_that_per_frame_thresholding_keeps():
    probs = {"p": np.array([0.9, 0.9, 0.1, 0.9, 0.9, 0.1, 0.1, 0.9, 0.1, 0.1])}
    assert per_frame_threshold('G "p"', probs) == [[0, 1], [3, 4], [7]]
    assert median_threshold(3)('G "p"', probs) == [[0, 1, 2, 3, 4]]


# ----------------------------------------------------------------- scoring and the summary


def _fixed(events):
    return lambda formula, probs: events


def test_scores_of_a_method_on_hand_made_cases():
    # video 1: predicted {1,2,5} vs true {2,3}: P 1/3, R 1/2, F1 0.4; events [1,2],[5] vs [2,3]: IoU 1/3 -> event F1 0
    # video 2: exact: 1 everywhere
    cases = [('F "p"', {"p": np.zeros(6)}, [[2, 3]]), ('F "p"', {"p": np.zeros(6)}, [[4]])]
    outs = iter([[[1, 2], [5]], [[4]]])
    row = score("m", lambda f, p: next(outs), cases, template="F p", noise="x/low")
    assert (row.precision, row.recall) == pytest.approx(((1 / 3 + 1) / 2, (0.5 + 1) / 2))
    assert row.f1 == pytest.approx((0.4 + 1) / 2) and row.event_f1 == pytest.approx(0.5) and row.videos == 2


def _row(template, noise_, method, f1, ev):
    return Row(template, noise_, method, f1, f1, f1, ev, 0.0, 1)


def test_who_wins_lists_every_cell_where_markov_is_not_best():
    rows = [
        _row("F p", "a/low", worlds.MARKOV, 0.9, 0.8), _row("F p", "a/low", worlds.MARKOV_VITERBI, 0.85, 0.9),
        _row("F p", "a/low", "per-frame threshold", 0.9, 0.7),  # a tie on frame F1 is not a loss
        _row("G p", "a/high", worlds.MARKOV, 0.5, 0.5), _row("G p", "a/high", "LogSTOP-style", 0.6, 0.4),
        _row("G p", "none/none", worlds.MARKOV, float("nan"), float("nan")), _row("G p", "none/none", "LogSTOP-style", 1, 1),
    ]  # fmt: skip
    lost = {(x.template, x.noise, x.metric, x.winner) for x in worlds.losses(rows)}
    assert lost == {
        ("F p", "a/low", "event F1", worlds.MARKOV_VITERBI),  # the other Markov decision rule counts as another method
        ("G p", "a/high", "frame F1", "LogSTOP-style"),
        ("G p", "none/none", "frame F1", "LogSTOP-style"),  # pending counts as lost
        ("G p", "none/none", "event F1", "LogSTOP-style"),
    }
    text = worlds.who_wins(rows)
    assert "frame F1 in 1/3 cells" in text and "event F1 in 1/3 cells" in text
    assert "is best on frame F1 in 1/3 cells and on event F1 in 2/3 cells" in text  # Viterbi counts as ours there
    assert "| G p | a | high | frame F1 | 0.500 | - | 0.600 | LogSTOP-style |  |" in text
    noted = worlds.who_wins(rows, notes={("G p", "a/high"): "a note"})
    assert "| G p | a | high | frame F1 | 0.500 | - | 0.600 | LogSTOP-style | a note |" in noted
    assert "| G p | none | none | event F1 | pending |" in text
    compact = worlds.compact(rows, "f1")
    assert "| F p | a | low | **0.900** | 0.850 | **0.900** | - |" in compact


def test_scoreboard_counts_each_world_row_against_all_rows_and_against_the_baselines():
    hid = worlds.HIDDEN + " (P>=0.4)"  # the fitted-decision row carries its decision in its name
    rows = [
        _row("F p", "a/low", worlds.MARKOV, 0.9, 0.8), _row("F p", "a/low", hid, 0.95, 0.7),
        _row("F p", "a/low", "per-frame threshold", 0.9, 0.75),
        _row("G p", "a/high", worlds.MARKOV, 0.5, 0.5), _row("G p", "a/high", worlds.HIDDEN + " (Viterbi)", 0.4, 0.6),
        _row("G p", "a/high", "LogSTOP-style", 0.45, 0.55),
    ]  # fmt: skip
    board = worlds.scoreboard(rows)
    assert f"| {worlds.MARKOV} | 1/2 | 1/2 | 2/2 | 1/2 |" in board
    assert f"| {worlds.HIDDEN} | 1/2 | 1/2 | 1/2 | 1/2 |" in board
    assert worlds.MARKOV_VITERBI not in board  # rows not run are left out
    lost = worlds.losses(rows, worlds.HIDDEN, exclude=[worlds.MARKOV])
    assert {(x.template, x.metric, x.winner) for x in lost} == {("F p", "event F1", "per-frame threshold"),
                                                                ("G p", "frame F1", "LogSTOP-style")}  # fmt: skip
    assert "| G p | a | high | **0.500** | 0.400 | - | 0.450 |" in worlds.compact(rows, "f1")


def test_hidden_rows_share_one_fit_from_the_training_split_and_use_its_decision():
    from benchmarks.accuracy.methods import framelogic_world

    m = noise.NOISE_MODELS[2]  # bursts
    train = worlds.videos(m, "low", "p & q", count=4, frames=80, seed=5)
    fitted = worlds._hidden("fitted")("p & q", train)
    world = worlds.fit_hidden_world("p & q", train)
    assert worlds.fit_hidden_world("p & q", train) is world  # one fit for the three Hidden rows
    assert world.decide in ("threshold", "viterbi")
    assert fitted.fitted == ("Viterbi" if world.decide == "viterbi" else f"P>={world.threshold:g}")
    test = worlds.videos(m, "low", "p & q", count=2, frames=80, seed=0)
    explicit = framelogic_world(world, decision=world.decide, threshold=world.threshold or 0.5)
    for _, scores in test:
        assert fitted(TEMPLATES["p & q"], scores) == explicit(TEMPLATES["p & q"], scores)


# ----------------------------------------------------------------- the table on tiny inputs


def test_fit_note_flags_diverged_platt_maps_only():
    from framelogic.automata.world import Markov

    assert worlds.fit_note(Markov(calibration={"p": (0.9, -1.2)})) == ""
    note = worlds.fit_note(Markov(calibration={"p": (0.9, -1.2), "q": (2.4e7, -3.4e8)}))
    assert "diverged" in note and "q (2.4e+07, -3.4e+08)" in note and "p (" not in note


def test_run_table_has_one_row_per_cell_and_method_with_the_truth_of_the_tlv_rule():
    ms = worlds.world_methods(nsvs=False)
    rows = worlds.run_table(ms, test=2, train=2, frames=40, seed=1, templates=["p & q", "G p"])
    cells = worlds.cells(["p & q", "G p"])
    assert len(cells) == 2 * (1 + len(noise.NOISE_MODELS) * len(noise.LEVELS))
    assert len(rows) == len(cells) * len(ms)
    assert [(r.template, r.noise) for r in rows[:: len(ms)]] == [(c.template, f"{c.model}/{c.level}") for c, _ in cells]
    for r in rows:
        assert r.videos in (0, 2) and (r.f1 != r.f1 or 0 <= r.f1 <= 1)
    # noise-free: thresholding the exact labels reproduces the truth
    exact = [r for r in rows if r.noise == "none/none" and r.method in ("per-frame threshold", worlds.INDEPENDENT)]
    assert len(exact) == 4 and all(r.f1 == 1.0 and r.event_f1 == 1.0 for r in exact)


def test_fitted_baselines_are_fitted_on_the_training_split_only():
    m = noise.NOISE_MODELS[3]  # miscalibrated: the best threshold is not 0.5
    train = worlds.videos(m, "medium", "G p", count=3, frames=120, seed=5)
    cases = worlds._cases("G p", train)
    f1 = lambda run: score("", run, cases, template="", noise="").f1  # noqa: E731
    med = worlds._median("G p", train)
    best = max(f1(median_threshold(w, th)) for w in worlds.MEDIAN_WINDOWS for th in worlds.THRESHOLDS)
    assert med.fitted.startswith("window ") and f1(med) == best
    th = worlds._threshold("G p", train)
    best = max(f1(lambda f, p, t=t: per_frame_threshold(f, p, t)) for t in worlds.THRESHOLDS)
    assert f1(th) == best and th.fitted.startswith("θ=")
    # the test split does not enter: another test split, the same fit
    assert worlds._threshold("G p", train).fitted == th.fitted


# ----------------------------------------------------------------- monitor traces


def test_driving_traces_violate_exactly_where_they_say():
    from framelogic.automata import Monitor, Verdict

    rng = np.random.default_rng(9)
    clean = monitor_world.driving_trace(1.0, rng)
    bad = monitor_world.driving_trace(1.0, rng, violating=True)
    assert clean.violation is None and bad.violation == bad.onset + 60
    for t in (clean, bad):
        assert set(t.labels) == {"ped", "stopped"} and len(t.labels["ped"]) == 1800
        assert (t.scores["ped"][t.labels["ped"] == 0] <= 0.1).all()  # background up to 0.1
    m = Monitor(monitor_world.RULE, fps=30)
    verdicts = [m.step(f).verdict for f in monitor_world._frames(clean.labels)]
    assert Verdict.VIOLATED not in verdicts
    first = monitor_world._first_violation(lambda: Monitor(monitor_world.RULE, fps=30), monitor_world._frames(bad.labels))
    assert first == bad.violation


# ----------------------------------------------------------------- the command


def test_quick_command_writes_the_report(tmp_path):
    out = tmp_path / "accuracy_world.md"
    assert worlds.main(["--quick", "--no-nsvs", "--templates", "p U q", "--out", str(out)]) == 0
    text = out.read_text()
    for head in ("## Who wins", "## Frame F1", "## Event F1 at IoU >= 0.5", "## All rows", "## Monitor on driving traces"):
        assert head in text
    sections = {s.split("\n", 1)[0]: s for s in text.split("\n## ")}
    n_cells = 1 + len(noise.NOISE_MODELS) * len(noise.LEVELS)

    def rows(section):
        return [line for line in sections[section].splitlines() if line.startswith("| p U q | ")]

    # the frame-F1 and event-F1 tables: one line per cell; all rows: one per cell and method
    assert len(rows("Frame F1 (best of the cell in bold)")) == n_cells
    assert len(rows("Event F1 at IoU >= 0.5 (best of the cell in bold)")) == n_cells
    assert len(rows("All rows")) == n_cells * len(worlds.world_methods(nsvs=False))
    # every cell the summary lists as lost is a cell of the table
    lost = rows("Who wins")
    assert {tuple(x.split(" | ")[1:3]) for x in lost} <= {tuple(x.split(" | ")[1:3]) for x in rows("All rows")}
    assert "| framelogic, independent world |" in text and "| per-frame threshold, then monitor |" in text


def test_templates_and_props_cover_the_world_benchmark():
    for template in TEMPLATES:
        labels = {k: np.ones(5) for k in PROPS[template]}
        assert ground_truth(template, labels)  # every template has events on all-true labels


# ----------------------------------------------------------------- hard rendered scenarios


def test_hard_scenarios_render_with_the_scripts_exact_labels():
    from framelogic.perception.render import HARD_SCENARIOS, PROPOSITIONS, SCENARIOS, render_scenario

    assert not set(HARD_SCENARIOS) & set(SCENARIOS)  # new names; the original scenarios are untouched
    for name, sc in HARD_SCENARIOS.items():
        frames, labels = render_scenario(name, fps=1, size=(64, 36))
        assert frames.shape == (8, 36, 64, 3)
        for i, t in enumerate(labels.times):
            want = sc.at(float(t)).labels()
            assert [labels.column(k)[i] for k in PROPOSITIONS] == [float(want[k]) for k in PROPOSITIONS]


def test_hard_conditions_change_the_picture_not_the_labels():
    from framelogic.perception.render import Scene, render

    base = Scene(light="red", pedestrian=0.5, car_ahead=0.3)
    plain = render(base, seed=3)
    for change in ({"distance": 0.5}, {"occlusion": 0.4, "occlusion_phase": 0.3}, {"blur": 15.0}, {"grain": 10.0}):
        hard = Scene(**{**base.__dict__, **change})
        assert hard.labels() == base.labels()
        img = render(hard, seed=3)
        assert img.shape == plain.shape and np.abs(img.astype(int) - plain).mean() > 1, change
        assert np.array_equal(img, render(hard, seed=3))  # deterministic
    with pytest.raises(InvalidValue, match="distance"):
        render(Scene(distance=1.0))
    with pytest.raises(InvalidValue, match="blur"):
        render(Scene(blur=-1.0))


def test_viterbi_decision_is_the_exact_rule_on_the_decoded_world():
    from framelogic.automata import localize
    from framelogic.automata.world import Markov, viterbi

    from benchmarks.accuracy.methods import framelogic_world

    rng = np.random.default_rng(11)
    w = Markov(stay=0.9)
    for template in TEMPLATES:
        probs = {k: rng.random(40) for k in PROPS[template]}
        decoded = viterbi(probs, list(probs), w)
        want = [list(range(e.start, e.end + 1)) for e in localize(TEMPLATES[template], decoded, mode="tlv")]
        assert framelogic_world(w, decision="viterbi")(TEMPLATES[template], probs) == want
        # stay 0.5 at prior 0.5 is the independent world: thresholding P agrees with today's tlv mode
        from benchmarks.accuracy.methods import framelogic_method

        flat = framelogic_world(Markov(stay=0.5), decision="threshold")(TEMPLATES[template], probs)
        assert flat == framelogic_method("tlv")(TEMPLATES[template], probs)
