"""The only place in the dashboard with ``st.cache_*``: every call into memo_core goes through here.

What is cached where:

- ``st.cache_resource``: the loaded checkpoint sets (shared by every session,
  eval mode; keyed by folder and its manifest's modification), and the
  in-process store of song analyses (keyed by checkpoint set too);
- ``st.cache_data``: dataset tables, songs' audio bytes, display views
  (waveform, log-mel, chromagram), rendered Emotion-lab songs;
- on disk (memo_core): features and analyses, so a song analysed once is
  quick again after a restart.

Serving to a class: :func:`settings` reads ``.streamlit/memo.toml`` and the
``MEMO_DATASET_ROOTS`` environment variable; when roots are configured, a
dataset folder must lie inside one of them (after resolving links), and the
sidebar offers the roots and the folders directly in them instead of a free path
field. Uploads stay in memory.
Analyses (songs, deletion tests, the Compare page's experiment) run in at most
``$MEMO_MAX_ANALYSES`` (or ``max_analyses`` in ``.streamlit/memo.toml``) slots at
once across every session (:mod:`dashboard.limits`); other sessions wait in line
and see their place.

Checkpoint sets: the session's set (chosen in the sidebar, stored under
:data:`CHECKPOINT_SET_STATE`) is what :func:`checkpoints`, :func:`manifest_entries`
and every page see; the shipped ``checkpoints/`` (or ``$MEMO_CHECKPOINTS_DIR``)
when none is chosen. Another set is any folder with a readable ``manifest.json``
(``python -m memo_core train-defaults --out FOLDER``), checked by
:func:`check_checkpoints_dir` against the same roots as dataset folders.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
import tomllib
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import limits

# The pages' and plots' one door into memo_core: what they draw, re-exported (``name as name``).
from memo_core.audio import FRAME_SECONDS as FRAME_SECONDS
from memo_core.audio import Audio, SilenceWarning, encode_audio, load_audio
from memo_core.audio import sniff_mime as sniff_mime
from memo_core.data import DatasetLoad, list_datasets, load_dataset, synth
from memo_core.errors import AudioError, CheckpointError, DatasetError, MemoError
from memo_core.experiments.compare_features import DEFAULT_SEEDS as DEFAULT_SEEDS
from memo_core.experiments.compare_features import run_experiment as _run_experiment
from memo_core.experiments.library.store import DATASET_COLUMNS as DATASET_COLUMNS
from memo_core.experiments.library.store import open_library
from memo_core.experiments.library.stored import StoredSong, stored_song
from memo_core.explain._common import nearest_frame as nearest_frame
from memo_core.explain.ab import MapDifference as MapDifference
from memo_core.explain.ab import align_curves as align_curves
from memo_core.explain.ab import default_pair as default_pair
from memo_core.explain.ab import difference_summary as difference_summary
from memo_core.explain.ab import map_difference as map_difference
from memo_core.explain.ab import shared_maps as shared_maps
from memo_core.explain.analysis import (
    SongAnalysis,
    analyse_song,
    checkpoint_fingerprint,
)
from memo_core.explain.attention import FLAT_LIFT as FLAT_LIFT
from memo_core.explain.attention import attention_received as attention_received
from memo_core.explain.attention import attention_row as attention_row
from memo_core.explain.attention import colour_range as colour_range
from memo_core.explain.attention import flatness as flatness
from memo_core.explain.attention import flatness_note as flatness_note
from memo_core.explain.attention import later_frame_weight as later_frame_weight
from memo_core.explain.attention import layer_attention as layer_attention
from memo_core.explain.attention import pool_for_display as pool_for_display
from memo_core.explain.attention import temporal_attention as temporal_attention
from memo_core.explain.attention import top_attended as top_attended
from memo_core.explain.collection import LIBRARY_AVERAGE as LIBRARY_AVERAGE
from memo_core.explain.collection import filter_songs as filter_songs
from memo_core.explain.collection import folders_of as folders_of
from memo_core.explain.collection import in_folder as in_folder
from memo_core.explain.collection import label_agreement as label_agreement
from memo_core.explain.collection import library_models as library_models
from memo_core.explain.collection import model_values as model_values
from memo_core.explain.collection import subset_difference as subset_difference
from memo_core.explain.collection import tags_of as tags_of
from memo_core.explain.compare import BASELINE_MODEL as BASELINE_MODEL
from memo_core.explain.compare import EXPERIMENT_FEATURES as EXPERIMENT_FEATURES
from memo_core.explain.compare import EXPERIMENT_METRICS as EXPERIMENT_METRICS
from memo_core.explain.compare import EXPERIMENT_MODELS as EXPERIMENT_MODELS
from memo_core.explain.compare import METRIC_DESCRIPTIONS as METRIC_DESCRIPTIONS
from memo_core.explain.compare import TAG_METRICS as TAG_METRICS
from memo_core.explain.compare import TARGETS as TARGETS
from memo_core.explain.compare import checkpoint_metrics as checkpoint_metrics
from memo_core.explain.compare import compare_headline as compare_headline
from memo_core.explain.compare import feature_subset_metrics as feature_subset_metrics
from memo_core.explain.compare import lower_is_better as lower_is_better
from memo_core.explain.compare import metric_names as metric_names
from memo_core.explain.compare import paper_rows as paper_rows
from memo_core.explain.compare import seed_summary as seed_summary
from memo_core.explain.compare import tagger_metrics as tagger_metrics
from memo_core.explain.coverage import MIN_CELL_SONGS as MIN_CELL_SONGS
from memo_core.explain.coverage import coverage_grid as coverage_grid
from memo_core.explain.coverage import coverage_note as coverage_note
from memo_core.explain.damff import UnfoldedMap as UnfoldedMap
from memo_core.explain.damff import bands_on_view as bands_on_view
from memo_core.explain.damff import damff_step as damff_step
from memo_core.explain.damff import damff_variant as damff_variant
from memo_core.explain.damff import damff_variant_table as damff_variant_table
from memo_core.explain.damff import gate_share as gate_share
from memo_core.explain.damff import logmel_between as logmel_between
from memo_core.explain.damff import unfold_damff as unfold_damff
from memo_core.explain.faithfulness import map_notes as map_notes
from memo_core.explain.faithfulness import scale_table as scale_table
from memo_core.explain.faithfulness import song_faithfulness
from memo_core.explain.familiarity import DISTANCE_MAP as DISTANCE_MAP
from memo_core.explain.familiarity import Familiarity as Familiarity
from memo_core.explain.familiarity import familiarity_notes as familiarity_notes
from memo_core.explain.familiarity import frame_levels_db, results_familiarity
from memo_core.explain.lab import follow_summaries as follow_summaries
from memo_core.explain.multiscale import DBLSTM_SCALES as DBLSTM_SCALES
from memo_core.explain.multiscale import MCA_SCALES as MCA_SCALES
from memo_core.explain.multiscale import avg_fusion as avg_fusion
from memo_core.explain.multiscale import is_uniform as is_uniform
from memo_core.explain.multiscale import scale_curves as scale_curves
from memo_core.explain.multiscale import scale_frames as scale_frames
from memo_core.explain.multiscale import scale_label as scale_label
from memo_core.explain.multiscale import (
    scale_predictions_table as scale_predictions_table,
)
from memo_core.explain.multiscale import scale_weights_table as scale_weights_table
from memo_core.explain.multiscale import window_attention_at as window_attention_at
from memo_core.explain.report import song_report as song_report
from memo_core.explain.song import NATIVE_SCALES as NATIVE_SCALES
from memo_core.explain.song import QUADRANTS as QUADRANTS
from memo_core.explain.song import SCALE_NAMES as SCALE_NAMES
from memo_core.explain.song import SONG_METRICS as SONG_METRICS
from memo_core.explain.song import SongView, corpus_summary, song_view
from memo_core.explain.song import curves_table as curves_table
from memo_core.explain.song import focus_model as focus_model
from memo_core.explain.song import model_spread as model_spread
from memo_core.explain.song import scale_of as scale_of
from memo_core.explain.song import scale_range as scale_range
from memo_core.explain.song import search_songs as search_songs
from memo_core.explain.song import song_label as song_label
from memo_core.explain.song import song_metrics_table as song_metrics_table
from memo_core.explain.song import song_position_table as song_position_table
from memo_core.explain.song import song_summary as song_summary
from memo_core.explain.song import to_scale as to_scale
from memo_core.explain.structure import SongStructure as SongStructure
from memo_core.explain.structure import section_means as section_means
from memo_core.explain.structure import song_structure as _song_structure
from memo_core.explain.tags import attention_neighbourhood as attention_neighbourhood
from memo_core.explain.tags import attention_time_lean as attention_time_lean
from memo_core.explain.tags import fuse_taggers as fuse_taggers
from memo_core.explain.tags import tag_order as tag_order
from memo_core.explain.tags import tag_score_table as tag_score_table
from memo_core.explain.tags import tag_table_wide as tag_table_wide
from memo_core.explain.trust import FLAT_TAG_STD as FLAT_TAG_STD
from memo_core.explain.trust import FLAT_TAGS as FLAT_TAGS
from memo_core.explain.trust import TAG_STANDS_OUT as TAG_STANDS_OUT
from memo_core.explain.trust import TRUST_BADGES as TRUST_BADGES
from memo_core.explain.trust import TRUST_LEVELS as TRUST_LEVELS
from memo_core.explain.trust import TRUST_RULES as TRUST_RULES
from memo_core.explain.trust import UNVALIDATED as UNVALIDATED
from memo_core.explain.trust import Trust, trust_of
from memo_core.explain.trust import tag_contrast as tag_contrast
from memo_core.explain.trust import tag_spread_of as tag_spread_of
from memo_core.explain.trust import tags_stand_out as tags_stand_out
from memo_core.explain.trust import trained_on_brief as trained_on_brief
from memo_core.explain.trust import trained_on_summary as trained_on_summary
from memo_core.explain.trust import training_sources_table as training_sources_table
from memo_core.explain.trust import trust_brief as trust_brief
from memo_core.explain.trust import trust_table as trust_table
from memo_core.papers import PAPER_SPECS as PAPER_SPECS
from memo_core.pretrained import FEATURE_SUBSET_FAMILY as FEATURE_SUBSET_FAMILY
from memo_core.pretrained import (
    MANIFEST_NAME,
    default_checkpoints_dir,
    load_default_checkpoints,
    read_manifest,
)

__all__ = [
    "Settings", "settings", "check_dataset_root", "default_corpus_dir", "corpus_is_ready", "corpus_is_damaged",
    "render_default_corpus", "dataset", "corpus_table", "song_curves", "song_audio", "SongSource",
    "load_song_audio", "song_file", "checkpoints", "manifest_entries", "loaded_entries", "trust", "view",
    "CHECKPOINT_SET_STATE", "shipped_checkpoints_dir", "active_checkpoints_dir", "use_checkpoint_set",
    "check_checkpoints_dir", "checkpoint_sets_under_roots", "manifest", "dataset_folders_under_roots",
    "cached_analysis", "analyse", "levels", "song_familiarity",
    "faithfulness", "validation_faithfulness", "song_structure",
    "UPLOAD_TYPES", "MAX_UPLOAD_SECONDS", "analysis_slot", "run_experiment",
    "LIBRARY_ENV", "default_library_dir", "check_library_dir", "library_tables", "library_curves", "library_song",
]

#: The embedded demo corpus the dashboard renders on first use.
DEMO_N_SONGS = 150
DEMO_SEED = 0
#: File types the uploader takes, and the longest song analysed (30 min files are refused with a message).
UPLOAD_TYPES = ("wav", "mp3", "flac", "ogg")
MAX_UPLOAD_SECONDS = 12 * 60.0
ROOTS_ENV = "MEMO_DATASET_ROOTS"
_SETTINGS_FILE = Path(__file__).resolve().parents[1] / ".streamlit" / "memo.toml"


# --------------------------------------------------------------------------- serving settings


@dataclass(frozen=True)
class Settings:
    """How the app is served: ``dataset_roots`` empty means any folder may be opened (a personal machine)."""

    dataset_roots: tuple[Path, ...] = ()
    source: str = "default"
    problems: tuple[str, ...] = ()

    @property
    def restricted(self) -> bool:
        return bool(self.dataset_roots) or self.source != "default"


def settings() -> Settings:
    """``MEMO_DATASET_ROOTS`` (folders joined with ``os.pathsep``) or ``dataset_roots`` in ``.streamlit/memo.toml``.

    Set either (even to an empty list in the file, with ``restrict = true``) to serve the app to
    others: the free folder field is hidden and only folders inside the roots open.
    """
    problems: list[str] = []
    env = os.environ.get(ROOTS_ENV)
    if env is not None:
        raw, source = [p for p in env.split(os.pathsep) if p.strip()], ROOTS_ENV
        restrict = True
    else:
        raw, source, restrict = [], "default", False
        if _SETTINGS_FILE.is_file():
            try:
                data = tomllib.loads(_SETTINGS_FILE.read_text(encoding="utf-8"))
                listed = data.get("dataset_roots", [])
                if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
                    # a plain string would be read letter by letter, "/" first: refuse it, do not guess
                    raise TypeError("dataset_roots must be a list of folder paths, e.g. [\"/srv/data/DEAM\"]")
                raw = listed
                restrict = bool(data.get("restrict", bool(raw)))
                source = str(_SETTINGS_FILE) if restrict else "default"
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, TypeError) as exc:
                # an unreadable settings file must not open every folder to a class: restrict to nothing
                problems.append(f"{_SETTINGS_FILE} could not be read ({exc}); dataset folders are disabled.")
                raw, restrict, source = [], True, str(_SETTINGS_FILE)
    roots = []
    for entry in raw:
        path = _resolved(entry)
        if path is not None and path.is_dir():
            roots.append(path)
        else:
            problems.append(f"configured dataset root {entry} is not a folder; it is ignored.")
    limit_problem = limits.analysis_limit(_SETTINGS_FILE)[1]
    if limit_problem:
        problems.append(limit_problem)
    return Settings(tuple(roots), source if (roots or restrict) else "default", tuple(problems))


def _resolved(text: str) -> Path | None:
    """``text`` as an absolute path with ``~`` and links resolved, or None when it cannot be one
    (an unknown ``~user``, a name too long for the file system, a loop of links)."""
    try:
        path = Path(text).expanduser().resolve()
        path.exists()  # ENAMETOOLONG and friends surface here
        return path
    except (OSError, RuntimeError, ValueError):
        return None


def _within_roots(path: Path, current: Settings) -> bool:
    """Whether a resolved ``path`` may be opened: anywhere on a personal machine, else inside a root."""
    return not current.restricted or any(path == root or path.is_relative_to(root) for root in current.dataset_roots)


def _checked_folder(text: str, current: Settings | None, *, what: str, whole: str,
                    error: type[MemoError]) -> Path:
    """A user-given folder (a ``what``, e.g. "dataset folder"), resolved and checked: it exists, is a folder,
    and lies within the roots; ``error`` says what is wrong and what to do (``whole``: the folder to give)."""
    current = current or settings()
    text = str(text or "").strip()
    if not text:
        raise error(f"Type the path of a {what}.")
    if "\x00" in text:
        raise error("That path has a NUL character in it; type a plain folder path.")
    path = _resolved(text)
    if path is None:
        raise error(f"{text[:200]!r} cannot be read as a folder path on this machine; check it.")
    if not _within_roots(path, current):
        raise error(f"This app is served with {what}s restricted to configured roots; choose one of them.")
    if not path.exists():
        raise error(f"{path} does not exist. Check the path (it is on the machine running the app).")
    if not path.is_dir():
        raise error(f"{path} is a file, not a folder. Give {whole}.")
    return path


def check_dataset_root(text: str, current: Settings | None = None) -> Path:
    """A user-given dataset folder, resolved and checked: it exists, is a folder, and lies within the roots.

    Raises:
        DatasetError: with what is wrong and what to do.
    """
    return _checked_folder(text, current, what="dataset folder", whole="the dataset's top folder", error=DatasetError)


@st.cache_data(show_spinner=False, ttl=30)
def _folders_under(roots: tuple[Path, ...]) -> list[str]:
    found: list[str] = []
    for root in roots:
        try:
            children = sorted(c for _, c in zip(range(_MAX_SET_CANDIDATES), root.iterdir()) if not c.name.startswith("."))
        except OSError:
            children = []
        for candidate in [root, *children]:
            path = _resolved(str(candidate))
            try:
                usable = path is not None and path.is_dir()
            except OSError:
                usable = False
            if usable and str(path) not in found and _within_roots(path, Settings(roots, "roots")):
                found.append(str(path))
    return found


def dataset_folders_under_roots(current: Settings | None = None) -> list[str]:
    """The dataset folders a served app offers: each configured root and each folder directly in one (resolved;
    hidden folders, and links leading out of the roots, left out). Deeper folders open when their parent is a
    root."""
    current = current or settings()
    return _folders_under(tuple(current.dataset_roots))


# --------------------------------------------------------------------------- the synthetic corpus


def default_corpus_dir() -> Path:
    return synth.default_corpus_dir()


def corpus_is_ready(root: Path) -> bool:
    """Whether ``root`` holds a complete synthetic corpus (every file present, of any size or seed)."""
    return synth.is_complete_corpus(root)


def corpus_is_damaged(root: Path) -> bool:
    """Whether ``root`` holds a corpus description but not every file of the corpus (an interrupted copy)."""
    return (Path(root) / "corpus.json").is_file() and not synth.is_complete_corpus(root)


def render_default_corpus(progress: Callable[[int, int], None]) -> Path:
    """Render (or re-render) the demo corpus into the default folder, then forget what was cached.

    Raises:
        MemoError: the folder holds something else, or rendering failed.
    """
    path = synth.ensure_corpus(n_songs=DEMO_N_SONGS, seed=DEMO_SEED, progress=False, progress_callback=progress)
    for cached in (dataset, corpus_table, song_curves, song_file):
        cached.clear()
    return path


# --------------------------------------------------------------------------- datasets


@st.cache_resource(show_spinner="Reading the dataset…", max_entries=8)
def dataset(name: str, root: str) -> DatasetLoad:
    """A dataset read once per (loader, folder) and shared (read-only) by every session, table, curve and song.

    Raises:
        DatasetError: the folder does not have the loader's layout (the message says what is missing).
    """
    if name not in list_datasets():
        raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(list_datasets())}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_dataset(name, Path(root))


@st.cache_data(show_spinner="Reading the corpus…")
def corpus_table(root: str, name: str = "synth") -> tuple[pd.DataFrame, str]:
    """One row per song (id, split, tags, song-level valence and arousal) and the loader's report."""
    load = dataset(name, root)
    return corpus_summary(load.songs), load.summary()


