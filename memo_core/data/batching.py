"""Padded batches of songs: :class:`Batch`, :func:`collate`, :func:`iterate_batches`
(random windows of long songs), :func:`collate_tags` for the taggers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from memo_core.data.sequences import SequenceExample
from memo_core.data.tags import TagExample
from memo_core.errors import MemoError

__all__ = [
    "Batch",
    "collate",
    "iterate_batches",
    "collate_tags",
]


@dataclass
class Batch:
    """A padded batch as ``fit`` hands it to models.

    Per-frame models get the shapes below; a tagging model (``task ==
    "tagging"``) gets one row of tags per song: y [shape=(batch, n_tags)] and
    mask [shape=(batch,)] (True for every song).

    Attributes:
        x: normalised features. [shape=(batch, n_frames, n_features)]
        lengths: true frames per song. [shape=(batch,)]
        y: targets, 0 where unannotated. [shape=(batch, n_frames, n_targets)]
        mask: True on annotated frames within the song. [shape=(batch, n_frames)]
        song_y: clip-level sign labels (+1/-1, 0 where unknown), or ``None`` when no song of
            the batch has one. [shape=(batch, n_targets)]
        song_mask: True where ``song_y`` holds a label. [shape=(batch, n_targets)]
        song_weight: each song's clip-level loss weight. [shape=(batch,)]
    """

    x: Tensor
    lengths: Tensor
    y: Tensor
    mask: Tensor
    song_y: Tensor | None = None
    song_mask: Tensor | None = None
    song_weight: Tensor | None = None


def collate(examples: Sequence[SequenceExample], *, device: str | torch.device = "cpu") -> Batch:
    """Pad songs to the longest one.

    Returns:
        A :class:`Batch`: x [shape=(batch, n_frames, n_features)] (0 past each
        song's end), lengths [shape=(batch,)], y [shape=(batch, n_frames,
        n_targets)], mask [shape=(batch, n_frames)] (annotated frames inside the song).
    """
    n = max(ex.n_frames for ex in examples)
    b = len(examples)
    x = np.zeros((b, n, examples[0].n_features), dtype=np.float32)
    y = np.zeros((b, n, examples[0].n_targets), dtype=np.float32)
    mask = np.zeros((b, n), dtype=bool)
    for i, ex in enumerate(examples):
        x[i, : ex.n_frames] = ex.features
        y[i, : ex.n_frames] = ex.targets
        mask[i, : ex.n_frames] = ex.mask
    lengths = torch.tensor([ex.n_frames for ex in examples], dtype=torch.long)
    song_y = song_mask = song_weight = None
    if any(getattr(ex, "has_song_targets", False) for ex in examples):
        labels = np.full((b, examples[0].n_targets), np.nan, dtype=np.float32)
        for i, ex in enumerate(examples):
            if ex.song_targets is not None:
                labels[i] = ex.song_targets
        known = np.isfinite(labels)
        song_y = torch.from_numpy(np.where(known, np.sign(labels), 0.0).astype(np.float32)).to(device)
        song_mask = torch.from_numpy(known).to(device)
        song_weight = torch.tensor([float(getattr(ex, "weight", 1.0)) for ex in examples],
                                   dtype=torch.float32).to(device)
    return Batch(
        x=torch.from_numpy(x).to(device),
        lengths=lengths.to(device),
        y=torch.from_numpy(y).to(device),
        mask=torch.from_numpy(mask).to(device),
        song_y=song_y,
        song_mask=song_mask,
        song_weight=song_weight,
    )



def _window(ex: SequenceExample, n: int, rng: np.random.Generator) -> SequenceExample:
    """A random ``n``-frame window of ``ex`` holding at least one annotated frame."""
    if ex.n_frames <= n:
        return ex
    annotated = np.flatnonzero(ex.mask)
    if annotated.size == 0:  # a clip-labelled song: its label holds for any part of it
        lo, hi = 0, ex.n_frames - n
    else:
        lo = max(0, int(annotated[0]) - n + 1)
        hi = min(ex.n_frames - n, int(annotated[-1]))
    start = int(rng.integers(lo, hi + 1)) if hi >= lo else 0
    s = slice(start, start + n)
    return dataclasses.replace(
        ex, features=ex.features[s], targets=ex.targets[s], mask=ex.mask[s], frame_times=ex.frame_times[s]
    )



def iterate_batches(
    examples: Sequence[SequenceExample],
    *,
    batch_size: int,
    device: str | torch.device = "cpu",
    order: Sequence[int] | None = None,
    segment_frames: int | None = None,
    rng: np.random.Generator | None = None,
    collate_fn: Callable[..., Batch] | None = None,
) -> Iterator[Batch]:
    """Padded batches of ``examples`` in ``order`` (default: as given), optionally cut to random windows.

    ``collate_fn(examples, device=...)`` builds each batch (default :func:`collate`;
    ``fit`` passes the model's :meth:`~memo_core.models.base.SequenceModel.make_batch`).
    """
    order = range(len(examples)) if order is None else order
    order = list(order)
    collate_fn = collate_fn or collate
    for start in range(0, len(order), batch_size):
        chunk = [examples[i] for i in order[start : start + batch_size]]
        if segment_frames is not None:
            chunk = [_window(ex, segment_frames, rng or np.random.default_rng(0)) for ex in chunk]
        yield collate_fn(chunk, device=device)


def collate_tags(examples: Sequence[TagExample], *, device: str | torch.device = "cpu"):
    """Tag examples as one :class:`~memo_core.data.batching.Batch`.

    Returns:
        x [shape=(batch, n_frames, n_mels)] (0 past a song's end), lengths
        [shape=(batch,)], y [shape=(batch, n_tags)], mask [shape=(batch,)] all True.
    """
    if not examples:
        raise MemoError("collate_tags needs at least one example")
    n = max(ex.n_frames for ex in examples)
    x = np.zeros((len(examples), n, examples[0].n_features), dtype=np.float32)
    for i, ex in enumerate(examples):
        x[i, : ex.n_frames] = ex.features
    y = np.stack([ex.targets for ex in examples]).astype(np.float32)
    return Batch(
        x=torch.from_numpy(x).to(device),
        lengths=torch.tensor([ex.n_frames for ex in examples], dtype=torch.long, device=device),
        y=torch.from_numpy(y).to(device),
        mask=torch.ones(len(examples), dtype=torch.bool, device=device),
    )
