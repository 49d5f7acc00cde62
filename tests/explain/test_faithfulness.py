"""Deletion tests of the explanation maps: models whose attention is known, hand-computed shifts, the scale drops
checked against the fusion's algebra, every real family once, and the summary over songs."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from memo_core.data.sequences import Normalizer
from memo_core.errors import MemoError
from memo_core.explain.faithfulness import (
    NO_BETTER,
    cell_block,
    faithfulness,
    map_notes,
    scale_table,
    song_faithfulness,
    summarise,
    window_received,
)
from memo_core.models.outputs import ModelOutput
from memo_core.models.registry import get_model
from memo_core.training.checkpoints import LoadedCheckpoint


def wrap(model: nn.Module, n_features: int, name: str = "toy") -> LoadedCheckpoint:
    """A model as a checkpoint with an identity normaliser (so the raw features are what the model sees)."""
    normalizer = Normalizer(mean=np.zeros(n_features, np.float32), std=np.ones(n_features, np.float32))
    return LoadedCheckpoint(model=model.eval(), feature_spec={}, normalizer=normalizer,
                            targets=("valence", "arousal"), info={"model_name": name})


# --------------------------------------------------------------------------- models whose attention is known


class Pointer(nn.Module):
    """Every frame predicts feature 1 of the frame with the largest feature 0 (a sharp softmax picks it).

    ``honest``: the map shows that softmax; otherwise it shows the OPPOSITE frames (a softmax of
    ``-feature 0``), which the prediction does not depend on.
    """

    task = "regression"

    def __init__(self, honest: bool):
        super().__init__()
        self.honest = honest

    def forward(self, x, lengths=None):
        batch, n, _ = x.shape
        attention = torch.softmax(8.0 * x[..., 0], dim=1)
        answer = (attention * x[..., 1]).sum(dim=1)
        shown = attention if self.honest else torch.softmax(-8.0 * x[..., 0], dim=1)
        return ModelOutput(prediction=answer[:, None, None].expand(batch, n, 2).clone(),
                           explanations={"temporal_attention": shown[:, None, :].expand(batch, n, n).clone()})


def pointer_song(n: int = 60, answer_frame: int = 17) -> np.ndarray:
    rng = np.random.default_rng(3)
    x = np.column_stack([0.3 * rng.standard_normal(n), rng.standard_normal(n), rng.standard_normal(n)])
    x[answer_frame, :2] = (4.0, 3.0)  # the one frame that carries the answer
    return x


def test_a_map_that_points_at_the_answer_is_far_better_than_random():
    result = faithfulness(wrap(Pointer(honest=True), 3), pointer_song(), k=10, n_random=20, seed=0)
    test = result["maps"]["temporal_attention"]
    assert result["main"] == "temporal_attention" and result["sentence"] == test["sentence"]
    assert 17 in test["deleted"] and len(test["deleted"]) == 10
    assert test["ratio"] > 3 and test["better_than_random"]
    assert test["attended_shift"] > test["random_shift"] + test["random_shift_std"]
    assert test["sentence"] == (f"deleting the 10 most attended frames moves the prediction {test['ratio']:.0f}x "
                                "as much as 10 random frames")
    assert NO_BETTER not in test["sentence"]
    # the song mean moves by the same amount: every frame predicts the same value
    assert test["attended_mean_shift"] == pytest.approx(test["attended_shift"])


def test_a_map_that_points_at_irrelevant_frames_is_no_better_than_random():
    result = faithfulness(wrap(Pointer(honest=False), 3), pointer_song(), k=10, n_random=20, seed=0)
    test = result["maps"]["temporal_attention"]
    assert 17 not in test["deleted"]
    assert test["ratio"] < 1 and not test["better_than_random"]
    assert test["sentence"].startswith("deleting the 10 most attended frames moves the prediction no more than "
                                       "10 random frames")
    assert NO_BETTER in test["sentence"] and "does not show" not in test["sentence"]


def test_seeded_and_json():
    checkpoint, song = wrap(Pointer(honest=True), 3), pointer_song()
    a, b = faithfulness(checkpoint, song, seed=5), faithfulness(checkpoint, song, seed=5)
    assert a == b and json.loads(json.dumps(a)) == a
    assert faithfulness(checkpoint, song, seed=6)["maps"]["temporal_attention"]["random_shift"] != \
        a["maps"]["temporal_attention"]["random_shift"]
    with pytest.raises(MemoError):
        faithfulness(checkpoint, np.zeros(5))


class FramewiseIdentity(nn.Module):
    """Frame t predicts its own first two features; the map attends to frames 3 and 5 only."""

    task = "regression"

    def forward(self, x, lengths=None):
        batch, n, _ = x.shape
        weights = torch.zeros(batch, n, n)
        weights[..., 3], weights[..., 5] = 0.75, 0.25
        return ModelOutput(prediction=x[..., :2].clone(), explanations={"temporal_attention": weights})


def test_shifts_by_hand():
    x = np.random.default_rng(0).standard_normal((12, 2))
    test = faithfulness(wrap(FramewiseIdentity(), 2), x, k=2, n_random=5)["maps"]["temporal_attention"]
    assert test["deleted"] == [3, 5] and test["k"] == 2 and test["n_random"] == 5
    changed = np.abs(x[[3, 5]] - x.mean(axis=0))
    assert test["attended_shift"] == pytest.approx(changed.sum() / x.size)  # mean over all frames and targets
    new = x.copy()
    new[[3, 5]] = x.mean(axis=0)
    assert test["attended_mean_shift"] == pytest.approx(np.abs(new.mean(0) - x.mean(0)).mean())
    # k is at most half the song
    assert faithfulness(wrap(FramewiseIdentity(), 2), x, k=50)["maps"]["temporal_attention"]["k"] == 6


def test_window_attention_laid_on_the_song():
    # row t weighs frames t-1 (column 0) and t (column 1); frame 0 has no history
    values = np.array([[0.0, 1.0], [0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    # the [query, key] map: rows [1,0,0,0], [.2,.8,0,0], [0,.6,.4,0], [0,0,.5,.5]; column means
    np.testing.assert_allclose(window_received(values), [1.2 / 4, 1.4 / 4, 0.9 / 4, 0.5 / 4])


# --------------------------------------------------------------------------- spectral cells


def test_cells_map_back_through_the_pooling():
    frames, bands = cell_block((1, 2), (16, 6), n_mels=128, frames_per_step=50)
    assert (frames, bands) == (slice(16, 24), slice(8, 16))
    with pytest.raises(MemoError):
        cell_block((0, 0), (16, 60), n_mels=128, frames_per_step=50)


class CellReader(nn.Module):
    """Steps of 4 spectrogram frames x 8 mel bands (time-major rows); every step predicts the mean log-mel of
    step 3's cell (row 1, column 0) of a 2 x 2 grid: frames 0-1, bands 4-7. The map peaks at ``peak``."""

    task = "regression"

    def __init__(self, peak: tuple[int, int, int]):
        super().__init__()
        self.config = SimpleNamespace(n_mels=8, frames_per_step=4)
        self.peak = peak

    def forward(self, x, lengths=None):
        batch, n, _ = x.shape
        blocks = x.view(batch, n, 4, 8)
        answer = blocks[:, 3, 0:2, 4:8].mean(dim=(1, 2))
        spatial = 0.01 * torch.arange(n * 4, dtype=torch.float32).view(1, n, 2, 2).expand(batch, n, 2, 2).clone()
        spatial[:, self.peak[0], self.peak[1], self.peak[2]] = 10.0
        return ModelOutput(prediction=answer[:, None, None].expand(batch, n, 2).clone(),
                           explanations={"spatial_attention": spatial})


