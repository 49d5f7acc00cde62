"""A one-page HTML report of one song's analysis, for a class handout.

:func:`song_report` takes a :class:`~memo_core.explain.analysis.SongAnalysis` and returns one self-contained
HTML page (no script, no network: the charts are inline SVG drawn here, so it prints and opens offline):
the title and the song, the checkpoints with their trust level on real music and their training data, the
valence and arousal curves (with the annotation or design, and the section starts), the song's place on
Russell's quadrants (each model's mean), and the per-section table
(:func:`memo_core.explain.structure.section_means`).

>>> html = song_report(analysis, song="My song.wav", entries=manifest["checkpoints"])   # doctest: +SKIP
>>> Path("handout.html").write_text(html)                                              # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from memo_core.explain.analysis import SongAnalysis
from memo_core.explain.song import NEUTRAL_MARGIN, QUADRANTS
from memo_core.explain.structure import SongStructure, section_means
from memo_core.explain.trust import trust_of

__all__ = ["CheckpointNote", "checkpoint_notes", "quadrant_words", "song_report", "REPORT_COLOURS"]

#: Line colours of the checkpoints, in order (Okabe-Ito, legible in print and for colour-blind readers).
REPORT_COLOURS = ("#E69F00", "#0072B2", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#8c564b", "#F0E442",
                  "#9467bd", "#17becf")
_TRUTH_COLOUR = "#555555"
_SECTION_COLOUR = "#8e0152"
#: A mean within this of an axis is "near the border": no quadrant is named on that side (the Song page's margin,
#: :data:`memo_core.explain.song.NEUTRAL_MARGIN`, so the two never draw the line in different places).
BORDER = NEUTRAL_MARGIN
TARGETS = ("valence", "arousal")


@dataclass(frozen=True)
class CheckpointNote:
    """What the report says about one checkpoint."""

    key: str
    model: str = ""
    trust: str = "unvalidated"
    trust_label: str = ""
    training_data: str = ""


def checkpoint_notes(entries: Sequence[Mapping[str, Any]]) -> dict[str, CheckpointNote]:
    """``{key: CheckpointNote}`` from manifest entries: the model, the trust level on real music
    (:func:`memo_core.explain.trust.trust_of`) and the training data."""
    out = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or "key" not in entry:
            continue
        trust = trust_of(entry)
        out[str(entry["key"])] = CheckpointNote(str(entry["key"]), str(entry.get("model", "")), trust.level,
                                                trust.label, str(entry.get("training_data", "")))
    return out


def quadrant_words(valence: float, arousal: float, *, border: float = BORDER) -> str:
    """Russell's quadrant of a mean point, or where it sits when it is near an axis (no quadrant is called
    on a mean within ``border`` of zero)."""
    if not (np.isfinite(valence) and np.isfinite(arousal)):
        return "n/a"
    near_v, near_a = abs(valence) < border, abs(arousal) < border
    if near_v and near_a:
        return "near the centre (no clear quadrant)"
    if near_v:
        return f"{'energetic' if arousal > 0 else 'calm'}, valence near neutral"
    if near_a:
        return f"{'pleasant' if valence > 0 else 'unpleasant'}, arousal near neutral"
    return QUADRANTS[(1 if valence > 0 else -1, 1 if arousal > 0 else -1)]


# --------------------------------------------------------------------------- inline SVG


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _polyline(t: np.ndarray, y: np.ndarray, sx, sy, colour: str, width: float, name: str) -> str:
    keep = np.isfinite(t) & np.isfinite(y)
    if keep.sum() < 2:
        return ""
    points = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(t[keep], y[keep]))
    return (f'<polyline fill="none" stroke="{colour}" stroke-width="{width}" points="{points}">'
            f"<title>{_e(name)}</title></polyline>")


def _curves_svg(curves: list[tuple[str, pd.DataFrame | Mapping, str, float]], duration: float,
                boundaries: Sequence[float], target: str, *, width: int = 720, height: int = 170) -> str:
    left, right, top, bottom = 48, 10, 18, 26
    w, h = width - left - right, height - top - bottom
    duration = max(float(duration), 1e-6)

    def sx(t: float) -> float:
        return left + w * min(max(t / duration, 0.0), 1.0)

    def sy(v: float) -> float:
        return top + h * (1 - (min(max(v, -1.0), 1.0) + 1) / 2)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{_e(target)} over time" class="chart">',
             f'<text x="{left}" y="12" font-size="12" font-weight="bold">{_e(target.capitalize())}</text>',
             f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#bbb"/>']
    for v in (-1, -0.5, 0, 0.5, 1):
        y = sy(v)
        dash = ' stroke-dasharray="3,3"' if v else ""
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"{dash}/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{v:g}</text>')
    step = max(5, int(np.ceil(duration / 8 / 5.0)) * 5)
    for t in np.arange(0, duration + 1e-9, step):
        parts.append(f'<text x="{sx(t):.1f}" y="{top + h + 14}" font-size="10" text-anchor="middle">{t:g}</text>')
    parts.append(f'<text x="{left + w}" y="{height - 2}" font-size="10" text-anchor="end">time (s)</text>')
    for b in boundaries:
        parts.append(f'<line x1="{sx(b):.1f}" x2="{sx(b):.1f}" y1="{top}" y2="{top + h}" '
                     f'stroke="{_SECTION_COLOUR}" stroke-width="1.5"/>')
    for name, frame, colour, line in curves:
        values = frame.get(target)
        if values is None:
            continue
        parts.append(_polyline(np.asarray(frame["time_s"], float), np.asarray(values, float), sx, sy, colour, line,
                               name))
    parts.append("</svg>")
    return "".join(parts)


def _plane_svg(means: list[tuple[str, float, float, str]], *, size: int = 300) -> str:
    pad = 26
    w = size - 2 * pad

    def sx(v: float) -> float:
        return pad + w * (min(max(v, -1.0), 1.0) + 1) / 2

    def sy(a: float) -> float:
        return pad + w * (1 - (min(max(a, -1.0), 1.0) + 1) / 2)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" role="img" '
             'aria-label="valence-arousal plane" class="chart">',
             f'<rect x="{pad}" y="{pad}" width="{w}" height="{w}" fill="none" stroke="#bbb"/>',
             f'<line x1="{sx(0)}" x2="{sx(0)}" y1="{pad}" y2="{pad + w}" stroke="#999"/>',
             f'<line x1="{pad}" x2="{pad + w}" y1="{sy(0)}" y2="{sy(0)}" stroke="#999"/>',
             f'<text x="{size / 2}" y="{size - 6}" font-size="10" text-anchor="middle">valence →</text>',
             f'<text x="10" y="{size / 2}" font-size="10" text-anchor="middle" '
             f'transform="rotate(-90 10 {size / 2})">arousal →</text>']
    for (v, a), words in QUADRANTS.items():
        parts.append(f'<text x="{sx(0.5 * v):.1f}" y="{sy(0.9 * a):.1f}" font-size="10" fill="#888" '
                     f'text-anchor="middle">{_e(words)}</text>')
    for name, v, a, colour in means:
        if not (np.isfinite(v) and np.isfinite(a)):
            continue
        parts.append(f'<circle cx="{sx(v):.1f}" cy="{sy(a):.1f}" r="5" fill="{colour}"><title>{_e(name)}: valence '
                     f'{v:+.2f}, arousal {a:+.2f}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


# --------------------------------------------------------------------------- the page


def _table(frame: pd.DataFrame, *, digits: int = 2) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for value in row:
            if isinstance(value, (float, np.floating)):
                cells.append(f'<td class="num">{"n/a" if not np.isfinite(value) else f"{value:+.{digits}f}"}</td>')
            else:
                cells.append(f"<td>{_e(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _sections_wide(sections: pd.DataFrame) -> pd.DataFrame:
    """One row per section, one column per curve, each cell ``"+0.12 / -0.30"`` (valence / arousal): a song's
    sections and curves fit on a page."""
    def cell(row: pd.Series) -> str:
        return " / ".join("n/a" if not np.isfinite(row.get(t, np.nan)) else f"{row[t]:+.2f}" for t in TARGETS
                          if t in row)
    curves = list(dict.fromkeys(sections["curve"]))
    rows = []
    for section, part in sections.groupby("section", sort=False):
        by_curve = {r["curve"]: cell(r) for _, r in part.iterrows()}
        rows.append({"section": section, **{c: by_curve.get(c, "n/a") for c in curves}})
    return pd.DataFrame(rows, columns=["section", *curves])


_CSS = """
body{font-family:Helvetica,Arial,sans-serif;font-size:12px;color:#222;max-width:760px;margin:18px auto;}
h1{font-size:19px;margin:0 0 2px 0} h2{font-size:14px;margin:14px 0 4px 0;border-bottom:1px solid #ccc}
.sub{color:#555;margin:0 0 8px 0} table{border-collapse:collapse;width:100%;margin:2px 0}
th,td{border:1px solid #ccc;padding:2px 5px;text-align:left;vertical-align:top} td.num{text-align:right}
.legend span{display:inline-block;margin-right:12px} .sw{display:inline-block;width:12px;height:3px;
vertical-align:middle;margin-right:4px} .row{display:flex;gap:14px;align-items:flex-start}
.note{color:#555;font-size:11px} svg.chart{display:block}
@media print{body{margin:0} h2{break-after:avoid}}
"""


def song_report(analysis: SongAnalysis, *, song: str | None = None, title: str = "How does this song feel?",
                checkpoints: Sequence[str] | None = None, entries: Sequence[Mapping[str, Any]] = (),
                truth: Mapping[str, Any] | None = None, truth_label: str = "annotation",
                structure: SongStructure | None = None, sections: pd.DataFrame | None = None,
                created: str | None = None) -> str:
    """One self-contained HTML page of a song's analysis.

    Args:
        analysis: the song analysed by some checkpoints.
        song: the song's name as the reader knows it (default: ``analysis.source``).
        title: the page's heading.
        checkpoints: the valence/arousal checkpoints to show, in order (default: every per-frame result).
        entries: manifest entries of the checkpoints (for the trust level and the training data; a checkpoint
            without one is listed as not validated).
        truth: the annotation (or a design) to draw with the models: ``time_s`` and target arrays.
        truth_label: what ``truth`` is called ("annotation", "design").
        structure: the song's beats and sections (section starts are drawn on the curves).
        sections: the per-section table; default: :func:`section_means` of the curves on ``structure``'s
            sections.
        created: the date printed (default: today).

    Returns:
        The page as a string (UTF-8 HTML, no scripts, no external resources).
    """
    keys = [k for k in (checkpoints if checkpoints is not None else analysis.results)
            if k in analysis.results and getattr(analysis.results[k], "task", "regression") == "regression"]
    notes = checkpoint_notes(entries)
    colours = {k: REPORT_COLOURS[i % len(REPORT_COLOURS)] for i, k in enumerate(keys)}
    predictions = {k: analysis.results[k].predictions for k in keys}
    name = song or analysis.source
    created = created or _dt.date.today().isoformat()
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{_e(title)}: {_e(name)}"
           "</title>", f"<style>{_CSS}</style></head><body>", f"<h1>{_e(title)}</h1>",
           f'<p class="sub"><b>Song:</b> {_e(name)} · {analysis.duration_s:.1f} s · analysed with MEMO on '
           f"{_e(created)}</p>"]

    out.append("<h2>The models</h2>")
    rows = []
    for k in keys:
        note = notes.get(k, CheckpointNote(k))
        rows.append({"checkpoint": k, "model": note.model or getattr(analysis.results[k], "model_name", ""),
                     "trust on real music": note.trust + (f": {note.trust_label}" if note.trust_label
                                                          and note.trust != "unvalidated" else ""),
                     "trained on": note.training_data or "unknown"})
    if rows:
        models = pd.DataFrame(rows)
        if models["trained on"].nunique() == 1 and len(models) > 1:  # one shared source: said once, not per row
            out.append(_table(models.drop(columns="trained on")))
            out.append(f'<p class="note"><b>All trained on:</b> {_e(models["trained on"].iloc[0])}</p>')
        else:
            out.append(_table(models))
        if any(notes.get(k, CheckpointNote(k)).trust in ("unvalidated", "poor") for k in keys):
            out.append('<p class="note">Models not validated on real recordings, or poor there, learned from '
                       "rendered music: read their curves as what such a model hears, not as how the song "
                       "feels.</p>")
    else:
        out.append("<p>No valence/arousal model was run on this song.</p>")

    out.append("<h2>Valence and arousal over time</h2>")
    curves: list[tuple[str, Any, str, float]] = []
    if truth is not None:
        curves.append((truth_label, truth, _TRUTH_COLOUR, 3.0))
    curves += [(k, predictions[k], colours[k], 1.6) for k in keys]
    legend = "".join(f'<span><i class="sw" style="background:{c}"></i>{_e(n)}</span>' for n, _, c, _ in curves)
    if structure is not None and len(structure.boundaries_s):
        legend += f'<span><i class="sw" style="background:{_SECTION_COLOUR}"></i>section start</span>'
    out.append(f'<div class="legend">{legend}</div>')
    bounds = list(structure.boundaries_s) if structure is not None else []
    for target in TARGETS:
        out.append(_curves_svg(curves, analysis.duration_s, bounds, target))
    out.append('<p class="note">Valence: unpleasant (-1) to pleasant (+1). Arousal: calm (-1) to energetic (+1).'
               "</p>")

    out.append("<h2>Where the song sits</h2>")
    means = []
    for n, frame, colour, _ in curves:
        v = frame.get("valence")
        a = frame.get("arousal")
        mv = float(np.nanmean(np.asarray(v, float))) if v is not None and len(v) else float("nan")
        ma = float(np.nanmean(np.asarray(a, float))) if a is not None and len(a) else float("nan")
        means.append((n, mv, ma, colour))
    plane = _plane_svg(means)
    table = pd.DataFrame([{"": n, "mean valence": v, "mean arousal": a, "quadrant": quadrant_words(v, a)}
                          for n, v, a, _ in means], columns=["", "mean valence", "mean arousal", "quadrant"])
    out.append(f'<div class="row"><div>{plane}</div><div style="flex:1">{_table(table)}'
               f'<p class="note">A quadrant is named only where the mean is at least {BORDER:g} from the axis.</p>'
               "</div></div>")

    if sections is None and structure is not None:
        sections = section_means({n: f for n, f, _, _ in curves}, structure.sections)
    out.append("<h2>Section by section</h2>")
    if sections is not None and not sections.empty:
        out.append(_table(_sections_wide(sections)))
        out.append('<p class="note">Each cell: the mean valence / arousal of the curve over the section.</p>')
        if structure is not None:
            out.append(f'<p class="note">Sections found from changes in harmony and timbre; tempo about '
                       f"{structure.tempo_bpm:.0f} bpm.</p>")
    else:
        out.append("<p>No section analysis.</p>")
    out.append('<p class="note">Made with MEMO (explainable music emotion recognition). The numbers are model '
               "outputs, not measurements of how listeners feel.</p>")
    out.append("</body></html>")
    return "\n".join(out)
