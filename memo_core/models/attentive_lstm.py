"""Chaki et al. (ISMIR 2020): attentive LSTMs (AT, BAT), their LSTM baseline and a Transformer.

S. Chaki, P. Doshi, S. Bhattacharya and P. Patnaik, "Explaining perceived
emotion predictions in music: an attentive approach", ISMIR 2020
(``shared/papers/chaki2020_attentive_lstm_AT_BAT.md``).

Four registered models, all mapping ``x [batch, n_frames, n_features]`` to one
prediction per frame:

* ``chaki_lstm``: stacked unidirectional LSTM + per-frame linear readout (the
  paper's "LSTM" rows and its Weninger et al. baseline, ``LSTM_400``);
* ``at``: LSTM encoder, Bahdanau additive attention over every frame of the
  song, output fed back autoregressively (Eq. 1-4);
* ``bat``: the same with *backward* attention over frames ``k <= t-1`` only
  (Sec. 3.2), which makes the whole model causal;
* ``transformer``: a Vaswani et al. encoder with 1, 2 or 4 layers (Sec. 3.3, Eq. 5).

Preset names follow the paper: the hidden sizes of the stacked layers joined by
``_`` (``AT_2048_1024`` is a 2048-unit LSTM under a 1024-unit one). The paper
trains one model per dimension (``n_targets=1``) on 6670 ComParE features;
presets keep the :class:`SequenceConfig` defaults, so pass ``n_features`` and
``n_targets`` for the data at hand.

Span: the models attend over (and run their LSTM through) every frame they are
given. The paper gives them "the last 30s or the last 61 frames of each clip"
of emoMusic (Sec. 4.1), the annotated 15-45 s, so its attention maps are
61 x 61; ``reproduce`` does the same (``RunSpec.span="annotated"``, each song
cut to its annotated frames by
:func:`memo_core.data.sequences.crop_to_annotated`). ``train`` and the shipped
checkpoints feed whole songs: the shipped ``at``, ``bat``, ``chaki_lstm``,
``transformer`` (``tiny``, ``deam260_tonal``) were trained on all 90 frames of
the synthetic corpus's 45 s songs (the first 29 unannotated) and whole 4Q
clips, and at prediction attend over every frame of the song.

Stopping: RMSProp (PyTorch's, alpha 0.99; TensorFlow's decay is 0.9), early
stopping after 5 epochs without a better validation loss, and the best
validation epoch's weights kept (the paper does not say which weights it kept;
a Keras ``EarlyStopping`` at its defaults keeps the last epoch's); its 1e-4
minimum improvement is not applied. The LSTMs' forget-gate bias starts at
PyTorch's small random value (Keras adds 1). The shipped checkpoints stopped
after 7 (``at``, ``bat``, ``chaki_lstm``) or 11 (``transformer``) epochs and
kept epoch 2 or 6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from memo_core.models.base import SequenceConfig, SequenceModel
from memo_core.models.layers import AdditiveAttention, MaskedSoftmax, length_mask
from memo_core.models.outputs import ModelOutput
from memo_core.models.registry import register_model

__all__ = [
    "StackedLSTM",
    "ChakiLSTM",
    "ChakiLSTMConfig",
    "AT",
    "ATConfig",
    "BAT",
    "BATConfig",
    "Transformer",
    "TransformerConfig",
    "MultiHeadSelfAttention",
    "PAPER_TRAIN_DEFAULTS",
]

# Sec. 4.1: MSE loss, RMSProp with (TensorFlow's default) lr 0.001, batches of 20
# songs, at most 50 epochs, early stopping after 5 epochs without improvement
# (the paper's 1e-4 minimum improvement is not a TrainConfig field). Everything
# else is left at TensorFlow 1.14 defaults: no weight decay, noise or clipping.
PAPER_TRAIN_DEFAULTS: dict[str, Any] = {
    "optimizer": "rmsprop",
    "lr": 1e-3,
    "batch_size": 20,
    "max_epochs": 50,
    "patience": 5,
    "loss": "mse",
    "weight_decay": 0.0,
    "input_noise_std": 0.0,
    "segment_frames": None,
    "grad_clip": None,
}


def _valid_frames(x: Tensor, lengths: Tensor | None) -> Tensor:
    """True on each song's real frames. [shape=(batch, n_frames)]"""
    return length_mask(lengths, x.shape[1], batch=x.shape[0]).to(x.device)