@st.cache_data
def song_curves(root: str, song_id: str, name: str = "synth") -> dict[str, np.ndarray]:
    """Annotated (mean and rater spread) and, for the synthetic corpus, designed valence/arousal curves."""
    song = dataset(name, root).by_id()[song_id]
    out: dict[str, Any] = {
        "time_s": song.frame_times,
        "valence": song.valence,
        "arousal": song.arousal,
        "valence_std": song.valence_std,
        "arousal_std": song.arousal_std,
    }
    for key in ("design_times", "design_valence", "design_arousal"):
        if key in song.meta:
            out[key] = np.asarray(song.meta[key])
    return out


#: Dataset audio files larger than this are not read (a stray video or a multi-hour recording).
MAX_SONG_FILE_BYTES = 300 * 1024 * 1024


@st.cache_resource(max_entries=16)
def song_file(root: str, song_id: str, name: str = "synth") -> tuple[bytes, str] | None:
    """The song's audio file's bytes and their SHA-256, or None when the dataset copy has no audio.

    Raises:
        AudioError: the file is too large to be a song.
    """
    song = dataset(name, root).by_id()[song_id]
    if not song.has_audio:
        return None
    path = Path(song.audio_path)
    if path.stat().st_size > MAX_SONG_FILE_BYTES:
        raise AudioError(f"{path.name} is {path.stat().st_size / 2**20:.0f} MB, larger than any song MEMO "
                         f"analyses ({MAX_SONG_FILE_BYTES / 2**20:.0f} MB); convert it to FLAC or MP3.")
    data = path.read_bytes()
    return data, digest(data)


