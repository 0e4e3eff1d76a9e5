"""The ``framelogic`` command line.

Exit codes: 0 success; 1 when ``--fail-on-*`` conditions hold; 2 usage or input
error (the message says which file, line and column, and what to do); 3 an
internal error (a bug: the message names the exception; please report it).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from framelogic.logic import analysis as bounded_analysis
from framelogic.logic.errors import FramelogicError, InputError, check_fps
from framelogic.logic.grammar import Spec, parse_spec
from framelogic.logic.passes import atom_names, atoms, depth, has_time_bounds, nnf, resolve_time, size
from framelogic.logic.printer import to_text
from framelogic.logic.trace import TraceTable, as_trace, atomic_write_text, check_output_path, check_header

EXIT_OK, EXIT_FOUND, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("framelogic")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


def _read_formula(arg: str) -> tuple[str, str | None]:
    """The formula text of ``arg``: a file's content if ``arg`` names a file, else ``arg``."""
    p = Path(arg)
    looks_like_path = arg.endswith((".tl", ".ltl", ".txt")) or ("/" in arg and "\"" not in arg)
    if looks_like_path or (len(arg) < 4096 and p.is_file()):
        if not p.is_file():
            raise InputError(f"{arg!r}: no such file; give a formula in quotes or the path of a formula file")
        try:
            return p.read_text(encoding="utf-8"), str(p)
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"{arg!r}: cannot read: {e}") from None
    return arg, None


def _fmt_trace(t: TraceTable, indent: int = 4) -> str:
    """A witness trace, one line per run of equal frames: ``frames 0-29: !a``."""
    lines = []
    i = 0
    while i < len(t):
        j = i
        while j + 1 < len(t) and np.array_equal(t.values[j + 1], t.values[i]):
            j += 1
        cells = [n if t.values[i, c] else f"!{n}" for c, n in enumerate(t.names)]
        where = f"frame {i}" if i == j else f"frames {i}-{j}"
        lines.append(" " * indent + f"{where}: " + " ".join(_label(x) for x in cells))
        i = j + 1
    return "\n".join(lines)


def _label(name: str) -> str:
    from framelogic.logic.grammar import is_identifier
    from framelogic.logic.printer import quote

    neg = name.startswith("!")
    bare = name[1:] if neg else name
    text = bare if is_identifier(bare) else quote(bare)
    return ("!" if neg else "") + text


def cmd_check(args: argparse.Namespace) -> int:
    if args.formula.endswith(".tl"):
        return _check_query_file(args)
    text, source = _read_formula(args.formula)
    spec = parse_spec(text, source=source)
    f = spec.formula
    assume = [parse_spec(a, source="--assume").formula for a in args.assume]
    out = sys.stdout
    print(f"parse:      ok", file=out)
    print(f"formula:    {spec}", file=out)
    print(f"words:      {to_text(f, 'words')}", file=out)
    print(f"nnf:        {to_text(nnf(f))}", file=out)
    props = atoms(f)
    print(f"atoms:      {', '.join(_label(a.name) for a in props) or '(none)'}", file=out)
    print(f"size:       {size(f)} nodes, depth {depth(f)}", file=out)
    if spec.query:
        print("threshold:  none (P=? returns probabilities)", file=out)
    elif spec.comparison:
        print(f"threshold:  P {spec.comparison} {spec.threshold:g}", file=out)
    if has_time_bounds(f):
        if args.fps is None:
            print("time bounds: present; pass --fps to analyse them in frames", file=out)
            return EXIT_OK
        f = resolve_time(f, args.fps)
        assume = [resolve_time(a, args.fps) for a in assume]
        print(f"at {args.fps:g} fps: {to_text(f)}", file=out)
    an = _analysis(args)
    print(f"plan:       {_plan(f)}", file=out)
    print(f"automaton:  {_dfa_size(f)}", file=out)
    witness = an.satisfiable(f, assume=assume)
    if witness is None:
        print(f"satisfiable: NO — {_scope(args, 'no')} satisfies it (unsatisfiable query)", file=out)
    else:
        print(f"satisfiable: yes, e.g. ({_frames(len(witness))})\n{_fmt_trace(witness)}", file=out)
        counter = an.valid(f, assume=assume)
        if counter is None:
            print(f"valid:      YES — {_scope(args, 'every')} satisfies it (vacuous query)", file=out)
        else:
            print(f"valid:      no, fails on ({_frames(len(counter))})\n{_fmt_trace(counter)}", file=out)
    return EXIT_OK


