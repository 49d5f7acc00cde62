"""Rajamani et al. (MediaEval 2020): the MTG-Jamendo VGG-ish tagger with stand-alone self-attention or AReLU.

S. Tirunellai Rajamani, K. Rajamani and B. Schuller, "Emotion and theme
recognition in music using attention-based methods", MediaEval 2020
(``shared/papers/rajamani2020_vggish_selfattention_arelu_moodtheme.md``), on
top of the MTG-Jamendo baseline (``scripts/baseline/model.py`` of
mtg-jamendo-dataset, after Choi et al. 2016). One registered model,
``vggish`` (:class:`VGGishTagger`), whose presets are the rows of the paper's
Table 1:

=================  ================================================  ==========  =======
preset             model                                             parameters  GFLOPS
=================  ================================================  ==========  =======
``paper``          VGG-ish baseline (5 x conv3x3-BN-ELU-maxpool)      448,122     3.32
``paper_sa3``      stand-alone self-attention instead of conv 3       350,074     2.94
``paper_sa4``      ... instead of conv 4                              350,074     3.28
``paper_sa5``      ... instead of conv 5                              399,098     3.32
``paper_arelu``    AReLU instead of ELU in all five layers            448,132     3.32
=================  ================================================  ==========  =======

(parameters with the 56 MediaEval tags; the GFLOPS are the paper's, see
:func:`memo_core.models.complexity.count_flops` for ours). ``tiny``,
``tiny_sa3``, ``tiny_sa4``, ``tiny_sa5`` and ``tiny_arelu`` are the same
networks with a quarter of the channels, for CPU tests.

The input is the first 1400 mel frames of a song (about 29.9 s of
``mel96``), looped from its start when the song is shorter; the output is one
row of tag logits per song. Late fusion (the paper's rows 6-7) averages the
sigmoid scores of separately trained models and needs no class here.

Choices where the papers are silent (or their code differs from them):

* self-attention: 8 heads with dot products within a head (Ramachandran et
  al.'s Eq. 3; the AUGment code uses one group with per-channel logits),
  scaled by ``1 / sqrt(d_head)``, out-of-map neighbours masked rather than
  zero-padded (see :class:`~memo_core.models.layers.LocalSelfAttention2d`);
  the tiny presets use 4 heads;
* AReLU: one (alpha, beta) pair per layer, registered as parameters (the
  paper's 448,132 = 448,122 + 5 x 2 counts them so);
* training: Adam (the MTG-Jamendo baseline's optimiser) at the paper's lr
  1e-4 and batch 16, BCE on logits, patience 35 epochs on validation ROC-AUC;
* decision thresholds: per tag, the F1-best score on the validation songs
  (the challenge asks for decisions; the paper does not say how it chose them);
* explanations (``tag_windows``, ``tag_occlusion``, ``self_attention``) are
  MEMO's own: the paper reports no maps.

The shipped ``vggish``, ``vggish_sa3`` and ``vggish_arelu`` checkpoints
(``tiny`` sizes): the first 1400 frames of ``mel96`` (12 kHz) of each 4Q clip,
Adam at 1e-3 (not the paper's 1e-4, see ``memo_core.pretrained``), 30 epochs
(capped from 100, so the patience of 35 never ran out), the best validation
ROC-AUC epoch kept.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from memo_core.data.batching import Batch, collate_tags
from memo_core.errors import MemoError, MetricError
from memo_core.metrics import roc_auc_macro
from memo_core.models.base import SequenceConfig, SequenceModel
from memo_core.models.layers import AReLU, LocalSelfAttention2d
from memo_core.models.outputs import ModelOutput
from memo_core.models.registry import register_model

__all__ = [
    "VGGishConfig",
    "VGGishTagger",
    "ACTIVATIONS",
    "PAPER_TRAIN_DEFAULTS",
    "window_starts",
    "best_f1_thresholds",
]

#: Activations a layer may use (the baseline's ELU; Rajamani et al.'s AReLU); each must be
#: non-decreasing, as the layers pool before activating (see ``_Block``).
ACTIVATIONS: dict[str, type[nn.Module]] = {"elu": nn.ELU, "arelu": AReLU}

# Sec. 2 and 4: batch 16, lr 1e-4 (Adam, as the MTG-Jamendo baseline's solver),
# at most 100 epochs, early stopping when the validation ROC-AUC has not risen
# for 35 epochs (our patience counts epochs without improvement, so "for over
# 35 epochs" is read as 35). Whole 1400-frame inputs, no noise.
PAPER_TRAIN_DEFAULTS: dict[str, Any] = {
    "optimizer": "adam",
    "lr": 1e-4,
    "batch_size": 16,
    "max_epochs": 100,
    "patience": 35,
    "segment_frames": None,
    "input_noise_std": 0.0,
}

# Windows (of input_frames frames) run through the network at once when explaining.
_CHUNK = 16


@dataclass
class VGGishConfig(SequenceConfig):
    """Attributes:
    n_features: mel bands of the input (96).
    n_targets: tags (56 in MediaEval 2020).
    target_names: tag names in output order (``train_model`` fills them from
        the data); used to label explanation axes.
    input_frames: frames of the song the network sees (1400, about 29.9 s).
    channels: output channels of the five layers.
    pools: max-pool (freq, time) size after each layer; together they must
        reduce ``n_features x input_frames`` to 1 x 1.
    attention_layer: 1-based layer whose 3x3 convolution is replaced by
        :class:`~memo_core.models.layers.LocalSelfAttention2d` (``None``: none).
    activation: ``"elu"`` (baseline) or ``"arelu"``.
    dropout: before the dense layer.
    n_heads: heads of the self-attention layer (Ramachandran et al.'s 8).
    kernel_size: size of the convolutions and of the attention neighbourhood.
    window_hop_frames: hop of the sliding windows of ``tag_windows``.
    occlusion_frames: length of a region of ``tag_occlusion``.
    """

    n_features: int = 96
    n_targets: int = 56
    target_names: tuple[str, ...] = ()
    input_frames: int = 1400
    channels: tuple[int, ...] = (64, 128, 128, 128, 64)
    pools: tuple[tuple[int, int], ...] = ((2, 4), (2, 4), (2, 4), (3, 5), (4, 4))
    attention_layer: int | None = None
    activation: str = "elu"
    dropout: float = 0.5
    n_heads: int = 8
    kernel_size: int = 3
    window_hop_frames: int = 350
    occlusion_frames: int = 100


def _check_config(config: VGGishConfig) -> None:
    """Raise :class:`MemoError` on a config that cannot be built."""
    channels, pools = config.channels, config.pools
    problems = []
    if not channels or len(channels) != len(pools):
        problems.append(f"channels {channels} and pools {pools} must be non-empty and of the same length")
    if any(c < 1 for c in channels) or any(len(p) != 2 or min(p) < 1 for p in pools):
        problems.append("channels and (freq, time) pool sizes must be positive")
    if config.activation not in ACTIVATIONS:
        problems.append(f"activation {config.activation!r} (known: {', '.join(ACTIVATIONS)})")
    if config.attention_layer is not None:
        layer = int(config.attention_layer)
        if not 1 <= layer <= len(channels):
            problems.append(f"attention_layer {layer} (layers are 1..{len(channels)})")
        elif channels[layer - 1] % 2 or channels[layer - 1] % int(config.n_heads):
            problems.append(f"layer {layer} has {channels[layer - 1]} channels, which must be even and divisible "
                            f"by n_heads={config.n_heads}")
    if int(config.kernel_size) < 1 or int(config.kernel_size) % 2 == 0:
        problems.append(f"kernel_size {config.kernel_size} (must be odd)")
    if not 0.0 <= float(config.dropout) < 1.0:
        problems.append(f"dropout {config.dropout} (must be in [0, 1))")
    if int(config.window_hop_frames) < 1 or int(config.occlusion_frames) < 1 or int(config.n_targets) < 1:
        problems.append("window_hop_frames, occlusion_frames and n_targets must be >= 1")
    if not problems:
        height, width = int(config.n_features), int(config.input_frames)
        for pool_h, pool_w in pools:
            height, width = height // pool_h, width // pool_w
        if (height, width) != (1, 1):
            problems.append(f"pools {pools} reduce a {config.n_features} (mel) x {config.input_frames} (frames) "
                            f"input to {height} x {width}, not 1 x 1, so the flattened size would not be "
                            f"channels[-1]; change n_features, input_frames or pools together")
    if problems:
        raise MemoError("bad vggish config: " + "; ".join(problems))


def window_starts(n_frames: int, *, input_frames: int, hop_frames: int) -> np.ndarray:
    """First frames of the windows ``tag_windows`` scores: every ``hop_frames``, the last one ending at the song's end.

    A song of at most ``input_frames`` frames has one window at 0 (looped).

    Returns:
        [shape=(n_windows,)] int64
    """
    last = int(n_frames) - int(input_frames)
    if last <= 0:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, last + 1, int(hop_frames), dtype=np.int64)
    return starts if starts[-1] == last else np.append(starts, last)


def best_f1_thresholds(y_true: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Per tag, the decision threshold (``score >= threshold``) with the highest F1.

    Candidates are the scores themselves; ties go to the higher threshold; a
    tag with no positive song gets 0.5.

    Args:
        y_true: 0/1 tags. [shape=(n_songs, n_tags)]
        scores: sigmoid scores. [shape=(n_songs, n_tags)]

    Returns:
        [shape=(n_tags,)] float32
    """
    y_true, scores = np.asarray(y_true, dtype=np.float64), np.asarray(scores, dtype=np.float64)
    thresholds = np.full(y_true.shape[1], 0.5, dtype=np.float32)
    for j in range(y_true.shape[1]):
        n_pos = y_true[:, j].sum()
        if n_pos == 0:
            continue
        order = np.argsort(-scores[:, j], kind="stable")
        s, y = scores[order, j], y_true[order, j]
        last_of_value = np.r_[s[1:] != s[:-1], True]  # cut after the last song of each distinct score
        tp, fp = np.cumsum(y)[last_of_value], np.cumsum(1.0 - y)[last_of_value]
        f1 = 2.0 * tp / (tp + fp + n_pos)
        # thresholds descend, so the first of the (near-)best is the highest
        thresholds[j] = s[last_of_value][np.flatnonzero(f1 >= f1.max() - 1e-12)[0]]
    return thresholds


class _Block(nn.Module):
    """One VGG-ish layer: 3x3 conv (or local self-attention) -> BatchNorm -> activation -> max-pool.

    The max-pool runs before the activation: ELU and AReLU are non-decreasing,
    so ``pool(act(x)) == act(pool(x))`` exactly (values and gradients), and the
    activation then touches 8 to 20 times fewer elements (a third of a CPU
    forward pass otherwise).
    """

    def __init__(self, in_channels: int, out_channels: int, pool: tuple[int, int], *, attention: bool,
                 activation: str, kernel_size: int, n_heads: int):
        super().__init__()
        self.attention = attention
        self.conv = (LocalSelfAttention2d(in_channels, out_channels, kernel_size, n_heads) if attention
                     else nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2))
        self.norm = nn.BatchNorm2d(out_channels)
        self.activation = ACTIVATIONS[activation]()
        self.pool = nn.MaxPool2d(pool)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        weights = None
        if self.attention:
            x, weights = self.conv(x)
        else:
            x = self.conv(x)
        return self.activation(self.pool(self.norm(x))), weights


