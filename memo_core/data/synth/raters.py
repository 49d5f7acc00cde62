"""What a synthetic song is labelled with: simulated raters' dynamic ratings and mood/theme tags.

Annotations follow the real datasets: 2 Hz from 15 s, each simulated rater
(5-7 a song) hears the design through a causal exponential smoother with a
time constant of 1.5-4 s (listeners report the accumulated past), then adds
a personal bias and scale and slow noise; the rating at ``t`` is what the rater
had heard by ``t`` (the frame ending at ``t``, see
:func:`memo_core.features.annotation_frame_index`). The CSVs store the mean and
the standard deviation over raters (:func:`.corpus._make_song` averages them).

The tags (:data:`TAG_VOCABULARY`) are rules on the design and the rendering
choices; a song no rule fits gets its quadrant's tag.
"""

from __future__ import annotations

import math

import numpy as np

from memo_core.audio import FRAME_SECONDS
from memo_core.data.synth.design import _RATER_STD, SongDesign, Style, _ar1

__all__ = [
    "TAG_VOCABULARY",
]


#: Mood/theme tags a song can carry (MTG-Jamendo names, without the
#: ``mood/theme---`` prefix); each is a rule on the design and the rendering
#: choices in ``_tags`` (e.g. energetic: mean arousal > 0.3; heavy: excited
#: with a distorted guitar); a song no rule fits gets its quadrant's tag.
TAG_VOCABULARY = (
    "energetic", "calm", "happy", "sad", "dark", "dramatic", "relaxing",
    "uplifting", "melancholic", "epic", "heavy", "soft", "fast", "slow",
    "romantic", "upbeat", "meditative", "powerful",
)

_RATER_BIAS_STD = 0.27               # with slow noise and scale gives ~0.3 spread
_RATER_NOISE_STD = 0.08

# GM programs (see the role pools in design.py) that the tag rules count as bright or epic.
_BRIGHT_PROGRAMS = {29, 30, 56, 61, 62, 80, 81}
_EPIC_PROGRAMS = {48, 49, 52, 61, 62, 91}


def _rate(rng: np.random.Generator, design: np.ndarray, *, bias_z: np.ndarray, rater_std: float) -> np.ndarray:
    """Simulated raters' dynamic ratings of one dimension. [shape=(n_raters, n_frames)]

    Each rater hears the design through a causal exponential smoother (time
    constant 1.5-4 s), applies a personal scale and bias, and adds slow noise.
    ``bias_z`` holds each rater's standardised bias [shape=(n_raters,)]; the
    caller correlates the arousal and valence biases like the song means, since
    independent biases would dilute the valence-arousal correlation of the
    averaged annotation (0.33 measured, against DEAM's 0.58).
    """
    n = len(design)
    n_raters = len(bias_z)
    out = np.empty((n_raters, n))
    for k in range(n_raters):
        tau = rng.uniform(1.5, 4.0)
        alpha = 1 - math.exp(-FRAME_SECONDS / tau)
        heard = np.empty(n)
        state = design[0]
        for i in range(n):
            state += alpha * (design[i] - state)
            heard[i] = state
        bias = bias_z[k] * _RATER_BIAS_STD * rater_std / _RATER_STD[0]
        scale = rng.uniform(0.8, 1.2)
        noise = _ar1(rng, n=n, phi=0.95, std=_RATER_NOISE_STD)
        out[k] = np.clip(scale * heard + bias + noise, -1, 1)
    return out


def _tags(design: SongDesign, style: Style, modes: list[str]) -> list[str]:
    """Mood/theme tags derived from the design and the rendering choices."""
    a, v = float(design.arousal.mean()), float(design.valence.mean())
    minor_share = sum(m == "minor" for m in modes) / len(modes)
    drums = a > -0.35
    programs = set(style.programs.values())
    spread_a = float(np.ptp(design.arousal))
    rules = {
        "energetic": a > 0.3,
        "calm": a < -0.2,
        "happy": v > 0.25 and a > -0.1 and minor_share < 0.5,
        "sad": v < -0.2 and a < 0.05,
        "dark": v < -0.3 or (minor_share > 0.5 and v < -0.15),
        "dramatic": (design.contrast and spread_a > 0.35) or (a > 0.25 and v < -0.1),
        "relaxing": -0.5 < a < -0.05 and v > 0.05,
        "uplifting": v > 0.3 and a > 0.15 and minor_share < 0.5,
        "melancholic": v < -0.05 and a < -0.1 and minor_share >= 0.5,
        "epic": a > 0.35 and style.programs["layer"] in _EPIC_PROGRAMS and (design.contrast or v < 0.2),
        "heavy": a > 0.3 and bool(programs & {29, 30}),
        "soft": a < -0.35,
        "fast": design.tempo_bpm > 140,
        "slow": design.tempo_bpm < 80,
        "romantic": v > 0.1 and -0.5 < a < 0.1 and style.programs["melody"] in {0, 24, 40, 46, 65, 71, 73},
        "upbeat": a > 0.15 and v > 0.15 and drums,
        "meditative": a < -0.45,
        "powerful": a > 0.45 and bool(programs & _BRIGHT_PROGRAMS),
    }
    tags = [t for t in TAG_VOCABULARY if rules[t]]
    if not tags:   # near-neutral songs still get their quadrant's tag, as every MTG-Jamendo track has one
        tags = [("happy" if v >= 0 else "dramatic") if a >= 0 else ("relaxing" if v >= 0 else "melancholic")]
    return tags
