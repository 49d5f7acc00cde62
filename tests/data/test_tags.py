"""Tagger input: the tag vocabulary, looping, mel .npy files, examples from the synthetic corpus."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from memo_core.data import load_dataset
from memo_core.data.batching import collate_tags
from memo_core.data.records import DatasetLoad, SongRecord
from memo_core.data.sequences import Normalizer, SkippedSongsWarning
from memo_core.data.tags import (
    TAG_INPUT_FRAMES,
    build_tag_examples,
    loop_frames,
    read_mel_npy,
    tag_vocabulary,
)
from memo_core.errors import DatasetError, MemoError


def test_loop_frames_repeats_from_the_start_and_cuts():
    frames = np.arange(10, dtype=np.float32).reshape(5, 2)
    looped = loop_frames(frames, 12)
    assert looped.shape == (12, 2)
    np.testing.assert_array_equal(looped[:5], frames)
    np.testing.assert_array_equal(looped[5:10], frames)
    np.testing.assert_array_equal(looped[10:], frames[:2])
    np.testing.assert_array_equal(loop_frames(frames, 3), frames[:3])
    with pytest.raises(MemoError, match="empty"):
        loop_frames(frames[:0], 3)


def test_read_mel_npy_accepts_the_jamendo_layout_and_refuses_others(tmp_path):
    mel = np.random.default_rng(0).standard_normal((96, 300)).astype(np.float32)
    np.save(tmp_path / "a.npy", mel)
    np.save(tmp_path / "b.npy", mel.T)
    np.save(tmp_path / "bad.npy", np.zeros((40, 300), dtype=np.float32))
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    np.testing.assert_array_equal(read_mel_npy(tmp_path / "a.npy"), mel.T)
    np.testing.assert_array_equal(read_mel_npy(tmp_path / "b.npy"), mel.T)
    with pytest.raises(MemoError, match="expected \\(96, n_frames\\)"):
        read_mel_npy(tmp_path / "bad.npy")
    with pytest.raises(MemoError, match="cannot read"):
        read_mel_npy(tmp_path / "junk.npy")


def test_vocabulary_of_a_generic_dataset_is_the_sorted_tags_it_carries():
    load = DatasetLoad("generic", None, [SongRecord("1", "generic", tags=("sad", "calm")),
                                         SongRecord("2", "generic", tags=("calm",))])
    assert tag_vocabulary(load) == ["calm", "sad"]
    assert tag_vocabulary(load, min_count=2) == ["calm"]  # rare tags left out (4Q's many AllMusic moods)
    with pytest.raises(DatasetError, match="carried by 3 song"):
        tag_vocabulary(load, min_count=3)
    with pytest.raises(DatasetError, match="no mood/theme tag"):
        tag_vocabulary(DatasetLoad("generic", None, [SongRecord("1", "generic")]))


def test_jamendo_vocabulary_is_the_challenges_56_tags(shared_data):
    load = load_dataset("mtg_jamendo", shared_data / "mtg_jamendo")
    tags = tag_vocabulary(load)
    assert len(tags) == 56 and tags[0] == "action" and "happy" in tags


def test_examples_from_the_synthetic_corpus(tiny_corpus, tmp_path):
    load = load_dataset("synth", tiny_corpus, require_audio=True)
    vocab = tag_vocabulary(load)
    examples = build_tag_examples(load, tag_names=vocab, progress=False)
    assert len(examples) == len(load.songs)
    for ex, song in zip(examples, load.songs):
        # 20 s songs are shorter than 1400 frames (29.9 s): looped to the input length
        assert ex.features.shape == (TAG_INPUT_FRAMES, 96) and ex.features.dtype == np.float32
        assert ex.target_names == tuple(vocab)
        assert set(np.asarray(vocab)[ex.targets == 1]) == set(song.tags) & set(vocab)
        np.testing.assert_allclose(ex.frame_seconds, 256 / 12000)
    whole = build_tag_examples(load.songs[:1], tag_names=vocab, input_frames=None, progress=False)[0]
    assert whole.n_frames == 1 + (20 * 12000) // 256
    np.testing.assert_array_equal(examples[0].features[: whole.n_frames], whole.features)
    np.testing.assert_array_equal(examples[0].features[whole.n_frames:], whole.features[: TAG_INPUT_FRAMES - whole.n_frames])
    # a mel .npy beside the record is read instead of the audio
    np.save(tmp_path / "m.npy", whole.features.T[:, :100])
    song = SongRecord("npy", "generic", meta={"mel_path": tmp_path / "m.npy"}, tags=(vocab[0],))
    from_npy = build_tag_examples([song], tag_names=vocab, input_frames=None, progress=False)[0]
    np.testing.assert_array_equal(from_npy.features, whole.features[:100])
    # the generic normaliser and collation work on tag examples
    norm = Normalizer.fit(examples)
    assert norm.n_features == 96
    batch = collate_tags(norm.apply_examples(examples[:2]) + [from_npy])
    assert batch.x.shape == (3, TAG_INPUT_FRAMES, 96) and batch.y.shape == (3, len(vocab))
    assert batch.lengths.tolist() == [TAG_INPUT_FRAMES, TAG_INPUT_FRAMES, 100] and bool(batch.mask.all())
    assert float(batch.x[2, 100:].abs().sum()) == 0.0


def test_songs_without_input_are_skipped_with_a_warning(tiny_corpus):
    load = load_dataset("synth", tiny_corpus, require_audio=True)
    songs = list(load.songs[:1]) + [SongRecord("ghost", "synth", tags=("sad",))]
    with pytest.warns(SkippedSongsWarning, match="1 no audio or mel file"):
        examples = build_tag_examples(songs, tag_names=["sad"], progress=False)
    assert [ex.song_id for ex in examples] == [load.songs[0].song_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DatasetError, match="none of the 1 songs"):
            build_tag_examples(songs[1:], tag_names=["sad"], progress=False)
    with pytest.raises(MemoError, match="at least one tag"):
        build_tag_examples(songs, tag_names=[], progress=False)
