"""The command line: help for every command, extract end to end, clean errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from memo_core.cli import build_parser, main

from .conftest import REPO, make_tone

COMMANDS = ["synth", "features", "extract", "datasets", "transfer", "bench"]


def test_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "memo_core", "--help"], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0
    for command in COMMANDS:
        assert command in out.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([command, "--help"])
    assert info.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_extract_folder_writes_npy_csv_and_reports_bad_files(tmp_path, capsys):
    audio_dir = tmp_path / "in"
    (audio_dir / "sub").mkdir(parents=True)
    sf.write(audio_dir / "a.wav", make_tone(3.0, 22_050), 22_050)
    sf.write(audio_dir / "sub" / "b.flac", make_tone(2.2, 16_000, freq=220), 16_000)
    (audio_dir / "broken.mp3").write_bytes(b"not an mp3 at all" * 10)
    out = tmp_path / "out"
    assert main(["extract", "--features", "chroma", str(audio_dir), "--out", str(out), "--csv", "-q"]) == 0
    a = np.load(out / "a.chroma.npy")
    b = np.load(out / "sub" / "b.chroma.npy")
    assert a.shape == (6, 24) and b.shape == (5, 24)
    table = pd.read_csv(out / "a.chroma.csv")
    assert list(table["time_s"]) == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    assert table.shape[1] == 25
    assert (out / "chroma.spec.json").is_file()
    err = capsys.readouterr().err
    assert "broken.mp3" in err and "not a readable audio file" in err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["extract", "--features", "nope", "x.wav", "--out", "o"], "nope"),
        (["extract", "--features", "chroma", "/no/such/file.wav", "--out", "o"], "does not exist"),
        (["datasets", "--dataset", "deam", "--root", "/no/such/folder"], "/no/such/folder"),
        (["datasets", "--dataset", "nope"], "nope"),
    ],
)
def test_bad_input_gives_a_message_not_a_traceback(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_datasets_reads_shared_emomusic(shared_data, capsys):
    assert main(["datasets", "--dataset", "emomusic", "--root", str(shared_data / "emomusic")]) == 0
    assert "744 songs" in capsys.readouterr().out


def test_transfer_report_runs_end_to_end(tiny_corpus, shared_data, tmp_path, capsys):
    report_path = tmp_path / "transfer.json"
    assert main(["transfer", "--corpus", str(tiny_corpus), "--shared", str(shared_data), "-q",
                 "--json", str(report_path)]) == 0
    out = capsys.readouterr().out
    assert "loudness" in out and "real" in out
    import json

    report = json.loads(report_path.read_text())
    assert report["n_real_clips"] == 6  # 4 emoMusic clips, 2 PMEmo choruses
    for where in ("corpus", "real"):
        for model in ("ridge", "ridge+context", "loudness"):
            for target in ("arousal", "valence"):
                assert -1.0 <= report[where][model][target] <= 1.0
