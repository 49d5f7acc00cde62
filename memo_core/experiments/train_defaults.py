"""Training the shipped checkpoint set (``python -m memo_core train-defaults``): every
:data:`~memo_core.pretrained.DEFAULT_SET` entry on the synthetic corpus and/or real sources, with a time
estimate first, resumable, each checkpoint and the manifest written atomically.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import soundfile

from memo_core.data import load_dataset, synth
from memo_core.data.licences import licence_of
from memo_core.data.mixture import Source, build_mixture, source_split
from memo_core.data.synth_loader import read_corpus_info
from memo_core.data.tags import tag_vocabulary
from memo_core.errors import MemoError
from memo_core.experiments.pipeline import (
    model_data_defaults,
    save_trained,
    score_held_out,
    split_examples,
)
from memo_core.explain.familiarity import MANIFEST_KEY as FAMILIARITY_KEY
from memo_core.explain.familiarity import familiarity_reference
from memo_core.features import get_extractor
from memo_core.fileio import atomic_write, json_safe
from memo_core.models.registry import model_class
from memo_core.pretrained import (
    DEFAULT_SET,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    MANIFEST_VERSION,
    DefaultSpec,
    SourceSpec,
    check_entry,
    default_checkpoints_dir,
    read_manifest,
    sha256_of,
)
from memo_core.training.loop import train_model
from memo_core.training.scoring import evaluate_clips

__all__ = [
    "estimate_seconds",
    "train_default_set",
]


def _write_json(path: Path, data: dict[str, Any]) -> None:
    # strict JSON: an undefined figure (a per-song r of a constant prediction) is null, not NaN
    atomic_write(path, lambda h: h.write(json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n"))



def _specs(only: Sequence[str] | None) -> list[DefaultSpec]:
    if not only:
        return list(DEFAULT_SET)
    known = {s.key: s for s in DEFAULT_SET}
    unknown = [k for k in only if k not in known]
    if unknown:
        raise MemoError(f"no default checkpoint named {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[k] for k in only]



#: The fewest clips a tag needs to be in a tagger's vocabulary when it learns a dataset's own tags (4Q's moods).
MIN_TAG_COUNT = 25



def _load_sources(sources: Sequence[SourceSpec] | None, corpus: str | Path | None, progress: bool):
    """``[(name, DatasetLoad, weight)]`` and the synthetic corpus's parameters (``{}`` without it)."""

    specs = list(sources) if sources else [("synth", corpus, 1.0)]
    loads, corpus_info = [], {}
    for name, root, weight in specs:
        if name == "synth":
            root = Path(root) if root is not None else (Path(corpus) if corpus is not None
                                                         else synth.ensure_corpus(progress=progress))
            info = read_corpus_info(root)
            corpus_info = {k: info.get(k) for k in ("name", "version", "seed", "n_songs", "duration_s", "sample_rate")}
        loads.append((name, load_dataset(name, root, require_audio=True), float(weight), root))
    return loads, corpus_info



def _frame_seconds(features: str) -> float:
    """Seconds per frame of a feature set (its extractor's, with default parameters)."""
    return float(get_extractor(features).frame_seconds)



def _duration(song) -> float:
    """A song's audio length from its file header (45 s when the header cannot be read)."""
    try:

        return float(soundfile.info(str(song.audio_path)).duration)
    except Exception:
        return 45.0



def _shipped_manifest() -> dict[str, Any] | None:
    try:
        return read_manifest(default_checkpoints_dir())
    except MemoError:
        return None



def _tag_source(loads):
    """The source a tagger learns: the first real source whose songs carry tags, else the synthetic corpus."""
    tagged = [item for item in loads if any(s.tags for s in item[1].songs)]
    real = [item for item in tagged if item[0] != "synth"]
    if real:
        return real[0]
    if tagged:
        return tagged[0]
    raise MemoError("no training source carries mood/theme tags for the taggers")