def song_audio(root: str, song_id: str, name: str = "synth") -> bytes | None:
    """The song's audio file's bytes, or None when the dataset copy has no audio."""
    found = song_file(root, song_id, name)
    return None if found is None else found[0]


# --------------------------------------------------------------------------- one song's audio


@dataclass(frozen=True)
class SongSource:
    """Where the current song comes from: a dataset song, an upload or an Emotion-lab rendering.

    ``key`` identifies the content (SHA-256 of the file's bytes), so the same song
    from two places is analysed once.
    """

    kind: str  # "dataset", "upload", "lab" or "library"
    name: str  # what the user sees
    key: str
    dataset: str | None = None
    root: str | None = None
    song_id: str | None = None
    data: bytes = field(default=b"", repr=False, compare=False)


@st.cache_resource(max_entries=3, show_spinner="Decoding the audio…")
def _audio(key: str, name: str, _data: bytes) -> tuple[Audio | None, str | None, str | None]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            audio = load_audio(_data, name=name, max_duration_s=MAX_UPLOAD_SECONDS)
        except AudioError as exc:
            return None, str(exc), None
    notes = [str(w.message) for w in caught if issubclass(w.category, SilenceWarning)]
    return audio, None, (notes[0] if notes else None)


def load_song_audio(source: SongSource) -> tuple[Audio | None, str | None, str | None]:
    """``(audio, error, note)``: the decoded song, or why it cannot be used; ``note`` flags silence."""
    return _audio(source.key, source.name, source.data)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@st.cache_data(max_entries=8, show_spinner="Drawing the waveform, log-mel and chromagram…")