def _describe_prop(p) -> str:  # type: ignore[no-untyped-def]
    from framelogic.logic.printer import quote

    if p.column is not None:
        text = f"column {quote(p.column)}"
    else:
        text = ", ".join(quote(x) for x in p.prompts)
        if p.contrast:
            text += " vs " + ", ".join(quote(x) for x in p.contrast)
    if p.threshold is not None:
        text += f" threshold {p.threshold:g}"
    if p.calibration:
        text += f" calibration {quote(p.calibration)}"
    return text + ("   (inline prompt)" if p.inline else "")


def _check_query_file(args: argparse.Namespace) -> int:
    from framelogic.queries.queryfile import load_query_file

    qf = load_query_file(args.formula)
    fps = args.fps if args.fps is not None else qf.settings.get("fps")
    out = sys.stdout
    print(f"file:       {qf.path} (ok)", file=out)
    if qf.settings:
        print("settings:   " + " ".join(f"{k}={v}" for k, v in qf.settings.items()), file=out)
    print(f"propositions ({len(qf.props)}):", file=out)
    width = max((len(_label(n)) for n in qf.props), default=0)
    for name, p in qf.props.items():
        print(f"  {_label(name).ljust(width)}  {_describe_prop(p)}", file=out)
    assume = [resolve_time(a, fps) for a in qf.assumptions]
    if qf.assumptions:
        print(f"assumptions ({len(qf.assumptions)}):", file=out)
        for a in qf.assumptions:
            print(f"  {to_text(a)}", file=out)
    print(f"queries ({len(qf.queries)}):", file=out)
    resolved = {}
    for q in qf.queries:
        extra = []
        if q.spec.comparison:
            extra.append(f"P{q.spec.comparison}{q.spec.threshold:g}")
        if q.spec.query:
            extra.append("P=?")
        if q.threshold is not None:
            extra.append(f"threshold {q.threshold:g}")
        if q.mode:
            extra.append(f"mode {q.mode}")
        print(f"  {q.name}: {to_text(q.formula)}" + (f"   [{', '.join(extra)}]" if extra else ""), file=out)
        if has_time_bounds(q.formula) and fps is None:
            print("      time bounds: give 'set fps' or --fps to analyse", file=out)
            continue
        f = resolve_time(q.formula, fps)
        resolved[q.name] = f
        an = _analysis(args)
        print(f"      plan: {_plan(f)}", file=out)
        print(f"      automaton: {_dfa_size(f)}", file=out)
        witness = an.satisfiable(f, assume=assume)
        if witness is None:
            print(f"      UNSATISFIABLE: {_scope(args, 'no')} matches it", file=out)
        elif an.valid(f, assume=assume) is None:
            print(f"      VACUOUS: {_scope(args, 'every')} matches it", file=out)
        else:
            print(f"      satisfiable, not vacuous; e.g. ({_frames(len(witness))})\n{_fmt_trace(witness, 8)}", file=out)
    names = list(resolved)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if _analysis(args).equivalent(resolved[a], resolved[b], assume=assume) is None:
                print(f"EQUIVALENT: {a} and {b} match the same traces ({_scope(args, 'all')})", file=out)
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    if args.out:
        check_output_path(args.out, [args.table])
    spec = parse_spec(args.formula, source="FORMULA")
    table = as_trace(args.table, fps=args.fps)
    from framelogic.automata import evaluate

    fps = args.fps if args.fps is not None else table.rate
    values = evaluate(spec.formula, table, fps=fps, engine=args.engine)
    rows = [
        {"frame": i, **({"time": table.time_of(i)} if table.time_of(i) is not None else {}), "value": float(v)}
        for i, v in enumerate(values)
    ]
    text = _render_rows(rows, args.format, value_name="holds" if table.is_boolean else "probability")
    if args.out:
        atomic_write_text(args.out, text, inputs=[args.table])
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _render_rows(rows: list[dict], fmt: str, *, value_name: str) -> str:
    def val(v: float) -> str:
        return "1" if v == 1.0 else "0" if v == 0.0 else f"{v:.6g}"

    keys = [k for k in ("frame", "time") if rows and k in rows[0]]
    if fmt == "json":
        return json.dumps([{**{k: r[k] for k in keys}, value_name: r["value"]} for r in rows], indent=1) + "\n"
    if fmt == "csv":
        lines = [",".join(keys + [value_name])]
        lines += [",".join([str(r["frame"])] + ([f"{r['time']:.6g}"] if "time" in keys else []) + [val(r["value"])]) for r in rows]
        return "\n".join(lines) + "\n"
    header = "".join(f"{k:>8}" for k in keys) + f"  {value_name}"
    lines = [header]
    for r in rows:
        cells = f"{r['frame']:>8}" + (f"{r['time']:>8.3f}" if "time" in keys else "")
        lines.append(f"{cells}  {val(r['value'])}")
    return "\n".join(lines) + "\n"


