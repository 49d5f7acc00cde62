"""The sidebar every page shares: which song, which checkpoint set and checkpoints, which targets and scale.

:func:`render` draws it (``app.py`` calls it before routing) and stores a
:class:`Selection` in the session; pages read it with :func:`selection` and get
the song's audio, views, annotation and analysis from :func:`song_context`,
which shows progress on a first analysis and a clear message (then stops the
page) when something cannot be used. The checkpoint set chosen here is kept in the
session (:func:`resources.use_checkpoint_set`), and every page sees its checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from dashboard import resources
from dashboard.resources import (
    FEATURE_SUBSET_FAMILY,
    NATIVE_SCALES,
    TRUST_BADGES,
    Audio,
    MemoError,
    SongAnalysis,
    SongView,
    scale_of,
    search_songs,
    song_label,
    trained_on_summary,
    trust_of,
)
from dashboard.widgets import plain

__all__ = ["Selection", "SongContext", "render", "selection", "song_context", "context_for", "upload_source",
           "DATASET_LABELS"]

DATASET_LABELS = {
    "synth": "MEMO synthetic corpus (built in)",
    "deam": "DEAM (your copy)",
    "emomusic": "emoMusic / 1000 Songs (your copy)",
    "pmemo": "PMEmo (your copy)",
    "mtg_jamendo": "MTG-Jamendo mood/theme (your copy)",
    "generic": "Generic layout (your folder)",
}
_SOURCES = ("A dataset song", "Upload a file", "Emotion lab song", "Library song")
#: The Library page's hook: a SongSource stored here becomes the "Library song" source on the next run
#: (the page cannot set the source radio itself, which this run has already drawn).
LIBRARY_PENDING = "memo_library_pending"
LIBRARY_SONG = "memo_library_song"
#: The library song (its key) the user asked to analyse afresh on the Song page instead of reading its stored curves.
FRESH_LIBRARY_SONG = "memo_library_fresh"
#: The checkpoint-set choices: the shipped set, or another folder with a manifest.
SHIPPED_SET = "Shipped (checkpoints/)"
OTHER_SET = "Another folder"
_STATE = "memo_selection"
#: Where this run's sidebar error about the song source is (song_context moves it onto the page).
_PROBLEM_SLOT = "memo_problem_slot"
#: Families whose checkpoints start unchosen (the feature-subset study: compared on the Compare page).
_OPTIONAL_FAMILIES = (FEATURE_SUBSET_FAMILY,)


@dataclass
class Selection:
    """What the user chose in the sidebar."""

    source: resources.SongSource | None
    checkpoint_keys: tuple[str, ...]
    targets: tuple[str, ...]
    scale: str  # "-1-1" or the dataset's own scale name
    message: str | None = None  # why there is no song (shown once, by song_context, on the page)
    checkpoint_problems: dict[str, str] = field(default_factory=dict)
    message_level: str = "info"  # "info": a step to take; "error": something is wrong (a folder, a file)


@dataclass(frozen=True)
class _Problem:
    """A reason there is no song that is a problem (shown as an error), not a step still to take."""

    text: str


@dataclass
class SongContext:
    """The current song, ready to draw."""

    source: resources.SongSource
    audio: Audio
    view: SongView
    truth: dict[str, Any] | None  # annotation curves (time_s, valence, arousal, *_std) or None
    analysis: SongAnalysis
    selection: Selection
    #: A library's stored results (:func:`resources.library_analysis`): the LIBRARY folder, when the song was
    #: analysed there, and the library's record of each shown checkpoint; None for a fresh analysis.
    stored_in: str | None = None
    stored_when: str = ""
    stored_entries: dict[str, dict[str, Any]] | None = None

    def explain_missing(self, models: tuple[str, ...], message: str) -> None:
        """Say why a page section has nothing to show: the chosen checkpoints of these models (registry names)
        failed on this song (with the reasons), or none is chosen (``message``, which says what to pick)."""
        loaded, _ = resources.checkpoints()
        failed = {k: self.analysis.problems[k] for k in self.selection.checkpoint_keys
                  if k in self.analysis.problems and k in loaded and loaded[k].info.get("model_name") in models}
        if failed:
            st.warning("Chosen but failed on this song: " + "; ".join(f"**{k}**: {why}" for k, why in failed.items()))
        else:
            st.info(message)

    def results(self, *, task: str | None = None) -> dict[str, Any]:
        """The chosen checkpoints' results (optionally only one task), in sidebar order."""
        out = {}
        keys = list(self.selection.checkpoint_keys)
        if self.stored_in is not None:  # the library's own checkpoints (not in the set in use) cannot be chosen
            loaded, _ = resources.checkpoints()
            keys += [k for k in self.analysis.results if k not in loaded]
        for key in keys:
            result = self.analysis.results.get(key)
            if result is not None and (task is None or result.task == task):
                out[key] = result
        return out


