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
import math
import numbers
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from memo_core.errors import AudioError

__all__ = [
    "encode_audio",
    "sniff_mime",
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

AudioSource = str | os.PathLike | bytes | bytearray | memoryview


class SilenceWarning(UserWarning):
    """The audio is (nearly) silent; features and predictions will be flat."""


@dataclass(frozen=True, eq=False)
class Audio:
    """One mono signal.

    Attributes:
        samples: float32 samples in [-1, 1], read-only (the content hash that
            keys the feature cache is computed once, so the samples must not
            change; copy them to edit). [shape=(n_samples,)]
        sample_rate: samples per second.
        source: a name for messages and caches: the file name, or the name
            given with bytes input.
    """

    samples: np.ndarray
    sample_rate: int
    source: str = "<audio>"

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples)
        if _can_change(samples):
            samples = samples.copy()   # the caller keeps its own array writable
        samples.setflags(write=False)
        object.__setattr__(self, "samples", samples)

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
        digest = self.__dict__.get("_digest")
        if digest is None:
            h = hashlib.sha256()
            h.update(str(self.sample_rate).encode())
            h.update(np.ascontiguousarray(self.samples, dtype=np.float32).tobytes())
            digest = h.hexdigest()
            object.__setattr__(self, "_digest", digest)
        return digest

    def resampled(self, sample_rate: int) -> Audio:
        """This signal at another sample rate (itself when the rate already matches)."""
        if sample_rate == self.sample_rate:
            return self
        return Audio(_resample(self.samples, self.sample_rate, sample_rate), sample_rate, self.source)


def _can_change(array: np.ndarray) -> bool:
    """Whether ``array``, or an array it is a view of, is writable."""
    while isinstance(array, np.ndarray):
        if array.flags.writeable:
            return True
        array = array.base
    return False


def _resample(samples: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    # lazy: the resampler only when a sample rate must change
    import soxr

    out = soxr.resample(samples, orig_sr, target_sr, quality="HQ")
    out = np.clip(out, -1.0, 1.0).astype(np.float32, copy=False)
    out.setflags(write=False)   # a fresh array: Audio takes it without copying
    return out


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
            holds non-finite samples; or ``source``, ``sample_rate`` or
            ``max_duration_s`` is not a valid value.
    """
    sample_rate = _check_sample_rate(sample_rate)
    if isinstance(max_duration_s, bool) or not isinstance(max_duration_s, numbers.Real) or not max_duration_s > 0:
        raise AudioError(f"max_duration_s must be a positive number of seconds, got {max_duration_s!r}.")
    if isinstance(source, (bytes, bytearray, memoryview)):
        label = name or "<upload>"
        data = bytes(source)
        if not data:
            raise AudioError(f"{label} is empty (0 bytes). Choose a WAV, FLAC, OGG or MP3 file with sound in it.")
        opener = lambda: io.BytesIO(data)  # noqa: E731 - soundfile needs a fresh stream per open
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = name or path.name
        if not path.exists():
            raise AudioError(f"{path} does not exist. Check the path.")
        if path.is_dir():
            raise AudioError(f"{path} is a folder, not an audio file.")
        if path.stat().st_size == 0:
            raise AudioError(f"{label} is empty (0 bytes). Choose a WAV, FLAC, OGG or MP3 file with sound in it.")
        opener = lambda: str(path)  # noqa: E731
    else:
        raise AudioError(
            f"load_audio reads a file path or the bytes of a whole file, got {type(source).__name__}. "
            "Pass the path of a WAV, FLAC, OGG or MP3 file."
        )

    try:
        info = sf.info(opener())
    except Exception:  # libsndfile reports unknown formats in many ways, some naming Python objects
        raise AudioError(
            f"{label} is not a readable audio file (format not recognised). "
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

    samples = np.array(samples, dtype=np.float32, order="C")   # owned, so Audio need not copy it again
    samples.setflags(write=False)
    if sample_rate is not None and sample_rate != file_sr:
        samples = _resample(samples, int(file_sr), int(sample_rate))
        file_sr = sample_rate
    return Audio(samples=samples, sample_rate=int(file_sr), source=label)


def _check_sample_rate(sample_rate: object) -> int | None:
    """``sample_rate`` as an int, or ``None``; anything but a positive whole number of Hz raises."""
    if sample_rate is None:
        return None
    whole = isinstance(sample_rate, numbers.Integral) or (
        isinstance(sample_rate, numbers.Real) and math.isfinite(sample_rate) and float(sample_rate).is_integer())
    if isinstance(sample_rate, bool) or not whole or int(sample_rate) <= 0:
        raise AudioError(
            f"sample_rate must be a positive whole number of Hz (e.g. 44100), or None to keep the file's rate; "
            f"got {sample_rate!r}."
        )
    return int(sample_rate)


def _seconds_text(seconds: float) -> str:
    """A duration for messages: seconds under 2 minutes, minutes above."""
    if seconds < 120:
        return f"{seconds:.2f}".rstrip("0").rstrip(".") + " s"
    return f"{seconds / 60:.1f}".rstrip("0").rstrip(".") + " min"


def _too_long(label: str, duration: float, limit: float) -> str:
    return (
        f"{label} is {_seconds_text(duration)} long, over the {_seconds_text(limit)} limit. "
        "Cut it into shorter excerpts, or raise the limit (max_duration_s / --max-duration)."
    )


def _reason(exc: Exception) -> str:
    """libsndfile's complaint without the Python objects it names ("Error opening <_io.BytesIO ...>: ")."""
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    text = re.sub(r"^Error opening .*?: ", "", text)
    text = re.sub(r"<[^<>]* at 0x[0-9a-fA-F]+>", "the data", text)
    return text[:160]


def encode_audio(samples: np.ndarray, sample_rate: int, *, format: str = "FLAC") -> bytes:
    """Mono samples in [-1, 1] as the bytes of a 16-bit FLAC (or WAV) file, e.g. for a player or a download.

    Raises:
        AudioError: an unknown format, or samples that are empty or not finite.
    """
    if format.upper() not in ("FLAC", "WAV"):
        raise AudioError(f"encode_audio writes FLAC or WAV, not {format!r}.")
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise AudioError("encode_audio needs a non-empty array of finite samples.")
    buf = io.BytesIO()
    sf.write(buf, np.clip(x, -1.0, 1.0), int(sample_rate), format=format.upper(), subtype="PCM_16")
    return buf.getvalue()


def sniff_mime(data: bytes) -> str:
    """The MIME type of an audio file's bytes from its magic number (``audio/wav`` when unknown), for a player."""
    head = bytes(data[:12])
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    return "audio/wav"
