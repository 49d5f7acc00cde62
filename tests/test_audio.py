"""load_audio: formats, resampling, downmixing, and every bad-input message."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from memo_core.audio import (
    FRAME_SECONDS,
    SilenceWarning,
    encode_audio,
    load_audio,
    sniff_mime,
)
from memo_core.errors import AudioError, MemoError
from tests._helpers import make_tone


def _write(path, data, sample_rate, fmt=None, subtype=None):
    sf.write(str(path), data, sample_rate, format=fmt, subtype=subtype)
    return path


@pytest.mark.parametrize(
    "suffix,fmt,subtype",
    [("wav", "WAV", "PCM_16"), ("flac", "FLAC", "PCM_16"), ("ogg", "OGG", "VORBIS"), ("mp3", "MP3", "MPEG_LAYER_III")],
)
def test_reads_each_format_resampled_and_downmixed(tmp_path, suffix, fmt, subtype):
    stereo = make_tone(2.0, sample_rate=32_000, channels=2)
    path = _write(tmp_path / f"tone.{suffix}", stereo, 32_000, fmt, subtype)
    audio = load_audio(path, sample_rate=22_050)
    assert audio.sample_rate == 22_050
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert abs(audio.duration - 2.0) < 0.1  # MP3 adds encoder padding
    assert np.max(np.abs(audio.samples)) <= 1.0
    assert audio.source == f"tone.{suffix}"
    # the 440 Hz tone survives resampling: the spectrum peaks there
    spec = np.abs(np.fft.rfft(audio.samples))
    peak_hz = np.argmax(spec) * audio.sample_rate / len(audio.samples)
    assert abs(peak_hz - 440) < 5


def test_native_rate_kept_and_bytes_input(tmp_path):
    buf = io.BytesIO()
    sf.write(buf, make_tone(1.0, sample_rate=16_000), 16_000, format="WAV")
    audio = load_audio(buf.getvalue(), sample_rate=None, name="upload.wav")
    assert audio.sample_rate == 16_000 and audio.source == "upload.wav"
    assert audio.n_frames == 2


def test_downmix_averages_channels(tmp_path):
    left = np.full(8000, 0.5, dtype=np.float32)
    right = np.full(8000, -0.1, dtype=np.float32)
    path = _write(tmp_path / "lr.wav", np.stack([left, right], axis=1), 8000, subtype="FLOAT")
    audio = load_audio(path, sample_rate=None)
    assert np.allclose(audio.samples, 0.2, atol=1e-6)


def test_float_file_over_full_scale_is_scaled_into_range(tmp_path):
    x = make_tone(1.0, sample_rate=8000)[:, 0] * 5
    path = _write(tmp_path / "hot.wav", x, 8000, subtype="FLOAT")
    audio = load_audio(path, sample_rate=None)
    assert np.max(np.abs(audio.samples)) == pytest.approx(1.0)


def test_content_hash_depends_on_samples_and_rate(tmp_path):
    a = load_audio(_write(tmp_path / "a.wav", make_tone(1.0, 8000), 8000), sample_rate=None)
    b = load_audio(_write(tmp_path / "b.wav", make_tone(1.0, 8000, freq=441), 8000), sample_rate=None)
    assert a.content_hash() != b.content_hash()
    assert a.content_hash() == load_audio(tmp_path / "a.wav", sample_rate=None).content_hash()
    assert a.resampled(16_000).content_hash() != a.content_hash()


@pytest.mark.parametrize(
    "make,expected",
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(b"this is a text file, not audio" * 20), "not a readable audio file"),
        (lambda p: _write(p, make_tone(0.3, 8000), 8000), "shorter than one 500 ms"),
    ],
    ids=["empty", "not-audio", "too-short"],
)
def test_bad_files_raise_clear_errors(tmp_path, make, expected):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioError, match=expected) as info:
        load_audio(path)
    assert "bad.wav" in str(info.value)
    assert isinstance(info.value, MemoError)


def test_corrupt_truncated_file(tmp_path):
    good = _write(tmp_path / "good.flac", make_tone(3.0, 22_050), 22_050, "FLAC")
    data = good.read_bytes()
    bad = tmp_path / "cut.flac"
    bad.write_bytes(data[:200])  # header survives, the stream does not
    with pytest.raises(AudioError, match="cut.flac"):
        load_audio(bad)


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(AudioError, match="does not exist"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioError, match="is a folder"):
        load_audio(tmp_path)
    with pytest.raises(AudioError, match="empty"):
        load_audio(b"")


def test_too_long_is_refused_before_decoding(tmp_path, monkeypatch):
    path = _write(tmp_path / "long.wav", make_tone(12.0, 8000)[:, 0], 8000)
    with monkeypatch.context() as m:
        m.setattr(sf, "read", lambda *a, **k: pytest.fail("decoded a file that the header shows is too long"))
        with pytest.raises(AudioError, match=r"is 12 s long, over the 10 s limit"):
            load_audio(path, max_duration_s=10)
    assert load_audio(path, max_duration_s=60, sample_rate=None).duration == pytest.approx(12.0)


def test_long_limits_are_given_in_minutes(tmp_path):
    path = _write(tmp_path / "long.wav", make_tone(12.0, 8000)[:, 0], 8000)
    from memo_core.audio import _too_long

    assert "over the 20 min limit" in _too_long("x", 1500.0, 1200.0)
    with pytest.raises(AudioError, match="12 s long, over the 10.5 s limit"):
        load_audio(path, max_duration_s=10.5)


@pytest.mark.parametrize("rate", [0, -5, 22_050.5, "44100", True, float("nan")])
def test_bad_sample_rate_is_refused(tmp_path, rate):
    path = _write(tmp_path / "a.wav", make_tone(1.0, 8000), 8000)
    with pytest.raises(AudioError, match="sample_rate must be a positive whole number"):
        load_audio(path, sample_rate=rate)


def test_whole_float_sample_rate_is_an_int(tmp_path):
    path = _write(tmp_path / "a.wav", make_tone(1.0, 8000), 8000)
    audio = load_audio(path, sample_rate=16_000.0)
    assert audio.sample_rate == 16_000 and type(audio.sample_rate) is int


@pytest.mark.parametrize("limit", [0, -1, float("nan"), "60"])
def test_bad_max_duration_is_refused(tmp_path, limit):
    path = _write(tmp_path / "a.wav", make_tone(1.0, 8000), 8000)
    with pytest.raises(AudioError, match="max_duration_s must be a positive number"):
        load_audio(path, max_duration_s=limit)


@pytest.mark.parametrize("source", [None, 3, ["a.wav"]])
def test_source_of_the_wrong_type_is_named(source):
    with pytest.raises(AudioError, match=f"got {type(source).__name__}"):
        load_audio(source)


def test_upload_errors_show_no_python_internals():
    noise = np.random.default_rng(0).bytes(5000)
    with pytest.raises(AudioError) as info:
        load_audio(noise)
    message = str(info.value)
    assert "format not recognised" in message and message.startswith("<upload> is not a readable audio file")
    assert "BytesIO" not in message and "0x" not in message


def test_reason_drops_object_reprs():
    from memo_core.audio import _reason

    raw = RuntimeError("Error opening <_io.BytesIO object at 0x7f00deadbeef>: Format not recognised.")
    assert _reason(raw) == "Format not recognised."
    assert _reason(RuntimeError("bad frame in <_io.BytesIO object at 0x7f00>")) == "bad frame in the data"


def test_samples_are_read_only_so_the_cached_hash_stays_true(tmp_path):
    from memo_core.audio import Audio

    audio = load_audio(_write(tmp_path / "a.wav", make_tone(1.0, 8000), 8000), sample_rate=None)
    digest = audio.content_hash()
    with pytest.raises(ValueError):
        audio.samples[0] = 0.5
    assert audio.content_hash() == digest
    assert not audio.resampled(16_000).samples.flags.writeable

    mine = np.zeros(8000, dtype=np.float32)
    built = Audio(mine, 8000, "mine")
    before = built.content_hash()
    mine[:] = 0.25   # the caller's array stays writable, and the record does not follow it
    assert mine.flags.writeable and built.samples[0] == 0.0 and built.content_hash() == before
    view = Audio(np.ones(16000, dtype=np.float32)[::2], 8000)
    assert not view.samples.flags.writeable and view.duration == 1.0


def test_non_finite_samples(tmp_path):
    x = make_tone(1.0, 8000)[:, 0]
    x[100] = np.nan
    path = _write(tmp_path / "nan.wav", x, 8000, subtype="FLOAT")
    with pytest.raises(AudioError, match="non-finite"):
        load_audio(path)


def test_silence_is_allowed_with_a_warning(tmp_path):
    path = _write(tmp_path / "quiet.wav", np.zeros(8000, dtype=np.float32), 8000)
    with pytest.warns(SilenceWarning, match="silent"):
        audio = load_audio(path, sample_rate=None)
    assert audio.duration == pytest.approx(1.0)
    assert audio.n_frames == int(1.0 / FRAME_SECONDS)


def test_real_clips(shared_data):
    clips = shared_data / "emomusic" / "clips_45seconds"
    mp3 = load_audio(clips / "3.mp3")
    wav = load_audio(clips / "2.wav")
    assert 44 < mp3.duration < 46.5 and 44 < wav.duration < 46.5
    assert mp3.sample_rate == wav.sample_rate == 44_100
    stereo = load_audio(shared_data / "pmemo" / "PMEmo2019" / "chorus" / "108.mp3")
    assert stereo.samples.ndim == 1 and stereo.duration > 10


def test_encode_and_sniff_audio():
    """Bytes for a player: FLAC/WAV written, their type told from the magic number, read back alike."""
    y = np.sin(np.arange(22_050) / 5.0).astype(np.float32) * 0.3
    flac, wav = encode_audio(y, 22_050), encode_audio(y, 22_050, format="WAV")
    assert sniff_mime(flac) == "audio/flac" and sniff_mime(wav) == "audio/wav"
    assert sniff_mime(b"ID3\x03rest") == "audio/mpeg" and sniff_mime(b"OggS\x00") == "audio/ogg"
    back = load_audio(flac, sample_rate=None)
    assert back.sample_rate == 22_050 and np.allclose(back.samples, y, atol=1e-4)
    with pytest.raises(AudioError):
        encode_audio(np.array([np.nan], np.float32), 22_050)


# --------------------------------------------------------------------------- bounded decoding (hostile files)

#: The served dashboard's duration limit (dashboard.resources.MAX_UPLOAD_SECONDS).
APP_LIMIT_S = 12 * 60.0


def _silent_flac(path, rate, channels, seconds):
    """A FLAC of silence, written block by block: it compresses to almost nothing, however much it decodes to."""
    zeros = np.zeros((1 << 16, channels), dtype=np.int16)
    with sf.SoundFile(str(path), "w", rate, channels, format="FLAC", subtype="PCM_16") as out:
        left = int(rate * seconds)
        while left > 0:
            out.write(zeros[: min(left, len(zeros))])
            left -= len(zeros)
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    """The issue's two-minute bomb: 384 kHz, 8 channels, 368 million samples in 0.4 MB."""
    return _silent_flac(tmp_path_factory.mktemp("bomb") / "bomb.flac", 384_000, 8, 120)


