"""memo_core.views: display views of a song, per-song metrics and tables, scales, quadrants, search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from memo_core.audio import Audio
from memo_core.data.records import SongRecord
from memo_core.metrics import ccc, rmse
from memo_core.views import (corpus_summary, curves_table, quadrant, search_songs, song_metrics, song_metrics_table,
                             song_summary, song_view, to_scale)


def test_song_view_shapes_time_axis_and_pooling():
    sr = 22_050
    t = np.arange(int(6.0 * sr)) / sr
    y = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)  # A4: chroma peaks at A
    view = song_view(Audio(y, sr, "a4"), max_columns=50)
    assert view.logmel_db.shape[1] == view.chroma.shape[1] == len(view.time_s) <= 50
    assert view.time_s[0] > 0 and view.time_s[-1] < view.duration_s == pytest.approx(6.0)
    assert np.all(np.diff(view.time_s) > 0) and np.all(np.diff(view.mel_hz) > 0)
    assert view.logmel_db.max() == pytest.approx(0.0, abs=1e-3) and view.logmel_db.min() >= -80.0 - 1e-3
    assert np.argmax(view.chroma.mean(axis=1)) == view.PITCH_CLASSES.index("A")
    assert view.wave_high.max() == pytest.approx(0.5, abs=1e-3) and view.wave_low.min() == pytest.approx(-0.5, abs=1e-3)


def test_song_metrics_interpolate_on_the_overlap():
    truth_t = np.arange(15.0, 20.0, 0.5)          # annotations start 15 s in
    truth = np.linspace(-0.5, 0.5, len(truth_t))
    pred_t = np.arange(0.0, 20.0, 0.5)
    pred = np.interp(pred_t, truth_t, truth) * 0.5
    scores = song_metrics(truth_t, truth, pred_t, pred)
    assert scores["RMSE"] == pytest.approx(rmse(truth, truth * 0.5))
    assert scores["CCC"] == pytest.approx(ccc(truth, truth * 0.5))
    assert scores["PCC"] == pytest.approx(1.0)
    assert np.isnan(song_metrics([30.0, 31.0], [0.1, 0.2], pred_t, pred)["RMSE"])  # no overlap


def test_tables_of_curves():
    truth = {"time_s": np.array([0.0, 0.5, 1.0]), "valence": np.array([0.2, 0.4, 0.6]),
             "arousal": np.array([-0.6, -0.4, -0.2])}
    a = pd.DataFrame({"time_s": [0.0, 0.5, 1.0], "valence": [0.2, 0.4, 0.6], "arousal": [0.6, 0.4, 0.2]})
    table = song_metrics_table(truth, {"a": a}, ["valence", "arousal"], label="checkpoint")
    assert list(table["checkpoint"]) == ["a", "a"] and table["RMSE"].iloc[0] == pytest.approx(0.0)
    assert song_metrics_table(None, {"a": a}, ["valence"]).empty
    summary = song_summary(truth, {"a": a}, scale="0-1")
    assert list(summary["source"]) == ["annotation", "a"]
    assert summary["valence"].iloc[0] == pytest.approx(0.7)  # mean 0.4 on [-1, 1] is 0.7 on 0-1
    assert list(summary["quadrant"]) == [quadrant(0.4, -0.4), quadrant(0.4, 0.4)] == ["calm / relaxed",
                                                                                       "happy / excited"]
    csv = curves_table(truth, {"a": a})
    assert list(csv.columns) == ["time_s", "a/valence", "a/arousal", "annotation/valence", "annotation/arousal"]
    assert curves_table(truth, {}) is None


def test_scales_round_trip_the_loaders_mapping():
    from memo_core.data._common import to_unit_scale

    for scale in ("0-1", "1-9", "-1-1"):
        x = np.array([-1.0, 0.0, 0.5, 1.0])
        assert np.allclose(to_unit_scale(to_scale(x, scale), scale), x)
    assert to_scale(0.5, "1-9", spread=True) == pytest.approx(2.0)


def test_search_and_corpus_summary():
    songs = [SongRecord("12", "emomusic", meta={"artist": "Nina Simone", "title": "Feeling Good"}),
             SongRecord("7", "synth", tags=("calm", "piano"), valence=np.array([0.1, 0.3]), arousal=np.array([-0.5]))]
    assert [s.song_id for s in search_songs(songs, "nina good")] == ["12"]
    assert [s.song_id for s in search_songs(songs, "PIANO")] == ["7"]
    assert len(search_songs(songs, "")) == 2 and not search_songs(songs, "jazz")
    table = corpus_summary(songs)
    assert table.loc[1, "valence"] == pytest.approx(0.2) and np.isnan(table.loc[0, "valence"])

