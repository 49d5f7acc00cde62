"""The feature benchmark: its rows and its test signal."""

from __future__ import annotations

import os

import numpy as np

from memo_core.experiments.bench_features import bench_audio, run_feature_bench


def test_bench_audio_is_seeded_and_music_like():
    a, b = bench_audio(duration_s=4.0), bench_audio(duration_s=4.0)
    assert np.array_equal(a.samples, b.samples)
    assert not np.array_equal(a.samples, bench_audio(duration_s=4.0, seed=2).samples)
    assert a.duration == 4.0 and 0.5 < np.abs(a.samples).max() < 1.0


def test_run_feature_bench_rows():
    before = os.environ.get("MEMO_CACHE_DIR")
    rows = run_feature_bench(durations=(2.0,), names=["mel96", "chroma"], progress=False)
    assert os.environ.get("MEMO_CACHE_DIR") == before  # the temp cache is not left behind
    assert [r["feature"] for r in rows] == ["mel96", "chroma"]
    for r in rows:
        assert list(r) == ["feature", "duration_s", "cold_s", "cached_s", "x_realtime_cold", "x_realtime_cached"]
        assert r["duration_s"] == 2.0 and r["cold_s"] > 0 and r["cached_s"] > 0
        assert r["x_realtime_cold"] == 2.0 / r["cold_s"] and r["x_realtime_cached"] == 2.0 / r["cached_s"]
