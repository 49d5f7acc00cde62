"""The closed-form baselines every explained model is held against: ``loudness`` and ``songlin``.

Both are trained through :func:`memo_core.training.loop.train_model` (no gradient epoch: the closed-form hook
fits them), on frame labels and on clip-level sign labels.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from memo_core.data.batching import collate
from memo_core.data.sequences import SequenceExample
from memo_core.models.registry import get_model
from memo_core.training.loop import train_model
from memo_core.training.scoring import evaluate_clips, predict_examples

N = 12  # frames per song


def _frames(levels: np.ndarray, *, seed: int, slope=(-0.02, 0.04), intercept=(-0.3, 1.0)) -> list[SequenceExample]:
    """Songs whose level (feature 1, dB) drifts around ``levels[i]``; valence/arousal linear in it per frame."""
    rng = np.random.default_rng(seed)
    out = []
    for i, level in enumerate(levels):
        x = np.stack([rng.standard_normal(N), level + 3 * rng.standard_normal(N)], 1).astype(np.float32)
        y = (np.asarray(slope) * x[:, 1:2] + np.asarray(intercept)).astype(np.float32)
        out.append(SequenceExample(f"s{seed}-{i}", x, y, np.ones(N, bool), np.arange(N) * 0.5))
    return out


def _clips(n: int, *, seed: int, n_features: int = 2, column: int = 1, gap: float = 1.0) -> list[SequenceExample]:
    """Clip-labelled songs: loud ones (column mean +gap) have arousal +1 and valence -1, quiet ones the reverse."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        sign = 1.0 if i % 2 == 0 else -1.0
        x = rng.standard_normal((N, n_features)).astype(np.float32)
        x[:, column] += sign * gap
        out.append(SequenceExample(f"c{seed}-{i}", x, np.zeros((N, 2), np.float32), np.zeros(N, bool),
                                   np.arange(N) * 0.5, song_targets=np.array([-sign, sign], np.float32)))
    return out


# --------------------------------------------------------------------------- loudness


def test_loudness_model_reads_one_column():
    model = get_model("loudness", "tiny", n_features=5, n_targets=2, column=3)
    with torch.no_grad():
        model.linear.weight.fill_(2.0)
        model.linear.bias.fill_(0.5)
        x = torch.randn(2, 7, 5)
        other = x.clone()
        other[..., [0, 1, 2, 4]] = torch.randn(2, 7, 4)
        out = model(x).prediction
        np.testing.assert_allclose(out.numpy(), model(other).prediction.numpy())
        np.testing.assert_allclose(out[..., 0].numpy(), (2.0 * x[..., 3] + 0.5).numpy(), rtol=1e-6)
    assert model.n_parameters() == 4  # one slope and one intercept per target
    with pytest.raises(ValueError, match="column 2"):
        get_model("loudness", "tiny", n_features=2, n_targets=2, column=2)


def test_loudness_recovers_a_known_slope_from_frames():
    rng = np.random.default_rng(0)
    train = _frames(rng.uniform(-35, -10, 10), seed=1)
    result = train_model("loudness", "tiny", train, _frames([-20.0], seed=2))
    assert result.history.epochs_run == 0  # closed form only
    test = _frames(np.array([-30.0, -12.0]), seed=3)
    for ex, pred in zip(test, predict_examples(result.model, test, result.normalizer), strict=True):
        np.testing.assert_allclose(pred, ex.targets, atol=1e-4)
    # in standardised units the slope is the raw slope times the training std of the level
    std = result.normalizer.std[1]
    np.testing.assert_allclose(result.model.linear.weight[:, 0].detach().numpy(), np.array([-0.02, 0.04]) * std,
                               rtol=1e-3)


def test_loudness_with_clip_labels_only_takes_the_labels_sign():
    train, val, test = _clips(16, seed=1), _clips(4, seed=2), _clips(10, seed=3)
    result = train_model("loudness", "tiny", train, val)
    w = result.model.linear.weight[:, 0].detach().numpy()
    assert w[1] > 0 and w[0] < 0  # arousal rises with the level, valence falls (as the labels say)
    scores = evaluate_clips(result.model, test, result.normalizer)
    assert scores["arousal/ROC-AUC"] == 1.0 and scores["valence/ROC-AUC"] == 1.0
    # a least-squares classifier to +/- clip_target: loud songs near +0.3 arousal, quiet near -0.3
    means = np.stack([p.mean(0) for p in predict_examples(result.model, train, result.normalizer)])
    signs = np.stack([ex.song_targets for ex in train])
    assert abs(np.mean(means[:, 1] * signs[:, 1]) - 0.3) < 0.1
    # reversed labels give the reversed slopes
    flipped = [ex.__class__(**{**ex.__dict__, "song_targets": -ex.song_targets}) for ex in train]
    w2 = train_model("loudness", "tiny", flipped, val).model.linear.weight[:, 0].detach().numpy()
    np.testing.assert_allclose(w2, -w, rtol=1e-4)