@pytest.fixture(scope="module")
def high_rate(tmp_path_factory):
    """Two minutes at 192 kHz on 4 channels: 92 million samples, within the limits."""
    return _silent_flac(tmp_path_factory.mktemp("hires") / "hires.flac", 192_000, 4, 120)


def test_decompression_bomb_is_refused_from_its_header_within_200_mb(bomb):
    import tracemalloc

    assert bomb.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(AudioError) as info:
            load_audio(bomb, max_duration_s=APP_LIMIT_S)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert "8 channels at 384 kHz for 2 min" in message and "368.6 million samples" in message
    assert "over the decode limit of 276.5 million" in message and "ffmpeg" in message
    assert "corrupt" not in message
    assert peak < 200 * 2**20


@pytest.mark.slow
def test_the_issues_full_size_bomb_is_refused_with_the_default_limit(tmp_path):
    """The file of the report: 2.4 MB, 384 kHz, 8 channels, 11.8 min of silence (8 GiB decoded as float32)."""
    import tracemalloc

    path = _silent_flac(tmp_path / "bomb.flac", 384_000, 8, 11.8 * 60)
    assert path.stat().st_size < 3_000_000
    tracemalloc.start()
    try:
        with pytest.raises(AudioError, match=r"8 channels at 384 kHz for 11.8 min: 2.2 billion samples to decode, "
                                             r"over the decode limit of 460.8 million"):
            load_audio(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 * 2**20


_CHILD = r"""
import json, resource, sys, warnings
import numpy as np, soxr  # noqa: F401 - loaded before measuring
from memo_core.audio import load_audio
from memo_core.errors import AudioError

warnings.simplefilter("ignore")
def grown(path, **kw):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        audio = load_audio(path, **kw)
        found = [audio.sample_rate, len(audio.samples)]
    except AudioError as exc:
        found = str(exc)
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024, found

bomb, hires = sys.argv[1:3]
report = {"bomb": grown(bomb, max_duration_s=720.0), "hires": grown(hires)}
# now leave 60 MB of address space: the 92 MB output at the file's own rate cannot be allocated
vm = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
resource.setrlimit(resource.RLIMIT_AS, (vm + 60 * 2**20, resource.getrlimit(resource.RLIMIT_AS)[1]))
report["no_memory"] = grown(hires, sample_rate=None)
print(json.dumps(report))
"""


def test_decoding_memory_follows_the_output_not_the_input(bomb, high_rate):
    """Measured in a fresh process (its peak RSS, C allocations included): the bomb is refused within 200 MB;
    the high-rate file within the limits decodes with memory near its output (mono at 44.1 kHz); running out
    of memory is said to be that, not a corrupt file."""
    import json
    import subprocess
    import sys

    from tests._helpers import REPO

    run = subprocess.run([sys.executable, "-c", _CHILD, str(bomb), str(high_rate)], capture_output=True,
                         text=True, cwd=REPO, timeout=120, env={"OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin"})
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout.splitlines()[-1])
    grown, refused = report["bomb"]
    assert "over the decode limit" in refused and grown < 200 * 2**20
    grown, (rate, n) = report["hires"]
    assert rate == 44_100 and n == 120 * 44_100
    output = n * 4
    assert grown < output + 64 * 2**20   # the input alone is 92 million float32 samples (368 MB)
    _, message = report["no_memory"]
    assert "ran out of memory" in message and "corrupt" not in message


