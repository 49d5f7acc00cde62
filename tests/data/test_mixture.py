"""Clip-level labels end to end: the clipping normaliser, clip examples, the song sign loss, and mixtures.

A source labelled per clip (4Q's quadrants) gives each song the SIGN of its valence/arousal and no
frame target; a per-frame model learns those signs through its song-mean output
(:func:`memo_core.models.losses.song_sign_loss`) beside the frame loss of dynamically annotated sources.
"""

from __future__ import annotations

import dataclasses
import io
import warnings

import numpy as np
import pytest
import torch

from memo_core.data import load_dataset
from memo_core.data.batching import Batch, _window, collate
from memo_core.data.mixture import PARTS, Source, build_mixture, source_split
from memo_core.data.records import SongRecord
from memo_core.data.sequences import (
    DEFAULT_CLIP,
    Normalizer,
    SequenceExample,
    SkippedSongsWarning,
    build_clip_examples,
    clip_signs,
    select_targets,
)
from memo_core.errors import DatasetError, MemoError
from memo_core.models.losses import song_sign_loss
from memo_core.training.loop import TrainConfig, fit, objective, train_model
from memo_core.training.scoring import evaluate_clips, predict_examples
from tests.realdata_layouts import Clip, quadrant_clips, write_4q, write_generic

# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def fourq_root(tmp_path_factory):
    """12 clips by 6 artists (two each), plus one listed clip without its mp3 by a seventh."""
    root = tmp_path_factory.mktemp("fourq")
    write_4q(root, quadrant_clips(n_artists=6, per_artist=2) + [Clip("MT9999999999", "Q2", artist="No Audio",
                                                                      audio=False)])
    return root


@pytest.fixture(scope="module")
def generic_root(tmp_path_factory):
    return write_generic(tmp_path_factory.mktemp("generic"), n_songs=6)


def _frame_examples(n: int, seed: int, n_frames: int = 16) -> list[SequenceExample]:
    """Dynamically annotated songs: valence follows feature 1, arousal feature 2 (feature 0 is noise)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        x = rng.standard_normal((n_frames, 4)).astype(np.float32)
        y = 0.5 * np.stack([np.tanh(x[:, 1]), np.tanh(x[:, 2])], 1).astype(np.float32)
        out.append(SequenceExample(f"f{seed}-{i}", x, y, np.ones(n_frames, bool), np.arange(n_frames) * 0.5))
    return out


def _clip_examples(n: int, seed: int, n_frames: int = 16) -> list[SequenceExample]:
    """Clip-labelled songs (no annotated frame): the arousal sign is the sign of feature 0's song offset."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        sign = 1.0 if i % 2 == 0 else -1.0
        x = rng.standard_normal((n_frames, 4)).astype(np.float32)
        x[:, 0] += sign
        out.append(SequenceExample(f"c{seed}-{i}", x, np.zeros((n_frames, 2), np.float32), np.zeros(n_frames, bool),
                                   np.arange(n_frames) * 0.5, song_targets=np.array([np.nan, sign], np.float32)))
    return out


# --------------------------------------------------------------------------- the clipping normaliser


def _example(x: np.ndarray, song_id: str = "a") -> SequenceExample:
    n = len(x)
    return SequenceExample(song_id, x.astype(np.float32), np.zeros((n, 2), np.float32), np.ones(n, bool),
                           np.arange(n) * 0.5)


def test_normalizer_clips_standardised_values():
    rng = np.random.default_rng(0)
    x = rng.normal([1.0, -20.0], [2.0, 5.0], size=(400, 2))
    clipped = Normalizer.fit([_example(x)], clip=5.0)
    free = Normalizer.fit([_example(x)], clip=None)
    assert clipped.clip == 5.0 and free.clip is None
    assert Normalizer.fit([_example(x)]).clip == DEFAULT_CLIP == 5.0  # on by default
    np.testing.assert_array_equal(clipped.mean, free.mean)
    far = clipped.mean + np.array([[100.0, -3.0], [-100.0, 4.9], [7.0, 0.0]]) * clipped.std
    z = clipped.apply(far.astype(np.float32))
    np.testing.assert_allclose(z, [[5.0, -3.0], [-5.0, 4.9], [5.0, 0.0]], atol=1e-4)
    np.testing.assert_allclose(free.apply(far.astype(np.float32))[:, 0], [100.0, -100.0, 7.0], rtol=1e-4)
    # values inside the bound are untouched
    inside = x[np.abs((x - clipped.mean) / clipped.std).max(1) < 4.9].astype(np.float32)
    np.testing.assert_array_equal(clipped.apply(inside), free.apply(inside))
    assert np.abs(clipped.apply_examples([_example(far)])[0].features).max() == pytest.approx(5.0)
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(MemoError, match="clip"):
            Normalizer.fit([_example(x)], clip=bad)


