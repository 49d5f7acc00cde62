"""Blocks shared by several model families: masks, a hookable masked softmax, additive attention."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["length_mask", "MaskedSoftmax", "AdditiveAttention", "AReLU", "LocalSelfAttention2d"]


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


class AReLU(nn.Module):
    """Attention-based rectified linear unit (Chen, Li and Xu 2020, arXiv:2006.13858).

    ``y = (1 + sigmoid(beta)) * relu(x) - clamp(alpha, 0.01, 0.99) * relu(-x)``:
    positive inputs are amplified by a learnt factor in (1, 2), negative ones
    kept, scaled by a learnt factor in [0.01, 0.99]. Two parameters a layer
    (shared over all channels), initialised as in the authors' code (alpha 0.9,
    beta 2.0) and as Rajamani et al. use it.

    Shapes: any -> the same.
    """

    def __init__(self, alpha: float = 0.9, beta: float = 2.0):
        super().__init__()
        self.alpha = nn.Parameter(torch.tensor([float(alpha)]))
        self.beta = nn.Parameter(torch.tensor([float(beta)]))

    def forward(self, x: Tensor) -> Tensor:
        alpha = self.alpha.clamp(0.01, 0.99)
        beta = 1.0 + torch.sigmoid(self.beta)
        return beta * F.relu(x) - alpha * F.relu(-x)


class LocalSelfAttention2d(nn.Module):
    """Stand-alone self-attention over each position's k x k neighbourhood (Ramachandran et al. 2019, Eq. 2-3).

    A drop-in replacement of a ``k x k`` convolution (stride 1, "same" size):
    for every output position ``ij`` and head ``h``,

        y_ij = sum_{ab in N_k(ij)} softmax_ab(q_ij^T k_ab + q_ij^T r_{a-i,b-j}) v_ab      (Eq. 3)

    with ``q = W_q x_ij``, ``k = W_k x_ab``, ``v = W_v x_ab`` (1x1 convolutions
    without bias, so ``3 * in_channels * out_channels`` weights) and the
    relative embedding ``r_{a-i,b-j}`` the concatenation of a row-offset
    embedding (``rel_h``, the first ``out_channels // 2`` channels) and a
    column-offset embedding (``rel_w``, the second half), ``out_channels * k``
    parameters in all.

    Choices where the papers are silent or differ:

    * logits are dot products within each head, summed over its
      ``out_channels // n_heads`` channels, as Eq. 3 (leaderj1001's popular
      code, which Rajamani et al. use, multiplies q and k per channel without
      summing; the parameter count is the same);
    * logits are scaled by ``1 / sqrt(d_head)`` (Vaswani et al.'s scaling;
      Eq. 3 has none, but without it the softmax is nearly one-hot at
      initialisation once several channels are summed);
    * neighbours outside the map are masked (weight exactly 0) rather than
      taking part as zero-padded keys, so the border is not biased towards
      "attend to nothing";
    * initialisation as the code Rajamani et al. use: Kaiming-normal
      (fan_out) 1x1 weights, standard-normal relative embeddings.

    The softmax is the named :class:`MaskedSoftmax` submodule ``softmax``, so a
    forward hook sees the weights.

    Args:
        in_channels: input channels.
        out_channels: output channels (even, divisible by ``n_heads``).
        kernel_size: neighbourhood size k (odd).
        n_heads: attention heads (Ramachandran et al. use 8).

    Shapes:
        x [batch, in_channels, height, width] -> out [batch, out_channels,
        height, width], weights [batch, n_heads, height, width, k * k]
        (neighbour ``n`` is row offset ``n // k - k // 2`` and column offset
        ``n % k - k // 2``; every row sums to 1 over the neighbours inside the map).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, n_heads: int = 8):
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        if out_channels % 2 or out_channels % n_heads:
            raise ValueError(f"out_channels={out_channels} must be even and divisible by n_heads={n_heads}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.n_heads = kernel_size, n_heads
        self.query = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.key = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.value = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.rel_h = nn.Parameter(torch.empty(out_channels // 2, kernel_size))
        self.rel_w = nn.Parameter(torch.empty(out_channels // 2, kernel_size))
        self.softmax = MaskedSoftmax()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for conv in (self.query, self.key, self.value):
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
        nn.init.normal_(self.rel_h, 0.0, 1.0)
        nn.init.normal_(self.rel_w, 0.0, 1.0)

    def relative_embedding(self) -> Tensor:
        """``r`` for every neighbour: row embedding, then column embedding. [shape=(out_channels, k * k)]"""
        k, half = self.kernel_size, self.out_channels // 2
        rows = self.rel_h[:, :, None].expand(half, k, k).reshape(half, k * k)
        cols = self.rel_w[:, None, :].expand(half, k, k).reshape(half, k * k)
        return torch.cat([rows, cols], dim=0)

    def neighbour_mask(self, height: int, width: int, *, device: torch.device | None = None) -> Tensor:
        """True where a neighbour lies inside the map. [shape=(1, 1, height, width, k * k)]"""
        k = self.kernel_size
        ones = torch.ones(1, 1, height, width, device=device)
        inside = F.unfold(ones, k, padding=k // 2).view(1, 1, k * k, height, width)
        return inside.permute(0, 1, 3, 4, 2) > 0.5

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        batch, _, height, width = x.shape
        k, n_heads = self.kernel_size, self.n_heads
        d_head = self.out_channels // n_heads
        q = self.query(x).view(batch, n_heads, d_head, height, width)
        # [batch, out_channels * k * k, height * width], channel-major: each channel's k*k neighbours together
        keys = F.unfold(self.key(x), k, padding=k // 2).view(batch, n_heads, d_head, k * k, height, width)
        values = F.unfold(self.value(x), k, padding=k // 2).view(batch, n_heads, d_head, k * k, height, width)
        rel = self.relative_embedding().view(1, n_heads, d_head, k * k, 1, 1)
        scores = torch.einsum("bhdyx,bhdnyx->bhyxn", q, keys + rel) / math.sqrt(d_head)
        weights = self.softmax(scores, self.neighbour_mask(height, width, device=x.device))
        out = torch.einsum("bhyxn,bhdnyx->bhdyx", weights, values)
        return out.reshape(batch, self.out_channels, height, width), weights