def _ogg(seconds, rate=22_050):
    buf = io.BytesIO()
    x = make_tone(seconds, rate)[:, 0]
    with sf.SoundFile(buf, "w", rate, 1, format="OGG", subtype="VORBIS") as out:
        for start in range(0, len(x), 8192):   # libsndfile's Vorbis writer crashes on one large write
            out.write(x[start:start + 8192])
    return buf.getvalue()


def test_a_file_whose_header_does_not_give_its_length_is_counted_while_decoding(tmp_path):
    """Two Ogg streams chained (a short one, then one long enough that libsndfile's look at the end of the file
    finds another stream): the header does not give the length (libsndfile says 2**63 - 1 frames), so the frames
    are counted while decoding and the limit applies to them."""
    path = tmp_path / "chained.ogg"
    path.write_bytes(_ogg(4.0) + _ogg(15.0))
    assert sf.info(str(path)).frames > 2**62
    with pytest.raises(AudioError, match=r"chained.ogg holds more than .* of audio \(its header does not give its "
                                         r"length\), over the 2 s limit"):
        load_audio(path, max_duration_s=2.0)
    assert load_audio(path, max_duration_s=60.0).duration >= 4.0


@pytest.mark.parametrize("channels,rate,expected", [(40, 8000, "40 channels; MEMO decodes at most 32"),
                                                    (1, 768_000, "768 kHz; MEMO decodes at most 384 kHz")])
