"""`.tl` query files: declarations, imports, settings and the errors users see."""

import pytest

from framelogic.logic import ast as A
from framelogic.logic import parse
from framelogic.logic.errors import FormulaSyntaxError, InputError
from framelogic.queries.queryfile import load_query_file, parse_query_text


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_full_file_with_imports(tmp_path):
    write(tmp_path, "common.tl", """
        # traffic lights
        prop red = "a red traffic light", "a traffic light showing red" vs "a green traffic light"
        prop green = "a green traffic light"
        prop yellow = 'a yellow traffic light'
        mutex(red, yellow, green)
    """)
    p = write(tmp_path, "q.tl", """
        import "common.tl"
        set fps = 5
        set model = "framelogic-tiny"
        set table = "probs.csv"
        prop ped = "a pedestrian crossing the street" vs "an empty crosswalk" threshold 0.6
        prop stopped = column "ego_stopped"
        prop car = "a car" templates "a photo of {}", "a dashcam view of {}" calibration "cal/car.json"
        assume G !(ped & green & !stopped)
        query yields: G (ped ->
                         F[0,3s] stopped)
        query nsvs: P>=0.7 [ "a car" U "a person" ] mode shortest
        query red_run: F (red & !stopped & car) threshold 0.8
    """)
    q = load_query_file(p)
    assert [x.name for x in q.queries] == ["yields", "nsvs", "red_run"]
    assert q.query("yields").formula == parse("G (ped -> F[0,3s] stopped)")
    nsvs = q.query("nsvs")
    assert nsvs.mode == "shortest" and nsvs.spec.threshold == 0.7
    assert q.query("red_run").threshold == 0.8
    red = q.props["red"]
    assert red.prompts == ("a red traffic light", "a traffic light showing red")
    assert red.contrast == ("a green traffic light",)
    assert q.props["stopped"].column == "ego_stopped"
    assert q.props["ped"].threshold == 0.6
    assert q.props["car"].templates == ("a photo of {}", "a dashcam view of {}")
    assert q.props["car"].calibration == str(tmp_path / "cal/car.json")
    assert q.props["a car"].inline and q.props["a car"].prompts == ("a car",)
    assert q.settings == {"fps": 5.0, "model": "framelogic-tiny", "table": str(tmp_path / "probs.csv")}
    mutex = parse("G (!(red & yellow) & !(red & green) & !(yellow & green))")
    assert mutex in q.assumptions and parse("G !(ped & green & !stopped)") in q.assumptions
    assert [p.name for p in q.props_of(q.query("yields"))][:2] == ["ped", "stopped"]


def test_statements_may_come_in_any_order_and_formulas_span_lines():
    q = parse_query_text("query late: a\n  U\n  b\nprop a = \"x\"\nprop b = \"y\"")
    assert q.queries[0].formula == A.U(A.atom("a"), A.atom("b"))


def err(tmp_path, text, name="bad.tl"):
    p = write(tmp_path, name, text)
    with pytest.raises((FormulaSyntaxError, InputError)) as info:
        load_query_file(p)
    return str(info.value)


def test_undefined_proposition_suggests_close_names(tmp_path):
    msg = err(tmp_path, 'prop ped = "x"\nprop stopped = "y"\nquery a: G (pedd -> F stoped)\n')
    assert "bad.tl:3:13: undefined proposition 'pedd'; did you mean 'ped'?" in msg
    assert "query a: G (pedd -> F stoped)\n                ^" in msg


def test_malformed_files_show_file_line_column_and_caret(tmp_path):
    msg = err(tmp_path, 'prop ped = "x"\nquery a: G (ped -> F\nprop q = "y"\n')
    assert "bad.tl:3:1: unexpected 'prop'" in msg and "statement before" in msg
    msg = err(tmp_path, 'prop a = "x"\nquery q: F[5,2] a\n')
    assert "bad.tl:2:11: bound [5,2] is reversed" in msg
    msg = err(tmp_path, 'prop a = "x" threshold 1.5\n')
    assert "bad.tl:1:24: threshold 1.5 is not a probability" in msg
    msg = err(tmp_path, 'set fsp = 3\n')
    assert "unknown setting 'fsp'; did you mean 'fps'?" in msg
    msg = err(tmp_path, 'set fps = "fast"\n')
    assert "set fps needs a number" in msg
    msg = err(tmp_path, 'prop a = "x"\nquery q: a\nquery q: !a\n')
    assert "query 'q' is defined twice" in msg and "first at" in msg
    msg = err(tmp_path, 'prop a = "x"\nprop a = "y"\n')
    assert "proposition 'a' is declared twice" in msg
    msg = err(tmp_path, 'prop a = "x"\nquery q: P>=0.5 [ a ] threshold 0.7\n')
    assert "keep one of them" in msg
    msg = err(tmp_path, "mutex(a, b)\n")
    assert "undefined proposition 'a'" in msg
    msg = err(tmp_path, 'prop a = "x" templates "a photo"\n')
    assert "has no '{}'" in msg


def test_imports_missing_and_cyclic(tmp_path):
    msg = err(tmp_path, 'import "nope.tl"\n')
    assert "bad.tl:1:8" in msg and "no such query file" in msg
    write(tmp_path, "x.tl", 'import "y.tl"\n')
    write(tmp_path, "y.tl", 'import "x.tl"\n')
    with pytest.raises(InputError, match="import cycle x.tl -> y.tl -> x.tl"):
        load_query_file(tmp_path / "x.tl")
    with pytest.raises(InputError, match="no such query file"):
        load_query_file(tmp_path / "missing.tl")


def test_unknown_query_name_suggests(tmp_path):
    q = parse_query_text('prop a = "x"\nquery stop_sign: a\n')
    with pytest.raises(InputError, match="did you mean 'stop_sign'"):
        q.query("stop_sgn")


def test_query_files_parse_concurrently_without_shared_state():
    # Each parse has its own builder: threads never see each other's names or errors.
    from concurrent.futures import ThreadPoolExecutor

    def load(i):
        if i % 3 == 0:
            try:
                parse_query_text(f"query q{i}: a U", source=f"bad{i}.tl")
            except FormulaSyntaxError as e:
                return str(e)
            return "no error"
        qf = parse_query_text(f'prop p{i} = "thing {i}"\nquery q{i}: F p{i}', source=f"ok{i}.tl")
        return sorted(qf.props), [q.name for q in qf.queries]

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(load, range(60)))
    for i, r in enumerate(results):
        if i % 3 == 0:
            assert f"bad{i}.tl:1:" in r
        else:
            assert r == ([f"p{i}"], [f"q{i}"])
