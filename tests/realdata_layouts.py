"""Small datasets written on disk in the official layouts, with real (short) audio, for tests.

* :func:`write_4q`: the 4Q layout (``MER_audio_taffc_dataset/Q1..Q4/<Song>.mp3``, the annotations CSV,
  the quoted CRLF metadata CSV, as Panda et al. distribute them). High-arousal clips (Q1, Q2) are
  loud, low-arousal ones (Q3, Q4) quiet, so the loudness level separates arousal.
* :func:`write_generic`: the generic layout (``annotations.csv`` + ``audio/<id>.wav``) whose dynamic
  arousal follows each song's level.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 22_050
FOLDER = "MER_audio_taffc_dataset"
#: RMS amplitude of a clip per quadrant (arousal: loud vs quiet).
LEVEL = {"Q1": 0.45, "Q2": 0.35, "Q3": 0.02, "Q4": 0.03}
#: tone frequency per quadrant (valence: bright vs dark).
PITCH = {"Q1": 880.0, "Q2": 220.0, "Q3": 180.0, "Q4": 660.0}
METADATA_HEADER = ["Song", "Artist", "Title", "Quadrant", "PQuad", "MoodsTotal", "Moods", "MoodsFoundStr",
                   "MoodsStr", "MoodsStrSplit", "Genres", "GenresStr", "Sample", "SampleURL"]


@dataclass
class Clip:
    song_id: str
    quadrant: str
    artist: str = "Some Artist"
    title: str = "A Title"
    moods: str = "Happy; Cheerful"
    genres: str = "Pop/Rock"
    pquad: float = 0.75
    audio: bool = True  # write the mp3
    folder: str | None = None  # the quadrant folder the mp3 goes in (default: its quadrant)
    in_metadata: bool = True


def tone(seconds: float, amplitude: float, freq: float, *, seed: int = 0, slope: float = 0.0) -> np.ndarray:
    """A sine at ``freq`` with a little noise, ``amplitude`` times ``(1 + slope * t / seconds)``. [shape=(n,)]"""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    envelope = amplitude * (1.0 + slope * t / seconds)
    x = envelope * np.sqrt(2) * np.sin(2 * np.pi * freq * t) + 0.002 * rng.standard_normal(t.size)
    return np.clip(x, -0.99, 0.99).astype(np.float32)


def write_mp3(path: Path, samples: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), samples, SR, format="MP3")
    return path


def write_4q(root: Path, clips: list[Clip], *, metadata: bool = True, annotations: bool = True,
             seconds: float = 2.0) -> Path:
    """The 4Q layout under ``root/MER_audio_taffc_dataset``; returns that folder."""
    folder = Path(root) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for q in ("Q1", "Q2", "Q3", "Q4"):
        (folder / q).mkdir(exist_ok=True)
    if annotations:
        lines = ["Song,Quadrant"] + [f"{c.song_id},{c.quadrant}" for c in clips]
        (folder / "panda_dataset_taffc_annotations.csv").write_text("\n".join(lines) + "\n")
    if metadata:
        with open(folder / "panda_dataset_taffc_metadata.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
            writer.writerow(METADATA_HEADER)
            for c in clips:
                if not c.in_metadata:
                    continue
                n = len([m for m in c.moods.split(";") if m.strip()])
                writer.writerow([c.song_id, c.artist, c.title, c.quadrant, c.pquad, n, n, c.moods.lower(),
                                 c.moods, c.moods, 1, c.genres, 1, "http://example.invalid/sample.mp3"])
    for i, c in enumerate(clips):
        if c.audio:
            q = c.folder or c.quadrant
            level = LEVEL.get(q, 0.1) * (1.0 + 0.05 * (i % 5))
            write_mp3(folder / q / f"{c.song_id}.mp3", tone(seconds, level, PITCH.get(q, 440.0), seed=i))
    return folder


def quadrant_clips(n_artists: int = 8, per_artist: int = 2, *, prefix: str = "MT") -> list[Clip]:
    """``n_artists * per_artist`` clips, quadrants cycling so every artist has several quadrants."""
    out = []
    k = 0
    for a in range(n_artists):
        for _ in range(per_artist):
            q = f"Q{k % 4 + 1}"
            out.append(Clip(f"{prefix}{k:010d}", q, artist=f"Artist {a}", title=f"Song {k}"))
            k += 1
    return out


def write_generic(root: Path, n_songs: int = 6, *, seconds: float = 3.0) -> Path:
    """The generic layout: song ``g{i}`` at its own level, arousal rising with the level (in dB)."""
    root = Path(root)
    (root / "audio").mkdir(parents=True, exist_ok=True)
    rows = ["song_id,time_s,valence,arousal"]
    for i in range(n_songs):
        amplitude = 0.01 * (2.2 ** i)  # 0.01 ... ~0.5: about -40 dB ... -6 dB
        x = tone(seconds, amplitude, 300.0 + 80 * i, seed=100 + i, slope=0.3)
        sf.write(str(root / "audio" / f"g{i}.wav"), x, SR, subtype="PCM_16")
        n = int(seconds / 0.5)
        for f in range(1, n + 1):
            t = 0.5 * f
            level_db = 20 * np.log10(amplitude * (1.0 + 0.3 * t / seconds))
            arousal = float(np.clip((level_db + 23.0) / 20.0, -1, 1))
            valence = float(np.clip(0.6 - 0.2 * i + 0.05 * f, -1, 1))
            rows.append(f"g{i},{t:.1f},{valence:.4f},{arousal:.4f}")
    (root / "annotations.csv").write_text("\n".join(rows) + "\n")
    return root
