"""Paper invariants of Ma et al. 2017 (LSTM, A-LSTM, MCA) in memo_core/models/mca.py."""

from __future__ import annotations

import pytest
import torch

from memo_core.errors import MemoError
from memo_core.models.mca import (
    MCA,
    MaALSTM,
    MaLSTM,
    causal_windows,
    lstm_parameter_count,
)
from memo_core.models.registry import get_model, list_presets
from tests._helpers import noise_songs

N_FEATURES = 12
CASES = [("ma_lstm", "tiny"), ("ma_alstm", "tiny"), ("mca", "tiny"), ("mca", "uniform_tiny")]


def _model(name: str, preset: str = "tiny", **overrides):
    torch.manual_seed(0)
    return get_model(name, preset, n_features=N_FEATURES, **overrides).eval()


def _x(batch: int = 2, n_frames: int = 30, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, n_frames, N_FEATURES, generator=torch.Generator().manual_seed(seed))


def _attention_maps(out) -> dict[str, torch.Tensor]:
    return {k: v for k, v in out.explanations.items() if k.startswith("window_attention/") or k == "scale_weights"}


def test_registered_presets():
    assert list_presets("mca") == ["paper", "tiny", "uniform", "uniform_tiny"]
    assert set(list_presets("ma_lstm")) == {"paper", "tiny"} == set(list_presets("ma_alstm"))
    assert isinstance(get_model("mca"), MCA)
    assert isinstance(get_model("ma_lstm"), MaLSTM) and isinstance(get_model("ma_alstm"), MaALSTM)


def test_paper_parameter_counts():
    # MCA (A-LSTM, 3 scales, h=150, n=2) on the 260 MediaEval 2015 baseline features:
    # per scale LSTM + W_A (h+1); then W_FA (h+1) and W_hv (h*2+2).
    h, f = 150, 260
    per_scale = lstm_parameter_count(f, h, 2) + h + 1
    expected = 3 * per_scale + (h + 1) + (h * 2 + 2)
    assert expected == 1_286_106
    assert get_model("mca", "paper").n_parameters() == expected
    # Uniform MCA has no W_FA.
    h = 100
    assert get_model("mca", "uniform").n_parameters() == 3 * (lstm_parameter_count(f, h, 2) + h + 1) + h * 2 + 2
    assert get_model("ma_lstm", "paper").n_parameters() == lstm_parameter_count(f, 200, 4) + 200 * 2 + 2
    assert get_model("ma_alstm", "paper").n_parameters() == lstm_parameter_count(f, 100, 2) + 101 + 100 * 2 + 2
    # Hand formula of one nn.LSTM layer: 4h(in + h) + 8h.
    assert lstm_parameter_count(f, 150, 1) == sum(p.numel() for p in torch.nn.LSTM(f, 150).parameters())


def test_causal_windows_are_left_aligned_history():
    x = torch.arange(6.0).view(1, 6, 1)
    windows, k = causal_windows(x, 3)
    assert k.tolist() == [1, 2, 3, 3, 3, 3]
    assert windows[0, :, :, 0].tolist() == [[0, 0, 0], [0, 1, 0], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]]


@pytest.mark.parametrize("name,preset", CASES)
def test_attention_rows_are_distributions(name, preset):
    model = _model(name, preset)
    out = model(_x(), torch.tensor([30, 21]))
    maps = _attention_maps(out)
    assert name == "ma_lstm" or maps
    valid = torch.arange(30)[None, :] < torch.tensor([30, 21])[:, None]
    for key, w in maps.items():
        assert (w >= 0).all(), key
        torch.testing.assert_close(w.sum(-1)[valid], torch.ones(int(valid.sum())), msg=key)
        assert (w[~valid] == 0).all(), key


@pytest.mark.parametrize("name,preset", [("ma_alstm", "tiny"), ("mca", "tiny")])
def test_missing_history_has_zero_weight(name, preset):
    out = _model(name, preset)(_x())
    for key, w in out.explanations.items():
        if not key.startswith("window_attention/"):
            continue
        length = int(key.split("/")[1])
        assert w.shape[-1] == length
        for t in range(length - 1):
            assert (w[:, t, : length - 1 - t] == 0).all(), (key, t)
            assert (w[:, t, length - 1 - t :] > 0).all(), (key, t)
        assert (w[:, length - 1 :] > 0).all(), key