def view(key: str, _audio: Audio) -> SongView:
    """The song's display views (keyed by its content)."""
    return song_view(_audio)


# --------------------------------------------------------------------------- checkpoints and analyses


#: Where the session's checkpoint set is kept (a resolved folder; absent: the shipped set).
CHECKPOINT_SET_STATE = "memo_checkpoint_set_dir"
#: The most folders looked at under one root for checkpoint sets.
_MAX_SET_CANDIDATES = 500


def shipped_checkpoints_dir() -> str:
    """The shipped set: ``checkpoints/`` (or ``$MEMO_CHECKPOINTS_DIR``), resolved."""
    folder = default_checkpoints_dir()
    return str(_resolved(str(folder)) or folder)


def active_checkpoints_dir() -> str:
    """The session's checkpoint set (chosen in the sidebar), else the shipped one."""
    try:
        chosen = st.session_state.get(CHECKPOINT_SET_STATE)
    except Exception:  # outside a Streamlit run there is no session: the shipped set
        chosen = None
    return str(chosen) if chosen else shipped_checkpoints_dir()


def use_checkpoint_set(folder: str | Path | None) -> None:
    """Make ``folder`` (checked with :func:`check_checkpoints_dir`) this session's set; None: the shipped one."""
    if folder is None:
        st.session_state.pop(CHECKPOINT_SET_STATE, None)
    else:
        st.session_state[CHECKPOINT_SET_STATE] = str(folder)


