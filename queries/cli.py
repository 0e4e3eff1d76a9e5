"""The ``framelogic`` command line: each command parses its arguments, calls a
library function and prints what it returns.

Exit codes: 0 success; 1 a finding (``--fail-on-*`` fired, ``check`` found an
unsatisfiable or vacuous query, ``monitor`` saw ``violated``, ``translate``
rejected a model's answer or it was not accepted); 2 usage or input
error (the message says which file, line and column, and what to do; also when
a search skipped a file it could not read); 3 an internal error (a bug: the
message names the exception; please report it).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from framelogic.logic.errors import FramelogicError, InputError, check_fps
from framelogic.logic.grammar import Spec, parse_spec
from framelogic.logic.passes import atom_names, atoms, depth, has_time_bounds, nnf, resolve_time, size
from framelogic.logic.printer import to_text
from framelogic.logic.trace import TraceTable, atomic_write_text, check_output_path

EXIT_OK, EXIT_FOUND, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
log = logging.getLogger("framelogic")


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


def _emit(args: argparse.Namespace, text: str, inputs: Sequence[str] = ()) -> None:
    """Write a command's output: to ``--out`` (atomically, never over one of ``inputs``), else stdout."""
    out = getattr(args, "out", None)
    if out and getattr(args, "command", None) in ("eval", "search"):
        atomic_write_text(out, text, inputs=inputs)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def _json(value: object) -> str:
    return json.dumps(value, indent=1, allow_nan=False, default=_jsonable) + "\n"


def _jsonable(x: object) -> object:
    if isinstance(x, (np.floating, np.integer, np.bool_)):
        return x.item()
    if isinstance(x, float):
        return None  # NaN / inf
    raise TypeError(f"not serializable: {x!r}")


def cmd_check(args: argparse.Namespace) -> int:
    from framelogic.queries.checking import check_formula, check_query_file

    if args.formula.endswith(".tl"):
        result = check_query_file(args.formula, fps=args.fps, max_len=args.max_len, world=args.world, persist=args.persist)
        text = _format_file_check(result, args.max_len)
    else:
        formula, source = _read_formula(args.formula)
        result = check_formula(
            formula, source=source, fps=args.fps, assume=args.assume, max_len=args.max_len, world=args.world, persist=args.persist
        )
        text = _format_formula_check(result, args.max_len)
    _emit(args, _json(result.to_dict()) if args.format == "json" else text)
    return EXIT_OK if result.ok else EXIT_FOUND


def _format_formula_check(c, max_len: int | None) -> str:  # type: ignore[no-untyped-def]
    f = c.spec.formula
    lines = [
        "parse:      ok", f"formula:    {c.spec}", f"words:      {to_text(f, 'words')}", f"english:    {c.english}",
        f"nnf:        {to_text(nnf(f))}",
        f"atoms:      {', '.join(_label(a.name) for a in atoms(f)) or '(none)'}", f"size:       {size(f)} nodes, depth {depth(f)}",
    ]  # fmt: skip
    if c.spec.query:
        lines.append("threshold:  none (P=? returns probabilities)")
    elif c.spec.comparison:
        lines.append(f"threshold:  P {c.spec.comparison} {c.spec.threshold:g}")
    if c.analysis is None:
        lines.append("time bounds: present; pass --fps to analyse them in frames")
        return "\n".join(lines) + "\n"
    if has_time_bounds(f):
        lines.append(f"at {c.fps:g} fps: {to_text(c.resolved)}")
    a = c.analysis
    lines.append(f"plan:       {a.plan}")
    lines.append(f"automaton:  {a.automaton}")
    if not a.satisfiable:
        lines.append(f"satisfiable: NO — {_scope(a.max_len, 'no')} satisfies it (unsatisfiable query)")
    else:
        lines.append(f"satisfiable: yes, e.g. ({_frames(len(a.witness))})\n{_fmt_trace(a.witness)}")
        if a.vacuous:
            lines.append(f"valid:      YES — {_scope(a.max_len, 'every')} satisfies it (vacuous query)")
        else:
            lines.append(f"valid:      no, fails on ({_frames(len(a.counterexample))})\n{_fmt_trace(a.counterexample)}")
    return "\n".join(lines) + "\n"


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
    if p.persist is not None:
        text += f" persist {p.persist:g}s"
    return text + ("   (inline prompt)" if p.inline else "")


