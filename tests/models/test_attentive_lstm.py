"""Chaki et al. (2020) invariants: AT attends everywhere, BAT only backwards and is causal,
the output feeds back the model's own previous prediction, Transformer maps mask padding,
and the paper presets have the parameter counts of a hand formula."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from memo_core.models.attentive_lstm import PAPER_TRAIN_DEFAULTS
from memo_core.models.registry import get_model, list_presets

N_FEATURES = 10
N_FRAMES = 40


def _build(name: str, preset: str = "tiny", **overrides):
    torch.manual_seed(0)
    return get_model(name, preset, n_features=N_FEATURES, **overrides).eval()


def _inputs(batch: int = 2, n_frames: int = N_FRAMES, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, n_frames, N_FEATURES, generator=torch.Generator().manual_seed(seed))


def _run(model, x, lengths=None):
    with torch.no_grad():
        return model(x, lengths)


# ----------------------------------------------------------------- attention maps


def test_at_attention_rows_are_distributions_over_valid_frames():
    model = _build("at")
    short = 25
    out = _run(model, _inputs(), torch.tensor([N_FRAMES, short]))
    attn = out.explanations["temporal_attention"]
    assert attn.shape == (2, N_FRAMES, N_FRAMES)
    torch.testing.assert_close(attn[0].sum(-1), torch.ones(N_FRAMES))
    torch.testing.assert_close(attn[1, :short].sum(-1), torch.ones(short))
    assert (attn[1, :, short:] == 0).all() and (attn[1, short:] == 0).all()
    # AT attends to every frame, future ones included (not accidentally backward-only)
    assert (attn[0] > 0).all()


def test_bat_attends_only_to_earlier_frames():
    model = _build("bat")
    short = 25
    attn = _run(model, _inputs(), torch.tensor([N_FRAMES, short])).explanations["temporal_attention"]
    assert (attn[:, 0] == 0).all()  # c_0 = 0: nothing to attend at the first frame
    assert (attn.triu(diagonal=0) == 0).all()  # k >= t exactly 0
    torch.testing.assert_close(attn[0, 1:].sum(-1), torch.ones(N_FRAMES - 1))
    torch.testing.assert_close(attn[1, 1:short].sum(-1), torch.ones(short - 1))
    assert (attn[1, short:] == 0).all()
    assert (attn[0].tril(diagonal=-1)[1:, :1] > 0).all()


# ----------------------------------------------------------------- causality


@pytest.mark.parametrize("name", ["bat", "chaki_lstm"])
def test_causal_models_never_look_ahead(name):
    model = _build(name)
    x = _inputs()
    for t in (0, 7, N_FRAMES - 2):
        changed = x.clone()
        changed[:, t + 1 :] = torch.randn_like(changed[:, t + 1 :]) * 5
        before, after = _run(model, x), _run(model, changed)
        torch.testing.assert_close(after.prediction[:, : t + 1], before.prediction[:, : t + 1], atol=1e-6, rtol=0)
        assert not torch.allclose(after.prediction[:, t + 1 :], before.prediction[:, t + 1 :])
        for key, value in before.explanations.items():
            torch.testing.assert_close(after.explanations[key][:, : t + 1], value[:, : t + 1], atol=1e-6, rtol=0)


def test_at_looks_at_the_whole_song():
    model = _build("at")
    x = _inputs()
    changed = x.clone()
    changed[:, -1] += 5.0  # only the last frame
    before, after = _run(model, x), _run(model, changed)
    # the first frame's prediction depends on the last frame through attention
    assert (after.prediction[:, 0] - before.prediction[:, 0]).abs().max() > 1e-5
    assert not torch.allclose(after.explanations["temporal_attention"][:, 0], before.explanations["temporal_attention"][:, 0])


# ----------------------------------------------------------------- Eq. 1: output feedback


@pytest.mark.parametrize("name", ["at", "bat"])
def test_output_feeds_back_its_own_previous_prediction(name):
    """y_t = W_o [h_t; c_t; y_{t-1}] + b_o with y_{-1} = 0 and y_{t-1} the model's own output."""
    model = _build(name, n_targets=2)
    with torch.no_grad():
        model.output.weight[:, -2:] = torch.tensor([[0.5, -0.3], [0.2, 0.4]])  # a clearly non-zero feedback
        x = _inputs()
        out = model(x)
        h = model.encoder(x)
        previous = F.pad(h, (0, 0, 1, 0))[:, :-1]
        context, _ = model.attention(previous, h, model.attention_mask(torch.ones(2, N_FRAMES, dtype=torch.bool)))
        y_prev = torch.cat([torch.zeros(2, 1, 2), out.prediction[:, :-1]], dim=1)
        expected = model.output(torch.cat([h, context, y_prev], dim=-1))
    torch.testing.assert_close(out.prediction, expected, atol=1e-5, rtol=1e-5)
    # without the feedback the predictions would differ
    no_feedback = model.output(torch.cat([h, context, torch.zeros_like(y_prev)], dim=-1)).detach()
    assert not torch.allclose(out.prediction[:, 1:], no_feedback[:, 1:], atol=1e-3)


