"""Localization modes: each event satisfies its mode's definition; TLV rules."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from framelogic.automata import evaluate, localize
from framelogic.logic import parse, satisfaction
from framelogic.logic.strategies import formulas, traces


ATOMS = ("a", "b")


@given(formulas(ATOMS, max_depth=3, max_bound=2), traces(ATOMS, max_len=10, probabilistic=True), st.sampled_from([0.3, 0.5, 0.9]))
def test_runs_are_maximal_runs_of_the_signal(f, t, thr):
    sig = evaluate(f, t)
    events = localize(f, t, threshold=thr)
    covered = np.zeros(len(t), dtype=bool)
    for e in events:
        assert np.all(sig[e.start : e.end + 1] >= thr)
        assert e.start == 0 or sig[e.start - 1] < thr
        assert e.end == len(t) - 1 or sig[e.end + 1] < thr
        assert e.probability == sig[e.start : e.end + 1].max()
        covered[e.start : e.end + 1] = True
    assert np.array_equal(covered, sig >= thr)


def holds_on(f, t, s, e):
    return bool(satisfaction(f, t.slice(s, e + 1))[0])


@given(formulas(ATOMS, max_depth=3, max_bound=2), traces(ATOMS, max_len=9), st.booleans())
def test_segments_satisfy_their_definition(f, t, longest):
    events = localize(f, t, mode="longest" if longest else "shortest")
    s = 0
    for ev in events:
        assert ev.start >= s
        # leftmost: no start in the gap has any matching segment
        for g in range(s, ev.start):
            assert not any(holds_on(f, t, g, e) for e in range(g, len(t)))
        assert holds_on(f, t, ev.start, ev.end)
        others = range(ev.start, ev.end) if not longest else range(ev.end + 1, len(t))
        assert not any(holds_on(f, t, ev.start, e) for e in others)
        s = ev.end + 1
    for g in range(s, len(t)):
        assert not any(holds_on(f, t, g, e) for e in range(g, len(t)))


def test_segment_probability_is_exact():
    t = {"a": [0.5, 0.5], "b": [0.0, 0.0]}
    # P(w[0..1] |= G a) = 0.25 < 0.3; the single frames reach 0.5
    ev = localize("G a", t, mode="longest", threshold=0.3)
    assert [(e.start, e.end, e.probability) for e in ev] == [(0, 0, 0.5), (1, 1, 0.5)]
    ev = localize("G a", t, mode="longest", threshold=0.2)
    assert [(e.start, e.end, e.probability) for e in ev] == [(0, 1, 0.25)]


# ------------------------------------------------------------------ TLV rules
def merge(spans):
    out = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def runs_of(mask):
    return merge([(i, i) for i in np.flatnonzero(mask)])


def until_rule(p, q):
    """TLV: an event goes from the first p of the run before a q frame to that q frame."""
    spans = []
    for j in np.flatnonzero(q):
        s = j
        while s > 0 and p[s - 1]:
            s -= 1
        spans.append((s, j))
    return merge(spans)


bits = st.lists(st.booleans(), min_size=1, max_size=30)


@given(st.data())
def test_tlv_mode_reproduces_the_five_templates(data):
    n = data.draw(st.integers(1, 30))
    col = lambda: np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)  # noqa: E731
    p, q, r = col(), col(), col()
    t = {"p": p.astype(float), "q": q.astype(float), "r": r.astype(float)}
    frames = lambda mask: [(int(i), int(i)) for i in np.flatnonzero(mask)]  # noqa: E731
    cases = {
        'F "p"': frames(p),
        'G "p"': runs_of(p),
        ' "p" & "q"': frames(p & q),
        '"p" U "q"': until_rule(p, q),
        '("p" & "q") U "r"': until_rule(p & q, r),
    }
    for text, expected in cases.items():
        got = [(e.start, e.end) for e in localize(f"P>=0.80 [ {text} ]", t, mode="tlv")]
        assert got == expected, text


def test_threshold_from_the_pctl_wrapper():
    t = {"a": [0.9, 0.7, 0.3, 0.85], "b": [0.0, 0.0, 0.0, 0.0]}
    spans = lambda evs: [(e.start, e.end) for e in evs]  # noqa: E731
    assert spans(localize("P>=0.8 [ a ]", t)) == [(0, 0), (3, 3)]
    assert spans(localize("P>0.85 [ a ]", t)) == [(0, 0)]
    assert spans(localize("P>=0.8 [ a ]", t, threshold=0.6)) == [(0, 1), (3, 3)]  # the argument wins
    assert spans(localize("a", t)) == [(0, 1), (3, 3)]  # default 0.5
    # P<=0.3 [ a ]: frames where P(a) <= 0.3, reported with P(!a)
    (e,) = localize("P<=0.3 [ a ]", t)
    assert (e.start, e.end) == (2, 2) and abs(e.probability - 0.7) < 1e-12
    # P=? [ a ]: no threshold, every frame with positive probability
    assert spans(localize("P=? [ a ]", t)) == [(0, 3)]
    assert localize("P=? [ b ]", t) == []
    assert spans(localize("P>=0.8 [ F a ]", t, mode="tlv")) == [(0, 0), (3, 3)]


def test_tlv_documented_examples():
    spans = lambda f, t: [(e.start, e.end) for e in localize(f, t, mode="tlv")]  # noqa: E731
    p = {"p": [0, 1, 1, 0, 1]}
    assert spans("F p", p) == [(1, 1), (2, 2), (4, 4)]
    assert spans("G p", p) == [(1, 2), (4, 4)]
    assert spans("p U q", {"p": [1, 1, 0, 0, 1, 0], "q": [0, 0, 1, 0, 0, 1]}) == [(0, 2), (4, 5)]


def test_readme_examples_and_seconds():
    t = {"time": [0.0, 0.5, 1.0, 1.5, 2.0], "ped": [0, 1, 1, 0, 0], "stopped": [0, 0, 0, 1, 0]}
    (e,) = localize("ped U stopped", t)
    assert (e.start, e.end, e.start_time, e.end_time) == (1, 3, 0.5, 1.5)
    assert [(x.start, x.end) for x in localize("F stopped", {"stopped": [0, 0, 1, 1]}, mode="shortest")] == [(0, 2), (3, 3)]
    assert [(x.start, x.end) for x in localize("G ped", {"ped": [0, 1, 1, 0]}, mode="longest")] == [(1, 2)]
    assert localize("a", {"a": [0.2, 0.4]}, threshold=None)[0].probability == 0.4


@given(
    formulas(ATOMS, max_depth=3, max_bound=2),
    traces(ATOMS, max_len=8, probabilistic=True),
    st.booleans(),
    st.sampled_from([0.2, 0.5, 0.8]),
)
def test_probabilistic_segments_satisfy_their_definition(f, t, longest, thr):
    # P(w[s..e] |= f) from the exact engine on the slice (itself checked against
    # enumeration of all worlds in test_evaluate); 1e-9 absorbs summation order
    prob = lambda s, e: evaluate(f, t.slice(s, e + 1))[0]  # noqa: E731
    events = localize(f, t, mode="longest" if longest else "shortest", threshold=thr)
    s = 0
    for ev in events:
        for g in range(s, ev.start):
            assert all(prob(g, e) < thr + 1e-9 for e in range(g, len(t)))
        assert abs(ev.probability - prob(ev.start, ev.end)) < 1e-9 and ev.probability >= thr
        others = range(ev.start, ev.end) if not longest else range(ev.end + 1, len(t))
        assert all(prob(ev.start, e) < thr + 1e-9 for e in others)
        s = ev.end + 1
    for g in range(s, len(t)):
        assert all(prob(g, e) < thr + 1e-9 for e in range(g, len(t)))
