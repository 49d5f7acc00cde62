"""Songs as tagger input: the first mel frames of a song and its mood/theme tags as a 0/1 vector.

The MTG-Jamendo baseline (and Rajamani et al. 2020 on top of it) feeds a
VGG-ish network the first 1400 frames of a track's ``mel96`` spectrogram
(about 29.9 s), looping a shorter track, and predicts the 56 mood/theme tags
at once. A :class:`TagExample` is one such input: raw (unnormalised) mel
frames and the tag vector, with the tag names in ``target_names`` so the
generic tools (``train_model``, the ``Normalizer``, checkpoints) need no
special case. The tag vocabulary comes from the data (:func:`tag_vocabulary`):
MTG-Jamendo's 56 tags, the synthetic corpus's own list, or the tags a generic
dataset's songs carry.

>>> from memo_core.data import load_dataset
>>> from memo_core.data.tags import build_tag_examples, tag_vocabulary
>>> load = load_dataset("synth", None, require_audio=True)          # doctest: +SKIP
>>> examples = build_tag_examples(load, tag_names=tag_vocabulary(load))  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from memo_core.audio import load_audio
from memo_core.data.mtg_jamendo import jamendo_tag_list
from memo_core.data.records import DatasetLoad, SongRecord
from memo_core.data.sequences import FrameFeatures, report_skipped
from memo_core.data.synth import TAG_VOCABULARY
from memo_core.errors import AudioError, DatasetError, FeatureError, MemoError
from memo_core.features import extract, get_extractor

__all__ = [
    "TAG_INPUT_FRAMES",
    "TagExample",
    "tag_vocabulary",
    "loop_frames",
    "read_mel_npy",
    "build_tag_examples",

]

#: Mel frames the MTG-Jamendo baseline feeds its network (about 29.9 s at 12 kHz, hop 256).
TAG_INPUT_FRAMES = 1400


@dataclass
class TagExample(FrameFeatures):
    """One song as a tagger sees it.

    Attributes:
        song_id: the dataset's id.
        features: mel frames, raw. [shape=(n_frames, n_mels)] float32
        targets: 1 where the song has the tag. [shape=(n_tags,)] float32
        target_names: the tag names, in column order.
        frame_seconds: hop between mel frames (256 / 12000 s for ``mel96``).
    """

    song_id: str
    features: np.ndarray
    targets: np.ndarray
    target_names: tuple[str, ...]
    frame_seconds: float

    @property
    def n_targets(self) -> int:
        return int(self.targets.shape[0])


def tag_vocabulary(load: DatasetLoad, *, min_count: int = 1) -> list[str]:
    """The tag names a dataset's tagger predicts, in a fixed order.

    MTG-Jamendo: the challenge's 56 tags in the official order; the synthetic
    corpus: its ``TAG_VOCABULARY``; any other dataset: the sorted tags carried by at least
    ``min_count`` of its songs (4Q's AllMusic moods are many and mostly rare: a tagger cannot
    learn a tag from a handful of clips).

    Raises:
        DatasetError: no song carries a tag.
    """
    if load.dataset == "mtg_jamendo" and load.root is not None:

        return jamendo_tag_list(load.root)
    if load.dataset == "synth":

        return list(TAG_VOCABULARY)
    counts = Counter(t for song in load.songs for t in song.tags)
    tags = sorted(t for t, n in counts.items() if n >= min_count)
    if not tags:
        raise DatasetError(f"{load.dataset}: no mood/theme tag is carried by {min_count} song(s) or more, so there "
                           "is nothing for a tagger to learn")
    return tags


def loop_frames(frames: np.ndarray, n_frames: int) -> np.ndarray:
    """The first ``n_frames`` rows of ``frames``, repeated from the start when it is shorter (as the baseline loops).

    Args:
        frames: [shape=(n, d)] with n >= 1.
        n_frames: rows wanted.

    Returns:
        [shape=(n_frames, d)]
    """
    if len(frames) == 0:
        raise MemoError("cannot loop an empty spectrogram")
    if len(frames) >= n_frames:
        return frames[:n_frames]
    reps = -(-n_frames // len(frames))
    return np.concatenate([frames] * reps)[:n_frames]


def read_mel_npy(path: str | Path, *, n_mels: int = 96) -> np.ndarray:
    """A precomputed mel-spectrogram ``.npy`` as frames. [shape=(n_frames, n_mels)] float32

    MTG-Jamendo ships them as ``(96, n_frames)``; ``(n_frames, 96)`` is accepted too.

    Raises:
        MemoError: the file cannot be read or has no ``n_mels`` axis.
    """
    try:
        mel = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise MemoError(f"cannot read the mel-spectrogram {path}: {exc}") from None
    if mel.ndim != 2 or n_mels not in mel.shape:
        raise MemoError(f"{path} has shape {mel.shape}; expected ({n_mels}, n_frames) as MTG-Jamendo ships it")
    frames = mel.T if mel.shape[0] == n_mels and mel.shape[1] != n_mels else mel
    frames = np.asarray(frames, dtype=np.float32)
    if not np.all(np.isfinite(frames)):
        raise MemoError(f"{path} holds non-finite values")
    return np.ascontiguousarray(frames)


def build_tag_examples(
    load_or_songs: DatasetLoad | Iterable[SongRecord],
    *,
    tag_names: Sequence[str],
    features: str = "mel96",
    input_frames: int | None = TAG_INPUT_FRAMES,
    progress: bool = True,
) -> list[TagExample]:
    """Mel frames (precomputed ``.npy`` where the dataset has them, else extracted through the cache) and tag vectors.

    Songs with neither audio nor a mel file, or whose audio cannot be read, are
    skipped with one :class:`~memo_core.data.sequences.SkippedSongsWarning`.
    Tags outside ``tag_names`` are ignored (MTG-Jamendo's TSV has 3 tags the
    challenge dropped).

    Args:
        load_or_songs: what a loader returned, or song records.
        tag_names: the vocabulary, in output order (:func:`tag_vocabulary`).
        features: the mel extractor (``mel96``, as the baseline).
        input_frames: keep the first this many frames, looping shorter songs
            (the baseline's 1400); ``None`` keeps whole songs.
        progress: show a tqdm bar.

    Returns:
        One example per usable song, in input order.

    Raises:
        DatasetError: no song could be used.
        MemoError: an empty vocabulary.
    """


    tag_names = tuple(tag_names)
    if not tag_names:
        raise MemoError("build_tag_examples needs at least one tag name")
    index = {t: i for i, t in enumerate(tag_names)}
    extractor = get_extractor(features)
    songs = list(load_or_songs.songs if isinstance(load_or_songs, DatasetLoad) else load_or_songs)
    examples: list[TagExample] = []
    skipped: Counter[str] = Counter()
    for song in tqdm(songs, desc=f"tags {features}", unit="song", disable=not progress):
        mel_path = song.meta.get("mel_path")
        try:
            if mel_path is not None:
                frames = read_mel_npy(mel_path, n_mels=extractor.n_features)
            elif song.has_audio:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    frames = extract(load_audio(song.audio_path), extractor.name)
            else:
                skipped["no audio or mel file"] += 1
                continue
        except (AudioError, FeatureError, MemoError) as exc:
            skipped[f"unreadable input ({type(exc).__name__})"] += 1
            continue
        if len(frames) == 0:
            skipped["empty spectrogram"] += 1
            continue
        if input_frames is not None:
            frames = loop_frames(frames, int(input_frames))
        target = np.zeros(len(tag_names), dtype=np.float32)
        for tag in song.tags:
            if tag in index:
                target[index[tag]] = 1.0
        examples.append(TagExample(song.song_id, np.ascontiguousarray(frames, dtype=np.float32), target, tag_names,
                                   float(extractor.frame_seconds)))
    report_skipped(skipped, len(songs), len(examples), what="songs for tagging",
                   hint="Check the folder has audio (or mel .npy files) next to the tag lists.")
    return examples