def _load_query(arg: str):  # type: ignore[no-untyped-def]
    from framelogic.queries.search import Query

    if arg.endswith(".tl"):
        return Query.from_file(arg)
    text, source = _read_formula(arg)
    if source is not None:
        return Query.from_text(f"query {Path(source).stem}: {text}", source=source)
    return Query.from_formula(text)


def _sources(paths: Sequence[str]) -> list[str]:
    from framelogic.queries.search import TABLE_SUFFIXES, find_videos

    out: list[str] = []
    for p in paths:
        if Path(p).suffix.lower() in TABLE_SUFFIXES:
            if not Path(p).is_file():
                raise InputError(f"{p!r}: no such file")
            out.append(p)
        else:
            out.extend(str(v) for v in find_videos([p]))
    return out


def _search_options(args: argparse.Namespace) -> dict:
    return {
        "fps": args.fps, "model": args.model, "threshold": args.threshold, "mode": args.mode,
        "table": args.table, "cache_dir": args.cache_dir, "use_cache": not args.no_cache,
        "device": args.device, "progress": not args.quiet and sys.stderr.isatty(),
    }  # fmt: skip


def _inputs(query, sources: Sequence[str], args: argparse.Namespace) -> list[str]:  # type: ignore[no-untyped-def]
    """Every file a command reads, so that no output replaces one of them."""
    table = query.file.settings.get("table")
    sidecars = [Path(s).with_suffix(".csv") for s in sources]  # drive.mp4 -> drive.csv, read for column props
    named = [args.query_file, *query.file.files, args.table, table, *sources, *sidecars]
    return [str(p) for p in named if p]


def cmd_search(args: argparse.Namespace) -> int:
    from framelogic.queries.results import Results, render

    query = _load_query(args.query_file)
    if args.query:
        query.selected(args.query)  # unknown names fail before any video is decoded
    sources = _sources(args.sources)
    inputs = _inputs(query, sources, args)
    if args.out:
        check_output_path(args.out, inputs)  # before any video is decoded
    options = _search_options(args)
    found: list = []
    stream = args.out is None and args.format in ("table", "jsonl", "csv")
    for k, source in enumerate(sources):
        results = query.search(source, query=args.query, **options)
        found.extend(results)
        if stream:
            text = render(results, args.format)
            if args.format == "csv" and k > 0:
                text = text.split("\n", 1)[1]  # one header for the whole stream
            if args.format == "table" and len(sources) > 1:
                text = f"== {source}\n{text}"
            sys.stdout.write(text)
            sys.stdout.flush()
        if not args.quiet:
            print(f"{source}: {len(results)} match(es)", file=sys.stderr)
    all_results = Results(found)
    if args.out:
        all_results.write(args.out, args.format, inputs=inputs)
    elif not stream:
        sys.stdout.write(render(all_results, args.format))
    if args.fail_on_match and len(all_results) > 0:
        return EXIT_FOUND
    if args.fail_on_empty and len(all_results) == 0:
        return EXIT_FOUND
    return EXIT_OK


