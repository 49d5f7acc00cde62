"""``bench --sections library``: how ``library analyse`` scales with Dask workers on a generated collection.

Each worker count analyses the same generated collection into a fresh LIBRARY with a fresh LocalCluster, so
each run pays its cluster start and every worker's first-song warm-up (imports, checkpoint loading, numba
compilation), as a real run does. Reported per worker count: wall time, songs per minute, the speed-up over
the first count, the median task time (the per-song cost), the scheduler overhead per task
(``(wall x workers - summed task time) / songs``) and each worker's peak resident memory.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memo_core.experiments.library.analyse import analyse_library, local_cluster

__all__ = ["LIBRARY_KEYS", "generate_collection", "bench_library"]

#: The checkpoints the library section runs by default: one per-frame model and one tagger (the shipped set's
#: cheaper ones; pass ``keys`` for others).
LIBRARY_KEYS = ("mca", "vggish_sa3")


def generate_collection(folder: str | os.PathLike, n_songs: int = 40, duration_s: float = 45.0, *,
                        sample_rate: int = 22_050, seed: int = 0) -> list[Path]:
    """Write ``n_songs`` distinct synthetic songs (chords of harmonic tones with a pulse and noise, changing
    every few seconds) as 16-bit WAV files into ``folder``."""
    # lazy: soundfile only for writing the collection
    import soundfile as sf

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n = int(duration_s * sample_rate)
    t = np.arange(n) / sample_rate
    written = []
    for i in range(n_songs):
        y = np.zeros(n)
        step = rng.uniform(2.0, 6.0)
        for start in np.arange(0.0, duration_s, step):
            part = (t >= start) & (t < start + step)
            root = 110.0 * 2 ** (rng.integers(0, 24) / 12)
            for ratio in (1.0, 1.25 if rng.random() < 0.5 else 1.2, 1.5):
                for h in range(1, 4):
                    y[part] += np.sin(2 * np.pi * root * ratio * h * t[part] + rng.uniform(0, 6.3)) / h
        bpm = rng.uniform(60, 170)
        y *= 0.6 + 0.4 * (np.sin(2 * np.pi * bpm / 60 * t) > 0)
        y += rng.normal(0, rng.uniform(0.01, 0.2), n)
        y = 0.8 * y / max(np.max(np.abs(y)), 1e-9)
        path = folder / f"song{i:03d}.wav"
        sf.write(path, y.astype(np.float32), sample_rate, subtype="PCM_16")
        written.append(path)
    return written


def _noop(i: int) -> int:
    return i


def _scheduler_overhead(client, n: int = 400) -> float:
    """Seconds per trivial task (submit, schedule, run, gather) on ``client``'s cluster: the cost Dask adds
    to each song's task."""
    started = time.perf_counter()
    client.gather(client.map(_noop, range(n), pure=False))
    return (time.perf_counter() - started) / n


def bench_library(checkpoints: str | os.PathLike | None = None, *, keys: Sequence[str] | None = None,
                  n_songs: int = 40, duration_s: float = 45.0, worker_counts: Sequence[int] = (1, 2),
                  progress: bool = False) -> list[dict[str, Any]]:
    """Analyse a generated collection with each worker count; one row per count (see the module docstring).

    Returns:
        Rows with ``workers, songs, song_s, wall_s`` (cluster start included), ``startup_s`` (the cluster's
        start), ``songs_per_min``, ``speedup`` (of songs_per_min over the first row), ``task_median_s``,
        ``overhead_per_task_s`` (wall time x workers not spent inside tasks, per song: start-up, warm-up and
        idle workers at the end), ``steady_songs_per_min`` (workers x 60 / median task time: the rate once
        warm), ``scheduler_ms_per_task`` (a trivial task's cost on the same cluster), ``peak_rss_mb_max``,
        ``peak_rss_mb`` (one figure per worker, MB), ``checkpoints``.
    """
    # lazy: dask.distributed takes about 1 s to import; only this section of the benchmark needs it here
    from distributed import Client

    keys = list(keys or LIBRARY_KEYS)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="memo-bench-library-") as tmp:
        generate_collection(Path(tmp) / "songs", n_songs, duration_s)
        for workers in worker_counts:
            started = time.perf_counter()
            with local_cluster(int(workers)) as cluster, Client(cluster) as client:
                startup = time.perf_counter() - started
                report = analyse_library([Path(tmp) / "songs"], Path(tmp) / f"library-{workers}", checkpoints=keys,
                                         checkpoints_dir=checkpoints, client=client, progress=progress)
                wall = time.perf_counter() - started
                overhead = _scheduler_overhead(client)
            tasks = np.asarray(report.task_seconds, float)
            rss = sorted(report.peak_rss_mb.values())
            rows.append({
                "workers": int(workers), "songs": report.analysed, "failed": report.failed, "song_s": duration_s,
                "wall_s": wall, "songs_per_min": 60.0 * report.analysed / wall if wall > 0 else float("nan"),
                "task_median_s": float(np.median(tasks)) if tasks.size else float("nan"),
                "overhead_per_task_s": (float((wall * workers - tasks.sum()) / tasks.size) if tasks.size
                                        else float("nan")),
                "steady_songs_per_min": 60.0 * workers / float(np.median(tasks)) if tasks.size else float("nan"),
                "peak_rss_mb_max": max(rss) if rss else float("nan"), "peak_rss_mb": [round(r) for r in rss],
                "startup_s": startup, "scheduler_ms_per_task": 1000.0 * overhead, "checkpoints": ",".join(keys),
            })
    base = rows[0]["songs_per_min"] if rows else float("nan")
    for row in rows:
        row["speedup"] = row["songs_per_min"] / base if base and np.isfinite(base) else float("nan")
    return rows
