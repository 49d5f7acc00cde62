"""Zhang et al. 2023: Dual Attention-based Multi-scale Feature Fusion (DAMFF).

L. Zhang, X. Yang, Y. Zhang and J. Luo, "Dual attention-based multi-scale
feature fusion approach for dynamic music emotion recognition", ISMIR 2023
(``shared/papers/zhang2023_damff_dual_attention.md``).

One registered model, ``damff`` (:class:`DAMFF`), over the ``logmel128_steps``
features: one row a 500 ms step holding its 50 x 128 log-mel block. Every step
goes through the same multi-scale CNN and the Dual Attention Feature Fusion
(DAFF) module on its own (Sec. 3.1-3.2); a BiLSTM then runs over the steps of
30 s windows (Sec. 3.3), slid over longer songs as in Sec. 4.4.1.

Presets are the paper's five CNN architectures (Table 1) and four ablations
(Table 3), each at paper size (``paper``, ``paper_tf``, ..., ``paper_wo_daff``)
and at a CPU-trainable size (``tiny``, ``tiny_tf``, ..., ``tiny_wo_daff``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from memo_core.audio import FRAME_SECONDS
from memo_core.data.batching import Batch
from memo_core.errors import MemoError
from memo_core.features.spectrograms import DEFAULT_SAMPLE_RATE as LOGMEL_DEFAULT_SAMPLE_RATE
from memo_core.models.base import SequenceConfig, SequenceModel
from memo_core.models.layers import length_mask
from memo_core.models.losses import LOSSES
from memo_core.models.outputs import ModelOutput
from memo_core.models.registry import register_model

__all__ = [
    "DAMFFConfig",
    "DAMFF",
    "ConvBlock",
    "ParallelConv",
    "ChannelAttention",
    "SpatialAttention",
    "DualAttentionFusion",
    "sliding_windows",
    "mel_row_hz",
    "PAPER_FEATURE_PARAMS",
    "CPU_FEATURE_PARAMS",
    "ARCHITECTURES",
    "FUSION_MODES",
    "FUSION_MAPS",
]

#: The paper's log-mel (Sec. 4.3: "the sampling rate is 44100Hz", 128 bands, 60 ms window, 10 ms hop): the
#: ``logmel128_steps`` parameters ``reproduce`` uses for the paper-size runs. Bands reach 22.05 kHz.
PAPER_FEATURE_PARAMS: dict[str, Any] = {"sample_rate": 44_100}
#: The CPU preset: the same log-mel of the signal resampled to 16 kHz (bands stop at 8 kHz), the feature
#: set's default; the shipped ``damff`` checkpoint and ``reproduce --quick`` use it. The model is the
#: same either way (128 x 50 blocks a step); extraction costs about 0.18 s per 45 s clip at 16 kHz and
#: 0.41 s at 44.1 kHz on one core (a 44.1 kHz WAV, measured for issue 14).
CPU_FEATURE_PARAMS: dict[str, Any] = {"sample_rate": 16_000}

# Table 1's five CNN architectures as kernel pairs per layer, "HxW" = mel bins x
# spectrogram frames. Figure 4 is not in the text; this is MEMO's reading (see DAMFF).
ARCHITECTURES: dict[str, tuple[str, ...]] = {
    "hybrid": ("3x1+1x5", "3x3+5x5", "3x3+5x5"),
    "tf": ("3x1+1x5", "3x1+1x5", "3x1+1x5"),
    "square": ("3x3+5x5", "3x3+5x5", "3x3+5x5"),
    "ts": ("1x5+3x3", "3x3+5x5", "3x3+5x5"),
    "fs": ("3x1+3x3", "3x3+5x5", "3x3+5x5"),
}

# Table 3's ablations; "daff" is the full module.
FUSION_MODES = ("daff", "wo_fusion", "wo_channel", "wo_spatial", "wo_daff")
# The explanation maps each fusion mode returns (an ablated component has no map).
FUSION_MAPS: dict[str, tuple[str, ...]] = {
    "daff": ("spatial_attention", "channel_attention", "fusion_gate"),
    "wo_fusion": ("spatial_attention", "channel_attention"),
    "wo_channel": ("spatial_attention", "fusion_gate"),
    "wo_spatial": ("channel_attention", "fusion_gate"),
    "wo_daff": (),
}

_LOSSES = ("ccc", "rmse", "mse")
# In eval mode the per-step CNN runs over at most this many steps at once, so a
# long song's activations stay bounded (batch norm then uses running statistics,
# so chunks give exactly the unchunked result).
_EVAL_CHUNK_STEPS = 256


# --------------------------------------------------------------------------- config


@dataclass
class DAMFFConfig(SequenceConfig):
    """Attributes:
    n_features: features per 500 ms step, ``n_mels * frames_per_step``.
    n_targets: outputs per step.
    target_names: the targets in output order; they choose each target's loss.
    n_mels: mel bands of the spectrogram (rows of a step's block).
    frames_per_step: spectrogram frames in a 500 ms step (10 ms hop).
    channels: output channels of each branch of each convolutional layer.
    kernels: each layer's two parallel kernels, ``"3x1+1x5"`` (mel bins x frames);
        the second-last layers' branches are concatenated, the last layer's
        branches are DAFF's A and B. See :data:`ARCHITECTURES`.
    first_layer_concat: axis along which the first layer's branches are joined:
        ``"time"`` (the paper) or ``"channel"``; later layers use channels.
    fusion: ``"daff"`` or an ablation of Table 3 (:data:`FUSION_MODES`).
    reduction: ratio r of both attention excitations (C -> C/r -> C, HW -> HW/r -> HW).
    reduce_dim: size of the per-step feature the BiLSTM reads.
    hidden_size: BiLSTM units per direction.
    dropout: on the reduced per-step features.
    window_seconds: BiLSTM window T (the paper's 30 s training snippets).
    hop_seconds: sliding-window hop t for longer songs (Sec. 4.4.1).
    arousal_loss, valence_loss: ``"ccc"`` (1 - CCC), ``"rmse"`` or ``"mse"`` (Sec. 4.3).
    """

    n_features: int = 6400
    n_targets: int = 2
    target_names: tuple[str, ...] = ("valence", "arousal")
    n_mels: int = 128
    frames_per_step: int = 50
    channels: tuple[int, ...] = (16, 32, 64)
    kernels: tuple[str, ...] = ARCHITECTURES["hybrid"]
    first_layer_concat: str = "time"
    fusion: str = "daff"
    reduction: int = 4
    reduce_dim: int = 256
    hidden_size: int = 128
    dropout: float = 0.3
    window_seconds: float = 30.0
    hop_seconds: float = FRAME_SECONDS
    arousal_loss: str = "ccc"
    valence_loss: str = "rmse"


def _parse_kernel(spec: str) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in spec.lower().split("x"))
    except ValueError:
        raise MemoError(f"DAMFF kernel {spec!r} is not 'HxW' (mel bins x frames), e.g. '3x1'") from None
    if height < 1 or width < 1 or height % 2 == 0 or width % 2 == 0:
        raise MemoError(f"DAMFF kernel {spec!r} must have odd sizes >= 1 so 'same' padding keeps the shape")
    return height, width


def _parse_pair(spec: str) -> tuple[tuple[int, int], tuple[int, int]]:
    parts = str(spec).split("+")
    if len(parts) != 2:
        raise MemoError(f"DAMFF layer kernels {spec!r} must name two parallel kernels, e.g. '3x3+5x5'")
    return _parse_kernel(parts[0]), _parse_kernel(parts[1])


def _steps(seconds: float, what: str) -> int:
    steps = seconds / FRAME_SECONDS
    if not math.isclose(steps, round(steps), abs_tol=1e-6) or round(steps) < 1:
        raise MemoError(f"DAMFF {what} must be a positive multiple of {FRAME_SECONDS} s, got {seconds}")
    return int(round(steps))


# --------------------------------------------------------------------------- blocks


class ConvBlock(nn.Sequential):
    """``Conv2d`` ('same' padding) -> BN -> ReLU -> 2x2 max pool (Sec. 3.1).

    The pool runs before the ReLU: max and ReLU commute exactly (values and
    gradients), and the ReLU then touches a quarter of the values.

    Shapes: [n, in_channels, H, W] -> [n, out_channels, H // 2, W // 2].
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int]):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel, padding=(kernel[0] // 2, kernel[1] // 2), bias=False),
            nn.BatchNorm2d(out_channels),
            nn.MaxPool2d(2),
            nn.ReLU(inplace=True),  # in place on the pool's output, which its backward does not need
        )


class ParallelConv(nn.Module):
    """Two parallel :class:`ConvBlock` s on the same input, joined by ``concat``.

    Args:
        concat: ``"time"`` (the last axis: widths add), ``"channel"`` (channels
            add) or ``None`` (both outputs returned: the last layer's A and B).
    """

    def __init__(self, in_channels: int, out_channels: int, kernels: str, concat: str | None):
        super().__init__()
        first, second = _parse_pair(kernels)
        self.first = ConvBlock(in_channels, out_channels, first)
        self.second = ConvBlock(in_channels, out_channels, second)
        self.concat = concat

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        a, b = self.first(x), self.second(x)
        if self.concat is None:
            return a, b
        return torch.cat([a, b], dim=-1 if self.concat == "time" else 1)


class ChannelAttention(nn.Module):
    """SCAM's channel attention, Eq. 1: ``C = BN(Conv_2(ReLU(BN(Conv_1(GAP(X))))))``.

    Point-wise convolutions C -> C/r -> C. Shapes: X [n, C, H, W] -> C [n, C, 1, 1] (logits).
    """

    def __init__(self, channels: int, reduction: int):
        super().__init__()
        inner = max(1, channels // reduction)
        self.excite = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, inner, 1, bias=False),
            nn.BatchNorm2d(inner),
            nn.ReLU(),
            nn.Conv2d(inner, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.excite(x)


class SpatialAttention(nn.Module):
    """SCAM's spatial attention, Eq. 2: ``S = BN(Conv1d_2(ReLU(BN(Conv1d_1(Pool1d(X))))))``.

    X is viewed as [(H*W), C] and averaged over channels; the H*W positions are
    the channels of point-wise ``Conv1d`` s HW -> HW/r -> HW, so H and W are
    fixed by the configuration. Shapes: X [n, C, H, W] -> S [n, 1, H, W] (logits).
    """

    def __init__(self, height: int, width: int, reduction: int):
        super().__init__()
        positions = height * width
        inner = max(1, positions // reduction)
        self.height, self.width = height, width
        self.excite = nn.Sequential(
            nn.Conv1d(positions, inner, 1, bias=False),
            nn.BatchNorm1d(inner),
            nn.ReLU(),
            nn.Conv1d(inner, positions, 1, bias=False),
            nn.BatchNorm1d(positions),
        )

    def forward(self, x: Tensor) -> Tensor:
        pooled = x.mean(dim=1).flatten(1).unsqueeze(-1)  # (n, H*W, 1): Pool1d over channels
        return self.excite(pooled).view(x.shape[0], 1, self.height, self.width)


class DualAttentionFusion(nn.Module):
    """DAFF: SCAM (Eq. 1-3) and the attentional fusion of A and B (Eq. 4).

    ``X = A + B``; ``X' = sigmoid(S + C)`` (Eq. 3); ``Z = X' * A + (1 - X') * B`` (Eq. 4).
    Ablations (Table 3): ``wo_fusion`` gives ``Z = X' * X``; ``wo_channel``
    uses ``X' = sigmoid(S)``; ``wo_spatial`` ``X' = sigmoid(C)``; ``wo_daff``
    gives ``Z = A + B`` and has no attention at all. The sigmoid of Eq. 3 is the
    submodule ``gate``, so a hook can read or replace X'.

    Shapes: A, B [n, C, H, W] -> Z [n, C, H, W] and a dict of maps, each
    present only where the mode has the component: ``"spatial"`` sigmoid(S)
    [n, H, W], ``"channel"`` sigmoid(C) [n, C], ``"gate"`` X' averaged over
    channels [n, H, W] (modes that fuse A and B by X').
    """

    def __init__(self, channels: int, height: int, width: int, reduction: int, mode: str):
        super().__init__()
        if mode not in FUSION_MODES:
            raise MemoError(f"DAMFF fusion {mode!r} is unknown; choose one of {', '.join(FUSION_MODES)}")
        self.mode = mode
        self.channel = ChannelAttention(channels, reduction) if mode in ("daff", "wo_fusion", "wo_spatial") else None
        self.spatial = SpatialAttention(height, width, reduction) if mode in ("daff", "wo_fusion", "wo_channel") else None
        self.gate = nn.Sigmoid() if mode != "wo_daff" else None

    def forward(self, a: Tensor, b: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        x = a + b
        if self.gate is None:
            return x, {}
        maps: dict[str, Tensor] = {}
        logits = 0.0
        if self.spatial is not None:
            s = self.spatial(x)
            maps["spatial"] = torch.sigmoid(s[:, 0])
            logits = logits + s
        if self.channel is not None:
            c = self.channel(x)
            maps["channel"] = torch.sigmoid(c.flatten(1))
            logits = logits + c
        gate = self.gate(logits).expand_as(x)  # X', Eq. 3
        if self.mode == "wo_fusion":
            return gate * x, maps
        maps["gate"] = gate.mean(dim=1)
        return gate * a + (1 - gate) * b, maps  # Eq. 4


def mel_row_hz(bands: np.ndarray, *, n_mels: int, sample_rate: int) -> np.ndarray:
    """Frequencies (Hz) of fractional mel-band indices of ``logmel128``'s filter bank.

    Band ``k`` of ``n_mels`` Slaney mel filters from 0 Hz to ``sample_rate / 2``
    (librosa's defaults, as ``logmel128`` computes them) is centred on the
    ``k + 1``-th of ``n_mels + 2`` points evenly spaced on the mel scale; a
    fractional index is placed between its neighbours on that scale. [shape=bands.shape]
    """
    # lazy: librosa loads numba (about 1 s); only explaining a song needs it, after extracting its log-mel
    import librosa

    top = float(librosa.hz_to_mel(sample_rate / 2.0))
    position = np.clip(np.asarray(bands, dtype=np.float64) + 1.0, 0.0, n_mels + 1.0)
    return np.asarray(librosa.mel_to_hz(position * top / (n_mels + 1)), dtype=np.float64)


def sliding_windows(n_steps: int, window: int, hop: int) -> tuple[list[int], list[int]]:
    """Sec. 4.4.1's test-time windows over a song of ``n_steps`` steps.

    The first window gives all its outputs, each next one (``hop`` later) only
    its last ``hop``. When ``n_steps - window`` is not a multiple of ``hop``, a
    last window aligned to the song's end gives only the steps not yet
    predicted, so every step is predicted exactly once. A song of at most
    ``window`` steps is one window.

    Returns:
        ``(starts, keep_from)``: each window's first step, and the position in
        the window of its first output kept.
    """
    if n_steps <= window:
        return [0], [0]
    n_hops = (n_steps - window) // hop
    starts = [k * hop for k in range(n_hops + 1)]
    keep_from = [0] + [window - hop] * n_hops
    rest = n_steps - window - n_hops * hop
    if rest:
        starts.append(n_steps - window)
        keep_from.append(window - rest)
    return starts, keep_from


# --------------------------------------------------------------------------- model


_PAPER = DAMFFConfig()
_TINY = replace(_PAPER, channels=(8, 8, 16), reduce_dim=32, hidden_size=32, dropout=0.1)
_VARIANTS: dict[str, dict[str, Any]] = {
    "": {},
    **{f"_{arch}": {"kernels": kernels} for arch, kernels in ARCHITECTURES.items() if arch != "hybrid"},
    **{f"_{mode}": {"fusion": mode} for mode in FUSION_MODES if mode != "daff"},
}


@register_model(
    "damff",
    config=DAMFFConfig,
    presets={
        f"{size}{suffix}": replace(base, **changes)
        for size, base in (("paper", _PAPER), ("tiny", _TINY))
        for suffix, changes in _VARIANTS.items()
    },
    default_preset="tiny",
)
class DAMFF(SequenceModel):
    """DAMFF of Zhang et al. (2023), Sec. 3, Eq. 1-4.

    Per 500 ms step (shared weights, like a TimeDistributed CNN): the step's
    block [1, n_mels (freq, low to high), frames_per_step (time)] goes through

    1. layer 1, two parallel convolutions (paper: frequency 3x1 and temporal
       1x5) joined along TIME (width doubles);
    2. layer 2, two parallel convolutions (3x3, 5x5) joined along channels;
    3. layer 3, two parallel convolutions (3x3 -> A, 5x5 -> B), [C, H, W];
    4. DAFF (:class:`DualAttentionFusion`): channel attention C (Eq. 1),
       spatial attention S (Eq. 2), ``X' = sigmoid(S + C)`` (Eq. 3),
       ``Z = X' * A + (1 - X') * B`` (Eq. 4);
    5. dimension reduction: ``Linear(C*H*W -> reduce_dim)`` on the flattened
       Z, then dropout;

    then a one-layer BiLSTM over the steps of a window and
    ``Linear(2 * hidden_size -> n_targets)`` per step. Predictions are raw
    (no tanh): the targets are plain regressions and the losses need none.

    Every convolution is Conv (no bias) -> BN -> ReLU -> 2x2 max pool with
    'same' padding ("After each convolutional layer, batch normalization, ReLU
    and max pooling are applied"), each branch with its own BN, applied before
    the branches are joined; with even widths pooling before or after the join
    is the same. With the paper's 128 x 50 blocks: layer 1 [c1, 64, 25 + 25],
    layer 2 [2 c2, 32, 25], A and B [C, 16, 12], H * W = 192.

    Choices where the paper is silent (MEMO's reading):

    * architectures (Table 1; Figure 4 is not in the text), kernel pairs per
      layer: ``hybrid`` 3x1+1x5 | 3x3+5x5 | 3x3+5x5 (Sec. 3.1); ``tf``
      3x1+1x5 in every layer; ``square`` 3x3+5x5 in every layer; ``ts``
      1x5+3x3 | 3x3+5x5 | 3x3+5x5 (layer 1's frequency filter becomes square);
      ``fs`` 3x1+3x3 | 3x3+5x5 | 3x3+5x5 (its temporal filter becomes square).
      Every variant joins layer 1 along time.
    * sizes: branch channels (16, 32, 64) so A and B have the paper's 64
      channels; reduction ratio r = 4 for both excitations (as in Dai et al.'s
      attentional feature fusion, the paper's [36]); reduce_dim 256; BiLSTM 128
      units a direction, one layer; dropout 0.3.
    * ablation "w/o fusion strategy" passes ``X' * X`` on.

    Sliding windows (Sec. 4.4.1): the CNN and DAFF run once per step of the
    whole song; the BiLSTM runs over windows of T = window_seconds / 0.5 steps
    with hop t = hop_seconds / 0.5 (default 0.5 s, the paper's best valence
    hop in Figure 3; it uses 2.5 s for arousal), all windows of all songs in
    one packed LSTM call. See :func:`sliding_windows` for which window
    predicts which step (the last, partial hop comes from a window aligned to
    the song's end). A song of at most T steps is one pass. Each song is
    windowed by its own length, so a padded batch gives each song its output alone.

    Training (Sec. 4.3): Adam, lr 3e-4, batch 32, 100 epochs, early stopping
    (patience 10, MEMO's choice: the paper gives none; the best validation
    epoch's weights are kept), random 30 s windows; loss per target: 1 - CCC
    for arousal, RMSE for valence (configurable), summed over targets.

    Input: the paper computes its log-mel at 44.1 kHz (bands up to 22.05 kHz):
    :data:`PAPER_FEATURE_PARAMS`, which ``reproduce`` uses for paper-size runs.
    The feature set's default is the cheaper 16 kHz (bands up to 8 kHz,
    :data:`CPU_FEATURE_PARAMS`), used by ``train`` (which takes the feature
    set's defaults), by ``reproduce --quick`` and by the shipped checkpoint.
    The model itself does not depend on the rate (a step is always 128 x 50);
    a checkpoint records its rate in its feature spec, and
    :meth:`explanation_axes` turns the rows into Hz at that rate.

    The shipped ``damff`` checkpoint (``tiny``): 16 kHz log-mel, trained on 30 s
    windows drawn from whole songs (the synthetic corpus's 45 s, 4Q's 30 s
    clips), 10 epochs (capped from 100), patience 10 never reached, the best
    validation epoch (6) kept. At prediction it slides 30 s windows over the
    whole song (hop 0.5 s).

    Explanations (padded steps are 0; left out where the ablation lacks the component):
        ``spatial_attention`` [shape=(batch, n_frames, H, W')]: sigmoid(S) of
        every step, in [0, 1]; rows are mel-band groups, low to high. When
        layer 1 joins along time, the map's two time halves (one per layer-1
        branch) are averaged, so W' = W // 2 columns run through the step's
        0.5 s in time order (a middle column of odd W is dropped). Column j
        stands for frames 8j .. 8j + 7 of the step (with 3 layers); the pools
        straddle the join, so the second half's column j sits 2 frames (20 ms)
        earlier, and 'same' convolutions blur the join as well.
        ``channel_attention`` [shape=(batch, n_frames, C)]: sigmoid(C), in [0, 1].
        ``fusion_gate`` [shape=(batch, n_frames, H, W')]: X' averaged over
        channels (the share of the 3x3 branch A in Z), halves as above.
        :meth:`explanation_axes` names their axes (rows in Hz at the checkpoint's
        sample rate).

        What each does in the forward pass: only ``fusion_gate`` (X') weighs
        anything: Z = X' A + (1 - X') B chooses, per position and channel,
        between the 3x3 branch A and the 5x5 branch B. sigmoid(S) and sigmoid(C)
        are never applied to the features on their own (the gate is
        sigmoid(S + C), not their product): a bright ``spatial_attention`` cell
        leans that position toward A, for every channel, by an amount C can
        outweigh; it does not say the position was amplified, kept or important.
        In the ablations, ``wo_fusion`` does multiply: Z = X' (A + B).
    """

    #: The feature set it is trained on when none is named: one 50 x 128 log-mel block per 500 ms step.
    default_features = "logmel128_steps"
    #: The paper's metrics: CCC, PCC and RMSE per song, averaged over songs (Sec. 4.2).
    metrics_protocol = "per-song"

    def set_hop_seconds(self, hop_seconds: float) -> None:
        """Change the test-time hop t of the sliding windows (no weight depends on it; Figure 3 varies it).

        Raises:
            MemoError: not a positive multiple of 0.5 s, or longer than the window.
        """
        hop_steps = _steps(hop_seconds, "hop_seconds")
        if hop_steps > self.window_steps:
            raise MemoError(f"DAMFF hop_seconds ({hop_seconds}) must not exceed window_seconds "
                            f"({self.config.window_seconds})")
        self.hop_steps = hop_steps
        self.config = replace(self.config, hop_seconds=float(hop_seconds))

    def __init__(self, config: DAMFFConfig):
        super().__init__(config)
        c = config
        if c.n_features != c.n_mels * c.frames_per_step:
            raise MemoError(
                f"DAMFF expects n_features = n_mels * frames_per_step = {c.n_mels} * {c.frames_per_step} = "
                f"{c.n_mels * c.frames_per_step} (one 500 ms log-mel block a step, the 'logmel128_steps' "
                f"features), got n_features={c.n_features}"
            )
        channels, kernels = tuple(int(v) for v in c.channels), tuple(str(k) for k in c.kernels)
        if len(channels) != len(kernels) or len(channels) < 2:
            raise MemoError(f"DAMFF needs as many channel sizes as kernel pairs, at least 2; got "
                            f"channels={channels}, kernels={kernels}")
        if c.first_layer_concat not in ("time", "channel"):
            raise MemoError(f"DAMFF first_layer_concat must be 'time' or 'channel', got {c.first_layer_concat!r}")
        for name in ("arousal_loss", "valence_loss"):
            if getattr(c, name) not in _LOSSES:
                raise MemoError(f"DAMFF {name} {getattr(c, name)!r} is unknown; choose one of {', '.join(_LOSSES)}")
        if c.reduction < 1:
            raise MemoError(f"DAMFF reduction must be >= 1, got {c.reduction}")
        self.window_steps = _steps(c.window_seconds, "window_seconds")
        self.set_hop_seconds(c.hop_seconds)

        layers, in_channels = [], 1
        height, width = c.n_mels, c.frames_per_step
        for i, (out_channels, pair) in enumerate(zip(channels, kernels)):
            last = i == len(channels) - 1
            concat = None if last else (c.first_layer_concat if i == 0 else "channel")
            layers.append(ParallelConv(in_channels, out_channels, pair, concat))
            height, width = height // 2, width // 2
            if concat == "time":
                width *= 2
            in_channels = out_channels if concat == "time" else 2 * out_channels
        self.halves = c.first_layer_concat == "time"
        if height < 1 or width < (2 if self.halves else 1):
            raise MemoError(f"DAMFF's {len(channels)} pooling layers leave no map of a {c.n_mels} x "
                            f"{c.frames_per_step} block; use more mel bands or frames per step")
        self.layers = nn.ModuleList(layers)
        self.map_channels, self.map_height, self.map_width = channels[-1], height, width
        self.pool_factor = 2 ** len(channels)  # mel bands / frames behind one map cell
        self.fusion = DualAttentionFusion(channels[-1], height, width, c.reduction, c.fusion)
        self.reduce = nn.Linear(channels[-1] * height * width, c.reduce_dim)
        self.dropout = nn.Dropout(c.dropout)
        self.lstm = nn.LSTM(c.reduce_dim, c.hidden_size, batch_first=True, bidirectional=True)
        self.output = nn.Linear(2 * c.hidden_size, c.n_targets)

    # ------------------------------------------------------------------ per step

    def encode_steps(self, steps: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """CNN + DAFF + reduction of independent steps.

        Args:
            steps: step rows [shape=(n, n_features)], time-major blocks.

        Returns:
            features [shape=(n, reduce_dim)] and the DAFF maps of
            :class:`DualAttentionFusion`, halves averaged [shape=(n, H, W')].
        """
        if not self.training and steps.shape[0] > _EVAL_CHUNK_STEPS:
            parts = [self.encode_steps(chunk) for chunk in steps.split(_EVAL_CHUNK_STEPS)]
            return (torch.cat([f for f, _ in parts]),
                    {k: torch.cat([m[k] for _, m in parts]) for k in parts[0][1]})
        c = self.config
        x = steps.view(-1, c.frames_per_step, c.n_mels).transpose(1, 2).unsqueeze(1)  # (n, 1, freq, time)
        # Channels-last runs oneDNN's convolutions about twice as fast for these few channels.
        x = x.contiguous(memory_format=torch.channels_last)
        for layer in self.layers[:-1]:
            x = layer(x)
        a, b = self.layers[-1](x)
        z, maps = self.fusion(a, b)
        maps = {k: (v if k == "channel" else self._average_halves(v)) for k, v in maps.items()}
        return self.dropout(self.reduce(z.flatten(1))), maps

    def _average_halves(self, m: Tensor) -> Tensor:
        """[n, H, W] -> [n, H, W']: the mean of the two layer-1 branches' time halves."""
        if not self.halves:
            return m
        half = m.shape[-1] // 2
        return 0.5 * (m[..., :half] + m[..., m.shape[-1] - half:])

    # ------------------------------------------------------------------ sequence

    def _sequence(self, features: Tensor, counts: list[int]) -> Tensor:
        """BiLSTM states of every step, sliding windows per song.

        Args:
            features: steps of all songs, song after song [shape=(n, reduce_dim)].
            counts: steps of each song (summing to n).

        Returns:
            ``[h_fwd; h_bwd]`` of every step from the window that predicts it
            [shape=(n, 2 * hidden_size)].
        """
        starts, lengths, keep = [], [], []
        offset = 0
        for n in counts:
            if n > 0:
                s, k = sliding_windows(n, self.window_steps, self.hop_steps)
                starts += [offset + v for v in s]
                keep += k
                lengths += [min(n, self.window_steps)] * len(s)
            offset += n
        device = features.device
        starts_t = torch.tensor(starts, device=device)
        lengths_t = torch.tensor(lengths, device=device)
        keep_t = torch.tensor(keep, device=device)
        span = max(lengths)
        position = torch.arange(span, device=device)[None, :]
        inside = position < lengths_t[:, None]
        # Positions past a window's length read an appended zero row the packed LSTM never sees.
        index = torch.where(inside, starts_t[:, None] + position, torch.full_like(position, features.shape[0]))
        padded = torch.cat([features, features.new_zeros(1, features.shape[1])])
        packed = pack_padded_sequence(padded[index], lengths_t.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=span)
        # Row-major order of the kept cells is song after song, step after step.
        return out[inside & (position >= keep_t[:, None])]

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> ModelOutput:
        batch, n_steps, n_features = x.shape
        if n_features != self.config.n_features:
            raise MemoError(f"DAMFF expects {self.config.n_features} features a step, got {n_features}")
        if lengths is not None:
            lengths = lengths.to(x.device).clamp(0, n_steps)
        valid = length_mask(lengths, n_steps, batch=batch).to(x.device)
        prediction = x.new_zeros(batch, n_steps, self.n_targets)
        steps = x[valid]  # padding never enters the CNN, its batch norm or the LSTM
        if steps.shape[0] == 0:
            return ModelOutput(prediction=prediction)
        features, maps = self.encode_steps(steps)
        hidden = self._sequence(features, valid.sum(1).tolist())
        prediction[valid] = self.output(hidden)
        explanations = {}
        for key, name in (("spatial", "spatial_attention"), ("channel", "channel_attention"), ("gate", "fusion_gate")):
            if key in maps:
                full = maps[key].new_zeros(batch, n_steps, *maps[key].shape[1:])
                full[valid] = maps[key]
                explanations[name] = full
        return ModelOutput(prediction=prediction, explanations=explanations)

    # ------------------------------------------------------------------ hooks

    def train_defaults(self) -> dict[str, Any]:
        # Sec. 4.3: Adam, lr 0.0003, 100 epochs, batch 32, early stopping (patience
        # not given), 30 s training snippets.
        return {"optimizer": "adam", "lr": 3e-4, "batch_size": 32, "max_epochs": 100, "patience": 10,
                "segment_frames": self.window_steps}

    def target_losses(self) -> list[str]:
        """Each target's loss: ``arousal_loss``/``valence_loss`` by name, ``"mse"`` otherwise.

        Names come from ``target_names`` when it has one per target; otherwise
        every target gets MSE.
        """
        c = self.config
        names = list(c.target_names) if len(c.target_names) == c.n_targets else [""] * c.n_targets
        by_name = {"arousal": c.arousal_loss, "valence": c.valence_loss}
        return [by_name.get(name, "mse") for name in names]

    def training_loss(self, output: ModelOutput, batch: Batch) -> Tensor:
        """Sum over targets of each target's loss over the batch's annotated steps (Sec. 4.3).

        Each target's loss is ``fit``'s (:data:`memo_core.models.losses.LOSSES`) on its
        own column: ``"ccc"`` is 1 - Lin's CCC over all annotated steps of the
        batch pooled (population variances; MSE for a single step, which has no
        variance), ``"rmse"``/``"mse"`` the root / mean squared error over them.
        Summing keeps each target's gradient what its own loss gives (the paper
        names one loss per dimension).
        """

        if not bool(batch.mask.any()):
            return output.prediction.sum() * 0.0
        total = output.prediction.new_zeros(())
        for i, kind in enumerate(self.target_losses()):
            column = slice(i, i + 1)
            one = Batch(x=batch.x, lengths=batch.lengths, y=batch.y[..., column].to(output.prediction.dtype),
                        mask=batch.mask)
            total = total + LOSSES[kind](ModelOutput(prediction=output.prediction[..., column]), one)
        return total

    def row_bands(self, n_rows: int) -> np.ndarray:
        """The centre, in mel-band indices 0..n_mels-1, of the bands behind each row of a map. [shape=(n_rows,)]"""
        p = self.pool_factor
        return np.arange(n_rows, dtype=np.float64) * p + (p - 1) / 2

    def explanation_axes(self, name: str, shape: tuple[int, ...], *, n_frames: int, frame_seconds: float,
                         feature_params: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Axes of DAMFF's maps of one song.

        * ``spatial_attention``, ``fusion_gate``: ``time_s`` (step start times),
          ``mel_hz`` (the centre frequency, in Hz, of the mel bands behind each
          row, low to high: :func:`mel_row_hz` at the log-mel's sample rate),
          ``step_time_s`` (the start, in seconds within the step, of the
          spectrogram frames behind each column);
        * ``channel_attention``: ``time_s``, ``channel``.

        Args:
            feature_params: the checkpoint's feature parameters (``explain_song``
                passes its feature spec's); ``sample_rate`` sets the mel bands'
                frequencies. Without it, the ``logmel128_steps`` default (16 kHz).
        """
        time_s = np.arange(shape[0], dtype=np.float64) * frame_seconds
        if name in ("spatial_attention", "fusion_gate") and len(shape) == 3:
            p = self.pool_factor
            frame = frame_seconds / self.config.frames_per_step
            sample_rate = int((feature_params or {}).get("sample_rate") or LOGMEL_DEFAULT_SAMPLE_RATE)
            return {"time_s": time_s,
                    "mel_hz": mel_row_hz(self.row_bands(shape[1]), n_mels=self.config.n_mels,
                                         sample_rate=sample_rate),
                    "step_time_s": np.arange(shape[2], dtype=np.float64) * p * frame}
        if name == "channel_attention" and len(shape) == 2:
            return {"time_s": time_s, "channel": np.arange(shape[1])}
        return None