def _format_file_check(c, max_len: int | None) -> str:  # type: ignore[no-untyped-def]
    qf = c.file
    lines = [f"file:       {qf.path} (ok)"]
    if qf.settings:
        lines.append("settings:   " + " ".join(f"{k}={v}" for k, v in qf.settings.items()))
    lines.append(f"propositions ({len(qf.props)}):")
    width = max((len(_label(n)) for n in qf.props), default=0)
    lines += [f"  {_label(name).ljust(width)}  {_describe_prop(p)}" for name, p in qf.props.items()]
    if qf.assumptions:
        lines.append(f"assumptions ({len(qf.assumptions)}):")
        lines += [f"  {to_text(a)}" for a in qf.assumptions]
    lines.append(f"queries ({len(c.queries)}):")
    for q in c.queries:
        extra = []
        if q.spec.comparison:
            extra.append(f"P{q.spec.comparison}{q.spec.threshold:g}")
        if q.spec.query:
            extra.append("P=?")
        if q.threshold is not None:
            extra.append(f"threshold {q.threshold:g}")
        if q.mode:
            extra.append(f"mode {q.mode}")
        if q.words is not None:
            from framelogic.logic.printer import quote

            lines.append(f"  {q.name}: {quote(q.words)}" + (f"   [{', '.join(extra)}]" if extra else ""))
            lines.append(f"      formula: {to_text(q.spec.formula)}")
            lines.append(f"      means: {q.english}")
            lines += [f"      note: {n}" for n in q.notes]
        else:
            lines.append(f"  {q.name}: {to_text(q.spec.formula)}" + (f"   [{', '.join(extra)}]" if extra else ""))
        a = q.analysis
        if a is None:
            lines.append("      time bounds: give 'set fps' or --fps to analyse")
            continue
        lines.append(f"      plan: {a.plan}")
        lines.append(f"      automaton: {a.automaton}")
        if not a.satisfiable:
            lines.append(f"      UNSATISFIABLE: {_scope(a.max_len, 'no')} matches it")
        elif a.vacuous:
            lines.append(f"      VACUOUS: {_scope(a.max_len, 'every')} matches it")
        else:
            lines.append(f"      satisfiable, not vacuous; e.g. ({_frames(len(a.witness))})\n{_fmt_trace(a.witness, 8)}")
    for a, b in c.equivalent:
        lines.append(f"EQUIVALENT: {a} and {b} match the same traces ({_scope(max_len, 'all')})")
    return "\n".join(lines) + "\n"


def _read_table_arg(args: argparse.Namespace, require: Sequence[str]) -> TraceTable:
    """The table named on the command line (``-``: CSV on standard input), through the one table reader."""
    from framelogic.logic.tables import read_table

    if args.table == "-":
        return read_table("<stdin>", data=sys.stdin.buffer.read(), columns=_columns(args), require=require, nan=args.nan or "error")
    return read_table(args.table, columns=_columns(args), require=require, nan=args.nan or "error")


def _columns(args: argparse.Namespace) -> dict[str, str]:
    from framelogic.logic.tables import parse_columns

    return parse_columns(args.columns)


def cmd_eval(args: argparse.Namespace) -> int:
    from framelogic.automata import evaluate

    if args.out:
        check_output_path(args.out, [args.table])
    spec = parse_spec(args.formula, source="FORMULA")
    table = _read_table_arg(args, atom_names(spec.formula))
    fps = table.rate if table.rate is not None else args.fps
    values = evaluate(spec.formula, table, fps=fps, engine=args.engine)
    rows = [
        {"frame": i, **({"time": table.time_of(i)} if table.time_of(i) is not None else {}), "value": float(v)}
        for i, v in enumerate(values)
    ]
    _emit(args, _render_rows(rows, args.format, value_name="holds" if table.is_boolean else "probability"), [args.table])
    return EXIT_OK


def _render_rows(rows: list[dict], fmt: str, *, value_name: str) -> str:
    def val(v: float) -> str:
        return "1" if v == 1.0 else "0" if v == 0.0 else f"{v:.6g}"

    keys = [k for k in ("frame", "time") if rows and k in rows[0]]
    records = [{**{k: r[k] for k in keys}, value_name: r["value"]} for r in rows]
    if fmt == "json":
        return json.dumps(records, indent=1) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(r) + "\n" for r in records)
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


def _options(args: argparse.Namespace) -> dict:
    """The options given on the command line (None: not given, so the query file's ``set`` applies)."""
    names = ("fps", "stride", "model", "scorer", "table", "columns", "nan", "tolerance", "fill", "threshold", "mode",
             "max_length", "cache_dir", "device", "world", "persist", "decide")  # fmt: skip
    given = {n: getattr(args, n, None) for n in names}
    given["use_cache"] = False if getattr(args, "no_cache", False) else None
    given["allow_random_weights"] = True if getattr(args, "allow_random_weights", False) else None
    given["keep_going"] = getattr(args, "keep_going", None)
    given["progress"] = not args.quiet and sys.stderr.isatty()
    return given


def _inputs(query, sources: Sequence[object], args: argparse.Namespace, table: str | None) -> list[str]:  # type: ignore[no-untyped-def]
    """Every file a command reads, so that no output replaces one of them."""
    sidecars = [Path(s).with_suffix(".csv") for s in sources if isinstance(s, (str, Path)) and Path(s).suffix != ".csv"]
    named = [args.query_file, *query.file.files, table, query.file.settings.get("table"), *sources, *sidecars]
    return [str(p) for p in named if isinstance(p, (str, Path)) and p]


