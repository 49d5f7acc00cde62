"""What every sequence model shares: its config fields, the hooks ``fit`` calls.

A MEMO sequence model maps a batch of songs' frame features to per-frame
predictions and explanation maps:

    model(x [batch, n_frames, n_features], lengths [batch]) -> ModelOutput

``lengths`` gives each song's true number of frames in a padded batch (``None``
means all are full length); models must give every song the same output as when
it runs alone, so padding never leaks into attention, a backward LSTM or a fused
scale. Training (``memo_core.training.loop.fit``) knows no model by name: it calls the
hooks below, whose defaults suit an ordinary gradient-trained model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from memo_core.data.batching import Batch, collate
from memo_core.models.outputs import ModelOutput

__all__ = ["SequenceConfig", "SequenceModel", "Batch"]


@dataclass
class SequenceConfig:
    """Fields every sequence-model config has (family configs subclass this).

    Attributes:
        n_features: features per frame of the input.
        n_targets: outputs per frame (1 for one dimension, 2 for valence and arousal).
    """

    n_features: int = 260
    n_targets: int = 2




class SequenceModel(nn.Module):
    """Base class: stores the config; subclasses implement ``forward``.

    Hooks for ``fit`` (override only where the paper differs):

    * :meth:`train_defaults`: the paper's optimiser, learning rate, batch size,
      epochs, ... as overrides of ``memo_core.training.loop.TrainConfig`` fields;
    * :meth:`training_loss`: the loss of one batch (default: MSE of
      ``prediction`` on annotated frames); a model whose parts are trained
      separately (DBLSTM's scales) sums their own losses here;
    * :meth:`fit_closed_form`: called once after gradient training with the
      training batches (noise-free) and the validation batches, for parts
      solved in closed form (MLR on the training data; the ELM readout on
      held-out outputs, as Li et al. fit it; a tagger's decision thresholds);
    * :meth:`make_batch`: how examples become a :class:`Batch` (default:
      :func:`memo_core.data.batching.collate`, padded per-frame sequences);
    * :meth:`selection_loss`: the value early stopping minimises on the
      validation batches (default ``None``: the validation loss; a tagger
      returns ``1 - ROC-AUC-macro``, as Rajamani et al. stop on ROC-AUC).

    Class attributes:
        task: ``"regression"`` (per-frame valence/arousal, prediction
            [shape=(batch, n_frames, n_targets)]) or ``"tagging"`` (one row of
            tag logits per song, prediction [shape=(batch, n_tags)]). Data
            building, evaluation and explanation choose their path from it.
    """

    registry_name: str = "?"
    task: str = "regression"

    def __init__(self, config: SequenceConfig):
        super().__init__()
        self.config = config

    @property
    def n_features(self) -> int:
        return self.config.n_features

    @property
    def n_targets(self) -> int:
        return self.config.n_targets

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> ModelOutput:  # pragma: no cover - abstract
        raise NotImplementedError

    def train_defaults(self) -> dict[str, Any]:
        """``TrainConfig`` field overrides from the model's paper (none by default)."""
        return {}

    def training_loss(self, output: ModelOutput, batch: Batch) -> Tensor:
        """Mean squared error over annotated frames (and all targets)."""
        mask = batch.mask.unsqueeze(-1).to(output.prediction.dtype)
        err = (output.prediction - batch.y) ** 2 * mask
        return err.sum() / (mask.sum() * output.prediction.shape[-1]).clamp_min(1.0)

    def fit_closed_form(self, batches: Iterable[Batch], *, val_batches: Iterable[Batch] = ()) -> None:
        """Solve closed-form parts after gradient training (nothing by default).

        Args:
            batches: the training data, without input noise.
            val_batches: the validation data (may be empty).
        """
        return None

    def make_batch(self, examples: Sequence[Any], *, device: str | torch.device = "cpu") -> Batch:
        """Examples as one padded :class:`Batch` (default: per-frame sequences)."""

        return collate(examples, device=device)

    def selection_loss(self, batches: Iterable[Batch]) -> float | None:
        """What early stopping minimises on the validation batches (``None``: the validation loss)."""
        return None

    def explanation_axes(self, name: str, shape: tuple[int, ...], *, n_frames: int,
                         frame_seconds: float) -> dict[str, Any] | None:
        """Named axes of the map ``name`` of one song (batch axis dropped), for maps only this model knows.

        Args:
            name: the map's name in ``ModelOutput.explanations``.
            shape: its shape without the batch axis.
            n_frames: input frames of the song (500 ms steps, or mel frames for a tagger).
            frame_seconds: seconds per input frame.

        Returns:
            ``{axis name: coordinates}`` in axis order (time axes in seconds), or
            ``None`` to let :func:`memo_core.explain.explanation_axes` name them.
        """
        return None

    def song_outputs(self, output: ModelOutput, lengths: Tensor) -> Tensor:
        """The song-level outputs a clip-level label is scored on: the mean of the frame predictions
        over each song's frames (a model with several outputs that train separately returns one row each).

        Returns:
            [shape=(batch, n_outputs, n_targets)]
        """
        pred = output.prediction
        inside = (torch.arange(pred.shape[1], device=pred.device)[None, :] < lengths.to(pred.device)[:, None])
        inside = inside.unsqueeze(-1).to(pred.dtype)
        mean = (pred * inside).sum(1) / inside.sum(1).clamp_min(1.0)
        return mean.unsqueeze(1)

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
