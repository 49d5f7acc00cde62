"""memo_core.explain.familiarity: the distance to the training features, its threshold, silence, and what a page says."""

from __future__ import annotations

import numpy as np
import pytest

from memo_core.data.sequences import Normalizer
from memo_core.explain.familiarity import (
    DISTANCE,
    FALLBACK_THRESHOLD,
    MANIFEST_KEY,
    SILENCE_DBFS,
    Reference,
    distance_map,
    familiarity,
    familiarity_notes,
    familiarity_reference,
    feature_distance,
    frame_levels_db,
    reference_of,
    spans,
)


def _training(rng, n_songs=20, n_frames=60, n_features=8):
    songs = [rng.normal(3.0, 2.0, size=(n_frames, n_features)) for _ in range(n_songs)]
    pooled = np.concatenate(songs)
    return songs, Normalizer(pooled.mean(0).astype(np.float32), pooled.std(0).astype(np.float32))


def test_distance_is_the_rms_z_score_per_frame_smoothed_by_a_running_median():
    mean, std = np.zeros(4), np.full(4, 2.0)
    x = np.zeros((7, 4))
    x[:, 0] = 4.0                  # z = 2 on one feature of four: RMS z = 1
    x[3] = 20.0                    # one odd frame (z = 10 everywhere) ...
    raw = feature_distance(x, mean, std, frame_seconds=0.5, smooth=1)
    np.testing.assert_allclose(raw, [1, 1, 1, 10, 1, 1, 1])
    # ... does not count after the 5-frame median; a stretch that stays away does
    np.testing.assert_allclose(feature_distance(x, mean, std, frame_seconds=0.5), np.ones(7))
    x[2:6] = 20.0
    smoothed = feature_distance(x, mean, std, frame_seconds=0.5)
    assert smoothed[3] == pytest.approx(10.0) and smoothed[0] == pytest.approx(1.0)


def test_distance_pools_short_frames_to_the_500ms_grid_and_skips_non_finite_features():
    frame_s = 0.125                 # four feature frames per 500 ms frame
    x = np.zeros((10, 2))
    x[4:8] = 3.0                    # the second 500 ms frame: z = 3
    d = feature_distance(x, np.zeros(2), np.ones(2), frame_seconds=frame_s, smooth=1)
    np.testing.assert_allclose(d, [0.0, 3.0, 0.0])  # 10 frames of 125 ms: three 500 ms frames, the last partial
    x[0, 0] = np.nan                # a NaN feature is left out, not propagated
    x[8:] = np.nan                  # a frame with nothing finite has no distance
    d = feature_distance(x, np.zeros(2), np.ones(2), frame_seconds=frame_s, smooth=1)
    assert d[0] == 0.0 and np.isnan(d[2])
    with pytest.raises(ValueError):
        feature_distance(np.zeros((3, 5)), np.zeros(4), np.ones(4), frame_seconds=0.5)


def test_reference_from_the_training_songs_flags_unlike_frames_and_not_like_ones():
    rng = np.random.default_rng(0)
    songs, normalizer = _training(rng)
    ref = familiarity_reference(normalizer, songs, frame_seconds=0.5)
    assert ref["distance"] == DISTANCE and ref["n_songs"] == 20 and ref["n_frames"] == 1200
    # the standardised training frames have mean square 1, so the median distance is near 1 and the 99.5 %
    # quantile a little above
    assert 0.7 < ref["median"] < 1.1 < ref["threshold"] < 2.0
    reference = reference_of({MANIFEST_KEY: ref})
    assert reference.measured and reference.threshold == ref["threshold"] and reference.quantile == 0.995
    assert "99.5% of its training frames" in reference.describe()
    # a new song from the same distribution is within; a constant tone far from it is outside
    alike = feature_distance(rng.normal(3.0, 2.0, size=(40, 8)), normalizer.mean, normalizer.std, frame_seconds=0.5)
    unlike = feature_distance(np.full((40, 8), 15.0), normalizer.mean, normalizer.std, frame_seconds=0.5)
    assert (alike <= reference.threshold).all() and (unlike > reference.threshold).all()
    # the result's map: values per 500 ms frame with their start times
    found = distance_map(np.full((40, 8), 15.0), normalizer, frame_seconds=0.5)
    assert found["values"].shape == (40,) and found["axes"]["time_s"][1] == 0.5


