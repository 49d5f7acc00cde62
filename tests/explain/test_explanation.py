"""Post-processing and explanations: the triangle filter by hand, maps with time axes, the files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from memo_core.data.sequences import SequenceExample
from memo_core.errors import MemoError
from memo_core.explain.explanation import (
    explain_song,
    explanation_axes,
    read_explanations_npz,
    write_explanations_npz,
    write_predictions_csv,
)
from memo_core.features import get_extractor
from memo_core.models.registry import list_models
from memo_core.postprocess import triangle_smooth, triangle_window
from memo_core.training.checkpoints import save_checkpoint
from memo_core.training.loop import train_model
from tests._helpers import make_tone


def test_triangle_filter_by_hand():
    # length 3: weights 1/4, 2/4, 1/4; at the ends only the part inside the song, renormalised.
    out = triangle_smooth(np.array([0.0, 4.0, 8.0, 0.0]), length=3)
    np.testing.assert_allclose(out, [4 / 3, 4.0, 5.0, 8 / 3])
    w = triangle_window(25)
    assert w.shape == (25,) and w[12] == pytest.approx(13 / 169) and w[0] == pytest.approx(1 / 169)


def test_triangle_filter_keeps_constants_and_shape_and_smooths():
    y = np.full((30, 2), 0.3, dtype=np.float32)
    out = triangle_smooth(y)
    assert out.shape == y.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, 0.3, rtol=1e-6)
    noise = np.random.default_rng(0).standard_normal((200, 1))
    assert triangle_smooth(noise).std() < 0.4 * noise.std()
    np.testing.assert_array_equal(triangle_smooth(noise, length=1), noise)
    with pytest.raises(MemoError, match="odd"):
        triangle_smooth(noise, length=4)
    with pytest.raises(MemoError):
        triangle_smooth(np.zeros((0, 2)))


def test_axes_of_the_stable_maps():
    targets = ("valence", "arousal")
    ax = explanation_axes("window_attention/5", (10, 5), n_frames=10, targets=targets)
    np.testing.assert_allclose(ax["lag_s"], [-2.0, -1.5, -1.0, -0.5, 0.0])
    np.testing.assert_allclose(ax["time_s"], np.arange(10) * 0.5)
    assert list(explanation_axes("temporal_attention", (10, 10), n_frames=10, targets=targets)) == [
        "query_time_s", "key_time_s"]
    ax = explanation_axes("scale_predictions", (10, 3, 2), n_frames=10, targets=targets)
    assert ax["target"].tolist() == ["valence", "arousal"]
    assert list(explanation_axes("layer_attention", (2, 4, 10, 10), n_frames=10, targets=targets)) == [
        "layer", "head", "query_time_s", "key_time_s"]
    assert list(explanation_axes("something_new", (10, 7), n_frames=10, targets=targets)) == ["time_s", "axis1"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny model on the ``chroma`` features (trained on random frames: only the plumbing matters)."""
    name = "mca" if "mca" in list_models() else "mlr"
    rng = np.random.default_rng(0)
    examples = [SequenceExample(str(i), rng.standard_normal((30, 24)).astype(np.float32),
                                rng.uniform(-1, 1, (30, 2)).astype(np.float32), np.ones(30, bool),
                                np.arange(30) * 0.5) for i in range(4)]
    result = train_model(name, "tiny", examples[:3], examples[3:], config_overrides={"max_epochs": 1})
    path = tmp_path_factory.mktemp("explain") / "model.pt"
    return save_checkpoint(path, result.model, feature_spec=get_extractor("chroma").spec(),
                           normalizer=result.normalizer, targets=result.targets)


def test_explain_song_and_files(checkpoint, tmp_path):
    wav = tmp_path / "tone.wav"
    sf.write(wav, make_tone(6.2, 22_050), 22_050)
    song = explain_song(checkpoint, wav)
    assert list(song.predictions.columns) == ["time_s", "valence", "arousal"]
    assert len(song.predictions) == 13  # ceil(6.2 / 0.5)
    np.testing.assert_allclose(song.predictions["time_s"].to_numpy()[:3], [0.0, 0.5, 1.0])
    for name, entry in song.explanations.items():
        assert len(entry["axes"]) == entry["values"].ndim, name
        for axis, (size, values) in zip(entry["axes"], zip(entry["values"].shape, entry["axes"].values())):
            assert len(values) == size, (name, axis)
    smooth = explain_song(checkpoint, wav, smooth=True)
    assert smooth.smoothed and not np.allclose(smooth.predictions["valence"], song.predictions["valence"])

    csv = write_predictions_csv(song, tmp_path / "out" / "tone.csv")
    back = pd.read_csv(csv)  # a plain read_csv: no comment line, the columns by name as before
    np.testing.assert_allclose(back["arousal"], song.predictions["arousal"], rtol=1e-5, atol=1e-6)
    # time_s is each frame's start, frame_end_s its end (where an annotation of that frame sits)
    assert list(back.columns) == ["time_s", "valence", "arousal", "frame_end_s"]
    np.testing.assert_allclose(back["time_s"], song.predictions["time_s"])
    np.testing.assert_allclose(back["frame_end_s"], song.predictions["time_s"] + 0.5)
    assert list(song.predictions.columns) == ["time_s", "valence", "arousal"]  # the in-memory table is unchanged
    npz = write_explanations_npz(song, tmp_path / "out" / "tone.explanations.npz")
    maps = read_explanations_npz(npz)
    assert set(maps) == set(song.explanations)
    for name in maps:
        np.testing.assert_array_equal(maps[name]["values"], song.explanations[name]["values"])
        assert list(maps[name]["axes"]) == list(song.explanations[name]["axes"])
    with np.load(npz) as data:
        np.testing.assert_allclose(data["time_s"], song.predictions["time_s"])
        assert data["prediction"].shape == (13, 2)


def test_explain_refuses_bad_audio(checkpoint, tmp_path):
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"not audio" * 20)
    with pytest.raises(MemoError):
        explain_song(checkpoint, bad)