@pytest.mark.parametrize("name,preset", CASES)
@pytest.mark.parametrize("t", [0, 3, 12, 25])
def test_no_look_ahead(name, preset, t):
    model = _model(name, preset)
    x = _x()
    changed = x.clone()
    changed[:, t + 1 :] = torch.randn_like(changed[:, t + 1 :]) * 3
    a, b = model(x), model(changed)
    torch.testing.assert_close(a.prediction[:, : t + 1], b.prediction[:, : t + 1], rtol=0, atol=1e-6)
    for key in a.explanations:
        torch.testing.assert_close(a.explanations[key][:, : t + 1], b.explanations[key][:, : t + 1], rtol=0, atol=1e-6)
    assert not torch.allclose(a.prediction[:, t + 1 :], b.prediction[:, t + 1 :])


def _by_hand_alstm(encoder, output, window_x: torch.Tensor):
    """Eq. 10-13 for one window [shape=(batch, l, n_features)], straight from the parameters."""
    h, _ = encoder.lstm(window_x)
    e = torch.tanh(h @ encoder.attention.weight.T + encoder.attention.bias).squeeze(-1)
    alpha = torch.softmax(e, dim=-1)
    c = (alpha.unsqueeze(-1) * h).sum(1)
    return torch.tanh(c @ output.weight.T + output.bias), alpha, c


@pytest.mark.parametrize("t", [2, 4, 17])  # shorter history (2), exactly l (4), inside the song (17)
def test_lstm_equals_standalone_window(t):
    model = _model("ma_lstm", window=5)
    x = _x()
    start = max(0, t - 4)
    h, _ = model.encoder.lstm(x[:, start : t + 1])
    expected = torch.tanh(model.output(h[:, -1]))
    torch.testing.assert_close(model(x).prediction[:, t], expected)


@pytest.mark.parametrize("t", [2, 4, 17])
def test_alstm_equals_standalone_window(t):
    model = _model("ma_alstm", window=5)
    x = _x()
    start = max(0, t - 4)
    expected, alpha, _ = _by_hand_alstm(model.encoder, model.output, x[:, start : t + 1])
    out = model(x)
    torch.testing.assert_close(out.prediction[:, t], expected)
    torch.testing.assert_close(out.explanations["window_attention/5"][:, t, 5 - alpha.shape[1] :], alpha)


def test_mca_equals_standalone_scales_and_fusion():
    model = _model("mca")
    x, t = _x(), 24
    out = model(x)
    contexts, per_scale = [], []
    for scale, encoder in zip(model.scales, model.encoders):
        y, _, c = _by_hand_alstm(encoder, model.output, x[:, t - scale + 1 : t + 1])
        contexts.append(c)
        per_scale.append(y)
    c = torch.stack(contexts, 1)  # (batch, n_scales, hidden)
    beta = torch.softmax(torch.tanh(c @ model.fusion.weight.T + model.fusion.bias).squeeze(-1), -1)  # Eq. 16-17
    m = (beta.unsqueeze(-1) * c).sum(1)  # Eq. 15
    torch.testing.assert_close(out.explanations["scale_weights"][:, t], beta)
    torch.testing.assert_close(out.explanations["scale_predictions"][:, t], torch.stack(per_scale, 1))
    torch.testing.assert_close(out.prediction[:, t], torch.tanh(model.output(m)))  # Eq. 14


def test_uniform_mca_averages_context_vectors():
    """Uniform MCA: beta = 1/N, y = tanh(W_hv mean_i c^i + b_v) (Eq. 14-15).

    The output layer is affine, so the fused pre-tanh output is the mean of the
    scales' pre-tanh outputs; the prediction is *not* the mean of the scales'
    predictions (tanh is applied after averaging).
    """
    model = _model("mca", "uniform_tiny")
    assert model.fusion is None
    out = model(_x())
    beta = out.explanations["scale_weights"]
    torch.testing.assert_close(beta, torch.full_like(beta, 1 / 3))
    per_scale = out.explanations["scale_predictions"]
    torch.testing.assert_close(out.prediction, torch.tanh(torch.atanh(per_scale).mean(2)), atol=1e-5, rtol=1e-5)
    # Without the output tanh, the prediction is exactly the average of the scale predictions.
    plain = _model("mca", "uniform_tiny", output_tanh=False)
    out = plain(_x())
    torch.testing.assert_close(out.prediction, out.explanations["scale_predictions"].mean(2))


