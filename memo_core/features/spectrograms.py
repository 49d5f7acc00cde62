"""Spectrograms for the CNN models: ``logmel128`` (DAMFF) and ``mel96`` (MTG-Jamendo baseline).

Unlike the 500 ms sets these return one row per spectrogram frame, and their
``frame_seconds`` is the hop:

- ``logmel128``: 16 kHz by default (``sample_rate``), 60 ms Hann window (960
  samples in a 1024-point FFT), 10 ms hop, 128 Slaney mel bands up to half the
  rate (8 kHz), natural log of the mel power plus 1e-6. DAMFF's paper computes
  it at 44.1 kHz (``sample_rate=44100``: a 2646-sample window in a 4096-point
  FFT, 441-sample hop, bands up to 22.05 kHz), which ``reproduce`` uses for the
  paper-size runs; 16 kHz is the cheaper CPU preset (about 0.18 s against 0.41 s
  per 45 s clip on one core) and what the shipped ``damff`` checkpoint reads.
  Frame ``i`` starts at ``i * 10 ms`` (uncentred). The signal is zero-padded so
  there are exactly 50 frames a 500 ms step: ``[shape=(50 * n_steps, 128)]``
  with ``n_steps = ceil(duration / 0.5)``, so rows ``50 i .. 50 i + 49`` belong
  to annotation frame ``i``.
- ``logmel128_steps``: ``logmel128`` regrouped on the 500 ms annotation grid,
  so DAMFF can use every sequence-model tool (examples, normaliser, ``fit``,
  checkpoints, ``predict``): one row a 500 ms step holding its 50 x 128 block,
  time-major (``row.reshape(50, 128)[j]`` is spectrogram frame ``50 i + j``).
  ``[shape=(n_steps, 6400)]``, ``frame_seconds = 0.5``.
- ``mel96``: as the MTG-Jamendo baseline computes it: 12 kHz,
  ``librosa.feature.melspectrogram(n_fft=512, hop_length=256, n_mels=96)``
  (centred frames) then ``librosa.power_to_db`` with its defaults (ref 1,
  top_db 80). ``[shape=(1 + n_samples_12k // 256, 96)]``, ``frame_seconds = 256 / 12000``;
  no padding, since 500 ms is not a whole number of its hops.
"""

from __future__ import annotations

import numpy as np

from memo_core.audio import FRAME_SECONDS, Audio
from memo_core.errors import FeatureError
from memo_core.features.base import (
    FeatureExtractor,
    fit_rows,
    pad_samples,
    register_feature,
)

__all__ = ["LogMel128", "LogMel128Steps", "Mel96", "DEFAULT_SAMPLE_RATE"]

_LOG_OFFSET = 1e-6

#: ``logmel128``'s default analysis rate (the CPU preset; DAMFF's paper uses 44100).
DEFAULT_SAMPLE_RATE = 16_000


@register_feature("logmel128")
class LogMel128(FeatureExtractor):
    """DAMFF log-mel spectrogram: 128 bands, 60 ms window, 10 ms hop.

    Args:
        sample_rate: analysis rate in Hz, a multiple of 100 so 10 ms is whole samples (default 16000).
    """

    n_features = 128
    frame_seconds = 0.01

    def __init__(self, *, sample_rate: int = DEFAULT_SAMPLE_RATE) -> None:
        if not isinstance(sample_rate, int) or sample_rate % 100 or not 8_000 <= sample_rate <= 48_000:
            raise FeatureError(
                f"logmel128: sample_rate must be a multiple of 100 in 8000..48000 Hz (so 10 ms is whole samples), got {sample_rate!r}."
            )
        super().__init__(sample_rate=sample_rate)

    @property
    def frames_per_step(self) -> int:
        """Spectrogram frames a 500 ms annotation step (50)."""
        return int(round(FRAME_SECONDS / self.frame_seconds))

    def n_frames_for(self, audio: Audio) -> int:
        return audio.n_frames * self.frames_per_step

    def _compute(self, audio: Audio) -> np.ndarray:
        # lazy: librosa loads numba (about 1 s); listing or loading without computing never needs it
        import librosa

        sample_rate = self.params["sample_rate"]
        hop = sample_rate // 100
        win = 6 * hop
        n_fft = 1 << (win - 1).bit_length()
        n_rows = self.n_frames_for(audio)
        audio = audio.resampled(sample_rate)
        # Enough samples for the last frame to be whole: (n_rows - 1) hops plus one FFT frame.
        y = pad_samples(audio.samples, (n_rows - 1) * hop + n_fft)
        mel = librosa.feature.melspectrogram(
            y=y, sr=sample_rate, n_fft=n_fft, hop_length=hop, win_length=win, center=False, n_mels=128
        )
        return fit_rows(np.log(mel + _LOG_OFFSET).T.astype(np.float32), n_rows)

    def _feature_names(self) -> list[str]:
        return [f"logmel_{i:03d}" for i in range(128)]


@register_feature("logmel128_steps")
class LogMel128Steps(FeatureExtractor):
    """``logmel128`` with each 500 ms step's 50 frames in one row (DAMFF's per-segment input).

    Args:
        sample_rate: as :class:`LogMel128` (default 16000).
    """

    frames_per_step = 50
    n_mels = 128
    n_features = frames_per_step * n_mels
    frame_seconds = FRAME_SECONDS

    def __init__(self, *, sample_rate: int = DEFAULT_SAMPLE_RATE) -> None:
        self._spectrogram = LogMel128(sample_rate=sample_rate)  # validates sample_rate
        super().__init__(sample_rate=sample_rate)

    def _compute(self, audio: Audio) -> np.ndarray:
        mel = self._spectrogram._compute(audio)  # (50 * n_steps, 128)
        return mel.reshape(audio.n_frames, self.n_features)

    def _feature_names(self) -> list[str]:
        return [f"t{j:02d}_logmel_{i:03d}" for j in range(self.frames_per_step) for i in range(self.n_mels)]


@register_feature("mel96")
class Mel96(FeatureExtractor):
    """MTG-Jamendo baseline mel spectrogram in dB: 12 kHz, n_fft 512, hop 256, 96 bands."""

    sample_rate = 12_000
    hop_length = 256
    n_features = 96
    frame_seconds = hop_length / sample_rate

    def __init__(self) -> None:
        super().__init__()

    def n_frames_for(self, audio: Audio) -> int:
        n = len(audio.samples)
        if audio.sample_rate != self.sample_rate:
            # soxr returns n * out / in samples rounded half up (47039 at 22.05 kHz -> 25599 at 12 kHz).
            n = (2 * n * self.sample_rate + audio.sample_rate) // (2 * audio.sample_rate)
        return 1 + n // self.hop_length

    def _compute(self, audio: Audio) -> np.ndarray:
        # lazy: librosa loads numba (about 1 s); listing or loading without computing never needs it
        import librosa

        y = audio.resampled(self.sample_rate).samples
        mel = librosa.feature.melspectrogram(y=y, sr=self.sample_rate, n_fft=512, hop_length=self.hop_length, n_mels=96)
        return librosa.power_to_db(mel).T.astype(np.float32)

    def _feature_names(self) -> list[str]:
        return [f"mel_{i:02d}" for i in range(96)]
