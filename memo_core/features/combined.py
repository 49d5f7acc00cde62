"""Feature sets made of other 500 ms sets side by side.

A combined set concatenates the columns of its parts frame by frame. A part
already in the on-disk feature cache is read from there (never written: a
combined extraction with the cache off leaves nothing on disk); whole-song
analysis (:func:`memo_core.explain.analysis.analyse_song`) extracts each part in its
family's job, sharing the openSMILE pass and the CQT, and joins them with
:meth:`CombinedSet.combine`.

=================  ==========  ==============================================
name               n_features  parts
=================  ==========  ==============================================
``deam260_tonal``  276         ``deam260`` + ``tonal`` + ``loudness``
``spectral_tonal`` 213         ``spectral`` + ``tonal`` + ``loudness``
=================  ==========  ==============================================

``deam260_tonal`` is what MEMO's per-frame families train on for real music:
the MediaEval baseline's openSMILE descriptors (timbre, energy, voicing),
plus key/mode strength, tonnetz and harmonic change (where valence cues such
as mode live, and which ``deam260`` lacks), plus an explicit loudness.
"""

from __future__ import annotations

import numpy as np

from memo_core.audio import Audio
from memo_core.features.base import (
    FeatureExtractor,
    fit_rows,
    get_extractor,
    register_feature,
)
from memo_core.features.cache import load_cached

__all__ = ["CombinedSet"]


class CombinedSet(FeatureExtractor):
    """Columns of :attr:`parts` side by side (the parts with their default parameters)."""

    parts: tuple[str, ...] = ()

    def _compute(self, audio: Audio) -> np.ndarray:

        blocks = []
        for part in self.parts:
            extractor = get_extractor(part)
            # read a part another model already cached; never write here (an upload's features stay in memory)
            values = load_cached(audio, extractor)
            blocks.append(values if values is not None else extractor.compute(audio))
        return self.combine(blocks, audio)

    def combine(self, blocks: list[np.ndarray], audio: Audio) -> np.ndarray:
        """The parts' frames (in :attr:`parts` order) side by side, cut or padded to the audio's frame count."""
        n = audio.n_frames
        return np.ascontiguousarray(np.concatenate([fit_rows(np.asarray(b, dtype=np.float32), n) for b in blocks],
                                                   axis=1))

    def _feature_names(self) -> list[str]:
        return [f"{part}:{name}" for part in self.parts for name in get_extractor(part).feature_names]


@register_feature("deam260_tonal")
class Deam260Tonal(CombinedSet):
    """``deam260`` (260) + ``tonal`` (14) + ``loudness`` (2) per 500 ms."""

    parts = ("deam260", "tonal", "loudness")
    n_features = 276


@register_feature("spectral_tonal")
class SpectralTonal(CombinedSet):
    """``spectral`` (197) + ``tonal`` (14) + ``loudness`` (2) per 500 ms."""

    parts = ("spectral", "tonal", "loudness")
    n_features = 213
