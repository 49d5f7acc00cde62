"""The shared training loop: learning, determinism, early stopping, hooks, configs, losses."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from memo_core.data.batching import Batch, collate, iterate_batches
from memo_core.data.sequences import SequenceExample
from memo_core.errors import MemoError
from memo_core.models.base import SequenceConfig, SequenceModel
from memo_core.models.losses import LOSSES
from memo_core.models.outputs import ModelOutput
from memo_core.training.loop import (
    TrainConfig,
    fit,
    loss_function,
    resolve_train_config,
    train_model,
)


class TinyGRU(SequenceModel):
    """A throwaway model: one GRU layer and a linear readout; records the closed-form hook's batches."""

    def __init__(self, config: SequenceConfig, defaults: dict | None = None):
        super().__init__(config)
        self.rnn = nn.GRU(config.n_features, 8, batch_first=True)
        self.out = nn.Linear(8, config.n_targets)
        self.defaults = defaults or {}
        self.closed_form_batches: list[Batch] | None = None
        self.closed_form_calls = 0

    def forward(self, x, lengths=None):
        h, _ = self.rnn(x)
        return ModelOutput(prediction=self.out(h))

    def train_defaults(self):
        return dict(self.defaults)

    def fit_closed_form(self, batches, *, val_batches=()):
        self.closed_form_calls += 1
        self.closed_form_batches = list(batches)
        self.closed_form_val_batches = list(val_batches)


def _examples(n_songs, *, seed, sign=1.0, n_frames=30, n_features=4):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_songs):
        x = rng.standard_normal((n_frames, n_features)).astype(np.float32)
        y = np.tanh(sign * x[:, :2]).astype(np.float32)
        mask = np.zeros(n_frames, bool)
        mask[5:] = True
        y[~mask] = 0
        out.append(SequenceExample(f"{seed}-{i}", x, y, mask, np.arange(n_frames) * 0.5))
    return out


def _model(seed=0, **defaults):
    torch.manual_seed(seed)
    return TinyGRU(SequenceConfig(n_features=4, n_targets=2), defaults)


def test_fit_lowers_validation_loss():
    model = _model()
    history = fit(model, _examples(12, seed=1), _examples(4, seed=2),
                  TrainConfig(lr=1e-2, batch_size=4, max_epochs=8, patience=None))
    assert history.epochs_run == 8
    assert history.val_loss[-1] < 0.6 * history.val_loss[0]
    assert history.best_val_loss == min(history.val_loss)
    assert history.wall_time_s > 0 and not model.training


def test_same_seed_gives_identical_weights_and_other_seed_does_not():
    config = TrainConfig(lr=1e-2, batch_size=3, max_epochs=3, input_noise_std=0.1, segment_frames=12, seed=5)
    states = []
    for fit_seed in (5, 5, 6):
        model = _model()
        fit(model, _examples(7, seed=1), _examples(2, seed=2), TrainConfig(**{**config.__dict__, "seed": fit_seed}))
        states.append(model.state_dict())
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key])
    assert any(not torch.equal(states[0][k], states[2][k]) for k in states[0])


def test_early_stopping_restores_the_best_epoch():
    # Validation targets have the opposite sign: the better the model fits the training
    # songs, the worse validation gets, so epoch 1 is best and training stops at 1 + patience.
    model = _model()
    snapshots = {}
    record = lambda r: snapshots.__setitem__(r["epoch"], {k: v.clone() for k, v in model.state_dict().items()})  # noqa: E731
    history = fit(model, _examples(8, seed=1), _examples(4, seed=2, sign=-1.0),
                  TrainConfig(lr=2e-2, batch_size=4, max_epochs=20, patience=2), on_epoch=record)
    assert history.best_epoch == 1
    assert history.epochs_run == 3 and history.stopped_early
    final = model.state_dict()
    assert all(torch.equal(final[k], snapshots[1][k]) for k in final)
    assert not all(torch.equal(final[k], snapshots[3][k]) for k in final)
    assert history.final_val_loss == pytest.approx(history.val_loss[0], rel=1e-5)