class StackedLSTM(nn.Module):
    """Unidirectional LSTM layers of different sizes, one over the other.

    ``nn.LSTM(num_layers=n)`` needs equal sizes; the paper stacks e.g. 2048 then
    1024 units. Unidirectional, so frame t sees frames ``<= t`` only and
    trailing padding never reaches a valid frame.

    Shapes: x [batch, n_frames, input_size] -> h [batch, n_frames, hidden_sizes[-1]].
    """

    def __init__(self, input_size: int, hidden_sizes: tuple[int, ...]):
        super().__init__()
        if not hidden_sizes:
            raise ValueError("hidden_sizes needs at least one layer")
        sizes = (input_size, *hidden_sizes)
        self.layers = nn.ModuleList(nn.LSTM(sizes[i], sizes[i + 1], batch_first=True) for i in range(len(hidden_sizes)))

    @property
    def output_size(self) -> int:
        return self.layers[-1].hidden_size

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x, _ = layer(x)
        return x


# --------------------------------------------------------------------------- LSTM


@dataclass
class ChakiLSTMConfig(SequenceConfig):
    """Attributes:
    hidden_sizes: units of each stacked LSTM layer, input side first.
    """

    hidden_sizes: tuple[int, ...] = (400,)


_LSTM_SIZES = [(128,), (300,), (400,), (512,), (700,), (1024,), (2048,),
               (700, 128), (700, 400), (2048, 1024), (2048, 1024, 700)]


def _name(prefix: str, sizes: tuple[int, ...]) -> str:
    return prefix + "_" + "_".join(map(str, sizes))


@register_model(
    "chaki_lstm",
    config=ChakiLSTMConfig,
    presets={
        **{_name("LSTM", s): ChakiLSTMConfig(hidden_sizes=s) for s in _LSTM_SIZES},
        "tiny": ChakiLSTMConfig(hidden_sizes=(16,)),
    },
)
class ChakiLSTM(SequenceModel):
    """The LSTM rows of Chaki et al. (2020), Tables 1-2: ``y_t = W h_t + b``.

    A stack of unidirectional LSTMs (``LSTM_400`` is their reproduction of
    Weninger et al.'s baseline; ``LSTM_1024`` and ``LSTM_700_128`` their best
    arousal models, ``LSTM_700`` and ``LSTM_2048_1024`` the best valence ones)
    and a per-frame linear readout. Causal.

    Explanations: none.
    """

    def __init__(self, config: ChakiLSTMConfig):
        super().__init__(config)
        self.encoder = StackedLSTM(config.n_features, tuple(config.hidden_sizes))
        self.output = nn.Linear(self.encoder.output_size, config.n_targets)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> ModelOutput:
        x = x.masked_fill(~_valid_frames(x, lengths)[..., None], 0.0)
        return ModelOutput(prediction=self.output(self.encoder(x)))

    def train_defaults(self) -> dict[str, Any]:
        return dict(PAPER_TRAIN_DEFAULTS)


# --------------------------------------------------------------------------- AT / BAT


@dataclass
class ATConfig(SequenceConfig):
    """Attributes:
    hidden_sizes: units of each stacked LSTM encoder layer, input side first.
    attention_dim: size of the additive-attention scoring layer; ``None`` uses
        the top encoder layer's size (the paper does not give it).
    """

    hidden_sizes: tuple[int, ...] = (300,)
    attention_dim: int | None = None


@dataclass
class BATConfig(ATConfig):
    """BAT has AT's fields; a class of its own so a checkpoint's config says which."""


_AT_SIZES = [(32,), (64,), (128,), (300,), (400,), (512,), (700,), (1024,), (2048,),
             (300, 128), (400, 128), (1024, 400), (2048, 1024), (2048, 1024, 512)]
_BAT_SIZES = [(400,), (1024,), (2048,),
              (300, 128), (400, 128), (1024, 400), (1024, 512), (2048, 1024), (2048, 1024, 512)]