def test_occluding_the_attended_cells():
    song = np.random.default_rng(1).standard_normal((20, 32))
    honest = faithfulness(wrap(CellReader((3, 1, 0)), 32), song, k=5, n_random=20)["maps"]["spatial_attention"]
    assert honest["unit"] == "cell" and honest["n_units"] == 80 and [3, 1, 0] in honest["deleted_cells"]
    assert honest["better_than_random"] and (honest["ratio"] is None or honest["ratio"] > 3)
    assert "deleting the 5 most attended log-mel cells moves the prediction" in honest["sentence"]
    assert "4 mel bands x 2 spectrogram frames" in honest["method"]
    # the shift is exactly the occluded cell's change: the song's mean log-mel of bands 4-7 replaces it
    blocks = song.reshape(20, 4, 8)
    expected = abs(blocks.mean(axis=(0, 1))[4:8].mean() - blocks[3, 0:2, 4:8].mean())
    assert honest["attended_shift"] == pytest.approx(expected, rel=1e-5)
    misled = faithfulness(wrap(CellReader((9, 0, 1)), 32), song, k=5, n_random=20)["maps"]["spatial_attention"]
    assert [3, 1, 0] not in misled["deleted_cells"] and misled["attended_shift"] == 0
    assert not misled["better_than_random"] and NO_BETTER in misled["sentence"]