# ----------------------------------------------------------------- Transformer


def test_transformer_layer_attention_masks_padding():
    model = _build("transformer")
    short = 25
    maps = _run(model, _inputs(), torch.tensor([N_FRAMES, short])).explanations["layer_attention"]
    cfg = model.config
    assert maps.shape == (2, cfg.n_layers, cfg.n_heads, N_FRAMES, N_FRAMES)
    torch.testing.assert_close(maps[0].sum(-1), torch.ones(cfg.n_layers, cfg.n_heads, N_FRAMES))
    torch.testing.assert_close(maps[1, :, :, :short].sum(-1), torch.ones(cfg.n_layers, cfg.n_heads, short))
    assert (maps[1, ..., short:] == 0).all()
    # self-attention is not causal: the last frame is attended from the first
    assert (maps[0, :, :, 0, -1] > 0).all()


def test_transformer_is_order_aware():
    """Positional encoding: reversing time does not just reverse the predictions."""
    model = _build("transformer")
    x = _inputs(batch=1)
    forward = _run(model, x).prediction
    backward = _run(model, x.flip(1)).prediction.flip(1)
    assert not torch.allclose(forward, backward, atol=1e-4)


# ----------------------------------------------------------------- presets and training


def _lstm_params(n_in: int, sizes) -> int:
    total, prev = 0, n_in
    for h in sizes:
        total += 4 * (h * (prev + h) + 2 * h)  # PyTorch keeps two bias vectors
        prev = h
    return total


def _count(name: str, preset: str, **overrides) -> int:
    with torch.device("meta"):
        return get_model(name, preset, **overrides).n_parameters()


@pytest.mark.parametrize("preset,sizes", [("LSTM_400", (400,)), ("LSTM_1024", (1024,)), ("LSTM_700_128", (700, 128)),
                                          ("LSTM_2048_1024_700", (2048, 1024, 700))])
def test_lstm_parameter_counts(preset, sizes):
    n_in, n_t = 6670, 1
    expected = _lstm_params(n_in, sizes) + sizes[-1] * n_t + n_t
    assert _count("chaki_lstm", preset, n_features=n_in, n_targets=n_t) == expected


@pytest.mark.parametrize("name,preset,sizes", [("at", "AT_300", (300,)), ("at", "AT_400", (400,)),
                                               ("at", "AT_2048_1024", (2048, 1024)), ("at", "AT_300_128", (300, 128)),
                                               ("bat", "BAT_2048_1024", (2048, 1024)), ("bat", "BAT_1024", (1024,))])
def test_attentive_parameter_counts(name, preset, sizes):
    n_in, n_t = 6670, 1
    h = a = sizes[-1]
    attention = h * a + (h * a + a) + a  # W_q (no bias), W_k + b, v
    output = (2 * h + n_t) * n_t + n_t  # g on [h_t; c_t; y_{t-1}]
    assert _count(name, preset, n_features=n_in, n_targets=n_t) == _lstm_params(n_in, sizes) + attention + output


@pytest.mark.parametrize("n_layers", [1, 2, 4])
def test_transformer_parameter_counts(n_layers):
    n_in, n_t, d, ff = 6670, 1, 512, 2048
    layer = (4 * d * d + 4 * d) + (d * ff + ff + ff * d + d) + 2 * 2 * d
    expected = (n_in * d + d) + n_layers * layer + d * n_t + n_t
    assert _count("transformer", f"Transformer_{n_layers}L", n_features=n_in, n_targets=n_t) == expected


def test_paper_presets_are_registered():
    assert {"LSTM_400", "LSTM_1024", "LSTM_700_128", "LSTM_2048_1024"} <= set(list_presets("chaki_lstm"))
    assert {"AT_32", "AT_64", "AT_300", "AT_400", "AT_300_128", "AT_2048_1024", "AT_2048_1024_512"} <= set(list_presets("at"))
    assert {"BAT_1024", "BAT_2048", "BAT_400_128", "BAT_2048_1024"} <= set(list_presets("bat"))
    assert {"Transformer_1L", "Transformer_2L", "Transformer_4L"} <= set(list_presets("transformer"))


@pytest.mark.parametrize("name", ["chaki_lstm", "at", "bat", "transformer"])
def test_train_defaults_follow_the_paper(name):
    defaults = _build(name).train_defaults()
    assert defaults == PAPER_TRAIN_DEFAULTS
    from memo_core.training import loop as train
    assert set(defaults) <= {f.name for f in dataclasses.fields(train.TrainConfig)}
    assert defaults["optimizer"] == "rmsprop" and defaults["lr"] == 1e-3
    assert defaults["batch_size"] == 20 and defaults["max_epochs"] == 50 and defaults["patience"] == 5

