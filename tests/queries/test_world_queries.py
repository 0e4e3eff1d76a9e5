"""World models in query files, search options and the CLI: ``persist`` and
``set world`` parse (or fail with file:line:col), resolve into one world in
:func:`resolve_options`, and change what a search finds exactly where they should."""

import pytest

from framelogic.logic.errors import FormulaSyntaxError
from framelogic.queries.queryfile import parse_query_text


def parse_error(text):
    with pytest.raises(FormulaSyntaxError) as info:
        parse_query_text(text, source="w.tl")
    return str(info.value)


# ---------------------------------------------------------------- .tl syntax


def test_persist_per_proposition_and_world_settings_parse():
    qf = parse_query_text(
        'prop red = "a red traffic light" persist 2s\n'
        'prop green = "a green light" persist 500ms threshold 0.4\n'
        'prop ped = "a pedestrian" threshold 0.6 persist 1.5min\n'
        "prop car = \"a car\"\n"
        "mutex(red, green)\n"
        "set world = markov\nset persist = 1s\nset decide = viterbi\n"
        "query q: G (red -> F green) & F (ped | car)\n"
    )
    assert [qf.props[n].persist for n in ("red", "green", "ped", "car")] == [2.0, 0.5, 90.0, None]
    assert qf.props["green"].threshold == 0.4
    assert qf.settings == {"world": "markov", "persist": 1.0, "decide": "viterbi"}
    assert qf.mutexes == (("red", "green"),)


def test_a_fitted_world_path_resolves_against_the_file(tmp_path):
    (tmp_path / "q.tl").write_text('set world = "fit/world.json"\nprop a = "x"\nquery q: F a\n')
    from framelogic.queries.queryfile import load_query_file

    assert load_query_file(tmp_path / "q.tl").settings["world"] == str(tmp_path / "fit/world.json")


def test_imports_bring_their_mutex_groups(tmp_path):
    from framelogic.queries.queryfile import load_query_file

    (tmp_path / "lights.tl").write_text('prop red = "r"\nprop green = "g" persist 3s\nmutex(red, green)\n')
    (tmp_path / "q.tl").write_text('import "lights.tl"\nquery q: red U green\n')
    qf = load_query_file(tmp_path / "q.tl")
    assert qf.mutexes == (("red", "green"),) and qf.props["green"].persist == 3.0


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ('prop a = "x" persist 2\n', "w.tl:1:22", "persist 2 has no unit"),
        ('prop a = "x" persist 0s\n', "w.tl:1:22", "persist 0s is not a duration > 0"),
        ('prop a = "x"\nset persist = 3\n', "w.tl:2:5", "set persist = 3 has no unit"),
        ('set persist = "soon"\n', "w.tl:1:5", "is not a duration"),
        ('set world = markv\n', "w.tl:1:5", "unknown world; did you mean 'markov'?"),
        ('set world = "probs.csv"\n', "w.tl:1:5", "unknown world"),
        ('set decide = vitterbi\n', "w.tl:1:5", "did you mean 'viterbi'?"),
    ],
)
def test_world_errors_name_file_line_and_column(text, where, says):
    msg = parse_error(text)
    assert msg.startswith(f"{where}: ") and says in msg, msg
    assert "^" in msg  # the caret under the column


# ---------------------------------------------------------------- one world, resolved once

import json

import numpy as np

from framelogic.automata.localize import localize
from framelogic.automata.world import Independent, Markov, fit_world
from framelogic.logic.errors import InputError, InvalidValue
from framelogic.logic.trace import TraceTable
from framelogic.queries.search import DEFAULT_WORLD, Query, resolve_options, search


def world_of(text, **given):
    return Query.from_text(text).options(**given).world