def cmd_search(args: argparse.Namespace) -> int:
    from framelogic.queries.results import Results, render
    from framelogic.queries.search import load_query

    from framelogic.queries.search import expand_sources

    if args.format == "parquet" and not args.out:
        raise InputError("--format parquet writes a file: give --out FILE.parquet")
    if args.store is not None:
        return _search_store(args)
    if args.where is not None or args.ray is not None:
        raise InputError(f"{'--where' if args.where is not None else '--ray'} searches an embedding store: give --store DIR")
    if not args.sources:
        raise InputError("search: give the videos (or folders, or tables) to search, or --store DIR")
    query = load_query(args.query_file)
    opts = query.options(**_options(args))
    query.selected(args.query)  # unknown names fail before any video is decoded
    inputs = _inputs(query, expand_sources(args.sources, cache_dir=opts.cache_dir), args, opts.table)
    if args.out:
        check_output_path(args.out, inputs)  # before any video is decoded
    found, failures = [], []
    stream = args.out is None and args.format in ("table", "jsonl", "csv")
    header_done = False
    for k, (source, results) in enumerate(query.search_each(args.sources, query=args.query, options=opts)):
        found.extend(results)
        failures.extend(results.failures)
        if stream and not results.failures:
            text = render(results, args.format)
            if args.format == "csv" and header_done:
                text = text.split("\n", 1)[1]  # one header for the whole stream
            header_done = True
            if args.format == "table" and (len(args.sources) > 1 or k > 0 or Path(args.sources[0]).is_dir()):
                text = f"== {source}\n{text}"
            _emit(args, text, inputs)
        if not results.failures:
            log.info("%s: %d match(es)", source, len(results))
    all_results = Results(found, failures)
    if not stream:
        _write_results(args, all_results, inputs)
    if failures:  # each was reported (logged) as it happened
        return EXIT_USAGE
    return _exit_for(args, all_results)


def _exit_for(args: argparse.Namespace, results) -> int:  # type: ignore[no-untyped-def]
    if args.fail_on_match and len(results) > 0:
        return EXIT_FOUND
    if args.fail_on_empty and len(results) == 0:
        return EXIT_FOUND
    return EXIT_OK


def _write_results(args: argparse.Namespace, results, inputs: Sequence[str]) -> None:  # type: ignore[no-untyped-def]
    from framelogic.queries.results import render

    if args.format == "parquet":
        results.write(args.out, "parquet", inputs=inputs)
    else:
        _emit(args, render(results, args.format), inputs)


def _search_store(args: argparse.Namespace) -> int:
    """``search Q.tl --store DIR``: the events of the stored videos, without the videos."""
    from framelogic.queries.results import Results
    from framelogic.queries.search import load_query
    from framelogic.queries.store import Store, search_store

    if args.sources:
        raise InputError(f"search: give either videos ({args.sources[0]!r}, ...) or --store DIR, not both")
    query = load_query(args.query_file).only(args.query)
    opts = query.options(**_options(args))
    store = Store(args.store)
    inputs = _inputs(query, [], args, opts.table)
    if args.out:
        check_output_path(args.out, inputs)
    if args.ray is not None:
        table = _distributed("--ray").search_on_ray(query, store, options=opts, where=args.where, address=args.ray or None)
        results = Results.from_arrow(table)
    else:
        results = search_store(query, store, where=args.where, options=opts)
    log.info("%s: %d match(es)", store.path, len(results))
    _write_results(args, results, inputs)
    return _exit_for(args, results)


def _distributed(flag: str):  # type: ignore[no-untyped-def]
    """``framelogic.queries.distributed``, or an error that says how to install Ray."""
    try:
        from framelogic.queries import distributed
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] != "ray":
            raise
        raise InputError(f"{flag} needs Ray ({e.name} is not installed): pip install 'framelogic[ray]'") from None
    return distributed


