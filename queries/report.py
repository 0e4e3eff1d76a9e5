"""A static, self-contained HTML report: per video and query, a timeline (inline
SVG) of each proposition's probability with the detected events as bands, and
thumbnails of the first and last frame of every event (inline JPEG).

No server and no external files: the page opens from disk anywhere.
"""

from __future__ import annotations

import base64
import html
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from framelogic.logic.trace import TraceTable

from .results import Failure, Match

_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]


@dataclass(frozen=True)
class VideoSection:
    """What the report shows for one video."""

    video: str
    probabilities: TraceTable  # per-frame proposition probabilities (times in seconds)
    matches: Sequence[Match]  # every query's events in this video
    queries: Sequence[tuple[str, str]]  # (query name, formula text) in display order
    thumbnails: Mapping[int, bytes] = field(default_factory=dict)  # frame index -> JPEG bytes
    ground_truth: Mapping[str, Sequence[tuple[int, int]]] = field(default_factory=dict)  # query -> spans
    atoms: Mapping[str, Sequence[str]] = field(default_factory=dict)  # query -> propositions to plot
    thresholds: Mapping[str, float | None] = field(default_factory=dict)  # query -> its threshold (a line)
    href: str | None = None  # the video, relative to the report, for links to each event


def _times(t: TraceTable) -> np.ndarray:
    if t.times is not None:
        return np.asarray(t.times, dtype=float)
    rate = t.rate or 1.0
    return np.arange(len(t), dtype=float) / rate


_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)


def time_ticks(t0: float, t1: float, most: int = 10) -> list[float]:
    """Round tick positions (0.5 s, 1 s, 5 s, 1 min, ...) covering ``[t0, t1]``, at most ``most``.

    >>> time_ticks(0, 3.9)
    [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    """
    span = max(t1 - t0, 1e-9)
    step = next((s for s in _STEPS if span / s <= most), _STEPS[-1] * math.ceil(span / (_STEPS[-1] * most)))
    first = math.ceil(t0 / step - 1e-9) * step
    return [round(first + k * step, 6) for k in range(int((t1 - first) / step + 1e-9) + 1)]


def _clock(sec: float) -> str:
    if sec < 60:
        return f"{sec:g}s"
    m, s_ = divmod(sec, 60)
    if m < 60:
        return f"{int(m)}:{s_:04.1f}".replace(".0", "") if s_ % 1 else f"{int(m)}:{int(s_):02d}"
    h, m = divmod(int(m), 60)
    return f"{h}:{m:02d}:{int(s_):02d}"


