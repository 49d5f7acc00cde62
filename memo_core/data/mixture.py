"""Training on a mixture of sources: dynamic labels from some, clip-level labels from others.

A per-frame model learns the dynamics from sources annotated over time (the
synthetic corpus's designed curves, VGMIDI's listeners, a user's DEAM or
emoMusic) and the song-level sign of valence and arousal from sources labelled
per clip (4Q's real recordings, EMOPIA's quadrants). Each source is split on
its own, with its grouping key where it has one (4Q's artist, a piece's
arrangements or segments): five folds of groups, fold 0 the test part, fold 1
validation, the rest training; a source with an official split (the synthetic
corpus, emoMusic) keeps it. The parts of all sources are pooled. A
clip-labelled song never gets frame targets: it only adds the clip-level loss
(:func:`memo_core.models.losses.song_sign_loss`), weighted by its source's weight.

>>> from memo_core.data import load_dataset
>>> from memo_core.data.mixture import Source, build_mixture
>>> parts, record = build_mixture([Source("synth", load_dataset("synth")),            # doctest: +SKIP
...                                Source("4q", load_dataset("4q", "4q/"), weight=1.0)],
...                               features="deam260")
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from memo_core.data.licences import licence_of
from memo_core.data.records import DatasetLoad
from memo_core.data.sequences import (
    TARGET_NAMES,
    SequenceExample,
    build_clip_examples,
    build_examples,
    clip_signs,
)
from memo_core.data.splits import dataset_split, grouped_split
from memo_core.errors import DatasetError, MemoError

__all__ = ["Source", "source_split", "build_mixture", "has_dynamic", "clip_labelled_only", "PARTS"]

PARTS = ("train", "validation", "test")
_MIN_GROUPS = 5


@dataclass(frozen=True)
class Source:
    """One training source of a mixture.

    Attributes:
        name: its key in the mixture (song ids become ``name:id``).
        load: what its loader returned.
        weight: the weight of its clip-level loss (songs with dynamic labels train on the
            frame loss, where every annotated frame counts once).
    """

    name: str
    load: DatasetLoad
    weight: float = 1.0


def _groups(load: DatasetLoad) -> dict[str, str] | None:
    groups = {s.song_id: s.meta.get("group") for s in load.songs}
    if groups and all(groups.values()) and len(set(groups.values())) >= _MIN_GROUPS:
        return {k: str(v) for k, v in groups.items()}
    return None


def source_split(load: DatasetLoad, *, seed: int = 0) -> tuple[dict[str, list[str]], str]:
    """A source's train/validation/test song ids and a sentence saying how they were made.

    Grouped (``meta["group"]`` on every song: 4Q's artists, a piece's renders or segments) into 5 folds
    of groups, fold 0 test and fold 1 validation; else the dataset's official split, else a seeded
    70/15/15 split by song (:func:`memo_core.data.splits.dataset_split`).
    """
    groups = _groups(load)
    if groups is not None:
        split = grouped_split(groups, n_folds=5, test_fold=0, val_fold=1, seed=seed)
        n_groups = len(set(groups.values()))
        return split, (f"{n_groups} groups ({'artists' if load.dataset == '4q' else 'pieces/songs'}) in 5 folds "
                       f"(seed {seed}): fold 0 test, fold 1 validation, folds 2-4 training; no group in two parts")
    return dataset_split(load, seed=seed), "the dataset's official split, else 70/15/15 by song (seeded)"


def has_dynamic(song, targets: Sequence[str]) -> bool:
    """The song has a dynamic annotation for every target."""
    return all(getattr(song, t, None) is not None for t in targets)


def clip_labelled_only(load: DatasetLoad, targets: Sequence[str] = TARGET_NAMES) -> bool:
    """True when no song has dynamic labels for ``targets`` and some carry clip-level signs (4Q, EMOPIA):
    such a dataset trains as a one-source mixture."""
    if any(has_dynamic(s, targets) for s in load.songs):
        return False
    return any(clip_signs(s, targets) is not None for s in load.songs)


def build_mixture(
    sources: Sequence[Source],
    *,
    features: str,
    targets: Sequence[str] = TARGET_NAMES,
    seed: int = 0,
    progress: bool = True,
) -> tuple[dict[str, list[SequenceExample]], list[dict[str, Any]]]:
    """Examples of every source, split per source and pooled per part.

    Args:
        sources: the sources (names must be distinct).
        features: the 500 ms feature set.
        targets: target names.
        seed: the split seed.
        progress: tqdm bars.

    Returns:
        ``(parts, record)``: ``{"train": [...], "validation": [...], "test": [...]}`` and, per source,
        ``{"name", "dataset", "weight", "labels", "songs": {part: n}, "split", "licence"}``.

    Raises:
        MemoError: no source, duplicate names, a negative weight, or no training song at all.
    """
    if not sources:
        raise MemoError("a mixture needs at least one source")
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise MemoError(f"mixture source names must be distinct, got {names}")
    parts: dict[str, list[SequenceExample]] = {p: [] for p in PARTS}
    record: list[dict[str, Any]] = []
    for source in sources:
        if not source.weight >= 0:
            raise MemoError(f"source {source.name}: weight must be >= 0, got {source.weight}")
        split, how = source_split(source.load, seed=seed)
        by_id = source.load.by_id()
        counts: dict[str, int] = {}
        kinds: set[str] = set()
        for part in PARTS:
            songs = [by_id[i] for i in split.get(part, []) if i in by_id]
            dynamic = [s for s in songs if has_dynamic(s, targets)]
            clip = [s for s in songs if not has_dynamic(s, targets) and clip_signs(s, targets) is not None]
            examples: list[SequenceExample] = []
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # per-song skips are counted in the record
                for group, build, kind in ((dynamic, build_examples, "dynamic"), (clip, build_clip_examples, "clip")):
                    if not group:
                        continue
                    try:
                        examples += build(group, features=features, targets=targets, progress=progress)
                        kinds.add(kind)
                    except DatasetError:
                        pass
            examples = [dataclasses.replace(ex, song_id=f"{source.name}:{ex.song_id}", source=source.name,
                                            weight=float(source.weight)) for ex in examples]
            parts[part] += examples
            counts[part] = len(examples)
        labels = {"dynamic": "dynamic valence/arousal curves (frame loss)",
                  "clip": "clip-level signs of valence/arousal (song-mean sign loss)"}
        record.append({
            "name": source.name, "dataset": source.load.dataset, "weight": float(source.weight),
            "labels": "; ".join(labels[k] for k in sorted(kinds)) or "none usable",
            "songs": counts, "split": how, "licence": licence_of(source.load.dataset),
        })
    if not parts["train"]:
        raise MemoError("no source gave a training song with audio and labels")
    return parts, record
