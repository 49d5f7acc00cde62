"""The frame losses every model can train with (masked MSE, RMSE and 1 - CCC over the annotated frames)
and the clip-level sign loss for songs labelled only with a quadrant.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from memo_core.data.batching import Batch
from memo_core.models.outputs import ModelOutput

__all__ = [
    "song_sign_loss",
    "LOSSES",
]


def _masked_mse(output: ModelOutput, batch: Batch) -> Tensor:
    mask = batch.mask.unsqueeze(-1).to(output.prediction.dtype)
    err = (output.prediction - batch.y) ** 2 * mask
    return err.sum() / (mask.sum() * output.prediction.shape[-1]).clamp_min(1.0)



def _masked_rmse(output: ModelOutput, batch: Batch) -> Tensor:
    return torch.sqrt(_masked_mse(output, batch) + 1e-12)



def _masked_ccc(output: ModelOutput, batch: Batch) -> Tensor:
    """1 - Lin's CCC per target over the batch's annotated frames, averaged over targets."""
    pred = output.prediction[batch.mask]  # (n_annotated, n_targets)
    true = batch.y[batch.mask]
    if pred.shape[0] < 2:
        return _masked_mse(output, batch)
    mp, mt = pred.mean(0), true.mean(0)
    vp, vt = pred.var(0, unbiased=False), true.var(0, unbiased=False)
    cov = ((pred - mp) * (true - mt)).mean(0)
    ccc = 2 * cov / (vp + vt + (mp - mt) ** 2 + 1e-8)
    return (1 - ccc).mean()



def song_sign_loss(song_outputs: Tensor, batch: Batch, *, margin: float) -> Tensor:
    """Squared hinge on clip-level sign labels: ``mean(w * max(0, margin - s * o)^2)``.

    A clip labelled only with a sign (4Q's quadrant, EMOPIA's) says on which side of 0 the
    song's valence/arousal lies, not how far: the loss is 0 once the song-level output ``o``
    is on the labelled side by at least ``margin``, so no rating magnitude is invented.

    Args:
        song_outputs: the model's song-level outputs. [shape=(batch, n_outputs, n_targets)]
        batch: with ``song_y`` (+1/-1, 0 unknown), ``song_mask`` and ``song_weight``.
        margin: the distance from 0 (on the [-1, 1] scale) a song mean must reach.

    Returns:
        A scalar (0 when the batch has no clip label).
    """
    if batch.song_y is None or batch.song_mask is None or not bool(batch.song_mask.any()):
        return song_outputs.sum() * 0.0
    sign = batch.song_y[:, None, :].to(song_outputs.dtype)
    known = batch.song_mask[:, None, :].to(song_outputs.dtype).expand_as(song_outputs)
    weight = (batch.song_weight if batch.song_weight is not None
              else torch.ones(song_outputs.shape[0], device=song_outputs.device))
    weight = weight.to(song_outputs.dtype)[:, None, None]
    hinge = torch.relu(margin - sign * song_outputs) ** 2
    return (hinge * known * weight).sum() / (known * weight).sum().clamp_min(1e-8)



LOSSES: dict[str, Callable[[ModelOutput, Batch], Tensor]] = {
    "mse": _masked_mse,
    "rmse": _masked_rmse,
    "ccc": _masked_ccc,
}