def test_normalizer_state_keeps_the_clip_and_reads_old_states():
    x = np.random.default_rng(1).normal(size=(50, 3))
    norm = Normalizer.fit([_example(x)], clip=2.5)
    state = norm.to_dict()
    assert float(state["clip"]) == 2.5
    buffer = io.BytesIO()
    torch.save(state, buffer)  # as a checkpoint stores it
    buffer.seek(0)
    again = Normalizer.from_dict(torch.load(buffer))
    assert again.clip == 2.5
    far = (norm.mean + 10 * norm.std)[None].astype(np.float32)
    np.testing.assert_array_equal(again.apply(far), norm.apply(far))
    assert np.allclose(again.apply(far), 2.5)
    # a state saved before the clip existed, and one saved without a clip: no clipping
    old = {"mean": state["mean"], "std": state["std"]}
    assert Normalizer.from_dict(old).clip is None
    assert "clip" not in Normalizer.fit([_example(x)], clip=None).to_dict()
    assert np.allclose(Normalizer.from_dict(old).apply(far), 10.0, atol=1e-4)
    with pytest.raises(MemoError, match="bad clip"):
        Normalizer.from_dict({**old, "clip": torch.tensor(0.0)})


def test_a_trained_model_stays_bounded_far_from_its_training_data():
    """A song 50 training standard deviations away gives the outputs of the clipped input (issue: real
    recordings' levels after training on rendered MIDI must not saturate the network)."""
    train, val = _frame_examples(6, seed=1), _frame_examples(2, seed=2)
    result = train_model("at", "tiny", train, val, config_overrides={"max_epochs": 2})
    norm = result.normalizer
    assert norm.clip == DEFAULT_CLIP
    song = _frame_examples(1, seed=3)[0]

    def shifted(k: float) -> SequenceExample:
        return dataclasses.replace(song, features=(song.features + k * norm.std).astype(np.float32))

    at_bound = dataclasses.replace(song, features=np.broadcast_to(norm.mean + DEFAULT_CLIP * norm.std,
                                                                   song.features.shape).astype(np.float32))
    p50, p500, p_bound, p0 = predict_examples(result.model, [shifted(50), shifted(500), at_bound, song], norm)
    assert np.isfinite(p50).all() and np.isfinite(p500).all()
    np.testing.assert_allclose(p50, p500, atol=1e-6)
    np.testing.assert_allclose(p50, p_bound, atol=1e-5)
    assert np.abs(p50).max() < 100
    # without the clip the same model's outputs keep moving with the shift
    free = dataclasses.replace(norm, clip=None)
    q50, q500 = predict_examples(result.model, [shifted(50), shifted(500)], free)
    assert np.abs(q500 - q50).max() > 1e-2
    assert not np.allclose(p50, p0)  # the clipped input is not simply ignored


# --------------------------------------------------------------------------- clip labels


def test_clip_signs_from_quadrant_signs_and_static_ratings():
    q2 = SongRecord("a", "4q", meta={"valence_sign": -1, "arousal_sign": 1})
    np.testing.assert_array_equal(clip_signs(q2), [-1.0, 1.0])
    np.testing.assert_array_equal(clip_signs(q2, ("arousal",)), [1.0])
    assert clip_signs(q2).dtype == np.float32
    static = SongRecord("b", "emopia", static_valence=0.4, static_arousal=-0.7)
    np.testing.assert_array_equal(clip_signs(static), [1.0, -1.0])
    half = clip_signs(SongRecord("c", "emopia", static_valence=0.0, static_arousal=0.2))
    assert np.isnan(half[0]) and half[1] == 1.0  # a rating of exactly 0 says nothing
    assert clip_signs(SongRecord("d", "x", static_valence=float("nan"))) is None
    assert clip_signs(SongRecord("e", "deam")) is None
    assert clip_signs(SongRecord("f", "x", meta={"arousal_sign": -3}), ("valence", "arousal"))[1] == -1.0