def test_attentive_mca_prediction_is_beta_weighted_pre_activation():
    model = _model("mca", output_tanh=False)
    out = model(_x())
    fused = (out.explanations["scale_weights"].unsqueeze(-1) * out.explanations["scale_predictions"]).sum(2)
    torch.testing.assert_close(out.prediction, fused)


@pytest.mark.parametrize("name,preset", CASES)
def test_padding_at_the_end_is_ignored(name, preset):
    model = _model(name, preset)
    x = _x(batch=2, n_frames=30)
    lengths = torch.tensor([30, 17])
    batched = model(x, lengths)
    alone = model(x[1:, :17])
    torch.testing.assert_close(batched.prediction[1, :17], alone.prediction[0])
    assert (batched.prediction[1, 17:] == 0).all()
    for key, value in alone.explanations.items():
        torch.testing.assert_close(batched.explanations[key][1, :17], value[0], msg=key)


def test_plain_lstm_scales_give_no_window_attention():
    out = _model("mca", attention=False)(_x())
    assert set(out.explanations) == {"scale_weights", "scale_predictions"}


def test_song_shorter_than_the_longest_scale():
    out = _model("mca")(_x(n_frames=3))
    assert out.prediction.shape == (2, 3, 2)
    assert torch.isfinite(out.prediction).all()


def test_train_defaults_follow_the_paper():
    defaults = get_model("mca").train_defaults()
    assert defaults["optimizer"] == "rmsprop" and defaults["lr"] == 0.005 and defaults["max_epochs"] == 50
    assert defaults["patience"] is None and defaults["weight_decay"] > 0
    assert defaults["restore"] == "last"  # "The training is stopped after 50 epochs": those weights are the model
    assert get_model("mca", "paper").config.dropout == 0.5


@pytest.mark.parametrize("name", ["ma_lstm", "mca"])
def test_the_paper_schedule_keeps_the_last_epochs_weights(name, monkeypatch):
    """Ma et al. keep the weights after the last epoch; fit used to restore the best validation epoch. Here the
    validation loss grows every epoch (epoch 1 is the best), so the two rules give different models."""

    import memo_core.training.loop as loop

    def songs(n, seed):
        return noise_songs(n, seed, n_features=N_FEATURES, n_frames=24, targets=("valence",))

    worse = iter(range(1, 1000))
    monkeypatch.setattr(loop, "_validation", lambda *args, **kwargs: (float(next(worse)), None))
    snapshots, holder = {}, {}
    real_fit = loop.fit

    def recording_fit(model, *args, **kwargs):
        holder["model"] = model
        record = lambda r: snapshots.__setitem__(  # noqa: E731
            r["epoch"], {k: v.clone() for k, v in model.state_dict().items()})
        return real_fit(model, *args, **{**kwargs, "on_epoch": record})

    monkeypatch.setattr(loop, "fit", recording_fit)
    result = loop.train_model(name, "tiny", songs(6, 1), songs(2, 2),
                              config_overrides={"max_epochs": 3, "lr": 0.02, "seed": 0})
    history = result.history
    assert result.config.restore == "last" and result.config.patience is None
    assert history.best_epoch == 1 and history.kept_epoch == history.epochs_run == 3
    final = result.model.state_dict()
    assert all(torch.equal(final[k], snapshots[3][k]) for k in final)
    assert not all(torch.equal(final[k], snapshots[1][k]) for k in final)


def test_bad_input_raises():
    model = _model("mca")
    with pytest.raises(MemoError):
        model(torch.randn(2, 30, N_FEATURES + 1))
    with pytest.raises(MemoError):
        get_model("mca", "tiny", scales=(5, 5))