def _manifest_stamp(folder: str) -> tuple[int, int]:
    """When and how large the folder's manifest is: a retrained set (same folder) is read again."""
    try:
        found = (Path(folder) / MANIFEST_NAME).stat()
        return found.st_mtime_ns, found.st_size
    except OSError:
        return -1, -1


def _set_id(folder: str | None = None) -> tuple[str, tuple[int, int]]:
    folder = folder or active_checkpoints_dir()
    return folder, _manifest_stamp(folder)


@st.cache_resource(show_spinner="Loading the checkpoints…", max_entries=8)
def _checkpoints(folder: str, stamp: tuple[int, int]) -> tuple[dict[str, Any], dict[str, str]]:
    """A set loaded once per folder and manifest version (``stamp``) and shared by every session."""
    return load_default_checkpoints(folder)


def checkpoints(folder: str | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The intact checkpoints of a set (default: the session's, :func:`active_checkpoints_dir`) as
    ``{key: LoadedCheckpoint}``, and ``{key: reason}`` for the others."""
    return _checkpoints(*_set_id(folder))


checkpoints.clear = _checkpoints.clear  # type: ignore[attr-defined]


@st.cache_data(show_spinner=False, max_entries=32)
def _manifest(folder: str, stamp: tuple[int, int]) -> dict[str, Any] | str:
    try:
        return read_manifest(folder)
    except MemoError as exc:
        return str(exc)


def manifest(folder: str | None = None) -> dict[str, Any] | None:
    """A set's manifest (default: the session's), or None when it has no readable one."""
    found = _manifest(*_set_id(folder))
    return found if isinstance(found, dict) else None


def manifest_entries(folder: str | None = None) -> list[dict[str, Any]]:
    """A set's manifest entries (default: the session's; empty when there is no readable manifest)."""
    found = manifest(folder)
    return [e for e in found["checkpoints"] if isinstance(e, dict)] if found is not None else []


manifest_entries.clear = _manifest.clear  # type: ignore[attr-defined]


def check_checkpoints_dir(text: str, current: Settings | None = None) -> Path:
    """A user-given checkpoint set, resolved and checked: a folder within the roots (as dataset folders are)
    that holds a readable ``manifest.json``.

    Raises:
        CheckpointError: with what is wrong and what to do.
    """
    path = _checked_folder(text, current, what="checkpoint folder", whole=f"the folder that holds {MANIFEST_NAME}",
                           error=CheckpointError)
    if not (path / MANIFEST_NAME).is_file():
        raise CheckpointError(f"{path} holds no {MANIFEST_NAME}, so it is not a checkpoint set. Write one with "
                              "`python -m memo_core train-defaults --out FOLDER`.")
    found = _manifest(*_set_id(str(path)))
    if isinstance(found, str):
        raise CheckpointError(f"{path} is not a usable checkpoint set: {found}.")
    return path


@st.cache_data(show_spinner=False, ttl=30)
def _sets_under(roots: tuple[Path, ...]) -> list[str]:
    found: list[str] = []
    for root in roots:
        try:
            children = sorted(c for _, c in zip(range(_MAX_SET_CANDIDATES), root.iterdir()))
        except OSError:
            children = []
        for candidate in [root, *children]:
            try:
                if not (candidate / MANIFEST_NAME).is_file():
                    continue
            except OSError:
                continue
            path = _resolved(str(candidate))
            if path is not None and str(path) not in found and _within_roots(path, Settings(roots, "roots")):
                found.append(str(path))
    return found


def checkpoint_sets_under_roots(current: Settings | None = None) -> list[str]:
    """The checkpoint sets a served app offers: each configured root, and each folder directly in one, that
    holds a ``manifest.json`` (resolved; links leading out of the roots left out; the shipped set not
    repeated)."""
    current = current or settings()
    shipped = shipped_checkpoints_dir()
    return [f for f in _sets_under(tuple(current.dataset_roots)) if f != shipped]


def loaded_entries() -> list[dict[str, Any]]:
    """The manifest entries of the loaded checkpoints, in manifest order (the entries they were loaded with)."""
    loaded, _ = checkpoints()
    return [dict(getattr(ckpt, "info", {}).get("manifest") or {"key": key}, key=key) for key, ckpt in loaded.items()]


def trust() -> dict[str, Trust]:
    """How far to trust each loaded checkpoint on real music (:func:`memo_core.explain.trust.trust_of` of its entry)."""
    return {entry["key"]: trust_of(entry) for entry in loaded_entries()}


@st.cache_data(max_entries=8, show_spinner=False)
def levels(key: str, _audio: Audio) -> np.ndarray:
    """The song's RMS level per 500 ms frame in dBFS (keyed by its content), to find silence."""
    return frame_levels_db(_audio.samples, _audio.sample_rate)