def test_build_clip_examples_on_a_4q_layout(fourq_root):
    load = load_dataset("4q", fourq_root)
    with pytest.warns(SkippedSongsWarning, match=r"1 of 13 songs skipped \(1 no audio file\); 12 used"):
        examples = build_clip_examples(load.songs, features="loudness", progress=False)
    by = load.by_id()
    assert len(examples) == 12 and "MT9999999999" not in {e.song_id for e in examples}
    for ex in examples:
        song = by[ex.song_id]
        assert ex.n_features == 2 and ex.n_frames == 4  # 2 s of audio, 500 ms frames
        assert not ex.mask.any() and not ex.targets.any()  # no frame target from a clip label
        np.testing.assert_array_equal(ex.song_targets, [song.meta["valence_sign"], song.meta["arousal_sign"]])
        assert ex.has_song_targets and ex.target_names == ("valence", "arousal")
        np.testing.assert_allclose(ex.frame_times, [0.0, 0.5, 1.0, 1.5])
    # the fixture's high-arousal clips are the loud ones
    level = {ex.song_id: ex.features[:, 1].mean() for ex in examples}
    loud = [level[i] for i in level if by[i].meta["arousal_sign"] > 0]
    quiet = [level[i] for i in level if by[i].meta["arousal_sign"] < 0]
    assert min(loud) > max(quiet) + 10
    (one,) = select_targets(examples[:1], ("arousal",))
    np.testing.assert_array_equal(one.song_targets, examples[0].song_targets[1:])


def test_build_clip_examples_skips_unlabelled_and_needs_one_song(fourq_root):
    load = load_dataset("4q", fourq_root)
    unlabelled = dataclasses.replace(load.songs[0], song_id="plain", meta={})
    with pytest.warns(SkippedSongsWarning, match="1 no clip-level label"):
        examples = build_clip_examples([unlabelled, load.songs[1]], features="loudness", progress=False)
    assert [e.song_id for e in examples] == [load.songs[1].song_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DatasetError, match="none of the 1 clip-labelled songs"):
            build_clip_examples([load.by_id()["MT9999999999"]], features="loudness", progress=False)


def test_build_clip_examples_refuses_non_500ms_features(fourq_root):
    from memo_core.errors import FeatureError

    load = load_dataset("4q", fourq_root, require_audio=True)
    with pytest.raises(FeatureError, match="500 ms"):
        build_clip_examples(load.songs[:1], features="logmel128", progress=False)


# --------------------------------------------------------------------------- the song sign loss


def _batch(song_y, song_mask, weight=None) -> Batch:
    b, t = len(song_y), np.asarray(song_y).shape[1]
    return Batch(x=torch.zeros(b, 3, 1), lengths=torch.full((b,), 3), y=torch.zeros(b, 3, t),
                 mask=torch.zeros(b, 3, dtype=torch.bool), song_y=torch.tensor(song_y, dtype=torch.float32),
                 song_mask=torch.tensor(song_mask), song_weight=None if weight is None else torch.tensor(weight))


def test_song_sign_loss_is_zero_on_the_labelled_side_by_the_margin():
    batch = _batch([[1.0, -1.0], [-1.0, 1.0]], [[True, True], [True, True]])
    right = torch.tensor([[[0.5, -0.31]], [[-0.3, 0.9]]])
    assert float(song_sign_loss(right, batch, margin=0.3)) == 0.0
    # inside the margin, or on the wrong side: the squared shortfall, averaged over labels
    out = torch.tensor([[[0.1, -0.31]], [[0.2, 0.9]]])  # shortfalls 0.2 and 0.5
    assert float(song_sign_loss(out, batch, margin=0.3)) == pytest.approx((0.2 ** 2 + 0.5 ** 2) / 4, rel=1e-5)
    assert float(song_sign_loss(out, batch, margin=0.0)) == pytest.approx(0.2 ** 2 / 4, rel=1e-5)


