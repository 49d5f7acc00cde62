"""Every extractor's shape, frame count, dtype and values on synthetic and real audio."""

from __future__ import annotations

import math

import numpy as np
import pytest

from memo_core.audio import Audio, load_audio
from memo_core.errors import FeatureError
from memo_core.features import get_extractor, list_features

SR = 44_100
HALF_SECOND_SETS = ["deam260", "compare6373", "chroma", "cqt", "chroma_cqt", "spectral"]


def _music(seconds: float, *, freq: float = 220.0, gain: float = 0.5, seed: int = 0) -> Audio:
    """A harmonic tone with beat-like noise bursts."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * SR))) / SR
    y = sum(np.sin(2 * np.pi * k * freq * t) / k for k in (1, 2, 3))
    y = y + 0.5 * rng.standard_normal(t.size) * np.exp(-30 * (t % 0.5))
    return Audio((gain * y / np.max(np.abs(y))).astype(np.float32), SR, f"music-{freq}")


def _sine(seconds: float, freq: float, gain: float = 0.5) -> Audio:
    t = np.arange(int(round(seconds * SR))) / SR
    return Audio((gain * np.sin(2 * np.pi * freq * t)).astype(np.float32), SR, f"sine-{freq}")


@pytest.fixture(scope="module")
def clip30() -> Audio:
    return _music(30.0)


def _check(values: np.ndarray, n_rows: int, n_features: int) -> None:
    assert values.dtype == np.float32
    assert values.shape == (n_rows, n_features)
    assert np.all(np.isfinite(values))


@pytest.mark.parametrize("name", HALF_SECOND_SETS)
def test_half_second_sets_give_60_frames_for_30_s(name, clip30):
    extractor = get_extractor(name)
    values = extractor.compute(clip30)
    _check(values, 60, extractor.n_features)
    assert extractor.n_frames_for(clip30) == 60
    assert np.std(values, axis=0).max() > 0  # not a constant placeholder


@pytest.mark.parametrize("name", HALF_SECOND_SETS)
def test_partial_last_frame_is_padded(name):
    audio = _music(3.2)  # ceil(3.2 / 0.5) = 7
    _check(get_extractor(name).compute(audio), 7, get_extractor(name).n_features)


def test_logmel128_has_50_frames_a_step(clip30):
    extractor = get_extractor("logmel128")
    _check(extractor.compute(clip30), 3000, 128)
    _check(extractor.compute(_music(3.2)), 350, 128)


def test_mel96_frames_follow_its_hop():
    audio = _music(3.2)
    extractor = get_extractor("mel96")
    values = extractor.compute(audio)
    _check(values, extractor.n_frames_for(audio), 96)
    assert values.max() - values.min() <= 80.0 + 1e-3  # power_to_db's top_db, as the baseline
    # soxr rounds the resampled length to nearest: 47039 samples at 22.05 kHz are 25599 at 12 kHz
    # (25599.46), so 1 + 25599 // 256 = 100 frames, where rounding up would predict 101.
    odd = Audio(np.resize(audio.samples, 47_039), 22_050, "odd")
    assert extractor.n_frames_for(odd) == 100
    _check(extractor.compute(odd), 100, 96)


@pytest.mark.parametrize("name", ["deam260", "spectral"])
def test_frame_count_is_kept_after_downsampling(name):
    """96 kHz audio one sample past 3 s has 7 frames (the last one a single sample) at any analysis rate."""
    y = np.resize(_music(1.0).samples, 96_000 * 3 + 1)
    audio = Audio(y, 96_000, "hi-res")
    assert audio.n_frames == 7
    extractor = get_extractor(name)
    assert extractor.n_frames_for(audio) == 7
    _check(extractor.compute(audio), 7, extractor.n_features)


@pytest.mark.parametrize("name", sorted(list_features()))
def test_silence_gives_finite_features(name):
    silence = Audio(np.zeros(2 * SR, dtype=np.float32), SR, "silence")
    extractor = get_extractor(name)
    values = extractor.compute(silence)
    _check(values, extractor.n_frames_for(silence), extractor.n_features)


@pytest.mark.parametrize("name", sorted(list_features()))
def test_other_sample_rates_are_resampled(name):
    t = np.arange(2 * 16_000) / 16_000
    audio = Audio((0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), 16_000, "16k")
    extractor = get_extractor(name)
    _check(extractor.compute(audio), extractor.n_frames_for(audio), extractor.n_features)


def test_deam260_louder_copy_has_higher_rms_energy():
    quiet = _music(3.0, gain=0.1)
    loud = Audio(quiet.samples * 5, SR, "loud")
    extractor = get_extractor("deam260")
    col = extractor.feature_names.index("pcm_RMSenergy_sma_mean")
    q, lo = extractor.compute(quiet)[:, col], extractor.compute(loud)[:, col]
    assert np.all(lo > 3 * q)
    assert np.allclose(lo / q, 5, rtol=0.05)  # RMS scales linearly with gain


def test_deam260_pitch_and_centroid_move_with_frequency():
    extractor = get_extractor("deam260")
    names = extractor.feature_names
    low, high = extractor.compute(_sine(3.0, 220.0)), extractor.compute(_sine(3.0, 440.0))
    f0 = names.index("F0final_sma_mean")
    # Inner frames: the first and last windows hold onsets and padding.
    assert np.allclose(low[1:-1, f0], 220, rtol=0.05) and np.allclose(high[1:-1, f0], 440, rtol=0.05)
    centroid = names.index("pcm_fftMag_spectralCentroid_sma_mean")
    a, b = extractor.compute(_sine(3.0, 440.0)), extractor.compute(_sine(3.0, 880.0))
    assert np.all(b[1:-1, centroid] > 1.5 * a[1:-1, centroid])


def test_deam260_means_match_the_lld_pooled_by_hand():
    """The one-pass config equals ComParE LLDs averaged over 50 x 10 ms frames."""
    import opensmile

    audio = _music(3.0)
    values = get_extractor("deam260").compute(audio)
    lld = opensmile.Smile(
        feature_set=opensmile.FeatureSet.ComParE_2016, feature_level=opensmile.FeatureLevel.LowLevelDescriptors
    ).process_signal(audio.samples, SR)
    col = get_extractor("deam260").feature_names.index("mfcc_sma[1]_mean")
    by_hand = lld["mfcc_sma[1]"].to_numpy()[:250].reshape(5, 50).mean(axis=1)
    assert np.allclose(values[:5, col], by_hand, rtol=1e-4, atol=1e-4)


def test_chroma_peaks_at_the_played_pitch_class():
    extractor = get_extractor("chroma")
    names = extractor.feature_names
    values = extractor.compute(_sine(3.0, 440.0))  # A4
    assert names[int(np.argmax(values[2, :12]))] == "chroma_stft_A"
    assert names[12 + int(np.argmax(values[2, 12:]))] == "chroma_cqt_A"


def test_cqt_peak_bin_follows_frequency():
    extractor = get_extractor("cqt")
    peak_hz = []
    for freq in (110.0, 440.0):
        row = extractor.compute(_sine(2.0, freq))[1]
        name = extractor.feature_names[int(np.argmax(row))]
        peak_hz.append(float(name.split("_")[-1][:-2]))
    assert peak_hz[0] == pytest.approx(110.0, rel=0.03) and peak_hz[1] == pytest.approx(440.0, rel=0.03)


def test_chroma_cqt_is_cqt_then_chroma():
    audio = _music(2.0, seed=3)
    both = get_extractor("chroma_cqt").compute(audio)
    assert np.allclose(both[:, :252], get_extractor("cqt").compute(audio), atol=1e-4)
    assert np.allclose(both[:, 252:], get_extractor("chroma").compute(audio), atol=1e-5)


def test_spectral_rms_and_loudness_columns():
    extractor = get_extractor("spectral")
    names = extractor.feature_names
    quiet = _music(2.0, gain=0.1)
    loud = Audio(quiet.samples * 4, SR, "loud")
    q, lo = extractor.compute(quiet), extractor.compute(loud)
    rms = names.index("rms")
    assert np.allclose(lo[:, rms] / q[:, rms], 4, rtol=0.02)
    mel = np.array([names.index(f"mel_{i:03d}") for i in range(128)])
    audible = mel[(q[:, mel] > -60).all(axis=0)]  # bands clear of the -100 dB floor
    assert len(audible) > 20
    assert np.allclose(lo[:, audible] - q[:, audible], 20 * np.log10(4), atol=0.05)  # +12 dB


def test_logmel128_steps_regroups_logmel128_on_the_annotation_grid(clip30):
    """DAMFF's per-step input: row i holds spectrogram frames 50 i .. 50 i + 49, time-major."""
    steps = get_extractor("logmel128_steps").compute(clip30)
    frames = get_extractor("logmel128").compute(clip30)
    _check(steps, 60, 6400)
    np.testing.assert_array_equal(steps.reshape(60, 50, 128), frames.reshape(60, 50, 128))
    np.testing.assert_array_equal(steps[7].reshape(50, 128)[3], frames[7 * 50 + 3])
    assert get_extractor("logmel128_steps", sample_rate=24_000).params == {"sample_rate": 24_000}
    with pytest.raises(FeatureError, match="multiple of 100"):
        get_extractor("logmel128_steps", sample_rate=22_050)


