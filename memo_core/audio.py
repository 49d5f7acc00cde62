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
    "DECODE_SAMPLES_PER_SECOND",
    "MAX_CHANNELS",
    "MAX_INPUT_SAMPLE_RATE",
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
#: The decode bound: at most this many samples (frames x channels) per second of ``max_duration_s`` are decoded,
#: e.g. stereo at 192 kHz or 8 channels at 48 kHz for the whole allowed length. Checked from the header before
#: decoding, and counted while decoding, so a small file that expands enormously (silence at 384 kHz on 8 channels
#: compresses to almost nothing) is refused before it costs memory or time.
DECODE_SAMPLES_PER_SECOND = 384_000
#: More channels or a higher sample rate than these is refused from the header.
MAX_CHANNELS = 32
MAX_INPUT_SAMPLE_RATE = 384_000
#: Samples (frames x channels) decoded at a time: peak memory is this block (8 MB as float32, a little more for
#: the downmix) plus the output, mono at the output rate. Large blocks mean few seeks (soundfile seeks after each
#: read, which costs time in FLAC and resets the MP3 decoder).
_BLOCK_SAMPLES = 1 << 21
#: libsndfile's frame count when the header does not give the length (SF_COUNT_MAX).
_UNKNOWN_FRAMES = 2**62
#: libsndfile's words for a failed allocation.
_MEMORY_WORDS = re.compile(r"malloc|out of memory|memory allocation", re.IGNORECASE)

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

    Decoding is bounded: the header's frames x channels must stay within
    :data:`DECODE_SAMPLES_PER_SECOND` per second of ``max_duration_s`` (with at most
    :data:`MAX_CHANNELS` channels at :data:`MAX_INPUT_SAMPLE_RATE`), and the file is
    decoded, downmixed and resampled block by block, so peak memory is about the
    output (mono at ``sample_rate``) whatever the input's rate and channels. A file
    whose header does not give its length is counted while decoding and stopped at
    the same bounds.

    Raises:
        AudioError: the file is missing, cannot be read (permissions), is not
            audio, is corrupt or empty, is shorter than one 500 ms frame, longer
            than ``max_duration_s``, holds more samples to decode than the bound
            above, or holds non-finite samples; the machine ran out of memory
            decoding it; or ``source``, ``sample_rate`` or ``max_duration_s`` is
            not a valid value.
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
        try:
            if not path.exists():
                raise AudioError(f"{path} does not exist. Check the path.")
            if path.is_dir():
                raise AudioError(f"{path} is a folder, not an audio file.")
            if path.stat().st_size == 0:
                raise AudioError(f"{label} is empty (0 bytes). Choose a WAV, FLAC, OGG or MP3 file with sound in it.")
            with open(path, "rb") as handle:
                handle.read(1)
        except OSError as exc:   # permissions (of the file or a folder above it), or a disk that fails to read
            raise AudioError(
                f"{path} cannot be read ({exc.strerror or type(exc).__name__}). Check that the user running MEMO "
                "may read it (the file's permissions, and those of the folders above it)."
            ) from None
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
    _check_header(label, info, max_duration_s)

    try:
        samples, file_sr, peak, n_bad = _decode(opener(), label, info, max_duration_s, sample_rate)
    except AudioError:
        raise
    except MemoryError:
        raise AudioError(_out_of_memory(label, info)) from None
    except Exception as exc:
        if _MEMORY_WORDS.search(str(exc)):
            raise AudioError(_out_of_memory(label, info)) from None
        raise AudioError(
            f"{label} could not be decoded ({_reason(exc)}): the file looks corrupt or truncated. "
            "Re-export or re-download it."
        ) from None

    if n_bad:
        raise AudioError(f"{label} holds {n_bad} non-finite samples (NaN or infinity): the file is corrupt. Re-export it.")
    if peak > 1.0:
        # Only floating-point files can exceed full scale; scaling keeps the shape and relative loudness.
        np.divide(samples, np.float32(peak), out=samples)
    if sample_rate is not None and sample_rate != info.samplerate:
        np.clip(samples, -1.0, 1.0, out=samples)   # the resampler may overshoot full scale a little
    if peak < _SILENCE_PEAK:
        warnings.warn(
            f"{label} is silent (peak {peak:.1e}); its features and predictions will be flat.",
            SilenceWarning,
            stacklevel=2,
        )
    samples.setflags(write=False)   # owned, so Audio need not copy it again
    return Audio(samples=samples, sample_rate=int(file_sr), source=label)