def selection() -> Selection:
    """The current sidebar choice (drawn by :func:`render` on every run)."""
    found = st.session_state.get(_STATE)
    return found if found is not None else Selection(None, (), ("valence", "arousal"), "-1-1", "No song chosen yet.")


def _remembered(key: str) -> str:
    """``key``, with its last value restored: Streamlit forgets a widget's value on runs that do not draw it
    (another dataset chosen), and a typed folder or chosen song should survive that for the session."""
    saved = st.session_state.setdefault("memo_remembered", {})
    if key not in st.session_state and key in saved:
        st.session_state[key] = saved[key]
    return key


def _remember(key: str) -> None:
    if key in st.session_state:
        st.session_state.setdefault("memo_remembered", {})[key] = st.session_state[key]


def _dataset_song(current: resources.Settings) -> tuple[resources.SongSource | None, str | _Problem | None, str]:
    names = list(DATASET_LABELS)
    name = st.selectbox("Dataset", names, format_func=DATASET_LABELS.get, key="memo_dataset")
    if name == "synth":
        root = resources.default_corpus_dir()
        if not resources.corpus_is_ready(root):
            damaged = resources.corpus_is_damaged(root)
            if st.button("Render the demo corpus again" if damaged else "Render the demo corpus",
                         key="memo_render_corpus", type="primary", help=f"150 songs of 45 s into {root}"):
                bar = st.progress(0.0, text="Rendering songs…")
                try:
                    resources.render_default_corpus(
                        lambda done, total: bar.progress(done / total, text=f"{done}/{total} songs"))
                except MemoError as exc:
                    return None, _Problem(f"The corpus could not be rendered: {exc}"), name
                st.rerun()
            button = "Render the demo corpus again" if damaged else "Render the demo corpus"
            return None, (("The built-in corpus is incomplete (an interrupted render). " if damaged else
                           "The built-in corpus is not rendered yet. ") + f"Render it with the **{button}** button "
                          "in the sidebar (a few minutes on two cores, once), or upload a file there."), name
        root_text = str(root)
    elif current.restricted:
        if not current.dataset_roots:
            return None, "Dataset folders are disabled on this server; upload a file instead.", name
        # each root and the folders directly in it (a root such as /srv/data holds the datasets' folders)
        root_text = st.selectbox("Dataset folder", resources.dataset_folders_under_roots(current),
                                 key=f"memo_root_{name}")
    else:
        root_text = st.text_input("Dataset folder", key=_remembered(f"memo_root_{name}"),
                                  placeholder="/path/to/your/copy", help="The dataset's top folder, in its "
                                  "official layout (see the README). It is remembered for this session.")
        _remember(f"memo_root_{name}")
        if not root_text.strip():
            return None, f"Type the folder of your {DATASET_LABELS[name].split(' (')[0]} copy in the sidebar.", name
    try:
        root = resources.check_dataset_root(root_text, current)
        load = resources.dataset(name, str(root))
    except MemoError as exc:
        return None, _Problem(f"That folder cannot be opened as {name}: {exc}"), name
    songs = [s for s in load.songs if s.has_audio]
    if not songs:
        return None, _Problem(f"{root} has {len(load.songs)} annotated songs but none with audio; MEMO analyses "
                              "audio. Add the audio files in the dataset's layout."), name
    query = st.text_input("Search songs", key=f"memo_search_{name}", placeholder="id, title, artist or tag")
    found = search_songs(songs, query, limit=2000)
    if not found:
        return None, f"No song matches {query!r}; clear the search.", name
    labels = {s.song_id: song_label(s) for s in found}
    song_key = _remembered(f"memo_song_{name}")
    if st.session_state.get(song_key) not in labels:
        st.session_state.pop(song_key, None)  # a remembered song the search now hides
    song_id = st.selectbox(f"Song ({len(found)} of {len(songs)})", list(labels), format_func=labels.get,
                           key=song_key)
    _remember(song_key)
    try:
        found = resources.song_file(str(root), song_id, name)
    except (OSError, MemoError) as exc:
        return None, _Problem(f"Song {song_id}'s audio cannot be read: {exc}"), name
    if found is None:
        return None, _Problem(f"Song {song_id} has no audio file."), name
    data, key = found
    return resources.SongSource("dataset", labels[song_id], key, name, str(root), song_id, data), None, name


