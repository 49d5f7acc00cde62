"""librosa feature sets of Chaki et al. (2020), Tables 3-4, averaged per 500 ms.

- ``chroma`` (24): chroma_stft 12 + chroma_cqt 12.
- ``cqt`` (252): constant-Q magnitude in dB, 7 octaves x 36 bins from C1 (32.7 Hz).
- ``chroma_cqt`` (276): ``cqt`` 252 then ``chroma`` 24.
- ``spectral`` (197): chroma_stft 12, chroma_cqt 12, chroma_cens 12, MFCC 20,
  RMS 1, mel 128 (dB), spectral centroid 1, bandwidth 1, contrast 7,
  flatness 1, roll-off 1, zero-crossing rate 1.

Audio is resampled to 25.6 kHz so that librosa's default hop of 512 samples is
exactly 1/25 of 500 ms and a multiple of 2^6, as the 7-octave CQT requires
(at 22.05 kHz no such hop exists: 500 ms is an odd 11025 samples). librosa
frames are centred (frame ``j`` at ``j * 512`` samples); frames ``25 i`` to
``25 i + 24`` are averaged into 500 ms step ``i``. The signal is zero-padded to
``n_frames * 0.5`` s first.

One STFT and one CQT serve every descriptor of one audio, and the latest
audio's intermediates are kept in memory, so extracting ``chroma`` then
``spectral`` from the same clip computes them once.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from memo_core.audio import FRAME_SECONDS, Audio
from memo_core.errors import FeatureError
from memo_core.features.base import (
    FeatureExtractor,
    pad_samples,
    pool_frames,
    register_feature,
)

__all__ = ["Chroma", "Cqt", "ChromaCqt", "Spectral", "SAMPLE_RATE", "HOP_LENGTH", "clear_intermediates"]

SAMPLE_RATE = 25_600
HOP_LENGTH = 512
_PER_STEP = int(round(FRAME_SECONDS * SAMPLE_RATE)) // HOP_LENGTH  # 25 librosa frames a 500 ms step
CQT_BINS_PER_OCTAVE = 36
CQT_OCTAVES = 7
CQT_FMIN_NOTE = "C1"
PITCH_CLASSES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
# dB floors: |CQT| below 1e-5 (-100 dB) and mel power below 1e-10 (-100 dB) are silence.
_AMIN = 1e-5
_POWER_AMIN = 1e-10

_BLOCK_FRAMES = 1500  # librosa frames (30 s) a block where descriptors are computed in time blocks

_MEMO: OrderedDict[tuple, _Analysis] = OrderedDict()
_MEMO_SIZE = 1
_MEMO_LOCK = threading.Lock()


def clear_intermediates() -> None:
    """Forget the in-memory STFT/CQT of the latest audio (benchmarks call it to time cold runs)."""
    with _MEMO_LOCK:
        _MEMO.clear()


class _Analysis:
    """Lazily computed intermediates of one audio, each computed at most once."""

    def __init__(self, audio: Audio, n_fft: int) -> None:
        self.n_steps = audio.n_frames   # before resampling: the count rule is on the input's duration
        audio = audio.resampled(SAMPLE_RATE)
        self.y = pad_samples(audio.samples, self.n_steps * _PER_STEP * HOP_LENGTH).astype(np.float32)
        self.n_fft = n_fft
        self._values: dict[str, np.ndarray] = {}
        self._lock = threading.RLock()  # steps call get() for their inputs

    def get(self, key: str) -> np.ndarray:
        with self._lock:
            if key not in self._values:
                with warnings.catch_warnings():
                    # The CQT's lowest octaves of a short clip, and tuning estimation on silence,
                    # warn about conditions the 500 ms averages handle.
                    warnings.filterwarnings("ignore", message=r"n_fft=\d+ is too large", category=UserWarning)
                    warnings.filterwarnings("ignore", message="Trying to estimate tuning", category=UserWarning)
                    self._values[key] = _STEPS[key](self)
            return self._values[key]


def _analysis(audio: Audio, n_fft: int) -> _Analysis:
    key = (audio.content_hash(), n_fft)
    with _MEMO_LOCK:
        if key not in _MEMO:
            _MEMO[key] = _Analysis(audio, n_fft)
            while len(_MEMO) > _MEMO_SIZE:
                _MEMO.popitem(last=False)
        return _MEMO[key]


def _magnitude(a: _Analysis) -> np.ndarray:
    # lazy: librosa loads numba (about 1 s); listing or loading without computing never needs it
    import librosa

    return np.abs(librosa.stft(a.y, n_fft=a.n_fft, hop_length=HOP_LENGTH, center=True))


def _cqt(a: _Analysis) -> np.ndarray:
    # lazy: librosa loads numba (about 1 s); listing or loading without computing never needs it
    import librosa

    return np.abs(
        librosa.cqt(
            a.y,
            sr=SAMPLE_RATE,
            hop_length=HOP_LENGTH,
            fmin=librosa.note_to_hz(CQT_FMIN_NOTE),
            n_bins=CQT_OCTAVES * CQT_BINS_PER_OCTAVE,
            bins_per_octave=CQT_BINS_PER_OCTAVE,
        )
    )


def _mel_power(a: _Analysis) -> np.ndarray:
    # lazy: librosa loads numba (about 1 s); listing or loading without computing never needs it
    import librosa

    return librosa.feature.melspectrogram(S=a.get("magnitude") ** 2, sr=SAMPLE_RATE, n_fft=a.n_fft, n_mels=128)


def _tuning(magnitude: np.ndarray) -> float:
    """``librosa.estimate_tuning(S=magnitude ** 2, sr=SAMPLE_RATE, bins_per_octave=12)``, in time blocks.

    piptrack works frame by frame and the estimate only needs the median and a
    histogram of the pitches it keeps, so blocks give the same value without
    piptrack's dozen whole-song temporaries (about 1 GB for 10 min).
    """
    # lazy: librosa loads numba (about 1 s); listing or loading without computing never needs it
    import librosa

    pitches, mags = [], []
    for t0 in range(0, magnitude.shape[1], _BLOCK_FRAMES):
        pitch, mag = librosa.piptrack(sr=SAMPLE_RATE, S=magnitude[:, t0:t0 + _BLOCK_FRAMES] ** 2, n_fft=2048)
        keep = pitch > 0
        pitches.append(pitch[keep])
        mags.append(mag[keep])
    pitch, mag = np.concatenate(pitches), np.concatenate(mags)
    threshold = np.median(mag) if mag.size else 0.0
    return librosa.pitch_tuning(pitch[mag >= threshold], resolution=0.01, bins_per_octave=12)


def _chroma_stft(a: _Analysis) -> np.ndarray:
    # lazy: librosa loads numba (about 1 s); listing or loading without computing never needs it
    import librosa

    magnitude = a.get("magnitude")
    return librosa.feature.chroma_stft(S=magnitude ** 2, sr=SAMPLE_RATE, n_fft=a.n_fft, tuning=_tuning(magnitude))


def _chroma_cqt(a: _Analysis) -> np.ndarray:
    # lazy: librosa loads numba (about 1 s); listing or loading without computing never needs it
    import librosa

    # The 252-bin CQT is exactly the one chroma_cqt computes by default (C1, 7 x 36 bins).
    return librosa.feature.chroma_cqt(C=a.get("cqt"), sr=SAMPLE_RATE, bins_per_octave=CQT_BINS_PER_OCTAVE)


def _chroma_cens(a: _Analysis) -> np.ndarray:
    # lazy: librosa loads numba (about 1 s); listing or loading without computing never needs it
    import librosa

    return librosa.feature.chroma_cens(C=a.get("cqt"), sr=SAMPLE_RATE, bins_per_octave=CQT_BINS_PER_OCTAVE)


def _cqt_db(a: _Analysis) -> np.ndarray:
    # lazy: librosa loads numba (about 1 s); listing or loading without computing never needs it
    import librosa

    # ref=1 and no top_db: values must not depend on the loudest moment of the clip.
    return librosa.amplitude_to_db(a.get("cqt"), ref=1.0, amin=_AMIN, top_db=None)


def _mel_db(a: _Analysis) -> np.ndarray:
    # lazy: librosa loads numba (about 1 s); listing or loading without computing never needs it
    import librosa

    return librosa.power_to_db(a.get("mel"), ref=1.0, amin=_POWER_AMIN, top_db=None)


def _mfcc(a: _Analysis) -> np.ndarray:
    # lazy: librosa loads numba (about 1 s); listing or loading without computing never needs it
    import librosa

    return librosa.feature.mfcc(S=a.get("mel_db"), n_mfcc=20)


def _spectral_rest(a: _Analysis) -> np.ndarray:
    # lazy: librosa loads numba (about 1 s); listing or loading without computing never needs it
    import librosa

    magnitude = a.get("magnitude")
    # The frame-by-frame descriptors in time blocks: on a whole 10 min song their float64
    # temporaries (bandwidth's deviations, roll-off's cumulative sums) peak near 1 GB. Not the
    # contrast: its values on a block differ from those on the whole song.
    blocks = {"centroid": [], "bandwidth": [], "flatness": [], "rolloff": []}
    for t0 in range(0, magnitude.shape[1], _BLOCK_FRAMES):
        mag = magnitude[:, t0:t0 + _BLOCK_FRAMES]  # a view: the same memory layout, so the same sums
        blocks["centroid"].append(librosa.feature.spectral_centroid(S=mag, sr=SAMPLE_RATE, n_fft=a.n_fft))
        blocks["bandwidth"].append(librosa.feature.spectral_bandwidth(S=mag, sr=SAMPLE_RATE, n_fft=a.n_fft))
        blocks["flatness"].append(librosa.feature.spectral_flatness(S=mag, n_fft=a.n_fft))
        blocks["rolloff"].append(librosa.feature.spectral_rolloff(S=mag, sr=SAMPLE_RATE, n_fft=a.n_fft))
    whole = {name: np.hstack(parts) for name, parts in blocks.items()}
    return np.vstack(
        [
            whole["centroid"],
            whole["bandwidth"],
            librosa.feature.spectral_contrast(S=magnitude, sr=SAMPLE_RATE, n_fft=a.n_fft),
            whole["flatness"],
            whole["rolloff"],
            librosa.feature.zero_crossing_rate(a.y, frame_length=a.n_fft, hop_length=HOP_LENGTH, center=True),
        ]
    )


def _rms(a: _Analysis) -> np.ndarray:
    # lazy: librosa loads numba (about 1 s); listing or loading without computing never needs it
    import librosa

    return librosa.feature.rms(S=a.get("magnitude"), frame_length=a.n_fft)


_STEPS: dict[str, Callable[[_Analysis], np.ndarray]] = {
    "magnitude": _magnitude,
    "cqt": _cqt,
    "mel": _mel_power,
    "chroma_stft": _chroma_stft,
    "chroma_cqt": _chroma_cqt,
    "chroma_cens": _chroma_cens,
    "cqt_db": _cqt_db,
    "mel_db": _mel_db,
    "mfcc": _mfcc,
    "rms": _rms,
    "spectral_rest": _spectral_rest,
}


def _pooled(a: _Analysis, keys: list[str]) -> np.ndarray:
    """Stack the named (d, n_librosa_frames) descriptors and average per 500 ms. [shape=(n_steps, sum d)]"""
    blocks = []
    for key in keys:
        values = a.get(key)
        blocks.append(pool_frames(values.T.astype(np.float64), per_step=_PER_STEP, n_steps=a.n_steps))
    return np.hstack(blocks).astype(np.float32)


def _cqt_names() -> list[str]:
    # lazy: librosa loads numba (about 1 s); listing or loading without computing never needs it
    import librosa

    freqs = librosa.cqt_frequencies(
        n_bins=CQT_OCTAVES * CQT_BINS_PER_OCTAVE,
        fmin=librosa.note_to_hz(CQT_FMIN_NOTE),
        bins_per_octave=CQT_BINS_PER_OCTAVE,
    )
    return [f"cqt_{i:03d}_{f:.1f}Hz" for i, f in enumerate(freqs)]


_NAMES: dict[str, Callable[[], list[str]]] = {
    "chroma_stft": lambda: [f"chroma_stft_{p}" for p in PITCH_CLASSES],
    "chroma_cqt": lambda: [f"chroma_cqt_{p}" for p in PITCH_CLASSES],
    "chroma_cens": lambda: [f"chroma_cens_{p}" for p in PITCH_CLASSES],
    "cqt_db": _cqt_names,
    "mfcc": lambda: [f"mfcc_{i}" for i in range(1, 21)],
    "rms": lambda: ["rms"],
    "mel_db": lambda: [f"mel_{i:03d}" for i in range(128)],
    "spectral_rest": lambda: ["spectral_centroid", "spectral_bandwidth"]
    + [f"spectral_contrast_{i}" for i in range(7)]
    + ["spectral_flatness", "spectral_rolloff", "zcr"],
}


class _LibrosaSet(FeatureExtractor):
    """A librosa set: the listed descriptors, averaged per 500 ms.

    Args:
        n_fft: STFT size at 25.6 kHz (default 2048, librosa's default: 80 ms).
    """

    parts: list[str] = []
    frame_seconds = FRAME_SECONDS

    def __init__(self, *, n_fft: int = 2048) -> None:
        if not isinstance(n_fft, int) or not 256 <= n_fft <= 16_384:
            raise FeatureError(f"{self.name}: n_fft must be an integer in 256..16384, got {n_fft!r}.")
        super().__init__(n_fft=n_fft)

    def _compute(self, audio: Audio) -> np.ndarray:
        return _pooled(_analysis(audio, self.params["n_fft"]), self.parts)

    def _feature_names(self) -> list[str]:
        return [n for part in self.parts for n in _NAMES[part]()]


@register_feature("chroma")
class Chroma(_LibrosaSet):
    """chroma_stft (12) then chroma_cqt (12) per 500 ms."""

    parts = ["chroma_stft", "chroma_cqt"]
    n_features = 24


@register_feature("cqt")
class Cqt(_LibrosaSet):
    """Constant-Q magnitude in dB (ref 1, floor -100 dB), 252 bins from C1 at 36 bins/octave, per 500 ms."""

    parts = ["cqt_db"]
    n_features = 252


@register_feature("chroma_cqt")
class ChromaCqt(_LibrosaSet):
    """``cqt`` (252) then ``chroma`` (24) per 500 ms."""

    parts = ["cqt_db", "chroma_stft", "chroma_cqt"]
    n_features = 276


@register_feature("spectral")
class Spectral(_LibrosaSet):
    """Chaki et al.'s 197 librosa descriptors per 500 ms (mel in dB, MFCC from it)."""

    parts = ["chroma_stft", "chroma_cqt", "chroma_cens", "mfcc", "rms", "mel_db", "spectral_rest"]
    n_features = 197