def test_logmel128_step_alignment():
    """A tone starting at 1.0 s shows up from row 100 (10 ms frames, start times)."""
    y = np.zeros(2 * SR, dtype=np.float32)
    t = np.arange(SR) / SR
    y[SR:] = 0.5 * np.sin(2 * np.pi * 440 * t)
    values = get_extractor("logmel128").compute(Audio(y, SR, "onset"))
    energy = values.max(axis=1)
    assert energy[:95].max() < energy[100:].min() - 5


def test_real_clip(shared_data):
    clip = shared_data / "emomusic" / "clips_45seconds"
    mp3 = load_audio(clip / "2.mp3")
    wav = load_audio(clip / "2.wav")
    assert mp3.n_frames == math.ceil(mp3.duration / 0.5)
    extractor = get_extractor("deam260")
    a, b = extractor.compute(mp3), extractor.compute(wav)
    _check(a, mp3.n_frames, 260)
    _check(b, wav.n_frames, 260)
    col = extractor.feature_names.index("pcm_RMSenergy_sma_mean")
    # The 64 kbps MP3 and the WAV are the same recording: loudness contours agree.
    assert np.corrcoef(a[:, col], b[:, col])[0, 1] > 0.95
    chroma = get_extractor("chroma").compute(mp3)
    _check(chroma, mp3.n_frames, 24)