# --------------------------------------------------------------------------- scales, against the fusion's algebra


def tiny(name: str, preset: str, n_features: int = 12, seed: int = 0):
    torch.manual_seed(seed)
    return get_model(name, preset, n_features=n_features, n_targets=2).eval()


@pytest.mark.parametrize("preset", ["tiny", "uniform_tiny"])
def test_mca_drops_a_scale_by_renormalising_the_others(preset):
    model = tiny("mca", preset)
    x = np.random.default_rng(0).standard_normal((25, 12)).astype(np.float32)
    result = faithfulness(wrap(model, 12, "mca"), x)
    assert result["main"] == "scale_weights"
    assert set(result["maps"]) == {"scale_weights", "window_attention/5", "window_attention/10",
                                   "window_attention/20"}
    test = result["maps"]["scale_weights"]
    # the output layer is linear: the fused pre-tanh output is sum_j beta_j * (scale j's pre-tanh output)
    with torch.inference_mode():
        out = model(torch.from_numpy(x)[None])
    beta = out.explanations["scale_weights"][0].double().numpy()
    pre = np.arctanh(out.explanations["scale_predictions"][0].double().numpy())  # (n, scales, targets)
    base = out.prediction[0].double().numpy()
    for i, row in enumerate(test["scales"]):
        kept = beta.copy()
        kept[:, i] = 0
        kept /= kept.sum(axis=1, keepdims=True)
        expected = np.tanh((kept[..., None] * pre).sum(axis=1))
        assert row["shift"] == pytest.approx(np.abs(expected - base).mean(), rel=1e-3, abs=1e-6)
        assert row["weight"] == pytest.approx(beta[:, i].mean(), abs=1e-6)
    assert [r["scale"] for r in test["scales"]] == [5, 10, 20]
    assert test["most_moving"] == test["scales"][int(np.argmax([r["shift"] for r in test["scales"]]))]["scale"]
    if preset == "uniform_tiny":
        assert test["uniform"] and test["ratio"] is None and test["agrees"] is None
        assert "uniform (0.33 each) and rank no scale" in test["sentence"]
    else:
        assert not test["uniform"] and test["top_weighted"] in (5, 10, 20)
        assert test["sentence"].startswith("dropping the highest-weighted scale") == bool(test["agrees"])
        assert ("is not the one that moves the prediction most" in test["sentence"]) != bool(test["agrees"])
    assert not model.scale_softmax._forward_hooks  # the hook is gone
    assert [r["scale"] for r in scale_table(test)] == ["5 frames (2.5 s)", "10 frames (5 s)", "20 frames (10 s)"]


