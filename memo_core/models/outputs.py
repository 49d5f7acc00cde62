"""The one output contract every MEMO model returns (STYLE.md section 3).

Explanation maps have stable names so the dashboard and ``explain.py`` never
need to know which model produced them. Shapes use ``batch``, ``n_frames``
(500 ms frames of the input sequence) and ``n_targets``:

=======================  ==========================================  =====================================
name                     shape                                       meaning
=======================  ==========================================  =====================================
``temporal_attention``   (batch, n_frames, n_frames)                 row t: weights over attended frames k
                                                                     (AT, BAT; BAT's rows are 0 for k >= t)
``window_attention/L``   (batch, n_frames, L)                        A-LSTM attention over the L frames
                                                                     ending at t (column L-1 is frame t)
``scale_weights``        (batch, n_frames, n_scales)                 MCA's beta for every predicted frame
``scale_predictions``    (batch, n_frames, n_scales, n_targets)      each scale's own prediction
``scale_shares``         (batch, n_frames, n_scales, n_targets)      each scale's share of the fused output
``layer_attention``      (batch, n_layers, n_heads, n_frames, n_frames)  Transformer self-attention maps
``spatial_attention``    (batch, n_frames, freq, time)               DAMFF's spatial attention per 500 ms
                                                                     step, on a coarse log-mel grid
``channel_attention``    (batch, n_frames, channels)                 DAMFF's channel attention per step
``fusion_gate``          (batch, n_frames, freq, time)               DAMFF's gate X' (mean over channels):
                                                                     1 = the 3x3 branch, 0 = the 5x5 one
``tag_windows``          (batch, n_windows, n_tags)                  a tagger's scores on windows sliding
                                                                     along the song
``tag_occlusion``        (batch, n_regions, n_tags)                  score drop when a time region of the
                                                                     tagger's input is blanked
``self_attention``       (batch, n_heads, freq, time, k*k)           stand-alone self-attention weights
                                                                     over each position's neighbours
=======================  ==========================================  =====================================

A tagger (``task == "tagging"``) returns tag logits [shape=(batch, n_tags)] as
its prediction; its maps' first axis after the batch is not the input frames.

A model documents which maps it returns in its class docstring; every map's
time axes are frames of the input, so ``explain.py`` can put seconds on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor

__all__ = ["ModelOutput", "EXPLANATION_NAMES"]

EXPLANATION_NAMES = (
    "temporal_attention",
    "window_attention",
    "scale_weights",
    "scale_predictions",
    "scale_shares",
    "layer_attention",
    "spatial_attention",
    "channel_attention",
    "fusion_gate",
    "tag_windows",
    "tag_occlusion",
    "self_attention",
)


@dataclass
class ModelOutput:
    """Predictions and named explanation maps.

    Attributes:
        prediction: raw regressions [shape=(batch, n_frames, n_targets)] or tag
            logits [shape=(batch, n_tags)]; no sigmoid, smoothing or loss here.
        explanations: named maps (see the module docstring for names and shapes).
    """

    prediction: Tensor
    explanations: dict[str, Tensor] = field(default_factory=dict)
