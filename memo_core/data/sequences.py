"""Songs as model-ready sequences: features on the 500 ms grid, aligned targets, a mask, a normaliser.

A :class:`SequenceExample` is one song as every sequence model sees it: its
feature frames, its annotations placed on the same frames (0 where a frame is
not annotated) and a mask of the annotated frames. Frame ``i`` covers
``[0.5 i, 0.5 i + 0.5)`` s and an annotation at ``t`` describes the frame that
ends at ``t`` (:func:`memo_core.features.annotation_frame_index`): the value at
15.0 s pairs with frame 29.

>>> from memo_core.data import load_dataset
>>> from memo_core.data.sequences import Normalizer, build_examples
>>> songs = load_dataset("synth", "data/synth", require_audio=True)       # doctest: +SKIP
>>> examples = build_examples(songs, features="deam260")                   # doctest: +SKIP
>>> norm = Normalizer.fit(examples)                                        # doctest: +SKIP
>>> examples = norm.apply_examples(examples)                               # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from memo_core.audio import FRAME_SECONDS, load_audio
from memo_core.data.records import DatasetLoad, SongRecord
from memo_core.errors import AudioError, DatasetError, FeatureError, MemoError
from memo_core.features import extract, frame_times, get_extractor
from memo_core.features.base import annotation_frame_index

__all__ = [
    "TARGET_NAMES",
    "SequenceExample",
    "SkippedSongsWarning",
    "report_skipped",
    "align_annotations",
    "build_examples",
    "build_clip_examples",
    "clip_signs",
    "select_targets",
    "crop_to_annotated",
    "Normalizer",
]

#: The dynamic targets MEMO predicts, in their default order.
TARGET_NAMES = ("valence", "arousal")
#: Default bound on standardised features (:class:`Normalizer`): 5 training standard deviations.
DEFAULT_CLIP = 5.0


class SkippedSongsWarning(UserWarning):
    """Some songs could not be turned into examples (no audio, unreadable audio, no annotation)."""


class FrameFeatures:
    """Sizes of an example whose ``features`` hold one row per frame (sequence and tag examples alike)."""

    features: np.ndarray

    @property
    def n_frames(self) -> int:
        return int(self.features.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.features.shape[1])


@dataclass
class SequenceExample(FrameFeatures):
    """One song, ready for a sequence model.

    Attributes:
        song_id: the dataset's id.
        features: feature frames. [shape=(n_frames, n_features)] float32
        targets: annotations on the frames, 0 where unannotated. [shape=(n_frames, n_targets)] float32
        mask: True on annotated frames. [shape=(n_frames,)] bool
        frame_times: start time of each frame in seconds. [shape=(n_frames,)]
        target_names: the names of the target columns, e.g. ``("valence", "arousal")``.
        song_targets: clip-level labels, one per target, NaN where unknown: the SIGN of the song's
            valence/arousal (+1/-1) for sources labelled per clip (4Q's quadrants, EMOPIA's), ``None``
            for songs with dynamic labels only. A clip-labelled song has no annotated frame (``mask``
            all False): no frame target is ever invented from a clip label.
            [shape=(n_targets,)] float32
        source: the training source the song comes from (``"synth"``, ``"4q"``, ...), for mixtures.
        weight: the weight of this song's clip-level loss (the source's weight in a mixture).
    """

    song_id: str
    features: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    frame_times: np.ndarray
    target_names: tuple[str, ...] = TARGET_NAMES
    song_targets: np.ndarray | None = None
    source: str = ""
    weight: float = 1.0

    @property
    def has_song_targets(self) -> bool:
        return self.song_targets is not None and bool(np.isfinite(self.song_targets).any())

    @property
    def n_targets(self) -> int:
        return int(self.targets.shape[1])


def report_skipped(skipped: Counter, n_songs: int, n_used: int, *, what: str = "songs", hint: str = "") -> None:
    """One :class:`SkippedSongsWarning` counting the songs skipped per reason; a :class:`DatasetError` when
    none was usable.

    Args:
        skipped: reasons and their counts.
        n_songs: songs offered; n_used: examples made.
        what: how the error names the songs (``"songs"``, ``"clip-labelled songs"``, ...).
        hint: what to check, appended to the error.
    """
    if skipped:
        detail = "; ".join(f"{n} {reason}" for reason, n in skipped.most_common())
        warnings.warn(f"{sum(skipped.values())} of {n_songs} songs skipped ({detail}); {n_used} used.",
                      SkippedSongsWarning, stacklevel=3)
    if not n_used:
        reasons = "; ".join(f"{n} {r}" for r, n in skipped.items())
        raise DatasetError(f"none of the {n_songs} {what} could be used ({reasons}).{' ' + hint if hint else ''}")


def align_annotations(
    song: SongRecord, *, n_frames: int, targets: Sequence[str] = TARGET_NAMES, frame_seconds: float = FRAME_SECONDS
) -> tuple[np.ndarray, np.ndarray]:
    """Place a song's annotations on the feature frames.

    Args:
        song: the record (``frame_times`` in seconds, one series per target).
        n_frames: number of feature frames of the song's audio.
        targets: target names, in column order.
        frame_seconds: frame hop (0.5 s for every dataset MEMO reads).

    Returns:
        ``(values, mask)``: values [shape=(n_frames, n_targets)] (0 where
        unannotated) and mask [shape=(n_frames,)]. Annotations past the end of
        the audio, and non-finite values, are dropped; a frame is annotated only
        where every target has a value.

    Raises:
        KeyError: the song has no annotation for a target.
    """
    values = np.zeros((n_frames, len(targets)), dtype=np.float32)
    seen = np.zeros((n_frames, len(targets)), dtype=bool)
    times = np.asarray(song.frame_times, dtype=np.float64)
    # One pairing rule for the whole project: the value at t describes the frame ending at t.
    index = annotation_frame_index(times, n_frames)
    # An instant well past the end of the audio (annotations longer than the file) is dropped,
    # not piled onto the last frame.
    inside = (times > -1e-6) & (times <= n_frames * frame_seconds + frame_seconds / 2)
    for j, name in enumerate(targets):
        series = np.asarray(song.target(name), dtype=np.float64)
        ok = inside & np.isfinite(series)
        values[index[ok], j] = series[ok]
        seen[index[ok], j] = True
    mask = seen.all(axis=1)
    values[~mask] = 0.0
    return values, mask


def _check_targets(targets: Sequence[str]) -> tuple[str, ...]:
    if isinstance(targets, str):
        targets = (targets,)
    targets = tuple(targets)
    bad = [t for t in targets if t not in TARGET_NAMES]
    if not targets or bad or len(set(targets)) != len(targets):
        raise MemoError(f"targets must be distinct names from {TARGET_NAMES}, got {targets!r}")
    return targets


def build_examples(
    load_or_songs: DatasetLoad | Iterable[SongRecord],
    *,
    features: str,
    feature_params: dict | None = None,
    targets: Sequence[str] = TARGET_NAMES,
    progress: bool = True,
    on_song: Callable[[int, int], None] | None = None,
) -> list[SequenceExample]:
    """Extract features (through the cache) and align annotations for every song with audio.

    Songs without an audio file, whose audio cannot be read, or without the
    requested annotations are skipped; one :class:`SkippedSongsWarning` gives
    their count per reason.

    Args:
        load_or_songs: what a loader returned, or song records.
        features: a 500 ms feature set name (``"deam260"``, ``"spectral"``, ...).
        feature_params: the extractor's parameters, if not the defaults.
        targets: target names in column order: ``("valence", "arousal")``,
            ``("arousal",)``, ...
        progress: show a tqdm bar.
        on_song: called as ``on_song(done, total)`` after each song, used or skipped (a page's progress bar).

    Returns:
        One example per usable song, in input order.

    Raises:
        FeatureError: unknown feature set, or one not on the 500 ms grid.
        DatasetError: no song could be used.
        MemoError: unknown target names.
    """


    targets = _check_targets(targets)
    params = dict(feature_params or {})
    extractor = get_extractor(features, **params)
    if abs(extractor.frame_seconds - FRAME_SECONDS) > 1e-9:
        raise FeatureError(
            f"{features} has {extractor.frame_seconds:g} s frames; sequence models take one row per 500 ms "
            "annotation frame: use a 500 ms feature set (deam260, compare6373, chroma, cqt, chroma_cqt, spectral)."
        )
    songs = list(load_or_songs.songs if isinstance(load_or_songs, DatasetLoad) else load_or_songs)
    examples: list[SequenceExample] = []
    skipped: Counter[str] = Counter()
    for done, song in enumerate(tqdm(songs, desc=f"features {features}", unit="song", disable=not progress), 1):
        example, reason = _song_example(song, features, params, targets)
        if example is not None:
            examples.append(example)
        else:
            skipped[reason] += 1
        if on_song is not None:
            on_song(done, len(songs))
    report_skipped(skipped, len(songs), len(examples), hint="Check the dataset folder has audio next to the "
                                                            "annotations.")
    return examples


def _song_example(song: SongRecord, features: str, params: dict, targets: tuple[str, ...],
                  ) -> tuple[SequenceExample | None, str]:
    """One song's example, or None and why it is skipped."""
    if not song.has_audio:
        return None, "no audio file"
    missing = [t for t in targets if getattr(song, t, None) is None]
    if missing:
        return None, f"no {'/'.join(missing)} annotation"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # silence warnings per song would flood the log
            audio = load_audio(song.audio_path)
        x = extract(audio, features, **params)
    except (AudioError, FeatureError) as exc:
        return None, f"unreadable audio ({type(exc).__name__})"
    values, mask = align_annotations(song, n_frames=len(x), targets=targets)
    if not mask.any():
        return None, "no annotation inside the audio"
    return SequenceExample(song.song_id, x, values, mask, frame_times(len(x), FRAME_SECONDS), targets), ""


def clip_signs(song: SongRecord, targets: Sequence[str] = TARGET_NAMES) -> np.ndarray | None:
    """A song's clip-level sign labels (+1/-1, NaN unknown) per target, or ``None`` when it has none.

    Read from ``meta["valence_sign"]``/``meta["arousal_sign"]`` (4Q's quadrant), else from the sign
    of ``static_valence``/``static_arousal`` (EMOPIA's weak labels; a static rating of exactly 0
    says nothing and stays unknown).
    """
    values = []
    for name in targets:
        sign = song.meta.get(f"{name}_sign")
        if sign is None:
            static = getattr(song, f"static_{name}", None)
            sign = None if static is None or not np.isfinite(static) or static == 0 else float(np.sign(static))
        values.append(np.nan if sign is None else float(np.sign(sign)))
    out = np.asarray(values, dtype=np.float32)
    return out if np.isfinite(out).any() else None


def build_clip_examples(
    songs: Iterable[SongRecord],
    *,
    features: str,
    feature_params: dict | None = None,
    targets: Sequence[str] = TARGET_NAMES,
    progress: bool = True,
) -> list[SequenceExample]:
    """Examples for songs labelled per clip (4Q, EMOPIA): features, no annotated frame, ``song_targets``.

    Songs without audio, unreadable audio or no clip label are skipped (one
    :class:`SkippedSongsWarning` counts them).

    Raises:
        DatasetError: no song could be used.
    """


    targets = _check_targets(targets)
    params = dict(feature_params or {})
    extractor = get_extractor(features, **params)
    if abs(extractor.frame_seconds - FRAME_SECONDS) > 1e-9:
        raise FeatureError(f"{features} has {extractor.frame_seconds:g} s frames; per-frame models take one row per "
                           "500 ms frame: use a 500 ms feature set (deam260, deam260_tonal, chroma, spectral, ...).")
    songs = list(songs)
    examples: list[SequenceExample] = []
    skipped: Counter[str] = Counter()
    for song in tqdm(songs, desc=f"features {features}", unit="song", disable=not progress):
        labels = clip_signs(song, targets)
        if labels is None:
            skipped["no clip-level label"] += 1
            continue
        if not song.has_audio:
            skipped["no audio file"] += 1
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                audio = load_audio(song.audio_path)
            x = extract(audio, features, **params)
        except (AudioError, FeatureError) as exc:
            skipped[f"unreadable audio ({type(exc).__name__})"] += 1
            continue
        n = len(x)
        examples.append(SequenceExample(song.song_id, x, np.zeros((n, len(targets)), np.float32),
                                        np.zeros(n, dtype=bool), frame_times(n, FRAME_SECONDS), targets,
                                        song_targets=labels))
    report_skipped(skipped, len(songs), len(examples), what="clip-labelled songs")
    return examples


def select_targets(examples: Sequence[SequenceExample], targets: Sequence[str]) -> list[SequenceExample]:
    """The examples with only the named target columns (e.g. ``("arousal",)``), in that order.

    The mask is kept as is: a frame was annotated only where all targets were.

    Raises:
        MemoError: a name is not among the examples' targets.
    """
    targets = _check_targets(targets)
    out = []
    for ex in examples:
        missing = [t for t in targets if t not in ex.target_names]
        if missing:
            raise MemoError(f"song {ex.song_id} has targets {ex.target_names}, not {missing}")
        cols = [ex.target_names.index(t) for t in targets]
        song = None if ex.song_targets is None else np.asarray(ex.song_targets, dtype=np.float32)[cols]
        out.append(dataclasses.replace(ex, targets=ex.targets[:, cols], target_names=targets, song_targets=song))
    return out


def crop_to_annotated(examples: Sequence[SequenceExample]) -> list[SequenceExample]:
    """Each example cut to its annotated span: the frames from its first to its last annotated frame.

    Chaki et al. 2020 feed only "the last 30s or the last 61 frames of each clip" of emoMusic (the
    frames its annotations at 15.0-45.0 s describe), so a model's attention and state never see the
    unannotated first 15 s. ``frame_times`` keep the song's own times (the span of an emoMusic clip
    starts at 14.5 s, the frame the 15.0 s annotation describes). An example without an annotated
    frame (a clip-labelled song) is kept whole.
    """
    out = []
    for ex in examples:
        annotated = np.flatnonzero(np.asarray(ex.mask))
        if not len(annotated):
            out.append(ex)
            continue
        span = slice(int(annotated[0]), int(annotated[-1]) + 1)
        out.append(dataclasses.replace(ex, features=ex.features[span], targets=ex.targets[span],
                                       mask=ex.mask[span], frame_times=np.asarray(ex.frame_times)[span]))
    return out


@dataclass
class Normalizer:
    """Per-feature standardisation fitted on training frames: ``(x - mean) / std``.

    Robust to recordings unlike the training data: standardised values are clipped to
    ``[-clip, clip]`` (``clip=None``: no clipping, as checkpoints saved before it), so a feature
    several training standard deviations away (a real recording's level or noise floor after
    training on rendered MIDI) cannot drive a network into saturation. The clip is stored with the
    statistics in the checkpoint.

    Attributes:
        mean: per-feature means. [shape=(n_features,)] float32
        std: per-feature standard deviations, 1 where a feature is constant. [shape=(n_features,)] float32
        clip: bound on the standardised values, or ``None``.
    """

    mean: np.ndarray
    std: np.ndarray
    clip: float | None = None

    @classmethod
    def fit(cls, examples: Sequence[SequenceExample], *, clip: float | None = DEFAULT_CLIP) -> Normalizer:
        """Statistics over every frame of the (training) examples; ``clip`` bounds the standardised values.

        Raises:
            MemoError: no examples, or examples with different feature counts.
        """
        if not examples:
            raise MemoError("Normalizer.fit needs at least one example")
        widths = {ex.n_features for ex in examples}
        if len(widths) != 1:
            raise MemoError(f"examples have different feature counts {sorted(widths)}; extract them with one feature set")
        # Streamed sums (not one concatenated float64 copy): spectrogram steps have 6400 features a frame.
        count, total = 0, np.zeros(widths.pop(), dtype=np.float64)
        for ex in examples:
            count += ex.n_frames
            total += ex.features.sum(axis=0, dtype=np.float64)
        mean = total / max(count, 1)
        squares = np.zeros_like(mean)
        for ex in examples:
            squares += ((ex.features.astype(np.float64) - mean) ** 2).sum(axis=0)
        std = np.sqrt(squares / max(count, 1))
        std = np.where(std > 1e-8 * np.maximum(1.0, np.abs(mean)), std, 1.0)
        if clip is not None and not clip > 0:
            raise MemoError(f"clip must be > 0 or None, got {clip}")
        return cls(mean.astype(np.float32), std.astype(np.float32), None if clip is None else float(clip))

    @property
    def n_features(self) -> int:
        return int(self.mean.shape[0])

    def apply(self, features: np.ndarray) -> np.ndarray:
        """Standardised features. [shape=(n_frames, n_features)] float32

        Raises:
            MemoError: the feature count differs from the fitted one.
        """
        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2 or features.shape[1] != self.n_features:
            raise MemoError(
                f"features of shape {features.shape} do not fit a normaliser of {self.n_features} features"
            )
        out = ((features - self.mean) / self.std).astype(np.float32)
        if self.clip is not None:
            np.clip(out, -self.clip, self.clip, out=out)
        return out

    def apply_examples(self, examples: Sequence[SequenceExample]) -> list[SequenceExample]:
        """Copies of the examples with standardised features."""
        return [dataclasses.replace(ex, features=self.apply(ex.features)) for ex in examples]

    def to_dict(self) -> dict[str, torch.Tensor]:
        """``{"mean": tensor, "std": tensor[, "clip": tensor]}``, for a checkpoint."""
        out = {"mean": torch.from_numpy(self.mean.copy()), "std": torch.from_numpy(self.std.copy())}
        if self.clip is not None:
            out["clip"] = torch.tensor(float(self.clip))
        return out

    @classmethod
    def from_dict(cls, state: dict) -> Normalizer:
        """Rebuild from :meth:`to_dict`'s output.

        Raises:
            MemoError: keys missing or shapes inconsistent.
        """
        try:
            mean = np.asarray(torch.as_tensor(state["mean"]).cpu().numpy(), dtype=np.float32)
            std = np.asarray(torch.as_tensor(state["std"]).cpu().numpy(), dtype=np.float32)
        except (KeyError, TypeError) as exc:
            raise MemoError(f"normaliser state needs 'mean' and 'std' tensors ({exc})") from None
        if mean.ndim != 1 or mean.shape != std.shape or not np.all(std > 0):
            raise MemoError(f"normaliser state has bad shapes or std: mean {mean.shape}, std {std.shape}")
        clip = state.get("clip") if hasattr(state, "get") else None
        if clip is not None:
            clip = float(torch.as_tensor(clip))
            if not clip > 0:
                raise MemoError(f"normaliser state has a bad clip {clip}")
        return cls(mean, std, clip)