@pytest.mark.parametrize("fitted", [False, True])
def test_dblstm_elm_drops_a_scale_by_flattening_its_predictions(fitted):
    model = tiny("dblstm_elm", "tiny", seed=1)
    if fitted:  # an ELM readout, so the fusion is not the plain average
        model.elm_output_weight.normal_(0, 0.5, generator=torch.Generator().manual_seed(0))
        model.elm_fitted.fill_(True)
    x = np.random.default_rng(0).standard_normal((70, 12)).astype(np.float32)
    result = faithfulness(wrap(model, 12, "dblstm_elm"), x)
    assert set(result["maps"]) == {"scale_shares"}
    test = result["maps"]["scale_shares"]
    assert "_scale_output" not in vars(model)  # the wrapper is gone
    with torch.inference_mode():
        out = model(torch.from_numpy(x)[None])
    scales = out.explanations["scale_predictions"]
    shares = out.explanations["scale_shares"][0].abs().mean(dim=(0, 2)).double().numpy()
    lengths = torch.tensor([len(x)])
    for i, row in enumerate(test["scales"]):
        flat = scales.clone()
        flat[:, :, i] = flat[:, :, i].mean(dim=1, keepdim=True)
        with torch.inference_mode():
            expected = model._elm(model.supervector(flat, lengths)) if fitted else flat.mean(dim=2)
        assert row["shift"] == pytest.approx((expected - out.prediction).abs().mean().item(), rel=1e-3, abs=1e-7)
        assert row["weight"] == pytest.approx(shares[i] / shares.sum(), abs=1e-6)
    assert [r["scale"] for r in test["scales"]] == [10, 20, 30, 60]
    assert test["weight_name"] == "Shapley share" and "largest Shapley share" in test["sentence"]


# --------------------------------------------------------------------------- every real family, untrained


FAMILIES = [("at", "tiny", 12, "temporal_attention"), ("bat", "tiny", 12, "temporal_attention"),
            ("transformer", "tiny", 12, "layer_attention"), ("mca", "tiny", 12, "scale_weights"),
            ("dblstm_elm", "tiny", 12, "scale_shares"), ("ma_alstm", "tiny", 12, "window_attention/5"),
            ("damff", "tiny", 6400, "spatial_attention")]


@pytest.mark.parametrize("name, preset, n_features, main", FAMILIES, ids=[f[0] for f in FAMILIES])
def test_every_family_with_maps(name, preset, n_features, main):
    checkpoint = wrap(tiny(name, preset, n_features), n_features, name)
    rng = np.random.default_rng(0)
    n_frames = 12 if name == "damff" else 30
    songs = [rng.standard_normal((n_frames, n_features)) for _ in range(2)]
    results = [faithfulness(checkpoint, s, k=4, n_random=5) for s in songs]
    for result in results:
        assert result["main"] == main and result["model"] == name and result["n_frames"] == n_frames
        test = result["maps"][main]
        assert test["sentence"] and isinstance(test["better_than_random"], bool)
        if test["kind"] == "deletion":
            assert test["k"] == 4 and test["n_random"] == 5 and test["attended_shift"] >= 0
            assert test["sentence"].endswith(NO_BETTER) != test["better_than_random"]
            assert ("within the spread of the random draws" in test["sentence"]) == (
                not test["better_than_random"] and test["ratio"] > 1)
        json.dumps(result)
    if name == "transformer":
        assert "2 layer(s) and 2 head(s)" in results[0]["maps"][main]["method"]
    summary = summarise(results)
    assert summary["n_songs"] == 2 and summary["main"] == main and summary["maps"][main]["n_songs"] == 2
    json.dumps(summary)


@pytest.mark.parametrize("name", ["chaki_lstm", "mlr"])
def test_models_without_a_map_give_none(name):
    checkpoint = wrap(tiny(name, "tiny"), 12, name)
    assert faithfulness(checkpoint, np.random.default_rng(0).standard_normal((20, 12))) is None


def test_song_faithfulness_extracts_the_checkpoints_features():
    from memo_core.experiments.bench_features import bench_audio
    from memo_core.features import get_extractor

    extractor = get_extractor("chroma")
    model = tiny("at", "tiny", extractor.n_features)
    checkpoint = LoadedCheckpoint(model, extractor.spec(), Normalizer(np.zeros(extractor.n_features, np.float32),
                                                                      np.ones(extractor.n_features, np.float32)),
                                  ("valence", "arousal"), {"model_name": "at"})
    result = song_faithfulness(checkpoint, bench_audio(duration_s=6.0), k=3, n_random=4)
    assert result["n_frames"] == 12 and result["maps"]["temporal_attention"]["k"] == 3
    assert torch.get_num_threads() >= 1