def test_restore_last_keeps_the_last_epochs_weights():
    """``restore="last"`` (Ma et al.: the weights after epoch 50): the best validation epoch is 1 here, yet the
    model keeps epoch 4's weights."""
    model = _model()
    snapshots = {}
    record = lambda r: snapshots.__setitem__(r["epoch"], {k: v.clone() for k, v in model.state_dict().items()})  # noqa: E731
    history = fit(model, _examples(8, seed=1), _examples(4, seed=2, sign=-1.0),
                  TrainConfig(lr=2e-2, batch_size=4, max_epochs=4, patience=None, restore="last"), on_epoch=record)
    assert history.best_epoch == 1 and history.epochs_run == 4
    assert history.kept_epoch == 4 and history.restore == "last"
    final = model.state_dict()
    assert all(torch.equal(final[k], snapshots[4][k]) for k in final)
    assert not all(torch.equal(final[k], snapshots[1][k]) for k in final)


class TwoNets(SequenceModel):
    """Two independent linear networks, one per target, that ``fit`` may stop one by one."""

    def __init__(self, config: SequenceConfig):
        super().__init__(config)
        self.first = nn.Linear(config.n_features, 1)
        self.second = nn.Linear(config.n_features, 1)

    def forward(self, x, lengths=None):
        return ModelOutput(prediction=torch.cat([self.first(x), self.second(x)], dim=-1))

    def stopping_groups(self):
        return {"first": self.first, "second": self.second}

    def group_losses(self, output, batch):
        err = ((output.prediction - batch.y) ** 2) * batch.mask[..., None]
        return err.sum(dim=(0, 1)) / batch.mask.sum().clamp_min(1)


def _opposed_second_target(n_songs, *, seed):
    """Validation songs whose second target has the opposite sign: fitting it better makes validation worse."""
    out = []
    for ex in _examples(n_songs, seed=seed):
        targets = ex.targets.copy()
        targets[:, 1] *= -1
        out.append(SequenceExample(ex.song_id, ex.features, targets, ex.mask, ex.frame_times))
    return out


def test_per_network_stopping_stops_and_restores_each_network_on_its_own():
    torch.manual_seed(0)
    model = TwoNets(SequenceConfig(n_features=4, n_targets=2))
    snapshots = {}
    record = lambda r: snapshots.__setitem__(r["epoch"], {k: v.clone() for k, v in model.state_dict().items()})  # noqa: E731
    history = fit(model, _examples(8, seed=1), _opposed_second_target(4, seed=2),
                  TrainConfig(lr=5e-2, batch_size=4, max_epochs=8, patience=2, stopping="per_network"),
                  on_epoch=record)
    stopped, kept = history.network_stopped, history.network_epochs
    assert history.stopping == "per_network" and set(stopped) == {"first", "second"}
    assert stopped["second"] < stopped["first"] and kept["second"] < kept["first"]
    final = model.state_dict()
    # each network holds its own best epoch's weights, frozen since it stopped
    for name in ("first", "second"):
        for k in (f"{name}.weight", f"{name}.bias"):
            assert torch.equal(final[k], snapshots[kept[name]][k]), (name, k)
    assert not torch.equal(final["second.weight"], snapshots[history.epochs_run]["second.weight"])
    assert all(p.requires_grad for p in model.parameters())  # unfrozen for whoever trains next
    with pytest.raises(MemoError, match="per_network"):
        fit(_model(), _examples(2, seed=1), [], TrainConfig(max_epochs=1, stopping="per_network"))


def test_fit_calls_closed_form_once_with_clean_training_batches():
    model = _model()
    train = _examples(5, seed=1)
    fit(model, train, [], TrainConfig(max_epochs=1, batch_size=2, input_noise_std=1.0, segment_frames=8))
    assert model.closed_form_calls == 1
    batches = model.closed_form_batches
    assert [len(b.x) for b in batches] == [2, 2, 1]
    x = torch.cat([b.x for b in batches])
    np.testing.assert_array_equal(x.numpy(), np.stack([ex.features for ex in train]))  # no noise, whole songs
    assert int(torch.cat([b.mask for b in batches]).sum()) == 5 * 25