def song_familiarity(key: str, audio: Audio, results: dict[str, Any],
                     entries: dict[str, dict[str, Any]] | None = None) -> Familiarity:
    """How far song ``key`` is from the training songs of the checkpoints whose ``results`` a page shows, and where
    it is silent (:func:`memo_core.explain.familiarity.familiarity`; each checkpoint judged by the reference in its
    manifest entry, else the fallback rule). ``entries``: the checkpoints' records when they are not the set in
    use's (a library's stored results)."""
    if entries is None:
        entries = {entry["key"]: entry for entry in loaded_entries()}
    return results_familiarity(results, entries, levels(key, audio), duration_s=audio.duration)


@st.cache_resource
def _analyses() -> tuple[OrderedDict[tuple[Any, str, tuple[str, ...]], SongAnalysis], threading.Lock]:
    """Analyses of this server process, newest last (a few songs; the rest stay on disk), and the lock that
    keeps sessions from changing the store at the same time."""
    return OrderedDict(), threading.Lock()


def cached_analysis(key: str, checkpoint_keys: tuple[str, ...]) -> SongAnalysis | None:
    """The analysis of song ``key`` by these checkpoints of the session's set when this process already made it."""
    store, lock = _analyses()
    found_key = (_set_id(), key, checkpoint_keys)
    with lock:
        found = store.get(found_key)
        if found is not None:
            store.move_to_end(found_key)
    return found


def analyse(key: str, audio: Audio, checkpoint_keys: tuple[str, ...],
            progress: Callable[[str, int, int], None] | None = None, *, on_disk: bool = True) -> SongAnalysis:
    """Analyse the song with these checkpoints (from the store, else memo_core's disk cache, else computed).

    ``on_disk=False`` (uploads) keeps the song's features and results in this process only: nothing derived
    from a user's file is written to the shared disk cache.
    """
    found = cached_analysis(key, checkpoint_keys)
    if found is not None:
        return found
    set_id = _set_id()
    loaded, _ = checkpoints(set_id[0])
    chosen = {k: loaded[k] for k in checkpoint_keys if k in loaded}
    # every result already on disk: read without queueing for a slot (they bound computing, not reading)
    result = analyse_song(audio, chosen, progress=progress, cache=True, only_cached=True) if on_disk else None
    if result is None:
        with analysis_slot("This song's analysis"):
            result = analyse_song(audio, chosen, progress=progress, cache=on_disk)
    store, lock = _analyses()
    with lock:
        store[(set_id, key, checkpoint_keys)] = result
        while len(store) > 6:
            store.popitem(last=False)
    return result


def faithfulness(key: str, checkpoint_key: str, audio: Audio, on_disk: bool = True) -> dict[str, Any] | None:
    """The deletion tests of checkpoint ``checkpoint_key``'s maps on song ``key``
    (:func:`memo_core.explain.faithfulness.song_faithfulness`): None when the checkpoint is not loaded or has no map
    to test, ``{"error": reason}`` when the test cannot run. ``on_disk=False`` (uploads) keeps the song's
    features out of the shared disk cache. Cached by song, checkpoint and the checkpoint's weights."""

    loaded, _ = checkpoints()
    ckpt = loaded.get(checkpoint_key)
    if ckpt is None:
        return None
    return _faithfulness(key, checkpoint_key, checkpoint_fingerprint(ckpt), audio, on_disk, ckpt)


@st.cache_data(max_entries=32, show_spinner="Testing whether the maps matter: deleting what they point at…")
def _faithfulness(key: str, checkpoint_key: str, fingerprint: str, _audio: Audio, on_disk: bool, _ckpt: Any,
                  ) -> dict[str, Any] | None:
    """Keyed by the checkpoint's ``fingerprint`` (its weights), so the same weights in two sets share it."""

    ckpt = _ckpt
    try:
        with warnings.catch_warnings(), _slots().slot():   # no queue message: st calls here would be replayed
            warnings.simplefilter("ignore")
            return song_faithfulness(ckpt, _audio, cache=on_disk)
    except MemoError as exc:
        return {"error": str(exc)}


