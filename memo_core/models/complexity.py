"""How costly a model is: FLOP counts.

Rajamani et al. (2020, Table 1) compare their taggers by parameters and
GFLOPS; parameters come from ``model.n_parameters()`` (every MEMO model),
and :func:`count_flops` gives the GFLOPS for any ``nn.Module``.

>>> from memo_core.models.registry import get_model
>>> model = get_model("vggish", "paper")                                   # doctest: +SKIP
>>> count_flops(model, torch.zeros(1, 1400, 96), explain=False) / 1e9     # doctest: +SKIP
3.32...
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["count_flops"]


def count_flops(model: nn.Module, *inputs: Any, **kwargs: Any) -> int:
    """Floating-point operations of one forward pass ``model(*inputs, **kwargs)``.

    Measured with :class:`torch.utils.flop_counter.FlopCounterMode` with the
    model in eval mode and no autograd (its mode is restored afterwards). As
    that counter does, a multiply-add counts as 2 FLOPs (so a k x k convolution
    costs ``2 * k * k * C_in * C_out`` per output position), and only the
    operators it has formulas for are counted: convolutions, matrix products
    (``mm``, ``addmm``, ``bmm``, ``matmul``, and ``einsum``, which lowers to
    them), scaled-dot-product attention. Element-wise operations (bias adds
    inside those aside), BatchNorm, activations, pooling and softmax count 0,
    which is also how the usual "GFLOPS" of a CNN is reported.

    Args:
        model: any module.
        *inputs, **kwargs: what its ``forward`` takes (e.g. ``explain=False``
            for a MEMO tagger, so explanation passes are not counted).

    Returns:
        Total FLOPs (for the whole batch given).
    """
    was_training = model.training
    model.eval()
    try:
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            model(*inputs, **kwargs)
        return int(counter.get_total_flops())
    finally:
        model.train(was_training)
