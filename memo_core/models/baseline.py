"""The per-frame multiple linear regression baseline (MediaEval 2015 "MLR").

The Emotion in Music task's organisers report a multiple linear regression on
the ``deam260`` frame features as the baseline every dynamic model must beat
(Aljanaki, Yang and Soleymani, "Emotion in Music task at MediaEval 2015").
Here it predicts each frame from that frame alone and is solved in closed form
by :meth:`MLR.fit_closed_form` (least squares with a small ridge term for
numerical stability), so ``fit`` runs no gradient epochs for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import torch
from torch import Tensor, nn

from .base import Batch, SequenceConfig, SequenceModel
from .outputs import ModelOutput
from .registry import register_model

__all__ = ["MLR", "MLRConfig"]


@dataclass
class MLRConfig(SequenceConfig):
    """Attributes:
    ridge: L2 penalty added to the normal equations (0 gives ordinary least squares).
    """

    ridge: float = 1e-3


@register_model(
    "mlr",
    config=MLRConfig,
    # tiny: for a handful of songs, where more features than frames make plain least squares overfit
    presets={"paper": MLRConfig(), "tiny": MLRConfig(ridge=0.1)},
)
class MLR(SequenceModel):
    """Per-frame linear regression: ``y_t = W x_t + b``, no context.

    Explanations: none (the weights themselves are the explanation).
    """

    def __init__(self, config: MLRConfig):
        super().__init__(config)
        self.linear = nn.Linear(config.n_features, config.n_targets)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> ModelOutput:
        return ModelOutput(prediction=self.linear(x))

    def train_defaults(self) -> dict[str, Any]:
        return {"max_epochs": 0, "patience": None}

    @torch.no_grad()
    def fit_closed_form(self, batches: Iterable[Batch], *, val_batches: Iterable[Batch] = ()) -> None:
        """Least squares over every annotated frame of the training batches (validation data unused)."""
        xs, ys = [], []
        for batch in batches:
            xs.append(batch.x[batch.mask])
            ys.append(batch.y[batch.mask])
        if not xs:
            return
        x = torch.cat(xs).double()
        y = torch.cat(ys).double()
        design = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)
        gram = design.T @ design
        penalty = self.config.ridge * len(x) * torch.eye(gram.shape[0], dtype=x.dtype)
        penalty[-1, -1] = 0.0  # never shrink the intercept
        solution = torch.linalg.solve(gram + penalty, design.T @ y)
        self.linear.weight.copy_(solution[:-1].T.to(self.linear.weight.dtype))
        self.linear.bias.copy_(solution[-1].to(self.linear.bias.dtype))
