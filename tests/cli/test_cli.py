"""The command line: help for every command, extract end to end, clean errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from memo_core.cli.parser import build_parser, main
from tests._helpers import REPO, make_tone

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


@pytest.mark.slow  # 11 s: ridge on the tiny corpus, then every real clip's features
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


def test_extract_keeps_suffixes_when_two_files_share_a_name(tmp_path):
    audio_dir = tmp_path / "in"
    audio_dir.mkdir()
    sf.write(audio_dir / "song.wav", make_tone(1.0, 16_000), 16_000)
    sf.write(audio_dir / "song.flac", make_tone(2.0, 16_000, freq=220), 16_000)
    out = tmp_path / "out"
    assert main(["extract", "--features", "chroma", str(audio_dir), "--out", str(out), "-q"]) == 0
    assert np.load(out / "song.wav.chroma.npy").shape == (2, 24)
    assert np.load(out / "song.flac.chroma.npy").shape == (4, 24)


def test_unwritable_output_is_a_message(tmp_path, capsys):
    sf.write(tmp_path / "a.wav", make_tone(1.0, 16_000), 16_000)
    blocker = tmp_path / "file"
    blocker.write_text("I am a file, not a folder")
    assert main(["extract", "--features", "chroma", str(tmp_path / "a.wav"), "--out", str(blocker), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


@pytest.mark.parametrize("durations", ["abc", "0", "-3"])
def test_bench_refuses_bad_durations(durations, capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["bench", "--durations", durations])
    assert info.value.code == 2
    assert "durations" in capsys.readouterr().err


def test_datasets_passes_loader_options(tmp_path, capsys):
    root = tmp_path / "mine"
    (root / "audio").mkdir(parents=True)
    pd.DataFrame({"song_id": ["a", "a"], "time_s": [0.5, 1.0], "valence": [0.2, 0.9], "arousal": [0.1, 0.5]}).to_csv(
        root / "annotations.csv", index=False)
    assert main(["datasets", "--dataset", "generic", "--root", str(root), "--option", "scale=0-1"]) == 0
    assert "1 songs" in capsys.readouterr().out
    assert main(["datasets", "--dataset", "generic", "--root", str(root), "--option", "colour=blue"]) == 2
    assert "colour" in capsys.readouterr().err


@pytest.mark.slow  # 4 s: trains every compared model
def test_compare_writes_a_markdown_table(tiny_corpus, tmp_path, capsys):
    out = tmp_path / "results.md"
    assert main(["compare", "--root", str(tiny_corpus), "--features", "chroma", "--models", "mlr,ma_lstm:tiny",
                 "--max-epochs", "2", "--out", str(out), "-q"]) == 0
    table = out.read_text()
    assert "| `mlr` (baseline) | tiny |" in table and "| `ma_lstm` | tiny |" in table
    header = next(line for line in table.splitlines() if line.startswith("| model"))
    assert "V RMSE" in header and "A R2" in header and "train (s)" in header
    row = next(line for line in table.splitlines() if line.startswith("| `ma_lstm`"))
    cells = dict(zip([c.strip() for c in header.split("|")], [c.strip() for c in row.split("|")]))
    assert cells["epochs"] == "2"  # epochs capped at 2
    assert cells["features"] == "`chroma`" and float(cells["GFLOPs"]) > 0


def test_predict_fuse_decodes_once_and_skips_the_members_explanations(tmp_path, monkeypatch, capsys):
    import memo_core.audio
    import memo_core.cli.models
    from memo_core.data.sequences import Normalizer
    from memo_core.explain.explanation import read_explanations_npz
    from memo_core.features import get_extractor
    from memo_core.models.registry import get_model
    from memo_core.models.vggish import VGGishTagger
    from memo_core.training.checkpoints import save_checkpoint

    paths = []
    for preset in ("tiny", "tiny_arelu"):
        model = get_model("vggish", preset, n_targets=2, target_names=("calm", "dark"))
        paths.append(str(save_checkpoint(tmp_path / f"{preset}.pt", model, feature_spec=get_extractor("mel96").spec(),
                                         normalizer=Normalizer(np.zeros(96, np.float32), np.ones(96, np.float32)),
                                         targets=("calm", "dark"))))
    sf.write(tmp_path / "song.wav", make_tone(seconds=8.0), 22050)
    decoded, windows = [], []
    real_load, real_windows = memo_core.audio.load_audio, VGGishTagger._window_scores
    monkeypatch.setattr(memo_core.cli.models, "load_audio", lambda *a, **k: decoded.append(a) or real_load(*a, **k))
    monkeypatch.setattr(VGGishTagger, "_window_scores",
                        lambda self, *a: windows.append(1) or real_windows(self, *a))
    out = tmp_path / "out"
    assert main(["predict", "--checkpoint", paths[0], "--fuse", paths[1], str(tmp_path / "song.wav"),
                 "--out", str(out), "-q"]) == 0
    assert len(decoded) == 1  # one decode for the checkpoint and its fusion member
    assert len(windows) == 1  # only the checkpoint whose maps are written runs the explanation passes
    fused = pd.read_csv(out / "song.fused.csv")
    assert list(fused["tag"]) == ["calm", "dark"] and fused["score"].between(0, 1).all()
    assert set(read_explanations_npz(out / "song.explanations.npz")) >= {"tag_windows", "tag_occlusion"}
