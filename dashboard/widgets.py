"""Small widgets the pages share."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import streamlit as st

from dashboard.playhead import playhead
from dashboard.plots.structure import novelty_figure
from dashboard.resources import (
    SCALE_NAMES,
    TRUST_BADGES,
    TRUST_LEVELS,
    TRUST_RULES,
    UNVALIDATED,
    SongStructure,
    Trust,
    section_means,
    sniff_mime,
    to_scale,
    training_sources_table,
    trust_of,
    trust_table,
)

__all__ = ["choice_slider", "settle_choice", "plain", "trust_notes", "trust_tables", "TRUST_EXPANDER",
           "player", "section_table"]

#: The title of the expander with every checkpoint's real-music figures.
TRUST_EXPANDER = "How far to trust these models on real music"
#: The box each trust level is shown in.
_BOXES = {"good": st.success, "limited": st.warning, "poor": st.warning, "unvalidated": st.info}  # st.error: failures only


def settle_choice(key: str, options: Sequence[Any], *, default: Any = None) -> Any:
    """The current value of widget ``key``: kept while it is one of ``options``, else ``default`` (the middle
    option when not given), e.g. after switching to a shorter song. Pages call it to draw a chart marker
    before the widget itself, which :func:`choice_slider` draws further down."""
    options = list(options)
    if options and st.session_state.get(key) not in options:
        st.session_state[key] = options[len(options) // 2] if default is None else default
    return st.session_state.get(key)


def choice_slider(label: str, options: Sequence[Any], *, key: str, format_func: Callable[[Any], str] = str,
                  container: Any = st, **kwargs: Any) -> Any:
    """``select_slider`` over ``options``, or the only option with a note when there is just one (a slider
    needs two ends: a song shorter than a second has one frame)."""
    options = list(options)
    if len(options) >= 2:
        settle_choice(key, options)
        return container.select_slider(label, options=options, key=key, format_func=format_func, **kwargs)
    if not options:
        container.caption(f"{label}: nothing to choose.")
        return None
    container.caption(f"{label}: {format_func(options[0])} (the only one in this song)")
    return options[0]


def plain(text: str) -> str:
    """Free text from a manifest, shown as written (Markdown's emphasis, links and formulas escaped)."""
    for ch in "\\*_[]$`<>":
        text = text.replace(ch, "\\" + ch)
    return text


def trust_notes(trusts: Mapping[str, Trust]) -> None:
    """How far to trust the shown checkpoints on real music: one coloured box per level (green good, yellow
    limited and poor, each saying which, blue not validated; red stays for failures), each checkpoint with its figures and the validation's verdict."""
    for level in TRUST_LEVELS:
        group = [t for t in trusts.values() if t.level == level]
        if not group:
            continue
        if level == "unvalidated":
            names = ", ".join(f"**{t.key}**" for t in group)
            they = "they follow" if len(group) > 1 else "it follows"
            _BOXES[level](f"{TRUST_BADGES[level]} {names}: {UNVALIDATED}, so how well {they} real music is not "
                          "known.")
            continue
        lines = [f"{TRUST_BADGES[level]} **Trust on real music: {level}**"]
        for t in group:
            met = f" ({t.targets_met[0]} of {t.targets_met[1]} targets met)" if t.targets_met else ""
            why = f" Poor because {'; '.join(t.reasons)}." if level == "poor" and t.reasons else ""
            lines.append(f"- **{t.key}**: {t.label}{met}.{why}" + (f" *{plain(t.verdict)}*" if t.verdict else ""))
        _BOXES[level]("\n".join(lines))


def trust_tables(entries: Sequence[Mapping[str, Any]]) -> None:
    """Every checkpoint's real-music figures beside the baselines' on the same songs, what the levels mean,
    and what each checkpoint was trained on with the sources' licences."""
    table = trust_table(entries)
    if table.empty:
        st.info("No checkpoint to show.")
        return
    intervals = sorted({t.interval for t in map(trust_of, entries) if t.interval})
    shown = table.assign(trust=[f"{TRUST_BADGES[level]} {level}" if level in TRUST_BADGES else "baseline"
                                for level in table["trust"]])
    st.dataframe(shown, hide_index=True, width="stretch")
    st.caption("**4Q**: how well the song's mean prediction separates high from low arousal (valence) on held-out "
               "4Q songs by artists the models were not trained on, as ROC-AUC (0.5 is chance, 1 perfect). "
               "**Clips**: Pearson r and CCC with listeners' ratings over the clips' frames. Rows marked "
               "*(baseline)* are simple baselines scored on the same songs: a model that does no better than "
               "them adds nothing. "
               + (f"Brackets: {'; '.join(intervals)}. " if intervals else "")
               + "Levels: " + "; ".join(f"{TRUST_BADGES[level]} **{level}**: {TRUST_RULES[level]}"
                                        for level in TRUST_LEVELS) + ".")
    st.markdown("**What they were trained on**")
    st.dataframe(training_sources_table(entries), hide_index=True, width="stretch")


def player(data: bytes, *, hint: str | None = None) -> None:
    """The song's audio player with the playhead (:mod:`dashboard.playhead`): a click on any chart of the page on
    the song's time axis plays from there, and a line on those charts follows the player."""
    st.audio(data, format=sniff_mime(data))
    playhead() if hint is None else playhead(hint)



def section_table(curves: Mapping[str, Any], structure: SongStructure, targets: Sequence[str], *, key: str,
                  scale: str | None = None) -> None:
    """Each curve's mean in each section of the song (a table keyed ``key``), what the sections are, and an
    expander with the novelty curve they were found on. ``scale``: show the means on that scale (a key of
    ``SCALE_NAMES``); default the [-1, 1] scale the curves are stored on."""
    sections = section_means(curves, structure.sections, targets=tuple(targets))
    shown = sections.drop(columns=["start_s", "end_s"])  # the section's label holds its span
    for target in targets:  # "n/a" where a curve has no frame in a section (an annotation that starts at 15 s)
        values = sections[target] if scale is None else [float(to_scale(v, scale)) for v in sections[target]]
        shown[target] = [f"{v:+.2f}" if v == v else "n/a" for v in values]
    st.dataframe(shown, hide_index=True, width="stretch", key=key)
    on_scale = f", on the {SCALE_NAMES[scale]} scale" if scale is not None else ""
    st.caption(f"{len(structure.sections)} section(s), found where harmony and timbre change (tempo about "
               f"{structure.tempo_bpm:.0f} bpm); each row: one curve's mean over the section's frames{on_scale}.")
    with st.expander("How the sections were found"):
        st.plotly_chart(novelty_figure(structure, title="Novelty: how much the music changes around each moment"),
                        width="stretch", key=f"{key}_novelty")
        st.caption("A checkerboard kernel slides along the diagonal of the song's self-similarity (chroma and MFCC "
                   "frames, about five a second); peaks of at least a third of the highest, four seconds apart or "
                   "more, start a section (Foote 2000).")
