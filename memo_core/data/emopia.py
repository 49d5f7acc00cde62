"""EMOPIA, pop piano covers labelled by Russell quadrant (Hung et al., ISMIR 2021).

1,078 clips of 387 songs (YouTube piano covers), transcribed to MIDI with
their real velocities and sustain pedal. Layout of the official release
(``root`` is ``EMOPIA_1.0/``; its ``midis/`` folder, or the folder holding
``EMOPIA_1.0/``, is accepted too)::

    root/midis/Q{1-4}_<youtube id>_<segment>.mid

The label is the file name's prefix:

=========  =======  =======  =======================
quadrant   valence  arousal  e.g.
=========  =======  =======  =======================
Q1         +        +        happy, excited
Q2         -        +        tense, angry
Q3         -        -        sad
Q4         +        -        calm, relaxed
=========  =======  =======  =======================

Records: ``static_valence``/``static_arousal`` are the quadrant's signs as
``+0.5``/``-0.5``: weak labels that say on which side of neutral a clip lies,
not how far (annotators chose a quadrant, they gave no rating), so read them
as signs (or compare their sign), not as magnitudes. No dynamic labels
(``valence``/``arousal`` are ``None``). ``meta`` holds ``quadrant``,
``valence_sign``/``arousal_sign`` (+1/-1), ``youtube_id``, ``segment``,
``midi_path``, and ``song_group`` (also ``group``): the YouTube id, the key
every split must group by, since the segments of one song share most of their
music (and 72 songs have segments in two quadrants). ``audio_path`` is
``None``: render the MIDI with
:func:`memo_core.data.midi_render.render_midi_dataset`. Song ids are the file
names without ``.mid``; no split (EMOPIA 1.0's MIDI release has none).

Licence: CC BY-NC-SA 4.0; models trained on it inherit the non-commercial,
share-alike terms (see :data:`memo_core.data.licences.SOURCE_LICENCES`).
"""

from __future__ import annotations

import re
from pathlib import Path

from memo_core.data._common import finish_load, require_dir
from memo_core.data.records import DatasetLoad, SongRecord
from memo_core.data.registry import register_dataset
from memo_core.errors import DatasetError

__all__ = ["load_emopia", "EMOPIA_QUADRANT_SIGNS", "EMOPIA_STATIC_LEVEL", "parse_emopia_name"]

_HINT = "Pass the EMOPIA_1.0 folder (the one holding midis/Q1_<youtube id>_<segment>.mid, ...)."
_NAME = re.compile(r"^Q([1-4])_(.+)_(\d+)$")

#: Russell quadrant -> (valence sign, arousal sign).
EMOPIA_QUADRANT_SIGNS: dict[str, tuple[int, int]] = {"Q1": (1, 1), "Q2": (-1, 1), "Q3": (-1, -1), "Q4": (1, -1)}
#: The magnitude given to a quadrant's sign in ``static_valence``/``static_arousal`` (a weak label).
EMOPIA_STATIC_LEVEL = 0.5


def parse_emopia_name(stem: str) -> tuple[str, str, int] | None:
    """``(quadrant, youtube id, segment)`` of a file name without extension, or None.

    >>> parse_emopia_name("Q2_a_b-c_3")
    ('Q2', 'a_b-c', 3)
    """
    match = _NAME.match(stem)
    if match is None:
        return None
    return f"Q{match.group(1)}", match.group(2), int(match.group(3))


def _midi_dir(root: Path | None) -> Path:
    if root is None:
        raise DatasetError(f"emopia: no dataset folder given. {_HINT}")
    root = require_dir(Path(root), dataset="emopia", hint=_HINT)
    for candidate in (root / "midis", root / "EMOPIA_1.0" / "midis"):
        if candidate.is_dir():
            return candidate
    if any(root.glob("Q[1-4]_*.mid")):
        return root
    return require_dir(root / "midis", dataset="emopia", hint=_HINT)


@register_dataset("emopia")
def load_emopia(root: Path | None, *, require_audio: bool = False) -> DatasetLoad:
    """Load EMOPIA's clips with their quadrant labels (see the module docstring).

    Args:
        root: ``EMOPIA_1.0/`` (or its ``midis/`` folder, or the folder holding it).
        require_audio: EMOPIA has no audio, so True skips every clip with the
            reason ``"no audio file"``; render the MIDI first.

    Returns:
        One record per clip; ``.mid`` files not named ``Q<1-4>_<id>_<segment>``
        are skipped with the reason.

    Raises:
        DatasetError: no folder, or no ``midis/`` folder in it.
    """
    midi_dir = _midi_dir(root)
    songs: list[SongRecord] = []
    skipped: dict[str, str] = {}
    for path in sorted(midi_dir.iterdir()):
        if path.suffix.lower() not in (".mid", ".midi") or not path.is_file():
            continue
        parsed = parse_emopia_name(path.stem)
        if parsed is None:
            skipped[path.stem] = "file name is not Q<1-4>_<youtube id>_<segment>.mid"
            continue
        quadrant, youtube_id, segment = parsed
        valence_sign, arousal_sign = EMOPIA_QUADRANT_SIGNS[quadrant]
        songs.append(SongRecord(
            song_id=path.stem, dataset="emopia", audio_path=None,
            static_valence=EMOPIA_STATIC_LEVEL * valence_sign, static_arousal=EMOPIA_STATIC_LEVEL * arousal_sign,
            meta={"quadrant": quadrant, "valence_sign": valence_sign, "arousal_sign": arousal_sign,
                  "youtube_id": youtube_id, "segment": segment, "midi_path": path,
                  "song_group": youtube_id, "group": youtube_id},
        ))
    if not songs and not skipped:
        raise DatasetError(f"emopia: {midi_dir} holds no .mid file. {_HINT}")
    root_dir = midi_dir.parent if midi_dir.name == "midis" else midi_dir
    return finish_load(dataset="emopia", root=root_dir, songs=songs, skipped=skipped, require_audio=require_audio)