def upload_source(label: str, key: str, help: str) -> resources.SongSource | None:
    """A file uploader (widget ``key``) and its file as an upload SongSource, or None until a file is given.

    The file stays in memory; its name is only shown (printable characters, the last 80), never used as a path;
    its bytes are hashed once per file, not on every run."""
    upload = st.file_uploader(label, type=list(resources.UPLOAD_TYPES), key=key, help=help)
    if upload is None:
        return None
    data = upload.getvalue()
    name = "".join(ch for ch in str(upload.name)[-80:] if ch.isprintable()) or "upload"
    digests = st.session_state.setdefault(f"{key}_digests", {})
    if upload.file_id not in digests:
        digests.clear()
        digests[upload.file_id] = resources.digest(data)
    return resources.SongSource("upload", name, digests[upload.file_id], data=data)


def _upload_song() -> tuple[resources.SongSource | None, str | None]:
    source = upload_source("Audio file", "memo_upload",
                           "WAV, MP3, FLAC or OGG, up to 12 minutes. It stays in memory and is not saved.")
    return (source, None) if source is not None else (None, "Upload a WAV, MP3, FLAC or OGG file in the sidebar.")


def _checkpoint_set(current: resources.Settings) -> None:
    """Choose the session's checkpoint set: the shipped one, a typed folder (a personal machine) or a set found
    under the configured roots (served). A folder that is not a set gets a message and the previous set stays;
    then say which set is active and what it was trained on."""
    shipped = resources.shipped_checkpoints_dir()
    if current.restricted:
        options = [SHIPPED_SET, *resources.checkpoint_sets_under_roots(current)]
        if st.session_state.get("memo_checkpoint_served") not in options:
            st.session_state.pop("memo_checkpoint_served", None)  # a set no longer there
        choice = st.selectbox("Checkpoint set", options, key="memo_checkpoint_served",
                              help="The shipped checkpoints, or a set (a folder with manifest.json written by "
                              "`python -m memo_core train-defaults --out FOLDER`) directly in a configured root.")
        text = None if choice == SHIPPED_SET else choice
    else:
        choice = st.radio("Checkpoint set", [SHIPPED_SET, OTHER_SET], key="memo_checkpoint_set", horizontal=True)
        text = None
        if choice == OTHER_SET:
            text = st.text_input("Checkpoints folder", key=_remembered("memo_checkpoint_dir"),
                                 placeholder="/path/to/folder with manifest.json",
                                 help="A folder written by `python -m memo_core train-defaults --out FOLDER`. "
                                 "It is remembered for this session.")
            _remember("memo_checkpoint_dir")
            if not text.strip():
                st.info("Type the folder of a checkpoint set (it holds manifest.json); until then the set below "
                        "stays in use.")
                text = None
                choice = None  # keep the previous set
    if text is not None:
        try:
            resources.use_checkpoint_set(resources.check_checkpoints_dir(text, current))
        except MemoError as exc:
            st.warning(f"{exc} The set below stays in use.")
    elif choice == SHIPPED_SET:
        resources.use_checkpoint_set(None)
    active = resources.active_checkpoints_dir()
    found = resources.manifest(active)
    summary = trained_on_summary(found) if found is not None else "no readable manifest"
    if found is not None and "trained_on" not in found:  # an older manifest: what its entries say
        trained = {str(e.get("training_data", "")).split(":")[0].split(" (")[0]
                   for e in resources.manifest_entries(active)}
        summary = "; ".join(sorted(t for t in trained if t)) or summary
    which = "the shipped set" if active == shipped else "set"
    st.caption(f"**In use:** {which} in {plain(active)}  \n**Trained on:** {plain(summary)}")


