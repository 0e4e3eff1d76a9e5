"""A static, self-contained HTML report: per video and query, a timeline (inline
SVG) of each proposition's probability with the detected events as bands, and
thumbnails of the first and last frame of every event (inline JPEG).

No server and no external files: the page opens from disk anywhere.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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


def _times(t: TraceTable) -> np.ndarray:
    if t.times is not None:
        return np.asarray(t.times, dtype=float)
    rate = t.rate or 1.0
    return np.arange(len(t), dtype=float) / rate


def timeline_svg(
    probs: TraceTable,
    bands: Sequence[tuple[float, float]],
    *,
    truth: Sequence[tuple[float, float]] = (),
    width: int = 880,
    row: int = 46,
) -> str:
    """An SVG with one probability track per proposition and event bands over all tracks."""
    t = _times(probs)
    t0, t1 = (float(t[0]), float(t[-1])) if len(t) else (0.0, 1.0)
    span = max(t1 - t0, 1e-9)
    left, right, top = 170, 16, 18
    plot_w = width - left - right
    height = top + row * max(len(probs.names), 1) + 30

    def x(sec: float) -> float:
        return left + (sec - t0) / span * plot_w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="timeline">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{row * len(probs.names)}" fill="#fafafa" stroke="#ccc"/>',
    ]
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
        v = probs.values[:, j]
        pts = " ".join(f"{x(float(tt)):.1f},{y0 + row - 6 - float(p) * (row - 12):.1f}" for tt, p in zip(t, v))
        label = name if len(name) <= 24 else name[:23] + "…"
        parts.append(f'<text x="{left - 8}" y="{y0 + row / 2 + 4}" text-anchor="end" font-size="12">{html.escape(label)}</text>')
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y0 + row}" y2="{y0 + row}" stroke="#e5e5e5"/>')
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.6" points="{pts}"/>')
    for k in range(6):
        sec = t0 + span * k / 5
        parts.append(
            f'<text x="{x(sec):.1f}" y="{height - 8}" text-anchor="middle" font-size="11" fill="#555">{sec:.1f}s</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _img(data: bytes, alt: str) -> str:
    mime = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
    b64 = base64.b64encode(data).decode("ascii")
    return f'<img class="thumb" alt="{html.escape(alt)}" src="data:{mime};base64,{b64}"/>'


_CSS = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; } h3 { font-size: 15px; }
code { background: #f2f2f2; padding: 1px 4px; border-radius: 3px; }
table { border-collapse: collapse; margin: 8px 0; } td, th { border: 1px solid #ddd; padding: 4px 8px; font-size: 13px; }
.thumbs { display: flex; gap: 6px; align-items: center; }
.thumb { height: 90px; border: 1px solid #999; }
.none { color: #888; }
"""


def render_report(sections: Sequence[VideoSection], *, title: str = "framelogic report") -> str:
    """The HTML text of the report."""
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for sec in sections:
        out.append(f"<h2>{html.escape(sec.video)}</h2>")
        times = _times(sec.probabilities)
        for qname, formula in sec.queries:
            matches = [m for m in sec.matches if m.query == qname]
            bands = [(float(times[m.start]), float(times[m.end])) for m in matches]
            truth = [(float(times[a]), float(times[b])) for a, b in sec.ground_truth.get(qname, ())]
            out.append(f"<h3>query <code>{html.escape(qname)}</code>: <code>{html.escape(formula)}</code></h3>")
            shown = [a for a in sec.atoms.get(qname, ()) if a in sec.probabilities.names]
            probs = sec.probabilities.select(shown) if shown else sec.probabilities
            out.append(timeline_svg(probs, bands, truth=truth))
            if not matches:
                out.append('<p class="none">no events</p>')
                continue
            out.append("<table><tr><th>#</th><th>frames</th><th>seconds</th><th>P</th><th>first / last frame</th></tr>")
            for k, m in enumerate(matches):
                thumbs = "".join(
                    _img(sec.thumbnails[i], f"frame {i}") for i in (m.start, m.end) if i in sec.thumbnails
                )
                secs = "" if m.start_time is None else f"{m.start_time:.2f}–{m.end_time:.2f}"
                out.append(
                    f"<tr><td>{k}</td><td>{m.start}–{m.end}</td><td>{secs}</td><td>{m.probability:.3f}</td>"
                    f'<td><div class="thumbs">{thumbs}</div></td></tr>'
                )
            out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ building


@dataclass(frozen=True)
class Report:
    """A report: one section per video; :meth:`html` renders it, :meth:`write` saves it."""

    title: str
    sections: tuple[VideoSection, ...]
    failures: tuple[Failure, ...] = ()

    def html(self) -> str:
        return render_report(self.sections, title=self.title)

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the page (atomically) to ``path``; a folder gets ``index.html``."""
        from framelogic.logic.errors import InputError
        from framelogic.logic.trace import atomic_write_text

        p = Path(path)
        if p.suffix.lower() not in (".html", ".htm"):
            try:
                p.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise InputError(f"cannot create {str(p)!r}: {e.strerror}") from None
            p = p / "index.html"
        atomic_write_text(p, self.html())
        return p

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "videos": [{"video": s.video, "frames": len(s.probabilities), "events": len(s.matches)} for s in self.sections],
            "failures": [{"video": f.video, "error": f.error} for f in self.failures],
        }


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
    return VideoSection(
        title or Path(str(source)).name, probs, list(found), [(q.name, to_text(q.formula)) for q in decls],
        thumbs, dict(ground_truth or {}), {q.name: atom_names(q.formula) for q in decls},
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
            sections.append(build_section(query, source, probs, found, names=names))
        except FramelogicError as e:
            if not (opts.keep_going and len(listed) > 1):
                raise
            failures.append(Failure(str(source), str(e)))
    return Report(title or f"framelogic report: {query.file.path or 'query'}", tuple(sections), tuple(failures))
