"""What ``extract`` and ``predict`` write and print: one naming rule, the CSV's time columns, the summaries."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from memo_core.cli._common import _audio_inputs
from memo_core.cli.parser import OUTPUT_NAMES, build_parser, main
from tests._helpers import make_tone


def _write(path, seconds=1.5, freq=440.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, make_tone(seconds, 16_000, freq=freq), 16_000)
    return path


def _names(pairs):
    return {str(path.name): stem.as_posix() for path, stem in pairs}


def test_a_file_and_its_folder_give_the_same_output_name(tmp_path):
    song = _write(tmp_path / "in" / "3.wav")
    _write(tmp_path / "in" / "sub" / "4.flac")
    assert _names(_audio_inputs(str(song))) == {"3.wav": "3"}
    assert _names(_audio_inputs(str(tmp_path / "in"))) == {"3.wav": "3", "4.flac": "sub/4"}


def test_only_files_that_differ_by_their_suffix_keep_it(tmp_path, capsys):
    for name in ("a.wav", "a.flac", "b.wav", "sub/a.wav"):
        _write(tmp_path / "in" / name)
    names = {stem.as_posix() for _, stem in _audio_inputs(str(tmp_path / "in"))}
    assert names == {"a.wav", "a.flac", "b", "sub/a"}  # b and the other folder's a keep the plain rule
    err = capsys.readouterr().err
    assert "a.flac" in err and "a.wav" in err and "b.wav" not in err


def test_names_that_differ_only_in_case_count_as_the_same(tmp_path):
    _write(tmp_path / "in" / "Song.wav")
    _write(tmp_path / "in" / "song.flac")
    assert {stem.as_posix() for _, stem in _audio_inputs(str(tmp_path / "in"))} == {"Song.wav", "song.flac"}


def test_names_that_would_still_collide_are_refused(tmp_path, capsys):
    for name in ("a.wav", "a.flac", "a.wav.flac"):  # a.wav keeps its suffix, a.wav.flac loses its own: both a.wav
        _write(tmp_path / "in" / name)
    assert main(["extract", "--features", "loudness", str(tmp_path / "in"), "--out", str(tmp_path / "out"),
                 "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "a.wav.flac" in err and "rename" in err
    assert not (tmp_path / "out").exists()  # refused before anything is written


def test_extract_follows_the_rule_for_a_file_and_a_folder(tmp_path):
    song = _write(tmp_path / "in" / "3.wav")
    _write(tmp_path / "in" / "sub" / "4.wav")
    assert main(["extract", "--features", "loudness", str(song), "--out", str(tmp_path / "one"), "-q"]) == 0
    assert main(["extract", "--features", "loudness", str(tmp_path / "in"), "--out", str(tmp_path / "all"),
                 "-q"]) == 0
    assert (tmp_path / "one" / "3.loudness.npy").is_file()
    assert (tmp_path / "all" / "3.loudness.npy").is_file() and (tmp_path / "all" / "sub" / "4.loudness.npy").is_file()


@pytest.mark.parametrize("command", ["extract", "predict"])
def test_help_states_the_naming_rule(command, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert OUTPUT_NAMES in text


def test_predict_names_outputs_by_the_rule_writes_frame_bounds_and_names_the_key(tmp_path, capsys):
    song = _write(tmp_path / "in" / "3.wav", seconds=3.2)
    _write(tmp_path / "in" / "sub" / "4.wav", seconds=2.0)
    out_file, out_dir = tmp_path / "one", tmp_path / "all"
    assert main(["predict", "--checkpoint", "at_chroma", str(song), "--out", str(out_file), "-q"]) == 0
    printed = capsys.readouterr().out
    # the manifest key names the line, the model beside it
    assert f"at_chroma (at): 1 of 1 files -> {out_file}" in printed
    assert main(["predict", "--checkpoint", "at_chroma", str(tmp_path / "in"), "--out", str(out_dir), "-q"]) == 0
    assert "at_chroma (at): 2 of 2 files" in capsys.readouterr().out
    for folder in (out_file, out_dir):
        frame = pd.read_csv(folder / "3.csv")  # a plain read_csv, as every reader in the repository does
        assert list(frame.columns) == ["time_s", "valence", "arousal", "frame_end_s"]
        np.testing.assert_allclose(frame["time_s"], np.arange(7) * 0.5)  # ceil(3.2 / 0.5) frames, their starts
        np.testing.assert_allclose(frame["frame_end_s"], frame["time_s"] + 0.5)
        assert (folder / "3.explanations.npz").is_file()
    assert (out_dir / "sub" / "4.csv").is_file()


def test_predict_a_checkpoint_file_is_named_by_its_path(tmp_path, capsys):
    from memo_core.pretrained import default_checkpoints_dir

    song = _write(tmp_path / "song.wav", seconds=2.0)
    ckpt = default_checkpoints_dir() / "loudness.pt"
    assert main(["predict", "--checkpoint", str(ckpt), str(song), "--out", str(tmp_path / "o"), "-q"]) == 0
    assert re.search(rf"^{re.escape(str(ckpt))} \(loudness\): 1 of 1 files", capsys.readouterr().out, re.M)


def _generic(root, splits):
    (root / "audio").mkdir(parents=True)
    rows = []
    for i, split in enumerate(splits):
        rows += [{"song_id": f"s{i}", "time_s": t, "valence": 0.1, "arousal": 0.2, "split": split}
                 for t in (0.5, 1.0)]
    pd.DataFrame(rows).to_csv(root / "annotations.csv", index=False)
    return root


def test_datasets_states_the_splits_plainly(tmp_path, capsys):
    assert main(["datasets", "--dataset", "generic", "--root", str(_generic(tmp_path / "a", ["", ""]))]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line.endswith("no official split") and "- 2" not in line
    assert main(["datasets", "--dataset", "generic", "--root", str(_generic(tmp_path / "b", ["train", "test", ""]))]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith("splits: test 1, train 1, in no split 1")


def test_datasets_pmemo_from_the_folder_holding_pmemo2019(shared_data, capsys):
    assert main(["datasets", "--dataset", "pmemo", "--root", str(shared_data / "pmemo")]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("pmemo: 2 songs read from") and line.endswith("PMEmo2019; 2 with audio; no official split")