@register_model(
    "at",
    config=ATConfig,
    presets={
        **{_name("AT", s): ATConfig(hidden_sizes=s) for s in _AT_SIZES},
        "tiny": ATConfig(hidden_sizes=(16,), attention_dim=8),
    },
)
class AT(SequenceModel):
    """The attention model AT of Chaki et al. (2020), Sec. 3.1, Eq. 1-4.

    * encoder: stacked unidirectional LSTM, ``h_t`` (:class:`StackedLSTM`);
    * alignment (Eq. 3), Bahdanau's additive score with the previous state as
      query: ``e_tj = v^T tanh(W_q h_{t-1} + W_k h_j + b)``, ``h_{-1} = 0``;
    * weights (Eq. 4): ``alpha_tj = softmax_j(e_tj)`` over all valid frames j
      of the song (AT) -- Eq. 3's ``j <= t-1`` range is BAT's, see :class:`BAT`;
    * context (Eq. 2): ``c_t = sum_j alpha_tj h_j``;
    * output (Eq. 1): ``y_t = g(h_t, y_{t-1}, c_t) = W_o [h_t; c_t; y_{t-1}] + b_o``
      with ``y_{-1} = 0``.

    ``y_{t-1}`` is the model's *own* previous output, in training as at
    inference (no teacher forcing): the paper names "the previous output", and
    ground truth exists only from frame 30 on. The feedback is computed in a
    loop over frames, batched over songs, and gradients flow through it. ``g``
    is a single linear layer (the paper leaves it unspecified; the targets are
    raw regressions).

    Explanations:
        ``temporal_attention`` [shape=(batch, n_frames, n_frames)]: row t holds
        ``alpha_t.``; each valid row sums to 1 over the song's valid frames;
        padded rows and columns are 0.
    """

    def __init__(self, config: ATConfig):
        super().__init__(config)
        self.encoder = StackedLSTM(config.n_features, tuple(config.hidden_sizes))
        hidden = self.encoder.output_size
        self.attention = AdditiveAttention(hidden, hidden, config.attention_dim or hidden)
        # g of Eq. 1 on [h_t; c_t; y_{t-1}]
        self.output = nn.Linear(2 * hidden + config.n_targets, config.n_targets)

    def attention_mask(self, valid: Tensor) -> Tensor:
        """Which frames k each frame t may attend to. [shape=(batch, n_frames, n_frames)]"""
        return valid[:, :, None] & valid[:, None, :]

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> ModelOutput:
        valid = _valid_frames(x, lengths)
        x = x.masked_fill(~valid[..., None], 0.0)
        h = self.encoder(x)
        previous = F.pad(h, (0, 0, 1, 0))[:, :-1]  # h_{t-1}, with h_{-1} = 0
        context, weights = self.attention(previous, h, self.attention_mask(valid))

        hidden = h.shape[-1]
        w_state, w_previous = self.output.weight[:, : 2 * hidden], self.output.weight[:, 2 * hidden :]
        drive = F.linear(torch.cat([h, context], dim=-1), w_state, self.output.bias)
        y = x.new_zeros(x.shape[0], self.n_targets)
        predictions = []
        for t in range(x.shape[1]):
            y = drive[:, t] + y @ w_previous.T
            predictions.append(y)
        return ModelOutput(prediction=torch.stack(predictions, dim=1), explanations={"temporal_attention": weights})

    def train_defaults(self) -> dict[str, Any]:
        return dict(PAPER_TRAIN_DEFAULTS)


@register_model(
    "bat",
    config=BATConfig,
    presets={
        **{_name("BAT", s): BATConfig(hidden_sizes=s) for s in _BAT_SIZES},
        "tiny": BATConfig(hidden_sizes=(16,), attention_dim=8),
    },
)
class BAT(AT):
    """The backward attention model BAT of Chaki et al. (2020), Sec. 3.2.

    As :class:`AT` (Eq. 1-4), but frame t attends only to ``h_k`` with
    ``k <= t-1`` (Eq. 3's range): ``alpha_tk = 0`` for ``k >= t``. At the first
    frame there is nothing to attend to: ``alpha_0. = 0`` and ``c_0 = 0``.
    With the unidirectional encoder, the query ``h_{t-1}`` and the causal
    output feedback, the whole model is causal: changing frames after t leaves
    predictions up to t unchanged.

    Explanations:
        ``temporal_attention`` [shape=(batch, n_frames, n_frames)]: strictly
        lower triangular; rows t >= 1 sum to 1, row 0 is all 0.
    """

    def attention_mask(self, valid: Tensor) -> Tensor:
        n_frames = valid.shape[1]
        earlier = torch.ones(n_frames, n_frames, dtype=torch.bool, device=valid.device).tril(diagonal=-1)
        return super().attention_mask(valid) & earlier


# --------------------------------------------------------------------------- Transformer


@dataclass
class TransformerConfig(SequenceConfig):
    """Attributes:
    n_layers: encoder layers (the paper tries 1, 2 and 4).
    d_model: model width (Vaswani et al.'s base model: 512).
    n_heads: attention heads.
    d_ff: feed-forward inner width.
    dropout: on attention weights and residual branches (Vaswani et al.: 0.1).
    """

    n_layers: int = 2
    d_model: int = 512
    n_heads: int = 8
    d_ff: int = 2048
    dropout: float = 0.1


