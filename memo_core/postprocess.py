"""Post-processing of per-frame predictions (never inside a model's ``forward``).

:func:`triangle_smooth` is the smoothing of Ma et al. 2017 (MCA): each song's
output sequence is filtered with a 25-frame triangular window. Near the ends
only the part of the window inside the song is used, renormalised to sum to 1,
so the first and last frames are not pulled towards zero.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import convolve1d

from memo_core.errors import MemoError

__all__ = ["triangle_window", "triangle_smooth", "TRIANGLE_LENGTH"]

#: Ma et al.'s filter length, in 500 ms frames.
TRIANGLE_LENGTH = 25


def triangle_window(length: int = TRIANGLE_LENGTH) -> np.ndarray:
    """Triangular weights ``1, 2, ..., h+1, ..., 2, 1`` (``h = (length - 1) / 2``), summing to 1.

    Raises:
        MemoError: ``length`` is not a positive odd integer.
    """
    if int(length) != length or length < 1 or length % 2 == 0:
        raise MemoError(f"the triangle filter needs a positive odd length, got {length}")
    half = (int(length) - 1) // 2
    w = (half + 1 - np.abs(np.arange(-half, half + 1))).astype(np.float64)
    return w / w.sum()


def triangle_smooth(y: np.ndarray, *, length: int = TRIANGLE_LENGTH) -> np.ndarray:
    """Smooth one song's predictions along time with a triangular window.

    ``out[t] = sum_k w[k] y[t + k] / sum_k w[k]`` over the ``k`` with ``t + k``
    inside the song.

    Args:
        y: one song's sequence, time first. [shape=(n_frames, ...)]
        length: window length in frames (odd; 1 returns ``y`` unchanged).

    Returns:
        The smoothed sequence, same shape, float64 unless ``y`` is float32.

    Raises:
        MemoError: an empty or non-finite input, or a bad length.
    """
    w = triangle_window(length)
    y = np.asarray(y)
    if y.ndim == 0 or y.shape[0] == 0:
        raise MemoError(f"triangle_smooth needs at least one frame, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise MemoError("triangle_smooth got non-finite predictions")
    flat = y.reshape(y.shape[0], -1).astype(np.float64)
    num = convolve1d(flat, w, axis=0, mode="constant", cval=0.0)
    den = convolve1d(np.ones(y.shape[0]), w, mode="constant", cval=0.0)
    out = (num / den[:, None]).reshape(y.shape)
    return out.astype(y.dtype) if y.dtype == np.float32 else out
