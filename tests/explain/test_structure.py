"""Beats and sections (memo_core.explain.structure): a synthetic song with one clear change, and the section table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from memo_core.audio import Audio
from memo_core.errors import MemoError
from memo_core.explain.structure import (
    SongStructure,
    novelty_curve,
    pick_boundaries,
    section_label,
    section_means,
    song_structure,
)

SR = 22_050


def _chord(freqs, seconds):
    t = np.arange(int(seconds * SR)) / SR
    return sum(np.sin(2 * np.pi * f * t) for f in freqs) / len(freqs)


def _clicks(seconds, bpm):
    """Short noise bursts on every beat at ``bpm``."""
    y = np.zeros(int(seconds * SR))
    step = int(round(SR * 60 / bpm))
    burst = np.hanning(200) * np.random.default_rng(0).standard_normal(200)
    for i in range(0, len(y) - 200, step):
        y[i:i + 200] += burst
    return y


@pytest.fixture(scope="module")
def two_chords():
    """C major for 8 s, then F# major for 8 s (no pitch class shared), over clicks at 120 bpm."""
    tonal = np.concatenate([_chord([261.63, 329.63, 392.00], 8.0), _chord([369.99, 466.16, 554.37], 8.0)])
    y = 0.3 * tonal + 0.5 * _clicks(16.0, 120)
    return song_structure(Audio(y.astype(np.float32), SR, "two chords"))


def test_two_chords_give_one_boundary_at_the_change_and_beats_at_120_bpm(two_chords):
    found = two_chords
    assert found.duration_s == pytest.approx(16.0)
    assert len(found.boundaries_s) == 1 and found.boundaries_s[0] == pytest.approx(8.0, abs=0.6)
    assert found.sections[0][0] == 0.0 and found.sections[-1][1] == pytest.approx(16.0)
    assert found.sections[0][1] == found.sections[1][0] == found.boundaries_s[0]
    assert 110 <= found.tempo_bpm <= 130
    gaps = np.diff(found.beat_times_s)
    assert len(found.beat_times_s) >= 20 and np.median(gaps) == pytest.approx(0.5, abs=0.05)
    # the novelty peaks at the change and is scaled to 1
    peak = found.novelty_time_s[int(np.argmax(found.novelty))]
    assert peak == pytest.approx(8.0, abs=0.6) and found.novelty.max() == pytest.approx(1.0)


def test_one_steady_chord_has_no_section_boundary_and_silence_has_nothing():
    steady = song_structure(Audio((0.3 * _chord([261.63, 329.63, 392.00], 16.0)).astype(np.float32), SR, "steady"))
    assert len(steady.boundaries_s) == 0 and steady.sections == [(0.0, pytest.approx(16.0))]
    silent = song_structure(Audio(np.zeros(SR * 5, np.float32), SR, "silence"))
    assert silent.tempo_bpm == 0.0 and len(silent.beat_times_s) == 0 and len(silent.boundaries_s) == 0
    with pytest.raises(MemoError, match="too short"):
        song_structure(Audio(np.zeros(100, np.float32), SR, "tiny"))


def test_novelty_peaks_where_the_frames_change():
    x = np.vstack([np.tile([1.0, 0.0, 0.0], (30, 1)), np.tile([0.0, 1.0, 0.0], (30, 1))])
    novelty = novelty_curve(x, half=6)
    assert int(np.argmax(novelty)) in (29, 30) and novelty.max() == pytest.approx(1.0)
    assert novelty[:15].max() < 0.05 and novelty[-15:].max() < 0.05
    assert not novelty_curve(np.ones((20, 3)), half=4).any()  # nothing changes: all zero
    with pytest.raises(MemoError):
        novelty_curve(np.ones(5), half=2)


def test_boundaries_keep_the_strongest_peaks_apart_and_off_the_edges():
    t = np.arange(0, 40, 0.5)
    y = np.zeros_like(t)
    for at, height in ((2.0, 1.0), (10.0, 0.9), (12.0, 1.0), (25.0, 0.5), (30.0, 0.2)):
        y[int(at / 0.5)] = height
    found = pick_boundaries(t, y, min_gap_s=4.0, min_share=0.35, duration_s=40.0)
    # 2 s is too near the start, 10 s too near the stronger 12 s, 30 s below a third of the highest
    assert list(found) == [12.0, 25.0]
    assert len(pick_boundaries(t, np.zeros_like(t))) == 0


def test_section_means_per_section_and_curve():
    table = pd.DataFrame({"time_s": np.arange(0, 10, 0.5), "valence": np.r_[np.zeros(10), np.ones(10)],
                          "arousal": np.r_[np.full(10, -0.5), np.full(10, 0.5)]})
    design = {"time_s": np.arange(0, 10, 0.5), "valence": np.linspace(-1, 1, 20)}  # no arousal
    out = section_means({"mca": table, "design": design}, [(0.0, 5.0), (5.0, 10.0)])
    assert list(out.columns) == ["section", "start_s", "end_s", "curve", "valence", "arousal"]
    assert list(out["section"]) == ["1 (0:00-0:05)", "1 (0:00-0:05)", "2 (0:05-0:10)", "2 (0:05-0:10)"]
    mca = out[out["curve"] == "mca"].set_index("section")
    assert mca["valence"].tolist() == [0.0, 1.0] and mca["arousal"].tolist() == [-0.5, 0.5]
    designed = out[out["curve"] == "design"]
    assert designed["arousal"].isna().all()
    assert designed["valence"].iloc[0] == pytest.approx(np.linspace(-1, 1, 20)[:10].mean())
    # a frame exactly at the song's end belongs to the last section; a section without frames is NaN
    ends = section_means({"x": {"time_s": [0.0, 10.0], "valence": [1.0, 3.0]}}, [(0.0, 4.0), (4.0, 6.0), (6.0, 10.0)],
                         targets=("valence",))
    assert ends["valence"].tolist()[0] == 1.0 and np.isnan(ends["valence"].iloc[1]) and ends["valence"].iloc[2] == 3.0
    assert section_label(2, 65.0, 130.4) == "3 (1:05-2:10)"


def test_structure_sections_cover_the_song():
    found = SongStructure(30.0, 120.0, np.arange(0, 30, 0.5), np.zeros(0), np.zeros(0), np.array([9.5, 20.0]))
    assert found.sections == [(0.0, 9.5), (9.5, 20.0), (20.0, 30.0)]