def test_song_sign_loss_weights_and_unknown_labels():
    out = torch.tensor([[[-0.7, 5.0]], [[0.0, -5.0]]])  # song 0 valence short by 1.0, song 1 valence by 0.3
    known = _batch([[1.0, 0.0], [1.0, 0.0]], [[True, False], [True, False]], weight=[1.0, 3.0])
    expected = (1.0 * 1.0 ** 2 + 3.0 * 0.3 ** 2) / 4.0
    assert float(song_sign_loss(out, known, margin=0.3)) == pytest.approx(expected, rel=1e-5)
    # the arousal outputs (far on the wrong side) are ignored: no label there
    out2 = out.clone()
    out2[:, :, 1] = -out2[:, :, 1]
    assert float(song_sign_loss(out2, known, margin=0.3)) == pytest.approx(expected, rel=1e-5)
    # a song of weight 0 does not count; no label at all gives 0 and still a graph
    zero = _batch([[1.0, 0.0], [1.0, 0.0]], [[True, False], [True, False]], weight=[0.0, 3.0])
    assert float(song_sign_loss(out, zero, margin=0.3)) == pytest.approx(0.3 ** 2, rel=1e-5)
    grad = out.clone().requires_grad_(True)
    none = _batch([[0.0, 0.0], [0.0, 0.0]], [[False, False], [False, False]])
    loss = song_sign_loss(grad, none, margin=0.3)
    loss.backward()
    assert float(loss.detach()) == 0.0 and grad.grad is not None
    plain = dataclasses.replace(none, song_y=None, song_mask=None)
    assert float(song_sign_loss(out, plain, margin=0.3)) == 0.0


def test_collate_fills_song_labels_only_when_a_song_has_them():
    frames = _frame_examples(2, seed=1, n_frames=5)
    plain = collate(frames)
    assert plain.song_y is None and plain.song_mask is None and plain.song_weight is None
    clip = dataclasses.replace(_clip_examples(1, seed=2, n_frames=3)[0], weight=2.5,
                               song_targets=np.array([-0.4, np.nan], np.float32))
    nan_only = dataclasses.replace(frames[1], song_targets=np.array([np.nan, np.nan], np.float32))
    assert collate([frames[0], nan_only]).song_y is None  # only NaN: no label
    batch = collate([frames[0], clip, nan_only])
    np.testing.assert_array_equal(batch.song_y.numpy(), [[0, 0], [-1, 0], [0, 0]])  # the sign only
    np.testing.assert_array_equal(batch.song_mask.numpy(), [[False, False], [True, False], [False, False]])
    np.testing.assert_array_equal(batch.song_weight.numpy(), [1.0, 2.5, 1.0])
    assert batch.mask[1].sum() == 0 and batch.lengths.tolist() == [5, 3, 5]


def test_objective_adds_the_weighted_song_loss():
    from memo_core.models.registry import get_model

    torch.manual_seed(0)
    model = get_model("at", "tiny", n_features=4, n_targets=2)
    batch = collate(_frame_examples(2, seed=1, n_frames=6) + _clip_examples(2, seed=2, n_frames=6))
    with torch.no_grad():
        output = model(batch.x, batch.lengths)
    frame_only = objective(model, TrainConfig(song_loss_weight=0.0))(output, batch)
    combined = objective(model, TrainConfig(song_loss_weight=2.0, song_margin=0.5))(output, batch)
    song = song_sign_loss(model.song_outputs(output, batch.lengths), batch, margin=0.5)
    assert float(song) > 0
    assert float(combined) == pytest.approx(float(frame_only) + 2.0 * float(song), rel=1e-5)
    # the song output is each song's mean over its own frames
    means = model.song_outputs(output, batch.lengths)
    np.testing.assert_allclose(means[:, 0].detach().numpy(), output.prediction.mean(1).detach().numpy(), rtol=1e-5)


