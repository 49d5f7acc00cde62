"""``library analyse``: a whole collection through the default checkpoints on Dask, into a LIBRARY folder.

Each distinct audio content is one Dask task (:func:`analyse_task`): decode, extract each feature set
once and run every selected checkpoint (:func:`memo_core.explain.analysis.analyse_song`), find the sections
(:func:`memo_core.explain.structure.song_structure`), the silent and unfamiliar frames
(:mod:`memo_core.explain.familiarity`), and write the song's files (:mod:`.store`). The driver lists and
hashes the files, skips what the library already holds for the same checkpoints, submits the rest and shows a
progress bar over songs (rate and time left). A file that cannot be analysed becomes a row of ``errors``;
the run goes on.

By default the run starts a :class:`distributed.LocalCluster` of processes (one worker per core, one thread
each, torch and BLAS single-threaded in each); ``scheduler="tcp://host:8786"`` uses a running cluster
(``dask scheduler`` / ``dask worker``; every worker must reach the audio, the checkpoints and the LIBRARY
folder at the same paths).

>>> report = analyse_library(["music/"], "out/library", checkpoints=["mca"])      # doctest: +SKIP
>>> report.analysed, report.skipped, report.failed                                 # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

if sys.platform != "win32":
    import resource
else:  # pragma: no cover - peak memory is not measured on Windows
    resource = None

from memo_core import __version__
from memo_core.audio import FRAME_SECONDS, load_audio
from memo_core.errors import CheckpointError, MemoError
from memo_core.experiments.library import store
from memo_core.experiments.library.datasets import dataset_labels
from memo_core.explain.analysis import analyse_song, one_torch_thread
from memo_core.explain.familiarity import frame_levels_db, result_distances, results_familiarity
from memo_core.explain.song import QUADRANTS, model_spread, song_position_table
from memo_core.explain.structure import song_structure
from memo_core.pretrained import (
    check_entry,
    default_checkpoints_dir,
    load_default_checkpoints,
    read_manifest_checked,
    sha256_of,
)

__all__ = [
    "AUDIO_SUFFIXES",
    "THREAD_ENV",
    "RunReport",
    "list_sources",
    "hash_file",
    "select_checkpoints",
    "song_row",
    "analyse_task",
    "analyse_library",
    "local_cluster",
]

#: The audio files a folder source contributes (searched recursively, any case).
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
#: Environment of LocalCluster workers: one thread for every BLAS / OpenMP pool (torch's is also set per task).
THREAD_ENV = {name: "1" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                      "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMBA_NUM_THREADS")}
#: A tagger's tag is one of ``top_tags`` when the song's mean score (over the tagger checkpoints) reaches this.
TAG_THRESHOLD = 0.5


@dataclass
class RunReport:
    """What one ``library analyse`` run did.

    Attributes:
        library: the LIBRARY folder.
        files: audio paths found in the sources.
        songs: distinct contents among them.
        analysed: songs analysed by this run.
        skipped: songs already in the library with the same checkpoints (and bad files already recorded).
        failed: files recorded in ``errors`` by this run.
        seconds: wall time of the analysis (after listing and hashing).
        task_seconds: each analysed song's task time.
        peak_rss_mb: the peak resident memory of each worker process (MB), by worker address.
        workers: how many workers the cluster had.
    """

    library: Path
    files: int = 0
    songs: int = 0
    analysed: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    task_seconds: list[float] = field(default_factory=list)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    workers: int = 0

    @property
    def songs_per_minute(self) -> float:
        return 60.0 * self.analysed / self.seconds if self.seconds > 0 and self.analysed else float("nan")

    def summary(self) -> str:
        rate = f", {self.songs_per_minute:.1f} songs/min on {self.workers} workers" if self.analysed else ""
        return (f"{self.files} files, {self.songs} distinct songs: {self.analysed} analysed, {self.skipped} already "
                f"done, {self.failed} failed{rate} -> {self.library}")


# --------------------------------------------------------------------------- sources


def _from_list(path: Path) -> list[Path]:
    """The paths listed in a text file, one a line; blank lines and ``#`` comments skipped; relative paths
    are taken from the file's folder."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise MemoError(f"cannot read the list of audio paths {path} ({exc}); give a UTF-8 text file with one "
                        "path a line") from exc
    found = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            p = Path(line).expanduser()
            found.append(p if p.is_absolute() else path.parent / p)
    return found


