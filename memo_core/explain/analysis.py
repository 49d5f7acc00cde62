"""Analyse one song with several checkpoints, as the dashboard does: shared features, a result cache, progress.

:func:`analyse_song` runs every given checkpoint, with every explanation map,
on one song:

1. each checkpoint's result is looked up in the on-disk RESULT cache;
2. each feature set the remaining checkpoints need is extracted ONCE (through
   the on-disk feature cache of :func:`memo_core.features.extract`), however
   many checkpoints use it (``deam260`` serves seven of the defaults);
3. as soon as a feature set is ready, each checkpoint using it normalises the
   features and runs its model with the explanation maps
   (:class:`~memo_core.explain.SongExplanation`, as
   :func:`~memo_core.explain.explain_song` returns) plus the map ``feature_distance``: the song's
   per-frame distance to the checkpoint's training features
   (:func:`memo_core.explain.familiarity.distance_map`), and the result is cached.

Extractions and models share ``workers`` threads (two on two cores).
openSMILE, librosa and torch spend their time in C and release the GIL, so
models run while other sets are still being extracted. Extractions start
longest first. Sets that share work run one after the other in one job:
``deam260`` and ``compare6373`` come from one openSMILE pass over the same
LLDs (:func:`~memo_core.features.opensmile_sets.one_pass`: half the openSMILE
time, and one pass's memory instead of two side by side), and the librosa sets
share one STFT and one CQT in memory. Each model runs with ONE torch thread: these models
are small and see one song, and two intra-op threads cost more in
synchronisation than they gain (much more on a busy machine).

A checkpoint that fails (features that do not match, a model that raises) is
reported in :attr:`SongAnalysis.problems` with the reason, and the others still
run. Audio that cannot be used raises :class:`~memo_core.errors.AudioError`
(from :func:`~memo_core.audio.load_audio`) before any work.

The result cache
----------------
One ``.npz`` per (song, checkpoint) at
``<analysis_cache_dir()>/<key[:2]>/<key>.npz``; ``analysis_cache_dir()`` is
``$MEMO_CACHE_DIR/analyses`` when ``MEMO_CACHE_DIR`` is set (the feature
cache's folder), else ``~/.cache/memo/analyses``. The key is the SHA-256 of the
audio's content hash, the checkpoint's fingerprint (the SHA-256 of its file
from the manifest, ``info["manifest"]["sha256"]``, else a hash of its weights,
normalisation statistics, targets and feature spec), the model's current
config (DAMFF's test-time hop can change), the extractor's spec (parameters
and library versions), the smoothing flag, memo_core's version and
:data:`RESULT_FORMAT_VERSION`. Entries are written atomically (a temp file in
the same folder, then ``os.replace``); an entry that cannot be read is
recomputed and overwritten with a :class:`~memo_core.features.CacheWarning`,
and a cache that cannot be written only warns.

An entry holds ``meta`` (a JSON string: format, task, targets, smoothed,
model name, prediction columns, map names and their axis names),
``pred<j>`` (prediction column ``j``), ``map<i>`` (map ``i``'s values) and
``map<i>_axis<k>`` (its ``k``-th axis coordinates).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import queue
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from memo_core import __version__
from memo_core.audio import Audio, load_audio
from memo_core.errors import AudioError, MemoError
from memo_core.explain.explanation import SongExplanation, explain_features
from memo_core.features import extract, get_extractor
from memo_core.features.cache import CACHE_ENV, CacheWarning, cache_path
from memo_core.features.combined import CombinedSet
from memo_core.fileio import atomic_write
from memo_core.training.checkpoints import LoadedCheckpoint, check_feature_spec

__all__ = [
    "RESULT_FORMAT_VERSION",
    "SongAnalysis",
    "analyse_song",
    "analysis_cache_dir",
    "checkpoint_fingerprint",
    "one_torch_thread",
]

#: Bump when the stored layout or what a stored result means changes: it is part of every key.
#: 2: every result carries the song's distance to the checkpoint's training features (``feature_distance``).
RESULT_FORMAT_VERSION = 2

Progress = Callable[[str, int, int], None]

#: Rough extraction cost in ms per second of audio (README's feature benchmark), to start the longest first.
_COST_HINT_MS = {"compare6373": 40.0, "deam260": 37.0, "spectral": 12.0, "chroma_cqt": 5.0, "chroma": 5.0,
                 "cqt": 4.0, "logmel128": 1.0, "logmel128_steps": 1.0, "mel96": 0.3}
#: Modules whose extractors share work on the latest audio: their sets run in one job, in
#: ``module.one_pass`` where the module has one, and ``module.clear_intermediates()`` ends the job.
_SHARED_INTERMEDIATES = ("memo_core.features.librosa_sets", "memo_core.features.opensmile_sets")
#: Modules whose sets read another module's intermediates run in that module's job (``tonal`` reads the
#: CQT ``librosa_sets`` keeps for the latest audio; the job's end clears it).
_JOIN_JOB = {"memo_core.features.tonal": "memo_core.features.librosa_sets"}


@dataclass
class SongAnalysis:
    """One song analysed by several checkpoints.

    Attributes:
        source: the audio's name.
        duration_s: the audio's length in seconds.
        content_hash: the audio's content hash (what the caches are keyed by).
        results: ``{checkpoint key: SongExplanation}`` for every checkpoint that
            succeeded, in the order the checkpoints were given.
        problems: ``{checkpoint key: reason}`` for every checkpoint that failed.
        cached: keys whose result came from the result cache.
        timings: seconds per step (``"features deam260"``, ``"model mca"``), and
            ``"total"``; extraction steps may overlap in time (threads).
    """

    source: str
    duration_s: float
    content_hash: str
    results: dict[str, SongExplanation] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    cached: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- cache keys


def analysis_cache_dir() -> Path:
    """``$MEMO_CACHE_DIR/analyses`` when ``MEMO_CACHE_DIR`` is set, else ``~/.cache/memo/analyses``."""

    env = os.environ.get(CACHE_ENV)
    return (Path(env).expanduser() if env else Path.home() / ".cache" / "memo") / "analyses"


def checkpoint_fingerprint(checkpoint: LoadedCheckpoint) -> str:
    """What identifies a checkpoint's weights: its file's SHA-256 from the manifest, else a hash of its state.

    The state hash covers the model name and stored config, every tensor of the
    state dict (names, dtypes, shapes, bytes), the normalisation statistics,
    the targets and the feature spec.
    """
    sha = (checkpoint.info.get("manifest") or {}).get("sha256")
    if isinstance(sha, str) and sha:
        return f"file:{sha}"
    digest = hashlib.sha256()
    head = {"model": checkpoint.info.get("model_name"), "config": checkpoint.info.get("model_config"),
            "features": checkpoint.feature_spec, "targets": list(checkpoint.targets)}
    digest.update(json.dumps(head, sort_keys=True, default=str).encode())
    tensors = [(f"state.{k}", v) for k, v in sorted(checkpoint.model.state_dict().items())]
    tensors += [("normalizer.mean", torch.from_numpy(np.ascontiguousarray(checkpoint.normalizer.mean))),
                ("normalizer.std", torch.from_numpy(np.ascontiguousarray(checkpoint.normalizer.std)))]
    for name, tensor in tensors:
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return f"state:{digest.hexdigest()}"


def _result_key(audio: Audio, checkpoint: LoadedCheckpoint, spec: dict[str, Any], smooth: bool) -> str:

    config = getattr(checkpoint.model, "config", None)
    config = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else repr(config)
    payload = {"format": RESULT_FORMAT_VERSION, "memo_core": __version__, "audio": audio.content_hash(),
               "checkpoint": checkpoint_fingerprint(checkpoint), "model_config": config,
               "features": spec, "smooth": bool(smooth)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _entry_path(key: str) -> Path:
    return analysis_cache_dir() / key[:2] / f"{key}.npz"


# --------------------------------------------------------------------------- the result cache


def _column_array(values: pd.Series) -> np.ndarray:
    array = values.to_numpy()
    return array.astype(str) if array.dtype == object else array


def _save_result(key: str, result: SongExplanation) -> Path | None:
    """Write one result atomically; warn and return ``None`` when it cannot be stored (the result stands)."""

    path = _entry_path(key)
    try:
        columns = [str(c) for c in result.predictions.columns]
        maps = list(result.explanations.items())
        meta = {"format": RESULT_FORMAT_VERSION, "task": result.task, "targets": list(result.targets),
                "smoothed": bool(result.smoothed), "model_name": result.model_name, "columns": columns,
                "maps": [{"name": name, "axes": [str(a) for a in entry["axes"]]} for name, entry in maps]}
        arrays: dict[str, np.ndarray] = {"meta": np.asarray(json.dumps(meta))}
        for j, column in enumerate(result.predictions.columns):
            arrays[f"pred{j}"] = _column_array(result.predictions[column])
        for i, (_, entry) in enumerate(maps):
            arrays[f"map{i}"] = np.asarray(entry["values"])
            for k, values in enumerate(entry["axes"].values()):
                arrays[f"map{i}_axis{k}"] = np.asarray(values)
        # uncompressed: attention maps hardly compress, and reading stays fast
        return atomic_write(path, lambda handle: np.savez(handle, **arrays), binary=True)
    except OSError as exc:
        warnings.warn(f"Could not write the analysis cache at {path.parent} ({exc.strerror or exc}); the result "
                      f"was computed but not cached. Set {CACHE_ENV} to a writable folder to cache it.",
                      CacheWarning, stacklevel=3)
    except Exception as exc:  # a map that does not fit the layout: keep the result, skip the cache
        warnings.warn(f"Could not store {result.model_name}'s result in the analysis cache ({type(exc).__name__}: "
                      f"{exc}); it was computed but not cached.", CacheWarning, stacklevel=3)
    return None


def _load_result(key: str, source: str) -> SongExplanation | None:
    """The cached result, or ``None`` when absent; a damaged entry warns and gives ``None``."""

    path = _entry_path(key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"][()]))
            if meta.get("format") != RESULT_FORMAT_VERSION:
                raise ValueError(f"format {meta.get('format')!r}")
            predictions = pd.DataFrame({c: data[f"pred{j}"] for j, c in enumerate(meta["columns"])})
            maps = {}
            for i, entry in enumerate(meta["maps"]):
                axes = {axis: data[f"map{i}_axis{k}"] for k, axis in enumerate(entry["axes"])}
                maps[entry["name"]] = {"values": data[f"map{i}"], "axes": axes}
        return SongExplanation(source, predictions, maps, tuple(meta["targets"]), bool(meta["smoothed"]),
                               str(meta["model_name"]), str(meta["task"]))
    except Exception as exc:  # truncated, garbage or foreign file: recompute
        warnings.warn(f"Analysis cache entry {path} is damaged ({type(exc).__name__}: {exc}); recomputing it.",
                      CacheWarning, stacklevel=3)
        return None


# --------------------------------------------------------------------------- one checkpoint


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, MemoError) else f"{type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------- scheduling


@contextmanager
def one_torch_thread():
    """Run torch single-threaded in this worker thread, restoring the setting afterwards.

    The default models are small and see one song at a time: with two
    intra-op threads on two cores the parallel regions' barriers cost more
    than they save, and far more when the cores are busy (measured under load,
    45 s song: DBLSTM-ELM 4.5 s with 2 threads, 0.02 s with 1; DAMFF 2.7 s and
    0.17 s). :func:`analyse_song` gets its parallelism from running
    extractions and models side by side instead. torch keeps the count per
    thread (OpenMP), but a new thread starts from the last value set anywhere,
    hence the restore.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _job_module(extractor: Any) -> str:
    module = type(extractor).__module__
    return _JOIN_JOB.get(module, module)


