"""Hand-chosen emotion trajectories rendered with the synthetic corpus's cues (the dashboard's Emotion lab)."""

from __future__ import annotations

import numpy as np
import pytest

from memo_core.data import synth
from memo_core.data.synth import (
    SAMPLE_RATE,
    TRAJECTORY_PRESETS,
    RenderedTrajectory,
    design_song,
    preset_trajectory,
    render_trajectory,
    trajectory_from_points,
)
from memo_core.errors import DatasetError, MemoError


def _rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-20))


# ----------------------------------------------------------------------------
# The corpus is unchanged
# ----------------------------------------------------------------------------


# Recorded from design_song before the trajectory API was added (commit 5f5a600): tempo, contrast, frames,
# bars, sections, arousal/valence at frames 0, 17 and -1, the second bar's start and the generator's next draw
# (which shows the random-number consumption is unchanged too).
_DESIGN_BEFORE = {
    (0, 0, 45.0, 1.0): dict(
        tempo=96.36211393566079, contrast=True, n_frames=90, sections=[0] * 4 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 3,
        arousal=[0.27918779705705477, 0.2666251664163568, 0.3440998064862811],
        valence=[0.08684403249142733, 0.055167651961793955, 0.10034269878160237],
        bar1=2.4906053862646016, next=0.9819426931267062),
    (7, 5, 30.0, 0.3): dict(
        tempo=100.73252072619661, contrast=True, n_frames=60, sections=[0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6],
        arousal=[-0.2590584817613204, 0.31390831864165186, -0.2506312529942406],
        valence=[0.030802607632656076, 0.16222617504105247, 0.02893584877172871],
        bar1=2.38254734687271, next=0.1417382633160007),
    (3, 1, 22.0, 0.3): dict(
        tempo=105.45441636032785, contrast=False, n_frames=44, sections=[0] * 10,
        arousal=[0.1189125831110772, 0.10561698264746798, 0.0787421537685091],
        valence=[0.04895454789032948, 0.035931615708442166, 0.05525845641833629],
        bar1=2.2758648550094147, next=0.865931948472974),
}


