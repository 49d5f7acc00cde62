"""The ``loudness`` and ``tonal`` 500 ms sets: frame counts, exact levels, key/mode and harmony, the cache."""

from __future__ import annotations

import math

import numpy as np
import pytest

from memo_core.audio import Audio
from memo_core.cli.parser import main
from memo_core.errors import FeatureError
from memo_core.features import extract, get_extractor, list_features
from memo_core.features.librosa_sets import clear_intermediates
from memo_core.features.tonal import (
    KEY_NAMES,
    KK_MAJOR,
    KK_MINOR,
    Loudness,
    Tonal,
    key_correlations,
)

SR = 44_100
LOUDNESS = ["rms_db", "rms_db_2s"]
TONAL = [
    "key_major_r", "key_minor_r", "mode_strength", "key_clarity", "key_clarity_margin",
    "tonnetz_fifth_x", "tonnetz_fifth_y", "tonnetz_minor3_x", "tonnetz_minor3_y", "tonnetz_major3_x",
    "tonnetz_major3_y", "harmonic_change", "chroma_entropy", "chroma_flatness",
]
CORRELATIONS = slice(0, 5)
TONNETZ = slice(5, 11)


def _col(name: str) -> int:
    return TONAL.index(name)


def _sine(seconds: float, amplitude: float, freq: float = 440.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return amplitude * np.sin(2 * np.pi * freq * t)


def _chords(progression: list[list[int]], *, seconds: float = 1.0, repeats: int = 2, gain: float = 0.5) -> Audio:
    """Struck chords of MIDI notes (4 harmonics each), one every ``seconds``."""
    t = np.arange(int(round(seconds * SR))) / SR
    parts = []
    for _ in range(repeats):
        for notes in progression:
            hz = [440.0 * 2 ** ((m - 69) / 12) for m in notes]
            y = sum(np.sin(2 * np.pi * h * f * t) / h for f in hz for h in (1, 2, 3, 4))
            parts.append(y * np.exp(-2.0 * t))
    y = np.concatenate(parts)
    return Audio((gain * y / np.max(np.abs(y))).astype(np.float32), SR, f"chords-{progression}")


def _check(values: np.ndarray, n_rows: int, n_features: int) -> None:
    assert values.dtype == np.float32
    assert values.shape == (n_rows, n_features)
    assert np.all(np.isfinite(values))


C_MAJOR, C_MINOR = [60, 64, 67], [60, 63, 67]


# --- registry and frame counts -------------------------------------------------------------------


@pytest.mark.parametrize("name, names", [("loudness", LOUDNESS), ("tonal", TONAL)])
def test_registered_with_named_columns(name, names):
    assert name in list_features()
    extractor = get_extractor(name)
    assert extractor.n_features == len(names) and extractor.frame_seconds == 0.5
    assert extractor.feature_names == names
    spec = extractor.spec()
    assert spec["name"] == name and spec["n_features"] == len(names)


def test_cli_lists_them(capsys):
    assert main(["features"]) == 0
    rows = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["loudness"] == ["2", "0.5"] and rows["tonal"] == ["14", "0.5"]


@pytest.mark.parametrize("name", ["loudness", "tonal"])
@pytest.mark.parametrize(
    "seconds, sr, frames",
    [(0.3, SR, 1), (3.2, SR, 7), (7.77, 22_050, 16), (2.0 + 1 / 11_025, 11_025, 5), (1.75, 16_000, 4)],
)
def test_frame_count_for_odd_durations(name, seconds, sr, frames):
    audio = Audio(_sine(seconds, 0.3, 330.0, sr).astype(np.float32), sr, "odd")
    assert audio.n_frames == frames == math.ceil(round(audio.duration / 0.5, 6))
    extractor = get_extractor(name)
    assert extractor.n_frames_for(audio) == frames
    _check(extractor.compute(audio), frames, extractor.n_features)


def test_silence_is_finite_and_documented():
    silence = Audio(np.zeros(3 * SR, dtype=np.float32), SR, "silence")
    loud = get_extractor("loudness").compute(silence)
    _check(loud, 6, 2)
    assert np.all(loud == -100.0)
    tonal = get_extractor("tonal").compute(silence)
    _check(tonal, 6, 14)
    assert np.all(tonal[:, CORRELATIONS] == 0) and np.all(tonal[:, TONNETZ] == 0)
    assert np.all(tonal[:, _col("harmonic_change")] == 0)
    assert np.all(tonal[:, _col("chroma_entropy")] == 1) and np.all(tonal[:, _col("chroma_flatness")] == 1)


# --- loudness ------------------------------------------------------------------------------------


def test_rms_db_is_exact_on_a_sine():
    amplitude = 0.5
    y = _sine(3.2, amplitude).astype(np.float32)  # 440 Hz: whole periods in 0.5 s and in 0.2 s
    values = get_extractor("loudness").compute(Audio(y, SR, "sine"))
    expected = 20 * np.log10(amplitude / np.sqrt(2))  # -9.03 dB
    assert values[:6, 0] == pytest.approx(expected, abs=1e-4)
    # the last frame holds 0.2 s of sound and 0.3 s of padding
    assert values[6, 0] == pytest.approx(expected + 10 * np.log10(0.2 / 0.5), abs=1e-4)
    # and equals the mean of squares of the float32 samples, computed by hand
    by_hand = [10 * np.log10(np.mean(y[i * 22_050:(i + 1) * 22_050].astype(np.float64) ** 2)) for i in range(6)]
    assert np.allclose(values[:6, 0], by_hand, rtol=0, atol=1e-5)
    # a steady level reads the same over 2 s
    assert values[:6, 1] == pytest.approx(expected, abs=1e-4)


def test_full_scale_sine_reads_minus_3_dB_and_gain_shifts_exactly():
    y = _sine(2.0, 1.0).astype(np.float32)
    full = get_extractor("loudness").compute(Audio(y, SR, "full"))
    assert full[:, 0] == pytest.approx(-3.0103, abs=1e-3)
    quarter = get_extractor("loudness").compute(Audio(y * 0.25, SR, "quarter"))
    assert np.allclose(full - quarter, 20 * np.log10(4), atol=1e-4)


def test_rms_db_2s_follows_a_step_after_three_frames():
    quiet, loud = 0.1, 0.8
    y = np.concatenate([_sine(1.0, quiet), _sine(3.0, loud)]).astype(np.float32)  # step at 1.0 s = frame 2
    values = get_extractor("loudness").compute(Audio(y, SR, "step"))
    pq, pl = quiet**2 / 2, loud**2 / 2
    db = lambda p: 10 * np.log10(p)  # noqa: E731
    assert np.allclose(values[:, 0], [db(pq)] * 2 + [db(pl)] * 6, atol=1e-4)  # the frame itself: at once
    expected_2s = [
        db(pq),                     # frame 0: only itself
        db(pq),                     # frame 1: frames 0-1
        db((2 * pq + pl) / 3),      # frame 2: frames 0-2, fewer than 4 at the start
        db((2 * pq + 2 * pl) / 4),  # frame 3: 0-3
        db((pq + 3 * pl) / 4),      # frame 4: 1-4
        db(pl), db(pl), db(pl),     # frame 5 on: the 2 s ending at the frame's end are all loud
    ]
    assert np.allclose(values[:, 1], expected_2s, atol=1e-4)
    assert values[4, 1] < values[5, 1] - 0.5


# --- tonal ---------------------------------------------------------------------------------------


def test_key_correlations_find_the_profile_keys():
    r = key_correlations(np.stack([np.roll(KK_MAJOR, 7), np.roll(KK_MINOR, 9), np.ones(12), np.zeros(12)]))
    assert KEY_NAMES[int(np.argmax(r[0]))] == "G major" and r[0].max() == pytest.approx(1.0)
    assert KEY_NAMES[int(np.argmax(r[1]))] == "A minor" and r[1].max() == pytest.approx(1.0)
    assert np.all(r[2:] == 0)  # a flat chroma and silence have no key


@pytest.mark.parametrize(
    "major, minor",
    [
        ([C_MAJOR], [C_MINOR]),  # repeated triads
        (  # I-IV-V-I against i-iv-V-i (the minor cadence's dominant is major)
            [C_MAJOR, [65, 69, 72], [67, 71, 74], C_MAJOR],
            [C_MINOR, [65, 68, 72], [67, 71, 74], C_MINOR],
        ),
    ],
)
def test_mode_strength_separates_major_from_minor(major, minor):
    tonal = get_extractor("tonal")
    a = tonal.compute(_chords(major, repeats=3 if len(major) == 1 else 2))
    b = tonal.compute(_chords(minor, repeats=3 if len(minor) == 1 else 2))
    mode = _col("mode_strength")
    assert np.all(a[:, mode] > 0.05) and np.all(b[:, mode] < -0.05)
    assert np.allclose(a[:, mode], a[:, _col("key_major_r")] - a[:, _col("key_minor_r")], atol=1e-6)


def test_key_clarity_of_a_triad_beats_white_noise():
    tonal = get_extractor("tonal")
    triad = tonal.compute(_chords([C_MAJOR], repeats=4))
    rng = np.random.default_rng(0)
    noise = tonal.compute(Audio((0.3 * rng.standard_normal(4 * SR)).astype(np.float32), SR, "noise"))
    clarity = _col("key_clarity")
    assert triad[:, clarity].min() > noise[:, clarity].max() + 0.15
    assert np.all(triad[:, clarity] == np.maximum(triad[:, 0], triad[:, 1]))
    assert np.all(triad[:, _col("key_clarity_margin")] >= 0)
    for col in ("chroma_entropy", "chroma_flatness"):  # tonal vs noisy
        assert triad[:, _col(col)].max() < noise[:, _col(col)].min() - 0.1, col
    assert noise[:, _col("chroma_entropy")].min() > 0.95


def test_harmonic_change_peaks_where_the_chord_changes():
    values = get_extractor("tonal").compute(_chords([C_MAJOR, [65, 69, 72], [67, 71, 74], C_MAJOR]))
    change = values[:, _col("harmonic_change")]
    assert change[0] == 0
    changed = [2, 4, 6, 10, 12, 14]  # chords change at 1, 2, 3, 5, 6, 7 s (4 s: C to C)
    others = [i for i in range(1, 16) if i not in changed]
    assert change[changed].min() > 2 * change[others].max()


def test_silent_gap_reads_as_silence_not_as_leaked_chords():
    chord = _chords([C_MAJOR], seconds=2.0, repeats=1).samples
    y = np.concatenate([chord, np.zeros(2 * SR, dtype=np.float32), chord])
    values = get_extractor("tonal").compute(Audio(y, SR, "gap"))
    _check(values, 12, 14)
    for frame in (5, 6):  # [2.5, 3.5): no sound within 40 ms
        assert np.all(values[frame, TONNETZ] == 0)
        assert values[frame, _col("chroma_entropy")] == 1 and values[frame, _col("chroma_flatness")] == 1
    assert values[6, _col("harmonic_change")] == 0
    assert values[6, _col("key_clarity")] > 0.5  # the trailing 4 s context still holds the chord


def test_tonal_does_not_depend_on_the_level():
    audio = _chords([C_MAJOR, [65, 69, 72]], gain=0.5)
    quieter = Audio(audio.samples * 0.25, SR, "quieter")
    assert np.allclose(get_extractor("tonal").compute(audio), get_extractor("tonal").compute(quieter), atol=1e-5)


def test_context_parameter():
    audio = _chords([C_MAJOR, [65, 69, 72], [67, 71, 74], C_MAJOR])
    short, default = Tonal(context_s=0.5), get_extractor("tonal")
    assert default.params == {"context_s": 4.0} and short.spec() != default.spec()
    a, b = short.compute(audio), default.compute(audio)
    assert np.array_equal(a[:, 5:], b[:, 5:])  # only the key columns use the context
    assert np.array_equal(a[0, :5], b[0, :5])  # frame 0 has only itself either way
    assert not np.allclose(a[:, :5], b[:, :5])
    for bad in (0, 0.3, 31, True, "4"):
        with pytest.raises(FeatureError, match="context_s"):
            get_extractor("tonal", context_s=bad)
    with pytest.raises(FeatureError, match="no parameter"):
        get_extractor("loudness", n_fft=1024)


# --- determinism and the cache -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["loudness", "tonal"])
def test_deterministic_and_cache_round_trips(name, monkeypatch, tmp_path):
    monkeypatch.setenv("MEMO_CACHE_DIR", str(tmp_path / "cache"))
    audio = _chords([C_MAJOR, [65, 69, 72]], seconds=1.3)  # 5.2 s: 11 frames
    cls = {"loudness": Loudness, "tonal": Tonal}[name]
    calls = []
    original = cls.compute
    monkeypatch.setattr(cls, "compute", lambda self, a: calls.append(1) or original(self, a))
    clear_intermediates()
    first = extract(audio, name)
    second = extract(audio, name)
    assert len(calls) == 1  # the second came from the cache
    assert np.array_equal(first, second) and second.dtype == np.float32
    _check(second, 11, get_extractor(name).n_features)
    clear_intermediates()
    assert np.array_equal(extract(audio, name, cache=False), first)  # recomputed from scratch: same bits
    assert list((tmp_path / "cache" / name).rglob("*.npy"))


def test_tonal_after_chroma_shares_its_cqt_and_gives_the_same_values():
    audio = _chords([C_MINOR, [65, 68, 72]], seconds=1.1)
    clear_intermediates()
    alone = get_extractor("tonal").compute(audio)
    clear_intermediates()
    get_extractor("chroma").compute(audio)
    assert np.array_equal(get_extractor("tonal").compute(audio), alone)
    clear_intermediates()