def test_closed_form_runs_without_gradient_epochs():
    model = _model(max_epochs=0)
    config = resolve_train_config(model)
    history = fit(model, _examples(3, seed=1), _examples(1, seed=2), config)
    assert history.epochs_run == 0 and history.best_epoch == 0 and model.closed_form_calls == 1
    assert np.isfinite(history.final_val_loss)
    assert len(model.closed_form_val_batches) == 1  # the held-out song reaches the hook (the ELM fits on it)


def test_resolve_config_precedence_and_errors():
    model = _model(lr=0.5, batch_size=2)
    config = resolve_train_config(model, batch_size=8, lr=None)  # None: an unset CLI option
    assert (config.lr, config.batch_size, config.max_epochs) == (0.5, 8, TrainConfig().max_epochs)
    with pytest.raises(MemoError, match="unknown training option"):
        resolve_train_config(model, epochz=3)
    with pytest.raises(MemoError, match="optimizer"):
        resolve_train_config(model, optimizer="adagrad")
    with pytest.raises(MemoError, match="lr"):
        resolve_train_config(model, lr=-1.0)
    with pytest.raises(MemoError, match="restore"):
        resolve_train_config(model, restore="middle")
    with pytest.raises(MemoError, match="stopping"):
        resolve_train_config(model, stopping="never")


def test_configured_loss_unless_the_model_has_its_own():
    class OwnLoss(TinyGRU):
        def training_loss(self, output, batch):
            return output.prediction.abs().mean()

    plain = _model()
    assert loss_function(plain, TrainConfig(loss="ccc")) is LOSSES["ccc"]
    own = OwnLoss(SequenceConfig(n_features=4, n_targets=2))
    assert loss_function(own, TrainConfig(loss="ccc")).__func__ is OwnLoss.training_loss


def test_losses_by_hand():
    batch = collate(_examples(2, seed=3))
    perfect = ModelOutput(prediction=batch.y.clone())
    assert float(LOSSES["mse"](perfect, batch)) == pytest.approx(0.0, abs=1e-7)
    assert float(LOSSES["ccc"](perfect, batch)) == pytest.approx(0.0, abs=1e-5)
    shifted = ModelOutput(prediction=batch.y + 0.5 * batch.mask.unsqueeze(-1))  # error 0.5 on annotated frames only
    assert float(LOSSES["mse"](shifted, batch)) == pytest.approx(0.25, rel=1e-5)
    assert float(LOSSES["rmse"](shifted, batch)) == pytest.approx(0.5, rel=1e-4)
    assert float(LOSSES["ccc"](shifted, batch)) > 0.1  # CCC penalises the offset


def test_collate_pads_and_windows_keep_an_annotated_frame():
    short, long = _examples(1, seed=1, n_frames=10)[0], _examples(1, seed=2, n_frames=30)[0]
    batch = collate([short, long])
    assert batch.x.shape == (2, 30, 4) and batch.lengths.tolist() == [10, 30]
    assert not batch.mask[0, 10:].any() and not batch.x[0, 10:].any()
    rng = np.random.default_rng(0)
    for _ in range(20):
        (b,) = iterate_batches([long], batch_size=1, segment_frames=3, rng=rng)
        assert b.x.shape[1] == 3 and b.mask.any()


def test_train_model_sizes_the_model_from_the_data_and_trains_one_target():
    train, val = _examples(6, seed=1), _examples(2, seed=2)
    for ex in train + val:
        ex.target_names = ("valence", "arousal")
    result = train_model("mlr", None, train, val, targets=("arousal",))
    assert result.targets == ("arousal",)
    assert result.model.n_features == 4 and result.model.n_targets == 1
    assert result.history.epochs_run == 0  # mlr: closed form only
    assert result.history.final_val_loss < 0.2


def test_tagger_examples_refuse_feature_params_they_cannot_honour():
    from memo_core.experiments.pipeline import build_task_examples

    with pytest.raises(MemoError, match="feature_params"):
        build_task_examples("tagging", [], features="mel96", targets=("calm",), feature_params={"n_mels": 64})
