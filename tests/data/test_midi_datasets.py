"""The MIDI datasets with listeners' labels (VGMIDI, EMOPIA) and their rendering to training audio.

Loaders are tested on small layouts written here (good and broken) and on the
real files in ../shared/data (skipped when absent); the renderer end to end on
two short pieces, cached on the second call.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from memo_core.data import list_datasets, load_dataset, midi_render
from memo_core.data.emopia import EMOPIA_QUADRANT_SIGNS, parse_emopia_name
from memo_core.data.licences import SOURCE_LICENCES, licence_of, source_licence
from memo_core.data.midi_render import (
    Arrangement,
    arrange_midi,
    find_soundfont,
    plan_arrangement,
    render_midi,
    render_midi_dataset,
    split_roles,
)
from memo_core.data.vgmidi import measure_curves_to_frames
from memo_core.errors import DatasetError

pretty_midi = pytest.importorskip("pretty_midi")


# --------------------------------------------------------------------------- helpers


def write_midi(path: Path, *, seconds: float, velocity: int | None = 110, pedal: bool = False) -> Path:
    """A two-hand piano piece at 120 bpm: a melody in 8ths, chords on every bar, a bass on every beat.

    ``velocity=None`` gives performed (varied) velocities.
    """
    rng = np.random.default_rng(int(seconds * 10))
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    right = pretty_midi.Instrument(program=0, name="right")
    left = pretty_midi.Instrument(program=0, name="left")

    def vel() -> int:
        return int(velocity) if velocity is not None else int(rng.integers(40, 100))

    scale = [72, 74, 76, 77, 79, 77, 76, 74]
    t, k = 0.0, 0
    while t < seconds - 0.25:
        right.notes.append(pretty_midi.Note(velocity=vel(), pitch=scale[k % 8], start=t, end=t + 0.2))
        t += 0.25
        k += 1
    for bar in np.arange(0.0, seconds, 2.0):
        for p in (60, 64, 67):
            right.notes.append(pretty_midi.Note(velocity=vel(), pitch=p, start=float(bar), end=float(bar) + 0.4))
        for beat in range(4):
            start = float(bar) + 0.5 * beat
            if start < seconds:
                left.notes.append(pretty_midi.Note(velocity=vel(), pitch=36 + 7 * (beat % 2), start=start,
                                                   end=start + 0.3))
        if pedal:
            right.control_changes.append(pretty_midi.ControlChange(64, 127, float(bar)))
            right.control_changes.append(pretty_midi.ControlChange(64, 0, float(bar) + 1.9))
    for inst in (right, left):
        inst.notes.sort(key=lambda n: (n.start, n.pitch))
    midi.instruments += [right, left]
    path.parent.mkdir(parents=True, exist_ok=True)
    midi.write(str(path))
    return path


def write_vgmidi(root: Path) -> Path:
    """A VGMIDI repository: two annotated pieces in round 1, one in round 2, a MIDI file nobody rated."""
    midi_dir = root / "labelled" / "midi"
    write_midi(midi_dir / "Series_Console_Game_One.mid", seconds=8.0)
    write_midi(midi_dir / "Series_Console_Game_Two.mid", seconds=6.0, velocity=127)
    write_midi(midi_dir / "Series_Console_Game_Three.mid", seconds=4.0, velocity=None)
    write_midi(midi_dir / "Series_Console_Game_Unrated.mid", seconds=2.0)
    person = {"age": "21-25", "country": "US", "gender": "Male", "musicianship": 1, "isKnown": False}
    round1 = {
        "pieces": {
            "piece0": {"audio": "audio/One.wav", "duration": 8, "measures": 4,
                       "midi": "Series_Console_Game_One.mid", "name": "One"},
            "piece1": {"audio": "audio/Two.wav", "duration": 6.0, "measures": 3,
                       "midi": "Series_Console_Game_Two.mid", "name": "Two"},
            "piece2": {"audio": "audio/Gone.wav", "duration": 4.0, "measures": 2,
                       "midi": "Series_Console_Game_Gone.mid", "name": "Gone"},
        },
        "annotations": {
            "piece0_1": {**person, "valence": [0.2, 0.4, 0.6, 0.8], "arousal": [-0.2, -0.4, -0.6, -0.8]},
            # one value too many: written at the very end of playback, dropped
            "piece0_2": {**person, "valence": [0.4, 0.6, 0.8, 1.0, 0.5], "arousal": [0, 0.2, 0.4, 0.6, 0.9]},
            # the last two slots never reached (the tool's zero fill)
            "piece0_3": {**person, "valence": [0.6, 0.8, 0, 0], "arousal": [0.1, 0.1, 0, 0]},
            # wrong length: left out
            "piece0_4": {**person, "valence": [0.1], "arousal": [0.1]},
            "piece1_1": {**person, "valence": [-0.5, -0.5, -0.5], "arousal": [0.5, 0.5, 0.5]},
            "piece1_2": {**person, "valence": [-0.3, -0.3, -0.3], "arousal": [0.3, 0.3, 0.3]},
            "piece2_1": {**person, "valence": [0.1, 0.1], "arousal": [0.1, 0.1]},
            "piece7_1": {**person, "valence": [0.1, 0.1], "arousal": [0.1, 0.1]},
        },
    }
    round2 = {
        "pieces": {"piece0": {"audio": "audio/Three.wav", "duration": 4.0, "measures": 2,
                              "midi": "Series_Console_Game_Three.mid", "name": "Three"}},
        "annotations": {"piece0_1": {**person, "valence": [0.5, -0.5], "arousal": [0.0, 1.0]}},
    }
    ann = root / "labelled" / "annotations"
    ann.mkdir(parents=True, exist_ok=True)
    (ann / "vgmidi_raw_1.json").write_text(json.dumps(round1))
    (ann / "vgmidi_raw_2.json").write_text(json.dumps(round2))
    return root


def write_emopia(root: Path) -> Path:
    """An EMOPIA_1.0 folder: two songs in several segments and quadrants, a stray file name."""
    midis = root / "midis"
    for name in ("Q1_abcdefghijk_0", "Q1_abcdefghijk_1", "Q3_abcdefghijk_2", "Q4_a_b-c_def_0", "Q2_zzzzzzzzzzz_3",
                 "notes"):
        write_midi(midis / f"{name}.mid", seconds=2.0, velocity=None, pedal=True)
    (midis / "readme.txt").write_text("not a MIDI file\n")
    return root


def rms_db(x: np.ndarray) -> float:
    return 20 * math.log10(float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) + 1e-12)


# --------------------------------------------------------------------------- VGMIDI


def test_registered():
    assert {"vgmidi", "emopia", "vgmidi_rendered", "emopia_rendered"} <= set(list_datasets())


def test_vgmidi_layout(tmp_path):
    load = load_dataset("vgmidi", write_vgmidi(tmp_path / "vgmidi"))
    ids = [s.song_id for s in load]
    assert ids == ["Series_Console_Game_One", "Series_Console_Game_Three", "Series_Console_Game_Two"]
    assert load.skipped_summary() == {
        "MIDI file named in the annotations is missing": 1,
        "annotations of a piece the 'pieces' table does not list (no MIDI file)": 1,
        "MIDI file with no annotation (no vgmidi_raw_*.json lists it)": 1,
    }
    one = load.by_id()["Series_Console_Game_One"]
    assert one.audio_path is None and one.dataset == "vgmidi" and one.split is None
    assert one.meta["midi_path"] == tmp_path / "vgmidi" / "labelled" / "midi" / "Series_Console_Game_One.mid"
    assert one.meta["n_raters"] == 3 and one.meta["n_raters_dropped"] == 1
    assert one.meta["piece_key"] == "vgmidi_raw_1/piece0" and one.meta["song_group"] == one.song_id
    assert one.meta["game"] == "Game" and one.meta["measures"] == 4 and one.meta["duration_s"] == 8.0
    # 2 Hz from 0.5 s to the duration; slot k ends at (k + 1) * 8 / 4 s
    np.testing.assert_allclose(one.frame_times, 0.5 * np.arange(1, 17))
    by_t = {float(t): i for i, t in enumerate(one.frame_times)}
    # three raters up to 4 s (held first value before 2 s, linear between slot ends) ...
    np.testing.assert_allclose(one.valence[by_t[1.0]], (0.2 + 0.4 + 0.6) / 3)
    np.testing.assert_allclose(one.valence[by_t[3.0]], (0.3 + 0.5 + 0.7) / 3)
    np.testing.assert_allclose(one.arousal[by_t[2.0]], (-0.2 + 0.0 + 0.1) / 3)
    np.testing.assert_allclose(one.valence_std[by_t[1.0]], np.std([0.2, 0.4, 0.6], ddof=1))
    # ... then two (the third never reached slot 2), and the extra last value is not used
    np.testing.assert_allclose(one.valence[by_t[8.0]], 0.9)
    np.testing.assert_allclose(one.arousal[by_t[8.0]], (-0.8 + 0.6) / 2)
    np.testing.assert_allclose(one.valence_std[by_t[8.0]], np.std([0.8, 1.0], ddof=1))
    two = load.by_id()["Series_Console_Game_Two"]
    np.testing.assert_allclose(two.valence, -0.4)
    np.testing.assert_allclose(two.arousal_std, np.std([0.5, 0.3], ddof=1))
    # piece0 of round 2 is another piece than piece0 of round 1
    three = load.by_id()["Series_Console_Game_Three"]
    assert three.meta["piece_key"] == "vgmidi_raw_2/piece0" and three.meta["n_raters"] == 1
    np.testing.assert_allclose(three.valence, [0.5, 0.5, 0.5, 0.5, 0.25, 0.0, -0.25, -0.5])
    np.testing.assert_allclose(three.valence_std, 0.0)
    # the labelled/ folder is accepted as the root too
    assert len(load_dataset("vgmidi", tmp_path / "vgmidi" / "labelled")) == 3
    # no audio: require_audio skips every piece
    assert load_dataset("vgmidi", tmp_path / "vgmidi", require_audio=True).skipped_summary()["no audio file"] == 3


def test_measure_curves_cut_where_most_listeners_stopped():
    full = (np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.5, 0.5, 0.5, 0.5]))
    stopped = (np.array([0.3, 0.3, 0.0, 0.0]), np.array([0.2, 0.2, 0.0, 0.0]))
    times, valence, arousal, valence_std, arousal_std = measure_curves_to_frames(
        [full, stopped, stopped], duration_s=4.0)
    # slots end at 1, 2, 3, 4 s; after 2 s only one listener of three is left: cut
    np.testing.assert_allclose(times, [0.5, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(valence, [(0.1 + 0.6) / 3, (0.1 + 0.6) / 3, (0.15 + 0.6) / 3, (0.2 + 0.6) / 3])
    assert valence.shape == arousal.shape == valence_std.shape == arousal_std.shape == (4,)
    with pytest.raises(DatasetError):
        measure_curves_to_frames([], duration_s=4.0)
    with pytest.raises(DatasetError):
        measure_curves_to_frames([full, (np.zeros(3), np.zeros(3))], duration_s=4.0)


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    (json.dumps({"pieces": [], "annotations": {}}), "'pieces' and 'annotations'"),
    (json.dumps([1, 2]), "'pieces' and 'annotations'"),
])
def test_vgmidi_malformed_json(tmp_path, content, message):
    root = write_vgmidi(tmp_path / "vgmidi")
    (root / "labelled" / "annotations" / "vgmidi_raw_2.json").write_text(content)
    with pytest.raises(DatasetError, match=message):
        load_dataset("vgmidi", root)


def test_vgmidi_missing_parts(tmp_path):
    with pytest.raises(DatasetError, match="no dataset folder"):
        load_dataset("vgmidi")
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset("vgmidi", tmp_path / "nowhere")
    (tmp_path / "empty" / "labelled" / "annotations").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no vgmidi_raw"):
        load_dataset("vgmidi", tmp_path / "empty")


def test_vgmidi_bad_entries_are_skipped(tmp_path):
    root = write_vgmidi(tmp_path / "vgmidi")
    path = root / "labelled" / "annotations" / "vgmidi_raw_1.json"
    data = json.loads(path.read_text())
    data["pieces"]["piece1"]["duration"] = "long"
    for key in ("piece0_1", "piece0_2", "piece0_3"):
        data["annotations"][key]["valence"] = ["x"] * 4
    path.write_text(json.dumps(data))
    load = load_dataset("vgmidi", root)
    assert [s.song_id for s in load] == ["Series_Console_Game_Three"]
    reasons = {s.song_id: s.reason for s in load.skipped}
    assert reasons["Series_Console_Game_Two"].startswith("piece entry without a numeric")
    assert reasons["Series_Console_Game_One"].startswith("no usable annotation")


def test_vgmidi_real(shared_data):
    root = shared_data / "vgmidi"
    if not root.is_dir():
        pytest.skip("no VGMIDI in ../shared/data")
    load = load_dataset("vgmidi", root)
    assert len(load) == 200
    assert load.skipped_summary() == {
        "MIDI file with no annotation (no vgmidi_raw_*.json lists it)": 4,
        "annotations of a piece the 'pieces' table does not list (no MIDI file)": 4,
    }
    raters = np.array([s.meta["n_raters"] for s in load])
    assert raters.min() >= 25 and raters.max() <= 32 and raters.sum() > 5900
    for song in load:
        assert song.meta["midi_path"].is_file() and song.audio_path is None
        assert song.frame_times[0] == 0.5 and np.allclose(np.diff(song.frame_times), 0.5)
        assert song.frame_times[-1] <= song.meta["duration_s"] + 1e-9
        assert song.frame_times[-1] > song.meta["duration_s"] - 4 * song.meta["duration_s"] / song.meta["measures"]
        for name in ("valence", "arousal"):
            values = song.target(name)
            assert values.shape == song.frame_times.shape and np.all(np.abs(values) <= 1)
            assert np.all(getattr(song, f"{name}_std") >= 0)
    means = np.array([[s.valence.mean(), s.arousal.mean()] for s in load])
    assert 0.1 < means.std(axis=0).min() and means.std(axis=0).max() < 0.5   # pieces differ


# --------------------------------------------------------------------------- EMOPIA


def test_emopia_layout(tmp_path):
    root = write_emopia(tmp_path / "EMOPIA_1.0")
    load = load_dataset("emopia", root)
    assert len(load) == 5
    assert load.skipped_summary() == {"file name is not Q<1-4>_<youtube id>_<segment>.mid": 1}
    by_id = load.by_id()
    clip = by_id["Q3_abcdefghijk_2"]
    assert clip.meta["quadrant"] == "Q3" and clip.meta["segment"] == 2
    assert clip.static_valence == -0.5 and clip.static_arousal == -0.5
    assert clip.valence is None and clip.arousal is None and clip.n_frames == 0 and clip.audio_path is None
    assert clip.meta["song_group"] == clip.meta["group"] == "abcdefghijk"
    assert clip.meta["midi_path"] == root / "midis" / "Q3_abcdefghijk_2.mid"
    assert by_id["Q4_a_b-c_def_0"].meta["youtube_id"] == "a_b-c_def"
    assert (by_id["Q4_a_b-c_def_0"].static_valence, by_id["Q4_a_b-c_def_0"].static_arousal) == (0.5, -0.5)
    assert (by_id["Q2_zzzzzzzzzzz_3"].static_valence, by_id["Q2_zzzzzzzzzzz_3"].static_arousal) == (-0.5, 0.5)
    # the midis/ folder and the folder holding EMOPIA_1.0 are accepted too
    assert len(load_dataset("emopia", root / "midis")) == 5
    assert len(load_dataset("emopia", tmp_path)) == 5
    assert parse_emopia_name("Q5_x_1") is None and parse_emopia_name("Q1_x") is None


def test_emopia_missing(tmp_path):
    with pytest.raises(DatasetError, match="no dataset folder"):
        load_dataset("emopia")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="midis"):
        load_dataset("emopia", tmp_path / "empty")


def test_emopia_real(shared_data):
    root = shared_data / "emopia" / "EMOPIA_1.0"
    if not root.is_dir():
        pytest.skip("no EMOPIA in ../shared/data")
    load = load_dataset("emopia", root)
    assert len(load) == 1078 and not load.skipped
    counts = {q: sum(s.meta["quadrant"] == q for s in load) for q in EMOPIA_QUADRANT_SIGNS}
    assert counts == {"Q1": 250, "Q2": 265, "Q3": 253, "Q4": 310}
    assert len({s.meta["song_group"] for s in load}) == 387
    for song in load:
        v, a = EMOPIA_QUADRANT_SIGNS[song.meta["quadrant"]]
        assert (song.static_valence, song.static_arousal) == (0.5 * v, 0.5 * a)
        assert song.song_id.startswith(song.meta["quadrant"] + "_" + song.meta["song_group"] + "_")


def test_datasets_command(shared_data, capsys):
    from memo_core.cli.parser import main

    assert main(["datasets", "--dataset", "vgmidi", "--root", str(shared_data / "vgmidi")]) == 0
    assert "vgmidi: 200 songs" in capsys.readouterr().out
    assert main(["datasets", "--dataset", "emopia", "--root", str(shared_data / "emopia" / "EMOPIA_1.0")]) == 0
    assert "emopia: 1078 songs" in capsys.readouterr().out


# --------------------------------------------------------------------------- licences


def test_licences():
    assert set(SOURCE_LICENCES) >= {"vgmidi", "emopia", "4q", "synth"}
    assert "CC BY-NC-SA 4.0" in SOURCE_LICENCES["emopia"] and "non-commercial" in SOURCE_LICENCES["emopia"]
    assert "Ferreira" in SOURCE_LICENCES["vgmidi"] and "never redistribute" in SOURCE_LICENCES["vgmidi"]
    assert SOURCE_LICENCES["4q"].startswith("no licence stated; cite Panda, Malheiro & Paiva")
    assert licence_of("emopia_rendered") == SOURCE_LICENCES["emopia"] == source_licence("emopia")
    assert licence_of("no such data").startswith("unknown")
    with pytest.raises(DatasetError):
        source_licence("no such data")


# --------------------------------------------------------------------------- arrangements


def test_plan_arrangement():
    rng = np.random.default_rng(0)
    assert plan_arrangement(rng, 0) == Arrangement(index=0, kind="original")
    plans = [plan_arrangement(np.random.default_rng(i), 1) for i in range(40)]
    assert {p.kind for p in plans} == {"single", "split"}
    for p in plans:
        assert set(p.programs) == ({"all"} if p.kind == "single" else {"lead", "accompaniment", "bass"})
        assert all(0 <= v < 128 for v in p.programs.values())
    assert plan_arrangement(np.random.default_rng(3), 2) == plan_arrangement(np.random.default_rng(3), 2)


def test_split_roles():
    # a C major chord with a bass note, then a lone high note while the chord still sounds
    starts = np.array([0.0, 0.0, 0.0, 0.0, 0.5, 1.2])
    ends = np.array([1.0, 1.0, 1.0, 1.0, 0.9, 1.5])
    pitches = np.array([60, 64, 67, 36, 62, 50])
    roles = split_roles(starts, ends, pitches)
    # 67 is the top (lead), 36 the bottom (bass), 60/64 accompaniment; 62 sounds under 67: accompaniment;
    # 50 alone at 1.2 s is below G3 with nothing lower: bass
    assert roles.tolist() == [1, 1, 0, 2, 1, 2]
    assert split_roles(np.zeros(0), np.zeros(0), np.zeros(0)).shape == (0,)


def test_arrange_midi(tmp_path):
    flat = pretty_midi.PrettyMIDI(str(write_midi(tmp_path / "flat.mid", seconds=8.0, velocity=110)))
    shaped, info = arrange_midi(flat, Arrangement(0, "original"), np.random.default_rng(0))
    velocities = np.array([n.velocity for i in shaped.instruments for n in i.notes])
    assert info["velocity"] == "shaped" and np.unique(velocities).size > 10
    assert velocities.min() >= 20 and velocities.max() <= 127 and abs(velocities.mean() - 110) < 2
    assert {n.velocity for i in flat.instruments for n in i.notes} == {110}   # the input is left alone
    loud = pretty_midi.PrettyMIDI(str(write_midi(tmp_path / "loud.mid", seconds=8.0, velocity=127)))
    shaped_loud, _ = arrange_midi(loud, Arrangement(0, "original"), np.random.default_rng(0))
    assert abs(np.mean([n.velocity for i in shaped_loud.instruments for n in i.notes]) - 112) < 3

    played = pretty_midi.PrettyMIDI(str(write_midi(tmp_path / "played.mid", seconds=8.0, velocity=None,
                                                   pedal=True)))
    before = sorted((n.start, n.pitch, n.velocity) for i in played.instruments for n in i.notes)
    split, info = arrange_midi(played, Arrangement(1, "split", {"lead": 73, "accompaniment": 0, "bass": 32}),
                               np.random.default_rng(0))
    assert info["velocity"] == "as written"
    assert sorted((n.start, n.pitch, n.velocity) for i in split.instruments for n in i.notes) == before
    by_name = {i.name: i for i in split.instruments}
    assert by_name["lead"].program == 73 and by_name["bass"].program == 32
    assert min(n.pitch for n in by_name["lead"].notes) >= 60 and max(n.pitch for n in by_name["bass"].notes) < 55
    # the flute has the pedal written into its notes, the piano keeps the pedal events
    assert not [c for c in by_name["lead"].control_changes if c.number == 64]
    assert max(n.end - n.start for n in by_name["lead"].notes) > 1.0
    assert [c for c in by_name["accompaniment"].control_changes if c.number == 64]
    assert split.get_end_time() == pytest.approx(7.9 + 1.0)   # the last pedal release, then 1 s of release

    single, _ = arrange_midi(played, Arrangement(2, "single", {"all": 48}), np.random.default_rng(0),
                             max_seconds=3.0)
    assert {i.program for i in single.instruments} == {48}
    assert max(n.start for i in single.instruments for n in i.notes) < 3.0
    with pytest.raises(DatasetError, match="no notes"):
        arrange_midi(pretty_midi.PrettyMIDI(), Arrangement(0, "original"), np.random.default_rng(0))


def test_find_soundfont(tmp_path, monkeypatch):
    with pytest.raises(DatasetError, match="does not exist"):
        find_soundfont(tmp_path / "none.sf2")
    monkeypatch.setattr(midi_render, "FLUIDR3_PATH", tmp_path / "FluidR3_GM.sf2")
    assert find_soundfont().name == "TimGM6mb"


def test_render_midi_repeatable(tmp_path):
    path = write_midi(tmp_path / "piece.mid", seconds=3.0)
    first = render_midi(path, arrangement=1, seed=4, max_seconds=2.0)
    again = render_midi(path.read_bytes(), arrangement=1, seed=4, max_seconds=2.0)
    assert first.sample_rate == 22050 and len(first.samples) == 2 * 22050
    np.testing.assert_array_equal(first.samples, again.samples)
    assert rms_db(first.samples) > -45 and np.abs(first.samples).max() <= 1.0
    whole = render_midi(path, arrangement=0)
    assert whole.duration_s == pytest.approx(2.8 + 1.0, abs=0.01)   # the last note's end + 1 s of release
    with pytest.raises(DatasetError, match="not a readable MIDI"):
        render_midi(b"MThd nonsense")
    with pytest.raises(DatasetError, match="max_seconds"):
        render_midi(path, max_seconds=0.1)


# --------------------------------------------------------------------------- rendering a dataset


def test_render_dataset_end_to_end(tmp_path, monkeypatch):
    load = load_dataset("vgmidi", write_vgmidi(tmp_path / "vgmidi"))
    out = tmp_path / "renders"
    rendered = render_midi_dataset(load, out, arrangements=2, max_songs=2, max_seconds=4.0, progress=False)
    assert rendered.dataset == "vgmidi_rendered" and rendered.root == out
    assert [s.song_id for s in rendered] == ["Series_Console_Game_One#a0", "Series_Console_Game_One#a1",
                                             "Series_Console_Game_Three#a0", "Series_Console_Game_Three#a1"]
    assert len(rendered.skipped) == len(load.skipped)
    source = load.by_id()
    for song in rendered:
        info = sf.info(str(song.audio_path))
        assert song.has_audio and info.samplerate == 22050 and info.channels == 1
        assert info.duration == pytest.approx(4.0, abs=0.01)
        x, _ = sf.read(str(song.audio_path))
        assert rms_db(x) > -45   # not silent
        original = source[song.meta["source_song_id"]]
        keep = original.frame_times <= info.duration + 1e-6
        np.testing.assert_array_equal(song.frame_times, original.frame_times[keep])
        np.testing.assert_array_equal(song.valence, original.valence[keep])
        np.testing.assert_array_equal(song.arousal_std, original.arousal_std[keep])
        assert song.frame_times[-1] <= info.duration
        assert song.meta["song_group"] == song.meta["group"] == original.song_id
        assert song.meta["source"] == "vgmidi" and song.meta["midi_path"] == original.meta["midi_path"]
        assert song.meta["licence"] == SOURCE_LICENCES["vgmidi"]
        assert song.meta["soundfont"] in ("FluidR3_GM", "TimGM6mb")
    assert rendered.songs[0].meta["arrangement_kind"] == "original" and rendered.songs[1].meta["arrangement"] == 1
    assert rendered.songs[0].meta["velocity"] == "shaped" and rendered.songs[2].meta["velocity"] == "as written"
    assert rendered.songs[0].audio_path != rendered.songs[1].audio_path
    corpus = json.loads((out / "corpus.json").read_text())
    assert corpus["source"] == "vgmidi" and corpus["dataset"] == "vgmidi_rendered" and corpus["n_records"] == 4
    assert corpus["records"] == [s.audio_path.name for s in rendered] and len(corpus["files"]) == 4
    assert corpus["soundfont"]["name"] == rendered.songs[0].meta["soundfont"]
    assert corpus["licences"]["labels"] == SOURCE_LICENCES["vgmidi"]
    assert {e["arrangement"] for e in corpus["files"].values()} == {0, 1}

    # The folder reads back as a dataset, without the source.
    back = load_dataset("vgmidi_rendered", out, require_audio=True)
    assert back.dataset == "vgmidi_rendered" and [s.song_id for s in back] == [s.song_id for s in rendered]
    assert back.skipped_summary() == rendered.skipped_summary()
    for a, b in zip(rendered, back):
        assert a.audio_path == b.audio_path and a.meta == b.meta
        for name in ("frame_times", "valence", "arousal", "valence_std", "arousal_std"):
            np.testing.assert_allclose(getattr(b, name), getattr(a, name), atol=1e-6)
    with pytest.raises(DatasetError, match="load it as vgmidi_rendered"):
        load_dataset("emopia_rendered", out)
    with pytest.raises(DatasetError, match="corpus.json"):
        load_dataset("vgmidi_rendered", tmp_path)
    rendered.songs[1].audio_path.rename(tmp_path / "moved.flac")
    assert load_dataset("vgmidi_rendered", out, require_audio=True).skipped_summary()["no audio file"] == 1
    assert len(load_dataset("vgmidi_rendered", out)) == 4
    (tmp_path / "moved.flac").rename(rendered.songs[1].audio_path)

    # The second call renders nothing: every file is reused as it is.
    mtimes = {s.audio_path: s.audio_path.stat().st_mtime_ns for s in rendered}

    def no_render(*args, **kwargs):
        raise AssertionError("rendered again instead of reusing the cache")

    monkeypatch.setattr(midi_render, "_render_job", no_render)
    again = render_midi_dataset(load, out, arrangements=2, max_songs=2, max_seconds=4.0, progress=False)
    assert [s.audio_path for s in again] == [s.audio_path for s in rendered]
    assert {s.audio_path: s.audio_path.stat().st_mtime_ns for s in again} == mtimes
    assert [s.meta["programs"] for s in again] == [s.meta["programs"] for s in rendered]
    np.testing.assert_array_equal(again.songs[0].valence, rendered.songs[0].valence)
    # without corpus.json the files are still reused and their arrangements drawn again
    (out / "corpus.json").unlink()
    again = render_midi_dataset(load, out, arrangements=2, max_songs=2, max_seconds=4.0, progress=False)
    assert [(s.audio_path, s.meta["arrangement_kind"], s.meta["programs"]) for s in again] == \
        [(s.audio_path, s.meta["arrangement_kind"], s.meta["programs"]) for s in rendered]
    assert again.songs[0].frame_times[-1] == 4.0
    monkeypatch.undo()
    # another seed is another rendering
    other = render_midi_dataset(load, out, max_songs=1, max_seconds=2.0, seed=1, progress=False)
    assert other.songs[0].audio_path not in mtimes and other.songs[0].frame_times[-1] == 2.0

    # Another dataset is refused in the same folder; bad arguments are refused.
    emopia = load_dataset("emopia", write_emopia(tmp_path / "EMOPIA_1.0"))
    with pytest.raises(DatasetError, match="its own folder"):
        render_midi_dataset(emopia, out, progress=False)
    with pytest.raises(DatasetError, match="arrangements"):
        render_midi_dataset(load, out, arrangements=0, progress=False)


def test_render_emopia_keeps_clip_labels(tmp_path):
    load = load_dataset("emopia", write_emopia(tmp_path / "EMOPIA_1.0"))
    rendered = render_midi_dataset(load, tmp_path / "renders", max_songs=2, progress=False)
    assert rendered.dataset == "emopia_rendered" and len(rendered) == 2
    assert rendered.skipped_summary() == load.skipped_summary()
    for song in rendered:
        original = load.by_id()[song.meta["source_song_id"]]
        assert song.has_audio and song.n_frames == 0 and song.valence is None
        assert (song.static_valence, song.static_arousal) == (original.static_valence, original.static_arousal)
        assert song.meta["quadrant"] == original.meta["quadrant"]
        assert song.meta["song_group"] == "abcdefghijk" and song.meta["velocity"] == "as written"
        assert "CC BY-NC-SA 4.0" in song.meta["licence"]
    back = load_dataset("emopia_rendered", tmp_path / "renders").by_id()
    assert {k: (s.static_valence, s.meta["quadrant"]) for k, s in back.items()} == \
        {s.song_id: (s.static_valence, s.meta["quadrant"]) for s in rendered}


def test_render_failure_is_skipped(tmp_path):
    root = write_emopia(tmp_path / "EMOPIA_1.0")
    (root / "midis" / "Q1_aaaaaaaaaaa_0.mid").write_bytes(b"MThd not a MIDI file")
    load = load_dataset("emopia", root)
    with pytest.warns(UserWarning, match="not a readable MIDI"):
        rendered = render_midi_dataset(load, tmp_path / "renders", max_songs=2, max_seconds=1.5, progress=False)
    assert [s.song_id for s in rendered] == ["Q1_abcdefghijk_0#a0"]
    assert rendered.skipped_summary()["MIDI file could not be rendered"] == 1
    assert json.loads((tmp_path / "renders" / "corpus.json").read_text())["n_records"] == 1
    assert load_dataset("emopia_rendered", tmp_path / "renders").skipped_summary() == rendered.skipped_summary()


def test_render_real_pieces(shared_data, tmp_path):
    for name, root in (("vgmidi", shared_data / "vgmidi"), ("emopia", shared_data / "emopia" / "EMOPIA_1.0")):
        if not root.is_dir():
            pytest.skip(f"no {name} in ../shared/data")
        load = load_dataset(name, root)
        rendered = render_midi_dataset(load, tmp_path / name, max_songs=1, max_seconds=3.0, progress=False)
        assert len(rendered) == 1
        x, rate = sf.read(str(rendered.songs[0].audio_path))
        assert rate == 22050 and len(x) == 3 * 22050 and rms_db(x) > -50