def test_too_many_channels_or_too_high_a_rate_is_refused(tmp_path, channels, rate, expected):
    path = _write(tmp_path / "odd.wav", np.zeros((rate // 2 + 100, channels), np.float32), rate)
    with pytest.raises(AudioError, match=expected):
        load_audio(path)


def _load_as_nobody(path) -> str:
    """What load_audio says about ``path`` in a forked child that runs as user ``nobody``."""
    import os

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root, try, report, leave at once
        try:
            os.close(read)
            os.setgid(65534)
            os.setuid(65534)
            try:
                load_audio(path)
                said = "loaded"
            except Exception as exc:  # noqa: BLE001 - reported to the parent, which asserts on it
                said = f"{type(exc).__name__}: {exc}"
            os.write(write, said.encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        said = pipe.read().decode()
    os.waitpid(pid, 0)
    return said


def test_an_unreadable_file_is_said_to_be_unreadable_not_of_an_unknown_format(tmp_path):
    import os
    import shutil
    import tempfile

    folder = tempfile.mkdtemp()   # outside pytest's private folder, so another user may reach it
    try:
        os.chmod(folder, 0o755)
        path = _write(os.path.join(folder, "locked.wav"), make_tone(1.0, 8000), 8000)
        os.chmod(path, 0)
        if os.geteuid() == 0:
            said = _load_as_nobody(path)
        elif os.access(path, os.R_OK):
            pytest.skip("this user reads files whatever their permissions")
        else:
            with pytest.raises(AudioError) as info:
                load_audio(path)
            said = f"AudioError: {info.value}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert said.startswith("AudioError: ") and "locked.wav cannot be read (Permission denied)" in said
    assert "permissions" in said and "format" not in said
