"""Li et al. 2016's invariants: chunked scales, separate scale losses, the ELM's least squares, shares."""

from __future__ import annotations

import math

import pytest
import torch

from memo_core.data.batching import Batch
from memo_core.errors import MemoError
from memo_core.models.dblstm_elm import _shapley_coefficients, dblstm_elm_n_parameters
from memo_core.models.registry import get_model
from tests._helpers import noise_songs

N_FEATURES = 6


def _model(preset: str = "tiny", **overrides):
    torch.manual_seed(0)
    overrides = {"n_features": N_FEATURES, "n_targets": 2, **overrides}
    return get_model("dblstm_elm", preset, **overrides).eval()


def _batch(n_songs: int = 3, n_frames: int = 90, seed: int = 1) -> Batch:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n_songs, n_frames, N_FEATURES, generator=gen)
    y = torch.tanh(x[..., :2].cumsum(1) / 10)  # something the scales can fit roughly
    mask = torch.zeros(n_songs, n_frames, dtype=torch.bool)
    mask[:, 30:] = True  # annotated from 15 s on
    return Batch(x=x, lengths=torch.full((n_songs,), n_frames), y=y, mask=mask)


def test_paper_preset_size_matches_formula():
    # per network (260 features, 1 output): layer 1 2*(4*250*(260+250)+8*250), layers 2-5 2*(4*250*(500+250)+8*250),
    # output 500+1; 4 scales x 2 targets networks
    per_net = 2 * (4 * 250 * 510 + 2000) + 4 * 2 * (4 * 250 * 750 + 2000) + 501
    assert per_net == 7_040_501
    model = get_model("dblstm_elm", "paper")
    assert model.n_parameters() == 8 * per_net == dblstm_elm_n_parameters(model.config) == 56_324_008
    joint = get_model("dblstm_elm", "paper_joint").config
    assert dblstm_elm_n_parameters(joint) == 4 * (per_net - 501 + 1002) == 28_164_008
    # the ELM's random layer and readout are saved buffers, not trained parameters
    assert {"elm_input_weight", "elm_input_bias", "elm_output_weight", "elm_fitted"} <= set(model.state_dict())


@pytest.mark.parametrize("per_target", [False, True])
def test_a_scale_output_depends_only_on_its_own_chunk(per_target):
    model = _model(per_target_networks=per_target)
    x = torch.randn(1, 50, N_FEATURES)  # 50 frames: the last chunk of 20, 30 and 60 is shorter
    with torch.no_grad():
        base = model(x).explanations["scale_predictions"]
    for frame in (3, 44):
        changed = x.clone()
        changed[0, frame] += 5.0
        with torch.no_grad():
            out = model(changed).explanations["scale_predictions"]
        for i, size in enumerate(model.scales):
            start = frame // size * size
            own = torch.zeros(50, dtype=torch.bool)
            own[start:start + size] = True
            torch.testing.assert_close(out[0, ~own, i], base[0, ~own, i], atol=0, rtol=0)
            assert (out[0, own, i] - base[0, own, i]).abs().amax() > 1e-4  # the chunk itself does react


def test_chunks_are_separate_sequences():
    # a song cut by hand into chunks of L gives the same scale-L output as the model's own cutting
    model = _model()
    x = torch.randn(1, 47, N_FEATURES)
    with torch.no_grad():
        whole = model(x).explanations["scale_predictions"]
        for i, size in enumerate(model.scales):
            for start in range(0, 47, size):
                piece = model(x[:, start:start + size]).explanations["scale_predictions"]
                # within a piece no longer than `size` every scale >= size sees one chunk
                torch.testing.assert_close(whole[:, start:start + size, i], piece[:, :, i], atol=1e-6, rtol=1e-5)