def test_clip_labels_teach_a_per_frame_model_what_no_frame_label_shows():
    """Frame labels never involve feature 0; only the clip labels (arousal sign = sign of feature 0's
    song offset) do. With the song loss the held-out clips are ranked right; without it they are not."""
    train = _frame_examples(12, seed=1) + _clip_examples(24, seed=2)
    val = _frame_examples(4, seed=3) + _clip_examples(8, seed=4)
    test = _clip_examples(20, seed=5)
    config = {"max_epochs": 15, "patience": None, "lr": 1e-2, "batch_size": 8, "seed": 0}
    taught = train_model("at", "tiny", train, val, config_overrides=config)
    scores = evaluate_clips(taught.model, test, taught.normalizer)
    assert scores["arousal/ROC-AUC"] >= 0.95 and scores["n_songs"] == 20
    assert "valence/ROC-AUC" not in scores  # no valence sign among the clips
    blind = train_model("at", "tiny", train, val, config_overrides={**config, "song_loss_weight": 0.0})
    assert evaluate_clips(blind.model, test, blind.normalizer)["arousal/ROC-AUC"] < 0.8
    with pytest.raises(MemoError, match="clip-level labels"):
        evaluate_clips(taught.model, _frame_examples(2, seed=6), taught.normalizer)


def test_fit_early_stops_on_a_validation_set_of_clip_labelled_songs_only():
    from memo_core.models.registry import get_model

    torch.manual_seed(0)
    model = get_model("at", "tiny", n_features=4, n_targets=2)
    train = _frame_examples(6, seed=1) + _clip_examples(8, seed=2)
    norm = Normalizer.fit(train)
    history = fit(model, norm.apply_examples(train), norm.apply_examples(_clip_examples(6, seed=3)),
                  TrainConfig(lr=1e-2, batch_size=4, max_epochs=4, patience=None, segment_frames=8))
    assert len(history.val_loss) == 4 and all(np.isfinite(history.val_loss))
    assert history.best_epoch >= 1 and history.best_val_loss == min(history.val_loss)
    assert np.isfinite(history.final_val_loss) and all(np.isfinite(history.train_loss))


def test_window_of_a_song_without_annotated_frames():
    (clip,) = _clip_examples(1, seed=1, n_frames=20)
    rng = np.random.default_rng(0)
    starts = set()
    for _ in range(200):
        w = _window(clip, 6, rng)
        assert w.n_frames == 6 and not w.mask.any()
        start = int(round(w.frame_times[0] / 0.5))
        np.testing.assert_array_equal(w.features, clip.features[start:start + 6])
        np.testing.assert_array_equal(w.song_targets, clip.song_targets)
        starts.add(start)
    assert min(starts) == 0 and max(starts) == 14 and len(starts) > 10  # any part of the song
    assert _window(clip, 30, rng) is clip


# --------------------------------------------------------------------------- mixtures