def _known_frames(info: object) -> int | None:
    """The frame count the header gives, or None when it does not say (libsndfile's SF_COUNT_MAX, e.g. chained Ogg)."""
    frames = int(getattr(info, "frames", 0) or 0)
    return frames if 0 < frames < _UNKNOWN_FRAMES else None


def _decode_budget(max_duration_s: float) -> int:
    """The most samples (frames x channels) decoded for one file under ``max_duration_s``."""
    return int(max_duration_s * DECODE_SAMPLES_PER_SECOND)


def _check_header(label: str, info: object, max_duration_s: float) -> None:
    """Refuse from the header alone what would take too long or too much memory to decode."""
    rate, channels, frames = int(info.samplerate), int(info.channels), _known_frames(info)
    what = "convert it to stereo at 48 kHz or less (e.g. `ffmpeg -i IN -ac 2 -ar 44100 OUT.flac`)"
    if channels > MAX_CHANNELS:
        raise AudioError(f"{label} has {channels} channels; MEMO decodes at most {MAX_CHANNELS}. "
                         f"Mix it down: {what}.")
    if rate > MAX_INPUT_SAMPLE_RATE:
        raise AudioError(f"{label} is sampled at {rate / 1000:g} kHz; MEMO decodes at most "
                         f"{MAX_INPUT_SAMPLE_RATE / 1000:g} kHz. Resample it: {what}.")
    if frames is None:
        return   # counted while decoding instead
    if frames / rate > max_duration_s * 1.01 + 1.0:
        raise AudioError(_too_long(label, frames / rate, max_duration_s))
    if frames * channels > _decode_budget(max_duration_s):
        raise AudioError(_over_budget(label, frames * channels, max_duration_s,
                                      f"{channels} channels at {rate / 1000:g} kHz for {_seconds_text(frames / rate)}"))


def _over_budget(label: str, n_samples: int, max_duration_s: float, detail: str) -> str:
    return (
        f"{label} holds {detail}: {_count_text(n_samples)} samples to decode, over the decode limit of "
        f"{_count_text(_decode_budget(max_duration_s))} ({_seconds_text(max_duration_s)} of stereo at 192 kHz or "
        "8 channels at 48 kHz). Convert it to stereo at 48 kHz or less "
        "(e.g. `ffmpeg -i IN -ac 2 -ar 44100 OUT.flac`), or cut it shorter."
    )


def _count_text(n: int) -> str:
    for size, word in ((1e9, "billion"), (1e6, "million")):
        if n >= size:
            return f"{n / size:.1f}".rstrip("0").rstrip(".") + f" {word}"
    return f"{n:,}"


def _out_of_memory(label: str, info: object) -> str:
    return (
        f"{label} could not be decoded: this machine ran out of memory ({info.channels} channels at "
        f"{info.samplerate / 1000:g} kHz). The file is not necessarily damaged; try again when fewer analyses run, "
        "or convert it to stereo at 44.1 kHz first."
    )