def cmd_index(args: argparse.Namespace) -> int:
    from framelogic.queries.search import Query, index, load_query

    sources = list(args.sources)
    query = load_query(sources.pop(0)) if sources[0].endswith(".tl") else None
    if not sources:
        raise InputError("index: give the videos (or folders) to index after the query file")
    given = _options(args)
    if args.store is None and args.ray is not None:
        raise InputError("--ray indexes into an embedding store: give --store DIR")
    if args.store is not None:
        from framelogic.queries.store import Store, index_store

        store = Store(args.store)
        if args.ray is not None:
            opts = (query or Query.from_formula("true")).options(**given)
            summary = _distributed("--ray").index_on_ray(sources, store, options=opts, address=args.ray or None)
            if args.format == "json":
                _emit(args, _json(summary.to_dict()))
            else:
                for video, reason in summary.failed:
                    print(f"{video}: not indexed: {reason}", flush=True)
                print(f"indexed {len(summary.indexed)} videos ({summary.frames} frames in {summary.seconds:.1f}s on "
                      f"{summary.workers} {summary.device} workers), {len(summary.skipped)} already indexed, "
                      f"{len(summary.failed)} failed", flush=True)  # fmt: skip
            return EXIT_USAGE if summary.failed else EXIT_OK
        items = index_store(sources, store, query=query, **given)
    else:
        if given.get("keep_going") is not None:
            raise InputError("--keep-going applies to indexing into a store: give --store DIR")
        items = index(sources, query=query, **given)
    done = []
    for item in items:
        done.append(item)
        if args.format != "json":
            if getattr(item, "error", None):
                print(f"{item.video}: not indexed: {item.error}", flush=True)
                continue
            state = "already indexed" if item.cached else f"indexed in {item.seconds:.1f}s"
            print(f"{item.video}: {item.frames} frames at {item.rate:g} fps, {state}", flush=True)
    if args.format == "json":
        _emit(args, _json([d.to_dict() for d in done]))
    if args.store is not None:
        failed = store.failures().num_rows
        manifest = store.manifest()
        if not args.quiet:
            frames = sum(manifest.column("frames").to_pylist())
            log.info("store %s: %d videos, %d frames, %d failures", store.path, manifest.num_rows, frames, failed)
        return EXIT_USAGE if any(getattr(d, "error", None) for d in done) else EXIT_OK
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from framelogic.queries.report import build_report
    from framelogic.queries.search import load_query

    from framelogic.queries.search import expand_sources

    query = load_query(args.query_file)
    given = _options(args)
    target = Path(args.out) if args.out.lower().endswith((".html", ".htm")) else Path(args.out) / "index.html"
    inputs = _inputs(query, expand_sources(args.sources, cache_dir=given.get("cache_dir")), args, given.get("table"))
    check_output_path(target, inputs)  # before any video is decoded
    report = build_report(query, args.sources, names=args.query, **given)
    path = report.write(args.out, inputs=inputs)
    for f in report.failures:
        log.error("%s: not in the report: %s", f.video, f.error)
    _emit(args, _json({**report.to_dict(), "path": str(path)}) if args.format == "json" else f"report: {path}\n")
    return EXIT_USAGE if report.failures else EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from framelogic.queries.demo import SCENARIOS, run_demo, summary

    scenarios = SCENARIOS[:3] if args.quick else SCENARIOS
    echo = (lambda *a, **k: None) if args.format == "json" or args.quiet else print
    scores = run_demo(args.out, query_file=args.query_file, scenarios=scenarios, echo=echo)
    _emit(args, _json([asdict(s) for s in scores]) if args.format == "json" else "\n" + summary(scores) + "\n")
    return EXIT_OK


def cmd_monitor(args: argparse.Namespace) -> int:
    from framelogic.queries.explain import csv_rows, monitor
    from framelogic.queries.search import load_query

    query = load_query(args.query_file)
    name = args.query[0] if args.query and len(args.query) == 1 else None
    if args.query and len(args.query) > 1:
        raise InputError(f"monitor follows one query; got --query {' '.join(args.query)}")
    source = csv_rows(sys.stdin) if args.source == "-" else args.source
    violated = False
    for change in monitor(query, source, name=name, confidence=args.confidence, approx=args.approx, **_options(args)):
        violated = violated or change.verdict == "violated"
        if args.format in ("json", "jsonl"):
            line = json.dumps(change.to_dict()) + "\n"
        else:
            when = f" ({change.time:.2f}s)" if change.time is not None else ""
            p = f"P={change.probability:.3f}" if change.bounds is None else "P in [{:.3f}, {:.3f}]".format(*change.bounds)
            line = f"frame {change.frame}{when}: {change.verdict} ({p})\n"
        _emit(args, line)
    return EXIT_FOUND if violated else EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    from framelogic.queries.explain import explain
    from framelogic.queries.search import load_query

    query = load_query(args.query_file)
    e = explain(query, args.source, name=args.query, event=args.event, context=args.context, **_options(args))
    _emit(args, _json(e.to_dict()) if args.format == "json" else _format_explanation(e))
    return EXIT_OK


def _format_explanation(e) -> str:  # type: ignore[no-untyped-def]
    thr = "P=? (no threshold)" if e.threshold is None else f"threshold {e.threshold:.3g}"
    neg = " (P<= / P<: events are where the negation holds)" if e.negated else ""
    lines = [f"query {e.query}: {e.formula}   [{thr}, mode {e.mode}]{neg}"]
    if e.event is None:
        lines.append("no event: P(query holds) stays below the threshold everywhere; highest at "
                     + ", ".join(f"frame {i} P={p:.3f}" for i, p in e.best))  # fmt: skip
        return "\n".join(lines) + "\n"
    m = e.event
    secs = f" ({m.start_time:.2f}-{m.end_time:.2f}s)" if m.start_time is not None else ""
    lines.append(f"event {e.index} of {e.events}: frames {m.start}-{m.end}{secs}, P={m.probability:.3f}")
    reads = ", ".join(f"{_label(n)} >= {t:.3g}" for n, t in e.prop_thresholds.items())
    decided = "open at the end of the video" if e.decided_at is None else f"decided at frame {e.decided_at}"
    lines.append(f"automaton: {e.states} states; its run over the frames from {m.start}, propositions read as true "
                 f"when {reads or '(none)'}; * marks the deciding frames; {decided}")  # fmt: skip
    names = list(e.prop_thresholds)
    lines.append("  frame    time  " + "  ".join(f"{n[:12]:>12}" for n in names) + "   P(holds from here)  run")
    for s in e.steps:
        inside = ">" if s.in_event else " "
        mark = "*" if s.deciding else " "
        t = "" if s.time is None else f"{s.time:7.2f}"
        run = "" if s.state is None else f"state {s.state} {'accepting' if s.accepting else 'rejecting'}"
        if s.guard:
            run += f"  on {s.guard}"
        cells = "  ".join(f"{s.probabilities[n]:11.3f}{'+' if s.letter[n] else '-'}" for n in names)
        lines.append(f"{inside}{mark}{s.frame:5d} {t:>7}  {cells}   {s.holds:18.3f}  {run}")
    return "\n".join(lines) + "\n"


