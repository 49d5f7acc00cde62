"""The contract every registered model keeps (STYLE.md section 8), with its tiny preset."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
import torch

from memo_core.data.batching import Batch
from memo_core.errors import MemoError
from memo_core.models.outputs import EXPLANATION_NAMES, ModelOutput
from memo_core.models.registry import (
    get_model,
    list_models,
    list_presets,
    model_class,
    model_config,
    register_model,
)

N_FEATURES = 12
N_FRAMES = 48


def _n_features(name: str) -> int:
    """Models that bring their own feature set (DAMFF's log-mel steps) take its fixed width."""
    if getattr(model_class(name), "default_features", None):
        return model_config(name, "tiny").n_features
    return N_FEATURES


def _build(name: str, n_targets: int = 2):
    torch.manual_seed(0)
    return get_model(name, "tiny", n_features=_n_features(name), n_targets=n_targets).eval()


def _inputs(batch: int = 2, n_frames: int = N_FRAMES, name: str = "") -> torch.Tensor:
    n_features = _n_features(name) if name else N_FEATURES
    return torch.randn(batch, n_frames, n_features, generator=torch.Generator().manual_seed(1))


# Per-frame models; the tagger (task "tagging", one row of tags a song) has its own tests.
MODELS = [name for name in list_models() if model_class(name).task == "regression"]


def test_the_families_are_registered():
    assert {"mlr"} <= set(MODELS)
    for name in list_models():
        assert "tiny" in list_presets(name)
    assert {"damff", "vggish"} <= set(list_models())
    assert model_class("vggish").task == "tagging" and model_class("damff").task == "regression"


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("n_targets", [1, 2])
def test_output_shapes_and_explanation_names(name, n_targets):
    model = _build(name, n_targets)
    x = _inputs(name=name)
    with torch.no_grad():
        out = model(x, torch.tensor([N_FRAMES, N_FRAMES]))
    assert isinstance(out, ModelOutput)
    assert out.prediction.shape == (2, N_FRAMES, n_targets)
    assert torch.isfinite(out.prediction).all()
    for key, value in out.explanations.items():
        assert key.split("/")[0] in EXPLANATION_NAMES, key
        assert value.shape[0] == 2 and torch.isfinite(value).all(), key
        if key.split("/")[0] != "layer_attention":
            assert value.shape[1] == N_FRAMES, key


@pytest.mark.parametrize("name", MODELS)
def test_attention_maps_are_distributions(name):
    model = _build(name)
    with torch.no_grad():
        out = model(_inputs(name=name), None)
    for key, value in out.explanations.items():
        base = key.split("/")[0]
        if base not in ("temporal_attention", "window_attention", "scale_weights", "layer_attention"):
            continue
        assert (value >= 0).all() and (value <= 1 + 1e-6).all(), key
        sums = value.sum(-1)
        # a row sums to 1, or to 0 where there is nothing to attend (BAT's first frame)
        ok = torch.isclose(sums, torch.ones_like(sums), atol=1e-5) | torch.isclose(sums, torch.zeros_like(sums))
        assert ok.all(), key


@pytest.mark.parametrize("name", MODELS)
def test_padded_batch_equals_items_alone(name):
    model = _build(name)
    x = _inputs(name=name)
    short = 33
    x[1, short:] = 1e3  # padding garbage must not leak into valid frames
    with torch.no_grad():
        batched = model(x, torch.tensor([N_FRAMES, short]))
        alone0 = model(x[:1], torch.tensor([N_FRAMES]))
        alone1 = model(x[1:, :short], torch.tensor([short]))
    torch.testing.assert_close(batched.prediction[0], alone0.prediction[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(batched.prediction[1, :short], alone1.prediction[0], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", MODELS)
def test_gradients_are_finite(name):
    model = _build(name).train()
    x = _inputs(name=name)
    y = torch.randn(2, N_FRAMES, 2) * 0.3
    mask = torch.zeros(2, N_FRAMES, dtype=torch.bool)
    mask[:, 10:] = True
    batch = Batch(x=x, lengths=torch.tensor([N_FRAMES, N_FRAMES]), y=y, mask=mask)
    loss = model.training_loss(model(x, batch.lengths), batch)
    assert torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None for g in grads)
    assert all(torch.isfinite(g).all() for g in grads if g is not None)


@pytest.mark.parametrize("name", MODELS)
def test_save_then_load_gives_identical_outputs(name):
    model = _build(name)
    x = _inputs(name=name)
    batch = Batch(x=x, lengths=torch.tensor([N_FRAMES, N_FRAMES]), y=torch.randn(2, N_FRAMES, 2),
                  mask=torch.ones(2, N_FRAMES, dtype=torch.bool))
    model.fit_closed_form([batch])
    buf = io.BytesIO()
    torch.save({"config": dataclasses.asdict(model.config), "state": model.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    torch.manual_seed(123)  # a different seed: everything must come from the state dict
    clone = get_model(name, **saved["config"]).eval()
    clone.load_state_dict(saved["state"])
    with torch.no_grad():
        torch.testing.assert_close(clone(x).prediction, model(x).prediction)


def test_registry_errors():
    with pytest.raises(MemoError, match="unknown model"):
        get_model("no-such-model")
    with pytest.raises(MemoError, match="no preset"):
        model_config("mlr", "huge")
    with pytest.raises(MemoError, match="no config field"):
        model_config("mlr", "tiny", n_layers=3)
    with pytest.raises(ValueError, match="already registered"):
        register_model("mlr", config=type(model_config("mlr")), presets={"tiny": model_config("mlr")})(object)


def test_mlr_solves_least_squares():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 40, N_FEATURES)).astype(np.float32)
    w = rng.standard_normal((N_FEATURES, 2))
    y = x @ w + 0.5 + 0.01 * rng.standard_normal((3, 40, 2))
    mask = np.ones((3, 40), dtype=bool)
    mask[:, :10] = False
    model = get_model("mlr", "tiny", n_features=N_FEATURES, n_targets=2, ridge=0.0)
    batch = Batch(torch.tensor(x), torch.tensor([40, 40, 40]), torch.tensor(y, dtype=torch.float32), torch.tensor(mask))
    model.fit_closed_form([batch])
    design = np.concatenate([x[mask], np.ones((mask.sum(), 1))], axis=1)
    expected, *_ = np.linalg.lstsq(design, y[mask], rcond=None)
    np.testing.assert_allclose(model.linear.weight.detach().numpy().T, expected[:-1], atol=1e-4)
    np.testing.assert_allclose(model.linear.bias.detach().numpy(), expected[-1], atol=1e-4)
