"""What every sequence model shares: its config fields, the hooks ``fit`` calls.

A MEMO sequence model maps a batch of songs' frame features to per-frame
predictions and explanation maps:

    model(x [batch, n_frames, n_features], lengths [batch]) -> ModelOutput

``lengths`` gives each song's true number of frames in a padded batch (``None``
means all are full length); models must give every song the same output as when
it runs alone, so padding never leaks into attention, a backward LSTM or a fused
scale. Training (``memo_core.train.fit``) knows no model by name: it calls the
hooks below, whose defaults suit an ordinary gradient-trained model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from torch import Tensor, nn

from .outputs import ModelOutput

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


@dataclass
class Batch:
    """A padded batch as ``fit`` hands it to models.

    Attributes:
        x: normalised features. [shape=(batch, n_frames, n_features)]
        lengths: true frames per song. [shape=(batch,)]
        y: targets, 0 where unannotated. [shape=(batch, n_frames, n_targets)]
        mask: True on annotated frames within the song. [shape=(batch, n_frames)]
    """

    x: Tensor
    lengths: Tensor
    y: Tensor
    mask: Tensor


class SequenceModel(nn.Module):
    """Base class: stores the config; subclasses implement ``forward``.

    Hooks for ``fit`` (override only where the paper differs):

    * :meth:`train_defaults`: the paper's optimiser, learning rate, batch size,
      epochs, ... as overrides of ``memo_core.train.TrainConfig`` fields;
    * :meth:`training_loss`: the loss of one batch (default: MSE of
      ``prediction`` on annotated frames); a model whose parts are trained
      separately (DBLSTM's scales) sums their own losses here;
    * :meth:`fit_closed_form`: called once after gradient training with the
      training batches (noise-free) and the validation batches, for parts
      solved in closed form (MLR on the training data; the ELM readout on
      held-out outputs, as Li et al. fit it).
    """

    registry_name: str = "?"

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

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