def cmd_translate(args: argparse.Namespace) -> int:
    from framelogic.queries.llm import LLMAnswerError, LLMTranslation, TranslationRejected, to_dict, translate_text

    fmt = "json" if args.json else args.format
    try:
        t = translate_text(
            args.text, props=args.props, url=args.llm, model=args.model, retries=args.retries,
            timeout=args.timeout, fps=args.fps,
        )
    except (LLMAnswerError, TranslationRejected) as e:  # the model answered, but nothing usable: a finding
        print(f"framelogic translate: not accepted: {e}", file=sys.stderr)
        if fmt == "json":
            _emit(args, _json({"source": args.text, "accepted": False, "error": str(e), **_rejection(e)}))
        return EXIT_FOUND
    from_model = isinstance(t, LLMTranslation)
    if fmt == "json":  # JSON is for scripts: never a question on the terminal
        accepted, why = (not from_model or args.yes), "a model's translation needs --yes"
        _emit(args, _json({**to_dict(t), "accepted": accepted}))
    else:
        _emit(args, _format_translation(t))
        accepted, why = _accept(args) if from_model else (True, "")
    if not accepted:
        print(f"framelogic translate: not accepted: {why}", file=sys.stderr)
        return EXIT_FOUND
    if from_model and not args.quiet:
        print(f"accepted{' (--yes)' if args.yes else ''}", file=sys.stderr)
    return EXIT_OK


def _rejection(e: Exception) -> dict:
    from framelogic.queries.llm import TranslationRejected

    if isinstance(e, TranslationRejected):
        return {"formula": to_text(e.formula), "english": e.english, "reason": e.reason}
    return {"attempts": [{"reply": r, "error": err} for r, err in getattr(e, "attempts", ())]}


def _accept(args: argparse.Namespace) -> tuple[bool, str]:
    """Whether the user accepts a model's translation: --yes, else asked on a terminal."""
    if args.yes:
        return True, ""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return False, "a model's translation needs acceptance; read it and rerun with --yes to accept it in a script"
    sys.stdout.flush()
    sys.stderr.write("accept this formula? [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes"), "declined"