def _decode(
    source: object, label: str, info: object, max_duration_s: float, sample_rate: int | None,
) -> tuple[np.ndarray, int, float, int]:
    """Decode in blocks, downmixing (and resampling) each: memory grows with the output, mono at the output rate.

    Returns ``(samples, rate, peak, n_non_finite)``: writable float32 mono samples (not yet scaled into range),
    their rate, the input's peak level and its count of non-finite samples. Raises AudioError for input that is
    too short or too long, or that decodes to more than its header said and past the limits.
    """
    file_sr, channels, expected = int(info.samplerate), int(info.channels), _known_frames(info)
    budget = _decode_budget(max_duration_s)
    stop_at = min(int((max_duration_s * 1.01 + 1.0) * file_sr), budget // max(channels, 1))
    out_sr = file_sr if sample_rate is None else int(sample_rate)
    stream = None
    if out_sr != file_sr:
        # lazy: the resampler only when a sample rate must change
        import soxr

        stream = soxr.ResampleStream(file_sr, out_sr, 1, dtype="float32", quality="HQ")
    first_guess = expected if expected is not None else int(min(stop_at, 60 * file_sr))
    out = _Growing(int(math.ceil(first_guess * out_sr / file_sr)) + 16)
    block_frames = max(1024, _BLOCK_SAMPLES // max(channels, 1))
    block = np.empty((block_frames, channels), dtype=np.float32)
    n_frames, peak, n_bad = 0, 0.0, 0
    with sf.SoundFile(source) as f:
        while True:
            want = block_frames if expected is None else min(block_frames, expected - n_frames)
            if want <= 0:
                break
            got = f.read(want, dtype="float32", always_2d=True, out=block[:want])
            if len(got) == 0:
                break
            n_frames += len(got)
            if n_frames > stop_at:
                if n_frames * channels > budget:
                    raise AudioError(_over_budget(label, n_frames * channels, max_duration_s,
                                                  f"more than {_seconds_text(n_frames / file_sr)} of {channels} "
                                                  f"channels at {file_sr / 1000:g} kHz (its header does not give "
                                                  "its length)"))
                raise AudioError(
                    f"{label} holds more than {_seconds_text(n_frames / file_sr)} of audio (its header does not give "
                    f"its length), over the {_seconds_text(max_duration_s)} limit. Cut it into shorter excerpts, "
                    "or raise the limit (max_duration_s / --max-duration)."
                )
            mono = got.mean(axis=1, dtype=np.float64).astype(np.float32) if channels > 1 else got[:, 0]
            finite = np.isfinite(mono)
            if not finite.all():
                n_bad += int(np.count_nonzero(~finite))
            elif len(mono):
                peak = max(peak, float(np.max(np.abs(mono))))
            out.append(mono if stream is None else stream.resample_chunk(mono, last=False))
    if stream is not None:
        out.append(stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
    if n_frames == 0:
        raise AudioError(f"{label} holds no samples. Choose a file with sound in it.")
    duration = n_frames / float(file_sr)
    if duration < FRAME_SECONDS:
        raise AudioError(
            f"{label} is {duration * 1000:.0f} ms long, shorter than one {FRAME_SECONDS * 1000:.0f} ms analysis frame. "
            "Use a clip of at least half a second (the models need several seconds to say anything useful)."
        )
    if duration > max_duration_s:
        raise AudioError(_too_long(label, duration, max_duration_s))
    return out.array(), out_sr, peak, n_bad


class _Growing:
    """A float32 array filled block by block: allocated once at the expected length, grown only when it is passed."""

    def __init__(self, capacity: int) -> None:
        self._data = np.empty(max(capacity, 1), dtype=np.float32)
        self._n = 0

    def append(self, values: np.ndarray) -> None:
        end = self._n + len(values)
        if end > len(self._data):
            grown = np.empty(max(end, len(self._data) * 3 // 2), dtype=np.float32)
            grown[: self._n] = self._data[: self._n]
            self._data = grown
        self._data[self._n:end] = values
        self._n = end

    def array(self) -> np.ndarray:
        """The values, as an array that owns its memory (a copy only when the guess was off)."""
        data = self._data if self._n == len(self._data) else self._data[: self._n].copy()
        self._data = np.empty(0, dtype=np.float32)
        return data


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
