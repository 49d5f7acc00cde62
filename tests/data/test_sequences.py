"""Songs to sequences: annotation alignment, skipped songs, the normaliser."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from memo_core.data import load_dataset
from memo_core.data.records import SongRecord
from memo_core.data.sequences import (
    Normalizer,
    SequenceExample,
    SkippedSongsWarning,
    align_annotations,
    build_examples,
    select_targets,
)
from memo_core.errors import DatasetError, FeatureError, MemoError


def _song(times, valence, arousal=None):
    return SongRecord("s", "test", frame_times=np.asarray(times, float), valence=np.asarray(valence, float),
                      arousal=np.asarray(arousal if arousal is not None else valence, float))


def test_align_pairs_15s_with_the_frame_ending_there_and_drops_outside_and_nan():
    song = _song([15.0, 15.5, 16.0, 40.0], [0.1, np.nan, 0.3, 0.9], [0.5, 0.6, 0.7, 0.8])
    values, mask = align_annotations(song, n_frames=34, targets=("valence", "arousal"))
    assert values.shape == (34, 2) and values.dtype == np.float32
    # 15.0 s describes [14.5, 15.0) = frame 29; NaN valence at 15.5 s; 40 s is past the 17 s of audio
    assert np.flatnonzero(mask).tolist() == [29, 31]
    np.testing.assert_allclose(values[29], [0.1, 0.5])
    np.testing.assert_allclose(values[31], [0.3, 0.7])
    assert not values[~mask].any()


def test_align_one_target_keeps_order():
    song = _song([0.5, 1.0], [0.1, 0.2], [0.7, 0.8])
    values, mask = align_annotations(song, n_frames=2, targets=("arousal",))
    np.testing.assert_allclose(values[:, 0], [0.7, 0.8])


def test_build_examples_on_corpus_and_skips_songs_without_audio(tiny_corpus):
    load = load_dataset("synth", tiny_corpus)
    songs = list(load.songs) + [SongRecord("ghost", "synth", audio_path=None, frame_times=np.array([15.0]),
                                           valence=np.array([0.0]), arousal=np.array([0.0]))]
    calls = []
    with pytest.warns(SkippedSongsWarning, match=r"1 of 5 songs skipped \(1 no audio file\)"):
        examples = build_examples(songs, features="chroma", targets=("arousal", "valence"), progress=False,
                                  on_song=lambda done, total: calls.append((done, total)))
    assert len(examples) == 4
    assert calls == [(i, 5) for i in range(1, 6)]  # every song, the skipped one too
    ex = examples[0]
    assert ex.features.shape == (40, 24) and ex.features.dtype == np.float32
    assert ex.targets.shape == (40, 2) and ex.target_names == ("arousal", "valence")
    assert np.flatnonzero(ex.mask)[0] == 29  # annotations start at 15 s, describing [14.5, 15.0)
    np.testing.assert_allclose(ex.frame_times[:3], [0.0, 0.5, 1.0])
    song = load.by_id()[ex.song_id]
    np.testing.assert_allclose(ex.targets[29, 0], song.arousal[0], atol=1e-6)


def test_build_examples_refuses_non_500ms_features_and_no_usable_song(tiny_corpus):
    load = load_dataset("synth", tiny_corpus)
    with pytest.raises(FeatureError, match="500 ms"):
        build_examples(load, features="logmel128", progress=False)
    ghost = SongRecord("ghost", "synth", frame_times=np.array([15.0]), valence=np.zeros(1), arousal=np.zeros(1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DatasetError, match="none of the 1 songs"):
            build_examples([ghost], features="chroma", progress=False)


def _example(x, song_id="a"):
    n = len(x)
    return SequenceExample(song_id, x.astype(np.float32), np.zeros((n, 2), np.float32), np.ones(n, bool),
                           np.arange(n) * 0.5)


def test_normalizer_standardises_and_round_trips():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(200, 3))
    x[:, 2] = 5.0  # constant feature: std 1, not a division by zero
    norm = Normalizer.fit([_example(x[:120]), _example(x[120:], "b")])
    z = norm.apply(x)
    np.testing.assert_allclose(z[:, :2].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z[:, :2].std(0), 1, atol=1e-4)
    assert norm.std[2] == 1.0 and np.allclose(z[:, 2], 0)
    again = Normalizer.from_dict(norm.to_dict())
    np.testing.assert_array_equal(again.apply(x), z)
    with pytest.raises(MemoError, match="do not fit"):
        norm.apply(x[:, :2])
    with pytest.raises(MemoError):
        Normalizer.from_dict({"mean": norm.to_dict()["mean"]})


def test_select_targets():
    ex = _example(np.zeros((4, 2)))
    ex.targets[:] = [[1, 2]] * 4
    (one,) = select_targets([ex], ("arousal",))
    assert one.target_names == ("arousal",) and (one.targets == 2).all()
    with pytest.raises(MemoError):
        select_targets([ex], ("dominance",))