def _format_translation(t) -> str:  # type: ignore[no-untyped-def]
    from framelogic.logic.printer import quote
    from framelogic.queries.llm import LLMTranslation

    model = isinstance(t, LLMTranslation)
    lines = [f"text:     {quote(t.source)}", f"formula:  {t.text}", f"english:  {t.english}",
             f"via:      {t.via if model else 'structured English (exact)'}"]  # fmt: skip
    if model:
        if t.witness is not None:
            lines.append(f"holds on, e.g. ({_frames(len(t.witness))}):\n{_fmt_trace(t.witness)}")
        if t.counterexample is not None:
            lines.append(f"fails on, e.g. ({_frames(len(t.counterexample))}):\n{_fmt_trace(t.counterexample)}")
    notes = [n.message for n in t.notes if n.how != "name"] + list(t.remarks if model else ())
    if notes:
        lines.append("notes:")
        lines += [f"  - {n}" for n in notes]
    return "\n".join(lines) + "\n"


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
        description="Parse FORMULA (or the file it names, or every query of a .tl file), print it "
        "normalized and check satisfiability and validity: exactly, for every trace length, or over traces "
        "of up to --max-len frames. Exits 1 when a query is unsatisfiable (matches nothing) or vacuous "
        "(matches everything). Example: framelogic check 'P>=0.80 [ (\"car\" & \"truck\") U \"bus\" ]'",
    )
    c.add_argument("formula", metavar="FORMULA_OR_FILE")
    c.add_argument(
        "--max-len", type=_positive_int, default=None,
        help="search only traces up to this length with z3 (default: exact, every length, with automata)",
    )
    c.add_argument("--fps", type=_fps, help="sampling rate, to turn time bounds (2s) into frames")
    c.add_argument("--assume", action="append", default=[], metavar="FORMULA", help="domain assumption, e.g. 'G !(red & green)' (repeatable)")
    _add_world_options(c, decide=False)
    _add_common(c, ["text", "json"])
    c.set_defaults(run=cmd_check)

    e = sub.add_parser(
        "eval",
        help="evaluate a formula at every frame of a trace table",
        description="Print, for every frame of TABLE, whether FORMULA holds from that frame "
        "(with probabilities in the table: the exact probability that it does). "
        "TABLE is a CSV, Parquet, Feather/Arrow or NumPy file (or - for CSV on standard input) with "
        "one column per proposition (text columns the formula does not use are ignored), an optional "
        "'time' column in seconds or timestamps, and one row per frame. "
        "Example: framelogic eval 'a U b' trace.csv",
    )
    e.add_argument("formula", metavar="FORMULA")
    e.add_argument("table", metavar="TABLE")
    e.add_argument("--fps", type=_fps, help="sampling rate for time bounds when the table has no time column")
    _add_table_options(e)
    _add_common(e, ["table", "json", "jsonl", "csv"])
    e.add_argument("--out", metavar="FILE", help="write the result to FILE (atomically) instead of stdout")
    e.add_argument(
        "--engine", choices=["exact", "automaton", "reference"], default="exact",
        help="exact: compositional signals and the probability planner (default); automaton: one "
        "monolithic automaton (the old engine, for comparison); reference: the plain oracle (0/1 only)",
    )
    e.set_defaults(run=cmd_eval)

    s = sub.add_parser(
        "search",
        help="find the events of a query file's queries in videos or probability tables",
        description="Score the frames of every video for the propositions the queries use, run "
        "the queries and print their events. Folders are searched recursively for videos; "
        "tables of per-frame probabilities (CSV, Parquet, Feather, NumPy) are used as they are. "
        "A file that cannot be read is reported and the others are still searched (--no-keep-going "
        "stops at it); the exit code is then 2. With --store DIR the embedding store is searched instead, "
        "without the videos (--where picks videos by path and other columns). "
        "Example: framelogic search examples/queries/driving.tl drive.mp4 --format json; "
        "framelogic search q.tl --store s/ --where \"path LIKE '%cam1%'\" --format parquet --out events.parquet",
    )
    s.add_argument("query_file", metavar="Q.tl", help="a .tl query file, a formula file, or a formula")
    s.add_argument("sources", metavar="VIDEO_OR_DIR", nargs="*", help="videos, folders or tables (none with --store)")
    s.add_argument("--query", action="append", metavar="NAME", help="run only this query (repeatable)")
    s.add_argument("--out", metavar="FILE", help="write all results to FILE (atomically)")
    _add_store_options(s, search=True)
    _add_video_options(s)
    _add_match_options(s)
    _add_world_options(s)
    s.add_argument("--keep-going", action=argparse.BooleanOptionalAction, default=None,
                   help="report a file that cannot be searched and go on with the others (default: on)")
    _add_common(s, ["table", "json", "jsonl", "csv", "parquet"])
    s.add_argument("--fail-on-match", action="store_true", help="exit 1 if any event is found")
    s.add_argument("--fail-on-empty", action="store_true", help="exit 1 if no event is found")
    s.set_defaults(run=cmd_search)

    x = sub.add_parser("index", help="precompute and cache the embeddings of videos",
                       description="Embed every video once (resumable: cached videos are skipped), so later "
                       "searches cost a text encoding and a matrix product. Give the query file first to sample "
                       "the videos as its searches will (its 'set fps' and 'set model'); otherwise give the same "
                       "--fps/--model as the searches. With --store DIR the embeddings go to an embedding store (Parquet files "
                       "that pyarrow, DuckDB and polars read; searched with search --store DIR, without the videos); a video "
                       "that cannot be read is recorded in its failures and the others are indexed (exit code 2). "
                       "Example: framelogic index examples/queries/driving.tl videos/ --store store/")  # fmt: skip
    x.add_argument("sources", metavar="[Q.tl] VIDEO_OR_DIR", nargs="+")
    _add_video_options(x, tables=False)
    _add_store_options(x, search=False)
    x.add_argument("--keep-going", action=argparse.BooleanOptionalAction, default=None,
                   help="with --store: record a video that cannot be read in the store's failures and go on (default: on)")
    _add_common(x, ["text", "json"])
    x.set_defaults(run=cmd_index)

    r = sub.add_parser("report", help="write a static HTML report with timelines and thumbnails",
                       description="Example: framelogic report examples/queries/driving.tl drive.mp4 --out report/")  # fmt: skip
    r.add_argument("query_file", metavar="Q.tl")
    r.add_argument("sources", metavar="VIDEO_OR_DIR", nargs="+")
    r.add_argument("--out", metavar="DIR_OR_HTML", required=True, help="a folder (gets index.html) or an .html file")
    r.add_argument("--query", action="append", metavar="NAME")
    _add_video_options(r)
    _add_match_options(r)
    _add_world_options(r)
    r.add_argument("--keep-going", action=argparse.BooleanOptionalAction, default=None,
                   help="leave out a file that cannot be read and go on (default: on)")
    _add_common(r, ["text", "json"])
    r.set_defaults(run=cmd_report)

    m = sub.add_parser("monitor", help="streaming verdicts frame by frame",
                       description="Follow one query over a video or table, or over a probability CSV arriving on "
                       "standard input (SOURCE = -), printing the verdict whenever it changes. Exits 1 when "
                       "the verdict became 'violated'. "
                       "Example: my_detector | framelogic monitor rules.tl - --query no_yield")  # fmt: skip
    m.add_argument("query_file", metavar="Q.tl")
    m.add_argument("source", metavar="SOURCE")
    m.add_argument("--query", action="append", metavar="NAME")
    _add_video_options(m)
    _add_world_options(m, decide=False)
    m.add_argument("--confidence", type=_probability_open, default=None, metavar="DELTA",
                   help="say violated/satisfied only when its probability is at least 1-DELTA (default 0.01)")
    m.add_argument("--approx", choices=["bounds"], default=None,
                   help="a rule set over the state budget: follow it with certified probability bounds instead of failing")
    _add_common(m, ["text", "jsonl"])
    m.set_defaults(run=cmd_monitor, threshold=None, mode=None)

    e2 = sub.add_parser("explain", help="why an event matched (or why none did)",
                        description="Show the automaton's run from an event's first frame until its verdict "
                        "is decided: each frame's propositions read at the query's threshold (or the "
                        "proposition's own), the frames that moved the automaton, and P(query holds from "
                        "each frame). "
                        "Example: framelogic explain examples/queries/driving.tl drive.mp4 --query ran_red_light")  # fmt: skip
    e2.add_argument("query_file", metavar="Q.tl")
    e2.add_argument("source", metavar="VIDEO")
    e2.add_argument("--query", required=True, metavar="NAME")
    e2.add_argument("--event", type=int, default=0, metavar="K")
    e2.add_argument("--context", type=int, default=3, metavar="FRAMES", help="frames shown around the event")
    _add_video_options(e2)
    _add_match_options(e2)
    _add_common(e2, ["text", "json"])
    e2.set_defaults(run=cmd_explain)

    t = sub.add_parser("translate", help="turn a sentence into a formula (structured English; optionally an LLM)",
                       description="Translate TEXT, written in framelogic's structured English, into a formula, "
                       "offline and exactly, and print the formula, its back-translation and notes. Phrases name "
                       "propositions of --props (by name or prompt); others become inline prompts. With --llm URL "
                       "(an OpenAI-compatible endpoint such as a local vLLM or Ollama server), text the structured "
                       "grammar rejects goes to the model; its answer is parsed, resolved and checked (unsatisfiable "
                       "or vacuous answers are rejected) and must be accepted: on a terminal you are asked, in "
                       "scripts give --yes. Exits 1 when a translation is rejected or not accepted. "
                       "Example: framelogic translate 'whenever red, stopped within 3 seconds' --props driving.tl")  # fmt: skip
    t.add_argument("text", metavar="TEXT")
    t.add_argument("--props", metavar="Q.tl", help="resolve phrases against this query file's propositions")
    t.add_argument("--llm", metavar="URL", help="OpenAI-compatible endpoint for free-form text, e.g. http://localhost:8000/v1 "
                   "(API key from $FRAMELOGIC_LLM_KEY or $OPENAI_API_KEY)")
    t.add_argument("--model", metavar="NAME", help="model name at --llm (default: the first the server lists)")
    t.add_argument("--retries", type=_nonnegative_int, default=2, metavar="N",
                   help="ask again at most N times when an answer does not parse (default 2)")
    t.add_argument("--timeout", type=_positive_float, default=30.0, metavar="SECONDS", help="per request (default 30)")
    t.add_argument("--fps", type=_fps, help="rate for time bounds in the check of a model's answer (default: the file's)")
    t.add_argument("--yes", action="store_true", help="accept a model's translation without asking")
    t.add_argument("--json", action="store_true", help="the same as --format json")
    _add_common(t, ["text", "json"])
    t.set_defaults(run=cmd_translate)

    d = sub.add_parser("demo", help="render scenario videos, run the example queries, compare with the truth",
                       description="Fully offline: renders driving scenarios, searches them with the example "
                       "queries and the bundled model, prints events next to the ground truth and writes "
                       "an HTML report. Example: framelogic demo --out demo/")  # fmt: skip
    d.add_argument("--out", default="framelogic-demo", metavar="DIR")
    d.add_argument("--query-file", metavar="Q.tl", help="default: examples/queries/driving.tl")
    d.add_argument("--quick", action="store_true", help="three scenarios instead of six")
    _add_common(d, ["text", "json"])
    d.set_defaults(run=cmd_demo)
    return p