@pytest.mark.parametrize("entry", [None, {}, {"key": "x"}, {MANIFEST_KEY: "junk"},
                                   {MANIFEST_KEY: {"distance": "other", "threshold": 2.0}},
                                   {MANIFEST_KEY: {"distance": DISTANCE, "threshold": float("nan")}},
                                   {MANIFEST_KEY: {"distance": DISTANCE, "threshold": -1}},
                                   {MANIFEST_KEY: {"distance": DISTANCE, "threshold": True}}])
def test_a_missing_or_malformed_reference_falls_back_on_the_documented_rule(entry):
    reference = reference_of(entry)
    assert reference == Reference(FALLBACK_THRESHOLD, False)
    assert "rule of thumb" in reference.describe()


def test_frame_levels_find_silence_on_the_500ms_grid():
    sr = 8000
    t = np.arange(int(3.2 * sr)) / sr
    y = 0.5 * np.sin(2 * np.pi * 220 * t)
    y[sr: 2 * sr] = 0.0                          # 1-2 s digital silence
    y[2 * sr: int(2.5 * sr)] *= 10 ** (-70 / 20)  # 2-2.5 s 70 dB down: -79 dBFS
    levels = frame_levels_db(y, sr)
    assert levels.shape == (7,)                  # 3.2 s: six full frames and a partial one
    assert levels[0] == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.1)  # a sine's RMS: peak / sqrt 2
    assert levels[2] == -120.0 and levels[4] == pytest.approx(-79.0, abs=0.1)
    silent = levels < SILENCE_DBFS
    assert silent.tolist() == [False, False, True, True, True, False, False]
    assert spans(silent, np.arange(7) * 0.5) == [(1.0, 2.5)]
    assert spans(np.ones(7, bool), np.arange(7) * 0.5, end_s=3.2) == [(0.0, 3.2)]
    assert frame_levels_db(np.zeros(0), sr).size == 0


def test_a_page_pools_its_checkpoints_and_says_what_it_flags():
    levels = np.full(10, -20.0)
    levels[6:] = -90.0                            # the last 2 s are silent
    distances = {"at": np.full(10, 0.8), "vggish": np.r_[np.full(4, 0.5), np.full(6, 4.0)], "old": None}
    refs = {"at": Reference(1.5, True, 0.995, 0.7)}  # vggish: no reference, the fallback rule (3)
    found = familiarity(distances, refs, levels, duration_s=4.8)
    assert list(found.models) == ["at", "vggish"]   # a result without a distance (an old cache) is left out
    assert found.outside.tolist() == [False] * 4 + [True] * 6
    assert found.silent_spans == [(3.0, 4.8)] and found.outside_spans == [(2.0, 3.0)]  # silence has its own band
    assert found.models["vggish"].share_outside == pytest.approx(0.6)
    notes = familiarity_notes(found)
    assert [level for level, _ in notes] == ["warning", "warning"]
    assert "Near-silent stretches" in notes[0][1] and "3.0-4.8 s" in notes[0][1]
    assert "Outside what the models know" in notes[1][1] and "**vggish**" in notes[1][1] and "**at**" not in notes[1][1]
    assert "rule of thumb" in notes[1][1]
    # a song within the training range, with sound throughout, gets one reassuring line
    calm = familiarity({"at": np.full(10, 0.8)}, refs, np.full(10, -20.0))
    assert not calm.flagged and [level for level, _ in familiarity_notes(calm)] == ["ok"]
    # silence throughout is called a silent song
    quiet = familiarity({"at": np.full(10, 0.8)}, refs, np.full(10, -100.0))
    assert "Silent or near-silent song" in familiarity_notes(quiet)[0][1] and quiet.outside_spans == []
