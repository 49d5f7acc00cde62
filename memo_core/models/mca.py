"""Ma et al. 2017: sequence-to-one (A-)LSTM and Multi-scale Context based Attention.

Ye Ma, Xinxing Li, Mingxing Xu, Jia Jia, Lianhong Cai. "Multi-scale Context
Based Attention for Dynamic Music Emotion Prediction", ACM MM 2017
(``/work/shared/papers/ma2017_multiscale_context_attention_MCA.md``).

The prediction at frame ``t`` is a function of the ``l`` frames ending at ``t``
only (Eq. 1): every model here slides causal windows of stride 1 over the song
inside ``forward`` and runs one LSTM per window, so it predicts every frame of
its input. Three registered models:

* ``ma_lstm``  -- :class:`MaLSTM`, the last hidden state of a windowed LSTM (Eq. 3-9);
* ``ma_alstm`` -- :class:`MaALSTM`, attention over the window's hidden states (Eq. 10-13);
* ``mca``      -- :class:`MCA`, one (A-)LSTM per scale fused by attention over the
  scales' context vectors (Eq. 14-17), or by their plain average (uniform MCA).

Frames with less history than ``l`` (the first ``l - 1`` frames of a song) use
the shorter window that exists: the LSTM starts at the song's first frame (no
zero frames are fed as data) and the attention gives the missing positions
weight exactly 0. The paper needs no such rule because its windows all start
inside the 15 s of unannotated context; ours only matters for those frames.

Training (Section 4.3, every model here): RMSProp at 0.005 for 50 epochs, no
early stopping, and the weights after the 50th epoch are kept
(``train_defaults()["restore"] == "last"``: ``fit`` would otherwise restore the
best validation epoch). Where MEMO's training is not TensorFlow's: RMSProp's
decay is PyTorch's 0.99 (TensorFlow's 0.9) and epsilon 1e-8 (1e-10); the LSTM's
forget-gate bias starts at PyTorch's small random value (TensorFlow adds 1); the
L2 coefficient (not given) is 1e-4; the batch size (not given) 8.

The shipped ``mca`` and ``mca_uniform`` checkpoints (``tiny`` presets) did NOT
keep the last epoch: they were trained before ``restore`` existed, 30 epochs
without early stopping, and ``fit`` restored the best validation epoch (epoch 2
of 30 for both); :data:`memo_core.pretrained.DEFAULT_SET` keeps that recipe
(``restore="best"``). They were trained on whole songs (the synthetic corpus's
45 s, 90 frames of which the last 61 annotated; 4Q's 30 s clips, labelled per
clip), on ``deam260_tonal`` features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from memo_core.errors import MemoError
from memo_core.models.base import SequenceConfig, SequenceModel
from memo_core.models.layers import MaskedSoftmax, length_mask
from memo_core.models.outputs import ModelOutput
from memo_core.models.registry import register_model

__all__ = [
    "MaLSTMConfig",
    "MaLSTM",
    "MaALSTMConfig",
    "MaALSTM",
    "MCAConfig",
    "MCA",
    "WindowEncoder",
    "causal_windows",
    "lstm_parameter_count",
]


# ---------------------------------------------------------------------------
# Shared machinery: causal windows and the windowed (A-)LSTM encoder
# ---------------------------------------------------------------------------


def causal_windows(x: Tensor, window: int) -> tuple[Tensor, Tensor]:
    """Left-aligned causal windows of stride 1, one per frame.

    Window ``t`` holds frames ``max(0, t - window + 1) .. t`` in positions
    ``0 .. k_t - 1`` (``k_t = min(window, t + 1)``), zeros after them, so an
    LSTM packed with lengths ``k_t`` starts at the first real frame.

    Args:
        x: features [shape=(batch, n_frames, n_features)].
        window: the scale ``l`` in frames.

    Returns:
        windows [shape=(batch, n_frames, window, n_features)] and their true
        lengths ``k_t`` [shape=(n_frames,)].
    """
    batch, n_frames, n_features = x.shape
    t = torch.arange(n_frames, device=x.device)
    k = torch.clamp(t + 1, max=window)
    j = torch.arange(window, device=x.device)
    index = (t - k + 1)[:, None] + j[None, :]
    # Positions past k_t read an appended all-zero frame (never seen by the packed LSTM).
    index = torch.where(j[None, :] < k[:, None], index, torch.full_like(index, n_frames))
    padded = torch.cat([x, x.new_zeros(batch, 1, n_features)], dim=1)
    return padded[:, index], k


class WindowEncoder(nn.Module):
    """A deep LSTM run over every causal window of one scale (Eq. 3-8, 11-13).

    The context vector of frame ``t`` is the last hidden state of the top layer
    (LSTM, Eq. 9's ``h_t``) or the attention-weighted sum of the top layer's
    hidden states over the window (A-LSTM, Eq. 11-13 with
    ``e = tanh(W_A h + b_A)``, a scalar per step).

    Dropout (the paper drops half the LSTM cells' outputs) acts between LSTM
    layers and on the top layer's outputs.

    Args:
        n_features: input size.
        window: scale ``l`` in frames.
        hidden_size, n_layers, dropout: LSTM size and dropout probability.
        attention: A-LSTM if True, else plain LSTM.
    """

    def __init__(self, n_features: int, window: int, hidden_size: int, n_layers: int, dropout: float, attention: bool):
        super().__init__()
        if window < 1:
            raise MemoError(f"window length must be at least 1 frame, got {window}")
        self.window = window
        self.hidden_size = hidden_size
        self.lstm = nn.LSTM(
            n_features, hidden_size, num_layers=n_layers, batch_first=True, dropout=dropout if n_layers > 1 else 0.0
        )
        self.dropout = nn.Dropout(dropout)
        self.attention = nn.Linear(hidden_size, 1) if attention else None  # W_A, b_A (Eq. 13)
        self.softmax = MaskedSoftmax() if attention else None  # Eq. 12, hookable

    def forward(self, x: Tensor, valid: Tensor) -> tuple[Tensor, Tensor | None]:
        """Encode every valid frame's window.

        Args:
            x: features [shape=(batch, n_frames, n_features)].
            valid: True on frames inside the song [shape=(batch, n_frames)].

        Returns:
            context ``c_t`` [shape=(batch, n_frames, hidden_size)], zero on padded
            frames, and for A-LSTM the attention weights right-aligned so that
            column ``window - 1`` is frame ``t`` [shape=(batch, n_frames, window)]
            (0 on missing history and on padded frames), else ``None``.
        """
        batch, n_frames, _ = x.shape
        windows, k = causal_windows(x, self.window)
        # Only frames inside the song are encoded; windows are causal, so a valid
        # frame's window never contains end padding.
        flat = windows[valid]  # (n_valid, window, n_features)
        lengths = k.expand(batch, n_frames)[valid]
        context = x.new_zeros(batch, n_frames, self.hidden_size)
        weights = x.new_zeros(batch, n_frames, self.window) if self.attention is not None else None
        if flat.shape[0] == 0:
            return context, weights
        packed = pack_padded_sequence(flat, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, (h_n, _) = self.lstm(packed)
        if self.attention is None:
            context[valid] = self.dropout(h_n[-1])  # last real step's top-layer state (Eq. 9's h_t)
            return context, None
        h, _ = pad_packed_sequence(out, batch_first=True, total_length=self.window)
        h = self.dropout(h)
        steps = torch.arange(self.window, device=x.device)
        present = steps[None, :] < lengths[:, None]
        e = torch.tanh(self.attention(h)).squeeze(-1)  # Eq. 13
        alpha = self.softmax(e, present)  # Eq. 12, 0 past the window's true length
        context[valid] = (alpha.unsqueeze(-1) * h).sum(1)  # Eq. 11
        # Right-align: position j of a window of length k is column window - k + j.
        source = steps[None, :] - (self.window - lengths[:, None])
        right = alpha.gather(1, source.clamp_min(0)) * (source >= 0)
        weights[valid] = right
        return context, weights


def lstm_parameter_count(n_features: int, hidden_size: int, n_layers: int) -> int:
    """Parameters of ``nn.LSTM``: ``4h(in + h) + 8h`` per layer (PyTorch keeps two bias vectors)."""
    total, size_in = 0, n_features
    for _ in range(n_layers):
        total += 4 * hidden_size * (size_in + hidden_size) + 8 * hidden_size
        size_in = hidden_size
    return total


def _check_input(x: Tensor, n_features: int, model: str) -> None:
    if x.dim() != 3 or x.shape[-1] != n_features:
        raise MemoError(f"{model} expects features of shape (batch, n_frames, {n_features}), got {tuple(x.shape)}")


def _paper_train_defaults() -> dict[str, Any]:
    # Section 4.3: RMSProp, initial learning rate 0.005, "The training is stopped
    # after 50 epochs": no early stopping, and the weights after epoch 50 are the
    # model (restore="last"; the validation set chooses hyper-parameters only),
    # L2 on the weights (coefficient not given: 1e-4 is ours), shuffled every
    # epoch (fit's default). Batch size, loss and noise are not given; MSE matches
    # the RMSE the paper reports. Not matched: TensorFlow's RMSProp (decay 0.9,
    # epsilon 1e-10) is PyTorch's with alpha 0.99, eps 1e-8 here, and TensorFlow's
    # LSTM cell adds 1 to the forget-gate bias, PyTorch's does not.
    return {
        "optimizer": "rmsprop",
        "lr": 0.005,
        "batch_size": 8,
        "max_epochs": 50,
        "patience": None,
        "restore": "last",
        "weight_decay": 1e-4,
        "input_noise_std": 0.0,
        "segment_frames": None,
        "loss": "mse",
        "grad_clip": None,
    }


# ---------------------------------------------------------------------------
# Single-scale models
# ---------------------------------------------------------------------------


@dataclass
class MaLSTMConfig(SequenceConfig):
    """Single-scale windowed LSTM.

    Attributes:
        window: scale ``l``, frames of history per prediction (500 ms each).
        hidden_size: ``h``, units per LSTM layer.
        n_layers: ``n``, stacked LSTM layers.
        dropout: dropout probability on LSTM outputs (paper: 0.5).
        output_tanh: apply Eq. 9's ``tanh`` to the output (labels lie in [-1, 1]).
    """

    window: int = 10
    hidden_size: int = 200
    n_layers: int = 4
    dropout: float = 0.5
    output_tanh: bool = True


@dataclass
class MaALSTMConfig(MaLSTMConfig):
    """Single-scale windowed A-LSTM; fields as :class:`MaLSTMConfig`."""


class _SingleScale(SequenceModel):
    _attention = False

    def __init__(self, config: MaLSTMConfig):
        super().__init__(config)
        self.encoder = WindowEncoder(
            config.n_features, config.window, config.hidden_size, config.n_layers, config.dropout, self._attention
        )
        self.output = nn.Linear(config.hidden_size, config.n_targets)  # W_hv, b_v

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> ModelOutput:
        _check_input(x, self.config.n_features, type(self).__name__)
        valid = length_mask(lengths, x.shape[1], batch=x.shape[0]).to(x.device)
        context, weights = self.encoder(x, valid)
        y = self.output(context)
        if self.config.output_tanh:
            y = torch.tanh(y)
        y = y * valid.unsqueeze(-1)
        explanations = {} if weights is None else {f"window_attention/{self.config.window}": weights}
        return ModelOutput(prediction=y, explanations=explanations)

    def train_defaults(self) -> dict[str, Any]:
        return _paper_train_defaults()


@register_model(
    "ma_lstm",
    config=MaLSTMConfig,
    presets={
        # Table 1: best valence LSTM, l=10, h=200, n=4 (best arousal: l=5, h=200, n=4).
        "paper": MaLSTMConfig(window=10, hidden_size=200, n_layers=4, dropout=0.5),
        "tiny": MaLSTMConfig(window=5, hidden_size=8, n_layers=1, dropout=0.0),
    },
)
class MaLSTM(_SingleScale):
    """Sequence-to-one LSTM of Ma et al. 2017, Section 3.1, Eq. 1 and 3-9.

    Frame ``t`` is predicted from the ``window`` frames ending at ``t``
    (Eq. 1): a deep LSTM (Eq. 3-8) runs over that window and
    ``y_t = tanh(W_hv h_t + b_v)`` reads its last hidden state (Eq. 9). The
    first ``window - 1`` frames of a song use the shorter history they have.

    Explanations: none (a plain LSTM has no attention map).
    """


@register_model(
    "ma_alstm",
    config=MaALSTMConfig,
    presets={
        # Table 1: best valence A-LSTM, l=20, h=100, n=2 (best arousal: l=5, h=100, n=2).
        "paper": MaALSTMConfig(window=20, hidden_size=100, n_layers=2, dropout=0.5),
        "tiny": MaALSTMConfig(window=5, hidden_size=8, n_layers=1, dropout=0.0),
    },
)
class MaALSTM(_SingleScale):
    """Attention-based sequence-to-one LSTM of Ma et al. 2017, Eq. 1, 3-8 and 10-13.

    A deep LSTM runs over the ``window`` frames ending at ``t``; attention
    scores ``e = tanh(W_A h + b_A)`` (Eq. 13), softmax over the window (Eq. 12),
    context ``c_t = sum alpha h`` (Eq. 11), output ``y_t = tanh(W_hv c_t + b_v)``
    (Eq. 10). Missing history of the first frames gets attention weight 0.

    Explanations:
        ``window_attention/{window}``: alpha over the frames ``t - window + 1 .. t``
        [shape=(batch, n_frames, window)], column ``window - 1`` is frame ``t``;
        rows sum to 1 on frames inside the song, 0 on padded frames.
    """

    _attention = True


# ---------------------------------------------------------------------------
# Multi-scale Context based Attention
# ---------------------------------------------------------------------------


@dataclass
class MCAConfig(SequenceConfig):
    """Multi-scale Context based Attention.

    Attributes:
        scales: window lengths ``l`` of the scales, in frames (paper: 5, 10, 20).
        hidden_size: ``h`` of every scale's LSTM (shared, since ``W_FA`` and
            ``W_hv`` act on every scale's context vector).
        n_layers: stacked LSTM layers per scale.
        dropout: dropout probability on LSTM outputs (paper: 0.5).
        attention: A-LSTM scale encoders (context = attention-weighted hidden
            states) if True, plain LSTM (context = last hidden state) if False.
        uniform: fixed ``beta = 1/N`` (uniform MCA) instead of Eq. 16-17.
        output_tanh: apply Eq. 14's ``tanh`` to the output.
    """

    scales: tuple[int, ...] = (5, 10, 20)
    hidden_size: int = 150
    n_layers: int = 2
    dropout: float = 0.5
    attention: bool = True
    uniform: bool = False
    output_tanh: bool = True


@register_model(
    "mca",
    config=MCAConfig,
    presets={
        # Tables 3-4: MCA with A-LSTM, h=150, n=2 for arousal (n=3 for valence).
        "paper": MCAConfig(hidden_size=150, n_layers=2, dropout=0.5),
        "tiny": MCAConfig(hidden_size=8, n_layers=1, dropout=0.0),
        # Tables 3-4: uniform MCA with A-LSTM, h=100, n=2 for arousal (n=3 for valence).
        "uniform": MCAConfig(hidden_size=100, n_layers=2, dropout=0.5, uniform=True),
        "uniform_tiny": MCAConfig(hidden_size=8, n_layers=1, dropout=0.0, uniform=True),
    },
)
class MCA(SequenceModel):
    """Multi-scale Context based Attention of Ma et al. 2017, Eq. 2 and 14-17.

    One windowed (A-)LSTM per scale ``l_i`` (Eq. 1, 3-13) gives a context vector
    ``c_t^i`` per frame; scores ``e_t^i = tanh(W_FA c_t^i + b_FA)`` (Eq. 17),
    ``beta_t = softmax_i(e_t)`` over the scales (Eq. 16), fusion
    ``m_t = sum_i beta_t^i c_t^i`` (Eq. 15), output ``y_t = tanh(W_hv m_t + b_v)``
    (Eq. 14). Uniform MCA fixes ``beta = 1/N``: it averages the *context
    vectors* before the output layer, so its pre-``tanh`` output is the mean of
    the scales' pre-``tanh`` outputs, not the prediction the mean of theirs.
    All scales and the fusion form one module trained in one process.

    Explanations:
        ``window_attention/{l}``: each A-LSTM scale's alpha over the frames
        ``t - l + 1 .. t`` [shape=(batch, n_frames, l)] (absent for LSTM scales).
        ``scale_weights``: beta [shape=(batch, n_frames, n_scales)], scales in
        config order; rows sum to 1 inside the song, 0 on padded frames.
        ``scale_predictions``: each scale's context through the shared output
        layer, ``tanh(W_hv c_t^i + b_v)`` [shape=(batch, n_frames, n_scales, n_targets)].
    """

    def __init__(self, config: MCAConfig):
        super().__init__(config)
        scales = tuple(int(s) for s in config.scales)
        if not scales or len(set(scales)) != len(scales):
            raise MemoError(f"MCA needs distinct scales, got {config.scales!r}")
        self.scales = scales
        self.encoders = nn.ModuleList(
            WindowEncoder(config.n_features, s, config.hidden_size, config.n_layers, config.dropout, config.attention)
            for s in scales
        )
        self.fusion = None if config.uniform else nn.Linear(config.hidden_size, 1)  # W_FA, b_FA (Eq. 17)
        self.scale_softmax = MaskedSoftmax()  # Eq. 16, hookable
        self.output = nn.Linear(config.hidden_size, config.n_targets)  # W_hv, b_v (Eq. 14)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> ModelOutput:
        _check_input(x, self.config.n_features, "MCA")
        valid = length_mask(lengths, x.shape[1], batch=x.shape[0]).to(x.device)
        contexts, explanations = [], {}
        for scale, encoder in zip(self.scales, self.encoders):
            context, weights = encoder(x, valid)
            contexts.append(context)
            if weights is not None:
                explanations[f"window_attention/{scale}"] = weights
        c = torch.stack(contexts, dim=2)  # (batch, n_frames, n_scales, hidden)
        if self.fusion is None:
            e = c.new_zeros(c.shape[:3])  # equal scores: beta = 1/N
        else:
            e = torch.tanh(self.fusion(c)).squeeze(-1)  # Eq. 17
        beta = self.scale_softmax(e) * valid.unsqueeze(-1)  # Eq. 16
        m = (beta.unsqueeze(-1) * c).sum(2)  # Eq. 15
        y, per_scale = self.output(m), self.output(c)
        if self.config.output_tanh:
            y, per_scale = torch.tanh(y), torch.tanh(per_scale)
        mask = valid.unsqueeze(-1)
        explanations["scale_weights"] = beta
        explanations["scale_predictions"] = per_scale * mask.unsqueeze(-1)
        return ModelOutput(prediction=y * mask, explanations=explanations)

    def train_defaults(self) -> dict[str, Any]:
        return _paper_train_defaults()