def _add_store_options(s: argparse.ArgumentParser, *, search: bool) -> None:
    if search:
        s.add_argument("--store", metavar="DIR", help="search the embedding store DIR (filled by index --store) instead of videos: "
                       "no video is read, only the text prompts are encoded")  # fmt: skip
        s.add_argument("--where", metavar="SQL", help="with --store: only the videos for which this SQL condition holds, over the "
                       "columns path, fingerprint, model, preprocessing, sampling, rate, frames, dim "
                       "(e.g. \"path LIKE '%%cam1%%'\"; needs DuckDB)")  # fmt: skip
    else:
        s.add_argument("--store", metavar="DIR", help="write the embeddings to the embedding store DIR (Parquet, one row per "
                       "sampled frame) instead of the per-user cache; videos already in it are skipped")  # fmt: skip
    s.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="with --store: run on a Ray cluster at ADDRESS (none: a local Ray instance); pip install 'framelogic[ray]'")


def _add_common(s: argparse.ArgumentParser, formats: Sequence[str]) -> None:
    s.add_argument("--format", choices=list(formats), default=formats[0], help=f"output format (default: {formats[0]})")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bars or summaries on stderr (errors still)")


def _add_table_options(s: argparse.ArgumentParser) -> None:
    s.add_argument("--columns", action="append", metavar="NAME=COLUMN",
                   help="read proposition NAME from table column COLUMN, e.g. ped=pedestrian_prob (repeatable, or comma-separated)")
    s.add_argument("--nan", choices=["error", "zero", "drop"], default=None,
                   help="missing values (empty cells, NaN) in a table: an error (default), probability 0, or drop the row")


