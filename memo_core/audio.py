"""Load, validate and resample audio into one :class:`Audio` record.

Everything downstream (features, models, the dashboard) takes an ``Audio``:
mono float32 samples in [-1, 1] at a known sample rate. Reading goes through
soundfile, whose bundled libsndfile reads WAV, FLAC, OGG/Vorbis, Opus and MP3;
resampling uses soxr (the resampler librosa itself uses).

Bad input raises :class:`~memo_core.errors.AudioError` with a message that says
what is wrong and what to do; silence is accepted with a :class:`SilenceWarning`.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import numpy as np
import soundfile as sf

from .errors import AudioError

__all__ = [
    "Audio",
    "AudioSource",
    "SilenceWarning",
    "load_audio",
    "FRAME_SECONDS",
    "DEFAULT_SAMPLE_RATE",
    "DEFAULT_MAX_DURATION_S",
    "SUPPORTED_FORMATS",
]

#: The annotation rate of DEAM, emoMusic and PMEmo: one value every 500 ms.
FRAME_SECONDS = 0.5
DEFAULT_SAMPLE_RATE = 44_100
#: Longer input is refused: 20 minutes is longer than nearly any song and keeps
#: feature extraction within memory on a laptop.
DEFAULT_MAX_DURATION_S = 20 * 60.0
SUPPORTED_FORMATS = ("WAV", "FLAC", "OGG", "MP3")
#: Peak level below which a signal counts as silence (about -80 dBFS).
_SILENCE_PEAK = 1e-4

AudioSource = Union[str, os.PathLike, bytes, bytearray, memoryview]


class SilenceWarning(UserWarning):
    """The audio is (nearly) silent; features and predictions will be flat."""


@dataclass(frozen=True, eq=False)
class Audio:
    """One mono signal.

    Attributes:
        samples: float32 samples in [-1, 1]. [shape=(n_samples,)]
        sample_rate: samples per second.
        source: a name for messages and caches: the file name, or the name
            given with bytes input.
    """

    samples: np.ndarray
    sample_rate: int
    source: str = "<audio>"
    _digest: list = field(default_factory=list, repr=False, compare=False)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / float(self.sample_rate)

    @property
    def n_frames(self) -> int:
        """Number of whole 500 ms annotation frames, the last partial one included."""
        return max(1, int(np.ceil(round(self.duration / FRAME_SECONDS, 6))))

    def content_hash(self) -> str:
        """SHA-256 of the samples and sample rate; computed once, used by the feature cache."""
        if not self._digest:
            h = hashlib.sha256()
            h.update(str(self.sample_rate).encode())
            h.update(np.ascontiguousarray(self.samples, dtype=np.float32).tobytes())
            self._digest.append(h.hexdigest())
        return self._digest[0]

    def resampled(self, sample_rate: int) -> "Audio":
        """This signal at another sample rate (itself when the rate already matches)."""
        if sample_rate == self.sample_rate:
            return self
        return Audio(_resample(self.samples, self.sample_rate, sample_rate), sample_rate, self.source)


def _resample(samples: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    import soxr

    out = soxr.resample(samples, orig_sr, target_sr, quality="HQ")
    return np.clip(out, -1.0, 1.0).astype(np.float32, copy=False)


def load_audio(
    source: AudioSource,
    *,
    sample_rate: int | None = DEFAULT_SAMPLE_RATE,
    max_duration_s: float = DEFAULT_MAX_DURATION_S,
    name: str | None = None,
) -> Audio:
    """Read a file or bytes into a validated mono :class:`Audio`.

    Args:
        source: a path, or the bytes of a whole file (an upload).
        sample_rate: resample to this rate; ``None`` keeps the file's rate.
        max_duration_s: refuse longer input.
        name: the name used in messages for bytes input (default ``"<upload>"``).

    Returns:
        The audio, downmixed to mono by averaging channels.

    Raises:
        AudioError: the file is missing, is not audio, is corrupt or empty, is
            shorter than one 500 ms frame, longer than ``max_duration_s``, or
            holds non-finite samples.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        label = name or "<upload>"
        data = bytes(source)
        if not data:
            raise AudioError(f"{label} is empty (0 bytes). Choose a WAV, FLAC, OGG or MP3 file with sound in it.")
        opener = lambda: io.BytesIO(data)  # noqa: E731 - soundfile needs a fresh stream per open
    else:
        path = Path(source)
        label = name or path.name
        if not path.exists():
            raise AudioError(f"{path} does not exist. Check the path.")
        if path.is_dir():
            raise AudioError(f"{path} is a folder, not an audio file.")
        if path.stat().st_size == 0:
            raise AudioError(f"{label} is empty (0 bytes). Choose a WAV, FLAC, OGG or MP3 file with sound in it.")
        opener = lambda: str(path)  # noqa: E731

    try:
        info = sf.info(opener())
    except Exception as exc:  # libsndfile reports unknown formats in many ways
        raise AudioError(
            f"{label} is not a readable audio file ({_reason(exc)}). "
            f"MEMO reads {', '.join(SUPPORTED_FORMATS)}; convert the file to one of these, or check it is not corrupt."
        ) from None
    if info.samplerate <= 0:
        raise AudioError(f"{label} declares an invalid sample rate ({info.samplerate}); the file is corrupt.")
    if info.frames > 0 and info.frames / info.samplerate > max_duration_s * 1.01 + 1.0:
        raise AudioError(_too_long(label, info.frames / info.samplerate, max_duration_s))

    try:
        data_arr, file_sr = sf.read(opener(), dtype="float32", always_2d=True)
    except Exception as exc:
        raise AudioError(
            f"{label} could not be decoded ({_reason(exc)}): the file looks corrupt or truncated. "
            "Re-export or re-download it."
        ) from None

    if data_arr.size == 0:
        raise AudioError(f"{label} holds no samples. Choose a file with sound in it.")
    samples = data_arr.mean(axis=1, dtype=np.float64).astype(np.float32) if data_arr.shape[1] > 1 else data_arr[:, 0]
    duration = len(samples) / float(file_sr)
    if duration < FRAME_SECONDS:
        raise AudioError(
            f"{label} is {duration * 1000:.0f} ms long, shorter than one {FRAME_SECONDS * 1000:.0f} ms analysis frame. "
            "Use a clip of at least half a second (the models need several seconds to say anything useful)."
        )
    if duration > max_duration_s:
        raise AudioError(_too_long(label, duration, max_duration_s))
    if not np.all(np.isfinite(samples)):
        n_bad = int(np.count_nonzero(~np.isfinite(samples)))
        raise AudioError(f"{label} holds {n_bad} non-finite samples (NaN or infinity): the file is corrupt. Re-export it.")

    peak = float(np.max(np.abs(samples)))
    if peak > 1.0:
        # Only floating-point files can exceed full scale; scaling keeps the shape and relative loudness.
        samples = samples / peak
    if peak < _SILENCE_PEAK:
        warnings.warn(
            f"{label} is silent (peak {peak:.1e}); its features and predictions will be flat.",
            SilenceWarning,
            stacklevel=2,
        )

    samples = np.ascontiguousarray(samples, dtype=np.float32)
    if sample_rate is not None and sample_rate != file_sr:
        samples = _resample(samples, int(file_sr), int(sample_rate))
        file_sr = sample_rate
    return Audio(samples=samples, sample_rate=int(file_sr), source=label)


def _too_long(label: str, duration: float, limit: float) -> str:
    return (
        f"{label} is {duration / 60:.1f} min long, over the {limit / 60:.0f} min limit. "
        "Cut it into shorter excerpts, or raise the limit (max_duration_s / --max-duration)."
    )


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return text[:160]