def test_loudness_prefers_frame_labels_over_clip_labels():
    rng = np.random.default_rng(4)
    frames = _frames(rng.uniform(-35, -10, 6), seed=5)
    alone = train_model("loudness", "tiny", frames, [])
    # clip songs whose labels contradict the frames: the frames decide, the clips only shift the statistics
    contradicting = [ex.__class__(**{**ex.__dict__, "song_targets": -ex.song_targets}) for ex in _clips(6, seed=6)]
    for ex in contradicting:
        ex.features[:, 1] = ex.features[:, 1] * 3 - 20
    mixed = train_model("loudness", "tiny", frames + contradicting, [])
    test = _frames(np.array([-25.0]), seed=7)
    np.testing.assert_allclose(predict_examples(mixed.model, test, mixed.normalizer)[0],
                               predict_examples(alone.model, test, alone.normalizer)[0], atol=1e-4)


# --------------------------------------------------------------------------- songlin


def test_song_statistics_are_mean_and_std_over_each_songs_own_frames():
    model = get_model("songlin", "tiny", n_features=3, n_targets=2)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((9, 3)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32)
    batch = collate([SequenceExample("a", a, np.zeros((9, 2), np.float32), np.ones(9, bool), np.arange(9) * 0.5),
                     SequenceExample("b", b, np.zeros((4, 2), np.float32), np.ones(4, bool), np.arange(4) * 0.5)])
    stats = model.song_statistics(batch.x, batch.lengths).numpy()
    np.testing.assert_allclose(stats[0], np.r_[a.mean(0), a.std(0)], atol=1e-5)
    np.testing.assert_allclose(stats[1], np.r_[b.mean(0), b.std(0)], atol=1e-5)  # padding not counted


def test_songlin_separates_clip_labelled_songs_by_a_feature_mean():
    # feature 2's song mean carries the labels (frame by frame, noise of std 1 around +/-1)
    train, val, test = (_clips(n, seed=s, n_features=4, column=2) for n, s in ((40, 1), (10, 2), (20, 3)))
    result = train_model("songlin", "tiny", train, val)
    scores = evaluate_clips(result.model, test, result.normalizer)
    assert scores["arousal/ROC-AUC"] == 1.0 and scores["valence/ROC-AUC"] == 1.0
    assert scores["n_songs"] == 20
    preds = predict_examples(result.model, test, result.normalizer)
    for p in preds:
        np.testing.assert_allclose(p, np.broadcast_to(p[0], p.shape), atol=1e-6)  # one value per song
    # a song's prediction does not depend on the songs it is batched with
    short = SequenceExample("short", test[0].features[:5], test[0].targets[:5], test[0].mask[:5],
                            test[0].frame_times[:5], song_targets=test[0].song_targets)
    alone = predict_examples(result.model, [short], result.normalizer)[0]
    batched = predict_examples(result.model, [test[1], short], result.normalizer)[1]
    np.testing.assert_allclose(alone, batched, atol=1e-6)


def _song_mean_songs(n: int, *, seed: int, zero: bool = False) -> list[SequenceExample]:
    """Frame-labelled songs whose mean arousal is 0.5 x (feature 0's mean), valence -0.5 x it (0 with ``zero``)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        m = rng.uniform(-1, 1)
        x = rng.standard_normal((N, 3)).astype(np.float32) * 0.05
        x[:, 0] += m
        y = np.zeros((N, 2), np.float32) if zero else np.tile([-0.5 * m, 0.5 * m], (N, 1)).astype(np.float32)
        out.append(SequenceExample(f"m{seed}-{i}", x, y, np.ones(N, bool), np.arange(N) * 0.5))
    return out


def _weights(train, val, ridges) -> np.ndarray:
    result = train_model("songlin", "tiny", train, val, model_overrides={"ridges": ridges})
    return result.model.linear.weight.detach().numpy().copy()


def test_songlin_chooses_its_ridge_on_the_validation_songs():
    train = _song_mean_songs(30, seed=1)
    faithful, flat = _song_mean_songs(10, seed=2), _song_mean_songs(10, seed=3, zero=True)
    small, large = _weights(train, faithful, (1e-4,)), _weights(train, faithful, (100.0,))
    assert np.abs(small).max() > 5 * np.abs(large).max()  # the penalties really differ
    # validation songs that follow the training relation pick the small penalty, in any order
    np.testing.assert_allclose(_weights(train, faithful, (100.0, 1e-4)), small, rtol=1e-5)
    np.testing.assert_allclose(_weights(train, faithful, (1e-4, 100.0)), small, rtol=1e-5)
    # validation songs with no relation at all pick the large one
    np.testing.assert_allclose(_weights(train, flat, (1e-4, 100.0)), large, rtol=1e-5)
    # no validation song: the first penalty
    np.testing.assert_allclose(_weights(train, [], (100.0, 1e-4)), large, rtol=1e-5)


def test_songlin_fits_song_means_of_frame_labels():
    train = _song_mean_songs(40, seed=4)
    result = train_model("songlin", "tiny", train, [], model_overrides={"ridges": (1e-6,)})
    test = _song_mean_songs(5, seed=5)
    for ex, pred in zip(test, predict_examples(result.model, test, result.normalizer), strict=True):
        np.testing.assert_allclose(pred[0], ex.targets[0], atol=0.02)
    with pytest.raises(ValueError, match="ridges must be positive"):
        get_model("songlin", "tiny", n_features=3, n_targets=2, ridges=(0.0,))