def _add_match_options(s: argparse.ArgumentParser) -> None:
    from framelogic.automata.localize import DEFAULT_MAX_LENGTH, MODES

    s.add_argument("--threshold", type=_probability, help="probability threshold for every query (overrides the file)")
    s.add_argument("--mode", choices=list(MODES), help="match mode for every query (overrides the file)")
    s.add_argument("--max-length", type=_nonnegative_int, metavar="FRAMES",
                   help=f"longest event of the shortest/longest modes (default {DEFAULT_MAX_LENGTH:,}; 0: no limit, quadratic at worst)")


def _add_world_options(s: argparse.ArgumentParser, decide: bool = True) -> None:
    from framelogic.automata.localize import DECISIONS

    s.add_argument("--world", metavar="independent|markov|FIT.json",
                   help="how probabilities are read: independent (every frame a coin), markov (every proposition a "
                   "persistent hidden chain), or a fitted world's JSON (default: the query file's 'set world'; markov "
                   "when it declares persistence; else independent)")  # fmt: skip
    s.add_argument("--persist", type=_duration, metavar="DURATION",
                   help="Markov world: how long every proposition typically stays true, e.g. 1s or 500ms "
                   "(overrides the query file's persist; implies --world markov)")  # fmt: skip
    if decide:
        s.add_argument("--decide", choices=list(DECISIONS),
                       help="threshold: P(query) against the threshold (default); viterbi: the query on the "
                       "most probable 0/1 world (per proposition, persistent under --world markov)")  # fmt: skip


def _duration(s: str) -> float:
    from framelogic.logic.lexical import parse_duration

    try:
        value, unit = parse_duration(s)
    except FramelogicError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a duration; write e.g. 1s, 500ms or 2min") from None
    if unit is None:
        raise argparse.ArgumentTypeError(f"{s!r} has no unit; write {s}s, {s}ms or {s}min")
    if value is None or not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{s!r} must be a duration > 0")
    return float(value)


def _add_video_options(s: argparse.ArgumentParser, tables: bool = True) -> None:
    s.add_argument("--fps", type=_fps, help="sample the video at this rate (default: the query file's 'set fps', else every frame)")
    s.add_argument("--stride", type=_positive_int, help="or take every n-th frame")
    s.add_argument("--model", metavar="SPEC", help="open_clip model spec such as ViT-B-32:laion2b_s34b_b79k (default: the query file's, else framelogic-tiny)")
    s.add_argument("--allow-random-weights", action="store_true", help="accept an architecture named without pretrained weights")
    if tables:  # what 'column' propositions read (index embeds frames only)
        s.add_argument("--scorer", choices=["clip", "table"], help="table: read every proposition from the table instead of scoring frames")
        s.add_argument("--table", metavar="TABLE", help="probability / telemetry table for 'column' propositions (default: VIDEO.csv beside the video)")
        _add_table_options(s)
        s.add_argument("--tolerance", type=float, metavar="SECONDS",
                       help="how far a table row may be from a frame to stand for it (default: half the table's row spacing)")
        s.add_argument("--fill", type=_probability, metavar="P",
                       help="probability of frames the table does not cover (default: an error; never extrapolated)")
    s.add_argument("--cache-dir", metavar="DIR", help="embedding cache (default: $FRAMELOGIC_CACHE or ~/.cache/framelogic)")
    s.add_argument("--no-cache", action="store_true", help="neither read nor write the embedding cache")
    s.add_argument("--device", help="cuda, cpu, mps (default: the best available)")


def _probability(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a number") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"{s!r} must be a probability in [0, 1]")
    return v


def _probability_open(s: str) -> float:
    v = _probability(s)
    if not 0.0 < v < 1.0:
        raise argparse.ArgumentTypeError(f"{s!r} must be strictly between 0 and 1")
    return v


def _nonnegative_int(s: str) -> int:
    return 0 if s.strip() == "0" else _positive_int(s)


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


def _scope(max_len: int | None, quantifier: str) -> str:
    """"no trace", "every trace", "all traces" — limited to --max-len frames if given."""
    phrase = {"no": "no trace", "every": "every trace", "all": "all traces"}[quantifier]
    return phrase if max_len is None else f"{phrase} of up to {max_len} frames"


def _frames(n: int) -> str:
    return f"{n} frame" if n == 1 else f"{n} frames"


def _setup_logging(quiet: bool) -> None:
    """Diagnostics go through the 'framelogic' logger to stderr (warnings and errors only with --quiet)."""
    logger = logging.getLogger("framelogic")
    if not any(getattr(h, "_framelogic_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._framelogic_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
    for h in logger.handlers:
        if getattr(h, "_framelogic_cli", False):
            h.stream = sys.stderr  # the current stderr (tests capture it)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_USAGE
    _setup_logging(getattr(args, "quiet", False))
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