_SOURCE_TITLES = {"4q": "4Q real recordings (Panda et al. 2018)", "vgmidi_rendered": "VGMIDI rendered",
                  "emopia_rendered": "EMOPIA rendered", "deam": "DEAM", "emomusic": "emoMusic", "pmemo": "PMEmo"}



def _describe(record: list[dict[str, Any]], corpus_info: dict[str, Any]) -> str:
    def title(r):
        if r["dataset"] == "synth":
            return (f"MEMO synthetic corpus (seed {corpus_info.get('seed', '?')}, {corpus_info.get('n_songs', '?')} "
                    f"songs of {corpus_info.get('duration_s', '?')} s)")
        return _SOURCE_TITLES.get(r["dataset"], r["dataset"])

    return "; ".join(f"{title(r)}, {r['labels']}: {r['songs'].get('train', 0)} training, "
                     f"{r['songs'].get('validation', 0)} validation, {r['songs'].get('test', 0)} test songs"
                     for r in record)



#: Seconds of extraction per second of audio, per feature set, cold, on the 2-core machine (README's table).
EXTRACTION_SECONDS_PER_SECOND = {"deam260": 0.04, "compare6373": 0.04, "chroma": 0.006, "cqt": 0.005,
                                 "chroma_cqt": 0.006, "spectral": 0.01, "logmel128_steps": 0.0015, "mel96": 0.0005,
                                 "loudness": 0.001, "tonal": 0.005, "deam260_tonal": 0.046, "spectral_tonal": 0.016}



#: Training seconds per training song (all epochs), per model, measured by the shipped set's own run; used when
#: the manifest being replaced has no figure.
_TRAIN_SECONDS_PER_SONG = 1.0



def estimate_seconds(specs: Sequence[DefaultSpec], n_songs: int, audio_seconds: float,
                     manifest: dict[str, Any] | None = None) -> dict[str, float]:
    """What retraining ``specs`` on ``n_songs`` songs (``audio_seconds`` of audio in all) will take, roughly.

    Extraction: each distinct feature set's cold cost per audio second (:data:`EXTRACTION_SECONDS_PER_SECOND`)
    times the audio; training: each model's measured seconds per training song in ``manifest`` (the shipped
    set's run, ``train_seconds / split_sizes.train``) times 70 % of the songs.

    Returns:
        ``{"extraction": s, "training": s, "total": s}``.
    """

    known = {e.get("key"): e for e in (manifest or {}).get("checkpoints", [])}
    feats = set()
    train = 0.0
    for spec in specs:
        feats.add(spec.features or getattr(model_class(spec.model), "default_features", "") or "")
        entry = known.get(spec.key) or {}
        songs = (entry.get("split_sizes") or {}).get("train") or 0
        per_song = float(entry["train_seconds"]) / songs if songs and entry.get("train_seconds") else _TRAIN_SECONDS_PER_SONG
        train += per_song * 0.7 * n_songs
    extraction = sum(EXTRACTION_SECONDS_PER_SECOND.get(f, 0.02) for f in feats) * audio_seconds
    return {"extraction": extraction, "training": train, "total": extraction + train}



def _sources_key(sources: Sequence[dict[str, Any]]) -> list[tuple]:
    return sorted((r.get("name"), r.get("dataset"), float(r.get("weight", 1.0))) for r in sources or [])