def test_training_loss_is_the_sum_of_each_scales_masked_mse():
    model = _model().train()
    batch = _batch(n_songs=2)
    out = model(batch.x, batch.lengths)
    loss = model.training_loss(out, batch)
    preds = out.explanations["scale_predictions"]
    expected = sum(((preds[:, :, i][batch.mask] - batch.y[batch.mask]) ** 2).mean() for i in range(len(model.scales)))
    torch.testing.assert_close(loss, expected)
    # the fused output plays no part: a scale's loss only reaches its own network
    model.zero_grad()
    first = ((preds[:, :, 0][batch.mask] - batch.y[batch.mask]) ** 2).mean()
    first.backward()
    for i, nets in enumerate(model.networks):
        touched = any(p.grad is not None and p.grad.abs().sum() > 0 for p in nets.parameters())
        assert touched == (i == 0)


def test_avg_fusion_is_the_mean_of_the_scales():
    model = _model("avg_tiny")
    batch = _batch(n_songs=2, n_frames=41)
    with torch.no_grad():
        out = model(batch.x, batch.lengths)
        model.fit_closed_form([batch])  # no-op for AVG
        again = model(batch.x, batch.lengths)
    preds = out.explanations["scale_predictions"]
    assert preds.shape == (2, 41, 4, 2)
    torch.testing.assert_close(out.prediction, preds.mean(2))
    torch.testing.assert_close(out.explanations["scale_shares"], preds / 4)
    torch.testing.assert_close(again.prediction, out.prediction, atol=0, rtol=0)


def test_elm_falls_back_to_avg_until_fitted():
    model = _model()
    batch = _batch()
    with torch.no_grad():
        before = model(batch.x, batch.lengths)
        torch.testing.assert_close(before.prediction, before.explanations["scale_predictions"].mean(2))
        model.fit_closed_form([batch])
        after = model(batch.x, batch.lengths)
    assert bool(model.elm_fitted)
    assert not torch.allclose(after.prediction, before.prediction)


def test_elm_readout_solves_least_squares():
    model = _model(elm_hidden=12)
    batches = [_batch(seed=1), _batch(n_songs=2, n_frames=70, seed=2)]
    model.fit_closed_form(batches)
    hs, ts, fused = [], [], []
    with torch.no_grad():
        for batch in batches:
            out = model(batch.x, batch.lengths)
            sv = model.supervector(out.explanations["scale_predictions"], batch.lengths)
            hs.append(model.elm_hidden(sv)[batch.mask])
            ts.append(batch.y[batch.mask])
            fused.append(out.prediction[batch.mask])
    h = torch.cat(hs).double()  # (n_rows, n_targets, elm_hidden)
    t = torch.cat(ts).double()
    beta = model.elm_output_weight.double()
    for j in range(2):
        expected = torch.linalg.lstsq(h[:, j], t[:, j : j + 1], driver="gelsd").solution[:, 0]
        torch.testing.assert_close(beta[j], expected, atol=2e-3 * expected.abs().max(), rtol=0)
        residual = t[:, j] - h[:, j] @ beta[j]
        # normal equations: the residual is orthogonal to every hidden-node output
        assert (h[:, j].T @ residual).abs().max() < 1e-4 * residual.norm() * h[:, j].norm()
    # the forward pass uses exactly that readout
    torch.testing.assert_close(torch.cat(fused).double(), torch.einsum("njh,jh->nj", h, beta), atol=1e-5, rtol=1e-4)


def test_elm_ridge_solves_the_regularised_problem():
    model = _model(elm_ridge=0.5)
    batch = _batch()
    model.fit_closed_form([batch])
    with torch.no_grad():
        out = model(batch.x, batch.lengths)
        h = model.elm_hidden(model.supervector(out.explanations["scale_predictions"], batch.lengths))[batch.mask].double()
    t = batch.y[batch.mask].double()
    for j in range(2):
        beta = model.elm_output_weight[j].double()
        gradient = h[:, j].T @ (h[:, j] @ beta - t[:, j]) + 0.5 * beta
        assert gradient.abs().max() < 1e-4