def test_the_world_comes_from_arguments_then_the_file_then_declared_persistence():
    plain = 'prop a = "x"\nprop b = "y"\nquery q: a U b\n'
    assert DEFAULT_WORLD == "independent" and world_of(plain) == Independent()
    assert world_of(plain, world="markov") == Markov()
    assert world_of(plain, persist=1.5) == Markov(persist=1.5)  # persistence implies the Markov world
    assert world_of(plain + "set world = markov\n") == Markov()
    assert world_of(plain + "set world = markov\n", world="independent") == Independent()
    assert world_of(plain + "set persist = 1s\n") == Markov(persist=1.0)  # declared persistence: Markov
    assert world_of(plain + "set persist = 1s\nset world = independent\n") == Independent()
    with pytest.raises(InvalidValue, match="persistence needs the Markov world"):
        world_of(plain, world="independent", persist=1.0)
    with pytest.raises(InvalidValue, match="'independent', 'markov' or the path"):
        world_of(plain, world="persistent")


def test_persistence_per_proposition_strongest_first():
    text = 'prop a = "x" persist 2s\nprop b = "y"\nprop c = "z" persist 3s\nset persist = 1s\nquery q: a U (b & c)\n'
    w = world_of(text)
    assert [w.stay_for(n, 10.0) for n in "abc"] == pytest.approx([1 - 1 / 20, 1 - 1 / 10, 1 - 1 / 30])
    # the argument replaces every proposition's persistence
    assert [world_of(text, persist=4.0).stay_for(n, 10.0) for n in "abc"] == pytest.approx([1 - 1 / 40] * 3)
    # a proposition without its own persistence keeps the default stay when the file sets none
    w = world_of('prop a = "x"\nprop b = "y" persist 3s\nquery q: a U b\n', world="markov")
    assert w.stay_for("a", 10.0) == 0.95 and w.stay_for("b", 10.0) == pytest.approx(1 - 1 / 30)


def test_mutex_groups_of_the_file_constrain_the_markov_world():
    w = world_of('prop red = "r"\nprop green = "g"\nmutex(red, green)\nquery q: red U green\n', world="markov")
    assert w.mutex == (frozenset({"red", "green"}),)


def test_a_world_object_is_used_as_it_is(tmp_path):
    given = Markov(stay={"a": 0.9}, prior={"a": 0.2})
    assert world_of('prop a = "x" persist 5s\nquery q: F a\n', world=given) is given
    w = world_of('prop a = "x"\nquery q: F a\n', world=given, persist=2.0)
    assert w.stay_for("a", 10.0) == pytest.approx(0.95) and w.prior_for("a") == 0.2


def fitted_world(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 0, 1, 0], 40)
    scores = np.clip(np.where(y, 0.7, 0.3) + rng.normal(0, 0.1, len(y)), 0.01, 0.99)
    return fit_world({"a": scores}, {"a": y}, fps=10)


def test_a_fitted_world_json_from_set_world_or_the_argument(tmp_path):
    w = fitted_world(tmp_path)
    (tmp_path / "fit.json").write_text(json.dumps(w.to_dict()))
    (tmp_path / "q.tl").write_text('set world = "fit.json"\nprop a = "x"\nprop b = "y" persist 1s\nquery q: a U b\n')
    got = Query.from_file(tmp_path / "q.tl").options().world
    assert got.stay_for("a", 10.0) == pytest.approx(w.stay_for("a", 10.0))
    assert got.prior_for("a") == pytest.approx(w.prior_for("a")) and got.calibration["a"] == w.calibration["a"]
    assert got.stay_for("b", 10.0) == pytest.approx(0.9)  # its own persist, not the fitted world's default
    via_argument = Query.from_text('prop a = "x"\nquery q: F a\n').options(world=str(tmp_path / "fit.json")).world
    assert via_argument.calibration["a"] == w.calibration["a"]
    with pytest.raises(InputError, match="no such world file"):
        Query.from_text('prop a = "x"\nquery q: F a\n').options(world=str(tmp_path / "nope.json"))
    (tmp_path / "bad.json").write_text('{"kind": "markov", "stay": 2}')
    with pytest.raises(InputError, match="bad.json"):
        Query.from_text('prop a = "x"\nquery q: F a\n').options(world=str(tmp_path / "bad.json"))


