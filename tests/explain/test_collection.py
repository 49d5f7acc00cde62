"""A collection's songs table: filters, per-model values, folders, and the difference of two subsets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from memo_core.errors import MemoError
from memo_core.explain.collection import (
    LIBRARY_AVERAGE,
    filter_songs,
    folders_of,
    in_folder,
    label_agreement,
    library_models,
    model_values,
    subset_difference,
    tags_of,
)


def _songs() -> pd.DataFrame:
    return pd.DataFrame({
        "song_id": ["a", "b", "c", "d"],
        "path": ["/m/jazz/one.wav", "/m/jazz/live/two.wav", "/m/rock/three.wav", "/m/rock/four.flac"],
        "name": ["one", "two", "three", "four"],
        "duration_s": [30.0, 60.0, 90.0, 120.0],
        "valence": [0.5, -0.4, 0.2, -0.6], "arousal": [0.3, 0.5, -0.2, -0.5],
        "quadrant": ["happy / excited", "tense / angry", "calm / relaxed", "sad / depressed"],
        "top_tags": ["happy,energetic", "", "calm", "calm,sad"],
        "mca_valence_mean": [0.6, -0.3, 0.1, np.nan], "mca_arousal_mean": [0.2, 0.4, -0.1, np.nan],
        "at_valence_mean": [0.4, -0.5, 0.3, -0.6], "at_arousal_mean": [0.4, 0.6, -0.3, -0.5],
        "at_valence_std": [0.1] * 4,
    })


def test_models_filters_and_positions():
    songs = _songs()
    assert library_models(songs) == ["mca", "at"]
    assert tags_of(songs) == ["calm", "energetic", "happy", "sad"]
    every = filter_songs(songs)
    assert list(every["song_id"]) == ["a", "b", "c", "d"]
    assert list(every["x_valence"]) == [0.5, -0.4, 0.2, -0.6]  # the average: the table's own columns
    # one model: its means, and only the songs it has values for
    mca = filter_songs(songs, model="mca")
    assert list(mca["song_id"]) == ["a", "b", "c"] and list(mca["x_arousal"]) == [0.2, 0.4, -0.1]
    assert list(filter_songs(songs, quadrants=["calm / relaxed", "sad / depressed"])["song_id"]) == ["c", "d"]
    assert list(filter_songs(songs, duration=(60.0, 90.0))["song_id"]) == ["b", "c"]
    assert list(filter_songs(songs, tags=["calm"])["song_id"]) == ["c", "d"]
    assert list(filter_songs(songs, tags=["calm", "sad"])["song_id"]) == ["d"]
    assert list(filter_songs(songs, path_text="JAZZ")["song_id"]) == ["a", "b"]
    assert filter_songs(songs, quadrants=[], model=LIBRARY_AVERAGE).empty
    with pytest.raises(MemoError, match="not a model of this library"):
        filter_songs(songs, model="bat")
    values = model_values(songs)
    assert len(values) == 3 + 3 + 4 + 4  # mca has no value for song d
    assert set(values["model"]) == {"mca", "at"} and set(values["target"]) == {"valence", "arousal"}


def test_folders_and_subsets():
    songs = _songs()
    assert folders_of(songs["path"]) == ["/m", "/m/jazz", "/m/jazz/live", "/m/rock"]
    assert list(in_folder(songs, "/m/jazz")["song_id"]) == ["a", "b"]  # at any depth
    assert list(in_folder(songs, "/m/jazz/")["song_id"]) == ["a", "b"]
    assert in_folder(songs, "/m/ja").empty  # a folder, not a prefix of a name


def test_subset_difference_matches_welch_and_ks():
    rng = np.random.default_rng(0)
    a = pd.DataFrame({"x_valence": rng.normal(-0.2, 0.2, 30), "x_arousal": rng.normal(0.0, 0.3, 30)})
    b = pd.DataFrame({"x_valence": rng.normal(0.3, 0.1, 20), "x_arousal": rng.normal(0.0, 0.3, 20)})
    table = subset_difference(a, b).set_index("target")
    valence = table.loc["valence"]
    assert valence["n_a"] == 30 and valence["n_b"] == 20
    assert valence["difference"] == pytest.approx(b["x_valence"].mean() - a["x_valence"].mean())
    welch = stats.ttest_ind(b["x_valence"], a["x_valence"], equal_var=False).confidence_interval(0.95)
    assert (valence["diff_lo"], valence["diff_hi"]) == pytest.approx((welch.low, welch.high))
    one = stats.ttest_1samp(a["x_valence"], 0.0).confidence_interval(0.95)
    assert (valence["a_lo"], valence["a_hi"]) == pytest.approx((one.low, one.high))
    assert valence["ks"] > 0.8 and valence["ks_p"] < 1e-6  # far apart
    assert table.loc["arousal", "ks_p"] > 0.01  # drawn from one distribution
    same = subset_difference(a, a).set_index("target")
    assert same.loc["valence", "ks"] == 0.0 and same.loc["valence", "difference"] == 0.0
    lone = subset_difference(a, b.iloc[:1]).set_index("target")
    assert np.isnan(lone.loc["valence", "diff_lo"]) and np.isnan(lone.loc["valence", "b_lo"])
    with pytest.raises(MemoError, match="subset B has no song"):
        subset_difference(a, b.iloc[0:0])


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson's score interval, written out (Wilson 1927)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_label_agreement_counts_songs_on_the_labels_side_with_wilson_intervals():
    songs = _songs().assign(dataset=["4q", "4q", "4q", ""], label_valence=[1.0, 1.0, -1.0, -1.0],
                            label_arousal=[1.0, 1.0, 0.0, -1.0])
    table = label_agreement(songs).set_index("target")
    # valence: a +0.5 vs +1 (same), b -0.4 vs +1 (not), c +0.2 vs -1 (not); d has no dataset
    assert table.loc["valence", ["n", "agree"]].tolist() == [3, 1]
    assert (table.loc["valence", "lo"], table.loc["valence", "hi"]) == pytest.approx(_wilson(1, 3))
    # arousal: c's label is neutral (0), left out; a and b on the label's side
    assert table.loc["arousal", ["n", "agree", "share"]].tolist() == [2, 2, 1.0]
    assert (table.loc["arousal", "lo"], table.loc["arousal", "hi"]) == pytest.approx(_wilson(2, 2))
    assert set(table["dataset"]) == {"4q"}
    # one model's means instead of the average: at puts c's valence at +0.3 (still not -1's side)
    assert label_agreement(songs, "at").set_index("target").loc["valence", "agree"] == 1
    assert label_agreement(_songs()).empty  # no dataset songs: nothing to compare