def _downsample(t: np.ndarray, v: np.ndarray, most: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """At most ``most`` points, keeping each bucket's maximum (so short peaks stay visible)."""
    if len(t) <= most:
        return t, v
    edges = np.linspace(0, len(t), most + 1).astype(int)
    idx = np.array([a + int(np.argmax(v[a:b])) for a, b in zip(edges[:-1], edges[1:]) if b > a])
    return t[idx], v[idx]


def timeline_svg(
    probs: TraceTable,
    bands: Sequence[tuple[float, float]],
    *,
    truth: Sequence[tuple[float, float]] = (),
    threshold: float | None = None,
    width: int = 880,
    row: int = 46,
) -> str:
    """An SVG with one probability track per proposition (y axis 0-1), the query's
    threshold as a dashed line, and the events as bands over all tracks."""
    t = _times(probs)
    t0, t1 = (float(t[0]), float(t[-1])) if len(t) else (0.0, 1.0)
    span = max(t1 - t0, 1e-9)
    left, right, top = 170, 16, 18
    plot_w = width - left - right
    height = top + row * max(len(probs.names), 1) + 30

    def x(sec: float) -> float:
        return left + (sec - t0) / span * plot_w

    def y(j: int, p: float) -> float:
        return top + row * j + row - 6 - p * (row - 12)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img" aria-label="timeline" '
        f'data-t0="{t0}" data-t1="{t1}" data-left="{left}" data-plot="{plot_w}">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{row * len(probs.names)}" fill="#fafafa" stroke="#ccc"/>',
    ]
    for sec in time_ticks(t0, t1):
        parts.append(f'<line class="grid" x1="{x(sec):.1f}" x2="{x(sec):.1f}" y1="{top}" y2="{top + row * len(probs.names)}" stroke="#eee"/>')
        parts.append(f'<text class="tick" x="{x(sec):.1f}" y="{height - 8}" text-anchor="middle" font-size="11" fill="#555">{_clock(sec)}</text>')
    half = (t[1] - t[0]) / 2 if len(t) > 1 else 0.5
    for a, b in truth:
        parts.append(
            f'<rect class="truth" x="{x(a - half):.1f}" y="{top - 8}" width="{max(x(b + half) - x(a - half), 2):.1f}" '
            f'height="6" fill="#2ca02c"><title>ground truth {a:.2f}-{b:.2f}s</title></rect>'
        )
    for a, b in bands:
        parts.append(
            f'<rect class="event" x="{x(a - half):.1f}" y="{top}" width="{max(x(b + half) - x(a - half), 2):.1f}" '
            f'height="{row * len(probs.names)}" fill="#ff7f0e" fill-opacity="0.28"><title>event {a:.2f}-{b:.2f}s</title></rect>'
        )
    for j, name in enumerate(probs.names):
        y0 = top + row * j
        color = _PALETTE[j % len(_PALETTE)]
        tt, v = _downsample(t, probs.values[:, j])
        pts = " ".join(f"{x(float(a)):.1f},{y(j, float(p)):.1f}" for a, p in zip(tt, v))
        label = name if len(name) <= 24 else name[:23] + "…"
        parts.append(f'<text x="{left - 22}" y="{y0 + row / 2 + 4}" text-anchor="end" font-size="12">{html.escape(label)}</text>')
        parts.append(f'<text class="yaxis" x="{left - 4}" y="{y(j, 1.0) + 4:.1f}" text-anchor="end" font-size="9" fill="#777">1</text>')
        parts.append(f'<text class="yaxis" x="{left - 4}" y="{y(j, 0.0) + 3:.1f}" text-anchor="end" font-size="9" fill="#777">0</text>')
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y0 + row}" y2="{y0 + row}" stroke="#e5e5e5"/>')
        if threshold is not None and 0 <= threshold <= 1:
            parts.append(
                f'<line class="threshold" x1="{left}" x2="{left + plot_w}" y1="{y(j, threshold):.1f}" y2="{y(j, threshold):.1f}" '
                f'stroke="#555" stroke-dasharray="4 3" stroke-width="1"><title>threshold {threshold:g}</title></line>'
            )
        parts.append(f'<polyline class="track" data-name="{html.escape(name)}" fill="none" stroke="{color}" stroke-width="1.6" points="{pts}"/>')
    parts.append(f'<line class="cursor" x1="0" x2="0" y1="{top}" y2="{top + row * len(probs.names)}" stroke="#000" stroke-width="0.6" visibility="hidden"/>')
    parts.append("</svg>")
    return "\n".join(parts)


def legend_html(names: Sequence[str], *, threshold: float | None, truth: bool) -> str:
    """The legend under a timeline: each proposition's color, the event band, the threshold line."""
    items = [
        f'<span class="key"><span class="swatch" style="background:{_PALETTE[j % len(_PALETTE)]}"></span>{html.escape(n)}</span>'
        for j, n in enumerate(names)
    ]
    items.append('<span class="key"><span class="swatch band"></span>event</span>')
    if threshold is not None:
        items.append(f'<span class="key"><span class="swatch dash"></span>threshold {threshold:g}</span>')
    if truth:
        items.append('<span class="key"><span class="swatch" style="background:#2ca02c"></span>ground truth</span>')
    return f'<div class="legend">{"".join(items)}</div>'


def _img(data: bytes, alt: str) -> str:
    mime = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
    b64 = base64.b64encode(data).decode("ascii")
    return f'<img class="thumb" alt="{html.escape(alt)}" src="data:{mime};base64,{b64}"/>'