def train_default_set(
    out_dir: str | Path | None = None,
    *,
    corpus: str | Path | None = None,
    sources: Sequence[SourceSpec] | None = None,
    only: Sequence[str] | None = None,
    max_epochs: int | None = None,
    seed: int = 0,
    resume: bool = False,
    progress: bool = True,
    on_done: Callable[[dict[str, Any]], None] | None = None,
    on_estimate: Callable[[dict[str, float]], None] | None = None,
    on_skip: Callable[[str, str], None] | None = None,
) -> dict[str, Any]:
    """Train the default checkpoints on a mixture of sources and write them with their manifest.

    Per-frame models train on every source (:func:`memo_core.data.mixture.build_mixture`: dynamic labels
    through the frame loss, clip-level labels such as 4Q's quadrants through the song-level sign loss,
    each source split on its own, by artist where it has artists); taggers learn the tags of the first
    real source that has tags (4Q's AllMusic moods carried by at least :data:`MIN_TAG_COUNT` clips),
    else the synthetic corpus's.

    Args:
        out_dir: where (default :func:`default_checkpoints_dir`).
        corpus: the synthetic corpus folder when ``sources`` is not given or names ``synth`` without a folder
            (default: the default corpus, rendered if missing).
        sources: ``(dataset, folder, weight)`` per source; default ``[("synth", corpus, 1.0)]``.
        only: keys of :data:`DEFAULT_SET` to (re)train; the manifest keeps the other entries.
        max_epochs: a cap below each entry's own (for quick runs and tests).
        seed: training and split seed.
        resume: skip every checkpoint the folder's manifest already holds intact (file matching its SHA-256)
            from the same sources: an interrupted run continues where it stopped.
        progress: progress bars.
        on_done: called with each finished manifest entry.
        on_estimate: called once, before any training, with :func:`estimate_seconds`'s figures.
        on_skip: called with ``(key, reason)`` for each checkpoint the sources cannot train (the taggers
            when no source carries tags, e.g. DEAM alone); the folder's manifest keeps its previous entry.

    Returns:
        The manifest written.

    Raises:
        MemoError: an unknown key, a ``max_epochs`` below 1, or a source that cannot be read.
    """

    if max_epochs is not None and (isinstance(max_epochs, bool) or int(max_epochs) != max_epochs or max_epochs < 1):
        # 0 would save untrained weights over the shipped checkpoints
        raise MemoError(f"max_epochs must be a whole number of at least 1, got {max_epochs!r}")
    out = Path(out_dir).expanduser() if out_dir is not None else default_checkpoints_dir()
    specs = _specs(only)
    loads, corpus_info = _load_sources(sources, corpus, progress)
    mixture = [Source(name, load, weight) for name, load, weight, _ in loads]
    primary = loads[0][1]  # a per-frame model's task and features do not depend on it
    cache: dict[tuple, tuple[dict[str, list], list[dict[str, Any]]]] = {}
    previous = {}
    if (out / MANIFEST_NAME).is_file():
        try:
            previous = {e["key"]: e for e in read_manifest(out)["checkpoints"]}
        except MemoError:
            previous = {}
    entries = dict(previous)
    if resume:
        wanted = [{"name": n, "dataset": load.dataset, "weight": w} for n, load, w, _ in loads]
        done = {k for k, e in previous.items()
                if check_entry(out, e) is None and _sources_key(e.get("training_sources") or []) == _sources_key(wanted)}
        specs = [s for s in specs if s.key not in done]
    if not any(any(song.tags for song in load.songs) for _, load, _, _ in loads):
        taggers = [s for s in specs if getattr(model_class(s.model), "task", "regression") == "tagging"]
        for spec in taggers:
            if on_skip is not None:
                on_skip(spec.key, "no training source carries mood/theme tags (add one with --source, e.g. "
                                  "--with-synth or 4q=PATH)")
        specs = [s for s in specs if s not in taggers]
    if on_estimate is not None:
        n_songs = sum(len(load.songs) for _, load, _, _ in loads)
        audio_seconds = sum(_duration(song) for _, load, _, _ in loads for song in load.songs)
        on_estimate(estimate_seconds(specs, n_songs, audio_seconds, {"checkpoints": list(previous.values())}
                                     if previous else _shipped_manifest()))
    for spec in specs:
        if getattr(model_class(spec.model), "task", "regression") == "tagging":
            name, load, weight, _ = _tag_source(loads)
            split, how = source_split(load, seed=seed)
            task, feats, _ = model_data_defaults(spec.model, load, features=spec.features)
            # fixed vocabularies (synth, MTG-Jamendo) ignore min_count
            tgts = tuple(tag_vocabulary(load, min_count=MIN_TAG_COUNT))
            key = (task, feats, tgts)
            if key not in cache:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    parts = split_examples(task, load, split, features=feats, targets=tgts, progress=progress)
                cache[key] = (parts, [{"name": name, "dataset": load.dataset, "weight": weight,
                                       "labels": f"{len(tgts)} mood/theme tags", "split": how,
                                       "songs": {p: len(v) for p, v in parts.items()},
                                       "licence": licence_of(load.dataset)}])
        else:
            task, feats, tgts = model_data_defaults(spec.model, primary, features=spec.features)
            key = (task, feats, tgts)
            if key not in cache:
                cache[key] = build_mixture(mixture, features=feats, targets=tgts, seed=seed, progress=progress)
        parts, record = cache[key]
        epochs = spec.max_epochs if max_epochs is None else min(max_epochs, spec.max_epochs or max_epochs)
        overrides = dict(spec.train_overrides) | {"seed": seed} | ({"max_epochs": epochs} if epochs is not None else {})
        started = time.perf_counter()
        result = train_model(spec.model, spec.preset, parts["train"], parts.get("validation", []),
                             config_overrides=overrides, progress=progress)
        seconds = time.perf_counter() - started
        test = parts.get("test", [])
        framed = [ex for ex in test if getattr(ex, "mask", None) is None or ex.mask.any()]
        metrics = score_held_out(result, framed)
        clip_metrics: dict[str, float] = {}
        if task == "regression" and any(getattr(ex, "has_song_targets", False) for ex in test):
            clip_metrics = evaluate_clips(result.model, test, result.normalizer)
        names = [r["name"] for r in record]
        path = save_trained(out / f"{spec.key}.pt", result, parts, dataset="+".join(names), features=feats,
                            split_seed=seed, metrics=metrics,
                            info={"corpus": corpus_info, "sources": record, "clip_metrics": clip_metrics})
        entry = {
            "key": spec.key, "file": path.name, "model": spec.model, "preset": spec.preset, "family": spec.family,
            "paper": spec.paper, "task": task, "features": feats, "targets": list(result.targets),
            "purpose": spec.purpose,
            "training_data": _describe(record, corpus_info) + "; metrics on each source's held-out test songs",
            "training_sources": record,
            "split_sizes": {part: len(exs) for part, exs in parts.items()},
            "metrics": metrics,
            "clip_metrics": clip_metrics,
            "n_parameters": result.model.n_parameters(),
            "size_bytes": path.stat().st_size,
            "sha256": sha256_of(path),
            "train_overrides": dict(spec.train_overrides),
            "train_seconds": round(seconds, 1),
            "epochs": result.history.epochs_run,
            # the distance of its training songs to their own features: what a song is judged by on the pages
            FAMILIARITY_KEY: familiarity_reference(result.normalizer, (ex.features for ex in parts["train"]),
                                                   frame_seconds=_frame_seconds(feats)),
        }
        entries[spec.key] = entry
        order = [s.key for s in DEFAULT_SET if s.key in entries] + [k for k in entries if k not in
                                                                     {s.key for s in DEFAULT_SET}]
        manifest = {
            "format": MANIFEST_FORMAT,
            "version": MANIFEST_VERSION,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "trained_on": {"dataset": "+".join(n for n, *_ in loads), "corpus": corpus_info,
                           "sources": [{"dataset": n, "weight": w} for n, _, w, _ in loads],
                           "machine": f"{platform.machine()}, {os.cpu_count()} cores"},
            "checkpoints": [entries[k] for k in order],
        }
        _write_json(out / MANIFEST_NAME, manifest)  # after every model: an interrupted run keeps what it made
        if on_done is not None:
            on_done(entry)
    return read_manifest(out)