def _checkpoint_choice() -> tuple[tuple[str, ...], dict[str, str]]:
    loaded, problems = resources.checkpoints()
    entries = {str(e.get("key")): e for e in resources.manifest_entries()}
    if not loaded:
        return (), problems
    families: dict[str, list[str]] = {}
    for key in loaded:
        families.setdefault(str(entries.get(key, {}).get("family", "other")), []).append(key)
    st.caption("On real music: " + " · ".join(f"{badge} {'not validated' if level == 'unvalidated' else level}"
                                              for level, badge in TRUST_BADGES.items()) + " (see the Song page)")
    chosen: list[str] = []
    for family, keys in families.items():
        # a chip holds about 18 characters in the sidebar: the key and its trust badge; the rest in the help
        def label(key: str, _e=entries) -> str:
            return f"{key} {trust_of(_e.get(key, {})).badge}"

        about = "\n".join(f"- **{k}**: {plain(str(entries.get(k, {}).get('features', '?')))} features; trained on "
                          f"{plain(str(entries.get(k, {}).get('training_data', '?')).split(' (')[0])}" for k in keys)
        # the feature-subset ATs start unchosen: thirteen curves on one chart are too many to read
        default = [] if family in _OPTIONAL_FAMILIES else keys
        if not set(st.session_state.get(f"memo_ckpt_{family}", ())) <= set(keys):
            st.session_state.pop(f"memo_ckpt_{family}")  # chosen in another set: start from this set's default
        chosen += st.multiselect(family, keys, default=default, format_func=label, key=f"memo_ckpt_{family}",
                                 help=about)
    return tuple(chosen), problems


def render() -> Selection:
    """Draw the sidebar and store the choice for the pages."""
    current = resources.settings()
    with st.sidebar:
        st.header("Song")
        for problem in current.problems:
            st.warning(problem)
        pending = st.session_state.pop(LIBRARY_PENDING, None)
        if pending is not None:  # the Library page opened a song: it becomes the source
            st.session_state[LIBRARY_SONG] = pending
            st.session_state["memo_source"] = "Library song"
            st.session_state.pop(FRESH_LIBRARY_SONG, None)  # its stored curves first
        offered = {"Emotion lab song": "memo_lab_song", "Library song": LIBRARY_SONG}
        options = [s for s in _SOURCES if s not in offered or offered[s] in st.session_state]
        kind = st.radio("Song source", options, key="memo_source", horizontal=False)
        dataset_name = None
        if kind == "A dataset song":
            source, message, dataset_name = _dataset_song(current)
        elif kind == "Upload a file":
            source, message = _upload_song()
        elif kind == "Library song":
            source, message = st.session_state.get(LIBRARY_SONG), None
        else:
            source, message = st.session_state.get("memo_lab_song"), None
        # The reason there is no song is shown once. A step to take: on the page (song_context). A problem (a
        # folder, a file, a failed render): as an error here, by the widget that caused it, which song_context
        # moves to the page (pages without a song, such as the corpus page, keep it here).
        level = "error" if isinstance(message, _Problem) else "info"
        message = message.text if isinstance(message, _Problem) else message
        slot = st.empty()
        if level == "error":
            slot.error(message)
        st.session_state[_PROBLEM_SLOT] = slot
        st.header("Show")
        shown = st.radio("Targets", ["both", "valence", "arousal"], horizontal=True, key="memo_targets")
        targets = ("valence", "arousal") if shown == "both" else (shown,)
        scale = "-1-1"
        if dataset_name in NATIVE_SCALES:
            own, (lo, hi) = scale_of(dataset_name)
            pick = st.radio("Scale", ["[-1, 1]", f"{dataset_name}'s own ({lo:g} to {hi:g})"], horizontal=True,
                            key="memo_scale")
            scale = own if pick != "[-1, 1]" else "-1-1"
        st.header("Checkpoints")
        _checkpoint_set(current)
        keys, problems = _checkpoint_choice()
        if problems:
            with st.expander(f"⚠️ {len(problems)} checkpoint(s) could not be loaded"):
                for key, reason in problems.items():
                    st.write(f"**{key}**: {reason}")
    chosen = Selection(source, keys, targets, scale, message, problems, level)
    st.session_state[_STATE] = chosen
    return chosen