def cmd_index(args: argparse.Namespace) -> int:
    import time

    from framelogic.perception import embed_video
    from framelogic.queries.search import find_videos

    for video in find_videos(args.sources):
        t = time.perf_counter()
        emb = embed_video(
            str(video), model=args.model or "framelogic-tiny", fps=args.fps, device=args.device,
            cache_dir=args.cache_dir, progress=not args.quiet and sys.stderr.isatty(),
        )  # fmt: skip
        state = "already indexed" if emb.cached else f"indexed in {time.perf_counter() - t:.1f}s"
        print(f"{video}: {len(emb.times)} frames at {emb.rate:g} fps, {state}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from framelogic.perception import thumbnails
    from framelogic.queries.report import VideoSection, render_report

    query = _load_query(args.query_file)
    options = _search_options(args)
    sections = []
    sources = _sources(args.sources)
    inputs = _inputs(query, sources, args)
    check_output_path(Path(args.out) / "index.html", inputs)
    for source in sources:
        probs = query.probabilities(source, query=args.query, **options)
        found = query.search_table(probs, query=args.query, video=source, **options)
        thumbs = {}
        if Path(source).suffix.lower() not in (".csv",):
            rate = probs.rate or 1.0
            wanted = sorted({i for m in found for i in (m.start, m.end)})
            from framelogic.perception.sources import open_source

            src_idx = open_source(source, fps=options["fps"]).indices
            by_src = {int(src_idx[i]): i for i in wanted if i < len(src_idx)}
            got = thumbnails(source, sorted(by_src))
            thumbs = {by_src[j]: b for j, b in got.items()}
            del rate
        names = [q.name for q in query.selected(args.query)]
        sections.append(VideoSection(
            Path(source).name, probs, list(found), [(n, to_text(query.file.query(n).formula)) for n in names],
            thumbs, {}, {n: atom_names(query.file.query(n).formula) for n in names},
        ))  # fmt: skip
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create {str(out)!r}: {e.strerror}") from None
    atomic_write_text(
        out / "index.html", render_report(sections, title=f"framelogic report: {args.query_file}"), inputs=inputs
    )
    print(f"report: {out / 'index.html'}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from framelogic.queries.demo import main_demo

    return main_demo(args.out, args.query_file, args.quick)


def cmd_monitor(args: argparse.Namespace) -> int:
    from framelogic.automata import Monitor

    query = _load_query(args.query_file)
    names = [q.name for q in query.selected(args.query)]
    if len(names) != 1:
        raise InputError(f"monitor follows one query; pick one with --query NAME (queries: {', '.join(names)})")
    decl = query.file.query(names[0])
    fps = args.fps or query.file.settings.get("fps")
    if args.source == "-":
        rows = _stdin_rows()
    else:
        probs = query.probabilities(args.source, query=names, **_search_options(args))
        fps = probs.rate
        rows = ({n: probs.values[i, j] for j, n in enumerate(probs.names)} | {"time": probs.time_of(i)} for i in range(len(probs)))
    monitor = Monitor(decl.formula, fps=fps)
    columns = {p.name: p.column for p in query.file.props_of(decl) if p.column is not None}
    last = None
    status = None
    for row in rows:
        for name, col in columns.items():  # column propositions read their table column
            if name not in row and col in row:
                row[name] = row[col]
        status = monitor.step(row)
        if status.verdict != last:
            when = f" ({row['time']:.2f}s)" if row.get("time") is not None else ""
            print(f"frame {status.frame}{when}: {status.verdict.value} (P={status.probability:.3f})", flush=True)
            last = status.verdict
    if status is None:
        raise InputError("no frames arrived")
    return EXIT_OK


def _stdin_rows():  # type: ignore[no-untyped-def]
    import csv

    stream = sys.stdin
    reader = csv.reader(stream)
    header = None
    for row in reader:
        if not row or not any(c.strip() for c in row):
            continue
        lineno = reader.line_num
        if header is None:
            header = check_header(row, "<stdin>", lineno)  # strips a BOM; refuses repeated names
            continue
        if len(row) != len(header):
            raise InputError(f"<stdin>:{lineno}: row has {len(row)} values, header has {len(header)}")
        values = {}
        for j, (h, v) in enumerate(zip(header, row)):
            try:
                values[h] = float(v)
            except ValueError:
                raise InputError(f"<stdin>:{lineno}:{j + 1}: {v!r} in column {h!r} is not a number") from None
        if "time" not in values:
            values["time"] = None
        yield values


def cmd_explain(args: argparse.Namespace) -> int:
    from framelogic.automata import compile, evaluate

    query = _load_query(args.query_file)
    decl = query.file.query(args.query)
    options = _search_options(args)
    probs = query.probabilities(args.source, query=[decl.name], **options)
    found = query.search_table(probs, query=[decl.name], video=args.source, **options)
    f = resolve_time(decl.formula, probs.rate)
    sig = evaluate(f, probs)
    print(f"query {decl.name}: {to_text(decl.formula)}")
    if not found:
        top = np.argsort(-sig)[:3]
        print("no event: P(query holds) stays below the threshold everywhere; highest at "
              + ", ".join(f"frame {i} ({probs.time_of(int(i)) or 0:.2f}s) P={sig[i]:.3f}" for i in top))  # fmt: skip
        return EXIT_OK
    k = args.event
    if not 0 <= k < len(found):
        raise InputError(f"--event {k}: there are {len(found)} events (0..{len(found) - 1})")
    m = found[k]
    print(f"event {k}: frames {m.start}-{m.end}" + (f" ({m.start_time:.2f}-{m.end_time:.2f}s)" if m.start_time is not None else "")
          + f", P={m.probability:.3f}")  # fmt: skip
    dfa = compile(f)
    names = dfa.atoms
    lo, hi = max(0, m.start - args.context), min(len(probs) - 1, m.end + args.context)
    print(f"automaton: {dfa.n_states} states; its run from the event's first frame {m.start} "
          "(propositions read as true at p >= 0.5); transitions show the guard that fired")  # fmt: skip
    head = "  frame    time  " + "  ".join(f"{n[:12]:>12}" for n in names) + "   P(holds)  state"
    print(head)
    q = dfa.initial
    cols = [probs.column(n) for n in names]
    for i in range(lo, hi + 1):
        letter = sum(1 << j for j, c in enumerate(cols) if c[i] >= 0.5)
        if i < m.start:
            mark = ""
        else:
            nq = int(dfa.delta[q, letter])
            verdict = "accepting" if dfa.accepting[nq] else "rejecting"
            mark = f"{q}->{nq} {verdict}" + (f"  on {to_text(dfa.guard(q, nq))}" if nq != q else "")
            q = nq
        inside = ">" if m.start <= i <= m.end else " "
        t = probs.time_of(i)
        print(f"{inside} {i:5d} {('' if t is None else f'{t:7.2f}')}  " + "  ".join(f"{c[i]:12.3f}" for c in cols)
              + f"   {sig[i]:8.3f}  {mark}")  # fmt: skip
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="framelogic",
        description="Find when things happen in video with temporal-logic queries.",
    )
    p.add_argument("--version", action="version", version=f"framelogic {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser(
        "check",
        help="parse a formula, print its normal forms and whether it is satisfiable or vacuous",
        description="Parse FORMULA (or the file it names), print it normalized and check "
        "satisfiability and validity over traces of up to --max-len frames. "
        "Example: framelogic check 'P>=0.80 [ (\"car\" & \"truck\") U \"bus\" ]'",
    )
    c.add_argument("formula", metavar="FORMULA_OR_FILE")
    c.add_argument(
        "--max-len", type=_positive_int, default=None,
        help="search only traces up to this length with z3 (default: exact, every length, with automata)",
    )
    c.add_argument("--fps", type=_fps, help="sampling rate, to turn time bounds (2s) into frames")
    c.add_argument("--assume", action="append", default=[], metavar="FORMULA", help="domain assumption, e.g. 'G !(red & green)' (repeatable)")
    c.set_defaults(run=cmd_check)

    e = sub.add_parser(
        "eval",
        help="evaluate a formula at every frame of a trace CSV",
        description="Print, for every frame of TABLE.csv, whether FORMULA holds from that frame "
        "(with probabilities in the table: the exact probability that it does). "
        "TABLE.csv has a header of proposition names (and optionally 'time' in seconds) and one "
        "row per frame. Example: framelogic eval 'a U b' trace.csv",
    )
    e.add_argument("formula", metavar="FORMULA")
    e.add_argument("table", metavar="TABLE.csv")
    e.add_argument("--fps", type=_fps, help="sampling rate for time bounds (default: from the time column)")
    e.add_argument("--format", choices=["table", "json", "csv"], default="table")
    e.add_argument("--out", metavar="FILE", help="write the result to FILE (atomically) instead of stdout")
    e.add_argument(
        "--engine", choices=["exact", "reference"], default="exact",
        help="exact: the automaton engine (probabilities allowed); reference: the plain oracle (0/1 only)",
    )
    e.set_defaults(run=cmd_eval)

    s = sub.add_parser(
        "search",
        help="find the events of a query file's queries in videos or probability tables",
        description="Score the frames of every video for the propositions the queries use, run "
        "the queries and print their events. Folders are searched recursively for videos; "
        "CSV tables of per-frame probabilities are used as they are. "
        "Example: framelogic search examples/queries/driving.tl drive.mp4 --format json",
    )
    s.add_argument("query_file", metavar="Q.tl", help="a .tl query file, or a formula")
    s.add_argument("sources", metavar="VIDEO_OR_DIR", nargs="+")
    s.add_argument("--query", action="append", metavar="NAME", help="run only this query (repeatable)")
    s.add_argument("--format", choices=["table", "json", "jsonl", "csv"], default="table")
    s.add_argument("--out", metavar="FILE", help="write all results to FILE (atomically)")
    _add_video_options(s)
    s.add_argument("--threshold", type=_probability, help="probability threshold for every query")
    s.add_argument("--mode", help="match mode for every query")
    s.add_argument("--fail-on-match", action="store_true", help="exit 1 if any event is found")
    s.add_argument("--fail-on-empty", action="store_true", help="exit 1 if no event is found")
    s.set_defaults(run=cmd_search)

    x = sub.add_parser("index", help="precompute and cache the embeddings of videos",
                       description="Embed every video once (resumable: cached videos are skipped), so later "
                       "searches cost a text encoding and a matrix product. Example: framelogic index videos/ --fps 5")  # fmt: skip
    x.add_argument("sources", metavar="VIDEO_OR_DIR", nargs="+")
    _add_video_options(x)
    x.set_defaults(run=cmd_index)

    r = sub.add_parser("report", help="write a static HTML report with timelines and thumbnails",
                       description="Example: framelogic report examples/queries/driving.tl drive.mp4 --out report/")  # fmt: skip
    r.add_argument("query_file", metavar="Q.tl")
    r.add_argument("sources", metavar="VIDEO", nargs="+")
    r.add_argument("--out", metavar="DIR", required=True)
    r.add_argument("--query", action="append", metavar="NAME")
    _add_video_options(r)
    r.add_argument("--threshold", type=_probability)
    r.add_argument("--mode")
    r.set_defaults(run=cmd_report)

    m = sub.add_parser("monitor", help="streaming verdicts frame by frame",
                       description="Follow one query over a video, or over a probability CSV arriving on "
                       "standard input (SOURCE = -), printing the verdict whenever it changes. "
                       "Example: my_detector | framelogic monitor rules.tl - --query no_yield")  # fmt: skip
    m.add_argument("query_file", metavar="Q.tl")
    m.add_argument("source", metavar="SOURCE")
    m.add_argument("--query", action="append", metavar="NAME")
    _add_video_options(m)
    m.set_defaults(run=cmd_monitor, threshold=None, mode=None)

    e2 = sub.add_parser("explain", help="why an event matched (or why none did)",
                        description="Show the automaton path through an event, the frames that decided each "
                        "transition and the propositions' probabilities around it. "
                        "Example: framelogic explain examples/queries/driving.tl drive.mp4 --query ran_red_light")  # fmt: skip
    e2.add_argument("query_file", metavar="Q.tl")
    e2.add_argument("source", metavar="VIDEO")
    e2.add_argument("--query", required=True, metavar="NAME")
    e2.add_argument("--event", type=int, default=0, metavar="K")
    e2.add_argument("--context", type=int, default=3, metavar="FRAMES", help="frames shown around the event")
    _add_video_options(e2)
    e2.set_defaults(run=cmd_explain, threshold=None, mode=None)

    d = sub.add_parser("demo", help="render scenario videos, run the example queries, compare with the truth",
                       description="Fully offline: renders driving scenarios, searches them with the example "
                       "queries and the bundled model, prints events next to the ground truth and writes "
                       "an HTML report. Example: framelogic demo --out demo/")  # fmt: skip
    d.add_argument("--out", default="framelogic-demo", metavar="DIR")
    d.add_argument("--query-file", metavar="Q.tl", help="default: examples/queries/driving.tl")
    d.add_argument("--quick", action="store_true", help="three scenarios instead of six")
    d.set_defaults(run=cmd_demo)
    return p


def _add_video_options(s: argparse.ArgumentParser) -> None:
    s.add_argument("--fps", type=_fps, help="sample the video at this rate (default: every frame)")
    s.add_argument("--model", metavar="SPEC", help="open_clip model spec (default: the query file's, else framelogic-tiny)")
    s.add_argument("--table", metavar="CSV", help="probability table for 'column' propositions")
    s.add_argument("--cache-dir", metavar="DIR", help="embedding cache (default: $FRAMELOGIC_CACHE or ~/.cache/framelogic)")
    s.add_argument("--no-cache", action="store_true", help="neither read nor write the embedding cache")
    s.add_argument("--device", help="cuda, cpu, mps (default: the best available)")
    s.add_argument("--quiet", action="store_true", help="no progress or summary on stderr")


def _probability(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a number") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"{s!r} must be a probability in [0, 1]")
    return v


def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a whole number") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{s!r} must be at least 1")
    return v


def _fps(s: str) -> float:
    try:
        value = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a number") from None
    try:
        return check_fps("--fps", value)
    except FramelogicError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _positive_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a number") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"{s!r} must be a number > 0")
    return v


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.run(args))
    except FramelogicError as e:
        print(f"framelogic {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("framelogic: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as e:  # noqa: BLE001 - never exit 1 ("found") on a bug
        print(
            f"framelogic {args.command}: internal error: {type(e).__name__}: {e}\n"
            "this is a bug in framelogic; please report it with the command line",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())


class _Bounded:
    """The z3 bounded analysis with the exact analysis's signatures."""

    def __init__(self, max_len: int) -> None:
        self.max_len = max_len

    def satisfiable(self, f, assume):  # type: ignore[no-untyped-def]
        return bounded_analysis.satisfiable(f, max_len=self.max_len, assume=assume)

    def valid(self, f, assume):  # type: ignore[no-untyped-def]
        return bounded_analysis.valid(f, max_len=self.max_len, assume=assume)

    def equivalent(self, f, g, assume):  # type: ignore[no-untyped-def]
        return bounded_analysis.equivalent(f, g, max_len=self.max_len, assume=assume)


def _analysis(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    if args.max_len is not None:
        return _Bounded(args.max_len)
    from framelogic.automata import analysis

    return analysis


def _scope(args: argparse.Namespace, quantifier: str) -> str:
    """"no trace", "every trace", "all traces" — limited to --max-len frames if given."""
    phrase = {"no": "no trace", "every": "every trace", "all": "all traces"}[quantifier]
    return phrase if args.max_len is None else f"{phrase} of up to {args.max_len} frames"


def _plan(f) -> str:  # type: ignore[no-untyped-def]
    """How ``evaluate`` computes exact probabilities for ``f`` (frame bounds)."""
    from framelogic.automata import Evaluator
    from framelogic.logic.errors import FramelogicError

    try:
        return Evaluator(f).plan(None).describe()
    except FramelogicError as e:
        return f"no exact plan ({e})"


def _dfa_size(f) -> str:  # type: ignore[no-untyped-def]
    from framelogic.automata import compile
    from framelogic.logic.errors import FramelogicError

    try:
        d = compile(f)
    except FramelogicError as e:
        return f"not built ({e})"
    return f"{d.n_states} states, {len(d.edges())} edges (minimal DFA)"


def _frames(n: int) -> str:
    return f"{n} frame" if n == 1 else f"{n} frames"
