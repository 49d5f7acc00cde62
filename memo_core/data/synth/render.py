"""A designed song rendered to audio: MIDI synthesis, then randomised post-processing.

:func:`render_audio` writes the song with :mod:`.arrangement`, renders it
with midirenderer and the TimGM6mb sound font that ships with pretty_midi,
then applies the design's brightness cue and the song's nuisance factors
(reverb, EQ tilt, compression, mastering gain, background noise).
:mod:`memo_core.data.midi_render` reuses ``_render_midi`` and
``_post_process`` for real MIDI datasets.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from memo_core.audio import FRAME_SECONDS
from memo_core.data.synth.arrangement import _build_midi
from memo_core.data.synth.design import SongDesign, Style
from memo_core.errors import DatasetError

__all__ = [
    "SAMPLE_RATE",
    "render_audio",
]


SAMPLE_RATE = 44_100

_SOUNDFONT: bytes | None = None


def _soundfont() -> bytes:
    """The TimGM6mb sound font shipped inside pretty_midi, read once per process."""
    global _SOUNDFONT
    if _SOUNDFONT is None:
        # lazy: pretty_midi (and mido) only when MIDI is rendered
        import pretty_midi

        path = Path(pretty_midi.__file__).with_name("TimGM6mb.sf2")
        if not path.is_file():
            raise DatasetError(f"pretty_midi's sound font is missing ({path}); reinstall pretty_midi")
        _SOUNDFONT = path.read_bytes()
    return _SOUNDFONT


# Scales the sound font's output so levels match real recordings: about
# -28 dBFS RMS for the calmest songs to -12 dBFS for the most excited (the real
# clips in the shared data measure -19 .. -11 dBFS).
_RENDER_GAIN = 7.5


def _render_midi(midi, *, soundfont: bytes | None = None, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Render with midirenderer; mono float64 at ``sample_rate`` (44.1 kHz).

    ``soundfont`` is the bytes of an .sf2 file (default: TimGM6mb);
    :mod:`memo_core.data.midi_render` passes FluidR3_GM where installed.
    """
    # lazy: the synthesiser only when audio is rendered
    import midirenderer

    # lazy: the resampler only when a sample rate must change
    import soxr

    buf = io.BytesIO()
    midi.write(buf)
    wav = midirenderer.render_wave_from(_soundfont() if soundfont is None else soundfont, buf.getvalue())
    x, rate = sf.read(io.BytesIO(wav), dtype="float64", always_2d=True)
    x = x.mean(axis=1)
    if rate != sample_rate:
        x = soxr.resample(x, rate, sample_rate)
    return x


def _post_process(x: np.ndarray, style: Style, rng: np.random.Generator, *, n_samples: int,
                  arousal: np.ndarray, valence: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Brightness cue, reverb, EQ tilt, compression, gain, noise; exactly n_samples long at ``sample_rate``."""
    # lazy: scipy.signal only when audio is rendered
    from scipy.signal import fftconvolve, lfilter

    if len(x) < n_samples:
        x = np.pad(x, (0, n_samples - len(x)))
    x = x[:n_samples] * _RENDER_GAIN
    # Convolution reverb: noise with an exponential decay of the drawn RT60.
    n_ir = int(min(style.reverb_rt60 * 1.2, 2.5) * sample_rate)
    t = np.arange(n_ir) / sample_rate
    ir = rng.standard_normal(n_ir) * np.exp(-6.91 * t / style.reverb_rt60)
    ir /= np.sqrt(np.sum(ir**2))
    wet = fftconvolve(x, ir)[:n_samples]
    x = (1 - style.reverb_wet) * x + style.reverb_wet * wet
    # Brightness follows the design (a cue, 4a + 2v dB) on top of the song's random
    # EQ tilt (a nuisance, +-2 dB): add or subtract a one-pole high-passed copy.
    frame = np.minimum(np.arange(n_samples) // int(FRAME_SECONDS * sample_rate), len(arousal) - 1)
    cue = 4.0 * arousal + 2.0 * valence
    cue_db = np.convolve(np.pad(cue, 1, mode="edge"), np.ones(3) / 3, mode="valid")[frame]
    g = 10 ** ((style.tilt_db + cue_db) / 20) - 1
    # A one-pole low-pass with its corner (~1.1 kHz) kept at any sample rate (pole 0.85 at 44.1 kHz).
    pole = 0.85 ** (SAMPLE_RATE / sample_rate)
    hp = x - lfilter([round(1 - pole, 12)], [1, -pole], x)
    x = x + g * hp
    # Compressor on a 50 ms RMS envelope, threshold 10 dB below the loudest part.
    win = int(0.05 * sample_rate)
    env = np.sqrt(np.convolve(x**2, np.ones(win) / win, mode="same") + 1e-12)
    thr = np.percentile(env, 99) * 10 ** (-10 / 20)
    over = np.maximum(env / thr, 1.0)
    x = x * over ** (1 / style.comp_ratio - 1)
    # Mastering gain (a nuisance, not a cue), then a soft limiter above 0.9.
    x = x * 10 ** (style.gain_db / 20)
    # Pink-ish background noise.
    noise = lfilter([1.0], [1, -0.95], rng.standard_normal(n_samples))
    noise *= 10 ** (style.noise_db / 20) / (np.std(noise) + 1e-12)
    x = x + noise
    peak = np.abs(x)
    limit = 0.9
    x = np.where(peak > limit, np.sign(x) * (limit + (1 - limit) * np.tanh((peak - limit) / (1 - limit))), x)
    # Short fades avoid clicks at the cut.
    fade = int(0.01 * sample_rate)
    x[:fade] *= np.linspace(0, 1, fade)
    x[-fade:] *= np.linspace(1, 0, fade)
    return x.astype(np.float32)


def render_audio(design: SongDesign, style: Style, rng: np.random.Generator, *, duration_s: float,
                 post_process: bool = True) -> tuple[np.ndarray, dict[str, Any]]:
    """Render a designed song to audio.

    Args:
        design: the emotion trajectory (see :func:`design_song`).
        style: the song-level choices (see :func:`sample_style`).
        rng: random generator for the musical details.
        duration_s: length of the output in seconds.
        post_process: apply reverb, EQ, compression, gain and noise.

    Returns:
        ``(samples, info)``: mono float32 samples at 44.1 kHz
        [shape=(round(duration_s * 44100),)] and a dict with ``modes`` (one per
        section) and ``n_notes``.
    """
    midi, modes = _build_midi(design, style, rng, duration_s=duration_s)
    x = _render_midi(midi)
    n_samples = int(round(duration_s * SAMPLE_RATE))
    if post_process:
        x = _post_process(x, style, rng, n_samples=n_samples, arousal=design.arousal,
                          valence=design.valence)
    else:
        x = np.pad(x, (0, max(0, n_samples - len(x))))[:n_samples] * _RENDER_GAIN
        x = np.clip(x, -1, 1).astype(np.float32)
    return x, {"modes": modes, "n_notes": sum(len(i.notes) for i in midi.instruments)}
