"""Multi-scale deep bidirectional LSTMs fused by an extreme learning machine (DBLSTM-ELM).

Li, Xianyu, Tian, Chen, Meng, Xu and Cai, "A deep bidirectional long short-term
memory based multi-scale approach for music dynamic emotion prediction",
ICASSP 2016 (``/work/shared/papers/li2016_dblstm_elm_multiscale.md``).

Several deep BLSTM regressors each see the song cut into consecutive chunks of
their own sequence length (10, 20, 30 and 60 frames of 500 ms in the paper) and
predict every frame of their chunk; an ELM (or a plain average) fuses the
scales' predictions, their deltas and their smoothed values frame by frame.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import product
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from memo_core.data.batching import Batch
from memo_core.errors import MemoError
from memo_core.models.base import SequenceConfig, SequenceModel
from memo_core.models.outputs import ModelOutput
from memo_core.models.registry import register_model

__all__ = ["DBLSTMELM", "DBLSTMELMConfig", "DBLSTMRegressor", "dblstm_elm_n_parameters"]

FUSIONS = ("elm", "avg")


@dataclass
class DBLSTMELMConfig(SequenceConfig):
    """Attributes:
    scales: sequence lengths (frames) of the DBLSTMs; the song is cut into
        consecutive chunks of each length (Section 3.2.2, 3.5).
    hidden_size: LSTM units per direction and layer (Section 3.2.2: 250).
    n_layers: stacked BLSTM layers (Section 3.2.2: 5).
    per_target_networks: one DBLSTM per scale and target, as the paper trains
        valence and arousal separately (Section 3.2.2); ``False`` shares one
        network with ``n_targets`` outputs per scale.
    fusion: ``"elm"`` (Section 2.2-2.3) or ``"avg"`` (the paper's AVG fusion, Table 2).
    elm_hidden: hidden nodes of the ELM (not given in the paper).
    delta_window: N of the regression delta ``d_t = sum_n n (o_{t+n} - o_{t-n}) / (2 sum_n n^2)``.
    smooth_frames: width (odd) of the centred moving average giving ``s``.
    elm_ridge: L2 term of the ELM readout (0 gives the paper's Moore-Penrose solution).
    clip_target: the value a clip-level sign label stands for in the ELM's least squares (MEMO's
        extension for clip-labelled sources such as 4Q: not in the paper).
    elm_seed: seed of the ELM's random input weights and biases.
    target_names: the targets in output order (``train_model`` fills it in); they name the
        networks of :meth:`DBLSTMELM.stopping_groups` (indices when empty).
    """

    scales: tuple[int, ...] = (10, 20, 30, 60)
    hidden_size: int = 250
    n_layers: int = 5
    per_target_networks: bool = True
    fusion: str = "elm"
    elm_hidden: int = 100
    delta_window: int = 2
    smooth_frames: int = 5
    elm_ridge: float = 0.0
    clip_target: float = 0.3
    elm_seed: int = 0
    target_names: tuple[str, ...] = ()


_PAPER = DBLSTMELMConfig()
_TINY = DBLSTMELMConfig(hidden_size=8, n_layers=2, per_target_networks=False, elm_hidden=16)
PRESETS = {
    # Section 3.2.2: 4 scales x (5 BLSTM layers x 250 units), one network per target; ELM fusion.
    "paper": _PAPER,
    # The paper's AVG fusion (Table 2) of the same networks.
    "avg": DBLSTMELMConfig(fusion="avg"),
    # One paper-sized network per scale predicting valence and arousal jointly (half the parameters).
    "paper_joint": DBLSTMELMConfig(per_target_networks=False),
    # Small shapes for tests and quick runs.
    "tiny": _TINY,
    "avg_tiny": DBLSTMELMConfig(hidden_size=8, n_layers=2, per_target_networks=False, elm_hidden=16, fusion="avg"),
}


def dblstm_elm_n_parameters(config: DBLSTMELMConfig) -> int:
    """Trainable parameters: the scales' DBLSTMs (the ELM's weights are buffers).

    A PyTorch LSTM direction with input size I and H units has ``4H(I + H) + 8H``
    weights (two bias vectors); layer 1 sees the features, later layers both
    directions ``2H``; the output layer is ``Linear(2H, n_out)``.
    """
    h = config.hidden_size
    n_out = 1 if config.per_target_networks else config.n_targets
    per_dir = lambda i: 4 * h * (i + h) + 8 * h  # noqa: E731
    lstm = 2 * per_dir(config.n_features) + (config.n_layers - 1) * 2 * per_dir(2 * h)
    net = lstm + 2 * h * n_out + n_out
    n_nets = len(config.scales) * (config.n_targets if config.per_target_networks else 1)
    return n_nets * net


class DBLSTMRegressor(nn.Module):
    """A deep BLSTM with a per-frame linear output layer (Section 2.1).

    Shapes: x [n_seq, L, n_features], lengths [n_seq] (all >= 1) -> [n_seq, L, n_out];
    frames past an item's length carry the output layer's bias only.
    """

    def __init__(self, n_features: int, hidden_size: int, n_layers: int, n_out: int):
        super().__init__()
        self.lstm = nn.LSTM(n_features, hidden_size, num_layers=n_layers, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden_size, n_out)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        hidden, _ = self.lstm(packed)
        hidden, _ = pad_packed_sequence(hidden, batch_first=True, total_length=x.shape[1])
        return self.head(hidden)


def _shift(values: Tensor, lengths: Tensor, offset: int) -> Tensor:
    """``values[b, clamp(t + offset, 0, len_b - 1)]``: a shift that repeats a song's edge frames.

    Padding never enters: indices are clamped to each song's own valid frames.
    values [batch, n_frames, ...] -> same shape.
    """
    batch, n_frames = values.shape[:2]
    t = torch.arange(n_frames, device=values.device)[None, :] + offset
    last = (lengths.to(values.device) - 1).clamp_min(0)[:, None]
    index = torch.minimum(t.clamp_min(0), last)  # (batch, n_frames)
    index = index.reshape(batch, n_frames, *([1] * (values.dim() - 2))).expand_as(values)
    return torch.gather(values, 1, index)


#: Most scales a model may have: the Shapley weights enumerate 2^k coalitions (4 in the paper).
MAX_SCALES = 12


def _shapley_coefficients(n_players: int) -> tuple[Tensor, Tensor]:
    """All coalitions [2^k, k] (bool) and the weights [2^k, k] with ``phi = weights^T f(coalitions)``.

    ``phi_i = sum_{S not containing i} |S|! (k - |S| - 1)! / k! (f(S + i) - f(S))``: a coalition
    S containing i enters with ``+w(|S| - 1)``, one without i with ``-w(|S|)``.
    """
    k = n_players
    # On the CPU even when a model is built on torch's "meta" device (a checkpoint's size check): read back below.
    coalitions = torch.tensor(list(product([False, True], repeat=k)), dtype=torch.bool, device="cpu")
    w = lambda s: math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k)  # noqa: E731
    weights = torch.zeros(len(coalitions), k, dtype=torch.float64, device="cpu")
    for row, members in enumerate(coalitions.tolist()):
        size = sum(members)
        for i in range(k):
            weights[row, i] = w(size - 1) if members[i] else -w(size)
    return coalitions, weights


#: Section 3.2.2's learning rate, stated for CURRENNT's error summed over frames.
PAPER_LR_SUMMED_ERROR = 5e-6
#: Annotated frames of a 45 s DEAM/emoMusic clip (15-45 s at 2 Hz), the sequences the paper trained on.
ANNOTATED_FRAMES_PER_SONG = 60


@register_model("dblstm_elm", config=DBLSTMELMConfig, presets=PRESETS, default_preset="tiny")
class DBLSTMELM(SequenceModel):
    """Multi-scale DBLSTM regression fused by an ELM or by averaging (Li et al., ICASSP 2016).

    Implements:

    * Section 2.1 / 3.2.2: per scale L (``config.scales``), a deep BLSTM
      (``n_layers`` x ``hidden_size`` units per direction) with a linear output
      layer; one network per target when ``per_target_networks`` (the paper
      trains valence and arousal separately). Section 3.5: the song is cut into
      consecutive chunks of L frames (the last one shorter), each chunk is a
      separate sequence (packed, so padding never reaches a valid frame), and
      the chunk outputs are stitched back: a frame's scale-L output depends on
      its own chunk only.
    * Section 2.3: the supervector ``W = [o_1, d_1, s_1, ..., o_k, d_k, s_k]`` of
      each frame, with ``o_i`` scale i's output, ``d_i`` its regression delta
      (``delta_window``) and ``s_i`` its centred moving average
      (``smooth_frames``); delta and smoothing run over the stitched song
      (edges repeated at the song's own first and last frame), an
      interpretation: the paper does not say whether they stop at chunk edges.
    * Section 2.2: the ELM ``y = g(W A + b) beta`` with g the sigmoid, random
      fixed ``A`` and ``b`` (uniform in [-1, 1], seed ``elm_seed``) and
      ``beta = pinv(H) T`` solved by :meth:`fit_closed_form` on annotated frames.
      As in the paper (Section 3.4) there is one ELM per target, fed with that
      target's scale outputs only. Until ``fit_closed_form`` has run the fused
      output falls back to AVG (``elm_fitted`` buffer is False).
    * AVG fusion (Table 2): the mean of the scales' outputs.

    Training (Section 3.2.2): :meth:`training_loss` is the sum over scales of
    each scale's own masked MSE; the networks share no parameters, so every
    network's gradient is that of its own loss. The paper trains each DBLSTM
    separately, each stopping on its own validation error ("stopped after a
    maximum of 100 iterations or after 20 iterations if there was no new best
    error on the validation data"): :meth:`train_defaults` asks ``fit`` for
    ``stopping="per_network"``, so each network (one per scale and, with
    ``per_target_networks``, per target: :meth:`stopping_groups`) keeps its own
    best validation loss and patience, is frozen when its patience runs out,
    and gets back the weights of its own best epoch; the ELM is fitted after
    all have stopped. What remains joint: one optimiser run and one shuffled
    song order for all networks (the paper's runs were separate processes), and
    the mini-batches (songs one at a time, as the paper). Not implemented: the
    autoencoder pre-training of the first two layers and the N(0, 0.1)
    initialisation of the others (PyTorch's default LSTM initialisation, forget
    gate bias 0, is used), CURRENNT's summed-over-frames error (restated as the
    learning rate, see :meth:`train_defaults`), and the model selection /
    two-group averaging of Section 3.3 and 3.5 (one network per scale here).

    The shipped ``dblstm_elm`` checkpoint (``tiny``, one network per scale for
    both targets) was trained before per-network stopping existed: one stopping
    decision for all four networks (patience 20, 40 epochs run, best epoch 39
    restored for all), on whole songs of the synthetic corpus (90 frames, the
    last 61 annotated) and 4Q clips; :data:`memo_core.pretrained.DEFAULT_SET`
    keeps that recipe (``stopping="joint"``).

    Explanations:
        ``scale_predictions`` [batch, n_frames, n_scales, n_targets]: each
        scale's own output ``o_i``.
        ``scale_shares`` [batch, n_frames, n_scales, n_targets]: each scale's
        share of the fused output; the shares sum to ``prediction``. AVG:
        ``o_i / n_scales``. ELM: the exact Shapley value of scale i (its
        ``o_i, d_i, s_i`` present versus zeroed, zero being the neutral
        valence/arousal) over all 2^k coalitions, plus ``1/k`` of the ELM's
        output at the all-zero supervector. The same definition applied to the
        average gives ``o_i / k``. Computed without gradient.
    """

    def __init__(self, config: DBLSTMELMConfig):
        super().__init__(config)
        scales = tuple(int(s) for s in config.scales)
        if not scales or min(scales) < 1 or len(set(scales)) != len(scales):
            raise MemoError(f"dblstm_elm scales must be distinct positive frame counts, got {config.scales!r}")
        if len(scales) > MAX_SCALES:  # the Shapley fusion enumerates 2^k coalitions of the k scales
            raise MemoError(f"dblstm_elm takes at most {MAX_SCALES} scales (the paper's 4), got {len(scales)}")
        if config.fusion not in FUSIONS:
            raise MemoError(f"dblstm_elm fusion must be one of {', '.join(FUSIONS)}, got {config.fusion!r}")
        if config.smooth_frames < 1 or config.smooth_frames % 2 == 0:
            raise MemoError(f"dblstm_elm smooth_frames must be odd and positive, got {config.smooth_frames}")
        if config.delta_window < 1 or config.elm_hidden < 1:
            raise MemoError("dblstm_elm delta_window and elm_hidden must be positive")
        self.scales = scales
        n_nets = config.n_targets if config.per_target_networks else 1
        n_out = 1 if config.per_target_networks else config.n_targets
        # networks[scale][target network]
        self.networks = nn.ModuleList(
            nn.ModuleList(
                DBLSTMRegressor(config.n_features, config.hidden_size, config.n_layers, n_out) for _ in range(n_nets)
            )
            for _ in scales
        )
        # The ELM (one per target): fixed random input layer, closed-form readout. Buffers: saved, never trained.
        n_in = 3 * len(scales)
        gen = torch.Generator().manual_seed(config.elm_seed)
        self.register_buffer("elm_input_weight", torch.rand(config.n_targets, n_in, config.elm_hidden, generator=gen) * 2 - 1)
        self.register_buffer("elm_input_bias", torch.rand(config.n_targets, config.elm_hidden, generator=gen) * 2 - 1)
        self.register_buffer("elm_output_weight", torch.zeros(config.n_targets, config.elm_hidden))
        self.register_buffer("elm_fitted", torch.tensor(False))
        coalitions, weights = _shapley_coefficients(len(scales))
        self.register_buffer("_coalitions", coalitions, persistent=False)
        self.register_buffer("_shapley_weights", weights.float(), persistent=False)

    # -- the scales ---------------------------------------------------------------------------------

    def _scale_output(self, index: int, x: Tensor, lengths: Tensor) -> Tensor:
        """Scale ``index``'s prediction of every frame. [shape=(batch, n_frames, n_targets)]"""
        size = self.scales[index]
        batch, n_frames, n_features = x.shape
        n_chunks = -(-n_frames // size)
        chunks = F.pad(x, (0, 0, 0, n_chunks * size - n_frames)).reshape(batch * n_chunks, size, n_features)
        starts = torch.arange(n_chunks, device=x.device) * size
        chunk_lengths = (lengths.to(x.device)[:, None] - starts[None, :]).clamp(0, size).reshape(-1)
        keep = torch.nonzero(chunk_lengths > 0).squeeze(1)  # chunks wholly in padding are never run
        outputs = [net(chunks[keep], chunk_lengths[keep]) for net in self.networks[index]]
        out = torch.cat(outputs, dim=-1)
        full = out.new_zeros(batch * n_chunks, size, self.n_targets).index_copy(0, keep, out)
        return full.reshape(batch, n_chunks * size, self.n_targets)[:, :n_frames]

    # -- the fusion ---------------------------------------------------------------------------------

    def supervector(self, scale_predictions: Tensor, lengths: Tensor) -> Tensor:
        """Section 2.3's ``[o_1, d_1, s_1, ..., o_k, d_k, s_k]`` for each target's ELM.

        scale_predictions [batch, n_frames, n_scales, n_targets] -> [batch, n_frames, n_targets, 3 n_scales].
        """
        o = scale_predictions
        n = self.config.delta_window
        d = sum(m * (_shift(o, lengths, m) - _shift(o, lengths, -m)) for m in range(1, n + 1))
        d = d / (2 * sum(m * m for m in range(1, n + 1)))
        r = self.config.smooth_frames // 2
        s = sum(_shift(o, lengths, m) for m in range(-r, r + 1)) / self.config.smooth_frames
        stacked = torch.stack([o, d, s], dim=-1)  # (batch, n_frames, n_scales, n_targets, 3)
        batch, n_frames = o.shape[:2]
        return stacked.permute(0, 1, 3, 2, 4).reshape(batch, n_frames, self.n_targets, -1)

    def elm_hidden(self, supervector: Tensor) -> Tensor:
        """Hidden-layer outputs ``g(W A + b)``: [..., n_targets, 3 n_scales] -> [..., n_targets, elm_hidden]."""
        pre = torch.einsum("...jd,jdh->...jh", supervector, self.elm_input_weight) + self.elm_input_bias
        return torch.sigmoid(pre)

    def _elm(self, supervector: Tensor) -> Tensor:
        """The ELM's outputs: [..., n_targets, 3 n_scales] -> [..., n_targets]."""
        return torch.einsum("...jh,jh->...j", self.elm_hidden(supervector), self.elm_output_weight)

    def _uses_elm(self) -> bool:
        return self.config.fusion == "elm" and bool(self.elm_fitted)

    @torch.no_grad()
    def _elm_shares(self, supervector: Tensor) -> Tensor:
        """Exact Shapley shares of the scales in the ELM output, plus 1/k of its output at zero each.

        supervector [batch, n_frames, n_targets, 3k] -> [batch, n_frames, k, n_targets].
        """
        k = len(self.scales)
        batch, n_frames, n_targets, _ = supervector.shape
        present = self._coalitions.to(supervector.dtype).repeat_interleave(3, dim=1)  # (2^k, 3k)
        values = self._elm(supervector[None] * present[:, None, None, None, :])  # (2^k, batch, n_frames, n_targets)
        phi = torch.einsum("cbfj,ci->bfij", values, self._shapley_weights.to(values.dtype))
        empty = values[0]  # coalition 0 has no scale: the all-zero supervector
        return phi + empty[:, :, None, :] / k

    # -- the contract -------------------------------------------------------------------------------

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> ModelOutput:
        batch, n_frames, _ = x.shape
        if lengths is None:
            lengths = torch.full((batch,), n_frames, dtype=torch.long, device=x.device)
        scale_predictions = torch.stack(
            [self._scale_output(i, x, lengths) for i in range(len(self.scales))], dim=2
        )  # (batch, n_frames, n_scales, n_targets)
        if self._uses_elm():
            supervector = self.supervector(scale_predictions, lengths)
            prediction = self._elm(supervector)
            shares = self._elm_shares(supervector.detach())
        else:
            prediction = scale_predictions.mean(dim=2)
            shares = scale_predictions.detach() / len(self.scales)
        return ModelOutput(
            prediction=prediction,
            explanations={"scale_predictions": scale_predictions, "scale_shares": shares},
        )

    def train_defaults(self) -> dict[str, Any]:
        """Section 3.2.2: SGD with momentum 0.9 (``fit``'s "sgd"), learning rate 5e-6, at most 100
        epochs, early stop after 20 without a new best validation error, Gaussian input noise of
        std 0.6, sequences one at a time in random order (the batch size is our reading); each network
        stops on its own validation error and keeps its own best epoch (``stopping="per_network"``,
        :meth:`stopping_groups`). CURRENNT sums
        the error over the frames of a sequence, so its gradient is n_frames times MEMO's frame-mean
        gradient: the paper's 5e-6 on summed error equals 5e-6 x 60 annotated frames = 3e-4 here
        (:data:`PAPER_LR_SUMMED_ERROR` keeps the paper's figure). ``loss`` is listed for
        completeness (:meth:`training_loss` is always the per-scale MSE).
        """
        return {
            "optimizer": "sgd",
            "lr": PAPER_LR_SUMMED_ERROR * ANNOTATED_FRAMES_PER_SONG,
            "batch_size": 1,
            "max_epochs": 100,
            "patience": 20,
            "stopping": "per_network",
            "restore": "best",
            "weight_decay": 0.0,
            "input_noise_std": 0.6,
            "segment_frames": None,
            "loss": "mse",
            "grad_clip": None,
        }

    def training_loss(self, output: ModelOutput, batch: Batch) -> Tensor:
        """Sum over scales of each scale's MSE on annotated frames (the scales train separately)."""
        scale_predictions = output.explanations["scale_predictions"]
        mask = batch.mask[:, :, None, None].to(scale_predictions.dtype)
        err = (scale_predictions - batch.y[:, :, None, :]) ** 2 * mask
        per_scale = err.sum(dim=(0, 1, 3)) / (mask.sum() * self.n_targets).clamp_min(1.0)
        return per_scale.sum()

    def stopping_groups(self) -> dict[str, nn.Module]:
        """The independent networks ``fit`` stops one by one under ``stopping="per_network"``.

        ``"L=<scale>/<target>"`` for each scale and target with ``per_target_networks``
        (the paper's separate valence and arousal DBLSTMs), else ``"L=<scale>"``; in
        the order of :meth:`group_losses`.
        """
        given = tuple(self.config.target_names or ())
        names = list(given) if len(given) == self.n_targets else [str(j) for j in range(self.n_targets)]
        groups: dict[str, nn.Module] = {}
        for scale, nets in zip(self.scales, self.networks):
            for j, net in enumerate(nets):
                groups[f"L={scale}/{names[j]}" if self.config.per_target_networks else f"L={scale}"] = net
        return groups

    def group_losses(self, output: ModelOutput, batch: Batch) -> Tensor:
        """Each network's own MSE on the batch's annotated frames, in :meth:`stopping_groups` order.

        A per-target network's loss is its target's MSE; a shared network's the MSE over all targets.
        [shape=(n_networks,)]
        """
        scale_predictions = output.explanations["scale_predictions"]  # (batch, n_frames, n_scales, n_targets)
        mask = batch.mask[:, :, None, None].to(scale_predictions.dtype)
        err = ((scale_predictions - batch.y[:, :, None, :]) ** 2 * mask).sum(dim=(0, 1))  # (n_scales, n_targets)
        frames = mask.sum().clamp_min(1.0)
        if self.config.per_target_networks:
            return (err / frames).reshape(-1)
        return err.sum(dim=1) / (frames * self.n_targets)

    @staticmethod
    def _with_clip_rows(h: Tensor, t: Tensor, clip_h: Tensor, clip_t: Tensor, *, n_frame_songs: int
                        ) -> tuple[Tensor, Tensor]:
        """The ELM's rows plus one row per clip-labelled song with every target's sign: its mean hidden vector
        against the signs times ``clip_target`` (the readout is linear, so a song's mean fused output is
        ``mean(h) beta``). Each clip row is weighted to count as much as a frame-labelled song's frames together.

        Args:
            h, t: frame rows. [shape=(n_targets, n_rows, hidden)], [shape=(n_targets, n_rows, 1)]
            clip_h, clip_t: song rows. [shape=(n_songs, n_targets, hidden)], [shape=(n_songs, n_targets)] (NaN unknown)
            n_frame_songs: how many songs the frame rows come from.
        """
        known = torch.isfinite(clip_t).all(dim=1)
        if not bool(known.any()):
            return h, t
        scale = math.sqrt(max(1.0, h.shape[1] / max(1, n_frame_songs)))
        extra_h = clip_h[known].transpose(0, 1) * scale  # (n_targets, n_clips, hidden)
        extra_t = clip_t[known].transpose(0, 1)[..., None] * scale
        return torch.cat([h, extra_h], dim=1), torch.cat([t, extra_t], dim=1)

    def song_outputs(self, output: ModelOutput, lengths: Tensor) -> Tensor:
        """Each scale's song mean (the scales train separately, so a clip label trains each of them).

        Returns:
            [shape=(batch, n_scales, n_targets)]
        """
        scale_predictions = output.explanations["scale_predictions"]  # (batch, n_frames, n_scales, n_targets)
        inside = (torch.arange(scale_predictions.shape[1], device=scale_predictions.device)[None, :]
                  < lengths.to(scale_predictions.device)[:, None]).to(scale_predictions.dtype)[:, :, None, None]
        return (scale_predictions * inside).sum(1) / inside.sum(1).clamp_min(1.0)

    @torch.no_grad()
    def fit_closed_form(self, batches: Iterable[Batch], *, val_batches: Iterable[Batch] = ()) -> None:
        """Solve the ELM readout ``beta = pinv(H) T`` (Section 2.2) on annotated frames.

        Section 3.4 fits the ELM on the BLSTMs' outputs for held-out data, not on
        the data they were trained on (where their outputs are too good to learn
        how to weigh them): the validation batches are used when there are any,
        else the training batches. The scale networks run in eval mode (no noise
        is added here). Does nothing for AVG fusion. Songs labelled only per clip
        (4Q's quadrant signs; not in the paper) add one row each through
        :meth:`_with_clip_rows`.

        Raises:
            MemoError: the batches hold no annotated frame.
        """
        if self.config.fusion != "elm":
            return
        was_training = self.training
        self.eval()
        val_batches = list(val_batches)
        hidden, targets = [], []
        clip_hidden, clip_targets = [], []
        try:
            for batch in (val_batches if any(b.mask.any() for b in val_batches) else batches):
                scale_predictions = self(batch.x, batch.lengths).explanations["scale_predictions"]
                h = self.elm_hidden(self.supervector(scale_predictions, batch.lengths))
                hidden.append(h[batch.mask])  # (n_annotated, n_targets, elm_hidden)
                targets.append(batch.y[batch.mask])  # (n_annotated, n_targets)
                if batch.song_y is not None and batch.song_mask is not None:
                    clip = batch.song_mask & ~batch.mask.any(dim=1, keepdim=True)  # clip-labelled songs only
                    if bool(clip.any()):
                        inside = (torch.arange(h.shape[1], device=h.device)[None, :] < batch.lengths[:, None])
                        inside = inside.to(h.dtype)[:, :, None, None]
                        mean_h = (h * inside).sum(1) / inside.sum(1).clamp_min(1.0)  # (batch, n_targets, hidden)
                        clip_hidden.append(mean_h), clip_targets.append(torch.where(
                            clip, batch.song_y.to(h.dtype) * self.config.clip_target, torch.full_like(
                                batch.song_y, float("nan"), dtype=h.dtype)))
        finally:
            self.train(was_training)
        if not hidden or sum(len(h) for h in hidden) == 0:
            raise MemoError("dblstm_elm: no annotated frames to fit the ELM readout on")
        h = torch.cat(hidden).double().transpose(0, 1)  # (n_targets, n_rows, elm_hidden)
        t = torch.cat(targets).double().transpose(0, 1)[..., None]  # (n_targets, n_rows, 1)
        if clip_hidden:
            h, t = self._with_clip_rows(h, t, torch.cat(clip_hidden).double(), torch.cat(clip_targets).double(),
                                        n_frame_songs=sum(int(b.mask.any(dim=1).sum()) for b in (
                                            val_batches if any(b.mask.any() for b in val_batches) else [])) or 1)
        if self.config.elm_ridge > 0:
            gram = h.transpose(1, 2) @ h
            eye = torch.eye(gram.shape[-1], dtype=gram.dtype, device=gram.device)
            beta = torch.linalg.solve(gram + self.config.elm_ridge * eye, h.transpose(1, 2) @ t)
        else:
            beta = torch.linalg.pinv(h) @ t
        self.elm_output_weight.copy_(beta[..., 0].to(self.elm_output_weight.dtype))
        self.elm_fitted.fill_(True)