class MultiHeadSelfAttention(nn.Module):
    """Scaled dot-product self-attention (Vaswani et al. Eq. 1; Chaki et al. Eq. 5), per head.

    ``softmax`` is a :class:`MaskedSoftmax` submodule so hooks can record it.

    Shapes: x [batch, n_frames, d_model], mask [batch, n_frames, n_frames]
    (True = query may attend key) -> out [batch, n_frames, d_model],
    weights [batch, n_heads, n_frames, n_frames].
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.softmax = MaskedSoftmax()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        batch, n_frames, d_model = x.shape
        d_head = d_model // self.n_heads
        q, k, v = self.qkv(x).view(batch, n_frames, 3, self.n_heads, d_head).permute(2, 0, 3, 1, 4)
        weights = self.softmax(q @ k.transpose(-1, -2) / math.sqrt(d_head), mask[:, None])
        out = (self.dropout(weights) @ v).transpose(1, 2).reshape(batch, n_frames, d_model)
        return self.out(out), weights


class _EncoderLayer(nn.Module):
    """Post-norm Transformer encoder layer (Vaswani et al. 2017, Sec. 3.1)."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.attention = MultiHeadSelfAttention(config.d_model, config.n_heads, config.dropout)
        self.norm1 = nn.LayerNorm(config.d_model)
        self.feed_forward = nn.Sequential(
            nn.Linear(config.d_model, config.d_ff), nn.ReLU(), nn.Linear(config.d_ff, config.d_model)
        )
        self.norm2 = nn.LayerNorm(config.d_model)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        attended, weights = self.attention(x, mask)
        x = self.norm1(x + self.dropout(attended))
        x = self.norm2(x + self.dropout(self.feed_forward(x)))
        return x, weights


def sinusoidal_positions(n_frames: int, d_model: int, *, device: torch.device | None = None) -> Tensor:
    """Vaswani et al.'s positional encoding. [shape=(n_frames, d_model)]"""
    position = torch.arange(n_frames, dtype=torch.float32, device=device)[:, None]
    freq = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / d_model))
    table = torch.zeros(n_frames, d_model, device=device)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq[: d_model // 2])
    return table


@register_model(
    "transformer",
    config=TransformerConfig,
    presets={
        "Transformer_1L": TransformerConfig(n_layers=1),
        "Transformer_2L": TransformerConfig(n_layers=2),
        "Transformer_4L": TransformerConfig(n_layers=4),
        "tiny": TransformerConfig(n_layers=2, d_model=16, n_heads=2, d_ff=32, dropout=0.0),
    },
)
class Transformer(SequenceModel):
    """The Transformer baseline of Chaki et al. (2020), Sec. 3.3 (Eq. 5).

    ``x -> Linear(n_features, d_model) + sinusoidal positions -> n_layers
    post-norm encoder layers (multi-head self-attention over all valid frames,
    padding masked; ReLU feed-forward) -> Linear(d_model, n_targets)`` per
    frame. The paper gives only the layer counts (1, 2, 4); widths follow
    Vaswani et al.'s base model.

    Explanations:
        ``layer_attention`` [shape=(batch, n_layers, n_heads, n_frames, n_frames)]:
        each layer's and head's softmax weights (before dropout); valid rows
        sum to 1, padded rows and columns are 0.
    """

    def __init__(self, config: TransformerConfig):
        super().__init__(config)
        self.input = nn.Linear(config.n_features, config.d_model)
        self.layers = nn.ModuleList(_EncoderLayer(config) for _ in range(config.n_layers))
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(config.d_model, config.n_targets)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> ModelOutput:
        valid = _valid_frames(x, lengths)
        x = x.masked_fill(~valid[..., None], 0.0)
        mask = valid[:, :, None] & valid[:, None, :]
        z = self.input(x) + sinusoidal_positions(x.shape[1], self.config.d_model, device=x.device)
        z = self.dropout(z)
        maps = []
        for layer in self.layers:
            z, weights = layer(z, mask)
            maps.append(weights)
        return ModelOutput(prediction=self.output(z), explanations={"layer_attention": torch.stack(maps, dim=1)})

    def train_defaults(self) -> dict[str, Any]:
        # The paper reports one training setup for all its models (Sec. 4.1).
        return dict(PAPER_TRAIN_DEFAULTS)