def list_sources(sources: Sequence[str | os.PathLike]) -> list[Path]:
    """The audio paths of ``sources``, absolute, without repeats, sorted.

    Each source is a folder (searched recursively for :data:`AUDIO_SUFFIXES`: this covers a dataset folder
    in any supported layout, whose audio lies in its subfolders), an audio file, or a text file listing
    audio paths (a listed path that is missing or not a file is kept: the run records it in ``errors``).

    Raises:
        MemoError: a source does not exist, or the sources hold no audio path at all.
    """
    found: list[Path] = []
    for source in sources:
        path = Path(source).expanduser()
        if path.is_dir():
            found += [p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()]
        elif path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES:
            found.append(path)
        elif path.is_file():
            found += _from_list(path)
        else:
            raise MemoError(f"{path} does not exist; give a folder of audio files, an audio file, or a text file "
                            "listing audio paths (one a line)")
    unique = sorted({p.resolve() if p.exists() else p.absolute() for p in found}, key=str)
    if not unique:
        raise MemoError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) in {', '.join(map(str, sources))}")
    return unique


#: SHA-256 (hex) of a file's bytes: a song's id in the library (the checkpoints' manifest uses the same hash).
hash_file = sha256_of


# --------------------------------------------------------------------------- checkpoints


def select_checkpoints(keys: Sequence[str] | None, folder: str | os.PathLike | None = None,
                       ) -> tuple[Path, list[dict[str, Any]]]:
    """The checkpoints a run uses: ``(folder, manifest entries)``, every file checked against its SHA-256.

    Args:
        keys: manifest keys (default: every checkpoint of the manifest).
        folder: the checkpoints folder (default :func:`memo_core.pretrained.default_checkpoints_dir`).

    Raises:
        CheckpointError: no manifest, an unknown key, or a checkpoint missing or damaged.
    """
    folder = Path(folder).expanduser().resolve() if folder is not None else default_checkpoints_dir()
    manifest, skipped = read_manifest_checked(folder)
    entries = {str(e.get("key")): e for e in manifest["checkpoints"] if str(e.get("key")) not in skipped}
    keys = list(dict.fromkeys(keys)) if keys else list(entries)
    unknown = [k for k in keys if k not in entries]
    if unknown:
        raise CheckpointError(f"no checkpoint {', '.join(unknown)} in {folder / 'manifest.json'}; "
                              f"choose from {', '.join(entries)}")
    if not keys:
        raise CheckpointError(f"{folder / 'manifest.json'} lists no usable checkpoint")
    for key in keys:
        problem = check_entry(folder, entries[key])
        if problem is not None:
            raise CheckpointError(f"checkpoint {key}: {problem}; run `python -m memo_core checkpoints` to see the set")
    return folder, [entries[k] for k in keys]


_LOADED: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}