def test_a_calibration_json_may_carry_the_propositions_fitted_world(tmp_path):
    w = fitted_world(tmp_path)
    (tmp_path / "a.json").write_text(json.dumps({"kind": "identity", "a": 1.0, "b": 0.0, "world": w.to_dict()}))
    (tmp_path / "q.tl").write_text('prop a = "x" calibration "a.json"\nprop b = "y"\nquery q: a U b\n')
    got = Query.from_file(tmp_path / "q.tl").options().world  # the fitted world makes it Markov
    assert isinstance(got, Markov)
    assert got.stay_for("a", 10.0) == pytest.approx(w.stay_for("a", 10.0)) and got.prior_for("a") == pytest.approx(w.prior_for("a"))
    assert got.stay_for("b", 10.0) == 0.95 and got.prior_for("b") == 0.5
    assert Query.from_file(tmp_path / "q.tl").options(world="independent").world == Independent()


def test_options_given_with_resolved_options_are_resolved_again():
    q = Query.from_text('prop a = "x" persist 2s\nquery q: F a\n')
    opts = resolve_options(world="independent", decide="viterbi")
    assert q.options(opts) is opts
    again = q.options(opts, world="markov")
    assert isinstance(again.world, Markov) and again.world.stay_for("a", 10.0) == pytest.approx(0.95)
    assert again.decide == "viterbi"
    with pytest.raises(InvalidValue, match="decide="):
        q.options(opts, decide="majority")


# ---------------------------------------------------------------- search under each world


