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