def _worker_checkpoints(folder: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """The checkpoints, loaded once per worker process (kept for the worker's next songs)."""
    found = _LOADED.get((folder, keys))
    if found is None:
        loaded, problems = load_default_checkpoints(folder, keys=keys)
        if problems:
            raise CheckpointError("; ".join(f"{k}: {v}" for k, v in problems.items()))
        found = _LOADED[(folder, keys)] = loaded
    return found


# --------------------------------------------------------------------------- one song


def _quadrant_confidence(frames: pd.DataFrame, valence: float, arousal: float) -> float:
    """Share of frames (every per-frame model's) in the quadrant of the song mean."""
    if not len(frames) or not np.isfinite(valence) or not np.isfinite(arousal):
        return float("nan")
    v, a = frames["valence"].to_numpy(float), frames["arousal"].to_numpy(float)
    ok = np.isfinite(v) & np.isfinite(a)
    if not ok.any():
        return float("nan")
    same = ((v[ok] >= 0) == (valence >= 0)) & ((a[ok] >= 0) == (arousal >= 0))
    return float(same.mean())


def _agreement(curves: Mapping[str, pd.DataFrame]) -> float:
    """1 minus the mean over time of the models' standard deviation (valence and arousal averaged); NaN for
    fewer than two models."""
    if len(curves) < 2:
        return float("nan")
    sds = []
    for target in ("valence", "arousal"):
        spread = model_spread(curves, target)
        spread = spread[spread["n"] >= 2]
        if len(spread):
            sds.append(float(spread["sd"].mean()))
    return float(np.clip(1.0 - np.mean(sds), 0.0, 1.0)) if sds else float("nan")


def _top_tags(taggers: Mapping[str, Any]) -> str:
    """Tags whose mean score over the taggers reaches :data:`TAG_THRESHOLD`, best first, comma-separated."""
    if not taggers:
        return ""
    scores = pd.concat([r.tag_scores() for r in taggers.values()], axis=1).mean(axis=1)
    return ",".join(str(t) for t in scores[scores >= TAG_THRESHOLD].sort_values(ascending=False).index)


def _on_frames(distance: np.ndarray | None, n: int) -> np.ndarray:
    """A model's per-frame distance fitted to its ``n`` curve frames (NaN where it has none)."""
    out = np.full(n, np.nan)
    if distance is not None:
        values = np.asarray(distance, float).ravel()[:n]
        out[: values.size] = values
    return out


def song_row(song_id: str, path: str, duration_s: float, results: Mapping[str, Any], *,
             entries: Mapping[str, Mapping[str, Any]], sections: int, level_db: np.ndarray,
             ) -> tuple[dict[str, Any], pd.DataFrame]:
    """A song's ``songs`` row and ``frames`` table from its checkpoints' results (:mod:`.store` documents the
    columns).

    Args:
        song_id: the content hash.
        path: the file.
        duration_s: its length.
        results: ``{key: SongExplanation}`` of :func:`~memo_core.explain.analysis.analyse_song`.
        entries: ``{key: manifest entry}`` (the familiarity reference is read from it).
        sections: how many sections the song has.
        level_db: :func:`~memo_core.explain.familiarity.frame_levels_db` of the song.
    """
    curves = {k: r.predictions[["time_s", "valence", "arousal"]].astype(float).reset_index(drop=True)
              for k, r in results.items() if r.task != "tagging" and {"valence", "arousal"} <= set(r.predictions)}
    taggers = {k: r for k, r in results.items() if r.task == "tagging"}
    distances = result_distances(results)
    frames = pd.concat([c.assign(model=k, distance=_on_frames(distances.get(k), len(c)))
                        for k, c in curves.items()], ignore_index=True) if curves else \
        pd.DataFrame(columns=["time_s", "valence", "arousal", "model", "distance"])
    frames.insert(0, "song_id", song_id)
    frames = frames[list(store.FRAME_COLUMNS)]

    position = song_position_table(None, curves, combined="together")
    together = position.iloc[-1] if len(position) else None
    valence = float(np.mean([c["valence"].mean() for c in curves.values()])) if curves else float("nan")
    arousal = float(np.mean([c["arousal"].mean() for c in curves.values()])) if curves else float("nan")
    where = str(together["where"]) if together is not None else "unknown"
    found = results_familiarity(results, entries, level_db, duration_s=duration_s)
    row: dict[str, Any] = {
        "song_id": song_id, "path": str(path), "name": Path(path).name, "duration_s": float(duration_s),
        "n_frames": int(max((len(c) for c in curves.values()), default=0)), "sections": int(sections),
        "valence": valence, "arousal": arousal, "agreement": _agreement(curves),
        "quadrant": where if where in QUADRANTS.values() else store.NEAR_CENTRE,
        "quadrant_confidence": _quadrant_confidence(frames, valence, arousal),
        "top_tags": _top_tags(taggers),
        "ood_share": found.outside_share if found.models else float("nan"),
        "silent_share": found.silent_share if found.time_s.size else float("nan"),
    }
    for key, curve in curves.items():
        for target in ("valence", "arousal"):
            values = curve[target].to_numpy(float)
            row.update({f"{key}_{target}_mean": float(np.nanmean(values)), f"{key}_{target}_std": float(np.nanstd(values)),
                        f"{key}_{target}_min": float(np.nanmin(values)), f"{key}_{target}_max": float(np.nanmax(values))})
    row["position"] = where
    return row, frames


def _peak_rss_mb() -> float:
    """This process's peak resident memory (MB)."""
    if resource is None:  # not on Windows
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024.0 if sys.platform != "darwin" else peak / 2**20


def analyse_task(library: str, song_id: str, paths: Sequence[str], checkpoints_dir: str, keys: Sequence[str],
                 checkpoint_set: str, labels: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One song, run on a worker: analyse the first of ``paths`` and write the song's files into ``library``;
    ``labels``: its dataset's id and labels (:func:`.datasets.dataset_labels`), when it is a dataset song.

    Never raises for a bad song: a file that is not usable audio (or whose bytes changed since they were
    hashed) is written to ``errors`` (final: not retried for the same bytes and checkpoints), any other
    failure too (not final: retried next run).

    Returns:
        ``{"song_id", "status" ("done" or "error"), "seconds", "peak_rss_mb", "pid", "reason"}``.
    """
    started = time.perf_counter()
    path = str(paths[0])
    status, reason = "done", ""
    try:
        with one_torch_thread(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # per-file notes have no reader on a worker; errors are kept instead
            if hash_file(path) != song_id:
                raise MemoError(f"{path} changed while the library was analysed; run `library analyse` again")
            loaded = _worker_checkpoints(checkpoints_dir, tuple(keys))
            audio = load_audio(path)
            analysis = analyse_song(audio, loaded, cache=False, workers=1)
            if analysis.problems:
                raise MemoError("; ".join(f"{k}: {v}" for k, v in analysis.problems.items()))
            try:
                sections = len(song_structure(audio).sections)
            except MemoError:
                sections = 1  # too short to find sections: one
            level_db = frame_levels_db(audio.samples, audio.sample_rate, frame_seconds=FRAME_SECONDS)
            entries = {k: c.info.get("manifest", {}) for k, c in loaded.items()}
            row, frames = song_row(song_id, path, audio.duration, analysis.results, entries=entries,
                                   sections=sections, level_db=level_db)
            row.update({"checkpoint_set": checkpoint_set, "analysed": store.now_iso(),
                        "analyse_s": time.perf_counter() - started, **store.NO_DATASET, **(labels or {})})
            store.write_song(library, row, frames)
        for p in paths:
            store.remove_error(library, p)
    except MemoError as exc:
        status, reason = "error", str(exc)
        store.write_error(library, path, reason, song_id=song_id, final=True, checkpoint_set=checkpoint_set)
    except Exception as exc:  # a bug or a resource problem: recorded, retried on the next run
        status, reason = "error", f"{type(exc).__name__}: {exc}"
        store.write_error(library, path, reason, song_id=song_id, final=False, checkpoint_set=checkpoint_set)
    return {"song_id": song_id, "status": status, "reason": reason, "seconds": time.perf_counter() - started,
            "peak_rss_mb": _peak_rss_mb(), "pid": os.getpid()}


# --------------------------------------------------------------------------- the run


def local_cluster(workers: int | None = None, **kwargs: Any):
    """A :class:`distributed.LocalCluster` for a library run: ``workers`` processes (default one per core),
    one thread each, BLAS/OpenMP single-threaded (:data:`THREAD_ENV`), its HTTP server on a free port (never
    clashing with another cluster on 8787), quiet logs."""
    # lazy: dask.distributed takes about 1 s to import; only a run (or its tests) needs it
    from distributed import LocalCluster

    n = int(workers) if workers else (os.cpu_count() or 1)
    options = {"n_workers": n, "threads_per_worker": 1, "processes": True, "dashboard_address": ":0",
               "silence_logs": logging.ERROR, "env": dict(THREAD_ENV)}
    options.update(kwargs)
    return LocalCluster(**options)


def _index(library: Path, files: Sequence[Path], progress: bool) -> tuple[pd.DataFrame, list[tuple[Path, str]]]:
    """Every file's song id: reused from the library's index when size and mtime are unchanged, else hashed.

    Returns:
        ``(index, unreadable)``: the index (:data:`store.INDEX_COLUMNS`) and ``(path, reason)`` of files
        that could not be read.
    """
    previous = {}
    old = store.open_library(library).paths()
    for row in old.itertuples(index=False):
        previous[str(row.path)] = (int(row.size), int(row.mtime_ns), str(row.song_id))
    rows, unreadable = [], []
    for path in tqdm(files, desc="listing", unit="file", disable=not progress or len(files) < 200, leave=False):
        try:
            st = path.stat()
            if not path.is_file():
                raise MemoError("not a file")
            known = previous.get(str(path))
            song_id = known[2] if known and known[:2] == (st.st_size, st.st_mtime_ns) and known[2] else \
                hash_file(path)
            rows.append({"path": str(path), "song_id": song_id, "size": int(st.st_size),
                         "mtime_ns": int(st.st_mtime_ns)})
        except (OSError, MemoError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            unreadable.append((path, f"cannot read the file: {reason}"))
            rows.append({"path": str(path), "song_id": "", "size": -1, "mtime_ns": -1})
    return pd.DataFrame(rows, columns=list(store.INDEX_COLUMNS)), unreadable


def analyse_library(sources: Sequence[str | os.PathLike], library: str | os.PathLike, *,
                    checkpoints: Sequence[str] | None = None, checkpoints_dir: str | os.PathLike | None = None,
                    scheduler: str | None = None, workers: int | None = None, client: Any = None,
                    progress: bool = True, on_done: Callable[[dict[str, Any]], None] | None = None) -> RunReport:
    """Analyse every song of ``sources`` into the LIBRARY folder ``library`` (resumable, idempotent).

    Args:
        sources: folders (recursive), audio files, or text files listing audio paths (:func:`list_sources`).
        library: the LIBRARY folder (new, or one written before: songs already analysed with the same
            checkpoints are skipped).
        checkpoints: manifest keys (default: every checkpoint of the manifest).
        checkpoints_dir: the checkpoints folder (default: the shipped set).
        scheduler: address of a running Dask scheduler (``tcp://host:8786``); default: a LocalCluster.
        workers: LocalCluster workers (default: one per core); ignored with ``scheduler`` or ``client``.
        client: an open :class:`distributed.Client` to use (tests, notebooks); it is left open.
        progress: show progress bars (stderr).
        on_done: called in the driver with each finished task's result (:func:`analyse_task`).

    Returns:
        The :class:`RunReport`.

    Raises:
        MemoError: bad sources, checkpoints, or a LIBRARY folder that is something else.
    """
    # lazy: dask.distributed takes about 1 s to import; only a run needs it
    from distributed import Client, as_completed

    folder, entries = select_checkpoints(checkpoints, checkpoints_dir)
    files = list_sources(sources)
    keys = [str(e["key"]) for e in entries]
    lib = store.create_library(library, entries, features=[str(e.get("features", "")) for e in entries],
                               sources=[str(Path(s).expanduser().absolute()) for s in sources],
                               memo_version=__version__)
    root, cset = lib.path, lib.checkpoint_set
    report = RunReport(root, files=len(files))
    index, unreadable = _index(root, files, progress)
    for path, reason in unreadable:
        store.write_error(root, str(path), reason, final=False, checkpoint_set=cset)
        report.failed += 1
    known = index[index["song_id"] != ""]
    groups = {sid: sorted(g["path"].astype(str)) for sid, g in known.groupby("song_id", sort=False)}
    report.songs = len(groups)
    songs = lib.songs()
    done = set(songs.loc[songs["checkpoint_set"] == cset, "song_id"]) if "checkpoint_set" in songs else set()
    errors = lib.errors()
    final = set(errors.loc[errors["final"].astype(bool) & (errors["checkpoint_set"] == cset), "song_id"]) \
        if len(errors) else set()
    todo = {sid: paths for sid, paths in groups.items() if sid not in done and sid not in final}
    report.skipped = len(groups) - len(todo)
    store.write_index(root, index)
    found = dataset_labels(sources) if todo else {}  # songs of a dataset in its layout: its ids and labels
    labels = {sid: next((found[p] for p in map(Path, paths) if p in found), None) for sid, paths in todo.items()}

    started = time.perf_counter()
    if todo:
        own_cluster = own_client = None
        try:
            if client is None:
                if scheduler:
                    own_client = client = Client(scheduler, timeout="30s")
                else:
                    own_cluster = local_cluster(workers)
                    own_client = client = Client(own_cluster)
            report.workers = len(client.scheduler_info(n_workers=-1)["workers"]) if _takes_n_workers(client) \
                else len(client.scheduler_info()["workers"])
            order = sorted(todo, key=lambda sid: todo[sid][0])
            futures = [client.submit(analyse_task, str(root), sid, todo[sid], str(folder), keys, cset, labels[sid],
                                     key=f"memo-library-{sid[:20]}-{cset}", pure=False) for sid in order]
            owner = {f.key: sid for f, sid in zip(futures, order)}
            bar = tqdm(total=len(futures), desc=f"analyse on {report.workers} workers", unit="song",
                       disable=not progress, smoothing=0.1)
            try:
                for future in as_completed(futures):
                    try:
                        result = future.result()
                    except Exception as exc:  # the worker died (KilledWorker, ...): recorded, retried next run
                        sid = owner[future.key]
                        result = {"song_id": sid, "status": "error", "reason": f"{type(exc).__name__}: {exc}",
                                  "seconds": float("nan"), "peak_rss_mb": float("nan"), "pid": None}
                        store.write_error(root, todo[sid][0], result["reason"], song_id=sid, final=False,
                                          checkpoint_set=cset)
                    if result["status"] == "done":
                        report.analysed += 1
                        report.task_seconds.append(float(result["seconds"]))
                    else:
                        report.failed += 1
                        bar.write(f"failed {todo[result['song_id']][0]}: {result['reason']}", file=sys.stderr)
                    who = future.key if result.get("pid") is None else str(result["pid"])
                    rss = result.get("peak_rss_mb")
                    if rss is not None and np.isfinite(rss):
                        report.peak_rss_mb[who] = max(report.peak_rss_mb.get(who, 0.0), float(rss))
                    if on_done is not None:
                        on_done(result)
                    bar.update(1)
            finally:
                bar.close()
        finally:
            if own_client is not None:
                own_client.close()
            if own_cluster is not None:
                own_cluster.close()
    report.seconds = time.perf_counter() - started
    lib.compact()
    return report


def _takes_n_workers(client: Any) -> bool:
    """Whether this distributed's ``scheduler_info`` takes ``n_workers`` (newer ones list only 5 by default)."""
    return "n_workers" in inspect.signature(client.scheduler_info).parameters
