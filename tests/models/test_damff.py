"""Paper invariants of Zhang et al. 2023 (DAMFF) in memo_core/models/damff.py."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
import torch

from memo_core.data.batching import Batch
from memo_core.errors import MemoError
from memo_core.models.damff import (
    DAMFF,
    FUSION_MAPS,
    DualAttentionFusion,
    sliding_windows,
)
from memo_core.models.outputs import ModelOutput
from memo_core.models.registry import get_model, list_presets

N_FEATURES = 6400
H, W_HALF = 16, 6  # map rows (128 mel bands / 8) and columns per layer-1 branch (50 frames / 8)
VARIANTS = ["", "_tf", "_square", "_ts", "_fs", "_wo_fusion", "_wo_channel", "_wo_spatial", "_wo_daff"]


def _model(preset: str = "tiny", seed: int = 0, **overrides) -> DAMFF:
    torch.manual_seed(seed)
    return get_model("damff", preset, **overrides).eval()


def _x(batch: int, n_steps: int, seed: int = 1, n_features: int = N_FEATURES) -> torch.Tensor:
    return torch.randn(batch, n_steps, n_features, generator=torch.Generator().manual_seed(seed))


def _small(**overrides) -> DAMFF:
    """Tiny DAMFF on 32-band x 16-frame blocks: windowing tests need many steps, not big ones."""
    return _model(n_mels=32, frames_per_step=16, n_features=512, **overrides)


def _windowed(**overrides) -> DAMFF:
    """Tiny DAMFF with short windows (8 s = 16 steps, hop 2 s = 4 steps) and trained-looking BN statistics."""
    model = _model(window_seconds=8.0, hop_seconds=2.0, **overrides)
    with torch.no_grad():  # non-trivial running statistics, so eval mode is not an identity BN
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
    return model


def test_presets_are_the_papers_architectures_and_ablations():
    expected = {f"{size}{v}" for size in ("paper", "tiny") for v in VARIANTS}
    assert set(list_presets("damff")) == expected
    model = get_model("damff")
    assert isinstance(model, DAMFF) and model.config.channels == (8, 8, 16)  # default preset: tiny
    assert model.train_defaults()["segment_frames"] == 60  # 30 s training windows
    assert model.train_defaults()["lr"] == 3e-4 and model.train_defaults()["batch_size"] == 32
    paper = get_model("damff", "paper")
    assert paper.map_channels == 64  # "We convert a single channel into 64 channels"
    assert (paper.map_height, paper.map_width) == (H, 2 * W_HALF)


@pytest.mark.parametrize("variant", VARIANTS)
def test_tiny_shapes_and_maps_in_unit_interval(variant):
    model = _model(f"tiny{variant}")
    lengths = torch.tensor([7, 5])
    with torch.no_grad():
        out = model(_x(2, 7), lengths)
    assert isinstance(out, ModelOutput)
    assert out.prediction.shape == (2, 7, 2) and torch.isfinite(out.prediction).all()
    assert set(out.explanations) == set(FUSION_MAPS[model.config.fusion])  # what the model declares
    shapes = {"spatial_attention": (2, 7, H, W_HALF), "fusion_gate": (2, 7, H, W_HALF), "channel_attention": (2, 7, 16)}
    for name, value in out.explanations.items():
        assert value.shape == shapes[name], name
        assert (value >= 0).all() and (value <= 1).all(), name
        assert (value[0] > 0).all() and (value[1, :5] > 0).all(), name  # sigmoid outputs are never exactly 0
        assert (value[1, 5:] == 0).all(), name  # padded steps
    assert (out.prediction[1, 5:] == 0).all()


@pytest.mark.parametrize("variant", VARIANTS)
def test_paper_presets_build_bigger_and_run(variant):
    paper, tiny = _model(f"paper{variant}"), _model(f"tiny{variant}")
    assert paper.n_parameters() > 10 * tiny.n_parameters()
    with torch.no_grad():
        out = paper(_x(1, 2))
    assert out.prediction.shape == (1, 2, 2)
    if "channel_attention" in out.explanations:
        assert out.explanations["channel_attention"].shape == (1, 2, 64)
    if "spatial_attention" in out.explanations:
        assert out.explanations["spatial_attention"].shape == (1, 2, H, W_HALF)


def test_variants_differ_in_their_kernels():
    shapes = {}
    for variant in ("", "_tf", "_square", "_ts", "_fs"):
        model = _model(f"tiny{variant}")
        shapes[variant] = [(tuple(layer.first[0].kernel_size), tuple(layer.second[0].kernel_size))
                           for layer in model.layers]
    assert shapes[""] == [((3, 1), (1, 5)), ((3, 3), (5, 5)), ((3, 3), (5, 5))]  # Sec. 3.1: frequency, temporal
    assert shapes["_tf"] == [((3, 1), (1, 5))] * 3
    assert shapes["_square"] == [((3, 3), (5, 5))] * 3
    assert shapes["_ts"][0] == ((1, 5), (3, 3)) and shapes["_fs"][0] == ((3, 1), (3, 3))
    assert len(set(map(tuple, shapes.values()))) == 5


def test_first_layer_concatenates_along_time():
    model = _model()
    x = torch.randn(3, 1, 128, 50)
    with torch.no_grad():
        y = model.layers[0](x)
    assert y.shape == (3, 8, 64, 50)  # 8 channels (not 16): the two 25-column halves side by side
    with torch.no_grad():
        assert torch.equal(y[..., :25], model.layers[0].first(x))
        assert torch.equal(y[..., 25:], model.layers[0].second(x))


def test_conv_block_is_conv_bn_relu_pool_in_the_papers_order():
    import torch.nn.functional as F

    block = _model().layers[1].second.train()  # 5x5 conv of layer 2
    x = torch.randn(4, 8, 64, 50, requires_grad=True)
    conv, bn = block[0], block[1]
    paper = F.max_pool2d(F.relu(bn(conv(x))), 2)
    ours = block(x)
    torch.testing.assert_close(ours, paper)
    (g_paper,) = torch.autograd.grad(paper.square().sum(), x)
    (g_ours,) = torch.autograd.grad(ours.square().sum(), x)
    torch.testing.assert_close(g_ours, g_paper)


def test_fusion_gate_of_one_passes_branch_a_and_of_zero_branch_b():
    torch.manual_seed(0)
    fusion = DualAttentionFusion(channels=8, height=4, width=6, reduction=2, mode="daff").eval()
    a, b = torch.randn(3, 8, 4, 6), torch.randn(3, 8, 4, 6)
    for forced, expected in ((1.0, a), (0.0, b)):
        handle = fusion.gate.register_forward_hook(lambda module, inputs, output, v=forced: torch.full_like(output, v))
        with torch.no_grad():
            z, maps = fusion(a, b)
        handle.remove()
        assert torch.equal(z, expected)
        assert torch.equal(maps["gate"], torch.full((3, 4, 6), forced))


def test_fusion_follows_equations_3_and_4():
    torch.manual_seed(0)
    fusion = DualAttentionFusion(channels=8, height=4, width=6, reduction=2, mode="daff").eval()
    a, b = torch.randn(3, 8, 4, 6), torch.randn(3, 8, 4, 6)
    with torch.no_grad():
        z, maps = fusion(a, b)
        x = a + b
        gate = torch.sigmoid(fusion.spatial(x) + fusion.channel(x))  # Eq. 3, [3, 8, 4, 6] by broadcasting
    assert fusion.spatial(x).shape == (3, 1, 4, 6) and fusion.channel(x).shape == (3, 8, 1, 1)
    torch.testing.assert_close(z, gate * a + (1 - gate) * b)  # Eq. 4
    torch.testing.assert_close(maps["gate"], gate.mean(1))
    torch.testing.assert_close(maps["spatial"], torch.sigmoid(fusion.spatial(x))[:, 0])
    torch.testing.assert_close(maps["channel"], torch.sigmoid(fusion.channel(x)).flatten(1))


def test_each_ablation_lacks_exactly_its_component():
    def parts(preset):
        names = {n.split(".")[1] for n, _ in _model(preset).named_parameters() if n.startswith("fusion.")}
        return names

    assert parts("tiny") == {"channel", "spatial"}
    assert parts("tiny_wo_fusion") == {"channel", "spatial"}
    assert parts("tiny_wo_channel") == {"spatial"}
    assert parts("tiny_wo_spatial") == {"channel"}
    assert parts("tiny_wo_daff") == set()
    a, b = torch.randn(2, 16, H, 2 * W_HALF), torch.randn(2, 16, H, 2 * W_HALF)
    model = _model("tiny_wo_daff")
    with torch.no_grad():
        assert torch.equal(model.fusion(a, b)[0], a + b)
        wo_fusion = _model("tiny_wo_fusion").fusion
        z, maps = wo_fusion(a, b)
        x = a + b
        torch.testing.assert_close(z, torch.sigmoid(wo_fusion.spatial(x) + wo_fusion.channel(x)) * x)
        wo_channel = _model("tiny_wo_channel").fusion
        torch.testing.assert_close(wo_channel(a, b)[1]["gate"], wo_channel(a, b)[1]["spatial"])


def test_sliding_windows_predict_every_step_once():
    for n in (1, 15, 16, 17, 20, 31, 40, 241):
        for window, hop in ((16, 1), (16, 4), (16, 5), (16, 16)):
            starts, keep = sliding_windows(n, window, hop)
            covered = [s + p for s, k in zip(starts, keep) for p in range(k, min(window, n))]
            assert covered == list(range(n)), (n, window, hop)
            assert all(s + min(window, n) <= n for s in starts)
    assert sliding_windows(240, 60, 10) == ([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150,
                                             160, 170, 180], [0] + [50] * 18)
    assert sliding_windows(245, 60, 10)[0][-2:] == [180, 185] and sliding_windows(245, 60, 10)[1][-1] == 55


def _reference(model: DAMFF, x: torch.Tensor, window: int, hop: int) -> torch.Tensor:
    """Sec. 4.4.1 by hand: the model on each window crop; the first gives all, each next its last hop."""
    n = x.shape[1]
    run = lambda start: model(x[:, start:start + window]).prediction[0]  # noqa: E731
    parts, start = [run(0)], hop
    while start + window <= n:
        parts.append(run(start)[-hop:])
        start += hop
    covered = start - hop + window
    if covered < n:
        parts.append(run(n - window)[-(n - covered):])
    return torch.cat(parts)


@pytest.mark.parametrize("n_steps", [240, 245])
def test_sliding_window_equals_running_each_crop(n_steps):
    model = _small(window_seconds=30.0, hop_seconds=5.0)  # T = 60 steps, hop 10 steps
    assert (model.window_steps, model.hop_steps) == (60, 10)
    x = _x(1, n_steps, n_features=512)
    windows = []
    handle = model.lstm.register_forward_pre_hook(lambda m, args: windows.append(int(args[0].batch_sizes[0])))
    with torch.no_grad():
        out = model(x).prediction[0]
        handle.remove()
        reference = _reference(model, x, 60, 10)
    assert windows == [19 if n_steps == 240 else 20]  # all windows in one LSTM call
    assert out.shape == (n_steps, 2)
    torch.testing.assert_close(out, reference, rtol=1e-4, atol=1e-5)
    # Window boundaries jump exactly as much as the reference does, nowhere more.
    torch.testing.assert_close(out.diff(dim=0), reference.diff(dim=0), rtol=1e-4, atol=2e-5)


def test_input_shorter_than_the_window_runs_in_one_pass():
    model = _small(window_seconds=30.0, hop_seconds=5.0)
    whole = _small(window_seconds=100.0, hop_seconds=5.0)  # same seed: same weights
    x = _x(1, 50, n_features=512)
    windows = []
    handle = model.lstm.register_forward_pre_hook(lambda m, args: windows.append(int(args[0].batch_sizes[0])))
    with torch.no_grad():
        out = model(x).prediction
    handle.remove()
    assert windows == [1]
    with torch.no_grad():
        assert torch.equal(out, whole(x).prediction)


def test_padded_batch_equals_items_alone():
    model = _windowed()
    x = _x(2, 30)
    short = 21
    x[1, short:] = 1e3  # padding garbage must not leak
    with torch.no_grad():
        batched = model(x, torch.tensor([30, short]))
        alone0 = model(x[:1], torch.tensor([30]))
        alone1 = model(x[1:, :short], None)
    torch.testing.assert_close(batched.prediction[0], alone0.prediction[0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(batched.prediction[1, :short], alone1.prediction[0], rtol=1e-4, atol=1e-5)
    assert (batched.prediction[1, short:] == 0).all()
    for name in batched.explanations:
        torch.testing.assert_close(batched.explanations[name][1, :short], alone1.explanations[name][0])
        torch.testing.assert_close(batched.explanations[name][0], alone0.explanations[name][0])


def test_eval_chunks_give_the_unchunked_result(monkeypatch):
    import memo_core.models.damff as damff

    model = _windowed()
    x = _x(1, 20)
    with torch.no_grad():
        whole = model(x)
        monkeypatch.setattr(damff, "_EVAL_CHUNK_STEPS", 3)
        chunked = model(x)
    torch.testing.assert_close(chunked.prediction, whole.prediction)
    for name in whole.explanations:
        torch.testing.assert_close(chunked.explanations[name], whole.explanations[name])


@pytest.mark.parametrize("preset", ["tiny", "tiny_wo_channel"])
def test_save_then_load_gives_identical_outputs(preset):
    from memo_core.training.checkpoints import _retuple

    model = _windowed() if preset == "tiny" else _model(preset)
    buffer = io.BytesIO()
    torch.save({"state_dict": model.state_dict(), "config": dataclasses.asdict(model.config)}, buffer)
    buffer.seek(0)
    data = torch.load(buffer, weights_only=True)
    rebuilt = get_model("damff", **_retuple("damff", data["config"]))
    rebuilt.load_state_dict(data["state_dict"])
    rebuilt.eval()
    assert rebuilt.config == model.config
    x = _x(2, 12)
    with torch.no_grad():
        a, b = model(x, torch.tensor([12, 9])), rebuilt(x, torch.tensor([12, 9]))
    assert torch.equal(a.prediction, b.prediction)
    assert a.explanations.keys() == b.explanations.keys()
    for name in a.explanations:
        assert torch.equal(a.explanations[name], b.explanations[name])


def _ccc(p: np.ndarray, t: np.ndarray) -> float:
    return 2 * np.mean((p - p.mean()) * (t - t.mean())) / (p.var() + t.var() + (p.mean() - t.mean()) ** 2)


def test_loss_is_ccc_for_arousal_and_rmse_for_valence():
    model = _model()
    pred = torch.tensor([[[0.1, 0.5], [0.2, -0.3], [0.0, 0.9], [7.0, 7.0]],
                         [[-0.4, 0.2], [0.3, 0.1], [9.0, 9.0], [9.0, 9.0]]])
    y = torch.tensor([[[0.0, 0.4], [0.5, -0.1], [0.1, 0.6], [0.0, 0.0]],
                      [[-0.2, 0.0], [0.2, 0.3], [0.0, 0.0], [0.0, 0.0]]])
    mask = torch.tensor([[True, True, True, False], [True, True, False, False]])
    batch = Batch(x=torch.zeros(2, 4, N_FEATURES), lengths=torch.tensor([4, 3]), y=y, mask=mask)
    p, t = pred[mask].numpy().astype(np.float64), y[mask].numpy().astype(np.float64)
    rmse_valence = np.sqrt(np.mean((p[:, 0] - t[:, 0]) ** 2))
    ccc_arousal = _ccc(p[:, 1], t[:, 1])
    loss = model.training_loss(ModelOutput(prediction=pred), batch)
    assert loss.item() == pytest.approx(rmse_valence + (1 - ccc_arousal), rel=1e-5)
    # The names, not the column order, choose the loss.
    swapped = _model(target_names=("arousal", "valence"))
    assert swapped.target_losses() == ["ccc", "rmse"]
    loss = swapped.training_loss(ModelOutput(prediction=pred), batch)
    assert loss.item() == pytest.approx((1 - _ccc(p[:, 0], t[:, 0])) + np.sqrt(np.mean((p[:, 1] - t[:, 1]) ** 2)),
                                        rel=1e-5)
    other = _model(target_names=("valence", "dominance"))
    assert other.target_losses() == ["rmse", "mse"]
    loss = other.training_loss(ModelOutput(prediction=pred), batch)
    assert loss.item() == pytest.approx(rmse_valence + np.mean((p[:, 1] - t[:, 1]) ** 2), rel=1e-5)


def test_loss_is_fits_loss_of_each_target_column_summed(monkeypatch):
    import memo_core.models.damff as damff_module
    from memo_core.models import losses

    g = torch.Generator().manual_seed(3)
    pred = torch.randn(3, 9, 2, generator=g)
    y = torch.randn(3, 9, 2, generator=g)
    mask = torch.rand(3, 9, generator=g) < 0.6
    batch = Batch(x=torch.zeros(3, 9, N_FEATURES), lengths=torch.tensor([9, 9, 7]), y=y, mask=mask)

    def column(i):
        return ModelOutput(prediction=pred[..., i:i + 1]), Batch(batch.x, batch.lengths, y[..., i:i + 1], mask)

    for names, kinds in ((("valence", "arousal"), ("rmse", "ccc")), (("valence", "dominance"), ("rmse", "mse"))):
        expected = losses.LOSSES[kinds[0]](*column(0)) + losses.LOSSES[kinds[1]](*column(1))
        assert torch.equal(_model(target_names=names).training_loss(ModelOutput(prediction=pred), batch), expected)
    calls = []
    spies = {kind: (lambda out, b, kind=kind, real=real: calls.append((kind, out.prediction.shape[-1])) or real(out, b))
             for kind, real in losses.LOSSES.items()}
    monkeypatch.setattr(damff_module, "LOSSES", spies)
    _model().training_loss(ModelOutput(prediction=pred), batch)
    assert calls == [("rmse", 1), ("ccc", 1)]  # fit's own functions, one target column each


def test_gradients_reach_every_parameter_and_are_finite():
    model = _model().train()
    x = _x(2, 6)
    lengths = torch.tensor([6, 4])
    out = model(x, lengths)
    y = torch.randn(2, 6, 2)
    mask = torch.arange(6)[None, :] < lengths[:, None]
    model.training_loss(out, Batch(x=x, lengths=lengths, y=y, mask=mask)).backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_bad_configurations_raise():
    with pytest.raises(MemoError, match="n_mels \\* frames_per_step"):
        get_model("damff", "tiny", n_features=260)
    with pytest.raises(MemoError, match="multiple of 0.5"):
        get_model("damff", "tiny", hop_seconds=0.7)
    with pytest.raises(MemoError, match="must not exceed"):
        get_model("damff", "tiny", window_seconds=2.0, hop_seconds=3.0)
    with pytest.raises(MemoError, match="fusion"):
        get_model("damff", "tiny", fusion="sum")
    with pytest.raises(MemoError, match="odd"):
        get_model("damff", "tiny", kernels=("3x2+1x5", "3x3+5x5", "3x3+5x5"))
    with pytest.raises(MemoError, match="features a step"):
        _model()(torch.zeros(1, 3, 100))


def test_explanation_axes_name_time_mel_frequencies_and_step_offsets():
    from memo_core.explain.damff import damff_row_hz

    model = _model()
    with torch.no_grad():
        out = model(_x(1, 4))
    shape = tuple(out.explanations["spatial_attention"].shape[1:])
    spatial = model.explanation_axes("spatial_attention", shape, n_frames=4, frame_seconds=0.5)
    assert list(spatial) == ["time_s", "mel_hz", "step_time_s"]
    np.testing.assert_allclose(spatial["time_s"], [0.0, 0.5, 1.0, 1.5])
    np.testing.assert_allclose(model.row_bands(H), np.arange(H) * 8 + 3.5)  # 8 bands a row
    # without the checkpoint's feature parameters: the feature set's default, 16 kHz (bands up to 8 kHz)
    np.testing.assert_allclose(spatial["mel_hz"], damff_row_hz(np.arange(H) * 8 + 3.5, sample_rate=16_000)[0])
    assert np.all(np.diff(spatial["mel_hz"]) > 0) and spatial["mel_hz"][-1] < 8000
    np.testing.assert_allclose(spatial["step_time_s"], np.arange(W_HALF) * 0.08)  # 8 frames of 10 ms a column
    assert spatial["step_time_s"][-1] < 0.5


def test_the_row_frequencies_follow_the_checkpoints_sample_rate():
    """A 44.1 kHz log-mel (the paper's) has bands up to 22.05 kHz: the axes say so, not a display default."""
    from memo_core.explain.damff import damff_row_hz

    model = _model()
    shape = (4, H, W_HALF)
    at_16k = model.explanation_axes("fusion_gate", shape, n_frames=4, frame_seconds=0.5,
                                    feature_params={"sample_rate": 16_000})["mel_hz"]
    at_44k = model.explanation_axes("fusion_gate", shape, n_frames=4, frame_seconds=0.5,
                                    feature_params={"sample_rate": 44_100})["mel_hz"]
    np.testing.assert_allclose(at_44k, damff_row_hz(np.arange(H) * 8 + 3.5, sample_rate=44_100)[0])
    assert at_16k[-1] < 8000 < at_44k[-1] < 22_050
    assert np.all(at_44k > at_16k)
    channel = model.explanation_axes("channel_attention", (4, 16), n_frames=4, frame_seconds=0.5)
    assert list(channel) == ["time_s", "channel"] and channel["channel"].tolist() == list(range(16))
    assert model.explanation_axes("temporal_attention", (4, 4), n_frames=4, frame_seconds=0.5) is None


@pytest.mark.slow
def test_a_few_epochs_lower_the_loss_on_rendered_audio(tiny_corpus):
    from memo_core.data import load_dataset
    from memo_core.data.sequences import Normalizer, build_examples
    from memo_core.training.loop import TrainConfig, fit

    examples = build_examples(load_dataset("synth", tiny_corpus), features="logmel128_steps", progress=False)
    assert examples[0].n_features == N_FEATURES and examples[0].n_frames == 40
    # The last 10 s of each song (annotations start at 15 s): 4 batches of 20 steps an epoch.
    keep = slice(20, 40)
    examples = [dataclasses.replace(ex, features=ex.features[keep], targets=ex.targets[keep], mask=ex.mask[keep],
                                    frame_times=ex.frame_times[keep]) for ex in examples]
    examples = Normalizer.fit(examples).apply_examples(examples)
    model = _model(target_names=tuple(examples[0].target_names)).train()
    history = fit(model, examples, examples[:1], TrainConfig(optimizer="adam", lr=1e-3, batch_size=4, max_epochs=10,
                                                              patience=None, segment_frames=None))
    assert np.isfinite(history.train_loss).all()
    # One batch an epoch, so epoch 1's loss is the untrained model's; batch norm makes the curve noisy.
    assert np.mean(history.train_loss[-2:]) < 0.7 * history.train_loss[0], history.train_loss
