"""A synthetic music-emotion corpus rendered from known emotion trajectories.

One module a concern:

- :mod:`.design`: what a song should express (:func:`design_song`), the cue
  table, and the song-level style (:func:`sample_style`).
- :mod:`.arrangement`: the design written as General MIDI, bar by bar.
- :mod:`.render`: MIDI rendered to audio, then post-processed (:func:`render_audio`).
- :mod:`.trajectories`: hand-chosen valence/arousal trajectories, the Emotion
  lab's (:func:`trajectory_from_points`, :func:`render_trajectory`, ...).
- :mod:`.raters`: simulated raters' annotations and the mood/theme tags.
- :mod:`.corpus`: one song made, the corpus written, checked and locked
  (:func:`generate_corpus`, :func:`ensure_corpus`, :func:`is_complete_corpus`).

The names below are re-exported for ``from memo_core.data.synth import X``.
A test that monkeypatches a name must patch it in the module that looks it
up (e.g. ``synth.corpus._render_into``), not here.
"""

from __future__ import annotations

from memo_core.data.synth.corpus import (
    ANNOTATION_START_S,
    CORPUS_NAME,
    CORPUS_VERSION,
    default_corpus_dir,
    ensure_corpus,
    generate_corpus,
    is_complete_corpus,
)
from memo_core.data.synth.design import SongDesign, Style, design_song, sample_style
from memo_core.data.synth.raters import TAG_VOCABULARY
from memo_core.data.synth.render import SAMPLE_RATE, render_audio
from memo_core.data.synth.trajectories import (
    TRAJECTORY_MAX_S,
    TRAJECTORY_MIN_S,
    TRAJECTORY_PRESETS,
    RenderedTrajectory,
    points_from_path,
    preset_trajectory,
    render_trajectory,
    trajectory_from_points,
)

# Internal names other modules reach as ``synth._name``: data.midi_render renders real MIDI with the
# corpus's synthesiser and nuisance chain; the tests call one song's maker and read the key names.
from memo_core.data.synth.corpus import _make_song  # isort: skip
from memo_core.data.synth.design import _NOTE_NAMES  # isort: skip
from memo_core.data.synth.render import _post_process, _render_midi  # isort: skip

__all__ = [
    "TAG_VOCABULARY",
    "CORPUS_NAME",
    "CORPUS_VERSION",
    "SAMPLE_RATE",
    "ANNOTATION_START_S",
    "SongDesign",
    "Style",
    "design_song",
    "sample_style",
    "render_audio",
    "TRAJECTORY_PRESETS",
    "TRAJECTORY_MIN_S",
    "TRAJECTORY_MAX_S",
    "trajectory_from_points",
    "points_from_path",
    "preset_trajectory",
    "RenderedTrajectory",
    "render_trajectory",
    "generate_corpus",
    "default_corpus_dir",
    "ensure_corpus",
    "is_complete_corpus",
]