def _feature_id(extractor: Any) -> str:
    return json.dumps({"name": extractor.name, "params": extractor.params}, sort_keys=True, default=str)


def _feature_jobs(extractors: Mapping[str, Any], duration_s: float) -> list[list[str]]:
    """Extractor ids grouped into jobs (sets sharing in-memory intermediates together), longest first."""
    groups: dict[str, list[str]] = {}
    for fid, extractor in extractors.items():
        module = _job_module(extractor)
        groups.setdefault(module if module in _SHARED_INTERMEDIATES else fid, []).append(fid)
    cost = lambda fid: _COST_HINT_MS.get(extractors[fid].name, 10.0) * duration_s  # noqa: E731
    return sorted(groups.values(), key=lambda job: -sum(cost(f) for f in job))


# --------------------------------------------------------------------------- the analysis


def _as_audio(audio: Audio | str | os.PathLike | bytes) -> Audio:
    if isinstance(audio, Audio):
        return audio
    if isinstance(audio, (str, os.PathLike, bytes, bytearray, memoryview)):
        return load_audio(audio)
    raise AudioError(f"analyse_song needs an Audio (memo_core.audio.load_audio), a file path or a file's bytes, "
                     f"got {type(audio).__name__}")


def analyse_song(
    audio: Audio | str | os.PathLike | bytes,
    checkpoints: Mapping[str, LoadedCheckpoint],
    *,
    cache: bool = True,
    smooth: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
    only_cached: bool = False,
) -> SongAnalysis | None:
    """Run every checkpoint, with every explanation map, on one song.

    Feature sets are extracted once each, and every checkpoint runs as soon as
    its features are ready, on ``workers`` threads (each model single-threaded
    in torch, see :func:`one_torch_thread`).

    Args:
        audio: an :class:`~memo_core.audio.Audio` (or a path or a file's bytes,
            read with :func:`~memo_core.audio.load_audio`).
        checkpoints: ``{key: LoadedCheckpoint}``, e.g. the ``loaded`` of
            :func:`~memo_core.pretrained.load_default_checkpoints`.
        cache: read and write the on-disk feature and result caches
            (``False`` computes everything).
        smooth: apply Ma et al.'s 25-frame triangle filter to per-frame predictions.
        progress: ``progress(step, done, total)``, called in this thread: first
            with ``("start", 0, total)``, then as each step ends (``"features
            NAME"`` for each feature set extracted, ``"model KEY"`` for each
            checkpoint, cached or not) with the number of steps done; a
            checkpoint's step comes after its features' step, steps of
            different feature sets in the order they end.
        workers: threads for extraction and models (default: ``min(2, cpu count)``).
        only_cached: return the analysis only when the result cache holds every checkpoint's result (nothing
            to extract or run), else None; a server checks this before queueing a song for its analysis slots.

    Returns:
        The :class:`SongAnalysis`; a checkpoint that failed is in ``problems``. None with ``only_cached`` when
        something would have to be computed.

    Raises:
        AudioError: ``audio`` is not usable audio (see :func:`~memo_core.audio.load_audio`).
        MemoError: no checkpoints were given.
    """

    started = time.perf_counter()
    audio = _as_audio(audio)
    if not checkpoints:
        raise MemoError("analyse_song needs at least one checkpoint (see memo_core.pretrained.load_default_checkpoints)")
    workers = max(1, int(workers) if workers is not None else min(2, os.cpu_count() or 1))
    results: dict[str, SongExplanation] = {}
    problems: dict[str, str] = {}
    cached: list[str] = []
    timings: dict[str, float] = {}

    # 1. what each checkpoint needs, and what the result cache already holds
    extractors: dict[str, Any] = {}
    needs: dict[str, tuple[str, str]] = {}  # key -> (extractor id, result key)
    planned: dict[str, tuple[Any, str, str]] = {}  # key -> (extractor, extractor id, result key)
    for key, ckpt in checkpoints.items():
        try:
            if not isinstance(ckpt, LoadedCheckpoint):
                raise MemoError(f"not a loaded checkpoint ({type(ckpt).__name__}); load it with load_checkpoint")
            extractor = get_extractor(ckpt.feature_spec["name"], **(ckpt.feature_spec.get("params") or {}))
            fid = json.dumps({"name": extractor.name, "params": extractor.params}, sort_keys=True, default=str)
            spec = extractor.spec()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # library version notes are for load time, not per song
                check_feature_spec(ckpt, spec)
            planned[key] = (extractor, fid, _result_key(audio, ckpt, spec, smooth))
        except Exception as exc:
            problems[key] = _reason(exc)
    if only_cached and (not cache or not all(_entry_path(k).is_file() for _, _, k in planned.values())):
        return None  # something to compute: nothing read
    for key, (extractor, fid, result_key) in planned.items():
        hit = _load_result(result_key, audio.source) if cache else None
        if hit is not None:
            results[key] = hit
            cached.append(key)
            continue
        if only_cached:
            return None  # an entry that could not be read (damaged): computed in the slot
        extractors.setdefault(fid, extractor)
        needs[key] = (fid, result_key)
    users: dict[str, list[str]] = {}
    for key, (fid, _) in needs.items():
        users.setdefault(fid, []).append(key)
    # a combined set (deam260_tonal, ...) is its parts side by side: each part is extracted in its own
    # family's job (sharing its pass), and the combination is made here when the last part is ready
    combos: dict[str, list[str]] = {}
    for fid, extractor in list(extractors.items()):
        if isinstance(extractor, CombinedSet):
            combos[fid] = []
            for part in extractor.parts:
                part_extractor = get_extractor(part)
                part_fid = _feature_id(part_extractor)
                extractors.setdefault(part_fid, part_extractor)
                combos[fid].append(part_fid)
    part_values: dict[str, np.ndarray | None] = {}

    total = len(extractors) + len(checkpoints)
    done = 0

    def report(label: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(label, done, total)

    if progress is not None:
        progress("start", 0, total)
    for key in checkpoints:
        if key not in needs:  # cached, or refused above
            timings[f"model {key}"] = 0.0
            report(f"model {key}")

    # 2. extraction and models on one pool; every job ends in exactly one event per step
    events: queue.Queue = queue.Queue()

    def extract_job(job: list[str]) -> None:
        reported: set[str] = set()
        try:
            module = sys.modules[_job_module(extractors[job[0]])]
            shared = module.__name__ in _SHARED_INTERMEDIATES
            one_pass = getattr(module, "one_pass", None) if shared else None
            # Only sets still to compute share a pass: one already in the feature cache is read from there.
            pending = [extractors[f] for f in job if not (cache and cache_path(audio, extractors[f]).is_file())]
            with one_pass(pending) if one_pass else contextlib.nullcontext():
                for fid in job:
                    extractor, t0 = extractors[fid], time.perf_counter()
                    try:
                        values = extract(audio, extractor.name, cache=cache, **extractor.params)
                    except Exception as exc:  # reported for the checkpoints using it; the other sets still run
                        events.put(("features", fid, None, time.perf_counter() - t0, exc))
                    else:
                        events.put(("features", fid, values, time.perf_counter() - t0, None))
                    reported.add(fid)
            if shared:
                module.clear_intermediates()  # this audio's intermediates are of no further use: free them
        except Exception as exc:  # outside one extraction (the cache folder, the shared pass): every set
            for fid in job:      # not yet reported fails with it, so the main loop never waits for ever
                if fid not in reported:
                    events.put(("features", fid, None, 0.0, exc))

    def model_job(key: str, values: np.ndarray) -> None:
        fid, result_key = needs[key]
        t0 = time.perf_counter()
        try:
            with one_torch_thread():
                result = explain_features(checkpoints[key], values, source=audio.source,
                                          frame_seconds=extractors[fid].frame_seconds, smooth=smooth)
        except Exception as exc:  # one checkpoint failing must not stop the others
            events.put(("model", key, None, time.perf_counter() - t0, exc))
            return
        if cache:
            _save_result(result_key, result)
        events.put(("model", key, result, time.perf_counter() - t0, None))

    if extractors:
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="memo-analysis")
        try:
            plain = {f: e for f, e in extractors.items() if f not in combos}
            futures = [pool.submit(extract_job, job) for job in _feature_jobs(plain, audio.duration)]
            while done < total:
                kind, name, value, seconds, error = events.get()
                if kind == "features":
                    label = f"features {extractors[name].name}"
                    timings[label] = seconds
                    report(label)
                    part_values[name] = value if error is None else None
                    for combo, parts in combos.items():
                        if name in parts and all(p in part_values for p in parts) and combo not in part_values:
                            missing = [extractors[p].name for p in parts if part_values[p] is None]
                            t0 = time.perf_counter()
                            try:
                                if missing:
                                    raise MemoError(f"its part(s) {', '.join(missing)} failed")
                                combined = extractors[combo].combine([part_values[p] for p in parts], audio)
                            except Exception as exc:
                                events.put(("features", combo, None, time.perf_counter() - t0, exc))
                            else:
                                events.put(("features", combo, combined, time.perf_counter() - t0, None))
                            part_values[combo] = None  # dispatched once
                    for key in users.get(name, []):
                        if error is None:
                            futures.append(pool.submit(model_job, key, value))
                        else:
                            problems[key] = f"{label} failed: {_reason(error)}"
                            timings[f"model {key}"] = 0.0
                            report(f"model {key}")
                else:
                    timings[f"model {name}"] = seconds
                    if error is None:
                        results[name] = value
                    else:
                        problems[name] = _reason(error)
                    report(f"model {name}")
            for future in futures:
                future.result()  # a job's own bug surfaces here rather than vanishing
        finally:
            pool.shutdown(wait=True)

    timings["total"] = time.perf_counter() - started
    return SongAnalysis(audio.source, audio.duration, audio.content_hash(),
                        results={k: results[k] for k in checkpoints if k in results},
                        problems={k: problems[k] for k in checkpoints if k in problems},
                        cached=tuple(cached), timings=timings)
