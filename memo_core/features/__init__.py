"""Feature extractors for music emotion recognition, a registry, and an on-disk cache.

Every extractor returns finite float32 frames ``[shape=(n_frames, n_features)]``.
The 500 ms sets (the annotation rate of DEAM, emoMusic and PMEmo) give
``ceil(duration / 0.5)`` rows, frame ``i`` covering ``[0.5 i, 0.5 i + 0.5)`` s.
An annotation at time ``t`` describes the frame that ENDS at ``t``
(:func:`annotation_frame_index`: 15.0 s pairs with frame 29, ``[14.5, 15.0)``;
15.5 s with frame 30); use that helper wherever annotations meet frames.


=============  ==========  ==============  ===========================================
name           n_features  frame_seconds   what
=============  ==========  ==============  ===========================================
deam260        260         0.5             DEAM / MediaEval 2015 baseline (openSMILE)
compare6373    6373        0.5             ComParE 2016 functionals (openSMILE)
chroma         24          0.5             chroma_stft + chroma_cqt (librosa)
cqt            252         0.5             CQT dB, 7 octaves x 36 bins (librosa)
chroma_cqt     276         0.5             cqt + chroma (librosa)
spectral       197         0.5             Chaki et al.'s librosa descriptors
logmel128      128         0.01            DAMFF log-mel, 50 rows a 500 ms step
mel96          96          256 / 12000     MTG-Jamendo baseline mel dB
loudness       2           0.5             RMS dB per 500 ms and trailing 2 s
tonal          14          0.5             key/mode (Krumhansl-Kessler), tonnetz, chroma
deam260_tonal  276         0.5             deam260 + tonal + loudness side by side
spectral_tonal 213         0.5             spectral + tonal + loudness side by side
=============  ==========  ==============  ===========================================

Example::

    from memo_core.audio import load_audio
    from memo_core.features import extract, get_extractor
    x = extract(load_audio("song.mp3"), "deam260")      # (n_frames, 260), cached
    spec = get_extractor("deam260").spec()              # store with a model
"""

from __future__ import annotations

from memo_core.features import (  # noqa: F401 - importing registers the extractors
    combined,
    librosa_sets,
    opensmile_sets,
    spectrograms,
    tonal,
)
from memo_core.features.base import (
    FEATURES_VERSION,
    FeatureExtractor,
    annotation_frame_index,
    frame_times,
    get_extractor,
    library_versions,
    list_features,
    register_feature,
)
from memo_core.features.cache import CacheWarning, cache_dir, extract

__all__ = [
    "FEATURES_VERSION",
    "CacheWarning",
    "FeatureExtractor",
    "annotation_frame_index",
    "cache_dir",
    "extract",
    "frame_times",
    "get_extractor",
    "library_versions",
    "list_features",
    "register_feature",
]