def test_opensmile_config_removed_from_temp_is_rebuilt():
    from memo_core.features import opensmile_sets

    audio = _music(1.0)
    first = get_extractor("deam260").compute(audio)
    for path in opensmile_sets._CONFIGS[("deam260",)][2]:
        path.unlink()  # as a temp cleaner would
    assert np.array_equal(get_extractor("deam260").compute(audio), first)


def test_compare6373_matches_opensmile_smile_with_the_same_windows():
    # The C-API driver feeds 16-bit PCM in chunks; opensmile.Smile (what the checkpoints were
    # trained on) feeds it whole: the values must be the same bits.
    import opensmile

    from memo_core.features import opensmile_sets

    audio = _music(3.2, seed=5)
    window = opensmile_sets._config(("compare6373",))[1]["frameModeFunctionalsConf"]
    root = opensmile_sets._config_root() / "shared"
    smile = opensmile.Smile(
        feature_set=opensmile.FeatureSet.ComParE_2016, feature_level=opensmile.FeatureLevel.Functionals,
        options={"bufferModeConf": str(root / "BufferMode.conf.inc"),
                 "bufferModeRbLagConf": str(root / "BufferModeRbLag.conf.inc"), "frameModeFunctionalsConf": window},
    )
    samples = np.clip(np.concatenate([audio.samples, np.zeros(int(0.3 * SR), np.float32)]), -1.0, 32767 / 32768)
    expected = np.asarray(smile(samples[None, :], SR)[0], dtype=np.float32).T
    assert expected.shape == (7, 6373)
    assert np.array_equal(get_extractor("compare6373").compute(audio), np.nan_to_num(expected, nan=0.0))
    assert get_extractor("compare6373").feature_names == list(smile.feature_names)


