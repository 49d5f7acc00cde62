"""Blocks shared by several model families: masks, a hookable masked softmax, additive attention."""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["length_mask", "MaskedSoftmax", "AdditiveAttention"]


def length_mask(lengths: Tensor | None, n_frames: int, *, batch: int | None = None) -> Tensor:
    """True on valid frames. [shape=(batch, n_frames)]

    Args:
        lengths: true frames per item [shape=(batch,)], or ``None`` (all valid; then ``batch`` is needed).
        n_frames: padded length.
    """
    if lengths is None:
        if batch is None:
            raise ValueError("length_mask needs lengths or batch")
        return torch.ones(batch, n_frames, dtype=torch.bool)
    return torch.arange(n_frames, device=lengths.device)[None, :] < lengths[:, None]


class MaskedSoftmax(nn.Module):
    """Softmax over the last axis that gives masked positions exactly 0.

    A named submodule, so forward hooks can record attention weights
    (lucidrains' recorder pattern). Rows with no valid position return all
    zeros rather than NaN.
    """

    def forward(self, scores: Tensor, mask: Tensor | None = None) -> Tensor:
        if mask is None:
            return torch.softmax(scores, dim=-1)
        scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        return torch.nan_to_num(weights, nan=0.0)


class AdditiveAttention(nn.Module):
    """Bahdanau additive attention: ``e_tk = v^T tanh(W_q q_t + W_k k_k + b)``, ``a = softmax_k(e)``.

    Args:
        query_dim: size of the query vectors.
        key_dim: size of the key (encoder state) vectors.
        attn_dim: size of the hidden scoring layer.

    Shapes:
        query [batch, n_query, query_dim], keys [batch, n_key, key_dim],
        mask [batch, n_query, n_key] (True = may attend) ->
        context [batch, n_query, key_dim], weights [batch, n_query, n_key].
    """

    def __init__(self, query_dim: int, key_dim: int, attn_dim: int):
        super().__init__()
        self.query = nn.Linear(query_dim, attn_dim, bias=False)
        self.key = nn.Linear(key_dim, attn_dim, bias=True)
        self.score = nn.Linear(attn_dim, 1, bias=False)
        self.softmax = MaskedSoftmax()

    def forward(self, query: Tensor, keys: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        e = self.score(torch.tanh(self.query(query)[:, :, None, :] + self.key(keys)[:, None, :, :])).squeeze(-1)
        weights = self.softmax(e, mask)
        return weights @ keys, weights
