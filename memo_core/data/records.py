"""One song record for every dataset, and the report of what a loader skipped.

Every loader in :mod:`memo_core.data` returns a :class:`DatasetLoad`: the songs
it could read as :class:`SongRecord` objects, and the songs it could not, each
with a reason, so a user sees "12 songs skipped: no audio file" instead of a
traceback.

Conventions shared by all loaders:

* valence and arousal are mapped to [-1, 1] from each dataset's own scale
  (PMEmo's [0, 1] with ``2y - 1``; static 1-9 ratings with ``(y - 5) / 4``);
* ``frame_times`` are the annotation instants in seconds from the start of the
  audio file (DEAM and emoMusic: 15.0, 15.5, ...; PMEmo: 15.5, 16.0, ...);
* ``split`` is the dataset's official split name where it has one
  (``"train"``, ``"validation"``, ``"test"``; emoMusic's ``"development"`` and
  ``"evaluation"`` are kept as given), else ``None``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SongRecord", "SkippedSong", "DroppedValues", "InvalidAnnotationsWarning", "DatasetLoad"]


class InvalidAnnotationsWarning(UserWarning):
    """A loader left out annotation values that were invalid (not finite, off the dataset's scale, ...)."""


@dataclass
class SongRecord:
    """One annotated song.

    Attributes:
        song_id: the dataset's own id, as a string.
        dataset: the loader's registry name (``"deam"``, ``"synth"``, ...).
        audio_path: the audio file, or ``None`` when the dataset copy has none.
        frame_times: annotation instants in seconds. [shape=(n_frames,)]
        valence: dynamic valence in [-1, 1], or ``None``. [shape=(n_frames,)]
        arousal: dynamic arousal in [-1, 1], or ``None``. [shape=(n_frames,)]
        valence_std: spread over raters per frame, same scale, if known.
        arousal_std: spread over raters per frame, same scale, if known.
        static_valence: the song-level rating in [-1, 1], if known.
        static_arousal: the song-level rating in [-1, 1], if known.
        tags: mood/theme tags (MTG-Jamendo, synthetic corpus).
        split: the official split name, or ``None``.
        meta: anything else the dataset gives (artist, title, genre, ...).
    """

    song_id: str
    dataset: str
    audio_path: Path | None = None
    frame_times: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float64))
    valence: np.ndarray | None = None
    arousal: np.ndarray | None = None
    valence_std: np.ndarray | None = None
    arousal_std: np.ndarray | None = None
    static_valence: float | None = None
    static_arousal: float | None = None
    tags: tuple[str, ...] = ()
    split: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return int(len(self.frame_times))

    @property
    def has_audio(self) -> bool:
        return self.audio_path is not None and Path(self.audio_path).is_file()

    def target(self, name: str) -> np.ndarray:
        """The dynamic annotation ``"valence"`` or ``"arousal"``; raises KeyError when absent."""
        value = getattr(self, name, None) if name in ("valence", "arousal") else None
        if value is None:
            raise KeyError(f"song {self.song_id} of {self.dataset} has no dynamic {name!r} annotation")
        return value


@dataclass(frozen=True)
class SkippedSong:
    """A song a loader could not use, and why (one short reason, shared by similar songs)."""

    song_id: str
    reason: str


@dataclass(frozen=True)
class DroppedValues:
    """Invalid annotation values a loader left out of one file, for one reason.

    Attributes:
        file: the file's name (``"valence.csv"``).
        reason: why, e.g. ``"value outside the scale [-1, 1]"``.
        count: how many rows (or values, or curves) were left out.
        action: what was left out: ``"rows dropped"``, ``"songs skipped"``, ``"values left out"``, ...
        examples: the first few, e.g. ``"song 12 at 15.5 s: 5"``.
    """

    file: str
    reason: str
    count: int
    action: str
    examples: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line: ``"valence.csv: 2 songs skipped, value outside the scale [-1, 1] (first: ...)"``."""
        action = self.action
        if self.count == 1:   # "1 row dropped", "1 listener curve left out"
            words = action.split(" ")
            plural = next((i for i, w in enumerate(words) if w.endswith("s")), None)
            if plural is not None:
                words[plural] = words[plural][:-1]
            action = " ".join(words)
        first = f" (first: {'; '.join(self.examples)})" if self.examples else ""
        return f"{self.file}: {self.count} {action}, {self.reason}{first}"


@dataclass
class DatasetLoad:
    """What a loader read: the songs, the songs it skipped with reasons, and the invalid values it left out."""

    dataset: str
    root: Path | None
    songs: list[SongRecord] = field(default_factory=list)
    skipped: list[SkippedSong] = field(default_factory=list)
    dropped: list[DroppedValues] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.songs)

    def __iter__(self):
        return iter(self.songs)

    def by_id(self) -> dict[str, SongRecord]:
        return {s.song_id: s for s in self.songs}

    def skipped_summary(self) -> dict[str, int]:
        """Count of skipped songs per reason."""
        return dict(Counter(s.reason for s in self.skipped))

    def summary(self) -> str:
        """A one-paragraph report for the CLI and the dashboard."""
        n_audio = sum(1 for s in self.songs if s.has_audio)
        splits = Counter(s.split for s in self.songs if s.split)
        n_unsplit = sum(1 for s in self.songs if not s.split)
        if not splits:
            split_text = "no official split"
        else:
            split_text = "splits: " + ", ".join(f"{k} {v}" for k, v in sorted(splits.items()))
            split_text += f", in no split {n_unsplit}" if n_unsplit else ""
        lines = [
            f"{self.dataset}: {len(self.songs)} songs read from {self.root or '(embedded)'}; "
            f"{n_audio} with audio; {split_text}"
        ]
        for reason, count in sorted(self.skipped_summary().items(), key=lambda kv: -kv[1]):
            lines.append(f"  skipped {count}: {reason}")
        for entry in self.dropped:
            lines.append(f"  invalid values in {entry.describe()}")
        return "\n".join(lines)