def test_one_pass_gives_both_openSMILE_sets_from_one_run(monkeypatch):
    from memo_core.features import opensmile_sets

    audio = _music(4.0, seed=6)
    deam, compare = get_extractor("deam260"), get_extractor("compare6373")
    alone = deam.compute(audio), compare.compute(audio)
    runs = []
    real = opensmile_sets._functionals
    monkeypatch.setattr(opensmile_sets, "_functionals", lambda kinds, *a: runs.append(kinds) or real(kinds, *a))
    with opensmile_sets.one_pass([deam, compare, get_extractor("chroma")]):
        together = deam.compute(audio), compare.compute(audio)
    assert runs == [("deam260", "compare6373")]
    assert all(np.array_equal(a, b) for a, b in zip(alone, together))
    assert opensmile_sets._TOGETHER.kept is None  # handed over, not kept
    # outside one_pass, and for another rate, each set is its own pass
    deam.compute(audio)
    with opensmile_sets.one_pass([deam, get_extractor("compare6373", sample_rate=22_050)]):
        deam.compute(audio)
    assert runs[1:] == [("deam260",), ("deam260",)]


def test_openSMILE_sets_kept_by_one_thread_are_its_own(monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from memo_core.features import opensmile_sets

    audio = _music(2.0, seed=8)
    deam, compare = get_extractor("deam260"), get_extractor("compare6373")
    runs = []
    real = opensmile_sets._functionals
    monkeypatch.setattr(opensmile_sets, "_functionals", lambda kinds, *a: runs.append(kinds) or real(kinds, *a))

    def shared_pass():
        with opensmile_sets.one_pass([deam, compare]):
            deam.compute(audio)

    with ThreadPoolExecutor(max_workers=1) as job:  # one worker thread: its calls share its thread-local state
        job.submit(shared_pass).result()
        assert runs == [("deam260", "compare6373")]  # compare6373 is kept for the worker
        opensmile_sets.clear_intermediates()  # another thread ending its job leaves the worker's set
        compare.compute(audio)  # and does not take it: its own pass
        assert runs[1:] == [("compare6373",)]
        job.submit(compare.compute, audio).result()
        assert runs[2:] == []  # the worker's set, without a pass
        job.submit(shared_pass).result()
        job.submit(opensmile_sets.clear_intermediates).result()  # the worker's own clear drops it
        job.submit(compare.compute, audio).result()
        assert runs[2:] == [("deam260", "compare6373"), ("compare6373",)]


def test_librosa_time_blocks_give_the_whole_song_values(monkeypatch):
    # spectral's frame-by-frame descriptors and chroma's tuning estimate are computed in
    # time blocks to bound memory: the values must be the bits of one whole-song call.
    import librosa

    from memo_core.features import librosa_sets

    audio = _music(7.3, seed=7)
    whole = {name: get_extractor(name).compute(audio) for name in ("spectral", "chroma")}
    magnitude = librosa_sets._analysis(audio, 2048).get("magnitude")
    expected_tuning = librosa.estimate_tuning(S=magnitude**2, sr=librosa_sets.SAMPLE_RATE, bins_per_octave=12)
    librosa_sets.clear_intermediates()
    monkeypatch.setattr(librosa_sets, "_BLOCK_FRAMES", 37)  # 10 blocks, the last one short
    assert librosa_sets._tuning(magnitude) == expected_tuning
    for name, values in whole.items():
        assert np.array_equal(get_extractor(name).compute(audio), values), name
    librosa_sets.clear_intermediates()
