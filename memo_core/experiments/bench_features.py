"""Time each feature extractor cold (empty cache) and from the cache.

Run it with ``python -m memo_core bench``. The test
audio is synthetic but music-like (seeded): chords of harmonic tones changing
every 2 s, a bass line, noise bursts on the beats and louder and quieter
sections, so pitch trackers, onset-driven descriptors and the CQT have work to
do as on real music.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence

import numpy as np
from tqdm.auto import tqdm

from memo_core.audio import DEFAULT_SAMPLE_RATE, Audio
from memo_core.features.base import get_extractor, list_features
from memo_core.features.cache import CACHE_ENV, extract
from memo_core.features.librosa_sets import clear_intermediates

__all__ = ["bench_audio", "run_feature_bench"]


def bench_audio(*, duration_s: float, sample_rate: int = DEFAULT_SAMPLE_RATE, seed: int = 0) -> Audio:
    """A seeded music-like test signal.

    Args:
        duration_s: length in seconds.
        sample_rate: rate in Hz.
        seed: random seed (same seed, same samples).

    Returns:
        Mono audio peaking below 1.
    """
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sample_rate))
    t = np.arange(n) / sample_rate
    beat = 0.5  # 120 bpm
    chord_len = 4 * beat
    n_chords = int(np.ceil(duration_s / chord_len)) + 1
    roots = 48 + rng.integers(0, 12, size=n_chords)  # MIDI C3..B3
    qualities = rng.choice([0, 1], size=n_chords)  # major or minor triad
    chord_idx = np.minimum((t // chord_len).astype(int), n_chords - 1)
    since_beat = t % beat
    env = np.exp(-3.0 * since_beat)  # each beat re-strikes the chord
    y = np.zeros(n, dtype=np.float64)
    for offset in range(3):
        third = np.where(qualities[chord_idx] == 0, 4, 3)
        interval = np.select([offset == 0, offset == 1], [0, third], 7)
        freq = 440.0 * 2 ** ((roots[chord_idx] + interval - 69) / 12)
        phase = 2 * np.pi * np.cumsum(freq) / sample_rate
        for harmonic in range(1, 5):
            y += 0.08 / harmonic * np.sin(harmonic * phase) * env
    bass_freq = 440.0 * 2 ** ((roots[chord_idx] - 12 - 69) / 12)
    y += 0.15 * np.sin(2 * np.pi * np.cumsum(bass_freq) / sample_rate)
    noise = rng.standard_normal(n)
    y += 0.25 * noise * np.exp(-40.0 * since_beat)  # drum-like bursts on the beats
    section_gain = 0.5 + 0.5 * rng.random(int(duration_s // 8) + 2)
    y *= section_gain[(t // 8).astype(int)]
    y = 0.9 * y / max(1e-9, float(np.max(np.abs(y))))
    return Audio(y.astype(np.float32), sample_rate, f"bench-{duration_s:g}s")


def run_feature_bench(
    *,
    durations: Sequence[float] = (30.0, 240.0),
    names: Sequence[str] | None = None,
    progress: bool = True,
) -> list[dict]:
    """Time every extractor cold and from the cache.

    Each extractor first runs once on 1 s of audio (untimed) so one-time costs
    (imports, numba compilation, building the openSMILE graph) are not counted.
    "Cold" then uses a fresh temporary cache folder and no in-memory
    intermediates; "cached" repeats the same call, which reads the ``.npy``.

    Args:
        durations: audio lengths in seconds.
        names: extractors to time (default: all of :func:`list_features`).
        progress: show a tqdm progress bar on stderr.

    Returns:
        One row a (feature, duration): ``{"feature", "duration_s", "cold_s",
        "cached_s", "x_realtime_cold", "x_realtime_cached"}``; ``x_realtime_*``
        is audio seconds processed a second of computing (``inf`` for 0 s).
    """
    names = list(names) if names is not None else list_features()
    for name in names:
        get_extractor(name)  # unknown names fail before any timing
    jobs = [(d, name) for d in durations for name in names]
    bar = None
    if progress:

        bar = tqdm(total=len(jobs), desc="bench-features", unit="run", leave=False)
    rows = []
    old_env = os.environ.get(CACHE_ENV)
    try:
        with tempfile.TemporaryDirectory(prefix="memo-bench-") as tmp:
            os.environ[CACHE_ENV] = tmp
            warm = bench_audio(duration_s=1.0, seed=1)
            for name in names:
                extract(warm, name, cache=False)
            for duration in durations:
                audio = bench_audio(duration_s=float(duration))
                for name in names:
                    clear_intermediates()
                    start = time.perf_counter()
                    extract(audio, name)
                    cold = time.perf_counter() - start
                    start = time.perf_counter()
                    extract(audio, name)
                    cached = time.perf_counter() - start
                    rows.append(
                        {
                            "feature": name,
                            "duration_s": float(duration),
                            "cold_s": cold,
                            "cached_s": cached,
                            "x_realtime_cold": float(duration) / cold if cold > 0 else float("inf"),
                            "x_realtime_cached": float(duration) / cached if cached > 0 else float("inf"),
                        }
                    )
                    if bar is not None:
                        bar.update(1)
    finally:
        clear_intermediates()
        if old_env is None:
            os.environ.pop(CACHE_ENV, None)
        else:
            os.environ[CACHE_ENV] = old_env
        if bar is not None:
            bar.close()
    return rows