def validation_faithfulness(checkpoint_key: str) -> dict[str, Any] | None:
    """The checkpoint's deletion tests pooled over real validation clips (its manifest entry's
    ``"faithfulness"``, :func:`memo_core.explain.faithfulness.summarise`'s format), or None."""
    loaded, _ = checkpoints()
    ckpt = loaded.get(checkpoint_key)
    found = (getattr(ckpt, "info", {}).get("manifest") or {}).get("faithfulness") if ckpt is not None else None
    return found if isinstance(found, dict) else None


# --------------------------------------------------------------------------- concurrent analyses


@st.cache_resource
def _slots() -> limits.AnalysisSlots:
    """The server's analysis slots, shared by every session (their number read once, at the first analysis)."""
    return limits.AnalysisSlots(limits.analysis_limit(_SETTINGS_FILE)[0])


@contextmanager
def analysis_slot(what: str) -> Iterator[None]:
    """Run the block in one of the server's analysis slots; while every slot is taken, the page says ``what`` is
    waiting and its place in the queue (the message goes when the analysis starts)."""
    slots = _slots()
    box: Any = None

    def waiting(position: int, running: int) -> None:
        nonlocal box
        if box is None:
            box = st.empty()
        box.info(limits.queue_message(what, position, running, slots.limit))

    try:
        with slots.slot(waiting):
            if box is not None:
                box.empty()
            yield
    finally:
        if box is not None:
            box.empty()


def run_experiment(*args: Any, **kwargs: Any) -> Any:
    """:func:`memo_core.experiments.compare_features.run_experiment` in one of the server's analysis slots."""
    with analysis_slot("This comparison"):
        return _run_experiment(*args, **kwargs)


# --------------------------------------------------------------------------- a collection (a LIBRARY folder)


#: A LIBRARY folder the Library page opens first (whoever serves the app may set it; still checked against the roots).
LIBRARY_ENV = "MEMO_LIBRARY_DIR"


def default_library_dir() -> str:
    """``$MEMO_LIBRARY_DIR``, or "" (the Library page then asks for a folder)."""
    return os.environ.get(LIBRARY_ENV, "").strip()


def check_library_dir(text: str, current: Settings | None = None) -> Path:
    """A user-given LIBRARY folder, resolved and checked as dataset folders are: it exists, is a folder, and lies
    within the roots when the app is served with some.

    Raises:
        DatasetError: with what is wrong and what to do.
    """
    return _checked_folder(text, current, what="library folder",
                           whole="the LIBRARY folder written by `python -m memo_core library analyse`",
                           error=DatasetError)