def test_build_mixture_pools_dynamic_and_clip_sources(generic_root, fourq_root):
    dynamic = load_dataset("generic", generic_root)
    fourq = load_dataset("4q", fourq_root)
    parts, record = build_mixture([Source("synth", dynamic), Source("4q", fourq, weight=2.0)], features="loudness",
                                  progress=False)
    assert set(parts) == set(PARTS)
    every = [ex for p in PARTS for ex in parts[p]]
    ids = [ex.song_id for ex in every]
    assert len(ids) == len(set(ids)) == 6 + 12  # every song with audio once; the 4Q clip without mp3 is out
    assert {i for i in ids if i.startswith("synth:")} == {f"synth:g{i}" for i in range(6)}
    assert {i.split(":", 1)[1] for i in ids if i.startswith("4q:")} == {s.song_id for s in fourq if s.has_audio}
    for ex in every:
        if ex.source == "4q":
            assert ex.weight == 2.0 and not ex.mask.any() and ex.has_song_targets
            song = fourq.by_id()[ex.song_id[3:]]
            np.testing.assert_array_equal(ex.song_targets, [song.meta["valence_sign"], song.meta["arousal_sign"]])
        else:
            assert ex.source == "synth" and ex.weight == 1.0 and ex.mask.any() and ex.song_targets is None
    assert parts["train"] and all(len([e for e in parts[p] if e.source == "synth"]) >= 1 for p in PARTS)
    # no artist in two parts
    artist_parts: dict[str, set[str]] = {}
    for part in PARTS:
        for ex in parts[part]:
            if ex.source == "4q":
                artist_parts.setdefault(fourq.by_id()[ex.song_id[3:]].meta["artist"], set()).add(part)
    assert len(artist_parts) == 6 and all(len(p) == 1 for p in artist_parts.values())
    # the record
    synth_rec, fourq_rec = record
    assert synth_rec["name"] == "synth" and synth_rec["dataset"] == "generic" and synth_rec["weight"] == 1.0
    assert fourq_rec["name"] == "4q" and fourq_rec["dataset"] == "4q" and fourq_rec["weight"] == 2.0
    for rec, source in ((synth_rec, "synth"), (fourq_rec, "4q")):
        assert rec["songs"] == {p: sum(ex.source == source for ex in parts[p]) for p in PARTS}
    assert synth_rec["songs"] == {"train": 4, "validation": 1, "test": 1}
    assert sum(fourq_rec["songs"].values()) == 12
    assert synth_rec["labels"].startswith("dynamic") and fourq_rec["labels"].startswith("clip-level signs")
    assert "7 groups (artists) in 5 folds" in fourq_rec["split"] and "no group in two parts" in fourq_rec["split"]
    assert "official split" in synth_rec["split"]
    assert "Panda" in fourq_rec["licence"] and "your own data" in synth_rec["licence"]
    # the pooled parts train a per-frame model
    result = train_model("at", "tiny", parts["train"], parts["validation"], config_overrides={"max_epochs": 1})
    assert np.isfinite(result.history.val_loss).all()


def test_source_split_falls_back_without_enough_groups(fourq_root):
    load = load_dataset("4q", fourq_root)
    few = dataclasses.replace(load, songs=[s for s in load if s.meta["artist"] in {"Artist 0", "Artist 1",
                                                                                    "Artist 2"}])
    split, how = source_split(few, seed=0)
    assert "70/15/15" in how and sorted(i for p in split.values() for i in p) == sorted(s.song_id for s in few)
    grouped, how = source_split(load, seed=1)
    assert "7 groups" in how and sorted(i for p in grouped.values() for i in p) == sorted(s.song_id for s in load)


def test_build_mixture_refuses_bad_sources(fourq_root):
    load = load_dataset("4q", fourq_root)
    with pytest.raises(MemoError, match="at least one source"):
        build_mixture([], features="loudness")
    with pytest.raises(MemoError, match="distinct"):
        build_mixture([Source("a", load), Source("a", load)], features="loudness")
    with pytest.raises(MemoError, match="weight"):
        build_mixture([Source("a", load, weight=-1.0)], features="loudness", progress=False)
    silent = dataclasses.replace(load, songs=[dataclasses.replace(s, audio_path=None) for s in load])
    with pytest.raises(MemoError, match="no source gave a training song"):
        build_mixture([Source("a", silent)], features="loudness", progress=False)


def test_training_on_a_clip_labelled_dataset_alone_goes_through_the_mixture(fourq_root, tmp_path):
    """`train --dataset 4q`: the clips have signs only, so the split is by artist and the loss the sign loss."""
    from memo_core.experiments.pipeline import train_from_dataset
    from memo_core.training.checkpoints import load_checkpoint

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result, metrics = train_from_dataset("at", "tiny", dataset="4q", root=fourq_root, features="loudness",
                                             config_overrides={"max_epochs": 2}, out=tmp_path / "at.pt",
                                             progress=False)
    assert any(k.endswith("/ROC-AUC") for k in metrics) and metrics["n_songs"] >= 1  # a tiny test fold may hold one sign
    info = load_checkpoint(tmp_path / "at.pt").info["train_info"]
    assert info["sources"][0]["dataset"] == "4q" and "folds" in info["sources"][0]["split"]
    assert all(i.startswith("4q:") for part in info["split"].values() for i in part)