def test_fitted_elm_padded_batch_equals_items_alone():
    # the contract test runs the unfitted (AVG) path; deltas and smoothing must not read padding either.
    # A little ridge keeps the readout small: the pinv readout of untrained tiny scales reaches |beta| ~ 1e3,
    # which magnifies float32 rounding differences of the packed LSTMs to ~1e-4.
    model = _model(elm_ridge=1e-2)
    model.fit_closed_form([_batch()])
    x = torch.randn(2, 48, N_FEATURES)
    x[1, 33:] = 1e3
    with torch.no_grad():
        batched = model(x, torch.tensor([48, 33]))
        alone = model(x[1:, :33], torch.tensor([33]))
    torch.testing.assert_close(batched.prediction[1, :33], alone.prediction[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(
        batched.explanations["scale_shares"][1, :33], alone.explanations["scale_shares"][0], atol=1e-5, rtol=1e-4
    )


def test_elm_scale_shares_sum_to_the_fused_prediction():
    model = _model(elm_ridge=1e-2)
    batch = _batch()
    model.fit_closed_form([batch])
    with torch.no_grad():
        out = model(batch.x, batch.lengths)
    shares = out.explanations["scale_shares"]
    assert shares.shape == (3, 90, 4, 2)
    torch.testing.assert_close(shares.sum(2), out.prediction, atol=1e-5, rtol=1e-4)


def test_shapley_weights_recover_additive_and_symmetric_games():
    k = 4
    coalitions, weights = _shapley_coefficients(k)
    assert coalitions.shape == (2**k, k) and not coalitions[0].any()
    a = torch.tensor([0.3, -1.0, 2.0, 0.5], dtype=torch.float64)
    additive = coalitions.double() @ a  # f(S) = sum of members' values
    torch.testing.assert_close(weights.T @ additive, a)
    # a pure interaction of players 0 and 1 is split equally between them
    both = (coalitions[:, 0] & coalitions[:, 1]).double()
    torch.testing.assert_close(weights.T @ both, torch.tensor([0.5, 0.5, 0.0, 0.0], dtype=torch.float64))
    assert math.isclose(weights.abs().sum().item() / k, 2.0)  # each player's weights sum to +1 and -1


def test_supervector_delta_and_smoothing():
    model = _model()
    ramp = torch.arange(20, dtype=torch.float32)[None, :, None, None].expand(1, 20, 4, 2)
    sv = model.supervector(ramp, torch.tensor([20]))  # (1, 20, 2, 12): [o1, d1, s1, o2, ...]
    o, d, s = sv[0, :, 0, 0], sv[0, :, 0, 1], sv[0, :, 0, 2]
    torch.testing.assert_close(o, ramp[0, :, 0, 0])
    torch.testing.assert_close(d[2:-2], torch.ones(16))  # slope 1 away from the edges
    torch.testing.assert_close(s[2:-2], o[2:-2])  # a centred mean keeps a line
    torch.testing.assert_close(sv[0, :, 1, 3:6], sv[0, :, 1, 0:3])  # every scale gets its own block


def test_bad_configs_raise():
    with pytest.raises(MemoError, match="fusion"):
        _model(fusion="max")
    with pytest.raises(MemoError, match="scales"):
        _model(scales=(10, 10))
    with pytest.raises(MemoError, match="smooth_frames"):
        _model(smooth_frames=4)
    model = _model()
    empty = _batch()
    empty.mask[:] = False
    with pytest.raises(MemoError, match="no annotated frames"):
        model.fit_closed_form([empty])


def test_train_defaults_follow_the_paper():
    defaults = _model().train_defaults()
    assert defaults["input_noise_std"] == 0.6 and defaults["max_epochs"] == 100 and defaults["patience"] == 20
    assert defaults["optimizer"] == "sgd"
    # Sec. 3.2.2: each DBLSTM is trained on its own, with its own early stopping
    assert defaults["stopping"] == "per_network" and defaults["restore"] == "best"


def test_the_networks_it_stops_one_by_one():
    small = {"hidden_size": 4, "n_layers": 1}
    paper = get_model("dblstm_elm", "paper", n_features=N_FEATURES, n_targets=2,
                      target_names=("valence", "arousal"), **small).eval()
    assert list(paper.stopping_groups()) == [f"L={s}/{t}" for s in (10, 20, 30, 60) for t in ("valence", "arousal")]
    shared = _model(**small)  # tiny: one network per scale for both targets
    assert list(shared.stopping_groups()) == ["L=10", "L=20", "L=30", "L=60"]
    batch = _batch()
    for model in (paper, shared):
        out = model(batch.x, batch.lengths)
        losses = model.group_losses(out, batch)
        assert losses.shape == (len(model.stopping_groups()),)
        # the networks' losses add up to the training loss (each scale's MSE over both targets)
        n_targets = 2 if model.config.per_target_networks else 1
        assert float(losses.sum().detach()) == pytest.approx(float(model.training_loss(out, batch).detach()) * n_targets, rel=1e-5)


def test_each_dblstm_stops_on_its_own_validation_error(monkeypatch):
    """Li et al. train every DBLSTM separately with its own patience. Here the valence networks' validation error
    grows from epoch 2 on while the arousal networks' keeps falling: the valence networks stop after their
    patience and keep epoch 1's weights, frozen, while the arousal networks train on to the last epoch. One joint
    decision (the old behaviour) stopped and restored all networks together."""

    import memo_core.training.loop as loop

    def songs(n, seed):
        return noise_songs(n, seed, n_features=N_FEATURES)

    epoch = {"n": 0}

    real_validation = loop._validation

    def scripted(model, examples, loss_fn, config, *, per_group=False):
        if not per_group:  # the final loss after training
            return real_validation(model, examples, loss_fn, config)
        # networks in stopping_groups order: L=5/v, L=5/a, L=10/v, L=10/a
        epoch["n"] += 1
        valence, arousal = float(epoch["n"]), 1.0 / epoch["n"]
        return valence + arousal, [valence, arousal, valence, arousal]

    monkeypatch.setattr(loop, "_validation", scripted)
    snapshots, real_fit = {}, loop.fit

    def recording_fit(model, *args, **kwargs):
        record = lambda r: snapshots.__setitem__(  # noqa: E731
            r["epoch"], {k: v.clone() for k, v in model.state_dict().items()})
        return real_fit(model, *args, **{**kwargs, "on_epoch": record})

    monkeypatch.setattr(loop, "fit", recording_fit)
    result = loop.train_model("dblstm_elm", "tiny", songs(4, 1), songs(2, 2),
                              model_overrides={"scales": (5, 10), "per_target_networks": True, "fusion": "avg",
                                               "hidden_size": 4, "n_layers": 1},
                              config_overrides={"max_epochs": 6, "patience": 2, "lr": 0.05, "seed": 0})
    history = result.history
    assert result.config.stopping == "per_network"
    assert history.network_stopped == {"L=5/valence": 3, "L=5/arousal": 6, "L=10/valence": 3, "L=10/arousal": 6}
    assert history.network_epochs == {"L=5/valence": 1, "L=5/arousal": 6, "L=10/valence": 1, "L=10/arousal": 6}
    assert history.epochs_run == 6
    final = result.model.state_dict()
    for i in range(2):  # scale index; network 0 is valence, 1 arousal
        for k in (k for k in final if k.startswith(f"networks.{i}.0.")):
            assert torch.equal(final[k], snapshots[1][k]), k
        for k in (k for k in final if k.startswith(f"networks.{i}.1.")):
            assert torch.equal(final[k], snapshots[6][k]), k
            assert not torch.equal(final[k], snapshots[1][k]), k


def test_per_network_stopping_reads_the_validation_songs_once_an_epoch(monkeypatch):
    """The mean validation loss and each network's loss come from one forward pass over the validation songs (they
    used to take two): one more epoch adds one training and one validation pass, no more."""

    import memo_core.training.loop as loop

    def songs(n, seed):
        return noise_songs(n, seed, n_features=N_FEATURES)

    real_fit = loop.fit

    def forwards(epochs: int) -> tuple[int, int]:
        counts = {True: 0, False: 0}

        def counting_fit(model, *args, **kwargs):
            real_forward = model.forward

            def forward(*a, **k):
                counts[model.training] += 1
                return real_forward(*a, **k)

            model.forward = forward
            return real_fit(model, *args, **kwargs)

        monkeypatch.setattr(loop, "fit", counting_fit)
        result = loop.train_model("dblstm_elm", "tiny", songs(4, 1), songs(3, 2),
                                  model_overrides={"scales": (5, 10), "hidden_size": 4, "n_layers": 1},
                                  config_overrides={"max_epochs": epochs, "patience": None, "batch_size": 8,
                                                    "seed": 0})
        assert result.config.stopping == "per_network" and result.history.epochs_run == epochs
        return counts[True], counts[False]

    one, three = forwards(1), forwards(3)
    assert three[0] - one[0] == 2  # one training batch an epoch
    assert three[1] - one[1] == 2  # one validation batch an epoch: the mean and the networks' losses together


def test_elm_is_fitted_on_held_out_batches_when_given():
    """Section 3.4: the ELM learns to weigh the scales on data the BLSTMs did not train on."""
    torch.manual_seed(0)
    model = get_model("dblstm_elm", "tiny", n_features=6, n_targets=1, elm_ridge=1e-2).eval()
    g = torch.Generator().manual_seed(3)

    def batch(seed_shift):
        x = torch.randn(2, 30, 6, generator=g)
        y = torch.randn(2, 30, 1, generator=g) * 0.3 + seed_shift
        return Batch(x=x, lengths=torch.tensor([30, 30]), y=y, mask=torch.ones(2, 30, dtype=torch.bool))

    train, held_out = batch(0.0), batch(0.5)
    model.fit_closed_form([train], val_batches=[held_out])
    on_val = model.elm_output_weight.clone()
    model.fit_closed_form([held_out])
    torch.testing.assert_close(model.elm_output_weight, on_val)  # same data, same readout
    model.fit_closed_form([train])
    assert not torch.allclose(model.elm_output_weight, on_val)


def test_clip_labelled_songs_add_one_weighted_row_each_to_the_elm():
    import torch

    from memo_core.models.dblstm_elm import DBLSTMELM

    h = torch.ones(2, 40, 3, dtype=torch.float64)  # 2 targets, 40 frame rows from 4 songs, 3 hidden units
    t = torch.zeros(2, 40, 1, dtype=torch.float64)
    clip_h = torch.full((3, 2, 3), 2.0, dtype=torch.float64)
    clip_t = torch.tensor([[0.3, -0.3], [float("nan"), 0.3], [-0.3, -0.3]], dtype=torch.float64)
    hh, tt = DBLSTMELM._with_clip_rows(h, t, clip_h, clip_t, n_frame_songs=4)
    assert hh.shape == (2, 42, 3) and tt.shape == (2, 42, 1)  # the clip with an unknown target is left out
    scale = 10 ** 0.5  # 10 frames a song: a clip row counts as much as one song's frames
    assert torch.allclose(hh[:, 40:], torch.full((2, 2, 3), 2.0 * scale, dtype=torch.float64))
    assert torch.allclose(tt[0, 40:, 0], torch.tensor([0.3, -0.3], dtype=torch.float64) * scale)
    assert torch.allclose(tt[1, 40:, 0], torch.tensor([-0.3, -0.3], dtype=torch.float64) * scale)