# --------------------------------------------------------------------------- over songs, and for display


def deletion_result(ratio: float, better: bool) -> dict:
    test = {"kind": "deletion", "map": "temporal_attention", "method": "m", "unit": "frame", "k": 10,
            "subject": "the 10 most attended frames", "baseline": "10 random frames", "attended_shift": ratio,
            "random_shift": 1.0, "ratio": ratio, "better_than_random": better, "sentence": "s"}
    return {"main": "temporal_attention", "maps": {"temporal_attention": test}}


def test_summary_with_a_bootstrap_interval():
    summary = summarise([deletion_result(r, True) for r in (2.0, 3.0, 4.0)] + [None])
    assert summary["n_songs"] == 3 and summary["main"] == "temporal_attention"
    assert summary["ratio"] == pytest.approx(3.0)
    assert 2.0 <= summary["ratio_low"] < 3.0 < summary["ratio_high"] <= 4.0
    assert summary["better_than_random"]
    assert summary["sentence"].startswith("over 3 clips, deleting the 10 most attended frames moves the prediction "
                                          "3.0x as much as 10 random frames on average, 90 % interval ")
    assert summary == summarise([deletion_result(r, True) for r in (2.0, 3.0, 4.0)])  # seeded
    flat = summarise([deletion_result(r, False) for r in (0.7, 1.1, 0.9, 0.9)])
    assert flat["ratio_low"] < 1 and not flat["better_than_random"]
    assert NO_BETTER in flat["sentence"] and "no more than 10 random frames (0.9x on average" in flat["sentence"]
    unsure = summarise([deletion_result(r, False) for r in (0.7, 1.9, 1.0)])  # above 1 on average, not reliably
    assert unsure["ratio"] > 1 and unsure["ratio_low"] < 1 and not unsure["better_than_random"]
    assert "1.2x as much as 10 random frames on average, but the 90 % interval (" in unsure["sentence"]
    assert unsure["sentence"].endswith(f"reaches 1x: {NO_BETTER}")
    assert summarise([]) == {"n_songs": 0, "main": None, "map": None, "ratio": None, "ratio_low": None,
                             "ratio_high": None, "better_than_random": False, "sentence": "", "maps": {}}
    json.dumps(flat)


def test_summary_of_scale_tests():
    model = tiny("dblstm_elm", "tiny", seed=1)
    rng = np.random.default_rng(0)
    results = [faithfulness(wrap(model, 12, "dblstm_elm"), rng.standard_normal((40, 12))) for _ in range(3)]
    summary = summarise(results)["maps"]["scale_shares"]
    agree = sum(r["maps"]["scale_shares"]["agrees"] for r in results)
    assert summary["n_agree"] == agree and summary["n_ranked"] == 3
    assert f"on {agree} of 3 clips" in summary["sentence"]
    assert [s["scale"] for s in summary["scales"]] == [10, 20, 30, 60]
    assert summary["scales"][0]["shift"] == pytest.approx(np.mean([r["maps"]["scale_shares"]["scales"][0]["shift"]
                                                                   for r in results]))


def test_notes_for_a_page():
    song = faithfulness(wrap(Pointer(honest=False), 3), pointer_song())
    validation = summarise([deletion_result(r, True) for r in (2.0, 3.0, 4.0)])
    notes = map_notes(song, validation, "temporal_attention")
    assert [level for level, _ in notes] == ["warning", "ok"]
    assert notes[0][1].startswith("**Does this map matter? On this song:** deleting") and NO_BETTER in notes[0][1]
    assert notes[1][1].startswith("**On the real validation clips:** Over 3 clips, deleting")
    assert map_notes(None, {"maps": "garbage"}, "temporal_attention") == []
    assert map_notes(song, None, "layer_attention") == []
    assert map_notes({"error": "boom"}, None, "x")[0] == ("info", "The deletion test of this map could not run on "
                                                                  "this song: boom")