def noisy_persistent_table(seed=1, n=200):
    """One proposition true in runs of 40 frames, scored with heavy per-frame noise."""
    rng = np.random.default_rng(seed)
    truth = (np.arange(n) // 40) % 2
    p = np.clip(np.where(truth, 0.7, 0.3) + rng.normal(0, 0.25, n), 0.01, 0.99)
    return TraceTable(("a",), p[:, None], None, 10.0), truth


def test_the_markov_world_finds_the_persistent_runs_that_noise_breaks_up():
    table, truth = noisy_persistent_table()
    indep = search('"a" & X "a"', table, world="independent")
    markov = search('"a" & X "a"', table, world="markov", persist=4.0)
    assert len(indep) > 10  # fragments: the noise crosses 0.5 again and again
    assert np.allclose([(m.start, m.end) for m in markov], [(40, 79), (120, 159)], atol=3)
    starts = np.flatnonzero(np.diff(np.r_[0, truth]) == 1)
    assert len(markov) == len(starts)


def test_no_persistence_and_flat_priors_search_like_the_independent_world():
    table, _ = noisy_persistent_table(seed=2)
    for formula in ('"a" U X "a"', 'G[0,1s] "a"', '"a" & X "a"'):
        indep = search(formula, table, world="independent")
        flat = search(formula, table, world=Markov(stay=0.5, prior=0.5))
        assert [(m.start, m.end) for m in flat] == [(m.start, m.end) for m in indep]
        assert [m.probability for m in flat] == pytest.approx([m.probability for m in indep], abs=1e-9)


def test_decide_viterbi_reaches_localize():
    table, _ = noisy_persistent_table(seed=3)
    world = Markov(persist=3.0)
    got = search('G[0,1s] "a"', table, world=world, decide="viterbi")
    want = localize('G[0,1s] "a"', table, world=world, decide="viterbi")
    assert [(m.start, m.end, m.probability) for m in got] == [(e.start, e.end, e.probability) for e in want]
    assert got != search('G[0,1s] "a"', table, world=world)


def test_query_files_choose_the_world_for_their_searches(tmp_path):
    table, _ = noisy_persistent_table()
    text = 'prop a = column "a"{}\nquery q: a & X a\n'
    plain = Query.from_text(text.format("")).search(table)
    persistent = Query.from_text(text.format(" persist 4s")).search(table)
    assert len(plain) > 10 and len(persistent) == 2
    assert len(Query.from_text(text.format(" persist 4s")).search(table, world="independent")) == len(plain)


# ---------------------------------------------------------------- the command line


def run(capsys, *argv):
    from framelogic.queries.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def noisy_csv(tmp_path):
    table, _ = noisy_persistent_table()
    path = tmp_path / "probs.csv"
    rows = "\n".join(f"{i / 10:.1f},{v:.4f}" for i, v in enumerate(table.column("a")))
    path.write_text("time,a\n" + rows + "\n")
    return str(path)


def test_cli_search_world_persist_and_decide(capsys, noisy_csv):
    code, indep, _ = run(capsys, "search", '"a" & X "a"', noisy_csv, "--format", "jsonl", "-q")
    assert code == 0 and len(indep.splitlines()) > 10
    code, markov, _ = run(capsys, "search", '"a" & X "a"', noisy_csv, "--world", "markov", "--persist", "4s", "--format", "jsonl", "-q")
    spans = [(r["start"], r["end"]) for r in map(json.loads, markov.splitlines())]
    assert code == 0 and np.allclose(spans, [(40, 79), (120, 159)], atol=3)
    code, implied, _ = run(capsys, "search", '"a" & X "a"', noisy_csv, "--persist", "4s", "--format", "jsonl", "-q")
    assert implied == markov
    code, viterbi, _ = run(capsys, "search", '"a" & X "a"', noisy_csv, "--persist", "4s", "--decide", "viterbi", "--format", "jsonl", "-q")
    assert code == 0 and len(viterbi.splitlines()) == 2


def test_cli_world_errors(capsys, noisy_csv):
    with pytest.raises(SystemExit) as info:
        run(capsys, "search", '"a"', noisy_csv, "--persist", "2")
    assert info.value.code == 2 and "'2' has no unit" in capsys.readouterr().err
    code, _, err = run(capsys, "search", '"a"', noisy_csv, "--world", "sticky")
    assert code == 2 and "'independent', 'markov' or the path" in err
    code, _, err = run(capsys, "search", '"a"', noisy_csv, "--world", "independent", "--persist", "1s")
    assert code == 2 and "persistence needs the Markov world" in err


def test_cli_check_shows_the_world_in_the_plan_line(capsys, tmp_path):
    code, out, _ = run(capsys, "check", "a U b")
    assert code == 0 and "plan:" in out and "world independent" in out.split("plan:")[1].splitlines()[0]
    code, out, _ = run(capsys, "check", "a U b", "--persist", "2s")
    assert "world markov (persist 2s; prior 0.5)" in out.split("plan:")[1].splitlines()[0]
    (tmp_path / "q.tl").write_text('prop red = "r" persist 2s\nprop green = "g"\nmutex(red, green)\nset world = markov\nquery q: red U green\n')
    code, out, _ = run(capsys, "check", str(tmp_path / "q.tl"))
    plan = [line for line in out.splitlines() if "plan:" in line][0]
    assert "world markov (persist red 2s, green stay 0.95; prior 0.5; mutex green|red)" in plan, plan
    assert '"r" persist 2s' in out
    code, out, _ = run(capsys, "check", str(tmp_path / "q.tl"), "--format", "json")
    assert json.loads(out)["world"]["mutex"] == [["green", "red"]]


def test_cli_monitor_follows_the_world_and_confidence(capsys, tmp_path, monkeypatch):
    """The issue's example on the command line: a 5% background pedestrian score
    and no stopping. Independent: a final `violated` within a minute (exit 1);
    Markov with persistence at δ = 0.01: never (exit 0)."""
    import io

    (tmp_path / "q.tl").write_text('prop ped = "a pedestrian"\nprop stopped = "a stopped car"\nquery yields: G (ped -> F[0,2s] stopped)\n')
    csv = "ped,stopped\n" + "0.05,0.01\n" * 1800

    def monitor(*extra):
        monkeypatch.setattr("sys.stdin", io.StringIO(csv))
        return run(capsys, "monitor", str(tmp_path / "q.tl"), "-", "--fps", "30", "--format", "jsonl", "-q", *extra)

    code, out, _ = monitor()
    assert code == 1 and json.loads(out.splitlines()[-1])["verdict"] == "violated"
    code, out, _ = monitor("--world", "markov", "--persist", "2s", "--confidence", "0.01")
    assert code == 0 and "violated" not in {json.loads(line)["verdict"] for line in out.splitlines()}
    with pytest.raises(SystemExit) as info:
        monitor("--confidence", "0")
    assert info.value.code == 2