def _library_stamp(folder: str) -> tuple[tuple[str, int, int], ...]:
    """When each entry of the folder changed: a library analysed again (same folder) is read again."""
    try:
        with os.scandir(folder) as entries:
            return tuple(sorted((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in entries))
    except OSError:
        return ()


@st.cache_data(show_spinner="Reading the library…", max_entries=4)
def _library_tables(folder: str, stamp: tuple) -> dict[str, Any]:
    found = open_library(folder)
    return {"songs": found.songs(), "errors": found.errors(), "models": list(found.frame_models),
            "updated": str(found.manifest.get("updated") or ""), "checkpoint_set": found.checkpoint_set}


def library_tables(folder: str) -> dict[str, Any]:
    """A LIBRARY's ``songs`` and ``errors`` tables, its per-frame models, when it was last updated and the
    checkpoint set of its latest run (cached per folder and contents).

    Raises:
        MemoError: the folder is not a MEMO library (the message says why and what to do).
    """
    return _library_tables(folder, _library_stamp(folder))


@st.cache_data(show_spinner=False, max_entries=32)
def _library_curves(folder: str, stamp: tuple, song_id: str) -> dict[str, pd.DataFrame]:
    return open_library(folder).curves(song_id)


def library_curves(folder: str, song_id: str) -> dict[str, pd.DataFrame]:
    """One song's stored curves, ``{model: DataFrame(time_s, valence, arousal)}``, read without scanning the
    other songs.

    Raises:
        MemoError: the library cannot be read.
    """
    return _library_curves(folder, _library_stamp(folder), song_id)


@st.cache_data(show_spinner=False, max_entries=8)
def _stored_song(folder: str, stamp: tuple, song_id: str) -> StoredSong:
    return stored_song(folder, song_id)


#: How a library model outside the checkpoint set in use is named beside the set's models.
LIBRARY_ONLY = "{key} (library)"


def library_analysis(folder: str, song_id: str) -> tuple[SongAnalysis, dict[str, dict[str, Any]], str]:
    """The library's stored results for song ``song_id`` (:func:`memo_core.experiments.library.stored.stored_song`:
    its curves and per-frame feature distances, nothing computed), keyed for the checkpoint set in use: a library
    model whose SHA-256 (that of the run that analysed this song) is that of the loaded checkpoint of its key keeps
    its key (the sidebar's choice applies to it); any other, and every model of a song whose run the library's
    manifest does not record, is named :data:`LIBRARY_ONLY` (the library's own checkpoint, shown always).

    Returns:
        ``(analysis, {shown key: the library manifest's record of it}, when the song was analysed)``.

    Raises:
        MemoError: the library or the song cannot be read.
    """
    found = _stored_song(folder, _library_stamp(folder), song_id)
    ours = {str(e.get("key")): str(e.get("sha256") or "") for e in loaded_entries()}
    records = {str(r.get("key")): r for r in found.checkpoints or ()}
    results, entries = {}, {}
    for key, result in found.analysis.results.items():
        record = records.get(key, {"key": key})
        shown = key if ours.get(key) and ours[key] == str(record.get("sha256", "")) else LIBRARY_ONLY.format(key=key)
        results[shown], entries[shown] = result, record
    return (dataclasses.replace(found.analysis, results=results, cached=tuple(results)), entries,
            str(found.row.get("analysed") or ""))


def library_song(path_text: str, song_id: str, name: str, current: Settings | None = None, *,
                 folder: str | None = None) -> tuple[SongSource | None, str | None]:
    """``(source, None)``: the library song's audio file as a song source, when it is reachable from this server,
    lies within the roots (when served with some) and still holds the content the library analysed; else
    ``(None, why not)``. ``folder`` (the LIBRARY) is kept in the source as its ``root``: the Song page then shows
    the library's stored curves instead of analysing the song again."""
    current = current or settings()
    path = _resolved(path_text) if path_text and "\x00" not in path_text else None
    try:
        if path is None or not path.is_file():
            return None, (f"{path_text} is not on this machine (moved, renamed, deleted, or analysed elsewhere). "
                          "Put the file back at that path, or analyse its new place into the library.")
        if not _within_roots(path, current):
            return None, "its file lies outside the folders this app is served with."
        if path.stat().st_size > MAX_SONG_FILE_BYTES:
            return None, f"{path.name} is larger than any song MEMO analyses."
        data = path.read_bytes()
    except OSError as exc:
        return None, f"{path_text} cannot be read ({exc.strerror or exc})."
    key = digest(data)
    if key != song_id:
        return None, (f"{path} has changed since the library analysed it (its content is not the same). Analyse "
                      "it into the library again to open it.")
    return SongSource("library", name, key, root=folder, song_id=song_id, data=data), None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""  # a row of an older library reads its text columns as NaN


def library_truth(folder: str, song_id: str, current: Settings | None = None) -> dict[str, Any] | None:
    """The listeners' annotation of a library song that is a dataset song (its row names the dataset, its id and
    the folder its loader opened: :mod:`memo_core.experiments.library.datasets`), read from that folder while it
    is there (and within the roots when served); None for any other song, or a dataset without curves."""
    current = current or settings()
    try:
        row = _stored_song(folder, _library_stamp(folder), song_id).row
    except MemoError:
        return None
    name, sid, root = (_text(row.get(c)) for c in ("dataset", "dataset_song_id", "dataset_root"))
    path = _resolved(root) if name and sid and root else None
    if path is None or not path.is_dir() or not _within_roots(path, current):
        return None
    try:
        curves = song_curves(str(path), sid, name)
    except (MemoError, KeyError, OSError):
        return None  # the dataset moved or changed since the library was made
    return curves if curves.get("valence") is not None or curves.get("arousal") is not None else None


# --------------------------------------------------------------------------- the Emotion lab


def lab_presets() -> list[str]:
    """The named teaching trajectories."""
    return list(synth.TRAJECTORY_PRESETS)


def lab_frames(preset: str | None, points: pd.DataFrame | None, duration_s: float,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(frame_times, valence, arousal)`` of a preset, or of drawn points (columns time_s, valence, arousal).

    Raises:
        MemoError: points the renderer cannot use (the message says which and what to do).
    """
    if preset is not None:
        return synth.preset_trajectory(preset, duration_s=duration_s)
    table = points.dropna(how="all") if points is not None else pd.DataFrame()
    if table.empty:
        raise DatasetError("Add at least one point (time, valence, arousal) to the table.")
    table = table.sort_values("time_s")
    return synth.trajectory_from_points(table["time_s"].to_numpy(float), table["valence"].to_numpy(float),
                                        table["arousal"].to_numpy(float), duration_s=duration_s)


def lab_points_from_path(valence: list[float], arousal: list[float], duration_s: float) -> pd.DataFrame:
    """The control points (``time_s, valence, arousal``) of a path drawn on the plane.

    Raises:
        MemoError: a path the renderer cannot use.
    """
    t, v, a = synth.points_from_path(valence, arousal, duration_s=duration_s)
    return pd.DataFrame({"time_s": np.round(t, 2), "valence": np.round(v, 3), "arousal": np.round(a, 3)})


@st.cache_data(max_entries=8, show_spinner="Composing and rendering the music…")
def render_lab(valence: tuple[float, ...], arousal: tuple[float, ...], duration_s: float, seed: int,
               ) -> dict[str, Any]:
    """A trajectory rendered with the corpus's cues: FLAC bytes, the designed frames and the musical choices.

    Raises:
        MemoError: a trajectory or duration the renderer refuses (the message says which and why).
    """

    rendered = synth.render_trajectory(np.asarray(valence), np.asarray(arousal), duration_s=duration_s, seed=seed)
    return {"flac": encode_audio(rendered.samples, rendered.sample_rate), "time_s": rendered.frame_times,
            "valence": rendered.valence, "arousal": rendered.arousal, "tempo_bpm": rendered.tempo_bpm,
            "modes": list(rendered.modes), "frame_modes": rendered.frame_modes, "key": rendered.key,
            "n_notes": rendered.n_notes}


# --------------------------------------------------------------------------- a song's structure


@st.cache_data(max_entries=16, show_spinner="Finding the beats and sections…")
def song_structure(key: str, _audio: Audio) -> SongStructure:
    """The song's beats and sections (:func:`memo_core.explain.structure.song_structure`), keyed by its content.

    Any page can mark them on a time-axis chart with :func:`dashboard.plots.structure.add_structure`.
    """
    return _song_structure(_audio)