def _truth(source: resources.SongSource) -> dict[str, Any] | None:
    if source.kind == "dataset" and source.dataset and source.root and source.song_id:
        curves = resources.song_curves(source.root, source.song_id, source.dataset)
        if curves.get("valence") is None and curves.get("arousal") is None:
            return None
        return curves
    if source.kind == "library" and source.root and source.song_id:  # a dataset song of the library
        return resources.library_truth(source.root, source.song_id)
    if source.kind == "lab":
        lab = st.session_state.get("memo_lab_truth")
        return lab if isinstance(lab, dict) else None
    return None


def song_context(*, stored: bool = False) -> SongContext:
    """The sidebar's song with its analysis; shows progress the first time, or a message and stops the page.

    ``stored``: a song opened from a library gets the library's stored curves (no analysis); pages that need the
    models' explanation maps leave it False and analyse the song."""
    chosen = selection()
    if chosen.source is None:
        if chosen.message_level == "error":
            slot = st.session_state.get(_PROBLEM_SLOT)
            if slot is not None:
                slot.empty()  # shown on the page instead
            st.error(chosen.message or "Choose a song in the sidebar.")
        else:
            st.info(chosen.message or "Choose a song in the sidebar.")
        st.stop()
    if (stored and chosen.source.kind == "library" and chosen.source.root and chosen.source.song_id
            and st.session_state.get(FRESH_LIBRARY_SONG) != chosen.source.key):
        return _stored_context(chosen.source, chosen)
    return context_for(chosen.source, chosen, _truth(chosen.source))


def _decoded(source: resources.SongSource) -> resources.Audio:
    audio, error, note = resources.load_song_audio(source)
    if audio is None:
        st.error(f"**{source.name}** cannot be analysed: {error}")
        st.stop()
    if note:
        st.warning(note)
    return audio


def _stored_context(source: resources.SongSource, chosen: Selection) -> SongContext:
    """A library song with the library's stored results: decoded (to hear and see it), not analysed."""
    audio = _decoded(source)
    try:
        analysis, entries, when = resources.library_analysis(str(source.root), str(source.song_id))
    except MemoError as exc:
        st.error(f"The library's results for **{source.name}** cannot be read: {exc}")
        st.stop()
    view = resources.view(source.key, audio)
    return SongContext(source, audio, view, _truth(source), analysis, chosen, stored_in=str(source.root),
                       stored_when=when, stored_entries=entries)


def context_for(source: resources.SongSource, chosen: Selection, truth: dict[str, Any] | None) -> SongContext:
    """``source`` decoded and analysed by every loaded checkpoint (progress shown on a first analysis).

    Shows a clear message and stops the page when the audio cannot be used or no checkpoint loads.
    """
    audio = _decoded(source)
    loaded, _ = resources.checkpoints()
    if not loaded:
        st.error("No checkpoint of the set in use could be loaded (see the sidebar). Choose another checkpoint set, "
                 "restore `checkpoints/` with git, or train the defaults with `python -m memo_core train-defaults`.")
        st.stop()
    keys = tuple(loaded)  # every model once per song: changing the selection then recomputes nothing
    analysis = resources.cached_analysis(source.key, keys)
    if analysis is None:
        bar = st.progress(0.0, text=f"Analysing {source.name}…")

        def progress(step: str, done: int, total: int) -> None:
            text = {"start": "Starting…"}.get(step, step.replace("features ", "Extracted features: ")
                                                          .replace("model ", "Ran model: "))
            bar.progress(min(1.0, done / max(total, 1)), text=f"{text} ({done}/{total})")

        try:
            analysis = resources.analyse(source.key, audio, keys, progress, on_disk=source.kind != "upload")
        except MemoError as exc:
            bar.empty()
            st.error(f"**{source.name}** could not be analysed: {exc}")
            st.stop()
        bar.empty()
    view = resources.view(source.key, audio)
    failed = {k: v for k, v in analysis.problems.items() if k in chosen.checkpoint_keys}
    if failed:
        with st.expander(f"⚠️ {len(failed)} model(s) failed on this song"):
            for key, reason in failed.items():
                st.write(f"**{key}**: {reason}")
    return SongContext(source, audio, view, truth, analysis, chosen)