def _variants(base: VGGishConfig, prefix: str) -> dict[str, VGGishConfig]:
    return {
        prefix: base,
        **{f"{prefix}_sa{layer}": dataclasses.replace(base, attention_layer=layer) for layer in (3, 4, 5)},
        f"{prefix}_arelu": dataclasses.replace(base, activation="arelu"),
    }


_PAPER = VGGishConfig()
_TINY = dataclasses.replace(_PAPER, channels=(16, 32, 32, 32, 16), n_heads=4)


@register_model("vggish", config=VGGishConfig, presets={**_variants(_PAPER, "paper"), **_variants(_TINY, "tiny")},
                default_preset="tiny")
class VGGishTagger(SequenceModel):
    """The VGG-ish mood/theme tagger of the MTG-Jamendo baseline and Rajamani et al. (2020), Sec. 3.1-3.2.

    ``x [batch, n_frames, n_mels]`` -> first ``input_frames`` frames (looped
    per song from its own start when shorter; padding is never read) ->
    ``[batch, 1, n_mels, input_frames]`` -> BatchNorm2d(1) -> five layers of
    3x3 conv (padding 1) -> BatchNorm -> ELU -> max-pool (channels 64, 128,
    128, 128, 64; pools (2,4), (2,4), (2,4), (3,5), (4,4); pooled before the
    activation, which gives the same values) -> flatten (64) ->
    dropout 0.5 -> Linear(64, n_tags): tag LOGITS (the baseline's sigmoid is
    post-processing here). Variants:

    * ``attention_layer=L``: layer L's conv is stand-alone self-attention
      (Ramachandran et al. 2019, Eq. 2-3; :class:`LocalSelfAttention2d`, 8
      heads in the paper presets), still followed by its BatchNorm;
    * ``activation="arelu"``: AReLU (Chen et al. 2020) in all five layers,
      two learnt parameters each.

    Decision thresholds (buffer ``thresholds`` [shape=(n_tags,)], 0.5 until
    :meth:`fit_closed_form` picks them on validation songs) turn scores into
    tags: :meth:`tag_decisions`.

    Explanations (only with ``explain=True`` in eval mode):
        ``tag_windows`` [shape=(batch, n_windows, n_tags)]: sigmoid scores of
        ``input_frames``-frame windows every ``window_hop_frames`` frames over
        the whole song, the last ending at the song's end
        (:func:`window_starts`); a song no longer than ``input_frames`` has
        one (looped) window. In a padded batch each song gets its own windows;
        rows past a song's ``len(window_starts(length))`` are 0 (explanations
        are meant for one song at a time).
        ``tag_occlusion`` [shape=(batch, n_regions, n_tags)]: on the first
        (predicted) window, ``score - score with frames [r * occlusion_frames,
        (r + 1) * occlusion_frames) set to 0`` (0 is the training mean after
        standardisation): positive where that region raises the tag's score.
        Regions are in time of the looped input window, ``ceil(input_frames /
        occlusion_frames)`` of them.
        ``self_attention`` [shape=(batch, n_heads, freq, time, k * k)] (only
        with ``attention_layer``): the attention layer's weights on the first
        window; ``freq`` and ``time`` are that layer's map (pooled mel bins;
        a column spans the product of the earlier time pools in frames);
        neighbour ``n`` is offset ``(n // k - k // 2, n % k - k // 2)`` in
        (freq, time); rows sum to 1, neighbours outside the map get 0.
    """

    task = "tagging"
    #: The feature set it is trained on when none is named (MTG-Jamendo's mel spectrogram).
    default_features = "mel96"

    def __init__(self, config: VGGishConfig):
        _check_config(config)
        channels, pools = config.channels, config.pools
        super().__init__(config)
        self.input_norm = nn.BatchNorm2d(1)
        self.blocks = nn.ModuleList(
            _Block(c_in, c_out, pool, attention=config.attention_layer == layer, activation=config.activation,
                   kernel_size=int(config.kernel_size), n_heads=int(config.n_heads))
            for layer, (c_in, c_out, pool) in enumerate(zip((1, *channels[:-1]), channels, pools), start=1)
        )
        self.dropout = nn.Dropout(config.dropout)
        self.dense = nn.Linear(channels[-1], config.n_targets)
        self.register_buffer("thresholds", torch.full((config.n_targets,), 0.5))

    # ------------------------------------------------------------------ network

    def tag_logits(self, windows: Tensor) -> tuple[Tensor, Tensor | None]:
        """The network on ready windows.

        Args:
            windows: [shape=(n, input_frames, n_mels)]

        Returns:
            logits [shape=(n, n_tags)] and the self-attention weights
            [shape=(n, n_heads, freq, time, k * k)] (``None`` without attention).
        """
        z = self.input_norm(windows.transpose(1, 2).unsqueeze(1))
        attention = None
        for block in self.blocks:
            z, weights = block(z)
            if weights is not None:
                attention = weights
        return self.dense(self.dropout(z.flatten(1))), attention

    def _gather(self, x: Tensor, items: Tensor, starts: Tensor, lengths: Tensor) -> Tensor:
        """``input_frames`` frames of song ``items[i]`` from ``starts[i]``, looped within its own length."""
        offsets = torch.arange(int(self.config.input_frames), device=x.device)
        index = (starts[:, None] + offsets[None, :]) % lengths[items][:, None]
        return x[items[:, None], index]

    def _scores(self, windows: Tensor) -> Tensor:
        """Sigmoid scores of many windows, ``_CHUNK`` at a time. [shape=(n, n_tags)]"""
        return torch.cat([torch.sigmoid(self.tag_logits(windows[i:i + _CHUNK])[0])
                          for i in range(0, windows.shape[0], _CHUNK)])

    def forward(self, x: Tensor, lengths: Tensor | None = None, *, explain: bool = True) -> ModelOutput:
        """Tag logits of each song's first ``input_frames`` frames, and (``explain`` in eval mode) the maps.

        Args:
            x: standardised mel frames. [shape=(batch, n_frames, n_mels)]
            lengths: true frames per song [shape=(batch,)] (``None``: all ``n_frames``).
            explain: compute the explanation maps (skipped in training mode anyway).

        Returns:
            :class:`ModelOutput` with prediction [shape=(batch, n_tags)].
        """
        if x.ndim != 3 or x.shape[-1] != self.n_features or x.shape[1] < 1:
            raise MemoError(f"vggish expects x of shape (batch, n_frames >= 1, {self.n_features}), "
                            f"got {tuple(x.shape)}")
        batch, n_frames = x.shape[:2]
        if lengths is None:
            lengths = torch.full((batch,), n_frames, dtype=torch.long, device=x.device)
        lengths = lengths.to(device=x.device, dtype=torch.long)
        if bool((lengths < 1).any()) or bool((lengths > n_frames).any()):
            raise MemoError(f"lengths {lengths.tolist()} must lie in 1..{n_frames} (the padded length)")
        items = torch.arange(batch, device=x.device)
        first = self._gather(x, items, torch.zeros_like(items), lengths)
        logits, attention = self.tag_logits(first)
        if not explain or self.training:
            return ModelOutput(prediction=logits)
        explanations = {}
        with torch.no_grad():
            explanations["tag_windows"] = self._window_scores(x, lengths)
            explanations["tag_occlusion"] = self._occlusion(first, torch.sigmoid(logits))
        if attention is not None:
            explanations["self_attention"] = attention
        return ModelOutput(prediction=logits, explanations=explanations)

    def _window_scores(self, x: Tensor, lengths: Tensor) -> Tensor:
        starts = [window_starts(int(n), input_frames=int(self.config.input_frames),
                                hop_frames=int(self.config.window_hop_frames)) for n in lengths.tolist()]
        n_windows = max(len(s) for s in starts)
        items = torch.tensor(np.concatenate([np.full(len(s), i) for i, s in enumerate(starts)]), device=x.device)
        slots = torch.tensor(np.concatenate([np.arange(len(s)) for s in starts]), device=x.device)
        first_frames = torch.tensor(np.concatenate(starts), device=x.device)
        out = x.new_zeros(x.shape[0], n_windows, self.n_targets)
        for i in range(0, len(items), _CHUNK):
            part = slice(i, i + _CHUNK)
            out[items[part], slots[part]] = self._scores(self._gather(x, items[part], first_frames[part], lengths))
        return out

    def _occlusion(self, first: Tensor, scores: Tensor) -> Tensor:
        size = int(self.config.occlusion_frames)
        n_regions = math.ceil(first.shape[1] / size)
        occluded = first.unsqueeze(0).repeat(n_regions, 1, 1, 1)  # [region, batch, frames, mels]
        for r in range(n_regions):
            occluded[r, :, r * size:(r + 1) * size] = 0.0
        drop = scores.unsqueeze(0) - self._scores(occluded.flatten(0, 1)).view(n_regions, *scores.shape)
        return drop.transpose(0, 1)

    def tag_decisions(self, prediction: Tensor) -> Tensor:
        """Which tags a song gets: ``sigmoid(logits) >= thresholds``. [shape=(batch, n_tags)] bool"""
        return torch.sigmoid(prediction) >= self.thresholds

    # ------------------------------------------------------------------ fit hooks

    def train_defaults(self) -> dict[str, Any]:
        return dict(PAPER_TRAIN_DEFAULTS)

    def make_batch(self, examples: Sequence[Any], *, device: str | torch.device = "cpu") -> Batch:

        return collate_tags(examples, device=device)

    def training_loss(self, output: ModelOutput, batch: Batch) -> Tensor:
        """Binary cross-entropy of the logits against the 0/1 tags, averaged over songs and tags."""
        return F.binary_cross_entropy_with_logits(output.prediction[batch.mask], batch.y[batch.mask])

    def _tags_and_scores(self, batches: Iterable[Batch]) -> tuple[np.ndarray, np.ndarray] | None:
        ys, scores = [], []
        with torch.no_grad():
            for batch in batches:
                out = self(batch.x, batch.lengths, explain=False)
                ys.append(batch.y[batch.mask].cpu().numpy())
                scores.append(torch.sigmoid(out.prediction[batch.mask]).float().cpu().numpy())
        if not ys:
            return None
        return np.concatenate(ys), np.concatenate(scores)

    def selection_loss(self, batches: Iterable[Batch]) -> float | None:
        """``1 - ROC-AUC-macro`` on the validation songs (Rajamani et al. stop on ROC-AUC).

        Tags that all or none of the songs carry are left out of the average.
        When no tag is left (a validation set of one or two songs), the mean
        binary cross-entropy of the scores instead: the set is fixed during a
        run, so every epoch is judged by the same measure, and no explanation
        pass runs (``None`` only when there are no batches).
        """

        pair = self._tags_and_scores(batches)
        if pair is None:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            try:
                return 1.0 - roc_auc_macro(pair[0], pair[1], skip_degenerate=True)
            except MetricError:
                y, p = pair
                p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
                return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())

    def fit_closed_form(self, batches: Iterable[Batch], *, val_batches: Iterable[Batch] = ()) -> None:
        """Pick each tag's decision threshold maximising its F1 (:func:`best_f1_thresholds`).

        On the validation songs; on the training songs only when there are
        none (their scores are optimistic, so the thresholds are too). Test
        songs are never seen here.
        """
        val_batches = list(val_batches)
        was_training = self.training
        self.eval()
        try:
            pair = self._tags_and_scores(val_batches if val_batches else batches)
        finally:
            self.train(was_training)
        if pair is not None:
            self.thresholds.copy_(torch.from_numpy(best_f1_thresholds(*pair)))

    # ------------------------------------------------------------------ explanation axes

    def explanation_axes(self, name: str, shape: tuple[int, ...], *, n_frames: int,
                         frame_seconds: float) -> dict[str, Any] | None:
        """Axes of ``tag_windows``, ``tag_occlusion`` and ``self_attention`` (see the class docstring)."""
        names = tuple(self.config.target_names)
        tags = lambda size: np.asarray(names) if len(names) == size else np.arange(size)  # noqa: E731
        if name == "tag_windows" and len(shape) == 2:
            starts = window_starts(n_frames, input_frames=int(self.config.input_frames),
                                   hop_frames=int(self.config.window_hop_frames)) * float(frame_seconds)
            starts = np.concatenate([starts, np.full(max(0, shape[0] - len(starts)), np.nan)])[: shape[0]]
            return {"window_start_s": starts, "tag": tags(shape[1])}
        if name == "tag_occlusion" and len(shape) == 2:
            return {"region_start_s": np.arange(shape[0]) * int(self.config.occlusion_frames) * float(frame_seconds),
                    "tag": tags(shape[1])}
        if name == "self_attention" and len(shape) == 4 and self.config.attention_layer is not None:
            span = math.prod(int(p[1]) for p in list(self.config.pools)[: int(self.config.attention_layer) - 1])
            return {"head": np.arange(shape[0]), "freq_bin": np.arange(shape[1]),
                    "time_s": np.arange(shape[2]) * span * float(frame_seconds), "neighbour": np.arange(shape[3])}
        return None