_CSS = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; } h3 { font-size: 15px; display: inline; }
code { background: #f2f2f2; padding: 1px 4px; border-radius: 3px; }
table { border-collapse: collapse; margin: 8px 0; } td, th { border: 1px solid #ddd; padding: 4px 8px; font-size: 13px; }
.thumbs { display: flex; gap: 6px; align-items: center; }
.thumb { height: 90px; border: 1px solid #999; }
.none { color: #888; }
details.panel { margin: 10px 0; } details.panel > summary { cursor: pointer; padding: 4px 0; }
.zoom { overflow-x: auto; max-width: 100%; position: relative; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; font-size: 12px; margin: 4px 0 8px 170px; }
.key { display: inline-flex; align-items: center; gap: 5px; }
.swatch { display: inline-block; width: 18px; height: 10px; }
.swatch.band { background: #ff7f0e; opacity: 0.45; } .swatch.dash { height: 0; border-top: 2px dashed #555; }
.tip { position: absolute; pointer-events: none; background: #fff; border: 1px solid #999; padding: 3px 6px;
       font-size: 12px; white-space: pre; display: none; }
.controls { font-size: 12px; color: #555; margin: 4px 0; }
video.clip { width: 240px; }
"""

# Hover values and zoom, inline so the page opens offline. Reads the polylines' own points.
_SCRIPT = """
document.querySelectorAll('.zoom').forEach(function (box) {
  var svg = box.querySelector('svg'), tip = box.querySelector('.tip'), cur = svg.querySelector('.cursor');
  var t0 = +svg.dataset.t0, t1 = +svg.dataset.t1, left = +svg.dataset.left, plot = +svg.dataset.plot;
  var w0 = svg.getAttribute('width');
  var range = box.parentNode.querySelector('input.zoomer');
  if (range) range.addEventListener('input', function () { svg.setAttribute('width', w0 * range.value); });
  svg.addEventListener('mousemove', function (ev) {
    var r = svg.getBoundingClientRect(), vx = (ev.clientX - r.left) * svg.viewBox.baseVal.width / r.width;
    if (vx < left || vx > left + plot) { tip.style.display = 'none'; cur.setAttribute('visibility', 'hidden'); return; }
    var t = t0 + (vx - left) / plot * (t1 - t0), lines = [t.toFixed(2) + ' s'];
    svg.querySelectorAll('polyline.track').forEach(function (pl) {
      var pts = pl.points, best = null;
      for (var i = 0; i < pts.numberOfItems; i++) { var p = pts.getItem(i); if (best === null || Math.abs(p.x - vx) < Math.abs(best.x - vx)) best = p; }
      lines.push(pl.dataset.name + ': ' + (best ? valueAt(svg, pl, best.y) : ''));
    });
    cur.setAttribute('x1', vx); cur.setAttribute('x2', vx); cur.setAttribute('visibility', 'visible');
    tip.textContent = lines.join('\\n'); tip.style.display = 'block';
    tip.style.left = (ev.clientX - box.getBoundingClientRect().left + box.scrollLeft + 12) + 'px'; tip.style.top = '4px';
  });
  svg.addEventListener('mouseleave', function () { tip.style.display = 'none'; cur.setAttribute('visibility', 'hidden'); });
});
function valueAt(svg, pl, y) {
  var j = Array.prototype.indexOf.call(svg.querySelectorAll('polyline.track'), pl), row = +svg.dataset.row, top = +svg.dataset.top;
  return ((top + row * j + row - 6 - y) / (row - 12)).toFixed(3);
}
"""


def _duration(m: Match) -> float:
    if m.start_time is None or m.end_time is None:
        return 0.0
    return max(m.end_time - m.start_time, 0.0)


def _anchor(k: int, qname: str) -> str:
    return f"v{k}-" + "".join(c if c.isalnum() else "_" for c in qname)


def summary_html(sections: Sequence[VideoSection]) -> str:
    """Per query: the videos with events (of all), the events and their total duration, with links."""
    order: list[str] = []
    for sec in sections:
        for q, _ in sec.queries:
            if q not in order:
                order.append(q)
    rows = []
    for q in order:
        videos = [(k, sec) for k, sec in enumerate(sections) if any(n == q for n, _ in sec.queries)]
        hits = [(k, sec, [m for m in sec.matches if m.query == q]) for k, sec in videos]
        with_events = [(k, sec, ms) for k, sec, ms in hits if ms]
        events = sum(len(ms) for _, _, ms in hits)
        total = sum(_duration(m) for _, _, ms in hits for m in ms)
        links = ", ".join(f'<a href="#{_anchor(k, q)}">{html.escape(sec.video)}</a> ({len(ms)})' for k, sec, ms in with_events)
        where = links or '<span class="none">none</span>'
        rows.append(
            f"<tr><td><code>{html.escape(q)}</code></td><td>{len(with_events)} / {len(videos)}</td>"
            f"<td>{events}</td><td>{_clock(round(total, 1))}</td><td>{where}</td></tr>"
        )
    return ('<table class="summary"><tr><th>query</th><th>videos with events</th><th>events</th>'
            "<th>total duration</th><th>where</th></tr>" + "".join(rows) + "</table>")  # fmt: skip


def render_report(sections: Sequence[VideoSection], *, title: str = "framelogic report") -> str:
    """The HTML text of the report: a summary, then per video and query a zoomable
    timeline with a legend, the threshold line, the events and links into the video."""
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        summary_html(sections),
    ]
    for k, sec in enumerate(sections):
        out.append(f"<h2>{html.escape(sec.video)}</h2>")
        times = _times(sec.probabilities)
        for qname, formula in sec.queries:
            matches = [m for m in sec.matches if m.query == qname]
            bands = [(float(times[m.start]), float(times[m.end])) for m in matches]
            truth = [(float(times[a]), float(times[b])) for a, b in sec.ground_truth.get(qname, ())]
            threshold = sec.thresholds.get(qname)
            n = len(matches)
            state = " open" if matches or truth else ""
            out.append(
                f'<details class="panel" id="{_anchor(k, qname)}"{state}><summary><h3>query <code>{html.escape(qname)}</code>: '
                f"<code>{html.escape(formula)}</code></h3> — {n} event{'s' if n != 1 else ''}</summary>"
            )
            shown = [a for a in sec.atoms.get(qname, ()) if a in sec.probabilities.names]
            probs = sec.probabilities.select(shown) if shown else sec.probabilities
            svg = timeline_svg(probs, bands, truth=truth, threshold=threshold).replace(
                'data-left="170"', 'data-left="170" data-row="46" data-top="18"', 1
            )
            out.append('<div class="controls">zoom <input class="zoomer" type="range" min="1" max="40" step="1" value="1"></div>')
            out.append(f'<div class="zoom">{svg}<div class="tip"></div></div>')
            out.append(legend_html(probs.names, threshold=threshold, truth=bool(truth)))
            if not matches:
                out.append('<p class="none">no events</p></details>')
                continue
            out.append("<table><tr><th>#</th><th>frames</th><th>seconds</th><th>P</th><th>first / last frame</th><th>video</th></tr>")
            for j, m in enumerate(matches):
                thumbs = "".join(_img(sec.thumbnails[i], f"frame {i}") for i in (m.start, m.end) if i in sec.thumbnails)
                secs = "" if m.start_time is None else f"{m.start_time:.2f}–{m.end_time:.2f}"
                clip = ""
                if sec.href and m.start_time is not None:
                    src = f"{html.escape(sec.href)}#t={m.start_time:.2f},{m.end_time:.2f}"
                    clip = f'<a href="{src}">play {m.start_time:.2f}s</a><br><video class="clip" controls preload="none" src="{src}"></video>'
                out.append(
                    f"<tr><td>{j}</td><td>{m.start}–{m.end}</td><td>{secs}</td><td>{m.probability:.3f}</td>"
                    f'<td><div class="thumbs">{thumbs}</div></td><td>{clip}</td></tr>'
                )
            out.append("</table></details>")
    out.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ building


@dataclass(frozen=True)
class Report:
    """A report: one section per video; :meth:`html` renders it, :meth:`write` saves it."""

    title: str
    sections: tuple[VideoSection, ...]
    failures: tuple[Failure, ...] = ()

    def html(self, base: str | os.PathLike[str] | None = None) -> str:
        """The page; video links are made relative to the folder ``base`` (where the page will be)."""
        sections = self.sections
        if base is not None:
            sections = tuple(replace(s, href=_relative(s.href, Path(base))) if s.href else s for s in sections)
        return render_report(sections, title=self.title)

    def write(self, path: str | os.PathLike[str], *, inputs: Sequence[str | os.PathLike[str]] = ()) -> Path:
        """Write the page (atomically) to ``path``; a folder gets ``index.html``. Never over one of ``inputs``."""
        from framelogic.logic.errors import InputError
        from framelogic.logic.trace import atomic_write_text

        p = Path(path)
        if p.suffix.lower() not in (".html", ".htm"):
            try:
                p.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise InputError(f"cannot create {str(p)!r}: {e.strerror}") from None
            p = p / "index.html"
        atomic_write_text(p, self.html(base=p.parent), inputs=inputs)
        return p

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "videos": [{"video": s.video, "frames": len(s.probabilities), "events": len(s.matches)} for s in self.sections],
            "failures": [{"video": f.video, "error": f.error} for f in self.failures],
        }


def _relative(href: str, base: Path) -> str:
    from urllib.parse import quote

    try:
        rel = os.path.relpath(href, base.resolve())
    except ValueError:  # another drive (Windows)
        return Path(href).as_uri()
    return quote(Path(rel).as_posix())


def source_frames(source: Any, table: TraceTable) -> np.ndarray:
    """The source frame index of every row of ``table`` (rows carry media times;
    the source's native rate turns them back into frame numbers)."""
    from framelogic.perception import open_source

    if table.times is None:
        raise ValueError("the table has no times")  # pragma: no cover - perception always gives times
    native = open_source(source).native_fps
    return np.rint(np.asarray(table.times) * native).astype(np.int64)


def build_section(
    query: Any,
    source: Any,
    probs: TraceTable,
    found: Sequence[Match],
    *,
    names: Sequence[str] | None = None,
    ground_truth: Mapping[str, Sequence[tuple[int, int]]] | None = None,
    title: str | None = None,
    thumbnails: bool = True,
    options: Any = None,
) -> VideoSection:
    """One video's section: thumbnails of each event's first and last frame, read
    at the source frames the table's rows came from."""
    from framelogic.logic.printer import to_text
    from framelogic.logic.passes import atom_names

    decls = query.selected(names)
    thumbs: dict[int, bytes] = {}
    if thumbnails and isinstance(source, (str, os.PathLike)) and not _is_table_path(source) and probs.times is not None:
        from framelogic import perception

        from .search import video_extra

        rows = sorted({i for m in found for i in (m.start, m.end)})
        if rows:
            src = source_frames(source, probs)
            with video_extra("report thumbnails"):
                got = perception.thumbnails(source, sorted({int(src[i]) for i in rows}))
            thumbs = {i: got[int(src[i])] for i in rows if int(src[i]) in got}
    from .search import query_threshold

    opts = query.options(options)
    is_video = isinstance(source, (str, os.PathLike)) and not _is_table_path(source) and Path(source).is_file()
    return VideoSection(
        title or Path(str(source)).name, probs, list(found), [(q.name, to_text(q.formula)) for q in decls],
        thumbs, dict(ground_truth or {}), {q.name: atom_names(q.formula) for q in decls},
        {q.name: query_threshold(q, opts)[0] for q in decls}, str(Path(source).resolve()) if is_video else None,
    )  # fmt: skip


def _is_table_path(source: Any) -> bool:
    from .search import is_table_path

    return is_table_path(source)


def build_report(
    query: Any, sources: Any, *, names: Sequence[str] | None = None, options: Any = None, title: str | None = None, **given: Any
) -> Report:
    """Search ``sources`` (anything :func:`~framelogic.queries.search.expand_sources` takes) and build the report."""
    from framelogic.logic.errors import FramelogicError

    from .search import expand_sources

    opts = query.options(options, **given)
    listed = expand_sources(sources)
    sections: list[VideoSection] = []
    failures: list[Failure] = []
    for source in listed:
        try:
            probs = query.probabilities(source, query=names, options=opts)
            found = query.search_table(probs, query=names, video=str(source), options=opts)
            sections.append(build_section(query, source, probs, found, names=names, options=opts))
        except FramelogicError as e:
            if not (opts.keep_going and len(listed) > 1):
                raise
            failures.append(Failure(str(source), str(e)))
    return Report(title or f"framelogic report: {query.file.path or 'query'}", tuple(sections), tuple(failures))