@pytest.mark.parametrize("key", list(_DESIGN_BEFORE))
def test_design_song_is_unchanged(key):
    seed, index, duration_s, contrast_share = key
    want = _DESIGN_BEFORE[key]
    rng = np.random.default_rng([seed, index])
    design = design_song(rng, duration_s=duration_s, contrast_share=contrast_share)
    np.testing.assert_allclose(design.tempo_bpm, want["tempo"], rtol=1e-12)
    assert design.contrast == want["contrast"]
    assert len(design.arousal) == len(design.valence) == want["n_frames"]
    assert design.section_of_bar.tolist() == want["sections"]
    np.testing.assert_allclose(design.arousal[[0, 17, -1]], want["arousal"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(design.valence[[0, 17, -1]], want["valence"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(design.bar_starts[1], want["bar1"], rtol=1e-12)
    assert rng.random() == pytest.approx(want["next"], rel=1e-15)


# ----------------------------------------------------------------------------
# Presets and control points
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(TRAJECTORY_PRESETS))
def test_presets_are_well_formed(name):
    points = np.array(TRAJECTORY_PRESETS[name], dtype=float)
    assert points.ndim == 2 and points.shape[1] == 3 and len(points) >= 1
    assert points[0, 0] == 0.0 and points[-1, 0] <= 1.0 and np.all(np.diff(points[:, 0]) > 0)
    assert np.all(np.abs(points[:, 1:]) <= 1.0)
    times, valence, arousal = preset_trajectory(name, duration_s=20.0)
    assert len(times) == len(valence) == len(arousal) == 40
    assert np.all(np.abs(valence) <= 1) and np.all(np.abs(arousal) <= 1)


def test_presets_say_what_their_names_promise():
    _, v, a = preset_trajectory("calm to excited", duration_s=30.0)
    assert a[:12].max() < -0.5 and a[-12:].min() > 0.5 and np.all(np.diff(a) >= 0)
    _, v, a = preset_trajectory("happy to sad", duration_s=30.0)
    assert v[:12].min() > 0.5 and v[-12:].max() < -0.5
    _, v, a = preset_trajectory("tension and release", duration_s=30.0)
    peak = int(np.argmax(a))
    assert v[peak] < -0.3 and a[peak] > 0.6 and v[-1] > 0.3 and a[-1] < 0
    _, v, a = preset_trajectory("around the circumplex", duration_s=30.0)
    quadrants = {(bool(vi > 0), bool(ai > 0)) for vi, ai in zip(v, a) if abs(vi) > 0.2 and abs(ai) > 0.2}
    assert quadrants == {(True, True), (False, True), (False, False), (True, False)}
    _, v, a = preset_trajectory("steady neutral", duration_s=30.0)
    assert np.all(v == 0) and np.all(a == 0)


def test_trajectory_from_points_interpolates_linearly_and_holds_at_the_ends():
    times, valence, arousal = trajectory_from_points([2.0, 8.0], [0.0, 0.6], [-1.0, 0.5], duration_s=10.0)
    np.testing.assert_allclose(times, np.arange(20) * 0.5)
    # Held before 2 s and after 8 s, linear in between: valence 0.1 a second, arousal 0.25 a second.
    np.testing.assert_allclose(valence, np.clip((times - 2.0) * 0.1, 0.0, 0.6), atol=1e-12)
    np.testing.assert_allclose(arousal, np.clip(-1.0 + (times - 2.0) * 0.25, -1.0, 0.5), atol=1e-12)
    # One point: constant; a partial last frame still gets a frame.
    times, valence, arousal = trajectory_from_points([0.0], [0.3], [-0.2], duration_s=7.2)
    assert len(times) == 15 and np.all(valence == 0.3) and np.all(arousal == -0.2)
    # A rounding overshoot is clipped, not refused.
    _, valence, _ = trajectory_from_points([0.0], [1.0 + 1e-9], [0.0], duration_s=5.0)
    assert valence.max() == 1.0


@pytest.mark.parametrize("times, valence, arousal, duration_s, message", [
    ([0.0, 5.0], [0.1], [0.1, 0.2], 10.0, "one value per point"),
    ([], [], [], 10.0, "at least one point"),
    ([0.0, 5.0], [0.1, np.nan], [0.1, 0.2], 10.0, "not finite"),
    ([0.0, 5.0], [0.1, 0.2], [0.1, np.inf], 10.0, "not finite"),
    ([0.0, 5.0], [0.1, 1.5], [0.1, 0.2], 10.0, r"\[-1, 1\]"),
    ([0.0, 5.0], [0.1, 0.2], [-3.0, 0.2], 10.0, "rescale the curve or clip"),
    ([0.0, 5.0, 5.0], [0.1, 0.2, 0.3], [0.1, 0.2, 0.3], 10.0, "increase strictly"),
    ([6.0, 2.0], [0.1, 0.2], [0.1, 0.2], 10.0, "increase strictly"),
    ([0.0, 12.0], [0.1, 0.2], [0.1, 0.2], 10.0, "within the song"),
    ([-1.0, 2.0], [0.1, 0.2], [0.1, 0.2], 10.0, "within the song"),
    ([0.0], [0.1], [0.1], 4.0, "between 5 s and 120 s"),
    ([0.0], [0.1], [0.1], 121.0, "between 5 s and 120 s"),
    ([0.0], [0.1], [0.1], float("nan"), "between 5 s and 120 s"),
    ([[0.0, 1.0]], [[0.1, 0.2]], [[0.1, 0.2]], 10.0, "one-dimensional"),
    (["soon"], [0.1], [0.1], 10.0, "sequence of numbers"),
])
def test_trajectory_from_points_refuses_bad_input_and_says_why(times, valence, arousal, duration_s, message):
    with pytest.raises(DatasetError, match=message) as caught:
        trajectory_from_points(times, valence, arousal, duration_s=duration_s)
    assert isinstance(caught.value, MemoError)


def test_unknown_preset_lists_the_choices():
    with pytest.raises(DatasetError, match="choose one of 'calm to excited'"):
        preset_trajectory("joy to the world", duration_s=10.0)


# ----------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def calm_to_excited() -> RenderedTrajectory:
    _, v, a = preset_trajectory("calm to excited", duration_s=15.0)
    return render_trajectory(v, a, duration_s=15.0, seed=1)


def test_render_has_the_asked_length_and_is_deterministic(calm_to_excited):
    r = calm_to_excited
    assert isinstance(r, RenderedTrajectory) and r.sample_rate == SAMPLE_RATE
    assert r.samples.dtype == np.float32 and r.samples.shape == (15 * SAMPLE_RATE,)
    assert np.all(np.isfinite(r.samples)) and np.abs(r.samples).max() <= 1.0
    assert len(r.frame_times) == len(r.valence) == len(r.arousal) == len(r.frame_modes) == 30
    assert len(r.modes) == int(r.section_of_bar.max()) + 1 and set(r.modes) <= {"major", "minor"}
    assert r.key in synth._NOTE_NAMES and r.n_notes > 0
    _, v, a = preset_trajectory("calm to excited", duration_s=15.0)
    np.testing.assert_array_equal(r.valence, v)
    np.testing.assert_array_equal(r.arousal, a)
    again = render_trajectory(v, a, duration_s=15.0, seed=1)
    np.testing.assert_array_equal(again.samples, r.samples)
    assert again.modes == r.modes and again.tempo_bpm == r.tempo_bpm
    other = render_trajectory(v, a, duration_s=15.0, seed=2)
    assert not np.array_equal(other.samples, r.samples)


def test_a_fractional_duration_gives_that_many_samples():
    _, v, a = trajectory_from_points([0.0], [0.2], [0.0], duration_s=6.3)
    r = render_trajectory(v, a, duration_s=6.3, seed=0)
    assert len(r.samples) == round(6.3 * SAMPLE_RATE) and len(r.frame_times) == 13


def test_rising_arousal_gets_louder_and_busier_and_reversing_it_reverses_that(calm_to_excited):
    import librosa

    def louder_and_busier(r: RenderedTrajectory) -> tuple[float, int, int]:
        third = len(r.samples) // 3
        onsets = librosa.onset.onset_detect(y=r.samples, sr=r.sample_rate, units="time")
        first, last = r.samples[:third], r.samples[-third:]
        return _rms_db(last) - _rms_db(first), int(np.sum(onsets < 5.0)), int(np.sum(onsets >= 10.0))

    gain_db, early, late = louder_and_busier(calm_to_excited)
    # Measured 8.8 dB and 6 -> 30 onsets (seeds 0-3: 8.8-13.3 dB).
    assert gain_db > 5.0 and late > 2 * early
    reverse = render_trajectory(calm_to_excited.valence[::-1], calm_to_excited.arousal[::-1], duration_s=15.0, seed=1)
    gain_db, early, late = louder_and_busier(reverse)
    assert gain_db < -5.0 and early > 2 * late


def test_valence_sets_the_mode_and_arousal_the_tempo():
    renders = {}
    for valence, arousal in ((0.8, 0.6), (-0.8, -0.6)):
        _, v, a = trajectory_from_points([0.0], [valence], [arousal], duration_s=10.0)
        renders[valence] = render_trajectory(v, a, duration_s=10.0, seed=3)
    assert set(renders[0.8].modes) == {"major"} and set(renders[-0.8].modes) == {"minor"}
    # Same seed, same tempo jitter: only the mean arousal moves the tempo (100 * 2 ** (0.9 a)).
    ratio = renders[0.8].tempo_bpm / renders[-0.8].tempo_bpm
    assert ratio == pytest.approx(2 ** (0.9 * 1.2), rel=1e-9)


def test_the_mode_follows_valence_within_a_song():
    _, v, a = preset_trajectory("happy to sad", duration_s=20.0)
    r = render_trajectory(v, a, duration_s=20.0, seed=0)
    modes = r.frame_modes
    happy, sad = v > 0.5, v < -0.5
    assert happy.sum() >= 8 and sad.sum() >= 8
    assert np.all(modes[happy] == "major") and np.all(modes[sad] == "minor")


@pytest.mark.parametrize("valence, arousal, kwargs, message", [
    (np.zeros(19), np.zeros(20), {}, "20 of each; got 19 valence"),
    (np.zeros(20), np.zeros(21), {}, "20 of each; got 20 valence and 21 arousal"),
    (np.full(20, 2.0), np.zeros(20), {}, r"valence_frames must lie in \[-1, 1\]"),
    (np.zeros(20), np.r_[np.zeros(19), np.nan], {}, "arousal_frames holds 1 value"),
    (np.zeros(20), np.zeros(20), {"seed": -1}, "non-negative integer"),
    (np.zeros(20), np.zeros(20), {"seed": 1.5}, "non-negative integer"),
    (np.zeros(20), np.zeros(20), {"duration_s": 200.0}, "between 5 s and 120 s"),
])
def test_render_trajectory_refuses_bad_input(valence, arousal, kwargs, message):
    kwargs = {"duration_s": 10.0, **kwargs}
    with pytest.raises(DatasetError, match=message):
        render_trajectory(valence, arousal, **kwargs)


def test_points_from_a_drawn_path_walk_it_at_constant_speed():
    from memo_core.data.synth import points_from_path, trajectory_from_points

    # an L-shaped stroke: 1.5 units up, then 0.5 units right; at 20 s the corner comes at 15 s
    v = np.array([-0.5, -0.5, -0.5, 0.0])
    a = np.array([-0.8, 0.0, 0.7, 0.7])
    t, pv, pa = points_from_path(v, a, duration_s=20.0, max_points=9)
    assert len(t) == 9 and t[0] == 0.0 and t[-1] == pytest.approx(20.0)
    assert np.all(np.diff(t) > 0)
    corner = np.searchsorted(t, 15.0)
    assert pa[corner] == pytest.approx(0.7) and pv[corner] == pytest.approx(-0.5)
    assert pv[-1] == pytest.approx(0.0) and pa[0] == pytest.approx(-0.8)
    frames = trajectory_from_points(t, pv, pa, duration_s=20.0)
    assert len(frames[0]) == 40
    # values off the plane are clipped; a tap is one point (a constant emotion)
    assert points_from_path([2.0, 2.0], [0.1, 0.1], duration_s=10.0)[1].tolist() == [1.0]
    with pytest.raises(DatasetError, match="draw a line"):
        points_from_path([], [], duration_s=10.0)
